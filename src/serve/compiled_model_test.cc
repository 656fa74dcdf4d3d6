#include "serve/compiled_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "train/trainer.h"
#include "train/xgboost_model.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

const Table& Loans() {
  static const Table* table = [] {
    StatusOr<Table> t = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    EXPECT_TRUE(t.ok()) << t.status();
    return new Table(std::move(t).value());
  }();
  return *table;
}

// 300 trees of depth 6 on every row: deep enough that float rounding in the sums would show. One
// XGBoost thread: the test machines are small and shared.
StatusOr<TrainedModel> Train(const std::string& format) {
  Json spec_json = {
      {"kind", "xgboost"},
      {"target", "Class"},
      {"positive", "bad"},
      {"params",
       {{"num_boost_round", 300}, {"max_depth", 6}, {"learning_rate", 0.1}, {"nthread", 1}}},
      {"seed", 7},
      {"model_format", format}};
  ASSIGN_OR_RETURN(TrainSpec spec, TrainSpec::FromJson(spec_json));
  static const FakeClock clock(1767225600000000);
  TrainOptions options;
  options.clock = &clock;
  options.nthread = 1;
  return TrainModel(spec, Loans(), options);
}

const TrainedModel& LoanModel() {
  static const TrainedModel* model = [] {
    StatusOr<TrainedModel> m = Train("json");
    EXPECT_TRUE(m.ok()) << m.status();
    return new TrainedModel(std::move(m).value());
  }();
  return *model;
}

const Matrix& LoanMatrix() {
  static const Matrix* matrix = [] {
    StatusOr<Matrix> m = LoanModel().package.manifest.preprocess->Apply(Loans());
    EXPECT_TRUE(m.ok()) << m.status();
    return new Matrix(std::move(m).value());
  }();
  return *matrix;
}

CompiledModel Compile(const ModelPackage& package) {
  StatusOr<CompiledModel> compiled = CompileModel(package);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? std::move(compiled).value() : CompiledModel();
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
  }
  return worst;
}

// The compiled model on every row of `m`, by PredictRow and by PredictBatch, which must agree bit
// for bit (same additions in the same order).
std::vector<double> CompiledScores(const CompiledModel& model, const Matrix& m) {
  std::vector<double> batch(m.rows);
  model.PredictBatch(m.values.data(), m.rows, m.cols, batch.data());
  for (size_t r = 0; r < m.rows; ++r) {
    const double one =
        model.PredictRow(std::span<const float>(m.values.data() + r * m.cols, m.cols));
    EXPECT_EQ(one, batch[r]) << "row " << r;
  }
  return batch;
}

TEST(CompiledModelTest, EqualsXgboostOnEveryRow) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  EXPECT_EQ(compiled.num_trees(), 300u);
  EXPECT_EQ(compiled.num_features(), LoanMatrix().cols);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  StatusOr<std::vector<double>> expected = (*scorer)->PredictTable(Loans());
  ASSERT_TRUE(expected.ok()) << expected.status();
  const double diff = MaxAbsDiff(CompiledScores(compiled, LoanMatrix()), *expected);
  std::printf("max |compiled - xgboost| over %zu rows: %.3g\n", expected->size(), diff);
  EXPECT_LE(diff, 1e-6);
}

TEST(CompiledModelTest, MissingValuesFollowDefaultDirection) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  Matrix holes = LoanMatrix();
  // A varied pattern of NaNs (lending_club has none), plus one row missing everything.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t r = 0; r < holes.rows; ++r) {
    for (size_t c = 0; c < holes.cols; ++c) {
      if ((r * 7 + c * 3) % 5 == 0) holes.values[r * holes.cols + c] = nan;
    }
  }
  std::fill_n(holes.values.begin(), holes.cols, nan);
  StatusOr<XgboostModel> xgb = XgboostModel::Load(m.package.files.at("model.json"), 1);
  ASSERT_TRUE(xgb.ok()) << xgb.status();
  StatusOr<std::vector<float>> expected = xgb->Predict(holes.values, holes.rows, holes.cols);
  ASSERT_TRUE(expected.ok()) << expected.status();
  const double diff = MaxAbsDiff(CompiledScores(compiled, holes),
                                 std::vector<double>(expected->begin(), expected->end()));
  std::printf("max |compiled - xgboost| over %zu rows with NaNs: %.3g\n", holes.rows, diff);
  EXPECT_LE(diff, 1e-6);
}

