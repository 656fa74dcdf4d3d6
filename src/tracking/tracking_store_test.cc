// Experiment tracking on a real store. The same file builds two binaries: tracking_store_test on
// SQLite (a fresh file per test) and, with PLINTH_TRACKING_TEST_POSTGRES, the PostgreSQL one (a
// fresh database per test on the server the CTest fixture `postgres` starts; without a server
// every test fails, none is skipped).
#include "tracking/tracking_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "store/metadata_store.h"
#include "store/schema.h"

#ifdef PLINTH_TRACKING_TEST_POSTGRES
#include "store/testing/postgres_test_util.h"
#endif

namespace plinth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
// testing::Test has a Run() of its own.
using TrackedRun = ::plinth::Run;

#define TRACK_ASSERT_OK(expr)                       \
  do {                                              \
    const ::absl::Status track_status = (expr);     \
    ASSERT_TRUE(track_status.ok()) << track_status; \
  } while (0)

#define TRACK_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  TRACK_ASSERT_OK_AND_ASSIGN_IMPL_(PLINTH_CONCAT_(track_statusor_, __LINE__), lhs, expr)
#define TRACK_ASSERT_OK_AND_ASSIGN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                     \
  ASSERT_TRUE(var.ok()) << var.status();                 \
  lhs = std::move(var).value()

constexpr int64_t kStart = 1'800'000'000'000'000;  // 2027-01-15
constexpr char kDigestA[] =
    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr char kDigestB[] =
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

struct Backend {
  std::string name;
  std::function<StatusOr<std::string>()> new_store_url;
  std::function<Status(const std::string&)> remove_store;
};

void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class TrackingStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    StatusOr<std::string> url = GetParam().new_store_url();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    StatusOr<std::unique_ptr<MetadataStore>> store = OpenMetadataStore(url_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
      for (const char* p : {"p1", "p2"}) {
        RETURN_IF_ERROR(tx.Execute(
            "INSERT INTO projects (id, name, created_at, created_by) VALUES (?, ?, ?, 'test')",
            {std::string(p), std::string("project-") + p, kStart}));
      }
      return absl::OkStatus();
    }));
    TRACK_ASSERT_OK_AND_ASSIGN(experiment_, CreateExperiment("p1", "credit"));
  }

  void TearDown() override {
    store_.reset();
    if (!url_.empty()) {
      Status removed = GetParam().remove_store(url_);
      EXPECT_TRUE(removed.ok()) << removed;
    }
  }

  Status Tx(const TransactionFn& fn) { return store_->RunInTransaction(fn); }

  StatusOr<Experiment> CreateExperiment(const std::string& project, const std::string& name) {
    Experiment out;
    RETURN_IF_ERROR(Tx([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, tracking_.CreateExperiment(tx, project, name, "dana"));
      return absl::OkStatus();
    }));
    return out;
  }

  // A new run in `experiment_` (or `experiment_id`), one clock second after the previous one.
  StatusOr<RunInfo> CreateRun(const std::string& name, const std::string& parent = "",
                              const std::string& experiment_id = "") {
    clock_.Advance(1'000'000);
    RunInfo out;
    RETURN_IF_ERROR(Tx([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(
          out, tracking_.CreateRun(tx, experiment_id.empty() ? experiment_.id : experiment_id, name,
                                   parent, "pipeline:credit-risk/train", "dana"));
      return absl::OkStatus();
    }));
    return out;
  }

  Status Log(const std::string& run_id, const std::vector<KeyValue>& params,
             const std::vector<MetricPoint>& metrics, const std::vector<KeyValue>& tags = {}) {
    return Tx(
        [&](Transaction& tx) { return tracking_.LogBatch(tx, run_id, params, metrics, tags); });
  }

  StatusOr<TrackedRun> Get(const std::string& run_id) {
    TrackedRun out;
    RETURN_IF_ERROR(store_->RunReadOnly([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, tracking_.GetRun(tx, run_id));
      return absl::OkStatus();
    }));
    return out;
  }

  StatusOr<SearchRunsResult> Search(SearchRunsRequest request) {
    if (request.project_id.empty()) request.project_id = "p1";
    SearchRunsResult out;
    RETURN_IF_ERROR(store_->RunReadOnly([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(out, tracking_.SearchRuns(tx, request));
      return absl::OkStatus();
    }));
    return out;
  }

  // Names of the runs a search returns, in order; "ERROR: ..." if it fails.
  std::vector<std::string> Names(const std::string& filter,
                                 const std::vector<std::string>& order_by = {},
                                 int max_results = 100) {
    SearchRunsRequest request;
    request.filter = filter;
    request.order_by = order_by;
    request.max_results = max_results;
    StatusOr<SearchRunsResult> result = Search(request);
    if (!result.ok()) return {"ERROR: " + std::string(result.status().message())};
    std::vector<std::string> names;
    for (const TrackedRun& run : result->runs) names.push_back(run.info.name);
    return names;
  }

  Status Finish(const std::string& run_id, RunStatus status = RunStatus::kFinished) {
    return Tx([&](Transaction& tx) { return tracking_.SetRunStatus(tx, run_id, status).status(); });
  }

  std::string url_;
  std::unique_ptr<MetadataStore> store_;
  FakeClock clock_{kStart};
  TrackingStore tracking_{&clock_};
  Experiment experiment_;
};

