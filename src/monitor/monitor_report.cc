#include "monitor/monitor_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/html.h"
#include "train/evaluation.h"

namespace plinth::monitor {
namespace {

// Colours: baseline in a muted blue-grey, current in orange (distinguishable in greyscale and for
// the common colour-vision deficiencies); statuses and severities as traffic lights.
constexpr char kBaselineColour[] = "#9fb3c8";
constexpr char kCurrentColour[] = "#e8833a";
constexpr char kAucColour[] = "#2680c2";
constexpr char kKsColour[] = "#d64545";
constexpr char kInk[] = "#1f2933";
constexpr char kMuted[] = "#52606d";
constexpr char kGrid[] = "#e4e7eb";
// At most this many bins or categories per small plot; the rest are named in a note.
constexpr size_t kMaxPlottedBins = 12;
// Labels under bars are cut after this many characters (the full label is in the tooltip).
constexpr size_t kMaxTickLabel = 12;

std::string Esc(std::string_view text) { return HtmlEscape(text); }

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Num(const std::optional<double>& v, int digits = 3) {
  if (!v.has_value() || !std::isfinite(*v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, *v);
  return buf;
}

std::string Percent(const std::optional<double>& v) {
  if (!v.has_value() || !std::isfinite(*v)) return "-";
  return Fmt("%.1f%%", 100 * *v);
}

// Cuts a label after `max` characters (not inside a UTF-8 sequence) and marks the cut.
std::string Cut(const std::string& text, size_t max) {
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) continue;
    if (chars == max) return text.substr(0, i) + "\xe2\x80\xa6";  // U+2026
    ++chars;
  }
  return text;
}

// The smallest round number at least `v`, so axes end on a readable value.
double NiceMax(double v) {
  for (double nice : {0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0}) {
    if (v <= nice + 1e-12) return nice;
  }
  return std::ceil(v);
}

// How many steps to divide [0, max] into (4 or 5) so each step is 1, 2, 2.5 or 5 times a power
// of ten: ticks at 0.1 steps on a 0.5 axis rather than at 0.125.
int Steps(double max) {
  for (int steps : {4, 5}) {
    const double step = max / steps;
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    for (double nice : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (std::fabs(mantissa - nice) < 1e-9) return steps;
    }
  }
  return 4;
}

// A tick value without trailing zeros: 0.25, 0.1, 0.
std::string Tick(double v, const char* format = "%.3f") {
  std::string s = Fmt(format, v);
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

// What a bar's tick says: a category, or a numeric bin's lower edge ("< 5" for the first bin).
std::string TickLabel(const BinShare& b) {
  if (b.lower.has_value()) return "\xe2\x89\xa5 " + Fmt("%.4g", *b.lower);  // U+2265
  if (b.upper.has_value()) return "< " + Fmt("%.4g", *b.upper);
  return Cut(b.label, kMaxTickLabel);
}

std::string StatusBadge(DriftStatus status) {
  const std::string name = DriftStatusName(status);
  return "<span class=\"badge " + name + "\">" + name + "</span>";
}

std::string SeverityBadge(AlertSeverity severity) {
  const std::string name = AlertSeverityName(severity);
  return "<span class=\"badge " + name + "\">" + name + "</span>";
}

// Features sorted by PSI, highest first; absent PSI last; ties in baseline order.
std::vector<const FeatureDrift*> ByPsi(const DriftReport& report) {
  std::vector<const FeatureDrift*> out;
  for (const FeatureDrift& f : report.features) out.push_back(&f);
  std::stable_sort(out.begin(), out.end(), [](const FeatureDrift* a, const FeatureDrift* b) {
    const double pa = a->psi.value_or(-1), pb = b->psi.value_or(-1);
    return pa > pb;
  });
  return out;
}

std::string SvgOpen(int width, int height, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) +
         " " + std::to_string(height) +
         "\" role=\"img\" font-family=\"system-ui,-apple-system,'Segoe UI',sans-serif\" "
         "font-size=\"11\"><title>" +
         Esc(title) + "</title>";
}

std::string LegendEntry(double x, double y, const char* colour, const std::string& label,
                        bool line) {
  std::string svg;
  if (line) {
    svg += "<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.1f", y - 4) + "\" x2=\"" +
           Fmt("%.1f", x + 14) + "\" y2=\"" + Fmt("%.1f", y - 4) + "\" stroke=\"" + colour +
           "\" stroke-width=\"2\"/>";
  } else {
    svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y - 9) +
           "\" width=\"10\" height=\"10\" fill=\"" + colour + "\"/>";
  }
  svg += "<text x=\"" + Fmt("%.1f", x + 18) + "\" y=\"" + Fmt("%.1f", y) + "\" fill=\"" + kInk +
         "\">" + Esc(label) + "</text>";
  return svg;
}

