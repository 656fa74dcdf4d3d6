// Approvals with separation of duties, and promotion (docs/registry.md, "Approvals"):
//   approval.request   ask for a version to move to a stage (bound to its digest and the stage);
//   approval.decide    a validator's sign-off or an approver's approval; the version's authors
//                      (registrant, run owner) may do neither, and nobody plays both parts on
//                      one request, whatever roles or tokens they hold;
//   approval.reject    either part refuses, with a reason (the request is closed);
//   approval.withdraw  the request is taken back;
//   approval.list      requests of a project (open ones by default), for reviewers;
//   model.promote      carries out an approved request: the approvals the policies require for
//                      the version's risk tier, and the stage's policy gate, must pass.
// Each decision and each promotion is audited and signed (an approval attestation), and the
// version's documents are written again.
#include <set>

#include "absl/strings/str_join.h"
#include "core/clock.h"
#include "core/ids.h"
#include "platform/model_registry.h"
#include "platform/platform.h"
#include "registry/attestation.h"

namespace plinth {
namespace {

struct RequestRow {
  std::string id;
  std::string stage;
  std::string digest;
  std::string requested_by;
  int64_t requested_at = 0;
  std::string state;
};

struct DecisionRow {
  std::string decision;
  std::string actor;
  std::string role;
  int64_t at = 0;
  std::string comment;
};

Status ValidateStage(const std::string& stage) {
  if (!IsTargetStage(stage)) {
    return absl::InvalidArgumentError("stage: expected staging, production or archived, got '" +
                                      stage.substr(0, 32) + "'");
  }
  return absl::OkStatus();
}

// none -> staging -> production -> archived; archived from anywhere but archived.
Status CheckTransition(const ModelVersionRow& v, const std::string& stage) {
  bool ok = (stage == kStageStaging && v.stage == kStageNone) ||
            (stage == kStageProduction && v.stage == kStageStaging) ||
            (stage == kStageArchived && v.stage != kStageArchived);
  if (!ok) {
    std::string hint =
        stage == kStageProduction ? " (a version reaches production from staging)" : "";
    return absl::FailedPreconditionError(v.Ref() + " is in stage '" + v.stage +
                                         "' and cannot move to '" + stage + "'" + hint);
  }
  return absl::OkStatus();
}

StatusOr<std::optional<RequestRow>> OpenRequest(OpContext& ctx, const Project& p,
                                                const ModelVersionRow& v,
                                                const std::string& stage) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT id, stage, digest, requested_by, requested_at, state "
                                "FROM approval_requests WHERE project_id = ? AND name = ? AND "
                                "version = ? AND stage = ? AND state = 'open'",
                                {p.id, v.name, v.version, stage}));
  if (r.rows.empty()) return std::optional<RequestRow>();
  return std::optional<RequestRow>(RequestRow{r.TextOrEmpty(0, 0), r.TextOrEmpty(0, 1),
                                              r.TextOrEmpty(0, 2), r.TextOrEmpty(0, 3),
                                              r.IntOrZero(0, 4), r.TextOrEmpty(0, 5)});
}

StatusOr<RequestRow> RequireOpenRequest(OpContext& ctx, const Project& p, const ModelVersionRow& v,
                                        const std::string& stage) {
  ASSIGN_OR_RETURN(std::optional<RequestRow> r, OpenRequest(ctx, p, v, stage));
  if (!r) {
    return absl::NotFoundError("no open approval request for " + v.Ref() + " to " + stage +
                               " (plinth models request-approval " + v.Ref() + " --stage " + stage +
                               ")");
  }
  // Versions never change, but the binding is checked anyway: a decision is about these bytes.
  if (r->digest != v.digest) {
    return absl::FailedPreconditionError("the approval request for " + v.Ref() + " names digest " +
                                         r->digest + ", not the version's " + v.digest);
  }
  return *r;
}

StatusOr<std::vector<DecisionRow>> DecisionsOf(OpContext& ctx, const std::string& request_id) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT decision, actor, role, at, comment FROM "
                                "approval_decisions WHERE request_id = ? ORDER BY at, id",
                                {request_id}));
  std::vector<DecisionRow> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({r.TextOrEmpty(i, 0), r.TextOrEmpty(i, 1), r.TextOrEmpty(i, 2), r.IntOrZero(i, 3),
                   r.TextOrEmpty(i, 4)});
  }
  return out;
}

