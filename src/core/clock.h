// An injectable clock. Every module that needs the time takes a Clock*, so tests can pin it
// (FakeClock) and token expiry, audit times and checkpoints can be tested without sleeping.
// Thread-safe.
#ifndef PLINTH_CORE_CLOCK_H_
#define PLINTH_CORE_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace plinth {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
};

// The process's real clock.
Clock* SystemClock();

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_micros) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Set(int64_t now_micros) { now_.store(now_micros); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<int64_t> now_;
};

// RFC 3339 in UTC with microseconds: "2026-11-26T03:16:25.123456Z".
std::string FormatTime(int64_t micros);
// Parses the output of FormatTime (and the same without fraction). Returns nullopt if malformed.
std::optional<int64_t> ParseTime(std::string_view text);
// Parses a duration like "90s", "15m", "1h", "7d" into microseconds; nullopt if malformed.
std::optional<int64_t> ParseDuration(std::string_view text);

}  // namespace plinth

#endif  // PLINTH_CORE_CLOCK_H_
