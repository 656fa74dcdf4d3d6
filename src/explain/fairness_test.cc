// Fairness metrics against hand-computed values (AIF360's definitions), the degenerate cases, and
// hmda.csv's afam: a logistic model trained without afam, its report checked against a direct
// computation.
#include "explain/fairness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "train/split.h"
#include "train/trainer.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

const Json* Group(const Json& report, const std::string& name) {
  for (const Json& g : report["groups"]) {
    if (g["group"] == name) return &g;
  }
  return nullptr;
}

// Ten rows, label 1 = default (adverse), so the favourable decision is a predicted negative
// (score < 0.5) and the truly favourable rows are those with label 0.
//
//   row  group label score  decision     truth
//    0    A     0    0.10   favourable   favourable
//    1    A     0    0.20   favourable   favourable
//    2    A     0    0.60   unfavourable favourable
//    3    A     1    0.30   favourable   unfavourable
//    4    A     1    0.80   unfavourable unfavourable
//    5    B     0    0.40   favourable   favourable
//    6    B     0    0.70   unfavourable favourable
//    7    B     1    0.90   unfavourable unfavourable
//    8    B     1    0.55   unfavourable unfavourable
//    9    B     0    0.65   unfavourable favourable
//
// A: selection rate 3/5 = 0.6 (rows 0, 1, 3); TPR = 2/3 (rows 0, 1 of the favourable 0, 1, 2);
//    FPR = 1/2 (row 3 of the unfavourable 3, 4); AUC: the defaults score 0.3 and 0.8 against
//    0.1, 0.2, 0.6: 0.3 beats 2, 0.8 beats 3, so 5/6.
// B: selection rate 1/5 = 0.2 (row 5); TPR = 1/3 (row 5 of 5, 6, 9); FPR = 0/2 = 0;
//    AUC: 0.9 beats 0.4, 0.7, 0.65 (3), 0.55 beats 0.4 (1): 4/6.
// Reference: A (highest selection rate). For B:
//    disparate impact 0.2 / 0.6 = 1/3; statistical parity difference 0.2 - 0.6 = -0.4;
//    equal opportunity difference 1/3 - 2/3 = -1/3;
//    average odds difference ((0 - 1/2) + (1/3 - 2/3)) / 2 = (-1/2 - 1/3) / 2 = -5/12.
const std::vector<float> kLabels = {0, 0, 0, 1, 1, 0, 0, 1, 1, 0};
const std::vector<float> kScores = {0.1f, 0.2f, 0.6f, 0.3f, 0.8f, 0.4f, 0.7f, 0.9f, 0.55f, 0.65f};
const std::vector<std::string> kGroups = {"A", "A", "A", "A", "A", "B", "B", "B", "B", "B"};

