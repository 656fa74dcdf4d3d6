// Point-in-time training-set throughput, the Plinth side of bench/pit_bench.sh (the peer is
// bench/pit_peer.py: pandas merge_asof + per-customer time-based rolling windows).
//
//   pit_bench --write DIR [--spine-rows N] [--customers C] [--days D] [--seed S]
//   pit_bench --source TRANSACTIONS.csv --spine SPINE.csv
//
// --write generates SYNTHETIC card transactions (data/synth_transactions.h; default 100,000
// customers over 30 days, about 5.7 million rows) into DIR/transactions.csv and a spine of N
// label events (default 10,000,000) into DIR/spine.csv: (customer_id, timestamp, label), sorted by
// time. Half of the spine rows are transactions themselves (same customer and second, label
// is_fraud: the classic fraud training set, where the row's own transaction must not leak into
// its features); the others are the customer of a random transaction at a random second within
// three days of it (label 0 or 1 at random).
//
// Otherwise reads both files with ReadCsv (not timed) and times BuildTrainingSet for two services
// of one view over the transactions (ttl 7d):
//   latest  last_amount (latest amount), last_category (latest merchant_category)
//   full    the above + txn_count_24h (count, 24h), spend_24h (sum amount, 24h),
//           avg_amount_7d (mean amount, 7d), max_amount_7d (max amount, 7d)
// printing one line per service:
//   workload=W rows=R seconds=X rows_per_s=Y <checksums>
// and finally peak_rss_mb=M (getrusage's maximum resident set of the whole process). The
// checksums (non-null counts and sums of the feature columns) let bench/pit_bench.sh check that
// both sides computed the same values.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "data/csv_reader.h"
#include "data/synth_transactions.h"
#include "features/definition.h"
#include "features/feature_compute.h"

namespace {

constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const plinth::Status& status) {
  std::fprintf(stderr, "pit_bench: %s\n", std::string(status.message()).c_str());
  return 1;
}

int Write(const std::string& dir, int64_t spine_rows, int customers, int days, uint64_t seed) {
  plinth::SynthTransactionsOptions options;
  options.customers = customers;
  options.days = days;
  options.seed = seed;
  plinth::StatusOr<plinth::Table> txns = plinth::GenerateSyntheticTransactions(options);
  if (!txns.ok()) return Fail(txns.status());
  plinth::Status written = plinth::WriteSyntheticTransactions(options, dir + "/transactions.csv");
  if (!written.ok()) return Fail(written);

  const plinth::Column& customer = *txns->Find("customer_id");
  const plinth::Column& time = *txns->Find("timestamp");
  const plinth::Column& fraud = *txns->Find("is_fraud");
  const size_t n = txns->num_rows();
  struct Event {
    int64_t t;
    int32_t code;
    int32_t label;
  };
  std::vector<Event> events(static_cast<size_t>(spine_rows));
  std::mt19937_64 rng(seed);
  for (Event& e : events) {
    const size_t j = rng() % n;
    e.code = customer.codes()[j];
    if (rng() % 2 == 0) {
      e.t = time.int64s()[j];
      e.label = static_cast<int32_t>(fraud.int64s()[j]);
    } else {
      const int64_t offset = static_cast<int64_t>(rng() % (6 * 86400)) - 3 * 86400;
      e.t = time.int64s()[j] + offset * 1000000;
      e.label = static_cast<int32_t>(rng() % 2);
    }
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.t < b.t; });
  const std::string path = dir + "/spine.csv";
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    std::fprintf(stderr, "pit_bench: cannot write %s\n", path.c_str());
    return 1;
  }
  std::fputs("customer_id,timestamp,label\n", out);
  for (const Event& e : events) {
    std::fprintf(out, "%s,%s,%d\n", customer.dictionary()[e.code].c_str(),
                 plinth::FormatTime(e.t).c_str(), e.label);
  }
  if (std::fclose(out) != 0) {
    std::fprintf(stderr, "pit_bench: cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("transactions=%zu spine_rows=%lld\n", n, static_cast<long long>(spine_rows));
  return 0;
}

plinth::FeatureDef Feature(const std::string& name, plinth::Aggregation aggregation,
                           const std::string& expr, int64_t window) {
  plinth::FeatureDef feature;
  feature.name = name;
  feature.aggregation = aggregation;
  feature.expr = expr;
  feature.window_micros = window;
  return feature;
}

plinth::FeatureRepo Repo() {
  using plinth::Aggregation;
  plinth::FeatureRepo repo;
  repo.entities.push_back({"customer", "customer_id", ""});
  plinth::SourceDef source;
  source.name = "transactions";
  source.dataset = "transactions";
  source.timestamp = "timestamp";
  repo.sources.push_back(source);
  plinth::FeatureViewDef view;
  view.name = "customer_txn";
  view.entity = "customer";
  view.source = "transactions";
  view.ttl_micros = 7 * kDay;
  view.features = {Feature("last_amount", Aggregation::kLatest, "amount", 0),
                   Feature("last_category", Aggregation::kLatest, "merchant_category", 0),
                   Feature("txn_count_24h", Aggregation::kCount, "", kDay),
                   Feature("spend_24h", Aggregation::kSum, "amount", kDay),
                   Feature("avg_amount_7d", Aggregation::kMean, "amount", 7 * kDay),
                   Feature("max_amount_7d", Aggregation::kMax, "amount", 7 * kDay)};
  repo.views.push_back(view);
  plinth::FeatureServiceDef latest;
  latest.name = "latest";
  plinth::FeatureServiceDef full;
  full.name = "full";
  for (const plinth::FeatureDef& f : view.features) {
    if (f.aggregation == Aggregation::kLatest) latest.features.push_back({view.name, f.name});
    full.features.push_back({view.name, f.name});
  }
  repo.services = {latest, full};
  return repo;
}

// " name_nonnull=K name_sum=S" for a feature column.
std::string Checksum(const plinth::Column& column) {
  size_t nonnull = 0;
  double sum = 0;
  for (size_t r = 0; r < column.size(); ++r) {
    if (column.IsNull(r)) continue;
    ++nonnull;
    if (column.type() != plinth::ColumnType::kString) sum += *column.NumberAt(r);
  }
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), " %s_nonnull=%zu", column.name().c_str(), nonnull);
  std::string out = buffer;
  if (column.type() != plinth::ColumnType::kString) {
    std::snprintf(buffer, sizeof(buffer), " %s_sum=%.17g", column.name().c_str(), sum);
    out += buffer;
  }
  return out;
}

