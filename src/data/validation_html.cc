// The self-contained HTML report of a ValidationResult.
#include <algorithm>
#include <cstdio>
#include <string>

#include "core/html.h"
#include "data/validation.h"

namespace plinth {
namespace {

std::string Escape(std::string_view text) { return HtmlEscape(text); }

std::string Fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// Compact one-line JSON of an observed/threshold object, without drift's bin table.
std::string Summary(const Json& value) {
  Json copy = value;
  if (copy.is_object()) copy.erase("bins");
  return DumpJson(copy);
}

// Inline SVG: one horizontal bar per drift result with its PSI, and a mark at its threshold.
std::string PsiChart(const std::vector<const ExpectationResult*>& drift) {
  double scale = 0.25;
  for (const ExpectationResult* r : drift) {
    if (r->observed.contains("psi") && r->observed["psi"].is_number()) {
      scale = std::max(scale, r->observed["psi"].get<double>());
    }
    if (r->threshold.contains("psi")) scale = std::max(scale, r->threshold["psi"].get<double>());
  }
  scale *= 1.1;
  const int label_w = 220, bar_w = 420, row_h = 26;
  const int height = row_h * static_cast<int>(drift.size()) + 10;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(label_w + bar_w + 90) + "\" height=\"" + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"PSI per column\">\n";
  int y = 5;
  for (const ExpectationResult* r : drift) {
    double psi = r->observed.contains("psi") && r->observed["psi"].is_number()
                     ? r->observed["psi"].get<double>()
                     : 0.0;
    int w = static_cast<int>(bar_w * std::min(psi / scale, 1.0));
    std::string colour =
        r->passed ? "#2e7d32" : (r->severity == Severity::kBlocking ? "#c62828" : "#ef6c00");
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 16) + "\" font-size=\"13\">" +
           Escape(r->column) + "</text>\n";
    svg += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 3) +
           "\" width=\"" + std::to_string(std::max(w, 1)) + "\" height=\"" +
           std::to_string(row_h - 8) + "\" fill=\"" + colour + "\"><title>PSI " + Fixed(psi, 4) +
           "</title></rect>\n";
    if (r->threshold.contains("psi")) {
      int tx = label_w + static_cast<int>(bar_w * r->threshold["psi"].get<double>() / scale);
      svg += "<line x1=\"" + std::to_string(tx) + "\" x2=\"" + std::to_string(tx) + "\" y1=\"" +
             std::to_string(y) + "\" y2=\"" + std::to_string(y + row_h - 2) +
             "\" stroke=\"#000\" stroke-dasharray=\"3,2\"/>\n";
    }
    svg += "<text x=\"" + std::to_string(label_w + bar_w + 8) + "\" y=\"" + std::to_string(y + 16) +
           "\" font-size=\"13\">" + Fixed(psi, 4) + "</text>\n";
    y += row_h;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string RenderValidationHtml(const ValidationResult& result) {
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Validation: " +
      Escape(result.suite) +
      "</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse;width:100%}\n"
      "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;"
      "font-size:13px}\n"
      "th{background:#f0f0f0}\n"
      "tr.pass td.status{background:#e8f5e9;color:#1b5e20}\n"
      "tr.fail td.status{background:#ffebee;color:#b71c1c}\n"
      "tr.warn td.status{background:#fff3e0;color:#e65100}\n"
      "td.status{font-weight:bold}\n"
      "code{font-size:12px;word-break:break-all}\n"
      ".verdict{font-size:1.3em;font-weight:bold;padding:.4em .8em;display:inline-block}\n"
      ".ok{background:#e8f5e9;color:#1b5e20}.bad{background:#ffebee;color:#b71c1c}\n"
      "</style>\n</head>\n<body>\n";
  html += "<h1>Validation report: " + Escape(result.suite) + "</h1>\n";
  html += "<p class=\"verdict " + std::string(result.passed ? "ok\">PASSED" : "bad\">FAILED") +
          "</p>\n";
  html += "<p>" + std::to_string(result.rows) + " rows";
  if (result.reference_rows) {
    html += " (reference: " + std::to_string(*result.reference_rows) + " rows)";
  }
  html += "; " + std::to_string(result.expectations.size()) + " expectations, " +
          std::to_string(result.blocking_failures) + " blocking failures, " +
          std::to_string(result.warning_failures) + " warnings.</p>\n";

  html +=
      "<table>\n<tr><th>status</th><th>id</th><th>type</th><th>severity</th><th>column</th>"
      "<th>observed</th><th>threshold</th><th>failing rows (first 10)</th></tr>\n";
  std::vector<const ExpectationResult*> drift;
  for (const ExpectationResult& r : result.expectations) {
    if (r.type == ExpectationType::kDrift && r.error.empty()) drift.push_back(&r);
    std::string cls = r.passed ? "pass" : (r.severity == Severity::kBlocking ? "fail" : "warn");
    std::string status = r.passed ? "pass" : (r.severity == Severity::kBlocking ? "FAIL" : "warn");
    html += "<tr class=\"" + cls + "\"><td class=\"status\">" + status + "</td><td>" +
            Escape(r.id) + "</td><td>" + Escape(ExpectationTypeName(r.type)) + "</td><td>" +
            Escape(SeverityName(r.severity)) + "</td><td>" + Escape(r.column) + "</td><td>";
    if (!r.error.empty())
      html += "<strong>error:</strong> <code>" + Escape(r.error) + "</code><br>";
    html += "<code>" + Escape(Summary(r.observed)) + "</code></td><td><code>" +
            Escape(Summary(r.threshold)) + "</code></td><td>";
    for (const FailingRow& f : r.failing_rows) {
      html +=
          "row " + std::to_string(f.row) + ": <code>" + Escape(DumpJson(f.value)) + "</code><br>";
    }
    html += "</td></tr>\n";
  }
  html += "</table>\n";

  if (!drift.empty()) {
    html +=
        "<h2>Drift: PSI per column</h2>\n<p>Bars show the population stability index; the "
        "dashed line is the expectation's threshold.</p>\n";
    html += PsiChart(drift);
  }
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace plinth
