// `plinth demo`: the whole journey in a fresh home (or --home DIR, left for exploring), through the
// same client interface the CLI uses: data registered and validated, features, the credit-risk
// pipeline, a registered and signed version with its documents, approvals by distinct people,
// deployment to staging, requests scored with reason codes and recorded, a shifted batch caught
// as drift with an alert, and the audit chain verified.

#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "cli/command_support.h"
#include "cli/output.h"
#include "cli/templates.h"
#include "core/clock.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "data/synth_transactions.h"
#include "edge/bundle.h"
#include "platform/home.h"
#include "steps/pipeline_runner.h"

#ifndef PLINTH_SOURCE_DIR
#define PLINTH_SOURCE_DIR "."
#endif

namespace plinth {
namespace {

// The file `sub/name` of the examples folder (sub is "data" or "suites"), or "" if not found.
std::string FindExample(const std::string& sub, const std::string& name) {
  std::string rel = sub + "/" + name;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PLINTH_EXAMPLES"); env != nullptr) {
    candidates.push_back(std::string(env) + "/" + rel);
  }
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back((exe.parent_path() / "../examples" / rel).string());
    candidates.push_back((exe.parent_path() / "../share/plinth/examples" / rel).string());
  }
  candidates.push_back(std::string(PLINTH_SOURCE_DIR) + "/examples/" + rel);
  for (const auto& c : candidates) {
    if (std::filesystem::exists(c, ec)) return std::filesystem::absolute(c).lexically_normal();
  }
  return "";
}

class DemoPrinter {
 public:
  explicit DemoPrinter(bool quiet) : quiet_(quiet) {}
  void Step(const std::string& title) {
    if (!quiet_) std::cout << "\n" << ++step_ << ". " << title << "\n";
  }
  void Ok(const std::string& text) {
    if (!quiet_) std::cout << "   ok       " << text << "\n";
  }
  // An action the platform must refuse; a success here is a failure of the demo.
  Status Refused(const std::string& what, const Status& s, absl::StatusCode expected) {
    if (s.code() != expected) {
      return absl::InternalError("demo: expected '" + what + "' to be refused with " +
                                 WireCodeFor(expected) + ", got: " + s.ToString());
    }
    if (!quiet_) {
      std::cout << "   refused  " << what << "\n            -> " << WireCodeFor(s.code())
                << " (exit " << ExitCodeFor(s) << "): " << s.message() << "\n";
    }
    return absl::OkStatus();
  }
  std::ostream& out() { return std::cout; }
  bool quiet() const { return quiet_; }

 private:
  bool quiet_;
  int step_ = 0;
};

