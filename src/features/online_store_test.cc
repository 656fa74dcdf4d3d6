#include "features/online_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/files.h"
#include "core/json.h"
#include "core/sha256.h"
#include "expr/expr.h"
#include "features/feature_compute.h"
#include "table/table_snapshot.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using expr::Value;

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kT0 = 1700000000LL * 1000000;

class OnlineStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "online-store-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/online";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string Path(const std::string& project, const std::string& view) const {
    return dir_ + "/" + project + "/" + view + ".online";
  }

  std::string root_;
  std::string dir_;
};

// An online table with every column type; row 1 ("b") has nulls in every feature and a null
// event_time, row 2 ("c") has values again.
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

// prefix + n in decimal. (Not `"e" + std::to_string(n)`, on which GCC 12 warns wrongly.)
std::string Prefixed(const char* prefix, int64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

// `entities` rows "e0".."e<n-1>" whose every feature says `version`: int64 "i", float64 "f",
// string "s" ("v<version>"), bool "b" (version is odd), timestamp "t". A reader that sees features
// of one row from different versions sees a torn state.
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

std::string ReadBytes(const std::string& path) {
  StatusOr<std::string> bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

// Replaces `path` the way a writer would (temp file + rename), so a store holding the old file
// sees a new one; without fsync, which would make the byte-by-byte tests slow.
void ReplaceFile(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good());
  }
  fs::rename(tmp, path);
}

void ExpectSameView(const OnlineView& got, const OnlineView& want) {
  EXPECT_EQ(got.project, want.project);
  EXPECT_EQ(got.view, want.view);
  EXPECT_EQ(got.view_version, want.view_version);
  EXPECT_EQ(got.until, want.until);
  EXPECT_EQ(got.materialized_at, want.materialized_at);
  EXPECT_TRUE(got.values == want.values);
}

TEST_F(OnlineStoreTest, WriteThenReadRoundTripsEveryTypeAndNulls) {
  LocalOnlineStore store(dir_);
  OnlineView want = MakeView("bank", "customer", EveryTypeTable());
  ASSERT_TRUE(store.Write(want).ok());

  auto got = store.Read("bank", "customer");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_NE(*got, nullptr);
  ExpectSameView(**got, want);
  EXPECT_EQ((*got)->index.size(), 3u);
  EXPECT_EQ((*got)->index.at("a"), 0u);
  EXPECT_EQ((*got)->index.at("b"), 1u);
  EXPECT_EQ((*got)->index.at("c"), 2u);
  EXPECT_TRUE(fs::is_regular_file(Path("bank", "customer")));
}

TEST_F(OnlineStoreTest, ANewStoreOnTheSameFolderReadsWhatTheFirstWrote) {
  OnlineView want = MakeView("bank", "customer", EveryTypeTable());
  {
    LocalOnlineStore writer(dir_);
    ASSERT_TRUE(writer.Write(want).ok());
  }
  LocalOnlineStore reader(dir_);
  auto got = reader.Read("bank", "customer");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_NE(*got, nullptr);
  ExpectSameView(**got, want);
  EXPECT_EQ((*got)->index.size(), 3u);
  // Loaded views have their string features boxed like written ones.
  ASSERT_EQ((*got)->string_values.size(), 7u);
  EXPECT_TRUE((*got)->string_values[0].empty());  // entity: a key, not a feature
  ASSERT_EQ((*got)->string_values[5].size(), 2u);
  EXPECT_EQ((*got)->string_values[5][0].string_value(), "FR");
}