TEST_P(TrackingStoreTest, ExperimentsAreCreatedListedAndUniquePerProject) {
  TRACK_ASSERT_OK_AND_ASSIGN(Experiment fraud, CreateExperiment("p1", "fraud/xgboost v2"));
  EXPECT_EQ(fraud.project_id, "p1");
  EXPECT_EQ(fraud.created_by, "dana");
  EXPECT_EQ(fraud.created_at, kStart);
  EXPECT_EQ(CreateExperiment("p1", "credit").status().code(), absl::StatusCode::kAlreadyExists);
  // The same name in another project is another experiment.
  TRACK_ASSERT_OK(CreateExperiment("p2", "credit").status());
  EXPECT_EQ(CreateExperiment("nope", "x").status().code(), absl::StatusCode::kNotFound);
  for (const char* bad : {"", " lead", "trail ", "a$b", "é"}) {
    EXPECT_EQ(CreateExperiment("p1", bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  std::vector<Experiment> listed;
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(listed, tracking_.ListExperiments(tx, "p1"));
    return absl::OkStatus();
  }));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].name, "credit");
  EXPECT_EQ(listed[1].name, "fraud/xgboost v2");

  Experiment existing, created;
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(existing, tracking_.GetOrCreateExperiment(tx, "p1", "credit", "eve"));
    ASSIGN_OR_RETURN(created, tracking_.GetOrCreateExperiment(tx, "p1", "churn", "eve"));
    return absl::OkStatus();
  }));
  EXPECT_EQ(existing.id, experiment_.id);
  EXPECT_EQ(existing.created_by, "dana");
  EXPECT_EQ(created.name, "churn");
  EXPECT_EQ(created.created_by, "eve");
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tracking_.FindExperiment(tx, "p2", "churn").status();
            }).code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TrackingStoreTest, RunsMoveOnceFromRunningToATerminalStatus) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("trial-1"));
  EXPECT_EQ(run.status, RunStatus::kRunning);
  EXPECT_EQ(run.start_time, clock_.NowMicros());
  EXPECT_FALSE(run.end_time.has_value());
  EXPECT_EQ(run.experiment_name, "credit");
  EXPECT_EQ(run.project_id, "p1");
  EXPECT_EQ(run.source, "pipeline:credit-risk/train");
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo unnamed, CreateRun(""));
  EXPECT_EQ(unnamed.name, unnamed.id);

  clock_.Advance(5'000'000);
  RunInfo finished;
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(finished, tracking_.SetRunStatus(tx, run.id, RunStatus::kFinished));
    return absl::OkStatus();
  }));
  EXPECT_EQ(finished.status, RunStatus::kFinished);
  EXPECT_EQ(finished.end_time, clock_.NowMicros());
  EXPECT_EQ(Finish(run.id).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Finish(run.id, RunStatus::kKilled).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Finish(unnamed.id, RunStatus::kRunning).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Finish("no-such-run").code(), absl::StatusCode::kNotFound);
  TRACK_ASSERT_OK(Finish(unnamed.id, RunStatus::kFailed));
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(unnamed.id));
  EXPECT_EQ(read.info.status, RunStatus::kFailed);
  EXPECT_EQ(Get("no-such-run").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CreateRun("x", "", "no-such-experiment").status().code(), absl::StatusCode::kNotFound);
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kKilled}) {
    EXPECT_EQ(ParseRunStatus(RunStatusName(s)), s);
  }
  EXPECT_FALSE(ParseRunStatus("DONE").has_value());
}

TEST_P(TrackingStoreTest, ParamsAreImmutable) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  TRACK_ASSERT_OK(Log(run.id, {{"max_depth", "4"}, {"eta", "0.1"}}, {}));
  // The same value again (and twice in one batch) is accepted.
  TRACK_ASSERT_OK(Log(run.id, {{"max_depth", "4"}, {"max_depth", "4"}}, {}));
  Status changed = Log(run.id, {{"subsample", "0.8"}, {"max_depth", "6"}}, {{"loss", 1.0, 0, 0}});
  EXPECT_EQ(changed.code(), absl::StatusCode::kAlreadyExists) << changed;
  EXPECT_THAT(std::string(changed.message()), HasSubstr("max_depth"));
  // The refused batch wrote nothing.
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  EXPECT_EQ(read.params, (std::map<std::string, std::string>{{"eta", "0.1"}, {"max_depth", "4"}}));
  EXPECT_TRUE(read.metrics.empty());
  Status twice = Log(run.id, {{"gamma", "1"}, {"gamma", "2"}}, {});
  EXPECT_EQ(twice.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(twice.message()), HasSubstr("gamma"));
}

TEST_P(TrackingStoreTest, MetricHistoryKeepsEveryPointInStepOrder) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  TRACK_ASSERT_OK(Log(run.id, {},
                      {{"loss", 0.9, 0, kStart + 1},
                       {"loss", 0.5, 2, kStart + 3},
                       {"loss", 0.7, 1, kStart + 2},
                       {"auc", 0.6, 0, kStart + 1}}));
  // Duplicates are kept; time 0 means now.
  TRACK_ASSERT_OK(Log(run.id, {}, {{"loss", 0.5, 2, kStart + 3}, {"loss", 0.4, 3, 0}}));
  std::vector<MetricPoint> history;
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, run.id, "loss"));
    return absl::OkStatus();
  }));
  std::vector<double> values;
  std::vector<int64_t> steps;
  for (const MetricPoint& p : history) {
    values.push_back(p.value);
    steps.push_back(p.step);
    EXPECT_EQ(p.key, "loss");
  }
  EXPECT_THAT(steps, ElementsAre(0, 1, 2, 2, 3));
  EXPECT_THAT(values, ElementsAre(0.9, 0.7, 0.5, 0.5, 0.4));
  EXPECT_EQ(history.back().time, clock_.NowMicros());
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, run.id, "never"));
    return absl::OkStatus();
  }));
  EXPECT_TRUE(history.empty());
  EXPECT_EQ(store_
                ->RunReadOnly([&](Transaction& tx) {
                  return tracking_.MetricHistory(tx, "no-such-run", "loss").status();
                })
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TrackingStoreTest, LatestMetricIsHighestStepThenLatestTimeThenLastLogged) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  auto latest = [&](const std::string& key) -> MetricPoint {
    StatusOr<TrackedRun> read = Get(run.id);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || read->metrics.count(key) == 0) return MetricPoint{"missing", -1, -1, -1};
    return read->metrics.at(key);
  };
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.80, 5, kStart + 50}}));
  // An earlier step arriving later does not move the latest value back.
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.70, 3, kStart + 90}}));
  EXPECT_EQ(latest("auc").value, 0.80);
  EXPECT_EQ(latest("auc").step, 5);
  // The same step: the later time wins, an earlier one does not.
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.81, 5, kStart + 60}}));
  EXPECT_EQ(latest("auc").value, 0.81);
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.79, 5, kStart + 55}}));
  EXPECT_EQ(latest("auc").value, 0.81);
  // The same step and time: the one logged last wins.
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.82, 5, kStart + 60}}));
  EXPECT_EQ(latest("auc").value, 0.82);
  // Within one batch, out of order, with ties resolved the same way.
  TRACK_ASSERT_OK(Log(run.id, {},
                      {{"ks", 0.30, 9, kStart + 10},
                       {"ks", 0.10, 2, kStart + 99},
                       {"ks", 0.31, 9, kStart + 10},
                       {"ks", 0.20, 9, kStart + 5}}));
  EXPECT_EQ(latest("ks").value, 0.31);
  EXPECT_EQ(latest("ks").step, 9);
  EXPECT_EQ(latest("ks").time, kStart + 10);
  // A higher step wins whatever its time.
  TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.60, 6, kStart + 1}}));
  EXPECT_EQ(latest("auc").value, 0.60);
  EXPECT_EQ(latest("auc").step, 6);
}

