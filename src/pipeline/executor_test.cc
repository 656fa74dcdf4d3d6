// The executor with in-process step types: order, parallelism, caching, retries, timeouts,
// cancellation, resume, failure propagation and events.
#include "pipeline/executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/sha256.h"
#include "pipeline/pipeline_test_util.h"

namespace plinth::pipeline {
namespace {

using ::testing::ElementsAre;
using testing::Harness;
using ::testing::HasSubstr;
using testing::ReadText;
using testing::WriteText;

// What the test step types did, shared with the test body.
struct Record {
  std::mutex mu;
  std::map<std::string, int> runs;  // step -> times its run function was called
  std::vector<std::string> order;   // "start:x" and "end:x", in order
  std::atomic<int> running{0}, max_running{0};
  std::atomic<bool> broken{true};         // "breakable" fails while set
  std::map<std::string, Json> seen_with;  // step -> ctx.with() of its last run
  std::map<std::string, std::map<std::string, InputArtifact>> seen_inputs;

  void Start(const StepContext& ctx) {
    std::lock_guard<std::mutex> lock(mu);
    ++runs[ctx.step()];
    order.push_back("start:" + ctx.step());
    seen_with[ctx.step()] = ctx.with();
    seen_inputs[ctx.step()] = ctx.inputs();
  }
  void End(const StepContext& ctx) {
    std::lock_guard<std::mutex> lock(mu);
    order.push_back("end:" + ctx.step());
  }
  int Runs(const std::string& step) {
    std::lock_guard<std::mutex> lock(mu);
    return runs[step];
  }
  size_t Index(const std::string& event) {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i] == event) return i;
    }
    return order.size();
  }
};

StatusOr<StepResult> WriteOutput(const StepContext& ctx, const std::string& name,
                                 const std::string& text) {
  WriteText(ctx.OutputPath(name), text);
  StepResult result;
  result.outputs[name] = ctx.OutputPath(name);
  return result;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Record* rec = &record_;
    // produce: writes `value` (and its step name, so two steps never write the same bytes).
    StepType produce;
    produce.name = "produce";
    produce.with = {{"value", ValueType::kString, true, Json(), ""},
                    {"sleep_ms", ValueType::kInt, false, Json(0), ""}};
    produce.outputs = {{"out", "", false}};
    produce.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
      rec->Start(ctx);
      const int now = ++rec->running;
      int seen = rec->max_running.load();
      while (now > seen && !rec->max_running.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(ctx.with()["sleep_ms"].get<int>()));
      --rec->running;
      ctx.Log("producing " + ctx.with()["value"].get<std::string>());
      ctx.Progress(1.0, "done");
      rec->End(ctx);
      StatusOr<StepResult> result =
          WriteOutput(ctx, "out", ctx.step() + ":" + ctx.with()["value"].get<std::string>());
      if (result.ok()) result->metrics["size"] = 1.5;
      return result;
    };
    ASSERT_TRUE(h_.registry.Register(produce).ok());

    // concat: its inputs' contents in name order.
    StepType concat;
    concat.name = "concat";
    concat.outputs = {{"out", "", false}};
    concat.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
      rec->Start(ctx);
      std::string text;
      for (const auto& [name, input] : ctx.inputs()) {
        text += '[';
        text += ReadText(input.path);
        text += ']';
      }
      rec->End(ctx);
      return WriteOutput(ctx, "out", text);
    };
    ASSERT_TRUE(h_.registry.Register(concat).ok());

    // flaky: fails its first `failures` attempts.
    StepType flaky;
    flaky.name = "flaky";
    flaky.with = {{"failures", ValueType::kInt, true, Json(), ""}};
    flaky.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
      rec->Start(ctx);
      if (ctx.attempt() <= ctx.with()["failures"].get<int>()) {
        return absl::UnavailableError("flaked on attempt " + std::to_string(ctx.attempt()));
      }
      return StepResult();
    };
    ASSERT_TRUE(h_.registry.Register(flaky).ok());

    // breakable: fails while record_.broken is set.
    StepType breakable;
    breakable.name = "breakable";
    breakable.outputs = {{"out", "", false}};
    breakable.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
      rec->Start(ctx);
      if (rec->broken) return absl::InternalError("broken");
      return WriteOutput(ctx, "out", "fixed");
    };
    ASSERT_TRUE(h_.registry.Register(breakable).ok());

    // wait: polls for cancellation (or a timeout), as a long step should.
    StepType wait;
    wait.name = "wait";
    wait.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
      rec->Start(ctx);
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return absl::AbortedError("stopped");
    };
    ASSERT_TRUE(h_.registry.Register(wait).ok());

    // custom: does whatever custom_ says.
    StepType custom;
    custom.name = "custom";
    custom.outputs = {{"out", "", false}, {"extra", "", true}};
    custom.run = [this](StepContext& ctx) { return custom_(ctx); };
    ASSERT_TRUE(h_.registry.Register(custom).ok());
  }

  Harness h_;
  Record record_;
  std::function<StatusOr<StepResult>(StepContext&)> custom_;
};