TEST_F(OnlineStoreTest, FileIsAHeaderLineThenTheTableSnapshot) {
  LocalOnlineStore store(dir_);
  OnlineView view = MakeView("bank", "customer", EveryTypeTable());
  ASSERT_TRUE(store.Write(view).ok());
  std::string bytes = ReadBytes(Path("bank", "customer"));
  size_t newline = bytes.find('\n');
  ASSERT_NE(newline, std::string::npos);
  auto header = ParseJson(bytes.substr(0, newline));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ((*header)["schema"], "plinth.online_view");
  EXPECT_EQ((*header)["schema_version"], 1);
  EXPECT_EQ((*header)["project"], "bank");
  EXPECT_EQ((*header)["view"], "customer");
  EXPECT_EQ((*header)["view_version"], view.view_version);
  EXPECT_EQ((*header)["until"], view.until);
  EXPECT_EQ((*header)["materialized_at"], view.materialized_at);
  EXPECT_EQ((*header)["rows"], 3);
  std::string snapshot = bytes.substr(newline + 1);
  EXPECT_EQ(snapshot, TableToSnapshot(view.values));
  EXPECT_EQ((*header)["snapshot_sha256"], Sha256Digest(snapshot));
  // header_sha256 covers the canonical JSON of every other member.
  Json rest = *header;
  rest.erase("header_sha256");
  auto canonical = CanonicalJson(rest);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ((*header)["header_sha256"], Sha256Digest(*canonical));
  // The header line is itself canonical JSON.
  auto line = CanonicalJson(*header);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, bytes.substr(0, newline));
  EXPECT_EQ(fs::status(Path("bank", "customer")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(OnlineStoreTest, EncodingIsTheFileAndDecodesBack) {
  LocalOnlineStore store(dir_);
  OnlineView view = MakeView("bank", "customer", EveryTypeTable());
  ASSERT_TRUE(store.Write(view).ok());
  std::string digest;
  auto encoded = EncodeOnlineView(view, &digest);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(*encoded, ReadBytes(Path("bank", "customer")));
  auto header = ParseJson(encoded->substr(0, encoded->find('\n')));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ((*header)["header_sha256"], digest);

  const std::string version = digest.substr(7);
  auto decoded = DecodeOnlineView(*encoded, "the bytes", "bank", "customer", version);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectSameView(**decoded, view);
  EXPECT_EQ((*decoded)->index.size(), 3u);
  EXPECT_EQ((*decoded)->string_values.size(), view.values.num_columns());

  auto expect_data_loss = [&](StatusOr<std::shared_ptr<const OnlineView>> got,
                              const std::string& why) {
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    EXPECT_NE(got.status().message().find("the bytes is unreadable: " + why), std::string::npos)
        << got.status();
  };
  expect_data_loss(DecodeOnlineView(*encoded, "the bytes", "bank", "other"),
                   "header names view \"bank/customer\"");
  expect_data_loss(
      DecodeOnlineView(*encoded, "the bytes", "bank", "customer", std::string(64, 'a')),
      "the value is not version " + std::string(64, 'a'));
  expect_data_loss(
      DecodeOnlineView(encoded->substr(0, encoded->size() - 1), "the bytes", "bank", "customer"),
      "snapshot checksum mismatch");

  EXPECT_TRUE(ValidateOnlineNames("bank", "customer.v2").ok());
  Status bad = ValidateOnlineNames("bank", "a:b");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("invalid view name \"a:b\""), std::string::npos) << bad;
  bad = ValidateOnlineNames("..", "a:b");
  EXPECT_NE(bad.message().find("invalid project name"), std::string::npos) << bad;
}

TEST_F(OnlineStoreTest, NeverMaterializedViewReadsAsNull) {
  LocalOnlineStore store(dir_);
  auto got = store.Read("bank", "customer");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, nullptr);
}

TEST_F(OnlineStoreTest, HeldStateStaysValidAfterAnotherWrite) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(3, 1))).ok());
  auto first = store.Read("p", "v");
  ASSERT_TRUE(first.ok() && *first != nullptr);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(4, 2))).ok());
  auto second = store.Read("p", "v");
  ASSERT_TRUE(second.ok() && *second != nullptr);
  EXPECT_TRUE((*first)->values == VersionedTable(3, 1));
  EXPECT_TRUE((*second)->values == VersionedTable(4, 2));
  // Unchanged file: the same state again, not a reload.
  auto third = store.Read("p", "v");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->get(), second->get());
}

TEST_F(OnlineStoreTest, ReloadsWhenAnotherStoreWrites) {
  LocalOnlineStore writer(dir_);
  LocalOnlineStore reader(dir_);
  // Same-sized files, written back to back: the change must be seen even when the file's mtime
  // does not move (coarse kernel timestamps) and the file system would reuse inode numbers.
  // Two writes between reads: the second file could otherwise get the inode number of the one
  // the reader loaded, freed by the first write.
  for (int64_t version = 1; version <= 60; ++version) {
    ASSERT_TRUE(writer.Write(MakeView("p", "v", VersionedTable(50, version), kT0 + version)).ok());
    if (version % 2 == 1) continue;
    auto got = reader.Read("p", "v");
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_NE(*got, nullptr);
    ASSERT_EQ((*got)->materialized_at, kT0 + version);
    ASSERT_TRUE((*got)->values == VersionedTable(50, version)) << version;
  }
  // A deleted file: the view is no longer materialized.
  fs::remove(Path("p", "v"));
  auto gone = reader.Read("p", "v");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, nullptr);
}

