// The hash-chained audit log. Every state-changing operation, and every refused one, appends a
// record through the caller's store transaction, so the change and its record commit together or
// not at all. Each record carries the previous record's hash and its own hash over its canonical
// JSON; signed checkpoints (Ed25519, the platform key) every N records, at shutdown and at the end
// of every export make a cut tail detectable. Record and export formats: docs/formats/audit.md.
//
// Thread-safe: all state lives in the store; appends serialise on the chain head row.
#ifndef PLINTH_AUDIT_AUDIT_LOG_H_
#define PLINTH_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/signing.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

struct AuditEvent {
  std::string actor;              // user name; "-" when unauthenticated
  std::string action;             // operation name, e.g. "project.create"
  std::string project;            // project name, or "" for platform-wide operations
  std::string resource;           // e.g. "user/alice", "artifact/sha256:..."
  std::string request_id;         // the request's id (HTTP X-Request-Id or generated)
  std::string outcome;            // "ok", "denied", or "error:<wire code>" (core/errors.h)
  Json details = Json::object();  // secrets are replaced by an HMAC before writing
};

struct AuditVerifyReport {
  bool ok = false;
  int64_t records = 0;         // records read
  int64_t checkpoints = 0;     // signed checkpoints verified
  int64_t first_bad_seq = 0;   // 0 when ok
  int64_t first_bad_line = 0;  // line in the export file (0 when verifying the store)
  std::string reason;          // what was wrong, for people
  int64_t last_seq = 0;        // the last record read (intact up to the first bad one)
  // The last checkpoint that verified, and when it was signed. A file cut right after an older
  // checkpoint still verifies: compare these with the export you expected (see the format doc).
  int64_t last_checkpoint_seq = 0;
  std::string last_checkpoint_time;
};

class AuditLog {
 public:
  // `key` signs checkpoints; `hmac_key` keys the HMAC that replaces secrets in details.
  // A checkpoint is written automatically after every `checkpoint_every` records (never if it is
  // 0 or less). `key` and `clock` must outlive the log.
  AuditLog(const SigningKey* key, std::string hmac_key, Clock* clock, int checkpoint_every = 1000);

  // Appends `event` inside `tx`; returns its sequence number. Any error must abort the caller's
  // transaction (the change is then not committed).
  // The chain head row stays locked until `tx` ends, so every other audited writer waits for this
  // one: call Append as the last statement of the transaction.
  // Bytes that are not valid UTF-8 are replaced by U+FFFD in every field.
  // InvalidArgument if actor, action or outcome is empty, details hold NaN or an infinity or are
  // nested more than 63 levels deep, or the record would exceed 1 MiB; else the store's error.
  StatusOr<int64_t> Append(Transaction& tx, const AuditEvent& event) const;

  // Writes a signed checkpoint of the current head unless one already covers it (and none on an
  // empty chain). Takes the head row lock like Append. Returns the store's error, if any.
  Status Checkpoint(Transaction& tx) const;

  // The last `n` records, oldest first, as JSON objects (the stored canonical records).
  // InvalidArgument if n < 0; DataLoss if a stored record is not JSON.
  StatusOr<std::vector<Json>> Tail(Transaction& tx, int n) const;

  // Writes every record and checkpoint as JSON lines to `out`, ending with a signed checkpoint of
  // the head that is stored too. That checkpoint is written and committed first (one short write
  // transaction); the lines up to it are then streamed from a read-only snapshot, so exporting a
  // long chain never holds up audited writers. An empty chain exports as an empty file.
  // DataLoss if a stored record is not JSON; Internal if `out` fails; else the store's error.
  Status Export(MetadataStore& store, std::ostream& out) const;

  // Verifies the chain in the store: every hash, the links, the head row, every checkpoint's
  // signature against the public half of `key` and that the latest checkpoint is still covered.
  // Reads one snapshot in pages of 1,000 rows (memory stays bounded). A chain problem is an OK
  // status with report.ok false; an error status means the store could not be read.
  StatusOr<AuditVerifyReport> VerifyStore(MetadataStore& store) const;

  // Replaces, recursively, the values of keys that name secrets (token, password, secret, key,
  // credential; any case, as a substring) by "hmac-sha256:<hex>". Under such a key every string,
  // at any depth (arrays, nested objects), is replaced; numbers, booleans and null are kept.
  Json RedactSecrets(const Json& details) const;

 private:
  // Checkpoint(), returning the head's seq (0 for an empty chain).
  StatusOr<int64_t> CheckpointHead(Transaction& tx) const;

  const SigningKey* key_;
  std::string hmac_key_;
  Clock* clock_;
  int checkpoint_every_;
};

// Verifies an export read from `in` against `public_key` (raw 32 bytes). Names the first bad
// record: a changed field, a deleted or reordered line, a bad checkpoint signature, or a file that
// ends without a checkpoint covering its last record (a cut tail).
AuditVerifyReport VerifyAuditExport(std::istream& in, const std::string& public_key);

}  // namespace plinth

#endif  // PLINTH_AUDIT_AUDIT_LOG_H_
