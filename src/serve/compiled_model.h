// Models compiled for fast in-process scoring, evaluated without the XGBoost library or the model
// package's code (docs/serving.md). Three kinds, as the package kinds:
//   xgboost    the trees in one flat array of 12-byte nodes (breadth-first per tree, siblings
//              adjacent), evaluated with no data-dependent branches; with AVX2 or AVX-512,
//              several trees per instruction for a single row, and 64 rows per split decision
//              for batches (docs/serving.md, "Kernels").
//   logistic   a linear form: logit = intercept + sum_j (x_j missing ? 0 : w_j * (x_j - c_j)),
//              then the sigmoid.
//   scorecard  per kept feature a table of bins: a numeric feature's bin from its edges, a
//              categorical one's from its one-hot slots; logit = alpha + sum of the bins' beta *
//              WoE, score = sum of the bins' points.
// Every kind reads a preprocessed row: num_features() floats as its PreprocessSpec (spec())
// writes them, NaN missing.
//
// Equality with the package's own scorer (LoadScorer), which the tests check on every row of the
// lending_club data to 1e-6 (the largest difference is 0):
// - xgboost computes what XGBoost 1.7's CPU predictor computes, in the same order and precision:
//   per row, a float sum that starts at the base margin and adds each tree's leaf in tree order; a
//   split sends a row left when value < threshold (float compare) and a missing value (NaN) to
//   the node's default side; binary:logistic then applies the float sigmoid.
// - logistic computes the logit in double in the package's order, then its double sigmoid
//   rounded to float, as LogisticModel::Predict does.
// - scorecard adds the same double terms in the package's order. Its numeric bins compare the
//   preprocessed (float) value with the bin edges rounded to float: a raw value that differs
//   from an edge by less than half a float step (about 6e-8 relative, or an integer beyond 2^24)
//   can fall in the edge's bin where the package, comparing doubles, picks the one below.
// Every kernel (CompiledKernel) gives bit-identical outputs, and PredictRow equals PredictBatch
// bit for bit.
//
// A CompiledModel is immutable once built: every method is const and safe to call from any number
// of threads at once. It is built by CompileModel (serve/compile.h, from a model package) or
// LoadCompiledModel (serve/compiled_format.h, from its file), both through FromParts, so a model
// read from a file passes every check a compiled one does.
#ifndef PLINTH_SERVE_COMPILED_MODEL_H_
#define PLINTH_SERVE_COMPILED_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "train/preprocess.h"

namespace plinth {

namespace compiled_internal {
struct TreeKernels;  // compiled_model.cc
}  // namespace compiled_internal

// The model kinds that compile, numbered as in the file format (docs/formats/compiled-model.md).
enum class CompiledKind : uint32_t { kXgboost = 1, kLogistic = 2, kScorecard = 3 };
// "xgboost", "logistic", "scorecard": the package kinds they come from.
std::string_view CompiledKindName(CompiledKind kind);

// How trees are evaluated. Every kernel computes the same bits; they differ in speed only.
enum class CompiledKernel {
  kAuto,      // the best one this machine runs (BestCompiledKernel)
  kPortable,  // plain C++, any x86-64 or other CPU
  kAvx2,      // 8 lanes (x86-64 with AVX2)
  kAvx512,    // 16 lanes (x86-64 with AVX-512 F, DQ, BW, VL)
};
// "auto", "portable", "avx2", "avx512".
std::string_view CompiledKernelName(CompiledKernel kernel);
// Whether this CPU (and this build) runs `kernel`; kAuto and kPortable always. A kernel asked
// for but not supported runs as the best supported one below it (kAvx512 -> kAvx2 -> kPortable).
bool CompiledKernelSupported(CompiledKernel kernel);
// The kernel kAuto stands for: the widest one supported, decided once per process.
CompiledKernel BestCompiledKernel();

class CompiledModel {
 public:
  // A tree node. Children of a node are adjacent (right == left + 1), so one index locates both
  // and the step to the next node is branch-free arithmetic.
  struct Node {
    float value;       // split threshold, or the leaf's value
    uint32_t feature;  // feature index with kDefaultLeft / kLeaf flags in the top bits
    uint32_t left;     // index of the left child in nodes (leaves: 0)
  };
  static constexpr uint32_t kLeaf = 1u << 31;
  static constexpr uint32_t kDefaultLeft = 1u << 30;
  static constexpr uint32_t kFeatureMask = kDefaultLeft - 1;

  // One kept feature of a scorecard and where its bins are.
  struct ScorecardTerm {
    uint32_t categorical;  // 0: numeric (one slot, binned by edges); 1: one-hot slots
    uint32_t first_slot;   // the first preprocessed feature it reads
    uint32_t num_slots;    // numeric: 1; categorical: its one-hot outputs
    uint32_t first_bin;    // into bin_logits / bin_points
    uint32_t num_bins;     // >= 2, the last one for a missing value
    uint32_t first_edge;   // numeric: into edges (num_bins - 2 of them); categorical: into
                           // slot_bins (num_slots of them)
  };

