// `plinth features apply|list|show|training-set|materialize|get` (the feature store) and
// `plinth lineage` (what was made from what). The definition file is read here and sent as
// text, so errors point into the user's file whichever way the platform is reached. A spine
// given as a file is registered as a data set first, so every training set traces back to
// governed data.
#include <sys/stat.h>

#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "cli/command_support.h"
#include "cli/output.h"
#include "core/files.h"
#include "data/dataset.h"

namespace plinth {
namespace {

struct FeatureOptions {
  std::string file, project, name, service, spine, spine_name, timestamp, out, until, entity, ref,
      format;
  bool dry_run = false;
  bool include_equal = false;
};

std::string Short(const Json& v) { return Cell(v).substr(0, 12); }

// The string member `key` of `o`, or "" (absent, null or not a string).
std::string Text(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The integer member `key` of `o`, or 0.
int64_t Int(const Json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string Seconds(const Json& seconds) {
  if (!seconds.is_number_integer()) return Cell(seconds);
  int64_t s = seconds.get<int64_t>();
  if (s == 0) return "-";
  if (s % 86400 == 0 && s >= 2 * 86400) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

void PrintApply(const Json& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r["changes"]) {
    rows.push_back({Cell(c["kind"]), Cell(c["name"]), Cell(c["change"]),
                    c.contains("version") ? Cell(c["version"]).substr(0, 19) : "-"});
  }
  PrintTable(std::cout, {"KIND", "NAME", "CHANGE", "VERSION"}, rows);
  std::cout << "\n";
  if (r.contains("protected_uses") && !r["protected_uses"].empty()) {
    std::cout << "Protected attributes used as features (allowed by allow_protected; audited):\n";
    for (const auto& u : r["protected_uses"]) {
      std::cout << "  " << Text(u, "view") << "." << Text(u, "feature") << " reads "
                << Text(u, "column") << "\n";
    }
    std::cout << "\n";
  }
  if (r.value("dry_run", false)) {
    std::cout << "Dry run: nothing applied (" << Cell(r["added"]) << " added, "
              << Cell(r["changed"]) << " changed, " << Cell(r["removed"]) << " removed)\n";
  } else if (r.value("unchanged", false)) {
    std::cout << "No change: definition #" << Cell(r["seq"]) << " of project " << Cell(r["project"])
              << " is already " << Short(r["digest"]) << "\n";
  } else {
    std::cout << "Applied definition #" << Cell(r["seq"]) << " to project " << Cell(r["project"])
              << ": " << Cell(r["added"]) << " added, " << Cell(r["changed"]) << " changed, "
              << Cell(r["removed"]) << " removed\n  digest " << Cell(r["digest"]) << "\n";
  }
}

std::string OnlineText(const Json& online) {
  if (!online.is_object()) return "not materialized";
  if (online.contains("error")) return "error: " + Cell(online["error"]);
  std::string text = "until " + Cell(online["until"]) + " (" + Cell(online["entities"]) + ")";
  if (online.value("stale", false)) text += " STALE: view changed since";
  return text;
}

void PrintList(const Json& r) {
  if (r.value("seq", 0) == 0) {
    std::cout << "Project " << Cell(r["project"])
              << " has no feature definitions yet (plinth features apply FILE --project "
              << Cell(r["project"]) << ")\n";
    return;
  }
  std::cout << "Feature definition #" << Cell(r["seq"]) << " of project " << Cell(r["project"])
            << " (" << Cell(r["file"]) << ", applied " << Cell(r["applied"]) << " by "
            << Cell(r["applied_by"]) << ")\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : r["views"]) {
    std::string dataset = Cell(v["dataset"]);
    size_t at = dataset.find('@');
    if (at != std::string::npos) dataset = dataset.substr(0, at + 13);
    rows.push_back({Cell(v["name"]), Cell(v["entity"]), dataset, Cell(v["features"]),
                    Seconds(v["ttl"]), Cell(v["version"]).substr(0, 19), OnlineText(v["online"])});
  }
  PrintTable(std::cout, {"VIEW", "ENTITY", "SOURCE DATA", "FEATURES", "TTL", "VERSION", "ONLINE"},
             rows);
  std::cout << "\n";
  rows.clear();
  for (const auto& s : r["services"]) {
    std::string views;
    for (const auto& v : s["views"]) views += (views.empty() ? "" : ", ") + Cell(v);
    rows.push_back({Cell(s["name"]), Cell(s["features"]), views, Cell(s["version"]).substr(0, 19)});
  }
  PrintTable(std::cout, {"SERVICE", "FEATURES", "VIEWS", "VERSION"}, rows);
}

void PrintShow(const Json& r) {
  if (r["kind"] == "feature_view") {
    const Json& d = r["definition"];
    std::cout << "Feature view " << Cell(r["name"]) << " in project " << Cell(r["project"]) << "\n"
              << "  version   " << Cell(r["version"]) << "\n"
              << "  entity    " << Cell(r["entity"]["name"]) << " (key "
              << Cell(r["entity"]["join_key"]) << ")\n"
              << "  source    " << Cell(r["source"]["name"]) << ": data set "
              << Cell(r["source"]["dataset"]) << "@" << Short(r["source"]["version"])
              << ", time column " << Cell(r["source"]["timestamp"]) << "\n"
              << "  ttl       " << Seconds(Json(Int(d, "ttl_micros") / 1000000)) << "\n"
              << "  online    " << OnlineText(r["online"]) << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : d["features"]) {
      rows.push_back(
          {Text(f, "name"), Text(f, "aggregation"), Text(f, "expr").empty() ? "-" : Text(f, "expr"),
           Seconds(Json(Int(f, "window_micros") / 1000000)), Text(f, "description").substr(0, 60)});
    }
    PrintTable(std::cout, {"FEATURE", "AGGREGATION", "EXPRESSION", "WINDOW", "DESCRIPTION"}, rows);
    std::cout << "\n";
    rows.clear();
    for (const auto& v : r["source_validations"]) {
      rows.push_back({Cell(v["id"]), Cell(v["suite"]), v.value("passed", false) ? "pass" : "FAIL",
                      Cell(v["created"])});
    }
    if (rows.empty()) {
      std::cout << "The source data set version has no validation results.\n";
    } else {
      PrintTable(std::cout, {"VALIDATION", "SUITE", "RESULT", "WHEN"}, rows);
    }
    std::cout << "\n";
    rows.clear();
    for (const auto& m : r["materializations"]) {
      rows.push_back({Cell(m["from"]), Cell(m["until"]), Cell(m["entities"]), Cell(m["created"]),
                      Cell(m["created_by"])});
    }
    if (!rows.empty()) {
      PrintTable(std::cout, {"FROM", "UNTIL", "ENTITIES", "MATERIALIZED", "BY"}, rows);
    }
    return;
  }
  std::cout << "Feature service " << Cell(r["name"]) << " in project " << Cell(r["project"])
            << "\n  version   " << Cell(r["version"]) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : r["features"]) {
    rows.push_back({Text(f, "feature"), Text(f, "view"), Text(f, "aggregation"),
                    Text(f, "expr").empty() ? "-" : Text(f, "expr"), Seconds(f["window"])});
  }
  PrintTable(std::cout, {"FEATURE", "VIEW", "AGGREGATION", "EXPRESSION", "WINDOW"}, rows);
  rows.clear();
  for (const auto& t : r["training_sets"]) {
    rows.push_back({Cell(t["id"]), Cell(t["spine"]).substr(0, 40), Cell(t["output"]).substr(0, 40),
                    Cell(t["rows"]), Cell(t["created"])});
  }
  if (!rows.empty()) {
    std::cout << "\n";
    PrintTable(std::cout, {"TRAINING SET", "SPINE", "RECORDED AS", "ROWS", "BUILT"}, rows);
  }
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Lineage as an indented tree: upstream above the object, downstream below.
void PrintLineage(const Json& r) {
  std::string root = Cell(r["ref"]);
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> up, down;
  for (const auto& e : r["edges"]) {
    up[Cell(e["to"])].push_back({Cell(e["from"]), Cell(e["relation"])});
    down[Cell(e["from"])].push_back({Cell(e["to"]), Cell(e["relation"])});
  }
  std::function<void(const std::string&, int, bool, std::set<std::string>&)> walk =
      [&](const std::string& node, int depth, bool upstream, std::set<std::string>& seen) {
        auto& next = upstream ? up[node] : down[node];
        for (const auto& [other, relation] : next) {
          std::cout << std::string(2 * depth, ' ') << (upstream ? "^ " : "v ") << other << "  ("
                    << relation << ")\n";
          if (seen.insert(other).second) walk(other, depth + 1, upstream, seen);
        }
      };
  std::cout << "Made from:\n";
  std::set<std::string> seen = {root};
  if (up[root].empty()) std::cout << "  (nothing recorded)\n";
  walk(root, 1, true, seen);
  std::cout << "\n" << root << "\n\nUsed by:\n";
  seen = {root};
  if (down[root].empty()) std::cout << "  (nothing recorded)\n";
  walk(root, 1, false, seen);
}

}  // namespace

void AddFeatureCommands(CommandRegistrar* r) {
  auto o = std::make_shared<FeatureOptions>();
  const GlobalOptions* g = &r->globals();
  auto* features = r->app()
                       .add_subcommand("features",
                                       "Feature store: definitions, training sets, "
                                       "online values")
                       ->require_subcommand(1);

  auto* apply = features->add_subcommand(
      "apply", "Apply a feature definition file (YAML; see docs/features.md) (data-scientist)");
  apply->add_option("FILE", o->file, "definition file")->required();
  apply->add_option("--project", o->project, "project")->required();
  apply->add_flag("--dry-run", o->dry_run, "check and show the changes without applying them");
  r->On(apply, [o, g]() -> Status {
    ASSIGN_OR_RETURN(std::string text, ReadFile(o->file));
    Json req = {{"project", o->project}, {"definition", text}, {"file", o->file}};
    if (o->dry_run) req["dry_run"] = true;
    return CallAndPrint(*g, "features.apply", req, PrintApply);
  });

  auto* list = features->add_subcommand("list", "Feature views and services of a project");
  list->add_option("--project", o->project, "project")->required();
  r->On(list, [o, g] {
    return CallAndPrint(*g, "features.list", {{"project", o->project}}, PrintList);
  });

  auto* show = features->add_subcommand("show", "A feature view or service in detail");
  show->add_option("NAME", o->name, "feature view or service name")->required();
  show->add_option("--project", o->project, "project")->required();
  r->On(show, [o, g] {
    return CallAndPrint(*g, "features.show", {{"project", o->project}, {"name", o->name}},
                        PrintShow);
  });

  auto* training = features->add_subcommand(
      "training-set",
      "Join a spine (entity, time, label) to a service's features as of each row's time");
  training->add_option("--service", o->service, "feature service")->required();
  training
      ->add_option("--spine", o->spine,
                   "spine CSV file (registered as a data set first), or data set "
                   "NAME[@VERSION]")
      ->required();
  training->add_option("--project", o->project, "project")->required();
  training->add_option("--out", o->out, "write the training set (CSV) to this file");
  training->add_option("--timestamp", o->timestamp,
                       "the spine's time column (default: its timestamp tag, else 'timestamp')");
  training->add_option("--name", o->name,
                       "data set to record the training set as (default SERVICE_training)");
  training->add_option("--spine-name", o->spine_name,
                       "data set to register a spine file as (default SERVICE_spine)");
  training->add_flag("--include-equal-timestamps", o->include_equal,
                     "let feature rows at exactly the spine time count");
  r->On(training, [o, g]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(*g));
    std::string spine = o->spine;
    if (IsFile(o->spine)) {
      std::string name = o->spine_name.empty() ? o->service + "_spine" : o->spine_name;
      Json reg = {{"project", o->project}, {"name", name}};
      if (!o->timestamp.empty()) reg["timestamp"] = o->timestamp;
      ProgressBar bar("spine");
      ASSIGN_OR_RETURN(Json registered,
                       client->Upload("data.register", reg, o->spine,
                                      [&](int64_t d, int64_t t) { bar.Update(d, t); }));
      bar.Finish();
      spine = name + "@" + registered["version"].get<std::string>();
      if (!g->json) {
        std::cout << "Registered the spine " << o->spine << " as " << name << "@"
                  << Short(registered["version"]) << "\n";
      }
    }
    Json req = {{"project", o->project}, {"service", o->service}, {"spine", spine}};
    if (!o->timestamp.empty()) req["timestamp"] = o->timestamp;
    if (!o->name.empty()) req["name"] = o->name;
    if (o->include_equal) req["include_equal_timestamps"] = true;
    ASSIGN_OR_RETURN(Json res, client->Call("features.training_set", req));
    if (!o->out.empty()) {
      RETURN_IF_ERROR(client->GetArtifact(res["file_digest"].get<std::string>(), o->out, nullptr));
    }
    if (g->json) {
      PrintJson(std::cout, res);
      return absl::OkStatus();
    }
    std::cout << "Built training set " << Cell(res["id"]) << " for service " << Cell(res["service"])
              << ": " << Cell(res["num_rows"]) << " rows x " << Cell(res["num_columns"])
              << " columns\n  recorded as data set " << Cell(res["name"]) << "@"
              << Short(res["version"]) << " (" << Cell(res["classification"]) << ")\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : res["views"]) {
      rows.push_back({Cell(v["view"]), Cell(v["version"]).substr(0, 19),
                      Cell(v["dataset"]).substr(0, Cell(v["dataset"]).find('@') + 13),
                      std::to_string(v["validations"].size())});
    }
    std::cout << "\n";
    PrintTable(std::cout, {"VIEW", "VERSION", "SOURCE DATA", "PASSING VALIDATIONS"}, rows);
    if (!o->out.empty()) std::cout << "\nWrote " << o->out << "\n";
    return absl::OkStatus();
  });

  auto* materialize =
      features->add_subcommand("materialize",
                               "Fill the online store with a view's values, incrementally "
                               "(data-scientist or deployer)");
  materialize->add_option("VIEW", o->name, "feature view")->required();
  materialize->add_option("--project", o->project, "project")->required();
  materialize->add_option("--until", o->until,
                          "RFC 3339 time to materialize up to (inclusive); default now");
  r->On(materialize, [o, g] {
    Json req = {{"project", o->project}, {"name", o->name}};
    if (!o->until.empty()) req["until"] = o->until;
    return CallAndPrint(*g, "features.materialize", req, [](const Json& res) {
      std::cout << "Materialized " << Cell(res["view"]) << " "
                << (res.value("incremental", false) ? "from " + Cell(res["from"]) + " "
                                                    : std::string("(full) "))
                << "until " << Cell(res["until"]) << ": " << Cell(res["entities"])
                << " entities online\n  source " << Cell(res["dataset"]).substr(0, 40) << "\n";
    });
  });

  auto* get = features->add_subcommand("get", "Online feature values of one entity");
  get->add_option("SERVICE", o->service, "feature service")->required();
  get->add_option("--entity", o->entity, "entity key (KEY=ID,KEY=ID for several entities)")
      ->required();
  get->add_option("--project", o->project, "project")->required();
  r->On(get, [o, g] {
    return CallAndPrint(*g, "features.get",
                        {{"project", o->project}, {"service", o->service}, {"entity", o->entity}},
                        [](const Json& res) {
                          std::vector<std::vector<std::string>> rows;
                          for (const auto& name : res["order"]) {
                            const Json& value = res["features"][name.get<std::string>()];
                            rows.push_back({Cell(name), value.is_null() ? "null" : Cell(value)});
                          }
                          std::cout << "Service " << Cell(res["service"]) << ", entity "
                                    << DumpJson(res["entity"]) << "\n\n";
                          PrintTable(std::cout, {"FEATURE", "VALUE"}, rows);
                          for (const auto& v : res["views"]) {
                            std::cout << "\n" << Cell(v["view"]) << ": " << OnlineText(v["online"]);
                          }
                          std::cout << "\n";
                        });
  });

  auto* lineage =
      r->app().add_subcommand("lineage", "What an object was made from and what was made from it");
  lineage
      ->add_option("REF", o->ref,
                   "a model version NAME@VERSION, or dataset/NAME[@VERSION], "
                   "feature_view/NAME[@VERSION], training_set/ID or validation/ID")
      ->required();
  lineage->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
  lineage->add_option("--format", o->format, "for a model version: svg (default), dot or json")
      ->check(CLI::IsMember({"svg", "dot", "json"}));
  lineage->add_option("--out", o->out, "for a model version: write to this file");
  r->On(lineage, [o, g]() -> Status {
    std::string project = o->project.empty() ? EnvOr("PLINTH_PROJECT", "") : o->project;
    // A model version's lineage is a document drawn by the platform (raw data to deployment).
    if (o->ref.find('/') == std::string::npos) {
      return FetchModelLineage(*g, project, o->ref, o->format, o->out);
    }
    if (project.empty()) {
      return absl::InvalidArgumentError("which project? pass --project or set PLINTH_PROJECT");
    }
    return CallAndPrint(*g, "lineage.show", {{"project", project}, {"ref", o->ref}}, PrintLineage);
  });
}

}  // namespace plinth
