// Verification of an exported chain (VerifyAuditExport) and of the chain in the store
// (AuditLog::VerifyStore). Both feed the same ChainChecker; see docs/formats/audit.md.
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "audit/audit_chain.h"
#include "audit/audit_log.h"
#include "core/clock.h"

namespace plinth {
namespace {

using audit_internal::ChainChecker;
using audit_internal::CheckpointData;
using audit_internal::kPageRows;

enum class LineRead { kLine, kEnd, kNoNewline, kTooLong, kError };

// Reads one '\n'-terminated line (without the '\n') of at most `max_bytes`, so a hostile file
// cannot make the verifier hold more than one bounded line.
LineRead ReadLine(std::istream& in, size_t max_bytes, std::string* line) {
  line->clear();
  std::streambuf* buf = in.rdbuf();
  if (buf == nullptr || !in.good()) return in.eof() ? LineRead::kEnd : LineRead::kError;
  while (true) {
    int c = buf->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return line->empty() ? LineRead::kEnd : LineRead::kNoNewline;
    }
    if (c == '\n') return LineRead::kLine;
    if (line->size() == max_bytes) return LineRead::kTooLong;
    line->push_back(static_cast<char>(c));
  }
}

std::string LinePrefix(int64_t line) { return "line " + std::to_string(line) + ": "; }

// The seq a broken line most likely holds, for the report: its own if readable, else the next.
int64_t SeqOf(const Json& value, const ChainChecker& checker) {
  if (value.is_object() && value.contains("seq") && value["seq"].is_number_integer()) {
    return value["seq"].get<int64_t>();
  }
  return checker.last_seq() + 1;
}

// Checks one export line; false once the chain is known to be bad.
bool CheckExportLine(int64_t line_no, const std::string& line, ChainChecker& checker) {
  const int64_t next = checker.last_seq() + 1;
  StatusOr<Json> parsed = ParseJson(line);
  if (!parsed.ok()) {
    return checker.Fail(
        next, line_no,
        LinePrefix(line_no) + "not valid JSON (" + std::string(parsed.status().message()) + ")");
  }
  Json& value = *parsed;
  if (!value.is_object()) {
    return checker.Fail(next, line_no, LinePrefix(line_no) + "not a JSON object");
  }
  StatusOr<std::string> canonical = CanonicalJson(value);
  if (!canonical.ok() || *canonical != line) {
    return checker.Fail(
        SeqOf(value, checker), line_no,
        LinePrefix(line_no) + "not in canonical JSON form (the line was edited by hand or a tool)");
  }
  if (value.contains("checkpoint")) {
    std::optional<CheckpointData> checkpoint;
    if (value.size() == 1) checkpoint = audit_internal::CheckpointFromJson(value["checkpoint"]);
    if (!checkpoint.has_value()) {
      return checker.Fail(next, line_no,
                          LinePrefix(line_no) +
                              "malformed checkpoint (expected seq, hash, time, key_id, signature)");
    }
    return checker.AddCheckpoint(line_no, *checkpoint);
  }
  if (!value.contains("hash") || !value["hash"].is_string()) {
    return checker.Fail(SeqOf(value, checker), line_no, LinePrefix(line_no) + "record has no hash");
  }
  std::string claimed_hash = value["hash"].get<std::string>();
  value.erase("hash");
  StatusOr<std::string> text = CanonicalJson(value);
  if (!text.ok()) {
    return checker.Fail(SeqOf(value, checker), line_no, LinePrefix(line_no) + "unreadable record");
  }
  return checker.AddRecord(line_no, value, *text, claimed_hash);
}

// Store-only checks of one record row: canonical text and the query columns agree with it.
bool CheckStoredColumns(int64_t seq, const Json& record, const std::string& text,
                        const QueryResult& page, size_t row, ChainChecker& checker) {
  const std::string name = "record " + std::to_string(seq);
  StatusOr<std::string> canonical = CanonicalJson(record);
  if (!canonical.ok() || *canonical != text) {
    return checker.Fail(seq, 0, name + ": stored text is not in canonical form (it was changed)");
  }
  std::optional<int64_t> time = ParseTime(record["time"].get<std::string>());
  if (!time.has_value() || *time != page.IntOrZero(row, 1)) {
    return checker.Fail(seq, 0,
                        name +
                            ": column 'time' does not match the record (the column "
                            "was changed)");
  }
  const char* columns[] = {"actor", "action", "project", "outcome"};
  for (size_t i = 0; i < 4; ++i) {
    if (page.TextOrEmpty(row, 2 + i) != record[columns[i]].get<std::string>()) {
      return checker.Fail(seq, 0,
                          name + ": column '" + columns[i] +
                              "' does not match the record (the column was changed)");
    }
  }
  return true;
}

// Feeds the stored checkpoints with seq <= `seq` to the checker.
Status FeedCheckpointsThrough(int64_t seq, audit_internal::StoredCheckpoints& checkpoints,
                              ChainChecker& checker) {
  while (!checker.failed()) {
    ASSIGN_OR_RETURN(const CheckpointData* checkpoint, checkpoints.Peek());
    if (checkpoint == nullptr || checkpoint->seq > seq) break;
    checker.AddCheckpoint(0, *checkpoint);
    checkpoints.Pop();
  }
  return absl::OkStatus();
}

Status CheckHead(Transaction& tx, ChainChecker& checker) {
  ASSIGN_OR_RETURN(QueryResult head, tx.Query("SELECT seq, hash FROM audit_head WHERE id = 1"));
  const int64_t last = checker.last_seq();
  if (head.rows.size() != 1) {
    checker.Fail(last + 1, 0, "the chain head row (audit_head id 1) is missing");
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(int64_t head_seq, head.Int(0, 0));
  ASSIGN_OR_RETURN(std::string head_hash, head.Text(0, 1));
  if (head_seq > last) {
    checker.Fail(last + 1, 0,
                 "the head says the chain ends at record " + std::to_string(head_seq) +
                     " but the last record is " + std::to_string(last) + " (the tail was deleted)");
  } else if (head_seq < last) {
    checker.Fail(head_seq + 1, 0,
                 "the head says the chain ends at record " + std::to_string(head_seq) +
                     " but records up to " + std::to_string(last) +
                     " exist (the head was rolled back or records were added)");
  } else if (head_hash != checker.last_hash()) {
    checker.Fail(last, 0,
                 "the head's hash does not match record " + std::to_string(last) +
                     " (the head or the record was rewritten)");
  }
  return absl::OkStatus();
}

}  // namespace

AuditVerifyReport VerifyAuditExport(std::istream& in, const std::string& public_key) {
  ChainChecker checker(public_key, ChainChecker::Source::kExport);
  std::string line;
  int64_t line_no = 0;
  while (!checker.failed()) {
    LineRead read = ReadLine(in, audit_internal::kMaxLineBytes, &line);
    if (read == LineRead::kEnd) break;
    ++line_no;
    const int64_t next = checker.last_seq() + 1;
    if (read == LineRead::kError) {
      checker.Fail(next, line_no, LinePrefix(line_no) + "the file could not be read");
    } else if (read == LineRead::kTooLong) {
      checker.Fail(next, line_no,
                   LinePrefix(line_no) + "longer than " +
                       std::to_string(audit_internal::kMaxLineBytes) + " bytes");
    } else if (read == LineRead::kNoNewline) {
      // A cut final checkpoint leaves the last record uncovered; a cut record is the next one.
      const bool checkpoint = line.rfind("{\"checkpoint\"", 0) == 0 && checker.last_seq() > 0;
      checker.Fail(checkpoint ? checker.last_seq() : next, line_no,
                   LinePrefix(line_no) + "the file ends in the middle of a line (it was cut)");
    } else {
      CheckExportLine(line_no, line, checker);
    }
  }
  if (!checker.failed() && !checker.tail_covered()) {
    checker.Fail(checker.last_seq(), checker.last_line(),
                 "file ends at record " + std::to_string(checker.last_seq()) +
                     " with no signed checkpoint covering it (the tail was cut)");
  }
  return checker.Report();
}

StatusOr<AuditVerifyReport> AuditLog::VerifyStore(MetadataStore& store) const {
  std::optional<ChainChecker> checker;
  RETURN_IF_ERROR(store.RunReadOnly([&](Transaction& tx) -> Status {
    checker.emplace(key_->public_key(), ChainChecker::Source::kStore);
    audit_internal::StoredCheckpoints checkpoints(tx, std::numeric_limits<int64_t>::max());
    int64_t after = std::numeric_limits<int64_t>::min();
    while (!checker->failed()) {
      ASSIGN_OR_RETURN(QueryResult page,
                       tx.Query("SELECT seq, time, actor, action, project, outcome, record, hash "
                                "FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?",
                                {after, kPageRows}));
      for (size_t row = 0; row < page.rows.size() && !checker->failed(); ++row) {
        ASSIGN_OR_RETURN(int64_t seq, page.Int(row, 0));
        ASSIGN_OR_RETURN(std::string text, page.Text(row, 6));
        ASSIGN_OR_RETURN(std::string hash, page.Text(row, 7));
        after = seq;
        const int64_t expected = checker->last_seq() + 1;
        if (seq != expected) {
          checker->Fail(expected, 0,
                        "expected record " + std::to_string(expected) + ", found record " +
                            std::to_string(seq) + " (a record was deleted or renumbered)");
          break;
        }
        StatusOr<Json> record = ParseJson(text);
        if (!record.ok()) {
          checker->Fail(
              seq, 0,
              "record " + std::to_string(seq) + ": stored text is not valid JSON (it was changed)");
          break;
        }
        if (!checker->AddRecord(0, *record, text, hash)) break;
        if (!CheckStoredColumns(seq, *record, text, page, row, *checker)) break;
        RETURN_IF_ERROR(FeedCheckpointsThrough(seq, checkpoints, *checker));
      }
      if (static_cast<int64_t>(page.rows.size()) < kPageRows) break;
    }
    if (checker->failed()) return absl::OkStatus();
    // Checkpoints past the last record: the records they signed are gone.
    RETURN_IF_ERROR(
        FeedCheckpointsThrough(std::numeric_limits<int64_t>::max(), checkpoints, *checker));
    if (checker->failed()) return absl::OkStatus();
    return CheckHead(tx, *checker);
  }));
  return checker->Report();
}

}  // namespace plinth
