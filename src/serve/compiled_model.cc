#include "serve/compiled_model.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "train/xgboost_model.h"

namespace plinth {
namespace {

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("xgboost model: " + message);
}

StatusOr<const Json*> Member(const Json& object, std::string_view path, const char* key) {
  if (!object.is_object()) return Invalid(std::string(path) + " is not an object");
  auto it = object.find(key);
  if (it == object.end()) return Invalid(std::string(path) + "." + key + " is missing");
  return &*it;
}

// XGBoost writes its model parameters as strings ("5E-1", "20").
StatusOr<double> NumberParam(const Json& object, std::string_view path, const char* key) {
  ASSIGN_OR_RETURN(const Json* value, Member(object, path, key));
  if (value->is_number()) return value->get<double>();
  if (value->is_string()) {
    const std::string& text = value->get_ref<const std::string&>();
    char* end = nullptr;
    double parsed = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) return parsed;
  }
  return Invalid(std::string(path) + "." + key + " is not a number");
}

// A tree's per-node array as doubles; `nodes` elements are required.
StatusOr<std::vector<double>> NodeArray(const Json& tree, const std::string& where, const char* key,
                                        size_t nodes) {
  ASSIGN_OR_RETURN(const Json* array, Member(tree, where, key));
  if (!array->is_array() || array->size() != nodes) {
    return Invalid(where + "." + key + " must be an array of " + std::to_string(nodes) +
                   " values (num_nodes)");
  }
  std::vector<double> out;
  out.reserve(nodes);
  for (const Json& v : *array) {
    if (v.is_boolean()) {
      out.push_back(v.get<bool>() ? 1 : 0);
    } else if (v.is_number()) {
      out.push_back(v.get<double>());
    } else {
      return Invalid(where + "." + key + " holds a value that is not a number");
    }
  }
  return out;
}

bool IsIndex(double v, size_t limit) {
  return v >= 0 && v < static_cast<double>(limit) && v == std::floor(v);
}

// The model as XGBoost JSON: parsed as is, or (UBJSON) converted by the library, which reads both.
StatusOr<Json> ModelJson(const std::string& bytes) {
  StatusOr<Json> parsed = ParseJson(bytes);
  if (parsed.ok()) return parsed;
  StatusOr<XgboostModel> model = XgboostModel::Load(bytes, 1);
  if (!model.ok())
    return Invalid("neither JSON nor a model XGBoost reads: " +
                   std::string(model.status().message()));
  ASSIGN_OR_RETURN(std::string json, model->SaveJson());
  return ParseJson(json);
}

}  // namespace

class CompiledModelBuilder {
 public:
  explicit CompiledModelBuilder(CompiledModel* model) : m_(model) {}

  // The xgboost kind's CompileModel.
  static StatusOr<CompiledModel> CompileXgboost(const ModelPackage& package);

