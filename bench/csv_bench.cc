// CSV ingestion + profiling, the Plinth side of bench/csv_bench.sh (the peer is pandas read_csv +
// describe + isna, ../shared/peers/ingest_peer.py).
//
//   csv_bench FILE.csv [--threads N] [--quiet]
//
// Reads FILE with ReadCsv, then profiles every column: count and nulls; min, max, mean and standard
// deviation for numeric, bool and timestamp columns; distinct count and the three most frequent
// values for string columns. Prints the profile (unless --quiet), then one line:
//   rows=R cols=C read_seconds=X profile_seconds=Y seconds=X+Y peak_rss_mb=M
// Exit code 1 if the file cannot be read.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "data/csv_reader.h"

namespace {

struct Profile {
  size_t count = 0;
  size_t nulls = 0;
  double min = 0, max = 0, mean = 0, stddev = 0;
  size_t distinct = 0;
  std::vector<std::pair<std::string, size_t>> top;
};

template <typename Value>
void ProfileNumbers(const plinth::Column& c, Value value, Profile* p) {
  const std::vector<uint8_t>& valid = c.valid();
  const size_t n = c.size();
  double sum = 0, lo = INFINITY, hi = -INFINITY;
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!valid[i]) continue;
    double v = value(i);
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++count;
  }
  p->count = count;
  p->nulls = n - count;
  if (count == 0) return;
  double mean = sum / static_cast<double>(count);
  double squares = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!valid[i]) continue;
    double d = value(i) - mean;
    squares += d * d;
  }
  p->min = lo;
  p->max = hi;
  p->mean = mean;
  p->stddev = count > 1 ? std::sqrt(squares / static_cast<double>(count - 1)) : 0.0;
}

Profile ProfileColumn(const plinth::Column& c) {
  Profile p;
  switch (c.type()) {
    case plinth::ColumnType::kInt64:
    case plinth::ColumnType::kTimestamp: {
      const int64_t* v = c.int64s().data();
      ProfileNumbers(
          c, [v](size_t i) { return static_cast<double>(v[i]); }, &p);
      break;
    }
    case plinth::ColumnType::kFloat64: {
      const double* v = c.float64s().data();
      ProfileNumbers(
          c, [v](size_t i) { return v[i]; }, &p);
      break;
    }
    case plinth::ColumnType::kBool: {
      const uint8_t* v = c.bools().data();
      ProfileNumbers(
          c, [v](size_t i) { return static_cast<double>(v[i]); }, &p);
      break;
    }
    case plinth::ColumnType::kString: {
      std::vector<size_t> counts(c.dictionary().size());
      for (int32_t code : c.codes()) {
        if (code >= 0) ++counts[static_cast<size_t>(code)];
      }
      p.nulls = c.null_count();
      p.count = c.size() - p.nulls;
      std::vector<size_t> order;
      for (size_t k = 0; k < counts.size(); ++k) {
        if (counts[k] > 0) order.push_back(k);
      }
      p.distinct = order.size();
      size_t top = std::min<size_t>(3, order.size());
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top),
                        order.end(), [&](size_t a, size_t b) {
                          return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
                        });
      for (size_t k = 0; k < top; ++k)
        p.top.emplace_back(c.dictionary()[order[k]], counts[order[k]]);
      break;
    }
  }
  return p;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  bool quiet = false;
  plinth::CsvOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quiet") == 0) {
      quiet = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      options.num_threads = std::atoi(argv[++i]);
    } else {
      path = argv[i];
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: csv_bench FILE.csv [--threads N] [--quiet]\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  plinth::StatusOr<plinth::Table> table = plinth::ReadCsv(path, options);
  if (!table.ok()) {
    std::fprintf(stderr, "csv_bench: %s\n", std::string(table.status().message()).c_str());
    return 1;
  }
  const double read_seconds = Seconds(start);

  // Profile columns on as many threads as the reader used.
  auto profile_start = std::chrono::steady_clock::now();
  const std::vector<plinth::Column>& columns = table->columns();
  std::vector<Profile> profiles(columns.size());
  unsigned threads = options.num_threads > 0 ? static_cast<unsigned>(options.num_threads)
                                             : std::max(1u, std::thread::hardware_concurrency());
  {
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t c = t; c < columns.size(); c += threads)
          profiles[c] = ProfileColumn(columns[c]);
      });
    }
    for (std::thread& t : pool) t.join();
  }
  const double profile_seconds = Seconds(profile_start);

  if (!quiet) {
    std::printf("%-28s %-9s %10s %8s %14s %14s %14s %14s  %s\n", "column", "type", "count", "nulls",
                "min", "max", "mean", "std", "distinct / top values");
    for (size_t c = 0; c < columns.size(); ++c) {
      const Profile& p = profiles[c];
      std::printf("%-28s %-9s %10zu %8zu ", columns[c].name().c_str(),
                  plinth::ColumnTypeName(columns[c].type()).c_str(), p.count, p.nulls);
      if (columns[c].type() == plinth::ColumnType::kString) {
        std::printf("%14s %14s %14s %14s  %zu:", "", "", "", "", p.distinct);
        for (const auto& [value, n] : p.top) std::printf(" %s (%zu)", value.c_str(), n);
        std::printf("\n");
      } else {
        std::printf("%14.6g %14.6g %14.6g %14.6g\n", p.min, p.max, p.mean, p.stddev);
      }
    }
  }
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "rows=%zu cols=%zu read_seconds=%.3f profile_seconds=%.3f seconds=%.3f "
      "peak_rss_mb=%.1f\n",
      table->num_rows(), table->num_columns(), read_seconds, profile_seconds,
      read_seconds + profile_seconds, static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}
