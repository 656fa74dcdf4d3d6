#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <set>
#include <utility>

#include "core/html.h"
#include "train/evaluation.h"
#include "train/linear_kinds.h"
#include "train/split.h"
#include "train/xgboost_model.h"

namespace plinth {
namespace {

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("training spec: " + message);
}

Status Expect(bool ok, const std::string& message) {
  return ok ? absl::OkStatus() : Invalid(message);
}

StatusOr<std::vector<std::string>> StringList(const Json& v, const std::string& key) {
  if (!v.is_array()) return Invalid(key + " must be an array of column names");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const Json& item : v) {
    if (!item.is_string() || item.get<std::string>().empty()) {
      return Invalid(key + " must hold non-empty strings");
    }
    out.push_back(item.get<std::string>());
    if (!seen.insert(out.back()).second) {
      return Invalid(key + " lists " + Quoted(out.back()) + " twice");
    }
  }
  return out;
}

// The text of a label given as JSON: a string, or an integer / bool for such a column.
StatusOr<std::string> LabelText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (v.is_number_integer()) {
    return v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                  : std::to_string(v.get<int64_t>());
  }
  return Invalid("positive must be a string, an integer or a bool");
}

// --- Registry
// --------------------------------------------------------------------------------------

struct TrainerEntry {
  KindTrainer train;
  ParamsCheck check;
};

StatusOr<KindModel> TrainXgboost(const TrainingInputs& in);
Status CheckXgboostParams(const TrainSpec& spec);

struct TrainerRegistry {
  std::mutex mu;
  std::map<std::string, TrainerEntry> trainers;
};

TrainerRegistry& Trainers() {
  static TrainerRegistry* registry = [] {
    auto* r = new TrainerRegistry;
    r->trainers[std::string(kXgboostKind)] = {TrainXgboost, CheckXgboostParams};
    r->trainers[std::string(kLogisticKind)] = {TrainLogisticKind, CheckLogisticKind};
    r->trainers[std::string(kScorecardKind)] = {TrainScorecardKind, CheckScorecardKind};
    return r;
  }();
  return *registry;
}

std::optional<TrainerEntry> FindTrainer(const std::string& kind) {
  TrainerRegistry& registry = Trainers();
  std::lock_guard<std::mutex> lock(registry.mu);
  auto it = registry.trainers.find(kind);
  if (it == registry.trainers.end()) return std::nullopt;
  return it->second;
}

// --- The xgboost kind
// ------------------------------------------------------------------------------

// The XGBoost parameters of a spec: its params, with the objective of the task and the seed,
// monotone constraints and early stopping of the spec's own members. `nthread` applies when the
// params do not set it.
StatusOr<XgboostParams> XgboostParamsFor(const TrainSpec& spec, int nthread) {
  // Members of the spec that XGBoost's own parameter names would duplicate.
  constexpr std::pair<const char*, const char*> kOwnMembers[] = {
      {"seed", "seed"},
      {"monotone_constraints", "monotone"},
      {"early_stopping_rounds", "early_stopping"}};
  for (const auto& [key, member] : kOwnMembers) {
    if (spec.params.is_object() && spec.params.contains(key)) {
      return Invalid(std::string("params.") + key + " is not allowed: give it as the spec's " +
                     member + " member");
    }
  }
  StatusOr<XgboostParams> parsed = XgboostParams::FromJson(spec.params);
  if (!parsed.ok()) return Invalid("params: " + std::string(parsed.status().message()));
  XgboostParams p = std::move(parsed).value();
  const XgboostObjective objective = spec.task == ModelTask::kBinaryClassification
                                         ? XgboostObjective::kBinaryLogistic
                                         : XgboostObjective::kSquaredError;
  if (spec.params.contains("objective") && p.objective != objective) {
    return Invalid("params.objective " + XgboostObjectiveName(p.objective) + " does not fit task " +
                   ModelTaskName(spec.task) + " (use " + XgboostObjectiveName(objective) +
                   " or leave it out)");
  }
  p.objective = objective;
  p.seed = spec.seed;
  p.monotone_constraints = spec.monotone;
  p.early_stopping_rounds = spec.early_stopping.has_value() ? spec.early_stopping->rounds : 0;
  if (!spec.params.contains("nthread")) p.nthread = nthread;
  if (Status s = p.Validate(); !s.ok()) return Invalid("params: " + std::string(s.message()));
  return p;
}

Status CheckXgboostParams(const TrainSpec& spec) { return XgboostParamsFor(spec, 0).status(); }

