// Implementation of the end-to-end harness: process spawning with captured output and timeouts,
// the server child process, temporary folders and small file and hashing helpers.
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <poll.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace plinth::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The child's environment: the test's, without PLINTH_* variables, plus `extra`.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    if (entry.rfind("PLINTH_", 0) == 0) continue;
    std::string name = entry.substr(0, entry.find('='));
    if (extra.count(name) != 0) continue;
    env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Spawns `plinth ARGS` with stdin from /dev/null and stdout/stderr as given by `actions`.
pid_t Spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& cwd, posix_spawn_file_actions_t* actions,
            const std::string& binary = PlinthBinary()) {
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);
  posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(actions, cwd.c_str());
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], actions, nullptr, argv.data(), envp.data());
  if (rc != 0) {
    ADD_FAILURE() << "cannot spawn " << argv[0] << ": " << std::strerror(rc);
    return -1;
  }
  return pid;
}

// Waits for `pid` until `deadline`; returns the decoded status, or nullopt at the deadline.
std::optional<int> WaitUntil(pid_t pid, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

std::string PlinthBinary() { return PLINTH_BINARY; }

Json CommandResult::OutJson() const { return ParseJsonOrNull(out); }

std::string CommandResult::Describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << out << "\n--- stderr ---\n"
    << err;
  return s.str();
}

CommandResult RunPlinth(const std::vector<std::string>& args, const RunOptions& options) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  pid_t pid = Spawn(args, options.env, options.cwd, &actions);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return result;
  }
  const Clock::time_point deadline = Clock::now() + options.timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[65536];
  bool interrupted = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (options.interrupt_when && !interrupted) {
      if (options.interrupt_when()) {
        ::kill(pid, options.interrupt_signal);
        interrupted = true;
      } else {
        left = std::min(left, std::chrono::milliseconds(20));
      }
    }
    int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  auto status = WaitUntil(pid, Clock::now() + std::chrono::seconds(10));
  if (!status) {
    ::kill(pid, SIGKILL);
    status = WaitUntil(pid, Clock::now() + std::chrono::seconds(10));
  }
  result.exit_code = status.value_or(-1);
  return result;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/plinth-e2e-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  }
  path_ = fs::canonical(tmpl).string();
}

