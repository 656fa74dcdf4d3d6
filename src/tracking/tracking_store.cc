#include "tracking/tracking_store.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/ids.h"
#include "tracking/tracking_internal.h"

namespace plinth {

using tracking_internal::LoadRuns;
using tracking_internal::MetricFromSql;
using tracking_internal::MetricToSql;
using tracking_internal::Placeholders;

namespace {

// Rows per multi-row INSERT: 1,000 metric rows are 5,000 parameters, far below both backends'
// limits (SQLite 32,766, PostgreSQL 65,535), and one statement per 1,000 rows is what makes a
// batch cost a few round trips instead of one per row.
constexpr size_t kRowsPerStatement = 1000;
// Points per history bucket (store migration 7). The history is indexed by (run, bucket, key,
// step, time), and a batch goes into the bucket of the run's point count before it: a batch of
// many distinct keys then writes into one bucket's few index pages instead of one page per key
// (each key's own range), while one key's history is one index range per bucket. 8,192 points of
// ~60 bytes are ~120 pages of 4 KiB.
constexpr int64_t kHistoryBucketPoints = 8192;
// Buckets per history query: an IN list far below both backends' parameter limits.
constexpr int64_t kBucketsPerQuery = 500;
constexpr size_t kMaxRunNameBytes = 250;
constexpr size_t kMaxSourceBytes = 1000;
constexpr size_t kMaxArtifactPathBytes = 1000;

// The first `n` bytes of `text` for an error message, marked when cut.
std::string Shown(std::string_view text, size_t n = 80) {
  if (text.size() <= n) return std::string(text);
  return std::string(text.substr(0, n)) + "...";
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ' ';
}

// Well-formed UTF-8 without NUL (PostgreSQL refuses both, SQLite would store them): so both
// backends accept exactly the same text and report a bad value as InvalidArgument.
bool IsCleanUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Status ValidateText(std::string_view what, std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return absl::InvalidArgumentError(std::string(what) + " is too long (" +
                                      std::to_string(text.size()) + " bytes; the limit is " +
                                      std::to_string(max_bytes) + ")");
  }
  if (!IsCleanUtf8(text)) {
    return absl::InvalidArgumentError(std::string(what) +
                                      " is not valid UTF-8 text (or contains a NUL byte)");
  }
  return absl::OkStatus();
}

Status ValidateExperimentName(std::string_view name) {
  Status key = ValidateTrackingKey("experiment name", name);
  if (!key.ok()) return key;
  if (name.front() == ' ' || name.back() == ' ') {
    return absl::InvalidArgumentError("experiment name '" + Shown(name) +
                                      "' must not start or end with a space");
  }
  return absl::OkStatus();
}

// Artifact paths: relative, '/'-separated segments of [A-Za-z0-9._-], none "." or "..", so a
// path can never name something outside the run when the platform materialises it as files.
Status ValidateArtifactPath(std::string_view path) {
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError("artifact path '" + Shown(path) + "' is not valid: " + why);
  };
  if (path.empty() || path.size() > kMaxArtifactPathBytes) {
    return fail("expected 1-" + std::to_string(kMaxArtifactPathBytes) + " characters");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return fail("expected a relative path without empty, '.' or '..' segments");
    }
    for (char c : segment) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
      if (!ok) return fail("segments use only A-Z a-z 0-9 . _ -");
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

bool IsDigest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : digest.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Experiment ExperimentFromRow(const QueryResult& r, size_t i) {
  return Experiment{r.TextOrEmpty(i, 0), r.TextOrEmpty(i, 1), r.TextOrEmpty(i, 2),
                    r.IntOrZero(i, 3), r.TextOrEmpty(i, 4)};
}

constexpr char kExperimentColumns[] = "id, project_id, name, created_at, created_by";

struct RunState {
  RunStatus status = RunStatus::kRunning;
  std::string experiment_id;
  int64_t metric_points = 0;  // points logged so far (places a batch in a history bucket)
};

// The status and experiment of a run, NotFound if there is no such run.
StatusOr<RunState> StateOfRun(Transaction& tx, const std::string& run_id) {
  ASSIGN_OR_RETURN(
      QueryResult r,
      tx.Query("SELECT status, experiment_id, metric_points FROM runs WHERE id = ?", {run_id}));
  if (r.rows.empty()) return absl::NotFoundError("run '" + Shown(run_id) + "' not found");
  std::optional<RunStatus> status = ParseRunStatus(r.TextOrEmpty(0, 0));
  if (!status) return absl::InternalError("unknown run status in store: " + r.TextOrEmpty(0, 0));
  return RunState{*status, r.TextOrEmpty(0, 1), r.IntOrZero(0, 2)};
}

// True if (step, time) of `a` is later than or as late as `b`'s: the rule for the latest point.
bool AtLeastAsLate(const MetricPoint& a, const MetricPoint& b) {
  return a.step > b.step || (a.step == b.step && a.time >= b.time);
}

// "INSERT INTO <table> (run_id, experiment_id, key, value) VALUES (?, ?, ?, ?), ..." for
// items[begin, end) of one run, with their values appended to `values`.
std::string KeyValueInsert(const char* table, const std::string& run_id,
                           const std::string& experiment_id,
                           const std::vector<const KeyValue*>& items, size_t begin, size_t end,
                           std::vector<SqlValue>* values) {
  std::string sql =
      std::string("INSERT INTO ") + table + " (run_id, experiment_id, key, value) VALUES ";
  values->reserve(values->size() + (end - begin) * 4);
  for (size_t i = begin; i < end; ++i) {
    sql += i == begin ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)";
    values->emplace_back(run_id);
    values->emplace_back(experiment_id);
    values->emplace_back(items[i]->key);
    values->emplace_back(items[i]->value);
  }
  return sql;
}

}  // namespace

