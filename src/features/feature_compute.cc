// Feature computation. Each feature's expression is evaluated once over the whole source table
// (column-wise, expr::EvaluateColumns). Latest features then go through the point-in-time join
// (features/point_in_time.h). Window aggregations use an index of the usable source rows sorted
// by (entity, ts, created, row), so an entity's rows are one contiguous range. The spine rows are
// bucketed by entity and each bucket is swept in time order: the end of the known rows and the
// start of each window only move forward, and each window's rows are aggregated either one by
// one (the exact left-to-right result) or, for windows spanning more than kScanLimit rows, through
// per-block partial aggregates. A block's partial aggregate is used only when every row in it is
// known at the spine time (its maximum created time passes), so late-arriving rows are checked
// row by row only where they are.
#include "features/feature_compute.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "expr/expr.h"
#include "features/point_in_time.h"

namespace plinth {
namespace {

// Windows of at most this many rows are aggregated row by row, in (ts, created, row) order.
constexpr size_t kScanLimit = 128;
// Rows per block, and blocks per super block, of the partial aggregates for larger windows.
constexpr size_t kBlockRows = 64;
constexpr size_t kSuperRows = kBlockRows * 64;
// Spine rows below which window queries run on the calling thread only.
constexpr size_t kParallelRows = 100000;
// Marks in QueryWindows' row -> query position map.
constexpr uint32_t kNullRow = std::numeric_limits<uint32_t>::max();  // null key or time
constexpr uint32_t kEmptyRow = kNullRow - 1;                         // an entity without rows
// Spine and source rows are numbered with 32 bits, below the marks.
constexpr size_t kMaxRows = kEmptyRow - 1;

// Names of the key/time columns of the tables handed to PointInTimeJoin. Not identifiers, so
// they cannot clash with a (checked) feature's name.
constexpr char kPitKey[] = "#key";
constexpr char kPitTime[] = "#time";
constexpr char kPitCreated[] = "#created";

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

bool IsTime(ColumnType type) {
  return type == ColumnType::kTimestamp || type == ColumnType::kInt64;
}

bool IsKey(ColumnType type) { return type == ColumnType::kString || type == ColumnType::kInt64; }

// One feature of a prepared view: its definition, result type and values over the source.
struct PreparedFeature {
  const FeatureDef* def = nullptr;
  ColumnType type = ColumnType::kInt64;
  // The expression evaluated over every source row; absent for a count without expression.
  std::optional<Column> values;
};

// A view resolved against its source data, with every requested feature evaluated.
struct PreparedView {
  const FeatureViewDef* view = nullptr;
  const EntityDef* entity = nullptr;
  const Column* key = nullptr;
  const Column* ts = nullptr;
  const Column* created = nullptr;  // nullptr: rows are known from their ts on
  std::vector<PreparedFeature> features;
};

StatusOr<const Column*> SourceTimeColumn(const FeatureViewDef& view, const Table& data,
                                         const std::string& name, const char* role) {
  const Column* column = data.Find(name);
  if (column == nullptr) {
    return Invalid("view '" + view.name + "': source '" + view.source + "' has no " + role +
                   " column '" + name + "'");
  }
  if (!IsTime(column->type())) {
    return Invalid("view '" + view.name + "': " + role + " column '" + name +
                   "' must be timestamp or int64, not " + ColumnTypeName(column->type()));
  }
  return column;
}

// Resolves the view's entity, source columns and the features named `names` (all when empty),
// and evaluates their expressions over the whole source.
StatusOr<PreparedView> Prepare(const ViewInput& input, const std::vector<std::string>& names) {
  if (input.repo == nullptr || input.view == nullptr || input.data == nullptr) {
    return Invalid("feature computation needs a repo, a view and the source's data");
  }
  const FeatureRepo& repo = *input.repo;
  const FeatureViewDef& view = *input.view;
  const Table& data = *input.data;
  // The window index numbers rows with 32 bits.
  if (data.num_rows() > kMaxRows) {
    return Invalid("view '" + view.name + "': the source has too many rows (" +
                   std::to_string(data.num_rows()) + ")");
  }
  PreparedView prepared;
  prepared.view = &view;
  prepared.entity = repo.FindEntity(view.entity);
  if (prepared.entity == nullptr) {
    return Invalid("view '" + view.name + "': unknown entity '" + view.entity + "'");
  }
  const SourceDef* source = repo.FindSource(view.source);
  if (source == nullptr) {
    return Invalid("view '" + view.name + "': unknown source '" + view.source + "'");
  }
  if (view.ttl_micros < 0) {
    return Invalid("view '" + view.name + "': ttl must be >= 0, got " +
                   std::to_string(view.ttl_micros));
  }
  const std::string& join_key = prepared.entity->join_key;
  prepared.key = data.Find(join_key);
  if (prepared.key == nullptr) {
    return Invalid("view '" + view.name + "': source '" + view.source +
                   "' has no join key column '" + join_key + "'");
  }
  if (!IsKey(prepared.key->type())) {
    return Invalid("view '" + view.name + "': join key column '" + join_key +
                   "' must be string or int64, not " + ColumnTypeName(prepared.key->type()));
  }
  ASSIGN_OR_RETURN(prepared.ts, SourceTimeColumn(view, data, source->timestamp, "timestamp"));
  if (!source->created.empty()) {
    ASSIGN_OR_RETURN(prepared.created, SourceTimeColumn(view, data, source->created, "created"));
  }

  std::vector<const FeatureDef*> selected;
  if (names.empty()) {
    for (const FeatureDef& feature : view.features) selected.push_back(&feature);
  } else {
    std::set<std::string> seen;
    for (const std::string& name : names) {
      auto it = std::find_if(view.features.begin(), view.features.end(),
                             [&name](const FeatureDef& f) { return f.name == name; });
      if (it == view.features.end()) {
        return Invalid("view '" + view.name + "' has no feature '" + name + "'");
      }
      if (!seen.insert(name).second) {
        return Invalid("feature '" + name + "' of view '" + view.name + "' is asked for twice");
      }
      selected.push_back(&*it);
    }
  }

  const expr::Environment env = expr::EnvironmentForTable(data);
  for (const FeatureDef* def : selected) {
    const std::string what = "view '" + view.name + "', feature '" + def->name + "'";
    PreparedFeature feature;
    feature.def = def;
    if (def->aggregation != Aggregation::kLatest && def->window_micros <= 0) {
      return Invalid(what + ": " + AggregationName(def->aggregation) + " needs a window > 0");
    }
    if (def->expr.empty()) {
      if (def->aggregation != Aggregation::kCount) {
        return Invalid(what + ": " + AggregationName(def->aggregation) + " needs an expression");
      }
    } else {
      StatusOr<expr::Program> program = expr::Compile(def->expr, env);
      if (!program.ok()) {
        return Invalid(what + ": " + std::string(program.status().message()));
      }
      const expr::TypeKind kind = program->result_type().kind();
      const bool numeric_agg =
          def->aggregation == Aggregation::kSum || def->aggregation == Aggregation::kMean ||
          def->aggregation == Aggregation::kMin || def->aggregation == Aggregation::kMax;
      if (numeric_agg && kind != expr::TypeKind::kInt && kind != expr::TypeKind::kDouble) {
        return Invalid(what + ": " + AggregationName(def->aggregation) +
                       " needs a numeric expression (int or double), not " +
                       program->result_type().ToString());
      }
      expr::ColumnOptions options;
      options.name = def->name;
      options.errors_as_null = false;
      StatusOr<Column> values = expr::EvaluateColumns(*program, data, options);
      if (!values.ok()) return Invalid(what + ": " + std::string(values.status().message()));
      feature.values = std::move(values).value();
    }
    switch (def->aggregation) {
      case Aggregation::kLatest:
        feature.type = feature.values->type();
        break;
      case Aggregation::kCount:
        feature.type = ColumnType::kInt64;
        break;
      default:
        feature.type = ColumnType::kFloat64;
        break;
    }
    prepared.features.push_back(std::move(feature));
  }
  return prepared;
}

// Dense ids ("groups") for the source's entity keys, and lookups of other tables' keys. String
// keys match by value, so they are mapped through the source's dictionary.
class KeyGroups {
 public:
  explicit KeyGroups(const Column& key) : key_(key) {
    if (key.type() == ColumnType::kString) {
      size_ = key.dictionary().size();
      return;
    }
    const std::vector<int64_t>& values = key.int64s();
    for (size_t r = 0; r < key.size(); ++r) {
      if (key.IsNull(r)) continue;
      auto [it, inserted] = ids_.try_emplace(values[r], static_cast<int32_t>(keys_.size()));
      if (inserted) keys_.push_back(values[r]);
    }
    size_ = keys_.size();
  }

