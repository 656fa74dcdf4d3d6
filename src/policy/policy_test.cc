#include "policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/sha256.h"

namespace plinth::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ParseError(const std::string& yaml) {
  StatusOr<Policy> p = ParsePolicy(yaml, "p.yaml");
  if (p.ok()) return "(parsed)";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(p.status().message());
}

Policy MustParse(const std::string& yaml) {
  StatusOr<Policy> p = ParsePolicy(yaml, "p.yaml");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy();
}

Json MustJson(const std::string& text) {
  StatusOr<Json> j = ParseJson(text);
  EXPECT_TRUE(j.ok()) << j.status();
  return j.ok() ? *j : Json();
}

const char kSmall[] = R"(policy: small
description: for tests
rules:
  - name: auc
    gates: [staging, production]
    expr: metrics.test_auc >= 0.7
    message: AUC at least 0.7
  - name: card
    gates: [production]
    expr: card.complete
    message: card complete
    severity: warning
  - name: tier1_only
    gates: [production]
    tiers: [1]
    expr: approvals.validated == true
    message: tier 1 needs validation
)";

// --- Parsing ----------------------------------------------------------------------------------

TEST(ParsePolicy, ReadsRulesAndDefaults) {
  Policy p = MustParse(kSmall);
  EXPECT_EQ(p.name, "small");
  EXPECT_EQ(p.description, "for tests");
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(p.rules[0].name, "auc");
  EXPECT_THAT(p.rules[0].gates, ElementsAre("staging", "production"));
  EXPECT_TRUE(p.rules[0].blocking);
  EXPECT_FALSE(p.rules[1].blocking);
  EXPECT_THAT(p.rules[2].tiers, ElementsAre(1));
  EXPECT_TRUE(p.approvals.empty());
  EXPECT_TRUE(IsValidDigest(p.Digest()));
}

TEST(ParsePolicy, UnknownKeysArePositioned) {
  EXPECT_EQ(ParseError("policy: a\nrules: []\nrulez: 1\n"),
            "p.yaml:3:1: unknown key 'rulez' (did you mean 'rules'?)");
  EXPECT_EQ(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n    expr: true\n"
                       "    mesage: m\n"),
            "p.yaml:6:5: rules[0] r: unknown key 'mesage' (did you mean 'message'?)");
  EXPECT_EQ(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n    expr: true\n"
                       "    message: m\napprovals:\n  - gate: staging\n    count: 2\n"),
            "p.yaml:9:5: approvals[0]: unknown key 'count' (expected: gate, tiers, approvals, "
            "validators, approvers)");
}

TEST(ParsePolicy, BadGate) {
  EXPECT_EQ(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging, prod]\n"
                       "    expr: true\n    message: m\n"),
            "p.yaml:4:22: rules[0] r: unknown gate 'prod' (did you mean 'production'?)");
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging, staging]\n"
                         "    expr: true\n    message: m\n"),
              HasSubstr("p.yaml:4:22: rules[0] r: gate 'staging' is listed twice"));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: []\n"
                         "    expr: true\n    message: m\n"),
              HasSubstr("p.yaml:4:12: rules[0] r: 'gates' must name at least one gate"));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: staging\n"
                         "    expr: true\n    message: m\n"),
              HasSubstr("'gates' must be a list"));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
                         "    expr: true\n    message: m\napprovals:\n  - gate: live\n"
                         "    approvals: 1\n"),
              HasSubstr("p.yaml:8:11: approvals[0]: unknown gate 'live'"));
}

