// Compiling a model package into a CompiledModel (serve/compiled_model.h). Part of plinth_serve,
// which links the package code and XGBoost (to convert UBJSON models); scoring a compiled model
// needs only plinth_compiled.
#ifndef PLINTH_SERVE_COMPILE_H_
#define PLINTH_SERVE_COMPILE_H_

#include "core/status.h"
#include "serve/compiled_model.h"
#include "train/model_package.h"

namespace plinth {

// Compiles a package whose manifest and files are checked (ParseModelPackage / ReadModelPackage).
// Each kind reads its one model file:
//   xgboost    XGBoost JSON, or UBJSON (converted to JSON through the library). InvalidArgument
//              naming the problem for a booster other than gbtree, an objective other than
//              binary:logistic / reg:squarederror or one that contradicts the task, more than one
//              output group, categorical splits, a feature count that differs from the
//              preprocessing spec, and a corrupt tree (array sizes, child indices out of range or
//              shared, a feature index out of range), naming the tree and node.
//   logistic   the LogisticModel JSON; its features must be the spec's outputs.
//   scorecard  the Scorecard JSON. The package has no preprocessing spec (a scorecard bins raw
//              values); the compiled model gets one: numeric features as numbers, categorical
//              ones one-hot over the levels of their bins with an "other" output (rare and unseen
//              levels), so that a raw row preprocessed by spec() lands in the package's bins.
// InvalidArgument for an unknown kind; DataLoss for a model file the manifest lists but the
// package lacks; the model file's own errors (InvalidArgument) name the file.
StatusOr<CompiledModel> CompileModel(const ModelPackage& package);

}  // namespace plinth

#endif  // PLINTH_SERVE_COMPILE_H_
