// Column-wise evaluation: specific behaviours, and the main property: on random tables with nulls,
// for random well-typed expressions, EvaluateColumns equals Evaluate on every row (value, null, or
// the same error).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace plinth::expr {
namespace {

Table MakeTable(std::mt19937_64& rng, size_t rows) {
  std::uniform_int_distribution<int> pct(0, 99);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  static const int64_t kInts[] = {
      0,    1,   -1,   2,          3,         7,         -7,
      10,   100, -100, 1000000007, INT64_MAX, INT64_MIN, 4611686018427387904LL,
      86400};
  static const double kDoubles[] = {0.0,
                                    -0.0,
                                    0.5,
                                    -2.5,
                                    1.0,
                                    3.0,
                                    1e300,
                                    -1e300,
                                    1e-9,
                                    2.0,
                                    100.25,
                                    std::numeric_limits<double>::quiet_NaN(),
                                    std::numeric_limits<double>::infinity()};
  static const char* kStrings[] = {"",    "a",     "ab",        "Abc", "b",  "EUR",
                                   "usd", "héllo", "a.b@x.org", "12",  "-3", "true"};
  Column i1("i1", ColumnType::kInt64), i2("i2", ColumnType::kInt64);
  Column d1("d1", ColumnType::kFloat64), d2("d2", ColumnType::kFloat64);
  Column b1("b1", ColumnType::kBool), s1("s1", ColumnType::kString), s2("s2", ColumnType::kString);
  Column t1("t1", ColumnType::kTimestamp), t2("t2", ColumnType::kTimestamp);
  for (size_t r = 0; r < rows; ++r) {
    auto maybe_null = [&](Column& c, auto append) {
      if (pct(rng) < 15) {
        c.AppendNull();
      } else {
        append();
      }
    };
    maybe_null(i1, [&] { i1.AppendInt64(pct(rng) < 70 ? pick(21) - 10 : kInts[pick(15)]); });
    maybe_null(i2, [&] { i2.AppendInt64(pct(rng) < 70 ? pick(7) - 3 : kInts[pick(15)]); });
    maybe_null(d1, [&] { d1.AppendFloat64(kDoubles[pick(13)]); });
    maybe_null(d2, [&] { d2.AppendFloat64((pick(2001) - 1000) / 8.0); });
    maybe_null(b1, [&] { b1.AppendBool(pick(2) == 1); });
    maybe_null(s1, [&] { s1.AppendString(kStrings[pick(12)]); });
    maybe_null(s2, [&] { s2.AppendString(kStrings[pick(6)]); });
    maybe_null(t1, [&] { t1.AppendInt64(1700000000000000LL + pick(1000) * 3600000000LL); });
    maybe_null(t2, [&] { t2.AppendInt64(1700000000000000LL + pick(1000) * 3600000000LL); });
  }
  Table table;
  for (Column* c : {&i1, &i2, &d1, &d2, &b1, &s1, &s2, &t1, &t2}) {
    EXPECT_TRUE(table.AddColumn(std::move(*c)).ok());
  }
  return table;
}

// Generates well-typed expressions of a requested type over the columns of MakeTable.
class ExprGen {
 public:
  explicit ExprGen(std::mt19937_64* rng) : rng_(rng) {}

  std::string Int(int depth) {
    if (depth <= 0) return Pick({"i1", "i2", "3", "-2", "0", "9223372036854775807"});
    switch (R(14)) {
      case 0:
        return "(" + Int(depth - 1) + " " + Pick({"+", "-", "*", "/", "%"}) + " " + Int(depth - 1) +
               ")";
      case 1:
        return "-" + Int(depth - 1);
      case 2:
        return "abs(" + Int(depth - 1) + ")";
      case 3:
        return "int(" + Double(depth - 1) + ")";
      case 4:
        return Pick({"min", "max"}) + "(" + Int(depth - 1) + ", " + Int(depth - 1) + ")";
      case 5:
        return "clip(" + Int(depth - 1) + ", " + Int(depth - 1) + ", " + Int(depth - 1) + ")";
      case 6:
        return "size(" + Str(depth - 1) + ")";
      case 7:
        return "(" + Bool(depth - 1) + " ? " + Int(depth - 1) + " : " + Int(depth - 1) + ")";
      case 8:
        return Time(depth - 1) + "." +
               Pick({"getHours()", "getDayOfWeek()", "getMonth()", "getFullYear('+05:30')"});
      case 9:
        return "(" + Time(depth - 1) + " - " + Time(depth - 1) + ").getMinutes()";
      case 10:
        return "int(" + Str(depth - 1) + ")";
      case 11:
        return "[1, 2, " + Int(depth - 1) + "].map(x, x * 2)[" + Pick({"0", "2"}) + "]";
      case 12:
        return "(" + Int(depth - 1) + " == null ? 0 : " + Int(depth - 1) + ")";
      default:
        return Int(0);
    }
  }

