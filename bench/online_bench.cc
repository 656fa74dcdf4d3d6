// Online feature lookup latency in process: one view of 100,000 entities x 50 float64 features
// (plus 2 string features) written to a LocalOnlineStore in a temp folder, then FeatureLookup::Get
// for one entity at a time on one thread, over random keys of which 10% are unknown.
// Driven by bench/online_bench.sh.
//
//   online_bench [--entities N] [--gets N] [--quiet]
//
// Each Get is timed on its own with steady_clock: batching is not needed, as an empty measurement
// (printed as clock_overhead_ns) costs a few tens of ns against a Get of a few hundred. It is not
// subtracted, so the percentiles slightly over-estimate. Prints the write and load times, then one
// report line per lookup path ("path=... p50_us=... p99_us=..."), then (without --quiet) a Markdown
// table. Exit status 0 on success, 1 with a message on stderr otherwise.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "features/feature_compute.h"
#include "features/online_store.h"

namespace plinth {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kFloatFeatures = 50;
constexpr int kStringFeatures = 2;
constexpr double kTargetP99Us = 5.0;

int Fail(const std::string& message) {
  std::fprintf(stderr, "online_bench: %s\n", message.c_str());
  return 1;
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// prefix + n in decimal. (Not `"f" + std::to_string(n)`, on which GCC 12 warns wrongly.)
std::string Prefixed(const char* prefix, uint64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

std::string EntityKey(int i) {
  std::string key = "customer-";
  key += std::to_string(1000000 + i);
  return key;
}

// The online table: entity, event_time, f0..f49 (float64, 1% null), s0..s1 (string, 20
// categories each).
Table MakeTable(int entities) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> value(0.0, 1000.0);
  std::vector<Column> columns;
  columns.emplace_back(kOnlineEntityColumn, ColumnType::kString);
  columns.emplace_back(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  for (int f = 0; f < kFloatFeatures; ++f) {
    columns.emplace_back(Prefixed("f", f), ColumnType::kFloat64);
  }
  for (int s = 0; s < kStringFeatures; ++s) {
    columns.emplace_back(Prefixed("s", s), ColumnType::kString);
  }
  for (Column& c : columns) c.Reserve(entities);
  for (int e = 0; e < entities; ++e) {
    columns[0].AppendString(EntityKey(e));
    columns[1].AppendInt64(1700000000LL * 1000000 + e);
    for (int f = 0; f < kFloatFeatures; ++f) {
      if (rng() % 100 == 0) {
        columns[2 + f].AppendNull();
      } else {
        columns[2 + f].AppendFloat64(value(rng));
      }
    }
    for (int s = 0; s < kStringFeatures; ++s) {
      columns[2 + kFloatFeatures + s].AppendString(Prefixed("category_", rng() % 20));
    }
  }
  Table table;
  for (Column& c : columns) {
    if (!table.AddColumn(std::move(c)).ok()) std::abort();
  }
  return table;
}

struct Latency {
  std::string path;
  size_t features = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, per_second = 0;
};

double Percentile(const std::vector<double>& sorted, double q) {
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

// Times `gets` single-entity Gets over `keys`, each on its own.
Latency Measure(const std::string& path, const FeatureLookup& lookup,
                const std::vector<std::string>& keys, size_t gets) {
  std::vector<expr::Value> out;
  // Warm up caches, branch predictors and `out`'s capacity.
  for (size_t i = 0; i < std::min<size_t>(keys.size(), 100000); ++i) lookup.Get(keys[i], &out);
  std::vector<double> us(gets);
  size_t nulls = 0;
  auto total_start = Clock::now();
  std::string key;
  for (size_t i = 0; i < gets; ++i) {
    // A server has the key it just parsed in cache: copy it here, outside the timed part.
    key.assign(keys[i % keys.size()]);
    auto start = Clock::now();
    lookup.Get(key, &out);
    auto end = Clock::now();
    us[i] = std::chrono::duration<double, std::micro>(end - start).count();
    nulls += out[0].is_null();  // keeps the work observable
  }
  double total = Seconds(total_start);
  std::sort(us.begin(), us.end());
  Latency l;
  l.path = path;
  l.features = out.size();
  l.p50 = Percentile(us, 0.50);
  l.p99 = Percentile(us, 0.99);
  l.p999 = Percentile(us, 0.999);
  l.max = us.back();
  l.per_second = static_cast<double>(gets) / total;
  std::printf(
      "path=\"%s\" features=%zu gets=%zu p50_us=%.3f p99_us=%.3f p99_9_us=%.3f max_us=%.3f "
      "gets_per_s=%.0f null_first=%zu\n",
      path.c_str(), l.features, gets, l.p50, l.p99, l.p999, l.max, l.per_second, nulls);
  return l;
}

int Run(int entities, size_t gets, bool quiet) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "online-bench.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Fail("cannot create a temp folder");
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  OnlineView view;
  view.project = "bench";
  view.view = "customer";
  view.view_version = "sha256:" + std::string(64, '0');
  view.until = 1700000000LL * 1000000;
  view.materialized_at = view.until;
  view.values = MakeTable(entities);

  auto start = Clock::now();
  LocalOnlineStore writer(dir);
  Status written = writer.Write(std::move(view));
  if (!written.ok()) return Fail(std::string(written.message()));
  double write_s = Seconds(start);
  std::error_code ec;
  uintmax_t file_bytes = std::filesystem::file_size(dir + "/bench/customer.online", ec);

  // A second store loads the file as a serving process would.
  LocalOnlineStore store(dir);
  start = Clock::now();
  auto loaded = store.Read("bench", "customer");
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  double load_s = Seconds(start);
  std::printf("write_s=%.3f load_s=%.3f file_mb=%.1f entities=%d\n", write_s, load_s,
              static_cast<double>(file_bytes) / 1e6, entities);

  // What an empty measurement reads: two clock reads with nothing between them.
  constexpr int kClockReads = 1000000;
  double empty_ns = 0;
  for (int i = 0; i < kClockReads; ++i) {
    auto a = Clock::now();
    auto b = Clock::now();
    empty_ns += std::chrono::duration<double, std::nano>(b - a).count();
  }
  std::printf("clock_overhead_ns=%.1f\n", empty_ns / kClockReads);

  // Random keys, 10% of them unknown to the view.
  std::mt19937_64 rng(7);
  std::vector<std::string> keys(std::min<size_t>(gets, 1 << 20));
  for (std::string& key : keys) {
    key = rng() % 10 == 0 ? Prefixed("unknown-", rng() % 1000000)
                          : EntityKey(static_cast<int>(rng() % entities));
  }

  std::vector<FeatureRef> floats;
  for (int f = 0; f < kFloatFeatures; ++f) floats.push_back({"customer", Prefixed("f", f)});
  std::vector<FeatureRef> mixed(floats.begin(), floats.end() - kStringFeatures);
  for (int s = 0; s < kStringFeatures; ++s) mixed.push_back({"customer", Prefixed("s", s)});

  std::vector<Latency> rows;
  for (const auto& [path, features] : {std::pair<std::string, const std::vector<FeatureRef>*>{
                                           "FeatureLookup::Get, 50 float64", &floats},
                                       {"FeatureLookup::Get, 48 float64 + 2 string", &mixed}}) {
    auto lookup = FeatureLookup::Create(&store, "bench", *features);
    if (!lookup.ok()) return Fail(std::string(lookup.status().message()));
    rows.push_back(Measure(path, *lookup, keys, gets));
  }

  if (!quiet) {
    std::printf(
        "\n| path | entities x features | p50 us | p99 us | target p99 | ratio to target |\n");
    std::printf("|---|---|---:|---:|---:|---:|\n");
    for (const Latency& l : rows) {
      std::printf("| %s | %d x %zu | %.2f | %.2f | %.1f | %.2f |\n", l.path.c_str(), entities,
                  l.features, l.p50, l.p99, kTargetP99Us, l.p99 / kTargetP99Us);
    }
  }
  return 0;
}

}  // namespace
}  // namespace plinth

int main(int argc, char** argv) {
  int entities = 100000;
  size_t gets = 1000000;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--entities") == 0 && i + 1 < argc) {
      entities = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--gets") == 0 && i + 1 < argc) {
      gets = static_cast<size_t>(std::atoll(argv[++i]));
    } else if (std::strcmp(argv[i], "--quiet") == 0) {
      quiet = true;
    } else {
      std::fprintf(stderr, "usage: online_bench [--entities N] [--gets N] [--quiet]\n");
      return 1;
    }
  }
  if (entities <= 0 || gets == 0) {
    std::fprintf(stderr, "online_bench: --entities and --gets must be positive\n");
    return 1;
  }
  return plinth::Run(entities, gets, quiet);
}
