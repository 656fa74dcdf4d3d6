// End-to-end tests of pipelines in both modes, as a new user would go: `plinth new credit-risk`
// scaffolds a project that `plinth run` runs as is (XGBoost, scorecard, tuning, evaluation,
// a command step); the second run is served from the cache; a killed run is resumed by the next
// one; bad specs and parameters get positioned errors; `plinth new` never overwrites a folder.
#include <filesystem>
#include <fstream>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

class PipelineE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("credit");
    dana_ = CreateUserWithToken("dana", "data-scientist", "credit");
    vic_ = CreateUserWithToken("vic", "viewer", "credit");
    ASSERT_FALSE(dana_.empty());
  }

  // `plinth new credit-risk DIR --project credit`; returns DIR.
  std::string NewCreditRisk() {
    std::string dir = work_ / "credit-risk";
    CommandResult created = cli_->Run("", {"new", "credit-risk", dir, "--project", "credit"});
    EXPECT_EQ(created.exit_code, 0) << created.Describe();
    return dir;
  }

  CommandResult RunPipeline(const std::string& file, std::vector<std::string> extra = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(110)) {
    std::vector<std::string> args = {"--json", "run", file};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions options;
    options.timeout = timeout;
    return cli_->Run(dana_, args, options);
  }

  static std::map<std::string, Json> Steps(const Json& run) {
    std::map<std::string, Json> out;
    for (const Json& s : run["steps"]) out[s["name"].get<std::string>()] = s;
    return out;
  }

  TempDir work_;
  std::string dana_, vic_;
};

TEST_P(PipelineE2eTest, CreditRiskTemplateRunsAsIsThenFromTheCache) {
  std::string dir = NewCreditRisk();
  ASSERT_TRUE(std::filesystem::exists(dir + "/data/lending_club.csv"));
  // Fewer trees and trials than the template's defaults keep the test short.
  std::vector<std::string> params = {"--param", "trees=80", "--param", "tune_trials=4"};
  CommandResult first = RunPipeline(dir + "/pipeline.yaml", params);
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  Json run = first.OutJson();
  EXPECT_EQ(run["state"], "succeeded");
  auto steps = Steps(run);
  for (const char* name :
       {"ingest", "validate", "split", "train_xgboost", "evaluate_xgboost", "train_scorecard",
        "evaluate_scorecard", "tune", "evaluate_tuned", "deploy", "summary"}) {
    ASSERT_EQ(steps.count(name), 1u) << name;
    EXPECT_EQ(steps[name]["state"], "succeeded") << name << ": " << steps[name].dump();
  }
  EXPECT_GT(steps["evaluate_xgboost"]["metrics"]["test_auc"].get<double>(), 0.68);
  EXPECT_GT(steps["evaluate_scorecard"]["metrics"]["test_auc"].get<double>(), 0.65);
  EXPECT_GT(steps["evaluate_tuned"]["metrics"]["test_auc"].get<double>(), 0.65);
  EXPECT_EQ(steps["tune"]["metrics"]["trials"], 4.0);

  // The run is a tracked run anyone on the project can read, with trials as child runs.
  std::string id = run["run_id"];
  CommandResult shown = cli_->RunJson(vic_, {"runs", "show", id});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_EQ(shown.OutJson()["status"], "FINISHED");
  EXPECT_EQ(shown.OutJson()["params"]["trees"], "80");
  CommandResult trials = cli_->RunJson(
      vic_, {"runs", "search", "parent_run_id == \"" + id + "\"", "--project", "credit"});
  ASSERT_EQ(trials.exit_code, 0) << trials.Describe();
  EXPECT_EQ(trials.OutJson()["runs"].size(), 4u) << trials.Describe();
  CommandResult pipeline = cli_->Run(vic_, {"pipelines", "show", id});
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline.Describe();
  EXPECT_THAT(pipeline.out, HasSubstr("train_scorecard"));

  // Nothing changed: every step comes from the cache, with the same outputs, except deploy,
  // which reads approvals and deployments each time (and, run by a data scientist, deploys
  // nothing).
  CommandResult second = RunPipeline(dir + "/pipeline.yaml", params);
  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  auto again = Steps(second.OutJson());
  for (const auto& [name, step] : again) {
    EXPECT_EQ(step["state"], name == "deploy" ? "succeeded" : "cached") << name;
    EXPECT_EQ(step["outputs"], steps[name]["outputs"]) << name;
  }
}

