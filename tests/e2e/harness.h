// Harness of the end-to-end tests: runs the real `plinth` binary with an argument vector
// (posix_spawn, never a shell) and captures its stdout, stderr and exit code under a timeout;
// starts `plinth server --listen 127.0.0.1:0` as a child, learns its port from the first line it
// prints and stops it with SIGTERM; gives each test a fresh temporary folder and home; and opens
// raw HTTP connections to the server with cpp-httplib.
#ifndef PLINTH_TESTS_E2E_HARNESS_H_
#define PLINTH_TESTS_E2E_HARNESS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace plinth::e2e {

using Json = nlohmann::json;

// Absolute path of the `plinth` binary under test.
std::string PlinthBinary();

struct CommandResult {
  int exit_code = -1;  // the exit status; 128 + signal number if killed by a signal
  std::string out;
  std::string err;
  bool timed_out = false;

  // Parses stdout as JSON (a null value if it is not JSON).
  Json OutJson() const;
  // The command's output, for assertion messages.
  std::string Describe() const;
};

struct RunOptions {
  // Added to the child's environment, which is otherwise the test's without any PLINTH_* variable.
  std::map<std::string, std::string> env;
  // Working folder of the child; "/" by default, so no ./.plinth is ever picked up by accident.
  std::string cwd = "/";
  std::chrono::milliseconds timeout{30000};
  // When set, polled while the command runs; the first time it returns true the command gets
  // `interrupt_signal` (as a user's Ctrl-C would send).
  std::function<bool()> interrupt_when;
  int interrupt_signal = SIGINT;
};

// Runs `plinth ARGS...`; stdin is /dev/null. A child still running at the timeout is killed.
CommandResult RunPlinth(const std::vector<std::string>& args, const RunOptions& options = {});

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A home made by `plinth init --home ROOT/home --json` in a fresh temporary folder.
class TestHome {
 public:
  TestHome() = default;
  // Runs init; on failure, says why (and admin_token() stays empty).
  ::testing::AssertionResult Init();

  const std::string& dir() const { return dir_; }
  const std::string& admin_token() const { return admin_token_; }
  // ROOT, the folder that holds the home, for scratch files next to it.
  const TempDir& root() const { return root_; }

 private:
  TempDir root_;
  std::string dir_;
  std::string admin_token_;
};

// `plinth server` on a home, on a free local port, with stdout and stderr kept in files.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `plinth --home HOME server --listen LISTEN` and waits (up to 15 s) for the line
  // "plinth server listening on http://HOST:PORT ...".
  ::testing::AssertionResult Start(const std::string& home,
                                   const std::string& listen = "127.0.0.1:0");
  // Starts `BINARY ARGS...` (e.g. `plinth serve` or `plinth-edge serve`) and waits (up to 30 s)
  // for its first line of output to match `listening_regex`, whose second group is the port.
  ::testing::AssertionResult StartProgram(const std::string& binary,
                                          const std::vector<std::string>& args,
                                          const std::string& listening_regex,
                                          const std::map<std::string, std::string>& env = {});
  // Sends `signal` (SIGTERM by default) and waits up to `timeout` for the server to exit; returns
  // its exit code (128 + signal if killed by one), or -1 if it had to be killed after the timeout.
  int Stop(int signal = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(15));

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // What the server wrote so far.
  std::string Stdout() const;
  std::string Stderr() const;
  // A raw HTTP client to the server: no URL encoding of paths, short timeouts.
  std::unique_ptr<httplib::Client> Client() const;

 private:
  TempDir logs_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// How a CLI scenario reaches the platform: in process on the home, or remotely through a server.
enum class Mode { kInProcess, kRemote };
std::string ModeName(Mode mode);
// Names the mode in test output.
void PrintTo(Mode mode, std::ostream* os);

// Builds `plinth` command lines for one mode: `--home HOME` in process, `--server URL` remotely,
// always with an explicit `--token` when one is given.
class Cli {
 public:
  Cli(Mode mode, std::string home, std::string server_url)
      : mode_(mode), home_(std::move(home)), server_url_(std::move(server_url)) {}