  // Appends tree `t` breadth-first, dropping nodes the root does not reach (pruned ones).
  Status AddTree(const Json& tree, size_t t) {
    const std::string where = "trees[" + std::to_string(t) + "]";
    ASSIGN_OR_RETURN(const Json* param, Member(tree, where, "tree_param"));
    ASSIGN_OR_RETURN(double num_nodes_d, NumberParam(*param, where + ".tree_param", "num_nodes"));
    if (!IsIndex(num_nodes_d - 1, size_t{1} << 30)) {
      return Invalid(where + ".tree_param.num_nodes must be a positive integer");
    }
    const size_t n = static_cast<size_t>(num_nodes_d);
    ASSIGN_OR_RETURN(std::vector<double> left, NodeArray(tree, where, "left_children", n));
    ASSIGN_OR_RETURN(std::vector<double> right, NodeArray(tree, where, "right_children", n));
    ASSIGN_OR_RETURN(std::vector<double> feature, NodeArray(tree, where, "split_indices", n));
    ASSIGN_OR_RETURN(std::vector<double> cond, NodeArray(tree, where, "split_conditions", n));
    ASSIGN_OR_RETURN(std::vector<double> dleft, NodeArray(tree, where, "default_left", n));
    if (auto it = tree.find("split_type"); it != tree.end() && it->is_array()) {
      for (const Json& s : *it) {
        if (!s.is_number() || s.get<double>() != 0) {
          return Invalid(where + " has a categorical split, which the compiled form lacks");
        }
      }
    }

    const uint32_t root = static_cast<uint32_t>(m_->nodes_.size());
    m_->roots_.push_back(root);
    m_->nodes_.push_back({});
    std::vector<uint8_t> seen(n, 0);
    seen[0] = 1;
    // (node in JSON, compiled index, depth)
    std::deque<std::tuple<size_t, uint32_t, uint32_t>> queue = {{0, root, 0}};
    uint32_t depth = 0;
    while (!queue.empty()) {
      auto [i, at, d] = queue.front();
      queue.pop_front();
      depth = std::max(depth, d);
      const std::string node = where + " node " + std::to_string(i);
      if (left[i] == -1 || right[i] == -1) {
        if (left[i] != right[i]) return Invalid(node + " has one child");
        // XGBoost 1.7 keeps a leaf's value in split_conditions.
        if (!std::isfinite(cond[i])) return Invalid(node + ": leaf value is not finite");
        m_->nodes_[at] = {static_cast<float>(cond[i]), CompiledModel::kLeaf, 0};
        continue;
      }
      if (!IsIndex(left[i], n) || !IsIndex(right[i], n)) {
        return Invalid(node + ": child index out of range [0, " + std::to_string(n) + ")");
      }
      if (!IsIndex(feature[i], m_->num_features_)) {
        return Invalid(node + ": split feature out of range [0, " +
                       std::to_string(m_->num_features_) + ")");
      }
      if (std::isnan(cond[i])) return Invalid(node + ": split threshold is NaN");
      const size_t l = static_cast<size_t>(left[i]), r = static_cast<size_t>(right[i]);
      // A node reached twice makes a cycle or a shared subtree: not a tree.
      if (seen[l] || seen[r] || l == r) return Invalid(node + ": a child is reached twice");
      seen[l] = seen[r] = 1;
      const uint32_t child = static_cast<uint32_t>(m_->nodes_.size());
      m_->nodes_.push_back({});
      m_->nodes_.push_back({});
      uint32_t bits = static_cast<uint32_t>(feature[i]);
      if (dleft[i] != 0) bits |= CompiledModel::kDefaultLeft;
      m_->nodes_[at] = {static_cast<float>(cond[i]), bits, child};
      queue.emplace_back(l, child, d + 1);
      queue.emplace_back(r, child + 1, d + 1);
    }
    m_->depths_.push_back(depth);
    return absl::OkStatus();
  }

 private:
  CompiledModel* m_;
};

namespace {

// One step down a tree from node `i` for row `x`, as XGBoost's RegTree::GetNext decides it
// (value < threshold: left; NaN: the default side), written without branches so the compiler
// emits conditional moves: tree paths are data-dependent and would mispredict. A leaf stays put,
// so a tree can be walked a fixed number of steps (its depth) in lockstep with others.
inline uint32_t Step(const CompiledModel::Node* nodes, uint32_t i, const float* x) {
  const CompiledModel::Node n = nodes[i];
  const float v = x[n.feature & CompiledModel::kFeatureMask];  // a leaf reads feature 0
  const uint32_t lt = v < n.value;
  const uint32_t ge = v >= n.value;  // both false for NaN
  const uint32_t default_right = (n.feature & CompiledModel::kDefaultLeft) ? 0 : 1;
  const uint32_t next = n.left + (ge | (((lt | ge) ^ 1) & default_right));
  return (n.feature & CompiledModel::kLeaf) ? i : next;
}

// Walks kLanes (tree, row) pairs together: the walks are independent chains of loads, so running
// them interleaved hides each load's latency behind the others'.
constexpr int kLanes = 8;

inline void WalkLanes(const CompiledModel::Node* nodes, uint32_t (&at)[kLanes],
                      const float* const (&x)[kLanes], uint32_t depth) {
  for (uint32_t d = 0; d < depth; ++d) {
    for (int k = 0; k < kLanes; ++k) at[k] = Step(nodes, at[k], x[k]);
  }
}

}  // namespace

