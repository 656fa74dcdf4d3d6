#include "train/logistic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "data/csv_reader.h"
#include "train/evaluation.h"
#include "train/split.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Matrix MakeMatrix(const std::vector<std::vector<float>>& rows, std::vector<std::string> names) {
  Matrix m;
  m.rows = rows.size();
  m.cols = names.size();
  for (const auto& row : rows) m.values.insert(m.values.end(), row.begin(), row.end());
  m.feature_names = std::move(names);
  m.source_columns = m.feature_names;
  m.one_hot.assign(m.cols, 0);
  return m;
}

// 40 rows of three features (two continuous, one binary), labels and integer weights, drawn once
// with numpy (default_rng(7)); the expected coefficients below come from scikit-learn 1.2.1 on
// the same numbers (as float32), fitted to tol 1e-12: LogisticRegression(solver="newton-cholesky")
// for l2 and none, solver="saga" for l1, and Pipeline(StandardScaler(), LogisticRegression()) for
// the standardised fits, its coefficients mapped back to the original scale.
struct Small {
  Matrix x;
  std::vector<float> y;
  std::vector<float> w;
};

const Small& SmallData() {
  static const Small* data = [] {
    auto* d = new Small;
    d->x =
        MakeMatrix({{2.00f, -0.67f, 1},  {2.45f, -0.81f, 1}, {1.59f, -4.68f, 0}, {0.66f, -0.77f, 1},
                    {1.32f, 3.08f, 0},   {0.51f, -5.64f, 0}, {2.09f, 1.58f, 0},  {4.01f, -0.64f, 1},
                    {1.26f, -2.92f, 1},  {1.07f, 5.00f, 1},  {2.73f, 1.29f, 1},  {2.54f, -4.60f, 1},
                    {2.16f, -0.78f, 0},  {0.60f, 0.73f, 0},  {1.96f, -1.57f, 1}, {3.04f, 1.05f, 0},
                    {-0.02f, -1.20f, 0}, {1.31f, 1.00f, 0},  {-0.85f, 3.32f, 1}, {0.07f, -3.03f, 0},
                    {-0.76f, -0.39f, 1}, {1.65f, -2.39f, 1}, {0.10f, -0.62f, 1}, {2.41f, -4.56f, 0},
                    {2.24f, -2.74f, 1},  {1.72f, -1.59f, 1}, {-1.78f, 1.70f, 0}, {1.19f, 2.44f, 0},
                    {1.93f, -4.97f, 0},  {2.17f, -3.38f, 1}, {-0.30f, 0.94f, 0}, {1.28f, -6.98f, 0},
                    {0.53f, -2.39f, 1},  {0.79f, -1.29f, 0}, {3.59f, 2.77f, 1},  {0.79f, 1.07f, 0},
                    {1.95f, -1.98f, 1},  {3.33f, -2.11f, 0}, {1.12f, -1.75f, 0}, {1.83f, 3.57f, 1}},
                   {"x1", "x2", "x3"});
    d->y = {1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1,
            0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0};
    d->w = {2, 2, 3, 2, 3, 3, 2, 2, 3, 3, 1, 1, 1, 2, 1, 2, 2, 3, 3, 1,
            3, 3, 3, 3, 1, 3, 1, 2, 3, 3, 1, 1, 2, 2, 3, 1, 1, 1, 2, 1};
    return d;
  }();
  return *data;
}

LogisticParams Params(LogisticPenalty penalty, double c, bool standardize) {
  LogisticParams p;
  p.penalty = penalty;
  p.C = c;
  p.standardize = standardize;
  p.tol = 1e-10;
  return p;
}

void ExpectCoefficients(const LogisticModel& model, std::vector<double> coefficients,
                        double intercept, double tolerance) {
  ASSERT_EQ(model.coefficients().size(), coefficients.size());
  for (size_t j = 0; j < coefficients.size(); ++j) {
    EXPECT_NEAR(model.coefficients()[j], coefficients[j], tolerance) << "coefficient " << j;
  }
  EXPECT_NEAR(model.intercept(), intercept, tolerance);
}

struct SklearnCase {
  const char* name;
  LogisticPenalty penalty;
  double c;
  bool standardize;
  bool weighted;
  bool fit_intercept;
  std::vector<double> coefficients;
  double intercept;
};

TEST(LogisticTest, MatchesScikitLearn) {
  const Small& d = SmallData();
  const LogisticPenalty l2 = LogisticPenalty::kL2, l1 = LogisticPenalty::kL1;
  const std::vector<SklearnCase> cases = {
      {"l2 C=0.5",
       l2,
       0.5,
       false,
       false,
       true,
       {0.5813575275, -0.4689360263, 0.05199334701},
       -0.2233570174},
      {"l2 C=0.5 standardised",
       l2,
       0.5,
       true,
       false,
       true,
       {0.5230776562, -0.3441389108, 0.1129876835},
       -0.1672862037},
      {"l2 C=0.5 weighted",
       l2,
       0.5,
       false,
       true,
       true,
       {0.8028035727, -0.4297582939, -0.08995323925},
       -0.06833044527},
      {"l2 C=0.5 standardised weighted",
       l2,
       0.5,
       true,
       true,
       true,
       {0.7547084661, -0.3552220833, -0.117056717},
       -0.01030640252},
      {"l2 C=0.5 no intercept",
       l2,
       0.5,
       false,
       false,
       false,
       {0.5126223946, -0.4674318706, -0.01973434259},
       0},
      {"none",
       LogisticPenalty::kNone,
       1.0,
       false,
       false,
       true,
       {0.7411007739, -0.5133587354, 0.04591558523},
       -0.4202489489},
      {"l1 C=0.2", l1, 0.2, false, false, true, {0.2054067116, -0.3509408044, 0}, 0.2920906849},
      {"l1 C=0.3 standardised",
       l1,
       0.3,
       true,
       false,
       true,
       {0.3002319624, -0.2551743207, 0},
       0.1891111246},
      {"l1 C=0.15 standardised",
       l1,
       0.15,
       true,
       false,
       true,
       {0.01725945988, -0.1064956955, 0},
       0.6283958171},
  };
  for (const SklearnCase& c : cases) {
    SCOPED_TRACE(c.name);
    LogisticParams params = Params(c.penalty, c.c, c.standardize);
    params.fit_intercept = c.fit_intercept;
    TrainingData data{&d.x, d.y};
    if (c.weighted) data.weights = d.w;
    LogisticReport report;
    StatusOr<LogisticModel> model = LogisticModel::Train(params, data, &report);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_TRUE(report.converged);
    EXPECT_LE(report.gradient_norm, 1e-9);
    EXPECT_LT(report.iterations, 30);
    ExpectCoefficients(*model, c.coefficients, c.intercept, 2e-8);
    if (c.penalty == l1) {
      EXPECT_EQ(model->coefficients()[2], 0.0);  // exactly
    }
    if (!c.fit_intercept) {
      EXPECT_EQ(model->intercept(), 0.0);
    }
  }
}

// The gradient of C * sum w_i logloss_i + penalty at the model's solution, computed here from
// scratch on the features as the model sees them: missing cells replaced by the weighted mean of
// the column, standardised by the weighted population std when `standardize`. Returns the largest
// entry of the minimum-norm subgradient divided by C * total weight.
double GradientAtSolution(const LogisticModel& model, const Matrix& x, std::span<const float> y,
                          std::span<const float> weights, const LogisticParams& params) {
  const size_t n = x.rows, p = x.cols;
  auto weight = [&](size_t i) { return weights.empty() ? 1.0 : double(weights[i]); };
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += weight(i);
  std::vector<double> mean(p, 0), scale(p, 1);
  for (size_t j = 0; j < p; ++j) {
    double s = 0, ws = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isnan(x.at(i, j))) s += weight(i) * x.at(i, j), ws += weight(i);
    }
    mean[j] = s / ws;
    double v = 0;
    for (size_t i = 0; i < n; ++i) {
      double xi = std::isnan(x.at(i, j)) ? mean[j] : x.at(i, j);
      v += weight(i) * (xi - mean[j]) * (xi - mean[j]);
    }
    if (params.standardize && v > 0) scale[j] = std::sqrt(v / total);
  }
  // Coefficients in the fitted space: b_j = coefficient_j * scale_j.
  std::vector<double> b(p), g(p, 0);
  for (size_t j = 0; j < p; ++j) b[j] = model.coefficients()[j] * scale[j];
  double g0 = 0;
  for (size_t i = 0; i < n; ++i) {
    double t = model.intercept();
    std::vector<double> z(p);
    for (size_t j = 0; j < p; ++j) {
      double xi = std::isnan(x.at(i, j)) ? mean[j] : x.at(i, j);
      t += model.coefficients()[j] * xi;
      z[j] = params.standardize ? (xi - mean[j]) / scale[j] : xi;
    }
    const double r = params.C * weight(i) * (1 / (1 + std::exp(-t)) - y[i]);
    g0 += r;
    for (size_t j = 0; j < p; ++j) g[j] += r * z[j];
  }
  double worst = params.fit_intercept ? std::abs(g0) : 0;
  for (size_t j = 0; j < p; ++j) {
    double gj = g[j];
    if (params.penalty == LogisticPenalty::kL2) gj += b[j];
    if (params.penalty == LogisticPenalty::kL1) {
      gj = b[j] > 0 ? gj + 1 : b[j] < 0 ? gj - 1 : std::max(std::abs(gj) - 1, 0.0);
    }
    worst = std::max(worst, std::abs(gj));
  }
  return worst / (params.C * total);
}

TEST(LogisticTest, GradientVanishesAtTheSolutionWithMissingValues) {
  Small d = SmallData();
  // Knock out a few cells: they are imputed with the weighted training mean.
  for (size_t i : {3u, 8u, 17u, 30u}) d.x.values[i * 3 + (i % 3)] = kNaN;
  for (LogisticPenalty penalty : {LogisticPenalty::kL2, LogisticPenalty::kL1}) {
    for (bool standardize : {false, true}) {
      for (bool weighted : {false, true}) {
        SCOPED_TRACE(LogisticPenaltyName(penalty) + (standardize ? " std" : " raw") +
                     (weighted ? " weighted" : ""));
        LogisticParams params = Params(penalty, 0.4, standardize);
        TrainingData data{&d.x, d.y};
        if (weighted) data.weights = d.w;
        StatusOr<LogisticModel> model = LogisticModel::Train(params, data);
        ASSERT_TRUE(model.ok()) << model.status();
        EXPECT_LT(GradientAtSolution(*model, d.x, d.y, data.weights, params), 1e-9);
        // The recorded means are the weighted means of the non-missing cells.
        double s = 0, ws = 0;
        for (size_t i = 0; i < d.x.rows; ++i) {
          const double w = weighted ? d.w[i] : 1.0;
          if (!std::isnan(d.x.at(i, 0))) s += w * d.x.at(i, 0), ws += w;
        }
        EXPECT_NEAR(model->means()[0], s / ws, 1e-12);
      }
    }
  }
}

TEST(LogisticTest, StrongL1PenaltyZeroesEveryCoefficient) {
  const Small& d = SmallData();
  StatusOr<LogisticModel> model =
      LogisticModel::Train(Params(LogisticPenalty::kL1, 0.01, true), {&d.x, d.y});
  ASSERT_TRUE(model.ok()) << model.status();
  for (double c : model->coefficients()) EXPECT_EQ(c, 0.0);
  // Only the intercept is left: the log-odds of the base rate (27 of 40 rows are 1).
  EXPECT_NEAR(model->intercept(), std::log(27.0 / 13.0), 1e-10);
  // Weaker penalties keep more features, the path scikit-learn shows above.
  size_t previous = 0;
  for (double c : {0.01, 0.15, 0.3, 10.0}) {
    StatusOr<LogisticModel> m =
        LogisticModel::Train(Params(LogisticPenalty::kL1, c, true), {&d.x, d.y});
    ASSERT_TRUE(m.ok());
    size_t nonzero = 0;
    for (double coefficient : m->coefficients()) nonzero += coefficient != 0;
    EXPECT_GE(nonzero, previous) << "C=" << c;
    previous = nonzero;
  }
  EXPECT_EQ(previous, 3u);
}

TEST(LogisticTest, UnpenalisedFitOfATwoByTwoTableIsTheClosedForm) {
  // One binary feature: x=0 has 3 of 10 rows positive, x=1 has 8 of 12. The maximum-likelihood
  // fit reproduces the two observed rates: intercept logit(0.3), coefficient logit(8/12) -
  // logit(0.3).
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  for (int i = 0; i < 10; ++i) rows.push_back({0}), y.push_back(i < 3);
  for (int i = 0; i < 12; ++i) rows.push_back({1}), y.push_back(i < 8);
  Matrix x = MakeMatrix(rows, {"flag"});
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  for (bool standardize : {false, true}) {
    LogisticParams params = Params(LogisticPenalty::kNone, 1.0, standardize);
    LogisticReport report;
    StatusOr<LogisticModel> model = LogisticModel::Train(params, {&x, y}, &report);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_TRUE(report.converged);
    EXPECT_NEAR(model->intercept(), logit(0.3), 1e-10);
    EXPECT_NEAR(model->coefficients()[0], logit(8.0 / 12) - logit(0.3), 1e-10);
    // The objective is the log-likelihood: 10 * H(0.3) + 12 * H(2/3) in nats.
    auto entropy = [](double p) { return -p * std::log(p) - (1 - p) * std::log(1 - p); };
    EXPECT_NEAR(report.objective, 10 * entropy(0.3) + 12 * entropy(8.0 / 12), 1e-10);
  }
}

TEST(LogisticTest, SeparableData) {
  // y = 1 exactly when x > 0.
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  for (int i = -10; i <= 10; ++i) {
    if (i == 0) continue;
    rows.push_back({static_cast<float>(i) / 4, static_cast<float>(i % 3)});
    y.push_back(i > 0);
  }
  Matrix x = MakeMatrix(rows, {"a", "b"});
  // l2 keeps the coefficients finite and the gradient vanishes.
  LogisticParams params = Params(LogisticPenalty::kL2, 1.0, true);
  LogisticReport report;
  StatusOr<LogisticModel> model = LogisticModel::Train(params, {&x, y}, &report);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_TRUE(report.converged);
  EXPECT_LT(GradientAtSolution(*model, x, y, {}, params), 1e-9);
  StatusOr<std::vector<float>> p = model->Predict(x);
  ASSERT_TRUE(p.ok());
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ((*p)[i] > 0.5f, y[i] == 1) << i;
  // Without a penalty the coefficients grow without bound; training still ends, without NaN,
  // and separates the classes with near-certain probabilities.
  params.penalty = LogisticPenalty::kNone;
  params.max_iter = 50;
  StatusOr<LogisticModel> free = LogisticModel::Train(params, {&x, y}, &report);
  ASSERT_TRUE(free.ok()) << free.status();
  EXPECT_TRUE(std::isfinite(free->coefficients()[0]));
  EXPECT_GT(free->coefficients()[0], 10 * model->coefficients()[0]);
  p = free->Predict(x);
  ASSERT_TRUE(p.ok());
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_NEAR((*p)[i], y[i], 1e-3) << i;
  }
}

TEST(LogisticTest, IntegerWeightsEqualDuplicatedRows) {
  const Small& d = SmallData();
  std::vector<std::vector<float>> rows;
  std::vector<float> y;
  for (size_t i = 0; i < d.x.rows; ++i) {
    for (int k = 0; k < static_cast<int>(d.w[i]); ++k) {
      rows.push_back({d.x.at(i, 0), d.x.at(i, 1), d.x.at(i, 2)});
      y.push_back(d.y[i]);
    }
  }
  Matrix duplicated = MakeMatrix(rows, {"x1", "x2", "x3"});
  for (LogisticPenalty penalty : {LogisticPenalty::kL2, LogisticPenalty::kL1}) {
    for (bool standardize : {false, true}) {
      LogisticParams params = Params(penalty, 0.3, standardize);
      StatusOr<LogisticModel> weighted = LogisticModel::Train(params, {&d.x, d.y, d.w});
      StatusOr<LogisticModel> copies = LogisticModel::Train(params, {&duplicated, y});
      ASSERT_TRUE(weighted.ok() && copies.ok());
      ExpectCoefficients(*weighted, copies->coefficients(), copies->intercept(), 1e-9);
      EXPECT_NEAR(weighted->stds()[1], copies->stds()[1], 1e-12);
    }
  }
  // A zero weight removes the row.
  std::vector<float> w(d.x.rows, 1.0f);
  w[5] = 0;
  std::vector<size_t> kept;
  for (size_t i = 0; i < d.x.rows; ++i) {
    if (i != 5) kept.push_back(i);
  }
  Matrix without = TakeRows(d.x, kept);
  std::vector<float> y_without = TakeRows(d.y, kept);
  LogisticParams params = Params(LogisticPenalty::kL2, 0.3, true);
  StatusOr<LogisticModel> zero = LogisticModel::Train(params, {&d.x, d.y, w});
  StatusOr<LogisticModel> dropped = LogisticModel::Train(params, {&without, y_without});
  ASSERT_TRUE(zero.ok() && dropped.ok());
  ExpectCoefficients(*zero, dropped->coefficients(), dropped->intercept(), 1e-9);
}

TEST(LogisticTest, ContributionsAddUpToTheLogOdds) {
  Small d = SmallData();
  d.x.values[4] = kNaN;  // row 1, x2
  StatusOr<LogisticModel> model =
      LogisticModel::Train(Params(LogisticPenalty::kL2, 1.0, true), {&d.x, d.y});
  ASSERT_TRUE(model.ok());
  StatusOr<LinearContributions> c = model->Contributions(d.x);
  StatusOr<std::vector<double>> logits = model->Logits(d.x);
  StatusOr<std::vector<float>> p = model->Predict(d.x);
  ASSERT_TRUE(c.ok() && logits.ok() && p.ok());
  ASSERT_EQ(c->rows, d.x.rows);
  ASSERT_EQ(c->cols, 3u);
  EXPECT_EQ(c->feature_names, d.x.feature_names);
  EXPECT_EQ(c->at(1, 1), 0.0);  // missing: the mean, no contribution
  for (size_t i = 0; i < d.x.rows; ++i) {
    double sum = c->bias;
    for (size_t j = 0; j < 3; ++j) {
      sum += c->at(i, j);
      if (!std::isnan(d.x.at(i, j))) {
        EXPECT_DOUBLE_EQ(c->at(i, j),
                         model->coefficients()[j] * (d.x.at(i, j) - model->means()[j]));
      }
    }
    EXPECT_EQ(sum, (*logits)[i]) << i;  // bit for bit
    double direct = model->intercept();
    for (size_t j = 0; j < 3; ++j) {
      direct += model->coefficients()[j] *
                (std::isnan(d.x.at(i, j)) ? model->means()[j] : double(d.x.at(i, j)));
    }
    EXPECT_NEAR((*logits)[i], direct, 1e-12);
    EXPECT_NEAR((*p)[i], 1 / (1 + std::exp(-direct)), 1e-7);
  }
  // The bias is the log-odds of the average row.
  double bias = model->intercept();
  for (size_t j = 0; j < 3; ++j) bias += model->coefficients()[j] * model->means()[j];
  EXPECT_DOUBLE_EQ(c->bias, bias);
}

TEST(LogisticTest, JsonRoundTripAndDeterminism) {
  const Small& d = SmallData();
  for (LogisticPenalty penalty : {LogisticPenalty::kL2, LogisticPenalty::kL1}) {
    LogisticParams params = Params(penalty, 0.3, true);
    StatusOr<LogisticModel> a = LogisticModel::Train(params, {&d.x, d.y, d.w});
    StatusOr<LogisticModel> b = LogisticModel::Train(params, {&d.x, d.y, d.w});
    ASSERT_TRUE(a.ok() && b.ok());
    const std::string ja = DumpJson(a->ToJson()), jb = DumpJson(b->ToJson());
    EXPECT_EQ(ja, jb);  // byte-identical
    StatusOr<Json> parsed = ParseJson(ja);
    ASSERT_TRUE(parsed.ok());
    StatusOr<LogisticModel> loaded = LogisticModel::FromJson(*parsed);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(DumpJson(loaded->ToJson()), ja);
    EXPECT_EQ(loaded->feature_names(), d.x.feature_names);
    EXPECT_EQ(loaded->params().penalty, penalty);
    StatusOr<std::vector<double>> la = a->Logits(d.x), ll = loaded->Logits(d.x);
    ASSERT_TRUE(la.ok() && ll.ok());
    EXPECT_EQ(*la, *ll);  // bit for bit
  }
  StatusOr<LogisticModel> model =
      LogisticModel::Train(Params(LogisticPenalty::kL2, 1, true), {&d.x, d.y});
  ASSERT_TRUE(model.ok());
  const Json j = model->ToJson();
  EXPECT_EQ(j["model"], "logistic_regression");
  EXPECT_EQ(j["features"][0]["name"], "x1");
  EXPECT_EQ(j["training"]["rows"], 40);
  EXPECT_TRUE(j["training"]["converged"].get<bool>());
}

TEST(LogisticTest, FromJsonRefusesWhatToJsonWouldNotWrite) {
  const Small& d = SmallData();
  StatusOr<LogisticModel> model =
      LogisticModel::Train(Params(LogisticPenalty::kL2, 1, true), {&d.x, d.y});
  ASSERT_TRUE(model.ok());
  const Json good = model->ToJson();
  auto refused = [&](const std::function<void(Json&)>& edit, const std::string& message) {
    Json j = good;
    edit(j);
    StatusOr<LogisticModel> m = LogisticModel::FromJson(j);
    EXPECT_FALSE(m.ok()) << message;
    if (!m.ok()) {
      EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(m.status().message()), HasSubstr(message));
    }
  };
  refused([](Json& j) { j["extra"] = 1; }, "unknown member 'extra'");
  refused([](Json& j) { j.erase("intercept"); }, "lacks the member 'intercept'");
  refused([](Json& j) { j["format"] = 2; }, "format must be 1");
  refused([](Json& j) { j["model"] = "xgboost"; }, "model must be");
  refused([](Json& j) { j["params"]["alpha"] = 1; }, "unknown parameter 'alpha'");
  refused([](Json& j) { j["params"]["C"] = -1; }, "parameter C must be > 0");
  refused([](Json& j) { j["features"][1]["std"] = 0; }, "features[1].std must be > 0");
  refused([](Json& j) { j["features"][0]["coefficient"] = "1"; },
          "features[0].coefficient must be a number");
  refused([](Json& j) { j["features"][2]["name"] = "x1"; }, "'x1' repeats");
  refused([](Json& j) { j["features"][0]["unit"] = "m"; }, "unknown member 'unit'");
  refused([](Json& j) { j["features"] = Json::array(); }, "non-empty array");
  refused([](Json& j) { j["intercept"] = nullptr; }, "intercept must be a number");
  refused([](Json& j) { j["training"]["seconds"] = 1; }, "unknown member 'seconds'");
  refused([](Json& j) { j = Json::array(); }, "must be a JSON object");
}

TEST(LogisticTest, ParamsJson) {
  LogisticParams p;
  p.penalty = LogisticPenalty::kL1;
  p.C = 0.25;
  p.max_iter = 7;
  p.fit_intercept = false;
  StatusOr<LogisticParams> back = LogisticParams::FromJson(p.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson(), p.ToJson());
  StatusOr<LogisticParams> partial = LogisticParams::FromJson({{"C", 2}});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->C, 2);
  EXPECT_EQ(partial->penalty, LogisticPenalty::kL2);
  EXPECT_TRUE(partial->standardize);
  for (const auto& [json, message] : std::vector<std::pair<Json, std::string>>{
           {{{"penalty", "elasticnet"}}, "penalty must be"},
           {{{"C", 0}}, "C must be > 0"},
           {{{"C", "1"}}, "C must be a number"},
           {{{"max_iter", 0}}, "max_iter must be >= 1"},
           {{{"max_iter", 1.5}}, "max_iter must be an integer"},
           {{{"tol", -1}}, "tol must be > 0"},
           {{{"standardize", 1}}, "standardize must be true or false"},
           {{{"solver", "lbfgs"}}, "unknown parameter 'solver'"},
           {Json::array(), "must be a JSON object"}}) {
    StatusOr<LogisticParams> r = LogisticParams::FromJson(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
  }
}

TEST(LogisticTest, RefusesBadData) {
  const Small& d = SmallData();
  const LogisticParams params;
  auto refused = [&](const TrainingData& data, const std::string& message) {
    StatusOr<LogisticModel> m = LogisticModel::Train(params, data);
    ASSERT_FALSE(m.ok()) << message;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(message));
  };
  refused({nullptr, d.y}, "no feature matrix");
  std::vector<float> short_labels(d.y.begin(), d.y.begin() + 5);
  refused({&d.x, short_labels}, "5 labels for 40 rows");
  std::vector<float> bad = d.y;
  bad[3] = 2;
  refused({&d.x, bad}, "label at row 3 is 2");
  std::vector<float> ones(d.y.size(), 1.0f);
  refused({&d.x, ones}, "only one class");
  std::vector<float> w = d.w;
  w[7] = -1;
  refused({&d.x, d.y, w}, "weight at row 7 is -1");
  std::vector<float> zeros(d.y.size(), 0.0f);
  refused({&d.x, d.y, zeros}, "weights are all zero");
  Matrix x = d.x;
  x.values[2 * 3 + 1] = std::numeric_limits<float>::infinity();
  refused({&x, d.y}, "feature 'x2' at row 2 is infinite");
  x = d.x;
  for (size_t i = 0; i < x.rows; ++i) x.values[i * 3 + 2] = kNaN;
  refused({&x, d.y}, "feature 'x3' has no non-missing value");
  x = d.x;
  x.feature_names[2] = "x1";
  refused({&x, d.y}, "feature name 'x1' repeats");
  LogisticParams bad_params;
  bad_params.C = 0;
  StatusOr<LogisticModel> m = LogisticModel::Train(bad_params, {&d.x, d.y});
  EXPECT_FALSE(m.ok());
}

TEST(LogisticTest, PredictChecksTheFeatures) {
  const Small& d = SmallData();
  StatusOr<LogisticModel> model = LogisticModel::Train(LogisticParams(), {&d.x, d.y});
  ASSERT_TRUE(model.ok());
  Matrix renamed = d.x;
  std::swap(renamed.feature_names[0], renamed.feature_names[1]);
  StatusOr<std::vector<float>> p = model->Predict(renamed);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("feature 0 of the matrix is 'x2'; the model expects 'x1'"));
  Matrix narrow = MakeMatrix({{1, 2}}, {"x1", "x2"});
  p = model->Predict(narrow);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("2 columns; the model expects 3"));
  Matrix unnamed = d.x;
  unnamed.feature_names.clear();
  EXPECT_TRUE(model->Predict(unnamed).ok());
  Matrix infinite = d.x;
  infinite.values[0] = -std::numeric_limits<float>::infinity();
  EXPECT_FALSE(model->Contributions(infinite).ok());
  // A model trained without names calls its features f0, f1, ...
  StatusOr<LogisticModel> anonymous = LogisticModel::Train(LogisticParams(), {&unnamed, d.y});
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->feature_names(), (std::vector<std::string>{"f0", "f1", "f2"}));
}

TEST(LogisticTest, ConstantAndCollinearFeatures) {
  // A constant column, and a copy of x1: without a penalty the Hessian is singular (the ridge
  // fallback); with l2 the copies share the weight equally.
  const Small& d = SmallData();
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < d.x.rows; ++i) rows.push_back({d.x.at(i, 0), 5.0f, d.x.at(i, 0)});
  Matrix x = MakeMatrix(rows, {"x1", "five", "x1_copy"});
  StatusOr<LogisticModel> l2 =
      LogisticModel::Train(Params(LogisticPenalty::kL2, 1.0, true), {&x, d.y});
  ASSERT_TRUE(l2.ok()) << l2.status();
  EXPECT_EQ(l2->coefficients()[1], 0.0);
  EXPECT_EQ(l2->stds()[1], 1.0);
  EXPECT_NEAR(l2->coefficients()[0], l2->coefficients()[2], 1e-9);
  LogisticReport report;
  StatusOr<LogisticModel> none =
      LogisticModel::Train(Params(LogisticPenalty::kNone, 1.0, true), {&x, d.y}, &report);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(report.converged);
  EXPECT_LT(report.gradient_norm, 1e-8);
}

// lending_club.csv, one-hot encoded, split 80/20 (stratified, seed 42).
TEST(LogisticTest, LendingClubTestAuc) {
  StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  StatusOr<std::vector<float>> labels = BinaryLabels(*table->Find("Class"), "bad");
  ASSERT_TRUE(labels.ok());
  StatusOr<Split> split = StratifiedSplit(*labels, 0.2, 42);
  ASSERT_TRUE(split.ok());
  PreprocessOptions options;
  for (const Column& c : table->columns()) {
    if (c.name() != "Class") options.columns.push_back(c.name());
  }
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(*table, options, split->train);
  ASSERT_TRUE(spec.ok());
  StatusOr<Matrix> all = spec->Apply(*table);
  ASSERT_TRUE(all.ok());
  Matrix train = TakeRows(*all, split->train), test = TakeRows(*all, split->test);
  std::vector<float> train_y = TakeRows(*labels, split->train);
  std::vector<float> test_y = TakeRows(*labels, split->test);
  for (LogisticPenalty penalty : {LogisticPenalty::kL2, LogisticPenalty::kL1}) {
    LogisticParams params;
    params.penalty = penalty;
    params.C = 0.1;
    LogisticReport report;
    StatusOr<LogisticModel> model = LogisticModel::Train(params, {&train, train_y}, &report);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_TRUE(report.converged) << report.ToJson();
    StatusOr<std::vector<float>> p = model->Predict(test);
    ASSERT_TRUE(p.ok());
    StatusOr<BinaryMetrics> metrics = EvaluateBinary(test_y, *p);
    ASSERT_TRUE(metrics.ok());
    // 0.70 (l2) and 0.74 (l1) here; XGBoost reaches 0.70-0.72 on this data.
    EXPECT_GT(metrics->auc, 0.66) << LogisticPenaltyName(penalty);
    EXPECT_LT(metrics->auc, 0.80);
    EXPECT_LT(GradientAtSolution(*model, train, train_y, {}, params), 1e-6);
  }
}

}  // namespace
}  // namespace plinth
