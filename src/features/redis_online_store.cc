#include "features/redis_online_store.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <climits>
#include <optional>
#include <string_view>
#include <utility>

#include "core/json.h"

namespace plinth {
namespace {

// A value is the bytes of an online view file (EncodeOnlineView, docs/formats/online.md), so a
// value copied out of Redis is a valid file and the reverse. Its version is the hex of the
// header's header_sha256, which starts with this.
constexpr char kDigestPrefix[] = "sha256:";

// Writes the new version, switches the pointer to it and deletes the version it replaced, all in
// one script, so no other client sees a pointer without its value. The pointer's type is checked
// before anything is written: Redis does not roll a script back when a command in it fails. The
// old version is deleted only if it looks like one, so a damaged pointer cannot make the script
// delete some other key. KEYS[1] the pointer; ARGV[1] the encoded view, ARGV[2] its version.
constexpr char kWriteScript[] = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t ~= 'none' and t ~= 'string' then return {'wrongtype', KEYS[1], t} end
redis.call('SET', KEYS[1] .. ':' .. ARGV[2], ARGV[1])
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2])
if old and old ~= ARGV[2] and #old == 64 and string.match(old, '^[0-9a-f]+$') then
  redis.call('DEL', KEYS[1] .. ':' .. old)
end
return 1
)lua";

// Reads the pointer and, unless it still names the version the caller holds, the value it names,
// in one round trip and atomically with respect to writers (who delete replaced versions).
// KEYS[1] the pointer; ARGV[1] the version held, ARGV[2] '1' if one is held.
// Returns 0 (no pointer), 1 (unchanged), {'view', version, bytes}, {'missing', version} or
// {'wrongtype', key, type}.
constexpr char kReadScript[] = R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'none' then return 0 end
if t ~= 'string' then return {'wrongtype', KEYS[1], t} end
local v = redis.call('GET', KEYS[1])
if ARGV[2] == '1' and v == ARGV[1] then return 1 end
local key = KEYS[1] .. ':' .. v
local dt = redis.call('TYPE', key)['ok']
if dt == 'none' then return {'missing', v} end
if dt ~= 'string' then return {'wrongtype', key, dt} end
return {'view', v, redis.call('GET', key)}
)lua";

// A string as a JSON string literal, so that hostile bytes in messages stay readable and inert.
std::string Quote(std::string_view s) {
  if (s.size() > 200) return DumpJson(Json(std::string(s.substr(0, 200)))) + "...";
  return DumpJson(Json(std::string(s)));
}

bool IsVersion(std::string_view v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// ---- URLs ----

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status UrlError(const std::string& why) {
  return absl::InvalidArgumentError(
      "online store URL (redis://[user:password@]host[:port][/db]"
      "[?option=value&...]): " +
      why);
}

// Percent-decodes `text`; `what` names it in the error, whose message never shows the text.
StatusOr<std::string> PercentDecode(std::string_view text, const char* what) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size() || HexValue(text[i + 1]) < 0 || HexValue(text[i + 2]) < 0) {
      return UrlError(std::string("malformed percent-encoding in the ") + what);
    }
    out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
    i += 2;
  }
  return out;
}

// A decimal integer in [min, max]; nullopt otherwise.
std::optional<int64_t> ParseInt(std::string_view text, int64_t min, int64_t max) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

std::string ServerName(const RedisOnlineStoreOptions& o) {
  const bool ipv6 = o.host.find(':') != std::string::npos;
  return "redis://" + (ipv6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port) + "/" +
         std::to_string(o.db);
}

timeval ToTimeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// Blocks SIGPIPE in this thread while it talks to Redis, and discards one raised meanwhile.
// hiredis writes with write(2), which raises SIGPIPE on a connection the server closed; its
// default action would end the whole process, and the platform does not ignore it globally.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    // One already pending (sent to the process, not raised by us) is left for its owner.
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero = {0, 0};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

std::string_view ReplyText(const redisReply* r) {
  return r->str == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}

}  // namespace