TEST_P(TrackingStoreTest, BatchValidationNamesTheKeyAndWritesNothing) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  struct Case {
    std::vector<KeyValue> params;
    std::vector<MetricPoint> metrics;
    std::vector<KeyValue> tags;
    std::string named;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Case> cases = {
      {{}, {{"ok", 1, 0, 0}, {"bad$key", 1, 0, 0}}, {}, "bad$key"},
      {{}, {{"ok", 1, 0, 0}, {"val_loss", inf, 3, 0}}, {}, "val_loss"},
      {{}, {{"neg_inf", -inf, 0, 0}}, {}, "neg_inf"},
      {{}, {{"when", 1, 0, -5}}, {}, "when"},
      {{{"", "x"}}, {}, {}, "param key"},
      {{{std::string(251, 'k'), "x"}}, {}, {}, "param key"},
      {{{"depth", std::string(6001, 'x')}}, {}, {}, "depth"},
      {{}, {}, {{"team", std::string("\xff\xfe")}}, "team"},
      {{}, {}, {{"note", std::string("a\0b", 3)}}, "note"},
      {{}, {}, {{"a:b", "x"}}, "a:b"},
      {{}, std::vector<MetricPoint>(10001, MetricPoint{"m", 1, 0, 0}), {}, "too many metrics"},
  };
  for (const Case& c : cases) {
    Status s = Log(run.id, c.params, c.metrics, c.tags);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.named << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.named));
  }
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  EXPECT_TRUE(read.metrics.empty());
  EXPECT_TRUE(read.params.empty());
  EXPECT_TRUE(read.tags.empty());
  // Keys may hold dots, slashes, dashes and spaces; NaN is recorded and read back.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  TRACK_ASSERT_OK(
      Log(run.id, {{"model/max depth", "4"}}, {{"val.loss-1", nan, 0, 0}}, {{"team", "risk é"}}));
  TRACK_ASSERT_OK_AND_ASSIGN(read, Get(run.id));
  ASSERT_EQ(read.metrics.count("val.loss-1"), 1u);
  EXPECT_TRUE(std::isnan(read.metrics.at("val.loss-1").value));
  EXPECT_EQ(read.params.at("model/max depth"), "4");
  EXPECT_EQ(read.tags.at("team"), "risk é");
  EXPECT_EQ(Log("no-such-run", {}, {{"m", 1, 0, 0}}).code(), absl::StatusCode::kNotFound);
}

TEST_P(TrackingStoreTest, EndedRunsTakeTagsButNoParamsMetricsOrArtifacts) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  TRACK_ASSERT_OK(Log(run.id, {}, {}, {{"team", "risk"}, {"team", "fraud"}, {"stage", "dev"}}));
  TRACK_ASSERT_OK(Finish(run.id));
  EXPECT_EQ(Log(run.id, {}, {{"auc", 0.7, 0, 0}}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Log(run.id, {{"p", "1"}}, {}).code(), absl::StatusCode::kFailedPrecondition);
  TRACK_ASSERT_OK(Log(run.id, {}, {}, {{"stage", "reviewed"}}));
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  EXPECT_EQ(read.tags,
            (std::map<std::string, std::string>{{"stage", "reviewed"}, {"team", "fraud"}}));
  EXPECT_EQ(Tx([&](Transaction& tx) {
              return tracking_.LogArtifact(tx, run.id, "model.bin", kDigestA, 10);
            }).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(TrackingStoreTest, ArtifactsNameContentTheProjectHolds) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r"));
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    RETURN_IF_ERROR(tx.Execute(
        "INSERT INTO artifacts (project_id, digest, size, created_at, created_by) VALUES "
        "('p1', ?, 10, 1, 'dana')",
        {std::string(kDigestA)}));
    return tx.Execute(
        "INSERT INTO artifacts (project_id, digest, size, created_at, created_by) VALUES "
        "('p2', ?, 20, 1, 'dana')",
        {std::string(kDigestB)});
  }));
  auto log = [&](const std::string& path, const std::string& digest, int64_t size) {
    return Tx(
        [&](Transaction& tx) { return tracking_.LogArtifact(tx, run.id, path, digest, size); });
  };
  TRACK_ASSERT_OK(log("model/model.bin", kDigestA, 10));
  TRACK_ASSERT_OK(log("model/model.bin", kDigestA, 10));  // the same again
  TRACK_ASSERT_OK(log("reports/roc.png", kDigestA, 10));
  EXPECT_EQ(log("model/model.bin", kDigestB, 20).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(log("other.bin", kDigestB, 20).code(), absl::StatusCode::kNotFound);  // p2 holds it
  EXPECT_EQ(log("other.bin", kDigestA, 11).code(), absl::StatusCode::kInvalidArgument);
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a b", "a/"}) {
    EXPECT_EQ(log(bad, kDigestA, 10).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(log("x", "sha256:ABC", 10).code(), absl::StatusCode::kInvalidArgument);
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) {
    return tx.Execute(
        "INSERT INTO artifacts (project_id, digest, size, created_at, created_by) VALUES "
        "('p1', ?, 20, 1, 'dana')",
        {std::string(kDigestB)});
  }));
  EXPECT_EQ(log("model/model.bin", kDigestB, 20).code(), absl::StatusCode::kAlreadyExists);
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  ASSERT_EQ(read.artifacts.size(), 2u);
  EXPECT_EQ(read.artifacts[0].path, "model/model.bin");
  EXPECT_EQ(read.artifacts[0].digest, kDigestA);
  EXPECT_EQ(read.artifacts[0].size, 10);
  EXPECT_EQ(read.artifacts[1].path, "reports/roc.png");
}

