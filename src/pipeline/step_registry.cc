#include "pipeline/step_registry.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include "pipeline/interpolation.h"
#include "pipeline/yaml_util.h"

namespace plinth::pipeline {

std::string ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kInt:
      return "int";
    case ValueType::kFloat:
      return "float";
    case ValueType::kBool:
      return "bool";
    case ValueType::kList:
      return "list";
    case ValueType::kObject:
      return "object";
    case ValueType::kAny:
      return "any";
  }
  return "any";
}

StatusOr<Json> CoerceValue(const Json& value, ValueType type) {
  auto refuse = [&](const std::string& expected) -> Status {
    return absl::InvalidArgumentError("expected " + expected + ", not " +
                                      (value.is_string() ? internal::Quote(value.get<std::string>())
                                       : value.is_null() ? std::string("nothing")
                                                         : internal::Quote(ValueText(value))));
  };
  switch (type) {
    case ValueType::kAny:
      return value;
    case ValueType::kString:
      if (value.is_string()) return value;
      if (value.is_number() || value.is_boolean()) return Json(ValueText(value));
      return refuse("a string");
    case ValueType::kInt:
      if (value.is_number_integer()) return value;
      return refuse("an int");
    case ValueType::kFloat:
      if (value.is_number_integer()) return Json(value.get<double>());
      if (value.is_number_float() && std::isfinite(value.get<double>())) return value;
      return refuse("a float");
    case ValueType::kBool:
      if (value.is_boolean()) return value;
      return refuse("true or false");
    case ValueType::kList:
      if (value.is_array()) return value;
      return refuse("a list");
    case ValueType::kObject:
      if (value.is_object()) return value;
      return refuse("a mapping");
  }
  return value;
}

std::string StepContext::OutputPath(const std::string& name) const {
  return init_.output_dir + "/" + name;
}

void StepContext::Log(std::string_view text) const {
  if (!init_.log) return;
  while (true) {
    const size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    init_.log(line);
    if (newline == std::string_view::npos || newline + 1 == text.size()) return;
    text.remove_prefix(newline + 1);
  }
}

void StepContext::Progress(double fraction, std::string_view message) const {
  if (!init_.progress) return;
  if (!(fraction >= 0)) fraction = 0;  // also NaN
  if (fraction > 1) fraction = 1;
  init_.progress(fraction, message);
}

bool StepContext::timed_out() const {
  return init_.deadline.has_value() && std::chrono::steady_clock::now() >= *init_.deadline;
}

std::optional<std::chrono::steady_clock::duration> StepContext::remaining() const {
  if (!init_.deadline) return std::nullopt;
  return std::max(std::chrono::steady_clock::duration::zero(),
                  *init_.deadline - std::chrono::steady_clock::now());
}

const WithKey* StepType::FindWith(const std::string& key) const {
  for (const WithKey& w : with) {
    if (w.name == key) return &w;
  }
  return nullptr;
}

std::vector<std::string> StepType::OutputNames() const {
  std::vector<std::string> names;
  for (const OutputDecl& o : outputs) names.push_back(o.name);
  return names;
}

Status StepRegistry::Register(StepType type) {
  const std::string what = "step type " + internal::Quote(type.name);
  if (!internal::IsStepName(type.name)) {
    return absl::InvalidArgumentError(what +
                                      ": not a step type name (letters, digits, '_' and '-', "
                                      "starting with a letter)");
  }
  if (type.name == "run") {
    return absl::InvalidArgumentError(what + ": the name is reserved for command steps");
  }
  if (!type.run) return absl::InvalidArgumentError(what + ": has no run function");
  if (type.version.empty()) return absl::InvalidArgumentError(what + ": has no version");
  std::set<std::string> seen;
  for (const WithKey& key : type.with) {
    if (!internal::IsIdentifier(key.name) || !seen.insert(key.name).second) {
      return absl::InvalidArgumentError(what + ": bad or repeated with key " +
                                        internal::Quote(key.name));
    }
    if (!key.default_value.is_null()) {
      StatusOr<Json> coerced = CoerceValue(key.default_value, key.type);
      if (!coerced.ok()) {
        return absl::InvalidArgumentError(what + ": default of '" + key.name +
                                          "': " + std::string(coerced.status().message()));
      }
    }
  }
  seen.clear();
  for (const OutputDecl& output : type.outputs) {
    if (!internal::IsIdentifier(output.name) || !seen.insert(output.name).second) {
      return absl::InvalidArgumentError(what + ": bad or repeated output " +
                                        internal::Quote(output.name));
    }
  }
  const std::string name = type.name;
  if (!types_.emplace(name, std::move(type)).second) {
    return absl::AlreadyExistsError("step type '" + name + "' is already registered");
  }
  return absl::OkStatus();
}

const StepType* StepRegistry::Find(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> StepRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, type] : types_) names.push_back(name);
  return names;
}

}  // namespace plinth::pipeline