// The feature store step: synthetic card transactions, the example feature definition, a
// training set built from a spine of labelled transactions (each row sees only its past), the
// online store filled and read, and the lineage that ties them together.
Status DemoFeatureStore(DemoPrinter& p, PlatformClient& frank, const std::string& home_dir) {
  p.Step("The fraud data scientist builds features without leakage (feature store)");
  std::string transactions = home_dir + "/../transactions.csv";
  SynthTransactionsOptions synth;
  synth.customers = 500;
  synth.days = 30;
  synth.seed = 7;
  SynthTransactionsStats stats;
  RETURN_IF_ERROR(WriteSyntheticTransactions(synth, transactions, &stats));
  ASSIGN_OR_RETURN(Json reg, frank.Upload("data.register",
                                          {{"project", "fraud"},
                                           {"name", "transactions"},
                                           {"timestamp", "timestamp"},
                                           {"entity", "customer_id"},
                                           {"target", "is_fraud"}},
                                          transactions, nullptr));
  p.Ok("synthetic transactions: " + std::to_string(stats.transactions) + " rows (" +
       std::to_string(stats.fraud_transactions) + " fraud) registered as transactions@" +
       reg["version"].get<std::string>().substr(0, 12));
  std::string definition_path = FindExample("features", "transactions.yaml");
  if (definition_path.empty()) return absl::NotFoundError("demo transactions.yaml not found");
  ASSIGN_OR_RETURN(std::string definition, ReadFile(definition_path));
  ASSIGN_OR_RETURN(Json applied, frank.Call("features.apply", {{"project", "fraud"},
                                                               {"definition", definition},
                                                               {"file", definition_path}}));
  ASSIGN_OR_RETURN(Json list, frank.Call("features.list", {{"project", "fraud"}}));
  const std::string view = list["views"][0]["name"];
  const std::string service = list["services"][0]["name"];
  p.Ok("applied transactions.yaml as definition #" + applied["seq"].dump() + ": view " + view +
       " (" + list["views"][0]["features"].dump() + " features, pinned to transactions@" +
       reg["version"].get<std::string>().substr(0, 12) + "), service " + service);

  // The spine: every 10th transaction, with its label, as a model would be trained on.
  ASSIGN_OR_RETURN(std::string csv, ReadFile(transactions));
  std::string spine = "customer_id,timestamp,is_fraud\n";
  size_t line_start = csv.find('\n') + 1;
  for (size_t row = 0; line_start < csv.size(); ++row) {
    size_t line_end = csv.find('\n', line_start);
    if (line_end == std::string::npos) line_end = csv.size();
    if (row % 10 == 0) {
      std::string line = csv.substr(line_start, line_end - line_start);
      size_t a = line.find(',');
      size_t b = line.find(',', a + 1);
      size_t c = line.find(',', b + 1);
      spine += line.substr(a + 1, c - a - 1) + "," + line.substr(line.rfind(',') + 1) + "\n";
    }
    line_start = line_end + 1;
  }
  std::string spine_path = home_dir + "/../spine.csv";
  RETURN_IF_ERROR(WriteFileAtomic(spine_path, spine, 0644, false));
  RETURN_IF_ERROR(frank
                      .Upload("data.register",
                              {{"project", "fraud"},
                               {"name", "labels"},
                               {"timestamp", "timestamp"},
                               {"target", "is_fraud"}},
                              spine_path, nullptr)
                      .status());
  ASSIGN_OR_RETURN(Json built,
                   frank.Call("features.training_set",
                              {{"project", "fraud"}, {"service", service}, {"spine", "labels"}}));
  std::string out = home_dir + "/../training_set.csv";
  RETURN_IF_ERROR(frank.GetArtifact(built["file_digest"], out, nullptr));
  p.Ok("training set: " + built["num_rows"].dump() + " labelled rows x " +
       built["num_columns"].dump() +
       " columns, each feature as known strictly before its row's "
       "time; recorded as " +
       built["name"].get<std::string>() + "@" + built["version"].get<std::string>().substr(0, 12) +
       ", written to " + std::filesystem::path(out).lexically_normal().string());

  std::string until = FormatTime(synth.start_micros + int64_t{30} * 86400 * 1000000);
  ASSIGN_OR_RETURN(Json mat, frank.Call("features.materialize",
                                        {{"project", "fraud"}, {"name", view}, {"until", until}}));
  p.Ok("materialized " + view + " until " + until + ": " + mat["entities"].dump() +
       " customers in the online store");
  ASSIGN_OR_RETURN(
      Json got, frank.Call("features.get",
                           {{"project", "fraud"}, {"service", service}, {"entity", "C00000001"}}));
  std::string shown;
  int n = 0;
  for (const auto& name : got["order"]) {
    if (n++ == 4) break;
    shown += (shown.empty() ? "" : ", ") + name.get<std::string>() + "=" +
             got["features"][name.get<std::string>()].dump();
  }
  p.Ok("online features of C00000001: " + shown + ", ...");
  ASSIGN_OR_RETURN(Json lineage, frank.Call("lineage.show", {{"project", "fraud"},
                                                             {"ref", "dataset/transactions"}}));
  p.Ok("lineage from transactions@" + reg["version"].get<std::string>().substr(0, 12) + ": " +
       std::to_string(lineage["nodes"].size()) + " objects, " +
       std::to_string(lineage["edges"].size()) +
       " links (plinth lineage dataset/transactions --project fraud)");
  return absl::OkStatus();
}

// The pipeline step: the credit-risk template scaffolded and run as is (ingest, validate, split,
// XGBoost and scorecard trained and evaluated, a tuning search in trial processes), then run
// again: every step comes from the cache.
Status DemoPipeline(DemoPrinter& p, PlatformClient& dana, const std::string& home_dir) {
  p.Step("The data scientist runs the credit-risk pipeline template (plinth new + plinth run)");
  const std::string dir = home_dir + "/../credit-risk";
  ASSIGN_OR_RETURN(Json written, WriteTemplate("credit-risk", dir, "credit-risk", false));
  p.Ok("plinth new credit-risk: " + std::to_string(written["files"].size()) +
       " files (pipeline.yaml, suite, search space, environments, data)");
  PipelineRunOptions options;
  options.project = "credit-risk";
  options.trial_command = {"/proc/self/exe", "internal", "trial"};
  options.params = {"tune_trials=8"};
  std::map<std::string, std::string> lines;
  ASSIGN_OR_RETURN(PipelineRunOutcome first,
                   RunPipelineOnPlatform(dana, dir + "/pipeline.yaml", options));
  RETURN_IF_ERROR(first.result.status);
  for (const auto& s : first.result.steps) {
    std::string line = s.name + ": " + pipeline::StepStateName(s.state) + " in " +
                       std::to_string((s.finished_micros - s.started_micros) / 1000) + " ms";
    for (const char* key : {"test_auc", "test_ks", "trials", "train_rows"}) {
      auto it = s.metrics.find(key);
      if (it == s.metrics.end()) continue;
      char buf[48];
      std::snprintf(buf, sizeof(buf), ", %s %.4g", key, it->second);
      line += buf;
    }
    p.Ok(line);
  }
  p.Ok("run " + first.run_id + ": a tracked run with " + std::to_string(first.result.steps.size()) +
       " executions in lineage (plinth pipelines show " + first.run_id + ")");
  ASSIGN_OR_RETURN(PipelineRunOutcome second,
                   RunPipelineOnPlatform(dana, dir + "/pipeline.yaml", options));
  RETURN_IF_ERROR(second.result.status);
  // Every step is reused except deploy, which reads the world (approvals, deployments).
  int cached = 0;
  for (const auto& s : second.result.steps) {
    if (s.state == pipeline::StepState::kCached || s.name == "deploy") ++cached;
  }
  p.Ok("run again: " + std::to_string(cached - 1) + " of " +
       std::to_string(second.result.steps.size()) + " steps cached (deploy always runs), in " +
       std::to_string((second.result.finished_micros - second.result.started_micros) / 1000) +
       " ms");
  if (cached != static_cast<int>(second.result.steps.size())) {
    return absl::InternalError("demo: the second run was not fully cached");
  }
  return absl::OkStatus();
}

