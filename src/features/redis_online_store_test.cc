// RedisOnlineStore against a real redis-server: the one scripts/redis-test-server.sh starts for
// the `redis` CTest fixture (its URL in the file PLINTH_TEST_REDIS_URL_FILE, or
// PLINTH_TEST_REDIS_URL directly), and for the restart tests a private one started and killed
// through the same script. Without a server these tests fail; they never skip.
#include "features/redis_online_store.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/json.h"
#include "core/random.h"
#include "core/sha256.h"
#include "features/feature_compute.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using expr::Value;

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kT0 = 1700000000LL * 1000000;

// The shared test server's URL, or "" after recording a failure that says how to get one.
std::string SharedServerUrl() {
  if (const char* direct = std::getenv("PLINTH_TEST_REDIS_URL"); direct != nullptr && *direct) {
    return direct;
  }
  const char* file = std::getenv("PLINTH_TEST_REDIS_URL_FILE");
  if (file != nullptr && *file) {
    StatusOr<std::string> text = ReadFile(file);
    if (text.ok()) {
      std::string url = *text;
      while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
      if (!url.empty()) return url;
    }
  }
  ADD_FAILURE() << "no Redis test server: start one with `scripts/redis-test-server.sh start DIR` "
                   "and set PLINTH_TEST_REDIS_URL_FILE=DIR/url (or PLINTH_TEST_REDIS_URL); "
                   "`ctest -R redis` starts and stops it itself through the `redis` fixture";
  return "";
}

// A plain hiredis connection, to look at and damage what the store wrote.
class RawRedis {
 public:
  explicit RawRedis(const RedisOnlineStoreOptions& o) {
    timeval tv = {5, 0};
    context_ = redisConnectWithTimeout(o.host.c_str(), o.port, tv);
    if (context_ == nullptr || context_->err != 0) {
      ADD_FAILURE() << "cannot connect to Redis at " << o.host << ":" << o.port;
      return;
    }
    if (!o.password.empty()) {
      if (o.user.empty()) {
        Run({"AUTH", o.password});
      } else {
        Run({"AUTH", o.user, o.password});
      }
    }
    Run({"SELECT", std::to_string(o.db)});
  }
  ~RawRedis() {
    if (context_ != nullptr) redisFree(context_);
  }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  // Runs a command; nullopt (with a recorded failure) on an error, else the reply's string
  // ("" for nil, the decimal for an integer, the elements joined by '\n' for an array).
  std::optional<std::string> Run(const std::vector<std::string>& args) {
    if (context_ == nullptr || context_->err != 0) {
      ADD_FAILURE() << "no Redis connection";
      return std::nullopt;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (r == nullptr) {
      ADD_FAILURE() << args[0] << ": " << context_->errstr;
      return std::nullopt;
    }
    std::optional<std::string> out = std::string();
    if (r->type == REDIS_REPLY_ERROR) {
      ADD_FAILURE() << args[0] << ": " << std::string(r->str, r->len);
      out = std::nullopt;
    } else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
      out = std::string(r->str, r->len);
    } else if (r->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(r->integer);
    } else if (r->type == REDIS_REPLY_ARRAY) {
      std::vector<std::string> parts;
      for (size_t i = 0; i < r->elements; ++i) {
        parts.emplace_back(r->element[i]->str, r->element[i]->len);
      }
      std::sort(parts.begin(), parts.end());
      for (const std::string& p : parts) *out += (out->empty() ? "" : "\n") + p;
    }
    freeReplyObject(r);
    return out;
  }
  std::string Get(const std::string& key) { return Run({"GET", key}).value_or(""); }
  void Set(const std::string& key, const std::string& value) { Run({"SET", key, value}); }
  // Every key starting with `prefix`, sorted, one a line.
  std::string Keys(const std::string& prefix) { return Run({"KEYS", prefix + "*"}).value_or("?"); }
  void DeleteAll(const std::string& prefix) {
    std::string keys = Keys(prefix);
    size_t start = 0;
    while (start < keys.size()) {
      size_t end = keys.find('\n', start);
      if (end == std::string::npos) end = keys.size();
      Run({"DEL", keys.substr(start, end - start)});
      start = end + 1;
    }
  }

 private:
  redisContext* context_ = nullptr;
};

// An online table with every column type; row 1 ("b") has nulls in every feature.
Table EveryTypeTable() {
  Table t;
  Column entity(kOnlineEntityColumn, ColumnType::kString);
  Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  Column count("txn_count", ColumnType::kInt64);
  Column amount("last_amount", ColumnType::kFloat64);
  Column flagged("flagged", ColumnType::kBool);
  Column country("country", ColumnType::kString);
  Column seen("last_seen", ColumnType::kTimestamp);
  entity.AppendString("a");
  event_time.AppendInt64(kT0);
  count.AppendInt64(3);
  amount.AppendFloat64(12.5);
  flagged.AppendBool(true);
  country.AppendString("FR");
  seen.AppendInt64(kT0 - kDay);
  entity.AppendString("b");
  event_time.AppendNull();
  count.AppendNull();
  amount.AppendNull();
  flagged.AppendNull();
  country.AppendNull();
  seen.AppendNull();
  entity.AppendString("c");
  event_time.AppendInt64(kT0 + 5);
  count.AppendInt64(-7);
  amount.AppendFloat64(-0.25);
  flagged.AppendBool(false);
  country.AppendString("a longer string than the small-string buffer");
  seen.AppendInt64(kT0 + 7);
  for (Column* c : {&entity, &event_time, &count, &amount, &flagged, &country, &seen}) {
    EXPECT_TRUE(t.AddColumn(std::move(*c)).ok());
  }
  return t;
}

