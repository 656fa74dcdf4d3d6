// Training and evaluating a model of any kind, from a Table to a model package (model_package.h):
// the entry points the pipeline's train, tune and evaluate steps call.
//
// The training spec (TrainSpec, JSON; every member optional except target, unknown members
// refused):
//   {"kind": "xgboost",                     xgboost (default), logistic or scorecard
//    "task": "binary_classification",       or "regression"
//    "target": "Class",                     the target column
//    "positive": "bad",                     binary: the positive class's cell text (a string, or an
//                                           integer / bool for such a column); required for binary,
//                                           refused for regression
//    "features": ["funded_amnt", ...],      feature columns in order; default: every column of the
//                                           training table except the target and `exclude`, in
//                                           table order
//    "exclude": ["id"],                     columns left out of the default features (each must
//                                           exist; refused with "features")
//    "categorical": ["grade_code"],         int64 / bool feature columns to treat as categories
//    "max_levels": 0,                       > 0: at most this many levels per categorical column,
//                                           the rest go to "__other__" (see preprocess.h)
//    "params": {...},                       the kind's parameters (xgboost: as
//                                           XgboostParams::FromJson reads them, without seed,
//                                           monotone_constraints and early_stopping_rounds,
//                                           which have members here; an objective, if given,
//                                           must fit the task)
//    "monotone": {"annual_inc": -1},        feature column -> -1, 0 or 1; numeric features only
//    "class_weight": "none",                or "balanced" (binary: each class weighs the same)
//    "early_stopping": {"rounds": 20, "validation_fraction": 0.2},
//                                           hold out a validation share of the training rows
//                                           (stratified by label for binary, seeded) and stop
//                                           after `rounds` rounds without improvement
//    "seed": 0,                             seeds the validation split and the kind's randomness
//    "model_format": "json"}                xgboost: json (XGBoost JSON, model.json, default) or
//                                           ubj (UBJSON, model.ubj)
//
// A binary target must hold exactly two values (one of them `positive`) and no nulls; a
// regression target is numeric without nulls. The package's classes are [the other value,
// positive].
//
// Determinism: the same spec, table, seed and created_at (TrainOptions::clock) give a
// byte-identical package (PackageFiles), timings being kept out of the manifest.
//
// Kinds: xgboost is built in. Another kind registers a KindTrainer (RegisterTrainer) that gets the
// prepared inputs (features, labels, weights, the rows to fit and to validate on) and returns its
// files and preprocessing spec; TrainModel assembles and checks the package around it, so every
// kind's package follows the same rules.
#ifndef PLINTH_TRAIN_TRAINER_H_
#define PLINTH_TRAIN_TRAINER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "table/table.h"
#include "train/model_package.h"
#include "train/preprocess.h"

namespace plinth {

enum class ClassWeight { kNone, kBalanced };

struct EarlyStopping {
  int rounds = 0;                    // >= 1
  double validation_fraction = 0.2;  // in (0, 1)
  friend bool operator==(const EarlyStopping&, const EarlyStopping&) = default;
};

struct TrainSpec {
  std::string kind = std::string(kXgboostKind);
  ModelTask task = ModelTask::kBinaryClassification;
  std::string target;
  std::string positive;  // binary only
  std::optional<std::vector<std::string>> features;
  std::vector<std::string> exclude;
  std::vector<std::string> categorical;
  int max_levels = 0;
  Json params = Json::object();
  std::map<std::string, int> monotone;
  ClassWeight class_weight = ClassWeight::kNone;
  std::optional<EarlyStopping> early_stopping;
  int64_t seed = 0;
  std::string model_format = "json";  // xgboost: json or ubj

