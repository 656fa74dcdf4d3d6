// Reading policy files (format in docs/policies.md) and their stored JSON.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "expr/expr.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"
#include "yaml/yaml_util.h"

namespace plinth::policy {
namespace {

using yaml::Errors;
using yaml::Fields;

const std::vector<std::string> kTopKeys = {"policy", "description", "rules", "approvals"};
const std::vector<std::string> kRuleKeys = {"name",    "gates",    "expr",
                                            "message", "severity", "tiers"};
const std::vector<std::string> kApprovalKeys = {"gate", "tiers", "approvals", "validators",
                                                "approvers"};

// Bounds that keep a hostile file from producing huge policies or decisions.
constexpr size_t kMaxRules = 500;
constexpr size_t kMaxApprovalEntries = 100;
constexpr size_t kMaxMessageBytes = 2000;
constexpr size_t kMaxDescriptionBytes = 8000;
constexpr int kMaxApprovalCount = 10;

std::vector<std::string> GateNames() { return {kGates.begin(), kGates.end()}; }

// Text that is shown to people and stored: no control characters except newline and tab, which
// also keeps every accepted string readable again from its JSON (YAML refuses raw controls).
bool IsPrintable(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
    // C1 controls U+0080..U+009F are encoded C2 80..C2 9F.
    if (c == 0xc2 && i + 1 < text.size()) {
      const unsigned char next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return false;
    }
  }
  return true;
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\n\r");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\n\r");
  return text.substr(begin, end - begin + 1);
}

// "rules[3] min_auc": the index always, the name when it is a valid one, so even an error found
// before the name is read says which rule it is about.
std::string RuleContext(size_t index, const YAML::Node& node) {
  std::string context = "rules[" + std::to_string(index) + "]";
  if (node.IsMap()) {
    const YAML::Node name = node["name"];
    if (name && name.IsScalar() && yaml::IsIdentifier(name.Scalar())) {
      context += " " + name.Scalar();
    }
  }
  return context;
}

class Parser {
 public:
  explicit Parser(std::string file_name) : errors_(std::move(file_name)) {}

  StatusOr<Policy> Parse(std::string_view text) {
    ASSIGN_OR_RETURN(YAML::Node root, yaml::Load(text, errors_));
    if (root.IsNull()) {
      return errors_.At(root.Mark(), "",
                        "the file is empty (expected a policy with 'policy' and "
                        "'rules')");
    }
    ASSIGN_OR_RETURN(Fields top,
                     Fields::Read(errors_, "", "a policy", root, kTopKeys, {"policy", "rules"}));
    Policy policy;
    ASSIGN_OR_RETURN(policy.name, yaml::GetString(errors_, "", "policy", top.Get("policy")));
    if (!IsPolicyName(policy.name)) {
      return errors_.At(top.Get("policy").Mark(), "",
                        "policy name " + errors_.Quote(policy.name) +
                            " must be 1 to 64 letters, digits, '.', '_' or '-', starting with a "
                            "letter or digit");
    }
    if (top.Has("description")) {
      ASSIGN_OR_RETURN(policy.description,
                       Text("", "description", top.Get("description"), kMaxDescriptionBytes));
    }

    const YAML::Node& rules = top.Get("rules");
    if (!rules.IsSequence()) {
      return errors_.At(rules.Mark(), "", "'rules' must be a list, not " + errors_.Describe(rules));
    }
    if (rules.size() == 0) return errors_.At(rules.Mark(), "", "'rules' must not be empty");
    if (rules.size() > kMaxRules) {
      return errors_.At(rules.Mark(), "",
                        "too many rules (the limit is " + std::to_string(kMaxRules) + ")");
    }
    std::map<std::string, YAML::Mark> names;
    for (size_t i = 0; i < rules.size(); ++i) {
      ASSIGN_OR_RETURN(Rule rule, ParseRule(rules[i], i, &names));
      policy.rules.push_back(std::move(rule));
    }

    if (top.Has("approvals") && !top.Get("approvals").IsNull()) {
      const YAML::Node& list = top.Get("approvals");
      if (!list.IsSequence()) {
        return errors_.At(list.Mark(), "",
                          "'approvals' must be a list, not " + errors_.Describe(list));
      }
      if (list.size() > kMaxApprovalEntries) {
        return errors_.At(list.Mark(), "",
                          "too many approval requirements (the limit is " +
                              std::to_string(kMaxApprovalEntries) + ")");
      }
      for (size_t i = 0; i < list.size(); ++i) {
        ASSIGN_OR_RETURN(ApprovalRequirement req, ParseApproval(list[i], i, policy.approvals));
        policy.approvals.push_back(std::move(req));
      }
    }
    return policy;
  }

