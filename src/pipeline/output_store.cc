#include "pipeline/output_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/files.h"
#include "core/sha256.h"

namespace plinth::pipeline {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

// Closes a descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

StatusOr<std::unique_ptr<DirectoryOutputStore>> DirectoryOutputStore::Create(
    const std::string& root) {
  RETURN_IF_ERROR(MakeDirectories(root));
  // Absolute, because the paths it hands out are read by commands running in other folders.
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(root, ec).lexically_normal().string();
  if (ec) return absl::InternalError("cannot resolve " + root + ": " + ec.message());
  return std::unique_ptr<DirectoryOutputStore>(new DirectoryOutputStore(absolute));
}

StatusOr<std::string> DirectoryOutputStore::ObjectPath(const std::string& digest) const {
  if (!IsValidDigest(digest)) {
    return absl::InvalidArgumentError("not a digest: '" + digest.substr(0, 80) + "'");
  }
  return root_ + "/" + digest.substr(7);
}

StatusOr<std::string> DirectoryOutputStore::Put(const std::string& path) {
  // O_NOFOLLOW: an output is a file the step wrote, never a link to somewhere else.
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (in.get() < 0) return Errno("cannot open output", path);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return Errno("cannot stat output", path);
  if (!S_ISREG(st.st_mode)) return absl::InvalidArgumentError("output is not a file: " + path);
  std::string tmp = root_ + "/.tmp-XXXXXX";
  Fd out(::mkstemp(tmp.data()));
  if (out.get() < 0) return Errno("cannot create a file in", root_);
  Sha256 hash;
  char buf[1 << 16];
  Status status = absl::OkStatus();
  while (status.ok()) {
    const ssize_t n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Errno("cannot read output", path);
      break;
    }
    if (n == 0) break;
    hash.Update(buf, static_cast<size_t>(n));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        status = Errno("cannot write", tmp);
        break;
      }
      done += w;
    }
  }
  if (status.ok() && ::fsync(out.get()) != 0) status = Errno("cannot fsync", tmp);
  if (::close(out.release()) != 0 && status.ok()) status = Errno("cannot close", tmp);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  const std::string digest = hash.FinishDigest();
  const std::string target = root_ + "/" + digest.substr(7);
  ::chmod(tmp.c_str(), 0444);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    Status s = Errno("cannot rename into", target);
    ::unlink(tmp.c_str());
    return s;
  }
  return digest;
}

StatusOr<std::string> DirectoryOutputStore::LocalPath(const std::string& digest) {
  ASSIGN_OR_RETURN(std::string path, ObjectPath(digest));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError("output " + digest + " is not in " + root_);
  }
  return path;
}

StatusOr<bool> DirectoryOutputStore::Contains(const std::string& digest) {
  ASSIGN_OR_RETURN(std::string path, ObjectPath(digest));
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace plinth::pipeline
