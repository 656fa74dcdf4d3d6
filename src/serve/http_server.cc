#include "serve/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "boost/asio/bind_executor.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/string.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/status.hpp"
#include "boost/beast/http/string_body.hpp"

namespace plinth {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace http_internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

// Read sizes: small while waiting for a request, so an idle connection holds little memory;
// larger once a request is arriving.
constexpr size_t kIdleReadBytes = 4096;
constexpr size_t kBusyReadBytes = 16384;
// Request and response bodies above this are not kept for the connection's next request.
constexpr size_t kKeepCapacity = 64 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string JsonError(std::string_view message) {
  std::string out = "{\"error\": \"";
  for (char c : message) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  out += "\"}";
  return out;
}

bool HasControl(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

void AppendInt(std::string& out, uint64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  out.append(digits, end);
}

std::string_view ReasonPhrase(int status) {
  http::status s = http::int_to_status(static_cast<unsigned>(status));
  if (s == http::status::unknown) return "Unknown";
  beast::string_view r = http::obsolete_reason(s);
  return std::string_view(r.data(), r.size());
}

}  // namespace

class Connection;
class ServerCore;

// Counters written by one thread mostly; each group on its own cache line so the I/O threads do
// not share one.
struct alignas(64) Counters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rejected_busy{0};
  std::atomic<uint64_t> rejected_queue_timeout{0};
  std::atomic<uint64_t> rejected_too_large{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> timeouts{0};
  std::atomic<uint64_t> handler_errors{0};

  static void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
};

// One event loop and its thread, and the connections it runs. Everything but `ioc` and
// `counters` is touched only on the loop's thread.
class Worker {
 public:
  explicit Worker(ServerCore* core) : core(core), ioc(1), sweep(ioc), guard(ioc.get_executor()) {}

  void StartConnection(tcp::socket socket, bool admitted);
  void Remove(Connection* c);
  void ArmSweep();
  void Sweep();
  void CloseIdle();
  void CloseAll();

  ServerCore* const core;
  asio::io_context ioc;
  asio::steady_timer sweep;
  std::optional<WorkGuard> guard;
  bool stopped = false;  // CloseAll has run
  std::vector<std::shared_ptr<Connection>> connections;
  Counters counters;
  std::thread thread;
};

class ServerCore {
 public:
  ServerCore(HttpServerOptions options, HttpHandler handler)
      : options(std::move(options)),
        handler(std::move(handler)),
        accept_ioc(1),
        acceptor(accept_ioc),
        accept_retry(accept_ioc),
        accept_guard(accept_ioc.get_executor()) {}

  Status Listen(const tcp::endpoint& endpoint);
  void StartThreads();
  void Accept();
  bool Enqueue(std::shared_ptr<Connection> c);
  void PoolLoop();
  void ConnectionClosed(bool admitted);
  void Shutdown(std::chrono::milliseconds grace);
  HttpServer::Stats stats() const;

  const HttpServerOptions options;
  const HttpHandler handler;
  Clock::duration linger{};
  Clock::duration tick{};
  std::string timeout_response;  // the whole 408 response, written best-effort on a read timeout
  int port = 0;

  asio::io_context accept_ioc;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  std::optional<WorkGuard> accept_guard;
  std::thread accept_thread;
  size_t next_worker = 0;  // accepting thread only
  std::vector<std::unique_ptr<Worker>> workers;

  std::atomic<uint64_t> open{0};      // admitted connections not yet closed
  std::atomic<uint64_t> accepted{0};  // admitted connections
  std::atomic<uint64_t> refused{0};   // connections answered 429
  std::atomic<int64_t> live{0};       // connection objects in the workers' lists
  std::atomic<bool> draining{false};

  // The handler pool.
  struct Job {
    std::shared_ptr<Connection> connection;
    Clock::time_point enqueued;
  };
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::deque<Job> queue;   // guarded by pool_mu
  bool pool_stop = false;  // guarded by pool_mu
  std::vector<std::thread> pool_threads;

