#include "cli/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/http_client.h"
#include "api/http_server.h"
#include "audit/audit_log.h"
#include "cli/command_support.h"
#include "cli/output.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/random.h"
#include "platform/home.h"
#include "platform/platform.h"

namespace plinth {
namespace {

std::string RolesText(const Json& roles) {
  std::string out;
  for (const auto& r : roles) {
    if (!out.empty()) out += ", ";
    out += Cell(r["role"]) + "@" + Cell(r["project"]);
  }
  return out.empty() ? "-" : out;
}

Status VerifyAuditFile(const GlobalOptions& g, const std::string& file,
                       const std::string& public_key_hex) {
  std::string public_key;
  if (!public_key_hex.empty()) {
    if (!HexDecode(public_key_hex, &public_key) || public_key.size() != 32) {
      return absl::InvalidArgumentError("--public-key must be 64 hex characters");
    }
  } else {
    std::string server = g.server.empty() ? EnvOr("PLINTH_SERVER", "") : g.server;
    auto home = LoadHome(ResolveHomeDir(g.home));
    if (server.empty() && home.ok()) {
      ASSIGN_OR_RETURN(std::string hex, ReadFile(home->public_key_path));
      while (!hex.empty() && hex.back() == '\n') hex.pop_back();
      if (!HexDecode(hex, &public_key) || public_key.size() != 32) {
        return absl::DataLossError(home->public_key_path + " does not hold a public key");
      }
    } else {
      ASSIGN_OR_RETURN(auto client, Connect(g));
      ASSIGN_OR_RETURN(public_key, client->PublicKey());
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot open " + file);
  AuditVerifyReport report = VerifyAuditExport(in, public_key);
  Json result = {{"ok", report.ok},
                 {"file", file},
                 {"records", report.records},
                 {"checkpoints", report.checkpoints},
                 {"first_bad_seq", report.first_bad_seq},
                 {"first_bad_line", report.first_bad_line},
                 {"last_checkpoint_seq", report.last_checkpoint_seq},
                 {"last_checkpoint_time", report.last_checkpoint_time},
                 {"reason", report.reason}};
  if (g.json) {
    PrintJson(std::cout, result);
  } else if (report.ok) {
    std::cout << "Audit export " << file << " intact: " << report.records << " records, "
              << report.checkpoints << " signed checkpoints verified";
    if (report.last_checkpoint_seq > 0) {
      std::cout << " (signed through record " << report.last_checkpoint_seq << ", "
                << report.last_checkpoint_time << ")";
    }
    std::cout << "\n";
  }
  if (!report.ok) {
    std::string where = "record " + std::to_string(report.first_bad_seq);
    if (report.first_bad_line > 0) where += " (line " + std::to_string(report.first_bad_line) + ")";
    return absl::DataLossError("audit export " + file + " fails verification at " + where + ": " +
                               report.reason);
  }
  return absl::OkStatus();
}

Status RunServer(const GlobalOptions& g, const std::string& listen, int threads) {
  ApiServerOptions options;
  RETURN_IF_ERROR(ParseListenAddress(listen, &options.host, &options.port));
  options.threads = threads;
  ASSIGN_OR_RETURN(HomeConfig home, LoadHome(ResolveHomeDir(g.home)));
  ASSIGN_OR_RETURN(auto platform, Platform::Open(home));
  // Signals are taken by one thread with sigwait, which then stops the server cleanly.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ApiServer server(platform.get(), options);
  RETURN_IF_ERROR(server.Bind());
  std::cout << "plinth server listening on http://" << options.host << ":" << server.port()
            << " (home " << home.dir << ", store " << platform->store().backend() << ")"
            << std::endl;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    server.Stop();
  });
  Status served = server.Serve();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  Status checkpoint = platform->Checkpoint();
  std::cout << "plinth server stopped" << std::endl;
  RETURN_IF_ERROR(served);
  return checkpoint;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{
      "Plinth: a governed, self-service machine-learning platform.\n"
      "Commands work on the home (--home, PLINTH_HOME, default ./.plinth) or against a server\n"
      "(--server URL, PLINTH_SERVER) with a token (--token, PLINTH_TOKEN, else the home's\n"
      "credentials). Exit codes: 0 ok, 1 internal, 2 usage, 3 not found, 4 permission denied,\n"
      "5 refused by a gate, 6 conflict, 7 integrity failure.",
      "plinth"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions g;
  app.add_option("--home", g.home, "Plinth home folder (default $PLINTH_HOME or ./.plinth)");
  app.add_option("--server", g.server, "Plinth server URL, e.g. http://127.0.0.1:8080");
  app.add_option("--token", g.token, "API token (default $PLINTH_TOKEN or the home's credentials)");
  app.add_flag("--json", g.json, "Print machine-readable JSON");
  app.fallthrough();

  std::function<Status()> action;
  CommandRegistrar registrar(&app, &g, &action);
  auto on = [&](CLI::App* cmd, std::function<Status()> fn) { registrar.On(cmd, std::move(fn)); };

  // init
  std::string store_url;
  auto* init = app.add_subcommand("init", "Create a home: keys, metadata store, first admin token");
  init->add_option("--store", store_url,
                   "metadata store: postgresql://USER@HOST:PORT/DB (default SQLite in the home)");
  on(init, [&]() -> Status {
    ASSIGN_OR_RETURN(InitResult r, Platform::Init(ResolveHomeDir(g.home), store_url));
    if (g.json) {
      PrintJson(std::cout, {{"home", r.home}, {"user", r.user}, {"token", r.token}});
    } else {
      std::cout << "Created Plinth home at " << r.home << "\n"
                << "Admin token (shown once; also saved, mode 0600, in " << r.home
                << "/credentials):\n  " << r.token << "\n";
    }
    return absl::OkStatus();
  });

  auto* whoami = app.add_subcommand("whoami", "Show who the token belongs to and its roles");
  on(whoami, [&] {
    return CallAndPrint(g, "whoami", Json::object(), [](const Json& r) {
      std::cout << Cell(r["user"]) << "\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& b : r["roles"]) rows.push_back({Cell(b["role"]), Cell(b["project"])});
      PrintTable(std::cout, {"ROLE", "PROJECT"}, rows);
    });
  });

  // project
  auto* project = app.add_subcommand("project", "Projects")->require_subcommand(1);
  std::string project_name;
  auto* project_create = project->add_subcommand("create", "Create a project (admin)");
  project_create->add_option("NAME", project_name, "project name")->required();
  on(project_create, [&] {
    return CallAndPrint(g, "project.create", {{"name", project_name}}, [](const Json& r) {
      std::cout << "Created project " << Cell(r["name"]) << " (" << Cell(r["id"]) << ")\n";
    });
  });
  auto* project_list = project->add_subcommand("list", "Projects you have a role in");
  on(project_list, [&] {
    return CallAndPrint(g, "project.list", Json::object(), [](const Json& r) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : r["projects"]) {
        rows.push_back({Cell(p["name"]), Cell(p["id"]), Cell(p["created"]), Cell(p["created_by"])});
      }
      PrintTable(std::cout, {"NAME", "ID", "CREATED", "CREATED BY"}, rows);
    });
  });

