// Experiment tracking: TrackingStore::LogBatch of 1,000 metrics in one durable transaction, and
// TrackingStore::SearchRuns over 100,000 runs with a filter and an order, on SQLite and, given a
// URL, on PostgreSQL. Prints a Markdown table with p50 and p99 latencies, the target and the
// ratio target / p50 (>= 1 meets it).
//
// The peers: MLflow took 9 s to log a batch of 1,000 metrics (mlflow#3010) and more than 15
// minutes to search 30,000 runs (mlflow#2730).
//
// log_batch: one run; each iteration logs 1,000 metrics (1,000 keys, the next step) through
// LogBatch in its own transaction, committed durably (SQLite synchronous=FULL: one fsync per
// commit, so the disk's fsync latency is part of the figure; a synchronous=NORMAL row shows what
// the code costs). The history is indexed in buckets of a run's points (store migration 7), so a
// batch of 1,000 distinct keys writes one bucket's index pages rather than one page per key.
//
// metric_history: MetricHistory of one key of each log_batch run afterwards (the read that the
// history's layout must keep cheap), in a read-only transaction.
//
// search: 100,000 runs in 10 experiments of one project, each with 8 metrics, 5 params and 2 tags
// (deterministic pseudo-random values), written with multi-row INSERTs straight into the
// tracking tables (the rows LogBatch would write; going through LogBatch run by run would only make
// the set-up slower). Each iteration runs SearchRuns in a read-only transaction:
//   pushed:    metrics.test_auc > 0.7 && params.max_depth == "4", order metrics.test_auc desc
//   in memory: metrics.test_auc > 0.9 || tags.team == "fraud", order params.eta, metrics.ks desc
// the first is the target's (simple conjuncts narrow the candidates in SQL), the second is a filter
// no conjunct of which can be pushed, so every run in scope is evaluated in memory.
//
// Usage: tracking_bench [--runs N] [--batches N] [--searches N] [--dir DIR]
//                       [--pg-url postgresql://...] [--pg-label TEXT]
// bench/tracking_bench.sh builds it, starts a throwaway PostgreSQL and runs it.
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/random.h"
#include "store/metadata_store.h"
#include "tracking/tracking_store.h"

namespace plinth {
namespace {

using Steady = std::chrono::steady_clock;

constexpr double kLogBatchTargetMs = 10.0;
constexpr double kSearchTargetMs = 100.0;
constexpr int kExperiments = 10;
constexpr int kBatchMetrics = 1000;

struct BenchConfig {
  int runs = 100000;
  int batches = 100;
  int searches = 30;
  std::string dir = std::filesystem::temp_directory_path().string();
  std::string pg_url;
  std::string pg_label = "PostgreSQL";
};

struct Row {
  std::string operation;
  std::string store;
  double p50_ms = 0;
  double p99_ms = 0;
  double target_ms = 0;  // 0: none
  std::string note;
};

double Percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t i = static_cast<size_t>(q * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(i, samples.size() - 1)];
}

double MillisSince(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

// The project and experiments every run belongs to.
struct Scope {
  std::string project_id;
  std::vector<Experiment> experiments;
};

StatusOr<Scope> CreateScope(MetadataStore& store, const TrackingStore& tracking) {
  Scope scope;
  scope.project_id = NewId(*SystemClock());
  RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute(
        "INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, 'bench')",
        {scope.project_id, "bench-" + RandomHex(4), SystemClock()->NowMicros()}));
    for (int e = 0; e < kExperiments; ++e) {
      ASSIGN_OR_RETURN(
          Experiment experiment,
          tracking.CreateExperiment(tx, scope.project_id, "credit-" + std::to_string(e), "bench"));
      scope.experiments.push_back(experiment);
    }
    return absl::OkStatus();
  }));
  return scope;
}

// A shape of log_batch: `keys` metric keys x `steps` steps = kBatchMetrics points per batch.
struct BatchShape {
  const char* operation;
  int keys;
  int steps;
};

constexpr BatchShape kBatchShapes[] = {
    // A training loop flushing 10 metrics over 100 steps: the common case.
    {"log_batch, 1,000 metrics (10 keys x 100 steps), one transaction", 10, 100},
    // 1,000 different keys each batch: every key's history grows in its own place.
    {"log_batch, 1,000 metrics (1,000 keys x 1 step), one transaction", 1000, 1},
};

