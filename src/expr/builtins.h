// The built-in functions and operators on runtime values, shared by the row-wise interpreter and
// the column evaluator's per-row paths. Internal to the expr module.
//
// Every function here receives non-null arguments: null propagation (a null argument gives a null
// result) is done by the callers, before the call.
#ifndef PLINTH_EXPR_BUILTINS_H_
#define PLINTH_EXPR_BUILTINS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.h"
#include "expr/value.h"

namespace re2 {
class RE2;
}

namespace plinth::expr::internal {

struct BuiltinInfo {
  std::string_view name;
  Builtin id;
  bool global;   // may be called as name(args)
  bool member;   // may be called as receiver.name(args)
  int min_args;  // counting the receiver of a member call
  int max_args;  // -1: unbounded
};

// nullptr if `name` is not a built-in function.
const BuiltinInfo* FindBuiltin(std::string_view name);
// All built-in function names, for "did you mean" suggestions.
std::vector<std::string_view> BuiltinNames();

// Operator symbols for messages: "+", "<=", "in", "!", "-".
std::string_view OpSymbol(Op op);

// Outcome of one operation: the value, or an error message.
struct OpResult {
  bool ok = true;
  Value value;
  std::string error;
};

// Unary - and ! on a non-null value.
OpResult ApplyUnary(Op op, const Value& operand);
// Arithmetic and relations (+ - * / % < <= > >=) on non-null values. ==, != and in are handled
// by ValuesEqual / ApplyIn. `cost` accrues work proportional to the size of built strings and
// lists.
OpResult ApplyBinary(Op op, const Value& left, const Value& right, int64_t* cost);
// `element in collection`; collection non-null. element may be null (compared with ==).
OpResult ApplyIn(const Value& element, const Value& collection, int64_t* cost);

// Calls the built-in resolved on `call` (a kCall node) with non-null arguments (the receiver
// first for member calls).
OpResult ApplyBuiltin(const Node& call, const std::vector<Value>& args, int64_t* cost);

// Compiles a pattern for matches(): RE2 syntax, errors not logged, memory bounded. On failure
// returns nullptr and sets `*error` to "invalid regular expression: ...".
std::shared_ptr<const re2::RE2> CompileRegex(const std::string& pattern, std::string* error);

// string(): the text form of a scalar value (int, double, bool, string, timestamp, duration).
std::string ToText(const Value& value);

// Equality that charges `*cost` for every element it compares (same result as ValuesEqual).
bool EqualCounting(const Value& a, const Value& b, int64_t* cost);

// Looks `key` up in a map with the same key normalisation everywhere (an integral double finds an
// int key). nullptr if absent or not a valid key kind.
const Value* MapLookup(const ValueMap& map, const Value& key);

// Number of code points of a UTF-8 string (size() of a string).
int64_t CodePointCount(std::string_view text);

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_BUILTINS_H_
