// The explain and fairness step types in a pipeline on the platform, in process: hmda.csv with
// afam tagged protected at ingest, split, an XGBoost model trained without afam, its explanations
// (additive, reason codes only from the model's inputs) and its fairness report by afam.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/files.h"
#include "platform/testing_platform.h"
#include "steps/pipeline_runner.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kPipeline[] = R"(name: hmda
steps:
  - name: ingest
    uses: ingest
    with: {path: hmda.csv, dataset: hmda, target: deny, protected: afam}
  - name: split
    uses: split
    inputs: {data: ingest.outputs.data}
    with: {target: deny, seed: 42, test_fraction: 0.25}
  - name: train
    uses: train
    inputs: {train: split.outputs.train, dataset: ingest.outputs.dataset}
    with:
      kind: xgboost
      target: deny
      positive: "yes"
      params: {num_boost_round: 40, max_depth: 3, learning_rate: 0.1, nthread: 1}
  - name: explain
    uses: explain
    inputs:
      manifest: train.outputs.manifest
      model: train.outputs.model
      data: split.outputs.test
    with: {top_k: 3, reasons: reasons.yaml, sample: 10, grid_points: 8}
  - name: fairness
    uses: fairness
    inputs:
      manifest: train.outputs.manifest
      model: train.outputs.model
      data: split.outputs.test
      dataset: ingest.outputs.dataset
    with: {threshold: 0.2}
)";

constexpr char kReasons[] = R"(pirat: Payments too high relative to income
lvrat: {text: Loan too large relative to the property's value, code: LTV}
afam: never used
)";

class ExplainStepsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tp_ = std::make_unique<TestPlatform>("explain_steps");
    tp_->MakeProject("lending");
    dana_ = tp_->MakeUser("dana", "data-scientist", "lending");
    dir_ = tp_->dir() / "work";
    fs::create_directories(dir_);
    fs::copy_file(fs::path(PLINTH_EXAMPLES_DATA) / "hmda.csv", dir_ / "hmda.csv");
    Write("reasons.yaml", kReasons);
    Write("pipeline.yaml", kPipeline);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }

  StatusOr<PipelineRunOutcome> Run(const std::string& file = "pipeline.yaml") {
    auto client = tp_->Client(dana_);
    PipelineRunOptions options;
    options.project = "lending";
    return RunPipelineOnPlatform(*client, (dir_ / file).string(), options);
  }

  Json Output(const PipelineRunOutcome& run, const std::string& step, const std::string& output) {
    const pipeline::StepOutcome* s = run.result.Find(step);
    EXPECT_NE(s, nullptr) << step;
    if (s == nullptr || s->outputs.count(output) == 0) return Json();
    const fs::path path = dir_ / (step + "." + output);
    fs::remove(path);
    auto client = tp_->Client(dana_);
    Status got = client->GetArtifact(s->outputs.at(output), path.string(), nullptr);
    EXPECT_TRUE(got.ok()) << got;
    StatusOr<std::string> text = ReadFile(path.string());
    EXPECT_TRUE(text.ok());
    if (output == "report") return Json(*text);
    return Json::parse(*text);
  }

  std::unique_ptr<TestPlatform> tp_;
  std::string dana_;
  fs::path dir_;
};

