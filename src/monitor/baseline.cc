#include "monitor/baseline.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "data/validation.h"

namespace plinth::monitor {
namespace {

std::string Quoted(std::string_view text) {
  std::string out = "'";
  out.append(text);
  out += '\'';
  return out;
}

// Every value's text as a category: what DriftAccumulator compares current values with.
std::string CategoryOf(const Column& column, size_t row) {
  switch (column.type()) {
    case ColumnType::kString:
      return std::string(column.StringAt(row));
    case ColumnType::kBool:
      return column.bools()[row] ? "true" : "false";
    default:
      return std::to_string(column.int64s()[row]);
  }
}

// kBaselineSampleSize evenly spaced quantiles of sorted `values` (all of them if there are fewer):
// the midpoint quantiles (i + 1/2) / k, so the sample's ECDF tracks the full one within 1/k.
std::vector<double> QuantileSample(const std::vector<double>& sorted) {
  const size_t n = sorted.size();
  if (n <= kBaselineSampleSize) return sorted;
  std::vector<double> sample(kBaselineSampleSize);
  for (size_t i = 0; i < kBaselineSampleSize; ++i) {
    sample[i] = sorted[(2 * i + 1) * n / (2 * kBaselineSampleSize)];
  }
  return sample;
}

FeatureBaseline NumericBaseline(std::string name, std::vector<double> values, size_t rows) {
  FeatureBaseline f;
  f.name = std::move(name);
  f.kind = FeatureKind::kNumeric;
  f.rows = rows;
  f.missing = rows - values.size();
  std::sort(values.begin(), values.end());
  f.edges = QuantileEdges(values, kBaselineBins);
  f.counts.assign(f.edges.size() + 1, 0.0);
  double sum = 0;
  for (double v : values) {
    f.counts[f.BinOf(v)] += 1;
    sum += v;
  }
  if (!values.empty()) {
    f.min = values.front();
    f.max = values.back();
    f.mean = sum / static_cast<double>(values.size());
  }
  f.sample = QuantileSample(values);
  return f;
}

FeatureBaseline CategoricalBaseline(const Column& column) {
  FeatureBaseline f;
  f.name = column.name();
  f.kind = FeatureKind::kCategorical;
  f.rows = column.size();
  std::map<std::string, double> counts;
  for (size_t row = 0; row < column.size(); ++row) {
    if (column.IsNull(row)) {
      ++f.missing;
    } else {
      counts[CategoryOf(column, row)] += 1;
    }
  }
  std::vector<std::pair<std::string, double>> ordered(counts.begin(), counts.end());
  // The map is in byte order and the sort is stable, so ties keep byte order.
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  double other = 0;
  for (const auto& [category, count] : ordered) {
    // A value spelled like the catch-all joins it, so categories stay distinct.
    if (f.categories.size() < kMaxBaselineCategories && category != kOtherCategory) {
      f.categories.push_back(category);
      f.counts.push_back(count);
    } else {
      other += count;
    }
  }
  f.categories.emplace_back(kOtherCategory);
  f.counts.push_back(other);
  return f;
}

// Field readers for BaselineFromJson: each names the field it reads.
class Reader {
 public:
  Reader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

  Status Error(const std::string& message) const {
    return absl::InvalidArgumentError("baseline: " + where_ + message);
  }

  StatusOr<const Json*> Field(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) return Error(std::string("'") + key + "' is missing");
    return &*it;
  }

  StatusOr<size_t> Count(const char* key) const {
    ASSIGN_OR_RETURN(const Json* v, Field(key));
    // Parsed JSON holds non-negative integers as unsigned, built JSON may hold them as signed.
    if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) {
      return Error(std::string("'") + key + "' must be a non-negative integer");
    }
    return v->get<size_t>();
  }

  StatusOr<std::string> String(const char* key) const {
    ASSIGN_OR_RETURN(const Json* v, Field(key));
    if (!v->is_string()) return Error(std::string("'") + key + "' must be a string");
    return v->get<std::string>();
  }

  StatusOr<std::vector<double>> Numbers(const char* key) const {
    ASSIGN_OR_RETURN(const Json* v, Field(key));
    if (!v->is_array()) return Error(std::string("'") + key + "' must be a list of numbers");
    std::vector<double> out;
    out.reserve(v->size());
    for (const Json& item : *v) {
      if (!item.is_number()) {
        return Error(std::string("'") + key + "' must be a list of numbers");
      }
      out.push_back(item.get<double>());
    }
    return out;
  }

