// A BlobEnv wrapper that injects failures (in the manner of leveldb's fault-injecting test Envs):
// failing fsync of files or folders, failing writes once a file holds N bytes (as a full disk
// does), failing renames and file creation. It also records the operations that change the file
// system, in order, so tests can check the write recipe (fsync before rename, folder fsync after).
// For tests; thread-safe.
#ifndef PLINTH_BLOB_FAULT_INJECTION_ENV_H_
#define PLINTH_BLOB_FAULT_INJECTION_ENV_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "blob/blob_env.h"

namespace plinth {

class FaultInjectionEnv : public BlobEnv {
 public:
  // `base` performs the operations that are not failed; it must outlive this object.
  explicit FaultInjectionEnv(BlobEnv* base) : base_(base) {}

  // While set, fsync of a file returns Internal ("injected: fsync failed") without syncing.
  void set_fail_file_sync(bool fail) { fail_file_sync_ = fail; }
  bool fail_file_sync() const { return fail_file_sync_; }
  // While set, fsync of a folder returns Internal.
  void set_fail_dir_sync(bool fail) { fail_dir_sync_ = fail; }
  // While set, Rename returns Internal and renames nothing.
  void set_fail_rename(bool fail) { fail_rename_ = fail; }
  // While set, NewExclusiveFile returns Internal and creates nothing.
  void set_fail_create(bool fail) { fail_create_ = fail; }
  // Files created from now on accept at most `bytes` bytes: the Append that would go past the limit
  // writes what fits and returns Internal, as on a full disk. Negative means no limit.
  void set_fail_write_after(int64_t bytes) { fail_write_after_ = bytes; }

  // Operations that changed or synced the file system, oldest first: "create <path>",
  // "chmod <path>", "sync <path>", "close <path>", "rename <from> <to>", "remove <path>",
  // "mkdir <path>", "syncdir <path>". Failed (injected) operations are prefixed with "FAILED ".
  std::vector<std::string> operations() const;
  void clear_operations();
  // Appends one entry to operations(); used by the files this Env hands out.
  void Record(const std::string& op);

  // BlobEnv, with the failures set above injected.
  StatusOr<std::unique_ptr<WritableFile>> NewExclusiveFile(const std::string& path,
                                                           mode_t mode) override;
  StatusOr<std::unique_ptr<ReadableFile>> OpenRegularFile(const std::string& path) override;
  StatusOr<PathInfo> Stat(const std::string& path) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  StatusOr<bool> CreateDir(const std::string& path, mode_t mode) override;
  Status SyncDir(const std::string& path) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;

 private:
  BlobEnv* base_;
  std::atomic<bool> fail_file_sync_{false};
  std::atomic<bool> fail_dir_sync_{false};
  std::atomic<bool> fail_rename_{false};
  std::atomic<bool> fail_create_{false};
  std::atomic<int64_t> fail_write_after_{-1};
  mutable std::mutex mu_;
  std::vector<std::string> operations_;
};

}  // namespace plinth

#endif  // PLINTH_BLOB_FAULT_INJECTION_ENV_H_