TempDir::~TempDir() {
  std::error_code ec;
  // Artifact objects are read-only and some tests make folders read-only: open them up first.
  for (auto it = fs::recursive_directory_iterator(path_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::remove_all(path_, ec);
}

::testing::AssertionResult TestHome::Init() {
  dir_ = root_ / "home";
  CommandResult r = RunPlinth({"init", "--home", dir_, "--json"});
  if (r.exit_code != 0) {
    return ::testing::AssertionFailure() << "plinth init failed: " << r.Describe();
  }
  Json j = r.OutJson();
  if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
    return ::testing::AssertionFailure() << "plinth init --json printed no token: " << r.out;
  }
  admin_token_ = j["token"].get<std::string>();
  return ::testing::AssertionSuccess();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop(SIGTERM, std::chrono::seconds(10));
}

::testing::AssertionResult ServerProcess::Start(const std::string& home,
                                                const std::string& listen) {
  return StartProgram(PlinthBinary(),
                      {"--home", home, "server", "--listen", listen, "--threads", "8"},
                      R"(^plinth server listening on http://([0-9.]+):([0-9]+) )");
}

::testing::AssertionResult ServerProcess::StartProgram(
    const std::string& binary, const std::vector<std::string>& args,
    const std::string& listening_regex, const std::map<std::string, std::string>& env) {
  if (pid_ > 0) return ::testing::AssertionFailure() << "server already started";
  const std::string out_path = logs_ / "server.out";
  const std::string err_path = logs_ / "server.err";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  pid_ = Spawn(args, env, "/", &actions, binary);
  posix_spawn_file_actions_destroy(&actions);
  if (pid_ < 0) return ::testing::AssertionFailure() << "cannot start the server";

  const std::regex listening(listening_regex);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    std::string out = Stdout();
    size_t eol = out.find('\n');
    if (eol != std::string::npos) {
      std::smatch m;
      std::string first = out.substr(0, eol);
      if (!std::regex_search(first, m, listening)) {
        Stop(SIGKILL);
        return ::testing::AssertionFailure() << "unexpected first line: " << first;
      }
      port_ = std::stoi(m[2].str());
      if (port_ <= 0) return ::testing::AssertionFailure() << "bad port in: " << first;
      return ::testing::AssertionSuccess();
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ::testing::AssertionFailure()
             << "server exited with " << DecodeWaitStatus(status) << " before listening:\n"
             << Stdout() << Stderr();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop(SIGKILL);
  return ::testing::AssertionFailure() << "server did not report its port within 30 s";
}

int ServerProcess::Stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  auto status = WaitUntil(pid_, Clock::now() + timeout);
  if (!status) {
    ::kill(pid_, SIGKILL);
    WaitUntil(pid_, Clock::now() + std::chrono::seconds(10));
    status = -1;
  }
  pid_ = -1;
  return *status;
}

std::string ServerProcess::Stdout() const {
  std::ifstream in(logs_ / "server.out", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ServerProcess::Stderr() const {
  std::ifstream in(logs_ / "server.err", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::unique_ptr<httplib::Client> ServerProcess::Client() const {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
  client->set_url_encode(false);
  client->set_connection_timeout(5);
  client->set_read_timeout(30);
  client->set_write_timeout(30);
  return client;
}

std::string ModeName(Mode mode) { return mode == Mode::kInProcess ? "InProcess" : "Remote"; }

void PrintTo(Mode mode, std::ostream* os) { *os << ModeName(mode); }

CommandResult Cli::Run(const std::string& token, const std::vector<std::string>& args,
                       const RunOptions& options) const {
  std::vector<std::string> argv;
  if (mode_ == Mode::kInProcess) {
    argv = {"--home", home_};
  } else {
    argv = {"--server", server_url_};
  }
  if (!token.empty()) {
    argv.push_back("--token");
    argv.push_back(token);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return RunPlinth(argv, options);
}

CommandResult Cli::RunJson(const std::string& token, const std::vector<std::string>& args) const {
  std::vector<std::string> with_json = {"--json"};
  with_json.insert(with_json.end(), args.begin(), args.end());
  return Run(token, with_json);
}

void ModeTest::SetUp() {
  ASSERT_TRUE(home_.Init());
  if (mode() == Mode::kRemote) {
    ASSERT_TRUE(server_.Start(home_.dir()));
  }
  cli_ = std::make_unique<Cli>(mode(), home_.dir(), server_.url());
}

std::string ModeTest::CreateUserWithToken(const std::string& name, const std::string& role,
                                          const std::string& project) {
  std::vector<std::string> args = {"user", "create", name, "--role", role};
  if (!project.empty()) {
    args.push_back("--project");
    args.push_back(project);
  }
  CommandResult user = cli_->Run(admin(), args);
  if (user.exit_code != 0) {
    ADD_FAILURE() << "user create " << name << ": " << user.Describe();
    return "";
  }
  CommandResult token = cli_->RunJson(admin(), {"token", "create", "--user", name});
  Json j = token.OutJson();
  if (token.exit_code != 0 || !j.is_object() || !j["token"].is_string()) {
    ADD_FAILURE() << "token create --user " << name << ": " << token.Describe();
    return "";
  }
  return j["token"].get<std::string>();
}

void ModeTest::CreateProject(const std::string& name) {
  CommandResult r = cli_->Run(admin(), {"project", "create", name});
  EXPECT_EQ(r.exit_code, 0) << "project create " << name << ": " << r.Describe();
}

std::string ModeParamName(const ::testing::TestParamInfo<Mode>& info) {
  return ModeName(info.param);
}

httplib::Headers AuthHeaders(const std::string& token, const std::string& request_id) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  if (!request_id.empty()) headers.emplace("X-Request-Id", request_id);
  return headers;
}

Json BodyJson(const httplib::Result& res) {
  if (!res) return Json();
  return ParseJsonOrNull(res->body);
}

Json ParseJsonOrNull(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

std::string RawJsonString(const std::string& raw) {
  std::string out = "\"";
  for (unsigned char c : raw) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

bool IsWellFormedRequestId(const std::string& id) {
  static const std::regex kId(R"([A-Za-z0-9._-]{1,64})");
  return std::regex_match(id, kId);
}

namespace {

// A connected socket to 127.0.0.1:PORT with the request sent (as much as the server took), or -1.
int ConnectAndSend(int port, const std::string& request, std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ADD_FAILURE() << "socket: " << std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    ::close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(wait.count() / 1000),
             static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace

void SendAndHangUp(int port, const std::string& request) {
  int fd = ConnectAndSend(port, request, std::chrono::seconds(10));
  if (fd >= 0) ::close(fd);
}

RawResponse RawHttpExchange(int port, const std::string& request, std::chrono::milliseconds wait) {
  RawResponse response;
  int fd = ConnectAndSend(port, request, wait);
  if (fd < 0) return response;
  const Clock::time_point deadline = Clock::now() + wait;
  std::string raw;
  char buf[65536];
  while (Clock::now() < deadline) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);

  size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return response;
  std::vector<std::string> head = SplitLines(raw.substr(0, head_end));
  response.status = std::atoi(head[0].substr(9, 3).c_str());
  for (size_t i = 1; i < head.size(); ++i) {
    std::string line = head[i];
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    response.headers[name] = value;
  }
  response.body = raw.substr(head_end + 4);
  auto length = response.headers.find("content-length");
  if (length != response.headers.end()) {
    response.body = response.body.substr(0, std::strtoul(length->second.c_str(), nullptr, 10));
  }
  return response;
}

std::string QueryHomeStore(const std::string& home, const std::string& sql, bool write) {
  sqlite3* db = nullptr;
  const std::string path = home + "/metadata.db";
  if (sqlite3_open_v2(path.c_str(), &db, write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY,
                      nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return "";
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  std::string value;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  } else {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFileOrDie(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

int FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::map<std::string, std::string> SnapshotTree(const std::string& dir,
                                                const std::vector<std::string>& skip) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir).string();
    bool skipped = false;
    for (const auto& s : skip) {
      if (rel == s || rel.rfind(s + "/", 0) == 0) skipped = true;
    }
    if (skipped) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink()) {
      out[rel] = "symlink:" + fs::read_symlink(it->path()).string();
    } else if (it->is_directory()) {
      out[rel + "/"] = "dir";
    } else {
      out[rel] = Sha256Digest(ReadFileOrDie(it->path().string()));
    }
  }
  return out;
}

std::string Sha256Digest(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t eol = text.find('\n', start);
    if (eol == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, eol - start));
    start = eol + 1;
  }
  return lines;
}

size_t CountOccurrences(const std::string& haystack, const std::string& needle) {
  if (needle.empty()) return 0;
  size_t count = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

}  // namespace plinth::e2e
