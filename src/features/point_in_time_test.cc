#include "features/point_in_time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace plinth {
namespace {

using ::testing::HasSubstr;

Column Ints(const std::string& name, const std::vector<std::optional<int64_t>>& values,
            ColumnType type = ColumnType::kInt64) {
  Column column(name, type);
  for (const auto& v : values) v.has_value() ? column.AppendInt64(*v) : column.AppendNull();
  return column;
}

Column Times(const std::string& name, const std::vector<std::optional<int64_t>>& values) {
  return Ints(name, values, ColumnType::kTimestamp);
}

Column Floats(const std::string& name, const std::vector<std::optional<double>>& values) {
  Column column(name, ColumnType::kFloat64);
  for (const auto& v : values) v.has_value() ? column.AppendFloat64(*v) : column.AppendNull();
  return column;
}

Column Strings(const std::string& name, const std::vector<std::optional<std::string>>& values) {
  Column column(name, ColumnType::kString);
  for (const auto& v : values) v.has_value() ? column.AppendString(*v) : column.AppendNull();
  return column;
}

Table MakeTable(std::vector<Column> columns) {
  Table table;
  for (Column& column : columns) EXPECT_TRUE(table.AddColumn(std::move(column)).ok());
  return table;
}

PointInTimeOptions Options(bool with_created = false) {
  PointInTimeOptions options;
  options.spine_entity = "customer";
  options.spine_timestamp = "t";
  options.source_entity = "customer";
  options.source_timestamp = "ts";
  if (with_created) options.source_created = "created";
  options.features = {"amount"};
  return options;
}

// The feature column's cells, nullopt for nulls.
std::vector<std::optional<double>> Amounts(const Table& table) {
  const Column* column = table.Find("amount");
  EXPECT_NE(column, nullptr);
  std::vector<std::optional<double>> out;
  for (size_t r = 0; r < column->size(); ++r) {
    out.push_back(column->IsNull(r) ? std::nullopt : std::optional<double>(column->float64s()[r]));
  }
  return out;
}

std::vector<std::optional<double>> Join(const Table& spine, const Table& source,
                                        const PointInTimeOptions& options) {
  StatusOr<Table> result = PointInTimeJoin(spine, source, options);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  return Amounts(*result);
}

TEST(PointInTimeJoinTest, ValueAtExactlyTIsExcludedByDefaultAndIncludedOnRequest) {
  Table source = MakeTable(
      {Strings("customer", {"a", "a"}), Times("ts", {50, 100}), Floats("amount", {0.5, 1.0})});
  Table spine = MakeTable({Strings("customer", {"a"}), Times("t", {100})});
  PointInTimeOptions options = Options();
  EXPECT_EQ(Join(spine, source, options), (std::vector<std::optional<double>>{0.5}));
  options.include_equal_timestamps = true;
  EXPECT_EQ(Join(spine, source, options), (std::vector<std::optional<double>>{1.0}));
}

TEST(PointInTimeJoinTest, LateArrivingRowIsNotUsedBeforeItExists) {
  Table source = MakeTable({Strings("customer", {"a", "a"}), Times("ts", {50, 40}),
                            Times("created", {150, 40}), Floats("amount", {2.0, 1.0})});
  Table spine = MakeTable({Strings("customer", {"a", "a", "a"}), Times("t", {100, 200, 150})});
  PointInTimeOptions options = Options(/*with_created=*/true);
  EXPECT_EQ(Join(spine, source, options), (std::vector<std::optional<double>>{1.0, 2.0, 1.0}));
  options.include_equal_timestamps = true;
  EXPECT_EQ(Join(spine, source, options), (std::vector<std::optional<double>>{1.0, 2.0, 2.0}));
  // Without the created column the late row would leak in.
  EXPECT_EQ(Join(spine, source, Options()), (std::vector<std::optional<double>>{2.0, 2.0, 2.0}));
}

TEST(PointInTimeJoinTest, TtlExpiresOldValues) {
  Table source =
      MakeTable({Strings("customer", {"a"}), Times("ts", {10}), Floats("amount", {1.0})});
  Table spine = MakeTable({Strings("customer", {"a", "a", "a"}), Times("t", {20, 21, 100})});
  PointInTimeOptions options = Options();
  options.ttl_micros = 10;
  EXPECT_EQ(Join(spine, source, options),
            (std::vector<std::optional<double>>{1.0, std::nullopt, std::nullopt}));
  options.ttl_micros = 0;
  EXPECT_EQ(Join(spine, source, options), (std::vector<std::optional<double>>{1.0, 1.0, 1.0}));
}

TEST(PointInTimeJoinTest, EntitiesNeverMix) {
  Table source = MakeTable({Strings("customer", {"b", "a", "z"}), Times("ts", {20, 10, 1}),
                            Floats("amount", {2.0, 1.0, 9.0})});
  Table spine =
      MakeTable({Strings("customer", {"b", "a", "b", "c"}), Times("t", {15, 30, 30, 30})});
  EXPECT_EQ(Join(spine, source, Options()),
            (std::vector<std::optional<double>>{std::nullopt, 1.0, 2.0, std::nullopt}));
}

TEST(PointInTimeJoinTest, MultipleUpdatesPickTheLatestValidAndSpineOrderIsKept) {
  Table source = MakeTable({Strings("customer", {"a", "a", "a", "b"}), Times("ts", {30, 10, 20, 5}),
                            Floats("amount", {3.0, 1.0, 2.0, 7.0})});
  Table spine = MakeTable({Strings("customer", {"a", "b", "a", "a", "a"}),
                           Times("t", {35, 6, 5, 25, 15}), Ints("label", {1, 2, 3, 4, 5})});
  StatusOr<Table> result = PointInTimeJoin(spine, source, Options());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Amounts(*result),
            (std::vector<std::optional<double>>{3.0, 7.0, std::nullopt, 2.0, 1.0}));
  ASSERT_EQ(result->num_columns(), 4u);
  for (size_t c = 0; c < spine.num_columns(); ++c) {
    EXPECT_EQ(result->columns()[c], spine.columns()[c]);
  }
}

