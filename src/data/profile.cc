#include "data/profile.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/clock.h"

namespace plinth {
namespace {

// RFC 3339 allows four-digit years only: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z.
constexpr int64_t kMinTextMicros = -62167219200LL * 1000000;
constexpr int64_t kMaxTextMicros = 253402300799LL * 1000000 + 999999;

Json TimeText(int64_t micros) {
  if (micros < kMinTextMicros || micros > kMaxTextMicros) return Json(nullptr);
  return FormatTime(micros);
}

// A finite double as JSON; null otherwise (JSON has no NaN or infinity).
Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// Linear interpolation between closest ranks of sorted `v` (numpy's default), q in [0, 1].
double Quantile(const std::vector<double>& v, double q) {
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, v.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

void AddNumericStats(const Column& column, const ProfileOptions& options, Json* out) {
  std::vector<double> values;
  values.reserve(column.size());
  int64_t non_finite = 0;
  bool has_nan = false, has_pos_inf = false, has_neg_inf = false;
  for (size_t row = 0; row < column.size(); ++row) {
    std::optional<double> v = column.NumberAt(row);
    if (!v) continue;
    if (!std::isfinite(*v)) {
      ++non_finite;
      has_nan |= std::isnan(*v);
      has_pos_inf |= *v > 0 && std::isinf(*v);
      has_neg_inf |= *v < 0 && std::isinf(*v);
      continue;
    }
    values.push_back(*v);
  }
  std::sort(values.begin(), values.end());
  int64_t distinct = has_nan + has_pos_inf + has_neg_inf;
  if (column.type() == ColumnType::kFloat64) {
    std::vector<double> unique = values;
    distinct += std::unique(unique.begin(), unique.end()) - unique.begin();
  }
  // Integers and timestamps: distinct, minimum and maximum exactly on the 64-bit values (a double
  // holds microseconds exactly only up to 2^53, about the year 2255).
  int64_t exact_min = 0, exact_max = 0;
  if (column.type() != ColumnType::kFloat64) {
    std::vector<int64_t> ints;
    ints.reserve(values.size());
    for (size_t row = 0; row < column.size(); ++row) {
      if (!column.IsNull(row)) ints.push_back(column.int64s()[row]);
    }
    std::sort(ints.begin(), ints.end());
    if (!ints.empty()) {
      exact_min = ints.front();
      exact_max = ints.back();
    }
    distinct = std::unique(ints.begin(), ints.end()) - ints.begin();
  }
  (*out)["distinct"] = distinct;
  (*out)["non_finite"] = non_finite;
  if (values.empty()) return;
  double mean = 0, m2 = 0;
  int64_t n = 0;
  for (double v : values) {  // Welford: stable for large values
    ++n;
    double delta = v - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (v - mean);
  }
  double min = values.front(), max = values.back();
  (*out)["min"] = Number(min);
  (*out)["max"] = Number(max);
  (*out)["mean"] = Number(mean);
  (*out)["std"] = n > 1 ? Number(std::sqrt(m2 / static_cast<double>(n - 1))) : Json(0.0);
  Json quantiles = Json::object();
  for (auto [name, q] : {std::pair<const char*, double>{"p5", 0.05},
                         {"p25", 0.25},
                         {"p50", 0.50},
                         {"p75", 0.75},
                         {"p95", 0.95}}) {
    quantiles[name] = Number(Quantile(values, q));
  }
  (*out)["quantiles"] = quantiles;
  int bins = std::max(1, options.histogram_bins);
  std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
  double width = (max - min) / bins;
  for (double v : values) {
    int bin = 0;
    if (width > 0 && std::isfinite(width)) {
      bin = static_cast<int>((v - min) / width);
      bin = std::clamp(bin, 0, bins - 1);
    }
    ++counts[static_cast<size_t>(bin)];
  }
  (*out)["histogram"] = {{"min", Number(min)}, {"max", Number(max)}, {"counts", counts}};
  if (column.type() != ColumnType::kTimestamp) return;
  // The same statistics as RFC 3339 text; the numbers above stay (microseconds) for computation.
  Json min_time = TimeText(exact_min);
  Json max_time = TimeText(exact_max);
  (*out)["min_time"] = min_time;
  (*out)["max_time"] = max_time;
  (*out)["mean_time"] = TimestampText(mean);
  Json quantile_times = Json::object();
  for (const auto& [name, v] : (*out)["quantiles"].items()) {
    quantile_times[name] = v.is_number() ? TimestampText(v.get<double>()) : Json(nullptr);
  }
  (*out)["quantiles_time"] = quantile_times;
  (*out)["histogram"]["min_time"] = min_time;
  (*out)["histogram"]["max_time"] = max_time;
}

// Most frequent values first; ties keep the order of `order` (first appearance).
Json TopValues(const std::vector<std::string>& names, const std::vector<int64_t>& counts,
               int limit) {
  std::vector<size_t> order;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return counts[a] > counts[b]; });
  Json top = Json::array();
  for (size_t i = 0; i < order.size() && static_cast<int>(i) < limit; ++i) {
    top.push_back({{"value", names[order[i]]}, {"count", counts[order[i]]}});
  }
  return top;
}

}  // namespace