namespace tracking_internal {

std::string Placeholders(size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

SqlValue MetricToSql(double value) {
  if (std::isnan(value)) return SqlValue(std::monostate());
  return SqlValue(value);
}

double MetricFromSql(const SqlValue& value) {
  if (const double* d = std::get_if<double>(&value)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  return std::numeric_limits<double>::quiet_NaN();
}

StatusOr<RunInfo> RunInfoFromRow(const QueryResult& r, size_t i) {
  RunInfo info;
  info.id = r.TextOrEmpty(i, 0);
  info.experiment_id = r.TextOrEmpty(i, 1);
  info.experiment_name = r.TextOrEmpty(i, 2);
  info.project_id = r.TextOrEmpty(i, 3);
  info.parent_run_id = r.TextOrEmpty(i, 4);
  info.name = r.TextOrEmpty(i, 5);
  std::optional<RunStatus> status = ParseRunStatus(r.TextOrEmpty(i, 6));
  if (!status) return absl::InternalError("unknown run status in store: " + r.TextOrEmpty(i, 6));
  info.status = *status;
  info.start_time = r.IntOrZero(i, 7);
  if (!r.IsNull(i, 8)) info.end_time = r.IntOrZero(i, 8);
  info.created_by = r.TextOrEmpty(i, 9);
  info.source = r.TextOrEmpty(i, 10);
  return info;
}

StatusOr<std::vector<Run>> LoadRuns(Transaction& tx, const std::vector<std::string>& ids,
                                    bool with_artifacts) {
  // Chunks keep IN lists short; every query reads one chunk's rows through an index.
  constexpr size_t kChunk = 500;
  std::unordered_map<std::string, Run> runs;
  runs.reserve(ids.size());
  for (size_t begin = 0; begin < ids.size(); begin += kChunk) {
    const size_t end = std::min(ids.size(), begin + kChunk);
    std::vector<SqlValue> params(ids.begin() + begin, ids.begin() + end);
    const std::string in = "(" + Placeholders(params.size()) + ")";
    ASSIGN_OR_RETURN(QueryResult info, tx.Query(std::string("SELECT ") + kRunInfoColumns +
                                                    kRunInfoFrom + " WHERE r.id IN " + in,
                                                params));
    for (size_t i = 0; i < info.rows.size(); ++i) {
      ASSIGN_OR_RETURN(RunInfo run_info, RunInfoFromRow(info, i));
      std::string id = run_info.id;
      runs[id].info = std::move(run_info);
    }
    auto owner = [&](const QueryResult& r, size_t i) -> Run* {
      auto it = runs.find(r.TextOrEmpty(i, 0));
      return it == runs.end() ? nullptr : &it->second;
    };
    ASSIGN_OR_RETURN(
        QueryResult p,
        tx.Query("SELECT run_id, key, value FROM run_params WHERE run_id IN " + in, params));
    for (size_t i = 0; i < p.rows.size(); ++i) {
      if (Run* run = owner(p, i)) run->params[p.TextOrEmpty(i, 1)] = p.TextOrEmpty(i, 2);
    }
    ASSIGN_OR_RETURN(QueryResult m, tx.Query("SELECT run_id, key, value, step, time FROM "
                                             "run_latest_metrics WHERE run_id IN " +
                                                 in,
                                             params));
    for (size_t i = 0; i < m.rows.size(); ++i) {
      if (Run* run = owner(m, i)) {
        MetricPoint point{m.TextOrEmpty(i, 1), MetricFromSql(m.rows[i][2]), m.IntOrZero(i, 3),
                          m.IntOrZero(i, 4)};
        run->metrics[point.key] = point;
      }
    }
    ASSIGN_OR_RETURN(
        QueryResult t,
        tx.Query("SELECT run_id, key, value FROM run_tags WHERE run_id IN " + in, params));
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (Run* run = owner(t, i)) run->tags[t.TextOrEmpty(i, 1)] = t.TextOrEmpty(i, 2);
    }
    if (with_artifacts) {
      ASSIGN_OR_RETURN(QueryResult a,
                       tx.Query("SELECT run_id, path, digest, size, created_at FROM run_artifacts "
                                "WHERE run_id IN " +
                                    in + " ORDER BY run_id, path",
                                params));
      for (size_t i = 0; i < a.rows.size(); ++i) {
        if (Run* run = owner(a, i)) {
          run->artifacts.push_back(RunArtifact{a.TextOrEmpty(i, 1), a.TextOrEmpty(i, 2),
                                               a.IntOrZero(i, 3), a.IntOrZero(i, 4)});
        }
      }
    }
  }
  std::vector<Run> out;
  out.reserve(runs.size());
  for (const std::string& id : ids) {
    auto it = runs.find(id);
    if (it != runs.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace tracking_internal

std::string RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "RUNNING";
    case RunStatus::kFinished:
      return "FINISHED";
    case RunStatus::kFailed:
      return "FAILED";
    case RunStatus::kKilled:
      return "KILLED";
  }
  return "RUNNING";
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled}) {
    if (name == RunStatusName(s)) return s;
  }
  return std::nullopt;
}

Status ValidateTrackingKey(std::string_view what, std::string_view key) {
  auto fail = [&] {
    return absl::InvalidArgumentError(std::string(what) + " '" + Shown(key) +
                                      "' is not valid: expected 1-" +
                                      std::to_string(TrackingStore::kMaxKeyLength) +
                                      " characters from A-Z a-z 0-9 _ - . / and space");
  };
  if (key.empty() || key.size() > static_cast<size_t>(TrackingStore::kMaxKeyLength)) return fail();
  for (char c : key) {
    if (!IsKeyChar(c)) return fail();
  }
  return absl::OkStatus();
}

StatusOr<Experiment> TrackingStore::CreateExperiment(Transaction& tx, const std::string& project_id,
                                                     const std::string& name,
                                                     const std::string& created_by) const {
  RETURN_IF_ERROR(ValidateExperimentName(name));
  ASSIGN_OR_RETURN(QueryResult project,
                   tx.Query("SELECT 1 FROM projects WHERE id = ?", {project_id}));
  if (project.rows.empty()) return absl::NotFoundError("project not found");
  Experiment e{NewId(*clock_), project_id, name, clock_->NowMicros(), created_by};
  Status s = tx.Execute(
      "INSERT INTO experiments (id, project_id, name, created_at, created_by) "
      "VALUES (?, ?, ?, ?, ?)",
      {e.id, e.project_id, e.name, e.created_at, e.created_by});
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError("experiment '" + name + "' exists");
  }
  RETURN_IF_ERROR(s);
  return e;
}

