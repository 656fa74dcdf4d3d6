// The file-system operations the local artifact store performs, behind one small interface (in
// the manner of leveldb's Env), so tests can substitute a fault-injecting wrapper
// (fault_injection_env.h) and prove that a failed write or fsync is never acknowledged.
//
// Paths are passed as given; the store builds them only from validated digests and its own root.
// Implementations are thread-safe; a file object is used by one thread at a time.
#ifndef PLINTH_BLOB_BLOB_ENV_H_
#define PLINTH_BLOB_BLOB_ENV_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace plinth {

// A file being written. The destructor closes it if Close() was not called (ignoring errors).
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Writes all `n` bytes at the end of the file. Internal on a write error (ENOSPC, EIO, ...);
  // after an error the file's contents are unspecified.
  virtual Status Append(const char* data, size_t n) = 0;
  // Asks the kernel to start writing back everything appended so far without waiting for it, so
  // a later Sync() has less left to do. Purely an optimisation: never a substitute for Sync().
  virtual void StartWriteback() = 0;
  // Changes the file's permission bits. Internal on failure.
  virtual Status SetMode(mode_t mode) = 0;
  // fsync: returns OK only once the data and metadata are on stable storage. After a failure the
  // file must be treated as lost (the kernel may have dropped the dirty pages); never retry.
  virtual Status Sync() = 0;
  // Closes the file. Internal on failure.
  virtual Status Close() = 0;
};

// A regular file opened for reading.
class ReadableFile {
 public:
  virtual ~ReadableFile() = default;

  // Reads up to `cap` bytes into `buf`; returns the count, 0 at the end. Internal on error.
  virtual StatusOr<size_t> Read(char* buf, size_t cap) = 0;
  // Size of the file when it was opened.
  virtual int64_t size() const = 0;
};

// What lstat() says about a path (symlinks are not followed).
struct PathInfo {
  bool is_regular = false;
  bool is_directory = false;
  bool is_symlink = false;
  int64_t size = 0;
  int64_t mtime_micros = 0;
};

class BlobEnv {
 public:
  virtual ~BlobEnv() = default;

  // Creates `path` exclusively (O_EXCL, never through a symlink) with `mode`. AlreadyExists if
  // anything is at `path`; Internal on other errors.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewExclusiveFile(const std::string& path,
                                                                   mode_t mode) = 0;
  // Opens a regular file for reading without following a symlink at its last component.
  // NotFound if absent; FailedPrecondition if `path` is a symlink or not a regular file;
  // Internal on other errors.
  virtual StatusOr<std::unique_ptr<ReadableFile>> OpenRegularFile(const std::string& path) = 0;
  // lstat(). NotFound if absent; Internal on other errors.
  virtual StatusOr<PathInfo> Stat(const std::string& path) = 0;
  // rename(): atomically puts `from` at `to`, replacing what was there. Internal on failure.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file. NotFound if absent; Internal on other errors.
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates one folder. Returns true if it was created, false if something already existed there;
  // Internal on other errors.
  virtual StatusOr<bool> CreateDir(const std::string& path, mode_t mode) = 0;
  // fsync of a folder, making renames and creations inside it durable. Internal on failure.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names in a folder, without "." and "..". NotFound if absent; Internal on other errors.
  virtual StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
};

// The real operating system. Never deleted.
BlobEnv* DefaultBlobEnv();

}  // namespace plinth

#endif  // PLINTH_BLOB_BLOB_ENV_H_