// A diamond: a -> (b, c) -> d, plus e on its own.
const char kDiamond[] =
    "name: diamond\n"
    "parameters:\n"
    "  x: one\n"
    "steps:\n"
    "  - name: a\n"
    "    uses: produce\n"
    "    with: {value: a, sleep_ms: 20}\n"
    "  - name: b\n"
    "    uses: concat\n"
    "    inputs: {a: a.outputs.out}\n"
    "  - name: c\n"
    "    uses: produce\n"
    "    needs: [a]\n"
    "    with: {value: \"${params.x}\", sleep_ms: 20}\n"
    "  - name: d\n"
    "    uses: concat\n"
    "    inputs: {b: b.outputs.out, c: c.outputs.out}\n"
    "  - name: e\n"
    "    uses: produce\n"
    "    with: {value: e}\n";

TEST_F(ExecutorTest, RunsInDependencyOrder) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  const RunResult result = h_.Run(spec);
  EXPECT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_TRUE(result.status.ok());
  for (const auto& [step, need] : std::vector<std::pair<std::string, std::string>>{
           {"b", "a"}, {"c", "a"}, {"d", "b"}, {"d", "c"}}) {
    EXPECT_LT(record_.Index("end:" + need), record_.Index("start:" + step)) << step;
  }
  EXPECT_EQ(h_.Output(result, "d", "out"), "[[a:a]][c:one]");
  for (const StepOutcome& s : result.steps) {
    EXPECT_EQ(s.state, StepState::kSucceeded) << s.name;
    EXPECT_TRUE(IsValidDigest(s.cache_key));
    EXPECT_EQ(s.attempts, 1);
  }
  EXPECT_EQ(result.Find("a")->metrics.at("size"), 1.5);
  EXPECT_THAT(result.Find("a")->log, HasSubstr("producing a\n"));
}

TEST_F(ExecutorTest, StepsSeeResolvedWithAndInputs) {
  StepType typed;
  typed.name = "typed";
  typed.with = {{"n", ValueType::kInt, true, Json(), ""},
                {"rate", ValueType::kFloat, false, Json(0.5), ""},
                {"label", ValueType::kString, false, Json(), ""},
                {"model", ValueType::kString, false, Json(), ""}};
  Record* rec = &record_;
  typed.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
    rec->Start(ctx);
    return StepResult();
  };
  ASSERT_TRUE(h_.registry.Register(typed).ok());
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "parameters:\n"
      "  depth: 4\n"
      "steps:\n"
      "  - name: a\n"
      "    uses: produce\n"
      "    with: {value: v}\n"
      "  - name: t\n"
      "    uses: typed\n"
      "    inputs: {data: a.outputs.out}\n"
      "    with:\n"
      "      n: ${params.depth}\n"
      "      label: depth-${params.depth}\n"
      "      model: ${steps.a.outputs.out}\n");
  const RunResult result = h_.Run(spec, {"depth=6"});
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  const Json with = record_.seen_with["t"];
  EXPECT_EQ(with["n"], Json(6));
  EXPECT_EQ(with["rate"], Json(0.5));  // the type's default
  EXPECT_EQ(with["label"], Json("depth-6"));
  const std::string digest = result.Find("a")->outputs.at("out");
  const InputArtifact& input = record_.seen_inputs["t"].at("data");
  EXPECT_EQ(input.digest, digest);
  EXPECT_EQ(ReadText(input.path), "a:v");
  EXPECT_EQ(with["model"], Json(input.path));
  EXPECT_EQ(Sha256Digest("a:v"), digest);
}