  std::mutex shutdown_mu;  // held for the whole of Shutdown
  bool shut_down = false;  // guarded by shutdown_mu
  std::mutex live_mu;      // pairs with live_cv; `live` reaching 0 while draining is signalled
  std::condition_variable live_cv;
};

// One accepted socket. Lives in its worker's list until Close; every pending operation also
// holds it, so a completion that arrives after Close finds a closed connection, never a freed one.
// Runs on its worker's thread, except RunHandler, which a pool thread may run while the
// connection is in kHandling (and no I/O thread touches request_ or response_).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class State { kIdle, kReading, kHandling, kWriting, kLingering, kClosed };

  Connection(Worker* worker, tcp::socket socket, bool admitted)
      : worker_(worker), core_(*worker->core), socket_(std::move(socket)), admitted_(admitted) {}

  void Start();
  void Close();
  void OnDeadline();
  void RunHandler();
  // Answers 503 without running the handler: the request waited too long in the queue.
  void RejectStale();
  void Write();

  State state() const { return state_; }
  Clock::time_point deadline() const { return deadline_; }
  Worker* worker() const { return worker_; }
  size_t slot = 0;  // index in worker_->connections

 private:
  void StartRequest();
  void Parse();
  void Read();
  void OnRead(const beast::error_code& ec, size_t n);
  void OnParseError(const beast::error_code& ec);
  void OnRequest();
  void FillRequest(const http::request<http::string_body>& msg);
  void SetError(int status, std::string_view message);
  bool ValidResponse() const;
  void BuildHead(bool describe_body);
  void OnWrite(const beast::error_code& ec);
  void Linger();
  void LingerRead();

  Worker* const worker_;
  ServerCore& core_;
  tcp::socket socket_;
  const bool admitted_;
  State state_ = State::kIdle;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool close_after_ = false;   // close once the current response is written
  bool head_request_ = false;  // the current request is HEAD: no body in the response
  bool continue_sent_ = false;
  bool write_pending_ = false;  // a 100 Continue is being written while reading
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  HttpResponse response_;
  std::string head_;
};

// ---------------------------------------------------------------------------------------------
// Connection

void Connection::Start() {
  beast::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  tcp::endpoint peer = socket_.remote_endpoint(ec);
  if (!ec) {
    const auto address = peer.address();
    request_.remote = address.is_v6() ? absl::StrCat("[", address.to_string(), "]:", peer.port())
                                      : absl::StrCat(address.to_string(), ":", peer.port());
  }
  if (!admitted_) {
    SetError(429, "too many connections");
    response_.headers.emplace_back("Retry-After", "1");
    close_after_ = true;
    Write();
    return;
  }
  StartRequest();
}

void Connection::StartRequest() {
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(core_.options.max_header_bytes));
  parser_->body_limit(static_cast<uint64_t>(core_.options.max_body_bytes));
  // The parser appends to its message's body: hand it the previous body's buffer to reuse.
  std::string& body = parser_->get().body();
  if (request_.body.capacity() <= kKeepCapacity) body.swap(request_.body);
  body.clear();
  head_request_ = false;
  continue_sent_ = false;
  Parse();
}

void Connection::Parse() {
  while (buffer_.size() > 0) {
    beast::error_code ec;
    size_t n = parser_->put(buffer_.data(), ec);
    buffer_.consume(n);
    if (ec == http::error::need_more) break;
    if (ec) {
      OnParseError(ec);
      return;
    }
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    if (n == 0) break;
  }
  if (parser_->is_header_done() && !continue_sent_ && parser_->get().version() == 11 &&
      beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    // The client waits for this before sending the body; the limits were checked on the headers.
    continue_sent_ = true;
    write_pending_ = true;
    asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](const beast::error_code& ec, size_t) {
                        self->write_pending_ = false;
                        if (self->state_ == State::kClosed) return;
                        if (ec) {
                          self->Close();
                        } else {
                          self->Read();
                        }
                      });
    return;
  }
  Read();
}

