#include "store/postgres_metadata_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plinth {
namespace {

// Type OIDs of pg_type (catalog/pg_type_d.h is a server header).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// The key of the advisory lock that serialises schema migrations ("plinth" in ASCII).
constexpr int64_t kMigrationLockKey = 0x706c696e7468;

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultClearer>;

std::string TrimTrailing(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

void IgnoreNotice(void*, const char*) {}

bool IsConnectionSqlState(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03" ||
         state == "53300";
}

// The Status for a failed statement: `result` may be null (libpq could not even build one).
Status PostgresError(PGconn* connection, const PGresult* result, std::string_view sql) {
  const char* state_field =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const char* primary =
      result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const std::string state = state_field == nullptr ? "" : state_field;
  std::string message = "postgresql: ";
  message += primary != nullptr ? primary : TrimTrailing(PQerrorMessage(connection));
  if (!state.empty()) message += " (SQLSTATE " + state + ")";
  message += " in: " + std::string(sql);
  if (state == "23505") return absl::AlreadyExistsError(message);
  if (state.substr(0, 2) == "23") return absl::FailedPreconditionError(message);
  if (PQstatus(connection) != CONNECTION_OK || IsConnectionSqlState(state)) {
    return absl::UnavailableError(message);
  }
  if (state == "40001" || state == "40P01") return absl::AbortedError(message);
  return absl::InternalError(message);
}

StatusOr<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return absl::InternalError("postgresql: cannot read integer '" + std::string(text) + "'");
  }
  return value;
}

StatusOr<double> ParseDouble(std::string_view text) {
  if (text == "NaN") return std::nan("");
  if (text == "Infinity") return HUGE_VAL;
  if (text == "-Infinity") return -HUGE_VAL;
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return absl::InternalError("postgresql: cannot read number '" + std::string(text) + "'");
  }
  return value;
}

StatusOr<SqlValue> ReadCell(const PGresult* result, int row, int column, Oid type) {
  if (PQgetisnull(result, row, column)) return SqlValue(std::monostate());
  std::string_view text(PQgetvalue(result, row, column), PQgetlength(result, row, column));
  switch (type) {
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      ASSIGN_OR_RETURN(int64_t value, ParseInt(text));
      return SqlValue(value);
    }
    case kBoolOid:
      return SqlValue(static_cast<int64_t>(text == "t" ? 1 : 0));
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      ASSIGN_OR_RETURN(double value, ParseDouble(text));
      return SqlValue(value);
    }
    default:
      return SqlValue(std::string(text));
  }
}

// Turns a finished statement's result into a QueryResult, or its error into a Status.
StatusOr<QueryResult> ReadResult(PGconn* connection, PGresult* result, std::string_view sql) {
  if (result == nullptr) return PostgresError(connection, nullptr, sql);
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_EMPTY_QUERY) {
    return absl::InvalidArgumentError("empty SQL statement: '" + std::string(sql) + "'");
  }
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return PostgresError(connection, result, sql);
  }
  QueryResult out;
  const int columns = PQnfields(result);
  std::vector<Oid> types(columns);
  for (int c = 0; c < columns; ++c) {
    out.columns.emplace_back(PQfname(result, c));
    types[c] = PQftype(result, c);
  }
  const int rows = PQntuples(result);
  out.rows.reserve(rows);
  for (int r = 0; r < rows; ++r) {
    SqlRow row;
    row.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      ASSIGN_OR_RETURN(SqlValue value, ReadCell(result, r, c, types[c]));
      row.push_back(std::move(value));
    }
    out.rows.push_back(std::move(row));
  }
  // PQcmdTuples also counts the rows of a SELECT; only changes count as affected, as on SQLite.
  const std::string_view command = PQcmdStatus(result);
  const bool changes = command.substr(0, 6) == "INSERT" || command.substr(0, 6) == "UPDATE" ||
                       command.substr(0, 6) == "DELETE" || command.substr(0, 5) == "MERGE";
  const std::string_view tuples = PQcmdTuples(result);
  if (changes && !tuples.empty()) {
    ASSIGN_OR_RETURN(out.rows_affected, ParseInt(tuples));
  }
  return out;
}

// Runs `sql` (with `?` placeholders) with `params` as text-format values.
StatusOr<QueryResult> RunStatement(PGconn* connection, std::string_view sql,
                                   const std::vector<SqlValue>& params) {
  RewrittenSql rewritten = RewritePlaceholders(sql);
  if (static_cast<size_t>(rewritten.placeholders) != params.size()) {
    return absl::InvalidArgumentError("statement has " + std::to_string(rewritten.placeholders) +
                                      " placeholders but " + std::to_string(params.size()) +
                                      " values were given: " + std::string(sql));
  }
  std::vector<std::string> texts(params.size());
  std::vector<Oid> types(params.size(), 0);
  std::vector<const char*> values(params.size(), nullptr);
  for (size_t i = 0; i < params.size(); ++i) {
    const SqlValue& param = params[i];
    if (std::holds_alternative<std::monostate>(param)) continue;
    if (const auto* integer = std::get_if<int64_t>(&param)) {
      texts[i] = std::to_string(*integer);
      types[i] = kInt8Oid;
    } else if (const auto* real = std::get_if<double>(&param)) {
      texts[i] = FormatDoubleForPostgres(*real);
      types[i] = kFloat8Oid;
    } else {
      // Untyped, so the server takes the type the statement needs (text, bigint, ...).
      texts[i] = std::get<std::string>(param);
      if (texts[i].find('\0') != std::string::npos) {
        return absl::InvalidArgumentError("postgresql: a text value contains a NUL byte in: " +
                                          std::string(sql));
      }
    }
    values[i] = texts[i].c_str();
  }
  Result result(PQexecParams(connection, rewritten.sql.c_str(), static_cast<int>(params.size()),
                             types.data(), values.data(), nullptr, nullptr, 0));
  return ReadResult(connection, result.get(), sql);
}

