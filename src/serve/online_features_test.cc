#include "serve/online_features.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "features/feature_compute.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000LL * 1000000;

// customer_spend: C1 spent 120.5 over 3 payments, C2 has a null mean; merchant_risk by merchant.
Table SpendTable(double c1_mean) {
  Table t;
  Column entity(kOnlineEntityColumn, ColumnType::kString);
  Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  Column count("txn_count_7d", ColumnType::kInt64);
  Column mean("mean_amount_30d", ColumnType::kFloat64);
  Column channel("last_channel", ColumnType::kString);
  entity.AppendString("C1");
  event_time.AppendInt64(kT0);
  count.AppendInt64(3);
  mean.AppendFloat64(c1_mean);
  channel.AppendString("web");
  entity.AppendString("C2");
  event_time.AppendInt64(kT0);
  count.AppendInt64(1);
  mean.AppendNull();
  channel.AppendString("pos");
  for (Column* c : {&entity, &event_time, &count, &mean, &channel}) {
    EXPECT_TRUE(t.AddColumn(std::move(*c)).ok());
  }
  return t;
}

// A view state of one entity with one feature, a float64 value or (integral) an int64 one.
Table OneEntityTable(const std::string& entity_key, const std::string& feature, double value,
                     bool integral = false) {
  Table t;
  Column entity(kOnlineEntityColumn, ColumnType::kString);
  Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  Column column(feature, integral ? ColumnType::kInt64 : ColumnType::kFloat64);
  entity.AppendString(entity_key);
  event_time.AppendInt64(kT0);
  if (integral) {
    column.AppendInt64(static_cast<int64_t>(value));
  } else {
    column.AppendFloat64(value);
  }
  for (Column* c : {&entity, &event_time, &column}) EXPECT_TRUE(t.AddColumn(std::move(*c)).ok());
  return t;
}

Table MerchantTable() { return OneEntityTable("M9", "fraud_rate_30d", 0.25); }

class OnlineFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "online-features-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    store_ = std::make_unique<LocalOnlineStore>(dir_);
    ASSERT_TRUE(Materialize("customer_spend", "v1", SpendTable(40.0)).ok());
    ASSERT_TRUE(Materialize("merchant_risk", "m1", MerchantTable()).ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Status Materialize(const std::string& view, const std::string& version, Table values) {
    OnlineView v;
    v.project = "fraud";
    v.view = view;
    v.view_version = version;
    v.until = kT0;
    v.materialized_at = kT0;
    v.values = std::move(values);
    return store_->Write(std::move(v));
  }
  static Json SpecJson() {
    return {{"project", "fraud"},
            {"service", "fraud_detection"},
            {"training_set", "fraud_training_set@1"},
            {"features",
             {{{"view", "customer_spend"}, {"feature", "txn_count_7d"}},
              {{"view", "customer_spend"}, {"feature", "mean_amount_30d"}},
              {{"view", "customer_spend"}, {"feature", "last_channel"}},
              {{"view", "merchant_risk"}, {"feature", "fraud_rate_30d"}}}},
            {"views",
             {{{"view", "customer_spend"}, {"key", "customer_id"}, {"version", "v1"}},
              {{"view", "merchant_risk"}, {"key", "merchant_id"}, {"version", "m1"}}}}};
  }
  StatusOr<std::shared_ptr<OnlineFeatures>> Create(const std::vector<std::string>& inputs) {
    ASSIGN_OR_RETURN(OnlineFeatureSpec spec, OnlineFeatureSpecFromJson(SpecJson()));
    std::shared_ptr<OnlineFeatures> f = OnlineFeatures::Create(store_.get(), spec, inputs);
    RETURN_IF_ERROR(f->status());
    return f;
  }

  std::string dir_;
  std::unique_ptr<LocalOnlineStore> store_;
};

