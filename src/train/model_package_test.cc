#include "train/model_package.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/files.h"
#include "core/sha256.h"
#include "train/trainer.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string TempDir() {
  std::string pattern = ::testing::TempDir() + "/model_package_test_XXXXXX";
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr);
  return pattern;
}

// 400 rows: amount (float64, with a few nulls), grade (string), flag (bool), note (string, unused
// by the model), y (good / bad, more often bad for large amounts and grade C).
Table SyntheticTable() {
  Table t;
  Column amount("amount", ColumnType::kFloat64), grade("grade", ColumnType::kString),
      flag("flag", ColumnType::kBool), note("note", ColumnType::kString),
      y("y", ColumnType::kString);
  const char* grades[] = {"A", "B", "C"};
  for (int i = 0; i < 400; ++i) {
    const double a = (i * 37) % 100;
    if (i % 50 == 7) {
      amount.AppendNull();
    } else {
      amount.AppendFloat64(a);
    }
    grade.AppendString(grades[(i * 7) % 3]);
    flag.AppendBool(i % 5 == 0);
    note.AppendString("n" + std::to_string(i % 4));
    const bool bad = a + ((i * 7) % 3 == 2 ? 40 : 0) + (i * 13) % 30 > 90;
    y.AppendString(bad ? "bad" : "good");
  }
  for (Column* c : {&amount, &grade, &flag, &note, &y}) EXPECT_TRUE(t.AddColumn(*c).ok());
  return t;
}

TrainSpec SmallSpec() {
  StatusOr<TrainSpec> spec =
      TrainSpec::FromJson({{"target", "y"},
                           {"positive", "bad"},
                           {"exclude", {"note"}},
                           {"params", {{"num_boost_round", 8}, {"max_depth", 3}, {"nthread", 1}}},
                           {"seed", 3}});
  EXPECT_TRUE(spec.ok()) << spec.status();
  return *spec;
}

const TrainedModel& Trained() {
  static const TrainedModel* trained = [] {
    FakeClock clock(1767225600000000);  // 2026-01-01T00:00:00Z
    TrainOptions options;
    options.clock = &clock;
    options.nthread = 1;
    options.run_id = "run-1";
    options.lineage.datasets.push_back({"loans", "v3", Sha256Digest("loans")});
    options.lineage.feature_definitions.push_back({"loan_features", Sha256Digest("defs")});
    options.lineage.environment = Sha256Digest("env");
    StatusOr<TrainedModel> m = TrainModel(SmallSpec(), SyntheticTable(), options);
    EXPECT_TRUE(m.ok()) << m.status();
    return new TrainedModel(std::move(m).value());
  }();
  return *trained;
}

const ModelManifest& Manifest() { return Trained().package.manifest; }

TEST(ModelManifestTest, TrainedManifestDescribesTheModel) {
  const ModelManifest& m = Manifest();
  EXPECT_EQ(m.kind, "xgboost");
  EXPECT_EQ(m.task, ModelTask::kBinaryClassification);
  ASSERT_EQ(m.inputs.size(), 3u);
  EXPECT_EQ(m.inputs[0], (ModelInput{"amount", ColumnType::kFloat64}));
  EXPECT_EQ(m.inputs[1], (ModelInput{"grade", ColumnType::kString}));
  EXPECT_EQ(m.inputs[2], (ModelInput{"flag", ColumnType::kBool}));
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0], (TensorSpec{"probability", "FP64", {-1, 1}}));
  EXPECT_EQ(m.target.column, "y");
  EXPECT_EQ(m.target.classes, (std::vector<std::string>{"good", "bad"}));
  EXPECT_EQ(m.target.positive, "bad");
  ASSERT_TRUE(m.preprocess.has_value());
  ASSERT_EQ(m.files.size(), 1u);
  EXPECT_EQ(m.files[0].name, "model.json");
  EXPECT_EQ(m.files[0].role, "model");
  EXPECT_EQ(m.files[0].digest, Sha256Digest(Trained().package.files.at("model.json")));
  EXPECT_EQ(m.created_at, "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(m.training.run_id, "run-1");
  EXPECT_EQ(m.training.seed, 3);
  EXPECT_EQ(m.lineage.datasets.size(), 1u);
  EXPECT_FALSE(m.plinth_version.empty());
  EXPECT_TRUE(m.metrics.count("train_auc"));

  const Json j = m.ToJson();
  EXPECT_EQ(j["inputs"][1],
            Json({{"name", "grade"}, {"type", "string"}, {"datatype", "BYTES"}, {"shape", {-1}}}));
  EXPECT_EQ(j["inputs"][2]["datatype"], "BOOL");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP64");
}

