// Golden tests: every case in testdata/*.txt is compiled and evaluated row-wise, and, where its
// variables are all scalar, also column-wise over a one-row table built from its input; both must
// give the expected result or error.
//
// Case format (blocks separated by blank lines; '#' starts a comment line):
//   expr: <expression>            required; further lines "| <text>" continue it on a new line
//   var: <name> <type>            zero or more declarations, e.g. "var: m map(string, int)"
//   input: <JSON object>          the activation (default {})
//   result: <JSON>                expected value (compared as JSON text, so 1 and 1.0 differ)
//   error: <text>                 or: the expected first line of the error, e.g. "1:3: ..."
//   type: <type>                  optional: the expected static result type
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "expr/expr.h"

namespace plinth::expr {
namespace {

struct GoldenCase {
  std::string name;  // file stem and line
  std::string where;
  std::string expr;
  std::vector<std::pair<std::string, std::string>> vars;
  std::string input = "{}";
  std::optional<std::string> result;
  std::optional<std::string> error;
  std::optional<std::string> type;
};

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<GoldenCase> LoadCases() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(PLINTH_EXPR_TESTDATA)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<GoldenCase> cases;
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string line;
    int number = 0;
    std::optional<GoldenCase> current;
    auto flush = [&] {
      if (current) cases.push_back(*current);
      current.reset();
    };
    while (std::getline(in, line)) {
      ++number;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (Trim(line).empty()) {
        flush();
        continue;
      }
      if (line[0] == '#') continue;
      if (!current) {
        current.emplace();
        current->name = path.stem().string() + "_L" + std::to_string(number);
        current->where = path.filename().string() + ":" + std::to_string(number);
      }
      if (line.rfind("| ", 0) == 0) {
        current->expr += "\n" + line.substr(2);
        continue;
      }
      size_t colon = line.find(':');
      std::string key = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (key == "expr") {
        current->expr = value;
      } else if (key == "var") {
        value = Trim(value);
        size_t space = value.find(' ');
        current->vars.emplace_back(value.substr(0, space),
                                   space == std::string::npos ? "" : value.substr(space + 1));
      } else if (key == "input") {
        current->input = value;
      } else if (key == "result") {
        current->result = Trim(value);
      } else if (key == "error") {
        current->error = Trim(value);
      } else if (key == "type") {
        current->type = Trim(value);
      } else {
        current->expr = "<bad key '" + key + "' in " + current->where + ">";
      }
    }
    flush();
  }
  return cases;
}

std::string FirstLine(const Status& status) {
  std::string message(status.message());
  return message.substr(0, message.find('\n'));
}

// Builds a one-row table from the case's input when every variable is a scalar column type and
// every input value converts; nullopt otherwise.
std::optional<Table> OneRowTable(const GoldenCase& c, const Json& input) {
  Table table;
  for (const auto& [name, type_text] : c.vars) {
    auto type = ParseType(type_text);
    if (!type.ok()) return std::nullopt;
    ColumnType ct;
    switch (type->kind()) {
      case TypeKind::kInt:
        ct = ColumnType::kInt64;
        break;
      case TypeKind::kDouble:
        ct = ColumnType::kFloat64;
        break;
      case TypeKind::kBool:
        ct = ColumnType::kBool;
        break;
      case TypeKind::kString:
        ct = ColumnType::kString;
        break;
      case TypeKind::kTimestamp:
        ct = ColumnType::kTimestamp;
        break;
      default:
        return std::nullopt;
    }
    if (!input.contains(name)) return std::nullopt;
    auto value = ValueFromJson(input[name], *type);
    if (!value.ok()) return std::nullopt;
    Column col(name, ct);
    if (value->is_null()) {
      col.AppendNull();
    } else {
      switch (value->kind()) {
        case Value::Kind::kInt:
          col.AppendInt64(value->int_value());
          break;
        case Value::Kind::kDouble:
          col.AppendFloat64(value->double_value());
          break;
        case Value::Kind::kBool:
          col.AppendBool(value->bool_value());
          break;
        case Value::Kind::kString:
          col.AppendString(value->string_value());
          break;
        case Value::Kind::kTimestamp:
          col.AppendInt64(value->timestamp_micros());
          break;
        default:
          return std::nullopt;
      }
    }
    if (!table.AddColumn(std::move(col)).ok()) return std::nullopt;
  }
  if (table.num_columns() == 0) {
    // A constant expression still needs one row.
    Column col("_row", ColumnType::kBool);
    col.AppendBool(true);
    if (!table.AddColumn(std::move(col)).ok()) return std::nullopt;
  }
  return table;
}

class GoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, Case) {
  const GoldenCase& c = GetParam();
  SCOPED_TRACE(c.where + ": " + c.expr);
  ASSERT_TRUE(c.result.has_value() != c.error.has_value()) << "a case needs result or error";
  Environment env;
  for (const auto& [name, type] : c.vars) {
    ASSERT_TRUE(env.Declare(name, std::string_view(type)).ok()) << name << " " << type;
  }
  auto input = ParseJson(c.input);
  ASSERT_TRUE(input.ok()) << input.status();

  auto program = Compile(c.expr, env);
  if (!program.ok()) {
    ASSERT_TRUE(c.error.has_value()) << "unexpected compile error: " << program.status();
    EXPECT_EQ(FirstLine(program.status()), *c.error);
    return;
  }
  if (c.type) {
    EXPECT_EQ(program->result_type().ToString(), *c.type);
  }
  auto activation = Activation::FromJson(*input);
  ASSERT_TRUE(activation.ok());
  auto value = Evaluate(*program, *activation);
  if (c.error) {
    ASSERT_FALSE(value.ok()) << "expected error " << *c.error << ", got " << value->DebugString();
    EXPECT_EQ(FirstLine(value.status()), *c.error);
  } else {
    ASSERT_TRUE(value.ok()) << value.status();
    auto expected = ParseJson(*c.result);
    ASSERT_TRUE(expected.ok()) << "bad expected JSON: " << *c.result;
    EXPECT_EQ(ValueToJson(*value).dump(), expected->dump()) << value->DebugString();
    EXPECT_TRUE(ValueConforms(*value, program->result_type()))
        << value->DebugString() << " is not a " << program->result_type().ToString();
  }

  // The same case column-wise, where it can be stated as a table.
  const TypeKind rk = program->result_type().kind();
  if (rk != TypeKind::kBool && rk != TypeKind::kInt && rk != TypeKind::kDouble &&
      rk != TypeKind::kString && rk != TypeKind::kTimestamp) {
    return;
  }
  std::optional<Table> table = OneRowTable(c, *input);
  if (!table) return;
  auto column = EvaluateColumns(*program, *table);
  if (!value.ok()) {
    ASSERT_FALSE(column.ok()) << "column-wise gave no error";
    EXPECT_EQ(FirstLine(column.status()), "row 0: " + *c.error);
    return;
  }
  ASSERT_TRUE(column.ok()) << column.status();
  ASSERT_EQ(column->size(), 1u);
  EXPECT_EQ(ValueToJson(CellValue(*column, 0)).dump(), ValueToJson(*value).dump());
}

std::string CaseName(const testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.name;
  for (char& ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenTest, testing::ValuesIn(LoadCases()), CaseName);

TEST(GoldenFiles, HaveEnoughCases) { EXPECT_GE(LoadCases().size(), 150u); }

}  // namespace
}  // namespace plinth::expr