TEST(ParsePolicy, BadExpressionHasFilePositionAndItsOwnColumn) {
  const std::string message = ParseError(
      "policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
      "    expr: metrics.test_auc >= 0.7 && card.complet == true && fairnes.x\n"
      "    message: m\n");
  EXPECT_THAT(message, StartsWith("p.yaml:5:11: rules[0] r: expr: 1:52: undeclared reference to "
                                  "'fairnes' (did you mean 'fairness'?)"));
  // The expression's own source line and caret follow.
  EXPECT_THAT(message, HasSubstr("&& fairnes.x\n"));
  EXPECT_THAT(message, HasSubstr("^"));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
                         "    expr: metrics.test_auc >=\n    message: m\n"),
              StartsWith("p.yaml:5:11: rules[0] r: expr: 1:20: "));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
                         "    expr: size(features.filter(f, f > 1))\n    message: m\n"),
              StartsWith("p.yaml:5:11: rules[0] r: expr: 1:"));
  // A rule must be a condition.
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
                         "    expr: metrics.test_auc\n    message: m\n"),
              HasSubstr("p.yaml:5:11: rules[0] r: expr: a rule must be a condition (bool), but "
                        "this expression is double"));
  // dyn may be a bool at evaluation, so it is accepted.
  MustParse(
      "policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
      "    expr: card.complete\n    message: m\n");
}

TEST(ParsePolicy, DuplicateRule) {
  EXPECT_EQ(ParseError("policy: a\nrules:\n  - name: r\n    gates: [staging]\n"
                       "    expr: true\n    message: m\n"
                       "  - name: r\n    gates: [production]\n    expr: true\n    message: m\n"),
            "p.yaml:7:11: rules[1] r: rule 'r' is defined twice (first at 3:11)");
}

TEST(ParsePolicy, OtherErrors) {
  EXPECT_THAT(ParseError(""), HasSubstr("p.yaml:1:1: the file is empty"));
  EXPECT_THAT(ParseError("policy: a\nrules: [\n"), StartsWith("p.yaml:"));
  EXPECT_THAT(ParseError("policy: a\n"), HasSubstr("p.yaml:1:1: missing 'rules'"));
  EXPECT_THAT(ParseError("policy: a\nrules: []\n"), HasSubstr("'rules' must not be empty"));
  EXPECT_THAT(ParseError("policy: 'a b'\nrules: []\n"),
              HasSubstr("p.yaml:1:9: policy name 'a b' must be"));
  EXPECT_THAT(ParseError("policy: a@1\nrules: []\n"), HasSubstr("policy name 'a@1' must be"));
  const std::string rule = "policy: a\nrules:\n  - name: r\n    gates: [staging]\n    expr: true\n";
  EXPECT_THAT(ParseError(rule), HasSubstr("p.yaml:3:5: rules[0] r: missing 'message'"));
  EXPECT_THAT(ParseError(rule + "    message: ''\n"), HasSubstr("'message' must not be empty"));
  EXPECT_THAT(ParseError(rule + "    message: m\n    severity: info\n"),
              HasSubstr("p.yaml:7:15: rules[0] r: severity must be 'blocking' or 'warning'"));
  EXPECT_THAT(ParseError(rule + "    message: m\n    tiers: [0]\n"),
              HasSubstr("p.yaml:7:13: rules[0] r: 'tiers item' must be an integer from 1 to 9"));
  EXPECT_THAT(ParseError(rule + "    message: m\n    tiers: ['1']\n"),
              HasSubstr("must be an integer from 1 to 9"));
  EXPECT_THAT(ParseError(rule + "    message: m\n    tiers: [1, 1]\n"),
              HasSubstr("tier 1 is listed twice"));
  EXPECT_THAT(ParseError(rule + "    message: \"a\\x01b\"\n"), HasSubstr("control characters"));
  EXPECT_THAT(ParseError("policy: a\nrules:\n  - name: 1r\n    gates: [staging]\n"
                         "    expr: true\n    message: m\n"),
              HasSubstr("p.yaml:3:11: rules[0]: rule name '1r' must be an identifier"));
}

