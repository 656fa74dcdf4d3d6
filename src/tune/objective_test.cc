// Objectives: parsing and compiling constraints against the declared metrics, checking them, and
// choosing a trial with its explanation.
#include "tune/objective.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tune/trial.h"

namespace plinth::tune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kMetrics = {"train_auc", "test_auc", "test_ks", "test_logloss"};

constexpr char kObjective[] = R"(metric: test_auc
direction: maximize
constraints:
  - "train_auc - test_auc <= 0.03"
  - "test_ks >= 0.2"
)";

Objective Parsed() {
  StatusOr<Objective> o = ParseObjective(kObjective, "tune.yaml", kMetrics);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : Objective();
}

std::string ErrorOf(const std::string& yaml) {
  StatusOr<Objective> o = ParseObjective(yaml, "tune.yaml", kMetrics);
  EXPECT_FALSE(o.ok());
  return std::string(o.status().message());
}

TEST(ObjectiveTest, Parses) {
  const Objective o = Parsed();
  EXPECT_EQ(o.metric, "test_auc");
  EXPECT_EQ(o.direction, Direction::kMaximize);
  ASSERT_EQ(o.constraints.size(), 2u);
  EXPECT_THAT(o.constraints[0].metrics, ElementsAre("train_auc", "test_auc"));
  EXPECT_EQ(o.constraints[0].op, "<=");
  EXPECT_THAT(o.RequiredMetrics(), ElementsAre("test_auc", "test_ks", "train_auc"));
  EXPECT_EQ(o.ToJson(), Json::parse(R"({"metric": "test_auc", "direction": "maximize",
    "constraints": ["train_auc - test_auc <= 0.03", "test_ks >= 0.2"]})"));
  EXPECT_TRUE(o.Better(0.8, 0.7));
  EXPECT_EQ(o.Loss(0.8), -0.8);
  StatusOr<Objective> min = MakeObjective("test_logloss", Direction::kMinimize, {}, kMetrics);
  ASSERT_TRUE(min.ok()) << min.status();
  EXPECT_TRUE(min->Better(0.3, 0.4));
}

TEST(ObjectiveTest, ErrorsNameTheFieldAndTheMetric) {
  EXPECT_EQ(ErrorOf("metric: test_aux\ndirection: maximize\n"),
            "tune.yaml:1:9: metric: unknown metric 'test_aux' (did you mean 'test_auc'?)");
  EXPECT_EQ(ErrorOf("metric: test_auc\ndirection: maximise\n"),
            "tune.yaml:2:12: direction: must be maximize or minimize, not 'maximise' (did you "
            "mean 'maximize'?)");
  EXPECT_EQ(ErrorOf("metric: test_auc\n"), "tune.yaml:1:1: missing 'direction'");
  const std::string undeclared =
      ErrorOf("metric: test_auc\ndirection: maximize\nconstraints: [\"test_sk >= 0.2\"]\n");
  EXPECT_THAT(undeclared, HasSubstr("tune.yaml:3:15: constraints[0]: constraint 'test_sk >= "
                                    "0.2': 1:1:"));
  EXPECT_THAT(undeclared, HasSubstr("did you mean 'test_ks'?"));
  EXPECT_THAT(ErrorOf("metric: test_auc\ndirection: maximize\nconstraints: [\"test_ks + 1\"]\n"),
              HasSubstr("a constraint must be true or false"));
  EXPECT_THAT(ErrorOf("metric: test_auc\ndirection: maximize\nconstraints: \"test_ks > 0\"\n"),
              HasSubstr("constraints: must be a list of expressions"));
  EXPECT_THAT(ErrorOf("metric: test_auc\ndirection: maximize\nconstraints: [\"test_ks >\"]\n"),
              HasSubstr("constraint 'test_ks >'"));
  StatusOr<Objective> none = ParseObjective("metric: a\ndirection: maximize\n", "t.yaml", {});
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("declares no metrics"));
}

