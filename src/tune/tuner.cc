#include "tune/tuner.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "tune/guardrails.h"
#include "tune/sampler.h"

namespace plinth::tune {
namespace {

using Steady = std::chrono::steady_clock;

Observation ToObservation(const Objective& objective, const TrialRecord& t) {
  Observation o;
  o.index = t.trial.index;
  o.params = t.trial.params;
  o.loss = objective.Loss(t.metrics.at(objective.metric));
  o.feasible = t.feasible;
  o.violations = static_cast<int>(t.violations().size());
  return o;
}

// What the tuning does next.
struct Next {
  enum class Kind { kStart, kWait, kDone };
  Kind kind = Kind::kWait;
  Trial trial;
  StopReason reason = StopReason::kCompleted;
};

// Decides the trials: sampled (search, and halving's rung 0) or promoted (halving's later rungs).
// Reads only finished trials, so what it returns does not depend on timing.
class Planner {
 public:
  Planner(const TuningSpec& spec, const Sampler& sampler) : spec_(spec), sampler_(sampler) {
    if (spec.strategy == Strategy::kHalving) {
      budgets_ = spec.halving.Budgets();
      sizes_ = spec.halving.Sizes();
    }
  }

  StatusOr<Next> Step(const std::vector<TrialRecord>& trials) {
    const int i = static_cast<int>(trials.size());
    if (spec_.strategy == Strategy::kSearch) {
      if (i >= spec_.max_trials) return Done(StopReason::kCompleted);
      return Sample(i, trials, std::nullopt);
    }
    while (true) {
      const int size = rung_ == 0 ? sizes_[0] : static_cast<int>(members_.size());
      if (i < rung_start_ + size) {
        if (rung_ == 0) return Sample(i, trials, budgets_[0]);
        return Promote(i, trials);
      }
      if (rung_ + 1 >= budgets_.size()) return Done(StopReason::kCompleted);
      // The next rung is chosen from the whole of this one.
      for (int j = rung_start_; j < i; ++j) {
        if (trials[j].state == TrialState::kRunning) return Next{};
      }
      std::vector<const TrialRecord*> ranked;
      for (int j = rung_start_; j < i; ++j) {
        if (trials[j].state == TrialState::kSucceeded) ranked.push_back(&trials[j]);
      }
      const Objective& objective = spec_.objective;
      std::sort(ranked.begin(), ranked.end(), [&](const TrialRecord* a, const TrialRecord* b) {
        if (a->feasible != b->feasible) return a->feasible;
        const size_t va = a->violations().size(), vb = b->violations().size();
        if (va != vb) return va < vb;
        const double ma = a->metrics.at(objective.metric), mb = b->metrics.at(objective.metric);
        if (objective.Better(ma, mb)) return true;
        if (objective.Better(mb, ma)) return false;
        return a->trial.index < b->trial.index;
      });
      const size_t keep = std::min(ranked.size(), static_cast<size_t>(sizes_[rung_ + 1]));
      if (keep == 0) return Done(StopReason::kNothingPromoted);
      members_.clear();
      for (size_t k = 0; k < keep; ++k) members_.push_back(ranked[k]->trial.index);
      ++rung_;
      rung_start_ = i;
    }
  }

 private:
  static Next Done(StopReason reason) {
    Next next;
    next.kind = Next::Kind::kDone;
    next.reason = reason;
    return next;
  }

  StatusOr<Next> Sample(int i, const std::vector<TrialRecord>& trials,
                        std::optional<int64_t> budget) {
    const int bound = std::min(sampler_.HistoryBound(i), i);
    std::vector<Observation> history;
    for (int j = 0; j < bound; ++j) {
      const TrialRecord& t = trials[j];
      if (t.state == TrialState::kRunning) return Next{};
      if (t.state == TrialState::kSucceeded && t.trial.rung == 0) {
        history.push_back(ToObservation(spec_.objective, t));
      }
    }
    const Json sampled = sampler_.Suggest(i, std::move(history));
    StatusOr<Json> params = ApplyGuardrails(spec_.guardrails, sampled);
    if (!params.ok()) {
      return absl::FailedPreconditionError("trial " + std::to_string(i) + ": " +
                                           std::string(params.status().message()));
    }
    Next next;
    next.kind = Next::Kind::kStart;
    next.trial.index = i;
    next.trial.params = std::move(*params);
    if (budget) {
      next.trial.budget = budget;
      next.trial.params[spec_.halving.resource] = *budget;
    }
    RETURN_IF_ERROR(Check(next.trial));
    return next;
  }

