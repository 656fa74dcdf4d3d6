// `plinth run PIPELINE.yaml` (a pipeline run with a live view of its steps), `plinth pipelines
// list|show` (recorded runs) and `plinth new TEMPLATE DIR` (a ready project from a curated
// template). The executor runs in this process; the run is recorded on the platform the
// command is connected to (steps/pipeline_runner.h).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "api/http_client.h"
#include "cli/command_support.h"
#include "cli/output.h"
#include "cli/templates.h"
#include "core/files.h"
#include "steps/pipeline_runner.h"
#include "steps/trial_runner.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using pipeline::EventKind;
using pipeline::PipelineEvent;

std::atomic<bool> g_cancel{false};

void OnInterrupt(int) {
  if (g_cancel.load()) {
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  g_cancel.store(true);
}

std::string Seconds(double s) {
  char buf[32];
  if (s < 10) {
    std::snprintf(buf, sizeof(buf), "%.2fs", s);
  } else if (s < 600) {
    std::snprintf(buf, sizeof(buf), "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

// The metrics people look at first (AUC, KS, the gap, row counts), then the rest by name.
std::vector<std::pair<std::string, double>> RankedMetrics(
    const std::map<std::string, double>& metrics) {
  static const char* kFirst[] = {"test_auc", "test_ks",    "train_test_auc_gap", "valid_auc",
                                 "trials",   "train_rows", "test_rows",          "rows"};
  std::vector<std::pair<std::string, double>> out;
  for (const char* key : kFirst) {
    auto it = metrics.find(key);
    if (it != metrics.end()) out.push_back(*it);
  }
  for (const auto& [k, v] : metrics) {
    if (std::find(std::begin(kFirst), std::end(kFirst), k) == std::end(kFirst)) {
      out.emplace_back(k, v);
    }
  }
  return out;
}

std::string MetricText(const std::map<std::string, double>& metrics, size_t max = 3) {
  std::string out;
  size_t n = 0;
  for (const auto& [k, v] : RankedMetrics(metrics)) {
    if (n++ == max) {
      out += " ...";
      break;
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s%s=%.4g", out.empty() ? "" : " ", k.c_str(), v);
    out += buf;
  }
  return out;
}

// The live view on stderr: one line per step (pending, running with progress, cached, done,
// failed), redrawn in place on a terminal; elsewhere one line per change.
class LiveView {
 public:
  explicit LiveView(bool enabled) : tty_(enabled && ::isatty(2) == 1), enabled_(enabled) {}

  void OnEvent(const PipelineEvent& e) {
    if (!enabled_) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    if (e.kind == EventKind::kStepPending) {
      order_.push_back(e.step);
      steps_[e.step] = Line{"pending", 0, ""};
      return;
    }
    if (e.step.empty()) return;
    Line& line = steps_[e.step];
    bool changed = true;
    switch (e.kind) {
      case EventKind::kStepStarted:
        line.state = e.attempt > 1 ? "retry " + std::to_string(e.attempt) : "running";
        line.started_micros = e.time_micros;
        line.message.clear();
        break;
      case EventKind::kStepProgress:
        line.progress = e.progress;
        if (!e.message.empty()) line.message = e.message;
        changed = false;
        break;
      case EventKind::kStepLog:
        line.message = e.message.substr(0, 70);
        changed = false;
        break;
      case EventKind::kStepCached:
        line.state = e.resumed ? "cached (resumed)" : "cached";
        line.message = MetricText(e.metrics);
        line.finished_micros = e.time_micros;
        line.done = true;
        break;
      case EventKind::kStepSucceeded:
        line.state = "done";
        line.message = MetricText(e.metrics);
        line.finished_micros = e.time_micros;
        line.done = true;
        break;
      case EventKind::kStepFailed:
        line.state = "FAILED";
        line.message = std::string(e.status.message()).substr(0, 200);
        line.finished_micros = e.time_micros;
        line.done = true;
        break;
      case EventKind::kStepRetrying:
        line.state = "retrying";
        line.message = std::string(e.status.message()).substr(0, 100);
        break;
      case EventKind::kStepSkipped:
        line.state = "skipped";
        line.message = e.message;
        line.done = true;
        break;
      case EventKind::kStepCancelled:
        line.state = "cancelled";
        line.done = true;
        break;
      default:
        changed = false;
        break;
    }
    if (tty_) {
      if (!changed && now - last_draw_ < std::chrono::milliseconds(100)) return;
      Draw(now);
    } else if (changed) {
      std::cerr << "  " << Render(e.step, line) << "\n";
    }
  }

  void Finish() {
    if (!enabled_ || !tty_) return;
    std::lock_guard<std::mutex> lock(mu_);
    Draw(std::chrono::steady_clock::now());
  }

 private:
  struct Line {
    std::string state;
    double progress = 0;
    std::string message;
    // The executor's times of the events (the view may see an event a little later).
    int64_t started_micros = 0, finished_micros = 0;
    bool done = false;
  };

  std::string Render(const std::string& name, const Line& line) const {
    std::string icon = line.state == "done"                 ? "\u2714"
                       : line.state.rfind("cached", 0) == 0 ? "\u21bb"
                       : line.state == "FAILED"             ? "\u2718"
                       : line.state == "pending"            ? "\u00b7"
                       : line.done                          ? "-"
                                                            : "\u25b6";
    char head[96];
    std::snprintf(head, sizeof(head), "%s %-14s %-16s", icon.c_str(), name.substr(0, 14).c_str(),
                  line.state.c_str());
    std::string out = head;
    if (tty_ && (line.state == "running" || line.state.rfind("retry", 0) == 0)) {
      int filled = static_cast<int>(std::lround(line.progress * 20));
      out += "[" + std::string(filled, '#') + std::string(20 - filled, '.') + "] ";
      const int64_t now_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
      out += Seconds(std::max<int64_t>(0, now_micros - line.started_micros) / 1e6) + " ";
    } else if (line.state == "done" || line.state == "FAILED") {
      out += Seconds(std::max<int64_t>(0, line.finished_micros - line.started_micros) / 1e6) + " ";
    }
    return out + line.message;
  }

  void Draw(std::chrono::steady_clock::time_point now) {
    std::string frame;
    if (drawn_ > 0) frame += "\x1b[" + std::to_string(drawn_) + "F";
    for (const auto& name : order_) {
      frame += "\x1b[2K  " + Render(name, steps_[name]).substr(0, 160) + "\n";
    }
    std::cerr << frame << std::flush;
    drawn_ = static_cast<int>(order_.size());
    last_draw_ = now;
  }

  const bool tty_;
  const bool enabled_;
  std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, Line> steps_;
  int drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

// The project of a pipeline: --project, else PLINTH_PROJECT, else the `project` of plinth.json
// beside the pipeline (written by `plinth new`).
StatusOr<std::string> ProjectFor(const std::string& flag, const std::string& pipeline) {
  if (!flag.empty()) return flag;
  std::string env = EnvOr("PLINTH_PROJECT", "");
  if (!env.empty()) return env;
  fs::path config = fs::path(pipeline).parent_path() / "plinth.json";
  auto text = ReadFile(config.string());
  if (text.ok()) {
    Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("project") && j["project"].is_string()) {
      return j["project"].get<std::string>();
    }
    return absl::InvalidArgumentError(config.string() + ": expected {\"project\": NAME}");
  }
  return absl::InvalidArgumentError(
      "which project? pass --project, set PLINTH_PROJECT, or put {\"project\": NAME} in " +
      config.string());
}

struct RunCommandOptions {
  std::string file, project, resume, environments, openlineage, openlineage_url;
  std::vector<std::string> params;
  int parallel = 2;
  bool no_cache = false, check = false;
};

void PrintSummary(const PipelineRunOutcome& outcome) {
  std::vector<std::vector<std::string>> rows;
  int ran = 0, cached = 0;
  for (const auto& s : outcome.result.steps) {
    std::string state = pipeline::StepStateName(s.state);
    if (s.state == pipeline::StepState::kCached) {
      ++cached;
      if (s.resumed) state += " (resumed)";
    }
    if (s.state == pipeline::StepState::kSucceeded) ++ran;
    double seconds =
        s.finished_micros > s.started_micros ? (s.finished_micros - s.started_micros) / 1e6 : 0;
    std::string detail =
        s.status.ok() ? MetricText(s.metrics, 4) : std::string(s.status.message()).substr(0, 120);
    rows.push_back({s.name, state, Seconds(seconds), detail});
  }
  std::cout << "\n";
  PrintTable(std::cout, {"STEP", "STATE", "TIME", "METRICS / MESSAGE"}, rows);
  double total = (outcome.result.finished_micros - outcome.result.started_micros) / 1e6;
  std::cout << "\nPipeline " << outcome.pipeline << ", run " << outcome.run_id << ": "
            << pipeline::RunStateName(outcome.result.state) << " in " << Seconds(total) << " ("
            << ran << " ran, " << cached << " cached)\n";
  if (!outcome.resumed_from.empty()) {
    std::cout << "Resumed from run " << outcome.resumed_from << "\n";
  }
  for (const auto& w : outcome.warnings) std::cout << "warning: " << w << "\n";
  std::cout << "See it with: plinth runs show " << outcome.run_id << "   plinth pipelines show "
            << outcome.run_id << "\n";
}

Status RunCommand(const GlobalOptions& g, const RunCommandOptions& o, char** argv) {
  PipelineRunOptions options;
  options.params = o.params;
  options.parallelism = o.parallel;
  options.use_cache = !o.no_cache;
  options.resume = o.resume;
  options.environments = o.environments;
  options.openlineage_file = o.openlineage;
  options.openlineage_url = o.openlineage_url;
  options.openlineage_poster = PostJson;
  if (o.check) {
    ASSIGN_OR_RETURN(Json checked, CheckPipeline(o.file, options));
    if (g.json) {
      PrintJson(std::cout, checked);
    } else {
      std::cout << "Pipeline " << Cell(checked["pipeline"])
                << " is valid: " << checked["steps"].size() << " steps, spec "
                << Cell(checked["spec_digest"]) << "\n";
    }
    return absl::OkStatus();
  }
  EnsurePassiveOpenMp(argv);
  ASSIGN_OR_RETURN(options.project, ProjectFor(o.project, o.file));
  options.trial_command = {"/proc/self/exe", "internal", "trial"};
  ASSIGN_OR_RETURN(auto client, Connect(g));
  LiveView view(!g.json);
  options.observer = [&view](const PipelineEvent& e) { view.OnEvent(e); };
  if (!g.json) {
    options.on_start = [&](const std::string& run_id, const Json& start) {
      std::cerr << "Running pipeline from " << o.file << " in project " << options.project
                << " (run " << run_id << ")";
      if (start.contains("resumed_from") && start["resumed_from"].is_string()) {
        std::cerr << ", resuming run " << start["resumed_from"].get<std::string>();
      }
      std::cerr << "\n";
    };
  }
  g_cancel.store(false);
  options.cancel = &g_cancel;
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  struct sigaction previous = {};
  sigaction(SIGINT, &action, &previous);
  StatusOr<PipelineRunOutcome> outcome = RunPipelineOnPlatform(*client, o.file, options);
  sigaction(SIGINT, &previous, nullptr);
  view.Finish();
  RETURN_IF_ERROR(outcome.status());
  if (g.json) {
    PrintJson(std::cout, outcome->json);
  } else {
    PrintSummary(*outcome);
  }
  return outcome->result.status;
}

void PrintPipelineRun(const Json& r) {
  std::cout << "Pipeline run " << Cell(r["id"]) << " of " << Cell(r["pipeline"]) << " in project "
            << Cell(r["project"]) << "\n"
            << "  state    " << Cell(r["state"]) << "\n"
            << "  started  " << Cell(r["started"]) << " by " << Cell(r["created_by"]) << "\n"
            << "  finished " << Cell(r["finished"]) << "\n"
            << "  spec     " << Cell(r["spec_digest"]) << "\n";
  if (!r["message"].get<std::string>().empty()) {
    std::cout << "  message  " << Cell(r["message"]) << "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r["steps"]) {
    std::string outputs;
    for (const auto& [name, digest] : s["outputs"].items()) {
      outputs += (outputs.empty() ? "" : " ") + name + "=" + Cell(digest).substr(7, 12);
    }
    rows.push_back({Cell(s["step"]), Cell(s["type"]), Cell(s["state"]),
                    Cell(s["cache_key"]).substr(0, 19), outputs});
  }
  std::cout << "\n";
  PrintTable(std::cout, {"STEP", "TYPE", "STATE", "CACHE KEY", "OUTPUTS"}, rows);
  std::cout << "\nLineage: plinth lineage run/" << Cell(r["id"]) << " --project "
            << Cell(r["project"]) << "\n";
}

}  // namespace

void AddPipelineCommands(CommandRegistrar* r, char** argv) {
  const GlobalOptions* g = &r->globals();
  auto o = std::make_shared<RunCommandOptions>();
  auto* run = r->app().add_subcommand(
      "run",
      "Run a pipeline: cached steps are skipped, an unfinished run is resumed "
      "(docs/pipelines.md)");
  run->add_option("PIPELINE", o->file, "the pipeline's YAML file")->required();
  run->add_option("--project", o->project,
                  "project (default: PLINTH_PROJECT, or plinth.json beside the pipeline)");
  run->add_option("--param", o->params, "NAME=VALUE, overriding a parameter (repeatable)");
  run->add_option("--parallel", o->parallel, "steps run at once")->default_val(2);
  run->add_flag("--no-cache", o->no_cache, "run every step, ignoring cached results");
  run->add_option("--resume", o->resume,
                  "resume this run (default: the latest run of the pipeline if unfinished)");
  run->add_option("--environments", o->environments,
                  "approved environments (default: environments.yaml beside the pipeline)");
  run->add_option("--openlineage", o->openlineage,
                  "append OpenLineage run events to this JSON lines file");
  run->add_option("--openlineage-url", o->openlineage_url, "also POST them to this URL");
  run->add_flag("--check", o->check, "only parse and check the pipeline");
  r->On(run, [o, g, argv] { return RunCommand(*g, *o, argv); });

  auto* pipelines = r->app()
                        .add_subcommand("pipelines", "Recorded pipeline runs and their steps")
                        ->require_subcommand(1);
  auto list_project = std::make_shared<std::string>();
  auto list_pipeline = std::make_shared<std::string>();
  auto* list = pipelines->add_subcommand("list", "Pipeline runs of a project, newest first");
  list->add_option("--project", *list_project, "project")->required();
  list->add_option("--pipeline", *list_pipeline, "only this pipeline");
  r->On(list, [g, list_project, list_pipeline] {
    Json req = {{"project", *list_project}};
    if (!list_pipeline->empty()) req["pipeline"] = *list_pipeline;
    return CallAndPrint(*g, "pipeline.list", req, [](const Json& res) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& run : res["runs"]) {
        std::string steps;
        for (const auto& [state, n] : run["steps"].items()) {
          steps += (steps.empty() ? "" : ", ") + Cell(n) + " " + state;
        }
        rows.push_back({Cell(run["id"]), Cell(run["pipeline"]), Cell(run["state"]),
                        Cell(run["started"]).substr(0, 19), Cell(run["created_by"]), steps});
      }
      PrintTable(std::cout, {"RUN", "PIPELINE", "STATE", "STARTED", "BY", "STEPS"}, rows);
    });
  });
  auto show_id = std::make_shared<std::string>();
  auto* show = pipelines->add_subcommand("show", "A pipeline run's steps, cache keys and outputs");
  show->add_option("RUN", *show_id, "pipeline run id")->required();
  r->On(show, [g, show_id] {
    return CallAndPrint(*g, "pipeline.show", {{"id", *show_id}}, PrintPipelineRun);
  });

  // Internal: one tuning trial in a child process (started by the tune step).
  auto* internal = r->app().add_subcommand("internal", "Internal commands of the platform");
  internal->group("");  // hidden from --help
  internal->require_subcommand(1);
  auto* trial = internal->add_subcommand("trial", "Run one tuning trial");
  auto trial_files = std::make_shared<std::array<std::string, 3>>();
  trial->add_option("--context", (*trial_files)[0], "the tuning's context file")->required();
  trial->add_option("--trial", (*trial_files)[1], "the trial file")->required();
  trial->add_option("--result", (*trial_files)[2], "where the result goes")->required();
  r->On(trial, [trial_files] {
    const auto& f = *trial_files;
    return RunTrialProgram({"--context", f[0], "--trial", f[1], "--result", f[2]});
  });

  auto template_name = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto new_project = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  std::string names;
  for (const auto& t : TemplateNames()) names += (names.empty() ? "" : ", ") + t;
  auto* create = r->app().add_subcommand(
      "new", "Scaffold a ready project from a curated template (" + names + ")");
  create->add_option("TEMPLATE", *template_name, "template: " + names)->required();
  create->add_option("DIR", *dir, "folder to create")->required();
  create->add_option("--project", *new_project,
                     "platform project the pipeline runs in (default: the template's name)");
  create->add_flag("--force", *force, "write into an existing, non-empty folder");
  r->On(create, [g, template_name, dir, new_project, force] {
    ASSIGN_OR_RETURN(Json written, WriteTemplate(*template_name, *dir, *new_project, *force));
    if (g->json) {
      PrintJson(std::cout, written);
      return absl::OkStatus();
    }
    std::cout << "Created " << *dir << " from the " << *template_name << " template:\n";
    for (const auto& f : written["files"]) std::cout << "  " << Cell(f) << "\n";
    std::cout << "\nRun it:   plinth run " << *dir << "/pipeline.yaml\n"
              << "(in project " << Cell(written["project"])
              << "; you need the data-scientist role there)\n";
    return absl::OkStatus();
  });
}

}  // namespace plinth
