#include "data/synth_transactions.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <vector>

#include "core/clock.h"
#include "core/files.h"
#include "core/random.h"

namespace plinth {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMicrosPerDay = kSecondsPerDay * kMicrosPerSecond;
// 10000-01-01T00:00:00Z: FormatTime writes four-digit years only before this instant.
constexpr int64_t kYear10000Micros = int64_t{253402300800} * kMicrosPerSecond;
constexpr int kMaxCustomers = 10000000;
constexpr int kMaxDays = 3650;

// ---- Portable randomness ----
//
// Every random draw is its own statement (or a branch of ?:): C++ leaves the order of function
// arguments and of the operands of + unspecified, and compilers differ, so two draws in one
// expression would make the output depend on the compiler.
//
// Everything below uses only integer arithmetic and the IEEE operations that are correctly
// rounded everywhere (+, -, *, /, sqrt, floor, frexp, ldexp), so results are bit-identical across
// compilers and standard libraries. The build compiles this file with -ffp-contract=off so no
// multiply-add is fused.

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2, top 32 bits (k * kLn2Hi is exact)
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // ln 2 - kLn2Hi

// e^x, x clamped to [-700, 700]; relative error a few ulp.
double Exp(double x) {
  x = std::clamp(x, -700.0, 700.0);
  double k = std::floor(x * 1.4426950408889634 + 0.5);
  double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= 0.35
  double sum = 1.0;
  double term = 1.0;
  for (int i = 1; i <= 17; ++i) {
    term = term * r / i;
    sum += term;
  }
  return std::ldexp(sum, static_cast<int>(k));
}

// Natural logarithm of a positive finite x; relative error a few ulp.
double Log(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752) {
    m *= 2.0;
    --e;
  }
  double s = (m - 1.0) / (m + 1.0);  // |s| <= 0.172; log m = 2 atanh s
  double s2 = s * s;
  double power = s;
  double sum = 0.0;
  for (int i = 1; i <= 27; i += 2) {
    sum += power / i;
    power *= s2;
  }
  return e * kLn2Hi + (e * kLn2Lo + 2.0 * sum);
}

uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The seed of the stream for (seed, a, b).
uint64_t StreamSeed(uint64_t seed, uint64_t a, uint64_t b) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  return Mix64(Mix64(Mix64(seed + kGolden) ^ (a + kGolden)) ^ (b * kGolden + 1));
}

