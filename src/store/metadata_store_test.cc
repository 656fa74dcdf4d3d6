// Tests of the store that need no database: URL dispatch, result accessors, the migration list,
// placeholder rewriting and double formatting for PostgreSQL, and the test-server helper's
// message when no server is configured.
#include "store/metadata_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "store/postgres_metadata_store.h"
#include "store/schema.h"
#include "store/store_backend.h"
#include "store/testing/postgres_test_util.h"

namespace plinth {
namespace {

TEST(OpenMetadataStoreTest, AnUnknownSchemeIsInvalidAndNamed) {
  StatusOr<std::unique_ptr<MetadataStore>> store = OpenMetadataStore("mysql://db.example/plinth");
  ASSERT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(store.status().message()).find("'mysql'"), std::string::npos)
      << store.status();
}

TEST(OpenMetadataStoreTest, MalformedUrlsAreInvalid) {
  for (const char* url : {"", "sqlite:", "postgres:plinth", "postgresql://[::1/x"}) {
    EXPECT_EQ(OpenMetadataStore(url).status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
}

TEST(OpenMetadataStoreTest, AnUnreachableServerIsUnavailable) {
  StatusOr<std::unique_ptr<MetadataStore>> store =
      OpenMetadataStore("postgresql://postgres@127.0.0.1:1/plinth?connect_timeout=5");
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
}

TEST(SchemaTest, MigrationsAreNumberedFromOneWithoutGaps) {
  const std::vector<Migration>& migrations = SchemaMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i + 1));
    EXPECT_FALSE(migrations[i].statements.empty());
  }
  EXPECT_EQ(LatestSchemaVersion(), migrations.back().version);
}

TEST(QueryResultTest, TypedAccessors) {
  QueryResult result;
  result.columns = {"t", "i", "d", "n"};
  result.rows = {{std::string("text"), int64_t{42}, 1.5, std::monostate()}};
  EXPECT_EQ(result.Text(0, 0).value(), "text");
  EXPECT_EQ(result.Int(0, 1).value(), 42);
  EXPECT_EQ(result.Text(0, 1).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(result.Int(0, 0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(result.Int(0, 2).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(result.Int(0, 3).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(result.Text(1, 0).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(result.Int(0, 9).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(result.IsNull(0, 3));
  EXPECT_FALSE(result.IsNull(0, 0));
  EXPECT_EQ(result.TextOrEmpty(0, 3), "");
  EXPECT_EQ(result.TextOrEmpty(0, 0), "text");
  EXPECT_EQ(result.IntOrZero(0, 3), 0);
  EXPECT_EQ(result.IntOrZero(0, 1), 42);
  EXPECT_EQ(result.IntOrZero(5, 5), 0);
}

TEST(TransactionControlTest, RecognisesTransactionStatements) {
  for (const char* sql : {"BEGIN", " commit", "\nRollback TO x", "savepoint a", "RELEASE a", "END",
                          "start transaction", "abort"}) {
    EXPECT_TRUE(IsTransactionControl(sql)) << sql;
  }
  for (const char* sql : {"SELECT 1", "INSERT INTO begin_log VALUES (1)", "", "UPDATE t SET a=1"}) {
    EXPECT_FALSE(IsTransactionControl(sql)) << sql;
  }
}

TEST(RewritePlaceholdersTest, NumbersPlaceholdersOutsideQuotesAndComments) {
  struct Case {
    const char* sql;
    const char* rewritten;
    int placeholders;
  };
  const Case cases[] = {
      {"SELECT ?, ?", "SELECT $1, $2", 2},
      {"SELECT 'a?b', ?", "SELECT 'a?b', $1", 1},
      {"SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1},
      {"SELECT \"c?\" FROM \"t\"\"?\" WHERE x = ?", "SELECT \"c?\" FROM \"t\"\"?\" WHERE x = $1",
       1},
      {"SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1},
      {"SELECT 'a\\', ?", "SELECT 'a\\', $1", 1},
      {"SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2", 2},
      {"SELECT /* ? /* ? */ ? */ ?", "SELECT /* ? /* ? */ ? */ $1", 1},
      {"SELECT $$ ? $$, $tag$ ?$$ $tag$, ?", "SELECT $$ ? $$, $tag$ ?$$ $tag$, $1", 1},
      {"SELECT a$b, ?", "SELECT a$b, $1", 1},
      {"SELECT 'unterminated ?", "SELECT 'unterminated ?", 0},
      {"", "", 0},
  };
  for (const Case& c : cases) {
    RewrittenSql rewritten = RewritePlaceholders(c.sql);
    EXPECT_EQ(rewritten.sql, c.rewritten) << c.sql;
    EXPECT_EQ(rewritten.placeholders, c.placeholders) << c.sql;
  }
}

std::optional<double> ReadBack(const std::string& text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

TEST(FormatDoubleForPostgresTest, WritesExactlyAndSpecialValuesByName) {
  for (double value : {0.0, 0.1, -2.5, 1.0 / 3.0, 1e300, 5e-324, 123456789.125,
                       std::numeric_limits<double>::max(), std::numeric_limits<double>::min()}) {
    std::string text = FormatDoubleForPostgres(value);
    ASSERT_TRUE(ReadBack(text).has_value()) << text;
    EXPECT_EQ(*ReadBack(text), value) << text;
  }
  EXPECT_EQ(FormatDoubleForPostgres(0.1), "0.1");
  EXPECT_EQ(FormatDoubleForPostgres(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(FormatDoubleForPostgres(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_EQ(FormatDoubleForPostgres(std::nan("")), "NaN");
}

// Sets or clears an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = getenv(name);
    if (old != nullptr) old_ = old;
    if (value == nullptr) {
      unsetenv(name);
    } else {
      setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(PostgresTestUtilTest, WithoutAServerSaysHowToStartOne) {
  ScopedEnv url("PLINTH_TEST_PG_URL", nullptr);
  ScopedEnv file("PLINTH_TEST_PG_URL_FILE", nullptr);
  StatusOr<std::string> database = CreateTestPostgresDatabase();
  ASSERT_EQ(database.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(database.status().message()).find("scripts/pg-test-server.sh start"),
            std::string::npos)
      << database.status();
}

TEST(PostgresTestUtilTest, AMissingUrlFileIsFailedPrecondition) {
  ScopedEnv url("PLINTH_TEST_PG_URL", nullptr);
  ScopedEnv file("PLINTH_TEST_PG_URL_FILE", "/nonexistent/pgtest/url");
  StatusOr<std::string> database = CreateTestPostgresDatabase();
  ASSERT_EQ(database.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(database.status().message()).find("/nonexistent/pgtest/url"),
            std::string::npos)
      << database.status();
}

}  // namespace
}  // namespace plinth