OnlineView MakeView(const std::string& project, const std::string& view, Table values,
                    int64_t materialized_at = kT0 + 1000) {
  OnlineView v;
  v.project = project;
  v.view = view;
  v.view_version = "sha256:" + std::string(64, 'a');
  v.until = kT0 + 10;
  v.materialized_at = materialized_at;
  v.values = std::move(values);
  return v;
}

std::string Prefixed(const char* prefix, int64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

// `entities` rows "e0".."e<n-1>" whose every feature says `version` (as in online_store_test): a
// reader that sees features of one row from different versions sees a torn state.
Table VersionedTable(int entities, int64_t version) {
  Table t;
  Column entity(kOnlineEntityColumn, ColumnType::kString);
  Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
  Column i("i", ColumnType::kInt64);
  Column f("f", ColumnType::kFloat64);
  Column s("s", ColumnType::kString);
  Column b("b", ColumnType::kBool);
  Column ts("t", ColumnType::kTimestamp);
  for (int e = 0; e < entities; ++e) {
    entity.AppendString(Prefixed("e", e));
    event_time.AppendInt64(kT0 + version);
    i.AppendInt64(version);
    f.AppendFloat64(static_cast<double>(version));
    s.AppendString(Prefixed("v", version));
    b.AppendBool(version % 2 == 1);
    ts.AppendInt64(kT0 + version);
  }
  for (Column* c : {&entity, &event_time, &i, &f, &s, &b, &ts}) {
    EXPECT_TRUE(t.AddColumn(std::move(*c)).ok());
  }
  return t;
}

std::vector<FeatureRef> VersionedFeatures(const std::string& view) {
  return {{view, "i"}, {view, "f"}, {view, "s"}, {view, "b"}, {view, "t"}};
}

// The version all of `values` (from VersionedFeatures) agree on, or -1 if they disagree.
int64_t VersionOf(const std::vector<Value>& values) {
  if (values.size() != 5 || values[0].kind() != Value::Kind::kInt) return -1;
  int64_t v = values[0].int_value();
  bool ok = values[1].kind() == Value::Kind::kDouble &&
            values[1].double_value() == static_cast<double>(v) &&
            values[2].kind() == Value::Kind::kString &&
            values[2].string_value() == Prefixed("v", v) &&
            values[3].kind() == Value::Kind::kBool && values[3].bool_value() == (v % 2 == 1) &&
            values[4].kind() == Value::Kind::kTimestamp && values[4].timestamp_micros() == kT0 + v;
  return ok ? v : -1;
}

void ExpectSameView(const OnlineView& got, const OnlineView& want) {
  EXPECT_EQ(got.project, want.project);
  EXPECT_EQ(got.view, want.view);
  EXPECT_EQ(got.view_version, want.view_version);
  EXPECT_EQ(got.until, want.until);
  EXPECT_EQ(got.materialized_at, want.materialized_at);
  EXPECT_TRUE(got.values == want.values);
}

// Every test gets its own key prefix on the shared server, so tests can run at once.
class RedisOnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = SharedServerUrl();
    ASSERT_FALSE(url_.empty());
    StatusOr<RedisOnlineStoreOptions> options = ParseRedisUrl(url_);
    ASSERT_TRUE(options.ok()) << options.status();
    base_ = *options;
    base_.key_prefix = "plinth-test:" + RandomHex(8) + ":";
    raw_ = std::make_unique<RawRedis>(base_);
    ASSERT_EQ(raw_->Run({"PING"}), "PONG");
  }
  void TearDown() override {
    if (raw_ != nullptr) raw_->DeleteAll(base_.key_prefix);
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  std::unique_ptr<RedisOnlineStore> Store(int64_t refresh_ms = 100) const {
    RedisOnlineStoreOptions o = base_;
    o.refresh_interval_ms = refresh_ms;
    return std::make_unique<RedisOnlineStore>(o);
  }
  std::string TempDir() {
    if (tmp_.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "redis-store-test.XXXXXX").string();
      EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
      tmp_ = tmpl;
    }
    return tmp_;
  }
  std::string DataKey(const RedisOnlineStore& store, const std::string& project,
                      const std::string& view) {
    std::string pointer = store.PointerKey(project, view);
    return pointer + ":" + raw_->Get(pointer);
  }

  std::string url_;
  RedisOnlineStoreOptions base_;
  std::unique_ptr<RawRedis> raw_;
  std::string tmp_;
};

