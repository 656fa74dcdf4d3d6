// Column profiles on small tables whose numbers were worked out by hand: counts, nulls, distinct
// values, moments, quantiles (numpy's linear interpolation), histogram bins, top values, masking
// of PII columns and the HTML report.
#include "data/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/clock.h"
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

int64_t Micros(const char* rfc3339) {
  std::optional<int64_t> t = ParseTime(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

// 2024-01-01, 01-02, 01-04 and 01-05 at midnight UTC and a null: mean and median 2024-01-03.
Table TimestampTable() {
  Table t;
  Column at("at", ColumnType::kTimestamp);
  for (const char* s : {"2024-01-04T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-05T00:00:00Z",
                        "2024-01-02T00:00:00Z"}) {
    at.AppendInt64(Micros(s));
  }
  at.AppendNull();
  EXPECT_TRUE(t.AddColumn(std::move(at)).ok());
  return t;
}

TEST(ProfileTest, TimestampColumnCarriesItsTimesAsRfc3339Text) {
  Json p = ProfileTable(TimestampTable());
  const Json& c = p["columns"][0];
  EXPECT_EQ(c["type"], "timestamp");
  EXPECT_EQ(c["distinct"], 4);
  // The numbers stay microseconds since the epoch.
  EXPECT_DOUBLE_EQ(c["min"].get<double>(), static_cast<double>(Micros("2024-01-01T00:00:00Z")));
  EXPECT_DOUBLE_EQ(c["quantiles"]["p50"].get<double>(),
                   static_cast<double>(Micros("2024-01-03T00:00:00Z")));
  EXPECT_EQ(c["min_time"], "2024-01-01T00:00:00.000000Z");
  EXPECT_EQ(c["max_time"], "2024-01-05T00:00:00.000000Z");
  EXPECT_EQ(c["mean_time"], "2024-01-03T00:00:00.000000Z");
  // Linear interpolation between closest ranks, as for numbers: p5 at 0.15 of the first day.
  const Json& q = c["quantiles_time"];
  ASSERT_EQ(q.size(), c["quantiles"].size());
  EXPECT_EQ(q["p5"], "2024-01-01T03:36:00.000000Z");
  EXPECT_EQ(q["p25"], "2024-01-01T18:00:00.000000Z");
  EXPECT_EQ(q["p50"], "2024-01-03T00:00:00.000000Z");
  EXPECT_EQ(q["p75"], "2024-01-04T06:00:00.000000Z");
  EXPECT_EQ(q["p95"], "2024-01-04T20:24:00.000000Z");
  EXPECT_EQ(c["histogram"]["min_time"], "2024-01-01T00:00:00.000000Z");
  EXPECT_EQ(c["histogram"]["max_time"], "2024-01-05T00:00:00.000000Z");
  EXPECT_EQ(Sum(c["histogram"]["counts"]), 4);
  // Every text parses back to its number (min, max and the quantiles here are whole seconds).
  EXPECT_EQ(ParseTime(c["max_time"].get<std::string>()),
            static_cast<int64_t>(c["max"].get<double>()));
  for (const auto& [name, v] : c["quantiles"].items()) {
    EXPECT_EQ(ParseTime(q[name].get<std::string>()), std::llround(v.get<double>())) << name;
  }
}

TEST(ProfileTest, OtherColumnsHaveNoTimeText) {
  Json p = ProfileTable(SmallTable());
  for (const auto& c : p["columns"]) {
    for (const char* key : {"min_time", "max_time", "mean_time", "quantiles_time"}) {
      EXPECT_FALSE(c.contains(key)) << c["name"] << " " << key;
    }
    if (c.contains("histogram")) EXPECT_FALSE(c["histogram"].contains("min_time"));
  }
}

TEST(ProfileTest, TimestampExtremesAreExactOrNull) {
  Table t;
  Column at("at", ColumnType::kTimestamp);
  // The last microsecond RFC 3339 can write is past 2^53: a double cannot hold it exactly.
  const int64_t last = Micros("9999-12-31T23:59:59Z") + 999999;
  at.AppendInt64(last);
  at.AppendInt64(last - 1);
  ASSERT_TRUE(t.AddColumn(std::move(at)).ok());
  Column wild("wild", ColumnType::kTimestamp);
  wild.AppendInt64(0);
  wild.AppendInt64(std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(t.AddColumn(std::move(wild)).ok());
  Json p = ProfileTable(t);
  const Json& a = p["columns"][0];
  EXPECT_EQ(a["max_time"], "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(a["min_time"], "9999-12-31T23:59:59.999998Z");
  const Json& w = p["columns"][1];
  EXPECT_EQ(w["min_time"], "1970-01-01T00:00:00.000000Z");
  EXPECT_TRUE(w["max_time"].is_null());  // beyond the year 9999
  EXPECT_TRUE(w["histogram"]["max_time"].is_null());
  EXPECT_TRUE(w["quantiles_time"]["p95"].is_null());
  EXPECT_TRUE(TimestampText(std::numeric_limits<double>::quiet_NaN()).is_null());
  EXPECT_TRUE(TimestampText(-1e300).is_null());
  EXPECT_EQ(TimestampText(1.5), "1970-01-01T00:00:00.000002Z");  // rounded to the microsecond
}

TEST(ProfileTest, MaskingDropsTheTimeText) {
  Json masked = MaskProfile(ProfileTable(TimestampTable()), {"at"});
  const Json& c = masked["columns"][0];
  EXPECT_EQ(c.size(), 5u) << c.dump();
  EXPECT_THAT(masked.dump(), Not(HasSubstr("2024-")));
}

TEST(ProfileTest, HtmlReportShowsTimesNotMicroseconds) {
  Json p = ProfileTable(TimestampTable());
  std::string html = RenderProfileHtml(p, "times");
  EXPECT_THAT(html, HasSubstr("<th>min</th><td>2024-01-01T00:00:00.000000Z</td>"));
  EXPECT_THAT(html, HasSubstr("<th>mean</th><td>2024-01-03T00:00:00.000000Z</td>"));
  EXPECT_THAT(html, HasSubstr("<th>p95</th><td>2024-01-04T20:24:00.000000Z</td>"));
  EXPECT_THAT(html, HasSubstr("<th>std</th><td>1.83 d</td>"));          // sqrt(10/3) days
  EXPECT_THAT(html, HasSubstr(">2024-01-05T00:00:00.000000Z</text>"));  // histogram axis
  EXPECT_THAT(html, Not(HasSubstr("e+15")));
  // A profile stored before the text fields existed is shown the same way.
  Json old = p;
  Json& c = old["columns"][0];
  for (const char* key : {"min_time", "max_time", "mean_time", "quantiles_time"}) c.erase(key);
  c["histogram"].erase("min_time");
  c["histogram"].erase("max_time");
  EXPECT_EQ(RenderProfileHtml(old, "times"), html);
}

}  // namespace
}  // namespace plinth
