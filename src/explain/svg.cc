#include "explain/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/html.h"

namespace plinth::explain_svg {

double Frame::X(double v) const {
  const double span = x_max - x_min;
  return left + (span > 0 ? std::clamp((v - x_min) / span, 0.0, 1.0) : 0.5) * width;
}

double Frame::Y(double v) const {
  const double span = y_max - y_min;
  return top + height - (span > 0 ? std::clamp((v - y_min) / span, 0.0, 1.0) : 0.5) * height;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Tick(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return Fmt("%.4g", v);
}

std::vector<double> NiceTicks(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    // One value: a unit-wide range around it, so the plot still has an axis.
    const double pad = std::max(std::fabs(lo) * 0.1, 1e-3);
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double nice : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (nice * magnitude >= raw * (1 - 1e-9)) {
      step = nice * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (double t = first; t < hi + step * (1 - 1e-9); t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    if (ticks.size() > 12) break;
  }
  return ticks;
}

std::string Open(const Frame& f, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(f.svg_width()) +
         "\" height=\"" + std::to_string(f.svg_height()) + "\" viewBox=\"0 0 " +
         std::to_string(f.svg_width()) + " " + std::to_string(f.svg_height()) +
         "\" role=\"img\" font-family=\"system-ui,-apple-system,'Segoe UI',sans-serif\" "
         "font-size=\"11\"><title>" +
         HtmlEscape(title) + "</title>";
}

std::string Text(double x, double y, const std::string& text, const std::string& anchor,
                 const std::string& fill, const std::string& extra) {
  return "<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" text-anchor=\"" + anchor +
         "\" fill=\"" + fill + "\"" + (extra.empty() ? "" : " " + extra) + ">" + HtmlEscape(text) +
         "</text>";
}

std::string Axes(const Frame& f, const std::vector<double>& x_ticks,
                 const std::vector<double>& y_ticks, const std::string& x_title,
                 const std::string& y_title) {
  std::string svg;
  for (double v : x_ticks) {
    const double x = f.X(v);
    svg += "<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.1f", f.top) + "\" x2=\"" +
           Fmt("%.1f", x) + "\" y2=\"" + Fmt("%.1f", f.top + f.height) + "\" stroke=\"#e4e7eb\"/>";
    svg += Text(x, f.top + f.height + 14, Tick(v), "middle", "#52606d");
  }
  for (double v : y_ticks) {
    const double y = f.Y(v);
    svg += "<line x1=\"" + Fmt("%.1f", f.left) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
           Fmt("%.1f", f.left + f.width) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#e4e7eb\"/>";
    svg += Text(f.left - 6, y + 4, Tick(v), "end", "#52606d");
  }
  svg += "<polyline points=\"" + Fmt("%.1f", f.left) + "," + Fmt("%.1f", f.top) + " " +
         Fmt("%.1f", f.left) + "," + Fmt("%.1f", f.top + f.height) + " " +
         Fmt("%.1f", f.left + f.width) + "," + Fmt("%.1f", f.top + f.height) +
         "\" fill=\"none\" stroke=\"#829ab1\"/>";
  svg += Text(f.left + f.width / 2, f.top + f.height + f.bottom_margin - 12, x_title, "middle");
  const double cy = f.top + f.height / 2;
  svg += Text(14, cy, y_title, "middle", "#1f2933",
              "transform=\"rotate(-90 14 " + Fmt("%.1f", cy) + ")\"");
  return svg;
}

}  // namespace plinth::explain_svg
