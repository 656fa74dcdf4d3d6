// The online store in Redis, shared by every serving replica, and OpenOnlineStore, which picks the
// store a location names.
//
// Keys (project and view names as ValidateOnlineNames requires, so never a ':'):
//
//   <prefix><project>:<view>             the view's current version: 64 lowercase hex
//   <prefix><project>:<view>:<version>   the view, encoded exactly as an online view file
//                                        (docs/formats/online.md); <version> is the hex of the
//                                        header's header_sha256
//
// Write stores the new version and switches the pointer in one Lua script, which also deletes the
// version it replaced, so other processes see the old view or the new one, never a mix, and never
// a pointer to a missing value. Read fetches the pointer and, when it changed, the value in one
// script (atomic as well), decodes and verifies it as LocalOnlineStore verifies a file, and caches
// the decoded view: for `refresh_interval_ms` after a check, Reads return the cached state without
// asking Redis. Needs a single Redis server (or a primary): the scripts name keys Redis Cluster
// cannot route.
#ifndef PLINTH_FEATURES_REDIS_ONLINE_STORE_H_
#define PLINTH_FEATURES_REDIS_ONLINE_STORE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "features/online_store.h"

struct redisContext;

namespace plinth {

struct RedisOnlineStoreOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH: with both, `AUTH user password` (Redis 6 ACL users); with a password only,
  // `AUTH password`; with neither, no AUTH.
  std::string user;
  std::string password;
  int db = 0;
  // Every key starts with this, so that several platforms (or tests) can share one server.
  std::string key_prefix = "plinth:online:";
  // How long after asking Redis a Read serves its cached state without asking again. 0 asks on
  // every Read, so a Read sees every write that completed before it began.
  int64_t refresh_interval_ms = 100;
  int64_t connect_timeout_ms = 1000;
  // Bounds each wait for the server to accept or answer bytes (not a whole command): a dead or
  // hung server fails a call after about this long.
  int64_t io_timeout_ms = 5000;
  // Connections kept open at most; calls beyond that wait for one.
  int pool_size = 4;
};

// Parses `redis://[user:password@]host[:port][/db][?option=value&...]`. User and password may be
// percent-encoded; host may be a name, an IPv4 address or a bracketed IPv6 address; port defaults
// to 6379 and db to 0. Options: prefix, refresh_ms, connect_timeout_ms, timeout_ms, pool_size
// (the fields above). InvalidArgument naming the mistake (never showing the password) otherwise.
StatusOr<RedisOnlineStoreOptions> ParseRedisUrl(const std::string& url);

// The online store in Redis (see the top of this file). Thread-safe: a small pool of connections,
// each used by one call at a time. Connects on first use, not on construction, so a platform
// opens even while Redis is down; a call that cannot reach the server (refused, timed out, closed
// mid-call, authentication refused) is Unavailable naming the server without its password, and
// the next call connects again. A connection found closed when reused (the server restarted, an
// idle timeout) is replaced and the call retried once, so a restart between calls goes unnoticed.
//
// Write: as OnlineStore::Write, InvalidArgument as LocalOnlineStore's; FailedPrecondition if the
// pointer key holds another Redis type (not written by this store), ResourceExhausted if the
// server is out of memory (maxmemory). Durable as far as the server's persistence (RDB/AOF) and
// replication make it. If the connection is lost after the script ran, the write is reported
// Unavailable although it took effect; writing again is safe (the same view gives the same
// version, and rewriting it changes nothing).
//
// Read: as OnlineStore::Read. A value that does not decode or verify (either digest, the header's
// project and view, the pointer's version), a pointer that is not a version or names a missing
// value, or a key of the wrong Redis type is DataLoss naming the key, and nothing from it is
// served; the refusal is remembered until the pointer changes. When the check fails (Unavailable),
// the cached state is not returned: FeatureLookup::Refresh then keeps serving what it had. While
// one thread asks Redis about a view, other Reads of that view return the cached state rather
// than wait (unless refresh_interval_ms is 0).
class RedisOnlineStore : public OnlineStore {
 public:
  explicit RedisOnlineStore(RedisOnlineStoreOptions options);
  ~RedisOnlineStore() override;
  RedisOnlineStore(const RedisOnlineStore&) = delete;
  RedisOnlineStore& operator=(const RedisOnlineStore&) = delete;

  Status Write(OnlineView view) override;
  StatusOr<std::shared_ptr<const OnlineView>> Read(const std::string& project,
                                                   const std::string& view) override;

  // The pointer key of project/view (names unchecked), for tools and tests.
  std::string PointerKey(const std::string& project, const std::string& view) const;
  // "redis://host:port/db", without user or password: how messages name the server.
  const std::string& server() const { return server_; }
  const RedisOnlineStoreOptions& options() const { return options_; }

 private:
  struct Slot;
  struct Connection;
  struct Reply;
  using SteadyTime = std::chrono::steady_clock::time_point;

  std::shared_ptr<Slot> GetSlot(const std::string& project, const std::string& view);
  // Runs one command on a pooled connection, reconnecting as the class comment says.
  StatusOr<Reply> Command(const std::vector<std::string>& args);
  StatusOr<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> connection);
  StatusOr<std::unique_ptr<Connection>> Connect();
  // Asks Redis for project/view's pointer and, unless it still holds *held_version (when given),
  // the value it names, decoded. Changes no state of the store.
  struct Fetched;
  StatusOr<Fetched> Fetch(const std::string& project, const std::string& view,
                          const std::string* held_version);

  const RedisOnlineStoreOptions options_;
  const std::string server_;

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  // connections idle or in use, or being opened

  std::mutex slots_mu_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // by "project/view"
};

// The online store `location` names: a `redis://` URL (ParseRedisUrl) gives a RedisOnlineStore,
// which connects on first use; any other non-empty location without a "scheme://" is the folder
// of a LocalOnlineStore. InvalidArgument for an empty location, another scheme, or a malformed
// URL.
StatusOr<std::unique_ptr<OnlineStore>> OpenOnlineStore(const std::string& location);

}  // namespace plinth

#endif  // PLINTH_FEATURES_REDIS_ONLINE_STORE_H_