TEST(ModelManifestTest, JsonRoundTripsAndBytesAreStable) {
  const ModelManifest& m = Manifest();
  StatusOr<ModelManifest> back = ModelManifest::FromJson(m.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(*ManifestBytes(*back), *ManifestBytes(m));
  const std::string bytes = *ManifestBytes(m);
  EXPECT_EQ(bytes, *CanonicalJson(m.ToJson()));
  // Keys are sorted: "created_at" comes before "files", "format" before "inputs".
  EXPECT_LT(bytes.find("\"created_at\""), bytes.find("\"files\""));
  EXPECT_LT(bytes.find("\"format\""), bytes.find("\"inputs\""));
}

// The manifest's JSON with `edit` applied, read back.
Status FromEditedJson(const std::function<void(Json&)>& edit) {
  Json j = Manifest().ToJson();
  edit(j);
  return ModelManifest::FromJson(j).status();
}

void ExpectInvalid(const std::function<void(Json&)>& edit, const std::string& message) {
  Status s = FromEditedJson(edit);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message << ": " << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(message));
}

TEST(ModelManifestTest, RefusesUnknownMembersAndWrongTypes) {
  ExpectInvalid([](Json& j) { j["signature"] = "x"; }, "unknown member 'signature'");
  ExpectInvalid([](Json& j) { j["files"][0]["mode"] = 420; }, "unknown member 'mode' in files[0]");
  ExpectInvalid([](Json& j) { j["training"]["extra"] = 1; }, "in training");
  ExpectInvalid([](Json& j) { j["lineage"]["datasets"][0]["x"] = 1; }, "lineage.datasets[0]");
  ExpectInvalid([](Json& j) { j["target"]["weights"] = 1; }, "unknown member 'weights' in target");
  ExpectInvalid([](Json& j) { j.erase("created_at"); }, "created_at is missing");
  ExpectInvalid([](Json& j) { j["format"] = 2; }, "format must be 1");
  ExpectInvalid([](Json& j) { j["kind"] = "neural"; },
                "kind must be xgboost, logistic or scorecard");
  ExpectInvalid([](Json& j) { j["task"] = "ranking"; }, "task must be");
  ExpectInvalid([](Json& j) { j["files"][0]["size"] = "12"; }, "files[0].size must be an integer");
  ExpectInvalid([](Json& j) { j["metrics"]["x"] = "high"; }, "metrics.x must be a number");
  ExpectInvalid([](Json& j) { j["preprocess"]["format"] = 9; }, "preprocess: ");
  ExpectInvalid([](Json& j) { j["training"]["params"] = Json::array(); },
                "training.params must be an object");
}

TEST(ModelManifestTest, ChecksConsistency) {
  // OIP metadata must follow from the input's type.
  ExpectInvalid([](Json& j) { j["inputs"][0]["datatype"] = "FP32"; },
                "inputs[0].datatype must be FP64 for a float64 input");
  ExpectInvalid([](Json& j) { j["inputs"][0]["shape"] = {-1, 1}; }, "inputs[0].shape must be [-1]");
  ExpectInvalid([](Json& j) { j["inputs"][0]["type"] = "timestamp"; }, "inputs[0].type must be");
  // Inputs and the preprocessing spec's features are the same columns.
  ExpectInvalid(
      [](Json& j) {
        j["inputs"][0]["type"] = "int64";
        j["inputs"][0]["datatype"] = "INT64";
      },
      "input 'amount' is int64 but preprocess says float64");
  ExpectInvalid([](Json& j) { j["inputs"].erase(2); },
                "preprocess has 3 features and the manifest 2 inputs");
  ExpectInvalid([](Json& j) { std::swap(j["inputs"][0], j["inputs"][1]); },
                "preprocess.features[0] is column 'amount' but inputs[0] is 'grade'");
  ExpectInvalid([](Json& j) { j["inputs"][1]["name"] = "amount"; }, "input 'amount' appears twice");
  // Kinds and preprocessing.
  ExpectInvalid([](Json& j) { j["preprocess"] = nullptr; },
                "preprocess must be set for kind xgboost");
  ExpectInvalid([](Json& j) { j["kind"] = "scorecard"; },
                "preprocess must be null for a scorecard");
  // Target.
  ExpectInvalid([](Json& j) { j["target"]["positive"] = "good"; },
                "target.positive must equal target.classes[1]");
  ExpectInvalid([](Json& j) { j["target"]["classes"] = {"bad", "bad"}; }, "two distinct labels");
  ExpectInvalid([](Json& j) { j["target"]["column"] = "grade"; },
                "target column 'grade' is also an input");
  ExpectInvalid([](Json& j) { j["task"] = "regression"; }, "unknown member 'classes' in target");
  ExpectInvalid([](Json& j) { j["target"]["type"] = "float64"; }, "target.type must be string");
  // Outputs.
  ExpectInvalid([](Json& j) { j["outputs"][0]["name"] = "score"; },
                "outputs[0] must be 'probability' FP64 [-1, 1] for binary_classification");
  ExpectInvalid(
      [](Json& j) {
        j["outputs"].push_back({{"name", "score"}, {"datatype", "REAL"}, {"shape", {-1, 1}}});
      },
      "outputs[1].datatype must be an Open Inference Protocol datatype");
  ExpectInvalid(
      [](Json& j) {
        j["outputs"].push_back({{"name", "score"}, {"datatype", "FP64"}, {"shape", {1}}});
      },
      "outputs[1].shape must start with -1");
  ExpectInvalid([](Json& j) { j["outputs"] = Json::array(); }, "outputs must not be empty");
  // Files.
  ExpectInvalid([](Json& j) { j["files"][0]["name"] = "../model.json"; }, "files[0].name");
  ExpectInvalid([](Json& j) { j["files"][0]["name"] = "manifest.json"; }, "files[0].name");
  ExpectInvalid([](Json& j) { j["files"][0]["name"] = ".hidden"; }, "files[0].name");
  ExpectInvalid([](Json& j) { j["files"][0]["role"] = "weights"; },
                "files[0].role must be model, report or data");
  ExpectInvalid([](Json& j) { j["files"][0]["role"] = "report"; },
                "files must hold a file with role model");
  ExpectInvalid([](Json& j) { j["files"][0]["digest"] = "sha256:abc"; }, "files[0].digest");
  ExpectInvalid([](Json& j) { j["files"][0]["size"] = -1; }, "files[0].size must be >= 0");
  ExpectInvalid([](Json& j) { j["files"].push_back(j["files"][0]); },
                "file 'model.json' appears twice");
  // Lineage, metrics, time.
  ExpectInvalid([](Json& j) { j["lineage"]["datasets"][0]["digest"] = "abc"; },
                "lineage.datasets[0].digest");
  ExpectInvalid([](Json& j) { j["lineage"]["environment"] = "env"; }, "lineage.environment");
  ExpectInvalid([](Json& j) { j["created_at"] = "yesterday"; }, "created_at must be an RFC 3339");
  ExpectInvalid([](Json& j) { j["plinth_version"] = ""; }, "plinth_version must not be empty");

  ModelManifest m = Manifest();
  m.metrics["test_auc"] = std::nan("");
  EXPECT_THAT(std::string(m.Validate().message()), HasSubstr("metric 'test_auc' must be finite"));
  EXPECT_FALSE(ManifestBytes(m).ok());
  m = Manifest();
  m.training.summary["best_score"] = std::nan("");
  EXPECT_THAT(std::string(m.Validate().message()), HasSubstr("training.summary holds NaN"));
}

TEST(ModelPackageTest, WritesAndReadsAFolder) {
  const std::string root = TempDir();
  const std::string dir = root + "/models/m1";
  ModelPackage package = Trained().package;
  package.manifest.files.push_back({"report.html", "report", "", 0});
  package.files["report.html"] = "<p>report</p>";
  StatusOr<ModelPackage> sealed =
      SealModelPackage(package.manifest, package.files);  // digests for the new file
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(WriteModelPackage(dir, *sealed).ok());

  // Only the package is left beside it: no temporary folder.
  std::vector<std::string> siblings;
  for (const auto& e : fs::directory_iterator(root + "/models")) {
    siblings.push_back(e.path().filename().string());
  }
  EXPECT_EQ(siblings, std::vector<std::string>{"m1"});
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"manifest.json", "model.json", "report.html"}));
  StatusOr<std::string> manifest_bytes = ReadFile(dir + "/manifest.json");
  ASSERT_TRUE(manifest_bytes.ok());
  EXPECT_EQ(*manifest_bytes, *ManifestBytes(sealed->manifest));
  struct stat st;
  ASSERT_EQ(::stat((dir + "/model.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);

  StatusOr<ModelPackage> read = ReadModelPackage(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->manifest, sealed->manifest);
  EXPECT_EQ(read->files, sealed->files);
  EXPECT_EQ(read->path, dir);

  // Packages are immutable: a second write to the same folder is refused.
  Status again = WriteModelPackage(dir, *sealed);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  // So is a write over an empty folder.
  fs::create_directories(root + "/empty");
  EXPECT_EQ(WriteModelPackage(root + "/empty", *sealed).code(), absl::StatusCode::kAlreadyExists);

  // The convenience form seals and writes.
  StatusOr<ModelManifest> written =
      WriteModelPackage(root + "/m2", package.manifest, package.files);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, sealed->manifest);
  fs::remove_all(root);
}

// Writes the trained package to a fresh folder and returns it.
std::string WrittenPackage(const std::string& root, const std::string& name) {
  const std::string dir = root + "/" + name;
  EXPECT_TRUE(WriteModelPackage(dir, Trained().package).ok());
  return dir;
}

void MakeWritable(const std::string& path) { ::chmod(path.c_str(), 0644); }

TEST(ModelPackageTest, DetectsTampering) {
  const std::string root = TempDir();
  {
    // One changed byte in the model.
    const std::string dir = WrittenPackage(root, "changed");
    std::string bytes = *ReadFile(dir + "/model.json");
    bytes[bytes.size() / 2] ^= 1;
    MakeWritable(dir + "/model.json");
    std::ofstream(dir + "/model.json", std::ios::binary | std::ios::trunc) << bytes;
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << read.status();
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("'model.json' has digest"));
  }
  {
    // A truncated model: the size differs.
    const std::string dir = WrittenPackage(root, "truncated");
    MakeWritable(dir + "/model.json");
    fs::resize_file(dir + "/model.json", 10);
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("'model.json' has 10 bytes"));
  }
  {
    const std::string dir = WrittenPackage(root, "missing");
    fs::remove(dir + "/model.json");
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(read.status().message()),
                HasSubstr("file 'model.json' listed in the manifest is missing"));
  }
  {
    const std::string dir = WrittenPackage(root, "extra");
    std::ofstream(dir + "/notes.txt") << "hello";
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()),
                HasSubstr("file 'notes.txt' is not listed in the manifest"));
  }
  {
    const std::string dir = WrittenPackage(root, "folder");
    fs::create_directory(dir + "/sub");
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("'sub' is not a regular file"));
  }
  {
    // An unknown member in the manifest.
    const std::string dir = WrittenPackage(root, "member");
    Json j = Trained().package.manifest.ToJson();
    j["approved"] = true;
    MakeWritable(dir + "/manifest.json");
    std::ofstream(dir + "/manifest.json", std::ios::trunc) << j.dump();
    StatusOr<ModelPackage> read = ReadModelPackage(dir);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(read.status().message()), HasSubstr("unknown member 'approved'"));
  }
  {
    const std::string dir = WrittenPackage(root, "no_manifest");
    fs::remove(dir + "/manifest.json");
    EXPECT_EQ(ReadModelPackage(dir).status().code(), absl::StatusCode::kNotFound);
  }
  EXPECT_EQ(ReadModelPackage(root + "/nowhere").status().code(), absl::StatusCode::kNotFound);
  fs::remove_all(root);
}

