#include "tune/guardrails.h"

#include <algorithm>
#include <cmath>

#include "core/files.h"
#include "core/sha256.h"
#include "pipeline/yaml_util.h"
#include "tune/internal_readers.h"
#include "tune/spec_reader.h"

namespace plinth::tune {
namespace {

namespace py = ::plinth::pipeline::internal;
using internal::Path;
using internal::Source;

std::string Number(double value) { return internal::FormatNumber(value); }

// "the guardrail max.max_depth = 6 (set at g.yaml:3:8)".
std::string Rule(const Guardrails& g, const std::string& kind, const std::string& name,
                 const std::string& value) {
  std::string out = "the guardrail " + kind + "." + name + " = " + value;
  auto it = g.locations.find(kind + "." + name);
  if (it != g.locations.end() && !it->second.empty()) out += " (set at " + it->second + ")";
  return out;
}

Status SpaceError(const ParamSpec& p, const std::string& message) {
  return absl::InvalidArgumentError(
      (p.location.empty() ? std::string("search space") : p.location) + ": parameters." + p.name +
      ": " + message);
}

// Reads {NAME: number} bounds.
Status ReadBounds(const Source& source, const Path& path, const std::string& kind,
                  Guardrails* out) {
  const Json* node = source.Find(path);
  if (node == nullptr || node->is_null()) return absl::OkStatus();
  if (!node->is_object()) {
    return source.Error(path,
                        "must be a mapping of parameter names to numbers, such as "
                        "{max_depth: 6}, not " +
                            internal::Show(*node));
  }
  std::map<std::string, double>& bounds = kind == "max" ? out->max : out->min;
  for (const std::string& name : source.Keys(path)) {
    if (!py::IsIdentifier(name)) {
      return source.Error(path / name, "not a parameter name: " + py::Quote(name), true);
    }
    ASSIGN_OR_RETURN(const double value, source.Number(path / name));
    bounds[name] = value;
    out->locations[kind + "." + name] = source.Where(path / name);
  }
  return absl::OkStatus();
}

}  // namespace

bool Guardrails::empty() const {
  return fixed.empty() && max.empty() && min.empty() && excluded_features.empty();
}

Json Guardrails::ToJson() const {
  Json out = Json::object();
  out["fixed"] = fixed.is_object() ? fixed : Json::object();
  out["max"] = Json::object();
  for (const auto& [name, v] : max) out["max"][name] = v;
  out["min"] = Json::object();
  for (const auto& [name, v] : min) out["min"][name] = v;
  out["excluded_features"] = excluded_features;
  return out;
}

std::string Guardrails::Digest() const {
  StatusOr<std::string> canonical = CanonicalJson(ToJson());
  return Sha256Digest(canonical.ok() ? *canonical : DumpJson(ToJson()));
}

namespace internal {

StatusOr<Guardrails> ReadGuardrails(const Source& source, const Path& path) {
  RETURN_IF_ERROR(
      source.CheckObject(path, "guardrails", {"fixed", "max", "min", "excluded_features"}, {}));
  Guardrails g;
  const Json* root = source.Find(path);
  if (root == nullptr || root->is_null()) return g;

  const Path fixed = path / "fixed";
  if (const Json* node = source.Find(fixed); node != nullptr && !node->is_null()) {
    if (!node->is_object()) {
      return source.Error(
          fixed, "must be a mapping of parameter names to values, not " + internal::Show(*node));
    }
    for (const std::string& name : source.Keys(fixed)) {
      if (!py::IsIdentifier(name)) {
        return source.Error(fixed / name, "not a parameter name: " + py::Quote(name), true);
      }
      if (name == kExcludedFeaturesKey) {
        return source.Error(fixed / name,
                            "write excluded features under the top-level key "
                            "'excluded_features', not under 'fixed'",
                            true);
      }
      const Json& value = (*node)[name];
      if (value.is_null()) return source.Error(fixed / name, "a fixed value cannot be empty");
      g.fixed[name] = value;
      g.locations["fixed." + name] = source.Where(fixed / name);
    }
  }
  RETURN_IF_ERROR(ReadBounds(source, path / "max", "max", &g));
  RETURN_IF_ERROR(ReadBounds(source, path / "min", "min", &g));
  for (const auto& [name, lo] : g.min) {
    auto hi = g.max.find(name);
    if (hi != g.max.end() && lo > hi->second) {
      return source.Error(path / "min" / name, "min." + name + " (" + Number(lo) +
                                                   ") is above max." + name + " (" +
                                                   Number(hi->second) + ")");
    }
  }
  for (auto it = g.fixed.begin(); it != g.fixed.end(); ++it) {
    const std::string& name = it.key();
    const bool bounded = g.max.count(name) > 0 || g.min.count(name) > 0;
    if (!bounded) continue;
    const Json& v = it.value();
    const bool numeric = v.is_number();
    const double d = numeric ? v.get<double>() : 0;
    if (!numeric || (g.max.count(name) && d > g.max.at(name)) ||
        (g.min.count(name) && d < g.min.at(name))) {
      return source.Error(fixed / name, "the fixed value " + internal::Show(v) +
                                            " is outside its own guardrail bounds");
    }
  }

  const Path excluded = path / "excluded_features";
  if (const Json* node = source.Find(excluded); node != nullptr && !node->is_null()) {
    if (!node->is_array()) {
      return source.Error(
          excluded, "must be a list of feature names (write [a, b]), not " + internal::Show(*node));
    }
    for (size_t i = 0; i < node->size(); ++i) {
      ASSIGN_OR_RETURN(std::string name, source.String(excluded / i));
      if (name.empty()) return source.Error(excluded / i, "a feature name cannot be empty");
      if (std::find(g.excluded_features.begin(), g.excluded_features.end(), name) !=
          g.excluded_features.end()) {
        return source.Error(excluded / i, "the feature " + py::Quote(name) + " is listed twice");
      }
      g.excluded_features.push_back(std::move(name));
    }
    g.locations[kExcludedFeaturesKey] = source.Where(excluded);
  }
  // A monotone constraint on a feature the model may not see is a contradiction in the rules.
  if (g.fixed.contains("monotone_constraints") && g.fixed["monotone_constraints"].is_object()) {
    for (const std::string& feature : g.excluded_features) {
      if (g.fixed["monotone_constraints"].contains(feature)) {
        return source.Error(
            fixed / "monotone_constraints",
            "constrains the feature " + py::Quote(feature) + ", which excluded_features excludes");
      }
    }
  }
  return g;
}

}  // namespace internal

StatusOr<Guardrails> ParseGuardrails(std::string_view yaml, const std::string& file_name) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYamlText(yaml, file_name));
  return internal::ReadGuardrails(source, Path());
}

