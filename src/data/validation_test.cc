#include "data/validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "data/csv_reader.h"

namespace plinth {
namespace {

std::string Message(const Status& s) { return std::string(s.message()); }

Table MustCsv(std::string_view csv) {
  StatusOr<Table> t = ReadCsvBuffer(csv);
  EXPECT_TRUE(t.ok()) << Message(t.status());
  return t.ok() ? std::move(t).value() : Table();
}

Suite MustParse(std::string_view yaml) {
  StatusOr<Suite> s = ParseSuite(yaml, "suite.yaml");
  EXPECT_TRUE(s.ok()) << Message(s.status());
  return s.ok() ? std::move(s).value() : Suite();
}

std::string ParseError(std::string_view yaml) {
  StatusOr<Suite> s = ParseSuite(yaml, "suite.yaml");
  EXPECT_FALSE(s.ok());
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return Message(s.status());
}

// Runs a one-expectation suite `body` (the lines after "- id: e") over `data`.
ExpectationResult RunOne(const std::string& body, const Table& data,
                         const Table* reference = nullptr) {
  Suite suite = MustParse("name: t\nexpectations:\n  - id: e\n" + body);
  StatusOr<ValidationResult> result = RunSuite(suite, data, reference);
  EXPECT_TRUE(result.ok()) << Message(result.status());
  if (!result.ok() || result->expectations.size() != 1) return {};
  return result->expectations[0];
}

std::vector<size_t> Rows(const ExpectationResult& r) {
  std::vector<size_t> rows;
  for (const FailingRow& f : r.failing_rows) rows.push_back(f.row);
  return rows;
}

const char kSmall[] =
    "id,amount,price,grade,flag,when\n"
    "1,10,20,A1,true,2024-01-01T00:00:00Z\n"
    "2,25,10,B2,false,2024-02-01T00:00:00Z\n"
    "3,,30,Z9,true,2024-03-01T00:00:00Z\n"
    "3,40,30,a1,NA,2024-04-01T00:00:00Z\n";

TEST(ValidationRun, ColumnPresent) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: amount\n    column_present: true\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.observed["present"], true);
  r = RunOne("    column: missing\n    column_present:\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["present"], false);
  EXPECT_TRUE(r.error.empty());
}

TEST(ValidationRun, ColumnType) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: price\n    column_type: int64\n", t);
  EXPECT_TRUE(r.passed);
  r = RunOne("    column: when\n    column_type: float64\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["type"], "timestamp");
  EXPECT_EQ(r.threshold["type"], "float64");
}

TEST(ValidationRun, NotNullAndNullFraction) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: price\n    not_null: true\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.observed["nulls"], 0);
  r = RunOne("    column: amount\n    not_null: true\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["nulls"], 1);
  EXPECT_EQ(Rows(r), std::vector<size_t>({2}));
  EXPECT_TRUE(r.failing_rows[0].value.is_null());

  r = RunOne("    column: amount\n    max_null_fraction: 0.25\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_DOUBLE_EQ(r.observed["null_fraction"].get<double>(), 0.25);
  r = RunOne("    column: amount\n    max_null_fraction: 0.2\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_DOUBLE_EQ(r.threshold["max_null_fraction"].get<double>(), 0.2);
}

TEST(ValidationRun, Range) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: amount\n    range: {min: 10, max: 40}\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.observed["min"], 10);
  EXPECT_EQ(r.observed["max"], 40);
  EXPECT_EQ(r.observed["violations"], 0);
  r = RunOne("    column: amount\n    range: {min: 11, max: 30}\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["violations"], 2);
  EXPECT_EQ(Rows(r), std::vector<size_t>({0, 3}));
  EXPECT_EQ(r.failing_rows[1].value, 40);
  // Timestamps take RFC 3339 bounds.
  r = RunOne("    column: when\n    range: {min: '2024-01-15T00:00:00Z'}\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(Rows(r), std::vector<size_t>({0}));
  EXPECT_EQ(r.observed["min"], "2024-01-01T00:00:00Z");
  // A string column cannot be range-checked: the expectation fails with an error.
  r = RunOne("    column: grade\n    range: {min: 0}\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.error, "range needs a numeric or timestamp column; 'grade' is string");
  // A missing column fails the expectation.
  r = RunOne("    column: nope\n    range: {min: 0}\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.error, "column 'nope' not found");
}

TEST(ValidationRun, AllowedValues) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: grade\n    allowed_values: [A1, B2, Z9, a1]\n", t);
  EXPECT_TRUE(r.passed);
  r = RunOne("    column: grade\n    allowed_values: [A1, B2]\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["violations"], 2);
  EXPECT_EQ(r.observed["unexpected_values"], Json({"Z9", "a1"}));
  EXPECT_EQ(Rows(r), std::vector<size_t>({2, 3}));
  r = RunOne("    column: price\n    allowed_values: [20, 30]\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(Rows(r), std::vector<size_t>({1}));
  r = RunOne("    column: flag\n    allowed_values: [true]\n", t);  // null is not checked
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(Rows(r), std::vector<size_t>({1}));
  r = RunOne("    column: price\n    allowed_values: [x]\n", t);
  EXPECT_EQ(r.error, "allowed value 'x' is not an int64 (column 'price')");
}

TEST(ValidationRun, Unique) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: when\n    unique: true\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.observed["distinct"], 4);
  r = RunOne("    column: id\n    unique: true\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["duplicates"], 1);
  EXPECT_EQ(r.observed["distinct"], 3);
  EXPECT_EQ(Rows(r), std::vector<size_t>({3}));
  EXPECT_EQ(r.failing_rows[0].value, 3);
}

TEST(ValidationRun, Regex) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    column: grade\n    regex: '[A-Za-z][0-9]'\n", t);
  EXPECT_TRUE(r.passed);
  // Full match: 'A1x' style partial matches do not count; here lower case fails.
  r = RunOne("    column: grade\n    regex: '[A-G][1-5]'\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["violations"], 2);
  EXPECT_EQ(Rows(r), std::vector<size_t>({2, 3}));
  EXPECT_EQ(r.failing_rows[0].value, "Z9");
  r = RunOne("    column: grade\n    regex: 'A'\n", t);
  EXPECT_EQ(r.observed["violations"], 4);
}

TEST(ValidationRun, RowCount) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    row_count: {min: 4, max: 4}\n", t);
  EXPECT_TRUE(r.passed);
  EXPECT_EQ(r.observed["rows"], 4);
  r = RunOne("    row_count: {min: 5}\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.threshold["min"], 5);
}

TEST(ValidationRun, RowRule) {
  Table t = MustCsv(kSmall);
  ExpectationResult r = RunOne("    row_rule: amount <= price * 2\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.observed["violations"], 1);
  EXPECT_EQ(r.observed["null_rows"], 1);  // amount is null in row 2
  EXPECT_EQ(Rows(r), std::vector<size_t>({1}));
  EXPECT_EQ(r.failing_rows[0].value, Json({{"amount", 25}, {"price", 10}}));
  r = RunOne("    row_rule: price >= 10 && flag != null\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(Rows(r), std::vector<size_t>({3}));
  r = RunOne("    row_rule: price > 0\n", t);
  EXPECT_TRUE(r.passed);
  // A rule that does not type-check against the data fails with the expression's position.
  r = RunOne("    row_rule: amount + grade > 1\n", t);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.error.rfind("suite.yaml:4:15: row_rule: 1:", 0), 0u) << r.error;
  r = RunOne("    row_rule: amont > 1\n", t);
  EXPECT_NE(r.error.find("amont"), std::string::npos) << r.error;
}

TEST(Drift, QuantileEdgesAndPsiByHand) {
  std::vector<double> ref = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_EQ(QuantileEdges(ref, 2), std::vector<double>({6}));
  EXPECT_EQ(QuantileEdges(ref, 5), std::vector<double>({3, 5, 7, 9}));
  EXPECT_EQ(QuantileEdges({1, 1, 1, 2}, 4), std::vector<double>({2}));
  // Reference 50/50, data 30/70: (0.3-0.5) ln(0.3/0.5) + (0.7-0.5) ln(0.7/0.5).
  double expected = -0.2 * std::log(0.6) + 0.2 * std::log(1.4);
  EXPECT_NEAR(Psi({5, 5}, {3, 7}), expected, 1e-12);
  EXPECT_NEAR(expected, 0.1694596, 1e-6);
  EXPECT_DOUBLE_EQ(Psi({5, 5}, {50, 50}), 0.0);
  // An empty data bin uses epsilon: (1e-4 - 0.5) ln(1e-4 / 0.5) + (1 - 0.5) ln(1 / 0.5).
  EXPECT_NEAR(Psi({1, 1}, {0, 4}), (1e-4 - 0.5) * std::log(1e-4 / 0.5) + 0.5 * std::log(2.0),
              1e-12);
}

TEST(Drift, KsByHand) {
  std::vector<double> ref = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  std::vector<double> data = {1, 2, 3, 6, 7, 8, 9, 10, 11, 12};
  // At x = 5: F_ref = 0.5, F_data = 0.3.
  EXPECT_NEAR(KsStatistic(ref, data), 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(KsStatistic(ref, ref), 0.0);
  EXPECT_DOUBLE_EQ(KsStatistic({1, 2}, {3, 4}), 1.0);
  // Ties: {1,1,2} vs {1,2,2}: at x = 1, 2/3 vs 1/3.
  EXPECT_NEAR(KsStatistic({1, 1, 2}, {1, 2, 2}), 1.0 / 3, 1e-12);
}

TEST(Drift, Expectation) {
  Table ref = MustCsv("x,c\n1,a\n2,a\n3,a\n4,a\n5,a\n6,b\n7,b\n8,b\n9,b\n10,b\n");
  Table data = MustCsv("x,c\n1,a\n2,a\n3,a\n6,b\n7,b\n8,b\n9,b\n10,b\n11,b\n12,c\n");
  ExpectationResult r =
      RunOne("    column: x\n    drift: {psi: 0.2, ks: 0.3, bins: 2}\n", data, &ref);
  EXPECT_TRUE(r.passed) << r.error;
  EXPECT_NEAR(r.observed["psi"].get<double>(), 0.1694596, 1e-6);
  EXPECT_NEAR(r.observed["ks"].get<double>(), 0.2, 1e-12);
  EXPECT_EQ(r.observed["bins"].size(), 2u);
  EXPECT_EQ(r.observed["bins"][0]["bin"], "< 6");
  r = RunOne("    column: x\n    drift: {psi: 0.1, bins: 2}\n", data, &ref);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.observed["ks"].is_null());
  // Categorical: ref a 0.5, b 0.5, c 0; data a 0.3, b 0.6, c 0.1.
  r = RunOne("    column: c\n    drift: {psi: 10}\n", data, &ref);
  double expected = (0.3 - 0.5) * std::log(0.3 / 0.5) + (0.6 - 0.5) * std::log(0.6 / 0.5) +
                    (0.1 - 1e-4) * std::log(0.1 / 1e-4);
  EXPECT_NEAR(r.observed["psi"].get<double>(), expected, 1e-12);
  EXPECT_TRUE(r.passed);
  r = RunOne("    column: c\n    drift: {ks: 0.1}\n", data, &ref);
  EXPECT_EQ(r.error, "ks needs a numeric column; 'c' is string");
  // Drift without a reference table is the caller's mistake.
  Suite suite =
      MustParse("name: t\nexpectations:\n  - id: d\n    column: x\n    drift: {psi: 1}\n");
  StatusOr<ValidationResult> result = RunSuite(suite, data, nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ValidationRun, OverallCountsAndJson) {
  Table t = MustCsv(kSmall);
  Suite suite = MustParse(R"(name: small
expectations:
  - id: rows
    row_count: {min: 1}
  - id: grade_format
    column: grade
    severity: warning
    regex: '[A-G][1-5]'
  - id: amount_complete
    column: amount
    not_null: true
)");
  StatusOr<ValidationResult> result = RunSuite(suite, t, nullptr);
  ASSERT_TRUE(result.ok()) << Message(result.status());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->blocking_failures, 1);
  EXPECT_EQ(result->warning_failures, 1);
  Json j = ValidationResultToJson(*result);
  EXPECT_EQ(j["format"], "plinth.validation_result");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["suite"], "small");
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["rows"], 4);
  EXPECT_TRUE(j["reference_rows"].is_null());
  ASSERT_EQ(j["expectations"].size(), 3u);
  EXPECT_EQ(j["expectations"][0]["column"], nullptr);
  EXPECT_EQ(j["expectations"][1]["severity"], "warning");
  EXPECT_EQ(j["expectations"][1]["type"], "regex");
  EXPECT_EQ(j["expectations"][1]["failing_rows"][0], Json({{"row", 2}, {"value", "Z9"}}));
  EXPECT_EQ(j["expectations"][2]["passed"], false);
  EXPECT_TRUE(j["expectations"][2]["error"].is_null());

  // The whole document is pinned by a golden file: these field names are what gates read.
  std::ifstream golden(std::string(PLINTH_VALIDATION_TESTDATA) + "/small_result.json");
  ASSERT_TRUE(golden.good());
  std::stringstream expected;
  expected << golden.rdbuf();
  EXPECT_EQ(DumpJson(j, 2) + "\n", expected.str());

  std::string html = RenderValidationHtml(*result);
  EXPECT_NE(html.find("<!DOCTYPE html>"), std::string::npos);
  EXPECT_NE(html.find("FAILED"), std::string::npos);
  EXPECT_NE(html.find("grade_format"), std::string::npos);
  EXPECT_NE(html.find("row 2: <code>&quot;Z9&quot;</code>"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);  // no drift checked
}

TEST(ValidationParse, ErrorsArePositioned) {
  EXPECT_EQ(ParseError(R"(name: t
expectations:
  - id: amount_range
    column: amount
    range:
      mn: 0
)"),
            "suite.yaml:6:7: expectation 'amount_range': unknown key 'mn' (expected: min, max)");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    rnage: {min: 1}\n"),
            "suite.yaml:5:5: expectation 'x': unknown key 'rnage' (expected: id, severity, "
            "column, description, column_present, column_type, not_null, max_null_fraction, "
            "range, allowed_values, unique, regex, row_count, row_rule, drift)");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    range: {min: 1}\n"),
            "suite.yaml:4:5: expectation 'x': 'range' needs 'column'");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    range: {min: low}\n"),
            "suite.yaml:5:18: expectation 'x': 'min' must be a number or an RFC 3339 "
            "timestamp, not 'low'");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n"
                       "    max_null_fraction: [1]\n"),
            "suite.yaml:5:24: expectation 'x': 'max_null_fraction' must be a number, not a list");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    severity: fatal\n"
                       "    not_null: true\n"),
            "suite.yaml:5:15: expectation 'x': unknown severity 'fatal' (expected: blocking, "
            "warning)");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    column_type: int\n"),
            "suite.yaml:5:18: expectation 'x': unknown column type 'int' (expected: int64, "
            "float64, bool, string, timestamp)");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    regex: '(a'\n"),
            "suite.yaml:5:12: expectation 'x': invalid regular expression: missing ): (a");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n    drift: {bins: 4}\n"),
            "suite.yaml:5:12: expectation 'x': 'drift' needs psi, ks or both");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    column: a\n  - id: x\n"
                       "    column: b\n    unique: true\n"),
            "suite.yaml:3:5: expectation 'x': no expectation type (expected one of: "
            "column_present, column_type, not_null, max_null_fraction, range, allowed_values, "
            "unique, regex, row_count, row_rule, drift)");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - id: x\n    row_count: {min: 1}\n"
                       "  - id: x\n    row_count: {min: 1}\n"),
            "suite.yaml:5:9: expectation 'x': duplicate id");
  EXPECT_EQ(ParseError("name: t\nexpectations:\n  - column: a\n"),
            "suite.yaml:3:5: expectation #1: missing 'id'");
  EXPECT_EQ(ParseError("name: t\nexpectation: []\n"),
            "suite.yaml:2:1: unknown key 'expectation' (expected: name, description, reference, "
            "expectations)");
  // Malformed YAML.
  EXPECT_EQ(ParseError("name: t\nexpectations: [\n").rfind("suite.yaml:", 0), 0u);
  EXPECT_EQ(ParseError("").rfind("suite.yaml", 0), 0u);
}

