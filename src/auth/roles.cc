#include "auth/roles.h"

#include <array>

namespace plinth {
namespace {

struct RoleInfo {
  Role role;
  const char* name;
};

constexpr std::array<RoleInfo, 7> kRoles = {{
    {Role::kViewer, "viewer"},
    {Role::kDataScientist, "data-scientist"},
    {Role::kValidator, "validator"},
    {Role::kApprover, "approver"},
    {Role::kDeployer, "deployer"},
    {Role::kAuditor, "auditor"},
    {Role::kAdmin, "admin"},
}};

}  // namespace

std::string RoleName(Role role) {
  for (const auto& r : kRoles) {
    if (r.role == role) return r.name;
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& r : kRoles) {
    if (name == r.name) return r.role;
  }
  return std::nullopt;
}

const std::vector<Role>& AllRoles() {
  static const std::vector<Role>* roles = new std::vector<Role>{
      Role::kViewer,   Role::kDataScientist, Role::kValidator, Role::kApprover,
      Role::kDeployer, Role::kAuditor,       Role::kAdmin};
  return *roles;
}

std::string PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kProjectCreate:
      return "project.create";
    case Permission::kProjectRead:
      return "project.read";
    case Permission::kUserManage:
      return "user.manage";
    case Permission::kTokenManageAny:
      return "token.manage";
    case Permission::kArtifactWrite:
      return "artifact.write";
    case Permission::kArtifactRead:
      return "artifact.read";
    case Permission::kAuditRead:
      return "audit.read";
    case Permission::kDatasetWrite:
      return "dataset.write";
    case Permission::kPiiRead:
      return "pii.read";
    case Permission::kDatasetValidate:
      return "dataset.validate";
    case Permission::kFeatureWrite:
      return "feature.write";
    case Permission::kFeatureMaterialize:
      return "feature.materialize";
    case Permission::kRunWrite:
      return "run.write";
    case Permission::kModelRegister:
      return "model.register";
    case Permission::kModelValidate:
      return "model.validate";
    case Permission::kModelApprove:
      return "model.approve";
    case Permission::kModelPromote:
      return "model.promote";
    case Permission::kPolicyManage:
      return "policy.manage";
    case Permission::kModelDeploy:
      return "model.deploy";
    case Permission::kDeploymentStop:
      return "deployment.stop";
    case Permission::kMonitorWrite:
      return "monitor.write";
  }
  return "unknown";
}

bool RoleGrants(Role role, Permission permission) {
  switch (permission) {
    case Permission::kProjectRead:
    case Permission::kArtifactRead:
      return true;  // every role reads the projects it is bound to
    case Permission::kArtifactWrite:
    case Permission::kDatasetWrite:
    case Permission::kFeatureWrite:
    case Permission::kRunWrite:
      return role == Role::kDataScientist;
    case Permission::kFeatureMaterialize:
      // Filling the online store is an operational step: the data scientist who owns the view
      // or the deployer who runs production may do it.
      return role == Role::kDataScientist || role == Role::kDeployer;
    case Permission::kPiiRead:
      return role == Role::kDataScientist || role == Role::kValidator || role == Role::kAuditor;
    case Permission::kDatasetValidate:
      return role == Role::kDataScientist || role == Role::kValidator;
    case Permission::kProjectCreate:
    case Permission::kUserManage:
    case Permission::kTokenManageAny:
      return role == Role::kAdmin;
    case Permission::kAuditRead:
      return role == Role::kAuditor || role == Role::kAdmin;
    case Permission::kModelRegister:
      return role == Role::kDataScientist;
    // Second line and model owners: each role plays one part, and the platform refuses the
    // author of a version and anyone who already played the other part (four eyes).
    case Permission::kModelValidate:
      return role == Role::kValidator;
    case Permission::kModelApprove:
      return role == Role::kApprover;
    // Promotion only carries out what the approvals allow, so the model's owner, its approver or
    // the deployer may run it.
    case Permission::kModelPromote:
      return role == Role::kDataScientist || role == Role::kApprover || role == Role::kDeployer;
    // Policies are the platform's rules: set by its administrators, who cannot approve models.
    case Permission::kPolicyManage:
      return role == Role::kAdmin;
    // Deploying and rolling back is the platform engineer's job; what may be deployed is decided
    // by the approvals and the deploy gate, not by the deployer.
    case Permission::kModelDeploy:
      return role == Role::kDeployer;
    // Human oversight: anyone answerable for the model in production can pull it at once.
    case Permission::kDeploymentStop:
      return role == Role::kDeployer || role == Role::kApprover || role == Role::kValidator ||
             role == Role::kAdmin;
    // Monitoring is run by the model's owners, its validators and operations.
    case Permission::kMonitorWrite:
      return role == Role::kDataScientist || role == Role::kValidator || role == Role::kDeployer;
  }
  return false;
}

}  // namespace plinth
