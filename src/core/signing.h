// Ed25519 signing keys (libsodium). The platform's key signs audit checkpoints and, later,
// attestations. Key files hold the 64-byte secret key as hex and are written with mode 0600.
#ifndef PLINTH_CORE_SIGNING_H_
#define PLINTH_CORE_SIGNING_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace plinth {

class SigningKey {
 public:
  static SigningKey Generate();
  // NotFound if the file is missing; DataLoss if it does not hold a valid key;
  // PermissionDenied if the file is readable by group or others.
  static StatusOr<SigningKey> Load(const std::string& path);
  // Writes the key atomically with mode 0600. AlreadyExists if the file exists.
  Status Save(const std::string& path) const;

  // 64-byte signature over `message`, base64.
  std::string Sign(std::string_view message) const;
  // Raw 32-byte public key, and as hex (its id in checkpoints and attestations).
  const std::string& public_key() const { return public_key_; }
  std::string KeyId() const;

 private:
  std::string secret_key_;  // 64 bytes
  std::string public_key_;  // 32 bytes
};

// True if `signature_b64` is a valid Ed25519 signature of `message` by `public_key` (32 raw bytes).
bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature_b64);

}  // namespace plinth

#endif  // PLINTH_CORE_SIGNING_H_
