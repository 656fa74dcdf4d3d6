#include "train/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

namespace plinth {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

bool IsNumericType(ColumnType type) {
  return type == ColumnType::kInt64 || type == ColumnType::kFloat64 || type == ColumnType::kBool;
}

std::string EncodingName(FeatureEncoding encoding) {
  return encoding == FeatureEncoding::kNumeric ? "numeric" : "one_hot";
}

std::string BoolText(bool v) { return v ? "true" : "false"; }

// The output names of one feature, appended to `out`.
void AppendOutputNames(const FeatureSpec& f, std::vector<std::string>* out) {
  if (f.encoding == FeatureEncoding::kNumeric) {
    out->push_back(f.column);
    return;
  }
  for (const std::string& level : f.levels) out->push_back(f.column + "=" + level);
  if (f.other) out->push_back(f.column + "=" + std::string(kOtherLevel));
}

Status CheckUniqueOutputs(const std::vector<FeatureSpec>& features) {
  std::vector<std::string> names;
  for (const FeatureSpec& f : features) AppendOutputNames(f, &names);
  std::set<std::string_view> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError("two features would both be named " + Quoted(name) +
                                        "; rename a column or level");
    }
  }
  return absl::OkStatus();
}

// Maps a level's text to its output offset within the feature: its index among the levels, the
// "other" output for any other text when the feature has one, or -1 (all zeros).
class LevelIndex {
 public:
  explicit LevelIndex(const FeatureSpec& f)
      : other_(f.other ? static_cast<int>(f.levels.size()) : -1) {
    for (size_t i = 0; i < f.levels.size(); ++i) index_.emplace(f.levels[i], static_cast<int>(i));
  }
  int Find(std::string_view text) const {
    auto it = index_.find(std::string(text));
    return it == index_.end() ? other_ : it->second;
  }

 private:
  std::unordered_map<std::string, int> index_;
  int other_;
};

// Levels of a one-hot column over `rows`, each with its count, in sorted order (see the header).
StatusOr<std::vector<std::pair<std::string, size_t>>> CountLevels(const Column& c,
                                                                  std::span<const size_t> rows) {
  std::vector<std::pair<std::string, size_t>> levels;
  const std::vector<uint8_t>& valid = c.valid();
  switch (c.type()) {
    case ColumnType::kString: {
      std::vector<size_t> counts(c.dictionary().size(), 0);
      for (size_t r : rows) {
        if (valid[r]) ++counts[static_cast<size_t>(c.codes()[r])];
      }
      for (size_t code = 0; code < counts.size(); ++code) {
        if (counts[code] > 0) levels.emplace_back(c.dictionary()[code], counts[code]);
      }
      std::sort(levels.begin(), levels.end());
      break;
    }
    case ColumnType::kInt64: {
      std::map<int64_t, size_t> counts;
      for (size_t r : rows) {
        if (valid[r]) ++counts[c.int64s()[r]];
      }
      for (const auto& [v, n] : counts) levels.emplace_back(std::to_string(v), n);
      break;
    }
    case ColumnType::kBool: {
      size_t counts[2] = {0, 0};
      for (size_t r : rows) {
        if (valid[r]) ++counts[c.bools()[r] ? 1 : 0];
      }
      for (int v = 0; v < 2; ++v) {
        if (counts[v] > 0) levels.emplace_back(BoolText(v == 1), counts[v]);
      }
      break;
    }
    default:
      return absl::InvalidArgumentError("column " + Quoted(c.name()) + " is " +
                                        ColumnTypeName(c.type()) +
                                        "; it cannot be one-hot encoded");
  }
  return levels;
}

// Keeps the `max_levels` most frequent levels (ties by sorted position), still in sorted order.
std::vector<std::string> KeepFrequent(const std::vector<std::pair<std::string, size_t>>& levels,
                                      size_t max_levels, bool* other) {
  std::vector<size_t> order(levels.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  *other = max_levels > 0 && levels.size() > max_levels;
  if (*other) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return levels[a].second > levels[b].second; });
    order.resize(max_levels);
    std::sort(order.begin(), order.end());
  }
  std::vector<std::string> kept;
  kept.reserve(order.size());
  for (size_t i : order) kept.push_back(levels[i].first);
  return kept;
}

