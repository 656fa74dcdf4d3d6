#include "train/scorecard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "data/csv_reader.h"
#include "train/evaluation.h"
#include "train/split.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

Column Numbers(const std::string& name, const std::vector<double>& values,
               const std::vector<bool>& null = {}) {
  Column c(name, ColumnType::kFloat64);
  for (size_t i = 0; i < values.size(); ++i) {
    if (!null.empty() && null[i]) {
      c.AppendNull();
    } else {
      c.AppendFloat64(values[i]);
    }
  }
  return c;
}

Column Strings(const std::string& name, const std::vector<std::string>& values) {
  Column c(name, ColumnType::kString);
  for (const std::string& v : values) {
    if (v == "<null>") {
      c.AppendNull();
    } else {
      c.AppendString(v);
    }
  }
  return c;
}

Table MakeTable(std::vector<Column> columns) {
  Table t;
  for (Column& c : columns) EXPECT_TRUE(t.AddColumn(std::move(c)).ok());
  return t;
}

// Exactly round(rate * count) bads among `count` rows, spread evenly.
std::vector<float> Spread(size_t count, double rate) {
  std::vector<float> out(count);
  const double bads = std::round(rate * double(count));
  for (size_t i = 0; i < count; ++i) {
    out[i] = std::floor(double(i + 1) * bads / double(count)) >
             std::floor(double(i) * bads / double(count));
  }
  return out;
}

double HandWoe(double g, double b, double goods, double bads) {
  return std::log((g / goods) / (b / bads));
}

// 1,000 rows, x = 0..999, in ten blocks of 100 whose bad rates zigzag upwards.
struct Zigzag {
  Table table;
  std::vector<float> labels;
  std::vector<double> rates = {0.05, 0.15, 0.08, 0.20, 0.12, 0.25, 0.18, 0.30, 0.22, 0.35};
};

Zigzag MakeZigzag() {
  Zigzag z;
  std::vector<double> x;
  for (size_t block = 0; block < 10; ++block) {
    std::vector<float> y = Spread(100, z.rates[block]);
    for (size_t i = 0; i < 100; ++i) {
      x.push_back(double(block * 100 + i));
      z.labels.push_back(y[i]);
    }
  }
  z.table = MakeTable({Numbers("x", x)});
  return z;
}

ScorecardOptions Options(std::vector<std::string> features) {
  ScorecardOptions o;
  o.features = std::move(features);
  o.min_iv = 0;
  return o;
}

TEST(ScorecardTest, MergesNonMonotoneBinsUntilWoeIsMonotone) {
  Zigzag z = MakeZigzag();
  // The blocks' WoE is not monotone (the data is built that way).
  const double goods = 810, bads = 190;
  bool monotone = true;
  for (size_t b = 1; b < 10; ++b) {
    const double prev = HandWoe(100 * (1 - z.rates[b - 1]), 100 * z.rates[b - 1], goods, bads);
    const double cur = HandWoe(100 * (1 - z.rates[b]), 100 * z.rates[b], goods, bads);
    monotone = monotone && cur < prev;
  }
  ASSERT_FALSE(monotone);

  StatusOr<Scorecard> card = Scorecard::Fit(z.table, z.labels, Options({"x"}));
  ASSERT_TRUE(card.ok()) << card.status();
  ASSERT_EQ(card->features().size(), 1u);
  const ScorecardFeature& f = card->features()[0];
  EXPECT_FALSE(f.categorical);
  EXPECT_EQ(f.direction, 1);     // chosen from the data: the bad rate rises with x
  ASSERT_GE(f.bins.size(), 3u);  // at least two ranges survive, and the missing bin
  EXPECT_EQ(f.bins.back().kind, ScorecardBinKind::kMissing);
  EXPECT_EQ(f.bins.back().count(), 0);
  EXPECT_EQ(f.bins.back().woe, 0.0);  // no missing rows in training: neutral
  const size_t ranges = f.bins.size() - 1;
  int64_t total = 0;
  for (size_t b = 0; b < ranges; ++b) {
    const ScorecardBin& bin = f.bins[b];
    EXPECT_EQ(bin.kind, ScorecardBinKind::kRange);
    EXPECT_GE(bin.count(), 50) << b;  // 5% of 1,000
    EXPECT_GT(bin.goods, 0);
    EXPECT_GT(bin.bads, 0);
    if (b > 0) {
      EXPECT_LT(bin.woe, f.bins[b - 1].woe) << "bin " << b;  // strictly falling
      EXPECT_EQ(bin.lower, f.bins[b - 1].upper);
    }
    EXPECT_NEAR(bin.woe, HandWoe(double(bin.goods), double(bin.bads), goods, bads), 1e-6);
    total += bin.count();
  }
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(f.bins[0].lower, -INFINITY);
  EXPECT_EQ(f.bins[ranges - 1].upper, INFINITY);

  // Forced the other way, the bins must have rising WoE: here that pools everything but the
  // noise, so fewer bins remain.
  ScorecardOptions forced = Options({"x"});
  forced.monotone["x"] = -1;
  StatusOr<Scorecard> reversed = Scorecard::Fit(z.table, z.labels, forced);
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  const ScorecardFeature& r = reversed->features()[0];
  EXPECT_EQ(r.direction, -1);
  for (size_t b = 1; b + 1 < r.bins.size(); ++b) EXPECT_GT(r.bins[b].woe, r.bins[b - 1].woe);
  EXPECT_LT(r.bins.size(), f.bins.size());
}

