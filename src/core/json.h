// JSON for the whole code base (nlohmann::json) and its canonical form.
//
// Canonical JSON (RFC 8785 style) is what is hashed or signed: object keys sorted by code point,
// no whitespace, strings with only the required escapes, integers as integers and other numbers in
// the shortest form that reads back to the same double. NaN and infinities are not JSON and are
// refused.
#ifndef PLINTH_CORE_JSON_H_
#define PLINTH_CORE_JSON_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace plinth {

using Json = nlohmann::json;

// Serialises for people and the wire (not for hashing): never throws; bytes that are not UTF-8
// (which may come from hostile input echoed in a message) become U+FFFD.
std::string DumpJson(const Json& value, int indent = -1);

// InvalidArgument if `value` holds NaN or an infinity.
StatusOr<std::string> CanonicalJson(const Json& value);

// Parses `text`, refusing documents nested deeper than `max_depth`. InvalidArgument with the
// byte offset on malformed input.
StatusOr<Json> ParseJson(std::string_view text, int max_depth = 64);

}  // namespace plinth

#endif  // PLINTH_CORE_JSON_H_