// xoshiro256** seeded through SplitMix64, with distribution code of its own.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      word = Mix64(seed);
    }
  }

  uint64_t Next() {
    uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n >= 1.
  int UniformInt(int n) { return std::min(n - 1, static_cast<int>(Uniform() * n)); }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal (Marsaglia's polar method).
  double Normal() {
    while (true) {
      double u = 2.0 * Uniform() - 1.0;
      double v = 2.0 * Uniform() - 1.0;
      double s = u * u + v * v;
      if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * Log(s) / s);
    }
  }
  // Lognormal with the given median and log-scale sigma.
  double LogNormal(double median, double sigma) { return median * Exp(sigma * Normal()); }
  double Exponential(double mean) { return -mean * Log(1.0 - Uniform()); }
  // Poisson by multiplying uniforms (Knuth); lambda is clamped to [0, 60].
  int Poisson(double lambda) {
    double limit = Exp(-std::clamp(lambda, 0.0, 60.0));
    int k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  // An index drawn with probability proportional to `weights` (non-negative, not all zero).
  int Choose(std::span<const double> weights) {
    double total = 0.0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    int last = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0.0) continue;
      last = static_cast<int>(i);
      x -= weights[i];
      if (x < 0.0) return last;
    }
    return last;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

// ---- The world: channels, merchant categories, countries, daily rhythms ----

enum Channel { kChip, kContactless, kOnline, kAtm };
constexpr std::array<const char*, 4> kChannelNames = {"chip", "contactless", "online", "atm"};
// Contactless payments above this amount fall back to chip.
constexpr double kContactlessLimit = 100.0;

struct Category {
  const char* name;
  double weight;                   // share of everyday transactions (relative)
  double scale;                    // median amount relative to the customer's spending level
  double sigma;                    // log-scale spread of amounts
  std::array<double, 4> channels;  // weights of chip, contactless, online, atm
};

enum CategoryId {
  kGrocery,
  kRestaurants,
  kFuel,
  kRetail,
  kOnlineServices,
  kEntertainment,
  kHealth,
  kUtilities,
  kTravel,
  kElectronics,
  kJewelry,
  kCashAdvance,
  kNumCategories
};

constexpr std::array<Category, kNumCategories> kCategories = {{
    {"grocery", 24.0, 1.4, 0.55, {40, 55, 5, 0}},
    {"restaurants", 18.0, 0.9, 0.5, {35, 60, 5, 0}},
    {"fuel", 9.0, 1.6, 0.35, {55, 45, 0, 0}},
    {"retail", 12.0, 1.8, 0.7, {35, 40, 25, 0}},
    {"online_services", 10.0, 0.5, 0.6, {0, 0, 100, 0}},
    {"entertainment", 6.0, 1.1, 0.6, {20, 30, 50, 0}},
    {"health", 5.0, 1.5, 0.6, {50, 40, 10, 0}},
    {"utilities", 4.0, 2.5, 0.4, {5, 0, 95, 0}},
    {"travel", 3.0, 7.0, 0.8, {25, 10, 65, 0}},
    {"electronics", 3.0, 4.0, 0.8, {35, 20, 45, 0}},
    {"jewelry", 0.6, 5.0, 0.8, {70, 20, 10, 0}},
    {"cash_advance", 3.4, 3.0, 0.5, {0, 0, 0, 100}},
}};

struct Country {
  const char* code;
  double home_weight;    // share of the bank's customers living there
  double travel_weight;  // popularity as a trip destination
};

// A European retail bank: every home country is in UTC+0 or UTC+1, so UTC hours are close to the
// customers' local hours.
constexpr std::array<Country, 27> kCountries = {{
    {"GB", 30, 6}, {"DE", 15, 6}, {"FR", 15, 10}, {"ES", 10, 12}, {"IT", 10, 10}, {"NL", 8, 5},
    {"IE", 6, 4},  {"BE", 6, 3},  {"PT", 0, 7},   {"GR", 0, 5},   {"CH", 0, 3},   {"AT", 0, 3},
    {"PL", 0, 2},  {"HR", 0, 3},  {"US", 0, 6},   {"CA", 0, 2},   {"MX", 0, 1.5}, {"BR", 0, 1},
    {"TR", 0, 2},  {"AE", 0, 2},  {"MA", 0, 1.5}, {"TH", 0, 1.5}, {"JP", 0, 1},   {"AU", 0, 1},
    {"ZA", 0, 1},  {"IN", 0, 1},  {"SG", 0, 1},
}};

// Relative activity per hour of the day (UTC).
constexpr std::array<double, 24> kWeekdayHours = {1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.5, 3.0,
                                                  4.5, 5.0, 5.5, 6.5, 8.0, 7.0, 5.5, 5.5,
                                                  6.0, 7.5, 8.0, 7.0, 5.5, 4.0, 2.5, 1.5};
constexpr std::array<double, 24> kWeekendHours = {1.5, 0.9, 0.5, 0.3, 0.2, 0.3, 0.6, 1.2,
                                                  2.5, 4.0, 5.5, 7.0, 8.0, 7.5, 7.0, 6.5,
                                                  6.5, 6.5, 7.0, 6.5, 5.5, 4.5, 3.0, 2.0};
// Night owls keep the same rhythm three hours later.
constexpr int kNightOwlShiftHours = 3;
// Relative activity Monday .. Sunday.
constexpr std::array<double, 7> kWeekdayFactor = {0.92, 0.95, 0.97, 1.0, 1.12, 1.18, 0.86};

// ---- Fraud ----

// Probability that a customer-day has a fraud incident; with about 3.3 transactions an incident
// and 1.9 legitimate transactions a customer-day this gives a fraud rate near 0.2%.
constexpr double kIncidentRate = 0.0012;
// Share of incidents that start at night (00:00-05:59 UTC).
constexpr double kFraudNightShare = 0.55;
enum FraudKind { kCardTesting, kStolenCard, kCardNotPresent };
constexpr std::array<double, 3> kFraudKindWeights = {0.35, 0.35, 0.30};

// ---- Generation ----

struct Customer {
  double level;                   // median everyday amount before the category's scale
  double rate;                    // mean transactions a day
  double trip_rate;               // probability a day of leaving on a trip
  std::array<uint8_t, 3> habits;  // favourite merchant categories
  uint8_t home;                   // index into kCountries
  uint8_t trip_country;
  uint8_t trip_days_left;  // 0 when at home
  bool night_owl;
};

// One generated transaction, before it gets its id.
struct Txn {
  int64_t micros;
  int64_t cents;
  uint32_t customer;  // 0-based
  uint16_t day;       // day of generation, for a total order
  uint16_t seq;       // order within the customer-day
  uint8_t category;
  uint8_t channel;
  uint8_t country;
  bool fraud;
};

bool TxnLess(const Txn& a, const Txn& b) {
  if (a.micros != b.micros) return a.micros < b.micros;
  if (a.customer != b.customer) return a.customer < b.customer;
  if (a.day != b.day) return a.day < b.day;
  return a.seq < b.seq;
}

class Generator {
 public:
  explicit Generator(const SynthTransactionsOptions& options) : options_(options) {}

  // Calls `sink(txn)` for every transaction in output order; stops at the first error.
  template <typename Sink>
  Status Run(Sink&& sink) {
    BuildCustomers();
    int64_t start_second = options_.start_micros / kMicrosPerSecond;  // validated >= 0
    start_second_of_day_ = start_second % kSecondsPerDay;
    std::vector<Txn> pending;
    for (int day = 0; day < options_.days; ++day) {
      day_start_ = options_.start_micros + day * kMicrosPerDay;
      int64_t day_number = (start_second + day * kSecondsPerDay) / kSecondsPerDay;
      weekday_ = static_cast<int>((day_number + 3) % 7);  // 1970-01-01 was a Thursday
      for (int c = 0; c < options_.customers; ++c) GenerateDay(c, day, &pending);
      int64_t day_end = day_start_ + kMicrosPerDay;
      auto due = std::partition(pending.begin(), pending.end(),
                                [day_end](const Txn& t) { return t.micros < day_end; });
      std::sort(pending.begin(), due, TxnLess);
      for (auto it = pending.begin(); it != due; ++it) RETURN_IF_ERROR(sink(*it));
      pending.erase(pending.begin(), due);
    }
    return absl::OkStatus();
  }

 private:
  void BuildCustomers() {
    std::array<double, kCountries.size()> home_weights;
    for (size_t i = 0; i < kCountries.size(); ++i) home_weights[i] = kCountries[i].home_weight;
    std::array<double, kNumCategories> habit_weights;
    for (int i = 0; i < kNumCategories; ++i) habit_weights[i] = kCategories[i].weight;
    habit_weights[kJewelry] = 0.0;
    habit_weights[kCashAdvance] = 0.0;

    customers_.resize(options_.customers);
    for (int c = 0; c < options_.customers; ++c) {
      Rng rng(StreamSeed(options_.seed, static_cast<uint64_t>(c), 0));
      Customer& k = customers_[c];
      k.level = std::clamp(rng.LogNormal(22.0, 0.6), 3.0, 400.0);
      k.rate = std::clamp(rng.LogNormal(1.5, 0.6), 0.1, 12.0);
      k.trip_rate = std::min(rng.LogNormal(2.5, 0.8), 20.0) / 365.0;
      for (uint8_t& h : k.habits) h = static_cast<uint8_t>(rng.Choose(habit_weights));
      k.home = static_cast<uint8_t>(rng.Choose(home_weights));
      k.trip_country = k.home;
      k.trip_days_left = 0;
      k.night_owl = rng.Bernoulli(0.08);
    }
  }

  // A country other than `a` and `b`, drawn by travel popularity (or uniformly if `uniform`).
  static uint8_t ForeignCountry(Rng& rng, uint8_t a, uint8_t b, bool uniform) {
    std::array<double, kCountries.size()> weights;
    for (size_t i = 0; i < kCountries.size(); ++i) {
      weights[i] = (i == a || i == b) ? 0.0 : (uniform ? 1.0 : kCountries[i].travel_weight);
    }
    return static_cast<uint8_t>(rng.Choose(weights));
  }

  // The instant in this day when the UTC clock shows `second_of_day` (0..86399).
  int64_t At(int64_t second_of_day) const {
    int64_t offset =
        ((second_of_day - start_second_of_day_) % kSecondsPerDay + kSecondsPerDay) % kSecondsPerDay;
    return day_start_ + offset * kMicrosPerSecond;
  }

  static int64_t ToCents(double amount, double minimum) {
    return static_cast<int64_t>(std::floor(std::max(amount, minimum) * 100.0 + 0.5));
  }

  // Channel for a card-present or any purchase in `category`, honouring the contactless limit.
  static uint8_t PickChannel(Rng& rng, int category, double amount, bool card_present_only) {
    std::array<double, 4> weights = kCategories[category].channels;
    if (card_present_only && weights[kChip] + weights[kContactless] + weights[kAtm] > 0.0) {
      weights[kOnline] = 0.0;
    }
    int channel = rng.Choose(weights);
    if (channel == kContactless && amount > kContactlessLimit) channel = kChip;
    return static_cast<uint8_t>(channel);
  }

  static double Amount(Rng& rng, const Customer& k, int category) {
    double amount =
        k.level * kCategories[category].scale * rng.LogNormal(1.0, kCategories[category].sigma);
    if (category == kCashAdvance) amount = std::max(20.0, std::floor(amount / 10.0 + 0.5) * 10.0);
    return amount;
  }

  void GenerateDay(int c, int day, std::vector<Txn>* out) {
    Customer& k = customers_[c];
    Rng rng(StreamSeed(options_.seed, static_cast<uint64_t>(c), static_cast<uint64_t>(day) + 1));
    uint16_t seq = 0;
    auto emit = [&](int64_t micros, double amount, double min_amount, int category, int channel,
                    int country, bool fraud) {
      out->push_back(Txn{micros, ToCents(amount, min_amount), static_cast<uint32_t>(c),
                         static_cast<uint16_t>(day), seq++, static_cast<uint8_t>(category),
                         static_cast<uint8_t>(channel), static_cast<uint8_t>(country), fraud});
    };

    if (k.trip_days_left == 0 && rng.Bernoulli(k.trip_rate)) {
      k.trip_country = ForeignCountry(rng, k.home, k.home, false);
      k.trip_days_left = static_cast<uint8_t>(3 + rng.UniformInt(12));
    }
    bool travelling = k.trip_days_left > 0;
    uint8_t location = travelling ? k.trip_country : k.home;

    bool weekend = weekday_ >= 5;
    const std::array<double, 24>& base = weekend ? kWeekendHours : kWeekdayHours;
    std::array<double, 24> hours;
    int shift = k.night_owl ? kNightOwlShiftHours : 0;
    for (int h = 0; h < 24; ++h) hours[h] = base[(h + 24 - shift) % 24];

    // Everyday spending.
    double lambda =
        k.rate * kWeekdayFactor[weekday_] * rng.LogNormal(1.0, 0.3) * (travelling ? 1.2 : 1.0);
    int count = rng.Poisson(lambda);
    for (int i = 0; i < count; ++i) {
      int category =
          rng.Bernoulli(0.45)
              ? k.habits[rng.UniformInt(3)]
              : rng.Choose(std::span<const double>(CategoryWeights().data(), kNumCategories));
      double amount = Amount(rng, k, category);
      int channel = PickChannel(rng, category, amount, false);
      int country = location;
      if (channel == kOnline) {
        // Online merchants are mostly domestic, wherever the customer is.
        country = rng.Bernoulli(0.04) ? ForeignCountry(rng, k.home, k.home, false) : k.home;
      }
      int hour = rng.Choose(hours);
      int second = rng.UniformInt(3600);
      emit(At(hour * 3600 + second), amount, 1.0, category, channel, country, false);
    }

    if (rng.Bernoulli(kIncidentRate)) GenerateFraud(rng, k, location, hours, emit);
    if (travelling) --k.trip_days_left;
  }

  // A fraud incident: one to seven transactions within an hour.
  template <typename Emit>
  void GenerateFraud(Rng& rng, const Customer& k, uint8_t location,
                     const std::array<double, 24>& hours, Emit& emit) {
    int hour = rng.Bernoulli(kFraudNightShare) ? rng.UniformInt(6) : rng.Choose(hours);
    int second = rng.UniformInt(3600);
    int64_t start = At(hour * 3600 + second);
    uint8_t foreign = ForeignCountry(rng, k.home, location, true);
    int64_t offset_seconds = 0;
    auto next_time = [&](double mean_gap_minutes) {
      int64_t t = start + offset_seconds * kMicrosPerSecond;
      offset_seconds += 1 + static_cast<int64_t>(rng.Exponential(mean_gap_minutes * 60.0));
      offset_seconds = std::min<int64_t>(offset_seconds, 3599);
      return t;
    };
    switch (static_cast<FraudKind>(rng.Choose(kFraudKindWeights))) {
      case kCardTesting: {
        // Small online probes, then a large purchase.
        int n = 3 + rng.UniformInt(5);
        int country = rng.Bernoulli(0.5) ? foreign : k.home;
        for (int i = 0; i + 1 < n; ++i) {
          int category = rng.Bernoulli(0.7) ? kOnlineServices : kRetail;
          double amount = 0.5 + 9.5 * rng.Uniform();
          int64_t micros = next_time(4.0);
          emit(micros, amount, 0.5, category, kOnline, country, true);
        }
        int category = rng.Bernoulli(0.6) ? kElectronics : kJewelry;
        double amount = k.level * rng.LogNormal(12.0, 0.5);
        int64_t micros = next_time(4.0);
        emit(micros, amount, 1.0, category, kOnline, country, true);
        break;
      }
      case kStolenCard: {
        // A stolen or cloned card used in shops and ATMs, often abroad.
        constexpr std::array<double, 4> kWeights = {30, 30, 25, 15};
        constexpr std::array<int, 4> kKinds = {kJewelry, kElectronics, kCashAdvance, kRetail};
        int n = 2 + rng.UniformInt(4);
        int country = rng.Bernoulli(0.65) ? foreign : location;
        for (int i = 0; i < n; ++i) {
          int category = kKinds[rng.Choose(kWeights)];
          double amount = k.level * rng.LogNormal(6.0, 0.5);
          if (category == kCashAdvance) {
            amount = std::max(20.0, std::floor(amount / 10.0 + 0.5) * 10.0);
          }
          int channel = PickChannel(rng, category, amount, true);
          int64_t micros = next_time(9.0);
          emit(micros, amount, 1.0, category, channel, country, true);
        }
        break;
      }
      case kCardNotPresent: {
        // Stolen card details used online for one or two large purchases.
        constexpr std::array<double, 4> kWeights = {40, 20, 25, 15};
        constexpr std::array<int, 4> kKinds = {kElectronics, kJewelry, kTravel, kOnlineServices};
        int n = rng.Bernoulli(0.4) ? 2 : 1;
        int country = rng.Bernoulli(0.4) ? foreign : k.home;
        for (int i = 0; i < n; ++i) {
          int category = kKinds[rng.Choose(kWeights)];
          double amount = k.level * rng.LogNormal(9.0, 0.6);
          int64_t micros = next_time(15.0);
          emit(micros, amount, 1.0, category, kOnline, country, true);
        }
        break;
      }
    }
  }

  static const std::array<double, kNumCategories>& CategoryWeights() {
    static const std::array<double, kNumCategories> weights = [] {
      std::array<double, kNumCategories> w;
      for (int i = 0; i < kNumCategories; ++i) w[i] = kCategories[i].weight;
      return w;
    }();
    return weights;
  }

  const SynthTransactionsOptions& options_;
  std::vector<Customer> customers_;
  int64_t start_second_of_day_ = 0;
  int64_t day_start_ = 0;
  int weekday_ = 0;  // Monday = 0
};

// "C00000042" for the 0-based customer 41.
int FormatCustomerId(uint32_t customer, char* buf, size_t size) {
  return std::snprintf(buf, size, "C%08u", customer + 1);
}

// ---- CSV output ----

Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

// A temporary file beside the target, removed on destruction unless committed.
class TempFile {
 public:
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  Status Open(const std::string& target) {
    std::filesystem::path p(target);
    dir_ = p.parent_path().empty() ? "." : p.parent_path().string();
    std::string tmp = dir_ + "/." + p.filename().string() + ".tmp-" + RandomHex(8);
    fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) return Errno("cannot create", tmp);
    path_ = tmp;
    return absl::OkStatus();
  }

  Status Write(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot write", path_);
      }
      off += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  // fsync, close, rename over `target`, fsync the folder.
  Status Commit(const std::string& target) {
    if (::fsync(fd_) != 0) return Errno("cannot sync", path_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno("cannot close", path_);
    if (::rename(path_.c_str(), target.c_str()) != 0) return Errno("cannot rename to", target);
    path_.clear();
    return SyncDirectory(dir_);
  }

 private:
  int fd_ = -1;
  std::string path_;
  std::string dir_;
};

}  // namespace

