#include "yaml/yaml_util.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace plinth::yaml {
namespace {

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The byte offset of the first thing in `text` that is not YAML text, with what it is: malformed
// UTF-8, or a control character YAML does not allow (anything below U+0020 but tab, line feed and
// carriage return; U+007F; U+0080 to U+009F but U+0085).
std::optional<std::pair<size_t, std::string>> FindUnreadableText(std::string_view text) {
  if (!IsValidUtf8(text)) {
    // Finding the offset by validating growing prefixes would be quadratic; scan once instead.
    size_t i = 0;
    while (i < text.size()) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      size_t n = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
      if (n == 0 || i + n > text.size() || !IsValidUtf8(text.substr(i, n))) break;
      i += n;
    }
    return std::make_pair(i, std::string("the file is not valid UTF-8"));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    unsigned code = c;
    // U+0080 to U+009F are 0xC2 0x80 to 0xC2 0x9F; the text is valid UTF-8, so i + 1 exists.
    if (c == 0xC2) code = static_cast<unsigned char>(text[i + 1]);
    const bool control = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F ||
                         (c == 0xC2 && code >= 0x80 && code <= 0x9F && code != 0x85);
    if (control) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "%04X", code);
      return std::make_pair(i, "the file contains the control character U+" + std::string(hex) +
                                   ", which YAML does not allow");
    }
  }
  return std::nullopt;
}

// The mark of a byte offset: 0-based line, and column in characters (not bytes).
YAML::Mark MarkAtOffset(std::string_view text, size_t offset) {
  YAML::Mark mark;
  mark.line = 0;
  mark.column = 0;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 0;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++mark.column;
    }
  }
  return mark;
}

std::string_view LineOf(std::string_view text, int line) {
  size_t start = 0;
  for (int i = 0; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string_view::npos) return {};
    ++start;
  }
  const size_t end = text.find('\n', start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

int EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus adjacent transpositions, the commonest typo
  // ("trian" for "train" is one edit, not two). Three rows of the table suffice.
  const size_t m = b.size();
  std::vector<int> before(m + 1), previous(m + 1), current(m + 1);
  for (size_t j = 0; j <= m; ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

std::string Suggest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  int best_distance = 1 << 30;
  for (const std::string& c : candidates) {
    if (c == name) continue;
    const int shorter = static_cast<int>(std::min(name.size(), c.size()));
    const int longer = static_cast<int>(std::max(name.size(), c.size()));
    const int limit = shorter < 3 ? 0 : std::max(1, shorter / 3);
    const bool prefix = shorter >= 3 && (c.rfind(name, 0) == 0 || name.rfind(c, 0) == 0);
    // The distance is at least the difference in length, and exactly that for a prefix: only
    // compute it when it can be within the limit, so a huge name costs nothing.
    int distance = longer - shorter;
    if (!prefix) {
      if (distance > limit) continue;
      distance = EditDistance(name, c);
    }
    if ((distance <= limit || prefix) && distance < best_distance) {
      best = c;
      best_distance = distance;
    }
  }
  return best;
}

std::string Hint(const std::string& name, const std::vector<std::string>& known,
                 const std::string& kinds) {
  if (known.empty()) return " (no " + kinds + " are defined)";
  const std::string suggestion = Suggest(name, known);
  if (!suggestion.empty()) return " (did you mean '" + suggestion + "'?)";
  if (known.size() <= 12) return " (known " + kinds + ": " + JoinNames(known) + ")";
  return "";
}

std::string Quote(const std::string& text, size_t max_bytes) {
  if (text.size() <= max_bytes) return absl::StrCat("'", text, "'");
  return absl::StrCat("'", text.substr(0, max_bytes), "...'");
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!IsLetter(name[0]) && name[0] != '_') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLetter(c) || IsDigit(c) || c == '_'; });
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t code = 0;
    if ((c >> 5) == 0x6) {
      n = 2;
      code = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      n = 3;
      code = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      n = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc >> 6) != 0x2) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 2 && code < 0x80) || (n == 3 && code < 0x800) || (n == 4 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string Describe(const YAML::Node& node, size_t max_quoted_bytes) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return Quote(node.Scalar(), max_quoted_bytes);
}

std::string Position(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Status Errors::At(const YAML::Mark& mark, const std::string& context,
                  const std::string& message) const {
  std::string where = file_;
  if (mark.line >= 0 || options_.null_mark_at_start) {
    // A null mark (an empty document) is at the start of the file, so a message always has a
    // position.
    const int line = mark.line >= 0 ? mark.line + 1 : 1;
    const int column = mark.column >= 0 ? mark.column + 1 : 1;
    absl::StrAppend(&where, ":", line, ":", column);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": ", context, context.empty() ? "" : ": ", message));
}

std::string Errors::Quote(const std::string& text) const {
  return yaml::Quote(text, options_.max_quoted_bytes);
}

std::string Errors::Describe(const YAML::Node& node) const {
  return yaml::Describe(node, options_.max_quoted_bytes);
}

