#include "report/common.h"

#include <cmath>
#include <cstdio>
#include <exception>
#include <mstch/mstch.hpp>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"

namespace plinth::report {
namespace {

const Json& Null() {
  static const Json* const kNull = new Json(nullptr);
  return *kNull;
}

mstch::node ToNode(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      mstch::map map;
      for (const auto& [key, member] : value.items()) map.emplace(key, ToNode(member));
      return map;
    }
    case Json::value_t::array: {
      mstch::array array;
      for (const Json& element : value) array.push_back(ToNode(element));
      return array;
    }
    case Json::value_t::string:
      return value.get<std::string>();
    case Json::value_t::boolean:
      return value.get<bool>();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      // mstch's int is 32 bits; text keeps large integers exact.
      return DumpJson(value);
    case Json::value_t::number_float:
      return FormatNumber(value.get<double>());
    default:
      // Null renders as nothing and is false in sections.
      return false;
  }
}

}  // namespace

const Json& Member(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return Null();
  auto it = obj.find(key);
  return it == obj.end() ? Null() : *it;
}

const Json& At(const Json& obj, std::string_view dotted) {
  const Json* current = &obj;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(dotted.data(), dotted.size()), '.'))
    current = &Member(*current, std::string_view(part.data(), part.size()));
  return *current;
}

std::string Text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) return FormatNumber(value.get<double>(), "%.6g");
  if (value.is_number() || value.is_boolean()) return DumpJson(value);
  return "";
}

double Number(const Json& value) { return value.is_number() ? value.get<double>() : std::nan(""); }

bool IsNonEmpty(const Json& value) {
  if (value.is_string()) return !value.get<std::string>().empty();
  if (value.is_array() || value.is_object()) return !value.empty();
  return value.is_number() || value.is_boolean();
}

std::vector<std::string> TextList(const Json& value) {
  std::vector<std::string> out;
  if (value.is_array()) {
    for (const Json& element : value) {
      std::string text = Text(element);
      if (!text.empty()) out.push_back(std::move(text));
    }
  } else if (std::string text = Text(value); !text.empty()) {
    out.push_back(std::move(text));
  }
  return out;
}

std::string FormatNumber(double v, const char* format) {
  if (!std::isfinite(v)) return "";
  char buf[48];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string MarkdownEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '|':
        out += '\\';
        out += c;
        break;
      // Markdown passes inline HTML through to the page it is rendered into: entities keep user
      // text from becoming markup.
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        out += "<br>";
        break;
      case '\n':
        out += "<br>";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SvgDataUri(std::string_view svg) {
  return "data:image/svg+xml;base64," +
         absl::Base64Escape(absl::string_view(svg.data(), svg.size()));
}

StatusOr<std::string> RenderMustache(const std::string& tmpl, const Json& view,
                                     const std::function<std::string(const std::string&)>& escape) {
  static std::mutex* const mu = new std::mutex;
  std::lock_guard<std::mutex> lock(*mu);
  const auto saved = mstch::config::escape;
  mstch::config::escape = escape;
  std::string out;
  std::string error;
  try {
    out = mstch::render(tmpl, ToNode(view));
  } catch (const std::exception& e) {
    error = e.what();
  }
  mstch::config::escape = saved;
  if (!error.empty()) return absl::InternalError("rendering a template: " + error);
  return out;
}

const char kStyle[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2rem auto;"
    "max-width:70rem;color:#1f2933;background:#fafbfc;padding:0 1rem}"
    "h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}"
    "h3{font-size:1rem}.meta{color:#52606d;margin-bottom:1.5rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:left;vertical-align:top}"
    "th{background:#f0f4f8}td.num{text-align:right}"
    ".plots svg,.plots img{margin:0 1rem 1rem 0;background:#fff;border:1px solid #e4e7eb}"
    ".missing{color:#9aa5b1;font-style:italic}"
    ".PASS{background:#e8f5e9;color:#1b5e20;font-weight:bold}"
    ".FAIL{background:#ffebee;color:#b71c1c;font-weight:bold}"
    ".WARN{background:#fff3e0;color:#e65100;font-weight:bold}"
    ".verdict{font-size:1.1em;font-weight:bold;padding:.3em .7em;display:inline-block}"
    "code{font-size:12px;word-break:break-all}";

}  // namespace plinth::report