  size_t size() const { return size_; }

  // The group of source row `row`; -1 for a null key.
  int32_t OfSourceRow(size_t row) const {
    if (key_.IsNull(row)) return -1;
    if (key_.type() == ColumnType::kString) return key_.codes()[row];
    return ids_.find(key_.int64s()[row])->second;
  }

  int32_t OfInt(int64_t key) const {
    auto it = ids_.find(key);
    return it == ids_.end() ? -1 : it->second;
  }

  int32_t OfString(std::string_view key) const {
    std::optional<int32_t> code = key_.FindCode(key);
    return code.has_value() ? *code : -1;
  }

  // For each code of the string column `other`, its group (-1 when no source row has it).
  std::vector<int32_t> MapDictionary(const Column& other) const {
    std::vector<int32_t> groups(other.dictionary().size());
    for (size_t c = 0; c < groups.size(); ++c) groups[c] = OfString(other.dictionary()[c]);
    return groups;
  }

  // The key as online-table text: the string itself, int64 in decimal.
  std::string Text(int32_t group) const {
    if (key_.type() == ColumnType::kString) return key_.dictionary()[group];
    return std::to_string(keys_[group]);
  }

 private:
  const Column& key_;
  size_t size_ = 0;
  absl::flat_hash_map<int64_t, int32_t> ids_;
  std::vector<int64_t> keys_;
};

// Partial aggregate of some rows' non-null values. min/max start at +-inf and combine through
// MinOf/MaxOf, which do not depend on the order of combination (NaN wins; -0 < +0).
struct Acc {
  int64_t count = 0;
  double sum = 0.0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
};

inline double MinOf(double a, double b) {
  if (a < b) return a;
  if (b < a) return b;
  // Equal, or a NaN.
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return std::signbit(a) ? a : b;
}

inline double MaxOf(double a, double b) {
  if (a > b) return a;
  if (b > a) return b;
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<double>::quiet_NaN();
  return std::signbit(a) ? b : a;
}

void AddValue(Acc* acc, double v) {
  ++acc->count;
  acc->sum += v;
  acc->min = MinOf(acc->min, v);
  acc->max = MaxOf(acc->max, v);
}

void AddAcc(Acc* acc, const Acc& other) {
  acc->count += other.count;
  acc->sum += other.sum;
  acc->min = MinOf(acc->min, other.min);
  acc->max = MaxOf(acc->max, other.max);
}

// AddValue and AddAcc for one aggregation: only the field it reads, and the count.
template <Aggregation kAgg>
void Add(Acc* acc, double v) {
  ++acc->count;
  if constexpr (kAgg == Aggregation::kSum) acc->sum += v;
  if constexpr (kAgg == Aggregation::kMin) acc->min = MinOf(acc->min, v);
  if constexpr (kAgg == Aggregation::kMax) acc->max = MaxOf(acc->max, v);
}

template <Aggregation kAgg>
void Merge(Acc* acc, const Acc& other) {
  acc->count += other.count;
  if constexpr (kAgg == Aggregation::kSum) acc->sum += other.sum;
  if constexpr (kAgg == Aggregation::kMin) acc->min = MinOf(acc->min, other.min);
  if constexpr (kAgg == Aggregation::kMax) acc->max = MaxOf(acc->max, other.max);
}

// One window feature's values in index order, with per-block partial aggregates.
struct WindowFeature {
  const FeatureDef* def = nullptr;
  // A count without expression: every row counts.
  bool all_valid = false;
  std::vector<double> values;
  std::vector<uint8_t> valid;
  std::vector<Acc> blocks, supers;
};

// The usable source rows of one view sorted by (group, ts, created, row).
class WindowIndex {
 public:
  // `groups[r]` is source row r's group, or -1 to leave the row out.
  WindowIndex(const std::vector<int32_t>& groups, size_t num_groups, const Column& ts,
              const Column* created) {
    begin_.assign(num_groups + 1, 0);
    for (int32_t g : groups) {
      if (g >= 0) ++begin_[static_cast<size_t>(g) + 1];
    }
    for (size_t g = 0; g < num_groups; ++g) begin_[g + 1] += begin_[g];
    const size_t n = begin_[num_groups];
    rows_.resize(n);
    {
      std::vector<size_t> next(begin_.begin(), begin_.end() - 1);
      for (size_t r = 0; r < groups.size(); ++r) {
        if (groups[r] >= 0) rows_[next[groups[r]]++] = static_cast<uint32_t>(r);
      }
    }
    // Rows are in row order within a group; sources are usually in time order already.
    const int64_t* t = ts.int64s().data();
    const int64_t* c = created != nullptr ? created->int64s().data() : t;
    auto less = [t, c](uint32_t a, uint32_t b) {
      return std::tie(t[a], c[a], a) < std::tie(t[b], c[b], b);
    };
    for (size_t g = 0; g < num_groups; ++g) {
      auto first = rows_.begin() + static_cast<std::ptrdiff_t>(begin_[g]);
      auto last = rows_.begin() + static_cast<std::ptrdiff_t>(begin_[g + 1]);
      if (!std::is_sorted(first, last, less)) std::sort(first, last, less);
    }
    ts_.resize(n);
    for (size_t i = 0; i < n; ++i) ts_[i] = t[rows_[i]];
    if (created != nullptr) {
      created_.resize(n);
      for (size_t i = 0; i < n; ++i) created_[i] = c[rows_[i]];
    }
    const int64_t* known = created_.empty() ? ts_.data() : created_.data();
    block_created_ = MaxPerBlock(known, n, kBlockRows);
    super_created_ = MaxPerBlock(known, n, kSuperRows);
  }

