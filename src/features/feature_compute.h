// Computing feature values from source data, offline (training sets: as of each spine row's
// time) and for the online store (as of a materialization time). Both follow one rule, so what a
// model is trained on is what it is served:
//
// Value of feature f of view V for entity e as of time t ("known at t"): a source row r counts
// when r.entity == e, r.ts < t and r.created < t (r.created = r.ts without a created column); with
// include_equal_timestamps, r.ts <= t and r.created <= t instead.
//   latest:  f.expr on the counted row with the greatest ts (ties: greatest created, then last
//            row), null when there is none or when V.ttl > 0 and t - ts > V.ttl (the point-in-time
//            join, features/point_in_time.h).
//   count:   the number of counted rows with t - window < ts (whose expr is non-null, when given);
//            0 when there is none.
//   sum:     the sum of the non-null expr values of those rows; 0 when there is none.
//   mean, min, max: over the same values; null when there is none.
// Source rows with a null entity or ts (or created) never count. A spine row with a null entity
// or time gets null for every feature, count and sum included (its entity or time is unknown,
// which is not the same as an empty window).
//
// Numbers: sum/mean/min/max expressions must be int or double (ints are summed as doubles). A NaN
// value makes the window's sum, mean, min and max NaN (counts count it). Sums add the values in
// (ts, created, row) order, so the result depends only on the window's rows; over windows
// spanning more than 128 source rows they add per-block partial sums instead (so that such a
// window costs a few hundred steps, not one per row), which may differ from a left-to-right sum,
// and between a training set and the online store, in the last bits.
//
// The online store holds each entity's values as of the materialization time T with
// include_equal_timestamps (everything known at T), so an online lookup after materializing up to T
// equals a training-set row with spine time T and include_equal_timestamps.
#ifndef PLINTH_FEATURES_FEATURE_COMPUTE_H_
#define PLINTH_FEATURES_FEATURE_COMPUTE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/definition.h"
#include "table/table.h"

namespace plinth {

// A view with what it is computed from.
struct ViewInput {
  const FeatureRepo* repo = nullptr;
  const FeatureViewDef* view = nullptr;
  // The source's data (the pinned data set version's table).
  const Table* data = nullptr;
};

// The values of the view's features named `features` (all of them when empty) for every row of
// `spine`, as of the row's time: one column per feature, named by the feature, typed by
// FeatureColumnType, with the spine's rows in the spine's order. The spine holds the entity's
// join key (same type as in the source; string keys match by value) and the time column
// `spine_timestamp` (timestamp or int64 micros). InvalidArgument naming the column or feature for
// anything missing or mistyped, a feature asked for twice, an expression that does not compile,
// and an expression that fails to evaluate on any source row (every expression is evaluated over
// the whole source).
StatusOr<std::vector<Column>> ComputeFeaturesAsOf(const ViewInput& input,
                                                  const std::vector<std::string>& features,
                                                  const Table& spine,
                                                  const std::string& spine_timestamp,
                                                  bool include_equal_timestamps);

struct TrainingSetOptions {
  // The spine's time column.
  std::string spine_timestamp = "timestamp";
  bool include_equal_timestamps = false;
};

// A training set: the spine's columns (same rows, same order; labels and anything else pass
// through) followed by the service's features in the service's order, each column named by its
// feature. `sources` maps each source name the service's views use to its data. InvalidArgument
// for an unknown service, view or feature, a missing source, a spine lacking an entity's join key
// or the time column, a feature named like a spine column, two features with the same name, and
// the errors of ComputeFeaturesAsOf. SourceDef::require_validation is the caller's to enforce
// (it knows the data sets' validation results).
StatusOr<Table> BuildTrainingSet(const FeatureRepo& repo, const std::string& service,
                                 const Table& spine,
                                 const std::map<std::string, const Table*>& sources,
                                 const TrainingSetOptions& options);

// Columns of a materialized view (an "online table"): "entity" (string: the key as text; int64
// keys in decimal), "event_time" (timestamp of the entity's latest counted row, also when the ttl
// has nulled its latest values), then one column per feature of the view in the view's order. One
// row per entity with a counted row, sorted by the key's text in byte order (so int64 key 10
// sorts before 9).
inline constexpr char kOnlineEntityColumn[] = "entity";
inline constexpr char kOnlineEventTimeColumn[] = "event_time";

// The online table of `input`'s view as of time `until` (inclusive: include_equal_timestamps),
// computed incrementally from `previous`, the online table as of `from` (exclusive; nullptr and
// any `from` for a first materialization): latest features are updated only from source rows
// that became known in (from, until]; window aggregations are recomputed for every entity from
// the rows with ts in (until - longest window, until]. Entities of `previous` with no new rows
// keep their latest values (subject to the ttl as of `until`) and get empty windows when no row
// remains in them. The result equals a full materialization up to `until` (the tests check it),
// and each row equals ComputeFeaturesAsOf for a spine row (entity, until) with
// include_equal_timestamps (bit for bit, but for sums over windows of more than 128 rows, see
// the top of this file). `input.data` must hold every row that was known at `from` (sources grow:
// late rows are added, none removed). InvalidArgument when `previous` is given and until < from,
// or `previous` does not have the view's columns (names and types) or has an entity twice.
StatusOr<Table> MaterializeView(const ViewInput& input, const Table* previous, int64_t from,
                                int64_t until);

}  // namespace plinth

#endif  // PLINTH_FEATURES_FEATURE_COMPUTE_H_
