#include "auth/identity.h"

#include "core/ids.h"
#include "core/random.h"
#include "core/sha256.h"

namespace plinth {
namespace {

constexpr char kTokenPrefix[] = "plt_";
constexpr size_t kTokenHexLength = 64;

std::string TokenHash(std::string_view token) { return Sha256Digest(token); }

Project ProjectFromRow(const QueryResult& r, size_t i) {
  return Project{r.TextOrEmpty(i, 0), r.TextOrEmpty(i, 1), r.IntOrZero(i, 2), r.TextOrEmpty(i, 3)};
}

User UserFromRow(const QueryResult& r, size_t i) {
  return User{r.TextOrEmpty(i, 0), r.TextOrEmpty(i, 1), r.IntOrZero(i, 2), r.TextOrEmpty(i, 3)};
}

constexpr char kTokenColumns[] =
    "t.id, u.name, t.created_at, t.expires_at, t.revoked_at, t.created_by";

TokenInfo TokenFromRow(const QueryResult& r, size_t i) {
  TokenInfo t;
  t.id = r.TextOrEmpty(i, 0);
  t.user = r.TextOrEmpty(i, 1);
  t.created_at = r.IntOrZero(i, 2);
  if (!r.IsNull(i, 3)) t.expires_at = r.IntOrZero(i, 3);
  if (!r.IsNull(i, 4)) t.revoked_at = r.IntOrZero(i, 4);
  t.created_by = r.TextOrEmpty(i, 5);
  return t;
}

}  // namespace

bool Principal::Can(Permission permission, const std::string& project_id) const {
  for (const auto& b : bindings) {
    if ((b.project_id == project_id || b.project_id == kAllProjects) &&
        RoleGrants(b.role, permission)) {
      return true;
    }
  }
  return false;
}

bool Principal::CanAnywhere(Permission permission) const {
  for (const auto& b : bindings) {
    if (RoleGrants(b.role, permission)) return true;
  }
  return false;
}

bool Principal::CanPlatformWide(Permission permission) const {
  return Can(permission, kAllProjects);
}

bool Principal::HasAnyRoleOn(const std::string& project_id) const {
  for (const auto& b : bindings) {
    if (b.project_id == project_id || b.project_id == kAllProjects) return true;
  }
  return false;
}

Status ValidateName(std::string_view what, std::string_view name) {
  auto fail = [&] {
    return absl::InvalidArgumentError(
        std::string(what) + " '" + std::string(name.substr(0, 80)) +
        "' is not valid: expected 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter "
        "or digit");
  };
  if (name.empty() || name.size() > 64) return fail();
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (i == 0 && !alnum) return fail();
    if (!alnum && c != '.' && c != '_' && c != '-') return fail();
  }
  if (name.find("..") != std::string_view::npos) return fail();
  return absl::OkStatus();
}

StatusOr<Project> IdentityStore::CreateProject(Transaction& tx, const std::string& name,
                                               const std::string& created_by) const {
  RETURN_IF_ERROR(ValidateName("project name", name));
  Project p{NewId(*clock_), name, clock_->NowMicros(), created_by};
  Status s =
      tx.Execute("INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
                 {p.id, p.name, p.created_at, p.created_by});
  if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError("project '" + name + "' exists");
  RETURN_IF_ERROR(s);
  return p;
}

StatusOr<Project> IdentityStore::FindProject(Transaction& tx, const std::string& name) const {
  ASSIGN_OR_RETURN(
      QueryResult r,
      tx.Query("SELECT id, name, created_at, created_by FROM projects WHERE name = ?", {name}));
  if (r.rows.empty()) return absl::NotFoundError("project '" + name + "' not found");
  return ProjectFromRow(r, 0);
}

StatusOr<Project> IdentityStore::FindProjectById(Transaction& tx, const std::string& id) const {
  ASSIGN_OR_RETURN(
      QueryResult r,
      tx.Query("SELECT id, name, created_at, created_by FROM projects WHERE id = ?", {id}));
  if (r.rows.empty()) return absl::NotFoundError("project not found");
  return ProjectFromRow(r, 0);
}

StatusOr<std::vector<Project>> IdentityStore::ListProjects(Transaction& tx) const {
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query("SELECT id, name, created_at, created_by FROM projects ORDER BY name"));
  std::vector<Project> out;
  for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(ProjectFromRow(r, i));
  return out;
}

StatusOr<User> IdentityStore::CreateUser(Transaction& tx, const std::string& name,
                                         const std::string& created_by) const {
  RETURN_IF_ERROR(ValidateName("user name", name));
  User u{NewId(*clock_), name, clock_->NowMicros(), created_by};
  Status s = tx.Execute("INSERT INTO users (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
                        {u.id, u.name, u.created_at, u.created_by});
  if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError("user '" + name + "' exists");
  RETURN_IF_ERROR(s);
  return u;
}

StatusOr<User> IdentityStore::FindUser(Transaction& tx, const std::string& name) const {
  ASSIGN_OR_RETURN(
      QueryResult r,
      tx.Query("SELECT id, name, created_at, created_by FROM users WHERE name = ?", {name}));
  if (r.rows.empty()) return absl::NotFoundError("user '" + name + "' not found");
  return UserFromRow(r, 0);
}

StatusOr<std::vector<User>> IdentityStore::ListUsers(Transaction& tx) const {
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query("SELECT id, name, created_at, created_by FROM users ORDER BY name"));
  std::vector<User> out;
  for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(UserFromRow(r, i));
  return out;
}

