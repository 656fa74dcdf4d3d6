#include "platform/platform.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_join.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/random.h"
#include "core/sha256.h"
#include "features/redis_online_store.h"
#include "platform/model_registry.h"
#include "platform/operation_context.h"

namespace plinth {
namespace {

const HandlerMap& Handlers() {
  static const HandlerMap* handlers = [] {
    auto* map = new HandlerMap();
    AddKernelHandlers(map);
    AddDataHandlers(map);
    AddFeatureHandlers(map);
    AddTrackingHandlers(map);
    AddPipelineHandlers(map);
    AddRegistryHandlers(map);
    AddApprovalHandlers(map);
    AddPolicyHandlers(map);
    AddDeploymentHandlers(map);
    AddEdgeHandlers(map);
    AddMonitorHandlers(map);
    return map;
  }();
  return *handlers;
}

// What a request is about, for its audit record until the handler says more precisely: the
// operation's noun and the request's identifying field ("user/alice").
std::string DefaultResource(const OperationSpec& spec, const Json& request) {
  std::string noun = spec.name.substr(0, spec.name.find('.'));
  for (const char* field : {"name", "id", "user", "project"}) {
    if (request.is_object() && request.contains(field) && request[field].is_string()) {
      return noun + "/" + request[field].get<std::string>().substr(0, 128);
    }
  }
  return "";
}

Status CheckEmptyOrAbsent(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return absl::OkStatus();
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::AlreadyExistsError(dir + " exists and is not a folder");
  }
  if (std::filesystem::exists(dir + "/config.json", ec)) {
    return absl::AlreadyExistsError(dir + " is already a Plinth home");
  }
  if (!std::filesystem::is_empty(dir, ec)) {
    return absl::AlreadyExistsError(dir + " is not empty; choose a new folder for the home");
  }
  return absl::OkStatus();
}

}  // namespace

Platform::Platform(HomeConfig home, Clock* clock, SigningKey key, std::string hmac_key,
                   const PlatformOptions& options)
    : home_(std::move(home)),
      clock_(clock),
      key_(std::move(key)),
      options_(options),
      identity_(clock) {
  audit_ = std::make_unique<AuditLog>(&key_, std::move(hmac_key), clock_, options.checkpoint_every);
}

Platform::~Platform() = default;

