// The credit scorecard: each feature of a raw Table is cut into bins, each bin replaced by its
// weight of evidence (WoE), a logistic regression weighs the WoE of the features, and the result
// is scaled to points per bin that add up to a score. The JSON is described in
// docs/formats/linear-models.md, with the method below.
//
// Labels: 1 is the adverse outcome ("bad", e.g. default), 0 the good one. Counts are rows (no
// weights). N, G and B are the training rows, goods and bads; g_i and b_i those of bin i.
//
// Binning, per feature (every bin is learned on the training rows):
//   numeric (int64 and float64 columns, unless listed as categorical):
//     1. Fine bins: with the m non-missing values sorted, the cut points are the values at sorted
//        index floor(q * m / max_bins) for q = 1 .. max_bins - 1, dropping repeats and any equal
//        to the smallest value. Bins are [cut_k, cut_k+1), the first open below (-inf) and the
//        last above (+inf), so every number falls in one.
//     2. Direction: forced by `monotone` (+1: the bad rate rises with the value, so WoE falls;
//        -1: the reverse; the meaning of XgboostParams::monotone_constraints for the probability
//        of class 1), else the sign of the covariance between the fine bin's index and the label
//        over the non-missing rows (a rank correlation, robust to outliers); +1 when it is 0.
//     3. Small or one-class bins: while more than one bin remains and a bin has fewer than
//        min_bin_share * N rows or lacks goods or bads, the smallest such bin (the leftmost on a
//        tie) merges into the neighbour whose bad rate is closest to its own (on a tie the one
//        with fewer rows, then the left one).
//     4. Monotone WoE: pool-adjacent-violators from left to right: a bin whose WoE does not
//        strictly fall (direction +1) or rise (-1) after the previous bin merges with it, and
//        the merged bin again with its predecessor while they violate. The result is strictly
//        monotone; steps 3-4 only merge, so every bin keeps min_bin_share of the rows and both
//        classes unless only one bin is left.
//     A null cell or a NaN is missing. Infinities are refused in training; when scoring they fall
//     in the first or last bin.
//   categorical (string and bool columns, and int64 columns listed in `categorical`): a bin per
//     level (the cell's text; an int64's decimal form; "true" / "false") with at least
//     min_bin_share * N rows, ordered by WoE (riskiest first, ties by the level's text). Rarer
//     levels share one "other" bin, which also takes levels not seen in training when scoring.
//     A level keeps its own bin even if it lacks goods or bads (its WoE is smoothed, below).
//   Every feature ends with an "other" bin (categorical) and a "missing" bin (nulls, and NaN for
//   numbers). Such a bin with no training rows has WoE 0, the neutral value (average risk).
//
// WoE_i = ln((g_i / G) / (b_i / B)): positive for bins safer than average. A bin lacking goods or
// bads (never after step 3 for numeric bins) counts 0.5 more of each (g_i + 0.5, b_i + 0.5; G
// and B unchanged). IV_i = (g_i / G - b_i / B) * WoE_i with the same smoothed counts, and a
// feature's information value IV is the sum over its bins. WoE is kept at float precision (about
// 7 digits), the precision of the matrix the regression trains on, so that training and scoring
// see the same numbers.
//
// Selection: features with IV < min_iv are dropped (listed in dropped() with their IV) and take
// no part in the regression. At least one feature must remain.
//
// Regression: LogisticModel (logistic.h) with an L2 penalty of strength 1 / C (C default 1000,
// weak), no standardisation, an intercept, on the WoE of the kept features:
//     logit P(bad) = alpha + sum_j beta_j * WoE_j     (the beta_j are usually negative).
//
// Points: factor = pdo / ln 2, offset = base_score - factor * ln(base_odds), n the number of
// features kept, and the points of bin i of feature j
//     points_ij = -(beta_j * WoE_ij + alpha / n) * factor + offset / n,
// so the exact total is offset + factor * ln(odds good:bad) = offset - factor * logit P(bad):
// higher scores mean lower risk, base_score is the score at odds base_odds (good:bad), and the
// score rises by exactly pdo when those odds double. With round_points (default) the points in
// the table (JSON, Markdown) are rounded to the nearest integer (halves away from zero).
//
// What each call returns: Score() adds the points as in the table (integers with round_points),
// so anyone can recompute a score by hand; Predict() and Logits() use the exact regression
// (alpha + sum beta_j * WoE_j), never the rounded points; Contributions() gives both per feature.
//
// A fitted scorecard is immutable: its const methods may run concurrently.
#ifndef PLINTH_TRAIN_SCORECARD_H_
#define PLINTH_TRAIN_SCORECARD_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"
#include "train/logistic.h"

