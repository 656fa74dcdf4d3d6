#include "table/table.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <type_traits>

namespace plinth {
namespace {

Status CheckSameLength(const std::string& name, size_t values, size_t valid) {
  if (values == valid) return absl::OkStatus();
  return absl::InvalidArgumentError("column '" + name + "': " + std::to_string(values) +
                                    " values but " + std::to_string(valid) + " validity flags");
}

template <typename T>
void ResetNulls(std::vector<T>& values, const std::vector<uint8_t>& valid, T value) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!valid[i]) values[i] = value;
  }
}

}  // namespace

std::string ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return "int64";
    case ColumnType::kFloat64:
      return "float64";
    case ColumnType::kBool:
      return "bool";
    case ColumnType::kString:
      return "string";
    case ColumnType::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

std::optional<ColumnType> ParseColumnType(std::string_view name) {
  for (ColumnType t : {ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kBool,
                       ColumnType::kString, ColumnType::kTimestamp}) {
    if (name == ColumnTypeName(t)) return t;
  }
  return std::nullopt;
}

StatusOr<Column> Column::FromInt64s(std::string name, ColumnType type, std::vector<int64_t> values,
                                    std::vector<uint8_t> valid) {
  if (type != ColumnType::kInt64 && type != ColumnType::kTimestamp) {
    return absl::InvalidArgumentError("column '" + name + "': FromInt64s needs int64 or timestamp");
  }
  RETURN_IF_ERROR(CheckSameLength(name, values.size(), valid.size()));
  ResetNulls<int64_t>(values, valid, 0);
  Column c(std::move(name), type);
  c.ints_ = std::move(values);
  c.valid_ = std::move(valid);
  return c;
}

StatusOr<Column> Column::FromFloat64s(std::string name, std::vector<double> values,
                                      std::vector<uint8_t> valid) {
  RETURN_IF_ERROR(CheckSameLength(name, values.size(), valid.size()));
  ResetNulls<double>(values, valid, 0.0);
  Column c(std::move(name), ColumnType::kFloat64);
  c.doubles_ = std::move(values);
  c.valid_ = std::move(valid);
  return c;
}

StatusOr<Column> Column::FromBools(std::string name, std::vector<uint8_t> values,
                                   std::vector<uint8_t> valid) {
  RETURN_IF_ERROR(CheckSameLength(name, values.size(), valid.size()));
  for (uint8_t v : values) {
    if (v > 1) return absl::InvalidArgumentError("column '" + name + "': bool values must be 0/1");
  }
  ResetNulls<uint8_t>(values, valid, 0);
  Column c(std::move(name), ColumnType::kBool);
  c.bools_ = std::move(values);
  c.valid_ = std::move(valid);
  return c;
}

StatusOr<Column> Column::FromCodes(std::string name, std::vector<int32_t> codes,
                                   std::vector<std::string> dictionary,
                                   std::vector<uint8_t> valid) {
  RETURN_IF_ERROR(CheckSameLength(name, codes.size(), valid.size()));
  const int64_t dict_size = static_cast<int64_t>(dictionary.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if (!valid[i]) {
      codes[i] = -1;
    } else if (codes[i] < 0 || codes[i] >= dict_size) {
      return absl::InvalidArgumentError("column '" + name + "': row " + std::to_string(i) +
                                        " has code " + std::to_string(codes[i]) +
                                        " outside the dictionary of " + std::to_string(dict_size));
    }
  }
  Column c(std::move(name), ColumnType::kString);
  if (!c.index_.Rebuild(dictionary)) {
    return absl::InvalidArgumentError("column '" + c.name_ + "': dictionary has duplicates");
  }
  c.codes_ = std::move(codes);
  c.dictionary_ = std::move(dictionary);
  c.valid_ = std::move(valid);
  return c;
}

size_t Column::null_count() const {
  return static_cast<size_t>(std::count(valid_.begin(), valid_.end(), uint8_t{0}));
}

void Column::AppendNull() {
  valid_.push_back(0);
  switch (type_) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      ints_.push_back(0);
      break;
    case ColumnType::kFloat64:
      doubles_.push_back(0.0);
      break;
    case ColumnType::kBool:
      bools_.push_back(0);
      break;
    case ColumnType::kString:
      codes_.push_back(-1);
      break;
  }
}

