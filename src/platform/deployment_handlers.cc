// Deployments (docs/deployments.md): which approved version serves a model in an environment.
//
//   deployment.create    deploy NAME@V to staging or production: the version must be approved
//                        for that stage (staging: in staging or production; production: in
//                        production), every file and attestation must verify, and the project's
//                        `deploy` policy gate must pass. With canary_percent, V takes that share of
//                        the traffic beside the primary; with shadow, V is scored beside the
//                        primary and its results only logged.
//   deployment.rollback  drops a canary or shadow if there is one; otherwise the primary goes back
//                        to the version that served before it (which must still verify).
//   deployment.stop      human oversight: the environment stops serving the model at once.
//   deployment.list      deployments the caller can see, with a generation number per row that
//                        grows on every change (serving processes poll it).
//   deployment.resolve   what an environment serves now, each version verified again, for
//                        `plinth serve`.
// Every change is audited and adds a deployment_history row (model.history shows them).
#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "platform/model_registry.h"
#include "platform/platform.h"

namespace plinth {
namespace {

constexpr const char* kActive = "active";
constexpr const char* kStopped = "stopped";

struct DeploymentRow {
  std::string id;
  std::string project_id;
  std::string project;
  std::string name;
  std::string environment;
  int64_t version = 0;
  std::string digest;
  int64_t canary_version = 0;
  std::string canary_digest;
  int64_t canary_percent = 0;
  int64_t shadow_version = 0;
  std::string shadow_digest;
  std::string state;
  int64_t generation = 0;
  int64_t updated_at = 0;
  std::string updated_by;
  std::string reason;

  Json ToJson() const {
    Json j = {{"id", id},
              {"project", project},
              {"name", name},
              {"environment", environment},
              {"version", version},
              {"ref", name + "@" + std::to_string(version)},
              {"digest", digest},
              {"state", state},
              {"generation", generation},
              {"updated_at", FormatTime(updated_at)},
              {"updated_by", updated_by},
              {"reason", reason}};
    j["canary"] = canary_version == 0 ? Json(nullptr)
                                      : Json{{"version", canary_version},
                                             {"digest", canary_digest},
                                             {"percent", canary_percent}};
    j["shadow"] = shadow_version == 0
                      ? Json(nullptr)
                      : Json{{"version", shadow_version}, {"digest", shadow_digest}};
    return j;
  }
};

constexpr const char* kDeploymentColumns =
    "d.id, d.project_id, p.name, d.name, d.environment, d.version, d.digest, d.canary_version, "
    "d.canary_digest, d.canary_percent, d.shadow_version, d.shadow_digest, d.state, "
    "d.generation, d.updated_at, d.updated_by, d.reason";

std::vector<DeploymentRow> DeploymentRows(const QueryResult& r) {
  std::vector<DeploymentRow> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    DeploymentRow d;
    d.id = r.TextOrEmpty(i, 0);
    d.project_id = r.TextOrEmpty(i, 1);
    d.project = r.TextOrEmpty(i, 2);
    d.name = r.TextOrEmpty(i, 3);
    d.environment = r.TextOrEmpty(i, 4);
    d.version = r.IntOrZero(i, 5);
    d.digest = r.TextOrEmpty(i, 6);
    d.canary_version = r.IntOrZero(i, 7);
    d.canary_digest = r.TextOrEmpty(i, 8);
    d.canary_percent = r.IntOrZero(i, 9);
    d.shadow_version = r.IntOrZero(i, 10);
    d.shadow_digest = r.TextOrEmpty(i, 11);
    d.state = r.TextOrEmpty(i, 12);
    d.generation = r.IntOrZero(i, 13);
    d.updated_at = r.IntOrZero(i, 14);
    d.updated_by = r.TextOrEmpty(i, 15);
    d.reason = r.TextOrEmpty(i, 16);
    out.push_back(std::move(d));
  }
  return out;
}

Status ValidateEnvironment(const std::string& env) {
  if (env != kStageStaging && env != kStageProduction) {
    return absl::InvalidArgumentError("environment: expected staging or production, got '" +
                                      env.substr(0, 32) + "'");
  }
  return absl::OkStatus();
}

StatusOr<std::optional<DeploymentRow>> FindDeployment(OpContext& ctx, const Project& p,
                                                      const std::string& name,
                                                      const std::string& env) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query(std::string("SELECT ") + kDeploymentColumns +
                                    " FROM deployments d JOIN projects p ON p.id = d.project_id "
                                    "WHERE d.project_id = ? AND d.name = ? AND d.environment = ?",
                                {p.id, name, env}));
  std::vector<DeploymentRow> rows = DeploymentRows(r);
  if (rows.empty()) return std::optional<DeploymentRow>();
  return std::optional<DeploymentRow>(std::move(rows[0]));
}

