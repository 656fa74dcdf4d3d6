// The model package: what training produces and everything downstream consumes (the registry, the
// inference server, the edge binary). The format is docs/formats/model.md; in short:
//
//   <package>/
//     manifest.json   the ModelManifest below, as JSON (ManifestBytes)
//     model.json      the model file(s), e.g. XGBoost JSON ("model.ubj": UBJSON)
//     ...             any other file listed in the manifest (reports, data)
//
// The folder is flat. The manifest lists every other file with its role, size and SHA-256 digest,
// and a package holds exactly the files its manifest lists: a reader refuses a missing file, a
// file whose size or digest differs (DataLoss), and a file that is not listed (InvalidArgument),
// each error naming the file. The manifest's own bytes are not in it (a signature over the package
// covers manifest.json besides).
//
// Manifest rules (ModelManifest::Validate; FromJson also refuses unknown members and wrong types,
// with an InvalidArgument naming the member and what was expected):
// - format 1; kind "xgboost", "logistic" or "scorecard"; task "binary_classification" or
//   "regression".
// - inputs: the raw input columns in order, names unique and not the target, each int64, float64,
//   bool or string, and as Open Inference Protocol (v2) tensors: datatype INT64, FP64, BOOL or
//   BYTES (from the type) and shape [-1] (one value per row).
// - outputs: OIP tensors, names unique; the first is the primary output, FP64 [-1, 1]:
//   "probability" (of the positive class) for binary classification, "prediction" for
//   regression. Others (a scorecard's "score" points) may follow.
// - target: the column, its type, and for binary classification its two classes [negative,
//   positive] with positive == classes[1] (the cell text: a string, an integer's decimal form,
//   "true" / "false"); a regression target is numeric and has no classes.
// - preprocess: the PreprocessSpec (preprocess.h) for xgboost and logistic, whose features are
//   exactly the inputs (names, types, order); null for scorecard, which bins raw values itself.
// - files: names of 1-255 characters from [A-Za-z0-9._-], not starting with '.', not
//   manifest.json, unique; role "model" (what a scorer loads; at least one), "report" (for
//   people) or "data" (machine-readable extras); digest "sha256:<hex>"; size in bytes. Written
//   sorted by name.
// - training.spec, .params and .summary are objects (without NaN or infinities); lineage digests
//   are "sha256:<hex>"; metrics are finite numbers; created_at is RFC 3339 UTC.
//
// manifest.json is written as canonical JSON (ManifestBytes), so the same manifest always gives
// the same bytes; with the same created_at, a deterministic training gives a byte-identical
// package. Readers accept any JSON layout.
//
// Scoring: LoadScorer builds the kind's Scorer from a package through a registry of kinds. The
// xgboost kind is built in; others are added with RegisterModelKind.
#ifndef PLINTH_TRAIN_MODEL_PACKAGE_H_
#define PLINTH_TRAIN_MODEL_PACKAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"
#include "train/preprocess.h"

namespace plinth {

// The manifest's file name inside a package.
inline constexpr std::string_view kManifestFileName = "manifest.json";

// The model kinds a manifest may name.
inline constexpr std::string_view kXgboostKind = "xgboost";
inline constexpr std::string_view kLogisticKind = "logistic";
inline constexpr std::string_view kScorecardKind = "scorecard";
bool IsModelKind(std::string_view kind);

// File roles.
inline constexpr std::string_view kModelRole = "model";
inline constexpr std::string_view kReportRole = "report";
inline constexpr std::string_view kDataRole = "data";

enum class ModelTask { kBinaryClassification, kRegression };
// "binary_classification", "regression".
std::string ModelTaskName(ModelTask task);
std::optional<ModelTask> ParseModelTask(std::string_view name);

// The OIP datatype of a column type: INT64, FP64, BOOL, BYTES ("" for timestamp).
std::string OipDatatype(ColumnType type);

// A raw input column; as an OIP tensor: {name, datatype: OipDatatype(type), shape: [-1]}.
struct ModelInput {
  std::string name;
  ColumnType type = ColumnType::kFloat64;
  friend bool operator==(const ModelInput&, const ModelInput&) = default;
};

// An OIP tensor's metadata. Shapes: -1 for a dimension of any size (the batch).
struct TensorSpec {
  std::string name;
  std::string datatype;  // BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES
  std::vector<int64_t> shape;
  friend bool operator==(const TensorSpec&, const TensorSpec&) = default;
};

// The primary output of a task: probability or prediction, FP64 [-1, 1].
TensorSpec PrimaryOutput(ModelTask task);

struct ModelTarget {
  std::string column;
  ColumnType type = ColumnType::kString;
  // Binary classification: {negative, positive} as cell text; empty for regression.
  std::vector<std::string> classes;
  std::string positive;  // == classes[1]; empty for regression
  friend bool operator==(const ModelTarget&, const ModelTarget&) = default;
};

struct PackageFileEntry {
  std::string name;
  std::string role;
  std::string digest;  // "sha256:<hex>" of the file's bytes
  int64_t size = 0;
  friend bool operator==(const PackageFileEntry&, const PackageFileEntry&) = default;
};

struct ModelTraining {
  std::string run_id;    // the tracking run; "" outside one
  std::string pipeline;  // the pipeline; "" outside one
  std::string step;      // the pipeline step; "" outside one
  int64_t seed = 0;
  Json spec = Json::object();     // the training spec as given (TrainSpec::ToJson)
  Json params = Json::object();   // the kind's parameters as trained
  Json summary = Json::object();  // what happened (deterministic: no timings)
  friend bool operator==(const ModelTraining&, const ModelTraining&) = default;
};

struct ModelDatasetRef {
  std::string name;
  std::string version;
  std::string digest;
  friend bool operator==(const ModelDatasetRef&, const ModelDatasetRef&) = default;
};

struct FeatureDefinitionRef {
  std::string name;
  std::string digest;
  friend bool operator==(const FeatureDefinitionRef&, const FeatureDefinitionRef&) = default;
};

struct ModelLineage {
  std::vector<ModelDatasetRef> datasets;
  std::vector<FeatureDefinitionRef> feature_definitions;
  std::string environment;  // the training environment's digest; "" if unknown
  friend bool operator==(const ModelLineage&, const ModelLineage&) = default;
};

struct ModelManifest {
  // The JSON's "format"; FromJson refuses any other.
  static constexpr int kFormat = 1;

