// Reading YAML files, shared by every module that reads one (data validation suites, feature
// definitions, pipeline specs and environments, tuning specs): loading text with yaml-cpp,
// positioned errors ("file:line:col: context: message"), mapping fields with unknown-key checks
// and "did you mean" hints, and typed scalar getters. Depends on core and yaml-cpp only.
//
// The formats differ in a few choices that their error messages and accepted files depend on;
// ReaderOptions carries them, so that each format keeps reading exactly as it always has.
#ifndef PLINTH_YAML_YAML_UTIL_H_
#define PLINTH_YAML_YAML_UTIL_H_

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::yaml {

// Names (identifiers, step and resource names) are at most this long.
constexpr size_t kMaxNameLength = 64;
// Text from a file quoted in a message is cut after this many bytes (and marked "...").
constexpr size_t kMaxQuotedBytes = 80;

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);
// Edit distance counting an adjacent transposition as one edit (optimal string alignment).
int EditDistance(std::string_view a, std::string_view b);
// The candidate `name` was most likely meant to be, or "": a small edit distance scaled with the
// length, or one being a prefix of the other ("expr" for "expression").
std::string Suggest(const std::string& name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)", else " (known KINDS: a, b, c)" when there are few, else "";
// " (no KINDS are defined)" when `known` is empty.
std::string Hint(const std::string& name, const std::vector<std::string>& known,
                 const std::string& kinds);
// Text from the file quoted in a message, cut after `max_bytes`: hostile input must not make
// messages huge.
std::string Quote(const std::string& text, size_t max_bytes = kMaxQuotedBytes);
// Letters, digits and '_', not starting with a digit, at most kMaxNameLength characters.
bool IsIdentifier(std::string_view name);
// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// What a node is, for "must be X, not ...": "nothing", "a mapping", "a list" or the quoted scalar.
std::string Describe(const YAML::Node& node, size_t max_quoted_bytes = kMaxQuotedBytes);
// "line:col" of a mark (1-based), for "first defined at 3:5".
std::string Position(const YAML::Mark& mark);

// The choices in which the formats differ.
struct ReaderOptions {
  // An error at a null mark (an empty document) points at the start of the file ("file:1:1: ...")
  // when true, and names the file without a position ("file: ...") when false.
  bool null_mark_at_start = true;
  // Text from the file quoted in messages is cut after this many bytes.
  size_t max_quoted_bytes = kMaxQuotedBytes;
  // Load refuses text that is not UTF-8 or holds control characters YAML does not allow, and
  // GetString refuses a value that is not UTF-8 (an escape such as "\ud800" can make one).
  bool require_utf8 = true;
};

// Builds positioned errors: "file:line:col: context: message" (InvalidArgument), and words
// what the file holds in the format's style.
class Errors {
 public:
  explicit Errors(std::string file, ReaderOptions options = {})
      : file_(std::move(file)), options_(options) {}
  Status At(const YAML::Mark& mark, const std::string& context, const std::string& message) const;
  // Quote and Describe with this format's limit.
  std::string Quote(const std::string& text) const;
  std::string Describe(const YAML::Node& node) const;
  const std::string& file() const { return file_; }
  const ReaderOptions& options() const { return options_; }

 private:
  std::string file_;
  ReaderOptions options_;
};

// The fields of a mapping, after checking that it is one, that every key is a scalar, allowed
// ("unknown key 'x' (did you mean 'y'?)" or "(expected: a, b)") and given once (yaml-cpp keeps
// repeated keys, and a lookup would silently take the first), and that the required keys are
// present.
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

// A lighter check than Fields: `node` is a mapping whose keys are all in `allowed`; an unknown
// key (a non-scalar one reads as '') is refused with the list of allowed keys, without a
// suggestion. Repeated keys are not checked.
Status CheckKeys(const Errors& errors, const std::string& context, const std::string& what,
                 const YAML::Node& node, const std::vector<std::string>& allowed);

// A string field: a scalar (valid UTF-8 if the format requires it).
StatusOr<std::string> GetString(const Errors& errors, const std::string& context,
                                const std::string& key, const YAML::Node& node);
// A list of strings; null is an empty list, and a scalar is not accepted (so `needs: train` is
// not silently a list).
StatusOr<std::vector<std::string>> GetStringList(const Errors& errors, const std::string& context,
                                                 const std::string& key, const YAML::Node& node);

// The spellings GetBool accepts.
enum class BoolSpelling {
  kYaml12,   // true / false (also True, TRUE, False, FALSE) in plain scalars, as YAML 1.2
  kYamlCpp,  // yaml-cpp's: also yes/no, on/off, y/n in their case variants, quoted or not
};
StatusOr<bool> GetBool(const Errors& errors, const std::string& context, const std::string& key,
                       const YAML::Node& node, BoolSpelling spelling = BoolSpelling::kYaml12);
// A number as yaml-cpp reads a double (so also .inf); NaN is refused.
StatusOr<double> GetNumber(const Errors& errors, const std::string& context, const std::string& key,
                           const YAML::Node& node);

// A YAML scalar as a typed JSON value. Quoted and block scalars are strings; plain scalars are
// null (~, null, empty), booleans (true/false in any of YAML 1.2's spellings; not yes/no/on/off),
// integers (int64), finite floats, or else strings.
Json PlainScalarToJson(const YAML::Node& node);
// A YAML value as JSON: scalars as PlainScalarToJson, lists and mappings recursively (mapping keys
// must be scalars). InvalidArgument, positioned, for a non-scalar key, a key given twice or text
// that is not UTF-8.
StatusOr<Json> NodeToJson(const Errors& errors, const std::string& context, const YAML::Node& node);

// Given the text of the line a syntax error is on, a hint to append to the message ("" for none).
using SyntaxHint = std::function<std::string(std::string_view line)>;

// Loads one YAML document. If the format requires UTF-8, text that is not UTF-8 or holds control
// characters YAML does not allow is refused first (yaml-cpp would pass them through or truncate at
// NUL), positioned at the first offending character. A syntax error reads
// "file:line:col: invalid YAML: <yaml-cpp's message>" and then `hint`'s text.
StatusOr<YAML::Node> Load(std::string_view text, const Errors& errors,
                          const SyntaxHint& hint = nullptr);

}  // namespace plinth::yaml

#endif  // PLINTH_YAML_YAML_UTIL_H_
