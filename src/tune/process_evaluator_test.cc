// The process evaluator with a real trial program (test_trial_main.cc): results, failures with
// the output's tail, cancellation and timeouts that kill the process group, the environment, and
// a whole tuning over child processes.
#include "tune/process_evaluator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/files.h"
#include "tune/tuner.h"

namespace plinth::tune {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ProcessEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tune-process-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TrialEvaluator Evaluator(ProcessEvaluatorOptions options = {}) {
    options.argv = {PLINTH_TUNE_TEST_TRIAL};
    options.scratch_dir = dir_ + "/scratch";
    options.kill_grace = std::chrono::milliseconds(500);
    StatusOr<TrialEvaluator> evaluator = MakeProcessEvaluator(options);
    EXPECT_TRUE(evaluator.ok()) << evaluator.status();
    return *evaluator;
  }

  static Trial TrialWith(Json params, int index = 3) {
    Trial t;
    t.index = index;
    t.params = std::move(params);
    return t;
  }

  std::string dir_;
};

// A process has ended (or is a zombie waiting for a parent that is not us).
bool Gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z';
}

bool EventuallyGone(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    if (Gone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(ProcessEvaluatorTest, RunsATrialAndReadsItsResult) {
  TrialEvaluator evaluate = Evaluator();
  Trial trial = TrialWith({{"mode", "ok"}, {"x", 0.25}});
  trial.budget = 30;
  StatusOr<TrialResult> result = evaluate(trial, nullptr);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metrics.at("score"), 0.5);
  EXPECT_EQ(result->metrics.at("budget"), 30);
  EXPECT_EQ(result->artifacts["note"], "trial 3");
  // The trial's folder is removed afterwards.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scratch/trial-000003"));
}

TEST_F(ProcessEvaluatorTest, KeepsFilesWhenAsked) {
  ProcessEvaluatorOptions options;
  options.keep_files = true;
  TrialEvaluator evaluate = Evaluator(options);
  ASSERT_TRUE(evaluate(TrialWith({{"mode", "ok"}, {"x", 1}}), nullptr).ok());
  StatusOr<std::string> trial = ReadFile(dir_ + "/scratch/trial-000003/trial.json");
  ASSERT_TRUE(trial.ok());
  EXPECT_EQ(Json::parse(*trial),
            Json::parse(R"({"trial": 3, "params": {"mode": "ok", "x": 1}, "budget": null,
                            "rung": 0})"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/scratch/trial-000003/result.json"));
}

TEST_F(ProcessEvaluatorTest, AFailureCarriesTheExitStatusAndTheTailOfTheOutput) {
  StatusOr<TrialResult> result = Evaluator()(TrialWith({{"mode", "fail"}}), nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("the command exited with status 3: problem line 30"));
  EXPECT_THAT(message, HasSubstr("output (last 20 lines):\n  problem line 11\n"));
  EXPECT_THAT(message, HasSubstr("  problem line 30"));
  EXPECT_THAT(message, Not(HasSubstr("problem line 10\n")));
  EXPECT_THAT(message, Not(HasSubstr("exit status")));
}

TEST_F(ProcessEvaluatorTest, AMissingOrMalformedResultIsAClearError) {
  StatusOr<TrialResult> none = Evaluator()(TrialWith({{"mode", "no_result"}}), nullptr);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(none.status().message()),
              HasSubstr("the trial program exited 0 but wrote no result"));
  StatusOr<TrialResult> bad = Evaluator()(TrialWith({{"mode", "bad_result"}}), nullptr);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("the trial program's result: unknown key 'metric'"));
}

TEST_F(ProcessEvaluatorTest, CancelKillsTheWholeProcessGroup) {
  TrialEvaluator evaluate = Evaluator();
  const std::string pid_file = dir_ + "/pids";
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    for (int i = 0; i < 500 && !std::filesystem::exists(pid_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    cancel = true;
  });
  StatusOr<TrialResult> result =
      evaluate(TrialWith({{"mode", "hang"}, {"pid_file", pid_file}}), &cancel);
  canceller.join();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << result.status();
  StatusOr<std::string> pids = ReadFile(pid_file);
  ASSERT_TRUE(pids.ok());
  std::istringstream in(*pids);
  pid_t parent = 0, child = 0;
  in >> parent >> child;
  ASSERT_GT(parent, 0);
  ASSERT_GT(child, 0);
  EXPECT_TRUE(EventuallyGone(parent));
  EXPECT_TRUE(EventuallyGone(child));  // the trial program's own child, in its group
}

