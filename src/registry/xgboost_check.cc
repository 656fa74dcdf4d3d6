#include "registry/xgboost_check.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace plinth::registry {
namespace {

// Debian's abseil has its own string_view, so std::string_view arguments go through here.
absl::string_view Av(std::string_view v) { return {v.data(), v.size()}; }
template <typename T>
const T& Av(const T& v) {
  return v;
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(Av(args)...);
}

constexpr int kMaxDepth = 64;

// nlohmann's UBJSON reader trusts declared container counts, so a few bytes can claim 2^62 nulls
// and exhaust memory. This walk checks the grammar and that every count fits in the bytes left
// before the reader sees the document.
class UbjsonPrecheck {
 public:
  explicit UbjsonPrecheck(std::string_view bytes) : b_(bytes) {}

  bool Run() { return Value(0) && pos_ == b_.size(); }

 private:
  bool Byte(char* c) {
    if (pos_ >= b_.size()) return false;
    *c = b_[pos_++];
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  // A length or count: an integer value with its own type marker.
  bool Count(uint64_t* n) {
    char marker;
    if (!Byte(&marker)) return false;
    return CountOfType(marker, n);
  }
  bool CountOfType(char marker, uint64_t* n) {
    size_t width;
    switch (marker) {
      case 'i':
      case 'U':
        width = 1;
        break;
      case 'I':
        width = 2;
        break;
      case 'l':
        width = 4;
        break;
      case 'L':
        width = 8;
        break;
      default:
        return false;
    }
    if (width > b_.size() - pos_) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += width;
    const bool is_signed = marker != 'U';
    if (is_signed && width < 8 && (v >> (width * 8 - 1)) & 1) return false;
    if (is_signed && width == 8 && (v >> 63)) return false;
    *n = v;
    return true;
  }
  bool Typed(char marker, int depth) {
    switch (marker) {
      case 'Z':
      case 'T':
      case 'F':
        return true;
      case 'i':
      case 'U':
      case 'C':
        return Skip(1);
      case 'I':
        return Skip(2);
      case 'l':
      case 'd':
        return Skip(4);
      case 'L':
      case 'D':
        return Skip(8);
      case 'S':
      case 'H': {
        uint64_t n;
        return Count(&n) && Skip(n);
      }
      case '[':
        return Container(false, depth + 1);
      case '{':
        return Container(true, depth + 1);
      default:
        return false;
    }
  }
  bool Value(int depth) {
    char marker;
    do {
      if (!Byte(&marker)) return false;
    } while (marker == 'N');
    return Typed(marker, depth);
  }
  bool Key() {
    uint64_t n;
    return Count(&n) && Skip(n);
  }
  bool Container(bool object, int depth) {
    if (depth > kMaxDepth) return false;
    char type = 0;
    uint64_t count = 0;
    bool counted = false;
    if (pos_ < b_.size() && b_[pos_] == '$') {
      ++pos_;
      if (!Byte(&type)) return false;
      // Zero-width element types would let a count stand for work without bytes.
      if (type == 'Z' || type == 'T' || type == 'F' || type == 'N') return false;
      if (pos_ >= b_.size() || b_[pos_] != '#') return false;
    }
    if (pos_ < b_.size() && b_[pos_] == '#') {
      ++pos_;
      if (!Count(&count)) return false;
      if (count > b_.size() - pos_) return false;
      counted = true;
    }
    if (counted) {
      for (uint64_t i = 0; i < count; ++i) {
        if (object && !Key()) return false;
        if (type != 0 ? !Typed(type, depth) : !Value(depth)) return false;
      }
      return true;
    }
    const char end = object ? '}' : ']';
    while (true) {
      if (pos_ >= b_.size()) return false;
      if (b_[pos_] == end) {
        ++pos_;
        return true;
      }
      if (b_[pos_] == 'N') {
        ++pos_;
        continue;
      }
      if (object && !Key()) return false;
      if (!Value(depth)) return false;
    }
  }

  std::string_view b_;
  size_t pos_ = 0;
};

struct Parsed {
  Json json;
  std::string format;
};

StatusOr<Parsed> ParseModel(std::string_view bytes) {
  size_t first = 0;
  while (first < bytes.size() && std::strchr(" \t\r\n", bytes[first]) != nullptr) ++first;
  if (first == bytes.size()) return absl::InvalidArgumentError("empty file");
  StatusOr<Json> text = ParseJson(bytes, kMaxDepth);
  if (text.ok()) return Parsed{*std::move(text), "json"};
  if (bytes[0] != '{') return text.status();
  if (!UbjsonPrecheck(bytes).Run()) {
    return absl::InvalidArgumentError("neither JSON nor well-formed UBJSON");
  }
  Json binary = Json::from_ubjson(bytes, /*strict=*/true, /*allow_exceptions=*/false);
  if (binary.is_discarded()) return absl::InvalidArgumentError("malformed UBJSON");
  return Parsed{std::move(binary), "ubjson"};
}

// XGBoost writes most scalar parameters as strings ("119"); accept either form.
StatusOr<int64_t> IntParam(const Json& parent, const char* key, std::string_view where) {
  auto it = parent.find(key);
  if (it == parent.end()) return absl::InvalidArgumentError(Cat(where, ".", key, " missing"));
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos) {
      return std::stoll(s);
    }
  }
  return absl::InvalidArgumentError(Cat(where, ".", key, " is not a non-negative integer"));
}

