// Alert rules over drift and performance reports, read from YAML (format and defaults in
// docs/monitoring.md):
//
//   alerts:
//     - name: feature-drift
//       metric: psi            # psi | ks | js | missing_rate | missing_increase
//                              # | score_psi | score_ks | score_js | auc | ks_perf | brier
//       features: ["*"]        # per-feature metrics only; "*" = every feature (the default)
//       above: 0.25            # exactly one of above / below
//       severity: critical     # info | warning (default) | critical
//       min_rows: 100          # judge only with at least this many values / rows
//     - name: auc-floor
//       metric: auc
//       below: 0.65
//       window: latest         # performance metrics: latest (default) | each | overall
//   status:                    # optional: the drift statuses' levels (DriftThresholds)
//     psi: {warn: 0.1, drift: 0.25}
//   webhook:
//     url: https://hooks.example.com/plinth   # optional; http or https
//
// Without an `alerts` key the default rules apply (DefaultMonitorConfig); `alerts: []` turns
// alerting off. Posting to the webhook is the platform's job; the config only carries the URL.
#ifndef PLINTH_MONITOR_ALERTS_H_
#define PLINTH_MONITOR_ALERTS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "monitor/baseline.h"
#include "monitor/drift.h"
#include "monitor/performance.h"

namespace plinth::monitor {

enum class AlertSeverity { kInfo, kWarning, kCritical };

// "info", "warning" or "critical".
std::string AlertSeverityName(AlertSeverity severity);

enum class AlertMetric {
  kPsi,              // per feature: DriftReport feature psi
  kKs,               // per feature: ks (numeric features)
  kJs,               // per feature: js
  kMissingRate,      // per feature: current missing rate
  kMissingIncrease,  // per feature: current missing rate - baseline missing rate
  kScorePsi,         // the score's psi
  kScoreKs,          // the score's ks
  kScoreJs,          // the score's js
  kAuc,              // performance: AUC per window
  kKsPerf,           // performance: KS per window
  kBrier,            // performance: Brier score per window
};

// The YAML name: "psi", "ks", ..., "score_psi", "auc", "ks_perf", "brier".
std::string AlertMetricName(AlertMetric metric);
// Whether the metric is judged per feature (psi, ks, js, missing_rate, missing_increase).
bool IsFeatureMetric(AlertMetric metric);
// Whether the metric comes from a PerformanceReport (auc, ks_perf, brier).
bool IsPerformanceMetric(AlertMetric metric);

// Which performance windows a rule judges.
enum class AlertWindow {
  kLatest,   // the most recent window
  kEach,     // every window
  kOverall,  // all outcomes at once
};

// "latest", "each" or "overall".
std::string AlertWindowName(AlertWindow window);

struct AlertRule {
  std::string name;
  AlertMetric metric = AlertMetric::kPsi;
  // Per-feature metrics: feature names, or {"*"} for every feature.
  std::vector<std::string> features = {"*"};
  // Exactly one is set: the rule fires when the value is strictly above / below it.
  std::optional<double> above, below;
  AlertSeverity severity = AlertSeverity::kWarning;
  // Fewer than this many current values (psi, ks, js and the score's), rows (missing_rate,
  // missing_increase) or window rows (performance metrics) and the rule is not judged.
  size_t min_rows = 0;
  AlertWindow window = AlertWindow::kLatest;
  // 1-based line of the rule and of its features list in the file; 0 when built in code.
  int line = 0;
  int features_line = 0;
};

struct MonitorConfig {
  // The file name errors are reported against ("default" for DefaultMonitorConfig).
  std::string source;
  std::vector<AlertRule> rules;
  // Levels of the drift statuses; pass to DriftAccumulator::Create.
  DriftThresholds thresholds;
  // "" when none; otherwise an http:// or https:// URL with a host.
  std::string webhook_url;
};

// Parses a config; `source_name` prefixes error positions. InvalidArgument as
// "file:line:col: alerts[2] auc-floor: message" for malformed YAML, unknown keys, an unknown
// metric, severity or window, both or neither of above / below, `features` or `window` on a
// metric they do not apply to, a rule name given twice, thresholds with warn above drift, and a
// webhook URL that is not http(s).
StatusOr<MonitorConfig> ParseMonitorConfig(std::string_view yaml, const std::string& source_name);

// Alerts when any feature's PSI is above 0.25 (critical) or 0.1 (warning) and the same for the
// score, judged on at least 1,000 current values, and when the latest window's AUC is below 0.6
// (critical), judged on at least 500 labelled rows. Default drift status levels, no webhook.
MonitorConfig DefaultMonitorConfig();

// Checks the features the rules name against the model's baseline: InvalidArgument,
// positioned at the rule, for a name that is not one of the baseline's features.
Status CheckMonitorConfig(const MonitorConfig& config, const Baseline& baseline);

struct Alert {
  std::string rule;
  AlertMetric metric = AlertMetric::kPsi;
  std::string feature;  // "" for score and performance metrics
  double value = 0;
  double threshold = 0;
  std::string comparison;  // "above" or "below"
  AlertSeverity severity = AlertSeverity::kWarning;
  size_t rows = 0;  // the values or rows the value was computed on
  // Performance metrics: the window judged.
  std::optional<int64_t> window_start_micros, window_end_micros;
  // One line for people: "feature 'int_rate': psi 0.412 above 0.25 (rule feature-drift)".
  std::string message;
};

// The alerts `config`'s rules raise over `drift` and `performance` (either may be null: rules
// over a missing report are not judged, nor are absent values such as the AUC of a one-class
// window). When several rules on the same metric and direction fire for the same feature and
// window, only the most severe is kept (PSI 0.3 is one critical alert, not also a warning).
// Ordered by severity, most severe first, then by rule order.
std::vector<Alert> EvaluateAlerts(const MonitorConfig& config, const DriftReport* drift,
                                  const PerformanceReport* performance);

// {"rule", "metric", "feature", "value", "threshold", "comparison", "severity", "rows",
// "window_start", "window_end" (RFC 3339 or null), "message"}.
Json AlertToJson(const Alert& alert);

}  // namespace plinth::monitor

#endif  // PLINTH_MONITOR_ALERTS_H_