TEST(ParsePolicy, ApprovalRequirements) {
  const std::string head =
      "policy: a\nrules:\n  - name: r\n    gates: [staging]\n    expr: true\n    message: m\n"
      "approvals:\n";
  Policy p = MustParse(head +
                       "  - gate: production\n    tiers: [2, 1]\n    validators: 1\n"
                       "    approvers: 2\n  - gate: production\n    tiers: [3]\n    approvers: 1\n"
                       "  - gate: staging\n    approvals: 0\n");
  ASSERT_EQ(p.approvals.size(), 3u);
  EXPECT_THAT(p.approvals[0].tiers, ElementsAre(1, 2));
  EXPECT_EQ(p.approvals[0].approvers, 2);
  EXPECT_EQ(p.approvals[2].approvals, 0);
  EXPECT_THAT(ParseError(head + "  - gate: production\n    tiers: [1]\n    approvers: 1\n"
                                "  - gate: production\n    approvers: 2\n"),
              HasSubstr("p.yaml:11:5: approvals[1]: a requirement for gate 'production' already "
                        "covers some of these tiers"));
  EXPECT_THAT(ParseError(head + "  - gate: production\n"),
              HasSubstr("needs 'approvals', 'validators' or 'approvers'"));
  EXPECT_THAT(ParseError(head + "  - gate: production\n    approvers: 11\n"),
              HasSubstr("p.yaml:9:16: approvals[0]: 'approvers' must be an integer from 0 to 10"));
  EXPECT_THAT(ParseError(head + "  - gate: production\n    approvers: -1\n"),
              HasSubstr("must be an integer from 0 to 10"));
}

// --- Canonical form and digests -----------------------------------------------------------------

TEST(PolicyDigest, StableAcrossFormatting) {
  const Policy a = MustParse(kSmall);
  // Same content: comments, key order, flow style, quoting, explicit defaults, gate and tier
  // order, a block scalar for the expression.
  const Policy b = MustParse(R"(# the same policy
rules:
  - {message: AUC at least 0.7, expr: 'metrics.test_auc >= 0.7', name: auc,
     gates: [production, staging], severity: blocking, tiers: []}
  - name: card   # a warning
    severity: warning
    message: "card complete"
    gates:
      - production
    expr: |
      card.complete
  - tiers: [1]
    name: tier1_only
    gates: [production]
    expr: approvals.validated == true
    message: tier 1 needs validation
description: for tests
policy: small
approvals: []
)");
  EXPECT_EQ(a.ToJson(), b.ToJson());
  EXPECT_EQ(a.Digest(), b.Digest());

  // Any change of content changes the digest.
  std::string changed = kSmall;
  changed.replace(changed.find("0.7\n"), 3, "0.75");
  EXPECT_NE(MustParse(changed).Digest(), a.Digest());
  Policy reordered = a;
  std::swap(reordered.rules[0], reordered.rules[1]);
  EXPECT_NE(reordered.Digest(), a.Digest());
  Policy warning = a;
  warning.rules[0].blocking = false;
  EXPECT_NE(warning.Digest(), a.Digest());
}

TEST(PolicyDigest, RoundTripsThroughStoredJson) {
  for (const Policy& p : {MustParse(kSmall), BuiltinCreditPolicy()}) {
    const Json json = p.ToJson();
    StatusOr<Policy> back = PolicyFromJson(json);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->ToJson(), json);
    EXPECT_EQ(back->Digest(), p.Digest());
    // Through text, as stored.
    StatusOr<Policy> stored = PolicyFromJson(MustJson(DumpJson(json)));
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ(stored->Digest(), p.Digest());
  }
}

TEST(PolicyDigest, StoredJsonIsChecked) {
  Json json = MustParse(kSmall).ToJson();
  json["rules"][0]["gates"] = {"live"};
  EXPECT_THAT(std::string(PolicyFromJson(json).status().message()),
              HasSubstr("unknown gate 'live'"));
  json = MustParse(kSmall).ToJson();
  json["extra"] = 1;
  EXPECT_THAT(std::string(PolicyFromJson(json).status().message()),
              HasSubstr("unknown key 'extra'"));
  json = MustParse(kSmall).ToJson();
  json["rules"][0]["expr"] = "metrics.nope(";
  EXPECT_THAT(std::string(PolicyFromJson(json).status().message()), StartsWith("stored policy:"));
  EXPECT_FALSE(PolicyFromJson(Json::array()).ok());
}

