// Pipeline runs on the platform, in process: a run is a tracked run whose steps are executions
// with lineage; a second run is served from the project's cache; changing the data re-runs what
// depends on it; an unfinished run is resumed; a failing validation stops the run; the cache is
// per project; roles are enforced; the model steps train and evaluate a real model. Built twice:
// on SQLite, and with PLINTH_TEST_POSTGRES on a live PostgreSQL.
#include "steps/pipeline_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "platform/testing_platform.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kSuite[] = R"(name: loans
expectations:
  - id: rows
    row_count: {min: 10}
  - id: target_values
    column: Class
    allowed_values: [good, bad]
)";

constexpr char kPipeline[] = R"(name: loans
parameters:
  seed: {type: int, default: 42}
steps:
  - name: ingest
    uses: ingest
    with: {path: data.csv, dataset: loans, target: Class}
  - name: validate
    uses: validate
    inputs: {dataset: ingest.outputs.dataset}
    with: {suite: suite.yaml}
  - name: split
    uses: split
    needs: [validate]
    inputs: {data: ingest.outputs.data}
    with: {target: Class, seed: "${params.seed}", test_fraction: 0.25}
)";

// Loans whose default probability rises with the rate: a model has something to learn.
std::string LoansCsv(int rows, int salt = 0) {
  std::string csv = "amount,rate,grade,Class\n";
  for (int i = 0; i < rows; ++i) {
    int rate = 5 + (i * 7 + salt) % 20;
    uint32_t noise = (static_cast<uint32_t>(i + 1) * 2654435761u) >> 16;  // a fixed hash of i
    bool bad = static_cast<int>(noise % 100) < (rate - 4) * 3;
    csv += std::to_string(1000 + (i * 131) % 9000) + "," + std::to_string(rate) + "," +
           std::string(1, static_cast<char>('A' + i % 4)) + "," + (bad ? "bad" : "good") + "\n";
  }
  return csv;
}

class PipelineRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tp_ = std::make_unique<TestPlatform>("pipeline_runner");
    tp_->MakeProject("loans");
    tp_->MakeProject("other");
    dana_ = tp_->MakeUser("dana", "data-scientist", "loans");
    vic_ = tp_->MakeUser("vic", "viewer", "loans");
    olga_ = tp_->MakeUser("olga", "data-scientist", "other");
    dir_ = tp_->dir() / "work";
    fs::create_directories(dir_);
    Write("data.csv", LoansCsv(400));
    Write("suite.yaml", kSuite);
    Write("pipeline.yaml", kPipeline);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  StatusOr<PipelineRunOutcome> Run(const std::string& token, const std::string& project = "loans",
                                   PipelineRunOptions options = {},
                                   const std::string& file = "pipeline.yaml") {
    auto client = tp_->Client(token);
    options.project = project;
    return RunPipelineOnPlatform(*client, (dir_ / file).string(), options);
  }

  static std::string StateOf(const PipelineRunOutcome& o, const std::string& step) {
    const pipeline::StepOutcome* s = o.result.Find(step);
    return s == nullptr ? "missing" : pipeline::StepStateName(s->state);
  }

  std::unique_ptr<TestPlatform> tp_;
  std::string dana_, vic_, olga_;
  fs::path dir_;
};