// What the request has, against what the policies require.
struct Tally {
  std::set<std::string> validators;
  std::set<std::string> approvers;
  policy::ApprovalRequirement required;
  bool Satisfied() const {
    return static_cast<int>(validators.size()) >= required.validators &&
           static_cast<int>(approvers.size()) >= required.approvers &&
           static_cast<int>(validators.size() + approvers.size()) >= required.approvals;
  }
  std::string Missing() const {
    std::vector<std::string> parts;
    auto need = [&](int want, size_t have, const std::string& what) {
      if (static_cast<int>(have) < want) {
        parts.push_back(std::to_string(want) + " " + what + " (has " + std::to_string(have) + ")");
      }
    };
    need(required.validators, validators.size(), "validator sign-off");
    need(required.approvers, approvers.size(), "approver approval");
    need(required.approvals, validators.size() + approvers.size(), "independent approval");
    return absl::StrJoin(parts, ", ");
  }
  Json ToJson() const {
    return {{"validators", std::vector<std::string>(validators.begin(), validators.end())},
            {"approvers", std::vector<std::string>(approvers.begin(), approvers.end())},
            {"required",
             {{"validators", required.validators},
              {"approvers", required.approvers},
              {"approvals", required.approvals}}},
            {"satisfied", Satisfied()},
            {"missing", Missing()}};
  }
};

StatusOr<Tally> TallyOf(OpContext& ctx, const Project& p, const RegisteredModel& m,
                        const std::string& request_id, const std::string& stage) {
  Tally t;
  ASSIGN_OR_RETURN(std::vector<policy::Policy> policies, CurrentPolicies(ctx, p));
  t.required = policy::RequiredApprovals(policies, stage, static_cast<int>(m.risk_tier));
  ASSIGN_OR_RETURN(std::vector<DecisionRow> decisions, DecisionsOf(ctx, request_id));
  for (const auto& d : decisions) {
    if (d.decision == "validate") t.validators.insert(d.actor);
    if (d.decision == "approve") t.approvers.insert(d.actor);
  }
  return t;
}

Json RequestJson(const RequestRow& r, const ModelVersionRow& v) {
  return {{"id", r.id},
          {"ref", v.Ref()},
          {"name", v.name},
          {"version", v.version},
          {"digest", r.digest},
          {"stage", r.stage},
          {"requested_by", r.requested_by},
          {"requested_at", FormatTime(r.requested_at)},
          {"state", r.state}};
}

// Signs an approval attestation for `decision` and writes the version's documents again.
StatusOr<std::string> AttestDecision(OpContext& ctx, const VersionInProject& vp, ModelVersionRow& v,
                                     const std::string& decision, const std::string& role,
                                     const std::string& stage, const std::string& comment,
                                     const std::string& request_id,
                                     const std::string& policy_digest) {
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, vp.project, vp.model, v));
  ASSIGN_OR_RETURN(Json documents, WriteDocuments(ctx, vp.project, v, evidence));
  registry::ApprovalInputs in;
  in.model = {vp.project.name, v.name, v.version, v.digest};
  for (const auto& [name, digest] : v.files.items()) {
    in.files.push_back({name, digest.get<std::string>()});
  }
  in.decision = decision;
  in.actor = ctx.principal.user.name;
  in.role = role;
  in.stage = stage;
  in.at = FormatTime(ctx.platform.clock()->NowMicros());
  in.comment = comment;
  in.policy_decision_digest = policy_digest;
  in.request_id = request_id;
  for (const auto& [name, digest] : documents.items()) {
    in.documents.push_back({name, digest.get<std::string>(), ""});
  }
  return StoreAttestation(ctx, vp.project, v, registry::ApprovalStatement(in),
                          std::string(registry::kApprovalPredicateType), decision + ":" + stage);
}

StatusOr<Json> ApprovalRequest(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelRegister));
  const std::string stage = Str(req, "stage");
  RETURN_IF_ERROR(ValidateStage(stage));
  RETURN_IF_ERROR(CheckTransition(vp.version, stage));
  ASSIGN_OR_RETURN(std::optional<RequestRow> open, OpenRequest(ctx, vp.project, vp.version, stage));
  if (open) {
    return absl::AlreadyExistsError("an approval request for " + vp.version.Ref() + " to " + stage +
                                    " is already open (" + open->id + ")");
  }
  RequestRow r{NewId(*ctx.platform.clock()),      stage, vp.version.digest, ctx.principal.user.name,
               ctx.platform.clock()->NowMicros(), "open"};
  RETURN_IF_ERROR(
      ctx.tx.Execute("INSERT INTO approval_requests (id, project_id, name, version, digest, stage, "
                     "requested_by, requested_at, state, closed_at, closed_by, reason) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, '', ?)",
                     {r.id, vp.project.id, vp.version.name, vp.version.version, r.digest, stage,
                      r.requested_by, r.requested_at, Str(req, "comment")}));
  ASSIGN_OR_RETURN(Tally t, TallyOf(ctx, vp.project, vp.model, r.id, stage));
  ctx.audit.details = {{"request_id", r.id}, {"stage", stage}, {"digest", r.digest}};
  Json out = RequestJson(r, vp.version);
  out["approvals"] = t.ToJson();
  return out;
}

