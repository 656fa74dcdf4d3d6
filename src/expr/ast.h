// The syntax tree the parser builds and the checker annotates. Internal to the expr module.
#ifndef PLINTH_EXPR_AST_H_
#define PLINTH_EXPR_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expr/types.h"
#include "expr/value.h"

namespace re2 {
class RE2;
}

namespace plinth::expr::internal {

enum class NodeKind {
  kLiteral,        // literal
  kIdent,          // name
  kSelect,         // children[0].name
  kIndex,          // children[0][children[1]]
  kCall,           // name(children...), or children[0].name(children[1...]) when member_call
  kList,           // [children...]
  kMap,            // {children[0]: children[1], ...}
  kUnary,          // op children[0]
  kBinary,         // children[0] op children[1] (arithmetic, relations, in)
  kAnd,            // children[0] && children[1]
  kOr,             // children[0] || children[1]
  kTernary,        // children[0] ? children[1] : children[2]
  kHas,            // has(children[0].name)
  kComprehension,  // children[0].macro(name, children[1] [, children[2]])
};

enum class Op {
  kNone,
  kNeg,
  kNot,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kIn
};

enum class Macro { kAll, kExists, kExistsOne, kMap, kFilter };

// Built-in functions, resolved by the checker.
enum class Builtin {
  kUnresolved,
  kSize,
  kAbs,
  kLog,
  kExp,
  kSqrt,
  kMin,
  kMax,
  kClip,
  kLower,
  kUpper,
  kStartsWith,
  kEndsWith,
  kContains,
  kMatches,
  kToInt,
  kToDouble,
  kToString,
  kToBool,
  kToTimestamp,
  kToDuration,
  kToDyn,
  kGetFullYear,
  kGetMonth,
  kGetDate,
  kGetDayOfMonth,
  kGetDayOfWeek,
  kGetDayOfYear,
  kGetHours,
  kGetMinutes,
  kGetSeconds,
  kGetMilliseconds,
};

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  // Byte offset of the token the node is reported at (operator, name, opening bracket).
  int32_t offset = 0;
  Op op = Op::kNone;
  Macro macro = Macro::kAll;
  Value literal;
  // Identifier, selected field, function name or comprehension variable.
  std::string name;
  std::vector<std::unique_ptr<Node>> children;
  bool member_call = false;
  int depth = 1;

  // Set by the checker.
  Type type;
  // kIdent: index of the global variable, or of the comprehension variable when `local`.
  // kComprehension: index of its iteration variable among the locals.
  int slot = -1;
  bool local = false;
  Builtin builtin = Builtin::kUnresolved;
  // kCall of matches() with a literal pattern: the pattern compiled once.
  std::shared_ptr<const re2::RE2> regex;
};

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_AST_H_
