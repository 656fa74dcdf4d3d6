#include "train/linear_kinds.h"

#include <algorithm>
#include <cmath>

#include "train/logistic.h"
#include "train/scorecard.h"

namespace plinth {
namespace {

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

Status RequireBinary(const TrainSpec& spec, const char* kind) {
  if (spec.task != ModelTask::kBinaryClassification) {
    return Invalid(std::string("kind ") + kind + " is for binary classification only");
  }
  if (spec.early_stopping.has_value()) {
    return Invalid(std::string("early_stopping applies to xgboost, not to ") + kind);
  }
  return absl::OkStatus();
}

// The single model file of a package, or InvalidArgument.
StatusOr<const std::string*> ModelBytes(const ModelPackage& package, const char* kind) {
  std::vector<std::string> files = package.manifest.FilesWithRole(kModelRole);
  if (files.size() != 1) {
    return Invalid(std::string("a ") + kind + " package has exactly one model file");
  }
  auto it = package.files.find(files[0]);
  if (it == package.files.end()) return absl::DataLossError("model file " + files[0] + " missing");
  return &it->second;
}

StatusOr<Json> ParseModelJson(const std::string& bytes, const char* kind) {
  Json json = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Invalid(std::string("the ") + kind + " model is not JSON");
  return json;
}

// --- logistic

StatusOr<LogisticParams> LogisticParamsOf(const TrainSpec& spec) {
  StatusOr<LogisticParams> p = LogisticParams::FromJson(spec.params);
  if (!p.ok()) return Invalid("params: " + std::string(p.status().message()));
  return p;
}

class LogisticScorer : public Scorer {
 public:
  LogisticScorer(ModelManifest manifest, PreprocessSpec spec, LogisticModel model)
      : Scorer(std::move(manifest)), spec_(std::move(spec)), model_(std::move(model)) {}

  StatusOr<std::vector<double>> PredictTable(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    ASSIGN_OR_RETURN(std::vector<float> p, model_.Predict(matrix));
    return std::vector<double>(p.begin(), p.end());
  }

  StatusOr<double> PredictRow(const Json& row) const override {
    RETURN_IF_ERROR(CheckInputs(row));
    ASSIGN_OR_RETURN(std::vector<float> values, spec_.ApplyRow(row));
    Matrix m;
    m.rows = 1;
    m.cols = values.size();
    m.values = std::move(values);
    m.feature_names = spec_.OutputNames();
    ASSIGN_OR_RETURN(std::vector<float> p, model_.Predict(m));
    return static_cast<double>(p.at(0));
  }

  StatusOr<std::vector<double>> PredictMargin(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    return model_.Logits(matrix);
  }

  // Mean-centred (see model_package.h): the model's own contributions per encoded column, summed
  // over the columns each raw input expands to.
  StatusOr<plinth::Contributions> Contributions(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    ASSIGN_OR_RETURN(LinearContributions linear, model_.Contributions(matrix));
    const size_t inputs = spec_.features().size();
    plinth::Contributions out;
    out.method = "linear_exact";
    out.rows = linear.rows;
    out.values.assign(linear.rows * inputs, 0.0);
    out.bias.assign(linear.rows, linear.bias);
    size_t k = 0;
    for (size_t f = 0; f < inputs; ++f) {
      out.features.push_back(spec_.features()[f].column);
      for (size_t o = 0; o < spec_.features()[f].num_outputs(); ++o, ++k) {
        for (size_t r = 0; r < linear.rows; ++r) out.values[r * inputs + f] += linear.at(r, k);
      }
    }
    return out;
  }

