#include "platform/client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/files.h"
#include "core/ids.h"
#include "core/random.h"
#include "core/sha256.h"

namespace plinth {

StatusOr<std::string> PlatformClient::PublicKey() {
  ASSIGN_OR_RETURN(Json key, Call("audit.key", Json::object()));
  std::string raw;
  if (!key.contains("public_key") || !key["public_key"].is_string() ||
      !HexDecode(key["public_key"].get<std::string>(), &raw) || raw.size() != 32) {
    return absl::InternalError("the platform returned a malformed public key");
  }
  return raw;
}

std::string LocalPlatformClient::NewRequestId() const { return NewId(*platform_->clock()); }

StatusOr<Json> LocalPlatformClient::Call(const std::string& op, const Json& request) {
  ASSIGN_OR_RETURN(Json result, platform_->Call(op, token_, request, NewRequestId()));
  const OperationSpec* spec = FindOperation(op);
  if (spec != nullptr && spec->mutating) RETURN_IF_ERROR(platform_->Checkpoint());
  return result;
}

StatusOr<Json> LocalPlatformClient::Upload(const std::string& op, const Json& request,
                                           const std::string& path, const ProgressFn& progress) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(path + ": " + std::strerror(errno));
  struct stat st;
  int64_t total = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
  ByteSource file = FileSource(fd);
  int64_t done = 0;
  ByteSource source = [&](char* buf, size_t cap) -> StatusOr<size_t> {
    auto n = file(buf, cap);
    if (n.ok()) {
      done += static_cast<int64_t>(*n);
      if (progress) progress(done, total);
    }
    return n;
  };
  auto result = platform_->CallUpload(op, token_, request, source, NewRequestId());
  ::close(fd);
  if (result.ok()) RETURN_IF_ERROR(platform_->Checkpoint());
  return result;
}

Status LocalPlatformClient::GetArtifact(const std::string& digest, const std::string& out_path,
                                        const ProgressFn& progress) {
  VerifiedFileWriter writer(out_path, digest);
  int64_t total = -1, done = 0;
  RETURN_IF_ERROR(platform_->GetArtifact(
      token_, digest,
      [&](int64_t size) {
        total = size;
        return writer.Open();
      },
      [&](const char* data, size_t n) -> Status {
        RETURN_IF_ERROR(writer.Write(data, n));
        done += static_cast<int64_t>(n);
        if (progress) progress(done, total);
        return absl::OkStatus();
      },
      NewRequestId()));
  return writer.Finish();
}

Status LocalPlatformClient::ExportAudit(const std::string& out_path) {
  std::string tmp = out_path + ".tmp-" + RandomHex(4);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::InvalidArgumentError("cannot write " + out_path);
    Status s = platform_->ExportAudit(token_, out, NewRequestId());
    out.close();
    if (!s.ok() || !out) {
      std::remove(tmp.c_str());
      return s.ok() ? absl::InternalError("cannot write " + out_path) : s;
    }
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError("cannot move export into place at " + out_path);
  }
  return absl::OkStatus();
}

VerifiedFileWriter::VerifiedFileWriter(std::string out_path, std::string digest)
    : out_path_(std::move(out_path)), digest_(std::move(digest)) {}

VerifiedFileWriter::~VerifiedFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
}

Status VerifiedFileWriter::Open() {
  if (fd_ >= 0) return absl::OkStatus();
  tmp_path_ = out_path_ + ".partial-" + RandomHex(4);
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    tmp_path_.clear();
    return absl::InvalidArgumentError("cannot write " + out_path_ + ": " + std::strerror(errno));
  }
  hash_ = std::make_unique<Sha256>();
  return absl::OkStatus();
}

Status VerifiedFileWriter::Write(const char* data, size_t n) {
  RETURN_IF_ERROR(Open());
  hash_->Update(data, n);
  while (n > 0) {
    ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError("cannot write " + out_path_ + ": " + std::strerror(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

Status VerifiedFileWriter::Finish() {
  RETURN_IF_ERROR(Open());
  std::string got = hash_->FinishDigest();
  if (got != digest_) {
    return absl::DataLossError("downloaded bytes hash to " + got + ", expected " + digest_ +
                               "; nothing was written to " + out_path_);
  }
  if (::fsync(fd_) != 0) return absl::InternalError("cannot sync " + out_path_);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), out_path_.c_str()) != 0) {
    return absl::InternalError("cannot move download into place at " + out_path_);
  }
  tmp_path_.clear();
  return absl::OkStatus();
}

}  // namespace plinth
