#include "pipeline/yaml_util.h"

#include <algorithm>

#include "absl/strings/numbers.h"

namespace plinth::pipeline::internal {
namespace {

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsStepName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || !IsLetter(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLetter(c) || IsDigit(c) || c == '_' || c == '-'; });
}

bool IsResourceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!IsLetter(name[0]) && !IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return IsLetter(c) || IsDigit(c) || c == '.' || c == '_' || c == '-';
  });
}

std::optional<int64_t> ParseTimeout(std::string_view text) {
  if (text == "0") return 0;
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  int64_t scale = 0;
  if (unit == "ms") {
    scale = 1000;
  } else if (unit == "s") {
    scale = 1000000;
  } else if (unit == "m") {
    scale = int64_t{60} * 1000000;
  } else if (unit == "h") {
    scale = int64_t{3600} * 1000000;
  } else if (unit == "d") {
    scale = int64_t{86400} * 1000000;
  } else {
    return std::nullopt;
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(0, digits)), &n)) return std::nullopt;
  // At most 12 digits of days is far below int64's range in microseconds only up to a point;
  // refuse anything beyond a year, which no step timeout means.
  if (n > int64_t{366} * 86400 * 1000000 / scale) return std::nullopt;
  return n * scale;
}

std::string FormatTimeout(int64_t micros) {
  struct Unit {
    int64_t micros;
    const char* suffix;
  };
  static const Unit kUnits[] = {{int64_t{86400} * 1000000, "d"},
                                {int64_t{3600} * 1000000, "h"},
                                {int64_t{60} * 1000000, "m"},
                                {1000000, "s"},
                                {1000, "ms"}};
  if (micros == 0) return "0";
  for (const Unit& u : kUnits) {
    if (micros % u.micros == 0) return std::to_string(micros / u.micros) + u.suffix;
  }
  return std::to_string(micros) + "us";
}

StatusOr<YAML::Node> LoadYaml(std::string_view text, const std::string& file_name) {
  // A reference written unquoted inside [...] or {...} is the likeliest cause of a syntax error
  // on such a line: '{' and '}' end flow collections, so YAML cannot read ${...} there.
  return yaml::Load(text, Errors(file_name), [](std::string_view line) -> std::string {
    if (line.find("${") == std::string_view::npos) return "";
    return " (inside [...] or {...}, write a reference in quotes: \"${params.NAME}\")";
  });
}

}  // namespace plinth::pipeline::internal