  std::string kind;
  ModelTask task = ModelTask::kBinaryClassification;
  std::vector<ModelInput> inputs;
  std::vector<TensorSpec> outputs;
  ModelTarget target;
  std::optional<PreprocessSpec> preprocess;
  std::vector<PackageFileEntry> files;
  ModelTraining training;
  ModelLineage lineage;
  std::map<std::string, double> metrics;
  std::string created_at;  // RFC 3339 UTC (FormatTime)
  std::string plinth_version;

  // InvalidArgument naming the member for a manifest breaking a rule at the top of this file.
  Status Validate() const;
  // Every member, files sorted by name. Does not validate.
  Json ToJson() const;
  // Validate()'s errors, and for unknown members, missing members, wrong types.
  static StatusOr<ModelManifest> FromJson(const Json& json);

  // nullptr if no file has that name.
  const PackageFileEntry* FindFile(std::string_view name) const;
  // The names of the files with `role`, in order.
  std::vector<std::string> FilesWithRole(std::string_view role) const;

  friend bool operator==(const ModelManifest&, const ModelManifest&) = default;
};

// The manifest's bytes in a package: ToJson() as canonical JSON (core/json.h: keys sorted, no
// whitespace), so the bytes are a function of the manifest alone. InvalidArgument if it holds NaN
// or an infinity (which Validate refuses).
StatusOr<std::string> ManifestBytes(const ModelManifest& manifest);

// This build's version (the CMake project's), for ModelManifest::plinth_version.
std::string PlinthVersion();

// A package in memory: the manifest and every other file's bytes, by name. `path` is the folder
// it was read from ("" when it never was).
struct ModelPackage {
  ModelManifest manifest;
  std::map<std::string, std::string> files;
  std::string path;
};

// The package of `manifest` and `files` (name -> bytes): each file's digest and size are computed
// into manifest.files, where every file must already have an entry giving its role (digest and
// size there are overwritten). InvalidArgument for a file without an entry, an entry without a
// file (naming it), or a manifest Validate refuses.
StatusOr<ModelPackage> SealModelPackage(ModelManifest manifest,
                                        std::map<std::string, std::string> files);

// Every file of the package by name, manifest.json (ManifestBytes) included: the form the pipeline
// stores, one artifact per file. InvalidArgument if the manifest is invalid.
StatusOr<std::map<std::string, std::string>> PackageFiles(const ModelPackage& package);

// The package of the files PackageFiles returned (or a folder's files): manifest.json parsed and
// validated, then every listed file checked. NotFound without manifest.json; InvalidArgument for a
// manifest that is not valid JSON or that FromJson refuses, and for a file not listed in the
// manifest; DataLoss for a listed file that is missing or whose size or digest differs.
StatusOr<ModelPackage> ParseModelPackage(std::map<std::string, std::string> files);

// Writes `package` as the folder `dir`, which must not exist (AlreadyExists): the files are
// written and synced in a temporary folder beside it (".<name>.tmp-<hex>"), which is then renamed
// to `dir`, so a reader never sees a half-written package. Missing parent folders are created.
// Files are read-only (0444), the folder 0755. The package is checked first as ParseModelPackage
// would (a package that could not be read back is never written).
Status WriteModelPackage(const std::string& dir, const ModelPackage& package);
// SealModelPackage then the above; returns the manifest with its digests.
StatusOr<ModelManifest> WriteModelPackage(const std::string& dir, ModelManifest manifest,
                                          std::map<std::string, std::string> files);

// Reads the package folder `dir` with ParseModelPackage's checks; besides, InvalidArgument for an
// entry that is not a regular file (a folder, a symlink) and NotFound if `dir` is not a folder.
StatusOr<ModelPackage> ReadModelPackage(const std::string& dir);

// Additive explanations of a model's margin, one value per row and raw input: for every row r,
//     bias[r] + sum_j values[r * features.size() + j] == margin of row r
// where the margin is the log-odds of the positive class for binary classification
// (logit(probability)) and the prediction for regression (Scorer::PredictMargin). Exact for every
// built-in kind, up to floating point (XGBoost computes in float: about 1e-6):
//   xgboost    TreeSHAP (XGBoost's exact path-dependent SHAP values, prediction type 2), summed
//              over the encoded columns a raw input expands to (a one-hot column's levels). A
//              feature no tree splits on gets exactly 0. bias: the expected margin over the
//              training data as the trees record it (the same for every row).
//   logistic   mean-centred: coefficient_k * (x_k - mean_k) summed over the input's encoded
//              columns k (0 for a missing cell, which the model imputes with the mean); bias the
//              log-odds of the average training row (LinearContributions in logistic.h), the SHAP
//              values of a linear model with independent features.
//   scorecard  beta_j * WoE(bin of the row) per kept feature, 0 for a feature the IV selection
//              dropped; bias the regression's intercept alpha. `points` holds the row's points
//              per feature as in the points table (they add up to the score).
// The struct shares its name with Scorer's method; inside a class derived from Scorer write
// plinth::Contributions.
struct Contributions {
  std::string method;                 // "tree_shap", "linear_exact" or "scorecard_exact"
  std::vector<std::string> features;  // the raw inputs, in the manifest's order
  size_t rows = 0;
  std::vector<double> values;  // rows x features, row-major
  std::vector<double> bias;    // per row: the part of the margin no feature explains
  std::vector<double> points;  // scorecard only (else empty): rows x features, points per bin
  double at(size_t row, size_t feature) const { return values[row * features.size() + feature]; }
};

// Scoring a package, whatever its kind. Input rows give every input column (extra columns are
// ignored); a missing one is an InvalidArgument naming it. The primary output is returned (see
// PrimaryOutput): a probability of the positive class, or a regression prediction.
//
// Calls on one Scorer must not overlap (XGBoost's booster is not thread-safe): load one per thread.
class Scorer {
 public:
  explicit Scorer(ModelManifest manifest) : manifest_(std::move(manifest)) {}
  virtual ~Scorer() = default;
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  const std::string& kind() const { return manifest_.kind; }
  const ModelManifest& manifest() const { return manifest_; }