TEST(ObjectiveTest, ChecksReportValuesAndLimits) {
  const Objective o = Parsed();
  std::map<std::string, double> metrics = {
      {"train_auc", 0.85}, {"test_auc", 0.83}, {"test_ks", 0.15}, {"test_logloss", 0.4}};
  ASSERT_TRUE(CheckMetrics(o, metrics).ok());
  std::vector<ConstraintCheck> checks = CheckConstraints(o, metrics);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_TRUE(checks[0].satisfied);
  EXPECT_NEAR(*checks[0].value, 0.02, 1e-12);
  EXPECT_EQ(*checks[0].limit, 0.03);
  EXPECT_EQ(checks[0].metrics,
            (std::map<std::string, double>{{"test_auc", 0.83}, {"train_auc", 0.85}}));
  EXPECT_FALSE(checks[1].satisfied);
  EXPECT_EQ(*checks[1].value, 0.15);
  EXPECT_EQ(*checks[1].limit, 0.2);
  EXPECT_EQ(checks[1].ToJson()["satisfied"], false);

  // A compound constraint has no single value to report.
  StatusOr<Objective> compound = MakeObjective("test_auc", Direction::kMaximize,
                                               {"test_auc > 0.7 && train_auc > 0.7"}, kMetrics);
  ASSERT_TRUE(compound.ok()) << compound.status();
  checks = CheckConstraints(*compound, metrics);
  EXPECT_TRUE(checks[0].satisfied);
  EXPECT_FALSE(checks[0].value.has_value());

  metrics.erase("test_ks");
  EXPECT_THAT(std::string(CheckMetrics(o, metrics).message()),
              HasSubstr("did not report the metric 'test_ks' (it reported test_auc, "
                        "test_logloss, train_auc)"));
}

// A record of a succeeded trial with its checks filled in as the tuner does.
TrialRecord Succeeded(const Objective& o, int index, double train, double test, double ks,
                      int rung = 0) {
  TrialRecord t;
  t.trial.index = index;
  t.trial.rung = rung;
  t.state = TrialState::kSucceeded;
  t.metrics = {{"train_auc", train}, {"test_auc", test}, {"test_ks", ks}};
  t.checks = CheckConstraints(o, t.metrics);
  t.feasible = t.violations().empty();
  return t;
}

TEST(SelectTrialTest, TheInfeasibleBestIsNotChosenAndTheExplanationSaysWhy) {
  const Objective o = Parsed();
  std::vector<TrialRecord> trials = {
      Succeeded(o, 0, 0.80, 0.78, 0.30),  // feasible
      Succeeded(o, 1, 0.95, 0.86, 0.40),  // best test_auc, overfits
      Succeeded(o, 2, 0.84, 0.83, 0.10),  // second best, ks too low
      Succeeded(o, 3, 0.83, 0.81, 0.35),  // best feasible
      Succeeded(o, 4, 0.82, 0.80, 0.25),  // feasible
  };
  TrialRecord failed;
  failed.trial.index = 5;
  failed.state = TrialState::kFailed;
  failed.status = absl::AbortedError("boom");
  trials.push_back(failed);

  Selection s = SelectTrial(o, trials);
  ASSERT_TRUE(s.chosen.has_value());
  EXPECT_EQ(*s.chosen, 3);
  const Json& e = s.explanation;
  EXPECT_EQ(e["chosen_trial"], 3);
  EXPECT_EQ(e["value"], 0.81);
  EXPECT_EQ(e["rank_by_metric"], 3);
  EXPECT_EQ(e["feasible_candidates"], 3);
  EXPECT_EQ(e["counts"], Json::parse(R"({"trials": 6, "succeeded": 5, "failed": 1,
    "cancelled": 0, "feasible": 3, "infeasible": 2})"));
  EXPECT_EQ(e["infeasible_by_constraint"],
            Json::parse(R"({"train_auc - test_auc <= 0.03": 1, "test_ks >= 0.2": 1})"));
  ASSERT_EQ(e["rejected_better_trials"].size(), 2u);
  EXPECT_EQ(e["rejected_better_trials"][0]["trial"], 1);
  EXPECT_EQ(e["rejected_better_trials"][0]["violated"], Json({"train_auc - test_auc <= 0.03"}));
  EXPECT_EQ(e["rejected_better_trials"][1]["trial"], 2);
  ASSERT_EQ(e["constraints"].size(), 2u);
  EXPECT_EQ(e["constraints"][1]["value"], 0.35);
  EXPECT_EQ(e["runner_up"]["trial"], 4);
  EXPECT_FALSE(e.contains("tie"));
  EXPECT_EQ(e["summary"],
            "trial 3 chosen: the highest test_auc (0.81) of the 3 feasible trials; it satisfies "
            "all 2 constraints; 2 trials with a higher test_auc violated a constraint; 2 of 5 "
            "succeeded trials were infeasible; 1 trial failed");
}

