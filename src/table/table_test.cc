#include "table/table.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "core/sha256.h"
#include "table/string_index.h"
#include "table/table_snapshot.h"

namespace plinth {
namespace {

std::string Message(const Status& s) { return std::string(s.message()); }

// A table with every type, nulls in each column, and a few awkward values.
Table SampleTable(size_t rows) {
  Column ints("id", ColumnType::kInt64);
  Column floats("income", ColumnType::kFloat64);
  Column bools("flag", ColumnType::kBool);
  Column strings("state", ColumnType::kString);
  Column times("at", ColumnType::kTimestamp);
  const char* states[] = {"CA", "NY", "", "TX", "caf\xc3\xa9"};
  for (size_t i = 0; i < rows; ++i) {
    if (i % 7 == 3) {
      ints.AppendNull();
    } else {
      ints.AppendInt64(i == 1 ? std::numeric_limits<int64_t>::min() : static_cast<int64_t>(i) * 3);
    }
    if (i % 5 == 4) {
      floats.AppendNull();
    } else {
      floats.AppendFloat64(i == 2 ? -0.0 : static_cast<double>(i) / 3);
    }
    if (i % 3 == 2) {
      bools.AppendNull();
    } else {
      bools.AppendBool(i % 2 == 0);
    }
    if (i % 4 == 1) {
      strings.AppendNull();
    } else {
      strings.AppendString(states[i % 5]);
    }
    if (i % 6 == 5) {
      times.AppendNull();
    } else {
      times.AppendInt64(1706702400000000 + static_cast<int64_t>(i));
    }
  }
  Table t;
  EXPECT_TRUE(t.AddColumn(std::move(ints)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(floats)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(bools)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(strings)).ok());
  EXPECT_TRUE(t.AddColumn(std::move(times)).ok());
  return t;
}

TEST(ColumnType, NamesRoundTrip) {
  for (ColumnType t : {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool,
                       ColumnType::kString, ColumnType::kTimestamp}) {
    EXPECT_EQ(ParseColumnType(ColumnTypeName(t)), t);
  }
  EXPECT_EQ(ParseColumnType("double"), std::nullopt);
  EXPECT_EQ(ColumnTypeName(ColumnType::kFloat64), "float64");
}

TEST(StringIndex, InternsInFirstAppearanceOrderAcrossGrowth) {
  std::vector<std::string> dict;
  StringIndex index;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 1000; ++i) {
      EXPECT_EQ(index.Intern("value-" + std::to_string(i), dict), i);
    }
  }
  EXPECT_EQ(dict.size(), 1000u);
  EXPECT_EQ(index.size(), 1000u);
  EXPECT_EQ(index.Find("value-999", dict), 999);
  EXPECT_EQ(index.Find("value-1000", dict), std::nullopt);
  EXPECT_EQ(index.Intern("", dict), 1000);
  EXPECT_EQ(index.Find("", dict), 1000);

  StringIndex rebuilt;
  EXPECT_TRUE(rebuilt.Rebuild(dict));
  EXPECT_EQ(rebuilt.Find("value-17", dict), 17);
  std::vector<std::string> dup = {"a", "b", "a"};
  EXPECT_FALSE(rebuilt.Rebuild(dup));
}

TEST(Column, AppendsValuesAndNulls) {
  Column c("state", ColumnType::kString);
  c.AppendString("CA");
  c.AppendNull();
  c.AppendString("NY");
  c.AppendString("CA");
  EXPECT_EQ(c.size(), 4u);
  EXPECT_EQ(c.null_count(), 1u);
  EXPECT_TRUE(c.IsNull(1));
  EXPECT_EQ(c.StringAt(0), "CA");
  EXPECT_EQ(c.StringAt(1), "");
  EXPECT_EQ(c.StringAt(3), "CA");
  EXPECT_EQ(c.codes(), (std::vector<int32_t>{0, -1, 1, 0}));
  EXPECT_EQ(c.dictionary(), (std::vector<std::string>{"CA", "NY"}));
  EXPECT_EQ(c.FindCode("NY"), 1);
  EXPECT_EQ(c.FindCode("TX"), std::nullopt);
  EXPECT_EQ(c.NumberAt(0), std::nullopt);

  Column f("x", ColumnType::kFloat64);
  f.Reserve(3);
  f.AppendFloat64(1.5);
  f.AppendNull();
  EXPECT_EQ(f.NumberAt(0), 1.5);
  EXPECT_EQ(f.NumberAt(1), std::nullopt);
  EXPECT_EQ(f.float64s()[1], 0.0);

  Column b("b", ColumnType::kBool);
  b.AppendBool(true);
  EXPECT_EQ(b.NumberAt(0), 1.0);
  Column t("t", ColumnType::kTimestamp);
  t.AppendInt64(42);
  EXPECT_EQ(t.int64s()[0], 42);
}

