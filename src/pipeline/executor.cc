#include "pipeline/executor.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "core/files.h"
#include "core/sha256.h"
#include "pipeline/interpolation.h"
#include "pipeline/yaml_util.h"

namespace plinth::pipeline {
namespace {

using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Bumped when the key's recipe changes, so old cache entries are simply never found again.
constexpr int kKeyFormat = 1;
// Arguments longer than this are not file names worth hashing.
constexpr size_t kMaxPathArgument = 4096;

std::string StepError(const std::string& step, const Status& status) {
  return "step '" + step + "': " + std::string(status.message());
}

Status WithCode(absl::StatusCode code, const std::string& message) { return Status(code, message); }

// Everything about a step that is known once the steps it needs have finished.
struct Prepared {
  std::map<std::string, InputArtifact> inputs;
  Json with;                         // rendered with local paths, as the step sees it
  std::vector<std::string> command;  // command steps: rendered with local paths
  Json key_json;
  std::string key;
};

class Execution {
 public:
  Execution(const PipelineSpec& spec, const ParameterValues& params, const StepRegistry& registry,
            const ExecutorOptions& options)
      : spec_(spec),
        params_(params),
        registry_(registry),
        options_(options),
        clock_(options.clock != nullptr ? options.clock : SystemClock()),
        command_type_(CommandStepType(options.command)) {}

  ~Execution() {
    if (!scratch_root_.empty() && remove_scratch_root_ && !options_.keep_scratch) {
      std::error_code ec;
      fs::remove_all(scratch_root_, ec);
    }
  }

  StatusOr<RunResult> Run() {
    RETURN_IF_ERROR(Prepare());
    const size_t n = spec_.steps.size();
    RunResult result;
    result.started_micros = clock_->NowMicros();
    Emit(EventKind::kRunStarted, "");
    for (size_t i = 0; i < n; ++i) {
      outcomes_[i].name = spec_.steps[i].name;
      Emit(EventKind::kStepPending, spec_.steps[i].name);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < n; ++i) {
        waiting_[i] = deps_[i].size();
        if (waiting_[i] == 0) ready_.insert(i);
      }
    }
    const int workers = std::max(1, std::min<int>(options_.parallelism, static_cast<int>(n)));
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back([this] { Worker(); });
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (terminal_ < n) {
        if (!cancelled_ && CancelRequested()) {
          cancelled_ = true;
          stop_ = true;
          cv_.notify_all();
        }
        // Once stopped, only running steps can still finish.
        if (stop_ && running_ == 0) break;
        cv_.wait_for(lock, std::chrono::milliseconds(20));
      }
      stop_ = true;
      cv_.notify_all();
    }
    for (std::thread& t : threads) t.join();
    // A cancellation seen only by the steps (they finished before this thread polled) is still
    // a cancelled run.
    if (CancelRequested()) cancelled_ = true;

    // Steps that never started: the run was cancelled, or stopped after a failure (fail_fast).
    for (size_t i = 0; i < n; ++i) {
      StepOutcome& out = outcomes_[i];
      if (out.state != StepState::kPending) continue;
      if (cancelled_) {
        out.state = StepState::kCancelled;
        out.status = absl::CancelledError("not run: the run was cancelled");
        Emit(EventKind::kStepCancelled, out.name, [&](PipelineEvent& e) { e.status = out.status; });
      } else {
        out.state = StepState::kSkipped;
        out.status = absl::AbortedError("not run: the run stopped after " + first_failure_step_ +
                                        " failed (fail_fast)");
        Emit(EventKind::kStepSkipped, out.name, [&](PipelineEvent& e) {
          e.message = std::string(out.status.message());
          e.status = out.status;
        });
      }
    }

