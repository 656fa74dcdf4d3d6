// Audited state changes per second: transactions that each insert one row into a table and append
// one audit record, committed durably, from 1 and from 8 threads, on SQLite (synchronous=FULL,
// group commit) and, given a URL, on PostgreSQL. Prints a Markdown table with the target, >= 5,000
// durable audited state changes/s on the embedded store, and the ratio to it.
//
// A durable commit waits for an fsync; group commit shares one among all waiting transactions,
// so the durable rate follows the disk's fsync latency. The bench measures the disk's fdatasync
// rate in DIR right before each durable SQLite row and prints it beside it (on a shared disk it
// moves from minute to minute), and adds a SQLite row with synchronous=NORMAL (no fsync per
// commit) to show what the code itself costs.
//
// Usage: audit_bench [--seconds S] [--threads 1,8,...] [--dir DIR] [--pg-url postgresql://...]
//                    [--pg-label TEXT]
// DIR holds the SQLite file (default: the temp folder); it should be on the disk being measured.
// bench/audit_bench.sh builds it, starts a throwaway PostgreSQL and runs it.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/signing.h"
#include "store/metadata_store.h"

namespace plinth {
namespace {

constexpr double kSqliteTarget = 5000.0;

struct BenchConfig {
  double seconds = 3.0;
  std::string dir = std::filesystem::temp_directory_path().string();
  std::string pg_url;
  std::string pg_label = "PostgreSQL";
  std::vector<int> threads = {1, 8};
};

struct RunResult {
  std::string store;
  int threads = 0;
  double per_second = 0;
  double target = 0;             // 0: none
  double fsyncs_per_second = 0;  // the disk's, measured just before; 0: not measured
};

// Overwrites 4 KiB blocks of a preallocated 1 MiB file, each followed by fdatasync(), for
// `seconds` in `dir` (as SQLite does with a reused WAL); returns syncs per second.
StatusOr<double> MeasureFsyncsPerSecond(const std::string& dir, double seconds) {
  const std::string path = dir + "/plinth-audit-bench-fsync-" + RandomHex(6);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError("cannot create " + path);
  constexpr int kBlocks = 256;
  std::string block(4096, 'x');
  bool ok = true;
  for (int i = 0; ok && i < kBlocks; ++i) {
    ok = ::write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size());
  }
  ok = ok && ::fsync(fd) == 0;
  int64_t syncs = 0;
  const auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (ok && elapsed < seconds) {
    const off_t offset = static_cast<off_t>(syncs % kBlocks) * 4096;
    ok = ::pwrite(fd, block.data(), block.size(), offset) == static_cast<ssize_t>(block.size()) &&
         ::fdatasync(fd) == 0;
    ++syncs;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) return absl::InternalError("write or fdatasync failed in " + dir);
  return static_cast<double>(syncs) / elapsed;
}

// Runs audited changes on `store` from `threads` threads for `seconds`; returns changes/s.
StatusOr<double> Measure(MetadataStore& store, const AuditLog& log, int threads, double seconds,
                         const std::string& run_name) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::atomic<bool> failed{false};
  std::string first_error;
  std::atomic_flag error_taken = ATOMIC_FLAG_INIT;
  auto worker = [&](int t) {
    for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      const std::string id = run_name + "-" + std::to_string(t) + "-" + std::to_string(i);
      AuditEvent event;
      event.actor = "bench";
      event.action = "bench.change";
      event.project = "bench";
      event.resource = "bench_changes/" + id;
      event.request_id = id;
      event.outcome = "ok";
      event.details = {{"thread", t}, {"i", i}};
      Status status = store.RunInTransaction([&](Transaction& tx) -> Status {
        RETURN_IF_ERROR(tx.Execute("INSERT INTO bench_changes (id, value) VALUES (?, ?)", {id, i}));
        return log.Append(tx, event).status();
      });
      if (!status.ok()) {
        if (!error_taken.test_and_set()) first_error = std::string(status.message());
        failed.store(true);
        stop.store(true);
        return;
      }
      done.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& thread : pool) thread.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed.load()) return absl::InternalError("audited change failed: " + first_error);
  return static_cast<double>(done.load()) / elapsed;
}

