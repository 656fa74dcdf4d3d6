#include "tune/process_evaluator.h"

#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <memory>
#include <utility>

#include "core/files.h"
#include "pipeline/command_step.h"
#include "pipeline/environment.h"
#include "pipeline/step_registry.h"

namespace plinth::tune {
namespace {

std::string TrialDir(const std::string& scratch, int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "trial-%06d", index);
  return scratch + "/" + name;
}

// Removes a trial's folder when the evaluation ends, unless asked to keep it.
class DirGuard {
 public:
  DirGuard(std::string dir, bool keep) : dir_(std::move(dir)), keep_(keep) {}
  ~DirGuard() {
    if (keep_) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

 private:
  std::string dir_;
  bool keep_;
};

std::string Tail(const std::deque<std::string>& lines) {
  if (lines.empty()) return " (the program wrote no output)";
  std::string out = "\noutput (last " + std::to_string(lines.size()) +
                    (lines.size() == 1 ? " line" : " lines") + "):";
  for (const std::string& line : lines) out += "\n  " + line;
  return out;
}

Status WithTail(const Status& status, const std::deque<std::string>& lines) {
  return Status(status.code(), std::string(status.message()) + Tail(lines));
}

bool IsExitLine(const std::string& line) {
  return line.rfind("exit status ", 0) == 0 && line.find(" after ") != std::string::npos;
}

}  // namespace

StatusOr<TrialEvaluator> MakeProcessEvaluator(ProcessEvaluatorOptions options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return absl::InvalidArgumentError("the trial command (argv) is empty");
  }
  if (options.scratch_dir.empty()) {
    return absl::InvalidArgumentError("the process evaluator needs a scratch folder");
  }
  RETURN_IF_ERROR(MakeDirectories(options.scratch_dir));
  pipeline::CommandStepOptions command;
  command.kill_grace = options.kill_grace;
  command.pass_env = options.pass_env;
  auto step = std::make_shared<const pipeline::StepType>(pipeline::CommandStepType(command));
  auto opts = std::make_shared<const ProcessEvaluatorOptions>(std::move(options));

  return TrialEvaluator([step, opts](const Trial& trial,
                                     const std::atomic<bool>* cancel) -> StatusOr<TrialResult> {
    const std::string dir = TrialDir(opts->scratch_dir, trial.index);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);  // left over from an earlier tuning
    RETURN_IF_ERROR(MakeDirectories(dir));
    DirGuard guard(dir, opts->keep_files);
    const std::string trial_path = dir + "/trial.json";
    const std::string result_path = dir + "/result.json";
    RETURN_IF_ERROR(WriteFileAtomic(trial_path, DumpJson(trial.ToJson()) + "\n", 0600, true));

    std::vector<std::string> argv = opts->argv;
    argv.insert(argv.end(), {"--trial", trial_path, "--result", result_path});
    pipeline::Environment env;
    env.name = "tuning-trial";
    env.version = "1";
    env.env = opts->env;

    std::deque<std::string> tail;
    bool echoed = false;  // the command step logs "$ ARGV" first, then the program's output
    pipeline::StepContext::Init init;
    init.step = "trial-" + std::to_string(trial.index);
    init.type = pipeline::kCommandStepType;
    init.command = argv;
    init.environment = &env;
    init.scratch_dir = dir;
    init.work_dir = opts->work_dir;
    init.cancel = cancel;
    if (opts->trial_timeout)
      init.deadline = std::chrono::steady_clock::now() + *opts->trial_timeout;
    init.log = [&](std::string_view line) {
      if (!echoed && line.rfind("$ ", 0) == 0) {
        echoed = true;
        return;
      }
      tail.emplace_back(line.substr(0, 1000));
      while (tail.size() > opts->tail_lines + 1) tail.pop_front();
    };
    pipeline::StepContext ctx(std::move(init));
    StatusOr<pipeline::StepResult> ran = step->run(ctx);
    if (!tail.empty() && IsExitLine(tail.back())) tail.pop_back();
    while (tail.size() > opts->tail_lines) tail.pop_front();
    if (!ran.ok()) return WithTail(ran.status(), tail);

    StatusOr<std::string> text = ReadFile(result_path);
    if (absl::IsNotFound(text.status())) {
      return WithTail(
          absl::FailedPreconditionError("the trial program exited 0 but wrote no result (expected "
                                        "{\"metrics\": {...}} in the file after --result)"),
          tail);
    }
    if (!text.ok()) return text.status();
    StatusOr<TrialResult> result = ParseTrialResult(*text);
    if (!result.ok()) {
      return WithTail(absl::InvalidArgumentError("the trial program's result: " +
                                                 std::string(result.status().message())),
                      tail);
    }
    return result;
  });
}