int Run(const std::string& source_path, const std::string& spine_path) {
  plinth::StatusOr<plinth::Table> source = plinth::ReadCsv(source_path);
  if (!source.ok()) return Fail(source.status());
  plinth::StatusOr<plinth::Table> spine = plinth::ReadCsv(spine_path);
  if (!spine.ok()) return Fail(spine.status());
  const plinth::FeatureRepo repo = Repo();
  const std::map<std::string, const plinth::Table*> sources = {{"transactions", &*source}};
  for (const char* service : {"latest", "full"}) {
    auto start = std::chrono::steady_clock::now();
    plinth::StatusOr<plinth::Table> training =
        plinth::BuildTrainingSet(repo, service, *spine, sources, plinth::TrainingSetOptions());
    const double seconds = Seconds(start);
    if (!training.ok()) return Fail(training.status());
    std::string checksums;
    for (size_t c = spine->num_columns(); c < training->num_columns(); ++c) {
      checksums += Checksum(training->columns()[c]);
    }
    std::printf("workload=%s rows=%zu seconds=%.3f rows_per_s=%.0f%s\n", service,
                training->num_rows(), seconds, static_cast<double>(training->num_rows()) / seconds,
                checksums.c_str());
    std::fflush(stdout);
  }
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  std::printf("peak_rss_mb=%.1f\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string write_dir, source, spine;
  int64_t spine_rows = 10000000;
  int customers = 100000, days = 30;
  uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--write" && has_value) {
      write_dir = argv[++i];
    } else if (arg == "--spine-rows" && has_value) {
      spine_rows = std::atoll(argv[++i]);
    } else if (arg == "--customers" && has_value) {
      customers = std::atoi(argv[++i]);
    } else if (arg == "--days" && has_value) {
      days = std::atoi(argv[++i]);
    } else if (arg == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--source" && has_value) {
      source = argv[++i];
    } else if (arg == "--spine" && has_value) {
      spine = argv[++i];
    } else {
      write_dir.clear();
      source.clear();
      break;
    }
  }
  if (!write_dir.empty() && spine_rows > 0) {
    return Write(write_dir, spine_rows, customers, days, seed);
  }
  if (!source.empty() && !spine.empty()) return Run(source, spine);
  std::fprintf(stderr,
               "usage: pit_bench --write DIR [--spine-rows N] [--customers C] [--days D] "
               "[--seed S]\n"
               "       pit_bench --source TRANSACTIONS.csv --spine SPINE.csv\n");
  return 2;
}
