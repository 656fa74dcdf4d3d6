#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace plinth {
namespace {

void AppendString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// ECMAScript Number::toString for finite doubles, as RFC 8785 requires.
void AppendDouble(double d, std::string* out) {
  if (d == 0) {
    out->push_back('0');
    return;
  }
  // Shortest round-trip digits and exponent from to_chars in scientific form.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::stoi(sci.substr(e + 1));
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  int k = static_cast<int>(digits.size());
  int n = exponent + 1;  // position of the decimal point relative to the digits
  std::string s;
  if (k <= n && n <= 21) {
    s = digits + std::string(n - k, '0');
  } else if (0 < n && n <= 21) {
    s = digits.substr(0, n) + "." + digits.substr(n);
  } else if (-6 < n && n <= 0) {
    s = "0." + std::string(-n, '0') + digits;
  } else {
    s = digits.substr(0, 1);
    if (k > 1) s += "." + digits.substr(1);
    s += "e";
    s += (n - 1 >= 0) ? "+" : "-";
    s += std::to_string(std::abs(n - 1));
  }
  if (negative) out->push_back('-');
  out->append(s);
}

Status Append(const Json& v, std::string* out) {
  switch (v.type()) {
    case Json::value_t::null:
      out->append("null");
      return absl::OkStatus();
    case Json::value_t::boolean:
      out->append(v.get<bool>() ? "true" : "false");
      return absl::OkStatus();
    case Json::value_t::number_integer:
      out->append(std::to_string(v.get<int64_t>()));
      return absl::OkStatus();
    case Json::value_t::number_unsigned:
      out->append(std::to_string(v.get<uint64_t>()));
      return absl::OkStatus();
    case Json::value_t::number_float: {
      double d = v.get<double>();
      if (!std::isfinite(d)) return absl::InvalidArgumentError("NaN and infinity are not JSON");
      AppendDouble(d, out);
      return absl::OkStatus();
    }
    case Json::value_t::string:
      AppendString(v.get_ref<const std::string&>(), out);
      return absl::OkStatus();
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out->push_back(',');
        first = false;
        RETURN_IF_ERROR(Append(item, out));
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    case Json::value_t::object: {
      // nlohmann::json keeps objects in a std::map: keys are already in byte order, which for
      // UTF-8 is code point order.
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendString(key, out);
        out->push_back(':');
        RETURN_IF_ERROR(Append(item, out));
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      return absl::InvalidArgumentError("value cannot be written as JSON");
  }
  return absl::InvalidArgumentError("value cannot be written as JSON");
}

}  // namespace

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

StatusOr<std::string> CanonicalJson(const Json& value) {
  std::string out;
  RETURN_IF_ERROR(Append(value, &out));
  return out;
}

StatusOr<Json> ParseJson(std::string_view text, int max_depth) {
  int depth = 0;
  bool too_deep = false;
  Json::parser_callback_t cb = [&](int d, Json::parse_event_t event, Json&) {
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) {
      if (d + 1 > max_depth) too_deep = true;
      depth = std::max(depth, d + 1);
    }
    return !too_deep;
  };
  Json result;
  try {
    result = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true);
  } catch (const Json::parse_error& e) {
    return absl::InvalidArgumentError(
        "malformed JSON at byte " + std::to_string(e.byte) + ": " +
        std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(std::string("malformed JSON: ") + e.what());
  }
  if (too_deep) {
    return absl::InvalidArgumentError("JSON nested deeper than " + std::to_string(max_depth) +
                                      " levels");
  }
  return result;
}

}  // namespace plinth