  // The feature's values in index order, with its block aggregates.
  WindowFeature Feature(const PreparedFeature& feature) const {
    WindowFeature out;
    out.def = feature.def;
    out.all_valid = !feature.values.has_value();
    const size_t n = rows_.size();
    out.valid.assign(n, 1);
    out.values.assign(n, 0.0);
    if (feature.values.has_value()) {
      const Column& column = *feature.values;
      for (size_t i = 0; i < n; ++i) out.valid[i] = !column.IsNull(rows_[i]);
      if (column.type() == ColumnType::kFloat64) {
        for (size_t i = 0; i < n; ++i) out.values[i] = column.float64s()[rows_[i]];
      } else if (column.type() == ColumnType::kInt64) {
        for (size_t i = 0; i < n; ++i) {
          out.values[i] = static_cast<double>(column.int64s()[rows_[i]]);
        }
      }
      // Other types only occur for counts, which use validity alone.
    }
    out.blocks.resize((n + kBlockRows - 1) / kBlockRows);
    for (size_t i = 0; i < n; ++i) {
      if (out.valid[i]) AddValue(&out.blocks[i / kBlockRows], out.values[i]);
    }
    const size_t per_super = kSuperRows / kBlockRows;
    out.supers.resize((n + kSuperRows - 1) / kSuperRows);
    for (size_t b = 0; b < out.blocks.size(); ++b)
      AddAcc(&out.supers[b / per_super], out.blocks[b]);
    return out;
  }

  size_t num_groups() const { return begin_.size() - 1; }
  // Positions [first, last) of group g's rows.
  std::pair<size_t, size_t> Range(int32_t g) const { return {begin_[g], begin_[g + 1]}; }
  int64_t ts(size_t position) const { return ts_[position]; }

  // Aggregates the feature over positions [lo, hi) whose created time is before t (or at t when
  // inclusive); their ts is already in the window.
  Acc Aggregate(const WindowFeature& f, size_t lo, size_t hi, int64_t t, bool inclusive) const {
    if (lo >= hi) return Acc();
    // Without a created column every row in [lo, hi) is known (its ts is); with one, a row is
    // known when its created time is at most `limit`. (Strict: ts[lo] < t, so t - 1 is safe.)
    const int64_t limit = inclusive ? t : t - 1;
    if (created_.empty()) {
      if (f.all_valid) {
        Acc acc;
        acc.count = static_cast<int64_t>(hi - lo);
        return acc;
      }
      switch (f.def->aggregation) {
        case Aggregation::kCount:
          return Run<Aggregation::kCount, false>(f, lo, hi, limit);
        case Aggregation::kSum:
        case Aggregation::kMean:
          return Run<Aggregation::kSum, false>(f, lo, hi, limit);
        case Aggregation::kMin:
          return Run<Aggregation::kMin, false>(f, lo, hi, limit);
        default:
          return Run<Aggregation::kMax, false>(f, lo, hi, limit);
      }
    }
    switch (f.def->aggregation) {
      case Aggregation::kCount:
        return Run<Aggregation::kCount, true>(f, lo, hi, limit);
      case Aggregation::kSum:
      case Aggregation::kMean:
        return Run<Aggregation::kSum, true>(f, lo, hi, limit);
      case Aggregation::kMin:
        return Run<Aggregation::kMin, true>(f, lo, hi, limit);
      default:
        return Run<Aggregation::kMax, true>(f, lo, hi, limit);
    }
  }

