// The search space of a tuning (docs/tuning.md, "Search space"): which trial parameters vary and
// over what.
//
//   parameters:
//     max_depth: {type: int, min: 2, max: 8}                    # whole numbers, both ends included
//     learning_rate: {type: log_uniform, min: 0.01, max: 0.3}   # uniform in log(x), 0 < min
//     subsample: {type: float, min: 0.5, max: 1.0}              # uniform in x
//     tree_method: {type: categorical, values: [hist, approx]}  # strings, numbers or bools
//
// Parameter names are identifiers. Parameters are kept sorted by name, whatever the file's order,
// so the canonical JSON, its digest and the trials a seed gives do not depend on how the file is
// laid out. Errors are InvalidArgument "file:line:col: parameters.NAME: message", with "did you
// mean" for unknown keys and types.
#ifndef PLINTH_TUNE_SEARCH_SPACE_H_
#define PLINTH_TUNE_SEARCH_SPACE_H_

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::tune {

enum class ParamType { kInt, kFloat, kLogUniform, kCategorical };

// "int", "float", "log_uniform", "categorical".
std::string ParamTypeName(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kFloat;
  // kInt, kFloat, kLogUniform: min < max (kInt: whole numbers of magnitude below 2^53;
  // kLogUniform: min > 0).
  double min = 0;
  double max = 0;
  // kCategorical: distinct strings, numbers or bools, in the file's order.
  std::vector<Json> values;
  // Where it was written ("space.yaml:3:3"), for messages; "" when built in code.
  std::string location;

  bool numeric() const { return type != ParamType::kCategorical; }
  // Whether `value` is a value of this parameter (in range, of the type; a member of values).
  bool Contains(const Json& value) const;
  // {"type": ..., "min": ..., "max": ...} or {"type": "categorical", "values": [...]}.
  Json ToJson() const;
};

struct SearchSpace {
  std::vector<ParamSpec> parameters;  // sorted by name

  const ParamSpec* Find(const std::string& name) const;
  std::vector<std::string> Names() const;
  // {"parameters": {NAME: ParamSpec::ToJson(), ...}}: the canonical form.
  Json ToJson() const;
  // "sha256:<hex>" of ToJson's canonical JSON.
  std::string Digest() const;
};

// A document {parameters: {...}}: YAML text, a file, a node already parsed (`file_name` names its
// file in messages), or JSON (messages start with `context`). At least one parameter, at most 100.
StatusOr<SearchSpace> ParseSearchSpace(std::string_view yaml, const std::string& file_name);
StatusOr<SearchSpace> LoadSearchSpace(const std::string& path);
StatusOr<SearchSpace> SearchSpaceFromYaml(const YAML::Node& node, const std::string& file_name);
StatusOr<SearchSpace> SearchSpaceFromJson(const Json& json, const std::string& context);

// Checks a space built in code (every rule the parser applies); messages name the parameter.
Status ValidateSearchSpace(const SearchSpace& space);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_SEARCH_SPACE_H_
