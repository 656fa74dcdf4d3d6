#include "audit/audit_log_test.h"

#include <algorithm>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "core/sha256.h"

namespace plinth {
namespace {

constexpr char kHmacKey[] = "audit-test-hmac-key";
constexpr char kGenesis[] =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

AuditEvent Event(int i) {
  AuditEvent event;
  event.actor = "user-" + std::to_string(i);
  event.action = "project.create";
  event.project = "credit-risk";
  event.resource = "project/p" + std::to_string(i);
  event.request_id = "req-" + std::to_string(i);
  event.outcome = "ok";
  event.details = {{"index", i}};
  return event;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

AuditVerifyReport VerifyText(const std::string& text, const std::string& public_key) {
  std::istringstream in(text);
  return VerifyAuditExport(in, public_key);
}

bool IsCheckpointLine(const std::string& line) { return line.rfind("{\"checkpoint\":", 0) == 0; }

// 0-based index of the line holding record `seq`.
size_t LineOf(const std::vector<std::string>& lines, int64_t seq) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (IsCheckpointLine(lines[i])) continue;
    if (Json::parse(lines[i])["seq"].get<int64_t>() == seq) return i;
  }
  ADD_FAILURE() << "no line holds record " << seq;
  return 0;
}

std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' not in " << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Rewrites a checkpoint line's signature (and, with `claim_key`, its key id) using `signer`.
std::string ResignCheckpoint(const std::string& line, const SigningKey& signer,
                             const std::string& claim_key_id) {
  Json inner = Json::parse(line)["checkpoint"];
  inner["key_id"] = claim_key_id;
  Json payload = {{"seq", inner["seq"]},
                  {"hash", inner["hash"]},
                  {"time", inner["time"]},
                  {"key_id", inner["key_id"]}};
  inner["signature"] = signer.Sign(*CanonicalJson(payload));
  return *CanonicalJson(Json{{"checkpoint", inner}});
}

void ExpectBad(const AuditVerifyReport& report, int64_t seq, int64_t line,
               const std::string& reason_part) {
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, seq) << report.reason;
  EXPECT_EQ(report.first_bad_line, line) << report.reason;
  EXPECT_NE(report.reason.find(reason_part), std::string::npos)
      << "reason: " << report.reason << "\nexpected to contain: " << reason_part;
}

}  // namespace

