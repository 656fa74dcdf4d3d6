// Monitoring on the platform, with a real model from the HMDA pipeline: the baseline stored at
// registration, drift of uploaded batches and of decision-record rows against it, alerts stored,
// audited and posted to a real webhook receiver, alert configs checked against the model,
// performance of labelled decision records, the HTML report, and who may run what. Built twice:
// on SQLite and on a live PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/sha256.h"
#include "data/csv_reader.h"
#include "monitor/baseline.h"
#include "serve/decision_log.h"
#include "steps/registry_test_fixture.h"
#include "train/model_package.h"

namespace plinth {
namespace {

using namespace testing_registry;  // NOLINT: the fixture's constants and helpers
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The numeric column the tests move: the loan-to-value ratio, 0.02 .. 1.95 in the data.
constexpr char kShifted[] = "lvrat";

// One line of hmda.csv split at its commas (the file quotes no commas).
std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) out.push_back(field);
  return out;
}

std::string Unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

std::string Number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// The probability that a random positive scores above a random negative, ties one half.
std::optional<double> DirectAuc(const std::vector<std::pair<double, int>>& outcomes) {
  double wins = 0, positives = 0, negatives = 0;
  for (const auto& [s, label] : outcomes) (label == 1 ? positives : negatives) += 1;
  if (positives == 0 || negatives == 0) return std::nullopt;
  for (const auto& [p, lp] : outcomes) {
    if (lp != 1) continue;
    for (const auto& [n, ln] : outcomes) {
      if (ln != 0) continue;
      wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
    }
  }
  return wins / (positives * negatives);
}

