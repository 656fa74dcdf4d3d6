#include "store/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace plinth {
namespace {

// Statements kept prepared per connection; past this the cache starts over.
constexpr size_t kMaxCachedStatements = 256;
// Transactions one group commit takes at most; the rest wait for the next.
constexpr size_t kMaxBatch = 128;

std::string ErrorText(sqlite3* db) {
  const char* message = db == nullptr ? nullptr : sqlite3_errmsg(db);
  return message == nullptr ? "out of memory" : message;
}

// The Status for SQLite result code `rc` (extended) from running `sql`.
Status SqliteError(sqlite3* db, int rc, std::string_view sql, int busy_timeout_ms) {
  std::string message = "sqlite: " + ErrorText(db) + " (code " + std::to_string(rc) + ")";
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    message += " after waiting " + std::to_string(busy_timeout_ms) + " ms";
  }
  message += " in: " + std::string(sql);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
      rc == SQLITE_CONSTRAINT_ROWID) {
    return absl::AlreadyExistsError(message);
  }
  if (primary == SQLITE_CONSTRAINT) return absl::FailedPreconditionError(message);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

// One sqlite3 connection and its prepared statements. Used by one thread at a time.
class SqliteConnection {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_*); `read_only` sets PRAGMA query_only.
  static StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path, int flags,
                                                          int busy_timeout_ms, bool read_only) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = "cannot open sqlite database '" + path + "': " + ErrorText(db);
      // sqlite3_close of a handle that failed to open cannot fail: nothing is prepared on it.
      sqlite3_close(db);
      if ((rc & 0xff) == SQLITE_BUSY) return absl::UnavailableError(message);
      return absl::InternalError(message);
    }
    auto connection = std::unique_ptr<SqliteConnection>(new SqliteConnection(db, busy_timeout_ms));
    if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK ||
        sqlite3_busy_timeout(db, busy_timeout_ms) != SQLITE_OK) {
      return absl::InternalError("cannot configure sqlite database '" + path +
                                 "': " + ErrorText(db));
    }
    if (read_only) RETURN_IF_ERROR(connection->Run("PRAGMA query_only = ON", {}).status());
    return connection;
  }

  ~SqliteConnection() {
    ClearCache();
    // Every statement is finalized above, so close cannot report SQLITE_BUSY; close_v2 would
    // defer the close rather than leak if one were left.
    sqlite3_close_v2(db_);
  }

  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Runs one statement with `params` bound to its `?` placeholders.
  StatusOr<QueryResult> Run(std::string_view sql, const std::vector<SqlValue>& params) {
    ASSIGN_OR_RETURN(sqlite3_stmt * statement, Prepare(sql));
    StatementReset reset(statement);
    const int expected = sqlite3_bind_parameter_count(statement);
    if (static_cast<size_t>(expected) != params.size()) {
      return absl::InvalidArgumentError("statement has " + std::to_string(expected) +
                                        " placeholders but " + std::to_string(params.size()) +
                                        " values were given: " + std::string(sql));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      RETURN_IF_ERROR(Bind(statement, static_cast<int>(i + 1), params[i], sql));
    }
    QueryResult result;
    const int columns = sqlite3_column_count(statement);
    for (int c = 0; c < columns; ++c) {
      const char* name = sqlite3_column_name(statement, c);
      if (name == nullptr)
        return absl::InternalError("sqlite: out of memory reading a column name");
      result.columns.emplace_back(name);
    }
    const sqlite3_int64 changes_before = sqlite3_total_changes64(db_);
    while (true) {
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return SqliteError(db_, rc, sql, busy_timeout_ms_);
      SqlRow row;
      row.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        ASSIGN_OR_RETURN(SqlValue value, ReadColumn(statement, c, sql));
        row.push_back(std::move(value));
      }
      result.rows.push_back(std::move(row));
    }
    // sqlite3_changes64 keeps the count of the last INSERT/UPDATE/DELETE, so it is read only
    // when this statement changed something.
    if (!sqlite3_stmt_readonly(statement) && sqlite3_total_changes64(db_) != changes_before) {
      result.rows_affected = sqlite3_changes64(db_);
    }
    return result;
  }

  // Runs a statement that takes no values and returns no rows (transaction control, pragmas).
  Status Exec(std::string_view sql) { return Run(sql, {}).status(); }

  // True while a transaction is open on this connection.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

  // The number of foreign-key violations waiting for COMMIT (deferred constraints).
  StatusOr<int> DeferredForeignKeyViolations() {
    int current = 0;
    int highwater = 0;
    if (sqlite3_db_status(db_, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highwater, 0) !=
        SQLITE_OK) {
      return absl::InternalError("sqlite: cannot read the deferred foreign-key status");
    }
    return current;
  }

  std::string LastError() const { return ErrorText(db_); }

 private:
  // Resets a statement and clears its bindings when a Run ends, so the cached statement is idle.
  class StatementReset {
   public:
    explicit StatementReset(sqlite3_stmt* statement) : statement_(statement) {}
    ~StatementReset() {
      // sqlite3_reset repeats the error of the last step, which Run has already reported;
      // sqlite3_clear_bindings always returns SQLITE_OK.
      sqlite3_reset(statement_);
      sqlite3_clear_bindings(statement_);
    }

   private:
    sqlite3_stmt* statement_;
  };

  SqliteConnection(sqlite3* db, int busy_timeout_ms) : db_(db), busy_timeout_ms_(busy_timeout_ms) {}

  StatusOr<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &statement, &tail);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, sql, busy_timeout_ms_);
    if (statement == nullptr) {
      return absl::InvalidArgumentError("empty SQL statement: '" + key + "'");
    }
    std::string_view rest(tail, sql.data() + sql.size() - tail);
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(statement);  // never stepped: finalize returns SQLITE_OK
      return absl::InvalidArgumentError("more than one SQL statement in one query: " + key);
    }
    if (cache_.size() >= kMaxCachedStatements) ClearCache();
    cache_.emplace(std::move(key), statement);
    return statement;
  }

  void ClearCache() {
    // Cached statements are reset after every use, so finalize has no pending error to return.
    for (auto& [sql, statement] : cache_) sqlite3_finalize(statement);
    cache_.clear();
  }

  Status Bind(sqlite3_stmt* statement, int index, const SqlValue& value, std::string_view sql) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(value)) {
      rc = sqlite3_bind_null(statement, index);
    } else if (const auto* integer = std::get_if<int64_t>(&value)) {
      rc = sqlite3_bind_int64(statement, index, *integer);
    } else if (const auto* real = std::get_if<double>(&value)) {
      rc = sqlite3_bind_double(statement, index, *real);
    } else {
      const std::string& text = std::get<std::string>(value);
      // SQLITE_STATIC: `params` outlives the statement's use; bindings are cleared after Run.
      rc = sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_STATIC,
                               SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) return SqliteError(db_, rc, sql, busy_timeout_ms_);
    return absl::OkStatus();
  }

  StatusOr<SqlValue> ReadColumn(sqlite3_stmt* statement, int column, std::string_view sql) {
    switch (sqlite3_column_type(statement, column)) {
      case SQLITE_NULL:
        return SqlValue(std::monostate());
      case SQLITE_INTEGER:
        return SqlValue(static_cast<int64_t>(sqlite3_column_int64(statement, column)));
      case SQLITE_FLOAT:
        return SqlValue(sqlite3_column_double(statement, column));
      case SQLITE_TEXT: {
        const unsigned char* text = sqlite3_column_text(statement, column);
        const int size = sqlite3_column_bytes(statement, column);
        if (text == nullptr) return SqliteError(db_, SQLITE_NOMEM, sql, busy_timeout_ms_);
        return SqlValue(std::string(reinterpret_cast<const char*>(text), size));
      }
      default: {
        const void* blob = sqlite3_column_blob(statement, column);
        const int size = sqlite3_column_bytes(statement, column);
        if (blob == nullptr && size > 0)
          return SqliteError(db_, SQLITE_NOMEM, sql, busy_timeout_ms_);
        return SqlValue(std::string(static_cast<const char*>(blob), size));
      }
    }
  }

  sqlite3* db_;
  int busy_timeout_ms_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// The Transaction handed to a function: one connection, poisoned by its first failed statement
