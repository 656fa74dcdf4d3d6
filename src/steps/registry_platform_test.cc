// The model registry on the platform, in process, with a real model: a pipeline on hmda.csv
// (ingest -> split -> train -> evaluate -> register) puts an XGBoost package into a project, and
// the tests then exercise what users of the registry rely on: the four-eyes rule of
// approval.decide for every role and authorship, promotion (approvals, policy gates, stage
// transitions, archiving, history at a past time), model.verify against tampered files,
// attestation rows and keys, the import scan of model.register's files, the generated documents
// and the policies. Built twice: on SQLite, and with PLINTH_TEST_POSTGRES on a live PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "blob/artifact_store.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/signing.h"
#include "data/csv_reader.h"
#include "platform/testing_platform.h"
#include "registry/attestation.h"
#include "report/report.h"
#include "steps/pipeline_runner.h"
#include "steps/registry_test_fixture.h"
#include "train/model_package.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

using namespace testing_registry;  // NOLINT: the fixture's constants and helpers
using RegistryPlatformTest = RegistryFixture;

// --- 1. Four eyes -------------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, FourEyesForEveryRoleAndAuthorship) {
  PipelineRunOutcome run = RunPipeline();
  ASSERT_FALSE(run.run_id.empty());
  // ana's run registered credit@1; bob registers the same run's package as credit-bob@1.
  Json v1 = Show("credit", 1);
  EXPECT_EQ(v1["registered_by"], "ana");
  EXPECT_EQ(v1["author"], "ana");
  EXPECT_EQ(v1["source"], "run");
  Json bobs = MustCall(bob_, "model.register", {{"name", "credit-bob"}, {"run_id", run.run_id}});
  EXPECT_EQ(bobs["created"], true);
  EXPECT_EQ(bobs["registered_by"], "bob");
  EXPECT_EQ(bobs["author"], "ana");
  EXPECT_EQ(bobs["digest"], v1["digest"]);

  Request(ana_, "credit", 1, "staging");
  Request(bob_, "credit-bob", 1, "staging");
  // A data scientist plays no part, author or not.
  auto plain = Decide(ana_, "credit", 1, "staging");
  EXPECT_TRUE(absl::IsPermissionDenied(plain.status())) << plain.status();
  EXPECT_THAT(Msg(plain), HasSubstr("validator or approver role"));
  // With a deciding role, authors are still refused, for what they registered and what they
  // trained.
  MustCall(tp_->admin(), "user.grant",
           {{"name", "ana"}, {"role", "validator"}, {"project", kProject}});
  MustCall(tp_->admin(), "user.grant",
           {{"name", "bob"}, {"role", "approver"}, {"project", kProject}});
  const std::string zoltan2 = MustCall(zoltan_, "token.create", {{"user", "zoltan"}})["token"];
  ASSERT_NE(zoltan2, zoltan_);

  auto matrix = [&](const std::string& stage) {
    SCOPED_TRACE(stage);
    auto r = Decide(ana_, "credit", 1, stage);
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("ana registered credit@1"));
    r = Decide(bob_, "credit-bob", 1, stage);
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("bob registered credit-bob@1"));
    r = Decide(ana_, "credit-bob", 1, stage);
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("ana owns the run that trained credit-bob@1"));
    // Viewer, deployer and admin play no part.
    for (const std::string& token : {victor_, dexter_, tp_->admin()}) {
      r = Decide(token, "credit", 1, stage);
      EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
      r = Decide(token, "credit", 1, stage, "approver");
      EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    }
    // A validator may not claim the approver's part.
    r = Decide(xenia_, "credit", 1, stage, "approver");
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    // Holding both roles: say which part; then never the other part on the same request, with
    // this token or another.
    r = Decide(zoltan_, "credit", 1, stage);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("--as"));
    r = Decide(zoltan_, "credit", 1, stage, "validator");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)["decision"]["decision"], "validate");
    EXPECT_EQ((*r)["decision"]["role"], "validator");
    EXPECT_EQ((*r)["decision"]["actor"], "zoltan");
    r = Decide(zoltan_, "credit", 1, stage, "approver");
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("already decided"));
    r = Decide(zoltan2, "credit", 1, stage, "approver");
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    EXPECT_THAT(Msg(r), HasSubstr("already decided"));
    r = Decide(zoltan2, "credit", 1, stage, "validator");
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    // An independent validator and an approver are allowed.
    r = Decide(xenia_, "credit", 1, stage);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)["decision"]["decision"], "validate");
    r = Decide(xenia_, "credit", 1, stage);
    EXPECT_TRUE(absl::IsPermissionDenied(r.status())) << r.status();
    r = Decide(yusuf_, "credit", 1, stage);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)["decision"]["decision"], "approve");
    EXPECT_EQ((*r)["decision"]["role"], "approver");
    EXPECT_EQ((*r)["approvals"]["validators"], Json({"xenia", "zoltan"}));
    EXPECT_EQ((*r)["approvals"]["approvers"], Json({"yusuf"}));
    EXPECT_EQ((*r)["approvals"]["satisfied"], true);
    ASSERT_TRUE(Decide(xenia_, "credit-bob", 1, stage).ok());
    ASSERT_TRUE(Decide(yusuf_, "credit-bob", 1, stage).ok());
    // Only the allowed decisions are on record.
    Json list = MustCall(victor_, "approval.list", Json::object());
    std::multiset<std::string> actors;
    for (const Json& req : list["requests"]) {
      if (req["stage"] != stage) continue;
      for (const Json& d : req["decisions"]) actors.insert(d["actor"].get<std::string>());
    }
    EXPECT_EQ(actors, (std::multiset<std::string>{"xenia", "xenia", "yusuf", "yusuf", "zoltan"}));
  };
  matrix("staging");
  ASSERT_TRUE(Promote(ana_, "credit", 1, "staging").ok());
  ASSERT_TRUE(Promote(bob_, "credit-bob", 1, "staging").ok());
  Request(ana_, "credit", 1, "production");
  Request(bob_, "credit-bob", 1, "production");
  matrix("production");

  // Withdrawal closes the request: no more decisions or promotion on it, and a new request
  // starts from no approvals.
  Json withdrawn =
      MustCall(ana_, "approval.withdraw",
               {{"name", "credit"}, {"version", "1"}, {"stage", "production"}, {"reason", "redo"}});
  EXPECT_EQ(withdrawn["state"], "withdrawn");
  auto after = Decide(zoltan_, "credit", 1, "production", "approver");
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  EXPECT_THAT(Msg(after), HasSubstr("no open approval request"));
  after = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  Json open = MustCall(victor_, "approval.list", Json::object());
  for (const Json& req : open["requests"]) EXPECT_NE(req["ref"], "credit@1") << req.dump();
  Json all = MustCall(victor_, "approval.list", {{"state", "all"}});
  bool seen_withdrawn = false;
  for (const Json& req : all["requests"]) {
    if (req["ref"] == "credit@1" && req["stage"] == "production") {
      seen_withdrawn = req["state"] == "withdrawn";
    }
  }
  EXPECT_TRUE(seen_withdrawn);
  Request(ana_, "credit", 1, "production");
  auto fresh = Decide(xenia_, "credit", 1, "production");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)["approvals"]["validators"], Json({"xenia"}));
  EXPECT_EQ((*fresh)["approvals"]["approvers"], Json::array());
  auto promote = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(promote.status())) << promote.status();
  EXPECT_EQ(Show("credit", 1)["stage"], "staging");

  // A rejection needs a reason and closes the request.
  auto reject = Call(zoltan_, "approval.reject",
                     {{"name", "credit-bob"},
                      {"version", "1"},
                      {"stage", "production"},
                      {"as", "validator"},
                      {"reason", ""}});
  EXPECT_TRUE(absl::IsInvalidArgument(reject.status())) << reject.status();
  reject = Call(
      zoltan_, "approval.reject",
      {{"name", "credit-bob"}, {"version", "1"}, {"stage", "production"}, {"as", "validator"}});
  EXPECT_TRUE(absl::IsInvalidArgument(reject.status())) << reject.status();
  // Authors cannot reject either.
  reject =
      Call(bob_, "approval.reject",
           {{"name", "credit-bob"}, {"version", "1"}, {"stage", "production"}, {"reason", "mine"}});
  EXPECT_TRUE(absl::IsPermissionDenied(reject.status())) << reject.status();
  reject = Call(zoltan_, "approval.reject",
                {{"name", "credit-bob"},
                 {"version", "1"},
                 {"stage", "production"},
                 {"as", "validator"},
                 {"reason", "calibration drifts above 0.4"}});
  ASSERT_TRUE(reject.ok()) << reject.status();
  EXPECT_EQ((*reject)["state"], "rejected");
  EXPECT_EQ((*reject)["decision"]["decision"], "reject");
  EXPECT_EQ((*reject)["decision"]["comment"], "calibration drifts above 0.4");
  after = Decide(xenia_, "credit-bob", 1, "production");
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  // Its approvals (xenia, yusuf) were on the rejected request: promotion needs a new one.
  after = Promote(bob_, "credit-bob", 1, "production");
  EXPECT_TRUE(absl::IsNotFound(after.status())) << after.status();
  Request(bob_, "credit-bob", 1, "production");
  after = Promote(bob_, "credit-bob", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(after.status())) << after.status();
  EXPECT_THAT(Msg(after), HasSubstr("1 validator sign-off (has 0)"));
  EXPECT_EQ(Show("credit-bob", 1)["stage"], "staging");
}