// --- Evaluation ---------------------------------------------------------------------------------

Json Evidence() {
  return MustJson(R"({
    "model": {"name": "credit", "version": 3, "risk_tier": 1},
    "metrics": {"test_auc": 0.74},
    "features": ["int_rate"],
    "protected": ["addr_state"],
    "card": {"complete": false},
    "approvals": {"validated": true}
  })");
}

TEST(EvaluatePolicy, PassFailAndWarning) {
  const Policy p = MustParse(kSmall);
  StatusOr<Decision> d = EvaluatePolicy(p, "production", Evidence());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->policy, "small");
  EXPECT_EQ(d->policy_digest, p.Digest());
  EXPECT_EQ(d->gate, "production");
  EXPECT_EQ(d->risk_tier, 1);
  EXPECT_EQ(d->evidence_digest, Sha256Digest(*CanonicalJson(Evidence())));
  ASSERT_EQ(d->results.size(), 3u);
  EXPECT_TRUE(d->results[0].passed);
  EXPECT_EQ(d->results[0].value, Json(true));
  // The card rule is a warning: it fails without failing the decision.
  EXPECT_FALSE(d->results[1].passed);
  EXPECT_FALSE(d->results[1].blocking);
  EXPECT_EQ(d->results[1].value, Json(false));
  EXPECT_EQ(d->results[1].error, "");
  EXPECT_TRUE(d->passed);
  EXPECT_EQ(d->warnings(), 1);
  EXPECT_EQ(d->blocking_failures(), 0);

  Json weak = Evidence();
  weak["metrics"]["test_auc"] = 0.6;
  d = EvaluatePolicy(p, "production", weak);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->passed);
  EXPECT_FALSE(d->results[0].passed);
  EXPECT_EQ(d->blocking_failures(), 1);

  // Only the gate's rules.
  d = EvaluatePolicy(p, "staging", weak);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->results.size(), 1u);
  EXPECT_EQ(d->results[0].rule, "auc");
  d = EvaluatePolicy(p, "register", weak);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->results.empty());
  EXPECT_TRUE(d->passed);
}

TEST(EvaluatePolicy, MissingEvidenceFailsWithAClearError) {
  const Policy p = MustParse(kSmall);
  Json evidence = Evidence();
  evidence.erase("metrics");
  evidence["card"] = nullptr;
  StatusOr<Decision> d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->passed);
  EXPECT_FALSE(d->results[0].passed);
  EXPECT_EQ(d->results[0].error, "evidence missing: metrics");
  EXPECT_EQ(d->results[0].value, Json());
  EXPECT_EQ(d->results[1].error, "evidence missing: card");

  // A missing member deeper down is the evaluation's own error, positioned in the expression.
  evidence = Evidence();
  evidence["metrics"] = Json::object();
  d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->results[0].passed);
  EXPECT_EQ(d->results[0].error, "1:9: no such key: 'test_auc'");

  // Wrong types fail, never pass.
  evidence = Evidence();
  evidence["metrics"]["test_auc"] = "high";
  d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->results[0].passed);
  EXPECT_NE(d->results[0].error, "");
  evidence = Evidence();
  evidence["card"]["complete"] = "yes";
  d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->results[1].passed);
  EXPECT_EQ(d->results[1].error, "result is string, not bool");
  // A null result fails.
  evidence["card"]["complete"] = nullptr;
  d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->results[1].passed);
  EXPECT_THAT(d->results[1].error, HasSubstr("result is null"));
}