TEST(PointInTimeJoinTest, TiesOnTimestampPickTheLastCreatedThatIsAvailable) {
  Table source = MakeTable({Strings("customer", {"a", "a", "a"}), Times("ts", {10, 10, 10}),
                            Times("created", {12, 30, 11}), Floats("amount", {2.0, 3.0, 1.0})});
  Table spine =
      MakeTable({Strings("customer", {"a", "a", "a", "a"}), Times("t", {11, 12, 20, 31})});
  EXPECT_EQ(Join(spine, source, Options(/*with_created=*/true)),
            (std::vector<std::optional<double>>{std::nullopt, 1.0, 2.0, 3.0}));
}

TEST(PointInTimeJoinTest, NullsGiveNullFeaturesAndNullSourceRowsAreIgnored) {
  Table source = MakeTable({Strings("customer", {"a", std::nullopt, "a", "a", "b"}),
                            Times("ts", {10, 20, std::nullopt, 30, 10}),
                            Times("created", {10, 20, 25, std::nullopt, 10}),
                            Floats("amount", {1.0, 9.0, 9.0, 9.0, std::nullopt})});
  Table spine = MakeTable(
      {Strings("customer", {"a", std::nullopt, "a", "b"}), Times("t", {40, 40, std::nullopt, 40})});
  EXPECT_EQ(Join(spine, source, Options(/*with_created=*/true)),
            (std::vector<std::optional<double>>{1.0, std::nullopt, std::nullopt, std::nullopt}));
}

TEST(PointInTimeJoinTest, Int64EntitiesAndEveryFeatureType) {
  Column flag("flag", ColumnType::kBool);
  flag.AppendBool(true);
  flag.AppendBool(false);
  Table source =
      MakeTable({Ints("id", {7, 8}), Ints("ts", {1, 1}), Ints("count", {70, 80}),
                 Times("seen", {700, 800}), Strings("segment", {"x", "y"}), std::move(flag)});
  Table spine = MakeTable({Ints("id", {8, 9, 7}), Times("t", {2, 2, 2})});
  PointInTimeOptions options;
  options.spine_entity = "id";
  options.spine_timestamp = "t";
  options.source_entity = "id";
  options.source_timestamp = "ts";
  options.features = {"count", "seen", "segment", "flag"};
  StatusOr<Table> result = PointInTimeJoin(spine, source, options);
  ASSERT_TRUE(result.ok()) << result.status();
  Column flags("flag", ColumnType::kBool);
  flags.AppendBool(false);
  flags.AppendNull();
  flags.AppendBool(true);
  Table expected =
      MakeTable({Ints("id", {8, 9, 7}), Times("t", {2, 2, 2}),
                 Ints("count", {80, std::nullopt, 70}), Times("seen", {800, std::nullopt, 700}),
                 Strings("segment", {"y", std::nullopt, "x"}), std::move(flags)});
  EXPECT_EQ(*result, expected);
}

TEST(PointInTimeJoinTest, ErrorsNameTheColumn) {
  Table source = MakeTable({Strings("customer", {"a"}), Times("ts", {1}), Floats("amount", {1}),
                            Ints("customer_id", {1}), Floats("bad_time", {1.0})});
  Table spine = MakeTable({Strings("customer", {"a"}), Times("t", {2}), Floats("amount_x", {0})});
  auto expect_error = [&](const PointInTimeOptions& options, const std::string& text) {
    StatusOr<Table> result = PointInTimeJoin(spine, source, options);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(text));
  };
  PointInTimeOptions options = Options();
  options.spine_entity = "nope";
  expect_error(options, "'nope' not found");
  options = Options();
  options.source_timestamp = "missing_ts";
  expect_error(options, "'missing_ts' not found");
  options = Options();
  options.source_timestamp = "bad_time";
  expect_error(options, "'bad_time' must be timestamp or int64");
  options = Options();
  options.source_entity = "customer_id";
  expect_error(options, "source 'customer_id' is int64");
  options = Options();
  options.source_entity = "amount";
  expect_error(options, "'amount' must be string or int64");
  options = Options(/*with_created=*/true);
  expect_error(options, "'created' not found");
  options = Options();
  options.features = {"amount", "nope_feature"};
  expect_error(options, "'nope_feature' not found");
  options = Options();
  options.features = {"amount", "amount"};
  expect_error(options, "named twice");
  options = Options();
  options.features = {"customer"};
  expect_error(options, "clashes with a spine column");
  options = Options();
  options.ttl_micros = -1;
  expect_error(options, "ttl_micros");
}

// The rule of point_in_time.h, checked row by row against every source row.
Table BruteForce(const Table& spine, const Table& source, const PointInTimeOptions& o) {
  const Column& se = *spine.Find(o.spine_entity);
  const Column& st = *spine.Find(o.spine_timestamp);
  const Column& re = *source.Find(o.source_entity);
  const Column& rt = *source.Find(o.source_timestamp);
  const Column& rc = *source.Find(o.source_created.empty() ? o.source_timestamp : o.source_created);
  const bool strings = se.type() == ColumnType::kString;
  Table result = spine;
  std::vector<int64_t> match(spine.num_rows(), -1);
  for (size_t i = 0; i < spine.num_rows(); ++i) {
    if (se.IsNull(i) || st.IsNull(i)) continue;
    int64_t t = st.int64s()[i];
    std::tuple<int64_t, int64_t, int64_t> best{0, 0, -1};
    for (size_t j = 0; j < source.num_rows(); ++j) {
      if (re.IsNull(j) || rt.IsNull(j) || rc.IsNull(j)) continue;
      bool same = strings ? se.StringAt(i) == re.StringAt(j) : se.int64s()[i] == re.int64s()[j];
      if (!same) continue;
      int64_t ts = rt.int64s()[j], created = rc.int64s()[j];
      bool known = o.include_equal_timestamps ? (ts <= t && created <= t) : (ts < t && created < t);
      if (!known) continue;
      if (o.ttl_micros > 0 && t - ts > o.ttl_micros) continue;
      std::tuple<int64_t, int64_t, int64_t> key{ts, created, static_cast<int64_t>(j)};
      if (std::get<2>(best) < 0 || key > best) best = key;
    }
    match[i] = std::get<2>(best);
  }
  for (const std::string& name : o.features) {
    const Column& f = *source.Find(name);
    Column out(name, f.type());
    for (size_t i = 0; i < spine.num_rows(); ++i) {
      if (match[i] < 0 || f.IsNull(match[i])) {
        out.AppendNull();
      } else if (f.type() == ColumnType::kString) {
        out.AppendString(f.StringAt(match[i]));
      } else {
        out.AppendFloat64(f.float64s()[match[i]]);
      }
    }
    EXPECT_TRUE(result.AddColumn(std::move(out)).ok());
  }
  return result;
}

