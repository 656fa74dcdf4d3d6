// Samplers: bounds, reproducibility by seed, TPE's independence from the history's order, and TPE
// beating random search on a known function.
#include "tune/sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "tune/tuner.h"

namespace plinth::tune {
namespace {

SearchSpace Space() {
  StatusOr<SearchSpace> space = ParseSearchSpace(R"(parameters:
  depth: {type: int, min: 2, max: 8}
  lr: {type: log_uniform, min: 0.001, max: 1}
  frac: {type: float, min: 0.5, max: 1}
  method: {type: categorical, values: [hist, approx, 3, true]}
)",
                                                 "space.yaml");
  EXPECT_TRUE(space.ok()) << space.status();
  return *space;
}

std::unique_ptr<Sampler> Make(SamplerType type, uint64_t seed) {
  SamplerConfig config;
  config.type = type;
  config.seed = seed;
  StatusOr<std::unique_ptr<Sampler>> s = MakeSampler(config, Space());
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

TEST(RandomSamplerTest, StaysWithinTheSpaceAndCoversIt) {
  const SearchSpace space = Space();
  std::unique_ptr<Sampler> sampler = Make(SamplerType::kRandom, 7);
  std::map<int64_t, int> depths;
  std::map<std::string, int> methods;
  int lr_below_geometric_mean = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(sampler->HistoryBound(i), 0);
    const Json p = sampler->Suggest(i, {});
    ASSERT_EQ(p.size(), 4u);
    for (const ParamSpec& spec : space.parameters) {
      ASSERT_TRUE(spec.Contains(p[spec.name])) << spec.name << " " << p[spec.name];
    }
    ASSERT_TRUE(p["depth"].is_number_integer());
    ++depths[p["depth"].get<int64_t>()];
    ++methods[p["method"].dump()];
    if (p["lr"].get<double>() < std::sqrt(0.001 * 1.0)) ++lr_below_geometric_mean;
  }
  EXPECT_EQ(depths.size(), 7u);  // 2..8, both ends included
  EXPECT_EQ(methods.size(), 4u);
  for (const auto& [d, count] : depths) EXPECT_GT(count, n / 7 / 2) << d;
  // Uniform in log(x): about half below the geometric mean of the bounds.
  EXPECT_NEAR(lr_below_geometric_mean, n / 2, n / 10);
}

TEST(RandomSamplerTest, TheSameSeedGivesTheSameTrialsInAnyOrder) {
  std::unique_ptr<Sampler> a = Make(SamplerType::kRandom, 42);
  std::unique_ptr<Sampler> b = Make(SamplerType::kRandom, 42);
  std::unique_ptr<Sampler> c = Make(SamplerType::kRandom, 43);
  std::vector<Json> forward;
  for (int i = 0; i < 20; ++i) forward.push_back(a->Suggest(i, {}));
  for (int i = 19; i >= 0; --i) EXPECT_EQ(b->Suggest(i, {}), forward[static_cast<size_t>(i)]);
  int same = 0;
  for (int i = 0; i < 20; ++i) same += c->Suggest(i, {}) == forward[static_cast<size_t>(i)];
  EXPECT_EQ(same, 0);
}

TEST(TpeSamplerTest, StartsRandomThenBatchesItsHistory) {
  std::unique_ptr<Sampler> tpe = Make(SamplerType::kTpe, 5);
  std::unique_ptr<Sampler> random = Make(SamplerType::kRandom, 5);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(tpe->HistoryBound(i), 0);
    EXPECT_EQ(tpe->Suggest(i, {}), random->Suggest(i, {}));
  }
  // Default startup 10, batch 4: 10..13 read trials 0..9, 14..17 read 0..13.
  EXPECT_EQ(tpe->HistoryBound(10), 10);
  EXPECT_EQ(tpe->HistoryBound(13), 10);
  EXPECT_EQ(tpe->HistoryBound(14), 14);
  EXPECT_EQ(tpe->HistoryBound(17), 14);
  EXPECT_EQ(tpe->HistoryBound(18), 18);
}