TEST(ScorecardTest, FineBinsFollowQuantilesAndTies) {
  // 100 rows: 60 zeros, then 1..40. Fine quantile cuts at index floor(q * 100 / 4): values 0
  // (dropped: the smallest), 0 (repeat), 16 -> bins [-inf, 16) and [16, inf) before merging.
  std::vector<double> x(60, 0.0);
  for (int v = 1; v <= 40; ++v) x.push_back(v);
  std::vector<float> y = Spread(100, 0.3);
  ScorecardOptions o = Options({"x"});
  o.max_bins = 4;
  o.min_bin_share = 0.01;
  o.monotone["x"] = 1;
  StatusOr<Scorecard> card = Scorecard::Fit(MakeTable({Numbers("x", x)}), y, o);
  ASSERT_TRUE(card.ok()) << card.status();
  const auto& bins = card->features()[0].bins;
  // Either the two fine bins survive with these edges, or they pooled into one.
  if (bins.size() == 3) {
    EXPECT_EQ(bins[0].upper, 75.0 - 60.0 + 1.0);  // sorted index 75 holds 16
    EXPECT_EQ(bins[0].count(), 75);
  } else {
    EXPECT_EQ(bins.size(), 2u);
  }
}

TEST(ScorecardTest, MissingValuesGetTheirOwnBin) {
  // 200 rows: x = i; 40 of them null with a bad rate of 50%, the rest 10%.
  std::vector<double> x;
  std::vector<bool> null;
  std::vector<float> y;
  std::vector<float> missing_y = Spread(40, 0.5), present_y = Spread(160, 0.1);
  for (size_t i = 0; i < 200; ++i) {
    x.push_back(double(i));
    null.push_back(i % 5 == 0);
    y.push_back(i % 5 == 0 ? missing_y[i / 5] : present_y[i - i / 5 - 1]);
  }
  ScorecardOptions o = Options({"x"});
  o.round_points = false;
  StatusOr<Scorecard> card = Scorecard::Fit(MakeTable({Numbers("x", x, null)}), y, o);
  ASSERT_TRUE(card.ok()) << card.status();
  const ScorecardFeature& f = card->features()[0];
  const ScorecardBin& missing = f.bins.back();
  EXPECT_EQ(missing.kind, ScorecardBinKind::kMissing);
  EXPECT_EQ(missing.goods, 20);
  EXPECT_EQ(missing.bads, 20);
  EXPECT_EQ(card->goods(), 20 + 144);
  EXPECT_EQ(card->bads(), 20 + 16);
  EXPECT_NEAR(missing.woe, HandWoe(20, 20, 164, 36), 1e-6);
  EXPECT_LT(missing.woe, 0);  // riskier than average
  // A null, and a NaN, score as the missing bin.
  Column scored("x", ColumnType::kFloat64);
  scored.AppendNull();
  scored.AppendFloat64(NAN);
  scored.AppendFloat64(3);
  StatusOr<ScorecardContributions> c = card->Contributions(MakeTable({scored}));
  ASSERT_TRUE(c.ok()) << c.status();
  const int32_t missing_index = static_cast<int32_t>(f.bins.size() - 1);
  EXPECT_EQ(c->bins[0], missing_index);
  EXPECT_EQ(c->bins[1], missing_index);
  EXPECT_EQ(c->bins[2], 0);
  EXPECT_EQ(c->points[0], missing.points);
}