TEST_F(OnlineStoreTest, CorruptedFileIsDataLossAndNeverServed) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(20, 1))).ok());
  const std::string path = Path("p", "v");
  const std::string good = ReadBytes(path);
  const size_t newline = good.find('\n');
  ASSERT_TRUE(store.Read("p", "v").ok());

  // Every byte of the header and a spread of the snapshot's: each flip is caught.
  std::vector<size_t> positions;
  for (size_t i = 0; i <= newline; ++i) positions.push_back(i);
  for (size_t i = newline + 1; i < good.size(); i += 7) positions.push_back(i);
  positions.push_back(good.size() - 1);
  for (size_t pos : positions) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    ReplaceFile(path, bad);
    // The store that had loaded the good file does not keep serving it.
    auto got = store.Read("p", "v");
    ASSERT_FALSE(got.ok()) << "flipped byte " << pos;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status();
    // Nor does a fresh one, nor a lookup.
    LocalOnlineStore fresh(dir_);
    auto again = fresh.Read("p", "v");
    ASSERT_FALSE(again.ok()) << "flipped byte " << pos;
    EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss);
  }
  auto lookup = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
  EXPECT_EQ(lookup.status().code(), absl::StatusCode::kDataLoss);

  // A good file again is served again.
  ReplaceFile(path, good);
  auto got = store.Read("p", "v");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)->values == VersionedTable(20, 1));
}

TEST_F(OnlineStoreTest, MalformedFilesAreDataLoss) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(5, 1))).ok());
  const std::string good = ReadBytes(Path("p", "v"));
  const size_t newline = good.find('\n');
  const std::string snapshot = good.substr(newline + 1);
  auto header = ParseJson(good.substr(0, newline));
  ASSERT_TRUE(header.ok());
  // A header re-signed after a change, so that only the check named fails.
  auto resigned = [&](const std::function<void(Json*)>& change, const std::string& body) {
    Json h = *header;
    h.erase("header_sha256");
    change(&h);
    h["header_sha256"] = Sha256Digest(*CanonicalJson(h));
    return *CanonicalJson(h) + "\n" + body;
  };
  Table duplicate = VersionedTable(2, 1);
  std::vector<std::string> cases = {
      "",
      "no newline",
      "{}\n",
      good.substr(0, newline + 1),      // snapshot missing
      good.substr(0, good.size() - 1),  // truncated
      good + "x",                       // trailing byte
      std::string(70000, 'x') + "\n",   // no header within the first 64 KiB
      resigned([](Json* h) { (*h)["schema_version"] = 2; }, snapshot),
      resigned([](Json* h) { (*h)["schema"] = "plinth.other"; }, snapshot),
      resigned([](Json* h) { (*h)["rows"] = 6; }, snapshot),
      resigned([](Json* h) { (*h)["view"] = "w"; }, snapshot),  // another view's file
      resigned([](Json* h) { h->erase("until"); }, snapshot),
      resigned([](Json* h) { (*h)["until"] = "soon"; }, snapshot),
      resigned(
          [&](Json* h) {
            (*h)["snapshot_sha256"] = Sha256Digest(TableToSnapshot(Table()));
            (*h)["rows"] = 0;
          },
          TableToSnapshot(Table())),  // a valid snapshot without the key columns
  };
  {
    // A valid snapshot with a duplicate entity key.
    Column entity(kOnlineEntityColumn, ColumnType::kString);
    Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
    for (int i = 0; i < 2; ++i) {
      entity.AppendString("same");
      event_time.AppendInt64(kT0);
    }
    Table t;
    ASSERT_TRUE(t.AddColumn(std::move(entity)).ok());
    ASSERT_TRUE(t.AddColumn(std::move(event_time)).ok());
    std::string s = TableToSnapshot(t);
    cases.push_back(resigned(
        [&](Json* h) {
          (*h)["snapshot_sha256"] = Sha256Digest(s);
          (*h)["rows"] = 2;
        },
        s));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    ReplaceFile(Path("p", "v"), cases[i]);
    auto got = store.Read("p", "v");
    ASSERT_FALSE(got.ok()) << "case " << i;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss)
        << "case " << i << ": " << got.status();
  }
  // Served again once whole: the re-signing helper itself is sound.
  ReplaceFile(Path("p", "v"), resigned([](Json*) {}, snapshot));
  auto got = store.Read("p", "v");
  EXPECT_TRUE(got.ok() && *got != nullptr) << got.status();

  // A folder where the file should be.
  ASSERT_TRUE(fs::create_directories(Path("p", "dir")));
  auto dir = store.Read("p", "dir");
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kDataLoss) << dir.status();
}

