#include "monitor/drift.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "data/validation.h"

namespace plinth::monitor {
namespace {

// Numbers in bin labels and reasons: short but exact enough to tell bins apart.
std::string Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

std::string Metric(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", v);
  return buf;
}

std::vector<std::string> BinLabels(const FeatureBaseline& f) {
  if (f.kind == FeatureKind::kCategorical) return f.categories;
  std::vector<std::string> labels;
  const std::vector<double>& e = f.edges;
  if (e.empty()) return {"all"};
  labels.push_back("< " + Short(e.front()));
  for (size_t i = 1; i < e.size(); ++i) {
    labels.push_back("[" + Short(e[i - 1]) + ", " + Short(e[i]) + ")");
  }
  labels.push_back(">= " + Short(e.back()));
  return labels;
}

// An integral double as its integer text (how an int64 category is spelled); nullopt otherwise.
std::optional<std::string> IntegerText(double v) {
  // 2^63 is exactly representable; anything at or beyond it does not fit in int64.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(v) || v != std::floor(v) || v >= kLimit || v < -kLimit) return std::nullopt;
  return std::to_string(static_cast<int64_t>(v));
}

std::optional<double> ParseNumber(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return v;
}

Json Optional(const std::optional<double>& v) {
  return v.has_value() && std::isfinite(*v) ? Json(*v) : Json();
}

// Raises `status` to `level` when `value` is above `limit`, and says why.
void Judge(const char* metric, const std::optional<double>& value, double warn, double drift,
           DriftStatus* status, std::string* reason) {
  if (!value.has_value()) return;
  DriftStatus level = DriftStatus::kOk;
  double limit = 0;
  if (*value > drift) {
    level = DriftStatus::kDrift;
    limit = drift;
  } else if (*value > warn) {
    level = DriftStatus::kWarn;
    limit = warn;
  } else {
    return;
  }
  if (!reason->empty()) *reason += "; ";
  *reason += std::string(metric) + " " + Metric(*value) + " > " + Metric(limit);
  *status = std::max(*status, level);
}

Json FeatureDriftToJson(const FeatureDrift& f) {
  Json bins = Json::array();
  for (const BinShare& b : f.bins) {
    bins.push_back({{"label", b.label},
                    {"baseline", b.baseline},
                    {"current", b.current},
                    {"lower", Optional(b.lower)},
                    {"upper", Optional(b.upper)}});
  }
  return {{"name", f.name},
          {"kind", FeatureKindName(f.kind)},
          {"rows", f.rows},
          {"missing", f.missing},
          {"invalid", f.invalid},
          {"values", f.values},
          {"baseline_values", f.baseline_values},
          {"baseline_missing_rate", f.baseline_missing_rate},
          {"missing_rate", Optional(f.missing_rate)},
          {"psi", Optional(f.psi)},
          {"ks", Optional(f.ks)},
          {"js", Optional(f.js)},
          {"min", Optional(f.min)},
          {"max", Optional(f.max)},
          {"mean", Optional(f.mean)},
          {"baseline_mean", Optional(f.baseline_mean)},
          {"status", DriftStatusName(f.status)},
          {"reason", f.reason},
          {"bins", std::move(bins)}};
}

}  // namespace

std::string DriftStatusName(DriftStatus status) {
  switch (status) {
    case DriftStatus::kOk:
      return "ok";
    case DriftStatus::kWarn:
      return "warn";
    case DriftStatus::kDrift:
      return "drift";
  }
  return "ok";
}

const FeatureDrift* DriftReport::Find(std::string_view name) const {
  for (const FeatureDrift& f : features) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double JensenShannonDistance(const std::vector<double>& reference_counts,
                             const std::vector<double>& data_counts) {
  const size_t n = std::min(reference_counts.size(), data_counts.size());
  double r_total = 0, d_total = 0;
  for (size_t i = 0; i < n; ++i) {
    r_total += reference_counts[i];
    d_total += data_counts[i];
  }
  if (r_total <= 0 || d_total <= 0) return 0;
  double jsd = 0;
  for (size_t i = 0; i < n; ++i) {
    const double p = reference_counts[i] / r_total;
    const double q = data_counts[i] / d_total;
    const double m = (p + q) / 2;
    if (p > 0) jsd += 0.5 * p * std::log2(p / m);
    if (q > 0) jsd += 0.5 * q * std::log2(q / m);
  }
  // Rounding can leave a tiny negative for identical distributions.
  return std::sqrt(std::clamp(jsd, 0.0, 1.0));
}

DriftAccumulator::State DriftAccumulator::InitState(const FeatureBaseline& f) {
  State s;
  s.counts.assign(f.counts.size(), 0.0);
  if (f.kind == FeatureKind::kNumeric) {
    const double k = static_cast<double>(f.sample.size());
    for (size_t i = 0; i < f.sample.size(); ++i) {
      if (s.points.empty() || f.sample[i] != s.points.back()) {
        s.points.push_back(f.sample[i]);
        s.sample_cdf.push_back(0);
      }
      s.sample_cdf.back() = static_cast<double>(i + 1) / k;
    }
    s.below.assign(s.points.size() + 1, 0.0);
    s.at.assign(s.points.size(), 0.0);
  } else {
    for (size_t i = 0; i < f.categories.size(); ++i) s.index.emplace(f.categories[i], i);
  }
  return s;
}

StatusOr<DriftAccumulator> DriftAccumulator::Create(Baseline baseline, DriftThresholds thresholds) {
  RETURN_IF_ERROR(ValidateBaseline(baseline));
  DriftAccumulator acc;
  acc.baseline_ = std::move(baseline);
  acc.thresholds_ = thresholds;
  for (const FeatureBaseline& f : acc.baseline_.features) acc.states_.push_back(InitState(f));
  if (acc.baseline_.score.has_value()) acc.score_state_ = InitState(*acc.baseline_.score);
  return acc;
}

void DriftAccumulator::Reset() {
  for (size_t i = 0; i < states_.size(); ++i) states_[i] = InitState(baseline_.features[i]);
  if (score_state_.has_value()) score_state_ = InitState(*baseline_.score);
  rows_ = 0;
  scored_rows_ = 0;
}

void DriftAccumulator::AddNumber(const FeatureBaseline& f, State& s, double v) {
  if (std::isnan(v)) {
    ++s.missing;
    return;
  }
  if (std::isinf(v)) {
    ++s.missing;
    ++s.invalid;
    return;
  }
  s.counts[f.BinOf(v)] += 1;
  const size_t i =
      static_cast<size_t>(std::lower_bound(s.points.begin(), s.points.end(), v) - s.points.begin());
  if (i < s.points.size() && s.points[i] == v) {
    s.at[i] += 1;
  } else {
    s.below[i] += 1;
  }
  s.sum += v;
  s.min = s.min.has_value() ? std::min(*s.min, v) : v;
  s.max = s.max.has_value() ? std::max(*s.max, v) : v;
}

void DriftAccumulator::AddCategory(State& s, std::string_view category) {
  auto it = s.index.find(category);
  // kOtherCategory is always last (ValidateBaseline).
  s.counts[it == s.index.end() ? s.counts.size() - 1 : it->second] += 1;
}

void DriftAccumulator::AddJsonValue(const FeatureBaseline& f, State& s, const Json* value) {
  if (value == nullptr || value->is_null()) {
    ++s.missing;
    return;
  }
  if (f.kind == FeatureKind::kNumeric) {
    if (value->is_number()) {
      AddNumber(f, s, value->get<double>());
    } else if (value->is_boolean()) {
      AddNumber(f, s, value->get<bool>() ? 1.0 : 0.0);
    } else {
      ++s.missing;
      ++s.invalid;
    }
    return;
  }
  if (value->is_string()) {
    AddCategory(s, value->get_ref<const std::string&>());
  } else if (value->is_boolean()) {
    AddCategory(s, value->get<bool>() ? "true" : "false");
  } else if (value->is_number_unsigned()) {
    AddCategory(s, std::to_string(value->get<uint64_t>()));
  } else if (value->is_number_integer()) {
    AddCategory(s, std::to_string(value->get<int64_t>()));
  } else if (value->is_number_float() && std::isnan(value->get<double>())) {
    ++s.missing;
  } else if (std::optional<std::string> text =
                 value->is_number_float() ? IntegerText(value->get<double>()) : std::nullopt) {
    AddCategory(s, *text);
  } else {
    ++s.missing;
    ++s.invalid;
  }
}

void DriftAccumulator::AddColumn(const FeatureBaseline& f, State& s, const Column* column,
                                 size_t rows) {
  if (column == nullptr) {
    s.missing += rows;
    return;
  }
  auto invalid = [&s] {
    ++s.missing;
    ++s.invalid;
  };
  const ColumnType type = column->type();
  if (type == ColumnType::kTimestamp) {
    // A timestamp is neither a number nor a category the baseline can hold.
    for (size_t row = 0; row < rows; ++row) {
      if (column->IsNull(row)) {
        ++s.missing;
      } else {
        invalid();
      }
    }
    return;
  }
  if (f.kind == FeatureKind::kNumeric) {
    if (type == ColumnType::kString) {
      // Parse each distinct string once.
      std::vector<std::optional<double>> parsed;
      parsed.reserve(column->dictionary().size());
      for (const std::string& text : column->dictionary()) parsed.push_back(ParseNumber(text));
      for (size_t row = 0; row < rows; ++row) {
        if (column->IsNull(row)) {
          ++s.missing;
        } else if (const std::optional<double>& v = parsed[column->codes()[row]]; v.has_value()) {
          AddNumber(f, s, *v);
        } else {
          invalid();
        }
      }
      return;
    }
    for (size_t row = 0; row < rows; ++row) {
      std::optional<double> v = column->NumberAt(row);
      if (v.has_value()) {
        AddNumber(f, s, *v);
      } else {
        ++s.missing;
      }
    }
    return;
  }
  for (size_t row = 0; row < rows; ++row) {
    if (column->IsNull(row)) {
      ++s.missing;
      continue;
    }
    switch (type) {
      case ColumnType::kString:
        AddCategory(s, column->StringAt(row));
        break;
      case ColumnType::kBool:
        AddCategory(s, column->bools()[row] ? "true" : "false");
        break;
      case ColumnType::kInt64:
        AddCategory(s, std::to_string(column->int64s()[row]));
        break;
      default: {
        const double v = column->float64s()[row];
        if (std::isnan(v)) {
          ++s.missing;
        } else if (std::optional<std::string> text = IntegerText(v)) {
          AddCategory(s, *text);
        } else {
          invalid();
        }
        break;
      }
    }
  }
}

Status DriftAccumulator::AddRow(const Json& row, std::optional<double> score) {
  if (!row.is_object()) {
    return absl::InvalidArgumentError("a row must be a JSON object of feature values, not " +
                                      std::string(row.type_name()));
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    auto it = row.find(baseline_.features[i].name);
    AddJsonValue(baseline_.features[i], states_[i], it == row.end() ? nullptr : &*it);
  }
  if (score_state_.has_value()) {
    if (score.has_value()) {
      AddNumber(*baseline_.score, *score_state_, *score);
    } else {
      ++score_state_->missing;
    }
  }
  if (score.has_value() && !std::isnan(*score)) ++scored_rows_;
  ++rows_;
  return absl::OkStatus();
}

Status DriftAccumulator::AddTable(const Table& table, std::span<const double> scores) {
  const size_t n = table.num_rows();
  if (!scores.empty() && scores.size() != n) {
    return absl::InvalidArgumentError(std::to_string(scores.size()) + " scores for " +
                                      std::to_string(n) + " rows");
  }
  for (size_t i = 0; i < states_.size(); ++i) {
    const FeatureBaseline& f = baseline_.features[i];
    AddColumn(f, states_[i], table.Find(f.name), n);
  }
  if (score_state_.has_value()) {
    if (scores.empty()) {
      score_state_->missing += n;
    } else {
      for (double v : scores) AddNumber(*baseline_.score, *score_state_, v);
    }
  }
  for (double v : scores) {
    if (!std::isnan(v)) ++scored_rows_;
  }
  rows_ += n;
  return absl::OkStatus();
}

Status DriftAccumulator::Merge(const DriftAccumulator& other) {
  if (BaselineToJson(baseline_) != BaselineToJson(other.baseline_)) {
    return absl::InvalidArgumentError(
        "cannot merge drift counts computed against another baseline");
  }
  auto add = [](std::vector<double>& to, const std::vector<double>& from) {
    for (size_t i = 0; i < to.size(); ++i) to[i] += from[i];
  };
  auto merge = [&](State& to, const State& from) {
    add(to.counts, from.counts);
    add(to.below, from.below);
    add(to.at, from.at);
    to.missing += from.missing;
    to.invalid += from.invalid;
    to.sum += from.sum;
    if (from.min.has_value()) to.min = to.min.has_value() ? std::min(*to.min, *from.min) : from.min;
    if (from.max.has_value()) to.max = to.max.has_value() ? std::max(*to.max, *from.max) : from.max;
  };
  for (size_t i = 0; i < states_.size(); ++i) merge(states_[i], other.states_[i]);
  if (score_state_.has_value()) merge(*score_state_, *other.score_state_);
  rows_ += other.rows_;
  scored_rows_ += other.scored_rows_;
  return absl::OkStatus();
}

FeatureDrift DriftAccumulator::FeatureReport(const FeatureBaseline& f, const State& s) const {
  FeatureDrift d;
  d.name = f.name;
  d.kind = f.kind;
  d.rows = rows_;
  d.missing = s.missing;
  d.invalid = s.invalid;
  d.values = rows_ - s.missing;
  const double baseline_values = f.values();
  d.baseline_values = static_cast<size_t>(baseline_values);
  d.baseline_missing_rate = f.missing_fraction();
  if (rows_ > 0) d.missing_rate = static_cast<double>(s.missing) / static_cast<double>(rows_);
  const double values = static_cast<double>(d.values);
  const std::vector<std::string> labels = BinLabels(f);
  for (size_t i = 0; i < f.counts.size(); ++i) {
    BinShare bin;
    bin.label = labels[i];
    bin.baseline = baseline_values > 0 ? f.counts[i] / baseline_values : 0.0;
    bin.current = values > 0 ? s.counts[i] / values : 0.0;
    if (f.kind == FeatureKind::kNumeric) {
      if (i > 0) bin.lower = f.edges[i - 1];
      if (i < f.edges.size()) bin.upper = f.edges[i];
    }
    d.bins.push_back(std::move(bin));
  }
  if (baseline_values > 0 && values > 0) {
    d.psi = Psi(f.counts, s.counts);
    d.js = JensenShannonDistance(f.counts, s.counts);
    if (f.kind == FeatureKind::kNumeric && !s.points.empty()) {
      // Between two consecutive sample points the baseline's ECDF is flat and the current one
      // rises, so their distance is largest at either end: at a point itself, or just below it
      // (after every current value in the gap). Counts per gap are therefore enough for the
      // exact statistic; beyond the last point both ECDFs reach 1.
      double cumulative = 0, previous_cdf = 0, ks = 0;
      for (size_t i = 0; i < s.points.size(); ++i) {
        cumulative += s.below[i];
        ks = std::max(ks, std::fabs(previous_cdf - cumulative / values));
        cumulative += s.at[i];
        ks = std::max(ks, std::fabs(s.sample_cdf[i] - cumulative / values));
        previous_cdf = s.sample_cdf[i];
      }
      d.ks = ks;
    }
  }
  if (f.kind == FeatureKind::kNumeric) {
    d.min = s.min;
    d.max = s.max;
    if (values > 0) d.mean = s.sum / values;
    d.baseline_mean = f.mean;
  }
  const DriftThresholds& t = thresholds_;
  Judge("psi", d.psi, t.psi_warn, t.psi_drift, &d.status, &d.reason);
  Judge("ks", d.ks, t.ks_warn, t.ks_drift, &d.status, &d.reason);
  Judge("js", d.js, t.js_warn, t.js_drift, &d.status, &d.reason);
  if (d.missing_rate.has_value()) {
    Judge("missing rate increase", *d.missing_rate - d.baseline_missing_rate, t.missing_warn,
          t.missing_drift, &d.status, &d.reason);
  }
  return d;
}

DriftReport DriftAccumulator::Report() const {
  DriftReport r;
  r.baseline_rows = baseline_.rows;
  r.rows = rows_;
  r.scored_rows = scored_rows_;
  r.thresholds = thresholds_;
  auto count = [&r](const FeatureDrift& d) {
    if (d.status == DriftStatus::kWarn) ++r.warn_count;
    if (d.status == DriftStatus::kDrift) ++r.drift_count;
  };
  for (size_t i = 0; i < states_.size(); ++i) {
    r.features.push_back(FeatureReport(baseline_.features[i], states_[i]));
    count(r.features.back());
  }
  if (score_state_.has_value()) {
    r.score = FeatureReport(*baseline_.score, *score_state_);
    count(*r.score);
  }
  return r;
}

Json DriftReportToJson(const DriftReport& report) {
  Json features = Json::array();
  for (const FeatureDrift& f : report.features) features.push_back(FeatureDriftToJson(f));
  const DriftThresholds& t = report.thresholds;
  return {{"baseline_rows", report.baseline_rows},
          {"rows", report.rows},
          {"scored_rows", report.scored_rows},
          {"thresholds",
           {{"psi", {{"warn", t.psi_warn}, {"drift", t.psi_drift}}},
            {"ks", {{"warn", t.ks_warn}, {"drift", t.ks_drift}}},
            {"js", {{"warn", t.js_warn}, {"drift", t.js_drift}}},
            {"missing_increase", {{"warn", t.missing_warn}, {"drift", t.missing_drift}}}}},
          {"warn_count", report.warn_count},
          {"drift_count", report.drift_count},
          {"features", std::move(features)},
          {"score", report.score.has_value() ? FeatureDriftToJson(*report.score) : Json()}};
}

}  // namespace plinth::monitor