// LogBatch of one shape, `batches` times into one run (so the run grows as a real one does), each
// in its own transaction. The run's id goes to `run_id`.
StatusOr<std::vector<double>> MeasureLogBatch(MetadataStore& store, const TrackingStore& tracking,
                                              const Scope& scope, const BatchShape& shape,
                                              int batches, std::string* run_id) {
  RunInfo run;
  RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(run, tracking.CreateRun(tx, scope.experiments[0].id, "log-batch", "",
                                             "bench:log_batch", "bench"));
    return absl::OkStatus();
  }));
  std::vector<std::string> keys;
  for (int k = 0; k < shape.keys; ++k) keys.push_back("layer_" + std::to_string(k) + "/loss");
  std::vector<double> samples;
  const int warmup = 3;
  for (int b = 0; b < batches + warmup; ++b) {
    std::vector<MetricPoint> metrics;
    metrics.reserve(kBatchMetrics);
    for (int s = 0; s < shape.steps; ++s) {
      const int64_t step = static_cast<int64_t>(b) * shape.steps + s;
      for (int k = 0; k < shape.keys; ++k) {
        metrics.push_back(MetricPoint{keys[k], 1.0 / static_cast<double>(1 + step + k), step, 0});
      }
    }
    const auto start = Steady::now();
    RETURN_IF_ERROR(store.RunInTransaction(
        [&](Transaction& tx) { return tracking.LogBatch(tx, run.id, {}, metrics, {}); }));
    if (b >= warmup) samples.push_back(MillisSince(start));
  }
  *run_id = run.id;
  return samples;
}

// MetricHistory of the first key of `run_id`, `reads` times; the number of points to `points`.
StatusOr<std::vector<double>> MeasureHistory(MetadataStore& store, const TrackingStore& tracking,
                                             const std::string& run_id, int reads, size_t* points) {
  std::vector<double> samples;
  const int warmup = 2;
  for (int i = 0; i < reads + warmup; ++i) {
    const auto start = Steady::now();
    std::vector<MetricPoint> history;
    RETURN_IF_ERROR(store.RunReadOnly([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(history, tracking.MetricHistory(tx, run_id, "layer_0/loss"));
      return absl::OkStatus();
    }));
    if (i >= warmup) samples.push_back(MillisSince(start));
    *points = history.size();
  }
  return samples;
}

// Inserts `values` (rows of `width` values each) with `head` in multi-row INSERTs.
Status InsertRows(Transaction& tx, const std::string& head, int width,
                  const std::vector<SqlValue>& values) {
  const size_t rows_per_statement = 60000 / static_cast<size_t>(width) / 10;
  const size_t rows = values.size() / static_cast<size_t>(width);
  std::string tuple = "(";
  for (int i = 0; i < width; ++i) tuple += i == 0 ? "?" : ", ?";
  tuple += ")";
  for (size_t begin = 0; begin < rows; begin += rows_per_statement) {
    const size_t end = std::min(rows, begin + rows_per_statement);
    std::string sql = head + " VALUES ";
    for (size_t r = begin; r < end; ++r) sql += (r == begin ? "" : ", ") + tuple;
    std::vector<SqlValue> slice(values.begin() + begin * width, values.begin() + end * width);
    RETURN_IF_ERROR(tx.Execute(sql, slice));
  }
  return absl::OkStatus();
}

