// The platform's operations over HTTP: what the CLI uses with --server URL / PLINTH_SERVER.
// Errors come back as the Status the server had (mapped through the wire code), so a command
// exits with the same code remotely as in process. Downloads are verified against their digest
// before they appear at the output path.
#ifndef PLINTH_API_HTTP_CLIENT_H_
#define PLINTH_API_HTTP_CLIENT_H_

#include <memory>
#include <string>

#include "platform/client.h"

namespace plinth {

class HttpPlatformClient : public PlatformClient {
 public:
  // `base_url` like "http://127.0.0.1:8080". InvalidArgument if it is not an http URL.
  static StatusOr<std::unique_ptr<HttpPlatformClient>> Create(const std::string& base_url,
                                                              const std::string& token);
  ~HttpPlatformClient() override;

  StatusOr<Json> Call(const std::string& op, const Json& request) override;
  StatusOr<Json> Upload(const std::string& op, const Json& request, const std::string& path,
                        const ProgressFn& progress) override;
  Status GetArtifact(const std::string& digest, const std::string& out_path,
                     const ProgressFn& progress) override;
  Status ExportAudit(const std::string& out_path) override;

 private:
  HttpPlatformClient() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// POSTs `body` as application/json to `url` (http:// or https://, with a path), as an OpenLineage
// backend receives events. OK for a 2xx answer; Unavailable when the URL cannot be reached,
// Internal naming the status otherwise.
Status PostJson(const std::string& url, const std::string& body);

// Percent-encodes everything but unreserved characters.
std::string UrlEncode(const std::string& text);

}  // namespace plinth

#endif  // PLINTH_API_HTTP_CLIENT_H_
