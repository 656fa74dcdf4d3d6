#include "train/xgboost_model.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <set>
#include <utility>

namespace plinth {
namespace {

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

// XGBGetLastError() as one line: without the "[hh:mm:ss] file:line: " prefix and the stack trace
// that XGBoost appends to fatal errors, which mean nothing to a Plinth user.
std::string LastError() {
  std::string message = XGBGetLastError();
  if (size_t trace = message.find("Stack trace:"); trace != std::string::npos) {
    message.resize(trace);
  }
  if (!message.empty() && message[0] == '[') {
    if (size_t close = message.find("] "); close != std::string::npos) {
      message.erase(0, close + 2);
      // "path/file.cc:123: "
      size_t colon = message.find(": ");
      size_t space = message.find(' ');
      if (colon != std::string::npos && colon < space) {
        size_t digits = message.rfind(':', colon - 1);
        if (digits != std::string::npos && digits + 1 < colon &&
            std::all_of(message.begin() + static_cast<ptrdiff_t>(digits + 1),
                        message.begin() + static_cast<ptrdiff_t>(colon),
                        [](char c) { return c >= '0' && c <= '9'; })) {
          message.erase(0, colon + 2);
        }
      }
    }
  }
  std::replace(message.begin(), message.end(), '\n', ' ');
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message.empty() ? "unknown XGBoost error" : message;
}

// OK if the C API call returned 0; else an error of `code` naming the call.
Status Check(int rc, std::string_view what, absl::StatusCode code = absl::StatusCode::kInternal) {
  if (rc == 0) return absl::OkStatus();
  return Status(code, "XGBoost " + std::string(what) + ": " + LastError());
}

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// The free functions' return codes go unchecked: a destructor cannot report them, and XGBoost fails
// them only for a null handle, which never gets here.
struct DMatrixDeleter {
  void operator()(void* handle) const {
    if (handle != nullptr) XGDMatrixFree(handle);
  }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixDeleter>;

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

bool Maximized(const std::string& metric) { return metric == "auc" || metric == "aucpr"; }

std::string DefaultMetric(XgboostObjective objective) {
  return objective == XgboostObjective::kBinaryLogistic ? "logloss" : "rmse";
}

// The metric's value in XGBoosterEvalOneIter's "[3]\tvalid-auc:0.8123"; NaN if absent.
double ParseEval(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::numeric_limits<double>::quiet_NaN();
  std::string value(text.substr(colon + 1));
  char* end = nullptr;
  double v = std::strtod(value.c_str(), &end);
  if (end == value.c_str()) return std::numeric_limits<double>::quiet_NaN();
  return v;
}

Status CheckData(const TrainingData& data, const char* what, XgboostObjective objective) {
  const std::string name = what;
  if (data.features == nullptr) return Invalid(name + " data has no feature matrix");
  const Matrix& m = *data.features;
  if (m.rows == 0 || m.cols == 0) return Invalid(name + " data is empty");
  if (m.values.size() != m.rows * m.cols) {
    return Invalid(name + " matrix holds " + std::to_string(m.values.size()) + " values, not " +
                   std::to_string(m.rows) + " x " + std::to_string(m.cols));
  }
  if (!m.feature_names.empty() && m.feature_names.size() != m.cols) {
    return Invalid(name + " matrix has " + std::to_string(m.feature_names.size()) +
                   " feature names for " + std::to_string(m.cols) + " columns");
  }
  if (data.labels.size() != m.rows) {
    return Invalid(name + " data has " + std::to_string(data.labels.size()) + " labels for " +
                   std::to_string(m.rows) + " rows");
  }
  if (!data.weights.empty() && data.weights.size() != m.rows) {
    return Invalid(name + " data has " + std::to_string(data.weights.size()) + " weights for " +
                   std::to_string(m.rows) + " rows");
  }
  size_t positives = 0;
  for (size_t i = 0; i < data.labels.size(); ++i) {
    float y = data.labels[i];
    if (!std::isfinite(y))
      return Invalid(name + " label at row " + std::to_string(i) + " is not finite");
    if (objective == XgboostObjective::kBinaryLogistic) {
      if (y != 0.0f && y != 1.0f) {
        return Invalid(name + " label at row " + std::to_string(i) + " is " + Number(y) +
                       "; binary labels are 0 or 1");
      }
      positives += y == 1.0f;
    }
  }
  if (objective == XgboostObjective::kBinaryLogistic && std::string(what) == "training" &&
      (positives == 0 || positives == data.labels.size())) {
    return Invalid("training labels hold only one class");
  }
  double total = 0;
  for (size_t i = 0; i < data.weights.size(); ++i) {
    float w = data.weights[i];
    if (!std::isfinite(w) || w < 0) {
      return Invalid(name + " weight at row " + std::to_string(i) + " is " + Number(w) +
                     "; weights are finite and >= 0");
    }
    total += w;
  }
  if (!data.weights.empty() && total <= 0) return Invalid(name + " weights are all zero");
  return absl::OkStatus();
}

// "(0,1,-1,...)" for XGBoost, with the constraints mapped from names to positions.
StatusOr<std::string> MonotoneConstraints(const XgboostParams& params, const Matrix& m) {
  std::vector<int> directions(m.cols, 0);
  for (const auto& [name, direction] : params.monotone_constraints) {
    auto it = std::find(m.feature_names.begin(), m.feature_names.end(), name);
    if (it != m.feature_names.end()) {
      size_t i = static_cast<size_t>(it - m.feature_names.begin());
      if (i < m.one_hot.size() && m.one_hot[i]) {
        return Invalid("monotone constraint on " + Quoted(name) +
                       ": it is one level of the one-hot encoded column " +
                       Quoted(m.source_columns[i]) +
                       "; monotone constraints apply to numeric features only");
      }
      directions[i] = direction;
      continue;
    }
    for (size_t i = 0; i < m.source_columns.size(); ++i) {
      if (m.source_columns[i] == name && i < m.one_hot.size() && m.one_hot[i]) {
        return Invalid("monotone constraint on " + Quoted(name) +
                       ": the column is one-hot encoded (categorical); monotone constraints "
                       "apply to numeric features only");
      }
    }
    return Invalid("monotone constraint on " + Quoted(name) + ": no feature has that name");
  }
  std::string out = "(";
  for (size_t i = 0; i < directions.size(); ++i) {
    out += (i ? "," : "") + std::to_string(directions[i]);
  }
  return out + ")";
}

StatusOr<DMatrixPtr> MakeDMatrix(const TrainingData& data, int nthread) {
  const Matrix& m = *data.features;
  void* handle = nullptr;
  RETURN_IF_ERROR(
      Check(XGDMatrixCreateFromMat_omp(m.values.data(), m.rows, m.cols,
                                       std::numeric_limits<float>::quiet_NaN(), &handle, nthread),
            "XGDMatrixCreateFromMat_omp", absl::StatusCode::kInvalidArgument));
  DMatrixPtr dmatrix(handle);
  RETURN_IF_ERROR(Check(XGDMatrixSetFloatInfo(handle, "label", data.labels.data(), m.rows),
                        "XGDMatrixSetFloatInfo(label)"));
  if (!data.weights.empty()) {
    RETURN_IF_ERROR(Check(XGDMatrixSetFloatInfo(handle, "weight", data.weights.data(), m.rows),
                          "XGDMatrixSetFloatInfo(weight)"));
  }
  return dmatrix;
}

// The names as the C API takes them; valid while `names` lives.
std::vector<const char*> CStrings(const std::vector<std::string>& names) {
  std::vector<const char*> out;
  out.reserve(names.size());
  for (const std::string& name : names) out.push_back(name.c_str());
  return out;
}

}  // namespace

std::string XgboostObjectiveName(XgboostObjective objective) {
  return objective == XgboostObjective::kBinaryLogistic ? "binary:logistic" : "reg:squarederror";
}

Status XgboostParams::Validate() const {
  auto out_of_range = [](const char* name, const std::string& rule) {
    return Invalid(std::string("parameter ") + name + " must be " + rule);
  };
  if (num_boost_round < 1) return out_of_range("num_boost_round", ">= 1");
  if (max_depth < 0) return out_of_range("max_depth", ">= 0");
  if (!(learning_rate > 0 && learning_rate <= 1)) return out_of_range("learning_rate", "in (0, 1]");
  if (!(subsample > 0 && subsample <= 1)) return out_of_range("subsample", "in (0, 1]");
  if (!(colsample_bytree > 0 && colsample_bytree <= 1)) {
    return out_of_range("colsample_bytree", "in (0, 1]");
  }
  if (!(min_child_weight >= 0) || !std::isfinite(min_child_weight)) {
    return out_of_range("min_child_weight", ">= 0");
  }
  if (!(reg_lambda >= 0) || !std::isfinite(reg_lambda)) return out_of_range("reg_lambda", ">= 0");
  if (!(reg_alpha >= 0) || !std::isfinite(reg_alpha)) return out_of_range("reg_alpha", ">= 0");
  if (!(gamma >= 0) || !std::isfinite(gamma)) return out_of_range("gamma", ">= 0");
  if (max_bin < 2) return out_of_range("max_bin", ">= 2");
  if (tree_method != "hist" && tree_method != "approx" && tree_method != "exact") {
    return out_of_range("tree_method", "hist, approx or exact");
  }
  if (nthread < 0) return out_of_range("nthread", ">= 0");
  if (!(scale_pos_weight > 0) || !std::isfinite(scale_pos_weight)) {
    return out_of_range("scale_pos_weight", "> 0");
  }
  if (objective != XgboostObjective::kBinaryLogistic && scale_pos_weight != 1.0) {
    return Invalid("parameter scale_pos_weight applies to binary classification only");
  }
  for (const auto& [name, direction] : monotone_constraints) {
    if (direction < -1 || direction > 1) {
      return Invalid("monotone constraint on " + Quoted(name) + " must be -1, 0 or 1");
    }
  }
  if (!eval_metric.empty()) {
    const std::set<std::string> allowed =
        objective == XgboostObjective::kBinaryLogistic
            ? std::set<std::string>{"auc", "aucpr", "logloss", "error"}
            : std::set<std::string>{"rmse", "mae"};
    if (!allowed.count(eval_metric)) {
      std::string list;
      for (const std::string& m : allowed) list += (list.empty() ? "" : ", ") + m;
      return Invalid("parameter eval_metric must be one of " + list + " for " +
                     XgboostObjectiveName(objective));
    }
  }
  if (early_stopping_rounds < 0) return out_of_range("early_stopping_rounds", ">= 0");
  return absl::OkStatus();
}

Json XgboostParams::ToJson() const {
  Json constraints = Json::object();
  for (const auto& [name, direction] : monotone_constraints) constraints[name] = direction;
  return {{"objective", XgboostObjectiveName(objective)},
          {"num_boost_round", num_boost_round},
          {"max_depth", max_depth},
          {"learning_rate", learning_rate},
          {"subsample", subsample},
          {"colsample_bytree", colsample_bytree},
          {"min_child_weight", min_child_weight},
          {"reg_lambda", reg_lambda},
          {"reg_alpha", reg_alpha},
          {"gamma", gamma},
          {"max_bin", max_bin},
          {"tree_method", tree_method},
          {"nthread", nthread},
          {"seed", seed},
          {"scale_pos_weight", scale_pos_weight},
          {"monotone_constraints", constraints},
          {"eval_metric", eval_metric},
          {"early_stopping_rounds", early_stopping_rounds}};
}

StatusOr<XgboostParams> XgboostParams::FromJson(const Json& json) {
  if (!json.is_object()) return Invalid("parameters must be a JSON object");
  XgboostParams p;
  auto integer = [](int* field) {
    return [field](const std::string& key, const Json& v) -> Status {
      if (!v.is_number_integer() || v.get<int64_t>() < std::numeric_limits<int>::min() ||
          v.get<int64_t>() > std::numeric_limits<int>::max()) {
        return Invalid("parameter " + key + " must be an integer");
      }
      *field = v.get<int>();
      return absl::OkStatus();
    };
  };
  auto number = [](double* field) {
    return [field](const std::string& key, const Json& v) -> Status {
      if (!v.is_number()) return Invalid("parameter " + key + " must be a number");
      *field = v.get<double>();
      return absl::OkStatus();
    };
  };
  auto text = [](std::string* field) {
    return [field](const std::string& key, const Json& v) -> Status {
      if (!v.is_string()) return Invalid("parameter " + key + " must be a string");
      *field = v.get<std::string>();
      return absl::OkStatus();
    };
  };
  using Setter = std::function<Status(const std::string&, const Json&)>;
  // Field name -> (canonical name, setter); aliases share the canonical name.
  const std::map<std::string, std::pair<std::string, Setter>> fields = {
      {"objective",
       {"objective",
        [&p](const std::string& key, const Json& v) -> Status {
          if (v == "binary:logistic") {
            p.objective = XgboostObjective::kBinaryLogistic;
          } else if (v == "reg:squarederror") {
            p.objective = XgboostObjective::kSquaredError;
          } else {
            return Invalid("parameter objective must be binary:logistic or reg:squarederror");
          }
          return absl::OkStatus();
        }}},
      {"num_boost_round", {"num_boost_round", integer(&p.num_boost_round)}},
      {"n_estimators", {"num_boost_round", integer(&p.num_boost_round)}},
      {"max_depth", {"max_depth", integer(&p.max_depth)}},
      {"learning_rate", {"learning_rate", number(&p.learning_rate)}},
      {"eta", {"learning_rate", number(&p.learning_rate)}},
      {"subsample", {"subsample", number(&p.subsample)}},
      {"colsample_bytree", {"colsample_bytree", number(&p.colsample_bytree)}},
      {"min_child_weight", {"min_child_weight", number(&p.min_child_weight)}},
      {"reg_lambda", {"reg_lambda", number(&p.reg_lambda)}},
      {"lambda", {"reg_lambda", number(&p.reg_lambda)}},
      {"reg_alpha", {"reg_alpha", number(&p.reg_alpha)}},
      {"alpha", {"reg_alpha", number(&p.reg_alpha)}},
      {"gamma", {"gamma", number(&p.gamma)}},
      {"min_split_loss", {"gamma", number(&p.gamma)}},
      {"max_bin", {"max_bin", integer(&p.max_bin)}},
      {"tree_method", {"tree_method", text(&p.tree_method)}},
      {"nthread", {"nthread", integer(&p.nthread)}},
      {"seed",
       {"seed",
        [&p](const std::string& key, const Json& v) -> Status {
          if (!v.is_number_integer()) return Invalid("parameter seed must be an integer");
          p.seed = v.get<int64_t>();
          return absl::OkStatus();
        }}},
      {"scale_pos_weight", {"scale_pos_weight", number(&p.scale_pos_weight)}},
      {"monotone_constraints",
       {"monotone_constraints",
        [&p](const std::string& key, const Json& v) -> Status {
          if (!v.is_object()) {
            return Invalid("parameter monotone_constraints must be an object {feature: -1|0|1}");
          }
          for (const auto& [name, direction] : v.items()) {
            if (!direction.is_number_integer()) {
              return Invalid("monotone constraint on " + Quoted(name) + " must be -1, 0 or 1");
            }
            p.monotone_constraints[name] =
                static_cast<int>(std::clamp<int64_t>(direction.get<int64_t>(), -2, 2));
          }
          return absl::OkStatus();
        }}},
      {"eval_metric", {"eval_metric", text(&p.eval_metric)}},
      {"early_stopping_rounds", {"early_stopping_rounds", integer(&p.early_stopping_rounds)}},
  };
  std::set<std::string> given;
  for (const auto& [key, value] : json.items()) {
    auto it = fields.find(key);
    if (it == fields.end()) return Invalid("unknown parameter " + Quoted(key));
    if (!given.insert(it->second.first).second) {
      return Invalid("parameter " + it->second.first + " is given twice (through an alias)");
    }
    RETURN_IF_ERROR(it->second.second(key, value));
  }
  RETURN_IF_ERROR(p.Validate());
  return p;
}

Json TrainingReport::ToJson() const {
  auto finite = [](double v) { return std::isfinite(v) ? Json(v) : Json(); };
  Json history = Json::array();
  for (double v : validation) history.push_back(finite(v));
  return {{"metric", metric},
          {"validation", history},
          {"rounds_trained", rounds_trained},
          {"best_iteration", best_iteration},
          {"best_score", best_iteration >= 0 ? finite(best_score) : Json()},
          {"stopped_early", stopped_early},
          {"seconds", seconds}};
}

StatusOr<std::vector<float>> BalancedClassWeights(std::span<const float> labels) {
  size_t positives = 0;
  for (float y : labels) {
    if (y != 0.0f && y != 1.0f) return Invalid("class weights need labels 0 or 1");
    positives += y == 1.0f;
  }
  const size_t n = labels.size();
  if (positives == 0 || positives == n) {
    return Invalid("class weights need both classes among the labels");
  }
  const float w1 = static_cast<float>(static_cast<double>(n) / (2.0 * positives));
  const float w0 = static_cast<float>(static_cast<double>(n) / (2.0 * (n - positives)));
  std::vector<float> weights(n);
  for (size_t i = 0; i < n; ++i) weights[i] = labels[i] == 1.0f ? w1 : w0;
  return weights;
}

void XgboostModel::BoosterDeleter::operator()(void* handle) const {
  if (handle != nullptr) XGBoosterFree(handle);
}

XgboostModel::XgboostModel(BoosterPtr booster) : booster_(std::move(booster)) {}
XgboostModel::XgboostModel(XgboostModel&&) noexcept = default;
XgboostModel& XgboostModel::operator=(XgboostModel&&) noexcept = default;
XgboostModel::~XgboostModel() = default;

StatusOr<XgboostModel> XgboostModel::Train(const XgboostParams& params, const TrainingData& train,
                                           const TrainingData* validation, TrainingReport* report) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(params.Validate());
  RETURN_IF_ERROR(CheckData(train, "training", params.objective));
  const Matrix& m = *train.features;
  if (validation != nullptr) {
    RETURN_IF_ERROR(CheckData(*validation, "validation", params.objective));
    if (validation->features->cols != m.cols ||
        validation->features->feature_names != m.feature_names) {
      return Invalid("the validation matrix's features differ from the training matrix's");
    }
  }
  if (params.early_stopping_rounds > 0 && validation == nullptr) {
    return Invalid("early stopping needs validation data");
  }
  std::string monotone;
  if (!params.monotone_constraints.empty()) {
    ASSIGN_OR_RETURN(monotone, MonotoneConstraints(params, m));
  }

