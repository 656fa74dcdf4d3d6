#include "api/http_server.h"

#include <httplib.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "api/openapi.h"
#include "core/errors.h"
#include "core/ids.h"
#include "core/random.h"

namespace plinth {
namespace {

constexpr char kJson[] = "application/json";

// Hands request-body chunks from the HTTP thread (push) to the artifact store (pull), holding at
// most a few chunks, so an upload streams in constant memory.
class ChunkChannel {
 public:
  bool Push(const char* data, size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kMaxChunks || cancelled_; });
    if (cancelled_) return false;
    queue_.emplace_back(data, n);
    cv_.notify_all();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  // The producer could not deliver the whole body: the consumer's next Pull fails.
  void Fail() {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
    closed_ = true;
    cv_.notify_all();
  }
  StatusOr<size_t> Pull(char* buf, size_t cap) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (failed_) {
      return absl::InvalidArgumentError(
          "the upload ended before its declared length; nothing was stored");
    }
    if (queue_.empty()) return size_t{0};
    std::string& front = queue_.front();
    size_t n = std::min(cap, front.size() - offset_);
    std::memcpy(buf, front.data() + offset_, n);
    offset_ += n;
    if (offset_ == front.size()) {
      queue_.pop_front();
      offset_ = 0;
      cv_.notify_all();
    }
    return n;
  }

 private:
  static constexpr size_t kMaxChunks = 16;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t offset_ = 0;
  bool closed_ = false;
  bool cancelled_ = false;
  bool failed_ = false;
};

bool IsSafeRequestId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string RequestIdOf(const httplib::Request& req) {
  std::string id = req.get_header_value("X-Request-Id");
  return IsSafeRequestId(id) ? id : NewId(*SystemClock());
}

std::string BearerToken(const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
    return auth.substr(kBearer.size());
  }
  // A present but unusable header is a malformed token, not a missing one.
  return auth.empty() ? "" : "invalid";
}

void SetRequestId(httplib::Response& res, const std::string& rid) {
  res.headers.erase("X-Request-Id");
  res.set_header("X-Request-Id", rid);
}

void SendJson(httplib::Response& res, int status, const Json& body, const std::string& rid) {
  res.status = status;
  SetRequestId(res, rid);
  res.set_content(DumpJson(body), kJson);
}

void SendError(httplib::Response& res, const Status& status, const std::string& rid,
               int http_status = 0) {
  Json body = {{"error",
                {{"code", WireCodeFor(status.code())},
                 {"message", std::string(status.message())},
                 {"request_id", rid}}}};
  SendJson(res, http_status != 0 ? http_status : HttpStatusFor(status), body, rid);
}

std::string RoutePattern(const std::string& path, std::vector<std::string>* path_fields) {
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  std::string pattern;
  auto begin = std::sregex_iterator(path.begin(), path.end(), kParam);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    // A parameter may match slashes, so a name like "a/../b" reaches the operation and is
    // refused there with the same error as in process, not "no such endpoint".
    pattern += path.substr(last, it->position() - last) + "(.+)";
    path_fields->push_back((*it)[1]);
    last = it->position() + it->length();
  }
  return pattern + path.substr(last);
}

