// Splitting rows into training and test sets: at random (stratified by label, deterministic for a
// seed) or out of time (by a timestamp column, so the test set lies after everything trained on).
//
// Randomness is a SplitMix64 stream over the seed with an unbiased bounded draw, written out here
// rather than taken from <random>'s distributions, whose output the C++ standard leaves to each
// library: the same seed gives the same split on every platform and compiler.
#ifndef PLINTH_TRAIN_SPLIT_H_
#define PLINTH_TRAIN_SPLIT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "table/table.h"

namespace plinth {

// Row indices of each side, ascending.
struct Split {
  std::vector<size_t> train;
  std::vector<size_t> test;
  // Out-of-time splits: test rows are those at or after this time (microseconds since the epoch).
  int64_t cutoff = 0;
};

// A random split with round(test_fraction * rows) test rows. InvalidArgument unless
// 0 < test_fraction < 1 and both sides get at least one row.
StatusOr<Split> RandomSplit(size_t rows, double test_fraction, uint64_t seed);

// A random split stratified by `labels` (any values; each distinct value is a stratum): each
// stratum's test share is test_fraction, the total is round(test_fraction * rows), and strata get
// their test rows by largest remainder (ties to the larger stratum, then the smaller label). Rows
// are drawn by a seeded shuffle within each stratum. InvalidArgument as for RandomSplit, or for a
// NaN label.
StatusOr<Split> StratifiedSplit(std::span<const float> labels, double test_fraction, uint64_t seed);

// Out of time: rows with `time` < cutoff train, rows at or after it test. InvalidArgument if the
// column is not a timestamp (or int64), has nulls, or either side would be empty.
StatusOr<Split> OutOfTimeSplit(const Column& time, int64_t cutoff);

enum class OutOfTimeBasis {
  kRows,      // the last test_fraction of the rows in time order
  kTimeSpan,  // the last test_fraction of the span from the earliest to the latest time
};

// Out of time with the cutoff chosen so that about test_fraction of the rows (kRows) or of the
// time span (kTimeSpan) is tested. With kRows the cutoff is the time of the first test row in time
// order, so rows sharing that time all test and the test share can exceed test_fraction. Errors
// as above, and InvalidArgument unless 0 < test_fraction < 1.
StatusOr<Split> OutOfTimeSplit(const Column& time, double test_fraction, OutOfTimeBasis basis);

}  // namespace plinth

#endif  // PLINTH_TRAIN_SPLIT_H_