Json TimestampText(double micros) {
  // Compared as doubles first: casting a double outside int64's range is undefined.
  if (!std::isfinite(micros) || micros < static_cast<double>(kMinTextMicros) ||
      micros > static_cast<double>(kMaxTextMicros)) {
    return Json(nullptr);
  }
  return TimeText(std::llround(micros));
}

Json ProfileColumn(const Column& column, const ProfileOptions& options) {
  int64_t nulls = static_cast<int64_t>(column.null_count());
  Json out = {{"name", column.name()},
              {"type", ColumnTypeName(column.type())},
              {"count", static_cast<int64_t>(column.size())},
              {"nulls", nulls}};
  switch (column.type()) {
    case ColumnType::kInt64:
    case ColumnType::kFloat64:
    case ColumnType::kTimestamp:
      AddNumericStats(column, options, &out);
      break;
    case ColumnType::kString: {
      std::vector<int64_t> counts(column.dictionary().size(), 0);
      for (size_t row = 0; row < column.size(); ++row) {
        if (!column.IsNull(row)) ++counts[static_cast<size_t>(column.codes()[row])];
      }
      out["distinct"] =
          std::count_if(counts.begin(), counts.end(), [](int64_t c) { return c > 0; });
      out["top"] = TopValues(column.dictionary(), counts, options.top_values);
      break;
    }
    case ColumnType::kBool: {
      // Index 0 and 1 in order of first appearance, so ties read as the data does.
      std::vector<std::string> names;
      std::vector<int64_t> counts;
      for (size_t row = 0; row < column.size(); ++row) {
        if (column.IsNull(row)) continue;
        std::string name = column.bools()[row] ? "true" : "false";
        auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end()) {
          names.push_back(name);
          counts.push_back(1);
        } else {
          ++counts[static_cast<size_t>(it - names.begin())];
        }
      }
      out["distinct"] = static_cast<int64_t>(names.size());
      out["top"] = TopValues(names, counts, options.top_values);
      break;
    }
  }
  return out;
}

Json ProfileTable(const Table& table, const ProfileOptions& options) {
  Json columns = Json::array();
  for (const Column& c : table.columns()) columns.push_back(ProfileColumn(c, options));
  return {{"rows", static_cast<int64_t>(table.num_rows())}, {"columns", columns}};
}

Json MaskProfile(const Json& profile, const std::set<std::string>& pii) {
  Json out = profile;
  if (!out.contains("columns") || !out["columns"].is_array()) return out;
  for (Json& c : out["columns"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) continue;
    if (pii.count(c["name"].get<std::string>()) == 0) continue;
    Json masked = {{"masked", "PII"}};
    for (const char* keep : {"name", "type", "count", "nulls"}) {
      if (c.contains(keep)) masked[keep] = c[keep];
    }
    c = masked;
  }
  return out;
}

}  // namespace plinth