  ASSIGN_OR_RETURN(DMatrixPtr dtrain, MakeDMatrix(train, params.nthread));
  DMatrixPtr dvalid;
  if (validation != nullptr) {
    ASSIGN_OR_RETURN(dvalid, MakeDMatrix(*validation, params.nthread));
  }
  std::vector<void*> cached = {dtrain.get()};
  if (dvalid) cached.push_back(dvalid.get());
  void* handle = nullptr;
  RETURN_IF_ERROR(Check(XGBoosterCreate(cached.data(), cached.size(), &handle), "XGBoosterCreate"));
  BoosterPtr booster(handle);

  const std::string metric =
      params.eval_metric.empty() ? DefaultMetric(params.objective) : params.eval_metric;
  std::vector<std::pair<std::string, std::string>> settings = {
      {"objective", XgboostObjectiveName(params.objective)},
      {"eta", Number(params.learning_rate)},
      {"max_depth", std::to_string(params.max_depth)},
      {"subsample", Number(params.subsample)},
      {"colsample_bytree", Number(params.colsample_bytree)},
      {"min_child_weight", Number(params.min_child_weight)},
      {"lambda", Number(params.reg_lambda)},
      {"alpha", Number(params.reg_alpha)},
      {"gamma", Number(params.gamma)},
      {"max_bin", std::to_string(params.max_bin)},
      {"tree_method", params.tree_method},
      {"seed", std::to_string(params.seed)},
      {"eval_metric", metric},
  };
  if (params.objective == XgboostObjective::kBinaryLogistic) {
    settings.emplace_back("scale_pos_weight", Number(params.scale_pos_weight));
  }
  if (params.nthread > 0) settings.emplace_back("nthread", std::to_string(params.nthread));
  if (!monotone.empty()) settings.emplace_back("monotone_constraints", monotone);
  for (const auto& [key, value] : settings) {
    RETURN_IF_ERROR(Check(XGBoosterSetParam(handle, key.c_str(), value.c_str()), "parameter " + key,
                          absl::StatusCode::kInvalidArgument));
  }
  if (!m.feature_names.empty()) {
    std::vector<const char*> names = CStrings(m.feature_names);
    RETURN_IF_ERROR(
        Check(XGBoosterSetStrFeatureInfo(handle, "feature_name", names.data(), names.size()),
              "XGBoosterSetStrFeatureInfo(feature_name)"));
  }