StatusOr<Experiment> TrackingStore::GetOrCreateExperiment(Transaction& tx,
                                                          const std::string& project_id,
                                                          const std::string& name,
                                                          const std::string& created_by) const {
  RETURN_IF_ERROR(ValidateExperimentName(name));
  StatusOr<Experiment> found = FindExperiment(tx, project_id, name);
  if (!absl::IsNotFound(found.status())) return found;
  ASSIGN_OR_RETURN(QueryResult project,
                   tx.Query("SELECT 1 FROM projects WHERE id = ?", {project_id}));
  if (project.rows.empty()) return absl::NotFoundError("project not found");
  // A concurrent creator may win between the read and the insert: DO NOTHING keeps the
  // transaction usable (a unique violation would abort it on PostgreSQL), and the read below
  // returns whichever experiment was created.
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO experiments (id, project_id, name, created_at, created_by) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, name) DO NOTHING",
                 {NewId(*clock_), project_id, name, clock_->NowMicros(), created_by}));
  return FindExperiment(tx, project_id, name);
}

StatusOr<Experiment> TrackingStore::FindExperiment(Transaction& tx, const std::string& project_id,
                                                   const std::string& name) const {
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query(std::string("SELECT ") + kExperimentColumns +
                                " FROM experiments WHERE project_id = ? AND name = ?",
                            {project_id, name}));
  if (r.rows.empty()) return absl::NotFoundError("experiment '" + Shown(name) + "' not found");
  return ExperimentFromRow(r, 0);
}

