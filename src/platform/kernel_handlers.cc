// Handlers of the kernel's operations: identity (projects, users, tokens), artifact listing and
// the audit chain. Artifact bytes and audit exports have their own entry points in platform.cc.
#include "absl/strings/str_join.h"
#include "core/clock.h"
#include "core/random.h"
#include "platform/operation_context.h"
#include "platform/platform.h"

namespace plinth {
namespace {

Json BindingsJson(const std::vector<RoleBinding>& bindings) {
  Json roles = Json::array();
  for (const auto& b : bindings) {
    roles.push_back({{"role", RoleName(b.role)}, {"project", b.project_name}});
  }
  return roles;
}

Json TokenJson(const TokenInfo& t) {
  std::string state = t.revoked_at ? "revoked" : "active";
  return {{"id", t.id},
          {"user", t.user},
          {"created", FormatTime(t.created_at)},
          {"expires", TimeOrNull(t.expires_at)},
          {"revoked", TimeOrNull(t.revoked_at)},
          {"created_by", t.created_by}};
}

StatusOr<Role> RoleFromRequest(const Json& request) {
  std::string name = Str(request, "role");
  auto role = ParseRole(name);
  if (!role) {
    std::vector<std::string> names;
    for (Role r : AllRoles()) names.push_back(RoleName(r));
    return absl::InvalidArgumentError("unknown role '" + name.substr(0, 64) +
                                      "'; expected one of: " + absl::StrJoin(names, ", "));
  }
  return *role;
}

// The project a role is bound to: the named project, or every project when none is named.
StatusOr<std::pair<std::string, std::string>> BindingProject(OpContext& ctx, const Json& request) {
  std::string name = Str(request, "project");
  if (name.empty() || name == kAllProjects) {
    return std::make_pair(std::string(kAllProjects), std::string(kAllProjects));
  }
  ASSIGN_OR_RETURN(Project p, ctx.identity.FindProject(ctx.tx, name));
  return std::make_pair(p.id, p.name);
}

StatusOr<Json> Whoami(OpContext& ctx, const Json&) {
  return Json{{"user", ctx.principal.user.name}, {"roles", BindingsJson(ctx.principal.bindings)}};
}

StatusOr<Json> ProjectCreate(OpContext& ctx, const Json& req) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kProjectCreate));
  ASSIGN_OR_RETURN(Project p,
                   ctx.identity.CreateProject(ctx.tx, Str(req, "name"), ctx.principal.user.name));
  ctx.audit.project = p.name;
  ctx.audit.resource = "project/" + p.name;
  return Json{{"id", p.id}, {"name", p.name}, {"created", FormatTime(p.created_at)}};
}

StatusOr<Json> ProjectList(OpContext& ctx, const Json&) {
  ASSIGN_OR_RETURN(std::vector<Project> all, ctx.identity.ListProjects(ctx.tx));
  Json out = Json::array();
  for (const auto& p : all) {
    if (!ctx.principal.HasAnyRoleOn(p.id)) continue;
    out.push_back({{"id", p.id},
                   {"name", p.name},
                   {"created", FormatTime(p.created_at)},
                   {"created_by", p.created_by}});
  }
  return Json{{"projects", out}};
}

StatusOr<Json> GrantRole(OpContext& ctx, const User& user, const Json& req) {
  ASSIGN_OR_RETURN(Role role, RoleFromRequest(req));
  ASSIGN_OR_RETURN(auto project, BindingProject(ctx, req));
  RETURN_IF_ERROR(ctx.identity.Bind(ctx.tx, user.id, project.first, role));
  ctx.audit.project = project.second == kAllProjects ? "" : project.second;
  ctx.audit.resource = "user/" + user.name;
  ctx.audit.details = {{"user", user.name}, {"role", RoleName(role)}, {"project", project.second}};
  ASSIGN_OR_RETURN(auto bindings, ctx.identity.BindingsOf(ctx.tx, user.id));
  return Json{{"id", user.id}, {"name", user.name}, {"roles", BindingsJson(bindings)}};
}

StatusOr<Json> UserCreate(OpContext& ctx, const Json& req) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kUserManage));
  ASSIGN_OR_RETURN(User user,
                   ctx.identity.CreateUser(ctx.tx, Str(req, "name"), ctx.principal.user.name));
  return GrantRole(ctx, user, req);
}

StatusOr<Json> UserGrant(OpContext& ctx, const Json& req) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kUserManage));
  ASSIGN_OR_RETURN(User user, ctx.identity.FindUser(ctx.tx, Str(req, "name")));
  return GrantRole(ctx, user, req);
}

StatusOr<Json> UserList(OpContext& ctx, const Json&) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kUserManage));
  ASSIGN_OR_RETURN(auto users, ctx.identity.ListUsers(ctx.tx));
  Json out = Json::array();
  for (const auto& u : users) {
    ASSIGN_OR_RETURN(auto bindings, ctx.identity.BindingsOf(ctx.tx, u.id));
    out.push_back({{"id", u.id},
                   {"name", u.name},
                   {"created", FormatTime(u.created_at)},
                   {"roles", BindingsJson(bindings)}});
  }
  return Json{{"users", out}};
}

