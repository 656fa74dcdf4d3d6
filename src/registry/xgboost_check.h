// Structural check of an XGBoost model file (JSON or UBJSON, the schema XGBoost 1.7 writes) before
// the registry accepts it: a model whose trees point outside themselves, loop, or split on a
// feature the model does not have would crash or silently mis-score the runtime that loads it.
#ifndef PLINTH_REGISTRY_XGBOOST_CHECK_H_
#define PLINTH_REGISTRY_XGBOOST_CHECK_H_

#include <string_view>

#include "core/json.h"
#include "core/status.h"

namespace plinth::registry {

// True if `bytes` parse as JSON or UBJSON with a top-level "learner" object (the file claims to
// be an XGBoost model, so CheckXgboostModel decides whether it is a sound one).
bool LooksLikeXgboostModel(std::string_view bytes);

// Parses JSON or UBJSON and checks the model's structure: learner_model_param.num_feature,
// gradient booster gbtree or dart, tree count, per-tree array sizes, child indices in range, every
// node reached exactly once from the root, parents consistent, split features below num_feature,
// finite split conditions and weights, feature_names/feature_types if present.
// Returns {"format": "json"|"ubjson", "num_feature", "num_trees", "objective", "feature_names"},
// or InvalidArgument naming the tree and node at fault.
StatusOr<Json> CheckXgboostModel(std::string_view bytes);

}  // namespace plinth::registry

#endif  // PLINTH_REGISTRY_XGBOOST_CHECK_H_