TEST_P(TrackingStoreTest, ParentRunsAndTheirTrials) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo parent, CreateRun("sweep"));
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo t1, CreateRun("trial-1", parent.id));
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo t2, CreateRun("trial-2", parent.id));
  TRACK_ASSERT_OK(CreateRun("loner").status());
  EXPECT_EQ(t1.parent_run_id, parent.id);
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(t2.id));
  EXPECT_EQ(read.info.parent_run_id, parent.id);
  EXPECT_EQ(CreateRun("x", "no-such-run").status().code(), absl::StatusCode::kNotFound);
  TRACK_ASSERT_OK_AND_ASSIGN(Experiment other, CreateExperiment("p1", "other"));
  EXPECT_EQ(CreateRun("x", parent.id, other.id).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Names("parent_run_id == '" + parent.id + "'", {"name"}),
              ElementsAre("trial-1", "trial-2"));
  EXPECT_THAT(Names("parent_run_id == null", {"name"}), ElementsAre("loner", "sweep"));
  EXPECT_THAT(Names("parent_run_id != '" + parent.id + "'", {"name"}),
              ElementsAre("loner", "sweep"));
}

// Six runs with metrics, params and tags for the search tests.
class TrackingSearchTest : public TrackingStoreTest {
 protected:
  void SetUp() override {
    TrackingStoreTest::SetUp();
    if (HasFatalFailure()) return;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    struct Spec {
      const char* name;
      std::vector<KeyValue> params;
      std::vector<MetricPoint> metrics;
      std::vector<KeyValue> tags;
      RunStatus status;
    };
    const std::vector<Spec> specs = {
        {"a",
         {{"max_depth", "4"}, {"model", "xgb"}},
         {{"test_auc", 0.81}, {"ks", 0.40}},
         {{"team", "risk"}},
         RunStatus::kFinished},
        {"b",
         {{"max_depth", "6"}, {"model", "xgb"}},
         {{"test_auc", 0.75}, {"val loss", 0.3}},
         {{"team", "risk"}},
         RunStatus::kFinished},
        {"c", {{"max_depth", "4"}, {"model", "lr"}}, {{"test_auc", 0.65}}, {}, RunStatus::kFailed},
        {"d",
         {{"model", "lr"}},
         {{"test_auc", 0.75}, {"ks", 0.2}},
         {{"team", "fraud"}},
         RunStatus::kRunning},
        {"e", {{"max_depth", "8"}}, {{"test_auc", nan}, {"ks", -1}}, {}, RunStatus::kFinished},
        {"f", {}, {}, {{"team", "risk"}}, RunStatus::kKilled},
    };
    for (const Spec& spec : specs) {
      TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun(spec.name));
      TRACK_ASSERT_OK(Log(run.id, spec.params, spec.metrics, spec.tags));
      if (spec.status != RunStatus::kRunning) TRACK_ASSERT_OK(Finish(run.id, spec.status));
      ids_[spec.name] = run.id;
    }
  }
  std::map<std::string, std::string> ids_;
};

