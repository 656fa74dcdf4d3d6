// Experiment tracking on the platform: experiments and runs of a project (tracking/
// tracking_store.h, store migration 5) reached from the CLI and REST, so a training script in any
// language can log to Plinth. Starting, logging to and ending a run are audited like every other
// state change; a run belongs to its project, and a run of a project the caller holds no role in
// does not exist for them.
#include <algorithm>

#include "core/clock.h"
#include "platform/operation_context.h"
#include "platform/platform.h"
#include "tracking/tracking_store.h"

namespace plinth {
namespace {

Json RunInfoJson(const RunInfo& r) {
  return {{"id", r.id},
          {"experiment", r.experiment_name},
          {"name", r.name},
          {"parent", r.parent_run_id.empty() ? Json(nullptr) : Json(r.parent_run_id)},
          {"status", RunStatusName(r.status)},
          {"start_time", FormatTime(r.start_time)},
          {"end_time", TimeOrNull(r.end_time)},
          {"created_by", r.created_by},
          {"source", r.source}};
}

Json MetricJson(const MetricPoint& m) {
  return {{"value", std::isnan(m.value) ? Json("NaN") : Json(m.value)},
          {"step", m.step},
          {"time", FormatTime(m.time)}};
}

Json RunJson(const Run& run, const std::string& project) {
  Json out = RunInfoJson(run.info);
  out["project"] = project;
  out["params"] = run.params;
  Json metrics = Json::object();
  for (const auto& [key, point] : run.metrics) metrics[key] = MetricJson(point);
  out["metrics"] = metrics;
  out["tags"] = run.tags;
  Json artifacts = Json::array();
  for (const auto& a : run.artifacts) {
    artifacts.push_back({{"path", a.path}, {"digest", a.digest}, {"size", a.size}});
  }
  out["artifacts"] = artifacts;
  return out;
}

// The run `id` and its project, if the caller may act on it with `permission`: a run of a
// project the caller has no role in is NotFound, as the project itself would be.
StatusOr<std::pair<Run, Project>> AuthorizeRun(OpContext& ctx, const std::string& id,
                                               Permission permission) {
  TrackingStore tracking(ctx.platform.clock());
  auto run = tracking.GetRun(ctx.tx, id);
  if (absl::IsNotFound(run.status())) {
    return absl::NotFoundError("run '" + id.substr(0, 64) + "' not found");
  }
  RETURN_IF_ERROR(run.status());
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT name FROM projects WHERE id = ?", {run->info.project_id}));
  if (r.rows.empty() || !ctx.principal.HasAnyRoleOn(run->info.project_id)) {
    return absl::NotFoundError("run '" + id.substr(0, 64) + "' not found");
  }
  ASSIGN_OR_RETURN(Project p, AuthorizeProject(ctx.tx, ctx.identity, ctx.principal,
                                               ctx.audit.action, r.TextOrEmpty(0, 0), permission));
  ctx.audit.project = p.name;
  ctx.audit.resource = "run/" + run->info.id;
  return std::make_pair(*std::move(run), p);
}

StatusOr<Json> ExperimentList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  TrackingStore tracking(ctx.platform.clock());
  ASSIGN_OR_RETURN(std::vector<Experiment> experiments, tracking.ListExperiments(ctx.tx, p.id));
  Json out = Json::array();
  for (const auto& e : experiments) {
    ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT COUNT(*), MAX(start_time) FROM runs "
                                                 "WHERE experiment_id = ?",
                                                 {e.id}));
    out.push_back(
        {{"name", e.name},
         {"runs", r.IntOrZero(0, 0)},
         {"last_run", r.IsNull(0, 1) ? Json(nullptr) : Json(FormatTime(r.IntOrZero(0, 1)))},
         {"created", FormatTime(e.created_at)},
         {"created_by", e.created_by}});
  }
  return Json{{"project", p.name}, {"experiments", out}};
}

