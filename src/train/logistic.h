// Binary logistic regression with an L2, L1 or no penalty, on a float Matrix (NaN = missing) with
// labels 0/1 and optional per-row weights, trained deterministically.
//
// Objective (scikit-learn's LogisticRegression, exactly):
//     F(a, b) = C * sum_i w_i * logloss(y_i, a + z_i . b) + penalty(b)
//     logloss(y, t) = ln(1 + e^t) - y * t,  penalty: l2 0.5 * ||b||^2, l1 ||b||_1, none 0,
// with w_i the row weights (1 without weights) and z_i the row's features as the model sees them
// (below). The intercept a is never penalised; without fit_intercept it is 0. C > 0 is the inverse
// regularisation strength (smaller C, stronger penalty), as scikit-learn's C.
//
// Features as the model sees them, all learned on the training rows with the row weights:
//   missing  a NaN cell is replaced by the feature's training mean (the weighted mean of its
//            non-missing cells, recorded in the model), so it contributes nothing beyond the
//            average. A feature with no non-missing cell of positive weight is refused.
//   standardize (default true): z = (x - mean) / std, std the weighted population standard
//            deviation (ddof 0) after imputation, as scikit-learn's StandardScaler with
//            sample_weight; a constant feature gets std 1. The penalty then applies to the
//            standardised coefficients (the same fit as Pipeline(StandardScaler(),
//            LogisticRegression())). Without it z = x and the penalty applies to the raw
//            coefficients (LogisticRegression alone).
// Either way the model stores, and predicts with, coefficients on the original scale: the log-odds
// of row x is  intercept + sum_j coefficient_j * x_j  (missing x_j replaced by mean_j). The
// standardised coefficients (coefficient_j * std_j) say which feature weighs most.
//
// Solver: Newton's method on the exact Hessian (built from the rows' nonzero cells), from the
// intercept at the weighted base rate and every coefficient 0. l2 and none solve the Newton system
// by Cholesky (a singular system, possible without a penalty when features are collinear, is solved
// with the smallest ridge 1e-10 * 100^k * max diagonal that makes it factor); l1 takes proximal
// Newton steps (the quadratic model plus |b|_1 minimised by cyclic coordinate descent, as
// newGLMNET). Every step is followed by a backtracking (Armijo) line search, so the objective never
// rises. Training stops when the largest entry of the objective's (minimum-norm sub)gradient,
// divided by C * total weight, is <= tol (converged), when a step can no longer lower the
// objective in double precision (also converged: no further progress is possible), or after
// max_iter Newton steps (not converged). Everything runs on one thread in a fixed order: the same
// inputs give bit-identical coefficients and byte-identical JSON.
//
// On separable data without a penalty the optimum is at infinity: the coefficients grow until
// max_iter or until the gradient vanishes in double precision. Use l2 for such data.
//
// Cost per Newton step: one pass over the pairs of nonzero cells of each row (a one-hot block
// costs only its ones) to build the Hessian, plus a (features + 1)^3 / 3 factorisation (l1: a few
// coordinate-descent sweeps over the Hessian instead): made for the tens to low thousands of
// features of credit and fraud models, not for text-sized vocabularies. Newton needs few steps
// (about 10 on lending_club's 119 one-hot features). A trained model is immutable: its const
// methods may run concurrently.
//
// The JSON of the model is described in docs/formats/linear-models.md.
#ifndef PLINTH_TRAIN_LOGISTIC_H_
#define PLINTH_TRAIN_LOGISTIC_H_

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "train/preprocess.h"
#include "train/xgboost_model.h"  // TrainingData

namespace plinth {

enum class LogisticPenalty { kL2, kL1, kNone };

// "l2", "l1", "none".
std::string LogisticPenaltyName(LogisticPenalty penalty);

struct LogisticParams {
  LogisticPenalty penalty = LogisticPenalty::kL2;
  double C = 1.0;      // > 0 and finite: inverse regularisation strength (scikit-learn's C)
  int max_iter = 100;  // >= 1: Newton steps
  double tol = 1e-8;   // > 0: gradient tolerance, relative to C * total weight (see the top)
  bool fit_intercept = true;
  bool standardize = true;