  // A number or null.
  StatusOr<std::optional<double>> OptionalNumber(const char* key) const {
    ASSIGN_OR_RETURN(const Json* v, Field(key));
    if (v->is_null()) return std::optional<double>();
    if (!v->is_number()) return Error(std::string("'") + key + "' must be a number or null");
    return std::optional<double>(v->get<double>());
  }

 private:
  const Json& object_;
  std::string where_;
};

StatusOr<FeatureBaseline> FeatureFromJson(const Json& json, const std::string& where) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError("baseline: " + where + " must be an object");
  }
  Reader r(json, where + ": ");
  FeatureBaseline f;
  ASSIGN_OR_RETURN(f.name, r.String("name"));
  Reader named(json, where + " " + Quoted(f.name) + ": ");
  ASSIGN_OR_RETURN(std::string kind, named.String("kind"));
  if (kind == "numeric") {
    f.kind = FeatureKind::kNumeric;
  } else if (kind == "categorical") {
    f.kind = FeatureKind::kCategorical;
  } else {
    return named.Error("'kind' must be 'numeric' or 'categorical', not " + Quoted(kind));
  }
  ASSIGN_OR_RETURN(f.rows, named.Count("rows"));
  ASSIGN_OR_RETURN(f.missing, named.Count("missing"));
  ASSIGN_OR_RETURN(f.counts, named.Numbers("counts"));
  if (f.kind == FeatureKind::kNumeric) {
    ASSIGN_OR_RETURN(f.edges, named.Numbers("edges"));
    ASSIGN_OR_RETURN(f.sample, named.Numbers("sample"));
    ASSIGN_OR_RETURN(f.min, named.OptionalNumber("min"));
    ASSIGN_OR_RETURN(f.max, named.OptionalNumber("max"));
    ASSIGN_OR_RETURN(f.mean, named.OptionalNumber("mean"));
  } else {
    ASSIGN_OR_RETURN(const Json* categories, named.Field("categories"));
    if (!categories->is_array()) return named.Error("'categories' must be a list of strings");
    for (const Json& c : *categories) {
      if (!c.is_string()) return named.Error("'categories' must be a list of strings");
      f.categories.push_back(c.get<std::string>());
    }
  }
  return f;
}

Json OptionalNumber(const std::optional<double>& v) {
  return v.has_value() && std::isfinite(*v) ? Json(*v) : Json();
}

Json FeatureToJson(const FeatureBaseline& f) {
  Json j = {
      {"name", f.name},       {"kind", FeatureKindName(f.kind)},          {"rows", f.rows},
      {"missing", f.missing}, {"missing_fraction", f.missing_fraction()}, {"counts", f.counts}};
  if (f.kind == FeatureKind::kNumeric) {
    j["edges"] = f.edges;
    j["sample"] = f.sample;
    j["min"] = OptionalNumber(f.min);
    j["max"] = OptionalNumber(f.max);
    j["mean"] = OptionalNumber(f.mean);
  } else {
    j["categories"] = f.categories;
  }
  return j;
}

