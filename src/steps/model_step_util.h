// What the model step types share: the train spec as `with` keys, training options wired to a
// step's progress and cancellation, model packages as step outputs, and the model kinds.
#ifndef PLINTH_STEPS_MODEL_STEP_UTIL_H_
#define PLINTH_STEPS_MODEL_STEP_UTIL_H_

#include <memory>
#include <vector>

#include "pipeline/step_registry.h"
#include "steps/builtin_steps.h"
#include "train/model_package.h"
#include "train/trainer.h"

namespace plinth {

// The `with` keys of TrainSpec (train/trainer.h), each passed through when given.
std::vector<pipeline::WithKey> TrainSpecWithKeys();
// The TrainSpec of the step's `with` (keys of TrainSpecWithKeys only); errors name the step.
StatusOr<TrainSpec> TrainSpecFromWith(const pipeline::StepContext& ctx);
StatusOr<TrainSpec> TrainSpecFromJson(const pipeline::StepContext& ctx, const Json& spec);
// With the optional input `dataset` (a data set reference from an ingest or features step: where
// the training rows came from), the data set version's protected attributes are excluded from the
// features, and a spec that names one in `features` is refused (FailedPrecondition): a model
// never learns from a protected attribute. Returns the summary to record: the data set and the
// attributes excluded (null without the input).
StatusOr<Json> ExcludeProtectedAttributes(const pipeline::StepContext& ctx,
                                          const StepEnvironment& env, TrainSpec* spec);
// Progress and cancellation of the step, its run and step names.
TrainOptions StepTrainOptions(const pipeline::StepContext& ctx, const StepEnvironment& env,
                              const Json& governed = Json());
// Writes the package as the outputs `manifest` and `model` (its one model file).
Status WritePackageOutputs(const pipeline::StepContext& ctx, const ModelPackage& package,
                           pipeline::StepResult* result);
// The package of the inputs `manifest` and `model`, every digest checked.
StatusOr<ModelPackage> ReadPackageInputs(const pipeline::StepContext& ctx);
// The tune step type (tune_step.cc).
pipeline::StepType TuneStep(std::shared_ptr<StepEnvironment> env);

}  // namespace plinth

#endif  // PLINTH_STEPS_MODEL_STEP_UTIL_H_
