// Drift of current inputs and scores against a model's baseline (docs/monitoring.md).
//
// A DriftAccumulator takes rows one at a time (JSON objects, as the inference server and decision
// records hold them) or a whole Table, and reports per feature and for the score:
// - PSI over the baseline's bins or categories (data/validation.h Psi, fractions floored at
//   kPsiEpsilon);
// - KS, numeric only: the two-sample Kolmogorov-Smirnov statistic between the baseline's sample
//   and every current value (exactly data/validation.h KsStatistic(sample, current values));
// - JS, the Jensen-Shannon distance (square root of the divergence, base 2, so in [0, 1]) over
//   the same bins or categories;
// - the missing rate, baseline and current, and the share of each bin or category on both sides.
// Each metric is over non-missing values and is absent (null in JSON) when either side has none.
//
// Memory is bounded whatever the number of rows: per feature a count per bin or category and a
// count per interval between the baseline's (at most kBaselineSampleSize) sample points, which is
// all the exact KS statistic needs.
//
// Current values: a null, a NaN or an absent key is missing. A numeric feature takes numbers and
// bools (0 or 1); a categorical one takes strings, bools ("true", "false") and integers (their
// decimal text; a float with an integral value counts as that integer). Any other value is
// counted as invalid, and as missing. A category the baseline does not list counts as
// kOtherCategory. In a Table, a string column holding numbers for a numeric feature is parsed
// cell by cell (cells that are not numbers are invalid).
#ifndef PLINTH_MONITOR_DRIFT_H_
#define PLINTH_MONITOR_DRIFT_H_

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "monitor/baseline.h"
#include "table/table.h"

namespace plinth::monitor {

enum class DriftStatus { kOk, kWarn, kDrift };

// "ok", "warn" or "drift".
std::string DriftStatusName(DriftStatus status);

// When a feature's status is "warn" or "drift": a metric strictly above its warn or drift level.
// Defaults (docs/monitoring.md explains them): PSI 0.1 / 0.25, KS 0.1 / 0.2, JS distance
// 0.1 / 0.2 (roughly the same shifts as PSI's for a moderate change), and an increase of the
// missing rate over the baseline's by 0.1 / 0.25 (absolute).
struct DriftThresholds {
  double psi_warn = 0.1, psi_drift = 0.25;
  double ks_warn = 0.1, ks_drift = 0.2;
  double js_warn = 0.1, js_drift = 0.2;
  double missing_warn = 0.1, missing_drift = 0.25;
};

// One bin (numeric: "< 5", "[5, 7.5)", ">= 7.5", or "all" with no edges) or category, with its
// share of the non-missing values on each side (0 when a side has none).
struct BinShare {
  std::string label;
  double baseline = 0;
  double current = 0;
  // Numeric bins: the bin is [lower, upper); absent for an open end and for categories.
  std::optional<double> lower, upper;
};

struct FeatureDrift {
  std::string name;
  FeatureKind kind = FeatureKind::kNumeric;
  size_t rows = 0;     // current rows seen
  size_t missing = 0;  // current missing values, invalid ones included
  size_t invalid = 0;  // current values of the wrong type
  size_t values = 0;   // current non-missing values: rows - missing
  size_t baseline_values = 0;
  double baseline_missing_rate = 0;
  std::optional<double> missing_rate;  // absent when no rows were seen
  std::optional<double> psi;
  std::optional<double> ks;  // numeric only
  std::optional<double> js;
  // Numeric: current and baseline summaries of the non-missing values.
  std::optional<double> min, max, mean, baseline_mean;
  std::vector<BinShare> bins;
  DriftStatus status = DriftStatus::kOk;
  // Why the status is not ok ("psi 0.41 > 0.25; ks 0.22 > 0.2"); empty when ok.
  std::string reason;
};

struct DriftReport {
  size_t baseline_rows = 0;
  size_t rows = 0;         // current rows seen
  size_t scored_rows = 0;  // of which came with a (non-missing) score
  DriftThresholds thresholds;
  std::vector<FeatureDrift> features;  // in the baseline's order
  std::optional<FeatureDrift> score;   // when the baseline has a score distribution
  size_t warn_count = 0;               // features (score included) with status warn
  size_t drift_count = 0;              // ... and with status drift