Status IdentityStore::Bind(Transaction& tx, const std::string& user_id,
                           const std::string& project_id, Role role) const {
  Status s = tx.Execute(
      "INSERT INTO role_bindings (user_id, project_id, role, created_at) VALUES (?, ?, ?, ?)",
      {user_id, project_id, RoleName(role), clock_->NowMicros()});
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError("the user already has role " + RoleName(role) + " there");
  }
  return s;
}

StatusOr<std::vector<RoleBinding>> IdentityStore::BindingsOf(Transaction& tx,
                                                             const std::string& user_id) const {
  ASSIGN_OR_RETURN(
      QueryResult r,
      tx.Query("SELECT b.project_id, COALESCE(p.name, '*'), b.role FROM role_bindings b "
               "LEFT JOIN projects p ON p.id = b.project_id WHERE b.user_id = ? "
               "ORDER BY 2, 3",
               {user_id}));
  std::vector<RoleBinding> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    auto role = ParseRole(r.TextOrEmpty(i, 2));
    if (!role) return absl::InternalError("unknown role in store: " + r.TextOrEmpty(i, 2));
    out.push_back(RoleBinding{r.TextOrEmpty(i, 0), r.TextOrEmpty(i, 1), *role});
  }
  return out;
}

StatusOr<IssuedToken> IdentityStore::CreateToken(Transaction& tx, const User& user,
                                                 int64_t ttl_micros,
                                                 const std::string& created_by) const {
  IssuedToken issued;
  issued.token = kTokenPrefix + RandomHex(kTokenHexLength / 2);
  TokenInfo& t = issued.info;
  t.id = NewId(*clock_);
  t.user = user.name;
  t.created_at = clock_->NowMicros();
  if (ttl_micros > 0) t.expires_at = t.created_at + ttl_micros;
  t.created_by = created_by;
  SqlValue expires = t.expires_at ? SqlValue(*t.expires_at) : SqlValue();
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO tokens (id, user_id, token_hash, created_at, expires_at, revoked_at, "
                 "created_by) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                 {t.id, user.id, TokenHash(issued.token), t.created_at, expires, created_by}));
  return issued;
}

bool IdentityStore::IsWellFormedToken(std::string_view token) {
  if (token.size() != 4 + kTokenHexLength || token.substr(0, 4) != kTokenPrefix) return false;
  for (char c : token.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

StatusOr<Principal> IdentityStore::Authenticate(Transaction& tx, std::string_view token) const {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "missing token: pass --token, set PLINTH_TOKEN, or send Authorization: Bearer TOKEN");
  }
  if (!IsWellFormedToken(token)) {
    return absl::UnauthenticatedError("malformed token: expected 'plt_' and 64 hex characters");
  }
  std::string hash = TokenHash(token);
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query("SELECT t.id, t.token_hash, t.expires_at, t.revoked_at, u.id, u.name, "
                            "u.created_at, u.created_by FROM tokens t JOIN users u ON "
                            "u.id = t.user_id WHERE t.token_hash = ?",
                            {hash}));
  if (r.rows.empty() || !ConstantTimeEquals(r.TextOrEmpty(0, 1), hash)) {
    return absl::UnauthenticatedError("unknown token");
  }
  if (!r.IsNull(0, 3)) return absl::UnauthenticatedError("token has been revoked");
  if (!r.IsNull(0, 2) && r.IntOrZero(0, 2) <= clock_->NowMicros()) {
    return absl::UnauthenticatedError("token has expired");
  }
  Principal p;
  p.token_id = r.TextOrEmpty(0, 0);
  p.user = User{r.TextOrEmpty(0, 4), r.TextOrEmpty(0, 5), r.IntOrZero(0, 6), r.TextOrEmpty(0, 7)};
  ASSIGN_OR_RETURN(p.bindings, BindingsOf(tx, p.user.id));
  return p;
}

StatusOr<TokenInfo> IdentityStore::FindToken(Transaction& tx, const std::string& id) const {
  ASSIGN_OR_RETURN(QueryResult r,
                   tx.Query(std::string("SELECT ") + kTokenColumns +
                                " FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?",
                            {id}));
  if (r.rows.empty()) return absl::NotFoundError("token '" + id + "' not found");
  return TokenFromRow(r, 0);
}

Status IdentityStore::RevokeToken(Transaction& tx, const std::string& id) const {
  ASSIGN_OR_RETURN(TokenInfo t, FindToken(tx, id));
  if (t.revoked_at) return absl::AlreadyExistsError("token '" + id + "' is already revoked");
  return tx.Execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", {clock_->NowMicros(), id});
}

StatusOr<std::vector<TokenInfo>> IdentityStore::ListTokens(Transaction& tx,
                                                           const std::string& user_id) const {
  std::string sql =
      std::string("SELECT ") + kTokenColumns + " FROM tokens t JOIN users u ON u.id = t.user_id";
  std::vector<SqlValue> params;
  if (!user_id.empty()) {
    sql += " WHERE t.user_id = ?";
    params.push_back(user_id);
  }
  sql += " ORDER BY t.id";
  ASSIGN_OR_RETURN(QueryResult r, tx.Query(sql, params));
  std::vector<TokenInfo> out;
  for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(TokenFromRow(r, i));
  return out;
}

}  // namespace plinth