// Whether `version` may serve in `env`: approved for that stage, every byte and signature intact,
// and the deploy gate passed. Returns the gate result for the audit record.
StatusOr<Json> CheckDeployable(OpContext& ctx, const Project& p, const RegisteredModel& model,
                               const ModelVersionRow& version, const std::string& env,
                               bool rollback) {
  const bool approved = env == kStageStaging
                            ? (version.stage == kStageStaging || version.stage == kStageProduction)
                            : version.stage == kStageProduction;
  // A rollback returns to a version that served here before: it was approved then, and may have
  // been archived since by the promotion it is rolling back from.
  if (!approved && !(rollback && version.stage == kStageArchived)) {
    return absl::FailedPreconditionError(
        version.Ref() + " is in stage '" + version.stage + "' and is not approved for " + env +
        " (approve and promote it first: plinth models request-approval " + version.Ref() +
        " --stage " + env + ")");
  }
  RETURN_IF_ERROR(VerifyVersion(ctx, p, version).status());
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, p, model, version));
  ASSIGN_OR_RETURN(Json gate, CheckGate(ctx, p, model, version, evidence, "deploy"));
  if (!gate["passed"].get<bool>()) {
    return absl::FailedPreconditionError("policy gate 'deploy' refused " + version.Ref() + ": " +
                                         BlockingFailures(gate));
  }
  return gate;
}

// Writes `d` (insert or update, generation + 1) and its history row.
Status SaveDeployment(OpContext& ctx, DeploymentRow& d, const std::string& action, bool insert) {
  const int64_t now = ctx.platform.clock()->NowMicros();
  d.updated_at = now;
  d.updated_by = ctx.principal.user.name;
  d.generation += 1;
  if (insert) {
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO deployments (id, project_id, name, environment, version, digest, "
        "canary_version, canary_digest, canary_percent, shadow_version, shadow_digest, state, "
        "generation, updated_at, updated_by, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?)",
        {d.id, d.project_id, d.name, d.environment, d.version, d.digest, d.canary_version,
         d.canary_digest, d.canary_percent, d.shadow_version, d.shadow_digest, d.state,
         d.generation, d.updated_at, d.updated_by, d.reason}));
  } else {
    RETURN_IF_ERROR(ctx.tx.Execute(
        "UPDATE deployments SET version = ?, digest = ?, canary_version = ?, canary_digest = ?, "
        "canary_percent = ?, shadow_version = ?, shadow_digest = ?, state = ?, generation = ?, "
        "updated_at = ?, updated_by = ?, reason = ? WHERE id = ?",
        {d.version, d.digest, d.canary_version, d.canary_digest, d.canary_percent, d.shadow_version,
         d.shadow_digest, d.state, d.generation, d.updated_at, d.updated_by, d.reason, d.id}));
  }
  return ctx.tx.Execute(
      "INSERT INTO deployment_history (id, project_id, name, environment, action, version, "
      "canary_version, canary_percent, shadow_version, state, at, by_user, reason) VALUES (?, "
      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {NewId(*ctx.platform.clock()), d.project_id, d.name, d.environment, action, d.version,
       d.canary_version, d.canary_percent, d.shadow_version, d.state, now, d.updated_by, d.reason});
}