TEST_P(PipelineE2eTest, FraudTemplateBuildsFeaturesWithoutLeakageAndTrains) {
  CreateProject("fraud");
  CommandResult granted = cli_->Run(
      admin(), {"user", "grant", "dana", "--role", "data-scientist", "--project", "fraud"});
  ASSERT_EQ(granted.exit_code, 0) << granted.Describe();
  std::string dir = work_ / "fraud";
  CommandResult created = cli_->Run("", {"new", "fraud", dir});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  std::string events = work_ / "lineage.jsonl";
  CommandResult run = RunPipeline(dir + "/pipeline.yaml", {"--openlineage", events});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  auto steps = Steps(run.OutJson());
  // OpenLineage: START and COMPLETE for the pipeline's job and for each step's.
  std::ifstream in(events);
  std::map<std::string, std::vector<std::string>> by_job;
  for (std::string line; std::getline(in, line);) {
    Json e = ParseJsonOrNull(line);
    ASSERT_TRUE(e.is_object()) << line;
    by_job[e["job"]["name"].get<std::string>()].push_back(e["eventType"].get<std::string>());
  }
  EXPECT_EQ(by_job["fraud"], (std::vector<std::string>{"START", "COMPLETE"}));
  EXPECT_EQ(by_job["fraud.train"], (std::vector<std::string>{"START", "COMPLETE"}));
  EXPECT_EQ(by_job.size(), 8u);  // the pipeline and its 7 steps
  EXPECT_EQ(steps["features"]["state"], "succeeded");
  EXPECT_EQ(steps["split"]["state"], "succeeded");
  EXPECT_GT(steps["evaluate"]["metrics"]["test_auc"].get<double>(), 0.8);
  // The training set is a recorded data set with lineage back to the feature view.
  CommandResult lineage =
      cli_->Run(dana_, {"lineage", "dataset/fraud_training_set", "--project", "fraud"});
  ASSERT_EQ(lineage.exit_code, 0) << lineage.Describe();
  EXPECT_THAT(lineage.out, HasSubstr("feature_view/customer_spend"));
}

