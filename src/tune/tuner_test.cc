// The tuner: tuning files, budgets, reproducibility under parallelism, successive halving,
// constrained selection, failures, cancellation and events.
#include "tune/tuner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

namespace plinth::tune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kMetrics = {"score", "gap"};

TuningSpec Spec(const std::string& yaml, const Guardrails* guardrails = nullptr) {
  StatusOr<TuningSpec> spec = ParseTuningSpec(yaml, "tune.yaml", {guardrails, kMetrics});
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : TuningSpec();
}

std::string SpecError(const std::string& yaml, const Guardrails* guardrails = nullptr) {
  StatusOr<TuningSpec> spec = ParseTuningSpec(yaml, "tune.yaml", {guardrails, kMetrics});
  EXPECT_FALSE(spec.ok());
  return std::string(spec.status().message());
}

// score peaks at x = 0.3, y = b; gap grows with x.
StatusOr<TrialResult> Quadratic(const Trial& t, const std::atomic<bool>*) {
  const double x = t.params["x"].get<double>();
  const std::string y = t.params.value("y", std::string("b"));
  TrialResult r;
  r.metrics["score"] = 1 - (x - 0.3) * (x - 0.3) - (y == "b" ? 0 : 0.1);
  r.metrics["gap"] = x / 10;
  return r;
}

constexpr char kBasic[] = R"(space:
  parameters:
    x: {type: float, min: 0, max: 1}
    y: {type: categorical, values: [a, b, c]}
objective: {metric: score, direction: maximize}
sampler: {type: tpe, seed: 11, startup_trials: 5}
budget: {max_trials: 16, parallelism: 1}
)";

TEST(TuningSpecTest, ParsesAndRecords) {
  const TuningSpec spec = Spec(kBasic);
  EXPECT_EQ(spec.max_trials, 16);
  EXPECT_EQ(spec.sampler.seed, 11u);
  EXPECT_EQ(spec.sampler.startup_trials, 5);
  EXPECT_EQ(spec.strategy, Strategy::kSearch);
  const Json json = spec.ToJson();
  EXPECT_EQ(json["budget"], Json::parse(R"({"max_trials": 16, "max_time": null,
    "parallelism": 1})"));
  EXPECT_EQ(json["strategy"], Json::parse(R"({"type": "search"})"));
  EXPECT_EQ(json["sampler"]["type"], "tpe");
  // Parallelism and max_time change how fast trials run, never which: not in the digest.
  TuningSpec faster = spec;
  faster.parallelism = 4;
  faster.max_time_micros = 60000000;
  EXPECT_EQ(faster.Digest(), spec.Digest());
  TuningSpec reseeded = spec;
  reseeded.sampler.seed = 12;
  EXPECT_NE(reseeded.Digest(), spec.Digest());

  const TuningSpec timed = Spec(std::string(kBasic) + "strategy: search\n");
  EXPECT_EQ(timed.strategy, Strategy::kSearch);
  const TuningSpec random = Spec(R"(space: {parameters: {x: {type: float, min: 0, max: 1}}}
objective: {metric: score, direction: minimize}
sampler: random
budget: {max_time: 30m}
)");
  EXPECT_EQ(random.sampler.type, SamplerType::kRandom);
  EXPECT_EQ(*random.max_time_micros, int64_t{30} * 60 * 1000000);
  EXPECT_EQ(random.ToJson()["budget"]["max_time"], "30m");
}