StatusOr<std::vector<Experiment>> TrackingStore::ListExperiments(
    Transaction& tx, const std::string& project_id) const {
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query(std::string("SELECT ") + kExperimentColumns +
                                " FROM experiments WHERE project_id = ? ORDER BY name",
                            {project_id}));
  std::vector<Experiment> out;
  out.reserve(r.rows.size());
  for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(ExperimentFromRow(r, i));
  return out;
}

StatusOr<RunInfo> TrackingStore::CreateRun(Transaction& tx, const std::string& experiment_id,
                                           const std::string& name,
                                           const std::string& parent_run_id,
                                           const std::string& source,
                                           const std::string& created_by) const {
  RETURN_IF_ERROR(ValidateText("run name", name, kMaxRunNameBytes));
  RETURN_IF_ERROR(ValidateText("run source", source, kMaxSourceBytes));
  ASSIGN_OR_RETURN(QueryResult e, tx.Query("SELECT project_id, name FROM experiments WHERE id = ?",
                                           {experiment_id}));
  if (e.rows.empty()) return absl::NotFoundError("experiment not found");
  RunInfo run;
  run.id = NewId(*clock_);
  run.experiment_id = experiment_id;
  run.experiment_name = e.TextOrEmpty(0, 1);
  run.project_id = e.TextOrEmpty(0, 0);
  run.parent_run_id = parent_run_id;
  run.name = name.empty() ? run.id : name;
  run.status = RunStatus::kRunning;
  run.start_time = clock_->NowMicros();
  run.created_by = created_by;
  run.source = source;
  if (!parent_run_id.empty()) {
    ASSIGN_OR_RETURN(QueryResult p,
                     tx.Query("SELECT experiment_id FROM runs WHERE id = ?", {parent_run_id}));
    if (p.rows.empty()) {
      return absl::NotFoundError("parent run '" + Shown(parent_run_id) + "' not found");
    }
    if (p.TextOrEmpty(0, 0) != experiment_id) {
      return absl::InvalidArgumentError("parent run '" + parent_run_id +
                                        "' belongs to another experiment");
    }
  }
  RETURN_IF_ERROR(tx.Execute(
      "INSERT INTO runs (id, experiment_id, parent_run_id, name, status, start_time, end_time, "
      "created_by, source) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
      {run.id, run.experiment_id, parent_run_id.empty() ? SqlValue() : SqlValue(parent_run_id),
       run.name, RunStatusName(run.status), run.start_time, run.created_by, run.source}));
  return run;
}

