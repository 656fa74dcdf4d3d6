// Parser and diagnostics: positions, the caret rendering, and the limits that keep hostile input
// from exhausting the stack, memory or time.
#include "expr/parser.h"

#include <gtest/gtest.h>

#include <string>

#include "expr/expr.h"

namespace plinth::expr {
namespace {

std::string CompileError(const std::string& source, const CompileOptions& options = {}) {
  Environment env;
  EXPECT_TRUE(env.Declare("Amount", "int").ok());
  EXPECT_TRUE(env.Declare("Price", "int").ok());
  auto program = Compile(source, env, options);
  EXPECT_FALSE(program.ok()) << source;
  if (program.ok()) return "";
  EXPECT_EQ(program.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(program.status().message());
}

TEST(ParserTest, ErrorShowsLineAndCaret) {
  EXPECT_EQ(CompileError("Amount <= Amout * 2"),
            "1:11: undeclared reference to 'Amout' (did you mean 'Amount'?)\n"
            "    Amount <= Amout * 2\n"
            "              ^");
  EXPECT_EQ(CompileError("(Amount + )"),
            "1:11: unexpected token ')'\n"
            "    (Amount + )\n"
            "              ^");
}

TEST(ParserTest, CaretOnLaterLineAndAfterMultiByteCharacters) {
  EXPECT_EQ(CompileError("Amount > 0 &&\n  'é' == Amout"),
            "2:10: undeclared reference to 'Amout' (did you mean 'Amount'?)\n"
            "      'é' == Amout\n"
            "             ^");
}

TEST(ParserTest, CaretAtEndOfInput) {
  EXPECT_EQ(CompileError("Amount +"),
            "1:9: unexpected end of input\n"
            "    Amount +\n"
            "            ^");
}

TEST(ParserTest, LongLinesAreWindowedAroundTheColumn) {
  std::string source = std::string(100, ' ') + "Amout" + std::string(100, ' ');
  std::string message = CompileError(source);
  EXPECT_EQ(message.substr(0, message.find('\n')),
            "1:101: undeclared reference to 'Amout' (did you mean 'Amount'?)");
  // "..." + 40 characters of context, then the caret under the name.
  EXPECT_NE(message.find("\n    ..." + std::string(40, ' ') + "Amout"), std::string::npos);
  EXPECT_NE(message.find("\n    " + std::string(43, ' ') + "^"), std::string::npos);
}

TEST(ParserTest, TabsAndControlCharactersDoNotShiftTheCaret) {
  EXPECT_EQ(CompileError("\tAmout"),
            "1:2: undeclared reference to 'Amout' (did you mean 'Amount'?)\n"
            "     Amout\n"
            "     ^");
}

TEST(ParserTest, InvalidUtf8IsRefused) {
  EXPECT_EQ(CompileError("'a\xff'").substr(0, 18), "1:3: invalid UTF-8");
  EXPECT_EQ(CompileError("'\xed\xa0\x80'").substr(0, 18), "1:2: invalid UTF-8");
}

TEST(ParserTest, SourceLengthLimit) {
  CompileOptions options;
  options.max_source_bytes = 100;
  std::string source = "1";
  while (source.size() <= 100) source += " + 1";
  std::string message = CompileError(source, options);
  EXPECT_EQ(
      message.substr(0, message.find('\n')),
      "1:1: expression too long (" + std::to_string(source.size()) + " bytes; the limit is 100)");
}

TEST(ParserTest, DeepParenthesesAreAnErrorNotACrash) {
  std::string source = std::string(100000, '(') + "1" + std::string(100000, ')');
  CompileOptions options;
  options.max_source_bytes = 1 << 20;
  std::string message = CompileError(source, options);
  EXPECT_NE(message.find("expression nested too deeply (the limit is 128 levels)"),
            std::string::npos)
      << message.substr(0, 200);
}

TEST(ParserTest, DeepUnaryChainsAreAnErrorNotACrash) {
  CompileOptions options;
  options.max_source_bytes = 1 << 20;
  EXPECT_NE(CompileError(std::string(50000, '!') + "true", options).find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(CompileError(std::string(50000, '-') + "1", options).find("nested too deeply"),
            std::string::npos);
}

TEST(ParserTest, LongOperatorChainsHitTheDepthLimit) {
  std::string ok = "1";
  for (int i = 0; i < 100; ++i) ok += " + 1";
  Environment env;
  auto program = Compile(ok, env);
  ASSERT_TRUE(program.ok()) << program.status();
  std::string deep = "1";
  for (int i = 0; i < 5000; ++i) deep += " + 1";
  EXPECT_NE(CompileError(deep).find("expression nested too deeply"), std::string::npos);
  std::string members = "{'a': 1}";
  for (int i = 0; i < 5000; ++i) members += ".a";
  EXPECT_NE(CompileError(members).find("expression nested too deeply"), std::string::npos);
}

TEST(ParserTest, NodeCountLimit) {
  std::string source = "[";
  for (int i = 0; i < 6000; ++i) source += "1,";
  source += "1]";
  CompileOptions options;
  options.max_nodes = 5000;
  EXPECT_NE(CompileError(source, options).find("expression too large (the limit is 5000 nodes)"),
            std::string::npos);
  options.max_nodes = 10000;
  Environment env;
  EXPECT_TRUE(Compile(source, env, options).ok());
}

TEST(ParserTest, ReservedWordsAndIdentifiers) {
  EXPECT_TRUE(internal::IsIdentifier("Amount_2"));
  EXPECT_TRUE(internal::IsIdentifier("_x"));
  EXPECT_FALSE(internal::IsIdentifier("2x"));
  EXPECT_FALSE(internal::IsIdentifier("while"));
  EXPECT_FALSE(internal::IsIdentifier("in"));
  EXPECT_FALSE(internal::IsIdentifier("a-b"));
  EXPECT_FALSE(internal::IsIdentifier(""));
}

TEST(ParserTest, LineAndColumnCountCodePoints) {
  int line, column;
  internal::LineAndColumn("ab\nçd", 5, &line, &column);
  EXPECT_EQ(line, 2);
  EXPECT_EQ(column, 2);
  internal::LineAndColumn("", 0, &line, &column);
  EXPECT_EQ(line, 1);
  EXPECT_EQ(column, 1);
}

TEST(ParserTest, EmptySourceHasNoCaretLine) {
  EXPECT_EQ(CompileError(""), "1:1: unexpected end of input");
}

TEST(ParserTest, EvaluationErrorsAreFormattedLikeCompileErrors) {
  Environment env;
  ASSERT_TRUE(env.Declare("x", "int").ok());
  auto program = Compile("10 / x", env);
  ASSERT_TRUE(program.ok());
  Activation a;
  a.Bind("x", Value::Int(0));
  auto value = Evaluate(*program, a);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(value.status().message()),
            "1:4: division by zero\n"
            "    10 / x\n"
            "       ^");
}

TEST(ParserTest, EvaluationCostIsBounded) {
  Environment env;
  std::string range = "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]";
  std::string source = range + ".map(a, " + range + ".map(b, " + range + ".map(c, " + range +
                       ".map(d, " + range + ".map(e, a + b + c + d + e)))))";
  auto program = Compile(source, env);
  ASSERT_TRUE(program.ok()) << program.status();
  auto value = Evaluate(*program, Activation());
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(std::string(value.status().message()).find("evaluation cost limit exceeded"),
            std::string::npos);
}

TEST(ParserTest, CostLimitIsNotAbsorbedByLogicalOperators) {
  Environment env;
  std::string range = "[0,1,2,3,4,5,6,7,8,9]";
  std::string heavy = range + ".all(a, " + range + ".all(b, " + range + ".all(c, a + b + c >= 0)))";
  auto program = Compile("false && " + heavy + " || " + heavy + " || true", env);
  ASSERT_TRUE(program.ok()) << program.status();
  EvalOptions options;
  options.max_cost = 500;
  auto value = Evaluate(*program, Activation(), options);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kResourceExhausted);
  options.max_cost = 100000;
  value = Evaluate(*program, Activation(), options);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_TRUE(value->bool_value());
}

TEST(ParserTest, StringConcatenationInLoopsIsCharged) {
  Environment env;
  ASSERT_TRUE(env.Declare("s", "string").ok());
  auto program = Compile("[1,2,3,4,5,6,7,8].map(x, s + s + s + s).size()", env);
  ASSERT_TRUE(program.ok());
  Activation a;
  a.Bind("s", Value::String(std::string(1 << 20, 'x')));
  auto value = Evaluate(*program, a);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace plinth::expr