// Session settings every pooled connection needs, after connecting or reconnecting.
Status SetUpSession(PGconn* connection) {
  PQsetNoticeProcessor(connection, IgnoreNotice, nullptr);
  // Shortest exact float output whatever the server's default.
  return RunStatement(connection, "SET extra_float_digits = 3", {}).status();
}

StatusOr<Connection> Connect(const std::string& url) {
  // Defaults first: keywords in the URL (expanded from dbname) override them.
  const char* keywords[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                            nullptr};
  const char* values[] = {"10", "plinth", "UTF8", url.c_str(), nullptr};
  Connection connection(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (connection == nullptr) {
    return absl::InternalError("postgresql: out of memory opening a connection");
  }
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return absl::UnavailableError("cannot connect to PostgreSQL: " +
                                  TrimTrailing(PQerrorMessage(connection.get())));
  }
  RETURN_IF_ERROR(SetUpSession(connection.get()));
  return connection;
}

// A bounded pool of connections to one database, opened as needed.
class ConnectionPool {
 public:
  ConnectionPool(std::string url, int size) : url_(std::move(url)), size_(std::max(1, size)) {}

  // A healthy connection, waiting while all `size` are in use. Unavailable if a new connection
  // cannot be made.
  StatusOr<Connection> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
    Connection connection;
    if (!idle_.empty()) {
      connection = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_;
    }
    lock.unlock();
    if (connection != nullptr && PQstatus(connection.get()) == CONNECTION_OK) return connection;
    connection.reset();
    StatusOr<Connection> fresh = Connect(url_);
    if (!fresh.ok()) Return(nullptr);
    return fresh;
  }

  // Gives a connection back. One that is broken or still inside a transaction is closed, and
  // nullptr just frees a place.
  void Return(Connection connection) {
    if (connection != nullptr && (PQstatus(connection.get()) != CONNECTION_OK ||
                                  PQtransactionStatus(connection.get()) != PQTRANS_IDLE)) {
      connection.reset();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (connection == nullptr) {
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
    cv_.notify_one();
  }

 private:
  const std::string url_;
  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Connection> idle_;
  int open_ = 0;
};

// The Transaction handed to a function; its first failed statement aborts it (as the server
// does), and later statements are refused without a round trip.
class PostgresTransaction : public CheckedTransaction {
 public:
  explicit PostgresTransaction(PGconn* connection) : connection_(connection) {}

 protected:
  StatusOr<QueryResult> Run(std::string_view sql, const std::vector<SqlValue>& params) override {
    return RunStatement(connection_, sql, params);
  }

 private:
  PGconn* connection_;
};

class PostgresMetadataStore : public StoreBackend {
 public:
  PostgresMetadataStore(const std::string& url, const StoreOptions& options)
      : pool_(url, options.pool_size) {}

  // Opens one connection, so an unreachable server is reported by the open.
  Status Connect() {
    ASSIGN_OR_RETURN(Connection connection, pool_.Take());
    pool_.Return(std::move(connection));
    return absl::OkStatus();
  }

  Status RunInTransaction(const TransactionFn& fn) override { return Run(fn, "BEGIN"); }

  Status RunReadOnly(const TransactionFn& fn) override {
    return Run(fn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }

  std::string backend() const override { return "postgresql"; }

  Status LockForMigration(Transaction& tx) override {
    return tx.Execute("SELECT pg_advisory_xact_lock(?)", {kMigrationLockKey});
  }

 private:
  // Begins a transaction with `begin`; a connection the server closed while it sat in the pool
  // is reconnected once, since nothing has run on it yet.
  Status Begin(PGconn* connection, const char* begin) {
    Status status = RunStatement(connection, begin, {}).status();
    if (status.ok() || PQstatus(connection) == CONNECTION_OK) return status;
    PQreset(connection);
    if (PQstatus(connection) != CONNECTION_OK) {
      return absl::UnavailableError("cannot reconnect to PostgreSQL: " +
                                    TrimTrailing(PQerrorMessage(connection)));
    }
    RETURN_IF_ERROR(SetUpSession(connection));
    return RunStatement(connection, begin, {}).status();
  }

  Status Commit(PGconn* connection) {
    Result result(PQexec(connection, "COMMIT"));
    StatusOr<QueryResult> commit = ReadResult(connection, result.get(), "COMMIT");
    if (!commit.ok()) {
      if (PQstatus(connection) != CONNECTION_OK) {
        return absl::UnavailableError(
            "connection to PostgreSQL lost during COMMIT; the transaction may or may not have "
            "committed: " +
            std::string(commit.status().message()));
      }
      return commit.status();
    }
    // A transaction that had failed answers COMMIT with ROLLBACK.
    if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
      return absl::InternalError("postgresql: the server rolled the transaction back at COMMIT");
    }
    return absl::OkStatus();
  }

  Status Run(const TransactionFn& fn, const char* begin) {
    RETURN_IF_ERROR(ActiveTransactionMark::CheckNotNested(this));
    ASSIGN_OR_RETURN(Connection connection, pool_.Take());
    Status status = Begin(connection.get(), begin);
    if (!status.ok()) {
      pool_.Return(std::move(connection));
      return status;
    }
    PostgresTransaction tx(connection.get());
    std::exception_ptr exception;
    {
      ActiveTransactionMark mark(this);
      try {
        status = fn(tx);
      } catch (...) {
        exception = std::current_exception();
      }
    }
    if (status.ok() && !tx.failure().ok()) {
      status = absl::InternalError(
          "the transaction function returned OK after a statement failed; rolled back: " +
          std::string(tx.failure().message()));
    }
    if (exception || !status.ok()) {
      // If ROLLBACK fails the connection is not idle, and Return closes it, which rolls back.
      Result rollback(PQexec(connection.get(), "ROLLBACK"));
      pool_.Return(std::move(connection));
      if (exception) std::rethrow_exception(exception);
      return status;
    }
    status = Commit(connection.get());
    pool_.Return(std::move(connection));
    return status;
  }

  ConnectionPool pool_;
};

bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The end (one past) of the quoted text that starts at `start` with `quote`; a doubled quote
// is part of the text, and so is a backslash-escaped character when `backslash_escapes`.
size_t EndOfQuoted(std::string_view sql, size_t start, char quote, bool backslash_escapes) {
  size_t i = start + 1;
  while (i < sql.size()) {
    if (backslash_escapes && sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

// The end (one past) of the /* */ comment starting at `start`; PostgreSQL nests them.
size_t EndOfBlockComment(std::string_view sql, size_t start) {
  int depth = 0;
  size_t i = start;
  while (i + 1 < sql.size()) {
    if (sql[i] == '/' && sql[i + 1] == '*') {
      ++depth;
      i += 2;
    } else if (sql[i] == '*' && sql[i + 1] == '/') {
      i += 2;
      if (--depth == 0) return i;
    } else {
      ++i;
    }
  }
  return sql.size();
}

// If a $tag$ opens at `start`, the end (one past) of the dollar-quoted string; else 0.
size_t EndOfDollarQuoted(std::string_view sql, size_t start) {
  if (start > 0 && IsIdentifierChar(sql[start - 1])) return 0;
  size_t i = start + 1;
  if (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i]))) return 0;
  while (i < sql.size() && sql[i] != '$' && IsIdentifierChar(sql[i])) ++i;
  if (i >= sql.size() || sql[i] != '$') return 0;
  std::string_view tag = sql.substr(start, i - start + 1);
  size_t close = sql.find(tag, i + 1);
  return close == std::string_view::npos ? sql.size() : close + tag.size();
}

}  // namespace