StatusOr<RunInfo> TrackingStore::SetRunStatus(Transaction& tx, const std::string& run_id,
                                              RunStatus status) const {
  if (!IsTerminal(status)) {
    return absl::InvalidArgumentError(
        "a run can only be set to FINISHED, FAILED or KILLED; it is RUNNING from its creation");
  }
  ASSIGN_OR_RETURN(RunState state, StateOfRun(tx, run_id));
  const RunStatus current = state.status;
  if (IsTerminal(current)) {
    return absl::FailedPreconditionError("run '" + run_id + "' has already ended (" +
                                         RunStatusName(current) + ")");
  }
  // The status condition makes a concurrent finisher lose cleanly instead of overwriting.
  ASSIGN_OR_RETURN(QueryResult updated,
                   tx.Query("UPDATE runs SET status = ?, end_time = ? WHERE id = ? AND "
                            "status = 'RUNNING'",
                            {RunStatusName(status), clock_->NowMicros(), run_id}));
  if (updated.rows_affected != 1) {
    return absl::FailedPreconditionError("run '" + run_id + "' has already ended");
  }
  ASSIGN_OR_RETURN(std::vector<Run> runs, LoadRuns(tx, {run_id}, false));
  if (runs.empty()) return absl::NotFoundError("run '" + Shown(run_id) + "' not found");
  return runs[0].info;
}

