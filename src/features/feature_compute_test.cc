#include "features/feature_compute.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace plinth {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Building tables and repos.

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

FeatureDef Feature(const std::string& name, Aggregation aggregation, const std::string& expr,
                   int64_t window = 0) {
  FeatureDef feature;
  feature.name = name;
  feature.aggregation = aggregation;
  feature.expr = expr;
  feature.window_micros = window;
  return feature;
}

FeatureDef Latest(const std::string& name, const std::string& expr) {
  return Feature(name, Aggregation::kLatest, expr);
}

// One entity (customer, keyed by customer_id), one source (ts, optional created), one view
// "spend" with `features`, and a service "all" with every feature of the view.
FeatureRepo OneViewRepo(std::vector<FeatureDef> features, int64_t ttl = 0,
                        bool with_created = false) {
  FeatureRepo repo;
  repo.entities.push_back({"customer", "customer_id", ""});
  SourceDef source;
  source.name = "txns";
  source.dataset = "txns";
  source.timestamp = "ts";
  if (with_created) source.created = "created";
  repo.sources.push_back(source);
  FeatureViewDef view;
  view.name = "spend";
  view.entity = "customer";
  view.source = "txns";
  view.ttl_micros = ttl;
  view.features = std::move(features);
  repo.views.push_back(view);
  FeatureServiceDef service;
  service.name = "all";
  for (const FeatureDef& f : repo.views[0].features) service.features.push_back({"spend", f.name});
  repo.services.push_back(service);
  return repo;
}

// ---------------------------------------------------------------------------------------------
// Comparing cells.

// A cell: null, a number (int64, float64 and timestamp cells) or a string.
struct Cell {
  bool null = true;
  double number = 0;
  std::string text;
  bool operator==(const Cell& other) const {
    return null == other.null && number == other.number && text == other.text;
  }
};

void PrintTo(const Cell& cell, std::ostream* os) {
  if (cell.null) {
    *os << "null";
  } else if (!cell.text.empty()) {
    *os << '"' << cell.text << '"';
  } else {
    *os << cell.number;
  }
}

Cell Null() { return Cell(); }
Cell Num(double v) { return Cell{false, v, ""}; }
Cell Str(std::string v) { return Cell{false, 0, std::move(v)}; }

Cell CellAt(const Column& column, size_t row) {
  if (column.IsNull(row)) return Null();
  switch (column.type()) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return Num(static_cast<double>(column.int64s()[row]));
    case ColumnType::kFloat64:
      return Num(column.float64s()[row]);
    case ColumnType::kBool:
      return Num(column.bools()[row]);
    case ColumnType::kString:
      return Str(std::string(column.StringAt(row)));
  }
  return Null();
}

std::vector<Cell> Cells(const Column& column) {
  std::vector<Cell> out;
  for (size_t r = 0; r < column.size(); ++r) out.push_back(CellAt(column, r));
  return out;
}

// The feature columns of a computation, by name, as cells.
std::map<std::string, std::vector<Cell>> Compute(const FeatureRepo& repo, const Table& data,
                                                 const Table& spine, bool include_equal,
                                                 const std::vector<std::string>& features = {}) {
  ViewInput input{&repo, &repo.views[0], &data};
  StatusOr<std::vector<Column>> columns =
      ComputeFeaturesAsOf(input, features, spine, "t", include_equal);
  EXPECT_TRUE(columns.ok()) << columns.status();
  std::map<std::string, std::vector<Cell>> out;
  if (!columns.ok()) return out;
  for (const Column& column : *columns) {
    EXPECT_EQ(column.size(), spine.num_rows());
    out[column.name()] = Cells(column);
  }
  return out;
}

std::string ComputeError(const FeatureRepo& repo, const Table& data, const Table& spine,
                         const std::vector<std::string>& features = {}) {
  ViewInput input{&repo, &repo.views[0], &data};
  StatusOr<std::vector<Column>> columns =
      ComputeFeaturesAsOf(input, features, spine, "t", /*include_equal_timestamps=*/false);
  if (columns.ok()) return "OK";
  EXPECT_EQ(columns.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(columns.status().message());
}

// ---------------------------------------------------------------------------------------------
// Crafted cases.

std::vector<FeatureDef> LastCountSum(int64_t window) {
  return {Latest("last", "amount"), Feature("n", Aggregation::kCount, "", window),
          Feature("total", Aggregation::kSum, "amount", window)};
}

TEST(ComputeFeaturesTest, RowAtExactlyTheSpineTimeIsExcludedByDefaultAndIncludedOnRequest) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  Table data = MakeTable(
      {Strings("customer_id", {"a", "a"}), Times("ts", {50, 100}), Floats("amount", {1.0, 2.0})});
  Table spine = MakeTable({Strings("customer_id", {"a"}), Times("t", {100})});
  auto strict = Compute(repo, data, spine, false);
  EXPECT_EQ(strict["last"], std::vector<Cell>{Num(1)});
  EXPECT_EQ(strict["n"], std::vector<Cell>{Num(1)});
  EXPECT_EQ(strict["total"], std::vector<Cell>{Num(1)});
  auto inclusive = Compute(repo, data, spine, true);
  EXPECT_EQ(inclusive["last"], std::vector<Cell>{Num(2)});
  EXPECT_EQ(inclusive["n"], std::vector<Cell>{Num(2)});
  EXPECT_EQ(inclusive["total"], std::vector<Cell>{Num(3)});
}