StatusOr<Json> DeploymentCreate(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelDeploy));
  const std::string env = Str(req, "environment");
  RETURN_IF_ERROR(ValidateEnvironment(env));
  const int64_t canary = req.contains("canary_percent") && req["canary_percent"].is_number_integer()
                             ? req["canary_percent"].get<int64_t>()
                             : 0;
  const bool shadow = req.contains("shadow") && req["shadow"].is_boolean() && req["shadow"];
  if (canary < 0 || canary > 99) {
    return absl::InvalidArgumentError(
        "canary_percent: expected 1 to 99 (0 or absent deploys the "
        "version for all traffic), got " +
        std::to_string(canary));
  }
  if (canary > 0 && shadow) {
    return absl::InvalidArgumentError(
        "a version is deployed either as a canary or as a shadow, "
        "not both");
  }
  ctx.audit.details = {{"environment", env}, {"canary_percent", canary}, {"shadow", shadow}};
  ASSIGN_OR_RETURN(Json gate,
                   CheckDeployable(ctx, vp.project, vp.model, vp.version, env, /*rollback=*/false));
  ctx.audit.details["gate"] = gate["digest"];
  ASSIGN_OR_RETURN(std::optional<DeploymentRow> found,
                   FindDeployment(ctx, vp.project, vp.version.name, env));
  const bool insert = !found.has_value();
  DeploymentRow d;
  if (found) d = *found;
  d.reason = Str(req, "reason");
  std::string action;
  if (canary > 0 || shadow) {
    if (!found || found->state != kActive) {
      return absl::FailedPreconditionError(
          "a canary or shadow runs beside a version already serving " + vp.version.name + " in " +
          env + "; deploy one first (plinth deploy " + vp.version.Ref() + " --env " + env + ")");
    }
    if (found->version == vp.version.version) {
      return absl::FailedPreconditionError(vp.version.Ref() + " already serves all of " + env);
    }
    if (canary > 0) {
      d.canary_version = vp.version.version;
      d.canary_digest = vp.version.digest;
      d.canary_percent = canary;
      action = "canary";
    } else {
      d.shadow_version = vp.version.version;
      d.shadow_digest = vp.version.digest;
      action = "shadow";
    }
  } else {
    if (insert) {
      d.id = NewId(*ctx.platform.clock());
      d.project_id = vp.project.id;
      d.project = vp.project.name;
      d.name = vp.version.name;
      d.environment = env;
    }
    d.version = vp.version.version;
    d.digest = vp.version.digest;
    d.canary_version = 0;
    d.canary_digest = "";
    d.canary_percent = 0;
    d.shadow_version = 0;
    d.shadow_digest = "";
    d.state = kActive;
    action = "deploy";
  }
  if (found) ctx.audit.details["previous"] = found->ToJson();
  RETURN_IF_ERROR(SaveDeployment(ctx, d, action, insert));
  ctx.audit.resource = "deployment/" + d.name + "/" + env;
  Json out = d.ToJson();
  out["action"] = action;
  return out;
}

StatusOr<DeploymentRow> RequireDeployment(OpContext& ctx, const Json& req, Permission permission,
                                          Project* project) {
  ASSIGN_OR_RETURN(*project, AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                              Str(req, "project"), permission));
  ctx.audit.project = project->name;
  const std::string name = Str(req, "name");
  const std::string env = Str(req, "environment");
  RETURN_IF_ERROR(ValidateEnvironment(env));
  ctx.audit.resource = "deployment/" + name.substr(0, 64) + "/" + env;
  ASSIGN_OR_RETURN(std::optional<DeploymentRow> d, FindDeployment(ctx, *project, name, env));
  if (!d) {
    return absl::NotFoundError("model '" + name.substr(0, 64) + "' is not deployed to " + env +
                               " in project " + project->name);
  }
  return *d;
}

StatusOr<Json> DeploymentRollback(OpContext& ctx, const Json& req) {
  Project p;
  ASSIGN_OR_RETURN(DeploymentRow d, RequireDeployment(ctx, req, Permission::kModelDeploy, &p));
  Json previous = d.ToJson();
  ctx.audit.details = {{"previous", previous}};
  d.reason = Str(req, "reason");
  if (d.canary_version != 0 || d.shadow_version != 0) {
    // A canary or shadow is the newest change: rolling back ends it, the primary keeps serving.
    d.canary_version = d.shadow_version = d.canary_percent = 0;
    d.canary_digest.clear();
    d.shadow_digest.clear();
  } else {
    // The version that served all traffic here before the current one.
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT version FROM deployment_history WHERE project_id = ? "
                                  "AND name = ? AND environment = ? AND action IN ('deploy', "
                                  "'rollback') AND version <> ? ORDER BY at DESC, id DESC",
                                  {p.id, d.name, d.environment, d.version}));
    if (r.rows.empty()) {
      return absl::FailedPreconditionError(d.name + " in " + d.environment +
                                           " has no earlier version to roll back to (stop it "
                                           "instead: plinth deploy stop " +
                                           d.name + " --env " + d.environment + ")");
    }
    ASSIGN_OR_RETURN(RegisteredModel model, FindModel(ctx, p, d.name));
    ASSIGN_OR_RETURN(ModelVersionRow v,
                     FindModelVersion(ctx, p, d.name, std::to_string(r.IntOrZero(0, 0))));
    RETURN_IF_ERROR(CheckDeployable(ctx, p, model, v, d.environment, /*rollback=*/true).status());
    d.version = v.version;
    d.digest = v.digest;
  }
  d.state = kActive;
  RETURN_IF_ERROR(SaveDeployment(ctx, d, "rollback", false));
  Json out = d.ToJson();
  out["action"] = "rollback";
  out["previous"] = previous;
  return out;
}

StatusOr<Json> DeploymentStop(OpContext& ctx, const Json& req) {
  Project p;
  ASSIGN_OR_RETURN(DeploymentRow d, RequireDeployment(ctx, req, Permission::kDeploymentStop, &p));
  if (Str(req, "reason").empty()) {
    return absl::InvalidArgumentError("reason: say why the model is stopped (it is audited)");
  }
  ctx.audit.details = {{"previous", d.ToJson()}};
  if (d.state == kStopped) {
    return absl::FailedPreconditionError(d.name + " in " + d.environment + " is already stopped");
  }
  d.state = kStopped;
  d.reason = Str(req, "reason");
  RETURN_IF_ERROR(SaveDeployment(ctx, d, "stop", false));
  Json out = d.ToJson();
  out["action"] = "stop";
  return out;
}