StatusOr<InitResult> Platform::Init(const std::string& dir_in, const std::string& store_url,
                                    const PlatformOptions& options) {
  std::string dir = std::filesystem::absolute(dir_in).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  RETURN_IF_ERROR(CheckEmptyOrAbsent(dir));
  std::string parent = std::filesystem::path(dir).parent_path().string();
  RETURN_IF_ERROR(MakeDirectories(parent, 0755));
  std::string staging = dir + ".init-" + RandomHex(4);
  auto cleanup = [&] {
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  };
  auto build = [&]() -> StatusOr<InitResult> {
    HomeConfig paths = HomePaths(staging);
    RETURN_IF_ERROR(MakeDirectories(staging + "/keys", 0700));
    SigningKey key = SigningKey::Generate();
    RETURN_IF_ERROR(key.Save(paths.signing_key_path));
    RETURN_IF_ERROR(WriteFileAtomic(paths.public_key_path, key.KeyId() + "\n", 0644, false));
    std::string hmac_key = RandomHex(32);
    RETURN_IF_ERROR(WriteFileAtomic(paths.hmac_key_path, hmac_key + "\n", 0600, false));
    std::string url_as_given = store_url.empty() ? "sqlite:metadata.db" : store_url;
    if (!store_url.empty()) paths.store_url = store_url;
    Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
    InitResult result;
    {
      ASSIGN_OR_RETURN(auto store, OpenMetadataStore(paths.store_url, options.store));
      IdentityStore identity(clock);
      AuditLog audit(&key, hmac_key, clock, options.checkpoint_every);
      RETURN_IF_ERROR(store->RunInTransaction([&](Transaction& tx) -> Status {
        auto admin = identity.CreateUser(tx, "admin", "plinth init");
        if (absl::IsAlreadyExists(admin.status())) {
          return absl::AlreadyExistsError(
              "the metadata store already has an admin user: it belongs to another home");
        }
        RETURN_IF_ERROR(admin.status());
        RETURN_IF_ERROR(identity.Bind(tx, admin->id, kAllProjects, Role::kAdmin));
        ASSIGN_OR_RETURN(IssuedToken token, identity.CreateToken(tx, *admin, 0, "plinth init"));
        result.token = token.token;
        AuditEvent event;
        event.actor = "admin";
        event.action = "platform.init";
        event.resource = "platform";
        event.request_id = NewId(*clock);
        event.outcome = "ok";
        event.details = {{"store", store->backend()}, {"token_id", token.info.id}};
        RETURN_IF_ERROR(audit.Append(tx, event).status());
        return audit.Checkpoint(tx);
      }));
    }
    RETURN_IF_ERROR(MakeDirectories(paths.artifacts_dir, 0700));
    Json credentials = {{"user", "admin"}, {"token", result.token}};
    RETURN_IF_ERROR(
        WriteFileAtomic(paths.credentials_path, credentials.dump(2) + "\n", 0600, false));
    RETURN_IF_ERROR(WriteHomeConfig(paths, url_as_given));
    std::error_code ec;
    if (std::filesystem::exists(dir, ec)) std::filesystem::remove(dir, ec);  // empty, checked
    if (::rename(staging.c_str(), dir.c_str()) != 0) {
      return absl::InternalError("cannot move the new home into place at " + dir);
    }
    RETURN_IF_ERROR(SyncDirectory(parent.empty() ? "." : parent));
    result.home = dir;
    result.user = "admin";
    return result;
  };
  auto result = build();
  if (!result.ok()) cleanup();
  return result;
}

StatusOr<std::unique_ptr<Platform>> Platform::Open(const HomeConfig& home,
                                                   const PlatformOptions& options) {
  ASSIGN_OR_RETURN(SigningKey key, SigningKey::Load(home.signing_key_path));
  ASSIGN_OR_RETURN(std::string hmac_text, ReadFile(home.hmac_key_path));
  while (!hmac_text.empty() && hmac_text.back() == '\n') hmac_text.pop_back();
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  std::unique_ptr<Platform> platform(
      new Platform(home, clock, std::move(key), std::move(hmac_text), options));
  ASSIGN_OR_RETURN(platform->store_, OpenMetadataStore(home.store_url, options.store));
  ASSIGN_OR_RETURN(platform->artifacts_, CreateLocalArtifactStore(home.artifacts_dir));
  // HOME/online unless the home's config or PLINTH_ONLINE_STORE names a redis:// URL.
  ASSIGN_OR_RETURN(
      platform->online_,
      OpenOnlineStore(home.online_store.empty() ? home.online_dir : home.online_store));
  return platform;
}

