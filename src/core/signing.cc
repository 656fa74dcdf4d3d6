#include "core/signing.h"

#include <sodium.h>
#include <sys/stat.h>

#include "core/files.h"
#include "core/random.h"

namespace plinth {

SigningKey SigningKey::Generate() {
  SigningKey key;
  key.public_key_.resize(crypto_sign_PUBLICKEYBYTES);
  key.secret_key_.resize(crypto_sign_SECRETKEYBYTES);
  InitCrypto();
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(key.public_key_.data()),
                      reinterpret_cast<unsigned char*>(key.secret_key_.data()));
  return key;
}

StatusOr<SigningKey> SigningKey::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return absl::NotFoundError("signing key not found: " + path);
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError("signing key " + path +
                                       " is readable by others; expected mode 0600");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  SigningKey key;
  if (!HexDecode(text, &key.secret_key_) || key.secret_key_.size() != crypto_sign_SECRETKEYBYTES) {
    return absl::DataLossError("signing key " + path + " is not a valid Ed25519 key");
  }
  key.public_key_.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(key.public_key_.data()),
                               reinterpret_cast<const unsigned char*>(key.secret_key_.data()));
  return key;
}

Status SigningKey::Save(const std::string& path) const {
  return WriteFileAtomic(path, HexEncode(secret_key_) + "\n", 0600, /*overwrite=*/false);
}

std::string SigningKey::Sign(std::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), reinterpret_cast<const unsigned char*>(secret_key_.data()));
  return Base64Encode(std::string_view(reinterpret_cast<char*>(sig), sizeof(sig)));
}

std::string SigningKey::KeyId() const { return HexEncode(public_key_); }

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature_b64) {
  std::string sig;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES) return false;
  if (!Base64Decode(signature_b64, &sig) || sig.size() != crypto_sign_BYTES) return false;
  InitCrypto();
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(sig.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace plinth
