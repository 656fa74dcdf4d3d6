#include "audit/audit_log.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "audit/audit_chain.h"
#include "core/sha256.h"

namespace plinth {
namespace {

using audit_internal::CheckpointData;
using audit_internal::kPageRows;

constexpr const char* kSecretWords[] = {"token", "password", "secret", "key", "credential"};

bool NamesSecret(const std::string& key) {
  std::string lower = key;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* word : kSecretWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// Replaces every string in `value`, at any depth.
Json RedactAll(const Json& value, const std::string& hmac_key) {
  if (value.is_string()) {
    return "hmac-sha256:" + HmacSha256Hex(hmac_key, value.get_ref<const std::string&>());
  }
  if (value.is_object() || value.is_array()) {
    Json out = value;
    for (auto& item : out) item = RedactAll(item, hmac_key);
    return out;
  }
  return value;
}

Json RedactNamed(const Json& value, const std::string& hmac_key) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = NamesSecret(key) ? RedactAll(item, hmac_key) : RedactNamed(item, hmac_key);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(RedactNamed(item, hmac_key));
    return out;
  }
  return value;
}

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), 0 if none.
size_t Utf8SequenceLength(const std::string& s, size_t i) {
  auto byte = [&](size_t k) -> unsigned {
    return k < s.size() ? static_cast<unsigned char>(s[k]) : 0x100;
  };
  auto in = [](unsigned b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  auto tail = [&](size_t from, size_t n) {
    for (size_t k = from; k < from + n; ++k) {
      if (!in(byte(k), 0x80, 0xBF)) return false;
    }
    return true;
  };
  const unsigned b0 = byte(i);
  if (b0 < 0x80) return 1;
  if (in(b0, 0xC2, 0xDF)) return tail(i + 1, 1) ? 2 : 0;
  if (b0 == 0xE0) return in(byte(i + 1), 0xA0, 0xBF) && tail(i + 2, 1) ? 3 : 0;
  if (b0 == 0xED) return in(byte(i + 1), 0x80, 0x9F) && tail(i + 2, 1) ? 3 : 0;
  if (in(b0, 0xE1, 0xEF)) return tail(i + 1, 2) ? 3 : 0;
  if (b0 == 0xF0) return in(byte(i + 1), 0x90, 0xBF) && tail(i + 2, 2) ? 4 : 0;
  if (in(b0, 0xF1, 0xF3)) return tail(i + 1, 3) ? 4 : 0;
  if (b0 == 0xF4) return in(byte(i + 1), 0x80, 0x8F) && tail(i + 2, 2) ? 4 : 0;
  return 0;
}

// `s` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD. A record must be
// valid UTF-8: PostgreSQL refuses anything else in TEXT and the JSON parser of the verifiers too,
// and a message cut at a byte limit easily ends in half a character.
std::string ValidUtf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

// Makes every string and object key of `value` valid UTF-8 (ValidUtf8) and returns the nesting
// depth of `value` (a scalar is 0, an object or array one more than its deepest member).
int CleanStrings(Json& value) {
  if (value.is_string()) {
    std::string& text = value.get_ref<std::string&>();
    text = ValidUtf8(text);
    return 0;
  }
  int depth = 0;
  if (value.is_array()) {
    for (Json& item : value) depth = std::max(depth, CleanStrings(item));
    return depth + 1;
  }
  if (value.is_object()) {
    bool keys_valid = true;
    for (auto& [key, item] : value.items()) {
      depth = std::max(depth, CleanStrings(item));
      keys_valid = keys_valid && ValidUtf8(key) == key;
    }
    if (!keys_valid) {
      Json cleaned = Json::object();
      for (auto& [key, item] : value.items()) cleaned[ValidUtf8(key)] = std::move(item);
      value = std::move(cleaned);
    }
    return depth + 1;
  }
  return 0;
}

// Locks the chain head row (every audited writer updates it first, so writers queue here: a row
// lock on PostgreSQL, the write lock on SQLite) and returns its seq and hash. With `advance`, seq
// is incremented and the new value returned; the hash is still the previous record's.
StatusOr<std::pair<int64_t, std::string>> LockHead(Transaction& tx, bool advance) {
  ASSIGN_OR_RETURN(QueryResult head,
                   tx.Query(advance ? "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 "
                                      "RETURNING seq, hash"
                                    : "UPDATE audit_head SET seq = seq WHERE id = 1 "
                                      "RETURNING seq, hash"));
  if (head.rows.size() != 1) {
    return absl::DataLossError("the audit chain head row (audit_head id 1) is missing");
  }
  ASSIGN_OR_RETURN(int64_t seq, head.Int(0, 0));
  ASSIGN_OR_RETURN(std::string hash, head.Text(0, 1));
  return std::make_pair(seq, std::move(hash));
}

Status WriteCheckpoint(Transaction& tx, const SigningKey& key, int64_t seq, std::string hash,
                       int64_t time_micros) {
  CheckpointData checkpoint;
  checkpoint.seq = seq;
  checkpoint.hash = std::move(hash);
  checkpoint.time = FormatTime(time_micros);
  checkpoint.key_id = key.KeyId();
  ASSIGN_OR_RETURN(std::string payload, audit_internal::CheckpointPayload(checkpoint));
  checkpoint.signature = key.Sign(payload);
  // DO NOTHING: a checkpoint of this seq already stored is kept as it is; if it disagrees with
  // the chain, VerifyStore reports it rather than every audited write failing.
  return tx.Execute(
      "INSERT INTO audit_checkpoints (seq, time, hash, key_id, signature) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT DO NOTHING",
      {seq, time_micros, checkpoint.hash, checkpoint.key_id, checkpoint.signature});
}

// One export line for a stored record: the record plus its "hash", canonical.
StatusOr<std::string> RecordLine(int64_t seq, const std::string& text, const std::string& hash) {
  StatusOr<Json> record = ParseJson(text);
  if (!record.ok() || !record->is_object()) {
    return absl::DataLossError("audit record " + std::to_string(seq) +
                               " in the store is not a JSON object; run audit verify");
  }
  (*record)["hash"] = hash;
  return CanonicalJson(*record);
}

}  // namespace