TEST(ScorecardTest, CategoricalLevelsOtherAndUnseen) {
  // Levels A 40%, B 30%, C 26%, D 3%, E 1% of 100 rows: D and E (under 5%) share "other".
  std::vector<std::string> level;
  std::vector<float> y;
  auto add = [&](const std::string& l, size_t n, double rate) {
    std::vector<float> labels = Spread(n, rate);
    for (size_t i = 0; i < n; ++i) level.push_back(l), y.push_back(labels[i]);
  };
  add("A", 40, 0.1);
  add("B", 30, 0.4);
  add("C", 26, 0.2);
  add("D", 3, 1.0 / 3);
  add("E", 1, 1.0);
  StatusOr<Scorecard> card =
      Scorecard::Fit(MakeTable({Strings("grade", level)}), y, Options({"grade"}));
  ASSERT_TRUE(card.ok()) << card.status();
  const ScorecardFeature& f = card->features()[0];
  EXPECT_TRUE(f.categorical);
  EXPECT_EQ(f.direction, 0);
  ASSERT_EQ(f.bins.size(), 5u);
  // Ordered by WoE, riskiest first: B (40%), C (20%), A (10%); then other, then missing.
  EXPECT_EQ(f.bins[0].levels, std::vector<std::string>{"B"});
  EXPECT_EQ(f.bins[1].levels, std::vector<std::string>{"C"});
  EXPECT_EQ(f.bins[2].levels, std::vector<std::string>{"A"});
  EXPECT_EQ(f.bins[3].kind, ScorecardBinKind::kOther);
  EXPECT_EQ(f.bins[3].levels, (std::vector<std::string>{"D", "E"}));
  EXPECT_EQ(f.bins[3].goods, 2);
  EXPECT_EQ(f.bins[3].bads, 2);
  EXPECT_EQ(f.bins[3].Label(), "other (D, E)");
  EXPECT_EQ(f.bins[4].kind, ScorecardBinKind::kMissing);
  // An unseen level scores as other; a null as missing.
  StatusOr<ScorecardContributions> c =
      card->Contributions(MakeTable({Strings("grade", {"Z", "<null>", "A", "E"})}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bins, (std::vector<int32_t>{3, 4, 2, 3}));

  // Without rare levels the other bin is empty, with WoE 0: unseen levels get neutral points.
  std::vector<std::string> common(level.begin(), level.begin() + 96);
  std::vector<float> common_y(y.begin(), y.begin() + 96);
  ScorecardOptions o = Options({"grade"});
  o.round_points = false;
  StatusOr<Scorecard> no_rare = Scorecard::Fit(MakeTable({Strings("grade", common)}), common_y, o);
  ASSERT_TRUE(no_rare.ok()) << no_rare.status();
  const ScorecardBin& other = no_rare->features()[0].bins[3];
  EXPECT_EQ(other.kind, ScorecardBinKind::kOther);
  EXPECT_EQ(other.count(), 0);
  EXPECT_EQ(other.woe, 0.0);
  // Neutral points: -(alpha / n) * factor + offset / n with n = 1.
  EXPECT_NEAR(other.points, -no_rare->intercept() * no_rare->factor() + no_rare->offset(), 1e-9);
}

TEST(ScorecardTest, WoeAndIvByHand) {
  // Level x: 8 goods, 2 bads; y: 4 goods, 6 bads; z: 5 goods, 0 bads (smoothed: 5.5 / 0.5).
  // G = 17, B = 8.
  std::vector<std::string> level;
  std::vector<float> y;
  for (int i = 0; i < 10; ++i) level.push_back("x"), y.push_back(i < 2);
  for (int i = 0; i < 10; ++i) level.push_back("y"), y.push_back(i < 6);
  for (int i = 0; i < 5; ++i) level.push_back("z"), y.push_back(0);
  ScorecardOptions o = Options({"level"});
  o.min_bin_share = 0.1;
  StatusOr<Scorecard> card = Scorecard::Fit(MakeTable({Strings("level", level)}), y, o);
  ASSERT_TRUE(card.ok()) << card.status();
  const ScorecardFeature& f = card->features()[0];
  ASSERT_EQ(f.bins.size(), 5u);  // y, x, z by WoE; other; missing
  const double woe_x = std::log((8.0 / 17) / (2.0 / 8));
  const double woe_y = std::log((4.0 / 17) / (6.0 / 8));
  const double woe_z = std::log((5.5 / 17) / (0.5 / 8));
  EXPECT_EQ(f.bins[0].levels[0], "y");
  EXPECT_EQ(f.bins[1].levels[0], "x");
  EXPECT_EQ(f.bins[2].levels[0], "z");
  EXPECT_NEAR(f.bins[0].woe, woe_y, 1e-6);
  EXPECT_NEAR(f.bins[1].woe, woe_x, 1e-6);
  EXPECT_NEAR(f.bins[2].woe, woe_z, 1e-6);
  const double iv_x = (8.0 / 17 - 2.0 / 8) * woe_x;
  const double iv_y = (4.0 / 17 - 6.0 / 8) * woe_y;
  const double iv_z = (5.5 / 17 - 0.5 / 8) * woe_z;
  EXPECT_NEAR(f.bins[1].iv, iv_x, 1e-6);
  EXPECT_NEAR(f.iv, iv_x + iv_y + iv_z, 1e-6);
  EXPECT_NEAR(f.iv, 0.1395 + 0.5967 + 0.4292, 1e-3);  // the same sum, written out
}

TEST(ScorecardTest, PointsFollowTheOddsPdoAndBase) {
  Zigzag z = MakeZigzag();
  ScorecardOptions o = Options({"x"});
  o.round_points = false;
  StatusOr<Scorecard> card = Scorecard::Fit(z.table, z.labels, o);
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_NEAR(card->factor(), 20 / std::log(2.0), 1e-12);
  EXPECT_NEAR(card->offset(), 600 - card->factor() * std::log(50.0), 1e-9);
  StatusOr<std::vector<double>> scores = card->Score(z.table);
  StatusOr<std::vector<double>> logits = card->Logits(z.table);
  ASSERT_TRUE(scores.ok() && logits.ok());
  for (size_t i = 0; i < scores->size(); i += 37) {
    // score = base_score + pdo * log2(odds good:bad / base_odds), odds = e^-logit.
    const double odds = std::exp(-(*logits)[i]);
    EXPECT_NEAR((*scores)[i], 600 + 20 * std::log2(odds / 50), 1e-9) << i;
  }
  // Rows in different bins: the score gap is pdo times log2 of their odds ratio, so exactly pdo
  // when the odds double.
  const double odds_ratio = std::exp((*logits)[0] - (*logits)[999]);  // row 999's odds / row 0's
  EXPECT_NEAR((*scores)[999] - (*scores)[0], 20 * std::log2(odds_ratio), 1e-9);
  // Doubling base_odds means every row's odds are half as many multiples of it: each score drops
  // by exactly pdo (the regression is the same, only the scaling moves).
  o.base_odds = 100;
  StatusOr<Scorecard> doubled = Scorecard::Fit(z.table, z.labels, o);
  ASSERT_TRUE(doubled.ok());
  StatusOr<std::vector<double>> shifted = doubled->Score(z.table);
  ASSERT_TRUE(shifted.ok());
  for (size_t i = 0; i < scores->size(); i += 37) {
    EXPECT_NEAR((*scores)[i] - (*shifted)[i], 20.0, 1e-9);
  }
  // A row whose odds are exactly base_odds scores base_score: find the intercept-only check via a
  // bin with WoE 0 (the empty missing bin): its row scores offset - factor * alpha.
  Column null_x("x", ColumnType::kFloat64);
  null_x.AppendNull();
  StatusOr<std::vector<double>> neutral = card->Score(MakeTable({null_x}));
  ASSERT_TRUE(neutral.ok());
  EXPECT_NEAR((*neutral)[0], card->offset() - card->factor() * card->intercept(), 1e-9);

  // Rounded points: integers, and the score is their sum.
  o.base_odds = 50;
  o.round_points = true;
  StatusOr<Scorecard> rounded = Scorecard::Fit(z.table, z.labels, o);
  ASSERT_TRUE(rounded.ok());
  for (size_t b = 0; b < rounded->features()[0].bins.size(); ++b) {
    const double p = rounded->features()[0].bins[b].points;
    EXPECT_EQ(p, std::round(p));
    EXPECT_EQ(p, std::round(rounded->ExactPoints(0, b)));
  }
  StatusOr<std::vector<double>> whole = rounded->Score(z.table);
  StatusOr<std::vector<float>> p_rounded = rounded->Predict(z.table);
  StatusOr<std::vector<float>> p_exact = card->Predict(z.table);
  ASSERT_TRUE(whole.ok() && p_rounded.ok() && p_exact.ok());
  for (size_t i = 0; i < whole->size(); ++i) {
    EXPECT_LE(std::abs((*whole)[i] - (*scores)[i]), 0.5 + 1e-9);
    EXPECT_EQ((*p_rounded)[i], (*p_exact)[i]);  // predictions never use the rounded points
  }
}

// Three features: a strong numeric one with nulls, a categorical one, and pure noise.
struct Mixed {
  Table table;
  std::vector<float> labels;
};

Mixed MakeMixed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&] { return double(rng() >> 8) / double(1u << 24); };
  std::vector<double> income, noise;
  std::vector<bool> null;
  std::vector<std::string> region;
  Mixed m;
  const char* regions[] = {"north", "south", "east", "west", "island"};
  for (size_t i = 0; i < n; ++i) {
    const double inc = 20 + 80 * uniform();
    const int r = static_cast<int>(uniform() * 4.2);
    const double logit = -1.0 - 0.04 * (inc - 60) + (r == 1 ? 0.8 : r == 4 ? 1.0 : 0.0);
    income.push_back(std::round(inc * 10) / 10);
    null.push_back(uniform() < 0.07);
    noise.push_back(uniform());
    region.push_back(regions[r]);
    m.labels.push_back(uniform() < 1 / (1 + std::exp(-logit)));
  }
  m.table = MakeTable(
      {Numbers("income", income, null), Strings("region", region), Numbers("noise", noise)});
  return m;
}

