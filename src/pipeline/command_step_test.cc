// Command steps through the executor: real processes, captured output, exit codes, variables,
// environments, timeouts and cancellation that kill the process group, and cache keys that
// follow the scripts a command names.
#include "pipeline/command_step.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "core/sha256.h"
#include "pipeline/executor.h"
#include "pipeline/pipeline_test_util.h"

namespace plinth::pipeline {
namespace {

using testing::Harness;
using ::testing::HasSubstr;
using testing::ReadText;
using testing::WriteText;

// One command step named "cmd" in environment `env`, with extra lines (already indented).
std::string CommandSpec(const std::string& run, const std::string& extra = "",
                        const std::string& env = "shell") {
  return "name: p\n"
         "steps:\n"
         "  - name: cmd\n"
         "    run: " +
         run +
         "\n"
         "    environment: " +
         env + "\n" + extra;
}

// True once `pid` has died: it no longer exists, or is a zombie waiting for init to reap it
// (which can take a while in a container).
bool ProcessDied(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(CommandStepTest, CapturesOutputAndCollectsDeclaredOutputs) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec(
      "[sh, -c, 'echo to stdout; echo to stderr >&2; printf hi > \"$PLINTH_OUTPUT_REPORT\"']",
      "    outputs: [report]\n"));
  const RunResult result = h.Run(spec);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  const StepOutcome& cmd = *result.Find("cmd");
  EXPECT_THAT(cmd.log, HasSubstr("to stdout\nto stderr\n"));
  EXPECT_THAT(cmd.log, HasSubstr("exit status 0 after "));
  EXPECT_EQ(cmd.outputs.at("report"), Sha256Digest("hi"));
  EXPECT_EQ(h.Output(result, "cmd", "report"), "hi");
  EXPECT_EQ(cmd.summary["exit_status"], Json(0));
  EXPECT_EQ(cmd.summary["environment"], Json("shell"));
  EXPECT_EQ(h.events.Count(EventKind::kStepLog, "cmd"), 4);  // "$ sh ...", 2 lines, exit status
}

TEST(CommandStepTest, NonZeroExitFails) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[sh, -c, 'echo boom; exit 3']"));
  const RunResult result = h.Run(spec);
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_EQ(result.status.message(), "step 'cmd': the command exited with status 3: boom");
  EXPECT_THAT(result.Find("cmd")->log, HasSubstr("boom\nexit status 3"));
}

TEST(CommandStepTest, AMissingDeclaredOutputFails) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[\"true\"]", "    outputs: [model]\n"));
  EXPECT_EQ(h.Run(spec).Find("cmd")->status.message(),
            "the command did not write its output 'model' (a file at $PLINTH_OUTPUT_MODEL)");
}

TEST(CommandStepTest, VariablesForParamsInputsAndOutputs) {
  Harness h;
  ::setenv("PLINTH_TOKEN", "plt_secret", 1);
  const PipelineSpec spec = h.Parse(
      "name: p\n"
      "parameters:\n"
      "  depth: 4\n"
      "steps:\n"
      "  - name: make\n"
      "    run: [sh, -c, 'printf data > \"$PLINTH_OUTPUT_DATA\"']\n"
      "    environment: shell\n"
      "    outputs: [data]\n"
      "  - name: cmd\n"
      "    run:\n"
      "      - sh\n"
      "      - -c\n"
      "      - >-\n"
      "        echo depth=$PLINTH_PARAM_MAX_DEPTH;\n"
      "        echo input=$(cat \"$PLINTH_INPUT_TRAIN\");\n"
      "        echo digest=$PLINTH_INPUT_TRAIN_DIGEST;\n"
      "        echo token=$${PLINTH_TOKEN:-none};\n"
      "        echo arg=$1 out=$2;\n"
      "        echo step=$PLINTH_STEP attempt=$PLINTH_ATTEMPT;\n"
      "        cat \"$0\" > \"$PLINTH_OUTPUT_COPY\"\n"
      "      - ${steps.make.outputs.data}\n"
      "      - depth-${params.depth}\n"
      "      - ${outputs.copy}\n"
      "    environment: shell\n"
      "    inputs: {train: make.outputs.data}\n"
      "    outputs: [copy]\n"
      "    with:\n"
      "      max_depth: ${params.depth}\n");
  const RunResult result = h.Run(spec, {"depth=7"});
  ::unsetenv("PLINTH_TOKEN");
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  const std::string& log = result.Find("cmd")->log;
  EXPECT_THAT(log, HasSubstr("depth=7\n"));
  EXPECT_THAT(log, HasSubstr("input=data\n"));
  EXPECT_THAT(log, HasSubstr("digest=" + Sha256Digest("data") + "\n"));
  EXPECT_THAT(log, HasSubstr("token=none\n"));  // the platform's variables are not passed on
  EXPECT_THAT(log, HasSubstr("arg=depth-7 out="));
  EXPECT_THAT(log, HasSubstr("step=cmd attempt=1\n"));
  EXPECT_EQ(h.Output(result, "cmd", "copy"), "data");  // $0 was the input's local path
}

TEST(CommandStepTest, EnvironmentPrefixAndVariables) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[sh, -c, 'echo $GREETING $FOO']", "", "greeting"));
  const RunResult result = h.Run(spec);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_THAT(result.Find("cmd")->log, HasSubstr("$ /usr/bin/env GREETING=hello sh -c"));
  EXPECT_THAT(result.Find("cmd")->log, HasSubstr("hello bar\n"));
}

