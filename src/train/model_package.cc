#include "train/model_package.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "core/clock.h"
#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"
#include "train/linear_kinds.h"
#include "train/xgboost_model.h"

#ifndef PLINTH_VERSION_STRING
#define PLINTH_VERSION_STRING "unknown"
#endif

namespace plinth {
namespace {

namespace fs = std::filesystem;

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("model manifest: " + message);
}

Status Expect(bool ok, const std::string& message) {
  return ok ? absl::OkStatus() : Invalid(message);
}

// JSON member helpers for FromJson; `where` is the path of the object ("inputs[2]").
std::string Path(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

Status CheckObject(const Json& j, const std::string& where, const std::set<std::string>& allowed,
                   const std::set<std::string>& required) {
  RETURN_IF_ERROR(
      Expect(j.is_object(), (where.empty() ? "the manifest" : where) + " must be a JSON object"));
  for (const auto& [key, value] : j.items()) {
    if (!allowed.count(key)) {
      return Invalid("unknown member " + Quoted(key) + " in " +
                     (where.empty() ? "the manifest" : where));
    }
  }
  for (const std::string& key : required) {
    RETURN_IF_ERROR(Expect(j.contains(key), Path(where, key) + " is missing"));
  }
  return absl::OkStatus();
}

StatusOr<std::string> GetString(const Json& j, const std::string& where, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_string()) return Invalid(Path(where, key) + " must be a string");
  return v.get<std::string>();
}

StatusOr<int64_t> GetInt(const Json& j, const std::string& where, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_number_integer()) return Invalid(Path(where, key) + " must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
    return Invalid(Path(where, key) + " is out of range");
  }
  return v.get<int64_t>();
}

StatusOr<const Json*> GetArray(const Json& j, const std::string& where, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_array()) return Invalid(Path(where, key) + " must be an array");
  return &v;
}

StatusOr<const Json*> GetObject(const Json& j, const std::string& where, const char* key) {
  const Json& v = j.at(key);
  if (!v.is_object()) return Invalid(Path(where, key) + " must be an object");
  return &v;
}

StatusOr<ColumnType> GetType(const Json& j, const std::string& where, const char* key) {
  ASSIGN_OR_RETURN(std::string name, GetString(j, where, key));
  std::optional<ColumnType> type = ParseColumnType(name);
  if (!type.has_value() || *type == ColumnType::kTimestamp) {
    return Invalid(Path(where, key) + " must be int64, float64, bool or string, not " +
                   Quoted(name));
  }
  return *type;
}

StatusOr<std::vector<int64_t>> GetShape(const Json& j, const std::string& where) {
  ASSIGN_OR_RETURN(const Json* shape, GetArray(j, where, "shape"));
  std::vector<int64_t> out;
  for (const Json& d : *shape) {
    if (!d.is_number_integer()) return Invalid(where + ".shape must hold integers");
    out.push_back(d.get<int64_t>());
  }
  return out;
}

const std::set<std::string>& OipDatatypes() {
  static const std::set<std::string> types = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64",
                                              "INT8", "INT16", "INT32",  "INT64",  "FP16",
                                              "FP32", "FP64",  "BYTES"};
  return types;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

bool IsValidFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name[0] == '.' || name == kManifestFileName) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool IsRole(std::string_view role) {
  return role == kModelRole || role == kReportRole || role == kDataRole;
}

Json TensorJson(const TensorSpec& t) {
  return {{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}};
}

// The members of an object Validate checks on its own (json objects).
Status ValidateTraining(const ModelTraining& t) {
  RETURN_IF_ERROR(Expect(t.spec.is_object(), "training.spec must be an object"));
  RETURN_IF_ERROR(Expect(t.params.is_object(), "training.params must be an object"));
  RETURN_IF_ERROR(Expect(t.summary.is_object(), "training.summary must be an object"));
  for (const auto& [name, value] : {std::pair{"spec", &t.spec}, std::pair{"params", &t.params},
                                    std::pair{"summary", &t.summary}}) {
    RETURN_IF_ERROR(Expect(CanonicalJson(*value).ok(),
                           std::string("training.") + name + " holds NaN or an infinity"));
  }
  return absl::OkStatus();
}

Status ValidateLineage(const ModelLineage& l) {
  for (size_t i = 0; i < l.datasets.size(); ++i) {
    const std::string where = "lineage.datasets[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(Expect(!l.datasets[i].name.empty(), where + ".name must not be empty"));
    RETURN_IF_ERROR(Expect(!l.datasets[i].version.empty(), where + ".version must not be empty"));
    RETURN_IF_ERROR(Expect(IsValidDigest(l.datasets[i].digest),
                           where + ".digest must be sha256:<64 lowercase hex>"));
  }
  for (size_t i = 0; i < l.feature_definitions.size(); ++i) {
    const std::string where = "lineage.feature_definitions[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(
        Expect(!l.feature_definitions[i].name.empty(), where + ".name must not be empty"));
    RETURN_IF_ERROR(Expect(IsValidDigest(l.feature_definitions[i].digest),
                           where + ".digest must be sha256:<64 lowercase hex>"));
  }
  RETURN_IF_ERROR(Expect(l.environment.empty() || IsValidDigest(l.environment),
                         "lineage.environment must be \"\" or sha256:<64 lowercase hex>"));
  return absl::OkStatus();
}

