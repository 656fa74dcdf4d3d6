// libFuzzer target: the expression language (src/expr). Each input is an expression, compiled
// against a fixed environment and evaluated on a fixed activation, then column-wise over a small
// fixed table. Invariants: nothing crashes, hangs or leaks; a value always fits the program's
// static result type and converts to JSON; column-wise evaluation gives, row for row, the same
// value or the same error as row-wise evaluation.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "expr/expr.h"

namespace {

using plinth::Column;
using plinth::ColumnType;
using plinth::Json;
using plinth::Table;
using namespace plinth::expr;

struct Fixture {
  Environment env;
  Activation constants;
  Table table;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture;
    const std::pair<const char*, const char*> decls[] = {{"i", "int"},
                                                         {"d", "double"},
                                                         {"s", "string"},
                                                         {"b", "bool"},
                                                         {"t", "timestamp"},
                                                         {"dur", "duration"},
                                                         {"l", "list(int)"},
                                                         {"ls", "list(string)"},
                                                         {"m", "map(string, dyn)"},
                                                         {"mi", "map(int, double)"},
                                                         {"x", "dyn"},
                                                         {"n", "int"}};
    for (const auto& [name, type] : decls) {
      if (!f->env.Declare(name, std::string_view(type)).ok()) std::abort();
    }
    Json constants = Json::parse(R"({
      "dur": "90m", "l": [1, 2, 3, -4, 9223372036854775807], "ls": ["a", "B", "", "é"],
      "m": {"a": 1, "b": [1.5, "x", null], "c": {"d": true}, "e": null},
      "mi": {"1": 0.5, "-2": 2.5}, "x": {"k": [1, {"z": "q"}]}, "n": null})");
    for (auto it = constants.begin(); it != constants.end(); ++it) {
      f->constants.BindJson(it.key(), it.value());
    }
    Column i("i", ColumnType::kInt64), d("d", ColumnType::kFloat64), s("s", ColumnType::kString);
    Column b("b", ColumnType::kBool), t("t", ColumnType::kTimestamp);
    i.AppendInt64(3);
    i.AppendInt64(0);
    i.AppendInt64(INT64_MIN);
    i.AppendNull();
    d.AppendFloat64(0.5);
    d.AppendFloat64(-0.0);
    d.AppendNull();
    d.AppendFloat64(NAN);
    s.AppendString("abc");
    s.AppendNull();
    s.AppendString("");
    s.AppendString("Ünïcode");
    b.AppendBool(true);
    b.AppendBool(false);
    b.AppendNull();
    b.AppendBool(true);
    t.AppendInt64(1706659200000000);
    t.AppendInt64(0);
    t.AppendNull();
    t.AppendInt64(-62135596800000000);
    for (Column* c : {&i, &d, &s, &b, &t}) {
      if (!f->table.AddColumn(std::move(*c)).ok()) std::abort();
    }
    return f;
  }();
  return *fixture;
}

bool SameValue(const Value& a, const Value& b) {
  if (a.kind() == Value::Kind::kDouble && b.kind() == Value::Kind::kDouble) {
    double x = a.double_value(), y = b.double_value();
    return (std::isnan(x) && std::isnan(y)) || (x == y && std::signbit(x) == std::signbit(y));
  }
  return a.kind() == b.kind() && ValuesEqual(a, b);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& f = GetFixture();
  std::string_view source(reinterpret_cast<const char*>(data), size);
  auto program = Compile(source, f.env);
  if (!program.ok()) return 0;
  EvalOptions eval_options;
  eval_options.max_cost = 20000;

  // Row-wise on the constants alone (the column variables unbound).
  auto value = Evaluate(*program, f.constants, eval_options);
  if (value.ok()) {
    if (!ValueConforms(*value, program->result_type())) std::abort();
    (void)ValueToJson(*value).dump();
  }

  // Column-wise against row-wise, row by row.
  const TypeKind k = program->result_type().kind();
  if (k != TypeKind::kBool && k != TypeKind::kInt && k != TypeKind::kDouble &&
      k != TypeKind::kString && k != TypeKind::kTimestamp) {
    return 0;
  }
  ColumnOptions options;
  options.constants = &f.constants;
  options.errors_as_null = true;
  options.max_cost_per_row = eval_options.max_cost;
  auto column = EvaluateColumns(*program, f.table, options);
  if (!column.ok()) {
    if (column.status().code() == absl::StatusCode::kResourceExhausted) return 0;
    std::abort();
  }
  std::string first_error;
  for (size_t r = 0; r < f.table.num_rows(); ++r) {
    Activation a = f.constants;
    for (const Column& c : f.table.columns()) a.Bind(c.name(), CellValue(c, r));
    auto row = Evaluate(*program, a, eval_options);
    if (!row.ok() && row.status().code() == absl::StatusCode::kResourceExhausted) return 0;
    Value cell = CellValue(*column, r);
    if (!row.ok()) {
      if (!cell.is_null()) std::abort();
      if (first_error.empty()) {
        first_error = "row " + std::to_string(r) + ": " + std::string(row.status().message());
      }
      continue;
    }
    if (!ValueConforms(*row, program->result_type())) std::abort();
    if (!SameValue(*row, cell)) std::abort();
  }
  options.errors_as_null = false;
  auto strict = EvaluateColumns(*program, f.table, options);
  if (strict.ok() != first_error.empty()) std::abort();
  if (!strict.ok() && std::string(strict.status().message()) != first_error) std::abort();
  return 0;
}