StatusOr<const Json*> Object(const Json& parent, const char* key, std::string_view where) {
  auto it = parent.find(key);
  if (it == parent.end() || !it->is_object()) {
    return absl::InvalidArgumentError(Cat(where, ".", key, " missing or not an object"));
  }
  return &*it;
}

StatusOr<const Json*> NodeArray(const Json& tree, const char* key, size_t nodes, int64_t t) {
  auto it = tree.find(key);
  if (it == tree.end() || !it->is_array()) {
    return absl::InvalidArgumentError(Cat("tree ", t, ": ", key, " missing or not an array"));
  }
  if (it->size() != nodes) {
    return absl::InvalidArgumentError(
        Cat("tree ", t, ": ", key, " has ", it->size(), " entries (tree has ", nodes, " nodes)"));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_number() && !(*it)[i].is_boolean()) {
      return absl::InvalidArgumentError(Cat("tree ", t, ": ", key, "[", i, "] is not a number"));
    }
  }
  return &*it;
}

int64_t AsInt(const Json& v) {
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_integer()) return v.get<int64_t>();
  const double d = v.get<double>();
  // A float index is only an index if it is integral; anything else maps to an impossible value.
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(d);
}

Status CheckTree(const Json& tree, int64_t t, int64_t num_feature) {
  if (!tree.is_object()) return absl::InvalidArgumentError(Cat("tree ", t, ": not an object"));
  ASSIGN_OR_RETURN(const Json* param, Object(tree, "tree_param", Cat("tree ", t)));
  ASSIGN_OR_RETURN(int64_t num_nodes,
                   IntParam(*param, "num_nodes", Cat("tree ", t, ".tree_param")));
  if (num_nodes < 1) return absl::InvalidArgumentError(Cat("tree ", t, ": no nodes"));
  const size_t n = static_cast<size_t>(num_nodes);
  ASSIGN_OR_RETURN(const Json* left, NodeArray(tree, "left_children", n, t));
  ASSIGN_OR_RETURN(const Json* right, NodeArray(tree, "right_children", n, t));
  ASSIGN_OR_RETURN(const Json* parents, NodeArray(tree, "parents", n, t));
  ASSIGN_OR_RETURN(const Json* split_indices, NodeArray(tree, "split_indices", n, t));
  ASSIGN_OR_RETURN(const Json* split_conditions, NodeArray(tree, "split_conditions", n, t));
  ASSIGN_OR_RETURN(const Json* default_left, NodeArray(tree, "default_left", n, t));
  ASSIGN_OR_RETURN(const Json* base_weights, NodeArray(tree, "base_weights", n, t));
  for (const char* optional : {"loss_changes", "sum_hessian", "split_type"}) {
    if (tree.contains(optional)) {
      RETURN_IF_ERROR(NodeArray(tree, optional, n, t).status());
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const double condition = (*split_conditions)[i].get<double>();
    const double weight = (*base_weights)[i].get<double>();
    if (!std::isfinite(condition)) {
      return absl::InvalidArgumentError(
          Cat("tree ", t, ": node ", i, "'s split condition is not finite"));
    }
    if (!std::isfinite(weight)) {
      return absl::InvalidArgumentError(
          Cat("tree ", t, ": node ", i, "'s base weight is not finite"));
    }
    const int64_t d = AsInt((*default_left)[i]);
    if (d != 0 && d != 1) {
      return absl::InvalidArgumentError(
          Cat("tree ", t, ": node ", i, "'s default_left is not 0 or 1"));
    }
  }
  // Walk from the root: a node reached twice is a cycle or a shared subtree, one never reached is
  // garbage the runtime would still trust.
  std::vector<bool> seen(n, false);
  std::vector<size_t> todo = {0};
  seen[0] = true;
  size_t reached = 1;
  while (!todo.empty()) {
    const size_t node = todo.back();
    todo.pop_back();
    const int64_t l = AsInt((*left)[node]);
    const int64_t r = AsInt((*right)[node]);
    if (l == -1 && r == -1) continue;  // leaf
    if (l == -1 || r == -1) {
      return absl::InvalidArgumentError(Cat("tree ", t, ": node ", node, " has one child only"));
    }
    const int64_t feature = AsInt((*split_indices)[node]);
    if (feature < 0 || feature >= num_feature) {
      return absl::InvalidArgumentError(Cat("tree ", t, ": node ", node, " splits on feature ",
                                            feature, " (model has ", num_feature, " features)"));
    }
    for (const auto& [side, child] : {std::pair{"left", l}, std::pair{"right", r}}) {
      if (child < 1 || child >= num_nodes) {
        return absl::InvalidArgumentError(Cat("tree ", t, ": node ", node, "'s ", side, " child ",
                                              child, " is out of range (tree has ", n, " nodes)"));
      }
      if (seen[child]) {
        return absl::InvalidArgumentError(Cat("tree ", t, ": node ", child,
                                              " is reached twice (from node ", node,
                                              "): the tree is not a tree"));
      }
      if (AsInt((*parents)[child]) != static_cast<int64_t>(node)) {
        return absl::InvalidArgumentError(Cat("tree ", t, ": node ", child, "'s parent is ",
                                              AsInt((*parents)[child]), ", expected ", node));
      }
      seen[child] = true;
      ++reached;
      todo.push_back(static_cast<size_t>(child));
    }
  }
  if (reached != n) {
    for (size_t i = 0; i < n; ++i) {
      if (!seen[i]) {
        return absl::InvalidArgumentError(
            Cat("tree ", t, ": node ", i, " is not reachable from the root"));
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<std::vector<std::string>> StringArray(const Json& learner, const char* key,
                                               int64_t num_feature) {
  std::vector<std::string> out;
  auto it = learner.find(key);
  if (it == learner.end()) return out;
  if (!it->is_array()) return absl::InvalidArgumentError(Cat("learner.", key, " is not an array"));
  if (!it->empty() && static_cast<int64_t>(it->size()) != num_feature) {
    return absl::InvalidArgumentError(
        Cat("learner.", key, " has ", it->size(), " entries, num_feature is ", num_feature));
  }
  for (const Json& v : *it) {
    if (!v.is_string())
      return absl::InvalidArgumentError(Cat("learner.", key, " holds a non-string"));
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

bool LooksLikeXgboostModel(std::string_view bytes) {
  StatusOr<Parsed> parsed = ParseModel(bytes);
  return parsed.ok() && parsed->json.is_object() && parsed->json.contains("learner");
}

StatusOr<Json> CheckXgboostModel(std::string_view bytes) {
  ASSIGN_OR_RETURN(Parsed parsed, ParseModel(bytes));
  const Json& root = parsed.json;
  if (!root.is_object()) return absl::InvalidArgumentError("model is not an object");
  ASSIGN_OR_RETURN(const Json* learner, Object(root, "learner", "model"));
  ASSIGN_OR_RETURN(const Json* model_param, Object(*learner, "learner_model_param", "learner"));
  ASSIGN_OR_RETURN(int64_t num_feature,
                   IntParam(*model_param, "num_feature", "learner.learner_model_param"));
  if (num_feature < 1) return absl::InvalidArgumentError("learner_model_param.num_feature is 0");
  ASSIGN_OR_RETURN(const Json* booster, Object(*learner, "gradient_booster", "learner"));
  auto name = booster->find("name");
  if (name == booster->end() || !name->is_string()) {
    return absl::InvalidArgumentError("learner.gradient_booster.name missing");
  }
  const Json* gbtree = booster;
  if (*name == "dart") {
    // DART wraps a gbtree and adds per-tree weights.
    ASSIGN_OR_RETURN(gbtree, Object(*booster, "gbtree", "learner.gradient_booster"));
  } else if (*name != "gbtree") {
    return absl::InvalidArgumentError(
        Cat("gradient booster ", name->dump(), " is not gbtree or dart"));
  }
  ASSIGN_OR_RETURN(const Json* model, Object(*gbtree, "model", "gradient_booster"));
  ASSIGN_OR_RETURN(const Json* gbtree_param, Object(*model, "gbtree_model_param", "model"));
  ASSIGN_OR_RETURN(int64_t num_trees, IntParam(*gbtree_param, "num_trees", "gbtree_model_param"));
  auto trees = model->find("trees");
  if (trees == model->end() || !trees->is_array()) {
    return absl::InvalidArgumentError("model.trees missing or not an array");
  }
  if (static_cast<int64_t>(trees->size()) != num_trees) {
    return absl::InvalidArgumentError(
        Cat("model has ", trees->size(), " trees, num_trees says ", num_trees));
  }
  auto tree_info = model->find("tree_info");
  if (tree_info != model->end() &&
      (!tree_info->is_array() || static_cast<int64_t>(tree_info->size()) != num_trees)) {
    return absl::InvalidArgumentError("model.tree_info does not have one entry per tree");
  }
  if (*name == "dart") {
    auto weights = booster->find("weight_drop");
    if (weights != booster->end() &&
        (!weights->is_array() || static_cast<int64_t>(weights->size()) != num_trees)) {
      return absl::InvalidArgumentError("dart weight_drop does not have one entry per tree");
    }
  }
  for (int64_t t = 0; t < num_trees; ++t) {
    RETURN_IF_ERROR(CheckTree((*trees)[t], t, num_feature));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> feature_names,
                   StringArray(*learner, "feature_names", num_feature));
  std::set<std::string> unique(feature_names.begin(), feature_names.end());
  if (unique.size() != feature_names.size()) {
    return absl::InvalidArgumentError("learner.feature_names are not unique");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> feature_types,
                   StringArray(*learner, "feature_types", num_feature));
  for (const std::string& type : feature_types) {
    if (type != "float" && type != "int" && type != "i" && type != "q" && type != "c") {
      return absl::InvalidArgumentError(Cat("unknown feature type \"", type, "\""));
    }
  }
  Json objective = nullptr;
  auto obj = learner->find("objective");
  if (obj != learner->end() && obj->is_object() && obj->contains("name") &&
      (*obj)["name"].is_string()) {
    objective = (*obj)["name"];
  }
  return Json{{"format", parsed.format},
              {"num_feature", num_feature},
              {"num_trees", num_trees},
              {"objective", objective},
              {"feature_names", feature_names}};
}

}  // namespace plinth::registry
