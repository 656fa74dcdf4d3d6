#include "tune/search_space.h"

#include <algorithm>
#include <cmath>
#include <set>

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

constexpr size_t kMaxParameters = 100;
constexpr size_t kMaxValues = 1000;
// Whole numbers beyond this are not exact as doubles.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

const std::vector<std::string>& TypeNames() {
  static const std::vector<std::string> names = {"int", "float", "log_uniform", "categorical"};
  return names;
}

std::string Format(double value) { return internal::FormatNumber(value); }

StatusOr<ParamSpec> ReadParam(const Source& source, const Path& path, const std::string& name) {
  const Json* node = source.Find(path);
  if (node == nullptr || !node->is_object()) {
    return source.Error(path,
                        "a parameter must be a mapping such as {type: int, min: 2, max: 8}, not " +
                            (node == nullptr ? std::string("nothing") : internal::Show(*node)));
  }
  if (!node->contains("type")) {
    return source.Error(path, "missing 'type' (one of " + py::JoinNames(TypeNames()) + ")");
  }
  ASSIGN_OR_RETURN(const std::string type, source.String(path / "type"));
  ParamSpec spec;
  spec.name = name;
  spec.location = source.Where(path, /*at_key=*/true);
  if (type == "int") {
    spec.type = ParamType::kInt;
  } else if (type == "float") {
    spec.type = ParamType::kFloat;
  } else if (type == "log_uniform") {
    spec.type = ParamType::kLogUniform;
  } else if (type == "categorical") {
    spec.type = ParamType::kCategorical;
  } else {
    return source.Error(path / "type",
                        "unknown type " + py::Quote(type) + py::Hint(type, TypeNames(), "types") +
                            (type == "uniform" ? " (a uniform float is 'float')" : ""));
  }
  if (spec.type == ParamType::kCategorical) {
    RETURN_IF_ERROR(
        source.CheckObject(path, "a categorical parameter", {"type", "values"}, {"values"}));
    const Json& values = (*node)["values"];
    if (!values.is_array()) {
      return source.Error(path / "values",
                          "must be a list (write [a, b]), not " + internal::Show(values));
    }
    if (values.size() < 2) {
      return source.Error(path / "values",
                          "a categorical parameter needs at least two values (a value that does "
                          "not vary is a fixed setting of the trial, not a parameter)");
    }
    if (values.size() > kMaxValues) {
      return source.Error(path / "values",
                          "at most " + std::to_string(kMaxValues) + " values are allowed");
    }
    for (size_t i = 0; i < values.size(); ++i) {
      const Json& v = values[i];
      const bool number_ok = v.is_number() && std::isfinite(v.get<double>());
      if (!v.is_string() && !v.is_boolean() && !number_ok) {
        return source.Error(
            path / "values" / i,
            "a value must be a string, a number or a bool, not " + internal::Show(v));
      }
      for (const Json& earlier : spec.values) {
        if (earlier == v) {
          return source.Error(path / "values" / i,
                              "the value " + internal::Show(v) + " is listed twice");
        }
      }
      spec.values.push_back(v);
    }
    return spec;
  }
  RETURN_IF_ERROR(
      source.CheckObject(path, "a " + type + " parameter", {"type", "min", "max"}, {"min", "max"}));
  if (spec.type == ParamType::kInt) {
    ASSIGN_OR_RETURN(const int64_t lo, source.Integer(path / "min"));
    ASSIGN_OR_RETURN(const int64_t hi, source.Integer(path / "max"));
    for (const auto& [key, v] : {std::pair<const char*, int64_t>{"min", lo}, {"max", hi}}) {
      if (std::fabs(static_cast<double>(v)) >= kMaxExactInteger) {
        return source.Error(path / key, "must be of magnitude below 2^53");
      }
    }
    spec.min = static_cast<double>(lo);
    spec.max = static_cast<double>(hi);
  } else {
    ASSIGN_OR_RETURN(spec.min, source.Number(path / "min"));
    ASSIGN_OR_RETURN(spec.max, source.Number(path / "max"));
    if (spec.type == ParamType::kLogUniform && spec.min <= 0) {
      return source.Error(path / "min",
                          "a log_uniform parameter needs min > 0, not " + Format(spec.min));
    }
  }
  if (!(spec.min < spec.max)) {
    return source.Error(path / "max", "max (" + Format(spec.max) + ") must be above min (" +
                                          Format(spec.min) + ")");
  }
  return spec;
}

}  // namespace

std::string ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kLogUniform:
      return "log_uniform";
    case ParamType::kCategorical:
      return "categorical";
  }
  return "?";
}

