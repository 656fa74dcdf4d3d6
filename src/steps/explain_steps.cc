// Explanation and fairness step types (docs/explanations.md):
//   explain   contributions, global importance, reason codes and partial dependence of a model
//             package on a table's rows (src/explain/explain.h);
//   fairness  group fairness of the package's decisions for protected attributes joined from the
//             evaluation rows (src/explain/fairness.h).
// Both read the package as the other model steps do (`manifest` + `model`).
#include <algorithm>
#include <cmath>
#include <set>

#include "core/files.h"
#include "core/html.h"
#include "explain/explain.h"
#include "explain/fairness.h"
#include "pipeline/step_registry.h"
#include "steps/builtin_steps.h"
#include "steps/model_step_util.h"
#include "steps/step_util.h"
#include "yaml/yaml_util.h"

namespace plinth {
namespace {

using pipeline::StepContext;
using pipeline::StepResult;
using pipeline::StepType;
using pipeline::ValueType;

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// with.reasons: a YAML mapping feature -> text, or feature -> {text, code}. Features that are not
// inputs of this model are skipped with a line in the log (one file may serve several models).
Status ReadReasons(const StepContext& ctx, const ModelManifest& manifest,
                   ReasonCodeOptions* options) {
  const std::string file = WithString(ctx, "reasons");
  if (file.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string text, ReadFile(ResolvePath(ctx, file)));
  const yaml::Errors errors(file);
  ASSIGN_OR_RETURN(YAML::Node node, yaml::Load(text, errors));
  ASSIGN_OR_RETURN(Json json, yaml::NodeToJson(errors, "reasons", node));
  if (!json.is_object()) {
    return Invalid(file + ": reasons must be a mapping feature -> text (or {text, code})");
  }
  std::set<std::string> inputs;
  for (const ModelInput& input : manifest.inputs) inputs.insert(input.name);
  for (const auto& [feature, entry] : json.items()) {
    std::string text, code;
    if (entry.is_string()) {
      text = entry.get<std::string>();
    } else if (entry.is_object()) {
      for (const auto& [key, value] : entry.items()) {
        if ((key != "text" && key != "code") || !value.is_string()) {
          return Invalid(file + ": reasons." + feature +
                         ": expected text and code, each a string (unknown key or type: " + key +
                         ")");
        }
      }
      text = entry.value("text", "");
      code = entry.value("code", "");
    } else {
      return Invalid(file + ": reasons." + feature + " must be a text or {text, code}");
    }
    if (inputs.count(feature) == 0) {
      ctx.Log("reasons: '" + feature + "' is not an input of this model; skipped");
      continue;
    }
    if (!text.empty()) options->texts[feature] = text;
    if (!code.empty()) options->codes[feature] = code;
  }
  return absl::OkStatus();
}

StepType ExplainStep() {
  StepType t;
  t.name = "explain";
  t.description =
      "explain a model package on a table's rows: contributions (TreeSHAP or exact linear), "
      "global importance, reason codes, partial dependence";
  t.version = "1";
  t.with = {{"top_k", ValueType::kInt, false, Json(4), "reason codes per row"},
            {"adverse", ValueType::kString, false, Json("positive"),
             "which class is the adverse outcome: positive or negative"},
            {"reasons", ValueType::kString, false, Json(),
             "YAML file: feature -> reason text (or {text, code})"},
            {"min_contribution", ValueType::kFloat, false, Json(0.0),
             "smallest contribution (log-odds) that gives a reason"},
            {"sample", ValueType::kInt, false, Json(20), "per-row explanations kept in the output"},
            {"pdp", ValueType::kList, false, Json(),
             "features to draw partial dependence for (default: the 5 most important)"},
            {"grid_points", ValueType::kInt, false, Json(20), "partial dependence grid points"},
            {"title", ValueType::kString, false, Json(), "the report's title"}};
  t.outputs = {{"explanations", "importance, per-row explanations, reason codes, PDP (JSON)"},
               {"report", "the HTML report with plots"}};
  t.fingerprint = [](const StepContext& ctx) { return FileFingerprint(ctx, {"reasons"}); };
  t.run = [](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(ModelPackage package, ReadPackageInputs(ctx));
    ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(package));
    ASSIGN_OR_RETURN(Table data, ReadTableInput(ctx, "data"));
    const Json& with = ctx.with();
    ExplainOptions options;
    options.reasons.top_k = static_cast<int>(with["top_k"].get<int64_t>());
    options.reasons.adverse = WithString(ctx, "adverse");
    options.reasons.min_contribution = with["min_contribution"].get<double>();
    if (Status s = options.reasons.Validate(); !s.ok()) {
      return Invalid("with: " + std::string(s.message()));
    }
    RETURN_IF_ERROR(ReadReasons(ctx, package.manifest, &options.reasons));
    const int64_t sample = with["sample"].get<int64_t>();
    const int64_t grid = with["grid_points"].get<int64_t>();
    if (sample < 0) return Invalid("with.sample must be >= 0");
    if (grid < 2) return Invalid("with.grid_points must be at least 2");
    options.sample = static_cast<size_t>(sample);
    options.grid_points = static_cast<int>(grid);
    if (with.contains("pdp") && with["pdp"].is_array()) {
      for (const Json& f : with["pdp"]) {
        if (!f.is_string()) return Invalid("with.pdp must list feature names");
        options.pdp_features.push_back(f.get<std::string>());
      }
    }
    options.title = WithString(ctx, "title");
    if (options.title.empty()) options.title = "Explanations: " + package.manifest.kind + " model";
    ctx.Log("explaining a " + package.manifest.kind + " model on " +
            std::to_string(data.num_rows()) + " rows");
    ctx.Progress(0.1, "computing contributions");
    ASSIGN_OR_RETURN(ExplainResult explained, ExplainReport(*scorer, data, options));
    StepResult result;
    ASSIGN_OR_RETURN(result.outputs["explanations"],
                     WriteJsonOutput(ctx, "explanations", explained.json));
    ASSIGN_OR_RETURN(result.outputs["report"], WriteTextOutput(ctx, "report", explained.html));
    result.metrics["additivity_max_error"] = explained.additivity_max_error;
    result.metrics["explained_rows"] = static_cast<double>(data.num_rows());
    result.metrics["features_used"] = static_cast<double>(explained.json["features_used"].size());
    Json top = Json::array();
    for (const Json& f : explained.json["global_importance"]) {
      if (top.size() >= 5) break;
      top.push_back(f["feature"]);
    }
    result.summary = {{"method", explained.json["method"]},
                      {"kind", package.manifest.kind},
                      {"rows", data.num_rows()},
                      {"features_used", explained.json["features_used"]},
                      {"top_features", top}};
    char line[200];
    std::snprintf(line, sizeof(line), "%s: %zu of %zu inputs used, additivity max error %.3g",
                  explained.json["method"].get<std::string>().c_str(),
                  explained.json["features_used"].size(), package.manifest.inputs.size(),
                  explained.additivity_max_error);
    ctx.Log(line);
    return result;
  };
  return t;
}

// A metric key from an attribute name: characters outside the tracking store's key alphabet
// (A-Z a-z 0-9 _ - . /) become '_'.
std::string MetricKey(const std::string& attribute) {
  std::string out = "fairness_di_";
  for (char c : attribute) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '/';
    out += ok ? c : '_';
  }
  return out;
}

