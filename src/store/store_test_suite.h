// The metadata store's test suite, written once and run on every backend: each backend's test
// file instantiates MetadataStoreTest with a StoreTestBackend that makes fresh, empty stores.
// Include this header from exactly one .cc per test binary.
#ifndef PLINTH_STORE_STORE_TEST_SUITE_H_
#define PLINTH_STORE_STORE_TEST_SUITE_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/metadata_store.h"
#include "store/store_backend.h"

namespace plinth {

// How the suite gets stores of one backend.
struct StoreTestBackend {
  // "sqlite" or "postgresql", as MetadataStore::backend() says.
  std::string name;
  // The URL of a new, empty store (a fresh file or database), or why there is none.
  std::function<StatusOr<std::string>()> new_store_url;
  // Removes what new_store_url made; may be empty.
  std::function<void(const std::string& url)> remove_store;
};

inline void PrintTo(const StoreTestBackend& backend, std::ostream* out) { *out << backend.name; }

namespace store_test {

inline const Status& StatusOf(const Status& status) { return status; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& status_or) {
  return status_or.status();
}

#define STORE_ASSERT_OK(expr)                                            \
  do {                                                                   \
    const auto& store_assert_value = (expr);                             \
    ASSERT_TRUE(::plinth::store_test::StatusOf(store_assert_value).ok()) \
        << ::plinth::store_test::StatusOf(store_assert_value);           \
  } while (0)

#define STORE_EXPECT_OK(expr)                                            \
  do {                                                                   \
    const auto& store_expect_value = (expr);                             \
    EXPECT_TRUE(::plinth::store_test::StatusOf(store_expect_value).ok()) \
        << ::plinth::store_test::StatusOf(store_expect_value);           \
  } while (0)

#define STORE_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  STORE_ASSERT_OK_AND_ASSIGN_IMPL_(PLINTH_CONCAT_(store_statusor_, __LINE__), lhs, expr)
#define STORE_ASSERT_OK_AND_ASSIGN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                     \
  ASSERT_TRUE(var.ok()) << var.status();                 \
  lhs = std::move(var).value()

// The first cell of `sql`'s result, read in its own read-only transaction.
inline StatusOr<int64_t> QueryInt(MetadataStore& store, const std::string& sql,
                                  const std::vector<SqlValue>& params = {}) {
  int64_t value = 0;
  RETURN_IF_ERROR(store.RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult result, tx.Query(sql, params));
    ASSIGN_OR_RETURN(value, result.Int(0, 0));
    return absl::OkStatus();
  }));
  return value;
}

inline Status ExecuteInTransaction(MetadataStore& store, const std::string& sql,
                                   const std::vector<SqlValue>& params = {}) {
  return store.RunInTransaction([&](Transaction& tx) { return tx.Execute(sql, params); });
}

inline Status InsertProject(Transaction& tx, const std::string& id, const std::string& name) {
  return tx.Execute("INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
                    {id, name, int64_t{1700000000000000}, std::string("test")});
}

}  // namespace store_test

class MetadataStoreTest : public ::testing::TestWithParam<StoreTestBackend> {
 protected:
  void SetUp() override {
    StatusOr<std::string> url = GetParam().new_store_url();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
  }

  void TearDown() override {
    if (!url_.empty() && GetParam().remove_store) GetParam().remove_store(url_);
  }

  StatusOr<std::unique_ptr<MetadataStore>> Open(const StoreOptions& options = {}) {
    return OpenMetadataStore(url_, options);
  }

  // A table for tests that do not need the platform's schema.
  static Status CreateItems(MetadataStore& store) {
    return store_test::ExecuteInTransaction(
        store, "CREATE TABLE items (id TEXT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, note TEXT)");
  }

  static Status InsertItem(Transaction& tx, const std::string& id, int64_t n) {
    return tx.Execute("INSERT INTO items (id, n) VALUES (?, ?)", {id, n});
  }

  std::string url_;
};

using store_test::ExecuteInTransaction;
using store_test::InsertProject;
using store_test::QueryInt;

