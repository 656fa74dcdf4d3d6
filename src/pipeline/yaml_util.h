// Internal to the pipeline module: the helpers its YAML readers share (pipeline specs and the
// environments file). Positioned errors read "file:line:col: context: message", as in the data
// and features modules, and unknown names get a "did you mean" hint.
#ifndef PLINTH_PIPELINE_YAML_UTIL_H_
#define PLINTH_PIPELINE_YAML_UTIL_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::pipeline::internal {

constexpr size_t kMaxNameLength = 64;

std::string JoinNames(const std::vector<std::string>& names);
// Edit distance counting an adjacent transposition as one edit.
int EditDistance(std::string_view a, std::string_view b);
// The candidate `name` was most likely meant to be, or "": a small edit distance scaled with the
// length, or one being a prefix of the other.
std::string Suggest(const std::string& name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)", else " (known KINDS: a, b, c)" when there are few, else "".
std::string Hint(const std::string& name, const std::vector<std::string>& known,
                 const std::string& kinds);
// Text from the file quoted in a message, shortened: hostile input must not make messages huge.
std::string Quote(const std::string& text);
// Letters, digits and '_', not starting with a digit, at most 64 characters.
bool IsIdentifier(std::string_view name);
// A step name: letters, digits, '_' and '-', starting with a letter, at most 64 characters.
bool IsStepName(std::string_view name);
// A pipeline or environment name: letters, digits, '.', '_' and '-', starting with a letter or
// digit, at most 64 characters.
bool IsResourceName(std::string_view name);
bool IsValidUtf8(std::string_view text);

// "0" or a whole number followed by ms, s, m, h or d, in microseconds; nullopt if malformed.
std::optional<int64_t> ParseTimeout(std::string_view text);
// The shortest text for a duration in microseconds ("200ms", "10m", "90s").
std::string FormatTimeout(int64_t micros);

// Builds positioned errors: "file:line:col: context: message".
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}
  Status At(const YAML::Mark& mark, const std::string& context, const std::string& message) const;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::string Describe(const YAML::Node& node);
// "line:col" of a mark, for "first defined at 3:5".
std::string Position(const YAML::Mark& mark);

// The fields of a mapping, after checking that it is one, that every key is allowed and given
// once (yaml-cpp keeps repeated keys, and a lookup would silently take the first), and that the
// required keys are present.
class Fields {
 public:
  static StatusOr<Fields> Read(const Errors& errors, const std::string& context,
                               const std::string& what, const YAML::Node& node,
                               const std::vector<std::string>& allowed,
                               const std::vector<std::string>& required);
  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  // The value of a present key.
  const YAML::Node& Get(const std::string& key) const { return values_.at(key); }
  // The mark of a present key's name (where "unknown" and "twice" errors point).
  const YAML::Mark& KeyMark(const std::string& key) const { return key_marks_.at(key); }
  const YAML::Mark& mark() const { return mark_; }
  // Keys in file order.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  std::map<std::string, YAML::Node> values_;
  std::map<std::string, YAML::Mark> key_marks_;
  std::vector<std::string> keys_;
  YAML::Mark mark_;
};

// A string field (a scalar, valid UTF-8).
StatusOr<std::string> GetString(const Errors& errors, const std::string& context,
                                const std::string& key, const YAML::Node& node);
// A list of strings; a scalar is not accepted (so `needs: train` is not silently a list).
StatusOr<std::vector<std::string>> GetStringList(const Errors& errors, const std::string& context,
                                                 const std::string& key, const YAML::Node& node);
StatusOr<bool> GetBool(const Errors& errors, const std::string& context, const std::string& key,
                       const YAML::Node& node);

// A YAML scalar as a typed JSON value. Quoted and block scalars are strings; plain scalars are
// null (~, null, empty), booleans (true/false in any of YAML 1.2's spellings; not yes/no/on/off),
// integers (int64), finite floats, or else strings.
Json PlainScalarToJson(const YAML::Node& node);
// A YAML value as JSON: scalars as PlainScalarToJson, lists and mappings recursively (mapping keys
// must be scalars). InvalidArgument, positioned, for a non-scalar key or a key given twice.
StatusOr<Json> NodeToJson(const Errors& errors, const std::string& context, const YAML::Node& node);

// Loads one YAML document, refusing text that is not UTF-8 or holds control characters YAML does
// not allow (yaml-cpp would pass them through or truncate at NUL). Errors are positioned; a
// syntax error on a line holding "${" adds a hint about quoting references in flow collections.
StatusOr<YAML::Node> LoadYaml(std::string_view text, const std::string& file_name);

}  // namespace plinth::pipeline::internal

#endif  // PLINTH_PIPELINE_YAML_UTIL_H_
