#include "train/split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace plinth {
namespace {

using ::testing::ElementsAre;

// Both sides ascending, disjoint, and together every row once.
void ExpectPartition(const Split& split, size_t rows) {
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_TRUE(std::is_sorted(split.test.begin(), split.test.end()));
  std::vector<size_t> all = split.train;
  all.insert(all.end(), split.test.begin(), split.test.end());
  std::sort(all.begin(), all.end());
  std::vector<size_t> expected(rows);
  std::iota(expected.begin(), expected.end(), size_t{0});
  EXPECT_EQ(all, expected);
}

std::vector<float> Labels(size_t rows, size_t every) {
  std::vector<float> labels(rows, 0);
  for (size_t i = 0; i < rows; i += every) labels[i] = 1;
  return labels;
}

TEST(StratifiedSplitTest, KeepsTheClassShareOnBothSides) {
  std::vector<float> labels = Labels(1000, 10);  // 100 positives
  StatusOr<Split> split = StratifiedSplit(labels, 0.2, 42);
  ASSERT_TRUE(split.ok()) << split.status();
  ExpectPartition(*split, 1000);
  EXPECT_EQ(split->test.size(), 200u);
  size_t test_positives = 0;
  for (size_t r : split->test) test_positives += labels[r] == 1;
  EXPECT_EQ(test_positives, 20u);
}

TEST(StratifiedSplitTest, LargestRemainderHitsTheTotal) {
  // 7 positives, 10 negatives, 30%: quotas 2.1 and 3.0 floor to 2 + 3; total round(5.1) = 5.
  std::vector<float> labels(17, 0);
  for (int i = 0; i < 7; ++i) labels[i] = 1;
  StatusOr<Split> split = StratifiedSplit(labels, 0.3, 1);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->test.size(), 5u);
  // 9 positives, 9 negatives, 25%: quotas 2.25 each, total round(4.5) = 5: the tie in remainders
  // and size goes to the smaller label (0).
  labels.assign(18, 0);
  for (int i = 0; i < 9; ++i) labels[i] = 1;
  split = StratifiedSplit(labels, 0.25, 1);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->test.size(), 5u);
  size_t positives = 0;
  for (size_t r : split->test) positives += labels[r] == 1;
  EXPECT_EQ(positives, 2u);
}

TEST(StratifiedSplitTest, DeterministicForASeed) {
  std::vector<float> labels = Labels(5000, 7);
  StatusOr<Split> a = StratifiedSplit(labels, 0.25, 9);
  StatusOr<Split> b = StratifiedSplit(labels, 0.25, 9);
  StatusOr<Split> c = StratifiedSplit(labels, 0.25, 10);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->test, b->test);
  EXPECT_EQ(a->train, b->train);
  EXPECT_NE(a->test, c->test);
  // Pinned: the stream is SplitMix64, so this holds on every platform.
  StatusOr<Split> small = StratifiedSplit(Labels(10, 2), 0.4, 42);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->test.size(), 4u);
  ExpectPartition(*small, 10);
}

TEST(RandomSplitTest, SizesAndDeterminism) {
  StatusOr<Split> a = RandomSplit(101, 0.3, 5);
  ASSERT_TRUE(a.ok());
  ExpectPartition(*a, 101);
  EXPECT_EQ(a->test.size(), 30u);
  StatusOr<Split> b = RandomSplit(101, 0.3, 5);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->test, b->test);
  EXPECT_FALSE(RandomSplit(10, 0.0, 1).ok());
  EXPECT_FALSE(RandomSplit(10, 1.0, 1).ok());
  EXPECT_FALSE(RandomSplit(1, 0.5, 1).ok());
  std::vector<float> nan_label = {0, NAN, 1};
  EXPECT_FALSE(StratifiedSplit(nan_label, 0.5, 1).ok());
}

Column Times(const std::vector<int64_t>& values) {
  Column c("t", ColumnType::kTimestamp);
  for (int64_t v : values) c.AppendInt64(v);
  return c;
}

TEST(OutOfTimeSplitTest, ByCutoff) {
  Column t = Times({50, 10, 40, 20, 30});
  StatusOr<Split> split = OutOfTimeSplit(t, int64_t{30});
  ASSERT_TRUE(split.ok());
  EXPECT_THAT(split->train, ElementsAre(1, 3));
  EXPECT_THAT(split->test, ElementsAre(0, 2, 4));
  EXPECT_EQ(split->cutoff, 30);
  EXPECT_FALSE(OutOfTimeSplit(t, int64_t{5}).ok());
  EXPECT_FALSE(OutOfTimeSplit(t, int64_t{100}).ok());
}

TEST(OutOfTimeSplitTest, ByFractionOfRowsKeepsTiesTogether) {
  Column t = Times({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  StatusOr<Split> split = OutOfTimeSplit(t, 0.2, OutOfTimeBasis::kRows);
  ASSERT_TRUE(split.ok());
  EXPECT_THAT(split->test, ElementsAre(8, 9));
  EXPECT_EQ(split->cutoff, 9);
  // The first test time is shared with a row before it: both test.
  Column ties = Times({1, 2, 3, 4, 5, 6, 7, 9, 9, 10});
  split = OutOfTimeSplit(ties, 0.2, OutOfTimeBasis::kRows);
  ASSERT_TRUE(split.ok());
  EXPECT_THAT(split->test, ElementsAre(7, 8, 9));
  EXPECT_FALSE(OutOfTimeSplit(Times({3, 3, 3}), 0.5, OutOfTimeBasis::kRows).ok());
}

TEST(OutOfTimeSplitTest, ByFractionOfTheTimeSpan) {
  // Span 0..100, last 25%: cutoff 75.
  Column t = Times({0, 10, 20, 74, 75, 100});
  StatusOr<Split> split = OutOfTimeSplit(t, 0.25, OutOfTimeBasis::kTimeSpan);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->cutoff, 75);
  EXPECT_THAT(split->test, ElementsAre(4, 5));
}

TEST(OutOfTimeSplitTest, RefusesNullsAndOtherTypes) {
  Column t = Times({1, 2});
  t.AppendNull();
  EXPECT_FALSE(OutOfTimeSplit(t, int64_t{2}).ok());
  Column s("s", ColumnType::kString);
  s.AppendString("2024");
  EXPECT_FALSE(OutOfTimeSplit(s, 0.5, OutOfTimeBasis::kRows).ok());
}

}  // namespace
}  // namespace plinth
