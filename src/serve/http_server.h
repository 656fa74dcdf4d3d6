// The evented HTTP/1.1 server under the inference server and the edge binary (Boost.Beast on
// Asio). A few I/O threads hold any number of keep-alive connections; no thread is tied to a
// connection.
//
// What a caller can rely on:
// - HTTP/1.1 keep-alive by default; HTTP/1.0 keeps the connection only with "Connection:
//   keep-alive". Requests on one connection are answered in order, one at a time (a pipelined
//   request is read after the previous response is written).
// - Every response carries Content-Length (except 204) and "Server: <server_name>". A response to
//   HEAD carries the headers the handler's response would have, without the body. "Expect:
//   100-continue" is answered with 100 Continue once the headers are accepted.
// - Bounded: headers beyond max_header_bytes get 431, bodies beyond max_body_bytes 413 (the
//   declared length is checked before the body is read), an unparseable request 400, an HTTP
//   version other than 1.0/1.1 505; all four close the connection. Error bodies are JSON,
//   {"error": "..."}.
// - Slow clients: a started request must arrive whole within read_timeout (else 408 and the
//   connection is closed); a response must be taken by the client within read_timeout (else the
//   connection is closed); an idle keep-alive connection is closed after idle_timeout.
// - Overload: connections beyond max_connections are answered 429 with "Retry-After: 1" and
//   closed; with a handler pool, a full queue gives 429 and a stale queued request 503.
// - A handler that throws gives 500 {"error": "internal error"}; the server keeps serving. A
//   response whose status is outside 200..599 or whose content type, header names or values hold
//   CR, LF or NUL is replaced by 500 too (it could not be framed safely).
// - TCP_NODELAY on every accepted socket; SO_REUSEADDR (not SO_REUSEPORT, so a second server
//   cannot bind the same port and take half of the connections) on the listening socket.
//
// The handler is called from several threads at once (the I/O threads, or the handler pool) and
// must be thread-safe. It must return: Shutdown waits for running handlers.
#ifndef PLINTH_SERVE_HTTP_SERVER_H_
#define PLINTH_SERVE_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace plinth {

namespace http_internal {
class ServerCore;
}  // namespace http_internal

// One request as read from the wire. Valid only during the handler call: the server reuses the
// object (and its buffers) for the connection's next request.
struct HttpRequest {
  std::string method;  // as sent: "GET", "POST", ... (case-sensitive, per RFC 9110)
  std::string target;  // as sent: path plus query
  std::string path;    // target before '?', not decoded
  std::string query;   // target after '?', not decoded; empty without '?'
  std::string body;    // the whole body (chunked bodies are de-chunked)
  // Every header in the order sent, names lower-cased, values as sent (without surrounding
  // whitespace). A repeated header appears once per occurrence.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote;  // peer address "ip:port" ("[ip6]:port" for IPv6)
  int version = 11;    // HTTP version times ten: 10 or 11

  // The value of the first header named `lower_name` (lower-case), or "" if absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;                               // 200..599
  std::string content_type = "application/json";  // empty: no Content-Type header
  std::string body;
  // Extra headers, written as given. Content-Length, Transfer-Encoding and Connection are the
  // server's: handler-supplied ones are dropped, except that "Connection: close" closes the
  // connection after this response.
  std::vector<std::pair<std::string, std::string>> headers;
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

struct HttpServerOptions {
  // Address to listen on: an IPv4 or IPv6 literal ("[::1]" too), a name the resolver knows (the
  // first address it gives), or "" for every IPv4 interface.
  std::string host = "127.0.0.1";
  int port = 0;        // 0: a free port, see HttpServer::port()
  int io_threads = 2;  // threads running the event loops, 1..256
  // 0: the handler runs on the I/O thread that read the request (fastest; overload shows as
  // connections over max_connections). > 0: a pool of this many threads runs handlers, fed by a
  // bounded queue of max_pending requests; a request that finds the queue full is answered 429
  // at once without running the handler, and one that waited longer than queue_timeout is
  // answered 503 without running it.
  int handler_threads = 0;
  size_t max_pending = 1024;  // >= 1; queued requests (not counting running handlers)
  std::chrono::milliseconds queue_timeout{1000};
  size_t max_header_bytes = 16 * 1024;  // request line plus headers; beyond: 431
  size_t max_body_bytes = 4 << 20;      // beyond: 413, connection closed
  size_t max_connections = 10000;       // beyond: answered 429 (Retry-After: 1) and closed
  // A started request must arrive whole within this, else the connection is closed (408 if
  // possible). Also bounds the time a client may take to read a response, and (capped at 1 s) how
  // long a connection being closed waits for the client's end, so the last response is not lost
  // to a reset.
  std::chrono::milliseconds read_timeout{10000};
  // An idle keep-alive connection (or one that connected and sent nothing) is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  std::string server_name = "plinth";  // the Server header; empty: none
};

class HttpServer {
 public:
  // Binds and listens (SO_REUSEADDR; TCP_NODELAY on accepted sockets) and starts the threads
  // (io_threads event loops, one accepting thread, handler_threads handler threads).
  // Unavailable naming the address when it cannot bind; InvalidArgument for bad options or a
  // host that does not resolve.
  static StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                     HttpHandler handler);
  ~HttpServer();  // Shutdown(std::chrono::milliseconds(0)) if not yet shut down

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port listened on (the chosen one when options.port was 0).
  int port() const;

  // Graceful: stops accepting at once (new connections are refused); requests already read are
  // handled and their responses written (keep-alive connections get Connection: close on that
  // response); idle connections are closed; waits at most `grace` for that, then closes
  // everything, waits for running handlers to return and joins all threads. Idempotent and
  // thread-safe (may be called from a signal-watching thread); must not be called from a handler.
  void Shutdown(std::chrono::milliseconds grace);

  // Counters since Start. Reading them is cheap and lock-free; each is exact, but they are read
  // one after another, not as one snapshot.
  struct Stats {
    uint64_t connections_open = 0;      // admitted connections not yet closed
    uint64_t connections_accepted = 0;  // admitted connections (not those refused with 429)
    uint64_t requests = 0;              // requests read whole (including those refused 429/503)
    uint64_t rejected_busy = 0;  // 429: connections over max_connections, requests on a full queue
    uint64_t rejected_queue_timeout = 0;  // 503: requests that waited over queue_timeout
    uint64_t rejected_too_large = 0;      // 413 and 431
    uint64_t bad_requests = 0;            // 400 and 505
    uint64_t timeouts = 0;        // read_timeout expired reading a request or writing a response
    uint64_t handler_errors = 0;  // handlers that threw, and invalid responses (both 500)
  };
  Stats stats() const;

 private:
  explicit HttpServer(std::unique_ptr<http_internal::ServerCore> core);
  std::unique_ptr<http_internal::ServerCore> core_;
};

}  // namespace plinth

#endif  // PLINTH_SERVE_HTTP_SERVER_H_
