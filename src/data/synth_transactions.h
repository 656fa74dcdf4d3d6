// A deterministic generator of SYNTHETIC card transactions with labelled fraud, for demos, tests,
// tutorials and benchmarks of the data, feature and training paths. Every row is invented: no
// real person, card or merchant is behind it. docs/synthetic-data.md describes the model.
//
// Output columns (in this order):
//   transaction_id     int64      1, 2, 3, ... in output order
//   customer_id        string     "C00000001" ... (1-based, zero-padded to 8 digits)
//   timestamp          timestamp  UTC, whole seconds; in CSV as FormatTime's RFC 3339 text
//   amount             float64    positive, exactly 2 decimals (whole cents)
//   merchant_category  string     grocery, restaurants, fuel, retail, online_services,
//                                 entertainment, health, utilities, travel, electronics, jewelry,
//                                 cash_advance
//   channel            string     chip, contactless, online, atm
//   country            string     ISO 3166-1 alpha-2 merchant country
//   is_fraud           int64      0 or 1
// Rows are sorted by timestamp (ties by customer, then generation order); every timestamp lies in
// [start_micros, start_micros + days * 24h).
//
// Determinism: the same options give the same rows and byte-identical CSV on every platform and
// standard library. The generator uses its own PRNG (xoshiro256**) and its own normal,
// exponential and Poisson sampling built on its own exp/log, never <random>'s distributions or
// libm's transcendental functions. Each customer's profile and each customer-day draw from their
// own stream derived from (seed, customer, day), so a customer's history does not depend on how
// many other customers are generated.
//
// Size: about 1.9 rows per customer-day (about 73 bytes a row in CSV). The generator holds one
// profile per customer and one day of transactions in memory; GenerateSyntheticTransactions holds
// the whole table as well.
#ifndef PLINTH_DATA_SYNTH_TRANSACTIONS_H_
#define PLINTH_DATA_SYNTH_TRANSACTIONS_H_

#include <cstdint>
#include <string>

#include "core/status.h"
#include "table/table.h"

namespace plinth {

// 2026-01-01T00:00:00Z in microseconds since the epoch.
inline constexpr int64_t kSynthDefaultStartMicros = int64_t{1767225600} * 1000000;

struct SynthTransactionsOptions {
  // Number of customers (cards), 1..10,000,000.
  int customers = 1000;
  // Number of days covered, 1..3650.
  int days = 30;
  // Any value; equal seeds (with equal other options) give identical output.
  uint64_t seed = 1;
  // Start of the first day, microseconds since the epoch (UTC); need not be midnight. Must be
  // non-negative and leave the last day before year 10000.
  int64_t start_micros = kSynthDefaultStartMicros;
};

// What a generation produced.
struct SynthTransactionsStats {
  int64_t transactions = 0;
  int64_t fraud_transactions = 0;
};

// OK, or InvalidArgument naming the first option out of range.
Status ValidateSynthTransactionsOptions(const SynthTransactionsOptions& options);

// Generates the transactions into a Table with the columns and types above. The table equals what
// ReadCsv returns for the CSV that WriteSyntheticTransactions writes with the same options.
// InvalidArgument for invalid options.
StatusOr<Table> GenerateSyntheticTransactions(const SynthTransactionsOptions& options);

// Writes the transactions as CSV (header row, comma-separated, LF line ends, no quoting needed) to
// `out_path`, streaming through a temporary file in the same folder that is fsynced and renamed
// over `out_path` (an existing file is replaced), so readers never see a partial file. On error
// the temporary file is removed and `out_path` is untouched. If `stats` is not null it receives
// the row counts. InvalidArgument for invalid options or an empty path; Internal on I/O errors.
Status WriteSyntheticTransactions(const SynthTransactionsOptions& options,
                                  const std::string& out_path,
                                  SynthTransactionsStats* stats = nullptr);

}  // namespace plinth

#endif  // PLINTH_DATA_SYNTH_TRANSACTIONS_H_