  std::string Double(int depth) {
    if (depth <= 0) return Pick({"d1", "d2", "0.5", "2.0", "-1.25", "i1"});
    switch (R(11)) {
      case 0:
        return "(" + Double(depth - 1) + " " + Pick({"+", "-", "*", "/"}) + " " +
               Pick({Double(depth - 1), Int(depth - 1)}) + ")";
      case 1:
        return Pick({"log", "exp", "sqrt", "abs"}) + "(" + Double(depth - 1) + ")";
      case 2:
        return "double(" + Int(depth - 1) + ")";
      case 3:
        return Pick({"min", "max"}) + "(" + Double(depth - 1) + ", " +
               Pick({Double(depth - 1), Int(depth - 1)}) + ")";
      case 4:
        return "clip(" + Double(depth - 1) + ", -1.5, " + Pick({"2.5", "2", "d2"}) + ")";
      case 5:
        return "(" + Bool(depth - 1) + " ? " + Double(depth - 1) + " : " + Int(depth - 1) + ")";
      case 6:
        return "-" + Double(depth - 1);
      case 7:
        return "double(" + Str(depth - 1) + ")";
      case 8:
        return "(" + Int(depth - 1) + " + 0.5)";
      default:
        return Double(0);
    }
  }

  std::string Bool(int depth) {
    if (depth <= 0) return Pick({"b1", "true", "false", "null"});
    switch (R(17)) {
      case 0:
        return "(" + Int(depth - 1) + " " + Rel() + " " +
               Pick({Int(depth - 1), Double(depth - 1)}) + ")";
      case 1:
        return "(" + Double(depth - 1) + " " + Rel() + " " + Double(depth - 1) + ")";
      case 2:
        return "(" + Str(depth - 1) + " " + Rel() + " " + Str(depth - 1) + ")";
      case 3:
        return "(" + Bool(depth - 1) + " " + Pick({"&&", "||"}) + " " + Bool(depth - 1) + ")";
      case 4:
        return "!" + Bool(depth - 1);
      case 5:
        return "(" + Pick({Int(depth - 1), Str(depth - 1), Double(depth - 1), Time(depth - 1)}) +
               " " + Pick({"==", "!="}) + " null)";
      case 6:
        return Str(depth - 1) + "." + Pick({"startsWith", "endsWith", "contains"}) + "(" +
               Pick({"'a'", "'b'", "s2"}) + ")";
      case 7:
        return Str(depth - 1) + ".matches(" + Pick({"'^[a-c]+$'", "'\\\\d'", "s2"}) + ")";
      case 8:
        return "(" + Int(depth - 1) + " in [1, 2, 3, null])";
      case 9:
        return "(" + Str(depth - 1) + " in ['a', 'EUR', ''])";
      case 10:
        return "(" + Time(depth - 1) + " " + Rel() + " " + Time(depth - 1) + ")";
      case 11:
        return "(" + Bool(depth - 1) + " ? " + Bool(depth - 1) + " : " + Bool(depth - 1) + ")";
      case 12:
        return "[" + Int(depth - 1) + ", i2].exists(x, x > " + Int(depth - 1) + ")";
      case 13:
        return "(" + Time(depth - 1) + " - " + Time(depth - 1) + " > duration('" +
               Pick({"1h", "-3h", "100h"}) + "'))";
      case 14:
        return "bool(" + Str(depth - 1) + ")";
      case 15:
        return "({'a': 1, 'b': 2}[" + Str(depth - 1) + "] == 1)";
      default:
        return Bool(0);
    }
  }

  std::string Str(int depth) {
    if (depth <= 0) return Pick({"s1", "s2", "'a'", "'EUR'"});
    switch (R(7)) {
      case 0:
        return Str(depth - 1) + "." + Pick({"lower()", "upper()"});
      case 1:
        return "(" + Str(depth - 1) + " + " + Str(depth - 1) + ")";
      case 2:
        return "string(" + Pick({Int(depth - 1), Double(depth - 1), Bool(depth - 1)}) + ")";
      case 3:
        return "(" + Bool(depth - 1) + " ? " + Str(depth - 1) + " : " + Str(depth - 1) + ")";
      case 4:
        return "string(" + Time(depth - 1) + ")";
      default:
        return Str(0);
    }
  }