// Baseline and current share per bin or category, as paired bars.
std::string DistributionSvg(const FeatureDrift& f, int width, int height) {
  std::vector<size_t> shown(f.bins.size());
  std::iota(shown.begin(), shown.end(), 0);
  if (shown.size() > kMaxPlottedBins) {
    // The categories that matter most on either side, kept in the baseline's order.
    std::stable_sort(shown.begin(), shown.end(), [&](size_t a, size_t b) {
      return std::max(f.bins[a].baseline, f.bins[a].current) >
             std::max(f.bins[b].baseline, f.bins[b].current);
    });
    shown.resize(kMaxPlottedBins);
    std::sort(shown.begin(), shown.end());
  }
  double max = 0;
  for (size_t i : shown) max = std::max({max, f.bins[i].baseline, f.bins[i].current});
  const double y_max = NiceMax(std::max(max, 1e-9));
  const double left = 46, top = 24, right = 10, bottom = 64;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto Y = [&](double v) { return top + plot_h - std::clamp(v / y_max, 0.0, 1.0) * plot_h; };

  std::string svg = SvgOpen(width, height, f.name + ": baseline and current distribution");
  const int steps = Steps(y_max);
  for (int i = 0; i <= steps; ++i) {
    const double v = y_max * i / steps, y = Y(v);
    svg += "<line x1=\"" + Fmt("%.1f", left) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
           Fmt("%.1f", left + plot_w) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"" + kGrid +
           "\"/>";
    svg += "<text x=\"" + Fmt("%.1f", left - 5) + "\" y=\"" + Fmt("%.1f", y + 4) +
           "\" text-anchor=\"end\" fill=\"" + kMuted + "\">" + Tick(100 * v, "%.1f") + "%</text>";
  }
  svg += "<text x=\"11\" y=\"" + Fmt("%.1f", top + plot_h / 2) + "\" text-anchor=\"middle\" " +
         "fill=\"" + kInk + "\" transform=\"rotate(-90 11 " + Fmt("%.1f", top + plot_h / 2) +
         ")\">Share of values</text>";
  const double slot = plot_w / static_cast<double>(std::max<size_t>(shown.size(), 1));
  const double bar = std::max(slot * 0.38, 1.0);
  for (size_t k = 0; k < shown.size(); ++k) {
    const BinShare& b = f.bins[shown[k]];
    const double x = left + slot * static_cast<double>(k) + slot * 0.1;
    const std::string tip = Esc(b.label) + ": baseline " + Fmt("%.1f%%", 100 * b.baseline) +
                            ", current " + Fmt("%.1f%%", 100 * b.current);
    svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", Y(b.baseline)) + "\" width=\"" +
           Fmt("%.1f", bar) + "\" height=\"" + Fmt("%.1f", top + plot_h - Y(b.baseline)) +
           "\" fill=\"" + kBaselineColour + "\"><title>" + tip + "</title></rect>";
    svg += "<rect x=\"" + Fmt("%.1f", x + bar) + "\" y=\"" + Fmt("%.1f", Y(b.current)) +
           "\" width=\"" + Fmt("%.1f", bar) + "\" height=\"" +
           Fmt("%.1f", top + plot_h - Y(b.current)) + "\" fill=\"" + kCurrentColour + "\"><title>" +
           tip + "</title></rect>";
    const double cx = x + bar, cy = top + plot_h + 10;
    svg += "<text x=\"" + Fmt("%.1f", cx) + "\" y=\"" + Fmt("%.1f", cy) +
           "\" text-anchor=\"end\" fill=\"" + kMuted + "\" transform=\"rotate(-40 " +
           Fmt("%.1f", cx) + " " + Fmt("%.1f", cy) + ")\">" + Esc(TickLabel(b)) + "<title>" +
           Esc(b.label) + "</title></text>";
  }
  svg += "<polyline points=\"" + Fmt("%.1f", left) + "," + Fmt("%.1f", top) + " " +
         Fmt("%.1f", left) + "," + Fmt("%.1f", top + plot_h) + " " + Fmt("%.1f", left + plot_w) +
         "," + Fmt("%.1f", top + plot_h) + "\" fill=\"none\" stroke=\"#829ab1\"/>";
  svg += LegendEntry(left + 4, 14, kBaselineColour, "baseline", false);
  svg += LegendEntry(left + 84, 14, kCurrentColour, "current", false);
  if (shown.size() < f.bins.size()) {
    svg += "<text x=\"" + Fmt("%.1f", left + plot_w) + "\" y=\"14\" text-anchor=\"end\" fill=\"" +
           kMuted + "\">" + std::to_string(shown.size()) + " of " + std::to_string(f.bins.size()) +
           " shown</text>";
  }
  return svg + "</svg>";
}

