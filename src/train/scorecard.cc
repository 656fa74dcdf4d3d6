#include "train/scorecard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>
#include <utility>

#include "train/json_members.h"

namespace plinth {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

// Numbers for people: up to 15 significant digits, no trailing zeros.
std::string Short(double v) {
  if (v == kInf) return "+inf";
  if (v == -kInf) return "-inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.15g", v);
  return buf;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// WoE of a bin with g goods and b bads, at float precision (see the top of scorecard.h).
double Woe(int64_t g, int64_t b, int64_t goods, int64_t bads) {
  if (g + b == 0) return 0;
  double gs = static_cast<double>(g), bs = static_cast<double>(b);
  if (g == 0 || b == 0) gs += 0.5, bs += 0.5;
  const double woe = std::log((gs / static_cast<double>(goods)) / (bs / static_cast<double>(bads)));
  return static_cast<double>(static_cast<float>(woe));
}

double Iv(int64_t g, int64_t b, int64_t goods, int64_t bads, double woe) {
  if (g + b == 0) return 0;
  double gs = static_cast<double>(g), bs = static_cast<double>(b);
  if (g == 0 || b == 0) gs += 0.5, bs += 0.5;
  return (gs / static_cast<double>(goods) - bs / static_cast<double>(bads)) * woe;
}

double Sigmoid(double t) {
  if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

bool Contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// ---- Numeric binning ----

struct Range {
  double lower = -kInf;
  double upper = kInf;
  int64_t goods = 0;
  int64_t bads = 0;
  int64_t count() const { return goods + bads; }
  double bad_rate() const { return static_cast<double>(bads) / static_cast<double>(count()); }
};

Range Merge(const Range& left, const Range& right) {
  return {left.lower, right.upper, left.goods + right.goods, left.bads + right.bads};
}

// Steps 1-4 of the numeric binning (scorecard.h) on the non-missing (value, label) pairs, sorted
// by value. `direction` is the forced direction (+1 / -1) or 0, and receives the one used.
std::vector<Range> BinNumbers(const std::vector<std::pair<double, uint8_t>>& sorted,
                              const ScorecardOptions& options, int64_t rows, int64_t goods,
                              int64_t bads, int& direction) {
  std::vector<Range> bins;
  const size_t m = sorted.size();
  if (m == 0) {  // every value missing: one empty range
    if (direction == 0) direction = 1;
    return {Range{}};
  }
  // 1. Fine bins.
  std::vector<double> cuts;
  for (int q = 1; q < options.max_bins; ++q) {
    const size_t index = static_cast<size_t>(q) * m / static_cast<size_t>(options.max_bins);
    const double cut = sorted[index].first;
    if (cut > sorted[0].first && (cuts.empty() || cut > cuts.back())) cuts.push_back(cut);
  }
  bins.resize(cuts.size() + 1);
  for (size_t k = 0; k < cuts.size(); ++k) bins[k].upper = bins[k + 1].lower = cuts[k];
  size_t bin = 0;
  for (const auto& [value, bad] : sorted) {
    while (bin < cuts.size() && value >= cuts[bin]) ++bin;
    (bad ? bins[bin].bads : bins[bin].goods) += 1;
  }
  // 2. Direction: the sign of the covariance of the fine bin's index and the label.
  if (direction == 0) {
    double mean_index = 0;
    for (size_t k = 0; k < bins.size(); ++k) mean_index += double(k) * double(bins[k].count());
    mean_index /= static_cast<double>(m);
    double covariance = 0;
    for (size_t k = 0; k < bins.size(); ++k) {
      covariance += (double(k) - mean_index) * double(bins[k].bads);
    }
    direction = covariance < 0 ? -1 : 1;
  }
  // 3. Small or one-class bins merge into their closest neighbour.
  const double min_rows = options.min_bin_share * static_cast<double>(rows);
  auto violates = [&](const Range& r) {
    return static_cast<double>(r.count()) < min_rows || r.goods == 0 || r.bads == 0;
  };
  while (bins.size() > 1) {
    size_t worst = bins.size();
    for (size_t k = 0; k < bins.size(); ++k) {
      if (violates(bins[k]) && (worst == bins.size() || bins[k].count() < bins[worst].count())) {
        worst = k;
      }
    }
    if (worst == bins.size()) break;
    size_t other;
    if (worst == 0) {
      other = 1;
    } else if (worst + 1 == bins.size()) {
      other = worst - 1;
    } else {
      const double rate = bins[worst].bad_rate();
      const double left = std::abs(bins[worst - 1].bad_rate() - rate);
      const double right = std::abs(bins[worst + 1].bad_rate() - rate);
      if (left != right) {
        other = left < right ? worst - 1 : worst + 1;
      } else {
        other = bins[worst + 1].count() < bins[worst - 1].count() ? worst + 1 : worst - 1;
      }
    }
    const size_t first = std::min(worst, other);
    bins[first] = Merge(bins[first], bins[first + 1]);
    bins.erase(bins.begin() + static_cast<ptrdiff_t>(first) + 1);
  }
  // 4. Pool adjacent violators on the WoE.
  auto woe = [&](const Range& r) { return Woe(r.goods, r.bads, goods, bads); };
  auto in_order = [&](const Range& a, const Range& b) {
    return direction > 0 ? woe(b) < woe(a) : woe(b) > woe(a);
  };
  std::vector<Range> pooled;
  for (const Range& r : bins) {
    pooled.push_back(r);
    while (pooled.size() > 1 && !in_order(pooled[pooled.size() - 2], pooled.back())) {
      Range merged = Merge(pooled[pooled.size() - 2], pooled.back());
      pooled.pop_back();
      pooled.back() = merged;
    }
  }
  return pooled;
}

// The text a categorical cell is matched by.
std::string LevelText(const Column& column, size_t row) {
  switch (column.type()) {
    case ColumnType::kString:
      return std::string(column.StringAt(row));
    case ColumnType::kInt64:
      return std::to_string(column.int64s()[row]);
    case ColumnType::kBool:
      return column.bools()[row] ? "true" : "false";
    default:
      return "";
  }
}

// ---- JSON helpers ----

StatusOr<int64_t> Count(const Json& json, const std::string& what) {
  if (!json.is_number_integer() || json.get<int64_t>() < 0) {
    return Invalid(what + " must be an integer >= 0");
  }
  return json.get<int64_t>();
}

// |a - b| small enough to be the same computation's result (relative 1e-9).
bool Same(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

Json Edge(double v) { return std::isfinite(v) ? Json(v) : Json(); }

std::string MarkdownCell(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

// ---- Options ----

Status ScorecardOptions::Validate() const {
  if (features.empty()) return Invalid("option features must list at least one column");
  std::set<std::string> seen;
  for (const std::string& f : features) {
    if (!seen.insert(f).second) return Invalid("feature " + Quoted(f) + " is listed twice");
  }
  for (const std::string& c : categorical) {
    if (!seen.count(c)) return Invalid("categorical column " + Quoted(c) + " is not a feature");
  }
  for (const auto& [name, direction] : monotone) {
    if (!seen.count(name)) return Invalid("monotone entry " + Quoted(name) + " is not a feature");
    if (direction < -1 || direction > 1) {
      return Invalid("monotone entry " + Quoted(name) + " must be -1, 0 or 1");
    }
  }
  if (max_bins < 2 || max_bins > 1000) return Invalid("option max_bins must be in 2 .. 1000");
  if (!(min_bin_share > 0 && min_bin_share <= 0.5)) {
    return Invalid("option min_bin_share must be in (0, 0.5]");
  }
  if (!(min_iv >= 0) || !std::isfinite(min_iv)) return Invalid("option min_iv must be >= 0");
  if (!(C > 0) || !std::isfinite(C)) return Invalid("option C must be > 0 and finite");
  if (!(pdo > 0) || !std::isfinite(pdo)) return Invalid("option pdo must be > 0 and finite");
  if (!std::isfinite(base_score)) return Invalid("option base_score must be finite");
  if (!(base_odds > 0) || !std::isfinite(base_odds)) {
    return Invalid("option base_odds must be > 0 and finite");
  }
  return absl::OkStatus();
}

Json ScorecardOptions::ToJson() const {
  Json mono = Json::object();
  for (const auto& [name, direction] : monotone) mono[name] = direction;
  return {{"features", features},
          {"categorical", categorical},
          {"monotone", mono},
          {"max_bins", max_bins},
          {"min_bin_share", min_bin_share},
          {"min_iv", min_iv},
          {"C", C},
          {"pdo", pdo},
          {"base_score", base_score},
          {"base_odds", base_odds},
          {"round_points", round_points}};
}

StatusOr<ScorecardOptions> ScorecardOptions::FromJson(const Json& json) {
  if (!json.is_object()) return Invalid("scorecard options must be a JSON object");
  ScorecardOptions o;
  auto names = [](const Json& v, const std::string& key, std::vector<std::string>& out) -> Status {
    if (!v.is_array()) return Invalid("option " + key + " must be an array of column names");
    out.clear();
    for (const Json& name : v) {
      if (!name.is_string()) return Invalid("option " + key + " must be an array of column names");
      out.push_back(name.get<std::string>());
    }
    return absl::OkStatus();
  };
  for (const auto& [key, v] : json.items()) {
    if (key == "features") {
      RETURN_IF_ERROR(names(v, key, o.features));
    } else if (key == "categorical") {
      RETURN_IF_ERROR(names(v, key, o.categorical));
    } else if (key == "monotone") {
      if (!v.is_object()) return Invalid("option monotone must be an object {column: -1|0|1}");
      for (const auto& [name, direction] : v.items()) {
        if (!direction.is_number_integer()) {
          return Invalid("monotone entry " + Quoted(name) + " must be -1, 0 or 1");
        }
        o.monotone[name] = static_cast<int>(std::clamp<int64_t>(direction.get<int64_t>(), -2, 2));
      }
    } else if (key == "max_bins") {
      if (!v.is_number_integer()) return Invalid("option max_bins must be an integer");
      o.max_bins = static_cast<int>(std::clamp<int64_t>(v.get<int64_t>(), -1, 1001));
    } else if (key == "round_points") {
      if (!v.is_boolean()) return Invalid("option round_points must be true or false");
      o.round_points = v.get<bool>();
    } else if (key == "min_bin_share" || key == "min_iv" || key == "C" || key == "pdo" ||
               key == "base_score" || key == "base_odds") {
      if (!v.is_number()) return Invalid("option " + key + " must be a number");
      const double x = v.get<double>();
      if (key == "min_bin_share") o.min_bin_share = x;
      if (key == "min_iv") o.min_iv = x;
      if (key == "C") o.C = x;
      if (key == "pdo") o.pdo = x;
      if (key == "base_score") o.base_score = x;
      if (key == "base_odds") o.base_odds = x;
    } else {
      return Invalid("unknown scorecard option " + Quoted(key));
    }
  }
  RETURN_IF_ERROR(o.Validate());
  return o;
}

// ---- Bins ----

std::string ScorecardBinKindName(ScorecardBinKind kind) {
  switch (kind) {
    case ScorecardBinKind::kRange:
      return "range";
    case ScorecardBinKind::kLevels:
      return "levels";
    case ScorecardBinKind::kOther:
      return "other";
    case ScorecardBinKind::kMissing:
      return "missing";
  }
  return "range";
}

std::string ScorecardBin::Label() const {
  auto join = [this](size_t limit) {
    std::string out;
    for (size_t i = 0; i < levels.size() && i < limit; ++i) out += (i ? ", " : "") + levels[i];
    if (levels.size() > limit) out += ", ... (" + std::to_string(levels.size()) + " levels)";
    return out;
  };
  switch (kind) {
    case ScorecardBinKind::kRange:
      return "[" + Short(lower) + ", " + Short(upper) + ")";
    case ScorecardBinKind::kLevels:
      return join(levels.size());
    case ScorecardBinKind::kOther:
      return levels.empty() ? "other" : "other (" + join(8) + ")";
    case ScorecardBinKind::kMissing:
      return "missing";
  }
  return "";
}

// ---- Fit ----

StatusOr<Scorecard> Scorecard::Fit(const Table& table, std::span<const float> labels,
                                   const ScorecardOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  const size_t n = table.num_rows();
  if (labels.size() != n) {
    return Invalid("the scorecard got " + std::to_string(labels.size()) + " labels for " +
                   std::to_string(n) + " rows");
  }
  Scorecard card;
  card.options_ = options;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0.0f && labels[i] != 1.0f) {
      return Invalid("label at row " + std::to_string(i) + " is " + Short(labels[i]) +
                     "; scorecard labels are 0 (good) or 1 (bad)");
    }
    (labels[i] == 1.0f ? card.bads_ : card.goods_) += 1;
  }
  if (card.goods_ == 0 || card.bads_ == 0) {
    return Invalid("scorecard labels hold only one class; both goods (0) and bads (1) are needed");
  }
  const int64_t rows = static_cast<int64_t>(n), goods = card.goods_, bads = card.bads_;

  std::vector<ScorecardFeature> binned;
  for (const std::string& name : options.features) {
    const Column* column = table.Find(name);
    if (column == nullptr) return Invalid("feature column " + Quoted(name) + " is missing");
    ScorecardFeature f;
    f.name = name;
    f.type = column->type();
    const bool listed = Contains(options.categorical, name);
    switch (column->type()) {
      case ColumnType::kTimestamp:
        return Invalid("feature column " + Quoted(name) +
                       " is a timestamp; derive a number first (such as an age in days)");
      case ColumnType::kFloat64:
        if (listed) {
          return Invalid("feature column " + Quoted(name) +
                         " is float64 and cannot be categorical; list only int64 columns");
        }
        break;
      case ColumnType::kInt64:
        f.categorical = listed;
        break;
      case ColumnType::kString:
      case ColumnType::kBool:
        f.categorical = true;
        break;
    }
    auto forced = options.monotone.find(name);
    if (f.categorical && forced != options.monotone.end() && forced->second != 0) {
      return Invalid("monotone entry " + Quoted(name) +
                     ": the column is categorical; monotone directions apply to numeric features");
    }
    int64_t missing_goods = 0, missing_bads = 0;
    if (!f.categorical) {
      std::vector<std::pair<double, uint8_t>> values;
      values.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        std::optional<double> v = column->NumberAt(i);
        if (!v || std::isnan(*v)) {
          (labels[i] == 1.0f ? missing_bads : missing_goods) += 1;
          continue;
        }
        if (std::isinf(*v)) {
          return Invalid("feature column " + Quoted(name) + " holds an infinite value at row " +
                         std::to_string(i));
        }
        values.emplace_back(*v, labels[i] == 1.0f);
      }
      std::stable_sort(values.begin(), values.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      f.direction = forced == options.monotone.end() ? 0 : forced->second;
      for (const Range& r : BinNumbers(values, options, rows, goods, bads, f.direction)) {
        ScorecardBin bin;
        bin.kind = ScorecardBinKind::kRange;
        bin.lower = r.lower;
        bin.upper = r.upper;
        bin.goods = r.goods;
        bin.bads = r.bads;
        f.bins.push_back(std::move(bin));
      }
    } else {
      std::map<std::string, std::pair<int64_t, int64_t>> levels;  // text -> (goods, bads)
      // String cells count by dictionary code first (one text per code, not per row).
      std::vector<std::pair<int64_t, int64_t>> by_code(
          column->type() == ColumnType::kString ? column->dictionary().size() : 0);
      for (size_t i = 0; i < n; ++i) {
        if (column->IsNull(i)) {
          (labels[i] == 1.0f ? missing_bads : missing_goods) += 1;
          continue;
        }
        auto& counts = column->type() == ColumnType::kString
                           ? by_code[static_cast<size_t>(column->codes()[i])]
                           : levels[LevelText(*column, i)];
        (labels[i] == 1.0f ? counts.second : counts.first) += 1;
      }
      for (size_t code = 0; code < by_code.size(); ++code) {
        if (by_code[code].first + by_code[code].second == 0) continue;  // only in other rows
        levels[column->dictionary()[code]] = by_code[code];
      }
      ScorecardBin other;
      other.kind = ScorecardBinKind::kOther;
      const double min_rows = options.min_bin_share * static_cast<double>(rows);
      for (const auto& [level, counts] : levels) {
        if (static_cast<double>(counts.first + counts.second) < min_rows) {
          other.levels.push_back(level);
          other.goods += counts.first;
          other.bads += counts.second;
          continue;
        }
        ScorecardBin bin;
        bin.kind = ScorecardBinKind::kLevels;
        bin.levels = {level};
        bin.goods = counts.first;
        bin.bads = counts.second;
        bin.woe = Woe(bin.goods, bin.bads, goods, bads);
        f.bins.push_back(std::move(bin));
      }
      std::stable_sort(f.bins.begin(), f.bins.end(),
                       [](const ScorecardBin& a, const ScorecardBin& b) { return a.woe < b.woe; });
      f.bins.push_back(std::move(other));
    }
    ScorecardBin missing;
    missing.kind = ScorecardBinKind::kMissing;
    missing.goods = missing_goods;
    missing.bads = missing_bads;
    f.bins.push_back(std::move(missing));
    for (ScorecardBin& bin : f.bins) {
      bin.woe = Woe(bin.goods, bin.bads, goods, bads);
      bin.iv = Iv(bin.goods, bin.bads, goods, bads, bin.woe);
      f.iv += bin.iv;
    }
    if (f.iv < options.min_iv) {
      card.dropped_.push_back(
          {name, f.iv, "IV " + Fixed(f.iv, 4) + " < min_iv " + Short(options.min_iv)});
      continue;
    }
    binned.push_back(std::move(f));
  }
  if (binned.empty()) {
    return Invalid("no feature has an IV >= min_iv (" + Short(options.min_iv) +
                   "); lower min_iv or add features");
  }

  // The regression on the WoE of each row's bins.
  card.features_ = std::move(binned);
  RETURN_IF_ERROR(card.Index());
  ASSIGN_OR_RETURN(std::vector<int32_t> bins, card.AssignBins(table));
  const size_t k = card.features_.size();
  Matrix woe;
  woe.rows = n;
  woe.cols = k;
  woe.values.resize(n * k);
  for (size_t i = 0; i < n * k; ++i) {
    woe.values[i] = static_cast<float>(card.features_[i % k].bins[bins[i]].woe);
  }
  for (const ScorecardFeature& f : card.features_) {
    woe.feature_names.push_back(f.name);
    woe.source_columns.push_back(f.name);
    woe.one_hot.push_back(0);
  }
  LogisticParams params;
  params.penalty = LogisticPenalty::kL2;
  params.C = options.C;
  params.standardize = false;
  params.fit_intercept = true;
  params.max_iter = 100;
  params.tol = 1e-8;
  LogisticReport report;
  StatusOr<LogisticModel> model = LogisticModel::Train(params, {&woe, labels}, &report);
  if (!model.ok()) {
    return Invalid("scorecard regression: " + std::string(model.status().message()));
  }
  card.intercept_ = model->intercept();
  for (size_t j = 0; j < k; ++j) card.features_[j].coefficient = model->coefficients()[j];
  card.regression_ = model->training();

  card.factor_ = options.pdo / std::log(2.0);
  card.offset_ = options.base_score - card.factor_ * std::log(options.base_odds);
  for (size_t j = 0; j < k; ++j) {
    for (size_t b = 0; b < card.features_[j].bins.size(); ++b) {
      const double exact = card.ExactPoints(j, b);
      // + 0.0 turns a rounded -0 into 0.
      card.features_[j].bins[b].points = (options.round_points ? std::round(exact) : exact) + 0.0;
    }
  }
  return card;
}

double Scorecard::ExactPoints(size_t feature, size_t bin) const {
  const ScorecardFeature& f = features_[feature];
  const double n = static_cast<double>(features_.size());
  return -(f.coefficient * f.bins[bin].woe + intercept_ / n) * factor_ + offset_ / n;
}

Status Scorecard::Index() {
  level_bins_.assign(features_.size(), {});
  other_bin_.assign(features_.size(), -1);
  missing_bin_.assign(features_.size(), -1);
  for (size_t j = 0; j < features_.size(); ++j) {
    const ScorecardFeature& f = features_[j];
    const std::string what = "feature " + Quoted(f.name);
    if (f.bins.size() < 2 || f.bins.back().kind != ScorecardBinKind::kMissing) {
      return Invalid(what + ": the last bin must be the missing bin");
    }
    missing_bin_[j] = static_cast<int32_t>(f.bins.size() - 1);
    const size_t body = f.bins.size() - 1;
    if (!f.categorical) {
      for (size_t b = 0; b < body; ++b) {
        const ScorecardBin& bin = f.bins[b];
        if (bin.kind != ScorecardBinKind::kRange) {
          return Invalid(what + ": bin " + std::to_string(b) +
                         " must be a range (numeric bins are ranges, then missing)");
        }
        const double expected_lower = b == 0 ? -kInf : f.bins[b - 1].upper;
        if (bin.lower != expected_lower) {
          return Invalid(what + ": bin " + std::to_string(b) + " starts at " + Short(bin.lower) +
                         ", not at " + Short(expected_lower) + " (ranges must tile the numbers)");
        }
        const bool last = b + 1 == body;
        if (last ? bin.upper != kInf : !(bin.upper > bin.lower && std::isfinite(bin.upper))) {
          return Invalid(what + ": bin " + std::to_string(b) + " ends at " + Short(bin.upper) +
                         (last ? "; the last range must be open (+inf)"
                               : "; ranges must be non-empty and ascending"));
        }
      }
    } else {
      if (body < 1 || f.bins[body - 1].kind != ScorecardBinKind::kOther) {
        return Invalid(what + ": the bin before missing must be the other bin");
      }
      other_bin_[j] = static_cast<int32_t>(body - 1);
      for (size_t b = 0; b < body; ++b) {
        const ScorecardBin& bin = f.bins[b];
        if (b + 1 < body && (bin.kind != ScorecardBinKind::kLevels || bin.levels.empty())) {
          return Invalid(what + ": bin " + std::to_string(b) +
                         " must list levels (categorical bins are levels, then other, then "
                         "missing)");
        }
        for (const std::string& level : bin.levels) {
          if (!level_bins_[j].emplace(level, static_cast<int32_t>(b)).second) {
            return Invalid(what + ": level " + Quoted(level) + " is in two bins");
          }
        }
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<std::vector<int32_t>> Scorecard::AssignBins(const Table& table) const {
  const size_t n = table.num_rows(), k = features_.size();
  std::vector<int32_t> out(n * k);
  for (size_t j = 0; j < k; ++j) {
    const ScorecardFeature& f = features_[j];
    const Column* column = table.Find(f.name);
    if (column == nullptr) return Invalid("feature column " + Quoted(f.name) + " is missing");
    if (!f.categorical) {
      if (column->type() != ColumnType::kInt64 && column->type() != ColumnType::kFloat64) {
        return Invalid("feature column " + Quoted(f.name) + " is " +
                       ColumnTypeName(column->type()) +
                       "; the scorecard bins it as a number (int64 or float64)");
      }
      std::vector<double> edges;  // the lower edges of ranges 1..
      for (size_t b = 1; b + 1 < f.bins.size(); ++b) edges.push_back(f.bins[b].lower);
      for (size_t i = 0; i < n; ++i) {
        std::optional<double> v = column->NumberAt(i);
        out[i * k + j] =
            !v || std::isnan(*v)
                ? missing_bin_[j]
                : static_cast<int32_t>(std::upper_bound(edges.begin(), edges.end(), *v) -
                                       edges.begin());
      }
      continue;
    }
    if (column->type() != f.type) {
      return Invalid("feature column " + Quoted(f.name) + " is " + ColumnTypeName(column->type()) +
                     "; the scorecard learned it as " + ColumnTypeName(f.type));
    }
    auto lookup = [&](std::string_view text) {
      auto it = level_bins_[j].find(text);
      return it == level_bins_[j].end() ? other_bin_[j] : it->second;
    };
    std::vector<int32_t> by_code;
    if (column->type() == ColumnType::kString) {
      for (const std::string& level : column->dictionary()) by_code.push_back(lookup(level));
    }
    for (size_t i = 0; i < n; ++i) {
      if (column->IsNull(i)) {
        out[i * k + j] = missing_bin_[j];
      } else if (column->type() == ColumnType::kString) {
        out[i * k + j] = by_code[static_cast<size_t>(column->codes()[i])];
      } else {
        out[i * k + j] = lookup(LevelText(*column, i));
      }
    }
  }
  return out;
}

double Scorecard::RowLogit(const int32_t* bins, double* log_odds) const {
  double logit = intercept_;
  for (size_t j = 0; j < features_.size(); ++j) {
    const double v = features_[j].coefficient * features_[j].bins[bins[j]].woe;
    if (log_odds != nullptr) log_odds[j] = v;
    logit += v;
  }
  return logit;
}

StatusOr<std::vector<double>> Scorecard::Logits(const Table& table) const {
  ASSIGN_OR_RETURN(std::vector<int32_t> bins, AssignBins(table));
  const size_t n = table.num_rows(), k = features_.size();
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = RowLogit(&bins[i * k], nullptr);
  return out;
}

StatusOr<std::vector<float>> Scorecard::Predict(const Table& table) const {
  ASSIGN_OR_RETURN(std::vector<double> logits, Logits(table));
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(Sigmoid(logits[i]));
  return out;
}

StatusOr<std::vector<double>> Scorecard::Score(const Table& table) const {
  ASSIGN_OR_RETURN(std::vector<int32_t> bins, AssignBins(table));
  const size_t n = table.num_rows(), k = features_.size();
  std::vector<double> out(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < k; ++j) out[i] += features_[j].bins[bins[i * k + j]].points;
  }
  return out;
}

StatusOr<ScorecardContributions> Scorecard::Contributions(const Table& table) const {
  ScorecardContributions out;
  ASSIGN_OR_RETURN(out.bins, AssignBins(table));
  const size_t n = table.num_rows(), k = features_.size();
  out.rows = n;
  out.intercept = intercept_;
  for (const ScorecardFeature& f : features_) out.features.push_back(f.name);
  out.points.resize(n * k);
  out.log_odds.resize(n * k);
  for (size_t i = 0; i < n; ++i) {
    RowLogit(&out.bins[i * k], &out.log_odds[i * k]);
    for (size_t j = 0; j < k; ++j)
      out.points[i * k + j] = features_[j].bins[out.bins[i * k + j]].points;
  }
  return out;
}

// ---- JSON ----

Json Scorecard::ToJson() const {
  Json features = Json::array();
  for (const ScorecardFeature& f : features_) {
    Json bins = Json::array();
    for (const ScorecardBin& bin : f.bins) {
      Json b = {{"kind", ScorecardBinKindName(bin.kind)},
                {"goods", bin.goods},
                {"bads", bin.bads},
                {"count", bin.count()},
                {"woe", bin.woe},
                {"iv", bin.iv},
                {"points", bin.points}};
      if (bin.kind == ScorecardBinKind::kRange) {
        b["lower"] = Edge(bin.lower);
        b["upper"] = Edge(bin.upper);
      }
      if (bin.kind == ScorecardBinKind::kLevels || bin.kind == ScorecardBinKind::kOther) {
        b["levels"] = bin.levels;
      }
      bins.push_back(std::move(b));
    }
    features.push_back({{"name", f.name},
                        {"type", ColumnTypeName(f.type)},
                        {"binning", f.categorical ? "categorical" : "numeric"},
                        {"direction", f.direction},
                        {"iv", f.iv},
                        {"coefficient", f.coefficient},
                        {"bins", std::move(bins)}});
  }
  Json dropped = Json::array();
  for (const DroppedFeature& d : dropped_) {
    dropped.push_back({{"name", d.name}, {"iv", d.iv}, {"reason", d.reason}});
  }
  return {{"format", kFormat},
          {"model", "scorecard"},
          {"options", options_.ToJson()},
          {"rows", goods_ + bads_},
          {"goods", goods_},
          {"bads", bads_},
          {"factor", factor_},
          {"offset", offset_},
          {"intercept", intercept_},
          {"features", std::move(features)},
          {"dropped", std::move(dropped)},
          {"regression",
           {{"iterations", regression_.iterations},
            {"converged", regression_.converged},
            {"objective", regression_.objective},
            {"gradient_norm", regression_.gradient_norm}}}};
}

StatusOr<Scorecard> Scorecard::FromJson(const Json& json) {
  RETURN_IF_ERROR(CheckMembers(json, "scorecard",
                               {"format", "model", "options", "rows", "goods", "bads", "factor",
                                "offset", "intercept", "features", "dropped", "regression"}));
  if (json["format"] != kFormat) {
    return Invalid("scorecard: format must be " + std::to_string(kFormat));
  }
  if (json["model"] != "scorecard") return Invalid("scorecard: model must be \"scorecard\"");
  Scorecard card;
  {
    StatusOr<ScorecardOptions> options = ScorecardOptions::FromJson(json["options"]);
    if (!options.ok()) return Invalid("scorecard: " + std::string(options.status().message()));
    card.options_ = *options;
  }
  ASSIGN_OR_RETURN(int64_t rows, Count(json["rows"], "scorecard: rows"));
  ASSIGN_OR_RETURN(card.goods_, Count(json["goods"], "scorecard: goods"));
  ASSIGN_OR_RETURN(card.bads_, Count(json["bads"], "scorecard: bads"));
  if (card.goods_ == 0 || card.bads_ == 0 || card.goods_ + card.bads_ != rows) {
    return Invalid("scorecard: goods and bads must both be > 0 and add up to rows");
  }
  ASSIGN_OR_RETURN(card.factor_, FiniteNumber(json["factor"], "scorecard: factor"));
  ASSIGN_OR_RETURN(card.offset_, FiniteNumber(json["offset"], "scorecard: offset"));
  const double factor = card.options_.pdo / std::log(2.0);
  const double offset = card.options_.base_score - factor * std::log(card.options_.base_odds);
  if (!Same(card.factor_, factor) || !Same(card.offset_, offset)) {
    return Invalid("scorecard: factor and offset must be pdo / ln 2 = " + Short(factor) +
                   " and base_score - factor * ln(base_odds) = " + Short(offset));
  }
  ASSIGN_OR_RETURN(card.intercept_, FiniteNumber(json["intercept"], "scorecard: intercept"));

  const Json& features = json["features"];
  if (!features.is_array() || features.empty()) {
    return Invalid("scorecard: features must be a non-empty array");
  }
  std::set<std::string> names;
  for (size_t j = 0; j < features.size(); ++j) {
    const Json& fj = features[j];
    std::string what = "scorecard: features[" + std::to_string(j) + "]";
    RETURN_IF_ERROR(CheckMembers(
        fj, what, {"name", "type", "binning", "direction", "iv", "coefficient", "bins"}));
    ScorecardFeature f;
    if (!fj["name"].is_string()) return Invalid(what + ".name must be a string");
    f.name = fj["name"].get<std::string>();
    what += " (" + Quoted(f.name) + ")";
    if (!names.insert(f.name).second) return Invalid(what + ": the name repeats");
    if (!Contains(card.options_.features, f.name)) {
      return Invalid(what + ": the name is not among options.features");
    }
    std::optional<ColumnType> type =
        fj["type"].is_string() ? ParseColumnType(fj["type"].get<std::string>()) : std::nullopt;
    if (!type || *type == ColumnType::kTimestamp) {
      return Invalid(what + ".type must be int64, float64, bool or string");
    }
    f.type = *type;
    if (fj["binning"] != "numeric" && fj["binning"] != "categorical") {
      return Invalid(what + ".binning must be \"numeric\" or \"categorical\"");
    }
    f.categorical = fj["binning"] == "categorical";
    const bool can_be_numeric = f.type == ColumnType::kInt64 || f.type == ColumnType::kFloat64;
    if ((f.categorical && f.type == ColumnType::kFloat64) || (!f.categorical && !can_be_numeric)) {
      return Invalid(what + ": a " + ColumnTypeName(f.type) + " column cannot have " +
                     fj["binning"].get<std::string>() + " binning");
    }
    if (!fj["direction"].is_number_integer()) {
      return Invalid(what + ".direction must be -1, 0 or 1");
    }
    f.direction = static_cast<int>(std::clamp<int64_t>(fj["direction"].get<int64_t>(), -2, 2));
    if (f.categorical ? f.direction != 0 : (f.direction != 1 && f.direction != -1)) {
      return Invalid(what + ".direction must be " +
                     (f.categorical ? "0 for categorical binning" : "1 or -1 for numeric binning"));
    }
    ASSIGN_OR_RETURN(f.iv, FiniteNumber(fj["iv"], what + ".iv"));
    ASSIGN_OR_RETURN(f.coefficient, FiniteNumber(fj["coefficient"], what + ".coefficient"));
    const Json& bins = fj["bins"];
    if (!bins.is_array()) return Invalid(what + ".bins must be an array");
    int64_t goods = 0, bads = 0;
    double iv = 0;
    for (size_t b = 0; b < bins.size(); ++b) {
      const Json& bj = bins[b];
      const std::string where = what + ".bins[" + std::to_string(b) + "]";
      if (!bj.is_object() || !bj.contains("kind")) return Invalid(where + " lacks its kind");
      ScorecardBin bin;
      const Json& kind = bj["kind"];
      if (kind == "range") {
        bin.kind = ScorecardBinKind::kRange;
        RETURN_IF_ERROR(CheckMembers(
            bj, where,
            {"kind", "lower", "upper", "goods", "bads", "count", "woe", "iv", "points"}));
        if (!bj["lower"].is_null()) {
          ASSIGN_OR_RETURN(bin.lower, FiniteNumber(bj["lower"], where + ".lower"));
        }
        if (!bj["upper"].is_null()) {
          ASSIGN_OR_RETURN(bin.upper, FiniteNumber(bj["upper"], where + ".upper"));
        }
      } else if (kind == "levels" || kind == "other") {
        bin.kind = kind == "levels" ? ScorecardBinKind::kLevels : ScorecardBinKind::kOther;
        RETURN_IF_ERROR(CheckMembers(
            bj, where, {"kind", "levels", "goods", "bads", "count", "woe", "iv", "points"}));
        if (!bj["levels"].is_array()) return Invalid(where + ".levels must be an array");
        for (const Json& level : bj["levels"]) {
          if (!level.is_string()) return Invalid(where + ".levels must hold strings");
          bin.levels.push_back(level.get<std::string>());
        }
      } else if (kind == "missing") {
        bin.kind = ScorecardBinKind::kMissing;
        RETURN_IF_ERROR(
            CheckMembers(bj, where, {"kind", "goods", "bads", "count", "woe", "iv", "points"}));
      } else {
        return Invalid(where + ".kind must be range, levels, other or missing");
      }
      ASSIGN_OR_RETURN(bin.goods, Count(bj["goods"], where + ".goods"));
      ASSIGN_OR_RETURN(bin.bads, Count(bj["bads"], where + ".bads"));
      ASSIGN_OR_RETURN(int64_t count, Count(bj["count"], where + ".count"));
      if (count != bin.count()) return Invalid(where + ".count must be goods + bads");
      ASSIGN_OR_RETURN(bin.woe, FiniteNumber(bj["woe"], where + ".woe"));
      ASSIGN_OR_RETURN(bin.iv, FiniteNumber(bj["iv"], where + ".iv"));
      ASSIGN_OR_RETURN(bin.points, FiniteNumber(bj["points"], where + ".points"));
      const double woe = Woe(bin.goods, bin.bads, card.goods_, card.bads_);
      if (!Same(bin.woe, woe)) {
        return Invalid(where + ".woe is " + Short(bin.woe) + "; its counts give " + Short(woe));
      }
      const double bin_iv = Iv(bin.goods, bin.bads, card.goods_, card.bads_, bin.woe);
      if (!Same(bin.iv, bin_iv)) {
        return Invalid(where + ".iv is " + Short(bin.iv) + "; its counts give " + Short(bin_iv));
      }
      goods += bin.goods;
      bads += bin.bads;
      iv += bin.iv;
      f.bins.push_back(std::move(bin));
    }
    if (goods != card.goods_ || bads != card.bads_) {
      return Invalid(what + ": the bins count " + std::to_string(goods) + " goods and " +
                     std::to_string(bads) + " bads; the scorecard has " +
                     std::to_string(card.goods_) + " and " + std::to_string(card.bads_));
    }
    if (!Same(f.iv, iv)) {
      return Invalid(what + ".iv is " + Short(f.iv) + "; its bins add up to " + Short(iv));
    }
    card.features_.push_back(std::move(f));
  }
  RETURN_IF_ERROR(card.Index());
  for (size_t j = 0; j < card.features_.size(); ++j) {
    for (size_t b = 0; b < card.features_[j].bins.size(); ++b) {
      const double exact = card.ExactPoints(j, b);
      const double expected = card.options_.round_points ? std::round(exact) : exact;
      const double points = card.features_[j].bins[b].points;
      if (card.options_.round_points ? points != expected : !Same(points, expected)) {
        return Invalid("scorecard: features[" + std::to_string(j) + "] (" +
                       Quoted(card.features_[j].name) + ").bins[" + std::to_string(b) +
                       "].points is " + Short(points) + "; the coefficients give " +
                       Short(expected));
      }
    }
  }

  const Json& dropped = json["dropped"];
  if (!dropped.is_array()) return Invalid("scorecard: dropped must be an array");
  for (size_t d = 0; d < dropped.size(); ++d) {
    const std::string what = "scorecard: dropped[" + std::to_string(d) + "]";
    RETURN_IF_ERROR(CheckMembers(dropped[d], what, {"name", "iv", "reason"}));
    DroppedFeature f;
    if (!dropped[d]["name"].is_string() || !dropped[d]["reason"].is_string()) {
      return Invalid(what + ": name and reason must be strings");
    }
    f.name = dropped[d]["name"].get<std::string>();
    if (!names.insert(f.name).second) return Invalid(what + ": the name repeats");
    ASSIGN_OR_RETURN(f.iv, FiniteNumber(dropped[d]["iv"], what + ".iv"));
    f.reason = dropped[d]["reason"].get<std::string>();
    card.dropped_.push_back(std::move(f));
  }
  for (const std::string& name : card.options_.features) {
    if (!names.count(name)) {
      return Invalid("scorecard: options.features lists " + Quoted(name) +
                     ", which is neither in features nor in dropped");
    }
  }

  const Json& r = json["regression"];
  RETURN_IF_ERROR(CheckMembers(r, "scorecard: regression",
                               {"iterations", "converged", "objective", "gradient_norm"}));
  if (!r["iterations"].is_number_integer() || r["iterations"].get<int64_t>() < 0 ||
      r["iterations"].get<int64_t>() > std::numeric_limits<int>::max()) {
    return Invalid("scorecard: regression.iterations must be an integer >= 0");
  }
  card.regression_.iterations = r["iterations"].get<int>();
  if (!r["converged"].is_boolean()) {
    return Invalid("scorecard: regression.converged must be true or false");
  }
  card.regression_.converged = r["converged"].get<bool>();
  ASSIGN_OR_RETURN(card.regression_.objective,
                   FiniteNumber(r["objective"], "scorecard: regression.objective"));
  ASSIGN_OR_RETURN(card.regression_.gradient_norm,
                   FiniteNumber(r["gradient_norm"], "scorecard: regression.gradient_norm"));
  return card;
}

// ---- Reports ----

Json Scorecard::Summary() const {
  auto strength = [](double iv) {
    return iv < 0.02  ? "not predictive"
           : iv < 0.1 ? "weak"
           : iv < 0.3 ? "medium"
           : iv < 0.5 ? "strong"
                      : "very strong";
  };
  Json rows = Json::array();
  for (const ScorecardFeature& f : features_) {
    rows.push_back({{"name", f.name},
                    {"iv", f.iv},
                    {"strength", strength(f.iv)},
                    {"selected", true},
                    {"bins", f.bins.size()},
                    {"coefficient", f.coefficient},
                    {"reversed", f.coefficient > 0}});
  }
  for (const DroppedFeature& d : dropped_) {
    rows.push_back({{"name", d.name},
                    {"iv", d.iv},
                    {"strength", strength(d.iv)},
                    {"selected", false},
                    {"reason", d.reason}});
  }
  std::vector<Json> sorted(rows.begin(), rows.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const Json& a, const Json& b) {
    const double ia = a["iv"].get<double>(), ib = b["iv"].get<double>();
    if (ia != ib) return ia > ib;
    return a["name"].get<std::string>() < b["name"].get<std::string>();
  });
  double low = 0, high = 0;
  for (const ScorecardFeature& f : features_) {
    double lo = kInf, hi = -kInf;
    for (const ScorecardBin& bin : f.bins)
      lo = std::min(lo, bin.points), hi = std::max(hi, bin.points);
    low += lo;
    high += hi;
  }
  return {{"features", sorted},
          {"rows", goods_ + bads_},
          {"goods", goods_},
          {"bads", bads_},
          {"intercept", intercept_},
          {"pdo", options_.pdo},
          {"base_score", options_.base_score},
          {"base_odds", options_.base_odds},
          {"factor", factor_},
          {"offset", offset_},
          {"rounded_points", options_.round_points},
          {"score_range", {{"min", low}, {"max", high}}},
          {"regression",
           {{"iterations", regression_.iterations},
            {"converged", regression_.converged},
            {"objective", regression_.objective},
            {"gradient_norm", regression_.gradient_norm}}}};
}

std::string Scorecard::PointsTableMarkdown() const {
  const double total = static_cast<double>(goods_ + bads_);
  std::string out = "Scorecard: " + Short(options_.base_score) + " points at odds " +
                    Short(options_.base_odds) + ":1 (good:bad), " + Short(options_.pdo) +
                    " more points each time the odds double; higher scores mean lower risk. " +
                    std::to_string(features_.size()) + " features, " +
                    std::to_string(goods_ + bads_) + " training rows (" + std::to_string(bads_) +
                    " bad)" + (options_.round_points ? ", points rounded" : "") + ".\n\n";
  out += "| feature | bin | count | share | bad rate | WoE | IV | points |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const ScorecardFeature& f : features_) {
    for (const ScorecardBin& bin : f.bins) {
      const double count = static_cast<double>(bin.count());
      out += "| " + MarkdownCell(f.name) + " | " + MarkdownCell(bin.Label()) + " | " +
             std::to_string(bin.count()) + " | " + Fixed(100 * count / total, 1) + "% | " +
             (bin.count() ? Fixed(100 * double(bin.bads) / count, 2) + "%" : "-") + " | " +
             Fixed(bin.woe, 4) + " | " + Fixed(bin.iv, 4) + " | " +
             (options_.round_points ? Fixed(bin.points, 0) : Fixed(bin.points, 2)) + " |\n";
    }
  }
  if (!dropped_.empty()) {
    out += "\nDropped: ";
    for (size_t d = 0; d < dropped_.size(); ++d) {
      out += (d ? "; " : "") + MarkdownCell(dropped_[d].name) + " (" + dropped_[d].reason + ")";
    }
    out += ".\n";
  }
  return out;
}

}  // namespace plinth