StatusOr<Json> TokenCreate(OpContext& ctx, const Json& req) {
  std::string user_name = Str(req, "user");
  if (user_name != ctx.principal.user.name) {
    RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kTokenManageAny));
  }
  int64_t ttl = 0;
  std::string ttl_text = Str(req, "ttl");
  if (!ttl_text.empty()) {
    auto parsed = ParseDuration(ttl_text);
    if (!parsed) {
      return absl::InvalidArgumentError("ttl '" + ttl_text.substr(0, 32) +
                                        "' is not a duration; expected e.g. 90s, 15m, 1h or 30d");
    }
    ttl = *parsed;
  }
  ASSIGN_OR_RETURN(User user, ctx.identity.FindUser(ctx.tx, user_name));
  ASSIGN_OR_RETURN(IssuedToken issued,
                   ctx.identity.CreateToken(ctx.tx, user, ttl, ctx.principal.user.name));
  ctx.audit.resource = "token/" + issued.info.id;
  ctx.audit.details = {{"token_id", issued.info.id},
                       {"user", user.name},
                       {"expires", TimeOrNull(issued.info.expires_at)}};
  return Json{{"id", issued.info.id},
              {"token", issued.token},
              {"user", user.name},
              {"expires", TimeOrNull(issued.info.expires_at)}};
}

StatusOr<Json> TokenList(OpContext& ctx, const Json&) {
  bool all = ctx.principal.CanPlatformWide(Permission::kTokenManageAny);
  ASSIGN_OR_RETURN(auto tokens, ctx.identity.ListTokens(ctx.tx, all ? "" : ctx.principal.user.id));
  Json out = Json::array();
  for (const auto& t : tokens) out.push_back(TokenJson(t));
  return Json{{"tokens", out}};
}

StatusOr<Json> TokenRevoke(OpContext& ctx, const Json& req) {
  std::string id = Str(req, "id");
  auto token = ctx.identity.FindToken(ctx.tx, id);
  bool admin = ctx.principal.CanPlatformWide(Permission::kTokenManageAny);
  // Another user's token does not exist for a non-admin.
  if (absl::IsNotFound(token.status()) ||
      (token.ok() && !admin && token->user != ctx.principal.user.name)) {
    return absl::NotFoundError("token '" + id.substr(0, 64) + "' not found");
  }
  RETURN_IF_ERROR(token.status());
  RETURN_IF_ERROR(ctx.identity.RevokeToken(ctx.tx, id));
  ctx.audit.resource = "token/" + id;
  ctx.audit.details = {{"token_id", id}, {"user", token->user}};
  ASSIGN_OR_RETURN(TokenInfo after, ctx.identity.FindToken(ctx.tx, id));
  return TokenJson(after);
}

StatusOr<Json> ArtifactList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kArtifactRead));
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT digest, size, created_at, created_by FROM artifacts "
                                "WHERE project_id = ? ORDER BY created_at, digest",
                                {p.id}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({{"digest", r.TextOrEmpty(i, 0)},
                   {"size", r.IntOrZero(i, 1)},
                   {"created", FormatTime(r.IntOrZero(i, 2))},
                   {"created_by", r.TextOrEmpty(i, 3)}});
  }
  return Json{{"project", p.name}, {"artifacts", out}};
}

StatusOr<Json> AuditTail(OpContext& ctx, const Json& req) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kAuditRead));
  int64_t n = req.contains("n") && req["n"].is_number_integer() ? req["n"].get<int64_t>() : 20;
  if (n < 1 || n > 10000) return absl::InvalidArgumentError("n must be between 1 and 10000");
  ASSIGN_OR_RETURN(auto records, ctx.platform.audit().Tail(ctx.tx, static_cast<int>(n)));
  return Json{{"records", records}};
}

StatusOr<Json> AuditVerify(OpContext& ctx, const Json&) {
  RETURN_IF_ERROR(RequirePlatformWide(ctx, Permission::kAuditRead));
  Platform* platform = &ctx.platform;
  ctx.after_transaction = [platform]() -> StatusOr<Json> {
    ASSIGN_OR_RETURN(AuditVerifyReport report, platform->audit().VerifyStore(platform->store()));
    return Json{{"ok", report.ok},
                {"records", report.records},
                {"checkpoints", report.checkpoints},
                {"first_bad_seq", report.first_bad_seq},
                {"reason", report.reason}};
  };
  return Json::object();
}

StatusOr<Json> AuditKey(OpContext& ctx, const Json&) {
  const SigningKey& key = ctx.platform.signing_key();
  return Json{{"algorithm", "ed25519"},
              {"key_id", key.KeyId()},
              {"public_key", HexEncode(key.public_key())}};
}

}  // namespace

void AddKernelHandlers(HandlerMap* handlers) {
  (*handlers)["whoami"] = Whoami;
  (*handlers)["project.create"] = ProjectCreate;
  (*handlers)["project.list"] = ProjectList;
  (*handlers)["user.create"] = UserCreate;
  (*handlers)["user.grant"] = UserGrant;
  (*handlers)["user.list"] = UserList;
  (*handlers)["token.create"] = TokenCreate;
  (*handlers)["token.list"] = TokenList;
  (*handlers)["token.revoke"] = TokenRevoke;
  (*handlers)["artifact.list"] = ArtifactList;
  (*handlers)["audit.tail"] = AuditTail;
  (*handlers)["audit.verify"] = AuditVerify;
  (*handlers)["audit.key"] = AuditKey;
}

}  // namespace plinth