// The part the caller plays: validator or approver, from their roles on the project (and `as`
// when they hold both).
StatusOr<std::string> PartOf(OpContext& ctx, const Project& p, const std::string& as) {
  bool can_validate = ctx.principal.Can(Permission::kModelValidate, p.id);
  bool can_approve = ctx.principal.Can(Permission::kModelApprove, p.id);
  if (!as.empty() && as != "validator" && as != "approver") {
    return absl::InvalidArgumentError("as: expected validator or approver");
  }
  if (!can_validate && !can_approve) {
    return absl::PermissionDeniedError(
        ctx.principal.user.name + " may not validate or approve models in project '" + p.name +
        "': that needs the validator or approver role (" + DescribeBindings(ctx.principal) + ")");
  }
  if (as == "validator" && !can_validate) {
    return absl::PermissionDeniedError(ctx.principal.user.name +
                                       " does not hold the validator role on '" + p.name + "'");
  }
  if (as == "approver" && !can_approve) {
    return absl::PermissionDeniedError(ctx.principal.user.name +
                                       " does not hold the approver role on '" + p.name + "'");
  }
  if (!as.empty()) return as;
  if (can_validate && can_approve) {
    return absl::InvalidArgumentError(ctx.principal.user.name +
                                      " holds both the validator and the approver role: say "
                                      "which part this is (--as validator|approver)");
  }
  return std::string(can_validate ? "validator" : "approver");
}

// Four eyes: authors never decide on their own version, and nobody decides twice on a request.
Status CheckIndependence(OpContext& ctx, const ModelVersionRow& v,
                         const std::vector<DecisionRow>& decisions) {
  const std::string& me = ctx.principal.user.name;
  if (me == v.registered_by) {
    return absl::PermissionDeniedError("four eyes: " + me + " registered " + v.Ref() +
                                       " and may not validate or approve it");
  }
  if (me == v.author) {
    return absl::PermissionDeniedError("four eyes: " + me + " owns the run that trained " +
                                       v.Ref() + " and may not validate or approve it");
  }
  for (const auto& d : decisions) {
    if (d.actor == me) {
      return absl::PermissionDeniedError(
          "four eyes: " + me + " already decided on this request (" + d.decision + " as " + d.role +
          "); the " + (d.role == "validator" ? "approver" : "validator") + " must be someone else");
    }
  }
  return absl::OkStatus();
}

