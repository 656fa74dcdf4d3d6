#include "data/csv_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "table/table_snapshot.h"

namespace plinth {
namespace {

std::string Message(const Status& s) { return std::string(s.message()); }

Table MustRead(std::string_view csv, const CsvOptions& options = {}) {
  StatusOr<Table> t = ReadCsvBuffer(csv, options);
  EXPECT_TRUE(t.ok()) << Message(t.status());
  return t.ok() ? std::move(t).value() : Table();
}

// The error message of reading `csv`, which must fail with InvalidArgument.
std::string ErrorOf(std::string_view csv, const CsvOptions& options = {}) {
  StatusOr<Table> t = ReadCsvBuffer(csv, options);
  EXPECT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  return Message(t.status());
}

std::vector<std::string> Strings(const Column& c) {
  std::vector<std::string> out;
  for (size_t i = 0; i < c.size(); ++i) {
    out.push_back(c.IsNull(i) ? "<null>" : std::string(c.StringAt(i)));
  }
  return out;
}

const Column& Col(const Table& t, std::string_view name) {
  const Column* c = t.Find(name);
  EXPECT_NE(c, nullptr) << name;
  static const Column kMissing("missing", ColumnType::kString);
  return c != nullptr ? *c : kMissing;
}

// ---- RFC 4180 ----

TEST(CsvRfc4180, PlainRecords) {
  Table t = MustRead("a,b,c\n1,x,2.5\n3,y,4\n");
  ASSERT_EQ(t.num_columns(), 3u);
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(t.columns()[0].name(), "a");
  EXPECT_EQ(Col(t, "a").int64s(), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(Col(t, "c").float64s(), (std::vector<double>{2.5, 4.0}));
}

TEST(CsvRfc4180, QuotedFieldsWithDelimitersNewlinesAndDoubledQuotes) {
  Table t = MustRead(
      "\"name\",\"note\"\n"
      "\"Smith, J\",\"line one\nline two\"\n"
      "\"say \"\"hi\"\"\",\"crlf\r\ninside\"\n"
      "plain,\"\"\"\"\n");
  ASSERT_EQ(t.num_rows(), 3u);
  EXPECT_EQ(Strings(Col(t, "name")), (std::vector<std::string>{"Smith, J", "say \"hi\"", "plain"}));
  EXPECT_EQ(Strings(Col(t, "note")),
            (std::vector<std::string>{"line one\nline two", "crlf\r\ninside", "\""}));
}

TEST(CsvRfc4180, CrlfLineEndsAndNoFinalLineBreak) {
  Table t = MustRead("a,b\r\n1,\"x\"\r\n2,y");
  ASSERT_EQ(t.num_rows(), 2u);
  EXPECT_EQ(Col(t, "a").int64s(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"x", "y"}));
  Table u = MustRead("a,b\r\n1,x\r\n");
  EXPECT_EQ(Strings(Col(u, "b")), (std::vector<std::string>{"x"}));
}

TEST(CsvRfc4180, ByteOrderMarkIsSkipped) {
  Table t = MustRead("\xEF\xBB\xBFid,name\n1,caf\xC3\xA9\n");
  ASSERT_NE(t.Find("id"), nullptr);
  EXPECT_EQ(Strings(Col(t, "name")), (std::vector<std::string>{"caf\xC3\xA9"}));
}

TEST(CsvRfc4180, EmptyFieldsAndBlankLines) {
  Table t = MustRead("a,b,c\n\n1,,\n\r\n,\"\",3\n\n");
  ASSERT_EQ(t.num_rows(), 2u);
  const Column& a = Col(t, "a");
  EXPECT_EQ(a.type(), ColumnType::kInt64);
  EXPECT_FALSE(a.IsNull(0));
  EXPECT_TRUE(a.IsNull(1));
  EXPECT_EQ(Col(t, "b").null_count(), 2u);  // "" quoted is empty too
  EXPECT_TRUE(Col(t, "c").IsNull(0));
  EXPECT_EQ(Col(t, "c").int64s()[1], 3);
}

TEST(CsvRfc4180, OtherDelimiterAndNullTokens) {
  CsvOptions options;
  options.delimiter = ';';
  options.null_values = {"-", "null"};
  Table t = MustRead("a;b\n1,5;null\n-;x\n", options);
  EXPECT_EQ(Strings(Col(t, "a")), (std::vector<std::string>{"1,5", "<null>"}));
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"<null>", "x"}));
  options.delimiter = '\t';
  options.null_values = {};
  Table u = MustRead("a\tb\n\t1\n", options);
  EXPECT_EQ(Strings(Col(u, "a")), (std::vector<std::string>{""}));  // not null: no null tokens
}

