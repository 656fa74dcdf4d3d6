// Experiment tracking: experiments, runs, their params, metrics, tags and artifacts, read and
// written through a store Transaction (so callers put them in the same transaction as their audit
// record), and a search over runs with Plinth's expression language (docs/formats/tracking.md).
//
// Model (as MLflow's, with governance rules):
// - An experiment belongs to a project and has a name unique within it.
// - A run belongs to an experiment, optionally to a parent run of the same experiment (a tuning
//   trial), and moves once from RUNNING to FINISHED, FAILED or KILLED.
// - Params are set once: the same value again is accepted, a different one is AlreadyExists.
// - Metrics keep every point (key, value, step, time); the latest point per key (highest step,
//   then latest time, then logged last) is kept beside them for search and ordering.
// - Tags are mutable annotations: the last value set wins.
// - Artifacts name content by digest; the run's project must hold the digest.
// Params, metrics and artifacts are accepted only while the run is RUNNING (evidence does not
// change after the fact); tags at any time.
//
// Keys (params, metrics, tags): 1-250 characters from A-Z a-z 0-9 _ - . / and space. Metric
// values must be finite or NaN: NaN records a diverged loss; an infinity is almost always an
// overflow and would rank first in every descending order, so it is refused.
#ifndef PLINTH_TRACKING_TRACKING_STORE_H_
#define PLINTH_TRACKING_TRACKING_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

enum class RunStatus { kRunning, kFinished, kFailed, kKilled };

// "RUNNING", "FINISHED", "FAILED", "KILLED".
std::string RunStatusName(RunStatus status);
std::optional<RunStatus> ParseRunStatus(std::string_view name);
inline bool IsTerminal(RunStatus status) { return status != RunStatus::kRunning; }

struct Experiment {
  std::string id;
  std::string project_id;
  std::string name;
  int64_t created_at = 0;
  std::string created_by;
};

struct RunInfo {
  std::string id;
  std::string experiment_id;
  std::string experiment_name;
  std::string project_id;
  std::string parent_run_id;  // empty for a top-level run
  std::string name;
  RunStatus status = RunStatus::kRunning;
  int64_t start_time = 0;  // microseconds since the epoch
  std::optional<int64_t> end_time;
  std::string created_by;
  std::string source;  // what produced the run, e.g. "pipeline:credit-risk/train"
};

struct MetricPoint {
  std::string key;
  double value = 0;  // finite or NaN
  int64_t step = 0;
  int64_t time = 0;  // microseconds since the epoch; 0 in LogBatch means "now"
};

struct KeyValue {
  std::string key;
  std::string value;
};

struct RunArtifact {
  std::string path;    // relative, '/'-separated
  std::string digest;  // sha256:<64 hex>
  int64_t size = 0;
  int64_t created_at = 0;
};

struct Run {
  RunInfo info;
  std::map<std::string, std::string> params;
  std::map<std::string, MetricPoint> metrics;  // the latest point of each key
  std::map<std::string, std::string> tags;
  std::vector<RunArtifact> artifacts;  // by path; empty in search results
};

struct SearchRunsRequest {
  std::string project_id;
  // Experiment names within the project; empty searches every experiment of the project.
  std::vector<std::string> experiment_names;
  // An expression over a run (docs/formats/tracking.md), e.g.
  // `metrics.test_auc > 0.7 && params.max_depth == "4"`; empty matches every run.
  std::string filter;
  // "metrics.test_auc desc", "params.max_depth", "tags.team asc", "attributes.start_time";
  // a key with spaces in backquotes: "metrics.`val loss`". Runs missing a key (or with a NaN
  // metric) sort last in either direction; ties go to the next key, and in the end the newer run
  // comes first (by run id: ids sort by creation time, which is the start time).
  std::vector<std::string> order_by;
  int max_results = 100;   // 1..kMaxSearchResults
  std::string page_token;  // from a previous result with the same request
};

struct SearchRunsResult {
  std::vector<Run> runs;
  std::string next_page_token;  // empty on the last page
  int64_t total_matches = 0;    // runs matching the filter, over all pages
};

class TrackingStore {
 public:
  static constexpr int kMaxKeyLength = 250;
  // Values are indexed for search, and a PostgreSQL index entry holds at most ~2.7 kB.
  static constexpr int kMaxParamValueBytes = 2000;
  static constexpr int kMaxTagValueBytes = 2000;
  static constexpr int kMaxBatchMetrics = 10000;
  static constexpr int kMaxBatchParams = 1000;
  static constexpr int kMaxBatchTags = 1000;
  static constexpr int kMaxSearchResults = 10000;