// Registry and governance: the version the pipeline registered (signed, documented, awaiting
// approval), the credit policy pack, approvals by three different people, a refused
// self-approval and a refused double part, promotion to production, and the documents.
Status DemoGovernance(DemoPrinter& p, PlatformClient& admin,
                      std::map<std::string, std::unique_ptr<LocalPlatformClient>>& as,
                      const std::string& home_dir, Json* summary) {
  const Json model = {{"project", "credit-risk"}, {"name", "credit-risk"}, {"version", "latest"}};
  p.Step("The pipeline registered the tuned model: scanned, signed, documented, awaiting approval");
  ASSIGN_OR_RETURN(Json shown, as["victor"]->Call("model.show", model));
  const std::string ref = shown["ref"];
  Json at = model;
  at["version"] = std::to_string(shown["version"].get<int64_t>());
  p.Ok(ref + " (" + shown.value("kind", "") + "), digest " +
       shown.value("digest", "").substr(0, 19) + "..., stage " + shown.value("stage", ""));
  ASSIGN_OR_RETURN(Json verified, as["victor"]->Call("model.verify", at));
  p.Ok("plinth models verify: " + verified["files"].dump() + " files and " +
       std::to_string(verified["attestations"].size()) +
       " in-toto attestation(s) verified against the platform's Ed25519 key");
  p.Ok("import scan: " + std::string(shown["scan"].value("clean", false) ? "clean" : "FINDINGS") +
       "; documents: model card, validation report, lineage diagram");

  p.Step("An admin applies the credit policy pack; three different people approve");
  ASSIGN_OR_RETURN(Json applied,
                   admin.Call("policy.apply", {{"project", "credit-risk"}, {"builtin", "credit"}}));
  p.Ok("policy " + applied.value("name", "") + ": " + applied["rules"].dump() +
       " rules over the evidence (AUC, overfitting, PSI, fairness, card, validation)");
  // Dana leads the team and holds the approver role too, yet may not approve her own model.
  RETURN_IF_ERROR(
      admin.Call("user.grant", {{"name", "dana"}, {"role", "approver"}, {"project", "credit-risk"}})
          .status());
  Json staging = at;
  staging["stage"] = "staging";
  Json self = staging;
  self["as"] = "approver";
  RETURN_IF_ERROR(p.Refused("dana (author, also an approver) approves her own version",
                            as["dana"]->Call("approval.decide", self).status(),
                            absl::StatusCode::kPermissionDenied));
  staging["comment"] = "validation report reviewed; performance and fairness within limits";
  RETURN_IF_ERROR(as["victor"]->Call("approval.decide", staging).status());
  p.Ok("victor (validator) signs off " + ref + " for staging");
  RETURN_IF_ERROR(as["dana"]
                      ->Call("model.promote", {{"project", "credit-risk"},
                                               {"name", "credit-risk"},
                                               {"version", at["version"]},
                                               {"stage", "staging"}})
                      .status());
  p.Ok("dana promotes it to staging");
  Json production = at;
  production["stage"] = "production";
  RETURN_IF_ERROR(as["dana"]->Call("approval.request", production).status());
  RETURN_IF_ERROR(p.Refused("promotion to production before any sign-off",
                            as["dev"]->Call("model.promote", production).status(),
                            absl::StatusCode::kFailedPrecondition));
  Json validate = production;
  validate["comment"] = "independent validation complete (SR 11-7)";
  RETURN_IF_ERROR(as["victor"]->Call("approval.decide", validate).status());
  p.Ok("victor (validator) signs off for production");
  RETURN_IF_ERROR(p.Refused("victor also approves the same request",
                            as["victor"]->Call("approval.decide", production).status(),
                            absl::StatusCode::kPermissionDenied));
  Json approve = production;
  approve["comment"] = "approved by the model risk committee";
  approve["as"] = "approver";
  RETURN_IF_ERROR(as["avery"]->Call("approval.decide", approve).status());
  p.Ok("avery (approver) approves for production");
  ASSIGN_OR_RETURN(Json promoted, as["dev"]->Call("model.promote", production));
  p.Ok("dev (deployer) promotes: " + promoted.value("from", "") + " -> " +
       promoted.value("stage", "") + "; policy gate production passed, attestation " +
       promoted.value("attestation", "").substr(0, 19) + "...");
  ASSIGN_OR_RETURN(Json history, as["victor"]->Call("model.history", {{"project", "credit-risk"},
                                                                      {"name", "credit-risk"}}));
  p.Ok("stage history: " + std::to_string(history["events"].size()) +
       " changes, each signed (plinth models history credit-risk)");
  ASSIGN_OR_RETURN(verified, as["victor"]->Call("model.verify", at));
  p.Ok("verified again: " + std::to_string(verified["attestations"].size()) +
       " attestations (registration, each decision, each promotion)");

  p.Step("Documents generated from lineage");
  ASSIGN_OR_RETURN(shown, as["victor"]->Call("model.show", at));
  const std::string docs = std::filesystem::path(home_dir + "/../documents").lexically_normal();
  std::error_code ec;
  std::filesystem::create_directories(docs, ec);
  Json paths = Json::object();
  for (const char* name : {"card.html", "card.md", "report.html", "lineage.svg"}) {
    std::string out = docs + "/" + name;
    std::filesystem::remove(out, ec);
    RETURN_IF_ERROR(as["victor"]->GetArtifact(shown["documents"][name], out, nullptr));
    paths[name] = out;
    p.Ok(std::string(name) + ": " + out);
  }
  (*summary)["model"] = ref;
  (*summary)["stage"] = promoted.value("stage", "");
  (*summary)["documents"] = paths;
  return absl::OkStatus();
}