Status TrackingStore::LogBatch(Transaction& tx, const std::string& run_id,
                               const std::vector<KeyValue>& params,
                               const std::vector<MetricPoint>& metrics,
                               const std::vector<KeyValue>& tags) const {
  // Validation first, all of it, so a bad entry anywhere writes nothing.
  auto too_many = [](const char* what, size_t n, int limit) {
    return absl::InvalidArgumentError("too many " + std::string(what) + " in one batch (" +
                                      std::to_string(n) + "; the limit is " +
                                      std::to_string(limit) + ")");
  };
  if (params.size() > static_cast<size_t>(kMaxBatchParams)) {
    return too_many("params", params.size(), kMaxBatchParams);
  }
  if (metrics.size() > static_cast<size_t>(kMaxBatchMetrics)) {
    return too_many("metrics", metrics.size(), kMaxBatchMetrics);
  }
  if (tags.size() > static_cast<size_t>(kMaxBatchTags)) {
    return too_many("tags", tags.size(), kMaxBatchTags);
  }
  // Params: one row per key; the same key twice must carry the same value.
  std::vector<const KeyValue*> unique_params;
  std::unordered_map<std::string_view, const KeyValue*> param_by_key;
  for (const KeyValue& p : params) {
    RETURN_IF_ERROR(ValidateTrackingKey("param key", p.key));
    RETURN_IF_ERROR(ValidateText("value of param '" + p.key + "'", p.value, kMaxParamValueBytes));
    auto [it, inserted] = param_by_key.emplace(p.key, &p);
    if (inserted) {
      unique_params.push_back(&p);
    } else if (it->second->value != p.value) {
      return absl::InvalidArgumentError("param '" + p.key +
                                        "' appears twice in the batch with different values");
    }
  }
  const int64_t now = clock_->NowMicros();
  std::vector<MetricPoint> points;
  points.reserve(metrics.size());
  // Latest point per key within the batch (indexes into `points`, in order of first appearance);
  // later entries win ties, as later inserts do.
  std::unordered_map<std::string_view, size_t> latest_slot;
  std::vector<size_t> latest;
  for (const MetricPoint& m : metrics) {
    RETURN_IF_ERROR(ValidateTrackingKey("metric key", m.key));
    if (std::isinf(m.value)) {
      return absl::InvalidArgumentError("metric '" + m.key + "' (step " + std::to_string(m.step) +
                                        ") is infinite; only finite values and NaN are recorded");
    }
    if (m.time < 0) {
      return absl::InvalidArgumentError("metric '" + m.key + "' (step " + std::to_string(m.step) +
                                        ") has a negative time");
    }
    points.push_back(m);
    if (points.back().time == 0) points.back().time = now;
  }
  for (size_t i = 0; i < points.size(); ++i) {
    auto [it, inserted] = latest_slot.emplace(points[i].key, latest.size());
    if (inserted) {
      latest.push_back(i);
    } else if (AtLeastAsLate(points[i], points[latest[it->second]])) {
      latest[it->second] = i;
    }
  }
  std::vector<const KeyValue*> unique_tags;
  std::unordered_map<std::string_view, size_t> tag_by_key;
  for (const KeyValue& t : tags) {
    RETURN_IF_ERROR(ValidateTrackingKey("tag key", t.key));
    RETURN_IF_ERROR(ValidateText("value of tag '" + t.key + "'", t.value, kMaxTagValueBytes));
    auto [it, inserted] = tag_by_key.emplace(t.key, unique_tags.size());
    if (inserted) {
      unique_tags.push_back(&t);
    } else {
      unique_tags[it->second] = &t;  // the last value wins
    }
  }

  ASSIGN_OR_RETURN(RunState state, StateOfRun(tx, run_id));
  const RunStatus status = state.status;
  const std::string& experiment_id = state.experiment_id;
  if (IsTerminal(status) && (!params.empty() || !metrics.empty())) {
    return absl::FailedPreconditionError("run '" + run_id + "' has ended (" +
                                         RunStatusName(status) +
                                         "): params and metrics can no longer be logged");
  }
  // The history bucket of this batch, from the run's point count, counted up first: the update
  // takes the run's row lock (PostgreSQL) before any other write of the batch, so concurrent
  // batches of one run count in turn, and its status condition refuses a batch that lost a race
  // with the run's end.
  int64_t bucket = 0;
  if (!points.empty()) {
    const int64_t n = static_cast<int64_t>(points.size());
    ASSIGN_OR_RETURN(QueryResult counted,
                     tx.Query("UPDATE runs SET metric_points = metric_points + ? WHERE id = ? AND "
                              "status = 'RUNNING' RETURNING metric_points",
                              {n, run_id}));
    if (counted.rows.empty()) {
      return absl::FailedPreconditionError(
          "run '" + run_id + "' has ended: params and metrics can no longer be logged");
    }
    bucket = std::max<int64_t>(0, counted.IntOrZero(0, 0) - n) / kHistoryBucketPoints;
  }

  // Params: insert what is new, then compare what was already there.
  for (size_t begin = 0; begin < unique_params.size(); begin += kRowsPerStatement) {
    const size_t end = std::min(unique_params.size(), begin + kRowsPerStatement);
    std::vector<SqlValue> values;
    const std::string sql =
        KeyValueInsert("run_params", run_id, experiment_id, unique_params, begin, end, &values) +
        " ON CONFLICT (run_id, key) DO NOTHING";
    ASSIGN_OR_RETURN(QueryResult inserted, tx.Query(sql, values));
    if (inserted.rows_affected == static_cast<int64_t>(end - begin)) continue;
    std::vector<SqlValue> keys{run_id};
    for (size_t i = begin; i < end; ++i) keys.emplace_back(unique_params[i]->key);
    ASSIGN_OR_RETURN(QueryResult existing,
                     tx.Query("SELECT key, value FROM run_params WHERE run_id = ? AND key IN (" +
                                  Placeholders(end - begin) + ")",
                              keys));
    for (size_t r = 0; r < existing.rows.size(); ++r) {
      const std::string key = existing.TextOrEmpty(r, 0);
      const std::string value = existing.TextOrEmpty(r, 1);
      auto it = param_by_key.find(key);
      if (it != param_by_key.end() && it->second->value != value) {
        return absl::AlreadyExistsError(
            "param '" + key + "' of run '" + run_id + "' is already set to '" + Shown(value) +
            "'; params cannot be changed (got '" + Shown(it->second->value) + "')");
      }
    }
  }

  // Metric history: every point, all in the batch's bucket. The run and the bucket are the same
  // for every row, so they are given once (the bucket, a number this code computed, as a literal):
  // four values a row instead of six, which is most of what PostgreSQL spends on the statement
  // before inserting. VALUES columns are column1, column2, ... on both backends; the CAST keeps
  // the value column DOUBLE PRECISION on PostgreSQL when every value of a statement is NaN (NULL).
  for (size_t begin = 0; begin < points.size(); begin += kRowsPerStatement) {
    const size_t end = std::min(points.size(), begin + kRowsPerStatement);
    std::string sql =
        "INSERT INTO run_metrics (run_id, bucket, key, step, time, value) SELECT ?, " +
        std::to_string(bucket) +
        ", column1, column2, column3, CAST(column4 AS DOUBLE PRECISION) FROM (VALUES ";
    std::vector<SqlValue> values;
    values.reserve(1 + (end - begin) * 4);
    values.emplace_back(run_id);
    for (size_t i = begin; i < end; ++i) {
      sql += i == begin ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)";
      values.emplace_back(points[i].key);
      values.emplace_back(points[i].step);
      values.emplace_back(points[i].time);
      values.push_back(MetricToSql(points[i].value));
    }
    sql += ") AS v";
    RETURN_IF_ERROR(tx.Execute(sql, values));
  }
  // Latest points: an upsert that replaces the stored point only with one at least as late, so
  // steps that arrive out of order (a resumed job, a late evaluation) never move it back.
  for (size_t begin = 0; begin < latest.size(); begin += kRowsPerStatement) {
    const size_t end = std::min(latest.size(), begin + kRowsPerStatement);
    // As the history: the run and experiment once, four values a row. `WHERE true` is SQLite's
    // rule for an upsert from a SELECT with a FROM (so ON is not read as a join's).
    std::string sql =
        "INSERT INTO run_latest_metrics (run_id, experiment_id, key, value, step, time) SELECT ?, "
        "?, column1, CAST(column2 AS DOUBLE PRECISION), column3, column4 FROM (VALUES ";
    std::vector<SqlValue> values;
    values.reserve(2 + (end - begin) * 4);
    values.emplace_back(run_id);
    values.emplace_back(experiment_id);
    for (size_t i = begin; i < end; ++i) {
      const MetricPoint& p = points[latest[i]];
      sql += i == begin ? "(?, ?, ?, ?)" : ", (?, ?, ?, ?)";
      values.emplace_back(p.key);
      values.push_back(MetricToSql(p.value));
      values.emplace_back(p.step);
      values.emplace_back(p.time);
    }
    sql +=
        ") AS v WHERE true ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, "
        "step = excluded.step, "
        "time = excluded.time WHERE excluded.step > run_latest_metrics.step OR "
        "(excluded.step = run_latest_metrics.step AND excluded.time >= run_latest_metrics.time)";
    RETURN_IF_ERROR(tx.Execute(sql, values));
  }
  // Tags: the last value wins.
  for (size_t begin = 0; begin < unique_tags.size(); begin += kRowsPerStatement) {
    const size_t end = std::min(unique_tags.size(), begin + kRowsPerStatement);
    std::vector<SqlValue> values;
    const std::string sql =
        KeyValueInsert("run_tags", run_id, experiment_id, unique_tags, begin, end, &values) +
        " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value";
    RETURN_IF_ERROR(tx.Execute(sql, values));
  }
  return absl::OkStatus();
}