// Deployments of the projects the caller holds a role in, optionally of one environment.
StatusOr<std::vector<DeploymentRow>> VisibleDeployments(OpContext& ctx, const std::string& env,
                                                        const std::string& project) {
  if (!env.empty()) RETURN_IF_ERROR(ValidateEnvironment(env));
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query(std::string("SELECT ") + kDeploymentColumns +
                                    " FROM deployments d JOIN projects p ON p.id = d.project_id "
                                    "WHERE (d.environment = ? OR ? = '') AND (p.name = ? OR ? = "
                                    "'') ORDER BY d.environment, p.name, d.name",
                                {env, env, project, project}));
  std::vector<DeploymentRow> out;
  for (DeploymentRow& d : DeploymentRows(r)) {
    if (ctx.principal.HasAnyRoleOn(d.project_id)) out.push_back(std::move(d));
  }
  return out;
}

StatusOr<Json> DeploymentList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(std::vector<DeploymentRow> rows,
                   VisibleDeployments(ctx, Str(req, "environment"), Str(req, "project")));
  Json out = Json::array();
  for (const auto& d : rows) out.push_back(d.ToJson());
  return Json{{"deployments", out}};
}

// One version as a serving process loads it: its files by artifact digest, verified again now.
StatusOr<Json> ServingVersion(OpContext& ctx, const Project& p, const std::string& name,
                              int64_t version, const std::string& digest) {
  ASSIGN_OR_RETURN(ModelVersionRow v, FindModelVersion(ctx, p, name, std::to_string(version)));
  if (v.digest != digest) {
    return absl::DataLossError(v.Ref() + " has digest " + v.digest + " but was deployed as " +
                               digest);
  }
  ASSIGN_OR_RETURN(Json verified, VerifyVersion(ctx, p, v));
  Json out = {{"version", v.version},
              {"ref", v.Ref()},
              {"digest", v.digest},
              {"kind", v.kind},
              {"files", v.files},
              {"stage", v.stage},
              {"verified", verified["attestations"].size()}};
  // Trained on a feature service's training set: rows may be looked up by entity id.
  const Json* datasets = nullptr;
  if (v.manifest.contains("lineage") && v.manifest["lineage"].contains("datasets")) {
    datasets = &v.manifest["lineage"]["datasets"];
  }
  if (datasets != nullptr && datasets->is_array() && !datasets->empty()) {
    const Json& d = (*datasets)[0];
    ASSIGN_OR_RETURN(Json service, ServingFeatureService(
                                       ctx, p, d.value("name", "") + "@" + d.value("version", "")));
    if (!service.is_null()) out["feature_service"] = std::move(service);
  }
  return out;
}

StatusOr<Json> DeploymentResolve(OpContext& ctx, const Json& req) {
  const std::string env = Str(req, "environment");
  RETURN_IF_ERROR(ValidateEnvironment(env));
  ASSIGN_OR_RETURN(std::vector<DeploymentRow> rows, VisibleDeployments(ctx, env, ""));
  Json out = Json::array();
  for (const auto& d : rows) {
    Json entry = d.ToJson();
    if (d.state != kActive) {
      out.push_back(entry);
      continue;
    }
    Project p{d.project_id, d.project, 0, ""};
    // A version that fails verification is reported, never handed out for serving.
    auto add = [&](const char* role, int64_t version, const std::string& digest) {
      if (version == 0) return;
      auto v = ServingVersion(ctx, p, d.name, version, digest);
      if (v.ok()) {
        entry["serving"][role] = *v;
      } else {
        entry["errors"].push_back(
            {{"role", role}, {"version", version}, {"error", std::string(v.status().message())}});
      }
    };
    add("primary", d.version, d.digest);
    add("canary", d.canary_version, d.canary_digest);
    add("shadow", d.shadow_version, d.shadow_digest);
    out.push_back(entry);
  }
  return Json{{"environment", env}, {"deployments", out}};
}

}  // namespace

void AddDeploymentHandlers(HandlerMap* handlers) {
  (*handlers)["deployment.create"] = DeploymentCreate;
  (*handlers)["deployment.rollback"] = DeploymentRollback;
  (*handlers)["deployment.stop"] = DeploymentStop;
  (*handlers)["deployment.list"] = DeploymentList;
  (*handlers)["deployment.resolve"] = DeploymentResolve;
}

}  // namespace plinth
