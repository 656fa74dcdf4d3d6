// A columnar in-memory table: typed columns with null masks, the unit that data sets, features,
// validation and expressions work on.
//
// Types: int64, float64, bool, string (dictionary-encoded: codes into a per-column dictionary,
// so categorical columns cost 4 bytes a row), timestamp (microseconds since the epoch, UTC).
// A column's values vector always has the column's length; a null cell holds the type's default
// value (0, 0.0, false, or code -1 for strings) and its byte in `valid` is 0. A string column's
// dictionary holds distinct strings in order of first appearance. Not thread-safe for writes;
// concurrent reads are fine.
//
// The binary snapshot format of a Table is in table/table_snapshot.h (docs/formats/table.md).
#ifndef PLINTH_TABLE_TABLE_H_
#define PLINTH_TABLE_TABLE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "table/string_index.h"

namespace plinth {

enum class ColumnType { kInt64, kFloat64, kBool, kString, kTimestamp };

// "int64", "float64", "bool", "string", "timestamp".
std::string ColumnTypeName(ColumnType type);
// The type named by one of the names above; nullopt for any other name.
std::optional<ColumnType> ParseColumnType(std::string_view name);

class Column {
 public:
  Column(std::string name, ColumnType type) : name_(std::move(name)), type_(type) {}

  // Builders from whole vectors (moved in, no copy), for readers that decode a column at once.
  // `valid` must have the values' length (InvalidArgument otherwise); values under null cells are
  // reset to the default. FromInt64s takes kInt64 or kTimestamp.
  static StatusOr<Column> FromInt64s(std::string name, ColumnType type, std::vector<int64_t> values,
                                     std::vector<uint8_t> valid);
  static StatusOr<Column> FromFloat64s(std::string name, std::vector<double> values,
                                       std::vector<uint8_t> valid);
  // `values` holds 0 or 1 (InvalidArgument otherwise).
  static StatusOr<Column> FromBools(std::string name, std::vector<uint8_t> values,
                                    std::vector<uint8_t> valid);
  // Every valid cell's code must index `dictionary`, whose strings must be distinct
  // (InvalidArgument otherwise).
  static StatusOr<Column> FromCodes(std::string name, std::vector<int32_t> codes,
                                    std::vector<std::string> dictionary,
                                    std::vector<uint8_t> valid);

  const std::string& name() const { return name_; }
  ColumnType type() const { return type_; }
  size_t size() const { return valid_.size(); }
  bool IsNull(size_t row) const { return !valid_[row]; }
  size_t null_count() const;

  // Appends; the typed appender must match type() (checked in debug builds).
  void AppendNull();
  void AppendInt64(int64_t v);  // kInt64 and kTimestamp
  void AppendFloat64(double v);
  void AppendBool(bool v);
  void AppendString(std::string_view v);  // interned into the dictionary
  void Reserve(size_t rows);

  // Typed views; valid only for the matching type.
  const std::vector<int64_t>& int64s() const { return ints_; }
  const std::vector<double>& float64s() const { return doubles_; }
  const std::vector<uint8_t>& bools() const { return bools_; }
  const std::vector<int32_t>& codes() const { return codes_; }  // kString: index into dictionary
  const std::vector<std::string>& dictionary() const { return dictionary_; }
  // kString: the cell's string; "" for a null cell.
  std::string_view StringAt(size_t row) const {
    int32_t code = codes_[row];
    return code < 0 ? std::string_view() : std::string_view(dictionary_[code]);
  }
  const std::vector<uint8_t>& valid() const { return valid_; }
  // kString: the code of `s`, or nullopt if no cell holds it.
  std::optional<int32_t> FindCode(std::string_view s) const;

  // Numeric value of a cell as double (int64, float64, bool, timestamp); nullopt for null or
  // string cells.
  std::optional<double> NumberAt(size_t row) const;

  // Same name, type, validity, cell values and dictionary (in order). Float cells compare by bit
  // pattern, so NaN equals the same NaN.
  friend bool operator==(const Column& a, const Column& b);

 private:
  std::string name_;
  ColumnType type_;
  std::vector<uint8_t> valid_;
  std::vector<int64_t> ints_;
  std::vector<double> doubles_;
  std::vector<uint8_t> bools_;
  std::vector<int32_t> codes_;
  std::vector<std::string> dictionary_;
  // string -> code over the whole dictionary, kept in step by AppendString and FromCodes.
  StringIndex index_;
};

class Table {
 public:
  Table() = default;
  size_t num_rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
  size_t num_columns() const { return columns_.size(); }
  const std::vector<Column>& columns() const { return columns_; }
  std::vector<Column>& mutable_columns() { return columns_; }
  // nullptr if absent.
  const Column* Find(std::string_view name) const;
  // AlreadyExists if the name is taken; InvalidArgument if its length differs from the table's.
  Status AddColumn(Column column);

  // Same columns in the same order (see Column's operator==).
  friend bool operator==(const Table& a, const Table& b) { return a.columns_ == b.columns_; }

 private:
  std::vector<Column> columns_;
};

// The cells of `rows` (indices into the column, any order, repeats allowed) as a new column of
// the same name and type; a string column keeps its whole dictionary. Rows must be in range.
Column TakeRows(const Column& column, std::span<const size_t> rows);
// Every column's TakeRows.
Table TakeRows(const Table& table, std::span<const size_t> rows);

}  // namespace plinth

#endif  // PLINTH_TABLE_TABLE_H_