// `runs` runs with 8 metrics, 5 params and 2 tags each, spread over the scope's experiments.
Status LoadCorpus(MetadataStore& store, const Scope& scope, int runs) {
  std::mt19937_64 rng(20261126);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const char* kMetricNames[] = {"test_auc", "train_auc", "ks",     "val_loss",
                                "gini",     "precision", "recall", "f1"};
  const char* kModels[] = {"xgboost", "lightgbm", "logistic"};
  const char* kTeams[] = {"risk", "fraud", "collections", "marketing"};
  const int64_t now = SystemClock()->NowMicros();
  constexpr int kRunsPerTransaction = 5000;
  for (int begin = 0; begin < runs; begin += kRunsPerTransaction) {
    const int end = std::min(runs, begin + kRunsPerTransaction);
    std::vector<SqlValue> run_rows, metric_rows, latest_rows, param_rows, tag_rows;
    for (int i = begin; i < end; ++i) {
      const std::string id = NewId(*SystemClock());
      const Experiment& experiment = scope.experiments[i % kExperiments];
      const int64_t start = now - static_cast<int64_t>(runs - i) * 60'000'000;
      const double r = unit(rng);
      const char* status = r < 0.9 ? "FINISHED" : (r < 0.95 ? "FAILED" : "RUNNING");
      const bool ended = status[0] != 'R';
      run_rows.insert(
          run_rows.end(),
          {id, experiment.id, SqlValue(), "run-" + std::to_string(i), std::string(status), start,
           ended ? SqlValue(start + 600'000'000) : SqlValue(), std::string("bench"),
           std::string("pipeline:credit-risk/train"), int64_t{8}});
      const double auc = 0.5 + 0.45 * unit(rng);
      const double values[] = {auc,
                               auc + 0.05 * unit(rng),
                               0.2 + 0.4 * unit(rng),
                               unit(rng),
                               2 * auc - 1,
                               unit(rng),
                               unit(rng),
                               unit(rng)};
      for (int m = 0; m < 8; ++m) {
        metric_rows.insert(metric_rows.end(), {id, int64_t{0}, std::string(kMetricNames[m]),
                                               int64_t{99}, start + 500'000'000, values[m]});
        latest_rows.insert(latest_rows.end(), {id, experiment.id, std::string(kMetricNames[m]),
                                               values[m], int64_t{99}, start + 500'000'000});
      }
      const std::string params[][2] = {
          {"max_depth", std::to_string(2 + static_cast<int>(unit(rng) * 7))},
          {"eta", std::to_string(0.01 * (1 + static_cast<int>(unit(rng) * 30)))},
          {"n_estimators", std::to_string(100 * (1 + static_cast<int>(unit(rng) * 10)))},
          {"subsample", std::to_string(0.5 + 0.1 * static_cast<int>(unit(rng) * 6))},
          {"model", kModels[static_cast<int>(unit(rng) * 3)]},
      };
      for (const auto& p : params) {
        param_rows.insert(param_rows.end(), {id, experiment.id, p[0], p[1]});
      }
      tag_rows.insert(tag_rows.end(), {id, experiment.id, std::string("team"),
                                       std::string(kTeams[static_cast<int>(unit(rng) * 4)])});
      tag_rows.insert(tag_rows.end(), {id, experiment.id, std::string("stage"),
                                       std::string(unit(rng) < 0.2 ? "candidate" : "dev")});
    }
    RETURN_IF_ERROR(store.RunInTransaction([&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(InsertRows(tx,
                                 "INSERT INTO runs (id, experiment_id, parent_run_id, name, "
                                 "status, start_time, end_time, created_by, source, "
                                 "metric_points)",
                                 10, run_rows));
      RETURN_IF_ERROR(InsertRows(
          tx, "INSERT INTO run_metrics (run_id, bucket, key, step, time, value)", 6, metric_rows));
      RETURN_IF_ERROR(InsertRows(
          tx, "INSERT INTO run_latest_metrics (run_id, experiment_id, key, value, step, time)", 6,
          latest_rows));
      RETURN_IF_ERROR(InsertRows(tx, "INSERT INTO run_params (run_id, experiment_id, key, value)",
                                 4, param_rows));
      return InsertRows(tx, "INSERT INTO run_tags (run_id, experiment_id, key, value)", 4,
                        tag_rows);
    }));
  }
  return absl::OkStatus();
}

