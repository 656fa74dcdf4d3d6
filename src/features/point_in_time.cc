// Point-in-time join: an offline sweep. Source rows are sorted by (entity, ts, created, row) so a
// row's position ranks it against every other row of its entity. Spine rows are sorted by
// (entity, t) and source rows are "released" in (entity, created) order as the sweep passes their
// availability time; a prefix-maximum Fenwick tree over positions then answers "the best released
// row with ts before t" in O(log n).
#include "features/point_in_time.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

namespace plinth {
namespace {

bool IsTime(ColumnType type) {
  return type == ColumnType::kTimestamp || type == ColumnType::kInt64;
}

StatusOr<const Column*> FindColumn(const Table& table, const std::string& name,
                                   const std::string& role) {
  const Column* column = table.Find(name);
  if (column == nullptr) {
    return absl::InvalidArgumentError(std::string("point-in-time join: ") + role + " column '" +
                                      name + "' not found");
  }
  return column;
}

StatusOr<const Column*> FindTimeColumn(const Table& table, const std::string& name,
                                       const std::string& role) {
  ASSIGN_OR_RETURN(const Column* column, FindColumn(table, name, role));
  if (!IsTime(column->type())) {
    return absl::InvalidArgumentError(std::string("point-in-time join: ") + role + " column '" +
                                      name + "' must be timestamp or int64, not " +
                                      ColumnTypeName(column->type()));
  }
  return column;
}

// Prefix maximum over positions [0, n), all starting at -1; values only grow.
class PrefixMax {
 public:
  explicit PrefixMax(size_t n) : tree_(n, -1) {}
  void Raise(size_t pos, int64_t value) {
    for (size_t i = pos + 1; i <= tree_.size(); i += i & (~i + 1)) {
      tree_[i - 1] = std::max(tree_[i - 1], value);
    }
  }
  // Maximum over positions [0, end); -1 if none was raised.
  int64_t Max(size_t end) const {
    int64_t result = -1;
    for (size_t i = end; i > 0; i -= i & (~i + 1)) result = std::max(result, tree_[i - 1]);
    return result;
  }

 private:
  std::vector<int64_t> tree_;
};

// The result column of `feature`: cell r is source row match[r]'s cell, null where match[r] < 0.
StatusOr<Column> Gather(const Column& feature, const std::vector<int64_t>& match) {
  const size_t rows = match.size();
  std::vector<uint8_t> valid(rows, 0);
  for (size_t r = 0; r < rows; ++r) {
    valid[r] = match[r] >= 0 && !feature.IsNull(static_cast<size_t>(match[r]));
  }
  switch (feature.type()) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp: {
      std::vector<int64_t> values(rows, 0);
      for (size_t r = 0; r < rows; ++r) {
        if (valid[r]) values[r] = feature.int64s()[match[r]];
      }
      return Column::FromInt64s(feature.name(), feature.type(), std::move(values),
                                std::move(valid));
    }
    case ColumnType::kFloat64: {
      std::vector<double> values(rows, 0.0);
      for (size_t r = 0; r < rows; ++r) {
        if (valid[r]) values[r] = feature.float64s()[match[r]];
      }
      return Column::FromFloat64s(feature.name(), std::move(values), std::move(valid));
    }
    case ColumnType::kBool: {
      std::vector<uint8_t> values(rows, 0);
      for (size_t r = 0; r < rows; ++r) {
        if (valid[r]) values[r] = feature.bools()[match[r]];
      }
      return Column::FromBools(feature.name(), std::move(values), std::move(valid));
    }
    case ColumnType::kString: {
      // Re-encode so the dictionary holds only used strings, in order of first appearance.
      std::vector<int32_t> remap(feature.dictionary().size(), -1);
      std::vector<std::string> dictionary;
      std::vector<int32_t> codes(rows, -1);
      for (size_t r = 0; r < rows; ++r) {
        if (!valid[r]) continue;
        int32_t code = feature.codes()[match[r]];
        if (remap[code] < 0) {
          remap[code] = static_cast<int32_t>(dictionary.size());
          dictionary.push_back(feature.dictionary()[code]);
        }
        codes[r] = remap[code];
      }
      return Column::FromCodes(feature.name(), std::move(codes), std::move(dictionary),
                               std::move(valid));
    }
  }
  return absl::InternalError("point-in-time join: unknown column type");
}

}  // namespace