namespace plinth {

struct ScorecardOptions {
  // Feature columns, in the scorecard's order; at least one, each once.
  std::vector<std::string> features;
  // int64 columns to bin by level (string and bool columns always are); each must be a feature.
  std::vector<std::string> categorical;
  // Numeric feature -> +1 (bad rate rises with the value), -1 (falls) or 0 (chosen from the data,
  // as when absent).
  std::map<std::string, int> monotone;
  int max_bins = 20;            // fine bins per numeric feature, 2 .. 1000
  double min_bin_share = 0.05;  // in (0, 0.5]: the smallest bin, as a share of all rows
  double min_iv = 0.02;         // >= 0: features with a lower IV are dropped
  double C = 1000;              // > 0: the regression's inverse L2 strength
  double pdo = 20;              // > 0: points to double the odds
  double base_score = 600;      // the score at base_odds
  double base_odds = 50;        // > 0: odds good:bad at base_score
  bool round_points = true;     // integers in the points table (and in Score)

  // InvalidArgument naming the first option out of range, a feature listed twice, or a
  // categorical or monotone entry that names no feature.
  Status Validate() const;
  // Every field by the names above.
  Json ToJson() const;
  // The fields ToJson writes, any subset (the rest default). InvalidArgument for an unknown
  // field, a wrong type, or options Validate refuses.
  static StatusOr<ScorecardOptions> FromJson(const Json& json);
};

enum class ScorecardBinKind {
  kRange,    // numeric: lower <= value < upper
  kLevels,   // categorical: the listed levels
  kOther,    // categorical: levels rarer than min_bin_share (listed) and unseen levels
  kMissing,  // null cells (and NaN)
};

// "range", "levels", "other", "missing".
std::string ScorecardBinKindName(ScorecardBinKind kind);

struct ScorecardBin {
  ScorecardBinKind kind = ScorecardBinKind::kRange;
  double lower = -std::numeric_limits<double>::infinity();  // kRange, inclusive
  double upper = std::numeric_limits<double>::infinity();   // kRange, exclusive
  std::vector<std::string> levels;                          // kLevels, kOther
  int64_t goods = 0;                                        // training rows with label 0
  int64_t bads = 0;                                         // training rows with label 1
  double woe = 0;
  double iv = 0;
  double points = 0;  // as in the table (rounded with round_points)

  int64_t count() const { return goods + bads; }
  // "[10, 20)", "[-inf, 5)", "missing", "A, B", "other (C, D)", for people.
  std::string Label() const;
};

struct ScorecardFeature {
  std::string name;
  ColumnType type = ColumnType::kFloat64;  // the column's type in training
  bool categorical = false;
  int direction = 0;  // numeric: +1 / -1 as in ScorecardOptions::monotone; 0 categorical
  double iv = 0;
  double coefficient = 0;          // beta_j
  std::vector<ScorecardBin> bins;  // ranges or levels, then other (categorical), then missing
};

struct DroppedFeature {
  std::string name;
  double iv = 0;
  std::string reason;
};

// Per row and kept feature (row-major, rows x features.size()).
struct ScorecardContributions {
  size_t rows = 0;
  std::vector<std::string> features;
  std::vector<int32_t> bins;     // the index of the row's bin in the feature's bins
  std::vector<double> points;    // the bin's points as in the table: they add up to Score()
  std::vector<double> log_odds;  // beta_j * WoE: intercept + their sum (in order) = Logits()
  double intercept = 0;          // alpha
};

class Scorecard {
 public:
  // The JSON's "format"; FromJson refuses any other.
  static constexpr int kFormat = 1;

