// The DAG executor (docs/pipelines.md, "Running", "Outputs and caching", "Events").
//
// Runs a parsed pipeline's steps in dependency order on a bounded number of worker threads.
// Before a step runs, its cache key is computed: SHA-256 over the canonical JSON of its type and
// the type's version, its resolved `with` (and, for a command, its argv and the digests of the
// files its arguments name), the digests of everything it reads from other steps, the names of
// its declared outputs, its environment's digest and the type's fingerprint. A step whose
// key is in the StepCache (and whose outputs are still in the OutputStore), or was completed by
// the run being resumed, is not run again. Otherwise it runs with retries (exponential backoff)
// and its timeout; its output files are put into the OutputStore and the result cached.
//
// A failed step stops the steps that depend on it (skipped); the others carry on unless
// fail_fast. Setting the cancel flag stops the run: running steps see it (command steps are
// killed), no new step starts, and the run ends CANCELLED.
#ifndef PLINTH_PIPELINE_EXECUTOR_H_
#define PLINTH_PIPELINE_EXECUTOR_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "pipeline/command_step.h"
#include "pipeline/output_store.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_cache.h"
#include "pipeline/step_registry.h"

namespace plinth::pipeline {

enum class StepState { kPending, kRunning, kSucceeded, kCached, kFailed, kSkipped, kCancelled };
enum class RunState { kRunning, kSucceeded, kFailed, kCancelled };
// "pending", "running", "succeeded", "cached", "failed", "skipped", "cancelled".
std::string StepStateName(StepState state);
// "running", "succeeded", "failed", "cancelled".
std::string RunStateName(RunState state);

enum class EventKind {
  kRunStarted,
  kRunFinished,
  kStepPending,    // every step, once, when the run starts
  kStepStarted,    // an attempt starts (attempt is 1, 2, ...)
  kStepProgress,   // progress, message
  kStepLog,        // message: one line
  kStepCached,     // not run: outputs from the cache, or from the resumed run (resumed)
  kStepSucceeded,  // outputs, metrics
  kStepFailed,     // status; after the last attempt
  kStepRetrying,   // status of the failed attempt, retry_delay_micros before the next
  kStepSkipped,    // not run because a step it needs did not succeed (or fail_fast stopped it)
  kStepCancelled,  // the run was cancelled while the step waited or ran
};
// "run_started", "step_log", ...
std::string EventKindName(EventKind kind);

struct PipelineEvent {
  EventKind kind = EventKind::kRunStarted;
  int64_t time_micros = 0;  // from ExecutorOptions::clock
  std::string step;         // empty for run events
  int attempt = 0;
  std::string message;  // a log line, a progress message, why a step was skipped
  double progress = 0;  // kStepProgress: 0 to 1
  std::string cache_key;
  std::map<std::string, std::string> outputs;  // output name -> digest
  std::map<std::string, double> metrics;
  Json summary;          // kStepSucceeded, kStepCached: the step's summary
  bool resumed = false;  // kStepCached: from ExecutorOptions::resume rather than the cache
  int64_t retry_delay_micros = 0;
  Status status;                            // failed, retrying, cancelled, run finished
  RunState run_state = RunState::kRunning;  // kRunFinished
};

// Observers are called one at a time (never concurrently), from worker threads and the thread
// that called RunPipeline; they must be quick and must not call back into the executor.
using EventObserver = std::function<void(const PipelineEvent&)>;

// A step an earlier run completed, for resuming it.
struct CompletedStep {
  std::string cache_key;
  std::map<std::string, std::string> outputs;  // output name -> digest
  std::map<std::string, double> metrics;
  Json summary;
};

struct StepOutcome {
  std::string name;
  StepState state = StepState::kPending;
  std::string cache_key;                       // empty if the step never got as far as computing it
  std::map<std::string, std::string> outputs;  // output name -> digest
  std::map<std::string, double> metrics;
  Json summary;
  std::string log;  // every line logged, over all attempts (bounded by max_log_bytes)
  Status status;    // why it failed, was skipped or cancelled
  int attempts = 0;
  bool resumed = false;
  int64_t started_micros = 0, finished_micros = 0;
};

struct RunResult {
  RunState state = RunState::kRunning;
  // OK, the first failed step's error ("step 'train': ..."), or Cancelled.
  Status status;
  std::vector<StepOutcome> steps;  // in the spec's order
  int64_t started_micros = 0, finished_micros = 0;

  const StepOutcome* Find(const std::string& name) const;
  // The succeeded and cached steps, to pass as ExecutorOptions::resume to a later run.
  std::map<std::string, CompletedStep> Completed() const;
};

struct ExecutorOptions {
  OutputStore* output_store = nullptr;  // required
  StepCache* cache = nullptr;           // null: nothing is cached
  int parallelism = 4;                  // worker threads (at least 1)
  // Steps of an earlier run of this pipeline, by name: a step whose cache key is unchanged and
  // whose outputs are still stored is not run again (reported cached, resumed).
  std::map<std::string, CompletedStep> resume;
  // Set (by a signal handler, another thread) to cancel the run; polled every few milliseconds.
  const std::atomic<bool>* cancel = nullptr;
  EventObserver observer;
  // The folder relative paths in `with` and `run` are read from (the pipeline file's folder).
  std::string work_dir = ".";
  // Where steps get their output and scratch folders; "" makes a temporary folder. Each step's
  // folders are removed when it ends unless keep_scratch.
  std::string scratch_dir;
  bool keep_scratch = false;
  // Before retry n (n = 1, 2, ...): retry_backoff * 2^(n-1), at most retry_backoff_max.
  std::chrono::milliseconds retry_backoff{1000};
  std::chrono::milliseconds retry_backoff_max{60000};
  // Stop starting steps after the first failure (independent steps otherwise carry on).
  bool fail_fast = false;
  // Per step; lines past it are dropped (and counted) so a chatty step cannot exhaust memory.
  size_t max_log_bytes = 8 << 20;
  CommandStepOptions command;
  const Clock* clock = nullptr;  // null: the system clock
};

// Runs `spec` with `params` (from ResolveParameters). The result says how each step ended; an
// error is returned only when the run cannot start (no output store, a spec that is not a DAG
// or names unregistered step types, no scratch folder).
StatusOr<RunResult> RunPipeline(const PipelineSpec& spec, const ParameterValues& params,
                                const StepRegistry& registry, const ExecutorOptions& options);

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_EXECUTOR_H_
