// Writes a Table as CSV that ReadCsv reads back to the same values: a header row, then one record
// per row; LF line ends; fields quoted only when they hold the delimiter, a quote, a line break,
// leading or trailing spaces, or are empty or "NA"; doubles in
// the shortest form that reads back to the same double; timestamps as RFC 3339 UTC with
// microseconds when needed; bools as true/false; nulls as empty fields.
//
// Types come back as written except where CSV cannot tell them apart: a string column whose
// values all look like numbers, bools or times is inferred as that type when read again, and a
// column with no values reads back as string; and the string "NA" (or "") reads back as null under
// the reader's default null tokens, since quoting is lexical only.
#ifndef PLINTH_DATA_CSV_WRITER_H_
#define PLINTH_DATA_CSV_WRITER_H_

#include <string>

#include "table/table.h"

namespace plinth {

std::string WriteCsvBuffer(const Table& table);

}  // namespace plinth

#endif  // PLINTH_DATA_CSV_WRITER_H_