// The protected attributes of the `dataset` input's data set version (empty without the input).
// Read through ExcludeProtectedAttributes, the train step's own reading of the tags, so the two
// steps always agree on what is protected.
StatusOr<std::vector<std::string>> DatasetProtected(const StepContext& ctx,
                                                    const StepEnvironment& env, Json* governed) {
  TrainSpec unused;
  ASSIGN_OR_RETURN(Json read, ExcludeProtectedAttributes(ctx, env, &unused));
  if (read.is_null()) return std::vector<std::string>();
  *governed = read;
  return unused.exclude;
}

StepType FairnessStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "fairness";
  t.description =
      "compare a binary model's decisions across the groups of protected attributes: selection "
      "rates, disparate impact, parity, equal opportunity and average odds differences, AUC";
  t.version = "1";
  t.with = {{"attributes", ValueType::kList, false, Json(),
             "protected columns (besides the data set's protected tags)"},
            {"threshold", ValueType::kFloat, false, Json(0.5),
             "decision positive when the probability is at least this"},
            {"favorable", ValueType::kString, false, Json("negative"),
             "the predicted class that is the favourable decision: negative or positive"},
            {"reference", ValueType::kObject, false, Json(),
             "{attribute: privileged group} (default: the group with the highest selection rate)"},
            {"min_group_size", ValueType::kInt, false, Json(30),
             "smaller groups are flagged and left out of the summary"},
            {"title", ValueType::kString, false, Json(), "the report's title"}};
  t.outputs = {{"fairness", "the fairness report per attribute (JSON)"},
               {"report", "the HTML report"}};
  // The data set's protected tags are read from the platform: part of the cache key.
  t.fingerprint = [env](const StepContext& ctx) -> StatusOr<Json> {
    Json governed;
    ASSIGN_OR_RETURN(std::vector<std::string> tagged, DatasetProtected(ctx, *env, &governed));
    return Json{{"protected", tagged}};
  };
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(ModelPackage package, ReadPackageInputs(ctx));
    const ModelManifest& manifest = package.manifest;
    if (manifest.task != ModelTask::kBinaryClassification) {
      return absl::FailedPreconditionError(
          "fairness compares decisions of binary classifiers; this model is " +
          ModelTaskName(manifest.task));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, LoadScorer(package));
    ASSIGN_OR_RETURN(Table data, ReadTableInput(ctx, "data"));
    const Json& with = ctx.with();

    Json governed;
    ASSIGN_OR_RETURN(std::vector<std::string> attributes, DatasetProtected(ctx, *env, &governed));
    if (with.contains("attributes") && with["attributes"].is_array()) {
      for (const Json& a : with["attributes"]) {
        if (!a.is_string()) return Invalid("with.attributes must list column names");
        if (std::find(attributes.begin(), attributes.end(), a.get<std::string>()) ==
            attributes.end()) {
          attributes.push_back(a.get<std::string>());
        }
      }
    }
    if (attributes.empty()) {
      return Invalid(
          "no protected attributes to compare: list them in with.attributes or give the input "
          "'dataset' of a data set with protected tags");
    }
    FairnessOptions options;
    options.threshold = with["threshold"].get<double>();
    options.favorable = WithString(ctx, "favorable");
    const int64_t min_group = with["min_group_size"].get<int64_t>();
    if (min_group < 0) return Invalid("with.min_group_size must be >= 0");
    options.min_group_size = static_cast<size_t>(min_group);
    if (Status s = options.Validate(); !s.ok()) return Invalid("with: " + std::string(s.message()));
    const Json reference = with.contains("reference") && with["reference"].is_object()
                               ? with["reference"]
                               : Json::object();
    for (const auto& [attribute, group] : reference.items()) {
      if (std::find(attributes.begin(), attributes.end(), attribute) == attributes.end()) {
        return Invalid("with.reference names '" + attribute +
                       "', which is not among the attributes compared");
      }
      if (!group.is_string()) return Invalid("with.reference." + attribute + " must be a text");
    }

    const Column* target = data.Find(manifest.target.column);
    if (target == nullptr) {
      return Invalid("input 'data' lacks the target column '" + manifest.target.column + "'");
    }
    StatusOr<std::vector<float>> labels = BinaryLabels(*target, manifest.target.positive);
    if (!labels.ok()) {
      return Invalid("input 'data': target " + manifest.target.column + ": " +
                     std::string(labels.status().message()));
    }
    ASSIGN_OR_RETURN(std::vector<double> p, scorer->PredictTable(data));
    const std::vector<float> scores(p.begin(), p.end());

    std::set<std::string> inputs;
    for (const ModelInput& input : manifest.inputs) inputs.insert(input.name);
    StepResult result;
    Json by_attribute = Json::object();
    double di_min = std::nan("");
    for (const std::string& attribute : attributes) {
      const Column* column = data.Find(attribute);
      if (column == nullptr) {
        return Invalid("input 'data' lacks the protected column '" + attribute +
                       "': give rows that still carry it (the split's test rows do; the train "
                       "step leaves protected columns out of the features, not out of the data)");
      }
      FairnessOptions attribute_options = options;
      if (reference.contains(attribute)) {
        attribute_options.reference_group = reference[attribute].get<std::string>();
      }
      const std::vector<std::string> groups = GroupValues(*column);
      StatusOr<Json> report = FairnessReport(*labels, scores, groups, attribute, attribute_options);
      if (!report.ok()) {
        return Invalid("attribute " + attribute + ": " + std::string(report.status().message()));
      }
      (*report)["model_input"] = inputs.count(attribute) > 0;
      if (inputs.count(attribute) > 0) {
        ctx.Log("warning: '" + attribute +
                "' is an input of the model, not only a protected "
                "attribute joined for evaluation");
      }
      const Json& di = (*report)["summary"]["disparate_impact_min"];
      if (di.is_number()) {
        const double v = di.get<double>();
        result.metrics[MetricKey(attribute)] = v;
        if (std::isnan(di_min) || v < di_min) di_min = v;
        char line[200];
        std::snprintf(
            line, sizeof(line), "%s: reference %s, lowest disparate impact %.4f (%s)",
            attribute.c_str(), (*report)["reference_group"].get<std::string>().c_str(), v,
            (*report)["summary"]["disparate_impact_min_group"].get<std::string>().c_str());
        ctx.Log(line);
      } else {
        ctx.Log(attribute + ": no group to compare with the reference");
      }
      by_attribute[attribute] = std::move(report).value();
    }
    if (!std::isnan(di_min)) result.metrics["fairness_di_min"] = di_min;
    const std::string favorable_class =
        options.favorable == "negative" ? manifest.target.classes.at(0) : manifest.target.positive;
    Json out = {{"attributes", by_attribute},
                {"disparate_impact_min", std::isnan(di_min) ? Json() : Json(di_min)},
                {"four_fifths_rule_passed", std::isnan(di_min) ? Json() : Json(di_min >= 0.8)},
                {"target", manifest.target.column},
                {"favorable", options.favorable},
                {"favorable_class", favorable_class},
                {"threshold", options.threshold},
                {"rows", data.num_rows()},
                {"kind", manifest.kind}};
    ASSIGN_OR_RETURN(result.outputs["fairness"], WriteJsonOutput(ctx, "fairness", out));
    std::string title = WithString(ctx, "title");
    if (title.empty()) title = "Fairness: " + manifest.kind + " model";
    const std::string intro = HtmlEscape(manifest.kind) + " model, target " +
                              HtmlEscape(manifest.target.column) +
                              "; favourable decision: predicted " + HtmlEscape(favorable_class) +
                              "; " + std::to_string(data.num_rows()) + " rows";
    ASSIGN_OR_RETURN(result.outputs["report"],
                     WriteTextOutput(ctx, "report", FairnessHtmlPage(by_attribute, title, intro)));
    result.summary = {{"attributes", attributes},
                      {"disparate_impact_min", out["disparate_impact_min"]},
                      {"favorable_class", favorable_class}};
    if (!governed.is_null()) result.summary["lineage"] = governed["lineage"];
    return result;
  };
  return t;
}

}  // namespace

Status RegisterExplainSteps(pipeline::StepRegistry* registry,
                            std::shared_ptr<StepEnvironment> env) {
  RETURN_IF_ERROR(registry->Register(ExplainStep()));
  RETURN_IF_ERROR(registry->Register(FairnessStep(env)));
  return absl::OkStatus();
}

}  // namespace plinth
