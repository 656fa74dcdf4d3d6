// The local folder backend of the artifact store. Layout (docs/formats/artifacts.md):
//
//   <root>/objects/sha256/<first 2 hex>/<remaining 62 hex>   complete, verified-on-read objects
//   <root>/tmp/put-<random>.tmp                                writes in progress
//
// Only a validated digest ("sha256:" + 64 lowercase hex) is ever turned into a path. Objects are
// written with the atomic recipe (exclusive temp file, fsync, rename, fsync the folder) and are
// read-only (0444). Several processes may share one root. Memory use is constant in object size.
// Thread-safe.
//
// Beyond the ArtifactStore contract: Put returns FailedPrecondition if the object's fan-out folder
// is not a real folder (a symlink), and Internal when the file system fails (a write, fsync or
// rename error), in which case nothing was acknowledged and no temp file is left behind.
//
// VerifiedLocalPath returns <root>/objects/sha256/<2 hex>/<62 hex> after verifying the object
// through the store's BlobEnv; the path names a file of the real file system (the default env's).
// Nothing in the store ever changes an object's bytes in place: the only thing that can replace the
// file at that path is a Put renaming in another copy whose bytes hash to the same digest (the
// repair of a damaged object), so a reader that opens the path after the check reads the verified
// bytes, short of tampering or disk corruption in between (see docs/formats/artifacts.md).
#ifndef PLINTH_BLOB_LOCAL_ARTIFACT_STORE_H_
#define PLINTH_BLOB_LOCAL_ARTIFACT_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "blob/artifact_store.h"
#include "blob/blob_env.h"
#include "core/clock.h"
#include "core/status.h"

namespace plinth {

struct LocalArtifactStoreOptions {
  // File-system operations; null means DefaultBlobEnv(). Must outlive the store.
  BlobEnv* env = nullptr;
  // Decides which temp files are stale; null means SystemClock(). Must outlive the store.
  const Clock* clock = nullptr;
  // Temp files in <root>/tmp not modified for this long are taken to be left by a crashed writer
  // and removed when the store is opened. Younger ones may belong to a live writer in another
  // process and are left alone.
  int64_t stale_temp_micros = int64_t{3600} * 1000000;
  // Size of each I/O buffer. Put uses kPutBuffers of them, Get and Verify one. Small enough for a
  // buffer to stay in cache between being read, hashed and written (256 KiB measured faster than
  // 1 MiB and 4 MiB here).
  size_t buffer_bytes = size_t{256} << 10;
};

// Buffers a Put holds: one being filled and hashed while the others are being written.
inline constexpr int kPutBuffers = 4;

// Opens (creating if missing) the store at `root` and removes stale temp files. InvalidArgument if
// `root` is empty; FailedPrecondition if a folder of the layout is a symlink or not a folder;
// Internal on file-system errors.
StatusOr<std::unique_ptr<ArtifactStore>> CreateLocalArtifactStore(
    const std::string& root, const LocalArtifactStoreOptions& options);

// Where the object named `digest` lives under `root`. InvalidArgument unless IsValidDigest(digest).
StatusOr<std::string> LocalObjectPath(const std::string& root, const std::string& digest);

}  // namespace plinth

#endif  // PLINTH_BLOB_LOCAL_ARTIFACT_STORE_H_