// Lowers the process's file-size limit for its lifetime: writes past it fail with EFBIG (root is
// subject to it too, unlike permissions).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  struct rlimit saved_;
};

TEST_F(OnlineStoreTest, FailedWriteLeavesThePreviousStateReadable) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(10, 1))).ok());
  const std::string before = ReadBytes(Path("p", "v"));
  {
    FileSizeLimit limit(before.size() + 100);
    Status s = store.Write(MakeView("p", "v", VersionedTable(1000, 2)));
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  }
  auto got = store.Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
  EXPECT_TRUE((*got)->values == VersionedTable(10, 1));
  EXPECT_EQ(ReadBytes(Path("p", "v")), before);
  LocalOnlineStore fresh(dir_);
  got = fresh.Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
  EXPECT_TRUE((*got)->values == VersionedTable(10, 1));
  // No temp file left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ + "/p")) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);

  // An invalid table changes nothing either.
  Status s = store.Write(MakeView("p", "v", Table()));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  got = store.Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr);
  EXPECT_TRUE((*got)->values == VersionedTable(10, 1));
}

TEST_F(OnlineStoreTest, WriteFailsWhereTheFileCannotBe) {
  LocalOnlineStore store(dir_);
  // A folder where the file should go.
  ASSERT_TRUE(fs::create_directories(Path("p", "v")));
  EXPECT_FALSE(store.Write(MakeView("p", "v", VersionedTable(3, 1))).ok());
  EXPECT_TRUE(fs::is_directory(Path("p", "v")));
  // A file where the project's folder should go.
  std::ofstream(dir_ + "/q") << "not a folder";
  EXPECT_FALSE(store.Write(MakeView("q", "v", VersionedTable(3, 1))).ok());
  auto got = store.Read("q", "v");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, nullptr);
}

