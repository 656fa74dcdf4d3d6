// The platform: every operation of operations.h, run the same way whoever calls it.
//
// Call() validates the request against the operation's spec, authenticates the token, runs the
// operation's handler (which authorises first) inside one store transaction and, for operations
// that change state, appends the audit record in that same transaction: the change and its record
// commit together or not at all. A refused or failed state change is recorded too, in a
// transaction of its own. Byte payloads (artifacts, audit exports) have their own entry points
// with the same checks.
//
// Thread-safe: the REST server calls one Platform from many threads.
#ifndef PLINTH_PLATFORM_PLATFORM_H_
#define PLINTH_PLATFORM_PLATFORM_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include "audit/audit_log.h"
#include "auth/identity.h"
#include "blob/artifact_store.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/signing.h"
#include "core/status.h"
#include "features/definition.h"
#include "features/online_store.h"
#include "platform/home.h"
#include "platform/operations.h"
#include "store/metadata_store.h"

namespace plinth {

struct InitResult {
  std::string home;
  std::string user;   // "admin"
  std::string token;  // shown once
};

// An applied feature definition, parsed, with the versions of its views and services computed
// once (a version digests canonical JSON; serving reads them on every request).
struct AppliedFeatureRepo {
  FeatureRepo repo;
  std::map<std::string, std::string> view_versions;
  std::map<std::string, std::string> service_versions;
};

struct PlatformOptions {
  Clock* clock = nullptr;  // SystemClock() when null
  StoreOptions store;
  int checkpoint_every = 1000;
  int64_t max_artifact_bytes = int64_t{64} << 30;
};

class Platform {
 public:
  // Creates a home at `dir` (which must not exist or be empty): keys, store (migrated), the admin
  // user with a platform-wide admin role and its token, kept in the credentials file. The home is
  // built beside `dir` and renamed into place, so a failed init leaves nothing behind.
  // AlreadyExists if `dir` holds anything.
  static StatusOr<InitResult> Init(const std::string& dir, const std::string& store_url,
                                   const PlatformOptions& options = {});

  // Opens an existing home. NotFound if there is none.
  static StatusOr<std::unique_ptr<Platform>> Open(const HomeConfig& home,
                                                  const PlatformOptions& options = {});

  ~Platform();

  // Runs operation `op` for the holder of `token`. The request is the operation's fields as a
  // JSON object. Errors: InvalidArgument for a bad request, Unauthenticated for a bad token,
  // PermissionDenied / NotFound from authorisation, and the handler's own errors.
  StatusOr<Json> Call(const std::string& op, const std::string& token, const Json& request,
                      const std::string& request_id);

  // artifact.put: stores what `source` yields in `project`. Returns {"digest", "size"}.
  StatusOr<Json> PutArtifact(const std::string& token, const std::string& project,
                             const ByteSource& source, const std::string& request_id);
  // data.register: stores the CSV file that `source` yields as an artifact of `project` (hashed
  // while streaming), reads the stored object back and parses it, checks that every column the
  // tags name exists, writes the table's snapshot as a second artifact, and then, in one
  // transaction, records the version (schema, tags, profile) with its audit record. The version is
  // the file's digest: the same bytes registered again return the existing version (with the same
  // tags; other tags are AlreadyExists). `tags` holds data.register's tag fields as sent
  // (target, timestamp, entity, pii and protected as comma-separated text, classification).
  // A malformed CSV is InvalidArgument with the reader's line and column, and nothing is recorded.
  StatusOr<Json> RegisterDataset(const std::string& token, const std::string& project,
                                 const std::string& name, const Json& tags,
                                 const ByteSource& source, const std::string& request_id);
  // The one entry point of bytes-in operations (Payload::kBytesIn: artifact.put, data.register):
  // `request` holds the operation's fields, `source` its bytes.
  StatusOr<Json> CallUpload(const std::string& op, const std::string& token, const Json& request,
                            const ByteSource& source, const std::string& request_id);
  // artifact.get: authorises, verifies the stored bytes against the digest, then calls
  // `on_size` with the size and streams the bytes to `sink`. Corrupt bytes are never streamed.
  Status GetArtifact(const std::string& token, const std::string& digest,
                     const std::function<Status(int64_t size)>& on_size, const ByteSink& sink,
                     const std::string& request_id);
  // audit.export: the chain as JSON lines.
  Status ExportAudit(const std::string& token, std::ostream& out, const std::string& request_id);

  // Writes a signed audit checkpoint of the head (servers call it at shutdown).
  Status Checkpoint();

  const SigningKey& signing_key() const { return key_; }
  MetadataStore& store() { return *store_; }
  ArtifactStore& artifacts() { return *artifacts_; }
  // The embedded online feature store (HOME/online).
  OnlineStore& online() { return *online_; }
  // The parsed feature definition whose canonical JSON has digest `digest`; on first use its
  // JSON comes from `load_json`. Applied definitions never change, so they are cached by digest.
  StatusOr<std::shared_ptr<const AppliedFeatureRepo>> FeatureRepoFor(
      const std::string& digest, const std::function<StatusOr<std::string>()>& load_json);
  const AuditLog& audit() const { return *audit_; }
  Clock* clock() const { return clock_; }
  const HomeConfig& home() const { return home_; }

 private:
  Platform(HomeConfig home, Clock* clock, SigningKey key, std::string hmac_key,
           const PlatformOptions& options);

  StatusOr<Principal> Authenticate(const std::string& token);
  // Records a refused or failed state change in its own transaction.
  void RecordFailure(const OperationSpec& spec, const std::string& actor, AuditEvent event,
                     const Status& status);

  HomeConfig home_;
  Clock* clock_;
  SigningKey key_;
  PlatformOptions options_;
  IdentityStore identity_;
  std::unique_ptr<MetadataStore> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<OnlineStore> online_;
  std::mutex repo_cache_mu_;
  std::map<std::string, std::shared_ptr<const AppliedFeatureRepo>> repo_cache_;
};

}  // namespace plinth

#endif  // PLINTH_PLATFORM_PLATFORM_H_
