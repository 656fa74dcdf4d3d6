// End-to-end tests of deployments and the inference server in both modes, as a bank's people
// would go: a data scientist runs the credit-risk template (credit-risk@1, registered and signed);
// a validator signs it off for staging; a deployer deploys it with one command (others may not,
// and an unapproved environment is refused); `plinth serve --env staging` loads it after the
// platform verified it and answers Open Inference Protocol v2 requests with reason codes; every
// scored row is a decision record found by id and by time range; a stop takes effect at once and
// a new deployment brings it back without restarting the server; a version whose bytes changed
// in the artifact store is never loaded; /metrics speaks Prometheus; and SIGTERM stops cleanly.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

// RFC 3339 UTC with seconds, e.g. 2026-11-26T12:00:00Z.
std::string FormatRfc3339(int64_t micros) {
  std::time_t t = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class ServingE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("risk");
    ana_ = CreateUserWithToken("ana", "data-scientist", "risk");
    val_ = CreateUserWithToken("val", "validator", "risk");
    dep_ = CreateUserWithToken("dep", "deployer", "risk");
    ops_ = CreateUserWithToken("ops", "viewer", "risk");
    ASSERT_FALSE(ana_.empty() || val_.empty() || dep_.empty() || ops_.empty());
  }

  CommandResult InRisk(const std::string& token, std::vector<std::string> args,
                       bool json = false) const {
    args.push_back("--project");
    args.push_back("risk");
    if (json) args.insert(args.begin(), "--json");
    return cli_->Run(token, args);
  }

  // `plinth serve` in the mode under test, as `token`.
  ::testing::AssertionResult StartServe(ServerProcess& serve, const std::string& token,
                                        const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args;
    if (mode() == Mode::kRemote) {
      args = {"--server", server_.url()};
    } else {
      args = {"--home", home_.dir()};
    }
    args.insert(args.end(), {"--token", token, "serve", "--env", "staging", "--listen",
                             "127.0.0.1:0", "--decisions", decisions_, "--poll-ms", "100"});
    args.insert(args.end(), extra.begin(), extra.end());
    return serve.StartProgram(PlinthBinary(), args,
                              R"(^plinth serve: staging on http://([0-9.]+):([0-9]+) )");
  }

  // The first `n` rows of lending_club.csv as OIP named inputs (one tensor per feature).
  Json InferRequest(const Json& metadata, size_t n, const std::string& id, bool explain) {
    std::ifstream in(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    auto split = [](const std::string& line) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, ',');) {
        if (cell.size() >= 2 && cell.front() == '"') cell = cell.substr(1, cell.size() - 2);
        cells.push_back(cell);
      }
      return cells;
    };
    std::string line;
    std::getline(in, line);
    const std::vector<std::string> header = split(line);
    std::vector<std::vector<std::string>> rows;
    while (rows.size() < n && std::getline(in, line)) rows.push_back(split(line));
    Json inputs = Json::array();
    for (const Json& input : metadata["inputs"]) {
      const std::string name = input["name"];
      size_t col = std::find(header.begin(), header.end(), name) - header.begin();
      EXPECT_LT(col, header.size()) << name;
      Json data = Json::array();
      for (const auto& row : rows) {
        const std::string& cell = row.at(col);
        if (input["datatype"] == "BYTES") {
          data.push_back(cell);
        } else {
          data.push_back(cell.empty() || cell == "NA" ? Json(nullptr) : Json(std::stod(cell)));
        }
      }
      inputs.push_back({{"name", name},
                        {"datatype", input["datatype"]},
                        {"shape", {rows.size()}},
                        {"data", data}});
    }
    Json req = {{"id", id}, {"inputs", inputs}};
    if (explain) req["parameters"] = {{"explain", true}};
    return req;
  }

  // Polls `fn` until it returns true or 10 s pass (deployment changes reach the server within a
  // poll period).
  bool Eventually(const std::function<bool()>& fn) {
    for (int i = 0; i < 200; ++i) {
      if (fn()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::string ObjectPath(const std::string& digest) const {
    const std::string hex = digest.substr(std::string("sha256:").size());
    return home_.dir() + "/artifacts/objects/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2);
  }

  TempDir work_;
  std::string decisions_ = work_ / "decisions";
  std::string ana_, val_, dep_, ops_;
};

TEST_P(ServingE2eTest, DeployServeExplainRecordStopAndRefuseTampering) {
  // --- credit-risk@1, approved for staging. ---
  const std::string dir = work_ / "credit-risk";
  ASSERT_EQ(cli_->Run("", {"new", "credit-risk", dir, "--project", "risk"}).exit_code, 0);
  RunOptions train;
  train.timeout = std::chrono::seconds(300);
  train.env = {{"OMP_WAIT_POLICY", "passive"}};
  CommandResult run = cli_->Run(
      ana_,
      {"--json", "run", dir + "/pipeline.yaml", "--param", "trees=40", "--param", "tune_trials=2"},
      train);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();

  // Not approved for staging yet: refused (exit 5), and only deployers deploy (exit 4).
  CommandResult early = InRisk(dep_, {"deploy", "credit-risk@1", "--env", "staging"});
  EXPECT_EQ(early.exit_code, 5) << early.Describe();
  EXPECT_THAT(early.err, HasSubstr("not approved for staging"));
  ASSERT_EQ(InRisk(val_, {"models", "approve", "credit-risk@1", "--stage", "staging"}).exit_code,
            0);
  ASSERT_EQ(InRisk(ana_, {"models", "promote", "credit-risk@1", "--stage", "staging"}).exit_code,
            0);
  CommandResult by_author = InRisk(ana_, {"deploy", "credit-risk@1", "--env", "staging"});
  EXPECT_EQ(by_author.exit_code, 4) << by_author.Describe();
  CommandResult to_production = InRisk(dep_, {"deploy", "credit-risk@1", "--env", "production"});
  EXPECT_EQ(to_production.exit_code, 5) << to_production.Describe();
  CommandResult deployed = InRisk(dep_, {"deploy", "credit-risk@1", "--env", "staging"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.Describe();
  EXPECT_THAT(deployed.out, HasSubstr("staging now serves credit-risk@1"));
  CommandResult listed = cli_->Run(ops_, {"deploy", "list"});
  EXPECT_THAT(listed.out, HasSubstr("credit-risk")) << listed.Describe();

  // --- plinth serve: health, metadata, scoring with reason codes. ---
  ServerProcess serve;
  ASSERT_TRUE(StartServe(serve, ops_));
  auto http = serve.Client();
  auto ready = http->Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto meta = http->Get("/v2/models/credit-risk");
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->status, 200) << meta->body;
  const Json metadata = BodyJson(meta);
  EXPECT_EQ(metadata["versions"], Json::array({"1"}));
  ASSERT_GT(metadata["inputs"].size(), 10u);

  const int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const Json request = InferRequest(metadata, 3, "app-42", /*explain=*/true);
  auto scored = http->Post("/v2/models/credit-risk/infer", request.dump(), "application/json");
  ASSERT_TRUE(scored);
  ASSERT_EQ(scored->status, 200) << scored->body;
  const Json answer = BodyJson(scored);
  EXPECT_EQ(answer["id"], "app-42");
  EXPECT_EQ(answer["model_version"], "1");
  ASSERT_EQ(answer["outputs"][0]["name"], "probability");
  ASSERT_EQ(answer["outputs"][0]["data"].size(), 3u);
  for (const Json& p : answer["outputs"][0]["data"]) {
    EXPECT_GT(p.get<double>(), 0.0);
    EXPECT_LT(p.get<double>(), 1.0);
  }
  ASSERT_EQ(answer["outputs"][1]["name"], "reason_codes");
  ASSERT_EQ(answer["parameters"]["explanations"].size(), 3u);
  // The reason texts are the template's reasons.yaml, and every reason pushes towards default.
  bool texts = false;
  for (const Json& e : answer["parameters"]["explanations"]) {
    for (const Json& r : e["reasons"]) {
      EXPECT_GT(r["contribution"].get<double>(), 0.0);
      texts |=
          r["text"].get<std::string>().find("contributed to the decision") == std::string::npos;
    }
  }
  EXPECT_TRUE(texts) << answer["parameters"].dump();
  // The same rows without explanations give the same scores.
  auto plain = http->Post("/v2/models/credit-risk/infer",
                          InferRequest(metadata, 3, "app-43", false).dump(), "application/json");
  ASSERT_TRUE(plain);
  EXPECT_EQ(BodyJson(plain)["outputs"][0]["data"], answer["outputs"][0]["data"]);

  // Bad requests get clear errors and the server carries on.
  auto bad = http->Post("/v2/models/credit-risk/infer", "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(BodyJson(bad).contains("error"));
  Json wrong_shape = {
      {"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {1, 3}}, {"data", {1, 2, 3}}}}}};
  bad = http->Post("/v2/models/credit-risk/infer", wrong_shape.dump(), "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(BodyJson(bad)["error"].get<std::string>(), HasSubstr("features"));
  bad = http->Post("/v2/models/nope/infer", request.dump(), "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 404);

  // --- Decision records: by id and by time range. ---
  CommandResult shown =
      cli_->Run(ops_, {"--json", "decisions", "show", "app-42#1", "--decisions", decisions_});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  const Json record = shown.OutJson();
  EXPECT_EQ(record["model"], "credit-risk");
  EXPECT_EQ(record["version"], 1);
  EXPECT_EQ(record["environment"], "staging");
  EXPECT_EQ(record["route"], "primary");
  EXPECT_EQ(record["output"]["probability"], answer["outputs"][0]["data"][1]);
  EXPECT_EQ(record["reasons"], answer["parameters"]["explanations"][1]["reasons"]);
  EXPECT_THAT(record["input_digest"].get<std::string>(), HasSubstr("sha256:"));
  CommandResult missing =
      cli_->Run(ops_, {"decisions", "show", "no-such-id", "--decisions", decisions_});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
  const std::string from = FormatRfc3339(before);
  const std::string to = FormatRfc3339(before + 3600LL * 1000000);
  CommandResult exported = cli_->Run(
      ops_, {"decisions", "export", "--from", from, "--to", to, "--decisions", decisions_});
  ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
  size_t lines = 0;
  for (char c : exported.out) lines += c == '\n';
  EXPECT_EQ(lines, 6u) << exported.out;

  // --- Stop: at once, without restarting the server; a deployment brings it back. ---
  CommandResult stop = InRisk(val_, {"deploy", "stop", "credit-risk", "--env", "staging",
                                     "--reason", "unexplained score shift"});
  ASSERT_EQ(stop.exit_code, 0) << stop.Describe();
  EXPECT_TRUE(Eventually([&] {
    auto r = http->Post("/v2/models/credit-risk/infer", request.dump(), "application/json");
    return r && r->status == 503 && r->body.find("unexplained score shift") != std::string::npos;
  }));
  ASSERT_EQ(InRisk(dep_, {"deploy", "credit-risk@1", "--env", "staging"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] {
    auto r = http->Post("/v2/models/credit-risk/infer", request.dump(), "application/json");
    return r && r->status == 200;
  }));

  // --- Prometheus metrics. ---
  auto metrics = http->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->body, HasSubstr("plinth_infer_requests_total{model=\"credit-risk\"}"));
  EXPECT_THAT(metrics->body, HasSubstr("plinth_model_info{environment=\"staging\""));
  EXPECT_THAT(metrics->body, HasSubstr("plinth_infer_duration_seconds_bucket"));
  EXPECT_EQ(serve.Stop(SIGTERM), 0) << serve.Stderr();

  // --- A changed byte in the stored model: a new server never loads it. ---
  CommandResult v = InRisk(ops_, {"models", "show", "credit-risk@1"}, /*json=*/true);
  const std::string object = ObjectPath(v.OutJson()["files"]["model.json"]);
  std::filesystem::permissions(
      object, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::string original = ReadFileOrDie(object);
  std::string changed = original;
  changed[changed.size() / 2] ^= 0x01;
  WriteFileOrDie(object, changed);
  ServerProcess tampered;
  ASSERT_TRUE(StartServe(tampered, ops_));
  auto refused =
      tampered.Client()->Post("/v2/models/credit-risk/infer", request.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503) << refused->body;
  auto tampered_meta = tampered.Client()->Get("/v2/models/credit-risk");
  ASSERT_TRUE(tampered_meta);
  EXPECT_THAT(tampered_meta->body, HasSubstr("model.json")) << tampered_meta->body;
  EXPECT_EQ(tampered.Stop(SIGTERM), 0);
  WriteFileOrDie(object, original);

  // --- The audit chain holds the deployments. ---
  CommandResult history = InRisk(ops_, {"models", "history", "credit-risk"});
  EXPECT_THAT(history.out, HasSubstr("deployments")) << history.Describe();
  EXPECT_THAT(history.out, HasSubstr("stop"));
  CommandResult audit = cli_->Run(admin(), {"audit", "verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.Describe();
}

// A fraud model trained on the fraud_detection feature service's training set: a payment is sent
// with the customer's id and what is known at payment time only, and the customer's features are
// read from the online store, as `plinth features get` shows them.
TEST_P(ServingE2eTest, RowsByEntityIdLookTheirFeaturesUpInTheOnlineStore) {
  const std::string dir = work_ / "fraud";
  ASSERT_EQ(cli_->Run("", {"new", "fraud", dir, "--project", "risk"}).exit_code, 0);
  CommandResult run = cli_->Run(ana_, {"--json", "run", dir + "/pipeline.yaml", "--param",
                                       "trees=30", "--param", "max_depth=2"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  const std::string run_id = run.OutJson()["run_id"];
  ASSERT_EQ(
      InRisk(ana_, {"models", "register", "fraud", "--run", run_id, "--step", "train"}).exit_code,
      0);
  ASSERT_EQ(InRisk(ana_, {"models", "request-approval", "fraud@1", "--stage", "staging"}).exit_code,
            0);
  ASSERT_EQ(InRisk(val_, {"models", "approve", "fraud@1", "--stage", "staging"}).exit_code, 0);
  ASSERT_EQ(InRisk(ana_, {"models", "promote", "fraud@1", "--stage", "staging"}).exit_code, 0);
  CommandResult deployed = InRisk(dep_, {"deploy", "fraud@1", "--env", "staging"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.Describe();

  // The remote server's home is not this process's: name its online store.
  std::vector<std::string> extra;
  if (mode() == Mode::kRemote) extra = {"--online-store", home_.dir() + "/online"};
  ServerProcess serve;
  ASSERT_TRUE(StartServe(serve, ops_, extra));
  auto http = serve.Client();
  auto meta = http->Get("/v2/models/fraud");
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->status, 200) << meta->body;
  const Json metadata = BodyJson(meta);
  EXPECT_EQ(metadata["parameters"]["entity_keys"], Json::array({"customer_id"})) << meta->body;

  // The last payment of the data, sent by the customer's id and what the payment itself says.
  std::ifstream transactions(dir + "/data/transactions.csv");
  std::string line, last;
  while (std::getline(transactions, line)) {
    if (!line.empty()) last = line;
  }
  std::vector<std::string> cells;
  std::stringstream ss(last);
  for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
  ASSERT_GE(cells.size(), 7u) << last;
  const std::string customer = cells[1];
  const Json payment = {{"amount", std::stod(cells[3])},
                        {"merchant_category", cells[4]},
                        {"channel", cells[5]},
                        {"country", cells[6]}};
  auto request = [&](const std::string& id, const Json& features, bool with_key) {
    Json inputs = Json::array();
    auto add = [&](const std::string& name, const Json& value) {
      const bool text = value.is_string();
      inputs.push_back({{"name", name},
                        {"datatype", text ? "BYTES" : "FP64"},
                        {"shape", {1}},
                        {"data", {value}}});
    };
    if (with_key) add("customer_id", customer);
    for (const auto& [name, value] : payment.items()) add(name, value);
    for (const auto& [name, value] : features.items()) add(name, value);
    return Json{{"id", id}, {"inputs", inputs}}.dump();
  };

  // Never materialized: rows by id cannot be scored yet, and the answer says why.
  auto early = http->Post("/v2/models/fraud/infer", request("pay-0", Json::object(), true),
                          "application/json");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 503) << early->body;
  EXPECT_THAT(early->body, HasSubstr("never materialized"));

  CommandResult materialized = InRisk(
      ana_, {"features", "materialize", "customer_spend", "--until", "2026-03-02T00:00:00Z"});
  ASSERT_EQ(materialized.exit_code, 0) << materialized.Describe();
  CommandResult got =
      InRisk(ops_, {"features", "get", "fraud_detection", "--entity", customer}, /*json=*/true);
  ASSERT_EQ(got.exit_code, 0) << got.Describe();
  const Json stored = got.OutJson()["features"];
  ASSERT_TRUE(stored["mean_amount_30d"].is_number()) << stored.dump();

  // Picked up at the next poll, without a restart.
  ASSERT_TRUE(Eventually([&] {
    auto r = http->Post("/v2/models/fraud/infer", request("pay-1", Json::object(), true),
                        "application/json");
    return r && r->status == 200;
  })) << serve.Stderr();
  auto scored = http->Post("/v2/models/fraud/infer", request("pay-2", Json::object(), true),
                           "application/json");
  ASSERT_TRUE(scored);
  ASSERT_EQ(scored->status, 200) << scored->body;
  // The same payment with the stored features in the request scores the same.
  auto full =
      http->Post("/v2/models/fraud/infer", request("pay-3", stored, false), "application/json");
  ASSERT_TRUE(full);
  ASSERT_EQ(full->status, 200) << full->body;
  EXPECT_EQ(BodyJson(scored)["outputs"][0]["data"], BodyJson(full)["outputs"][0]["data"]);
  // A value the request gives wins over the store's.
  Json other = {{"txn_count_1h", 25}, {"spend_24h", 5000.0}};
  auto given =
      http->Post("/v2/models/fraud/infer", request("pay-4", other, true), "application/json");
  ASSERT_TRUE(given);
  ASSERT_EQ(given->status, 200) << given->body;

  // The decision record keeps the features as served.
  CommandResult shown =
      cli_->Run(ops_, {"--json", "decisions", "show", "pay-2", "--decisions", decisions_});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  const Json record = shown.OutJson();
  EXPECT_EQ(record["inputs"]["customer_id"], customer);
  EXPECT_EQ(record["inputs"]["mean_amount_30d"], stored["mean_amount_30d"]);
  EXPECT_EQ(record["inputs"]["amount"], payment["amount"]);
  shown = cli_->Run(ops_, {"--json", "decisions", "show", "pay-4", "--decisions", decisions_});
  EXPECT_EQ(shown.OutJson()["inputs"]["txn_count_1h"], 25) << shown.Describe();

  // Neither the id nor the features: a clear error naming the key.
  auto neither = http->Post("/v2/models/fraud/infer", request("pay-5", Json::object(), false),
                            "application/json");
  ASSERT_TRUE(neither);
  EXPECT_EQ(neither->status, 400) << neither->body;
  EXPECT_THAT(neither->body, HasSubstr("needs 'customer_id'"));

  auto metrics = http->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("plinth_feature_lookups_total{model=\"fraud\",version=\"1\"}"));
  EXPECT_EQ(serve.Stop(SIGTERM), 0) << serve.Stderr();
}

INSTANTIATE_TEST_SUITE_P(Modes, ServingE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