TEST(CommandStepTest, ImageEnvironmentsNeedALauncher) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[score]", "", "scoring"));
  RunResult result = h.Run(spec);
  EXPECT_EQ(result.Find("cmd")->status.code(), absl::StatusCode::kUnimplemented);

  ExecutorOptions options = h.Options();
  options.command.image_launcher =
      [](const Environment& env, const StepContext&,
         const std::vector<std::string>& argv) -> StatusOr<std::vector<std::string>> {
    std::vector<std::string> out = {"echo", "container", env.image + "@" + env.digest};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
  };
  result = h.Run(spec, {}, options);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_THAT(
      result.Find("cmd")->log,
      HasSubstr("container registry.example/scoring@sha256:" + std::string(64, 'b') + " score\n"));
}

TEST(CommandStepTest, MetricsFile) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec(
      "[sh, -c, 'echo \"{\\\"auc\\\": 0.91, \\\"rows\\\": 3}\" > \"$PLINTH_METRICS_FILE\"']"));
  const RunResult result = h.Run(spec);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_EQ(result.Find("cmd")->metrics.at("auc"), 0.91);
  EXPECT_EQ(result.Find("cmd")->metrics.at("rows"), 3);
}

TEST(CommandStepTest, ProgramNotFound) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[no-such-program-xyz]"));
  const RunResult result = h.Run(spec);
  EXPECT_EQ(result.Find("cmd")->status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.Find("cmd")->status.message()),
              HasSubstr("program 'no-such-program-xyz' was not found in PATH"));
}

TEST(CommandStepTest, TimeoutKillsTheProcessGroup) {
  Harness h;
  const std::string pidfile = h.root() + "/pid";
  const PipelineSpec spec =
      h.Parse(CommandSpec("[sh, -c, 'sleep 5 & echo $! > \"$PLINTH_PARAM_PIDFILE\"; wait']",
                          "    timeout: 200ms\n"
                          "    with: {pidfile: " +
                              pidfile + "}\n"));
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = h.Run(spec);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.state, RunState::kFailed);
  const StepOutcome& cmd = *result.Find("cmd");
  EXPECT_EQ(cmd.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(cmd.status.message()), HasSubstr("timed out after "));
  EXPECT_THAT(std::string(cmd.status.message()),
              HasSubstr("the command's processes were killed (SIGTERM)"));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  // The background sleep, in the same process group, was killed too.
  const std::string pid_text = ReadText(pidfile);
  ASSERT_FALSE(pid_text.empty());
  EXPECT_TRUE(ProcessDied(static_cast<pid_t>(std::stol(pid_text))));
}

TEST(CommandStepTest, ProcessesThatIgnoreSigtermAreKilled) {
  Harness h;
  const PipelineSpec spec =
      h.Parse(CommandSpec("[sh, -c, 'trap \"\" TERM; sleep 5']", "    timeout: 100ms\n"));
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = h.Run(spec);  // kill_grace is 500ms in the harness
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_THAT(std::string(result.Find("cmd")->status.message()), HasSubstr("(SIGKILL)"));
}

TEST(CommandStepTest, CancellationKillsTheCommand) {
  Harness h;
  const PipelineSpec spec = h.Parse(CommandSpec("[sleep, '5']"));
  std::atomic<bool> cancel{false};
  ExecutorOptions options = h.Options();
  options.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = h.Run(spec, {}, options);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(result.state, RunState::kCancelled);
  EXPECT_EQ(result.Find("cmd")->state, StepState::kCancelled);
}

TEST(CommandStepTest, ScriptsNamedOnTheCommandLineAreInTheKey) {
  Harness h;
  WriteText(h.work_dir() + "/report.sh", "echo v1\n");
  const PipelineSpec spec = h.Parse(CommandSpec("[sh, report.sh]"));
  RunResult result = h.Run(spec);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_THAT(result.Find("cmd")->log, HasSubstr("v1\n"));
  EXPECT_EQ(h.Run(spec).Find("cmd")->state, StepState::kCached);
  WriteText(h.work_dir() + "/report.sh", "echo v2\n");
  result = h.Run(spec);
  EXPECT_EQ(result.Find("cmd")->state, StepState::kSucceeded);
  EXPECT_THAT(result.Find("cmd")->log, HasSubstr("v2\n"));
}

TEST(CommandStepTest, TheEnvironmentIsInTheKey) {
  Harness h;
  const RunResult shell = h.Run(h.Parse(CommandSpec("[echo, hi]")));
  const RunResult greeting = h.Run(h.Parse(CommandSpec("[echo, hi]", "", "greeting")));
  EXPECT_EQ(greeting.Find("cmd")->state, StepState::kSucceeded);
  EXPECT_NE(shell.Find("cmd")->cache_key, greeting.Find("cmd")->cache_key);
}

TEST(CommandStepTest, CommandVariableNames) {
  EXPECT_EQ(CommandVariable("PLINTH_OUTPUT_", "model_v2"), "PLINTH_OUTPUT_MODEL_V2");
  EXPECT_EQ(CommandVariable("PLINTH_PARAM_", "maxDepth"), "PLINTH_PARAM_MAXDEPTH");
}

}  // namespace
}  // namespace plinth::pipeline