TEST_F(ExecutorTest, ParallelismIsBounded) {
  std::string yaml = "name: wide\nsteps:\n";
  for (int i = 0; i < 8; ++i) {
    yaml += "  - name: s" + std::to_string(i) + "\n    uses: produce\n    with: {value: v" +
            std::to_string(i) + ", sleep_ms: 100}\n";
  }
  const PipelineSpec spec = h_.Parse(yaml);
  ExecutorOptions options = h_.Options();
  options.parallelism = 3;
  const RunResult result = h_.Run(spec, {}, options);
  EXPECT_EQ(result.state, RunState::kSucceeded);
  EXPECT_EQ(record_.max_running.load(), 3);

  record_.max_running = 0;
  options.parallelism = 1;
  options.cache = nullptr;
  h_.Run(spec, {}, options);
  EXPECT_EQ(record_.max_running.load(), 1);
}

TEST_F(ExecutorTest, SecondRunIsAllCached) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  const RunResult first = h_.Run(spec);
  ASSERT_EQ(first.state, RunState::kSucceeded);
  h_.events.Clear();
  const RunResult second = h_.Run(spec);
  ASSERT_EQ(second.state, RunState::kSucceeded);
  for (const StepOutcome& s : second.steps) {
    EXPECT_EQ(s.state, StepState::kCached) << s.name;
    EXPECT_FALSE(s.resumed);
    EXPECT_EQ(s.outputs, first.Find(s.name)->outputs);
    EXPECT_EQ(s.cache_key, first.Find(s.name)->cache_key);
  }
  EXPECT_EQ(second.Find("a")->metrics.at("size"), 1.5);
  EXPECT_EQ(record_.Runs("a"), 1);
  EXPECT_EQ(record_.Runs("d"), 1);
  EXPECT_EQ(h_.events.Count(EventKind::kStepCached), 5);
  EXPECT_EQ(h_.events.Count(EventKind::kStepStarted), 0);
}

TEST_F(ExecutorTest, ChangingAParameterReRunsExactlyWhatDependsOnIt) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  const RunResult first = h_.Run(spec);
  ASSERT_EQ(first.state, RunState::kSucceeded);
  const RunResult second = h_.Run(spec, {"x=two"});
  ASSERT_EQ(second.state, RunState::kSucceeded);
  // c reads x; d reads c's output. a, b and e are unchanged.
  EXPECT_EQ(second.Find("a")->state, StepState::kCached);
  EXPECT_EQ(second.Find("b")->state, StepState::kCached);
  EXPECT_EQ(second.Find("e")->state, StepState::kCached);
  EXPECT_EQ(second.Find("c")->state, StepState::kSucceeded);
  EXPECT_EQ(second.Find("d")->state, StepState::kSucceeded);
  EXPECT_EQ(h_.Output(second, "d", "out"), "[[a:a]][c:two]");
  EXPECT_EQ(record_.Runs("a"), 1);
  EXPECT_EQ(record_.Runs("c"), 2);
  EXPECT_EQ(record_.Runs("d"), 2);
  // Back to the first value: everything comes from the cache again.
  const RunResult third = h_.Run(spec, {"x=one"});
  EXPECT_EQ(third.Find("d")->state, StepState::kCached);
  EXPECT_EQ(third.Find("d")->outputs, first.Find("d")->outputs);
}