RewrittenSql RewritePlaceholders(std::string_view sql) {
  RewrittenSql out;
  out.sql.reserve(sql.size() + 8);
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    size_t end = i;
    if (c == '\'') {
      const bool escape_string = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                                 !(i > 1 && IsIdentifierChar(sql[i - 2]));
      end = EndOfQuoted(sql, i, '\'', escape_string);
    } else if (c == '"') {
      end = EndOfQuoted(sql, i, '"', false);
    } else if (c == '-' && next == '-') {
      end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
    } else if (c == '/' && next == '*') {
      end = EndOfBlockComment(sql, i);
    } else if (c == '$') {
      end = EndOfDollarQuoted(sql, i);
      if (end == 0) end = i;
    } else if (c == '?') {
      out.sql += '$' + std::to_string(++out.placeholders);
      ++i;
      continue;
    }
    if (end <= i) end = i + 1;
    out.sql.append(sql.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string FormatDoubleForPostgres(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  // 64 characters hold any shortest round-trip double, so to_chars cannot run out of room.
  std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, written.ptr);
}

StatusOr<std::unique_ptr<StoreBackend>> OpenPostgresBackend(const std::string& url,
                                                            const StoreOptions& options) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error != nullptr ? TrimTrailing(error) : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError("malformed PostgreSQL URL: " + message);
  }
  PQconninfoFree(parsed);
  auto store = std::make_unique<PostgresMetadataStore>(url, options);
  RETURN_IF_ERROR(store->Connect());
  return std::unique_ptr<StoreBackend>(std::move(store));
}

}  // namespace plinth
