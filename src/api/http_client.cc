#include "api/http_client.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "core/random.h"

namespace plinth {
namespace {

Status StatusFromResponse(int http_status, const std::string& body) {
  auto json = ParseJson(body);
  if (json.ok() && json->is_object() && json->contains("error") && (*json)["error"].is_object()) {
    const Json& e = (*json)["error"];
    std::string code = e.value("code", "unknown");
    std::string message = e.value("message", "request failed");
    return Status(StatusCodeFromWire(code), message);
  }
  absl::StatusCode code = http_status == 404   ? absl::StatusCode::kNotFound
                          : http_status == 401 ? absl::StatusCode::kUnauthenticated
                          : http_status == 403 ? absl::StatusCode::kPermissionDenied
                          : http_status == 413 ? absl::StatusCode::kResourceExhausted
                                               : absl::StatusCode::kInternal;
  return Status(code, "server answered HTTP " + std::to_string(http_status));
}

}  // namespace

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct HttpPlatformClient::Impl {
  std::string base_url;
  std::string token;
  std::unique_ptr<httplib::Client> client;

  httplib::Headers Headers() const {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    h.emplace("X-Request-Id", RandomHex(8));
    return h;
  }

  Status Unreachable(const httplib::Result& res) const {
    return absl::UnavailableError("cannot reach the Plinth server at " + base_url + ": " +
                                  httplib::to_string(res.error()));
  }
};

StatusOr<std::unique_ptr<HttpPlatformClient>> HttpPlatformClient::Create(
    const std::string& base_url, const std::string& token) {
  if (base_url.rfind("http://", 0) != 0 && base_url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError("server URL '" + base_url +
                                      "' must start with http:// or https://");
  }
  std::unique_ptr<HttpPlatformClient> c(new HttpPlatformClient());
  c->impl_ = std::make_unique<Impl>();
  c->impl_->base_url = base_url;
  while (!c->impl_->base_url.empty() && c->impl_->base_url.back() == '/') {
    c->impl_->base_url.pop_back();
  }
  c->impl_->token = token;
  c->impl_->client = std::make_unique<httplib::Client>(c->impl_->base_url);
  if (!c->impl_->client->is_valid()) {
    return absl::InvalidArgumentError("server URL '" + base_url + "' is not valid");
  }
  c->impl_->client->set_tcp_nodelay(true);
  c->impl_->client->set_connection_timeout(10);
  c->impl_->client->set_read_timeout(300);
  c->impl_->client->set_write_timeout(300);
  return c;
}

HttpPlatformClient::~HttpPlatformClient() = default;

namespace {

// The URL of operation `spec` for `request`: its path with the path fields filled in and, when
// `query` is set, the other fields as a query string; otherwise they are left in `*body`.
StatusOr<std::string> OperationUrl(const OperationSpec& spec, const Json& request, bool query,
                                   Json* body) {
  *body = request.is_object() ? request : Json::object();
  std::string path = spec.path;
  for (const auto& f : spec.fields) {
    if (f.in != FieldIn::kPath) continue;
    std::string value = body->contains(f.name) && (*body)[f.name].is_string()
                            ? (*body)[f.name].get<std::string>()
                            : "";
    if (value.empty()) {
      return absl::InvalidArgumentError(spec.name + ": missing required field '" + f.name + "'");
    }
    path.replace(path.find("{" + f.name + "}"), f.name.size() + 2, UrlEncode(value));
    body->erase(f.name);
  }
  if (!query) return path;
  std::string text;
  for (const auto& [key, value] : body->items()) {
    if (value.is_null()) continue;
    text += (text.empty() ? "?" : "&") + UrlEncode(key) + "=" +
            UrlEncode(value.is_string() ? value.get<std::string>() : DumpJson(value));
  }
  *body = Json::object();
  return path + text;
}

}  // namespace

StatusOr<Json> HttpPlatformClient::Call(const std::string& op, const Json& request) {
  const OperationSpec* spec = FindOperation(op);
  if (spec == nullptr) return absl::NotFoundError("unknown operation '" + op + "'");
  bool query = spec->method == "GET" || spec->method == "DELETE";
  Json body;
  ASSIGN_OR_RETURN(std::string path, OperationUrl(*spec, request, query, &body));
  httplib::Result res{nullptr, httplib::Error::Unknown};
  if (query) {
    res = spec->method == "GET" ? impl_->client->Get(path, impl_->Headers())
                                : impl_->client->Delete(path, impl_->Headers());
  } else if (spec->method == "POST") {
    res = impl_->client->Post(path, impl_->Headers(), DumpJson(body), "application/json");
  } else {
    res = impl_->client->Put(path, impl_->Headers(), DumpJson(body), "application/json");
  }
  if (!res) return impl_->Unreachable(res);
  if (res->status >= 300) return StatusFromResponse(res->status, res->body);
  auto json = ParseJson(res->body);
  if (!json.ok()) return absl::InternalError("the server sent malformed JSON");
  return *json;
}

StatusOr<Json> HttpPlatformClient::Upload(const std::string& op, const Json& request,
                                          const std::string& path, const ProgressFn& progress) {
  const OperationSpec* spec = FindOperation(op);
  if (spec == nullptr || spec->payload != Payload::kBytesIn) {
    return absl::NotFoundError("unknown upload operation '" + op + "'");
  }
  Json unused;
  ASSIGN_OR_RETURN(std::string url, OperationUrl(*spec, request, true, &unused));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(path + " is not a regular file");
  }
  size_t total = static_cast<size_t>(st.st_size);
  std::vector<char> buf(1 << 20);
  auto res = impl_->client->Put(
      url, impl_->Headers(), total,
      [&](size_t offset, size_t length, httplib::DataSink& sink) {
        size_t want = std::min(length, buf.size());
        ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset));
        if (n <= 0) return false;
        if (progress) progress(static_cast<int64_t>(offset + n), static_cast<int64_t>(total));
        return sink.write(buf.data(), static_cast<size_t>(n));
      },
      "application/octet-stream");
  ::close(fd);
  if (!res) return impl_->Unreachable(res);
  if (res->status >= 300) return StatusFromResponse(res->status, res->body);
  auto json = ParseJson(res->body);
  if (!json.ok()) return absl::InternalError("the server sent malformed JSON");
  return *json;
}