// --- The xgboost kind ---------------------------------------------------------------------------

class XgboostScorer : public Scorer {
 public:
  XgboostScorer(ModelManifest manifest, PreprocessSpec spec, XgboostModel model)
      : Scorer(std::move(manifest)), spec_(std::move(spec)), model_(std::move(model)) {}

  StatusOr<std::vector<double>> PredictTable(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    ASSIGN_OR_RETURN(std::vector<float> scores, model_.Predict(matrix));
    return std::vector<double>(scores.begin(), scores.end());
  }

  StatusOr<double> PredictRow(const Json& row) const override {
    RETURN_IF_ERROR(CheckInputs(row));
    ASSIGN_OR_RETURN(std::vector<float> values, spec_.ApplyRow(row));
    ASSIGN_OR_RETURN(std::vector<float> scores, model_.Predict(values, 1, values.size()));
    return static_cast<double>(scores.at(0));
  }

  StatusOr<std::vector<double>> PredictMargin(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    ASSIGN_OR_RETURN(std::vector<float> margins,
                     model_.PredictMargin(matrix.values, matrix.rows, matrix.cols));
    return std::vector<double>(margins.begin(), margins.end());
  }

  StatusOr<plinth::Contributions> Contributions(const Table& table) const override {
    RETURN_IF_ERROR(CheckInputs(table));
    ASSIGN_OR_RETURN(Matrix matrix, spec_.Apply(table));
    ASSIGN_OR_RETURN(std::vector<float> shap,
                     model_.PredictContributions(matrix.values, matrix.rows, matrix.cols));
    // Encoded column k belongs to raw input source[k]: the spec's features are the manifest's
    // inputs in order, each expanding to num_outputs() consecutive columns.
    std::vector<size_t> source;
    for (size_t f = 0; f < spec_.features().size(); ++f) {
      source.insert(source.end(), spec_.features()[f].num_outputs(), f);
    }
    const size_t cols = matrix.cols, inputs = spec_.features().size();
    plinth::Contributions out;
    out.method = "tree_shap";
    for (const FeatureSpec& f : spec_.features()) out.features.push_back(f.column);
    out.rows = matrix.rows;
    out.values.assign(matrix.rows * inputs, 0.0);
    out.bias.resize(matrix.rows);
    for (size_t r = 0; r < matrix.rows; ++r) {
      const float* row = shap.data() + r * (cols + 1);
      for (size_t k = 0; k < cols; ++k) out.values[r * inputs + source[k]] += row[k];
      out.bias[r] = row[cols];
    }
    return out;
  }

 private:
  PreprocessSpec spec_;
  XgboostModel model_;
};

StatusOr<std::unique_ptr<Scorer>> LoadXgboostScorer(const ModelPackage& package,
                                                    const ScorerOptions& options) {
  const ModelManifest& m = package.manifest;
  std::vector<std::string> model_files = m.FilesWithRole(kModelRole);
  if (model_files.size() != 1) {
    return absl::InvalidArgumentError(
        "an xgboost package has exactly one model file; this one has " +
        std::to_string(model_files.size()));
  }
  if (!m.preprocess.has_value()) {
    return absl::InvalidArgumentError("an xgboost package needs a preprocessing spec");
  }
  auto bytes = package.files.find(model_files[0]);
  if (bytes == package.files.end()) {
    return absl::DataLossError("model file " + Quoted(model_files[0]) + " is missing");
  }
  StatusOr<XgboostModel> model = XgboostModel::Load(bytes->second, options.nthread);
  if (!model.ok()) {
    return absl::InvalidArgumentError("model file " + Quoted(model_files[0]) + ": " +
                                      std::string(model.status().message()));
  }
  const std::vector<std::string> outputs = m.preprocess->OutputNames();
  if (model->feature_names() != outputs) {
    std::string detail;
    if (model->feature_names().size() != outputs.size()) {
      detail = "the model has " + std::to_string(model->feature_names().size()) +
               " features, the preprocessing spec " + std::to_string(outputs.size()) + " outputs";
    } else {
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (model->feature_names()[i] != outputs[i]) {
          detail = "feature " + std::to_string(i) + " is " + Quoted(model->feature_names()[i]) +
                   " in the model and " + Quoted(outputs[i]) + " in the preprocessing spec";
          break;
        }
      }
    }
    return absl::InvalidArgumentError("model file " + Quoted(model_files[0]) +
                                      ": its features differ from preprocess.outputs (" + detail +
                                      ")");
  }
  const std::string expected = m.task == ModelTask::kBinaryClassification
                                   ? XgboostObjectiveName(XgboostObjective::kBinaryLogistic)
                                   : XgboostObjectiveName(XgboostObjective::kSquaredError);
  if (model->objective() != expected) {
    return absl::InvalidArgumentError("model file " + Quoted(model_files[0]) + ": objective " +
                                      Quoted(model->objective()) + " does not fit task " +
                                      ModelTaskName(m.task) + " (expected " + expected + ")");
  }
  return std::unique_ptr<Scorer>(
      std::make_unique<XgboostScorer>(m, *m.preprocess, std::move(model).value()));
}

