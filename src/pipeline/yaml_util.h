// Internal to the pipeline module (and the tune module, which reads its specs alike): the YAML
// helpers of pipeline specs and the environments file. The general ones are the shared YAML
// library's (yaml/yaml_util.h), named here as they always were; the rest are the pipeline's own
// rules (step and resource names, timeouts) and its loader, which adds a hint about quoting
// references to syntax errors.
#ifndef PLINTH_PIPELINE_YAML_UTIL_H_
#define PLINTH_PIPELINE_YAML_UTIL_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"
#include "yaml/yaml_util.h"

namespace plinth::pipeline::internal {

using yaml::kMaxNameLength;

using yaml::Describe;
using yaml::EditDistance;
using yaml::Errors;
using yaml::Fields;
using yaml::GetBool;
using yaml::GetString;
using yaml::GetStringList;
using yaml::Hint;
using yaml::IsIdentifier;
using yaml::IsValidUtf8;
using yaml::JoinNames;
using yaml::NodeToJson;
using yaml::PlainScalarToJson;
using yaml::Position;
using yaml::Quote;
using yaml::Suggest;

// A step name: letters, digits, '_' and '-', starting with a letter, at most 64 characters.
bool IsStepName(std::string_view name);
// A pipeline or environment name: letters, digits, '.', '_' and '-', starting with a letter or
// digit, at most 64 characters.
bool IsResourceName(std::string_view name);

// "0" or a whole number followed by ms, s, m, h or d, in microseconds; nullopt if malformed.
std::optional<int64_t> ParseTimeout(std::string_view text);
// The shortest text for a duration in microseconds ("200ms", "10m", "90s").
std::string FormatTimeout(int64_t micros);

// Loads one YAML document (yaml::Load: UTF-8 and control characters refused, errors positioned);
// a syntax error on a line holding "${" adds a hint about quoting references in flow collections.
StatusOr<YAML::Node> LoadYaml(std::string_view text, const std::string& file_name);

}  // namespace plinth::pipeline::internal

#endif  // PLINTH_PIPELINE_YAML_UTIL_H_
