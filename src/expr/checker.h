// The type checker: resolves names and functions, gives every node its static type, inserts the
// int-to-double promotions of mixed numeric expressions, compiles literal regular expressions and
// parses literal timestamps and durations once. Internal to the expr module.
#ifndef PLINTH_EXPR_CHECKER_H_
#define PLINTH_EXPR_CHECKER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "expr/ast.h"
#include "expr/parser.h"

namespace plinth::expr::internal {

struct GlobalVar {
  std::string name;
  Type type;
};

struct CheckOutput {
  // The declared variables the expression refers to; kIdent slots index this.
  std::vector<GlobalVar> globals;
  // How many comprehension variables are live at most at once.
  int max_locals = 0;
};

// Looks up a declared variable's type; nullptr if undeclared.
using DeclarationLookup = std::function<const Type*(const std::string& name)>;

// Checks `*root` (which may be replaced). `declared_names` feeds "did you mean" suggestions.
// Returns false with `*error` set on the first type error.
bool Check(std::unique_ptr<Node>* root, const DeclarationLookup& lookup,
           const std::vector<std::string>& declared_names, CheckOutput* out, Diagnostic* error);

// Edit distance, for suggestions.
int EditDistance(std::string_view a, std::string_view b);

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_CHECKER_H_