// An HTTP receiver on 127.0.0.1 that records the bodies POSTed to /hook and answers `status`.
// `on_post`, when set, runs while a POST is being answered (the platform is waiting for it).
class Receiver {
 public:
  explicit Receiver(int status = 200, std::function<void()> on_post = nullptr)
      : status_(status), on_post_(std::move(on_post)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(req.body);
      }
      if (on_post_) on_post_();
      res.status = status_;
      res.set_content("{\"ok\": true}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0) << "cannot listen on 127.0.0.1";
    if (port_ <= 0) return;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() only ends a loop that has started.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() { Stop(); }
  // Stops listening: later POSTs to url() are refused.
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  const int status_;
  const std::function<void()> on_post_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

class MonitorPlatformTest : public RegistryFixture {
 protected:
  void SetUp() override {
    ::unsetenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS");
    RegistryFixture::SetUp();
    hmda_ = *ReadFile((dir_ / "hmda.csv").string());
  }
  void TearDown() override { ::unsetenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS"); }

  // The baseline stored with credit@1, as model.show names it.
  monitor::Baseline StoredBaseline() {
    const Json shown = Show("credit", 1);
    EXPECT_TRUE(shown["evidence"].contains("baseline")) << shown["evidence"].dump();
    const std::string bytes = Bytes(victor_, shown["evidence"].value("baseline", ""));
    Json j = Json::parse(bytes, nullptr, false);
    EXPECT_TRUE(j.is_object()) << bytes.substr(0, 200);
    auto b = monitor::BaselineFromJson(j);
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? *b : monitor::Baseline();
  }

  // hmda.csv with `column` moved by `delta`.
  std::string Shift(const std::string& column, double delta) {
    std::stringstream in(hmda_);
    std::string line, out;
    std::getline(in, line);
    out = line + "\n";
    const std::vector<std::string> header = Fields(line);
    const size_t col =
        std::find(header.begin(), header.end(), "\"" + column + "\"") - header.begin();
    EXPECT_LT(col, header.size()) << column;
    while (std::getline(in, line)) {
      std::vector<std::string> f = Fields(line);
      f[col] = Number(std::stod(f[col]) + delta);
      for (size_t i = 0; i < f.size(); ++i) out += (i == 0 ? "" : ",") + f[i];
      out += "\n";
    }
    return out;
  }

  // The model's scores on the rows of `csv`, computed here from the registered package.
  std::vector<double> Scores(const std::string& csv) {
    std::map<std::string, std::string> files;
    const Json shown = Show("credit", 1);
    for (const auto& [file, digest] : shown["files"].items()) {
      files[file] = Bytes(victor_, digest);
    }
    auto package = ParseModelPackage(std::move(files));
    EXPECT_TRUE(package.ok()) << package.status();
    if (!package.ok()) return {};
    auto scorer = LoadScorer(*package, ScorerOptions{1});
    EXPECT_TRUE(scorer.ok()) << scorer.status();
    auto table = ReadCsvBuffer(csv);
    EXPECT_TRUE(table.ok()) << table.status();
    if (!scorer.ok() || !table.ok()) return {};
    auto scores = (*scorer)->PredictTable(*table);
    EXPECT_TRUE(scores.ok()) << scores.status();
    return scores.ok() ? *scores : std::vector<double>();
  }

  // The rows of `csv` as the server's decision records carry them: {"inputs": {feature: value},
  // "score"}, numbers for numeric features and text for categorical ones.
  Json Rows(const std::string& csv, const monitor::Baseline& baseline,
            const std::vector<double>& scores) {
    std::stringstream in(csv);
    std::string line;
    std::getline(in, line);
    const std::vector<std::string> header = Fields(line);
    Json rows = Json::array();
    size_t row = 0;
    while (std::getline(in, line)) {
      const std::vector<std::string> f = Fields(line);
      Json inputs = Json::object();
      for (size_t i = 0; i < header.size(); ++i) {
        const monitor::FeatureBaseline* fb = baseline.Find(Unquote(header[i]));
        if (fb == nullptr) continue;
        if (fb->kind == monitor::FeatureKind::kNumeric) {
          inputs[fb->name] = std::stod(Unquote(f[i]));
        } else {
          inputs[fb->name] = Unquote(f[i]);
        }
      }
      rows.push_back({{"inputs", inputs}, {"score", scores.at(row++)}});
    }
    return rows;
  }

  StatusOr<Json> Drift(const std::string& token, Json input) {
    Json req = Version("credit", 1);
    req.update(input);
    return Call(token, "monitor.drift", req);
  }
  StatusOr<Json> Config(const std::string& token, const std::string& yaml) {
    Json req = Version("credit", 1);
    req["yaml"] = yaml;
    return Call(token, "monitor.config", req);
  }
  StatusOr<Json> Performance(const std::string& token, const std::string& env = "staging") {
    Json req = Version("credit", 1);
    req["environment"] = env;
    return Call(token, "monitor.performance", req);
  }
  Json Alerts() { return MustCall(victor_, "monitor.alerts", {{"name", "credit"}})["alerts"]; }
  // The stored alerts as a call made while another is in progress sees them (the clock stays).
  Json AlertsNow() {
    auto r = tp_->Call(victor_, "monitor.alerts", {{"project", kProject}, {"name", "credit"}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? (*r)["alerts"] : Json();
  }
  // Moves the alerts' table out of the way (and back), so that writing an alert fails.
  void HideAlertsTable() {
    Status s = Sql("ALTER TABLE monitor_alerts RENAME TO monitor_alerts_away", {});
    EXPECT_TRUE(s.ok()) << s;
  }
  void RestoreAlertsTable() {
    Status s = Sql("ALTER TABLE monitor_alerts_away RENAME TO monitor_alerts", {});
    EXPECT_TRUE(s.ok()) << s;
  }

  // feature -> status of a drift report.
  static std::map<std::string, std::string> Statuses(const Json& report) {
    std::map<std::string, std::string> out;
    for (const Json& f : report["features"]) out[f["name"]] = f["status"];
    return out;
  }
  static std::vector<std::string> Drifted(const Json& report) {
    std::vector<std::string> out;
    for (const Json& f : report["features"]) {
      if (f["status"] == "drift") out.push_back(f["name"]);
    }
    return out;
  }

  // What the inference server writes for credit@1 in staging: one record per HMDA row, 90 s
  // apart from 2026-02-25 (three UTC days), with the model's score; and a shadow record of the
  // first 300 requests with the opposite score, which is no decision of credit@1.
  struct Decision {
    std::string id;
    int64_t time;
    double score;
    int label;
  };
  std::vector<Decision> WriteDecisions() {
    const std::vector<double> scores = Scores(hmda_);
    std::vector<Decision> out;
    std::stringstream in(hmda_);
    std::string line;
    std::getline(in, line);
    const int64_t start = *ParseTime("2026-02-25T00:00:00Z");
    for (size_t i = 0; std::getline(in, line); ++i) {
      out.push_back({"req-" + std::to_string(i), start + static_cast<int64_t>(i) * 90'000'000,
                     scores.at(i), Unquote(Fields(line)[0]) == "yes" ? 1 : 0});
    }
    DecisionLogOptions options;
    options.dir = tp_->platform().home().dir + "/decisions/staging";
    options.segment_bytes = uint64_t{1} << 20;
    options.clock = &clock_;
    auto log = DecisionLog::Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return out;
    const std::string digest = Show("credit", 1)["digest"];
    for (size_t i = 0; i < out.size(); ++i) {
      DecisionRecord r;
      r.id = out[i].id;
      r.time = out[i].time;
      r.environment = "staging";
      r.model = "credit";
      r.version = 1;
      r.model_digest = digest;
      r.inputs = {{"row", i}};
      r.input_digest = Sha256Digest(r.inputs.dump());
      r.output = {{"probability", out[i].score}};
      r.latency_us = 40;
      r.route = "primary";
      EXPECT_TRUE((*log)->Append(r).ok());
      if (i < 300) {
        r.output = {{"probability", 1 - out[i].score}};
        r.route = "shadow";
        EXPECT_TRUE((*log)->Append(r).ok());
      }
    }
    EXPECT_TRUE((*log)->Close().ok());
    return out;
  }

  std::string hmda_;
};

TEST_F(MonitorPlatformTest, RegistrationFromARunStoresTheBaseline) {
  RunPipeline();
  const Json shown = Show("credit", 1);
  ASSERT_TRUE(shown["evidence"].contains("baseline")) << shown["evidence"].dump();
  const monitor::Baseline baseline = StoredBaseline();
  // Every model input is a monitored feature, with its values counted.
  ASSERT_FALSE(shown["manifest"]["inputs"].empty());
  for (const Json& in : shown["manifest"]["inputs"]) {
    const monitor::FeatureBaseline* f = baseline.Find(in["name"].get<std::string>());
    ASSERT_NE(f, nullptr) << in["name"];
    EXPECT_GT(f->values(), 0) << f->name;
  }
  EXPECT_EQ(baseline.features.size(), shown["manifest"]["inputs"].size());
  EXPECT_EQ(baseline.Find("deny"), nullptr);
  const monitor::FeatureBaseline* lvrat = baseline.Find(kShifted);
  ASSERT_NE(lvrat, nullptr);
  EXPECT_EQ(lvrat->kind, monitor::FeatureKind::kNumeric);
  // The score distribution: probabilities of the model on the data set.
  ASSERT_TRUE(baseline.score.has_value());
  EXPECT_EQ(baseline.score->missing, 0u);
  EXPECT_EQ(baseline.score->rows, baseline.rows);
  EXPECT_GE(*baseline.score->min, 0.0);
  EXPECT_LE(*baseline.score->max, 1.0);
  EXPECT_LT(*baseline.score->min, *baseline.score->max);
}

TEST_F(MonitorPlatformTest, DriftOfBatchesAndRowsIsReportedStoredAndAudited) {
  RunPipeline();
  // Nothing checked yet, nothing raised.
  EXPECT_TRUE(Alerts().empty());

  // The data the model was built on, unchanged: no feature drifts and nothing is raised.
  auto same = Drift(ana_, {{"data", Put(ana_, hmda_)}});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(Drifted((*same)["report"]).empty()) << (*same)["table"].get<std::string>();
  for (const auto& [name, status] : Statuses((*same)["report"])) {
    EXPECT_EQ(status, "ok") << name;
  }
  EXPECT_EQ((*same)["summary"]["drift"], 0);
  EXPECT_EQ((*same)["summary"]["rows"], 2380);
  EXPECT_TRUE((*same)["alerts"].empty());
  EXPECT_TRUE(Alerts().empty());

  // The loan-to-value ratio moved up by 1.5: that feature drifts, and only that one.
  const std::string shifted_csv = Shift(kShifted, 1.5);
  auto shifted = Drift(xenia_, {{"data", Put(ana_, shifted_csv)}, {"source", "march batch"}});
  ASSERT_TRUE(shifted.ok()) << shifted.status();
  const Json& report = (*shifted)["report"];
  EXPECT_THAT(Drifted(report), ElementsAre(kShifted)) << (*shifted)["table"].get<std::string>();
  for (const Json& f : report["features"]) {
    if (f["name"] == kShifted) {
      EXPECT_GT(f["psi"].get<double>(), 0.25);
      EXPECT_GT(f["ks"].get<double>(), 0.2);
    }
  }
  EXPECT_THAT((*shifted)["summary"]["drifted"].get<std::vector<std::string>>(),
              ElementsAre(kShifted));
  EXPECT_EQ((*shifted)["source"], "march batch");
  EXPECT_THAT((*shifted)["table"].get<std::string>(), HasSubstr(kShifted));
  // The default rules raise a critical PSI alert on the feature, returned and stored.
  const std::string report_id = (*shifted)["report_id"];
  ASSERT_FALSE((*shifted)["alerts"].empty());
  bool critical = false;
  for (const Json& a : (*shifted)["alerts"]) {
    if (a["feature"] == kShifted && a["rule"] == "feature-psi-critical") critical = true;
    EXPECT_EQ(a["webhook"], "none");  // no webhook configured
  }
  EXPECT_TRUE(critical) << (*shifted)["alerts"].dump();
  const Json stored = Alerts();
  ASSERT_EQ(stored.size(), (*shifted)["alerts"].size());
  std::set<std::string> returned_ids, stored_ids;
  for (const Json& a : (*shifted)["alerts"]) returned_ids.insert(a["id"].get<std::string>());
  bool stored_critical = false;
  for (const Json& a : stored) {
    stored_ids.insert(a["id"].get<std::string>());
    EXPECT_EQ(a["name"], "credit");
    EXPECT_EQ(a["version"], 1);
    EXPECT_FALSE(a["message"].get<std::string>().empty());
    if (a["feature"] == kShifted && a["severity"] == "critical") {
      stored_critical = true;
      EXPECT_EQ(a["rule"], "feature-psi-critical");
      EXPECT_EQ(a["metric"], "psi");
      EXPECT_GT(a["value"].get<double>(), 0.25);
      EXPECT_DOUBLE_EQ(a["threshold"].get<double>(), 0.25);
      EXPECT_THAT(a["message"].get<std::string>(), HasSubstr(kShifted));
      EXPECT_THAT(a["message"].get<std::string>(), HasSubstr("feature-psi-critical"));
    }
  }
  EXPECT_TRUE(stored_critical) << stored.dump();
  EXPECT_EQ(stored_ids, returned_ids);

  // Audited: who ran which check, with the stored report's id.
  Json tail = MustCall(tp_->admin(), "audit.tail", {{"n", 50}});
  bool audited = false;
  for (const Json& r : tail["records"]) {
    if (r["action"] == "monitor.drift" && r["outcome"] == "ok" &&
        r["details"].value("report_id", "") == report_id) {
      audited = true;
      EXPECT_EQ(r["actor"], "xenia");
      EXPECT_EQ(r["project"], kProject);
    }
  }
  EXPECT_TRUE(audited) << tail.dump();

  // The same rows sent as decision records give the same report.
  const monitor::Baseline baseline = StoredBaseline();
  auto rows = Drift(ana_, {{"rows", Rows(shifted_csv, baseline, Scores(shifted_csv))}});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)["summary"]["rows"], 2380);
  EXPECT_EQ((*rows)["source"], "2380 rows");
  EXPECT_THAT(Drifted((*rows)["report"]), ElementsAre(kShifted));
  std::map<std::string, Json> by_name;
  for (const Json& f : report["features"]) by_name[f["name"]] = f;
  ASSERT_EQ((*rows)["report"]["features"].size(), by_name.size());
  for (const Json& f : (*rows)["report"]["features"]) {
    const Json& batch = by_name[f["name"]];
    EXPECT_EQ(f["status"], batch["status"]) << f["name"];
    EXPECT_EQ(f["values"], batch["values"]) << f["name"];
    for (const char* metric : {"psi", "ks", "js"}) {
      if (batch[metric].is_null()) {
        EXPECT_TRUE(f[metric].is_null()) << f["name"] << " " << metric;
      } else {
        EXPECT_NEAR(f[metric].get<double>(), batch[metric].get<double>(), 1e-9)
            << f["name"] << " " << metric;
      }
    }
  }
  ASSERT_FALSE(report["score"].is_null());
  EXPECT_NEAR((*rows)["report"]["score"]["psi"].get<double>(), report["score"]["psi"].get<double>(),
              1e-9);

  // Neither nothing nor someone else's data: a batch must be held by the model's project.
  auto none = Drift(ana_, Json::object());
  EXPECT_TRUE(absl::IsInvalidArgument(none.status())) << none.status();
  auto empty = Drift(ana_, {{"rows", Json::array()}});
  EXPECT_TRUE(absl::IsInvalidArgument(empty.status())) << empty.status();
  tp_->MakeProject("treasury");
  const std::string olga = tp_->MakeUser("olga", "data-scientist", "treasury");
  const std::string their_csv = shifted_csv + "\n";  // bytes the project does not hold
  auto theirs = tp_->platform().PutArtifact(olga, "treasury", StringSource(&their_csv), "put");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  auto foreign = Drift(ana_, {{"data", (*theirs)["digest"]}});
  EXPECT_TRUE(absl::IsNotFound(foreign.status())) << foreign.status();
  EXPECT_EQ(Alerts().size(), stored.size() * 2);  // the rows check raised the same alerts again
}

TEST_F(MonitorPlatformTest, ConfigIsCheckedAndAlertsArePostedToTheWebhook) {
  RunPipeline();
  // What the store holds while the receiver is being told.
  std::mutex during_mu;
  Json during;
  Receiver receiver(200, [&] {
    Json now = AlertsNow();
    std::lock_guard<std::mutex> lock(during_mu);
    during = now;
  });
  const std::string yaml = R"(alerts:
  - name: ltv-shift
    metric: psi
    features: [lvrat]
    above: 0.25
    severity: critical
webhook:
  url: )" + receiver.url() +
                           "\n";

  // A rule on a feature the model does not have, or a file that is not a config: refused, saying
  // where.
  auto bad = Config(ana_, R"(alerts:
  - name: income-ks
    metric: ks
    features: [annual_inc]
    above: 0.15
)");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("monitor.yaml:4"));
  EXPECT_THAT(Msg(bad), HasSubstr("'annual_inc' is not monitored"));
  bad = Config(ana_, "alerts:\n  - name: a\n    metric: pis\n    above: 1\n");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), HasSubstr("monitor.yaml:3:"));
  EXPECT_THAT(Msg(bad), HasSubstr("pis"));
  bad = Config(ana_, "alerts: [\n  {name: a\n");
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_THAT(Msg(bad), ::testing::ContainsRegex("monitor\\.yaml:[0-9]+"));

