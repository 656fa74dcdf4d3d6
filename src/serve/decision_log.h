// Decision records: one record per prediction the inference server makes, kept so that a credit
// decision can be reconstructed long after it was made (docs/formats/decisions.md).
//
// The writer (DecisionLog) appends each record as one JSON line into a memory-mapped, preallocated
// segment file. Append costs a serialisation and a memory copy on the caller's thread; there is no
// write or fsync there except when a segment is full or old and a new one is created. Guarantees a
// caller relies on:
//   - a record whose Append returned OK survives the death of the process (SIGKILL included): its
//     bytes are in a shared file mapping, that is in the page cache;
//   - it survives a machine crash once the next sync has run: a background thread syncs every
//     sync_interval_micros, and Sync, Close and every rotation sync too;
//   - deleting segments whose newest record is older than the retention period is the only
//     deletion, at Open and after each rotation (counted in Stats::deleted; the caller audits it).
// One DecisionLog writes a folder at a time: a second Open of the same folder, in this process or
// another, is FailedPrecondition until the first is closed or its process has died.
//
// The readers (FindDecision, ExportDecisions) are free functions over the folder. They may run in
// another process while a writer appends: they see every record whose Append returned before they
// read the segment, and skip (and count) what they cannot use: unused zero space, a record being
// copied or torn by a crash, lines that are not records, files that are not segments.
#ifndef PLINTH_SERVE_DECISION_LOG_H_
#define PLINTH_SERVE_DECISION_LOG_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace plinth {

// One prediction. The JSON field names are a user-visible format (docs/formats/decisions.md).
struct DecisionRecord {
  // The request's id (the client's OIP "id", or generated); unique per output row: the server
  // appends "#<row>" for multi-row requests. Not empty.
  std::string id;
  int64_t time = 0;          // microseconds since the epoch, UTC; 0 to year 9999
  std::string environment;   // "staging", "production", "edge"
  std::string model;         // registered model name
  int64_t version = 0;       // registered model version
  std::string model_digest;  // "sha256:..." of the model package
  std::string input_digest;  // "sha256:..." of the canonical JSON of the inputs
  Json inputs;            // the raw inputs, or null when the server is configured not to keep them
  Json output;            // e.g. {"score": 0.12, "decision": "approve"}
  Json reasons;           // reason codes, or null
  double latency_us = 0;  // time to score, microseconds
  std::string route;      // "primary", "canary" or "shadow"

  friend bool operator==(const DecisionRecord&, const DecisionRecord&) = default;
};

// {"id", "time" (RFC 3339 UTC with microseconds, "2026-11-26T15:04:05.123456Z"), "environment",
// "model", "version", "model_digest", "input_digest", "inputs", "output", "reasons", "latency_us",
// "route"}.
Json DecisionRecordToJson(const DecisionRecord& record);
// The inverse; unknown members are ignored. InvalidArgument naming the member that is missing or
// of the wrong type, or a "time" that is not RFC 3339 UTC.
StatusOr<DecisionRecord> DecisionRecordFromJson(const Json& json);
// The record as a segment line: the members of DecisionRecordToJson in the order listed there,
// no whitespace, ending with "\n". InvalidArgument for an empty id, a time outside [0, year
// 10000), and NaN, infinities or values that are not JSON in latency_us, inputs, output or
// reasons (they could not be read back).
StatusOr<std::string> DecisionRecordLine(const DecisionRecord& record);

struct DecisionLogOptions {
  // The segment folder; created with mode 0700 if absent. Segment files are mode 0600.
  std::string dir;
  // Each segment file is preallocated to this size and rotated when the next record would not
  // fit. At least 4096.
  uint64_t segment_bytes = uint64_t{64} << 20;
  // A segment is also rotated when its first record is this old.
  int64_t rotate_interval_micros = int64_t{24} * 3600 * 1000000;
  // Segments whose newest record is older than this are deleted, at Open and after each
  // rotation. The default is 25 months of 30.44 days.
  int64_t retention_micros = int64_t{25} * 2630016000000;
  // Period of the background sync (msync and fsync of what was appended since the last one).
  int64_t sync_interval_micros = 1000000;
  // Record times come from the records; the clock decides segment ages, names and retention.
  Clock* clock = SystemClock();
};

class DecisionLog {
 public:
  struct Stats {
    uint64_t appended = 0;     // records appended by this log
    uint64_t bytes = 0;        // their bytes, newlines included
    uint64_t segments = 0;     // segment files this log created
    uint64_t sync_errors = 0;  // background syncs or rotations that failed
    uint64_t deleted = 0;      // segments deleted for retention, at Open and after rotations
    uint64_t recovered = 0;    // segments left by a process that died, closed at Open
  };