  // One value per row of `table`.
  virtual StatusOr<std::vector<double>> PredictTable(const Table& table) const = 0;
  // One row as a JSON object {column: value}: a number, bool or string as the column's type takes
  // it (see PreprocessSpec::ApplyRow), null for a missing value.
  virtual StatusOr<double> PredictRow(const Json& row) const = 0;
  // Every output of the manifest by name, one value per row. By default the primary output only;
  // kinds with more outputs override it.
  virtual StatusOr<std::map<std::string, std::vector<double>>> PredictOutputs(
      const Table& table) const;
  // One margin per row: the log-odds of the positive class (binary), the prediction
  // (regression). By default computed from PredictTable (logit of the probability, which loses
  // precision near 0 and 1); the built-in kinds compute it directly.
  virtual StatusOr<std::vector<double>> PredictMargin(const Table& table) const;
  // See Contributions above. Unimplemented for a kind that cannot explain itself (the default).
  virtual StatusOr<plinth::Contributions> Contributions(const Table& table) const;

 protected:
  // InvalidArgument naming the first input column `table` lacks.
  Status CheckInputs(const Table& table) const;
  // InvalidArgument if `row` is not an object or lacks an input (a null value is present).
  Status CheckInputs(const Json& row) const;

 private:
  ModelManifest manifest_;
};

struct ScorerOptions {
  int nthread = 0;  // threads for kinds that use them (XGBoost); 0: the library's default
};

// Builds a kind's scorer from a package whose manifest and files are already checked. The factory
// should refuse (InvalidArgument) a package whose model files contradict the manifest.
using ScorerFactory =
    std::function<StatusOr<std::unique_ptr<Scorer>>(const ModelPackage&, const ScorerOptions&)>;

// Adds a kind. InvalidArgument unless IsModelKind(kind) and `factory` is set; AlreadyExists if the
// kind has a factory (xgboost always has). Thread-safe.
Status RegisterModelKind(const std::string& kind, ScorerFactory factory);

// The scorer of `package` by its manifest's kind. InvalidArgument (naming the kind) if no factory
// is registered for it, or the manifest is invalid; DataLoss if a listed file is missing from
// package.files or differs from its size or digest; and the factory's own errors.
//
// xgboost: the one "model" file is XGBoost JSON or UBJSON (any name); its feature names must equal
// preprocess.outputs and its objective the task (binary:logistic, reg:squarederror). Rows are
// preprocessed by the manifest's spec, then predicted.
StatusOr<std::unique_ptr<Scorer>> LoadScorer(const ModelPackage& package,
                                             const ScorerOptions& options = {});

}  // namespace plinth

#endif  // PLINTH_TRAIN_MODEL_PACKAGE_H_
