#include "train/preprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "data/csv_reader.h"

namespace plinth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Table Csv(const std::string& text) {
  StatusOr<Table> table = ReadCsvBuffer(text);
  EXPECT_TRUE(table.ok()) << table.status();
  return std::move(table).value();
}

// Row r of the matrix, NaN shown as -999 so gmock matchers can compare it.
std::vector<float> Row(const Matrix& m, size_t r) {
  std::vector<float> out;
  for (size_t c = 0; c < m.cols; ++c) out.push_back(std::isnan(m.at(r, c)) ? -999 : m.at(r, c));
  return out;
}

constexpr char kLoans[] =
    "amount,rate,home,grade,secured,when\n"
    "100,1.5,rent,2,true,2024-01-01\n"
    "200,,own,1,false,2024-01-02\n"
    "300,2.5,rent,2,,2024-01-03\n"
    ",3.5,,3,true,2024-01-04\n"
    "500,4.5,mortgage,1,false,2024-01-05\n";

TEST(PreprocessTest, EncodesNumericAndOneHotColumns) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "rate", "home", "grade", "secured"};
  options.categorical = {"grade"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->OutputNames(),
              ElementsAre("amount", "rate", "home=mortgage", "home=own", "home=rent", "grade=1",
                          "grade=2", "grade=3", "secured"));
  StatusOr<Matrix> m = spec->Apply(table);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->rows, 5u);
  EXPECT_EQ(m->cols, 9u);
  EXPECT_THAT(Row(*m, 0), ElementsAre(100, 1.5, 0, 0, 1, 0, 1, 0, 1));
  EXPECT_THAT(Row(*m, 1), ElementsAre(200, -999, 0, 1, 0, 1, 0, 0, 0));
  EXPECT_THAT(Row(*m, 2), ElementsAre(300, 2.5, 0, 0, 1, 0, 1, 0, -999));
  // A null category is all zeros; a null number is missing (NaN).
  EXPECT_THAT(Row(*m, 3), ElementsAre(-999, 3.5, 0, 0, 0, 0, 0, 1, 1));
  EXPECT_THAT(m->one_hot, ElementsAre(0, 0, 1, 1, 1, 1, 1, 1, 0));
  EXPECT_EQ(m->source_columns[3], "home");
}

TEST(PreprocessTest, JsonRoundTripReplaysTheSameMatrix) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"home", "amount", "grade"};
  options.categorical = {"grade"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok()) << spec.status();
  Json json = spec->ToJson();
  EXPECT_EQ(json["format"], 1);
  EXPECT_EQ(json["features"][0]["encoding"], "one_hot");
  EXPECT_EQ(json["features"][1]["encoding"], "numeric");
  // Through text, as it is stored in a manifest.
  StatusOr<Json> parsed = ParseJson(json.dump());
  ASSERT_TRUE(parsed.ok());
  StatusOr<PreprocessSpec> back = PreprocessSpec::FromJson(*parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == *spec);
  StatusOr<Matrix> a = spec->Apply(table);
  StatusOr<Matrix> b = back->Apply(table);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->values.size(), b->values.size());
  for (size_t i = 0; i < a->values.size(); ++i) {
    EXPECT_TRUE(a->values[i] == b->values[i] ||
                (std::isnan(a->values[i]) && std::isnan(b->values[i])));
  }
}

TEST(PreprocessTest, UnseenCategoriesAreAllZeros) {
  Table train = Csv("home,amount\nrent,1\nown,2\n");
  PreprocessOptions options;
  options.columns = {"home", "amount"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(train, options);
  ASSERT_TRUE(spec.ok());
  Table score = Csv("home,amount\nboat,3\nown,4\n");
  StatusOr<Matrix> m = spec->Apply(score);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_THAT(Row(*m, 0), ElementsAre(0, 0, 3));
  EXPECT_THAT(Row(*m, 1), ElementsAre(1, 0, 4));
  StatusOr<std::vector<float>> row = spec->ApplyRow(Json{{"home", "castle"}, {"amount", 5}});
  ASSERT_TRUE(row.ok());
  EXPECT_THAT(*row, ElementsAre(0, 0, 5));
}

TEST(PreprocessTest, LevelsAreLearnedOnTheTrainingRowsOnly) {
  Table table = Csv("home\nrent\nown\nboat\nrent\n");
  PreprocessOptions options;
  options.columns = {"home"};
  std::vector<size_t> rows = {0, 1, 3};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options, rows);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->OutputNames(), ElementsAre("home=own", "home=rent"));
  StatusOr<Matrix> m = spec->Apply(table);
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(Row(*m, 2), ElementsAre(0, 0));  // "boat" was only in a test row
}