// Rows [begin, begin + n) of `table` as an Open Inference Protocol request with one named input
// per raw feature of the model (its metadata's inputs).
Json InferRequest(const Table& table, const Json& metadata, size_t begin, size_t n,
                  const std::string& id, bool explain) {
  Json inputs = Json::array();
  for (const Json& input : metadata["inputs"]) {
    const std::string name = input["name"];
    const Column* column = table.Find(name);
    Json data = Json::array();
    for (size_t r = begin; r < begin + n; ++r) {
      if (column == nullptr || column->IsNull(r)) {
        data.push_back(nullptr);
      } else if (column->type() == ColumnType::kString) {
        data.push_back(std::string(column->StringAt(r)));
      } else {
        data.push_back(column->NumberAt(r).value_or(0.0));
      }
    }
    inputs.push_back(
        {{"name", name}, {"datatype", input["datatype"]}, {"shape", {n}}, {"data", data}});
  }
  Json req = {{"id", id}, {"inputs", inputs}};
  if (explain) req["parameters"] = {{"explain", true}};
  return req;
}

// Deployment, serving, decision records and monitoring: the deployer deploys the approved version
// to staging with one command; an inference server in this process loads it (verified) and
// answers Open Inference Protocol requests with reason codes; each answer is a decision record;
// a shifted batch is detected as drift, raising alerts that reach a webhook.
Status DemoServing(DemoPrinter& p, std::map<std::string, std::unique_ptr<LocalPlatformClient>>& as,
                   const std::string& home_dir, const std::string& data, Json* summary) {
  const std::string ref = (*summary)["model"];
  const std::string version = ref.substr(ref.rfind('@') + 1);
  p.Step("The deployer deploys the approved version to staging with one command");
  Json deploy = {{"project", "credit-risk"},
                 {"name", "credit-risk"},
                 {"version", version},
                 {"environment", "staging"},
                 {"reason", "first release"}};
  Json early = deploy;
  early["environment"] = "production";
  early["name"] = "credit-risk";
  RETURN_IF_ERROR(p.Refused("dana (data scientist) deploys",
                            as["dana"]->Call("deployment.create", deploy).status(),
                            absl::StatusCode::kPermissionDenied));
  ASSIGN_OR_RETURN(Json deployed, as["dev"]->Call("deployment.create", deploy));
  p.Ok("plinth deploy " + ref +
       " --env staging: files re-hashed, attestations verified, deploy "
       "gate passed (generation " +
       deployed["generation"].dump() + ")");

  p.Step("plinth serve: Open Inference Protocol v2 with reason codes and decision records");
  ServingSessionOptions options;
  options.environment = "staging";
  options.decisions_dir = home_dir + "/decisions/staging";
  options.quiet = true;
  options.poll_ms = 200;
  ASSIGN_OR_RETURN(ServingSessionPtr session, StartServing(as["victor"].get(), options));
  const int port = ServingPort(*session);
  httplib::Client http("127.0.0.1", port);
  auto meta = http.Get("/v2/models/credit-risk");
  if (!meta || meta->status != 200) {
    return absl::InternalError("demo: the inference server does not serve credit-risk: " +
                               (meta ? meta->body : httplib::to_string(meta.error())));
  }
  const Json metadata = Json::parse(meta->body);
  p.Ok("listening on 127.0.0.1:" + std::to_string(port) + ": " + ref + ", " +
       std::to_string(metadata["inputs"].size()) + " raw inputs, preprocessing server-side");
  ASSIGN_OR_RETURN(Table table, ReadCsv(data));
  auto scored = http.Post("/v2/models/credit-risk/infer",
                          InferRequest(table, metadata, 0, 3, "application-1001", true).dump(),
                          "application/json");
  if (!scored || scored->status != 200) {
    return absl::InternalError("demo: scoring failed: " + (scored ? scored->body : "no answer"));
  }
  const Json answer = Json::parse(scored->body);
  for (size_t r = 0; r < 3; ++r) {
    const Json& e = answer["parameters"]["explanations"][r];
    std::string reasons;
    for (const Json& reason : e["reasons"]) {
      if (reasons.size() > 60) break;
      reasons += (reasons.empty() ? "" : "; ") + reason["code"].get<std::string>() + " " +
                 reason["text"].get<std::string>();
    }
    char line[64];
    std::snprintf(line, sizeof(line), "application-1001#%zu: P(default) = %.3f", r,
                  answer["outputs"][0]["data"][r].get<double>());
    p.Ok(std::string(line) + "; reasons: " + (reasons.empty() ? "none" : reasons));
  }
  // A hundred more single-row requests, as clients would send them.
  for (size_t r = 3; r < 103; ++r) {
    auto one = http.Post(
        "/v2/models/credit-risk/infer",
        InferRequest(table, metadata, r, 1, "application-" + std::to_string(1000 + r), false)
            .dump(),
        "application/json");
    if (!one || one->status != 200) return absl::InternalError("demo: a request failed");
  }
  auto metrics = http.Get("/metrics");
  const std::string metrics_text = metrics ? metrics->body : "";
  p.Ok(
      "103 requests answered; each row a decision record (plinth decisions show "
      "application-1001#0); /metrics: " +
      std::to_string(std::count(metrics_text.begin(), metrics_text.end(), '\n')) +
      " Prometheus lines");

  p.Step("A shifted batch is detected as drift; the alert reaches the team's webhook");
  // The team's webhook receiver, on this machine (private addresses are allowed for the demo).
  httplib::Server hook;
  std::atomic<int> posts{0};
  std::string received;
  std::mutex received_mu;
  hook.Post("/alerts", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(received_mu);
    received = req.body;
    posts++;
    res.set_content("{}", "application/json");
  });
  const int hook_port = hook.bind_to_any_port("127.0.0.1");
  std::thread hook_thread([&] { hook.listen_after_bind(); });
  setenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS", "1", 1);
  auto finish = [&]() {
    hook.stop();
    if (hook_thread.joinable()) hook_thread.join();
  };
  const std::string config =
      "alerts:\n"
      "  - name: feature-drift\n    metric: psi\n    features: [\"*\"]\n    above: 0.25\n"
      "    severity: critical\n"
      "  - name: score-drift\n    metric: score_psi\n    above: 0.25\n    severity: critical\n"
      "webhook:\n  url: http://127.0.0.1:" +
      std::to_string(hook_port) + "/alerts\n";
  auto configured = as["dana"]->Call("monitor.config", {{"project", "credit-risk"},
                                                        {"name", "credit-risk"},
                                                        {"version", version},
                                                        {"yaml", config},
                                                        {"file", "monitor.yaml"}});
  if (!configured.ok()) {
    finish();
    return configured.status();
  }
  // Next month's applications: rates six points higher, incomes 40% lower.
  std::ifstream in(data);
  std::string header;
  std::getline(in, header);
  std::vector<std::string> names;
  {
    std::stringstream hs(header);
    for (std::string cell; std::getline(hs, cell, ',');) {
      if (cell.size() >= 2 && cell.front() == '"') cell = cell.substr(1, cell.size() - 2);
      names.push_back(cell);
    }
  }
  const size_t rate = std::find(names.begin(), names.end(), "int_rate") - names.begin();
  const size_t income = std::find(names.begin(), names.end(), "annual_inc") - names.begin();
  std::string batch = header + "\n";
  std::string line;
  for (int n = 0; n < 3000 && std::getline(in, line); ++n) {
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
    auto shift = [&](size_t col, double add, double mul) {
      if (col >= cells.size() || cells[col].empty() || cells[col] == "NA") return;
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.2f", std::stod(cells[col]) * mul + add);
      cells[col] = buf;
    };
    shift(rate, 6.0, 1.0);
    shift(income, 0.0, 0.6);
    for (size_t c = 0; c < cells.size(); ++c) batch += (c ? "," : "") + cells[c];
    batch += "\n";
  }
  const std::string batch_path = home_dir + "/../next_month.csv";
  RETURN_IF_ERROR(WriteFileAtomic(batch_path, batch, 0644, /*overwrite=*/true));
  auto put = as["dana"]->PutArtifact("credit-risk", batch_path, nullptr);
  if (!put.ok()) {
    finish();
    return put.status();
  }
  auto drift = as["dana"]->Call("monitor.drift", {{"project", "credit-risk"},
                                                  {"name", "credit-risk"},
                                                  {"version", version},
                                                  {"data", (*put)["digest"]},
                                                  {"source", "next_month.csv"}});
  finish();
  if (!drift.ok()) return drift.status();
  const Json& ds = (*drift)["summary"];
  p.Ok("next_month.csv (" + ds["rows"].dump() + " rows): drift in " + ds["drifted"].dump() +
       ", score PSI " + (ds.contains("score_psi") ? ds["score_psi"].dump().substr(0, 5) : "-"));
  p.Ok(std::to_string((*drift)["alerts"].size()) + " alerts stored and audited; the webhook got " +
       std::to_string(posts.load()) + " POST listing them");
  if (posts.load() != 1) return absl::InternalError("demo: the webhook did not receive the alerts");
  const std::string docs = std::filesystem::path(home_dir + "/../documents").lexically_normal();
  RETURN_IF_ERROR(WriteFileAtomic(docs + "/monitor.html", (*drift)["html"].get<std::string>(), 0644,
                                  /*overwrite=*/true));
  p.Ok("monitoring report: " + docs + "/monitor.html");
  (*summary)["documents"]["monitor.html"] = docs + "/monitor.html";
  RETURN_IF_ERROR(StopServing(*session));
  (*summary)["serving"] = {{"environment", "staging"},
                           {"requests", 103},
                           {"decisions", home_dir + "/decisions/staging"}};
  (*summary)["drift"] = ds;
  return absl::OkStatus();
}

