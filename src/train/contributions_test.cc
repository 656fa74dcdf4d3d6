// Scorer::Contributions for the three built-in kinds on lending_club.csv: each row's bias plus its
// contributions equals its margin (additivity), contributions are per raw input in the manifest's
// order, a feature no XGBoost tree splits on gets exactly 0, and the margin is the logit of the
// probability.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "train/model_package.h"
#include "train/split.h"
#include "train/trainer.h"
#include "train/xgboost_model.h"

namespace plinth {
namespace {

// lending_club.csv split 80/20, stratified by Class (seed 42), with a constant column no tree can
// split on.
struct Loans {
  Table train, test;
};

Column Constant(size_t rows) {
  Column c("constant", ColumnType::kFloat64);
  for (size_t i = 0; i < rows; ++i) c.AppendFloat64(1.5);
  return c;
}

const Loans& LoanData() {
  static const Loans* data = [] {
    auto* d = new Loans;
    StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    EXPECT_TRUE(table.ok()) << table.status();
    EXPECT_TRUE(table->AddColumn(Constant(table->num_rows())).ok());
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

TrainedModel Train(const Json& json) {
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  static const FakeClock* clock = new FakeClock(1767225600000000);
  TrainOptions options;
  options.clock = clock;
  options.nthread = 1;
  StatusOr<TrainedModel> m = TrainModel(*spec, LoanData().train, options);
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(m).value();
}

Json SpecOf(const std::string& kind) {
  Json json = {{"kind", kind}, {"target", "Class"}, {"positive", "bad"}, {"seed", 7}};
  if (kind == "xgboost") {
    // One thread: the test machines are small and shared (see xgboost_model_test.cc).
    json["params"] = {
        {"num_boost_round", 80}, {"max_depth", 3}, {"learning_rate", 0.1}, {"nthread", 1}};
  } else if (kind == "logistic") {
    json["params"] = {{"C", 0.5}};
  } else {
    json["exclude"] = {"addr_state"};
  }
  return json;
}

// Checks additivity on the test rows and returns the largest error.
double CheckAdditivity(const Scorer& scorer, const Contributions& c, const Table& table) {
  StatusOr<std::vector<double>> margin = scorer.PredictMargin(table);
  EXPECT_TRUE(margin.ok()) << margin.status();
  StatusOr<std::vector<double>> p = scorer.PredictTable(table);
  EXPECT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(c.rows, table.num_rows());
  EXPECT_EQ(c.values.size(), c.rows * c.features.size());
  EXPECT_EQ(c.bias.size(), c.rows);
  double worst = 0;
  for (size_t r = 0; r < c.rows; ++r) {
    double sum = c.bias[r];
    for (size_t j = 0; j < c.features.size(); ++j) sum += c.at(r, j);
    worst = std::max(worst, std::fabs(sum - (*margin)[r]));
    // The margin is the log-odds of the probability (float precision for the probability).
    const double expected_p = 1 / (1 + std::exp(-(*margin)[r]));
    EXPECT_NEAR((*p)[r], expected_p, 1e-6) << "row " << r;
  }
  return worst;
}

TEST(ContributionsTest, AddUpToTheMarginForEveryKind) {
  for (const char* kind : {"xgboost", "logistic", "scorecard"}) {
    SCOPED_TRACE(kind);
    TrainedModel m = Train(SpecOf(kind));
    auto scorer = LoadScorer(m.package);
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    auto c = (*scorer)->Contributions(LoanData().test);
    ASSERT_TRUE(c.ok()) << c.status();
    // One value per raw input, in the manifest's order.
    std::vector<std::string> inputs;
    for (const ModelInput& input : m.package.manifest.inputs) inputs.push_back(input.name);
    EXPECT_EQ(c->features, inputs);
    const double error = CheckAdditivity(**scorer, *c, LoanData().test);
    EXPECT_LT(error, 1e-5);
    std::printf("%s: %zu inputs, additivity max error %.3g\n", kind, inputs.size(), error);
    const std::string method = kind == std::string("xgboost")    ? "tree_shap"
                               : kind == std::string("logistic") ? "linear_exact"
                                                                 : "scorecard_exact";
    EXPECT_EQ(c->method, method);
    // Some feature moves every model.
    EXPECT_TRUE(std::any_of(c->values.begin(), c->values.end(), [](double v) { return v != 0; }));
  }
}

TEST(ContributionsTest, LogisticIsMeanCentredPerRawInput) {
  TrainedModel m = Train(SpecOf("logistic"));
  auto scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  auto c = (*scorer)->Contributions(LoanData().train);
  ASSERT_TRUE(c.ok()) << c.status();
  // Mean-centred on the training rows: each numeric input's contributions average to ~0 there (a
  // one-hot input's too, since its levels' means are the training shares).
  for (size_t j = 0; j < c->features.size(); ++j) {
    double mean = 0;
    for (size_t r = 0; r < c->rows; ++r) mean += c->at(r, j);
    mean /= static_cast<double>(c->rows);
    EXPECT_NEAR(mean, 0.0, 1e-6) << c->features[j];
  }
  // The bias is the same for every row.
  EXPECT_EQ(*std::min_element(c->bias.begin(), c->bias.end()),
            *std::max_element(c->bias.begin(), c->bias.end()));
}

TEST(ContributionsTest, ScorecardGivesWoETermsAndPoints) {
  TrainedModel m = Train(SpecOf("scorecard"));
  auto scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  auto c = (*scorer)->Contributions(LoanData().test);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->points.size(), c->values.size());
  auto outputs = (*scorer)->PredictOutputs(LoanData().test);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  const std::vector<double>& score = outputs->at("score");
  // The points per feature add up to the score; features the IV selection dropped weigh nothing.
  std::set<size_t> dropped;
  for (size_t j = 0; j < c->features.size(); ++j) {
    bool all_zero = true;
    for (size_t r = 0; r < c->rows; ++r)
      all_zero &= c->at(r, j) == 0 && c->points[r * c->features.size() + j] == 0;
    if (all_zero) dropped.insert(j);
  }
  EXPECT_LT(dropped.size(), c->features.size());
  for (size_t r = 0; r < c->rows; ++r) {
    double total = 0;
    for (size_t j = 0; j < c->features.size(); ++j) total += c->points[r * c->features.size() + j];
    EXPECT_NEAR(total, score[r], 1e-6) << "row " << r;
  }
}

// The split features of an XGBoost JSON model: indices of every non-leaf node of every tree.
std::set<size_t> SplitFeatures(const std::string& model_json) {
  Json json = Json::parse(model_json);
  std::set<size_t> used;
  for (const Json& tree : json["learner"]["gradient_booster"]["model"]["trees"]) {
    const Json& left = tree["left_children"];
    const Json& split = tree["split_indices"];
    for (size_t n = 0; n < left.size(); ++n) {
      if (left[n].get<int64_t>() != -1) used.insert(split[n].get<size_t>());
    }
  }
  return used;
}

TEST(ContributionsTest, XgboostGivesExactlyZeroToFeaturesNoTreeSplitsOn) {
  TrainedModel m = Train(SpecOf("xgboost"));
  auto scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  auto c = (*scorer)->Contributions(LoanData().test);
  ASSERT_TRUE(c.ok()) << c.status();

  // Which raw inputs the trees split on, from the model file itself.
  const ModelManifest& manifest = m.package.manifest;
  std::string model_json;
  for (const auto& [name, bytes] : m.package.files) model_json = bytes;  // the one model file
  const std::set<size_t> split_columns = SplitFeatures(model_json);
  std::vector<size_t> source;
  for (size_t f = 0; f < manifest.preprocess->features().size(); ++f) {
    source.insert(source.end(), manifest.preprocess->features()[f].num_outputs(), f);
  }
  std::set<size_t> used_inputs;
  for (size_t k : split_columns) used_inputs.insert(source.at(k));

  const auto constant = std::find(c->features.begin(), c->features.end(), "constant");
  ASSERT_NE(constant, c->features.end());
  EXPECT_EQ(used_inputs.count(static_cast<size_t>(constant - c->features.begin())), 0u);
  size_t unused = 0;
  for (size_t j = 0; j < c->features.size(); ++j) {
    bool any_nonzero = false;
    for (size_t r = 0; r < c->rows; ++r) any_nonzero |= c->at(r, j) != 0.0;
    if (used_inputs.count(j) == 0) {
      ++unused;
      EXPECT_FALSE(any_nonzero) << c->features[j] << " is never split on";
    }
  }
  EXPECT_GE(unused, 1u);
  EXPECT_GE(used_inputs.size(), 3u);
  // Every row has the same bias: the trees' expected margin.
  EXPECT_EQ(*std::min_element(c->bias.begin(), c->bias.end()),
            *std::max_element(c->bias.begin(), c->bias.end()));
}

TEST(ContributionsTest, XgboostModelContributionsSumToTheMarginPerEncodedColumn) {
  TrainedModel m = Train(SpecOf("xgboost"));
  std::string bytes;
  for (const auto& [name, file] : m.package.files) bytes = file;
  auto model = XgboostModel::Load(bytes, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  auto matrix = m.package.manifest.preprocess->Apply(LoanData().test);
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  auto shap = model->PredictContributions(matrix->values, matrix->rows, matrix->cols);
  ASSERT_TRUE(shap.ok()) << shap.status();
  ASSERT_EQ(shap->size(), matrix->rows * (matrix->cols + 1));
  auto margin = model->PredictMargin(matrix->values, matrix->rows, matrix->cols);
  ASSERT_TRUE(margin.ok()) << margin.status();
  for (size_t r = 0; r < matrix->rows; ++r) {
    double sum = 0;
    for (size_t k = 0; k <= matrix->cols; ++k) sum += (*shap)[r * (matrix->cols + 1) + k];
    ASSERT_NEAR(sum, (*margin)[r], 1e-5) << "row " << r;
  }
  // A mismatched width is refused, not read past.
  auto bad = model->PredictContributions(matrix->values, matrix->rows, matrix->cols - 1);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth
