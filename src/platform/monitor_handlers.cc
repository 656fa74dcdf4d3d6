// Monitoring (docs/monitoring.md) on the platform:
//
//   baseline at registration   ComputeAndStoreBaseline: the training data set's feature and score
//                              distributions, stored as an artifact named in the version's
//                              evidence refs ("baseline").
//   monitor.config             alert thresholds (YAML) for a model, checked against its baseline.
//   monitor.drift              drift of a batch (an uploaded CSV) or of rows (decision records
//                              sent by the CLI) against the baseline; alerts evaluated, stored
//                              and audited, then, once committed, POSTed to the config's webhook.
//   monitor.labels             ground truth arriving later, keyed by decision record id.
//   monitor.performance        AUC, KS, calibration over time: labels joined with the decision
//                              records of an environment (on this home's disk); alerts as for
//                              drift.
//   monitor.report             the HTML report of the latest drift and performance checks.
//   monitor.alerts             alerts raised, newest first.
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "monitor/alerts.h"
#include "monitor/baseline.h"
#include "monitor/drift.h"
#include "monitor/monitor_report.h"
#include "monitor/performance.h"
#include "platform/dataset_access.h"
#include "platform/model_registry.h"
#include "platform/platform.h"
#include "serve/decision_log.h"
#include "serve/webhook.h"
#include "train/model_package.h"

namespace plinth {

StatusOr<std::string> ComputeAndStoreBaseline(OpContext& ctx, const Project& p,
                                              const ModelPackage& package) {
  if (package.manifest.lineage.datasets.empty()) return std::string();
  const ModelDatasetRef& ref = package.manifest.lineage.datasets[0];
  auto id = FindDatasetId(ctx.tx, p, ref.name);
  if (!id.ok()) return std::string();  // imported: no data set here, no baseline yet
  auto version = FindVersion(ctx.tx, *id, ref.name, ref.version);
  if (!version.ok()) return std::string();
  ASSIGN_OR_RETURN(Table table, LoadSnapshot(ctx.platform.artifacts(), *version));
  ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(package, ScorerOptions{1}));
  ASSIGN_OR_RETURN(std::vector<double> scores, scorer->PredictTable(table));
  std::vector<std::string> features;
  for (const ModelInput& in : package.manifest.inputs) features.push_back(in.name);
  ASSIGN_OR_RETURN(monitor::Baseline baseline, monitor::ComputeBaseline(table, features, scores));
  Json j = monitor::BaselineToJson(baseline);
  j["dataset"] = {{"name", ref.name}, {"version", ref.version}, {"digest", ref.digest}};
  return StoreArtifact(ctx, p, DumpJson(j, 0));
}

namespace {

// A REAL (or INTEGER) cell; 0 for NULL.
double DoubleAt(const QueryResult& r, size_t row, size_t col) {
  const SqlValue& v = r.rows[row][col];
  if (const double* d = std::get_if<double>(&v)) return *d;
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return 0;
}

StatusOr<monitor::Baseline> LoadBaseline(OpContext& ctx, const ModelVersionRow& v) {
  if (!v.evidence.contains("baseline") || !v.evidence["baseline"].is_string()) {
    return absl::FailedPreconditionError(
        v.Ref() + " has no baseline: it was not registered from a run whose data set is in the " +
        "project");
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadArtifact(ctx, v.evidence["baseline"].get<std::string>()));
  Json j = Json::parse(bytes, nullptr, false);
  if (j.is_discarded()) return absl::DataLossError(v.Ref() + ": the stored baseline is not JSON");
  auto b = monitor::BaselineFromJson(j);
  if (!b.ok()) {
    return absl::DataLossError(v.Ref() + ": stored baseline: " + std::string(b.status().message()));
  }
  return b;
}

StatusOr<monitor::MonitorConfig> LoadConfig(OpContext& ctx, const Project& p,
                                            const std::string& name) {
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT yaml, applied_at FROM monitor_configs "
                                               "WHERE project_id = ? AND name = ?",
                                               {p.id, name}));
  if (r.rows.empty()) return monitor::DefaultMonitorConfig();
  auto config = monitor::ParseMonitorConfig(r.TextOrEmpty(0, 0), name + ".monitor.yaml");
  if (!config.ok()) {
    return absl::DataLossError("the stored monitor config of " + name +
                               " no longer parses: " + std::string(config.status().message()));
  }
  return config;
}

StatusOr<ModelPackage> LoadPackage(OpContext& ctx, const ModelVersionRow& v) {
  std::map<std::string, std::string> files;
  for (const auto& [file, digest] : v.files.items()) {
    ASSIGN_OR_RETURN(files[file], ReadArtifact(ctx, digest.get<std::string>()));
  }
  return ParseModelPackage(std::move(files));
}

// The POST of a check's alerts to the config's webhook, made once the check has committed.
struct PendingWebhook {
  std::string url;
  Json payload;
  WebhookOptions options;
  std::vector<std::string> alert_ids;  // the stored rows, "pending" until the POST is done
};

struct RaisedAlerts {
  Json alerts = Json::array();  // as returned: with their ids and "webhook"
  std::optional<PendingWebhook> webhook;
};

// Stores the alerts of a check, with webhook status "pending" when the config names a webhook
// ("none" otherwise). The POST itself waits for the commit (PostAlertsAfterCommit): a slow
// receiver must not hold the transaction open, and a check that rolls back posts nothing.
StatusOr<RaisedAlerts> RaiseAlerts(OpContext& ctx, const Project& p, const ModelVersionRow& v,
                                   const monitor::MonitorConfig& config,
                                   const std::string& report_id,
                                   const std::vector<monitor::Alert>& alerts) {
  RaisedAlerts out;
  if (alerts.empty()) return out;
  const std::string webhook_status = config.webhook_url.empty() ? "none" : "pending";
  Json posted_alerts = Json::array();
  const int64_t now = ctx.platform.clock()->NowMicros();
  std::vector<std::string> ids;
  for (const auto& a : alerts) {
    const std::string id = NewId(*ctx.platform.clock());
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO monitor_alerts (id, project_id, name, version, report_id, rule, metric, "
        "feature, value, threshold, severity, message, webhook_status, at) VALUES (?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {id, p.id, v.name, v.version, report_id, a.rule, monitor::AlertMetricName(a.metric),
         a.feature, a.value, a.threshold, monitor::AlertSeverityName(a.severity), a.message,
         webhook_status, now}));
    Json j = monitor::AlertToJson(a);
    j["id"] = id;
    posted_alerts.push_back(j);
    j["webhook"] = webhook_status;
    out.alerts.push_back(j);
    ids.push_back(id);
  }
  if (!config.webhook_url.empty()) {
    PendingWebhook hook;
    hook.url = config.webhook_url;
    hook.payload = {{"source", "plinth"},   {"project", p.name},      {"model", v.name},
                    {"version", v.version}, {"report_id", report_id}, {"alerts", posted_alerts}};
    const char* allow = std::getenv("PLINTH_ALLOW_PRIVATE_WEBHOOKS");
    hook.options.allow_private = allow != nullptr && std::string(allow) == "1";
    hook.alert_ids = std::move(ids);
    out.webhook = std::move(hook);
  }
  return out;
}

// POSTs the alerts and records the outcome ("http 200", "failed: ...") on their rows, in a
// transaction of its own. Returns the outcome. A failed update leaves the rows "pending"; the
// check has committed, so neither a failed POST nor a failed update fails it.
std::string DeliverAlerts(MetadataStore& store, const PendingWebhook& hook) {
  auto posted = PostWebhook(hook.url, hook.payload, hook.options);
  const std::string status = posted.ok() ? "http " + std::to_string(*posted)
                                         : "failed: " + std::string(posted.status().message());
  store
      .RunInTransaction([&](Transaction& tx) -> Status {
        for (const std::string& id : hook.alert_ids) {
          RETURN_IF_ERROR(
              tx.Execute("UPDATE monitor_alerts SET webhook_status = ? WHERE id = ? AND "
                         "webhook_status = 'pending'",
                         {status, id}));
        }
        return absl::OkStatus();
      })
      .IgnoreError();
  return status;
}

// Has Platform::Call POST the raised alerts after the check's transaction commits, and return
// `result` with the POST's outcome as each posted alert's "webhook". Work the handler already
// scheduled after the transaction still runs, and its result is the one returned.
void PostAlertsAfterCommit(OpContext& ctx, const RaisedAlerts& raised, const Json& result) {
  if (!raised.webhook) return;
  Platform* platform = &ctx.platform;
  std::function<StatusOr<Json>()> before = std::move(ctx.after_transaction);
  ctx.after_transaction = [platform, hook = *raised.webhook, result,
                           before = std::move(before)]() -> StatusOr<Json> {
    const std::string status = DeliverAlerts(platform->store(), hook);
    StatusOr<Json> out = before ? before() : StatusOr<Json>(result);
    if (!out.ok()) return out;
    if (out->contains("alerts") && (*out)["alerts"].is_array()) {
      const std::set<std::string> ids(hook.alert_ids.begin(), hook.alert_ids.end());
      for (Json& a : (*out)["alerts"]) {
        if (a.is_object() && a.contains("id") && a["id"].is_string() &&
            ids.count(a["id"].get<std::string>()) > 0) {
          a["webhook"] = status;
        }
      }
    }
    return out;
  };
}

// Stores a check's report (JSON and HTML artifacts) and its row.
StatusOr<std::string> StoreReport(OpContext& ctx, const Project& p, const ModelVersionRow& v,
                                  const std::string& kind, const std::string& source, size_t rows,
                                  const Json& report, const Json& summary) {
  ASSIGN_OR_RETURN(std::string digest, StoreArtifact(ctx, p, DumpJson(report, 0)));
  const std::string id = NewId(*ctx.platform.clock());
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO monitor_reports (id, project_id, name, version, kind, source, rows, "
      "report_digest, summary_json, at, by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, p.id, v.name, v.version, kind, source, static_cast<int64_t>(rows), digest,
       summary.dump(), ctx.platform.clock()->NowMicros(), ctx.principal.user.name}));
  return id;
}

StatusOr<Json> MonitorConfigApply(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kMonitorWrite));
  const std::string file = Str(req, "file").empty() ? "monitor.yaml" : Str(req, "file");
  ASSIGN_OR_RETURN(monitor::MonitorConfig config,
                   monitor::ParseMonitorConfig(Str(req, "yaml"), file));
  ASSIGN_OR_RETURN(monitor::Baseline baseline, LoadBaseline(ctx, vp.version));
  RETURN_IF_ERROR(monitor::CheckMonitorConfig(config, baseline));
  const std::string digest = Sha256Digest(Str(req, "yaml"));
  RETURN_IF_ERROR(ctx.tx.Execute("DELETE FROM monitor_configs WHERE project_id = ? AND name = ?",
                                 {vp.project.id, vp.model.name}));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO monitor_configs (project_id, name, yaml, digest, applied_by, applied_at) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {vp.project.id, vp.model.name, Str(req, "yaml"), digest, ctx.principal.user.name,
       ctx.platform.clock()->NowMicros()}));
  ctx.audit.details = {{"digest", digest}, {"rules", config.rules.size()}};
  return Json{{"name", vp.model.name},
              {"digest", digest},
              {"rules", config.rules.size()},
              {"webhook", !config.webhook_url.empty()}};
}

// What a drift check compares with the baseline: an uploaded CSV (`data`, an artifact digest) or
// rows ({"inputs": {...}, "score"}) stored as an artifact, so a report can be rendered again
// from exactly the same input.
StatusOr<monitor::DriftReport> ComputeDrift(OpContext& ctx, const ModelVersionRow& v,
                                            const monitor::MonitorConfig& config,
                                            const monitor::Baseline& baseline, const Json& input,
                                            const std::string& source) {
  ASSIGN_OR_RETURN(monitor::DriftAccumulator acc,
                   monitor::DriftAccumulator::Create(baseline, config.thresholds));
  ASSIGN_OR_RETURN(ModelPackage package, LoadPackage(ctx, v));
  ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(package, ScorerOptions{1}));
  if (input.contains("data")) {
    ASSIGN_OR_RETURN(std::string bytes, ReadArtifact(ctx, input["data"].get<std::string>()));
    auto table = ReadCsvBuffer(bytes);
    if (!table.ok()) {
      return absl::InvalidArgumentError(source + ": " + std::string(table.status().message()));
    }
    ASSIGN_OR_RETURN(std::vector<double> scores, scorer->PredictTable(*table));
    RETURN_IF_ERROR(acc.AddTable(*table, scores));
  } else {
    ASSIGN_OR_RETURN(std::string bytes, ReadArtifact(ctx, input["rows"].get<std::string>()));
    Json rows = Json::parse(bytes, nullptr, false);
    if (!rows.is_array()) return absl::DataLossError("stored drift rows are not a JSON array");
    size_t i = 0;
    for (const Json& r : rows) {
      if (!r.is_object() || !r.contains("inputs") || !r["inputs"].is_object()) {
        return absl::InvalidArgumentError("rows[" + std::to_string(i) +
                                          "]: expected {\"inputs\": {feature: value}, \"score\"}");
      }
      std::optional<double> score;
      if (r.contains("score") && r["score"].is_number()) {
        score = r["score"].get<double>();
      } else {
        auto s = scorer->PredictRow(r["inputs"]);
        if (s.ok()) score = *s;
      }
      RETURN_IF_ERROR(acc.AddRow(r["inputs"], score));
      ++i;
    }
  }
  if (acc.rows() == 0) return absl::InvalidArgumentError("no rows to compare with the baseline");
  return acc.Report();
}

StatusOr<Json> MonitorDrift(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kMonitorWrite));
  const ModelVersionRow& v = vp.version;
  ASSIGN_OR_RETURN(monitor::Baseline baseline, LoadBaseline(ctx, v));
  ASSIGN_OR_RETURN(monitor::MonitorConfig config, LoadConfig(ctx, vp.project, v.name));
  std::string source = Str(req, "source");
  Json input;
  if (!Str(req, "data").empty()) {
    // Only a batch the project holds: the report shows the data's distributions.
    ASSIGN_OR_RETURN(QueryResult held,
                     ctx.tx.Query("SELECT 1 FROM artifacts WHERE project_id = ? AND digest = ?",
                                  {vp.project.id, Str(req, "data")}));
    if (held.rows.empty()) {
      return absl::NotFoundError("data: artifact " + Str(req, "data").substr(0, 80) +
                                 " is not stored in project '" + vp.project.name + "'");
    }
    input = {{"data", Str(req, "data")}};
    if (source.empty()) source = "batch " + Str(req, "data").substr(0, 19);
  } else if (req.contains("rows") && req["rows"].is_array()) {
    ASSIGN_OR_RETURN(std::string digest, StoreArtifact(ctx, vp.project, DumpJson(req["rows"], 0)));
    input = {{"rows", digest}};
    if (source.empty()) source = std::to_string(req["rows"].size()) + " rows";
  } else {
    return absl::InvalidArgumentError(
        "monitor.drift needs data (an uploaded CSV's digest) or rows");
  }
  ASSIGN_OR_RETURN(monitor::DriftReport report,
                   ComputeDrift(ctx, v, config, baseline, input, source));
  std::vector<monitor::Alert> alerts = monitor::EvaluateAlerts(config, &report, nullptr);
  Json report_json = monitor::DriftReportToJson(report);
  Json summary = {{"rows", report.rows},
                  {"warn", report.warn_count},
                  {"drift", report.drift_count},
                  {"alerts", alerts.size()},
                  {"input", input}};
  std::vector<std::string> drifted;
  for (const auto& f : report.features) {
    if (f.status == monitor::DriftStatus::kDrift) drifted.push_back(f.name);
  }
  summary["drifted"] = drifted;
  if (report.score && report.score->psi) summary["score_psi"] = *report.score->psi;
  ASSIGN_OR_RETURN(std::string report_id, StoreReport(ctx, vp.project, v, "drift", source,
                                                      report.rows, report_json, summary));
  ASSIGN_OR_RETURN(RaisedAlerts raised, RaiseAlerts(ctx, vp.project, v, config, report_id, alerts));
  monitor::MonitorReportInput page;
  page.model = v.name;
  page.version = std::to_string(v.version);
  page.window = source;
  page.generated_at = FormatTime(ctx.platform.clock()->NowMicros());
  page.drift = &report;
  page.alerts = alerts;
  ctx.audit.details = {{"report_id", report_id}, {"summary", summary}};
  Json result{{"ref", v.Ref()},
              {"report_id", report_id},
              {"source", source},
              {"summary", summary},
              {"report", report_json},
              {"alerts", raised.alerts},
              {"table", monitor::FormatDriftTable(report)},
              {"html", monitor::RenderMonitorHtml(page)}};
  PostAlertsAfterCommit(ctx, raised, result);
  return result;
}

StatusOr<Json> MonitorLabels(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kMonitorWrite));
  const std::string name = Str(req, "name");
  RETURN_IF_ERROR(FindModel(ctx, p, name).status());
  ctx.audit.project = p.name;
  ctx.audit.resource = "model/" + name.substr(0, 64);
  if (!req.contains("labels") || !req["labels"].is_array()) {
    return absl::InvalidArgumentError("labels: expected [{\"id\", \"label\": 0 or 1}]");
  }
  const int64_t now = ctx.platform.clock()->NowMicros();
  size_t i = 0;
  for (const Json& l : req["labels"]) {
    if (!l.is_object() || !l.contains("id") || !l["id"].is_string() || !l.contains("label") ||
        !l["label"].is_number() || (l["label"] != 0 && l["label"] != 1)) {
      return absl::InvalidArgumentError("labels[" + std::to_string(i) +
                                        "]: expected {\"id\": decision id, \"label\": 0 or 1}");
    }
    RETURN_IF_ERROR(ctx.tx.Execute(
        "DELETE FROM outcome_labels WHERE project_id = ? AND name = ? AND decision_id = ?",
        {p.id, name, l["id"].get<std::string>()}));
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO outcome_labels (project_id, name, decision_id, label, observed_at, "
        "loaded_at, loaded_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {p.id, name, l["id"].get<std::string>(), l["label"].get<double>(), now, now,
         ctx.principal.user.name}));
    ++i;
  }
  ctx.audit.details = {{"labels", i}};
  return Json{{"name", name}, {"loaded", i}};
}

// Labels joined with the environment's decision records (this home's `plinth serve` writes them
// under HOME/decisions/ENV).
StatusOr<monitor::PerformanceReport> ComputePerf(OpContext& ctx, const VersionInProject& vp,
                                                 const std::string& env,
                                                 const std::string& window) {
  if (env != "staging" && env != "production") {
    return absl::InvalidArgumentError("environment: expected staging or production");
  }
  ASSIGN_OR_RETURN(monitor::Windowing windowing, monitor::ParseWindowing(window));
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT decision_id, label FROM outcome_labels "
                                               "WHERE project_id = ? AND name = ?",
                                               {vp.project.id, vp.model.name}));
  std::map<std::string, int> labels;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    labels[r.TextOrEmpty(i, 0)] = DoubleAt(r, i, 1) > 0.5 ? 1 : 0;
  }
  const std::string dir = ctx.platform.home().dir + "/decisions/" + env;
  std::vector<monitor::LabelledOutcome> outcomes;
  Status read = ExportDecisions(dir, 0, INT64_MAX, [&](const DecisionRecord& d) -> Status {
    if (d.model != vp.model.name || d.version != vp.version.version || d.route == "shadow") {
      return absl::OkStatus();
    }
    auto it = labels.find(d.id);
    if (it == labels.end()) return absl::OkStatus();
    for (const auto& [k, value] : d.output.items()) {
      if (value.is_number()) {
        outcomes.push_back({d.time, value.get<double>(), it->second});
        break;
      }
    }
    return absl::OkStatus();
  });
  if (!read.ok() && !absl::IsNotFound(read)) return read;
  if (outcomes.empty()) {
    return absl::FailedPreconditionError(
        "no labelled decisions of " + vp.version.Ref() + " in " + env + " (" +
        std::to_string(labels.size()) +
        " labels loaded; they join decision records by id: plinth monitor labels)");
  }
  return monitor::ComputePerformance(outcomes, windowing);
}

StatusOr<Json> MonitorPerformance(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kMonitorWrite));
  const std::string env = Str(req, "environment").empty() ? "staging" : Str(req, "environment");
  const std::string window = Str(req, "window").empty() ? "day" : Str(req, "window");
  ASSIGN_OR_RETURN(monitor::PerformanceReport perf, ComputePerf(ctx, vp, env, window));
  ASSIGN_OR_RETURN(monitor::MonitorConfig config, LoadConfig(ctx, vp.project, vp.model.name));
  std::vector<monitor::Alert> alerts = monitor::EvaluateAlerts(config, nullptr, &perf);
  Json perf_json = monitor::PerformanceToJson(perf);
  Json summary = {{"rows", perf.rows},
                  {"windows", perf.windows.size()},
                  {"alerts", alerts.size()},
                  {"input", {{"environment", env}, {"window", window}}}};
  if (perf.overall && perf.overall->auc) summary["auc"] = *perf.overall->auc;
  ASSIGN_OR_RETURN(std::string report_id,
                   StoreReport(ctx, vp.project, vp.version, "performance",
                               "decisions " + env + " with labels", perf.rows, perf_json, summary));
  ASSIGN_OR_RETURN(RaisedAlerts raised,
                   RaiseAlerts(ctx, vp.project, vp.version, config, report_id, alerts));
  ctx.audit.details = {{"report_id", report_id}, {"summary", summary}};
  Json result{{"ref", vp.version.Ref()},
              {"report_id", report_id},
              {"summary", summary},
              {"report", perf_json},
              {"alerts", raised.alerts}};
  PostAlertsAfterCommit(ctx, raised, result);
  return result;
}

