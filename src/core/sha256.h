// SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has it), streaming.
// Digests are written "sha256:<64 lowercase hex>" wherever they leave a module.
#ifndef PLINTH_CORE_SHA256_H_
#define PLINTH_CORE_SHA256_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace plinth {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t n);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // The 32-byte raw digest; the object must not be updated afterwards.
  std::string FinishRaw();
  // "sha256:<hex>".
  std::string FinishDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "sha256:<hex>" of `data`.
std::string Sha256Digest(std::string_view data);
// Lowercase hex (no prefix) of `data`.
std::string Sha256Hex(std::string_view data);
// HMAC-SHA256 of `data` under `key`, lowercase hex.
std::string HmacSha256Hex(std::string_view key, std::string_view data);
// "sha256:<hex>" of a file's contents, read in chunks. NotFound if the file cannot be opened.
StatusOr<std::string> Sha256File(const std::string& path);
// True if `digest` is exactly "sha256:" followed by 64 lowercase hex characters.
bool IsValidDigest(std::string_view digest);

}  // namespace plinth

#endif  // PLINTH_CORE_SHA256_H_