TEST(CompiledModelTest, JsonRowEqualsScorer) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  const Table& t = Loans();
  std::vector<float> buffer(compiled.num_features());
  for (size_t r = 0; r < t.num_rows(); r += 101) {
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
    // A raw input left out counts as missing, as the spec reads it.
    if (r % 2 == 1) row["annual_inc"] = nullptr;
    StatusOr<double> want = (*scorer)->PredictRow(row);
    StatusOr<double> got = compiled.PredictJsonRow(row);
    StatusOr<double> got_buffered = compiled.PredictJsonRow(row, buffer);
    ASSERT_TRUE(want.ok() && got.ok() && got_buffered.ok()) << "row " << r;
    EXPECT_NEAR(*got, *want, 1e-6) << "row " << r;
    EXPECT_EQ(*got, *got_buffered);
  }
  StatusOr<double> bad = compiled.PredictJsonRow(Json::array());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CompiledModelTest, UbjsonModelCompiles) {
  StatusOr<TrainedModel> m = Train("ubj");
  ASSERT_TRUE(m.ok()) << m.status();
  CompiledModel compiled = Compile(m->package);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  StatusOr<std::vector<double>> expected = (*scorer)->PredictTable(Loans());
  ASSERT_TRUE(expected.ok());
  EXPECT_LE(MaxAbsDiff(CompiledScores(compiled, LoanMatrix()), *expected), 1e-6);
}

// The package with its model.json edited by `edit`, resealed so only the trees are wrong.
ModelPackage EditedModel(const std::function<void(Json&)>& edit) {
  const ModelPackage& original = LoanModel().package;
  StatusOr<Json> json = ParseJson(original.files.at("model.json"));
  EXPECT_TRUE(json.ok());
  edit(*json);
  std::map<std::string, std::string> files = original.files;
  files["model.json"] = DumpJson(*json);
  StatusOr<ModelPackage> sealed = SealModelPackage(original.manifest, files);
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  return std::move(sealed).value();
}

Json& Tree(Json& model, size_t t) {
  return model["learner"]["gradient_booster"]["model"]["trees"][t];
}

void ExpectRefused(const ModelPackage& package, const std::string& message) {
  StatusOr<CompiledModel> compiled = CompileModel(package);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(compiled.status().message(), HasSubstr(message));
}

TEST(CompiledModelTest, RefusesCorruptTrees) {
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 3)["left_children"][0] = 999999; }),
                "trees[3] node 0: child index out of range");
  ExpectRefused(EditedModel([](Json& j) {
                  // Node 0's left child pointing back at the root: a cycle.
                  Tree(j, 5)["left_children"][0] = 0;
                }),
                "trees[5] node 0: a child is reached twice");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 0)["split_indices"][0] = 5000; }),
                "trees[0] node 0: split feature out of range");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 1)["split_conditions"].erase(0); }),
                "trees[1].split_conditions must be an array of");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 2).erase("default_left"); }),
                "trees[2].default_left is missing");
  ExpectRefused(EditedModel([](Json& j) { j["learner"]["gradient_booster"]["name"] = "dart"; }),
                "booster \"dart\" is not compiled");
  ExpectRefused(
      EditedModel([](Json& j) { j["learner"]["objective"]["name"] = "reg:squarederror"; }),
      "does not fit task binary_classification");
}

TEST(CompiledModelTest, RefusesOtherKinds) {
  for (const char* kind : {"logistic", "scorecard"}) {
    ModelPackage package = LoanModel().package;
    package.manifest.kind = kind;
    StatusOr<CompiledModel> compiled = CompileModel(package);
    EXPECT_EQ(compiled.status().code(), absl::StatusCode::kUnimplemented) << kind;
    EXPECT_THAT(compiled.status().message(), HasSubstr(kind));
  }
}

}  // namespace
}  // namespace plinth