  // Fits on every row of `table` with `labels` (0/1, one per row; 1 = bad). InvalidArgument for
  // options Validate refuses, a label count that differs from the row count, labels other than
  // 0/1 or only one class, a feature column that is missing, a timestamp, float64 yet
  // categorical, categorical yet monotone, or holds an infinity (naming column and row), no
  // feature left after the IV selection, and for the regression's errors.
  static StatusOr<Scorecard> Fit(const Table& table, std::span<const float> labels,
                                 const ScorecardOptions& options);

  // The probability of class 1 (bad) per row, from the exact regression. InvalidArgument if a
  // kept feature's column is missing or has an incompatible type (numeric features take int64 or
  // float64 columns, categorical ones their training type).
  StatusOr<std::vector<float>> Predict(const Table& table) const;
  // The log-odds of class 1 per row in double (same errors).
  StatusOr<std::vector<double>> Logits(const Table& table) const;
  // The score per row: the sum of its bins' points as in the table (same errors).
  StatusOr<std::vector<double>> Score(const Table& table) const;
  // Points and log-odds per row and feature (same errors).
  StatusOr<ScorecardContributions> Contributions(const Table& table) const;

  const ScorecardOptions& options() const { return options_; }
  const std::vector<ScorecardFeature>& features() const { return features_; }
  const std::vector<DroppedFeature>& dropped() const { return dropped_; }
  double intercept() const { return intercept_; }
  double factor() const { return factor_; }
  double offset() const { return offset_; }
  int64_t rows() const { return goods_ + bads_; }
  int64_t goods() const { return goods_; }
  int64_t bads() const { return bads_; }
  // The regression's report (without seconds).
  const LogisticReport& regression() const { return regression_; }
  // The exact (unrounded) points of bin `bin` of kept feature `feature`.
  double ExactPoints(size_t feature, size_t bin) const;

  // {"format": 1, "model": "scorecard", ...}; see docs/formats/linear-models.md.
  Json ToJson() const;
  // InvalidArgument (naming the member, feature and bin) for a document ToJson would not write:
  // another format or model, unknown or missing members, wrong types, bins that do not tile the
  // numbers or repeat a level, counts that do not add up, or WoE, IV, factor, offset or points
  // that do not follow from the counts and coefficients as described at the top of this file.
  static StatusOr<Scorecard> FromJson(const Json& json);

  // For reports: every feature (kept and dropped) sorted by IV, highest first (ties by name), each
  // with {name, iv, strength, selected, and bins, coefficient, reversed | reason}, and the
  // scaling, intercept, score range (the sums of each feature's lowest and highest points) and
  // regression report. Strength by the usual rule of thumb: IV < 0.02 "not predictive", < 0.1
  // "weak", < 0.3 "medium", < 0.5 "strong", else "very strong" (worth a check for leakage).
  // `reversed` marks a positive coefficient: given the other features, the feature's points run
  // against its own WoE (riskier bins score higher), usually through correlation with a stronger
  // feature; a reviewer may prefer to drop it and refit.
  Json Summary() const;
  // The points table in Markdown: the scaling in a sentence, then one row per bin (feature, bin,
  // count, share, bad rate, WoE, IV, points).
  std::string PointsTableMarkdown() const;

 private:
  Scorecard() = default;
  // Fills the level lookups and checks that each feature's bins are well formed.
  Status Index();
  // Each kept feature's bin for each row of `table` (row-major, rows x features).
  StatusOr<std::vector<int32_t>> AssignBins(const Table& table) const;
  // alpha + sum_j beta_j * WoE for the row's bins (features.size() of them), in order.
  double RowLogit(const int32_t* bins, double* log_odds) const;

  ScorecardOptions options_;
  std::vector<ScorecardFeature> features_;
  std::vector<DroppedFeature> dropped_;
  double intercept_ = 0;
  double factor_ = 0;
  double offset_ = 0;
  int64_t goods_ = 0;
  int64_t bads_ = 0;
  LogisticReport regression_;
  // Per kept feature: level text -> bin (categorical), and the other and missing bins.
  std::vector<std::map<std::string, int32_t, std::less<>>> level_bins_;
  std::vector<int32_t> other_bin_;
  std::vector<int32_t> missing_bin_;
};

}  // namespace plinth

#endif  // PLINTH_TRAIN_SCORECARD_H_