TEST(ComputeFeaturesTest, LateArrivingRowIsExcludedUntilItWasCreated) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000), 0, /*with_created=*/true);
  // The row of ts 90 only became available at 150.
  Table data = MakeTable({Strings("customer_id", {"a", "a"}), Times("ts", {50, 90}),
                          Times("created", {50, 150}), Floats("amount", {1.0, 5.0})});
  Table spine = MakeTable({Strings("customer_id", {"a", "a", "a"}), Times("t", {100, 150, 151})});
  auto strict = Compute(repo, data, spine, false);
  EXPECT_EQ(strict["last"], (std::vector<Cell>{Num(1), Num(1), Num(5)}));
  EXPECT_EQ(strict["n"], (std::vector<Cell>{Num(1), Num(1), Num(2)}));
  EXPECT_EQ(strict["total"], (std::vector<Cell>{Num(1), Num(1), Num(6)}));
  auto inclusive = Compute(repo, data, spine, true);
  EXPECT_EQ(inclusive["last"], (std::vector<Cell>{Num(1), Num(5), Num(5)}));
  EXPECT_EQ(inclusive["n"], (std::vector<Cell>{Num(1), Num(2), Num(2)}));
  // Without the created column the late row would leak into the first spine row.
  FeatureRepo leaky = OneViewRepo(LastCountSum(1000));
  EXPECT_EQ(Compute(leaky, data, spine, false)["last"],
            (std::vector<Cell>{Num(5), Num(5), Num(5)}));
}

TEST(ComputeFeaturesTest, WindowExcludesTheRowJustOutsideAndIncludesTheRowJustInside) {
  FeatureRepo repo = OneViewRepo(LastCountSum(100));
  // Window 100 at t = 1000: rows with 900 < ts < 1000 count.
  Table data = MakeTable({Strings("customer_id", {"a", "a", "a"}), Times("ts", {900, 901, 999}),
                          Floats("amount", {1.0, 2.0, 4.0})});
  Table spine = MakeTable({Strings("customer_id", {"a", "a"}), Times("t", {1000, 1001})});
  auto strict = Compute(repo, data, spine, false);
  EXPECT_EQ(strict["n"], (std::vector<Cell>{Num(2), Num(1)}));
  EXPECT_EQ(strict["total"], (std::vector<Cell>{Num(6), Num(4)}));
  // include_equal_timestamps moves the upper end only.
  auto inclusive = Compute(repo, data, spine, true);
  EXPECT_EQ(inclusive["n"], (std::vector<Cell>{Num(2), Num(1)}));
}

TEST(ComputeFeaturesTest, TtlBoundaryForLatestFeatures) {
  FeatureRepo repo = OneViewRepo(LastCountSum(10000), /*ttl=*/100);
  Table data =
      MakeTable({Strings("customer_id", {"a"}), Times("ts", {900}), Floats("amount", {3.0})});
  Table spine = MakeTable({Strings("customer_id", {"a", "a", "a"}), Times("t", {999, 1000, 1001})});
  auto values = Compute(repo, data, spine, false);
  // t - ts = 100 is within the ttl; 101 is not. Windows are bounded by their window only.
  EXPECT_EQ(values["last"], (std::vector<Cell>{Num(3), Num(3), Null()}));
  EXPECT_EQ(values["n"], (std::vector<Cell>{Num(1), Num(1), Num(1)}));
}

TEST(ComputeFeaturesTest, EntitiesNeverMix) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  Table data = MakeTable({Strings("customer_id", {"b", "a", "z", "b"}),
                          Times("ts", {20, 10, 1, 25}), Floats("amount", {2.0, 1.0, 9.0, 4.0})});
  Table spine =
      MakeTable({Strings("customer_id", {"b", "a", "b", "c"}), Times("t", {15, 30, 30, 30})});
  auto values = Compute(repo, data, spine, false);
  EXPECT_EQ(values["last"], (std::vector<Cell>{Null(), Num(1), Num(4), Null()}));
  EXPECT_EQ(values["n"], (std::vector<Cell>{Num(0), Num(1), Num(2), Num(0)}));
  EXPECT_EQ(values["total"], (std::vector<Cell>{Num(0), Num(1), Num(6), Num(0)}));
}

TEST(ComputeFeaturesTest, StringKeysMatchByValueAcrossDictionaries) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  // Source dictionary: x=0, y=1, z=2; spine dictionary: z=0, w=1, x=2.
  Table data = MakeTable({Strings("customer_id", {"x", "y", "z"}), Times("ts", {1, 2, 3}),
                          Floats("amount", {10.0, 20.0, 30.0})});
  Table spine = MakeTable(
      {Strings("customer_id", {"z", "w", "x", std::nullopt}), Times("t", {100, 100, 100, 100})});
  auto values = Compute(repo, data, spine, false);
  EXPECT_EQ(values["last"], (std::vector<Cell>{Num(30), Null(), Num(10), Null()}));
  EXPECT_EQ(values["total"], (std::vector<Cell>{Num(30), Num(0), Num(10), Null()}));
}

