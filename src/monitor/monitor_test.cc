// Baselines, drift, performance windows and the report, against direct computations, known
// values and the lending club example data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "data/csv_reader.h"
#include "data/validation.h"
#include "monitor/baseline.h"
#include "monitor/drift.h"
#include "monitor/monitor_report.h"
#include "monitor/performance.h"

namespace plinth::monitor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Table MustTable(StatusOr<Table> t) {
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? std::move(*t) : Table();
}

Table LendingClub() {
  return MustTable(ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv"));
}

std::vector<std::string> Features(const Table& t) {
  std::vector<std::string> names;
  for (const Column& c : t.columns()) {
    if (c.name() != "Class") names.push_back(c.name());
  }
  return names;
}

Table Rows(const Table& t, size_t parity) {
  std::vector<size_t> rows;
  for (size_t i = parity; i < t.num_rows(); i += 2) rows.push_back(i);
  return TakeRows(t, rows);
}

void Replace(Table* t, Column column) {
  for (Column& c : t->mutable_columns()) {
    if (c.name() == column.name()) c = std::move(column);
  }
}

Baseline MustBaseline(const Table& t, const std::vector<std::string>& features,
                      std::span<const double> scores = {}) {
  StatusOr<Baseline> b = ComputeBaseline(t, features, scores);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *b : Baseline();
}

DriftAccumulator MustAccumulator(const Baseline& b) {
  StatusOr<DriftAccumulator> acc = DriftAccumulator::Create(b);
  EXPECT_TRUE(acc.ok()) << acc.status();
  return std::move(acc).value();
}

Table Numbers(const std::string& name, const std::vector<std::optional<double>>& values) {
  Column c(name, ColumnType::kFloat64);
  for (const auto& v : values) {
    if (v.has_value()) {
      c.AppendFloat64(*v);
    } else {
      c.AppendNull();
    }
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(std::move(c)).ok());
  return t;
}

std::vector<double> NonNull(const Column& c) {
  std::vector<double> out;
  for (size_t i = 0; i < c.size(); ++i) {
    if (auto v = c.NumberAt(i)) out.push_back(*v);
  }
  return out;
}

// Jensen-Shannon distance written out from its definition, with natural logs.
double DirectJs(const std::vector<double>& p_counts, const std::vector<double>& q_counts) {
  const double p_total = std::accumulate(p_counts.begin(), p_counts.end(), 0.0);
  const double q_total = std::accumulate(q_counts.begin(), q_counts.end(), 0.0);
  double kl_pm = 0, kl_qm = 0;
  for (size_t i = 0; i < p_counts.size(); ++i) {
    const double p = p_counts[i] / p_total, q = q_counts[i] / q_total, m = 0.5 * (p + q);
    if (p > 0) kl_pm += p * std::log(p / m);
    if (q > 0) kl_qm += q * std::log(q / m);
  }
  return std::sqrt((0.5 * kl_pm + 0.5 * kl_qm) / std::log(2.0));
}

// ---------------------------------------------------------------------------------------------
// Baseline

TEST(Baseline, NumericBinsSampleAndSummary) {
  std::vector<std::optional<double>> values;
  for (int i = 1; i <= 100; ++i) values.push_back(i);
  values.push_back(std::nullopt);
  values.push_back(std::nan(""));
  const Table t = Numbers("x", values);
  const Baseline b = MustBaseline(t, {"x"});
  ASSERT_EQ(b.features.size(), 1u);
  const FeatureBaseline& f = b.features[0];
  EXPECT_EQ(f.kind, FeatureKind::kNumeric);
  EXPECT_EQ(f.rows, 102u);
  EXPECT_EQ(f.missing, 2u);
  EXPECT_NEAR(f.missing_fraction(), 2.0 / 102, 1e-12);
  // Deciles of 1..100: edges at 11, 21, ..., 91, ten values per bin.
  EXPECT_EQ(f.edges, (std::vector<double>{11, 21, 31, 41, 51, 61, 71, 81, 91}));
  EXPECT_EQ(f.counts, std::vector<double>(10, 10.0));
  ASSERT_EQ(f.sample.size(), 100u);
  EXPECT_EQ(f.sample.front(), 1);
  EXPECT_EQ(f.sample.back(), 100);
  EXPECT_EQ(*f.min, 1);
  EXPECT_EQ(*f.max, 100);
  EXPECT_DOUBLE_EQ(*f.mean, 50.5);
  EXPECT_FALSE(b.score.has_value());
}

TEST(Baseline, SampleIsBoundedAndTracksTheDistribution) {
  const Table t = LendingClub();
  const Baseline b = MustBaseline(t, {"annual_inc"});
  const FeatureBaseline& f = b.features[0];
  ASSERT_EQ(f.sample.size(), kBaselineSampleSize);
  EXPECT_TRUE(std::is_sorted(f.sample.begin(), f.sample.end()));
  // Evenly spaced quantiles: the sample's ECDF is within 1/2000 of the full one (plus ties).
  EXPECT_LT(KsStatistic(f.sample, NonNull(*t.Find("annual_inc"))), 0.002);
  EXPECT_EQ(f.values(), static_cast<double>(t.num_rows()));
}

TEST(Baseline, CategoriesKeepTheTopFiftyAndOther) {
  // 60 categories: c00 appears 60 times, c01 59 times, ..., c59 once; plus two nulls.
  Column c("cat", ColumnType::kString);
  size_t total = 0;
  for (int k = 0; k < 60; ++k) {
    char name[8];
    std::snprintf(name, sizeof(name), "c%02d", k);
    for (int j = 0; j < 60 - k; ++j) c.AppendString(name);
    total += static_cast<size_t>(60 - k);
  }
  c.AppendNull();
  c.AppendNull();
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  const Baseline b = MustBaseline(t, {"cat"});
  const FeatureBaseline& f = b.features[0];
  EXPECT_EQ(f.kind, FeatureKind::kCategorical);
  ASSERT_EQ(f.categories.size(), kMaxBaselineCategories + 1);
  EXPECT_EQ(f.categories[0], "c00");
  EXPECT_EQ(f.counts[0], 60);
  EXPECT_EQ(f.categories[49], "c49");
  EXPECT_EQ(f.categories.back(), kOtherCategory);
  // c50..c59 appear 10, 9, ..., 1 times.
  EXPECT_EQ(f.counts.back(), 55);
  EXPECT_EQ(f.values(), static_cast<double>(total));
  EXPECT_EQ(f.missing, 2u);
}

TEST(Baseline, TiesKeepByteOrderAndOtherIsAlwaysPresent) {
  Column c("term", ColumnType::kString);
  for (const char* v : {"b", "a", "b", "a", "c"}) c.AppendString(v);
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  const FeatureBaseline f = MustBaseline(t, {"term"}).features[0];
  EXPECT_EQ(f.categories, (std::vector<std::string>{"a", "b", "c", "__other__"}));
  EXPECT_EQ(f.counts, (std::vector<double>{2, 2, 1, 0}));
}

TEST(Baseline, BoolAndListedIntColumnsAreCategories) {
  Column flag("flag", ColumnType::kBool);
  Column grade("grade", ColumnType::kInt64);
  for (int i = 0; i < 6; ++i) {
    flag.AppendBool(i % 3 == 0);
    grade.AppendInt64(i % 2 + 1);
  }
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(flag)).ok());
  ASSERT_TRUE(t.AddColumn(std::move(grade)).ok());
  BaselineOptions options;
  options.categorical = {"grade"};
  StatusOr<Baseline> b = ComputeBaseline(t, {"flag", "grade"}, {}, options);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->features[0].categories, (std::vector<std::string>{"false", "true", "__other__"}));
  EXPECT_EQ(b->features[1].categories, (std::vector<std::string>{"1", "2", "__other__"}));
}