TEST(TpeSamplerTest, SuggestionsDependOnTheHistoryAsASet) {
  const SearchSpace space = Space();
  std::unique_ptr<Sampler> tpe = Make(SamplerType::kTpe, 9);
  std::unique_ptr<Sampler> random = Make(SamplerType::kRandom, 9);
  std::vector<Observation> history;
  for (int i = 0; i < 12; ++i) {
    Observation o;
    o.index = i;
    o.params = random->Suggest(i, {});
    o.loss = std::fabs(o.params["frac"].get<double>() - 0.9) + (i % 3 == 0 ? 1 : 0);
    o.feasible = i != 4;
    o.violations = i == 4 ? 1 : 0;
    history.push_back(o);
  }
  const Json first = tpe->Suggest(12, history);
  for (const ParamSpec& spec : space.parameters) EXPECT_TRUE(spec.Contains(first[spec.name]));
  std::mt19937 shuffle(3);
  for (int k = 0; k < 5; ++k) {
    std::shuffle(history.begin(), history.end(), shuffle);
    EXPECT_EQ(tpe->Suggest(12, history), first);
  }
  EXPECT_NE(tpe->Suggest(13, history), first);
}

TEST(SamplerConfigTest, Validates) {
  SamplerConfig config;
  EXPECT_TRUE(config.Validate().ok());
  config.gamma = 1;
  EXPECT_FALSE(config.Validate().ok());
  config.gamma = 0.25;
  config.batch = 0;
  EXPECT_FALSE(config.Validate().ok());
  EXPECT_FALSE(MakeSampler(SamplerConfig(), SearchSpace()).ok());
}

// Branin-Hoo: minimum 0.397887 at three points of [-5, 10] x [0, 15].
double Branin(double x1, double x2) {
  const double pi = 3.14159265358979323846;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  const double a = x2 - b * x1 * x1 + c * x1 - 6;
  return a * a + 10 * (1 - t) * std::cos(x1) + 10;
}

double BestBranin(SamplerType type, uint64_t seed, int parallelism) {
  StatusOr<SearchSpace> space = ParseSearchSpace(
      "parameters: {x1: {type: float, min: -5, max: 10}, x2: {type: float, min: 0, max: 15}}",
      "branin.yaml");
  EXPECT_TRUE(space.ok());
  TuningSpec spec;
  spec.space = *space;
  spec.objective = *MakeObjective("f", Direction::kMinimize, {}, {"f"});
  spec.sampler.type = type;
  spec.sampler.seed = seed;
  spec.max_trials = 40;
  spec.parallelism = parallelism;
  StatusOr<TuningResult> result = RunTuning(spec, [](const Trial& t, const std::atomic<bool>*) {
    TrialResult r;
    r.metrics["f"] = Branin(t.params["x1"].get<double>(), t.params["x2"].get<double>());
    return StatusOr<TrialResult>(r);
  });
  EXPECT_TRUE(result.ok()) << result.status();
  return result->chosen_trial()->metrics.at("f");
}

TEST(TpeSamplerTest, BeatsRandomSearchOnBraninOnAverage) {
  // 40 trials each, 20 seeds: the mean best value found (lower is better; the optimum is
  // 0.398). Measured: TPE 0.85, random 1.62 (the seeds fix both, so this is not flaky).
  double tpe = 0, random = 0;
  int tpe_wins = 0;
  const int seeds = 20;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    const double t = BestBranin(SamplerType::kTpe, seed, 1);
    const double r = BestBranin(SamplerType::kRandom, seed, 1);
    tpe += t / seeds;
    random += r / seeds;
    tpe_wins += t < r;
  }
  std::printf(
      "mean best Branin over %d seeds, 40 trials: tpe %.3f, random %.3f; tpe better "
      "in %d\n",
      seeds, tpe, random, tpe_wins);
  EXPECT_LT(tpe, 0.7 * random);
  EXPECT_GE(tpe_wins, seeds * 6 / 10);
}

}  // namespace
}  // namespace plinth::tune
