// Helpers the built-in step types share: inputs, paths relative to the pipeline's folder, file
// fingerprints for cache keys, CSV tables in and out, and data set references.
#ifndef PLINTH_STEPS_STEP_UTIL_H_
#define PLINTH_STEPS_STEP_UTIL_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "pipeline/step_registry.h"
#include "table/table.h"

namespace plinth {

// The input `name`, or InvalidArgument telling how to declare it.
StatusOr<pipeline::InputArtifact> RequireInput(const pipeline::StepContext& ctx,
                                               const std::string& name);
// `path` read from the pipeline's folder unless absolute.
std::string ResolvePath(const pipeline::StepContext& ctx, const std::string& path);
// The with-key `key` as a string ("" if absent or null).
std::string WithString(const pipeline::StepContext& ctx, const std::string& key);
// {"file": path, "digest": sha256} for each with-key naming a file the step reads, so editing
// the file changes the cache key. A key left out is skipped; a missing file is NotFound naming
// the key.
StatusOr<Json> FileFingerprint(const pipeline::StepContext& ctx,
                               const std::vector<std::string>& keys);
// Reads a CSV input (data set conventions: header, NA as missing).
StatusOr<Table> ReadTableInput(const pipeline::StepContext& ctx, const std::string& name);
// Writes `table` as CSV to the declared output `name`; returns its path.
StatusOr<std::string> WriteTableOutput(const pipeline::StepContext& ctx, const std::string& name,
                                       const Table& table);
// Writes `json` (pretty) to the declared output `name`; returns its path.
StatusOr<std::string> WriteJsonOutput(const pipeline::StepContext& ctx, const std::string& name,
                                      const Json& json);
StatusOr<std::string> WriteTextOutput(const pipeline::StepContext& ctx, const std::string& name,
                                      const std::string& text);
// Stratification labels for a split: each distinct text of the column (null included) a stratum.
std::vector<float> StrataOf(const Column& target);
// A JSON input file.
StatusOr<Json> ReadJsonInput(const pipeline::StepContext& ctx, const std::string& name);

}  // namespace plinth

#endif  // PLINTH_STEPS_STEP_UTIL_H_
