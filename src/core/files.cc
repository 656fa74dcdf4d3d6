#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/random.h"

namespace plinth {
namespace {
Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}
}  // namespace

StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError("file not found: " + path);
    return Errno("cannot open", path);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open folder", dir);
  int rc = ::fsync(fd);
  Status s = rc == 0 ? absl::OkStatus() : Errno("cannot fsync folder", dir);
  ::close(fd);
  return s;
}

Status MakeDirectories(const std::string& dir, mode_t mode) {
  std::error_code ec;
  std::filesystem::path p(dir);
  std::filesystem::path current;
  for (const auto& part : p) {
    current /= part;
    if (current.empty() || std::filesystem::exists(current, ec)) continue;
    if (::mkdir(current.c_str(), mode) != 0 && errno != EEXIST) {
      return Errno("cannot create folder", current.string());
    }
  }
  return absl::OkStatus();
}

Status WriteFileAtomic(const std::string& path, const std::string& contents, mode_t mode,
                       bool overwrite) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  if (!overwrite && ::access(path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError("file already exists: " + path);
  }
  std::string tmp = dir + "/." + target.filename().string() + ".tmp-" + RandomHex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    Status s = Errno("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (!overwrite) {
    // link() fails if the target appeared meanwhile, so an existing file is never replaced.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      Status s = errno == EEXIST ? absl::AlreadyExistsError("file already exists: " + path)
                                 : Errno("cannot create", path);
      ::unlink(tmp.c_str());
      return s;
    }
    ::unlink(tmp.c_str());
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(dir);
}

}  // namespace plinth