Status OutOfRange(const std::string& column, size_t row) {
  return absl::InvalidArgumentError("column " + Quoted(column) + " at row " + std::to_string(row) +
                                    " holds an infinite value or one beyond float's range");
}

// Writes one feature's outputs for every row of `c` into the row-major `values` (already zero)
// at column `offset` of `cols`.
Status FillFeature(const FeatureSpec& f, const Column& c, size_t offset, size_t cols,
                   std::vector<float>* values) {
  const size_t n = c.size();
  const std::vector<uint8_t>& valid = c.valid();
  float* base = values->data() + offset;
  if (c.type() == ColumnType::kTimestamp) {
    return absl::InvalidArgumentError("column " + Quoted(f.column) +
                                      " is a timestamp; derive a numeric feature from it first");
  }
  if (f.encoding == FeatureEncoding::kNumeric) {
    switch (c.type()) {
      case ColumnType::kInt64:
        for (size_t r = 0; r < n; ++r) {
          base[r * cols] = valid[r] ? static_cast<float>(c.int64s()[r]) : kMissing;
        }
        return absl::OkStatus();
      case ColumnType::kFloat64:
        for (size_t r = 0; r < n; ++r) {
          if (!valid[r]) {
            base[r * cols] = kMissing;
            continue;
          }
          // NaN stays missing; an infinity (or a double beyond float's range) XGBoost refuses.
          const float v = static_cast<float>(c.float64s()[r]);
          if (std::isinf(v)) return OutOfRange(f.column, r);
          base[r * cols] = v;
        }
        return absl::OkStatus();
      case ColumnType::kBool:
        for (size_t r = 0; r < n; ++r) {
          base[r * cols] = valid[r] ? static_cast<float>(c.bools()[r]) : kMissing;
        }
        return absl::OkStatus();
      default:
        // A CSV column with no value at all is read as string: for a numeric feature it is all
        // missing, not a type error.
        if (c.null_count() == n) {
          for (size_t r = 0; r < n; ++r) base[r * cols] = kMissing;
          return absl::OkStatus();
        }
        return absl::InvalidArgumentError(
            "column " + Quoted(f.column) + " is " + ColumnTypeName(c.type()) +
            " but the feature is numeric (it was " + ColumnTypeName(f.type) + " in training)");
    }
  }
  LevelIndex index(f);
  switch (c.type()) {
    case ColumnType::kString: {
      std::vector<int> by_code(c.dictionary().size());
      for (size_t code = 0; code < by_code.size(); ++code) {
        by_code[code] = index.Find(c.dictionary()[code]);
      }
      for (size_t r = 0; r < n; ++r) {
        if (!valid[r]) continue;
        int k = by_code[static_cast<size_t>(c.codes()[r])];
        if (k >= 0) base[r * cols + static_cast<size_t>(k)] = 1.0f;
      }
      return absl::OkStatus();
    }
    case ColumnType::kInt64: {
      std::unordered_map<int64_t, int> cache;
      for (size_t r = 0; r < n; ++r) {
        if (!valid[r]) continue;
        int64_t v = c.int64s()[r];
        auto it = cache.find(v);
        if (it == cache.end()) it = cache.emplace(v, index.Find(std::to_string(v))).first;
        if (it->second >= 0) base[r * cols + static_cast<size_t>(it->second)] = 1.0f;
      }
      return absl::OkStatus();
    }
    case ColumnType::kBool: {
      const int k[2] = {index.Find(BoolText(false)), index.Find(BoolText(true))};
      for (size_t r = 0; r < n; ++r) {
        if (!valid[r]) continue;
        int j = k[c.bools()[r] ? 1 : 0];
        if (j >= 0) base[r * cols + static_cast<size_t>(j)] = 1.0f;
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError("column " + Quoted(f.column) + " is " +
                                        ColumnTypeName(c.type()) +
                                        " but the feature is one-hot encoded (it was " +
                                        ColumnTypeName(f.type) + " in training)");
  }
}

// The text of a one-hot feature's value in a JSON row; nullopt for null.
StatusOr<std::optional<std::string>> LevelText(const FeatureSpec& f, const Json& v) {
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_boolean()) return std::optional<std::string>(BoolText(v.get<bool>()));
  if (v.is_number_integer()) {
    return std::optional<std::string>(v.is_number_unsigned() ? std::to_string(v.get<uint64_t>())
                                                             : std::to_string(v.get<int64_t>()));
  }
  return absl::InvalidArgumentError("feature " + Quoted(f.column) +
                                    " is categorical and needs a string, an integer or a bool");
}

// JSON field helpers for FromJson; errors name the field.
Status Expect(bool ok, const std::string& what) {
  return ok ? absl::OkStatus() : absl::InvalidArgumentError("preprocessing spec: " + what);
}

Status CheckKeys(const Json& obj, const std::set<std::string>& allowed, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (!allowed.count(key)) {
      return absl::InvalidArgumentError("preprocessing spec: unknown field " + Quoted(key) +
                                        " in " + where);
    }
  }
  return absl::OkStatus();
}