TEST(ModelPackageTest, InMemoryFilesRoundTrip) {
  StatusOr<std::map<std::string, std::string>> files = PackageFiles(Trained().package);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ(files->at("manifest.json"), *ManifestBytes(Manifest()));
  StatusOr<ModelPackage> parsed = ParseModelPackage(*files);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->manifest, Manifest());
  EXPECT_EQ(parsed->files, Trained().package.files);

  auto tampered = *files;
  tampered["model.json"] += " ";
  EXPECT_EQ(ParseModelPackage(tampered).status().code(), absl::StatusCode::kDataLoss);
  tampered = *files;
  tampered["extra.bin"] = "x";
  EXPECT_EQ(ParseModelPackage(tampered).status().code(), absl::StatusCode::kInvalidArgument);
  tampered = *files;
  tampered["manifest.json"] = "{not json";
  EXPECT_EQ(ParseModelPackage(tampered).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelPackageTest, SealNeedsAnEntryPerFileAndAFilePerEntry) {
  ModelManifest m = Manifest();
  std::map<std::string, std::string> files = Trained().package.files;
  files["extra.bin"] = "x";
  StatusOr<ModelPackage> p = SealModelPackage(m, files);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("'extra.bin' has no entry"));
  files.erase("extra.bin");
  m.files.push_back({"card.json", "model", "", 0});
  p = SealModelPackage(m, files);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("'card.json' but no such file"));
}

TEST(ScorerTest, PredictsTablesAndRowsAlike) {
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(Trained().package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  EXPECT_EQ((*scorer)->kind(), "xgboost");
  const Table table = SyntheticTable();
  StatusOr<std::vector<double>> scores = (*scorer)->PredictTable(table);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), table.num_rows());
  EXPECT_EQ(*scores, Trained().train_predictions);
  for (size_t r : {0, 7, 57, 123, 399}) {  // row 7 and 57 have a null amount
    Json row = Json::object();
    const Column& amount = *table.Find("amount");
    row["amount"] = amount.IsNull(r) ? Json() : Json(amount.float64s()[r]);
    row["grade"] = std::string(table.Find("grade")->StringAt(r));
    row["flag"] = table.Find("flag")->bools()[r] != 0;
    row["unused"] = "extra members are ignored";
    StatusOr<double> one = (*scorer)->PredictRow(row);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(*one, (*scores)[r]) << "row " << r;
  }
  StatusOr<std::map<std::string, std::vector<double>>> outputs = (*scorer)->PredictOutputs(table);
  ASSERT_TRUE(outputs.ok());
  EXPECT_EQ(outputs->at("probability"), *scores);
}