TEST(Baseline, RefusesBadInputsWithTheColumnNamed) {
  const Table t = LendingClub();
  StatusOr<Baseline> b = ComputeBaseline(t, {"int_rate", "no_such"}, {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("'no_such'"));

  std::vector<double> scores(3, 0.5);
  b = ComputeBaseline(t, {"int_rate"}, scores);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("3 scores for 9857 rows"));

  Column when("when", ColumnType::kTimestamp);
  when.AppendInt64(0);
  Table ts;
  ASSERT_TRUE(ts.AddColumn(std::move(when)).ok());
  b = ComputeBaseline(ts, {"when"}, {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("'when' is a timestamp"));

  b = ComputeBaseline(t, {"int_rate", "int_rate"}, {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("listed twice"));
}

TEST(Baseline, JsonRoundTrip) {
  const Table t = LendingClub();
  std::vector<double> scores;
  for (size_t i = 0; i < t.num_rows(); ++i) scores.push_back((i % 97) / 97.0);
  const Baseline b = MustBaseline(t, Features(t), scores);
  const Json json = BaselineToJson(b);
  StatusOr<Baseline> back = BaselineFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(BaselineToJson(*back), json);
  // Through text too, as the platform stores it.
  StatusOr<Json> parsed = ParseJson(DumpJson(json));
  ASSERT_TRUE(parsed.ok());
  back = BaselineFromJson(*parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(BaselineToJson(*back), json);
  ASSERT_TRUE(back->score.has_value());
  EXPECT_EQ(back->score->sample.size(), kBaselineSampleSize);
}

TEST(Baseline, CorruptJsonIsRefusedWithTheFieldNamed) {
  const Table t = LendingClub();
  const Json good = BaselineToJson(MustBaseline(t, {"int_rate", "term"}));
  auto error = [](const Json& j) {
    StatusOr<Baseline> b = BaselineFromJson(j);
    EXPECT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    return b.ok() ? std::string("(accepted)") : std::string(b.status().message());
  };
  Json j = good;
  j["features"][0]["counts"].erase(0);
  EXPECT_THAT(error(j), HasSubstr("features[0] 'int_rate': 'counts' must have 10 entries"));
  j = good;
  std::swap(j["features"][0]["edges"][0], j["features"][0]["edges"][1]);
  EXPECT_THAT(error(j), HasSubstr("'edges' must be finite and strictly increasing"));
  j = good;
  j["format"] = 2;
  EXPECT_THAT(error(j), HasSubstr("'format' must be 1"));
  j = good;
  j["features"][1].erase("categories");
  EXPECT_THAT(error(j), HasSubstr("features[1] 'term': 'categories' is missing"));
  j = good;
  j["features"][1]["categories"].back() = "other";
  EXPECT_THAT(error(j), HasSubstr("must end with '__other__'"));
  j = good;
  j["features"][0]["kind"] = "ordinal";
  EXPECT_THAT(error(j), HasSubstr("'kind' must be 'numeric' or 'categorical'"));
  j = good;
  j["features"][0]["counts"][0] = -1;
  EXPECT_THAT(error(j), HasSubstr("non-negative whole numbers"));
  j = good;
  j["features"][0]["sample"] = "many";
  EXPECT_THAT(error(j), HasSubstr("'sample' must be a list of numbers"));
  j = good;
  j["features"][0]["missing"] = 99999;
  EXPECT_THAT(error(j), HasSubstr("exceeds 'rows'"));
  EXPECT_THAT(error(Json::array()), HasSubstr("must be a JSON object"));
  EXPECT_THAT(error(Json::object()), HasSubstr("'format' is missing"));
}

// ---------------------------------------------------------------------------------------------
// Drift statistics

TEST(Drift, JensenShannonKnownValues) {
  EXPECT_DOUBLE_EQ(JensenShannonDistance({1, 0}, {0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(JensenShannonDistance({3, 5, 2}, {6, 10, 4}), 0.0);
  EXPECT_DOUBLE_EQ(JensenShannonDistance({1, 1}, {}), 0.0);
  EXPECT_NEAR(JensenShannonDistance({5, 5}, {9, 1}), DirectJs({5, 5}, {9, 1}), 1e-12);
  EXPECT_NEAR(JensenShannonDistance({1, 2, 3, 0}, {0, 3, 2, 1}),
              DirectJs({1, 2, 3, 0}, {0, 3, 2, 1}), 1e-12);
  // Symmetric.
  EXPECT_NEAR(JensenShannonDistance({1, 2, 3}, {3, 1, 1}),
              JensenShannonDistance({3, 1, 1}, {1, 2, 3}), 1e-15);
}

TEST(Drift, SmallNumericMatchesDirectComputation) {
  std::vector<std::optional<double>> base;
  for (int i = 1; i <= 20; ++i) base.push_back(i);
  const Baseline b = MustBaseline(Numbers("x", base), {"x"});
  const FeatureBaseline& f = b.features[0];

  const std::vector<double> current = {3, 7, 7, 12, 15, 18, 19, 19, 25, 30, 2.5};
  DriftAccumulator acc = MustAccumulator(b);
  for (double v : current) ASSERT_TRUE(acc.AddRow(Json{{"x", v}}).ok());
  ASSERT_TRUE(acc.AddRow(Json{{"x", nullptr}}).ok());
  ASSERT_TRUE(acc.AddRow(Json::object()).ok());
  const DriftReport r = acc.Report();
  const FeatureDrift& d = r.features[0];

  // Bin the current values by hand on the baseline's edges.
  std::vector<double> counts(f.edges.size() + 1, 0);
  for (double v : current) {
    size_t bin = 0;
    while (bin < f.edges.size() && v >= f.edges[bin]) ++bin;
    counts[bin] += 1;
  }
  ASSERT_TRUE(d.psi && d.ks && d.js);
  EXPECT_NEAR(*d.psi, Psi(f.counts, counts), 1e-12);
  EXPECT_NEAR(*d.js, DirectJs(f.counts, counts), 1e-12);
  // With 20 values the sample is the whole baseline: KS is the plain two-sample statistic.
  std::vector<double> base_values;
  for (int i = 1; i <= 20; ++i) base_values.push_back(i);
  EXPECT_NEAR(*d.ks, KsStatistic(base_values, current), 1e-12);
  EXPECT_EQ(d.rows, 13u);
  EXPECT_EQ(d.missing, 2u);
  EXPECT_EQ(d.values, 11u);
  EXPECT_NEAR(*d.missing_rate, 2.0 / 13, 1e-12);
  EXPECT_EQ(*d.min, 2.5);
  EXPECT_EQ(*d.max, 30);
  EXPECT_NEAR(*d.mean, std::accumulate(current.begin(), current.end(), 0.0) / 11, 1e-12);
  double current_share = 0;
  for (const BinShare& s : d.bins) current_share += s.current;
  EXPECT_NEAR(current_share, 1.0, 1e-12);
  EXPECT_EQ(d.bins.front().label, "< 3");
}

TEST(Drift, KsWithTiesMatchesTheTwoSampleStatistic) {
  // Heavy ties on both sides, including values equal to sample points and outside the range.
  std::vector<std::optional<double>> base;
  std::vector<double> base_values;
  for (int i = 0; i < 500; ++i) {
    base.push_back(i % 7);
    base_values.push_back(i % 7);
  }
  const Baseline b = MustBaseline(Numbers("x", base), {"x"});
  std::vector<double> current;
  for (int i = 0; i < 300; ++i) current.push_back((i * 13) % 11 - 2);
  DriftAccumulator acc = MustAccumulator(b);
  std::vector<std::optional<double>> as_optional(current.begin(), current.end());
  ASSERT_TRUE(acc.AddTable(Numbers("x", as_optional)).ok());
  const FeatureDrift d = acc.Report().features[0];
  ASSERT_TRUE(d.ks.has_value());
  EXPECT_NEAR(*d.ks, KsStatistic(base_values, current), 1e-12);
}

TEST(Drift, IdenticalDataGivesZero) {
  const Table t = LendingClub();
  const Baseline b = MustBaseline(t, Features(t));
  DriftAccumulator acc = MustAccumulator(b);
  ASSERT_TRUE(acc.AddTable(t).ok());
  const DriftReport r = acc.Report();
  ASSERT_EQ(r.features.size(), Features(t).size());
  for (const FeatureDrift& f : r.features) {
    ASSERT_TRUE(f.psi.has_value()) << f.name;
    EXPECT_NEAR(*f.psi, 0, 1e-12) << f.name;
    EXPECT_NEAR(*f.js, 0, 1e-6) << f.name;
    if (f.kind == FeatureKind::kNumeric) {
      // The current side is every value, the baseline side its 2000-point sample.
      EXPECT_LT(*f.ks, 0.002) << f.name;
    } else {
      EXPECT_FALSE(f.ks.has_value()) << f.name;
    }
    EXPECT_EQ(f.status, DriftStatus::kOk) << f.name << ": " << f.reason;
  }
  EXPECT_EQ(r.drift_count, 0u);
  EXPECT_EQ(r.warn_count, 0u);
  EXPECT_EQ(r.rows, t.num_rows());
}

TEST(Drift, ShiftedInterestRateDriftsAndNothingElse) {
  const Table t = LendingClub();
  const Table reference = Rows(t, 0);
  Table current = Rows(t, 1);
  const Column* rate = current.Find("int_rate");
  std::vector<double> shifted = rate->float64s();
  for (double& v : shifted) v += 5;
  StatusOr<Column> column = Column::FromFloat64s("int_rate", shifted, rate->valid());
  ASSERT_TRUE(column.ok());
  Replace(&current, std::move(*column));

  DriftAccumulator acc = MustAccumulator(MustBaseline(reference, Features(t)));
  ASSERT_TRUE(acc.AddTable(current).ok());
  const DriftReport r = acc.Report();
  for (const FeatureDrift& f : r.features) {
    if (f.name == "int_rate") {
      EXPECT_EQ(f.status, DriftStatus::kDrift);
      EXPECT_GT(*f.psi, 0.25);
      EXPECT_GT(*f.ks, 0.2);
      EXPECT_GT(*f.js, 0.2);
      EXPECT_THAT(f.reason, HasSubstr("psi"));
    } else {
      EXPECT_EQ(f.status, DriftStatus::kOk) << f.name << ": " << f.reason;
      EXPECT_LT(*f.psi, 0.1) << f.name;
    }
  }
  EXPECT_EQ(r.drift_count, 1u);
  EXPECT_EQ(r.warn_count, 0u);
}

TEST(Drift, RemappedCategoryGoesToOtherAndDrifts) {
  const Table t = LendingClub();
  const Table reference = Rows(t, 0);
  Table current = Rows(t, 1);
  const Column* state = current.Find("addr_state");
  std::vector<std::string> dictionary = state->dictionary();
  for (std::string& s : dictionary) {
    if (s == "CA") s = "California";
  }
  StatusOr<Column> column =
      Column::FromCodes("addr_state", state->codes(), dictionary, state->valid());
  ASSERT_TRUE(column.ok());
  Replace(&current, std::move(*column));

  DriftAccumulator acc = MustAccumulator(MustBaseline(reference, Features(t)));
  ASSERT_TRUE(acc.AddTable(current).ok());
  const DriftReport r = acc.Report();
  const FeatureDrift* f = r.Find("addr_state");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->status, DriftStatus::kDrift);
  auto share = [&](const std::string& label) {
    for (const BinShare& b : f->bins) {
      if (b.label == label) return b;
    }
    return BinShare{};
  };
  EXPECT_EQ(share("CA").current, 0);
  EXPECT_GT(share("CA").baseline, 0.1);
  EXPECT_NEAR(share("__other__").current, share("CA").baseline, 0.02);
  for (const FeatureDrift& other : r.features) {
    if (other.name != "addr_state") {
      EXPECT_EQ(other.status, DriftStatus::kOk) << other.name;
    }
  }
}

TEST(Drift, RowsOneAtATimeEqualTheWholeTable) {
  const Table t = LendingClub();
  const Table reference = Rows(t, 0);
  const Table current = Rows(t, 1);
  std::vector<double> ref_scores, cur_scores;
  for (size_t i = 0; i < reference.num_rows(); ++i) ref_scores.push_back((i % 89) / 89.0);
  for (size_t i = 0; i < current.num_rows(); ++i) cur_scores.push_back((i % 61) / 60.0);
  const Baseline b = MustBaseline(reference, Features(t), ref_scores);

  DriftAccumulator whole = MustAccumulator(b);
  ASSERT_TRUE(whole.AddTable(current, cur_scores).ok());
  DriftAccumulator by_row = MustAccumulator(b);
  for (size_t row = 0; row < current.num_rows(); ++row) {
    Json j = Json::object();
    for (const Column& c : current.columns()) {
      if (c.IsNull(row)) continue;  // absent keys are missing too
      if (c.type() == ColumnType::kString) {
        j[c.name()] = std::string(c.StringAt(row));
      } else if (c.type() == ColumnType::kInt64) {
        j[c.name()] = c.int64s()[row];
      } else {
        j[c.name()] = c.float64s()[row];
      }
    }
    ASSERT_TRUE(by_row.AddRow(j, cur_scores[row]).ok());
  }
  EXPECT_EQ(DriftReportToJson(whole.Report()), DriftReportToJson(by_row.Report()));

  // Two halves merged equal one accumulator over everything.
  std::vector<size_t> first, second;
  for (size_t i = 0; i < current.num_rows(); ++i) (i < 1000 ? first : second).push_back(i);
  DriftAccumulator a = MustAccumulator(b), c = MustAccumulator(b);
  std::vector<double> s1(cur_scores.begin(), cur_scores.begin() + 1000);
  std::vector<double> s2(cur_scores.begin() + 1000, cur_scores.end());
  ASSERT_TRUE(a.AddTable(TakeRows(current, first), s1).ok());
  ASSERT_TRUE(c.AddTable(TakeRows(current, second), s2).ok());
  ASSERT_TRUE(a.Merge(c).ok());
  const Json merged = DriftReportToJson(a.Report());
  const Json expected = DriftReportToJson(whole.Report());
  ASSERT_EQ(merged["features"].size(), expected["features"].size());
  for (size_t i = 0; i < merged["features"].size(); ++i) {
    for (const char* key : {"psi", "ks", "js", "missing_rate"}) {
      const Json& m = merged["features"][i][key];
      const Json& e = expected["features"][i][key];
      ASSERT_EQ(m.is_null(), e.is_null());
      if (!m.is_null()) {
        EXPECT_NEAR(m.get<double>(), e.get<double>(), 1e-12) << key;
      }
    }
  }
  EXPECT_NEAR(merged["score"]["psi"].get<double>(), expected["score"]["psi"].get<double>(), 1e-12);

  DriftAccumulator other = MustAccumulator(MustBaseline(current, {"int_rate"}));
  EXPECT_FALSE(a.Merge(other).ok());

  // After Reset the accumulator reports as if new.
  a.Reset();
  EXPECT_EQ(a.rows(), 0u);
  EXPECT_EQ(DriftReportToJson(a.Report()), DriftReportToJson(MustAccumulator(b).Report()));
  ASSERT_TRUE(a.AddTable(current, cur_scores).ok());
  EXPECT_EQ(DriftReportToJson(a.Report()), expected);
}

TEST(Drift, BoundedAccumulatorAgreesWithWholeDataComputation) {
  const Table t = LendingClub();
  const Table reference = Rows(t, 0);
  const Table current = Rows(t, 1);
  const Baseline b = MustBaseline(reference, {"annual_inc", "revol_util", "total_bal_il"});
  DriftAccumulator acc = MustAccumulator(b);
  ASSERT_TRUE(acc.AddTable(current).ok());
  const DriftReport r = acc.Report();
  for (const FeatureDrift& d : r.features) {
    const std::vector<double> ref = NonNull(*reference.Find(d.name));
    const std::vector<double> cur = NonNull(*current.Find(d.name));
    // PSI over the same deciles, computed from every value of both sides.
    const std::vector<double> edges = QuantileEdges(ref, kBaselineBins);
    std::vector<double> rc(edges.size() + 1), cc(edges.size() + 1);
    for (double v : ref) rc[std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()] += 1;
    for (double v : cur) cc[std::upper_bound(edges.begin(), edges.end(), v) - edges.begin()] += 1;
    EXPECT_NEAR(*d.psi, Psi(rc, cc), 1e-12) << d.name;
    EXPECT_NEAR(*d.js, DirectJs(rc, cc), 1e-12) << d.name;
    // KS: exact against the stored sample, within the sample's resolution against everything.
    EXPECT_NEAR(*d.ks, KsStatistic(b.Find(d.name)->sample, cur), 1e-12) << d.name;
    EXPECT_NEAR(*d.ks, KsStatistic(ref, cur), 0.002) << d.name;
  }
}

TEST(Drift, MissingInvalidAndUnknownValues) {
  Column amount("amount", ColumnType::kFloat64);
  Column term("term", ColumnType::kString);
  for (int i = 0; i < 100; ++i) {
    amount.AppendFloat64(i);
    term.AppendString(i % 2 ? "36" : "60");
  }
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(amount)).ok());
  ASSERT_TRUE(t.AddColumn(std::move(term)).ok());
  DriftAccumulator acc = MustAccumulator(MustBaseline(t, {"amount", "term"}));
  ASSERT_TRUE(acc.AddRow(Json{{"amount", "lots"}, {"term", 36}}).ok());        // invalid, "36"
  ASSERT_TRUE(acc.AddRow(Json{{"amount", true}, {"term", "84"}}).ok());        // 1, unknown
  ASSERT_TRUE(acc.AddRow(Json{{"term", 60.0}}).ok());                          // missing, "60"
  ASSERT_TRUE(acc.AddRow(Json{{"amount", 5}, {"term", Json::array()}}).ok());  // 5, invalid
  EXPECT_FALSE(acc.AddRow(Json::array()).ok());
  EXPECT_EQ(acc.rows(), 4u);
  const DriftReport r = acc.Report();
  const FeatureDrift& a = r.features[0];
  EXPECT_EQ(a.missing, 2u);
  EXPECT_EQ(a.invalid, 1u);
  EXPECT_EQ(a.values, 2u);
  const FeatureDrift& c = r.features[1];
  EXPECT_EQ(c.invalid, 1u);
  EXPECT_EQ(c.values, 3u);
  std::map<std::string, double> shares;
  for (const BinShare& b : c.bins) shares[b.label] = b.current;
  EXPECT_NEAR(shares["36"], 1.0 / 3, 1e-12);
  EXPECT_NEAR(shares["60"], 1.0 / 3, 1e-12);
  EXPECT_NEAR(shares["__other__"], 1.0 / 3, 1e-12);
}

TEST(Drift, FeatureThatGoesMissingIsFlagged) {
  const Table t = LendingClub();
  const Baseline b = MustBaseline(t, {"int_rate", "term"});
  DriftAccumulator acc = MustAccumulator(b);
  Table without;
  ASSERT_TRUE(without.AddColumn(*t.Find("term")).ok());  // int_rate absent: all missing
  ASSERT_TRUE(acc.AddTable(without).ok());
  const DriftReport r = acc.Report();
  const FeatureDrift& f = r.features[0];
  EXPECT_EQ(*f.missing_rate, 1.0);
  EXPECT_FALSE(f.psi.has_value());
  EXPECT_FALSE(f.ks.has_value());
  EXPECT_EQ(f.status, DriftStatus::kDrift);
  EXPECT_THAT(f.reason, HasSubstr("missing rate increase"));
  EXPECT_EQ(r.features[1].status, DriftStatus::kOk);
  const Json j = DriftReportToJson(r);
  EXPECT_TRUE(j["features"][0]["psi"].is_null());
  EXPECT_EQ(j["features"][0]["status"], "drift");
}

TEST(Drift, StringColumnOfNumbersIsParsed) {
  std::vector<std::optional<double>> base;
  for (int i = 0; i < 50; ++i) base.push_back(i);
  DriftAccumulator acc = MustAccumulator(MustBaseline(Numbers("x", base), {"x"}));
  Column c("x", ColumnType::kString);
  for (const char* v : {"1", "2.5", "n/a", "40"}) c.AppendString(v);
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  ASSERT_TRUE(acc.AddTable(t).ok());
  const FeatureDrift d = acc.Report().features[0];
  EXPECT_EQ(d.values, 3u);
  EXPECT_EQ(d.invalid, 1u);
  EXPECT_NEAR(*d.mean, 43.5 / 3, 1e-12);
}

TEST(Drift, CorruptBaselineIsRefusedByTheAccumulator) {
  std::vector<std::optional<double>> base = {1, 2, 3, 4};
  Baseline b = MustBaseline(Numbers("x", base), {"x"});
  b.features[0].counts.pop_back();
  StatusOr<DriftAccumulator> acc = DriftAccumulator::Create(b);
  ASSERT_FALSE(acc.ok());
  EXPECT_THAT(acc.status().message(), HasSubstr("'counts'"));
}

// ---------------------------------------------------------------------------------------------
// Performance

constexpr int64_t kDay = int64_t{86400} * 1000000;
// 2025-03-03T00:00:00Z, a Monday.
constexpr int64_t kMonday = int64_t{1740960000} * 1000000;

// Mann-Whitney AUC written out: pairs of (positive, negative), ties count one half.
double DirectAuc(const std::vector<LabelledOutcome>& o) {
  double wins = 0, pairs = 0;
  for (const auto& p : o) {
    if (p.label != 1) continue;
    for (const auto& n : o) {
      if (n.label != 0) continue;
      pairs += 1;
      wins += p.score > n.score ? 1 : (p.score == n.score ? 0.5 : 0);
    }
  }
  return wins / pairs;
}

TEST(Performance, PerfectRankingAndOneClassWindows) {
  std::vector<LabelledOutcome> outcomes;
  // Day 0: perfect ranking. Day 1: inverted. Day 2: positives only.
  for (int i = 0; i < 40; ++i) {
    const int label = i % 2;
    outcomes.push_back({kMonday + i * 1000, label ? 0.8 + i * 0.001 : 0.2 + i * 0.001, label});
    outcomes.push_back({kMonday + kDay + i * 1000, label ? 0.3 : 0.7, label});
    outcomes.push_back({kMonday + 2 * kDay + i * 1000, 0.5, 1});
  }
  StatusOr<Windowing> day = ParseWindowing("day");
  ASSERT_TRUE(day.ok());
  StatusOr<PerformanceReport> r = ComputePerformance(outcomes, *day);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->windows.size(), 3u);
  EXPECT_EQ(r->windows[0].start_micros, kMonday);
  EXPECT_EQ(r->windows[0].end_micros, kMonday + kDay);
  EXPECT_EQ(r->windows[0].rows, 40u);
  EXPECT_EQ(r->windows[0].positives, 20u);
  EXPECT_DOUBLE_EQ(*r->windows[0].auc, 1.0);
  EXPECT_DOUBLE_EQ(*r->windows[0].ks, 1.0);
  EXPECT_DOUBLE_EQ(*r->windows[1].auc, 0.0);
  EXPECT_FALSE(r->windows[2].auc.has_value());
  EXPECT_FALSE(r->windows[2].ks.has_value());
  EXPECT_DOUBLE_EQ(r->windows[2].brier, 0.25);
  EXPECT_EQ(r->rows, 120u);
  EXPECT_EQ(r->positives, 80u);
  ASSERT_TRUE(r->overall.has_value());
  EXPECT_NEAR(*r->overall->auc, DirectAuc(outcomes), 1e-6);

  const Json j = PerformanceToJson(*r);
  EXPECT_TRUE(j["windows"][2]["auc"].is_null());
  EXPECT_EQ(j["windows"][0]["start"], "2025-03-03T00:00:00.000000Z");
  EXPECT_EQ(j["windows"][0]["auc"], 1.0);
}

TEST(Performance, KnownAucBrierAndCalibration) {
  std::vector<LabelledOutcome> outcomes;
  double brier = 0;
  for (int i = 0; i < 200; ++i) {
    const double score = ((i * 37) % 100) / 100.0;
    const int label = (i * 53) % 7 < 2 || score > 0.85 ? 1 : 0;
    outcomes.push_back({kMonday + (199 - i) * 1000, score, label});
    brier += (score - label) * (score - label);
  }
  StatusOr<PerformanceReport> r = ComputePerformance(outcomes, *ParseWindowing("week"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->windows.size(), 1u);
  const PerformanceWindow& w = r->windows[0];
  EXPECT_EQ(w.start_micros, kMonday);  // weeks start on Monday
  EXPECT_NEAR(*w.auc, DirectAuc(outcomes), 1e-6);
  EXPECT_NEAR(w.brier, brier / 200, 1e-6);
  ASSERT_EQ(w.calibration.size(), 10u);
  size_t rows = 0;
  for (const CalibrationPoint& p : w.calibration) rows += p.rows;
  EXPECT_EQ(rows, 200u);
  // Decile 1 holds the 20 highest scores.
  std::vector<double> scores;
  for (const auto& o : outcomes) scores.push_back(o.score);
  std::sort(scores.rbegin(), scores.rend());
  EXPECT_NEAR(w.calibration[0].mean_score,
              std::accumulate(scores.begin(), scores.begin() + 20, 0.0) / 20, 1e-6);
  ASSERT_TRUE(r->overall_metrics.is_object());
  EXPECT_TRUE(r->overall_metrics.contains("roc"));
}

TEST(Performance, EqualWindowsSplitByCountInTimeOrder) {
  std::vector<LabelledOutcome> outcomes;
  for (int i = 0; i < 10; ++i) outcomes.push_back({(9 - i) * 1000, 0.1 * i, i % 2});
  StatusOr<PerformanceReport> r = ComputePerformance(outcomes, *ParseWindowing("equal:3"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->windows.size(), 3u);
  EXPECT_EQ(r->windows[0].rows, 3u);
  EXPECT_EQ(r->windows[1].rows, 3u);
  EXPECT_EQ(r->windows[2].rows, 4u);
  EXPECT_EQ(r->windows[0].start_micros, 0);
  EXPECT_EQ(r->windows[0].end_micros, 2001);
  EXPECT_EQ(r->windows[2].end_micros, 9001);
  // More windows than rows: one row each.
  r = ComputePerformance(outcomes, *ParseWindowing("equal:50"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->windows.size(), 10u);
}

TEST(Performance, BadInputsAreRefused) {
  std::vector<LabelledOutcome> outcomes = {{0, 0.5, 1}, {1, 0.2, 2}};
  StatusOr<PerformanceReport> r = ComputePerformance(outcomes, *ParseWindowing("day"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("outcome 1: label 2"));
  outcomes = {{0, 1.5, 1}};
  r = ComputePerformance(outcomes, *ParseWindowing("day"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("outcome 0: score"));
  r = ComputePerformance(outcomes, Windowing{});
  EXPECT_FALSE(r.ok());
  r = ComputePerformance({}, *ParseWindowing("day"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->windows.empty());
  EXPECT_TRUE(PerformanceToJson(*r)["overall"].is_null());
}

TEST(Performance, ParseWindowing) {
  EXPECT_EQ(ParseWindowing("hour")->period_micros, kDay / 24);
  EXPECT_EQ(ParseWindowing("6h")->period_micros, kDay / 4);
  EXPECT_EQ(ParseWindowing("30d")->period_micros, 30 * kDay);
  EXPECT_EQ(ParseWindowing("week")->origin_micros % (7 * kDay), 4 * kDay);
  EXPECT_EQ(ParseWindowing("equal:12")->equal_windows, 12u);
  for (const char* bad : {"fortnight", "equal:0", "equal:x", "equal:5000", "", "0d"}) {
    StatusOr<Windowing> w = ParseWindowing(bad);
    EXPECT_FALSE(w.ok()) << bad;
  }
  EXPECT_THAT(ParseWindowing("fortnight").status().message(), HasSubstr("equal:N"));
}

// ---------------------------------------------------------------------------------------------
// Report

TEST(Report, HtmlHasSectionsAndEscapes) {
  Column evil("<script>alert(1)</script>", ColumnType::kString);
  Column x("x", ColumnType::kFloat64);
  for (int i = 0; i < 200; ++i) {
    evil.AppendString(i % 3 ? "a&b" : "<img>");
    x.AppendFloat64(i);
  }
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(evil)).ok());
  ASSERT_TRUE(t.AddColumn(std::move(x)).ok());
  std::vector<double> scores;
  for (int i = 0; i < 200; ++i) scores.push_back(i / 200.0);
  const Baseline b = MustBaseline(t, {"<script>alert(1)</script>", "x"}, scores);
  DriftAccumulator acc = MustAccumulator(b);
  for (int i = 0; i < 150; ++i) {
    // x shifts; the categorical feature keeps its mix.
    ASSERT_TRUE(
        acc.AddRow(Json{{"x", i + 100}, {"<script>alert(1)</script>", i % 3 ? "a&b" : "<img>"}},
                   i / 150.0)
            .ok());
  }
  const DriftReport drift = acc.Report();
  std::vector<LabelledOutcome> outcomes;
  for (int i = 0; i < 60; ++i)
    outcomes.push_back({kMonday + i * (kDay / 10), i / 60.0, i % 3 == 0});
  const PerformanceReport perf = *ComputePerformance(outcomes, *ParseWindowing("day"));

  MonitorReportInput in;
  in.model = "credit<risk>";
  in.version = "3";
  in.window = "decisions \"this week\"";
  in.drift = &drift;
  in.performance = &perf;
  Alert a;
  a.rule = "r<1>";
  a.feature = "<script>alert(1)</script>";
  a.message = "psi <high>";
  a.severity = AlertSeverity::kCritical;
  in.alerts.push_back(a);
  const std::string html = RenderMonitorHtml(in);
  for (const char* id :
       {"summary", "alerts", "features", "distributions", "score", "performance"}) {
    EXPECT_THAT(html, HasSubstr(std::string("<section id=\"") + id + "\">")) << id;
  }
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, Not(HasSubstr("<img>")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("credit&lt;risk&gt;"));
  EXPECT_THAT(html, HasSubstr("a&amp;b"));
  EXPECT_THAT(html, HasSubstr("AUC and KS per window"));
  EXPECT_THAT(html, HasSubstr("<svg"));
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  // Features are listed by PSI: x (shifted) before the categorical one in the table.
  const size_t table = html.find("<section id=\"features\">");
  EXPECT_LT(html.find("<td>x</td>", table), html.find("<td>&lt;script&gt;", table));
}

TEST(Report, HtmlWithoutPerformanceOrDrift) {
  MonitorReportInput in;
  in.model = "m";
  in.version = "1";
  const std::string html = RenderMonitorHtml(in);
  EXPECT_THAT(html, HasSubstr("<section id=\"summary\">"));
  EXPECT_THAT(html, HasSubstr("No alerts."));
  EXPECT_THAT(html, Not(HasSubstr("<section id=\"performance\">")));
  EXPECT_THAT(html, Not(HasSubstr("<section id=\"features\">")));
}

TEST(Report, DriftTableIsAlignedAndSortedByPsi) {
  const Table t = LendingClub();
  const Table reference = Rows(t, 0);
  Table current = Rows(t, 1);
  const Column* rate = current.Find("int_rate");
  std::vector<double> shifted = rate->float64s();
  for (double& v : shifted) v += 5;
  Replace(&current, *Column::FromFloat64s("int_rate", shifted, rate->valid()));
  DriftAccumulator acc =
      MustAccumulator(MustBaseline(reference, {"term", "int_rate", "funded_amnt"}));
  ASSERT_TRUE(acc.AddTable(current).ok());
  const std::string text = FormatDriftTable(acc.Report());
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("feature", 0), 0u);
  EXPECT_EQ(lines[1].rfind("int_rate", 0), 0u);
  EXPECT_THAT(lines[1], HasSubstr("drift"));
  // Right-aligned numbers: "psi" ends where every psi value ends.
  const size_t psi_end = lines[0].find("psi") + 3;
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_NE(lines[i][psi_end - 1], ' ') << lines[i];
    EXPECT_EQ(lines[i][psi_end], ' ') << lines[i];
  }
  // term is categorical: no KS.
  for (const std::string& line : lines) {
    if (line.rfind("term", 0) == 0) {
      EXPECT_THAT(line, HasSubstr(" - "));
    }
  }
}

}  // namespace
}  // namespace plinth::monitor
