#include "audit/audit_chain.h"

#include <utility>

#include "core/clock.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/signing.h"

namespace plinth::audit_internal {
namespace {

// Fields every record carries besides seq, prev_hash and details (docs/formats/audit.md).
constexpr const char* kStringFields[] = {"action",     "actor",    "outcome", "project",
                                         "request_id", "resource", "time"};

std::string ShortKeyId(const std::string& key_id) {
  return key_id.size() > 16 ? key_id.substr(0, 16) + "..." : key_id;
}

std::string RecordName(int64_t seq) { return "record " + std::to_string(seq); }

}  // namespace

StatusOr<std::string> CheckpointPayload(const CheckpointData& checkpoint) {
  Json payload = {{"seq", checkpoint.seq},
                  {"hash", checkpoint.hash},
                  {"time", checkpoint.time},
                  {"key_id", checkpoint.key_id}};
  return CanonicalJson(payload);
}

StatusOr<std::string> CheckpointLine(const CheckpointData& checkpoint) {
  Json inner = {{"seq", checkpoint.seq},
                {"hash", checkpoint.hash},
                {"time", checkpoint.time},
                {"key_id", checkpoint.key_id},
                {"signature", checkpoint.signature}};
  return CanonicalJson(Json{{"checkpoint", std::move(inner)}});
}

std::optional<CheckpointData> CheckpointFromJson(const Json& inner) {
  if (!inner.is_object() || inner.size() != 5) return std::nullopt;
  for (const char* field : {"hash", "time", "key_id", "signature"}) {
    if (!inner.contains(field) || !inner[field].is_string()) return std::nullopt;
  }
  if (!inner.contains("seq") || !inner["seq"].is_number_integer()) return std::nullopt;
  CheckpointData checkpoint;
  checkpoint.seq = inner["seq"].get<int64_t>();
  checkpoint.hash = inner["hash"].get<std::string>();
  checkpoint.time = inner["time"].get<std::string>();
  checkpoint.key_id = inner["key_id"].get<std::string>();
  checkpoint.signature = inner["signature"].get<std::string>();
  if (!ParseTime(checkpoint.time).has_value()) return std::nullopt;
  return checkpoint;
}

StatusOr<const CheckpointData*> StoredCheckpoints::Peek() {
  if (next_ < page_.size()) return &page_[next_];
  if (exhausted_) return nullptr;
  ASSIGN_OR_RETURN(QueryResult result,
                   tx_.Query("SELECT seq, time, hash, key_id, signature FROM audit_checkpoints "
                             "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                             {after_seq_, max_seq_, kPageRows}));
  page_.clear();
  next_ = 0;
  for (size_t row = 0; row < result.rows.size(); ++row) {
    CheckpointData checkpoint;
    ASSIGN_OR_RETURN(checkpoint.seq, result.Int(row, 0));
    ASSIGN_OR_RETURN(int64_t time, result.Int(row, 1));
    checkpoint.time = FormatTime(time);
    ASSIGN_OR_RETURN(checkpoint.hash, result.Text(row, 2));
    ASSIGN_OR_RETURN(checkpoint.key_id, result.Text(row, 3));
    ASSIGN_OR_RETURN(checkpoint.signature, result.Text(row, 4));
    page_.push_back(std::move(checkpoint));
  }
  if (static_cast<int64_t>(page_.size()) < kPageRows) exhausted_ = true;
  if (page_.empty()) return nullptr;
  after_seq_ = page_.back().seq;
  return &page_[0];
}

ChainChecker::ChainChecker(std::string public_key, Source source)
    : public_key_(std::move(public_key)), key_id_(HexEncode(public_key_)), source_(source) {}

std::string ChainChecker::Where(int64_t line) const {
  return source_ == Source::kExport ? "line " + std::to_string(line) + ": " : "";
}

bool ChainChecker::Fail(int64_t seq, int64_t line, std::string reason) {
  if (failed_) return false;
  failed_ = true;
  first_bad_seq_ = seq;
  first_bad_line_ = source_ == Source::kExport ? line : 0;
  reason_ = std::move(reason);
  return false;
}

bool ChainChecker::AddRecord(int64_t line, const Json& record, const std::string& canonical_text,
                             const std::string& claimed_hash) {
  if (failed_) return false;
  const int64_t expected = last_seq_ + 1;
  if (!record.is_object() || !record.contains("seq") || !record["seq"].is_number_integer()) {
    return Fail(expected, line,
                Where(line) + "expected " + RecordName(expected) +
                    ", found a line that is neither a record nor a checkpoint");
  }
  const int64_t seq = record["seq"].get<int64_t>();
  if (seq != expected) {
    const char* why = source_ == Source::kExport ? " (a record was deleted or lines reordered)"
                                                 : " (a record was deleted or renumbered)";
    return Fail(
        expected, line,
        Where(line) + "expected " + RecordName(expected) + ", found " + RecordName(seq) + why);
  }
  if (Sha256Digest(canonical_text) != claimed_hash) {
    const char* why =
        source_ == Source::kExport ? " (a field was changed)" : " (its stored text was changed)";
    return Fail(seq, line, Where(line) + RecordName(seq) + " hash mismatch" + why);
  }
  if (!record.contains("prev_hash") || !record["prev_hash"].is_string()) {
    return Fail(seq, line, Where(line) + RecordName(seq) + " has no prev_hash");
  }
  if (record["prev_hash"].get<std::string>() != last_hash_) {
    if (seq == 1) {
      return Fail(seq, line,
                  Where(line) +
                      "record 1 does not start the chain (its prev_hash is not the "
                      "genesis hash; records before it were removed or it was replaced)");
    }
    // Record seq is intact (its hash matched), so the record before it was rewritten, hash and
    // all, or this record was spliced in from another chain.
    return Fail(seq - 1, last_line_,
                Where(line) + RecordName(seq) + " does not link to " + RecordName(seq - 1) +
                    " (its prev_hash is not the hash of " + RecordName(seq - 1) +
                    ": that record was rewritten or records were spliced)");
  }
  for (const char* field : kStringFields) {
    if (!record.contains(field) || !record[field].is_string()) {
      return Fail(
          seq, line,
          Where(line) + RecordName(seq) + ": field '" + field + "' is missing or not a string");
    }
  }
  if (!ParseTime(record["time"].get<std::string>()).has_value()) {
    return Fail(seq, line, Where(line) + RecordName(seq) + ": time is not an RFC 3339 time");
  }
  if (!record.contains("details")) {
    return Fail(seq, line, Where(line) + RecordName(seq) + ": field 'details' is missing");
  }
  last_seq_ = seq;
  last_hash_ = claimed_hash;
  last_line_ = line;
  ++records_;
  return true;
}

bool ChainChecker::AddCheckpoint(int64_t line, const CheckpointData& checkpoint) {
  if (failed_) return false;
  const std::string what = "checkpoint of " + RecordName(checkpoint.seq);
  if (checkpoint.seq != last_seq_) {
    if (checkpoint.seq > last_seq_) {
      std::string missing = checkpoint.seq == last_seq_ + 1
                                ? RecordName(last_seq_ + 1) + " is missing"
                                : "records " + std::to_string(last_seq_ + 1) + " to " +
                                      std::to_string(checkpoint.seq) + " are missing";
      const char* after = source_ == Source::kExport ? " follows " : ", but the chain ends at ";
      return Fail(last_seq_ + 1, line,
                  Where(line) + what + after +
                      (last_seq_ == 0 ? std::string("no record") : RecordName(last_seq_)) + ": " +
                      missing + " (deleted, or the tail was cut)");
    }
    const char* why = source_ == Source::kExport ? " (lines were reordered)"
                                                 : " (it covers no record of the chain)";
    return Fail(checkpoint.seq, line,
                Where(line) + what + " is not right after " + RecordName(checkpoint.seq) + why);
  }
  if (checkpoint.key_id != key_id_) {
    return Fail(checkpoint.seq, line,
                Where(line) + what + " is signed by key " + ShortKeyId(checkpoint.key_id) +
                    ", not the platform key " + ShortKeyId(key_id_));
  }
  StatusOr<std::string> payload = CheckpointPayload(checkpoint);
  if (!payload.ok() || !VerifySignature(public_key_, *payload, checkpoint.signature)) {
    return Fail(checkpoint.seq, line,
                Where(line) + what +
                    ": signature does not verify against the platform key (a forged or altered "
                    "checkpoint)");
  }
  if (checkpoint.hash != last_hash_) {
    return Fail(checkpoint.seq, last_line_,
                Where(line) + what + " does not match " + RecordName(checkpoint.seq) +
                    " (the record was changed after it was signed)");
  }
  last_checkpoint_seq_ = checkpoint.seq;
  last_checkpoint_time_ = checkpoint.time;
  ++checkpoints_;
  return true;
}

AuditVerifyReport ChainChecker::Report() const {
  AuditVerifyReport report;
  report.ok = !failed_;
  report.records = records_;
  report.checkpoints = checkpoints_;
  report.first_bad_seq = first_bad_seq_;
  report.first_bad_line = first_bad_line_;
  report.reason = reason_;
  report.last_seq = last_seq_;
  report.last_checkpoint_seq = last_checkpoint_seq_;
  report.last_checkpoint_time = last_checkpoint_time_;
  return report;
}

}  // namespace plinth::audit_internal