void Connection::Read() {
  const bool started = buffer_.size() > 0 || parser_->got_some();
  if (!started) {
    if (core_.draining.load(std::memory_order_relaxed)) {
      Close();
      return;
    }
    state_ = State::kIdle;
    deadline_ = Clock::now() + core_.options.idle_timeout;
  } else if (state_ != State::kReading) {
    state_ = State::kReading;
    deadline_ = Clock::now() + core_.options.read_timeout;
  }
  socket_.async_read_some(
      buffer_.prepare(started ? kBusyReadBytes : kIdleReadBytes),
      [self = shared_from_this()](const beast::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Connection::OnRead(const beast::error_code& ec, size_t n) {
  if (state_ == State::kClosed) return;
  if (ec) {
    // End of stream or a reset: between requests that is the client leaving; within one, the
    // request is lost and there is nobody to answer.
    Close();
    return;
  }
  buffer_.commit(n);
  if (state_ == State::kIdle) {
    state_ = State::kReading;
    deadline_ = Clock::now() + core_.options.read_timeout;
  }
  Parse();
}

void Connection::OnParseError(const beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    Counters::Bump(worker_->counters.rejected_too_large);
    SetError(413, absl::StrCat("request body exceeds ", core_.options.max_body_bytes, " bytes"));
  } else if (ec == http::error::header_limit) {
    Counters::Bump(worker_->counters.rejected_too_large);
    SetError(431,
             absl::StrCat("request headers exceed ", core_.options.max_header_bytes, " bytes"));
  } else if (ec == http::error::bad_version) {
    // The parser takes only HTTP/1.0 and HTTP/1.1 (HTTP/2 prior knowledge, "PRI * HTTP/2.0").
    Counters::Bump(worker_->counters.bad_requests);
    SetError(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  } else {
    Counters::Bump(worker_->counters.bad_requests);
    SetError(400, absl::StrCat("malformed request: ", ec.message()));
  }
  // The rest of the stream cannot be framed.
  close_after_ = true;
  Write();
}

void Connection::OnRequest() {
  Counters::Bump(worker_->counters.requests);
  http::request<http::string_body>& msg = parser_->get();
  close_after_ = !msg.keep_alive();
  FillRequest(msg);
  if (core_.options.handler_threads > 0) {
    state_ = State::kHandling;
    deadline_ = Clock::time_point::max();
    if (!core_.Enqueue(shared_from_this())) {
      Counters::Bump(worker_->counters.rejected_busy);
      SetError(429, "server busy");
      response_.headers.emplace_back("Retry-After", "1");
      Write();
    }
    return;
  }
  RunHandler();
  Write();
}

void Connection::FillRequest(const http::request<http::string_body>& msg) {
  HttpRequest& r = request_;
  // Assignments rather than fresh strings: the connection's buffers are reused request to
  // request.
  beast::string_view method = msg.method_string();
  r.method.assign(method.data(), method.size());
  beast::string_view target = msg.target();
  r.target.assign(target.data(), target.size());
  size_t q = r.target.find('?');
  if (q == std::string::npos) {
    r.path.assign(r.target);
    r.query.clear();
  } else {
    r.path.assign(r.target, 0, q);
    r.query.assign(r.target, q + 1);
  }
  r.version = static_cast<int>(msg.version());
  size_t i = 0;
  for (const auto& field : msg) {
    if (i == r.headers.size()) r.headers.emplace_back();
    auto& [name, value] = r.headers[i++];
    beast::string_view n = field.name_string();
    name.assign(n.data(), n.size());
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    beast::string_view v = field.value();
    value.assign(v.data(), v.size());
  }
  r.headers.resize(i);
  r.body.swap(parser_->get().body());
  head_request_ = msg.method() == http::verb::head;
}

void Connection::SetError(int status, std::string_view message) {
  response_.status = status;
  response_.content_type.assign("application/json");
  response_.headers.clear();
  response_.body = JsonError(message);
}

void Connection::RejectStale() {
  SetError(503, absl::StrCat("request waited over ", core_.options.queue_timeout.count(),
                             " ms for a handler"));
  response_.headers.emplace_back("Retry-After", "1");
}

void Connection::RunHandler() {
  response_.status = 200;
  response_.content_type.assign("application/json");
  response_.body.clear();
  response_.headers.clear();
  try {
    core_.handler(request_, response_);
  } catch (...) {
    // The handler's failure is the server's, not the client's; the connection stays usable.
    Counters::Bump(worker_->counters.handler_errors);
    SetError(500, "internal error");
  }
}

bool Connection::ValidResponse() const {
  if (response_.status < 200 || response_.status > 599) return false;
  if (HasControl(response_.content_type)) return false;
  for (const auto& [name, value] : response_.headers) {
    if (name.empty() || HasControl(name) || HasControl(value)) return false;
    if (name.find_first_of(": \t") != std::string::npos) return false;
  }
  return true;
}

void Connection::BuildHead(bool describe_body) {
  std::string& h = head_;
  h.clear();
  h.append("HTTP/1.1 ");
  AppendInt(h, static_cast<uint64_t>(response_.status));
  h.push_back(' ');
  h.append(ReasonPhrase(response_.status));
  h.append("\r\n");
  if (!core_.options.server_name.empty()) {
    h.append("Server: ").append(core_.options.server_name).append("\r\n");
  }
  if (!response_.content_type.empty() && describe_body) {
    h.append("Content-Type: ").append(response_.content_type).append("\r\n");
  }
  if (response_.status != 204) {
    h.append("Content-Length: ");
    AppendInt(h, response_.body.size());
    h.append("\r\n");
  }
  for (const auto& [name, value] : response_.headers) {
    if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
        beast::iequals(name, "connection")) {
      continue;
    }
    h.append(name).append(": ").append(value).append("\r\n");
  }
  if (close_after_) {
    h.append("Connection: close\r\n");
  } else if (request_.version == 10) {
    h.append("Connection: keep-alive\r\n");
  }
  h.append("\r\n");
}

void Connection::Write() {
  if (state_ == State::kClosed) return;  // closed (shutdown) while a pool thread handled it
  if (!ValidResponse()) {
    Counters::Bump(worker_->counters.handler_errors);
    SetError(500, "internal error");
  }
  if (core_.draining.load(std::memory_order_relaxed)) close_after_ = true;
  for (const auto& [name, value] : response_.headers) {
    if (beast::iequals(name, "connection") && beast::iequals(value, "close")) close_after_ = true;
  }
  // HEAD keeps the Content-Length the body would have; 204 has neither.
  const bool send_body = !head_request_ && response_.status != 204;
  BuildHead(send_body || head_request_);
  state_ = State::kWriting;
  deadline_ = Clock::now() + core_.options.read_timeout;
  std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head_), send_body ? asio::buffer(response_.body) : asio::const_buffer()};
  asio::async_write(
      socket_, buffers,
      [self = shared_from_this()](const beast::error_code& ec, size_t) { self->OnWrite(ec); });
}

