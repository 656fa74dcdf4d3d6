#include "data/csv_writer.h"

#include <charconv>
#include <cmath>

#include "core/clock.h"

namespace plinth {
namespace {

bool NeedsQuotes(std::string_view s) {
  if (s.empty() || s == "NA") return true;  // would read back as null
  if (s.front() == ' ' || s.back() == ' ') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void AppendField(std::string_view s, std::string* out) {
  if (!NeedsQuotes(s)) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) {
    out->append("nan");
    return;
  }
  if (std::isinf(v)) {
    out->append(v > 0 ? "inf" : "-inf");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

void AppendCell(const Column& c, size_t row, std::string* out) {
  if (c.IsNull(row)) return;
  switch (c.type()) {
    case ColumnType::kInt64:
      out->append(std::to_string(c.int64s()[row]));
      break;
    case ColumnType::kFloat64:
      AppendDouble(c.float64s()[row], out);
      break;
    case ColumnType::kBool:
      out->append(c.bools()[row] ? "true" : "false");
      break;
    case ColumnType::kString:
      AppendField(c.StringAt(row), out);
      break;
    case ColumnType::kTimestamp:
      out->append(FormatTime(c.int64s()[row]));
      break;
  }
}

}  // namespace

std::string WriteCsvBuffer(const Table& table) {
  std::string out;
  const auto& columns = table.columns();
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendField(columns[i].name(), &out);
  }
  out.push_back('\n');
  for (size_t row = 0; row < table.num_rows(); ++row) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendCell(columns[i], row, &out);
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace plinth