TEST_F(ExecutorTest, AStepTypesVersionIsPartOfTheKey) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  const RunResult first = h_.Run(spec);
  StepRegistry changed;
  for (const std::string& name : h_.registry.Names()) {
    StepType type = *h_.registry.Find(name);
    if (name == "concat") type.version = "2";
    ASSERT_TRUE(changed.Register(type).ok());
  }
  StatusOr<RunResult> second = RunPipeline(spec, {{"x", Json("one")}}, changed, h_.Options());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->Find("a")->state, StepState::kCached);
  EXPECT_EQ(second->Find("b")->state, StepState::kSucceeded);
  EXPECT_NE(second->Find("b")->cache_key, first.Find("b")->cache_key);
}

TEST_F(ExecutorTest, CacheHitsWhoseOutputsAreGoneRunAgain) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  ASSERT_EQ(h_.Run(spec).state, RunState::kSucceeded);
  testing::TempDir other;
  StatusOr<std::unique_ptr<DirectoryOutputStore>> empty =
      DirectoryOutputStore::Create(other.path());
  ASSERT_TRUE(empty.ok());
  ExecutorOptions options = h_.Options();
  options.output_store = empty->get();
  const RunResult second = h_.Run(spec, {}, options);
  EXPECT_EQ(second.state, RunState::kSucceeded);
  EXPECT_EQ(second.Find("a")->state, StepState::kSucceeded);
  EXPECT_EQ(record_.Runs("a"), 2);
}

TEST_F(ExecutorTest, CacheFalseAlwaysRuns) {
  const PipelineSpec spec = h_.Parse(
      "name: p\nsteps:\n  - name: a\n    uses: produce\n    with: {value: v}\n    cache: false\n");
  h_.Run(spec);
  const RunResult second = h_.Run(spec);
  EXPECT_EQ(second.Find("a")->state, StepState::kSucceeded);
  EXPECT_EQ(record_.Runs("a"), 2);
}

TEST_F(ExecutorTest, RetriesAFlakyStep) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: f\n"
      "    uses: flaky\n"
      "    with: {failures: 1}\n"
      "    retries: 1\n");
  const RunResult result = h_.Run(spec);
  EXPECT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_EQ(result.Find("f")->attempts, 2);
  EXPECT_EQ(record_.Runs("f"), 2);
  EXPECT_THAT(h_.events.Summary(),
              ElementsAre("run_started", "step_pending:f", "step_started:f", "step_retrying:f",
                          "step_started:f", "step_succeeded:f", "run_finished"));
  for (const PipelineEvent& e : h_.events.events()) {
    if (e.kind != EventKind::kStepRetrying) continue;
    EXPECT_EQ(e.attempt, 1);
    EXPECT_EQ(e.retry_delay_micros, 5000);
    EXPECT_EQ(e.status.message(), "flaked on attempt 1");
  }
  EXPECT_THAT(result.Find("f")->log, HasSubstr("attempt 1 failed: flaked on attempt 1\n"
                                               "attempt 2 of 2\n"));
}

TEST_F(ExecutorTest, RetriesRunOut) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: f\n"
      "    uses: flaky\n"
      "    with: {failures: 3}\n"
      "    retries: 2\n");
  const RunResult result = h_.Run(spec);
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_EQ(result.Find("f")->attempts, 3);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.status.message(), "step 'f': flaked on attempt 3");
}

TEST_F(ExecutorTest, AFailureSkipsWhatDependsOnItOnly) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: bad\n"
      "    uses: breakable\n"
      "  - name: after\n"
      "    uses: concat\n"
      "    inputs: {x: bad.outputs.out}\n"
      "  - name: later\n"
      "    uses: concat\n"
      "    inputs: {x: after.outputs.out}\n"
      "  - name: other\n"
      "    uses: produce\n"
      "    with: {value: o, sleep_ms: 50}\n");
  const RunResult result = h_.Run(spec);
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_EQ(result.status.message(), "step 'bad': broken");
  EXPECT_EQ(result.Find("bad")->state, StepState::kFailed);
  EXPECT_EQ(result.Find("after")->state, StepState::kSkipped);
  EXPECT_EQ(result.Find("after")->status.message(), "not run: 'bad' failed");
  EXPECT_EQ(result.Find("later")->state, StepState::kSkipped);
  EXPECT_EQ(result.Find("later")->status.message(), "not run: 'after' did not run");
  EXPECT_EQ(result.Find("other")->state, StepState::kSucceeded);
  EXPECT_EQ(h_.events.Count(EventKind::kStepSkipped), 2);
  EXPECT_EQ(record_.Runs("after"), 0);
}