TEST(ValidationParse, RowRuleSyntaxErrorHasBothPositions) {
  std::string error =
      ParseError("name: t\nexpectations:\n  - id: r\n    row_rule: Amount <= * 2\n");
  EXPECT_EQ(error.rfind("suite.yaml:4:15: expectation 'r': row_rule: 1:11: ", 0), 0u) << error;
  EXPECT_NE(error.find("Amount <= * 2\n"), std::string::npos) << error;
}

TEST(ValidationParse, Fields) {
  Suite s = MustParse(R"(name: demo
description: d
reference: ref.csv
expectations:
  - id: a
    column: x
    severity: warning
    drift: {psi: 0.25, ks: 0.1, bins: 5}
  - id: b
    row_rule: x > 1
)");
  EXPECT_EQ(s.name, "demo");
  EXPECT_EQ(s.reference, "ref.csv");
  ASSERT_EQ(s.expectations.size(), 2u);
  EXPECT_EQ(s.expectations[0].severity, Severity::kWarning);
  EXPECT_EQ(s.expectations[0].type, ExpectationType::kDrift);
  EXPECT_EQ(*s.expectations[0].psi_max, 0.25);
  EXPECT_EQ(s.expectations[0].bins, 5);
  EXPECT_EQ(s.expectations[1].severity, Severity::kBlocking);
  EXPECT_EQ(s.expectations[1].rule, "x > 1");
  EXPECT_EQ(s.expectations[1].rule_line, 10);
  EXPECT_EQ(s.expectations[1].rule_column, 15);
  EXPECT_TRUE(s.NeedsReference());
  EXPECT_EQ(LoadSuite("/nonexistent/suite.yaml").status().code(), absl::StatusCode::kNotFound);
}

