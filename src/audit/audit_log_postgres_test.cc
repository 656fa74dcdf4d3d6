// Runs the audit log suite on PostgreSQL, one fresh database per test, on the server the CTest
// fixture `postgres` starts. Without a server every test fails: none is skipped.
#include "audit/audit_log_test.h"
#include "store/testing/postgres_test_util.h"

namespace plinth {
namespace {

INSTANTIATE_TEST_SUITE_P(Postgres, AuditLogTest,
                         ::testing::Values(AuditTestBackend{"Postgres", CreateTestPostgresDatabase,
                                                            DropTestPostgresDatabase}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace plinth
