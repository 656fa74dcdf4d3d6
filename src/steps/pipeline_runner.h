// `plinth run`: a pipeline run on the platform. The DAG executor (pipeline/executor.h) runs here,
// in the caller's process, with the built-in step types; the platform, reached through a
// PlatformClient (in process or a server), keeps everything the run leaves:
//   - the run is a tracked run in the experiment named after the pipeline: the resolved
//     parameters are its params, every step's metrics its metrics, every output an artifact of it
//     (path STEP/OUTPUT), and each step's log an artifact too (STEP/log);
//   - each step, as it ends, is recorded as an execution with lineage (pipeline.step);
//   - step outputs are artifacts of the project and the step cache is the project's, so a second
//     run with nothing changed is served entirely from the cache;
//   - a run that did not finish (killed, failed, cancelled) is resumed by the next run of the same
//     pipeline: its completed steps are not run again (they show as cached, resumed);
//   - OpenLineage run events go to a JSON lines file and, optionally, a URL.
#ifndef PLINTH_STEPS_PIPELINE_RUNNER_H_
#define PLINTH_STEPS_PIPELINE_RUNNER_H_

#include <atomic>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "pipeline/executor.h"
#include "pipeline/openlineage.h"
#include "platform/client.h"

namespace plinth {

struct PipelineRunOptions {
  std::string project;
  std::vector<std::string> params;  // NAME=VALUE overrides
  int parallelism = 2;
  bool use_cache = true;
  // A run id to resume; empty resumes the latest run of the pipeline if it did not succeed.
  std::string resume;
  // environments.yaml; empty: the file of that name beside the pipeline, if there is one.
  std::string environments;
  // OpenLineage RunEvents: appended to this JSON lines file ("" for none) and POSTed to the URL
  // ("" for none).
  std::string openlineage_file;
  std::string openlineage_url;
  // How events reach the URL (the CLI provides an HTTP client); required with openlineage_url.
  pipeline::HttpPoster openlineage_poster;
  // argv running one tuning trial in a child process (see StepEnvironment).
  std::vector<std::string> trial_command;
  const std::atomic<bool>* cancel = nullptr;
  // Called with every executor event, after the run's own bookkeeping (for a live view).
  pipeline::EventObserver observer;
  // Called once the platform has started the run, with its id.
  std::function<void(const std::string& run_id, const Json& start)> on_start;
};

struct PipelineRunOutcome {
  std::string run_id;
  std::string pipeline;
  std::string resumed_from;
  pipeline::RunResult result;
  // What `plinth run --json` prints: run id, pipeline, project, state, message, and each step's
  // state, cache key, outputs (digests), metrics, attempts and seconds.
  Json json;
  // Problems recording the run on the platform (the run itself went on).
  std::vector<std::string> warnings;
};

// Loads the pipeline (and environments), checks it, starts the run on the platform and runs it.
// Errors before the run starts (a bad spec, parameters, the platform refusing) are returned;
// once started, how the run ended is in the outcome.
StatusOr<PipelineRunOutcome> RunPipelineOnPlatform(PlatformClient& client, const std::string& path,
                                                   const PipelineRunOptions& options);

// Parses and checks the pipeline only (`plinth run --check`): the spec with its parameters
// resolved, as JSON.
StatusOr<Json> CheckPipeline(const std::string& path, const PipelineRunOptions& options);

}  // namespace plinth

#endif  // PLINTH_STEPS_PIPELINE_RUNNER_H_