TEST(CsvRfc4180, LongNullTokens) {
  CsvOptions options;
  const std::string missing(70, 'm');
  options.null_values = {missing};
  Table t = MustRead("a,b\n" + missing + ",x\n1,\n", options);
  EXPECT_TRUE(Col(t, "a").IsNull(0));
  EXPECT_EQ(Col(t, "a").type(), ColumnType::kInt64);
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"x", ""}));
}

TEST(CsvRfc4180, QuotedAndUnquotedSpellingsAreOneString) {
  std::string csv = "s,n\n";
  for (int i = 0; i < 50; ++i) {
    csv += "abc,1\n\"abc\",2\n\"a\"\"b\",3\na\"\"b,4\n\"0123456789abcdefXYZ\",5\n";
  }
  StatusOr<Table> t = ReadCsvBuffer(csv);
  ASSERT_FALSE(t.ok());  // a"b unquoted is malformed
  csv = "s,n\n";
  for (int i = 0; i < 50; ++i) {
    csv += "abc,1\n\"abc\",2\n\"a\"\"b\",3\n\"0123456789abcdef\",4\n0123456789abcdef,5\n";
  }
  Table u = MustRead(csv);
  EXPECT_EQ(Col(u, "s").dictionary(),
            (std::vector<std::string>{"abc", "a\"b", "0123456789abcdef"}));
  EXPECT_EQ(Col(u, "s").codes()[245], 0);
  EXPECT_EQ(Col(u, "s").codes()[248], 2);
  EXPECT_EQ(Col(u, "s").codes()[249], 2);
}

TEST(CsvRfc4180, HeaderOnlyGivesZeroRows) {
  Table t = MustRead("a,b\n");
  EXPECT_EQ(t.num_columns(), 2u);
  EXPECT_EQ(t.num_rows(), 0u);
  EXPECT_EQ(Col(t, "a").type(), ColumnType::kString);
}

// ---- malformed input: exact line and column ----

TEST(CsvErrors, RaggedRecords) {
  EXPECT_EQ(ErrorOf("a,b,c\n1,2,3\n1,2\n"), "line 3: expected 3 fields, found 2");
  EXPECT_EQ(ErrorOf("a,b\n1,2\n3,4,5\n"), "line 3: expected 2 fields, found 3");
  // Line numbers count physical lines, including those inside quoted fields and blank lines.
  EXPECT_EQ(ErrorOf("a,b\n\"x\ny\",1\n\n7\n"), "line 5: expected 2 fields, found 1");
}

TEST(CsvErrors, UnterminatedQuote) {
  EXPECT_EQ(ErrorOf("a,b\n1,2\n3,\"abc\n4,5\n"),
            "line 3, column 2 (\"b\"): unterminated quoted field: no closing quote before the end");
}

TEST(CsvErrors, TextAfterClosingQuote) {
  EXPECT_EQ(ErrorOf("a,b\n1,\"x\"y\n"),
            "line 2, column 2 (\"b\"): expected \",\" or a line break after the closing quote, "
            "found \"y\"");
}

TEST(CsvErrors, QuoteInsideUnquotedField) {
  EXPECT_EQ(ErrorOf("a,b\n1,2\n1,ab\"c\n"),
            "line 3, column 2 (\"b\"): unexpected quote inside an unquoted field (quote the whole "
            "field and double the quotes in it)");
}

TEST(CsvErrors, InvalidUtf8) {
  EXPECT_EQ(ErrorOf("a,b\n1,ok\n2,caf\xE9\n"), "line 3, column 2 (\"b\"): invalid UTF-8");
  // Inside a quoted field, the line of the bad byte.
  EXPECT_EQ(ErrorOf("a,b\n1,\"x\ny\xC0\xAF\"\n"), "line 3, column 2 (\"b\"): invalid UTF-8");
  EXPECT_EQ(ErrorOf("a,\xED\xA0\x80\n"), "line 1, column 2: invalid UTF-8");  // a surrogate
}

