// The metadata store: projects, users, tokens, artifacts, the audit chain and (later) every other
// record of the platform, in SQLite (embedded default) or PostgreSQL.
//
// Modules speak one portable SQL dialect through a Transaction: `?` placeholders (the PostgreSQL
// backend rewrites them to $1, $2, ...), types TEXT, BIGINT and DOUBLE PRECISION, RETURNING,
// ON CONFLICT DO NOTHING. There is no auto-increment: ids come from core/ids.h.
// Portability notes: a `?` whose type the statement leaves open (`? IS NULL`) needs a CAST on
// PostgreSQL (CAST(? AS TEXT)); SUM() of BIGINT is NUMERIC there, which reads back as a double
// (CAST(SUM(x) AS BIGINT) reads as an integer on both); booleans read back as 0 / 1.
//
// Every read and write runs inside RunInTransaction (the transaction executor, as ml-metadata's):
// the function runs in one transaction that commits when it returns OK and rolls back otherwise.
// The audit record of a change is written inside the same function, so both commit or neither.
//
// Thread-safe: many threads may call RunInTransaction at once. On SQLite, concurrent writers are
// grouped into one commit (group commit: each function in its own SAVEPOINT, one fsync for all);
// on PostgreSQL each call takes a pooled connection.
#ifndef PLINTH_STORE_METADATA_STORE_H_
#define PLINTH_STORE_METADATA_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace plinth {

// NULL, INTEGER/BIGINT, REAL/DOUBLE PRECISION, TEXT.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<SqlRow> rows;
  int64_t rows_affected = 0;

  // Typed access; Internal if the cell has another type (NULL reads as "" / 0 for the
  // *OrDefault forms).
  // Text / Int: Internal if the cell is missing, NULL or of another type.
  // IsNull: true for NULL and for a missing cell.
  // TextOrEmpty / IntOrZero: "" / 0 for NULL, a missing cell or a cell of another type.
  StatusOr<std::string> Text(size_t row, size_t col) const;
  StatusOr<int64_t> Int(size_t row, size_t col) const;
  bool IsNull(size_t row, size_t col) const;
  std::string TextOrEmpty(size_t row, size_t col) const;
  int64_t IntOrZero(size_t row, size_t col) const;
};

// One open transaction. Valid only inside the function given to RunInTransaction.
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs one statement. AlreadyExists on a unique-constraint violation, FailedPrecondition on
  // another constraint violation, Internal on anything else (the message names the statement).
  // Also: InvalidArgument if the number of values differs from the number of `?`, if `sql` holds
  // more than one statement, or if it is transaction control (BEGIN, COMMIT, SAVEPOINT, ...);
  // Unavailable if the database is locked past the busy timeout or the server went away.
  // On both backends the first failed statement aborts the transaction (as PostgreSQL does):
  // later statements fail with FailedPrecondition, and the function should return the error.
  virtual StatusOr<QueryResult> Query(std::string_view sql,
                                      const std::vector<SqlValue>& params = {}) = 0;
  Status Execute(std::string_view sql, const std::vector<SqlValue>& params = {}) {
    return Query(sql, params).status();
  }
};

using TransactionFn = std::function<Status(Transaction&)>;

struct StoreOptions {
  // SQLite: synchronous=FULL (every acknowledged commit is on disk) when true; NORMAL otherwise.
  bool durable = true;
  // PostgreSQL: connections in the pool.
  // SQLite: read-only connections that serve RunReadOnly.
  int pool_size = 8;
  // SQLite busy timeout, milliseconds.
  int busy_timeout_ms = 10000;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Runs `fn` in a read-write transaction: commits if it returns OK, rolls back otherwise, and
  // returns fn's status (or the commit's error). `fn` may be retried only if it has not run.
  // If `fn` returns OK after one of its statements failed, nothing is committed and the result
  // is Internal. An exception from `fn` rolls back and is rethrown to the caller. `fn` may run
  // on another thread than the caller's (SQLite group commit). Calling RunInTransaction or
  // RunReadOnly on the same store from inside `fn` is refused with FailedPrecondition.
  virtual Status RunInTransaction(const TransactionFn& fn) = 0;
  // Runs `fn` in a read-only transaction (a consistent snapshot); writes inside it fail.
  // Returns fn's status. It does not wait for writers' locks.
  virtual Status RunReadOnly(const TransactionFn& fn) = 0;

  // "sqlite" or "postgresql".
  virtual std::string backend() const = 0;
  // The schema version the store is at after its migrations ran.
  virtual int schema_version() const = 0;
};

// The newest schema version this build knows (store/schema.h has the migrations).
int LatestSchemaVersion();

// Opens (creating if needed) the store at `url` and runs pending migrations, each in its own
// transaction.
//   sqlite:PATH or a plain file path   -> SQLite in WAL mode, foreign keys on, busy timeout
//   postgresql://... or postgres://...  -> PostgreSQL through libpq
// InvalidArgument for an unknown scheme; Unavailable if the server cannot be reached;
// FailedPrecondition if the store's schema is newer than LatestSchemaVersion().
// Anything that starts with `letters:` is read as a URL, so write a path with a colon in its
// first segment as ./name:x. A newer store is refused without being changed; on PostgreSQL the
// migrations of concurrent openers are serialised by an advisory lock.
StatusOr<std::unique_ptr<MetadataStore>> OpenMetadataStore(const std::string& url,
                                                           const StoreOptions& options = {});

// Opens without migrating past `target_version` (tests of migrations use this).
// InvalidArgument unless 0 <= target_version <= LatestSchemaVersion(); a store already past
// `target_version` (but not newer than this build) is opened as it is.
StatusOr<std::unique_ptr<MetadataStore>> OpenMetadataStoreAtVersion(
    const std::string& url, int target_version, const StoreOptions& options = {});

}  // namespace plinth

#endif  // PLINTH_STORE_METADATA_STORE_H_
