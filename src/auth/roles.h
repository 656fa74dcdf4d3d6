// Roles and permissions: the one table that says which role may do what. Roles are bound to a
// user per project (or platform-wide with project "*"); an operation names the permission it
// needs and the project it touches, and the principal must hold a role granting it there.
#ifndef PLINTH_AUTH_ROLES_H_
#define PLINTH_AUTH_ROLES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plinth {

enum class Role { kViewer, kDataScientist, kValidator, kApprover, kDeployer, kAuditor, kAdmin };

enum class Permission {
  kProjectCreate,       // create projects
  kProjectRead,         // see a project and its objects' metadata
  kUserManage,          // create users, bind roles, list users
  kTokenManageAny,      // create, list and revoke other users' tokens
  kArtifactWrite,       // store artifacts in a project
  kArtifactRead,        // read artifacts of a project
  kAuditRead,           // tail, export and verify the audit chain (platform-wide only)
  kDatasetWrite,        // register data sets in a project
  kPiiRead,             // see the values of PII columns (profiles); others see them masked
  kDatasetValidate,     // run validation suites on data sets and record their results
  kFeatureWrite,        // apply feature definitions and build training sets
  kFeatureMaterialize,  // fill the online store from feature views
  kRunWrite,            // start tracked runs and log their params, metrics, tags, artifacts
  kModelRegister,       // register model versions, set aliases, request and withdraw approvals
  kModelValidate,       // sign off (or reject) a model version as its independent validator
  kModelApprove,        // approve (or reject) a model version for a stage
  kModelPromote,        // move an approved version to its stage
  kPolicyManage,        // apply governance policies
  kModelDeploy,         // deploy an approved version to an environment, roll back
  kDeploymentStop,      // stop a deployment at once (human oversight)
  kMonitorWrite,        // run drift checks, load outcome labels, set alert thresholds
};

// "viewer", "data-scientist", ... as users type them.
std::string RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);
const std::vector<Role>& AllRoles();
std::string PermissionName(Permission permission);

// The permission table.
bool RoleGrants(Role role, Permission permission);

// Project id meaning "every project".
inline constexpr char kAllProjects[] = "*";

}  // namespace plinth

#endif  // PLINTH_AUTH_ROLES_H_
