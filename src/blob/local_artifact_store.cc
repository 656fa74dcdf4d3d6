#include "blob/local_artifact_store.h"

#include <algorithm>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "blob/overlapped_writer.h"
#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"

namespace plinth {
namespace {

constexpr mode_t kFolderMode = 0700;
constexpr mode_t kTempMode = 0600;
constexpr mode_t kObjectMode = 0444;
constexpr std::string_view kTempPrefix = "put-";
constexpr std::string_view kTempSuffix = ".tmp";
// Writeback of a large object is started every this many bytes, so the final fsync is short.
constexpr int64_t kWritebackBytes = int64_t{64} << 20;

Status CheckDigest(const std::string& digest) {
  if (IsValidDigest(digest)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "malformed artifact digest (want \"sha256:\" and 64 lowercase hex characters)");
}

bool IsTempName(std::string_view name) {
  return name.size() > kTempPrefix.size() + kTempSuffix.size() && name.starts_with(kTempPrefix) &&
         name.ends_with(kTempSuffix);
}

// Removes the temp file when it goes out of scope, unless it was renamed into place.
class TempFileGuard {
 public:
  TempFileGuard(BlobEnv* env, std::string path) : env_(env), path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!released_) env_->RemoveFile(path_).IgnoreError();
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void Release() { released_ = true; }

 private:
  BlobEnv* env_;
  std::string path_;
  bool released_ = false;
};

class LocalArtifactStore : public ArtifactStore {
 public:
  LocalArtifactStore(std::string root, const LocalArtifactStoreOptions& options)
      : root_(std::move(root)),
        objects_dir_(root_ + "/objects/sha256"),
        tmp_dir_(root_ + "/tmp"),
        env_(options.env != nullptr ? options.env : DefaultBlobEnv()),
        clock_(options.clock != nullptr ? options.clock : SystemClock()),
        stale_temp_micros_(options.stale_temp_micros),
        buffer_bytes_(std::max<size_t>(options.buffer_bytes, 4096)) {}

  Status Open() {
    // The root is the operator's choice and may be a symlink; nothing below it is followed.
    RETURN_IF_ERROR(MakeDirectories(root_, kFolderMode));
    bool created = false;
    for (const std::string& dir : {root_ + "/objects", objects_dir_, tmp_dir_}) {
      ASSIGN_OR_RETURN(bool made, env_->CreateDir(dir, kFolderMode));
      created = created || made;
      RETURN_IF_ERROR(EnsureFolder(dir));
    }
    if (created) {
      RETURN_IF_ERROR(env_->SyncDir(root_));
      RETURN_IF_ERROR(env_->SyncDir(root_ + "/objects"));
    }
    return RemoveStaleTempFiles();
  }

  StatusOr<ArtifactInfo> Put(const ByteSource& source, const std::string& expected_digest,
                             int64_t max_bytes) override {
    if (!expected_digest.empty()) RETURN_IF_ERROR(CheckDigest(expected_digest));
    std::string tmp_path =
        tmp_dir_ + "/" + std::string(kTempPrefix) + RandomHex(12) + std::string(kTempSuffix);
    ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                     env_->NewExclusiveFile(tmp_path, kTempMode));
    TempFileGuard guard(env_, tmp_path);

    OverlappedWriter writer(file.get(), buffer_bytes_, kPutBuffers, kWritebackBytes);
    Sha256 hash;
    ArtifactInfo info;
    while (char* buf = writer.NextBuffer()) {
      size_t cap = writer.buffer_size();
      if (max_bytes > 0) {
        // One byte more than allowed is enough to tell that the limit was exceeded.
        cap = static_cast<size_t>(std::min<int64_t>(cap, max_bytes - info.size + 1));
      }
      ASSIGN_OR_RETURN(size_t n, source(buf, cap));
      if (n == 0) break;
      if (n > cap) return absl::InternalError("artifact source returned more bytes than asked");
      info.size += static_cast<int64_t>(n);
      if (max_bytes > 0 && info.size > max_bytes) {
        return absl::ResourceExhaustedError("artifact exceeds the limit of " +
                                            std::to_string(max_bytes) + " bytes");
      }
      hash.Update(buf, n);
      writer.Submit(buf, n);
    }
    RETURN_IF_ERROR(writer.Finish());
    info.digest = hash.FinishDigest();
    if (!expected_digest.empty() && info.digest != expected_digest) {
      return absl::DataLossError("artifact content hashes to " + info.digest + ", expected " +
                                 expected_digest + "; nothing stored");
    }