TEST(Column, CopiesAreIndependent) {
  Column a("s", ColumnType::kString);
  a.AppendString("x");
  Column b = a;
  b.AppendString("y");
  a.AppendString("z");
  EXPECT_EQ(a.dictionary(), (std::vector<std::string>{"x", "z"}));
  EXPECT_EQ(b.dictionary(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(a.FindCode("z"), 1);
  EXPECT_EQ(b.FindCode("z"), std::nullopt);
}

TEST(Column, BulkBuildersCheckTheirInput) {
  auto ints = Column::FromInt64s("a", ColumnType::kInt64, {1, 2, 3}, {1, 0, 1});
  ASSERT_TRUE(ints.ok());
  EXPECT_EQ(ints->int64s(), (std::vector<int64_t>{1, 0, 3}));  // null cell reset to default
  EXPECT_EQ(ints->null_count(), 1u);
  EXPECT_EQ(Column::FromInt64s("a", ColumnType::kInt64, {1, 2}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(Column::FromInt64s("a", ColumnType::kString, {1}, {1}).ok());
  EXPECT_FALSE(Column::FromBools("b", {2}, {1}).ok());
  EXPECT_FALSE(Column::FromCodes("s", {0, 2}, {"a", "b"}, {1, 1}).ok());
  EXPECT_FALSE(Column::FromCodes("s", {0, 1}, {"a", "a"}, {1, 1}).ok());
  auto strings = Column::FromCodes("s", {1, 7, 0}, {"a", "b"}, {1, 0, 1});
  ASSERT_TRUE(strings.ok()) << Message(strings.status());
  EXPECT_EQ(strings->codes(), (std::vector<int32_t>{1, -1, 0}));
  EXPECT_EQ(strings->FindCode("b"), 1);
  Column appended = *strings;
  appended.AppendString("b");
  appended.AppendString("c");
  EXPECT_EQ(appended.codes(), (std::vector<int32_t>{1, -1, 0, 1, 2}));
}

TEST(Table, AddColumnChecksNamesAndLengths) {
  Table t;
  Column a("a", ColumnType::kInt64);
  a.AppendInt64(1);
  ASSERT_TRUE(t.AddColumn(a).ok());
  EXPECT_EQ(t.AddColumn(a).code(), absl::StatusCode::kAlreadyExists);
  Column b("b", ColumnType::kInt64);
  EXPECT_EQ(t.AddColumn(b).code(), absl::StatusCode::kInvalidArgument);
  b.AppendNull();
  ASSERT_TRUE(t.AddColumn(b).ok());
  EXPECT_EQ(t.num_rows(), 1u);
  EXPECT_EQ(t.num_columns(), 2u);
  ASSERT_NE(t.Find("b"), nullptr);
  EXPECT_TRUE(t.Find("b")->IsNull(0));
  EXPECT_EQ(t.Find("c"), nullptr);
}

TEST(Table, EqualityComparesEverything) {
  Table a = SampleTable(20);
  Table b = SampleTable(20);
  EXPECT_TRUE(a == b);
  Table c = SampleTable(21);
  EXPECT_FALSE(a == c);
}

TEST(Snapshot, RoundTripsEveryType) {
  for (size_t rows : {0, 1, 7, 8, 9, 1000}) {
    Table t = SampleTable(rows);
    std::string bytes = TableToSnapshot(t);
    auto back = TableFromSnapshot(bytes);
    ASSERT_TRUE(back.ok()) << rows << ": " << Message(back.status());
    EXPECT_TRUE(*back == t) << rows;
    std::istringstream in(bytes);
    auto streamed = ReadTableSnapshot(in);
    ASSERT_TRUE(streamed.ok()) << Message(streamed.status());
    EXPECT_TRUE(*streamed == t);
  }
  Table empty;
  auto back = TableFromSnapshot(TableToSnapshot(empty));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->num_columns(), 0u);
}

TEST(Snapshot, KeepsSpecialFloats) {
  Column f("f", ColumnType::kFloat64);
  for (double v : {std::numeric_limits<double>::quiet_NaN(), -0.0,
                   std::numeric_limits<double>::infinity(), 1e-308, -1.5}) {
    f.AppendFloat64(v);
  }
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(f)).ok());
  auto back = TableFromSnapshot(TableToSnapshot(t));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == t);
  EXPECT_TRUE(std::isnan(back->columns()[0].float64s()[0]));
  EXPECT_TRUE(std::signbit(back->columns()[0].float64s()[1]));
}