TEST_F(RedisOnlineStoreTest, RoundTripEqualsTheLocalStore) {
  OnlineView want = MakeView("bank", "customer", EveryTypeTable());
  LocalOnlineStore local(TempDir() + "/online");
  ASSERT_TRUE(local.Write(want).ok());
  auto writer = Store();
  ASSERT_TRUE(writer->Write(want).ok());

  // Read by another instance, so that the view comes from Redis, not the writer's cache.
  auto reader = Store();
  auto got = reader->Read("bank", "customer");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_NE(*got, nullptr);
  auto from_local = LocalOnlineStore(TempDir() + "/online").Read("bank", "customer");
  ASSERT_TRUE(from_local.ok() && *from_local != nullptr) << from_local.status();
  ExpectSameView(**got, want);
  ExpectSameView(**got, **from_local);
  EXPECT_EQ((*got)->index, (*from_local)->index);
  ASSERT_EQ((*got)->string_values.size(), (*from_local)->string_values.size());
  for (size_t i = 0; i < (*got)->string_values.size(); ++i) {
    ASSERT_EQ((*got)->string_values[i].size(), (*from_local)->string_values[i].size()) << i;
    for (size_t j = 0; j < (*got)->string_values[i].size(); ++j) {
      EXPECT_EQ((*got)->string_values[i][j].string_value(),
                (*from_local)->string_values[i][j].string_value());
    }
  }

  // One encoding: the value in Redis is byte for byte the local file, and the pointer names it
  // by its header's digest.
  StatusOr<std::string> file = ReadFile(TempDir() + "/online/bank/customer.online");
  ASSERT_TRUE(file.ok()) << file.status();
  const std::string pointer = writer->PointerKey("bank", "customer");
  EXPECT_EQ(pointer, base_.key_prefix + "bank:customer");
  const std::string version = raw_->Get(pointer);
  EXPECT_EQ(raw_->Get(pointer + ":" + version), *file);
  auto header = ParseJson(file->substr(0, file->find('\n')));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ((*header)["header_sha256"], "sha256:" + version);

  // And the other way: a file's bytes stored under its digest are read as the view.
  OnlineView other = MakeView("bank", "merchant", VersionedTable(4, 3));
  ASSERT_TRUE(local.Write(other).ok());
  StatusOr<std::string> other_file = ReadFile(TempDir() + "/online/bank/merchant.online");
  ASSERT_TRUE(other_file.ok());
  auto other_header = ParseJson(other_file->substr(0, other_file->find('\n')));
  ASSERT_TRUE(other_header.ok());
  const std::string other_version =
      (*other_header)["header_sha256"].get<std::string>().substr(std::string("sha256:").size());
  const std::string other_pointer = writer->PointerKey("bank", "merchant");
  raw_->Set(other_pointer + ":" + other_version, *other_file);
  raw_->Set(other_pointer, other_version);
  auto copied = reader->Read("bank", "merchant");
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_NE(*copied, nullptr);
  ExpectSameView(**copied, other);
}

TEST_F(RedisOnlineStoreTest, NeverMaterializedViewReadsAsNull) {
  auto store = Store();
  auto got = store->Read("bank", "customer");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, nullptr);
  EXPECT_EQ(raw_->Keys(base_.key_prefix), "");
}

TEST_F(RedisOnlineStoreTest, AnotherReplicaSeesANewWriteAfterItsRefreshInterval) {
  auto writer = Store();
  auto cached = Store(/*refresh_ms=*/3600 * 1000);  // within the hour: never asks again
  auto periodic = Store(/*refresh_ms=*/50);
  auto every_read = Store(/*refresh_ms=*/0);
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(3, 1), kT0 + 1)).ok());
  std::shared_ptr<const OnlineView> first;
  for (RedisOnlineStore* s : {cached.get(), periodic.get(), every_read.get()}) {
    auto got = s->Read("p", "v");
    ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
    EXPECT_EQ((*got)->materialized_at, kT0 + 1);
    first = *got;
  }

  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(4, 2), kT0 + 2)).ok());
  // The writer serves its own write at once.
  auto own = writer->Read("p", "v");
  ASSERT_TRUE(own.ok() && *own != nullptr);
  EXPECT_EQ((*own)->materialized_at, kT0 + 2);
  // Asking on every Read sees it at once.
  auto now = every_read->Read("p", "v");
  ASSERT_TRUE(now.ok() && *now != nullptr) << now.status();
  EXPECT_TRUE((*now)->values == VersionedTable(4, 2));
  // Within its interval a replica serves what it has...
  auto stale = cached->Read("p", "v");
  ASSERT_TRUE(stale.ok() && *stale != nullptr);
  EXPECT_EQ((*stale)->materialized_at, kT0 + 1);
  // ...and after it, the new view, without a restart.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto fresh = periodic->Read("p", "v");
  ASSERT_TRUE(fresh.ok() && *fresh != nullptr) << fresh.status();
  EXPECT_TRUE((*fresh)->values == VersionedTable(4, 2));
  EXPECT_EQ((*fresh)->materialized_at, kT0 + 2);
  // A state held by a caller stays valid.
  EXPECT_TRUE(first->values == VersionedTable(3, 1));
  // Unchanged: the same state again, not a new decode.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto again = periodic->Read("p", "v");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), fresh->get());
  // A FeatureLookup picks the new view up on Refresh.
  auto lookup = FeatureLookup::Create(every_read.get(), "p", VersionedFeatures("v"));
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  std::vector<Value> out;
  lookup->Get("e3", &out);
  EXPECT_EQ(VersionOf(out), 2);
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(5, 3), kT0 + 3)).ok());
  lookup->Get("e4", &out);
  EXPECT_TRUE(out[0].is_null());
  ASSERT_TRUE(lookup->Refresh().ok());
  lookup->Get("e4", &out);
  EXPECT_EQ(VersionOf(out), 3);
}

