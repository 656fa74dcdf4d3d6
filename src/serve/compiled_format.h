// The file of a compiled model, for the edge bundle (docs/formats/compiled-model.md): a fixed
// little-endian header (magic, format version, kind, counts), the preprocessing spec as JSON, the
// model's arrays, and a SHA-256 of everything before it. Part of plinth_compiled: reading and
// scoring a compiled model needs neither XGBoost nor the model package code.
#ifndef PLINTH_SERVE_COMPILED_FORMAT_H_
#define PLINTH_SERVE_COMPILED_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "serve/compiled_model.h"

namespace plinth {

// The first 8 bytes of every file, and the format version this build writes and reads.
inline constexpr std::string_view kCompiledModelMagic = "PLCMODEL";
inline constexpr uint32_t kCompiledModelFormat = 1;

// The file's bytes. The same model always gives the same bytes.
std::string SerializeCompiledModel(const CompiledModel& model);

// The model of a file SerializeCompiledModel wrote; it predicts exactly (bit for bit) as the model
// that was written. A file is checked completely before anything is evaluated:
//   DataLoss         fewer bytes than the header, a size that differs from what the header's
//                    counts make, or a SHA-256 that does not match the content (the message says
//                    which);
//   InvalidArgument  another magic (not a compiled model), another format version, an unknown
//                    kind or flag, a spec that is not valid JSON or that PreprocessSpec::FromJson
//                    refuses, and everything CompiledModel::FromParts refuses (child indices out
//                    of range or cyclic, feature indices >= num_features, NaN thresholds, ...),
//                    naming the problem.
StatusOr<CompiledModel> LoadCompiledModel(std::string_view bytes);

}  // namespace plinth

#endif  // PLINTH_SERVE_COMPILED_FORMAT_H_