TEST(SelectTrialTest, TiesGoToTheLowerIndex) {
  const Objective o = Parsed();
  std::vector<TrialRecord> trials = {Succeeded(o, 0, 0.80, 0.79, 0.3),
                                     Succeeded(o, 1, 0.81, 0.80, 0.3),
                                     Succeeded(o, 2, 0.80, 0.80, 0.3)};
  Selection s = SelectTrial(o, trials);
  EXPECT_EQ(*s.chosen, 1);
  EXPECT_EQ(s.explanation["tie"]["trials"], Json({1, 2}));
  EXPECT_EQ(s.explanation["runner_up"]["trial"], 2);
}

TEST(SelectTrialTest, NothingFeasibleChoosesNothing) {
  const Objective o = Parsed();
  std::vector<TrialRecord> trials = {Succeeded(o, 0, 0.95, 0.80, 0.3),
                                     Succeeded(o, 1, 0.80, 0.79, 0.1)};
  Selection s = SelectTrial(o, trials);
  EXPECT_FALSE(s.chosen.has_value());
  EXPECT_TRUE(s.explanation["chosen_trial"].is_null());
  ASSERT_EQ(s.explanation["infeasible_trials"].size(), 2u);
  EXPECT_EQ(s.explanation["infeasible_trials"][0]["trial"], 0);
  EXPECT_EQ(s.explanation["infeasible_trials"][0]["violated"][0]["constraint"],
            "train_auc - test_auc <= 0.03");
  EXPECT_NEAR(s.explanation["infeasible_trials"][0]["violated"][0]["value"].get<double>(), 0.15,
              1e-12);
  EXPECT_THAT(s.explanation["summary"].get<std::string>(),
              HasSubstr("no trial chosen: none of the 2 succeeded trials satisfies every "
                        "constraint"));
  EXPECT_FALSE(SelectTrial(o, {}).chosen.has_value());
  EXPECT_EQ(SelectTrial(o, {}).explanation["summary"], "no trial chosen: no trial succeeded");
}

TEST(SelectTrialTest, ByRungPrefersTheHighestRungWithAFeasibleTrial) {
  const Objective o = Parsed();
  std::vector<TrialRecord> trials = {
      Succeeded(o, 0, 0.90, 0.89, 0.3, 0),  // best overall, rung 0
      Succeeded(o, 1, 0.80, 0.78, 0.3, 0), Succeeded(o, 2, 0.85, 0.84, 0.3, 1),
      Succeeded(o, 3, 0.99, 0.85, 0.3, 2),  // top rung, infeasible
  };
  Selection s = SelectTrial(o, trials, /*by_rung=*/true);
  EXPECT_EQ(*s.chosen, 2);
  EXPECT_EQ(s.explanation["rung"], 1);
  EXPECT_EQ(*SelectTrial(o, trials, false).chosen, 0);
}

}  // namespace
}  // namespace plinth::tune
