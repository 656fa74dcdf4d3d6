// A way to reach the platform's operations: in process on a home (LocalPlatformClient, here) or
// over HTTP (api/http_client.h). The CLI speaks only to this interface, so every command behaves
// the same locally and against a server.
#ifndef PLINTH_PLATFORM_CLIENT_H_
#define PLINTH_PLATFORM_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "platform/platform.h"

namespace plinth {

// Called as bytes move: (bytes so far, total or -1 when unknown).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

class PlatformClient {
 public:
  virtual ~PlatformClient() = default;
  // Runs a JSON operation of operations.h.
  virtual StatusOr<Json> Call(const std::string& op, const Json& request) = 0;
  // Runs a bytes-in operation (Payload::kBytesIn) with `request` as its fields, streaming the
  // file at `path` as its bytes.
  virtual StatusOr<Json> Upload(const std::string& op, const Json& request, const std::string& path,
                                const ProgressFn& progress) = 0;
  // Stores the file at `path` in `project`; returns {"digest", "size", "project"}.
  StatusOr<Json> PutArtifact(const std::string& project, const std::string& path,
                             const ProgressFn& progress) {
    return Upload("artifact.put", {{"project", project}}, path, progress);
  }
  // Writes the artifact to `out_path`, which appears only once its digest verified.
  virtual Status GetArtifact(const std::string& digest, const std::string& out_path,
                             const ProgressFn& progress) = 0;
  // Writes the audit export (JSON lines) to `out_path`.
  virtual Status ExportAudit(const std::string& out_path) = 0;
  // The platform's public key (raw 32 bytes) for verifying exports.
  virtual StatusOr<std::string> PublicKey();
};

// In process, on an open platform, as the holder of `token`.
class LocalPlatformClient : public PlatformClient {
 public:
  LocalPlatformClient(std::shared_ptr<Platform> platform, std::string token)
      : platform_(std::move(platform)), token_(std::move(token)) {}
  StatusOr<Json> Call(const std::string& op, const Json& request) override;
  StatusOr<Json> Upload(const std::string& op, const Json& request, const std::string& path,
                        const ProgressFn& progress) override;
  Status GetArtifact(const std::string& digest, const std::string& out_path,
                     const ProgressFn& progress) override;
  Status ExportAudit(const std::string& out_path) override;

 private:
  std::string NewRequestId() const;
  std::shared_ptr<Platform> platform_;
  std::string token_;
};

// Writes a downloaded stream to a temporary file beside `out_path`, hashing as it goes; Finish()
// renames it into place only if the content hashes to `digest` (DataLoss otherwise). The
// temporary file is removed if Finish is not reached.
class VerifiedFileWriter {
 public:
  VerifiedFileWriter(std::string out_path, std::string digest);
  ~VerifiedFileWriter();
  Status Open();
  Status Write(const char* data, size_t n);
  Status Finish();

 private:
  std::string out_path_;
  std::string tmp_path_;
  std::string digest_;
  int fd_ = -1;
  std::unique_ptr<class Sha256> hash_;
};

}  // namespace plinth

#endif  // PLINTH_PLATFORM_CLIENT_H_