void Connection::OnWrite(const beast::error_code& ec) {
  if (state_ == State::kClosed) return;
  if (ec) {
    Close();
    return;
  }
  if (response_.body.capacity() > kKeepCapacity) std::string().swap(response_.body);
  if (close_after_) {
    Linger();
    return;
  }
  StartRequest();
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the
// response before the client reads it. So: send FIN, then read and drop what the client still
// sends until it closes or `linger` passes.
void Connection::Linger() {
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    Close();
    return;
  }
  state_ = State::kLingering;
  deadline_ = Clock::now() + core_.linger;
  buffer_.clear();
  LingerRead();
}

void Connection::LingerRead() {
  socket_.async_read_some(buffer_.prepare(kIdleReadBytes),
                          [self = shared_from_this()](const beast::error_code& ec, size_t) {
                            if (self->state_ == State::kClosed) return;
                            if (ec) {
                              self->Close();
                            } else {
                              self->LingerRead();
                            }
                          });
}

void Connection::OnDeadline() {
  switch (state_) {
    case State::kReading:
      Counters::Bump(worker_->counters.timeouts);
      if (!write_pending_) {
        // Best effort, without waiting: the client is slow, and the socket buffer is empty.
        beast::error_code ec;
        socket_.non_blocking(true, ec);
        if (!ec) {
          socket_.write_some(
              asio::buffer(core_.timeout_response.data(), core_.timeout_response.size()), ec);
        }
      }
      Close();
      break;
    case State::kWriting:
      Counters::Bump(worker_->counters.timeouts);
      Close();
      break;
    case State::kIdle:
    case State::kLingering:
      Close();
      break;
    case State::kHandling:
    case State::kClosed:
      break;
  }
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  deadline_ = Clock::time_point::max();
  beast::error_code ec;
  socket_.close(ec);
  worker_->Remove(this);
  core_.ConnectionClosed(admitted_);
}