    result.steps = std::move(outcomes_);
    if (cancelled_) {
      result.state = RunState::kCancelled;
      result.status = absl::CancelledError("the run was cancelled");
    } else if (!first_failure_.ok()) {
      result.state = RunState::kFailed;
      result.status = first_failure_;
    } else {
      result.state = RunState::kSucceeded;
      result.status = absl::OkStatus();
    }
    result.finished_micros = clock_->NowMicros();
    Emit(EventKind::kRunFinished, "", [&](PipelineEvent& e) {
      e.status = result.status;
      e.run_state = result.state;
    });
    return result;
  }

 private:
  bool CancelRequested() const { return options_.cancel != nullptr && options_.cancel->load(); }

  Status Prepare() {
    if (options_.output_store == nullptr) {
      return absl::InvalidArgumentError("running a pipeline needs an output store");
    }
    const size_t n = spec_.steps.size();
    if (n == 0) return absl::InvalidArgumentError("the pipeline has no steps");
    for (size_t i = 0; i < n; ++i) {
      if (!index_.emplace(spec_.steps[i].name, i).second) {
        return absl::InvalidArgumentError("duplicate step name '" + spec_.steps[i].name + "'");
      }
    }
    types_.resize(n);
    deps_.resize(n);
    dependents_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const StepSpec& step = spec_.steps[i];
      if (step.is_command()) {
        if (step.run.empty()) {
          return absl::InvalidArgumentError("step '" + step.name + "' has neither uses nor run");
        }
        types_[i] = &command_type_;
      } else {
        types_[i] = registry_.Find(step.uses);
        if (types_[i] == nullptr) {
          return absl::InvalidArgumentError("step '" + step.name + "' uses step type '" +
                                            step.uses + "', which is not registered");
        }
      }
      // The parser lists every step a step reads from in `needs`; a spec built in code may not,
      // so inputs and references add their steps here too.
      std::vector<std::string> needs = step.needs;
      for (const InputSpec& input : step.inputs) needs.push_back(input.step);
      auto add_refs = [&](const std::string& text) {
        StatusOr<Template> tmpl = ParseTemplate(text);
        if (!tmpl.ok()) return;
        for (const Reference& ref : tmpl->References()) {
          if (ref.kind == Reference::Kind::kStepOutput) needs.push_back(ref.step);
        }
      };
      ForEachString(step.with, add_refs);
      for (const std::string& arg : step.run) add_refs(arg);
      for (const std::string& need : needs) {
        auto it = index_.find(need);
        if (it == index_.end()) {
          return absl::InvalidArgumentError("step '" + step.name + "' needs unknown step '" + need +
                                            "'");
        }
        if (std::find(deps_[i].begin(), deps_[i].end(), it->second) == deps_[i].end()) {
          deps_[i].push_back(it->second);
          dependents_[it->second].push_back(i);
        }
      }
    }
    // Kahn's algorithm: every step must be reachable in dependency order.
    std::vector<size_t> indegree(n);
    std::deque<size_t> queue;
    for (size_t i = 0; i < n; ++i) {
      indegree[i] = deps_[i].size();
      if (indegree[i] == 0) queue.push_back(i);
    }
    size_t ordered = 0;
    while (!queue.empty()) {
      const size_t u = queue.front();
      queue.pop_front();
      ++ordered;
      for (size_t d : dependents_[u]) {
        if (--indegree[d] == 0) queue.push_back(d);
      }
    }
    if (ordered != n) return absl::InvalidArgumentError("the steps' needs form a cycle");

