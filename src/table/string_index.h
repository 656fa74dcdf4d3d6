// An open-addressing hash index from strings to their position in a dictionary (a
// std::vector<std::string> owned by the caller). The index stores only codes and hashes, never the
// strings, so it stays valid when the dictionary vector reallocates, and copying it is cheap.
// Used for the dictionary of string columns and by the CSV reader's per-chunk dictionaries.
// Not thread-safe for writes.
#ifndef PLINTH_TABLE_STRING_INDEX_H_
#define PLINTH_TABLE_STRING_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plinth {

class StringIndex {
 public:
  StringIndex() = default;

  // The code of `s` in `dict`, appending `s` to `dict` (and indexing it) if absent. `dict` must be
  // the dictionary this index was built over.
  int32_t Intern(std::string_view s, std::vector<std::string>& dict);
  // The code of `s` in `dict`, or nullopt if absent.
  std::optional<int32_t> Find(std::string_view s, const std::vector<std::string>& dict) const;
  // Re-indexes `dict` from scratch. Returns false (and leaves the index holding the first
  // occurrence of each string) if `dict` holds the same string twice.
  bool Rebuild(const std::vector<std::string>& dict);
  // Number of indexed strings.
  size_t size() const { return size_; }
  void Clear();

 private:
  struct Slot {
    uint32_t hash = 0;
    int32_t code = -1;  // -1: empty
  };
  static uint64_t Hash(std::string_view s);
  void Grow();
  // Inserts `code` (known to be absent) with `hash`.
  void InsertNew(uint32_t hash, int32_t code);

  std::vector<Slot> slots_;  // size is 0 or a power of two
  size_t size_ = 0;
};

}  // namespace plinth

#endif  // PLINTH_TABLE_STRING_INDEX_H_