StatusOr<Json> RunCreate(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kRunWrite));
  TrackingStore tracking(ctx.platform.clock());
  ASSIGN_OR_RETURN(Experiment e,
                   tracking.GetOrCreateExperiment(ctx.tx, p.id, Str(req, "experiment"),
                                                  ctx.principal.user.name));
  ASSIGN_OR_RETURN(RunInfo run,
                   tracking.CreateRun(ctx.tx, e.id, Str(req, "name"), Str(req, "parent"),
                                      Str(req, "source"), ctx.principal.user.name));
  run.experiment_name = e.name;
  ctx.audit.project = p.name;
  ctx.audit.resource = "run/" + run.id;
  ctx.audit.details = {{"experiment", e.name}, {"name", run.name}, {"parent", run.parent_run_id}};
  Json out = RunInfoJson(run);
  out["project"] = p.name;
  return out;
}

// Metrics as [{key, value, step, time}] or, for a quick log, {key: value}.
StatusOr<std::vector<MetricPoint>> MetricsFromRequest(const Json& metrics) {
  std::vector<MetricPoint> out;
  auto number = [](const Json& v, const std::string& key) -> StatusOr<double> {
    if (v.is_number()) return v.get<double>();
    if (v.is_string() && v.get<std::string>() == "NaN") return std::nan("");
    return absl::InvalidArgumentError("metric '" + key.substr(0, 64) +
                                      "': value must be a number (or \"NaN\")");
  };
  if (metrics.is_object()) {
    for (const auto& [key, value] : metrics.items()) {
      MetricPoint m;
      m.key = key;
      ASSIGN_OR_RETURN(m.value, number(value, key));
      out.push_back(m);
    }
    return out;
  }
  if (!metrics.is_array()) {
    return absl::InvalidArgumentError(
        "metrics: expected [{key, value, step, time}, ...] or {key: value, ...}");
  }
  for (const Json& item : metrics) {
    if (!item.is_object() || !item.contains("key") || !item["key"].is_string() ||
        !item.contains("value")) {
      return absl::InvalidArgumentError(
          "metrics: each item must be an object {key, value, step, time}");
    }
    MetricPoint m;
    m.key = item["key"].get<std::string>();
    ASSIGN_OR_RETURN(m.value, number(item["value"], m.key));
    if (item.contains("step")) {
      if (!item["step"].is_number_integer()) {
        return absl::InvalidArgumentError("metric '" + m.key.substr(0, 64) +
                                          "': step must be an integer");
      }
      m.step = item["step"].get<int64_t>();
    }
    if (item.contains("time")) {
      std::optional<int64_t> t =
          item["time"].is_string() ? ParseTime(item["time"].get<std::string>()) : std::nullopt;
      if (!t) {
        return absl::InvalidArgumentError("metric '" + m.key.substr(0, 64) +
                                          "': time must be an RFC 3339 time");
      }
      m.time = *t;
    }
    out.push_back(m);
  }
  return out;
}

StatusOr<std::vector<KeyValue>> PairsFromRequest(const Json& object, const std::string& what) {
  std::vector<KeyValue> out;
  for (const auto& [key, value] : object.items()) {
    if (!value.is_string()) {
      return absl::InvalidArgumentError(what + " '" + key.substr(0, 64) +
                                        "': value must be a string");
    }
    out.push_back({key, value.get<std::string>()});
  }
  return out;
}

StatusOr<Json> RunLog(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizeRun(ctx, Str(req, "id"), Permission::kRunWrite));
  std::vector<KeyValue> params, tags;
  std::vector<MetricPoint> metrics;
  if (req.contains("params") && req["params"].is_object()) {
    ASSIGN_OR_RETURN(params, PairsFromRequest(req["params"], "param"));
  }
  if (req.contains("tags") && req["tags"].is_object()) {
    ASSIGN_OR_RETURN(tags, PairsFromRequest(req["tags"], "tag"));
  }
  if (req.contains("metrics") && !req["metrics"].is_null()) {
    ASSIGN_OR_RETURN(metrics, MetricsFromRequest(req["metrics"]));
  }
  TrackingStore tracking(ctx.platform.clock());
  RETURN_IF_ERROR(tracking.LogBatch(ctx.tx, found.first.info.id, params, metrics, tags));
  ctx.audit.details = {
      {"params", params.size()}, {"metrics", metrics.size()}, {"tags", tags.size()}};
  return Json{{"id", found.first.info.id},
              {"params", params.size()},
              {"metrics", metrics.size()},
              {"tags", tags.size()}};
}