StatusOr<TrialInvocation> ParseTrialArgs(const std::vector<std::string>& args) {
  TrialInvocation out;
  for (size_t i = 0; i < args.size(); ++i) {
    for (const auto& [flag, target] :
         {std::pair<std::string, std::string*>{"--trial", &out.trial_path},
          {"--result", &out.result_path}}) {
      if (args[i] == flag && i + 1 < args.size()) {
        *target = args[i + 1];
      } else if (args[i].rfind(flag + "=", 0) == 0) {
        *target = args[i].substr(flag.size() + 1);
      }
    }
  }
  if (out.trial_path.empty()) return absl::InvalidArgumentError("missing --trial FILE");
  if (out.result_path.empty()) return absl::InvalidArgumentError("missing --result FILE");
  return out;
}

StatusOr<Trial> ReadTrialFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  StatusOr<Json> json = ParseJson(text);
  const auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(path + ": not a trial file: " + what);
  };
  if (!json.ok()) return bad(std::string(json.status().message()));
  if (!json->is_object()) return bad("not a JSON object");
  Trial trial;
  const Json& index = (*json)["trial"];
  if (!index.is_number_integer() || index.get<int64_t>() < 0 || index.get<int64_t>() > 1 << 30) {
    return bad("'trial' must be a trial index");
  }
  trial.index = index.get<int>();
  if (!json->contains("params") || !(*json)["params"].is_object()) {
    return bad("'params' must be an object");
  }
  trial.params = (*json)["params"];
  if (json->contains("budget") && !(*json)["budget"].is_null()) {
    if (!(*json)["budget"].is_number_integer()) return bad("'budget' must be a whole number");
    trial.budget = (*json)["budget"].get<int64_t>();
  }
  if (json->contains("rung")) {
    if (!(*json)["rung"].is_number_integer()) return bad("'rung' must be a whole number");
    trial.rung = (*json)["rung"].get<int>();
  }
  return trial;
}

StatusOr<TrialResult> ParseTrialResult(std::string_view text) {
  ASSIGN_OR_RETURN(const Json json, ParseJson(text));
  if (!json.is_object()) return absl::InvalidArgumentError("not a JSON object");
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() != "metrics" && it.key() != "artifacts") {
      return absl::InvalidArgumentError("unknown key '" + it.key() +
                                        "' (expected: metrics, artifacts)");
    }
  }
  if (!json.contains("metrics") || !json["metrics"].is_object()) {
    return absl::InvalidArgumentError("'metrics' must be an object of names to numbers");
  }
  TrialResult result;
  for (auto it = json["metrics"].begin(); it != json["metrics"].end(); ++it) {
    if (!it.value().is_number() || !std::isfinite(it.value().get<double>())) {
      return absl::InvalidArgumentError("the metric '" + it.key() + "' is not a finite number");
    }
    result.metrics[it.key()] = it.value().get<double>();
  }
  if (json.contains("artifacts")) result.artifacts = json["artifacts"];
  return result;
}

Status WriteTrialResult(const std::string& path, const TrialResult& result) {
  Json json = Json::object();
  json["metrics"] = Json::object();
  for (const auto& [name, value] : result.metrics) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError("the metric '" + name + "' is not a finite number");
    }
    json["metrics"][name] = value;
  }
  if (!result.artifacts.is_null()) json["artifacts"] = result.artifacts;
  return WriteFileAtomic(path, DumpJson(json) + "\n", 0644, true);
}

}  // namespace plinth::tune
