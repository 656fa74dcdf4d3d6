// Deployments on the platform, with real models from the HMDA pipeline: only versions approved
// for an environment, whose bytes and attestations verify and which pass the deploy gate, are
// deployed; canaries, shadows, rollbacks and stops; what a serving process resolves; the history
// of what served when; and the audit trail. Built twice: on SQLite and on a live PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "steps/registry_test_fixture.h"

namespace plinth {
namespace {

using namespace testing_registry;  // NOLINT: the fixture's constants and helpers
using ::testing::HasSubstr;

class DeploymentPlatformTest : public RegistryFixture {
 protected:
  // Runs the pipeline (a new version when `trees` differs) and takes the version to `stage`
  // through the default approvals: a validator for staging; a validator and an approver for
  // production.
  void RegisterAndPromote(int version, int trees, const std::string& stage) {
    RunPipeline(trees);
    Request(ana_, "credit", version, "staging");
    ASSERT_TRUE(Decide(xenia_, "credit", version, "staging").ok());
    ASSERT_TRUE(Promote(dexter_, "credit", version, "staging").ok());
    if (stage == "production") {
      Request(ana_, "credit", version, "production");
      ASSERT_TRUE(Decide(xenia_, "credit", version, "production").ok());
      ASSERT_TRUE(Decide(yusuf_, "credit", version, "production").ok());
      ASSERT_TRUE(Promote(dexter_, "credit", version, "production").ok());
    }
  }
  StatusOr<Json> Deploy(const std::string& token, int version, const std::string& env,
                        Json extra = Json::object()) {
    Json req = Version("credit", version);
    req["environment"] = env;
    req.update(extra);
    return Call(token, "deployment.create", req);
  }
  StatusOr<Json> Change(const std::string& token, const std::string& op, const std::string& env,
                        const std::string& reason = "") {
    Json req = {{"name", "credit"}, {"environment", env}};
    if (!reason.empty()) req["reason"] = reason;
    return Call(token, op, req);
  }
  Json Resolve(const std::string& env) {
    return MustCall(victor_, "deployment.resolve", {{"environment", env}});
  }
  Json Only(const Json& resolved) {
    EXPECT_EQ(resolved["deployments"].size(), 1u) << resolved.dump();
    return resolved["deployments"].empty() ? Json::object() : resolved["deployments"][0];
  }
};

TEST_F(DeploymentPlatformTest, OnlyApprovedVerifiedVersionsDeployAndOnlyByDeployers) {
  RunPipeline();
  // Registered but not approved for staging.
  auto bad = Deploy(dexter_, 1, "staging");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("not approved for staging"));
  Request(ana_, "credit", 1, "staging");
  ASSERT_TRUE(Decide(xenia_, "credit", 1, "staging").ok());
  ASSERT_TRUE(Promote(dexter_, "credit", 1, "staging").ok());

  // Deploying is the deployer's: not the author, the validator or a viewer.
  for (const std::string& token : {ana_, xenia_, yusuf_, victor_}) {
    bad = Deploy(token, 1, "staging");
    EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  }
  // Approved for staging is not approved for production.
  bad = Deploy(dexter_, 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("not approved for production"));
  bad = Deploy(dexter_, 1, "edge");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();