TEST_P(MetadataStoreTest, MigrationsCreateTheSchema) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(store->backend(), GetParam().name);
  EXPECT_EQ(store->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(QueryInt(*store, "SELECT version FROM plinth_schema").value(), LatestSchemaVersion());
  for (const char* table : {"projects", "users", "role_bindings", "tokens", "artifacts",
                            "audit_records", "audit_checkpoints"}) {
    StatusOr<int64_t> rows = QueryInt(*store, std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_TRUE(rows.ok()) << table << ": " << rows.status();
    EXPECT_EQ(*rows, 0) << table;
  }
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM audit_head WHERE seq = 0").value(), 1);
}

TEST_P(MetadataStoreTest, ReopeningIsANoOp) {
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    STORE_ASSERT_OK(
        store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); }));
  }
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(store->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM plinth_schema").value(), 1);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM audit_head").value(), 1);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects WHERE name = ?", {"fraud"}).value(), 1);
}

TEST_P(MetadataStoreTest, NewerSchemaIsRefusedAndLeftUntouched) {
  const int newer = LatestSchemaVersion() + 1;
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    STORE_ASSERT_OK(store->RunInTransaction([&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(InsertProject(tx, "p1", "from-the-future"));
      return tx.Execute("UPDATE plinth_schema SET version = ?", {int64_t{newer}});
    }));
  }
  const std::string expected = "metadata store schema version " + std::to_string(newer) +
                               " is newer than this build of plinth supports (" +
                               std::to_string(LatestSchemaVersion()) + "); upgrade plinth";
  StatusOr<std::unique_ptr<MetadataStore>> refused = Open();
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_EQ(std::string(refused.status().message()), expected);
  StatusOr<std::unique_ptr<MetadataStore>> refused_at_zero = OpenMetadataStoreAtVersion(url_, 0);
  EXPECT_EQ(refused_at_zero.status().code(), absl::StatusCode::kFailedPrecondition);

  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<StoreBackend> raw, OpenStoreBackend(url_, {}));
  EXPECT_EQ(QueryInt(*raw, "SELECT version FROM plinth_schema").value(), newer);
  EXPECT_EQ(QueryInt(*raw, "SELECT COUNT(*) FROM plinth_schema").value(), 1);
  EXPECT_EQ(QueryInt(*raw, "SELECT COUNT(*) FROM projects WHERE id = ?", {"p1"}).value(), 1);
}

TEST_P(MetadataStoreTest, MigratesForwardFromVersionZero) {
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store,
                               OpenMetadataStoreAtVersion(url_, 0));
    EXPECT_EQ(store->schema_version(), 0);
    EXPECT_EQ(QueryInt(*store, "SELECT version FROM plinth_schema").value(), 0);
    EXPECT_FALSE(QueryInt(*store, "SELECT COUNT(*) FROM projects").ok());
  }
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(store->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(QueryInt(*store, "SELECT version FROM plinth_schema").value(), LatestSchemaVersion());
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
}

TEST_P(MetadataStoreTest, OpeningAtAnUnknownVersionIsInvalid) {
  EXPECT_EQ(OpenMetadataStoreAtVersion(url_, LatestSchemaVersion() + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenMetadataStoreAtVersion(url_, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(MetadataStoreTest, ConcurrentOpensMigrateOnce) {
  constexpr int kOpeners = 4;
  std::vector<Status> results(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { results[i] = OpenMetadataStore(url_).status(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& status : results) STORE_EXPECT_OK(status);
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM plinth_schema").value(), 1);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM audit_head").value(), 1);
}

TEST_P(MetadataStoreTest, CommitsWhenTheFunctionReturnsOk) {
  {
    STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
    STORE_ASSERT_OK(store->RunInTransaction([](Transaction& tx) -> Status {
      RETURN_IF_ERROR(InsertProject(tx, "p1", "fraud"));
      return InsertProject(tx, "p2", "credit");
    }));
    EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 2);
  }
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 2);
}

TEST_P(MetadataStoreTest, RollsBackWhenTheFunctionFails) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status status = store->RunInTransaction([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(InsertProject(tx, "p1", "fraud"));
    return absl::AbortedError("planned failure");
  });
  EXPECT_EQ(status, absl::AbortedError("planned failure"));
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
}

TEST_P(MetadataStoreTest, RollsBackWhenTheFunctionThrows) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  EXPECT_THROW(store->RunInTransaction([](Transaction& tx) -> Status {
    Status inserted = InsertProject(tx, "p1", "fraud");
    if (inserted.ok()) throw std::runtime_error("planned exception");
    return inserted;
  }),
               std::runtime_error);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
  STORE_EXPECT_OK(
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); }));
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 1);
}

