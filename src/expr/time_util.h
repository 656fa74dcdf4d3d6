// Timestamps and durations of the expression language: microseconds, UTC, proleptic Gregorian
// calendar. Timestamps range over 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z; durations
// over +-315576000000 seconds (10000 years), as in CEL.
#ifndef PLINTH_EXPR_TIME_UTIL_H_
#define PLINTH_EXPR_TIME_UTIL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plinth::expr {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMinTimestampMicros = -62135596800LL * kMicrosPerSecond;
inline constexpr int64_t kMaxTimestampMicros = 253402300799LL * kMicrosPerSecond + 999999;
inline constexpr int64_t kMaxDurationMicros = 315576000000LL * kMicrosPerSecond;

inline bool TimestampInRange(int64_t micros) {
  return micros >= kMinTimestampMicros && micros <= kMaxTimestampMicros;
}
inline bool DurationInRange(int64_t micros) {
  return micros >= -kMaxDurationMicros && micros <= kMaxDurationMicros;
}

// RFC 3339: "2024-01-31T00:00:00Z", "2024-01-31T10:15:00.25+01:00". Fractions beyond
// microseconds are truncated. nullopt if malformed or out of range.
std::optional<int64_t> ParseTimestamp(std::string_view text);
// "2024-01-31T00:00:00Z"; the fraction is printed only when non-zero, without trailing zeros.
std::string FormatTimestamp(int64_t micros);

// A sequence of decimal numbers with units, optionally signed: "1h", "1h30m", "-1.5s", "300ms",
// "10us", "7d" (units d, h, m, s, ms, us, ns). "0" alone is zero. Truncated to microseconds.
// nullopt if malformed or out of range.
std::optional<int64_t> ParseDurationText(std::string_view text);
// Seconds with the fraction only when non-zero: "3600s", "-1.5s", "0.000001s".
std::string FormatDuration(int64_t micros);

// The broken-down form of a timestamp at a fixed UTC offset.
struct CivilTime {
  int64_t year;
  int month;     // 1..12
  int day;       // 1..31
  int hour;      // 0..23
  int minute;    // 0..59
  int second;    // 0..59
  int micros;    // 0..999999
  int weekday;   // 0 = Sunday
  int year_day;  // 0-based
};
CivilTime ToCivil(int64_t micros, int64_t offset_seconds);

// A time zone argument of the getter functions: "UTC", "Z", or a fixed offset "+05:30", "-08:00".
// Returns the offset in seconds, nullopt for anything else.
std::optional<int64_t> ParseZoneOffset(std::string_view zone);

}  // namespace plinth::expr

#endif  // PLINTH_EXPR_TIME_UTIL_H_
