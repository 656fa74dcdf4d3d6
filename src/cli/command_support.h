// What every group of CLI commands shares: the global options, connecting to the platform (in
// process on the home, or a server), and calling an operation with table-or-JSON output. Each
// domain's commands live in their own file and register through a CommandRegistrar.
#ifndef PLINTH_CLI_COMMAND_SUPPORT_H_
#define PLINTH_CLI_COMMAND_SUPPORT_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "platform/client.h"

namespace plinth {

struct GlobalOptions {
  std::string home;
  std::string server;
  std::string token;
  bool json = false;
};

// The environment variable `name`, or `fallback` when unset or empty.
std::string EnvOr(const char* name, const std::string& fallback);

// A client for the options: HTTP when --server / PLINTH_SERVER is set, else in process on the
// home. The token comes from --token, PLINTH_TOKEN, or the home's credentials file.
StatusOr<std::unique_ptr<PlatformClient>> Connect(const GlobalOptions& g);

// XGBoost's OpenMP threads spin at barriers unless OMP_WAIT_POLICY=passive was in the process's
// environment when libgomp loaded (before main): on a machine busy with other work, spinning makes
// training many times slower. Commands that train call this first: it sets the variable and
// executes the binary again with the same arguments (once; a no-op when it is already set).
void EnsurePassiveOpenMp(char** argv);

// Prints an operation's result for people.
using Render = std::function<void(const Json&)>;

// Connects, runs `op`, and prints the result as JSON (--json) or through `human`.
Status CallAndPrint(const GlobalOptions& g, const std::string& op, const Json& request,
                    const Render& human);

// Registers commands: On(cmd, fn) makes `fn` the action run when `cmd` is chosen.
class CommandRegistrar {
 public:
  CommandRegistrar(CLI::App* app, GlobalOptions* globals, std::function<Status()>* action)
      : app_(app), globals_(globals), action_(action) {}
  CLI::App& app() { return *app_; }
  const GlobalOptions& globals() const { return *globals_; }
  void On(CLI::App* cmd, std::function<Status()> fn) {
    std::function<Status()>* action = action_;
    cmd->callback([action, fn] { *action = fn; });
  }

 private:
  CLI::App* app_;
  GlobalOptions* globals_;
  std::function<Status()>* action_;
};

// `plinth data ...`: data sets (data_commands.cc).
void AddDataCommands(CommandRegistrar* r);
// `plinth features ...` and `plinth lineage` (feature_commands.cc).
void AddFeatureCommands(CommandRegistrar* r);
// `plinth experiments ...` and `plinth runs ...` (run_commands.cc).
void AddRunCommands(CommandRegistrar* r);
// `plinth run`, `plinth pipelines ...` and `plinth new` (pipeline_commands.cc). `argv` is the
// process's, for re-executing with the OpenMP wait policy training needs.
void AddPipelineCommands(CommandRegistrar* r, char** argv);
// `plinth models ...`, `plinth policy ...`, `plinth card`, `plinth report` (model_commands.cc).
void AddModelCommands(CommandRegistrar* r);
// An inference server in this process (what `plinth serve` runs), for the demo.
struct ServingSessionOptions {
  std::string environment = "staging";
  std::string listen = "127.0.0.1:0";
  std::string decisions_dir;
  int io_threads = 2;
  // > 0: handlers run on this many threads behind a queue of max_pending requests; a full queue
  // answers 429 (backpressure), a request queued longer than a second 503.
  int handler_threads = 0;
  int max_pending = 256;
  int poll_ms = 1000;
  bool record_inputs = true;
  bool quiet = false;  // no log lines on deployment changes
  // The online store rows by entity id are looked up in (a folder or a redis:// URL); empty:
  // none, and such rows must carry every feature.
  std::string online_store;
};
class ServingSession;
struct DeleteServingSession {
  void operator()(ServingSession* s) const;
};
// Loads what `options.environment` serves through `client` (which must outlive the session) and
// listens; the session follows deployment changes until stopped.
using ServingSessionPtr = std::unique_ptr<ServingSession, DeleteServingSession>;
StatusOr<ServingSessionPtr> StartServing(PlatformClient* client,
                                         const ServingSessionOptions& options);
int ServingPort(const ServingSession& session);
Status StopServing(ServingSession& session);

// `plinth serve` and `plinth decisions ...` (serve_command.cc).
void AddServeCommands(CommandRegistrar* r);
// `plinth monitor ...` (monitor_commands.cc).
void AddMonitorCommands(CommandRegistrar* r);
// Asks the platform for an edge bundle of `request`'s version (model.export_edge) and writes it
// to the folder `out` whole (a temporary sibling renamed into place; an existing `out` is replaced
// only when `replace`). Returns bundle.json's content; `response`, if given, gets the platform's.
StatusOr<Json> ExportEdgeBundle(PlatformClient& client, const Json& request, const std::string& out,
                                bool replace, Json* response = nullptr);
// `plinth export edge ...` (edge_commands.cc).
void AddEdgeCommands(CommandRegistrar* r);
// `plinth deploy ...` (deploy_commands.cc).
void AddDeployCommands(CommandRegistrar* r);
// `plinth lineage NAME@VERSION`: a model version's lineage document (dot, svg or json) to `out`
// (standard output when empty).
Status FetchModelLineage(const GlobalOptions& g, const std::string& project, const std::string& ref,
                         const std::string& format, const std::string& out);

}  // namespace plinth

#endif  // PLINTH_CLI_COMMAND_SUPPORT_H_