float CompiledModel::Transform(float margin) const {
  // XGBoost's float sigmoid (common::Sigmoid), so probabilities round as the library's do.
  return binary_ ? 1.0f / (1.0f + std::exp(-margin)) : margin;
}

float CompiledModel::PredictMarginRow(std::span<const float> features) const {
  const float* x = features.data();
  const Node* nodes = nodes_.data();
  const size_t trees = roots_.size();
  // Float, in tree order, from the base margin: the CPU predictor's order of additions. Trees are
  // walked kLanes at a time, but their leaves are still added one by one in order.
  float sum = base_margin_;
  size_t t = 0;
  const float* const xs[kLanes] = {x, x, x, x, x, x, x, x};
  for (; t + kLanes <= trees; t += kLanes) {
    uint32_t at[kLanes];
    uint32_t depth = 0;
    for (int k = 0; k < kLanes; ++k) {
      at[k] = roots_[t + k];
      depth = std::max(depth, depths_[t + k]);
    }
    WalkLanes(nodes, at, xs, depth);
    for (int k = 0; k < kLanes; ++k) sum += nodes[at[k]].value;
  }
  for (; t < trees; ++t) {
    uint32_t at = roots_[t];
    for (uint32_t d = 0; d < depths_[t]; ++d) at = Step(nodes, at, x);
    sum += nodes[at].value;
  }
  return sum;
}

double CompiledModel::PredictRow(std::span<const float> features) const {
  return Transform(PredictMarginRow(features));
}

void CompiledModel::PredictBatch(const float* rows, size_t n, size_t stride, double* out) const {
  // Tree-major within a block: one tree's nodes serve every row of the block while hot in cache,
  // kLanes rows walking it together. Each row still adds its trees in tree order, so results
  // equal PredictRow's bit for bit.
  constexpr size_t kBlock = 256;
  float sums[kBlock];
  const Node* nodes = nodes_.data();
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t count = std::min(kBlock, n - begin);
    const float* block = rows + begin * stride;
    for (size_t r = 0; r < count; ++r) sums[r] = base_margin_;
    for (size_t t = 0; t < roots_.size(); ++t) {
      const uint32_t root = roots_[t], depth = depths_[t];
      size_t r = 0;
      for (; r + kLanes <= count; r += kLanes) {
        uint32_t at[kLanes];
        const float* xs[kLanes];
        for (int k = 0; k < kLanes; ++k) {
          at[k] = root;
          xs[k] = block + (r + k) * stride;
        }
        WalkLanes(nodes, at, xs, depth);
        for (int k = 0; k < kLanes; ++k) sums[r + k] += nodes[at[k]].value;
      }
      for (; r < count; ++r) {
        uint32_t at = root;
        for (uint32_t d = 0; d < depth; ++d) at = Step(nodes, at, block + r * stride);
        sums[r] += nodes[at].value;
      }
    }
    for (size_t r = 0; r < count; ++r) out[begin + r] = Transform(sums[r]);
  }
}

StatusOr<double> CompiledModel::PredictJsonRow(const Json& row, std::span<float> buffer) const {
  RETURN_IF_ERROR(spec_.ApplyRow(row, buffer));
  return PredictRow(buffer);
}

StatusOr<double> CompiledModel::PredictJsonRow(const Json& row) const {
  std::vector<float> buffer(num_features_);
  return PredictJsonRow(row, buffer);
}

