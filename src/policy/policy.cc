// Policies: canonical JSON and digests, evaluation at a gate, required approvals, text rendering.
#include "policy/policy.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/sha256.h"
#include "expr/expr.h"
#include "policy/policy_internal.h"

namespace plinth::policy {
namespace {

// Digest of a JSON document that holds only strings, bools, integers and null (policies and
// decisions), which canonicalise without error.
std::string DigestOf(const Json& json) {
  StatusOr<std::string> canonical = CanonicalJson(json);
  return canonical.ok() ? Sha256Digest(*canonical) : std::string();
}

bool Contains(const std::vector<int>& values, int value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A tiered rule or requirement applies to its tiers, and to every version of unknown tier.
bool AppliesToTier(const std::vector<int>& tiers, int risk_tier) {
  return tiers.empty() || risk_tier == kUnknownRiskTier || Contains(tiers, risk_tier);
}

std::string FirstLine(std::string_view text) {
  return std::string(text.substr(0, text.find('\n')));
}

std::string GateList() {
  std::string out;
  for (std::string_view gate : kGates) {
    if (!out.empty()) out += ", ";
    out += gate;
  }
  return out;
}

RuleResult EvaluateRule(const Rule& rule, const expr::Program& program,
                        const expr::Activation& activation, const Json& evidence) {
  RuleResult result;
  result.rule = rule.name;
  result.blocking = rule.blocking;
  result.message = rule.message;
  result.value = nullptr;
  StatusOr<expr::Value> value = expr::Evaluate(program, activation);
  if (!value.ok()) {
    // The first line is "LINE:COL: message"; the source and caret that follow are for people
    // writing the rule, not for the stored decision.
    result.error = FirstLine(std::string(value.status().message()));
  } else if (value->is_null()) {
    result.error = "result is null (evidence the rule reads is null)";
  } else if (value->kind() != expr::Value::Kind::kBool) {
    // Only a dyn expression can get here (CompileRule refuses other static types).
    result.error = "result is " + expr::KindName(value->kind()) + ", not bool";
  } else {
    result.value = value->bool_value();
    result.passed = value->bool_value();
  }
  if (!result.passed) {
    // Missing evidence is the usual reason a rule cannot be decided; naming it says what to
    // record, where "no such key" or "null" would only say where the expression stopped.
    std::string missing;
    for (const std::string& name : program.variables()) {
      const auto it = evidence.find(name);
      if (it == evidence.end() || it->is_null()) missing += (missing.empty() ? "" : ", ") + name;
    }
    if (!missing.empty()) result.error = "evidence missing: " + missing;
  }
  return result;
}

}  // namespace

namespace internal {

const expr::Environment& EvidenceEnvironment() {
  static const expr::Environment* const env = [] {
    auto* e = new expr::Environment();
    for (const auto& [name, type] : EvidenceVariables()) {
      Status status = e->Declare(name, std::string_view(type));
      (void)status;  // fixed, valid declarations: the tests compile against them
    }
    return e;
  }();
  return *env;
}

StatusOr<expr::Program> CompileRule(const std::string& source) {
  ASSIGN_OR_RETURN(expr::Program program, expr::Compile(source, EvidenceEnvironment()));
  const expr::Type& type = program.result_type();
  if (type.kind() != expr::TypeKind::kBool && !type.is_dyn()) {
    return absl::InvalidArgumentError("a rule must be a condition (bool), but this expression is " +
                                      type.ToString());
  }
  return program;
}

}  // namespace internal

const std::vector<std::pair<std::string, std::string>>& EvidenceVariables() {
  // The typed ones are read most often and benefit from static checks (a typo in a list
  // operation is a parse error); the documents whose shape grows with the platform are dyn.
  static const std::vector<std::pair<std::string, std::string>>* const vars =
      new std::vector<std::pair<std::string, std::string>>{
          {"model", "dyn"},
          {"metrics", "map(string, double)"},
          {"features", "list(string)"},
          {"protected", "list(string)"},
          {"monotone", "map(string, int)"},
          {"data_validation", "dyn"},
          {"fairness", "dyn"},
          {"explanations", "dyn"},
          {"evaluation", "dyn"},
          {"approvals", "dyn"},
          {"scan", "dyn"},
          {"card", "dyn"},
          {"lineage", "dyn"},
          {"stage_history", "dyn"},
          {"deployments", "dyn"},
      };
  return *vars;
}

Json ApprovalRequirement::ToJson() const {
  return Json{{"gate", gate},
              {"tiers", tiers},
              {"approvals", approvals},
              {"validators", validators},
              {"approvers", approvers}};
}

Json Policy::ToJson() const {
  Json rules_json = Json::array();
  for (const Rule& rule : rules) {
    rules_json.push_back(Json{{"name", rule.name},
                              {"gates", rule.gates},
                              {"expr", rule.expr},
                              {"message", rule.message},
                              {"severity", rule.blocking ? "blocking" : "warning"},
                              {"tiers", rule.tiers}});
  }
  Json approvals_json = Json::array();
  for (const ApprovalRequirement& req : approvals) approvals_json.push_back(req.ToJson());
  return Json{{"policy", name},
              {"description", description},
              {"rules", std::move(rules_json)},
              {"approvals", std::move(approvals_json)}};
}

std::string Policy::Digest() const { return DigestOf(ToJson()); }

Json RuleResult::ToJson() const {
  return Json{{"rule", rule},       {"passed", passed}, {"blocking", blocking},
              {"message", message}, {"error", error},   {"value", value}};
}

Json Decision::ToJson() const {
  Json results_json = Json::array();
  for (const RuleResult& r : results) results_json.push_back(r.ToJson());
  return Json{{"policy", policy},
              {"policy_digest", policy_digest},
              {"gate", gate},
              {"risk_tier", risk_tier == kUnknownRiskTier ? Json() : Json(risk_tier)},
              {"evidence_digest", evidence_digest},
              {"passed", passed},
              {"results", std::move(results_json)}};
}

std::string Decision::Digest() const { return DigestOf(ToJson()); }

int Decision::blocking_failures() const {
  return static_cast<int>(std::count_if(
      results.begin(), results.end(), [](const RuleResult& r) { return !r.passed && r.blocking; }));
}

int Decision::warnings() const {
  return static_cast<int>(std::count_if(results.begin(), results.end(), [](const RuleResult& r) {
    return !r.passed && !r.blocking;
  }));
}

int RiskTierOf(const Json& evidence) {
  if (!evidence.is_object()) return kUnknownRiskTier;
  const auto model = evidence.find("model");
  if (model == evidence.end() || !model->is_object()) return kUnknownRiskTier;
  const auto tier = model->find("risk_tier");
  if (tier == model->end() || !tier->is_number()) return kUnknownRiskTier;
  const double value = tier->get<double>();
  // 2.0 as written by a tool that stores every number as a double is still tier 2.
  if (value != static_cast<double>(static_cast<int64_t>(value)) || value < 1 ||
      value > kMaxRiskTier) {
    return kUnknownRiskTier;
  }
  return static_cast<int>(value);
}

StatusOr<Decision> EvaluatePolicy(const Policy& policy, std::string_view gate,
                                  const Json& evidence) {
  if (!IsGate(gate)) {
    return absl::InvalidArgumentError("unknown gate '" + std::string(gate) +
                                      "' (gates: " + GateList() + ")");
  }
  if (!evidence.is_object()) {
    return absl::InvalidArgumentError("evidence must be a JSON object, not " +
                                      std::string(evidence.type_name()));
  }
  StatusOr<std::string> canonical = CanonicalJson(evidence);
  if (!canonical.ok()) {
    return absl::InvalidArgumentError("evidence cannot be hashed: " +
                                      std::string(canonical.status().message()));
  }
  ASSIGN_OR_RETURN(expr::Activation activation, expr::Activation::FromJson(evidence));

  Decision decision;
  decision.policy = policy.name;
  decision.policy_digest = policy.Digest();
  decision.gate = std::string(gate);
  decision.risk_tier = RiskTierOf(evidence);
  decision.evidence_digest = Sha256Digest(*canonical);
  for (const Rule& rule : policy.rules) {
    if (std::find(rule.gates.begin(), rule.gates.end(), gate) == rule.gates.end()) continue;
    if (!AppliesToTier(rule.tiers, decision.risk_tier)) continue;
    StatusOr<expr::Program> program = internal::CompileRule(rule.expr);
    if (!program.ok()) {
      return absl::InvalidArgumentError("policy " + policy.name + ", rule " + rule.name + ": " +
                                        std::string(program.status().message()));
    }
    RuleResult result = EvaluateRule(rule, *program, activation, evidence);
    if (!result.passed && result.blocking) decision.passed = false;
    decision.results.push_back(std::move(result));
  }
  return decision;
}

ApprovalRequirement RequiredApprovals(const std::vector<Policy>& policies, std::string_view gate,
                                      int risk_tier) {
  ApprovalRequirement out;
  out.gate = std::string(gate);
  bool matched = false;
  for (const Policy& policy : policies) {
    for (const ApprovalRequirement& req : policy.approvals) {
      if (req.gate != gate || !AppliesToTier(req.tiers, risk_tier)) continue;
      matched = true;
      out.approvals = std::max(out.approvals, req.approvals);
      out.validators = std::max(out.validators, req.validators);
      out.approvers = std::max(out.approvers, req.approvers);
    }
  }
  if (!matched) {
    // The platform's rule of four eyes when no policy says otherwise.
    if (gate == "staging") out.approvals = 1;
    if (gate == "production") {
      out.validators = 1;
      out.approvers = 1;
    }
  }
  if (risk_tier != kUnknownRiskTier) out.tiers = {risk_tier};
  return out;
}

std::string FormatDecision(const Decision& d) {
  std::string out = "policy " + d.policy + " (" + d.policy_digest + ")\ngate " + d.gate;
  out += d.risk_tier == kUnknownRiskTier ? ", risk tier unknown"
                                         : ", risk tier " + std::to_string(d.risk_tier);
  out += ": ";
  if (d.passed) {
    out += "PASSED";
  } else {
    const int n = d.blocking_failures();
    out += "FAILED (" + std::to_string(n) + " blocking rule" + (n == 1 ? "" : "s") + " failed)";
  }
  if (const int w = d.warnings(); w > 0) {
    out += ", " + std::to_string(w) + " warning" + (w == 1 ? "" : "s");
  }
  out += "\n";
  if (d.results.empty()) return out + "no rule of this policy applies at this gate\n";

  size_t width = 4;  // "RULE"
  for (const RuleResult& r : d.results) width = std::max(width, r.rule.size());
  const auto pad = [](std::string text, size_t n) {
    if (text.size() < n) text.append(n - text.size(), ' ');
    return text;
  };
  out += "\n" + pad("RULE", width) + "  RESULT  MESSAGE\n";
  for (const RuleResult& r : d.results) {
    const char* verdict = r.passed ? "PASS" : (r.blocking ? "FAIL" : "WARN");
    // Messages may span lines; each continuation stays in the message column.
    std::string message;
    for (char c : r.message) {
      message += c;
      if (c == '\n') message += std::string(width + 10, ' ');
    }
    out += pad(r.rule, width) + "  " + pad(verdict, 6) + "  " + message + "\n";
    if (!r.error.empty()) out += std::string(width + 10, ' ') + "(" + r.error + ")\n";
  }
  return out;
}

}  // namespace plinth::policy
