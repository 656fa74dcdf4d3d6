#include "serve/decision_log.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/json.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1764169445123456;  // 2025-11-26T15:04:05.123456Z
constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

// A record of about 600 bytes, as the server writes for a credit application.
DecisionRecord MakeRecord(const std::string& id, int64_t time) {
  DecisionRecord r;
  r.id = id;
  r.time = time;
  r.environment = "production";
  r.model = "credit-risk";
  r.version = 7;
  r.model_digest = "sha256:5f1d3c0a9e8b7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e";
  r.input_digest = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
  r.inputs = {{"loan_amnt", 12000},
              {"term", "36 months"},
              {"int_rate", 11.5},
              {"installment", 395.21},
              {"grade", "B"},
              {"emp_length", 5},
              {"home_ownership", "RENT"},
              {"annual_inc", 55000.0},
              {"purpose", "debt_consolidation"},
              {"dti", 18.3},
              {"delinq_2yrs", 0},
              {"open_acc", 9},
              {"revol_util", 45.2},
              {"total_acc", 22}};
  r.output = {{"score", 0.1234}, {"decision", "approve"}};
  r.reasons = Json::array({{{"code", "R01"}, {"feature", "dti"}, {"contribution", 0.121}},
                           {{"code", "R07"}, {"feature", "revol_util"}, {"contribution", 0.052}}});
  r.latency_us = 41.5;
  r.route = "primary";
  return r;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name[0] != '.') out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Segment files still open for appending (or left open by a crash): no time bounds in the name.
std::vector<std::string> OpenSegments(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& name : Names(dir)) {
    if (name.starts_with("decisions-") && std::count(name.begin(), name.end(), '-') == 2) {
      out.push_back(name);
    }
  }
  return out;
}

std::vector<std::string> ClosedSegments(const std::string& dir) {
  std::vector<std::string> out;
  for (const std::string& name : Names(dir)) {
    if (name.starts_with("decisions-") && std::count(name.begin(), name.end(), '-') == 4) {
      out.push_back(name);
    }
  }
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& data, bool append = false) {
  std::ofstream out(path, std::ios::binary | (append ? std::ios::app : std::ios::trunc));
  out << data;
}

std::vector<DecisionRecord> ExportAll(const std::string& dir, DecisionReadStats* stats = nullptr,
                                      int64_t from = 0, int64_t to = kForever) {
  std::vector<DecisionRecord> out;
  Status s = ExportDecisions(
      dir, from, to,
      [&](const DecisionRecord& r) {
        out.push_back(r);
        return absl::OkStatus();
      },
      stats);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

class DecisionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "decision-log-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/decisions";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  DecisionLogOptions Options(Clock* clock = SystemClock()) const {
    DecisionLogOptions options;
    options.dir = dir_;
    options.clock = clock;
    return options;
  }

  std::unique_ptr<DecisionLog> OpenLog(DecisionLogOptions options) {
    auto log = DecisionLog::Open(std::move(options));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(log).value() : nullptr;
  }

  std::string root_;
  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// The record format.

TEST(DecisionRecordJson, RoundTripsEveryField) {
  DecisionRecord r = MakeRecord("req-\xc3\xa9t\xc3\xa9 \"q\"\n#3", kT0);
  r.environment = "edge";
  r.version = 123456789012;
  r.inputs["note"] = "tab\there, nul \u0001 and \\ too";
  r.latency_us = 1234.0625;
  r.route = "canary";

  Json json = DecisionRecordToJson(r);
  EXPECT_EQ(json["id"], r.id);
  EXPECT_EQ(json["time"], "2025-11-26T15:04:05.123456Z");
  EXPECT_EQ(json["environment"], "edge");
  EXPECT_EQ(json["model"], "credit-risk");
  EXPECT_EQ(json["version"], 123456789012);
  EXPECT_EQ(json["model_digest"], r.model_digest);
  EXPECT_EQ(json["input_digest"], r.input_digest);
  EXPECT_EQ(json["inputs"], r.inputs);
  EXPECT_EQ(json["output"], r.output);
  EXPECT_EQ(json["reasons"], r.reasons);
  EXPECT_EQ(json["latency_us"], 1234.0625);
  EXPECT_EQ(json["route"], "canary");
  EXPECT_EQ(json.size(), 12u);

  auto back = DecisionRecordFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);

  // The segment line: one line, id and time first, the same JSON.
  auto line = DecisionRecordLine(r);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(std::count(line->begin(), line->end(), '\n'), 1);
  EXPECT_EQ(line->back(), '\n');
  EXPECT_EQ(line->find('\0'), std::string::npos);
  EXPECT_TRUE(
      line->starts_with("{\"id\":\"req-\xc3\xa9t\xc3\xa9 \\\"q\\\"\\n#3\","
                        "\"time\":\"2025-11-26T15:04:05.123456Z\",\"environment\":"))
      << *line;
  auto parsed = ParseJson(*line);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, json);

  // Null inputs and reasons (the server configured not to keep them).
  r.inputs = nullptr;
  r.reasons = nullptr;
  back = DecisionRecordFromJson(DecisionRecordToJson(r));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
}

