// A model's performance over time once ground truth arrives (docs/monitoring.md): labelled
// outcomes (decision time, score, label) grouped into windows, each evaluated with
// train/evaluation.h EvaluateBinary (AUC, KS, Brier, log loss, calibration per decile), plus the
// whole period at once.
#ifndef PLINTH_MONITOR_PERFORMANCE_H_
#define PLINTH_MONITOR_PERFORMANCE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::monitor {

// One scored decision whose outcome is known.
struct LabelledOutcome {
  int64_t time_micros = 0;  // when the decision was made, microseconds since the epoch (UTC)
  double score = 0;         // the model's probability of class 1, in [0, 1]
  int label = 0;            // the observed outcome, 0 or 1
};

// How outcomes are grouped. Exactly one of period_micros and equal_windows is set (> 0):
// - period_micros: calendar windows [origin + k * period, origin + (k + 1) * period) for every k
//   that holds an outcome (empty windows are left out);
// - equal_windows: N windows of (nearly) equal row counts, in time order (window i holds the
//   rows at positions [i * n / N, (i + 1) * n / N) of the time-sorted outcomes).
struct Windowing {
  int64_t period_micros = 0;
  int64_t origin_micros = 0;
  size_t equal_windows = 0;
};

// Windowing from its text form: "hour", "day" (UTC days), "week" (weeks starting Monday 00:00
// UTC), a duration as core/clock.h ParseDuration reads it ("6h", "7d", "30d"; windows aligned to
// the epoch), or "equal:N" (N from 1 to 1000 equal-count windows). InvalidArgument, naming the
// accepted forms, otherwise.
StatusOr<Windowing> ParseWindowing(std::string_view text);

// Mean predicted probability against the observed positive rate, per decile of score (decile 1
// holds the highest scores; as EvaluateBinary defines them).
struct CalibrationPoint {
  int decile = 0;
  size_t rows = 0;
  double mean_score = 0;
  double observed_rate = 0;
};

struct PerformanceWindow {
  int64_t start_micros = 0;  // inclusive
  int64_t end_micros = 0;    // exclusive (equal-count windows: one past the last row's time)
  size_t rows = 0;
  size_t positives = 0;
  double base_rate = 0;   // positives / rows
  double mean_score = 0;  // to compare with base_rate: calibration in the large
  // Absent when the window holds a single class (AUC and KS are undefined there).
  std::optional<double> auc, ks;
  double brier = 0;
  double log_loss = 0;
  std::vector<CalibrationPoint> calibration;  // empty deciles (windows under 10 rows) left out
};

struct PerformanceReport {
  Windowing windowing;
  size_t rows = 0;
  size_t positives = 0;
  std::vector<PerformanceWindow> windows;  // in time order
  // Every outcome as one window; absent when there are none.
  std::optional<PerformanceWindow> overall;
  // train/evaluation.h BinaryMetrics::ToJson() over every outcome (null when there are none):
  // what RocCurveSvg and CalibrationSvg draw.
  Json overall_metrics;
};

// Groups `outcomes` (any order) by `windowing` and evaluates each window. InvalidArgument for a
// windowing that sets neither or both forms (or a negative period), and for an outcome whose label
// is not 0 or 1 or whose score is not a probability in [0, 1] (naming its index). No outcomes
// give a report with no windows.
StatusOr<PerformanceReport> ComputePerformance(std::span<const LabelledOutcome> outcomes,
                                               const Windowing& windowing);

// {"windowing": {"period_micros", "origin_micros", "equal_windows"}, "rows", "positives",
// "windows": [{"start", "end" (RFC 3339), "start_micros", "end_micros", "rows", "positives",
// "base_rate", "mean_score", "auc", "ks", "brier", "log_loss", "calibration": [{"decile",
// "rows", "mean_score", "observed_rate"}]}], "overall": {...} or null, "overall_metrics"}.
// Undefined values are null.
Json PerformanceToJson(const PerformanceReport& report);

}  // namespace plinth::monitor

#endif  // PLINTH_MONITOR_PERFORMANCE_H_