void AuditLogTest::SetUp() {
  StatusOr<std::string> url = GetParam().new_store_url();
  ASSERT_TRUE(url.ok()) << url.status();
  url_ = *url;
  StatusOr<std::unique_ptr<MetadataStore>> store = OpenMetadataStore(url_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  log_ = std::make_unique<AuditLog>(&key_, kHmacKey, &clock_, kCheckpointEvery);
}

void AuditLogTest::TearDown() {
  store_.reset();
  if (!url_.empty()) {
    Status removed = GetParam().remove_store(url_);
    EXPECT_TRUE(removed.ok()) << removed;
  }
}

void AuditLogTest::AppendRecords(int n) {
  for (int i = 0; i < n; ++i) {
    const int index = next_event_++;
    Status status = store_->RunInTransaction(
        [&](Transaction& tx) { return log_->Append(tx, Event(index)).status(); });
    ASSERT_TRUE(status.ok()) << status;
    clock_.Advance(1'000'000);
  }
}

std::string AuditLogTest::ExportText() {
  std::ostringstream out;
  Status status = log_->Export(*store_, out);
  EXPECT_TRUE(status.ok()) << status;
  return out.str();
}

void AuditLogTest::Exec(const std::string& sql, const std::vector<SqlValue>& params) {
  Status status =
      store_->RunInTransaction([&](Transaction& tx) { return tx.Execute(sql, params); });
  ASSERT_TRUE(status.ok()) << sql << ": " << status;
}

QueryResult AuditLogTest::Select(const std::string& sql, const std::vector<SqlValue>& params) {
  QueryResult result;
  Status status = store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(result, tx.Query(sql, params));
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << sql << ": " << status;
  return result;
}

// --- Appending ---------------------------------------------------------------------------------

TEST_P(AuditLogTest, RecordsFollowTheFormat) {
  AppendRecords(2);
  QueryResult rows = Select(
      "SELECT seq, time, actor, action, project, outcome, record, hash "
      "FROM audit_records ORDER BY seq");
  ASSERT_EQ(rows.rows.size(), 2u);
  Json first = Json::parse(rows.TextOrEmpty(0, 6));
  Json second = Json::parse(rows.TextOrEmpty(1, 6));
  EXPECT_EQ(first, (Json{{"seq", 1},
                         {"time", FormatTime(kStartMicros)},
                         {"actor", "user-1"},
                         {"action", "project.create"},
                         {"project", "credit-risk"},
                         {"resource", "project/p1"},
                         {"request_id", "req-1"},
                         {"outcome", "ok"},
                         {"details", {{"index", 1}}},
                         {"prev_hash", kGenesis}}));
  EXPECT_EQ(rows.TextOrEmpty(0, 6), *CanonicalJson(first));
  EXPECT_EQ(rows.TextOrEmpty(0, 7), Sha256Digest(rows.TextOrEmpty(0, 6)));
  EXPECT_EQ(rows.IntOrZero(0, 1), kStartMicros);
  EXPECT_EQ(rows.TextOrEmpty(0, 2), "user-1");
  EXPECT_EQ(rows.TextOrEmpty(0, 3), "project.create");
  EXPECT_EQ(rows.TextOrEmpty(0, 4), "credit-risk");
  EXPECT_EQ(rows.TextOrEmpty(0, 5), "ok");
  EXPECT_EQ(second["seq"], 2);
  EXPECT_EQ(second["prev_hash"], rows.TextOrEmpty(0, 7));
  EXPECT_EQ(second["time"], FormatTime(kStartMicros + 1'000'000));

  QueryResult head = Select("SELECT seq, hash FROM audit_head WHERE id = 1");
  EXPECT_EQ(head.IntOrZero(0, 0), 2);
  EXPECT_EQ(head.TextOrEmpty(0, 1), rows.TextOrEmpty(1, 7));
}

TEST_P(AuditLogTest, AppendedChainVerifies) {
  AppendRecords(25);
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;
  EXPECT_EQ(report->records, 25);
  EXPECT_EQ(report->checkpoints, 2);  // after records 10 and 20
  EXPECT_EQ(report->last_seq, 25);
  EXPECT_EQ(report->last_checkpoint_seq, 20);
  EXPECT_EQ(report->last_checkpoint_time, FormatTime(kStartMicros + 19'000'000));
}

TEST_P(AuditLogTest, EmptyChainVerifies) {
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;
  EXPECT_EQ(report->records, 0);
  std::string text = ExportText();
  EXPECT_EQ(text, "");
  AuditVerifyReport exported = VerifyText(text, key_.public_key());
  EXPECT_TRUE(exported.ok) << exported.reason;
}

TEST_P(AuditLogTest, AppendRefusesAnIncompleteEvent) {
  AuditEvent event = Event(1);
  event.action = "";
  Status status =
      store_->RunInTransaction([&](Transaction& tx) { return log_->Append(tx, event).status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(Select("SELECT seq FROM audit_head WHERE id = 1").IntOrZero(0, 0), 0);
}

TEST_P(AuditLogTest, InvalidUtf8IsReplacedAndTheChainStillVerifies) {
  AuditEvent event = Event(1);
  event.resource = "file/\xFF\xFE";
  event.details = {{"error", std::string("caf\xC3")}, {std::string("k\xE2\x82"), "v"}};
  Status status =
      store_->RunInTransaction([&](Transaction& tx) { return log_->Append(tx, event).status(); });
  ASSERT_TRUE(status.ok()) << status;
  Json record = Json::parse(Select("SELECT record FROM audit_records").TextOrEmpty(0, 0));
  EXPECT_EQ(record["resource"], "file/\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(record["details"]["error"], "caf\xEF\xBF\xBD");
  EXPECT_EQ(record["details"]["k\xEF\xBF\xBD\xEF\xBF\xBD"], "v");
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;
  AuditVerifyReport exported = VerifyText(ExportText(), key_.public_key());
  EXPECT_TRUE(exported.ok) << exported.reason;
}

TEST_P(AuditLogTest, DetailsNestedDeeperThanVerifiersReadAreRefused) {
  // The record object is level 1, "details" level 2: 62 more arrays reach level 64, the most
  // the verifiers' JSON reader accepts.
  Json nested = 1;
  for (int i = 0; i < 62; ++i) nested = Json::array({nested});
  AuditEvent event = Event(1);
  event.details = {{"x", nested}};
  Status status =
      store_->RunInTransaction([&](Transaction& tx) { return log_->Append(tx, event).status(); });
  ASSERT_TRUE(status.ok()) << status;
  AuditVerifyReport exported = VerifyText(ExportText(), key_.public_key());
  EXPECT_TRUE(exported.ok) << exported.reason;
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;

  event.details = {{"x", Json::array({nested})}};
  status =
      store_->RunInTransaction([&](Transaction& tx) { return log_->Append(tx, event).status(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(Select("SELECT seq FROM audit_head WHERE id = 1").IntOrZero(0, 0), 1);
}

TEST_P(AuditLogTest, CheckpointIsIdempotentAndSigned) {
  AppendRecords(5);
  for (int i = 0; i < 2; ++i) {
    Status status = store_->RunInTransaction([&](Transaction& tx) { return log_->Checkpoint(tx); });
    ASSERT_TRUE(status.ok()) << status;
  }
  QueryResult checkpoints =
      Select("SELECT seq, time, hash, key_id, signature FROM audit_checkpoints ORDER BY seq");
  ASSERT_EQ(checkpoints.rows.size(), 1u);
  EXPECT_EQ(checkpoints.IntOrZero(0, 0), 5);
  EXPECT_EQ(checkpoints.TextOrEmpty(0, 2),
            Select("SELECT hash FROM audit_records WHERE seq = 5").TextOrEmpty(0, 0));
  EXPECT_EQ(checkpoints.TextOrEmpty(0, 3), key_.KeyId());
  Json payload = {{"seq", 5},
                  {"hash", checkpoints.TextOrEmpty(0, 2)},
                  {"time", FormatTime(checkpoints.IntOrZero(0, 1))},
                  {"key_id", key_.KeyId()}};
  EXPECT_TRUE(
      VerifySignature(key_.public_key(), *CanonicalJson(payload), checkpoints.TextOrEmpty(0, 4)));

  AppendRecords(5);  // record 10 brings an automatic checkpoint
  Status status = store_->RunInTransaction([&](Transaction& tx) { return log_->Checkpoint(tx); });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Select("SELECT seq FROM audit_checkpoints ORDER BY seq").rows.size(), 2u);
}

TEST_P(AuditLogTest, TailReturnsTheLastRecordsOldestFirst) {
  AppendRecords(5);
  Status status = store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(std::vector<Json> tail, log_->Tail(tx, 3));
    EXPECT_EQ(tail.size(), 3u);
    for (size_t i = 0; i < tail.size(); ++i) EXPECT_EQ(tail[i]["seq"], static_cast<int>(i) + 3);
    ASSIGN_OR_RETURN(std::vector<Json> all, log_->Tail(tx, 100));
    EXPECT_EQ(all.size(), 5u);
    EXPECT_EQ(log_->Tail(tx, -1).status().code(), absl::StatusCode::kInvalidArgument);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
}

// --- Secrets -----------------------------------------------------------------------------------

TEST_P(AuditLogTest, SecretsNeverReachTheStoreRaw) {
  const std::string raw_token = "plt_RAW_TOKEN_5f3c9a";
  const std::string raw_password = "hunter2-RAW-PASSWORD";
  const std::string raw_key = "RAW-API-KEY-771";
  AuditEvent event = Event(1);
  event.action = "token.create";
  event.details = {{"token", raw_token},
                   {"user", "alice"},
                   {"login", {{"DB_Password", raw_password}}},
                   {"api_keys", {raw_key}},
                   {"key_count", 1}};
  Status status =
      store_->RunInTransaction([&](Transaction& tx) { return log_->Append(tx, event).status(); });
  ASSERT_TRUE(status.ok()) << status;

  QueryResult rows = Select("SELECT record FROM audit_records");
  ASSERT_EQ(rows.rows.size(), 1u);
  const std::string stored = rows.TextOrEmpty(0, 0);
  const std::string exported = ExportText();
  for (const std::string& secret : {raw_token, raw_password, raw_key}) {
    EXPECT_EQ(stored.find(secret), std::string::npos) << secret << " stored raw: " << stored;
    EXPECT_EQ(exported.find(secret), std::string::npos) << secret << " exported raw";
  }
  Json details = Json::parse(stored)["details"];
  EXPECT_EQ(details["token"], "hmac-sha256:" + HmacSha256Hex(kHmacKey, raw_token));
  EXPECT_EQ(details["login"]["DB_Password"],
            "hmac-sha256:" + HmacSha256Hex(kHmacKey, raw_password));
  EXPECT_EQ(details["api_keys"][0], "hmac-sha256:" + HmacSha256Hex(kHmacKey, raw_key));
  EXPECT_EQ(details["user"], "alice");
  EXPECT_EQ(details["key_count"], 1);
}

// --- Fail closed and concurrency -----------------------------------------------------------------

TEST_P(AuditLogTest, FailedAuditWriteRollsBackTheChange) {
  Exec("CREATE TABLE audit_test_changes (id TEXT PRIMARY KEY)");
  AppendRecords(3);
  if (IsSqlite()) {
    Exec(
        "CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records "
        "BEGIN SELECT RAISE(ABORT, 'audit disk full'); END");
  } else {
    Exec(
        "CREATE FUNCTION audit_fail() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'audit disk full'; END $$ LANGUAGE plpgsql");
    Exec(
        "CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records "
        "FOR EACH ROW EXECUTE FUNCTION audit_fail()");
  }
  Status status = store_->RunInTransaction([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO audit_test_changes (id) VALUES (?)", {"change-1"}));
    return log_->Append(tx, Event(4)).status();
  });
  EXPECT_FALSE(status.ok());
  EXPECT_NE(std::string(status.message()).find("audit disk full"), std::string::npos) << status;
  EXPECT_TRUE(Select("SELECT id FROM audit_test_changes").rows.empty());
  EXPECT_EQ(Select("SELECT seq FROM audit_head WHERE id = 1").IntOrZero(0, 0), 3);

  Exec(IsSqlite() ? "DROP TRIGGER audit_fail" : "DROP TRIGGER audit_fail ON audit_records");
  status = store_->RunInTransaction([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute("INSERT INTO audit_test_changes (id) VALUES (?)", {"change-1"}));
    return log_->Append(tx, Event(4)).status();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Select("SELECT id FROM audit_test_changes").rows.size(), 1u);
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;
  EXPECT_EQ(report->records, 4);
}

TEST_P(AuditLogTest, ConcurrentAppendsFormAGapFreeChain) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  Exec("CREATE TABLE audit_test_changes (id TEXT PRIMARY KEY)");
  std::mutex mu;
  std::vector<int64_t> seqs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int index = t * kPerThread + i;
        int64_t seq = 0;
        Status status = store_->RunInTransaction([&](Transaction& tx) -> Status {
          RETURN_IF_ERROR(tx.Execute("INSERT INTO audit_test_changes (id) VALUES (?)",
                                     {"change-" + std::to_string(index)}));
          ASSIGN_OR_RETURN(seq, log_->Append(tx, Event(index)));
          return absl::OkStatus();
        });
        EXPECT_TRUE(status.ok()) << status;
        std::lock_guard<std::mutex> lock(mu);
        seqs.push_back(seq);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::sort(seqs.begin(), seqs.end());
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i) + 1);
  EXPECT_EQ(Select("SELECT id FROM audit_test_changes").rows.size(),
            static_cast<size_t>(kThreads * kPerThread));

  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->reason;
  EXPECT_EQ(report->records, kThreads * kPerThread);
  EXPECT_EQ(report->checkpoints, kThreads * kPerThread / kCheckpointEvery);
  AuditVerifyReport exported = VerifyText(ExportText(), key_.public_key());
  EXPECT_TRUE(exported.ok) << exported.reason;
}

// --- Export and its verification
// ------------------------------------------------------------------ 25 records with a checkpoint
// every 10 export as 28 lines: records 1-10 on lines 1-10, checkpoint 10 on line 11, records 11-20
// on lines 12-21, checkpoint 20 on line 22, records 21-25 on lines 23-27 and the export's
// checkpoint of record 25 on line 28.

TEST_P(AuditLogTest, ExportVerifies) {
  AppendRecords(25);
  const std::string text = ExportText();
  std::vector<std::string> lines = SplitLines(text);
  ASSERT_EQ(lines.size(), 28u);
  EXPECT_TRUE(IsCheckpointLine(lines[10]));
  EXPECT_TRUE(IsCheckpointLine(lines[21]));
  ASSERT_TRUE(IsCheckpointLine(lines[27]));
  EXPECT_EQ(Json::parse(lines[27])["checkpoint"]["seq"], 25);
  EXPECT_EQ(LineOf(lines, 12), 12u);

  Json record = Json::parse(lines[0]);
  EXPECT_EQ(record["hash"],
            Select("SELECT hash FROM audit_records WHERE seq = 1").TextOrEmpty(0, 0));
  record.erase("hash");
  EXPECT_EQ(*CanonicalJson(record),
            Select("SELECT record FROM audit_records WHERE seq = 1").TextOrEmpty(0, 0));

  AuditVerifyReport report = VerifyText(text, key_.public_key());
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.records, 25);
  EXPECT_EQ(report.checkpoints, 3);
  EXPECT_EQ(report.last_checkpoint_seq, 25);

  // The export's checkpoint is stored too, and exporting again changes nothing.
  EXPECT_EQ(Select("SELECT seq FROM audit_checkpoints WHERE seq = 25").rows.size(), 1u);
  EXPECT_EQ(ExportText(), text);
  StatusOr<AuditVerifyReport> stored = log_->VerifyStore(*store_);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(stored->ok) << stored->reason;
  EXPECT_EQ(stored->last_checkpoint_seq, 25);
}

TEST_P(AuditLogTest, EveryChangedByteOfAnExportIsDetected) {
  AppendRecords(12);  // records, a checkpoint at 10, two more records, the final checkpoint
  const std::string text = ExportText();
  ASSERT_TRUE(VerifyText(text, key_.public_key()).ok);
  for (size_t i = 0; i < text.size(); ++i) {
    for (unsigned char flip : {0x01, 0x20}) {
      std::string changed = text;
      changed[i] = static_cast<char>(changed[i] ^ flip);
      AuditVerifyReport report = VerifyText(changed, key_.public_key());
      EXPECT_FALSE(report.ok) << "byte " << i << " ^ " << int{flip} << " went unnoticed";
    }
  }
}

TEST_P(AuditLogTest, ExportWithAChangedFieldFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines[12] = ReplaceOnce(lines[12], "\"actor\":\"user-12\"", "\"actor\":\"mallory\"");
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 12, 13,
            "line 13: record 12 hash mismatch (a field was changed)");
}

TEST_P(AuditLogTest, ExportWithARewrittenAndRehashedRecordFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  Json record = Json::parse(lines[12]);
  record["actor"] = "mallory";
  record.erase("hash");
  record["hash"] = Sha256Digest(*CanonicalJson(record));
  lines[12] = *CanonicalJson(record);
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 12, 13,
            "line 14: record 13 does not link to record 12");
}

