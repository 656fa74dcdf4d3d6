#include "steps/pipeline_runner.h"

#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "core/clock.h"
#include "core/files.h"
#include "core/sha256.h"
#include "pipeline/environment.h"
#include "pipeline/pipeline_spec.h"
#include "steps/builtin_steps.h"
#include "steps/platform_stores.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using pipeline::EventKind;
using pipeline::PipelineEvent;

struct Loaded {
  std::shared_ptr<StepEnvironment> env;
  std::unique_ptr<pipeline::StepRegistry> registry;
  std::optional<pipeline::EnvironmentCatalog> environments;
  pipeline::PipelineSpec spec;
  pipeline::ParameterValues params;
};

StatusOr<Loaded> Load(const std::string& path, const PipelineRunOptions& options,
                      PlatformClient* client) {
  Loaded out;
  out.env = std::make_shared<StepEnvironment>();
  out.env->client = client;
  out.env->project = options.project;
  out.env->trial_command = options.trial_command;
  out.registry = std::make_unique<pipeline::StepRegistry>();
  RETURN_IF_ERROR(RegisterBuiltinSteps(out.registry.get(), out.env));
  std::string environments = options.environments;
  if (environments.empty()) {
    fs::path beside = fs::path(path).parent_path() / "environments.yaml";
    std::error_code ec;
    if (fs::exists(beside, ec)) environments = beside.string();
  }
  if (!environments.empty()) {
    ASSIGN_OR_RETURN(out.environments, pipeline::LoadEnvironments(environments));
  }
  pipeline::PipelineParseOptions parse;
  parse.registry = out.registry.get();
  parse.environments = out.environments ? &*out.environments : nullptr;
  ASSIGN_OR_RETURN(out.spec, pipeline::LoadPipeline(path, parse));
  ASSIGN_OR_RETURN(out.params, pipeline::ResolveParameters(out.spec, options.params));
  return out;
}

// The digest of what the run executes: every file of the spec (pipeline and templates), by
// content, in order.
StatusOr<std::string> SpecDigest(const pipeline::PipelineSpec& spec) {
  Json files = Json::array();
  for (const std::string& file : spec.files) {
    ASSIGN_OR_RETURN(std::string digest, Sha256File(file));
    files.push_back(digest);
  }
  return Sha256Digest(files.dump());
}

Json ParamsJson(const pipeline::ParameterValues& params) {
  Json out = Json::object();
  for (const auto& [name, value] : params) out[name] = value;
  return out;
}