  // Everything a compiled model is made of: what the compiler produces, the file stores, and
  // FromParts checks. Members of other kinds stay empty (zero).
  struct Parts {
    CompiledKind kind = CompiledKind::kXgboost;
    // Outputs are probabilities (sigmoid of the margin) rather than the margin itself.
    bool binary = false;
    // How raw rows become the num_outputs() floats every method reads.
    PreprocessSpec spec;

    // xgboost: per row, base_margin + the leaf of each tree, added in float in tree order. Tree t
    // is nodes[roots[t] .. roots[t + 1]) (the last one to the end), breadth-first from its root:
    // every child comes after its parent and every node but the root is a child of exactly one
    // node in its tree.
    float base_margin = 0;
    std::vector<Node> nodes;
    std::vector<uint32_t> roots;

    // logistic: logit = intercept + sum_j (x_j is NaN ? 0 : weights[j] * ((double)x_j -
    // centers[j])), in double, in order; intercept is the logit at the centers (the feature
    // means).
    // scorecard: logit = intercept (alpha) + the bin_logits (beta * WoE) of each term's bin.
    double intercept = 0;
    std::vector<double> weights;
    std::vector<double> centers;

    // scorecard. A numeric term's bin is the number of its edges <= x (edges ascending), or the
    // last bin for NaN; a categorical term's is slot_bins[first_edge + s] for the first of its
    // slots s holding a value >= 0.5, else the last bin. Terms tile bins, edges and slot_bins
    // in order.
    std::vector<ScorecardTerm> terms;
    std::vector<float> edges;
    std::vector<uint32_t> slot_bins;
    std::vector<double> bin_logits;  // beta * WoE, as the package computes it
    std::vector<double> bin_points;  // the points table's entries (score = their sum)
  };

  // The model of `parts` after checking everything a corrupt or hostile input could get wrong,
  // so that no later call reads out of bounds or loops: counts and array sizes that agree, tree
  // ranges, child indices in range, after their parent and reached once (no cycles, no shared
  // nodes), feature and slot indices < num_features, no NaN threshold or edge, finite leaf values
  // and coefficients, ascending edges, a spec whose outputs number num_features.
  // InvalidArgument naming the first problem (and the tree and node, or term).
  static StatusOr<CompiledModel> FromParts(Parts parts);

  // No trees and no features, for assigning to; use FromParts, CompileModel or
  // LoadCompiledModel.
  CompiledModel() = default;

  const Parts& parts() const { return parts_; }
  CompiledKind kind() const { return parts_.kind; }
  const PreprocessSpec& spec() const { return parts_.spec; }
  // Number of preprocessed features a row has (the spec's outputs).
  size_t num_features() const { return num_features_; }
  // xgboost: trees and nodes; 0 for other kinds.
  size_t num_trees() const { return parts_.roots.size(); }
  size_t num_nodes() const { return parts_.nodes.size(); }
  // Whether outputs are probabilities rather than regression values.
  bool binary() const { return parts_.binary; }

  // The primary output (probability or prediction) for one preprocessed row (num_features()
  // floats, NaN missing; the size is checked in debug builds). Allocates nothing.
  double PredictRow(std::span<const float> features,
                    CompiledKernel kernel = CompiledKernel::kAuto) const;
  // The margin (log-odds for binary, the value for regression) of one preprocessed row: float
  // precision for xgboost, double for the linear kinds.
  double PredictMarginRow(std::span<const float> features,
                          CompiledKernel kernel = CompiledKernel::kAuto) const;
  // `n` rows starting at `rows`, row i at rows + i * stride (stride >= num_features()), outputs
  // to out[0..n). Trees are evaluated for blocks of rows tree by tree, so a tree stays in cache
  // for the block; with AVX2 / AVX-512 a split is decided for 64 rows at once (from a transposed
  // copy of the block in a buffer each thread allocates once). Equal bit for bit to PredictRow on
  // each row.
  void PredictBatch(const float* rows, size_t n, size_t stride, double* out,
                    CompiledKernel kernel = CompiledKernel::kAuto) const;
  // Scorecards only (checked in debug builds): the "score" output, the sum of the row's points
  // as in the package's points table.
  double PredictScoreRow(std::span<const float> features) const;

  // One raw row as Scorer::PredictRow takes it ({column: value}), preprocessed by spec(). A
  // column left out counts as missing. InvalidArgument for a row the spec refuses.
  StatusOr<double> PredictJsonRow(const Json& row) const;
  // The same with a caller-provided buffer of num_features() floats (no allocation beyond what
  // the spec's parsing of `row` needs).
  StatusOr<double> PredictJsonRow(const Json& row, std::span<float> buffer) const;

 private:
  double LinearMargin(const float* x) const;
  double ScorecardMargin(const float* x) const;
  uint32_t ScorecardBin(const ScorecardTerm& term, const float* x) const;
  double Transform(double margin) const;

  Parts parts_;
  size_t num_features_ = 0;
  // The trees in the layouts the kernels read, derived from parts_ by FromParts and never
  // changed (so copies share them); null for other kinds.
  std::shared_ptr<const compiled_internal::TreeKernels> trees_;
};

// Defined in plinth_serve (serve/compile.h), which links the package code and XGBoost.
struct ModelPackage;
StatusOr<CompiledModel> CompileModel(const ModelPackage& package);

}  // namespace plinth

#endif  // PLINTH_SERVE_COMPILED_MODEL_H_
