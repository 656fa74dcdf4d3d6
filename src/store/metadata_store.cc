#include "store/metadata_store.h"

#include <cctype>
#include <string>
#include <utility>

#include "store/postgres_metadata_store.h"
#include "store/schema.h"
#include "store/sqlite_metadata_store.h"
#include "store/store_backend.h"

namespace plinth {
namespace {

const SqlValue* Cell(const QueryResult& result, size_t row, size_t col) {
  if (row >= result.rows.size() || col >= result.rows[row].size()) return nullptr;
  return &result.rows[row][col];
}

Status NoCellError(const QueryResult& result, size_t row, size_t col) {
  return absl::InternalError("no cell (" + std::to_string(row) + ", " + std::to_string(col) +
                             ") in a result of " + std::to_string(result.rows.size()) + " rows");
}

std::string TypeName(const SqlValue& value) {
  switch (value.index()) {
    case 0:
      return "NULL";
    case 1:
      return "an integer";
    case 2:
      return "a double";
    default:
      return "text";
  }
}

Status WrongTypeError(const SqlValue& value, size_t row, size_t col, const std::string& wanted) {
  std::string column = std::to_string(col);
  return absl::InternalError("cell (" + std::to_string(row) + ", " + column + ") is " +
                             TypeName(value) + ", not " + wanted);
}

// The scheme of `url` ("sqlite", "postgresql", ...) in lower case, or "" if `url` does not start
// with one (a plain file path).
std::string SchemeOf(const std::string& url) {
  if (url.empty() || !std::isalpha(static_cast<unsigned char>(url[0]))) return "";
  for (size_t i = 1; i < url.size(); ++i) {
    char c = url[i];
    if (c == ':') {
      std::string scheme = url.substr(0, i);
      for (char& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      return scheme;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "";
    }
  }
  return "";
}

constexpr char kCreateSchemaTable[] =
    "CREATE TABLE IF NOT EXISTS plinth_schema (version BIGINT NOT NULL)";

// One step of the migration runner, in one transaction: reads the store's version and, if it is
// below `target_version`, applies the next migration. Sets `*version` to the version the store
// is at when the transaction ends and `*done` when no migration was due.
Status MigrateOneStep(StoreBackend& store, Transaction& tx, int target_version, int* version,
                      bool* done) {
  const std::vector<Migration>& migrations = SchemaMigrations();
  const int latest = LatestSchemaVersion();
  RETURN_IF_ERROR(store.LockForMigration(tx));
  RETURN_IF_ERROR(tx.Execute(kCreateSchemaTable));
  ASSIGN_OR_RETURN(QueryResult current, tx.Query("SELECT version FROM plinth_schema"));
  if (current.rows.size() > 1) {
    return absl::InternalError("metadata store table plinth_schema has " +
                               std::to_string(current.rows.size()) + " rows; expected one");
  }
  int64_t found = 0;
  if (current.rows.empty()) {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO plinth_schema (version) VALUES (0)"));
  } else {
    ASSIGN_OR_RETURN(found, current.Int(0, 0));
  }
  if (found > latest) {
    return absl::FailedPreconditionError("metadata store schema version " + std::to_string(found) +
                                         " is newer than this build of plinth supports (" +
                                         std::to_string(latest) + "); upgrade plinth");
  }
  if (found < 0) {
    return absl::InternalError("metadata store schema version " + std::to_string(found) +
                               " is negative");
  }
  *version = static_cast<int>(found);
  if (*version >= target_version) {
    *done = true;
    return absl::OkStatus();
  }
  const Migration& migration = migrations[*version];
  const std::string context = "metadata store migration " + std::to_string(migration.version) +
                              " (" + migration.description + "): ";
  if (migration.version != *version + 1) {
    return absl::InternalError(context + "out of order; migrations must be numbered 1, 2, ...");
  }
  for (const std::string& statement : migration.statements) {
    Status status = tx.Execute(statement);
    if (!status.ok()) return WithPrefix(status, context);
  }
  RETURN_IF_ERROR(tx.Execute("UPDATE plinth_schema SET version = ?",
                             {static_cast<int64_t>(migration.version)}));
  *version = migration.version;
  return absl::OkStatus();
}

// Runs the pending migrations up to `target_version`, each in its own transaction, and records
// the version reached on `store`.
Status Migrate(StoreBackend& store, int target_version) {
  while (true) {
    int version = 0;
    bool done = false;
    RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) {
      return MigrateOneStep(store, tx, target_version, &version, &done);
    }));
    store.set_schema_version(version);
    if (done) return absl::OkStatus();
  }
}

thread_local const ActiveTransactionMark* active_transactions = nullptr;

}  // namespace

StatusOr<std::string> QueryResult::Text(size_t row, size_t col) const {
  const SqlValue* cell = Cell(*this, row, col);
  if (cell == nullptr) return NoCellError(*this, row, col);
  if (const auto* text = std::get_if<std::string>(cell)) return *text;
  return WrongTypeError(*cell, row, col, "text");
}