StatusOr<FeatureSpec> FeatureFromJson(const Json& j, size_t i) {
  const std::string where = "features[" + std::to_string(i) + "]";
  RETURN_IF_ERROR(Expect(j.is_object(), where + " must be an object"));
  RETURN_IF_ERROR(CheckKeys(j, {"column", "type", "encoding", "levels", "other"}, where));
  FeatureSpec f;
  RETURN_IF_ERROR(Expect(
      j.contains("column") && j["column"].is_string() && !j["column"].get<std::string>().empty(),
      where + ".column must be a non-empty string"));
  f.column = j["column"].get<std::string>();
  RETURN_IF_ERROR(
      Expect(j.contains("type") && j["type"].is_string(), where + ".type must be a string"));
  std::optional<ColumnType> type = ParseColumnType(j["type"].get<std::string>());
  RETURN_IF_ERROR(Expect(type.has_value() && *type != ColumnType::kTimestamp,
                         where + ".type must be int64, float64, bool or string"));
  f.type = *type;
  RETURN_IF_ERROR(Expect(j.contains("encoding") && j["encoding"].is_string(),
                         where + ".encoding must be a string"));
  const std::string encoding = j["encoding"].get<std::string>();
  if (encoding == "numeric") {
    f.encoding = FeatureEncoding::kNumeric;
    RETURN_IF_ERROR(Expect(IsNumericType(f.type), where + ": a numeric feature's type must be "
                                                          "int64, float64 or bool"));
    RETURN_IF_ERROR(Expect(!j.contains("levels") && !j.contains("other"),
                           where + ": a numeric feature has no levels"));
    return f;
  }
  RETURN_IF_ERROR(Expect(encoding == "one_hot", where + ".encoding must be numeric or one_hot"));
  f.encoding = FeatureEncoding::kOneHot;
  RETURN_IF_ERROR(Expect(f.type != ColumnType::kFloat64,
                         where + ": a one-hot feature's type must be string, int64 or bool"));
  RETURN_IF_ERROR(
      Expect(j.contains("levels") && j["levels"].is_array(), where + ".levels must be an array"));
  std::set<std::string> seen;
  for (const Json& level : j["levels"]) {
    RETURN_IF_ERROR(Expect(level.is_string(), where + ".levels must hold strings"));
    f.levels.push_back(level.get<std::string>());
    RETURN_IF_ERROR(Expect(seen.insert(f.levels.back()).second,
                           where + ".levels holds " + Quoted(f.levels.back()) + " twice"));
  }
  RETURN_IF_ERROR(
      Expect(j.contains("other") && j["other"].is_boolean(), where + ".other must be a bool"));
  f.other = j["other"].get<bool>();
  RETURN_IF_ERROR(Expect(f.num_outputs() > 0, where + " has no outputs"));
  return f;
}

}  // namespace

