#include "train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "train/split.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

// lending_club.csv split 80/20, stratified by Class (seed 42).
struct Loans {
  Table train, test;
};

const Loans& LoanData() {
  static const Loans* data = [] {
    auto* d = new Loans;
    StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    EXPECT_TRUE(table.ok()) << table.status();
    StatusOr<std::vector<float>> labels = BinaryLabels(*table->Find("Class"), "bad");
    EXPECT_TRUE(labels.ok()) << labels.status();
    StatusOr<Split> split = StratifiedSplit(*labels, 0.2, 42);
    EXPECT_TRUE(split.ok()) << split.status();
    d->train = TakeRows(*table, split->train);
    d->test = TakeRows(*table, split->test);
    return d;
  }();
  return *data;
}

// One XGBoost thread: the test machines are small and shared (see xgboost_model_test.cc).
Json LoanSpecJson() {
  return {{"kind", "xgboost"},
          {"target", "Class"},
          {"positive", "bad"},
          {"params",
           {{"num_boost_round", 120}, {"max_depth", 3}, {"learning_rate", 0.08}, {"nthread", 1}}},
          {"seed", 7}};
}

TrainSpec Spec(const Json& json) {
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : TrainSpec();
}

TrainOptions FixedOptions(const FakeClock* clock) {
  TrainOptions options;
  options.clock = clock;
  options.nthread = 1;
  return options;
}

const FakeClock& Clock() {
  static const FakeClock* clock = new FakeClock(1767225600000000);
  return *clock;
}

const TrainedModel& LoanModel() {
  static const TrainedModel* model = [] {
    StatusOr<TrainedModel> m =
        TrainModel(Spec(LoanSpecJson()), LoanData().train, FixedOptions(&Clock()));
    EXPECT_TRUE(m.ok()) << m.status();
    return new TrainedModel(std::move(m).value());
  }();
  return *model;
}

TEST(TrainerTest, TrainsAndEvaluatesOnLendingClub) {
  const TrainedModel& m = LoanModel();
  const ModelManifest& manifest = m.package.manifest;
  EXPECT_EQ(manifest.inputs.size(), 22u);  // every column but Class
  EXPECT_EQ(manifest.target.classes, (std::vector<std::string>{"good", "bad"}));
  EXPECT_EQ(m.train_predictions.size(), LoanData().train.num_rows());
  EXPECT_GT(manifest.metrics.at("train_auc"), 0.7);
  EXPECT_EQ(manifest.training.summary["trees"], 120);
  EXPECT_TRUE(m.report.contains("seconds"));
  EXPECT_FALSE(manifest.training.summary.contains("seconds"));

  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  StatusOr<Evaluation> e = EvaluateModel(**scorer, LoanData().test, m.train_predictions);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GE(e->metrics.at("test_auc"), 0.68);
  EXPECT_NEAR(e->metrics.at("test_gini"), 2 * e->metrics.at("test_auc") - 1, 1e-9);
  for (const char* key : {"test_ks", "test_log_loss", "test_brier", "test_precision", "test_recall",
                          "test_f1", "test_accuracy", "test_base_rate", "test_rows", "test_psi"}) {
    EXPECT_TRUE(e->metrics.count(key)) << key;
  }
  EXPECT_EQ(e->metrics.at("test_rows"), static_cast<double>(LoanData().test.num_rows()));
  EXPECT_LT(e->metrics.at("test_psi"), 0.1);  // a random split: the scores are stable
  EXPECT_EQ(e->json["metrics"]["deciles"].size(), 10u);
  EXPECT_EQ(e->json["positive"], "bad");
  EXPECT_TRUE(e->json["psi"]["bins"].is_array());
  EXPECT_THAT(e->html, HasSubstr("<!DOCTYPE html>"));
  EXPECT_THAT(e->html, HasSubstr("<svg"));
  EXPECT_THAT(e->html, HasSubstr("ROC"));
  EXPECT_THAT(e->html, HasSubstr("test_auc"));
  EXPECT_THAT(e->html, HasSubstr("Deciles"));

  // The same on the training rows, under another prefix.
  EvaluationOptions on_train;
  on_train.prefix = "train";
  on_train.threshold = 0.3;
  StatusOr<Evaluation> train = EvaluateModel(**scorer, LoanData().train, {}, on_train);
  ASSERT_TRUE(train.ok());
  EXPECT_NEAR(train->metrics.at("train_auc"), m.package.manifest.metrics.at("train_auc"), 1e-6);
  EXPECT_FALSE(train->metrics.count("train_psi"));
  EXPECT_EQ(train->json["metrics"]["threshold"], 0.3);
}

