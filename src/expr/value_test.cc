// Values, JSON conversion, type parsing, and the time helpers.
#include "expr/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "expr/time_util.h"
#include "expr/types.h"

namespace plinth::expr {
namespace {

TEST(ValueTest, KindsStayDistinct) {
  EXPECT_EQ(Value::Int(1).kind(), Value::Kind::kInt);
  EXPECT_EQ(Value::Double(1).kind(), Value::Kind::kDouble);
  EXPECT_EQ(Value::Timestamp(1).kind(), Value::Kind::kTimestamp);
  EXPECT_EQ(Value::Duration(1).kind(), Value::Kind::kDuration);
  EXPECT_TRUE(Value().is_null());
  EXPECT_EQ(Value::Int(1).DebugString(), "1");
  EXPECT_EQ(Value::Double(1).DebugString(), "1.0");
  EXPECT_EQ(Value::Timestamp(0).DebugString(), "timestamp(\"1970-01-01T00:00:00Z\")");
  EXPECT_EQ(Value::Duration(-1500000).DebugString(), "duration(\"-1.5s\")");
  ValueMap m;
  m.emplace(Value::String("k"), Value::List({Value::Bool(true), Value::Null()}));
  EXPECT_EQ(Value::Map(std::move(m)).DebugString(), "{\"k\": [true, null]}");
}

TEST(ValueTest, Equality) {
  EXPECT_TRUE(ValuesEqual(Value::Int(2), Value::Double(2.0)));
  EXPECT_FALSE(ValuesEqual(Value::Int(2), Value::Double(2.5)));
  EXPECT_FALSE(ValuesEqual(Value::Int(INT64_MAX), Value::Double(9223372036854775807.0)));
  EXPECT_FALSE(ValuesEqual(Value::Double(NAN), Value::Double(NAN)));
  EXPECT_TRUE(ValuesEqual(Value::Null(), Value::Null()));
  EXPECT_FALSE(ValuesEqual(Value::Null(), Value::Int(0)));
  EXPECT_FALSE(ValuesEqual(Value::String("1"), Value::Int(1)));
  EXPECT_FALSE(ValuesEqual(Value::Timestamp(5), Value::Duration(5)));
  EXPECT_TRUE(ValuesEqual(Value::List({Value::Int(1)}), Value::List({Value::Double(1)})));
}

TEST(ValueTest, FromJsonFollowsTheDeclaredType) {
  auto v = ValueFromJson(Json::parse(R"({"a": [1, 2], "b": null})"),
                         Type::Map(Type::String(), Type::List(Type::Double())));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->DebugString(), "{\"a\": [1.0, 2.0], \"b\": null}");
  v = ValueFromJson(Json::parse(R"("2024-01-31T00:00:00Z")"), Type::Timestamp());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind(), Value::Kind::kTimestamp);
  v = ValueFromJson(Json::parse(R"("90m")"), Type::Duration());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->duration_micros(), 90LL * 60 * 1000000);
  v = ValueFromJson(Json::parse(R"({"1": true})"), Type::Map(Type::Int(), Type::Bool()));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->DebugString(), "{1: true}");
  v = ValueFromJson(Json::parse(R"({"x": true})"), Type::Map(Type::Int(), Type::Bool()));
  EXPECT_FALSE(v.ok());
  v = ValueFromJson(Json::parse(R"([1, "a"])"), Type::List(Type::Int()));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(std::string(v.status().message()), "$[1]: expected int, got string");
  v = ValueFromJson(Json::parse("18446744073709551615"), Type::Int());
  EXPECT_FALSE(v.ok());
  v = ValueFromJson(Json::parse("18446744073709551615"), Type::Dyn());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind(), Value::Kind::kDouble);
  v = ValueFromJson(Json::parse(R"({"a": [1, 2.5, "x", {"b": null}]})"), Type::Dyn());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->DebugString(), "{\"a\": [1, 2.5, \"x\", {\"b\": null}]}");
}

TEST(ValueTest, FromJsonRefusesDeepNesting) {
  Json deep = 1;
  for (int i = 0; i < 200; ++i) deep = Json::array({deep});
  auto v = ValueFromJson(deep, Type::Dyn());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(std::string(v.status().message()).find("nested more than 100 levels"),
            std::string::npos);
}

TEST(ValueTest, ToJson) {
  EXPECT_EQ(ValueToJson(Value::Double(1)).dump(), "1.0");
  EXPECT_EQ(ValueToJson(Value::Int(1)).dump(), "1");
  EXPECT_EQ(ValueToJson(Value::Double(std::numeric_limits<double>::infinity())).dump(),
            "\"Infinity\"");
  EXPECT_EQ(ValueToJson(Value::Double(NAN)).dump(), "\"NaN\"");
  EXPECT_EQ(ValueToJson(Value::Timestamp(1500000)).dump(), "\"1970-01-01T00:00:01.5Z\"");
  ValueMap m;
  m.emplace(Value::Int(3), Value::Bool(false));
  m.emplace(Value::Bool(true), Value::String("t"));
  EXPECT_EQ(ValueToJson(Value::Map(std::move(m))).dump(), R"({"3":false,"true":"t"})");
}