TEST_P(AuditLogTest, ExportWithADeletedLineFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines.erase(lines.begin() + 6);  // record 7
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 7, 7,
            "line 7: expected record 7, found record 8 (a record was deleted or lines reordered)");
}

TEST_P(AuditLogTest, ExportWithSwappedLinesFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  std::swap(lines[4], lines[5]);  // records 5 and 6
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 5, 5,
            "line 5: expected record 5, found record 6");
}

TEST_P(AuditLogTest, ExportWithTheFinalCheckpointCutFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines.pop_back();
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 25, 27,
            "file ends at record 25 with no signed checkpoint covering it (the tail was cut)");
}

TEST_P(AuditLogTest, ExportWithTheLastLinesCutFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines.resize(lines.size() - 3);  // checkpoint 25, records 25 and 24
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 23, 25,
            "file ends at record 23 with no signed checkpoint covering it");
}

TEST_P(AuditLogTest, ExportWithLastRecordsCutButFinalCheckpointKeptFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines.erase(lines.begin() + 25, lines.begin() + 27);  // records 24 and 25
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 24, 26,
            "line 26: checkpoint of record 25 follows record 23: records 24 to 25 are missing");
}

TEST_P(AuditLogTest, ExportCutInTheMiddleOfALineFails) {
  AppendRecords(25);
  const std::string text = ExportText();
  // In the final checkpoint: record 25 is left uncovered.
  ExpectBad(VerifyText(text.substr(0, text.size() - 10), key_.public_key()), 25, 28,
            "line 28: the file ends in the middle of a line (it was cut)");
  // In record 25: that record is the first bad one.
  std::vector<std::string> lines = SplitLines(text);
  std::string cut = JoinLines({lines.begin(), lines.begin() + 26});
  cut += lines[26].substr(0, lines[26].size() / 2);
  ExpectBad(VerifyText(cut, key_.public_key()), 25, 27, "line 27: the file ends in the middle");
}

