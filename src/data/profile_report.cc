// The HTML profile report: one self-contained page drawn only from the profile JSON (see
// profile.h), so the CLI renders the same page in process and against a server.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>

#include "core/html.h"
#include "data/profile.h"

namespace plinth {
namespace {

std::string Escape(std::string_view text) { return HtmlEscape(text); }

// A JSON value as short text: numbers with up to 6 significant digits, strings escaped.
std::string Text(const Json& v) {
  if (v.is_null()) return "&ndash;";
  if (v.is_string()) return Escape(v.get<std::string>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  return Escape(v.dump());
}

Json Field(const Json& obj, const char* key) {
  return obj.is_object() && obj.contains(key) ? obj[key] : Json(nullptr);
}

// A statistic of a column as shown: for a timestamp column its RFC 3339 text `time` when the
// profile has it, else the microseconds `value` formatted (profiles stored before the text fields
// existed), else the number itself (a time RFC 3339 cannot write); other columns' values as is.
Json Shown(const Json& value, const Json& time, bool timestamp) {
  if (!timestamp) return value;
  if (time.is_string()) return time;
  if (value.is_number()) {
    Json text = TimestampText(value.get<double>());
    if (text.is_string()) return text;
  }
  return value;
}

// A duration in microseconds in a readable unit: "3.5 d", "12 h", "250 ms".
std::string DurationText(double micros) {
  if (!std::isfinite(micros)) return "&ndash;";
  if (micros == 0) return "0 s";
  struct Unit {
    const char* name;
    double micros;
  };
  constexpr Unit kUnits[] = {{"d", 86400e6}, {"h", 3600e6}, {"min", 60e6},
                             {"s", 1e6},     {"ms", 1e3},   {"&micro;s", 1}};
  const Unit* unit = &kUnits[std::size(kUnits) - 1];
  for (const Unit& u : kUnits) {
    if (std::fabs(micros) >= u.micros) {
      unit = &u;
      break;
    }
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.3g %s", micros / unit->micros, unit->name);
  return buf;
}

// Bars of the histogram's bin counts, with the range under them (as times for a timestamp column).
std::string HistogramSvg(const Json& histogram, bool timestamp) {
  const Json& counts = histogram["counts"];
  if (!counts.is_array() || counts.empty()) return "";
  int64_t peak = 1;
  for (const Json& c : counts) peak = std::max(peak, c.get<int64_t>());
  const int width = 400, height = 120, base = 100;
  double bar = static_cast<double>(width) / static_cast<double>(counts.size());
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" role=\"img\">";
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t c = counts[i].get<int64_t>();
    double h = static_cast<double>(base - 4) * static_cast<double>(c) / static_cast<double>(peak);
    char rect[256];
    std::snprintf(rect, sizeof(rect),
                  "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" class=\"bar\">"
                  "<title>%lld</title></rect>",
                  i * bar + 1, base - h, std::max(bar - 2, 1.0), h, static_cast<long long>(c));
    svg += rect;
  }
  svg += "<line x1=\"0\" y1=\"" + std::to_string(base) + "\" x2=\"" + std::to_string(width) +
         "\" y2=\"" + std::to_string(base) + "\" class=\"axis\"/>";
  svg += "<text x=\"0\" y=\"116\">" +
         Text(Shown(Field(histogram, "min"), Field(histogram, "min_time"), timestamp)) + "</text>";
  svg += "<text x=\"" + std::to_string(width) + "\" y=\"116\" text-anchor=\"end\">" +
         Text(Shown(Field(histogram, "max"), Field(histogram, "max_time"), timestamp)) +
         "</text></svg>";
  return svg;
}

std::string Row(const std::string& key, const std::string& value) {
  return "<tr><th>" + key + "</th><td>" + value + "</td></tr>";
}

std::string ColumnSection(const Json& c) {
  std::string html = "<section class=\"column\"><h2>" + Text(Field(c, "name")) +
                     " <span class=\"type\">" + Text(Field(c, "type")) + "</span></h2>";
  html += "<table class=\"stats\">";
  html += Row("count", Text(Field(c, "count"))) + Row("nulls", Text(Field(c, "nulls")));
  if (Field(c, "masked").is_string()) {
    html += "</table><p class=\"masked\">masked (PII): values are not shown to your role</p>";
    return html + "</section>";
  }
  const bool timestamp = Field(c, "type") == "timestamp";
  if (!Field(c, "distinct").is_null()) html += Row("distinct", Text(c["distinct"]));
  for (const char* key : {"min", "max", "mean"}) {
    if (c.contains(key)) {
      html +=
          Row(key, Text(Shown(c[key], Field(c, (std::string(key) + "_time").c_str()), timestamp)));
    }
  }
  if (c.contains("std")) {
    const bool duration = timestamp && c["std"].is_number();
    html += Row("std", duration ? DurationText(c["std"].get<double>()) : Text(c["std"]));
  }
  if (c.contains("quantiles") && c["quantiles"].is_object()) {
    const Json times = Field(c, "quantiles_time");
    for (const auto& [q, v] : c["quantiles"].items()) {
      html += Row(Escape(q), Text(Shown(v, Field(times, q.c_str()), timestamp)));
    }
  }
  html += "</table>";
  if (c.contains("histogram") && c["histogram"].is_object()) {
    html += "<div class=\"chart\">" + HistogramSvg(c["histogram"], timestamp) + "</div>";
  }
  if (c.contains("top") && c["top"].is_array() && !c["top"].empty()) {
    html += "<table class=\"top\"><tr><th>value</th><th>count</th></tr>";
    for (const Json& t : c["top"]) {
      html += "<tr><td>" + Text(Field(t, "value")) + "</td><td>" + Text(Field(t, "count")) +
              "</td></tr>";
    }
    html += "</table>";
  }
  return html + "</section>";
}

constexpr char kStyle[] = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;
color:#1f2933;background:#fafbfc;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.25rem}
.meta{color:#52606d;margin-bottom:1.5rem}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(30rem,1fr));gap:1rem}
.column{background:#fff;border:1px solid #d9e2ec;border-radius:6px;padding:1rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
.type{font-weight:normal;color:#627d98;font-size:.9rem}
table{border-collapse:collapse;margin:.25rem 0 .5rem;font-size:.9rem}
th,td{padding:.15rem .75rem .15rem 0;text-align:left}
.stats th{color:#52606d;font-weight:normal}
.top th{border-bottom:1px solid #d9e2ec}
.masked{color:#9b2c2c;font-weight:bold}
.bar{fill:#2680c2}
.axis{stroke:#829ab1}
svg text{font-size:11px;fill:#52606d}
)";

}  // namespace

std::string RenderProfileHtml(const Json& profile, const std::string& title) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     Escape(title) + "</title><style>" + kStyle + "</style></head><body>\n<h1>" +
                     Escape(title) + "</h1>";
  html += "<p class=\"meta\">" + Text(Field(profile, "rows")) + " rows";
  if (profile.contains("columns") && profile["columns"].is_array()) {
    html += ", " + std::to_string(profile["columns"].size()) + " columns";
  }
  for (const char* key : {"version", "classification"}) {
    if (Field(profile, key).is_string())
      html += " &middot; " + std::string(key) + " " + Text(profile[key]);
  }
  html += "</p>\n<div class=\"grid\">\n";
  if (profile.contains("columns") && profile["columns"].is_array()) {
    for (const Json& c : profile["columns"]) html += ColumnSection(c) + "\n";
  }
  return html + "</div></body></html>\n";
}

}  // namespace plinth
