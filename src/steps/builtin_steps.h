// The built-in pipeline step types (docs/pipelines.md, "Built-in step types"): ingest, validate,
// features, split, train, tune, evaluate, explain and fairness. They run where the pipeline runs
// and reach the platform only through a PlatformClient, so a pipeline behaves the same in process
// and against a server. Later capabilities (register, deploy) add their types beside these.
#ifndef PLINTH_STEPS_BUILTIN_STEPS_H_
#define PLINTH_STEPS_BUILTIN_STEPS_H_

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "pipeline/step_registry.h"
#include "platform/client.h"

namespace plinth {

// What the built-in steps share. Built before the pipeline is parsed; run_id is set once the
// platform has started the run (steps read it only while running).
struct StepEnvironment {
  PlatformClient* client = nullptr;
  std::string project;
  std::string run_id;      // the pipeline's tracked run
  std::string experiment;  // its experiment (the pipeline's name), for child runs
  // argv that runs one tuning trial in a child process (e.g. {"/proc/self/exe", "internal",
  // "trial"}); empty runs trials in threads of this process.
  std::vector<std::string> trial_command;
};

Status RegisterBuiltinSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env);

// Each family registers its own types (data_steps.cc, model_steps.cc, explain_steps.cc).
Status RegisterDataSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env);
Status RegisterModelSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env);
// explain and fairness (explain_steps.cc).
Status RegisterExplainSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env);
// register and card (registry_steps.cc).
Status RegisterRegistrySteps(pipeline::StepRegistry* registry,
                             std::shared_ptr<StepEnvironment> env);

}  // namespace plinth

#endif  // PLINTH_STEPS_BUILTIN_STEPS_H_