TEST(FairnessTest, MatchesHandComputedValues) {
  FairnessOptions options;
  options.min_group_size = 5;
  auto report = FairnessReport(kLabels, kScores, kGroups, "g", options);
  ASSERT_TRUE(report.ok()) << report.status();
  const Json& r = *report;
  EXPECT_EQ(r["reference_group"], "A");
  EXPECT_EQ(r["reference_chosen"], "highest_selection_rate");
  const Json* a = Group(r, "A");
  const Json* b = Group(r, "B");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ((*a)["count"], 5);
  EXPECT_EQ((*a)["reference"], true);
  EXPECT_NEAR((*a)["selection_rate"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR((*a)["true_positive_rate"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR((*a)["false_positive_rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR((*a)["base_rate"].get<double>(), 0.6, 1e-12);
  EXPECT_NEAR((*a)["auc"].get<double>(), 5.0 / 6, 1e-12);
  EXPECT_FALSE(a->contains("disparate_impact"));
  EXPECT_NEAR((*b)["selection_rate"].get<double>(), 0.2, 1e-12);
  EXPECT_NEAR((*b)["true_positive_rate"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR((*b)["false_positive_rate"].get<double>(), 0.0, 1e-12);
  EXPECT_NEAR((*b)["auc"].get<double>(), 4.0 / 6, 1e-12);
  EXPECT_NEAR((*b)["disparate_impact"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR((*b)["statistical_parity_difference"].get<double>(), -0.4, 1e-12);
  EXPECT_NEAR((*b)["equal_opportunity_difference"].get<double>(), -1.0 / 3, 1e-12);
  EXPECT_NEAR((*b)["average_odds_difference"].get<double>(), -5.0 / 12, 1e-12);
  const Json& s = r["summary"];
  EXPECT_NEAR(s["disparate_impact_min"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_EQ(s["disparate_impact_min_group"], "B");
  EXPECT_NEAR(s["statistical_parity_difference_max_abs"].get<double>(), 0.4, 1e-12);
  EXPECT_NEAR(s["equal_opportunity_difference_max_abs"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(s["average_odds_difference_max_abs"].get<double>(), 5.0 / 12, 1e-12);
  EXPECT_EQ(s["four_fifths_rule_passed"], false);
  EXPECT_EQ(s["groups_compared"], 1);

  // B as the configured reference: the ratios turn over. DI(A) = 0.6 / 0.2 = 3.
  options.reference_group = "B";
  report = FairnessReport(kLabels, kScores, kGroups, "g", options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["reference_chosen"], "configured");
  EXPECT_NEAR((*Group(*report, "A"))["disparate_impact"].get<double>(), 3.0, 1e-12);
  EXPECT_NEAR((*Group(*report, "A"))["average_odds_difference"].get<double>(), 5.0 / 12, 1e-12);

  // The favourable decision as the positive class: selection rates are the complements
  // (A 2/5, B 4/5), TPR w.r.t. label 1: A 1/2 (row 4), B 2/2.
  options.reference_group = "";
  options.favorable = "positive";
  report = FairnessReport(kLabels, kScores, kGroups, "g", options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["reference_group"], "B");
  EXPECT_NEAR((*Group(*report, "A"))["selection_rate"].get<double>(), 0.4, 1e-12);
  EXPECT_NEAR((*Group(*report, "A"))["true_positive_rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR((*Group(*report, "B"))["true_positive_rate"].get<double>(), 1.0, 1e-12);
  EXPECT_NEAR((*Group(*report, "A"))["disparate_impact"].get<double>(), 0.5, 1e-12);
  // AUC does not depend on which class is favourable.
  EXPECT_NEAR((*Group(*report, "A"))["auc"].get<double>(), 5.0 / 6, 1e-12);
}

TEST(FairnessTest, SmallGroupsAreFlaggedAndLeftOutOfTheSummary) {
  auto report = FairnessReport(kLabels, kScores, kGroups, "g");  // min_group_size 30
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*Group(*report, "A"))["small"], true);
  // Both groups small: the reference is chosen among all of them; B is reported but not
  // summarised.
  EXPECT_EQ((*report)["reference_group"], "A");
  EXPECT_NEAR((*Group(*report, "B"))["disparate_impact"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_TRUE((*report)["summary"]["disparate_impact_min"].is_null());
  EXPECT_EQ((*report)["summary"]["small_groups"], Json::array({"A", "B"}));
}

TEST(FairnessTest, DegenerateGroupsGiveNullsNotNaN) {
  // Group C holds only defaults: no truly favourable row, so TPR (and EOD, AOD) are null, and
  // one class only, so AUC is null. Its selection rate is still defined.
  std::vector<float> labels = kLabels, scores = kScores;
  std::vector<std::string> groups = kGroups;
  labels.insert(labels.end(), {1, 1});
  scores.insert(scores.end(), {0.2f, 0.9f});
  groups.insert(groups.end(), {"C", "C"});
  FairnessOptions options;
  options.min_group_size = 1;
  auto report = FairnessReport(labels, scores, groups, "g", options);
  ASSERT_TRUE(report.ok()) << report.status();
  const Json& c = *Group(*report, "C");
  EXPECT_TRUE(c["true_positive_rate"].is_null());
  EXPECT_TRUE(c["auc"].is_null());
  EXPECT_TRUE(c["equal_opportunity_difference"].is_null());
  EXPECT_TRUE(c["average_odds_difference"].is_null());
  EXPECT_NEAR(c["selection_rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(c["false_positive_rate"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(c["disparate_impact"].get<double>(), 0.5 / 0.6, 1e-12);
  // The dump has no NaN anywhere (JSON could not carry it).
  EXPECT_THAT(report->dump(), ::testing::Not(HasSubstr("NaN")));
  // The summary takes the null EOD as absent: B's 1/3 is the largest.
  EXPECT_NEAR((*report)["summary"]["equal_opportunity_difference_max_abs"].get<double>(), 1.0 / 3,
              1e-12);

  // One group only: nothing to compare.
  std::vector<std::string> one(kLabels.size(), "A");
  report = FairnessReport(kLabels, kScores, one, "g", options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["groups"].size(), 1u);
  EXPECT_TRUE((*report)["summary"]["disparate_impact_min"].is_null());
  EXPECT_TRUE((*report)["summary"]["four_fifths_rule_passed"].is_null());
  EXPECT_EQ((*report)["summary"]["groups_compared"], 0);

  // A reference with no favourable decision: DI null, the differences still defined.
  std::vector<float> high(kScores.size(), 0.9f);
  high[0] = 0.1f;  // only row 0 (A) approved
  options.reference_group = "B";
  report = FairnessReport(kLabels, high, kGroups, "g", options);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE((*Group(*report, "A"))["disparate_impact"].is_null());
  EXPECT_NEAR((*Group(*report, "A"))["statistical_parity_difference"].get<double>(), 0.2, 1e-12);

  // Errors.
  options.reference_group = "Z";
  EXPECT_EQ(FairnessReport(kLabels, kScores, kGroups, "g", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.reference_group = "";
  options.favorable = "approve";
  EXPECT_EQ(FairnessReport(kLabels, kScores, kGroups, "g", options).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<float> bad = kLabels;
  bad[0] = 2;
  EXPECT_EQ(FairnessReport(bad, kScores, kGroups, "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FairnessReport({}, {}, {}, "g").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FairnessTest, GroupValuesNameMissingCells) {
  Column c("afam", ColumnType::kString);
  c.AppendString("yes");
  c.AppendNull();
  Column n("age", ColumnType::kInt64);
  n.AppendInt64(40);
  n.AppendNull();
  EXPECT_EQ(GroupValues(c), (std::vector<std::string>{"yes", "(missing)"}));
  EXPECT_EQ(GroupValues(n), (std::vector<std::string>{"40", "(missing)"}));
}

// hmda.csv (deny yes / no, protected afam): a logistic model trained without afam on 80% of the
// rows; its decisions on the other 20% compared by afam, checked against a direct computation.
TEST(FairnessTest, HmdaAfamReportEqualsADirectComputation) {
  StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/hmda.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  StatusOr<std::vector<float>> all_labels = BinaryLabels(*table->Find("deny"), "yes");
  ASSERT_TRUE(all_labels.ok());
  StatusOr<Split> split = StratifiedSplit(*all_labels, 0.2, 42);
  ASSERT_TRUE(split.ok());
  const Table train = TakeRows(*table, split->train);
  const Table test = TakeRows(*table, split->test);
  StatusOr<TrainSpec> spec = TrainSpec::FromJson(
      {{"kind", "logistic"}, {"target", "deny"}, {"positive", "yes"}, {"exclude", {"afam"}}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  FakeClock clock(1767225600000000);
  TrainOptions train_options;
  train_options.clock = &clock;
  StatusOr<TrainedModel> model = TrainModel(*spec, train, train_options);
  ASSERT_TRUE(model.ok()) << model.status();
  for (const ModelInput& input : model->package.manifest.inputs) EXPECT_NE(input.name, "afam");
  auto scorer = LoadScorer(model->package);
  ASSERT_TRUE(scorer.ok());
  auto p = (*scorer)->PredictTable(test);
  ASSERT_TRUE(p.ok());
  std::vector<float> scores(p->begin(), p->end());
  auto labels = BinaryLabels(*test.Find("deny"), "yes");
  ASSERT_TRUE(labels.ok());
  const std::vector<std::string> groups = GroupValues(*test.Find("afam"));

  // A low threshold, as a lender screening for review would use: denial probabilities are mostly
  // small, and at 0.5 almost every applicant would be approved.
  FairnessOptions options;
  options.threshold = 0.2;
  auto report = FairnessReport(*labels, scores, groups, "afam", options);
  ASSERT_TRUE(report.ok()) << report.status();

  // Directly: approval = score < 0.2; truly favourable = not denied.
  struct Counts {
    double n = 0, approved = 0, good = 0, good_approved = 0, bad = 0, bad_approved = 0;
  };
  std::map<std::string, Counts> counts;
  for (size_t i = 0; i < scores.size(); ++i) {
    Counts& c = counts[groups[i]];
    const bool approved = scores[i] < 0.2f, good = (*labels)[i] == 0;
    c.n += 1;
    c.approved += approved;
    c.good += good;
    c.good_approved += good && approved;
    c.bad += !good;
    c.bad_approved += !good && approved;
  }
  ASSERT_EQ(counts.size(), 2u);
  const Counts& no = counts["no"];
  const Counts& yes = counts["yes"];
  const double sel_no = no.approved / no.n, sel_yes = yes.approved / yes.n;
  const double tpr_no = no.good_approved / no.good, tpr_yes = yes.good_approved / yes.good;
  const double fpr_no = no.bad_approved / no.bad, fpr_yes = yes.bad_approved / yes.bad;
  ASSERT_GT(sel_no, sel_yes);  // the reference is the group approved more often
  EXPECT_EQ((*report)["reference_group"], "no");
  const Json& g = *Group(*report, "yes");
  EXPECT_EQ(g["count"], yes.n);
  EXPECT_NEAR(g["selection_rate"].get<double>(), sel_yes, 1e-12);
  EXPECT_NEAR(g["disparate_impact"].get<double>(), sel_yes / sel_no, 1e-12);
  EXPECT_NEAR(g["statistical_parity_difference"].get<double>(), sel_yes - sel_no, 1e-12);
  EXPECT_NEAR(g["equal_opportunity_difference"].get<double>(), tpr_yes - tpr_no, 1e-12);
  EXPECT_NEAR(g["average_odds_difference"].get<double>(),
              0.5 * ((fpr_yes - fpr_no) + (tpr_yes - tpr_no)), 1e-12);
  EXPECT_NEAR((*report)["summary"]["disparate_impact_min"].get<double>(), sel_yes / sel_no, 1e-12);
  std::printf(
      "hmda afam (logistic without afam, threshold 0.2, %zu test rows): selection rate no %.4f, "
      "yes %.4f; disparate impact %.4f; SPD %.4f; EOD %.4f; AOD %.4f; AUC no %.4f, yes %.4f\n",
      scores.size(), sel_no, sel_yes, sel_yes / sel_no, sel_yes - sel_no, tpr_yes - tpr_no,
      0.5 * ((fpr_yes - fpr_no) + (tpr_yes - tpr_no)), (*Group(*report, "no"))["auc"].get<double>(),
      g["auc"].get<double>());

  const std::string svg = SelectionRateSvg(*report);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("4/5 of reference"));
  const std::string page = FairnessHtmlPage(Json{{"afam", *report}}, "Fairness");
  EXPECT_THAT(page, HasSubstr("<h2>afam</h2>"));
  EXPECT_THAT(page, HasSubstr("disparate impact"));
}

}  // namespace
}  // namespace plinth