  // user
  auto* user = app.add_subcommand("user", "Users and roles")->require_subcommand(1);
  std::string user_name, user_role, user_project;
  auto role_help = "viewer, data-scientist, validator, approver, deployer, auditor or admin";
  auto* user_create = user->add_subcommand("create", "Create a user with a role (admin)");
  user_create->add_option("NAME", user_name, "user name")->required();
  user_create->add_option("--role", user_role, role_help)->required();
  user_create->add_option("--project", user_project, "project (omit for platform-wide)");
  auto user_request = [&] {
    Json req = {{"name", user_name}, {"role", user_role}};
    if (!user_project.empty()) req["project"] = user_project;
    return req;
  };
  auto print_user = [](const Json& r) {
    std::cout << "User " << Cell(r["name"]) << ": " << RolesText(r["roles"]) << "\n";
  };
  on(user_create, [&] { return CallAndPrint(g, "user.create", user_request(), print_user); });
  auto* user_grant = user->add_subcommand("grant", "Give an existing user another role (admin)");
  user_grant->add_option("NAME", user_name, "user name")->required();
  user_grant->add_option("--role", user_role, role_help)->required();
  user_grant->add_option("--project", user_project, "project (omit for platform-wide)");
  on(user_grant, [&] { return CallAndPrint(g, "user.grant", user_request(), print_user); });
  auto* user_list = user->add_subcommand("list", "Users and their roles (admin)");
  on(user_list, [&] {
    return CallAndPrint(g, "user.list", Json::object(), [](const Json& r) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& u : r["users"]) {
        rows.push_back({Cell(u["name"]), RolesText(u["roles"]), Cell(u["created"])});
      }
      PrintTable(std::cout, {"NAME", "ROLES", "CREATED"}, rows);
    });
  });

  // token
  auto* token = app.add_subcommand("token", "API tokens")->require_subcommand(1);
  std::string token_user, token_ttl, token_id;
  auto* token_create = token->add_subcommand("create", "Issue a token (shown once)");
  token_create->add_option("--user", token_user, "user the token is for")->required();
  token_create->add_option("--ttl", token_ttl, "lifetime, e.g. 90s, 15m, 1h, 30d (default none)");
  on(token_create, [&] {
    Json req = {{"user", token_user}};
    if (!token_ttl.empty()) req["ttl"] = token_ttl;
    return CallAndPrint(g, "token.create", req, [](const Json& r) {
      std::cout << "Token " << Cell(r["id"]) << " for " << Cell(r["user"])
                << " (expires: " << (r["expires"].is_null() ? "never" : Cell(r["expires"]))
                << "), shown once:\n  " << Cell(r["token"]) << "\n";
    });
  });
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token at once");
  token_revoke->add_option("ID", token_id, "token id")->required();
  on(token_revoke, [&] {
    return CallAndPrint(g, "token.revoke", {{"id", token_id}}, [](const Json& r) {
      std::cout << "Revoked token " << Cell(r["id"]) << " of " << Cell(r["user"]) << "\n";
    });
  });
  auto* token_list = token->add_subcommand("list", "Tokens (never their secrets)");
  on(token_list, [&] {
    return CallAndPrint(g, "token.list", Json::object(), [](const Json& r) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& t : r["tokens"]) {
        rows.push_back({Cell(t["id"]), Cell(t["user"]), Cell(t["created"]), Cell(t["expires"]),
                        Cell(t["revoked"])});
      }
      PrintTable(std::cout, {"ID", "USER", "CREATED", "EXPIRES", "REVOKED"}, rows);
    });
  });

  // artifacts
  auto* artifacts =
      app.add_subcommand("artifacts", "Content-addressed artifacts")->require_subcommand(1);
  std::string artifact_file, artifact_project, artifact_digest, artifact_out;
  auto* artifacts_put = artifacts->add_subcommand("put", "Store a file in a project");
  artifacts_put->add_option("FILE", artifact_file, "file to store")->required();
  artifacts_put->add_option("--project", artifact_project, "project")->required();
  on(artifacts_put, [&]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(g));
    ProgressBar bar("put");
    ASSIGN_OR_RETURN(Json r, client->PutArtifact(artifact_project, artifact_file,
                                                 [&](int64_t d, int64_t t) { bar.Update(d, t); }));
    bar.Finish();
    if (g.json) {
      PrintJson(std::cout, r);
    } else {
      std::cout << "Stored " << artifact_file << " as " << Cell(r["digest"]) << " ("
                << HumanBytes(r["size"].get<int64_t>()) << ") in project " << Cell(r["project"])
                << "\n";
    }
    return absl::OkStatus();
  });
  auto* artifacts_get = artifacts->add_subcommand("get", "Read an artifact, verified, to a file");
  artifacts_get->add_option("DIGEST", artifact_digest, "sha256:<64 hex>")->required();
  artifacts_get->add_option("--out", artifact_out, "output file")->required();
  on(artifacts_get, [&]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(g));
    ProgressBar bar("get");
    int64_t bytes = 0;
    RETURN_IF_ERROR(client->GetArtifact(artifact_digest, artifact_out, [&](int64_t d, int64_t t) {
      bytes = d;
      bar.Update(d, t);
    }));
    bar.Finish();
    if (g.json) {
      PrintJson(std::cout, {{"digest", artifact_digest}, {"out", artifact_out}, {"size", bytes}});
    } else {
      std::cout << "Wrote " << artifact_out << " (" << HumanBytes(bytes) << ", verified "
                << artifact_digest << ")\n";
    }
    return absl::OkStatus();
  });
  auto* artifacts_list = artifacts->add_subcommand("list", "Artifacts of a project");
  artifacts_list->add_option("--project", artifact_project, "project")->required();
  on(artifacts_list, [&] {
    return CallAndPrint(g, "artifact.list", {{"project", artifact_project}}, [](const Json& r) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& a : r["artifacts"]) {
        rows.push_back({Cell(a["digest"]), HumanBytes(a["size"].get<int64_t>()), Cell(a["created"]),
                        Cell(a["created_by"])});
      }
      PrintTable(std::cout, {"DIGEST", "SIZE", "CREATED", "BY"}, rows);
    });
  });

  // audit
  auto* audit =
      app.add_subcommand("audit", "The tamper-evident audit chain")->require_subcommand(1);
  std::string audit_file, audit_key, audit_out;
  int audit_n = 20;
  auto* audit_verify = audit->add_subcommand(
      "verify", "Verify the chain (exit 7 and the first bad record if broken)");
  audit_verify->add_option("--file", audit_file, "verify an export (JSON lines) instead");
  audit_verify->add_option("--public-key", audit_key,
                           "platform public key, hex (default: the home's, or the server's)");
  on(audit_verify, [&]() -> Status {
    if (!audit_file.empty()) return VerifyAuditFile(g, audit_file, audit_key);
    ASSIGN_OR_RETURN(auto client, Connect(g));
    ASSIGN_OR_RETURN(Json r, client->Call("audit.verify", Json::object()));
    if (g.json) PrintJson(std::cout, r);
    if (!r.value("ok", false)) {
      return absl::DataLossError("audit chain broken at record " +
                                 std::to_string(r.value("first_bad_seq", int64_t{0})) + ": " +
                                 r.value("reason", std::string("unknown")));
    }
    if (!g.json) {
      std::cout << "Audit chain intact: " << r["records"] << " records, " << r["checkpoints"]
                << " signed checkpoints verified\n";
    }
    return absl::OkStatus();
  });
  auto* audit_export = audit->add_subcommand("export", "Write the chain as JSON lines");
  audit_export->add_option("--out", audit_out, "output file")->required();
  on(audit_export, [&]() -> Status {
    ASSIGN_OR_RETURN(auto client, Connect(g));
    RETURN_IF_ERROR(client->ExportAudit(audit_out));
    if (g.json) {
      PrintJson(std::cout, {{"out", audit_out}});
    } else {
      std::cout << "Exported the audit chain to " << audit_out << "\n";
    }
    return absl::OkStatus();
  });
  auto* audit_tail = audit->add_subcommand("tail", "The last records");
  audit_tail->add_option("-n", audit_n, "number of records (default 20)");
  on(audit_tail, [&] {
    return CallAndPrint(g, "audit.tail", {{"n", audit_n}}, [](const Json& r) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& rec : r["records"]) {
        rows.push_back({Cell(rec["seq"]), Cell(rec["time"]), Cell(rec["actor"]),
                        Cell(rec["action"]), Cell(rec["project"]), Cell(rec["resource"]),
                        Cell(rec["outcome"])});
      }
      PrintTable(std::cout, {"SEQ", "TIME", "ACTOR", "ACTION", "PROJECT", "RESOURCE", "OUTCOME"},
                 rows);
    });
  });

  AddDataCommands(&registrar);
  AddFeatureCommands(&registrar);
  AddRunCommands(&registrar);
  AddPipelineCommands(&registrar, argv);
  AddModelCommands(&registrar);
  AddDeployCommands(&registrar);
  AddServeCommands(&registrar);
  AddEdgeCommands(&registrar);
  AddMonitorCommands(&registrar);

  // server
  std::string listen = "127.0.0.1:8080";
  int threads = 32;
  auto* server = app.add_subcommand("server", "Serve the REST API (/api/v1) for this home");
  server->add_option("--listen", listen, "HOST:PORT (default 127.0.0.1:8080; port 0 = any)");
  server->add_option("--threads", threads, "worker threads (default 32)");
  on(server, [&] { return RunServer(g, listen, threads); });

  // demo
  auto* demo = app.add_subcommand("demo", "Show what Plinth does, in a fresh home");
  on(demo, [&] {
    EnsurePassiveOpenMp(argv);
    return RunDemo(g.home, g.json);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (!action) return kExitUsage;
  Status s = action();
  if (!s.ok()) {
    if (g.json) {
      PrintJson(
          std::cerr,
          {{"error", {{"code", WireCodeFor(s.code())}, {"message", std::string(s.message())}}}});
    } else {
      std::cerr << "error: " << s.message() << "\n";
    }
    return ExitCodeFor(s);
  }
  return 0;
}

}  // namespace plinth
