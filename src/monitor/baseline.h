// The reference distributions a model is monitored against (docs/monitoring.md): computed once, at
// registration, from the rows the model was trained or validated on and its scores on them, and
// stored as JSON beside the model version.
//
// Per feature (a raw input column):
// - numeric (int64, float64): kBaselineBins quantile bins (data/validation.h QuantileEdges; a
//   value v falls in bin #edges-at-or-below-v), the reference count per bin, a sorted sample of
//   at most kBaselineSampleSize values (evenly spaced quantiles of all values) for the KS
//   statistic, min, max and mean;
// - categorical (string and bool columns, and int64 columns named in
//   BaselineOptions::categorical): the kMaxBaselineCategories most frequent values with their
//   counts (ties by byte order), then kOtherCategory holding every other value, always present
//   (count 0 when no value was left out) so that unseen values have somewhere to go. Bool values
//   are "true" and "false", int64 values their decimal text.
// Missing values (null cells, NaN) are counted, not binned: every statistic above is over the
// non-missing values. The score, when given, is one more numeric distribution named "score".
#ifndef PLINTH_MONITOR_BASELINE_H_
#define PLINTH_MONITOR_BASELINE_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace plinth::monitor {

inline constexpr int kBaselineBins = 10;
inline constexpr size_t kBaselineSampleSize = 2000;
inline constexpr size_t kMaxBaselineCategories = 50;
inline constexpr std::string_view kOtherCategory = "__other__";
// The JSON format version written by BaselineToJson and the only one BaselineFromJson reads.
inline constexpr int kBaselineFormat = 1;

enum class FeatureKind { kNumeric, kCategorical };

// "numeric" or "categorical".
std::string FeatureKindName(FeatureKind kind);

struct FeatureBaseline {
  std::string name;
  FeatureKind kind = FeatureKind::kNumeric;
  size_t rows = 0;     // rows seen, missing included
  size_t missing = 0;  // null (or NaN) cells

  // numeric
  std::vector<double> edges;             // strictly increasing, at most kBaselineBins - 1
  std::vector<double> sample;            // sorted, at most kBaselineSampleSize values
  std::optional<double> min, max, mean;  // absent when every value is missing

  // categorical: categories in order of frequency, kOtherCategory last.
  std::vector<std::string> categories;

  // numeric: one count per bin (edges.size() + 1); categorical: one per category.
  std::vector<double> counts;

  // missing / rows; 0 when there are no rows.
  double missing_fraction() const;
  // Non-missing values: the sum of counts.
  double values() const;
  // The bin a numeric value falls in.
  size_t BinOf(double value) const;
};

struct Baseline {
  size_t rows = 0;
  std::vector<FeatureBaseline> features;  // in the order they were asked for
  std::optional<FeatureBaseline> score;   // absent when no scores were given

  // nullptr if `name` is not a feature.
  const FeatureBaseline* Find(std::string_view name) const;
};

struct BaselineOptions {
  // int64 columns to treat as categories rather than numbers (string and bool columns always are).
  std::vector<std::string> categorical;
};

// The baseline of `features` (distinct column names of `rows`) and of `scores` (one per row, or
// empty for no score baseline; a NaN score counts as missing). InvalidArgument naming the column
// for a missing column, a timestamp column (derive a number from it first) or a float64 column
// listed as categorical, and for a score count that differs from the row count or an infinite
// score.
StatusOr<Baseline> ComputeBaseline(const Table& rows, const std::vector<std::string>& features,
                                   std::span<const double> scores,
                                   const BaselineOptions& options = {});

// Checks the invariants the drift computation relies on (the ones listed above: counts per bin or
// category, sorted and finite edges and sample, distinct names and categories, kOtherCategory
// last, missing <= rows, counts summing to rows - missing). InvalidArgument naming the feature and
// field otherwise.
Status ValidateBaseline(const Baseline& baseline);

// The stored form: {"format": 1, "rows", "features": [...], "score": {...} or null}; each feature
// {"name", "kind", "rows", "missing", "missing_fraction", "counts", and for numeric "edges",
// "sample", "min", "max", "mean", for categorical "categories"}.
Json BaselineToJson(const Baseline& baseline);
// Reads BaselineToJson's output back, refusing anything else: InvalidArgument naming the field
// ("baseline: features[2] 'int_rate': 'counts' must have 10 entries (edges + 1), not 9").
StatusOr<Baseline> BaselineFromJson(const Json& json);

}  // namespace plinth::monitor

#endif  // PLINTH_MONITOR_BASELINE_H_
