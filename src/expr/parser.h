// Lexer and recursive-descent parser for the CEL subset (docs/expr.md), and the rendering of
// positioned diagnostics. Internal to the expr module.
#ifndef PLINTH_EXPR_PARSER_H_
#define PLINTH_EXPR_PARSER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "expr/ast.h"

namespace plinth::expr::internal {

struct ParseLimits {
  size_t max_source_bytes;
  int max_depth;
  int max_nodes;
};

// A diagnostic before rendering: where (byte offset into the source) and what.
struct Diagnostic {
  int32_t offset = 0;
  std::string message;
};

// Parses `source`. On failure returns nullptr and fills `error`. Never recurses deeper than
// about ten frames per level of `limits.max_depth`, whatever the input.
std::unique_ptr<Node> Parse(std::string_view source, const ParseLimits& limits, Diagnostic* error);

// "L:C: message" followed by the source line and a caret under column C (both indented by four
// spaces). Lines and columns are 1-based; columns count characters (UTF-8 code points).
std::string FormatDiagnostic(std::string_view source, int32_t offset, std::string_view message);

// Line and column (1-based, columns in code points) of a byte offset.
void LineAndColumn(std::string_view source, int32_t offset, int* line, int* column);

// True if `text` is well-formed UTF-8; otherwise `*bad_offset` is where it goes wrong.
bool IsValidUtf8(std::string_view text, size_t* bad_offset);

// True for words CEL reserves (true, false, null, in, as, break, const, ... while).
bool IsReservedWord(std::string_view word);

// True if `name` is an identifier: [A-Za-z_][A-Za-z0-9_]* and not reserved.
bool IsIdentifier(std::string_view name);

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_PARSER_H_