TEST_P(TrackingSearchTest, FiltersOnMetricsParamsTagsAndAttributes) {
  const std::vector<std::string> by_name = {"name"};
  EXPECT_THAT(Names("", by_name), ElementsAre("a", "b", "c", "d", "e", "f"));
  EXPECT_THAT(Names("metrics.test_auc > 0.7", by_name), ElementsAre("a", "b", "d"));
  EXPECT_THAT(Names("metrics.test_auc >= 0.75 && params.max_depth == '4'", by_name),
              ElementsAre("a"));
  EXPECT_THAT(Names("0.7 < metrics.test_auc && metrics.test_auc <= 0.75", by_name),
              ElementsAre("b", "d"));
  EXPECT_THAT(Names("metrics.test_auc == 0.75", by_name), ElementsAre("b", "d"));
  // NaN compares false, and unequal to everything.
  EXPECT_THAT(Names("metrics.test_auc < 2", by_name), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(Names("metrics.test_auc != 0.75", by_name), ElementsAre("a", "c", "e"));
  EXPECT_THAT(Names("metrics.ks < 0", by_name), ElementsAre("e"));
  EXPECT_THAT(Names("metrics.ks > -2 && metrics.ks < 1", by_name), ElementsAre("a", "d", "e"));
  EXPECT_THAT(Names("metrics.ks * 2.0 > 0.5", by_name), ElementsAre("a"));
  EXPECT_THAT(Names("metrics['val loss'] < 0.5", by_name), ElementsAre("b"));
  EXPECT_THAT(Names("has(metrics.ks)", by_name), ElementsAre("a", "d", "e"));
  EXPECT_THAT(Names("!has(metrics.ks)", by_name), ElementsAre("b", "c", "f"));
  EXPECT_THAT(Names("'ks' in metrics && status == 'FINISHED'", by_name), ElementsAre("a", "e"));
  EXPECT_THAT(Names("params.model == 'xgb' || tags.team == 'fraud'", by_name),
              ElementsAre("a", "b", "d"));
  EXPECT_THAT(Names("params.max_depth != '4'", by_name), ElementsAre("b", "e"));
  EXPECT_THAT(Names("params.max_depth in ['6', '8']", by_name), ElementsAre("b", "e"));
  EXPECT_THAT(Names("int(params.max_depth) >= 6", by_name), ElementsAre("b", "e"));
  EXPECT_THAT(Names("params.model.startsWith('x')", by_name), ElementsAre("a", "b"));
  EXPECT_THAT(Names("tags.team == 'risk' && !has(params.max_depth)", by_name), ElementsAre("f"));
  EXPECT_THAT(Names("status == 'FINISHED'", by_name), ElementsAre("a", "b", "e"));
  EXPECT_THAT(Names("status in ['FAILED', 'KILLED']", by_name), ElementsAre("c", "f"));
  EXPECT_THAT(Names("status != 'FINISHED' && end_time != null", by_name), ElementsAre("c", "f"));
  EXPECT_THAT(Names("end_time == null", by_name), ElementsAre("d"));
  EXPECT_THAT(Names("name == 'c' || run_id == '" + ids_["e"] + "'", by_name),
              ElementsAre("c", "e"));
  EXPECT_THAT(Names("experiment == 'credit' && created_by == 'dana' && "
                    "source.startsWith('pipeline:')",
                    by_name),
              ElementsAre("a", "b", "c", "d", "e", "f"));
  // Runs start a second apart from kStart + 1 s: a is at +1 s, f at +6 s.
  EXPECT_THAT(Names("start_time > timestamp('2027-01-15T08:00:04Z')", by_name),
              ElementsAre("e", "f"));
  EXPECT_THAT(Names("start_time >= timestamp('2027-01-15T08:00:05Z') && "
                    "start_time < timestamp('2027-01-15T08:00:06Z')",
                    by_name),
              ElementsAre("e"));
  // Whole-map uses read every key.
  EXPECT_THAT(Names("size(metrics) == 2", by_name), ElementsAre("a", "b", "d", "e"));
  EXPECT_THAT(Names("metrics.exists(k, k.startsWith('val'))", by_name), ElementsAre("b"));
  EXPECT_THAT(Names("params.all(k, params[k] != 'lr') && size(params) > 0", by_name),
              ElementsAre("a", "b", "e"));
  // A run missing a key the filter reads does not match, whichever side of && reads it.
  EXPECT_THAT(Names("metrics.ks > 0.1", by_name), ElementsAre("a", "d"));
  EXPECT_THAT(Names("metrics.ks > 0.1 || params.model == 'lr'", by_name),
              ElementsAre("a", "c", "d"));
  EXPECT_THAT(Names("metrics.test_auc / metrics.ks > 2.5", by_name), ElementsAre("d"));
  EXPECT_THAT(Names("false", by_name), ElementsAre());
}

TEST_P(TrackingSearchTest, BadRequestsAreInvalidArguments) {
  SearchRunsRequest request;
  for (const char* filter :
       {"metrics.test_auc >", "metrics.test_auc + 1", "mtrics.auc > 1", "params.max_depth > 3"}) {
    request.filter = filter;
    EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument) << filter;
  }
  request.filter = "mtrics.auc > 1";
  EXPECT_THAT(std::string(Search(request).status().message()), HasSubstr("did you mean"));
  request.filter = "";
  for (const char* key : {"metrics.", "metric.auc", "attributes.colour", "metrics.auc sideways",
                          "metrics.val loss", "params.a$b"}) {
    request.order_by = {key};
    EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
  request.order_by = {};
  request.max_results = 0;
  EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.max_results = 10;
  request.experiment_names = {"nope"};
  EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(TrackingSearchTest, OrderingPutsMissingLastAndBreaksTiesNewestFirst) {
  // d and b tie on 0.75: the newer (d) first. e (NaN) and f (none) are missing: last, newest
  // first.
  EXPECT_THAT(Names("", {"metrics.test_auc desc"}), ElementsAre("a", "d", "b", "c", "f", "e"));
  EXPECT_THAT(Names("", {"metrics.test_auc asc"}), ElementsAre("c", "d", "b", "a", "f", "e"));
  EXPECT_THAT(Names("", {"metrics.test_auc DESC", "attributes.start_time asc"}),
              ElementsAre("a", "b", "d", "c", "e", "f"));
  EXPECT_THAT(Names("", {"params.max_depth", "metrics.test_auc desc"}),
              ElementsAre("a", "c", "b", "e", "d", "f"));
  EXPECT_THAT(Names("", {"tags.team desc", "name desc"}),
              ElementsAre("f", "b", "a", "d", "e", "c"));
  EXPECT_THAT(Names("", {"metrics.`val loss`"}), ElementsAre("b", "f", "e", "d", "c", "a"));
  EXPECT_THAT(Names("", {"attributes.end_time"}), ElementsAre("a", "b", "c", "e", "f", "d"));
  EXPECT_THAT(Names("", {"status", "start_time"}), ElementsAre("c", "a", "b", "e", "f", "d"));
  // No order: newest first.
  EXPECT_THAT(Names(""), ElementsAre("f", "e", "d", "c", "b", "a"));
  EXPECT_THAT(Names("has(metrics.ks)", {"metrics.ks"}), ElementsAre("e", "d", "a"));
}

TEST_P(TrackingSearchTest, ScopeIsTheProjectAndItsNamedExperiments) {
  TRACK_ASSERT_OK_AND_ASSIGN(Experiment other, CreateExperiment("p1", "other"));
  TRACK_ASSERT_OK_AND_ASSIGN(Experiment elsewhere, CreateExperiment("p2", "credit"));
  TRACK_ASSERT_OK(CreateRun("g", "", other.id).status());
  TRACK_ASSERT_OK(CreateRun("h", "", elsewhere.id).status());
  SearchRunsRequest request;
  request.order_by = {"name"};
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult all, Search(request));
  EXPECT_EQ(all.total_matches, 7);
  request.experiment_names = {"other"};
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult one, Search(request));
  ASSERT_EQ(one.runs.size(), 1u);
  EXPECT_EQ(one.runs[0].info.name, "g");
  EXPECT_EQ(one.runs[0].info.experiment_name, "other");
  request.experiment_names = {"credit", "other"};
  request.filter = "experiment == 'other' || name == 'a'";
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult both, Search(request));
  ASSERT_EQ(both.runs.size(), 2u);
  EXPECT_EQ(both.runs[0].info.name, "a");
  EXPECT_EQ(both.runs[1].info.name, "g");
  request = SearchRunsRequest();
  request.project_id = "p2";
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult p2, Search(request));
  ASSERT_EQ(p2.runs.size(), 1u);
  EXPECT_EQ(p2.runs[0].info.name, "h");
}