Matrix TakeRows(const Matrix& m, std::span<const size_t> rows) {
  Matrix out;
  out.rows = rows.size();
  out.cols = m.cols;
  out.feature_names = m.feature_names;
  out.source_columns = m.source_columns;
  out.one_hot = m.one_hot;
  out.values.resize(out.rows * out.cols);
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(m.values.begin() + static_cast<ptrdiff_t>(rows[i] * m.cols), m.cols,
                out.values.begin() + static_cast<ptrdiff_t>(i * m.cols));
  }
  return out;
}

std::vector<float> TakeRows(std::span<const float> values, std::span<const size_t> rows) {
  std::vector<float> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = values[rows[i]];
  return out;
}

bool operator==(const FeatureSpec& a, const FeatureSpec& b) {
  return a.column == b.column && a.type == b.type && a.encoding == b.encoding &&
         a.levels == b.levels && a.other == b.other;
}

bool operator==(const PreprocessSpec& a, const PreprocessSpec& b) {
  return a.features_ == b.features_;
}

StatusOr<PreprocessSpec> PreprocessSpec::Fit(const Table& table, const PreprocessOptions& options) {
  std::vector<size_t> rows(table.num_rows());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return Fit(table, options, rows);
}

StatusOr<PreprocessSpec> PreprocessSpec::Fit(const Table& table, const PreprocessOptions& options,
                                             std::span<const size_t> rows) {
  if (options.max_levels < 0) return absl::InvalidArgumentError("max_levels must be >= 0");
  if (options.columns.empty()) return absl::InvalidArgumentError("no feature columns given");
  for (size_t r : rows) {
    if (r >= table.num_rows()) {
      return absl::InvalidArgumentError("row " + std::to_string(r) + " is past the table's " +
                                        std::to_string(table.num_rows()) + " rows");
    }
  }
  std::set<std::string_view> columns(options.columns.begin(), options.columns.end());
  if (columns.size() != options.columns.size()) {
    for (size_t i = 0; i < options.columns.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (options.columns[i] == options.columns[j]) {
          return absl::InvalidArgumentError("column " + Quoted(options.columns[i]) +
                                            " is listed twice");
        }
      }
    }
  }
  std::set<std::string_view> categorical;
  for (const std::string& name : options.categorical) {
    if (!columns.count(name)) {
      return absl::InvalidArgumentError("categorical column " + Quoted(name) +
                                        " is not one of the feature columns");
    }
    categorical.insert(name);
  }

  PreprocessSpec spec;
  for (const std::string& name : options.columns) {
    const Column* c = table.Find(name);
    if (c == nullptr) return absl::InvalidArgumentError("no column named " + Quoted(name));
    FeatureSpec f;
    f.column = name;
    f.type = c->type();
    switch (c->type()) {
      case ColumnType::kTimestamp:
        return absl::InvalidArgumentError(
            "column " + Quoted(name) +
            " is a timestamp; derive a numeric feature from it (an age in days, an hour of day) "
            "first");
      case ColumnType::kFloat64:
        if (categorical.count(name)) {
          return absl::InvalidArgumentError("column " + Quoted(name) +
                                            " is float64 and cannot be categorical");
        }
        f.encoding = FeatureEncoding::kNumeric;
        break;
      case ColumnType::kString:
        f.encoding = FeatureEncoding::kOneHot;
        break;
      case ColumnType::kInt64:
      case ColumnType::kBool:
        f.encoding = categorical.count(name) ? FeatureEncoding::kOneHot : FeatureEncoding::kNumeric;
        break;
    }
    if (f.encoding == FeatureEncoding::kOneHot) {
      ASSIGN_OR_RETURN(auto levels, CountLevels(*c, rows));
      if (levels.empty()) {
        return absl::InvalidArgumentError("column " + Quoted(name) +
                                          " has no non-null value in the training rows");
      }
      f.levels = KeepFrequent(levels, static_cast<size_t>(options.max_levels), &f.other);
    }
    spec.features_.push_back(std::move(f));
  }
  RETURN_IF_ERROR(CheckUniqueOutputs(spec.features_));
  return spec;
}

size_t PreprocessSpec::num_outputs() const {
  size_t n = 0;
  for (const FeatureSpec& f : features_) n += f.num_outputs();
  return n;
}

