// The logistic and scorecard model kinds for the trainer and scorer registries (trainer.h,
// model_package.h), built in beside xgboost. Internal to the train module.
//
// logistic: the xgboost kind's preprocessing (numeric as is, categories one-hot), then
//   LogisticModel (logistic.h) with params as LogisticParams::FromJson reads them; one file,
//   model.json. Binary only; no monotone constraints and no early stopping (refused).
// scorecard: Scorecard (scorecard.h) on the raw columns (no preprocessing spec), with params as
//   ScorecardOptions::FromJson reads them except features, categorical and monotone, which come
//   from the spec's own members; one file, scorecard.json; outputs the probability of the positive
//   (adverse) class and the score in points. Binary only; no class weights and no early stopping.
#ifndef PLINTH_TRAIN_LINEAR_KINDS_H_
#define PLINTH_TRAIN_LINEAR_KINDS_H_

#include <memory>

#include "train/model_package.h"
#include "train/trainer.h"

namespace plinth {

StatusOr<KindModel> TrainLogisticKind(const TrainingInputs& in);
Status CheckLogisticKind(const TrainSpec& spec);
StatusOr<std::unique_ptr<Scorer>> LoadLogisticScorer(const ModelPackage& package,
                                                     const ScorerOptions& options);

StatusOr<KindModel> TrainScorecardKind(const TrainingInputs& in);
Status CheckScorecardKind(const TrainSpec& spec);
StatusOr<std::unique_ptr<Scorer>> LoadScorecardScorer(const ModelPackage& package,
                                                      const ScorerOptions& options);

}  // namespace plinth

#endif  // PLINTH_TRAIN_LINEAR_KINDS_H_