TEST(TrainerTest, TrainingIsDeterministic) {
  const TrainedModel& a = LoanModel();
  StatusOr<TrainedModel> b =
      TrainModel(Spec(LoanSpecJson()), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(b.ok()) << b.status();
  StatusOr<std::map<std::string, std::string>> fa = PackageFiles(a.package);
  StatusOr<std::map<std::string, std::string>> fb = PackageFiles(b->package);
  ASSERT_TRUE(fa.ok() && fb.ok());
  EXPECT_EQ(*fa, *fb);  // manifest.json and model.json, byte for byte
  EXPECT_EQ(a.train_predictions, b->train_predictions);

  // Another seed with sampling gives another model.
  Json json = LoanSpecJson();
  json["seed"] = 8;
  json["params"]["subsample"] = 0.8;
  StatusOr<TrainedModel> c = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->package.files.at("model.json"), a.package.files.at("model.json"));
}

TEST(TrainerTest, HonoursMonotoneConstraints) {
  Json json = LoanSpecJson();
  json["params"]["num_boost_round"] = 60;
  json["monotone"] = {{"int_rate", 1}, {"annual_inc", -1}};
  StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->package.manifest.training.params["monotone_constraints"],
            Json({{"int_rate", 1}, {"annual_inc", -1}}));
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  // For a few applicants, vary int_rate (annual_inc) alone over its range.
  const Table& t = LoanData().test;
  for (size_t r : {0, 11, 222, 1033}) {
    Json row = Json::object();
    for (const Column& c : t.columns()) {
      if (c.name() == "Class") continue;
      if (c.IsNull(r)) {
        row[c.name()] = nullptr;
      } else if (c.type() == ColumnType::kString) {
        row[c.name()] = std::string(c.StringAt(r));
      } else {
        row[c.name()] = *c.NumberAt(r);
      }
    }
    double previous = -1;
    for (double rate = 5; rate <= 30; rate += 0.25) {
      row["int_rate"] = rate;
      StatusOr<double> p = (*scorer)->PredictRow(row);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_GE(*p, previous) << "row " << r << " int_rate " << rate;
      previous = *p;
    }
    previous = 2;
    for (double income = 5000; income <= 400000; income += 2500) {
      row["annual_inc"] = income;
      StatusOr<double> p = (*scorer)->PredictRow(row);
      ASSERT_TRUE(p.ok());
      EXPECT_LE(*p, previous) << "row " << r << " annual_inc " << income;
      previous = *p;
    }
  }

  // Categorical columns take no monotone constraint.
  json["monotone"] = {{"sub_grade", 1}};
  StatusOr<TrainedModel> bad = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("one-hot encoded"));
}

TEST(TrainerTest, RecordsEarlyStopping) {
  Json json = LoanSpecJson();
  json["params"]["num_boost_round"] = 400;
  json["params"]["learning_rate"] = 0.3;
  json["params"]["eval_metric"] = "auc";
  json["early_stopping"] = {{"rounds", 10}, {"validation_fraction", 0.25}};
  json["class_weight"] = "balanced";
  json["model_format"] = "ubj";
  StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  const ModelManifest& manifest = m->package.manifest;
  const Json& summary = manifest.training.summary;
  EXPECT_EQ(summary["stopped_early"], true);
  EXPECT_EQ(summary["metric"], "auc");
  const int best = summary["best_iteration"].get<int>();
  EXPECT_LT(best, 390);
  EXPECT_EQ(summary["trees"], best + 1);
  EXPECT_EQ(summary["rounds_trained"], best + 11);
  const size_t n = LoanData().train.num_rows();
  EXPECT_NEAR(summary["validation_rows"].get<double>(), n / 4.0, 1.0);
  EXPECT_EQ(summary["fit_rows"].get<size_t>() + summary["validation_rows"].get<size_t>(), n);
  EXPECT_EQ(manifest.training.params["early_stopping_rounds"], 10);
  EXPECT_TRUE(manifest.metrics.count("validation_auc"));
  EXPECT_EQ(manifest.FilesWithRole("model"), std::vector<std::string>{"model.ubj"});
  EXPECT_EQ(manifest.training.spec["class_weight"], "balanced");
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok()) << scorer.status();
}

