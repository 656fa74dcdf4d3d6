// The tune step: a hyper-parameter search (tune/tuner.h) over a model's training spec, within
// guardrails, its trials in parallel processes (`plinth internal trial`), each trial a child run
// of the pipeline's run; the chosen trial is trained again on every training row and becomes the
// step's model package.
//
// Each trial trains on a seeded split of the step's training rows (fit and validation, the
// validation share `validation_fraction`) and reports train_* and valid_* metrics (auc, ks, gini,
// log_loss, brier for binary; rmse, mae, r2 for regression), which the objective and its
// constraints name. The test rows never take part in choosing.
#include <filesystem>
#include <mutex>

#include "core/clock.h"
#include "core/files.h"
#include "core/html.h"
#include "data/csv_reader.h"
#include "pipeline/step_registry.h"
#include "steps/model_step_util.h"
#include "steps/step_util.h"
#include "steps/trial_runner.h"
#include "train/split.h"
#include "tune/process_evaluator.h"
#include "tune/tuner.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using pipeline::StepContext;
using pipeline::StepResult;
using pipeline::StepType;
using pipeline::ValueType;

std::vector<std::string> TrialMetricNames(ModelTask task) {
  std::vector<std::string> out;
  const std::vector<std::string> binary = {"auc", "ks", "gini", "log_loss", "brier"};
  const std::vector<std::string> regression = {"rmse", "mae", "r2"};
  for (const char* prefix : {"train_", "valid_"}) {
    for (const auto& m : task == ModelTask::kBinaryClassification ? binary : regression) {
      out.push_back(prefix + m);
    }
  }
  return out;
}

