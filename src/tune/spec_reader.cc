#include "tune/spec_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "pipeline/yaml_util.h"

namespace plinth::tune::internal {
namespace {

namespace py = ::plinth::pipeline::internal;

constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 100000;
constexpr char kSeparator = '\x1f';

std::string TypeOf(const Json& value) {
  if (value.is_null()) return "nothing";
  if (value.is_object()) return "a mapping";
  if (value.is_array()) return "a list";
  return Show(value);
}

}  // namespace

std::string FormatNumber(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  return DumpJson(Json(value));
}

std::string Show(const Json& value) {
  if (value.is_string()) return py::Quote(value.get<std::string>());
  if (value.is_number_float()) return FormatNumber(value.get<double>());
  std::string text = DumpJson(value);
  if (text.size() > 80) text = text.substr(0, 80) + "...";
  return text;
}

Path Path::operator/(const std::string& key) const {
  Path out = *this;
  out.parts_.push_back(key);
  return out;
}

Path Path::operator/(size_t index) const {
  Path out = *this;
  std::string part = "[";  // appended in steps: GCC 12 warns (-Wrestrict) on "[" + s + "]"
  part += std::to_string(index);
  part += ']';
  out.parts_.push_back(std::move(part));
  return out;
}

std::string Path::Display() const {
  std::string out;
  for (const std::string& part : parts_) {
    if (!out.empty() && !(part.size() > 1 && part[0] == '[')) out += ".";
    out += part;
  }
  return out;
}

std::string Path::Key() const {
  std::string out;
  for (const std::string& part : parts_) {
    out += part;
    out.push_back(kSeparator);
  }
  return out;
}

StatusOr<Source> Source::FromYamlText(std::string_view text, const std::string& file_name) {
  ASSIGN_OR_RETURN(YAML::Node node, py::LoadYaml(text, file_name));
  return FromYaml(node, file_name);
}

StatusOr<Source> Source::FromYaml(const YAML::Node& node, const std::string& file_name) {
  Source source;
  source.file_ = file_name.empty() ? "<yaml>" : file_name;
  size_t nodes = 0;
  RETURN_IF_ERROR(source.Convert(node, Path(), &source.root_, 0, &nodes));
  return source;
}

Source Source::FromJson(Json value, const std::string& context) {
  Source source;
  source.root_ = std::move(value);
  source.context_ = context;
  return source;
}

Status Source::Convert(const YAML::Node& node, const Path& path, Json* out, int depth,
                       size_t* nodes) {
  if (++*nodes > kMaxNodes) return Error(path, "the document has too many values");
  if (depth > kMaxDepth) return Error(path, "the document is nested too deeply");
  if (node.IsDefined()) value_marks_[path.Key()] = node.Mark();
  if (!node.IsDefined() || node.IsNull()) {
    *out = nullptr;
    return absl::OkStatus();
  }
  if (node.IsScalar()) {
    if (!py::IsValidUtf8(node.Scalar())) return Error(path, "the value is not valid UTF-8");
    *out = py::PlainScalarToJson(node);
    return absl::OkStatus();
  }
  if (node.IsSequence()) {
    *out = Json::array();
    size_t i = 0;
    for (const YAML::Node& item : node) {
      Json value;
      RETURN_IF_ERROR(Convert(item, path / i, &value, depth + 1, nodes));
      out->push_back(std::move(value));
      ++i;
    }
    return absl::OkStatus();
  }
  *out = Json::object();
  std::vector<std::string>& order = key_order_[path.Key()];
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || !py::IsValidUtf8(kv.first.Scalar())) {
      const py::Errors errors(file_);
      return errors.At(kv.first.Mark(), path.Display(),
                       "keys must be names, not " + py::Describe(kv.first));
    }
    const std::string& key = kv.first.Scalar();
    const Path child = path / key;
    if (out->contains(key)) {
      const py::Errors errors(file_);
      return errors.At(kv.first.Mark(), path.Display(),
                       "key " + py::Quote(key) + " is given twice (first at " +
                           py::Position(key_marks_[child.Key()]) + ")");
    }
    key_marks_[child.Key()] = kv.first.Mark();
    order.push_back(key);
    Json value;
    RETURN_IF_ERROR(Convert(kv.second, child, &value, depth + 1, nodes));
    (*out)[key] = std::move(value);
  }
  return absl::OkStatus();
}

const Json* Source::Find(const Path& path) const {
  // Walk the display parts again: cheap, documents are small.
  const Json* node = &root_;
  std::string key = path.Key();
  size_t start = 0;
  while (start < key.size()) {
    const size_t end = key.find(kSeparator, start);
    const std::string part = key.substr(start, end - start);
    start = end + 1;
    if (part.size() > 1 && part[0] == '[' && node->is_array()) {
      const size_t i = std::stoul(part.substr(1, part.size() - 2));
      if (i >= node->size()) return nullptr;
      node = &(*node)[i];
    } else if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else {
      return nullptr;
    }
  }
  return node;
}