TEST(TrainerTest, PredictRowEqualsPredictTable) {
  const TrainedModel& m = LoanModel();
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  const Table& t = LoanData().test;
  StatusOr<std::vector<double>> all = (*scorer)->PredictTable(t);
  ASSERT_TRUE(all.ok());
  for (size_t r = 0; r < t.num_rows(); r += 97) {
    Json row = Json::object();
    for (const Column& c : t.columns()) {
      if (c.IsNull(r)) {
        row[c.name()] = nullptr;
      } else if (c.type() == ColumnType::kString) {
        row[c.name()] = std::string(c.StringAt(r));
      } else if (c.type() == ColumnType::kInt64) {
        row[c.name()] = c.int64s()[r];
      } else {
        row[c.name()] = *c.NumberAt(r);
      }
    }
    StatusOr<double> one = (*scorer)->PredictRow(row);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_EQ(*one, (*all)[r]) << "row " << r;
  }
}

TEST(TrainerTest, SelectsFeatures) {
  Json json = LoanSpecJson();
  json["params"]["num_boost_round"] = 5;
  json["features"] = {"int_rate", "sub_grade", "annual_inc"};
  StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->package.manifest.inputs.size(), 3u);
  EXPECT_EQ(m->package.manifest.inputs[1], (ModelInput{"sub_grade", ColumnType::kString}));

  json.erase("features");
  json["exclude"] = {"addr_state", "sub_grade"};
  m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->package.manifest.inputs.size(), 20u);

  // A categorical int64 column and a level cap.
  json["exclude"] = Json::array();
  json["categorical"] = {"inq_last_6mths"};
  json["max_levels"] = 3;
  m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  const std::vector<std::string> outputs = m->package.manifest.preprocess->OutputNames();
  EXPECT_NE(std::find(outputs.begin(), outputs.end(), "inq_last_6mths=__other__"), outputs.end());
  EXPECT_NE(std::find(outputs.begin(), outputs.end(), "addr_state=__other__"), outputs.end());
}

TEST(TrainerTest, ReportsProgressAndCancels) {
  Json json = LoanSpecJson();
  json["params"]["num_boost_round"] = 5;
  TrainOptions options = FixedOptions(&Clock());
  std::vector<double> fractions;
  options.progress = [&](double f, std::string_view) { fractions.push_back(f); };
  StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, options);
  ASSERT_TRUE(m.ok());
  ASSERT_GE(fractions.size(), 3u);
  EXPECT_EQ(fractions.front(), 0);
  EXPECT_EQ(fractions.back(), 1);
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));

  std::atomic<bool> cancel{true};
  options.cancelled = [&cancel] { return cancel.load(); };
  m = TrainModel(Spec(json), LoanData().train, options);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kCancelled);
}

TEST(TrainerTest, TrainsRegression) {
  Json json = {{"task", "regression"},
               {"target", "int_rate"},
               {"exclude", {"Class", "sub_grade"}},
               {"params", {{"num_boost_round", 30}, {"max_depth", 3}, {"nthread", 1}}},
               {"early_stopping", {{"rounds", 5}}}};
  StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
  ASSERT_TRUE(m.ok()) << m.status();
  const ModelManifest& manifest = m->package.manifest;
  EXPECT_EQ(manifest.task, ModelTask::kRegression);
  EXPECT_EQ(manifest.outputs[0].name, "prediction");
  EXPECT_TRUE(manifest.target.classes.empty());
  EXPECT_EQ(manifest.training.params["objective"], "reg:squarederror");
  EXPECT_TRUE(manifest.metrics.count("train_rmse"));
  EXPECT_TRUE(manifest.metrics.count("validation_rmse"));
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  StatusOr<Evaluation> e = EvaluateModel(**scorer, LoanData().test);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GT(e->metrics.at("test_r2"), 0.3);
  EXPECT_TRUE(e->json["positive"].is_null());
  EXPECT_THAT(e->html, HasSubstr("test_rmse"));
}

void ExpectSpecError(const Json& json, const std::string& message) {
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(json);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument) << json.dump();
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr(message)) << json.dump();
}