TEST(DecisionRecordJson, ErrorsNameTheMember) {
  Json good = DecisionRecordToJson(MakeRecord("a", kT0));
  ASSERT_TRUE(DecisionRecordFromJson(good).ok());
  EXPECT_FALSE(DecisionRecordFromJson(Json::array()).ok());
  for (const char* key : {"id", "time", "environment", "model", "version", "model_digest",
                          "input_digest", "inputs", "output", "reasons", "latency_us", "route"}) {
    Json missing = good;
    missing.erase(key);
    auto r = DecisionRecordFromJson(missing);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(key), std::string::npos) << r.status();
  }
  Json bad = good;
  bad["version"] = "7";
  EXPECT_NE(DecisionRecordFromJson(bad).status().message().find("version"), std::string::npos);
  bad = good;
  bad["time"] = "yesterday";
  EXPECT_NE(DecisionRecordFromJson(bad).status().message().find("time"), std::string::npos);
  bad = good;
  bad["latency_us"] = "fast";
  EXPECT_NE(DecisionRecordFromJson(bad).status().message().find("latency_us"), std::string::npos);
  bad = good;
  bad["route"] = 1;
  EXPECT_NE(DecisionRecordFromJson(bad).status().message().find("route"), std::string::npos);
}

TEST(DecisionRecordJson, RefusesRecordsThatCouldNotBeReadBack) {
  DecisionRecord r = MakeRecord("a", kT0);
  ASSERT_TRUE(DecisionRecordLine(r).ok());
  DecisionRecord bad = r;
  bad.id = "";
  EXPECT_EQ(DecisionRecordLine(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = r;
  bad.time = -1;
  EXPECT_EQ(DecisionRecordLine(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = r;
  bad.output["score"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(DecisionRecordLine(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = r;
  bad.latency_us = std::numeric_limits<double>::infinity();
  EXPECT_EQ(DecisionRecordLine(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Writing and reading back.

TEST_F(DecisionLogTest, RecordsAreReadableWhileWrittenAndAfterReopen) {
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(fs::status(dir_).permissions() & fs::perms::all, fs::perms::owner_all);
  std::vector<DecisionRecord> records;
  for (int i = 0; i < 3; ++i) records.push_back(MakeRecord("req-" + std::to_string(i), kT0 + i));
  for (const auto& r : records) ASSERT_TRUE(log->Append(r).ok());
  ASSERT_TRUE(log->Sync().ok());

  // Readable by another reader while the log is open.
  for (const auto& r : records) {
    auto found = FindDecision(dir_, r.id);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value()) << r.id;
    EXPECT_EQ(**found, r);
  }
  EXPECT_EQ(ExportAll(dir_), records);
  ASSERT_EQ(OpenSegments(dir_).size(), 1u);
  EXPECT_EQ(fs::file_size(dir_ + "/" + OpenSegments(dir_)[0]), uint64_t{64} << 20);

  DecisionLog::Stats stats = log->stats();
  EXPECT_EQ(stats.appended, 3u);
  EXPECT_EQ(stats.segments, 1u);
  ASSERT_TRUE(log->Close().ok());

  // Closed: truncated to exactly its records, named with their time bounds.
  ASSERT_TRUE(OpenSegments(dir_).empty());
  std::vector<std::string> closed = ClosedSegments(dir_);
  ASSERT_EQ(closed.size(), 1u);
  std::string contents = ReadAll(dir_ + "/" + closed[0]);
  EXPECT_EQ(contents.size(), stats.bytes);
  std::string expected;
  for (const auto& r : records) expected += *DecisionRecordLine(r);
  EXPECT_EQ(contents, expected);
  EXPECT_TRUE(closed[0].ends_with("-000" + std::to_string(kT0) + "-000" + std::to_string(kT0 + 2) +
                                  ".jsonl"))
      << closed[0];
  EXPECT_EQ(fs::status(dir_ + "/" + closed[0]).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // Reopened: a new segment; old and new records are all there.
  log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(OpenSegments(dir_).size(), 1u);
  for (int i = 3; i < 5; ++i) {
    records.push_back(MakeRecord("req-" + std::to_string(i), kT0 + i));
    ASSERT_TRUE(log->Append(records.back()).ok());
  }
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(ClosedSegments(dir_).size(), 2u);
  EXPECT_EQ(ExportAll(dir_), records);
}

TEST_F(DecisionLogTest, CloseIsIdempotentAndAnEmptySegmentLeavesNothing) {
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->Close().ok());
  EXPECT_TRUE(log->Close().ok());
  EXPECT_TRUE(Names(dir_).empty());
  Status s = log->Append(MakeRecord("late", kT0));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST_F(DecisionLogTest, ASecondWriterOfTheFolderIsRefused) {
  auto first = OpenLog(Options());
  ASSERT_NE(first, nullptr);
  auto second = DecisionLog::Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  ASSERT_TRUE(first->Close().ok());
  auto third = DecisionLog::Open(Options());
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST_F(DecisionLogTest, BadOptionsAreRefused) {
  DecisionLogOptions options = Options();
  options.segment_bytes = 100;
  EXPECT_EQ(DecisionLog::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.dir = "";
  EXPECT_EQ(DecisionLog::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
  options = Options();
  options.retention_micros = 0;
  EXPECT_EQ(DecisionLog::Open(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DecisionLogTest, ManyThreadsAppendAtOnce) {
  DecisionLogOptions options = Options();
  options.segment_bytes = 64 << 10;  // about 100 records: many rotations under contention
  options.sync_interval_micros = 2000;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1500;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Times interleave across threads, as requests do.
        DecisionRecord r =
            MakeRecord(absl::StrCat("t", t, "-", i), kT0 + int64_t{i} * kThreads + t);
        r.inputs["row"] = i;
        if (!log->Append(r).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(log->stats().appended, uint64_t{kThreads} * kPerThread);
  EXPECT_GT(log->stats().segments, 50u);
  EXPECT_EQ(log->stats().sync_errors, 0u);

  DecisionReadStats stats;
  std::vector<DecisionRecord> all = ExportAll(dir_, &stats);
  EXPECT_EQ(stats.torn, 0u);
  ASSERT_EQ(all.size(), size_t{kThreads} * kPerThread);
  std::set<std::string> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    const DecisionRecord& r = all[i];
    ids.insert(r.id);
    // Every record intact: it is exactly what its thread appended.
    int t = 0, row = 0;
    ASSERT_EQ(std::sscanf(r.id.c_str(), "t%d-%d", &t, &row), 2) << r.id;
    DecisionRecord expected = MakeRecord(r.id, kT0 + int64_t{row} * kThreads + t);
    expected.inputs["row"] = row;
    EXPECT_EQ(r, expected);
    if (i > 0) {
      EXPECT_LT(all[i - 1].time, r.time);
    }
  }
  EXPECT_EQ(ids.size(), all.size());
  for (const char* id : {"t0-0", "t7-1499", "t3-777"}) {
    auto found = FindDecision(dir_, id);
    ASSERT_TRUE(found.ok() && found->has_value()) << id;
  }
  for (const std::string& name : Names(dir_)) {
    EXPECT_LE(fs::file_size(dir_ + "/" + name), options.segment_bytes) << name;
  }
}

TEST_F(DecisionLogTest, RotatesWhenTheNextRecordWouldNotFit) {
  DecisionLogOptions options = Options();
  options.segment_bytes = 4096;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  const uint64_t line = DecisionRecordLine(MakeRecord("r00", kT0))->size();
  ASSERT_GT(line, 550u);
  const uint64_t per_segment = 4096 / line;
  std::vector<DecisionRecord> records;
  for (int i = 0; i < 20; ++i) {
    char id[8];
    std::snprintf(id, sizeof(id), "r%02d", i);
    records.push_back(MakeRecord(id, kT0 + i));
    ASSERT_TRUE(log->Append(records.back()).ok());
  }
  // Too large for any segment: refused, nothing written.
  DecisionRecord huge = MakeRecord("huge", kT0);
  huge.inputs["blob"] = std::string(5000, 'x');
  Status s = log->Append(huge);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(log->stats().appended, 20u);
  ASSERT_TRUE(log->Close().ok());

  const uint64_t segments = (20 + per_segment - 1) / per_segment;
  EXPECT_EQ(log->stats().segments, segments);
  std::vector<std::string> closed = ClosedSegments(dir_);
  ASSERT_EQ(closed.size(), segments);
  // Name order is time order; each segment holds whole records, up to the size.
  size_t next = 0;
  for (const std::string& name : closed) {
    std::string contents = ReadAll(dir_ + "/" + name);
    EXPECT_LE(contents.size(), 4096u);
    std::string expected;
    for (uint64_t k = 0; k < per_segment && next < records.size(); ++k) {
      expected += *DecisionRecordLine(records[next++]);
    }
    EXPECT_EQ(contents, expected) << name;
  }
  EXPECT_EQ(next, records.size());
  EXPECT_EQ(ExportAll(dir_), records);
}

TEST_F(DecisionLogTest, RotatesWhenTheFirstRecordIsOld) {
  FakeClock clock(kT0);
  DecisionLogOptions options = Options(&clock);
  options.rotate_interval_micros = kDay;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(MakeRecord("a", clock.NowMicros())).ok());
  clock.Advance(23 * kHour);
  ASSERT_TRUE(log->Append(MakeRecord("b", clock.NowMicros())).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(Names(dir_).size(), 1u);
  clock.Advance(kHour);
  ASSERT_TRUE(log->Append(MakeRecord("c", clock.NowMicros())).ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_EQ(ClosedSegments(dir_).size(), 1u);
  ASSERT_EQ(OpenSegments(dir_).size(), 1u);
  // The new segment's name starts at the time it was created.
  EXPECT_TRUE(OpenSegments(dir_)[0].starts_with("decisions-" + std::string(19 - 16, '0') +
                                                std::to_string(kT0 + kDay)))
      << OpenSegments(dir_)[0];
  EXPECT_EQ(log->stats().segments, 2u);
  ASSERT_TRUE(log->Close().ok());
  std::vector<DecisionRecord> all = ExportAll(dir_);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].id, "c");
}

TEST_F(DecisionLogTest, RetentionDeletesOnlySegmentsWhoseNewestRecordIsOld) {
  FakeClock clock(kT0);
  DecisionLogOptions options = Options(&clock);
  options.rotate_interval_micros = kDay;
  options.retention_micros = 10 * kDay;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  // Five daily segments, days 0..4; each record's time is the clock's.
  for (int day = 0; day < 5; ++day) {
    ASSERT_TRUE(log->Append(MakeRecord("day" + std::to_string(day), clock.NowMicros())).ok());
    clock.Advance(kDay);
  }
  ASSERT_TRUE(log->Close().ok());
  ASSERT_EQ(ClosedSegments(dir_).size(), 5u);
  EXPECT_EQ(log->stats().deleted, 0u);

  // At Open, 13.5 days after day 0: segments whose newest record is before day 3.5 go.
  clock.Set(kT0 + 13 * kDay + 12 * kHour);
  log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->stats().deleted, 4u);
  ASSERT_EQ(ClosedSegments(dir_).size(), 1u);
  for (int day = 0; day < 4; ++day) {
    auto found = FindDecision(dir_, "day" + std::to_string(day));
    ASSERT_TRUE(found.ok());
    EXPECT_FALSE(found->has_value()) << day;
  }
  auto kept = FindDecision(dir_, "day4");
  ASSERT_TRUE(kept.ok() && kept->has_value());

  // After a rotation: the segment just closed is past retention too, the new one is kept.
  ASSERT_TRUE(log->Append(MakeRecord("then", clock.NowMicros())).ok());
  clock.Set(kT0 + 30 * kDay);
  ASSERT_TRUE(log->Append(MakeRecord("now", clock.NowMicros())).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->stats().deleted, 6u);
  EXPECT_TRUE(ClosedSegments(dir_).empty());
  ASSERT_EQ(OpenSegments(dir_).size(), 1u);
  ASSERT_TRUE(log->Close().ok());
  std::vector<DecisionRecord> all = ExportAll(dir_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "now");
}

// A child process appends, reports, and is killed before it can close the log: every record it
// acknowledged is readable, and the next Open closes the segment it left.
TEST_F(DecisionLogTest, RecordsSurviveTheWriterBeingKilled) {
  constexpr int kRecords = 500;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    DecisionLogOptions options = Options();
    options.sync_interval_micros = kHour;  // nothing reaches the disk but through the page cache
    auto log = DecisionLog::Open(options);
    if (!log.ok()) ::_exit(3);
    for (int i = 0; i < kRecords; ++i) {
      if (!(*log)->Append(MakeRecord("k" + std::to_string(i), kT0 + i)).ok()) ::_exit(4);
    }
    if (::write(pipe_fds[1], "done", 4) != 4) ::_exit(5);
    while (true) ::pause();
  }
  ::close(pipe_fds[1]);
  char buf[4] = {};
  ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
  ::close(pipe_fds[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_EQ(n, 4) << "the writer exited with status " << WEXITSTATUS(status);
  ASSERT_TRUE(WIFSIGNALED(status));

  // The segment is still open, with its zero tail; readers find everything.
  std::vector<std::string> open = OpenSegments(dir_);
  ASSERT_EQ(open.size(), 1u);
  const std::string left = dir_ + "/" + open[0];
  EXPECT_EQ(fs::file_size(left), uint64_t{64} << 20);
  DecisionReadStats stats;
  std::vector<DecisionRecord> all = ExportAll(dir_, &stats);
  EXPECT_EQ(stats.torn, 0u);
  ASSERT_EQ(all.size(), size_t{kRecords});
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(all[i], MakeRecord("k" + std::to_string(i), kT0 + i));
  }
  for (int i : {0, 250, kRecords - 1}) {
    auto found = FindDecision(dir_, "k" + std::to_string(i));
    ASSERT_TRUE(found.ok() && found->has_value()) << i;
    EXPECT_EQ(**found, MakeRecord("k" + std::to_string(i), kT0 + i));
  }

  // Reopening closes the dead writer's segment (zero tail cut) and starts a new one.
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->stats().recovered, 1u);
  EXPECT_FALSE(fs::exists(left));
  std::vector<std::string> closed = ClosedSegments(dir_);
  ASSERT_EQ(closed.size(), 1u);
  std::string contents = ReadAll(dir_ + "/" + closed[0]);
  std::string expected;
  for (int i = 0; i < kRecords; ++i) {
    expected += *DecisionRecordLine(MakeRecord("k" + std::to_string(i), kT0 + i));
  }
  EXPECT_EQ(contents, expected);
  std::vector<std::string> now_open = OpenSegments(dir_);
  ASSERT_EQ(now_open.size(), 1u);
  EXPECT_NE(dir_ + "/" + now_open[0], left);
  ASSERT_TRUE(log->Append(MakeRecord("after", kT0 + kRecords)).ok());
  ASSERT_TRUE(log->Close().ok());
  all = ExportAll(dir_);
  ASSERT_EQ(all.size(), size_t{kRecords} + 1);
  EXPECT_EQ(all.back().id, "after");
}

// The same with the kill landing in the middle of appends from several threads, across
// rotations: every acknowledged record is intact; at most the copies in flight are lost.
TEST_F(DecisionLogTest, AcknowledgedRecordsSurviveAKillInTheMiddleOfAppends) {
  constexpr int kThreads = 4;
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    DecisionLogOptions options = Options();
    options.segment_bytes = 64 << 10;
    auto log = DecisionLog::Open(options);
    if (!log.ok()) ::_exit(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          const std::string id = absl::StrCat("m", t, "-", i);
          if (!(*log)->Append(MakeRecord(id, kT0 + int64_t{i} * kThreads + t)).ok()) ::_exit(4);
          const std::string ack = id + "\n";  // one write below PIPE_BUF: never interleaved
          if (::write(pipe_fds[1], ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) {
            ::_exit(5);
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    ::_exit(6);
  }
  ::close(pipe_fds[1]);
  std::string acks;
  char buf[4096];
  while (std::count(acks.begin(), acks.end(), '\n') < 3000) {
    ssize_t n = ::read(pipe_fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    acks.append(buf, static_cast<size_t>(n));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited with status " << WEXITSTATUS(status);
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) {
    acks.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  std::set<std::string> acknowledged;
  for (size_t pos = 0, nl; (nl = acks.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    acknowledged.insert(acks.substr(pos, nl - pos));
  }
  ASSERT_GE(acknowledged.size(), 3000u);

  auto check = [&](const char* when) {
    DecisionReadStats stats;
    std::vector<DecisionRecord> all = ExportAll(dir_, &stats);
    std::set<std::string> present;
    for (const DecisionRecord& r : all) {
      int t = 0, i = 0;
      ASSERT_EQ(std::sscanf(r.id.c_str(), "m%d-%d", &t, &i), 2) << r.id;
      EXPECT_EQ(r, MakeRecord(r.id, kT0 + int64_t{i} * kThreads + t)) << when;
      present.insert(r.id);
    }
    EXPECT_EQ(present.size(), all.size()) << when;
    size_t missing = 0;
    for (const std::string& id : acknowledged) missing += present.count(id) == 0;
    EXPECT_EQ(missing, 0u) << when << ": acknowledged records lost";
    // Records copied but not yet acknowledged may be there too; fragments come only from the
    // copies that were in flight, a head and a tail at most for each thread.
    EXPECT_LE(present.size(), acknowledged.size() + kThreads) << when;
    EXPECT_LE(stats.torn, uint64_t{2} * kThreads) << when;
    std::printf("%s: %zu acknowledged, %zu present, %llu fragments\n", when, acknowledged.size(),
                present.size(), static_cast<unsigned long long>(stats.torn));
  };
  check("after the kill");
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_GE(log->stats().recovered, 1u);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_TRUE(OpenSegments(dir_).empty());
  check("after recovery");
}

TEST_F(DecisionLogTest, ATornLastLineIsSkippedAndCounted) {
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(log->Append(MakeRecord("ok" + std::to_string(i), kT0 + i)).ok());
  ASSERT_TRUE(log->Close().ok());
  ASSERT_EQ(ClosedSegments(dir_).size(), 1u);
  std::string torn = *DecisionRecordLine(MakeRecord("torn", kT0 + 3));
  WriteAll(dir_ + "/" + ClosedSegments(dir_)[0], torn.substr(0, torn.size() / 2), true);

  DecisionReadStats stats;
  auto found = FindDecision(dir_, "torn", &stats);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(stats.torn, 1u);
  stats = {};
  std::vector<DecisionRecord> all = ExportAll(dir_, &stats);
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(stats.torn, 1u);
}

// What a process killed in the middle of concurrent copies leaves: a record cut off by zeros
// (space reserved by a copy that never finished) between two complete ones, then the zero tail.
TEST_F(DecisionLogTest, AHoleLeftByAnUnfinishedCopyIsSkippedAndCut) {
  ASSERT_TRUE(fs::create_directories(dir_));
  std::string a = *DecisionRecordLine(MakeRecord("a", kT0 + 5));
  std::string b = *DecisionRecordLine(MakeRecord("b", kT0 + 2));
  std::string cut = *DecisionRecordLine(MakeRecord("cut", kT0 + 3));
  std::string content =
      a + cut.substr(0, 40) + std::string(cut.size() - 60, '\0') + cut.substr(cut.size() - 20) + b;
  const std::string path = dir_ + "/decisions-0001764169445000000-000000.jsonl";
  WriteAll(path, content + std::string(8000, '\0'));

  DecisionReadStats stats;
  std::vector<DecisionRecord> all = ExportAll(dir_, &stats);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "b");  // time order
  EXPECT_EQ(all[1].id, "a");
  EXPECT_EQ(stats.torn, 2u);  // the head and the tail of "cut"
  auto found = FindDecision(dir_, "cut");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());

  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->stats().recovered, 1u);
  ASSERT_TRUE(log->Close().ok());
  std::vector<std::string> closed = ClosedSegments(dir_);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0], "decisions-0001764169445000000-000000-" + std::string(3, '0') +
                           std::to_string(kT0 + 2) + "-" + std::string(3, '0') +
                           std::to_string(kT0 + 5) + ".jsonl");
  EXPECT_EQ(ReadAll(dir_ + "/" + closed[0]), content);
}

TEST_F(DecisionLogTest, ExportReturnsExactlyTheRangeInTimeOrder) {
  FakeClock clock(kT0);
  DecisionLogOptions options = Options(&clock);
  options.segment_bytes = 4096;  // six records a segment
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  // Appended roughly in time order: neighbours swapped, as concurrent requests finish, and one
  // request that started early finishing last, many segments later.
  std::vector<DecisionRecord> appended;
  for (int i = 0; i < 60; ++i) {
    int k = i % 2 == 0 ? i + 1 : i - 1;
    appended.push_back(MakeRecord(absl::StrCat("e", k), kT0 + int64_t{k} * 1000 + 1));
  }
  appended.push_back(MakeRecord("slow", kT0 + 500));
  for (const auto& r : appended) {
    clock.Advance(1000);
    ASSERT_TRUE(log->Append(r).ok());
  }
  ASSERT_TRUE(log->Close().ok());
  ASSERT_GE(ClosedSegments(dir_).size(), 10u);

  std::vector<DecisionRecord> sorted = appended;
  std::sort(sorted.begin(), sorted.end(),
            [](const DecisionRecord& x, const DecisionRecord& y) { return x.time < y.time; });
  std::vector<std::pair<int64_t, int64_t>> ranges = {{0, kForever},
                                                     {kT0, kT0 + 1},
                                                     {kT0 + 500, kT0 + 501},
                                                     {kT0 + 1, kT0 + 5002},
                                                     {kT0 + 20001, kT0 + 41001},
                                                     {kT0 + 59001, kForever},
                                                     {kT0 + 40000, kT0 + 40000},
                                                     {kT0 + 100000, kForever}};
  for (auto [from, to] : ranges) {
    std::vector<DecisionRecord> expected;
    for (const auto& r : sorted) {
      if (r.time >= from && r.time < to) expected.push_back(r);
    }
    DecisionReadStats stats;
    std::vector<DecisionRecord> got = ExportAll(dir_, &stats, from, to);
    ASSERT_EQ(got.size(), expected.size()) << from << " " << to;
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].id, expected[i].id) << i;
  }
  // A range in the middle does not read the segments that end before it or start after it.
  DecisionReadStats stats;
  ExportAll(dir_, &stats, kT0 + 30001, kT0 + 36001);
  EXPECT_GT(stats.segments_skipped, 5u);
  EXPECT_LT(stats.segments_read, 5u);

  // The first error from the callback stops the export and is returned.
  int calls = 0;
  Status s = ExportDecisions(dir_, 0, kForever, [&](const DecisionRecord&) {
    return ++calls == 2 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 2);
}

TEST_F(DecisionLogTest, FindReturnsTheNewestRecordWithTheIdOrNothing) {
  FakeClock clock(kT0);
  DecisionLogOptions options = Options(&clock);
  options.segment_bytes = 4096;
  auto log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(log->Append(MakeRecord("id" + std::to_string(i), kT0 + i)).ok());
  }
  // A client that reuses an id: the later record is the one found.
  DecisionRecord again = MakeRecord("id3", kT0 + 100);
  again.output["decision"] = "refer";
  ASSERT_TRUE(log->Append(again).ok());
  // An id that appears inside another record's inputs is not that record's id.
  DecisionRecord nested = MakeRecord("outer", kT0 + 101);
  nested.inputs = {{"id", "inner"}, {"time", "x"}};
  ASSERT_TRUE(log->Append(nested).ok());

  auto found = FindDecision(dir_, "id3");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, again);
  found = FindDecision(dir_, "inner");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  found = FindDecision(dir_, "absent");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  found = FindDecision(dir_, "id");  // a prefix of ids is not an id
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  ASSERT_TRUE(log->Close().ok());

  auto missing = FindDecision(root_ + "/nowhere", "id3");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ExportDecisions(root_ + "/nowhere", 0, kForever,
                            [](const DecisionRecord&) { return absl::OkStatus(); })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DecisionLogTest, GarbageInTheFolderIsIgnoredOrReportedNeverFatal) {
  ASSERT_TRUE(fs::create_directories(dir_));
  std::mt19937_64 rng(42);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  WriteAll(dir_ + "/notes.txt", "not a segment\n");
  WriteAll(dir_ + "/decisions-abc.jsonl", "{\"id\":\"abc\"}\n");
  // Names with a segment's shape that are not segments: a folder, bounds the wrong way round.
  fs::create_directories(dir_ + "/decisions-0000000000000000001-000000.jsonl");
  WriteAll(
      dir_ + "/decisions-0000000000000000009-000000-0000000000000000009-0000000000000000001.jsonl",
      "x\n");
  // Segment names with contents that are not records.
  WriteAll(
      dir_ + "/decisions-0000000000000000002-000000-0000000000000000001-0000000000000000099.jsonl",
      random_bytes(100000));
  WriteAll(dir_ + "/decisions-0000000000000000003-000000.jsonl",
           "{\"hello\":1}\n[1,2]\n{\"id\":\"x\",\"time\":\"never\"}\n" + random_bytes(50000) +
               std::string(1000, '\0'));
  WriteAll(dir_ + "/decisions-0000000000000000004-000000.jsonl", "");
  WriteAll(dir_ + "/decisions-0000000000000000005-000000.jsonl", std::string(3000, '\0'));

  DecisionReadStats stats;
  auto found = FindDecision(dir_, "x", &stats);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
  EXPECT_GT(stats.torn, 0u);
  EXPECT_EQ(
      stats.ignored_files,
      (std::vector<std::string>{
          "decisions-0000000000000000001-000000.jsonl",
          "decisions-0000000000000000009-000000-0000000000000000009-0000000000000000001.jsonl",
          "decisions-abc.jsonl", "notes.txt"}));
  EXPECT_TRUE(ExportAll(dir_).empty());

  // The writer closes the open ones (empty ones deleted) and carries on.
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(MakeRecord("fine", kT0)).ok());
  ASSERT_TRUE(log->Close().ok());
  EXPECT_FALSE(fs::exists(dir_ + "/decisions-0000000000000000004-000000.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ + "/decisions-0000000000000000005-000000.jsonl"));
  found = FindDecision(dir_, "fine");
  ASSERT_TRUE(found.ok() && found->has_value());
  std::vector<DecisionRecord> all = ExportAll(dir_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "fine");
  EXPECT_TRUE(fs::exists(dir_ + "/notes.txt"));
}

double ThreadCpuMicros() {
  timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Not a benchmark: a quick measure of what one Append costs its caller, printed for the record
// (CPU time of the calling thread, which shared machines distort less than wall time).
TEST_F(DecisionLogTest, AppendCost) {
  auto log = OpenLog(Options());
  ASSERT_NE(log, nullptr);
  DecisionRecord r = MakeRecord("cost-0000000", kT0);
  for (const char* key : {"open_acc", "total_acc", "delinq_2yrs", "installment"}) {
    r.inputs.erase(key);
  }
  r.reasons.erase(1);
  const size_t bytes = DecisionRecordLine(r)->size();
  constexpr int kAppends = 50000;
  for (int pass = 0; pass < 3; ++pass) {
    const double cpu = ThreadCpuMicros();
    const auto wall = std::chrono::steady_clock::now();
    for (int i = 0; i < kAppends; ++i) {
      r.id = "cost-" + std::to_string(pass * kAppends + i);
      r.time = kT0 + i;
      ASSERT_TRUE(log->Append(r).ok());
    }
    const double wall_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall).count();
    std::printf("Append of a %zu-byte record: %.2f us CPU, %.2f us wall (%d appends)\n", bytes,
                (ThreadCpuMicros() - cpu) / kAppends, wall_us / kAppends, kAppends);
  }
  std::string line;
  const double cpu = ThreadCpuMicros();
  for (int i = 0; i < kAppends; ++i) line = *DecisionRecordLine(r);
  std::printf("  of which serialisation: %.2f us CPU\n", (ThreadCpuMicros() - cpu) / kAppends);
  ASSERT_TRUE(log->Close().ok());
  EXPECT_EQ(log->stats().appended, 3u * kAppends);
}

}  // namespace
}  // namespace plinth