TEST(TuningSpecTest, ErrorsArePositioned) {
  EXPECT_EQ(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                      "objective: {metric: score, direction: maximize}\n"
                      "budget: {max_trails: 5}\n"),
            "tune.yaml:3:10: budget.max_trails: unknown key 'max_trails' (did you mean "
            "'max_trials'?)");
  EXPECT_EQ(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                      "objective: {metric: score, direction: maximize}\n"
                      "budget: {max_time: 10}\n"),
            "tune.yaml:3:20: budget.max_time: must be a duration such as 90s, 30m or 2h, not 10");
  EXPECT_EQ(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                      "objective: {metric: score, direction: maximize}\n"
                      "sampler: {type: random, batch: 2}\n"),
            "tune.yaml:3:25: sampler.batch: 'batch' is a setting of the tpe sampler");
  EXPECT_EQ(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                      "objective: {metric: score, direction: maximize}\n"
                      "sampler: tpf\n"),
            "tune.yaml:3:10: sampler: unknown sampler 'tpf' (did you mean 'tpe'?)");
  EXPECT_THAT(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                        "objective: {metric: score, direction: maximize}\n"
                        "strategy: halving\n"),
              HasSubstr("tune.yaml:3:11: strategy: halving needs its budgets"));
  EXPECT_THAT(SpecError("space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
                        "objective: {metric: score, direction: maximize}\n"
                        "budget: {parallelism: 0}\n"),
              HasSubstr("budget.parallelism: must be between 1 and 256, not 0"));
  EXPECT_THAT(SpecError("objective: {metric: score, direction: maximize}\n"),
              HasSubstr("tune.yaml:1:1: missing 'space'"));
}

TEST(TuningSpecTest, TheGuardrailsApplyToTheSpaceInTheFile) {
  StatusOr<Guardrails> g = ParseGuardrails("max: {x: 0.5}\nfixed: {nthread: 1}\n", "g.yaml");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(SpecError(kBasic, &*g),
            "tune.yaml:3:5: parameters.x: the range goes up to 1, beyond the guardrail max.x = "
            "0.5 (set at g.yaml:1:10); lower max to at most 0.5");
}

TEST(TuningSpecTest, ReadsAPipelineStepsWith) {
  const YAML::Node doc = YAML::Load(R"(steps:
  - name: tune
    uses: tune
    with:
      space:
        parameters:
          x: {type: float, min: 0, max: 1}
      objective: {metric: scor, direction: maximize}
)");
  StatusOr<TuningSpec> spec =
      TuningSpecFromYaml(doc["steps"][0]["with"], "pipeline.yaml", {nullptr, kMetrics});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(std::string(spec.status().message()),
            "pipeline.yaml:8:27: objective.metric: unknown metric 'scor' (did you mean "
            "'score'?)");
  StatusOr<TuningSpec> json = TuningSpecFromJson(
      Json::parse(R"({"space": {"parameters": {"x": {"type": "float", "min": 0, "max": 1}}},
                      "objective": {"metric": "score", "direction": "up"}})"),
      "steps[1] tune: with", {nullptr, kMetrics});
  EXPECT_EQ(std::string(json.status().message()),
            "steps[1] tune: with: objective.direction: must be maximize or minimize, not 'up' "
            "(known directions: maximize, minimize)");
}

TEST(TunerTest, RunsMaxTrialsAndChoosesTheBest) {
  const TuningSpec spec = Spec(kBasic);
  StatusOr<TuningResult> result = RunTuning(spec, Quadratic);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->trials.size(), 16u);
  EXPECT_EQ(result->stop_reason, StopReason::kCompleted);
  double best = -1;
  for (const TrialRecord& t : result->trials) {
    EXPECT_EQ(t.state, TrialState::kSucceeded);
    EXPECT_TRUE(t.feasible);
    best = std::max(best, t.metrics.at("score"));
  }
  ASSERT_TRUE(result->chosen.has_value());
  EXPECT_EQ(result->chosen_trial()->metrics.at("score"), best);
  const Json json = result->ToJson();
  EXPECT_EQ(json["trials"].size(), 16u);
  EXPECT_EQ(json["chosen_trial"], *result->chosen);
  EXPECT_EQ(json["chosen_params"], result->chosen_trial()->trial.params);
  EXPECT_EQ(json["spec_digest"], spec.Digest());
  EXPECT_EQ(json["stop_reason"], "completed");
  EXPECT_EQ(json["trials"][0]["state"], "succeeded");
  EXPECT_THAT(json["explanation"]["summary"].get<std::string>(),
              HasSubstr("chosen: the highest score"));
}

// Sleeps a pseudo-random few milliseconds so completion order differs from start order.
StatusOr<TrialResult> Jittery(const Trial& t, const std::atomic<bool>* cancel) {
  std::this_thread::sleep_for(std::chrono::milliseconds((t.index * 7919) % 13));
  return Quadratic(t, cancel);
}

