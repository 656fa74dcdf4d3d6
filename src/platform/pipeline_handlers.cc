// Pipeline runs on the platform (store migration 6). The executor runs where `plinth run` is
// typed and reports here through these operations, so a pipeline run is recorded the same way
// locally and against a server:
//   pipeline.start        a tracked run in the experiment named after the pipeline, with the
//                         resolved parameters as its params, and the completed steps of the
//                         latest unfinished run of the same pipeline (to resume it);
//   pipeline.cache_lookup / cache_store
//                         the step cache, per project, entries whose outputs the project holds;
//   pipeline.step         each step as it ended, an execution with lineage edges
//                         run/ID -> execution/ID/STEP, artifact/DIGEST -> execution (input),
//                         execution -> artifact/DIGEST (output), and any refs the step's summary
//                         lists under "lineage" (a data set version it registered);
//   pipeline.finish       the run's end, also ending its tracked run;
//   pipeline.show / list  for people.
#include <algorithm>
#include <cmath>

#include "core/clock.h"
#include "platform/operation_context.h"
#include "platform/platform.h"
#include "tracking/tracking_store.h"

namespace plinth {
namespace {

bool IsHexKey(const std::string& key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

StatusOr<Json> ParseJsonColumn(const std::string& text) {
  Json out = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return absl::DataLossError("stored pipeline JSON does not parse");
  return out;
}

// Every value of `outputs` is a digest the project holds.
Status RequireHeldDigests(OpContext& ctx, const Project& p, const Json& outputs) {
  if (!outputs.is_object()) return absl::InvalidArgumentError("outputs: expected an object");
  for (const auto& [name, digest] : outputs.items()) {
    if (!digest.is_string()) {
      return absl::InvalidArgumentError("outputs." + name.substr(0, 64) +
                                        ": expected a digest string");
    }
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT 1 FROM artifacts WHERE project_id = ? AND digest = ?",
                                  {p.id, digest.get<std::string>()}));
    if (r.rows.empty()) {
      return absl::NotFoundError("output '" + name.substr(0, 64) + "': artifact " +
                                 digest.get<std::string>().substr(0, 80) +
                                 " is not stored in project '" + p.name + "'");
    }
  }
  return absl::OkStatus();
}

Status RequireNumbers(const Json& metrics) {
  if (metrics.is_null()) return absl::OkStatus();
  if (!metrics.is_object()) return absl::InvalidArgumentError("metrics: expected an object");
  for (const auto& [name, value] : metrics.items()) {
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      return absl::InvalidArgumentError("metrics." + name.substr(0, 64) +
                                        ": expected a finite number");
    }
  }
  return absl::OkStatus();
}

struct PipelineRunRow {
  std::string run_id;
  std::string pipeline;
  std::string spec_digest;
  Json params;
  std::string state;
  std::string message;
  int64_t started_at = 0;
  std::optional<int64_t> finished_at;
  std::string created_by;
};

constexpr char kRunColumns[] =
    "run_id, pipeline, spec_digest, params_json, state, message, started_at, finished_at, "
    "created_by";

StatusOr<PipelineRunRow> RunRowAt(const QueryResult& r, size_t i) {
  PipelineRunRow row;
  row.run_id = r.TextOrEmpty(i, 0);
  row.pipeline = r.TextOrEmpty(i, 1);
  row.spec_digest = r.TextOrEmpty(i, 2);
  ASSIGN_OR_RETURN(row.params, ParseJsonColumn(r.TextOrEmpty(i, 3)));
  row.state = r.TextOrEmpty(i, 4);
  row.message = r.TextOrEmpty(i, 5);
  row.started_at = r.IntOrZero(i, 6);
  if (!r.IsNull(i, 7)) row.finished_at = r.IntOrZero(i, 7);
  row.created_by = r.TextOrEmpty(i, 8);
  return row;
}

Json RunRowJson(const PipelineRunRow& row, const std::string& project) {
  return {{"id", row.run_id},
          {"project", project},
          {"pipeline", row.pipeline},
          {"spec_digest", row.spec_digest},
          {"params", row.params},
          {"state", row.state},
          {"message", row.message},
          {"started", FormatTime(row.started_at)},
          {"finished", TimeOrNull(row.finished_at)},
          {"created_by", row.created_by}};
}