TEST_P(MetadataStoreTest, UniqueViolationIsAlreadyExists) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); }));
  Status same_id =
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "other"); });
  EXPECT_EQ(same_id.code(), absl::StatusCode::kAlreadyExists) << same_id;
  Status same_name =
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p2", "fraud"); });
  EXPECT_EQ(same_name.code(), absl::StatusCode::kAlreadyExists) << same_name;
  EXPECT_NE(std::string(same_name.message()).find("INSERT INTO projects"), std::string::npos)
      << same_name;
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 1);
}

TEST_P(MetadataStoreTest, ForeignKeyViolationIsFailedPrecondition) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status status = store->RunInTransaction([](Transaction& tx) {
    return tx.Execute(
        "INSERT INTO tokens (id, user_id, token_hash, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?)",
        {"t1", "no-such-user", "h1", int64_t{1}, "test"});
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM tokens").value(), 0);
}

TEST_P(MetadataStoreTest, DeferredConstraintViolationIsFailedPrecondition) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(ExecuteInTransaction(*store, "CREATE TABLE parents (id BIGINT PRIMARY KEY)"));
  STORE_ASSERT_OK(
      ExecuteInTransaction(*store,
                           "CREATE TABLE children (id BIGINT PRIMARY KEY, "
                           "parent BIGINT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"));
  Status status = store->RunInTransaction([](Transaction& tx) {
    return tx.Execute("INSERT INTO children (id, parent) VALUES (?, ?)", {int64_t{1}, int64_t{9}});
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  STORE_EXPECT_OK(store->RunInTransaction([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO children (id, parent) VALUES (?, ?)", {int64_t{2}, int64_t{8}}));
    return tx.Execute("INSERT INTO parents (id) VALUES (?)", {int64_t{8}});
  }));
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM children").value(), 1);
}

TEST_P(MetadataStoreTest, AFailedStatementAbortsTheTransaction) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); }));
  Status after_failure;
  Status status = store->RunInTransaction([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(InsertProject(tx, "p2", "credit"));
    Status duplicate = InsertProject(tx, "p1", "fraud");
    EXPECT_EQ(duplicate.code(), absl::StatusCode::kAlreadyExists);
    after_failure = InsertProject(tx, "p3", "aml");
    return absl::OkStatus();  // wrongly ignores the failure
  });
  EXPECT_EQ(after_failure.code(), absl::StatusCode::kFailedPrecondition) << after_failure;
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 1);
}

TEST_P(MetadataStoreTest, TransactionControlInsideAFunctionIsRefused) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status status = store->RunInTransaction([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(InsertProject(tx, "p1", "fraud"));
    return tx.Execute("  commit");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
}

TEST_P(MetadataStoreTest, NestedTransactionsAreRefused) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status nested_write;
  Status nested_read;
  STORE_ASSERT_OK(store->RunInTransaction([&](Transaction& tx) {
    nested_write = store->RunInTransaction([](Transaction&) { return absl::OkStatus(); });
    nested_read = store->RunReadOnly([](Transaction&) { return absl::OkStatus(); });
    return absl::OkStatus();
  }));
  EXPECT_EQ(nested_write.code(), absl::StatusCode::kFailedPrecondition) << nested_write;
  EXPECT_EQ(nested_read.code(), absl::StatusCode::kFailedPrecondition) << nested_read;
}

