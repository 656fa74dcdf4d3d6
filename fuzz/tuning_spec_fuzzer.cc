// libFuzzer target: tuning files (src/tune/tuning_spec.h: search space, objective with
// constraints, sampler, strategy, budget), parsed under guardrails. Invariants: parsing never
// crashes, hangs or throws; a refusal is InvalidArgument positioned in the file ("fuzz.yaml:");
// an accepted spec passes ValidateTuningSpec, respects the guardrails, and its digest is a
// well-formed digest that parsing the same text again reproduces.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tune/guardrails.h"
#include "tune/tuning_spec.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

const plinth::tune::Guardrails& Rules() {
  static const plinth::tune::Guardrails* rules = [] {
    auto parsed = plinth::tune::ParseGuardrails(
        "fixed: {nthread: 1}\nmax: {max_depth: 6}\nmin: {min_child_weight: 1}\n"
        "excluded_features: [addr_state]\n",
        "guardrails.yaml");
    if (!parsed.ok()) std::abort();
    return new plinth::tune::Guardrails(*std::move(parsed));
  }();
  return *rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::tune::TuningSpecOptions options;
  options.guardrails = &Rules();
  options.metrics = {"train_auc", "valid_auc", "valid_ks"};
  plinth::StatusOr<plinth::tune::TuningSpec> spec =
      plinth::tune::ParseTuningSpec(text, "fuzz.yaml", options);
  if (!spec.ok()) {
    CHECK_INVARIANT(spec.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_INVARIANT(std::string(spec.status().message()).rfind("fuzz.yaml", 0) == 0);
    return 0;
  }
  CHECK_INVARIANT(plinth::tune::ValidateTuningSpec(*spec).ok());
  CHECK_INVARIANT(plinth::tune::CheckSpace(Rules(), spec->space).ok());
  const std::string digest = spec->Digest();
  CHECK_INVARIANT(digest.size() == 71 && digest.rfind("sha256:", 0) == 0);
  plinth::StatusOr<plinth::tune::TuningSpec> again =
      plinth::tune::ParseTuningSpec(text, "fuzz.yaml", options);
  CHECK_INVARIANT(again.ok());
  CHECK_INVARIANT(again->Digest() == digest);
  CHECK_INVARIANT(again->ToJson() == spec->ToJson());
  return 0;
}
