// The control-plane REST API: every operation of platform/operations.h under /api/v1, JSON in and
// out, errors as {"error": {"code", "message", "request_id"}}, the OpenAPI document at
// /api/v1/openapi.json and an unauthenticated GET /api/v1/health.
//
// Bounded: JSON bodies above max_body_bytes get 413 before they are read; bodies without a
// length are refused (411) except artifact uploads, which stream with their own limit; slow
// clients time out. Every response carries X-Request-Id (the client's, if well-formed).
#ifndef PLINTH_API_HTTP_SERVER_H_
#define PLINTH_API_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "platform/platform.h"

namespace plinth {

struct ApiServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port
  size_t max_body_bytes = 1 << 20;
  int threads = 32;
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 30;
};

class ApiServer {
 public:
  ApiServer(Platform* platform, ApiServerOptions options);
  ~ApiServer();

  // Binds the port. InvalidArgument for a bad address, Unavailable if the port is taken.
  Status Bind();
  // The bound port (after Bind).
  int port() const;
  // Serves until Stop() is called.
  Status Serve();
  // Thread-safe; makes Serve return.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "127.0.0.1:8080" or ":8080" or "8080" -> host and port. InvalidArgument otherwise.
Status ParseListenAddress(const std::string& text, std::string* host, int* port);

}  // namespace plinth

#endif  // PLINTH_API_HTTP_SERVER_H_