TEST(ComputeFeaturesTest, Int64KeysAndFeatureTypes) {
  FeatureRepo repo = OneViewRepo({Latest("last_category", "category"), Latest("last_qty", "qty"),
                                  Latest("big", "amount > 1.5"), Latest("seen", "ts"),
                                  Feature("qty_sum", Aggregation::kSum, "qty", 100),
                                  Feature("n", Aggregation::kCount, "", 100)});
  Table data = MakeTable({Ints("customer_id", {7, 8, 7}), Times("ts", {1, 2, 3}),
                          Floats("amount", {1.0, 2.0, 3.0}), Strings("category", {"p", "q", "r"}),
                          Ints("qty", {1, 2, 3})});
  Table spine = MakeTable({Ints("customer_id", {7, 8, 9}), Times("t", {10, 10, 10})});
  ViewInput input{&repo, &repo.views[0], &data};
  StatusOr<std::vector<Column>> columns = ComputeFeaturesAsOf(input, {}, spine, "t", false);
  ASSERT_TRUE(columns.ok()) << columns.status();
  ASSERT_EQ(columns->size(), 6u);
  std::vector<ColumnType> types;
  for (const Column& c : *columns) types.push_back(c.type());
  EXPECT_EQ(types, (std::vector<ColumnType>{ColumnType::kString, ColumnType::kInt64,
                                            ColumnType::kBool, ColumnType::kTimestamp,
                                            ColumnType::kFloat64, ColumnType::kInt64}));
  EXPECT_EQ(Cells((*columns)[0]), (std::vector<Cell>{Str("r"), Str("q"), Null()}));
  EXPECT_EQ(Cells((*columns)[2]), (std::vector<Cell>{Num(1), Num(1), Null()}));
  EXPECT_EQ(Cells((*columns)[3]), (std::vector<Cell>{Num(3), Num(2), Null()}));
  EXPECT_EQ(Cells((*columns)[4]), (std::vector<Cell>{Num(4), Num(2), Num(0)}));
  // A subset, in the order asked for.
  columns = ComputeFeaturesAsOf(input, {"n", "last_qty"}, spine, "t", false);
  ASSERT_TRUE(columns.ok()) << columns.status();
  ASSERT_EQ(columns->size(), 2u);
  EXPECT_EQ((*columns)[0].name(), "n");
  EXPECT_EQ(Cells((*columns)[0]), (std::vector<Cell>{Num(2), Num(1), Num(0)}));
  EXPECT_EQ(Cells((*columns)[1]), (std::vector<Cell>{Num(3), Num(2), Null()}));
}

TEST(ComputeFeaturesTest, EmptyWindowValues) {
  FeatureRepo repo = OneViewRepo({Feature("n", Aggregation::kCount, "", 10),
                                  Feature("n_amount", Aggregation::kCount, "amount", 10),
                                  Feature("total", Aggregation::kSum, "amount", 10),
                                  Feature("avg", Aggregation::kMean, "amount", 10),
                                  Feature("lo", Aggregation::kMin, "amount", 10),
                                  Feature("hi", Aggregation::kMax, "amount", 10)});
  Table data = MakeTable({Strings("customer_id", {"a", "a", "b"}), Times("ts", {1, 50, 50}),
                          Floats("amount", {2.0, std::nullopt, 6.0})});
  // a@20: no row in (10, 20). a@55: one row whose amount is null. b@55: one value. c: no rows.
  Table spine =
      MakeTable({Strings("customer_id", {"a", "a", "b", "c"}), Times("t", {20, 55, 55, 55})});
  auto values = Compute(repo, data, spine, false);
  EXPECT_EQ(values["n"], (std::vector<Cell>{Num(0), Num(1), Num(1), Num(0)}));
  EXPECT_EQ(values["n_amount"], (std::vector<Cell>{Num(0), Num(0), Num(1), Num(0)}));
  EXPECT_EQ(values["total"], (std::vector<Cell>{Num(0), Num(0), Num(6), Num(0)}));
  EXPECT_EQ(values["avg"], (std::vector<Cell>{Null(), Null(), Num(6), Null()}));
  EXPECT_EQ(values["lo"], (std::vector<Cell>{Null(), Null(), Num(6), Null()}));
  EXPECT_EQ(values["hi"], (std::vector<Cell>{Null(), Null(), Num(6), Null()}));
}

TEST(ComputeFeaturesTest, NullSpineKeyOrTimeGivesNullForEveryFeatureIncludingCount) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  Table data =
      MakeTable({Strings("customer_id", {"a"}), Times("ts", {1}), Floats("amount", {1.0})});
  Table spine = MakeTable(
      {Strings("customer_id", {std::nullopt, "a", "a"}), Times("t", {10, std::nullopt, 10})});
  auto values = Compute(repo, data, spine, false);
  EXPECT_EQ(values["last"], (std::vector<Cell>{Null(), Null(), Num(1)}));
  EXPECT_EQ(values["n"], (std::vector<Cell>{Null(), Null(), Num(1)}));
  EXPECT_EQ(values["total"], (std::vector<Cell>{Null(), Null(), Num(1)}));
}

TEST(ComputeFeaturesTest, SourceRowsWithNullKeyTimeOrCreatedNeverCount) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000), 0, /*with_created=*/true);
  Table data = MakeTable({Strings("customer_id", {"a", std::nullopt, "a", "a"}),
                          Times("ts", {10, 20, std::nullopt, 30}),
                          Times("created", {10, 20, 25, std::nullopt}),
                          Floats("amount", {1.0, 9.0, 9.0, 9.0})});
  Table spine = MakeTable({Strings("customer_id", {"a"}), Times("t", {40})});
  auto values = Compute(repo, data, spine, false);
  EXPECT_EQ(values["last"], std::vector<Cell>{Num(1)});
  EXPECT_EQ(values["n"], std::vector<Cell>{Num(1)});
  EXPECT_EQ(values["total"], std::vector<Cell>{Num(1)});
}

