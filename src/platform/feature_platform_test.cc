// The feature store on the platform, in process: applying definitions (versioned, diffed,
// checked against the data, refused for the wrong role), training sets with hand-computed values
// (no row from the spine time or later), recorded as data set versions with lineage, the
// validation gate on sources, incremental materialization and online reads that survive a
// restart, and other projects' features not existing for outsiders. Built twice: on SQLite, and
// with PLINTH_TEST_POSTGRES on a live PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/errors.h"
#include "core/random.h"
#include "platform/platform.h"
#include "platform/testing_platform.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

constexpr char kTransactions[] =
    "customer_id,timestamp,amount,channel\n"
    "C1,2026-01-01T00:00:00Z,10,online\n"
    "C1,2026-01-01T12:00:00Z,20,chip\n"
    "C2,2026-01-01T06:00:00Z,5,atm\n"
    "C1,2026-01-03T00:00:00Z,40,online\n";

constexpr char kSpine[] =
    "customer_id,timestamp,label\n"
    "C1,2026-01-01T12:00:00Z,0\n"
    "C1,2026-01-02T00:00:00Z,1\n"
    "C2,2026-01-01T06:00:00Z,0\n"
    "C3,2026-01-05T00:00:00Z,0\n";

constexpr char kDefinition[] = R"(entities:
  - name: customer
    join_key: customer_id
sources:
  - name: tx
    dataset: tx
    timestamp: timestamp
feature_views:
  - name: spend
    entity: customer
    source: tx
    ttl: 7d
    features:
      - name: last_amount
        expr: amount
      - name: count_24h
        aggregation: count
        window: 24h
      - name: sum_48h
        aggregation: sum
        expr: amount
        window: 48h
feature_services:
  - name: fraud
    features: [spend]
)";

class FeaturePlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tp_ = std::make_unique<TestPlatform>("feature_platform", &clock_);
    if (HasFailure()) return;
    platform_ = &tp_->platform();
    admin_ = tp_->admin();
    MustCall(admin_, "project.create", {{"name", "cards"}});
    MustCall(admin_, "project.create", {{"name", "other"}});
    dana_ = MakeUser("dana", "data-scientist", "cards");
    vic_ = MakeUser("vic", "viewer", "cards");
    dex_ = MakeUser("dex", "deployer", "cards");
    val_ = MakeUser("val", "validator", "cards");
    olga_ = MakeUser("olga", "data-scientist", "other");
    ASSERT_TRUE(Register("tx", kTransactions).ok());
  }

  void Reopen() {
    tp_->Reopen();
    platform_ = &tp_->platform();
  }

  StatusOr<Json> Call(const std::string& token, const std::string& op, const Json& req) {
    return tp_->Call(token, op, req);
  }
  Json MustCall(const std::string& token, const std::string& op, const Json& req) {
    return tp_->MustCall(token, op, req);
  }
  std::string MakeUser(const std::string& name, const std::string& role,
                       const std::string& project) {
    return tp_->MakeUser(name, role, project);
  }
  StatusOr<Json> Register(const std::string& name, const std::string& bytes,
                          const Json& tags = Json::object()) {
    return platform_->RegisterDataset(dana_, "cards", name, tags, StringSource(&bytes), "test");
  }
  StatusOr<Json> Apply(const std::string& token, const std::string& definition,
                       bool dry_run = false) {
    Json req = {{"project", "cards"}, {"definition", definition}, {"file", "features.yaml"}};
    if (dry_run) req["dry_run"] = true;
    return Call(token, "features.apply", req);
  }
  Json Get(const std::string& token, const std::string& entity) {
    return MustCall(token, "features.get",
                    {{"project", "cards"}, {"service", "fraud"}, {"entity", entity}});
  }

  FakeClock clock_{1'790'000'000'000'000};
  std::string admin_, dana_, vic_, dex_, val_, olga_;
  std::unique_ptr<TestPlatform> tp_;
  Platform* platform_ = nullptr;
};

