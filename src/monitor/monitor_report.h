// Monitoring results for people: a self-contained HTML page (inline CSS and SVG, no external
// resources, every string from the data escaped) and a compact terminal table.
#ifndef PLINTH_MONITOR_MONITOR_REPORT_H_
#define PLINTH_MONITOR_MONITOR_REPORT_H_

#include <string>
#include <vector>

#include "monitor/alerts.h"
#include "monitor/drift.h"
#include "monitor/performance.h"

namespace plinth::monitor {

struct MonitorReportInput {
  std::string model;
  std::string version;
  // What the current data is, in words: "decisions 2025-03-01 to 2025-03-07", a file name, ...
  std::string window;
  // When the page was made (RFC 3339), shown in the footer; "" leaves it out.
  std::string generated_at;
  const DriftReport* drift = nullptr;              // null: no drift sections
  const PerformanceReport* performance = nullptr;  // null: no performance section
  std::vector<Alert> alerts;
};

// The page's sections, each an element with a stable id: "summary" (model, version, window,
// rows, drift counts, alert counts by severity), "alerts" (the list, most severe first),
// "features" (one row per feature sorted by PSI, highest first, with status badges),
// "distributions" (per feature, baseline against current share per bin or category),
// "score" (the score's distribution, when the baseline has one), "performance" (AUC and KS per
// window as a line chart, observed rate against mean score per window, the windows' table, ROC
// and calibration over all outcomes).
std::string RenderMonitorHtml(const MonitorReportInput& input);

// The drift report as an aligned text table, one line per feature sorted by PSI (highest
// first) and the score last: feature, kind, psi, ks, js, missing (baseline -> current), values,
// status. Absent values print as "-"; control characters in names as '?'.
std::string FormatDriftTable(const DriftReport& report);

}  // namespace plinth::monitor

#endif  // PLINTH_MONITOR_MONITOR_REPORT_H_