// so that SQLite behaves as PostgreSQL does (a failed statement aborts the transaction).
class SqliteTransaction : public CheckedTransaction {
 public:
  explicit SqliteTransaction(SqliteConnection* connection) : connection_(connection) {}

 protected:
  StatusOr<QueryResult> Run(std::string_view sql, const std::vector<SqlValue>& params) override {
    return connection_->Run(sql, params);
  }

 private:
  SqliteConnection* connection_;
};

Status ReturnedOkAfterFailure(const Status& failure) {
  return absl::InternalError(
      "the transaction function returned OK after a statement failed; rolled back: " +
      std::string(failure.message()));
}

// A bounded pool of read-only connections, opened as needed.
class ReaderPool {
 public:
  ReaderPool(std::string path, int size, int busy_timeout_ms)
      : path_(std::move(path)), size_(std::max(1, size)), busy_timeout_ms_(busy_timeout_ms) {}

  // A connection from the pool; Give it back with Return (or drop it if it is unusable).
  StatusOr<std::unique_ptr<SqliteConnection>> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
      std::unique_ptr<SqliteConnection> connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;
    lock.unlock();
    StatusOr<std::unique_ptr<SqliteConnection>> connection =
        SqliteConnection::Open(path_, SQLITE_OPEN_READWRITE, busy_timeout_ms_, /*read_only=*/true);
    if (!connection.ok()) Return(nullptr);
    return connection;
  }

  // Gives a connection back; nullptr frees its place for a new one.
  void Return(std::unique_ptr<SqliteConnection> connection) {
    std::lock_guard<std::mutex> lock(mu_);
    if (connection == nullptr || connection->InTransaction()) {
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
    cv_.notify_one();
  }

 private:
  const std::string path_;
  const int size_;
  const int busy_timeout_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;
  int open_ = 0;
};