 private:
  // Aggregate() for one kind of aggregation (kSum also serves kMean), with or without checking
  // each row's created time.
  template <Aggregation kAgg, bool kCheckCreated>
  Acc Run(const WindowFeature& f, size_t lo, size_t hi, int64_t limit) const {
    const int64_t* created = created_.data();
    const uint8_t* valid = f.valid.data();
    const double* values = f.values.data();
    Acc acc;
    auto row = [&](size_t i) {
      if (valid[i] && (!kCheckCreated || created[i] <= limit)) Add<kAgg>(&acc, values[i]);
    };
    size_t i = lo;
    if (hi - lo > kScanLimit) {
      for (; i < hi && i % kBlockRows != 0; ++i) row(i);
      while (i + kBlockRows <= hi) {
        if (i % kSuperRows == 0 && i + kSuperRows <= hi &&
            (!kCheckCreated || super_created_[i / kSuperRows] <= limit)) {
          Merge<kAgg>(&acc, f.supers[i / kSuperRows]);
          i += kSuperRows;
        } else if (!kCheckCreated || block_created_[i / kBlockRows] <= limit) {
          Merge<kAgg>(&acc, f.blocks[i / kBlockRows]);
          i += kBlockRows;
        } else {
          for (size_t end = i + kBlockRows; i < end; ++i) row(i);
        }
      }
    }
    for (; i < hi; ++i) row(i);
    return acc;
  }

  static std::vector<int64_t> MaxPerBlock(const int64_t* values, size_t n, size_t rows) {
    std::vector<int64_t> out((n + rows - 1) / rows, std::numeric_limits<int64_t>::min());
    for (size_t i = 0; i < n; ++i) out[i / rows] = std::max(out[i / rows], values[i]);
    return out;
  }

