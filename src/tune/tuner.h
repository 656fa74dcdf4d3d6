// Running a tuning (docs/tuning.md): trials suggested by the sampler (or planned by successive
// halving), evaluated `parallelism` at a time by a caller's TrialEvaluator, each checked against
// the guardrails before it runs and against the objective's constraints after, and one chosen
// with a structured explanation.
//
//   ASSIGN_OR_RETURN(TuningSpec spec, LoadTuningSpec("tune.yaml", {&guardrails, {"test_auc",
//   ...}})); TuningOptions options; options.cancel = &cancel_flag; options.observer = [&](const
//   TrialEvent& e) { ... };   // a child run per trial, progress ASSIGN_OR_RETURN(TuningResult
//   result, RunTuning(spec, evaluator, options)); if (result.chosen) { ...
//   result.trials[*result.chosen].trial.params ... }
//
// Budgets. max_trials: at most that many trials start (failed ones count). max_time (measured on
// options.clock): no trial starts after it; trials already running finish and count, so a tuning
// may end later than max_time by up to one trial's duration (give the evaluator its own timeout,
// e.g. ProcessEvaluatorOptions::trial_timeout, to bound that). Cancellation: no trial starts, and
// the running trials see *cancel and should return promptly; they are recorded `cancelled`.
//
// Reproducibility: see sampler.h. Trial i is suggested only once every trial below the sampler's
// HistoryBound(i) has finished, from those that succeeded; halving promotes only when a whole rung
// has finished. So the same spec (TuningSpec::Digest) and the same trial results give the same
// trials, the same indices and the same chosen trial for every parallelism and any timing; only
// max_time and cancellation, which depend on the clock, can end a tuning at a different point.
//
// Failures. A trial whose evaluator fails, or whose result lacks a metric the objective needs, is
// recorded failed and the tuning carries on; if no trial succeeds and at least one failed (and the
// tuning was not cancelled) RunTuning returns Aborted with the first failure. A trial whose final
// parameters break a guardrail is never run: RunTuning stops starting trials, waits for the running
// ones and returns FailedPrecondition (the space was checked, so that would be a bug).
#ifndef PLINTH_TUNE_TUNER_H_
#define PLINTH_TUNE_TUNER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "tune/trial.h"
#include "tune/tuning_spec.h"

namespace plinth::tune {

struct TrialEvent {
  enum class Kind { kStarted, kFinished, kFailed };  // kFailed also for cancelled trials
  Kind kind = Kind::kStarted;
  TrialRecord trial;  // as it is at the event (state kRunning when started)
  int started = 0;    // trials started so far, this one included
  int finished = 0;   // trials finished so far (succeeded, failed or cancelled)
  int planned = 0;    // max_trials (halving: the plan's total)
};

// "started", "finished", "failed".
std::string TrialEventKindName(TrialEvent::Kind kind);

struct TuningOptions {
  // Set to stop: no new trial starts, running ones see it through the evaluator's cancel flag.
  const std::atomic<bool>* cancel = nullptr;
  // Called for every trial event, one call at a time (never concurrently), from the tuning's
  // threads; "started" always comes before that trial's "finished" or "failed". It must not call
  // back into the tuning.
  std::function<void(const TrialEvent&)> observer;
  // max_time is measured on it; SystemClock() when null.
  Clock* clock = nullptr;
  // How often cancel and max_time are looked at while waiting for trials.
  std::chrono::milliseconds poll_interval{50};
};

enum class StopReason {
  kCompleted,       // every planned trial ran (max_trials reached, or every halving rung)
  kMaxTime,         // max_time passed
  kCancelled,       // the cancel flag was set
  kNothingPromoted  // halving: a rung ended without a successful trial to promote
};

// "completed", "max_time", "cancelled", "nothing_promoted".
std::string StopReasonName(StopReason reason);

struct TuningResult {
  std::vector<TrialRecord> trials;  // by index
  std::optional<int> chosen;        // unset: no feasible trial (see explanation)
  Json explanation;                 // SelectTrial's
  StopReason stop_reason = StopReason::kCompleted;
  Json spec;                // TuningSpec::ToJson
  std::string spec_digest;  // TuningSpec::Digest
  double seconds = 0;       // wall time

  const TrialRecord* chosen_trial() const {
    return chosen ? &trials[static_cast<size_t>(*chosen)] : nullptr;
  }
  // {"spec", "spec_digest", "stop_reason", "trials": [...], "chosen_trial", "chosen_params",
  //  "explanation", "seconds"} (docs/tuning.md, "The result").
  Json ToJson() const;
};

// InvalidArgument for a spec ValidateTuningSpec refuses or an evaluator that is not set.
StatusOr<TuningResult> RunTuning(const TuningSpec& spec, const TrialEvaluator& evaluator,
                                 const TuningOptions& options = {});

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_TUNER_H_