TEST(ScorecardTest, DropsWeakFeaturesAndReportsThem) {
  Mixed m = MakeMixed(3000, 11);
  ScorecardOptions o;
  o.features = {"income", "region", "noise"};
  StatusOr<Scorecard> card = Scorecard::Fit(m.table, m.labels, o);
  ASSERT_TRUE(card.ok()) << card.status();
  ASSERT_EQ(card->features().size(), 2u);
  EXPECT_EQ(card->features()[0].name, "income");
  EXPECT_EQ(card->features()[1].name, "region");
  ASSERT_EQ(card->dropped().size(), 1u);
  EXPECT_EQ(card->dropped()[0].name, "noise");
  EXPECT_LT(card->dropped()[0].iv, 0.02);
  EXPECT_THAT(card->dropped()[0].reason, HasSubstr("< min_iv 0.02"));
  // Coefficients on WoE are negative: higher WoE, lower risk.
  for (const ScorecardFeature& f : card->features()) EXPECT_LT(f.coefficient, 0) << f.name;
  // Scoring does not need the dropped column.
  Table without;
  ASSERT_TRUE(without.AddColumn(*m.table.Find("income")).ok());
  ASSERT_TRUE(without.AddColumn(*m.table.Find("region")).ok());
  EXPECT_TRUE(card->Score(without).ok());

  Json summary = card->Summary();
  ASSERT_EQ(summary["features"].size(), 3u);
  EXPECT_EQ(summary["features"][0]["name"], "income");  // sorted by IV
  EXPECT_GE(summary["features"][0]["iv"].get<double>(), summary["features"][1]["iv"].get<double>());
  EXPECT_EQ(summary["features"][2]["name"], "noise");
  EXPECT_FALSE(summary["features"][2]["selected"].get<bool>());
  EXPECT_FALSE(summary["features"][0]["reversed"].get<bool>());
  EXPECT_EQ(summary["features"][2]["strength"], "not predictive");
  EXPECT_LT(summary["score_range"]["min"].get<double>(),
            summary["score_range"]["max"].get<double>());
  const std::string table = card->PointsTableMarkdown();
  EXPECT_THAT(table, HasSubstr("| feature | bin | count | share | bad rate | WoE | IV | points |"));
  EXPECT_THAT(table, HasSubstr("| income | missing |"));
  EXPECT_THAT(table, HasSubstr("Dropped: noise (IV"));
}

