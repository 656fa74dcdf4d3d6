// Data validation suites: declarative expectations about a Table (columns present and typed, null
// rates, ranges, allowed values, uniqueness, patterns, row counts, row rules in the expression
// language, drift against a reference table), read from YAML and run to a ValidationResult that
// renders as JSON (what policy gates read) and as a self-contained HTML report.
//
// The YAML format, the semantics of every expectation and the JSON result are documented in
// docs/validation.md. In short:
//
//   name: credit_data
//   reference: credit_data.csv        # optional; the caller loads it (needed for drift)
//   expectations:
//     - id: amount_range
//       column: Amount
//       severity: warning               # blocking (default) or warning
//       range: {min: 100, max: 5000}
//     - id: amount_le_price
//       row_rule: Amount <= Price * 2
//
// Errors split in two kinds. Mistakes in the suite itself (malformed YAML, unknown keys or types,
// values of the wrong type, an invalid regular expression, a row rule that does not parse) are
// InvalidArgument from ParseSuite, positioned as "file:line:column: expectation 'id': message".
// Problems that depend on the data (a missing column, a column of an unsuitable type, a row rule
// that does not type-check against the table's schema) make that expectation fail, with the
// reason in its result, so one run always yields a complete report.
#ifndef PLINTH_DATA_VALIDATION_H_
#define PLINTH_DATA_VALIDATION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace re2 {
class RE2;
}

namespace plinth {

enum class ExpectationType {
  kColumnPresent,
  kColumnType,
  kNotNull,
  kMaxNullFraction,
  kRange,
  kAllowedValues,
  kUnique,
  kRegex,
  kRowCount,
  kRowRule,
  kDrift,
};

// The YAML/JSON name of a type: "column_present", "column_type", ...
std::string ExpectationTypeName(ExpectationType type);

enum class Severity { kBlocking, kWarning };

// "blocking" or "warning".
std::string SeverityName(Severity severity);

// One bound of a range or row_count expectation: a number, or (range only) an RFC 3339 timestamp
// for timestamp columns, kept as microseconds since the epoch.
struct Bound {
  double value = 0;
  bool is_timestamp = false;
};

// One expectation of a suite. Only the fields of its type are meaningful.
struct Expectation {
  std::string id;
  ExpectationType type = ExpectationType::kColumnPresent;
  Severity severity = Severity::kBlocking;
  // The column checked; empty for row_count and row_rule.
  std::string column;
  std::string description;

  // column_type
  ColumnType column_type = ColumnType::kInt64;
  // max_null_fraction, in [0, 1]
  double max_null_fraction = 0;
  // range and row_count: inclusive bounds; at least one is set.
  std::optional<Bound> min;
  std::optional<Bound> max;
  // allowed_values: the scalars as written; converted to the column's type when run.
  std::vector<std::string> allowed_values;
  // regex: RE2 syntax, must match the whole string.
  std::string pattern;
  std::shared_ptr<const re2::RE2> regex;
  // row_rule: an expression over the row's columns (docs/expr.md) that must be true.
  std::string rule;
  // drift: fails when PSI > psi_max or KS > ks_max; at least one is set. Numeric columns are cut
  // into `bins` quantile bins of the reference.
  std::optional<double> psi_max;
  std::optional<double> ks_max;
  int bins = 10;

  // 1-based position of the expectation, and of the row rule's text, in the suite file.
  int line = 0;
  int column_number = 0;
  int rule_line = 0;
  int rule_column = 0;
};

struct Suite {
  std::string name;
  std::string description;
  // Name or path of the reference data set, as written; empty if none. Informational: the caller
  // loads the reference table and passes it to RunSuite.
  std::string reference;
  // The file name used in error messages.
  std::string file;
  std::vector<Expectation> expectations;

  // True if some expectation needs a reference table (drift).
  bool NeedsReference() const;
};

// Parses a suite from YAML text; `file_name` prefixes error positions. InvalidArgument (with
// file:line:column and the expectation) on any malformed or unknown content; see the file comment.
StatusOr<Suite> ParseSuite(std::string_view yaml, std::string_view file_name);

// Reads and parses the suite file at `path`; error positions name `path` as given. NotFound if it
// does not exist.
StatusOr<Suite> LoadSuite(const std::string& path);

// A failing row: its 0-based index and the offending value (for row rules, an object of the
// columns the rule reads).
struct FailingRow {
  size_t row = 0;
  Json value;
};

struct ExpectationResult {
  std::string id;
  ExpectationType type = ExpectationType::kColumnPresent;
  Severity severity = Severity::kBlocking;
  std::string column;
  bool passed = false;
  // What was measured (null fraction, min/max seen, violations, psi/ks, ...); see
  // docs/validation.md for the members per type.
  Json observed = Json::object();
  // The limit it was compared with (max, min/max, allowed values, ...).
  Json threshold = Json::object();
  // Up to kMaxFailingRows failing rows, in row order, for the row-level types.
  std::vector<FailingRow> failing_rows;
  // Why the expectation could not be evaluated (missing column, unsuitable type, rule that does
  // not type-check); empty otherwise. An expectation with an error has failed.
  std::string error;
};

struct ValidationResult {
  std::string suite;
  size_t rows = 0;
  std::optional<size_t> reference_rows;
  // No blocking expectation failed.
  bool passed = true;
  int blocking_failures = 0;
  int warning_failures = 0;
  std::vector<ExpectationResult> expectations;
};

inline constexpr size_t kMaxFailingRows = 10;

// Runs every expectation of `suite` over `data`, in order. `reference` is needed (non-null) only
// if the suite has drift expectations: FailedPrecondition otherwise. Data problems never make this
// fail; they fail the expectation concerned (see the file comment).
StatusOr<ValidationResult> RunSuite(const Suite& suite, const Table& data, const Table* reference);

// The result as JSON, with the stable field names documented in docs/validation.md.
Json ValidationResultToJson(const ValidationResult& result);

// A self-contained HTML page (no external resources): a summary, one table row per expectation
// coloured by outcome with observed values, thresholds and failing samples, and inline SVG bars of
// the PSI per drift-checked column against its threshold.
std::string RenderValidationHtml(const ValidationResult& result);

// Drift statistics, exposed for tests and other modules.
//
// Quantile bin edges of `reference` (non-NaN values, any order): the values at sorted index
// floor(i * n / bins) for i = 1 .. bins-1, without duplicates. A value v falls in bin
// #edges-below-or-equal-to-v, so bin 0 is (-inf, e1) and the last bin is [e_last, +inf).
std::vector<double> QuantileEdges(std::vector<double> reference, int bins);
// Population stability index of two distributions given as counts per bin (same length):
// sum over bins of (d - r) * ln(d / r) with d, r the fractions of data and reference, each raised
// to at least kPsiEpsilon so empty bins stay finite. 0 if either side has no values.
double Psi(const std::vector<double>& reference_counts, const std::vector<double>& data_counts);
inline constexpr double kPsiEpsilon = 1e-4;
// Two-sample Kolmogorov-Smirnov statistic: the largest distance between the empirical CDFs.
// 0 if either side is empty.
double KsStatistic(std::vector<double> reference, std::vector<double> data);

}  // namespace plinth

#endif  // PLINTH_DATA_VALIDATION_H_
