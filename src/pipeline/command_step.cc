#include "pipeline/command_step.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <utility>

#include "core/files.h"
#include "pipeline/interpolation.h"

namespace plinth::pipeline {
namespace {

using Steady = std::chrono::steady_clock;

Status Errno(const std::string& what) {
  return absl::InternalError(what + ": " + std::strerror(errno));
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::string Absolute(const std::string& path, const std::string& base) {
  if (!path.empty() && path[0] == '/') return path;
  return (base.empty() ? std::string(".") : base) + "/" + path;
}

// The file posix_spawn should execute. The search uses the PATH the command will see, not the
// platform's, and happens here because the child may only make async-signal-safe calls.
StatusOr<std::string> FindProgram(const std::string& program, const std::string& path_var,
                                  const std::string& work_dir) {
  if (program.find('/') != std::string::npos) {
    const std::string path = Absolute(program, work_dir);
    if (!IsExecutableFile(path)) {
      return absl::NotFoundError("program '" + program + "' is not an executable file");
    }
    return path;
  }
  size_t start = 0;
  while (start <= path_var.size()) {
    size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = Absolute(dir, work_dir) + "/" + program;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return absl::NotFoundError("program '" + program + "' was not found in PATH (" +
                             path_var.substr(0, 200) + ")");
}

// RAII for posix_spawn's attribute objects.
struct SpawnSetup {
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

// Splits the pipe's bytes into log lines.
class LineSplitter {
 public:
  LineSplitter(const StepContext& ctx, size_t max_line) : ctx_(ctx), max_line_(max_line) {}

  void Add(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        Emit();
      } else {
        partial_.push_back(data[i]);
        if (partial_.size() >= max_line_) Emit();
      }
    }
  }
  void Finish() {
    if (!partial_.empty()) Emit();
  }
  const std::string& last_line() const { return last_line_; }

 private:
  void Emit() {
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    ctx_.Log(partial_);
    if (!partial_.empty()) last_line_ = partial_;
    partial_.clear();
  }

  const StepContext& ctx_;
  size_t max_line_;
  std::string partial_;
  std::string last_line_;
};

std::string FormatDuration(Steady::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 10000) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

StatusOr<std::map<std::string, double>> ReadMetrics(const std::string& path) {
  std::map<std::string, double> metrics;
  StatusOr<std::string> text = ReadFile(path);
  if (absl::IsNotFound(text.status())) return metrics;
  if (!text.ok()) return text.status();
  StatusOr<Json> json = ParseJson(*text);
  if (!json.ok() || !json->is_object()) {
    return absl::InvalidArgumentError(
        "PLINTH_METRICS_FILE must hold a JSON object of names to numbers");
  }
  for (auto it = json->begin(); it != json->end(); ++it) {
    if (!it.value().is_number() || !std::isfinite(it.value().get<double>())) {
      return absl::InvalidArgumentError("PLINTH_METRICS_FILE: metric '" + it.key() +
                                        "' is not a finite number");
    }
    metrics[it.key()] = it.value().get<double>();
  }
  return metrics;
}

StatusOr<StepResult> RunCommand(const CommandStepOptions& options, StepContext& ctx) {
  const Environment* env = ctx.environment();
  if (ctx.command().empty()) return absl::InvalidArgumentError("the command is empty");

  // argv: the environment's prefix (or its image launcher), then the step's own.
  std::vector<std::string> argv;
  if (env != nullptr && env->is_image()) {
    if (!options.image_launcher) {
      return absl::UnimplementedError("environment '" + env->name +
                                      "' is an image, and this platform has no container "
                                      "runtime configured to run it");
    }
    ASSIGN_OR_RETURN(argv, options.image_launcher(*env, ctx, ctx.command()));
  } else {
    if (env != nullptr) argv = env->command;
    argv.insert(argv.end(), ctx.command().begin(), ctx.command().end());
  }

  // The environment, rebuilt: later entries win.
  std::map<std::string, std::string> vars;
  for (const std::string& name : options.pass_env) {
    if (const char* value = std::getenv(name.c_str())) vars[name] = value;
  }
  if (env != nullptr) {
    for (const auto& [name, value] : env->env) vars[name] = value;
  }
  if (vars.count("PATH") == 0) vars["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  const std::string tmp_dir = ctx.scratch_dir() + "/tmp";
  RETURN_IF_ERROR(MakeDirectories(tmp_dir));
  const std::string metrics_file = ctx.scratch_dir() + "/metrics.json";
  ::unlink(metrics_file.c_str());
  vars["TMPDIR"] = tmp_dir;
  vars["PLINTH_STEP"] = ctx.step();
  vars["PLINTH_ATTEMPT"] = std::to_string(ctx.attempt());
  vars["PLINTH_WORK_DIR"] = ctx.work_dir();
  vars["PLINTH_OUTPUT_DIR"] = ctx.output_dir();
  vars["PLINTH_METRICS_FILE"] = metrics_file;
  for (const std::string& name : ctx.declared_outputs()) {
    vars[CommandVariable("PLINTH_OUTPUT_", name)] = ctx.OutputPath(name);
  }
  for (const auto& [name, input] : ctx.inputs()) {
    vars[CommandVariable("PLINTH_INPUT_", name)] = input.path;
    vars[CommandVariable("PLINTH_INPUT_", name) + "_DIGEST"] = input.digest;
  }
  if (ctx.with().is_object()) {
    for (auto it = ctx.with().begin(); it != ctx.with().end(); ++it) {
      vars[CommandVariable("PLINTH_PARAM_", it.key())] = ValueText(it.value());
    }
  }

  ASSIGN_OR_RETURN(const std::string program, FindProgram(argv[0], vars["PATH"], ctx.work_dir()));

  // Everything the child needs, built before spawning.
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : vars) env_strings.push_back(name + "=" + value);
  std::vector<char*> c_argv, c_env;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  for (std::string& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("cannot create a pipe");
  const int read_fd = fds[0];
  const int write_fd = fds[1];

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, write_fd, 1);
  posix_spawn_file_actions_adddup2(&setup.actions, write_fd, 2);
  if (!ctx.work_dir().empty()) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, ctx.work_dir().c_str());
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Descriptors other threads opened without O_CLOEXEC must not leak into user code.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
#endif
  // Its own process group (so a timeout can kill everything it started), default signal
  // dispositions and an empty mask whatever the platform's threads have set.
  sigset_t defaults, empty;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);
  posix_spawnattr_setsigmask(&setup.attr, &empty);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = 0;
  const int spawn_error = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr,
                                        c_argv.data(), c_env.data());
  ::close(write_fd);
  if (spawn_error != 0) {
    ::close(read_fd);
    return absl::FailedPreconditionError("cannot run '" + argv[0] +
                                         "': " + std::strerror(spawn_error));
  }
  ctx.Log("$ " + [&] {
    std::string line;
    for (const std::string& a : argv) line += (line.empty() ? "" : " ") + a;
    return line;
  }());