 private:
  PreprocessSpec spec_;
  LogisticModel model_;
};

// --- scorecard

StatusOr<ScorecardOptions> ScorecardOptionsOf(const TrainSpec& spec,
                                              const std::vector<std::string>& features) {
  for (const char* own : {"features", "categorical", "monotone"}) {
    if (spec.params.is_object() && spec.params.contains(own)) {
      return Invalid(std::string("params.") + own + " is not allowed: give it as the spec's " +
                     own + " member");
    }
  }
  // Checked before the data are read, the features are not known yet: a stand-in takes their
  // place (and the entries naming features are checked with them at training time).
  Json params = spec.params.is_object() ? spec.params : Json::object();
  const bool checking = features.empty();
  params["features"] = checking ? std::vector<std::string>{"(features)"} : features;
  if (!checking) {
    params["categorical"] = spec.categorical;
    Json monotone = Json::object();
    for (const auto& [feature, direction] : spec.monotone) monotone[feature] = direction;
    params["monotone"] = monotone;
  }
  StatusOr<ScorecardOptions> o = ScorecardOptions::FromJson(params);
  if (!o.ok()) return Invalid("params: " + std::string(o.status().message()));
  return o;
}

// One row of JSON as a one-row table with the manifest's input types.
StatusOr<Table> RowTable(const ModelManifest& manifest, const Json& row) {
  Table table;
  for (const ModelInput& input : manifest.inputs) {
    Column c(input.name, input.type);
    const Json& v = row[input.name];
    if (v.is_null()) {
      c.AppendNull();
    } else if (input.type == ColumnType::kString) {
      if (v.is_string()) {
        c.AppendString(v.get<std::string>());
      } else {
        c.AppendString(v.dump());
      }
    } else if (input.type == ColumnType::kBool && v.is_boolean()) {
      c.AppendBool(v.get<bool>());
    } else if ((input.type == ColumnType::kInt64 || input.type == ColumnType::kTimestamp) &&
               v.is_number_integer()) {
      c.AppendInt64(v.get<int64_t>());
    } else if (input.type == ColumnType::kFloat64 && v.is_number()) {
      c.AppendFloat64(v.get<double>());
    } else {
      return Invalid("input " + input.name + ": expected a " + ColumnTypeName(input.type) +
                     " value, not " + v.dump().substr(0, 40));
    }
    RETURN_IF_ERROR(table.AddColumn(std::move(c)));
  }
  return table;
}

class ScorecardScorer : public Scorer {
 public:
  ScorecardScorer(ModelManifest manifest, Scorecard card)
      : Scorer(std::move(manifest)), card_(std::move(card)) {}

  StatusOr<std::vector<double>> PredictTable(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(std::vector<float> p, card_.Predict(table));
    return std::vector<double>(p.begin(), p.end());
  }

  StatusOr<double> PredictRow(const Json& row) const override {
    RETURN_IF_ERROR(CheckInputs(row));
    ASSIGN_OR_RETURN(Table table, RowTable(manifest(), row));
    ASSIGN_OR_RETURN(std::vector<float> p, card_.Predict(table));
    return static_cast<double>(p.at(0));
  }

  StatusOr<std::map<std::string, std::vector<double>>> PredictOutputs(
      const Table& table) const override {
    ASSIGN_OR_RETURN(std::vector<double> p, PredictTable(table));
    ASSIGN_OR_RETURN(std::vector<double> score, card_.Score(table));
    return std::map<std::string, std::vector<double>>{{manifest().outputs.at(0).name, p},
                                                      {"score", score}};
  }

  StatusOr<std::vector<double>> PredictMargin(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    return card_.Logits(table);
  }

  // beta_j * WoE per kept feature; the inputs the IV selection dropped keep 0.
  StatusOr<plinth::Contributions> Contributions(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(ScorecardContributions card, card_.Contributions(table));
    const std::vector<ModelInput>& inputs = manifest().inputs;
    plinth::Contributions out;
    out.method = "scorecard_exact";
    for (const ModelInput& input : inputs) out.features.push_back(input.name);
    out.rows = card.rows;
    out.values.assign(card.rows * inputs.size(), 0.0);
    out.points.assign(card.rows * inputs.size(), 0.0);
    out.bias.assign(card.rows, card.intercept);
    const size_t kept = card.features.size();
    for (size_t j = 0; j < kept; ++j) {
      auto it = std::find(out.features.begin(), out.features.end(), card.features[j]);
      if (it == out.features.end()) {
        return absl::InternalError("scorecard feature " + card.features[j] +
                                   " is not a model input");
      }
      const size_t f = static_cast<size_t>(it - out.features.begin());
      for (size_t r = 0; r < card.rows; ++r) {
        out.values[r * inputs.size() + f] = card.log_odds[r * kept + j];
        out.points[r * inputs.size() + f] = card.points[r * kept + j];
      }
    }
    return out;
  }

