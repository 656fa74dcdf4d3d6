#include "data/csv_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "data/csv_reader.h"
#include "data/synth_transactions.h"

namespace plinth {
namespace {

TEST(CsvWriterTest, RoundTripsEveryTypeQuotingAndNulls) {
  Table t;
  Column id("id", ColumnType::kInt64);
  Column x("x", ColumnType::kFloat64);
  Column flag("flag", ColumnType::kBool);
  Column name("name, quoted", ColumnType::kString);
  Column ts("ts", ColumnType::kTimestamp);
  const std::vector<std::string> names = {"plain",      "a,b",      "say \"hi\"",
                                          "two\nlines", " padded ", "x"};
  for (size_t i = 0; i < names.size(); ++i) {
    id.AppendInt64(static_cast<int64_t>(i) - 3);
    if (i == 2) {
      x.AppendNull();
      flag.AppendNull();
      ts.AppendNull();
    } else {
      x.AppendFloat64(0.1 * static_cast<double>(i) + 1e-17);
      flag.AppendBool(i % 2 == 0);
      ts.AppendInt64(int64_t{1767225600} * 1000000 + static_cast<int64_t>(i) * 1234567);
    }
    name.AppendString(names[i]);
  }
  for (Column* c : {&id, &x, &flag, &name, &ts}) ASSERT_TRUE(t.AddColumn(std::move(*c)).ok());
  std::string csv = WriteCsvBuffer(t);
  auto back = ReadCsvBuffer(csv);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == t) << csv;
}

TEST(CsvWriterTest, DoublesReadBackExactly) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  Table t;
  Column x("x", ColumnType::kFloat64);
  for (int i = 0; i < 2000; ++i) x.AppendFloat64(u(rng) / 3.0);
  x.AppendFloat64(std::numeric_limits<double>::max());
  x.AppendFloat64(std::numeric_limits<double>::denorm_min());
  x.AppendFloat64(std::numeric_limits<double>::infinity());
  ASSERT_TRUE(t.AddColumn(std::move(x)).ok());
  auto back = ReadCsvBuffer(WriteCsvBuffer(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == t);
}

TEST(CsvWriterTest, SyntheticTransactionsRoundTrip) {
  SynthTransactionsOptions options;
  options.customers = 50;
  options.days = 5;
  auto table = GenerateSyntheticTransactions(options);
  ASSERT_TRUE(table.ok()) << table.status();
  auto back = ReadCsvBuffer(WriteCsvBuffer(*table));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == *table);
}

}  // namespace
}  // namespace plinth
