#include "core/ids.h"

#include <array>
#include <cstdint>
#include <mutex>

#include "core/random.h"

namespace plinth {
namespace {
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::mutex g_mu;
uint64_t g_last_ms = 0;
std::array<uint8_t, 10> g_last_rand{};
}  // namespace

std::string NewId(const Clock& clock) {
  uint64_t ms = static_cast<uint64_t>(clock.NowMicros() / 1000);
  std::array<uint8_t, 10> rand{};
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (ms <= g_last_ms) {
      // Same (or earlier) millisecond: keep the time, increment the random part.
      ms = g_last_ms;
      rand = g_last_rand;
      for (int i = 9; i >= 0; --i) {
        if (++rand[i] != 0) break;
      }
    } else {
      FillRandom(rand.data(), rand.size());
    }
    g_last_ms = ms;
    g_last_rand = rand;
  }
  // 128 bits: 48 time bits then 80 random bits, as 26 base32 digits (130 bits, top 2 zero).
  std::array<uint8_t, 16> bytes{};
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 10; ++i) bytes[6 + i] = rand[i];
  std::string out(26, '0');
  // Extract 5-bit groups from the 130-bit big-endian number (2 leading zero bits).
  for (int i = 0; i < 26; ++i) {
    int bit = i * 5 - 2;  // position of the group's first bit within the 128 bits
    int value = 0;
    for (int b = 0; b < 5; ++b) {
      int pos = bit + b;
      int v = 0;
      if (pos >= 0) v = (bytes[pos / 8] >> (7 - pos % 8)) & 1;
      value = (value << 1) | v;
    }
    out[i] = kAlphabet[value];
  }
  return out;
}

bool IsValidId(std::string_view id) {
  if (id.size() != 26) return false;
  for (char c : id) {
    bool ok = false;
    for (const char* p = kAlphabet; *p; ++p) ok |= (*p == c);
    if (!ok) return false;
  }
  return id[0] <= '7';
}

}  // namespace plinth