StatusOr<Guardrails> LoadGuardrails(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  return ParseGuardrails(text, path);
}

StatusOr<Guardrails> GuardrailsFromYaml(const YAML::Node& node, const std::string& file_name) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYaml(node, file_name));
  return internal::ReadGuardrails(source, Path());
}

StatusOr<Guardrails> GuardrailsFromJson(const Json& json, const std::string& context) {
  return internal::ReadGuardrails(Source::FromJson(json, context), Path());
}

Status CheckSpace(const Guardrails& g, const SearchSpace& space) {
  for (const ParamSpec& p : space.parameters) {
    if (p.name == internal::kExcludedFeaturesKey) {
      return SpaceError(p, "'excluded_features' is set by the guardrails only and cannot be tuned");
    }
    if (g.fixed.is_object() && g.fixed.contains(p.name)) {
      return SpaceError(p, "refused by " +
                               Rule(g, "fixed", p.name, internal::Show(g.fixed[p.name])) +
                               ": a fixed parameter cannot be tuned; remove it from the space");
    }
    auto hi = g.max.find(p.name);
    auto lo = g.min.find(p.name);
    if (p.type == ParamType::kCategorical) {
      for (const Json& v : p.values) {
        const bool numeric = v.is_number();
        const double d = numeric ? v.get<double>() : 0;
        if (hi != g.max.end() && (!numeric || d > hi->second)) {
          return SpaceError(p, "the value " + internal::Show(v) + " is refused by " +
                                   Rule(g, "max", p.name, Number(hi->second)));
        }
        if (lo != g.min.end() && (!numeric || d < lo->second)) {
          return SpaceError(p, "the value " + internal::Show(v) + " is refused by " +
                                   Rule(g, "min", p.name, Number(lo->second)));
        }
      }
      continue;
    }
    if (hi != g.max.end() && p.max > hi->second) {
      return SpaceError(p, "the range goes up to " + Number(p.max) + ", beyond " +
                               Rule(g, "max", p.name, Number(hi->second)) +
                               "; lower max to at most " + Number(hi->second));
    }
    if (lo != g.min.end() && p.min < lo->second) {
      return SpaceError(p, "the range goes down to " + Number(p.min) + ", below " +
                               Rule(g, "min", p.name, Number(lo->second)) +
                               "; raise min to at least " + Number(lo->second));
    }
  }
  return absl::OkStatus();
}