TEST_F(ExplainStepsTest, ExplainsAndComparesGroupsWithoutTheProtectedAttribute) {
  auto run = Run();
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->result.state, pipeline::RunState::kSucceeded) << run->result.status;

  // The model's inputs: every column but the target and afam.
  Json manifest = Output(*run, "train", "manifest");
  std::set<std::string> inputs;
  for (const Json& input : manifest["inputs"]) inputs.insert(input["name"].get<std::string>());
  EXPECT_EQ(inputs.count("afam"), 0u);
  EXPECT_EQ(inputs.count("pirat"), 1u);

  // explain: additive, reasons from the inputs only, texts and codes from reasons.yaml.
  const pipeline::StepOutcome* explain = run->result.Find("explain");
  ASSERT_EQ(explain->metrics.count("additivity_max_error"), 1u);
  EXPECT_LT(explain->metrics.at("additivity_max_error"), 1e-5);
  EXPECT_THAT(explain->log, HasSubstr("'afam' is not an input of this model; skipped"));
  Json explanations = Output(*run, "explain", "explanations");
  EXPECT_EQ(explanations["method"], "tree_shap");
  EXPECT_LT(explanations["additivity_max_error"].get<double>(), 1e-5);
  for (const Json& f : explanations["features"]) EXPECT_NE(f, "afam");
  for (const Json& f : explanations["global_importance"]) {
    EXPECT_EQ(inputs.count(f["feature"].get<std::string>()), 1u) << f.dump();
  }
  ASSERT_EQ(explanations["rows"].size(), 10u);
  size_t reasons = 0;
  bool pirat_text = false;
  for (const Json& row : explanations["rows"]) {
    EXPECT_LE(row["reason_codes"].size(), 3u);
    for (const Json& code : row["reason_codes"]) {
      ++reasons;
      const std::string feature = code["feature"].get<std::string>();
      EXPECT_EQ(inputs.count(feature), 1u) << feature;
      EXPECT_NE(feature, "afam");
      EXPECT_GT(code["contribution"].get<double>(), 0);
      if (feature == "pirat") {
        pirat_text = true;
        EXPECT_EQ(code["text"], "Payments too high relative to income");
      }
      if (feature == "lvrat") {
        EXPECT_EQ(code["code"], "LTV");
      }
    }
  }
  EXPECT_GT(reasons, 0u);
  EXPECT_TRUE(pirat_text);
  EXPECT_FALSE(explanations["partial_dependence"].empty());
  const std::string html = Output(*run, "explain", "report").get<std::string>();
  EXPECT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, HasSubstr("Payments too high relative to income"));

  // fairness: afam read from the data set's tags, compared though the model never saw it.
  const pipeline::StepOutcome* fairness = run->result.Find("fairness");
  ASSERT_EQ(fairness->metrics.count("fairness_di_min"), 1u);
  ASSERT_EQ(fairness->metrics.count("fairness_di_afam"), 1u);
  EXPECT_EQ(fairness->metrics.at("fairness_di_min"), fairness->metrics.at("fairness_di_afam"));
  Json report = Output(*run, "fairness", "fairness");
  const Json& afam = report["attributes"]["afam"];
  EXPECT_EQ(afam["model_input"], false);
  EXPECT_EQ(report["favorable_class"], "no");
  EXPECT_EQ(afam["groups"].size(), 2u);
  EXPECT_EQ(afam["reference_group"], "no");
  EXPECT_NEAR(afam["summary"]["disparate_impact_min"].get<double>(),
              fairness->metrics.at("fairness_di_afam"), 1e-12);
  std::printf("hmda pipeline (xgboost without afam, threshold 0.2): disparate impact afam %.4f\n",
              fairness->metrics.at("fairness_di_afam"));
  EXPECT_THAT(Output(*run, "fairness", "report").get<std::string>(), HasSubstr("<h2>afam</h2>"));

  // Editing the reasons file re-runs explain only.
  Write("reasons.yaml", std::string(kReasons) + "hirat: Housing expenses too high\n");
  auto again = Run();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->result.state, pipeline::RunState::kSucceeded) << again->result.status;
  EXPECT_EQ(again->result.Find("train")->state, pipeline::StepState::kCached);
  EXPECT_EQ(again->result.Find("fairness")->state, pipeline::StepState::kCached);
  EXPECT_EQ(again->result.Find("explain")->state, pipeline::StepState::kSucceeded);
}

TEST_F(ExplainStepsTest, FairnessNeedsAttributesPresentInTheData) {
  // Without the data set input and without attributes there is nothing to compare.
  std::string spec = kPipeline;
  spec.replace(
      spec.find("      dataset: ingest.outputs.dataset\n    with: {threshold: 0.2}"),
      std::string("      dataset: ingest.outputs.dataset\n    with: {threshold: 0.2}").size(),
      "    with: {threshold: 0.2}");
  Write("none.yaml", spec);
  auto run = Run("none.yaml");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.state, pipeline::RunState::kFailed);
  EXPECT_THAT(std::string(run->result.status.message()), HasSubstr("no protected attributes"));

  // An attribute the rows do not carry is refused, naming it.
  std::string missing = spec;
  missing.replace(missing.find("with: {threshold: 0.2}"), 22,
                  "with: {threshold: 0.2, attributes: [race]}");
  Write("missing.yaml", missing);
  run = Run("missing.yaml");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.state, pipeline::RunState::kFailed);
  EXPECT_THAT(std::string(run->result.status.message()), HasSubstr("'race'"));
}

}  // namespace
}  // namespace plinth
