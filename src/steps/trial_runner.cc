#include "steps/trial_runner.h"

#include <map>

#include "core/files.h"
#include "data/csv_reader.h"
#include "steps/step_util.h"
#include "train/split.h"
#include "tune/process_evaluator.h"

namespace plinth {

Json TrialContext::ToJson() const {
  return {{"spec", spec}, {"train", train_path}, {"validation_fraction", validation_fraction}};
}

StatusOr<TrialContext> TrialContext::FromJson(const Json& json) {
  if (!json.is_object() || !json.contains("spec") || !json.contains("train") ||
      !json["train"].is_string() || !json.contains("validation_fraction") ||
      !json["validation_fraction"].is_number()) {
    return absl::InvalidArgumentError("trial context: expected {spec, train, validation_fraction}");
  }
  TrialContext out;
  out.spec = json["spec"];
  out.train_path = json["train"].get<std::string>();
  out.validation_fraction = json["validation_fraction"].get<double>();
  return out;
}

StatusOr<TrainSpec> SpecWithTrialParams(const TrainSpec& base, const Json& params) {
  Json spec = base.ToJson();
  if (!spec["params"].is_object()) spec["params"] = Json::object();
  for (const auto& [key, value] : params.items()) {
    if (key == "monotone_constraints") {
      spec["monotone"] = value;
    } else if (key == "excluded_features") {
      Json exclude =
          spec.contains("exclude") && spec["exclude"].is_array() ? spec["exclude"] : Json::array();
      for (const Json& f : value) {
        if (std::find(exclude.begin(), exclude.end(), f) == exclude.end()) exclude.push_back(f);
      }
      spec["exclude"] = exclude;
    } else {
      spec["params"][key] = value;
    }
  }
  return TrainSpec::FromJson(spec);
}

StatusOr<tune::TrialResult> RunTrainingTrial(const TrialContext& context, const Table& table,
                                             const tune::Trial& trial) {
  ASSIGN_OR_RETURN(TrainSpec base, TrainSpec::FromJson(context.spec));
  ASSIGN_OR_RETURN(TrainSpec spec, SpecWithTrialParams(base, trial.params));
  const Column* target = table.Find(spec.target);
  if (target == nullptr) {
    return absl::InvalidArgumentError("the training rows have no column '" + spec.target + "'");
  }
  StatusOr<Split> split = absl::InternalError("unset");
  const uint64_t seed = static_cast<uint64_t>(spec.seed);
  if (spec.task == ModelTask::kBinaryClassification) {
    split = StratifiedSplit(StrataOf(*target), context.validation_fraction, seed);
  } else {
    split = RandomSplit(table.num_rows(), context.validation_fraction, seed);
  }
  RETURN_IF_ERROR(split.status());
  const Table fit = TakeRows(table, split->train);
  const Table valid = TakeRows(table, split->test);
  TrainOptions options;
  options.nthread = 1;  // trials run side by side, one core each
  ASSIGN_OR_RETURN(TrainedModel trained, TrainModel(spec, fit, options));
  ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(trained.package));
  tune::TrialResult result;
  for (const auto& [rows, prefix] : {std::pair<const Table*, const char*>{&fit, "train"},
                                     std::pair<const Table*, const char*>{&valid, "valid"}}) {
    EvaluationOptions eval;
    eval.prefix = prefix;
    ASSIGN_OR_RETURN(Evaluation e, EvaluateModel(*scorer, *rows, {}, eval));
    for (const auto& [k, v] : e.metrics) {
      if (k.size() > 5 && k.compare(k.size() - 5, 5, "_rows") == 0) continue;
      result.metrics[k] = v;
    }
  }
  return result;
}

Status RunTrialProgram(const std::vector<std::string>& args) {
  std::string context_path;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--context") context_path = args[i + 1];
  }
  if (context_path.empty()) return absl::InvalidArgumentError("internal trial: --context FILE");
  ASSIGN_OR_RETURN(tune::TrialInvocation invocation, tune::ParseTrialArgs(args));
  ASSIGN_OR_RETURN(std::string text, ReadFile(context_path));
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSIGN_OR_RETURN(TrialContext context, TrialContext::FromJson(json));
  ASSIGN_OR_RETURN(tune::Trial trial, tune::ReadTrialFile(invocation.trial_path));
  ASSIGN_OR_RETURN(Table table, ReadCsv(context.train_path));
  ASSIGN_OR_RETURN(tune::TrialResult result, RunTrainingTrial(context, table, trial));
  return tune::WriteTrialResult(invocation.result_path, result);
}

}  // namespace plinth
