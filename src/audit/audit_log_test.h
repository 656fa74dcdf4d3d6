// The audit log test suite, written once and run on every store backend: each backend's
// *_test.cc instantiates AuditLogTest with a factory for fresh, empty stores.
#ifndef PLINTH_AUDIT_AUDIT_LOG_TEST_H_
#define PLINTH_AUDIT_AUDIT_LOG_TEST_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/signing.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

struct AuditTestBackend {
  std::string name;  // test name suffix: "Sqlite", "Postgres"
  // The URL of a new, empty store for one test. An error fails the test (it never skips).
  std::function<StatusOr<std::string>()> new_store_url;
  // Removes the store at a URL new_store_url returned, after the test closed it.
  std::function<Status(const std::string&)> remove_store;
};

// Names the backend in test output (and keeps CTest names stable).
inline void PrintTo(const AuditTestBackend& backend, std::ostream* out) { *out << backend.name; }

class AuditLogTest : public ::testing::TestWithParam<AuditTestBackend> {
 protected:
  static constexpr int kCheckpointEvery = 10;
  static constexpr int64_t kStartMicros = 1'800'000'000'000'000;  // 2027-01-15

  void SetUp() override;
  void TearDown() override;

  // Appends `n` records, one transaction each, advancing the clock a second per record.
  void AppendRecords(int n);
  // The export as text; fails the test if the export fails.
  std::string ExportText();
  // Runs `sql` in its own transaction; fails the test on error.
  void Exec(const std::string& sql, const std::vector<SqlValue>& params = {});
  // Runs the query `sql` in a read-only transaction; fails the test on error.
  QueryResult Select(const std::string& sql, const std::vector<SqlValue>& params = {});
  bool IsSqlite() const { return store_->backend() == "sqlite"; }

  std::string url_;
  std::unique_ptr<MetadataStore> store_;
  SigningKey key_ = SigningKey::Generate();
  FakeClock clock_{kStartMicros};
  std::unique_ptr<AuditLog> log_;
  int next_event_ = 1;
};

}  // namespace plinth

#endif  // PLINTH_AUDIT_AUDIT_LOG_TEST_H_