TEST_P(MetadataStoreTest, EveryValueTypeRoundTrips) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(ExecuteInTransaction(
      *store,
      "CREATE TABLE value_rows (id BIGINT PRIMARY KEY, t TEXT, i BIGINT, d DOUBLE PRECISION)"));
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<SqlRow> rows = {
      {std::string(""), int64_t{0}, 0.0},
      {std::string("h\xC3\xA9llo \xE2\x9C\x93"), std::numeric_limits<int64_t>::max(), 0.1},
      {std::string("it's \"quoted\" ? $1 \\n"), std::numeric_limits<int64_t>::min(), -2.5},
      {std::string(100000, 'x'), int64_t{-1}, 1e300},
      {std::string("tiny"), int64_t{1} << 53, 5e-324},
      {std::string("third"), (int64_t{1} << 53) + 1, 1.0 / 3.0},
      {std::string("inf"), int64_t{42}, inf},
      {std::string("-inf"), int64_t{-42}, -inf},
      {std::monostate(), std::monostate(), std::monostate()},
  };
  STORE_ASSERT_OK(store->RunInTransaction([&](Transaction& tx) -> Status {
    for (size_t i = 0; i < rows.size(); ++i) {
      RETURN_IF_ERROR(tx.Execute("INSERT INTO value_rows (id, t, i, d) VALUES (?, ?, ?, ?)",
                                 {static_cast<int64_t>(i), rows[i][0], rows[i][1], rows[i][2]}));
    }
    return absl::OkStatus();
  }));
  QueryResult result;
  STORE_ASSERT_OK(store->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(result, tx.Query("SELECT t, i, d FROM value_rows ORDER BY id"));
    return absl::OkStatus();
  }));
  EXPECT_EQ(result.columns, (std::vector<std::string>{"t", "i", "d"}));
  ASSERT_EQ(result.rows.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(result.rows[i], rows[i]) << "row " << i;
  EXPECT_TRUE(result.IsNull(rows.size() - 1, 0));
  EXPECT_EQ(result.TextOrEmpty(rows.size() - 1, 0), "");
  EXPECT_EQ(result.IntOrZero(rows.size() - 1, 1), 0);

  const SqlRow selected = {int64_t{-7}, 2.25, std::string("text"), std::monostate()};
  STORE_ASSERT_OK(store->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(result, tx.Query("SELECT ?, ?, ?, ?", selected));
    return absl::OkStatus();
  }));
  ASSERT_EQ(result.rows.size(), 1u);
  EXPECT_EQ(result.rows[0], selected);
}

TEST_P(MetadataStoreTest, QuestionMarksInLiteralsAreNotPlaceholders) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(
      ExecuteInTransaction(*store, "CREATE TABLE \"odd?table\" (\"key?\" TEXT, body TEXT)"));
  STORE_ASSERT_OK(store->RunInTransaction([](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute(
        "INSERT INTO \"odd?table\" (\"key?\", body) VALUES (?, 'why? it''s ?') /* why? */", {"a"}));
    return tx.Execute("INSERT INTO \"odd?table\" (\"key?\", body) VALUES ('b?', ?)", {"?"});
  }));
  QueryResult result;
  STORE_ASSERT_OK(store->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(result, tx.Query("SELECT \"key?\", body, ? FROM \"odd?table\" "
                                      "WHERE body <> '?' OR \"key?\" = ? ORDER BY \"key?\"",
                                      {"third", "b?"}));
    return absl::OkStatus();
  }));
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.rows[0], (SqlRow{"a", "why? it's ?", "third"}));
  EXPECT_EQ(result.rows[1], (SqlRow{"b?", "?", "third"}));
}

