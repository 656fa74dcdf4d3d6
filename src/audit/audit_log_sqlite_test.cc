// Runs the audit log suite on SQLite, one fresh database file per test.
#include <filesystem>
#include <string>
#include <system_error>

#include "audit/audit_log_test.h"
#include "core/random.h"

namespace plinth {
namespace {

StatusOr<std::string> NewSqliteUrl() {
  return "sqlite:" + ::testing::TempDir() + "plinth-audit-" + RandomHex(8) + ".db";
}

Status RemoveSqlite(const std::string& url) {
  const std::string path = url.substr(std::string("sqlite:").size());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code error;
    std::filesystem::remove(path + suffix, error);
    if (error) return absl::InternalError("removing " + path + suffix + ": " + error.message());
  }
  return absl::OkStatus();
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AuditLogTest,
                         ::testing::Values(AuditTestBackend{"Sqlite", NewSqliteUrl, RemoveSqlite}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace plinth