class SqliteMetadataStore : public StoreBackend {
 public:
  SqliteMetadataStore(std::unique_ptr<SqliteConnection> writer, std::string path,
                      const StoreOptions& options)
      : writer_(std::move(writer)),
        readers_(std::move(path), options.pool_size, options.busy_timeout_ms) {}

  Status RunInTransaction(const TransactionFn& fn) override {
    RETURN_IF_ERROR(ActiveTransactionMark::CheckNotNested(this));
    PendingTransaction mine;
    mine.fn = &fn;
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&mine);
    while (!mine.done) {
      if (leader_active_) {
        cv_.wait(lock);
        continue;
      }
      leader_active_ = true;
      const size_t count = std::min(queue_.size(), kMaxBatch);
      std::vector<PendingTransaction*> batch(queue_.begin(), queue_.begin() + count);
      queue_.erase(queue_.begin(), queue_.begin() + count);
      lock.unlock();
      RunBatch(batch);
      lock.lock();
      for (PendingTransaction* pending : batch) pending->done = true;
      leader_active_ = false;
      cv_.notify_all();
    }
    lock.unlock();
    if (mine.exception) std::rethrow_exception(mine.exception);
    return mine.status;
  }

  Status RunReadOnly(const TransactionFn& fn) override {
    RETURN_IF_ERROR(ActiveTransactionMark::CheckNotNested(this));
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> connection, readers_.Take());
    Status begin = connection->Exec("BEGIN");
    if (!begin.ok()) {
      readers_.Return(std::move(connection));
      return begin;
    }
    Status status;
    std::exception_ptr exception;
    SqliteTransaction tx(connection.get());
    {
      ActiveTransactionMark mark(this);
      try {
        status = fn(tx);
      } catch (...) {
        exception = std::current_exception();
      }
    }
    if (status.ok() && !tx.failure().ok()) status = ReturnedOkAfterFailure(tx.failure());
    // A read-only transaction has nothing to commit; some errors already ended it.
    Status end = connection->InTransaction() ? connection->Exec("ROLLBACK") : absl::OkStatus();
    readers_.Return(std::move(connection));
    if (exception) std::rethrow_exception(exception);
    if (status.ok() && !end.ok()) return end;
    return status;
  }

  std::string backend() const override { return "sqlite"; }

  Status LockForMigration(Transaction& tx) override { return absl::OkStatus(); }

 private:
  struct PendingTransaction {
    const TransactionFn* fn = nullptr;
    Status status;
    std::exception_ptr exception;
    bool done = false;
  };

  // Runs `batch` in one transaction and one COMMIT, each function in its own savepoint. Sets
  // every pending transaction's status (or exception).
  void RunBatch(const std::vector<PendingTransaction*>& batch) {
    Status begin = writer_->Exec("BEGIN IMMEDIATE");
    if (!begin.ok()) {
      for (PendingTransaction* pending : batch) pending->status = begin;
      return;
    }
    Status lost;  // set when the transaction itself can no longer commit
    for (PendingTransaction* pending : batch) {
      if (!lost.ok()) {
        pending->status = lost;
        continue;
      }
      lost = RunInSavepoint(pending);
    }
    Status end = lost.ok() ? writer_->Exec("COMMIT") : lost;
    if (end.ok()) return;
    if (lost.ok()) end = WithPrefix(end, "commit failed: ");
    if (writer_->InTransaction()) {
      // The transaction is abandoned either way; a failed ROLLBACK is reported through `end`.
      Status rollback = writer_->Exec("ROLLBACK");
      if (!rollback.ok()) end = WithPrefix(end, "(rollback also failed) ");
    }
    for (PendingTransaction* pending : batch) {
      if (pending->status.ok() && !pending->exception) pending->status = end;
    }
  }

  // Runs one function inside SAVEPOINT, then releases it (OK) or rolls it back (error,
  // exception). Returns non-OK only if the enclosing transaction is lost for the whole batch.
  Status RunInSavepoint(PendingTransaction* pending) {
    Status savepoint = writer_->Exec("SAVEPOINT plinth_fn");
    if (!savepoint.ok()) {
      pending->status = savepoint;
      return savepoint;
    }
    SqliteTransaction tx(writer_.get());
    Status status;
    {
      ActiveTransactionMark mark(this);
      try {
        status = (*pending->fn)(tx);
      } catch (...) {
        pending->exception = std::current_exception();
      }
    }
    if (!writer_->InTransaction()) {
      Status lost = absl::InternalError(
          "the metadata store transaction ended inside a transaction function (sqlite: " +
          writer_->LastError() + ")");
      pending->status = status.ok() ? lost : status;
      return lost;
    }
    if (status.ok() && !tx.failure().ok()) status = ReturnedOkAfterFailure(tx.failure());
    if (status.ok() && !pending->exception) {
      StatusOr<int> deferred = writer_->DeferredForeignKeyViolations();
      if (!deferred.ok()) {
        status = deferred.status();
      } else if (*deferred > 0) {
        status = absl::FailedPreconditionError("sqlite: FOREIGN KEY constraint failed (deferred, " +
                                               std::to_string(*deferred) + " violations)");
      }
    }
    if (status.ok() && !pending->exception) {
      status = writer_->Exec("RELEASE plinth_fn");
      if (status.ok()) {
        pending->status = status;
        return absl::OkStatus();
      }
    }
    pending->status = status;
    Status undo = writer_->Exec("ROLLBACK TO plinth_fn");
    if (undo.ok()) undo = writer_->Exec("RELEASE plinth_fn");
    return undo;
  }

  std::unique_ptr<SqliteConnection> writer_;  // used only by the current leader
  ReaderPool readers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingTransaction*> queue_;
  bool leader_active_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<StoreBackend>> OpenSqliteBackend(const std::string& path,
                                                          const StoreOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> writer,
                   SqliteConnection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                          options.busy_timeout_ms, /*read_only=*/false));
  ASSIGN_OR_RETURN(QueryResult mode, writer->Run("PRAGMA journal_mode = WAL", {}));
  if (mode.TextOrEmpty(0, 0) != "wal") {
    return absl::InternalError("cannot put sqlite database '" + path +
                               "' in WAL mode (journal mode is '" + mode.TextOrEmpty(0, 0) + "')");
  }
  RETURN_IF_ERROR(
      writer->Exec(options.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys = ON"));
  return std::unique_ptr<StoreBackend>(new SqliteMetadataStore(std::move(writer), path, options));
}

}  // namespace plinth