TEST(PointInTimeJoinTest, MatchesBruteForceOnRandomTables) {
  for (int seed = 0; seed < 24; ++seed) {
    std::mt19937_64 rng(seed);
    auto uniform = [&rng](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    const bool string_keys = seed % 2 == 0;
    const bool with_created = seed % 3 != 0;
    const int64_t entities = uniform(1, 300);
    const size_t source_rows = static_cast<size_t>(uniform(0, 4000));
    const size_t spine_rows = static_cast<size_t>(uniform(1, 3000));
    auto entity_column = [&](size_t rows) {
      Column column("customer", string_keys ? ColumnType::kString : ColumnType::kInt64);
      for (size_t r = 0; r < rows; ++r) {
        int64_t e = uniform(0, entities + 5);
        if (uniform(0, 50) == 0) {
          column.AppendNull();
        } else if (string_keys) {
          column.AppendString("c" + std::to_string(e));
        } else {
          column.AppendInt64(e - 3);
        }
      }
      return column;
    };
    auto time_column = [&](const std::string& name, size_t rows, const Column* base) {
      Column column(name, ColumnType::kTimestamp);
      for (size_t r = 0; r < rows; ++r) {
        if (uniform(0, 60) == 0) {
          column.AppendNull();
        } else if (base != nullptr && !base->IsNull(r) && uniform(0, 2) != 0) {
          column.AppendInt64(base->int64s()[r] + uniform(-2, 30));
        } else {
          column.AppendInt64(uniform(-50, 200));  // narrow range: many duplicate timestamps
        }
      }
      return column;
    };
    Column ts = time_column("ts", source_rows, nullptr);
    Column created = time_column("created", source_rows, &ts);
    Column amount("amount", ColumnType::kFloat64);
    Column tag("tag", ColumnType::kString);
    for (size_t r = 0; r < source_rows; ++r) {
      uniform(0, 20) == 0 ? amount.AppendNull() : amount.AppendFloat64(static_cast<double>(r));
      uniform(0, 20) == 0 ? tag.AppendNull() : tag.AppendString("v" + std::to_string(r % 97));
    }
    Table source = MakeTable({entity_column(source_rows), std::move(ts), std::move(created),
                              std::move(amount), std::move(tag)});
    Table spine = MakeTable({entity_column(spine_rows), time_column("t", spine_rows, nullptr)});
    PointInTimeOptions options = Options(with_created);
    options.features = {"amount", "tag"};
    for (bool inclusive : {false, true}) {
      for (int64_t ttl : {int64_t{0}, int64_t{1}, int64_t{25}}) {
        options.include_equal_timestamps = inclusive;
        options.ttl_micros = ttl;
        StatusOr<Table> result = PointInTimeJoin(spine, source, options);
        ASSERT_TRUE(result.ok()) << result.status();
        EXPECT_TRUE(*result == BruteForce(spine, source, options))
            << "seed " << seed << " inclusive " << inclusive << " ttl " << ttl;
      }
    }
  }
}

}  // namespace
}  // namespace plinth