TEST_F(RedisOnlineStoreTest, KeepsOnlyTheCurrentVersion) {
  auto store = Store(0);
  for (int64_t version = 1; version <= 5; ++version) {
    ASSERT_TRUE(store->Write(MakeView("p", "v", VersionedTable(3, version), kT0 + version)).ok());
  }
  const std::string pointer = store->PointerKey("p", "v");
  const std::string current = raw_->Get(pointer);
  EXPECT_EQ(raw_->Keys(base_.key_prefix), pointer + "\n" + pointer + ":" + current);
  // Writing the same view again is the same version: nothing changes, nothing is lost.
  ASSERT_TRUE(store->Write(MakeView("p", "v", VersionedTable(3, 5), kT0 + 5)).ok());
  EXPECT_EQ(raw_->Get(pointer), current);
  EXPECT_EQ(raw_->Keys(base_.key_prefix), pointer + "\n" + pointer + ":" + current);
  auto got = Store(0)->Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
  EXPECT_TRUE((*got)->values == VersionedTable(3, 5));
  // Views are apart: another view's write leaves this one alone.
  ASSERT_TRUE(store->Write(MakeView("p", "w", VersionedTable(2, 9))).ok());
  EXPECT_EQ(raw_->Get(pointer), current);
}

TEST_F(RedisOnlineStoreTest, ReadersNeverSeeAHalfWrittenView) {
  constexpr int kEntities = 300;
  constexpr int64_t kVersions = 40;
  constexpr int kReaders = 4;
  auto writer = Store();
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(kEntities, 1), kT0 + 1)).ok());

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  // Rounds each reader completed; the writer waits for every reader to complete a whole round
  // after each write, so that the readers asking on every Read see every version.
  std::vector<std::atomic<int64_t>> rounds(kReaders);
  std::vector<std::vector<int64_t>> seen(kReaders);
  std::vector<std::thread> threads;
  // Replicas: each its own store (another process, as far as Redis can tell), asking on every
  // Read or every few ms, each shared by two threads.
  std::vector<std::unique_ptr<RedisOnlineStore>> replicas;
  replicas.push_back(Store(0));
  replicas.push_back(Store(2));
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      RedisOnlineStore* store = replicas[r % 2].get();
      std::mt19937 rng(r);
      std::vector<Value> out;
      int64_t last = 0;
      for (int64_t n = 0; !done.load(); ++n, ++rounds[r]) {
        auto lookup = FeatureLookup::Create(store, "p", VersionedFeatures("v"));
        if (!lookup.ok()) {
          ADD_FAILURE() << lookup.status();
          ++failures;
          continue;
        }
        for (int k = 0; k < 8; ++k) {
          lookup->Get(Prefixed("e", rng() % kEntities), &out);
          int64_t v = VersionOf(out);
          if (v < last || v < 1) ++failures;
          if (v > last) seen[r].push_back(v);
          last = std::max(last, v);
        }
        // Now and then the whole table: every row of one version.
        if (n % 10 == 0) {
          auto got = store->Read("p", "v");
          if (!got.ok() || *got == nullptr) {
            ++failures;
            continue;
          }
          int64_t v = (*got)->materialized_at - kT0;
          if (v < last || !((*got)->values == VersionedTable(kEntities, v))) ++failures;
          if (v > last) seen[r].push_back(v);
          last = std::max(last, v);
        }
      }
    });
  }
  // Waits until every reader completed two more rounds: the second began after the last write.
  std::vector<int64_t> before(kReaders, 0);
  auto await_rounds = [&] {
    for (int r = 0; r < kReaders; ++r) {
      while (rounds[r].load() < before[r] + 2) std::this_thread::yield();
    }
    for (int r = 0; r < kReaders; ++r) before[r] = rounds[r].load();
  };
  for (int64_t version = 2; version <= kVersions; ++version) {
    await_rounds();
    Status written =
        writer->Write(MakeView("p", "v", VersionedTable(kEntities, version), kT0 + version));
    if (!written.ok()) {
      ADD_FAILURE() << written;
      break;
    }
    for (int r = 0; r < kReaders; ++r) before[r] = rounds[r].load();
  }
  await_rounds();
  done = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<int64_t> every(kVersions);
  for (int64_t v = 1; v <= kVersions; ++v) every[v - 1] = v;
  EXPECT_EQ(seen[0], every);
  EXPECT_EQ(seen[2], every);
  // The replica refreshing every few ms sees the last one once its interval has passed.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto last = replicas[1]->Read("p", "v");
  ASSERT_TRUE(last.ok() && *last != nullptr) << last.status();
  EXPECT_EQ((*last)->materialized_at, kT0 + kVersions);
}