TEST(TunerTest, TheSameSeedGivesTheSameTrialsAndChoiceWhateverTheParallelism) {
  TuningSpec spec = Spec(R"(space:
  parameters:
    x: {type: float, min: 0, max: 1}
    y: {type: categorical, values: [a, b, c]}
objective: {metric: score, direction: maximize, constraints: ["gap <= 0.05"]}
sampler: {type: tpe, seed: 3, startup_trials: 6, batch: 4}
budget: {max_trials: 30}
)");
  std::vector<std::vector<Json>> runs;
  std::vector<int> chosen;
  for (int parallelism : {1, 4, 3}) {
    spec.parallelism = parallelism;
    StatusOr<TuningResult> result = RunTuning(spec, Jittery);
    ASSERT_TRUE(result.ok()) << result.status();
    std::vector<Json> params;
    for (const TrialRecord& t : result->trials) params.push_back(t.trial.params);
    runs.push_back(params);
    chosen.push_back(*result->chosen);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
  EXPECT_THAT(chosen, ElementsAre(chosen[0], chosen[0], chosen[0]));
  // And the suggestions are not all the same point.
  EXPECT_GT(std::set<Json>(runs[0].begin(), runs[0].end()).size(), 25u);
}

TEST(TunerTest, ParallelTrialsRunConcurrently) {
  TuningSpec spec = Spec(kBasic);
  spec.sampler.type = SamplerType::kRandom;
  spec.parallelism = 4;
  std::atomic<int> running{0}, peak{0};
  StatusOr<TuningResult> result = RunTuning(spec, [&](const Trial& t, const std::atomic<bool>* c) {
    const int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --running;
    return Quadratic(t, c);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(peak.load(), 1);
  EXPECT_LE(peak.load(), 4);
}

TEST(TunerTest, ConstraintsKeepTheInfeasibleBestFromBeingChosen) {
  TuningSpec spec = Spec(R"(space:
  parameters:
    x: {type: float, min: 0, max: 1}
objective: {metric: score, direction: maximize, constraints: ["gap <= 0.02"]}
sampler: {type: random, seed: 1}
budget: {max_trials: 30}
)");
  StatusOr<TuningResult> result = RunTuning(spec, Quadratic);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->chosen.has_value());
  const TrialRecord& chosen = *result->chosen_trial();
  EXPECT_LE(chosen.trial.params["x"].get<double>(), 0.2);
  EXPECT_TRUE(chosen.feasible);
  // The trial nearest the unconstrained peak (x = 0.3) was better and infeasible.
  const Json& e = result->explanation;
  ASSERT_GT(e["rejected_better_trials"].size(), 0u);
  EXPECT_EQ(e["rejected_better_trials"][0]["violated"], Json({"gap <= 0.02"}));
  EXPECT_GT(e["infeasible_by_constraint"]["gap <= 0.02"].get<int>(), 0);
  EXPECT_EQ(e["constraints"][0]["constraint"], "gap <= 0.02");
  EXPECT_EQ(e["constraints"][0]["satisfied"], true);
  EXPECT_EQ(e["constraints"][0]["limit"], 0.02);

  spec.objective = *MakeObjective("score", Direction::kMaximize, {"gap < 0"}, kMetrics);
  StatusOr<TuningResult> none = RunTuning(spec, Quadratic);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->chosen.has_value());
  EXPECT_TRUE(none->ToJson()["chosen_trial"].is_null());
  EXPECT_EQ(none->explanation["infeasible_trials"].size(), 30u);
}

TEST(TunerTest, HalvingPromotesTheBestThirdAtThreeTimesTheBudget) {
  const TuningSpec spec = Spec(R"(space:
  parameters:
    x: {type: float, min: 0, max: 1}
objective: {metric: score, direction: maximize}
sampler: {type: random, seed: 5}
strategy: {type: halving, resource: num_boost_round, min: 10, max: 90, eta: 3}
budget: {parallelism: 3}
)");
  EXPECT_THAT(spec.halving.Budgets(), ElementsAre(10, 30, 90));
  EXPECT_THAT(spec.halving.Sizes(), ElementsAre(9, 3, 1));
  EXPECT_EQ(spec.max_trials, 13);
  // More rounds help a little; x decides.
  StatusOr<TuningResult> result = RunTuning(spec, [](const Trial& t, const std::atomic<bool>*) {
    TrialResult r;
    const double x = t.params["x"].get<double>();
    r.metrics["score"] = 1 - (x - 0.3) * (x - 0.3) + *t.budget / 1000.0;
    r.metrics["gap"] = 0;
    EXPECT_EQ(t.params["num_boost_round"], *t.budget);
    return StatusOr<TrialResult>(r);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  const std::vector<TrialRecord>& trials = result->trials;
  ASSERT_EQ(trials.size(), 13u);
  EXPECT_EQ(result->stop_reason, StopReason::kCompleted);
  // Rung 0: 9 trials at 10; rung 1: the best 3 at 30, best first; rung 2: the best at 90.
  std::vector<std::pair<double, int>> rung0;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(trials[i].trial.rung, 0);
    EXPECT_EQ(*trials[i].trial.budget, 10);
    rung0.push_back({-trials[i].metrics.at("score"), i});
  }
  std::sort(rung0.begin(), rung0.end());
  for (int k = 0; k < 3; ++k) {
    const TrialRecord& t = trials[9 + k];
    EXPECT_EQ(t.trial.rung, 1);
    EXPECT_EQ(*t.trial.budget, 30);
    EXPECT_EQ(*t.trial.promoted_from, rung0[k].second);
    EXPECT_EQ(t.trial.params["x"], trials[rung0[k].second].trial.params["x"]);
  }
  EXPECT_EQ(trials[12].trial.rung, 2);
  EXPECT_EQ(*trials[12].trial.budget, 90);
  EXPECT_EQ(*trials[12].trial.promoted_from, 9);
  EXPECT_EQ(*result->chosen, 12);
  EXPECT_EQ(result->explanation["rung"], 2);
  EXPECT_EQ(result->explanation["budget"], 90);
}

TEST(TunerTest, HalvingPlansAndRules) {
  HalvingConfig h;
  h.min = 10;
  h.max = 100;
  h.eta = 3;
  EXPECT_THAT(h.Budgets(), ElementsAre(10, 30, 100));  // the last rung runs at max
  EXPECT_THAT(h.Sizes(), ElementsAre(9, 3, 1));
  h.configurations = 20;
  EXPECT_THAT(h.Sizes(), ElementsAre(20, 6, 2));
  EXPECT_EQ(h.TotalTrials(), 28);
  h.min = 50;
  h.configurations = 0;
  EXPECT_THAT(h.Budgets(), ElementsAre(50, 100));
  EXPECT_THAT(h.Sizes(), ElementsAre(3, 1));

  const std::string head =
      "space: {parameters: {x: {type: float, min: 0, max: 1}}}\n"
      "objective: {metric: score, direction: maximize}\n";
  EXPECT_THAT(SpecError(head + "strategy: {type: halving, min: 10, max: 90}\n"
                               "budget: {max_trials: 20}\n"),
              HasSubstr("tune.yaml:4:22: budget.max_trials: halving runs 9 + 3 + 1 = 13 trials "
                        "over 3 rungs, not 20"));
  EXPECT_THAT(SpecError(head + "strategy: {type: halving, resource: x, min: 10, max: 90}\n"),
              HasSubstr("the resource 'x' is also a parameter of the space"));
  StatusOr<Guardrails> g =
      ParseGuardrails("max: {num_boost_round: 50}\nfixed: {nthread: 1}\n", "g.yaml");
  ASSERT_TRUE(g.ok());
  EXPECT_THAT(SpecError(head + "strategy: {type: halving, min: 10, max: 90}\n", &*g),
              HasSubstr("tune.yaml:3:11: strategy: max (90) goes beyond the guardrail "
                        "max.num_boost_round = 50"));
  EXPECT_THAT(
      SpecError(head + "strategy: {type: halving, resource: nthread, min: 1, max: 9}\n", &*g),
      HasSubstr("the resource 'nthread' is fixed by the guardrails"));
  EXPECT_THAT(SpecError(head + "strategy: {type: search, eta: 3}\n"),
              HasSubstr("'eta' is a setting of halving"));
}

TEST(TunerTest, HalvingStopsWhenARungHasNothingToPromote) {
  TuningSpec spec = Spec(R"(space: {parameters: {x: {type: float, min: 0, max: 1}}}
objective: {metric: score, direction: maximize}
sampler: random
strategy: {type: halving, min: 1, max: 9}
)");
  StatusOr<TuningResult> result =
      RunTuning(spec, [](const Trial& t, const std::atomic<bool>* c) -> StatusOr<TrialResult> {
        if (t.index != 4) return absl::InternalError("out of memory");
        return Quadratic(t, c);
      });
  ASSERT_TRUE(result.ok()) << result.status();
  // Rung 1 holds the one success of rung 0, which fails there: rung 2 has nothing to run, and
  // the choice falls back to rung 0.
  ASSERT_EQ(result->trials.size(), 10u);
  EXPECT_EQ(*result->trials[9].trial.promoted_from, 4);
  EXPECT_EQ(result->trials[9].state, TrialState::kFailed);
  EXPECT_EQ(result->stop_reason, StopReason::kNothingPromoted);
  EXPECT_EQ(*result->chosen, 4);
  EXPECT_EQ(result->explanation["rung"], 0);
}

TEST(TunerTest, FailedTrialsAreRecordedAndAllFailingIsAnError) {
  TuningSpec spec = Spec(kBasic);
  spec.sampler.type = SamplerType::kRandom;
  StatusOr<TuningResult> some =
      RunTuning(spec, [](const Trial& t, const std::atomic<bool>* c) -> StatusOr<TrialResult> {
        if (t.index % 4 == 1) return absl::AbortedError("the command exited with status 1");
        if (t.index % 4 == 2) throw std::runtime_error("bad alloc");
        if (t.index % 4 == 3) return TrialResult{{{"gap", 0}}, nullptr};  // no score
        return Quadratic(t, c);
      });
  ASSERT_TRUE(some.ok()) << some.status();
  ASSERT_EQ(some->trials.size(), 16u);
  EXPECT_EQ(some->trials[1].state, TrialState::kFailed);
  EXPECT_EQ(some->trials[1].status.message(), "the command exited with status 1");
  EXPECT_THAT(std::string(some->trials[2].status.message()),
              HasSubstr("the trial evaluator threw: bad alloc"));
  EXPECT_THAT(std::string(some->trials[3].status.message()),
              HasSubstr("did not report the metric 'score'"));
  EXPECT_EQ(some->ToJson()["trials"][1]["error"], "the command exited with status 1");
  EXPECT_EQ(*some->chosen % 4, 0);
  EXPECT_EQ(some->explanation["counts"]["failed"], 12);

  StatusOr<TuningResult> all =
      RunTuning(spec, [](const Trial&, const std::atomic<bool>*) -> StatusOr<TrialResult> {
        return absl::UnavailableError("no data");
      });
  EXPECT_EQ(all.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(all.status().message(), "all 16 trials failed; the first, trial 0: no data");
}

TEST(TunerTest, MaxTimeStopsStartingTrialsOnTheClock) {
  TuningSpec spec = Spec(kBasic);
  spec.max_time_micros = int64_t{25} * 60 * 1000000;  // 25 minutes
  FakeClock clock(1000000);
  TuningOptions options;
  options.clock = &clock;
  // Each trial takes 10 minutes on the fake clock: trials start at 0, 10 and 20 minutes.
  StatusOr<TuningResult> result = RunTuning(
      spec,
      [&](const Trial& t, const std::atomic<bool>* c) {
        clock.Advance(int64_t{10} * 60 * 1000000);
        return Quadratic(t, c);
      },
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->trials.size(), 3u);
  EXPECT_EQ(result->stop_reason, StopReason::kMaxTime);
  EXPECT_TRUE(result->chosen.has_value());
}

TEST(TunerTest, CancelStopsNewTrialsAndReachesRunningOnes) {
  TuningSpec spec = Spec(kBasic);
  std::atomic<bool> cancel{false};
  TuningOptions options;
  options.cancel = &cancel;
  StatusOr<TuningResult> result = RunTuning(
      spec,
      [&](const Trial& t, const std::atomic<bool>* c) -> StatusOr<TrialResult> {
        if (t.index < 2) return Quadratic(t, c);
        cancel = true;  // as a Ctrl-C would, while this trial runs
        while (!c->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return absl::CancelledError("stopped");
      },
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->trials.size(), 3u);
  EXPECT_EQ(result->trials[2].state, TrialState::kCancelled);
  EXPECT_EQ(result->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(result->ToJson()["trials"][2]["state"], "cancelled");
  EXPECT_TRUE(result->chosen.has_value());  // over the trials that finished

  // Cancelled before anything starts: no trial, no choice, no error.
  StatusOr<TuningResult> early = RunTuning(spec, Quadratic, options);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_TRUE(early->trials.empty());
  EXPECT_FALSE(early->chosen.has_value());
}

TEST(TunerTest, ObserverSeesStartedBeforeFinishedOneCallAtATime) {
  TuningSpec spec = Spec(kBasic);
  spec.parallelism = 4;
  std::mutex mu;
  std::vector<std::string> events;
  std::atomic<int> in_observer{0};
  bool overlapped = false;
  TuningOptions options;
  options.observer = [&](const TrialEvent& e) {
    if (++in_observer > 1) overlapped = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(TrialEventKindName(e.kind) + ":" + std::to_string(e.trial.trial.index));
      EXPECT_EQ(e.planned, 16);
      if (e.kind == TrialEvent::Kind::kStarted) {
        EXPECT_EQ(e.trial.state, TrialState::kRunning);
      }
    }
    --in_observer;
  };
  StatusOr<TuningResult> result = RunTuning(
      spec,
      [](const Trial& t, const std::atomic<bool>* c) -> StatusOr<TrialResult> {
        if (t.index == 5) return absl::InternalError("boom");
        return Jittery(t, c);
      },
      options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(overlapped);
  ASSERT_EQ(events.size(), 32u);
  for (int i = 0; i < 16; ++i) {
    const auto at = [&](const std::string& e) {
      return std::find(events.begin(), events.end(), e) - events.begin();
    };
    const std::string end = (i == 5 ? "failed:" : "finished:") + std::to_string(i);
    EXPECT_LT(at("started:" + std::to_string(i)), at(end)) << i;
    EXPECT_LT(at(end), 32) << i;
  }
}

TEST(TunerTest, RefusesSpecsThatBreakTheRules) {
  TuningSpec spec = Spec(kBasic);
  StatusOr<Guardrails> g = ParseGuardrails("fixed: {x: 0.5}\n", "g.yaml");
  ASSERT_TRUE(g.ok());
  spec.guardrails = *g;
  StatusOr<TuningResult> result = RunTuning(spec, Quadratic);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("refused by the guardrail fixed.x = 0.5"));
  spec = Spec(kBasic);
  spec.max_trials = 0;
  EXPECT_FALSE(RunTuning(spec, Quadratic).ok());
  EXPECT_FALSE(RunTuning(Spec(kBasic), TrialEvaluator()).ok());
}

TEST(TunerTest, EveryTrialGetsTheFixedSettings) {
  StatusOr<Guardrails> g = ParseGuardrails(
      "fixed: {nthread: 1, monotone_constraints: {income: 1}}\nmax: {x: 0.8}\n"
      "excluded_features: [zip]\n",
      "g.yaml");
  ASSERT_TRUE(g.ok());
  TuningSpec spec = Spec(R"(space:
  parameters:
    x: {type: float, min: 0, max: 0.8}
objective: {metric: score, direction: maximize}
budget: {max_trials: 12, parallelism: 2}
)",
                         &*g);
  StatusOr<TuningResult> result = RunTuning(spec, [](const Trial& t, const std::atomic<bool>* c) {
    EXPECT_EQ(t.params["nthread"], 1);
    EXPECT_EQ(t.params["monotone_constraints"], Json({{"income", 1}}));
    EXPECT_EQ(t.params["excluded_features"], Json({"zip"}));
    EXPECT_LE(t.params["x"].get<double>(), 0.8);
    return Quadratic(t, c);
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->trials.size(), 12u);
}

}  // namespace
}  // namespace plinth::tune