 private:
  Scorecard card_;
};

}  // namespace

Status CheckLogisticKind(const TrainSpec& spec) {
  RETURN_IF_ERROR(RequireBinary(spec, "logistic"));
  if (!spec.monotone.empty()) {
    return Invalid("monotone constraints apply to xgboost and scorecard, not to logistic");
  }
  return LogisticParamsOf(spec).status();
}

StatusOr<KindModel> TrainLogisticKind(const TrainingInputs& in) {
  RETURN_IF_ERROR(CheckLogisticKind(*in.spec));
  ASSIGN_OR_RETURN(LogisticParams params, LogisticParamsOf(*in.spec));
  in.Progress(0, "preprocessing");
  PreprocessOptions preprocess_options;
  preprocess_options.columns = in.features;
  preprocess_options.categorical = in.spec->categorical;
  preprocess_options.max_levels = in.spec->max_levels;
  ASSIGN_OR_RETURN(PreprocessSpec preprocess,
                   PreprocessSpec::Fit(*in.table, preprocess_options, in.fit_rows));
  ASSIGN_OR_RETURN(Matrix all, preprocess.Apply(*in.table));
  const Matrix fit = TakeRows(all, in.fit_rows);
  const std::vector<float> labels = TakeRows(in.labels, in.fit_rows);
  const std::vector<float> weights =
      in.weights.empty() ? std::vector<float>() : TakeRows(in.weights, in.fit_rows);
  RETURN_IF_ERROR(in.CheckCancelled());
  in.Progress(0.2, "fitting");
  LogisticReport report;
  ASSIGN_OR_RETURN(LogisticModel model,
                   LogisticModel::Train(params, TrainingData{&fit, labels, weights}, &report));
  KindModel out;
  out.files["model.json"] = {std::string(kModelRole), model.ToJson().dump()};
  out.preprocess = std::move(preprocess);
  out.params = params.ToJson();
  out.summary = report.ToJson();
  out.summary.erase("seconds");
  out.summary["fit_rows"] = in.fit_rows.size();
  out.summary["matrix_columns"] = fit.cols;
  out.timings["seconds"] = report.seconds;
  in.Progress(1, "trained");
  return out;
}

StatusOr<std::unique_ptr<Scorer>> LoadLogisticScorer(const ModelPackage& package,
                                                     const ScorerOptions&) {
  const ModelManifest& m = package.manifest;
  if (!m.preprocess.has_value()) {
    return Invalid("a logistic package needs a preprocessing spec");
  }
  ASSIGN_OR_RETURN(const std::string* bytes, ModelBytes(package, "logistic"));
  ASSIGN_OR_RETURN(Json json, ParseModelJson(*bytes, "logistic"));
  StatusOr<LogisticModel> model = LogisticModel::FromJson(json);
  if (!model.ok()) return Invalid("logistic model: " + std::string(model.status().message()));
  if (model->feature_names() != m.preprocess->OutputNames()) {
    return Invalid("the logistic model's features differ from the preprocessing spec's outputs");
  }
  return std::unique_ptr<Scorer>(
      std::make_unique<LogisticScorer>(m, *m.preprocess, std::move(model).value()));
}

Status CheckScorecardKind(const TrainSpec& spec) {
  RETURN_IF_ERROR(RequireBinary(spec, "scorecard"));
  if (spec.class_weight != ClassWeight::kNone) {
    return Invalid("class_weight applies to xgboost and logistic, not to scorecard");
  }
  for (const auto& [feature, direction] : spec.monotone) {
    (void)feature;
    if (direction < -1 || direction > 1) return Invalid("monotone: directions are -1, 0 or 1");
  }
  return ScorecardOptionsOf(spec, {}).status();
}

StatusOr<KindModel> TrainScorecardKind(const TrainingInputs& in) {
  RETURN_IF_ERROR(CheckScorecardKind(*in.spec));
  ASSIGN_OR_RETURN(ScorecardOptions options, ScorecardOptionsOf(*in.spec, in.features));
  in.Progress(0, "binning");
  const Table fit = TakeRows(*in.table, in.fit_rows);
  const std::vector<float> labels = TakeRows(in.labels, in.fit_rows);
  RETURN_IF_ERROR(in.CheckCancelled());
  ASSIGN_OR_RETURN(Scorecard card, Scorecard::Fit(fit, labels, options));
  KindModel out;
  out.files["scorecard.json"] = {std::string(kModelRole), card.ToJson().dump()};
  out.params = options.ToJson();
  out.summary = card.Summary();
  out.summary["fit_rows"] = in.fit_rows.size();
  out.extra_outputs.push_back({"score", "FP64", {-1, 1}});
  in.Progress(1, "scorecard built");
  return out;
}

StatusOr<std::unique_ptr<Scorer>> LoadScorecardScorer(const ModelPackage& package,
                                                      const ScorerOptions&) {
  ASSIGN_OR_RETURN(const std::string* bytes, ModelBytes(package, "scorecard"));
  ASSIGN_OR_RETURN(Json json, ParseModelJson(*bytes, "scorecard"));
  StatusOr<Scorecard> card = Scorecard::FromJson(json);
  if (!card.ok()) return Invalid("scorecard: " + std::string(card.status().message()));
  return std::unique_ptr<Scorer>(
      std::make_unique<ScorecardScorer>(package.manifest, std::move(card).value()));
}

}  // namespace plinth