std::vector<std::string> PreprocessSpec::OutputNames() const {
  std::vector<std::string> names;
  for (const FeatureSpec& f : features_) AppendOutputNames(f, &names);
  return names;
}

StatusOr<Matrix> PreprocessSpec::Apply(const Table& table) const {
  Matrix m;
  m.rows = table.num_rows();
  m.cols = num_outputs();
  m.feature_names = OutputNames();
  for (const FeatureSpec& f : features_) {
    for (size_t k = 0; k < f.num_outputs(); ++k) {
      m.source_columns.push_back(f.column);
      m.one_hot.push_back(f.encoding == FeatureEncoding::kOneHot);
    }
  }
  m.values.assign(m.rows * m.cols, 0.0f);
  size_t offset = 0;
  for (const FeatureSpec& f : features_) {
    const Column* c = table.Find(f.column);
    if (c == nullptr) return absl::InvalidArgumentError("no column named " + Quoted(f.column));
    RETURN_IF_ERROR(FillFeature(f, *c, offset, m.cols, &m.values));
    offset += f.num_outputs();
  }
  return m;
}

Status PreprocessSpec::ApplyRow(const Json& row, std::span<float> out) const {
  if (!row.is_object()) return absl::InvalidArgumentError("a row must be a JSON object");
  if (out.size() != num_outputs()) {
    return absl::InvalidArgumentError("the output holds " + std::to_string(out.size()) +
                                      " values; the spec has " + std::to_string(num_outputs()));
  }
  size_t offset = 0;
  for (const FeatureSpec& f : features_) {
    auto it = row.find(f.column);
    const Json null_value;
    const Json& v = it == row.end() ? null_value : *it;
    if (f.encoding == FeatureEncoding::kNumeric) {
      if (v.is_null()) {
        out[offset] = kMissing;
      } else if (v.is_number()) {
        out[offset] = static_cast<float>(v.get<double>());
        if (std::isinf(out[offset])) {
          return absl::InvalidArgumentError("feature " + Quoted(f.column) +
                                            " is beyond float's range");
        }
      } else if (v.is_boolean()) {
        out[offset] = v.get<bool>() ? 1.0f : 0.0f;
      } else {
        return absl::InvalidArgumentError("feature " + Quoted(f.column) + " needs a number");
      }
    } else {
      std::fill_n(out.begin() + static_cast<ptrdiff_t>(offset), f.num_outputs(), 0.0f);
      ASSIGN_OR_RETURN(std::optional<std::string> text, LevelText(f, v));
      if (text.has_value()) {
        // Levels are few (or capped), so a scan costs less than building an index per call.
        auto level = std::find(f.levels.begin(), f.levels.end(), *text);
        if (level != f.levels.end()) {
          out[offset + static_cast<size_t>(level - f.levels.begin())] = 1.0f;
        } else if (f.other) {
          out[offset + f.levels.size()] = 1.0f;
        }
      }
    }
    offset += f.num_outputs();
  }
  return absl::OkStatus();
}

StatusOr<std::vector<float>> PreprocessSpec::ApplyRow(const Json& row) const {
  std::vector<float> out(num_outputs());
  RETURN_IF_ERROR(ApplyRow(row, out));
  return out;
}

Json PreprocessSpec::ToJson() const {
  Json features = Json::array();
  for (const FeatureSpec& f : features_) {
    Json j = {{"column", f.column},
              {"type", ColumnTypeName(f.type)},
              {"encoding", EncodingName(f.encoding)}};
    if (f.encoding == FeatureEncoding::kOneHot) {
      j["levels"] = f.levels;
      j["other"] = f.other;
    }
    features.push_back(std::move(j));
  }
  return {{"format", kFormat}, {"features", std::move(features)}, {"outputs", OutputNames()}};
}

