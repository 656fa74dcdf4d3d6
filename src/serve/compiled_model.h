// Models compiled for fast in-process scoring: a package's trees turned into one flat array of
// 12-byte nodes (breadth-first per tree, siblings adjacent), evaluated without the XGBoost library
// with several tree walks interleaved and no data-dependent branches (docs/serving.md).
//
// Equality: the compiled form computes what XGBoost 1.7's CPU predictor computes, in the same
// order and precision: per row, a float sum that starts at the base margin and adds each tree's
// leaf in tree order; a split sends a row left when value < threshold (float compare) and a
// missing value (NaN) to the node's default side; binary:logistic then applies the float sigmoid.
// The tests check the outputs against XGBoost's on every row of the data to 1e-6.
//
// Only the xgboost kind with the gbtree booster, numeric splits and one output group compiles
// today; logistic and scorecard packages are Unimplemented, dart and other boosters
// InvalidArgument.
//
// A CompiledModel is immutable after CompileModel: every method is const and safe to call from
// any number of threads at once.
#ifndef PLINTH_SERVE_COMPILED_MODEL_H_
#define PLINTH_SERVE_COMPILED_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "train/model_package.h"
#include "train/preprocess.h"

namespace plinth {

class CompiledModel {
 public:
  // A tree node. Children of a node are adjacent (right == left + 1), so one index locates both
  // and the step to the next node is branch-free arithmetic.
  struct Node {
    float value;       // split threshold, or the leaf's value
    uint32_t feature;  // feature index with kDefaultLeft / kLeaf flags in the top bits
    uint32_t left;     // index of the left child in nodes_ (leaves: unused)
  };
  static constexpr uint32_t kLeaf = 1u << 31;
  static constexpr uint32_t kDefaultLeft = 1u << 30;
  static constexpr uint32_t kFeatureMask = kDefaultLeft - 1;

  // Number of preprocessed features a row has (the model's num_feature).
  size_t num_features() const { return num_features_; }
  size_t num_trees() const { return roots_.size(); }
  size_t num_nodes() const { return nodes_.size(); }
  // Whether outputs are probabilities (binary:logistic) rather than regression values.
  bool binary() const { return binary_; }

  // The primary output for one preprocessed row (num_features() floats, NaN missing; checked in
  // debug builds). Allocates nothing.
  double PredictRow(std::span<const float> features) const;
  // The margin (log-odds for binary, the value for regression) of one preprocessed row.
  float PredictMarginRow(std::span<const float> features) const;
  // `n` rows starting at `rows`, row i at rows + i * stride (stride >= num_features()), outputs
  // to out[0..n). Evaluates blocks of rows tree by tree, so a tree stays in cache for the block.
  void PredictBatch(const float* rows, size_t n, size_t stride, double* out) const;

  // One raw row as Scorer::PredictRow takes it ({column: value}), preprocessed by the package's
  // spec. InvalidArgument for a row the spec refuses.
  StatusOr<double> PredictJsonRow(const Json& row) const;
  // The same with a caller-provided buffer of num_features() floats (no allocation beyond what
  // the spec's parsing of `row` needs).
  StatusOr<double> PredictJsonRow(const Json& row, std::span<float> buffer) const;

 private:
  friend StatusOr<CompiledModel> CompileModel(const ModelPackage& package);
  friend class CompiledModelBuilder;

  float Transform(float margin) const;

  std::vector<Node> nodes_;
  std::vector<uint32_t> roots_;
  std::vector<uint32_t> depths_;  // per tree: steps from the root to its deepest leaf
  float base_margin_ = 0;
  bool binary_ = false;
  size_t num_features_ = 0;
  PreprocessSpec spec_;
};

// Compiles a package whose manifest and files are checked (ParseModelPackage / ReadModelPackage).
// xgboost: the one model file, XGBoost JSON or UBJSON (converted to JSON through the library).
// InvalidArgument naming the problem for a booster other than gbtree, an objective other than
// binary:logistic / reg:squarederror or one that contradicts the task, more than one output group,
// categorical splits, a feature count that differs from the preprocessing spec, and a corrupt tree
// (array sizes, child indices out of range or shared, a feature index out of range). Unimplemented
// for the logistic and scorecard kinds.
StatusOr<CompiledModel> CompileModel(const ModelPackage& package);

}  // namespace plinth

#endif  // PLINTH_SERVE_COMPILED_MODEL_H_