TEST_F(ProcessEvaluatorTest, ATrialPastItsTimeoutIsKilled) {
  ProcessEvaluatorOptions options;
  options.trial_timeout = std::chrono::milliseconds(300);
  StatusOr<TrialResult> result =
      Evaluator(options)(TrialWith({{"mode", "hang"}, {"pid_file", dir_ + "/p"}}), nullptr);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
}

TEST_F(ProcessEvaluatorTest, TheEnvironmentIsRebuilt) {
  ASSERT_EQ(::setenv("PLINTH_TEST_SECRET", "token", 1), 0);
  ProcessEvaluatorOptions options;
  options.env = {{"TRIAL_EXTRA", "yes"}};
  StatusOr<TrialResult> result = Evaluator(options)(TrialWith({{"mode", "env"}}), nullptr);
  ::unsetenv("PLINTH_TEST_SECRET");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->metrics.at("has_secret"), 0);
  EXPECT_EQ(result->metrics.at("has_extra"), 1);
}

TEST_F(ProcessEvaluatorTest, ATuningOverChildProcesses) {
  StatusOr<TuningSpec> spec = ParseTuningSpec(R"(space:
  parameters:
    x: {type: float, min: 0, max: 1}
    mode: {type: categorical, values: [ok, ok2]}
objective: {metric: score, direction: maximize}
sampler: {type: random, seed: 2}
budget: {max_trials: 6, parallelism: 2}
)",
                                              "tune.yaml", {nullptr, {"score", "budget"}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  // "ok2" is an unknown mode to the trial program: it writes an empty result, so those trials
  // fail for lack of the score.
  StatusOr<TuningResult> result = RunTuning(*spec, Evaluator());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->trials.size(), 6u);
  for (const TrialRecord& t : result->trials) {
    const bool ok = t.trial.params["mode"] == "ok";
    EXPECT_EQ(t.state, ok ? TrialState::kSucceeded : TrialState::kFailed) << t.status;
    if (ok) {
      EXPECT_EQ(t.metrics.at("score"), 2 * t.trial.params["x"].get<double>());
    }
  }
}

TEST(ProcessEvaluatorOptionsTest, RefusesAnEmptyCommand) {
  ProcessEvaluatorOptions options;
  options.scratch_dir = "/tmp";
  EXPECT_EQ(MakeProcessEvaluator(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.argv = {"/bin/true"};
  options.scratch_dir = "";
  EXPECT_EQ(MakeProcessEvaluator(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrialFilesTest, ArgsTrialFilesAndResults) {
  StatusOr<TrialInvocation> inv =
      ParseTrialArgs({"tune-trial", "--trial", "in.json", "--result=out.json"});
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->trial_path, "in.json");
  EXPECT_EQ(inv->result_path, "out.json");
  EXPECT_FALSE(ParseTrialArgs({"--trial", "in.json"}).ok());

  StatusOr<TrialResult> r = ParseTrialResult(R"({"metrics": {"auc": 0.8}, "artifacts": [1]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metrics.at("auc"), 0.8);
  EXPECT_EQ(r->artifacts, Json({1}));
  EXPECT_THAT(std::string(ParseTrialResult(R"({"metrics": {"auc": "high"}})").status().message()),
              HasSubstr("the metric 'auc' is not a finite number"));
  EXPECT_FALSE(ParseTrialResult("[]").ok());
  EXPECT_FALSE(ParseTrialResult("{}").ok());
  TrialResult bad;
  bad.metrics["x"] = std::nan("");
  EXPECT_FALSE(WriteTrialResult("/tmp/unused-tune-result.json", bad).ok());
}

}  // namespace
}  // namespace plinth::tune