Json MapJson(const std::map<std::string, std::string>& m) {
  Json out = Json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

Json MetricsJson(const std::map<std::string, double>& m) {
  Json out = Json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

// Records each step on the platform as it ends: its log as an artifact, the execution with
// lineage, its metrics and outputs on the tracked run. Called one event at a time.
class RunRecorder {
 public:
  RunRecorder(PlatformClient* client, const pipeline::PipelineSpec* spec, std::string project,
              std::string run_id, std::string scratch)
      : client_(client),
        spec_(spec),
        project_(std::move(project)),
        run_id_(std::move(run_id)),
        scratch_(std::move(scratch)) {}

  void OnEvent(const PipelineEvent& e) {
    switch (e.kind) {
      case EventKind::kStepStarted:
        started_[e.step] = e.time_micros;
        break;
      case EventKind::kStepLog:
        logs_[e.step] += e.message + "\n";
        break;
      case EventKind::kStepSucceeded:
        Record(e, "succeeded");
        break;
      case EventKind::kStepCached:
        Record(e, "cached");
        break;
      case EventKind::kStepFailed:
        Record(e, "failed");
        break;
      case EventKind::kStepSkipped:
        Record(e, "skipped");
        break;
      case EventKind::kStepCancelled:
        Record(e, "cancelled");
        break;
      default:
        break;
    }
  }

  std::vector<std::string> warnings;

 private:
  void Warn(const std::string& what, const Status& s) {
    if (!s.ok()) warnings.push_back(what + ": " + std::string(s.message()));
  }

  void Record(const PipelineEvent& e, const std::string& state) {
    const pipeline::StepSpec* step = spec_->FindStep(e.step);
    Json inputs = Json::object();
    if (step != nullptr) {
      for (const auto& in : step->inputs) {
        auto producer = outputs_.find(in.step);
        if (producer == outputs_.end()) continue;
        auto digest = producer->second.find(in.output);
        if (digest != producer->second.end()) inputs[in.name] = digest->second;
      }
    }
    outputs_[e.step] = e.outputs;
    std::string log_digest;
    auto log = logs_.find(e.step);
    if (log != logs_.end() && !log->second.empty()) {
      std::string file = scratch_ + "/log-" + std::to_string(++log_count_);
      Status s = WriteFileAtomic(file, log->second, 0600, /*overwrite=*/true);
      if (s.ok()) {
        StatusOr<Json> put = client_->PutArtifact(project_, file, nullptr);
        if (put.ok()) {
          log_digest = put->value("digest", "");
        } else {
          Warn("step '" + e.step + "': storing its log", put.status());
        }
        std::error_code ec;
        fs::remove(file, ec);
      }
    }
    int64_t started = started_.count(e.step) ? started_[e.step] : e.time_micros;
    Json req = {{"id", run_id_},
                {"step", e.step},
                {"type", step == nullptr ? "" : (step->is_command() ? "run" : step->uses)},
                {"state", state},
                {"cache_key", e.cache_key},
                {"inputs", inputs},
                {"outputs", MapJson(e.outputs)},
                {"metrics", MetricsJson(e.metrics)},
                {"attempts", e.attempt},
                {"message", e.status.ok() ? e.message : std::string(e.status.message())},
                {"started", FormatTime(started)},
                {"finished", FormatTime(e.time_micros)}};
    if (!log_digest.empty()) req["log"] = log_digest;
    if (state == "succeeded" || state == "cached") {
      req["summary"] = e.summary;
    }
    Warn("recording step '" + e.step + "'", client_->Call("pipeline.step", req).status());
    if (state != "succeeded" && state != "cached") return;
    if (!e.metrics.empty()) {
      Warn("logging the metrics of step '" + e.step + "'",
           client_->Call("run.log", {{"id", run_id_}, {"metrics", MetricsJson(e.metrics)}})
               .status());
    }
    for (const auto& [name, digest] : e.outputs) {
      Warn("recording output " + e.step + "/" + name,
           client_
               ->Call("run.log_artifact",
                      {{"id", run_id_}, {"path", e.step + "/" + name}, {"digest", digest}})
               .status());
    }
    if (!log_digest.empty()) {
      Warn("recording the log of step '" + e.step + "'",
           client_
               ->Call("run.log_artifact",
                      {{"id", run_id_}, {"path", e.step + "/log"}, {"digest", log_digest}})
               .status());
    }
  }

  PlatformClient* client_;
  const pipeline::PipelineSpec* spec_;
  std::string project_;
  std::string run_id_;
  std::string scratch_;
  std::map<std::string, int64_t> started_;
  std::map<std::string, std::string> logs_;
  std::map<std::string, std::map<std::string, std::string>> outputs_;
  int log_count_ = 0;
};

}  // namespace

StatusOr<Json> CheckPipeline(const std::string& path, const PipelineRunOptions& options) {
  ASSIGN_OR_RETURN(Loaded loaded, Load(path, options, nullptr));
  Json steps = Json::array();
  for (const auto& s : loaded.spec.steps) {
    steps.push_back({{"name", s.name},
                     {"uses", s.is_command() ? "run" : s.uses},
                     {"needs", s.needs},
                     {"outputs", s.outputs}});
  }
  ASSIGN_OR_RETURN(std::string digest, SpecDigest(loaded.spec));
  return Json{{"pipeline", loaded.spec.name},
              {"spec_digest", digest},
              {"files", loaded.spec.files},
              {"params", ParamsJson(loaded.params)},
              {"steps", steps}};
}

StatusOr<PipelineRunOutcome> RunPipelineOnPlatform(PlatformClient& client, const std::string& path,
                                                   const PipelineRunOptions& options) {
  ASSIGN_OR_RETURN(Loaded loaded, Load(path, options, &client));
  ASSIGN_OR_RETURN(std::string spec_digest, SpecDigest(loaded.spec));
  Json start_req = {{"project", options.project},
                    {"pipeline", loaded.spec.name},
                    {"spec_digest", spec_digest},
                    {"params", ParamsJson(loaded.params)},
                    {"files", loaded.spec.files}};
  if (!options.resume.empty()) start_req["resume"] = options.resume;
  ASSIGN_OR_RETURN(Json started, client.Call("pipeline.start", start_req));
  PipelineRunOutcome outcome;
  outcome.run_id = started.value("id", "");
  outcome.pipeline = loaded.spec.name;
  if (started.contains("resumed_from") && started["resumed_from"].is_string()) {
    outcome.resumed_from = started["resumed_from"].get<std::string>();
  }
  loaded.env->run_id = outcome.run_id;
  loaded.env->experiment = started.value("experiment", loaded.spec.name);
  if (options.on_start) options.on_start(outcome.run_id, started);

  // Scratch: step folders and verified copies of outputs, removed at the end.
  std::string scratch_template = (fs::temp_directory_path() / "plinth-run-XXXXXX").string();
  if (mkdtemp(scratch_template.data()) == nullptr) {
    return absl::InternalError("cannot create a temporary folder");
  }
  const std::string scratch = scratch_template;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};

  ASSIGN_OR_RETURN(std::unique_ptr<PlatformOutputStore> outputs,
                   PlatformOutputStore::Create(&client, options.project, scratch + "/objects"));
  PlatformStepCache cache(&client, options.project, outcome.run_id);
  RunRecorder recorder(&client, &loaded.spec, options.project, outcome.run_id, scratch);

  pipeline::ExecutorOptions exec;
  exec.output_store = outputs.get();
  exec.cache = options.use_cache ? &cache : nullptr;
  exec.parallelism = std::max(1, options.parallelism);
  exec.cancel = options.cancel;
  exec.work_dir = fs::absolute(path).parent_path().string();
  exec.scratch_dir = scratch + "/steps";
  exec.retry_backoff = std::chrono::milliseconds(500);
  if (started.contains("resume") && started["resume"].is_object()) {
    for (const auto& [name, step] : started["resume"].items()) {
      pipeline::CompletedStep done;
      done.cache_key = step.value("cache_key", "");
      if (step.contains("outputs") && step["outputs"].is_object()) {
        for (const auto& [o, d] : step["outputs"].items()) {
          if (d.is_string()) done.outputs[o] = d.get<std::string>();
        }
      }
      if (step.contains("metrics") && step["metrics"].is_object()) {
        for (const auto& [m, v] : step["metrics"].items()) {
          if (v.is_number()) done.metrics[m] = v.get<double>();
        }
      }
      if (step.contains("summary")) done.summary = step["summary"];
      exec.resume[name] = std::move(done);
    }
  }
  // OpenLineage: one job per pipeline in the project's namespace, the run named by a UUID.
  std::vector<std::unique_ptr<pipeline::OpenLineageSink>> sinks;
  if (!options.openlineage_file.empty()) {
    ASSIGN_OR_RETURN(auto file, pipeline::JsonlFileSink::Open(options.openlineage_file));
    sinks.push_back(std::move(file));
  }
  if (!options.openlineage_url.empty()) {
    if (!options.openlineage_poster) {
      return absl::InvalidArgumentError("--openlineage-url needs an HTTP client");
    }
    sinks.push_back(
        std::make_unique<pipeline::HttpSink>(options.openlineage_url, options.openlineage_poster));
  }
  struct FanOut : pipeline::OpenLineageSink {
    std::vector<std::unique_ptr<pipeline::OpenLineageSink>>* sinks;
    Status Send(const Json& event) override {
      Status first;
      for (auto& sink : *sinks) first.Update(sink->Send(event));
      return first;
    }
  } fan_out;
  fan_out.sinks = &sinks;
  pipeline::OpenLineageOptions lineage_options;
  lineage_options.job_namespace = "plinth://" + options.project;
  lineage_options.dataset_namespace = "plinth://" + options.project + "/artifacts";
  std::optional<pipeline::OpenLineageEmitter> lineage;
  if (!sinks.empty()) lineage.emplace(loaded.spec, lineage_options, &fan_out);

  exec.observer = [&](const PipelineEvent& e) {
    recorder.OnEvent(e);
    if (lineage) lineage->Observe(e);
    if (options.observer) options.observer(e);
  };
  std::error_code ec;
  fs::create_directories(exec.scratch_dir, ec);

  ASSIGN_OR_RETURN(outcome.result,
                   pipeline::RunPipeline(loaded.spec, loaded.params, *loaded.registry, exec));
  const pipeline::RunResult& result = outcome.result;
  std::string state = pipeline::RunStateName(result.state);
  Status finished =
      client
          .Call("pipeline.finish", {{"id", outcome.run_id},
                                    {"state", state},
                                    {"message", std::string(result.status.message())}})
          .status();
  outcome.warnings = recorder.warnings;
  if (lineage && !lineage->status().ok()) {
    outcome.warnings.push_back("OpenLineage events: " + std::string(lineage->status().message()));
  }
  if (!finished.ok()) {
    outcome.warnings.push_back("ending the run: " + std::string(finished.message()));
  }
  Json steps = Json::array();
  Json metrics = Json::object();
  for (const auto& s : result.steps) {
    double seconds =
        s.finished_micros > s.started_micros ? (s.finished_micros - s.started_micros) / 1e6 : 0.0;
    steps.push_back({{"name", s.name},
                     {"state", pipeline::StepStateName(s.state)},
                     {"resumed", s.resumed},
                     {"cache_key", s.cache_key},
                     {"outputs", MapJson(s.outputs)},
                     {"metrics", MetricsJson(s.metrics)},
                     {"attempts", s.attempts},
                     {"seconds", seconds},
                     {"message", std::string(s.status.message())}});
    for (const auto& [k, v] : s.metrics) metrics[k] = v;
  }
  outcome.json = {
      {"run_id", outcome.run_id},
      {"pipeline", outcome.pipeline},
      {"project", options.project},
      {"state", state},
      {"message", std::string(result.status.message())},
      {"resumed_from", outcome.resumed_from.empty() ? Json(nullptr) : Json(outcome.resumed_from)},
      {"seconds", (result.finished_micros - result.started_micros) / 1e6},
      {"params", ParamsJson(loaded.params)},
      {"metrics", metrics},
      {"steps", steps},
      {"warnings", outcome.warnings}};
  return outcome;
}

}  // namespace plinth
