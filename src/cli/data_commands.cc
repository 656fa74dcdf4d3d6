// `plinth data register|list|show|profile`: governed, versioned data sets. Register streams the
// CSV file to the platform (in process or to a server) as the data.register upload; the profile's
// HTML report is drawn here, from the profile JSON, so it is the same in both modes.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/command_support.h"
#include "cli/output.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/dataset.h"
#include "data/profile.h"
#include "data/synth_transactions.h"

namespace plinth {
namespace {

struct DataOptions {
  std::string name, file, project, target, timestamp, entity, pii, protected_attributes;
  std::string classification, html, suite, reference, out;
  SynthTransactionsOptions synth;
};

// The expectations of a validation result as a table.
void PrintValidation(const Json& res) {
  const Json& result = res["result"];
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : result["expectations"]) {
    Json observed_json = e["observed"];
    if (observed_json.is_object()) observed_json.erase("bins");  // in the HTML report
    std::string observed = e.contains("error") && !e["error"].is_null()
                               ? "error: " + Cell(e["error"])
                               : DumpJson(observed_json);
    if (observed.size() > 60) observed = observed.substr(0, 57) + "...";
    rows.push_back({Cell(e["id"]), Cell(e["type"]), Cell(e["severity"]), Cell(e["column"]),
                    e.value("passed", false) ? "pass" : "FAIL", observed});
  }
  std::cout << "Validation of " << Cell(res["name"]) << "@" << Cell(res["version"]).substr(0, 12)
            << " with suite " << Cell(result["suite"]) << "\n\n";
  PrintTable(std::cout, {"ID", "TYPE", "SEVERITY", "COLUMN", "RESULT", "OBSERVED"}, rows);
  std::cout << "\n"
            << (result.value("passed", false) ? "PASSED" : "FAILED") << ": "
            << Cell(result["blocking_failures"]) << " blocking and "
            << Cell(result["warning_failures"]) << " warning failures (result " << Cell(res["id"])
            << ")\n";
}

std::string Short(const Json& version) { return Cell(version).substr(0, 12); }

// "a, b" from a JSON list; "-" when empty.
std::string ListText(const Json& list) {
  std::string out;
  if (list.is_array()) {
    for (const auto& v : list) out += (out.empty() ? "" : ", ") + Cell(v);
  }
  return out.empty() ? "-" : out;
}

// The tags of `column` as "target, pii".
std::string ColumnTags(const Json& tags, const std::string& column) {
  std::vector<std::string> out;
  for (const char* single : {"target", "timestamp", "entity"}) {
    if (tags.contains(single) && tags[single] == column) out.push_back(single);
  }
  for (const char* multi : {"pii", "protected"}) {
    if (!tags.contains(multi) || !tags[multi].is_array()) continue;
    for (const auto& c : tags[multi]) {
      if (c == column) out.push_back(multi);
    }
  }
  std::string text;
  for (const auto& t : out) text += (text.empty() ? "" : ", ") + t;
  return text;
}

std::string Num(const Json& v) {
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  return Cell(v);
}

// Splits NAME@VERSION into the request's name and version fields.
Json RefRequest(const std::string& ref, const std::string& project) {
  DatasetRef r = ParseDatasetRef(ref);
  Json req = {{"project", project}, {"name", r.name}};
  if (!r.version.empty()) req["version"] = r.version;
  return req;
}

void PrintShow(const Json& r) {
  std::cout << "Data set " << Cell(r["name"]) << " in project " << Cell(r["project"]) << "\n"
            << "  version         " << Cell(r["version"]) << "\n"
            << "  rows x columns  " << Cell(r["num_rows"]) << " x " << Cell(r["num_columns"])
            << "\n"
            << "  classification  " << Cell(r["classification"]) << "\n"
            << "  file            " << Cell(r["file_digest"]) << " ("
            << HumanBytes(r.value("size", int64_t{0})) << ")\n"
            << "  snapshot        " << Cell(r["snapshot_digest"]) << "\n"
            << "  target          " << Cell(r["tags"]["target"]) << "\n"
            << "  timestamp       " << Cell(r["tags"]["timestamp"]) << "\n"
            << "  entity          " << Cell(r["tags"]["entity"]) << "\n"
            << "  pii             " << ListText(r["tags"]["pii"]) << "\n"
            << "  protected       " << ListText(r["tags"]["protected"]) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r["schema"]) {
    rows.push_back({Cell(c["name"]), Cell(c["type"]), Cell(c["nulls"]),
                    ColumnTags(r["tags"], Cell(c["name"]))});
  }
  PrintTable(std::cout, {"COLUMN", "TYPE", "NULLS", "TAGS"}, rows);
  std::cout << "\n";
  rows.clear();
  for (const auto& v : r["versions"]) {
    rows.push_back({Cell(v["seq"]), Short(v["version"]), Cell(v["num_rows"]),
                    Cell(v["classification"]), Cell(v["created"]), Cell(v["created_by"])});
  }
  PrintTable(std::cout, {"#", "VERSION", "ROWS", "CLASSIFICATION", "REGISTERED", "BY"}, rows);
}

