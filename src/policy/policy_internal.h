// Shared between the policy reader and the evaluator; not part of the module's interface.
#ifndef PLINTH_POLICY_POLICY_INTERNAL_H_
#define PLINTH_POLICY_POLICY_INTERNAL_H_

#include <string>

#include "core/status.h"
#include "expr/expr.h"

namespace plinth::policy::internal {

// The environment declaring every evidence variable (EvidenceVariables()).
const expr::Environment& EvidenceEnvironment();

// Compiles a rule expression against the evidence variables and checks that it is boolean (bool
// or dyn). InvalidArgument with the expression's positioned message.
StatusOr<expr::Program> CompileRule(const std::string& source);
inline Status CheckRuleExpr(const std::string& source) { return CompileRule(source).status(); }

}  // namespace plinth::policy::internal

#endif  // PLINTH_POLICY_POLICY_INTERNAL_H_
