// libFuzzer target: policy files (src/policy/policy.h). Each input is a YAML policy file.
// Invariants: parsing never crashes, hangs or throws, and refuses only with a positioned
// InvalidArgument; a parsed policy reads back from its JSON (directly and through its stored
// text) to the same JSON and digest, so everything the parser accepts PolicyFromJson accepts
// too; evaluating it at every gate over fixed evidence always gives a decision, which passes no
// rule whose value is not true.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/sha256.h"
#include "policy/policy.h"

// Aborts (a crash for libFuzzer) naming the broken invariant.
#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

const plinth::Json& Evidence() {
  static const plinth::Json* const evidence = new plinth::Json(plinth::Json::parse(R"({
    "model": {"name": "credit", "version": 3, "risk_tier": 2},
    "metrics": {"test_auc": 0.71, "train_auc": 0.74, "psi": 0.02},
    "features": ["int_rate", "annual_inc"], "protected": ["addr_state"],
    "monotone": {"int_rate": 1},
    "data_validation": {"passed": true},
    "fairness": {"attributes": {"addr_state": {"disparate_impact_min": 0.9}}},
    "approvals": {"validated": true, "decisions": []},
    "scan": null, "card": {"complete": false}
  })"));
  return *evidence;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace policy = plinth::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  plinth::StatusOr<policy::Policy> parsed = policy::ParsePolicy(text, "fuzz.yaml");
  if (!parsed.ok()) {
    CHECK_INVARIANT(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_INVARIANT(std::string(parsed.status().message()).rfind("fuzz.yaml:", 0) == 0);
    return 0;
  }
  const plinth::Json json = parsed->ToJson();
  const std::string digest = parsed->Digest();
  CHECK_INVARIANT(plinth::IsValidDigest(digest));

  plinth::StatusOr<policy::Policy> back = policy::PolicyFromJson(json);
  CHECK_INVARIANT(back.ok());
  CHECK_INVARIANT(back->ToJson() == json);
  CHECK_INVARIANT(back->Digest() == digest);

  // As stored: through text.
  plinth::StatusOr<plinth::Json> reparsed = plinth::ParseJson(plinth::DumpJson(json));
  CHECK_INVARIANT(reparsed.ok());
  plinth::StatusOr<policy::Policy> stored = policy::PolicyFromJson(*reparsed);
  CHECK_INVARIANT(stored.ok());
  CHECK_INVARIANT(stored->Digest() == digest);

  for (std::string_view gate : policy::kGates) {
    plinth::StatusOr<policy::Decision> decision = policy::EvaluatePolicy(*parsed, gate, Evidence());
    // A rule that cannot be decided (even by exceeding the evaluation budget) fails on its own;
    // the decision itself is always made for a parsed policy.
    CHECK_INVARIANT(decision.ok());
    bool passed = true;
    for (const policy::RuleResult& r : decision->results) {
      CHECK_INVARIANT(!r.passed || r.value == plinth::Json(true));
      if (!r.passed && r.blocking) passed = false;
    }
    CHECK_INVARIANT(decision->passed == passed);
    CHECK_INVARIANT(plinth::IsValidDigest(decision->Digest()));
  }
  return 0;
}