TEST(ScorecardTest, ContributionsAddUpExactly) {
  Mixed m = MakeMixed(2000, 5);
  ScorecardOptions o = Options({"income", "region"});
  StatusOr<Scorecard> card = Scorecard::Fit(m.table, m.labels, o);
  ASSERT_TRUE(card.ok()) << card.status();
  StatusOr<ScorecardContributions> c = card->Contributions(m.table);
  StatusOr<std::vector<double>> scores = card->Score(m.table), logits = card->Logits(m.table);
  StatusOr<std::vector<float>> p = card->Predict(m.table);
  ASSERT_TRUE(c.ok() && scores.ok() && logits.ok() && p.ok());
  ASSERT_EQ(c->features, (std::vector<std::string>{"income", "region"}));
  for (size_t i = 0; i < c->rows; ++i) {
    double points = 0, logit = c->intercept;
    for (size_t j = 0; j < 2; ++j) {
      points += c->points[i * 2 + j];
      logit += c->log_odds[i * 2 + j];
      const ScorecardFeature& f = card->features()[j];
      EXPECT_EQ(c->log_odds[i * 2 + j], f.coefficient * f.bins[c->bins[i * 2 + j]].woe);
    }
    EXPECT_EQ(points, (*scores)[i]);
    EXPECT_EQ(logit, (*logits)[i]);
    EXPECT_NEAR((*p)[i], 1 / (1 + std::exp(-logit)), 1e-7);
  }
}