TEST(ComputeFeaturesTest, ErrorsNameTheColumnOrFeature) {
  Table data = MakeTable({Strings("customer_id", {"a"}), Times("ts", {1}), Floats("amount", {1}),
                          Ints("zero", {0}), Strings("category", {"x"})});
  Table spine = MakeTable({Strings("customer_id", {"a"}), Times("t", {2})});
  FeatureRepo repo = OneViewRepo(LastCountSum(10));
  EXPECT_THAT(ComputeError(repo, data, spine, {"nope"}), HasSubstr("no feature 'nope'"));
  EXPECT_THAT(ComputeError(repo, data, spine, {"n", "n"}), HasSubstr("'n'"));
  Table no_key = MakeTable({Strings("customer", {"a"}), Times("t", {2})});
  EXPECT_THAT(ComputeError(repo, data, no_key), HasSubstr("join key column 'customer_id'"));
  Table int_key = MakeTable({Ints("customer_id", {1}), Times("t", {2})});
  EXPECT_THAT(ComputeError(repo, data, int_key), HasSubstr("'customer_id' is int64 in the spine"));
  Table no_time = MakeTable({Strings("customer_id", {"a"}), Times("when", {2})});
  EXPECT_THAT(ComputeError(repo, data, no_time), HasSubstr("time column 't'"));
  Table float_time = MakeTable({Strings("customer_id", {"a"}), Floats("t", {2})});
  EXPECT_THAT(ComputeError(repo, data, float_time), HasSubstr("'t' must be timestamp or int64"));

  FeatureRepo typo = OneViewRepo({Latest("bad_expr", "amont + 1")});
  EXPECT_THAT(ComputeError(typo, data, spine), HasSubstr("feature 'bad_expr'"));
  FeatureRepo failing = OneViewRepo({Latest("ratio", "10 / zero")});
  EXPECT_THAT(ComputeError(failing, data, spine), HasSubstr("feature 'ratio'"));
  FeatureRepo text_sum = OneViewRepo({Feature("s", Aggregation::kSum, "category", 10)});
  EXPECT_THAT(ComputeError(text_sum, data, spine), HasSubstr("numeric"));
  FeatureRepo no_window = OneViewRepo({Feature("s", Aggregation::kSum, "amount", 0)});
  EXPECT_THAT(ComputeError(no_window, data, spine), HasSubstr("window"));
  FeatureRepo bad_ts = OneViewRepo(LastCountSum(10));
  bad_ts.sources[0].timestamp = "amount";
  EXPECT_THAT(ComputeError(bad_ts, data, spine), HasSubstr("'amount' must be timestamp or int64"));
  FeatureRepo missing_created = OneViewRepo(LastCountSum(10), 0, /*with_created=*/true);
  EXPECT_THAT(ComputeError(missing_created, data, spine), HasSubstr("created column 'created'"));
}

// ---------------------------------------------------------------------------------------------
// The brute-force reference, straight from the rule in feature_compute.h.

struct Row {
  std::optional<int> key;  // an index into the entity keys
  std::optional<int64_t> ts, created;
  std::optional<double> amount;
  std::optional<std::string> category;
  int64_t qty = 0;
};

// Entity keys: as strings, or as int64 (whose text order differs from numeric order).
constexpr int64_t kIntKeys[] = {9, 10, 123, -4, 0, 77, 1000};
constexpr int kNumKeys = 7;

std::string KeyText(int key, bool string_keys) {
  return string_keys ? "c" + std::to_string(key) : std::to_string(kIntKeys[key]);
}

Column KeyColumn(const std::string& name, const std::vector<std::optional<int>>& keys,
                 bool string_keys) {
  Column column(name, string_keys ? ColumnType::kString : ColumnType::kInt64);
  for (const std::optional<int>& key : keys) {
    if (!key.has_value()) {
      column.AppendNull();
    } else if (string_keys) {
      column.AppendString(KeyText(*key, true));
    } else {
      column.AppendInt64(kIntKeys[*key]);
    }
  }
  return column;
}

Table SourceTable(const std::vector<Row>& rows, bool string_keys, bool with_created) {
  std::vector<std::optional<int>> keys;
  std::vector<std::optional<int64_t>> ts, created, qty;
  std::vector<std::optional<double>> amount;
  std::vector<std::optional<std::string>> category;
  for (const Row& row : rows) {
    keys.push_back(row.key);
    ts.push_back(row.ts);
    created.push_back(row.created);
    amount.push_back(row.amount);
    category.push_back(row.category);
    qty.push_back(row.qty);
  }
  std::vector<Column> columns;
  columns.push_back(KeyColumn("customer_id", keys, string_keys));
  columns.push_back(Times("ts", ts));
  if (with_created) columns.push_back(Times("created", created));
  columns.push_back(Floats("amount", amount));
  columns.push_back(Strings("category", category));
  columns.push_back(Ints("qty", qty));
  return MakeTable(std::move(columns));
}

class Reference {
 public:
  Reference(const std::vector<Row>& rows, bool with_created, int64_t ttl)
      : rows_(rows), with_created_(with_created), ttl_(ttl) {}

  bool Counted(const Row& r, int key, int64_t t, bool inclusive) const {
    if (!r.key.has_value() || !r.ts.has_value() || *r.key != key) return false;
    if (with_created_ && !r.created.has_value()) return false;
    const int64_t created = with_created_ ? *r.created : *r.ts;
    return inclusive ? (*r.ts <= t && created <= t) : (*r.ts < t && created < t);
  }

  int64_t CreatedOf(const Row& r) const { return with_created_ ? *r.created : *r.ts; }

  // The counted row with the greatest (ts, created, row), ignoring the ttl; -1 when none.
  int LatestRow(int key, int64_t t, bool inclusive) const {
    int best = -1;
    for (int i = 0; i < static_cast<int>(rows_.size()); ++i) {
      const Row& r = rows_[i];
      if (!Counted(r, key, t, inclusive)) continue;
      if (best < 0 || std::make_tuple(*r.ts, CreatedOf(r), i) >=
                          std::make_tuple(*rows_[best].ts, CreatedOf(rows_[best]), best)) {
        best = i;
      }
    }
    return best;
  }

  static Cell Expr(const std::string& expr, const Row& r) {
    if (expr == "amount") return r.amount.has_value() ? Num(*r.amount) : Null();
    if (expr == "category") return r.category.has_value() ? Str(*r.category) : Null();
    if (expr == "qty") return Num(static_cast<double>(r.qty));
    if (expr == "qty * 2") return Num(static_cast<double>(r.qty * 2));
    ADD_FAILURE() << "reference cannot evaluate " << expr;
    return Null();
  }

