// Alert configs (YAML, positioned errors) and alert evaluation over drift and performance
// reports.
#include "monitor/alerts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace plinth::monitor {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ParseError(const std::string& yaml) {
  StatusOr<MonitorConfig> c = ParseMonitorConfig(yaml, "m.yaml");
  if (c.ok()) return "(parsed)";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

MonitorConfig MustParse(const std::string& yaml) {
  StatusOr<MonitorConfig> c = ParseMonitorConfig(yaml, "m.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : MonitorConfig();
}

const char kExample[] = R"(alerts:
  - name: feature-drift
    metric: psi
    features: ["*"]
    above: 0.25
    severity: critical
  - name: rate-ks
    metric: ks
    features: [int_rate, annual_inc]
    above: 0.15
    min_rows: 50
  - name: auc-floor
    metric: auc
    below: 0.65
    min_rows: 200
    window: each
status:
  psi: {warn: 0.05, drift: 0.2}
webhook:
  url: http://127.0.0.1:8080/hook
)";

TEST(ParseMonitorConfig, ReadsRulesThresholdsAndWebhook) {
  const MonitorConfig c = MustParse(kExample);
  EXPECT_EQ(c.source, "m.yaml");
  ASSERT_EQ(c.rules.size(), 3u);
  EXPECT_EQ(c.rules[0].name, "feature-drift");
  EXPECT_EQ(c.rules[0].metric, AlertMetric::kPsi);
  EXPECT_EQ(c.rules[0].features, std::vector<std::string>{"*"});
  EXPECT_EQ(*c.rules[0].above, 0.25);
  EXPECT_FALSE(c.rules[0].below.has_value());
  EXPECT_EQ(c.rules[0].severity, AlertSeverity::kCritical);
  EXPECT_EQ(c.rules[0].line, 2);
  EXPECT_EQ(c.rules[1].features, (std::vector<std::string>{"int_rate", "annual_inc"}));
  EXPECT_EQ(c.rules[1].severity, AlertSeverity::kWarning);
  EXPECT_EQ(c.rules[1].min_rows, 50u);
  EXPECT_EQ(c.rules[1].features_line, 9);
  EXPECT_EQ(c.rules[2].metric, AlertMetric::kAuc);
  EXPECT_EQ(*c.rules[2].below, 0.65);
  EXPECT_EQ(c.rules[2].window, AlertWindow::kEach);
  EXPECT_EQ(c.thresholds.psi_warn, 0.05);
  EXPECT_EQ(c.thresholds.psi_drift, 0.2);
  EXPECT_EQ(c.thresholds.ks_drift, DriftThresholds().ks_drift);
  EXPECT_EQ(c.webhook_url, "http://127.0.0.1:8080/hook");
}

TEST(ParseMonitorConfig, DefaultsWhenAlertsAreNotGiven) {
  const MonitorConfig d = DefaultMonitorConfig();
  ASSERT_FALSE(d.rules.empty());
  EXPECT_EQ(MustParse("webhook: {url: 'https://hooks.example.com/x'}\n").rules.size(),
            d.rules.size());
  EXPECT_EQ(MustParse("").rules.size(), d.rules.size());
  EXPECT_TRUE(MustParse("alerts: []\n").rules.empty());
}