TEST_F(PipelineRunnerTest, RunIsTrackedWithExecutionsLineageAndArtifacts) {
  auto run = Run(dana_);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->result.state, pipeline::RunState::kSucceeded) << run->result.status;
  EXPECT_TRUE(run->warnings.empty()) << run->warnings[0];
  EXPECT_EQ(run->json["state"], "succeeded");
  EXPECT_EQ(run->json["metrics"]["test_rows"], 100.0);

  Json shown = tp_->MustCall(dana_, "pipeline.show", {{"id", run->run_id}});
  EXPECT_EQ(shown["state"], "succeeded");
  ASSERT_EQ(shown["steps"].size(), 3u);
  for (const Json& s : shown["steps"]) {
    EXPECT_EQ(s["state"], "succeeded") << s.dump();
    EXPECT_EQ(s["log"].get<std::string>().rfind("sha256:", 0), 0u) << s.dump();
  }

  // The tracked run: params, metrics, the outputs and logs as artifacts, finished.
  Json tracked = tp_->MustCall(dana_, "run.show", {{"id", run->run_id}});
  EXPECT_EQ(tracked["status"], "FINISHED");
  EXPECT_EQ(tracked["experiment"], "loans");
  EXPECT_EQ(tracked["params"]["seed"], "42");
  EXPECT_EQ(tracked["metrics"]["train_rows"]["value"], 300.0);
  std::set<std::string> paths;
  for (const Json& a : tracked["artifacts"]) paths.insert(a["path"]);
  for (const char* p : {"ingest/data", "ingest/dataset", "ingest/log", "validate/result",
                        "split/train", "split/test"}) {
    EXPECT_EQ(paths.count(p), 1u) << p;
  }

  // Lineage: run -> execution -> outputs, and the data set version the ingest registered.
  Json lineage =
      tp_->MustCall(dana_, "lineage.show", {{"project", "loans"}, {"ref", "run/" + run->run_id}});
  std::string text = lineage.dump();
  EXPECT_THAT(text, HasSubstr("execution/" + run->run_id + "/ingest"));
  EXPECT_THAT(text, HasSubstr("dataset/loans@"));
  EXPECT_THAT(text, HasSubstr("execution/" + run->run_id + "/split"));
}

TEST_F(PipelineRunnerTest, SecondRunIsCachedAndNewDataRerunsWhatDependsOnIt) {
  auto first = Run(dana_);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = Run(dana_);
  ASSERT_TRUE(second.ok()) << second.status();
  for (const char* step : {"ingest", "validate", "split"}) {
    EXPECT_EQ(StateOf(*second, step), "cached") << step;
  }
  EXPECT_EQ(second->json["metrics"]["test_rows"], 100.0);  // metrics come back from the cache
  EXPECT_EQ(second->result.Find("split")->outputs, first->result.Find("split")->outputs);

  // A parameter only split reads: only split runs.
  PipelineRunOptions seed;
  seed.params = {"seed=7"};
  auto third = Run(dana_, "loans", seed);
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(StateOf(*third, "ingest"), "cached");
  EXPECT_EQ(StateOf(*third, "split"), "succeeded");
  EXPECT_NE(third->result.Find("split")->outputs, first->result.Find("split")->outputs);

  // New data: everything runs again.
  Write("data.csv", LoansCsv(400, 1));
  auto fourth = Run(dana_);
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  for (const char* step : {"ingest", "validate", "split"}) {
    EXPECT_EQ(StateOf(*fourth, step), "succeeded") << step;
  }
}

TEST_F(PipelineRunnerTest, FailedValidationStopsTheRunAndIsRecorded) {
  Write("data.csv", "amount,rate,grade,Class\n1,2,A,maybe\n" + LoansCsv(20).substr(24));
  auto run = Run(dana_);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.state, pipeline::RunState::kFailed);
  EXPECT_EQ(StateOf(*run, "validate"), "failed");
  EXPECT_EQ(StateOf(*run, "split"), "skipped");
  EXPECT_THAT(std::string(run->result.status.message()), HasSubstr("target_values"));
  Json tracked = tp_->MustCall(dana_, "run.show", {{"id", run->run_id}});
  EXPECT_EQ(tracked["status"], "FAILED");
  Json shown = tp_->MustCall(dana_, "pipeline.show", {{"id", run->run_id}});
  EXPECT_EQ(shown["state"], "failed");
}