TEST(TrainSpecTest, RefusesUnknownAndWrongMembers) {
  auto with = [](const char* key, Json value) {
    Json j = {{"target", "Class"}, {"positive", "bad"}};
    j[key] = std::move(value);
    return j;
  };
  ExpectSpecError(with("learning_rate", 0.1), "unknown member 'learning_rate'");
  ExpectSpecError(with("kind", "forest"), "kind must be xgboost, logistic or scorecard");
  ExpectSpecError(with("task", "ranking"), "task must be binary_classification or regression");
  ExpectSpecError({{"positive", "bad"}}, "target is missing");
  ExpectSpecError({{"target", "Class"}}, "positive must give the positive class");
  ExpectSpecError(with("task", "regression"), "positive applies to binary_classification only");
  ExpectSpecError(with("features", {"a", "a"}), "features lists 'a' twice");
  ExpectSpecError(with("features", {"Class"}), "the target 'Class' cannot be a feature");
  ExpectSpecError(with("features", "a"), "features must be an array");
  ExpectSpecError(with("monotone", {{"int_rate", 2}}), "monotone.int_rate must be -1, 0 or 1");
  ExpectSpecError(with("class_weight", "auto"), "class_weight must be none or balanced");
  ExpectSpecError(with("early_stopping", {{"rounds", 0}}), "early_stopping.rounds");
  ExpectSpecError(with("early_stopping", {{"rounds", 5}, {"patience", 3}}),
                  "unknown member 'patience' in early_stopping");
  ExpectSpecError(with("early_stopping", {{"rounds", 5}, {"validation_fraction", 1.5}}),
                  "validation_fraction must be in (0, 1)");
  ExpectSpecError(with("max_levels", -1), "max_levels must be an integer");
  ExpectSpecError(with("model_format", "pickle"), "model_format must be json or ubj");
  ExpectSpecError(with("params", {{"max_depht", 3}}), "unknown parameter 'max_depht'");
  ExpectSpecError(with("params", {{"seed", 3}}), "params.seed is not allowed");
  ExpectSpecError(with("params", {{"early_stopping_rounds", 3}}), "early_stopping member");
  ExpectSpecError(with("params", {{"monotone_constraints", {{"a", 1}}}}), "monotone member");
  ExpectSpecError(with("params", {{"objective", "reg:squarederror"}}), "does not fit task");
  ExpectSpecError(with("params", {{"learning_rate", 2.0}}), "learning_rate must be in (0, 1]");
  Json both = with("features", {"a"});
  both["exclude"] = {"b"};
  ExpectSpecError(both, "give features or exclude, not both");

  // Round trip, and an integer positive label as text.
  Json full = {{"target", "defaulted"},
               {"positive", 1},
               {"features", {"a", "b"}},
               {"categorical", {"b"}},
               {"monotone", {{"a", -1}}},
               {"class_weight", "balanced"},
               {"early_stopping", {{"rounds", 4}}},
               {"seed", 9},
               {"params", {{"max_depth", 2}}}};
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(full);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->positive, "1");
  StatusOr<TrainSpec> back = TrainSpec::FromJson(spec->ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), spec->ToJson());
}

TEST(TrainerTest, RefusesBadTablesAndTargets) {
  const Table& t = LoanData().train;
  auto train = [&t](Json json) { return TrainModel(Spec(json), t).status(); };
  Json json = LoanSpecJson();
  json["target"] = "Klass";
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("target column 'Klass' is not in"));
  json = LoanSpecJson();
  json["features"] = {"int_rate", "nope"};
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("feature column 'nope' is not in"));
  json = LoanSpecJson();
  json["exclude"] = {"nope"};
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("exclude names 'nope'"));
  json = LoanSpecJson();
  json["positive"] = "ugly";
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("no cell of target column 'Class'"));
  json = LoanSpecJson();
  json["target"] = "sub_grade";
  json["positive"] = "A1";
  json["exclude"] = {"Class"};
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("holds more than two values"));
  json = LoanSpecJson();
  json["monotone"] = {{"nope", 1}};
  EXPECT_THAT(std::string(train(json).message()), HasSubstr("monotone names 'nope'"));

  // Evaluation: the test table must hold the target and only its classes.
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(LoanModel().package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  Table no_target;
  for (const Column& c : LoanData().test.columns()) {
    if (c.name() != "Class") {
      ASSERT_TRUE(no_target.AddColumn(c).ok());
    }
  }
  StatusOr<Evaluation> e = EvaluateModel(**scorer, no_target);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("target column 'Class' is not in"));
  Table other = no_target;
  Column label("Class", ColumnType::kString);
  for (size_t r = 0; r < other.num_rows(); ++r) label.AppendString(r == 3 ? "unknown" : "good");
  ASSERT_TRUE(other.AddColumn(label).ok());
  e = EvaluateModel(**scorer, other);
  EXPECT_THAT(std::string(e.status().message()),
              HasSubstr("at row 3 holds 'unknown', which is neither class"));
}

