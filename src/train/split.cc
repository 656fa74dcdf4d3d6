#include "train/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

namespace plinth {
namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a fixed, portable stream of 64-bit values from a seed.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0, without modulo bias: draws below 2^64 mod bound are
  // redrawn.
  uint64_t Below(uint64_t bound) {
    const uint64_t reject_below = (0 - bound) % bound;
    for (;;) {
      uint64_t r = Next();
      if (r >= reject_below) return r % bound;
    }
  }

 private:
  uint64_t state_;
};

Status CheckFraction(double test_fraction) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    return absl::InvalidArgumentError("the test fraction must be between 0 and 1 (exclusive)");
  }
  return absl::OkStatus();
}

// Splits each stratum (rows in ascending order) by a seeded partial shuffle, giving the strata
// `quotas` test rows each.
Split SplitStrata(const std::vector<std::vector<size_t>>& strata, const std::vector<size_t>& quotas,
                  uint64_t seed) {
  SplitMix64 rng(seed);
  Split split;
  for (size_t s = 0; s < strata.size(); ++s) {
    std::vector<size_t> rows = strata[s];
    const size_t k = quotas[s];
    for (size_t i = 0; i < k; ++i) {
      size_t j = i + static_cast<size_t>(rng.Below(rows.size() - i));
      std::swap(rows[i], rows[j]);
    }
    split.test.insert(split.test.end(), rows.begin(), rows.begin() + static_cast<ptrdiff_t>(k));
    split.train.insert(split.train.end(), rows.begin() + static_cast<ptrdiff_t>(k), rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

StatusOr<size_t> TestRows(size_t rows, double test_fraction) {
  RETURN_IF_ERROR(CheckFraction(test_fraction));
  const size_t k = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(rows)));
  if (k == 0 || k >= rows) {
    return absl::InvalidArgumentError("a test fraction of " + std::to_string(test_fraction) +
                                      " of " + std::to_string(rows) +
                                      " rows leaves one side empty");
  }
  return k;
}

Status CheckTimeColumn(const Column& time) {
  if (time.type() != ColumnType::kTimestamp && time.type() != ColumnType::kInt64) {
    return absl::InvalidArgumentError("column '" + time.name() + "' is " +
                                      ColumnTypeName(time.type()) +
                                      "; an out-of-time split needs a timestamp");
  }
  if (size_t nulls = time.null_count(); nulls > 0) {
    return absl::InvalidArgumentError("column '" + time.name() + "' has " + std::to_string(nulls) +
                                      " null times");
  }
  if (time.size() == 0) return absl::InvalidArgumentError("no rows to split");
  return absl::OkStatus();
}

}  // namespace

StatusOr<Split> RandomSplit(size_t rows, double test_fraction, uint64_t seed) {
  ASSIGN_OR_RETURN(size_t k, TestRows(rows, test_fraction));
  std::vector<std::vector<size_t>> strata(1);
  strata[0].resize(rows);
  for (size_t i = 0; i < rows; ++i) strata[0][i] = i;
  return SplitStrata(strata, {k}, seed);
}

StatusOr<Split> StratifiedSplit(std::span<const float> labels, double test_fraction,
                                uint64_t seed) {
  ASSIGN_OR_RETURN(size_t total, TestRows(labels.size(), test_fraction));
  std::map<float, std::vector<size_t>> by_label;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (std::isnan(labels[i])) {
      return absl::InvalidArgumentError("label at row " + std::to_string(i) + " is NaN");
    }
    by_label[labels[i]].push_back(i);
  }
  std::vector<std::vector<size_t>> strata;
  for (auto& [label, rows] : by_label) strata.push_back(std::move(rows));
  // Largest remainder: floors first, then one more row to the strata with the largest fractional
  // quota (ties: the larger stratum, then the smaller label) until the total is reached.
  std::vector<size_t> quotas(strata.size());
  std::vector<std::pair<double, size_t>> remainders;
  size_t assigned = 0;
  for (size_t s = 0; s < strata.size(); ++s) {
    const double exact = test_fraction * static_cast<double>(strata[s].size());
    quotas[s] = static_cast<size_t>(std::floor(exact));
    assigned += quotas[s];
    remainders.emplace_back(exact - std::floor(exact), s);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return strata[a.second].size() > strata[b.second].size();
  });
  for (size_t i = 0; assigned < total && i < remainders.size(); ++i) {
    ++quotas[remainders[i].second];
    ++assigned;
  }
  return SplitStrata(strata, quotas, seed);
}

StatusOr<Split> OutOfTimeSplit(const Column& time, int64_t cutoff) {
  RETURN_IF_ERROR(CheckTimeColumn(time));
  Split split;
  split.cutoff = cutoff;
  const std::vector<int64_t>& t = time.int64s();
  for (size_t i = 0; i < t.size(); ++i) (t[i] < cutoff ? split.train : split.test).push_back(i);
  if (split.train.empty() || split.test.empty()) {
    return absl::InvalidArgumentError(std::string("the cutoff leaves no ") +
                                      (split.train.empty() ? "training" : "test") + " rows");
  }
  return split;
}

StatusOr<Split> OutOfTimeSplit(const Column& time, double test_fraction, OutOfTimeBasis basis) {
  RETURN_IF_ERROR(CheckTimeColumn(time));
  RETURN_IF_ERROR(CheckFraction(test_fraction));
  std::vector<int64_t> sorted = time.int64s();
  std::sort(sorted.begin(), sorted.end());
  int64_t cutoff = 0;
  if (basis == OutOfTimeBasis::kRows) {
    ASSIGN_OR_RETURN(size_t k, TestRows(sorted.size(), test_fraction));
    cutoff = sorted[sorted.size() - k];
  } else {
    const long double span =
        static_cast<long double>(sorted.back()) - static_cast<long double>(sorted.front());
    cutoff =
        sorted.front() +
        static_cast<int64_t>(std::ceil((1.0L - static_cast<long double>(test_fraction)) * span));
  }
  return OutOfTimeSplit(time, cutoff);
}

}  // namespace plinth