struct KindRegistry {
  std::mutex mu;
  std::map<std::string, ScorerFactory> factories;
};

KindRegistry& Kinds() {
  static KindRegistry* registry = [] {
    auto* r = new KindRegistry;
    r->factories[std::string(kXgboostKind)] = LoadXgboostScorer;
    r->factories[std::string(kLogisticKind)] = LoadLogisticScorer;
    r->factories[std::string(kScorecardKind)] = LoadScorecardScorer;
    return r;
  }();
  return *registry;
}

Status WithContext(const Status& s, const std::string& context) {
  return Status(s.code(), context + ": " + std::string(s.message()));
}

}  // namespace

bool IsModelKind(std::string_view kind) {
  return kind == kXgboostKind || kind == kLogisticKind || kind == kScorecardKind;
}

std::string ModelTaskName(ModelTask task) {
  return task == ModelTask::kBinaryClassification ? "binary_classification" : "regression";
}

std::optional<ModelTask> ParseModelTask(std::string_view name) {
  if (name == "binary_classification") return ModelTask::kBinaryClassification;
  if (name == "regression") return ModelTask::kRegression;
  return std::nullopt;
}

std::string OipDatatype(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "INT64";
    case ColumnType::kFloat64:
      return "FP64";
    case ColumnType::kBool:
      return "BOOL";
    case ColumnType::kString:
      return "BYTES";
    default:
      return "";
  }
}

TensorSpec PrimaryOutput(ModelTask task) {
  return {task == ModelTask::kBinaryClassification ? "probability" : "prediction", "FP64", {-1, 1}};
}

std::string PlinthVersion() { return PLINTH_VERSION_STRING; }