StatusOr<KindModel> TrainXgboost(const TrainingInputs& in) {
  const TrainSpec& spec = *in.spec;
  ASSIGN_OR_RETURN(XgboostParams params, XgboostParamsFor(spec, in.options->nthread));
  in.Progress(0, "preprocessing");
  PreprocessOptions preprocess_options;
  preprocess_options.columns = in.features;
  preprocess_options.categorical = spec.categorical;
  preprocess_options.max_levels = spec.max_levels;
  ASSIGN_OR_RETURN(PreprocessSpec preprocess,
                   PreprocessSpec::Fit(*in.table, preprocess_options, in.fit_rows));
  ASSIGN_OR_RETURN(Matrix all, preprocess.Apply(*in.table));
  const Matrix fit = TakeRows(all, in.fit_rows);
  const std::vector<float> fit_labels = TakeRows(in.labels, in.fit_rows);
  const std::vector<float> fit_weights =
      in.weights.empty() ? std::vector<float>() : TakeRows(in.weights, in.fit_rows);
  Matrix valid;
  std::vector<float> valid_labels, valid_weights;
  if (!in.validation_rows.empty()) {
    valid = TakeRows(all, in.validation_rows);
    valid_labels = TakeRows(in.labels, in.validation_rows);
    if (!in.weights.empty()) valid_weights = TakeRows(in.weights, in.validation_rows);
  }
  all = Matrix();
  RETURN_IF_ERROR(in.CheckCancelled());
  in.Progress(0.1, "boosting up to " + std::to_string(params.num_boost_round) + " rounds");
  const TrainingData train_data{&fit, fit_labels, fit_weights};
  const TrainingData valid_data{&valid, valid_labels, valid_weights};
  TrainingReport report;
  ASSIGN_OR_RETURN(
      XgboostModel model,
      XgboostModel::Train(params, train_data, in.validation_rows.empty() ? nullptr : &valid_data,
                          &report));
  RETURN_IF_ERROR(in.CheckCancelled());
  KindModel out;
  std::string bytes;
  if (spec.model_format == "ubj") {
    ASSIGN_OR_RETURN(bytes, model.SaveUbjson());
    out.files["model.ubj"] = {std::string(kModelRole), std::move(bytes)};
  } else {
    ASSIGN_OR_RETURN(bytes, model.SaveJson());
    out.files["model.json"] = {std::string(kModelRole), std::move(bytes)};
  }
  out.preprocess = std::move(preprocess);
  out.params = params.ToJson();
  out.summary = report.ToJson();
  out.summary.erase("seconds");
  out.summary["fit_rows"] = in.fit_rows.size();
  out.summary["validation_rows"] = in.validation_rows.size();
  out.summary["matrix_columns"] = fit.cols;
  out.summary["trees"] = model.num_rounds();
  out.timings["seconds"] = report.seconds;
  in.Progress(1, "trained");
  return out;
}

// --- Targets -----------------------------------------------------------------------------------

// The text of a cell of a string, int64 or bool column.
std::string CellText(const Column& c, size_t row) {
  switch (c.type()) {
    case ColumnType::kString:
      return std::string(c.StringAt(row));
    case ColumnType::kInt64:
      return std::to_string(c.int64s()[row]);
    default:
      return c.bools()[row] ? "true" : "false";
  }
}

Status CheckBinaryTargetColumn(const Column& c) {
  if (c.type() != ColumnType::kString && c.type() != ColumnType::kInt64 &&
      c.type() != ColumnType::kBool) {
    return absl::InvalidArgumentError("target column " + Quoted(c.name()) + " is " +
                                      ColumnTypeName(c.type()) +
                                      "; a binary target must be a string, int64 or bool column");
  }
  if (size_t nulls = c.null_count(); nulls > 0) {
    size_t first = 0;
    while (!c.IsNull(first)) ++first;
    return absl::InvalidArgumentError("target column " + Quoted(c.name()) + " has " +
                                      std::to_string(nulls) + " null cells (the first at row " +
                                      std::to_string(first) + ")");
  }
  return absl::OkStatus();
}

// [negative, positive] of a binary target column, which must hold exactly two values.
StatusOr<std::vector<std::string>> BinaryClasses(const Column& c, const std::string& positive) {
  RETURN_IF_ERROR(CheckBinaryTargetColumn(c));
  // The distinct values; past 3 the count no longer matters.
  std::set<std::string> values;
  if (c.type() == ColumnType::kString) {
    std::vector<uint8_t> used(c.dictionary().size(), 0);
    for (int32_t code : c.codes()) used[static_cast<size_t>(code)] = 1;
    for (size_t i = 0; i < used.size(); ++i) {
      if (used[i]) values.insert(c.dictionary()[i]);
    }
  } else {
    for (size_t r = 0; r < c.size() && values.size() < 3; ++r) values.insert(CellText(c, r));
  }
  auto list = [&values] {
    std::string out;
    size_t n = 0;
    for (const std::string& v : values) {
      if (n++ == 5) return out + ", ...";
      out += (out.empty() ? "" : ", ") + Quoted(v);
    }
    return out;
  };
  if (values.size() > 2) {
    return absl::InvalidArgumentError("target column " + Quoted(c.name()) +
                                      " holds more than two values (" + list() +
                                      "); binary classification needs exactly two");
  }
  if (!values.count(positive)) {
    return absl::InvalidArgumentError("no cell of target column " + Quoted(c.name()) + " is " +
                                      Quoted(positive) + " (it holds " + list() + ")");
  }
  if (values.size() != 2) {
    return absl::InvalidArgumentError("target column " + Quoted(c.name()) + " holds only " +
                                      list() + "; binary classification needs two values");
  }
  values.erase(positive);
  return std::vector<std::string>{*values.begin(), positive};
}