Status TrackingStore::LogArtifact(Transaction& tx, const std::string& run_id,
                                  const std::string& path, const std::string& digest,
                                  int64_t size) const {
  RETURN_IF_ERROR(ValidateArtifactPath(path));
  if (!IsDigest(digest)) {
    return absl::InvalidArgumentError("artifact digest '" + Shown(digest) +
                                      "' is not valid: expected sha256: and 64 lowercase hex");
  }
  if (size < 0) return absl::InvalidArgumentError("artifact size must not be negative");
  ASSIGN_OR_RETURN(QueryResult run, tx.Query("SELECT e.project_id, r.status FROM runs r JOIN "
                                             "experiments e ON e.id = r.experiment_id WHERE "
                                             "r.id = ?",
                                             {run_id}));
  if (run.rows.empty()) return absl::NotFoundError("run '" + Shown(run_id) + "' not found");
  if (run.TextOrEmpty(0, 1) != RunStatusName(RunStatus::kRunning)) {
    return absl::FailedPreconditionError("run '" + run_id + "' has ended (" +
                                         run.TextOrEmpty(0, 1) +
                                         "): artifacts can no longer be logged");
  }
  // A run may only point at content its project holds, so a record never names bytes that a
  // reader of the project could not fetch (or that belong to another project).
  ASSIGN_OR_RETURN(QueryResult held,
                   tx.Query("SELECT size FROM artifacts WHERE project_id = ? AND digest = ?",
                            {run.TextOrEmpty(0, 0), digest}));
  if (held.rows.empty()) {
    return absl::NotFoundError("artifact " + digest + " is not held by the run's project");
  }
  if (held.IntOrZero(0, 0) != size) {
    return absl::InvalidArgumentError("artifact " + digest + " has " +
                                      std::to_string(held.IntOrZero(0, 0)) + " bytes, not " +
                                      std::to_string(size));
  }
  ASSIGN_OR_RETURN(QueryResult inserted,
                   tx.Query("INSERT INTO run_artifacts (run_id, path, digest, size, created_at) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id, path) DO NOTHING",
                            {run_id, path, digest, size, clock_->NowMicros()}));
  if (inserted.rows_affected == 1) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      QueryResult existing,
      tx.Query("SELECT digest FROM run_artifacts WHERE run_id = ? AND path = ?", {run_id, path}));
  if (!existing.rows.empty() && existing.TextOrEmpty(0, 0) == digest) return absl::OkStatus();
  return absl::AlreadyExistsError("artifact path '" + path + "' of run '" + run_id +
                                  "' already holds " + existing.TextOrEmpty(0, 0));
}