// --- 2. Promotion -------------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, PromotionNeedsApprovalsAndPassingGatesAndKeepsHistory) {
  const int64_t t0 = clock_.NowMicros();
  PipelineRunOutcome run = RunPipeline();
  ASSERT_FALSE(run.run_id.empty());

  // none -> production is no transition.
  auto bad = Call(ana_, "approval.request",
                  {{"name", "credit"}, {"version", "1"}, {"stage", "production"}});
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("from staging"));
  bad = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();

  // Staging: no promotion without a request, nor without the one approval it needs by default.
  bad = Promote(ana_, "credit", 1, "staging");
  EXPECT_TRUE(absl::IsNotFound(bad.status())) << bad.status();
  Json requested = Request(ana_, "credit", 1, "staging");
  EXPECT_EQ(requested["approvals"]["required"]["approvals"], 1);
  bad = Promote(ana_, "credit", 1, "staging");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("1 independent approval (has 0)"));
  ASSERT_TRUE(Decide(xenia_, "credit", 1, "staging").ok());
  // Viewers and validators do not promote.
  bad = Promote(victor_, "credit", 1, "staging");
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  bad = Promote(xenia_, "credit", 1, "staging");
  EXPECT_TRUE(absl::IsPermissionDenied(bad.status())) << bad.status();
  auto promoted = Promote(dexter_, "credit", 1, "staging");
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ((*promoted)["from"], "none");
  EXPECT_EQ((*promoted)["stage"], "staging");
  EXPECT_EQ(Show("credit", 1)["stage"], "staging");
  EXPECT_EQ(Show("credit", 1)["approval_requests"][0]["state"], "promoted");

  // Production by default: a validator and an approver.
  Request(ana_, "credit", 1, "production");
  bad = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("1 validator sign-off (has 0)"));
  EXPECT_THAT(Msg(bad), HasSubstr("1 approver approval (has 0)"));
  ASSERT_TRUE(Decide(xenia_, "credit", 1, "production").ok());
  bad = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("1 approver approval (has 0)"));
  EXPECT_THAT(Msg(bad), Not(HasSubstr("validator sign-off")));
  ASSERT_TRUE(Decide(yusuf_, "credit", 1, "production").ok());

  // A blocking rule that fails refuses the promotion, whatever the approvals.
  Json applied =
      MustCall(tp_->admin(), "policy.apply", {{"file", "strict.yaml"}, {"yaml", R"(policy: strict
rules:
  - name: min_auc
    gates: [production]
    expr: metrics.test_auc >= 0.99
    message: test AUC must be at least 0.99
)"}});
  EXPECT_EQ(applied["changed"], true);
  bad = Promote(ana_, "credit", 1, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("policy gate 'production'"));
  EXPECT_THAT(Msg(bad), HasSubstr("strict/min_auc"));
  EXPECT_THAT(Msg(bad), HasSubstr("test AUC must be at least 0.99"));
  EXPECT_EQ(Show("credit", 1)["stage"], "staging");

  // The policy changes: a reachable threshold, and two approvals for staging in risk tier 1.
  applied =
      MustCall(tp_->admin(), "policy.apply", {{"file", "strict.yaml"}, {"yaml", R"(policy: strict
rules:
  - name: min_auc
    gates: [production]
    expr: metrics.test_auc >= 0.6
    message: test AUC must be at least 0.6
approvals:
  - gate: staging
    tiers: [1]
    approvals: 2
)"}});
  EXPECT_EQ(applied["changed"], true);
  EXPECT_EQ(applied["seq"], 2);
  promoted = Promote(ana_, "credit", 1, "production");
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ((*promoted)["from"], "staging");
  EXPECT_EQ((*promoted)["gate"]["passed"], true);
  EXPECT_EQ(Show("credit", 1)["stage"], "production");
  const int64_t t1 = clock_.NowMicros();

  // Version 2 (tier 1): one approval is no longer enough for staging.
  RunPipeline(30);
  Json v2 = Show("credit", 2);
  ASSERT_EQ(v2["version"], 2);
  EXPECT_NE(v2["digest"], Show("credit", 1)["digest"]);
  requested = Request(ana_, "credit", 2, "staging");
  EXPECT_EQ(requested["approvals"]["required"]["approvals"], 2);
  ASSERT_TRUE(Decide(xenia_, "credit", 2, "staging").ok());
  bad = Promote(ana_, "credit", 2, "staging");
  EXPECT_TRUE(absl::IsFailedPrecondition(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("2 independent approval (has 1)"));
  EXPECT_THAT(Msg(bad), HasSubstr("risk tier 1"));
  ASSERT_TRUE(Decide(zoltan_, "credit", 2, "staging", "approver").ok());
  promoted = Promote(ana_, "credit", 2, "staging");
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ((*promoted)["archived"], Json::array());  // version 1 is in production, not staging

  // The requirement is for tier 1 only: a tier-2 model needs the default single approval.
  Json bobs = MustCall(bob_, "model.register", {{"name", "credit-bob"}, {"run_id", run.run_id}});
  EXPECT_EQ(bobs["model"]["risk_tier"], 2);
  requested = Request(bob_, "credit-bob", 1, "staging");
  EXPECT_EQ(requested["approvals"]["required"]["approvals"], 1);
  ASSERT_TRUE(Decide(xenia_, "credit-bob", 1, "staging").ok());
  promoted = Promote(bob_, "credit-bob", 1, "staging");
  EXPECT_TRUE(promoted.ok()) << promoted.status();

  // Version 2 to production archives version 1.
  clock_.Advance(3600'000'000);
  Request(ana_, "credit", 2, "production");
  ASSERT_TRUE(Decide(xenia_, "credit", 2, "production").ok());
  ASSERT_TRUE(Decide(yusuf_, "credit", 2, "production").ok());
  promoted = Promote(yusuf_, "credit", 2, "production");
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ((*promoted)["archived"], Json({1}));
  EXPECT_EQ(Show("credit", 1)["stage"], "archived");
  EXPECT_EQ(Show("credit", 2)["stage"], "production");
  EXPECT_EQ(
      MustCall(victor_, "model.show", {{"name", "credit"}, {"version", "production"}})["version"],
      2);
  Json listed = MustCall(victor_, "model.list", Json::object());
  ASSERT_EQ(listed["models"].size(), 2u);
  EXPECT_EQ(listed["models"][0]["name"], "credit");
  EXPECT_EQ(listed["models"][0]["production"], 2);
  EXPECT_EQ(listed["models"][0]["staging"], nullptr);

  // What was in production when: nothing before, version 1 at t1, version 2 now.
  auto stages_at = [&](int64_t at) {
    Json h = MustCall(victor_, "model.history", {{"name", "credit"}, {"at", FormatTime(at)}});
    return h["stages_at"];
  };
  EXPECT_EQ(stages_at(t0)["production"], Json::array());
  EXPECT_EQ(stages_at(t0)["staging"], Json::array());
  EXPECT_EQ(stages_at(t1)["production"], Json({1}));
  EXPECT_EQ(stages_at(t1)["staging"], Json::array());
  EXPECT_EQ(stages_at(clock_.NowMicros())["production"], Json({2}));
  EXPECT_EQ(stages_at(clock_.NowMicros())["staging"], Json::array());
  Json history = MustCall(victor_, "model.history", {{"name", "credit"}});
  std::vector<std::string> events;
  for (const Json& e : history["events"]) {
    events.push_back(std::to_string(e["version"].get<int64_t>()) + ":" +
                     e["from"].get<std::string>() + "->" + e["to"].get<std::string>());
    EXPECT_FALSE(e["request_id"].get<std::string>().empty()) << e.dump();
  }
  EXPECT_THAT(events,
              ::testing::ElementsAre("1:none->staging", "1:staging->production", "2:none->staging",
                                     "1:production->archived", "2:staging->production"));
  // Every promotion is signed.
  for (const Json& e : history["events"]) {
    if (e["to"] != "archived") {
      EXPECT_FALSE(e["attestation"].get<std::string>().empty()) << e;
    }
  }
  auto bad_at = Call(victor_, "model.history", {{"name", "credit"}, {"at", "yesterday"}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad_at.status())) << bad_at.status();
}

// --- 3. Attestations ----------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, VerifyChecksProvenanceAndApprovalsAndEveryByteOfTheModel) {
  RunPipeline();
  auto verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ((*verified)["verified"], true);
  EXPECT_EQ((*verified)["files"], 2);
  ASSERT_EQ((*verified)["attestations"].size(), 1u);
  EXPECT_EQ((*verified)["attestations"][0]["predicate_type"], ProvenanceType());

  // Each decision adds an approval attestation, verified with the provenance.
  Request(ana_, "credit", 1, "staging");
  ASSERT_TRUE(Decide(xenia_, "credit", 1, "staging").ok());
  ASSERT_TRUE(Promote(ana_, "credit", 1, "staging").ok());
  verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  std::multiset<std::string> types;
  std::set<std::string> subjects;
  for (const Json& a : (*verified)["attestations"]) {
    types.insert(a["predicate_type"].get<std::string>());
    subjects.insert(a["subject"].get<std::string>());
  }
  EXPECT_EQ(types, (std::multiset<std::string>{ProvenanceType(), ApprovalType(), ApprovalType()}));
  EXPECT_EQ(subjects,
            (std::set<std::string>{"registration", "validate:staging", "promote:staging"}));
  EXPECT_EQ((*verified)["attestations"].size(), Show("credit", 1)["attestations"].size());
  Json envelope = Json::parse(Bytes(victor_, AttestationOf("credit", 1, ApprovalType())));
  auto statement = registry::DecodeStatement(envelope);
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_THAT(statement->dump(), HasSubstr("\"xenia\""));

  // One byte of the model file changed on disk.
  auto [file, digest] = ModelFile("credit", 1);
  const fs::path object = ObjectPath(digest);
  ASSERT_TRUE(fs::exists(object)) << object;
  fs::permissions(object, fs::perms::owner_read | fs::perms::owner_write);
  std::string original = *ReadFile(object.string());
  std::string changed = original;
  changed[changed.size() / 2] ^= 0x01;
  std::ofstream(object, std::ios::binary | std::ios::trunc) << changed;
  auto broken = Verify();
  EXPECT_TRUE(absl::IsDataLoss(broken.status())) << broken.status();
  EXPECT_THAT(Msg(broken), HasSubstr(file));
  // Put back, it verifies again: the failure was that byte.
  std::ofstream(object, std::ios::binary | std::ios::trunc) << original;
  verified = Verify();
  EXPECT_TRUE(verified.ok()) << verified.status();
}

TEST_F(RegistryPlatformTest, VerifyRefusesAnotherVersionsAttestation) {
  RunPipeline();
  RunPipeline(30);
  ASSERT_TRUE(Verify("credit", 1).ok());
  ASSERT_TRUE(Verify("credit", 2).ok());
  const std::string mine = AttestationOf("credit", 1, ProvenanceType());
  const std::string theirs = AttestationOf("credit", 2, ProvenanceType());
  ASSERT_NE(mine, theirs);
  ASSERT_TRUE(Sql("UPDATE model_attestations SET digest = ? WHERE project_id = ? AND name = ? "
                  "AND version = ? AND digest = ?",
                  {theirs, ProjectId(), std::string("credit"), int64_t{1}, mine})
                  .ok());
  auto broken = Verify("credit", 1);
  EXPECT_TRUE(absl::IsDataLoss(broken.status())) << broken.status();
  EXPECT_THAT(Msg(broken), HasSubstr("credit@2"));
  EXPECT_TRUE(Verify("credit", 2).ok());
}

TEST_F(RegistryPlatformTest, VerifyRefusesAVersionWithoutProvenance) {
  RunPipeline();
  ASSERT_TRUE(Verify().ok());
  ASSERT_TRUE(Sql("DELETE FROM model_attestations WHERE project_id = ? AND name = ? AND "
                  "predicate_type = ?",
                  {ProjectId(), std::string("credit"), ProvenanceType()})
                  .ok());
  auto broken = Verify();
  EXPECT_TRUE(absl::IsDataLoss(broken.status())) << broken.status();
  EXPECT_THAT(Msg(broken), HasSubstr("no provenance attestation"));
}

TEST_F(RegistryPlatformTest, VerifyRefusesAFileTheAttestationDoesNotList) {
  RunPipeline();
  ASSERT_TRUE(Verify().ok());
  const std::string extra = Put(ana_, "#!/bin/sh\necho surprise\n");
  Json files = Show("credit", 1)["files"];
  files["hook.sh"] = extra;
  ASSERT_TRUE(Sql("UPDATE model_versions SET files_json = ? WHERE project_id = ? AND name = ?",
                  {files.dump(), ProjectId(), std::string("credit")})
                  .ok());
  auto broken = Verify();
  EXPECT_TRUE(absl::IsDataLoss(broken.status())) << broken.status();
  EXPECT_THAT(Msg(broken), HasSubstr("hook.sh"));
}

TEST_F(RegistryPlatformTest, VerifyTrustsARotatedKeyOnlyWhenListed) {
  RunPipeline();
  ASSERT_TRUE(Verify().ok());
  const std::string old_key_id = tp_->platform().signing_key().KeyId();
  const fs::path keys = tp_->dir() / "keys";
  StatusOr<std::string> old_pub = ReadFile((keys / "platform.pub").string());
  ASSERT_TRUE(old_pub.ok()) << old_pub.status();
  EXPECT_THAT(*old_pub, HasSubstr(old_key_id));
  fs::rename(keys / "platform.key", keys / "platform.key.bak");
  fs::rename(keys / "platform.pub", keys / "platform.pub.bak");
  SigningKey fresh = SigningKey::Generate();
  ASSERT_TRUE(fresh.Save((keys / "platform.key").string()).ok());
  std::ofstream(keys / "platform.pub") << fresh.KeyId() << "\n";
  tp_->Reopen();
  ASSERT_EQ(tp_->platform().signing_key().KeyId(), fresh.KeyId());

  auto broken = Verify();
  EXPECT_TRUE(absl::IsDataLoss(broken.status())) << broken.status();
  EXPECT_THAT(Msg(broken), HasSubstr("not trusted"));

  fs::create_directories(keys / "trusted");
  std::ofstream(keys / "trusted" / "old.pub") << *old_pub;
  auto verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ((*verified)["key_id"], fresh.KeyId());
  // New decisions are signed with the new key, and verify beside the old provenance.
  Request(ana_, "credit", 1, "staging");
  ASSERT_TRUE(Decide(xenia_, "credit", 1, "staging").ok());
  verified = Verify();
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ((*verified)["attestations"].size(), 2u);
  // Without the old key listed, the old provenance is refused again.
  fs::remove(keys / "trusted" / "old.pub");
  EXPECT_TRUE(absl::IsDataLoss(Verify().status()));
}

// --- 4. Import scanning -------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, ImportScanRefusesMaliciousPicklesAndRegistersRealPackages) {
  const std::string evil = Put(ana_, kMaliciousPickle);
  auto refused =
      Call(ana_, "model.register", {{"name", "imported"}, {"files", {{"model.pkl", evil}}}});
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(Msg(refused), HasSubstr("os.system"));
  EXPECT_THAT(Msg(refused), HasSubstr("model.pkl"));
  EXPECT_EQ(MustCall(victor_, "model.list", Json::object())["models"], Json::array());
  auto missing = Call(victor_, "model.show", Version("imported", 1));
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();

  // The refusal is on the audit record, with the scan.
  Json tail = MustCall(tp_->admin(), "audit.tail", {{"n", 50}});
  const Json* record = nullptr;
  for (const Json& r : tail["records"]) {
    if (r["action"] == "model.register") record = &r;
  }
  ASSERT_NE(record, nullptr) << tail.dump();
  EXPECT_EQ((*record)["actor"], "ana");
  EXPECT_THAT((*record)["outcome"].get<std::string>(), HasSubstr("error:"));
  EXPECT_THAT((*record)["details"]["error"].get<std::string>(), HasSubstr("os.system"));
  const Json& scan = (*record)["details"]["scan"];
  ASSERT_TRUE(scan.is_object()) << record->dump();
  EXPECT_EQ(scan["clean"], false);
  EXPECT_THAT(scan.dump(), HasSubstr("os.system"));
  EXPECT_THAT(scan.dump(), HasSubstr("dangerous"));

  // A clean pickle passes the scan but is no package.
  const std::string clean = Put(ana_, kCleanPickle);
  refused = Call(ana_, "model.register", {{"name", "imported"}, {"files", {{"model.pkl", clean}}}});
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(Msg(refused), HasSubstr("no manifest.json"));
  EXPECT_EQ(MustCall(victor_, "model.list", Json::object())["models"], Json::array());

  // A real package, as a folder of files uploaded one by one.
  PipelineRunOutcome run = RunPipeline();
  const pipeline::StepOutcome* train = run.result.Find("train");
  ASSERT_NE(train, nullptr);
  const std::string manifest_bytes = Bytes(ana_, train->outputs.at("manifest"));
  Json manifest = Json::parse(manifest_bytes);
  ASSERT_EQ(manifest["files"].size(), 1u);
  const std::string model_name = manifest["files"][0]["name"];
  const fs::path folder = dir_ / "package";
  fs::create_directories(folder);
  std::ofstream(folder / "manifest.json", std::ios::binary) << manifest_bytes;
  std::ofstream(folder / model_name, std::ios::binary) << Bytes(ana_, train->outputs.at("model"));
  auto client = tp_->Client(bob_);
  Json files = Json::object();
  for (const auto& entry : fs::directory_iterator(folder)) {
    auto put = client->PutArtifact(kProject, entry.path().string(), nullptr);
    ASSERT_TRUE(put.ok()) << put.status();
    files[entry.path().filename().string()] = (*put)["digest"];
  }
  Json imported =
      MustCall(bob_, "model.register", {{"name", "imported"}, {"files", files}, {"risk_tier", 3}});
  EXPECT_EQ(imported["created"], true);
  EXPECT_EQ(imported["version"], 1);
  EXPECT_EQ(imported["source"], "files");
  EXPECT_EQ(imported["run_id"], "");
  EXPECT_EQ(imported["registered_by"], "bob");
  EXPECT_EQ(imported["author"], "bob");
  EXPECT_EQ(imported["scan"]["clean"], true);
  ASSERT_EQ(imported["scan"]["files"].size(), 2u);
  EXPECT_EQ(imported["digest"], Show("credit", 1)["digest"]);
  EXPECT_TRUE(Verify("imported", 1).ok());
  Json evidence = MustCall(victor_, "model.evidence", Version("imported", 1));
  EXPECT_EQ(evidence["scan"]["clean"], true);
  EXPECT_EQ(evidence["model"]["source"], "files");
  // The same files again are the same version.
  Json again = MustCall(bob_, "model.register", {{"name", "imported"}, {"files", files}});
  EXPECT_EQ(again["created"], false);
  EXPECT_EQ(again["version"], 1);
}

// A bare XGBoost model file, as Python's xgboost saves it, is imported as a package whose inputs
// are the model's feature names, and it scores exactly as the booster does.
TEST_F(RegistryPlatformTest, ABareXgboostFileIsImportedAndScoresAsTheBooster) {
  PipelineRunOutcome run = RunPipeline();
  const pipeline::StepOutcome* train = run.result.Find("train");
  ASSERT_NE(train, nullptr);
  auto original = ParseModelPackage({{"manifest.json", Bytes(ana_, train->outputs.at("manifest"))},
                                     {"model.json", Bytes(ana_, train->outputs.at("model"))}});
  ASSERT_TRUE(original.ok()) << original.status();
  const std::string model_bytes = Bytes(ana_, train->outputs.at("model"));
  Json imported =
      MustCall(bob_, "model.register",
               {{"name", "notebook"}, {"files", {{"model.json", Put(bob_, model_bytes)}}}});
  ASSERT_EQ(imported["created"], true);
  EXPECT_EQ(imported["kind"], "xgboost");
  EXPECT_EQ(imported["scan"]["clean"], true);
  ASSERT_TRUE(imported["files"].contains("manifest.json"));
  EXPECT_TRUE(Verify("notebook", 1).ok());

  auto package =
      ParseModelPackage({{"manifest.json", Bytes(bob_, imported["files"]["manifest.json"])},
                         {"model.json", Bytes(bob_, imported["files"]["model.json"])}});
  ASSERT_TRUE(package.ok()) << package.status();
  // The inputs are the booster's features: the original package's encoded columns.
  const std::vector<std::string> outputs = original->manifest.preprocess->OutputNames();
  ASSERT_EQ(package->manifest.inputs.size(), outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(package->manifest.inputs[i].name, outputs[i]);
  }
  auto scorer = LoadScorer(*package);
  auto original_scorer = LoadScorer(*original);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  ASSERT_TRUE(original_scorer.ok()) << original_scorer.status();
  // The data through the original's preprocessing, fed to the import column by column.
  auto table = ReadCsv((dir_ / "hmda.csv").string());
  ASSERT_TRUE(table.ok()) << table.status();
  auto matrix = original->manifest.preprocess->Apply(*table);
  ASSERT_TRUE(matrix.ok()) << matrix.status();
  Table encoded;
  for (size_t c = 0; c < matrix->cols; ++c) {
    std::vector<double> values(matrix->rows);
    std::vector<uint8_t> valid(matrix->rows, 1);
    for (size_t r = 0; r < matrix->rows; ++r) {
      float v = matrix->values[r * matrix->cols + c];
      valid[r] = std::isnan(v) ? 0 : 1;
      values[r] = std::isnan(v) ? 0.0 : static_cast<double>(v);
    }
    auto column = Column::FromFloat64s(outputs[c], std::move(values), std::move(valid));
    ASSERT_TRUE(column.ok()) << column.status();
    ASSERT_TRUE(encoded.AddColumn(*std::move(column)).ok());
  }
  auto want = (*original_scorer)->PredictTable(*table);
  auto got = (*scorer)->PredictTable(encoded);
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), want->size());
  for (size_t r = 0; r < got->size(); ++r) EXPECT_NEAR((*got)[r], (*want)[r], 1e-6) << "row " << r;

  // Without feature names the columns cannot be named: refused, after a clean scan.
  Json model = Json::parse(model_bytes);
  model["learner"].erase("feature_names");
  model["learner"].erase("feature_types");
  auto refused = Call(bob_, "model.register",
                      {{"name", "nameless"}, {"files", {{"model.json", Put(bob_, model.dump())}}}});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("no feature names"));
}