TEST_F(OnlineStoreTest, RejectsTablesWithoutUsableKeys) {
  LocalOnlineStore store(dir_);
  auto expect_invalid = [&](Table t, const std::string& needle) {
    Status s = store.Write(MakeView("p", "v", std::move(t)));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s;
  };
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
    expect_invalid(std::move(dup), "duplicate entity key \"x\" (rows 0 and 2)");
  }
  {
    Column entity(kOnlineEntityColumn, ColumnType::kString);
    Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
    entity.AppendString("x");
    entity.AppendNull();
    event_time.AppendInt64(kT0);
    event_time.AppendInt64(kT0);
    Table t;
    ASSERT_TRUE(t.AddColumn(std::move(entity)).ok());
    ASSERT_TRUE(t.AddColumn(std::move(event_time)).ok());
    expect_invalid(std::move(t), "null entity key at row 1");
  }
  {
    Table t;
    Column event_time(kOnlineEventTimeColumn, ColumnType::kTimestamp);
    ASSERT_TRUE(t.AddColumn(std::move(event_time)).ok());
    expect_invalid(std::move(t), "lacks the \"entity\" column");
  }
  {
    Table t;
    ASSERT_TRUE(t.AddColumn(Column(kOnlineEntityColumn, ColumnType::kString)).ok());
    expect_invalid(std::move(t), "lacks the \"event_time\" column");
  }
  {
    Table t;
    ASSERT_TRUE(t.AddColumn(Column(kOnlineEntityColumn, ColumnType::kInt64)).ok());
    ASSERT_TRUE(t.AddColumn(Column(kOnlineEventTimeColumn, ColumnType::kTimestamp)).ok());
    expect_invalid(std::move(t), "must be string");
  }
  {
    Table t;
    ASSERT_TRUE(t.AddColumn(Column(kOnlineEntityColumn, ColumnType::kString)).ok());
    ASSERT_TRUE(t.AddColumn(Column(kOnlineEventTimeColumn, ColumnType::kInt64)).ok());
    expect_invalid(std::move(t), "must be timestamp");
  }
  {
    OnlineView v = MakeView("p", "v", VersionedTable(1, 1));
    v.view_version = std::string("\xff\xfe", 2);
    EXPECT_EQ(store.Write(std::move(v)).code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_FALSE(fs::exists(Path("p", "v")));
  // An empty online table (no entity has values yet) is fine.
  Table empty;
  ASSERT_TRUE(empty.AddColumn(Column(kOnlineEntityColumn, ColumnType::kString)).ok());
  ASSERT_TRUE(empty.AddColumn(Column(kOnlineEventTimeColumn, ColumnType::kTimestamp)).ok());
  ASSERT_TRUE(empty.AddColumn(Column("f", ColumnType::kFloat64)).ok());
  ASSERT_TRUE(store.Write(MakeView("p", "v", empty)).ok());
  LocalOnlineStore fresh(dir_);
  auto got = fresh.Read("p", "v");
  ASSERT_TRUE(got.ok() && *got != nullptr) << got.status();
  EXPECT_EQ((*got)->values.num_rows(), 0u);
}

TEST_F(OnlineStoreTest, RejectsBadNames) {
  LocalOnlineStore store(dir_);
  for (const std::string& bad :
       {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
        std::string("../x"), std::string("a..b"), std::string(".hidden"), std::string("a b"),
        std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string(129, 'a'),
        std::string("a\\b")}) {
    EXPECT_EQ(store.Write(MakeView(bad, "v", VersionedTable(1, 1))).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(store.Write(MakeView("p", bad, VersionedTable(1, 1))).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(store.Read(bad, "v").status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(store.Read("p", bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(fs::exists(root_ + "/x.online"));
  for (const std::string& good :
       {std::string("a"), std::string("A-b_c.1"), std::string("v2.0"), std::string(128, 'z')}) {
    EXPECT_TRUE(store.Write(MakeView(good, good, VersionedTable(1, 1))).ok()) << good;
    auto got = store.Read(good, good);
    EXPECT_TRUE(got.ok() && *got != nullptr) << good;
  }
}

TEST_F(OnlineStoreTest, LookupReturnsFeaturesInTheOrderAsked) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("bank", "customer", EveryTypeTable())).ok());
  auto lookup = FeatureLookup::Create(&store, "bank",
                                      {{"customer", "country"},
                                       {"customer", "txn_count"},
                                       {"customer", "last_seen"},
                                       {"customer", "flagged"},
                                       {"customer", "last_amount"},
                                       {"customer", "txn_count"}});
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->views(), std::vector<std::string>({"customer"}));
  std::vector<Value> out;
  lookup->Get("a", &out);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[0].string_value(), "FR");
  EXPECT_EQ(out[1].int_value(), 3);
  EXPECT_EQ(out[2].kind(), Value::Kind::kTimestamp);
  EXPECT_EQ(out[2].timestamp_micros(), kT0 - kDay);
  EXPECT_EQ(out[3].kind(), Value::Kind::kBool);
  EXPECT_TRUE(out[3].bool_value());
  EXPECT_EQ(out[4].double_value(), 12.5);
  EXPECT_EQ(out[5].int_value(), 3);

  // Null cells are nulls; the same vector is reused.
  lookup->Get("b", &out);
  ASSERT_EQ(out.size(), 6u);
  for (const Value& v : out) EXPECT_TRUE(v.is_null()) << v.DebugString();

  lookup->Get("c", &out);
  EXPECT_EQ(out[0].string_value(), "a longer string than the small-string buffer");
  EXPECT_EQ(out[1].int_value(), -7);
  EXPECT_FALSE(out[3].bool_value());
  EXPECT_EQ(out[4].double_value(), -0.25);

  // Each value is what CellValue boxes for that cell.
  const Table& t = (*store.Read("bank", "customer"))->values;
  for (size_t row = 0; row < 3; ++row) {
    lookup->Get(t.Find(kOnlineEntityColumn)->StringAt(row), &out);
    EXPECT_TRUE(expr::ValuesEqual(out[0], expr::CellValue(*t.Find("country"), row)) ||
                (out[0].is_null() && t.Find("country")->IsNull(row)));
    EXPECT_EQ(out[2].DebugString(), expr::CellValue(*t.Find("last_seen"), row).DebugString());
  }

  // An unknown entity gets nulls, whatever the vector held.
  std::vector<Value> longer(10, Value::Int(1));
  lookup->Get("nobody", &longer);
  ASSERT_EQ(longer.size(), 6u);
  for (const Value& v : longer) EXPECT_TRUE(v.is_null());
}

TEST_F(OnlineStoreTest, LookupErrors) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("bank", "customer", EveryTypeTable())).ok());

  auto never = FeatureLookup::Create(&store, "bank", {{"customer", "country"}, {"merchant", "x"}});
  EXPECT_EQ(never.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(never.status().message().find("bank/merchant"), std::string::npos) << never.status();

  auto missing = FeatureLookup::Create(&store, "bank", {{"customer", "gone"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("customer:gone"), std::string::npos)
      << missing.status();

  // The key columns are not features.
  for (const char* key : {kOnlineEntityColumn, kOnlineEventTimeColumn}) {
    auto s = FeatureLookup::Create(&store, "bank", {{"customer", key}});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
  auto bad_project = FeatureLookup::Create(&store, "../bank", {{"customer", "country"}});
  EXPECT_EQ(bad_project.status().code(), absl::StatusCode::kInvalidArgument);

  // No features: nothing to look up, no error.
  auto none = FeatureLookup::Create(&store, "bank", {});
  ASSERT_TRUE(none.ok());
  std::vector<Value> out(3);
  none->Get("a", &out);
  EXPECT_TRUE(out.empty());
}

// Two views keyed by different entities, as in a service over customer and merchant features.
TEST_F(OnlineStoreTest, LookupAcrossViewsTakesOneKeyPerView) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("bank", "customer", VersionedTable(3, 1))).ok());
  ASSERT_TRUE(store.Write(MakeView("bank", "merchant", VersionedTable(5, 2))).ok());
  auto lookup = FeatureLookup::Create(
      &store, "bank", {{"merchant", "i"}, {"customer", "i"}, {"merchant", "s"}, {"customer", "f"}});
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  EXPECT_EQ(lookup->views(), std::vector<std::string>({"merchant", "customer"}));

  std::vector<Value> out;
  lookup->Get(std::vector<std::string_view>{"e4", "e2"}, &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].int_value(), 2);
  EXPECT_EQ(out[1].int_value(), 1);
  EXPECT_EQ(out[2].string_value(), "v2");
  EXPECT_EQ(out[3].double_value(), 1.0);

  // e4 is only a merchant: the customer's features are null.
  lookup->Get(std::vector<std::string_view>{"e4", "e4"}, &out);
  EXPECT_EQ(out[0].int_value(), 2);
  EXPECT_TRUE(out[1].is_null());
  EXPECT_EQ(out[2].string_value(), "v2");
  EXPECT_TRUE(out[3].is_null());

  // Missing keys count as unknown entities.
  lookup->Get(std::vector<std::string_view>{"e0"}, &out);
  EXPECT_EQ(out[0].int_value(), 2);
  EXPECT_TRUE(out[1].is_null());

  // One key for every view.
  lookup->Get("e1", &out);
  EXPECT_EQ(out[0].int_value(), 2);
  EXPECT_EQ(out[1].int_value(), 1);
}

