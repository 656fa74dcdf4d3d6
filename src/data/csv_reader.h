// Reads CSV (RFC 4180) into a columnar Table, inferring each column's type from all of its cells.
//
// Syntax: a header record naming the columns, then one record per row. Fields are separated by the
// delimiter; a field may be quoted ("..."), and then may hold delimiters, line breaks and doubled
// quotes ("" for "). Records end with LF or CRLF; the last one may lack a line break. A UTF-8 byte
// order mark at the start is skipped. Blank lines (outside quotes) are skipped. The input must be
// UTF-8. Quoting is lexical only: "5" and 5 are the same cell.
//
// Nulls: a cell equal to one of the null tokens (default: empty and "NA") is null, whatever the
// column's type.
//
// Types: a column is int64 if every non-null cell is a decimal integer in the int64 range
// (optional sign, leading zeros allowed); else float64 if every non-null cell is a number (ints,
// decimals, exponents like 1e5, inf and nan); else bool if every one is true/false (any case); else
// timestamp if every one is ISO 8601 (2024-01-31, 2024-01-31T12:00, 2024-01-31 12:00:00.123456,
// with an optional Z or +HH:MM / +HHMM / +HH offset; stored as UTC microseconds, digits past the
// microsecond dropped); else string. A column with no non-null cell is string. Options may force a
// column's type instead.
//
// Errors (InvalidArgument) name the 1-based line (physical line of the file, header is line 1) and
// column of the problem and what was expected: ragged records, an unterminated quoted field, text
// after a closing quote, a quote inside an unquoted field, invalid UTF-8, an empty file, empty or
// duplicate header names, a cell that a forced type cannot parse. ReadCsv also returns NotFound if
// the file does not exist.
//
// Large inputs are parsed in parallel chunks split at record boundaries (found from the quote
// parity of each chunk's start, so quoted line breaks never split a record); the result is
// identical to a serial parse. A file is memory-mapped and its pages are released as they are
// parsed, so peak memory is about the size of the resulting table.
#ifndef PLINTH_DATA_CSV_READER_H_
#define PLINTH_DATA_CSV_READER_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "table/table.h"

namespace plinth {

struct CsvOptions {
  char delimiter = ',';
  char quote = '"';
  // Cells equal to any of these (exact, case-sensitive) are null.
  std::vector<std::string> null_values = {"", "NA"};
  // Column name -> type that column must have, instead of the inferred one. Naming a column that is
  // not in the header is an error.
  std::map<std::string, ColumnType, std::less<>> column_types;
  // Worker threads for large inputs; 0 uses every hardware thread.
  int num_threads = 0;
  // Size of one unit of parallel work. Inputs no larger than this are parsed on one thread.
  size_t chunk_bytes = size_t{8} << 20;
};

// Reads the CSV file at `path`. NotFound if it does not exist; InvalidArgument for malformed
// input or options (see the top of this file); Internal on I/O errors.
StatusOr<Table> ReadCsv(const std::string& path, const CsvOptions& options = {});

// Reads CSV from memory; same rules and errors as ReadCsv.
StatusOr<Table> ReadCsvBuffer(std::string_view data, const CsvOptions& options = {});

}  // namespace plinth

#endif  // PLINTH_DATA_CSV_READER_H_