Status ModelManifest::Validate() const {
  RETURN_IF_ERROR(Expect(IsModelKind(kind),
                         "kind must be xgboost, logistic or scorecard, not " + Quoted(kind)));
  // inputs
  RETURN_IF_ERROR(Expect(!inputs.empty(), "inputs must not be empty"));
  std::set<std::string> input_names;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string where = "inputs[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(Expect(!inputs[i].name.empty(), where + ".name must not be empty"));
    RETURN_IF_ERROR(Expect(input_names.insert(inputs[i].name).second,
                           "input " + Quoted(inputs[i].name) + " appears twice"));
    RETURN_IF_ERROR(Expect(inputs[i].type != ColumnType::kTimestamp,
                           where + ".type must be int64, float64, bool or string"));
  }
  // target
  RETURN_IF_ERROR(Expect(!target.column.empty(), "target.column must not be empty"));
  RETURN_IF_ERROR(Expect(!input_names.count(target.column),
                         "target column " + Quoted(target.column) + " is also an input"));
  if (task == ModelTask::kBinaryClassification) {
    RETURN_IF_ERROR(Expect(target.type == ColumnType::kString ||
                               target.type == ColumnType::kInt64 ||
                               target.type == ColumnType::kBool,
                           "target.type must be string, int64 or bool for binary classification"));
    RETURN_IF_ERROR(Expect(target.classes.size() == 2 && target.classes[0] != target.classes[1],
                           "target.classes must be two distinct labels [negative, positive]"));
    RETURN_IF_ERROR(Expect(target.positive == target.classes[1],
                           "target.positive must equal target.classes[1]"));
  } else {
    RETURN_IF_ERROR(Expect(target.type == ColumnType::kInt64 ||
                               target.type == ColumnType::kFloat64 ||
                               target.type == ColumnType::kBool,
                           "target.type must be int64, float64 or bool for regression"));
    RETURN_IF_ERROR(Expect(target.classes.empty() && target.positive.empty(),
                           "a regression target has no classes or positive label"));
  }
  // outputs
  RETURN_IF_ERROR(Expect(!outputs.empty(), "outputs must not be empty"));
  std::set<std::string> output_names;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorSpec& t = outputs[i];
    const std::string where = "outputs[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(Expect(!t.name.empty(), where + ".name must not be empty"));
    RETURN_IF_ERROR(
        Expect(output_names.insert(t.name).second, "output " + Quoted(t.name) + " appears twice"));
    RETURN_IF_ERROR(Expect(OipDatatypes().count(t.datatype),
                           where +
                               ".datatype must be an Open Inference Protocol datatype (BOOL, "
                               "INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES), not " +
                               Quoted(t.datatype)));
    RETURN_IF_ERROR(Expect(!t.shape.empty() && t.shape[0] == -1,
                           where + ".shape must start with -1 (the batch)"));
    for (size_t d = 1; d < t.shape.size(); ++d) {
      RETURN_IF_ERROR(Expect(t.shape[d] > 0, where + ".shape's dimensions after the first must "
                                                     "be positive"));
    }
  }
  const TensorSpec primary = PrimaryOutput(task);
  RETURN_IF_ERROR(Expect(outputs[0] == primary,
                         "outputs[0] must be " + Quoted(primary.name) + " FP64 [-1, 1] for " +
                             ModelTaskName(task) + ", not " + Quoted(outputs[0].name) + " " +
                             outputs[0].datatype + " " + ShapeText(outputs[0].shape)));
  // preprocess
  if (kind == kScorecardKind) {
    RETURN_IF_ERROR(Expect(!preprocess.has_value(), "preprocess must be null for a scorecard"));
  } else {
    RETURN_IF_ERROR(Expect(preprocess.has_value(), "preprocess must be set for kind " + kind));
    const std::vector<FeatureSpec>& features = preprocess->features();
    RETURN_IF_ERROR(Expect(features.size() == inputs.size(),
                           "preprocess has " + std::to_string(features.size()) +
                               " features and the manifest " + std::to_string(inputs.size()) +
                               " inputs; they must be the same columns"));
    for (size_t i = 0; i < features.size(); ++i) {
      RETURN_IF_ERROR(Expect(features[i].column == inputs[i].name,
                             "preprocess.features[" + std::to_string(i) + "] is column " +
                                 Quoted(features[i].column) + " but inputs[" + std::to_string(i) +
                                 "] is " + Quoted(inputs[i].name)));
      RETURN_IF_ERROR(Expect(features[i].type == inputs[i].type,
                             "input " + Quoted(inputs[i].name) + " is " +
                                 ColumnTypeName(inputs[i].type) + " but preprocess says " +
                                 ColumnTypeName(features[i].type)));
    }
  }
  // files
  RETURN_IF_ERROR(Expect(!files.empty(), "files must not be empty"));
  std::set<std::string> file_names;
  bool model = false;
  for (size_t i = 0; i < files.size(); ++i) {
    const PackageFileEntry& f = files[i];
    const std::string where = "files[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(Expect(IsValidFileName(f.name),
                           where + ".name " + Quoted(f.name) +
                               " must be 1-255 characters of A-Z a-z 0-9 . _ -, not start with "
                               "'.', and not be manifest.json"));
    RETURN_IF_ERROR(
        Expect(file_names.insert(f.name).second, "file " + Quoted(f.name) + " appears twice"));
    RETURN_IF_ERROR(Expect(IsRole(f.role),
                           where + ".role must be model, report or data, not " + Quoted(f.role)));
    RETURN_IF_ERROR(
        Expect(IsValidDigest(f.digest), where + ".digest must be sha256:<64 lowercase hex>"));
    RETURN_IF_ERROR(Expect(f.size >= 0, where + ".size must be >= 0"));
    model = model || f.role == kModelRole;
  }
  RETURN_IF_ERROR(Expect(model, "files must hold a file with role model"));
  RETURN_IF_ERROR(ValidateTraining(training));
  RETURN_IF_ERROR(ValidateLineage(lineage));
  for (const auto& [name, value] : metrics) {
    RETURN_IF_ERROR(Expect(!name.empty(), "metric names must not be empty"));
    RETURN_IF_ERROR(Expect(std::isfinite(value), "metric " + Quoted(name) + " must be finite"));
  }
  RETURN_IF_ERROR(Expect(ParseTime(created_at).has_value(),
                         "created_at must be an RFC 3339 UTC time such as "
                         "2026-01-31T12:00:00.000000Z, not " +
                             Quoted(created_at)));
  RETURN_IF_ERROR(Expect(!plinth_version.empty(), "plinth_version must not be empty"));
  return absl::OkStatus();
}

Json ModelManifest::ToJson() const {
  Json inputs_json = Json::array();
  for (const ModelInput& in : inputs) {
    inputs_json.push_back({{"name", in.name},
                           {"type", ColumnTypeName(in.type)},
                           {"datatype", OipDatatype(in.type)},
                           {"shape", {-1}}});
  }
  Json outputs_json = Json::array();
  for (const TensorSpec& t : outputs) outputs_json.push_back(TensorJson(t));
  Json target_json = {{"column", target.column}, {"type", ColumnTypeName(target.type)}};
  if (task == ModelTask::kBinaryClassification) {
    target_json["classes"] = target.classes;
    target_json["positive"] = target.positive;
  }
  std::vector<PackageFileEntry> sorted = files;
  std::sort(sorted.begin(), sorted.end(),
            [](const PackageFileEntry& a, const PackageFileEntry& b) { return a.name < b.name; });
  Json files_json = Json::array();
  for (const PackageFileEntry& f : sorted) {
    files_json.push_back(
        {{"name", f.name}, {"role", f.role}, {"digest", f.digest}, {"size", f.size}});
  }
  Json datasets = Json::array();
  for (const ModelDatasetRef& d : lineage.datasets) {
    datasets.push_back({{"name", d.name}, {"version", d.version}, {"digest", d.digest}});
  }
  Json definitions = Json::array();
  for (const FeatureDefinitionRef& d : lineage.feature_definitions) {
    definitions.push_back({{"name", d.name}, {"digest", d.digest}});
  }
  Json metrics_json = Json::object();
  for (const auto& [name, value] : metrics) metrics_json[name] = value;
  return {{"format", kFormat},
          {"kind", kind},
          {"task", ModelTaskName(task)},
          {"inputs", inputs_json},
          {"outputs", outputs_json},
          {"target", target_json},
          {"preprocess", preprocess.has_value() ? preprocess->ToJson() : Json()},
          {"files", files_json},
          {"training",
           {{"run_id", training.run_id},
            {"pipeline", training.pipeline},
            {"step", training.step},
            {"seed", training.seed},
            {"spec", training.spec},
            {"params", training.params},
            {"summary", training.summary}}},
          {"lineage",
           {{"datasets", datasets},
            {"feature_definitions", definitions},
            {"environment", lineage.environment}}},
          {"metrics", metrics_json},
          {"created_at", created_at},
          {"plinth_version", plinth_version}};
}

