// Artifact store throughput: puts a file into a local store, or gets an object out of one into a
// file (verifying while reading), and prints one line with the time, MB/s and peak RSS. Driven by
// bench/artifact_bench.sh, which runs the peers (sha256sum, cp) on the same file.
//
//   artifact_bench put <store root> <input file>
//   artifact_bench get <store root> <digest> <output file>
//
// Output: "op=put bytes=N seconds=S mb_per_s=M peak_rss_mb=R digest=sha256:..." (MB = 10^6 bytes).
// Exit status 0 on success, 1 with a message on stderr otherwise.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "blob/artifact_store.h"
#include "blob/local_artifact_store.h"

namespace plinth {
namespace {

double PeakRssMb() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

void Report(const char* op, int64_t bytes, double seconds, const std::string& digest) {
  std::printf("op=%s bytes=%lld seconds=%.3f mb_per_s=%.1f peak_rss_mb=%.1f digest=%s\n", op,
              static_cast<long long>(bytes), seconds, static_cast<double>(bytes) / 1e6 / seconds,
              PeakRssMb(), digest.c_str());
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "artifact_bench: %s\n", message.c_str());
  return 1;
}

int Put(const std::string& root, const std::string& input) {
  auto store = CreateLocalArtifactStore(root);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  int fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Fail("cannot open " + input + ": " + std::strerror(errno));
  auto start = std::chrono::steady_clock::now();
  StatusOr<ArtifactInfo> info = (*store)->Put(FileSource(fd));
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  if (!info.ok()) return Fail(std::string(info.status().message()));
  Report("put", info->size, elapsed.count(), info->digest);
  return 0;
}

int Get(const std::string& root, const std::string& digest, const std::string& output) {
  auto store = CreateLocalArtifactStore(root);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail("cannot create " + output + ": " + std::strerror(errno));
  int64_t bytes = 0;
  ByteSink sink = [fd, &bytes](const char* data, size_t n) -> Status {
    while (n > 0) {
      ssize_t w = ::write(fd, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError(std::string("cannot write output: ") + std::strerror(errno));
      }
      data += w;
      n -= static_cast<size_t>(w);
      bytes += w;
    }
    return absl::OkStatus();
  };
  auto start = std::chrono::steady_clock::now();
  Status status = (*store)->Get(digest, sink);
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (::close(fd) != 0 && status.ok()) status = absl::InternalError("cannot close output");
  if (!status.ok()) return Fail(std::string(status.message()));
  Report("get", bytes, elapsed.count(), digest);
  return 0;
}

}  // namespace
}  // namespace plinth

int main(int argc, char** argv) {
  const std::string op = argc > 1 ? argv[1] : "";
  if (op == "put" && argc == 4) return plinth::Put(argv[2], argv[3]);
  if (op == "get" && argc == 5) return plinth::Get(argv[2], argv[3], argv[4]);
  std::fprintf(stderr,
               "usage: artifact_bench put <store root> <input file>\n"
               "       artifact_bench get <store root> <digest> <output file>\n");
  return 2;
}
