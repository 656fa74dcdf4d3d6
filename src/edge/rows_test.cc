// Tests of the row readers of `plinth-edge score`: RFC 4180 CSV typed by the model's inputs, and
// JSON lines; a malformed row is reported with its line and reading goes on.
#include "edge/rows.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace plinth::edge {
namespace {

using ::testing::HasSubstr;

const ModelInputs kInputs = {
    {"amount", "int64"}, {"rate", "float64"}, {"term", "string"}, {"verified", "bool"}};

std::vector<InputRow> ReadAll(RowReader& reader) {
  std::vector<InputRow> rows;
  InputRow row;
  while (reader.Next(&row)) rows.push_back(row);
  return rows;
}

std::vector<InputRow> Csv(const std::string& text) {
  std::istringstream in(text);
  StatusOr<std::unique_ptr<RowReader>> reader = NewCsvRowReader(in, kInputs);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return {};
  return ReadAll(**reader);
}

TEST(CsvRows, TypedByTheModelsInputsInHeaderOrder) {
  std::vector<InputRow> rows =
      Csv("\xEF\xBB\xBF"
          "id,term,rate,amount,verified\r\n"
          "a,\"term_36\",13.5,16100,TRUE\r\n"
          "\r\n"
          "b,\"60, \"\"long\"\"\nterm\",NA,+7,false\n"
          "c,,nan,-3,\n");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].value.ok()) << rows[0].value.status();
  EXPECT_EQ(*rows[0].value,
            Json({{"amount", 16100}, {"rate", 13.5}, {"term", "term_36"}, {"verified", true}}));
  EXPECT_EQ(rows[0].row, 1);
  EXPECT_EQ(rows[0].line, 2);
  // Quoted commas, doubled quotes and a line break; NA is missing; a blank line is skipped.
  ASSERT_TRUE(rows[1].value.ok()) << rows[1].value.status();
  EXPECT_EQ(
      *rows[1].value,
      Json(
          {{"amount", 7}, {"rate", nullptr}, {"term", "60, \"long\"\nterm"}, {"verified", false}}));
  EXPECT_EQ(rows[1].row, 2);
  EXPECT_EQ(rows[1].line, 4);
  ASSERT_TRUE(rows[2].value.ok()) << rows[2].value.status();
  EXPECT_EQ(*rows[2].value,
            Json({{"amount", -3}, {"rate", nullptr}, {"term", nullptr}, {"verified", nullptr}}));
  EXPECT_EQ(rows[2].line, 6);
  // Every row of the model's inputs and nothing else.
  EXPECT_FALSE(rows[0].value->contains("id"));
}

TEST(CsvRows, AMalformedRowIsReportedAndReadingGoesOn) {
  std::vector<InputRow> rows =
      Csv("amount,rate,term,verified\n"
          "1,abc,x,true\n"
          "2,1.5,x\n"
          "3,1.5,x,maybe\n"
          "4,1.5,x\"y,true\n"
          "5,1.5,\"x\"y,true\n"
          "1.5,2,x,true\n"
          "6,1e3,x,false\n");
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].value.status().message(), "line 2: field rate: expected a number, got 'abc'");
  EXPECT_EQ(rows[1].value.status().message(), "line 3: 3 fields, the header has 4");
  EXPECT_EQ(rows[2].value.status().message(),
            "line 4: field verified: expected true or false, got 'maybe'");
  EXPECT_THAT(rows[3].value.status().message(), HasSubstr("line 5, field 3: a quote inside"));
  EXPECT_THAT(rows[4].value.status().message(), HasSubstr("line 6, field 3: text after a closing"));
  // An int64 input given a decimal is passed on as a number: the model's preprocessing judges it.
  ASSERT_TRUE(rows[5].value.ok());
  EXPECT_EQ((*rows[5].value)["amount"], 1.5);
  ASSERT_TRUE(rows[6].value.ok()) << rows[6].value.status();
  EXPECT_EQ((*rows[6].value)["rate"], 1000.0);
  EXPECT_EQ(rows[6].row, 7);
}

TEST(CsvRows, AnUnclosedQuoteEndsTheInput) {
  std::vector<InputRow> rows =
      Csv("amount,rate,term,verified\n"
          "1,2,\"never closed,true\n"
          "2,3,x,true\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value.status().message(),
            "line 2: a quoted field is not closed before the end");
}

TEST(CsvRows, TheHeaderMustNameEveryInput) {
  std::istringstream in("amount,rate,verified\n1,2,true\n");
  StatusOr<std::unique_ptr<RowReader>> reader = NewCsvRowReader(in, kInputs);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader.status().message(), "the CSV header (line 1) lacks the model's input 'term'");
  std::istringstream empty("");
  EXPECT_EQ(NewCsvRowReader(empty, kInputs).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(JsonLinesRows, ObjectsNamingEveryInput) {
  std::istringstream in(
      "{\"amount\": 1, \"rate\": 2.5, \"term\": \"x\", \"verified\": true, \"extra\": 1}\n"
      "\n"
      "{\"amount\": 1, \"rate\": null, \"term\": \"x\"}\n"
      "[1, 2]\n"
      "{broken\r\n"
      "{\"amount\": null, \"rate\": null, \"term\": null, \"verified\": null}\r\n");
  std::vector<InputRow> rows = ReadAll(*NewJsonLinesRowReader(in, kInputs));
  ASSERT_EQ(rows.size(), 5u);
  ASSERT_TRUE(rows[0].value.ok());
  EXPECT_EQ((*rows[0].value)["rate"], 2.5);
  EXPECT_EQ(rows[1].value.status().message(),
            "line 3: missing input 'verified' (give null for a missing value)");
  EXPECT_EQ(rows[1].row, 2);
  EXPECT_THAT(rows[2].value.status().message(), HasSubstr("line 4: expected a JSON object"));
  EXPECT_THAT(rows[3].value.status().message(), HasSubstr("line 5: expected a JSON object"));
  ASSERT_TRUE(rows[4].value.ok()) << rows[4].value.status();
  EXPECT_EQ(rows[4].line, 6);
}

TEST(CsvCell, NullsAndTypes) {
  EXPECT_EQ(*CsvCell("", "float64"), Json(nullptr));
  EXPECT_EQ(*CsvCell("NA", "string"), Json(nullptr));
  EXPECT_EQ(*CsvCell("na", "string"), Json("na"));
  EXPECT_EQ(*CsvCell("-12", "int64"), Json(-12));
  EXPECT_EQ(*CsvCell("1e5", "float64"), Json(100000.0));
  EXPECT_EQ(*CsvCell("False", "bool"), Json(false));
  EXPECT_EQ(CsvCell("12x", "int64").status().message(), "expected an integer, got '12x'");
  EXPECT_EQ(CsvCell("1", "bool").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth::edge