TEST_F(FeaturePlatformTest, ApplyIsVersionedDiffedAndIdempotent) {
  auto dry = Apply(dana_, kDefinition, true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_TRUE((*dry)["dry_run"].get<bool>());
  EXPECT_EQ((*dry)["added"], 4);
  EXPECT_EQ(MustCall(vic_, "features.list", {{"project", "cards"}})["seq"], 0);

  auto first = Apply(dana_, kDefinition);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)["seq"], 1);
  EXPECT_EQ((*first)["added"], 4);
  auto again = Apply(dana_, kDefinition);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)["unchanged"].get<bool>());
  EXPECT_EQ((*again)["seq"], 1);
  EXPECT_EQ((*again)["digest"], (*first)["digest"]);

  // A new data version re-pins the source, which changes the view (and so the service).
  ASSERT_TRUE(Register("tx", std::string(kTransactions) + "C2,2026-01-04T00:00:00Z,7,chip\n").ok());
  auto second = Apply(dana_, kDefinition);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)["seq"], 2);
  std::map<std::string, std::string> change;
  for (const auto& c : (*second)["changes"]) change[c["name"]] = c["change"];
  EXPECT_EQ(change["customer"], "unchanged");
  EXPECT_EQ(change["tx"], "changed");
  EXPECT_EQ(change["spend"], "changed");
  EXPECT_EQ(change["fraud"], "changed");

  Json list = MustCall(vic_, "features.list", {{"project", "cards"}});
  ASSERT_EQ(list["views"].size(), 1u);
  EXPECT_EQ(list["views"][0]["features"], 3);
  EXPECT_TRUE(list["views"][0]["online"].is_null());
  Json show = MustCall(vic_, "features.show", {{"project", "cards"}, {"name", "spend"}});
  EXPECT_EQ(show["versions"].size(), 2u);
}

TEST_F(FeaturePlatformTest, ApplyRefusesWrongRolesBadExpressionsAndMissingData) {
  auto viewer = Apply(vic_, kDefinition);
  EXPECT_TRUE(absl::IsPermissionDenied(viewer.status())) << viewer.status();
  auto outsider =
      Call(olga_, "features.apply", {{"project", "cards"}, {"definition", kDefinition}});
  EXPECT_TRUE(absl::IsNotFound(outsider.status())) << outsider.status();

  std::string bad_expr = kDefinition;
  bad_expr.replace(bad_expr.find("expr: amount\n"), 12, "expr: amount * rate");
  auto bad = Apply(dana_, bad_expr);
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << bad.status();
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("features.yaml:"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("rate"));

  std::string missing = kDefinition;
  missing.replace(missing.find("dataset: tx"), 11, "dataset: nope");
  auto nodata = Apply(dana_, missing);
  EXPECT_TRUE(absl::IsNotFound(nodata.status())) << nodata.status();
  EXPECT_THAT(std::string(nodata.status().message()), HasSubstr("source 'tx'"));
  // Nothing was applied by any of these.
  EXPECT_EQ(MustCall(vic_, "features.list", {{"project", "cards"}})["seq"], 0);
}

TEST_F(FeaturePlatformTest, TrainingSetUsesOnlyThePastAndIsRecordedWithLineage) {
  ASSERT_TRUE(Apply(dana_, kDefinition).ok());
  auto spine = Register("labels", kSpine, {{"target", "label"}, {"timestamp", "timestamp"}});
  ASSERT_TRUE(spine.ok()) << spine.status();
  auto built = Call(dana_, "features.training_set",
                    {{"project", "cards"}, {"service", "fraud"}, {"spine", "labels"}});
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ((*built)["name"], "fraud_training");
  EXPECT_EQ((*built)["num_rows"], 4);
  EXPECT_EQ((*built)["num_columns"], 6);

  std::string csv;
  ASSERT_TRUE(platform_->artifacts()
                  .Get((*built)["file_digest"].get<std::string>(), StringSink(&csv))
                  .ok());
  // Hand-computed: strictly before each spine time; windows (t - w, t).
  EXPECT_EQ(csv,
            "customer_id,timestamp,label,last_amount,count_24h,sum_48h\n"
            "C1,2026-01-01T12:00:00.000000Z,0,10,1,10\n"
            "C1,2026-01-02T00:00:00.000000Z,1,20,1,30\n"
            "C2,2026-01-01T06:00:00.000000Z,0,,0,0\n"
            "C3,2026-01-05T00:00:00.000000Z,0,,0,0\n");

  // The training set is a data set version, tagged from the spine.
  Json shown = MustCall(vic_, "data.show", {{"project", "cards"}, {"name", "fraud_training"}});
  EXPECT_EQ(shown["tags"]["target"], "label");
  EXPECT_EQ(shown["tags"]["entity"], "customer_id");

  // Lineage from the source data: view, training set, recorded output.
  Json lineage = MustCall(vic_, "lineage.show", {{"project", "cards"}, {"ref", "dataset/tx"}});
  std::set<std::string> kinds;
  for (const auto& n : lineage["nodes"]) kinds.insert(n["kind"]);
  EXPECT_TRUE(kinds.count("feature_view"));
  EXPECT_TRUE(kinds.count("training_set"));
  EXPECT_TRUE(kinds.count("dataset"));
  Json up =
      MustCall(vic_, "lineage.show", {{"project", "cards"}, {"ref", "dataset/fraud_training"}});
  std::set<std::string> refs;
  for (const auto& n : up["nodes"]) refs.insert(n["ref"]);
  EXPECT_TRUE(refs.count("dataset/labels@" + (*spine)["version"].get<std::string>()));

  // Viewers may not build training sets; another project's service does not exist.
  auto viewer = Call(vic_, "features.training_set",
                     {{"project", "cards"}, {"service", "fraud"}, {"spine", "labels"}});
  EXPECT_TRUE(absl::IsPermissionDenied(viewer.status())) << viewer.status();
  auto missing = Call(dana_, "features.training_set",
                      {{"project", "cards"}, {"service", "nope"}, {"spine", "labels"}});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
}