  std::vector<size_t> begin_;   // group g's rows are at positions [begin_[g], begin_[g + 1])
  std::vector<uint32_t> rows_;  // source row at each position
  std::vector<int64_t> ts_;
  std::vector<int64_t> created_;                        // empty without a created column
  std::vector<int64_t> block_created_, super_created_;  // max created (or ts) per block
};

// Output cells of one window feature.
struct WindowOutput {
  std::vector<int64_t> counts;  // kCount
  std::vector<double> values;   // the others
  std::vector<uint8_t> valid;
};

std::vector<WindowOutput> MakeOutputs(const std::vector<WindowFeature>& features, size_t rows) {
  std::vector<WindowOutput> outputs(features.size());
  for (size_t f = 0; f < features.size(); ++f) {
    if (features[f].def->aggregation == Aggregation::kCount) {
      outputs[f].counts.assign(rows, 0);
    } else {
      outputs[f].values.assign(rows, 0.0);
    }
    outputs[f].valid.assign(rows, 0);
  }
  return outputs;
}

size_t NumThreads(size_t work) {
  if (work < kParallelRows) return 1;
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 8);
}

// Runs fn(k, first, last) for the parts [split[k], split[k + 1]) on one thread each.
template <typename Fn>
void RunParts(const std::vector<size_t>& split, const Fn& fn) {
  std::vector<std::thread> pool;
  for (size_t k = 1; k + 1 < split.size(); ++k) pool.emplace_back(fn, k, split[k], split[k + 1]);
  fn(0, split[0], split[1]);
  for (std::thread& thread : pool) thread.join();
}

// Fills each window feature's cells for queries [0, rows): query(r, &group, &t) returns false for
// a row whose features are all null (null key or time); group -1 is an entity without rows.
//
// Queries are bucketed by group and swept in time order, so each entity's index rows are read
// once, while in cache, by pointers that only move forward. Results are written in that order and
// gathered back into row order at the end: scattering them while computing stalls on a cache miss
// per cell, looking each query up on its own on a dozen a row.
template <typename Query>
std::vector<WindowOutput> QueryWindows(const WindowIndex& index,
                                       const std::vector<WindowFeature>& features, size_t rows,
                                       bool inclusive, const Query& query) {
  // Distinct windows (features come sorted by window) and each feature's.
  std::vector<int64_t> windows;
  std::vector<size_t> window_of(features.size());
  for (size_t f = 0; f < features.size(); ++f) {
    if (windows.empty() || windows.back() != features[f].def->window_micros) {
      windows.push_back(features[f].def->window_micros);
    }
    window_of[f] = windows.size() - 1;
  }

  // Bucket the queries by group (a counting sort, so row order within a group). position[r] is
  // row r's query position, or a mark.
  const size_t num_groups = index.num_groups();
  std::vector<uint32_t> bucket(num_groups + 1, 0);
  std::vector<uint32_t> position(rows);
  for (size_t r = 0; r < rows; ++r) {
    int32_t group = -1;
    int64_t t = 0;
    if (!query(r, &group, &t)) {
      position[r] = kNullRow;
    } else if (group < 0) {
      position[r] = kEmptyRow;
    } else {
      position[r] = static_cast<uint32_t>(group);
      ++bucket[group + 1];
    }
  }
  for (size_t g = 0; g < num_groups; ++g) bucket[g + 1] += bucket[g];
  const size_t queries = bucket[num_groups];
  std::vector<uint32_t> query_row(queries);
  std::vector<int64_t> query_time(queries);
  {
    std::vector<uint32_t> next(bucket.begin(), bucket.end() - 1);
    for (size_t r = 0; r < rows; ++r) {
      if (position[r] >= kEmptyRow) continue;
      int32_t group = -1;
      int64_t t = 0;
      query(r, &group, &t);
      const uint32_t q = next[group]++;
      query_row[q] = static_cast<uint32_t>(r);
      query_time[q] = t;
      position[r] = q;
    }
  }

  // Each query's results, one record per query so that gathering them back into row order reads
  // one place: validity bits, then each feature's value (count as int64, others as double bits).
  const size_t features_n = features.size();
  const size_t mask_words = (features_n + 63) / 64;
  const size_t stride = mask_words + features_n;
  std::vector<uint64_t> records(queries * stride);
  auto store = [&](uint64_t* record, size_t f, Aggregation aggregation, const Acc& acc) {
    bool valid = true;
    uint64_t bits = 0;
    switch (aggregation) {
      case Aggregation::kCount:
        bits = static_cast<uint64_t>(acc.count);
        break;
      case Aggregation::kSum:
        bits = std::bit_cast<uint64_t>(acc.sum);
        break;
      case Aggregation::kMean:
        valid = acc.count > 0;
        if (valid) bits = std::bit_cast<uint64_t>(acc.sum / static_cast<double>(acc.count));
        break;
      case Aggregation::kMin:
        valid = acc.count > 0;
        if (valid) bits = std::bit_cast<uint64_t>(acc.min);
        break;
      case Aggregation::kMax:
        valid = acc.count > 0;
        if (valid) bits = std::bit_cast<uint64_t>(acc.max);
        break;
      case Aggregation::kLatest:
        valid = false;
        break;
    }
    if (valid) record[f / 64] |= uint64_t{1} << (f % 64);
    record[mask_words + f] = bits;
  };

  // Groups [first, last): each group's queries in time order, then one forward sweep.
  auto sweep = [&](size_t, size_t first, size_t last) {
    std::vector<size_t> lo(windows.size());
    std::vector<std::pair<int64_t, uint32_t>> scratch;
    for (size_t g = first; g < last; ++g) {
      const size_t q0 = bucket[g], q1 = bucket[g + 1];
      if (q0 == q1) continue;
      if (!std::is_sorted(query_time.begin() + q0, query_time.begin() + q1)) {
        scratch.clear();
        for (size_t q = q0; q < q1; ++q) scratch.emplace_back(query_time[q], query_row[q]);
        std::sort(scratch.begin(), scratch.end());
        for (size_t q = q0; q < q1; ++q) {
          std::tie(query_time[q], query_row[q]) = scratch[q - q0];
          position[query_row[q]] = static_cast<uint32_t>(q);
        }
      }
      const auto [group_begin, group_end] = index.Range(static_cast<int32_t>(g));
      size_t end = group_begin;
      std::fill(lo.begin(), lo.end(), group_begin);
      for (size_t q = q0; q < q1; ++q) {
        const int64_t t = query_time[q];
        while (end < group_end && (inclusive ? index.ts(end) <= t : index.ts(end) < t)) ++end;
        for (size_t w = 0; w < windows.size(); ++w) {
          const __int128 after = static_cast<__int128>(t) - windows[w];
          while (lo[w] < end && index.ts(lo[w]) <= after) ++lo[w];
        }
        uint64_t* record = &records[q * stride];
        for (size_t f = 0; f < features_n; ++f) {
          const Acc acc = index.Aggregate(features[f], lo[window_of[f]], end, t, inclusive);
          store(record, f, features[f].def->aggregation, acc);
        }
      }
    }
  };
  // Each thread takes whole groups (about the same number of queries each) and writes only their
  // records, so the result does not depend on the number of threads.
  const size_t threads = NumThreads(queries);
  std::vector<size_t> split(threads + 1, num_groups);
  split[0] = 0;
  for (size_t k = 1; k < threads; ++k) {
    split[k] = static_cast<size_t>(
        std::lower_bound(bucket.begin(), bucket.end() - 1, queries * k / threads) - bucket.begin());
  }
  RunParts(split, sweep);
  query_row = {};
  query_time = {};

  // Back into row order. Rows of entities without source rows get an empty window's values.
  std::vector<uint64_t> empty(stride, 0);
  for (size_t f = 0; f < features_n; ++f) {
    store(empty.data(), f, features[f].def->aggregation, Acc());
  }
  std::vector<WindowOutput> outputs = MakeOutputs(features, rows);
  auto gather = [&](size_t, size_t first, size_t last) {
    // Rows read records in random order: fetch a few rows ahead so the misses overlap.
    constexpr size_t kAhead = 16;
    for (size_t r = first; r < last; ++r) {
      if (r + kAhead < last && position[r + kAhead] < kEmptyRow) {
        __builtin_prefetch(&records[size_t{position[r + kAhead]} * stride]);
      }
      const uint32_t q = position[r];
      if (q == kNullRow) continue;
      const uint64_t* record = q == kEmptyRow ? empty.data() : &records[size_t{q} * stride];
      for (size_t f = 0; f < features_n; ++f) {
        WindowOutput& out = outputs[f];
        out.valid[r] = (record[f / 64] >> (f % 64)) & 1;
        if (features[f].def->aggregation == Aggregation::kCount) {
          out.counts[r] = static_cast<int64_t>(record[mask_words + f]);
        } else {
          out.values[r] = std::bit_cast<double>(record[mask_words + f]);
        }
      }
    }
  };
  const size_t gather_threads = NumThreads(rows);
  std::vector<size_t> parts(gather_threads + 1);
  for (size_t k = 0; k <= gather_threads; ++k) parts[k] = rows * k / gather_threads;
  RunParts(parts, gather);
  return outputs;
}

StatusOr<Column> ToColumn(const FeatureDef& def, WindowOutput output) {
  if (def.aggregation == Aggregation::kCount) {
    return Column::FromInt64s(def.name, ColumnType::kInt64, std::move(output.counts),
                              std::move(output.valid));
  }
  return Column::FromFloat64s(def.name, std::move(output.values), std::move(output.valid));
}

// The window features of `view` (indexes into view.features) as index features, ordered by
// window so QueryWindows searches each distinct window once; `order` receives the positions.
std::vector<WindowFeature> WindowFeatures(const WindowIndex& index, const PreparedView& view,
                                          std::vector<size_t>* order) {
  order->clear();
  for (size_t f = 0; f < view.features.size(); ++f) {
    if (view.features[f].def->aggregation != Aggregation::kLatest) order->push_back(f);
  }
  std::stable_sort(order->begin(), order->end(), [&view](size_t a, size_t b) {
    return view.features[a].def->window_micros < view.features[b].def->window_micros;
  });
  std::vector<WindowFeature> features;
  for (size_t f : *order) features.push_back(index.Feature(view.features[f]));
  return features;
}

// Source row r's group, or -1 when its key, ts or created is null.
std::vector<int32_t> UsableRows(const PreparedView& view, const KeyGroups& groups) {
  const size_t n = view.ts->size();
  std::vector<int32_t> out(n, -1);
  for (size_t r = 0; r < n; ++r) {
    if (view.ts->IsNull(r) || (view.created != nullptr && view.created->IsNull(r))) continue;
    out[r] = groups.OfSourceRow(r);
  }
  return out;
}

// A copy of `column` under another name (the join needs its own key and time column names).
StatusOr<Column> Renamed(const Column& column, std::string name) {
  switch (column.type()) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return Column::FromInt64s(std::move(name), column.type(), column.int64s(), column.valid());
    case ColumnType::kFloat64:
      return Column::FromFloat64s(std::move(name), column.float64s(), column.valid());
    case ColumnType::kBool:
      return Column::FromBools(std::move(name), column.bools(), column.valid());
    case ColumnType::kString:
      return Column::FromCodes(std::move(name), column.codes(), column.dictionary(),
                               column.valid());
  }
  return absl::InternalError("unknown column type");
}