StatusOr<RedisOnlineStoreOptions> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return UrlError("must start with redis://");
  RedisOnlineStoreOptions o;
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return UrlError("a fragment ('#') is not allowed");
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view path;
  bool has_path = false;
  // The userinfo may hold an unencoded '/' or '@' in a password; the host never does.
  const size_t at = authority.rfind('@');
  const size_t slash = authority.find('/', at == std::string_view::npos ? 0 : at);
  if (slash != std::string_view::npos) {
    path = authority.substr(slash + 1);
    authority = authority.substr(0, slash);
    has_path = true;
  }
  std::string_view host_port = authority;
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    host_port = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return UrlError("give credentials as user:password@ or :password@");
    }
    ASSIGN_OR_RETURN(o.user, PercentDecode(userinfo.substr(0, colon), "user"));
    ASSIGN_OR_RETURN(o.password, PercentDecode(userinfo.substr(colon + 1), "password"));
    if (o.password.empty()) return UrlError("the password is empty");
  }
  std::string_view port_text;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string_view::npos) return UrlError("unclosed '[' in the host");
    o.host = std::string(host_port.substr(1, close - 1));
    for (char c : o.host) {
      if (HexValue(c) < 0 && c != ':' && c != '.') return UrlError("malformed IPv6 address");
    }
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return UrlError("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return UrlError("the port is empty");
    }
  } else {
    const size_t colon = host_port.find(':');
    o.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = host_port.substr(colon + 1);
      if (port_text.empty()) return UrlError("the port is empty");
    }
    for (char c : o.host) {
      if (!IsHostChar(c)) return UrlError("the host " + Quote(o.host) + " is not a host name");
    }
  }
  if (o.host.empty()) return UrlError("the host is missing");
  if (!port_text.empty()) {
    std::optional<int64_t> port = ParseInt(port_text, 1, 65535);
    if (!port) return UrlError("the port " + Quote(port_text) + " is not a number in 1..65535");
    o.port = static_cast<int>(*port);
  }
  if (has_path && !path.empty()) {
    std::optional<int64_t> db = ParseInt(path, 0, INT_MAX);
    if (!db) return UrlError("the database " + Quote(path) + " is not a number");
    o.db = static_cast<int>(*db);
  }
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return UrlError("option " + Quote(pair) + " has no value");
    std::string_view name = pair.substr(0, eq);
    ASSIGN_OR_RETURN(std::string value, PercentDecode(pair.substr(eq + 1), "option value"));
    auto number = [&](int64_t min, int64_t max, int64_t* out) -> Status {
      std::optional<int64_t> n = ParseInt(value, min, max);
      if (!n) {
        return UrlError("option " + std::string(name) + " must be a number in " +
                        std::to_string(min) + ".." + std::to_string(max) + ", not " + Quote(value));
      }
      *out = *n;
      return absl::OkStatus();
    };
    int64_t n = 0;
    if (name == "prefix") {
      if (value.empty()) return UrlError("option prefix is empty");
      o.key_prefix = value;
    } else if (name == "refresh_ms") {
      RETURN_IF_ERROR(number(0, 86400000, &o.refresh_interval_ms));
    } else if (name == "connect_timeout_ms") {
      RETURN_IF_ERROR(number(1, 3600000, &o.connect_timeout_ms));
    } else if (name == "timeout_ms") {
      RETURN_IF_ERROR(number(1, 3600000, &o.io_timeout_ms));
    } else if (name == "pool_size") {
      RETURN_IF_ERROR(number(1, 256, &n));
      o.pool_size = static_cast<int>(n);
    } else {
      return UrlError("unknown option " + Quote(name) +
                      " (known: prefix, refresh_ms, connect_timeout_ms, timeout_ms, pool_size)");
    }
  }
  return o;
}

// ---- the store ----

struct RedisOnlineStore::Reply {
  struct Free {
    void operator()(redisReply* r) const { freeReplyObject(r); }
  };
  std::unique_ptr<redisReply, Free> reply;
  const redisReply* operator->() const { return reply.get(); }
};

struct RedisOnlineStore::Connection {
  explicit Connection(redisContext* c) : context(c) {}
  ~Connection() { redisFree(context); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  redisContext* context;
  // False until the first command after connecting: a fresh connection that fails is not retried.
  bool used = false;
};

// What a Read returns for one view while its pointer is unchanged.
struct RedisOnlineStore::Slot {
  StatusOr<std::shared_ptr<const OnlineView>> Current() const {
    if (!error.ok()) return error;
    return state;
  }