// Each step of a run, in the order they were recorded.
StatusOr<Json> StepsJson(OpContext& ctx, const std::string& run_id) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT step, type, state, cache_key, outputs_json, metrics_json, "
                                "summary_json, log_digest, attempts, message, started_at, "
                                "finished_at FROM pipeline_steps WHERE run_id = ? "
                                "ORDER BY started_at, step",
                                {run_id}));
  Json steps = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    Json step = {{"step", r.TextOrEmpty(i, 0)},
                 {"type", r.TextOrEmpty(i, 1)},
                 {"state", r.TextOrEmpty(i, 2)},
                 {"cache_key", r.TextOrEmpty(i, 3)},
                 {"log", r.TextOrEmpty(i, 7)},
                 {"attempts", r.IntOrZero(i, 8)},
                 {"message", r.TextOrEmpty(i, 9)},
                 {"started", FormatTime(r.IntOrZero(i, 10))},
                 {"finished", FormatTime(r.IntOrZero(i, 11))}};
    ASSIGN_OR_RETURN(step["outputs"], ParseJsonColumn(r.TextOrEmpty(i, 4)));
    ASSIGN_OR_RETURN(step["metrics"], ParseJsonColumn(r.TextOrEmpty(i, 5)));
    ASSIGN_OR_RETURN(step["summary"], ParseJsonColumn(r.TextOrEmpty(i, 6)));
    steps.push_back(std::move(step));
  }
  return steps;
}

// The pipeline run `id` and its project, if the caller may act on it with `permission`; a run
// of a project the caller holds no role in is NotFound.
StatusOr<std::pair<PipelineRunRow, Project>> AuthorizePipelineRun(OpContext& ctx,
                                                                  const std::string& id,
                                                                  Permission permission) {
  auto not_found = [&] {
    return absl::NotFoundError("pipeline run '" + id.substr(0, 64) + "' not found");
  };
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query(std::string("SELECT ") + kRunColumns +
                                    ", (SELECT name FROM projects WHERE id = project_id), "
                                    "project_id FROM pipeline_runs WHERE run_id = ?",
                                {id}));
  if (r.rows.empty() || !ctx.principal.HasAnyRoleOn(r.TextOrEmpty(0, 10))) return not_found();
  ASSIGN_OR_RETURN(PipelineRunRow row, RunRowAt(r, 0));
  ASSIGN_OR_RETURN(Project p, AuthorizeProject(ctx.tx, ctx.identity, ctx.principal,
                                               ctx.audit.action, r.TextOrEmpty(0, 9), permission));
  ctx.audit.project = p.name;
  ctx.audit.resource = "pipeline_run/" + row.run_id;
  return std::make_pair(std::move(row), p);
}

