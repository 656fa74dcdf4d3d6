// `plinth experiments list` and `plinth runs list|show|search|compare|create|log|finish`:
// experiment tracking from the terminal. Scripts in other languages use the same operations over
// REST; `runs create/log/finish` make shell scripts first-class too. `runs compare --html` draws
// every metric's history as SVG curves from the run.metric_history operation, so the page is the
// same in process and against a server.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/command_support.h"
#include "cli/output.h"
#include "core/files.h"
#include "tracking/compare_report.h"

namespace plinth {
namespace {

struct RunOptions {
  std::string project, experiment, filter, id, html, name, parent, source, status;
  std::vector<std::string> order, ids, params, metrics, tags;
  int max_results = 50;
};

std::string Num(const Json& v) {
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  return Cell(v);
}

std::string MetricValue(const Json& metric) {
  return metric.is_object() && metric.contains("value") ? Num(metric["value"]) : "-";
}

// A table of runs: id, experiment, name, status, start, then the metrics named in the order keys
// (or the first few metrics of the first run).
void PrintRuns(const Json& res, const std::vector<std::string>& order) {
  std::vector<std::string> metric_keys;
  for (const auto& o : order) {
    std::string key = o.substr(0, o.find(' '));
    if (key.rfind("metrics.", 0) == 0) metric_keys.push_back(key.substr(8));
  }
  if (metric_keys.empty() && !res["runs"].empty()) {
    for (const auto& [k, _] : res["runs"][0]["metrics"].items()) {
      if (metric_keys.size() == 4) break;
      metric_keys.push_back(k);
    }
  }
  std::vector<std::string> headers = {"RUN", "EXPERIMENT", "NAME", "STATUS", "STARTED"};
  for (const auto& k : metric_keys) headers.push_back(k);
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : res["runs"]) {
    std::vector<std::string> row = {Cell(r["id"]), Cell(r["experiment"]), Cell(r["name"]),
                                    Cell(r["status"]), Cell(r["start_time"]).substr(0, 19)};
    for (const auto& k : metric_keys) {
      row.push_back(r["metrics"].contains(k) ? MetricValue(r["metrics"][k]) : "-");
    }
    rows.push_back(row);
  }
  PrintTable(std::cout, headers, rows);
  std::cout << "\n"
            << res["runs"].size() << " of " << Cell(res["total_matches"]) << " matching runs";
  if (res["next_page_token"].is_string() && !res["next_page_token"].get<std::string>().empty()) {
    std::cout << " (more: --page-token " << Cell(res["next_page_token"]) << ")";
  }
  std::cout << "\n";
}

void PrintRun(const Json& r) {
  std::cout << "Run " << Cell(r["id"]) << " (" << Cell(r["name"]) << ") in experiment "
            << Cell(r["experiment"]) << ", project " << Cell(r["project"]) << "\n"
            << "  status   " << Cell(r["status"]) << "\n"
            << "  started  " << Cell(r["start_time"]) << " by " << Cell(r["created_by"]) << "\n"
            << "  ended    " << Cell(r["end_time"]) << "\n"
            << "  parent   " << Cell(r["parent"]) << "\n"
            << "  source   " << Cell(r["source"]) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : r["params"].items()) rows.push_back({"param", k, Cell(v), ""});
  for (const auto& [k, v] : r["metrics"].items()) {
    rows.push_back({"metric", k, MetricValue(v), "step " + Cell(v["step"])});
  }
  for (const auto& [k, v] : r["tags"].items()) rows.push_back({"tag", k, Cell(v), ""});
  for (const auto& a : r["artifacts"]) {
    rows.push_back({"artifact", Cell(a["path"]), Cell(a["digest"]).substr(0, 19),
                    HumanBytes(a.value("size", int64_t{0}))});
  }
  PrintTable(std::cout, {"KIND", "KEY", "VALUE", ""}, rows);
}