TEST_P(TrackingStoreTest, ProjectsWithManyExperimentsAreSearchedWhole) {
  std::vector<std::string> names;
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    for (int e = 0; e < 205; ++e) {
      ASSIGN_OR_RETURN(Experiment experiment,
                       tracking_.CreateExperiment(tx, "p1", "e" + std::to_string(e), "dana"));
      names.push_back(experiment.name);
      if (e % 50 != 7) continue;
      ASSIGN_OR_RETURN(RunInfo run, tracking_.CreateRun(tx, experiment.id, "in-" + experiment.name,
                                                        "", "", "dana"));
      RETURN_IF_ERROR(tracking_.LogBatch(tx, run.id, {}, {{"auc", e / 1000.0, 0, 0}}, {}));
    }
    return absl::OkStatus();
  }));
  EXPECT_THAT(Names("metrics.auc > 0.05", {"metrics.auc desc"}),
              ElementsAre("in-e157", "in-e107", "in-e57"));
  EXPECT_THAT(Names("experiment == 'e7' || metrics.auc > 0.15", {"name"}),
              ElementsAre("in-e157", "in-e7"));
  SearchRunsRequest request;
  request.experiment_names = names;
  EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(TrackingSearchTest, ResultsCarryParamsLatestMetricsAndTags) {
  SearchRunsRequest request;
  request.filter = "name == 'a'";
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult result, Search(request));
  ASSERT_EQ(result.runs.size(), 1u);
  const TrackedRun& a = result.runs[0];
  EXPECT_EQ(a.info.id, ids_["a"]);
  EXPECT_EQ(a.info.status, RunStatus::kFinished);
  EXPECT_EQ(a.params.at("max_depth"), "4");
  EXPECT_EQ(a.metrics.at("test_auc").value, 0.81);
  EXPECT_EQ(a.tags.at("team"), "risk");
  EXPECT_EQ(result.total_matches, 1);
  EXPECT_TRUE(result.next_page_token.empty());
}

TEST_P(TrackingStoreTest, PagesCoverTheOrderedResultOnce) {
  for (int i = 0; i < 25; ++i) {
    TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("run-" + std::to_string(100 + i)));
    // Five runs share each value, so paging crosses ties.
    TRACK_ASSERT_OK(Log(run.id, {}, {{"auc", 0.5 + (i % 5) / 10.0, 0, 0}}));
  }
  SearchRunsRequest request;
  request.filter = "metrics.auc >= 0.5";
  request.order_by = {"metrics.auc desc"};
  request.max_results = 25;
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult whole, Search(request));
  ASSERT_EQ(whole.runs.size(), 25u);
  EXPECT_TRUE(whole.next_page_token.empty());
  request.max_results = 10;
  std::vector<std::string> paged;
  int pages = 0;
  do {
    TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult page, Search(request));
    EXPECT_EQ(page.total_matches, 25);
    for (const TrackedRun& run : page.runs) paged.push_back(run.info.id);
    request.page_token = page.next_page_token;
    ++pages;
  } while (!request.page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(paged.size(), 25u);
  for (size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(paged[i], whole.runs[i].info.id) << i;

  request.max_results = 10;
  request.page_token = "";
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult first, Search(request));
  request.page_token = first.next_page_token;
  request.filter = "metrics.auc >= 0.6";
  EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.filter = "metrics.auc >= 0.5";
  request.page_token = "o5.garbage";
  EXPECT_EQ(Search(request).status().code(), absl::StatusCode::kInvalidArgument);
  // A token past the end gives an empty page.
  request.page_token = first.next_page_token;
  request.page_token[1] = '9';
  request.page_token.insert(1, "9");
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult beyond, Search(request));
  EXPECT_TRUE(beyond.runs.empty());
  EXPECT_TRUE(beyond.next_page_token.empty());
}

// The SQL narrowing of simple conjuncts and the key-subset maps must never change a result: each
// filter gives the same runs as forms of it that defeat both (`|| false` is no conjunction and
// `size(m) >= 0` reads every key).
TEST_P(TrackingStoreTest, PushedDownFiltersAgreeWithFullEvaluation) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> values = {0.1, 0.5, 0.7, 0.75, nan, 1.0, -3.0};
  for (int i = 0; i < 40; ++i) {
    TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("r" + std::to_string(i)));
    std::vector<MetricPoint> metrics;
    if (i % 3 != 0) metrics.push_back({"auc", values[i % values.size()], 0, 0});
    if (i % 4 != 1) metrics.push_back({"ks", values[(i * 5) % values.size()], 0, 0});
    std::vector<KeyValue> params;
    if (i % 5 != 2) params.push_back({"depth", std::to_string(2 + i % 4)});
    std::vector<KeyValue> tags;
    if (i % 2 == 0) tags.push_back({"team", i % 4 == 0 ? "risk" : "fraud"});
    TRACK_ASSERT_OK(Log(run.id, params, metrics, tags));
    if (i % 3 == 1) TRACK_ASSERT_OK(Finish(run.id));
  }
  const std::vector<std::string> filters = {
      "metrics.auc > 0.5",
      "metrics.auc >= 0.75 && metrics.ks < 0.7",
      "metrics.auc == 0.7 && params.depth == '3'",
      "0.5 <= metrics.auc && has(tags.team)",
      "has(metrics.auc) && !has(metrics.ks)",
      "params.depth != '2' && tags.team == 'risk'",
      "params.depth in ['2', '5'] && status == 'FINISHED'",
      "status != 'FINISHED' && metrics.ks <= -3",
      "metrics.auc < 1 && metrics.auc > 0.1 && start_time > timestamp('2027-01-15T08:00:10Z')",
      "'auc' in metrics && metrics['ks'] > 0",
      "end_time != null && metrics.auc != 0.5",
      // Pushed conjuncts on several keys with one evaluated in memory: the evaluation needs the
      // values of every key, not only of the one the candidates were read from.
      "metrics.auc > 0.5 && params.depth != '2' && metrics.ks * 2.0 > 0.1",
      "tags.team == 'risk' && metrics.ks >= 0.1 && (params.depth == '3' || metrics.auc < 0.6)",
      "status == 'RUNNING' && has(params.depth) && int(params.depth) + 1 > 3",
  };
  for (const std::string& filter : filters) {
    std::vector<std::string> direct = Names(filter, {"name"});
    EXPECT_EQ(direct, Names("(" + filter + ") || false", {"name"})) << filter;
    EXPECT_EQ(direct, Names("(" + filter +
                                ") && size(metrics) >= 0 && size(params) >= 0 && "
                                "size(tags) >= 0",
                            {"name"}))
        << filter;
    EXPECT_FALSE(!direct.empty() && direct[0].rfind("ERROR", 0) == 0) << direct[0];
  }
}