TEST(EvaluatePolicy, TierFiltering) {
  const Policy p = MustParse(kSmall);
  Json evidence = Evidence();
  evidence["model"]["risk_tier"] = 2;
  StatusOr<Decision> d = EvaluatePolicy(p, "production", evidence);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->risk_tier, 2);
  ASSERT_EQ(d->results.size(), 2u);  // tier1_only does not apply
  // An unknown tier is held to every rule.
  for (const Json& tier : {Json(), Json("high"), Json(1.5), Json(12)}) {
    evidence["model"]["risk_tier"] = tier;
    d = EvaluatePolicy(p, "production", evidence);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->risk_tier, kUnknownRiskTier);
    EXPECT_EQ(d->results.size(), 3u);
    EXPECT_TRUE(d->ToJson()["risk_tier"].is_null());
  }
  evidence["model"]["risk_tier"] = 1.0;
  EXPECT_EQ(RiskTierOf(evidence), 1);
}

TEST(EvaluatePolicy, RefusesBadInput) {
  const Policy p = MustParse(kSmall);
  EXPECT_THAT(std::string(EvaluatePolicy(p, "live", Evidence()).status().message()),
              HasSubstr("unknown gate 'live'"));
  EXPECT_FALSE(EvaluatePolicy(p, "staging", Json::array()).ok());
  Json nan = Evidence();
  nan["metrics"]["x"] = std::nan("");
  EXPECT_FALSE(EvaluatePolicy(p, "staging", nan).ok());
  Policy broken = p;
  broken.rules[0].expr = "nope >";
  EXPECT_FALSE(EvaluatePolicy(broken, "staging", Evidence()).ok());
}

TEST(EvaluatePolicy, DecisionDigestAndJson) {
  StatusOr<Decision> d = EvaluatePolicy(MustParse(kSmall), "production", Evidence());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(IsValidDigest(d->Digest()));
  const Json json = d->ToJson();
  EXPECT_EQ(json["policy_digest"], d->policy_digest);
  EXPECT_EQ(json["results"][1]["rule"], "card");
  EXPECT_EQ(json["results"][1]["blocking"], false);
  StatusOr<Decision> again = EvaluatePolicy(MustParse(kSmall), "production", Evidence());
  EXPECT_EQ(again->Digest(), d->Digest());
}

TEST(FormatDecision, Table) {
  Json evidence = Evidence();
  evidence["metrics"] = Json::object();
  StatusOr<Decision> d = EvaluatePolicy(MustParse(kSmall), "production", evidence);
  ASSERT_TRUE(d.ok());
  const std::string text = FormatDecision(*d);
  EXPECT_THAT(text, HasSubstr("policy small (sha256:"));
  EXPECT_THAT(text, HasSubstr("gate production, risk tier 1: FAILED (1 blocking rule failed), 1 "
                              "warning\n"));
  EXPECT_THAT(text, HasSubstr("auc         FAIL    AUC at least 0.7\n"
                              "                    (1:9: no such key: 'test_auc')\n"));
  EXPECT_THAT(text, HasSubstr("card        WARN    card complete\n"));
  EXPECT_THAT(text, HasSubstr("tier1_only  PASS    tier 1 needs validation\n"));
}

// --- Approvals ----------------------------------------------------------------------------------

TEST(RequiredApprovals, Defaults) {
  ApprovalRequirement r = RequiredApprovals({}, "staging", 1);
  EXPECT_EQ(r.approvals, 1);
  EXPECT_EQ(r.validators, 0);
  r = RequiredApprovals({}, "production", 3);
  EXPECT_EQ(r.approvals, 0);
  EXPECT_EQ(r.validators, 1);
  EXPECT_EQ(r.approvers, 1);
  r = RequiredApprovals({}, "register", 1);
  EXPECT_EQ(r.approvals + r.validators + r.approvers, 0);
  // The built-in pack says the same as the defaults.
  r = RequiredApprovals({BuiltinCreditPolicy()}, "production", 2);
  EXPECT_EQ(r.validators, 1);
  EXPECT_EQ(r.approvers, 1);
}