TEST_F(FeaturePlatformTest, SourcesRequiringValidationAreGated) {
  std::string gated = kDefinition;
  gated.replace(gated.find("    timestamp: timestamp\n"), 25,
                "    timestamp: timestamp\n    require_validation: true\n");
  ASSERT_TRUE(Apply(dana_, gated).ok());
  ASSERT_TRUE(Register("labels", kSpine).ok());
  Json req = {{"project", "cards"}, {"service", "fraud"}, {"spine", "labels"}};
  auto refused = Call(dana_, "features.training_set", req);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("plinth data validate tx@"));
  auto materialize = Call(dex_, "features.materialize", {{"project", "cards"}, {"name", "spend"}});
  EXPECT_TRUE(absl::IsFailedPrecondition(materialize.status())) << materialize.status();

  MustCall(
      val_, "data.validate",
      {{"project", "cards"},
       {"name", "tx"},
       {"suite",
        "name: basic\nexpectations:\n  - id: amount\n    column: amount\n    not_null: true\n"}});
  auto built = Call(dana_, "features.training_set", req);
  ASSERT_TRUE(built.ok()) << built.status();
  EXPECT_EQ((*built)["views"][0]["validations"].size(), 1u);
}

TEST_F(FeaturePlatformTest, MaterializeIsIncrementalAndOnlineReadsSurviveARestart) {
  ASSERT_TRUE(Apply(dana_, kDefinition).ok());
  auto viewer = Call(vic_, "features.materialize",
                     {{"project", "cards"}, {"name", "spend"}, {"until", "2026-01-02T00:00:00Z"}});
  EXPECT_TRUE(absl::IsPermissionDenied(viewer.status())) << viewer.status();
  Json first =
      MustCall(dex_, "features.materialize",
               {{"project", "cards"}, {"name", "spend"}, {"until", "2026-01-02T00:00:00Z"}});
  EXPECT_FALSE(first["incremental"].get<bool>());
  EXPECT_EQ(first["entities"], 2);
  // As of the materialization time, everything known at that time counts (ts <= until).
  Json c1 = Get(vic_, "C1");
  EXPECT_EQ(c1["features"]["last_amount"], 20.0);
  EXPECT_EQ(c1["features"]["count_24h"], 1);
  EXPECT_EQ(c1["features"]["sum_48h"], 30.0);
  Json c2 = Get(vic_, "C2");
  EXPECT_EQ(c2["features"]["last_amount"], 5.0);
  EXPECT_EQ(c2["features"]["count_24h"], 1);

  Json second =
      MustCall(dana_, "features.materialize",
               {{"project", "cards"}, {"name", "spend"}, {"until", "2026-01-03T00:00:00Z"}});
  EXPECT_TRUE(second["incremental"].get<bool>());
  c1 = Get(vic_, "C1");
  EXPECT_EQ(c1["features"]["last_amount"], 40.0);
  EXPECT_EQ(c1["features"]["count_24h"], 1);
  EXPECT_EQ(c1["features"]["sum_48h"], 60.0);
  c2 = Get(vic_, "C2");
  EXPECT_EQ(c2["features"]["last_amount"], 5.0);  // within the 7-day ttl
  EXPECT_EQ(c2["features"]["count_24h"], 0);      // its only row left the window
  EXPECT_EQ(c2["features"]["sum_48h"], 5.0);

  auto backwards =
      Call(dana_, "features.materialize",
           {{"project", "cards"}, {"name", "spend"}, {"until", "2026-01-02T00:00:00Z"}});
  EXPECT_EQ(backwards.status().code(), absl::StatusCode::kInvalidArgument) << backwards.status();

  Json unknown = Get(vic_, "C9");
  EXPECT_TRUE(unknown["features"]["last_amount"].is_null());

  Reopen();
  c1 = Get(vic_, "C1");
  EXPECT_EQ(c1["features"]["sum_48h"], 60.0);
  Json show = MustCall(vic_, "features.show", {{"project", "cards"}, {"name", "spend"}});
  EXPECT_EQ(show["materializations"].size(), 2u);
  auto outsider =
      Call(olga_, "features.get", {{"project", "cards"}, {"service", "fraud"}, {"entity", "C1"}});
  EXPECT_TRUE(absl::IsNotFound(outsider.status())) << outsider.status();
}