// ---------------------------------------------------------------------------------------------
// Worker

void Worker::StartConnection(tcp::socket socket, bool admitted) {
  auto c = std::make_shared<Connection>(this, std::move(socket), admitted);
  c->slot = connections.size();
  connections.push_back(c);
  core->live.fetch_add(1, std::memory_order_relaxed);
  c->Start();
}

void Worker::Remove(Connection* c) {
  size_t i = c->slot;
  if (i >= connections.size() || connections[i].get() != c) return;
  if (i + 1 != connections.size()) {
    connections[i] = std::move(connections.back());
    connections[i]->slot = i;
  }
  connections.pop_back();
}

void Worker::ArmSweep() {
  sweep.expires_after(core->tick);
  sweep.async_wait([this](const beast::error_code& ec) {
    // `stopped`: a tick that had already fired when CloseAll cancelled the timer must not re-arm
    // it, or the loop would never run out of work.
    if (ec || stopped) return;
    Sweep();
    ArmSweep();
  });
}

// Deadlines are checked by one timer per loop rather than one per connection: the hot path only
// stores a time point.
void Worker::Sweep() {
  const Clock::time_point now = Clock::now();
  // Backwards: closing connection i moves the last (already visited) one into slot i.
  for (size_t i = connections.size(); i-- > 0;) {
    if (i >= connections.size()) continue;
    if (connections[i]->deadline() <= now) {
      std::shared_ptr<Connection> c = connections[i];
      c->OnDeadline();
    }
  }
}

void Worker::CloseIdle() {
  for (size_t i = connections.size(); i-- > 0;) {
    if (i >= connections.size()) continue;
    if (connections[i]->state() == Connection::State::kIdle) {
      std::shared_ptr<Connection> c = connections[i];
      c->Close();
    }
  }
}

void Worker::CloseAll() {
  while (!connections.empty()) {
    std::shared_ptr<Connection> c = connections.back();
    c->Close();
  }
  stopped = true;
  sweep.cancel();
  guard.reset();
}

// ---------------------------------------------------------------------------------------------
// ServerCore

Status ServerCore::Listen(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  const std::string where =
      absl::StrCat(options.host, ":", options.port == 0 ? "0" : std::to_string(options.port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
  port = acceptor.local_endpoint(ec).port();
  if (ec)
    return absl::UnavailableError(absl::StrCat("cannot listen on ", where, ": ", ec.message()));
  return absl::OkStatus();
}

void ServerCore::StartThreads() {
  for (auto& w : workers) {
    Worker* worker = w.get();
    worker->ArmSweep();
    worker->thread = std::thread([worker] {
      for (;;) {
        try {
          worker->ioc.run();
          return;
        } catch (...) {
          // A completion handler threw (out of memory): that connection is dropped by its
          // deadline; the loop keeps serving the others.
        }
      }
    });
  }
  for (int i = 0; i < options.handler_threads; ++i) {
    pool_threads.emplace_back([this] { PoolLoop(); });
  }
  Accept();
  accept_thread = std::thread([this] {
    for (;;) {
      try {
        accept_ioc.run();
        return;
      } catch (...) {
      }
    }
  });
}

void ServerCore::Accept() {
  Worker* worker = workers[next_worker].get();
  next_worker = (next_worker + 1) % workers.size();
  acceptor.async_accept(
      worker->ioc, [this, worker](const beast::error_code& ec, tcp::socket socket) {
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) return;
        if (ec) {
          // Out of descriptors or memory: retrying at once would spin; the condition passes as
          // connections close.
          if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
              ec == asio::error::no_memory) {
            accept_retry.expires_after(std::chrono::milliseconds(20));
            accept_retry.async_wait([this](const beast::error_code& ec) {
              if (!ec && acceptor.is_open()) Accept();
            });
          } else {
            Accept();
          }
          return;
        }
        // Only this thread admits, so the check and the increment do not race with each other.
        const bool admitted = open.load(std::memory_order_relaxed) < options.max_connections;
        if (admitted) {
          open.fetch_add(1, std::memory_order_relaxed);
          accepted.fetch_add(1, std::memory_order_relaxed);
        } else {
          refused.fetch_add(1, std::memory_order_relaxed);
        }
        asio::post(worker->ioc, [worker, admitted, s = std::move(socket)]() mutable {
          worker->StartConnection(std::move(s), admitted);
        });
        Accept();
      });
}