  // Feature f of entity `key` (nullopt = null key) as of t (nullopt = null time).
  Cell Value(const FeatureDef& f, std::optional<int> key, std::optional<int64_t> t,
             bool inclusive) const {
    if (!key.has_value() || !t.has_value()) return Null();
    if (f.aggregation == Aggregation::kLatest) {
      int row = LatestRow(*key, *t, inclusive);
      if (row < 0 || (ttl_ > 0 && *t - *rows_[row].ts > ttl_)) return Null();
      return Expr(f.expr, rows_[row]);
    }
    // Counted rows in the window, in (ts, created, row) order; the values summed in that order.
    std::vector<std::tuple<int64_t, int64_t, int>> window;
    for (int i = 0; i < static_cast<int>(rows_.size()); ++i) {
      const Row& r = rows_[i];
      if (Counted(r, *key, *t, inclusive) && *t - f.window_micros < *r.ts) {
        window.emplace_back(*r.ts, CreatedOf(r), i);
      }
    }
    std::sort(window.begin(), window.end());
    std::vector<double> values;
    for (const auto& [ts, created, i] : window) {
      Cell cell = f.expr.empty() ? Num(1) : Expr(f.expr, rows_[i]);
      if (!cell.null) values.push_back(cell.number);
    }
    double sum = 0;
    for (double v : values) sum += v;
    switch (f.aggregation) {
      case Aggregation::kCount:
        return Num(static_cast<double>(values.size()));
      case Aggregation::kSum:
        return Num(sum);
      case Aggregation::kMean:
        return values.empty() ? Null() : Num(sum / static_cast<double>(values.size()));
      case Aggregation::kMin:
        return values.empty() ? Null() : Num(*std::min_element(values.begin(), values.end()));
      case Aggregation::kMax:
        return values.empty() ? Null() : Num(*std::max_element(values.begin(), values.end()));
      case Aggregation::kLatest:
        break;
    }
    return Null();
  }

 private:
  const std::vector<Row>& rows_;
  bool with_created_;
  int64_t ttl_;
};

// Random features over the random source's columns, windows in [1, max_window].
std::vector<FeatureDef> RandomFeatures(std::mt19937_64& rng, int64_t max_window) {
  auto window = [&] { return static_cast<int64_t>(rng() % max_window) + 1; };
  return {Latest("last_amount", "amount"),
          Latest("last_category", "category"),
          Feature("n", Aggregation::kCount, "", window()),
          Feature("n_amount", Aggregation::kCount, "amount", window()),
          Feature("total", Aggregation::kSum, "amount", window()),
          Feature("avg", Aggregation::kMean, "amount", window()),
          Feature("lo", Aggregation::kMin, "amount", window()),
          Feature("hi", Aggregation::kMax, "amount", window()),
          Feature("qty_total", Aggregation::kSum, "qty * 2", window()),
          Feature("n_same", Aggregation::kCount, "", window())};
}

// Rows with times in [0, span): many equal timestamps, some late rows (created after ts), a few
// created before ts, and nulls everywhere.
std::vector<Row> RandomRows(std::mt19937_64& rng, int entities, int count, int64_t span,
                            bool quarter_amounts) {
  std::vector<Row> rows;
  for (int i = 0; i < count; ++i) {
    Row row;
    if (rng() % 30 != 0) row.key = static_cast<int>(rng() % entities);
    if (rng() % 30 != 0) row.ts = static_cast<int64_t>(rng() % span);
    if (row.ts.has_value() && rng() % 30 != 0) {
      switch (rng() % 6) {
        case 0:
        case 1:
          row.created = *row.ts + static_cast<int64_t>(rng() % (span / 2 + 1));
          break;
        case 2:
          row.created = *row.ts - static_cast<int64_t>(rng() % 3);
          break;
        default:
          row.created = *row.ts;
      }
    }
    if (rng() % 8 != 0) {
      // Quarters sum exactly in any order; other values check the summation order.
      row.amount = quarter_amounts
                       ? static_cast<double>(static_cast<int64_t>(rng() % 4001) - 2000) / 4
                       : std::uniform_real_distribution<double>(-100, 100)(rng);
    }
    if (rng() % 5 != 0) row.category = std::string(1, static_cast<char>('p' + rng() % 4));
    row.qty = static_cast<int64_t>(rng() % 100);
    rows.push_back(row);
  }
  return rows;
}

struct SpineRow {
  std::optional<int> key;
  std::optional<int64_t> t;
};

Table SpineTable(const std::vector<SpineRow>& spine, bool string_keys) {
  std::vector<std::optional<int>> keys;
  std::vector<std::optional<int64_t>> times;
  for (const SpineRow& row : spine) {
    keys.push_back(row.key);
    times.push_back(row.t);
  }
  return MakeTable({KeyColumn("customer_id", keys, string_keys), Times("t", times)});
}

// Checks ComputeFeaturesAsOf against the reference on every spine row and feature.
void ExpectMatchesReference(const std::vector<Row>& rows, const std::vector<SpineRow>& spine,
                            const FeatureRepo& repo, bool string_keys, bool with_created,
                            bool inclusive, const std::string& context) {
  Table data = SourceTable(rows, string_keys, with_created);
  Table spine_table = SpineTable(spine, string_keys);
  auto values = Compute(repo, data, spine_table, inclusive);
  Reference reference(rows, with_created, repo.views[0].ttl_micros);
  int failures = 0;
  for (const FeatureDef& f : repo.views[0].features) {
    const std::vector<Cell>& got = values[f.name];
    ASSERT_EQ(got.size(), spine.size()) << context;
    for (size_t s = 0; s < spine.size() && failures < 5; ++s) {
      Cell want = reference.Value(f, spine[s].key, spine[s].t, inclusive);
      if (!(got[s] == want)) {
        ++failures;
        ADD_FAILURE() << context << " feature " << f.name << " (window " << f.window_micros
                      << ") spine row " << s << ": got " << ::testing::PrintToString(got[s])
                      << ", want " << ::testing::PrintToString(want);
      }
    }
  }
}

