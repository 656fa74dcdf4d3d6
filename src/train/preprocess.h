// Turning a Table into the dense float matrix a model trains on, by a recorded preprocessing spec
// that replays exactly at scoring time (the spec goes into the model package's manifest; its JSON
// is described in docs/formats/model.md).
//
// Encodings, per feature column:
//   numeric  int64, float64 and bool cells pass through as float (bool: 0 or 1); a null cell (or
//            a NaN) is NaN, which XGBoost treats as missing. Infinities, and doubles beyond
//            float's range, are refused (XGBoost refuses them too, less clearly). int64 values
//            beyond 2^24 lose precision in float, as they do in every XGBoost front end.
//   one_hot  string columns always, and int64 or bool columns listed as categorical: one output per
//            level learned on the training rows, 1 for the cell's level and 0 elsewhere. A null
//            cell is all zeros, and so is a level not seen in training unless the column has an
//            "other" output (below): an unseen category is never an error.
//
// Level order is sorted (byte order for strings, numeric for int64, false < true), the same order
// as pandas' get_dummies, so the outputs do not depend on row order. With max_levels = N > 0 and
// more than N training levels, only the N most frequent (ties by that sorted order) get an output
// of their own, listed in sorted order, and one extra output "<column>=__other__" after them takes
// every other level: the rare training levels and, at apply time, unseen ones (as scikit-learn's
// handle_unknown="infrequent_if_exist" does), so the spec need not list every rare level. Without
// a cap an unseen level is all zeros.
//
// Output names: a numeric feature keeps its column's name; a one-hot output is "<column>=<level>".
// Timestamps are refused (derive a number first, such as an age in days), as are float64 columns
// listed as categorical. Outputs follow the order of PreprocessOptions::columns.
#ifndef PLINTH_TRAIN_PREPROCESS_H_
#define PLINTH_TRAIN_PREPROCESS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace plinth {

// A dense row-major float matrix with a name per column, the unit models train and predict on.
struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<float> values;  // rows * cols, row-major; NaN is missing
  std::vector<std::string> feature_names;
  // Per output column: the source column it came from, and whether it is one level of a one-hot
  // encoded column (models refuse monotone constraints on those).
  std::vector<std::string> source_columns;
  std::vector<uint8_t> one_hot;

  float at(size_t row, size_t col) const { return values[row * cols + col]; }
};

// The rows of `m` at `rows` (indices < m.rows, in the order given; checked in debug builds).
Matrix TakeRows(const Matrix& m, std::span<const size_t> rows);
std::vector<float> TakeRows(std::span<const float> values, std::span<const size_t> rows);

enum class FeatureEncoding { kNumeric, kOneHot };

struct FeatureSpec {
  std::string column;
  ColumnType type = ColumnType::kFloat64;  // the column's type in the training table
  FeatureEncoding encoding = FeatureEncoding::kNumeric;
  // kOneHot: the levels with an output of their own, in output order (see the top of this file).
  std::vector<std::string> levels;
  // kOneHot: whether "<column>=__other__" follows the levels (every level not listed).
  bool other = false;

  size_t num_outputs() const {
    return encoding == FeatureEncoding::kNumeric ? 1 : levels.size() + (other ? 1 : 0);
  }
};

struct PreprocessOptions {
  // Feature columns, in output order; each at most once.
  std::vector<std::string> columns;
  // int64 or bool columns to one-hot encode (string columns always are); each must be in columns.
  std::vector<std::string> categorical;
  // > 0: at most this many levels per one-hot column get their own output (see the top).
  int max_levels = 0;
};

// The name of the output that collects rare training levels.
inline constexpr std::string_view kOtherLevel = "__other__";

class PreprocessSpec {
 public:
  // The JSON's "format"; FromJson refuses any other.
  static constexpr int kFormat = 1;

  // Learns the spec from `table`'s rows at `rows` (every row if null): which encoding each column
  // gets and the levels of one-hot columns. InvalidArgument naming the column if a column is
  // missing or listed twice, is a timestamp, is float64 yet categorical, or is one-hot with no
  // non-null value in those rows; if two outputs would share a name; or if max_levels < 0.
  static StatusOr<PreprocessSpec> Fit(const Table& table, const PreprocessOptions& options,
                                      std::span<const size_t> rows);
  static StatusOr<PreprocessSpec> Fit(const Table& table, const PreprocessOptions& options);

  // The matrix of every row of `table`. InvalidArgument naming the column if a feature column is
  // missing, is a timestamp, is a non-numeric (and not all-null) column for a numeric feature, is
  // float64 for a one-hot feature, or holds an infinity. Extra columns are ignored.
  StatusOr<Matrix> Apply(const Table& table) const;

  // One row given as a JSON object {column: value}: a number or bool for a numeric feature (null
  // or absent: missing), a string (or an integer / bool for an int64 / bool column) for a one-hot
  // feature. Writes num_outputs() floats to `out`. InvalidArgument if `row` is not an object, a
  // value has the wrong kind, or `out` has another size.
  Status ApplyRow(const Json& row, std::span<float> out) const;
  StatusOr<std::vector<float>> ApplyRow(const Json& row) const;

  const std::vector<FeatureSpec>& features() const { return features_; }
  size_t num_outputs() const;
  std::vector<std::string> OutputNames() const;

  // {"format": 1, "features": [...], "outputs": [names]}; see docs/formats/model.md.
  Json ToJson() const;
  // InvalidArgument (naming the field) for a document ToJson would not write: another format,
  // unknown or missing fields, wrong types, duplicate levels or output names, "outputs" that do
  // not match the features.
  static StatusOr<PreprocessSpec> FromJson(const Json& json);

  friend bool operator==(const PreprocessSpec& a, const PreprocessSpec& b);

 private:
  std::vector<FeatureSpec> features_;
};

bool operator==(const FeatureSpec& a, const FeatureSpec& b);

// Labels for binary classification: 1 where the cell equals `positive` (a string column's text,
// an int64's decimal text, or "true"/"false" for bool), else 0. InvalidArgument if the column has
// nulls (with their count and the first row), is float64 or a timestamp, or no cell equals
// `positive` (listing a few of the values it holds).
StatusOr<std::vector<float>> BinaryLabels(const Column& column, std::string_view positive);

// A regression target: int64, float64 or bool cells as float. InvalidArgument if the column is
// not numeric or has nulls.
StatusOr<std::vector<float>> NumericTarget(const Column& column);

}  // namespace plinth

#endif  // PLINTH_TRAIN_PREPROCESS_H_