TEST_F(ExecutorTest, FailFastStartsNothingMore) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: bad\n"
      "    uses: breakable\n"
      "  - name: other\n"
      "    uses: produce\n"
      "    needs: [first]\n"
      "    with: {value: o}\n"
      "  - name: first\n"
      "    uses: produce\n"
      "    with: {value: f, sleep_ms: 100}\n");
  ExecutorOptions options = h_.Options();
  options.fail_fast = true;
  const RunResult result = h_.Run(spec, {}, options);
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_EQ(result.Find("first")->state, StepState::kSucceeded);  // already running
  EXPECT_EQ(result.Find("other")->state, StepState::kSkipped);
  EXPECT_EQ(result.Find("other")->status.message(),
            "not run: the run stopped after 'bad' failed (fail_fast)");
}

TEST_F(ExecutorTest, TimeoutStopsACooperativeStep) {
  const PipelineSpec spec = h_.Parse(
      "name: p\nsteps:\n  - name: w\n    uses: wait\n    timeout: 100ms\n    retries: 1\n");
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = h_.Run(spec);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.state, RunState::kFailed);
  EXPECT_EQ(result.Find("w")->status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.Find("w")->status.message(), "timed out after 100ms: stopped");
  EXPECT_EQ(result.Find("w")->attempts, 2);  // a timeout is retried like any failure
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

TEST_F(ExecutorTest, CancellationStopsTheRun) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: quick\n"
      "    uses: produce\n"
      "    with: {value: q}\n"
      "  - name: w\n"
      "    uses: wait\n"
      "    needs: [quick]\n"
      "  - name: after\n"
      "    uses: produce\n"
      "    needs: [w]\n"
      "    with: {value: a}\n");
  std::atomic<bool> cancel{false};
  ExecutorOptions options = h_.Options();
  options.cancel = &cancel;
  // Cancel once the waiting step is running.
  EventObserver record = h_.events.Observer();
  options.observer = [&](const PipelineEvent& e) {
    record(e);
    if (e.kind == EventKind::kStepStarted && e.step == "w") cancel = true;
  };
  const auto start = std::chrono::steady_clock::now();
  const RunResult result = h_.Run(spec, {}, options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_EQ(result.state, RunState::kCancelled);
  EXPECT_TRUE(absl::IsCancelled(result.status));
  EXPECT_EQ(result.Find("quick")->state, StepState::kSucceeded);
  EXPECT_EQ(result.Find("w")->state, StepState::kCancelled);
  EXPECT_EQ(result.Find("after")->state, StepState::kCancelled);
  EXPECT_EQ(record_.Runs("after"), 0);
  EXPECT_EQ(h_.events.Count(EventKind::kStepCancelled), 2);
  const std::vector<PipelineEvent> events = h_.events.events();
  EXPECT_EQ(events.back().kind, EventKind::kRunFinished);
  EXPECT_EQ(events.back().run_state, RunState::kCancelled);
}

TEST_F(ExecutorTest, CancelledBeforeStartRunsNothing) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  std::atomic<bool> cancel{true};
  ExecutorOptions options = h_.Options();
  options.cancel = &cancel;
  const RunResult result = h_.Run(spec, {}, options);
  EXPECT_EQ(result.state, RunState::kCancelled);
  for (const StepOutcome& s : result.steps) EXPECT_EQ(s.state, StepState::kCancelled) << s.name;
  EXPECT_EQ(record_.Runs("a"), 0);
}