TEST_P(TrackingStoreTest, ManyKeyConditionsAndWholeMapOrders) {
  std::vector<MetricPoint> metrics;
  std::string filter;
  // 40 keys: more than are pushed into SQL (the rest are evaluated in memory).
  for (int k = 0; k < 40; ++k) {
    metrics.push_back({"m" + std::to_string(k), static_cast<double>(k), 0, 0});
    filter += (k == 0 ? "" : " && ") + std::string("metrics.m") + std::to_string(k) +
              " >= " + std::to_string(k);
  }
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo full, CreateRun("full"));
  TRACK_ASSERT_OK(Log(full.id, {}, metrics));
  metrics.pop_back();
  metrics[3].value = 30;
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo short_one, CreateRun("short"));
  TRACK_ASSERT_OK(Log(short_one.id, {}, metrics));
  EXPECT_THAT(Names(filter, {"metrics.m39 desc", "metrics.m3"}), ElementsAre("full"));
  EXPECT_THAT(Names("", {"metrics.m39 desc"}), ElementsAre("full", "short"));
  // A filter that reads the whole map: the order reads the same bulk values.
  EXPECT_THAT(Names("size(metrics) >= 39", {"metrics.m3 desc"}), ElementsAre("short", "full"));
  EXPECT_THAT(Names("size(metrics) >= 39", {"metrics.m39"}), ElementsAre("full", "short"));
}

// Past 2,000 candidates the search reads the scope's values in key order instead of by id; the
// results must not change with the path.
TEST_P(TrackingStoreTest, LargeCandidateSetsGiveTheSameResults) {
  constexpr int kRuns = 2100;
  std::vector<std::string> ids;
  TRACK_ASSERT_OK(Tx([&](Transaction& tx) -> Status {
    for (int i = 0; i < kRuns; ++i) {
      ASSIGN_OR_RETURN(RunInfo run,
                       tracking_.CreateRun(tx, experiment_.id, "r" + std::to_string(10000 + i), "",
                                           "bench", "dana"));
      std::vector<MetricPoint> metrics = {{"auc", (i % 97) / 97.0, 0, 0}};
      if (i % 3 != 0) metrics.push_back({"ks", (i % 13) / 13.0, 0, 0});
      RETURN_IF_ERROR(tracking_.LogBatch(tx, run.id, {{"depth", std::to_string(i % 7)}}, metrics,
                                         {{"team", i % 2 == 0 ? "risk" : "fraud"}}));
      ids.push_back(run.id);
    }
    return absl::OkStatus();
  }));
  struct Case {
    std::string filter;
    std::vector<std::string> order;
  };
  const std::vector<Case> cases = {
      {"", {"metrics.ks desc", "params.depth"}},
      {"metrics.auc >= 0.0", {"metrics.ks", "tags.team desc"}},
      {"metrics.auc > 0.5 && tags.team == 'risk'", {"metrics.auc desc"}},
      {"metrics.auc > 0.5 || params.depth == '3'", {"params.depth", "metrics.auc"}},
      {"has(metrics.ks) && metrics.ks * 2.0 > metrics.auc", {"name"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> all = Names(c.filter, c.order, 10000);
    ASSERT_FALSE(!all.empty() && all[0].rfind("ERROR", 0) == 0) << all[0];
    EXPECT_EQ(all, Names("(" + (c.filter.empty() ? std::string("true") : c.filter) +
                             ") && size(metrics) >= 0 && size(params) >= 0",
                         c.order, 10000))
        << c.filter;
    // The first page alone agrees with the whole order.
    std::vector<std::string> page = Names(c.filter, c.order, 50);
    ASSERT_EQ(page.size(), std::min<size_t>(50, all.size())) << c.filter;
    for (size_t i = 0; i < page.size(); ++i) EXPECT_EQ(page[i], all[i]) << c.filter << " " << i;
  }
  SearchRunsRequest request;
  request.filter = "metrics.auc >= 0.0";
  TRACK_ASSERT_OK_AND_ASSIGN(SearchRunsResult result, Search(request));
  EXPECT_EQ(result.total_matches, kRuns);
  EXPECT_EQ(result.runs.size(), 100u);
  // No order: newest first.
  EXPECT_EQ(result.runs[0].info.id, ids.back());
}

// The history is indexed in buckets of ~8,192 points in arrival order (store migration 7): a key's
// history spans buckets, whose points come back merged by step, then time, then logging order.
TEST_P(TrackingStoreTest, MetricHistoryMergesTheBucketsOfALongRun) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("long"));
  // Steps arrive out of order over four batches: [6000, 12000), [0, 3000), [3000, 5000),
  // [5000, 6000). The third batch starts at 9,000 points, so it and the fourth are in bucket 1.
  auto steps = [](int64_t from, int64_t to, double value) {
    std::vector<MetricPoint> points;
    for (int64_t s = from; s < to; ++s) points.push_back({"loss", value, s, kStart + s});
    return points;
  };
  TRACK_ASSERT_OK(Log(run.id, {}, steps(6000, 12000, 0.6)));
  TRACK_ASSERT_OK(Log(run.id, {}, steps(0, 3000, 0.0)));
  TRACK_ASSERT_OK(Log(run.id, {}, steps(3000, 5000, 0.3)));
  // A repeat of step 0 at the same time, logged last: it comes after the first.
  std::vector<MetricPoint> last = steps(5000, 6000, 0.5);
  last.push_back({"loss", 9.0, 0, kStart});
  last.push_back({"auc", 0.7, 11999, kStart});
  TRACK_ASSERT_OK(Log(run.id, {}, last));
  std::vector<MetricPoint> history;
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, run.id, "loss"));
    return absl::OkStatus();
  }));
  ASSERT_EQ(history.size(), 12001u);
  EXPECT_EQ(history[0].step, 0);
  EXPECT_EQ(history[0].value, 0.0);
  EXPECT_EQ(history[1].step, 0);
  EXPECT_EQ(history[1].value, 9.0);
  for (size_t i = 2; i < history.size(); ++i) {
    ASSERT_EQ(history[i].step, static_cast<int64_t>(i - 1));
    ASSERT_EQ(history[i].time, kStart + history[i].step);
  }
  EXPECT_EQ(history[3001].value, 0.3);
  EXPECT_EQ(history[5001].value, 0.5);
  EXPECT_EQ(history.back().value, 0.6);
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  EXPECT_EQ(read.metrics.at("loss").step, 11999);
  EXPECT_EQ(read.metrics.at("loss").value, 0.6);
  EXPECT_EQ(read.metrics.at("auc").step, 11999);
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, run.id, "auc"));
    return absl::OkStatus();
  }));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].value, 0.7);
}