// Dates on a time axis: the day, or the day and time when windows are shorter than a day.
std::string TimeLabel(int64_t micros, bool with_time) {
  const std::string t = FormatTime(micros);
  if (t.size() < 16) return t;
  return with_time ? t.substr(5, 11) : t.substr(0, 10);
}

// "2025-03-03 00:00" (UTC): the precision windows are read at.
std::string ShortTime(int64_t micros) {
  std::string t = FormatTime(micros);
  if (t.size() < 16) return t;
  t[10] = ' ';
  return t.substr(0, 16);
}

struct Series {
  std::string name;
  const char* colour;
  std::vector<std::optional<double>> values;
};

// One line per series over the windows (gaps where a value is absent), y from 0 to y_max.
std::string LineChartSvg(const std::string& title, const std::vector<PerformanceWindow>& windows,
                         const std::vector<Series>& series, double y_max,
                         const std::string& y_title) {
  const int width = 640, height = 280;
  // Room on the right for the last date label, centred on the last window.
  const double left = 56, top = 28, right = 44, bottom = 58;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  const size_t n = windows.size();
  auto X = [&](size_t i) {
    return n <= 1 ? left + plot_w / 2 : left + plot_w * static_cast<double>(i) / (n - 1);
  };
  auto Y = [&](double v) { return top + plot_h - std::clamp(v / y_max, 0.0, 1.0) * plot_h; };
  bool with_time = false;
  for (const PerformanceWindow& w : windows) {
    if (w.end_micros - w.start_micros < int64_t{86400} * 1000000) with_time = true;
  }

  std::string svg = SvgOpen(width, height, title);
  const int steps = Steps(y_max);
  for (int i = 0; i <= steps; ++i) {
    const double v = y_max * i / steps, y = Y(v);
    svg += "<line x1=\"" + Fmt("%.1f", left) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
           Fmt("%.1f", left + plot_w) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"" + kGrid +
           "\"/>";
    svg += "<text x=\"" + Fmt("%.1f", left - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
           "\" text-anchor=\"end\" fill=\"" + kMuted + "\">" + Tick(v) + "</text>";
  }
  const size_t step = std::max<size_t>(1, (n + 7) / 8);
  for (size_t i = 0; i < n; i += step) {
    const double x = X(i), y = top + plot_h + 16;
    svg += "<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) +
           "\" text-anchor=\"middle\" fill=\"" + kMuted + "\">" +
           Esc(TimeLabel(windows[i].start_micros, with_time)) + "</text>";
  }
  svg += "<polyline points=\"" + Fmt("%.1f", left) + "," + Fmt("%.1f", top) + " " +
         Fmt("%.1f", left) + "," + Fmt("%.1f", top + plot_h) + " " + Fmt("%.1f", left + plot_w) +
         "," + Fmt("%.1f", top + plot_h) + "\" fill=\"none\" stroke=\"#829ab1\"/>";
  svg += "<text x=\"" + Fmt("%.1f", left + plot_w / 2) + "\" y=\"" +
         Fmt("%.1f", top + plot_h + 40) + "\" text-anchor=\"middle\" fill=\"" + kInk +
         "\">Window start (UTC)</text>";
  svg += "<text x=\"14\" y=\"" + Fmt("%.1f", top + plot_h / 2) + "\" text-anchor=\"middle\" " +
         "fill=\"" + kInk + "\" transform=\"rotate(-90 14 " + Fmt("%.1f", top + plot_h / 2) +
         ")\">" + Esc(y_title) + "</text>";
  double legend_x = left + 6;
  for (const Series& s : series) {
    std::string points;
    auto flush = [&] {
      if (!points.empty()) {
        svg += "<polyline fill=\"none\" stroke=\"" + std::string(s.colour) +
               "\" stroke-width=\"2\" points=\"" + points + "\"/>";
      }
      points.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      if (!s.values[i].has_value() || !std::isfinite(*s.values[i])) {
        flush();
        continue;
      }
      const double x = X(i), y = Y(*s.values[i]);
      points += (points.empty() ? "" : " ") + Fmt("%.1f", x) + "," + Fmt("%.1f", y);
    }
    flush();
    for (size_t i = 0; i < n; ++i) {
      if (!s.values[i].has_value() || !std::isfinite(*s.values[i])) continue;
      svg += "<circle cx=\"" + Fmt("%.1f", X(i)) + "\" cy=\"" + Fmt("%.1f", Y(*s.values[i])) +
             "\" r=\"3\" fill=\"" + s.colour + "\"><title>" + Esc(s.name) + " " +
             Fmt("%.4f", *s.values[i]) + ", window from " +
             Esc(FormatTime(windows[i].start_micros)) + ", " + std::to_string(windows[i].rows) +
             " rows</title></circle>";
    }
    svg += LegendEntry(legend_x, 16, s.colour, s.name, true);
    legend_x += 30 + 7.0 * static_cast<double>(s.name.size());
  }
  return svg + "</svg>";
}

const char kStyle[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:1200px;padding:0 1em;color:#1f2933}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #e4e7eb;"
    "padding-bottom:.3em}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "th,td{border-bottom:1px solid #e4e7eb;padding:4px 10px;text-align:left;font-size:13px;"
    "vertical-align:top}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".card{border:1px solid #e4e7eb;border-radius:6px;padding:10px 14px;min-width:140px}\n"
    ".card .k{font-size:12px;color:#52606d}.card .v{font-size:20px;font-weight:600}\n"
    ".badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;"
    "font-weight:600;color:#fff}\n"
    ".ok{background:#2e7d32}.warn,.warning{background:#ef6c00}.drift,.critical{background:"
    "#c62828}.info{background:#2680c2}\n"
    ".grid{display:flex;flex-wrap:wrap;gap:16px}\n"
    ".plot{border:1px solid #e4e7eb;border-radius:6px;padding:6px}\n"
    ".plot h3{font-size:13px;margin:2px 4px 4px;font-weight:600}\n"
    ".bar{display:inline-block;height:9px;background:#e8833a;vertical-align:middle;"
    "margin-right:6px}\n"
    ".muted{color:#52606d}\n";

std::string Card(const std::string& key, const std::string& value_html) {
  return "<div class=\"card\"><div class=\"k\">" + Esc(key) + "</div><div class=\"v\">" +
         value_html + "</div></div>\n";
}

std::string SummarySection(const MonitorReportInput& in) {
  std::string html = "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n";
  html += Card("Model", Esc(in.model));
  html += Card("Version", Esc(in.version));
  if (!in.window.empty()) html += Card("Window", Esc(in.window));
  if (in.drift != nullptr) {
    html += Card("Rows", std::to_string(in.drift->rows));
    html += Card("Baseline rows", std::to_string(in.drift->baseline_rows));
    html += Card("Drift status", "<span class=\"badge drift\">" +
                                     std::to_string(in.drift->drift_count) +
                                     " drift</span> <span class=\"badge warn\">" +
                                     std::to_string(in.drift->warn_count) + " warn</span>");
  }
  if (in.performance != nullptr) {
    html += Card("Labelled rows", std::to_string(in.performance->rows));
    if (!in.performance->windows.empty()) {
      html += Card("Latest AUC", Num(in.performance->windows.back().auc));
    }
  }
  size_t counts[3] = {0, 0, 0};
  for (const Alert& a : in.alerts) ++counts[static_cast<int>(a.severity)];
  std::string alerts;
  for (AlertSeverity s :
       {AlertSeverity::kCritical, AlertSeverity::kWarning, AlertSeverity::kInfo}) {
    alerts += "<span class=\"badge " + AlertSeverityName(s) + "\">" +
              std::to_string(counts[static_cast<int>(s)]) + " " + AlertSeverityName(s) + "</span> ";
  }
  html += Card("Alerts", alerts);
  html += "</div>\n</section>\n";
  return html;
}

std::string AlertsSection(const std::vector<Alert>& alerts) {
  std::string html = "<section id=\"alerts\">\n<h2>Alerts</h2>\n";
  if (alerts.empty()) return html + "<p class=\"muted\">No alerts.</p>\n</section>\n";
  html +=
      "<table>\n<tr><th>Severity</th><th>Rule</th><th>Metric</th><th>Feature</th>"
      "<th class=\"n\">Value</th><th>Threshold</th><th>Message</th></tr>\n";
  for (const Alert& a : alerts) {
    html += "<tr><td>" + SeverityBadge(a.severity) + "</td><td>" + Esc(a.rule) + "</td><td>" +
            Esc(AlertMetricName(a.metric)) + "</td><td>" + Esc(a.feature) +
            "</td><td class=\"n\">" + Num(a.value, 4) + "</td><td>" + Esc(a.comparison) + " " +
            Num(a.threshold, 4) + "</td><td>" + Esc(a.message) + "</td></tr>\n";
  }
  return html + "</table>\n</section>\n";
}

std::string FeaturesSection(const DriftReport& drift) {
  std::string html =
      "<section id=\"features\">\n<h2>Features by drift</h2>\n<p class=\"muted\">PSI and JS "
      "over the baseline's bins or categories, KS against the baseline's sample; levels: PSI " +
      Fmt("%g", drift.thresholds.psi_warn) + " / " + Fmt("%g", drift.thresholds.psi_drift) +
      ", KS " + Fmt("%g", drift.thresholds.ks_warn) + " / " + Fmt("%g", drift.thresholds.ks_drift) +
      ", JS " + Fmt("%g", drift.thresholds.js_warn) + " / " + Fmt("%g", drift.thresholds.js_drift) +
      " (warn / drift).</p>\n<table>\n<tr><th>Feature</th><th>Kind</th><th class=\"n\">PSI</th>"
      "<th class=\"n\">KS</th><th class=\"n\">JS</th><th class=\"n\">Missing (baseline)</th>"
      "<th class=\"n\">Missing (current)</th><th class=\"n\">Invalid</th>"
      "<th class=\"n\">Values</th><th>Status</th><th>Why</th></tr>\n";
  double scale = std::max(drift.thresholds.psi_drift * 1.2, 1e-9);
  for (const FeatureDrift& f : drift.features) scale = std::max(scale, f.psi.value_or(0));
  for (const FeatureDrift* f : ByPsi(drift)) {
    const int bar = static_cast<int>(80 * std::clamp(f->psi.value_or(0) / scale, 0.0, 1.0));
    html += "<tr><td>" + Esc(f->name) + "</td><td>" + FeatureKindName(f->kind) +
            "</td><td class=\"n\"><span class=\"bar\" style=\"width:" + std::to_string(bar) +
            "px\"></span>" + Num(f->psi) + "</td><td class=\"n\">" + Num(f->ks) +
            "</td><td class=\"n\">" + Num(f->js) + "</td><td class=\"n\">" +
            Percent(f->baseline_missing_rate) + "</td><td class=\"n\">" + Percent(f->missing_rate) +
            "</td><td class=\"n\">" + std::to_string(f->invalid) + "</td><td class=\"n\">" +
            std::to_string(f->values) + "</td><td>" + StatusBadge(f->status) + "</td><td>" +
            Esc(f->reason) + "</td></tr>\n";
  }
  return html + "</table>\n</section>\n";
}

std::string DistributionsSection(const DriftReport& drift) {
  std::string html =
      "<section id=\"distributions\">\n<h2>Distributions</h2>\n<p class=\"muted\">Share of "
      "non-missing values per bin (numeric features: the baseline's deciles) or category, "
      "baseline against current.</p>\n<div class=\"grid\">\n";
  for (const FeatureDrift* f : ByPsi(drift)) {
    html += "<div class=\"plot\"><h3>" + Esc(f->name) + " " + StatusBadge(f->status) +
            " <span class=\"muted\">PSI " + Num(f->psi) + "</span></h3>" +
            DistributionSvg(*f, 330, 230) + "</div>\n";
  }
  return html + "</div>\n</section>\n";
}

std::string ScoreSection(const FeatureDrift& score) {
  std::string html =
      "<section id=\"score\">\n<h2>Score distribution</h2>\n<p>" + StatusBadge(score.status) +
      " PSI " + Num(score.psi) + ", KS " + Num(score.ks) + ", JS " + Num(score.js) +
      "; mean score " + Num(score.baseline_mean, 4) + " (baseline) against " + Num(score.mean, 4) +
      " (current), over " + std::to_string(score.values) +
      " scored rows.</p>\n<div class=\"plot\">" + DistributionSvg(score, 640, 300) + "</div>\n";
  return html + "</section>\n";
}

std::string PerformanceSection(const PerformanceReport& p) {
  std::string html = "<section id=\"performance\">\n<h2>Performance over time</h2>\n";
  if (p.windows.empty()) {
    return html + "<p class=\"muted\">No labelled outcomes yet.</p>\n</section>\n";
  }
  std::vector<Series> ranking = {{"AUC", kAucColour, {}}, {"KS", kKsColour, {}}};
  std::vector<Series> calibration = {{"observed rate", kKsColour, {}},
                                     {"mean score", kAucColour, {}}};
  double rate_max = 0;
  for (const PerformanceWindow& w : p.windows) {
    ranking[0].values.push_back(w.auc);
    ranking[1].values.push_back(w.ks);
    calibration[0].values.push_back(w.base_rate);
    calibration[1].values.push_back(w.mean_score);
    rate_max = std::max({rate_max, w.base_rate, w.mean_score});
  }
  html += "<div class=\"grid\">\n<div class=\"plot\">" +
          LineChartSvg("AUC and KS per window", p.windows, ranking, 1.0, "AUC, KS") +
          "</div>\n<div class=\"plot\">" +
          LineChartSvg("Observed positive rate and mean score per window", p.windows, calibration,
                       NiceMax(std::max(rate_max, 1e-9)), "Rate") +
          "</div>\n</div>\n";
  html +=
      "<table>\n<tr><th>Window start (UTC)</th><th>End</th><th class=\"n\">Rows</th>"
      "<th class=\"n\">Positives</th><th class=\"n\">Observed rate</th>"
      "<th class=\"n\">Mean score</th><th class=\"n\">AUC</th><th class=\"n\">KS</th>"
      "<th class=\"n\">Brier</th></tr>\n";
  auto row = [](const PerformanceWindow& w, const std::string& start, const std::string& end) {
    return "<tr><td>" + Esc(start) + "</td><td>" + Esc(end) + "</td><td class=\"n\">" +
           std::to_string(w.rows) + "</td><td class=\"n\">" + std::to_string(w.positives) +
           "</td><td class=\"n\">" + Percent(w.base_rate) + "</td><td class=\"n\">" +
           Num(w.mean_score, 4) + "</td><td class=\"n\">" + Num(w.auc, 4) +
           "</td><td class=\"n\">" + Num(w.ks, 4) + "</td><td class=\"n\">" + Num(w.brier, 4) +
           "</td></tr>\n";
  };
  for (const PerformanceWindow& w : p.windows) {
    html += row(w, ShortTime(w.start_micros), ShortTime(w.end_micros));
  }
  if (p.overall.has_value()) html += row(*p.overall, "all windows", "");
  html += "</table>\n";
  const std::string roc = RocCurveSvg(p.overall_metrics);
  const std::string cal = CalibrationSvg(p.overall_metrics);
  if (!roc.empty() || !cal.empty()) {
    html += "<h3>All labelled outcomes</h3>\n<div class=\"grid\">\n";
    if (!roc.empty()) html += "<div class=\"plot\">" + roc + "</div>\n";
    if (!cal.empty()) html += "<div class=\"plot\">" + cal + "</div>\n";
    html += "</div>\n";
  }
  return html + "</section>\n";
}

// Terminal text: control characters would move the cursor or worse.
std::string Printable(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

// Display width of UTF-8 text: one column per code point.
size_t Width(const std::string& text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

std::string RenderMonitorHtml(const MonitorReportInput& in) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>Monitoring: " + Esc(in.model) + " " + Esc(in.version) + "</title>\n";
  html += "<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  html += "<h1>Monitoring report: " + Esc(in.model) + " <span class=\"muted\">version " +
          Esc(in.version) + "</span></h1>\n";
  html += SummarySection(in);
  html += AlertsSection(in.alerts);
  if (in.drift != nullptr) {
    html += FeaturesSection(*in.drift);
    html += DistributionsSection(*in.drift);
    if (in.drift->score.has_value()) html += ScoreSection(*in.drift->score);
  }
  if (in.performance != nullptr) html += PerformanceSection(*in.performance);
  if (!in.generated_at.empty()) {
    html += "<p class=\"muted\">Generated " + Esc(in.generated_at) + ".</p>\n";
  }
  return html + "</body>\n</html>\n";
}

std::string FormatDriftTable(const DriftReport& report) {
  std::vector<std::vector<std::string>> rows = {
      {"feature", "kind", "psi", "ks", "js", "missing", "values", "status"}};
  auto add = [&rows](const FeatureDrift& f, const std::string& name) {
    rows.push_back({Printable(name), FeatureKindName(f.kind), Num(f.psi), Num(f.ks), Num(f.js),
                    Percent(f.baseline_missing_rate) + " -> " + Percent(f.missing_rate),
                    std::to_string(f.values), DriftStatusName(f.status)});
  };
  for (const FeatureDrift* f : ByPsi(report)) add(*f, f->name);
  if (report.score.has_value()) add(*report.score, "(score)");
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], Width(row[c]));
  }
  // Text columns align left, numbers right.
  const std::vector<bool> right = {false, false, true, true, true, true, true, false};
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - Width(row[c]), ' ');
      if (c > 0) line += "  ";
      line += right[c] ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace plinth::monitor
