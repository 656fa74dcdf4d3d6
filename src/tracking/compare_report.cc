#include "tracking/compare_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "core/html.h"

namespace plinth {
namespace {

// Colours that stay distinguishable for the common forms of colour blindness (Okabe-Ito).
constexpr const char* kColours[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                    "#56B4E9", "#D55E00", "#F0E442", "#000000"};

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

// One metric's chart: x is the step, y the value; a run with a single point is drawn as a dot.
std::string Chart(const std::string& key, const std::vector<CompareRun>& runs) {
  constexpr double kW = 520, kH = 260, kLeft = 60, kRight = 16, kTop = 24, kBottom = 36;
  double min_x = std::numeric_limits<double>::infinity(), max_x = -min_x;
  double min_y = min_x, max_y = -min_x;
  for (const auto& run : runs) {
    auto it = run.metrics.find(key);
    if (it == run.metrics.end()) continue;
    for (const auto& [step, value] : it->second) {
      if (!std::isfinite(value)) continue;
      min_x = std::min(min_x, static_cast<double>(step));
      max_x = std::max(max_x, static_cast<double>(step));
      min_y = std::min(min_y, value);
      max_y = std::max(max_y, value);
    }
  }
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + Fmt(kW) + "' height='" +
                    Fmt(kH) + "' role='img' aria-label='" + HtmlEscape(key) + "'>";
  svg += "<text x='" + Fmt(kLeft) + "' y='16' font-size='13' font-weight='bold'>" +
         HtmlEscape(key) + "</text>";
  if (!std::isfinite(min_x)) return svg + "<text x='60' y='120'>no finite values</text></svg>";
  if (max_x == min_x) max_x = min_x + 1;
  if (max_y == min_y) {
    max_y += 0.5;
    min_y -= 0.5;
  }
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto sx = [&](double x) { return kLeft + (x - min_x) / (max_x - min_x) * pw; };
  auto sy = [&](double y) { return kTop + ph - (y - min_y) / (max_y - min_y) * ph; };
  svg += "<rect x='" + Fmt(kLeft) + "' y='" + Fmt(kTop) + "' width='" + Fmt(pw) + "' height='" +
         Fmt(ph) + "' fill='none' stroke='#999'/>";
  for (int i = 0; i <= 4; ++i) {
    double y = min_y + (max_y - min_y) * i / 4;
    svg += "<text x='" + Fmt(kLeft - 6) + "' y='" + Fmt(sy(y) + 4) +
           "' font-size='10' text-anchor='end'>" + Fmt(y) + "</text>";
    double x = min_x + (max_x - min_x) * i / 4;
    svg += "<text x='" + Fmt(sx(x)) + "' y='" + Fmt(kTop + ph + 14) +
           "' font-size='10' text-anchor='middle'>" + Fmt(x) + "</text>";
  }
  svg += "<text x='" + Fmt(kLeft + pw / 2) + "' y='" + Fmt(kH - 4) +
         "' font-size='11' text-anchor='middle'>step</text>";
  for (size_t r = 0; r < runs.size(); ++r) {
    auto it = runs[r].metrics.find(key);
    if (it == runs[r].metrics.end()) continue;
    const char* colour = kColours[r % std::size(kColours)];
    std::string path;
    for (const auto& [step, value] : it->second) {
      if (!std::isfinite(value)) {
        path += " ";  // a gap: the next point starts a new segment
        continue;
      }
      bool move = path.empty() || path.back() == ' ';
      path += (move ? "M" : "L") + Fmt(sx(static_cast<double>(step))) + "," + Fmt(sy(value)) + " ";
      if (it->second.size() == 1) {
        svg += "<circle cx='" + Fmt(sx(static_cast<double>(step))) + "' cy='" + Fmt(sy(value)) +
               "' r='3' fill='" + colour + "'/>";
      }
    }
    svg += "<path d='" + path + "' fill='none' stroke='" + colour + "' stroke-width='1.5'/>";
  }
  return svg + "</svg>";
}

}  // namespace

std::string RenderCompareHtml(const std::vector<CompareRun>& runs) {
  std::string html =
      "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Run comparison</title><style>"
      "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
      "table{border-collapse:collapse;margin-bottom:24px}td,th{border:1px solid #ccc;"
      "padding:4px 8px;text-align:left}.swatch{display:inline-block;width:12px;height:12px;"
      "margin-right:6px}.charts svg{margin:0 16px 16px 0}</style></head><body>"
      "<h1>Run comparison</h1><table><tr><th>param</th>";
  for (size_t r = 0; r < runs.size(); ++r) {
    html += "<th><span class='swatch' style='background:" +
            std::string(kColours[r % std::size(kColours)]) + "'></span>" +
            HtmlEscape(runs[r].name) + "<br><small>" + HtmlEscape(runs[r].id) + "</small></th>";
  }
  html += "</tr>";
  std::set<std::string> params, metrics;
  for (const auto& run : runs) {
    for (const auto& [k, _] : run.params) params.insert(k);
    for (const auto& [k, _] : run.metrics) metrics.insert(k);
  }
  for (const auto& k : params) {
    std::set<std::string> values;
    for (const auto& run : runs) {
      auto it = run.params.find(k);
      values.insert(it == run.params.end() ? "" : it->second);
    }
    // Params that differ between runs are what explains their metrics: emphasise them.
    bool differs = values.size() > 1;
    html += "<tr><td>" + std::string(differs ? "<b>" : "") + HtmlEscape(k) +
            (differs ? "</b>" : "") + "</td>";
    for (const auto& run : runs) {
      auto it = run.params.find(k);
      html += "<td>" + (it == run.params.end() ? std::string("&ndash;") : HtmlEscape(it->second)) +
              "</td>";
    }
    html += "</tr>";
  }
  html += "</table><h2>Metrics</h2><div class='charts'>";
  for (const auto& k : metrics) html += Chart(k, runs);
  return html + "</div></body></html>\n";
}

}  // namespace plinth
