// Explanations of real models on credit_data.csv: the report's additivity, importance, reason
// codes drawn only from used features towards the adverse class (with configured texts and
// codes), partial dependence on numeric and categorical inputs, and the SVG / HTML output.
#include "explain/explain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "train/split.h"
#include "train/trainer.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

// credit_data.csv (Status good / bad), split 80/20 stratified, seed 42.
struct Credit {
  Table train, test;
};

const Credit& CreditData() {
  static const Credit* data = [] {
    auto* d = new Credit;
    StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/credit_data.csv");
    EXPECT_TRUE(table.ok()) << table.status();
    StatusOr<std::vector<float>> labels = BinaryLabels(*table->Find("Status"), "bad");
    EXPECT_TRUE(labels.ok()) << labels.status();
    StatusOr<Split> split = StratifiedSplit(*labels, 0.2, 42);
    EXPECT_TRUE(split.ok()) << split.status();
    d->train = TakeRows(*table, split->train);
    d->test = TakeRows(*table, split->test);
    return d;
  }();
  return *data;
}

std::unique_ptr<Scorer> TrainScorer(const std::string& kind) {
  Json json = {{"kind", kind}, {"target", "Status"}, {"positive", "bad"}, {"seed", 3}};
  if (kind == "xgboost") {
    json["params"] = {
        {"num_boost_round", 60}, {"max_depth", 3}, {"learning_rate", 0.1}, {"nthread", 1}};
  }
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(json);
  EXPECT_TRUE(spec.ok()) << spec.status();
  static const FakeClock* clock = new FakeClock(1767225600000000);
  TrainOptions options;
  options.clock = clock;
  options.nthread = 1;
  StatusOr<TrainedModel> m = TrainModel(*spec, CreditData().train, options);
  EXPECT_TRUE(m.ok()) << m.status();
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package);
  EXPECT_TRUE(scorer.ok()) << scorer.status();
  return std::move(scorer).value();
}

TEST(ExplainTest, ReportIsAdditiveForEveryKind) {
  for (const char* kind : {"xgboost", "logistic", "scorecard"}) {
    SCOPED_TRACE(kind);
    std::unique_ptr<Scorer> scorer = TrainScorer(kind);
    ExplainOptions options;
    options.sample = 5;
    options.pdp_top = 2;
    options.grid_points = 8;
    auto report = ExplainReport(*scorer, CreditData().test, options);
    ASSERT_TRUE(report.ok()) << report.status();
    const Json& j = report->json;
    EXPECT_LT(report->additivity_max_error, 1e-5);
    EXPECT_EQ(j["additivity_max_error"].get<double>(), report->additivity_max_error);
    std::printf("%s: method %s, additivity max error %.3g, top feature %s\n", kind,
                j["method"].get<std::string>().c_str(), report->additivity_max_error,
                j["global_importance"][0]["feature"].get<std::string>().c_str());
    EXPECT_EQ(j["rows"].size(), 5u);
    EXPECT_EQ(j["partial_dependence"].size(), 2u);
    // Shares add up to 1, sorted.
    double shares = 0, last = 1e300;
    for (const Json& f : j["global_importance"]) {
      shares += f["share"].get<double>();
      EXPECT_LE(f["mean_abs"].get<double>(), last);
      last = f["mean_abs"].get<double>();
    }
    EXPECT_NEAR(shares, 1.0, 1e-9);
    // Each sampled row: bias + contributions == margin, and its prediction is the logistic of it.
    for (const Json& row : j["rows"]) {
      double sum = row["bias"].get<double>();
      for (const auto& [f, v] : row["contributions"].items()) sum += v.get<double>();
      EXPECT_NEAR(sum, row["margin"].get<double>(), 1e-5);
      EXPECT_NEAR(row["prediction"].get<double>(), 1 / (1 + std::exp(-sum)), 1e-5);
    }
    EXPECT_THAT(report->html, HasSubstr("<svg"));
    EXPECT_THAT(report->html, HasSubstr("Partial dependence on"));
  }
}

TEST(ExplainTest, ReasonCodesPushTowardsTheAdverseClassFromUsedFeaturesOnly) {
  std::unique_ptr<Scorer> scorer = TrainScorer("xgboost");
  auto c = scorer->Contributions(CreditData().test);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<std::string> used = FeaturesUsed(*c);
  ReasonCodeOptions options;
  options.top_k = 3;
  options.texts["Income"] = "Income too low for the amount requested";
  options.codes["Income"] = "INC";
  auto reasons = ReasonCodes(*c, CreditData().test, options);
  ASSERT_TRUE(reasons.ok()) << reasons.status();
  ASSERT_EQ(reasons->size(), c->rows);
  size_t with_income = 0;
  for (size_t r = 0; r < c->rows; ++r) {
    const auto& row = (*reasons)[r];
    EXPECT_LE(row.size(), 3u);
    for (size_t k = 0; k < row.size(); ++k) {
      const ReasonCode& code = row[k];
      EXPECT_GT(code.contribution, 0);
      EXPECT_NE(std::find(used.begin(), used.end(), code.feature), used.end()) << code.feature;
      if (k > 0) {
        EXPECT_GE(row[k - 1].contribution, code.contribution);
      }
      const size_t j = static_cast<size_t>(
          std::find(c->features.begin(), c->features.end(), code.feature) - c->features.begin());
      EXPECT_DOUBLE_EQ(code.contribution, c->at(r, j));
      if (code.feature == "Income") {
        ++with_income;
        EXPECT_EQ(code.code, "INC");
        EXPECT_EQ(code.text, "Income too low for the amount requested");
      } else {
        char expected[8];
        std::snprintf(expected, sizeof(expected), "R%02zu", j + 1);
        EXPECT_EQ(code.code, expected);
        EXPECT_EQ(code.text, code.feature + " contributed to the decision");
      }
    }
    // Every feature pushing towards the adverse class beyond the last reason is listed.
    if (row.size() < 3) {
      size_t positive = 0;
      for (size_t j = 0; j < c->features.size(); ++j) positive += c->at(r, j) > 0;
      EXPECT_EQ(positive, row.size());
    }
  }
  EXPECT_GT(with_income, 0u);

  // The other way round: reasons are the features lowering the positive class's log-odds.
  options.adverse = "negative";
  auto negative = ReasonCodes(*c, CreditData().test, options);
  ASSERT_TRUE(negative.ok());
  for (size_t r = 0; r < 50; ++r) {
    for (const ReasonCode& code : (*negative)[r]) {
      const size_t j = static_cast<size_t>(
          std::find(c->features.begin(), c->features.end(), code.feature) - c->features.begin());
      EXPECT_DOUBLE_EQ(code.contribution, -c->at(r, j));
    }
  }
  // A threshold keeps only larger contributions.
  options.adverse = "positive";
  options.min_contribution = 0.5;
  auto strong = ReasonCodes(*c, CreditData().test, options);
  ASSERT_TRUE(strong.ok());
  for (const auto& row : *strong) {
    for (const ReasonCode& code : row) EXPECT_GT(code.contribution, 0.5);
  }
  options.adverse = "bad";
  EXPECT_EQ(ReasonCodes(*c, CreditData().test, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExplainTest, UnusedFeaturesNeverGiveReasons) {
  // Contributions by hand: feature b is 0 everywhere (the model does not use it).
  Contributions c;
  c.features = {"a", "b", "c"};
  c.rows = 2;
  c.values = {0.5, 0.0, -0.2, -0.1, 0.0, 0.3};
  c.bias = {0, 0};
  Table t;
  Column a("a", ColumnType::kFloat64), b("b", ColumnType::kString), cc("c", ColumnType::kInt64);
  a.AppendFloat64(1.5);
  a.AppendNull();
  b.AppendString("x");
  b.AppendString("y");
  cc.AppendInt64(3);
  cc.AppendInt64(4);
  ASSERT_TRUE(t.AddColumn(a).ok());
  ASSERT_TRUE(t.AddColumn(b).ok());
  ASSERT_TRUE(t.AddColumn(cc).ok());
  EXPECT_EQ(FeaturesUsed(c), (std::vector<std::string>{"a", "c"}));
  ReasonCodeOptions options;
  options.top_k = 5;
  auto reasons = ReasonCodes(c, t, options);
  ASSERT_TRUE(reasons.ok());
  ASSERT_EQ((*reasons)[0].size(), 1u);
  EXPECT_EQ((*reasons)[0][0].feature, "a");
  EXPECT_EQ((*reasons)[0][0].code, "R01");
  EXPECT_EQ((*reasons)[0][0].value, 1.5);
  ASSERT_EQ((*reasons)[1].size(), 1u);
  EXPECT_EQ((*reasons)[1][0].feature, "c");
  EXPECT_EQ((*reasons)[1][0].code, "R03");
  EXPECT_EQ((*reasons)[1][0].value, 4);
  options.adverse = "negative";
  reasons = ReasonCodes(c, t, options);
  ASSERT_TRUE(reasons.ok());
  EXPECT_EQ((*reasons)[0][0].feature, "c");
  EXPECT_NEAR((*reasons)[0][0].contribution, 0.2, 1e-12);
  EXPECT_TRUE((*reasons)[1][0].value.is_null());  // a is missing on row 1
  auto importance = GlobalImportance(c);
  EXPECT_EQ(importance[0].feature, "a");  // mean |contribution| (0.5 + 0.1) / 2 = 0.3; c 0.25
  EXPECT_NEAR(importance[0].mean_abs, 0.3, 1e-12);
  EXPECT_NEAR(importance[1].mean_abs, 0.25, 1e-12);
  EXPECT_NEAR(importance[0].share, 0.3 / 0.55, 1e-12);
  EXPECT_EQ(importance[2].feature, "b");
  EXPECT_EQ(importance[2].share, 0);
}

TEST(ExplainTest, PartialDependenceOnNumericAndCategoricalInputs) {
  std::unique_ptr<Scorer> scorer = TrainScorer("logistic");
  auto numeric = PartialDependence(*scorer, CreditData().test, "Income", 10, 300);
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_FALSE(numeric->categorical);
  ASSERT_GE(numeric->grid.size(), 5u);
  EXPECT_EQ(numeric->grid.size(), numeric->mean.size());
  for (size_t i = 1; i < numeric->grid.size(); ++i) {
    EXPECT_GT(numeric->grid[i].get<double>(), numeric->grid[i - 1].get<double>());
  }
  // A linear model in log-odds: the mean probability moves one way along the grid.
  const bool rising = numeric->mean.back() > numeric->mean.front();
  for (size_t i = 1; i < numeric->mean.size(); ++i) {
    EXPECT_EQ(numeric->mean[i] >= numeric->mean[i - 1], rising) << i;
  }
  // The mean at a grid value is the mean prediction with Income set to it, by hand.
  {
    std::vector<size_t> first(300);
    for (size_t i = 0; i < 300; ++i) first[i] = i;
    Table t = TakeRows(CreditData().test, first);
    for (Column& col : t.mutable_columns()) {
      if (col.name() != "Income") continue;
      Column fixed("Income", col.type());
      for (size_t i = 0; i < 300; ++i) {
        if (col.type() == ColumnType::kInt64) {
          fixed.AppendInt64(static_cast<int64_t>(numeric->grid[3].get<double>()));
        } else {
          fixed.AppendFloat64(numeric->grid[3].get<double>());
        }
      }
      col = fixed;
    }
    auto p = scorer->PredictTable(t);
    ASSERT_TRUE(p.ok());
    double mean = 0;
    for (double v : *p) mean += v;
    EXPECT_NEAR(mean / 300, numeric->mean[3], 1e-12);
  }
  auto categorical = PartialDependence(*scorer, CreditData().test, "Home", 10, 300);
  ASSERT_TRUE(categorical.ok()) << categorical.status();
  EXPECT_TRUE(categorical->categorical);
  EXPECT_GE(categorical->grid.size(), 3u);
  EXPECT_TRUE(categorical->grid[0].is_string());
  const std::string svg = PartialDependenceSvg(*numeric);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("Income"));
  EXPECT_THAT(PartialDependenceSvg(*categorical), HasSubstr("<rect"));
  EXPECT_EQ(PartialDependence(*scorer, CreditData().test, "Status", 10).status().code(),
            absl::StatusCode::kInvalidArgument);  // the target is no input
  EXPECT_EQ(PartialDependence(*scorer, CreditData().test, "Income", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth
