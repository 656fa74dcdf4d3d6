#include "train/evaluation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace plinth {
namespace {

using ::testing::HasSubstr;

TEST(EvaluateBinaryTest, SmallCaseByHand) {
  std::vector<float> labels = {1, 0, 1, 0};
  std::vector<float> scores = {0.9f, 0.8f, 0.4f, 0.3f};
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok()) << m.status();
  // Positive-negative pairs: (.9,.8) (.9,.3) (.4,.3) ranked right, (.4,.8) wrong: 3 of 4.
  EXPECT_DOUBLE_EQ(m->auc, 0.75);
  EXPECT_DOUBLE_EQ(m->gini, 0.5);
  // TPR - FPR: .5 after 0.9, 0 after 0.8, .5 after 0.4: the first maximum is at 0.9.
  EXPECT_DOUBLE_EQ(m->ks, 0.5);
  EXPECT_FLOAT_EQ(m->ks_score, 0.9f);
  const double log_loss =
      -(std::log(0.9f) + std::log(1 - 0.8f) + std::log(0.4f) + std::log(1 - 0.3f)) / 4;
  EXPECT_NEAR(m->log_loss, log_loss, 1e-7);
  EXPECT_NEAR(m->log_loss, 0.746941, 1e-6);
  EXPECT_NEAR(m->brier, (0.01 + 0.64 + 0.36 + 0.09) / 4, 1e-7);
  // Threshold 0.5: 0.9 TP, 0.8 FP, 0.4 FN, 0.3 TN.
  EXPECT_EQ(m->confusion.true_positives, 1);
  EXPECT_EQ(m->confusion.false_positives, 1);
  EXPECT_EQ(m->confusion.false_negatives, 1);
  EXPECT_EQ(m->confusion.true_negatives, 1);
  EXPECT_DOUBLE_EQ(m->precision, 0.5);
  EXPECT_DOUBLE_EQ(m->recall, 0.5);
  EXPECT_DOUBLE_EQ(m->f1, 0.5);
  EXPECT_DOUBLE_EQ(m->accuracy, 0.5);
  EXPECT_DOUBLE_EQ(m->base_rate, 0.5);
  // At 0.35 three rows are predicted positive: precision 2/3, recall 1.
  m = EvaluateBinary(labels, scores, {}, 0.35);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->precision, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m->recall, 1.0);
  EXPECT_DOUBLE_EQ(m->f1, 0.8);
}

TEST(EvaluateBinaryTest, TiesCountOneHalfAsAverageRanks) {
  std::vector<float> labels = {1, 0, 1, 0, 1};
  std::vector<float> scores = {0.5f, 0.5f, 0.7f, 0.2f, 0.2f};
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  // Average ranks (ascending): .2 .2 -> 1.5, .5 .5 -> 3.5, .7 -> 5. Positives' rank sum
  // 3.5 + 5 + 1.5 = 10; U = 10 - 3 * 4 / 2 = 4; AUC = 4 / (3 * 2).
  EXPECT_DOUBLE_EQ(m->auc, 4.0 / 6);
  // Every score tied: AUC one half exactly.
  std::vector<float> same(5, 0.3f);
  m = EvaluateBinary(labels, same);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->auc, 0.5);
  EXPECT_DOUBLE_EQ(m->ks, 0.0);
}

TEST(EvaluateBinaryTest, PerfectReversedAndRandomRankings) {
  std::vector<float> labels, scores, reversed;
  for (int i = 0; i < 1000; ++i) {
    labels.push_back(i < 300 ? 1 : 0);
    scores.push_back(static_cast<float>(1000 - i) / 1000);
    reversed.push_back(static_cast<float>(i) / 1000);
  }
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->auc, 1.0);
  EXPECT_DOUBLE_EQ(m->gini, 1.0);
  EXPECT_DOUBLE_EQ(m->ks, 1.0);
  m = EvaluateBinary(labels, reversed);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->auc, 0.0);
  EXPECT_DOUBLE_EQ(m->gini, -1.0);

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> uniform(0, 1);
  std::vector<float> random_labels, random_scores;
  for (int i = 0; i < 200000; ++i) {
    random_labels.push_back(uniform(rng) < 0.2f ? 1 : 0);
    random_scores.push_back(uniform(rng));
  }
  m = EvaluateBinary(random_labels, random_scores);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->auc, 0.5, 0.01);
  EXPECT_LT(m->ks, 0.02);
}

TEST(EvaluateBinaryTest, WeightsActLikeRepeatedRows) {
  std::vector<float> labels = {1, 0, 1, 0, 1, 0, 0};
  std::vector<float> scores = {0.9f, 0.8f, 0.4f, 0.3f, 0.4f, 0.1f, 0.8f};
  std::vector<float> weights = {2, 1, 3, 1, 1, 2, 1};
  std::vector<float> repeated_labels, repeated_scores;
  for (size_t i = 0; i < labels.size(); ++i) {
    for (int k = 0; k < static_cast<int>(weights[i]); ++k) {
      repeated_labels.push_back(labels[i]);
      repeated_scores.push_back(scores[i]);
    }
  }
  StatusOr<BinaryMetrics> a = EvaluateBinary(labels, scores, weights);
  StatusOr<BinaryMetrics> b = EvaluateBinary(repeated_labels, repeated_scores);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NEAR(a->auc, b->auc, 1e-12);
  EXPECT_NEAR(a->ks, b->ks, 1e-12);
  EXPECT_NEAR(a->log_loss, b->log_loss, 1e-12);
  EXPECT_NEAR(a->brier, b->brier, 1e-12);
  EXPECT_NEAR(a->precision, b->precision, 1e-12);
  EXPECT_DOUBLE_EQ(a->weight, 11);
  EXPECT_EQ(a->rows, 7u);
}

TEST(EvaluateBinaryTest, DecilesLiftAndGains) {
  // Ten rows, one per decile, scores .95 .85 ... .05; the top three are positive.
  std::vector<float> labels, scores;
  for (int i = 0; i < 10; ++i) {
    labels.push_back(i < 3 ? 1 : 0);
    scores.push_back(0.95f - 0.1f * static_cast<float>(i));
  }
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->deciles.size(), 10u);
  const DecileStats& first = m->deciles[0];
  EXPECT_EQ(first.decile, 1);
  EXPECT_EQ(first.rows, 1u);
  EXPECT_FLOAT_EQ(first.mean_score, 0.95f);
  EXPECT_DOUBLE_EQ(first.observed_rate, 1.0);
  EXPECT_NEAR(first.lift, 1 / 0.3, 1e-12);
  EXPECT_NEAR(m->deciles[1].cumulative_lift, 1 / 0.3, 1e-12);
  EXPECT_NEAR(m->deciles[1].cumulative_gain, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m->deciles[2].cumulative_gain, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(m->deciles[3].lift, 0.0);
  EXPECT_NEAR(m->deciles[4].cumulative_population, 0.5, 1e-12);
  EXPECT_NEAR(m->deciles[9].cumulative_lift, 1.0, 1e-12);

  // 25 rows: deciles by tenths of the weight, 2 or 3 rows each, highest scores first.
  labels.assign(25, 0);
  scores.clear();
  for (int i = 0; i < 25; ++i) scores.push_back(static_cast<float>(i) / 25);
  m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->deciles.size(), 10u);
  size_t rows = 0;
  for (const DecileStats& d : m->deciles) {
    EXPECT_TRUE(d.rows == 2 || d.rows == 3) << d.decile;
    rows += d.rows;
  }
  EXPECT_EQ(rows, 25u);
  EXPECT_FLOAT_EQ(m->deciles[0].max_score, 24.0f / 25);
  EXPECT_GE(m->deciles[0].min_score, m->deciles[1].max_score);
}

TEST(EvaluateBinaryTest, OneClassLeavesRankMetricsUndefined) {
  std::vector<float> labels = {0, 0, 0};
  std::vector<float> scores = {0.1f, 0.2f, 0.3f};
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::isnan(m->auc));
  Json j = m->ToJson();
  EXPECT_TRUE(j["auc"].is_null());
  EXPECT_TRUE(j["log_loss"].is_number());
  EXPECT_TRUE(CanonicalJson(j).ok());  // no NaN left in the document
}

TEST(EvaluateBinaryTest, RefusesBadInput) {
  std::vector<float> labels = {1, 0};
  std::vector<float> scores = {0.5f, 0.5f};
  std::vector<float> three = {0.1f, 0.2f, 0.3f};
  EXPECT_FALSE(EvaluateBinary(labels, three).ok());
  EXPECT_FALSE(EvaluateBinary({}, {}).ok());
  std::vector<float> bad_labels = {2, 0};
  EXPECT_THAT(EvaluateBinary(bad_labels, scores).status().message(), HasSubstr("0 or 1"));
  std::vector<float> margins = {1.5f, -0.2f};
  EXPECT_THAT(EvaluateBinary(labels, margins).status().message(), HasSubstr("[0, 1]"));
  std::vector<float> negative = {1, -1};
  EXPECT_FALSE(EvaluateBinary(labels, scores, negative).ok());
  std::vector<float> zero = {0, 0};
  EXPECT_FALSE(EvaluateBinary(labels, scores, zero).ok());
  std::vector<float> nan_score = {NAN, 0.5f};
  EXPECT_FALSE(EvaluateBinary(labels, nan_score).ok());
}