  std::mutex mu;        // guards the members below
  bool known = false;   // asked Redis at least once
  bool exists = false;  // the pointer existed then
  std::string version;  // what it held (when exists)
  // The decoded value, or (when it failed to verify) nullptr and the DataLoss it got.
  std::shared_ptr<const OnlineView> state;
  Status error;
  SteadyTime next_check;
  // Held by the one thread asking Redis about this view, or writing it.
  std::mutex check_mu;
};

struct RedisOnlineStore::Fetched {
  bool unchanged = false;
  bool exists = false;
  std::string version;
  std::shared_ptr<const OnlineView> state;
  Status error;
};

namespace {

// A Redis error reply as a Status: transient server states are Unavailable, memory limits
// ResourceExhausted, anything else Internal.
Status ReplyError(const std::string& server, const std::string& what, std::string_view error) {
  std::string message = server + ": " + what + ": " + std::string(error.substr(0, 500));
  for (const char* transient :
       {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "NOAUTH", "NOPERM", "WRONGPASS"}) {
    const std::string_view t(transient);
    if (error.compare(0, t.size(), t) == 0) return absl::UnavailableError(message);
  }
  if (error.compare(0, 3, "OOM") == 0) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

}  // namespace

RedisOnlineStore::RedisOnlineStore(RedisOnlineStoreOptions options)
    : options_(std::move(options)), server_(ServerName(options_)) {}

RedisOnlineStore::~RedisOnlineStore() = default;

std::string RedisOnlineStore::PointerKey(const std::string& project,
                                         const std::string& view) const {
  return options_.key_prefix + project + ":" + view;
}

std::shared_ptr<RedisOnlineStore::Slot> RedisOnlineStore::GetSlot(const std::string& project,
                                                                  const std::string& view) {
  std::lock_guard<std::mutex> lock(slots_mu_);
  std::shared_ptr<Slot>& slot = slots_[project + "/" + view];
  if (slot == nullptr) slot = std::make_shared<Slot>();
  return slot;
}

StatusOr<std::unique_ptr<RedisOnlineStore::Connection>> RedisOnlineStore::Connect() {
  redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                                  ToTimeval(options_.connect_timeout_ms));
  if (context == nullptr) return absl::ResourceExhaustedError("cannot allocate a Redis client");
  auto connection = std::make_unique<Connection>(context);
  if (context->err != 0) {
    return absl::UnavailableError("cannot connect to " + server_ + ": " + context->errstr);
  }
  if (redisSetTimeout(context, ToTimeval(options_.io_timeout_ms)) != REDIS_OK) {
    return absl::UnavailableError("cannot set timeouts on the connection to " + server_ + ": " +
                                  context->errstr);
  }
  // Keepalive probes notice a peer that vanished without closing, so that an idle pooled
  // connection does not wait out a whole timeout when next used.
  redisEnableKeepAlive(context);
  auto run = [&](const std::vector<std::string>& args, const char* what) -> Status {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    SigpipeBlock block;
    Reply reply;
    reply.reply.reset(static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (reply.reply == nullptr) {
      return absl::UnavailableError(server_ + ": " + what + ": " + context->errstr);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      // Never an Internal error here: the connection cannot be used, whatever the reason.
      return absl::UnavailableError(server_ + ": " + what + " refused: " +
                                    std::string(ReplyText(reply.reply.get()).substr(0, 300)));
    }
    return absl::OkStatus();
  };
  if (!options_.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!options_.user.empty()) auth.push_back(options_.user);
    auth.push_back(options_.password);
    RETURN_IF_ERROR(run(auth, "authentication"));
  }
  if (options_.db != 0) {
    RETURN_IF_ERROR(run({"SELECT", std::to_string(options_.db)}, "selecting the database"));
  }
  return connection;
}

StatusOr<std::unique_ptr<RedisOnlineStore::Connection>> RedisOnlineStore::Acquire() {
  std::unique_lock<std::mutex> lock(pool_mu_);
  pool_cv_.wait(lock, [&] { return !idle_.empty() || open_ < options_.pool_size; });
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    return connection;
  }
  ++open_;
  lock.unlock();
  StatusOr<std::unique_ptr<Connection>> connection = Connect();
  if (!connection.ok()) {
    lock.lock();
    --open_;
    pool_cv_.notify_one();
  }
  return connection;
}