StatusOr<int64_t> QueryResult::Int(size_t row, size_t col) const {
  const SqlValue* cell = Cell(*this, row, col);
  if (cell == nullptr) return NoCellError(*this, row, col);
  if (const auto* value = std::get_if<int64_t>(cell)) return *value;
  return WrongTypeError(*cell, row, col, "an integer");
}

bool QueryResult::IsNull(size_t row, size_t col) const {
  const SqlValue* cell = Cell(*this, row, col);
  return cell == nullptr || std::holds_alternative<std::monostate>(*cell);
}

std::string QueryResult::TextOrEmpty(size_t row, size_t col) const {
  const SqlValue* cell = Cell(*this, row, col);
  if (cell == nullptr) return "";
  if (const auto* text = std::get_if<std::string>(cell)) return *text;
  return "";
}

int64_t QueryResult::IntOrZero(size_t row, size_t col) const {
  const SqlValue* cell = Cell(*this, row, col);
  if (cell == nullptr) return 0;
  if (const auto* value = std::get_if<int64_t>(cell)) return *value;
  return 0;
}

ActiveTransactionMark::ActiveTransactionMark(const MetadataStore* store)
    : outer_(active_transactions), store_(store) {
  active_transactions = this;
}

ActiveTransactionMark::~ActiveTransactionMark() { active_transactions = outer_; }

Status ActiveTransactionMark::CheckNotNested(const MetadataStore* store) {
  for (const ActiveTransactionMark* mark = active_transactions; mark != nullptr;
       mark = mark->outer_) {
    if (mark->store_ == store) {
      return absl::FailedPreconditionError(
          "a metadata store transaction was started inside a transaction function of the same "
          "store; use the Transaction you were given");
    }
  }
  return absl::OkStatus();
}

StatusOr<QueryResult> CheckedTransaction::Query(std::string_view sql,
                                                const std::vector<SqlValue>& params) {
  if (!failure_.ok()) {
    return absl::FailedPreconditionError("an earlier statement in this transaction failed: " +
                                         std::string(failure_.message()));
  }
  StatusOr<QueryResult> result =
      IsTransactionControl(sql)
          ? StatusOr<QueryResult>(absl::InvalidArgumentError(
                "transaction control is done by the metadata store, not in a transaction "
                "function: " +
                std::string(sql)))
          : Run(sql, params);
  if (!result.ok()) failure_ = result.status();
  return result;
}

bool IsTransactionControl(std::string_view sql) {
  size_t start = 0;
  while (start < sql.size() && std::isspace(static_cast<unsigned char>(sql[start]))) ++start;
  size_t end = start;
  while (end < sql.size() && std::isalpha(static_cast<unsigned char>(sql[end]))) ++end;
  std::string word(sql.substr(start, end - start));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return word == "BEGIN" || word == "START" || word == "COMMIT" || word == "END" ||
         word == "ROLLBACK" || word == "SAVEPOINT" || word == "RELEASE" || word == "ABORT";
}

Status WithPrefix(const Status& status, const std::string& prefix) {
  if (status.ok()) return status;
  return Status(status.code(), prefix + std::string(status.message()));
}

StatusOr<std::unique_ptr<StoreBackend>> OpenStoreBackend(const std::string& url,
                                                         const StoreOptions& options) {
  if (url.empty()) return absl::InvalidArgumentError("metadata store URL is empty");
  const std::string scheme = SchemeOf(url);
  if (scheme.empty()) return OpenSqliteBackend(url, options);
  if (scheme == "sqlite") {
    std::string path = url.substr(scheme.size() + 1);
    if (path.empty()) {
      return absl::InvalidArgumentError("metadata store URL 'sqlite:' names no file");
    }
    return OpenSqliteBackend(path, options);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    if (url.compare(scheme.size(), 3, "://") != 0) {
      return absl::InvalidArgumentError("metadata store URL with scheme '" + scheme +
                                        "' must start with " + scheme + "://");
    }
    return OpenPostgresBackend(url, options);
  }
  return absl::InvalidArgumentError(
      "unsupported metadata store URL scheme '" + scheme +
      "': use sqlite:PATH, a file path, postgresql://... or postgres://...");
}

int LatestSchemaVersion() {
  const std::vector<Migration>& migrations = SchemaMigrations();
  return migrations.empty() ? 0 : migrations.back().version;
}

StatusOr<std::unique_ptr<MetadataStore>> OpenMetadataStore(const std::string& url,
                                                           const StoreOptions& options) {
  return OpenMetadataStoreAtVersion(url, LatestSchemaVersion(), options);
}

StatusOr<std::unique_ptr<MetadataStore>> OpenMetadataStoreAtVersion(const std::string& url,
                                                                    int target_version,
                                                                    const StoreOptions& options) {
  if (target_version < 0 || target_version > LatestSchemaVersion()) {
    return absl::InvalidArgumentError("metadata store schema version " +
                                      std::to_string(target_version) + " does not exist (0 to " +
                                      std::to_string(LatestSchemaVersion()) + ")");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<StoreBackend> store, OpenStoreBackend(url, options));
  RETURN_IF_ERROR(Migrate(*store, target_version));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace plinth