Status AddEdge(OpContext& ctx, const Project& p, const std::string& from, const std::string& to,
               const std::string& relation) {
  return ctx.tx.Execute(
      "INSERT INTO lineage_edges (project_id, from_ref, to_ref, relation, created_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {p.id, from, to, relation, ctx.platform.clock()->NowMicros()});
}

StatusOr<Json> PipelineStart(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kRunWrite));
  const std::string pipeline = Str(req, "pipeline");
  const std::string spec_digest = Str(req, "spec_digest");
  if (spec_digest.rfind("sha256:", 0) != 0 || !IsHexKey(spec_digest.substr(7))) {
    return absl::InvalidArgumentError("spec_digest: expected sha256:<64 lowercase hex>");
  }
  Json params =
      req.contains("params") && req["params"].is_object() ? req["params"] : Json::object();
  // What to resume: the named run, else the latest run of this pipeline if it did not succeed.
  Json resume = Json::object();
  std::string resumed_from;
  {
    std::string requested = Str(req, "resume");
    QueryResult r;
    if (!requested.empty()) {
      ASSIGN_OR_RETURN(r, ctx.tx.Query(std::string("SELECT ") + kRunColumns +
                                           " FROM pipeline_runs WHERE run_id = ? AND "
                                           "project_id = ? AND pipeline = ?",
                                       {requested, p.id, pipeline}));
      if (r.rows.empty()) {
        return absl::NotFoundError("--resume: no run '" + requested.substr(0, 64) +
                                   "' of pipeline '" + pipeline + "' in project '" + p.name + "'");
      }
    } else {
      ASSIGN_OR_RETURN(r, ctx.tx.Query(std::string("SELECT ") + kRunColumns +
                                           " FROM pipeline_runs WHERE project_id = ? AND "
                                           "pipeline = ? ORDER BY started_at DESC LIMIT 1",
                                       {p.id, pipeline}));
    }
    if (!r.rows.empty()) {
      ASSIGN_OR_RETURN(PipelineRunRow previous, RunRowAt(r, 0));
      if (!requested.empty() || previous.state != "succeeded") {
        resumed_from = previous.run_id;
        ASSIGN_OR_RETURN(Json steps, StepsJson(ctx, previous.run_id));
        for (const Json& s : steps) {
          const std::string state = s["state"].get<std::string>();
          if (state != "succeeded" && state != "cached") continue;
          resume[s["step"].get<std::string>()] = {{"cache_key", s["cache_key"]},
                                                  {"outputs", s["outputs"]},
                                                  {"metrics", s["metrics"]},
                                                  {"summary", s["summary"]}};
        }
      }
    }
  }
  TrackingStore tracking(ctx.platform.clock());
  ASSIGN_OR_RETURN(Experiment e,
                   tracking.GetOrCreateExperiment(ctx.tx, p.id, pipeline, ctx.principal.user.name));
  ASSIGN_OR_RETURN(RunInfo run, tracking.CreateRun(ctx.tx, e.id, "", "", "pipeline:" + pipeline,
                                                   ctx.principal.user.name));
  std::vector<KeyValue> run_params;
  for (const auto& [name, value] : params.items()) {
    run_params.push_back({name, value.is_string() ? value.get<std::string>() : value.dump()});
  }
  std::vector<KeyValue> tags = {{"plinth.pipeline", pipeline}, {"plinth.spec_digest", spec_digest}};
  if (!resumed_from.empty()) tags.push_back({"plinth.resumed_from", resumed_from});
  RETURN_IF_ERROR(tracking.LogBatch(ctx.tx, run.id, run_params, {}, tags));
  const int64_t now = ctx.platform.clock()->NowMicros();
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO pipeline_runs (run_id, project_id, pipeline, spec_digest, params_json, state, "
      "message, started_at, finished_at, created_by) VALUES (?, ?, ?, ?, ?, 'running', '', ?, "
      "NULL, ?)",
      {run.id, p.id, pipeline, spec_digest, params.dump(), now, ctx.principal.user.name}));
  ctx.audit.project = p.name;
  ctx.audit.resource = "pipeline_run/" + run.id;
  ctx.audit.details = {
      {"pipeline", pipeline}, {"spec_digest", spec_digest}, {"resumed_from", resumed_from}};
  return Json{{"id", run.id},
              {"project", p.name},
              {"pipeline", pipeline},
              {"experiment", e.name},
              {"resumed_from", resumed_from.empty() ? Json(nullptr) : Json(resumed_from)},
              {"resume", resume}};
}

StatusOr<Json> PipelineCacheLookup(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  const std::string key = Str(req, "key");
  if (!IsHexKey(key)) return absl::InvalidArgumentError("key: expected 64 lowercase hex");
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT result_json, run_id FROM step_cache WHERE "
                                               "project_id = ? AND cache_key = ?",
                                               {p.id, key}));
  if (r.rows.empty()) return Json{{"key", key}, {"found", false}};
  ASSIGN_OR_RETURN(Json result, ParseJsonColumn(r.TextOrEmpty(0, 0)));
  // An entry whose outputs the project no longer holds is a miss.
  if (!RequireHeldDigests(ctx, p, result["outputs"]).ok()) {
    return Json{{"key", key}, {"found", false}};
  }
  result["key"] = key;
  result["found"] = true;
  result["run_id"] = r.TextOrEmpty(0, 1);
  return result;
}