TEST_F(OnlineFeaturesTest, FillsOnlyWhatTheRowLeavesOutByEachViewsKey) {
  auto f = Create({"amount", "txn_count_7d", "mean_amount_30d", "last_channel", "fraud_rate_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->keys(), (std::vector<std::string>{"customer_id", "merchant_id"}));
  std::vector<Json> rows = {
      {{"customer_id", "C1"}, {"merchant_id", "M9"}, {"amount", 10.0}},
      // A value the row gives wins over the store's, a null (a missing value) too.
      {{"customer_id", "C1"},
       {"merchant_id", "M9"},
       {"txn_count_7d", 99},
       {"last_channel", nullptr}},
  };
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["txn_count_7d"], 3);
  EXPECT_EQ(rows[0]["mean_amount_30d"], 40.0);
  EXPECT_EQ(rows[0]["last_channel"], "web");
  EXPECT_EQ(rows[0]["fraud_rate_30d"], 0.25);
  EXPECT_EQ(rows[0]["amount"], 10.0);
  EXPECT_EQ(rows[1]["txn_count_7d"], 99);
  EXPECT_TRUE(rows[1]["last_channel"].is_null());
  EXPECT_EQ(rows[1]["mean_amount_30d"], 40.0);
}

TEST_F(OnlineFeaturesTest, UnknownEntityGetsNullsAndCountsAMiss) {
  auto f = Create({"txn_count_7d", "mean_amount_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  // Only customer_spend is read: the model takes no merchant feature, so no merchant key.
  EXPECT_EQ((*f)->keys(), std::vector<std::string>{"customer_id"});
  std::vector<Json> rows = {{{"customer_id", "nobody"}}, {{"customer_id", "C2"}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_TRUE(rows[0]["txn_count_7d"].is_null());
  EXPECT_TRUE(rows[0]["mean_amount_30d"].is_null());
  EXPECT_EQ(rows[1]["txn_count_7d"], 1);
  EXPECT_TRUE(rows[1]["mean_amount_30d"].is_null());
  const std::string m = (*f)->Metrics("fraud", 2);
  EXPECT_NE(m.find("plinth_feature_lookups_total{model=\"fraud\",version=\"2\"} 2\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("plinth_feature_lookup_misses_total{model=\"fraud\",version=\"2\"} 1\n"),
            std::string::npos)
      << m;
}

TEST_F(OnlineFeaturesTest, IntegerKeysAreLookedUpAsText) {
  Table t = SpendTable(1.0);
  ASSERT_TRUE(Materialize("customer_spend", "v1", std::move(t)).ok());
  Table numeric = OneEntityTable("1042", "txn_count_7d", 7, /*integral=*/true);
  ASSERT_TRUE(Materialize("customer_spend", "v1", std::move(numeric)).ok());
  auto f = Create({"txn_count_7d"});
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<Json> rows = {{{"customer_id", 1042}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["txn_count_7d"], 7);
}

TEST_F(OnlineFeaturesTest, ARowWithoutItsKeyIsRefusedNamingTheKeyAndTheFeatures) {
  auto f = Create({"amount", "txn_count_7d", "fraud_rate_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<Json> rows = {{{"customer_id", "C1"}, {"merchant_id", "M9"}},
                            {{"customer_id", "C1"}, {"amount", 3.0}}};
  Status s = (*f)->Fill(&rows);
  ASSERT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("row 1: needs 'merchant_id'"), std::string::npos) << s;
  EXPECT_NE(s.message().find("merchant_risk"), std::string::npos) << s;
  EXPECT_NE(s.message().find("fraud_rate_30d"), std::string::npos) << s;
  // A row giving every feature needs no key.
  std::vector<Json> full = {{{"txn_count_7d", 1}, {"fraud_rate_30d", 0.5}}};
  EXPECT_TRUE((*f)->Fill(&full).ok());
  std::vector<Json> bad = {{{"customer_id", 1.5}, {"merchant_id", "M9"}}};
  s = (*f)->Fill(&bad);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("must be a string or an integer"), std::string::npos) << s;
}

TEST_F(OnlineFeaturesTest, RefreshPicksUpANewMaterialization) {
  auto f = Create({"mean_amount_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  std::vector<Json> rows = {{{"customer_id", "C1"}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["mean_amount_30d"], 40.0);
  ASSERT_TRUE(Materialize("customer_spend", "v1", SpendTable(55.0)).ok());
  // Until refreshed, the lookup keeps the state it holds.
  rows = {{{"customer_id", "C1"}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["mean_amount_30d"], 40.0);
  ASSERT_TRUE((*f)->Refresh().ok());
  rows = {{{"customer_id", "C1"}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["mean_amount_30d"], 55.0);
}

TEST_F(OnlineFeaturesTest, AViewMaterializedWithAnotherDefinitionIsRefused) {
  ASSERT_TRUE(Materialize("customer_spend", "v2", SpendTable(70.0)).ok());
  auto spec = OnlineFeatureSpecFromJson(SpecJson());
  ASSERT_TRUE(spec.ok());
  auto f = OnlineFeatures::Create(store_.get(), *spec, {"amount", "mean_amount_30d"});
  Status s = f->status();
  ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("view version v2, but the model was trained on v1"), std::string::npos)
      << s;
  EXPECT_NE(s.message().find("fraud_training_set@1"), std::string::npos);
  // Rows needing a lookup are refused with why; rows giving their features still score.
  std::vector<Json> rows = {{{"customer_id", "C1"}}};
  s = f->Fill(&rows);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("trained on v1"), std::string::npos) << s;
  rows = {{{"amount", 1.0}, {"mean_amount_30d", 2.0}}};
  EXPECT_TRUE(f->Fill(&rows).ok());
  // Materialized again with the trained definition: served from the next refresh.
  ASSERT_TRUE(Materialize("customer_spend", "v1", SpendTable(45.0)).ok());
  ASSERT_TRUE(f->Refresh().ok());
  rows = {{{"customer_id", "C1"}}};
  ASSERT_TRUE(f->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["mean_amount_30d"], 45.0);
}

TEST_F(OnlineFeaturesTest, ARedefinedViewLeavesTheOldValuesServingAndMarksThemStale) {
  auto f = Create({"mean_amount_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE(Materialize("customer_spend", "v2", SpendTable(70.0)).ok());
  Status s = (*f)->Refresh();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  std::vector<Json> rows = {{{"customer_id", "C1"}}};
  ASSERT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["mean_amount_30d"], 40.0);
  EXPECT_NE((*f)->Metrics("fraud", 1)
                .find("plinth_feature_lookup_stale{model=\"fraud\","
                      "version=\"1\"} 1"),
            std::string::npos);
}

TEST_F(OnlineFeaturesTest, AViewNeverMaterializedIsNotFoundUntilItIs) {
  Json spec = SpecJson();
  spec["features"].push_back({{"view", "device_risk"}, {"feature", "score"}});
  spec["views"].push_back({{"view", "device_risk"}, {"key", "device_id"}, {"version", "d1"}});
  auto parsed = OnlineFeatureSpecFromJson(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto f = OnlineFeatures::Create(store_.get(), *parsed, {"score"});
  EXPECT_TRUE(absl::IsNotFound(f->status())) << f->status();
  EXPECT_EQ(f->keys(), std::vector<std::string>{"device_id"});
  std::vector<Json> rows = {{{"device_id", "D1"}}};
  EXPECT_TRUE(absl::IsUnavailable(f->Fill(&rows)));
  Table t = OneEntityTable("D1", "score", 0.75);
  ASSERT_TRUE(Materialize("device_risk", "d1", std::move(t)).ok());
  ASSERT_TRUE(f->Refresh().ok());
  ASSERT_TRUE(f->Fill(&rows).ok());
  EXPECT_EQ(rows[0]["score"], 0.75);
}

TEST_F(OnlineFeaturesTest, AModelTakingNoServiceFeatureLooksNothingUp) {
  auto f = Create({"amount"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE((*f)->keys().empty());
  std::vector<Json> rows = {{{"amount", 1.0}}};
  EXPECT_TRUE((*f)->Fill(&rows).ok());
  EXPECT_EQ(rows[0], (Json{{"amount", 1.0}}));
}

TEST_F(OnlineFeaturesTest, MalformedSpecsNameTheMember) {
  Json spec = SpecJson();
  spec["views"][1].erase("key");
  auto s = OnlineFeatureSpecFromJson(spec);
  ASSERT_TRUE(absl::IsInvalidArgument(s.status()));
  EXPECT_NE(s.status().message().find("feature_service.views[1]"), std::string::npos);
  spec = SpecJson();
  spec["views"].erase(1);
  s = OnlineFeatureSpecFromJson(spec);
  ASSERT_TRUE(absl::IsInvalidArgument(s.status()));
  EXPECT_NE(s.status().message().find("merchant_risk"), std::string::npos);
}

TEST_F(OnlineFeaturesTest, FillRunsBesideRefreshFromManyThreads) {
  auto f = Create({"txn_count_7d", "mean_amount_30d"});
  ASSERT_TRUE(f.ok()) << f.status();
  std::atomic<bool> bad{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        std::vector<Json> rows = {{{"customer_id", "C1"}}};
        if (!(*f)->Fill(&rows).ok() || rows[0]["txn_count_7d"] != 3) bad = true;
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Materialize("customer_spend", "v1", SpendTable(40.0 + i)).ok());
    ASSERT_TRUE((*f)->Refresh().ok());
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(bad);
}

}  // namespace
}  // namespace plinth