  auto applied = Config(ana_, yaml);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ((*applied)["rules"], 1);
  EXPECT_EQ((*applied)["webhook"], true);

  // The receiver is on a loopback address: refused unless private webhooks are allowed. The
  // check itself succeeds and its alert says what happened to the post.
  const std::string shifted = Put(ana_, Shift(kShifted, 1.5));
  auto refused = Drift(ana_, {{"data", shifted}});
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_EQ((*refused)["alerts"].size(), 1u) << (*refused)["alerts"].dump();
  EXPECT_EQ((*refused)["alerts"][0]["rule"], "ltv-shift");
  EXPECT_THAT((*refused)["alerts"][0]["webhook"].get<std::string>(), HasSubstr("private address"));
  EXPECT_TRUE(receiver.bodies().empty());
  ASSERT_EQ(Alerts().size(), 1u);
  EXPECT_THAT(Alerts()[0]["webhook"].get<std::string>(), HasSubstr("private address"));

  // Allowed: one POST with every alert of the check.
  ASSERT_EQ(::setenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS", "1", 1), 0);
  auto posted = Drift(ana_, {{"data", shifted}});
  ASSERT_TRUE(posted.ok()) << posted.status();
  const std::vector<std::string> bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  const Json payload = Json::parse(bodies[0], nullptr, false);
  ASSERT_TRUE(payload.is_object()) << bodies[0];
  EXPECT_EQ(payload["model"], "credit");
  EXPECT_EQ(payload["version"], 1);
  EXPECT_EQ(payload["project"], kProject);
  EXPECT_EQ(payload["report_id"], (*posted)["report_id"]);
  ASSERT_EQ(payload["alerts"].size(), 1u);
  EXPECT_EQ(payload["alerts"][0]["rule"], "ltv-shift");
  EXPECT_EQ(payload["alerts"][0]["feature"], kShifted);
  EXPECT_EQ(payload["alerts"][0]["severity"], "critical");
  ASSERT_EQ((*posted)["alerts"].size(), 1u);
  EXPECT_EQ((*posted)["alerts"][0]["webhook"], "http 200");
  const Json stored = Alerts();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0]["webhook"], "http 200");  // newest first, no longer pending
  EXPECT_EQ(stored[0]["id"], (*posted)["alerts"][0]["id"]);
  // The payload names the stored alerts.
  EXPECT_EQ(payload["alerts"][0]["id"], stored[0]["id"]);
  // The POST came after the commit: the receiver could already read the alert, still pending.
  {
    std::lock_guard<std::mutex> lock(during_mu);
    ASSERT_EQ(during.size(), 2u) << during.dump();
    EXPECT_EQ(during[0]["id"], stored[0]["id"]);
    EXPECT_EQ(during[0]["webhook"], "pending");
  }

  // Unchanged data raises nothing, so nothing is posted.
  auto quiet = Drift(ana_, {{"data", Put(ana_, hmda_)}});
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  EXPECT_TRUE((*quiet)["alerts"].empty());
  EXPECT_EQ(receiver.bodies().size(), 1u);
}