TEST_F(RedisOnlineStoreTest, ConcurrentWritersLeaveOneWholeView) {
  // Two replicas materializing the same view at once: the last switch wins, whole.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      auto store = Store();
      for (int64_t n = 0; n < 15; ++n) {
        int64_t version = 100 * (w + 1) + n;
        if (!store->Write(MakeView("p", "v", VersionedTable(50, version), kT0 + version)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = Store(0)->Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
  EXPECT_TRUE((*got)->values == VersionedTable(50, (*got)->materialized_at - kT0));
  const std::string pointer = Store()->PointerKey("p", "v");
  EXPECT_EQ(raw_->Keys(base_.key_prefix), pointer + "\n" + pointer + ":" + raw_->Get(pointer));
}

TEST_F(RedisOnlineStoreTest, CorruptValuesAreDataLossAndNeverServed) {
  auto writer = Store();
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(20, 1))).ok());
  const std::string pointer = writer->PointerKey("p", "v");
  const std::string version = raw_->Get(pointer);
  const std::string key = pointer + ":" + version;
  const std::string good = raw_->Get(key);
  ASSERT_FALSE(good.empty());
  // A replica holding the good view, asking on every Read.
  auto replica = Store(0);
  ASSERT_TRUE(replica->Read("p", "v").ok());

  auto expect_data_loss = [&](const std::string& needle) {
    auto got = Store()->Read("p", "v");
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << needle;
    EXPECT_NE(got.status().message().find(needle), std::string::npos) << got.status();
    auto lookup = FeatureLookup::Create(Store().get(), "p", VersionedFeatures("v"));
    EXPECT_EQ(lookup.status().code(), absl::StatusCode::kDataLoss) << needle;
  };
  const size_t newline = good.find('\n');
  std::string flipped = good;
  flipped[newline + 40] ^= 0x01;
  raw_->Set(key, flipped);
  expect_data_loss("snapshot checksum mismatch");
  flipped = good;
  flipped[newline / 2] ^= 0x01;
  raw_->Set(key, flipped);
  expect_data_loss("is unreadable");
  raw_->Set(key, good.substr(0, good.size() - 1));
  expect_data_loss("snapshot checksum mismatch");
  raw_->Set(key, good.substr(0, newline));
  expect_data_loss("no header line");
  raw_->Set(key, "");
  expect_data_loss("no header line");
  // Another view's value under this view's version key.
  ASSERT_TRUE(writer->Write(MakeView("p", "w", VersionedTable(20, 1))).ok());
  const std::string w_pointer = writer->PointerKey("p", "w");
  const std::string w_version = raw_->Get(w_pointer);
  const std::string w_value = raw_->Get(w_pointer + ":" + w_version);
  raw_->Set(key, w_value);
  expect_data_loss("is not version " + version);
  // ...and under its own version, with this view's pointer switched to it.
  raw_->Set(pointer + ":" + w_version, w_value);
  raw_->Set(pointer, w_version);
  expect_data_loss("header names view \"p/w\"");
  // A pointer that is not a version, or names nothing, or is not a string at all.
  raw_->Set(pointer, "not-a-version");
  expect_data_loss("not a version");
  raw_->Set(pointer, std::string(64, 'b'));
  expect_data_loss("is missing");
  raw_->Run({"DEL", pointer});
  raw_->Run({"HSET", pointer, "x", "y"});
  expect_data_loss("holds a hash");
  // The replica asking on every Read now refuses too: the view it held is no longer current.
  EXPECT_EQ(replica->Read("p", "v").status().code(), absl::StatusCode::kDataLoss);
  // A write does not overwrite what it did not write.
  Status refused = writer->Write(MakeView("p", "v", VersionedTable(20, 2)));
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_EQ(raw_->Run({"TYPE", pointer}), "hash");

  // A corrupt value switched in while a replica holds the good one: refused, not the old view.
  raw_->Run({"DEL", pointer});
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(20, 3))).ok());
  auto fine = replica->Read("p", "v");
  ASSERT_TRUE(fine.ok() && *fine != nullptr) << fine.status();
  const std::string bad_version(64, 'c');
  flipped = raw_->Get(DataKey(*writer, "p", "v"));
  flipped.back() ^= 0x01;
  raw_->Set(pointer + ":" + bad_version, flipped);
  raw_->Set(pointer, bad_version);
  for (int i = 0; i < 2; ++i) {  // refused each time, from memory the second
    EXPECT_EQ(replica->Read("p", "v").status().code(), absl::StatusCode::kDataLoss);
  }
  // Materializing again repairs it.
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(20, 4))).ok());
  auto repaired = replica->Read("p", "v");
  ASSERT_TRUE(repaired.ok() && *repaired != nullptr) << repaired.status();
  EXPECT_TRUE((*repaired)->values == VersionedTable(20, 4));
}

