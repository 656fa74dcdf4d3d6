// Sortable unique ids: 48 bits of milliseconds since the epoch and 80 random bits, written in
// Crockford base32 (26 characters, like ULID). Ids made later sort later; within one millisecond
// in one process they still increase. Thread-safe.
#ifndef PLINTH_CORE_IDS_H_
#define PLINTH_CORE_IDS_H_

#include <string>
#include <string_view>

#include "core/clock.h"

namespace plinth {

std::string NewId(const Clock& clock);
// True if `id` has the shape NewId produces (26 Crockford base32 characters).
bool IsValidId(std::string_view id);

}  // namespace plinth

#endif  // PLINTH_CORE_IDS_H_