// The page of the latest drift and performance checks, computed again from their stored inputs.
StatusOr<Json> MonitorReport(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  auto latest = [&](const std::string& kind) -> StatusOr<std::optional<Json>> {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT summary_json, source, at FROM monitor_reports WHERE "
                                  "project_id = ? AND name = ? AND version = ? AND kind = ? "
                                  "ORDER BY at DESC, id DESC",
                                  {vp.project.id, vp.model.name, vp.version.version, kind}));
    if (r.rows.empty()) return std::optional<Json>();
    Json summary = Json::parse(r.TextOrEmpty(0, 0), nullptr, false);
    if (!summary.is_object()) return absl::DataLossError("a stored monitor report is not JSON");
    summary["source"] = r.TextOrEmpty(0, 1);
    summary["at"] = FormatTime(r.IntOrZero(0, 2));
    return std::optional<Json>(summary);
  };
  ASSIGN_OR_RETURN(std::optional<Json> drift_check, latest("drift"));
  ASSIGN_OR_RETURN(std::optional<Json> perf_check, latest("performance"));
  if (!drift_check && !perf_check) {
    return absl::NotFoundError("no monitoring checks of " + vp.version.Ref() +
                               " yet (plinth monitor drift " + vp.version.Ref() + " --data FILE)");
  }
  ASSIGN_OR_RETURN(monitor::MonitorConfig config, LoadConfig(ctx, vp.project, vp.model.name));
  monitor::MonitorReportInput page;
  page.model = vp.model.name;
  page.version = std::to_string(vp.version.version);
  page.generated_at = FormatTime(ctx.platform.clock()->NowMicros());
  std::optional<monitor::DriftReport> drift;
  std::optional<monitor::PerformanceReport> perf;
  if (drift_check) {
    ASSIGN_OR_RETURN(monitor::Baseline baseline, LoadBaseline(ctx, vp.version));
    ASSIGN_OR_RETURN(drift, ComputeDrift(ctx, vp.version, config, baseline, (*drift_check)["input"],
                                         (*drift_check)["source"]));
    page.drift = &*drift;
    page.window = (*drift_check)["source"].get<std::string>();
  }
  if (perf_check) {
    const Json& in = (*perf_check)["input"];
    auto computed =
        ComputePerf(ctx, vp, in.value("environment", "staging"), in.value("window", "day"));
    if (computed.ok()) {
      perf = *std::move(computed);
      page.performance = &*perf;
    }
  }
  page.alerts = monitor::EvaluateAlerts(config, page.drift, page.performance);
  return Json{{"ref", vp.version.Ref()},
              {"drift_check", drift_check ? *drift_check : Json()},
              {"performance_check", perf_check ? *perf_check : Json()},
              {"alerts", page.alerts.size()},
              {"html", monitor::RenderMonitorHtml(page)}};
}

StatusOr<Json> MonitorAlerts(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT id, name, version, rule, metric, feature, value, "
                                "threshold, severity, message, webhook_status, at FROM "
                                "monitor_alerts WHERE project_id = ? AND (name = ? OR ? = '') "
                                "ORDER BY at DESC, id DESC LIMIT 500",
                                {p.id, Str(req, "name"), Str(req, "name")}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({{"id", r.TextOrEmpty(i, 0)},
                   {"name", r.TextOrEmpty(i, 1)},
                   {"version", r.IntOrZero(i, 2)},
                   {"rule", r.TextOrEmpty(i, 3)},
                   {"metric", r.TextOrEmpty(i, 4)},
                   {"feature", r.TextOrEmpty(i, 5)},
                   {"value", DoubleAt(r, i, 6)},
                   {"threshold", DoubleAt(r, i, 7)},
                   {"severity", r.TextOrEmpty(i, 8)},
                   {"message", r.TextOrEmpty(i, 9)},
                   {"webhook", r.TextOrEmpty(i, 10)},
                   {"at", FormatTime(r.IntOrZero(i, 11))}});
  }
  return Json{{"project", p.name}, {"alerts", out}};
}

}  // namespace

void AddMonitorHandlers(HandlerMap* handlers) {
  (*handlers)["monitor.config"] = MonitorConfigApply;
  (*handlers)["monitor.drift"] = MonitorDrift;
  (*handlers)["monitor.labels"] = MonitorLabels;
  (*handlers)["monitor.performance"] = MonitorPerformance;
  (*handlers)["monitor.report"] = MonitorReport;
  (*handlers)["monitor.alerts"] = MonitorAlerts;
}

}  // namespace plinth
