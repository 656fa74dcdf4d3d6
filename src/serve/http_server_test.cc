#include "serve/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace plinth {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// How long a test client waits for any one read before it gives up; far above anything the
// server should take, so only a hang trips it.
constexpr int kClientTimeoutSeconds = 10;

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A blocking HTTP/1.1 client over one POSIX socket, enough to drive the server byte by byte.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{kClientTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }
  int fd() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // One whole response, or nullopt if the connection ended (or timed out) before one arrived.
  std::optional<Response> Read() {
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Response r;
    std::string head = in_.substr(0, end);
    in_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    r.status = std::atoi(status_line.c_str() + 9);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = line.find_first_not_of(' ', colon + 1);
        r.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = next + 2;
    }
    if (r.status == 100) return r;
    size_t length = static_cast<size_t>(std::atoll(r.Header("content-length").c_str()));
    while (in_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = in_.substr(0, length);
    in_.erase(0, length);
    return r;
  }

  std::optional<Response> RoundTrip(std::string_view request) {
    if (!Send(request)) return std::nullopt;
    return Read();
  }

  // Whether the server closed the connection: end of stream (or a reset) with nothing unread.
  bool PeerClosed() {
    if (!in_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
  std::string in_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  std::string r = "GET ";
  r.append(target).append(" HTTP/1.1\r\nHost: test\r\n").append(extra_headers).append("\r\n");
  return r;
}

std::string Post(std::string_view target, std::string_view body) {
  std::string r = "POST ";
  r.append(target)
      .append(" HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ")
      .append(std::to_string(body.size()))
      .append("\r\n\r\n")
      .append(body);
  return r;
}

// Echoes what the handler saw, one field per line, so tests can check what reached it.
void Echo(const HttpRequest& req, HttpResponse& res) {
  res.content_type = "text/plain";
  res.body = "method=" + req.method + "\ntarget=" + req.target + "\npath=" + req.path +
             "\nquery=" + req.query + "\nx-trace=" + std::string(req.Header("x-trace")) +
             "\nremote=" + req.remote + "\nbody=" + req.body;
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler) {
  StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(server).value() : nullptr;
}

// Waits (bounded) until `done` holds; for state the server reaches asynchronously.
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// A gate a handler can wait on, opened by the test.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Blocks until `n` callers are waiting (or have waited).
  void AwaitWaiters(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

TEST(HttpServerTest, GetAndPostReachTheHandler) {
  auto server = StartServer({}, Echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.connected());

  auto get = c.RoundTrip(Get("/v2/models/m/ready?verbose=1&x=%20y", "X-Trace: Abc-1\r\n"));
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->Header("content-type"), "text/plain");
  EXPECT_EQ(get->Header("server"), "plinth");
  EXPECT_EQ(get->Header("content-length"), std::to_string(get->body.size()));
  EXPECT_THAT(get->body, HasSubstr("method=GET\n"));
  EXPECT_THAT(get->body, HasSubstr("target=/v2/models/m/ready?verbose=1&x=%20y\n"));
  EXPECT_THAT(get->body, HasSubstr("path=/v2/models/m/ready\n"));
  EXPECT_THAT(get->body, HasSubstr("query=verbose=1&x=%20y\n"));
  EXPECT_THAT(get->body, HasSubstr("x-trace=Abc-1\n"));
  EXPECT_THAT(get->body, HasSubstr("remote=127.0.0.1:"));
  EXPECT_THAT(get->body, ::testing::EndsWith("\nbody="));

  auto post = c.RoundTrip(Post("/v2/models/m/infer", R"({"inputs": [1, 2, 3]})"));
  ASSERT_TRUE(post.has_value());
  EXPECT_EQ(post->status, 200);
  EXPECT_THAT(post->body, HasSubstr("method=POST\n"));
  EXPECT_THAT(post->body, HasSubstr("query=\n"));
  EXPECT_THAT(post->body, HasSubstr(R"(body={"inputs": [1, 2, 3]})"));
}

TEST(HttpServerTest, HeadersAreLowerCasedAndKeptInOrder) {
  HttpRequest seen;
  std::mutex mu;
  auto server = StartServer({}, [&](const HttpRequest& req, HttpResponse& res) {
    std::lock_guard<std::mutex> lock(mu);
    seen = req;
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  auto r = c.RoundTrip(Get("/", "X-A: 1\r\nx-a:  2 \r\nContent-TYPE: text/csv\r\n"));
  ASSERT_TRUE(r.has_value());
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"host", "test"}, {"x-a", "1"}, {"x-a", "2"}, {"content-type", "text/csv"}};
  EXPECT_EQ(seen.headers, expected);
  EXPECT_EQ(seen.Header("x-a"), "1");
  EXPECT_EQ(seen.Header("missing"), "");
  EXPECT_EQ(seen.version, 11);
}

TEST(HttpServerTest, KeepAliveServesManyRequestsOnOneConnectionInOrder) {
  auto server = StartServer({}, Echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.RoundTrip(Get("/seq/" + std::to_string(i)));
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_THAT(r->body, HasSubstr("path=/seq/" + std::to_string(i) + "\n"));
    EXPECT_EQ(r->Header("connection"), "");
  }
  // Pipelined: three requests in one write come back in order.
  ASSERT_TRUE(c.Send(Get("/p/0") + Post("/p/1", "one") + Get("/p/2")));
  for (int i = 0; i < 3; ++i) {
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_THAT(r->body, HasSubstr("path=/p/" + std::to_string(i) + "\n"));
  }
  EXPECT_EQ(server->stats().connections_accepted, 1u);
  EXPECT_EQ(server->stats().requests, 8u);
}

TEST(HttpServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  auto server = StartServer({}, Echo);
  ASSERT_NE(server, nullptr);
  {
    Client c(server->port());
    auto r = c.RoundTrip("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.PeerClosed());
  }
  {
    Client c(server->port());
    auto r = c.RoundTrip("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("connection"), "keep-alive");
    auto again = c.RoundTrip("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(again.has_value());
    EXPECT_THAT(again->body, HasSubstr("path=/again\n"));
  }
  {
    // HTTP/1.1 with Connection: close is answered, then closed.
    Client c(server->port());
    auto r = c.RoundTrip(Get("/", "Connection: close\r\n"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.PeerClosed());
  }
}

TEST(HttpServerTest, HeadChunkedAndExpectContinue) {
  auto server = StartServer({}, Echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());

  // HEAD: the Content-Length GET has, and no body: the stream ends right after the headers.
  Client c2(server->port());
  auto get = c2.RoundTrip(Get("/h"));
  ASSERT_TRUE(get.has_value());
  ASSERT_TRUE(c2.Send("HEAD /h HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  char buf[4096];
  std::string raw;
  for (ssize_t n; (n = ::recv(c2.fd(), buf, sizeof(buf), 0)) > 0;) raw.append(buf, n);
  // The echo says "method=HEAD", one byte longer than "method=GET".
  EXPECT_THAT(raw, HasSubstr("Content-Length: " + std::to_string(get->body.size() + 1) + "\r\n"));
  ASSERT_GE(raw.size(), 4u);
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n");

  Client c3(server->port());
  auto chunked = c3.RoundTrip(
      "POST /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.has_value());
  EXPECT_THAT(chunked->body, HasSubstr("body=hello world"));

  ASSERT_TRUE(c3.Send(
      "POST /e HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto cont = c3.Read();
  ASSERT_TRUE(cont.has_value());
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c3.Send("data"));
  auto done = c3.Read();
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, 200);
  EXPECT_THAT(done->body, HasSubstr("body=data"));
}

TEST(HttpServerTest, ThousandKeepAliveConnectionsOnTwoThreads) {
  constexpr int kConnections = 1000;
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const rlim_t needed = 2 * kConnections + 200;  // both ends live in this process
  if (limit.rlim_cur < needed) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
      GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit.rlim_max << " below " << needed;
    }
    limit.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }

  HttpServerOptions options;
  options.io_threads = 2;
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->connected())
        << i << ": " << std::strerror(clients.back()->connect_errno());
  }
  for (int round = 0; round < 2; ++round) {
    // Every connection has a request outstanding at once; then each answer is collected.
    for (int i = 0; i < kConnections; ++i) {
      ASSERT_TRUE(clients[i]->Send(Get("/c/" + std::to_string(i) + "/" + std::to_string(round))));
    }
    for (int i = 0; i < kConnections; ++i) {
      auto r = clients[i]->Read();
      ASSERT_TRUE(r.has_value()) << "connection " << i << " round " << round;
      ASSERT_EQ(r->status, 200);
      ASSERT_THAT(r->body,
                  HasSubstr("path=/c/" + std::to_string(i) + "/" + std::to_string(round) + "\n"));
    }
  }
  HttpServer::Stats stats = server->stats();
  EXPECT_EQ(stats.connections_open, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(stats.connections_accepted, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(2 * kConnections));
  clients.clear();
  EXPECT_TRUE(Eventually([&] { return server->stats().connections_open == 0; }));
}

// After each refusal the server still serves a fresh connection.
void ExpectStillServing(HttpServer& server) {
  Client c(server.port());
  auto r = c.RoundTrip(Get("/alive"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, OversizedAndMalformedRequestsAreRefused) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  options.max_header_bytes = 1024;
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);

  {
    Client c(server->port());
    auto ok = c.RoundTrip(Post("/b", std::string(1000, 'x')));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200);
    auto r = c.RoundTrip(Post("/b", std::string(1001, 'x')));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Header("content-type"), "application/json");
    EXPECT_EQ(r->body, R"({"error": "request body exceeds 1000 bytes"})");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.PeerClosed());
  }
  ExpectStillServing(*server);
  {
    // A chunked body has no declared length; the limit applies as it arrives.
    Client c(server->port());
    std::string chunk(600, 'y');
    auto r =
        c.RoundTrip("POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n" +
                    chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_TRUE(c.PeerClosed());
  }
  {
    Client c(server->port());
    auto r = c.RoundTrip(Get("/h", "X-Big: " + std::string(2000, 'h') + "\r\n"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 431);
    EXPECT_THAT(r->body, HasSubstr("request headers exceed 1024 bytes"));
    EXPECT_TRUE(c.PeerClosed());
  }
  ExpectStillServing(*server);
  // The start of a TLS ClientHello, as sent by a client that expected https.
  static const char kTlsHello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls\r\n\r\n";
  for (std::string garbage :
       {std::string("HELLO\r\n\r\n"), std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string(kTlsHello, sizeof(kTlsHello) - 1),
        std::string("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")}) {
    Client c(server->port());
    auto r = c.RoundTrip(garbage);
    ASSERT_TRUE(r.has_value()) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    EXPECT_THAT(r->body, HasSubstr(R"({"error": "malformed request)"));
    EXPECT_TRUE(c.PeerClosed());
  }
  {
    Client c(server->port());
    auto r = c.RoundTrip("GET / HTTP/2.0\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 505);
  }
  ExpectStillServing(*server);
  HttpServer::Stats stats = server->stats();
  EXPECT_EQ(stats.rejected_too_large, 3u);
  EXPECT_EQ(stats.bad_requests, 5u);
}

TEST(HttpServerTest, SlowClientsTimeOut) {
  HttpServerOptions options;
  options.read_timeout = milliseconds(300);
  options.idle_timeout = milliseconds(300);
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);

  Client slow(server->port());
  ASSERT_TRUE(slow.Send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf"));
  // Others are served while the slow request is pending.
  ExpectStillServing(*server);
  auto r = slow.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(slow.PeerClosed());

  // A client that sends its request slower than read_timeout, byte by byte, is cut off too.
  Client dribble(server->port());
  bool cut = false;
  std::string request = Get("/dribble", "X-Pad: " + std::string(200, 'p') + "\r\n");
  for (char ch : request) {
    if (!dribble.Send(std::string_view(&ch, 1))) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  if (!cut) {
    auto d = dribble.Read();
    cut = !d.has_value() || d->status == 408;
  }
  EXPECT_TRUE(cut);

  // An idle keep-alive connection is closed after idle_timeout.
  Client idle(server->port());
  auto first = idle.RoundTrip(Get("/once"));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(idle.PeerClosed());
  ExpectStillServing(*server);
  EXPECT_GE(server->stats().timeouts, 2u);
}

TEST(HttpServerTest, FullQueueAnswers429AndRecovers) {
  HttpServerOptions options;
  options.handler_threads = 1;
  options.max_pending = 1;
  options.queue_timeout = milliseconds(60000);
  Gate gate;
  auto server = StartServer(options, [&](const HttpRequest& req, HttpResponse& res) {
    if (req.path == "/block") gate.Wait();
    res.body = R"({"path": ")" + req.path + "\"}";
  });
  ASSERT_NE(server, nullptr);

  Client a(server->port()), b(server->port()), c(server->port());
  ASSERT_TRUE(a.Send(Get("/block")));
  gate.AwaitWaiters(1);  // the only handler thread is now blocked
  ASSERT_TRUE(b.Send(Get("/queued")));
  ASSERT_TRUE(Eventually([&] { return server->stats().requests == 2; }));
  auto busy = c.RoundTrip(Get("/rejected"));
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->status, 429);
  EXPECT_EQ(busy->Header("retry-after"), "1");
  EXPECT_EQ(busy->body, R"({"error": "server busy"})");
  EXPECT_EQ(server->stats().rejected_busy, 1u);

  gate.Open();
  auto ra = a.Read();
  ASSERT_TRUE(ra.has_value());
  EXPECT_EQ(ra->body, R"({"path": "/block"})");
  auto rb = b.Read();
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->body, R"({"path": "/queued"})");
  // The refused connection stays usable.
  auto again = c.RoundTrip(Get("/again"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 200);
}

TEST(HttpServerTest, StaleQueuedRequestGets503WithoutRunningTheHandler) {
  HttpServerOptions options;
  options.handler_threads = 1;
  options.queue_timeout = milliseconds(50);
  Gate gate;
  std::atomic<int> ran_queued{0};
  auto server = StartServer(options, [&](const HttpRequest& req, HttpResponse& res) {
    if (req.path == "/block") gate.Wait();
    if (req.path == "/queued") ++ran_queued;
  });
  ASSERT_NE(server, nullptr);
  Client a(server->port()), b(server->port());
  ASSERT_TRUE(a.Send(Get("/block")));
  gate.AwaitWaiters(1);
  ASSERT_TRUE(b.Send(Get("/queued")));
  ASSERT_TRUE(Eventually([&] { return server->stats().requests == 2; }));
  // The queued request has now waited longer than queue_timeout.
  std::this_thread::sleep_for(milliseconds(300));
  gate.Open();
  auto rb = b.Read();
  ASSERT_TRUE(rb.has_value());
  EXPECT_EQ(rb->status, 503);
  EXPECT_EQ(ran_queued.load(), 0);
  EXPECT_EQ(server->stats().rejected_queue_timeout, 1u);
  auto ok = b.RoundTrip(Get("/queued"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ran_queued.load(), 1);
}

TEST(HttpServerTest, ConnectionsOverTheLimitGet429) {
  HttpServerOptions options;
  options.max_connections = 3;
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server->port()));
    auto r = held.back()->RoundTrip(Get("/held"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  {
    Client extra(server->port());
    auto r = extra.RoundTrip(Get("/extra"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(r->Header("retry-after"), "1");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(extra.PeerClosed());
  }
  EXPECT_EQ(server->stats().rejected_busy, 1u);
  EXPECT_EQ(server->stats().connections_open, 3u);
  held.pop_back();
  ASSERT_TRUE(Eventually([&] { return server->stats().connections_open == 2; }));
  ExpectStillServing(*server);
}

TEST(HttpServerTest, ThrowingHandlerGives500AndServingGoesOn) {
  auto server = StartServer({}, [](const HttpRequest& req, HttpResponse& res) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/throw-int") throw 7;
    if (req.path == "/bad-status") res.status = 42;
    if (req.path == "/bad-header") res.headers.emplace_back("X-Split", "a\r\nSet-Cookie: x=1");
    if (req.path == "/close") res.headers.emplace_back("Connection", "close");
  });
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  for (const char* path : {"/throw", "/throw-int", "/bad-status", "/bad-header"}) {
    auto r = c.RoundTrip(Get(path));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->status, 500) << path;
    EXPECT_EQ(r->body, R"({"error": "internal error"})");
    EXPECT_EQ(r->Header("set-cookie"), "");
  }
  auto ok = c.RoundTrip(Get("/fine"));
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(server->stats().handler_errors, 4u);
  // A handler may ask for the connection to be closed.
  auto closing = c.RoundTrip(Get("/close"));
  ASSERT_TRUE(closing.has_value());
  EXPECT_EQ(closing->Header("connection"), "close");
  EXPECT_TRUE(c.PeerClosed());
}

// Connecting fails once nothing listens on the port.
bool Refused(int port) {
  Client c(port);
  return !c.connected() && c.connect_errno() == ECONNREFUSED;
}

TEST(HttpServerTest, GracefulShutdownFinishesRequestsInFlight) {
  for (int handler_threads : {0, 2}) {
    SCOPED_TRACE(handler_threads);
    HttpServerOptions options;
    options.handler_threads = handler_threads;
    Gate gate;
    const std::string big(100000, 'z');  // larger than one socket write
    auto server = StartServer(options, [&](const HttpRequest& req, HttpResponse& res) {
      if (req.path == "/slow") {
        gate.Wait();
        res.body = big;
      }
    });
    ASSERT_NE(server, nullptr);
    const int port = server->port();

    Client idle(port);
    ASSERT_TRUE(idle.RoundTrip(Get("/first")).has_value());
    Client busy(port);
    ASSERT_TRUE(busy.Send(Get("/slow")));
    gate.AwaitWaiters(1);

    std::thread stopper([&] { server->Shutdown(milliseconds(30000)); });
    // Accepting stops at once, while the slow request is still in its handler.
    EXPECT_TRUE(Eventually([&] { return Refused(port); }));
    if (handler_threads > 0) {
      // The I/O threads are free, so the idle connection is closed at once too.
      EXPECT_TRUE(idle.PeerClosed());
    }
    gate.Open();
    auto r = busy.Read();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, big);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(busy.PeerClosed());
    busy.Close();  // the server waits for the client's end before it lets go of the connection
    stopper.join();
    EXPECT_TRUE(idle.PeerClosed());
    EXPECT_TRUE(Refused(port));
    EXPECT_EQ(server->stats().connections_open, 0u);
    server->Shutdown(milliseconds(0));  // idempotent
  }
}

TEST(HttpServerTest, ShutdownAfterGraceClosesWhatIsLeft) {
  HttpServerOptions options;
  auto server = StartServer(options, Echo);
  ASSERT_NE(server, nullptr);
  Client partial(server->port());
  ASSERT_TRUE(partial.Send("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
  ASSERT_TRUE(Eventually([&] { return server->stats().connections_open == 1; }));
  server->Shutdown(milliseconds(100));
  EXPECT_TRUE(partial.PeerClosed());
  EXPECT_EQ(server->stats().connections_open, 0u);
}

// Finds this process's socket whose peer is `client`'s local address: the server's end of the
// connection, since both ends live in this process.
int ServerSideFd(int client_fd) {
  sockaddr_in local{};
  socklen_t len = sizeof(local);
  if (::getsockname(client_fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return -1;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == client_fd) continue;
    sockaddr_in peer{};
    socklen_t plen = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    if (peer.sin_family == AF_INET && peer.sin_port == local.sin_port &&
        peer.sin_addr.s_addr == local.sin_addr.s_addr) {
      found = fd;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

TEST(HttpServerTest, AcceptedSocketsHaveNoDelay) {
  auto server = StartServer({}, Echo);
  ASSERT_NE(server, nullptr);
  Client c(server->port());
  ASSERT_TRUE(c.RoundTrip(Get("/")).has_value());
  int fd = ServerSideFd(c.fd());
  ASSERT_GE(fd, 0);
  int on = 0;
  socklen_t len = sizeof(on);
  ASSERT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
  EXPECT_NE(on, 0);
  // The client's own socket does not have it: the check tells the two apart.
  int client_on = 1;
  ASSERT_EQ(::getsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &client_on, &len), 0);
  EXPECT_EQ(client_on, 0);
}

TEST(HttpServerTest, BadOptionsAndTakenPortsAreErrors) {
  HttpServerOptions bad_port;
  bad_port.port = 70000;
  auto r = HttpServer::Start(bad_port, Echo);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("70000"));

  HttpServerOptions no_threads;
  no_threads.io_threads = 0;
  EXPECT_EQ(HttpServer::Start(no_threads, Echo).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Start({}, nullptr).status().code(), absl::StatusCode::kInvalidArgument);

  HttpServerOptions bad_host;
  bad_host.host = "no such host.invalid";
  EXPECT_EQ(HttpServer::Start(bad_host, Echo).status().code(), absl::StatusCode::kInvalidArgument);

  auto first = StartServer({}, Echo);
  ASSERT_NE(first, nullptr);
  HttpServerOptions same;
  same.port = first->port();
  auto second = HttpServer::Start(same, Echo);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("127.0.0.1:" + std::to_string(first->port())));
  ExpectStillServing(*first);
}

// Not a test: serves a 60-byte JSON answer for PLINTH_HTTP_BENCH_SECONDS seconds on
// PLINTH_HTTP_BENCH_PORT (default 18080) so a load generator such as wrk can measure the server.
TEST(HttpServerBench, ServeForLoadGenerator) {
  const char* seconds = std::getenv("PLINTH_HTTP_BENCH_SECONDS");
  if (seconds == nullptr) GTEST_SKIP() << "set PLINTH_HTTP_BENCH_SECONDS to run";
  const char* port = std::getenv("PLINTH_HTTP_BENCH_PORT");
  const char* pool = std::getenv("PLINTH_HTTP_BENCH_HANDLER_THREADS");
  HttpServerOptions options;
  options.port = port ? std::atoi(port) : 18080;
  options.handler_threads = pool ? std::atoi(pool) : 0;
  const std::string body = R"({"model_name":"credit","outputs":[{"data":[0.0123456789]}]})";
  auto server =
      StartServer(options, [&](const HttpRequest&, HttpResponse& res) { res.body = body; });
  ASSERT_NE(server, nullptr);
  std::printf("serving %zu-byte answers on port %d\n", body.size(), server->port());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(std::atoi(seconds)));
  HttpServer::Stats s = server->stats();
  std::printf("requests %llu, connections %llu\n", static_cast<unsigned long long>(s.requests),
              static_cast<unsigned long long>(s.connections_accepted));
}

}  // namespace
}  // namespace plinth