AuditLog::AuditLog(const SigningKey* key, std::string hmac_key, Clock* clock, int checkpoint_every)
    : key_(key),
      hmac_key_(std::move(hmac_key)),
      clock_(clock),
      checkpoint_every_(checkpoint_every) {}

StatusOr<int64_t> AuditLog::Append(Transaction& tx, const AuditEvent& event) const {
  if (event.actor.empty() || event.action.empty() || event.outcome.empty()) {
    return absl::InvalidArgumentError("audit event needs an actor, an action and an outcome");
  }
  ASSIGN_OR_RETURN(auto head, LockHead(tx, /*advance=*/true));
  const int64_t seq = head.first;
  // Read the clock under the lock so record times never go backwards along the chain.
  const int64_t now = clock_->NowMicros();
  Json record = {{"seq", seq},
                 {"time", FormatTime(now)},
                 {"actor", event.actor},
                 {"action", event.action},
                 {"project", event.project},
                 {"resource", event.resource},
                 {"request_id", event.request_id},
                 {"outcome", event.outcome},
                 {"details", RedactSecrets(event.details)},
                 {"prev_hash", std::move(head.second)}};
  if (CleanStrings(record) > audit_internal::kMaxDepth) {
    return absl::InvalidArgumentError("audit record for " + event.action +
                                      ": details are nested too deeply");
  }
  ASSIGN_OR_RETURN(std::string text, CanonicalJson(record));
  if (text.size() > audit_internal::kMaxRecordBytes) {
    return absl::InvalidArgumentError("audit record for " + event.action + " is " +
                                      std::to_string(text.size()) +
                                      " bytes; the limit is 1 MiB (trim its details)");
  }
  std::string hash = Sha256Digest(text);
  RETURN_IF_ERROR(tx.Execute(
      "INSERT INTO audit_records (seq, time, actor, action, project, outcome, record, hash) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {seq, now, event.actor, event.action, event.project, event.outcome, std::move(text), hash}));
  RETURN_IF_ERROR(tx.Execute("UPDATE audit_head SET hash = ? WHERE id = 1", {hash}));
  if (checkpoint_every_ > 0 && seq % checkpoint_every_ == 0) {
    RETURN_IF_ERROR(WriteCheckpoint(tx, *key_, seq, std::move(hash), now));
  }
  return seq;
}

StatusOr<int64_t> AuditLog::CheckpointHead(Transaction& tx) const {
  ASSIGN_OR_RETURN(auto head, LockHead(tx, /*advance=*/false));
  const int64_t seq = head.first;
  if (seq == 0) return seq;
  ASSIGN_OR_RETURN(QueryResult existing,
                   tx.Query("SELECT seq FROM audit_checkpoints WHERE seq = ?", {seq}));
  if (!existing.rows.empty()) return seq;
  RETURN_IF_ERROR(WriteCheckpoint(tx, *key_, seq, std::move(head.second), clock_->NowMicros()));
  return seq;
}

Status AuditLog::Checkpoint(Transaction& tx) const { return CheckpointHead(tx).status(); }

StatusOr<std::vector<Json>> AuditLog::Tail(Transaction& tx, int n) const {
  if (n < 0) return absl::InvalidArgumentError("audit tail needs n >= 0");
  std::vector<Json> records;
  if (n == 0) return records;
  ASSIGN_OR_RETURN(QueryResult result,
                   tx.Query("SELECT seq, record FROM audit_records ORDER BY seq DESC LIMIT ?",
                            {static_cast<int64_t>(n)}));
  for (size_t row = result.rows.size(); row-- > 0;) {
    ASSIGN_OR_RETURN(std::string text, result.Text(row, 1));
    StatusOr<Json> record = ParseJson(text);
    if (!record.ok()) {
      return absl::DataLossError("audit record " + std::to_string(result.IntOrZero(row, 0)) +
                                 " in the store is not JSON; run audit verify");
    }
    records.push_back(*std::move(record));
  }
  return records;
}

Status AuditLog::Export(MetadataStore& store, std::ostream& out) const {
  int64_t head_seq = 0;
  RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(head_seq, CheckpointHead(tx));
    return absl::OkStatus();
  }));
  if (head_seq == 0) return absl::OkStatus();
  return store.RunReadOnly([&](Transaction& tx) -> Status {
    audit_internal::StoredCheckpoints checkpoints(tx, head_seq);
    // Writes the stored checkpoints with seq <= `seq`, in order. A checkpoint that covers no
    // stored record is written where its seq puts it, so the export shows the store as it is.
    auto write_checkpoints_through = [&](int64_t seq) -> Status {
      while (true) {
        ASSIGN_OR_RETURN(const CheckpointData* checkpoint, checkpoints.Peek());
        if (checkpoint == nullptr || checkpoint->seq > seq) return absl::OkStatus();
        ASSIGN_OR_RETURN(std::string line, audit_internal::CheckpointLine(*checkpoint));
        out << line << '\n';
        checkpoints.Pop();
      }
    };
    int64_t after = 0;
    while (after < head_seq) {
      ASSIGN_OR_RETURN(QueryResult page, tx.Query("SELECT seq, record, hash FROM audit_records "
                                                  "WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                                                  {after, head_seq, kPageRows}));
      for (size_t row = 0; row < page.rows.size(); ++row) {
        ASSIGN_OR_RETURN(int64_t seq, page.Int(row, 0));
        ASSIGN_OR_RETURN(std::string text, page.Text(row, 1));
        ASSIGN_OR_RETURN(std::string hash, page.Text(row, 2));
        RETURN_IF_ERROR(write_checkpoints_through(seq - 1));
        ASSIGN_OR_RETURN(std::string line, RecordLine(seq, text, hash));
        out << line << '\n';
        RETURN_IF_ERROR(write_checkpoints_through(seq));
        after = seq;
      }
      if (!out) return absl::InternalError("audit export: writing the output failed");
      if (static_cast<int64_t>(page.rows.size()) < kPageRows) break;
    }
    RETURN_IF_ERROR(write_checkpoints_through(head_seq));
    out.flush();
    if (!out) return absl::InternalError("audit export: writing the output failed");
    return absl::OkStatus();
  });
}

Json AuditLog::RedactSecrets(const Json& details) const { return RedactNamed(details, hmac_key_); }

}  // namespace plinth
