// The offline point-in-time join: for every row of a spine table (an entity and a time, e.g. a
// label event), the feature values the entity had *as they were knowable* at that time, taken
// from a source table of timestamped, possibly late-arriving, feature rows. It is the guard
// against label leakage when building training sets: no value from the future is ever used.
//
// Rule, for a spine row with entity e and time t (strict "<" by default; "<=" with
// include_equal_timestamps):
//   candidates = source rows with entity e, event time ts < t, available (created < t; created is
//                ts when no created column is given), and, when ttl_micros > 0, t - ts <= ttl.
//   chosen     = the candidate with the greatest ts; among equal ts the greatest created; among
//                equal (ts, created) the last source row (highest row index).
// A spine row with no candidate, or with a null entity or time, gets null features. Source rows
// with a null entity, time or created are ignored. A chosen row's null feature cell stays null.
//
// Cost: O((n + m) log(n + m)) for n source and m spine rows, deterministic, single-threaded.
#ifndef PLINTH_FEATURES_POINT_IN_TIME_H_
#define PLINTH_FEATURES_POINT_IN_TIME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "table/table.h"

namespace plinth {

struct PointInTimeOptions {
  // Entity key and event time of the spine rows.
  std::string spine_entity, spine_timestamp;
  // Entity key and event time of the source rows.
  std::string source_entity, source_timestamp;
  // Optional: when a source row became available (late-arriving data); "" = same as
  // source_timestamp.
  std::string source_created;
  // Maximum age t - ts of a used value, in microseconds; 0 = no ttl. Negative is an error.
  int64_t ttl_micros = 0;
  // Whether a source row with ts == t (and created == t) counts as known at t.
  bool include_equal_timestamps = false;
  // Source columns to bring; each becomes a result column of the same name and type.
  std::vector<std::string> features;
};

// The spine's columns (same rows, same order) plus one column per feature, as described at the
// top of this file. Entity columns are string or int64 and must have the same type in spine and
// source (string entities match by value). Time columns are timestamp or int64 (micros).
// InvalidArgument naming the column for a missing column, a wrong or mismatched type, a feature
// named twice or clashing with a spine column, or a negative ttl.
StatusOr<Table> PointInTimeJoin(const Table& spine, const Table& source,
                                const PointInTimeOptions& options);

}  // namespace plinth

#endif  // PLINTH_FEATURES_POINT_IN_TIME_H_