// The operation's request from the HTTP request: path fields, then query fields (typed by the
// spec) for GET, DELETE and uploads (whose body is the bytes), or the JSON body otherwise.
StatusOr<Json> BuildRequest(const OperationSpec& spec, const std::vector<std::string>& fields,
                            const httplib::Request& req) {
  Json request = Json::object();
  bool body_request = spec.method == "POST" || spec.method == "PUT";
  if (body_request && spec.payload == Payload::kJson && !req.body.empty()) {
    ASSIGN_OR_RETURN(request, ParseJson(req.body));
    if (!request.is_object()) {
      return absl::InvalidArgumentError("the request body must be a JSON object");
    }
  }
  // Only GET, DELETE and uploads take query fields; a POST body is JSON whatever its content type
  // says.
  if (!body_request || spec.payload == Payload::kBytesIn) {
    for (const auto& [key, value] : req.params) {
      const FieldSpec* field = nullptr;
      for (const auto& f : spec.fields) {
        if (f.name == key && f.in == FieldIn::kQuery) field = &f;
      }
      if (field == nullptr) {
        return absl::InvalidArgumentError(spec.name + ": unknown query parameter '" +
                                          key.substr(0, 64) + "'");
      }
      if (field->type == FieldType::kInteger) {
        int64_t n = 0;
        if (!absl::SimpleAtoi(value, &n)) {
          return absl::InvalidArgumentError(spec.name + ": query parameter '" + key +
                                            "' must be an integer");
        }
        request[key] = n;
      } else if (field->type == FieldType::kBoolean) {
        request[key] = value == "true" || value == "1";
      } else {
        request[key] = value;
      }
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (request.contains(fields[i])) {
      return absl::InvalidArgumentError(spec.name + ": field '" + fields[i] +
                                        "' belongs in the URL path, not the body");
    }
    request[fields[i]] = req.matches[i + 1].str();
  }
  return request;
}

}  // namespace

struct ApiServer::Impl {
  Platform* platform;
  ApiServerOptions options;
  httplib::Server server;
  int bound_port = 0;
  std::vector<std::pair<std::string, std::regex>> upload_routes;  // method, path

  void RegisterJson(const OperationSpec& spec) {
    std::vector<std::string> fields;
    std::string pattern = RoutePattern(spec.path, &fields);
    auto handler = [this, &spec, fields](const httplib::Request& req, httplib::Response& res) {
      std::string rid = RequestIdOf(req);
      auto request = BuildRequest(spec, fields, req);
      if (!request.ok()) return SendError(res, request.status(), rid);
      auto result = platform->Call(spec.name, BearerToken(req), *request, rid);
      if (!result.ok()) return SendError(res, result.status(), rid);
      SendJson(res, spec.method == "POST" && spec.mutating ? 201 : 200, *result, rid);
    };
    Route(spec.method, pattern, handler);
  }

  void Route(const std::string& method, const std::string& pattern,
             const httplib::Server::Handler& handler) {
    if (method == "GET") server.Get(pattern, handler);
    if (method == "POST") server.Post(pattern, handler);
    if (method == "PUT") server.Put(pattern, handler);
    if (method == "DELETE") server.Delete(pattern, handler);
  }

  // A bytes-in operation (artifact.put, data.register): the body streams through a ChunkChannel
  // into Platform::CallUpload, with the request's path and query fields beside it.
  void RegisterUpload(const OperationSpec& spec) {
    std::vector<std::string> fields;
    std::string pattern = RoutePattern(spec.path, &fields);
    upload_routes.emplace_back(spec.method, std::regex(pattern));
    server.Put(pattern, [this, &spec, fields](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
      std::string rid = RequestIdOf(req);
      auto request = BuildRequest(spec, fields, req);
      if (!request.ok()) return SendError(res, request.status(), rid);
      ChunkChannel channel;
      StatusOr<Json> result = absl::InternalError("upload did not run");
      std::thread consumer([&] {
        result = platform->CallUpload(
            spec.name, BearerToken(req), *request,
            [&](char* buf, size_t cap) { return channel.Pull(buf, cap); }, rid);
        channel.Cancel();
      });
      uint64_t declared = 0, received = 0;
      bool has_length = absl::SimpleAtoi(req.get_header_value("Content-Length"), &declared);
      bool complete = reader([&](const char* data, size_t n) {
        received += n;
        return channel.Push(data, n);
      });
      if (complete && (!has_length || received == declared)) {
        channel.Close();
      } else {
        channel.Fail();
      }
      consumer.join();
      if (!result.ok()) return SendError(res, result.status(), rid);
      SendJson(res, 201, *result, rid);
    });
  }