StatusOr<PreprocessSpec> PreprocessSpec::FromJson(const Json& json) {
  RETURN_IF_ERROR(Expect(json.is_object(), "must be a JSON object"));
  RETURN_IF_ERROR(CheckKeys(json, {"format", "features", "outputs"}, "the spec"));
  RETURN_IF_ERROR(Expect(json.contains("format") && json["format"].is_number_integer() &&
                             json["format"].get<int64_t>() == kFormat,
                         "format must be " + std::to_string(kFormat)));
  RETURN_IF_ERROR(
      Expect(json.contains("features") && json["features"].is_array() && !json["features"].empty(),
             "features must be a non-empty array"));
  PreprocessSpec spec;
  std::set<std::string> columns;
  for (size_t i = 0; i < json["features"].size(); ++i) {
    ASSIGN_OR_RETURN(FeatureSpec f, FeatureFromJson(json["features"][i], i));
    RETURN_IF_ERROR(
        Expect(columns.insert(f.column).second, "column " + Quoted(f.column) + " appears twice"));
    spec.features_.push_back(std::move(f));
  }
  RETURN_IF_ERROR(CheckUniqueOutputs(spec.features_));
  RETURN_IF_ERROR(
      Expect(json.contains("outputs") && json["outputs"].is_array(), "outputs must be an array"));
  std::vector<std::string> outputs;
  for (const Json& name : json["outputs"]) {
    RETURN_IF_ERROR(Expect(name.is_string(), "outputs must hold strings"));
    outputs.push_back(name.get<std::string>());
  }
  RETURN_IF_ERROR(
      Expect(outputs == spec.OutputNames(), "outputs do not match the features' encodings"));
  return spec;
}

StatusOr<std::vector<float>> BinaryLabels(const Column& column, std::string_view positive) {
  const size_t n = column.size();
  if (column.type() == ColumnType::kFloat64 || column.type() == ColumnType::kTimestamp) {
    return absl::InvalidArgumentError("label column " + Quoted(column.name()) + " is " +
                                      ColumnTypeName(column.type()) +
                                      "; a binary label must be a string, int64 or bool column");
  }
  if (size_t nulls = column.null_count(); nulls > 0) {
    size_t first = 0;
    while (!column.IsNull(first)) ++first;
    return absl::InvalidArgumentError("label column " + Quoted(column.name()) + " has " +
                                      std::to_string(nulls) + " null cells (the first at row " +
                                      std::to_string(first) + ")");
  }
  std::vector<float> labels(n, 0.0f);
  std::set<std::string> seen;  // a few values, for the error message
  size_t positives = 0;
  auto mark = [&](size_t r, const std::string& text) {
    if (text == positive) {
      labels[r] = 1.0f;
      ++positives;
    } else if (seen.size() < 5) {
      seen.insert(text);
    }
  };
  switch (column.type()) {
    case ColumnType::kString: {
      std::optional<int32_t> code = column.FindCode(positive);
      for (size_t r = 0; r < n; ++r) {
        if (code.has_value() && column.codes()[r] == *code) {
          labels[r] = 1.0f;
          ++positives;
        } else if (seen.size() < 5) {
          seen.insert(std::string(column.StringAt(r)));
        }
      }
      break;
    }
    case ColumnType::kInt64:
      for (size_t r = 0; r < n; ++r) mark(r, std::to_string(column.int64s()[r]));
      break;
    default:
      for (size_t r = 0; r < n; ++r) mark(r, BoolText(column.bools()[r] != 0));
      break;
  }
  if (positives == 0) {
    std::string values;
    for (const std::string& v : seen) values += (values.empty() ? "" : ", ") + Quoted(v);
    return absl::InvalidArgumentError("no cell of label column " + Quoted(column.name()) + " is " +
                                      Quoted(positive) + " (it holds " + values + ")");
  }
  return labels;
}

StatusOr<std::vector<float>> NumericTarget(const Column& column) {
  if (!IsNumericType(column.type())) {
    return absl::InvalidArgumentError("target column " + Quoted(column.name()) + " is " +
                                      ColumnTypeName(column.type()) + "; it must be numeric");
  }
  if (size_t nulls = column.null_count(); nulls > 0) {
    return absl::InvalidArgumentError("target column " + Quoted(column.name()) + " has " +
                                      std::to_string(nulls) + " null cells");
  }
  std::vector<float> out(column.size());
  for (size_t r = 0; r < out.size(); ++r) out[r] = static_cast<float>(*column.NumberAt(r));
  return out;
}

}  // namespace plinth
