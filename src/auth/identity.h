// Identity: projects, users, role bindings and API tokens, read and written through a store
// Transaction (so callers put them in the same transaction as their audit record).
//
// Tokens are "plt_" followed by 64 hex characters (256 random bits). Only their SHA-256 is
// stored; the token itself is returned once, by CreateToken. A principal is what a valid token
// resolves to: the user and every role binding it holds.
#ifndef PLINTH_AUTH_IDENTITY_H_
#define PLINTH_AUTH_IDENTITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/roles.h"
#include "core/clock.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

struct Project {
  std::string id;
  std::string name;
  int64_t created_at = 0;
  std::string created_by;  // user name
};

struct User {
  std::string id;
  std::string name;
  int64_t created_at = 0;
  std::string created_by;
};

struct RoleBinding {
  std::string project_id;    // kAllProjects for platform-wide
  std::string project_name;  // "*" for platform-wide
  Role role = Role::kViewer;
};

struct TokenInfo {
  std::string id;
  std::string user;  // user name
  int64_t created_at = 0;
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  std::string created_by;
};

struct IssuedToken {
  TokenInfo info;
  std::string token;  // the secret; shown once
};

struct Principal {
  User user;
  std::string token_id;
  std::vector<RoleBinding> bindings;

  // True if a binding on `project_id` (or a platform-wide one) grants `permission`.
  bool Can(Permission permission, const std::string& project_id) const;
  // True if any binding on any project grants `permission`.
  bool CanAnywhere(Permission permission) const;
  // True if a platform-wide binding grants `permission`.
  bool CanPlatformWide(Permission permission) const;
  // True if the principal has any role on `project_id` (or a platform-wide one).
  bool HasAnyRoleOn(const std::string& project_id) const;
};

// Names of projects and users: 1-64 characters from [A-Za-z0-9._-], starting with a letter or
// digit. InvalidArgument otherwise, naming `what` ("project name") and the rule.
Status ValidateName(std::string_view what, std::string_view name);

class IdentityStore {
 public:
  explicit IdentityStore(Clock* clock) : clock_(clock) {}

  // AlreadyExists if the name is taken; InvalidArgument for a bad name.
  StatusOr<Project> CreateProject(Transaction& tx, const std::string& name,
                                  const std::string& created_by) const;
  // NotFound if absent.
  StatusOr<Project> FindProject(Transaction& tx, const std::string& name) const;
  StatusOr<Project> FindProjectById(Transaction& tx, const std::string& id) const;
  StatusOr<std::vector<Project>> ListProjects(Transaction& tx) const;

  // AlreadyExists if the name is taken; InvalidArgument for a bad name.
  StatusOr<User> CreateUser(Transaction& tx, const std::string& name,
                            const std::string& created_by) const;
  // NotFound if absent.
  StatusOr<User> FindUser(Transaction& tx, const std::string& name) const;
  StatusOr<std::vector<User>> ListUsers(Transaction& tx) const;

  // Binds `role` to the user on `project_id` (kAllProjects for platform-wide). AlreadyExists if
  // that binding exists.
  Status Bind(Transaction& tx, const std::string& user_id, const std::string& project_id,
              Role role) const;
  StatusOr<std::vector<RoleBinding>> BindingsOf(Transaction& tx, const std::string& user_id) const;

  // Issues a new token for the user; `ttl_micros` 0 means no expiry.
  StatusOr<IssuedToken> CreateToken(Transaction& tx, const User& user, int64_t ttl_micros,
                                    const std::string& created_by) const;
  // Resolves a token. Unauthenticated (never NotFound) when malformed, unknown, expired or
  // revoked, with a message that says which but never echoes the token.
  StatusOr<Principal> Authenticate(Transaction& tx, std::string_view token) const;
  // NotFound if no such token id; AlreadyExists (a conflict) if already revoked.
  StatusOr<TokenInfo> FindToken(Transaction& tx, const std::string& id) const;
  Status RevokeToken(Transaction& tx, const std::string& id) const;
  // Tokens of `user_id`, or of everyone when empty.
  StatusOr<std::vector<TokenInfo>> ListTokens(Transaction& tx, const std::string& user_id) const;

  // True if `token` has the shape of a Plinth token.
  static bool IsWellFormedToken(std::string_view token);

 private:
  Clock* clock_;
};

}  // namespace plinth

#endif  // PLINTH_AUTH_IDENTITY_H_