// The edge: the deployer exports a signed bundle of the approved version; it verifies offline
// (as `plinth-edge verify` does) against the platform's key, scores rows with no platform, and a
// changed byte is refused.
Status DemoEdge(DemoPrinter& p, std::map<std::string, std::unique_ptr<LocalPlatformClient>>& as,
                const std::string& home_dir, const std::string& data, Json* summary) {
  const std::string ref = (*summary)["model"];
  p.Step("An edge bundle: exported, verified offline, scored without the platform");
  const std::string out = std::filesystem::path(home_dir + "/../edge").lexically_normal();
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  ASSIGN_OR_RETURN(Json bundle, ExportEdgeBundle(*as["dev"],
                                                 {{"project", "credit-risk"},
                                                  {"name", "credit-risk"},
                                                  {"version", ref.substr(ref.rfind('@') + 1)}},
                                                 out, false));
  ASSIGN_OR_RETURN(std::string key, as["dev"]->PublicKey());
  ASSIGN_OR_RETURN(edge::VerifiedBundle verified, edge::VerifyBundle(out, key));
  p.Ok("plinth export edge " + ref + " --out " + out + ": compiled model (" +
       std::to_string(verified.model->num_trees()) + " trees), manifest, attestation, public key");
  p.Ok("plinth-edge verify: signature by the platform key, subjects, approval for " +
       verified.stage + ": intact");
  ASSIGN_OR_RETURN(Table table, ReadCsv(data));
  std::string scores;
  std::vector<float> buffer(verified.model->num_features());
  for (size_t r = 0; r < 3; ++r) {
    Json row = Json::object();
    for (const auto& [name, type] : verified.inputs) {
      const Column* c = table.Find(name);
      if (c == nullptr || c->IsNull(r)) {
        row[name] = nullptr;
      } else if (c->type() == ColumnType::kString) {
        row[name] = std::string(c->StringAt(r));
      } else {
        row[name] = c->NumberAt(r).value_or(0.0);
      }
    }
    ASSIGN_OR_RETURN(double score, verified.model->PredictJsonRow(row, buffer));
    char text[32];
    std::snprintf(text, sizeof(text), "%s%.3f", r ? ", " : "", score);
    scores += text;
  }
  p.Ok("plinth-edge score: the first rows of lending_club.csv -> " + scores +
       " (the same as the server)");
  // A changed byte in the compiled model: refused.
  const std::string tampered = out + ".tampered";
  std::filesystem::remove_all(tampered, ec);
  std::filesystem::copy(out, tampered, std::filesystem::copy_options::recursive, ec);
  ASSIGN_OR_RETURN(std::string plc, ReadFile(tampered + "/model.plc"));
  plc[plc.size() / 2] ^= 0x01;
  RETURN_IF_ERROR(WriteFileAtomic(tampered + "/model.plc", plc, 0644, /*overwrite=*/true));
  RETURN_IF_ERROR(p.Refused("a bundle with one byte of model.plc changed",
                            edge::VerifyBundle(tampered, key).status(),
                            absl::StatusCode::kDataLoss));
  std::filesystem::remove_all(tampered, ec);
  (*summary)["edge_bundle"] = out;
  return absl::OkStatus();
}

}  // namespace