TEST_F(RedisOnlineStoreTest, RejectsBadNamesAndTablesAsTheLocalStoreDoes) {
  auto store = Store();
  LocalOnlineStore local(TempDir() + "/online");
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
        std::string("../x"), std::string("a..b"), std::string(".hidden"), std::string("a b"),
        std::string("a:b"), std::string("a*"), std::string("caf\xc3\xa9"), std::string("a\0b", 3),
        std::string(129, 'a'), std::string("a\\b")}) {
    for (OnlineStore* s :
         {static_cast<OnlineStore*>(store.get()), static_cast<OnlineStore*>(&local)}) {
      EXPECT_EQ(s->Write(MakeView(bad, "v", VersionedTable(1, 1))).code(),
                absl::StatusCode::kInvalidArgument)
          << bad;
      EXPECT_EQ(s->Write(MakeView("p", bad, VersionedTable(1, 1))).code(),
                absl::StatusCode::kInvalidArgument)
          << bad;
      EXPECT_EQ(s->Read(bad, "v").status().code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_EQ(s->Read("p", bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    }
  }
  Table no_entity;
  ASSERT_TRUE(no_entity.AddColumn(Column(kOnlineEventTimeColumn, ColumnType::kTimestamp)).ok());
  Status s = store->Write(MakeView("p", "v", no_entity));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("lacks the \"entity\" column"), std::string::npos) << s;
  {
    Column entity(kOnlineEntityColumn, ColumnType::kString);
    Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
    for (const char* key : {"x", "y", "x"}) {
      entity.AppendString(key);
      event_time.AppendInt64(kT0);
    }
    Table dup;
    ASSERT_TRUE(dup.AddColumn(std::move(entity)).ok());
    ASSERT_TRUE(dup.AddColumn(std::move(event_time)).ok());
    s = store->Write(MakeView("p", "v", std::move(dup)));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("duplicate entity key \"x\" (rows 0 and 2)"), std::string::npos)
        << s;
  }
  OnlineView not_utf8 = MakeView("p", "v", VersionedTable(1, 1));
  not_utf8.view_version = std::string("\xff\xfe", 2);
  EXPECT_EQ(store->Write(std::move(not_utf8)).code(), absl::StatusCode::kInvalidArgument);
  // Nothing refused reached Redis.
  EXPECT_EQ(raw_->Keys(base_.key_prefix), "");
  for (const std::string& good :
       {std::string("a"), std::string("A-b_c.1"), std::string("v2.0"), std::string(128, 'z')}) {
    EXPECT_TRUE(store->Write(MakeView(good, good, VersionedTable(1, 1))).ok()) << good;
    auto got = Store()->Read(good, good);
    EXPECT_TRUE(got.ok() && *got != nullptr) << good;
  }
}

TEST_F(RedisOnlineStoreTest, UsesTheDatabaseAndCredentialsOfTheUrl) {
  RedisOnlineStoreOptions o = base_;
  o.db = 5;
  RedisOnlineStore in_five(o);
  ASSERT_TRUE(in_five.Write(MakeView("p", "v", VersionedTable(2, 1))).ok());
  const std::string pointer = in_five.PointerKey("p", "v");
  EXPECT_EQ(raw_->Run({"EXISTS", pointer}), "0");
  raw_->Run({"SELECT", "5"});
  EXPECT_EQ(raw_->Run({"EXISTS", pointer}), "1");
  raw_->DeleteAll(base_.key_prefix);
  raw_->Run({"SELECT", std::to_string(base_.db)});

  // The URL as a user writes it reaches the same server.
  std::string url = url_;
  url += url.find('?') == std::string::npos ? "?" : "&";
  url += "prefix=" + base_.key_prefix + "&refresh_ms=0";
  auto opened = OpenOnlineStore(url);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE((*opened)->Write(MakeView("p", "u", VersionedTable(2, 7))).ok());
  EXPECT_EQ(raw_->Run({"EXISTS", base_.key_prefix + "p:u"}), "1");

  if (!base_.password.empty()) {
    RedisOnlineStoreOptions wrong = base_;
    wrong.password = "not-the-password";
    RedisOnlineStore refused(wrong);
    auto got = refused.Read("p", "u");
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
    EXPECT_NE(got.status().message().find("authentication"), std::string::npos) << got.status();
    EXPECT_EQ(got.status().message().find("not-the-password"), std::string::npos);
  }
  RedisOnlineStoreOptions no_db = base_;
  no_db.db = 100000;
  auto no_such_db = RedisOnlineStore(no_db).Read("p", "u");
  EXPECT_EQ(no_such_db.status().code(), absl::StatusCode::kUnavailable) << no_such_db.status();
}