void PrintProfile(const Json& r) {
  std::cout << "Profile of " << Cell(r["name"]) << "@" << Short(r["version"]) << " ("
            << Cell(r["rows"]) << " rows)\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r["columns"]) {
    if (c.contains("masked")) {
      rows.push_back(
          {Cell(c["name"]), Cell(c["type"]), Cell(c["nulls"]), "-", "masked (PII)", "", ""});
      continue;
    }
    // Timestamps as RFC 3339 text: the profile's "<key>_time", or for a profile stored before
    // those fields existed its microseconds formatted; the number if neither gives a time.
    auto stat = [&c](const char* key) -> std::string {
      if (!c.contains(key)) return "";
      if (c.contains("type") && c["type"] == "timestamp") {
        std::string time_key = std::string(key) + "_time";
        if (c.contains(time_key) && c[time_key].is_string()) return Cell(c[time_key]);
        if (c[key].is_number()) {
          Json text = TimestampText(c[key].get<double>());
          if (text.is_string()) return Cell(text);
        }
      }
      return Num(c[key]);
    };
    std::string min = stat("min");
    std::string mean = stat("mean");
    std::string max = stat("max");
    if (c.contains("top") && !c["top"].empty()) {
      min = "top: " + Cell(c["top"][0]["value"]) + " (" + Cell(c["top"][0]["count"]) + ")";
    }
    rows.push_back(
        {Cell(c["name"]), Cell(c["type"]), Cell(c["nulls"]), Cell(c["distinct"]), min, mean, max});
  }
  PrintTable(std::cout, {"COLUMN", "TYPE", "NULLS", "DISTINCT", "MIN", "MEAN", "MAX"}, rows);
}

