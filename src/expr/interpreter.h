// The row-wise tree-walking interpreter over checked trees. Internal to the expr module; the
// public entry point is Evaluate() in expr.h. The column evaluator uses it for sub-expressions it
// has no vectorised kernel for.
#ifndef PLINTH_EXPR_INTERPRETER_H_
#define PLINTH_EXPR_INTERPRETER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expr/ast.h"
#include "expr/value.h"

namespace plinth::expr::internal {

// An evaluation error at a node (byte offset into the source).
struct EvalError {
  int32_t offset = 0;
  std::string message;
};
using ErrorPtr = std::shared_ptr<const EvalError>;

struct Result {
  Value value;
  ErrorPtr error;  // set on failure
  bool ok() const { return error == nullptr; }
};

inline constexpr std::string_view kCostExceeded = "evaluation cost limit exceeded";

// Values of the global variables by slot; a non-empty `errors[slot]` makes reading that variable
// an error with that text (unbound variable, JSON that does not fit the declared type).
struct Globals {
  std::vector<Value> values;
  std::vector<std::string> errors;
};

class Interpreter {
 public:
  // `max_cost` bounds the work of one evaluation (node visits, comprehension steps, elements and
  // bytes built); past it evaluation stops with kCostExceeded, which && and || do not absorb.
  Interpreter(const Globals* globals, int max_locals, int64_t max_cost);

  Result Eval(const Node& node);

  bool cost_exceeded() const { return cost_exceeded_; }
  // Starts a fresh budget (the column evaluator calls this per row).
  void ResetCost() {
    cost_ = 0;
    cost_exceeded_ = false;
  }

 private:
  Result EvalSelect(const Node& node);
  Result EvalIndex(const Node& node);
  Result EvalHas(const Node& node);
  Result EvalCall(const Node& node);
  Result EvalList(const Node& node);
  Result EvalMap(const Node& node);
  Result EvalBinary(const Node& node);
  Result EvalLogical(const Node& node);
  Result EvalComprehension(const Node& node);

  const Globals* globals_;
  std::vector<Value> locals_;
  int64_t max_cost_;
  int64_t cost_ = 0;
  bool cost_exceeded_ = false;
};

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_INTERPRETER_H_