  // Runs `plinth [--home H | --server URL] [--token T] ARGS...`.
  CommandResult Run(const std::string& token, const std::vector<std::string>& args,
                    const RunOptions& options = {}) const;
  // The same with --json before ARGS.
  CommandResult RunJson(const std::string& token, const std::vector<std::string>& args) const;

  Mode mode() const { return mode_; }

 private:
  Mode mode_;
  std::string home_;
  std::string server_url_;
};

// A fresh home per test and, in remote mode, a server on it; `cli_` reaches it in the mode under
// test. Suites deriving from it are instantiated over Mode::kInProcess and Mode::kRemote, with
// test names from ModeParamName.
class ModeTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override;

  Mode mode() const { return GetParam(); }
  const std::string& admin() const { return home_.admin_token(); }
  // As the admin: creates user NAME with ROLE (on PROJECT, or platform-wide when empty) and
  // issues a token for them; returns the token ("" after reporting a failure).
  std::string CreateUserWithToken(const std::string& name, const std::string& role,
                                  const std::string& project);
  // As the admin: creates a project (reporting a failure if it cannot).
  void CreateProject(const std::string& name);

  TestHome home_;
  ServerProcess server_;
  std::unique_ptr<Cli> cli_;
};

std::string ModeParamName(const ::testing::TestParamInfo<Mode>& info);

// Parses `text` as JSON; a null value if it is not JSON.
Json ParseJsonOrNull(const std::string& text);
// `raw` as a JSON string literal, quoted and escaped, but with its bytes otherwise as they are
// (invalid UTF-8 included), for bodies that a JSON library would refuse to write.
std::string RawJsonString(const std::string& raw);

// Headers with `Authorization: Bearer TOKEN` (none when empty) and, when given, X-Request-Id.
httplib::Headers AuthHeaders(const std::string& token, const std::string& request_id = "");

// Parses a response body as JSON (a null value if it is not JSON).
Json BodyJson(const httplib::Result& res);

// True if `id` is a well-formed request id: 1-64 characters from [A-Za-z0-9._-].
bool IsWellFormedRequestId(const std::string& id);

// A response read off a raw socket.
struct RawResponse {
  int status = -1;                             // -1 if nothing parseable came back
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};
// Sends `request` verbatim to 127.0.0.1:PORT and parses what the server answers until it closes
// the connection or `wait` passes (send "Connection: close" to get the answer at once). For
// requests cpp-httplib will not send. The connection is never half-closed: the server would take
// that for a client gone away and not answer.
RawResponse RawHttpExchange(int port, const std::string& request,
                            std::chrono::milliseconds wait = std::chrono::seconds(10));
// Sends `request` verbatim and closes the connection at once, reading nothing: a client that
// hangs up in the middle of a request.
void SendAndHangUp(int port, const std::string& request);

// Runs `sql` on HOME/metadata.db (the SQLite store) and returns the first column of the first
// row as text ("" if none). Read-only unless `write`. Reports failures.
std::string QueryHomeStore(const std::string& home, const std::string& sql, bool write = false);

// Files.
std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& content);
bool FileExists(const std::string& path);
// Permission bits of `path` (e.g. 0600), or -1 if it cannot be stat'ed.
int FileMode(const std::string& path);
// Every regular file under `dir` (recursively) with its content's SHA-256, for before/after
// comparisons. Paths are relative to `dir`; entries under `skip` (relative names) are left out.
std::map<std::string, std::string> SnapshotTree(const std::string& dir,
                                                const std::vector<std::string>& skip = {});

// "sha256:" and the hex SHA-256 of `data`.
std::string Sha256Digest(const std::string& data);
// `n` pseudo-random bytes from `seed`.
std::string RandomBytes(size_t n, uint32_t seed);

// Splits text into lines (without their '\n').
std::vector<std::string> SplitLines(const std::string& text);
// Counts the non-overlapping occurrences of `needle` in `haystack`.
size_t CountOccurrences(const std::string& haystack, const std::string& needle);

}  // namespace plinth::e2e

#endif  // PLINTH_TESTS_E2E_HARNESS_H_