// After a bulk load PostgreSQL's autovacuum soon runs VACUUM ANALYZE: statistics for the planner
// and a visibility map that lets index-only scans skip the table. The bench runs it at once
// rather than wait (VACUUM cannot run inside a transaction, so on a connection of its own), again
// while pages are left not all-visible (a concurrent autovacuum's snapshot can hold some back).
Status VacuumAnalyze(const std::string& url) {
  PGconn* connection = PQconnectdb(url.c_str());
  if (connection == nullptr || PQstatus(connection) != CONNECTION_OK) {
    std::string error = connection == nullptr ? "out of memory" : PQerrorMessage(connection);
    PQfinish(connection);
    return absl::UnavailableError("cannot connect to PostgreSQL: " + error);
  }
  Status status = absl::OkStatus();
  for (int attempt = 0; attempt < 5 && status.ok(); ++attempt) {
    PGresult* vacuum = PQexec(connection, "VACUUM ANALYZE");
    if (PQresultStatus(vacuum) != PGRES_COMMAND_OK) {
      status =
          absl::InternalError(std::string("VACUUM ANALYZE failed: ") + PQerrorMessage(connection));
    }
    PQclear(vacuum);
    PGresult* pending = PQexec(connection,
                               "SELECT COUNT(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE "
                               "'run%' AND relallvisible < relpages");
    const bool done = PQresultStatus(pending) == PGRES_TUPLES_OK && PQntuples(pending) == 1 &&
                      std::string(PQgetvalue(pending, 0, 0)) == "0";
    PQclear(pending);
    if (done) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  PQfinish(connection);
  return status;
}

struct SearchCase {
  const char* operation;
  const char* filter;
  std::vector<std::string> order_by;
  double target_ms;
};

StatusOr<std::vector<double>> MeasureSearch(MetadataStore& store, const TrackingStore& tracking,
                                            const Scope& scope, const SearchCase& c, int searches,
                                            int64_t* matches) {
  SearchRunsRequest request;
  request.project_id = scope.project_id;
  request.filter = c.filter;
  request.order_by = c.order_by;
  request.max_results = 100;
  std::vector<double> samples;
  const int warmup = 2;
  for (int i = 0; i < searches + warmup; ++i) {
    const auto start = Steady::now();
    SearchRunsResult result;
    RETURN_IF_ERROR(store.RunReadOnly([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(result, tracking.SearchRuns(tx, request));
      return absl::OkStatus();
    }));
    if (i >= warmup) samples.push_back(MillisSince(start));
    if (result.runs.size() != std::min<size_t>(100, result.total_matches)) {
      return absl::InternalError("search returned a short page");
    }
    *matches = result.total_matches;
  }
  return samples;
}

StatusOr<std::vector<Row>> RunBackend(const std::string& label, const std::string& url,
                                      const BenchConfig& config, bool with_search, bool durable) {
  StoreOptions options;
  options.durable = durable;
  ASSIGN_OR_RETURN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(url, options));
  TrackingStore tracking(SystemClock());
  ASSIGN_OR_RETURN(Scope scope, CreateScope(*store, tracking));
  std::vector<Row> rows;
  std::vector<std::pair<const BatchShape*, std::string>> runs;
  for (const BatchShape& shape : kBatchShapes) {
    std::string run_id;
    ASSIGN_OR_RETURN(std::vector<double> batch,
                     MeasureLogBatch(*store, tracking, scope, shape, config.batches, &run_id));
    rows.push_back({shape.operation, label, Percentile(batch, 0.5), Percentile(batch, 0.99),
                    durable ? kLogBatchTargetMs : 0, ""});
    runs.emplace_back(&shape, run_id);
  }
  for (const auto& [shape, run_id] : runs) {
    size_t points = 0;
    ASSIGN_OR_RETURN(std::vector<double> reads,
                     MeasureHistory(*store, tracking, run_id, config.searches, &points));
    rows.push_back({"metric_history, one key (" + std::to_string(points) +
                        " points) of the run of " + std::to_string(shape->keys) + " keys",
                    label, Percentile(reads, 0.5), Percentile(reads, 0.99), 0, ""});
  }
  if (!with_search) return rows;
  const auto load_start = Steady::now();
  RETURN_IF_ERROR(LoadCorpus(*store, scope, config.runs));
  if (store->backend() == "postgresql") RETURN_IF_ERROR(VacuumAnalyze(url));
  std::fprintf(stderr, "%s: loaded %d runs in %.1f s\n", label.c_str(), config.runs,
               MillisSince(load_start) / 1000);
  const SearchCase cases[] = {
      {"search, pushed filter + order",
       "metrics.test_auc > 0.7 && params.max_depth == \"4\"",
       {"metrics.test_auc desc"},
       kSearchTargetMs},
      {"search, in-memory filter + 2-key order",
       "metrics.test_auc > 0.9 || tags.team == \"fraud\"",
       {"params.eta", "metrics.ks desc"},
       0},
  };
  for (const SearchCase& c : cases) {
    int64_t matches = 0;
    ASSIGN_OR_RETURN(std::vector<double> samples,
                     MeasureSearch(*store, tracking, scope, c, config.searches, &matches));
    std::string operation = std::string(c.operation) + " (" + std::to_string(config.runs) +
                            " runs, " + std::to_string(matches) + " match, page of 100)";
    rows.push_back({operation, label, Percentile(samples, 0.5), Percentile(samples, 0.99),
                    c.target_ms, std::string("`") + c.filter + "`"});
  }
  return rows;
}