    outcomes_.resize(n);
    waiting_.resize(n);
    log_dropped_.assign(n, false);
    if (options_.scratch_dir.empty()) {
      std::error_code ec;
      std::string base = fs::temp_directory_path(ec).string();
      if (ec || base.empty()) base = "/tmp";
      std::string tmpl = base + "/plinth-pipeline-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) {
        return absl::InternalError("cannot create a scratch folder in " + base);
      }
      scratch_root_ = tmpl;
      remove_scratch_root_ = true;
    } else {
      RETURN_IF_ERROR(MakeDirectories(options_.scratch_dir));
      // Absolute: commands run in work_dir and are handed paths under it.
      std::error_code ec;
      scratch_root_ = fs::absolute(options_.scratch_dir, ec).lexically_normal().string();
      if (ec) return absl::InternalError("cannot resolve " + options_.scratch_dir);
    }
    return absl::OkStatus();
  }

  void Worker() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stop_ || !ready_.empty(); });
      if (stop_) return;
      const size_t i = *ready_.begin();
      ready_.erase(ready_.begin());
      outcomes_[i].state = StepState::kRunning;
      ++running_;
      lock.unlock();
      ExecuteStep(i);
      lock.lock();
      --running_;
      ++terminal_;
      Finished(i);
      cv_.notify_all();
    }
  }

  // Under mu_: releases or skips the steps waiting for step i.
  void Finished(size_t i) {
    const StepOutcome& out = outcomes_[i];
    const bool ok = out.state == StepState::kSucceeded || out.state == StepState::kCached;
    if (out.state == StepState::kFailed && first_failure_.ok()) {
      first_failure_ = WithCode(out.status.code(), StepError(out.name, out.status));
      first_failure_step_ = "'" + out.name + "'";
      if (options_.fail_fast) stop_ = true;
    }
    for (size_t d : dependents_[i]) {
      if (ok) {
        if (--waiting_[d] == 0 && outcomes_[d].state == StepState::kPending) ready_.insert(d);
      } else {
        Skip(d, out);
      }
    }
  }

  void Skip(size_t d, const StepOutcome& because) {
    StepOutcome& out = outcomes_[d];
    if (out.state != StepState::kPending) return;
    ++terminal_;
    if (because.state == StepState::kCancelled) {
      out.state = StepState::kCancelled;
      out.status = absl::CancelledError("not run: the run was cancelled");
      Emit(EventKind::kStepCancelled, out.name, [&](PipelineEvent& e) { e.status = out.status; });
    } else {
      out.state = StepState::kSkipped;
      const std::string why = because.state == StepState::kFailed
                                  ? "'" + because.name + "' failed"
                                  : "'" + because.name + "' did not run";
      out.status = absl::AbortedError("not run: " + why);
      Emit(EventKind::kStepSkipped, out.name, [&](PipelineEvent& e) {
        e.message = std::string(out.status.message());
        e.status = out.status;
      });
    }
    for (size_t next : dependents_[d]) Skip(next, out);
  }

  // An event for the observer: its kind and step, then whatever `fill` adds.
  void Emit(EventKind kind, const std::string& step,
            const std::function<void(PipelineEvent&)>& fill = nullptr) {
    std::lock_guard<std::mutex> lock(events_mu_);
    if (!options_.observer) return;
    PipelineEvent event;
    event.kind = kind;
    event.step = step;
    if (fill) fill(event);
    event.time_micros = clock_->NowMicros();
    options_.observer(event);
  }

  void LogLine(size_t i, int attempt, std::string_view line) {
    std::lock_guard<std::mutex> lock(events_mu_);
    std::string& log = outcomes_[i].log;
    if (log.size() + line.size() + 1 > options_.max_log_bytes) {
      if (!log_dropped_[i]) {
        log_dropped_[i] = true;
        log += "[log truncated: further lines dropped]\n";
      }
      return;
    }
    log.append(line.data(), line.size());
    log.push_back('\n');
    if (!options_.observer) return;
    PipelineEvent event;
    event.kind = EventKind::kStepLog;
    event.step = outcomes_[i].name;
    event.attempt = attempt;
    event.message = std::string(line);
    event.time_micros = clock_->NowMicros();
    options_.observer(event);
  }

  // The digest of an output of a step that has finished (it is in this step's needs).
  StatusOr<std::string> UpstreamDigest(const std::string& step, const std::string& output) const {
    auto it = index_.find(step);
    if (it == index_.end()) return absl::InternalError("unknown step '" + step + "'");
    const StepOutcome& up = outcomes_[it->second];
    auto out = up.outputs.find(output);
    if (out == up.outputs.end()) {
      return absl::FailedPreconditionError("step '" + step + "' did not produce its output '" +
                                           output + "'");
    }
    return out->second;
  }

  StatusOr<Json> ResolveWith(const StepType& type, const StepSpec& step,
                             const Json& rendered) const {
    if (step.is_command()) return rendered;
    Json out = Json::object();
    for (auto it = rendered.begin(); it != rendered.end(); ++it) {
      if (type.FindWith(it.key()) == nullptr) {
        return absl::InvalidArgumentError("step type '" + type.name + "' takes no '" + it.key() +
                                          "'");
      }
    }
    for (const WithKey& key : type.with) {
      if (rendered.contains(key.name)) {
        StatusOr<Json> value = CoerceValue(rendered[key.name], key.type);
        if (!value.ok()) {
          return absl::InvalidArgumentError("with '" + key.name +
                                            "': " + std::string(value.status().message()));
        }
        out[key.name] = *std::move(value);
      } else if (!key.default_value.is_null()) {
        out[key.name] = key.default_value;
      } else if (key.required) {
        return absl::InvalidArgumentError("step type '" + type.name + "' needs '" + key.name +
                                          "' in 'with'");
      }
    }
    return out;
  }

  // Renders `with` and `run` twice: for running (references to other steps' outputs become
  // local paths) and for the cache key (they become digests, and a command's own outputs a
  // placeholder), so the key depends on content, never on where files happen to be.
  StatusOr<Prepared> PrepareStep(size_t i, const std::string& out_dir) {
    const StepSpec& step = spec_.steps[i];
    const StepType& type = *types_[i];
    OutputStore& store = *options_.output_store;
    Prepared prep;
    Json input_digests = Json::object();
    for (const InputSpec& input : step.inputs) {
      ASSIGN_OR_RETURN(std::string digest, UpstreamDigest(input.step, input.output));
      ASSIGN_OR_RETURN(std::string path, store.LocalPath(digest));
      prep.inputs[input.name] = {path, digest};
      input_digests[input.name] = digest;
    }
    auto resolver = [&](bool for_key) -> ReferenceResolver {
      return [&, for_key](const Reference& ref) -> StatusOr<Json> {
        switch (ref.kind) {
          case Reference::Kind::kParam: {
            auto it = params_.find(ref.name);
            if (it == params_.end()) {
              return absl::InvalidArgumentError("no value for parameter '" + ref.name + "'");
            }
            return it->second;
          }
          case Reference::Kind::kStepOutput: {
            ASSIGN_OR_RETURN(std::string digest, UpstreamDigest(ref.step, ref.name));
            if (for_key) return Json(digest);
            ASSIGN_OR_RETURN(std::string path, store.LocalPath(digest));
            return Json(path);
          }
          case Reference::Kind::kInput: {
            auto it = prep.inputs.find(ref.name);
            if (it == prep.inputs.end()) {
              return absl::InvalidArgumentError("no input '" + ref.name + "'");
            }
            return Json(for_key ? it->second.digest : it->second.path);
          }
          case Reference::Kind::kOutput:
            if (std::find(step.outputs.begin(), step.outputs.end(), ref.name) ==
                step.outputs.end()) {
              return absl::InvalidArgumentError("no output '" + ref.name + "'");
            }
            if (for_key) return Json("${outputs." + ref.name + "}");
            return Json(out_dir + "/" + ref.name);
        }
        return absl::InternalError("unknown reference");
      };
    };
    ASSIGN_OR_RETURN(Json run_with, RenderJson(step.with, resolver(false)));
    ASSIGN_OR_RETURN(prep.with, ResolveWith(type, step, run_with));
    ASSIGN_OR_RETURN(Json key_with, RenderJson(step.with, resolver(true)));
    ASSIGN_OR_RETURN(key_with, ResolveWith(type, step, key_with));

    Json key = Json::object();
    key["format"] = kKeyFormat;
    key["type"] = type.name;
    key["type_version"] = type.version;
    key["with"] = std::move(key_with);
    key["inputs"] = std::move(input_digests);
    key["outputs"] = step.outputs;
    key["environment"] =
        step.environment ? Json(EnvironmentDigest(*step.environment)) : Json(nullptr);
    if (step.is_command()) {
      Json argv = Json::array();
      Json files = Json::object();
      for (size_t a = 0; a < step.run.size(); ++a) {
        ASSIGN_OR_RETURN(Template tmpl, ParseTemplate(step.run[a]));
        ASSIGN_OR_RETURN(Json shown, RenderTemplate(tmpl, resolver(false)));
        ASSIGN_OR_RETURN(Json keyed, RenderTemplate(tmpl, resolver(true)));
        prep.command.push_back(ValueText(shown));
        const std::string key_arg = ValueText(keyed);
        argv.push_back(key_arg);
        // A script or data file named on the command line is part of what the step computes
        // from: its content goes into the key (a program found through PATH is the
        // environment's business).
        if (tmpl.References().empty() && (a > 0 || key_arg.find('/') != std::string::npos) &&
            !key_arg.empty() && key_arg.size() <= kMaxPathArgument) {
          const std::string path = key_arg[0] == '/' ? key_arg : options_.work_dir + "/" + key_arg;
          struct stat st;
          if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            ASSIGN_OR_RETURN(std::string digest, Sha256File(path));
            files[key_arg] = digest;
          }
        }
      }
      key["run"] = std::move(argv);
      key["files"] = std::move(files);
    }
    prep.key_json = std::move(key);
    return prep;
  }

  StepContext MakeContext(size_t i, const Prepared& prep, const std::string& out_dir,
                          const std::string& tmp_dir, int attempt) {
    const StepSpec& step = spec_.steps[i];
    StepContext::Init init;
    init.step = step.name;
    init.type = types_[i]->name;
    init.with = prep.with;
    init.inputs = prep.inputs;
    init.outputs = step.outputs;
    init.output_dir = out_dir;
    init.scratch_dir = tmp_dir;
    init.work_dir = options_.work_dir;
    init.command = prep.command;
    init.environment = step.environment ? &*step.environment : nullptr;
    init.attempt = attempt;
    if (step.timeout_micros > 0) {
      init.deadline = Steady::now() + std::chrono::microseconds(step.timeout_micros);
    }
    init.cancel = options_.cancel;
    init.log = [this, i, attempt](std::string_view line) { LogLine(i, attempt, line); };
    init.progress = [this, i, attempt](double fraction, std::string_view message) {
      Emit(EventKind::kStepProgress, outcomes_[i].name, [&](PipelineEvent& e) {
        e.attempt = attempt;
        e.message = std::string(message);
        e.progress = fraction;
      });
    };
    return StepContext(std::move(init));
  }

  // True if every output is still in the store (a cached result without them is useless).
  bool OutputsPresent(const std::map<std::string, std::string>& outputs) {
    for (const auto& [name, digest] : outputs) {
      StatusOr<bool> present = options_.output_store->Contains(digest);
      if (!present.ok() || !*present) return false;
    }
    return true;
  }

  Status CollectOutputs(size_t i, const StepContext& ctx, StepResult& result, StepOutcome& out) {
    const StepSpec& step = spec_.steps[i];
    const StepType& type = *types_[i];
    std::error_code ec;
    const fs::path root = fs::canonical(ctx.output_dir(), ec);
    if (ec) return absl::InternalError("the output folder is gone: " + ctx.output_dir());
    for (const auto& [name, path] : result.outputs) {
      if (std::find(step.outputs.begin(), step.outputs.end(), name) == step.outputs.end()) {
        return absl::InvalidArgumentError("the step returned output '" + name +
                                          "', which its type does not declare");
      }
      const fs::path file = fs::weakly_canonical(path, ec);
      const std::string prefix = root.string() + "/";
      struct stat st;
      if (ec || file.string().rfind(prefix, 0) != 0 || ::lstat(path.c_str(), &st) != 0 ||
          !S_ISREG(st.st_mode)) {
        return absl::InvalidArgumentError("output '" + name +
                                          "' must be a file in the step's output folder, not " +
                                          internal::Quote(path));
      }
    }
    for (const std::string& name : step.outputs) {
      bool optional = false;
      for (const OutputDecl& decl : type.outputs)
        optional = optional || (decl.name == name && decl.optional);
      if (!optional && result.outputs.count(name) == 0) {
        return absl::FailedPreconditionError("the step did not produce its output '" + name + "'");
      }
    }
    for (const auto& [name, value] : result.metrics) {
      if (!std::isfinite(value)) {
        return absl::InvalidArgumentError("metric '" + name + "' is not a finite number");
      }
    }
    if (!result.summary.is_null() && !result.summary.is_object()) {
      return absl::InvalidArgumentError("the step's summary must be a JSON object");
    }
    if (!result.summary.is_null()) {
      StatusOr<std::string> canonical = CanonicalJson(result.summary);
      if (!canonical.ok()) return canonical.status();
    }
    std::map<std::string, std::string> digests;
    for (const auto& [name, path] : result.outputs) {
      ASSIGN_OR_RETURN(digests[name], options_.output_store->Put(path));
    }
    out.outputs = std::move(digests);
    out.metrics = std::move(result.metrics);
    out.summary = std::move(result.summary);
    return absl::OkStatus();
  }

  void Cached(StepOutcome& out, std::map<std::string, std::string> outputs,
              std::map<std::string, double> metrics, Json summary, bool resumed) {
    out.state = StepState::kCached;
    out.outputs = std::move(outputs);
    out.metrics = std::move(metrics);
    out.summary = std::move(summary);
    out.resumed = resumed;
    out.finished_micros = clock_->NowMicros();
    Emit(EventKind::kStepCached, out.name, [&](PipelineEvent& e) {
      e.cache_key = out.cache_key;
      e.outputs = out.outputs;
      e.metrics = out.metrics;
      e.summary = out.summary;
      e.resumed = resumed;
    });
  }

  void Fail(StepOutcome& out, Status status) {
    out.state = StepState::kFailed;
    out.status = std::move(status);
    out.finished_micros = clock_->NowMicros();
    Emit(EventKind::kStepFailed, out.name, [&](PipelineEvent& e) {
      e.attempt = out.attempts;
      e.message = std::string(out.status.message());
      e.cache_key = out.cache_key;
      e.status = out.status;
    });
  }

  void Cancel(StepOutcome& out, Status status) {
    out.state = StepState::kCancelled;
    out.status = std::move(status);
    out.finished_micros = clock_->NowMicros();
    Emit(EventKind::kStepCancelled, out.name, [&](PipelineEvent& e) {
      e.attempt = out.attempts;
      e.status = out.status;
    });
  }

  // Waits for `delay`, returning early (false) if the run is cancelled meanwhile.
  bool Backoff(std::chrono::milliseconds delay) {
    const Steady::time_point until = Steady::now() + delay;
    while (Steady::now() < until) {
      if (CancelRequested()) return false;
      std::this_thread::sleep_for(
          std::min<Steady::duration>(std::chrono::milliseconds(10), until - Steady::now()));
    }
    return !CancelRequested();
  }

  void ExecuteStep(size_t i) {
    const StepSpec& step = spec_.steps[i];
    const StepType& type = *types_[i];
    StepOutcome& out = outcomes_[i];
    out.started_micros = clock_->NowMicros();
    if (CancelRequested()) {
      Cancel(out, absl::CancelledError("not started: the run was cancelled"));
      return;
    }
    const std::string step_dir = scratch_root_ + "/" + step.name;
    const std::string out_dir = step_dir + "/out";
    const std::string tmp_dir = step_dir + "/tmp";
    struct Cleanup {
      std::string dir;
      bool keep;
      ~Cleanup() {
        if (keep) return;
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    } cleanup{step_dir, options_.keep_scratch};

    StatusOr<Prepared> prepared = PrepareStep(i, out_dir);
    if (!prepared.ok()) {
      Fail(out, prepared.status());
      return;
    }
    Prepared& prep = *prepared;
    if (type.fingerprint) {
      const StepContext ctx = MakeContext(i, prep, out_dir, tmp_dir, 1);
      StatusOr<Json> fingerprint = type.fingerprint(ctx);
      if (!fingerprint.ok()) {
        Fail(out, fingerprint.status());
        return;
      }
      prep.key_json["fingerprint"] = *std::move(fingerprint);
    }
    StatusOr<std::string> canonical = CanonicalJson(prep.key_json);
    if (!canonical.ok()) {
      Fail(out, canonical.status());
      return;
    }
    out.cache_key = Sha256Digest(*canonical);

    // Resume: the same step of an earlier run, with the same key.
    auto previous = options_.resume.find(step.name);
    if (previous != options_.resume.end() && previous->second.cache_key == out.cache_key &&
        OutputsPresent(previous->second.outputs)) {
      Cached(out, previous->second.outputs, previous->second.metrics, previous->second.summary,
             true);
      return;
    }
    const bool cacheable = options_.cache != nullptr && step.cache && type.cacheable;
    if (cacheable) {
      StatusOr<std::optional<CachedStep>> hit = options_.cache->Lookup(out.cache_key);
      if (!hit.ok()) {
        LogLine(i, 0,
                "cache lookup failed, running the step: " + std::string(hit.status().message()));
      } else if (hit->has_value() && OutputsPresent((*hit)->outputs)) {
        Cached(out, (*hit)->outputs, (*hit)->metrics, (*hit)->summary, false);
        return;
      }
    }

    const int max_attempts = 1 + std::max(0, step.retries);
    for (int attempt = 1;; ++attempt) {
      out.attempts = attempt;
      std::error_code ec;
      fs::remove_all(step_dir, ec);
      Status status = MakeDirectories(out_dir);
      if (status.ok()) status = MakeDirectories(tmp_dir);
      if (!status.ok()) {
        Fail(out, status);
        return;
      }
      if (attempt > 1)
        LogLine(i, attempt,
                "attempt " + std::to_string(attempt) + " of " + std::to_string(max_attempts));
      StepContext ctx = MakeContext(i, prep, out_dir, tmp_dir, attempt);
      Emit(EventKind::kStepStarted, out.name, [&](PipelineEvent& e) {
        e.attempt = attempt;
        e.cache_key = out.cache_key;
      });
      StatusOr<StepResult> result = absl::InternalError("the step did not run");
      try {
        result = type.run(ctx);
      } catch (const std::exception& e) {
        result = absl::InternalError(std::string("the step threw an exception: ") + e.what());
      } catch (...) {
        result = absl::InternalError("the step threw an exception");
      }
      status = result.status();
      if (!status.ok() && ctx.run_cancelled()) {
        Cancel(out,
               absl::CancelledError("cancelled while running: " + std::string(status.message())));
        return;
      }
      if (ctx.timed_out() && status.code() != absl::StatusCode::kDeadlineExceeded) {
        status = absl::DeadlineExceededError(
            "timed out after " + internal::FormatTimeout(step.timeout_micros) +
            (status.ok() ? " (it finished late; its result is not used)"
                         : ": " + std::string(status.message())));
      }
      if (status.ok()) status = CollectOutputs(i, ctx, *result, out);
      if (status.ok()) break;
      LogLine(i, attempt,
              "attempt " + std::to_string(attempt) + " failed: " + std::string(status.message()));
      if (attempt >= max_attempts) {
        Fail(out, status);
        return;
      }
      const int64_t factor = int64_t{1} << std::min(attempt - 1, 20);
      const std::chrono::milliseconds delay =
          std::min(options_.retry_backoff * factor, options_.retry_backoff_max);
      Emit(EventKind::kStepRetrying, out.name, [&](PipelineEvent& e) {
        e.attempt = attempt;
        e.message = std::string(status.message());
        e.retry_delay_micros = std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
        e.status = status;
      });
      if (!Backoff(delay)) {
        Cancel(out,
               absl::CancelledError("cancelled before retrying: " + std::string(status.message())));
        return;
      }
    }

    out.state = StepState::kSucceeded;
    out.status = absl::OkStatus();
    out.finished_micros = clock_->NowMicros();
    if (cacheable) {
      Status stored =
          options_.cache->Store(out.cache_key, CachedStep{out.outputs, out.metrics, out.summary});
      if (!stored.ok())
        LogLine(i, out.attempts,
                "could not record the result in the cache: " + std::string(stored.message()));
    }
    Emit(EventKind::kStepSucceeded, out.name, [&](PipelineEvent& e) {
      e.attempt = out.attempts;
      e.cache_key = out.cache_key;
      e.outputs = out.outputs;
      e.metrics = out.metrics;
      e.summary = out.summary;
    });
  }

  const PipelineSpec& spec_;
  const ParameterValues& params_;
  const StepRegistry& registry_;
  const ExecutorOptions& options_;
  const Clock* clock_;
  const StepType command_type_;

  std::map<std::string, size_t> index_;
  std::vector<const StepType*> types_;
  std::vector<std::vector<size_t>> deps_, dependents_;
  std::string scratch_root_;
  bool remove_scratch_root_ = false;

  // Scheduling state, under mu_. A step's outcome is written by the one worker running it and
  // read by others only after Finished() has published it under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StepOutcome> outcomes_;
  std::vector<size_t> waiting_;  // needs not yet finished
  std::set<size_t> ready_;       // by index: the spec's order breaks ties
  size_t terminal_ = 0;
  int running_ = 0;
  bool stop_ = false;
  bool cancelled_ = false;
  Status first_failure_;
  std::string first_failure_step_;

  // Serialises observer calls and guards the logs.
  std::mutex events_mu_;
  std::vector<bool> log_dropped_;
};

}  // namespace