  LineSplitter lines(ctx, options.max_line_bytes);
  const Steady::time_point started = Steady::now();
  std::optional<Steady::time_point> term_sent;
  bool kill_sent = false;
  bool exited = false;
  bool pipe_open = true;
  char buf[8192];
  while (!exited) {
    if (pipe_open) {
      struct pollfd p = {read_fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        const ssize_t n = ::read(read_fd, buf, sizeof(buf));
        if (n > 0) lines.Add(buf, static_cast<size_t>(n));
        if (n == 0) pipe_open = false;
      }
    } else {
      ::usleep(20000);
    }
    // Exited, but not reaped yet: while the leader is a zombie its process group id cannot be
    // reused, so killing the group below cannot hit anything else.
    siginfo_t info;
    info.si_pid = 0;
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      exited = true;
      break;
    }
    if (ctx.cancelled() && !term_sent) {
      ::kill(-pid, SIGTERM);
      term_sent = Steady::now();
    }
    if (term_sent && !kill_sent && Steady::now() - *term_sent >= options.kill_grace) {
      ::kill(-pid, SIGKILL);
      kill_sent = true;
    }
  }
  // Whatever the command left running in its group ends with it.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The rest of the output. Processes that left the group (setsid) may hold the pipe open; stop
  // waiting for them after a moment.
  const Steady::time_point drain_until = Steady::now() + std::chrono::seconds(2);
  while (pipe_open && Steady::now() < drain_until) {
    struct pollfd p = {read_fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::read(read_fd, buf, sizeof(buf));
    if (n > 0) lines.Add(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR)) pipe_open = false;
  }
  ::close(read_fd);
  lines.Finish();

  const std::string elapsed = FormatDuration(Steady::now() - started);
  if (term_sent) {
    const std::string how = kill_sent ? "SIGKILL" : "SIGTERM";
    if (ctx.run_cancelled()) {
      return absl::CancelledError("cancelled; the command's processes were stopped (" + how + ")");
    }
    return absl::DeadlineExceededError("timed out after " + elapsed +
                                       "; the command's processes were killed (" + how + ")");
  }
  const std::string last = lines.last_line().empty() ? "" : ": " + lines.last_line().substr(0, 200);
  if (WIFSIGNALED(status)) {
    return absl::AbortedError("the command was killed by signal " +
                              std::to_string(WTERMSIG(status)) + last);
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ctx.Log("exit status " + std::to_string(code) + " after " + elapsed);
  if (code != 0) {
    return absl::AbortedError("the command exited with status " + std::to_string(code) + last);
  }

  StepResult result;
  for (const std::string& name : ctx.declared_outputs()) {
    const std::string path = ctx.OutputPath(name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError("the command did not write its output '" + name +
                                           "' (a file at $" +
                                           CommandVariable("PLINTH_OUTPUT_", name) + ")");
    }
    result.outputs[name] = path;
  }
  ASSIGN_OR_RETURN(result.metrics, ReadMetrics(metrics_file));
  Json summary = Json::object();
  summary["exit_status"] = code;
  summary["argv"] = argv;
  if (env != nullptr) summary["environment"] = env->name;
  result.summary = std::move(summary);
  return result;
}

}  // namespace

std::string CommandVariable(const std::string& prefix, const std::string& name) {
  std::string out = prefix;
  for (char c : name) {
    if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    } else {
      out.push_back('_');
    }
  }
  return out;
}

StepType CommandStepType(CommandStepOptions options) {
  StepType type;
  type.name = kCommandStepType;
  type.description = "runs a command in an approved environment";
  type.version = kCommandStepVersion;
  type.run = [options = std::move(options)](StepContext& ctx) { return RunCommand(options, ctx); };
  return type;
}

}  // namespace plinth::pipeline