StatusOr<Fields> Fields::Read(const Errors& errors, const std::string& context,
                              const std::string& what, const YAML::Node& node,
                              const std::vector<std::string>& allowed,
                              const std::vector<std::string>& required) {
  if (!node.IsMap()) {
    return errors.At(node.Mark(), context,
                     what + " must be a mapping with keys " + JoinNames(allowed) + ", not " +
                         errors.Describe(node));
  }
  Fields fields;
  fields.mark_ = node.Mark();
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return errors.At(kv.first.Mark(), context,
                       "keys must be names, not " + errors.Describe(kv.first));
    }
    const std::string& key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      const std::string suggestion = Suggest(key, allowed);
      return errors.At(kv.first.Mark(), context,
                       "unknown key " + errors.Quote(key) +
                           (suggestion.empty() ? " (expected: " + JoinNames(allowed) + ")"
                                               : " (did you mean '" + suggestion + "'?)"));
    }
    if (!fields.values_.emplace(key, kv.second).second) {
      return errors.At(kv.first.Mark(), context, "key '" + key + "' is given twice");
    }
    fields.key_marks_.emplace(key, kv.first.Mark());
    fields.keys_.push_back(key);
  }
  for (const std::string& key : required) {
    if (!fields.Has(key)) return errors.At(node.Mark(), context, "missing '" + key + "'");
  }
  return fields;
}

Status CheckKeys(const Errors& errors, const std::string& context, const std::string& what,
                 const YAML::Node& node, const std::vector<std::string>& allowed) {
  if (!node.IsMap()) {
    return errors.At(node.Mark(), context,
                     what + " must be a mapping with keys " + JoinNames(allowed) + ", not " +
                         errors.Describe(node));
  }
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return errors.At(
          kv.first.Mark(), context,
          "unknown key " + errors.Quote(key) + " (expected: " + JoinNames(allowed) + ")");
    }
  }
  return absl::OkStatus();
}

StatusOr<std::string> GetString(const Errors& errors, const std::string& context,
                                const std::string& key, const YAML::Node& node) {
  if (!node.IsScalar()) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be a string, not " + errors.Describe(node));
  }
  // The file is valid UTF-8, but escapes in quoted scalars ("\ud800") can make a value invalid.
  if (errors.options().require_utf8 && !IsValidUtf8(node.Scalar())) {
    return errors.At(node.Mark(), context, "'" + key + "' is not valid UTF-8");
  }
  return node.Scalar();
}

StatusOr<std::vector<std::string>> GetStringList(const Errors& errors, const std::string& context,
                                                 const std::string& key, const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsSequence()) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be a list (write [a, b]), not " + errors.Describe(node));
  }
  for (const YAML::Node& item : node) {
    ASSIGN_OR_RETURN(std::string value, GetString(errors, context, key + " item", item));
    out.push_back(std::move(value));
  }
  return out;
}

StatusOr<bool> GetBool(const Errors& errors, const std::string& context, const std::string& key,
                       const YAML::Node& node, BoolSpelling spelling) {
  std::optional<bool> value;
  if (node.IsScalar()) {
    if (spelling == BoolSpelling::kYaml12) {
      const Json json = PlainScalarToJson(node);
      if (json.is_boolean()) value = json.get<bool>();
    } else {
      bool decoded = false;
      if (YAML::convert<bool>::decode(node, decoded)) value = decoded;
    }
  }
  if (!value) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be true or false, not " + errors.Describe(node));
  }
  return *value;
}

StatusOr<double> GetNumber(const Errors& errors, const std::string& context, const std::string& key,
                           const YAML::Node& node) {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || std::isnan(value)) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be a number, not " + errors.Describe(node));
  }
  return value;
}

Json PlainScalarToJson(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  const std::string& text = node.Scalar();
  // yaml-cpp tags quoted and block scalars "!" and plain ones "?". Anything not plain (quoted,
  // block, or explicitly tagged) is a string: quoting is how a file says "4" is text.
  if (node.Tag() != "?") return text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  const bool numeric_start =
      IsDigit(text[0]) || ((text[0] == '-' || text[0] == '+' || text[0] == '.') && text.size() > 1);
  if (!numeric_start) return text;
  int64_t i = 0;
  if (absl::SimpleAtoi(text, &i) && text.find_first_of(" \t") == std::string::npos) return i;
  // A float: digits, at most one point and an exponent; strtod alone would also take "inf",
  // "nan" and hexadecimal, which YAML reads as strings.
  bool digit = false;
  for (char c : text) {
    if (IsDigit(c)) {
      digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
      return text;
    }
  }
  if (!digit) return text;
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(d)) return text;
  return d;
}

StatusOr<Json> NodeToJson(const Errors& errors, const std::string& context,
                          const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return Json(nullptr);
  if (node.IsScalar()) {
    if (!IsValidUtf8(node.Scalar())) {
      return errors.At(node.Mark(), context, "the value is not valid UTF-8");
    }
    return PlainScalarToJson(node);
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(Json value, NodeToJson(errors, context, item));
      out.push_back(std::move(value));
    }
    return out;
  }
  Json out = Json::object();
  for (const auto& kv : node) {
    if (!kv.first.IsScalar() || !IsValidUtf8(kv.first.Scalar())) {
      return errors.At(kv.first.Mark(), context,
                       "keys must be names, not " + errors.Describe(kv.first));
    }
    if (out.contains(kv.first.Scalar())) {
      return errors.At(kv.first.Mark(), context,
                       "key " + errors.Quote(kv.first.Scalar()) + " is given twice");
    }
    ASSIGN_OR_RETURN(Json value, NodeToJson(errors, context, kv.second));
    out[kv.first.Scalar()] = std::move(value);
  }
  return out;
}

StatusOr<YAML::Node> Load(std::string_view text, const Errors& errors, const SyntaxHint& hint) {
  if (errors.options().require_utf8) {
    if (std::optional<std::pair<size_t, std::string>> bad = FindUnreadableText(text)) {
      return errors.At(MarkAtOffset(text, bad->first), "", bad->second);
    }
  }
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string message = "invalid YAML: " + e.msg;
    if (hint && e.mark.line >= 0) message += hint(LineOf(text, e.mark.line));
    return errors.At(e.mark, "", message);
  }
}

}  // namespace plinth::yaml
