// Deployments from the terminal (docs/deployments.md):
//   plinth deploy NAME@V --env staging|production [--canary PERCENT | --shadow] [--reason R]
//   plinth deploy rollback NAME --env E [--reason R]
//   plinth deploy stop NAME --env E --reason R
//   plinth deploy list [--env E]
#include <iostream>

#include "cli/command_support.h"
#include "cli/output.h"

namespace plinth {
namespace {

struct DeployOptions {
  std::string project, ref, name, env, reason;
  int canary = 0;
  bool shadow = false;
};

std::string ProjectOf(const DeployOptions& o) {
  return o.project.empty() ? EnvOr("PLINTH_PROJECT", "") : o.project;
}

Status NeedProject(const DeployOptions& o) {
  if (ProjectOf(o).empty()) {
    return absl::InvalidArgumentError("which project? pass --project or set PLINTH_PROJECT");
  }
  return absl::OkStatus();
}

std::string Describe(const Json& d) {
  std::string s = Cell(d["name"]) + "@" + Cell(d["version"]);
  if (d["canary"].is_object()) {
    s += " + canary @" + Cell(d["canary"]["version"]) + " (" + Cell(d["canary"]["percent"]) + "%)";
  }
  if (d["shadow"].is_object()) s += " + shadow @" + Cell(d["shadow"]["version"]);
  return s;
}

void PrintChange(const Json& res) {
  const std::string action = Cell(res["action"]);
  const std::string env = Cell(res["environment"]);
  if (action == "stop") {
    std::cout << "stopped " << Cell(res["name"]) << " in " << env << ": it no longer serves ("
              << Cell(res["reason"]) << ")\n";
    return;
  }
  std::cout << env << " now serves " << Describe(res) << " [" << action << "]\n";
}

}  // namespace

void AddDeployCommands(CommandRegistrar* r) {
  auto o = std::make_shared<DeployOptions>();
  const GlobalOptions* g = &r->globals();
  auto* deploy = r->app().add_subcommand(
      "deploy",
      "Deploy an approved version to an environment (or: rollback, stop, list)\n"
      "  plinth deploy credit-risk@3 --env staging\n"
      "  plinth deploy credit-risk@4 --env production --canary 10");
  deploy->require_subcommand(0, 1);
  deploy->add_option("REF", o->ref, "NAME@VERSION (a number, alias, staging or production)");
  deploy->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
  auto* env_opt = deploy->add_option("--env", o->env, "staging or production");
  auto* canary = deploy
                     ->add_option("--canary", o->canary,
                                  "send this percentage of traffic to the version, beside the "
                                  "one serving")
                     ->check(CLI::Range(1, 99));
  deploy
      ->add_flag("--shadow", o->shadow,
                 "score the version beside the one serving; log its results, return the "
                 "primary's")
      ->excludes(canary);
  deploy->add_option("--reason", o->reason, "why (audited)");
  // CLI11 runs the parent's callback after the subcommand's: the parent's action therefore
  // dispatches to the subcommand that was parsed.
  auto sub_actions = std::make_shared<std::vector<std::pair<CLI::App*, std::function<Status()>>>>();
  r->On(deploy, [o, g, env_opt, sub_actions]() -> Status {
    for (const auto& [cmd, fn] : *sub_actions) {
      if (cmd->parsed()) return fn();
    }
    if (o->ref.empty() || env_opt->count() == 0) {
      return absl::InvalidArgumentError(
          "usage: plinth deploy NAME@VERSION --env staging|production [--canary PERCENT | "
          "--shadow]; or plinth deploy rollback|stop|list (see plinth deploy --help)");
    }
    RETURN_IF_ERROR(NeedProject(*o));
    size_t at = o->ref.rfind('@');
    Json req = {{"project", ProjectOf(*o)},
                {"name", o->ref.substr(0, at)},
                {"version", at == std::string::npos ? "latest" : o->ref.substr(at + 1)},
                {"environment", o->env}};
    if (o->canary > 0) req["canary_percent"] = o->canary;
    if (o->shadow) req["shadow"] = true;
    if (!o->reason.empty()) req["reason"] = o->reason;
    return CallAndPrint(*g, "deployment.create", req, PrintChange);
  });

  auto named = [&](const char* name, const char* help) {
    auto* cmd = deploy->add_subcommand(name, help);
    cmd->add_option("NAME", o->name, "model name")->required();
    cmd->add_option("--env", o->env, "staging or production")->required();
    cmd->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
    return cmd;
  };
  auto request = [o]() {
    Json req = {{"project", ProjectOf(*o)}, {"name", o->name}, {"environment", o->env}};
    if (!o->reason.empty()) req["reason"] = o->reason;
    return req;
  };
  auto* rollback = named("rollback",
                         "End a canary or shadow; without one, return to the version that "
                         "served before");
  rollback->add_option("--reason", o->reason, "why (audited)");
  sub_actions->emplace_back(rollback, [o, g, request]() -> Status {
    RETURN_IF_ERROR(NeedProject(*o));
    return CallAndPrint(*g, "deployment.rollback", request(), PrintChange);
  });
  auto* stop = named("stop", "Stop serving a model in an environment, at once");
  stop->add_option("--reason", o->reason, "why (audited)")->required();
  sub_actions->emplace_back(stop, [o, g, request]() -> Status {
    RETURN_IF_ERROR(NeedProject(*o));
    return CallAndPrint(*g, "deployment.stop", request(), PrintChange);
  });

  auto* list = deploy->add_subcommand("list", "Deployments you can see");
  list->add_option("--env", o->env, "only this environment");
  list->add_option("--project", o->project, "only this project");
  sub_actions->emplace_back(list, [o, g]() -> Status {
    Json req = Json::object();
    if (!o->env.empty()) req["environment"] = o->env;
    if (!o->project.empty()) req["project"] = o->project;
    return CallAndPrint(*g, "deployment.list", req, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& d : res["deployments"]) {
        rows.push_back(
            {Cell(d["environment"]), Cell(d["project"]), Cell(d["name"]), Cell(d["version"]),
             d["canary"].is_object()
                 ? Cell(d["canary"]["version"]) + " (" + Cell(d["canary"]["percent"]) + "%)"
                 : "-",
             d["shadow"].is_object() ? Cell(d["shadow"]["version"]) : "-", Cell(d["state"]),
             Cell(d["updated_at"]), Cell(d["updated_by"])});
      }
      PrintTable(
          std::cout,
          {"ENV", "PROJECT", "MODEL", "VERSION", "CANARY", "SHADOW", "STATE", "UPDATED", "BY"},
          rows);
    });
  });
}

}  // namespace plinth