Status ValidateSynthTransactionsOptions(const SynthTransactionsOptions& options) {
  if (options.customers < 1 || options.customers > kMaxCustomers) {
    return absl::InvalidArgumentError("customers must be between 1 and " +
                                      std::to_string(kMaxCustomers) + ", got " +
                                      std::to_string(options.customers));
  }
  if (options.days < 1 || options.days > kMaxDays) {
    return absl::InvalidArgumentError("days must be between 1 and " + std::to_string(kMaxDays) +
                                      ", got " + std::to_string(options.days));
  }
  if (options.start_micros < 0 ||
      options.start_micros > kYear10000Micros - options.days * kMicrosPerDay) {
    return absl::InvalidArgumentError(
        "start_micros must be between 1970-01-01T00:00:00Z and a start that ends the last day "
        "before the year 10000, got " +
        std::to_string(options.start_micros));
  }
  return absl::OkStatus();
}

StatusOr<Table> GenerateSyntheticTransactions(const SynthTransactionsOptions& options) {
  RETURN_IF_ERROR(ValidateSynthTransactionsOptions(options));
  Column id("transaction_id", ColumnType::kInt64);
  Column customer("customer_id", ColumnType::kString);
  Column timestamp("timestamp", ColumnType::kTimestamp);
  Column amount("amount", ColumnType::kFloat64);
  Column category("merchant_category", ColumnType::kString);
  Column channel("channel", ColumnType::kString);
  Column country("country", ColumnType::kString);
  Column fraud("is_fraud", ColumnType::kInt64);
  int64_t next_id = 1;
  char buf[32];
  Generator generator(options);
  RETURN_IF_ERROR(generator.Run([&](const Txn& t) {
    id.AppendInt64(next_id++);
    int len = FormatCustomerId(t.customer, buf, sizeof(buf));
    customer.AppendString(std::string_view(buf, static_cast<size_t>(len)));
    timestamp.AppendInt64(t.micros);
    amount.AppendFloat64(static_cast<double>(t.cents) / 100.0);
    category.AppendString(kCategories[t.category].name);
    channel.AppendString(kChannelNames[t.channel]);
    country.AppendString(kCountries[t.country].code);
    fraud.AppendInt64(t.fraud ? 1 : 0);
    return absl::OkStatus();
  }));
  Table table;
  for (Column* c : {&id, &customer, &timestamp, &amount, &category, &channel, &country, &fraud}) {
    RETURN_IF_ERROR(table.AddColumn(std::move(*c)));
  }
  return table;
}