TEST_P(AuditLogTest, ExportCutAfterAnOlderCheckpointShowsInTheReport) {
  // A cut right after an older checkpoint cannot be told from a shorter chain by the file alone;
  // the report says how far the signatures reach and when they were made.
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines.resize(22);  // through checkpoint 20
  AuditVerifyReport report = VerifyText(JoinLines(lines), key_.public_key());
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.last_seq, 20);
  EXPECT_EQ(report.last_checkpoint_seq, 20);
  EXPECT_EQ(report.last_checkpoint_time, FormatTime(kStartMicros + 19'000'000));
}

TEST_P(AuditLogTest, ExportWithAForgedFinalCheckpointFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  SigningKey forger = SigningKey::Generate();
  lines[27] = ResignCheckpoint(lines[27], forger, key_.KeyId());
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 25, 28,
            "line 28: checkpoint of record 25: signature does not verify against the platform key");
}

TEST_P(AuditLogTest, ExportWithAnAlteredIntermediateSignatureFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  Json line = Json::parse(lines[10]);
  std::string signature = line["checkpoint"]["signature"];
  signature[5] = signature[5] == 'A' ? 'B' : 'A';
  line["checkpoint"]["signature"] = signature;
  lines[10] = *CanonicalJson(line);
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 10, 11,
            "line 11: checkpoint of record 10: signature does not verify");
}

