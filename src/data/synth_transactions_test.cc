#include "data/synth_transactions.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/csv_reader.h"

namespace plinth {
namespace {

constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;

std::string Message(const Status& s) { return std::string(s.message()); }

// A fresh folder for one test, removed afterwards.
class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("plinth_synth_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::string WriteAndRead(const SynthTransactionsOptions& options, const std::string& name) {
    Status s = WriteSyntheticTransactions(options, Path(name));
    EXPECT_TRUE(s.ok()) << Message(s);
    StatusOr<std::string> contents = ReadFile(Path(name));
    EXPECT_TRUE(contents.ok()) << Message(contents.status());
    return contents.ok() ? *contents : std::string();
  }

  std::filesystem::path dir_;
};

Table MustGenerate(const SynthTransactionsOptions& options) {
  StatusOr<Table> t = GenerateSyntheticTransactions(options);
  EXPECT_TRUE(t.ok()) << Message(t.status());
  return t.ok() ? std::move(t).value() : Table();
}

const Column& Col(const Table& t, std::string_view name) {
  const Column* c = t.Find(name);
  EXPECT_NE(c, nullptr) << name;
  static const Column kMissing("missing", ColumnType::kString);
  return c != nullptr ? *c : kMissing;
}

// ---- Options ----

TEST(SynthOptions, RejectsOutOfRangeOptionsNamingThem) {
  struct Case {
    SynthTransactionsOptions options;
    std::string name;
  };
  std::vector<Case> cases = {
      {{.customers = 0}, "customers"},
      {{.customers = 10000001}, "customers"},
      {{.days = 0}, "days"},
      {{.days = 3651}, "days"},
      {{.start_micros = -1}, "start_micros"},
      {{.days = 10, .start_micros = int64_t{253402300799} * 1000000}, "start_micros"},
  };
  for (const Case& c : cases) {
    Status s = ValidateSynthTransactionsOptions(c.options);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(Message(s).find(c.name), std::string::npos) << Message(s);
    EXPECT_EQ(GenerateSyntheticTransactions(c.options).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(WriteSyntheticTransactions(c.options, "/nonexistent/x.csv").code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidateSynthTransactionsOptions({.customers = 1, .days = 1}).ok());
  EXPECT_TRUE(ValidateSynthTransactionsOptions({.customers = 10000000, .days = 3650}).ok());
}

// ---- Determinism ----

TEST_F(SynthTest, SameSeedGivesByteIdenticalFiles) {
  SynthTransactionsOptions options{.customers = 300, .days = 20, .seed = 7};
  std::string a = WriteAndRead(options, "a.csv");
  std::string b = WriteAndRead(options, "b.csv");
  EXPECT_GT(a.size(), 10000u);
  EXPECT_EQ(a, b);
}

TEST_F(SynthTest, DifferentSeedGivesDifferentFiles) {
  std::string a = WriteAndRead({.customers = 300, .days = 20, .seed = 7}, "a.csv");
  std::string b = WriteAndRead({.customers = 300, .days = 20, .seed = 8}, "b.csv");
  EXPECT_NE(a, b);
}

// Pins the exact output, so a change to the generator (or a platform that computes differently)
// is noticed. Update the expected values only for an intended change of the generated data.
TEST_F(SynthTest, GoldenOutput) {
  std::string csv = WriteAndRead({.customers = 20, .days = 3, .seed = 42}, "golden.csv");
  size_t pos = 0;
  for (int line = 0; line < 4; ++line) pos = csv.find('\n', pos) + 1;
  EXPECT_EQ(csv.substr(0, pos),
            "transaction_id,customer_id,timestamp,amount,merchant_category,channel,country,"
            "is_fraud\n"
            "1,C00000017,2026-01-01T07:45:38.000000Z,105.82,electronics,chip,GB,0\n"
            "2,C00000005,2026-01-01T08:20:04.000000Z,29.78,health,contactless,GB,0\n"
            "3,C00000015,2026-01-01T08:32:52.000000Z,14.05,restaurants,online,GB,0\n");

  SynthTransactionsStats stats;
  ASSERT_TRUE(WriteSyntheticTransactions({.customers = 1000, .days = 30, .seed = 42},
                                         Path("big.csv"), &stats)
                  .ok());
  EXPECT_EQ(stats.transactions, 56178);
  EXPECT_EQ(stats.fraud_transactions, 86);
  StatusOr<std::string> digest = Sha256File(Path("big.csv"));
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, "sha256:763590d5de2c23f01feb077272b18ac34f34db4543abe89a3cfa36f80f2a0215");
}

TEST(SynthGenerate, CustomersKeepTheirHistoryWhenMoreCustomersAreAdded) {
  Table small = MustGenerate({.customers = 10, .days = 5, .seed = 3});
  Table large = MustGenerate({.customers = 40, .days = 5, .seed = 3});
  auto rows_of = [](const Table& t, std::string_view customer) {
    std::vector<std::pair<int64_t, double>> rows;
    const Column& ids = Col(t, "customer_id");
    for (size_t i = 0; i < t.num_rows(); ++i) {
      if (ids.StringAt(i) == customer) {
        rows.emplace_back(Col(t, "timestamp").int64s()[i], Col(t, "amount").float64s()[i]);
      }
    }
    return rows;
  };
  for (const char* customer : {"C00000001", "C00000007", "C00000010"}) {
    EXPECT_EQ(rows_of(small, customer), rows_of(large, customer)) << customer;
  }
}

// ---- Shape ----

TEST(SynthGenerate, RowCountIsPlausible) {
  Table t = MustGenerate({.customers = 1000, .days = 30, .seed = 1});
  double per_customer_day = static_cast<double>(t.num_rows()) / (1000.0 * 30.0);
  EXPECT_GT(per_customer_day, 1.2);
  EXPECT_LT(per_customer_day, 2.6);
  // Every customer appears, and activity differs between customers.
  EXPECT_EQ(Col(t, "customer_id").dictionary().size(), 1000u);
}

TEST(SynthGenerate, SortedInRangeAndWellFormed) {
  SynthTransactionsOptions options{.customers = 500, .days = 14, .seed = 5};
  Table t = MustGenerate(options);
  ASSERT_GT(t.num_rows(), 0u);
  const std::vector<int64_t>& ts = Col(t, "timestamp").int64s();
  const std::vector<int64_t>& ids = Col(t, "transaction_id").int64s();
  const std::vector<double>& amounts = Col(t, "amount").float64s();
  EXPECT_GE(ts.front(), options.start_micros);
  EXPECT_LT(ts.back(), options.start_micros + options.days * kDay);
  for (size_t i = 0; i < t.num_rows(); ++i) {
    if (i > 0) {
      ASSERT_LE(ts[i - 1], ts[i]) << "row " << i;
    }
    ASSERT_EQ(ids[i], static_cast<int64_t>(i) + 1);
    ASSERT_GT(amounts[i], 0.0);
    ASSERT_EQ(static_cast<double>(std::llround(amounts[i] * 100.0)) / 100.0, amounts[i]);
    ASSERT_EQ(ts[i] % 1000000, 0);
  }
  auto set_of = [](const Column& c) {
    return std::set<std::string>(c.dictionary().begin(), c.dictionary().end());
  };
  EXPECT_EQ(set_of(Col(t, "channel")),
            (std::set<std::string>{"chip", "contactless", "online", "atm"}));
  for (const std::string& category : set_of(Col(t, "merchant_category"))) {
    EXPECT_TRUE((std::set<std::string>{"grocery", "restaurants", "fuel", "retail",
                                       "online_services", "entertainment", "health", "utilities",
                                       "travel", "electronics", "jewelry", "cash_advance"})
                    .count(category))
        << category;
  }
  // Channels fit their categories.
  const Column& category = Col(t, "merchant_category");
  const Column& channel = Col(t, "channel");
  for (size_t i = 0; i < t.num_rows(); ++i) {
    std::string_view cat = category.StringAt(i);
    std::string_view chan = channel.StringAt(i);
    ASSERT_EQ(cat == "cash_advance", chan == "atm") << "row " << i;
    ASSERT_TRUE(cat != "online_services" || chan == "online") << "row " << i;
    ASSERT_TRUE(chan != "contactless" || amounts[i] <= 100.0) << "row " << i;
  }
}

TEST(SynthGenerate, StartNeedNotBeMidnight) {
  int64_t start = *ParseTime("2026-03-15T12:30:00Z");
  Table t = MustGenerate({.customers = 200, .days = 2, .seed = 9, .start_micros = start});
  ASSERT_GT(t.num_rows(), 0u);
  const std::vector<int64_t>& ts = Col(t, "timestamp").int64s();
  EXPECT_GE(ts.front(), start);
  EXPECT_LT(ts.back(), start + 2 * kDay);
}

// ---- CSV ----

TEST_F(SynthTest, CsvReadsBackAsTheGeneratedTable) {
  SynthTransactionsOptions options{.customers = 200, .days = 10, .seed = 11};
  SynthTransactionsStats stats;
  ASSERT_TRUE(WriteSyntheticTransactions(options, Path("t.csv"), &stats).ok());
  StatusOr<Table> read = ReadCsv(Path("t.csv"));
  ASSERT_TRUE(read.ok()) << Message(read.status());
  std::vector<std::pair<std::string, ColumnType>> expected = {
      {"transaction_id", ColumnType::kInt64},     {"customer_id", ColumnType::kString},
      {"timestamp", ColumnType::kTimestamp},      {"amount", ColumnType::kFloat64},
      {"merchant_category", ColumnType::kString}, {"channel", ColumnType::kString},
      {"country", ColumnType::kString},           {"is_fraud", ColumnType::kInt64}};
  ASSERT_EQ(read->num_columns(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(read->columns()[i].name(), expected[i].first);
    EXPECT_EQ(read->columns()[i].type(), expected[i].second) << expected[i].first;
    EXPECT_EQ(read->columns()[i].null_count(), 0u);
  }
  EXPECT_EQ(stats.transactions, static_cast<int64_t>(read->num_rows()));
  int64_t fraud = 0;
  for (int64_t v : Col(*read, "is_fraud").int64s()) fraud += v;
  EXPECT_EQ(stats.fraud_transactions, fraud);
  EXPECT_TRUE(*read == MustGenerate(options));
}

TEST_F(SynthTest, ReplacesAnExistingFileAndLeavesNoTemporaryFiles) {
  ASSERT_TRUE(WriteFileAtomic(Path("t.csv"), "old\n", 0644, true).ok());
  ASSERT_TRUE(WriteSyntheticTransactions({.customers = 5, .days = 2}, Path("t.csv")).ok());
  StatusOr<std::string> contents = ReadFile(Path("t.csv"));
  ASSERT_TRUE(contents.ok());
  EXPECT_EQ(contents->rfind("transaction_id,customer_id,timestamp,amount,", 0), 0u);
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"t.csv"});
}

TEST_F(SynthTest, MissingFolderIsAnErrorAndWritesNothing) {
  Status s = WriteSyntheticTransactions({.customers = 5, .days = 2}, Path("no/such/t.csv"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(std::filesystem::exists(Path("no")));
  EXPECT_EQ(WriteSyntheticTransactions({.customers = 5, .days = 2}, "").code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- Fraud: rate and learnable patterns ----

// Per-row facts a feature store could compute, over one large sample.
struct Sample {
  Table table;
  std::vector<uint8_t> fraud;
  std::vector<double> amount_ratio;  // amount / the customer's median amount
  std::vector<uint8_t> foreign;      // country differs from the customer's most common country
  std::vector<uint8_t> night;        // 00:00-05:59 UTC
  std::vector<uint8_t> burst;        // >= 3 transactions of the customer in the trailing hour
  std::vector<uint8_t> risky;        // online, electronics, jewelry or cash_advance
  std::vector<uint8_t> large;        // amount_ratio > 5
};

const Sample& LargeSample() {
  static const Sample* sample = [] {
    auto* s = new Sample;
    s->table = MustGenerate({.customers = 6000, .days = 60, .seed = 2026});
    const Table& t = s->table;
    size_t n = t.num_rows();
    const Column& customer = Col(t, "customer_id");
    const std::vector<int64_t>& ts = Col(t, "timestamp").int64s();
    const std::vector<double>& amount = Col(t, "amount").float64s();
    const Column& country = Col(t, "country");
    const Column& channel = Col(t, "channel");
    const Column& category = Col(t, "merchant_category");
    for (int64_t v : Col(t, "is_fraud").int64s()) s->fraud.push_back(static_cast<uint8_t>(v));

    std::map<int32_t, std::vector<size_t>> rows_of;
    for (size_t i = 0; i < n; ++i) rows_of[customer.codes()[i]].push_back(i);
    s->amount_ratio.resize(n);
    s->foreign.resize(n);
    s->burst.resize(n);
    for (const auto& [code, rows] : rows_of) {
      std::vector<double> amounts;
      std::map<int32_t, int> countries;
      for (size_t r : rows) {
        amounts.push_back(amount[r]);
        ++countries[country.codes()[r]];
      }
      std::nth_element(amounts.begin(), amounts.begin() + amounts.size() / 2, amounts.end());
      double median = amounts[amounts.size() / 2];
      int32_t home = std::max_element(countries.begin(), countries.end(), [](auto& a, auto& b) {
                       return a.second < b.second;
                     })->first;
      size_t first = 0;  // rows are in time order
      for (size_t j = 0; j < rows.size(); ++j) {
        while (ts[rows[first]] < ts[rows[j]] - kHour) ++first;
        size_t r = rows[j];
        s->amount_ratio[r] = amount[r] / median;
        s->foreign[r] = country.codes()[r] != home;
        s->burst[r] = j - first + 1 >= 3;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      s->night.push_back(((ts[i] / kHour) % 24) < 6);
      s->large.push_back(s->amount_ratio[i] > 5.0);
      std::string_view c = category.StringAt(i);
      s->risky.push_back(channel.StringAt(i) == "online" || c == "electronics" || c == "jewelry" ||
                         c == "cash_advance");
    }
    return s;
  }();
  return *sample;
}

// Mean of `values` over the rows whose fraud label is `fraud`.
template <typename T>
double MeanWhere(const Sample& s, const std::vector<T>& values, bool fraud) {
  double sum = 0.0;
  size_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (static_cast<bool>(s.fraud[i]) != fraud) continue;
    sum += static_cast<double>(values[i]);
    ++count;
  }
  return count == 0 ? 0.0 : sum / static_cast<double>(count);
}

TEST(SynthFraud, RateIsInTheBand) {
  const Sample& s = LargeSample();
  double rate = static_cast<double>(std::count(s.fraud.begin(), s.fraud.end(), 1)) /
                static_cast<double>(s.fraud.size());
  EXPECT_GT(s.fraud.size(), 500000u);
  EXPECT_GE(rate, 0.001);
  EXPECT_LE(rate, 0.003);
}

TEST(SynthFraud, FraudOverRepresentsThePatterns) {
  const Sample& s = LargeSample();
  struct Pattern {
    const char* name;
    double fraud;
    double legit;
  };
  std::vector<Pattern> patterns = {
      {"amount ratio", MeanWhere(s, s.amount_ratio, true), MeanWhere(s, s.amount_ratio, false)},
      {"foreign", MeanWhere(s, s.foreign, true), MeanWhere(s, s.foreign, false)},
      {"night", MeanWhere(s, s.night, true), MeanWhere(s, s.night, false)},
      {"burst", MeanWhere(s, s.burst, true), MeanWhere(s, s.burst, false)},
      {"risky category or channel", MeanWhere(s, s.risky, true), MeanWhere(s, s.risky, false)},
      {"amount over 5x the norm", MeanWhere(s, s.large, true), MeanWhere(s, s.large, false)},
  };
  for (const Pattern& p : patterns) {
    SCOPED_TRACE(p.name);
    // Card-testing probes are tiny, so the mean amount ratio of fraud is only about 2.7 times.
    EXPECT_GT(p.fraud, (&p == &patterns[0] ? 2.0 : 2.5) * p.legit)
        << "fraud " << p.fraud << " legit " << p.legit;
  }
  EXPECT_GT(patterns[0].fraud, 3.0);  // fraud amounts are several times the customer's norm
  EXPECT_GT(patterns[5].fraud, 10.0 * patterns[5].legit);
  EXPECT_GT(patterns[1].fraud, 0.3);
  EXPECT_GT(patterns[2].fraud, 0.3);
  EXPECT_GT(patterns[3].fraud, 0.35);
  EXPECT_GT(patterns[4].fraud, 0.8);
}

TEST(SynthFraud, LegitimateDataIsNotTriviallySeparable) {
  const Sample& s = LargeSample();
  // Customers travel, shop at night and make large purchases too.
  double foreign = MeanWhere(s, s.foreign, false);
  EXPECT_GT(foreign, 0.01);
  EXPECT_LT(foreign, 0.15);
  double night = MeanWhere(s, s.night, false);
  EXPECT_GT(night, 0.01);
  EXPECT_LT(night, 0.10);
  EXPECT_GT(MeanWhere(s, s.burst, false), 0.005);
  EXPECT_GT(MeanWhere(s, s.large, false), 0.005);
}

TEST(SynthGenerate, DailyAndWeeklyRhythms) {
  const Sample& s = LargeSample();
  const std::vector<int64_t>& ts = Col(s.table, "timestamp").int64s();
  std::vector<int64_t> by_hour(24);
  std::vector<int64_t> by_weekday(7);  // Monday = 0
  for (int64_t t : ts) {
    ++by_hour[(t / kHour) % 24];
    ++by_weekday[((t / kDay) + 3) % 7];
  }
  EXPECT_GT(by_hour[12], 5 * by_hour[3]);
  EXPECT_GT(by_hour[18], 5 * by_hour[4]);
  EXPECT_GT(by_weekday[5], by_weekday[6]);  // Saturday busier than Sunday
  EXPECT_GT(by_weekday[4], by_weekday[0]);  // Friday busier than Monday
}

}  // namespace
}  // namespace plinth
