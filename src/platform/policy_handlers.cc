// Policies as code (docs/policies.md):
//   policy.apply   a policy (YAML, or the built-in credit pack) for a project; a changed policy
//                  is a new row, the same content again changes nothing;
//   policy.list    the project's current policies;
//   policy.check   every current policy at a gate over a version's evidence; the decision is
//                  recorded with the policy's digest (a failing check is a result, not an error:
//                  the CLI exits 5 on a blocking failure).
#include "core/clock.h"
#include "core/sha256.h"
#include "platform/model_registry.h"
#include "platform/platform.h"

namespace plinth {
namespace {

StatusOr<Json> PolicyApply(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kPolicyManage));
  ctx.audit.project = p.name;
  std::string yaml = Str(req, "yaml");
  std::string file = Str(req, "file").empty() ? "policy.yaml" : Str(req, "file");
  const std::string builtin = Str(req, "builtin");
  if (!builtin.empty()) {
    if (builtin != "credit") {
      return absl::InvalidArgumentError("builtin: the built-in policy packs are: credit");
    }
    yaml = policy::BuiltinCreditPolicyYaml();
    file = "builtin:credit";
  }
  if (yaml.empty()) {
    return absl::InvalidArgumentError("policy.apply needs yaml (the policy's text) or builtin");
  }
  ASSIGN_OR_RETURN(policy::Policy pol, policy::ParsePolicy(yaml, file));
  const std::string digest = pol.Digest();
  ctx.audit.resource = "policy/" + pol.name;
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT seq, digest FROM policies WHERE project_id = ? AND "
                                "name = ? ORDER BY seq DESC LIMIT 1",
                                {p.id, pol.name}));
  int64_t seq = r.rows.empty() ? 0 : r.IntOrZero(0, 0);
  bool changed = r.rows.empty() || r.TextOrEmpty(0, 1) != digest;
  if (changed) {
    ++seq;
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO policies (project_id, name, seq, digest, policy_json, source, applied_by, "
        "applied_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {p.id, pol.name, seq, digest, pol.ToJson().dump(), file, ctx.principal.user.name,
         ctx.platform.clock()->NowMicros()}));
  }
  ctx.audit.details = {{"digest", digest}, {"seq", seq}, {"changed", changed}, {"source", file}};
  return Json{{"project", p.name}, {"name", pol.name},   {"digest", digest},
              {"seq", seq},        {"changed", changed}, {"rules", pol.rules.size()}};
}

StatusOr<Json> PolicyList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT name, seq, digest, policy_json, source, applied_by, "
                                "applied_at FROM policies WHERE project_id = ? ORDER BY name, seq",
                                {p.id}));
  std::map<std::string, Json> latest;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    Json policy = Json::parse(r.TextOrEmpty(i, 3), nullptr, false);
    latest[r.TextOrEmpty(i, 0)] = {{"name", r.TextOrEmpty(i, 0)},
                                   {"seq", r.IntOrZero(i, 1)},
                                   {"digest", r.TextOrEmpty(i, 2)},
                                   {"policy", policy},
                                   {"source", r.TextOrEmpty(i, 4)},
                                   {"applied_by", r.TextOrEmpty(i, 5)},
                                   {"applied_at", FormatTime(r.IntOrZero(i, 6))}};
  }
  Json out = Json::array();
  for (auto& [name, row] : latest) out.push_back(row);
  return Json{{"project", p.name}, {"policies", out}};
}

StatusOr<Json> PolicyCheck(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  const std::string gate = Str(req, "gate");
  if (!policy::IsGate(gate)) {
    return absl::InvalidArgumentError(
        "gate: expected register, staging, production or deploy, "
        "got '" +
        gate.substr(0, 32) + "'");
  }
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, vp.project, vp.model, vp.version));
  ASSIGN_OR_RETURN(Json result, CheckGate(ctx, vp.project, vp.model, vp.version, evidence, gate));
  ctx.audit.details = {{"gate", gate}, {"passed", result["passed"]}, {"digest", result["digest"]}};
  result["ref"] = vp.version.Ref();
  result["project"] = vp.project.name;
  return result;
}

}  // namespace

void AddPolicyHandlers(HandlerMap* handlers) {
  (*handlers)["policy.apply"] = PolicyApply;
  (*handlers)["policy.list"] = PolicyList;
  (*handlers)["policy.check"] = PolicyCheck;
}

}  // namespace plinth
