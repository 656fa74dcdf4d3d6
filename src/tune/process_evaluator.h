// Trials as child processes (docs/tuning.md, "Trials in processes"): each trial runs
//
//   ARGV... --trial DIR/trial.json --result DIR/result.json
//
// where trial.json holds Trial::ToJson ({"trial": i, "params": {...}, "budget": n, "rung": r}) and
// the program writes {"metrics": {"name": number, ...}, "artifacts": {...}} (artifacts optional)
// to result.json and exits 0. The program runs as a pipeline command step does
// (pipeline/command_step.h): started directly with posix_spawn (no shell) in its own process group,
// stdin from /dev/null, an environment rebuilt from a short pass-through list (so the platform's
// secrets never reach it) plus the caller's variables, and its whole process group killed
// (SIGTERM, then SIGKILL after a grace period) when the tuning is cancelled or the trial times out.
// A trial fails with the program's exit status or signal and the tail of its output (stdout and
// stderr, interleaved), or with a clear message for a missing or malformed result file.
//
// The trial program's side: ParseTrialArgs, ReadTrialFile and WriteTrialResult.
#ifndef PLINTH_TUNE_PROCESS_EVALUATOR_H_
#define PLINTH_TUNE_PROCESS_EVALUATOR_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "tune/trial.h"

namespace plinth::tune {

struct ProcessEvaluatorOptions {
  // The program and its leading arguments (the program: a path, or a name looked up in PATH).
  std::vector<std::string> argv;
  // Each trial gets the folder scratch_dir/trial-NNNNNN (created; removed afterwards unless
  // keep_files). Required.
  std::string scratch_dir;
  bool keep_files = false;
  // The child's working folder ("": the platform's).
  std::string work_dir;
  // Variables passed through from the platform's environment; all others are dropped.
  // OMP_WAIT_POLICY passes so XGBoost trials keep the platform's setting (xgboost_model.h).
  std::vector<std::string> pass_env = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "OMP_WAIT_POLICY"};
  // Further variables for the child (these win over passed-through ones).
  std::map<std::string, std::string> env;
  // Per trial; unset: none. A trial past it is killed and fails with DeadlineExceeded.
  std::optional<std::chrono::milliseconds> trial_timeout;
  // Between SIGTERM and SIGKILL.
  std::chrono::milliseconds kill_grace{2000};
  // Output lines kept for a failure's message.
  size_t tail_lines = 20;
};

// InvalidArgument if argv is empty or scratch_dir is not set (checked at once, not per trial).
StatusOr<TrialEvaluator> MakeProcessEvaluator(ProcessEvaluatorOptions options);

// The trial program's side.
struct TrialInvocation {
  std::string trial_path;   // --trial
  std::string result_path;  // --result
};
// Finds --trial PATH and --result PATH (also --trial=PATH) among `args`; other arguments are
// ignored. InvalidArgument if either is missing.
StatusOr<TrialInvocation> ParseTrialArgs(const std::vector<std::string>& args);
// Reads a trial file. InvalidArgument if it is not Trial::ToJson's form.
StatusOr<Trial> ReadTrialFile(const std::string& path);
// Writes {"metrics": ..., "artifacts": ...} atomically. InvalidArgument for a non-finite metric.
Status WriteTrialResult(const std::string& path, const TrialResult& result);
// Parses a result file's text. InvalidArgument naming what is wrong.
StatusOr<TrialResult> ParseTrialResult(std::string_view text);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_PROCESS_EVALUATOR_H_