TEST_P(PipelineE2eTest, KilledRunIsResumedByTheNextRun) {
  std::string dir = work_ / "nap";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/plinth.json") << R"({"project": "credit"})";
  std::ofstream(dir + "/environments.yaml")
      << "environments:\n  - name: shell\n    description: sh\n    version: \"1\"\n";
  std::filesystem::copy_file(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv",
                             dir + "/loans.csv");
  std::ofstream(dir + "/pipeline.yaml") << R"(name: nap
parameters:
  nap: {type: int, default: 0}
steps:
  - name: ingest
    uses: ingest
    with: {path: loans.csv, dataset: loans}
  - name: split
    uses: split
    inputs: {data: ingest.outputs.data}
    with: {target: Class}
  - name: nap
    run: [sh, -c, "sleep $0 && cp $1 $2", "${params.nap}", "${steps.split.outputs.test}",
          "${outputs.copy}"]
    environment: shell
    outputs: [copy]
)";
  // The first run is killed while it naps (SIGKILL: no chance to record anything more).
  CommandResult killed =
      RunPipeline(dir + "/pipeline.yaml", {"--param", "nap=60"}, std::chrono::seconds(8));
  ASSERT_TRUE(killed.timed_out) << killed.Describe();
  // The next run, even without the cache, skips what the killed run completed.
  CommandResult resumed = RunPipeline(dir + "/pipeline.yaml", {"--no-cache"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.Describe();
  Json run = resumed.OutJson();
  EXPECT_TRUE(run["resumed_from"].is_string()) << run.dump();
  auto steps = Steps(run);
  EXPECT_EQ(steps["ingest"]["state"], "cached");
  EXPECT_EQ(steps["ingest"]["resumed"], true);
  EXPECT_EQ(steps["split"]["state"], "cached");
  EXPECT_EQ(steps["nap"]["state"], "succeeded");
}

TEST_P(PipelineE2eTest, CtrlCCancelsCleanly) {
  std::string dir = work_ / "cancel";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/plinth.json") << R"({"project": "credit"})";
  std::ofstream(dir + "/environments.yaml")
      << "environments:\n  - name: shell\n    description: sh\n    version: \"1\"\n";
  std::string marker = dir + "/started";
  std::ofstream(dir + "/pipeline.yaml") << R"(name: cancel
steps:
  - name: first
    run: [sh, -c, "echo ok > $0", "${outputs.out}"]
    environment: shell
    outputs: [out]
  - name: long
    run: [sh, -c, "touch $0 && sleep 60 && cp $1 $2", ")" +
                                               marker + R"(", "${steps.first.outputs.out}",
          "${outputs.out}"]
    environment: shell
    outputs: [out]
    cache: false
  - name: after
    run: [sh, -c, "cp $0 $1", "${steps.long.outputs.out}", "${outputs.out}"]
    environment: shell
    outputs: [out]
)";
  RunOptions options;
  options.timeout = std::chrono::seconds(40);
  options.interrupt_when = [&] { return std::filesystem::exists(marker); };
  CommandResult cancelled = cli_->Run(dana_, {"--json", "run", dir + "/pipeline.yaml"}, options);
  ASSERT_FALSE(cancelled.timed_out) << cancelled.Describe();  // well before the sleep's 60 s
  EXPECT_NE(cancelled.exit_code, 0) << cancelled.Describe();
  Json run = cancelled.OutJson();
  EXPECT_EQ(run["state"], "cancelled") << cancelled.Describe();
  auto steps = Steps(run);
  EXPECT_EQ(steps["first"]["state"], "succeeded");
  EXPECT_EQ(steps["long"]["state"], "cancelled");
  EXPECT_EQ(steps["after"]["state"], "cancelled");
  // Recorded as such: the pipeline run cancelled, its tracked run KILLED.
  std::string id = run["run_id"];
  CommandResult shown = cli_->RunJson(dana_, {"pipelines", "show", id});
  EXPECT_EQ(shown.OutJson()["state"], "cancelled") << shown.Describe();
  CommandResult tracked = cli_->RunJson(dana_, {"runs", "show", id});
  EXPECT_EQ(tracked.OutJson()["status"], "KILLED") << tracked.Describe();
}

TEST_P(PipelineE2eTest, BadSpecsAndParametersGetPositionedErrors) {
  std::string dir = NewCreditRisk();
  std::string text;
  {
    std::ifstream in(dir + "/pipeline.yaml");
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string broken = text;
  broken.replace(broken.find("uses: split"), 11, "uses: splt");
  std::ofstream(dir + "/broken.yaml") << broken;
  CommandResult bad = cli_->Run(dana_, {"run", dir + "/broken.yaml"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_THAT(bad.err, HasSubstr("broken.yaml:"));
  EXPECT_THAT(bad.err, HasSubstr("split"));

  CommandResult param =
      cli_->Run(dana_, {"run", dir + "/pipeline.yaml", "--param", "max_depth=99"});
  EXPECT_EQ(param.exit_code, 2) << param.Describe();
  EXPECT_THAT(param.err, HasSubstr("max_depth"));

  CommandResult check = cli_->Run(dana_, {"run", dir + "/pipeline.yaml", "--check"});
  EXPECT_EQ(check.exit_code, 0) << check.Describe();
  EXPECT_THAT(check.out, HasSubstr("is valid"));

  // A viewer may look but not run.
  CommandResult viewer = cli_->Run(vic_, {"run", dir + "/pipeline.yaml"});
  EXPECT_EQ(viewer.exit_code, 4) << viewer.Describe();

  // `plinth new` never writes into a folder that has files.
  CommandResult again = cli_->Run("", {"new", "credit-risk", dir});
  EXPECT_EQ(again.exit_code, 6) << again.Describe();
  CommandResult unknown = cli_->Run("", {"new", "mortgage", work_ / "m"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.Describe();
  EXPECT_THAT(unknown.err, HasSubstr("credit-risk"));
}

INSTANTIATE_TEST_SUITE_P(Modes, PipelineE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