Status ValidateFeature(const FeatureBaseline& f, const std::string& where) {
  auto error = [&](const std::string& message) {
    return absl::InvalidArgumentError("baseline: " + where + " " + Quoted(f.name) + ": " + message);
  };
  if (f.name.empty()) return absl::InvalidArgumentError("baseline: " + where + ": empty name");
  if (f.missing > f.rows) {
    return error("'missing' (" + std::to_string(f.missing) + ") exceeds 'rows' (" +
                 std::to_string(f.rows) + ")");
  }
  double total = 0;
  for (double c : f.counts) {
    if (!std::isfinite(c) || c < 0 || c != std::floor(c)) {
      return error("'counts' must hold non-negative whole numbers");
    }
    total += c;
  }
  if (f.kind == FeatureKind::kNumeric) {
    if (f.edges.size() >= static_cast<size_t>(kBaselineBins)) {
      return error("'edges' must have at most " + std::to_string(kBaselineBins - 1) +
                   " entries, not " + std::to_string(f.edges.size()));
    }
    for (size_t i = 0; i < f.edges.size(); ++i) {
      if (!std::isfinite(f.edges[i]) || (i > 0 && !(f.edges[i] > f.edges[i - 1]))) {
        return error("'edges' must be finite and strictly increasing");
      }
    }
    if (f.counts.size() != f.edges.size() + 1) {
      return error("'counts' must have " + std::to_string(f.edges.size() + 1) +
                   " entries (edges + 1), not " + std::to_string(f.counts.size()));
    }
    if (f.sample.size() > kBaselineSampleSize) {
      return error("'sample' must have at most " + std::to_string(kBaselineSampleSize) +
                   " values, not " + std::to_string(f.sample.size()));
    }
    for (size_t i = 0; i < f.sample.size(); ++i) {
      if (!std::isfinite(f.sample[i]) || (i > 0 && f.sample[i] < f.sample[i - 1])) {
        return error("'sample' must be finite and sorted");
      }
    }
    if (f.sample.empty() != (total == 0)) {
      return error("'sample' must be empty exactly when there are no values");
    }
    for (const auto* v : {&f.min, &f.max, &f.mean}) {
      if (v->has_value() && !std::isfinite(**v)) return error("min, max and mean must be finite");
    }
  } else {
    if (f.categories.empty() || f.categories.back() != kOtherCategory) {
      return error("'categories' must end with '" + std::string(kOtherCategory) + "'");
    }
    if (f.categories.size() > kMaxBaselineCategories + 1) {
      return error("'categories' must have at most " + std::to_string(kMaxBaselineCategories + 1) +
                   " entries, not " + std::to_string(f.categories.size()));
    }
    std::set<std::string_view> seen;
    for (const std::string& c : f.categories) {
      if (!seen.insert(c).second) return error("category " + Quoted(c) + " is listed twice");
    }
    if (f.counts.size() != f.categories.size()) {
      return error("'counts' must have " + std::to_string(f.categories.size()) +
                   " entries (one per category), not " + std::to_string(f.counts.size()));
    }
  }
  if (total != static_cast<double>(f.rows - f.missing)) {
    return error("'counts' sum to " + std::to_string(static_cast<int64_t>(total)) +
                 " but rows - missing is " + std::to_string(f.rows - f.missing));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FeatureKindName(FeatureKind kind) {
  return kind == FeatureKind::kNumeric ? "numeric" : "categorical";
}

double FeatureBaseline::missing_fraction() const {
  return rows == 0 ? 0.0 : static_cast<double>(missing) / static_cast<double>(rows);
}

double FeatureBaseline::values() const {
  double total = 0;
  for (double c : counts) total += c;
  return total;
}

size_t FeatureBaseline::BinOf(double value) const {
  return static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), value) - edges.begin());
}

