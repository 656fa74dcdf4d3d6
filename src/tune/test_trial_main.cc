// A trial program for process_evaluator_test: reads --trial, behaves as params.mode says.
//   ok          prints a line, writes {"metrics": {"score": 2 * x, "budget": budget}}
//   fail        prints 30 numbered lines to stderr, exits 3
//   hang        writes its pid and a child's pid to params.pid_file, then sleeps (the child too)
//   no_result   exits 0 without a result
//   bad_result  writes a result with a misspelt key
//   env         reports which variables it sees
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/files.h"
#include "tune/process_evaluator.h"

int main(int argc, char** argv) {
  using namespace plinth;
  const std::vector<std::string> args(argv + 1, argv + argc);
  StatusOr<tune::TrialInvocation> inv = tune::ParseTrialArgs(args);
  if (!inv.ok()) {
    std::fprintf(stderr, "%s\n", std::string(inv.status().message()).c_str());
    return 2;
  }
  StatusOr<tune::Trial> trial = tune::ReadTrialFile(inv->trial_path);
  if (!trial.ok()) {
    std::fprintf(stderr, "%s\n", std::string(trial.status().message()).c_str());
    return 2;
  }
  const std::string mode = trial->params.value("mode", std::string("ok"));
  tune::TrialResult result;
  if (mode == "ok") {
    std::printf("hello from trial %d\n", trial->index);
    result.metrics["score"] = 2 * trial->params.value("x", 0.0);
    result.metrics["budget"] = static_cast<double>(trial->budget.value_or(-1));
    result.artifacts = Json{{"note", "trial " + std::to_string(trial->index)}};
  } else if (mode == "fail") {
    for (int i = 1; i <= 30; ++i) std::fprintf(stderr, "problem line %d\n", i);
    return 3;
  } else if (mode == "hang") {
    const pid_t child = fork();
    if (child == 0) {
      for (;;) pause();
    }
    const std::string pids = std::to_string(getpid()) + " " + std::to_string(child) + "\n";
    if (!WriteFileAtomic(trial->params.value("pid_file", std::string()), pids, 0644, true).ok()) {
      return 4;
    }
    for (;;) pause();
  } else if (mode == "no_result") {
    return 0;
  } else if (mode == "bad_result") {
    return WriteFileAtomic(inv->result_path, "{\"metric\": {\"score\": 1}}", 0644, true).ok() ? 0
                                                                                              : 5;
  } else if (mode == "env") {
    result.metrics["has_secret"] = std::getenv("PLINTH_TEST_SECRET") != nullptr ? 1 : 0;
    const char* extra = std::getenv("TRIAL_EXTRA");
    result.metrics["has_extra"] = extra != nullptr && std::string(extra) == "yes" ? 1 : 0;
  }
  Status written = tune::WriteTrialResult(inv->result_path, result);
  if (!written.ok()) {
    std::fprintf(stderr, "%s\n", std::string(written.message()).c_str());
    return 6;
  }
  return 0;
}
