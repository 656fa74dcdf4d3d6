// Raw rows for `plinth-edge score` (docs/edge.md): CSV with a header of input names, or JSON lines
// of {input: value}, read as a stream (constant memory, stdin included), each row turned into the
// JSON object CompiledModel::PredictJsonRow takes.
//
// CSV is read here rather than with data/csv_reader.h, which links the table, expression and YAML
// code and reads a whole file into a typed table; the edge binary scores a stream row by row, and
// types cells by the model's inputs instead of inferring them. The syntax is RFC 4180, as that
// reader's: comma separated, fields optionally quoted ("..."), and then holding commas, line
// breaks and doubled quotes; records end with LF or CRLF, the last one may lack it; a UTF-8 byte
// order mark at the start is skipped; blank lines are skipped. Cells equal to "" or "NA" are null
// (missing), as in the platform's reader.
#ifndef PLINTH_EDGE_ROWS_H_
#define PLINTH_EDGE_ROWS_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::edge {

// The model's raw inputs, in order: (name, column type "int64" | "float64" | "bool" | "string").
using ModelInputs = std::vector<std::pair<std::string, std::string>>;

// One row read from the input: the row JSON, or why it could not be read.
struct InputRow {
  int64_t row = 0;   // 1-based, counting data rows only (not the CSV header or blank lines)
  int64_t line = 0;  // the physical line of the input where the row starts (1-based)
  StatusOr<Json> value = Json::object();
};

class RowReader {
 public:
  virtual ~RowReader() = default;
  // The next row; false at the end of the input. A malformed row comes back as an InvalidArgument
  // value naming the line and field, and reading goes on with the next one; the error of a row
  // that cannot be delimited (an unterminated quote) ends the input.
  virtual bool Next(InputRow* out) = 0;
};

// CSV: the header must name every input (extra columns are ignored); InvalidArgument naming the
// first missing input, or an empty input. Cells are typed by the input's type: int64 as an integer
// (or a number, which the model's preprocessing then judges), float64 as a number (nan is
// missing), bool as true/false (any case), string as given.
StatusOr<std::unique_ptr<RowReader>> NewCsvRowReader(std::istream& in, const ModelInputs& inputs);

// JSON lines: one JSON object per non-blank line, naming every input (null for a missing value;
// other members are ignored). A line that is not a JSON object, or lacks an input, is a malformed
// row.
std::unique_ptr<RowReader> NewJsonLinesRowReader(std::istream& in, const ModelInputs& inputs);

// The cell `text` of a CSV column typed `type` as JSON (null for "" and "NA"); InvalidArgument
// saying what was expected.
StatusOr<Json> CsvCell(const std::string& text, const std::string& type);

}  // namespace plinth::edge

#endif  // PLINTH_EDGE_ROWS_H_
