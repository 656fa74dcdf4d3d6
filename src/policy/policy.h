// Policies as code (docs/policies.md): governance rules, each an expression (docs/expr.md) over the
// evidence of a model version (docs/evidence.md), attached to the gates a version passes through.
//
// This module is the pure logic: reading policy files (YAML, positioned errors), their canonical
// JSON and digest, evaluating a policy at a gate into a Decision, the approvals a promotion needs,
// and the built-in credit pack. The platform stores policies and decisions and applies them; it
// never evaluates a rule itself, so what a stored decision says can be recomputed from the stored
// policy and evidence.
#ifndef PLINTH_POLICY_POLICY_H_
#define PLINTH_POLICY_POLICY_H_

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::policy {

// The gates a model version passes through, in the order it meets them.
inline constexpr std::array<std::string_view, 4> kGates = {"register", "staging", "production",
                                                           "deploy"};
bool IsGate(std::string_view name);

// Risk tiers are 1 (highest risk) to kMaxRiskTier. kUnknownRiskTier is a version without one: it
// is held to every tiered rule and requirement, so a missing tier can never loosen a policy.
inline constexpr int kMaxRiskTier = 9;
inline constexpr int kUnknownRiskTier = 0;

// Policy names: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64
// characters (so "NAME@VERSION" is unambiguous).
bool IsPolicyName(std::string_view name);

struct Rule {
  std::string name;                // an identifier, unique within the policy
  std::string expr;                // boolean expression over the evidence variables
  std::string message;             // what the rule requires, shown with its result
  std::vector<std::string> gates;  // non-empty, in kGates order, no repeats
  bool blocking = true;            // false: severity "warning", reported but never blocks
  std::vector<int> tiers;          // ascending; empty: every tier
};

// Sign-offs a promotion to `gate` needs for versions of `tiers` (empty: every tier). The platform
// counts only independent ones (not by the version's author).
struct ApprovalRequirement {
  std::string gate;
  std::vector<int> tiers;
  int approvals = 0;   // sign-offs of any kind (validator or approver)
  int validators = 0;  // validator sign-offs
  int approvers = 0;   // approver approvals
  Json ToJson() const;
};

struct Policy {
  std::string name, description;
  std::vector<Rule> rules;
  std::vector<ApprovalRequirement> approvals;

  // Canonical form, with every default written out, so the same policy has one JSON whatever
  // its YAML looked like. Its keys are the YAML's keys: the JSON is itself a valid policy file.
  Json ToJson() const;
  // "sha256:<hex>" of CanonicalJson(ToJson()).
  std::string Digest() const;
};

// Reads a policy file. InvalidArgument "FILE:LINE:COL: context: message" on any error: YAML
// syntax, unknown or missing keys, a bad name or gate, a repeated rule name, a rule expression
// that does not compile against the evidence variables (followed by the expression's own
// "LINE:COL: message" and caret) or is not boolean, overlapping approval requirements.
StatusOr<Policy> ParsePolicy(std::string_view yaml_text, std::string_view file_name);
// Reads what ToJson wrote (as the platform stores it), with every check of ParsePolicy.
StatusOr<Policy> PolicyFromJson(const Json& json);

struct RuleResult {
  std::string rule;
  bool passed = false;
  bool blocking = true;
  std::string message;
  // Why a rule failed without a verdict: "evidence missing: fairness" when evidence the rule
  // reads is absent or null, else the evaluation error or "result is null". Empty otherwise.
  std::string error;
  Json value;  // the expression's result (true, false or null); null on error
  Json ToJson() const;
};

struct Decision {
  std::string policy, policy_digest, gate;
  int risk_tier = kUnknownRiskTier;
  std::string evidence_digest;      // "sha256:<hex>" of the canonical evidence evaluated
  bool passed = true;               // no blocking rule failed
  std::vector<RuleResult> results;  // the rules that apply, in policy order

  Json ToJson() const;
  // "sha256:<hex>" of CanonicalJson(ToJson()).
  std::string Digest() const;
  int blocking_failures() const;
  int warnings() const;
};

// The evidence variables rules may use and their types: metrics map(string, double), features
// and protected list(string), monotone map(string, int), the rest dyn (docs/policies.md).
const std::vector<std::pair<std::string, std::string>>& EvidenceVariables();

// Evaluates the rules of `policy` that apply at `gate` to the version's risk tier
// (evidence.model.risk_tier; unknown: every rule). A rule passes only if its expression gives
// true: false, null and evaluation errors (missing evidence, wrong types) fail it. A failed
// warning rule never fails the decision. InvalidArgument if `gate` is no gate, `evidence` is not
// an object or cannot be hashed (NaN), or a rule does not compile (a policy not from ParsePolicy).
StatusOr<Decision> EvaluatePolicy(const Policy& policy, std::string_view gate,
                                  const Json& evidence);

// The risk tier of the evidence: evidence.model.risk_tier when it is an integer in 1..9, else
// kUnknownRiskTier.
int RiskTierOf(const Json& evidence);

// The approvals a promotion to `gate` needs for `risk_tier`: the strictest (each count's maximum)
// over the requirements of `policies` for that gate whose tiers include risk_tier (an unknown
// tier matches all). When none matches, the defaults: staging {approvals 1}, production
// {validators 1, approvers 1}, other gates none.
ApprovalRequirement RequiredApprovals(const std::vector<Policy>& policies, std::string_view gate,
                                      int risk_tier);

// The built-in pack for credit scoring models, "plinth-credit" (embedded in the binary).
std::string BuiltinCreditPolicyYaml();
const Policy& BuiltinCreditPolicy();

// For the CLI: a heading with the policy, gate and outcome, then a table of rule, result (PASS,
// FAIL, or WARN for a failed warning rule) and message, with the error under a failed rule.
std::string FormatDecision(const Decision& decision);

}  // namespace plinth::policy

#endif  // PLINTH_POLICY_POLICY_H_