  TrainingReport log;
  log.metric = validation != nullptr ? metric : "";
  const bool maximize = Maximized(metric);
  const char* eval_names[] = {"valid"};
  void* eval_sets[] = {dvalid.get()};
  for (int round = 0; round < params.num_boost_round; ++round) {
    // Parameter values are checked lazily on the first round, so its errors are the caller's.
    RETURN_IF_ERROR(Check(XGBoosterUpdateOneIter(handle, round, dtrain.get()),
                          "training round " + std::to_string(round),
                          absl::StatusCode::kInvalidArgument));
    log.rounds_trained = round + 1;
    if (validation == nullptr) continue;
    const char* result = nullptr;
    RETURN_IF_ERROR(Check(XGBoosterEvalOneIter(handle, round, eval_sets, eval_names, 1, &result),
                          "XGBoosterEvalOneIter"));
    double score = ParseEval(result);
    log.validation.push_back(score);
    bool better =
        std::isfinite(score) && (log.best_iteration < 0 || !std::isfinite(log.best_score) ||
                                 (maximize ? score > log.best_score : score < log.best_score));
    if (log.best_iteration < 0 || better) {
      log.best_iteration = round;
      log.best_score = score;
    }
    if (params.early_stopping_rounds > 0 &&
        round - log.best_iteration >= params.early_stopping_rounds) {
      log.stopped_early = true;
      break;
    }
  }

