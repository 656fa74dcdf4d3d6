// Test support for code that runs against the PostgreSQL test server: every test gets its own
// fresh database on the one server that scripts/pg-test-server.sh starts.
//
// The server is found through the environment: PLINTH_TEST_PG_URL (a postgresql:// URL of a
// superuser connection), else the file named by PLINTH_TEST_PG_URL_FILE (which the script
// writes). CTest sets the latter for tests that require the `postgres` fixture (see
// src/store/CMakeLists.txt, plinth_postgres_test). A test that cannot get a database must fail,
// not skip: assert on the status these functions return.
#ifndef PLINTH_STORE_TESTING_POSTGRES_TEST_UTIL_H_
#define PLINTH_STORE_TESTING_POSTGRES_TEST_UTIL_H_

#include <string>

#include "core/status.h"

namespace plinth {

// The URL of the test server. FailedPrecondition, explaining how to start one, if none is
// configured or the URL file is missing or empty.
StatusOr<std::string> TestPostgresServerUrl();

// Creates a new, empty, uniquely named database on the test server and returns its URL.
// FailedPrecondition if no server is configured (see TestPostgresServerUrl); Unavailable if the
// server cannot be reached; Internal if CREATE DATABASE fails.
StatusOr<std::string> CreateTestPostgresDatabase();

// Drops the database `database_url` names (made by CreateTestPostgresDatabase), closing any
// connections still open to it. OK if it is already gone.
Status DropTestPostgresDatabase(const std::string& database_url);

}  // namespace plinth

#endif  // PLINTH_STORE_TESTING_POSTGRES_TEST_UTIL_H_