TEST_F(ExecutorTest, ResumeSkipsWhatCompleted) {
  const PipelineSpec spec = h_.Parse(
      "name: p\n"
      "steps:\n"
      "  - name: a\n"
      "    uses: produce\n"
      "    with: {value: a}\n"
      "  - name: b\n"
      "    uses: breakable\n"
      "    needs: [a]\n"
      "  - name: c\n"
      "    uses: concat\n"
      "    inputs: {a: a.outputs.out, b: b.outputs.out}\n");
  ExecutorOptions options = h_.Options();
  options.cache = nullptr;  // resume works without a cache
  const RunResult first = h_.Run(spec, {}, options);
  ASSERT_EQ(first.state, RunState::kFailed);
  EXPECT_EQ(first.Find("c")->state, StepState::kSkipped);
  const std::map<std::string, CompletedStep> completed = first.Completed();
  EXPECT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed.count("a"), 1u);

  record_.broken = false;  // fix the failing step
  options.resume = completed;
  h_.events.Clear();
  const RunResult second = h_.Run(spec, {}, options);
  EXPECT_EQ(second.state, RunState::kSucceeded) << second.status;
  EXPECT_EQ(second.Find("a")->state, StepState::kCached);
  EXPECT_TRUE(second.Find("a")->resumed);
  EXPECT_EQ(second.Find("b")->state, StepState::kSucceeded);
  EXPECT_EQ(second.Find("c")->state, StepState::kSucceeded);
  EXPECT_EQ(record_.Runs("a"), 1);
  EXPECT_EQ(record_.Runs("b"), 2);
  EXPECT_EQ(h_.Output(second, "c", "out"), "[a:a][fixed]");
  for (const PipelineEvent& e : h_.events.events()) {
    if (e.kind == EventKind::kStepCached) {
      EXPECT_TRUE(e.resumed);
    }
  }
  // A completed step whose key changed is run again.
  options.resume["a"].cache_key = "sha256:" + std::string(64, '0');
  const RunResult third = h_.Run(spec, {}, options);
  EXPECT_EQ(third.Find("a")->state, StepState::kSucceeded);
  EXPECT_EQ(record_.Runs("a"), 2);
}

TEST_F(ExecutorTest, OutputsAreChecked) {
  const PipelineSpec spec =
      h_.Parse("name: p\nsteps:\n  - name: x\n    uses: custom\n    retries: 0\n");
  custom_ = [](StepContext& ctx) -> StatusOr<StepResult> { return StepResult(); };
  EXPECT_EQ(h_.Run(spec).Find("x")->status.message(), "the step did not produce its output 'out'");

  testing::TempDir elsewhere;
  const std::string outside = elsewhere.path() + "/secret";
  WriteText(outside, "s");
  custom_ = [&](StepContext& ctx) -> StatusOr<StepResult> {
    StepResult result;
    result.outputs["out"] = outside;
    return result;
  };
  EXPECT_THAT(std::string(h_.Run(spec).Find("x")->status.message()),
              HasSubstr("output 'out' must be a file in the step's output folder"));

  custom_ = [](StepContext& ctx) -> StatusOr<StepResult> {
    StatusOr<StepResult> result = WriteOutput(ctx, "out", "o");
    result->outputs["undeclared"] = ctx.OutputPath("out");
    return result;
  };
  EXPECT_EQ(h_.Run(spec).Find("x")->status.message(),
            "the step returned output 'undeclared', which its type does not declare");

  custom_ = [](StepContext& ctx) -> StatusOr<StepResult> {
    StatusOr<StepResult> result = WriteOutput(ctx, "out", "o");
    result->metrics["auc"] = std::nan("");
    return result;
  };
  EXPECT_EQ(h_.Run(spec).Find("x")->status.message(), "metric 'auc' is not a finite number");

  // An optional output may be left out; a step that throws fails cleanly.
  custom_ = [](StepContext& ctx) -> StatusOr<StepResult> { return WriteOutput(ctx, "out", "o"); };
  EXPECT_EQ(h_.Run(spec).Find("x")->state, StepState::kSucceeded);
  custom_ = [](StepContext&) -> StatusOr<StepResult> { throw std::runtime_error("oops"); };
  h_.cache.Clear();
  EXPECT_EQ(h_.Run(spec).Find("x")->status.message(), "the step threw an exception: oops");
}