  StatusOr<Next> Promote(int i, const std::vector<TrialRecord>& trials) {
    const int source = members_[static_cast<size_t>(i - rung_start_)];
    Next next;
    next.kind = Next::Kind::kStart;
    next.trial.index = i;
    next.trial.rung = static_cast<int>(rung_);
    next.trial.promoted_from = source;
    next.trial.budget = budgets_[rung_];
    next.trial.params = trials[source].trial.params;
    next.trial.params[spec_.halving.resource] = budgets_[rung_];
    RETURN_IF_ERROR(Check(next.trial));
    return next;
  }

  // Defence in depth: the final parameters against the guardrails, just before the trial runs.
  Status Check(const Trial& trial) const {
    Status s = CheckTrialParams(spec_.guardrails, trial.params);
    if (!s.ok()) {
      return absl::FailedPreconditionError("trial " + std::to_string(trial.index) +
                                           " was not run: " + std::string(s.message()));
    }
    return absl::OkStatus();
  }

  const TuningSpec& spec_;
  const Sampler& sampler_;
  std::vector<int64_t> budgets_;
  std::vector<int> sizes_;
  size_t rung_ = 0;
  int rung_start_ = 0;
  std::vector<int> members_;  // rung_ >= 1: the trials promoted into it, best first
};

// Fills in how a trial ended.
void Complete(const Objective& objective, StatusOr<TrialResult> result, bool cancel_set,
              TrialRecord* record) {
  if (!result.ok()) {
    record->state = cancel_set || absl::IsCancelled(result.status()) ? TrialState::kCancelled
                                                                     : TrialState::kFailed;
    record->status = result.status();
    return;
  }
  record->metrics = std::move(result->metrics);
  record->artifacts = std::move(result->artifacts);
  Status metrics = CheckMetrics(objective, record->metrics);
  if (!metrics.ok()) {
    record->state = TrialState::kFailed;
    record->status = metrics;
    return;
  }
  record->checks = CheckConstraints(objective, record->metrics);
  record->feasible = std::all_of(record->checks.begin(), record->checks.end(),
                                 [](const ConstraintCheck& c) { return c.satisfied; });
  record->state = TrialState::kSucceeded;
}

}  // namespace

std::string TrialEventKindName(TrialEvent::Kind kind) {
  switch (kind) {
    case TrialEvent::Kind::kStarted:
      return "started";
    case TrialEvent::Kind::kFinished:
      return "finished";
    case TrialEvent::Kind::kFailed:
      return "failed";
  }
  return "?";
}

std::string StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kCompleted:
      return "completed";
    case StopReason::kMaxTime:
      return "max_time";
    case StopReason::kCancelled:
      return "cancelled";
    case StopReason::kNothingPromoted:
      return "nothing_promoted";
  }
  return "?";
}

Json TuningResult::ToJson() const {
  Json out = Json::object();
  out["spec"] = spec;
  out["spec_digest"] = spec_digest;
  out["stop_reason"] = StopReasonName(stop_reason);
  out["trials"] = Json::array();
  for (const TrialRecord& t : trials) out["trials"].push_back(t.ToJson());
  out["chosen_trial"] = chosen ? Json(*chosen) : Json(nullptr);
  out["chosen_params"] = chosen ? trials[static_cast<size_t>(*chosen)].trial.params : Json(nullptr);
  out["explanation"] = explanation;
  out["seconds"] = seconds;
  return out;
}