TEST(EvaluateBinaryTest, JsonHasTheDocumentedShape) {
  std::vector<float> labels = {1, 0, 1, 0};
  std::vector<float> scores = {0.9f, 0.8f, 0.4f, 0.3f};
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  Json j = m->ToJson();
  EXPECT_DOUBLE_EQ(j["auc"].get<double>(), 0.75);
  EXPECT_EQ(j["confusion"]["true_positives"], 1.0);
  EXPECT_EQ(j["deciles"].size(), 4u);
  EXPECT_EQ(j["roc"]["fpr"].size(), j["roc"]["tpr"].size());
  EXPECT_EQ(j["roc"]["fpr"][0], 0.0);
  EXPECT_EQ(j["roc"]["tpr"].back(), 1.0);
  EXPECT_TRUE(j["roc"]["threshold"][0].is_null());  // +infinity: nothing predicted positive
  EXPECT_EQ(j["score_histogram"]["positives"].size(), 20u);
  EXPECT_TRUE(CanonicalJson(j).ok());
}

TEST(EvaluateRegressionTest, ByHand) {
  std::vector<float> labels = {1, 2, 3, 4};
  std::vector<float> predictions = {1, 2, 3, 5};
  StatusOr<RegressionMetrics> m = EvaluateRegression(labels, predictions);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->rmse, 0.5);
  EXPECT_DOUBLE_EQ(m->mae, 0.25);
  EXPECT_DOUBLE_EQ(m->r2, 0.8);  // 1 - 1 / 5
  std::vector<float> weights = {1, 1, 1, 3};
  m = EvaluateRegression(labels, predictions, weights);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->mae, 0.5);  // 3 / 6
  std::vector<float> constant = {2, 2, 2, 2};
  m = EvaluateRegression(constant, predictions);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::isnan(m->r2));
  EXPECT_TRUE(m->ToJson()["r2"].is_null());
  EXPECT_FALSE(EvaluateRegression(labels, std::span<const float>(constant).subspan(0, 3)).ok());
}

TEST(PsiTest, ByHandAndIdentity) {
  std::vector<float> reference = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  StatusOr<PsiResult> same = PopulationStabilityIndex(reference, reference);
  ASSERT_TRUE(same.ok());
  EXPECT_DOUBLE_EQ(same->psi, 0.0);
  EXPECT_EQ(same->bins.size(), 10u);
  // Two bins split at 5: the reference has 1/2 in each; {0, 0, 0, 9} has 3/4 and 1/4.
  std::vector<float> current = {0, 0, 0, 9};
  StatusOr<PsiResult> psi = PopulationStabilityIndex(reference, current, 2);
  ASSERT_TRUE(psi.ok());
  ASSERT_EQ(psi->bins.size(), 2u);
  EXPECT_DOUBLE_EQ(psi->bins[0].upper, 5);
  EXPECT_NEAR(psi->psi, 0.25 * std::log(1.5) - 0.25 * std::log(0.5), 1e-12);
  EXPECT_NEAR(psi->psi, 0.274653, 1e-6);
  Json j = psi->ToJson();
  EXPECT_TRUE(j["bins"][0]["lower"].is_null());
  EXPECT_EQ(j["bins"][1]["lower"], 5.0);
  EXPECT_FALSE(PopulationStabilityIndex(reference, {}).ok());
  EXPECT_FALSE(PopulationStabilityIndex(reference, current, 1).ok());
}

TEST(SvgTest, PlotsAreSelfContainedAndLabelled) {
  std::vector<float> labels, scores;
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> uniform(0, 1);
  for (int i = 0; i < 2000; ++i) {
    float s = uniform(rng);
    scores.push_back(s);
    labels.push_back(uniform(rng) < s ? 1 : 0);
  }
  StatusOr<BinaryMetrics> m = EvaluateBinary(labels, scores);
  ASSERT_TRUE(m.ok());
  const Json j = m->ToJson();
  const std::string roc = RocCurveSvg(j);
  EXPECT_EQ(roc.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(roc, HasSubstr("False positive rate"));
  EXPECT_THAT(roc, HasSubstr("True positive rate"));
  EXPECT_THAT(roc, HasSubstr("AUC 0."));
  EXPECT_THAT(roc, HasSubstr("</svg>"));
  const std::string calibration = CalibrationSvg(j);
  EXPECT_THAT(calibration, HasSubstr("Mean predicted probability"));
  EXPECT_THAT(calibration, HasSubstr("decile 1:"));
  const std::string histogram = ScoreHistogramSvg(j);
  EXPECT_THAT(histogram, HasSubstr("Share of the class"));
  EXPECT_THAT(histogram, HasSubstr("class 1"));
  // The ROC curve is thinned, not one point per row.
  EXPECT_LT(j["roc"]["fpr"].size(), 500u);
  EXPECT_EQ(RocCurveSvg(Json::object()), "");
  EXPECT_EQ(CalibrationSvg(Json{{"deciles", 3}}), "");
  EXPECT_EQ(ScoreHistogramSvg(Json()), "");
}

}  // namespace
}  // namespace plinth