  std::string Time(int depth) {
    if (depth <= 0) return Pick({"t1", "t2", "timestamp('2023-11-14T22:13:20Z')"});
    switch (R(4)) {
      case 0:
        return "(" + Time(depth - 1) + " + duration('" + Pick({"1h", "-90m", "36h"}) + "'))";
      case 1:
        return "(" + Time(depth - 1) + " - duration('1d'))";
      case 2:
        return "(" + Bool(depth - 1) + " ? " + Time(depth - 1) + " : " + Time(depth - 1) + ")";
      default:
        return Time(0);
    }
  }

 private:
  int R(int n) { return static_cast<int>((*rng_)() % static_cast<uint64_t>(n)); }
  std::string Pick(std::vector<std::string> options) { return options[R(options.size())]; }
  std::string Rel() { return Pick({"<", "<=", ">", ">=", "==", "!="}); }
  std::mt19937_64* rng_;
};

// Equality for comparing results: doubles by bit pattern (so NaN equals NaN, 0.0 differs from
// -0.0), everything else as ValuesEqual.
bool SameResult(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  if (a.kind() == Value::Kind::kDouble) {
    double x = a.double_value(), y = b.double_value();
    return (std::isnan(x) && std::isnan(y)) || (x == y && std::signbit(x) == std::signbit(y));
  }
  return ValuesEqual(a, b);
}

void CheckRowWiseEqualsColumnWise(const Program& program, const Table& table,
                                  const std::string& source) {
  ColumnOptions lenient;
  lenient.errors_as_null = true;
  auto column = EvaluateColumns(program, table, lenient);
  ASSERT_TRUE(column.ok()) << source << ": " << column.status();
  ASSERT_EQ(column->size(), table.num_rows());
  std::optional<size_t> first_error_row;
  std::string first_error;
  for (size_t r = 0; r < table.num_rows(); ++r) {
    auto row = Evaluate(program, RowActivation(table, r));
    Value cell = CellValue(*column, r);
    if (!row.ok()) {
      ASSERT_EQ(row.status().code(), absl::StatusCode::kInvalidArgument) << row.status();
      EXPECT_TRUE(cell.is_null()) << source << " row " << r << ": row-wise error " << row.status()
                                  << ", column-wise " << cell.DebugString();
      if (!first_error_row) {
        first_error_row = r;
        first_error = std::string(row.status().message());
      }
      continue;
    }
    EXPECT_TRUE(SameResult(*row, cell))
        << source << " row " << r << ": row-wise " << row->DebugString() << ", column-wise "
        << cell.DebugString();
  }
  auto strict = EvaluateColumns(program, table);
  if (first_error_row) {
    ASSERT_FALSE(strict.ok()) << source;
    EXPECT_EQ(std::string(strict.status().message()),
              "row " + std::to_string(*first_error_row) + ": " + first_error);
  } else {
    EXPECT_TRUE(strict.ok()) << source << ": " << strict.status();
  }
}

TEST(ColumnEvalTest, RandomExpressionsMatchRowWise) {
  std::mt19937_64 rng(20240131);
  Table table = MakeTable(rng, 120);
  Environment env = EnvironmentForTable(table);
  ExprGen gen(&rng);
  int compiled = 0;
  for (int i = 0; i < 1500; ++i) {
    const int depth = 1 + i % 4;
    std::string source;
    switch (i % 5) {
      case 0:
        source = gen.Int(depth);
        break;
      case 1:
        source = gen.Double(depth);
        break;
      case 2:
      case 3:
        source = gen.Bool(depth);
        break;
      default:
        source = i % 10 == 4 ? gen.Str(depth) : gen.Time(depth);
    }
    auto program = Compile(source, env);
    ASSERT_TRUE(program.ok()) << source << ": " << program.status();
    if (program->result_type().is_dyn() || program->result_type().is_null()) continue;
    ++compiled;
    CheckRowWiseEqualsColumnWise(*program, table, source);
    if (HasFatalFailure() || HasFailure()) return;
  }
  EXPECT_GT(compiled, 1000);
}

TEST(ColumnEvalTest, ManyTablesSmallExpressions) {
  std::mt19937_64 rng(7);
  for (int t = 0; t < 20; ++t) {
    Table table = MakeTable(rng, 1 + t * 13);
    Environment env = EnvironmentForTable(table);
    ExprGen gen(&rng);
    for (int i = 0; i < 60; ++i) {
      std::string source = i % 2 ? gen.Bool(2) : gen.Double(2);
      auto program = Compile(source, env);
      ASSERT_TRUE(program.ok()) << source << ": " << program.status();
      if (program->result_type().is_dyn() || program->result_type().is_null()) continue;
      CheckRowWiseEqualsColumnWise(*program, table, source);
      if (HasFailure()) return;
    }
  }
}

Table SmallTable() {
  Table table;
  Column amount("Amount", ColumnType::kInt64), price("Price", ColumnType::kFloat64);
  Column currency("Currency", ColumnType::kString);
  amount.AppendInt64(10);
  amount.AppendInt64(50);
  amount.AppendNull();
  amount.AppendInt64(7);
  price.AppendFloat64(6);
  price.AppendFloat64(20);
  price.AppendFloat64(1);
  price.AppendFloat64(0);
  currency.AppendString("EUR");
  currency.AppendString("USD");
  currency.AppendString("GBP");
  currency.AppendNull();
  EXPECT_TRUE(table.AddColumn(std::move(amount)).ok());
  EXPECT_TRUE(table.AddColumn(std::move(price)).ok());
  EXPECT_TRUE(table.AddColumn(std::move(currency)).ok());
  return table;
}

std::vector<std::string> Render(const Column& c) {
  std::vector<std::string> out;
  for (size_t r = 0; r < c.size(); ++r) out.push_back(CellValue(c, r).DebugString());
  return out;
}

TEST(ColumnEvalTest, ValidationRuleGivesBoolColumnWithNulls) {
  Table table = SmallTable();
  auto program =
      Compile("Amount <= Price * 2 && Currency in ['EUR', 'USD']", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok()) << program.status();
  ColumnOptions options;
  options.name = "valid";
  auto column = EvaluateColumns(*program, table, options);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(column->name(), "valid");
  EXPECT_EQ(column->type(), ColumnType::kBool);
  // Row 2: null Amount, GBP not allowed -> false absorbs the null. Row 3: 7 > 0 -> false.
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"true", "false", "false", "false"}));
}

