// libFuzzer target: the JSON parser every request body goes through, and canonical JSON.
// Invariants: parsing never crashes; canonical JSON of a parsed value parses back to a value
// whose canonical JSON is the same bytes (canonicalisation is a fixed point).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = plinth::ParseJson(text);
  if (!parsed.ok()) return 0;
  auto canonical = plinth::CanonicalJson(*parsed);
  if (!canonical.ok()) return 0;  // NaN cannot come from JSON text, but stay total
  auto again = plinth::ParseJson(*canonical);
  if (!again.ok()) std::abort();
  auto canonical_again = plinth::CanonicalJson(*again);
  if (!canonical_again.ok() || *canonical_again != *canonical) std::abort();
  return 0;
}