void RedisOnlineStore::Release(std::unique_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  // A connection that saw an I/O or protocol error is closed: hiredis cannot use it again.
  if (connection->context->err != 0) {
    connection.reset();
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  pool_cv_.notify_one();
}

StatusOr<RedisOnlineStore::Reply> RedisOnlineStore::Command(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection, Acquire());
    const bool reused = connection->used;
    connection->used = true;
    Reply reply;
    bool timed_out = false;
    {
      SigpipeBlock block;
      errno = 0;
      reply.reply.reset(static_cast<redisReply*>(redisCommandArgv(
          connection->context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
      // hiredis reports a socket timeout as an I/O error whose errno is EAGAIN.
      timed_out = reply.reply == nullptr && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    if (reply.reply != nullptr) {
      Release(std::move(connection));
      return reply;
    }
    std::string why = connection->context->errstr;
    Release(std::move(connection));
    // A pooled connection the server closed since its last use (a restart, an idle timeout)
    // fails at once; one attempt on a new connection tells that apart from a server that is gone.
    // The other idle connections are as old, so they are closed too rather than tried in turn. A
    // timeout is not retried: the server may be busy with the command, and waiting twice helps
    // no one.
    if (attempt == 0 && reused && !timed_out) {
      std::lock_guard<std::mutex> lock(pool_mu_);
      open_ -= static_cast<int>(idle_.size());
      idle_.clear();
      pool_cv_.notify_all();
      continue;
    }
    if (timed_out) {
      return absl::UnavailableError(server_ + ": no answer within " +
                                    std::to_string(options_.io_timeout_ms) + " ms");
    }
    return absl::UnavailableError(server_ + ": " + why);
  }
}

StatusOr<RedisOnlineStore::Fetched> RedisOnlineStore::Fetch(const std::string& project,
                                                            const std::string& view,
                                                            const std::string* held_version) {
  const std::string pointer = PointerKey(project, view);
  ASSIGN_OR_RETURN(Reply reply, Command({"EVAL", kReadScript, "1", pointer,
                                         held_version != nullptr ? *held_version : "",
                                         held_version != nullptr ? "1" : "0"}));
  Fetched out;
  if (reply->type == REDIS_REPLY_ERROR) {
    return ReplyError(server_, "reading " + Quote(pointer), ReplyText(reply.reply.get()));
  }
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) return out;  // no pointer
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1 && held_version != nullptr) {
    out.unchanged = true;
    return out;
  }
  auto element = [&](size_t i) -> std::string_view {
    if (reply->type != REDIS_REPLY_ARRAY || i >= reply->elements) return {};
    const redisReply* e = reply->element[i];
    return e->type == REDIS_REPLY_STRING ? ReplyText(e) : std::string_view();
  };
  const std::string_view kind = element(0);
  out.exists = true;
  if (kind == "wrongtype") {
    out.error = absl::DataLossError("online view key " + Quote(element(1)) + " in " + server_ +
                                    " holds a " + std::string(element(2)) +
                                    ", not a string: it was not written by Plinth");
    return out;
  }
  if (kind != "view" && kind != "missing") {
    return absl::InternalError(server_ + ": unexpected answer to the online view read script");
  }
  out.version = std::string(element(1));
  if (!IsVersion(out.version)) {
    out.error = absl::DataLossError("online view pointer " + Quote(pointer) + " in " + server_ +
                                    " holds " + Quote(out.version) + ", not a version");
    return out;
  }
  const std::string key = pointer + ":" + out.version;
  if (kind == "missing") {
    out.error = absl::DataLossError("online view pointer " + Quote(pointer) + " in " + server_ +
                                    " names version " + out.version + ", whose key " + Quote(key) +
                                    " is missing");
    return out;
  }
  StatusOr<std::shared_ptr<const OnlineView>> decoded = DecodeOnlineView(
      element(2), "online view " + Quote(key) + " in " + server_, project, view, out.version);
  if (decoded.ok()) {
    out.state = *std::move(decoded);
  } else {
    out.error = decoded.status();
  }
  return out;
}

StatusOr<std::shared_ptr<const OnlineView>> RedisOnlineStore::Read(const std::string& project,
                                                                   const std::string& view) {
  // Names never hold a ':', which separates the parts of keys.
  RETURN_IF_ERROR(ValidateOnlineNames(project, view));
  std::shared_ptr<Slot> slot = GetSlot(project, view);
  const bool caching = options_.refresh_interval_ms > 0;
  if (caching) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->known && std::chrono::steady_clock::now() < slot->next_check) {
      return slot->Current();
    }
  }
  std::unique_lock<std::mutex> check(slot->check_mu, std::defer_lock);
  if (caching && !check.try_lock()) {
    {
      // Another thread is asking Redis about this view: serve what is known meanwhile rather
      // than queue behind a round trip (or a large value's transfer).
      std::lock_guard<std::mutex> lock(slot->mu);
      if (slot->known) return slot->Current();
    }
    check.lock();
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->known && std::chrono::steady_clock::now() < slot->next_check) {
      return slot->Current();
    }
  } else if (!caching) {
    check.lock();
  } else {
    // Another thread may have asked between the check above and taking check_mu.
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->known && std::chrono::steady_clock::now() < slot->next_check) {
      return slot->Current();
    }
  }

  bool held = false;
  std::string held_version;
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    held = slot->known && slot->exists;
    held_version = slot->version;
  }
  const SteadyTime asked = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Fetched fetched, Fetch(project, view, held ? &held_version : nullptr));
  std::lock_guard<std::mutex> lock(slot->mu);
  slot->next_check = asked + std::chrono::milliseconds(options_.refresh_interval_ms);
  if (!fetched.unchanged) {
    slot->known = true;
    slot->exists = fetched.exists;
    slot->version = std::move(fetched.version);
    slot->state = std::move(fetched.state);
    slot->error = std::move(fetched.error);
  }
  return slot->Current();
}

