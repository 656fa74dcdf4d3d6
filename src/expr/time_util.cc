#include "expr/time_util.h"

#include <cstdio>

namespace plinth::expr {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date (era-based arithmetic, valid for any year).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t shifted_month = month > 2 ? month - 3 : month + 9;
  const int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;
  *day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  *month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

bool IsLeap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view text, size_t* pos, int n, int* out) {
  if (*pos + n > text.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// Micros as "S[.ffffff]" without trailing zeros in the fraction; `micros` >= 0.
std::string SecondsWithFraction(int64_t seconds, int64_t micros) {
  std::string out = std::to_string(seconds);
  if (micros != 0) {
    char frac[24];
    std::snprintf(frac, sizeof(frac), "%06lld", static_cast<long long>(micros));
    std::string f(frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(text, &pos, 4, &year) || !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &month) ||
      !Expect(text, &pos, '-') || !Digits(text, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return std::nullopt;
  ++pos;
  if (!Digits(text, &pos, 2, &hour) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &minute) || !Expect(text, &pos, ':') ||
      !Digits(text, &pos, 2, &second)) {
    return std::nullopt;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t frac = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) frac = frac * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int d = digits; d < 6; ++d) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 + minute * 60 +
                    second - offset;
  int64_t micros = seconds * kMicrosPerSecond + frac;
  if (!TimestampInRange(micros)) return std::nullopt;
  return micros;
}

std::string FormatTimestamp(int64_t micros) {
  CivilTime c = ToCivil(micros, 0);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02dT%02d:%02d:", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute);
  std::string out(buf);
  if (c.second < 10) out += "0";
  out += SecondsWithFraction(c.second, c.micros);
  out += "Z";
  return out;
}

std::optional<int64_t> ParseDurationText(std::string_view text) {
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    negative = text[pos] == '-';
    ++pos;
  }
  if (pos == text.size()) return std::nullopt;
  if (text.substr(pos) == "0") return 0;
  // Accumulate in nanoseconds with 128-bit headroom; each term is bounded before it is added.
  const __int128 kLimit = static_cast<__int128>(kMaxDurationMicros) * 1000;
  __int128 total = 0;
  while (pos < text.size()) {
    __int128 whole = 0;
    int64_t frac_num = 0;
    int64_t frac_den = 1;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      whole = whole * 10 + (text[pos] - '0');
      if (whole > kLimit) return std::nullopt;
      ++pos;
    }
    bool had_whole = pos > start;
    bool had_frac = false;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (frac_den < 1000000000000000000LL) {
          frac_num = frac_num * 10 + (text[pos] - '0');
          frac_den *= 10;
        }
        had_frac = true;
        ++pos;
      }
    }
    if (!had_whole && !had_frac) return std::nullopt;
    int64_t unit_nanos = 0;
    std::string_view rest = text.substr(pos);
    auto unit = [&](std::string_view name, int64_t nanos) {
      if (rest.substr(0, name.size()) == name) {
        unit_nanos = nanos;
        pos += name.size();
        return true;
      }
      return false;
    };
    if (!(unit("ns", 1) || unit("us", 1000) || unit("\xc2\xb5s", 1000) || unit("ms", 1000000) ||
          unit("s", 1000000000LL) || unit("m", 60000000000LL) || unit("h", 3600000000000LL) ||
          unit("d", 86400000000000LL))) {
      return std::nullopt;
    }
    __int128 term = whole * unit_nanos;
    if (term > kLimit) return std::nullopt;
    term += static_cast<__int128>(frac_num) * unit_nanos / frac_den;
    total += term;
    if (total > kLimit) return std::nullopt;
  }
  int64_t micros = static_cast<int64_t>(total / 1000);
  return negative ? -micros : micros;
}

std::string FormatDuration(int64_t micros) {
  std::string sign = micros < 0 ? "-" : "";
  uint64_t magnitude = micros < 0 ? 0 - static_cast<uint64_t>(micros) : micros;
  return sign +
         SecondsWithFraction(static_cast<int64_t>(magnitude / kMicrosPerSecond),
                             static_cast<int64_t>(magnitude % kMicrosPerSecond)) +
         "s";
}

CivilTime ToCivil(int64_t micros, int64_t offset_seconds) {
  int64_t seconds = FloorDiv(micros, kMicrosPerSecond) + offset_seconds;
  CivilTime c;
  c.micros = static_cast<int>(micros - FloorDiv(micros, kMicrosPerSecond) * kMicrosPerSecond);
  int64_t days = FloorDiv(seconds, kSecondsPerDay);
  int64_t second_of_day = seconds - days * kSecondsPerDay;
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(second_of_day / 3600);
  c.minute = static_cast<int>(second_of_day / 60 % 60);
  c.second = static_cast<int>(second_of_day % 60);
  int64_t weekday = (days + 4) % 7;  // 1970-01-01 was a Thursday
  c.weekday = static_cast<int>(weekday < 0 ? weekday + 7 : weekday);
  c.year_day = static_cast<int>(days - DaysFromCivil(c.year, 1, 1));
  return c;
}

std::optional<int64_t> ParseZoneOffset(std::string_view zone) {
  if (zone == "UTC" || zone == "Z" || zone == "Etc/UTC") return 0;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
    return std::nullopt;
  }
  size_t pos = 1;
  int hours, minutes;
  if (!Digits(zone, &pos, 2, &hours)) return std::nullopt;
  ++pos;
  if (!Digits(zone, &pos, 2, &minutes) || hours > 23 || minutes > 59) return std::nullopt;
  int64_t offset = hours * 3600 + minutes * 60;
  return zone[0] == '-' ? -offset : offset;
}

}  // namespace plinth::expr