Status RunDemo(const std::string& home_arg, bool json) {
  std::string home_dir = home_arg;
  if (home_dir.empty()) {
    char tmpl[] = "/tmp/plinth-demo-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return absl::InternalError("cannot create a temporary folder");
    home_dir = std::string(tmpl) + "/home";
  }
  DemoPrinter p(json);
  if (!json) {
    std::cout << "Plinth demo: a governed platform kernel in a fresh home\n";
  }

  p.Step("Create a home: SQLite metadata store, artifact folder, Ed25519 signing key");
  ASSIGN_OR_RETURN(InitResult init, Platform::Init(home_dir, ""));
  p.Ok("home " + init.home + " (first admin token shown once, kept in credentials, mode 0600)");
  ASSIGN_OR_RETURN(HomeConfig home, LoadHome(init.home));
  ASSIGN_OR_RETURN(std::unique_ptr<Platform> opened, Platform::Open(home));
  std::shared_ptr<Platform> platform = std::move(opened);
  LocalPlatformClient admin(platform, init.token);

  p.Step("An admin sets up a project and people in separate roles");
  RETURN_IF_ERROR(admin.Call("project.create", {{"name", "credit-risk"}}).status());
  RETURN_IF_ERROR(admin.Call("project.create", {{"name", "fraud"}}).status());
  p.Ok("projects credit-risk and fraud");
  struct Person {
    const char* name;
    const char* role;
    const char* project;
  };
  const Person people[] = {{"dana", "data-scientist", "credit-risk"},
                           {"victor", "validator", "credit-risk"},
                           {"avery", "approver", "credit-risk"},
                           {"dev", "deployer", "credit-risk"},
                           {"audra", "auditor", ""},
                           {"frank", "data-scientist", "fraud"}};
  std::map<std::string, std::unique_ptr<LocalPlatformClient>> as;
  for (const auto& person : people) {
    Json req = {{"name", person.name}, {"role", person.role}};
    if (*person.project) req["project"] = person.project;
    RETURN_IF_ERROR(admin.Call("user.create", req).status());
    ASSIGN_OR_RETURN(Json token,
                     admin.Call("token.create", {{"user", person.name}, {"ttl", "1d"}}));
    as[person.name] = std::make_unique<LocalPlatformClient>(platform, token["token"]);
    p.Ok(std::string(person.name) + ": " + person.role + " on " +
         (*person.project ? person.project : "every project") + ", token expires in 1 day");
  }

  p.Step("The data scientist stores a data set as a content-addressed artifact");
  std::string data = FindExample("data", "lending_club.csv");
  if (data.empty()) return absl::NotFoundError("demo data lending_club.csv not found");
  ASSIGN_OR_RETURN(Json put, as["dana"]->PutArtifact("credit-risk", data, nullptr));
  std::string digest = put["digest"];
  p.Ok("lending_club.csv -> " + digest + " (" + HumanBytes(put["size"].get<int64_t>()) + ")");
  ASSIGN_OR_RETURN(Json again, as["dana"]->PutArtifact("credit-risk", data, nullptr));
  p.Ok(std::string("stored again: same digest, not written twice: ") +
       (again["digest"] == put["digest"] ? "yes" : "NO"));
  std::string copy = home_dir + "/../lending_club.copy.csv";
  RETURN_IF_ERROR(as["victor"]->GetArtifact(digest, copy, nullptr));
  ASSIGN_OR_RETURN(std::string copy_digest, Sha256File(copy));
  if (copy_digest != digest) return absl::InternalError("demo: the copy does not match");
  p.Ok("the validator reads it back, verified on read: " + copy_digest.substr(0, 19) + "...");

  p.Step("The data scientist registers it as a governed, versioned data set");
  ASSIGN_OR_RETURN(Json registered, as["dana"]->Upload("data.register",
                                                       {{"project", "credit-risk"},
                                                        {"name", "lending"},
                                                        {"target", "Class"},
                                                        {"protected", "addr_state"}},
                                                       data, nullptr));
  std::string version = registered["version"];
  p.Ok("lending@" + version.substr(0, 12) + ": " + registered["num_rows"].dump() + " rows x " +
       registered["num_columns"].dump() + " columns; version = the file's digest");
  ASSIGN_OR_RETURN(Json profile, as["victor"]->Call("data.profile", {{"project", "credit-risk"},
                                                                     {"name", "lending"}}));
  for (const auto& c : profile["columns"]) {
    std::string name = c.value("name", "");
    if (name != "int_rate" && name != "annual_inc" && name != "Class") continue;
    std::string line = name + " (" + c.value("type", "") + "): " + c["nulls"].dump() + " nulls";
    if (c.contains("mean")) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), ", mean %.4g, p50 %.4g", c["mean"].get<double>(),
                    c["quantiles"]["p50"].get<double>());
      line += buf;
    }
    if (c.contains("top") && !c["top"].empty()) {
      line += ", top " + c["top"][0].value("value", "") + " (" + c["top"][0]["count"].dump() + ")";
    }
    p.Ok("profile: " + line);
  }

  p.Step("The data scientist validates it against a suite (nulls, ranges, rules, drift)");
  std::string suite_path = FindExample("suites", "lending_club.yaml");
  if (suite_path.empty()) return absl::NotFoundError("demo suite lending_club.yaml not found");
  ASSIGN_OR_RETURN(std::string suite_text, ReadFile(suite_path));
  ASSIGN_OR_RETURN(Json validation, as["dana"]->Call("data.validate", {{"project", "credit-risk"},
                                                                       {"name", "lending"},
                                                                       {"suite", suite_text},
                                                                       {"suite_file", suite_path},
                                                                       {"reference", "lending"}}));
  const Json& vr = validation["result"];
  p.Ok(std::string("suite ") + vr.value("suite", "") + ": " +
       std::to_string(vr["expectations"].size()) + " expectations, " +
       (vr.value("passed", false) ? "passed" : "FAILED") + " (result recorded and audited)");

  RETURN_IF_ERROR(DemoFeatureStore(p, *as["frank"], home_dir));
  RETURN_IF_ERROR(DemoPipeline(p, *as["dana"], home_dir));
  Json governance = Json::object();
  RETURN_IF_ERROR(DemoGovernance(p, admin, as, home_dir, &governance));
  RETURN_IF_ERROR(DemoServing(p, as, home_dir, data, &governance));
  RETURN_IF_ERROR(DemoEdge(p, as, home_dir, data, &governance));

  p.Step("The platform refuses what roles and projects do not allow");
  RETURN_IF_ERROR(p.Refused("the validator stores an artifact",
                            as["victor"]->PutArtifact("credit-risk", data, nullptr).status(),
                            absl::StatusCode::kPermissionDenied));
  RETURN_IF_ERROR(p.Refused("frank (fraud project) reads a credit-risk artifact",
                            as["frank"]->GetArtifact(digest, copy + ".2", nullptr),
                            absl::StatusCode::kNotFound));
  RETURN_IF_ERROR(
      p.Refused("the data scientist creates a user",
                as["dana"]->Call("user.create", {{"name", "mallory"}, {"role", "admin"}}).status(),
                absl::StatusCode::kPermissionDenied));
  ASSIGN_OR_RETURN(Json dana_tokens, as["dana"]->Call("token.list", Json::object()));
  std::string dana_token_id = dana_tokens["tokens"][0]["id"];
  RETURN_IF_ERROR(admin.Call("token.revoke", {{"id", dana_token_id}}).status());
  RETURN_IF_ERROR(p.Refused("dana's token after the admin revoked it",
                            as["dana"]->Call("whoami", Json::object()).status(),
                            absl::StatusCode::kUnauthenticated));

  p.Step("The auditor verifies the hash-chained, signed audit log");
  ASSIGN_OR_RETURN(Json verify, as["audra"]->Call("audit.verify", Json::object()));
  if (!verify.value("ok", false)) {
    return absl::DataLossError("demo: audit chain broken: " + verify.value("reason", ""));
  }
  p.Ok("audit chain intact: " + verify["records"].dump() + " records, " +
       verify["checkpoints"].dump() + " signed checkpoints");
  ASSIGN_OR_RETURN(Json tail, as["audra"]->Call("audit.tail", {{"n", 8}}));
  if (!p.quiet()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : tail["records"]) {
      rows.push_back({Cell(r["seq"]), Cell(r["actor"]), Cell(r["action"]), Cell(r["resource"]),
                      Cell(r["outcome"])});
    }
    std::cout << "\n";
    PrintTable(std::cout, {"SEQ", "ACTOR", "ACTION", "RESOURCE", "OUTCOME"}, rows);
  }
  std::string export_path = home_dir + "/../audit-export.jsonl";
  RETURN_IF_ERROR(as["audra"]->ExportAudit(export_path));
  p.Ok("exported to " + std::filesystem::path(export_path).lexically_normal().string() +
       " (check it offline with `plinth audit verify --file`)");

  if (json) {
    std::cout << Json{{"home", init.home},
                      {"artifact", digest},
                      {"audit_records", verify["records"]},
                      {"audit_intact", true},
                      {"model", governance["model"]},
                      {"model_stage", governance["stage"]},
                      {"documents", governance["documents"]},
                      {"serving", governance["serving"]},
                      {"drift", governance["drift"]},
                      {"edge_bundle", governance["edge_bundle"]},
                      {"audit_export",
                       std::filesystem::path(export_path).lexically_normal().string()}}
                     .dump(2, ' ', false, Json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << "\nDone. Explore the home yourself:\n"
              << "  plinth --home " << init.home << " audit tail\n"
              << "  plinth --home " << init.home << " user list\n"
              << "  plinth --home " << init.home << " models list --project credit-risk\n"
              << "  plinth --home " << init.home
              << " models history credit-risk --project credit-risk\n"
              << "  plinth --home " << init.home
              << " deploy list                      # credit-risk@1 serves staging\n"
              << "  plinth --home " << init.home << " serve --env staging --listen 127.0.0.1:8080\n"
              << "  plinth --home " << init.home
              << " decisions show application-1001#0 --env staging\n"
              << "  plinth --home " << init.home
              << " monitor alerts credit-risk --project credit-risk\n"
              << "  plinth --home " << init.home << " server --listen 127.0.0.1:8080\n";
  }
  return absl::OkStatus();
}

}  // namespace plinth