TEST_F(OnlineStoreTest, LookupOverManyViews) {
  LocalOnlineStore store(dir_);
  std::vector<FeatureRef> features;
  for (int v = 0; v < 12; ++v) {
    std::string name = Prefixed("view", v);
    ASSERT_TRUE(store.Write(MakeView("p", name, VersionedTable(v + 1, v))).ok());
    features.push_back({name, "i"});
  }
  auto lookup = FeatureLookup::Create(&store, "p", features);
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  std::vector<Value> out;
  lookup->Get("e5", &out);
  ASSERT_EQ(out.size(), 12u);
  for (int v = 0; v < 12; ++v) {
    if (v < 5) {
      EXPECT_TRUE(out[v].is_null()) << v;
    } else {
      EXPECT_EQ(out[v].int_value(), v);
    }
  }
}

TEST_F(OnlineStoreTest, RefreshSeesNewMaterializations) {
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(3, 1))).ok());
  auto lookup = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  std::vector<Value> out;
  lookup->Get("e0", &out);
  EXPECT_EQ(VersionOf(out), 1);

  // Written by another store instance (another process): seen on Refresh only.
  LocalOnlineStore other(dir_);
  ASSERT_TRUE(other.Write(MakeView("p", "v", VersionedTable(4, 2))).ok());
  lookup->Get("e3", &out);
  EXPECT_TRUE(out[0].is_null());
  ASSERT_TRUE(lookup->Refresh().ok());
  lookup->Get("e3", &out);
  EXPECT_EQ(VersionOf(out), 2);

  // A failed Refresh keeps the lookup serving what it had.
  ReplaceFile(Path("p", "v"), "garbage");
  EXPECT_EQ(lookup->Refresh().code(), absl::StatusCode::kDataLoss);
  lookup->Get("e3", &out);
  EXPECT_EQ(VersionOf(out), 2);
  // So does a view whose new values lack a feature.
  Table narrower = VersionedTable(2, 3);
  narrower.mutable_columns().pop_back();
  ASSERT_TRUE(store.Write(MakeView("p", "v", std::move(narrower))).ok());
  EXPECT_EQ(lookup->Refresh().code(), absl::StatusCode::kInvalidArgument);
  lookup->Get("e3", &out);
  EXPECT_EQ(VersionOf(out), 2);
}