// A private server, started, killed and restarted through the test script.
class RedisServerProcess {
 public:
  RedisServerProcess() {
    std::string tmpl = (fs::temp_directory_path() / "redis-restart-test.XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/server";
  }
  ~RedisServerProcess() {
    Script("stop");
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  bool Script(const std::string& action) {
    std::string command =
        std::string(PLINTH_REDIS_TEST_SERVER_SCRIPT) + " " + action + " '" + dir_ + "'";
    return std::system(command.c_str()) == 0;
  }
  // The server's process id, or 0.
  pid_t Pid() {
    StatusOr<std::string> text = ReadFile(dir_ + "/redis.pid");
    return text.ok() ? static_cast<pid_t>(std::atoi(text->c_str())) : 0;
  }
  std::string Url() {
    StatusOr<std::string> text = ReadFile(dir_ + "/url");
    if (!text.ok()) return "";
    std::string url = *text;
    while (!url.empty() && url.back() == '\n') url.pop_back();
    return url;
  }

 private:
  std::string root_;
  std::string dir_;
};

TEST(RedisOnlineStoreRestartTest, KilledServerIsUnavailableThenWorksAfterRestart) {
  RedisServerProcess server;
  ASSERT_TRUE(server.Script("start"));
  const std::string url = server.Url();
  ASSERT_FALSE(url.empty());
  StatusOr<RedisOnlineStoreOptions> options = ParseRedisUrl(url);
  ASSERT_TRUE(options.ok()) << options.status();
  options->refresh_interval_ms = 0;
  options->io_timeout_ms = 2000;
  RedisOnlineStore store(*options);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(10, 1))).ok());
  auto lookup = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
  ASSERT_TRUE(lookup.ok()) << lookup.status();

  ASSERT_TRUE(server.Script("kill"));
  auto down = store.Read("p", "v");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  EXPECT_NE(down.status().message().find(store.server()), std::string::npos) << down.status();
  EXPECT_EQ(down.status().message().find(options->password), std::string::npos);
  // A large write to a dead server fails cleanly (writing to the closed socket raises SIGPIPE,
  // which must not end the process).
  Status write_down = store.Write(MakeView("p", "v", VersionedTable(100000, 2)));
  EXPECT_EQ(write_down.code(), absl::StatusCode::kUnavailable) << write_down;
  // A lookup keeps serving what it had while the store is unavailable.
  EXPECT_EQ(lookup->Refresh().code(), absl::StatusCode::kUnavailable);
  std::vector<Value> out;
  lookup->Get("e3", &out);
  EXPECT_EQ(VersionOf(out), 1);

  ASSERT_TRUE(server.Script("start"));
  // The test server keeps nothing across a restart: the view is gone until written again.
  auto empty = store.Read("p", "v");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, nullptr);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(10, 3))).ok());
  auto back = store.Read("p", "v");
  ASSERT_TRUE(back.ok() && *back != nullptr) << back.status();
  EXPECT_TRUE((*back)->values == VersionedTable(10, 3));

  // Restarted between two calls: the pooled connection is dead, and the call goes through on a
  // new one without an error (a large write, so that the dead socket raises SIGPIPE).
  ASSERT_TRUE(server.Script("kill"));
  ASSERT_TRUE(server.Script("start"));
  Status rewritten = store.Write(MakeView("p", "v", VersionedTable(100000, 4)));
  EXPECT_TRUE(rewritten.ok()) << rewritten;
  ASSERT_TRUE(server.Script("kill"));
  ASSERT_TRUE(server.Script("start"));
  auto after = store.Read("p", "v");
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST(RedisOnlineStoreRestartTest, HungServerIsUnavailableAfterTheTimeout) {
  RedisServerProcess server;
  ASSERT_TRUE(server.Script("start"));
  StatusOr<RedisOnlineStoreOptions> options = ParseRedisUrl(server.Url());
  ASSERT_TRUE(options.ok()) << options.status();
  options->refresh_interval_ms = 0;
  options->io_timeout_ms = 300;
  RedisOnlineStore store(*options);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(10, 1))).ok());
  const pid_t pid = server.Pid();
  ASSERT_GT(pid, 0);
  // Stopped, the server keeps its connections open but never answers.
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  auto hung = store.Read("p", "v");
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  EXPECT_EQ(hung.status().code(), absl::StatusCode::kUnavailable) << hung.status();
  EXPECT_NE(hung.status().message().find("no answer within 300 ms"), std::string::npos)
      << hung.status();
  auto back = store.Read("p", "v");
  ASSERT_TRUE(back.ok() && *back != nullptr) << back.status();
  EXPECT_TRUE((*back)->values == VersionedTable(10, 1));
}

TEST(RedisOnlineStoreRestartTest, NoServerIsUnavailable) {
  // A port nothing listens on: a server started and stopped again.
  std::string url;
  {
    RedisServerProcess server;
    ASSERT_TRUE(server.Script("start"));
    url = server.Url();
  }
  ASSERT_FALSE(url.empty());
  auto store = OpenOnlineStore(url);
  ASSERT_TRUE(store.ok()) << store.status();  // connects on first use
  EXPECT_EQ((*store)->Read("p", "v").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*store)->Write(MakeView("p", "v", VersionedTable(1, 1))).code(),
            absl::StatusCode::kUnavailable);
}