TEST(ScorecardTest, JsonRoundTripAndDeterminism) {
  Mixed m = MakeMixed(2000, 3);
  ScorecardOptions o;
  o.features = {"income", "region", "noise"};
  o.monotone["income"] = -1;  // forced, the right way: the bad rate falls with income
  StatusOr<Scorecard> a = Scorecard::Fit(m.table, m.labels, o);
  StatusOr<Scorecard> b = Scorecard::Fit(m.table, m.labels, o);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status();
  const std::string ja = DumpJson(a->ToJson());
  EXPECT_EQ(ja, DumpJson(b->ToJson()));
  StatusOr<Json> parsed = ParseJson(ja);
  ASSERT_TRUE(parsed.ok());
  StatusOr<Scorecard> loaded = Scorecard::FromJson(*parsed);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(DumpJson(loaded->ToJson()), ja);
  StatusOr<std::vector<double>> sa = a->Score(m.table), sl = loaded->Score(m.table);
  StatusOr<std::vector<double>> la = a->Logits(m.table), ll = loaded->Logits(m.table);
  ASSERT_TRUE(sa.ok() && sl.ok() && la.ok() && ll.ok());
  EXPECT_EQ(*sa, *sl);
  EXPECT_EQ(*la, *ll);
  EXPECT_EQ(loaded->dropped().size(), a->dropped().size());
  const Json j = a->ToJson();
  EXPECT_EQ(j["model"], "scorecard");
  EXPECT_EQ(j["features"][0]["bins"][0]["kind"], "range");
  EXPECT_TRUE(j["features"][0]["bins"][0]["lower"].is_null());
  EXPECT_EQ(j["features"][1]["binning"], "categorical");
}

TEST(ScorecardTest, FromJsonRefusesInconsistentDocuments) {
  Mixed m = MakeMixed(2000, 3);
  StatusOr<Scorecard> card = Scorecard::Fit(m.table, m.labels, Options({"income", "region"}));
  ASSERT_TRUE(card.ok());
  const Json good = card->ToJson();
  auto refused = [&](const std::function<void(Json&)>& edit, const std::string& message) {
    Json j = good;
    edit(j);
    StatusOr<Scorecard> s = Scorecard::FromJson(j);
    EXPECT_FALSE(s.ok()) << message;
    if (!s.ok()) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(s.status().message()), HasSubstr(message));
    }
  };
  refused([](Json& j) { j["extra"] = true; }, "unknown member 'extra'");
  refused([](Json& j) { j.erase("dropped"); }, "lacks the member 'dropped'");
  refused([](Json& j) { j["format"] = 3; }, "format must be 1");
  refused([](Json& j) { j["options"]["bins"] = 3; }, "unknown scorecard option 'bins'");
  refused([](Json& j) { j["features"][0]["bins"][1]["woe"] = 0.5; }, "bins[1].woe is 0.5");
  refused([](Json& j) { j["features"][0]["bins"][0]["points"] = 1e6; },
          "bins[0].points is 1000000");
  refused([](Json& j) { j["features"][0]["bins"][1]["lower"] = -1e9; },
          "ranges must tile the numbers");
  refused([](Json& j) { j["features"][0]["bins"][0]["goods"] = 1; }, "count must be goods + bads");
  refused(
      [](Json& j) {
        j["features"][1]["bins"][1]["levels"] = j["features"][1]["bins"][0]["levels"];
      },
      "is in two bins");
  refused([](Json& j) { j["features"][0]["bins"][0]["unit"] = "$"; }, "unknown member 'unit'");
  refused([](Json& j) { j["features"][0]["direction"] = 0; }, "direction must be 1 or -1");
  refused([](Json& j) { j["factor"] = 10; }, "factor and offset must be");
  refused([](Json& j) { j["features"][0]["iv"] = 9; }, "its bins add up to");
  refused([](Json& j) { j["features"][0]["bins"].erase(j["features"][0]["bins"].size() - 1); },
          "goods and");
  refused([](Json& j) { j["features"][0]["name"] = "wealth"; }, "not among options.features");
  refused([](Json& j) { j["options"]["features"].push_back("age"); },
          "'age', which is neither in features nor in dropped");
}

