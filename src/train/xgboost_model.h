// Gradient-boosted trees through XGBoost's C API (Debian's libxgboost 1.7.4). This header and
// xgboost_model.cc are the only code that sees the C API: every call's return code is checked and
// a failure carries XGBGetLastError()'s message (without its timestamp and stack trace).
//
// Training is deterministic: the same matrix, labels, weights, parameters (seed and nthread
// included) give a byte-identical saved model. Early stopping evaluates the validation matrix after
// every round, stops after `early_stopping_rounds` rounds without a strict improvement of the
// metric, and keeps only the trees up to the best round, so the saved model predicts what was
// evaluated (its attributes best_iteration and best_score say which round that was, as the Python
// package writes them).
//
// Models save as XGBoost's JSON or UBJSON (format "ubj", binary JSON, about the same size here) and
// load from either; both carry the feature names, so Predict refuses a matrix whose columns are
// named differently (a reordered or missing feature), and the files load in Python's xgboost.
//
// Threads: XGBoost runs OpenMP, whose threads by default spin while they wait at a barrier. On a
// machine busy with other work that makes nthread > 1 far slower than one thread (measured here on
// 2 shared cores: 200 trees in 4-15 s with 2 threads, 0.6 s with 1); OMP_WAIT_POLICY=passive in
// the process's environment avoids it (0.5 s). libgomp reads it when it is loaded, before main, so
// it cannot be set from code.
//
// Not thread-safe: use one XgboostModel per thread.
#ifndef PLINTH_TRAIN_XGBOOST_MODEL_H_
#define PLINTH_TRAIN_XGBOOST_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "train/preprocess.h"

namespace plinth {

enum class XgboostObjective { kBinaryLogistic, kSquaredError };

// "binary:logistic", "reg:squarederror".
std::string XgboostObjectiveName(XgboostObjective objective);

// XGBoost's booster parameters that Plinth exposes, with XGBoost's defaults unless noted.
struct XgboostParams {
  XgboostObjective objective = XgboostObjective::kBinaryLogistic;
  int num_boost_round = 100;   // trees (n_estimators)
  int max_depth = 6;           // >= 0; 0 means no limit, which hist refuses with depthwise growth
  double learning_rate = 0.3;  // eta, in (0, 1]
  double subsample = 1.0;      // in (0, 1]
  double colsample_bytree = 1.0;     // in (0, 1]
  double min_child_weight = 1.0;     // >= 0
  double reg_lambda = 1.0;           // lambda, L2, >= 0
  double reg_alpha = 0.0;            // alpha, L1, >= 0
  double gamma = 0.0;                // min_split_loss, >= 0
  int max_bin = 256;                 // hist bins per feature, >= 2
  std::string tree_method = "hist";  // hist, approx or exact
  int nthread = 0;                   // 0: XGBoost's default (every core)
  int64_t seed = 0;
  double scale_pos_weight = 1.0;  // binary: weight of the positive class, > 0
  // Feature name -> -1 (non-increasing), 0 or +1 (non-decreasing). Only numeric features: a
  // constraint on a one-hot column or one of its levels is refused.
  std::map<std::string, int> monotone_constraints;
  // The metric evaluated on validation data: auc, aucpr, logloss, error (binary); rmse, mae
  // (regression). Empty: logloss for binary, rmse for regression (XGBoost's defaults).
  std::string eval_metric;
  // > 0: stop after this many rounds without improvement on validation data (required then).
  int early_stopping_rounds = 0;