TEST(RedisUrlTest, ParsesTheUrlForms) {
  auto o = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->host, "localhost");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->user, "");
  EXPECT_EQ(o->password, "");
  EXPECT_EQ(o->key_prefix, "plinth:online:");
  EXPECT_EQ(o->refresh_interval_ms, 100);

  o = ParseRedisUrl("redis://alice:p%40ss/w@@redis.bank.internal:6380/3");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->user, "alice");
  EXPECT_EQ(o->password, "p@ss/w@");
  EXPECT_EQ(o->host, "redis.bank.internal");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 3);
  EXPECT_EQ(RedisOnlineStore(*o).server(), "redis://redis.bank.internal:6380/3");

  o = ParseRedisUrl(
      "redis://:secret@[::1]:7000/?prefix=bank%3Aonline%3A&refresh_ms=0&"
      "connect_timeout_ms=250&timeout_ms=900&pool_size=8");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->user, "");
  EXPECT_EQ(o->password, "secret");
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->key_prefix, "bank:online:");
  EXPECT_EQ(o->refresh_interval_ms, 0);
  EXPECT_EQ(o->connect_timeout_ms, 250);
  EXPECT_EQ(o->io_timeout_ms, 900);
  EXPECT_EQ(o->pool_size, 8);
  EXPECT_EQ(RedisOnlineStore(*o).server(), "redis://[::1]:7000/0");

  for (const char* bad : {"redis://",
                          "redis://:6379",
                          "redis://host:",
                          "redis://host:0",
                          "redis://host:65536",
                          "redis://host:63x9",
                          "redis://host/abc",
                          "redis://host/-1",
                          "redis://ho st",
                          "redis://user@host",
                          "redis://user:@host",
                          "redis://[::1",
                          "redis://[::1]x",
                          "redis://host?pool_size=0",
                          "redis://host?refresh_ms=-1",
                          "redis://host?colour=red",
                          "redis://host?prefix=",
                          "redis://host?timeout_ms",
                          "redis://host#frag",
                          "redis://u:p%zz@host",
                          "http://host"}) {
    auto parsed = ParseRedisUrl(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  // A malformed URL's message never shows the password.
  auto hidden = ParseRedisUrl("redis://u:hunter2@host:99999");
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hidden.status().message().find("hunter2"), std::string::npos) << hidden.status();
}

TEST(OpenOnlineStoreTest, DispatchesOnTheLocation) {
  auto redis = OpenOnlineStore("redis://:pw@127.0.0.1:1/2?refresh_ms=7");
  ASSERT_TRUE(redis.ok()) << redis.status();
  auto* as_redis = dynamic_cast<RedisOnlineStore*>(redis->get());
  ASSERT_NE(as_redis, nullptr);
  EXPECT_EQ(as_redis->options().port, 1);
  EXPECT_EQ(as_redis->options().db, 2);
  EXPECT_EQ(as_redis->options().refresh_interval_ms, 7);

  std::string tmpl = (fs::temp_directory_path() / "open-online-store.XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  auto local = OpenOnlineStore(tmpl + "/online");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_NE(dynamic_cast<LocalOnlineStore*>(local->get()), nullptr);
  ASSERT_TRUE((*local)->Write(MakeView("p", "v", VersionedTable(1, 1))).ok());
  EXPECT_TRUE(fs::is_regular_file(tmpl + "/online/p/v.online"));
  std::error_code ec;
  fs::remove_all(tmpl, ec);

  EXPECT_EQ(OpenOnlineStore("").status().code(), absl::StatusCode::kInvalidArgument);
  auto tls = OpenOnlineStore("rediss://:hunter2@host:6380");
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tls.status().message().find("hunter2"), std::string::npos) << tls.status();
  EXPECT_EQ(OpenOnlineStore("redis://host:99999").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Not a benchmark with thresholds (durations are never asserted): prints what one single-entity
// lookup costs the way features.get runs it (FeatureLookup::Create, which Reads each view, then
// Get), cold (a new store: fetch and decode) and warm (cached, or asking Redis every Read).
TEST_F(RedisOnlineStoreTest, ReportsLookupLatency) {
  constexpr int kEntities = 10000;
  auto writer = Store();
  ASSERT_TRUE(writer->Write(MakeView("p", "v", VersionedTable(kEntities, 7))).ok());
  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::duration d) {
    return std::chrono::duration<double, std::micro>(d).count();
  };
  std::vector<Value> out;
  auto one = [&](OnlineStore* store, int n) {
    auto lookup = FeatureLookup::Create(store, "p", VersionedFeatures("v"));
    ASSERT_TRUE(lookup.ok()) << lookup.status();
    lookup->Get(Prefixed("e", n % kEntities), &out);
    ASSERT_EQ(VersionOf(out), 7);
  };

  double cold = 0;
  constexpr int kColdRuns = 5;
  for (int i = 0; i < kColdRuns; ++i) {
    auto fresh = Store();
    Clock::time_point start = Clock::now();
    one(fresh.get(), i);
    cold += micros(Clock::now() - start);
  }
  auto cached = Store(3600 * 1000);
  auto every_read = Store(0);
  one(cached.get(), 0);
  one(every_read.get(), 0);
  constexpr int kWarmRuns = 20000;
  Clock::time_point start = Clock::now();
  for (int i = 0; i < kWarmRuns; ++i) one(cached.get(), i);
  const double warm = micros(Clock::now() - start) / kWarmRuns;
  constexpr int kRoundTripRuns = 2000;
  start = Clock::now();
  for (int i = 0; i < kRoundTripRuns; ++i) one(every_read.get(), i);
  const double round_trip = micros(Clock::now() - start) / kRoundTripRuns;
  std::cout << "single-entity lookup (5 features, " << kEntities
            << "-entity view): cold (fetch + decode) " << cold / kColdRuns << " us, warm cached "
            << warm << " us, warm asking Redis on every Read " << round_trip << " us\n";
  RecordProperty("cold_us", std::to_string(cold / kColdRuns));
  RecordProperty("warm_cached_us", std::to_string(warm));
  RecordProperty("warm_every_read_us", std::to_string(round_trip));
}

}  // namespace
}  // namespace plinth
