// OpenLineage events of real pipeline runs (in-process step types): the sequence for a run that
// succeeds, fails, is cached or is cancelled; the required fields of every event; the sinks.
#include "pipeline/openlineage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "pipeline/pipeline_test_util.h"

namespace plinth::pipeline {
namespace {

using ::testing::ElementsAre;
using testing::Harness;
using ::testing::HasSubstr;
using testing::ReadText;
using testing::WriteText;

// Keeps every event.
class VectorSink : public OpenLineageSink {
 public:
  Status Send(const Json& event) override {
    events.push_back(event);
    return absl::OkStatus();
  }
  std::vector<Json> events;
};

StatusOr<StepResult> WriteOutput(const StepContext& ctx, const std::string& name,
                                 const std::string& text) {
  WriteText(ctx.OutputPath(name), text);
  StepResult result;
  result.outputs[name] = ctx.OutputPath(name);
  return result;
}

bool IsUuid(const std::string& text) {
  static const std::regex kUuid(
      "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  return std::regex_match(text, kUuid);
}

// "EVENTTYPE job" for each event, e.g. "START credit.train".
std::vector<std::string> Sequence(const std::vector<Json>& events) {
  std::vector<std::string> out;
  for (const Json& e : events) {
    out.push_back(e["eventType"].get<std::string>() + " " + e["job"]["name"].get<std::string>());
  }
  return out;
}

std::vector<std::string> Names(const Json& datasets) {
  std::vector<std::string> out;
  for (const Json& d : datasets) out.push_back(d["name"].get<std::string>());
  return out;
}

// The fields OpenLineage 2-0-2 requires of a RunEvent, and of every facet in it.
void ExpectValidRunEvent(const Json& e, const std::string& producer) {
  ASSERT_TRUE(e.is_object()) << e.dump();
  const std::vector<std::string> types = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"};
  ASSERT_TRUE(e.contains("eventType")) << e.dump();
  EXPECT_NE(std::find(types.begin(), types.end(), e["eventType"].get<std::string>()), types.end());
  ASSERT_TRUE(e["eventTime"].is_string()) << e.dump();
  EXPECT_TRUE(ParseTime(e["eventTime"].get<std::string>()).has_value()) << e["eventTime"];
  EXPECT_EQ(e["eventTime"].get<std::string>().back(), 'Z');
  EXPECT_EQ(e["producer"], producer);
  EXPECT_EQ(e["schemaURL"], "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent");
  ASSERT_TRUE(e["run"].is_object());
  EXPECT_TRUE(IsUuid(e["run"]["runId"].get<std::string>())) << e["run"]["runId"];
  ASSERT_TRUE(e["job"].is_object());
  EXPECT_TRUE(e["job"]["namespace"].is_string());
  EXPECT_TRUE(e["job"]["name"].is_string());
  for (const char* list : {"inputs", "outputs"}) {
    ASSERT_TRUE(e[list].is_array()) << e.dump();
    for (const Json& dataset : e[list]) {
      EXPECT_TRUE(dataset["namespace"].is_string());
      EXPECT_TRUE(dataset["name"].is_string());
    }
  }
  std::vector<Json> facet_maps = {e["job"].value("facets", Json::object()),
                                  e["run"].value("facets", Json::object())};
  for (const Json& facets : facet_maps) {
    for (const auto& [name, facet] : facets.items()) {
      EXPECT_EQ(facet["_producer"], producer) << name;
      EXPECT_TRUE(facet["_schemaURL"].is_string()) << name;
    }
  }
}

class OpenLineageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // produce: writes "<step>:<value>".
    StepType produce;
    produce.name = "produce";
    produce.with = {{"value", ValueType::kString, true, Json(), ""}};
    produce.outputs = {{"out", "", false}};
    produce.run = [](StepContext& ctx) -> StatusOr<StepResult> {
      return WriteOutput(ctx, "out", ctx.step() + ":" + ctx.with()["value"].get<std::string>());
    };
    ASSERT_TRUE(h_.registry.Register(produce).ok());

    // concat: its inputs' contents in name order.
    StepType concat;
    concat.name = "concat";
    concat.outputs = {{"out", "", false}};
    concat.run = [](StepContext& ctx) -> StatusOr<StepResult> {
      std::string text;
      for (const auto& [name, input] : ctx.inputs()) {
        text += '[';
        text += ReadText(input.path);
        text += ']';
      }
      return WriteOutput(ctx, "out", text);
    };
    ASSERT_TRUE(h_.registry.Register(concat).ok());

    // broken: always fails.
    StepType broken;
    broken.name = "broken";
    broken.outputs = {{"out", "", false}};
    broken.run = [](StepContext& ctx) -> StatusOr<StepResult> {
      return absl::InternalError("the model diverged");
    };
    ASSERT_TRUE(h_.registry.Register(broken).ok());

    // wait: runs until the run is cancelled.
    StepType wait;
    wait.name = "wait";
    wait.cacheable = false;
    wait.run = [this](StepContext& ctx) -> StatusOr<StepResult> {
      waiting_ = true;
      while (!ctx.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return absl::CancelledError("stopped");
    };
    ASSERT_TRUE(h_.registry.Register(wait).ok());

    options_.job_namespace = "plinth://risk.bank.example";
    options_.dataset_namespace = "plinth://risk.bank.example/projects/credit";
    options_.producer = "https://git.bank.example/plinth/tree/v0.1.0";
  }

  // Runs `spec` with an emitter sending to `sink`; the harness records the executor's events too.
  RunResult RunWithLineage(const PipelineSpec& spec, OpenLineageSink* sink,
                           OpenLineageEmitter** emitter_out = nullptr,
                           const std::atomic<bool>* cancel = nullptr) {
    emitter_ = std::make_unique<OpenLineageEmitter>(spec, options_, sink);
    if (emitter_out != nullptr) *emitter_out = emitter_.get();
    ExecutorOptions options = h_.Options();
    EventObserver log = options.observer;
    OpenLineageEmitter* emitter = emitter_.get();
    options.observer = [log, emitter](const PipelineEvent& e) {
      log(e);
      emitter->Observe(e);
    };
    options.cancel = cancel;
    return h_.Run(spec, {}, options);
  }

  const std::string kTwoSteps =
      "name: credit\n"
      "steps:\n"
      "  - name: ingest\n"
      "    uses: produce\n"
      "    with: {value: rows}\n"
      "  - name: train\n"
      "    uses: concat\n"
      "    inputs: {data: ingest.outputs.out}\n";

  Harness h_;
  OpenLineageOptions options_;
  std::unique_ptr<OpenLineageEmitter> emitter_;
  std::atomic<bool> waiting_{false};
};

TEST_F(OpenLineageTest, ASuccessfulRunIsOneJobRunAndOneRunPerStep) {
  PipelineSpec spec = h_.Parse(kTwoSteps);
  VectorSink sink;
  OpenLineageEmitter* emitter = nullptr;
  RunResult result = RunWithLineage(spec, &sink, &emitter);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  EXPECT_THAT(Sequence(sink.events),
              ElementsAre("START credit", "START credit.ingest", "COMPLETE credit.ingest",
                          "START credit.train", "COMPLETE credit.train", "COMPLETE credit"));
  for (const Json& e : sink.events) ExpectValidRunEvent(e, options_.producer);

  const std::string ingest_digest = result.Find("ingest")->outputs.at("out");
  const std::string train_digest = result.Find("train")->outputs.at("out");
  const Json& pipeline_start = sink.events[0];
  const Json& ingest_done = sink.events[2];
  const Json& train_start = sink.events[3];
  const Json& train_done = sink.events[4];
  // One pipeline run, one run per step; the steps name the pipeline run as their parent.
  EXPECT_EQ(pipeline_start["run"]["runId"], emitter->run_id());
  EXPECT_EQ(sink.events[5]["run"]["runId"], emitter->run_id());
  EXPECT_EQ(ingest_done["run"]["runId"], emitter->StepRunId("ingest"));
  EXPECT_EQ(train_start["run"]["runId"], train_done["run"]["runId"]);
  EXPECT_NE(train_done["run"]["runId"], ingest_done["run"]["runId"]);
  EXPECT_NE(train_done["run"]["runId"], emitter->run_id());
  const Json& parent = train_done["run"]["facets"]["parent"];
  EXPECT_EQ(parent["run"]["runId"], emitter->run_id());
  EXPECT_EQ(parent["job"]["namespace"], "plinth://risk.bank.example");
  EXPECT_EQ(parent["job"]["name"], "credit");
  EXPECT_EQ(parent["_schemaURL"],
            "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet");
  EXPECT_FALSE(pipeline_start["run"].contains("facets"));
  EXPECT_EQ(pipeline_start["job"]["facets"]["jobType"]["jobType"], "PIPELINE");
  EXPECT_EQ(train_done["job"]["facets"]["jobType"]["jobType"], "STEP");
  EXPECT_EQ(train_done["job"]["namespace"], "plinth://risk.bank.example");

  // Outputs are datasets named by digest; a step's inputs are the outputs it read.
  EXPECT_THAT(Names(ingest_done["outputs"]), ElementsAre(ingest_digest));
  EXPECT_EQ(ingest_done["outputs"][0]["namespace"], "plinth://risk.bank.example/projects/credit");
  EXPECT_TRUE(ingest_done["inputs"].empty());
  EXPECT_THAT(Names(train_start["inputs"]), ElementsAre(ingest_digest));
  EXPECT_TRUE(train_start["outputs"].empty());
  EXPECT_THAT(Names(train_done["inputs"]), ElementsAre(ingest_digest));
  EXPECT_THAT(Names(train_done["outputs"]), ElementsAre(train_digest));
  EXPECT_TRUE(pipeline_start["inputs"].empty());
  EXPECT_TRUE(sink.events[5]["outputs"].empty());
  // Times come from the executor's events, in order.
  EXPECT_LE(ParseTime(pipeline_start["eventTime"].get<std::string>()).value(),
            ParseTime(sink.events[5]["eventTime"].get<std::string>()).value());
  EXPECT_TRUE(emitter->status().ok());
}

TEST_F(OpenLineageTest, ReferencedOutputsAreInputsToo) {
  PipelineSpec spec = h_.Parse(
      "name: credit\n"
      "steps:\n"
      "  - name: a\n"
      "    uses: produce\n"
      "    with: {value: x}\n"
      "  - name: b\n"
      "    uses: produce\n"
      "    with: {value: '${steps.a.outputs.out}'}\n");
  VectorSink sink;
  RunResult result = RunWithLineage(spec, &sink);
  ASSERT_EQ(result.state, RunState::kSucceeded) << result.status;
  ASSERT_EQ(sink.events.size(), 6u);
  EXPECT_EQ(Sequence(sink.events)[4], "COMPLETE credit.b");
  EXPECT_THAT(Names(sink.events[4]["inputs"]), ElementsAre(result.Find("a")->outputs.at("out")));
}

TEST_F(OpenLineageTest, AFailedStepFailsItsRunAndThePipelines) {
  PipelineSpec spec = h_.Parse(
      "name: credit\n"
      "steps:\n"
      "  - name: ingest\n"
      "    uses: produce\n"
      "    with: {value: rows}\n"
      "  - name: train\n"
      "    uses: broken\n"
      "    inputs: {data: ingest.outputs.out}\n"
      "  - name: report\n"
      "    uses: concat\n"
      "    inputs: {model: train.outputs.out}\n");
  VectorSink sink;
  RunResult result = RunWithLineage(spec, &sink);
  ASSERT_EQ(result.state, RunState::kFailed);
  // The skipped step never ran: it has no run in OpenLineage.
  EXPECT_THAT(Sequence(sink.events),
              ElementsAre("START credit", "START credit.ingest", "COMPLETE credit.ingest",
                          "START credit.train", "FAIL credit.train", "FAIL credit"));
  for (const Json& e : sink.events) ExpectValidRunEvent(e, options_.producer);
  const Json& step_error = sink.events[4]["run"]["facets"]["errorMessage"];
  EXPECT_THAT(step_error["message"].get<std::string>(), HasSubstr("the model diverged"));
  EXPECT_EQ(step_error["programmingLanguage"], "C++");
  EXPECT_EQ(step_error["_schemaURL"],
            "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/"
            "ErrorMessageRunFacet");
  EXPECT_THAT(Names(sink.events[4]["inputs"]),
              ElementsAre(result.Find("ingest")->outputs.at("out")));
  EXPECT_TRUE(sink.events[4]["outputs"].empty());
  EXPECT_THAT(sink.events[5]["run"]["facets"]["errorMessage"]["message"].get<std::string>(),
              HasSubstr("train"));
}

TEST_F(OpenLineageTest, ACachedStepStartsAndCompletesWithTheCacheFacet) {
  PipelineSpec spec = h_.Parse(kTwoSteps);
  VectorSink first;
  RunResult ran = RunWithLineage(spec, &first);
  ASSERT_EQ(ran.state, RunState::kSucceeded) << ran.status;
  VectorSink second;
  OpenLineageEmitter* emitter = nullptr;
  RunResult cached = RunWithLineage(spec, &second, &emitter);
  ASSERT_EQ(cached.state, RunState::kSucceeded) << cached.status;
  ASSERT_EQ(cached.Find("train")->state, StepState::kCached);
  EXPECT_THAT(Sequence(second.events),
              ElementsAre("START credit", "START credit.ingest", "COMPLETE credit.ingest",
                          "START credit.train", "COMPLETE credit.train", "COMPLETE credit"));
  for (const Json& e : second.events) ExpectValidRunEvent(e, options_.producer);
  // A new run of every job, with the outputs (and inputs) the cache gave.
  EXPECT_NE(second.events[0]["run"]["runId"], first.events[0]["run"]["runId"]);
  for (size_t i : {1, 2, 3, 4}) {
    const Json& cache = second.events[i]["run"]["facets"]["plinth_cache"];
    EXPECT_EQ(cache["cached"], true) << i;
    EXPECT_EQ(cache["resumed"], false) << i;
    EXPECT_EQ(cache["_schemaURL"], options_.cache_facet_schema_url);
    EXPECT_EQ(cache["_producer"], options_.producer);
    EXPECT_EQ(second.events[i]["run"]["facets"]["parent"]["run"]["runId"], emitter->run_id());
  }
  EXPECT_EQ(second.events[4]["run"]["facets"]["plinth_cache"]["cache_key"],
            ran.Find("train")->cache_key);
  EXPECT_EQ(second.events[3]["run"]["runId"], second.events[4]["run"]["runId"]);
  EXPECT_EQ(second.events[3]["eventTime"], second.events[4]["eventTime"]);
  EXPECT_THAT(Names(second.events[4]["outputs"]),
              ElementsAre(ran.Find("train")->outputs.at("out")));
  EXPECT_THAT(Names(second.events[4]["inputs"]),
              ElementsAre(ran.Find("ingest")->outputs.at("out")));
  // A step that ran has no cache facet.
  EXPECT_FALSE(first.events[4]["run"]["facets"].contains("plinth_cache"));
}

TEST_F(OpenLineageTest, ACancelledRunAbortsTheStepThatRanAndThePipeline) {
  PipelineSpec spec = h_.Parse(
      "name: credit\n"
      "steps:\n"
      "  - name: long\n"
      "    uses: wait\n"
      "  - name: after\n"
      "    uses: produce\n"
      "    with: {value: x}\n"
      "    needs: [long]\n");
  VectorSink sink;
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    while (!waiting_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    cancel = true;
  });
  RunResult result = RunWithLineage(spec, &sink, nullptr, &cancel);
  canceller.join();
  ASSERT_EQ(result.state, RunState::kCancelled);
  // "after" was cancelled while it waited: it never started, so it has no run.
  EXPECT_THAT(Sequence(sink.events), ElementsAre("START credit", "START credit.long",
                                                 "ABORT credit.long", "ABORT credit"));
  for (const Json& e : sink.events) ExpectValidRunEvent(e, options_.producer);
}

TEST_F(OpenLineageTest, TheFileSinkAppendsOneEventPerLine) {
  PipelineSpec spec = h_.Parse(kTwoSteps);
  const std::string path = h_.root() + "/lineage.jsonl";
  StatusOr<std::unique_ptr<JsonlFileSink>> sink = JsonlFileSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  RunWithLineage(spec, sink->get());
  // Each event is in the file when Send returns; a second run appends.
  const std::string after_first = ReadText(path);
  RunWithLineage(spec, sink->get());
  sink->reset();
  StatusOr<std::unique_ptr<JsonlFileSink>> reopened = JsonlFileSink::Open(path);
  ASSERT_TRUE(reopened.ok());
  (*reopened)->Send(Json{{"eventType", "OTHER"}}).IgnoreError();
  reopened->reset();

  const std::string text = ReadText(path);
  EXPECT_EQ(text.rfind(after_first, 0), 0u);
  ASSERT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  std::vector<Json> events;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    Json event = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(event.is_discarded()) << line;
    events.push_back(event);
  }
  ASSERT_EQ(events.size(), 13u);
  for (size_t i = 0; i < 12; ++i) ExpectValidRunEvent(events[i], options_.producer);
  EXPECT_EQ(Sequence({events.begin(), events.begin() + 6}),
            Sequence({events.begin() + 6, events.begin() + 12}));
  EXPECT_NE(events[0]["run"]["runId"], events[6]["run"]["runId"]);
  EXPECT_EQ(events[12]["eventType"], "OTHER");