TEST(RequiredApprovals, StrictestOfMatchingRequirements) {
  const std::string head =
      "rules:\n  - name: r\n    gates: [staging]\n    expr: true\n    message: m\napprovals:\n";
  const Policy a = MustParse("policy: a\n" + head +
                             "  - gate: production\n    tiers: [1]\n    validators: 2\n"
                             "    approvers: 1\n"
                             "  - gate: production\n    tiers: [3]\n    validators: 0\n"
                             "    approvers: 1\n"
                             "  - gate: staging\n    tiers: [3]\n    approvals: 0\n");
  const Policy b = MustParse("policy: b\n" + head +
                             "  - gate: production\n    approvers: 2\n    approvals: 3\n");
  ApprovalRequirement r = RequiredApprovals({a, b}, "production", 1);
  EXPECT_EQ(r.validators, 2);
  EXPECT_EQ(r.approvers, 2);
  EXPECT_EQ(r.approvals, 3);
  // Tier 3: a's tier-3 requirement (no validator) and b's apply; no default is added.
  r = RequiredApprovals({a}, "production", 3);
  EXPECT_EQ(r.validators, 0);
  EXPECT_EQ(r.approvers, 1);
  // Tier 2: nothing of a matches, so the defaults apply.
  r = RequiredApprovals({a}, "production", 2);
  EXPECT_EQ(r.validators, 1);
  EXPECT_EQ(r.approvers, 1);
  // A policy may waive the staging approval for a tier.
  EXPECT_EQ(RequiredApprovals({a}, "staging", 3).approvals, 0);
  EXPECT_EQ(RequiredApprovals({a}, "staging", 1).approvals, 1);
  // An unknown tier is held to every requirement.
  r = RequiredApprovals({a}, "production", kUnknownRiskTier);
  EXPECT_EQ(r.validators, 2);
  EXPECT_EQ(r.approvers, 1);
}

// --- The built-in pack --------------------------------------------------------------------------

TEST(BuiltinCreditPolicy, Parses) {
  StatusOr<Policy> p = ParsePolicy(BuiltinCreditPolicyYaml(), "plinth-credit.yaml");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "plinth-credit");
  EXPECT_EQ(p->Digest(), BuiltinCreditPolicy().Digest());
  std::vector<std::string> names;
  for (const Rule& r : p->rules) names.push_back(r.name);
  EXPECT_THAT(names,
              ElementsAre("import_scan_clean", "no_protected_features", "min_test_auc",
                          "max_train_test_gap", "data_validation_passed", "monotone_declared",
                          "score_stability", "fairness_disparate_impact", "model_card_complete",
                          "independent_validation"));
  for (const Rule& r : p->rules) {
    EXPECT_TRUE(r.blocking) << r.name;
    EXPECT_FALSE(r.gates.empty()) << r.name;
  }
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Golden decisions of the built-in pack: testdata/NAME.evidence.json evaluated at each gate must
// give testdata/NAME.GATE.decision.json. PLINTH_UPDATE_GOLDEN=1 rewrites them (review the diff).
TEST(BuiltinCreditPolicy, GoldenDecisions) {
  const std::filesystem::path dir = PLINTH_POLICY_TESTDATA;
  const char* update_env = std::getenv("PLINTH_UPDATE_GOLDEN");
  const bool update = update_env != nullptr && std::string(update_env) == "1";
  int cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    const std::string suffix = ".evidence.json";
    if (file.size() <= suffix.size() ||
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const std::string stem = file.substr(0, file.size() - suffix.size());
    const Json evidence = MustJson(ReadFile(entry.path()));
    for (std::string_view gate : kGates) {
      StatusOr<Decision> d = EvaluatePolicy(BuiltinCreditPolicy(), gate, evidence);
      ASSERT_TRUE(d.ok()) << file << ": " << d.status();
      const std::string actual = DumpJson(d->ToJson(), 2) + "\n";
      const std::filesystem::path golden =
          dir / (stem + "." + std::string(gate) + ".decision.json");
      if (update) {
        std::ofstream(golden, std::ios::binary) << actual;
      } else {
        EXPECT_EQ(actual, ReadFile(golden))
            << golden << " differs (PLINTH_UPDATE_GOLDEN=1 rewrites it)";
      }
      ++cases;
    }
  }
  EXPECT_GE(cases, 12);
}

}  // namespace
}  // namespace plinth::policy