StatusOr<Json> RunLogArtifact(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizeRun(ctx, Str(req, "id"), Permission::kRunWrite));
  std::string digest = Str(req, "digest");
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT size FROM artifacts WHERE project_id = ? "
                                               "AND digest = ?",
                                               {found.second.id, digest}));
  if (r.rows.empty()) {
    return absl::NotFoundError("artifact " + digest.substr(0, 80) + " is not stored in project '" +
                               found.second.name + "'");
  }
  TrackingStore tracking(ctx.platform.clock());
  RETURN_IF_ERROR(tracking.LogArtifact(ctx.tx, found.first.info.id, Str(req, "path"), digest,
                                       r.IntOrZero(0, 0)));
  ctx.audit.details = {{"path", Str(req, "path")}, {"digest", digest}};
  return Json{{"id", found.first.info.id}, {"path", Str(req, "path")}, {"digest", digest}};
}

StatusOr<Json> RunFinish(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizeRun(ctx, Str(req, "id"), Permission::kRunWrite));
  std::string status_text = Str(req, "status").empty() ? "FINISHED" : Str(req, "status");
  std::optional<RunStatus> status = ParseRunStatus(status_text);
  if (!status || !IsTerminal(*status)) {
    return absl::InvalidArgumentError("status '" + status_text.substr(0, 32) +
                                      "' is not one of FINISHED, FAILED, KILLED");
  }
  TrackingStore tracking(ctx.platform.clock());
  ASSIGN_OR_RETURN(RunInfo info, tracking.SetRunStatus(ctx.tx, found.first.info.id, *status));
  info.experiment_name = found.first.info.experiment_name;
  ctx.audit.details = {{"status", RunStatusName(*status)}};
  Json out = RunInfoJson(info);
  out["project"] = found.second.name;
  return out;
}

StatusOr<Json> RunShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizeRun(ctx, Str(req, "id"), Permission::kProjectRead));
  return RunJson(found.first, found.second.name);
}

StatusOr<Json> RunMetricHistory(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizeRun(ctx, Str(req, "id"), Permission::kProjectRead));
  TrackingStore tracking(ctx.platform.clock());
  std::string key = Str(req, "key");
  ASSIGN_OR_RETURN(std::vector<MetricPoint> points,
                   tracking.MetricHistory(ctx.tx, found.first.info.id, key));
  Json out = Json::array();
  for (const auto& m : points) out.push_back(MetricJson(m));
  return Json{{"id", found.first.info.id}, {"key", key}, {"points", out}};
}

StatusOr<Json> RunSearch(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  SearchRunsRequest search;
  search.project_id = p.id;
  search.filter = Str(req, "filter");
  search.page_token = Str(req, "page_token");
  for (const char* list : {"experiments", "order_by"}) {
    if (!req.contains(list) || !req[list].is_array()) continue;
    for (const Json& v : req[list]) {
      if (!v.is_string()) {
        return absl::InvalidArgumentError(std::string(list) + ": every item must be a string");
      }
      (std::string(list) == "experiments" ? search.experiment_names : search.order_by)
          .push_back(v.get<std::string>());
    }
  }
  if (req.contains("max_results") && req["max_results"].is_number_integer()) {
    int64_t n = req["max_results"].get<int64_t>();
    search.max_results = static_cast<int>(std::clamp<int64_t>(n, -1, 1 << 30));
  }
  TrackingStore tracking(ctx.platform.clock());
  ASSIGN_OR_RETURN(SearchRunsResult result, tracking.SearchRuns(ctx.tx, search));
  Json runs = Json::array();
  for (const Run& run : result.runs) runs.push_back(RunJson(run, p.name));
  return Json{{"project", p.name},
              {"runs", runs},
              {"total_matches", result.total_matches},
              {"next_page_token", result.next_page_token}};
}

}  // namespace

void AddTrackingHandlers(HandlerMap* handlers) {
  (*handlers)["experiment.list"] = ExperimentList;
  (*handlers)["run.create"] = RunCreate;
  (*handlers)["run.log"] = RunLog;
  (*handlers)["run.log_artifact"] = RunLogArtifact;
  (*handlers)["run.finish"] = RunFinish;
  (*handlers)["run.show"] = RunShow;
  (*handlers)["run.metric_history"] = RunMetricHistory;
  (*handlers)["run.search"] = RunSearch;
}

}  // namespace plinth