TEST_P(MetadataStoreTest, AWrongNumberOfValuesIsInvalidArgument) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status status =
      store->RunReadOnly([](Transaction& tx) { return tx.Execute("SELECT ? + ?", {int64_t{1}}); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST_P(MetadataStoreTest, RowsAffectedCountsChangedRows) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(CreateItems(*store));
  STORE_ASSERT_OK(store->RunInTransaction([](Transaction& tx) -> Status {
    for (const char* id : {"a", "b", "c"}) {
      ASSIGN_OR_RETURN(QueryResult inserted,
                       tx.Query("INSERT INTO items (id, n) VALUES (?, ?)", {id, int64_t{1}}));
      EXPECT_EQ(inserted.rows_affected, 1);
    }
    ASSIGN_OR_RETURN(QueryResult updated, tx.Query("UPDATE items SET n = n + 1"));
    EXPECT_EQ(updated.rows_affected, 3);
    ASSIGN_OR_RETURN(QueryResult selected, tx.Query("SELECT id, n FROM items"));
    EXPECT_EQ(selected.rows_affected, 0);
    EXPECT_EQ(selected.rows.size(), 3u);
    ASSIGN_OR_RETURN(QueryResult none, tx.Query("DELETE FROM items WHERE id = ?", {"zzz"}));
    EXPECT_EQ(none.rows_affected, 0);
    ASSIGN_OR_RETURN(QueryResult ignored,
                     tx.Query("INSERT INTO items (id, n) VALUES (?, ?) ON CONFLICT DO NOTHING",
                              {"a", int64_t{5}}));
    EXPECT_EQ(ignored.rows_affected, 0);
    ASSIGN_OR_RETURN(
        QueryResult returned,
        tx.Query("INSERT INTO items (id, n) VALUES (?, ?) RETURNING id, n", {"d", int64_t{7}}));
    EXPECT_EQ(returned.rows_affected, 1);
    EXPECT_EQ(returned.columns, (std::vector<std::string>{"id", "n"}));
    EXPECT_EQ(returned.rows, (std::vector<SqlRow>{{"d", int64_t{7}}}));
    ASSIGN_OR_RETURN(QueryResult empty, tx.Query("SELECT id, note FROM items WHERE 1 = 0"));
    EXPECT_EQ(empty.columns, (std::vector<std::string>{"id", "note"}));
    EXPECT_TRUE(empty.rows.empty());
    return absl::OkStatus();
  }));
}

TEST_P(MetadataStoreTest, ReadOnlyTransactionsRefuseWrites) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  Status insert =
      store->RunReadOnly([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); });
  EXPECT_FALSE(insert.ok());
  Status create =
      store->RunReadOnly([](Transaction& tx) { return tx.Execute("CREATE TABLE t (a TEXT)"); });
  EXPECT_FALSE(create.ok());
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 0);
  Status failed = store->RunReadOnly([](Transaction&) { return absl::NotFoundError("nothing"); });
  EXPECT_EQ(failed, absl::NotFoundError("nothing"));
}

TEST_P(MetadataStoreTest, ReadOnlyTransactionsSeeOneSnapshot) {
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(
      store->RunInTransaction([](Transaction& tx) { return InsertProject(tx, "p1", "fraud"); }));
  int64_t before = -1;
  int64_t after = -1;
  Status writer;
  STORE_ASSERT_OK(store->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult first, tx.Query("SELECT COUNT(*) FROM projects"));
    before = first.IntOrZero(0, 0);
    std::thread other([&] {
      writer = store->RunInTransaction(
          [](Transaction& write) { return InsertProject(write, "p2", "credit"); });
    });
    other.join();
    ASSIGN_OR_RETURN(QueryResult second, tx.Query("SELECT COUNT(*) FROM projects"));
    after = second.IntOrZero(0, 0);
    return absl::OkStatus();
  }));
  STORE_EXPECT_OK(writer);
  EXPECT_EQ(before, 1);
  EXPECT_EQ(after, 1);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM projects").value(), 2);
}

TEST_P(MetadataStoreTest, ConcurrentTransactionsCommitExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(ExecuteInTransaction(
      *store, "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)"));
  STORE_ASSERT_OK(ExecuteInTransaction(
      *store,
      "CREATE TABLE events (id TEXT PRIMARY KEY, worker BIGINT NOT NULL, i BIGINT NOT NULL)"));
  STORE_ASSERT_OK(ExecuteInTransaction(*store, "INSERT INTO counters (id, n) VALUES (1, 0)"));
  std::vector<std::vector<Status>> results(kThreads, std::vector<Status>(kPerThread));
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        results[w][i] = store->RunInTransaction([&](Transaction& tx) -> Status {
          ASSIGN_OR_RETURN(QueryResult updated,
                           tx.Query("UPDATE counters SET n = n + 1 WHERE id = 1"));
          if (updated.rows_affected != 1) return absl::InternalError("counter row missing");
          return tx.Execute("INSERT INTO events (id, worker, i) VALUES (?, ?, ?)",
                            {std::to_string(w) + "/" + std::to_string(i), int64_t{w}, int64_t{i}});
        });
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int w = 0; w < kThreads; ++w) {
    for (int i = 0; i < kPerThread; ++i) STORE_EXPECT_OK(results[w][i]);
  }
  const int64_t total = kThreads * kPerThread;
  EXPECT_EQ(QueryInt(*store, "SELECT n FROM counters WHERE id = 1").value(), total);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(*) FROM events").value(), total);
  EXPECT_EQ(QueryInt(*store, "SELECT COUNT(DISTINCT worker * 1000 + i) FROM events").value(),
            total);
}