bool ParamSpec::Contains(const Json& value) const {
  if (type == ParamType::kCategorical) {
    return std::find(values.begin(), values.end(), value) != values.end();
  }
  if (!value.is_number()) return false;
  const double v = value.get<double>();
  if (!std::isfinite(v) || v < min || v > max) return false;
  return type != ParamType::kInt || v == std::floor(v);
}

Json ParamSpec::ToJson() const {
  Json out = Json::object();
  out["type"] = ParamTypeName(type);
  if (type == ParamType::kCategorical) {
    out["values"] = values;
  } else if (type == ParamType::kInt && min == std::floor(min) && max == std::floor(max) &&
             std::fabs(min) < kMaxExactInteger && std::fabs(max) < kMaxExactInteger) {
    out["min"] = static_cast<int64_t>(min);
    out["max"] = static_cast<int64_t>(max);
  } else {
    out["min"] = min;
    out["max"] = max;
  }
  return out;
}

const ParamSpec* SearchSpace::Find(const std::string& name) const {
  for (const ParamSpec& p : parameters) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> SearchSpace::Names() const {
  std::vector<std::string> names;
  for (const ParamSpec& p : parameters) names.push_back(p.name);
  return names;
}

Json SearchSpace::ToJson() const {
  Json params = Json::object();
  for (const ParamSpec& p : parameters) params[p.name] = p.ToJson();
  return Json{{"parameters", params}};
}

std::string SearchSpace::Digest() const {
  StatusOr<std::string> canonical = CanonicalJson(ToJson());
  // Every number in a space is finite (validated), so this cannot fail for a valid space.
  return Sha256Digest(canonical.ok() ? *canonical : DumpJson(ToJson()));
}

namespace internal {

StatusOr<SearchSpace> ReadSearchSpace(const Source& source, const Path& path) {
  RETURN_IF_ERROR(source.CheckObject(path, "a search space", {"parameters"}, {"parameters"}));
  const Path params = path / "parameters";
  const Json* node = source.Find(params);
  if (node == nullptr || !node->is_object() || node->empty()) {
    return source.Error(params,
                        "must be a mapping of parameter names to their ranges, such as "
                        "{max_depth: {type: int, min: 2, max: 8}}");
  }
  const std::vector<std::string> names = source.Keys(params);
  if (names.size() > kMaxParameters) {
    return source.Error(params, "at most " + std::to_string(kMaxParameters) +
                                    " parameters are allowed, not " + std::to_string(names.size()));
  }
  SearchSpace space;
  for (const std::string& name : names) {
    if (!py::IsIdentifier(name)) {
      return source.Error(params / name,
                          "parameter names are letters, digits and '_', not starting with a "
                          "digit, at most 64 characters: " +
                              py::Quote(name),
                          /*at_key=*/true);
    }
    if (name == kExcludedFeaturesKey) {
      return source.Error(params / name,
                          "'excluded_features' is reserved: it is set by the guardrails only",
                          /*at_key=*/true);
    }
    ASSIGN_OR_RETURN(ParamSpec spec, ReadParam(source, params / name, name));
    space.parameters.push_back(std::move(spec));
  }
  std::sort(space.parameters.begin(), space.parameters.end(),
            [](const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; });
  return space;
}

}  // namespace internal

StatusOr<SearchSpace> ParseSearchSpace(std::string_view yaml, const std::string& file_name) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYamlText(yaml, file_name));
  return internal::ReadSearchSpace(source, Path());
}

StatusOr<SearchSpace> LoadSearchSpace(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  return ParseSearchSpace(text, path);
}

StatusOr<SearchSpace> SearchSpaceFromYaml(const YAML::Node& node, const std::string& file_name) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYaml(node, file_name));
  return internal::ReadSearchSpace(source, Path());
}

StatusOr<SearchSpace> SearchSpaceFromJson(const Json& json, const std::string& context) {
  const Source source = Source::FromJson(json, context);
  return internal::ReadSearchSpace(source, Path());
}

Status ValidateSearchSpace(const SearchSpace& space) {
  std::set<std::string> seen;
  for (const ParamSpec& p : space.parameters) {
    if (!seen.insert(p.name).second) {
      return absl::InvalidArgumentError("search space: parameter '" + p.name + "' is given twice");
    }
  }
  if (!std::is_sorted(space.parameters.begin(), space.parameters.end(),
                      [](const ParamSpec& a, const ParamSpec& b) { return a.name < b.name; })) {
    return absl::InvalidArgumentError("search space: parameters must be sorted by name");
  }
  // Every other rule is the parser's: read the canonical form back.
  return SearchSpaceFromJson(space.ToJson(), "search space").status();
}

}  // namespace plinth::tune