std::string Source::Where(const Path& path, bool at_key) const {
  if (file_.empty()) return context_;
  const auto at = [this](const YAML::Mark& mark) {
    return file_ + ":" + (mark.line >= 0 ? py::Position(mark) : std::string("1:1"));
  };
  std::string key = path.Key();
  if (at_key) {
    auto it = key_marks_.find(key);
    if (it != key_marks_.end()) return at(it->second);
  }
  // The nearest enclosing value with a position (a missing key is reported at its mapping).
  while (true) {
    auto it = value_marks_.find(key);
    if (it != value_marks_.end()) return at(it->second);
    if (key.empty()) break;
    key.pop_back();
    const size_t cut = key.rfind(kSeparator);
    key = cut == std::string::npos ? "" : key.substr(0, cut + 1);
  }
  return file_ + ":1:1";
}

Status Source::Error(const Path& path, const std::string& message, bool at_key) const {
  std::string out = Where(path, at_key);
  if (!out.empty()) out += ": ";
  if (!path.empty()) out += path.Display() + ": ";
  return absl::InvalidArgumentError(out + message);
}

Status Source::CheckObject(const Path& path, const std::string& what,
                           const std::vector<std::string>& allowed,
                           const std::vector<std::string>& required) const {
  const Json* value = Find(path);
  if (value == nullptr || value->is_null()) {
    if (required.empty()) return absl::OkStatus();
    return Error(path, what + " must be a mapping with keys " + py::JoinNames(allowed));
  }
  if (!value->is_object()) {
    return Error(path, what + " must be a mapping with keys " + py::JoinNames(allowed) + ", not " +
                           TypeOf(*value));
  }
  for (const std::string& key : Keys(path)) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    const std::string suggestion = py::Suggest(key, allowed);
    return Error(path / key,
                 "unknown key " + py::Quote(key) +
                     (suggestion.empty() ? " (expected: " + py::JoinNames(allowed) + ")"
                                         : " (did you mean '" + suggestion + "'?)"),
                 /*at_key=*/true);
  }
  for (const std::string& key : required) {
    if (!value->contains(key)) return Error(path, "missing '" + key + "'");
  }
  return absl::OkStatus();
}

std::vector<std::string> Source::Keys(const Path& path) const {
  auto it = key_order_.find(path.Key());
  if (it != key_order_.end()) return it->second;
  std::vector<std::string> keys;
  const Json* value = Find(path);
  if (value != nullptr && value->is_object()) {
    for (auto kv = value->begin(); kv != value->end(); ++kv) keys.push_back(kv.key());
  }
  return keys;
}

StatusOr<std::string> Source::String(const Path& path) const {
  const Json* value = Find(path);
  if (value == nullptr || !value->is_string()) {
    return Error(path, "must be a string, not " + TypeOf(value ? *value : Json()));
  }
  return value->get<std::string>();
}

StatusOr<double> Source::Number(const Path& path) const {
  const Json* value = Find(path);
  if (value == nullptr || !value->is_number() || !std::isfinite(value->get<double>())) {
    return Error(path, "must be a number, not " + TypeOf(value ? *value : Json()));
  }
  return value->get<double>();
}

StatusOr<int64_t> Source::Integer(const Path& path) const {
  const Json* value = Find(path);
  if (value != nullptr && value->is_number_unsigned()) {
    if (value->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Error(path, "the number " + DumpJson(*value) + " is too large");
    }
    return static_cast<int64_t>(value->get<uint64_t>());
  }
  if (value != nullptr && value->is_number_integer()) return value->get<int64_t>();
  // JSON from code may carry 4.0 for 4; YAML's "4.0" is a float and reads as one here too.
  if (value != nullptr && value->is_number_float()) {
    const double d = value->get<double>();
    if (std::isfinite(d) && d == std::floor(d)) {
      if (std::fabs(d) >= 9.0e15)
        return Error(path, "the number " + Show(*value) + " is too large");
      return static_cast<int64_t>(d);
    }
  }
  return Error(path, "must be a whole number, not " + TypeOf(value ? *value : Json()));
}

StatusOr<bool> Source::Bool(const Path& path) const {
  const Json* value = Find(path);
  if (value == nullptr || !value->is_boolean()) {
    return Error(path, "must be true or false, not " + TypeOf(value ? *value : Json()));
  }
  return value->get<bool>();
}

}  // namespace plinth::tune::internal