StatusOr<Json> PipelineCacheStore(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kRunWrite));
  const std::string key = Str(req, "key");
  if (!IsHexKey(key)) return absl::InvalidArgumentError("key: expected 64 lowercase hex");
  RETURN_IF_ERROR(RequireHeldDigests(ctx, p, req["outputs"]));
  Json metrics = req.contains("metrics") ? req["metrics"] : Json::object();
  RETURN_IF_ERROR(RequireNumbers(metrics));
  const std::string run_id = Str(req, "run_id");
  ASSIGN_OR_RETURN(QueryResult owner,
                   ctx.tx.Query("SELECT 1 FROM pipeline_runs WHERE run_id = ? AND project_id = ?",
                                {run_id, p.id}));
  if (owner.rows.empty()) {
    return absl::NotFoundError("pipeline run '" + run_id.substr(0, 64) + "' not found in '" +
                               p.name + "'");
  }
  Json result = {{"outputs", req["outputs"]},
                 {"metrics", metrics.is_null() ? Json::object() : metrics},
                 {"summary", req.contains("summary") ? req["summary"] : Json(nullptr)}};
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO step_cache (project_id, cache_key, result_json, run_id, created_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, cache_key) DO UPDATE SET "
      "result_json = excluded.result_json, run_id = excluded.run_id, "
      "created_at = excluded.created_at",
      {p.id, key, result.dump(), run_id, ctx.platform.clock()->NowMicros()}));
  ctx.audit.project = p.name;
  ctx.audit.resource = "step_cache/" + key;
  ctx.audit.details = {{"run_id", run_id}, {"outputs", req["outputs"]}};
  return Json{{"key", key}, {"stored", true}};
}

StatusOr<Json> PipelineStep(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizePipelineRun(ctx, Str(req, "id"), Permission::kRunWrite));
  auto& [run, p] = found;
  if (run.state != "running") {
    return absl::FailedPreconditionError("pipeline run " + run.run_id + " has already ended (" +
                                         run.state + ")");
  }
  const std::string step = Str(req, "step");
  const std::string state = Str(req, "state");
  static const std::vector<std::string> kStates = {"succeeded", "cached", "failed", "skipped",
                                                   "cancelled"};
  if (std::find(kStates.begin(), kStates.end(), state) == kStates.end()) {
    return absl::InvalidArgumentError("state '" + state.substr(0, 32) +
                                      "': expected succeeded, cached, failed, skipped or "
                                      "cancelled");
  }
  Json outputs = req.contains("outputs") ? req["outputs"] : Json::object();
  Json inputs = req.contains("inputs") ? req["inputs"] : Json::object();
  Json metrics = req.contains("metrics") ? req["metrics"] : Json::object();
  Json summary = req.contains("summary") ? req["summary"] : Json(nullptr);
  RETURN_IF_ERROR(RequireHeldDigests(ctx, p, outputs));
  RETURN_IF_ERROR(RequireNumbers(metrics));
  const std::string log = Str(req, "log");
  if (!log.empty()) RETURN_IF_ERROR(RequireHeldDigests(ctx, p, Json{{"log", log}}));
  const int64_t now = ctx.platform.clock()->NowMicros();
  auto time_field = [&](const char* field) -> int64_t {
    std::optional<int64_t> t = ParseTime(Str(req, field));
    return t ? *t : now;
  };
  int64_t attempts = req.contains("attempts") && req["attempts"].is_number_integer()
                         ? req["attempts"].get<int64_t>()
                         : 0;
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO pipeline_steps (run_id, step, type, state, cache_key, outputs_json, "
      "metrics_json, summary_json, log_digest, attempts, message, started_at, finished_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {run.run_id, step, Str(req, "type"), state, Str(req, "cache_key"), outputs.dump(),
       metrics.is_null() ? "{}" : metrics.dump(), summary.dump(), log, attempts,
       Str(req, "message"), time_field("started"), time_field("finished")}));
  // Lineage: the run ran the step; the step read and wrote artifacts (and whatever its summary
  // names).
  const std::string execution = "execution/" + run.run_id + "/" + step;
  RETURN_IF_ERROR(AddEdge(ctx, p, "run/" + run.run_id, execution, "step"));
  if (state == "succeeded" || state == "cached") {
    if (inputs.is_object()) {
      for (const auto& [name, digest] : inputs.items()) {
        if (digest.is_string()) {
          RETURN_IF_ERROR(
              AddEdge(ctx, p, "artifact/" + digest.get<std::string>(), execution, "input"));
        }
      }
    }
    for (const auto& [name, digest] : outputs.items()) {
      RETURN_IF_ERROR(
          AddEdge(ctx, p, execution, "artifact/" + digest.get<std::string>(), "output"));
    }
    if (summary.is_object() && summary.contains("lineage") && summary["lineage"].is_array()) {
      for (const Json& edge : summary["lineage"]) {
        if (!edge.is_object() || !edge.contains("ref") || !edge["ref"].is_string()) continue;
        std::string relation = edge.contains("relation") && edge["relation"].is_string()
                                   ? edge["relation"].get<std::string>()
                                   : "output";
        const std::string ref = edge["ref"].get<std::string>().substr(0, 300);
        if (relation == "input") {
          RETURN_IF_ERROR(AddEdge(ctx, p, ref, execution, "input"));
        } else {
          RETURN_IF_ERROR(AddEdge(ctx, p, execution, ref, relation));
        }
      }
    }
  }
  ctx.audit.resource = "pipeline_run/" + run.run_id + "/" + step;
  ctx.audit.details = {{"step", step}, {"state", state}, {"outputs", outputs}};
  return Json{{"id", run.run_id}, {"step", step}, {"state", state}, {"execution", execution}};
}