// The config of the ltv-shift rule, posting to `url`.
std::string LtvShiftConfig(const std::string& url) {
  return "alerts:\n  - name: ltv-shift\n    metric: psi\n    features: [lvrat]\n"
         "    above: 0.25\n    severity: critical\nwebhook:\n  url: " +
         url + "\n";
}

TEST_F(MonitorPlatformTest, WebhookFailuresAreStoredAndNeverFailTheCheck) {
  RunPipeline();
  ASSERT_EQ(::setenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS", "1", 1), 0);
  const std::string shifted = Put(ana_, Shift(kShifted, 1.5));

  // The receiver answers 500: its status is recorded and the check succeeds.
  Receiver erring(500);
  ASSERT_TRUE(Config(ana_, LtvShiftConfig(erring.url())).ok());
  auto checked = Drift(ana_, {{"data", shifted}});
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_EQ((*checked)["alerts"].size(), 1u);
  EXPECT_EQ((*checked)["alerts"][0]["webhook"], "http 500");
  EXPECT_EQ(erring.bodies().size(), 1u);
  Json stored = Alerts();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0]["id"], (*checked)["alerts"][0]["id"]);
  EXPECT_EQ(stored[0]["webhook"], "http 500");

  // Nobody listens: the connection is refused, the alert says so, the check succeeds.
  Receiver gone;
  gone.Stop();
  ASSERT_TRUE(Config(ana_, LtvShiftConfig(gone.url())).ok());
  checked = Drift(ana_, {{"data", shifted}});
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_EQ((*checked)["alerts"].size(), 1u);
  const std::string refused = (*checked)["alerts"][0]["webhook"];
  EXPECT_THAT(refused, ::testing::StartsWith("failed: "));
  stored = Alerts();
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0]["id"], (*checked)["alerts"][0]["id"]);
  EXPECT_EQ(stored[0]["webhook"], refused);

  // The POST succeeds but its outcome cannot be stored: the alert stays pending, the check
  // succeeds and returns what the receiver answered.
  Receiver hiding(200, [this] { HideAlertsTable(); });
  ASSERT_TRUE(Config(ana_, LtvShiftConfig(hiding.url())).ok());
  checked = Drift(ana_, {{"data", shifted}});
  RestoreAlertsTable();
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_EQ((*checked)["alerts"].size(), 1u);
  EXPECT_EQ((*checked)["alerts"][0]["webhook"], "http 200");
  EXPECT_EQ(hiding.bodies().size(), 1u);
  stored = Alerts();
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0]["id"], (*checked)["alerts"][0]["id"]);
  EXPECT_EQ(stored[0]["webhook"], "pending");
}

