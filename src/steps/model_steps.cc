// Model step types: train (a model package from a training table), evaluate (a package on
// held-out rows) and tune (a search within guardrails, trials in parallel processes, each a child
// run). A model package travels between steps as two outputs, `manifest` (manifest.json) and
// `model` (its one model file); the manifest names and digests the model file, so the package is
// checked again wherever it is read.
#include <filesystem>

#include "core/files.h"
#include "pipeline/step_registry.h"
#include "steps/builtin_steps.h"
#include "steps/model_step_util.h"
#include "steps/step_util.h"
#include "train/trainer.h"

namespace plinth {
namespace {

using pipeline::StepContext;
using pipeline::StepResult;
using pipeline::StepType;
using pipeline::ValueType;

StepType TrainStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "train";
  t.description = "train a model (xgboost, logistic or scorecard) into a model package";
  t.version = "2";  // 2: the manifest names the data set the rows came from
  t.with = TrainSpecWithKeys();
  t.outputs = {{"manifest", "the model package's manifest.json"},
               {"model", "the model package's model file"},
               {"report", "the training report (JSON)"}};
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(TrainSpec spec, TrainSpecFromWith(ctx));
    ASSIGN_OR_RETURN(Json governed, ExcludeProtectedAttributes(ctx, *env, &spec));
    ASSIGN_OR_RETURN(Table train, ReadTableInput(ctx, "train"));
    ctx.Log("training " + spec.kind + " on " + std::to_string(train.num_rows()) + " rows");
    TrainOptions options = StepTrainOptions(ctx, *env, governed);
    ASSIGN_OR_RETURN(TrainedModel trained, TrainModel(spec, train, options));
    StepResult result;
    RETURN_IF_ERROR(WritePackageOutputs(ctx, trained.package, &result));
    ASSIGN_OR_RETURN(result.outputs["report"], WriteJsonOutput(ctx, "report", trained.report));
    result.metrics["train_rows"] = static_cast<double>(train.num_rows());
    result.metrics["features"] = static_cast<double>(trained.package.manifest.inputs.size());
    result.summary = {{"kind", spec.kind},
                      {"features", trained.package.manifest.inputs.size()},
                      {"spec", spec.ToJson()}};
    if (!governed.is_null()) {
      result.summary["excluded_protected"] = governed["excluded_protected"];
      result.summary["lineage"] = governed["lineage"];
    }
    ctx.Log("trained a " + spec.kind + " model on " +
            std::to_string(trained.package.manifest.inputs.size()) + " input features");
    return result;
  };
  return t;
}

StepType EvaluateStep() {
  StepType t;
  t.name = "evaluate";
  t.description = "evaluate a model package on held-out rows: metrics, PSI, an HTML report";
  t.with = {{"threshold", ValueType::kFloat, false, Json(0.5),
             "binary: predicted positive when the probability is at least this"},
            {"title", ValueType::kString, false, Json(), "the report's title"}};
  t.outputs = {{"metrics", "every metric (JSON)"}, {"report", "the HTML report with plots"}};
  t.run = [](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(ModelPackage package, ReadPackageInputs(ctx));
    ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(package));
    ASSIGN_OR_RETURN(Table test, ReadTableInput(ctx, "test"));
    EvaluationOptions options;
    options.threshold = ctx.with()["threshold"].get<double>();
    options.title = WithString(ctx, "title");
    StepResult result;
    Json details = Json::object();
    std::vector<double> train_scores;
    if (ctx.inputs().count("train") != 0) {
      ASSIGN_OR_RETURN(Table train, ReadTableInput(ctx, "train"));
      ASSIGN_OR_RETURN(train_scores, scorer->PredictTable(train));
      EvaluationOptions train_options = options;
      train_options.prefix = "train";
      ASSIGN_OR_RETURN(Evaluation on_train, EvaluateModel(*scorer, train, {}, train_options));
      for (const auto& [k, v] : on_train.metrics) result.metrics[k] = v;
      details["train"] = on_train.json;
    }
    ctx.Progress(0.5, "scoring the test rows");
    ASSIGN_OR_RETURN(Evaluation on_test, EvaluateModel(*scorer, test, train_scores, options));
    for (const auto& [k, v] : on_test.metrics) result.metrics[k] = v;
    details["test"] = on_test.json;
    if (result.metrics.count("train_auc") != 0 && result.metrics.count("test_auc") != 0) {
      result.metrics["train_test_auc_gap"] =
          result.metrics["train_auc"] - result.metrics["test_auc"];
    }
    Json out = Json::object();
    for (const auto& [k, v] : result.metrics) out[k] = v;
    out["kind"] = package.manifest.kind;
    out["details"] = details;
    ASSIGN_OR_RETURN(result.outputs["metrics"], WriteJsonOutput(ctx, "metrics", out));
    ASSIGN_OR_RETURN(result.outputs["report"], WriteTextOutput(ctx, "report", on_test.html));
    result.summary = {{"kind", package.manifest.kind}};
    if (result.metrics.count("test_auc") != 0) {
      char line[160];
      std::snprintf(line, sizeof(line), "%s: test AUC %.4f, KS %.4f, Gini %.4f",
                    package.manifest.kind.c_str(), result.metrics["test_auc"],
                    result.metrics.count("test_ks") ? result.metrics["test_ks"] : 0.0,
                    result.metrics.count("test_gini") ? result.metrics["test_gini"] : 0.0);
      ctx.Log(line);
    }
    return result;
  };
  return t;
}

}  // namespace

Status RegisterModelSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env) {
  RETURN_IF_ERROR(registry->Register(TrainStep(env)));
  RETURN_IF_ERROR(registry->Register(EvaluateStep()));
  RETURN_IF_ERROR(registry->Register(TuneStep(env)));
  return absl::OkStatus();
}

}  // namespace plinth
