// Internal to the audit module: the record and checkpoint formats of docs/formats/audit.md and
// the chain checker shared by the export verifier and the store verifier, so both apply the same
// rules in the same order and word their findings the same way.
#ifndef PLINTH_AUDIT_AUDIT_CHAIN_H_
#define PLINTH_AUDIT_AUDIT_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/json.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth::audit_internal {

// prev_hash of record 1.
inline constexpr char kGenesisHash[] =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
// Largest canonical record Append writes; export lines may be this plus the "hash" field.
inline constexpr size_t kMaxRecordBytes = 1 << 20;
inline constexpr size_t kMaxLineBytes = kMaxRecordBytes + 1024;
// Deepest nesting of a record (the record object is 1): what ParseJson reads by default.
inline constexpr int kMaxDepth = 64;
// Rows read per query when streaming the chain out of the store.
inline constexpr int64_t kPageRows = 1000;

struct CheckpointData {
  int64_t seq = 0;
  std::string hash;
  std::string time;  // RFC 3339, as FormatTime writes it
  std::string key_id;
  std::string signature;  // base64 Ed25519 over SignedPayload()
};

// The canonical JSON {"hash","key_id","seq","time"} that a checkpoint's signature covers.
StatusOr<std::string> CheckpointPayload(const CheckpointData& checkpoint);
// {"checkpoint": {hash, key_id, seq, signature, time}}, canonical: one line of an export.
StatusOr<std::string> CheckpointLine(const CheckpointData& checkpoint);
// Reads the inner object of a checkpoint line. Nullopt if a field is missing or mistyped.
std::optional<CheckpointData> CheckpointFromJson(const Json& inner);

// Reads stored checkpoints with seq <= `max_seq` in seq order, a page at a time. Valid only
// inside the transaction it reads from.
class StoredCheckpoints {
 public:
  StoredCheckpoints(Transaction& tx, int64_t max_seq) : tx_(tx), max_seq_(max_seq) {}

  // The next checkpoint, or nullptr when there are no more. The pointer is valid until Pop().
  StatusOr<const CheckpointData*> Peek();
  void Pop() { ++next_; }

 private:
  Transaction& tx_;
  int64_t max_seq_;
  int64_t after_seq_ = std::numeric_limits<int64_t>::min();
  bool exhausted_ = false;
  std::vector<CheckpointData> page_;
  size_t next_ = 0;
};

// Walks a chain record by record, checkpoint by checkpoint, and stops at the first problem.
// Callers feed records in the order they appear (file or seq order) and each checkpoint right
// after the record it claims to cover; `line` is the export line (0 for the store).
class ChainChecker {
 public:
  // Where the chain comes from; only the wording of findings differs.
  enum class Source { kExport, kStore };

  ChainChecker(std::string public_key, Source source);

  // Checks one record: its fields, that its seq follows the previous one, that `claimed_hash` is
  // the SHA-256 of `canonical_text` (the record without "hash") and that its prev_hash links to
  // the previous record. Returns false (and records the failure) at the first problem.
  bool AddRecord(int64_t line, const Json& record, const std::string& canonical_text,
                 const std::string& claimed_hash);
  // Checks a checkpoint placed after the last record: key id, signature, seq and hash.
  bool AddCheckpoint(int64_t line, const CheckpointData& checkpoint);
  // Records a failure found by the caller (parse errors, store-only checks).
  bool Fail(int64_t seq, int64_t line, std::string reason);

  bool failed() const { return failed_; }
  int64_t last_seq() const { return last_seq_; }
  const std::string& last_hash() const { return last_hash_; }
  int64_t last_line() const { return last_line_; }
  // True if the last record is covered by a checkpoint fed after it.
  bool tail_covered() const { return last_seq_ == 0 || last_checkpoint_seq_ == last_seq_; }

  // The report so far; ok unless a check failed.
  AuditVerifyReport Report() const;

 private:
  // "line N: " for an export, "" for the store.
  std::string Where(int64_t line) const;

  std::string public_key_;
  std::string key_id_;
  Source source_;
  bool failed_ = false;
  int64_t last_seq_ = 0;
  std::string last_hash_ = kGenesisHash;
  int64_t last_line_ = 0;
  int64_t last_checkpoint_seq_ = 0;
  std::string last_checkpoint_time_;
  int64_t records_ = 0;
  int64_t checkpoints_ = 0;
  int64_t first_bad_seq_ = 0;
  int64_t first_bad_line_ = 0;
  std::string reason_;
};

}  // namespace plinth::audit_internal

#endif  // PLINTH_AUDIT_AUDIT_CHAIN_H_