TEST(ScorecardTest, RefusesBadInput) {
  Mixed m = MakeMixed(500, 2);
  auto refused = [&](const Table& t, std::span<const float> y, const ScorecardOptions& o,
                     const std::string& message) {
    StatusOr<Scorecard> s = Scorecard::Fit(t, y, o);
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(message));
  };
  refused(m.table, m.labels, Options({"age"}), "feature column 'age' is missing");
  refused(m.table, std::span<const float>(m.labels).first(10), Options({"income"}),
          "10 labels for 500 rows");
  std::vector<float> bad = m.labels;
  bad[4] = 0.5;
  refused(m.table, bad, Options({"income"}), "label at row 4 is 0.5");
  std::vector<float> zeros(m.labels.size(), 0.0f);
  refused(m.table, zeros, Options({"income"}), "only one class");
  ScorecardOptions o = Options({"region"});
  o.monotone["region"] = 1;
  refused(m.table, m.labels, o, "the column is categorical");
  o = Options({"income"});
  o.categorical = {"income"};
  refused(m.table, m.labels, o, "float64 and cannot be categorical");
  o = Options({"income", "income"});
  refused(m.table, m.labels, o, "listed twice");
  o = Options({"income"});
  o.monotone["noise"] = 1;
  refused(m.table, m.labels, o, "monotone entry 'noise' is not a feature");
  o = Options({"noise"});
  o.min_iv = 0.5;
  refused(m.table, m.labels, o, "no feature has an IV >= min_iv");
  o = Options({"income"});
  o.min_bin_share = 0.6;
  refused(m.table, m.labels, o, "min_bin_share must be in (0, 0.5]");
  Column stamp("when", ColumnType::kTimestamp);
  Column inf = Numbers("x", std::vector<double>(m.labels.size(), 1.0));
  for (size_t i = 0; i < m.labels.size(); ++i) stamp.AppendInt64(int64_t(i));
  Table t = m.table;
  ASSERT_TRUE(t.AddColumn(stamp).ok());
  refused(t, m.labels, Options({"when"}), "is a timestamp");
  std::vector<double> values(m.labels.size(), 1.0);
  values[7] = INFINITY;
  Table with_inf = MakeTable({Numbers("x", values)});
  refused(with_inf, m.labels, Options({"x"}), "infinite value at row 7");

  // Scoring: a missing column or one of another type.
  StatusOr<Scorecard> card = Scorecard::Fit(m.table, m.labels, Options({"income", "region"}));
  ASSERT_TRUE(card.ok());
  StatusOr<std::vector<double>> s = card->Score(MakeTable({Strings("income", {"a"})}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("'income' is string; the scorecard bins it as a number"));
  s = card->Score(MakeTable({Numbers("income", {1.0})}));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("'region' is missing"));
}

TEST(ScorecardTest, OptionsJson) {
  ScorecardOptions o;
  o.features = {"a", "b"};
  o.categorical = {"b"};
  o.monotone["a"] = -1;
  o.pdo = 40;
  StatusOr<ScorecardOptions> back = ScorecardOptions::FromJson(o.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), o.ToJson());
  StatusOr<ScorecardOptions> partial = ScorecardOptions::FromJson({{"features", {"x"}}});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->max_bins, 20);
  EXPECT_EQ(partial->base_score, 600);
  for (const auto& [json, message] : std::vector<std::pair<Json, std::string>>{
           {{{"features", Json::array()}}, "at least one column"},
           {{{"features", {"x"}}, {"pdo", 0}}, "pdo must be > 0"},
           {{{"features", {"x"}}, {"base_odds", -1}}, "base_odds must be > 0"},
           {{{"features", {"x"}}, {"max_bins", 1}}, "max_bins must be in 2 .. 1000"},
           {{{"features", {"x"}}, {"monotone", {{"x", 2}}}}, "must be -1, 0 or 1"},
           {{{"features", {"x"}}, {"categorical", {"y"}}}, "'y' is not a feature"},
           {{{"features", {"x"}}, {"round_points", "yes"}}, "round_points must be true or false"},
           {{{"features", {"x"}}, {"min_iv", nullptr}}, "min_iv must be a number"},
           {{{"features", {"x"}}, {"bins", 3}}, "unknown scorecard option 'bins'"}}) {
    StatusOr<ScorecardOptions> r = ScorecardOptions::FromJson(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
  }
}