Status HttpPlatformClient::GetArtifact(const std::string& digest, const std::string& out_path,
                                       const ProgressFn& progress) {
  VerifiedFileWriter writer(out_path, digest);
  int status = 0;
  int64_t total = -1, done = 0;
  std::string error_body;
  Status write_status = absl::OkStatus();
  auto res = impl_->client->Get(
      "/api/v1/artifacts/" + UrlEncode(digest), impl_->Headers(),
      [&](const httplib::Response& r) {
        status = r.status;
        if (r.has_header("Content-Length")) {
          total = std::atoll(r.get_header_value("Content-Length").c_str());
        }
        return true;
      },
      [&](const char* data, size_t n) {
        if (status >= 300) {
          if (error_body.size() < (1 << 16)) error_body.append(data, n);
          return true;
        }
        write_status = writer.Write(data, n);
        done += static_cast<int64_t>(n);
        if (progress) progress(done, total);
        return write_status.ok();
      });
  if (!write_status.ok()) return write_status;
  if (!res) return impl_->Unreachable(res);
  if (status >= 300) return StatusFromResponse(status, error_body);
  return writer.Finish();
}

Status HttpPlatformClient::ExportAudit(const std::string& out_path) {
  auto res = impl_->client->Get("/api/v1/audit/export", impl_->Headers());
  if (!res) return impl_->Unreachable(res);
  if (res->status >= 300) return StatusFromResponse(res->status, res->body);
  std::string tmp = out_path + ".tmp-" + RandomHex(4);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return absl::InvalidArgumentError("cannot write " + out_path);
  bool ok = std::fwrite(res->body.data(), 1, res->body.size(), f) == res->body.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError("cannot write " + out_path);
  }
  return absl::OkStatus();
}

Status PostJson(const std::string& url, const std::string& body) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos ||
      (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    return absl::InvalidArgumentError("URL '" + url + "' must start with http:// or https://");
  }
  size_t path = url.find('/', scheme + 3);
  const std::string origin = path == std::string::npos ? url : url.substr(0, path);
  const std::string target = path == std::string::npos ? "/" : url.substr(path);
  httplib::Client client(origin);
  if (!client.is_valid()) return absl::InvalidArgumentError("URL '" + url + "' is not valid");
  client.set_connection_timeout(10);
  client.set_read_timeout(30);
  httplib::Result res = client.Post(target, body, "application/json");
  if (!res) {
    return absl::UnavailableError("cannot reach " + origin + ": " +
                                  httplib::to_string(res.error()));
  }
  if (res->status < 200 || res->status >= 300) {
    return absl::InternalError("POST " + url + " answered " + std::to_string(res->status));
  }
  return absl::OkStatus();
}

}  // namespace plinth