    const std::string fanout = FanoutDir(info.digest);
    const std::string path = ObjectPath(info.digest);
    RETURN_IF_ERROR(EnsureFanoutDir(fanout));
    ASSIGN_OR_RETURN(bool present, IsPresent(info.digest, path, info.size));
    if (present) {
      // Never written twice. The folder is synced all the same: the writer that renamed the
      // object into place may not have synced it yet, and this Put must be durable when it
      // returns.
      RETURN_IF_ERROR(file->Close());
      RETURN_IF_ERROR(env_->SyncDir(fanout));
      return info;
    }
    RETURN_IF_ERROR(file->SetMode(kObjectMode));
    RETURN_IF_ERROR(file->Sync());
    RETURN_IF_ERROR(file->Close());
    RETURN_IF_ERROR(env_->Rename(tmp_path, path));
    guard.Release();
    RETURN_IF_ERROR(env_->SyncDir(fanout));
    return info;
  }

  Status Get(const std::string& digest, const ByteSink& sink) override {
    return ReadVerified(digest, &sink);
  }

  Status Verify(const std::string& digest) override { return ReadVerified(digest, nullptr); }

  // Only a validated digest becomes a path (ReadVerified checks it first), and only an object that
  // was a regular file in a real fan-out folder and hashed to its name is returned.
  StatusOr<std::string> VerifiedLocalPath(const std::string& digest) override {
    RETURN_IF_ERROR(ReadVerified(digest, nullptr));
    return ObjectPath(digest);
  }