TEST(TrainerTest, KindsComeFromTheRegistry) {
  EXPECT_EQ(RegisterTrainer("xgboost",
                            [](const TrainingInputs&) -> StatusOr<KindModel> {
                              return absl::InternalError("unused");
                            })
                .code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(RegisterTrainer("forest",
                            [](const TrainingInputs&) -> StatusOr<KindModel> {
                              return absl::InternalError("unused");
                            })
                .code(),
            absl::StatusCode::kInvalidArgument);
  // The linear kinds are built in too.
  for (const char* kind : {"logistic", "scorecard"}) {
    EXPECT_EQ(RegisterTrainer(kind,
                              [](const TrainingInputs&) -> StatusOr<KindModel> {
                                return absl::InternalError("unused");
                              })
                  .code(),
              absl::StatusCode::kAlreadyExists)
        << kind;
  }
}

// The logistic and scorecard kinds through the same entry points as xgboost: a package that
// scores tables and rows alike, reaches the quality of the data, and refuses what does not apply.
TEST(TrainerTest, LinearKindsTrainScoreAndEvaluate) {
  for (const char* kind : {"logistic", "scorecard"}) {
    SCOPED_TRACE(kind);
    Json json = {{"kind", kind}, {"target", "Class"}, {"positive", "bad"}};
    if (std::string(kind) == "scorecard") {
      json["exclude"] = {"addr_state"};
      json["monotone"] = {{"int_rate", 1}};
    } else {
      json["params"] = {{"C", 0.5}};
    }
    StatusOr<TrainedModel> m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->package.manifest.kind, kind);
    EXPECT_EQ(m->package.manifest.preprocess.has_value(), std::string(kind) == "logistic");
    auto scorer = LoadScorer(m->package);
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    auto evaluation = EvaluateModel(**scorer, LoanData().test);
    ASSERT_TRUE(evaluation.ok()) << evaluation.status();
    EXPECT_GT(evaluation->metrics.at("test_auc"), 0.68);
    // A row scores as its table row does.
    auto table_scores = (*scorer)->PredictTable(LoanData().test);
    ASSERT_TRUE(table_scores.ok());
    Json row = Json::object();
    for (const ModelInput& input : m->package.manifest.inputs) {
      const Column* c = LoanData().test.Find(input.name);
      ASSERT_NE(c, nullptr);
      if (c->IsNull(0)) {
        row[input.name] = nullptr;
      } else if (c->type() == ColumnType::kString) {
        row[input.name] = std::string(c->StringAt(0));
      } else if (c->type() == ColumnType::kInt64) {
        row[input.name] = c->int64s()[0];
      } else {
        row[input.name] = *c->NumberAt(0);
      }
    }
    auto one = (*scorer)->PredictRow(row);
    ASSERT_TRUE(one.ok()) << one.status();
    EXPECT_NEAR(*one, (*table_scores)[0], 1e-6);
    // Deterministic: the same package bytes again.
    StatusOr<TrainedModel> again = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(PackageFiles(again->package).value(), PackageFiles(m->package).value());
  }
  auto outputs = [&] {
    Json json = {{"kind", "scorecard"}, {"target", "Class"}, {"positive", "bad"}};
    auto m = TrainModel(Spec(json), LoanData().train, FixedOptions(&Clock()));
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? (*LoadScorer(m->package))->PredictOutputs(LoanData().test)
                  : StatusOr<std::map<std::string, std::vector<double>>>(m.status());
  }();
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ(outputs->count("score"), 1u);
  EXPECT_GT(outputs->at("score")[0], 100.0);  // points around the 600 base score

  // What does not apply is refused, naming it.
  auto refused = TrainSpec::FromJson({{"kind", "logistic"},
                                      {"target", "Class"},
                                      {"positive", "bad"},
                                      {"monotone", {{"int_rate", 1}}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("monotone"));
  refused = TrainSpec::FromJson({{"kind", "scorecard"},
                                 {"target", "Class"},
                                 {"positive", "bad"},
                                 {"params", {{"features", {"x"}}}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("features"));
}

}  // namespace
}  // namespace plinth
