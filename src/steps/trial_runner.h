// One tuning trial of a model's training spec, in this process or in a trial process
// (`plinth internal trial --context FILE --trial FILE --result FILE`, started by the tune step
// through tune/process_evaluator.h). A trial merges its parameters into the spec, trains on a
// seeded split of the training rows and reports train_* and valid_* metrics.
#ifndef PLINTH_STEPS_TRIAL_RUNNER_H_
#define PLINTH_STEPS_TRIAL_RUNNER_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"
#include "train/trainer.h"
#include "tune/trial.h"

namespace plinth {

// What every trial of one tuning shares.
struct TrialContext {
  Json spec;               // the base TrainSpec (ToJson)
  std::string train_path;  // the training rows (CSV)
  double validation_fraction = 0.25;
  Json ToJson() const;
  static StatusOr<TrialContext> FromJson(const Json& json);
};

// `base` with a trial's parameters: monotone_constraints replaces the spec's monotone map,
// excluded_features joins its exclusions, every other parameter goes into its params.
StatusOr<TrainSpec> SpecWithTrialParams(const TrainSpec& base, const Json& params);

// Trains and validates one trial on `table` (the context's training rows).
StatusOr<tune::TrialResult> RunTrainingTrial(const TrialContext& context, const Table& table,
                                             const tune::Trial& trial);

// The trial program: `args` are the arguments after `internal trial` (--context, --trial,
// --result). Writes the result file; an error is also the process's exit status.
Status RunTrialProgram(const std::vector<std::string>& args);

}  // namespace plinth

#endif  // PLINTH_STEPS_TRIAL_RUNNER_H_
