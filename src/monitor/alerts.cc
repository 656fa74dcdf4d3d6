#include "monitor/alerts.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "yaml/yaml_util.h"

namespace plinth::monitor {
namespace {

using yaml::Errors;
using yaml::Fields;

const std::vector<std::string> kTopKeys = {"alerts", "status", "webhook"};
const std::vector<std::string> kRuleKeys = {"name",  "metric",   "features", "above",
                                            "below", "severity", "min_rows", "window"};
const std::vector<std::string> kStatusKeys = {"psi", "ks", "js", "missing_increase"};
const std::vector<std::string> kLevelKeys = {"warn", "drift"};
const std::vector<std::string> kWebhookKeys = {"url"};

constexpr AlertMetric kMetrics[] = {AlertMetric::kPsi,
                                    AlertMetric::kKs,
                                    AlertMetric::kJs,
                                    AlertMetric::kMissingRate,
                                    AlertMetric::kMissingIncrease,
                                    AlertMetric::kScorePsi,
                                    AlertMetric::kScoreKs,
                                    AlertMetric::kScoreJs,
                                    AlertMetric::kAuc,
                                    AlertMetric::kKsPerf,
                                    AlertMetric::kBrier};

// Bounds that keep a hostile file from producing a huge config.
constexpr size_t kMaxRules = 200;
constexpr size_t kMaxFeatures = 1000;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxUrlLength = 2000;

std::vector<std::string> MetricNames() {
  std::vector<std::string> names;
  for (AlertMetric m : kMetrics) names.push_back(AlertMetricName(m));
  return names;
}

// Letters, digits, '-', '_' and '.', starting with a letter or digit: readable in messages and
// safe as a label wherever the platform shows it.
bool IsRuleName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength ||
      !std::isalnum(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// An http(s) URL with a host, no spaces or control characters.
bool IsWebhookUrl(const std::string& url) {
  size_t rest = 0;
  if (url.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (url.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return false;
  }
  if (url.size() > kMaxUrlLength) return false;
  for (char c : url) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  const size_t host_end = url.find_first_of("/?#", rest);
  const std::string authority =
      url.substr(rest, host_end == std::string::npos ? std::string::npos : host_end - rest);
  // user:password@ before the host is not accepted: credentials do not belong in a config file.
  return !authority.empty() && authority.find('@') == std::string::npos && authority[0] != ':';
}

std::string RuleContext(size_t index, const YAML::Node& node) {
  std::string context = "alerts[" + std::to_string(index) + "]";
  if (node.IsMap()) {
    const YAML::Node name = node["name"];
    if (name && name.IsScalar() && IsRuleName(name.Scalar())) context += " " + name.Scalar();
  }
  return context;
}

std::string Metric(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

int Line(const YAML::Mark& mark) { return mark.line >= 0 ? mark.line + 1 : 0; }

class Parser {
 public:
  explicit Parser(std::string source) : errors_(std::move(source)) {}

  StatusOr<MonitorConfig> Parse(std::string_view text) {
    ASSIGN_OR_RETURN(YAML::Node root, yaml::Load(text, errors_));
    MonitorConfig config;
    if (root.IsNull()) {
      // An empty file changes nothing: the defaults apply.
      config = DefaultMonitorConfig();
      config.source = errors_.file();
      return config;
    }
    ASSIGN_OR_RETURN(Fields top,
                     Fields::Read(errors_, "", "a monitoring config", root, kTopKeys, {}));
    config.source = errors_.file();
    if (top.Has("alerts")) {
      const YAML::Node& list = top.Get("alerts");
      if (!list.IsNull() && !list.IsSequence()) {
        return errors_.At(list.Mark(), "",
                          "'alerts' must be a list of rules, not " + errors_.Describe(list));
      }
      if (list.size() > kMaxRules) {
        return errors_.At(list.Mark(), "",
                          "too many rules (the limit is " + std::to_string(kMaxRules) + ")");
      }
      std::map<std::string, YAML::Mark> names;
      for (size_t i = 0; i < list.size(); ++i) {
        ASSIGN_OR_RETURN(AlertRule rule, ParseRule(list[i], i, &names));
        config.rules.push_back(std::move(rule));
      }
    } else {
      config.rules = DefaultMonitorConfig().rules;
    }
    if (top.Has("status")) RETURN_IF_ERROR(ParseStatus(top.Get("status"), &config.thresholds));
    if (top.Has("webhook")) {
      ASSIGN_OR_RETURN(Fields webhook, Fields::Read(errors_, "webhook", "'webhook'",
                                                    top.Get("webhook"), kWebhookKeys, {"url"}));
      const YAML::Node& url = webhook.Get("url");
      ASSIGN_OR_RETURN(config.webhook_url, yaml::GetString(errors_, "webhook", "url", url));
      if (!IsWebhookUrl(config.webhook_url)) {
        return errors_.At(url.Mark(), "webhook",
                          "'url' must be an http:// or https:// URL with a host (and no "
                          "credentials or spaces), not " +
                              errors_.Quote(config.webhook_url));
      }
    }
    return config;
  }

 private:
  StatusOr<double> Number(const std::string& context, const std::string& key,
                          const YAML::Node& node) const {
    ASSIGN_OR_RETURN(double value, yaml::GetNumber(errors_, context, key, node));
    if (!std::isfinite(value)) {
      return errors_.At(node.Mark(), context, "'" + key + "' must be a finite number");
    }
    return value;
  }

  Status ParseStatus(const YAML::Node& node, DriftThresholds* t) const {
    ASSIGN_OR_RETURN(Fields fields,
                     Fields::Read(errors_, "status", "'status'", node, kStatusKeys, {}));
    const std::map<std::string, std::pair<double*, double*>> levels = {
        {"psi", {&t->psi_warn, &t->psi_drift}},
        {"ks", {&t->ks_warn, &t->ks_drift}},
        {"js", {&t->js_warn, &t->js_drift}},
        {"missing_increase", {&t->missing_warn, &t->missing_drift}}};
    for (const std::string& key : fields.keys()) {
      const std::string context = "status " + key;
      ASSIGN_OR_RETURN(Fields level, Fields::Read(errors_, context, "'" + key + "'",
                                                  fields.Get(key), kLevelKeys, {}));
      auto [warn, drift] = levels.at(key);
      if (level.Has("warn")) {
        ASSIGN_OR_RETURN(*warn, Number(context, "warn", level.Get("warn")));
      }
      if (level.Has("drift")) {
        ASSIGN_OR_RETURN(*drift, Number(context, "drift", level.Get("drift")));
      }
      if (*warn < 0 || *drift < 0) {
        return errors_.At(fields.Get(key).Mark(), context, "levels must not be negative");
      }
      if (*warn > *drift) {
        return errors_.At(
            fields.Get(key).Mark(), context,
            "'warn' (" + Metric(*warn) + ") must not be above 'drift' (" + Metric(*drift) + ")");
      }
    }
    return absl::OkStatus();
  }

  StatusOr<AlertRule> ParseRule(const YAML::Node& node, size_t index,
                                std::map<std::string, YAML::Mark>* names) const {
    const std::string context = RuleContext(index, node);
    ASSIGN_OR_RETURN(Fields fields,
                     Fields::Read(errors_, context, "a rule", node, kRuleKeys, {"name", "metric"}));
    AlertRule rule;
    rule.line = Line(fields.mark());
    const YAML::Node& name = fields.Get("name");
    ASSIGN_OR_RETURN(rule.name, yaml::GetString(errors_, context, "name", name));
    if (!IsRuleName(rule.name)) {
      return errors_.At(name.Mark(), context,
                        "rule name " + errors_.Quote(rule.name) +
                            " must be 1 to 64 letters, digits, '-', '_' or '.', starting with a "
                            "letter or digit");
    }
    if (auto [it, inserted] = names->emplace(rule.name, name.Mark()); !inserted) {
      return errors_.At(name.Mark(), context,
                        "rule '" + rule.name + "' is defined twice (first at " +
                            yaml::Position(it->second) + ")");
    }

    const YAML::Node& metric = fields.Get("metric");
    ASSIGN_OR_RETURN(std::string metric_name, yaml::GetString(errors_, context, "metric", metric));
    bool known = false;
    for (AlertMetric m : kMetrics) {
      if (AlertMetricName(m) == metric_name) {
        rule.metric = m;
        known = true;
      }
    }
    if (!known) {
      const std::string suggestion = yaml::Suggest(metric_name, MetricNames());
      return errors_.At(metric.Mark(), context,
                        "unknown metric " + errors_.Quote(metric_name) +
                            (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
                            " (expected one of: " + yaml::JoinNames(MetricNames()) + ")");
    }

    if (fields.Has("features")) {
      const YAML::Node& list = fields.Get("features");
      if (!IsFeatureMetric(rule.metric)) {
        return errors_.At(fields.KeyMark("features"), context,
                          "'features' applies only to per-feature metrics (psi, ks, js, "
                          "missing_rate, missing_increase), not to '" +
                              metric_name + "'");
      }
      ASSIGN_OR_RETURN(rule.features, yaml::GetStringList(errors_, context, "features", list));
      if (rule.features.empty()) {
        return errors_.At(list.Mark(), context,
                          "'features' must name at least one feature (or \"*\" for all)");
      }
      if (rule.features.size() > kMaxFeatures) {
        return errors_.At(list.Mark(), context,
                          "too many features (the limit is " + std::to_string(kMaxFeatures) + ")");
      }
      std::set<std::string> seen;
      for (size_t i = 0; i < rule.features.size(); ++i) {
        if (rule.features[i].empty()) {
          return errors_.At(list[i].Mark(), context, "a feature name must not be empty");
        }
        if (!seen.insert(rule.features[i]).second) {
          return errors_.At(list[i].Mark(), context,
                            "feature " + errors_.Quote(rule.features[i]) + " is listed twice");
        }
      }
      if (seen.count("*") > 0 && rule.features.size() > 1) {
        return errors_.At(list.Mark(), context, "\"*\" already means every feature; list it alone");
      }
      rule.features_line = Line(list.Mark());
    }

    const bool has_above = fields.Has("above"), has_below = fields.Has("below");
    if (has_above == has_below) {
      return errors_.At(has_above ? fields.KeyMark("below") : fields.mark(), context,
                        has_above ? "give one of 'above' and 'below', not both"
                                  : "missing 'above' or 'below' (the threshold the rule "
                                    "compares with)");
    }
    if (has_above) {
      ASSIGN_OR_RETURN(rule.above, Number(context, "above", fields.Get("above")));
    } else {
      ASSIGN_OR_RETURN(rule.below, Number(context, "below", fields.Get("below")));
    }

    if (fields.Has("severity")) {
      const YAML::Node& severity = fields.Get("severity");
      ASSIGN_OR_RETURN(std::string value, yaml::GetString(errors_, context, "severity", severity));
      if (value == "info") {
        rule.severity = AlertSeverity::kInfo;
      } else if (value == "warning") {
        rule.severity = AlertSeverity::kWarning;
      } else if (value == "critical") {
        rule.severity = AlertSeverity::kCritical;
      } else {
        return errors_.At(
            severity.Mark(), context,
            "severity must be 'info', 'warning' or 'critical', not " + errors_.Describe(severity));
      }
    }

    if (fields.Has("min_rows")) {
      const YAML::Node& min_rows = fields.Get("min_rows");
      const Json value = min_rows.IsScalar() ? yaml::PlainScalarToJson(min_rows) : Json();
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return errors_.At(
            min_rows.Mark(), context,
            "'min_rows' must be a non-negative integer, not " + errors_.Describe(min_rows));
      }
      rule.min_rows = static_cast<size_t>(value.get<int64_t>());
    }

    if (fields.Has("window")) {
      const YAML::Node& window = fields.Get("window");
      if (!IsPerformanceMetric(rule.metric)) {
        return errors_.At(fields.KeyMark("window"), context,
                          "'window' applies only to performance metrics (auc, ks_perf, brier), "
                          "not to '" +
                              metric_name + "'");
      }
      ASSIGN_OR_RETURN(std::string value, yaml::GetString(errors_, context, "window", window));
      if (value == "latest") {
        rule.window = AlertWindow::kLatest;
      } else if (value == "each") {
        rule.window = AlertWindow::kEach;
      } else if (value == "overall") {
        rule.window = AlertWindow::kOverall;
      } else {
        return errors_.At(
            window.Mark(), context,
            "window must be 'latest', 'each' or 'overall', not " + errors_.Describe(window));
      }
    }
    return rule;
  }

  Errors errors_;
};

AlertRule Rule(std::string name, AlertMetric metric, std::optional<double> above,
               std::optional<double> below, AlertSeverity severity, size_t min_rows) {
  AlertRule rule;
  rule.name = std::move(name);
  rule.metric = metric;
  rule.above = above;
  rule.below = below;
  rule.severity = severity;
  rule.min_rows = min_rows;
  return rule;
}

// The value a per-feature or score metric reads from a feature's drift, and how many values or
// rows it rests on.
std::optional<std::pair<double, size_t>> DriftValue(AlertMetric metric, const FeatureDrift& f) {
  std::optional<double> value;
  size_t rows = f.values;
  switch (metric) {
    case AlertMetric::kPsi:
    case AlertMetric::kScorePsi:
      value = f.psi;
      break;
    case AlertMetric::kKs:
    case AlertMetric::kScoreKs:
      value = f.ks;
      break;
    case AlertMetric::kJs:
    case AlertMetric::kScoreJs:
      value = f.js;
      break;
    case AlertMetric::kMissingRate:
      value = f.missing_rate;
      rows = f.rows;
      break;
    case AlertMetric::kMissingIncrease:
      if (f.missing_rate.has_value()) value = *f.missing_rate - f.baseline_missing_rate;
      rows = f.rows;
      break;
    default:
      break;
  }
  if (!value.has_value() || !std::isfinite(*value)) return std::nullopt;
  return std::make_pair(*value, rows);
}

std::optional<double> WindowValue(AlertMetric metric, const PerformanceWindow& w) {
  switch (metric) {
    case AlertMetric::kAuc:
      return w.auc;
    case AlertMetric::kKsPerf:
      return w.ks;
    case AlertMetric::kBrier:
      return w.brier;
    default:
      return std::nullopt;
  }
}

// The alert `rule` raises for `value`, if it fires.
std::optional<Alert> Judge(const AlertRule& rule, double value, size_t rows) {
  if (rows < rule.min_rows) return std::nullopt;
  Alert a;
  if (rule.above.has_value()) {
    if (!(value > *rule.above)) return std::nullopt;
    a.threshold = *rule.above;
    a.comparison = "above";
  } else if (rule.below.has_value()) {
    if (!(value < *rule.below)) return std::nullopt;
    a.threshold = *rule.below;
    a.comparison = "below";
  } else {
    return std::nullopt;
  }
  a.rule = rule.name;
  a.metric = rule.metric;
  a.value = value;
  a.severity = rule.severity;
  a.rows = rows;
  return a;
}

std::string MetricText(const Alert& a) {
  return AlertMetricName(a.metric) + " " + Metric(a.value) + " " + a.comparison + " " +
         Metric(a.threshold);
}

}  // namespace

std::string AlertSeverityName(AlertSeverity severity) {
  switch (severity) {
    case AlertSeverity::kInfo:
      return "info";
    case AlertSeverity::kWarning:
      return "warning";
    case AlertSeverity::kCritical:
      return "critical";
  }
  return "warning";
}

std::string AlertMetricName(AlertMetric metric) {
  switch (metric) {
    case AlertMetric::kPsi:
      return "psi";
    case AlertMetric::kKs:
      return "ks";
    case AlertMetric::kJs:
      return "js";
    case AlertMetric::kMissingRate:
      return "missing_rate";
    case AlertMetric::kMissingIncrease:
      return "missing_increase";
    case AlertMetric::kScorePsi:
      return "score_psi";
    case AlertMetric::kScoreKs:
      return "score_ks";
    case AlertMetric::kScoreJs:
      return "score_js";
    case AlertMetric::kAuc:
      return "auc";
    case AlertMetric::kKsPerf:
      return "ks_perf";
    case AlertMetric::kBrier:
      return "brier";
  }
  return "psi";
}

bool IsFeatureMetric(AlertMetric metric) {
  return metric == AlertMetric::kPsi || metric == AlertMetric::kKs || metric == AlertMetric::kJs ||
         metric == AlertMetric::kMissingRate || metric == AlertMetric::kMissingIncrease;
}

bool IsPerformanceMetric(AlertMetric metric) {
  return metric == AlertMetric::kAuc || metric == AlertMetric::kKsPerf ||
         metric == AlertMetric::kBrier;
}

std::string AlertWindowName(AlertWindow window) {
  switch (window) {
    case AlertWindow::kLatest:
      return "latest";
    case AlertWindow::kEach:
      return "each";
    case AlertWindow::kOverall:
      return "overall";
  }
  return "latest";
}

StatusOr<MonitorConfig> ParseMonitorConfig(std::string_view yaml, const std::string& source_name) {
  return Parser(source_name).Parse(yaml);
}

MonitorConfig DefaultMonitorConfig() {
  // Under no drift PSI is about (bins - 1) / n on n current values, so the usual 0.1 / 0.25
  // levels are only meaningful on large windows: 1,000 values keep a 50-category feature's
  // expected PSI at 0.05. An AUC on 500 rows (about 25 positives at a 5% default rate) has a
  // standard error near 0.05.
  constexpr size_t kDriftRows = 1000, kAucRows = 500;
  MonitorConfig config;
  config.source = "default";
  config.rules = {
      Rule("feature-psi-critical", AlertMetric::kPsi, 0.25, std::nullopt, AlertSeverity::kCritical,
           kDriftRows),
      Rule("feature-psi-warning", AlertMetric::kPsi, 0.1, std::nullopt, AlertSeverity::kWarning,
           kDriftRows),
      Rule("score-psi-critical", AlertMetric::kScorePsi, 0.25, std::nullopt,
           AlertSeverity::kCritical, kDriftRows),
      Rule("score-psi-warning", AlertMetric::kScorePsi, 0.1, std::nullopt, AlertSeverity::kWarning,
           kDriftRows),
      Rule("auc-floor", AlertMetric::kAuc, std::nullopt, 0.6, AlertSeverity::kCritical, kAucRows),
  };
  return config;
}

Status CheckMonitorConfig(const MonitorConfig& config, const Baseline& baseline) {
  std::vector<std::string> known;
  for (const FeatureBaseline& f : baseline.features) known.push_back(f.name);
  for (const AlertRule& rule : config.rules) {
    if (!IsFeatureMetric(rule.metric)) continue;
    for (const std::string& feature : rule.features) {
      if (feature == "*" || baseline.Find(feature) != nullptr) continue;
      std::string where = config.source;
      const int line = rule.features_line > 0 ? rule.features_line : rule.line;
      if (line > 0) where += ":" + std::to_string(line);
      return absl::InvalidArgumentError(where + ": rule " + rule.name + ": feature " +
                                        yaml::Quote(feature) + " is not monitored" +
                                        yaml::Hint(feature, known, "features"));
    }
  }
  // Score rules on a baseline without scores are not an error: they never fire, so the default
  // config suits every model.
  return absl::OkStatus();
}

std::vector<Alert> EvaluateAlerts(const MonitorConfig& config, const DriftReport* drift,
                                  const PerformanceReport* performance) {
  std::vector<Alert> alerts;
  for (const AlertRule& rule : config.rules) {
    if (IsFeatureMetric(rule.metric)) {
      if (drift == nullptr) continue;
      const bool all = rule.features.size() == 1 && rule.features[0] == "*";
      for (const FeatureDrift& f : drift->features) {
        if (!all &&
            std::find(rule.features.begin(), rule.features.end(), f.name) == rule.features.end()) {
          continue;
        }
        std::optional<std::pair<double, size_t>> v = DriftValue(rule.metric, f);
        if (!v.has_value()) continue;
        if (std::optional<Alert> a = Judge(rule, v->first, v->second)) {
          a->feature = f.name;
          a->message = "feature " + yaml::Quote(f.name) + ": " + MetricText(*a) + " (rule " +
                       rule.name + ")";
          alerts.push_back(std::move(*a));
        }
      }
    } else if (IsPerformanceMetric(rule.metric)) {
      if (performance == nullptr || performance->windows.empty()) continue;
      std::vector<const PerformanceWindow*> windows;
      if (rule.window == AlertWindow::kLatest) {
        windows.push_back(&performance->windows.back());
      } else if (rule.window == AlertWindow::kEach) {
        for (const PerformanceWindow& w : performance->windows) windows.push_back(&w);
      } else if (performance->overall.has_value()) {
        windows.push_back(&*performance->overall);
      }
      for (const PerformanceWindow* w : windows) {
        std::optional<double> value = WindowValue(rule.metric, *w);
        if (!value.has_value() || !std::isfinite(*value)) continue;
        if (std::optional<Alert> a = Judge(rule, *value, w->rows)) {
          a->window_start_micros = w->start_micros;
          a->window_end_micros = w->end_micros;
          a->message = MetricText(*a) + " over " + std::to_string(w->rows) +
                       " labelled rows from " + FormatTime(w->start_micros) + " to " +
                       FormatTime(w->end_micros) + " (rule " + rule.name + ")";
          alerts.push_back(std::move(*a));
        }
      }
    } else {
      if (drift == nullptr || !drift->score.has_value()) continue;
      std::optional<std::pair<double, size_t>> v = DriftValue(rule.metric, *drift->score);
      if (!v.has_value()) continue;
      if (std::optional<Alert> a = Judge(rule, v->first, v->second)) {
        a->message = "score: " + MetricText(*a) + " (rule " + rule.name + ")";
        alerts.push_back(std::move(*a));
      }
    }
  }

  // Keep the most severe alert per metric, direction, feature and window (the first rule among
  // equals).
  using Key = std::tuple<AlertMetric, std::string, std::string, int64_t, int64_t>;
  std::map<Key, size_t> best;
  std::vector<bool> keep(alerts.size(), true);
  for (size_t i = 0; i < alerts.size(); ++i) {
    const Alert& a = alerts[i];
    const Key key{a.metric, a.comparison, a.feature, a.window_start_micros.value_or(0),
                  a.window_end_micros.value_or(0)};
    auto [it, inserted] = best.emplace(key, i);
    if (inserted) continue;
    if (a.severity > alerts[it->second].severity) {
      keep[it->second] = false;
      it->second = i;
    } else {
      keep[i] = false;
    }
  }
  std::vector<Alert> out;
  for (size_t i = 0; i < alerts.size(); ++i) {
    if (keep[i]) out.push_back(std::move(alerts[i]));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Alert& a, const Alert& b) { return a.severity > b.severity; });
  return out;
}

Json AlertToJson(const Alert& alert) {
  auto time = [](const std::optional<int64_t>& t) {
    return t.has_value() ? Json(FormatTime(*t)) : Json();
  };
  return {{"rule", alert.rule},
          {"metric", AlertMetricName(alert.metric)},
          {"feature", alert.feature},
          {"value", std::isfinite(alert.value) ? Json(alert.value) : Json()},
          {"threshold", std::isfinite(alert.threshold) ? Json(alert.threshold) : Json()},
          {"comparison", alert.comparison},
          {"severity", AlertSeverityName(alert.severity)},
          {"rows", alert.rows},
          {"window_start", time(alert.window_start_micros)},
          {"window_end", time(alert.window_end_micros)},
          {"message", alert.message}};
}

}  // namespace plinth::monitor