TEST(ParseMonitorConfig, ErrorsArePositioned) {
  EXPECT_THAT(ParseError("alerts:\n  - name: a\n    metric: pis\n    above: 1\n"),
              StartsWith("m.yaml:3:13: alerts[0] a: unknown metric 'pis' (did you mean 'psi'?)"));
  EXPECT_THAT(ParseError("alerts:\n  - name: a\n    metric: psi\n    above: 1\n    below: 0\n"),
              StartsWith("m.yaml:5:5: alerts[0] a: give one of 'above' and 'below', not both"));
  EXPECT_THAT(ParseError("alerts:\n  - name: a\n    metric: psi\n"),
              StartsWith("m.yaml:2:5: alerts[0] a: missing 'above' or 'below'"));
  EXPECT_THAT(
      ParseError("alerts:\n  - name: a\n    metric: psi\n    above: 1\n    severity: high\n"),
      StartsWith("m.yaml:5:15: alerts[0] a: severity must be 'info', 'warning' or 'critical'"));
  EXPECT_THAT(ParseError("alerts: []\nwebhook:\n  url: ftp://example.com/x\n"),
              StartsWith("m.yaml:3:8: webhook: 'url' must be an http:// or https:// URL"));
  EXPECT_THAT(ParseError("alerts: []\nwebhook:\n  url: 'http://user:pw@example.com/'\n"),
              HasSubstr("no credentials"));
  EXPECT_THAT(ParseError("alerts: []\nwebhook:\n  url: 'https:///path'\n"), HasSubstr("host"));
  EXPECT_THAT(
      ParseError("alerts:\n  - name: a\n    metric: auc\n    features: [x]\n    below: 1\n"),
      StartsWith("m.yaml:4:5: alerts[0] a: 'features' applies only to per-feature metrics"));
  EXPECT_THAT(ParseError("alerts:\n  - name: a\n    metric: psi\n    window: each\n    above: 1\n"),
              StartsWith("m.yaml:4:5: alerts[0] a: 'window' applies only to performance"));
  EXPECT_THAT(
      ParseError(
          "alerts:\n  - {name: a, metric: psi, above: 1}\n  - {name: a, metric: js, above: 1}\n"),
      StartsWith("m.yaml:3:12: alerts[1] a: rule 'a' is defined twice (first at 2:12)"));
  EXPECT_THAT(ParseError("alerts:\n  - {name: a, metric: psi, above: 1, min_rows: -3}\n"),
              HasSubstr("'min_rows' must be a non-negative integer"));
  EXPECT_THAT(ParseError("alerts:\n  - {name: a, metric: psi, above: big}\n"),
              StartsWith("m.yaml:2:35: alerts[0] a: 'above' must be a number"));
  EXPECT_THAT(ParseError("alerts: []\nstatus:\n  ks: {warn: 0.3, drift: 0.2}\n"),
              StartsWith("m.yaml:3:7: status ks: 'warn' (0.3) must not be above 'drift' (0.2)"));
  EXPECT_THAT(ParseError("alert: []\n"), StartsWith("m.yaml:1:1: unknown key 'alert'"));
  EXPECT_THAT(ParseError("alerts:\n  - {name: 'bad name', metric: psi, above: 1}\n"),
              HasSubstr("rule name 'bad name' must be"));
  EXPECT_THAT(ParseError("alerts:\n  - {name: a, metric: psi, above: 1, features: []}\n"),
              HasSubstr("'features' must name at least one feature"));
  EXPECT_THAT(ParseError("alerts:\n  - {name: a, metric: psi, above: 1, features: ['*', x]}\n"),
              HasSubstr("list it alone"));
  EXPECT_THAT(ParseError("alerts: {name: a}\n"), HasSubstr("'alerts' must be a list"));
  EXPECT_THAT(ParseError("alerts: [\n"), StartsWith("m.yaml:"));
}

TEST(CheckMonitorConfig, NamedFeaturesMustBeMonitored) {
  Baseline b;
  b.features.resize(2);
  b.features[0].name = "int_rate";
  b.features[1].name = "annual_inc";
  const MonitorConfig c = MustParse(kExample);
  EXPECT_TRUE(CheckMonitorConfig(c, b).ok());
  b.features[1].name = "annual_income";
  const Status s = CheckMonitorConfig(c, b);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              StartsWith("m.yaml:9: rule rate-ks: feature 'annual_inc' is not monitored (did "
                         "you mean 'annual_income'?)"));
}

FeatureDrift Feature(const std::string& name, std::optional<double> psi, size_t values) {
  FeatureDrift f;
  f.name = name;
  f.psi = psi;
  f.values = values;
  f.rows = values;
  f.missing_rate = 0;
  return f;
}

PerformanceWindow Window(int64_t start, size_t rows, std::optional<double> auc) {
  PerformanceWindow w;
  w.start_micros = start;
  w.end_micros = start + 1000;
  w.rows = rows;
  w.auc = auc;
  w.brier = 0.1;
  return w;
}