TEST_P(AuditLogTest, ExportVerifiedWithAnotherKeyFails) {
  AppendRecords(25);
  SigningKey other = SigningKey::Generate();
  ExpectBad(VerifyText(ExportText(), other.public_key()), 10, 11,
            "line 11: checkpoint of record 10 is signed by key");
}

TEST_P(AuditLogTest, ExportSignedByAKeyThatIsNotThePlatformsFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  SigningKey other = SigningKey::Generate();
  for (auto& line : lines) {
    if (IsCheckpointLine(line)) line = ResignCheckpoint(line, other, other.KeyId());
  }
  const std::string text = JoinLines(lines);
  EXPECT_TRUE(VerifyText(text, other.public_key()).ok);
  ExpectBad(VerifyText(text, key_.public_key()), 10, 11, "not the platform key");
}

TEST_P(AuditLogTest, ExportWithAMalformedLineFails) {
  AppendRecords(25);
  std::vector<std::string> lines = SplitLines(ExportText());
  lines[2] = "{\"seq\": 3, not json";
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 3, 3, "line 3: not valid JSON");
  lines[2] = "";
  ExpectBad(VerifyText(JoinLines(lines), key_.public_key()), 3, 3, "line 3: not valid JSON");
}

// --- Tampering in the store
// -------------------------------------------------------------------------

