// libFuzzer target: model package manifests (src/train/model_package.h), the file every later
// stage (registry, serving, edge) trusts. Each input is a manifest.json. Invariants: reading never
// crashes, hangs or throws; a refusal is InvalidArgument; an accepted manifest validates, and its
// JSON reads back to the same JSON (a reader accepts exactly what the writer writes).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json.h"
#include "train/model_package.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::StatusOr<plinth::Json> json = plinth::ParseJson(text);
  if (!json.ok()) return 0;
  plinth::StatusOr<plinth::ModelManifest> manifest = plinth::ModelManifest::FromJson(*json);
  if (!manifest.ok()) {
    CHECK_INVARIANT(manifest.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  CHECK_INVARIANT(manifest->Validate().ok());
  const plinth::Json written = manifest->ToJson();
  plinth::StatusOr<plinth::ModelManifest> back = plinth::ModelManifest::FromJson(written);
  CHECK_INVARIANT(back.ok());
  CHECK_INVARIANT(back->ToJson() == written);
  plinth::StatusOr<std::string> bytes = plinth::ManifestBytes(*manifest);
  CHECK_INVARIANT(bytes.ok());
  plinth::StatusOr<plinth::Json> reparsed = plinth::ParseJson(*bytes);
  CHECK_INVARIANT(reparsed.ok());
  plinth::StatusOr<plinth::ModelManifest> stored = plinth::ModelManifest::FromJson(*reparsed);
  CHECK_INVARIANT(stored.ok());
  CHECK_INVARIANT(stored->ToJson() == written);
  return 0;
}