TEST_F(PipelineRunnerTest, UnfinishedRunIsResumedWithoutTheCache) {
  // A command step that fails until a marker exists stands for a crash half-way.
  Write("environments.yaml",
        "environments:\n  - name: shell\n    description: sh\n    version: \"1\"\n");
  Write("resume.yaml", std::string(kPipeline) +
                           "  - name: late\n"
                           "    run: [sh, -c, \"test -f marker && cp \\\"$0\\\" \\\"$1\\\"\", "
                           "\"${steps.split.outputs.test}\", \"${outputs.copy}\"]\n"
                           "    environment: shell\n"
                           "    outputs: [copy]\n");
  PipelineRunOptions no_cache;
  no_cache.use_cache = false;
  auto first = Run(dana_, "loans", no_cache, "resume.yaml");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->result.state, pipeline::RunState::kFailed);
  EXPECT_EQ(StateOf(*first, "split"), "succeeded");

  Write("marker", "");
  auto second = Run(dana_, "loans", no_cache, "resume.yaml");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->result.state, pipeline::RunState::kSucceeded) << second->result.status;
  EXPECT_EQ(second->resumed_from, first->run_id);
  for (const char* step : {"ingest", "validate", "split"}) {
    const pipeline::StepOutcome* s = second->result.Find(step);
    EXPECT_EQ(s->state, pipeline::StepState::kCached) << step;
    EXPECT_TRUE(s->resumed) << step;
  }
  EXPECT_EQ(StateOf(*second, "late"), "succeeded");
  Json tracked = tp_->MustCall(dana_, "run.show", {{"id", second->run_id}});
  EXPECT_EQ(tracked["tags"]["plinth.resumed_from"], first->run_id);

  // The run that succeeded is not resumed again.
  auto third = Run(dana_, "loans", no_cache, "resume.yaml");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_TRUE(third->resumed_from.empty());
  EXPECT_EQ(StateOf(*third, "ingest"), "succeeded");
}

