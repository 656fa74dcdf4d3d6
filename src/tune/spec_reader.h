// Internal to the tune module: the reader its YAML formats share (search spaces, guardrails,
// tuning specs). A document is read once into JSON, remembering where each key and value was
// written when it came from YAML, so one parser serves a file, a YAML node a caller already parsed
// (a pipeline step's `with: space:`), and plain JSON (a resolved `with` value, a spec built in
// code). Errors read "file:line:col: field.path: message" when the position is known and
// "context: field.path: message" otherwise. Scalars are typed as the pipeline module types them
// (pipeline/yaml_util.h: quoted text is a string, `true` a bool, `4` an int, `4.0` a float).
#ifndef PLINTH_TUNE_SPEC_READER_H_
#define PLINTH_TUNE_SPEC_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::tune::internal {

// A field's path from the document's root: keys, and list positions as "[i]".
class Path {
 public:
  Path() = default;
  Path operator/(const std::string& key) const;
  Path operator/(size_t index) const;
  // "parameters.max_depth.min", "constraints[1]"; "" at the root.
  std::string Display() const;
  bool empty() const { return parts_.empty(); }
  // The map key identifying the path (parts joined by an unprintable separator).
  std::string Key() const;

 private:
  std::vector<std::string> parts_;
};

class Source {
 public:
  // Parses YAML text (pipeline/yaml_util.h's LoadYaml: UTF-8, control characters, positioned
  // syntax errors).
  static StatusOr<Source> FromYamlText(std::string_view text, const std::string& file_name);
  // A node already parsed; `file_name` is the file it came from, for positions.
  static StatusOr<Source> FromYaml(const YAML::Node& node, const std::string& file_name);
  // JSON without positions; `context` starts every message ("steps[3] tune: with.space").
  static Source FromJson(Json value, const std::string& context);

  const Json& root() const { return root_; }
  // The value at `path` (nullptr if absent).
  const Json* Find(const Path& path) const;

  // InvalidArgument "where: path: message", pointing at the value at `path` (or at its key when
  // `at_key`, as for "unknown key" errors).
  Status Error(const Path& path, const std::string& message, bool at_key = false) const;
  // "file:line:col" of the value at `path` (or of its key), or the context when unknown.
  std::string Where(const Path& path, bool at_key = false) const;

  // Checks that the value at `path` is an object whose keys are all in `allowed` (unknown keys
  // get "did you mean") and that every key of `required` is present. A null value reads as an
  // empty object when nothing is required.
  Status CheckObject(const Path& path, const std::string& what,
                     const std::vector<std::string>& allowed,
                     const std::vector<std::string>& required) const;

  // Typed reads of the value at `path`, with messages naming the field.
  StatusOr<std::string> String(const Path& path) const;
  StatusOr<double> Number(const Path& path) const;  // finite int or float
  StatusOr<int64_t> Integer(const Path& path) const;
  StatusOr<bool> Bool(const Path& path) const;
  // Key order as written (JSON objects: sorted).
  std::vector<std::string> Keys(const Path& path) const;

 private:
  Source() = default;
  Status Convert(const YAML::Node& node, const Path& path, Json* out, int depth, size_t* nodes);

  Json root_;
  std::string file_;     // non-empty: positions known
  std::string context_;  // JSON sources: the prefix of every message
  std::map<std::string, YAML::Mark> value_marks_;
  std::map<std::string, YAML::Mark> key_marks_;
  std::map<std::string, std::vector<std::string>> key_order_;
};

// Text for a JSON value in a message: strings quoted, shortened; whole numbers without ".0".
std::string Show(const Json& value);
// A number for a message: "6", "0.03", "1e+20".
std::string FormatNumber(double value);

}  // namespace plinth::tune::internal

#endif  // PLINTH_TUNE_SPEC_READER_H_
