// How good a model is: binary classification and regression metrics from labels and scores
// (optionally weighted), the population stability index between two score distributions, and
// self-contained SVG plots drawn from the metrics' JSON (so a report looks the same whether it is
// rendered in process or from a stored result).
//
// Conventions (binary): labels are 0 or 1, scores are probabilities of class 1 in [0, 1], weights
// are finite and >= 0 (none: every row weighs 1) and every count below is a sum of weights.
// - AUC is the probability that a random positive scores above a random negative, ties counting
//   one half: exactly the Mann-Whitney statistic with average ranks (the trapezoidal area under the
//   ROC curve with tied scores as one step). Gini = 2 AUC - 1. KS is the largest TPR - FPR over
//   thresholds, reported with the score where it is reached. AUC, Gini and KS are NaN (null in
//   JSON) when one class has no weight.
// - Log loss clips scores to [1e-15, 1 - 1e-15] (as scikit-learn does); Brier is the mean squared
//   difference of score and label.
// - At a threshold t a row is predicted positive when score >= t. Precision, recall and F1 are 0
//   when their denominator is 0.
// - Deciles rank rows by score, highest first (ties by row order, so the result is deterministic);
//   a row belongs to decile floor(10 * (weight before it + half its own) / total weight) + 1, i.e.
//   tenths of the total weight. Empty deciles (under 10 rows) are left out. Lift is a decile's
//   positive rate over the overall rate; gains are the share of all positives in deciles 1..d.
#ifndef PLINTH_TRAIN_EVALUATION_H_
#define PLINTH_TRAIN_EVALUATION_H_

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth {

struct ConfusionMatrix {
  double true_positives = 0;
  double false_positives = 0;
  double true_negatives = 0;
  double false_negatives = 0;
};

struct DecileStats {
  int decile = 0;  // 1 = the highest scores
  size_t rows = 0;
  double weight = 0;
  double min_score = 0;
  double max_score = 0;
  double mean_score = 0;     // mean predicted (calibration)
  double observed_rate = 0;  // share of positives (calibration)
  double positives = 0;
  double cumulative_population = 0;  // share of the total weight in deciles 1..d
  double cumulative_gain = 0;        // share of all positives in deciles 1..d
  double lift = 0;                   // observed_rate / overall positive rate
  double cumulative_lift = 0;        // positive rate of deciles 1..d / overall rate
};

struct BinaryMetrics {
  size_t rows = 0;
  double weight = 0;
  double positives = 0;
  double negatives = 0;
  double base_rate = 0;  // positives / weight
  double auc = 0;
  double gini = 0;
  double ks = 0;
  double ks_score = 0;  // the threshold where KS is reached
  double log_loss = 0;
  double brier = 0;
  double threshold = 0.5;
  ConfusionMatrix confusion;
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double accuracy = 0;
  std::vector<DecileStats> deciles;
  // The ROC curve from (0, 0) to (1, 1), one point per distinct score, thinned to the points
  // that move at least 1/200 from the previous one kept (the last is always kept).
  std::vector<double> roc_fpr;
  std::vector<double> roc_tpr;
  std::vector<double> roc_threshold;
  // Score histogram per class: kHistogramBins equal bins over [0, 1] (the last one closed).
  static constexpr int kHistogramBins = 20;
  std::vector<double> histogram_positives;
  std::vector<double> histogram_negatives;

  // Every field; NaN values as null. The SVG functions below read this shape.
  Json ToJson() const;
};

// InvalidArgument if the spans' sizes differ (weights may be empty), there are no rows, a label
// is not 0 or 1, a score is not in [0, 1], a weight is negative or not finite, the weights sum to
// 0, or the threshold is not finite.
StatusOr<BinaryMetrics> EvaluateBinary(std::span<const float> labels, std::span<const float> scores,
                                       std::span<const float> weights = {}, double threshold = 0.5);

struct RegressionMetrics {
  size_t rows = 0;
  double weight = 0;
  double rmse = 0;
  double mae = 0;
  double r2 = 0;  // 1 - SS_res / SS_tot around the weighted mean; NaN if the labels are constant
  Json ToJson() const;
};

// InvalidArgument for mismatched sizes, no rows, non-finite labels or predictions, or bad weights
// (as above).
StatusOr<RegressionMetrics> EvaluateRegression(std::span<const float> labels,
                                               std::span<const float> predictions,
                                               std::span<const float> weights = {});

struct PsiBin {
  double lower = 0;  // inclusive; -infinity for the first bin (null in JSON)
  double upper = 0;  // exclusive; +infinity for the last bin (null in JSON)
  double reference_share = 0;
  double current_share = 0;
};

struct PsiResult {
  double psi = 0;
  std::vector<PsiBin> bins;
  Json ToJson() const;
};

// Population stability index of `current` against `reference` (e.g. test scores against training
// scores), over up to `bins` quantile bins of the reference, with the same bins and definition as
// the data module's drift checks (data/validation.h: QuantileEdges, Psi). Above 0.25 is usually
// read as a shift, 0.1-0.25 as worth a look. InvalidArgument if either side is empty, holds a
// non-finite value, or bins < 2.
StatusOr<PsiResult> PopulationStabilityIndex(std::span<const float> reference,
                                             std::span<const float> current, int bins = 10);

// SVG plots (one self-contained <svg> element each, axes labelled) drawn from
// BinaryMetrics::ToJson(); "" when the JSON lacks what the plot needs.
// The ROC curve against the diagonal, with the AUC.
std::string RocCurveSvg(const Json& metrics);
// Mean predicted against observed positive rate per decile, against the diagonal.
std::string CalibrationSvg(const Json& metrics);
// The score histogram of each class, each as a share of its class's weight (so a rare class
// stays visible).
std::string ScoreHistogramSvg(const Json& metrics);

}  // namespace plinth

#endif  // PLINTH_TRAIN_EVALUATION_H_
