#include "blob/fault_injection_env.h"

namespace plinth {
namespace {

Status Injected(const std::string& what) { return absl::InternalError("injected: " + what); }

class FaultInjectionWritableFile : public WritableFile {
 public:
  FaultInjectionWritableFile(FaultInjectionEnv* env, std::string path,
                             std::unique_ptr<WritableFile> base, int64_t limit)
      : env_(env), path_(std::move(path)), base_(std::move(base)), limit_(limit) {}

  Status Append(const char* data, size_t n) override {
    if (limit_ >= 0 && written_ + static_cast<int64_t>(n) > limit_) {
      size_t fits = static_cast<size_t>(limit_ - written_);
      if (fits > 0) RETURN_IF_ERROR(base_->Append(data, fits));
      written_ += static_cast<int64_t>(fits);
      env_->Record("FAILED append " + path_);
      return Injected("no space left writing " + path_);
    }
    RETURN_IF_ERROR(base_->Append(data, n));
    written_ += static_cast<int64_t>(n);
    return absl::OkStatus();
  }

  void StartWriteback() override { base_->StartWriteback(); }

  Status SetMode(mode_t mode) override {
    env_->Record("chmod " + path_);
    return base_->SetMode(mode);
  }

  Status Sync() override {
    if (env_->fail_file_sync()) {
      env_->Record("FAILED sync " + path_);
      return Injected("fsync failed on " + path_);
    }
    env_->Record("sync " + path_);
    return base_->Sync();
  }

  Status Close() override {
    env_->Record("close " + path_);
    return base_->Close();
  }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  int64_t limit_;
  int64_t written_ = 0;
};

}  // namespace

std::vector<std::string> FaultInjectionEnv::operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return operations_;
}

void FaultInjectionEnv::clear_operations() {
  std::lock_guard<std::mutex> lock(mu_);
  operations_.clear();
}

void FaultInjectionEnv::Record(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  operations_.push_back(op);
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewExclusiveFile(const std::string& path,
                                                                            mode_t mode) {
  if (fail_create_) {
    Record("FAILED create " + path);
    return Injected("cannot create " + path);
  }
  Record("create " + path);
  ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, base_->NewExclusiveFile(path, mode));
  return std::unique_ptr<WritableFile>(
      new FaultInjectionWritableFile(this, path, std::move(file), fail_write_after_.load()));
}

StatusOr<std::unique_ptr<ReadableFile>> FaultInjectionEnv::OpenRegularFile(
    const std::string& path) {
  return base_->OpenRegularFile(path);
}

StatusOr<PathInfo> FaultInjectionEnv::Stat(const std::string& path) { return base_->Stat(path); }

Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to) {
  if (fail_rename_) {
    Record("FAILED rename " + from + " " + to);
    return Injected("cannot rename " + from + " to " + to);
  }
  Record("rename " + from + " " + to);
  return base_->Rename(from, to);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  Record("remove " + path);
  return base_->RemoveFile(path);
}

StatusOr<bool> FaultInjectionEnv::CreateDir(const std::string& path, mode_t mode) {
  Record("mkdir " + path);
  return base_->CreateDir(path, mode);
}

Status FaultInjectionEnv::SyncDir(const std::string& path) {
  if (fail_dir_sync_) {
    Record("FAILED syncdir " + path);
    return Injected("fsync failed on folder " + path);
  }
  Record("syncdir " + path);
  return base_->SyncDir(path);
}

StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& path) {
  return base_->ListDir(path);
}

}  // namespace plinth