// Appends cell `row` of `in` to `out` (same type).
void AppendCell(const Column& in, size_t row, Column* out) {
  if (in.IsNull(row)) {
    out->AppendNull();
    return;
  }
  switch (in.type()) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      out->AppendInt64(in.int64s()[row]);
      break;
    case ColumnType::kFloat64:
      out->AppendFloat64(in.float64s()[row]);
      break;
    case ColumnType::kBool:
      out->AppendBool(in.bools()[row] != 0);
      break;
    case ColumnType::kString:
      out->AppendString(in.StringAt(row));
      break;
  }
}

}  // namespace

StatusOr<std::vector<Column>> ComputeFeaturesAsOf(const ViewInput& input,
                                                  const std::vector<std::string>& features,
                                                  const Table& spine,
                                                  const std::string& spine_timestamp,
                                                  bool include_equal_timestamps) {
  ASSIGN_OR_RETURN(PreparedView view, Prepare(input, features));
  const std::string& join_key = view.entity->join_key;
  const Column* spine_key = spine.Find(join_key);
  if (spine_key == nullptr) {
    return Invalid("view '" + view.view->name + "': the spine has no join key column '" + join_key +
                   "'");
  }
  if (spine_key->type() != view.key->type()) {
    return Invalid("view '" + view.view->name + "': join key column '" + join_key + "' is " +
                   ColumnTypeName(spine_key->type()) + " in the spine but " +
                   ColumnTypeName(view.key->type()) + " in the source");
  }
  const Column* spine_time = spine.Find(spine_timestamp);
  if (spine_time == nullptr) {
    return Invalid("the spine has no time column '" + spine_timestamp + "'");
  }
  if (!IsTime(spine_time->type())) {
    return Invalid("spine time column '" + spine_timestamp + "' must be timestamp or int64, not " +
                   ColumnTypeName(spine_time->type()));
  }
  const size_t rows = spine.num_rows();
  if (rows > kMaxRows) {
    return Invalid("the spine has too many rows (" + std::to_string(rows) + ")");
  }
  std::vector<std::optional<Column>> results(view.features.size());

  // Latest features: the point-in-time join over [key, ts, created, values]. It is
  // single-threaded, so on a large spine it runs beside the window aggregations. (The thread is
  // declared after everything it uses, so an early return joins it before they go.)
  std::vector<std::string> latest;
  for (const PreparedFeature& feature : view.features) {
    if (feature.def->aggregation == Aggregation::kLatest) latest.push_back(feature.def->name);
  }
  const bool any_window = latest.size() < view.features.size();
  Table pit_source, pit_spine;
  PointInTimeOptions options;
  std::optional<StatusOr<Table>> joined;
  std::jthread latest_thread;
  if (!latest.empty()) {
    ASSIGN_OR_RETURN(Column key, Renamed(*view.key, kPitKey));
    ASSIGN_OR_RETURN(Column ts, Renamed(*view.ts, kPitTime));
    RETURN_IF_ERROR(pit_source.AddColumn(std::move(key)));
    RETURN_IF_ERROR(pit_source.AddColumn(std::move(ts)));
    if (view.created != nullptr) {
      ASSIGN_OR_RETURN(Column created, Renamed(*view.created, kPitCreated));
      RETURN_IF_ERROR(pit_source.AddColumn(std::move(created)));
    }
    for (PreparedFeature& feature : view.features) {
      if (feature.def->aggregation == Aggregation::kLatest) {
        RETURN_IF_ERROR(pit_source.AddColumn(std::move(*feature.values)));
        feature.values.reset();
      }
    }
    ASSIGN_OR_RETURN(Column spine_key_copy, Renamed(*spine_key, kPitKey));
    ASSIGN_OR_RETURN(Column spine_time_copy, Renamed(*spine_time, kPitTime));
    RETURN_IF_ERROR(pit_spine.AddColumn(std::move(spine_key_copy)));
    RETURN_IF_ERROR(pit_spine.AddColumn(std::move(spine_time_copy)));
    options.spine_entity = options.source_entity = kPitKey;
    options.spine_timestamp = options.source_timestamp = kPitTime;
    if (view.created != nullptr) options.source_created = kPitCreated;
    options.ttl_micros = view.view->ttl_micros;
    options.include_equal_timestamps = include_equal_timestamps;
    options.features = latest;
    auto join = [&] { joined = PointInTimeJoin(pit_spine, pit_source, options); };
    if (any_window && NumThreads(rows) > 1) {
      latest_thread = std::jthread(join);
    } else {
      join();
    }
  }

  // Window aggregations.
  std::vector<size_t> order;
  if (any_window) {
    const KeyGroups groups(*view.key);
    const WindowIndex index(UsableRows(view, groups), groups.size(), *view.ts, view.created);
    std::vector<WindowFeature> window_features = WindowFeatures(index, view, &order);
    const std::vector<uint8_t>& key_valid = spine_key->valid();
    const std::vector<uint8_t>& time_valid = spine_time->valid();
    const int64_t* times = spine_time->int64s().data();
    std::vector<WindowOutput> outputs;
    if (spine_key->type() == ColumnType::kString) {
      const std::vector<int32_t> code_group = groups.MapDictionary(*spine_key);
      const int32_t* codes = spine_key->codes().data();
      outputs = QueryWindows(index, window_features, rows, include_equal_timestamps,
                             [&](size_t r, int32_t* group, int64_t* t) {
                               if (!key_valid[r] || !time_valid[r]) return false;
                               *group = code_group[codes[r]];
                               *t = times[r];
                               return true;
                             });
    } else {
      const int64_t* keys = spine_key->int64s().data();
      outputs = QueryWindows(index, window_features, rows, include_equal_timestamps,
                             [&](size_t r, int32_t* group, int64_t* t) {
                               if (!key_valid[r] || !time_valid[r]) return false;
                               *group = groups.OfInt(keys[r]);
                               *t = times[r];
                               return true;
                             });
    }
    for (size_t k = 0; k < order.size(); ++k) {
      ASSIGN_OR_RETURN(results[order[k]],
                       ToColumn(*view.features[order[k]].def, std::move(outputs[k])));
    }
  }

  if (latest_thread.joinable()) latest_thread.join();
  if (joined.has_value()) {
    if (!joined->ok()) return joined->status();
    std::vector<Column>& columns = (*joined)->mutable_columns();
    for (size_t f = 0, c = 2; f < view.features.size(); ++f) {
      if (view.features[f].def->aggregation == Aggregation::kLatest) {
        results[f] = std::move(columns[c++]);
      }
    }
  }

  std::vector<Column> out;
  out.reserve(results.size());
  for (std::optional<Column>& column : results) out.push_back(std::move(*column));
  return out;
}