  if (params.early_stopping_rounds > 0) {
    if (log.best_iteration + 1 < log.rounds_trained) {
      void* sliced = nullptr;
      RETURN_IF_ERROR(
          Check(XGBoosterSlice(handle, 0, log.best_iteration + 1, 1, &sliced), "XGBoosterSlice"));
      booster.reset(sliced);
      handle = sliced;
    }
    RETURN_IF_ERROR(Check(
        XGBoosterSetAttr(handle, "best_iteration", std::to_string(log.best_iteration).c_str()),
        "XGBoosterSetAttr"));
    RETURN_IF_ERROR(Check(XGBoosterSetAttr(handle, "best_score", Number(log.best_score).c_str()),
                          "XGBoosterSetAttr"));
  }
  XgboostModel model(std::move(booster));
  RETURN_IF_ERROR(model.LoadMetadata());
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report != nullptr) *report = std::move(log);
  return model;
}

StatusOr<XgboostModel> XgboostModel::Load(std::string_view bytes, int nthread) {
  if (bytes.empty()) return Invalid("the model is empty");
  if (nthread < 0) return Invalid("nthread must be >= 0");
  void* handle = nullptr;
  RETURN_IF_ERROR(Check(XGBoosterCreate(nullptr, 0, &handle), "XGBoosterCreate"));
  XgboostModel model{BoosterPtr(handle)};
  RETURN_IF_ERROR(Check(XGBoosterLoadModelFromBuffer(handle, bytes.data(), bytes.size()),
                        "cannot read the model", absl::StatusCode::kInvalidArgument));
  if (nthread > 0) {
    RETURN_IF_ERROR(Check(XGBoosterSetParam(handle, "nthread", std::to_string(nthread).c_str()),
                          "parameter nthread"));
  }
  RETURN_IF_ERROR(model.LoadMetadata());
  return model;
}