  // InvalidArgument naming the first parameter out of range.
  Status Validate() const;
  // Every field, by the names above; "penalty" by LogisticPenaltyName.
  Json ToJson() const;
  // The fields ToJson writes, any subset (the rest default). InvalidArgument for an unknown field,
  // a wrong type, or a value Validate refuses.
  static StatusOr<LogisticParams> FromJson(const Json& json);
};

// What happened during training.
struct LogisticReport {
  int iterations = 0;        // Newton steps taken
  bool converged = false;    // see the top of this file
  double objective = 0;      // F at the solution
  double gradient_norm = 0;  // the largest (sub)gradient entry / (C * total weight)
  double seconds = 0;        // wall time of Train
  Json ToJson() const;
};

// Additive log-odds contributions of each feature to each row's prediction (exact for a linear
// model): contribution_ij = coefficient_j * (x_ij - mean_j), 0 where x_ij is missing, and
//     bias + sum_j contribution_ij = Logits()[i]
// computed in that order, so the identity holds to the last bit. bias = intercept + sum_j
// coefficient_j * mean_j, the log-odds of the average row (SHAP values of a linear model with
// independent features).
struct LinearContributions {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> values;  // rows * cols, row-major
  double bias = 0;
  std::vector<std::string> feature_names;
  double at(size_t row, size_t col) const { return values[row * cols + col]; }
};

class LogisticModel {
 public:
  // The JSON's "format"; FromJson refuses any other.
  static constexpr int kFormat = 1;

  // Trains on `data` (weights optional). InvalidArgument for parameters Validate refuses, an empty
  // or malformed matrix, mismatched sizes, labels other than 0/1 or only one class (by weight),
  // negative or non-finite weights or weights summing to 0, an infinite cell (naming the feature
  // and row), a feature with no non-missing cell, or duplicate feature names. A matrix without
  // names gets f0, f1, ...
  static StatusOr<LogisticModel> Train(const LogisticParams& params, const TrainingData& data,
                                       LogisticReport* report = nullptr);

  // The probability of class 1 per row. InvalidArgument if the matrix's column count, or its
  // feature names when it has names, differ from the model's, or if a cell is infinite.
  StatusOr<std::vector<float>> Predict(const Matrix& features) const;
  // The log-odds of class 1 per row, in double (same checks).
  StatusOr<std::vector<double>> Logits(const Matrix& features) const;
  // See LinearContributions (same checks).
  StatusOr<LinearContributions> Contributions(const Matrix& features) const;

  // Original scale, one per feature.
  const std::vector<double>& coefficients() const { return coefficients_; }
  double intercept() const { return intercept_; }
  // coefficient_j * std_j: the change in log-odds per standard deviation of the feature.
  std::vector<double> standardized_coefficients() const;
  const std::vector<double>& means() const { return means_; }
  const std::vector<double>& stds() const { return stds_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  const LogisticParams& params() const { return params_; }
  // The training report without `seconds` (which the JSON leaves out).
  const LogisticReport& training() const { return training_; }
  size_t num_features() const { return coefficients_.size(); }

  // {"format": 1, "model": "logistic_regression", "params", "features", "intercept",
  // "training"}; see docs/formats/linear-models.md.
  Json ToJson() const;
  // InvalidArgument (naming the member) for a document ToJson would not write: another format or
  // model, unknown or missing members, wrong types, non-finite numbers, std <= 0, duplicate
  // feature names, no features.
  static StatusOr<LogisticModel> FromJson(const Json& json);

 private:
  LogisticModel() = default;
  Status CheckMatrix(const Matrix& features) const;
  // Row i's contributions into out[0..cols) and its log-odds (bias + their sum, in order).
  double RowContributions(const Matrix& features, size_t row, double* out) const;

  LogisticParams params_;
  std::vector<std::string> feature_names_;
  std::vector<double> means_;
  std::vector<double> stds_;
  std::vector<double> coefficients_;
  double intercept_ = 0;
  double bias_ = 0;  // intercept + sum coefficient_j * mean_j
  size_t rows_ = 0;
  double weight_ = 0;
  LogisticReport training_;
};

}  // namespace plinth

#endif  // PLINTH_TRAIN_LOGISTIC_H_
