#include "store/testing/postgres_test_util.h"

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/files.h"
#include "core/random.h"

namespace plinth {
namespace {

constexpr char kHowToStart[] =
    "start one with `scripts/pg-test-server.sh start DIR` and set "
    "PLINTH_TEST_PG_URL_FILE=DIR/url (or PLINTH_TEST_PG_URL to a postgresql:// URL); plain "
    "`ctest` starts and stops it itself through the `postgres` fixture";

std::string Trim(std::string text) {
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  size_t end = text.size();
  while (end > start && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return text.substr(start, end - start);
}

bool IsPostgresUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// `url` with its database (the path) replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database) {
  const size_t authority = url.find("://") + 3;
  const size_t query = url.find('?', authority);
  const size_t path = url.find('/', authority);
  if (path == std::string::npos || (query != std::string::npos && path > query)) {
    std::string out = url;
    out.insert(query == std::string::npos ? out.size() : query, "/" + database);
    return out;
  }
  const size_t path_end = query == std::string::npos ? url.size() : query;
  return url.substr(0, path + 1) + database + url.substr(path_end);
}

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

void IgnoreNotice(void*, const char*) {}

std::string TrimmedError(PGconn* connection) { return Trim(PQerrorMessage(connection)); }

// Runs `sql` (no parameters, no rows) on a new connection to `url`.
Status RunOnServer(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, ConnectionCloser> connection(PQconnectdb(url.c_str()));
  if (connection == nullptr) return absl::InternalError("postgresql: out of memory");
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return absl::UnavailableError("cannot connect to the PostgreSQL test server: " +
                                  TrimmedError(connection.get()));
  }
  PQsetNoticeProcessor(connection.get(), IgnoreNotice, nullptr);
  std::unique_ptr<PGresult, ResultClearer> result(PQexec(connection.get(), sql.c_str()));
  if (result == nullptr || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
    return absl::InternalError("postgresql test server: " + sql + ": " +
                               TrimmedError(connection.get()));
  }
  return absl::OkStatus();
}

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// The database a URL names, from libpq's own parse.
StatusOr<std::string> DatabaseOf(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? Trim(error) : "out of memory";
    PQfreemem(error);
    return absl::InvalidArgumentError("malformed PostgreSQL URL: " + message);
  }
  std::string database;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::string(option->keyword) == "dbname" && option->val != nullptr) {
      database = option->val;
    }
  }
  PQconninfoFree(options);
  if (database.empty()) return absl::InvalidArgumentError("PostgreSQL URL names no database");
  return database;
}

}  // namespace

StatusOr<std::string> TestPostgresServerUrl() {
  const char* direct = std::getenv("PLINTH_TEST_PG_URL");
  std::string url;
  if (direct != nullptr && *direct != '\0') {
    url = Trim(direct);
  } else {
    const char* file = std::getenv("PLINTH_TEST_PG_URL_FILE");
    if (file == nullptr || *file == '\0') {
      return absl::FailedPreconditionError(
          std::string("no PostgreSQL test server is configured: ") + kHowToStart);
    }
    StatusOr<std::string> contents = ReadFile(file);
    if (!contents.ok()) {
      return absl::FailedPreconditionError(
          std::string("the PostgreSQL test server's URL file ") + file +
          " cannot be read (is the server running?): " + std::string(contents.status().message()) +
          "; " + kHowToStart);
    }
    url = Trim(*contents);
  }
  if (!IsPostgresUrl(url)) {
    return absl::FailedPreconditionError(
        "the PostgreSQL test server URL must start with postgresql:// or postgres://; " +
        std::string(kHowToStart));
  }
  return url;
}

StatusOr<std::string> CreateTestPostgresDatabase() {
  ASSIGN_OR_RETURN(std::string server, TestPostgresServerUrl());
  const std::string database = "plinth_test_" + RandomHex(8);
  // template0 never has connections, so concurrent creations cannot collide on it.
  RETURN_IF_ERROR(
      RunOnServer(server, "CREATE DATABASE " + QuoteIdentifier(database) + " TEMPLATE template0"));
  return WithDatabase(server, database);
}

Status DropTestPostgresDatabase(const std::string& database_url) {
  ASSIGN_OR_RETURN(std::string server, TestPostgresServerUrl());
  ASSIGN_OR_RETURN(std::string database, DatabaseOf(database_url));
  return RunOnServer(server,
                     "DROP DATABASE IF EXISTS " + QuoteIdentifier(database) + " WITH (FORCE)");
}

}  // namespace plinth