TEST(Snapshot, IsDeterministic) {
  std::string a = TableToSnapshot(SampleTable(500));
  std::string b = TableToSnapshot(SampleTable(500));
  EXPECT_EQ(a, b);
  EXPECT_EQ(Sha256Digest(a), Sha256Digest(b));
  std::ostringstream out;
  ASSERT_TRUE(WriteTableSnapshot(SampleTable(500), out).ok());
  EXPECT_EQ(out.str(), a);
  EXPECT_NE(TableToSnapshot(SampleTable(501)), a);
}

TEST(Snapshot, LayoutMatchesTheFormatDoc) {
  Column c("ab", ColumnType::kString);
  c.AppendString("x");
  c.AppendNull();
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  std::string bytes = TableToSnapshot(t);
  std::string expected(
      "\x89PLTBL\r\n"                     // magic
      "\x01\x00\x00\x00"                  // version 1
      "\x00\x00\x00\x00"                  // flags
      "\x02\x00\x00\x00\x00\x00\x00\x00"  // rows
      "\x01\x00\x00\x00"                  // columns
      "\x02\x00\x00\x00"
      "ab"    // name
      "\x03"  // type: string
      "\x01"  // validity: row 0 valid, row 1 null
      "\x01\x00\x00\x00"
      "\x01\x00\x00\x00"
      "x"                                  // dictionary
      "\x00\x00\x00\x00\xff\xff\xff\xff",  // codes
      8 + 4 + 4 + 8 + 4 + 4 + 2 + 1 + 1 + 4 + 4 + 1 + 8);
  ASSERT_EQ(bytes.size(), expected.size() + 32);
  EXPECT_EQ(bytes.substr(0, expected.size()), expected);
  EXPECT_EQ(bytes.substr(expected.size()), [&] {
    Sha256 sha;
    sha.Update(expected);
    return sha.FinishRaw();
  }());
}

TEST(Snapshot, RefusesTruncatedInputWithDataLoss) {
  std::string bytes = TableToSnapshot(SampleTable(100));
  for (size_t cut = 8; cut < bytes.size(); cut += (cut < 64 ? 1 : 37)) {
    std::string prefix = bytes.substr(0, cut);
    auto t = TableFromSnapshot(prefix);
    ASSERT_FALSE(t.ok()) << cut;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << cut << Message(t.status());
    std::istringstream in(prefix);
    auto s = ReadTableSnapshot(in);
    ASSERT_FALSE(s.ok()) << cut;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << cut << Message(s.status());
  }
}