StatusOr<ModelManifest> ModelManifest::FromJson(const Json& json) {
  static const std::set<std::string> kTop = {
      "format", "kind",     "task",    "inputs",  "outputs",    "target",        "preprocess",
      "files",  "training", "lineage", "metrics", "created_at", "plinth_version"};
  RETURN_IF_ERROR(CheckObject(json, "", kTop, kTop));
  ModelManifest m;
  ASSIGN_OR_RETURN(int64_t format, GetInt(json, "", "format"));
  RETURN_IF_ERROR(Expect(format == kFormat, "format must be " + std::to_string(kFormat) + ", not " +
                                                std::to_string(format)));
  ASSIGN_OR_RETURN(m.kind, GetString(json, "", "kind"));
  ASSIGN_OR_RETURN(std::string task, GetString(json, "", "task"));
  std::optional<ModelTask> parsed_task = ParseModelTask(task);
  RETURN_IF_ERROR(Expect(parsed_task.has_value(),
                         "task must be binary_classification or regression, not " + Quoted(task)));
  m.task = *parsed_task;

  ASSIGN_OR_RETURN(const Json* inputs, GetArray(json, "", "inputs"));
  for (size_t i = 0; i < inputs->size(); ++i) {
    const std::string where = "inputs[" + std::to_string(i) + "]";
    const Json& in = (*inputs)[i];
    static const std::set<std::string> kInput = {"name", "type", "datatype", "shape"};
    RETURN_IF_ERROR(CheckObject(in, where, kInput, kInput));
    ModelInput input;
    ASSIGN_OR_RETURN(input.name, GetString(in, where, "name"));
    ASSIGN_OR_RETURN(input.type, GetType(in, where, "type"));
    ASSIGN_OR_RETURN(std::string datatype, GetString(in, where, "datatype"));
    RETURN_IF_ERROR(Expect(datatype == OipDatatype(input.type),
                           where + ".datatype must be " + OipDatatype(input.type) + " for a " +
                               ColumnTypeName(input.type) + " input, not " + Quoted(datatype)));
    ASSIGN_OR_RETURN(std::vector<int64_t> shape, GetShape(in, where));
    RETURN_IF_ERROR(Expect(shape == std::vector<int64_t>{-1}, where + ".shape must be [-1]"));
    m.inputs.push_back(std::move(input));
  }

  ASSIGN_OR_RETURN(const Json* outputs, GetArray(json, "", "outputs"));
  for (size_t i = 0; i < outputs->size(); ++i) {
    const std::string where = "outputs[" + std::to_string(i) + "]";
    const Json& out = (*outputs)[i];
    static const std::set<std::string> kOutput = {"name", "datatype", "shape"};
    RETURN_IF_ERROR(CheckObject(out, where, kOutput, kOutput));
    TensorSpec t;
    ASSIGN_OR_RETURN(t.name, GetString(out, where, "name"));
    ASSIGN_OR_RETURN(t.datatype, GetString(out, where, "datatype"));
    ASSIGN_OR_RETURN(t.shape, GetShape(out, where));
    m.outputs.push_back(std::move(t));
  }

  {
    const Json& target = json.at("target");
    const bool binary = m.task == ModelTask::kBinaryClassification;
    RETURN_IF_ERROR(
        CheckObject(target, "target",
                    binary ? std::set<std::string>{"column", "type", "classes", "positive"}
                           : std::set<std::string>{"column", "type"},
                    binary ? std::set<std::string>{"column", "type", "classes", "positive"}
                           : std::set<std::string>{"column", "type"}));
    ASSIGN_OR_RETURN(m.target.column, GetString(target, "target", "column"));
    ASSIGN_OR_RETURN(m.target.type, GetType(target, "target", "type"));
    if (binary) {
      ASSIGN_OR_RETURN(const Json* classes, GetArray(target, "target", "classes"));
      for (const Json& c : *classes) {
        RETURN_IF_ERROR(Expect(c.is_string(), "target.classes must hold strings"));
        m.target.classes.push_back(c.get<std::string>());
      }
      ASSIGN_OR_RETURN(m.target.positive, GetString(target, "target", "positive"));
    }
  }

  if (!json.at("preprocess").is_null()) {
    StatusOr<PreprocessSpec> spec = PreprocessSpec::FromJson(json.at("preprocess"));
    if (!spec.ok()) return Invalid("preprocess: " + std::string(spec.status().message()));
    m.preprocess = std::move(spec).value();
  }

  ASSIGN_OR_RETURN(const Json* files, GetArray(json, "", "files"));
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string where = "files[" + std::to_string(i) + "]";
    const Json& f = (*files)[i];
    static const std::set<std::string> kFile = {"name", "role", "digest", "size"};
    RETURN_IF_ERROR(CheckObject(f, where, kFile, kFile));
    PackageFileEntry entry;
    ASSIGN_OR_RETURN(entry.name, GetString(f, where, "name"));
    ASSIGN_OR_RETURN(entry.role, GetString(f, where, "role"));
    ASSIGN_OR_RETURN(entry.digest, GetString(f, where, "digest"));
    ASSIGN_OR_RETURN(entry.size, GetInt(f, where, "size"));
    m.files.push_back(std::move(entry));
  }
  std::sort(m.files.begin(), m.files.end(),
            [](const PackageFileEntry& a, const PackageFileEntry& b) { return a.name < b.name; });

  {
    const Json& t = json.at("training");
    static const std::set<std::string> kTraining = {"run_id", "pipeline", "step",   "seed",
                                                    "spec",   "params",   "summary"};
    RETURN_IF_ERROR(CheckObject(t, "training", kTraining, kTraining));
    ASSIGN_OR_RETURN(m.training.run_id, GetString(t, "training", "run_id"));
    ASSIGN_OR_RETURN(m.training.pipeline, GetString(t, "training", "pipeline"));
    ASSIGN_OR_RETURN(m.training.step, GetString(t, "training", "step"));
    ASSIGN_OR_RETURN(m.training.seed, GetInt(t, "training", "seed"));
    ASSIGN_OR_RETURN(const Json* spec, GetObject(t, "training", "spec"));
    ASSIGN_OR_RETURN(const Json* params, GetObject(t, "training", "params"));
    ASSIGN_OR_RETURN(const Json* summary, GetObject(t, "training", "summary"));
    m.training.spec = *spec;
    m.training.params = *params;
    m.training.summary = *summary;
  }

  {
    const Json& l = json.at("lineage");
    static const std::set<std::string> kLineage = {"datasets", "feature_definitions",
                                                   "environment"};
    RETURN_IF_ERROR(CheckObject(l, "lineage", kLineage, kLineage));
    ASSIGN_OR_RETURN(const Json* datasets, GetArray(l, "lineage", "datasets"));
    for (size_t i = 0; i < datasets->size(); ++i) {
      const std::string where = "lineage.datasets[" + std::to_string(i) + "]";
      const Json& d = (*datasets)[i];
      static const std::set<std::string> kDataset = {"name", "version", "digest"};
      RETURN_IF_ERROR(CheckObject(d, where, kDataset, kDataset));
      ModelDatasetRef ref;
      ASSIGN_OR_RETURN(ref.name, GetString(d, where, "name"));
      ASSIGN_OR_RETURN(ref.version, GetString(d, where, "version"));
      ASSIGN_OR_RETURN(ref.digest, GetString(d, where, "digest"));
      m.lineage.datasets.push_back(std::move(ref));
    }
    ASSIGN_OR_RETURN(const Json* definitions, GetArray(l, "lineage", "feature_definitions"));
    for (size_t i = 0; i < definitions->size(); ++i) {
      const std::string where = "lineage.feature_definitions[" + std::to_string(i) + "]";
      const Json& d = (*definitions)[i];
      static const std::set<std::string> kDefinition = {"name", "digest"};
      RETURN_IF_ERROR(CheckObject(d, where, kDefinition, kDefinition));
      FeatureDefinitionRef ref;
      ASSIGN_OR_RETURN(ref.name, GetString(d, where, "name"));
      ASSIGN_OR_RETURN(ref.digest, GetString(d, where, "digest"));
      m.lineage.feature_definitions.push_back(std::move(ref));
    }
    ASSIGN_OR_RETURN(m.lineage.environment, GetString(l, "lineage", "environment"));
  }

  ASSIGN_OR_RETURN(const Json* metrics, GetObject(json, "", "metrics"));
  for (const auto& [name, value] : metrics->items()) {
    RETURN_IF_ERROR(Expect(value.is_number(), "metrics." + name + " must be a number"));
    m.metrics[name] = value.get<double>();
  }
  ASSIGN_OR_RETURN(m.created_at, GetString(json, "", "created_at"));
  ASSIGN_OR_RETURN(m.plinth_version, GetString(json, "", "plinth_version"));
  RETURN_IF_ERROR(m.Validate());
  return m;
}