// --- 5. Documents -------------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, DocumentsAreGeneratedReferencedAndRegenerated) {
  RunPipeline();
  Json shown = Show("credit", 1);
  Json documents = shown["documents"];
  std::set<std::string> names;
  for (const auto& [name, digest] : documents.items()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"card.json", "card.md", "card.html", "report.html",
                                          "lineage.svg", "lineage.dot", "lineage.json"}));
  // The project holds each one.
  std::set<std::string> held;
  const Json artifacts = MustCall(victor_, "artifact.list", Json::object());
  for (const Json& a : artifacts["artifacts"]) {
    held.insert(a["digest"].get<std::string>());
  }
  for (const auto& [name, digest] : documents.items()) {
    EXPECT_EQ(held.count(digest.get<std::string>()), 1u) << name;
  }

  const std::string card_md = Bytes(victor_, documents["card.md"]);
  for (const char* section : {"## Model details", "## Intended use", "## Limitations"}) {
    EXPECT_THAT(card_md, HasSubstr(section));
  }
  EXPECT_THAT(card_md, HasSubstr(kIntendedUse));
  EXPECT_THAT(card_md, HasSubstr("credit"));
  Json card = Json::parse(Bytes(victor_, documents["card.json"]));
  EXPECT_EQ(card["model_details"]["name"], "credit");
  EXPECT_THAT(Bytes(victor_, documents["card.html"]), HasSubstr(kIntendedUse));

  const std::string report = Bytes(victor_, documents["report.html"]);
  for (const std::string& id : report::ValidationReportSectionIds()) {
    EXPECT_THAT(report, HasSubstr("id=\"" + id + "\"")) << id;
  }
  EXPECT_THAT(report, Not(HasSubstr("xenia")));
  const std::string svg = Bytes(victor_, documents["lineage.svg"]);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 80);
  EXPECT_THAT(svg, HasSubstr("hmda"));
  EXPECT_THAT(Bytes(victor_, documents["lineage.dot"]), HasSubstr("hmda"));
  Json lineage = Json::parse(Bytes(victor_, documents["lineage.json"]));
  EXPECT_THAT(lineage.dump(), HasSubstr("dataset/hmda"));
  EXPECT_THAT(lineage.dump(), HasSubstr("model_version/credit@1"));

  // The provenance statement references the documents and the data set.
  Json envelope = Json::parse(Bytes(victor_, AttestationOf("credit", 1, ProvenanceType())));
  auto statement = registry::DecodeStatement(envelope);
  ASSERT_TRUE(statement.ok()) << statement.status();
  const Json& predicate = (*statement)["predicate"];
  std::map<std::string, std::string> byproducts;
  for (const Json& b : predicate["runDetails"]["byproducts"]) {
    byproducts[b["name"].get<std::string>()] = "sha256:" + b["digest"]["sha256"].get<std::string>();
  }
  std::map<std::string, std::string> expected;
  for (const auto& [name, digest] : documents.items()) expected[name] = digest;
  EXPECT_EQ(byproducts, expected);
  bool dataset = false;
  for (const Json& d : predicate["buildDefinition"]["resolvedDependencies"]) {
    if (d["uri"].get<std::string>().rfind("plinth:dataset/hmda@", 0) == 0) dataset = true;
  }
  EXPECT_TRUE(dataset) << predicate["buildDefinition"].dump();
  std::set<std::string> subjects;
  for (const Json& s : (*statement)["subject"]) subjects.insert(s["name"].get<std::string>());
  EXPECT_EQ(subjects, (std::set<std::string>{"manifest.json", ModelFile("credit", 1).first}));

  // A decision writes the documents again: the report lists the validator.
  Request(ana_, "credit", 1, "staging");
  auto decided = Decide(xenia_, "credit", 1, "staging");
  ASSERT_TRUE(decided.ok()) << decided.status();
  Json after = Show("credit", 1)["documents"];
  EXPECT_NE(after["report.html"], documents["report.html"]);
  const std::string report_after = Bytes(victor_, after["report.html"]);
  EXPECT_THAT(report_after, HasSubstr("xenia"));
  // The approval attestation references the regenerated documents.
  Json approval = Json::parse(Bytes(victor_, (*decided)["decision"]["attestation"]));
  auto approval_statement = registry::DecodeStatement(approval);
  ASSERT_TRUE(approval_statement.ok()) << approval_statement.status();
  EXPECT_THAT(approval_statement->dump(),
              HasSubstr(after["report.html"].get<std::string>().substr(7)));
}