TEST(ValueTest, FormatDouble) {
  EXPECT_EQ(FormatDouble(1), "1");
  EXPECT_EQ(FormatDouble(0.1), "0.1");
  EXPECT_EQ(FormatDouble(-2.5), "-2.5");
  EXPECT_EQ(FormatDouble(100000), "100000");
  EXPECT_EQ(FormatDouble(1e20), "100000000000000000000");
  EXPECT_EQ(FormatDouble(1e21), "1e+21");
  EXPECT_EQ(FormatDouble(1.5e-7), "1.5e-7");
  EXPECT_EQ(FormatDouble(0.000001), "0.000001");
  EXPECT_EQ(FormatDouble(123.456), "123.456");
  EXPECT_EQ(FormatDouble(-std::numeric_limits<double>::infinity()), "-Infinity");
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    std::string text = FormatDouble(d);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
  }
}

TEST(TypeTest, ParseAndPrint) {
  for (const char* text : {"int", "double", "bool", "string", "timestamp", "duration", "dyn",
                           "list(int)", "map(string, list(map(int, dyn)))"}) {
    auto t = ParseType(text);
    ASSERT_TRUE(t.ok()) << text;
    EXPECT_EQ(t->ToString(), text);
  }
  EXPECT_EQ(ParseType(" list( string ) ")->ToString(), "list(string)");
  EXPECT_FALSE(ParseType("").ok());
  EXPECT_FALSE(ParseType("list()").ok());
  EXPECT_FALSE(ParseType("map(string)").ok());
  EXPECT_FALSE(ParseType("intx").ok());
  EXPECT_FALSE(ParseType("null_type").ok());
  std::string deep;
  for (int i = 0; i < 50; ++i) deep += "list(";
  deep += "int";
  for (int i = 0; i < 50; ++i) deep += ")";
  EXPECT_FALSE(ParseType(deep).ok());
}

TEST(TimeTest, TimestampsRoundTrip) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("0001-01-01T00:00:00Z"), kMinTimestampMicros);
  EXPECT_EQ(ParseTimestamp("9999-12-31T23:59:59.999999Z"), kMaxTimestampMicros);
  EXPECT_EQ(ParseTimestamp("2024-02-29T12:00:00+12:00"), ParseTimestamp("2024-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-31 00:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-31T00:00:00"));
  EXPECT_FALSE(ParseTimestamp("2024-01-31T24:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2024-01-31T00:00:00.Z"));
  EXPECT_FALSE(ParseTimestamp("0000-01-01T00:00:00Z"));
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(kMinTimestampMicros), "0001-01-01T00:00:00Z");
  std::mt19937_64 rng(2);
  std::uniform_int_distribution<int64_t> any(kMinTimestampMicros, kMaxTimestampMicros);
  for (int i = 0; i < 20000; ++i) {
    int64_t t = any(rng);
    EXPECT_EQ(ParseTimestamp(FormatTimestamp(t)), t) << FormatTimestamp(t);
  }
}

TEST(TimeTest, CivilFields) {
  CivilTime c = ToCivil(*ParseTimestamp("2024-12-31T23:30:00Z"), 3600);
  EXPECT_EQ(c.year, 2025);
  EXPECT_EQ(c.month, 1);
  EXPECT_EQ(c.day, 1);
  EXPECT_EQ(c.hour, 0);
  EXPECT_EQ(c.minute, 30);
  EXPECT_EQ(c.weekday, 3);
  EXPECT_EQ(c.year_day, 0);
  EXPECT_EQ(ParseZoneOffset("-08:00"), -8 * 3600);
  EXPECT_EQ(ParseZoneOffset("UTC"), 0);
  EXPECT_FALSE(ParseZoneOffset("+24:00"));
  EXPECT_FALSE(ParseZoneOffset("America/New_York"));
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(ParseDurationText("1h30m"), 5400LL * 1000000);
  EXPECT_EQ(ParseDurationText("-1.5s"), -1500000);
  EXPECT_EQ(ParseDurationText("300ms"), 300000);
  EXPECT_EQ(ParseDurationText("10us"), 10);
  EXPECT_EQ(ParseDurationText("1500ns"), 1);
  EXPECT_EQ(ParseDurationText("7d"), 7LL * 86400 * 1000000);
  EXPECT_EQ(ParseDurationText("0"), 0);
  EXPECT_EQ(ParseDurationText(".5s"), 500000);
  EXPECT_FALSE(ParseDurationText(""));
  EXPECT_FALSE(ParseDurationText("1"));
  EXPECT_FALSE(ParseDurationText("h"));
  EXPECT_FALSE(ParseDurationText("1x"));
  EXPECT_FALSE(ParseDurationText("-"));
  EXPECT_FALSE(ParseDurationText("99999999999999999999999h"));
  EXPECT_FALSE(ParseDurationText("315576000001s"));
  EXPECT_EQ(ParseDurationText("315576000000s"), kMaxDurationMicros);
  EXPECT_EQ(FormatDuration(3600LL * 1000000), "3600s");
  EXPECT_EQ(FormatDuration(1), "0.000001s");
  EXPECT_EQ(FormatDuration(-kMaxDurationMicros), "-315576000000s");
}

}  // namespace
}  // namespace plinth::expr
