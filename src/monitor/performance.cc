#include "monitor/performance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "core/clock.h"
#include "train/evaluation.h"

namespace plinth::monitor {
namespace {

constexpr int64_t kHourMicros = int64_t{3600} * 1000000;
constexpr int64_t kDayMicros = 24 * kHourMicros;
// 1970-01-05, the first Monday after the epoch.
constexpr int64_t kFirstMondayMicros = 4 * kDayMicros;
constexpr size_t kMaxEqualWindows = 1000;
// Times and periods are kept well inside int64 so window bounds never overflow: about 3,000
// years either side of the epoch, and periods up to about 30,000 years.
constexpr int64_t kMaxAbsTimeMicros = int64_t{100000000000000000};
constexpr int64_t kMaxPeriodMicros = int64_t{1000000000000000000};

// The k with origin + k * period <= t < origin + (k + 1) * period (floor division, so times
// before the origin land in negative windows rather than window 0).
int64_t WindowIndex(int64_t t, int64_t origin, int64_t period) {
  const int64_t d = t - origin;
  int64_t k = d / period;
  if (d % period != 0 && d < 0) --k;
  return k;
}

Json Optional(const std::optional<double>& v) {
  return v.has_value() && std::isfinite(*v) ? Json(*v) : Json();
}

Json Finite(double v) { return std::isfinite(v) ? Json(v) : Json(); }

// Evaluates the outcomes at `rows` (indices into `outcomes`).
StatusOr<std::pair<PerformanceWindow, BinaryMetrics>> Evaluate(
    std::span<const LabelledOutcome> outcomes, const std::vector<size_t>& rows) {
  std::vector<float> labels, scores;
  labels.reserve(rows.size());
  scores.reserve(rows.size());
  PerformanceWindow w;
  double score_sum = 0;
  for (size_t i : rows) {
    labels.push_back(static_cast<float>(outcomes[i].label));
    scores.push_back(static_cast<float>(outcomes[i].score));
    score_sum += outcomes[i].score;
    w.positives += outcomes[i].label == 1 ? 1 : 0;
  }
  ASSIGN_OR_RETURN(BinaryMetrics m, EvaluateBinary(labels, scores));
  w.rows = rows.size();
  w.base_rate = static_cast<double>(w.positives) / static_cast<double>(w.rows);
  w.mean_score = score_sum / static_cast<double>(w.rows);
  if (std::isfinite(m.auc)) w.auc = m.auc;
  if (std::isfinite(m.ks)) w.ks = m.ks;
  w.brier = m.brier;
  w.log_loss = m.log_loss;
  for (const DecileStats& d : m.deciles) {
    w.calibration.push_back({d.decile, d.rows, d.mean_score, d.observed_rate});
  }
  return std::make_pair(std::move(w), std::move(m));
}

Json WindowToJson(const PerformanceWindow& w) {
  Json calibration = Json::array();
  for (const CalibrationPoint& p : w.calibration) {
    calibration.push_back({{"decile", p.decile},
                           {"rows", p.rows},
                           {"mean_score", Finite(p.mean_score)},
                           {"observed_rate", Finite(p.observed_rate)}});
  }
  return {{"start", FormatTime(w.start_micros)},
          {"end", FormatTime(w.end_micros)},
          {"start_micros", w.start_micros},
          {"end_micros", w.end_micros},
          {"rows", w.rows},
          {"positives", w.positives},
          {"base_rate", Finite(w.base_rate)},
          {"mean_score", Finite(w.mean_score)},
          {"auc", Optional(w.auc)},
          {"ks", Optional(w.ks)},
          {"brier", Finite(w.brier)},
          {"log_loss", Finite(w.log_loss)},
          {"calibration", std::move(calibration)}};
}

}  // namespace

StatusOr<Windowing> ParseWindowing(std::string_view text) {
  Windowing w;
  if (text == "hour") {
    w.period_micros = kHourMicros;
  } else if (text == "day") {
    w.period_micros = kDayMicros;
  } else if (text == "week") {
    w.period_micros = 7 * kDayMicros;
    w.origin_micros = kFirstMondayMicros;
  } else if (text.substr(0, 6) == "equal:") {
    int64_t n = 0;
    if (!absl::SimpleAtoi(std::string(text.substr(6)), &n) || n <= 0 ||
        n > static_cast<int64_t>(kMaxEqualWindows)) {
      return absl::InvalidArgumentError("window 'equal:N' needs N from 1 to " +
                                        std::to_string(kMaxEqualWindows) + ", not '" +
                                        std::string(text.substr(6)) + "'");
    }
    w.equal_windows = static_cast<size_t>(n);
  } else if (std::optional<int64_t> micros = ParseDuration(text)) {
    w.period_micros = *micros;
  } else {
    return absl::InvalidArgumentError(
        "window '" + std::string(text) +
        "' is not one of: hour, day, week, a duration such as 6h or 30d, or equal:N");
  }
  return w;
}

StatusOr<PerformanceReport> ComputePerformance(std::span<const LabelledOutcome> outcomes,
                                               const Windowing& windowing) {
  if ((windowing.period_micros > 0) == (windowing.equal_windows > 0) ||
      windowing.period_micros < 0) {
    return absl::InvalidArgumentError(
        "windowing needs exactly one of a positive period and a number of equal windows");
  }
  if (windowing.period_micros > kMaxPeriodMicros || windowing.origin_micros > kMaxAbsTimeMicros ||
      windowing.origin_micros < -kMaxAbsTimeMicros) {
    return absl::InvalidArgumentError("the window period or origin is out of range");
  }
  for (size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].label != 0 && outcomes[i].label != 1) {
      return absl::InvalidArgumentError("outcome " + std::to_string(i) + ": label " +
                                        std::to_string(outcomes[i].label) + " is not 0 or 1");
    }
    if (outcomes[i].time_micros > kMaxAbsTimeMicros ||
        outcomes[i].time_micros < -kMaxAbsTimeMicros) {
      return absl::InvalidArgumentError("outcome " + std::to_string(i) + ": time is out of range");
    }
    if (!(outcomes[i].score >= 0 && outcomes[i].score <= 1)) {
      return absl::InvalidArgumentError("outcome " + std::to_string(i) +
                                        ": score is not a probability in [0, 1]");
    }
  }
  PerformanceReport report;
  report.windowing = windowing;
  report.rows = outcomes.size();
  report.overall_metrics = Json();
  if (outcomes.empty()) return report;

  // Time order, ties by input order, so the windows do not depend on how the input was sorted
  // beyond that.
  std::vector<size_t> order(outcomes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return outcomes[a].time_micros < outcomes[b].time_micros;
  });

  struct Group {
    int64_t start, end;
    std::vector<size_t> rows;
  };
  std::vector<Group> groups;
  if (windowing.period_micros > 0) {
    const int64_t period = windowing.period_micros;
    for (size_t i : order) {
      const int64_t k = WindowIndex(outcomes[i].time_micros, windowing.origin_micros, period);
      const int64_t start = windowing.origin_micros + k * period;
      if (groups.empty() || groups.back().start != start)
        groups.push_back({start, start + period, {}});
      groups.back().rows.push_back(i);
    }
  } else {
    const size_t n = order.size();
    const size_t count = std::min(windowing.equal_windows, n);
    for (size_t g = 0; g < count; ++g) {
      const size_t begin = g * n / count, end = (g + 1) * n / count;
      Group group;
      group.rows.assign(order.begin() + static_cast<ptrdiff_t>(begin),
                        order.begin() + static_cast<ptrdiff_t>(end));
      group.start = outcomes[group.rows.front()].time_micros;
      group.end = outcomes[group.rows.back()].time_micros + 1;
      groups.push_back(std::move(group));
    }
  }
  for (const Group& g : groups) {
    ASSIGN_OR_RETURN(auto evaluated, Evaluate(outcomes, g.rows));
    evaluated.first.start_micros = g.start;
    evaluated.first.end_micros = g.end;
    report.positives += evaluated.first.positives;
    report.windows.push_back(std::move(evaluated.first));
  }
  ASSIGN_OR_RETURN(auto overall, Evaluate(outcomes, order));
  overall.first.start_micros = report.windows.front().start_micros;
  overall.first.end_micros = report.windows.back().end_micros;
  report.overall = std::move(overall.first);
  report.overall_metrics = overall.second.ToJson();
  return report;
}

Json PerformanceToJson(const PerformanceReport& report) {
  Json windows = Json::array();
  for (const PerformanceWindow& w : report.windows) windows.push_back(WindowToJson(w));
  return {{"windowing",
           {{"period_micros", report.windowing.period_micros},
            {"origin_micros", report.windowing.origin_micros},
            {"equal_windows", report.windowing.equal_windows}}},
          {"rows", report.rows},
          {"positives", report.positives},
          {"windows", std::move(windows)},
          {"overall", report.overall.has_value() ? WindowToJson(*report.overall) : Json()},
          {"overall_metrics", report.overall_metrics}};
}

}  // namespace plinth::monitor