// Runs every thread count in `thread_counts` on the store at `url`. A non-empty `fsync_dir` marks
// a store whose commits wait for an fsync in that folder: the disk's fsync rate is measured there
// before each run.
StatusOr<std::vector<RunResult>> RunBackend(const std::string& store_name, const std::string& url,
                                            bool durable, const std::vector<int>& thread_counts,
                                            double target, const std::string& fsync_dir,
                                            const BenchConfig& config) {
  StoreOptions options;
  options.durable = durable;
  options.pool_size = 8;
  ASSIGN_OR_RETURN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(url, options));
  RETURN_IF_ERROR(store->RunInTransaction([](Transaction& tx) {
    return tx.Execute(
        "CREATE TABLE IF NOT EXISTS bench_changes (id TEXT PRIMARY KEY, "
        "value BIGINT NOT NULL)");
  }));
  SigningKey key = SigningKey::Generate();
  AuditLog log(&key, RandomHex(32), SystemClock());
  std::vector<RunResult> results;
  const std::string prefix = RandomHex(4);
  // A short warm-up fills caches and the connection pool before anything is timed.
  ASSIGN_OR_RETURN(double ignored, Measure(*store, log, 8, 0.5, prefix + "-warm"));
  (void)ignored;
  for (int threads : thread_counts) {
    double fsyncs_per_second = 0;
    if (!fsync_dir.empty()) {
      ASSIGN_OR_RETURN(fsyncs_per_second, MeasureFsyncsPerSecond(fsync_dir, 0.5));
    }
    ASSIGN_OR_RETURN(double rate, Measure(*store, log, threads, config.seconds,
                                          prefix + "-t" + std::to_string(threads)));
    results.push_back({store_name, threads, rate, target, fsyncs_per_second});
  }
  ASSIGN_OR_RETURN(AuditVerifyReport report, log.VerifyStore(*store));
  if (!report.ok) return absl::InternalError("the chain does not verify: " + report.reason);
  return results;
}

std::string Thousands(double value) {
  std::string digits = std::to_string(static_cast<int64_t>(value + 0.5));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void PrintTable(const std::vector<RunResult>& results) {
  std::printf(
      "| store | threads | audited changes/s | target | ratio to target | disk fdatasync/s "
      "just before |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const RunResult& r : results) {
    std::string target = r.target > 0 ? ">= " + Thousands(r.target) + "/s" : "-";
    char ratio[32] = "-";
    if (r.target > 0) std::snprintf(ratio, sizeof(ratio), "%.2fx", r.per_second / r.target);
    std::string fsyncs = r.fsyncs_per_second > 0 ? Thousands(r.fsyncs_per_second) : "-";
    std::printf("| %s | %d | %s | %s | %s | %s |\n", r.store.c_str(), r.threads,
                Thousands(r.per_second).c_str(), target.c_str(), ratio, fsyncs.c_str());
  }
}

int Main(int argc, char** argv) {
  BenchConfig config;
  if (const char* url = std::getenv("PLINTH_BENCH_PG_URL")) config.pg_url = url;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc) {
      config.seconds = std::atof(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      config.threads.clear();
      std::istringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) {
        if (int n = std::atoi(item.c_str()); n > 0) config.threads.push_back(n);
      }
    } else if (arg == "--dir" && i + 1 < argc) {
      config.dir = argv[++i];
    } else if (arg == "--pg-url" && i + 1 < argc) {
      config.pg_url = argv[++i];
    } else if (arg == "--pg-label" && i + 1 < argc) {
      config.pg_label = argv[++i];
    } else {
      std::fprintf(
          stderr,
          "usage: audit_bench [--seconds S] [--threads 1,8,...] [--dir DIR] [--pg-url URL] "
          "[--pg-label TEXT]\n");
      return 2;
    }
  }
  if (config.seconds <= 0) config.seconds = 3.0;
  if (config.threads.empty()) config.threads = {1, 8};

  std::vector<RunResult> results;
  struct SqliteRun {
    const char* name;
    bool durable;
    std::vector<int> threads;
    double target;
  };
  const SqliteRun sqlite_runs[] = {
      {"SQLite, durable (synchronous=FULL, group commit)", true, config.threads, kSqliteTarget},
      {"SQLite, synchronous=NORMAL (no fsync per commit)", false, {config.threads.back()}, 0},
  };
  for (const SqliteRun& run : sqlite_runs) {
    const std::filesystem::path path =
        std::filesystem::path(config.dir) / ("plinth-audit-bench-" + RandomHex(6) + ".db");
    StatusOr<std::vector<RunResult>> sqlite =
        RunBackend(run.name, "sqlite:" + path.string(), run.durable, run.threads, run.target,
                   run.durable ? config.dir : "", config);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(path.string() + suffix, ignored);
    }
    if (!sqlite.ok()) {
      std::fprintf(stderr, "sqlite: %s\n", std::string(sqlite.status().message()).c_str());
      return 1;
    }
    results.insert(results.end(), sqlite->begin(), sqlite->end());
  }

  if (!config.pg_url.empty()) {
    StatusOr<std::vector<RunResult>> pg =
        RunBackend(config.pg_label, config.pg_url, true, config.threads, 0, "", config);
    if (!pg.ok()) {
      std::fprintf(stderr, "postgresql: %s\n", std::string(pg.status().message()).c_str());
      return 1;
    }
    results.insert(results.end(), pg->begin(), pg->end());
  } else {
    std::fprintf(stderr, "no PostgreSQL URL (--pg-url or PLINTH_BENCH_PG_URL): SQLite only\n");
  }
  PrintTable(results);
  std::printf(
      "\nSQLite file in %s; disk fdatasync/s: one thread overwriting 4 KiB blocks there "
      "for 0.5 s right before the row.\n",
      config.dir.c_str());
  return 0;
}

}  // namespace
}  // namespace plinth

int main(int argc, char** argv) { return plinth::Main(argc, argv); }