  // InvalidArgument naming the first parameter out of range.
  Status Validate() const;
  // Every field, by the names above; "objective" by XgboostObjectiveName.
  Json ToJson() const;
  // The fields ToJson writes, any subset (the rest default), also under XGBoost's aliases
  // n_estimators, eta, lambda, alpha, min_split_loss. InvalidArgument for an unknown field, a
  // wrong type, a field given twice through an alias, or a value Validate refuses.
  static StatusOr<XgboostParams> FromJson(const Json& json);
};

// Training or validation data: features, labels (0/1 for binary) and optional per-row weights
// (empty: every row weighs 1), all the same number of rows. Not owned.
struct TrainingData {
  const Matrix* features = nullptr;
  std::span<const float> labels = {};
  std::span<const float> weights = {};
};

// What happened during training.
struct TrainingReport {
  std::string metric;              // the validation metric ("" without validation data)
  std::vector<double> validation;  // the metric after each round trained
  int rounds_trained = 0;          // rounds run before stopping
  int best_iteration = -1;         // 0-based round kept last (-1 without validation data)
  double best_score = 0;           // the metric at best_iteration
  bool stopped_early = false;
  double seconds = 0;  // wall time of Train
  Json ToJson() const;
};

// Per-row weights that give each class the same total weight (n / (2 * n_class)), for labels 0/1.
// A class with no rows gets no weight to give; InvalidArgument then.
StatusOr<std::vector<float>> BalancedClassWeights(std::span<const float> labels);

class XgboostModel {
 public:
  XgboostModel(XgboostModel&&) noexcept;
  XgboostModel& operator=(XgboostModel&&) noexcept;
  ~XgboostModel();

  // Trains on `train`, evaluating `validation` after each round when given. InvalidArgument for
  // parameters Validate refuses, mismatched sizes, non-0/1 labels for binary or only one class,
  // non-finite labels, negative or non-finite weights, a validation matrix with other feature
  // names, early stopping without validation data, a monotone constraint naming no feature or a
  // one-hot one, and for errors XGBoost reports while training (its message).
  static StatusOr<XgboostModel> Train(const XgboostParams& params, const TrainingData& train,
                                      const TrainingData* validation = nullptr,
                                      TrainingReport* report = nullptr);

  // A model saved by SaveJson or SaveUbjson (or by XGBoost elsewhere). `nthread` as in the
  // params. InvalidArgument if XGBoost cannot read it.
  static StatusOr<XgboostModel> Load(std::string_view bytes, int nthread = 0);

  // The model in XGBoost's JSON format (text) or UBJSON (binary). Internal on XGBoost failure.
  StatusOr<std::string> SaveJson() const;
  StatusOr<std::string> SaveUbjson() const;

  // One prediction per row: the probability of class 1 (binary) or the value (regression).
  // InvalidArgument if the matrix's column count, or its feature names when both sides have them,
  // differ from the model's.
  StatusOr<std::vector<float>> Predict(const Matrix& features) const;
  // The same on `rows` x `cols` row-major floats (NaN missing), without a name check.
  StatusOr<std::vector<float>> Predict(std::span<const float> values, size_t rows,
                                       size_t cols) const;

  // The untransformed margin per row (log-odds for binary, the value for regression), on the
  // same row-major floats as Predict.
  StatusOr<std::vector<float>> PredictMargin(std::span<const float> values, size_t rows,
                                             size_t cols) const;
  // TreeSHAP contributions (XGBoost's prediction type 2): rows x (cols + 1) row-major, one value
  // per feature and the bias last; each row sums to PredictMargin's value (up to float rounding).
  // A feature no tree splits on gets exactly 0.
  StatusOr<std::vector<float>> PredictContributions(std::span<const float> values, size_t rows,
                                                    size_t cols) const;

  size_t num_features() const { return num_features_; }
  int num_rounds() const { return num_rounds_; }
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // The objective the model was trained with ("binary:logistic", ...).
  const std::string& objective() const { return objective_; }

 private:
  struct BoosterDeleter {
    void operator()(void* handle) const;
  };
  using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;

  XgboostModel(BoosterPtr booster);
  // Reads the number of features, rounds, feature names and objective from the booster.
  Status LoadMetadata();
  StatusOr<std::string> Save(const char* format) const;
  // XGBoosterPredictFromDense with prediction `type` (0 value, 1 margin, 2 contributions),
  // checking that it returned `per_row` values per row.
  StatusOr<std::vector<float>> PredictDense(int type, size_t per_row, std::span<const float> values,
                                            size_t rows, size_t cols) const;

  BoosterPtr booster_;
  size_t num_features_ = 0;
  int num_rounds_ = 0;
  std::vector<std::string> feature_names_;
  std::string objective_;
};

}  // namespace plinth

#endif  // PLINTH_TRAIN_XGBOOST_MODEL_H_