TEST_F(FeaturePlatformTest, ProtectedAttributesAreNotFeaturesUnlessAllowed) {
  // channel is a protected attribute here, amount personal data.
  ASSERT_TRUE(Register("txp", kTransactions, {{"protected", "channel"}, {"pii", "amount"}}).ok());
  std::string definition = kDefinition;
  definition.replace(definition.find("dataset: tx"), 11, "dataset: txp");
  definition.replace(definition.find("      - name: count_24h"), 0,
                     "      - name: last_channel\n        expr: channel\n");
  auto refused = Apply(dana_, definition);
  ASSERT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("features.yaml:16:9: feature_views spend, feature last_channel: reads "
                        "'channel', a protected attribute"));
  EXPECT_EQ(MustCall(vic_, "features.list", {{"project", "cards"}})["seq"], 0);

  definition.replace(definition.find("    timestamp: timestamp\n"), 25,
                     "    timestamp: timestamp\n    allow_protected: [channel]\n");
  auto allowed = Apply(dana_, definition);
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  ASSERT_EQ((*allowed)["protected_uses"].size(), 1u);
  EXPECT_EQ((*allowed)["protected_uses"][0]["column"], "channel");

  // The training set carries the tags: a feature of a protected column is protected, one of a
  // PII column is PII.
  ASSERT_TRUE(Register("labels", kSpine).ok());
  ASSERT_TRUE(Call(dana_, "features.training_set",
                   {{"project", "cards"}, {"service", "fraud"}, {"spine", "labels"}})
                  .ok());
  Json shown = MustCall(vic_, "data.show", {{"project", "cards"}, {"name", "fraud_training"}});
  EXPECT_EQ(shown["tags"]["protected"], Json::array({"last_channel"}));
  EXPECT_EQ(shown["tags"]["pii"], Json::array({"last_amount", "sum_48h"}));
}

TEST_F(FeaturePlatformTest, ChangesAreAudited) {
  ASSERT_TRUE(Apply(dana_, kDefinition).ok());
  MustCall(dex_, "features.materialize",
           {{"project", "cards"}, {"name", "spend"}, {"until", "2026-01-02T00:00:00Z"}});
  ASSERT_FALSE(Apply(vic_, kDefinition).ok());
  std::ostringstream out;
  ASSERT_TRUE(platform_->audit().Export(platform_->store(), out).ok());
  std::map<std::string, std::vector<std::string>> outcomes;
  std::istringstream in(out.str());
  std::string line;
  while (std::getline(in, line)) {
    Json j = Json::parse(line);
    if (j.contains("action")) outcomes[j["action"]].push_back(j["outcome"]);
  }
  EXPECT_THAT(outcomes["features.apply"], ::testing::ElementsAre("ok", "denied"));
  EXPECT_THAT(outcomes["features.materialize"], ::testing::ElementsAre("ok"));
}

}  // namespace
}  // namespace plinth