TEST(Snapshot, RefusesCorruptionWithDataLoss) {
  std::string bytes = TableToSnapshot(SampleTable(100));
  for (size_t pos = 16; pos < bytes.size(); pos += 13) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    auto t = TableFromSnapshot(bad);
    ASSERT_FALSE(t.ok()) << pos;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << pos;
    std::istringstream in(bad);
    auto s = ReadTableSnapshot(in);
    ASSERT_FALSE(s.ok()) << pos;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << pos << Message(s.status());
  }
  auto trailing = TableFromSnapshot(bytes + "x");
  EXPECT_EQ(trailing.status().code(), absl::StatusCode::kDataLoss);
  std::istringstream in(bytes + "x");
  EXPECT_EQ(ReadTableSnapshot(in).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Snapshot, RefusesForeignInputAndUnknownVersions) {
  EXPECT_EQ(TableFromSnapshot("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TableFromSnapshot("id,name\n1,x\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string bytes = TableToSnapshot(SampleTable(3));
  std::string v2 = bytes;
  v2[8] = 2;
  auto t = TableFromSnapshot(v2);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(Message(t.status()).find("version 2"), std::string::npos) << Message(t.status());
  std::istringstream in(v2);
  EXPECT_EQ(ReadTableSnapshot(in).status().code(), absl::StatusCode::kInvalidArgument);
  std::string flags = bytes;
  flags[12] = 1;
  EXPECT_EQ(TableFromSnapshot(flags).status().code(), absl::StatusCode::kInvalidArgument);
}

// Rewrites the checksum so structural checks (not the checksum) must catch the damage.
std::string Reseal(std::string bytes) {
  std::string body = bytes.substr(0, bytes.size() - 32);
  Sha256 sha;
  sha.Update(body);
  return body + sha.FinishRaw();
}

TEST(Snapshot, RefusesStructurallyInvalidInputEvenWithAValidChecksum) {
  Column c("s", ColumnType::kString);
  c.AppendString("x");
  c.AppendString("y");
  Table t;
  ASSERT_TRUE(t.AddColumn(std::move(c)).ok());
  const std::string bytes = TableToSnapshot(t);
  const size_t col = 28;  // first column record
  // Unknown type code.
  std::string bad_type = bytes;
  bad_type[col + 4 + 1] = 9;
  EXPECT_EQ(TableFromSnapshot(Reseal(bad_type)).status().code(), absl::StatusCode::kDataLoss);
  // Padding bits set in the validity bitmap.
  std::string padding = bytes;
  padding[col + 4 + 1 + 1] = static_cast<char>(0xff);
  EXPECT_EQ(TableFromSnapshot(Reseal(padding)).status().code(), absl::StatusCode::kDataLoss);
  // A code outside the dictionary.
  std::string code = bytes;
  code[bytes.size() - 32 - 4] = 5;
  auto r = TableFromSnapshot(Reseal(code));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << Message(r.status());
  // A huge row count does not allocate: it fails as truncated.
  std::string rows = bytes;
  rows[16 + 6] = 0x7f;
  auto huge = TableFromSnapshot(Reseal(rows));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kDataLoss);
  std::istringstream in(Reseal(rows));
  EXPECT_EQ(ReadTableSnapshot(in).status().code(), absl::StatusCode::kDataLoss);
}

TEST(Snapshot, FileRoundTrip) {
  auto dir =
      std::filesystem::temp_directory_path() / ("plinth-table-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "t.pltbl").string();
  Table t = SampleTable(3000);
  ASSERT_TRUE(WriteTableSnapshotFile(t, path).ok());
  auto back = ReadTableSnapshotFile(path);
  ASSERT_TRUE(back.ok()) << Message(back.status());
  EXPECT_TRUE(*back == t);
  auto digest = Sha256File(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, Sha256Digest(TableToSnapshot(t)));
  ASSERT_TRUE(WriteTableSnapshotFile(SampleTable(2), path).ok());  // replaces
  EXPECT_EQ(ReadTableSnapshotFile(path)->num_rows(), 2u);
  EXPECT_EQ(ReadTableSnapshotFile((dir / "missing").string()).status().code(),
            absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST(TakeRows, GathersEveryTypeWithNullsInTheGivenOrder) {
  Table t;
  Column ints("i", ColumnType::kInt64);
  Column strs("s", ColumnType::kString);
  Column flts("f", ColumnType::kFloat64);
  Column bools("b", ColumnType::kBool);
  for (int r = 0; r < 4; ++r) {
    ints.AppendInt64(r * 10);
    if (r == 2) {
      strs.AppendNull();
    } else {
      strs.AppendString(r % 2 == 0 ? "even" : "odd");
    }
    flts.AppendFloat64(r + 0.5);
    bools.AppendBool(r % 2 == 1);
  }
  ASSERT_TRUE(t.AddColumn(ints).ok());
  ASSERT_TRUE(t.AddColumn(strs).ok());
  ASSERT_TRUE(t.AddColumn(flts).ok());
  ASSERT_TRUE(t.AddColumn(bools).ok());
  std::vector<size_t> rows = {3, 2, 0, 3};
  Table out = TakeRows(t, rows);
  ASSERT_EQ(out.num_rows(), 4u);
  EXPECT_EQ(out.columns()[0].int64s(), (std::vector<int64_t>{30, 20, 0, 30}));
  EXPECT_EQ(out.columns()[1].StringAt(0), "odd");
  EXPECT_TRUE(out.columns()[1].IsNull(1));
  EXPECT_EQ(out.columns()[1].StringAt(2), "even");
  EXPECT_EQ(out.columns()[2].float64s()[1], 2.5);
  EXPECT_EQ(out.columns()[3].bools(), (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(out.columns()[0].name(), "i");
}

}  // namespace
}  // namespace plinth