TEST_P(MetadataStoreTest, FailuresInConcurrentTransactionsReachOnlyTheirCaller) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  STORE_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, Open());
  STORE_ASSERT_OK(ExecuteInTransaction(
      *store, "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)"));
  STORE_ASSERT_OK(ExecuteInTransaction(*store, "CREATE TABLE parents (id BIGINT PRIMARY KEY)"));
  STORE_ASSERT_OK(
      ExecuteInTransaction(*store,
                           "CREATE TABLE events (id TEXT PRIMARY KEY, "
                           "parent BIGINT REFERENCES parents(id) DEFERRABLE INITIALLY DEFERRED)"));
  STORE_ASSERT_OK(ExecuteInTransaction(*store, "INSERT INTO counters (id, n) VALUES (1, 0)"));
  STORE_ASSERT_OK(ExecuteInTransaction(*store, "INSERT INTO events (id) VALUES ('taken')"));

  // Call i of each worker: kind i % 5 decides how it ends.
  enum Kind { kOk = 0, kReturnsError = 1, kDuplicate = 2, kThrows = 3, kDeferredViolation = 4 };
  std::vector<std::vector<Status>> results(kThreads, std::vector<Status>(kPerThread));
  std::vector<std::vector<bool>> threw(kThreads, std::vector<bool>(kPerThread, false));
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        const Kind kind = static_cast<Kind>(i % 5);
        const std::string id = std::to_string(w) + "/" + std::to_string(i);
        try {
          results[w][i] = store->RunInTransaction([&](Transaction& tx) -> Status {
            RETURN_IF_ERROR(tx.Execute("UPDATE counters SET n = n + 1 WHERE id = 1"));
            RETURN_IF_ERROR(tx.Execute("INSERT INTO events (id) VALUES (?)", {id}));
            switch (kind) {
              case kOk:
                return absl::OkStatus();
              case kReturnsError:
                return absl::AbortedError("planned " + id);
              case kDuplicate:
                return tx.Execute("INSERT INTO events (id) VALUES ('taken')");
              case kThrows:
                throw std::runtime_error("planned " + id);
              case kDeferredViolation:
                return tx.Execute("UPDATE events SET parent = 99 WHERE id = ?", {id});
            }
            return absl::OkStatus();
          });
        } catch (const std::runtime_error& error) {
          threw[w][i] = std::string(error.what()) == "planned " + id;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  int64_t committed = 0;
  std::set<std::string> expected_ids = {"taken"};
  for (int w = 0; w < kThreads; ++w) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string id = std::to_string(w) + "/" + std::to_string(i);
      const Status& status = results[w][i];
      switch (static_cast<Kind>(i % 5)) {
        case kOk:
          STORE_EXPECT_OK(status);
          ++committed;
          expected_ids.insert(id);
          break;
        case kReturnsError:
          EXPECT_EQ(status, absl::AbortedError("planned " + id));
          break;
        case kDuplicate:
          EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << id << ": " << status;
          break;
        case kThrows:
          EXPECT_TRUE(threw[w][i]) << id;
          break;
        case kDeferredViolation:
          EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << id << ": " << status;
          break;
      }
    }
  }
  EXPECT_EQ(QueryInt(*store, "SELECT n FROM counters WHERE id = 1").value(), committed);
  std::set<std::string> ids;
  STORE_ASSERT_OK(store->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(QueryResult result, tx.Query("SELECT id FROM events"));
    for (size_t row = 0; row < result.rows.size(); ++row) ids.insert(result.TextOrEmpty(row, 0));
    EXPECT_EQ(result.rows.size(), ids.size());
    return absl::OkStatus();
  }));
  EXPECT_EQ(ids, expected_ids);
}

}  // namespace plinth

#endif  // PLINTH_STORE_STORE_TEST_SUITE_H_
