#include "serve/compile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "train/logistic.h"
#include "train/scorecard.h"
#include "train/xgboost_model.h"

namespace plinth {
namespace {

using Node = CompiledModel::Node;
using Parts = CompiledModel::Parts;

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

// Appends tree `t` to parts->nodes breadth-first, dropping nodes the root does not reach (pruned
// ones). Errors name the tree and node as XGBoost numbers them.
Status AddTree(const Json& tree, size_t t, size_t features, Parts* parts) {
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

  std::vector<Node>& nodes = parts->nodes;
  const uint32_t root = static_cast<uint32_t>(nodes.size());
  parts->roots.push_back(root);
  nodes.push_back({});
  std::vector<uint8_t> seen(n, 0);
  seen[0] = 1;
  // (node in JSON, compiled index)
  std::deque<std::pair<size_t, uint32_t>> queue = {{0, root}};
  while (!queue.empty()) {
    auto [i, at] = queue.front();
    queue.pop_front();
    const std::string node = where + " node " + std::to_string(i);
    if (left[i] == -1 || right[i] == -1) {
      if (left[i] != right[i]) return Invalid(node + " has one child");
      // XGBoost 1.7 keeps a leaf's value in split_conditions.
      if (!std::isfinite(cond[i])) return Invalid(node + ": leaf value is not finite");
      nodes[at] = {static_cast<float>(cond[i]), CompiledModel::kLeaf, 0};
      continue;
    }
    if (!IsIndex(left[i], n) || !IsIndex(right[i], n)) {
      return Invalid(node + ": child index out of range [0, " + std::to_string(n) + ")");
    }
    if (!IsIndex(feature[i], features)) {
      return Invalid(node + ": split feature out of range [0, " + std::to_string(features) + ")");
    }
    if (std::isnan(cond[i])) return Invalid(node + ": split threshold is NaN");
    const size_t l = static_cast<size_t>(left[i]), r = static_cast<size_t>(right[i]);
    // A node reached twice makes a cycle or a shared subtree: not a tree.
    if (seen[l] || seen[r] || l == r) return Invalid(node + ": a child is reached twice");
    seen[l] = seen[r] = 1;
    const uint32_t child = static_cast<uint32_t>(nodes.size());
    nodes.push_back({});
    nodes.push_back({});
    uint32_t bits = static_cast<uint32_t>(feature[i]);
    if (dleft[i] != 0) bits |= CompiledModel::kDefaultLeft;
    nodes[at] = {static_cast<float>(cond[i]), bits, child};
    queue.emplace_back(l, child);
    queue.emplace_back(r, child + 1);
  }
  return absl::OkStatus();
}

// The single model file of a package.
StatusOr<const std::string*> ModelFile(const ModelPackage& package, const std::string& kind) {
  std::vector<std::string> files = package.manifest.FilesWithRole(kModelRole);
  if (files.size() != 1) {
    return absl::InvalidArgumentError("a " + kind +
                                      " package has exactly one model file; this one has " +
                                      std::to_string(files.size()));
  }
  auto bytes = package.files.find(files[0]);
  if (bytes == package.files.end()) {
    return absl::DataLossError("model file \"" + files[0] + "\" is missing");
  }
  return &bytes->second;
}

StatusOr<CompiledModel> CompileXgboost(const ModelPackage& package) {
  Parts parts;
  parts.kind = CompiledKind::kXgboost;
  const ModelManifest& m = package.manifest;
  ASSIGN_OR_RETURN(const std::string* bytes, ModelFile(package, m.kind));
  if (!m.preprocess.has_value()) return Invalid("the package has no preprocessing spec");
  ASSIGN_OR_RETURN(Json json, ModelJson(*bytes));
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
  parts.binary = m.task == ModelTask::kBinaryClassification;
  const float score = static_cast<float>(base_score);
  if (parts.binary) {
    if (!(score > 0 && score < 1)) return Invalid("base_score must be in (0, 1) for binary");
    // RegLossObj::ProbToMargin for logistic loss, in float as XGBoost computes it.
    parts.base_margin = -std::log(1.0f / score - 1.0f);
  } else {
    if (!std::isfinite(score)) return Invalid("base_score is not finite");
    parts.base_margin = score;
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
  for (size_t t = 0; t < trees->size(); ++t) {
    RETURN_IF_ERROR(AddTree((*trees)[t], t, outputs, &parts));
  }
  parts.spec = *m.preprocess;
  return CompiledModel::FromParts(std::move(parts));
}

StatusOr<Json> ParseModelFile(const std::string& bytes, const std::string& kind) {
  StatusOr<Json> json = ParseJson(bytes);
  if (!json.ok()) return absl::InvalidArgumentError("the " + kind + " model is not JSON");
  return json;
}

StatusOr<CompiledModel> CompileLogistic(const ModelPackage& package) {
  const ModelManifest& m = package.manifest;
  if (!m.preprocess.has_value()) {
    return absl::InvalidArgumentError("a logistic package needs a preprocessing spec");
  }
  ASSIGN_OR_RETURN(const std::string* bytes, ModelFile(package, m.kind));
  ASSIGN_OR_RETURN(Json json, ParseModelFile(*bytes, m.kind));
  StatusOr<LogisticModel> model = LogisticModel::FromJson(json);
  if (!model.ok()) {
    return absl::InvalidArgumentError("logistic model: " + std::string(model.status().message()));
  }
  if (model->feature_names() != m.preprocess->OutputNames()) {
    return absl::InvalidArgumentError(
        "the logistic model's features differ from the preprocessing spec's outputs");
  }
  Parts parts;
  parts.kind = CompiledKind::kLogistic;
  parts.binary = true;
  parts.spec = *m.preprocess;
  parts.weights = model->coefficients();
  parts.centers = model->means();
  // The logit at the means, summed as LogisticModel does, so that every row's logit is the same
  // sum of the same terms.
  parts.intercept = model->intercept();
  for (size_t j = 0; j < parts.weights.size(); ++j) {
    parts.intercept += parts.weights[j] * parts.centers[j];
  }
  return CompiledModel::FromParts(std::move(parts));
}

StatusOr<CompiledModel> CompileScorecard(const ModelPackage& package) {
  const ModelManifest& m = package.manifest;
  ASSIGN_OR_RETURN(const std::string* bytes, ModelFile(package, m.kind));
  ASSIGN_OR_RETURN(Json json, ParseModelFile(*bytes, m.kind));
  StatusOr<Scorecard> card = Scorecard::FromJson(json);
  if (!card.ok()) {
    return absl::InvalidArgumentError("scorecard: " + std::string(card.status().message()));
  }
  Parts parts;
  parts.kind = CompiledKind::kScorecard;
  parts.binary = true;
  parts.intercept = card->intercept();
  Json features = Json::array();
  std::vector<std::string> outputs;
  uint32_t slot = 0;
  for (const ScorecardFeature& f : card->features()) {
    CompiledModel::ScorecardTerm term{};
    term.categorical = f.categorical ? 1 : 0;
    term.first_slot = slot;
    term.first_bin = static_cast<uint32_t>(parts.bin_logits.size());
    term.num_bins = static_cast<uint32_t>(f.bins.size());
    for (const ScorecardBin& bin : f.bins) {
      // The same product Scorecard::Logits adds.
      parts.bin_logits.push_back(f.coefficient * bin.woe);
      parts.bin_points.push_back(bin.points);
    }
    // Scorecard::FromJson has checked the bins' order: ranges (numeric) or levels then other
    // (categorical), then missing.
    if (!f.categorical) {
      term.num_slots = 1;
      term.first_edge = static_cast<uint32_t>(parts.edges.size());
      for (size_t b = 1; b + 1 < f.bins.size(); ++b) {
        // Rounded to nearest, so a value equal to the edge in double is equal to it in float.
        parts.edges.push_back(static_cast<float>(f.bins[b].lower));
      }
      features.push_back(
          {{"column", f.name}, {"type", ColumnTypeName(f.type)}, {"encoding", "numeric"}});
      outputs.push_back(f.name);
    } else {
      term.first_edge = static_cast<uint32_t>(parts.slot_bins.size());
      std::vector<std::string> levels;
      for (size_t b = 0; b + 2 < f.bins.size(); ++b) {
        for (const std::string& level : f.bins[b].levels) {
          levels.push_back(level);
          parts.slot_bins.push_back(static_cast<uint32_t>(b));
          outputs.push_back(f.name + "=" + level);
        }
      }
      // The "other" output: the other bin's rare levels and any level not seen in training.
      parts.slot_bins.push_back(static_cast<uint32_t>(f.bins.size() - 2));
      outputs.push_back(f.name + "=" + std::string(kOtherLevel));
      term.num_slots = static_cast<uint32_t>(levels.size() + 1);
      features.push_back({{"column", f.name},
                          {"type", ColumnTypeName(f.type)},
                          {"encoding", "one_hot"},
                          {"levels", levels},
                          {"other", true}});
    }
    slot += term.num_slots;
    parts.terms.push_back(term);
  }
  StatusOr<PreprocessSpec> spec = PreprocessSpec::FromJson(
      {{"format", PreprocessSpec::kFormat}, {"features", features}, {"outputs", outputs}});
  if (!spec.ok()) {
    return absl::InvalidArgumentError("scorecard: its bins make no preprocessing spec: " +
                                      std::string(spec.status().message()));
  }
  parts.spec = std::move(spec).value();
  return CompiledModel::FromParts(std::move(parts));
}

}  // namespace

StatusOr<CompiledModel> CompileModel(const ModelPackage& package) {
  const std::string& kind = package.manifest.kind;
  if (kind == kXgboostKind) return CompileXgboost(package);
  if (kind == kLogisticKind) return CompileLogistic(package);
  if (kind == kScorecardKind) return CompileScorecard(package);
  return absl::InvalidArgumentError("unknown model kind \"" + kind + "\"");
}

}  // namespace plinth