TEST(PreprocessTest, MaxLevelsKeepsTheFrequentOnesAndAnOtherBucket) {
  Table table = Csv("c\nb\na\nb\nc\nc\nd\ne\n");
  PreprocessOptions options;
  options.columns = {"c"};
  options.max_levels = 2;
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok()) << spec.status();
  // c (3) and b (2) are kept, in sorted order; a, d, e (1 each) and unseen levels are "other".
  EXPECT_THAT(spec->OutputNames(), ElementsAre("c=b", "c=c", "c=__other__"));
  StatusOr<Matrix> m = spec->Apply(Csv("c\nb\na\nzzz\nc\n"));
  ASSERT_TRUE(m.ok());
  EXPECT_THAT(Row(*m, 0), ElementsAre(1, 0, 0));
  EXPECT_THAT(Row(*m, 1), ElementsAre(0, 0, 1));
  EXPECT_THAT(Row(*m, 2), ElementsAre(0, 0, 1));
  EXPECT_THAT(Row(*m, 3), ElementsAre(0, 1, 0));
  // Ties in frequency go to the earlier level in sorted order.
  options.max_levels = 1;
  spec = PreprocessSpec::Fit(Csv("c\nb\na\n"), options);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->OutputNames(), ElementsAre("c=a", "c=__other__"));
}

TEST(PreprocessTest, IntegerCategoriesSortNumerically) {
  Table table = Csv("grade\n10\n9\n100\n");
  PreprocessOptions options;
  options.columns = {"grade"};
  options.categorical = {"grade"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->OutputNames(), ElementsAre("grade=9", "grade=10", "grade=100"));
  StatusOr<std::vector<float>> row = spec->ApplyRow(Json{{"grade", 10}});
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_THAT(*row, ElementsAre(0, 1, 0));
}

TEST(PreprocessTest, ApplyRowMatchesApply) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "rate", "home", "grade", "secured"};
  options.categorical = {"grade"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok());
  StatusOr<Matrix> m = spec->Apply(table);
  ASSERT_TRUE(m.ok());
  Json row = {
      {"amount", 200}, {"rate", nullptr}, {"home", "own"}, {"grade", 1}, {"secured", false}};
  StatusOr<std::vector<float>> out = spec->ApplyRow(row);
  ASSERT_TRUE(out.ok()) << out.status();
  std::vector<float> shown;
  for (float v : *out) shown.push_back(std::isnan(v) ? -999 : v);
  EXPECT_EQ(shown, Row(*m, 1));
  // An absent key is missing too.
  out = spec->ApplyRow(Json{{"home", "rent"}});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(std::isnan((*out)[0]));
  EXPECT_EQ((*out)[4], 1.0f);
}

TEST(PreprocessTest, ApplyRowRefusesWrongKinds) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "home"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->ApplyRow(Json{{"amount", "lots"}}).status().message(), HasSubstr("amount"));
  EXPECT_THAT(spec->ApplyRow(Json{{"home", 1.5}}).status().message(), HasSubstr("home"));
  EXPECT_FALSE(spec->ApplyRow(Json::array()).ok());
  std::vector<float> small(1);
  EXPECT_FALSE(spec->ApplyRow(Json::object(), small).ok());
}

TEST(PreprocessTest, RefusesTimestampsNamingTheColumn) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "when"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("'when' is a timestamp"));
}

TEST(PreprocessTest, RefusesBadOptions) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "nope"};
  EXPECT_THAT(PreprocessSpec::Fit(table, options).status().message(), HasSubstr("'nope'"));
  options.columns = {"amount", "amount"};
  EXPECT_THAT(PreprocessSpec::Fit(table, options).status().message(), HasSubstr("twice"));
  options.columns = {"rate"};
  options.categorical = {"rate"};
  EXPECT_THAT(PreprocessSpec::Fit(table, options).status().message(), HasSubstr("float64"));
  options.categorical = {"home"};
  EXPECT_THAT(PreprocessSpec::Fit(table, options).status().message(),
              HasSubstr("not one of the feature columns"));
  options = {};
  options.columns = {"home"};
  options.max_levels = -1;
  EXPECT_FALSE(PreprocessSpec::Fit(table, options).ok());
  // Two outputs with one name: a numeric column "a=x" and level "x" of column "a".
  Table clash = Csv("a,a=x\nx,1\n");
  options = {};
  options.columns = {"a", "a=x"};
  EXPECT_THAT(PreprocessSpec::Fit(clash, options).status().message(), HasSubstr("'a=x'"));
}

