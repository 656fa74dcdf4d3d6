#include "blob/artifact_store.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace plinth {

StatusOr<std::string> ArtifactStore::VerifiedLocalPath(const std::string& digest) {
  (void)digest;
  return absl::UnimplementedError("this artifact store keeps no local files");
}

ByteSource FileSource(int fd) {
  return [fd](char* buf, size_t cap) -> StatusOr<size_t> {
    while (true) {
      ssize_t n = ::read(fd, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) {
        return absl::InternalError(std::string("cannot read source: ") + std::strerror(errno));
      }
    }
  };
}

ByteSource StringSource(const std::string* data) {
  size_t offset = 0;
  return [data, offset](char* buf, size_t cap) mutable -> StatusOr<size_t> {
    size_t n = std::min(cap, data->size() - offset);
    std::memcpy(buf, data->data() + offset, n);
    offset += n;
    return n;
  };
}

ByteSink StringSink(std::string* out) {
  return [out](const char* data, size_t n) -> Status {
    out->append(data, n);
    return absl::OkStatus();
  };
}

}  // namespace plinth
