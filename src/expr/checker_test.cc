// The type checker and the environment: declarations, inferred result types, promotions,
// suggestions and the Program's metadata.
#include "expr/checker.h"

#include <gtest/gtest.h>

#include <string>

#include "expr/expr.h"

namespace plinth::expr {
namespace {

Environment TestEnv() {
  Environment env;
  EXPECT_TRUE(env.Declare("i", "int").ok());
  EXPECT_TRUE(env.Declare("d", "double").ok());
  EXPECT_TRUE(env.Declare("s", "string").ok());
  EXPECT_TRUE(env.Declare("b", "bool").ok());
  EXPECT_TRUE(env.Declare("t", "timestamp").ok());
  EXPECT_TRUE(env.Declare("dur", "duration").ok());
  EXPECT_TRUE(env.Declare("li", "list(int)").ok());
  EXPECT_TRUE(env.Declare("ls", "list(string)").ok());
  EXPECT_TRUE(env.Declare("m", "map(string, double)").ok());
  EXPECT_TRUE(env.Declare("mi", "map(int, list(string))").ok());
  EXPECT_TRUE(env.Declare("x", "dyn").ok());
  return env;
}

std::string TypeOf(const std::string& source) {
  auto program = Compile(source, TestEnv());
  if (!program.ok()) return "error: " + std::string(program.status().message());
  return program->result_type().ToString();
}

std::string ErrorOf(const std::string& source) {
  auto program = Compile(source, TestEnv());
  if (program.ok()) return "ok: " + program->result_type().ToString();
  std::string message(program.status().message());
  return message.substr(0, message.find('\n'));
}

TEST(CheckerTest, ResultTypes) {
  EXPECT_EQ(TypeOf("i + 1"), "int");
  EXPECT_EQ(TypeOf("i + d"), "double");
  EXPECT_EQ(TypeOf("d * 2"), "double");
  EXPECT_EQ(TypeOf("i / 2"), "int");
  EXPECT_EQ(TypeOf("i < d"), "bool");
  EXPECT_EQ(TypeOf("s + 'x'"), "string");
  EXPECT_EQ(TypeOf("t - t"), "duration");
  EXPECT_EQ(TypeOf("t + dur"), "timestamp");
  EXPECT_EQ(TypeOf("dur + t"), "timestamp");
  EXPECT_EQ(TypeOf("t - dur"), "timestamp");
  EXPECT_EQ(TypeOf("dur - dur"), "duration");
  EXPECT_EQ(TypeOf("-dur"), "duration");
  EXPECT_EQ(TypeOf("li[0]"), "int");
  EXPECT_EQ(TypeOf("li + [1]"), "list(int)");
  EXPECT_EQ(TypeOf("li + ls"), "list(dyn)");
  EXPECT_EQ(TypeOf("m.auc"), "double");
  EXPECT_EQ(TypeOf("m['auc']"), "double");
  EXPECT_EQ(TypeOf("mi[1]"), "list(string)");
  EXPECT_EQ(TypeOf("mi[1][0]"), "string");
  EXPECT_EQ(TypeOf("x.a.b"), "dyn");
  EXPECT_EQ(TypeOf("x + 1"), "dyn");
  EXPECT_EQ(TypeOf("x < 1"), "bool");
  EXPECT_EQ(TypeOf("has(m.auc)"), "bool");
  EXPECT_EQ(TypeOf("size(ls)"), "int");
  EXPECT_EQ(TypeOf("ls.map(v, v.size())"), "list(int)");
  EXPECT_EQ(TypeOf("ls.filter(v, v != '')"), "list(string)");
  EXPECT_EQ(TypeOf("m.map(k, m[k])"), "list(double)");
  EXPECT_EQ(TypeOf("mi.filter(k, k > 0)"), "list(int)");
  EXPECT_EQ(TypeOf("li.exists_one(v, v == 1)"), "bool");
  EXPECT_EQ(TypeOf("b ? i : d"), "double");
  EXPECT_EQ(TypeOf("b ? i : null"), "int");
  EXPECT_EQ(TypeOf("b ? null : s"), "string");
  EXPECT_EQ(TypeOf("b ? s : i"), "dyn");
  EXPECT_EQ(TypeOf("[i, d]"), "list(double)");
  EXPECT_EQ(TypeOf("[i, null]"), "list(int)");
  EXPECT_EQ(TypeOf("{'a': i, 'b': d}"), "map(string, double)");
  EXPECT_EQ(TypeOf("{'a': 1, 2: 'b'}"), "map(dyn, dyn)");
  EXPECT_EQ(TypeOf("min(i, d)"), "double");
  EXPECT_EQ(TypeOf("max(li)"), "int");
  EXPECT_EQ(TypeOf("min(x, 1)"), "dyn");
  EXPECT_EQ(TypeOf("clip(i, 0, 10)"), "int");
  EXPECT_EQ(TypeOf("clip(i, 0, 1.5)"), "double");
  EXPECT_EQ(TypeOf("abs(d)"), "double");
  EXPECT_EQ(TypeOf("log(i)"), "double");
  EXPECT_EQ(TypeOf("int(s)"), "int");
  EXPECT_EQ(TypeOf("string(t)"), "string");
  EXPECT_EQ(TypeOf("timestamp(s)"), "timestamp");
  EXPECT_EQ(TypeOf("duration('1h')"), "duration");
  EXPECT_EQ(TypeOf("t.getHours('+01:00')"), "int");
  EXPECT_EQ(TypeOf("dur.getSeconds()"), "int");
  EXPECT_EQ(TypeOf("dyn(i)"), "dyn");
  EXPECT_EQ(TypeOf("i == null"), "bool");
  EXPECT_EQ(TypeOf("s.matches('^a')"), "bool");
}

TEST(CheckerTest, TypeErrors) {
  EXPECT_EQ(ErrorOf("i + s"), "1:3: no matching overload for '+' applied to (int, string)");
  EXPECT_EQ(ErrorOf("d % 2"), "1:3: no matching overload for '%' applied to (double, int)");
  EXPECT_EQ(ErrorOf("t + t"),
            "1:3: no matching overload for '+' applied to (timestamp, timestamp)");
  EXPECT_EQ(ErrorOf("s < 1"), "1:3: no matching overload for '<' applied to (string, int)");
  EXPECT_EQ(ErrorOf("b && i"), "1:3: no matching overload for '&&' applied to (bool, int)");
  EXPECT_EQ(ErrorOf("li == ls"),
            "1:4: no matching overload for '==' applied to (list(int), list(string))");
  EXPECT_EQ(ErrorOf("s in li"),
            "1:3: no matching overload for 'in' applied to (string, list(int))");
  EXPECT_EQ(ErrorOf("m.auc.x"), "1:7: cannot select field 'x' from a value of type double");
  EXPECT_EQ(ErrorOf("mi.a"),
            "1:4: cannot select field 'a' from a value of type map(int, list(string))");
  EXPECT_EQ(ErrorOf("mi['a']"), "1:4: map key must be int, got string");
  EXPECT_EQ(ErrorOf("li.all(v, v)"), "1:11: all() condition must be bool, got int");
  EXPECT_EQ(ErrorOf("li.map(v, v, v)"), "1:11: map() condition must be bool, got int");
  EXPECT_EQ(ErrorOf("b ? 1"), "1:6: unexpected end of input (expected ':')");
  EXPECT_EQ(ErrorOf("s.size(1)"), "1:3: size() takes 0 arguments, got 1");
  EXPECT_EQ(ErrorOf("lower()"), "1:1: lower() takes 1 argument, got 0");
  EXPECT_EQ(ErrorOf("t.getHours('UTC', 1)"), "1:3: getHours() takes 0 or 1 arguments, got 2");
  EXPECT_EQ(ErrorOf("min(li, 1)"),
            "1:1: no matching overload for 'min' applied to (list(int), int)");
  EXPECT_EQ(ErrorOf("timestamp('2024-13-01T00:00:00Z')").substr(0, 40),
            "1:11: timestamp() cannot parse '2024-13-");
  EXPECT_EQ(ErrorOf("s.matches('[')"), "1:11: invalid regular expression: missing ]: [");
}

TEST(CheckerTest, SuggestionsForNames) {
  EXPECT_EQ(ErrorOf("dd + 1"), "1:1: undeclared reference to 'dd'");
  EXPECT_EQ(ErrorOf("lss"), "1:1: undeclared reference to 'lss'");
  Environment env;
  ASSERT_TRUE(env.Declare("LoanAmount", "int").ok());
  ASSERT_TRUE(env.Declare("LoanTerm", "int").ok());
  auto program = Compile("LoanAmonut > 0", env);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(std::string(program.status().message()).find("(did you mean 'LoanAmount'?)"),
            std::string::npos);
  program = Compile("loanterm > 0", env);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(std::string(program.status().message()).find("(did you mean 'LoanTerm'?)"),
            std::string::npos);
  EXPECT_EQ(ErrorOf("s.uper()"),
            "1:3: undeclared reference to function 'uper' (did you mean 'upper'?)");
}

TEST(CheckerTest, ComprehensionVariablesShadowAndAreScoped) {
  EXPECT_EQ(TypeOf("li.map(s, s + 1)"), "list(int)");
  EXPECT_EQ(TypeOf("li.map(v, ls.map(v, v.size()))"), "list(list(int))");
  EXPECT_EQ(ErrorOf("li.all(v, v > 0) && v > 0"), "1:21: undeclared reference to 'v'");
}

TEST(CheckerTest, EnvironmentDeclarations) {
  Environment env;
  EXPECT_TRUE(env.Declare("ok_name", "list(map(string, int))").ok());
  EXPECT_FALSE(env.Declare("ok_name", "int").ok());
  EXPECT_FALSE(env.Declare("bad name", "int").ok());
  EXPECT_FALSE(env.Declare("null", "int").ok());
  EXPECT_FALSE(env.Declare("x", "integer").ok());
  EXPECT_FALSE(env.Declare("y", "map(double, int)").ok());
  EXPECT_FALSE(env.Declare("z", "list(int").ok());
  ASSERT_NE(env.Find("ok_name"), nullptr);
  EXPECT_EQ(env.Find("ok_name")->ToString(), "list(map(string, int))");
  EXPECT_EQ(env.Find("nope"), nullptr);
  EXPECT_EQ(env.names(), (std::vector<std::string>{"ok_name"}));
}

TEST(CheckerTest, EnvironmentForTableSkipsUnusableNames) {
  Table table;
  ASSERT_TRUE(table.AddColumn(Column("Amount", ColumnType::kInt64)).ok());
  ASSERT_TRUE(table.AddColumn(Column("Loan Amount", ColumnType::kFloat64)).ok());
  ASSERT_TRUE(table.AddColumn(Column("when", ColumnType::kTimestamp)).ok());
  ASSERT_TRUE(table.AddColumn(Column("in", ColumnType::kBool)).ok());
  Environment env = EnvironmentForTable(table);
  EXPECT_EQ(env.names(), (std::vector<std::string>{"Amount", "when"}));
  EXPECT_EQ(env.Find("when")->ToString(), "timestamp");
}

TEST(CheckerTest, ProgramReportsItsVariables) {
  auto program = Compile("li.exists(v, v == i) && s != '' && i > 0", TestEnv());
  ASSERT_TRUE(program.ok());
  EXPECT_EQ(program->variables(), (std::vector<std::string>{"li", "i", "s"}));
  EXPECT_EQ(program->source(), "li.exists(v, v == i) && s != '' && i > 0");
}

TEST(CheckerTest, PromotionKeepsValuesOfTheStaticType) {
  // A double-typed ternary or list never yields an int at run time.
  auto program = Compile("[b ? i : d, i]", TestEnv());
  ASSERT_TRUE(program.ok());
  Activation a;
  a.Bind("b", Value::Bool(true));
  a.Bind("i", Value::Int(3));
  a.Bind("d", Value::Double(0.5));
  auto value = Evaluate(*program, a);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->DebugString(), "[3.0, 3.0]");
  EXPECT_TRUE(ValueConforms(*value, program->result_type()));
}

TEST(CheckerTest, BoundValuesMustFitTheirDeclaration) {
  auto program = Compile("i + 1", TestEnv());
  ASSERT_TRUE(program.ok());
  Activation a;
  a.Bind("i", Value::String("one"));
  auto value = Evaluate(*program, a);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(std::string(value.status().message())
                .find("variable 'i' is declared int but bound to a value of kind string"),
            std::string::npos);
  program = Compile("d + 1", TestEnv());
  ASSERT_TRUE(program.ok());
  a.Bind("d", Value::Int(2));
  value = Evaluate(*program, a);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->DebugString(), "3.0");
}

TEST(CheckerTest, EditDistance) {
  EXPECT_EQ(internal::EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(internal::EditDistance("item", "itme"), 1);
  EXPECT_EQ(internal::EditDistance("", "abc"), 3);
  EXPECT_EQ(internal::EditDistance("same", "same"), 0);
}

}  // namespace
}  // namespace plinth::expr