  explicit TrackingStore(Clock* clock) : clock_(clock) {}

  // Experiment names: 1-250 characters from A-Z a-z 0-9 _ - . / and space, not starting or ending
  // with a space. NotFound if the project does not exist; AlreadyExists if the name is taken.
  StatusOr<Experiment> CreateExperiment(Transaction& tx, const std::string& project_id,
                                        const std::string& name,
                                        const std::string& created_by) const;
  // The experiment of that name, created if absent (safe against concurrent creators).
  StatusOr<Experiment> GetOrCreateExperiment(Transaction& tx, const std::string& project_id,
                                             const std::string& name,
                                             const std::string& created_by) const;
  // NotFound if absent.
  StatusOr<Experiment> FindExperiment(Transaction& tx, const std::string& project_id,
                                      const std::string& name) const;
  // By name.
  StatusOr<std::vector<Experiment>> ListExperiments(Transaction& tx,
                                                    const std::string& project_id) const;

  // Starts a RUNNING run. `name` empty: the run id. `parent_run_id` empty for a top-level run;
  // otherwise it must be a run of the same experiment (NotFound if absent, InvalidArgument if in
  // another experiment). NotFound if the experiment does not exist.
  StatusOr<RunInfo> CreateRun(Transaction& tx, const std::string& experiment_id,
                              const std::string& name, const std::string& parent_run_id,
                              const std::string& source, const std::string& created_by) const;
  // Moves a RUNNING run to a terminal status and sets its end time. InvalidArgument for RUNNING;
  // FailedPrecondition if the run already ended; NotFound if absent.
  StatusOr<RunInfo> SetRunStatus(Transaction& tx, const std::string& run_id,
                                 RunStatus status) const;

  // Logs params, metric points and tags in a few multi-row statements. Everything is validated
  // first, so nothing is written unless the whole batch is valid: InvalidArgument naming the
  // first bad key (bad key, bad value, duplicate param with two values, too many entries),
  // AlreadyExists if a param already has another value, FailedPrecondition if the run has ended
  // and the batch has params or metrics, NotFound if the run does not exist. Repeated tags in one
  // batch: the last wins. A batch is one multi-row statement per table per 1,000 rows, and its
  // points go into one bucket of the run's history (~8,192 points in arrival order, indexed by key
  // within it), so a batch of many distinct keys writes a few index pages rather than one per key
  // (docs/formats/tracking.md).
  Status LogBatch(Transaction& tx, const std::string& run_id, const std::vector<KeyValue>& params,
                  const std::vector<MetricPoint>& metrics, const std::vector<KeyValue>& tags) const;

  // Records that the run produced `path` with content `digest` (sha256:<64 hex>) of `size`
  // bytes. NotFound if the run's project does not hold the digest; AlreadyExists if the path is
  // recorded with another digest (the same digest again is accepted); FailedPrecondition if the
  // run has ended.
  Status LogArtifact(Transaction& tx, const std::string& run_id, const std::string& path,
                     const std::string& digest, int64_t size) const;

  // The run with every param, the latest point of every metric, tags and artifacts. NotFound if
  // absent.
  StatusOr<Run> GetRun(Transaction& tx, const std::string& run_id) const;
  // Every point of one metric, by step then time. Empty if the run never logged the key;
  // NotFound if the run does not exist.
  StatusOr<std::vector<MetricPoint>> MetricHistory(Transaction& tx, const std::string& run_id,
                                                   const std::string& key) const;

  // Runs of a project matching a filter, ordered and paged (docs/formats/tracking.md).
  // InvalidArgument for a filter that does not compile (positioned message), a bad order key,
  // max_results out of range or a page token from another request; NotFound for an unknown
  // experiment name. A run for which the filter's evaluation fails (a missing key, a division by
  // zero) does not match; an evaluation over its cost budget fails the search (ResourceExhausted).
  StatusOr<SearchRunsResult> SearchRuns(Transaction& tx, const SearchRunsRequest& request) const;

 private:
  Clock* clock_;
};

// Keys of params, metrics and tags: InvalidArgument naming `what` ("metric key") and the key.
Status ValidateTrackingKey(std::string_view what, std::string_view key);

}  // namespace plinth

#endif  // PLINTH_TRACKING_TRACKING_STORE_H_