StatusOr<Table> PointInTimeJoin(const Table& spine, const Table& source,
                                const PointInTimeOptions& options) {
  ASSIGN_OR_RETURN(const Column* spine_entity,
                   FindColumn(spine, options.spine_entity, "spine entity"));
  ASSIGN_OR_RETURN(const Column* spine_time,
                   FindTimeColumn(spine, options.spine_timestamp, "spine timestamp"));
  ASSIGN_OR_RETURN(const Column* source_entity,
                   FindColumn(source, options.source_entity, "source entity"));
  ASSIGN_OR_RETURN(const Column* source_time,
                   FindTimeColumn(source, options.source_timestamp, "source timestamp"));
  const Column* source_created = source_time;
  if (!options.source_created.empty()) {
    ASSIGN_OR_RETURN(source_created,
                     FindTimeColumn(source, options.source_created, "source created"));
  }
  for (const Column* entity : {spine_entity, source_entity}) {
    if (entity->type() != ColumnType::kString && entity->type() != ColumnType::kInt64) {
      return absl::InvalidArgumentError("point-in-time join: entity column '" + entity->name() +
                                        "' must be string or int64, not " +
                                        ColumnTypeName(entity->type()));
    }
  }
  if (spine_entity->type() != source_entity->type()) {
    return absl::InvalidArgumentError(
        "point-in-time join: entity columns differ in type: spine '" + spine_entity->name() +
        "' is " + ColumnTypeName(spine_entity->type()) + ", source '" + source_entity->name() +
        "' is " + ColumnTypeName(source_entity->type()));
  }
  if (options.ttl_micros < 0) {
    return absl::InvalidArgumentError("point-in-time join: ttl_micros must be >= 0, got " +
                                      std::to_string(options.ttl_micros));
  }
  std::vector<const Column*> features;
  std::set<std::string> seen;
  for (const std::string& name : options.features) {
    ASSIGN_OR_RETURN(const Column* feature, FindColumn(source, name, "feature"));
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError("point-in-time join: feature '" + name +
                                        "' is named twice");
    }
    if (spine.Find(name) != nullptr) {
      return absl::InvalidArgumentError("point-in-time join: feature '" + name +
                                        "' clashes with a spine column of the same name");
    }
    features.push_back(feature);
  }

  // Entity keys as int64: int64 entities as they are; string entities as spine dictionary codes
  // (a source string absent from the spine can match no spine row, so its rows are dropped).
  const bool string_keys = spine_entity->type() == ColumnType::kString;
  std::vector<int32_t> source_to_spine_code;
  if (string_keys) {
    source_to_spine_code.assign(source_entity->dictionary().size(), -1);
    for (size_t c = 0; c < source_to_spine_code.size(); ++c) {
      std::optional<int32_t> code = spine_entity->FindCode(source_entity->dictionary()[c]);
      if (code.has_value()) source_to_spine_code[c] = *code;
    }
  }

  // Usable source rows by position in (key, ts, created, row) order.
  struct SourceRow {
    int64_t key, ts, created, row;
  };
  std::vector<SourceRow> rows;
  rows.reserve(source.num_rows());
  for (size_t r = 0; r < source.num_rows(); ++r) {
    if (source_entity->IsNull(r) || source_time->IsNull(r) || source_created->IsNull(r)) continue;
    int64_t key;
    if (string_keys) {
      key = source_to_spine_code[source_entity->codes()[r]];
      if (key < 0) continue;
    } else {
      key = source_entity->int64s()[r];
    }
    rows.push_back(
        {key, source_time->int64s()[r], source_created->int64s()[r], static_cast<int64_t>(r)});
  }
  std::sort(rows.begin(), rows.end(), [](const SourceRow& a, const SourceRow& b) {
    return std::tie(a.key, a.ts, a.created, a.row) < std::tie(b.key, b.ts, b.created, b.row);
  });
  const size_t n = rows.size();
  // Release order: positions by (key, created, position).
  std::vector<size_t> release(n);
  std::iota(release.begin(), release.end(), size_t{0});
  std::sort(release.begin(), release.end(), [&rows](size_t a, size_t b) {
    return std::tie(rows[a].key, rows[a].created, a) < std::tie(rows[b].key, rows[b].created, b);
  });

  // Spine queries in (key, t, row) order.
  struct Query {
    int64_t key, t;
    size_t row;
  };
  std::vector<Query> queries;
  queries.reserve(spine.num_rows());
  for (size_t r = 0; r < spine.num_rows(); ++r) {
    if (spine_entity->IsNull(r) || spine_time->IsNull(r)) continue;
    int64_t key = string_keys ? spine_entity->codes()[r] : spine_entity->int64s()[r];
    queries.push_back({key, spine_time->int64s()[r], r});
  }
  std::sort(queries.begin(), queries.end(), [](const Query& a, const Query& b) {
    return std::tie(a.key, a.t, a.row) < std::tie(b.key, b.t, b.row);
  });

  const bool inclusive = options.include_equal_timestamps;
  const uint64_t ttl = static_cast<uint64_t>(options.ttl_micros);
  std::vector<int64_t> match(spine.num_rows(), -1);
  PrefixMax released(n);
  size_t next_release = 0;
  for (const Query& q : queries) {
    // Release every row of a smaller key, and this key's rows available at q.t.
    while (next_release < n) {
      const SourceRow& s = rows[release[next_release]];
      bool available =
          s.key < q.key || (s.key == q.key && (inclusive ? s.created <= q.t : s.created < q.t));
      if (!available) break;
      released.Raise(release[next_release], static_cast<int64_t>(release[next_release]));
      ++next_release;
    }
    // Positions before `end` have a smaller key, or this key and ts before q.t.
    auto before = [&q, inclusive](const SourceRow& s) {
      return s.key < q.key || (s.key == q.key && (inclusive ? s.ts <= q.t : s.ts < q.t));
    };
    size_t end = std::partition_point(rows.begin(), rows.end(), before) - rows.begin();
    int64_t best = released.Max(end);
    if (best < 0 || rows[best].key != q.key) continue;
    // ts <= t here, so the unsigned difference is exact even across the int64 range.
    if (ttl > 0 && static_cast<uint64_t>(q.t) - static_cast<uint64_t>(rows[best].ts) > ttl) {
      continue;
    }
    match[q.row] = rows[best].row;
  }

  Table result = spine;
  for (const Column* feature : features) {
    ASSIGN_OR_RETURN(Column column, Gather(*feature, match));
    RETURN_IF_ERROR(result.AddColumn(std::move(column)));
  }
  return result;
}

}  // namespace plinth