StatusOr<Table> BuildTrainingSet(const FeatureRepo& repo, const std::string& service,
                                 const Table& spine,
                                 const std::map<std::string, const Table*>& sources,
                                 const TrainingSetOptions& options) {
  const FeatureServiceDef* def = repo.FindService(service);
  if (def == nullptr) return Invalid("unknown feature service '" + service + "'");
  if (spine.Find(options.spine_timestamp) == nullptr) {
    return Invalid("the spine has no time column '" + options.spine_timestamp + "'");
  }
  // The features each view contributes, views in order of first use.
  std::vector<std::pair<const FeatureViewDef*, std::vector<std::string>>> per_view;
  std::set<std::string> names;
  for (const FeatureRef& ref : def->features) {
    const FeatureViewDef* view = repo.FindView(ref.view);
    if (view == nullptr) {
      return Invalid("service '" + service + "': unknown view '" + ref.view + "'");
    }
    if (spine.Find(ref.feature) != nullptr) {
      return Invalid("service '" + service + "': feature '" + ref.feature + "' of view '" +
                     ref.view + "' is named like a spine column");
    }
    if (!names.insert(ref.feature).second) {
      return Invalid("service '" + service + "': two features are named '" + ref.feature + "'");
    }
    auto it = std::find_if(per_view.begin(), per_view.end(),
                           [view](const auto& entry) { return entry.first == view; });
    if (it == per_view.end()) it = per_view.insert(per_view.end(), {view, {}});
    it->second.push_back(ref.feature);
  }

  std::map<std::string, Column> columns;
  for (auto& [view, features] : per_view) {
    auto source = sources.find(view->source);
    if (source == sources.end() || source->second == nullptr) {
      return Invalid("service '" + service + "': no data given for source '" + view->source +
                     "' of view '" + view->name + "'");
    }
    ViewInput input{&repo, view, source->second};
    ASSIGN_OR_RETURN(std::vector<Column> computed,
                     ComputeFeaturesAsOf(input, features, spine, options.spine_timestamp,
                                         options.include_equal_timestamps));
    for (Column& column : computed) {
      std::string name = column.name();
      columns.emplace(std::move(name), std::move(column));
    }
  }
  Table result = spine;
  for (const FeatureRef& ref : def->features) {
    RETURN_IF_ERROR(result.AddColumn(std::move(columns.at(ref.feature))));
  }
  return result;
}