  void RegisterArtifactGet(const OperationSpec& spec) {
    std::vector<std::string> fields;
    std::string pattern = RoutePattern(spec.path, &fields);
    server.Get(pattern, [this](const httplib::Request& req, httplib::Response& res) {
      std::string rid = RequestIdOf(req);
      std::string digest = req.matches[1].str();
      std::string token = BearerToken(req);
      // Authorise and verify now, so errors get a proper status; then stream the bytes.
      int64_t size = -1;
      Status s = platform->GetArtifact(
          token, digest,
          [&](int64_t n) {
            size = n;
            return absl::CancelledError("checked");  // stop before streaming
          },
          [](const char*, size_t) { return absl::OkStatus(); }, rid);
      if (!absl::IsCancelled(s)) return SendError(res, s, rid);
      SetRequestId(res, rid);
      std::string raw;
      if (HexDecode(digest.substr(7), &raw)) {
        res.set_header("Content-Digest", "sha-256=:" + Base64Encode(raw) + ":");  // RFC 9530
      }
      if (size == 0) {
        res.set_content("", "application/octet-stream");
        return;
      }
      Platform* p = platform;
      res.set_content_provider(static_cast<size_t>(size), "application/octet-stream",
                               [p, digest](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset != 0) return false;
                                 // Authorised and verified above; Get verifies again as it streams.
                                 Status st = p->artifacts().Get(
                                     digest, [&](const char* data, size_t n) -> Status {
                                       if (!sink.write(data, n))
                                         return absl::CancelledError("client went away");
                                       return absl::OkStatus();
                                     });
                                 return st.ok();
                               });
    });
  }

  void RegisterAuditExport(const OperationSpec& spec) {
    server.Get(spec.path, [this](const httplib::Request& req, httplib::Response& res) {
      std::string rid = RequestIdOf(req);
      std::ostringstream out;
      Status s = platform->ExportAudit(BearerToken(req), out, rid);
      if (!s.ok()) return SendError(res, s, rid);
      SetRequestId(res, rid);
      res.set_content(out.str(), "application/x-ndjson");
    });
  }

  bool IsUploadRoute(const httplib::Request& req) const {
    for (const auto& [method, re] : upload_routes) {
      if (req.method == method && std::regex_match(req.path, re)) return true;
    }
    return false;
  }
};