// KEY=VALUE items into a JSON object.
StatusOr<Json> Pairs(const std::vector<std::string>& items, const std::string& what) {
  Json out = Json::object();
  for (const auto& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(what + " '" + item.substr(0, 64) + "' is not KEY=VALUE");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

}  // namespace

void AddRunCommands(CommandRegistrar* r) {
  auto o = std::make_shared<RunOptions>();
  const GlobalOptions* g = &r->globals();

  auto* experiments =
      r->app().add_subcommand("experiments", "Experiments of a project")->require_subcommand(1);
  auto* exp_list = experiments->add_subcommand("list", "Experiments and their number of runs");
  exp_list->add_option("--project", o->project, "project")->required();
  r->On(exp_list, [o, g] {
    return CallAndPrint(*g, "experiment.list", {{"project", o->project}}, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : res["experiments"]) {
        rows.push_back(
            {Cell(e["name"]), Cell(e["runs"]), Cell(e["last_run"]), Cell(e["created_by"])});
      }
      PrintTable(std::cout, {"EXPERIMENT", "RUNS", "LAST RUN", "CREATED BY"}, rows);
    });
  });

  auto* runs = r->app()
                   .add_subcommand("runs", "Tracked runs: params, metrics, tags, artifacts")
                   ->require_subcommand(1);

  auto add_search = [&](CLI::App* cmd) {
    cmd->add_option("--project", o->project, "project")->required();
    cmd->add_option("--experiment", o->experiment, "only this experiment");
    cmd->add_option("--order", o->order, "order keys, e.g. 'metrics.test_auc desc' (repeatable)");
    cmd->add_option("--max", o->max_results, "at most this many runs")->default_val(50);
  };
  auto search_request = [o]() {
    Json req = {{"project", o->project}, {"max_results", o->max_results}};
    if (!o->experiment.empty()) req["experiments"] = Json::array({o->experiment});
    if (!o->filter.empty()) req["filter"] = o->filter;
    if (!o->order.empty()) req["order_by"] = o->order;
    return req;
  };

  auto* list = runs->add_subcommand("list", "Runs of a project, newest first");
  add_search(list);
  r->On(list, [o, g, search_request] {
    return CallAndPrint(*g, "run.search", search_request(),
                        [o](const Json& res) { PrintRuns(res, o->order); });
  });

  auto* search = runs->add_subcommand(
      "search",
      "Runs matching an expression, e.g. 'metrics.test_auc > 0.7 && params.max_depth "
      "== \"4\"' (docs/formats/tracking.md)");
  search->add_option("FILTER", o->filter, "filter expression")->required();
  add_search(search);
  r->On(search, [o, g, search_request] {
    return CallAndPrint(*g, "run.search", search_request(),
                        [o](const Json& res) { PrintRuns(res, o->order); });
  });

  auto* show = runs->add_subcommand("show", "A run's params, latest metrics, tags and artifacts");
  show->add_option("ID", o->id, "run id")->required();
  r->On(show, [o, g] { return CallAndPrint(*g, "run.show", {{"id", o->id}}, PrintRun); });

  auto* compare = runs->add_subcommand(
      "compare", "Runs side by side: params and metrics in a table, metric curves in HTML");
  compare->add_option("IDS", o->ids, "run ids")->required()->expected(2, 50);
  compare->add_option("--html", o->html, "write an HTML page with every metric's curve (SVG)");
  r->On(compare, [o, g]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(*g));
    std::vector<Json> shown;
    for (const auto& id : o->ids) {
      ASSIGN_OR_RETURN(Json run, client->Call("run.show", {{"id", id}}));
      shown.push_back(std::move(run));
    }
    std::set<std::string> param_keys, metric_keys;
    for (const auto& run : shown) {
      for (const auto& [k, _] : run["params"].items()) param_keys.insert(k);
      for (const auto& [k, _] : run["metrics"].items()) metric_keys.insert(k);
    }
    std::vector<CompareRun> compared;
    for (const auto& run : shown) {
      CompareRun c;
      c.id = run["id"];
      c.name = run["name"];
      for (const auto& [k, v] : run["params"].items()) c.params[k] = v.get<std::string>();
      for (const auto& key : metric_keys) {
        if (!run["metrics"].contains(key)) continue;
        ASSIGN_OR_RETURN(Json history,
                         client->Call("run.metric_history", {{"id", c.id}, {"key", key}}));
        for (const auto& p : history["points"]) {
          double value = p["value"].is_number() ? p["value"].get<double>() : std::nan("");
          c.metrics[key].push_back({p["step"].get<int64_t>(), value});
        }
      }
      compared.push_back(std::move(c));
    }
    if (!o->html.empty()) {
      RETURN_IF_ERROR(WriteFileAtomic(o->html, RenderCompareHtml(compared), 0644, true));
    }
    if (g->json) {
      PrintJson(std::cout, {{"runs", shown}, {"html", o->html}});
      return absl::OkStatus();
    }
    std::vector<std::string> headers = {"", "KEY"};
    for (const auto& run : shown) headers.push_back(Cell(run["name"]));
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : param_keys) {
      std::vector<std::string> row = {"param", k};
      for (const auto& run : shown) {
        row.push_back(run["params"].contains(k) ? Cell(run["params"][k]) : "-");
      }
      rows.push_back(row);
    }
    for (const auto& k : metric_keys) {
      std::vector<std::string> row = {"metric", k};
      for (const auto& run : shown) {
        row.push_back(run["metrics"].contains(k) ? MetricValue(run["metrics"][k]) : "-");
      }
      rows.push_back(row);
    }
    PrintTable(std::cout, headers, rows);
    if (!o->html.empty()) std::cout << "\nWrote " << o->html << "\n";
    return absl::OkStatus();
  });

  auto* create = runs->add_subcommand("create", "Start a run (for scripts; prints its id)");
  create->add_option("--project", o->project, "project")->required();
  create->add_option("--experiment", o->experiment, "experiment (created if absent)")->required();
  create->add_option("--name", o->name, "run name");
  create->add_option("--parent", o->parent, "parent run id");
  create->add_option("--source", o->source, "what produced the run");
  r->On(create, [o, g] {
    Json req = {{"project", o->project}, {"experiment", o->experiment}};
    if (!o->name.empty()) req["name"] = o->name;
    if (!o->parent.empty()) req["parent"] = o->parent;
    if (!o->source.empty()) req["source"] = o->source;
    return CallAndPrint(*g, "run.create", req,
                        [](const Json& res) { std::cout << Cell(res["id"]) << "\n"; });
  });

  auto* log = runs->add_subcommand("log", "Log params, metrics and tags to a running run");
  log->add_option("ID", o->id, "run id")->required();
  log->add_option("--param", o->params, "KEY=VALUE (repeatable)");
  log->add_option("--metric", o->metrics, "KEY=NUMBER (repeatable; step 0)");
  log->add_option("--tag", o->tags, "KEY=VALUE (repeatable)");
  r->On(log, [o, g]() -> Status {
    Json req = {{"id", o->id}};
    if (!o->params.empty()) {
      ASSIGN_OR_RETURN(req["params"], Pairs(o->params, "param"));
    }
    if (!o->tags.empty()) {
      ASSIGN_OR_RETURN(req["tags"], Pairs(o->tags, "tag"));
    }
    if (!o->metrics.empty()) {
      ASSIGN_OR_RETURN(Json m, Pairs(o->metrics, "metric"));
      Json metrics = Json::object();
      for (const auto& [k, v] : m.items()) {
        char* end = nullptr;
        std::string text = v.get<std::string>();
        double d = std::strtod(text.c_str(), &end);
        if (text.empty() || end == nullptr || *end != '\0') {
          return absl::InvalidArgumentError("metric '" + k + "': '" + text.substr(0, 32) +
                                            "' is not a number");
        }
        metrics[k] = d;
      }
      req["metrics"] = metrics;
    }
    return CallAndPrint(*g, "run.log", req, [](const Json& res) {
      std::cout << "Logged " << Cell(res["params"]) << " params, " << Cell(res["metrics"])
                << " metrics, " << Cell(res["tags"]) << " tags\n";
    });
  });

  auto* finish = runs->add_subcommand("finish", "End a run");
  finish->add_option("ID", o->id, "run id")->required();
  finish->add_option("--status", o->status, "FINISHED (default), FAILED or KILLED");
  r->On(finish, [o, g] {
    Json req = {{"id", o->id}};
    if (!o->status.empty()) req["status"] = o->status;
    return CallAndPrint(*g, "run.finish", req, [](const Json& res) {
      std::cout << "Run " << Cell(res["id"]) << " " << Cell(res["status"]) << " at "
                << Cell(res["end_time"]) << "\n";
    });
  });
}

}  // namespace plinth