TEST(EvaluateAlerts, AboveBelowFeaturesAndMinRows) {
  const MonitorConfig c = MustParse(R"(alerts:
  - {name: all-psi, metric: psi, above: 0.25, severity: critical, min_rows: 100}
  - {name: rate-psi, metric: psi, features: [b], above: 0.1, severity: info}
  - {name: auc-floor, metric: auc, below: 0.65, min_rows: 200, window: each}
  - {name: auc-latest, metric: auc, below: 0.7, severity: info}
)");
  DriftReport drift;
  drift.features = {Feature("a", 0.30, 500),  // fires all-psi
                    Feature("b", 0.25, 500),  // equal to 0.25: not above; fires rate-psi
                    Feature("c", 0.90, 50),   // too few values
                    Feature("d", std::nullopt, 500)};
  PerformanceReport perf;
  perf.windows = {Window(0, 300, 0.60), Window(1000, 100, 0.50), Window(2000, 300, std::nullopt),
                  Window(3000, 300, 0.68)};
  const std::vector<Alert> alerts = EvaluateAlerts(c, &drift, &perf);
  ASSERT_EQ(alerts.size(), 4u);
  // Most severe first, then rule order.
  EXPECT_EQ(alerts[0].rule, "all-psi");
  EXPECT_EQ(alerts[0].feature, "a");
  EXPECT_EQ(alerts[0].value, 0.30);
  EXPECT_EQ(alerts[0].threshold, 0.25);
  EXPECT_EQ(alerts[0].comparison, "above");
  EXPECT_EQ(alerts[0].rows, 500u);
  EXPECT_EQ(alerts[0].message, "feature 'a': psi 0.3 above 0.25 (rule all-psi)");
  EXPECT_EQ(alerts[1].rule, "auc-floor");  // only the first window: 300 rows, AUC 0.6
  EXPECT_EQ(alerts[1].comparison, "below");
  EXPECT_EQ(*alerts[1].window_start_micros, 0);
  EXPECT_EQ(alerts[1].rows, 300u);
  EXPECT_EQ(alerts[2].rule, "rate-psi");
  EXPECT_EQ(alerts[2].feature, "b");
  EXPECT_EQ(alerts[3].rule, "auc-latest");  // the latest window, 0.68 < 0.7
  EXPECT_EQ(*alerts[3].window_start_micros, 3000);

  // Without reports nothing is judged.
  EXPECT_TRUE(EvaluateAlerts(c, nullptr, nullptr).empty());
}

TEST(EvaluateAlerts, DefaultsKeepTheMostSevereAlert) {
  const MonitorConfig c = DefaultMonitorConfig();
  DriftReport drift;
  drift.features = {Feature("a", 0.30, 2000), Feature("b", 0.15, 2000), Feature("c", 0.05, 2000),
                    Feature("small", 0.9, 999)};  // too few values for the defaults
  drift.score = Feature("score", 0.12, 2000);
  PerformanceReport perf;
  perf.windows = {Window(0, 500, 0.55)};
  const std::vector<Alert> alerts = EvaluateAlerts(c, &drift, &perf);
  ASSERT_EQ(alerts.size(), 4u);
  EXPECT_EQ(alerts[0].severity, AlertSeverity::kCritical);
  EXPECT_EQ(alerts[0].feature, "a");  // one critical alert for a, not also a warning
  EXPECT_EQ(alerts[1].severity, AlertSeverity::kCritical);
  EXPECT_EQ(alerts[1].metric, AlertMetric::kAuc);
  EXPECT_EQ(alerts[2].severity, AlertSeverity::kWarning);
  EXPECT_EQ(alerts[2].feature, "b");
  EXPECT_EQ(alerts[3].metric, AlertMetric::kScorePsi);
  EXPECT_EQ(alerts[3].feature, "");
  EXPECT_THAT(alerts[3].message, StartsWith("score: score_psi 0.12 above 0.1"));

  const Json j = AlertToJson(alerts[1]);
  EXPECT_EQ(j["metric"], "auc");
  EXPECT_EQ(j["severity"], "critical");
  EXPECT_EQ(j["comparison"], "below");
  EXPECT_EQ(j["threshold"], 0.6);
  EXPECT_EQ(j["window_start"], "1970-01-01T00:00:00.000000Z");
  EXPECT_TRUE(AlertToJson(alerts[0])["window_start"].is_null());
}

TEST(EvaluateAlerts, MissingRateAndOverallWindow) {
  const MonitorConfig c = MustParse(R"(alerts:
  - {name: nulls, metric: missing_increase, above: 0.2}
  - {name: nulls-abs, metric: missing_rate, features: [a], above: 0.5}
  - {name: brier, metric: brier, above: 0.05, window: overall}
)");
  DriftReport drift;
  FeatureDrift a = Feature("a", 0.0, 10);
  a.rows = 40;
  a.missing_rate = 0.75;
  a.baseline_missing_rate = 0.6;
  FeatureDrift b = Feature("b", 0.0, 10);
  b.missing_rate = 0.3;
  b.baseline_missing_rate = 0.05;
  drift.features = {a, b};
  PerformanceReport perf;
  perf.windows = {Window(0, 10, 0.9)};
  perf.overall = Window(0, 10, 0.9);
  perf.overall->brier = 0.07;
  const std::vector<Alert> alerts = EvaluateAlerts(c, &drift, &perf);
  ASSERT_EQ(alerts.size(), 3u);
  EXPECT_EQ(alerts[0].rule, "nulls");
  EXPECT_EQ(alerts[0].feature, "b");
  EXPECT_NEAR(alerts[0].value, 0.25, 1e-12);
  EXPECT_EQ(alerts[1].rule, "nulls-abs");
  EXPECT_EQ(alerts[1].rows, 40u);
  EXPECT_EQ(alerts[2].rule, "brier");
  EXPECT_EQ(alerts[2].value, 0.07);
}

}  // namespace
}  // namespace plinth::monitor
