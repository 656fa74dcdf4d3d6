#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "absl/strings/numbers.h"

namespace plinth {
namespace {

class RealClock : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Clock* SystemClock() {
  static RealClock* clock = new RealClock();
  return clock;
}

std::string FormatTime(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t frac = micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::optional<int64_t> ParseTime(std::string_view text) {
  int y, mo, d, h, mi, s;
  if (text.size() < 20) return std::nullopt;
  std::string str(text);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) !=
          6 ||
      consumed != 19) {
    return std::nullopt;
  }
  int64_t frac = 0;
  size_t pos = 19;
  if (pos < str.size() && str[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < str.size() && str[pos] >= '0' && str[pos] <= '9') {
      if (digits < 6) {
        frac = frac * 10 + (str[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) frac *= 10;
  }
  if (pos + 1 != str.size() || str[pos] != 'Z') return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t secs = timegm(&tm);
  return secs * 1000000 + frac;
}

std::optional<int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  char unit = text.back();
  int64_t n = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(0, text.size() - 1)), &n) || n <= 0)
    return std::nullopt;
  int64_t scale = 0;
  switch (unit) {
    case 's':
      scale = 1;
      break;
    case 'm':
      scale = 60;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'd':
      scale = 86400;
      break;
    default:
      return std::nullopt;
  }
  if (n > (int64_t{1} << 40) / scale) return std::nullopt;
  return n * scale * 1000000;
}

}  // namespace plinth