TEST_P(AuditLogTest, StoreWithAChangedRecordFails) {
  AppendRecords(25);
  std::string text = Select("SELECT record FROM audit_records WHERE seq = 12").TextOrEmpty(0, 0);
  Exec("UPDATE audit_records SET record = ? WHERE seq = 12",
       {ReplaceOnce(text, "\"actor\":\"user-12\"", "\"actor\":\"mallory\"")});
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 12, 0, "record 12 hash mismatch");
}

TEST_P(AuditLogTest, StoreWithAChangedColumnFails) {
  AppendRecords(25);
  Exec("UPDATE audit_records SET actor = 'mallory' WHERE seq = 12");
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 12, 0, "record 12: column 'actor' does not match the record");
}

TEST_P(AuditLogTest, StoreWithADeletedMiddleRecordFails) {
  AppendRecords(25);
  Exec("DELETE FROM audit_records WHERE seq = 7");
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 7, 0, "expected record 7, found record 8");
}

TEST_P(AuditLogTest, StoreWithADeletedTailAndRolledBackHeadFails) {
  AppendRecords(25);
  Status status = store_->RunInTransaction([&](Transaction& tx) { return log_->Checkpoint(tx); });
  ASSERT_TRUE(status.ok()) << status;
  std::string hash24 = Select("SELECT hash FROM audit_records WHERE seq = 24").TextOrEmpty(0, 0);
  Exec("DELETE FROM audit_records WHERE seq = 25");
  Exec("UPDATE audit_head SET seq = 24, hash = ? WHERE id = 1", {hash24});
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 25, 0,
            "checkpoint of record 25, but the chain ends at record 24: record 25 is missing");
}

TEST_P(AuditLogTest, StoreWithADeletedTailAndTheHeadLeftFails) {
  AppendRecords(25);
  Exec("DELETE FROM audit_records WHERE seq = 25");
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 25, 0, "the head says the chain ends at record 25 but the last record is 24");
}

TEST_P(AuditLogTest, StoreWithAForgedCheckpointFails) {
  AppendRecords(25);
  SigningKey forger = SigningKey::Generate();
  Exec("UPDATE audit_checkpoints SET signature = ? WHERE seq = 10", {forger.Sign("anything")});
  StatusOr<AuditVerifyReport> report = log_->VerifyStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  ExpectBad(*report, 10, 0, "checkpoint of record 10: signature does not verify");
}

}  // namespace plinth