const PackageFileEntry* ModelManifest::FindFile(std::string_view name) const {
  for (const PackageFileEntry& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> ModelManifest::FilesWithRole(std::string_view role) const {
  std::vector<std::string> out;
  for (const PackageFileEntry& f : files) {
    if (f.role == role) out.push_back(f.name);
  }
  return out;
}

StatusOr<std::string> ManifestBytes(const ModelManifest& manifest) {
  StatusOr<std::string> bytes = CanonicalJson(manifest.ToJson());
  if (!bytes.ok()) return Invalid(std::string(bytes.status().message()));
  return bytes;
}

StatusOr<ModelPackage> SealModelPackage(ModelManifest manifest,
                                        std::map<std::string, std::string> files) {
  for (const auto& [name, bytes] : files) {
    if (manifest.FindFile(name) == nullptr) {
      return Invalid("file " + Quoted(name) + " has no entry (name and role) in files");
    }
  }
  for (PackageFileEntry& entry : manifest.files) {
    auto it = files.find(entry.name);
    if (it == files.end()) {
      return Invalid("files lists " + Quoted(entry.name) + " but no such file was given");
    }
    entry.digest = Sha256Digest(it->second);
    entry.size = static_cast<int64_t>(it->second.size());
  }
  std::sort(manifest.files.begin(), manifest.files.end(),
            [](const PackageFileEntry& a, const PackageFileEntry& b) { return a.name < b.name; });
  RETURN_IF_ERROR(manifest.Validate());
  return ModelPackage{std::move(manifest), std::move(files), ""};
}

StatusOr<std::map<std::string, std::string>> PackageFiles(const ModelPackage& package) {
  RETURN_IF_ERROR(package.manifest.Validate());
  std::map<std::string, std::string> out = package.files;
  ASSIGN_OR_RETURN(out[std::string(kManifestFileName)], ManifestBytes(package.manifest));
  return out;
}

StatusOr<ModelPackage> ParseModelPackage(std::map<std::string, std::string> files) {
  auto manifest_it = files.find(std::string(kManifestFileName));
  if (manifest_it == files.end()) {
    return absl::NotFoundError("the package has no " + std::string(kManifestFileName));
  }
  StatusOr<Json> json = ParseJson(manifest_it->second);
  if (!json.ok()) {
    return absl::InvalidArgumentError(std::string(kManifestFileName) +
                                      " is not JSON: " + std::string(json.status().message()));
  }
  ASSIGN_OR_RETURN(ModelManifest manifest, ModelManifest::FromJson(*json));
  files.erase(manifest_it);
  for (const PackageFileEntry& entry : manifest.files) {
    auto it = files.find(entry.name);
    if (it == files.end()) {
      return absl::DataLossError("file " + Quoted(entry.name) +
                                 " listed in the manifest is missing");
    }
    if (static_cast<int64_t>(it->second.size()) != entry.size) {
      return absl::DataLossError("file " + Quoted(entry.name) + " has " +
                                 std::to_string(it->second.size()) + " bytes; the manifest says " +
                                 std::to_string(entry.size));
    }
    std::string digest = Sha256Digest(it->second);
    if (digest != entry.digest) {
      return absl::DataLossError("file " + Quoted(entry.name) + " has digest " + digest +
                                 "; the manifest says " + entry.digest);
    }
  }
  for (const auto& [name, bytes] : files) {
    if (manifest.FindFile(name) == nullptr) {
      return absl::InvalidArgumentError("file " + Quoted(name) + " is not listed in the manifest");
    }
  }
  return ModelPackage{std::move(manifest), std::move(files), ""};
}

Status WriteModelPackage(const std::string& dir, const ModelPackage& package) {
  ASSIGN_OR_RETURN(auto files, PackageFiles(package));
  // What ParseModelPackage checks, so that a package that could not be read back is not written.
  RETURN_IF_ERROR(ParseModelPackage(files).status());
  fs::path target = fs::path(dir);
  if (target.filename().empty()) target = target.parent_path();  // a trailing '/'
  if (target.empty()) return absl::InvalidArgumentError("the package folder's name is empty");
  const std::string parent = target.parent_path().empty() ? "." : target.parent_path().string();
  std::error_code ec;
  if (fs::symlink_status(target, ec).type() != fs::file_type::not_found) {
    return absl::AlreadyExistsError("model package " + target.string() + " already exists");
  }
  RETURN_IF_ERROR(MakeDirectories(parent, 0755));
  const std::string tmp = parent + "/." + target.filename().string() + ".tmp-" + RandomHex(8);
  if (::mkdir(tmp.c_str(), 0700) != 0) {
    return absl::InternalError("cannot create folder " + tmp + ": " + std::strerror(errno));
  }
  auto fail = [&tmp](Status s) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return s;
  };
  for (const auto& [name, bytes] : files) {
    Status s = WriteFileAtomic(tmp + "/" + name, bytes, 0444, /*overwrite=*/false);
    if (!s.ok()) return fail(s);
  }
  if (::chmod(tmp.c_str(), 0755) != 0) {
    return fail(absl::InternalError("cannot chmod " + tmp + ": " + std::strerror(errno)));
  }
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {
      return fail(absl::AlreadyExistsError("model package " + target.string() + " already exists"));
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return fail(absl::InternalError("cannot rename " + tmp + " to " + target.string() + ": " +
                                      std::strerror(errno)));
    }
    // A file system without RENAME_NOREPLACE: check, then rename (which would replace an empty
    // folder created in between).
    if (fs::symlink_status(target, ec).type() != fs::file_type::not_found) {
      return fail(absl::AlreadyExistsError("model package " + target.string() + " already exists"));
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
      return fail(absl::InternalError("cannot rename " + tmp + " to " + target.string() + ": " +
                                      std::strerror(errno)));
    }
  }
  return SyncDirectory(parent);
}