 private:
  // A string shown to people: printable, bounded, trimmed.
  StatusOr<std::string> Text(const std::string& context, const std::string& key,
                             const YAML::Node& node, size_t max_bytes) const {
    ASSIGN_OR_RETURN(std::string value, yaml::GetString(errors_, context, key, node));
    if (!IsPrintable(value)) {
      return errors_.At(node.Mark(), context, "'" + key + "' holds control characters");
    }
    if (value.size() > max_bytes) {
      return errors_.At(
          node.Mark(), context,
          "'" + key + "' is too long (the limit is " + std::to_string(max_bytes) + " bytes)");
    }
    return Trim(value);
  }

  // Gate names, returned in kGates order.
  StatusOr<std::vector<std::string>> Gates(const std::string& context,
                                           const YAML::Node& node) const {
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     yaml::GetStringList(errors_, context, "gates", node));
    if (names.empty()) {
      return errors_.At(
          node.Mark(), context,
          "'gates' must name at least one gate (" + yaml::JoinNames(GateNames()) + ")");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      const YAML::Mark mark = node[i].Mark();
      if (!IsGate(names[i])) {
        return errors_.At(
            mark, context,
            "unknown gate " + errors_.Quote(names[i]) + yaml::Hint(names[i], GateNames(), "gates"));
      }
      if (!seen.insert(names[i]).second) {
        return errors_.At(mark, context, "gate '" + names[i] + "' is listed twice");
      }
    }
    std::vector<std::string> ordered;
    for (std::string_view gate : kGates) {
      if (seen.count(std::string(gate)) > 0) ordered.emplace_back(gate);
    }
    return ordered;
  }

  StatusOr<int> Int(const std::string& context, const std::string& key, const YAML::Node& node,
                    int lo, int hi) const {
    const Json value = node.IsScalar() ? yaml::PlainScalarToJson(node) : Json();
    // Quoted scalars read as strings, so "1" is refused like any other non-number.
    if (!value.is_number_integer() || node.Tag() == "!" || value.get<int64_t>() < lo ||
        value.get<int64_t>() > hi) {
      return errors_.At(node.Mark(), context,
                        "'" + key + "' must be an integer from " + std::to_string(lo) + " to " +
                            std::to_string(hi) + ", not " + errors_.Describe(node));
    }
    return static_cast<int>(value.get<int64_t>());
  }

  // Risk tiers, returned ascending.
  StatusOr<std::vector<int>> Tiers(const std::string& context, const YAML::Node& node) const {
    std::vector<int> tiers;
    if (node.IsNull()) return tiers;
    if (!node.IsSequence()) {
      return errors_.At(
          node.Mark(), context,
          "'tiers' must be a list of risk tiers (write [1, 2]), not " + errors_.Describe(node));
    }
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(int tier, Int(context, "tiers item", item, 1, kMaxRiskTier));
      if (std::find(tiers.begin(), tiers.end(), tier) != tiers.end()) {
        return errors_.At(item.Mark(), context,
                          "tier " + std::to_string(tier) + " is listed twice");
      }
      tiers.push_back(tier);
    }
    std::sort(tiers.begin(), tiers.end());
    return tiers;
  }

  StatusOr<Rule> ParseRule(const YAML::Node& node, size_t index,
                           std::map<std::string, YAML::Mark>* names) const {
    const std::string context = RuleContext(index, node);
    ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors_, context, "a rule", node, kRuleKeys,
                                                 {"name", "gates", "expr", "message"}));
    Rule rule;
    ASSIGN_OR_RETURN(rule.name, yaml::GetString(errors_, context, "name", fields.Get("name")));
    if (!yaml::IsIdentifier(rule.name)) {
      return errors_.At(fields.Get("name").Mark(), context,
                        "rule name " + errors_.Quote(rule.name) +
                            " must be an identifier (letters, digits and '_', not starting with a "
                            "digit, at most 64 characters)");
    }
    if (auto [it, inserted] = names->emplace(rule.name, fields.Get("name").Mark()); !inserted) {
      return errors_.At(fields.Get("name").Mark(), context,
                        "rule '" + rule.name + "' is defined twice (first at " +
                            yaml::Position(it->second) + ")");
    }
    ASSIGN_OR_RETURN(rule.gates, Gates(context, fields.Get("gates")));
    ASSIGN_OR_RETURN(rule.message,
                     Text(context, "message", fields.Get("message"), kMaxMessageBytes));
    if (rule.message.empty()) {
      return errors_.At(fields.Get("message").Mark(), context, "'message' must not be empty");
    }
    if (fields.Has("severity")) {
      const YAML::Node& severity = fields.Get("severity");
      ASSIGN_OR_RETURN(std::string value, yaml::GetString(errors_, context, "severity", severity));
      if (value != "blocking" && value != "warning") {
        return errors_.At(
            severity.Mark(), context,
            "severity must be 'blocking' or 'warning', not " + errors_.Describe(severity));
      }
      rule.blocking = value == "blocking";
    }
    if (fields.Has("tiers")) {
      ASSIGN_OR_RETURN(rule.tiers, Tiers(context, fields.Get("tiers")));
    }

    const YAML::Node& expr_node = fields.Get("expr");
    ASSIGN_OR_RETURN(std::string expr, yaml::GetString(errors_, context, "expr", expr_node));
    // Block scalars end with a newline; the stored text is the expression itself, so the digest
    // does not depend on how it was quoted.
    rule.expr = Trim(expr);
    if (rule.expr.empty()) return errors_.At(expr_node.Mark(), context, "'expr' must not be empty");
    if (!IsPrintable(rule.expr)) {
      return errors_.At(expr_node.Mark(), context, "'expr' holds control characters");
    }
    // The file position says where the expression is, the expression's own "LINE:COL" and caret
    // where in it the error is.
    if (Status status = internal::CheckRuleExpr(rule.expr); !status.ok()) {
      return errors_.At(expr_node.Mark(), context, "expr: " + std::string(status.message()));
    }
    return rule;
  }

  StatusOr<ApprovalRequirement> ParseApproval(
      const YAML::Node& node, size_t index, const std::vector<ApprovalRequirement>& earlier) const {
    const std::string context = "approvals[" + std::to_string(index) + "]";
    ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors_, context, "an approval requirement", node,
                                                 kApprovalKeys, {"gate"}));
    ApprovalRequirement req;
    const YAML::Node& gate = fields.Get("gate");
    ASSIGN_OR_RETURN(req.gate, yaml::GetString(errors_, context, "gate", gate));
    if (!IsGate(req.gate)) {
      return errors_.At(
          gate.Mark(), context,
          "unknown gate " + errors_.Quote(req.gate) + yaml::Hint(req.gate, GateNames(), "gates"));
    }
    if (fields.Has("tiers")) {
      ASSIGN_OR_RETURN(req.tiers, Tiers(context, fields.Get("tiers")));
    }
    if (fields.Has("approvals")) {
      ASSIGN_OR_RETURN(req.approvals,
                       Int(context, "approvals", fields.Get("approvals"), 0, kMaxApprovalCount));
    }
    if (fields.Has("validators")) {
      ASSIGN_OR_RETURN(req.validators,
                       Int(context, "validators", fields.Get("validators"), 0, kMaxApprovalCount));
    }
    if (fields.Has("approvers")) {
      ASSIGN_OR_RETURN(req.approvers,
                       Int(context, "approvers", fields.Get("approvers"), 0, kMaxApprovalCount));
    }
    if (!fields.Has("approvals") && !fields.Has("validators") && !fields.Has("approvers")) {
      return errors_.At(node.Mark(), context,
                        "an approval requirement needs 'approvals', 'validators' or 'approvers' "
                        "(write 0 to require none)");
    }
    // Two requirements of one policy for the same gate and tier would leave the reader guessing
    // which one counts; across policies the strictest does, by design.
    for (const ApprovalRequirement& other : earlier) {
      if (other.gate != req.gate) continue;
      const bool overlap =
          other.tiers.empty() || req.tiers.empty() ||
          std::any_of(req.tiers.begin(), req.tiers.end(), [&](int t) {
            return std::find(other.tiers.begin(), other.tiers.end(), t) != other.tiers.end();
          });
      if (overlap) {
        return errors_.At(node.Mark(), context,
                          "a requirement for gate '" + req.gate +
                              "' already covers some of these tiers (give each tier of a gate one "
                              "requirement)");
      }
    }
    return req;
  }

  Errors errors_;
};

}  // namespace

bool IsGate(std::string_view name) {
  return std::find(kGates.begin(), kGates.end(), name) != kGates.end();
}

bool IsPolicyName(std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 64 || !alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

StatusOr<Policy> ParsePolicy(std::string_view yaml_text, std::string_view file_name) {
  return Parser(std::string(file_name)).Parse(yaml_text);
}

StatusOr<Policy> PolicyFromJson(const Json& json) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError("stored policy: must be a JSON object, not " +
                                      std::string(json.type_name()));
  }
  // JSON is YAML, and ToJson uses the file's keys: reading the stored text back through the file
  // reader applies every check of a file to what the platform stored, with no second reader to
  // drift from the first.
  return ParsePolicy(DumpJson(json), "stored policy");
}

}  // namespace plinth::policy
