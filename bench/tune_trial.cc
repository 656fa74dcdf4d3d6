// One tuning trial of XGBoost on a CSV, the trial program of bench/tune_bench.sh (run by the
// process evaluator, tune/process_evaluator.h):
//
//   tune_trial --csv FILE --target COLUMN --positive LABEL --trial IN.json --result OUT.json
//
// Reads the CSV, splits it 80/20 stratified (seed 42), fits the preprocessing on the training
// rows, trains XGBoost with the trial's parameters (XgboostParams::FromJson; the guardrails'
// excluded_features are dropped from the columns) and writes train_auc, test_auc, test_ks and
// train_seconds as the trial's metrics.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/csv_reader.h"
#include "train/evaluation.h"
#include "train/preprocess.h"
#include "train/split.h"
#include "train/xgboost_model.h"
#include "tune/process_evaluator.h"

namespace {

using plinth::Status;
using plinth::StatusOr;

StatusOr<plinth::tune::TrialResult> RunTrial(const std::string& csv, const std::string& target,
                                             const std::string& positive,
                                             const plinth::tune::Trial& trial) {
  ASSIGN_OR_RETURN(plinth::Table table, plinth::ReadCsv(csv));
  const plinth::Column* label_column = table.Find(target);
  if (label_column == nullptr) return absl::InvalidArgumentError("no column " + target);
  ASSIGN_OR_RETURN(std::vector<float> labels, plinth::BinaryLabels(*label_column, positive));
  ASSIGN_OR_RETURN(plinth::Split split, plinth::StratifiedSplit(labels, 0.2, 42));

  plinth::Json params = trial.params;
  std::vector<std::string> excluded;
  if (params.contains("excluded_features")) {
    excluded = params["excluded_features"].get<std::vector<std::string>>();
    params.erase("excluded_features");
  }
  plinth::PreprocessOptions options;
  for (const plinth::Column& c : table.columns()) {
    if (c.name() == target) continue;
    if (std::find(excluded.begin(), excluded.end(), c.name()) != excluded.end()) continue;
    options.columns.push_back(c.name());
  }
  ASSIGN_OR_RETURN(plinth::PreprocessSpec spec,
                   plinth::PreprocessSpec::Fit(table, options, split.train));
  ASSIGN_OR_RETURN(plinth::Matrix all, spec.Apply(table));
  const plinth::Matrix train = plinth::TakeRows(all, split.train);
  const plinth::Matrix test = plinth::TakeRows(all, split.test);
  const std::vector<float> train_labels = plinth::TakeRows(labels, split.train);
  const std::vector<float> test_labels = plinth::TakeRows(labels, split.test);

  ASSIGN_OR_RETURN(plinth::XgboostParams xgb, plinth::XgboostParams::FromJson(params));
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(plinth::XgboostModel model,
                   plinth::XgboostModel::Train(xgb, {&train, train_labels}));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSIGN_OR_RETURN(std::vector<float> train_scores, model.Predict(train));
  ASSIGN_OR_RETURN(std::vector<float> test_scores, model.Predict(test));
  ASSIGN_OR_RETURN(plinth::BinaryMetrics train_metrics,
                   plinth::EvaluateBinary(train_labels, train_scores));
  ASSIGN_OR_RETURN(plinth::BinaryMetrics test_metrics,
                   plinth::EvaluateBinary(test_labels, test_scores));
  plinth::tune::TrialResult result;
  result.metrics["train_auc"] = train_metrics.auc;
  result.metrics["test_auc"] = test_metrics.auc;
  result.metrics["test_ks"] = test_metrics.ks;
  result.metrics["train_seconds"] = seconds;
  result.artifacts = plinth::Json{{"features", train.cols}, {"trees", model.num_rounds()}};
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::string csv, target, positive;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--csv") csv = args[i + 1];
    if (args[i] == "--target") target = args[i + 1];
    if (args[i] == "--positive") positive = args[i + 1];
  }
  StatusOr<plinth::tune::TrialInvocation> inv = plinth::tune::ParseTrialArgs(args);
  if (!inv.ok() || csv.empty() || target.empty() || positive.empty()) {
    std::fprintf(stderr,
                 "usage: tune_trial --csv FILE --target COLUMN --positive LABEL --trial IN.json "
                 "--result OUT.json\n");
    return 2;
  }
  StatusOr<plinth::tune::Trial> trial = plinth::tune::ReadTrialFile(inv->trial_path);
  StatusOr<plinth::tune::TrialResult> result =
      trial.ok() ? RunTrial(csv, target, positive, *trial) : trial.status();
  if (!result.ok()) {
    std::fprintf(stderr, "tune_trial: %s\n", std::string(result.status().message()).c_str());
    return 1;
  }
  Status written = plinth::tune::WriteTrialResult(inv->result_path, *result);
  if (!written.ok()) {
    std::fprintf(stderr, "tune_trial: %s\n", std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}