TEST_F(MonitorPlatformTest, ACheckThatRollsBackPostsNothing) {
  RunPipeline();
  ASSERT_EQ(::setenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS", "1", 1), 0);
  Receiver receiver;
  ASSERT_TRUE(Config(ana_, LtvShiftConfig(receiver.url())).ok());
  const std::string shifted = Put(ana_, Shift(kShifted, 1.5));
  // The drift is computed and its alert raised, but the alert cannot be written: the check's
  // transaction rolls back and the receiver hears of nothing.
  HideAlertsTable();
  auto failed = Drift(ana_, {{"data", shifted}});
  RestoreAlertsTable();
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(receiver.bodies().empty());
  EXPECT_TRUE(Alerts().empty());
  auto none = Call(victor_, "monitor.report", Version("credit", 1));
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();

  // The same check once the store accepts it: posted once.
  auto checked = Drift(ana_, {{"data", shifted}});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(receiver.bodies().size(), 1u);
  ASSERT_EQ(Alerts().size(), 1u);
  EXPECT_EQ(Alerts()[0]["webhook"], "http 200");
}

TEST_F(MonitorPlatformTest, PerformanceAlertsArePostedAfterTheyAreStored) {
  RunPipeline();
  ASSERT_EQ(::setenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS", "1", 1), 0);
  std::mutex during_mu;
  Json during;
  Receiver receiver(200, [&] {
    Json now = AlertsNow();
    std::lock_guard<std::mutex> lock(during_mu);
    during = now;
  });
  // An AUC floor no model clears, so the check raises one alert.
  ASSERT_TRUE(Config(ana_,
                     "alerts:\n  - name: auc-ceiling\n    metric: auc\n    below: 1.01\n"
                     "    window: overall\nwebhook:\n  url: " +
                         receiver.url() + "\n")
                  .ok());
  const std::vector<Decision> decisions = WriteDecisions();
  Json labels = Json::array();
  for (const Decision& d : decisions) labels.push_back({{"id", d.id}, {"label", d.label}});
  MustCall(ana_, "monitor.labels", {{"name", "credit"}, {"labels", labels}});

  auto perf = Performance(ana_);
  ASSERT_TRUE(perf.ok()) << perf.status();
  ASSERT_EQ((*perf)["alerts"].size(), 1u) << (*perf)["alerts"].dump();
  EXPECT_EQ((*perf)["alerts"][0]["rule"], "auc-ceiling");
  EXPECT_EQ((*perf)["alerts"][0]["webhook"], "http 200");
  const std::vector<std::string> bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  const Json payload = Json::parse(bodies[0], nullptr, false);
  ASSERT_TRUE(payload.is_object()) << bodies[0];
  EXPECT_EQ(payload["report_id"], (*perf)["report_id"]);
  ASSERT_EQ(payload["alerts"].size(), 1u);
  const Json stored = Alerts();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(payload["alerts"][0]["id"], stored[0]["id"]);
  EXPECT_EQ((*perf)["alerts"][0]["id"], stored[0]["id"]);
  EXPECT_EQ(stored[0]["webhook"], "http 200");
  std::lock_guard<std::mutex> lock(during_mu);
  ASSERT_EQ(during.size(), 1u) << during.dump();
  EXPECT_EQ(during[0]["id"], stored[0]["id"]);
  EXPECT_EQ(during[0]["webhook"], "pending");
}

TEST_F(MonitorPlatformTest, PerformanceJoinsLabelsWithDecisionRecords) {
  RunPipeline();
  // No labels yet.
  auto perf = Performance(ana_);
  EXPECT_TRUE(absl::IsFailedPrecondition(perf.status())) << perf.status();
  const std::vector<Decision> decisions = WriteDecisions();
  ASSERT_EQ(decisions.size(), 2380u);
  perf = Performance(ana_);
  EXPECT_TRUE(absl::IsFailedPrecondition(perf.status())) << perf.status();

  // A label is 0 or 1, for a decision id.
  auto bad = Call(ana_, "monitor.labels",
                  {{"name", "credit"}, {"labels", {{{"id", "req-1"}, {"label", 2}}}}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  bad = Call(ana_, "monitor.labels",
             {{"name", "credit"}, {"labels", {{{"id", "req-1"}, {"label", "1"}}}}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  bad = Call(ana_, "monitor.labels", {{"name", "nope"}, {"labels", Json::array()}});
  EXPECT_TRUE(absl::IsNotFound(bad.status())) << bad.status();

  // Outcomes of nine decisions in ten arrive, with some for requests no record holds.
  Json labels = Json::array();
  std::map<int64_t, std::vector<std::pair<double, int>>> by_day;
  std::vector<std::pair<double, int>> all;
  for (size_t i = 0; i < decisions.size(); ++i) {
    if (i % 10 == 0) continue;
    labels.push_back({{"id", decisions[i].id}, {"label", decisions[i].label}});
    by_day[decisions[i].time / 86'400'000'000].push_back({decisions[i].score, decisions[i].label});
    all.push_back({decisions[i].score, decisions[i].label});
  }
  for (int i = 0; i < 5; ++i) labels.push_back({{"id", "lost-" + std::to_string(i)}, {"label", 1}});
  Json loaded = MustCall(xenia_, "monitor.labels", {{"name", "credit"}, {"labels", labels}});
  EXPECT_EQ(loaded["loaded"], labels.size());

  perf = Performance(ana_);
  ASSERT_TRUE(perf.ok()) << perf.status();
  const Json& report = (*perf)["report"];
  EXPECT_EQ(report["rows"], all.size());
  EXPECT_EQ((*perf)["summary"]["rows"], all.size());
  ASSERT_EQ(report["windows"].size(), by_day.size());
  for (const Json& w : report["windows"]) {
    const int64_t day = w["start_micros"].get<int64_t>() / 86'400'000'000;
    ASSERT_TRUE(by_day.count(day)) << w["start"];
    const auto& outcomes = by_day[day];
    EXPECT_EQ(w["rows"], outcomes.size()) << w["start"];
    const std::optional<double> auc = DirectAuc(outcomes);
    ASSERT_TRUE(auc.has_value());
    EXPECT_NEAR(w["auc"].get<double>(), *auc, 1e-9) << w["start"];
  }
  const double overall = *DirectAuc(all);
  EXPECT_GT(overall, 0.7);  // a useful model, so a join with the wrong scores would show
  EXPECT_NEAR(report["overall"]["auc"].get<double>(), overall, 1e-9);
  EXPECT_NEAR((*perf)["summary"]["auc"].get<double>(), overall, 1e-9);
  // The default AUC floor (0.6) is not crossed.
  EXPECT_TRUE((*perf)["alerts"].empty()) << (*perf)["alerts"].dump();

  // A label loaded again replaces the first.
  for (size_t i = 1; i < 4; ++i) {
    MustCall(ana_, "monitor.labels",
             {{"name", "credit"},
              {"labels", {{{"id", decisions[i].id}, {"label", 1 - decisions[i].label}}}}});
    all[i - 1].second = 1 - all[i - 1].second;
  }
  perf = Performance(ana_);
  ASSERT_TRUE(perf.ok()) << perf.status();
  EXPECT_EQ((*perf)["report"]["rows"], all.size());
  EXPECT_NEAR((*perf)["report"]["overall"]["auc"].get<double>(), *DirectAuc(all), 1e-9);

  // Production has no decision records on this home.
  auto production = Performance(ana_, "production");
  EXPECT_TRUE(absl::IsFailedPrecondition(production.status())) << production.status();
  auto edge = Performance(ana_, "edge");
  EXPECT_TRUE(absl::IsInvalidArgument(edge.status())) << edge.status();
}

TEST_F(MonitorPlatformTest, TheReportShowsTheLatestChecks) {
  RunPipeline();
  auto none = Call(victor_, "monitor.report", Version("credit", 1));
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();

  ASSERT_TRUE(Drift(ana_, {{"data", Put(ana_, Shift(kShifted, 1.5))}}).ok());
  const std::vector<Decision> decisions = WriteDecisions();
  Json labels = Json::array();
  for (const Decision& d : decisions) labels.push_back({{"id", d.id}, {"label", d.label}});
  MustCall(ana_, "monitor.labels", {{"name", "credit"}, {"labels", labels}});
  ASSERT_TRUE(Performance(ana_).ok());

  Json page = MustCall(victor_, "monitor.report", Version("credit", 1));
  EXPECT_EQ(page["ref"], "credit@1");
  EXPECT_THAT(page["drift_check"]["drifted"].get<std::vector<std::string>>(),
              ElementsAre(kShifted));
  EXPECT_EQ(page["performance_check"]["rows"], decisions.size());
  EXPECT_GT(page["alerts"].get<int>(), 0);
  const std::string html = page["html"];
  for (const char* id :
       {"summary", "alerts", "features", "distributions", "score", "performance"}) {
    EXPECT_THAT(html, HasSubstr("id=\"" + std::string(id) + "\"")) << id;
  }
  EXPECT_THAT(html, HasSubstr(kShifted));
  EXPECT_THAT(html, HasSubstr("credit"));

  // The latest drift check is the one shown: unchanged data, nothing drifted.
  ASSERT_TRUE(Drift(ana_, {{"data", Put(ana_, hmda_)}}).ok());
  page = MustCall(victor_, "monitor.report", Version("credit", 1));
  EXPECT_TRUE(page["drift_check"]["drifted"].empty()) << page["drift_check"].dump();
}

TEST_F(MonitorPlatformTest, ViewersReadButDoNotRunChecks) {
  RunPipeline();
  const std::string data = Put(ana_, Shift(kShifted, 1.5));
  auto denied = Drift(victor_, {{"data", data}});
  EXPECT_TRUE(absl::IsPermissionDenied(denied.status())) << denied.status();
  denied = Config(victor_, "alerts: []\n");
  EXPECT_TRUE(absl::IsPermissionDenied(denied.status())) << denied.status();
  denied = Call(victor_, "monitor.labels",
                {{"name", "credit"}, {"labels", {{{"id", "req-1"}, {"label", 1}}}}});
  EXPECT_TRUE(absl::IsPermissionDenied(denied.status())) << denied.status();
  denied = Call(victor_, "monitor.performance", Version("credit", 1));
  EXPECT_TRUE(absl::IsPermissionDenied(denied.status())) << denied.status();
  EXPECT_TRUE(Alerts().empty());

  // Validators and deployers run checks; the viewer reads what they raised.
  auto checked = Drift(xenia_, {{"data", data}});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(Drift(dexter_, {{"data", data}}).ok());
  EXPECT_FALSE(Alerts().empty());
  EXPECT_TRUE(Call(victor_, "monitor.report", Version("credit", 1)).ok());
}

}  // namespace
}  // namespace plinth
