#include "blob/blob_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace plinth {
namespace {

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(err));
}

int64_t MtimeMicros(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
}

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("cannot write", path_, errno);
      }
      data += w;
      n -= static_cast<size_t>(w);
      appended_ += w;
    }
    return absl::OkStatus();
  }

  void StartWriteback() override {
    if (appended_ == written_back_) return;
    // Errors are ignored on purpose: Sync() is what reports them.
    ::sync_file_range(fd_, written_back_, appended_ - written_back_, SYNC_FILE_RANGE_WRITE);
    written_back_ = appended_;
  }

  Status SetMode(mode_t mode) override {
    if (::fchmod(fd_, mode) != 0) return ErrnoError("cannot chmod", path_, errno);
    return absl::OkStatus();
  }

  Status Sync() override {
    if (::fsync(fd_) != 0) return ErrnoError("cannot fsync", path_, errno);
    return absl::OkStatus();
  }

  Status Close() override {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return ErrnoError("cannot close", path_, errno);
    return absl::OkStatus();
  }

 private:
  std::string path_;
  int fd_;
  off_t appended_ = 0;
  off_t written_back_ = 0;
};

class PosixReadableFile : public ReadableFile {
 public:
  PosixReadableFile(std::string path, int fd, int64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixReadableFile() override { ::close(fd_); }

  StatusOr<size_t> Read(char* buf, size_t cap) override {
    while (true) {
      ssize_t n = ::read(fd_, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoError("cannot read", path_, errno);
    }
  }

  int64_t size() const override { return size_; }

 private:
  std::string path_;
  int fd_;
  int64_t size_;
};

class PosixBlobEnv : public BlobEnv {
 public:
  StatusOr<std::unique_ptr<WritableFile>> NewExclusiveFile(const std::string& path,
                                                           mode_t mode) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
      if (errno == EEXIST) return absl::AlreadyExistsError("already exists: " + path);
      return ErrnoError("cannot create", path, errno);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }

  StatusOr<std::unique_ptr<ReadableFile>> OpenRegularFile(const std::string& path) override {
    // O_NONBLOCK so that a FIFO planted at `path` cannot block the open; it has no effect on
    // reads from a regular file, and anything else is refused below.
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return absl::NotFoundError("not found: " + path);
      if (err == ELOOP) {
        return absl::FailedPreconditionError("refusing to follow a symlink at " + path);
      }
      return ErrnoError("cannot open", path, err);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError("cannot stat", path, err);
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return absl::FailedPreconditionError("not a regular file: " + path);
    }
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return std::unique_ptr<ReadableFile>(new PosixReadableFile(path, fd, st.st_size));
  }

  StatusOr<PathInfo> Stat(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return absl::NotFoundError("not found: " + path);
      return ErrnoError("cannot stat", path, errno);
    }
    PathInfo info;
    info.is_regular = S_ISREG(st.st_mode);
    info.is_directory = S_ISDIR(st.st_mode);
    info.is_symlink = S_ISLNK(st.st_mode);
    info.size = st.st_size;
    info.mtime_micros = MtimeMicros(st);
    return info;
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoError("cannot rename " + from + " to", to, errno);
    }
    return absl::OkStatus();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return absl::NotFoundError("not found: " + path);
      return ErrnoError("cannot remove", path, errno);
    }
    return absl::OkStatus();
  }

  StatusOr<bool> CreateDir(const std::string& path, mode_t mode) override {
    if (::mkdir(path.c_str(), mode) == 0) return true;
    if (errno == EEXIST) return false;
    return ErrnoError("cannot create folder", path, errno);
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open folder", path, errno);
    Status s = absl::OkStatus();
    if (::fsync(fd) != 0) s = ErrnoError("cannot fsync folder", path, errno);
    ::close(fd);
    return s;
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) {
      if (errno == ENOENT) return absl::NotFoundError("not found: " + path);
      return ErrnoError("cannot list", path, errno);
    }
    std::vector<std::string> names;
    int err = 0;
    while (true) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) {
        err = errno;
        break;
      }
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(dir);
    if (err != 0) return ErrnoError("cannot list", path, err);
    return names;
  }
};

}  // namespace

BlobEnv* DefaultBlobEnv() {
  static BlobEnv* env = new PosixBlobEnv();
  return env;
}

}  // namespace plinth