StatusOr<std::shared_ptr<const AppliedFeatureRepo>> Platform::FeatureRepoFor(
    const std::string& digest, const std::function<StatusOr<std::string>()>& load_json) {
  {
    std::lock_guard<std::mutex> lock(repo_cache_mu_);
    auto it = repo_cache_.find(digest);
    if (it != repo_cache_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::string repo_json, load_json());
  ASSIGN_OR_RETURN(Json json, ParseJson(repo_json));
  auto applied = std::make_shared<AppliedFeatureRepo>();
  ASSIGN_OR_RETURN(applied->repo, FeatureRepoFromJson(json));
  for (const auto& v : applied->repo.views) {
    applied->view_versions[v.name] = ViewVersion(applied->repo, v);
  }
  for (const auto& s : applied->repo.services) {
    applied->service_versions[s.name] = ServiceVersion(applied->repo, s);
  }
  std::shared_ptr<const AppliedFeatureRepo> shared = std::move(applied);
  std::lock_guard<std::mutex> lock(repo_cache_mu_);
  if (repo_cache_.size() > 256) repo_cache_.clear();  // bounded: definitions are small and few
  repo_cache_[digest] = shared;
  return shared;
}

void Platform::RecordFailure(const OperationSpec& spec, const std::string& actor, AuditEvent event,
                             const Status& status) {
  if (!spec.mutating) return;
  event.actor = actor.empty() ? "-" : actor;
  event.action = spec.name;
  bool denied = absl::IsPermissionDenied(status) || absl::IsUnauthenticated(status);
  event.outcome = denied ? "denied" : "error:" + WireCodeFor(status.code());
  std::string message(status.message());
  if (message.size() > 500) {
    size_t cut = 500;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message.resize(cut);  // never split a UTF-8 character
  }
  event.details["error"] = message;
  // Best effort: if even this cannot be written, the change was refused anyway.
  store_
      ->RunInTransaction(
          [&](Transaction& tx) -> Status { return audit_->Append(tx, event).status(); })
      .IgnoreError();
}

StatusOr<Json> Platform::Call(const std::string& op, const std::string& token, const Json& request,
                              const std::string& request_id) {
  const OperationSpec* spec = FindOperation(op);
  auto handler = Handlers().find(op);
  if (spec == nullptr || handler == Handlers().end()) {
    return absl::NotFoundError("unknown operation '" + op.substr(0, 64) + "'");
  }
  AuditEvent event;
  event.action = spec->name;
  event.request_id = request_id;
  event.resource = DefaultResource(*spec, request);
  std::string actor;
  Json result;
  std::function<StatusOr<Json>()> after;
  bool audit_read = false;
  auto body = [&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Principal principal, identity_.Authenticate(tx, token));
    actor = principal.user.name;
    event.actor = actor;
    RETURN_IF_ERROR(ValidateRequest(*spec, request));
    OpContext ctx{*this, tx, principal, identity_, event, nullptr};
    // A handler bug must fail the one call (and roll its transaction back), never the server.
    StatusOr<Json> handled = absl::InternalError("");
    try {
      handled = handler->second(ctx, request);
    } catch (const std::exception& e) {
      handled = absl::InternalError(spec->name + ": internal error: " + e.what());
    }
    ASSIGN_OR_RETURN(result, std::move(handled));
    after = std::move(ctx.after_transaction);
    audit_read = ctx.audit_read;
    if (spec->mutating) {
      event.outcome = "ok";
      RETURN_IF_ERROR(audit_->Append(tx, event).status());
    }
    return absl::OkStatus();
  };
  Status s = spec->mutating ? store_->RunInTransaction(body) : store_->RunReadOnly(body);
  if (!s.ok()) {
    RecordFailure(*spec, actor, event, s);
    return s;
  }
  if (audit_read && !spec->mutating) {
    // Fail closed: the data leaves only once its reading is on the record.
    event.outcome = "ok";
    RETURN_IF_ERROR(store_->RunInTransaction(
        [&](Transaction& tx) -> Status { return audit_->Append(tx, event).status(); }));
  }
  if (after) return after();
  return result;
}

StatusOr<Json> Platform::CallUpload(const std::string& op, const std::string& token,
                                    const Json& request, const ByteSource& source,
                                    const std::string& request_id) {
  const OperationSpec* spec = FindOperation(op);
  if (spec == nullptr || spec->payload != Payload::kBytesIn) {
    return absl::NotFoundError("unknown upload operation '" + op.substr(0, 64) + "'");
  }
  if (op == "data.register") {
    Json tags = request.is_object() ? request : Json::object();
    tags.erase("project");
    tags.erase("name");
    return RegisterDataset(token, Str(request, "project"), Str(request, "name"), tags, source,
                           request_id);
  }
  RETURN_IF_ERROR(ValidateRequest(*spec, request));
  return PutArtifact(token, Str(request, "project"), source, request_id);
}