Status WriteSyntheticTransactions(const SynthTransactionsOptions& options,
                                  const std::string& out_path, SynthTransactionsStats* stats) {
  RETURN_IF_ERROR(ValidateSynthTransactionsOptions(options));
  if (out_path.empty()) return absl::InvalidArgumentError("out_path is empty");
  TempFile file;
  RETURN_IF_ERROR(file.Open(out_path));
  constexpr size_t kFlushBytes = size_t{1} << 20;
  std::string buffer =
      "transaction_id,customer_id,timestamp,amount,merchant_category,channel,country,is_fraud\n";
  buffer.reserve(kFlushBytes + 256);
  SynthTransactionsStats counts;
  char line[256];
  Generator generator(options);
  RETURN_IF_ERROR(generator.Run([&](const Txn& t) -> Status {
    ++counts.transactions;
    if (t.fraud) ++counts.fraud_transactions;
    int len = std::snprintf(line, sizeof(line), "%lld,C%08u,%s,%lld.%02lld,%s,%s,%s,%d\n",
                            static_cast<long long>(counts.transactions), t.customer + 1,
                            FormatTime(t.micros).c_str(), static_cast<long long>(t.cents / 100),
                            static_cast<long long>(t.cents % 100), kCategories[t.category].name,
                            kChannelNames[t.channel], kCountries[t.country].code, t.fraud ? 1 : 0);
    buffer.append(line, static_cast<size_t>(len));
    if (buffer.size() >= kFlushBytes) {
      RETURN_IF_ERROR(file.Write(buffer));
      buffer.clear();
    }
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(file.Write(buffer));
  RETURN_IF_ERROR(file.Commit(out_path));
  if (stats != nullptr) *stats = counts;
  return absl::OkStatus();
}

}  // namespace plinth
