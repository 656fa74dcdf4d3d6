// What a compiled Program holds, and helpers shared by Evaluate and EvaluateColumns. Internal to
// the expr module.
#ifndef PLINTH_EXPR_PROGRAM_IMPL_H_
#define PLINTH_EXPR_PROGRAM_IMPL_H_

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "expr/ast.h"
#include "expr/checker.h"
#include "expr/expr.h"
#include "expr/interpreter.h"

namespace plinth::expr::internal {

struct ProgramImpl {
  std::string source;
  std::unique_ptr<Node> root;
  std::vector<GlobalVar> globals;
  int max_locals = 0;
};

// Reads global slot `slot` of `program` from `activation` into `out` (value or error text).
void ResolveGlobal(const ProgramImpl& program, size_t slot, const Activation& activation,
                   Globals* out);

// The Status for an evaluation error: InvalidArgument with the positioned message, or
// ResourceExhausted for the cost budget. `prefix` goes before the position ("row 3: ").
Status EvalErrorStatus(const ProgramImpl& program, const EvalError& error,
                       const std::string& prefix = "");

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_PROGRAM_IMPL_H_
