// A tuning as written (docs/tuning.md, "The tuning file"): the search space, the objective, the
// sampler, the strategy and the budget, in one YAML document or a pipeline step's `with`:
//
//   space:
//     parameters:
//       max_depth: {type: int, min: 2, max: 6}
//       learning_rate: {type: log_uniform, min: 0.01, max: 0.3}
//   objective:
//     metric: test_auc
//     direction: maximize
//     constraints: ["train_auc - test_auc <= 0.03"]
//   sampler: {type: tpe, seed: 7}             # or `sampler: random`; tpe settings in sampler.h
//   strategy: search                          # or {type: halving, resource: num_boost_round,
//                                             #     min: 25, max: 225, eta: 3}
//   budget: {max_trials: 40, max_time: 30m, parallelism: 2}
//
// The guardrails are not part of the file: the platform or the pipeline supplies them, and the
// space is checked against them when the file is read. The metric names come from the trial
// evaluator, which declares what it reports.
#ifndef PLINTH_TUNE_TUNING_SPEC_H_
#define PLINTH_TUNE_TUNING_SPEC_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "tune/guardrails.h"
#include "tune/objective.h"
#include "tune/sampler.h"
#include "tune/search_space.h"

namespace plinth::tune {

enum class Strategy { kSearch, kHalving };

// "search", "halving".
std::string StrategyName(Strategy strategy);

// Successive halving: every configuration runs at the `min` budget of `resource` (rung 0); when a
// rung has finished, the best 1/eta of its successful trials (feasible first, then by the
// objective) run again at eta times the budget, and so on; the last rung runs at `max`.
struct HalvingConfig {
  std::string resource = "num_boost_round";
  int64_t min = 0;  // >= 1
  int64_t max = 0;  // > min
  int eta = 3;      // 2..10
  // Configurations sampled for rung 0; 0: eta^(rungs - 1), so the last rung has one.
  int configurations = 0;

  // The budget of each rung: min, min*eta, min*eta^2, ... while not above max, the last one
  // replaced by max.
  std::vector<int64_t> Budgets() const;
  // Trials per rung: configurations, then each previous size / eta (at least 1).
  std::vector<int> Sizes() const;
  int TotalTrials() const;
  Json ToJson() const;
};

struct TuningSpec {
  SearchSpace space;
  Guardrails guardrails;
  Objective objective;
  SamplerConfig sampler;
  Strategy strategy = Strategy::kSearch;
  HalvingConfig halving;  // kHalving only
  // Trials started at most (failed ones count). Halving: the plan's total.
  int max_trials = 20;
  // Stop starting trials this long after the start (running ones finish); unset: no limit.
  std::optional<int64_t> max_time_micros;
  int parallelism = 1;  // trials evaluated at once

  // Everything, for the record.
  Json ToJson() const;
  // "sha256:<hex>" of what decides which trials are suggested: ToJson without max_time and
  // parallelism, which change how fast trials run (and for max_time how many), never which.
  std::string Digest() const;
};

struct TuningSpecOptions {
  // The platform's or pipeline's rules; nullptr: none.
  const Guardrails* guardrails = nullptr;
  // The metrics the trial evaluator reports (the objective must name one; constraints compile
  // against them).
  std::vector<std::string> metrics;
};

// The document above: YAML text, a file, a node already parsed, or JSON (a pipeline step's
// resolved `with`; messages start with `context`). InvalidArgument, positioned, for any mistake,
// and for a space the guardrails refuse.
StatusOr<TuningSpec> ParseTuningSpec(std::string_view yaml, const std::string& file_name,
                                     const TuningSpecOptions& options);
StatusOr<TuningSpec> LoadTuningSpec(const std::string& path, const TuningSpecOptions& options);
StatusOr<TuningSpec> TuningSpecFromYaml(const YAML::Node& node, const std::string& file_name,
                                        const TuningSpecOptions& options);
StatusOr<TuningSpec> TuningSpecFromJson(const Json& json, const std::string& context,
                                        const TuningSpecOptions& options);

// Every rule the parser applies, for a spec built or changed in code: the space, the sampler, the
// budget, the halving plan and the resource, and the space against the guardrails.
Status ValidateTuningSpec(const TuningSpec& spec);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_TUNING_SPEC_H_