// An OnlineStore that hands out views without string_values, as another implementation might.
class BareStore : public OnlineStore {
 public:
  Status Write(OnlineView view) override {
    for (size_t row = 0; row < view.values.num_rows(); ++row) {
      view.index[std::string(view.values.Find(kOnlineEntityColumn)->StringAt(row))] =
          static_cast<uint32_t>(row);
    }
    state_ = std::make_shared<OnlineView>(std::move(view));
    return absl::OkStatus();
  }
  StatusOr<std::shared_ptr<const OnlineView>> Read(const std::string&,
                                                   const std::string&) override {
    return state_;
  }

 private:
  std::shared_ptr<const OnlineView> state_;
};

TEST_F(OnlineStoreTest, LookupBoxesStringsItselfWhenTheStoreDidNot) {
  BareStore store;
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(3, 7))).ok());
  auto lookup = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
  ASSERT_TRUE(lookup.ok()) << lookup.status();
  std::vector<Value> out;
  lookup->Get("e2", &out);
  EXPECT_EQ(VersionOf(out), 7);
}

// Readers on several threads, through shared and per-thread lookups and through a second store on
// the same folder, while a writer materializes new versions: every row read is whole (all its
// features from one version) and versions never go backwards for a reader.
TEST_F(OnlineStoreTest, ConcurrentGetsWhileWriting) {
  constexpr int kEntities = 200;
  constexpr int64_t kVersions = 40;
  LocalOnlineStore store(dir_);
  ASSERT_TRUE(store.Write(MakeView("p", "v", VersionedTable(kEntities, 1), kT0 + 1)).ok());
  auto shared = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
  ASSERT_TRUE(shared.ok()) << shared.status();

  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      auto own = FeatureLookup::Create(&store, "p", VersionedFeatures("v"));
      if (!own.ok()) {
        ++failures;
        return;
      }
      std::mt19937 rng(r);
      std::vector<Value> out;
      int64_t last = 0;
      for (int64_t n = 0; !done.load() || n < 100; ++n) {
        std::string key = Prefixed("e", rng() % kEntities);
        shared->Get(key, &out);
        if (VersionOf(out) != 1) ++failures;  // never refreshed
        own->Get(key, &out);
        int64_t v = VersionOf(out);
        if (v < last) ++failures;
        last = v;
        if (n % 16 == 0 && !own->Refresh().ok()) ++failures;
        ++reads;
      }
    });
  }
  threads.emplace_back([&] {
    LocalOnlineStore other(dir_);
    int64_t last = 0;
    while (!done.load()) {
      auto got = other.Read("p", "v");
      if (!got.ok() || *got == nullptr) {
        ++failures;
        continue;
      }
      const OnlineView& view = **got;
      int64_t v = view.materialized_at - kT0;
      if (v < last || !(view.values == VersionedTable(kEntities, v))) ++failures;
      last = v;
    }
  });
  for (int64_t version = 2; version <= kVersions; ++version) {
    ASSERT_TRUE(
        store.Write(MakeView("p", "v", VersionedTable(kEntities, version), kT0 + version)).ok());
  }
  done = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  std::vector<Value> out;
  ASSERT_TRUE(shared->Refresh().ok());
  shared->Get("e0", &out);
  EXPECT_EQ(VersionOf(out), kVersions);
}

}  // namespace
}  // namespace plinth