// A store written before the history had buckets: its points are all in bucket 0, the run's point
// count is taken from them, and new batches go on from there.
TEST_P(TrackingStoreTest, HistoryFromBeforeTheBucketMigrationIsKept) {
  int bucket_version = 0;
  for (const Migration& m : SchemaMigrations()) {
    if (m.description.rfind("experiment tracking: metric history indexed in buckets", 0) == 0) {
      bucket_version = m.version;
    }
  }
  ASSERT_GT(bucket_version, 5);
  TRACK_ASSERT_OK_AND_ASSIGN(std::string url, GetParam().new_store_url());
  {
    TRACK_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> old,
                               OpenMetadataStoreAtVersion(url, bucket_version - 1));
    TRACK_ASSERT_OK(old->RunInTransaction([&](Transaction& tx) -> Status {
      RETURN_IF_ERROR(tx.Execute(
          "INSERT INTO projects (id, name, created_at, created_by) VALUES ('p1', 'p', 0, 't')"));
      RETURN_IF_ERROR(
          tx.Execute("INSERT INTO experiments (id, project_id, name, created_at, created_by) "
                     "VALUES ('e1', 'p1', 'credit', 0, 't')"));
      RETURN_IF_ERROR(tx.Execute(
          "INSERT INTO runs (id, experiment_id, parent_run_id, name, status, start_time, "
          "end_time, created_by, source) VALUES ('r1', 'e1', NULL, 'r1', 'RUNNING', 0, NULL, "
          "'t', '')"));
      for (int64_t step : {2, 0, 1}) {
        RETURN_IF_ERROR(
            tx.Execute("INSERT INTO run_metrics (run_id, key, step, time, value) VALUES "
                       "('r1', 'loss', ?, ?, ?)",
                       {step, kStart + step, 1.0 - 0.1 * static_cast<double>(step)}));
      }
      return tx.Execute(
          "INSERT INTO run_latest_metrics (run_id, experiment_id, key, value, step, time) VALUES "
          "('r1', 'e1', 'loss', 0.8, 2, ?)",
          {kStart + 2});
    }));
  }
  {
    TRACK_ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetadataStore> store, OpenMetadataStore(url));
    std::vector<MetricPoint> history;
    TRACK_ASSERT_OK(store->RunInTransaction([&](Transaction& tx) -> Status {
      ASSIGN_OR_RETURN(QueryResult count,
                       tx.Query("SELECT metric_points FROM runs WHERE id = 'r1'"));
      EXPECT_EQ(count.IntOrZero(0, 0), 3);
      RETURN_IF_ERROR(tracking_.LogBatch(tx, "r1", {}, {{"loss", 0.5, 3, kStart + 3}}, {}));
      ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, "r1", "loss"));
      ASSIGN_OR_RETURN(count, tx.Query("SELECT metric_points FROM runs WHERE id = 'r1'"));
      EXPECT_EQ(count.IntOrZero(0, 0), 4);
      return absl::OkStatus();
    }));
    std::vector<int64_t> steps;
    for (const MetricPoint& p : history) steps.push_back(p.step);
    EXPECT_THAT(steps, ElementsAre(0, 1, 2, 3));
    EXPECT_EQ(history.back().value, 0.5);
  }
  TRACK_ASSERT_OK(GetParam().remove_store(url));
}

TEST_P(TrackingStoreTest, ALargeBatchLogsInOneTransaction) {
  TRACK_ASSERT_OK_AND_ASSIGN(RunInfo run, CreateRun("big"));
  std::vector<MetricPoint> metrics;
  for (int i = 0; i < 2500; ++i) {
    metrics.push_back({"m" + std::to_string(i % 1100), i * 0.001, i / 1100, kStart + i});
  }
  std::vector<KeyValue> params;
  for (int i = 0; i < 1000; ++i) params.push_back({"p" + std::to_string(i), std::to_string(i)});
  TRACK_ASSERT_OK(Log(run.id, params, metrics));
  TRACK_ASSERT_OK_AND_ASSIGN(TrackedRun read, Get(run.id));
  EXPECT_EQ(read.params.size(), 1000u);
  ASSERT_EQ(read.metrics.size(), 1100u);
  EXPECT_EQ(read.metrics.at("m0").step, 2);
  EXPECT_DOUBLE_EQ(read.metrics.at("m0").value, 2.2);
  EXPECT_EQ(read.metrics.at("m500").step, 1);
  std::vector<MetricPoint> history;
  TRACK_ASSERT_OK(store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(history, tracking_.MetricHistory(tx, run.id, "m7"));
    return absl::OkStatus();
  }));
  EXPECT_EQ(history.size(), 3u);
}

#ifdef PLINTH_TRACKING_TEST_POSTGRES
const Backend kBackend{"postgres", CreateTestPostgresDatabase, DropTestPostgresDatabase};
#else
StatusOr<std::string> NewSqliteUrl() {
  return "sqlite:" + ::testing::TempDir() + "plinth-tracking-" + RandomHex(8) + ".db";
}
Status RemoveSqlite(const std::string& url) {
  const std::string path = url.substr(std::string("sqlite:").size());
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code error;
    std::filesystem::remove(path + suffix, error);
    if (error) return absl::InternalError("removing " + path + suffix + ": " + error.message());
  }
  return absl::OkStatus();
}
const Backend kBackend{"sqlite", NewSqliteUrl, RemoveSqlite};
#endif

// The instantiation is named "tracking" so `ctest -R tracking` selects these tests on either
// backend.
INSTANTIATE_TEST_SUITE_P(tracking, TrackingStoreTest, ::testing::Values(kBackend),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(tracking, TrackingSearchTest, ::testing::Values(kBackend),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace plinth