  // InvalidArgument naming the member for a spec breaking the rules at the top of this file (the
  // params are checked by the kind's registered check, when there is one).
  Status Validate() const;
  // Every member ("features" only when set; "early_stopping" null when off).
  Json ToJson() const;
  // Validate()'s errors, and unknown members and wrong types (InvalidArgument naming them).
  static StatusOr<TrainSpec> FromJson(const Json& json);
};

struct TrainOptions {
  // Called with a fraction in [0, 1] and a short message as training advances.
  std::function<void(double fraction, std::string_view message)> progress;
  // Polled between stages (not inside XGBoost's boosting loop); true: stop with Cancelled.
  std::function<bool()> cancelled;
  // The time written as created_at; nullptr: SystemClock().
  const Clock* clock = nullptr;
  // Copied into the manifest's training and lineage members.
  std::string run_id;
  std::string pipeline;
  std::string step;
  ModelLineage lineage;
  // XGBoost threads (training and scoring the training rows); 0: every core. Part of the
  // determinism contract: the same value gives the same bytes.
  int nthread = 0;
};

struct TrainedModel {
  ModelPackage package;  // sealed: digests computed, manifest valid
  // The kind's training report: the manifest's training.summary plus timings (seconds).
  Json report;
  // The primary output on every row of the training table (validation rows included), as the
  // package's scorer computes it.
  std::vector<double> train_predictions;
};

// What TrainModel prepares for a kind's trainer. Row indices are into `table`.
struct TrainingInputs {
  const TrainSpec* spec = nullptr;
  const Table* table = nullptr;
  std::vector<std::string> features;    // feature columns, in order
  std::vector<float> labels;            // per row of the table: 0/1 (binary) or the target
  std::vector<float> weights;           // per row, or empty (every row weighs 1)
  std::vector<size_t> fit_rows;         // rows to fit on (ascending)
  std::vector<size_t> validation_rows;  // early stopping's held-out rows (ascending), or empty
  const TrainOptions* options = nullptr;
  // Reports progress within the kind's share of the work (fraction of it, in [0, 1]).
  void Progress(double fraction, std::string_view message) const;
  // Cancelled if the options say so.
  Status CheckCancelled() const;
};

// What a kind's trainer returns.
struct KindModel {
  // The package's files: name -> (role, bytes); at least one with role "model".
  struct File {
    std::string role;
    std::string bytes;
  };
  std::map<std::string, File> files;
  // xgboost and logistic: the spec the scorer applies (its features must be `features`, in
  // order); scorecard: none.
  std::optional<PreprocessSpec> preprocess;
  Json params = Json::object();   // the parameters as trained (manifest training.params)
  Json summary = Json::object();  // deterministic facts (manifest training.summary)
  Json timings = Json::object();  // nondeterministic facts (only in TrainedModel::report)
  // Extra outputs after the primary one (a scorecard's "score").
  std::vector<TensorSpec> extra_outputs;
};

using KindTrainer = std::function<StatusOr<KindModel>(const TrainingInputs&)>;
// Checks a spec's params before any data is read (TrainSpec::FromJson calls it).
using ParamsCheck = std::function<Status(const TrainSpec&)>;

// Adds a kind's trainer (and optionally a params check). InvalidArgument unless IsModelKind(kind)
// and `train` is set; AlreadyExists if the kind has one (xgboost always has). Thread-safe. The
// kind's scorer is registered separately (RegisterModelKind).
Status RegisterTrainer(const std::string& kind, KindTrainer train, ParamsCheck check = nullptr);

// Trains `spec` on every row of `train` and returns the sealed package. InvalidArgument for a
// spec Validate refuses, a missing column (named), a feature that is the target or a timestamp, a
// target as described at the top, a kind without a registered trainer, and the kind's own errors;
// Cancelled when options.cancelled() turns true.
//
// The manifest's metrics hold the fit on the training rows (train_*) and, with early stopping, on
// the validation rows (validation_*): binary auc, gini, ks, log_loss, brier; regression rmse,
// mae, r2 (non-finite values left out).
StatusOr<TrainedModel> TrainModel(const TrainSpec& spec, const Table& train,
                                  const TrainOptions& options = {});

// The labels of a target column for a binary package: 1 for `classes[1]`, 0 for `classes[0]`, by
// cell text. InvalidArgument for a null cell, a float64 or timestamp column, or a value that is
// neither class (naming the row and value).
StatusOr<std::vector<float>> BinaryTargetLabels(const Column& column,
                                                const std::vector<std::string>& classes);

struct EvaluationOptions {
  std::string prefix = "test";  // metric names: "<prefix>_auc", ...
  double threshold = 0.5;       // binary: predicted positive when probability >= threshold
  int psi_bins = 10;
  std::string title;  // the report's title; default "Model evaluation (<kind>)"
};

struct Evaluation {
  // Flat, finite values only (for tracking): binary <prefix>_auc, _gini, _ks, _log_loss, _brier,
  // _precision, _recall, _f1, _accuracy, _base_rate, _rows; regression _rmse, _mae, _r2, _rows;
  // both <prefix>_psi with reference scores.
  std::map<std::string, double> metrics;
  // {"task", "target", "positive", "prefix", "metrics": BinaryMetrics::ToJson() or
  //  RegressionMetrics::ToJson(), "psi": PsiResult::ToJson() or null, "model": {kind, created_at,
  //  run_id}}.
  Json json;
  // A self-contained HTML page: the metrics, confusion matrix, deciles (lift, gains,
  // calibration), PSI, and the ROC, calibration and score histogram plots inline as SVG.
  std::string html;
};

// Scores `test` with `scorer` and measures it against the manifest's target (column and, for
// binary, classes). `reference_scores` (e.g. TrainedModel::train_predictions): when not empty,
// the PSI of the test scores against them. InvalidArgument for a missing target or input column,
// target values outside the classes, and the metrics' own errors (evaluation.h).
StatusOr<Evaluation> EvaluateModel(const Scorer& scorer, const Table& test,
                                   std::span<const double> reference_scores = {},
                                   const EvaluationOptions& options = {});

}  // namespace plinth

#endif  // PLINTH_TRAIN_TRAINER_H_