// Binary metrics (or regression) on `rows` into `metrics` as "<prefix>_<name>".
void AddFitMetrics(ModelTask task, const std::vector<float>& labels,
                   const std::vector<double>& predictions, const std::vector<size_t>& rows,
                   const std::string& prefix, std::map<std::string, double>* metrics) {
  if (rows.empty()) return;
  const std::vector<float> y = TakeRows(labels, rows);
  std::vector<float> p(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) p[i] = static_cast<float>(predictions[rows[i]]);
  auto put = [&](const char* name, double v) {
    if (std::isfinite(v)) (*metrics)[prefix + "_" + name] = v;
  };
  if (task == ModelTask::kBinaryClassification) {
    StatusOr<BinaryMetrics> m = EvaluateBinary(y, p);
    if (!m.ok()) return;
    put("auc", m->auc);
    put("gini", m->gini);
    put("ks", m->ks);
    put("log_loss", m->log_loss);
    put("brier", m->brier);
  } else {
    StatusOr<RegressionMetrics> m = EvaluateRegression(y, p);
    if (!m.ok()) return;
    put("rmse", m->rmse);
    put("mae", m->mae);
    put("r2", m->r2);
  }
}

// --- The evaluation report -----------------------------------------------------------------------

std::string Fmt(double v, const char* format = "%.4g") {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

double Number(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number()) return std::nan("");
  return obj[key].get<double>();
}

constexpr const char* kStyle =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2rem auto;"
    "max-width:70rem;color:#1f2933;background:#fafbfc;padding:0 1rem}"
    "h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}"
    ".meta{color:#52606d;margin-bottom:1.5rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:right}"
    "th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}"
    ".plots svg{margin:0 1rem 1rem 0;background:#fff;border:1px solid #e4e7eb}";

std::string Row(const std::string& name, const std::string& value) {
  return "<tr><td>" + HtmlEscape(name) + "</td><td>" + value + "</td></tr>";
}

std::string EvaluationHtml(const Evaluation& e, const ModelManifest& m,
                           const EvaluationOptions& options) {
  const std::string title =
      options.title.empty() ? "Model evaluation (" + m.kind + ")" : options.title;
  const Json& metrics = e.json["metrics"];
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     HtmlEscape(title) + "</title><style>" + kStyle +
                     "</style></head><body>\n<h1>" + HtmlEscape(title) +
                     "</h1>\n<p class=\"meta\">" + HtmlEscape(m.kind) + ", " +
                     HtmlEscape(ModelTaskName(m.task)) + "; target " + HtmlEscape(m.target.column);
  if (m.task == ModelTask::kBinaryClassification) {
    html += " (positive " + HtmlEscape(m.target.positive) + ")";
  }
  html += "; " + HtmlEscape(options.prefix) + " rows " + Fmt(Number(metrics, "rows"), "%.0f") +
          "; trained " + HtmlEscape(m.created_at);
  if (!m.training.run_id.empty()) html += " in run " + HtmlEscape(m.training.run_id);
  html += "</p>\n<h2>Metrics</h2><table><tr><th>metric</th><th>value</th></tr>";
  for (const auto& [name, value] : e.metrics) html += Row(name, Fmt(value, "%.6g"));
  html += "</table>\n";
  if (m.task == ModelTask::kBinaryClassification) {
    const Json& c = metrics["confusion"];
    html += "<h2>Confusion matrix at threshold " + Fmt(Number(metrics, "threshold")) +
            "</h2><table><tr><th></th><th>predicted " + HtmlEscape(m.target.positive) +
            "</th><th>predicted " + HtmlEscape(m.target.classes[0]) + "</th></tr><tr><td>actual " +
            HtmlEscape(m.target.positive) + "</td><td>" + Fmt(Number(c, "true_positives"), "%.6g") +
            "</td><td>" + Fmt(Number(c, "false_negatives"), "%.6g") + "</td></tr><tr><td>actual " +
            HtmlEscape(m.target.classes[0]) + "</td><td>" +
            Fmt(Number(c, "false_positives"), "%.6g") + "</td><td>" +
            Fmt(Number(c, "true_negatives"), "%.6g") + "</td></tr></table>\n";
    html += "<h2>Plots</h2><div class=\"plots\">" + RocCurveSvg(metrics) + CalibrationSvg(metrics) +
            ScoreHistogramSvg(metrics) + "</div>\n";
    html +=
        "<h2>Deciles (highest scores first)</h2><table><tr><th>decile</th><th>rows</th>"
        "<th>min score</th><th>max score</th><th>mean score</th><th>observed rate</th>"
        "<th>lift</th><th>cumulative lift</th><th>cumulative population</th>"
        "<th>cumulative gain</th></tr>";
    for (const Json& d : metrics["deciles"]) {
      html += "<tr><td>" + Fmt(Number(d, "decile"), "%.0f") + "</td><td>" +
              Fmt(Number(d, "rows"), "%.0f") + "</td><td>" + Fmt(Number(d, "min_score")) +
              "</td><td>" + Fmt(Number(d, "max_score")) + "</td><td>" +
              Fmt(Number(d, "mean_score")) + "</td><td>" + Fmt(Number(d, "observed_rate")) +
              "</td><td>" + Fmt(Number(d, "lift")) + "</td><td>" +
              Fmt(Number(d, "cumulative_lift")) + "</td><td>" +
              Fmt(Number(d, "cumulative_population")) + "</td><td>" +
              Fmt(Number(d, "cumulative_gain")) + "</td></tr>";
    }
    html += "</table>\n";
  }
  if (e.json["psi"].is_object()) {
    const Json& psi = e.json["psi"];
    html += "<h2>Score stability (PSI against the reference scores): " + Fmt(Number(psi, "psi")) +
            "</h2><p>Above 0.25 is usually read as a shift, 0.1 to 0.25 as worth a look.</p>"
            "<table><tr><th>from</th><th>to</th><th>reference share</th><th>current share</th>"
            "</tr>";
    for (const Json& b : psi["bins"]) {
      const double lower = Number(b, "lower"), upper = Number(b, "upper");
      html += "<tr><td>" + (std::isnan(lower) ? std::string("&minus;&infin;") : Fmt(lower)) +
              "</td><td>" + (std::isnan(upper) ? std::string("&infin;") : Fmt(upper)) +
              "</td><td>" + Fmt(Number(b, "reference")) + "</td><td>" + Fmt(Number(b, "current")) +
              "</td></tr>";
    }
    html += "</table>\n";
  }
  return html + "</body></html>\n";
}

}  // namespace

