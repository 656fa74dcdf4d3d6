// The store suite on PostgreSQL (a fresh database per test on the test server that CTest's
// `postgres` fixture starts), and what only PostgreSQL has: a pool of connections that the
// server may close. Without a server these tests fail; they never skip.
#include <string>
#include <thread>
#include <vector>

#include "store/store_test_suite.h"
#include "store/testing/postgres_test_util.h"

namespace plinth {
namespace {

StoreTestBackend PostgresBackend() {
  return {
      "postgresql",
      [] { return CreateTestPostgresDatabase(); },
      [](const std::string& url) {
        Status dropped = DropTestPostgresDatabase(url);
        EXPECT_TRUE(dropped.ok()) << dropped;
      },
  };
}

INSTANTIATE_TEST_SUITE_P(Postgres, MetadataStoreTest, ::testing::Values(PostgresBackend()),
                         [](const auto& info) { return info.param.name; });

class PostgresMetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<std::string> url = CreateTestPostgresDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }
  void TearDown() override {
    if (!url_.empty()) STORE_EXPECT_OK(DropTestPostgresDatabase(url_));
  }

  std::string url_;
};

TEST_F(PostgresMetadataStoreTest, ReconnectsAfterTheServerClosesConnections) {
  StoreOptions options;
  options.pool_size = 2;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                             OpenMetadataStore(url_, options));
  STORE_ASSERT_OK(store->RunInTransaction(
      [](Transaction& tx) { return store_test::InsertProject(tx, "p1", "fraud"); }));
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> admin, OpenMetadataStore(url_));
  int64_t terminated = 0;
  STORE_ASSERT_OK(admin->RunInTransaction([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult result,
                     tx.Query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
    terminated = static_cast<int64_t>(result.rows.size());
    return absl::OkStatus();
  }));
  EXPECT_GE(terminated, 1);
  STORE_EXPECT_OK(store->RunInTransaction(
      [](Transaction& tx) { return store_test::InsertProject(tx, "p2", "credit"); }));
  EXPECT_EQ(store_test::QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 2);
}

TEST_F(PostgresMetadataStoreTest, OneConnectionServesManyCallers) {
  StoreOptions options;
  options.pool_size = 1;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                             OpenMetadataStore(url_, options));
  std::vector<Status> results(4 * 20);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < 20; ++i) {
        const std::string id = std::to_string(w) + "/" + std::to_string(i);
        results[w * 20 + i] = store->RunInTransaction(
            [&](Transaction& tx) { return store_test::InsertProject(tx, id, "name " + id); });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : results) STORE_EXPECT_OK(status);
  EXPECT_EQ(store_test::QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 80);
}

TEST_F(PostgresMetadataStoreTest, NumericAndBooleanResultsAreTyped) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(url_));
  STORE_ASSERT_OK(store->RunReadOnly([](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult result,
                     tx.Query("SELECT CAST(1.5 AS NUMERIC), 1 = 1, CAST(7 AS SMALLINT), "
                              "CAST(0.25 AS REAL), CAST('x' AS VARCHAR)"));
    EXPECT_EQ(result.rows[0], (SqlRow{1.5, int64_t{1}, int64_t{7}, 0.25, "x"}));
    return absl::OkStatus();
  }));
}

}  // namespace
}  // namespace plinth