TEST(PreprocessTest, ApplyChecksColumnTypes) {
  Table train = Csv("amount,home\n1,rent\n2,own\n");
  PreprocessOptions options;
  options.columns = {"amount", "home"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(train, options);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->Apply(Csv("amount,home\nlots,rent\n")).status().message(),
              HasSubstr("'amount' is string"));
  EXPECT_THAT(spec->Apply(Csv("amount,home\n1,2.5\n")).status().message(),
              HasSubstr("'home' is float64"));
  EXPECT_THAT(spec->Apply(Csv("amount\n1\n")).status().message(), HasSubstr("'home'"));
  // A column with no value at all reads as string: for a numeric feature it is just missing.
  StatusOr<Matrix> m = spec->Apply(Csv("amount,home\nNA,rent\n"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(std::isnan(m->at(0, 0)));
}

TEST(PreprocessTest, InfinitiesAreRefusedAndNanIsMissing) {
  Table train = Csv("x\n1.5\n2.5\n");
  PreprocessOptions options;
  options.columns = {"x"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(train, options);
  ASSERT_TRUE(spec.ok());
  EXPECT_THAT(spec->Apply(Csv("x\n1\ninf\n")).status().message(), HasSubstr("at row 1"));
  EXPECT_FALSE(spec->Apply(Csv("x\n1e300\n")).ok());  // beyond float
  StatusOr<Matrix> m = spec->Apply(Csv("x\nnan\n2\n"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(std::isnan(m->at(0, 0)));
  EXPECT_FALSE(spec->ApplyRow(Json{{"x", 1e300}}).ok());
}

TEST(PreprocessTest, FromJsonRefusesMalformedSpecs) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount", "home"};
  StatusOr<PreprocessSpec> spec = PreprocessSpec::Fit(table, options);
  ASSERT_TRUE(spec.ok());
  const Json good = spec->ToJson();
  ASSERT_TRUE(PreprocessSpec::FromJson(good).ok());
  auto refused = [&](auto edit) {
    Json j = good;
    edit(j);
    return !PreprocessSpec::FromJson(j).ok();
  };
  EXPECT_TRUE(refused([](Json& j) { j["format"] = 2; }));
  EXPECT_TRUE(refused([](Json& j) { j["extra"] = 1; }));
  EXPECT_TRUE(refused([](Json& j) { j["features"][1]["levels"].push_back("own"); }));
  EXPECT_TRUE(refused([](Json& j) { j["features"][1]["encoding"] = "target"; }));
  EXPECT_TRUE(refused([](Json& j) { j["features"][0]["type"] = "timestamp"; }));
  EXPECT_TRUE(refused([](Json& j) { j["features"][0]["levels"] = Json::array(); }));
  EXPECT_TRUE(refused([](Json& j) { j["outputs"][0] = "other"; }));
  EXPECT_TRUE(refused([](Json& j) { j["features"].push_back(j["features"][0]); }));
  EXPECT_TRUE(refused([](Json& j) { j.erase("outputs"); }));
}

TEST(PreprocessTest, TakeRowsSelectsRows) {
  Table table = Csv(kLoans);
  PreprocessOptions options;
  options.columns = {"amount"};
  StatusOr<Matrix> m = PreprocessSpec::Fit(table, options)->Apply(table);
  ASSERT_TRUE(m.ok());
  std::vector<size_t> rows = {4, 0};
  Matrix taken = TakeRows(*m, rows);
  EXPECT_EQ(taken.rows, 2u);
  EXPECT_THAT(taken.values, ElementsAre(500, 100));
  EXPECT_THAT(taken.feature_names, ElementsAre("amount"));
  std::vector<float> labels = {0, 1, 2, 3, 4};
  EXPECT_THAT(TakeRows(labels, rows), ElementsAre(4, 0));
}

TEST(LabelsTest, BinaryLabelsFromStringsIntsAndBools) {
  Table table = Csv("s,i,b,f\ngood,1,true,1.5\nbad,0,false,2\nbad,1,true,3\n");
  StatusOr<std::vector<float>> s = BinaryLabels(*table.Find("s"), "bad");
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(*s, ElementsAre(0, 1, 1));
  StatusOr<std::vector<float>> i = BinaryLabels(*table.Find("i"), "1");
  ASSERT_TRUE(i.ok());
  EXPECT_THAT(*i, ElementsAre(1, 0, 1));
  StatusOr<std::vector<float>> b = BinaryLabels(*table.Find("b"), "false");
  ASSERT_TRUE(b.ok());
  EXPECT_THAT(*b, ElementsAre(0, 1, 0));
  EXPECT_THAT(BinaryLabels(*table.Find("s"), "bda").status().message(), HasSubstr("'bad'"));
  EXPECT_FALSE(BinaryLabels(*table.Find("f"), "1").ok());
  Table nulls = Csv("s\ngood\nNA\nbad\n");
  EXPECT_THAT(BinaryLabels(*nulls.Find("s"), "bad").status().message(), HasSubstr("1 null"));
  StatusOr<std::vector<float>> target = NumericTarget(*table.Find("f"));
  ASSERT_TRUE(target.ok());
  EXPECT_THAT(*target, ElementsAre(1.5, 2, 3));
  EXPECT_FALSE(NumericTarget(*table.Find("s")).ok());
}

}  // namespace
}  // namespace plinth