StatusOr<Json> Decide(OpContext& ctx, const Json& req, bool reject) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  const std::string stage = Str(req, "stage");
  RETURN_IF_ERROR(ValidateStage(stage));
  ASSIGN_OR_RETURN(std::string part, PartOf(ctx, vp.project, Str(req, "as")));
  ASSIGN_OR_RETURN(RequestRow request, RequireOpenRequest(ctx, vp.project, vp.version, stage));
  ASSIGN_OR_RETURN(std::vector<DecisionRow> decisions, DecisionsOf(ctx, request.id));
  RETURN_IF_ERROR(CheckIndependence(ctx, vp.version, decisions));
  const std::string comment = reject ? Str(req, "reason") : Str(req, "comment");
  if (reject && comment.empty()) {
    return absl::InvalidArgumentError("reason: a rejection needs a reason (--reason)");
  }
  const std::string decision = reject ? "reject" : (part == "validator" ? "validate" : "approve");
  // The policy decision at this moment is part of what the decision was about.
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, vp.project, vp.model, vp.version));
  ASSIGN_OR_RETURN(Json gate, CheckGate(ctx, vp.project, vp.model, vp.version, evidence, stage));
  const std::string policy_digest = gate["digest"].get<std::string>();
  const int64_t now = ctx.platform.clock()->NowMicros();
  const std::string id = NewId(*ctx.platform.clock());
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO approval_decisions (id, request_id, decision, actor, token_id, role, at, "
      "comment, digest, stage, policy_decision_digest, attestation_digest) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
      {id, request.id, decision, ctx.principal.user.name, ctx.principal.token_id, part, now,
       comment, vp.version.digest, stage, policy_digest}));
  if (reject) {
    RETURN_IF_ERROR(ctx.tx.Execute(
        "UPDATE approval_requests SET state = 'rejected', closed_at = ?, closed_by = ?, "
        "reason = ? WHERE id = ?",
        {now, ctx.principal.user.name, comment, request.id}));
    request.state = "rejected";
  }
  ASSIGN_OR_RETURN(std::string attestation,
                   AttestDecision(ctx, vp, vp.version, decision, part, stage, comment, request.id,
                                  policy_digest));
  RETURN_IF_ERROR(
      ctx.tx.Execute("UPDATE approval_decisions SET attestation_digest = ? WHERE "
                     "id = ?",
                     {attestation, id}));
  ASSIGN_OR_RETURN(Tally t, TallyOf(ctx, vp.project, vp.model, request.id, stage));
  ctx.audit.details = {{"request_id", request.id},
                       {"decision", decision},
                       {"role", part},
                       {"stage", stage},
                       {"digest", vp.version.digest},
                       {"policy_decision", policy_digest},
                       {"policy_passed", gate["passed"]},
                       {"attestation", attestation}};
  Json out = RequestJson(request, vp.version);
  out["decision"] = {{"id", id},
                     {"decision", decision},
                     {"actor", ctx.principal.user.name},
                     {"role", part},
                     {"at", FormatTime(now)},
                     {"comment", comment},
                     {"attestation", attestation}};
  out["approvals"] = t.ToJson();
  out["gate"] = gate;
  return out;
}

StatusOr<Json> ApprovalDecide(OpContext& ctx, const Json& req) { return Decide(ctx, req, false); }
StatusOr<Json> ApprovalReject(OpContext& ctx, const Json& req) { return Decide(ctx, req, true); }

StatusOr<Json> ApprovalWithdraw(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelRegister));
  const std::string stage = Str(req, "stage");
  RETURN_IF_ERROR(ValidateStage(stage));
  ASSIGN_OR_RETURN(RequestRow request, RequireOpenRequest(ctx, vp.project, vp.version, stage));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE approval_requests SET state = 'withdrawn', closed_at = ?, closed_by = ?, "
      "reason = ? WHERE id = ?",
      {ctx.platform.clock()->NowMicros(), ctx.principal.user.name, Str(req, "reason"),
       request.id}));
  request.state = "withdrawn";
  ctx.audit.details = {{"request_id", request.id}, {"stage", stage}};
  return RequestJson(request, vp.version);
}

StatusOr<Json> ApprovalList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  std::string state = Str(req, "state").empty() ? "open" : Str(req, "state");
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT id, name, version, digest, stage, requested_by, "
                                "requested_at, state FROM approval_requests WHERE project_id = ? "
                                "AND (state = ? OR ? = 'all') ORDER BY requested_at",
                                {p.id, state, state}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    Json row = {{"id", r.TextOrEmpty(i, 0)},
                {"name", r.TextOrEmpty(i, 1)},
                {"version", r.IntOrZero(i, 2)},
                {"ref", r.TextOrEmpty(i, 1) + "@" + std::to_string(r.IntOrZero(i, 2))},
                {"digest", r.TextOrEmpty(i, 3)},
                {"stage", r.TextOrEmpty(i, 4)},
                {"requested_by", r.TextOrEmpty(i, 5)},
                {"requested_at", FormatTime(r.IntOrZero(i, 6))},
                {"state", r.TextOrEmpty(i, 7)}};
    ASSIGN_OR_RETURN(std::vector<DecisionRow> decisions, DecisionsOf(ctx, r.TextOrEmpty(i, 0)));
    Json ds = Json::array();
    for (const auto& d : decisions) {
      ds.push_back({{"decision", d.decision}, {"actor", d.actor}, {"role", d.role}});
    }
    row["decisions"] = ds;
    out.push_back(row);
  }
  return Json{{"project", p.name}, {"requests", out}};
}