Status XgboostModel::LoadMetadata() {
  void* handle = booster_.get();
  bst_ulong features = 0;
  RETURN_IF_ERROR(Check(XGBoosterGetNumFeature(handle, &features), "XGBoosterGetNumFeature"));
  num_features_ = features;
  RETURN_IF_ERROR(Check(XGBoosterBoostedRounds(handle, &num_rounds_), "XGBoosterBoostedRounds"));
  bst_ulong count = 0;
  const char** names = nullptr;
  RETURN_IF_ERROR(Check(XGBoosterGetStrFeatureInfo(handle, "feature_name", &count, &names),
                        "XGBoosterGetStrFeatureInfo(feature_name)"));
  feature_names_.assign(names, names + count);
  bst_ulong length = 0;
  const char* config = nullptr;
  RETURN_IF_ERROR(
      Check(XGBoosterSaveJsonConfig(handle, &length, &config), "XGBoosterSaveJsonConfig"));
  StatusOr<Json> parsed = ParseJson(std::string_view(config, length));
  if (!parsed.ok()) return absl::InternalError("XGBoost's configuration is not JSON");
  const Json* name = &*parsed;
  for (const char* key : {"learner", "objective", "name"}) {
    if (!name->is_object() || !name->contains(key)) {
      return absl::InternalError("XGBoost's configuration names no objective");
    }
    name = &(*name)[key];
  }
  if (!name->is_string()) return absl::InternalError("XGBoost's configuration names no objective");
  objective_ = name->get<std::string>();
  return absl::OkStatus();
}