TEST(ComputeFeaturesTest, MatchesBruteForceOnRandomTables) {
  for (uint64_t seed = 0; seed < 400; ++seed) {
    std::mt19937_64 rng(seed);
    const bool string_keys = seed % 2 == 0;
    const bool with_created = seed % 3 != 0;
    const bool inclusive = (seed / 2) % 2 == 0;
    const int64_t ttl = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 30) + 1;
    const int entities = static_cast<int>(rng() % 4) + 1;
    std::vector<Row> rows =
        RandomRows(rng, entities, static_cast<int>(rng() % 60), 60, /*quarter_amounts=*/false);
    FeatureRepo repo = OneViewRepo(RandomFeatures(rng, 40), ttl, with_created);
    std::vector<SpineRow> spine;
    const int spine_rows = static_cast<int>(rng() % 40) + 1;
    for (int i = 0; i < spine_rows; ++i) {
      SpineRow row;
      // Includes an entity with no source rows (index `entities`), and nulls.
      if (rng() % 20 != 0) row.key = static_cast<int>(rng() % (entities + 1));
      if (rng() % 20 != 0) row.t = static_cast<int64_t>(rng() % 80) - 5;
      spine.push_back(row);
    }
    ExpectMatchesReference(rows, spine, repo, string_keys, with_created, inclusive,
                           "seed " + std::to_string(seed));
    if (HasFailure()) return;
  }
}

// Windows of thousands of rows take the block path; quarter amounts keep sums exact whatever the
// grouping, so the reference still compares exactly.
TEST(ComputeFeaturesTest, MatchesBruteForceOnLargeWindows) {
  for (uint64_t seed = 0; seed < 4; ++seed) {
    std::mt19937_64 rng(seed);
    const bool with_created = seed % 2 == 0;
    std::vector<Row> rows = RandomRows(rng, 2, 12000, 20000, /*quarter_amounts=*/true);
    std::vector<FeatureDef> features = RandomFeatures(rng, 20000);
    features[2].window_micros = 20000;  // everything
    features[4].window_micros = 15000;
    FeatureRepo repo = OneViewRepo(features, 0, with_created);
    std::vector<SpineRow> spine;
    for (int i = 0; i < 150; ++i) {
      spine.push_back({static_cast<int>(rng() % 2), static_cast<int64_t>(rng() % 25000)});
    }
    ExpectMatchesReference(rows, spine, repo, /*string_keys=*/seed < 2, with_created,
                           /*inclusive=*/seed % 3 == 0, "seed " + std::to_string(seed));
    if (HasFailure()) return;
  }
}

