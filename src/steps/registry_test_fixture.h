// Test support shared by the registry and deployment platform tests: a platform in a temporary
// home with a project, users in every role, and an HMDA pipeline (ingest -> split -> train ->
// evaluate -> register) that puts a real XGBoost package into the registry.
#ifndef PLINTH_STEPS_REGISTRY_TEST_FIXTURE_H_
#define PLINTH_STEPS_REGISTRY_TEST_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "blob/artifact_store.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/random.h"
#include "platform/testing_platform.h"
#include "registry/attestation.h"
#include "steps/pipeline_runner.h"

namespace plinth {
namespace testing_registry {

namespace fs = std::filesystem;

constexpr char kProject[] = "lending";
constexpr char kIntendedUse[] = "Ranking mortgage applications by probability of denial";

constexpr char kPipeline[] = R"(name: hmda
parameters:
  trees: {type: int, default: 20, min: 5, max: 200}
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
      params:
        num_boost_round: ${params.trees}
        max_depth: 3
        learning_rate: 0.1
        nthread: 1
  - name: evaluate
    uses: evaluate
    inputs:
      manifest: train.outputs.manifest
      model: train.outputs.model
      test: split.outputs.test
      train: split.outputs.train
  - name: register
    uses: register
    inputs:
      manifest: train.outputs.manifest
      model: train.outputs.model
      evaluation: evaluate.outputs.metrics
    with:
      name: credit
      description: Probability that a mortgage application is denied (HMDA).
      risk_tier: 1
      intended_use: Ranking mortgage applications by probability of denial
      limitations: Boston HMDA data of one year only; not for automated decisions.
      regulatory_scope: [SR 11-7, ECOA]
)";

// A protocol-2 pickle that calls os.system("ls") when unpickled.
const std::string kMaliciousPickle(
    "\x80\x02"
    "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.",
    31);
// A protocol-2 pickle of an empty dict: no globals at all.
const std::string kCleanPickle("\x80\x02}q\x00.", 6);

std::string Msg(const StatusOr<Json>& r) { return std::string(r.status().message()); }

std::string ProvenanceType() { return std::string(registry::kProvenancePredicateType); }
std::string ApprovalType() { return std::string(registry::kApprovalPredicateType); }

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    tp_ = std::make_unique<TestPlatform>("registry_platform", &clock_);
    tp_->MakeProject(kProject);
    ana_ = tp_->MakeUser("ana", "data-scientist", kProject);
    bob_ = tp_->MakeUser("bob", "data-scientist", kProject);
    xenia_ = tp_->MakeUser("xenia", "validator", kProject);
    yusuf_ = tp_->MakeUser("yusuf", "approver", kProject);
    zoltan_ = tp_->MakeUser("zoltan", "validator", kProject);
    tp_->MustCall(tp_->admin(), "user.grant",
                  {{"name", "zoltan"}, {"role", "approver"}, {"project", kProject}});
    victor_ = tp_->MakeUser("victor", "viewer", kProject);
    dexter_ = tp_->MakeUser("dexter", "deployer", kProject);
    dir_ = tp_->dir() / "work";
    fs::create_directories(dir_);
    fs::copy_file(fs::path(PLINTH_EXAMPLES_DATA) / "hmda.csv", dir_ / "hmda.csv");
    std::ofstream(dir_ / "pipeline.yaml", std::ios::binary) << kPipeline;
  }

  // Runs the pipeline as ana (a new version of "credit" when `trees` differs) and returns the run.
  PipelineRunOutcome RunPipeline(int trees = 20) {
    clock_.Advance(60'000'000);
    auto client = tp_->Client(ana_);
    PipelineRunOptions options;
    options.project = kProject;
    options.params = {"trees=" + std::to_string(trees)};
    auto run = RunPipelineOnPlatform(*client, (dir_ / "pipeline.yaml").string(), options);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return PipelineRunOutcome();
    EXPECT_EQ(run->result.state, pipeline::RunState::kSucceeded) << run->result.status;
    return *std::move(run);
  }

  // Every call happens a second after the previous one, so times order the records.
  StatusOr<Json> Call(const std::string& token, const std::string& op, Json req) {
    clock_.Advance(1'000'000);
    if (!req.contains("project") && op != "token.create" && op != "user.grant" &&
        op != "audit.tail" && op != "deployment.resolve") {
      req["project"] = kProject;
    }
    return tp_->Call(token, op, req);
  }
  Json MustCall(const std::string& token, const std::string& op, Json req) {
    auto r = Call(token, op, std::move(req));
    EXPECT_TRUE(r.ok()) << op << ": " << r.status();
    return r.ok() ? *r : Json();
  }

  Json Version(const std::string& name, int version) {
    return {{"name", name}, {"version", std::to_string(version)}};
  }
  StatusOr<Json> Decide(const std::string& token, const std::string& name, int version,
                        const std::string& stage, const std::string& as = "") {
    Json req = Version(name, version);
    req["stage"] = stage;
    if (!as.empty()) req["as"] = as;
    return Call(token, "approval.decide", req);
  }
  Json Request(const std::string& token, const std::string& name, int version,
               const std::string& stage) {
    Json req = Version(name, version);
    req["stage"] = stage;
    return MustCall(token, "approval.request", req);
  }
  StatusOr<Json> Promote(const std::string& token, const std::string& name, int version,
                         const std::string& stage) {
    Json req = Version(name, version);
    req["stage"] = stage;
    return Call(token, "model.promote", req);
  }
  StatusOr<Json> Verify(const std::string& name = "credit", int version = 1) {
    return Call(victor_, "model.verify", Version(name, version));
  }
  Json Show(const std::string& name, int version) {
    return MustCall(victor_, "model.show", Version(name, version));
  }

  // The artifact's bytes, read as `token` (so only if a project of theirs holds it).
  std::string Bytes(const std::string& token, const std::string& digest) {
    const fs::path path = dir_ / ("download-" + RandomHex(6));
    Status got = tp_->Client(token)->GetArtifact(digest, path.string(), nullptr);
    EXPECT_TRUE(got.ok()) << digest << ": " << got;
    if (!got.ok()) return "";
    StatusOr<std::string> text = ReadFile(path.string());
    EXPECT_TRUE(text.ok()) << text.status();
    fs::remove(path);
    return text.ok() ? *text : "";
  }
  std::string Bytes(const std::string& token, const Json& digest) {
    return Bytes(token, digest.is_string() ? digest.get<std::string>() : std::string());
  }
  std::string Put(const std::string& token, const std::string& bytes) {
    auto put = tp_->platform().PutArtifact(token, kProject, StringSource(&bytes), "put");
    EXPECT_TRUE(put.ok()) << put.status();
    return put.ok() ? (*put)["digest"].get<std::string>() : "";
  }

  Status Sql(const std::string& sql, const std::vector<SqlValue>& params) {
    return tp_->platform().store().RunInTransaction(
        [&](Transaction& tx) -> Status { return tx.Execute(sql, params); });
  }
  std::string ProjectId() {
    std::string id;
    Status s = tp_->platform().store().RunInTransaction([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(QueryResult r,
                       tx.Query("SELECT id FROM projects WHERE name = ?", {std::string(kProject)}));
      if (!r.rows.empty()) id = r.TextOrEmpty(0, 0);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }
  // The digest of the version's attestation of `type` (the first one).
  std::string AttestationOf(const std::string& name, int version, const std::string& type) {
    const Json shown = Show(name, version);
    for (const Json& a : shown["attestations"]) {
      if (a["predicate_type"] == type) return a["digest"];
    }
    ADD_FAILURE() << name << "@" << version << " has no attestation " << type;
    return "";
  }
  // The model file of a version (the package's one file besides manifest.json).
  std::pair<std::string, std::string> ModelFile(const std::string& name, int version) {
    const Json shown = Show(name, version);
    for (const auto& [file, digest] : shown["files"].items()) {
      if (file != "manifest.json") return {file, digest.get<std::string>()};
    }
    ADD_FAILURE() << "no model file";
    return {"", ""};
  }
  fs::path ObjectPath(const std::string& digest) {
    const std::string hex = digest.substr(7);
    return tp_->dir() / "artifacts" / "objects" / "sha256" / hex.substr(0, 2) / hex.substr(2);
  }

  FakeClock clock_{*ParseTime("2026-03-01T09:00:00Z")};
  std::unique_ptr<TestPlatform> tp_;
  std::string ana_, bob_, xenia_, yusuf_, zoltan_, victor_, dexter_;
  fs::path dir_;
};

}  // namespace testing_registry
}  // namespace plinth

#endif  // PLINTH_STEPS_REGISTRY_TEST_FIXTURE_H_
