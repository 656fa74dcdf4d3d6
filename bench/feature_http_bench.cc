// Online feature lookups over HTTP at a fixed request rate: GET
// /api/v1/projects/P/online/SERVICE?entity=ID against a running `plinth server`, on keep-alive
// connections, at R requests per second spread evenly over C connections for D seconds.
//
// Latency is measured from each request's *scheduled* start, not from when it was sent, so a
// stall delays every later request's clock too and shows in the tail (no coordinated omission).
// Each connection's thread sends its share on its own schedule.
//
//   feature_http_bench --url http://127.0.0.1:PORT --token T --path /api/v1/projects/p/online/s
//                      --entities 10000 [--rate 1000] [--seconds 10] [--connections 4]
// Prints: requests, errors, achieved rate, p50/p90/p99/p99.9/max in microseconds, as JSON.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string url;
  std::string token;
  std::string path;
  int entities = 1000;
  double rate = 1000;
  double seconds = 10;
  int connections = 4;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--url") {
      o->url = v;
    } else if (k == "--token") {
      o->token = v;
    } else if (k == "--path") {
      o->path = v;
    } else if (k == "--entities") {
      o->entities = std::atoi(v.c_str());
    } else if (k == "--rate") {
      o->rate = std::atof(v.c_str());
    } else if (k == "--seconds") {
      o->seconds = std::atof(v.c_str());
    } else if (k == "--connections") {
      o->connections = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return false;
    }
  }
  return !o->url.empty() && !o->path.empty() && o->entities > 0 && o->rate > 0 &&
         o->connections > 0;
}

// "C00000042": the synthetic generator's customer ids.
std::string CustomerId(int n) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "C%08d", n);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: feature_http_bench --url URL --token T --path PATH --entities N "
                 "[--rate R] [--seconds D] [--connections C]\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration<double>(o.connections / o.rate);
  const int per_connection = static_cast<int>(o.rate * o.seconds / o.connections);
  std::vector<std::vector<int64_t>> latencies(o.connections);
  std::atomic<int64_t> errors{0};
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(o.url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(5, 0);
      httplib::Headers headers = {{"Authorization", "Bearer " + o.token}};
      std::mt19937 rng(static_cast<unsigned>(c) * 7919u + 1u);
      std::uniform_int_distribution<int> pick(1, o.entities);
      auto& out = latencies[c];
      out.reserve(per_connection);
      // Connections are staggered over one interval so requests arrive evenly.
      const auto offset = interval * (static_cast<double>(c) / o.connections);
      for (int i = 0; i < per_connection; ++i) {
        auto scheduled = start + std::chrono::duration_cast<Clock::duration>(offset + interval * i);
        std::this_thread::sleep_until(scheduled);
        auto res = client.Get(o.path + "?entity=" + CustomerId(pick(rng)), headers);
        auto done = Clock::now();
        if (!res || res->status != 200) errors.fetch_add(1);
        out.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(done - scheduled).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<int64_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto q = [&](double p) {
    if (all.empty()) return int64_t{0};
    return all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))];
  };
  std::printf(
      "{\"requests\": %zu, \"errors\": %lld, \"rate\": %.0f, \"p50_us\": %lld, \"p90_us\": %lld, "
      "\"p99_us\": %lld, \"p999_us\": %lld, \"max_us\": %lld}\n",
      all.size(), static_cast<long long>(errors.load()), static_cast<double>(all.size()) / elapsed,
      static_cast<long long>(q(0.5)), static_cast<long long>(q(0.9)),
      static_cast<long long>(q(0.99)), static_cast<long long>(q(0.999)),
      static_cast<long long>(all.empty() ? 0 : all.back()));
  return errors.load() == 0 ? 0 : 1;
}