TEST(CsvErrors, HeaderProblems) {
  EXPECT_EQ(ErrorOf("a,b,a\n1,2,3\n"),
            "line 1, column 3 (\"a\"): duplicate column name (also column 1)");
  EXPECT_EQ(ErrorOf("a,,c\n1,2,3\n"), "line 1, column 2: empty column name in the header");
  EXPECT_EQ(ErrorOf(""), "empty CSV: no header record");
  EXPECT_EQ(ErrorOf("\n\r\n"), "empty CSV: no header record");
  EXPECT_EQ(ErrorOf("\xEF\xBB\xBF"), "empty CSV: no header record");
}

TEST(CsvErrors, ForcedTypeThatACellCannotBe) {
  CsvOptions options;
  options.column_types = {{"b", ColumnType::kInt64}};
  EXPECT_EQ(ErrorOf("a,b\n1,2\n3,NA\n4,x1\n", options),
            "line 4, column 2 (\"b\"): expected int64 (the type set for this column), found "
            "\"x1\"");
  options.column_types = {{"nope", ColumnType::kInt64}};
  EXPECT_EQ(ErrorOf("a,b\n1,2\n", options),
            "column_types names \"nope\", which is not a column of the CSV header");
}

TEST(CsvErrors, BadOptions) {
  CsvOptions options;
  options.delimiter = '"';
  EXPECT_EQ(ReadCsvBuffer("a\n", options).status().code(), absl::StatusCode::kInvalidArgument);
  options.delimiter = '\n';
  EXPECT_EQ(ReadCsvBuffer("a\n", options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CsvErrors, FileErrorsNameThePath) {
  EXPECT_EQ(ReadCsv("/nonexistent/x.csv").status().code(), absl::StatusCode::kNotFound);
  auto path = std::filesystem::temp_directory_path() /
              ("plinth-csv-empty-" + std::to_string(::getpid()) + ".csv");
  { std::ofstream(path) << "a,b\n1\n"; }
  auto t = ReadCsv(path.string());
  EXPECT_EQ(Message(t.status()), path.string() + ": line 2: expected 2 fields, found 1");
  { std::ofstream out(path); }
  EXPECT_EQ(ReadCsv(path.string()).status().code(), absl::StatusCode::kInvalidArgument);
  std::filesystem::remove(path);
}

TEST(CsvFiles, ReadsFromAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string csv = "a,b\n1,x\n2,y\n";
  ASSERT_EQ(::write(fds[1], csv.data(), csv.size()), static_cast<ssize_t>(csv.size()));
  ::close(fds[1]);
  auto t = ReadCsv("/dev/fd/" + std::to_string(fds[0]));
  ::close(fds[0]);
  ASSERT_TRUE(t.ok()) << Message(t.status());
  EXPECT_EQ(t->num_rows(), 2u);
}

// ---- type inference ----

TEST(CsvTypes, IntegersKeepLeadingZerosAsInt) {
  Table t = MustRead("a\n007\n-0\n+5\n9223372036854775807\n-9223372036854775808\n");
  const Column& a = Col(t, "a");
  ASSERT_EQ(a.type(), ColumnType::kInt64);
  EXPECT_EQ(a.int64s(), (std::vector<int64_t>{7, 0, 5, INT64_MAX, INT64_MIN}));
}

TEST(CsvTypes, FloatsAndMixedIntFloat) {
  Table t = MustRead("a,b,c\n1e5,1,9223372036854775808\n.5,2.5,1\n-1.5E-3,3,2\n");
  EXPECT_EQ(Col(t, "a").type(), ColumnType::kFloat64);
  EXPECT_EQ(Col(t, "a").float64s(), (std::vector<double>{1e5, 0.5, -1.5e-3}));
  EXPECT_EQ(Col(t, "b").type(), ColumnType::kFloat64);  // int + float -> float
  EXPECT_EQ(Col(t, "b").float64s(), (std::vector<double>{1, 2.5, 3}));
  EXPECT_EQ(Col(t, "c").type(), ColumnType::kFloat64);  // past int64 -> float
  Table special = MustRead("x\ninf\n-inf\nnan\n1\n");
  const Column& x = Col(special, "x");
  ASSERT_EQ(x.type(), ColumnType::kFloat64);
  EXPECT_TRUE(std::isinf(x.float64s()[0]));
  EXPECT_TRUE(std::isnan(x.float64s()[2]));
}

TEST(CsvTypes, IntWithNullsStaysInt) {
  // The blank line is skipped; a quoted empty field is a null cell.
  Table t = MustRead("a\n1\nNA\n\n3\n\"NA\"\n\"\"\n");
  const Column& a = Col(t, "a");
  ASSERT_EQ(a.type(), ColumnType::kInt64);
  EXPECT_EQ(a.size(), 5u);
  EXPECT_EQ(a.null_count(), 3u);
  EXPECT_EQ(a.int64s(), (std::vector<int64_t>{1, 0, 3, 0, 0}));
  Table b = MustRead("a,b\n1,x\n,y\n");
  EXPECT_EQ(Col(b, "a").type(), ColumnType::kInt64);
  EXPECT_TRUE(Col(b, "a").IsNull(1));
}

TEST(CsvTypes, Bools) {
  Table t = MustRead("a,b\nTrue,true\nfalse,1\nTRUE,0\nNA,false\n");
  const Column& a = Col(t, "a");
  ASSERT_EQ(a.type(), ColumnType::kBool);
  EXPECT_EQ(a.bools(), (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_TRUE(a.IsNull(3));
  EXPECT_EQ(Col(t, "b").type(), ColumnType::kString);  // bool + int -> string, text kept
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"true", "1", "0", "false"}));
}

TEST(CsvTypes, Timestamps) {
  Table t = MustRead(
      "t\n"
      "2024-01-31\n"
      "2024-01-31T12:00:00Z\n"
      "2024-01-31T12:00:00.5+01:00\n"
      "2024-01-31 12:00\n"
      "1969-12-31T23:59:59.999999-0030\n"
      "2000-02-29T00:00:00.1234567+05\n");
  const Column& c = Col(t, "t");
  ASSERT_EQ(c.type(), ColumnType::kTimestamp);
  const int64_t day = 1706659200;  // 2024-01-31T00:00:00Z in seconds
  EXPECT_EQ(c.int64s()[0], day * 1000000);
  EXPECT_EQ(c.int64s()[1], (day + 43200) * 1000000);
  EXPECT_EQ(c.int64s()[2], (day + 39600) * 1000000 + 500000);
  EXPECT_EQ(c.int64s()[3], (day + 43200) * 1000000);
  EXPECT_EQ(c.int64s()[4], (-1 + 1800) * int64_t{1000000} + 999999);
  EXPECT_EQ(c.int64s()[5], (951782400 - 5 * 3600) * int64_t{1000000} + 123456);
  for (const char* bad :
       {"2024-02-30", "2023-02-29", "2024-13-01", "2024-01-31T24:00", "2024-01-31T12", "2024-1-31",
        "2024-01-31Z", "2024-01-31T12:00:00.", "2024-01-31T12:00+1"}) {
    Table u = MustRead(std::string("t\n2024-01-31\n") + bad + "\n");
    EXPECT_EQ(Col(u, "t").type(), ColumnType::kString) << bad;
  }
}

TEST(CsvTypes, MixedKindsBecomeStringsWithTheOriginalText) {
  Table t = MustRead("a,b\n007,2024-01-01\n1.50,x\nabc,true\n");
  EXPECT_EQ(Strings(Col(t, "a")), (std::vector<std::string>{"007", "1.50", "abc"}));
  EXPECT_EQ(Strings(Col(t, "b")), (std::vector<std::string>{"2024-01-01", "x", "true"}));
  Table n = MustRead("a\nNA\n\n");
  EXPECT_EQ(Col(n, "a").type(), ColumnType::kString);  // no non-null cell
  EXPECT_EQ(Col(n, "a").null_count(), 1u);
  Table q = MustRead("a\n\"5\"\n\" 5\"\n");
  EXPECT_EQ(Col(q, "a").type(), ColumnType::kString);  // " 5" is not a number
}

TEST(CsvTypes, ForcedTypes) {
  CsvOptions options;
  options.column_types = {
      {"zip", ColumnType::kString}, {"x", ColumnType::kFloat64}, {"t", ColumnType::kTimestamp}};
  Table t = MustRead("zip,x,t\n00501,1,2024-01-01\n10001,NA,NA\n", options);
  EXPECT_EQ(Strings(Col(t, "zip")), (std::vector<std::string>{"00501", "10001"}));
  EXPECT_EQ(Col(t, "x").type(), ColumnType::kFloat64);
  EXPECT_EQ(Col(t, "x").float64s()[0], 1.0);
  EXPECT_TRUE(Col(t, "x").IsNull(1));
  EXPECT_EQ(Col(t, "t").type(), ColumnType::kTimestamp);
}

TEST(CsvTypes, StringDictionaryFollowsFirstAppearance) {
  Table t = MustRead("s\nb\na\nb\nc\na\n");
  EXPECT_EQ(Col(t, "s").dictionary(), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(Col(t, "s").codes(), (std::vector<int32_t>{0, 1, 0, 2, 1}));
}

// ---- the example data sets ----

std::string Example(const std::string& name) {
  return std::string(PLINTH_EXAMPLES_DATA) + "/" + name;
}

TEST(CsvExamples, LendingClub) {
  auto t = ReadCsv(Example("lending_club.csv"));
  ASSERT_TRUE(t.ok()) << Message(t.status());
  EXPECT_EQ(t->num_rows(), 9857u);
  EXPECT_EQ(t->num_columns(), 23u);
  EXPECT_EQ(Col(*t, "funded_amnt").type(), ColumnType::kInt64);
  EXPECT_EQ(Col(*t, "int_rate").type(), ColumnType::kFloat64);
  EXPECT_EQ(Col(*t, "addr_state").type(), ColumnType::kString);
  EXPECT_EQ(Col(*t, "addr_state").dictionary().size(), 50u);
  EXPECT_EQ(Col(*t, "sub_grade").dictionary().size(), 35u);
  EXPECT_EQ(Col(*t, "Class").dictionary().size(), 2u);
  EXPECT_EQ(Col(*t, "funded_amnt").int64s()[0], 16100);
  EXPECT_EQ(Col(*t, "term").StringAt(0), "term_36");
  for (const Column& c : t->columns()) EXPECT_EQ(c.null_count(), 0u) << c.name();
}

TEST(CsvExamples, CreditDataMissingValuesAreNulls) {
  auto t = ReadCsv(Example("credit_data.csv"));
  ASSERT_TRUE(t.ok()) << Message(t.status());
  EXPECT_EQ(t->num_rows(), 4454u);
  EXPECT_EQ(t->num_columns(), 14u);
  // Null counts as pandas reports them for the same file.
  std::map<std::string, size_t> nulls = {{"Home", 6},     {"Marital", 1}, {"Job", 2},
                                         {"Income", 381}, {"Assets", 47}, {"Debt", 18}};
  for (const Column& c : t->columns()) {
    EXPECT_EQ(c.null_count(), nulls.count(c.name()) ? nulls[c.name()] : 0u) << c.name();
  }
  EXPECT_EQ(Col(*t, "Income").type(), ColumnType::kInt64);  // integers with nulls stay int
  EXPECT_EQ(Col(*t, "Home").type(), ColumnType::kString);
  EXPECT_EQ(Col(*t, "Status").dictionary(), (std::vector<std::string>{"good", "bad"}));
}

TEST(CsvExamples, Hmda) {
  auto t = ReadCsv(Example("hmda.csv"));
  ASSERT_TRUE(t.ok()) << Message(t.status());
  EXPECT_EQ(t->num_rows(), 2380u);
  EXPECT_EQ(t->num_columns(), 14u);
  EXPECT_EQ(Col(*t, "pirat").type(), ColumnType::kFloat64);
  EXPECT_EQ(Col(*t, "chist").type(), ColumnType::kInt64);  // quoted digits are numbers
  EXPECT_EQ(Col(*t, "afam").dictionary().size(), 2u);
}

// ---- parallel chunks ----

// A CSV of `rows` records whose quoted fields hold delimiters, doubled quotes, LF and CRLF, with
// nulls, CRLF record ends, and columns whose type only widens late in the file.
std::string GeneratedCsv(size_t rows, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string csv = "id,amount,note,flag,when,late_float,late_string\n";
  for (size_t i = 0; i < rows; ++i) {
    csv += std::to_string(i) + ",";
    csv += (rng() % 10 == 0)
               ? "NA,"
               : std::to_string(rng() % 100000) + "." + std::to_string(rng() % 100) + ",";
    switch (rng() % 5) {
      case 0:
        csv += "\"multi\nline " + std::to_string(i) + "\",";
        break;
      case 1:
        csv += "\"has, comma and \"\"quotes\"\"\r\nand crlf\",";
        break;
      case 2:
        csv += ",";
        break;
      case 3:
        csv += "cat" + std::to_string(rng() % 50) + ",";
        break;
      default:
        csv += "\"\",";
    }
    csv += (rng() % 2) ? "true," : "False,";
    csv += "2024-01-" + std::to_string(10 + rng() % 20) + "T0" + std::to_string(rng() % 10) +
           ":00:00Z,";
    csv += (i == rows - 3) ? "0.5," : std::to_string(rng() % 1000) + ",";
    csv += (i == rows - 2) ? "\"x\ny\"" : std::to_string(rng() % 7);
    csv += (rng() % 3 == 0) ? "\r\n" : "\n";
  }
  return csv;
}

TEST(CsvParallel, ChunkedParseIsIdenticalToSerial) {
  const std::string csv = GeneratedCsv(20000, 7);
  CsvOptions serial;
  serial.num_threads = 1;
  serial.chunk_bytes = csv.size() + 1;
  Table one = MustRead(csv, serial);
  ASSERT_EQ(one.num_rows(), 20000u);
  EXPECT_EQ(Col(one, "late_float").type(), ColumnType::kFloat64);
  EXPECT_EQ(Col(one, "late_string").type(), ColumnType::kString);
  EXPECT_EQ(Col(one, "late_string").StringAt(19998), "x\ny");
  EXPECT_EQ(Col(one, "when").type(), ColumnType::kTimestamp);
  EXPECT_EQ(Col(one, "flag").type(), ColumnType::kBool);
  const std::string reference = TableToSnapshot(one);
  for (size_t chunk : {size_t{64}, size_t{1000}, size_t{4093}, size_t{65536}}) {
    for (int threads : {1, 2, 4}) {
      CsvOptions parallel;
      parallel.num_threads = threads;
      parallel.chunk_bytes = chunk;
      Table many = MustRead(csv, parallel);
      EXPECT_TRUE(many == one) << "chunk " << chunk << " threads " << threads;
      EXPECT_EQ(TableToSnapshot(many), reference);
    }
  }
  // The memory-mapped file path gives the same table.
  auto path = std::filesystem::temp_directory_path() /
              ("plinth-csv-gen-" + std::to_string(::getpid()) + ".csv");
  { std::ofstream(path, std::ios::binary) << csv; }
  CsvOptions file_options;
  file_options.chunk_bytes = 3000;
  file_options.num_threads = 2;
  auto from_file = ReadCsv(path.string(), file_options);
  std::filesystem::remove(path);
  ASSERT_TRUE(from_file.ok()) << Message(from_file.status());
  EXPECT_TRUE(*from_file == one);
}

TEST(CsvParallel, ErrorsInLaterChunksReportTheFirstProblemAndItsLine) {
  std::string csv = GeneratedCsv(3000, 11);
  const size_t lines_before = static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n'));
  std::string bad = csv + "1,2,3\n" + csv.substr(csv.find('\n') + 1) + "x\n";
  CsvOptions options;
  options.num_threads = 4;
  options.chunk_bytes = 500;
  EXPECT_EQ(ErrorOf(bad, options),
            "line " + std::to_string(lines_before + 1) + ": expected 7 fields, found 3");
  // An unmatched quote in the middle: the chunks after it are cut where the quote parity says,
  // and the first error is still the one a serial parse finds.
  std::string unterminated = csv + "1,2,\"open,x,2024-01-01,1,1\n" + csv.substr(csv.find('\n') + 1);
  std::string message = ErrorOf(unterminated, options);
  EXPECT_NE(message.find("(the quoted field opened on line " + std::to_string(lines_before + 1)),
            std::string::npos)
      << message;
  options.num_threads = 1;
  options.chunk_bytes = unterminated.size();
  EXPECT_EQ(ErrorOf(unterminated, options), message);
}

}  // namespace
}  // namespace plinth
