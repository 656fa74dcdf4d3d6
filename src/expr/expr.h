// Plinth's expression language: a documented subset of CEL (docs/expr.md) used by data validation
// rules (`Amount <= Price * 2`), feature transformations (evaluated column-wise over a Table) and
// governance policies (evaluated row-wise over JSON evidence).
//
// Use:
//   Environment env;
//   RETURN_IF_ERROR(env.Declare("metrics", "map(string, double)"));
//   ASSIGN_OR_RETURN(Program program, Compile("metrics.auc >= 0.75", env));
//   ASSIGN_OR_RETURN(Activation input, Activation::FromJson(evidence));
//   ASSIGN_OR_RETURN(Value verdict, Evaluate(program, input));
//
// Compile parses and type-checks against the declared variables; its errors (InvalidArgument)
// read "L:C: message" followed by the source line and a caret under the column. Evaluation errors
// (division by zero, integer overflow, missing map key, ...) have the same form; a run that
// exceeds its cost budget is ResourceExhausted. A Program is immutable and may be evaluated from
// many threads at once.
#ifndef PLINTH_EXPR_EXPR_H_
#define PLINTH_EXPR_EXPR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "expr/types.h"
#include "expr/value.h"
#include "table/table.h"

namespace plinth::expr {

namespace internal {
struct ProgramImpl;
}

// Limits that keep hostile input from exhausting time, memory or the stack. Exceeding one is a
// compile error, never a crash.
struct CompileOptions {
  size_t max_source_bytes = 32 * 1024;
  // Nesting of the syntax tree (parentheses, operators, calls, member chains).
  int max_depth = 128;
  // Number of syntax tree nodes.
  int max_nodes = 10000;
};

// The variables an expression may refer to, with their types.
class Environment {
 public:
  // InvalidArgument if `name` is not an identifier ([A-Za-z_][A-Za-z0-9_]*, not a reserved word)
  // or is declared already.
  Status Declare(const std::string& name, Type type);
  // As above with the type written out ("int", "list(string)", "map(string, dyn)").
  Status Declare(const std::string& name, std::string_view type);

  // nullptr if undeclared.
  const Type* Find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Type, std::less<>> variables_;
};

// An environment declaring each column of `table` whose name is an identifier: int64 as int,
// float64 as double, bool, string, timestamp. Other columns cannot be referred to.
Environment EnvironmentForTable(const Table& table);

// A compiled, type-checked expression. Cheap to copy (shared and immutable).
class Program {
 public:
  // The static type of the result. A value of a non-dyn type is always of that kind or null.
  const Type& result_type() const;
  const std::string& source() const;
  // The declared variables the expression refers to, in order of first reference.
  std::vector<std::string> variables() const;

  const internal::ProgramImpl& impl() const { return *impl_; }

 private:
  friend StatusOr<Program> Compile(std::string_view, const Environment&, const CompileOptions&);
  explicit Program(std::shared_ptr<const internal::ProgramImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const internal::ProgramImpl> impl_;
};

// Parses and type-checks `source`. InvalidArgument with a positioned message on any syntax or
// type error, an undeclared name (with a "did you mean" suggestion), an invalid literal regular
// expression, timestamp or duration, or a limit of `options` exceeded.
StatusOr<Program> Compile(std::string_view source, const Environment& env,
                          const CompileOptions& options = CompileOptions());

// Values for the variables of one evaluation. A variable may be bound to a Value or to JSON;
// JSON is converted to the variable's declared type when the expression reads it (so a JSON
// string becomes a timestamp where a timestamp is declared).
class Activation {
 public:
  Activation() = default;
  // Binds every member of the JSON object `object`. InvalidArgument if it is not an object.
  static StatusOr<Activation> FromJson(const Json& object);

  // Binding a name again replaces the earlier binding.
  void Bind(const std::string& name, Value value);
  void BindJson(const std::string& name, Json value);

  // The binding of `name`, or nullptr (at most one of the two is non-null).
  const Value* FindValue(std::string_view name) const;
  const Json* FindJson(std::string_view name) const;

 private:
  std::map<std::string, std::variant<Value, Json>, std::less<>> bindings_;
};

struct EvalOptions {
  // Budget of one evaluation: every node visited, comprehension step, list element built, element
  // compared and 16 bytes of string built or scanned count one. ResourceExhausted past it.
  int64_t max_cost = 1000000;
};

// Evaluates `program` once. A variable the expression reads that is unbound, or whose binding
// does not fit its declared type, is an evaluation error at the reference (which && and || may
// absorb, as any error). InvalidArgument for evaluation errors, ResourceExhausted for the budget.
StatusOr<Value> Evaluate(const Program& program, const Activation& activation,
                         const EvalOptions& options = EvalOptions());

// The value of one cell: null cells as null, int64/float64/bool/string as themselves, timestamps
// as timestamps.
Value CellValue(const Column& column, size_t row);

// An activation binding each column of row `row` of `table` by name (null cells as null,
// timestamps as timestamps). This is what column-wise evaluation is equivalent to, row by row.
Activation RowActivation(const Table& table, size_t row);

struct ColumnOptions {
  // Name of the result column.
  std::string name = "result";
  // Values of variables that are not columns of the table (parameters such as thresholds or
  // lists of allowed codes), the same for every row. May be null.
  const Activation* constants = nullptr;
  // false: the first row (lowest index) whose evaluation fails fails the whole call with
  // "row N: " before the positioned message. true: such rows become null cells.
  bool errors_as_null = false;
  // Budget per row for sub-expressions evaluated row by row, as EvalOptions::max_cost.
  int64_t max_cost_per_row = 1000000;
};

// Evaluates `program` over every row of `table` at once. The expression's variables are column
// names (columns are looked up by name; a variable that is no column is read from
// options.constants). The result column has the program's result type: bool for predicates, int64,
// float64, string or timestamp for transformations; other result types are refused
// (InvalidArgument). Nulls propagate as in row-wise evaluation. The arithmetic, comparison,
// logical, math and conversion core runs in tight loops over the typed column vectors; string
// functions run once per dictionary entry; anything else (member access, lists, maps, macros)
// falls back to row-wise evaluation of that sub-expression. Cell for cell the result equals
// Evaluate(program, RowActivation(table, row)).
StatusOr<Column> EvaluateColumns(const Program& program, const Table& table,
                                 const ColumnOptions& options = ColumnOptions());

}  // namespace plinth::expr

#endif  // PLINTH_EXPR_EXPR_H_
