// libFuzzer target: feature definition files (src/features/definition.h). Each input is a YAML
// definition file. Invariants: parsing never crashes, hangs or throws; a parsed repository's
// canonical JSON reads back (directly and through its stored text) to a repository with the same
// JSON, so everything the parser accepts FeatureRepoFromJson accepts too; versions are
// well-formed digests that survive the round trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/sha256.h"
#include "features/definition.h"

// Aborts (a crash for libFuzzer) naming the broken invariant.
#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::StatusOr<plinth::FeatureRepo> repo = plinth::ParseFeatureRepo(text, "fuzz.yaml");
  if (!repo.ok()) {
    CHECK_INVARIANT(repo.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_INVARIANT(std::string(repo.status().message()).rfind("fuzz.yaml:", 0) == 0);
    return 0;
  }
  const plinth::Json json = plinth::FeatureRepoToJson(*repo);
  plinth::StatusOr<plinth::FeatureRepo> back = plinth::FeatureRepoFromJson(json);
  CHECK_INVARIANT(back.ok());
  CHECK_INVARIANT(plinth::FeatureRepoToJson(*back) == json);

  // As stored: through text. Strings from YAML must be valid UTF-8 for this to hold.
  plinth::StatusOr<plinth::Json> reparsed = plinth::ParseJson(plinth::DumpJson(json));
  CHECK_INVARIANT(reparsed.ok());
  plinth::StatusOr<plinth::FeatureRepo> stored = plinth::FeatureRepoFromJson(*reparsed);
  CHECK_INVARIANT(stored.ok());
  CHECK_INVARIANT(plinth::FeatureRepoToJson(*stored) == json);

  for (size_t i = 0; i < repo->views.size(); ++i) {
    const std::string version = plinth::ViewVersion(*repo, repo->views[i]);
    CHECK_INVARIANT(plinth::IsValidDigest(version));
    CHECK_INVARIANT(version == plinth::ViewVersion(*stored, stored->views[i]));
  }
  for (size_t i = 0; i < repo->services.size(); ++i) {
    const std::string version = plinth::ServiceVersion(*repo, repo->services[i]);
    CHECK_INVARIANT(plinth::IsValidDigest(version));
    CHECK_INVARIANT(version == plinth::ServiceVersion(*stored, stored->services[i]));
  }
  return 0;
}