TEST(ScorecardTest, Int64AndBoolColumns) {
  // An int64 column binned by level when listed as categorical, else as a number; a bool column
  // always by level.
  Column count("count", ColumnType::kInt64), flag("flag", ColumnType::kBool);
  std::vector<float> y;
  for (int i = 0; i < 400; ++i) {
    count.AppendInt64(i % 4);
    flag.AppendBool(i % 3 == 0);
    y.push_back((i % 4 == 3 && i % 8 != 3) || (i % 3 == 0 && i % 9 == 0) || i % 10 == 0);
  }
  Table t = MakeTable({count, flag});
  ScorecardOptions o = Options({"count", "flag"});
  o.categorical = {"count"};
  StatusOr<Scorecard> card = Scorecard::Fit(t, y, o);
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_TRUE(card->features()[0].categorical);
  EXPECT_EQ(card->features()[0].bins.size(), 4u + 2u);  // levels 0-3, other, missing
  EXPECT_TRUE(card->features()[1].categorical);
  EXPECT_EQ(card->features()[1].type, ColumnType::kBool);
  StatusOr<Scorecard> loaded = Scorecard::FromJson(card->ToJson());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  StatusOr<std::vector<double>> a = card->Score(t), b = loaded->Score(t);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  o.categorical.clear();
  StatusOr<Scorecard> numeric = Scorecard::Fit(t, y, o);
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_FALSE(numeric->features()[0].categorical);
  // A categorical int64 feature refuses a float64 column at scoring time.
  Column one_flag("flag", ColumnType::kBool);
  one_flag.AppendBool(true);
  Table floats = MakeTable({Numbers("count", {1.0}), one_flag});
  EXPECT_FALSE(card->Score(floats).ok());
}

// lending_club.csv with the stratified 80/20 split (seed 42).
TEST(ScorecardTest, LendingClubTestAuc) {
  StatusOr<Table> table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  StatusOr<std::vector<float>> labels = BinaryLabels(*table->Find("Class"), "bad");
  ASSERT_TRUE(labels.ok());
  StatusOr<Split> split = StratifiedSplit(*labels, 0.2, 42);
  ASSERT_TRUE(split.ok());
  ScorecardOptions o;
  for (const Column& c : table->columns()) {
    if (c.name() != "Class") o.features.push_back(c.name());
  }
  const Table train = TakeRows(*table, split->train), test = TakeRows(*table, split->test);
  const std::vector<float> train_y = TakeRows(*labels, split->train);
  const std::vector<float> test_y = TakeRows(*labels, split->test);
  StatusOr<Scorecard> card = Scorecard::Fit(train, train_y, o);
  ASSERT_TRUE(card.ok()) << card.status();
  EXPECT_TRUE(card->regression().converged);
  StatusOr<std::vector<float>> p = card->Predict(test);
  ASSERT_TRUE(p.ok()) << p.status();
  StatusOr<BinaryMetrics> metrics = EvaluateBinary(test_y, *p);
  ASSERT_TRUE(metrics.ok());
  // 0.732 here (16 of 22 features kept); XGBoost reaches 0.70-0.72 on this data. A scorecard
  // that binned or signed anything wrongly falls towards 0.5.
  EXPECT_GT(metrics->auc, 0.68);
  EXPECT_LT(metrics->auc, 0.80);
  // The score ranks exactly as the probability does (higher score, lower risk), up to rounding.
  StatusOr<std::vector<double>> scores = card->Score(test);
  ASSERT_TRUE(scores.ok());
  std::vector<float> negated(scores->size());
  const double lo = *std::min_element(scores->begin(), scores->end());
  const double hi = *std::max_element(scores->begin(), scores->end());
  for (size_t i = 0; i < scores->size(); ++i) {
    negated[i] = static_cast<float>((hi - (*scores)[i]) / (hi - lo));
  }
  StatusOr<BinaryMetrics> by_score = EvaluateBinary(test_y, negated);
  ASSERT_TRUE(by_score.ok());
  EXPECT_NEAR(by_score->auc, metrics->auc, 0.01);
  // int_rate is monotone (riskier with a higher rate) and among the strongest features.
  const Json summary = card->Summary();
  bool found = false;
  for (const ScorecardFeature& f : card->features()) {
    if (f.name != "int_rate") continue;
    found = true;
    EXPECT_EQ(f.direction, 1);
    EXPECT_GT(f.iv, 0.1);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace plinth
