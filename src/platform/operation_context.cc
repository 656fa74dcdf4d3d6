#include "platform/operation_context.h"

#include "absl/strings/str_join.h"
#include "core/clock.h"

namespace plinth {

std::string Str(const Json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string GrantingRoles(Permission permission) {
  std::vector<std::string> names;
  for (Role r : AllRoles()) {
    if (RoleGrants(r, permission)) names.push_back(RoleName(r));
  }
  return absl::StrJoin(names, " or ");
}

std::string DescribeBindings(const Principal& p) {
  if (p.bindings.empty()) return p.user.name + " has no roles";
  std::vector<std::string> parts;
  for (const auto& b : p.bindings) parts.push_back(RoleName(b.role) + " on " + b.project_name);
  return p.user.name + " has " + absl::StrJoin(parts, ", ");
}

Status RequirePlatformWide(const OpContext& ctx, Permission permission) {
  if (ctx.principal.CanPlatformWide(permission)) return absl::OkStatus();
  return absl::PermissionDeniedError(ctx.audit.action + " requires a platform-wide " +
                                     GrantingRoles(permission) + " role; " +
                                     DescribeBindings(ctx.principal));
}

// A project the caller holds no role in does not exist for them (NotFound); one they can see but
// not act on is PermissionDenied.
StatusOr<Project> AuthorizeProject(Transaction& tx, const IdentityStore& identity,
                                   const Principal& principal, const std::string& action,
                                   const std::string& name, Permission permission) {
  RETURN_IF_ERROR(ValidateName("project name", name));
  auto project = identity.FindProject(tx, name);
  if (absl::IsNotFound(project.status()) ||
      (project.ok() && !principal.HasAnyRoleOn(project->id))) {
    return absl::NotFoundError("project '" + name + "' not found");
  }
  RETURN_IF_ERROR(project.status());
  if (!principal.Can(permission, project->id)) {
    return absl::PermissionDeniedError(action + " on project '" + name + "' requires the " +
                                       GrantingRoles(permission) + " role; " +
                                       DescribeBindings(principal));
  }
  return *project;
}

Json TimeOrNull(const std::optional<int64_t>& micros) {
  return micros ? Json(FormatTime(*micros)) : Json(nullptr);
}

}  // namespace plinth
