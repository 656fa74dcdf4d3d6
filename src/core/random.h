// Cryptographically secure randomness and constant-time comparison (libsodium).
#ifndef PLINTH_CORE_RANDOM_H_
#define PLINTH_CORE_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace plinth {

// Initialises libsodium once (thread-safe); every function here calls it. Aborts if the system
// offers no secure randomness.
void InitCrypto();
void FillRandom(uint8_t* out, size_t n);
// n random bytes as lowercase hex (2n characters).
std::string RandomHex(size_t n);
// Constant-time equality of two byte strings (false at once if the lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string HexEncode(std::string_view bytes);
// Returns false on odd length or a non-hex character.
bool HexDecode(std::string_view hex, std::string* out);
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace plinth

#endif  // PLINTH_CORE_RANDOM_H_