  EXPECT_EQ(JsonlFileSink::Open(h_.root() + "/no/such/folder/x.jsonl").status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(OpenLineageTest, TheHttpSinkPostsEachEventAndTheFirstErrorIsKept) {
  PipelineSpec spec = h_.Parse(kTwoSteps);
  std::vector<std::pair<std::string, std::string>> posts;
  HttpSink sink("http://lineage.bank.example/api/v1/lineage",
                [&](const std::string& url, const std::string& body) -> Status {
                  posts.emplace_back(url, body);
                  if (posts.size() == 2) return absl::UnavailableError("connection refused");
                  return absl::OkStatus();
                });
  OpenLineageEmitter* emitter = nullptr;
  RunResult result = RunWithLineage(spec, &sink, &emitter);
  // A failing sink does not stop the run or the later events.
  ASSERT_EQ(result.state, RunState::kSucceeded);
  ASSERT_EQ(posts.size(), 6u);
  for (const auto& [url, body] : posts) {
    EXPECT_EQ(url, "http://lineage.bank.example/api/v1/lineage");
    ExpectValidRunEvent(Json::parse(body), options_.producer);
  }
  EXPECT_EQ(emitter->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(OpenLineageTest, RunIdsAreUuidsAndCanBeGiven) {
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(IsUuid(NewUuid()));
  EXPECT_NE(NewUuid(), NewUuid());
  options_.run_id = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
  options_.job_name = "credit-risk-nightly";
  PipelineSpec spec = h_.Parse(kTwoSteps);
  VectorSink sink;
  RunWithLineage(spec, &sink);
  ASSERT_EQ(sink.events.size(), 6u);
  EXPECT_EQ(sink.events[0]["run"]["runId"], options_.run_id);
  EXPECT_EQ(sink.events[0]["job"]["name"], "credit-risk-nightly");
  EXPECT_EQ(sink.events[1]["job"]["name"], "credit-risk-nightly.ingest");
}

}  // namespace
}  // namespace plinth::pipeline