// --- 6. Policies --------------------------------------------------------------------------------

TEST_F(RegistryPlatformTest, PoliciesApplyCheckAndShowInTheEvidence) {
  RunPipeline();
  // Errors point into the file.
  auto bad = Call(tp_->admin(), "policy.apply", {{"file", "bad.yaml"}, {"yaml", R"(policy: strict
rules:
  - name: min_auc
    gates: [staging]
    expr: metrics.test_auc >=
    message: broken
)"}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), ContainsRegex("bad\\.yaml:[0-9]+:[0-9]+"));
  bad = Call(
      tp_->admin(), "policy.apply",
      {{"file", "bad.yaml"}, {"yaml", "policy: strict\nrules:\n  - name: r\n    gatez: [x]\n"}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), ContainsRegex("bad\\.yaml:4:[0-9]+"));
  EXPECT_EQ(MustCall(victor_, "policy.list", Json::object())["policies"], Json::array());
  // Only admins set policies.
  const std::string strict = R"(policy: strict
rules:
  - name: min_auc
    gates: [staging, production]
    expr: metrics.test_auc >= 0.99
    message: test AUC must be at least 0.99
  - name: has_intended_use
    gates: [staging]
    expr: model.intended_use != ""
    message: the intended use is recorded
)";
  auto denied = Call(ana_, "policy.apply", {{"yaml", strict}});
  EXPECT_TRUE(absl::IsPermissionDenied(denied.status())) << denied.status();

  Json first = MustCall(tp_->admin(), "policy.apply", {{"yaml", strict}});
  EXPECT_EQ(first["changed"], true);
  EXPECT_EQ(first["seq"], 1);
  EXPECT_EQ(first["rules"], 2);
  Json second = MustCall(tp_->admin(), "policy.apply", {{"yaml", strict}});
  EXPECT_EQ(second["changed"], false);
  EXPECT_EQ(second["seq"], 1);
  EXPECT_EQ(second["digest"], first["digest"]);
  Json listed = MustCall(victor_, "policy.list", Json::object());
  ASSERT_EQ(listed["policies"].size(), 1u);
  EXPECT_EQ(listed["policies"][0]["seq"], 1);

  // A check is a result, recorded, and read back in the evidence.
  Json checked = MustCall(victor_, "policy.check",
                          {{"name", "credit"}, {"version", "1"}, {"gate", "staging"}});
  EXPECT_EQ(checked["passed"], false);
  ASSERT_EQ(checked["decisions"].size(), 1u);
  const Json decision = checked["decisions"][0];
  EXPECT_EQ(decision["policy"], "strict");
  EXPECT_EQ(decision["policy_digest"], first["digest"]);
  std::map<std::string, bool> results;
  for (const Json& r : decision["results"])
    results[r["rule"].get<std::string>()] = r["passed"].get<bool>();
  EXPECT_EQ(results, (std::map<std::string, bool>{{"has_intended_use", true}, {"min_auc", false}}));
  Json evidence = MustCall(victor_, "model.evidence", Version("credit", 1));
  bool found = false;
  for (const Json& d : evidence["policy_results"]) {
    if (d["policy"] == "strict" && d["gate"] == "staging") {
      found = true;
      EXPECT_EQ(d["passed"], false);
      EXPECT_EQ(d, decision);
    }
  }
  EXPECT_TRUE(found) << evidence["policy_results"].dump();
  auto no_gate =
      Call(victor_, "policy.check", {{"name", "credit"}, {"version", "1"}, {"gate", "lunch"}});
  EXPECT_TRUE(absl::IsInvalidArgument(no_gate.status())) << no_gate.status();

  // The built-in credit pack applies, and is evaluated beside the project's own policy.
  Json builtin = MustCall(tp_->admin(), "policy.apply", {{"builtin", "credit"}});
  EXPECT_EQ(builtin["changed"], true);
  EXPECT_GT(builtin["rules"].get<int>(), 0);
  listed = MustCall(victor_, "policy.list", Json::object());
  ASSERT_EQ(listed["policies"].size(), 2u);
  std::set<std::string> sources;
  for (const Json& p : listed["policies"]) sources.insert(p["source"].get<std::string>());
  EXPECT_EQ(sources.count("builtin:credit"), 1u);
  checked = MustCall(victor_, "policy.check",
                     {{"name", "credit"}, {"version", "1"}, {"gate", "production"}});
  EXPECT_EQ(checked["decisions"].size(), 2u);
  auto unknown = Call(tp_->admin(), "policy.apply", {{"builtin", "mortgage"}});
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status())) << unknown.status();
}

}  // namespace
}  // namespace plinth