  // Creates the folder if needed, takes its lock, closes the segments left by a process that died
  // (their unused zero tail and any torn last line are truncated; nothing is appended to them),
  // deletes segments past retention, and starts a new segment. FailedPrecondition if another log
  // holds the folder; InvalidArgument for bad options; Internal for I/O errors, naming the file.
  static StatusOr<std::unique_ptr<DecisionLog>> Open(DecisionLogOptions options);
  ~DecisionLog();  // Close()
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  // Thread-safe. Serialises the record on the caller's thread and copies it into the current
  // segment. When OK is returned, the record is in the page cache and survives the process's
  // death. InvalidArgument for a record DecisionRecordLine refuses or one larger than
  // segment_bytes (nothing is written); FailedPrecondition after Close; Internal if a needed new
  // segment cannot be created.
  Status Append(const DecisionRecord& record);
  // Returns OK once every record appended before the call is on disk (msync and fsync, closing
  // segments retired by rotations). Once a sync has failed, Sync and Close keep
  // returning that error: the kernel may have dropped the pages it could not write.
  Status Sync();
  // Syncs, truncates the current segment to its used length (or deletes it if it holds no
  // record), stops the background thread and releases the folder. Idempotent: later calls return
  // the first call's result.
  Status Close();
  Stats stats() const;

 private:
  struct Segment;  // a mapped segment file (decision_log.cc)

  explicit DecisionLog(DecisionLogOptions options);

  Status RecoverAndStart();
  StatusOr<std::unique_ptr<Segment>> CreateSegment(int64_t now);
  // Called with mu_ held when the current segment cannot take `size` more bytes now.
  Status RotateLocked(int64_t now, uint64_t size);
  // With maint_mu_ held: closes retired segments, applies retention if a rotation asked for it,
  // and syncs the current segment and the folder. Durability failures also go to sticky_error_.
  Status MaintainLocked();
  Status ApplyRetention();
  void BackgroundLoop();

  const DecisionLogOptions options_;
  Clock* const clock_;
  int lock_fd_ = -1;

  // Guards the current segment's reservations, the retired list and the counters below.
  mutable std::mutex mu_;
  std::unique_ptr<Segment> current_;
  std::vector<std::unique_ptr<Segment>> retired_;
  bool closed_ = false;
  bool retention_pending_ = false;
  bool dir_dirty_ = false;
  int64_t last_start_ = -1;
  int64_t last_seq_ = 0;
  uint64_t appended_ = 0;
  uint64_t bytes_ = 0;
  uint64_t segments_ = 0;
  uint64_t recovered_ = 0;
  std::atomic<uint64_t> deleted_{0};
  std::atomic<uint64_t> sync_errors_{0};

  // Serialises closing, retention and syncing between the background thread, Sync and Close.
  std::mutex maint_mu_;
  Status sticky_error_;  // guarded by maint_mu_

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  bool bg_wake_ = false;
  std::thread bg_;

  std::mutex close_mu_;
  bool close_done_ = false;
  Status close_status_;
};

// What a reader met on its way.
struct DecisionReadStats {
  uint64_t segments_read = 0;     // segment files read
  uint64_t segments_skipped = 0;  // skipped whole by the time bounds in their names
  uint64_t torn = 0;  // fragments skipped: torn or unterminated lines, lines that are not records
  std::vector<std::string> ignored_files;  // entries of the folder that are not segment files
};

// The most recently appended record with this id, searching the newest segments first (a cheap
// prefix match on each line before parsing). nullopt if no segment holds it; NotFound if `dir`
// does not exist; Internal for I/O errors naming the file.
StatusOr<std::optional<DecisionRecord>> FindDecision(const std::string& dir, std::string_view id,
                                                     DecisionReadStats* stats = nullptr);
// Calls `emit` for every record with from_micros <= time < to_micros, in time order (records with
// the same time in the order they were appended), stopping at and returning the first error
// `emit` returns; an empty range emits nothing. Closed segments whose names' time bounds miss the
// range are not read. Memory grows with the records in the range of the segments whose times
// overlap one another (a few dozen bytes each), not with the size of the export. NotFound if
// `dir` does not exist; Internal for I/O errors naming the file.
Status ExportDecisions(const std::string& dir, int64_t from_micros, int64_t to_micros,
                       const std::function<Status(const DecisionRecord&)>& emit,
                       DecisionReadStats* stats = nullptr);

}  // namespace plinth

#endif  // PLINTH_SERVE_DECISION_LOG_H_