StatusOr<Run> TrackingStore::GetRun(Transaction& tx, const std::string& run_id) const {
  ASSIGN_OR_RETURN(std::vector<Run> runs, LoadRuns(tx, {run_id}, true));
  if (runs.empty()) return absl::NotFoundError("run '" + Shown(run_id) + "' not found");
  return std::move(runs[0]);
}

StatusOr<std::vector<MetricPoint>> TrackingStore::MetricHistory(Transaction& tx,
                                                                const std::string& run_id,
                                                                const std::string& key) const {
  ASSIGN_OR_RETURN(RunState state, StateOfRun(tx, run_id));
  // One index range per bucket (run, bucket, key): buckets in the order they were filled, each by
  // step and time, then a stable sort by step and time, so of two points with the same step and
  // time in different buckets the one logged first comes first.
  const int64_t last_bucket = std::max<int64_t>(0, state.metric_points - 1) / kHistoryBucketPoints;
  std::vector<MetricPoint> out;
  for (int64_t first = 0; first <= last_bucket; first += kBucketsPerQuery) {
    const int64_t last = std::min(last_bucket, first + kBucketsPerQuery - 1);
    std::vector<SqlValue> values{run_id, key};
    for (int64_t b = first; b <= last; ++b) values.emplace_back(b);
    ASSIGN_OR_RETURN(QueryResult r,
                     tx.Query("SELECT value, step, time FROM run_metrics WHERE run_id = ? AND "
                              "key = ? AND bucket IN (" +
                                  Placeholders(static_cast<size_t>(last - first + 1)) +
                                  ") ORDER BY bucket, step, time",
                              values));
    out.reserve(out.size() + r.rows.size());
    for (size_t i = 0; i < r.rows.size(); ++i) {
      out.push_back(
          MetricPoint{key, MetricFromSql(r.rows[i][0]), r.IntOrZero(i, 1), r.IntOrZero(i, 2)});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return a.step < b.step || (a.step == b.step && a.time < b.time);
  });
  return out;
}

}  // namespace plinth
