// Monitoring from the terminal (docs/monitoring.md):
//   plinth monitor drift NAME[@V] --data FILE [--html OUT]            a batch against the baseline
//   plinth monitor drift NAME[@V] --env E [--since 24h | --from T --to T] [--decisions DIR]
//                                                                      the served decisions
//   plinth monitor labels NAME --file F                                ground truth (id,label CSV)
//   plinth monitor performance NAME[@V] [--env E] [--window day]       AUC/KS over time
//   plinth monitor report NAME[@V] --html OUT                          the HTML report
//   plinth monitor config NAME[@V] FILE                                alert thresholds (YAML)
//   plinth monitor alerts [NAME]                                       alerts raised
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/command_support.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/files.h"
#include "data/csv_reader.h"
#include "platform/home.h"
#include "serve/decision_log.h"

namespace plinth {
namespace {

struct MonitorOptions {
  std::string project, ref, data, env = "staging", since, from, to, decisions, html, file,
                                  window = "day";
};

std::string ProjectOf(const MonitorOptions& o) {
  return o.project.empty() ? EnvOr("PLINTH_PROJECT", "") : o.project;
}

StatusOr<Json> VersionRequest(const MonitorOptions& o) {
  if (ProjectOf(o).empty()) {
    return absl::InvalidArgumentError("which project? pass --project or set PLINTH_PROJECT");
  }
  size_t at = o.ref.rfind('@');
  return Json{{"project", ProjectOf(o)},
              {"name", o.ref.substr(0, at)},
              {"version", at == std::string::npos ? "latest" : o.ref.substr(at + 1)}};
}

Status WriteHtml(const std::string& path, const Json& html) {
  if (path.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(WriteFileAtomic(path, html.get<std::string>(), 0644, /*overwrite=*/true));
  std::cerr << "wrote " << path << "\n";
  return absl::OkStatus();
}

void PrintAlerts(const Json& alerts) {
  if (alerts.empty()) {
    std::cout << "no alerts\n";
    return;
  }
  std::cout << alerts.size() << " alert" << (alerts.size() == 1 ? "" : "s") << ":\n";
  for (const Json& a : alerts) {
    std::cout << "  [" << Cell(a["severity"]) << "] " << Cell(a["message"]);
    if (a.contains("webhook") && a["webhook"] != "none")
      std::cout << " (webhook " << Cell(a["webhook"]) << ")";
    std::cout << "\n";
  }
}

// The decision records of `name` in [from, to) as drift rows.
StatusOr<Json> DecisionRows(const GlobalOptions& g, const MonitorOptions& o,
                            const std::string& name, std::string* source) {
  const std::string dir =
      o.decisions.empty() ? ResolveHomeDir(g.home) + "/decisions/" + o.env : o.decisions;
  int64_t to = SystemClock()->NowMicros();
  int64_t from = 0;
  if (!o.from.empty() || !o.to.empty()) {
    auto f = ParseTime(o.from);
    auto t = ParseTime(o.to);
    if (!f || !t) return absl::InvalidArgumentError("--from / --to: expected RFC 3339 times");
    from = *f;
    to = *t;
  } else {
    auto d = ParseDuration(o.since.empty() ? "24h" : o.since);
    if (!d) return absl::InvalidArgumentError("--since: expected a duration such as 24h or 7d");
    from = to - *d;
  }
  Json rows = Json::array();
  RETURN_IF_ERROR(ExportDecisions(dir, from, to, [&](const DecisionRecord& d) -> Status {
    if (d.model != name || d.route == "shadow" || !d.inputs.is_object()) return absl::OkStatus();
    Json row = {{"inputs", d.inputs}};
    for (const auto& [k, v] : d.output.items()) {
      if (v.is_number()) {
        row["score"] = v;
        break;
      }
    }
    rows.push_back(std::move(row));
    return absl::OkStatus();
  }));
  *source = "decisions " + o.env + " " + FormatTime(from).substr(0, 19) + " to " +
            FormatTime(to).substr(0, 19);
  return rows;
}

}  // namespace

void AddMonitorCommands(CommandRegistrar* r) {
  auto o = std::make_shared<MonitorOptions>();
  const GlobalOptions* g = &r->globals();
  auto* monitor = r->app().add_subcommand(
      "monitor", "Drift, performance over time and alerts of deployed models");
  monitor->require_subcommand(1);
  auto versioned = [&](const char* name, const char* help) {
    auto* cmd = monitor->add_subcommand(name, help);
    cmd->add_option("MODEL", o->ref, "NAME[@VERSION] (default: latest)")->required();
    cmd->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
    return cmd;
  };

  auto* drift = versioned("drift", "Compare a batch (or served decisions) with the baseline");
  auto* data = drift->add_option("--data", o->data, "a CSV batch of raw inputs");
  drift->add_option("--env", o->env, "decisions of this environment")->excludes(data);
  drift->add_option("--since", o->since, "decisions of the last DURATION (default 24h)");
  drift->add_option("--from", o->from, "decisions from this RFC 3339 time");
  drift->add_option("--to", o->to, "... to this one");
  drift->add_option("--decisions", o->decisions, "folder of the decision records");
  drift->add_option("--html", o->html, "write the HTML report here");
  r->On(drift, [o, g]() -> Status {
    ASSIGN_OR_RETURN(Json req, VersionRequest(*o));
    ASSIGN_OR_RETURN(std::unique_ptr<PlatformClient> client, Connect(*g));
    if (!o->data.empty()) {
      ProgressBar bar("uploading " + std::filesystem::path(o->data).filename().string());
      ASSIGN_OR_RETURN(Json put,
                       client->PutArtifact(ProjectOf(*o), o->data,
                                           [&](int64_t d, int64_t t) { bar.Update(d, t); }));
      bar.Finish();
      req["data"] = put["digest"];
      req["source"] = std::filesystem::path(o->data).filename().string();
    } else {
      std::string source;
      ASSIGN_OR_RETURN(Json rows, DecisionRows(*g, *o, req["name"], &source));
      if (rows.empty()) {
        return absl::NotFoundError("no decision records of " + req["name"].get<std::string>() +
                                   " in that window (" + source + ")");
      }
      req["rows"] = rows;
      req["source"] = source;
    }
    ASSIGN_OR_RETURN(Json res, client->Call("monitor.drift", req));
    RETURN_IF_ERROR(WriteHtml(o->html, res["html"]));
    if (g->json) {
      res.erase("html");
      res.erase("table");
      PrintJson(std::cout, res);
      return absl::OkStatus();
    }
    const Json& s = res["summary"];
    std::cout << Cell(res["ref"]) << " against its baseline: " << Cell(s["rows"]) << " rows of "
              << Cell(res["source"]) << "; " << Cell(s["drift"]) << " drifted, " << Cell(s["warn"])
              << " to watch\n\n"
              << res["table"].get<std::string>() << "\n";
    PrintAlerts(res["alerts"]);
    return absl::OkStatus();
  });

  auto* labels = monitor->add_subcommand("labels", "Load ground truth (CSV: id,label)");
  labels->add_option("MODEL", o->ref, "model name")->required();
  labels->add_option("--file", o->file, "CSV with columns id and label (0 or 1)")->required();
  labels->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
  r->On(labels, [o, g]() -> Status {
    ASSIGN_OR_RETURN(Json req, VersionRequest(*o));
    req.erase("version");
    CsvOptions csv;
    csv.column_types = {{"id", ColumnType::kString}};
    ASSIGN_OR_RETURN(Table t, ReadCsv(o->file, csv));
    const Column* id = t.Find("id");
    const Column* label = t.Find("label");
    if (id == nullptr || label == nullptr) {
      return absl::InvalidArgumentError(o->file + ": expected columns id and label");
    }
    Json rows = Json::array();
    for (size_t i = 0; i < t.num_rows(); ++i) {
      if (id->IsNull(i) || label->IsNull(i)) {
        return absl::InvalidArgumentError(o->file + ": line " + std::to_string(i + 2) +
                                          ": id and label are required");
      }
      std::optional<double> value = label->NumberAt(i);
      if (!value || (*value != 0 && *value != 1)) {
        return absl::InvalidArgumentError(o->file + ": line " + std::to_string(i + 2) +
                                          ": label must be 0 or 1");
      }
      rows.push_back({{"id", std::string(id->StringAt(i))}, {"label", *value}});
    }
    req["labels"] = rows;
    return CallAndPrint(*g, "monitor.labels", req, [](const Json& res) {
      std::cout << "loaded " << Cell(res["loaded"]) << " labels for " << Cell(res["name"]) << "\n";
    });
  });

  auto* performance = versioned("performance", "AUC, KS and calibration of labelled decisions");
  performance->add_option("--env", o->env, "staging or production")->capture_default_str();
  performance->add_option("--window", o->window, "hour, day, week, 6h, equal:N")
      ->capture_default_str();
  r->On(performance, [o, g]() -> Status {
    ASSIGN_OR_RETURN(Json req, VersionRequest(*o));
    req["environment"] = o->env;
    req["window"] = o->window;
    return CallAndPrint(*g, "monitor.performance", req, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const Json& w : res["report"]["windows"]) {
        rows.push_back({Cell(w["start"]), Cell(w["rows"]), Cell(w["positives"]), Cell(w["auc"]),
                        Cell(w["ks"]), Cell(w["brier"])});
      }
      PrintTable(std::cout, {"WINDOW", "ROWS", "POSITIVES", "AUC", "KS", "BRIER"}, rows);
      PrintAlerts(res["alerts"]);
    });
  });