TEST_F(ExecutorTest, FingerprintsAreInTheKey) {
  std::string fingerprint = "v1";
  StepType reader;
  reader.name = "reader";
  reader.fingerprint = [&](const StepContext&) -> StatusOr<Json> { return Json(fingerprint); };
  Record* rec = &record_;
  reader.run = [rec](StepContext& ctx) -> StatusOr<StepResult> {
    rec->Start(ctx);
    return StepResult();
  };
  ASSERT_TRUE(h_.registry.Register(reader).ok());
  const PipelineSpec spec = h_.Parse("name: p\nsteps:\n  - name: r\n    uses: reader\n");
  h_.Run(spec);
  EXPECT_EQ(h_.Run(spec).Find("r")->state, StepState::kCached);
  fingerprint = "v2";
  EXPECT_EQ(h_.Run(spec).Find("r")->state, StepState::kSucceeded);
  EXPECT_EQ(record_.Runs("r"), 2);
}

TEST_F(ExecutorTest, EventsDescribeTheRun) {
  const PipelineSpec spec =
      h_.Parse("name: p\nsteps:\n  - name: a\n    uses: produce\n    with: {value: v}\n");
  const RunResult result = h_.Run(spec);
  ASSERT_EQ(result.state, RunState::kSucceeded);
  EXPECT_THAT(h_.events.Summary(), ElementsAre("run_started", "step_pending:a", "step_started:a",
                                               "step_succeeded:a", "run_finished"));
  bool saw_log = false, saw_progress = false;
  for (const PipelineEvent& e : h_.events.events()) {
    if (e.kind == EventKind::kStepLog && e.message == "producing v") saw_log = true;
    if (e.kind == EventKind::kStepProgress && e.progress == 1.0 && e.message == "done") {
      saw_progress = true;
    }
    if (e.kind == EventKind::kStepSucceeded) {
      EXPECT_EQ(e.outputs, result.Find("a")->outputs);
      EXPECT_EQ(e.cache_key, result.Find("a")->cache_key);
      EXPECT_EQ(e.metrics.at("size"), 1.5);
    }
    EXPECT_GT(e.time_micros, 0);
  }
  EXPECT_TRUE(saw_log);
  EXPECT_TRUE(saw_progress);
}

TEST_F(ExecutorTest, LogsAreBounded) {
  custom_ = [](StepContext& ctx) -> StatusOr<StepResult> {
    for (int i = 0; i < 100; ++i) ctx.Log("line " + std::to_string(i));
    return WriteOutput(ctx, "out", "o");
  };
  const PipelineSpec spec = h_.Parse("name: p\nsteps:\n  - name: x\n    uses: custom\n");
  ExecutorOptions options = h_.Options();
  options.max_log_bytes = 64;
  const RunResult result = h_.Run(spec, {}, options);
  EXPECT_LE(result.Find("x")->log.size(), 64u + 64u);
  EXPECT_THAT(result.Find("x")->log, HasSubstr("[log truncated: further lines dropped]"));
}

TEST_F(ExecutorTest, RefusesWhatCannotRun) {
  const PipelineSpec spec = h_.Parse(kDiamond);
  ExecutorOptions options = h_.Options();
  options.output_store = nullptr;
  EXPECT_FALSE(RunPipeline(spec, {}, h_.registry, options).ok());
  StepRegistry empty;
  EXPECT_EQ(RunPipeline(spec, {}, empty, h_.Options()).status().message(),
            "step 'a' uses step type 'produce', which is not registered");
  PipelineSpec cyclic = spec;
  cyclic.steps[0].needs = {"d"};
  EXPECT_EQ(RunPipeline(cyclic, {}, h_.registry, h_.Options()).status().message(),
            "the steps' needs form a cycle");
}

}  // namespace
}  // namespace plinth::pipeline
