#include "table/string_index.h"

#include <cstring>

namespace plinth {
namespace {

inline uint64_t Mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

}  // namespace

// A small multiply-mix hash over 8-byte words (in the spirit of wyhash): fast on the short strings
// that categorical columns hold, and independent of the process (no seed), so it is reproducible.
uint64_t StringIndex::Hash(std::string_view s) {
  constexpr uint64_t kP0 = 0xa0761d6478bd642full;
  constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = Mix(n ^ kP0, kP1);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix(h ^ w, kP1 ^ 0x8ebc6af09c88c6e3ull);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = Mix(h ^ w ^ (static_cast<uint64_t>(n) << 56), kP0 ^ 0x589965cc75374cc3ull);
  }
  return Mix(h, kP0);
}

void StringIndex::Clear() {
  slots_.clear();
  size_ = 0;
}

void StringIndex::InsertNew(uint32_t hash, int32_t code) {
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i].code >= 0) i = (i + 1) & mask;
  slots_[i] = Slot{hash, code};
  ++size_;
}

void StringIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, Slot{});
  size_ = 0;
  for (const Slot& s : old) {
    if (s.code >= 0) InsertNew(s.hash, s.code);
  }
}

std::optional<int32_t> StringIndex::Find(std::string_view s,
                                         const std::vector<std::string>& dict) const {
  if (slots_.empty()) return std::nullopt;
  uint32_t hash = static_cast<uint32_t>(Hash(s));
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.code < 0) return std::nullopt;
    if (slot.hash == hash && dict[slot.code] == s) return slot.code;
  }
}

int32_t StringIndex::Intern(std::string_view s, std::vector<std::string>& dict) {
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  uint32_t hash = static_cast<uint32_t>(Hash(s));
  size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  for (;; i = (i + 1) & mask) {
    const Slot& slot = slots_[i];
    if (slot.code < 0) break;
    if (slot.hash == hash && dict[slot.code] == s) return slot.code;
  }
  int32_t code = static_cast<int32_t>(dict.size());
  dict.emplace_back(s);
  slots_[i] = Slot{hash, code};
  ++size_;
  return code;
}

bool StringIndex::Rebuild(const std::vector<std::string>& dict) {
  Clear();
  size_t capacity = 16;
  while (capacity < dict.size() * 2 + 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  bool unique = true;
  for (size_t code = 0; code < dict.size(); ++code) {
    if (Find(dict[code], dict).has_value()) {
      unique = false;
      continue;
    }
    InsertNew(static_cast<uint32_t>(Hash(dict[code])), static_cast<int32_t>(code));
  }
  return unique;
}

}  // namespace plinth