StatusOr<std::string> XgboostModel::Save(const char* format) const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  const std::string config = std::string("{\"format\": \"") + format + "\"}";
  RETURN_IF_ERROR(Check(XGBoosterSaveModelToBuffer(booster_.get(), config.c_str(), &length, &bytes),
                        "XGBoosterSaveModelToBuffer"));
  // The buffer belongs to the booster until its next call: copy it now.
  return std::string(bytes, length);
}

StatusOr<std::string> XgboostModel::SaveJson() const { return Save("json"); }
StatusOr<std::string> XgboostModel::SaveUbjson() const { return Save("ubj"); }

StatusOr<std::vector<float>> XgboostModel::Predict(const Matrix& features) const {
  if (!feature_names_.empty() && !features.feature_names.empty() &&
      features.feature_names != feature_names_) {
    for (size_t i = 0; i < std::min(features.feature_names.size(), feature_names_.size()); ++i) {
      if (features.feature_names[i] != feature_names_[i]) {
        return Invalid("feature " + std::to_string(i) + " is " + Quoted(feature_names_[i]) +
                       " in the model but " + Quoted(features.feature_names[i]) + " in the data");
      }
    }
    return Invalid("the model has " + std::to_string(feature_names_.size()) +
                   " features; the data has " + std::to_string(features.feature_names.size()));
  }
  if (features.values.size() != features.rows * features.cols) {
    return Invalid("the matrix holds " + std::to_string(features.values.size()) + " values, not " +
                   std::to_string(features.rows) + " x " + std::to_string(features.cols));
  }
  return Predict(features.values, features.rows, features.cols);
}