void Column::AppendInt64(int64_t v) {
  assert(type_ == ColumnType::kInt64 || type_ == ColumnType::kTimestamp);
  valid_.push_back(1);
  ints_.push_back(v);
}

void Column::AppendFloat64(double v) {
  assert(type_ == ColumnType::kFloat64);
  valid_.push_back(1);
  doubles_.push_back(v);
}

void Column::AppendBool(bool v) {
  assert(type_ == ColumnType::kBool);
  valid_.push_back(1);
  bools_.push_back(v ? 1 : 0);
}

void Column::AppendString(std::string_view v) {
  assert(type_ == ColumnType::kString);
  valid_.push_back(1);
  codes_.push_back(index_.Intern(v, dictionary_));
}

std::optional<int32_t> Column::FindCode(std::string_view s) const {
  if (type_ != ColumnType::kString) return std::nullopt;
  return index_.Find(s, dictionary_);
}

void Column::Reserve(size_t rows) {
  valid_.reserve(rows);
  switch (type_) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      ints_.reserve(rows);
      break;
    case ColumnType::kFloat64:
      doubles_.reserve(rows);
      break;
    case ColumnType::kBool:
      bools_.reserve(rows);
      break;
    case ColumnType::kString:
      codes_.reserve(rows);
      break;
  }
}

std::optional<double> Column::NumberAt(size_t row) const {
  if (!valid_[row]) return std::nullopt;
  switch (type_) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return static_cast<double>(ints_[row]);
    case ColumnType::kFloat64:
      return doubles_[row];
    case ColumnType::kBool:
      return bools_[row] ? 1.0 : 0.0;
    case ColumnType::kString:
      return std::nullopt;
  }
  return std::nullopt;
}

bool operator==(const Column& a, const Column& b) {
  if (a.name_ != b.name_ || a.type_ != b.type_ || a.valid_ != b.valid_) return false;
  switch (a.type_) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return a.ints_ == b.ints_;
    case ColumnType::kFloat64:
      return a.doubles_.size() == b.doubles_.size() &&
             (a.doubles_.empty() || std::memcmp(a.doubles_.data(), b.doubles_.data(),
                                                a.doubles_.size() * sizeof(double)) == 0);
    case ColumnType::kBool:
      return a.bools_ == b.bools_;
    case ColumnType::kString:
      return a.codes_ == b.codes_ && a.dictionary_ == b.dictionary_;
  }
  return false;
}

const Column* Table::Find(std::string_view name) const {
  for (const Column& c : columns_) {
    if (c.name() == name) return &c;
  }
  return nullptr;
}

Status Table::AddColumn(Column column) {
  if (Find(column.name()) != nullptr) {
    return absl::AlreadyExistsError("column '" + column.name() + "' already exists");
  }
  if (!columns_.empty() && column.size() != num_rows()) {
    return absl::InvalidArgumentError("column '" + column.name() + "' has " +
                                      std::to_string(column.size()) + " rows, the table has " +
                                      std::to_string(num_rows()));
  }
  columns_.push_back(std::move(column));
  return absl::OkStatus();
}

Column TakeRows(const Column& column, std::span<const size_t> rows) {
  std::vector<uint8_t> valid(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) valid[i] = column.valid()[rows[i]];
  auto gather = [&](const auto& values) {
    std::remove_cvref_t<decltype(values)> out(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) out[i] = values[rows[i]];
    return out;
  };
  StatusOr<Column> out = absl::InternalError("unreachable");
  switch (column.type()) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      out = Column::FromInt64s(column.name(), column.type(), gather(column.int64s()),
                               std::move(valid));
      break;
    case ColumnType::kFloat64:
      out = Column::FromFloat64s(column.name(), gather(column.float64s()), std::move(valid));
      break;
    case ColumnType::kBool:
      out = Column::FromBools(column.name(), gather(column.bools()), std::move(valid));
      break;
    case ColumnType::kString:
      out = Column::FromCodes(column.name(), gather(column.codes()), column.dictionary(),
                              std::move(valid));
      break;
  }
  // The inputs come from a valid column, so the builders cannot refuse them.
  return *std::move(out);
}

Table TakeRows(const Table& table, std::span<const size_t> rows) {
  Table out;
  for (const Column& c : table.columns()) out.mutable_columns().push_back(TakeRows(c, rows));
  return out;
}

}  // namespace plinth