StatusOr<CompiledModel> CompiledModelBuilder::CompileXgboost(const ModelPackage& package) {
  CompiledModel model;
  const ModelManifest& m = package.manifest;
  std::vector<std::string> files = m.FilesWithRole(kModelRole);
  if (files.size() != 1) {
    return Invalid("an xgboost package has exactly one model file; this one has " +
                   std::to_string(files.size()));
  }
  if (!m.preprocess.has_value()) return Invalid("the package has no preprocessing spec");
  auto bytes = package.files.find(files[0]);
  if (bytes == package.files.end()) {
    return absl::DataLossError("model file \"" + files[0] + "\" is missing");
  }
  ASSIGN_OR_RETURN(Json json, ModelJson(bytes->second));
  ASSIGN_OR_RETURN(const Json* learner, Member(json, "model", "learner"));
  ASSIGN_OR_RETURN(const Json* booster, Member(*learner, "learner", "gradient_booster"));
  ASSIGN_OR_RETURN(const Json* booster_name, Member(*booster, "gradient_booster", "name"));
  if (!booster_name->is_string() || *booster_name != "gbtree") {
    return Invalid("booster " + DumpJson(*booster_name) + " is not compiled (only gbtree)");
  }
  ASSIGN_OR_RETURN(const Json* params, Member(*learner, "learner", "learner_model_param"));
  ASSIGN_OR_RETURN(double base_score, NumberParam(*params, "learner_model_param", "base_score"));
  ASSIGN_OR_RETURN(double num_feature, NumberParam(*params, "learner_model_param", "num_feature"));
  if (auto it = params->find("num_class"); it != params->end()) {
    ASSIGN_OR_RETURN(double num_class, NumberParam(*params, "learner_model_param", "num_class"));
    if (num_class > 1) return Invalid("multi-class models are not compiled");
  }
  ASSIGN_OR_RETURN(const Json* objective, Member(*learner, "learner", "objective"));
  ASSIGN_OR_RETURN(const Json* objective_name, Member(*objective, "objective", "name"));
  const std::string expected = m.task == ModelTask::kBinaryClassification
                                   ? XgboostObjectiveName(XgboostObjective::kBinaryLogistic)
                                   : XgboostObjectiveName(XgboostObjective::kSquaredError);
  if (!objective_name->is_string() || *objective_name != expected) {
    return Invalid("objective " + DumpJson(*objective_name) + " does not fit task " +
                   ModelTaskName(m.task) + " (expected " + expected + ")");
  }
  const size_t outputs = m.preprocess->num_outputs();
  if (num_feature != static_cast<double>(outputs)) {
    return Invalid("num_feature " + DumpJson(params->at("num_feature")) +
                   " differs from the preprocessing spec's " + std::to_string(outputs) +
                   " outputs");
  }
  if (auto it = learner->find("feature_names");
      it != learner->end() && it->is_array() && !it->empty()) {
    if (*it != Json(m.preprocess->OutputNames())) {
      return Invalid("feature_names differ from preprocess.outputs");
    }
  }
  model.num_features_ = outputs;
  model.binary_ = m.task == ModelTask::kBinaryClassification;
  const float score = static_cast<float>(base_score);
  if (model.binary_) {
    if (!(score > 0 && score < 1)) return Invalid("base_score must be in (0, 1) for binary");
    // RegLossObj::ProbToMargin for logistic loss, in float as XGBoost computes it.
    model.base_margin_ = -std::log(1.0f / score - 1.0f);
  } else {
    if (!std::isfinite(score)) return Invalid("base_score is not finite");
    model.base_margin_ = score;
  }

  ASSIGN_OR_RETURN(const Json* inner, Member(*booster, "gradient_booster", "model"));
  ASSIGN_OR_RETURN(const Json* trees, Member(*inner, "gradient_booster.model", "trees"));
  if (!trees->is_array()) return Invalid("gradient_booster.model.trees is not an array");
  if (auto it = inner->find("tree_info"); it != inner->end() && it->is_array()) {
    if (it->size() != trees->size()) return Invalid("tree_info and trees differ in length");
    for (const Json& group : *it) {
      if (!group.is_number() || group.get<double>() != 0) {
        return Invalid("tree_info names an output group other than 0");
      }
    }
  }
  CompiledModelBuilder builder(&model);
  for (size_t t = 0; t < trees->size(); ++t) {
    RETURN_IF_ERROR(builder.AddTree((*trees)[t], t));
  }
  model.spec_ = *m.preprocess;
  return model;
}

StatusOr<CompiledModel> CompileModel(const ModelPackage& package) {
  const std::string& kind = package.manifest.kind;
  if (kind == kXgboostKind) return CompiledModelBuilder::CompileXgboost(package);
  if (kind == kLogisticKind || kind == kScorecardKind) {
    return absl::UnimplementedError("compiling a " + kind +
                                    " package is not implemented yet (only xgboost)");
  }
  return absl::InvalidArgumentError("unknown model kind \"" + kind + "\"");
}

}  // namespace plinth