StatusOr<Principal> Platform::Authenticate(const std::string& token) {
  Principal principal;
  RETURN_IF_ERROR(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(principal, identity_.Authenticate(tx, token));
    return absl::OkStatus();
  }));
  return principal;
}

StatusOr<Json> Platform::PutArtifact(const std::string& token, const std::string& project_name,
                                     const ByteSource& source, const std::string& request_id) {
  const OperationSpec& spec = *FindOperation("artifact.put");
  AuditEvent event;
  event.action = spec.name;
  event.request_id = request_id;
  event.project = project_name.substr(0, 64);
  event.resource = "project/" + project_name.substr(0, 64);
  std::string actor;
  Project project;
  Status allowed = store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Principal principal, identity_.Authenticate(tx, token));
    actor = principal.user.name;
    ASSIGN_OR_RETURN(project, AuthorizeProject(tx, identity_, principal, spec.name, project_name,
                                               Permission::kArtifactWrite));
    return absl::OkStatus();
  });
  if (!allowed.ok()) {
    RecordFailure(spec, actor, event, allowed);
    return allowed;
  }
  auto info = artifacts_->Put(source, "", options_.max_artifact_bytes);
  if (!info.ok()) {
    RecordFailure(spec, actor, event, info.status());
    return info.status();
  }
  event.actor = actor;
  event.resource = "artifact/" + info->digest;
  event.outcome = "ok";
  event.details = {{"digest", info->digest}, {"size", info->size}};
  Status s = store_->RunInTransaction([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO artifacts (project_id, digest, size, created_at, created_by) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   {project.id, info->digest, info->size, clock_->NowMicros(), actor}));
    return audit_->Append(tx, event).status();
  });
  if (!s.ok()) {
    RecordFailure(spec, actor, event, s);
    return s;
  }
  return Json{{"digest", info->digest}, {"size", info->size}, {"project", project.name}};
}

Status Platform::GetArtifact(const std::string& token, const std::string& digest,
                             const std::function<Status(int64_t)>& on_size, const ByteSink& sink,
                             const std::string& request_id) {
  RETURN_IF_ERROR(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Principal principal, identity_.Authenticate(tx, token));
    if (!IsValidDigest(digest)) {
      return absl::InvalidArgumentError("'" + digest.substr(0, 80) +
                                        "' is not an artifact digest; expected sha256:<64 hex>");
    }
    ASSIGN_OR_RETURN(QueryResult r,
                     tx.Query("SELECT project_id FROM artifacts WHERE digest = ?", {digest}));
    for (size_t i = 0; i < r.rows.size(); ++i) {
      if (principal.Can(Permission::kArtifactRead, r.TextOrEmpty(i, 0))) return absl::OkStatus();
    }
    return absl::NotFoundError("artifact " + digest + " not found");
  }));
  RETURN_IF_ERROR(artifacts_->Verify(digest));
  ASSIGN_OR_RETURN(ArtifactInfo info, artifacts_->Stat(digest));
  RETURN_IF_ERROR(on_size(info.size));
  return artifacts_->Get(digest, sink);
}

Status Platform::ExportAudit(const std::string& token, std::ostream& out,
                             const std::string& request_id) {
  RETURN_IF_ERROR(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Principal principal, identity_.Authenticate(tx, token));
    if (!principal.CanPlatformWide(Permission::kAuditRead)) {
      return absl::PermissionDeniedError("audit.export requires a platform-wide " +
                                         GrantingRoles(Permission::kAuditRead) + " role; " +
                                         DescribeBindings(principal));
    }
    return absl::OkStatus();
  }));
  return audit_->Export(*store_, out);
}

Status Platform::Checkpoint() {
  return store_->RunInTransaction([&](Transaction& tx) { return audit_->Checkpoint(tx); });
}

}  // namespace plinth