StatusOr<std::vector<float>> XgboostModel::Predict(std::span<const float> values, size_t rows,
                                                   size_t cols) const {
  return PredictDense(0, 1, values, rows, cols);
}

StatusOr<std::vector<float>> XgboostModel::PredictMargin(std::span<const float> values, size_t rows,
                                                         size_t cols) const {
  return PredictDense(1, 1, values, rows, cols);
}

StatusOr<std::vector<float>> XgboostModel::PredictContributions(std::span<const float> values,
                                                                size_t rows, size_t cols) const {
  return PredictDense(2, cols + 1, values, rows, cols);
}

StatusOr<std::vector<float>> XgboostModel::PredictDense(int type, size_t per_row,
                                                        std::span<const float> values, size_t rows,
                                                        size_t cols) const {
  if (values.size() != rows * cols) {
    return Invalid("the matrix holds " + std::to_string(values.size()) + " values, not " +
                   std::to_string(rows) + " x " + std::to_string(cols));
  }
  if (cols != num_features_) {
    return Invalid("the model has " + std::to_string(num_features_) + " features; the data has " +
                   std::to_string(cols));
  }
  if (rows == 0) return std::vector<float>();
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  // Contributions' matrix, held until the result is copied (it may live in the DMatrix's cache).
  DMatrixPtr dmatrix;
  if (type == 0 || type == 1) {
    char array[160];
    std::snprintf(array, sizeof(array),
                  "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
                  "\"version\": 3}",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(values.data())), rows,
                  cols);
    // XGBoost 1.7 reads "missing" and "cache_id" unconditionally: without them the call fails.
    char config[200];
    std::snprintf(config, sizeof(config),
                  "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, "
                  "\"iteration_end\": 0, \"strict_shape\": false, \"missing\": NaN, "
                  "\"cache_id\": 0}",
                  type);
    RETURN_IF_ERROR(Check(
        XGBoosterPredictFromDense(booster_.get(), array, config, nullptr, &shape, &dim, &result),
        "XGBoosterPredictFromDense"));
  } else {
    // In-place prediction (above) computes values and margins only ("Unsupported prediction
    // type" for contributions in 1.7): contributions go through a DMatrix, NaN missing as above.
    void* handle = nullptr;
    RETURN_IF_ERROR(Check(XGDMatrixCreateFromMat(values.data(), rows, cols,
                                                 std::numeric_limits<float>::quiet_NaN(), &handle),
                          "XGDMatrixCreateFromMat", absl::StatusCode::kInvalidArgument));
    dmatrix.reset(handle);
    char config[160];
    std::snprintf(config, sizeof(config),
                  "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, "
                  "\"iteration_end\": 0, \"strict_shape\": false}",
                  type);
    RETURN_IF_ERROR(
        Check(XGBoosterPredictFromDMatrix(booster_.get(), handle, config, &shape, &dim, &result),
              "XGBoosterPredictFromDMatrix"));
  }
  bst_ulong total = dim == 0 ? 0 : 1;
  for (bst_ulong i = 0; i < dim; ++i) total *= shape[i];
  if (total != rows * per_row) {
    return absl::InternalError("XGBoost returned " + std::to_string(total) + " values for " +
                               std::to_string(rows) + " rows (expected " + std::to_string(per_row) +
                               " per row)");
  }
  // The buffer belongs to the booster until its next call: copy it now.
  return std::vector<float>(result, result + total);
}

}  // namespace plinth
