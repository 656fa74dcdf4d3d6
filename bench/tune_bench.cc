// Tuning throughput with trials in parallel processes, the program of bench/tune_bench.sh.
//
//   tune_bench --trial-bin PATH --csv FILE --target COLUMN --positive LABEL [--trials 16]
//              [--trees 100] [--parallelism 1,2] [--seed 7] [--scratch DIR]
//
// For each parallelism, runs the same random search (tune/tuner.h) of XGBoost over max_depth,
// learning_rate, subsample, colsample_bytree and min_child_weight, each trial a tune_trial process
// (tune/process_evaluator.h) training --trees trees with one thread (fixed by the guardrails), and
// prints one line per parallelism:
//   parallelism=P trials=N succeeded=S wall_seconds=W trials_per_second=R mean_trial_seconds=T
//   chosen=I test_auc=A same_as_first=yes|no
// same_as_first: the same trials (parameters) and the same chosen trial as the first parallelism.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tune/guardrails.h"
#include "tune/process_evaluator.h"
#include "tune/tuner.h"

namespace {

using plinth::Status;
using plinth::StatusOr;

int Fail(const Status& status) {
  std::fprintf(stderr, "tune_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

struct Args {
  std::string trial_bin, csv, target, positive, scratch = "/tmp/tune-bench";
  int trials = 16, trees = 100;
  uint64_t seed = 7;
  std::vector<int> parallelism = {1, 2};
};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--trial-bin") {
      a.trial_bin = value;
    } else if (flag == "--csv") {
      a.csv = value;
    } else if (flag == "--target") {
      a.target = value;
    } else if (flag == "--positive") {
      a.positive = value;
    } else if (flag == "--trials") {
      a.trials = std::atoi(value.c_str());
    } else if (flag == "--trees") {
      a.trees = std::atoi(value.c_str());
    } else if (flag == "--seed") {
      a.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--scratch") {
      a.scratch = value;
    } else if (flag == "--parallelism") {
      a.parallelism.clear();
      std::stringstream in(value);
      std::string item;
      while (std::getline(in, item, ',')) a.parallelism.push_back(std::atoi(item.c_str()));
    } else {
      std::fprintf(stderr, "tune_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (a.trial_bin.empty() || a.csv.empty() || a.target.empty() || a.positive.empty()) {
    std::fprintf(stderr,
                 "usage: tune_bench --trial-bin PATH --csv FILE --target COLUMN --positive LABEL "
                 "[--trials N] [--trees N] [--parallelism 1,2] [--seed S] [--scratch DIR]\n");
    return 2;
  }

  StatusOr<plinth::tune::Guardrails> guardrails = plinth::tune::ParseGuardrails(
      "fixed: {nthread: 1, num_boost_round: " + std::to_string(a.trees) +
          ", tree_method: hist, seed: 0}\n"
          "max: {max_depth: 8}\n",
      "bench-guardrails.yaml");
  if (!guardrails.ok()) return Fail(guardrails.status());
  const std::string yaml = R"(space:
  parameters:
    max_depth: {type: int, min: 2, max: 8}
    learning_rate: {type: log_uniform, min: 0.02, max: 0.3}
    subsample: {type: float, min: 0.5, max: 1.0}
    colsample_bytree: {type: float, min: 0.5, max: 1.0}
    min_child_weight: {type: log_uniform, min: 1, max: 20}
objective:
  metric: test_auc
  direction: maximize
  constraints: ["train_auc - test_auc <= 0.1"]
sampler: {type: random, seed: )" +
                           std::to_string(a.seed) +
                           R"(}
budget: {max_trials: )" + std::to_string(a.trials) +
                           "}\n";
  StatusOr<plinth::tune::TuningSpec> spec = plinth::tune::ParseTuningSpec(
      yaml, "bench-tune.yaml",
      {&*guardrails, {"train_auc", "test_auc", "test_ks", "train_seconds"}});
  if (!spec.ok()) return Fail(spec.status());

  plinth::tune::ProcessEvaluatorOptions options;
  options.argv = {a.trial_bin, "--csv", a.csv, "--target", a.target, "--positive", a.positive};
  options.scratch_dir = a.scratch;
  StatusOr<plinth::tune::TrialEvaluator> evaluator = plinth::tune::MakeProcessEvaluator(options);
  if (!evaluator.ok()) return Fail(evaluator.status());

  std::vector<plinth::Json> first_trials;
  std::optional<int> first_chosen;
  for (size_t k = 0; k < a.parallelism.size(); ++k) {
    spec->parallelism = a.parallelism[k];
    const auto start = std::chrono::steady_clock::now();
    StatusOr<plinth::tune::TuningResult> result = plinth::tune::RunTuning(*spec, *evaluator);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) return Fail(result.status());
    std::vector<plinth::Json> params;
    int succeeded = 0;
    double trial_seconds = 0;
    for (const plinth::tune::TrialRecord& t : result->trials) {
      params.push_back(t.trial.params);
      trial_seconds += t.seconds;
      if (t.state == plinth::tune::TrialState::kSucceeded) {
        ++succeeded;
      } else {
        std::fprintf(stderr, "trial %d: %s\n", t.trial.index,
                     std::string(t.status.message()).c_str());
      }
    }
    if (k == 0) {
      first_trials = params;
      first_chosen = result->chosen;
    }
    const bool same = params == first_trials && result->chosen == first_chosen;
    const plinth::tune::TrialRecord* chosen = result->chosen_trial();
    std::printf(
        "parallelism=%d trials=%zu succeeded=%d wall_seconds=%.3f trials_per_second=%.3f "
        "mean_trial_seconds=%.3f chosen=%d test_auc=%.6f same_as_first=%s\n",
        a.parallelism[k], result->trials.size(), succeeded, wall,
        static_cast<double>(result->trials.size()) / wall,
        trial_seconds / static_cast<double>(std::max<size_t>(1, result->trials.size())),
        chosen != nullptr ? chosen->trial.index : -1,
        chosen != nullptr ? chosen->metrics.at("test_auc") : 0.0, same ? "yes" : "no");
    std::fflush(stdout);
  }
  return 0;
}