bool ServerCore::Enqueue(std::shared_ptr<Connection> c) {
  {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (pool_stop || queue.size() >= options.max_pending) return false;
    queue.push_back(Job{std::move(c), Clock::now()});
  }
  pool_cv.notify_one();
  return true;
}

void ServerCore::PoolLoop() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(pool_mu);
      pool_cv.wait(lock, [this] { return pool_stop || !queue.empty(); });
      if (pool_stop) return;
      job = std::move(queue.front());
      queue.pop_front();
    }
    Connection& c = *job.connection;
    if (Clock::now() - job.enqueued > options.queue_timeout) {
      Counters::Bump(c.worker()->counters.rejected_queue_timeout);
      c.RejectStale();
    } else {
      c.RunHandler();
    }
    asio::post(c.worker()->ioc, [conn = std::move(job.connection)] { conn->Write(); });
  }
}

void ServerCore::ConnectionClosed(bool admitted) {
  if (admitted) open.fetch_sub(1, std::memory_order_relaxed);
  if (live.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      draining.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(live_mu);
    live_cv.notify_all();
  }
}

void ServerCore::Shutdown(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lock(shutdown_mu);
  if (shut_down) return;
  shut_down = true;
  const Clock::time_point deadline = Clock::now() + grace;
  draining.store(true, std::memory_order_release);

  // Stop accepting; once the acceptor is closed new connections are refused by the kernel.
  std::promise<void> closed;
  asio::post(accept_ioc, [this, &closed] {
    beast::error_code ec;
    acceptor.close(ec);
    accept_retry.cancel();
    accept_guard.reset();
    closed.set_value();
  });
  closed.get_future().wait();
  accept_thread.join();

  for (auto& w : workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] { worker->CloseIdle(); });
  }
  if (grace.count() > 0) {
    std::unique_lock<std::mutex> live_lock(live_mu);
    live_cv.wait_until(live_lock, deadline,
                       [this] { return live.load(std::memory_order_acquire) == 0; });
  }

  {
    std::lock_guard<std::mutex> pool_lock(pool_mu);
    pool_stop = true;
  }
  pool_cv.notify_all();
  for (std::thread& t : pool_threads) t.join();
  pool_threads.clear();
  queue.clear();

  for (auto& w : workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] { worker->CloseAll(); });
  }
  for (auto& w : workers) w->thread.join();
}