// --- TrainSpec ---------------------------------------------------------------------------------

Status TrainSpec::Validate() const {
  RETURN_IF_ERROR(Expect(IsModelKind(kind),
                         "kind must be xgboost, logistic or scorecard, not " + Quoted(kind)));
  RETURN_IF_ERROR(Expect(!target.empty(), "target must name the target column"));
  if (task == ModelTask::kBinaryClassification) {
    RETURN_IF_ERROR(Expect(!positive.empty(),
                           "positive must give the positive class for binary_classification"));
  } else {
    RETURN_IF_ERROR(Expect(positive.empty(), "positive applies to binary_classification only"));
    RETURN_IF_ERROR(Expect(class_weight == ClassWeight::kNone,
                           "class_weight applies to binary_classification only"));
  }
  std::set<std::string> feature_set;
  if (features.has_value()) {
    RETURN_IF_ERROR(Expect(!features->empty(), "features must not be empty"));
    RETURN_IF_ERROR(Expect(exclude.empty(), "give features or exclude, not both"));
    for (const std::string& f : *features) {
      RETURN_IF_ERROR(Expect(!f.empty(), "features must hold non-empty names"));
      RETURN_IF_ERROR(
          Expect(feature_set.insert(f).second, "features lists " + Quoted(f) + " twice"));
      RETURN_IF_ERROR(Expect(f != target, "the target " + Quoted(f) + " cannot be a feature"));
    }
  }
  auto unique = [](const std::vector<std::string>& list, const char* key) -> Status {
    std::set<std::string> seen;
    for (const std::string& s : list) {
      if (s.empty()) return Invalid(std::string(key) + " must hold non-empty names");
      if (!seen.insert(s).second)
        return Invalid(std::string(key) + " lists " + Quoted(s) + " twice");
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(unique(exclude, "exclude"));
  RETURN_IF_ERROR(unique(categorical, "categorical"));
  for (const std::string& c : categorical) {
    RETURN_IF_ERROR(Expect(!features.has_value() || feature_set.count(c),
                           "categorical column " + Quoted(c) + " is not among the features"));
  }
  for (const auto& [name, direction] : monotone) {
    RETURN_IF_ERROR(
        Expect(direction >= -1 && direction <= 1, "monotone." + name + " must be -1, 0 or 1"));
    RETURN_IF_ERROR(Expect(!features.has_value() || feature_set.count(name),
                           "monotone names " + Quoted(name) + ", which is not among the features"));
    RETURN_IF_ERROR(
        Expect(std::find(categorical.begin(), categorical.end(), name) == categorical.end(),
               "monotone names " + Quoted(name) +
                   ", which is categorical; monotone constraints apply to numeric "
                   "features only"));
  }
  RETURN_IF_ERROR(Expect(max_levels >= 0, "max_levels must be >= 0"));
  if (early_stopping.has_value()) {
    RETURN_IF_ERROR(Expect(early_stopping->rounds >= 1, "early_stopping.rounds must be >= 1"));
    RETURN_IF_ERROR(
        Expect(early_stopping->validation_fraction > 0 && early_stopping->validation_fraction < 1,
               "early_stopping.validation_fraction must be in (0, 1)"));
  }
  RETURN_IF_ERROR(Expect(params.is_object(), "params must be an object"));
  RETURN_IF_ERROR(
      Expect(model_format == "json" || model_format == "ubj", "model_format must be json or ubj"));
  RETURN_IF_ERROR(Expect(kind == kXgboostKind || model_format == "json",
                         "model_format applies to kind xgboost only"));
  return absl::OkStatus();
}

Json TrainSpec::ToJson() const {
  Json monotone_json = Json::object();
  for (const auto& [name, direction] : monotone) monotone_json[name] = direction;
  Json out = {
      {"kind", kind},
      {"task", ModelTaskName(task)},
      {"target", target},
      {"exclude", exclude},
      {"categorical", categorical},
      {"max_levels", max_levels},
      {"params", params},
      {"monotone", monotone_json},
      {"class_weight", class_weight == ClassWeight::kBalanced ? "balanced" : "none"},
      {"early_stopping", early_stopping.has_value()
                             ? Json{{"rounds", early_stopping->rounds},
                                    {"validation_fraction", early_stopping->validation_fraction}}
                             : Json()},
      {"seed", seed},
      {"model_format", model_format}};
  if (task == ModelTask::kBinaryClassification) out["positive"] = positive;
  if (features.has_value()) out["features"] = *features;
  return out;
}

StatusOr<TrainSpec> TrainSpec::FromJson(const Json& json) {
  RETURN_IF_ERROR(Expect(json.is_object(), "must be a JSON object"));
  static const std::set<std::string> kMembers = {
      "kind",         "task",           "target",     "positive",    "features",
      "exclude",      "categorical",    "max_levels", "params",      "monotone",
      "class_weight", "early_stopping", "seed",       "model_format"};
  for (const auto& [key, value] : json.items()) {
    RETURN_IF_ERROR(Expect(kMembers.count(key), "unknown member " + Quoted(key)));
  }
  TrainSpec spec;
  auto string_member = [&json](const char* key, std::string* out) -> Status {
    if (!json.contains(key)) return absl::OkStatus();
    RETURN_IF_ERROR(Expect(json[key].is_string(), std::string(key) + " must be a string"));
    *out = json[key].get<std::string>();
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(string_member("kind", &spec.kind));
  std::string task = ModelTaskName(spec.task);
  RETURN_IF_ERROR(string_member("task", &task));
  std::optional<ModelTask> parsed_task = ParseModelTask(task);
  RETURN_IF_ERROR(Expect(parsed_task.has_value(),
                         "task must be binary_classification or regression, not " + Quoted(task)));
  spec.task = *parsed_task;
  RETURN_IF_ERROR(Expect(json.contains("target"), "target is missing"));
  RETURN_IF_ERROR(string_member("target", &spec.target));
  if (json.contains("positive")) {
    ASSIGN_OR_RETURN(spec.positive, LabelText(json["positive"]));
    RETURN_IF_ERROR(Expect(!spec.positive.empty(), "positive must not be empty"));
  }
  if (json.contains("features")) {
    ASSIGN_OR_RETURN(spec.features, StringList(json["features"], "features"));
  }
  if (json.contains("exclude")) {
    ASSIGN_OR_RETURN(spec.exclude, StringList(json["exclude"], "exclude"));
  }
  if (json.contains("categorical")) {
    ASSIGN_OR_RETURN(spec.categorical, StringList(json["categorical"], "categorical"));
  }
  if (json.contains("max_levels")) {
    const Json& v = json["max_levels"];
    RETURN_IF_ERROR(
        Expect(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= 1000000,
               "max_levels must be an integer in [0, 1000000]"));
    spec.max_levels = v.get<int>();
  }
  if (json.contains("params")) {
    RETURN_IF_ERROR(Expect(json["params"].is_object(), "params must be an object"));
    spec.params = json["params"];
  }
  if (json.contains("monotone")) {
    const Json& v = json["monotone"];
    RETURN_IF_ERROR(Expect(v.is_object(), "monotone must be an object {feature: -1, 0 or 1}"));
    for (const auto& [name, direction] : v.items()) {
      RETURN_IF_ERROR(Expect(direction.is_number_integer() && direction.get<int64_t>() >= -1 &&
                                 direction.get<int64_t>() <= 1,
                             "monotone." + name + " must be -1, 0 or 1"));
      spec.monotone[name] = direction.get<int>();
    }
  }
  if (json.contains("class_weight")) {
    std::string weight;
    RETURN_IF_ERROR(string_member("class_weight", &weight));
    RETURN_IF_ERROR(Expect(weight == "none" || weight == "balanced",
                           "class_weight must be none or balanced, not " + Quoted(weight)));
    spec.class_weight = weight == "balanced" ? ClassWeight::kBalanced : ClassWeight::kNone;
  }
  if (json.contains("early_stopping") && !json["early_stopping"].is_null()) {
    const Json& v = json["early_stopping"];
    RETURN_IF_ERROR(
        Expect(v.is_object(), "early_stopping must be an object {rounds, validation_fraction}"));
    for (const auto& [key, value] : v.items()) {
      RETURN_IF_ERROR(Expect(key == "rounds" || key == "validation_fraction",
                             "unknown member " + Quoted(key) + " in early_stopping"));
    }
    EarlyStopping es;
    RETURN_IF_ERROR(Expect(v.contains("rounds") && v["rounds"].is_number_integer() &&
                               v["rounds"].get<int64_t>() >= 1 &&
                               v["rounds"].get<int64_t>() <= 1000000,
                           "early_stopping.rounds must be an integer in [1, 1000000]"));
    es.rounds = v["rounds"].get<int>();
    if (v.contains("validation_fraction")) {
      RETURN_IF_ERROR(Expect(v["validation_fraction"].is_number(),
                             "early_stopping.validation_fraction must be a number"));
      es.validation_fraction = v["validation_fraction"].get<double>();
    }
    spec.early_stopping = es;
  }
  if (json.contains("seed")) {
    RETURN_IF_ERROR(Expect(
        json["seed"].is_number_integer() && !(json["seed"].is_number_unsigned() &&
                                              json["seed"].get<uint64_t>() > uint64_t{INT64_MAX}),
        "seed must be an integer"));
    spec.seed = json["seed"].get<int64_t>();
  }
  RETURN_IF_ERROR(string_member("model_format", &spec.model_format));
  RETURN_IF_ERROR(spec.Validate());
  if (std::optional<TrainerEntry> entry = FindTrainer(spec.kind); entry && entry->check) {
    RETURN_IF_ERROR(entry->check(spec));
  }
  return spec;
}

// --- Training ----------------------------------------------------------------------------------

void TrainingInputs::Progress(double fraction, std::string_view message) const {
  if (options != nullptr && options->progress) {
    // The kind's share of the whole: 0.05 to 0.85.
    options->progress(0.05 + 0.8 * std::clamp(fraction, 0.0, 1.0), message);
  }
}

Status TrainingInputs::CheckCancelled() const {
  if (options != nullptr && options->cancelled && options->cancelled()) {
    return absl::CancelledError("training was cancelled");
  }
  return absl::OkStatus();
}

Status RegisterTrainer(const std::string& kind, KindTrainer train, ParamsCheck check) {
  if (!IsModelKind(kind)) {
    return absl::InvalidArgumentError("model kind must be xgboost, logistic or scorecard, not " +
                                      Quoted(kind));
  }
  if (!train) return absl::InvalidArgumentError("model kind " + Quoted(kind) + ": no trainer");
  TrainerRegistry& registry = Trainers();
  std::lock_guard<std::mutex> lock(registry.mu);
  if (!registry.trainers.emplace(kind, TrainerEntry{std::move(train), std::move(check)}).second) {
    return absl::AlreadyExistsError("a trainer for model kind " + Quoted(kind) +
                                    " is already registered");
  }
  return absl::OkStatus();
}

StatusOr<std::vector<float>> BinaryTargetLabels(const Column& column,
                                                const std::vector<std::string>& classes) {
  if (classes.size() != 2) return absl::InvalidArgumentError("a binary target has two classes");
  RETURN_IF_ERROR(CheckBinaryTargetColumn(column));
  std::vector<float> labels(column.size());
  auto bad = [&](size_t row, const std::string& text) {
    return absl::InvalidArgumentError("target column " + Quoted(column.name()) + " at row " +
                                      std::to_string(row) + " holds " + Quoted(text) +
                                      ", which is neither class (" + Quoted(classes[0]) + ", " +
                                      Quoted(classes[1]) + ")");
  };
  if (column.type() == ColumnType::kString) {
    std::vector<int8_t> by_code(column.dictionary().size(), -1);
    for (size_t i = 0; i < by_code.size(); ++i) {
      if (column.dictionary()[i] == classes[1]) by_code[i] = 1;
      if (column.dictionary()[i] == classes[0]) by_code[i] = 0;
    }
    for (size_t r = 0; r < labels.size(); ++r) {
      int8_t label = by_code[static_cast<size_t>(column.codes()[r])];
      if (label < 0) return bad(r, std::string(column.StringAt(r)));
      labels[r] = label;
    }
    return labels;
  }
  for (size_t r = 0; r < labels.size(); ++r) {
    const std::string text = CellText(column, r);
    if (text == classes[1]) {
      labels[r] = 1;
    } else if (text == classes[0]) {
      labels[r] = 0;
    } else {
      return bad(r, text);
    }
  }
  return labels;
}

StatusOr<TrainedModel> TrainModel(const TrainSpec& spec, const Table& train,
                                  const TrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(spec.Validate());
  std::optional<TrainerEntry> trainer = FindTrainer(spec.kind);
  if (!trainer.has_value()) {
    return absl::InvalidArgumentError("no trainer is registered for model kind " +
                                      Quoted(spec.kind));
  }
  if (trainer->check) RETURN_IF_ERROR(trainer->check(spec));
  auto progress = [&options](double fraction, std::string_view message) {
    if (options.progress) options.progress(fraction, message);
  };
  TrainingInputs in;
  in.spec = &spec;
  in.table = &train;
  in.options = &options;
  RETURN_IF_ERROR(in.CheckCancelled());
  progress(0, "preparing the training rows");

  const Column* target = train.Find(spec.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError("target column " + Quoted(spec.target) +
                                      " is not in the training table");
  }
  for (const std::string& name : spec.exclude) {
    if (train.Find(name) == nullptr) {
      return absl::InvalidArgumentError("exclude names " + Quoted(name) +
                                        ", which is not in the training table");
    }
  }
  if (spec.features.has_value()) {
    in.features = *spec.features;
  } else {
    for (const Column& c : train.columns()) {
      if (c.name() != spec.target &&
          std::find(spec.exclude.begin(), spec.exclude.end(), c.name()) == spec.exclude.end()) {
        in.features.push_back(c.name());
      }
    }
    if (in.features.empty()) {
      return absl::InvalidArgumentError("the training table has no column besides the target");
    }
  }
  std::vector<ModelInput> inputs;
  for (const std::string& name : in.features) {
    const Column* c = train.Find(name);
    if (c == nullptr) {
      return absl::InvalidArgumentError("feature column " + Quoted(name) +
                                        " is not in the training table");
    }
    if (c->type() == ColumnType::kTimestamp) {
      return absl::InvalidArgumentError("feature column " + Quoted(name) +
                                        " is a timestamp; derive a number from it (such as an age "
                                        "in days) or exclude it");
    }
    inputs.push_back({name, c->type()});
  }
  for (const std::string& name : spec.categorical) {
    if (std::find(in.features.begin(), in.features.end(), name) == in.features.end()) {
      return absl::InvalidArgumentError("categorical column " + Quoted(name) +
                                        " is not among the features");
    }
  }
  for (const auto& [name, direction] : spec.monotone) {
    if (std::find(in.features.begin(), in.features.end(), name) == in.features.end()) {
      return absl::InvalidArgumentError("monotone names " + Quoted(name) +
                                        ", which is not among the features");
    }
  }
  const size_t n = train.num_rows();
  if (n < 2) return absl::InvalidArgumentError("the training table needs at least 2 rows");

  ModelTarget model_target;
  model_target.column = spec.target;
  model_target.type = target->type();
  if (spec.task == ModelTask::kBinaryClassification) {
    ASSIGN_OR_RETURN(model_target.classes, BinaryClasses(*target, spec.positive));
    model_target.positive = spec.positive;
    ASSIGN_OR_RETURN(in.labels, BinaryTargetLabels(*target, model_target.classes));
  } else {
    ASSIGN_OR_RETURN(in.labels, NumericTarget(*target));
  }
  if (spec.class_weight == ClassWeight::kBalanced) {
    ASSIGN_OR_RETURN(in.weights, BalancedClassWeights(in.labels));
  }
  if (spec.early_stopping.has_value()) {
    const uint64_t seed = static_cast<uint64_t>(spec.seed);
    StatusOr<Split> split =
        spec.task == ModelTask::kBinaryClassification
            ? StratifiedSplit(in.labels, spec.early_stopping->validation_fraction, seed)
            : RandomSplit(n, spec.early_stopping->validation_fraction, seed);
    if (!split.ok()) {
      return absl::InvalidArgumentError("early stopping's validation split: " +
                                        std::string(split.status().message()));
    }
    in.fit_rows = std::move(split->train);
    in.validation_rows = std::move(split->test);
  } else {
    in.fit_rows.resize(n);
    std::iota(in.fit_rows.begin(), in.fit_rows.end(), size_t{0});
  }
  RETURN_IF_ERROR(in.CheckCancelled());

  ASSIGN_OR_RETURN(KindModel kind_model, trainer->train(in));
  RETURN_IF_ERROR(in.CheckCancelled());

  ModelManifest manifest;
  manifest.kind = spec.kind;
  manifest.task = spec.task;
  manifest.inputs = std::move(inputs);
  manifest.outputs.push_back(PrimaryOutput(spec.task));
  for (const TensorSpec& t : kind_model.extra_outputs) manifest.outputs.push_back(t);
  manifest.target = std::move(model_target);
  manifest.preprocess = std::move(kind_model.preprocess);
  std::map<std::string, std::string> files;
  for (auto& [name, file] : kind_model.files) {
    manifest.files.push_back({name, file.role, "", 0});
    files[name] = std::move(file.bytes);
  }
  manifest.training.run_id = options.run_id;
  manifest.training.pipeline = options.pipeline;
  manifest.training.step = options.step;
  manifest.training.seed = spec.seed;
  manifest.training.spec = spec.ToJson();
  manifest.training.params = kind_model.params;
  manifest.training.summary = kind_model.summary;
  manifest.lineage = options.lineage;
  const Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  manifest.created_at = FormatTime(clock->NowMicros());
  manifest.plinth_version = PlinthVersion();

  StatusOr<ModelPackage> sealed = SealModelPackage(std::move(manifest), std::move(files));
  if (!sealed.ok()) {
    return absl::InternalError("the " + spec.kind + " trainer made an invalid package: " +
                               std::string(sealed.status().message()));
  }
  TrainedModel out;
  out.package = std::move(sealed).value();

  progress(0.9, "scoring the training rows");
  ScorerOptions scorer_options;
  scorer_options.nthread = options.nthread;
  ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(out.package, scorer_options));
  ASSIGN_OR_RETURN(out.train_predictions, scorer->PredictTable(train));
  AddFitMetrics(spec.task, in.labels, out.train_predictions, in.fit_rows, "train",
                &out.package.manifest.metrics);
  AddFitMetrics(spec.task, in.labels, out.train_predictions, in.validation_rows, "validation",
                &out.package.manifest.metrics);

  out.report = kind_model.summary;
  for (const auto& [key, value] : kind_model.timings.items()) out.report[key] = value;
  out.report["total_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress(1, "done");
  return out;
}

// --- Evaluation --------------------------------------------------------------------------------

StatusOr<Evaluation> EvaluateModel(const Scorer& scorer, const Table& test,
                                   std::span<const double> reference_scores,
                                   const EvaluationOptions& options) {
  const ModelManifest& m = scorer.manifest();
  const Column* target = test.Find(m.target.column);
  if (target == nullptr) {
    return absl::InvalidArgumentError("target column " + Quoted(m.target.column) +
                                      " is not in the evaluation table");
  }
  ASSIGN_OR_RETURN(std::vector<double> predictions, scorer.PredictTable(test));
  const std::vector<float> scores(predictions.begin(), predictions.end());
  Evaluation e;
  const std::string& p = options.prefix;
  auto put = [&](const char* name, double v) {
    if (std::isfinite(v)) e.metrics[p + "_" + name] = v;
  };
  e.json = {
      {"task", ModelTaskName(m.task)},
      {"target", m.target.column},
      {"prefix", p},
      {"model", {{"kind", m.kind}, {"created_at", m.created_at}, {"run_id", m.training.run_id}}}};
  if (m.task == ModelTask::kBinaryClassification) {
    ASSIGN_OR_RETURN(std::vector<float> labels, BinaryTargetLabels(*target, m.target.classes));
    ASSIGN_OR_RETURN(BinaryMetrics metrics, EvaluateBinary(labels, scores, {}, options.threshold));
    put("auc", metrics.auc);
    put("gini", metrics.gini);
    put("ks", metrics.ks);
    put("log_loss", metrics.log_loss);
    put("brier", metrics.brier);
    put("precision", metrics.precision);
    put("recall", metrics.recall);
    put("f1", metrics.f1);
    put("accuracy", metrics.accuracy);
    put("base_rate", metrics.base_rate);
    put("rows", static_cast<double>(metrics.rows));
    e.json["positive"] = m.target.positive;
    e.json["metrics"] = metrics.ToJson();
  } else {
    ASSIGN_OR_RETURN(std::vector<float> labels, NumericTarget(*target));
    ASSIGN_OR_RETURN(RegressionMetrics metrics, EvaluateRegression(labels, scores));
    put("rmse", metrics.rmse);
    put("mae", metrics.mae);
    put("r2", metrics.r2);
    put("rows", static_cast<double>(metrics.rows));
    e.json["positive"] = nullptr;
    e.json["metrics"] = metrics.ToJson();
  }
  e.json["psi"] = nullptr;
  if (!reference_scores.empty()) {
    const std::vector<float> reference(reference_scores.begin(), reference_scores.end());
    ASSIGN_OR_RETURN(PsiResult psi, PopulationStabilityIndex(reference, scores, options.psi_bins));
    put("psi", psi.psi);
    e.json["psi"] = psi.ToJson();
  }
  e.html = EvaluationHtml(e, m, options);
  return e;
}

}  // namespace plinth