StatusOr<ModelManifest> WriteModelPackage(const std::string& dir, ModelManifest manifest,
                                          std::map<std::string, std::string> files) {
  ASSIGN_OR_RETURN(ModelPackage package, SealModelPackage(std::move(manifest), std::move(files)));
  RETURN_IF_ERROR(WriteModelPackage(dir, package));
  return std::move(package.manifest);
}

StatusOr<ModelPackage> ReadModelPackage(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError("no model package folder at " + dir);
  }
  std::map<std::string, std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->symlink_status(ec).type() != fs::file_type::regular) {
      return absl::InvalidArgumentError("model package " + dir + ": entry " + Quoted(name) +
                                        " is not a regular file");
    }
    StatusOr<std::string> bytes = ReadFile(it->path().string());
    if (!bytes.ok()) return WithContext(bytes.status(), "model package " + dir);
    files[name] = std::move(bytes).value();
  }
  if (ec) {
    return absl::InternalError("cannot list model package " + dir + ": " + ec.message());
  }
  StatusOr<ModelPackage> package = ParseModelPackage(std::move(files));
  if (!package.ok()) return WithContext(package.status(), "model package " + dir);
  package->path = dir;
  return package;
}

// --- Scoring -------------------------------------------------------------------------------------

StatusOr<std::map<std::string, std::vector<double>>> Scorer::PredictOutputs(
    const Table& table) const {
  ASSIGN_OR_RETURN(std::vector<double> primary, PredictTable(table));
  std::map<std::string, std::vector<double>> out;
  out[manifest_.outputs.at(0).name] = std::move(primary);
  return out;
}