StatusOr<Json> PipelineFinish(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizePipelineRun(ctx, Str(req, "id"), Permission::kRunWrite));
  auto& [run, p] = found;
  const std::string state = Str(req, "state");
  RunStatus status;
  if (state == "succeeded") {
    status = RunStatus::kFinished;
  } else if (state == "failed") {
    status = RunStatus::kFailed;
  } else if (state == "cancelled") {
    status = RunStatus::kKilled;
  } else {
    return absl::InvalidArgumentError("state '" + state.substr(0, 32) +
                                      "': expected succeeded, failed or cancelled");
  }
  if (run.state != "running") {
    return absl::FailedPreconditionError("pipeline run " + run.run_id + " has already ended (" +
                                         run.state + ")");
  }
  const int64_t now = ctx.platform.clock()->NowMicros();
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE pipeline_runs SET state = ?, message = ?, finished_at = ? WHERE run_id = ?",
      {state, Str(req, "message").substr(0, 4000), now, run.run_id}));
  TrackingStore tracking(ctx.platform.clock());
  RETURN_IF_ERROR(tracking.SetRunStatus(ctx.tx, run.run_id, status).status());
  ctx.audit.details = {{"state", state}};
  run.state = state;
  run.message = Str(req, "message").substr(0, 4000);
  run.finished_at = now;
  return RunRowJson(run, p.name);
}

StatusOr<Json> PipelineShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, AuthorizePipelineRun(ctx, Str(req, "id"), Permission::kProjectRead));
  Json out = RunRowJson(found.first, found.second.name);
  ASSIGN_OR_RETURN(out["steps"], StepsJson(ctx, found.first.run_id));
  return out;
}

StatusOr<Json> PipelineList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  const std::string pipeline = Str(req, "pipeline");
  ASSIGN_OR_RETURN(
      QueryResult r,
      pipeline.empty()
          ? ctx.tx.Query(std::string("SELECT ") + kRunColumns +
                             " FROM pipeline_runs WHERE project_id = ? "
                             "ORDER BY started_at DESC, run_id LIMIT 1000",
                         {p.id})
          : ctx.tx.Query(std::string("SELECT ") + kRunColumns +
                             " FROM pipeline_runs WHERE project_id = ? AND pipeline = ? "
                             "ORDER BY started_at DESC, run_id LIMIT 1000",
                         {p.id, pipeline}));
  Json runs = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    ASSIGN_OR_RETURN(PipelineRunRow row, RunRowAt(r, i));
    ASSIGN_OR_RETURN(QueryResult counts,
                     ctx.tx.Query("SELECT state, COUNT(*) FROM pipeline_steps WHERE run_id = ? "
                                  "GROUP BY state",
                                  {row.run_id}));
    Json out = RunRowJson(row, p.name);
    Json steps = Json::object();
    for (size_t j = 0; j < counts.rows.size(); ++j) {
      steps[counts.TextOrEmpty(j, 0)] = counts.IntOrZero(j, 1);
    }
    out["steps"] = steps;
    runs.push_back(std::move(out));
  }
  return Json{{"project", p.name}, {"runs", runs}};
}

}  // namespace

void AddPipelineHandlers(HandlerMap* handlers) {
  (*handlers)["pipeline.start"] = PipelineStart;
  (*handlers)["pipeline.cache_lookup"] = PipelineCacheLookup;
  (*handlers)["pipeline.cache_store"] = PipelineCacheStore;
  (*handlers)["pipeline.step"] = PipelineStep;
  (*handlers)["pipeline.finish"] = PipelineFinish;
  (*handlers)["pipeline.show"] = PipelineShow;
  (*handlers)["pipeline.list"] = PipelineList;
}

}  // namespace plinth
