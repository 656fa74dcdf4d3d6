// The store suite on SQLite (a fresh file per test), and what only SQLite has: file URLs,
// pragmas that follow the options, and a locked database.
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "store/store_test_suite.h"

namespace plinth {
namespace {

// A new folder under the test temp folder; the store is metadata.db inside it.
std::string NewTempFolder() {
  std::string pattern = ::testing::TempDir() + "plinth_store_XXXXXX";
  char* made = mkdtemp(pattern.data());
  return made == nullptr ? "" : std::string(made);
}

StoreTestBackend SqliteBackend() {
  return {
      "sqlite",
      []() -> StatusOr<std::string> {
        std::string folder = NewTempFolder();
        if (folder.empty()) return absl::InternalError("cannot make a temp folder");
        return "sqlite:" + folder + "/metadata.db";
      },
      [](const std::string& url) {
        std::filesystem::path path(url.substr(std::string("sqlite:").size()));
        std::error_code ignored;
        std::filesystem::remove_all(path.parent_path(), ignored);
      },
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, MetadataStoreTest, ::testing::Values(SqliteBackend()),
                         [](const auto& info) { return info.param.name; });

class SqliteMetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = NewTempFolder();
    ASSERT_FALSE(folder_.empty());
    path_ = folder_ + "/metadata.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }

  std::string folder_;
  std::string path_;
};

StatusOr<SqlValue> Pragma(MetadataStore& store, const std::string& pragma) {
  SqlValue value;
  RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult result, tx.Query("PRAGMA " + pragma));
    if (result.rows.empty()) return absl::NotFoundError("no value for PRAGMA " + pragma);
    value = result.rows[0][0];
    return absl::OkStatus();
  }));
  return value;
}

TEST_F(SqliteMetadataStoreTest, PlainPathAndSqliteUrlOpenTheSameFile) {
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(path_));
    EXPECT_EQ(store->backend(), "sqlite");
    STORE_ASSERT_OK(store->RunInTransaction(
        [](Transaction& tx) { return store_test::InsertProject(tx, "p1", "fraud"); }));
  }
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                             OpenMetadataStore("sqlite:" + path_));
  EXPECT_EQ(store_test::QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 1);
}

TEST_F(SqliteMetadataStoreTest, PragmasFollowTheOptions) {
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(path_));
    EXPECT_EQ(Pragma(*store, "journal_mode").value(), SqlValue("wal"));
    EXPECT_EQ(Pragma(*store, "foreign_keys").value(), SqlValue(int64_t{1}));
    EXPECT_EQ(Pragma(*store, "synchronous").value(), SqlValue(int64_t{2}));  // FULL
  }
  StoreOptions options;
  options.durable = false;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                             OpenMetadataStore(path_, options));
  EXPECT_EQ(Pragma(*store, "synchronous").value(), SqlValue(int64_t{1}));  // NORMAL
}

TEST_F(SqliteMetadataStoreTest, ALockHeldPastTheBusyTimeoutIsUnavailable) {
  StoreOptions options;
  options.busy_timeout_ms = 100;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                             OpenMetadataStore(path_, options));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  Status blocked = store->RunInTransaction(
      [](Transaction& tx) { return store_test::InsertProject(tx, "p1", "fraud"); });
  EXPECT_EQ(blocked.code(), absl::StatusCode::kUnavailable) << blocked;
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_EQ(store_test::QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_close(other), SQLITE_OK);
  STORE_EXPECT_OK(store->RunInTransaction(
      [](Transaction& tx) { return store_test::InsertProject(tx, "p1", "fraud"); }));
}

TEST_F(SqliteMetadataStoreTest, AFileInAMissingFolderCannotBeOpened) {
  StatusOr<std::unique_ptr<MetadataStore>> store =
      OpenMetadataStore(folder_ + "/no/such/folder/metadata.db");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal) << store.status();
}

TEST_F(SqliteMetadataStoreTest, MoreThanOneStatementInAQueryIsRefused) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(path_));
  Status status = store->RunInTransaction(
      [](Transaction& tx) { return tx.Execute("SELECT 1; DELETE FROM projects"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

}  // namespace
}  // namespace plinth