  StatusOr<ArtifactInfo> Stat(const std::string& digest) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, OpenObject(digest));
    ArtifactInfo info;
    info.digest = digest;
    info.size = file->size();
    return info;
  }

  StatusOr<bool> Exists(const std::string& digest) override {
    StatusOr<std::unique_ptr<ReadableFile>> file = OpenObject(digest);
    if (file.ok()) return true;
    if (absl::IsNotFound(file.status())) return false;
    return file.status();
  }

 private:
  // Only ever called with a validated digest.
  std::string FanoutDir(const std::string& digest) const {
    return objects_dir_ + "/" + digest.substr(7, 2);
  }
  std::string ObjectPath(const std::string& digest) const {
    return FanoutDir(digest) + "/" + digest.substr(9);
  }

  // FailedPrecondition unless `dir` is a real folder (not a symlink to one).
  Status EnsureFolder(const std::string& dir) {
    ASSIGN_OR_RETURN(PathInfo info, env_->Stat(dir));
    if (!info.is_directory) {
      return absl::FailedPreconditionError("artifact store: " + dir +
                                           " is not a folder (symlinks are not followed)");
    }
    return absl::OkStatus();
  }

  Status EnsureFanoutDir(const std::string& fanout) {
    ASSIGN_OR_RETURN(bool created, env_->CreateDir(fanout, kFolderMode));
    if (created) return env_->SyncDir(objects_dir_);
    return EnsureFolder(fanout);
  }

  // True if a complete, intact object is already at `path`. Anything else there (a symlink, a
  // truncated or corrupted file) is replaced by the rename that follows, which never writes
  // through it: putting the same bytes again repairs a damaged object.
  StatusOr<bool> IsPresent(const std::string& digest, const std::string& path, int64_t size) {
    StatusOr<PathInfo> info = env_->Stat(path);
    if (absl::IsNotFound(info.status())) return false;
    if (!info.ok()) return info.status();
    if (!info->is_regular || info->size != size) return false;
    return ReadVerified(digest, nullptr).ok();
  }

  StatusOr<std::unique_ptr<ReadableFile>> OpenObject(const std::string& digest) {
    RETURN_IF_ERROR(CheckDigest(digest));
    const std::string fanout = FanoutDir(digest);
    StatusOr<PathInfo> dir = env_->Stat(fanout);
    if (absl::IsNotFound(dir.status())) {
      return absl::NotFoundError("artifact " + digest + " not found");
    }
    if (!dir.ok()) return dir.status();
    if (!dir->is_directory) {
      return absl::DataLossError("artifact " + digest + " refused: " + fanout +
                                 " is not a folder (symlinks are not followed)");
    }
    StatusOr<std::unique_ptr<ReadableFile>> file = env_->OpenRegularFile(ObjectPath(digest));
    if (absl::IsNotFound(file.status())) {
      return absl::NotFoundError("artifact " + digest + " not found");
    }
    if (absl::IsFailedPrecondition(file.status())) {
      return absl::DataLossError("artifact " + digest +
                                 " refused: " + std::string(file.status().message()));
    }
    return file;
  }

  // Streams the object through the hash (and to `sink` if not null); DataLoss on a mismatch.
  Status ReadVerified(const std::string& digest, const ByteSink* sink) {
    ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, OpenObject(digest));
    std::vector<char> buf(buffer_bytes_);
    Sha256 hash;
    while (true) {
      ASSIGN_OR_RETURN(size_t n, file->Read(buf.data(), buf.size()));
      if (n == 0) break;
      hash.Update(buf.data(), n);
      if (sink != nullptr) RETURN_IF_ERROR((*sink)(buf.data(), n));
    }
    std::string actual = hash.FinishDigest();
    if (actual != digest) {
      return absl::DataLossError("artifact " + digest + " is corrupt: stored bytes hash to " +
                                 actual);
    }
    return absl::OkStatus();
  }

  // Removes temp files not modified for stale_temp_micros_: their writers have crashed. Younger
  // ones may belong to live writers in other processes.
  Status RemoveStaleTempFiles() {
    ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(tmp_dir_));
    const int64_t cutoff = clock_->NowMicros() - stale_temp_micros_;
    for (const std::string& name : names) {
      if (!IsTempName(name)) continue;
      const std::string path = tmp_dir_ + "/" + name;
      StatusOr<PathInfo> info = env_->Stat(path);
      if (!info.ok() || !info->is_regular || info->mtime_micros >= cutoff) continue;
      Status removed = env_->RemoveFile(path);
      // Another process opening the store may have removed it first.
      if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
    }
    return absl::OkStatus();
  }

  const std::string root_;
  const std::string objects_dir_;
  const std::string tmp_dir_;
  BlobEnv* const env_;
  const Clock* const clock_;
  const int64_t stale_temp_micros_;
  const size_t buffer_bytes_;
};

}  // namespace

StatusOr<std::unique_ptr<ArtifactStore>> CreateLocalArtifactStore(
    const std::string& root, const LocalArtifactStoreOptions& options) {
  if (root.empty()) return absl::InvalidArgumentError("artifact store root is empty");
  auto store = std::make_unique<LocalArtifactStore>(root, options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<ArtifactStore>(std::move(store));
}

StatusOr<std::unique_ptr<ArtifactStore>> CreateLocalArtifactStore(const std::string& root) {
  return CreateLocalArtifactStore(root, LocalArtifactStoreOptions());
}

StatusOr<std::string> LocalObjectPath(const std::string& root, const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  return root + "/objects/sha256/" + digest.substr(7, 2) + "/" + digest.substr(9);
}

}  // namespace plinth