void PrintTable(const std::vector<Row>& rows) {
  std::printf("| operation | store | p50 ms | p99 ms | target | ratio |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const Row& r : rows) {
    std::string target = "-";
    std::string ratio = "-";
    if (r.target_ms > 0) {
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), "<= %.0f ms", r.target_ms);
      target = buffer;
      std::snprintf(buffer, sizeof(buffer), "%.2fx", r.target_ms / r.p50_ms);
      ratio = buffer;
    }
    std::printf("| %s | %s | %.2f | %.2f | %s | %s |\n", r.operation.c_str(), r.store.c_str(),
                r.p50_ms, r.p99_ms, target.c_str(), ratio.c_str());
  }
}

int Main(int argc, char** argv) {
  BenchConfig config;
  if (const char* url = std::getenv("PLINTH_BENCH_PG_URL")) config.pg_url = url;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      config.runs = std::atoi(argv[++i]);
    } else if (arg == "--batches" && i + 1 < argc) {
      config.batches = std::atoi(argv[++i]);
    } else if (arg == "--searches" && i + 1 < argc) {
      config.searches = std::atoi(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      config.dir = argv[++i];
    } else if (arg == "--pg-url" && i + 1 < argc) {
      config.pg_url = argv[++i];
    } else if (arg == "--pg-label" && i + 1 < argc) {
      config.pg_label = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: tracking_bench [--runs N] [--batches N] [--searches N] [--dir DIR] "
                   "[--pg-url URL] [--pg-label TEXT]\n");
      return 2;
    }
  }
  if (config.runs < 1 || config.batches < 1 || config.searches < 1) {
    std::fprintf(stderr, "tracking_bench: --runs, --batches and --searches must be positive\n");
    return 2;
  }

  std::vector<Row> rows;
  struct SqliteRun {
    const char* label;
    bool durable;
    bool search;
  };
  const SqliteRun sqlite_runs[] = {
      {"SQLite, durable (synchronous=FULL)", true, true},
      {"SQLite, synchronous=NORMAL (no fsync per commit)", false, false},
  };
  for (const SqliteRun& run : sqlite_runs) {
    const std::filesystem::path path =
        std::filesystem::path(config.dir) / ("plinth-tracking-bench-" + RandomHex(6) + ".db");
    StatusOr<std::vector<Row>> sqlite =
        RunBackend(run.label, "sqlite:" + path.string(), config, run.search, run.durable);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(path.string() + suffix, ignored);
    }
    if (!sqlite.ok()) {
      std::fprintf(stderr, "sqlite: %s\n", std::string(sqlite.status().message()).c_str());
      return 1;
    }
    rows.insert(rows.end(), sqlite->begin(), sqlite->end());
  }
  if (!config.pg_url.empty()) {
    StatusOr<std::vector<Row>> pg = RunBackend(config.pg_label, config.pg_url, config, true, true);
    if (!pg.ok()) {
      std::fprintf(stderr, "postgresql: %s\n", std::string(pg.status().message()).c_str());
      return 1;
    }
    rows.insert(rows.end(), pg->begin(), pg->end());
  } else {
    std::fprintf(stderr, "no PostgreSQL URL (--pg-url or PLINTH_BENCH_PG_URL): SQLite only\n");
  }
  PrintTable(rows);
  std::printf("\nratio = target / p50 (>= 1 meets the target). Filters:");
  for (const Row& r : rows) {
    if (!r.note.empty() && r.store == rows.front().store) {
      std::printf(" %s;", r.note.c_str());
    }
  }
  std::printf(
      "\nPeers: MLflow logged a batch of 1,000 metrics in 9 s (mlflow#3010) and took more than "
      "15 minutes to search 30,000 runs (mlflow#2730).\n");
  return 0;
}

}  // namespace
}  // namespace plinth

int main(int argc, char** argv) { return plinth::Main(argc, argv); }
