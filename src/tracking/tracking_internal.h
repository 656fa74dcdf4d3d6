// Helpers shared by tracking_store.cc and run_search.cc. Internal to the tracking module.
#ifndef PLINTH_TRACKING_TRACKING_INTERNAL_H_
#define PLINTH_TRACKING_TRACKING_INTERNAL_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "store/metadata_store.h"
#include "tracking/tracking_store.h"

namespace plinth::tracking_internal {

// The columns RunInfoFromRow reads, over `runs r JOIN experiments e`.
inline constexpr char kRunInfoColumns[] =
    "r.id, r.experiment_id, e.name, e.project_id, r.parent_run_id, r.name, r.status, "
    "r.start_time, r.end_time, r.created_by, r.source";
inline constexpr char kRunInfoFrom[] = " FROM runs r JOIN experiments e ON e.id = r.experiment_id";

// Reads the kRunInfoColumns of row `row`. Internal if the status is unknown.
StatusOr<RunInfo> RunInfoFromRow(const QueryResult& result, size_t row);

// The runs `ids` names with their params, latest metrics and tags (and artifacts if
// `with_artifacts`), in the order of `ids`; ids of runs that do not exist are left out. A few
// queries per 500 runs, never one per run.
StatusOr<std::vector<Run>> LoadRuns(Transaction& tx, const std::vector<std::string>& ids,
                                    bool with_artifacts);

// "?, ?, ?" with `n` placeholders.
std::string Placeholders(size_t n);

// A metric value as SQL: NaN as NULL (SQLite cannot hold a NaN), and back.
SqlValue MetricToSql(double value);
double MetricFromSql(const SqlValue& value);

}  // namespace plinth::tracking_internal

#endif  // PLINTH_TRACKING_TRACKING_INTERNAL_H_