TEST_F(PipelineRunnerTest, CacheIsPerProjectAndRolesAreEnforced) {
  ASSERT_TRUE(Run(dana_).ok());
  auto other = Run(olga_, "other");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(StateOf(*other, "ingest"), "succeeded");  // not dana's cached result
  EXPECT_EQ(StateOf(*other, "split"), "succeeded");

  auto viewer = Run(vic_);
  ASSERT_FALSE(viewer.ok());
  EXPECT_EQ(viewer.status().code(), absl::StatusCode::kPermissionDenied);
  // Olga cannot see dana's runs at all.
  auto list = tp_->Call(olga_, "pipeline.list", {{"project", "loans"}});
  EXPECT_EQ(list.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PipelineRunnerTest, RecordsRefuseDigestsTheProjectDoesNotHold) {
  auto run = Run(dana_);
  ASSERT_TRUE(run.ok());
  const std::string foreign = "sha256:" + std::string(64, 'a');
  auto cached = tp_->Call(dana_, "pipeline.cache_store",
                          {{"project", "loans"},
                           {"key", std::string(64, 'b')},
                           {"run_id", run->run_id},
                           {"outputs", {{"model", foreign}}}});
  EXPECT_EQ(cached.status().code(), absl::StatusCode::kNotFound);
  auto lookup = tp_->MustCall(dana_, "pipeline.cache_lookup",
                              {{"project", "loans"}, {"key", std::string(64, 'b')}});
  EXPECT_EQ(lookup["found"], false);
  // A finished run takes no more steps.
  auto late =
      tp_->Call(dana_, "pipeline.step",
                {{"id", run->run_id}, {"step", "x"}, {"type", "split"}, {"state", "succeeded"}});
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PipelineRunnerTest, SpecErrorsNameTheFileAndLine) {
  Write("bad.yaml", "name: bad\nsteps:\n  - name: a\n    uses: trian\n");
  PipelineRunOptions options;
  auto checked = CheckPipeline((dir_ / "bad.yaml").string(), options);
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(std::string(checked.status().message()), HasSubstr("bad.yaml:4:"));
  EXPECT_THAT(std::string(checked.status().message()), HasSubstr("train"));  // did you mean
}

TEST_F(PipelineRunnerTest, TrainsAndEvaluatesAModel) {
  Write("model.yaml", std::string(kPipeline).replace(0, 11, "name: model") +
                          "  - name: train\n"
                          "    uses: train\n"
                          "    inputs: {train: split.outputs.train}\n"
                          "    with:\n"
                          "      kind: xgboost\n"
                          "      target: Class\n"
                          "      positive: bad\n"
                          "      monotone: {rate: 1}\n"
                          "      params: {num_boost_round: 30, max_depth: 3, nthread: 1}\n"
                          "  - name: evaluate\n"
                          "    uses: evaluate\n"
                          "    inputs:\n"
                          "      manifest: train.outputs.manifest\n"
                          "      model: train.outputs.model\n"
                          "      test: split.outputs.test\n"
                          "      train: split.outputs.train\n");
  auto run = Run(dana_, "loans", {}, "model.yaml");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->result.state, pipeline::RunState::kSucceeded) << run->result.status;
  const auto& metrics = run->result.Find("evaluate")->metrics;
  ASSERT_EQ(metrics.count("test_auc"), 1u);
  EXPECT_GT(metrics.at("test_auc"), 0.6);  // the rate carries real signal
  EXPECT_EQ(metrics.count("test_psi"), 1u);
  EXPECT_EQ(metrics.count("train_test_auc_gap"), 1u);
  // The manifest lists the model's inputs: every column but the target.
  Json shown = tp_->MustCall(dana_, "pipeline.show", {{"id", run->run_id}});
  for (const Json& step : shown["steps"]) {
    if (step["step"] == "train") {
      EXPECT_EQ(step["summary"]["features"], 3) << step.dump();
    }
  }
  // The trained model is the same bytes on a second, uncached run (deterministic training).
  PipelineRunOptions no_cache;
  no_cache.use_cache = false;
  auto again = Run(dana_, "loans", no_cache, "model.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->result.Find("train")->outputs.at("model"),
            run->result.Find("train")->outputs.at("model"));
}

TEST_F(PipelineRunnerTest, ProtectedAttributesNeverBecomeFeatures) {
  const std::string pipeline = std::string(kPipeline).replace(0, 11, "name: fair") +
                               "  - name: train\n"
                               "    uses: train\n"
                               "    inputs: {train: split.outputs.train, dataset: "
                               "ingest.outputs.dataset}\n"
                               "    with:\n"
                               "      kind: scorecard\n"
                               "      target: Class\n"
                               "      positive: bad\n";
  // grade is tagged protected at ingest: excluded without being named.
  std::string tagged = pipeline;
  tagged.replace(tagged.find("target: Class}"), 14, "target: Class, protected: grade}");
  Write("fair.yaml", tagged);
  auto run = Run(dana_, "loans", {}, "fair.yaml");
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->result.state, pipeline::RunState::kSucceeded) << run->result.status;
  Json shown = tp_->MustCall(dana_, "pipeline.show", {{"id", run->run_id}});
  bool seen = false;
  for (const Json& step : shown["steps"]) {
    if (step["step"] != "train") continue;
    seen = true;
    EXPECT_EQ(step["summary"]["excluded_protected"], Json::array({"grade"}));
    EXPECT_EQ(step["summary"]["spec"]["exclude"], Json::array({"grade"}));
  }
  EXPECT_TRUE(seen);
  // Naming it as a feature is refused.
  Write("unfair.yaml", tagged + "      features: [amount, rate, grade]\n");
  auto refused = Run(dana_, "loans", {}, "unfair.yaml");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->result.state, pipeline::RunState::kFailed);
  EXPECT_EQ(refused->result.Find("train")->status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused->result.status.message()), HasSubstr("protected attribute"));
}

}  // namespace
}  // namespace plinth