StatusOr<Json> ApplyGuardrails(const Guardrails& g, const Json& sampled) {
  if (!sampled.is_object()) {
    return absl::InvalidArgumentError("trial parameters must be an object");
  }
  Json out = sampled;
  if (g.fixed.is_object()) {
    for (auto it = g.fixed.begin(); it != g.fixed.end(); ++it) {
      if (out.contains(it.key())) {
        return absl::InvalidArgumentError("the trial parameter '" + it.key() +
                                          "' is fixed by the guardrails and cannot be set");
      }
      out[it.key()] = it.value();
    }
  }
  if (!g.excluded_features.empty()) {
    if (out.contains(internal::kExcludedFeaturesKey)) {
      return absl::InvalidArgumentError(
          "the trial parameter 'excluded_features' is set by the guardrails only");
    }
    out[internal::kExcludedFeaturesKey] = g.excluded_features;
  }
  return out;
}

Status CheckTrialParams(const Guardrails& g, const Json& params) {
  const auto breach = [](const std::string& rule, const std::string& what) {
    return absl::FailedPreconditionError("the trial's parameters break " + rule + ": " + what);
  };
  if (!params.is_object()) return breach("the guardrails", "the parameters are not an object");
  if (g.fixed.is_object()) {
    for (auto it = g.fixed.begin(); it != g.fixed.end(); ++it) {
      const std::string rule = Rule(g, "fixed", it.key(), internal::Show(it.value()));
      if (!params.contains(it.key())) return breach(rule, "it is missing");
      if (params[it.key()] != it.value()) {
        return breach(rule, "it is " + internal::Show(params[it.key()]));
      }
    }
  }
  for (const auto& [kind, bounds] :
       {std::pair<std::string, const std::map<std::string, double>*>{"max", &g.max},
        {"min", &g.min}}) {
    for (const auto& [name, bound] : *bounds) {
      if (!params.contains(name)) continue;
      const Json& v = params[name];
      const std::string rule = Rule(g, kind, name, Number(bound));
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        return breach(rule, name + " is " + internal::Show(v) + ", not a number");
      }
      const double d = v.get<double>();
      if (kind == "max" ? d > bound : d < bound) {
        return breach(rule, name + " is " + internal::Show(v));
      }
    }
  }
  const Json expected = g.excluded_features;
  const bool has = params.contains(internal::kExcludedFeaturesKey);
  if (!g.excluded_features.empty() || has) {
    if (!has || params[internal::kExcludedFeaturesKey] != expected) {
      return breach("the guardrail excluded_features = " + DumpJson(expected),
                    has ? "the trial has " + DumpJson(params[internal::kExcludedFeaturesKey])
                        : "it is missing");
    }
  }
  return absl::OkStatus();
}

}  // namespace plinth::tune
