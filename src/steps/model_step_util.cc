#include "steps/model_step_util.h"

#include <algorithm>

#include "core/files.h"
#include "steps/step_util.h"

namespace plinth {

using pipeline::ValueType;

std::vector<pipeline::WithKey> TrainSpecWithKeys() {
  return {{"kind", ValueType::kString, false, Json("xgboost"), "xgboost, logistic or scorecard"},
          {"task", ValueType::kString, false, Json(), "binary_classification or regression"},
          {"target", ValueType::kString, true, Json(), "the label column"},
          {"positive", ValueType::kString, false, Json(), "binary: the positive class's value"},
          {"features", ValueType::kList, false, Json(), "input columns (default: all but target)"},
          {"exclude", ValueType::kList, false, Json(), "columns never used as inputs"},
          {"categorical", ValueType::kList, false, Json(), "numeric columns to one-hot encode"},
          {"max_levels", ValueType::kInt, false, Json(), "cap on one-hot levels per column"},
          {"params", ValueType::kObject, false, Json(), "the kind's parameters"},
          {"monotone", ValueType::kObject, false, Json(), "{feature: 1 or -1}"},
          {"class_weight", ValueType::kString, false, Json(), "none or balanced"},
          {"early_stopping", ValueType::kObject, false, Json(), "{rounds, validation_fraction}"},
          {"seed", ValueType::kInt, false, Json(), "random seed"},
          {"model_format", ValueType::kString, false, Json(), "xgboost: json or ubj"}};
}

StatusOr<TrainSpec> TrainSpecFromJson(const pipeline::StepContext& ctx, const Json& spec) {
  StatusOr<TrainSpec> out = TrainSpec::FromJson(spec);
  if (!out.ok()) {
    return absl::InvalidArgumentError(std::string(out.status().message()));
  }
  return out;
}

StatusOr<TrainSpec> TrainSpecFromWith(const pipeline::StepContext& ctx) {
  Json spec = Json::object();
  for (const auto& key : TrainSpecWithKeys()) {
    if (ctx.with().contains(key.name) && !ctx.with()[key.name].is_null()) {
      spec[key.name] = ctx.with()[key.name];
    }
  }
  return TrainSpecFromJson(ctx, spec);
}

StatusOr<Json> ExcludeProtectedAttributes(const pipeline::StepContext& ctx,
                                          const StepEnvironment& env, TrainSpec* spec) {
  if (ctx.inputs().count("dataset") == 0) return Json(nullptr);
  ASSIGN_OR_RETURN(Json ref, ReadJsonInput(ctx, "dataset"));
  if (!ref.contains("dataset") || !ref["dataset"].is_string() || !ref.contains("version") ||
      !ref["version"].is_string()) {
    return absl::InvalidArgumentError(
        "input 'dataset' is not a data set reference (an ingest or features step's `dataset` "
        "output)");
  }
  const std::string name = ref["dataset"].get<std::string>();
  const std::string version = ref["version"].get<std::string>();
  ASSIGN_OR_RETURN(Json shown, env.client->Call("data.show", {{"project", env.project},
                                                              {"name", name},
                                                              {"version", version}}));
  std::vector<std::string> protected_columns;
  if (shown.contains("tags") && shown["tags"].contains("protected") &&
      shown["tags"]["protected"].is_array()) {
    for (const Json& c : shown["tags"]["protected"]) {
      if (c.is_string()) protected_columns.push_back(c.get<std::string>());
    }
  }
  for (const std::string& column : protected_columns) {
    if (spec->features && std::find(spec->features->begin(), spec->features->end(), column) !=
                              spec->features->end()) {
      return absl::FailedPreconditionError(
          "feature '" + column + "' is a protected attribute of data set " + name +
          ": a model may not learn from it (remove it from features)");
    }
    if (std::find(spec->exclude.begin(), spec->exclude.end(), column) == spec->exclude.end()) {
      spec->exclude.push_back(column);
    }
  }
  const std::string ref_text = "dataset/" + name + "@" + version;
  return Json{{"dataset", ref_text},
              {"name", name},
              {"version", version},
              {"excluded_protected", protected_columns},
              {"lineage", Json::array({{{"ref", ref_text}, {"relation", "input"}}})}};
}

TrainOptions StepTrainOptions(const pipeline::StepContext& ctx, const StepEnvironment& env,
                              const Json& governed) {
  TrainOptions options;
  // The data set the rows came from, in the manifest's lineage (what the registry's evidence and
  // the provenance attestation name).
  if (governed.is_object() && governed.contains("name")) {
    const std::string version = governed["version"].get<std::string>();
    options.lineage.datasets.push_back(
        {governed["name"].get<std::string>(), version,
         version.rfind("sha256:", 0) == 0 ? version : "sha256:" + version});
  }
  options.progress = [&ctx](double f, std::string_view message) { ctx.Progress(f, message); };
  options.cancelled = [&ctx] { return ctx.cancelled(); };
  options.run_id = env.run_id;
  options.step = ctx.step();
  return options;
}

Status WritePackageOutputs(const pipeline::StepContext& ctx, const ModelPackage& package,
                           pipeline::StepResult* result) {
  ASSIGN_OR_RETURN(auto files, PackageFiles(package));
  if (files.size() != 2) {
    return absl::UnimplementedError("a model package of " + std::to_string(files.size()) +
                                    " files cannot travel as manifest + model");
  }
  for (const auto& [name, bytes] : files) {
    const char* output = name == kManifestFileName ? "manifest" : "model";
    ASSIGN_OR_RETURN(result->outputs[output], WriteTextOutput(ctx, output, bytes));
  }
  return absl::OkStatus();
}

StatusOr<ModelPackage> ReadPackageInputs(const pipeline::StepContext& ctx) {
  ASSIGN_OR_RETURN(pipeline::InputArtifact manifest_in, RequireInput(ctx, "manifest"));
  ASSIGN_OR_RETURN(pipeline::InputArtifact model_in, RequireInput(ctx, "model"));
  ASSIGN_OR_RETURN(std::string manifest_bytes, ReadFile(manifest_in.path));
  Json manifest_json = Json::parse(manifest_bytes, nullptr, /*allow_exceptions=*/false);
  StatusOr<ModelManifest> manifest = manifest_json.is_discarded()
                                         ? absl::InvalidArgumentError("not JSON")
                                         : ModelManifest::FromJson(manifest_json);
  if (!manifest.ok()) {
    return absl::InvalidArgumentError("input 'manifest' is not a model manifest: " +
                                      std::string(manifest.status().message()));
  }
  std::vector<std::string> models = manifest->FilesWithRole(kModelRole);
  if (models.size() != 1 || manifest->files.size() != 1) {
    return absl::InvalidArgumentError("the manifest must list exactly one file, the model");
  }
  ASSIGN_OR_RETURN(std::string model_bytes, ReadFile(model_in.path));
  std::map<std::string, std::string> files = {{std::string(kManifestFileName), manifest_bytes},
                                              {models[0], std::move(model_bytes)}};
  return ParseModelPackage(std::move(files));
}

}  // namespace plinth