  // nullptr if `name` is not a feature.
  const FeatureDrift* Find(std::string_view name) const;
};

// Jensen-Shannon distance of two distributions given as counts per bin (same length), base 2:
// sqrt(JSD) with JSD = (KL(p || m) + KL(q || m)) / 2, m = (p + q) / 2 and 0 log 0 = 0; in [0, 1].
// 0 if either side has no counts.
double JensenShannonDistance(const std::vector<double>& reference_counts,
                             const std::vector<double>& data_counts);

// Accumulates current values for one baseline. Not thread-safe: callers sharing one lock it (or
// keep one per thread and Merge).
class DriftAccumulator {
 public:
  // InvalidArgument if the baseline breaks ValidateBaseline's invariants.
  static StatusOr<DriftAccumulator> Create(Baseline baseline, DriftThresholds thresholds = {});

  // One row {feature: value, ...} (other keys are ignored) with its score (ignored when the
  // baseline has no score; NaN or nullopt is a missing score). InvalidArgument, adding nothing,
  // if `row` is not a JSON object.
  Status AddRow(const Json& row, std::optional<double> score = std::nullopt);
  // Every row of `table` (a feature without a column counts as missing) with `scores`, one per
  // row or empty. InvalidArgument, adding nothing, if the sizes differ.
  Status AddTable(const Table& table, std::span<const double> scores = {});
  // Adds the counts of `other`, which must have been created from an identical baseline
  // (InvalidArgument otherwise).
  Status Merge(const DriftAccumulator& other);

  // Forgets every row added, keeping the baseline and thresholds (for rolling windows).
  void Reset();

  size_t rows() const { return rows_; }
  const Baseline& baseline() const { return baseline_; }

  // The report over everything added so far (cheap: proportional to the baseline's size).
  DriftReport Report() const;

 private:
  // Current counts for one feature (or the score).
  // Holds no pointer into baseline_, so accumulators copy and move freely.
  struct State {
    std::vector<double> counts;  // per bin or category
    size_t missing = 0;
    size_t invalid = 0;
    // Numeric: the baseline sample's distinct points, the share of the sample at or below each,
    // and the current values strictly between consecutive points (below[i]: below points[i];
    // below[points.size()]: above the last) and equal to each point.
    std::vector<double> points;
    std::vector<double> sample_cdf;
    std::vector<double> below;
    std::vector<double> at;
    double sum = 0;
    std::optional<double> min, max;
    // Categorical: category -> index into counts.
    std::map<std::string, size_t, std::less<>> index;
  };

  DriftAccumulator() = default;
  static State InitState(const FeatureBaseline& f);
  static void AddNumber(const FeatureBaseline& f, State& s, double v);
  static void AddCategory(State& s, std::string_view category);
  static void AddJsonValue(const FeatureBaseline& f, State& s, const Json* value);
  // Every cell of `column` (nullptr: a missing column, `rows` missing values).
  static void AddColumn(const FeatureBaseline& f, State& s, const Column* column, size_t rows);
  FeatureDrift FeatureReport(const FeatureBaseline& f, const State& s) const;

  Baseline baseline_;
  DriftThresholds thresholds_;
  std::vector<State> states_;
  std::optional<State> score_state_;
  size_t rows_ = 0;
  size_t scored_rows_ = 0;
};

// The report as JSON: {"baseline_rows", "rows", "scored_rows", "thresholds", "warn_count",
// "drift_count", "features": [{"name", "kind", "rows", "missing", "invalid", "values",
// "baseline_values", "baseline_missing_rate", "missing_rate", "psi", "ks", "js", "min", "max",
// "mean", "baseline_mean", "status", "reason", "bins": [{"label", "baseline", "current",
// "lower", "upper"}]}],
// "score": {...} or null}. Absent values are null.
Json DriftReportToJson(const DriftReport& report);

}  // namespace plinth::monitor

#endif  // PLINTH_MONITOR_DRIFT_H_