ApiServer::ApiServer(Platform* platform, ApiServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->platform = platform;
  impl_->options = options;
  httplib::Server& svr = impl_->server;
  Impl* impl = impl_.get();
  int threads = options.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_tcp_nodelay(true);
  // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, which would let a second
  // server bind the same port and take half of the connections.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  svr.set_keep_alive_max_count(100000);
  svr.set_keep_alive_timeout(10);
  svr.set_read_timeout(options.read_timeout_seconds);
  svr.set_write_timeout(options.write_timeout_seconds);
  svr.set_payload_max_length(static_cast<size_t>(int64_t{64} << 30));

  size_t max_body = options.max_body_bytes;
  svr.set_pre_routing_handler(
      [impl, max_body](const httplib::Request& req, httplib::Response& res) {
        if (impl->IsUploadRoute(req)) return httplib::Server::HandlerResponse::Unhandled;
        std::string length = req.get_header_value("Content-Length");
        uint64_t n = 0;
        if (!length.empty() && (!absl::SimpleAtoi(length, &n) || n > max_body)) {
          SendError(res,
                    absl::ResourceExhaustedError("request body larger than " +
                                                 std::to_string(max_body) + " bytes"),
                    RequestIdOf(req), 413);
          return httplib::Server::HandlerResponse::Handled;
        }
        bool has_body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
        if (req.has_header("Transfer-Encoding") || (has_body_method && length.empty())) {
          SendError(res, absl::InvalidArgumentError("request bodies must carry a Content-Length"),
                    RequestIdOf(req), 411);
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message =
            res.status == 404 ? "no such endpoint: " + req.method + " " + req.path.substr(0, 200)
                              : "request failed";
        absl::StatusCode code = res.status == 404   ? absl::StatusCode::kNotFound
                                : res.status == 413 ? absl::StatusCode::kResourceExhausted
                                : res.status < 500  ? absl::StatusCode::kInvalidArgument
                                                    : absl::StatusCode::kInternal;
        int status = res.status;
        SendError(res, Status(code, message), RequestIdOf(req), status);
        return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        SendError(res, absl::InternalError("internal error"), RequestIdOf(req), 500);
      });

  svr.Get("/api/v1/health", [](const httplib::Request& req, httplib::Response& res) {
    SendJson(res, 200, {{"status", "ok"}}, RequestIdOf(req));
  });
  static const std::string openapi = BuildOpenApiDocument().dump(2);
  svr.Get("/api/v1/openapi.json", [](const httplib::Request& req, httplib::Response& res) {
    SetRequestId(res, RequestIdOf(req));
    res.set_content(openapi, kJson);
  });
  // A path field matches slashes too, and cpp-httplib takes the first route that matches, so the
  // routes with more literal segments go first: .../versions/{version}/verify must not be read
  // as model.show of version "1/verify".
  std::vector<const OperationSpec*> routes;
  for (const auto& spec : Operations()) routes.push_back(&spec);
  auto literal_segments = [](const std::string& path) {
    int n = 0;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '/' && i + 1 < path.size() && path[i + 1] != '{') ++n;
    }
    return n;
  };
  std::stable_sort(routes.begin(), routes.end(),
                   [&](const OperationSpec* a, const OperationSpec* b) {
                     return literal_segments(a->path) > literal_segments(b->path);
                   });
  for (const OperationSpec* route : routes) {
    const OperationSpec& spec = *route;
    if (spec.payload == Payload::kBytesIn) {
      impl_->RegisterUpload(spec);
    } else if (spec.name == "artifact.get") {
      impl_->RegisterArtifactGet(spec);
    } else if (spec.name == "audit.export") {
      impl_->RegisterAuditExport(spec);
    } else {
      impl_->RegisterJson(spec);
    }
  }
}

ApiServer::~ApiServer() { Stop(); }

Status ApiServer::Bind() {
  httplib::Server& svr = impl_->server;
  if (impl_->options.port == 0) {
    int port = svr.bind_to_any_port(impl_->options.host);
    if (port <= 0) {
      return absl::UnavailableError("cannot listen on " + impl_->options.host);
    }
    impl_->bound_port = port;
  } else {
    if (!svr.bind_to_port(impl_->options.host, impl_->options.port)) {
      return absl::UnavailableError("cannot listen on " + impl_->options.host + ":" +
                                    std::to_string(impl_->options.port) +
                                    " (address in use or not local)");
    }
    impl_->bound_port = impl_->options.port;
  }
  return absl::OkStatus();
}

int ApiServer::port() const { return impl_->bound_port; }

Status ApiServer::Serve() {
  if (!impl_->server.listen_after_bind()) {
    return absl::InternalError("the server stopped unexpectedly");
  }
  return absl::OkStatus();
}

void ApiServer::Stop() { impl_->server.stop(); }

Status ParseListenAddress(const std::string& text, std::string* host, int* port) {
  std::string h = "127.0.0.1";
  std::string p = text;
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.empty()) h = "127.0.0.1";
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  }
  int n = 0;
  if (!absl::SimpleAtoi(p, &n) || n < 0 || n > 65535) {
    return absl::InvalidArgumentError("listen address '" + text +
                                      "' is not HOST:PORT (e.g. 127.0.0.1:8080)");
  }
  *host = h;
  *port = n;
  return absl::OkStatus();
}

}  // namespace plinth