HttpServer::Stats ServerCore::stats() const {
  HttpServer::Stats s;
  s.connections_open = open.load(std::memory_order_relaxed);
  s.connections_accepted = accepted.load(std::memory_order_relaxed);
  s.rejected_busy = refused.load(std::memory_order_relaxed);
  for (const auto& w : workers) {
    const Counters& c = w->counters;
    s.requests += c.requests.load(std::memory_order_relaxed);
    s.rejected_busy += c.rejected_busy.load(std::memory_order_relaxed);
    s.rejected_queue_timeout += c.rejected_queue_timeout.load(std::memory_order_relaxed);
    s.rejected_too_large += c.rejected_too_large.load(std::memory_order_relaxed);
    s.bad_requests += c.bad_requests.load(std::memory_order_relaxed);
    s.timeouts += c.timeouts.load(std::memory_order_relaxed);
    s.handler_errors += c.handler_errors.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace http_internal

// -----------------------------------------------------------------------------------------------
// HttpServer

namespace {

Status CheckOptions(const HttpServerOptions& o, const HttpHandler& handler) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("http server: ", what));
  };
  if (!handler) return bad("no handler");
  if (o.port < 0 || o.port > 65535) return bad(absl::StrCat("port ", o.port, " is not 0..65535"));
  if (o.io_threads < 1 || o.io_threads > 256) {
    return bad(absl::StrCat("io_threads ", o.io_threads, " is not 1..256"));
  }
  if (o.handler_threads < 0 || o.handler_threads > 4096) {
    return bad(absl::StrCat("handler_threads ", o.handler_threads, " is not 0..4096"));
  }
  if (o.handler_threads > 0 && o.max_pending < 1) return bad("max_pending must be at least 1");
  if (o.handler_threads > 0 && o.queue_timeout.count() <= 0) {
    return bad("queue_timeout must be positive");
  }
  if (o.max_header_bytes < 256 || o.max_header_bytes > (size_t{1} << 30)) {
    return bad(absl::StrCat("max_header_bytes ", o.max_header_bytes, " is not 256..2^30"));
  }
  if (o.max_connections < 1) return bad("max_connections must be at least 1");
  if (o.read_timeout.count() <= 0) return bad("read_timeout must be positive");
  if (o.idle_timeout.count() <= 0) return bad("idle_timeout must be positive");
  if (http_internal::HasControl(o.server_name)) {
    return bad("server_name holds a control character");
  }
  return absl::OkStatus();
}

StatusOr<boost::asio::ip::tcp::endpoint> ResolveListenAddress(const HttpServerOptions& o) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  const auto port = static_cast<unsigned short>(o.port);
  boost::system::error_code ec;
  std::string host = o.host;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return tcp::endpoint(tcp::v4(), port);
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(o.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("http server: cannot resolve host '", o.host,
                                                   "': ", ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                        HttpHandler handler) {
  RETURN_IF_ERROR(CheckOptions(options, handler));
  ASSIGN_OR_RETURN(boost::asio::ip::tcp::endpoint endpoint, ResolveListenAddress(options));
  auto core = std::make_unique<http_internal::ServerCore>(std::move(options), std::move(handler));
  const HttpServerOptions& o = core->options;
  using std::chrono::milliseconds;
  core->linger = std::min<std::chrono::steady_clock::duration>(o.read_timeout, milliseconds(1000));
  core->tick = std::clamp<std::chrono::steady_clock::duration>(
      std::min(o.read_timeout, o.idle_timeout) / 8, milliseconds(5), milliseconds(250));
  const std::string body = http_internal::JsonError(
      absl::StrCat("request not received within ", o.read_timeout.count(), " ms"));
  core->timeout_response =
      absl::StrCat("HTTP/1.1 408 Request Timeout\r\n",
                   o.server_name.empty() ? "" : absl::StrCat("Server: ", o.server_name, "\r\n"),
                   "Content-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n\r\n", body);
  RETURN_IF_ERROR(core->Listen(endpoint));
  for (int i = 0; i < o.io_threads; ++i) {
    core->workers.push_back(std::make_unique<http_internal::Worker>(core.get()));
  }
  core->StartThreads();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core)));
}

HttpServer::HttpServer(std::unique_ptr<http_internal::ServerCore> core) : core_(std::move(core)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

int HttpServer::port() const { return core_->port; }

void HttpServer::Shutdown(std::chrono::milliseconds grace) { core_->Shutdown(grace); }

HttpServer::Stats HttpServer::stats() const { return core_->stats(); }

}  // namespace plinth
