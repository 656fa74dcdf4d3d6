// Column profiles on small tables whose numbers were worked out by hand: counts, nulls, distinct
// values, moments, quantiles (numpy's linear interpolation), histogram bins, top values, masking
// of PII columns and the HTML report.
#include "data/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "data/csv_reader.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Table SmallTable() {
  Table t;
  Column amount("amount", ColumnType::kInt64);
  for (int v : {1, 2, 3, 4}) amount.AppendInt64(v);
  amount.AppendNull();
  Column grade("grade", ColumnType::kString);
  for (const char* s : {"a", "b", "a"}) grade.AppendString(s);
  grade.AppendNull();
  grade.AppendString("a");
  Column rate("rate", ColumnType::kFloat64);
  rate.AppendFloat64(1.5);
  rate.AppendFloat64(std::numeric_limits<double>::quiet_NaN());
  rate.AppendFloat64(2.5);
  rate.AppendFloat64(2.5);
  rate.AppendNull();
  Column flag("flag", ColumnType::kBool);
  for (bool b : {true, false, true, true}) flag.AppendBool(b);
  flag.AppendNull();
  EXPECT_TRUE(t.AddColumn(std::move(amount)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(grade)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(rate)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(flag)).ok());
  return t;
}

int64_t Sum(const Json& counts) {
  int64_t total = 0;
  for (const auto& c : counts) total += c.get<int64_t>();
  return total;
}

TEST(ProfileTest, NumericColumnHandChecked) {
  Json p = ProfileTable(SmallTable());
  EXPECT_EQ(p["rows"], 5);
  const Json& a = p["columns"][0];
  EXPECT_EQ(a["name"], "amount");
  EXPECT_EQ(a["type"], "int64");
  EXPECT_EQ(a["count"], 5);
  EXPECT_EQ(a["nulls"], 1);
  EXPECT_EQ(a["distinct"], 4);
  EXPECT_DOUBLE_EQ(a["min"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(a["max"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(a["mean"].get<double>(), 2.5);
  EXPECT_NEAR(a["std"].get<double>(), std::sqrt(5.0 / 3.0), 1e-12);  // sample std
  EXPECT_NEAR(a["quantiles"]["p5"].get<double>(), 1.15, 1e-12);
  EXPECT_NEAR(a["quantiles"]["p25"].get<double>(), 1.75, 1e-12);
  EXPECT_NEAR(a["quantiles"]["p50"].get<double>(), 2.5, 1e-12);
  EXPECT_NEAR(a["quantiles"]["p75"].get<double>(), 3.25, 1e-12);
  EXPECT_NEAR(a["quantiles"]["p95"].get<double>(), 3.85, 1e-12);
  const Json& counts = a["histogram"]["counts"];
  ASSERT_EQ(counts.size(), 20u);
  // Width 0.15 over [1, 4]: 1 -> bin 0, 2 -> bin 6, 3 -> bin 13, 4 (the max) -> the last bin.
  EXPECT_EQ(counts[0], 1);
  EXPECT_EQ(counts[6], 1);
  EXPECT_EQ(counts[13], 1);
  EXPECT_EQ(counts[19], 1);
  EXPECT_EQ(Sum(counts), 4);
}

TEST(ProfileTest, FloatColumnLeavesNaNOutOfTheStatistics) {
  Json p = ProfileTable(SmallTable());
  const Json& r = p["columns"][2];
  EXPECT_EQ(r["nulls"], 1);
  EXPECT_EQ(r["non_finite"], 1);
  EXPECT_EQ(r["distinct"], 3);  // 1.5, 2.5 and NaN
  EXPECT_DOUBLE_EQ(r["mean"].get<double>(), 6.5 / 3);
  EXPECT_DOUBLE_EQ(r["quantiles"]["p50"].get<double>(), 2.5);
  EXPECT_EQ(Sum(r["histogram"]["counts"]), 3);
}

TEST(ProfileTest, CategoricalColumnsHaveTopValues) {
  Json p = ProfileTable(SmallTable());
  const Json& g = p["columns"][1];
  EXPECT_EQ(g["distinct"], 2);
  ASSERT_EQ(g["top"].size(), 2u);
  EXPECT_EQ(g["top"][0]["value"], "a");
  EXPECT_EQ(g["top"][0]["count"], 3);
  EXPECT_EQ(g["top"][1]["value"], "b");
  EXPECT_FALSE(g.contains("histogram"));
  const Json& f = p["columns"][3];
  EXPECT_EQ(f["distinct"], 2);
  EXPECT_EQ(f["top"][0]["value"], "true");
  EXPECT_EQ(f["top"][0]["count"], 3);
}

TEST(ProfileTest, ConstantColumnPutsEveryValueInTheFirstBin) {
  Table t;
  Column c("c", ColumnType::kFloat64);
  for (int i = 0; i < 7; ++i) c.AppendFloat64(3.0);
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  Json p = ProfileTable(t);
  const Json& col = p["columns"][0];
  EXPECT_EQ(col["histogram"]["counts"][0], 7);
  EXPECT_EQ(Sum(col["histogram"]["counts"]), 7);
  EXPECT_DOUBLE_EQ(col["std"].get<double>(), 0.0);
}

TEST(ProfileTest, HistogramsOfRealDataSumToTheNonNullCount) {
  auto table = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/credit_data.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  Json p = ProfileTable(*table);
  int with_nulls = 0;
  for (const auto& c : p["columns"]) {
    with_nulls += c["nulls"].get<int64_t>() > 0;
    if (!c.contains("histogram")) continue;
    EXPECT_EQ(Sum(c["histogram"]["counts"]), c["count"].get<int64_t>() - c["nulls"].get<int64_t>() -
                                                 c["non_finite"].get<int64_t>())
        << c["name"];
  }
  EXPECT_GT(with_nulls, 0);
}

TEST(ProfileTest, MaskingKeepsOnlyCountsAndNulls) {
  Json masked = MaskProfile(ProfileTable(SmallTable()), {"amount", "grade"});
  for (int i : {0, 1}) {
    const Json& c = masked["columns"][i];
    EXPECT_EQ(c["masked"], "PII");
    EXPECT_EQ(c.size(), 5u) << c.dump();  // name, type, count, nulls, masked
    EXPECT_FALSE(c.contains("min"));
    EXPECT_FALSE(c.contains("top"));
    EXPECT_FALSE(c.contains("histogram"));
  }
  EXPECT_EQ(masked["columns"][0]["nulls"], 1);
  EXPECT_TRUE(masked["columns"][2].contains("histogram"));
  EXPECT_THAT(masked.dump(), Not(HasSubstr("\"a\"")));
}

TEST(ProfileTest, HtmlReportIsSelfContainedWithInlineSvg) {
  Json p = MaskProfile(ProfileTable(SmallTable()), {"grade"});
  p["name"] = "<credit>";
  std::string html = RenderProfileHtml(p, "Profile of <credit>");
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("&lt;credit&gt;"));
  EXPECT_THAT(html, HasSubstr("masked (PII)"));
  EXPECT_THAT(html, Not(HasSubstr("<credit>")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
}

}  // namespace
}  // namespace plinth
