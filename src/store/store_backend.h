// What the backends of the metadata store share below the public interface: the schema version
// the migration runner records, the lock that serialises migrations across processes, the guard
// against nested transactions, and opening a backend without touching its schema.
//
// Internal to the store module (and its tests); other modules use metadata_store.h only.
#ifndef PLINTH_STORE_STORE_BACKEND_H_
#define PLINTH_STORE_STORE_BACKEND_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

// A MetadataStore backend (SQLite or PostgreSQL). Thread-safe.
class StoreBackend : public MetadataStore {
 public:
  // The version the migration runner found or left; -1 until the runner has run.
  int schema_version() const override { return schema_version_.load(); }
  void set_schema_version(int version) { schema_version_.store(version); }

  // Takes, inside `tx`, the lock that keeps two processes from migrating the same store at once;
  // it is held until `tx` ends. OK when the backend's write transactions already exclude each
  // other (SQLite's BEGIN IMMEDIATE).
  virtual Status LockForMigration(Transaction& tx) = 0;

 private:
  std::atomic<int> schema_version_{-1};
};

// Opens the backend `url` names (see OpenMetadataStore for the forms) without reading or changing
// its schema: the migration runner and the tests of migrations start here. InvalidArgument for an
// unknown scheme or a malformed URL; Unavailable if a server cannot be reached; Internal if a
// SQLite file cannot be opened.
StatusOr<std::unique_ptr<StoreBackend>> OpenStoreBackend(const std::string& url,
                                                         const StoreOptions& options);

// Marks the calling thread as running a transaction function of one store for its lifetime, so
// that a nested RunInTransaction / RunReadOnly on the same store, which would deadlock or run
// outside the caller's transaction, is refused instead.
class ActiveTransactionMark {
 public:
  explicit ActiveTransactionMark(const MetadataStore* store);
  ~ActiveTransactionMark();
  ActiveTransactionMark(const ActiveTransactionMark&) = delete;
  ActiveTransactionMark& operator=(const ActiveTransactionMark&) = delete;

  // FailedPrecondition if the calling thread is inside a transaction function of `store`.
  static Status CheckNotNested(const MetadataStore* store);

 private:
  const ActiveTransactionMark* outer_;
  const MetadataStore* store_;
};

// True if `sql` starts with a transaction-control keyword (BEGIN, START, COMMIT, END, ROLLBACK,
// SAVEPOINT, RELEASE, ABORT). Transaction functions may not run these: the backend owns the
// transaction.
bool IsTransactionControl(std::string_view sql);

// The Transaction both backends hand to a function: it refuses transaction-control statements
// (the backend owns the transaction) and is poisoned by its first failed statement, as
// PostgreSQL's transactions are, so that both backends behave alike. Backends implement Run.
class CheckedTransaction : public Transaction {
 public:
  StatusOr<QueryResult> Query(std::string_view sql, const std::vector<SqlValue>& params) final;
  // OK, or the error of the first statement that failed.
  const Status& failure() const { return failure_; }

 protected:
  virtual StatusOr<QueryResult> Run(std::string_view sql, const std::vector<SqlValue>& params) = 0;

 private:
  Status failure_;
};

// `status` with `prefix` put before its message, same code.
Status WithPrefix(const Status& status, const std::string& prefix);

}  // namespace plinth

#endif  // PLINTH_STORE_STORE_BACKEND_H_
