// The built-in command step: `run: [PROGRAM, ARG...]` (docs/pipelines.md, "Command steps").
//
// The program is started directly (posix_spawn, no shell, so nothing in an argument is
// interpreted) in its own process group, with stdin from /dev/null and stdout and stderr captured
// line by line into the step's log. Its environment is rebuilt rather than inherited, so the
// platform's secrets (PLINTH_TOKEN and the like) never reach user code: a few variables pass
// through (PATH, HOME, LANG, LC_ALL, TZ), then the approved environment's own, then the step's:
//   PLINTH_STEP, PLINTH_ATTEMPT, PLINTH_WORK_DIR, PLINTH_OUTPUT_DIR, TMPDIR (private to the step),
//   PLINTH_OUTPUT_<NAME>   where to write each declared output,
//   PLINTH_INPUT_<NAME>    the path of each input, PLINTH_INPUT_<NAME>_DIGEST its digest,
//   PLINTH_PARAM_<KEY>     each `with` value (scalars as text, lists and mappings as JSON),
//   PLINTH_METRICS_FILE    where the command may write {"name": number, ...} as its metrics.
// A non-zero exit status fails the step. A timeout or a cancellation sends SIGTERM to the process
// group, then SIGKILL after a grace period; processes a command leaves behind when it exits are
// killed too, so a step's processes end with it.
#ifndef PLINTH_PIPELINE_COMMAND_STEP_H_
#define PLINTH_PIPELINE_COMMAND_STEP_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/environment.h"
#include "pipeline/step_registry.h"

namespace plinth::pipeline {

// The step type name command steps run under (reserved: no registered type may take it).
inline constexpr char kCommandStepType[] = "run";
// Part of every command step's cache key; bump when what a command sees changes.
inline constexpr char kCommandStepVersion[] = "1";

struct CommandStepOptions {
  // Between SIGTERM and SIGKILL when a step times out or is cancelled.
  std::chrono::milliseconds kill_grace{2000};
  // Variables passed through from the platform's own environment; all others are dropped.
  std::vector<std::string> pass_env = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"};
  // Turns a step's argv into one that runs it inside an image environment (a container runtime
  // invocation, with the step's folders mounted). Unset: image environments fail with
  // Unimplemented, since this library runs no containers itself.
  std::function<StatusOr<std::vector<std::string>>(const Environment& env, const StepContext& ctx,
                                                   const std::vector<std::string>& argv)>
      image_launcher;
  // Longer output lines are split, so one runaway line cannot exhaust memory.
  size_t max_line_bytes = 64 * 1024;
};

// The command step as a StepType (name "run"). Its `run` function reads ctx.command() and
// ctx.environment() and collects ctx.declared_outputs() from ctx.output_dir().
StepType CommandStepType(CommandStepOptions options = {});

// "PLINTH_OUTPUT_" + NAME upper-cased, characters other than letters and digits as '_'.
std::string CommandVariable(const std::string& prefix, const std::string& name);

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_COMMAND_STEP_H_