// The example suites pass on the example data, with the data as its own reference.
void ExpectExamplePasses(const std::string& name) {
  StatusOr<Suite> suite = LoadSuite(std::string(PLINTH_EXAMPLES_SUITES) + "/" + name + ".yaml");
  ASSERT_TRUE(suite.ok()) << Message(suite.status());
  StatusOr<Table> data = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/" + name + ".csv");
  ASSERT_TRUE(data.ok()) << Message(data.status());
  StatusOr<ValidationResult> result = RunSuite(*suite, *data, &*data);
  ASSERT_TRUE(result.ok()) << Message(result.status());
  for (const ExpectationResult& r : result->expectations) {
    EXPECT_TRUE(r.passed) << r.id << ": " << r.error << " " << DumpJson(r.observed);
  }
  EXPECT_TRUE(result->passed);
  EXPECT_EQ(result->blocking_failures, 0);
  EXPECT_EQ(result->warning_failures, 0);
}

TEST(ValidationExamples, LendingClubPasses) { ExpectExamplePasses("lending_club"); }

TEST(ValidationExamples, CreditDataPasses) { ExpectExamplePasses("credit_data"); }

TEST(ValidationExamples, ShiftedLendingClubFailsDrift) {
  StatusOr<Suite> suite = LoadSuite(std::string(PLINTH_EXAMPLES_SUITES) + "/lending_club.yaml");
  ASSERT_TRUE(suite.ok()) << Message(suite.status());
  StatusOr<Table> reference = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
  ASSERT_TRUE(reference.ok()) << Message(reference.status());
  // The same data with annual income tripled.
  Table shifted;
  for (const Column& c : reference->columns()) {
    if (c.name() != "annual_inc") {
      ASSERT_TRUE(shifted.AddColumn(c).ok());
      continue;
    }
    std::vector<double> values = c.float64s();
    for (double& v : values) v *= 3;
    StatusOr<Column> tripled = Column::FromFloat64s(c.name(), values, c.valid());
    ASSERT_TRUE(tripled.ok());
    ASSERT_TRUE(shifted.AddColumn(*std::move(tripled)).ok());
  }
  StatusOr<ValidationResult> result = RunSuite(*suite, shifted, &*reference);
  ASSERT_TRUE(result.ok()) << Message(result.status());
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(result->blocking_failures, 1);
  for (const ExpectationResult& r : result->expectations) {
    EXPECT_EQ(r.passed, r.id != "income_drift") << r.id;
    if (r.id == "income_drift") {
      EXPECT_GT(r.observed["psi"].get<double>(), 1.0);
      EXPECT_GT(r.observed["ks"].get<double>(), 0.3);
    }
  }
  std::string html = RenderValidationHtml(*result);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("income_drift"), std::string::npos);
}

}  // namespace
}  // namespace plinth