// Enough spine rows for the multi-threaded path; a sample of rows is checked.
TEST(ComputeFeaturesTest, LargeSpineMatchesBruteForceOnASample) {
  std::mt19937_64 rng(7);
  std::vector<Row> rows = RandomRows(rng, kNumKeys, 3000, 1000, /*quarter_amounts=*/false);
  FeatureRepo repo = OneViewRepo(RandomFeatures(rng, 200), 300, /*with_created=*/true);
  std::vector<SpineRow> spine;
  for (int i = 0; i < 150000; ++i) {
    spine.push_back({static_cast<int>(rng() % kNumKeys), static_cast<int64_t>(rng() % 1100)});
  }
  Table data = SourceTable(rows, true, true);
  auto values = Compute(repo, data, SpineTable(spine, true), false);
  Reference reference(rows, true, 300);
  for (int k = 0; k < 300; ++k) {
    const size_t s = rng() % spine.size();
    for (const FeatureDef& f : repo.views[0].features) {
      ASSERT_EQ(values[f.name][s], reference.Value(f, spine[s].key, spine[s].t, false))
          << f.name << " spine row " << s;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Training sets.

TEST(BuildTrainingSetTest, SpineColumnsPassThroughThenFeaturesInServiceOrder) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  FeatureViewDef second;
  second.name = "categories";
  second.entity = "customer";
  second.source = "txns";
  second.features = {Latest("last_category", "category")};
  repo.views.push_back(second);
  repo.services[0].name = "mixed";
  repo.services[0].features = {
      {"spend", "total"}, {"categories", "last_category"}, {"spend", "last"}};
  Table data = MakeTable({Strings("customer_id", {"a", "b", "a"}), Times("ts", {1, 2, 3}),
                          Floats("amount", {1.0, 2.0, 4.0}), Strings("category", {"x", "y", "z"})});
  Table spine = MakeTable({Strings("customer_id", {"b", "a", "a"}), Times("timestamp", {10, 2, 10}),
                           Ints("label", {1, 0, 1}), Floats("weight", {0.5, std::nullopt, 2.0})});
  StatusOr<Table> result = BuildTrainingSet(repo, "mixed", spine, {{"txns", &data}}, {});
  ASSERT_TRUE(result.ok()) << result.status();
  std::vector<std::string> names;
  for (const Column& c : result->columns()) names.push_back(c.name());
  EXPECT_EQ(names, (std::vector<std::string>{"customer_id", "timestamp", "label", "weight", "total",
                                             "last_category", "last"}));
  for (size_t c = 0; c < spine.num_columns(); ++c) {
    EXPECT_EQ(result->columns()[c], spine.columns()[c]);
  }
  EXPECT_EQ(Cells(*result->Find("total")), (std::vector<Cell>{Num(2), Num(1), Num(5)}));
  EXPECT_EQ(Cells(*result->Find("last_category")),
            (std::vector<Cell>{Str("y"), Str("x"), Str("z")}));
  EXPECT_EQ(Cells(*result->Find("last")), (std::vector<Cell>{Num(2), Num(1), Num(4)}));

  TrainingSetOptions inclusive;
  inclusive.include_equal_timestamps = true;
  result = BuildTrainingSet(repo, "mixed", spine, {{"txns", &data}}, inclusive);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Cells(*result->Find("last")), (std::vector<Cell>{Num(2), Num(1), Num(4)}));
  EXPECT_EQ(Cells(*result->Find("total")), (std::vector<Cell>{Num(2), Num(1), Num(5)}));
}

TEST(BuildTrainingSetTest, ErrorsNameWhatIsMissing) {
  FeatureRepo repo = OneViewRepo(LastCountSum(1000));
  Table data = MakeTable({Strings("customer_id", {"a"}), Times("ts", {1}), Floats("amount", {1})});
  Table spine = MakeTable({Strings("customer_id", {"a"}), Times("timestamp", {10})});
  auto error = [&](const FeatureRepo& r, const std::string& service, const Table& s,
                   const std::map<std::string, const Table*>& sources,
                   const TrainingSetOptions& options = {}) {
    StatusOr<Table> result = BuildTrainingSet(r, service, s, sources, options);
    if (result.ok()) return std::string("OK");
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(result.status().message());
  };
  EXPECT_EQ(error(repo, "all", spine, {{"txns", &data}}), "OK");
  EXPECT_THAT(error(repo, "nope", spine, {{"txns", &data}}), HasSubstr("'nope'"));
  EXPECT_THAT(error(repo, "all", spine, {}), HasSubstr("source 'txns'"));
  EXPECT_THAT(error(repo, "all", spine, {{"txns", nullptr}}), HasSubstr("source 'txns'"));
  Table no_key = MakeTable({Strings("customer", {"a"}), Times("timestamp", {10})});
  EXPECT_THAT(error(repo, "all", no_key, {{"txns", &data}}), HasSubstr("'customer_id'"));
  TrainingSetOptions other_time;
  other_time.spine_timestamp = "event_time";
  EXPECT_THAT(error(repo, "all", spine, {{"txns", &data}}, other_time), HasSubstr("'event_time'"));
  Table clash =
      MakeTable({Strings("customer_id", {"a"}), Times("timestamp", {10}), Ints("total", {1})});
  EXPECT_THAT(error(repo, "all", clash, {{"txns", &data}}), HasSubstr("'total'"));
  FeatureRepo unknown_feature = repo;
  unknown_feature.services[0].features.push_back({"spend", "ghost"});
  EXPECT_THAT(error(unknown_feature, "all", spine, {{"txns", &data}}), HasSubstr("'ghost'"));
}

// ---------------------------------------------------------------------------------------------
// Materialization.

StatusOr<Table> Materialize(const FeatureRepo& repo, const Table& data, const Table* previous,
                            int64_t from, int64_t until) {
  return MaterializeView(ViewInput{&repo, &repo.views[0], &data}, previous, from, until);
}

TEST(MaterializeViewTest, OneRowPerEntitySortedByKeyText) {
  FeatureRepo repo = OneViewRepo(LastCountSum(100), /*ttl=*/100);
  Table data = MakeTable({Ints("customer_id", {9, 10, 9, 11}), Times("ts", {10, 20, 30, 500}),
                          Floats("amount", {1.0, 2.0, 3.0, 4.0})});
  StatusOr<Table> online = Materialize(repo, data, nullptr, 0, 60);
  ASSERT_TRUE(online.ok()) << online.status();
  std::vector<std::string> names;
  for (const Column& c : online->columns()) names.push_back(c.name());
  EXPECT_EQ(names, (std::vector<std::string>{"entity", "event_time", "last", "n", "total"}));
  // 11's only row is after `until`; "10" sorts before "9".
  EXPECT_EQ(Cells(online->columns()[0]), (std::vector<Cell>{Str("10"), Str("9")}));
  EXPECT_EQ(Cells(online->columns()[1]), (std::vector<Cell>{Num(20), Num(30)}));
  EXPECT_EQ(Cells(online->columns()[2]), (std::vector<Cell>{Num(2), Num(3)}));
  EXPECT_EQ(Cells(online->columns()[3]), (std::vector<Cell>{Num(1), Num(2)}));
  // Later, the ttl has expired 10's value (event_time stays) and its window is empty.
  StatusOr<Table> later = Materialize(repo, data, &*online, 60, 125);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(Cells(later->columns()[0]), (std::vector<Cell>{Str("10"), Str("9")}));
  EXPECT_EQ(Cells(later->columns()[1]), (std::vector<Cell>{Num(20), Num(30)}));
  EXPECT_EQ(Cells(later->columns()[2]), (std::vector<Cell>{Null(), Num(3)}));
  EXPECT_EQ(Cells(later->columns()[3]), (std::vector<Cell>{Num(0), Num(1)}));
  EXPECT_EQ(Cells(later->columns()[4]), (std::vector<Cell>{Num(0), Num(3)}));
}

TEST(MaterializeViewTest, LateRowsUpdateLatestOnlyWhenNewerThanTheStoredValue) {
  FeatureRepo repo = OneViewRepo(LastCountSum(100), 0, /*with_created=*/true);
  // Both later rows arrive late: ts 20 (known at 50) beats the stored ts 10; ts 5 (known at 45)
  // does not, but still counts in the window.
  Table data = MakeTable({Strings("customer_id", {"a", "a", "a"}), Times("ts", {10, 20, 5}),
                          Times("created", {10, 50, 45}), Floats("amount", {1.0, 2.0, 9.0})});
  StatusOr<Table> first = Materialize(repo, data, nullptr, 0, 30);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Cells(*first->Find("event_time")), std::vector<Cell>{Num(10)});
  EXPECT_EQ(Cells(*first->Find("last")), std::vector<Cell>{Num(1)});
  EXPECT_EQ(Cells(*first->Find("n")), std::vector<Cell>{Num(1)});
  StatusOr<Table> second = Materialize(repo, data, &*first, 30, 60);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(Cells(*second->Find("event_time")), std::vector<Cell>{Num(20)});
  EXPECT_EQ(Cells(*second->Find("last")), std::vector<Cell>{Num(2)});
  EXPECT_EQ(Cells(*second->Find("n")), std::vector<Cell>{Num(3)});
  EXPECT_EQ(Cells(*second->Find("total")), std::vector<Cell>{Num(12)});
  StatusOr<Table> full = Materialize(repo, data, nullptr, 0, 60);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_TRUE(*full == *second);
}

