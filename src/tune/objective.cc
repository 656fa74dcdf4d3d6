#include "tune/objective.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "pipeline/yaml_util.h"
#include "tune/internal_readers.h"
#include "tune/spec_reader.h"

namespace plinth::tune {
namespace {

namespace py = ::plinth::pipeline::internal;
using internal::Path;
using internal::Source;

constexpr size_t kMaxConstraints = 32;

// The offset of the only comparison operator outside parentheses, brackets and quotes, with its
// length, or nullopt when there is none or more than one.
std::optional<std::pair<size_t, size_t>> TopLevelComparison(std::string_view text) {
  std::optional<std::pair<size_t, size_t>> found;
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (depth == 0 && (c == '<' || c == '>' || c == '=' || c == '!')) {
      const bool two = i + 1 < text.size() && text[i + 1] == '=';
      if ((c == '=' || c == '!') && !two) continue;  // not a comparison ("!x")
      if (found) return std::nullopt;
      found = std::make_pair(i, two ? size_t{2} : size_t{1});
      if (two) ++i;
    } else if (depth == 0 && (c == '&' || c == '|' || c == '?')) {
      return std::nullopt;  // a compound expression: no single value to report
    }
  }
  return found;
}

std::string Indent(const std::string& message) {
  // The expression module's message is "L:C: text\n  source\n  ^"; keep it readable after a
  // prefix by indenting continuation lines.
  std::string out;
  for (char c : message) {
    out.push_back(c);
    if (c == '\n') out += "    ";
  }
  return out;
}

StatusOr<Constraint> CompileConstraint(const std::string& text, const expr::Environment& env) {
  Constraint c;
  c.source = text;
  StatusOr<expr::Program> program = expr::Compile(text, env);
  if (!program.ok()) return program.status();
  if (program->result_type().kind() != expr::TypeKind::kBool) {
    return absl::InvalidArgumentError("a constraint must be true or false, but this is " +
                                      program->result_type().ToString() +
                                      " (write a comparison such as 'test_ks >= 0.2')");
  }
  c.metrics = program->variables();
  c.program = std::move(*program);
  if (auto cmp = TopLevelComparison(text)) {
    const std::string op = text.substr(cmp->first, cmp->second);
    if (op != "==" && op != "!=") {
      StatusOr<expr::Program> lhs = expr::Compile(text.substr(0, cmp->first), env);
      StatusOr<expr::Program> rhs = expr::Compile(text.substr(cmp->first + cmp->second), env);
      if (lhs.ok() && rhs.ok() && lhs->result_type().is_numeric() &&
          rhs->result_type().is_numeric()) {
        c.lhs = std::move(*lhs);
        c.rhs = std::move(*rhs);
        c.op = op;
      }
    }
  }
  return c;
}

expr::Environment MetricEnvironment(const std::vector<std::string>& metric_names) {
  expr::Environment env;
  // Names the expression language cannot declare (not identifiers, reserved words) are left
  // out: such a metric can still be the objective, just not appear in a constraint.
  for (const std::string& name : metric_names)
    env.Declare(name, expr::Type::Double()).IgnoreError();
  return env;
}

std::optional<double> NumberOf(const StatusOr<expr::Value>& v) {
  if (!v.ok()) return std::nullopt;
  if (v->kind() == expr::Value::Kind::kDouble) return v->double_value();
  if (v->kind() == expr::Value::Kind::kInt) return static_cast<double>(v->int_value());
  return std::nullopt;
}

}  // namespace

std::string DirectionName(Direction direction) {
  return direction == Direction::kMaximize ? "maximize" : "minimize";
}

Json ConstraintCheck::ToJson() const {
  Json out = Json::object();
  out["constraint"] = constraint;
  out["satisfied"] = satisfied;
  if (value) out["value"] = *value;
  if (limit) out["limit"] = *limit;
  out["metrics"] = Json::object();
  for (const auto& [name, v] : metrics) out["metrics"][name] = v;
  if (!error.empty()) out["error"] = error;
  return out;
}

Json Objective::ToJson() const {
  Json out = Json::object();
  out["metric"] = metric;
  out["direction"] = DirectionName(direction);
  out["constraints"] = Json::array();
  for (const Constraint& c : constraints) out["constraints"].push_back(c.source);
  return out;
}

std::vector<std::string> Objective::RequiredMetrics() const {
  std::set<std::string> names = {metric};
  for (const Constraint& c : constraints) names.insert(c.metrics.begin(), c.metrics.end());
  return {names.begin(), names.end()};
}

StatusOr<Objective> MakeObjective(const std::string& metric, Direction direction,
                                  const std::vector<std::string>& constraints,
                                  const std::vector<std::string>& metric_names) {
  Json json = Json::object();
  json["metric"] = metric;
  json["direction"] = DirectionName(direction);
  json["constraints"] = constraints;
  return ObjectiveFromJson(json, "objective", metric_names);
}