StatusOr<std::vector<double>> Scorer::PredictMargin(const Table& table) const {
  ASSIGN_OR_RETURN(std::vector<double> out, PredictTable(table));
  if (manifest_.task == ModelTask::kBinaryClassification) {
    for (double& p : out) p = std::log(p) - std::log1p(-p);
  }
  return out;
}

StatusOr<Contributions> Scorer::Contributions(const Table& table) const {
  return absl::UnimplementedError("model kind " + Quoted(kind()) +
                                  " does not compute contributions");
}

Status Scorer::CheckInputs(const Table& table) const {
  for (const ModelInput& input : manifest_.inputs) {
    if (table.Find(input.name) == nullptr) {
      return absl::InvalidArgumentError("input column " + Quoted(input.name) +
                                        " is missing from the table");
    }
  }
  return absl::OkStatus();
}

Status Scorer::CheckInputs(const Json& row) const {
  if (!row.is_object()) return absl::InvalidArgumentError("a row must be a JSON object");
  for (const ModelInput& input : manifest_.inputs) {
    if (!row.contains(input.name)) {
      return absl::InvalidArgumentError("input column " + Quoted(input.name) +
                                        " is missing from the row (give null for a missing "
                                        "value)");
    }
  }
  return absl::OkStatus();
}

Status RegisterModelKind(const std::string& kind, ScorerFactory factory) {
  if (!IsModelKind(kind)) {
    return absl::InvalidArgumentError("model kind must be xgboost, logistic or scorecard, not " +
                                      Quoted(kind));
  }
  if (!factory) return absl::InvalidArgumentError("model kind " + Quoted(kind) + ": no factory");
  KindRegistry& registry = Kinds();
  std::lock_guard<std::mutex> lock(registry.mu);
  if (!registry.factories.emplace(kind, std::move(factory)).second) {
    return absl::AlreadyExistsError("model kind " + Quoted(kind) + " is already registered");
  }
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<Scorer>> LoadScorer(const ModelPackage& package,
                                             const ScorerOptions& options) {
  ScorerFactory factory;
  {
    KindRegistry& registry = Kinds();
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.factories.find(package.manifest.kind);
    if (it == registry.factories.end()) {
      return absl::InvalidArgumentError("no scorer is registered for model kind " +
                                        Quoted(package.manifest.kind));
    }
    factory = it->second;
  }
  RETURN_IF_ERROR(package.manifest.Validate());
  // A package assembled in memory has not been through ParseModelPackage: check what it scores
  // with.
  for (const PackageFileEntry& entry : package.manifest.files) {
    auto it = package.files.find(entry.name);
    if (it == package.files.end()) {
      return absl::DataLossError("file " + Quoted(entry.name) +
                                 " listed in the manifest is missing");
    }
    if (static_cast<int64_t>(it->second.size()) != entry.size ||
        Sha256Digest(it->second) != entry.digest) {
      return absl::DataLossError("file " + Quoted(entry.name) +
                                 " differs from its size or digest in the manifest");
    }
  }
  return factory(package, options);
}

}  // namespace plinth