  // A changed byte in the model file: refused at deploy, whatever the approvals.
  auto [file, digest] = ModelFile("credit", 1);
  const fs::path object = ObjectPath(digest);
  fs::permissions(object, fs::perms::owner_read | fs::perms::owner_write);
  const std::string original = *ReadFile(object.string());
  std::string changed = original;
  changed[changed.size() / 2] ^= 0x01;
  std::ofstream(object, std::ios::binary | std::ios::trunc) << changed;
  bad = Deploy(dexter_, 1, "staging");
  EXPECT_TRUE(absl::IsDataLoss(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr(file));
  std::ofstream(object, std::ios::binary | std::ios::trunc) << original;

  auto deployed = Deploy(dexter_, 1, "staging", {{"reason", "first deployment"}});
  ASSERT_TRUE(deployed.ok()) << deployed.status();
  EXPECT_EQ((*deployed)["action"], "deploy");
  EXPECT_EQ((*deployed)["state"], "active");
  EXPECT_EQ((*deployed)["version"], 1);

  Json listed = MustCall(victor_, "deployment.list", {{"environment", "staging"}});
  ASSERT_EQ(listed["deployments"].size(), 1u);
  EXPECT_EQ(listed["deployments"][0]["ref"], "credit@1");
  // Resolving hands out the version's files, verified again.
  Json entry = Only(Resolve("staging"));
  EXPECT_EQ(entry["serving"]["primary"]["digest"], Show("credit", 1)["digest"]);
  EXPECT_TRUE(entry["serving"]["primary"]["files"].contains(file));
  EXPECT_GE(entry["serving"]["primary"]["verified"].get<int>(), 2);
  EXPECT_TRUE(Resolve("production")["deployments"].empty());

  // Tampered after deployment: resolve reports the error and hands out nothing to serve.
  std::ofstream(object, std::ios::binary | std::ios::trunc) << changed;
  entry = Only(Resolve("staging"));
  EXPECT_FALSE(entry.contains("serving"));
  ASSERT_EQ(entry["errors"].size(), 1u);
  EXPECT_THAT(entry["errors"][0]["error"].get<std::string>(), HasSubstr(file));
  std::ofstream(object, std::ios::binary | std::ios::trunc) << original;
  EXPECT_TRUE(Only(Resolve("staging")).contains("serving"));
}

TEST_F(DeploymentPlatformTest, TheDeployGateIsEnforced) {
  RegisterAndPromote(1, 20, "staging");
  MustCall(tp_->admin(), "policy.apply", {{"file", "deploy.yaml"}, {"yaml", R"(policy: freeze
rules:
  - name: change_freeze
    gates: [deploy]
    expr: metrics.test_auc >= 0.999
    message: deployments are frozen for models under 0.999 AUC
)"}});
  auto bad = Deploy(dexter_, 1, "staging");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("policy gate 'deploy'"));
  EXPECT_THAT(Msg(bad), HasSubstr("change_freeze"));
  MustCall(tp_->admin(), "policy.apply", {{"file", "deploy.yaml"}, {"yaml", R"(policy: freeze
rules:
  - name: change_freeze
    gates: [deploy]
    expr: metrics.test_auc >= 0.5
    message: deployments need a model better than chance
)"}});
  EXPECT_TRUE(Deploy(dexter_, 1, "staging").ok());
}

TEST_F(DeploymentPlatformTest, CanaryShadowRollbackStopAndHistory) {
  RegisterAndPromote(1, 20, "production");
  RegisterAndPromote(2, 30, "staging");
  const int64_t before = clock_.NowMicros();
  ASSERT_TRUE(Deploy(dexter_, 1, "staging").ok());
  const int64_t only_v1 = clock_.NowMicros();

  // A canary runs beside the primary; the same version is no canary of itself.
  auto bad = Deploy(dexter_, 1, "staging", {{"canary_percent", 10}});
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  bad = Deploy(dexter_, 2, "staging", {{"canary_percent", 100}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  bad = Deploy(dexter_, 2, "staging", {{"canary_percent", 10}, {"shadow", true}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  auto canary = Deploy(dexter_, 2, "staging", {{"canary_percent", 10}});
  ASSERT_TRUE(canary.ok()) << canary.status();
  EXPECT_EQ((*canary)["version"], 1);
  EXPECT_EQ((*canary)["canary"]["version"], 2);
  EXPECT_EQ((*canary)["canary"]["percent"], 10);
  Json entry = Only(Resolve("staging"));
  EXPECT_EQ(entry["serving"]["primary"]["version"], 1);
  EXPECT_EQ(entry["serving"]["canary"]["version"], 2);
  // Rollback ends the canary; the primary keeps serving.
  auto rolled = Change(dexter_, "deployment.rollback", "staging", "canary error rate");
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ((*rolled)["version"], 1);
  EXPECT_TRUE((*rolled)["canary"].is_null());

  // Full deployment of version 2, then rollback to version 1.
  ASSERT_TRUE(Deploy(dexter_, 2, "staging").ok());
  const int64_t v2_serving = clock_.NowMicros();
  EXPECT_EQ(Only(Resolve("staging"))["serving"]["primary"]["version"], 2);
  rolled = Change(dexter_, "deployment.rollback", "staging");
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ((*rolled)["version"], 1);
  EXPECT_EQ((*rolled)["previous"]["version"], 2);

  // Shadow: scored beside the primary.
  auto shadow = Deploy(dexter_, 2, "staging", {{"shadow", true}});
  ASSERT_TRUE(shadow.ok()) << shadow.status();
  EXPECT_EQ(Only(Resolve("staging"))["serving"]["shadow"]["version"], 2);

  // Stop: needs a reason; validators and approvers may pull a model, viewers and authors not.
  bad = Change(xenia_, "deployment.stop", "staging");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  bad = Change(ana_, "deployment.stop", "staging", "no");
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  bad = Change(victor_, "deployment.stop", "staging", "no");
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  auto stopped = Change(xenia_, "deployment.stop", "staging", "unexplained score shift");
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ((*stopped)["state"], "stopped");
  entry = Only(Resolve("staging"));
  EXPECT_EQ(entry["state"], "stopped");
  EXPECT_FALSE(entry.contains("serving"));
  bad = Change(xenia_, "deployment.stop", "staging", "again");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  bad = Change(dexter_, "deployment.stop", "production", "nothing there");
  EXPECT_TRUE(absl::IsNotFound(bad.status())) << bad.status();
  // Deploying again brings it back.
  ASSERT_TRUE(Deploy(dexter_, 1, "staging").ok());
  EXPECT_EQ(Only(Resolve("staging"))["state"], "active");

  // Production holds only production versions.
  EXPECT_FALSE(Deploy(dexter_, 2, "production").ok());
  ASSERT_TRUE(Deploy(dexter_, 1, "production").ok());
  bad = Change(dexter_, "deployment.rollback", "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("no earlier version"));

  // What served when.
  Json history = MustCall(victor_, "model.history", {{"name", "credit"}});
  std::vector<std::string> actions;
  for (const Json& e : history["deployments"]) {
    if (e["environment"] == "staging") actions.push_back(e["action"]);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"deploy", "canary", "rollback", "deploy", "rollback",
                                               "shadow", "stop", "deploy"}));
  auto serving_at = [&](int64_t at) {
    Json h = MustCall(victor_, "model.history", {{"name", "credit"}, {"at", FormatTime(at)}});
    return h["serving_at"];
  };
  EXPECT_FALSE(serving_at(before).contains("staging"));
  EXPECT_EQ(serving_at(only_v1)["staging"]["version"], 1);
  EXPECT_EQ(serving_at(v2_serving)["staging"]["version"], 2);

  // Every change is audited with who, what and the previous state.
  Json tail = MustCall(tp_->admin(), "audit.tail", {{"n", 300}});
  int creates = 0, stops = 0;
  for (const Json& r : tail["records"]) {
    if (r["action"] == "deployment.create" && r["outcome"] == "ok") ++creates;
    if (r["action"] == "deployment.stop" && r["outcome"] == "ok") {
      ++stops;
      EXPECT_EQ(r["actor"], "xenia");
    }
  }
  EXPECT_EQ(creates, 6);
  EXPECT_EQ(stops, 1);
}

}  // namespace
}  // namespace plinth