StatusOr<TuningResult> RunTuning(const TuningSpec& spec, const TrialEvaluator& evaluator,
                                 const TuningOptions& options) {
  RETURN_IF_ERROR(ValidateTuningSpec(spec));
  if (!evaluator) return absl::InvalidArgumentError("no trial evaluator");
  ASSIGN_OR_RETURN(std::unique_ptr<Sampler> sampler, MakeSampler(spec.sampler, spec.space));
  Planner planner(spec, *sampler);
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  static const std::atomic<bool> kNeverCancelled{false};
  const std::atomic<bool>* cancel = options.cancel != nullptr ? options.cancel : &kNeverCancelled;

  const Steady::time_point wall_start = Steady::now();
  const int64_t start_micros = clock->NowMicros();
  const int planned = spec.max_trials;

  std::mutex mu;  // guards everything below up to the workers
  std::condition_variable cv;
  std::vector<TrialRecord> trials;
  std::deque<int> queue;
  bool closing = false;
  int running = 0, finished = 0;

  std::mutex observer_mu;  // one observer call at a time
  const auto notify = [&](TrialEvent event) {
    if (!options.observer) return;
    std::lock_guard<std::mutex> lock(observer_mu);
    options.observer(event);
  };

  const auto worker = [&] {
    while (true) {
      Trial trial;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return closing || !queue.empty(); });
        if (queue.empty()) return;
        trial = trials[static_cast<size_t>(queue.front())].trial;
        queue.pop_front();
      }
      const Steady::time_point t0 = Steady::now();
      StatusOr<TrialResult> result = absl::InternalError("not evaluated");
      try {
        result = evaluator(trial, cancel);
      } catch (const std::exception& e) {
        result = absl::InternalError(std::string("the trial evaluator threw: ") + e.what());
      } catch (...) {
        result = absl::InternalError("the trial evaluator threw");
      }
      TrialRecord record;
      record.trial = trial;
      record.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
      Complete(spec.objective, std::move(result), cancel->load(), &record);
      TrialEvent event;
      event.kind = record.state == TrialState::kSucceeded ? TrialEvent::Kind::kFinished
                                                          : TrialEvent::Kind::kFailed;
      event.trial = record;
      event.planned = planned;
      {
        std::lock_guard<std::mutex> lock(mu);
        trials[static_cast<size_t>(trial.index)] = std::move(record);
        --running;
        ++finished;
        event.started = static_cast<int>(trials.size());
        event.finished = finished;
      }
      // The observer runs before the coordinator hears of the result, so a caller's child run is
      // closed before the tuning's result is returned.
      notify(std::move(event));
      cv.notify_all();
    }
  };

  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(spec.parallelism));
  for (int k = 0; k < spec.parallelism; ++k) workers.emplace_back(worker);

  std::optional<StopReason> stop;
  Status fatal;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      if (!stop && fatal.ok()) {
        if (cancel->load()) {
          stop = StopReason::kCancelled;
        } else if (spec.max_time_micros &&
                   clock->NowMicros() - start_micros >= *spec.max_time_micros) {
          stop = StopReason::kMaxTime;
        }
      }
      std::vector<TrialEvent> started;
      while (!stop && fatal.ok() && running < spec.parallelism) {
        StatusOr<Next> next = planner.Step(trials);
        if (!next.ok()) {
          fatal = next.status();
          break;
        }
        if (next->kind == Next::Kind::kWait) break;
        if (next->kind == Next::Kind::kDone) {
          stop = next->reason;
          break;
        }
        TrialRecord record;
        record.trial = std::move(next->trial);
        trials.push_back(record);
        ++running;
        TrialEvent event;
        event.kind = TrialEvent::Kind::kStarted;
        event.trial = std::move(record);
        event.started = static_cast<int>(trials.size());
        event.finished = finished;
        event.planned = planned;
        started.push_back(std::move(event));
      }
      if (!started.empty()) {
        // "started" goes out before the trial is handed to a worker, so it precedes "finished".
        lock.unlock();
        for (TrialEvent& event : started) notify(std::move(event));
        lock.lock();
        for (const TrialEvent& event : started) queue.push_back(event.trial.trial.index);
        cv.notify_all();
        continue;
      }
      if ((stop || !fatal.ok()) && running == 0) break;
      cv.wait_for(lock, options.poll_interval);
    }
    closing = true;
  }
  cv.notify_all();
  for (std::thread& t : workers) t.join();
  RETURN_IF_ERROR(fatal);

  TuningResult result;
  result.trials = std::move(trials);
  result.stop_reason = stop.value_or(StopReason::kCompleted);
  result.spec = spec.ToJson();
  result.spec_digest = spec.Digest();
  result.seconds = std::chrono::duration<double>(Steady::now() - wall_start).count();

  int succeeded = 0, failed = 0;
  const TrialRecord* first_failure = nullptr;
  for (const TrialRecord& t : result.trials) {
    if (t.state == TrialState::kSucceeded) ++succeeded;
    if (t.state == TrialState::kFailed) {
      ++failed;
      if (first_failure == nullptr) first_failure = &t;
    }
  }
  if (succeeded == 0 && failed > 0 && result.stop_reason != StopReason::kCancelled) {
    return absl::AbortedError(
        "all " + std::to_string(failed) + " trials failed" +
        (static_cast<size_t>(failed) < result.trials.size() ? " (the others were cancelled)" : "") +
        "; the first, trial " + std::to_string(first_failure->trial.index) + ": " +
        std::string(first_failure->status.message()));
  }
  Selection selection =
      SelectTrial(spec.objective, result.trials, spec.strategy == Strategy::kHalving);
  result.chosen = selection.chosen;
  result.explanation = std::move(selection.explanation);
  return result;
}

}  // namespace plinth::tune