std::string StepStateName(StepState state) {
  switch (state) {
    case StepState::kPending:
      return "pending";
    case StepState::kRunning:
      return "running";
    case StepState::kSucceeded:
      return "succeeded";
    case StepState::kCached:
      return "cached";
    case StepState::kFailed:
      return "failed";
    case StepState::kSkipped:
      return "skipped";
    case StepState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string RunStateName(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kRunStarted:
      return "run_started";
    case EventKind::kRunFinished:
      return "run_finished";
    case EventKind::kStepPending:
      return "step_pending";
    case EventKind::kStepStarted:
      return "step_started";
    case EventKind::kStepProgress:
      return "step_progress";
    case EventKind::kStepLog:
      return "step_log";
    case EventKind::kStepCached:
      return "step_cached";
    case EventKind::kStepSucceeded:
      return "step_succeeded";
    case EventKind::kStepFailed:
      return "step_failed";
    case EventKind::kStepRetrying:
      return "step_retrying";
    case EventKind::kStepSkipped:
      return "step_skipped";
    case EventKind::kStepCancelled:
      return "step_cancelled";
  }
  return "unknown";
}

const StepOutcome* RunResult::Find(const std::string& name) const {
  for (const StepOutcome& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::map<std::string, CompletedStep> RunResult::Completed() const {
  std::map<std::string, CompletedStep> out;
  for (const StepOutcome& s : steps) {
    if (s.state != StepState::kSucceeded && s.state != StepState::kCached) continue;
    out[s.name] = CompletedStep{s.cache_key, s.outputs, s.metrics, s.summary};
  }
  return out;
}

StatusOr<RunResult> RunPipeline(const PipelineSpec& spec, const ParameterValues& params,
                                const StepRegistry& registry, const ExecutorOptions& options) {
  Execution execution(spec, params, registry, options);
  return execution.Run();
}

}  // namespace plinth::pipeline