TEST(ScorerTest, MissingInputsAreNamed) {
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(Trained().package);
  ASSERT_TRUE(scorer.ok());
  const Table table = SyntheticTable();
  Table without;
  for (const Column& c : table.columns()) {
    if (c.name() != "grade") {
      ASSERT_TRUE(without.AddColumn(c).ok());
    }
  }
  StatusOr<std::vector<double>> scores = (*scorer)->PredictTable(without);
  EXPECT_EQ(scores.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(scores.status().message()), HasSubstr("input column 'grade' is missing"));
  StatusOr<double> one = (*scorer)->PredictRow({{"amount", 3.0}, {"flag", true}});
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(one.status().message()), HasSubstr("input column 'grade' is missing"));
  // null is a missing value, not a missing column.
  EXPECT_TRUE(
      (*scorer)->PredictRow({{"amount", nullptr}, {"grade", nullptr}, {"flag", false}}).ok());
  EXPECT_FALSE((*scorer)->PredictRow(Json::array()).ok());
}

TEST(ScorerTest, RefusesAModelThatContradictsTheManifest) {
  // A spec whose outputs are not the model's features (one grade level fewer).
  ModelPackage package = Trained().package;
  Json spec = package.manifest.preprocess->ToJson();
  spec["features"][1]["levels"].erase(2);
  spec["outputs"].erase(3);
  StatusOr<PreprocessSpec> changed = PreprocessSpec::FromJson(spec);
  ASSERT_TRUE(changed.ok()) << changed.status();
  package.manifest.preprocess = *changed;
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(package);
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(scorer.status().message()),
              HasSubstr("its features differ from preprocess.outputs"));

  // A regression manifest around a binary model.
  package = Trained().package;
  package.manifest.task = ModelTask::kRegression;
  package.manifest.outputs = {PrimaryOutput(ModelTask::kRegression)};
  package.manifest.target = {"amount_next", ColumnType::kFloat64, {}, ""};
  ASSERT_TRUE(package.manifest.Validate().ok()) << package.manifest.Validate();
  scorer = LoadScorer(package);
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(scorer.status().message()), HasSubstr("does not fit task regression"));

  // A model file that is not a model.
  package = Trained().package;
  package.files["model.json"] = "{\"not\": \"a model\"}";
  scorer = LoadScorer(package);  // the digest no longer matches
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(scorer.status().message()), HasSubstr("'model.json' differs"));
  StatusOr<ModelPackage> resealed = SealModelPackage(package.manifest, package.files);
  ASSERT_TRUE(resealed.ok());
  scorer = LoadScorer(*resealed);
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(scorer.status().message()), HasSubstr("model file 'model.json'"));
}

TEST(ScorerTest, KindsComeFromTheRegistry) {
  EXPECT_EQ(
      RegisterModelKind("xgboost",
                        [](const ModelPackage&, const ScorerOptions&) {
                          return StatusOr<std::unique_ptr<Scorer>>(absl::InternalError("unused"));
                        })
          .code(),
      absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(
      RegisterModelKind("neural",
                        [](const ModelPackage&, const ScorerOptions&) {
                          return StatusOr<std::unique_ptr<Scorer>>(absl::InternalError("unused"));
                        })
          .code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RegisterModelKind("scorecard", nullptr).code(), absl::StatusCode::kInvalidArgument);

  // Every kind is built in; a package whose model file is not its kind's is refused.
  for (const char* kind : {"logistic", "scorecard"}) {
    EXPECT_EQ(
        RegisterModelKind(kind,
                          [](const ModelPackage&, const ScorerOptions&) {
                            return StatusOr<std::unique_ptr<Scorer>>(absl::InternalError("unused"));
                          })
            .code(),
        absl::StatusCode::kAlreadyExists)
        << kind;
  }
  ModelPackage package = Trained().package;
  package.manifest.kind = "scorecard";
  package.manifest.preprocess.reset();
  package.manifest.outputs.push_back({"score", "FP64", {-1, 1}});
  ASSERT_TRUE(package.manifest.Validate().ok()) << package.manifest.Validate();
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(package);  // an XGBoost file inside
  EXPECT_EQ(scorer.status().code(), absl::StatusCode::kInvalidArgument) << scorer.status();
}

}  // namespace
}  // namespace plinth