namespace internal {

StatusOr<Objective> ReadObjective(const Source& source, const Path& path,
                                  const std::vector<std::string>& metric_names) {
  RETURN_IF_ERROR(source.CheckObject(path, "the objective", {"metric", "direction", "constraints"},
                                     {"metric", "direction"}));
  if (metric_names.empty()) {
    return source.Error(path,
                        "the trial evaluator declares no metrics, so no objective can be "
                        "checked against them");
  }
  Objective objective;
  ASSIGN_OR_RETURN(objective.metric, source.String(path / "metric"));
  if (std::find(metric_names.begin(), metric_names.end(), objective.metric) == metric_names.end()) {
    return source.Error(path / "metric", "unknown metric " + py::Quote(objective.metric) +
                                             py::Hint(objective.metric, metric_names, "metrics"));
  }
  ASSIGN_OR_RETURN(const std::string direction, source.String(path / "direction"));
  if (direction == "maximize") {
    objective.direction = Direction::kMaximize;
  } else if (direction == "minimize") {
    objective.direction = Direction::kMinimize;
  } else {
    return source.Error(path / "direction",
                        "must be maximize or minimize, not " + py::Quote(direction) +
                            py::Hint(direction, {"maximize", "minimize"}, "directions"));
  }
  const Path list = path / "constraints";
  const Json* node = source.Find(list);
  if (node != nullptr && !node->is_null()) {
    if (!node->is_array()) {
      return source.Error(list, "must be a list of expressions (write [\"a <= 1\", ...]), not " +
                                    internal::Show(*node));
    }
    if (node->size() > kMaxConstraints) {
      return source.Error(
          list, "at most " + std::to_string(kMaxConstraints) + " constraints are allowed");
    }
    const expr::Environment env = MetricEnvironment(metric_names);
    for (size_t i = 0; i < node->size(); ++i) {
      ASSIGN_OR_RETURN(const std::string text, source.String(list / i));
      StatusOr<Constraint> c = CompileConstraint(text, env);
      if (!c.ok()) {
        return source.Error(list / i, "constraint " + py::Quote(text) + ": " +
                                          Indent(std::string(c.status().message())));
      }
      objective.constraints.push_back(std::move(*c));
    }
  }
  return objective;
}

}  // namespace internal

StatusOr<Objective> ParseObjective(std::string_view yaml, const std::string& file_name,
                                   const std::vector<std::string>& metric_names) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYamlText(yaml, file_name));
  return internal::ReadObjective(source, Path(), metric_names);
}

StatusOr<Objective> ObjectiveFromYaml(const YAML::Node& node, const std::string& file_name,
                                      const std::vector<std::string>& metric_names) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYaml(node, file_name));
  return internal::ReadObjective(source, Path(), metric_names);
}

StatusOr<Objective> ObjectiveFromJson(const Json& json, const std::string& context,
                                      const std::vector<std::string>& metric_names) {
  return internal::ReadObjective(Source::FromJson(json, context), Path(), metric_names);
}

Status CheckMetrics(const Objective& objective, const std::map<std::string, double>& metrics) {
  for (const std::string& name : objective.RequiredMetrics()) {
    auto it = metrics.find(name);
    if (it == metrics.end()) {
      std::vector<std::string> reported;
      for (const auto& [n, v] : metrics) reported.push_back(n);
      return absl::InvalidArgumentError("the trial did not report the metric '" + name + "'" +
                                        (reported.empty()
                                             ? std::string(" (it reported none)")
                                             : " (it reported " + py::JoinNames(reported) + ")"));
    }
    if (!std::isfinite(it->second)) {
      return absl::InvalidArgumentError("the trial reported the metric '" + name +
                                        "' as a non-finite number");
    }
  }
  return absl::OkStatus();
}

std::vector<ConstraintCheck> CheckConstraints(const Objective& objective,
                                              const std::map<std::string, double>& metrics) {
  expr::Activation activation;
  for (const auto& [name, value] : metrics) activation.Bind(name, expr::Value::Double(value));
  std::vector<ConstraintCheck> checks;
  for (const Constraint& c : objective.constraints) {
    ConstraintCheck check;
    check.constraint = c.source;
    for (const std::string& name : c.metrics) {
      auto it = metrics.find(name);
      if (it != metrics.end()) check.metrics[name] = it->second;
    }
    StatusOr<expr::Value> verdict = expr::Evaluate(*c.program, activation);
    if (!verdict.ok()) {
      check.error = std::string(verdict.status().message());
    } else if (verdict->kind() != expr::Value::Kind::kBool) {
      check.error = "the constraint gave " + expr::KindName(verdict->kind()) + ", not a bool";
    } else {
      check.satisfied = verdict->bool_value();
    }
    if (c.lhs && c.rhs) {
      check.value = NumberOf(expr::Evaluate(*c.lhs, activation));
      check.limit = NumberOf(expr::Evaluate(*c.rhs, activation));
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace plinth::tune