  auto* report = versioned("report", "The HTML report of the latest checks");
  report->add_option("--html", o->html, "where to write it")->required();
  r->On(report, [o, g]() -> Status {
    ASSIGN_OR_RETURN(Json req, VersionRequest(*o));
    ASSIGN_OR_RETURN(std::unique_ptr<PlatformClient> client, Connect(*g));
    ASSIGN_OR_RETURN(Json res, client->Call("monitor.report", req));
    return WriteHtml(o->html, res["html"]);
  });

  auto* config = versioned("config", "Set the model's alert thresholds (YAML)");
  config->add_option("FILE", o->file, "thresholds YAML (docs/monitoring.md)")->required();
  r->On(config, [o, g]() -> Status {
    ASSIGN_OR_RETURN(Json req, VersionRequest(*o));
    ASSIGN_OR_RETURN(std::string yaml, ReadFile(o->file));
    req["yaml"] = yaml;
    req["file"] = o->file;
    return CallAndPrint(*g, "monitor.config", req, [](const Json& res) {
      std::cout << "monitor config for " << Cell(res["name"]) << ": " << Cell(res["rules"])
                << " rules" << (res["webhook"].get<bool>() ? ", webhook set" : "") << "\n";
    });
  });

  auto* alerts = monitor->add_subcommand("alerts", "Alerts raised, newest first");
  alerts->add_option("MODEL", o->ref, "only this model");
  alerts->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
  r->On(alerts, [o, g]() -> Status {
    Json req = {{"project", ProjectOf(*o)}};
    if (!o->ref.empty()) req["name"] = o->ref;
    return CallAndPrint(*g, "monitor.alerts", req, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const Json& a : res["alerts"]) {
        rows.push_back({Cell(a["at"]), Cell(a["name"]) + "@" + Cell(a["version"]),
                        Cell(a["severity"]), Cell(a["message"]), Cell(a["webhook"])});
      }
      PrintTable(std::cout, {"AT", "MODEL", "SEVERITY", "ALERT", "WEBHOOK"}, rows);
    });
  });
}

}  // namespace plinth