TEST(ColumnEvalTest, TransformationGivesNumericColumn) {
  Table table = SmallTable();
  auto program = Compile("log(double(Amount) + 1.0)", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok()) << program.status();
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(column->type(), ColumnType::kFloat64);
  EXPECT_TRUE(column->IsNull(2));
  EXPECT_DOUBLE_EQ(column->float64s()[0], std::log(11.0));
}

TEST(ColumnEvalTest, StringTransformationGivesStringColumn) {
  Table table = SmallTable();
  auto program = Compile("Currency.lower() + '!'", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(Render(*column),
            (std::vector<std::string>{"\"eur!\"", "\"usd!\"", "\"gbp!\"", "null"}));
}

TEST(ColumnEvalTest, FirstErrorRowFailsUnlessErrorsAsNull) {
  Table table = SmallTable();
  auto program = Compile("Amount / int(Price)", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto strict = EvaluateColumns(*program, table);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(strict.status().message()),
            "row 3: 1:8: division by zero\n    Amount / int(Price)\n           ^");
  ColumnOptions lenient;
  lenient.errors_as_null = true;
  auto column = EvaluateColumns(*program, table, lenient);
  ASSERT_TRUE(column.ok());
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"1", "2", "null", "null"}));
}

TEST(ColumnEvalTest, ConstantsComeFromTheActivation) {
  Table table = SmallTable();
  Environment env = EnvironmentForTable(table);
  ASSERT_TRUE(env.Declare("limit", "int").ok());
  ASSERT_TRUE(env.Declare("allowed", "list(string)").ok());
  auto program = Compile("Amount > limit || Currency in allowed", env);
  ASSERT_TRUE(program.ok()) << program.status();
  Activation constants;
  constants.Bind("limit", Value::Int(20));
  constants.BindJson("allowed", Json::array({"GBP"}));
  ColumnOptions options;
  options.constants = &constants;
  auto column = EvaluateColumns(*program, table, options);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"false", "true", "true", "false"}));
}

TEST(ColumnEvalTest, UnboundVariableIsAnErrorPerRow) {
  Table table = SmallTable();
  Environment env = EnvironmentForTable(table);
  ASSERT_TRUE(env.Declare("limit", "int").ok());
  auto program = Compile("Amount > limit", env);
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_FALSE(column.ok());
  EXPECT_NE(std::string(column.status().message())
                .find("row 0: 1:10: no value bound for variable 'limit'"),
            std::string::npos)
      << column.status();
}