StatusOr<Table> MaterializeView(const ViewInput& input, const Table* previous, int64_t from,
                                int64_t until) {
  if (previous != nullptr && until < from) {
    return Invalid("materialize: until (" + std::to_string(until) + ") is before from (" +
                   std::to_string(from) + ")");
  }
  ASSIGN_OR_RETURN(PreparedView view, Prepare(input, {}));
  const std::string& name = view.view->name;
  const KeyGroups groups(*view.key);

  // The previous online table must have this view's columns.
  const Column* previous_entity = nullptr;
  const Column* previous_time = nullptr;
  if (previous != nullptr) {
    const std::vector<Column>& columns = previous->columns();
    if (columns.size() != 2 + view.features.size() || columns[0].name() != kOnlineEntityColumn ||
        columns[0].type() != ColumnType::kString || columns[1].name() != kOnlineEventTimeColumn ||
        columns[1].type() != ColumnType::kTimestamp) {
      return Invalid("materialize: the previous online table of view '" + name +
                     "' does not have the view's columns (entity, event_time, then " +
                     std::to_string(view.features.size()) + " features)");
    }
    for (size_t f = 0; f < view.features.size(); ++f) {
      const Column& column = columns[2 + f];
      if (column.name() != view.features[f].def->name || column.type() != view.features[f].type) {
        return Invalid("materialize: the previous online table of view '" + name +
                       "' has column '" + column.name() + "' (" + ColumnTypeName(column.type()) +
                       ") where feature '" + view.features[f].def->name + "' (" +
                       ColumnTypeName(view.features[f].type) + ") belongs");
      }
    }
    previous_entity = &columns[0];
    previous_time = &columns[1];
  }

  // The best row per group among the rows that became known in (from, until].
  const size_t n = view.ts->size();
  const int64_t* ts = view.ts->int64s().data();
  const int64_t* created = view.created != nullptr ? view.created->int64s().data() : ts;
  auto known_at = [&](size_t r, int64_t t) { return ts[r] <= t && created[r] <= t; };
  std::vector<int64_t> best(groups.size(), -1);
  for (size_t r = 0; r < n; ++r) {
    if (view.key->IsNull(r) || view.ts->IsNull(r) ||
        (view.created != nullptr && view.created->IsNull(r))) {
      continue;
    }
    if (!known_at(r, until) || (previous != nullptr && known_at(r, from))) continue;
    int64_t& b = best[groups.OfSourceRow(r)];
    // Rows come in row order, so ">=" makes the last of equal (ts, created) win.
    if (b < 0 || std::tie(ts[r], created[r]) >= std::tie(ts[b], created[b])) {
      b = static_cast<int64_t>(r);
    }
  }

  // The entities: previous ones and those with new rows, sorted by key text.
  struct Entity {
    std::string text;
    int32_t group = -1;
    int64_t previous_row = -1;
  };
  std::vector<Entity> entities;
  std::vector<uint8_t> in_previous(groups.size(), 0);
  if (previous != nullptr) {
    for (size_t r = 0; r < previous->num_rows(); ++r) {
      if (previous_entity->IsNull(r)) {
        return Invalid("materialize: the previous online table has a null entity at row " +
                       std::to_string(r));
      }
      Entity entity;
      entity.text = std::string(previous_entity->StringAt(r));
      entity.previous_row = static_cast<int64_t>(r);
      if (view.key->type() == ColumnType::kString) {
        entity.group = groups.OfString(entity.text);
      } else {
        int64_t key = 0;
        const char* end = entity.text.data() + entity.text.size();
        auto [ptr, ec] = std::from_chars(entity.text.data(), end, key);
        if (ec != std::errc() || ptr != end) {
          return Invalid("materialize: the previous online table's entity '" + entity.text +
                         "' is not an int64 key");
        }
        entity.group = groups.OfInt(key);
      }
      if (entity.group >= 0) {
        if (in_previous[entity.group]) {
          return Invalid("materialize: the previous online table has entity '" + entity.text +
                         "' twice");
        }
        in_previous[entity.group] = 1;
      }
      entities.push_back(std::move(entity));
    }
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    if (best[g] >= 0 && !in_previous[g]) {
      entities.push_back({groups.Text(static_cast<int32_t>(g)), static_cast<int32_t>(g), -1});
    }
  }
  std::sort(entities.begin(), entities.end(),
            [](const Entity& a, const Entity& b) { return a.text < b.text; });
  const size_t rows = entities.size();

  Table out;
  Column entity_column(kOnlineEntityColumn, ColumnType::kString);
  Column time_column(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  entity_column.Reserve(rows);
  time_column.Reserve(rows);
  // Where each entity's latest values come from: a source row (>= 0) or a previous row.
  std::vector<int64_t> source_row(rows, -1);
  std::vector<uint8_t> expired(rows, 0);
  const uint64_t ttl = static_cast<uint64_t>(view.view->ttl_micros);
  for (size_t e = 0; e < rows; ++e) {
    const Entity& entity = entities[e];
    entity_column.AppendString(entity.text);
    const bool has_previous = entity.previous_row >= 0 &&
                              !previous_time->IsNull(static_cast<size_t>(entity.previous_row));
    const int64_t b = entity.group >= 0 ? best[entity.group] : -1;
    std::optional<int64_t> event_time;
    if (has_previous) event_time = previous_time->int64s()[entity.previous_row];
    // A new row with the previous row's ts was known later (created > from >= its created), so
    // the later row wins ties, as in the full rule.
    if (b >= 0 && (!event_time.has_value() || ts[b] >= *event_time)) {
      source_row[e] = b;
      event_time = ts[b];
    }
    if (event_time.has_value()) {
      time_column.AppendInt64(*event_time);
      // event_time <= until, so the unsigned difference is exact.
      expired[e] =
          ttl > 0 && static_cast<uint64_t>(until) - static_cast<uint64_t>(*event_time) > ttl;
    } else {
      time_column.AppendNull();
    }
  }
  RETURN_IF_ERROR(out.AddColumn(std::move(entity_column)));
  RETURN_IF_ERROR(out.AddColumn(std::move(time_column)));

  std::vector<std::optional<Column>> results(view.features.size());
  for (size_t f = 0; f < view.features.size(); ++f) {
    const PreparedFeature& feature = view.features[f];
    if (feature.def->aggregation != Aggregation::kLatest) continue;
    Column column(feature.def->name, feature.type);
    column.Reserve(rows);
    for (size_t e = 0; e < rows; ++e) {
      if (expired[e]) {
        column.AppendNull();
      } else if (source_row[e] >= 0) {
        AppendCell(*feature.values, static_cast<size_t>(source_row[e]), &column);
      } else if (entities[e].previous_row >= 0) {
        AppendCell(previous->columns()[2 + f], static_cast<size_t>(entities[e].previous_row),
                   &column);
      } else {
        column.AppendNull();
      }
    }
    results[f] = std::move(column);
  }

  // Windows: recomputed at `until` from the rows with ts in (until - longest window, until].
  int64_t longest = 0;
  for (const PreparedFeature& feature : view.features) {
    if (feature.def->aggregation != Aggregation::kLatest) {
      longest = std::max(longest, feature.def->window_micros);
    }
  }
  if (longest > 0) {
    std::vector<int32_t> usable = UsableRows(view, groups);
    const __int128 after = static_cast<__int128>(until) - longest;
    for (size_t r = 0; r < n; ++r) {
      if (usable[r] >= 0 && (ts[r] <= after || ts[r] > until)) usable[r] = -1;
    }
    const WindowIndex index(usable, groups.size(), *view.ts, view.created);
    std::vector<size_t> order;
    std::vector<WindowFeature> window_features = WindowFeatures(index, view, &order);
    std::vector<WindowOutput> outputs =
        QueryWindows(index, window_features, rows, /*inclusive=*/true,
                     [&](size_t e, int32_t* group, int64_t* t) {
                       *group = entities[e].group;
                       *t = until;
                       return true;
                     });
    for (size_t k = 0; k < order.size(); ++k) {
      ASSIGN_OR_RETURN(results[order[k]],
                       ToColumn(*view.features[order[k]].def, std::move(outputs[k])));
    }
  }
  for (std::optional<Column>& column : results) RETURN_IF_ERROR(out.AddColumn(std::move(*column)));
  return out;
}

}  // namespace plinth