// The tuning file's part of `with`: space (a file or a mapping), objective, sampler, strategy and
// the budget.
StatusOr<Json> TuningJson(const StepContext& ctx) {
  const Json& with = ctx.with();
  Json out = Json::object();
  const Json& space = with["space"];
  if (space.is_string()) {
    const std::string path = ResolvePath(ctx, space.get<std::string>());
    ASSIGN_OR_RETURN(tune::SearchSpace parsed, tune::LoadSearchSpace(path));
    out["space"] = parsed.ToJson();
  } else {
    out["space"] = space;
  }
  out["objective"] = with["objective"];
  for (const char* key : {"sampler", "strategy"}) {
    if (with.contains(key) && !with[key].is_null()) out[key] = with[key];
  }
  Json budget = {{"max_trials", with["max_trials"]}, {"parallelism", with["parallelism"]}};
  if (with.contains("max_time") && !with["max_time"].is_null())
    budget["max_time"] = with["max_time"];
  out["budget"] = budget;
  return out;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

// A page for people: the choice and why, then every trial.
std::string TuningReportHtml(const std::string& step, const tune::TuningResult& result,
                             const std::string& metric) {
  std::string html =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>Tuning " + HtmlEscape(step) +
      "</title><style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:"
      "collapse}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;text-align:left}"
      "tr.chosen{background:#e6f4ea}.bad{color:#a33}</style></head><body>";
  html += "<h1>Tuning: " + HtmlEscape(step) + "</h1>";
  html += "<p>" + HtmlEscape(result.explanation.value("summary", std::string("no summary"))) +
          "</p><p>Stopped: " + HtmlEscape(tune::StopReasonName(result.stop_reason)) + ", " +
          std::to_string(result.trials.size()) + " trials in " + Num(result.seconds) + " s. Spec " +
          HtmlEscape(result.spec_digest) + ".</p>";
  html += "<table><tr><th>trial</th><th>state</th><th>" + HtmlEscape(metric) +
          "</th><th>feasible</th><th>params</th><th>seconds</th></tr>";
  for (const auto& t : result.trials) {
    const bool chosen = result.chosen && *result.chosen == t.trial.index;
    auto m = t.metrics.find(metric);
    html += std::string("<tr") + (chosen ? " class=\"chosen\"" : "") + "><td>" +
            std::to_string(t.trial.index) + (chosen ? " (chosen)" : "") + "</td><td>" +
            HtmlEscape(tune::TrialStateName(t.state)) + "</td><td>" +
            (m == t.metrics.end() ? "-" : Num(m->second)) + "</td><td" +
            (t.feasible ? ">yes" : " class=\"bad\">no") + "</td><td><code>" +
            HtmlEscape(t.trial.params.dump()) + "</code></td><td>" + Num(t.seconds) + "</td></tr>";
  }
  html += "</table></body></html>\n";
  return html;
}

// Logs each ended trial as a child run of the pipeline's run (one client call at a time).
class ChildRuns {
 public:
  ChildRuns(const StepEnvironment& env, std::string step) : env_(env), step_(std::move(step)) {}

  void OnTrial(const tune::TrialEvent& e, StepContext& ctx) {
    if (e.kind == tune::TrialEvent::Kind::kStarted) {
      ctx.Progress(static_cast<double>(e.finished) / std::max(1, e.planned),
                   "trial " + std::to_string(e.trial.trial.index) + " started");
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    ctx.Progress(static_cast<double>(e.finished) / std::max(1, e.planned),
                 std::to_string(e.finished) + "/" + std::to_string(e.planned) + " trials");
    const tune::TrialRecord& t = e.trial;
    std::string line = "trial " + std::to_string(t.trial.index) + " " +
                       tune::TrialStateName(t.state) + " in " + Num(t.seconds) + " s";
    for (const auto& [k, v] : t.metrics) {
      if (k.rfind("valid_auc", 0) == 0 || k == "valid_rmse") line += ", " + k + " " + Num(v);
    }
    if (!t.status.ok()) line += ": " + std::string(t.status.message()).substr(0, 200);
    ctx.Log(line);
    if (env_.client == nullptr || env_.run_id.empty()) return;
    Status s = Record(t);
    if (!s.ok())
      ctx.Log("could not record trial " + std::to_string(t.trial.index) + ": " +
              std::string(s.message()));
  }

 private:
  Status Record(const tune::TrialRecord& t) {
    ASSIGN_OR_RETURN(Json run,
                     env_.client->Call("run.create",
                                       {{"project", env_.project},
                                        {"experiment", env_.experiment},
                                        {"name", step_ + "-trial-" + std::to_string(t.trial.index)},
                                        {"parent", env_.run_id},
                                        {"source", "tune:" + step_}}));
    const std::string id = run.value("id", "");
    Json params = Json::object();
    for (const auto& [k, v] : t.trial.params.items()) {
      params[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    Json metrics = Json::object();
    for (const auto& [k, v] : t.metrics) metrics[k] = v;
    RETURN_IF_ERROR(env_.client
                        ->Call("run.log", {{"id", id},
                                           {"params", params},
                                           {"metrics", metrics},
                                           {"tags",
                                            {{"plinth.trial", std::to_string(t.trial.index)},
                                             {"plinth.feasible", t.feasible ? "true" : "false"},
                                             {"plinth.state", tune::TrialStateName(t.state)}}}})
                        .status());
    return env_.client
        ->Call("run.finish",
               {{"id", id},
                {"status", t.state == tune::TrialState::kSucceeded ? "FINISHED" : "FAILED"}})
        .status();
  }

  const StepEnvironment& env_;
  std::string step_;
  std::mutex mu_;
};

}  // namespace

StepType TuneStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "tune";
  t.version = "2";  // 2: the manifest names the data set the rows came from
  t.description = "search a model's parameters within guardrails, trials in parallel processes";
  t.with = TrainSpecWithKeys();
  t.with.push_back({"space", ValueType::kAny, true, Json(),
                    "the search space: a YAML file, or the mapping itself"});
  t.with.push_back(
      {"objective", ValueType::kObject, true, Json(), "{metric, direction, constraints}"});
  t.with.push_back({"sampler", ValueType::kAny, false, Json(), "tpe (default) or random"});
  t.with.push_back({"strategy", ValueType::kAny, false, Json(), "search (default) or halving"});
  t.with.push_back({"max_trials", ValueType::kInt, false, Json(20), "trials at most"});
  t.with.push_back({"max_time", ValueType::kString, false, Json(), "no trial starts after it"});
  t.with.push_back({"parallelism", ValueType::kInt, false, Json(2), "trials at once"});
  t.with.push_back({"guardrails", ValueType::kObject, false, Json(),
                    "{fixed, max, min, excluded_features}: what no trial may change"});
  t.with.push_back({"validation_fraction", ValueType::kFloat, false, Json(0.25),
                    "share of the training rows each trial is validated on"});
  t.outputs = {{"manifest", "the chosen model's manifest.json"},
               {"model", "the chosen model's file"},
               {"trials", "every trial, the choice and why (JSON)"},
               {"report", "the trials as an HTML page"}};
  t.fingerprint = [](const StepContext& ctx) -> StatusOr<Json> {
    if (!ctx.with()["space"].is_string()) return Json(nullptr);
    return FileFingerprint(ctx, {"space"});
  };
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(TrainSpec base, TrainSpecFromWith(ctx));
    ASSIGN_OR_RETURN(Json governed, ExcludeProtectedAttributes(ctx, *env, &base));
    ASSIGN_OR_RETURN(pipeline::InputArtifact train_in, RequireInput(ctx, "train"));
    tune::Guardrails guardrails;
    if (ctx.with().contains("guardrails") && !ctx.with()["guardrails"].is_null()) {
      ASSIGN_OR_RETURN(guardrails,
                       tune::GuardrailsFromJson(ctx.with()["guardrails"], "guardrails"));
    }
    tune::TuningSpecOptions parse;
    parse.guardrails = &guardrails;
    parse.metrics = TrialMetricNames(base.task);
    ASSIGN_OR_RETURN(Json tuning_json, TuningJson(ctx));
    ASSIGN_OR_RETURN(tune::TuningSpec spec, tune::TuningSpecFromJson(tuning_json, "with", parse));

    // What every trial needs, in a file the trial processes read.
    TrialContext trial;
    trial.spec = base.ToJson();
    trial.train_path = train_in.path;
    trial.validation_fraction = ctx.with()["validation_fraction"].get<double>();
    const std::string context_path = ctx.scratch_dir() + "/trial-context.json";
    RETURN_IF_ERROR(WriteFileAtomic(context_path, trial.ToJson().dump(), 0600, true));

    tune::TrialEvaluator evaluator;
    if (env->trial_command.empty()) {
      auto table = std::make_shared<Table>();
      ASSIGN_OR_RETURN(*table, ReadTableInput(ctx, "train"));
      evaluator = [trial, table](const tune::Trial& t, const std::atomic<bool>*) {
        return RunTrainingTrial(trial, *table, t);
      };
    } else {
      tune::ProcessEvaluatorOptions options;
      options.argv = env->trial_command;
      options.argv.push_back("--context");
      options.argv.push_back(context_path);
      options.scratch_dir = ctx.scratch_dir() + "/trials";
      ASSIGN_OR_RETURN(evaluator, tune::MakeProcessEvaluator(options));
    }
    ChildRuns children(*env, ctx.step());
    std::atomic<bool> cancel{false};
    tune::TuningOptions options;
    options.cancel = &cancel;
    options.observer = [&](const tune::TrialEvent& e) {
      if (ctx.cancelled()) cancel.store(true);
      children.OnTrial(e, ctx);
    };
    ctx.Log("tuning " + base.kind + ": up to " + std::to_string(spec.max_trials) + " trials, " +
            std::to_string(spec.parallelism) + " at a time, spec " + spec.Digest());
    ASSIGN_OR_RETURN(tune::TuningResult result, tune::RunTuning(spec, evaluator, options));
    if (ctx.cancelled()) return absl::CancelledError("tuning cancelled");
    StepResult out;
    ASSIGN_OR_RETURN(out.outputs["trials"], WriteJsonOutput(ctx, "trials", result.ToJson()));
    ASSIGN_OR_RETURN(out.outputs["report"],
                     WriteTextOutput(ctx, "report",
                                     TuningReportHtml(ctx.step(), result, spec.objective.metric)));
    const tune::TrialRecord* chosen = result.chosen_trial();
    if (chosen == nullptr) {
      return absl::FailedPreconditionError(

          result.explanation.value("summary", std::string("no trial was chosen")));
    }
    ctx.Log(result.explanation.value("summary", std::string()));

    // The chosen parameters, trained on every training row.
    ASSIGN_OR_RETURN(TrainSpec final_spec, SpecWithTrialParams(base, chosen->trial.params));
    ASSIGN_OR_RETURN(Table train, ReadTableInput(ctx, "train"));
    ctx.Progress(0.95, "training the chosen trial on every row");
    ASSIGN_OR_RETURN(TrainedModel trained,
                     TrainModel(final_spec, train, StepTrainOptions(ctx, *env, governed)));
    RETURN_IF_ERROR(WritePackageOutputs(ctx, trained.package, &out));
    int failed = 0;
    for (const auto& r : result.trials) failed += r.state != tune::TrialState::kSucceeded;
    out.metrics["trials"] = static_cast<double>(result.trials.size());
    out.metrics["trials_failed"] = failed;
    out.metrics["chosen_trial"] = chosen->trial.index;
    for (const auto& [k, v] : chosen->metrics) out.metrics[k] = v;
    out.summary = {{"chosen_trial", chosen->trial.index},
                   {"params", chosen->trial.params},
                   {"why", result.explanation.value("summary", std::string())},
                   {"spec_digest", result.spec_digest}};
    if (!governed.is_null()) {
      out.summary["excluded_protected"] = governed["excluded_protected"];
      out.summary["lineage"] = governed["lineage"];
    }
    return out;
  };
  return t;
}

}  // namespace plinth