TEST(ColumnEvalTest, RefusesNonColumnResultTypes) {
  Table table = SmallTable();
  Environment env = EnvironmentForTable(table);
  for (const char* source : {"[Amount]", "dyn(Amount)", "duration('1h')", "null"}) {
    auto program = Compile(source, env);
    ASSERT_TRUE(program.ok()) << source;
    auto column = EvaluateColumns(*program, table);
    ASSERT_FALSE(column.ok()) << source;
    EXPECT_EQ(column.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ColumnEvalTest, RefusesColumnOfTheWrongType) {
  Table table = SmallTable();
  Environment env;
  ASSERT_TRUE(env.Declare("Currency", "int").ok());
  auto program = Compile("Currency + 1", env);
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_FALSE(column.ok());
  EXPECT_EQ(std::string(column.status().message()),
            "column 'Currency' has type string but the expression declares it int");
}

TEST(ColumnEvalTest, IntColumnDeclaredDoubleIsPromoted) {
  Table table = SmallTable();
  Environment env;
  ASSERT_TRUE(env.Declare("Amount", "double").ok());
  auto program = Compile("Amount / 4", env);
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"2.5", "12.5", "null", "1.75"}));
}

TEST(ColumnEvalTest, DynColumnsFallBackRowWise) {
  Table table = SmallTable();
  Environment env;
  ASSERT_TRUE(env.Declare("Amount", "dyn").ok());
  auto program = Compile("int(Amount) * 2", env);
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"20", "100", "null", "14"}));
}

TEST(ColumnEvalTest, AnyNonZeroValidityByteMeansValid) {
  auto x = Column::FromInt64s("x", ColumnType::kInt64, {1, 2, 3}, {1, 0, 7});
  ASSERT_TRUE(x.ok()) << x.status();
  Table table;
  ASSERT_TRUE(table.AddColumn(*std::move(x)).ok());
  auto program = Compile("x + 1", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"2", "null", "4"}));
}

TEST(ColumnEvalTest, EmptyTable) {
  Table table;
  ASSERT_TRUE(table.AddColumn(Column("x", ColumnType::kInt64)).ok());
  auto program = Compile("x + 1 / 0", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(column->size(), 0u);
}

TEST(ColumnEvalTest, ConstantExpressionIsBroadcast) {
  Table table = SmallTable();
  auto program = Compile("[1, 2, 3].map(x, x * 2)[2] + 1", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok());
  EXPECT_EQ(Render(*column), (std::vector<std::string>{"7", "7", "7", "7"}));
}

TEST(ColumnEvalTest, CostLimitPerRowIsResourceExhausted) {
  Table table = SmallTable();
  auto program = Compile(
      "[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10]"
      ".map(c, a * b * c + Amount))).size() > 0",
      EnvironmentForTable(table));
  ASSERT_TRUE(program.ok()) << program.status();
  ColumnOptions options;
  options.max_cost_per_row = 2000;
  auto column = EvaluateColumns(*program, table, options);
  ASSERT_FALSE(column.ok());
  EXPECT_EQ(column.status().code(), absl::StatusCode::kResourceExhausted);
  options.max_cost_per_row = 1000000;
  EXPECT_TRUE(EvaluateColumns(*program, table, options).ok());
}

TEST(ColumnEvalTest, LargeTableUsesVectorKernels) {
  // One million rows through the arithmetic/comparison core: a smoke test of the tight loops
  // (a row-wise run of the same would take far longer than this test's budget on a debug build).
  Table table;
  Column x("x", ColumnType::kInt64), y("y", ColumnType::kFloat64);
  const size_t n = 1000000;
  x.Reserve(n);
  y.Reserve(n);
  for (size_t i = 0; i < n; ++i) {
    x.AppendInt64(static_cast<int64_t>(i % 1000));
    if (i % 10 == 0) {
      y.AppendNull();
    } else {
      y.AppendFloat64(static_cast<double>(i % 77) / 7.0);
    }
  }
  ASSERT_TRUE(table.AddColumn(std::move(x)).ok());
  ASSERT_TRUE(table.AddColumn(std::move(y)).ok());
  auto program =
      Compile("(x * 2 + 1 > 500 && y < 5.0) || abs(y - 3.0) < 0.5", EnvironmentForTable(table));
  ASSERT_TRUE(program.ok());
  auto column = EvaluateColumns(*program, table);
  ASSERT_TRUE(column.ok());
  ASSERT_EQ(column->size(), n);
  for (size_t i : {size_t{0}, size_t{11}, size_t{300}, size_t{999999}}) {
    auto row = Evaluate(*program, RowActivation(table, i));
    ASSERT_TRUE(row.ok());
    EXPECT_TRUE(SameResult(*row, CellValue(*column, i))) << i;
  }
}

}  // namespace
}  // namespace plinth::expr
