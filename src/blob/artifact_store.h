// The content-addressed artifact store. Objects are named only by their digest
// ("sha256:<64 hex>"); no user-supplied name or path ever reaches the file system.
//
// Put streams: the bytes are hashed while they are written to a temporary file, which is fsynced,
// renamed to its digest and the folder fsynced; an object already present is not written twice.
// Get streams and verifies: the digest is recomputed while reading and a mismatch is an integrity
// error (DataLoss), reported before the sink is told the object is complete. Layout in
// docs/formats/artifacts.md. Thread-safe; several processes may share one store.
#ifndef PLINTH_BLOB_ARTIFACT_STORE_H_
#define PLINTH_BLOB_ARTIFACT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace plinth {

// Pulls the next chunk into `buf` (capacity `cap`); returns bytes read, 0 at the end.
using ByteSource = std::function<StatusOr<size_t>(char* buf, size_t cap)>;
// Receives consecutive chunks. Returning an error stops the transfer.
using ByteSink = std::function<Status(const char* data, size_t n)>;

struct ArtifactInfo {
  std::string digest;  // "sha256:<hex>"
  int64_t size = 0;
};

class ArtifactStore {
 public:
  virtual ~ArtifactStore() = default;

  // Stores everything `source` yields. Returns the digest and size. If `expected_digest` is
  // non-empty and the content hashes differently, returns DataLoss and stores nothing.
  // ResourceExhausted if more than `max_bytes` (when > 0) arrive.
  virtual StatusOr<ArtifactInfo> Put(const ByteSource& source,
                                     const std::string& expected_digest = "",
                                     int64_t max_bytes = 0) = 0;
  // Streams the object to `sink`, verifying its digest. InvalidArgument for a malformed digest,
  // NotFound if absent, DataLoss if the stored bytes do not match their name. On DataLoss the sink
  // may have received bytes: callers that must not expose them (HTTP) verify first with Verify().
  virtual Status Get(const std::string& digest, const ByteSink& sink) = 0;
  // Re-hashes the stored object. Same errors as Get.
  virtual Status Verify(const std::string& digest) = 0;
  // Size of the stored object. InvalidArgument / NotFound as Get.
  // Stat and Exists do not re-hash; like Get and Verify they return DataLoss if something other
  // than a regular file (a symlink, a FIFO) sits at the object's path.
  virtual StatusOr<ArtifactInfo> Stat(const std::string& digest) = 0;
  // InvalidArgument for a malformed digest.
  virtual StatusOr<bool> Exists(const std::string& digest) = 0;
  // For a store that keeps each object as a local file: re-hashes the object as Verify does (same
  // errors; a corrupt or tampered object is DataLoss and never yields a path) and returns the path
  // of its file, so that a large object can be parsed in place (memory-mapped) instead of copied
  // into memory through Get. The file is immutable once stored and holds exactly the verified
  // bytes: the caller must only read it (never write, chmod, rename or remove it). A check and a
  // later read are two steps, as with Verify then Get: bytes changed on disk in between by
  // something outside the store are not detected. Stores without local files return Unimplemented
  // (the default); callers then fall back to Get.
  virtual StatusOr<std::string> VerifiedLocalPath(const std::string& digest);
};

// The local folder backend rooted at `root` (created if missing).
// Default options; errors as CreateLocalArtifactStore(root, options) in local_artifact_store.h.
StatusOr<std::unique_ptr<ArtifactStore>> CreateLocalArtifactStore(const std::string& root);

// Convenience sources and sinks over files and strings.
ByteSource FileSource(int fd);
ByteSource StringSource(const std::string* data);
ByteSink StringSink(std::string* out);

}  // namespace plinth

#endif  // PLINTH_BLOB_ARTIFACT_STORE_H_