Status RedisOnlineStore::Write(OnlineView view) {
  auto state = std::make_shared<OnlineView>(std::move(view));
  RETURN_IF_ERROR(PrepareOnlineView(state.get()));
  std::string header_sha256;
  ASSIGN_OR_RETURN(std::string contents, EncodeOnlineView(*state, &header_sha256));
  std::vector<std::string> args = {"EVAL", kWriteScript, "1",
                                   PointerKey(state->project, state->view)};
  args.reserve(6);
  args.push_back(std::move(contents));
  const std::string version = header_sha256.substr(sizeof(kDigestPrefix) - 1);
  args.push_back(version);

  std::shared_ptr<Slot> slot = GetSlot(state->project, state->view);
  // Held across the script and the swap, so that in this process the stored and the cached state
  // change together, in the same order for concurrent writers.
  std::lock_guard<std::mutex> check(slot->check_mu);
  const SteadyTime asked = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Reply reply, Command(args));
  const std::string& pointer = args[3];
  if (reply->type == REDIS_REPLY_ERROR) {
    return ReplyError(server_, "writing " + Quote(pointer), ReplyText(reply.reply.get()));
  }
  if (reply->type == REDIS_REPLY_ARRAY) {
    std::string type = reply->elements >= 3 && reply->element[2]->type == REDIS_REPLY_STRING
                           ? std::string(ReplyText(reply->element[2]))
                           : "value of another type";
    return absl::FailedPreconditionError("cannot write online view: key " + Quote(pointer) +
                                         " in " + server_ + " holds a " + type +
                                         ", not a version; it was not written by Plinth (remove "
                                         "it, or choose another key prefix)");
  }
  if (reply->type != REDIS_REPLY_INTEGER || reply->integer != 1) {
    return absl::InternalError(server_ + ": unexpected answer to the online view write script");
  }
  std::lock_guard<std::mutex> lock(slot->mu);
  slot->known = true;
  slot->exists = true;
  slot->version = version;
  slot->state = std::move(state);
  slot->error = absl::OkStatus();
  slot->next_check = asked + std::chrono::milliseconds(options_.refresh_interval_ms);
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<OnlineStore>> OpenOnlineStore(const std::string& location) {
  if (location.empty()) return absl::InvalidArgumentError("the online store location is empty");
  if (location.compare(0, 8, "redis://") == 0) {
    ASSIGN_OR_RETURN(RedisOnlineStoreOptions options, ParseRedisUrl(location));
    return std::unique_ptr<OnlineStore>(std::make_unique<RedisOnlineStore>(std::move(options)));
  }
  if (size_t scheme = location.find("://"); scheme != std::string::npos) {
    // Only the scheme is shown: the rest may hold a password.
    return absl::InvalidArgumentError("unsupported online store location scheme " +
                                      Quote(location.substr(0, scheme)) +
                                      ": give a redis:// URL or a folder");
  }
  return std::unique_ptr<OnlineStore>(std::make_unique<LocalOnlineStore>(location));
}

}  // namespace plinth