StatusOr<Json> ModelPromote(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelPromote));
  const std::string stage = Str(req, "stage");
  RETURN_IF_ERROR(ValidateStage(stage));
  RETURN_IF_ERROR(CheckTransition(vp.version, stage));
  ASSIGN_OR_RETURN(RequestRow request, RequireOpenRequest(ctx, vp.project, vp.version, stage));
  ASSIGN_OR_RETURN(Tally t, TallyOf(ctx, vp.project, vp.model, request.id, stage));
  ctx.audit.details = {{"request_id", request.id}, {"stage", stage}, {"approvals", t.ToJson()}};
  if (!t.Satisfied()) {
    return absl::FailedPreconditionError(vp.version.Ref() + " cannot move to " + stage +
                                         ": it needs " + t.Missing() + " (risk tier " +
                                         std::to_string(vp.model.risk_tier) + ")");
  }
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, vp.project, vp.model, vp.version));
  ASSIGN_OR_RETURN(Json gate, CheckGate(ctx, vp.project, vp.model, vp.version, evidence, stage));
  ctx.audit.details["gate"] = gate;
  if (!gate["passed"].get<bool>()) {
    return absl::FailedPreconditionError("policy gate '" + stage + "' refused " + vp.version.Ref() +
                                         ": " + BlockingFailures(gate));
  }
  const int64_t now = ctx.platform.clock()->NowMicros();
  const std::string actor = ctx.principal.user.name;
  auto record = [&](int64_t version, const std::string& from, const std::string& to,
                    const std::string& attestation) {
    return ctx.tx.Execute(
        "INSERT INTO model_stage_history (id, project_id, name, version, from_stage, to_stage, "
        "at, by_user, request_id, attestation_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {NewId(*ctx.platform.clock()), vp.project.id, vp.version.name, version, from, to, now,
         actor, request.id, attestation});
  };
  // One version per stage: the one there now is archived.
  Json archived = Json::array();
  if (stage != kStageArchived) {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT version FROM model_versions WHERE project_id = ? AND "
                                  "name = ? AND stage = ? AND version <> ?",
                                  {vp.project.id, vp.version.name, stage, vp.version.version}));
    for (size_t i = 0; i < r.rows.size(); ++i) {
      RETURN_IF_ERROR(ctx.tx.Execute(
          "UPDATE model_versions SET stage = 'archived' WHERE project_id = ? AND name = ? AND "
          "version = ?",
          {vp.project.id, vp.version.name, r.IntOrZero(i, 0)}));
      RETURN_IF_ERROR(record(r.IntOrZero(i, 0), stage, kStageArchived, ""));
      archived.push_back(r.IntOrZero(i, 0));
    }
  }
  const std::string from = vp.version.stage;
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE model_versions SET stage = ? WHERE project_id = ? AND name = ? AND version = ?",
      {stage, vp.project.id, vp.version.name, vp.version.version}));
  vp.version.stage = stage;
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE approval_requests SET state = 'promoted', closed_at = ?, closed_by = ? WHERE id = ?",
      {now, actor, request.id}));
  RETURN_IF_ERROR(record(vp.version.version, from, stage, ""));
  const std::string role =
      ctx.principal.Can(Permission::kModelApprove, vp.project.id)
          ? "approver"
          : (ctx.principal.Can(Permission::kModelRegister, vp.project.id) ? "data-scientist"
                                                                          : "deployer");
  ASSIGN_OR_RETURN(std::string attestation,
                   AttestDecision(ctx, vp, vp.version, "promote", role, stage, "", request.id,
                                  gate["digest"].get<std::string>()));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE model_stage_history SET attestation_digest = ? WHERE project_id = ? AND name = ? "
      "AND version = ? AND request_id = ? AND to_stage = ?",
      {attestation, vp.project.id, vp.version.name, vp.version.version, request.id, stage}));
  ctx.audit.details["from"] = from;
  ctx.audit.details["archived"] = archived;
  ctx.audit.details["attestation"] = attestation;
  return Json{{"ref", vp.version.Ref()},
              {"name", vp.version.name},
              {"version", vp.version.version},
              {"from", from},
              {"stage", stage},
              {"archived", archived},
              {"request_id", request.id},
              {"approvals", t.ToJson()},
              {"gate", gate},
              {"attestation", attestation}};
}

}  // namespace

void AddApprovalHandlers(HandlerMap* handlers) {
  (*handlers)["approval.request"] = ApprovalRequest;
  (*handlers)["approval.decide"] = ApprovalDecide;
  (*handlers)["approval.reject"] = ApprovalReject;
  (*handlers)["approval.withdraw"] = ApprovalWithdraw;
  (*handlers)["approval.list"] = ApprovalList;
  (*handlers)["model.promote"] = ModelPromote;
}

}  // namespace plinth