const FeatureBaseline* Baseline::Find(std::string_view name) const {
  for (const FeatureBaseline& f : features) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

StatusOr<Baseline> ComputeBaseline(const Table& rows, const std::vector<std::string>& features,
                                   std::span<const double> scores, const BaselineOptions& options) {
  const size_t n = rows.num_rows();
  if (!scores.empty() && scores.size() != n) {
    return absl::InvalidArgumentError(std::to_string(scores.size()) + " scores for " +
                                      std::to_string(n) + " rows");
  }
  const std::set<std::string> categorical(options.categorical.begin(), options.categorical.end());
  for (const std::string& name : categorical) {
    if (std::find(features.begin(), features.end(), name) == features.end()) {
      return absl::InvalidArgumentError("categorical column " + Quoted(name) +
                                        " is not one of the features");
    }
  }
  Baseline baseline;
  baseline.rows = n;
  std::set<std::string> seen;
  for (const std::string& name : features) {
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError("feature " + Quoted(name) + " is listed twice");
    }
    const Column* column = rows.Find(name);
    if (column == nullptr) {
      return absl::InvalidArgumentError("feature " + Quoted(name) + " is not a column of the data");
    }
    const bool as_category = categorical.count(name) > 0;
    switch (column->type()) {
      case ColumnType::kTimestamp:
        return absl::InvalidArgumentError("feature " + Quoted(name) +
                                          " is a timestamp column; monitor a number derived "
                                          "from it (such as an age in days) instead");
      case ColumnType::kString:
      case ColumnType::kBool:
        baseline.features.push_back(CategoricalBaseline(*column));
        break;
      case ColumnType::kInt64:
        if (as_category) {
          baseline.features.push_back(CategoricalBaseline(*column));
          break;
        }
        [[fallthrough]];
      case ColumnType::kFloat64: {
        if (as_category) {
          return absl::InvalidArgumentError("feature " + Quoted(name) +
                                            " is float64 and cannot be categorical");
        }
        std::vector<double> values;
        values.reserve(n);
        for (size_t row = 0; row < n; ++row) {
          std::optional<double> v = column->NumberAt(row);
          if (v.has_value() && !std::isnan(*v)) {
            if (std::isinf(*v)) {
              return absl::InvalidArgumentError("feature " + Quoted(name) +
                                                " holds an infinite value at row " +
                                                std::to_string(row));
            }
            values.push_back(*v);
          }
        }
        baseline.features.push_back(NumericBaseline(name, std::move(values), n));
        break;
      }
    }
  }
  if (!scores.empty()) {
    std::vector<double> values;
    values.reserve(n);
    for (size_t row = 0; row < n; ++row) {
      if (std::isnan(scores[row])) continue;
      if (std::isinf(scores[row])) {
        return absl::InvalidArgumentError("score at row " + std::to_string(row) + " is infinite");
      }
      values.push_back(scores[row]);
    }
    baseline.score = NumericBaseline("score", std::move(values), n);
  }
  return baseline;
}

Status ValidateBaseline(const Baseline& baseline) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < baseline.features.size(); ++i) {
    const FeatureBaseline& f = baseline.features[i];
    const std::string where = "features[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(ValidateFeature(f, where));
    if (!names.insert(f.name).second) {
      return absl::InvalidArgumentError("baseline: " + where + ": feature " + Quoted(f.name) +
                                        " is listed twice");
    }
    if (f.rows != baseline.rows) {
      return absl::InvalidArgumentError("baseline: " + where + " " + Quoted(f.name) +
                                        ": 'rows' is " + std::to_string(f.rows) +
                                        " but the baseline has " + std::to_string(baseline.rows));
    }
  }
  if (baseline.score.has_value()) {
    if (baseline.score->kind != FeatureKind::kNumeric) {
      return absl::InvalidArgumentError("baseline: score: 'kind' must be 'numeric'");
    }
    RETURN_IF_ERROR(ValidateFeature(*baseline.score, "score"));
  }
  return absl::OkStatus();
}

Json BaselineToJson(const Baseline& baseline) {
  Json features = Json::array();
  for (const FeatureBaseline& f : baseline.features) features.push_back(FeatureToJson(f));
  return {{"format", kBaselineFormat},
          {"rows", baseline.rows},
          {"features", std::move(features)},
          {"score", baseline.score.has_value() ? FeatureToJson(*baseline.score) : Json()}};
}

StatusOr<Baseline> BaselineFromJson(const Json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("baseline: must be a JSON object");
  Reader r(json, "");
  ASSIGN_OR_RETURN(const Json* format, r.Field("format"));
  if (!format->is_number_integer() || format->get<int64_t>() != kBaselineFormat) {
    return r.Error("'format' must be " + std::to_string(kBaselineFormat) + ", not " +
                   DumpJson(*format));
  }
  Baseline baseline;
  ASSIGN_OR_RETURN(baseline.rows, r.Count("rows"));
  ASSIGN_OR_RETURN(const Json* features, r.Field("features"));
  if (!features->is_array()) return r.Error("'features' must be a list");
  for (size_t i = 0; i < features->size(); ++i) {
    ASSIGN_OR_RETURN(FeatureBaseline f,
                     FeatureFromJson((*features)[i], "features[" + std::to_string(i) + "]"));
    baseline.features.push_back(std::move(f));
  }
  ASSIGN_OR_RETURN(const Json* score, r.Field("score"));
  if (!score->is_null()) {
    ASSIGN_OR_RETURN(baseline.score, FeatureFromJson(*score, "score"));
  }
  RETURN_IF_ERROR(ValidateBaseline(baseline));
  return baseline;
}

}  // namespace plinth::monitor
