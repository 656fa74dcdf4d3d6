// Trials: what a tuning asks an evaluator to run, and what it records of each.
#ifndef PLINTH_TUNE_TRIAL_H_
#define PLINTH_TUNE_TRIAL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "tune/objective.h"

namespace plinth::tune {

struct Trial {
  int index = 0;  // 0, 1, 2, ... in the order trials are suggested
  // The final parameters: the sampled values, every fixed guardrail setting, excluded_features
  // when the guardrails have any, and (halving) the resource at this trial's budget.
  Json params = Json::object();
  std::optional<int64_t> budget;     // halving: the resource value (also in params)
  int rung = 0;                      // halving: 0, 1, ...; always 0 otherwise
  std::optional<int> promoted_from;  // halving: the trial of the rung below it continues

  // {"trial": i, "params": {...}, "budget": n or null, "rung": r}: what a trial program reads.
  Json ToJson() const;
};

// What an evaluator reports of one trial.
struct TrialResult {
  std::map<std::string, double> metrics;  // finite values
  Json artifacts;                         // optional: anything worth recording (paths, digests)
};

// Runs one trial. Called from up to `parallelism` threads at once. It should return soon after
// *cancel turns true (CancelledError); any error fails the trial, not the tuning.
using TrialEvaluator =
    std::function<StatusOr<TrialResult>(const Trial& trial, const std::atomic<bool>* cancel)>;

enum class TrialState { kRunning, kSucceeded, kFailed, kCancelled };

// "running", "succeeded", "failed", "cancelled".
std::string TrialStateName(TrialState state);

struct TrialRecord {
  Trial trial;
  TrialState state = TrialState::kRunning;
  Status status;  // why it failed or was cancelled
  std::map<std::string, double> metrics;
  Json artifacts;
  double seconds = 0;  // wall time of the evaluation
  // Succeeded trials: every constraint checked, and whether all hold.
  std::vector<ConstraintCheck> checks;
  bool feasible = false;

  // The constraints a succeeded trial violates, as written.
  std::vector<std::string> violations() const;
  Json ToJson() const;
};

// Which trial a tuning chooses, and why.
struct Selection {
  std::optional<int> chosen;  // a trial index; unset when no trial is feasible
  // The structured reason (docs/tuning.md, "Why a trial was chosen").
  Json explanation;
};

// The best feasible succeeded trial by the objective's metric; ties go to the lower index. With
// `by_rung` (successive halving) only the highest rung holding a feasible trial is considered,
// since metrics at different budgets do not compare. Without a feasible trial nothing is chosen
// and the explanation lists each trial's violated constraints.
Selection SelectTrial(const Objective& objective, const std::vector<TrialRecord>& trials,
                      bool by_rung = false);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_TRIAL_H_