Status WriteHtml(const std::string& path, const Json& profile) {
  std::string title = "Profile of " + Cell(profile["name"]) + " (" + Cell(profile["project"]) +
                      ") @ " + Short(profile["version"]);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InvalidArgumentError("cannot write " + path);
  out << RenderProfileHtml(profile, title);
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace

void AddDataCommands(CommandRegistrar* r) {
  auto o = std::make_shared<DataOptions>();
  const GlobalOptions* g = &r->globals();
  auto* data =
      r->app().add_subcommand("data", "Governed, versioned data sets")->require_subcommand(1);

  auto* reg = data->add_subcommand(
      "register", "Register a CSV file as a version of a data set (data-scientist)");
  reg->add_option("NAME", o->name, "data set name")->required();
  reg->add_option("FILE", o->file, "CSV file")->required();
  reg->add_option("--project", o->project, "project")->required();
  reg->add_option("--target", o->target, "the label column");
  reg->add_option("--timestamp", o->timestamp, "the event time column");
  reg->add_option("--entity", o->entity, "the key column");
  reg->add_option("--pii", o->pii, "columns holding personal data, comma-separated");
  reg->add_option("--protected", o->protected_attributes,
                  "protected attributes (kept for fairness evaluation), comma-separated");
  reg->add_option("--classification", o->classification,
                  "public, internal (default) or confidential");
  r->On(reg, [o, g]() -> Status {
    Json req = {{"project", o->project}, {"name", o->name}};
    const std::pair<const char*, const std::string*> tags[] = {
        {"target", &o->target},
        {"timestamp", &o->timestamp},
        {"entity", &o->entity},
        {"pii", &o->pii},
        {"protected", &o->protected_attributes},
        {"classification", &o->classification}};
    for (const auto& [key, value] : tags) {
      if (!value->empty()) req[key] = *value;
    }
    ASSIGN_OR_RETURN(auto client, Connect(*g));
    ProgressBar bar("register");
    ASSIGN_OR_RETURN(Json result, client->Upload("data.register", req, o->file,
                                                 [&](int64_t d, int64_t t) { bar.Update(d, t); }));
    bar.Finish();
    if (g->json) {
      PrintJson(std::cout, result);
    } else {
      std::cout << (result.value("new_version", false) ? "Registered " : "Already registered ")
                << Cell(result["name"]) << "@" << Short(result["version"]) << " in project "
                << Cell(result["project"]) << ": " << Cell(result["num_rows"]) << " rows x "
                << Cell(result["num_columns"]) << " columns, " << Cell(result["classification"])
                << "\n  version " << Cell(result["version"]) << "\n";
    }
    return absl::OkStatus();
  });

  auto* list = data->add_subcommand("list", "Data sets of your projects");
  list->add_option("--project", o->project, "only this project");
  r->On(list, [o, g] {
    Json req = Json::object();
    if (!o->project.empty()) req["project"] = o->project;
    return CallAndPrint(*g, "data.list", req, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& d : res["datasets"]) {
        rows.push_back({Cell(d["project"]), Cell(d["name"]), Short(d["version"]),
                        Cell(d["versions"]), Cell(d["num_rows"]), Cell(d["num_columns"]),
                        Cell(d["classification"]), Cell(d["created"])});
      }
      PrintTable(std::cout,
                 {"PROJECT", "NAME", "LATEST", "VERSIONS", "ROWS", "COLUMNS", "CLASSIFICATION",
                  "REGISTERED"},
                 rows);
    });
  });

  auto* show = data->add_subcommand("show", "Schema, tags and version history of a data set");
  show->add_option("NAME", o->name, "NAME or NAME@VERSION (12+ hex characters)")->required();
  show->add_option("--project", o->project, "project")->required();
  r->On(show, [o, g] {
    return CallAndPrint(*g, "data.show", RefRequest(o->name, o->project), PrintShow);
  });

  auto* profile = data->add_subcommand("profile", "Column profile of a data set version");
  profile->add_option("NAME", o->name, "NAME or NAME@VERSION (12+ hex characters)")->required();
  profile->add_option("--project", o->project, "project")->required();
  profile->add_option("--html", o->html, "also write a self-contained HTML report to this file");
  r->On(profile, [o, g]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(*g));
    ASSIGN_OR_RETURN(Json result, client->Call("data.profile", RefRequest(o->name, o->project)));
    if (!o->html.empty()) RETURN_IF_ERROR(WriteHtml(o->html, result));
    if (g->json) {
      PrintJson(std::cout, result);
    } else {
      PrintProfile(result);
      if (!o->html.empty()) std::cout << "\nWrote the HTML report to " << o->html << "\n";
    }
    return absl::OkStatus();
  });

  auto* validate = data->add_subcommand(
      "validate", "Run a validation suite on a data set version; exit 5 if a blocking check fails");
  validate->add_option("NAME", o->name, "NAME or NAME@VERSION (12+ hex characters)")->required();
  validate->add_option("--project", o->project, "project")->required();
  validate->add_option("--suite", o->suite, "suite file (YAML)")->required();
  validate->add_option("--reference", o->reference,
                       "data set NAME[@VERSION] in the project to measure drift against");
  validate->add_option("--html", o->html, "also write the HTML report to this file");
  r->On(validate, [o, g]() -> Status {
    ASSIGN_OR_RETURN(std::string suite_text, ReadFile(o->suite));
    Json req = RefRequest(o->name, o->project);
    req["suite"] = suite_text;
    req["suite_file"] = o->suite;
    if (!o->reference.empty()) req["reference"] = o->reference;
    if (!o->html.empty()) req["html"] = true;
    ASSIGN_OR_RETURN(auto client, Connect(*g));
    ASSIGN_OR_RETURN(Json res, client->Call("data.validate", req));
    if (!o->html.empty()) {
      RETURN_IF_ERROR(WriteFileAtomic(o->html, res.value("html", std::string()), 0644, true));
      res.erase("html");
    }
    if (g->json) {
      PrintJson(std::cout, res);
    } else {
      PrintValidation(res);
      if (!o->html.empty()) std::cout << "Wrote the HTML report to " << o->html << "\n";
    }
    if (!res["result"].value("passed", false)) {
      return GateRefusedError(
          "validation failed: " + std::to_string(res["result"].value("blocking_failures", 0)) +
          " blocking expectation(s) of suite " + res["result"].value("suite", std::string()) +
          " failed");
    }
    return absl::OkStatus();
  });

  auto* synth = data->add_subcommand("synth", "Generate synthetic data (documented as synthetic)")
                    ->require_subcommand(1);
  auto* transactions = synth->add_subcommand(
      "transactions", "Card transactions with a fraud label, deterministic by seed");
  transactions->add_option("--customers", o->synth.customers, "number of customers (cards)")
      ->default_val(1000);
  transactions->add_option("--days", o->synth.days, "days covered")->default_val(30);
  transactions->add_option("--seed", o->synth.seed, "random seed")->default_val(1);
  transactions->add_option("--out", o->out, "output CSV file")->required();
  r->On(transactions, [o, g]() -> Status {
    SynthTransactionsStats stats;
    RETURN_IF_ERROR(WriteSyntheticTransactions(o->synth, o->out, &stats));
    if (g->json) {
      PrintJson(std::cout, {{"out", o->out},
                            {"transactions", stats.transactions},
                            {"fraud_transactions", stats.fraud_transactions}});
    } else {
      std::cout << "Wrote " << stats.transactions << " synthetic transactions ("
                << stats.fraud_transactions << " fraud) for " << o->synth.customers
                << " customers over " << o->synth.days << " days to " << o->out << "\n";
    }
    return absl::OkStatus();
  });
}

}  // namespace plinth