TEST(MaterializeViewTest, Errors) {
  FeatureRepo repo = OneViewRepo(LastCountSum(100));
  Table data = MakeTable({Strings("customer_id", {"a"}), Times("ts", {10}), Floats("amount", {1})});
  StatusOr<Table> online = Materialize(repo, data, nullptr, 0, 50);
  ASSERT_TRUE(online.ok()) << online.status();
  StatusOr<Table> backwards = Materialize(repo, data, &*online, 50, 40);
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(backwards.status().message()), HasSubstr("before from"));
  // A first materialization ignores `from`.
  EXPECT_TRUE(Materialize(repo, data, nullptr, 50, 40).ok());

  FeatureRepo other = OneViewRepo({Latest("last", "amount"), Latest("extra", "amount")});
  StatusOr<Table> mismatch = Materialize(other, data, &*online, 50, 60);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()), HasSubstr("view's columns"));
  FeatureRepo retyped = OneViewRepo({Latest("last", "amount"), Latest("n", "amount"),
                                     Feature("total", Aggregation::kSum, "amount", 100)});
  mismatch = Materialize(retyped, data, &*online, 50, 60);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(std::string(mismatch.status().message()), HasSubstr("feature 'n'"));
}

// The online table as the reference says it should be as of `until`.
struct ExpectedOnline {
  std::vector<std::string> entities;
  std::vector<int> keys;
  std::vector<Cell> event_time;
  std::map<std::string, std::vector<Cell>> features;
};

ExpectedOnline ReferenceOnline(const std::vector<Row>& rows, const FeatureRepo& repo,
                               bool string_keys, bool with_created, int64_t until) {
  Reference reference(rows, with_created, repo.views[0].ttl_micros);
  std::vector<std::pair<std::string, int>> entities;
  for (int key = 0; key < kNumKeys; ++key) {
    if (reference.LatestRow(key, until, true) >= 0) {
      entities.emplace_back(KeyText(key, string_keys), key);
    }
  }
  std::sort(entities.begin(), entities.end());
  ExpectedOnline out;
  for (const auto& [text, key] : entities) {
    out.entities.push_back(text);
    out.keys.push_back(key);
    out.event_time.push_back(
        Num(static_cast<double>(*rows[reference.LatestRow(key, until, true)].ts)));
    for (const FeatureDef& f : repo.views[0].features) {
      out.features[f.name].push_back(reference.Value(f, key, until, true));
    }
  }
  return out;
}

TEST(MaterializeViewTest, IncrementalEqualsFullEqualsBruteForceOnRandomTables) {
  for (uint64_t seed = 0; seed < 300; ++seed) {
    std::mt19937_64 rng(seed);
    const bool string_keys = seed % 2 == 0;
    const bool with_created = seed % 3 != 0;
    const int64_t ttl = rng() % 3 == 0 ? 0 : static_cast<int64_t>(rng() % 30) + 1;
    std::vector<Row> rows = RandomRows(rng, kNumKeys, static_cast<int>(rng() % 80), 80,
                                       /*quarter_amounts=*/false);
    FeatureRepo repo = OneViewRepo(RandomFeatures(rng, 40), ttl, with_created);
    Table data = SourceTable(rows, string_keys, with_created);
    const std::string context = "seed " + std::to_string(seed);

    // Materialization times, some equal, ending at `until`.
    std::vector<int64_t> times;
    const int steps = static_cast<int>(rng() % 5) + 1;
    for (int i = 0; i < steps; ++i) times.push_back(static_cast<int64_t>(rng() % 130) - 10);
    std::sort(times.begin(), times.end());
    const int64_t until = times.back();

    StatusOr<Table> full = Materialize(repo, data, nullptr, 0, until);
    ASSERT_TRUE(full.ok()) << context << ": " << full.status();
    StatusOr<Table> chain = Materialize(repo, data, nullptr, -999, times[0]);
    ASSERT_TRUE(chain.ok()) << context << ": " << chain.status();
    for (size_t i = 1; i < times.size(); ++i) {
      Table previous = std::move(chain).value();
      chain = Materialize(repo, data, &previous, times[i - 1], times[i]);
      ASSERT_TRUE(chain.ok()) << context << ": " << chain.status();
    }
    EXPECT_TRUE(*chain == *full) << context << ": incremental differs from full";

    ExpectedOnline want = ReferenceOnline(rows, repo, string_keys, with_created, until);
    ASSERT_EQ(full->num_columns(), 2 + repo.views[0].features.size()) << context;
    std::vector<Cell> entity_cells;
    for (const std::string& e : want.entities) entity_cells.push_back(Str(e));
    EXPECT_EQ(Cells(full->columns()[0]), entity_cells) << context;
    EXPECT_EQ(Cells(full->columns()[1]), want.event_time) << context;
    for (const FeatureDef& f : repo.views[0].features) {
      EXPECT_EQ(Cells(*full->Find(f.name)), want.features[f.name]) << context << " " << f.name;
    }

    // Each row equals a training-set row (entity, until) with include_equal_timestamps.
    std::vector<SpineRow> spine;
    for (int key : want.keys) spine.push_back({key, until});
    auto as_of = Compute(repo, data, SpineTable(spine, string_keys), true);
    for (const FeatureDef& f : repo.views[0].features) {
      EXPECT_EQ(Cells(*full->Find(f.name)), as_of[f.name]) << context << " " << f.name;
    }
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace plinth
