// Data step types: ingest (register a CSV as a data set version), validate (run a suite on it),
// features (build a point-in-time training set from a feature service) and split (train / test).
#include <filesystem>
#include <map>

#include "core/files.h"
#include "pipeline/step_registry.h"
#include "steps/builtin_steps.h"
#include "steps/step_util.h"
#include "train/split.h"

namespace plinth {
namespace {

using pipeline::OutputDecl;
using pipeline::StepContext;
using pipeline::StepResult;
using pipeline::StepType;
using pipeline::ValueType;
using pipeline::WithKey;

// The data set reference file ingest and features write: {"dataset", "version", "ref",
// "file_digest", "rows"}.
Json DatasetRefJson(const Json& registered) {
  const std::string name = registered.value("name", "");
  const std::string version = registered.value("version", "");
  return {{"dataset", name},
          {"version", version},
          {"ref", "dataset/" + name + "@" + version},
          {"file_digest", registered.value("file_digest", "")},
          {"rows", registered.value("num_rows", 0)}};
}

StatusOr<std::string> DatasetNameAtVersion(const StepContext& ctx, const std::string& input) {
  ASSIGN_OR_RETURN(Json ref, ReadJsonInput(ctx, input));
  if (!ref.contains("dataset") || !ref["dataset"].is_string() || !ref.contains("version") ||
      !ref["version"].is_string()) {
    return absl::InvalidArgumentError("input '" + input +
                                      "' is not a data set reference (an ingest or features "
                                      "step's `dataset` output)");
  }
  return ref["dataset"].get<std::string>() + "@" + ref["version"].get<std::string>();
}

StepType IngestStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "ingest";
  t.description =
      "register a CSV file as a version of a data set (the same bytes, the same "
      "version)";
  t.with = {
      {"path", ValueType::kString, true, Json(), "the CSV file, relative to the pipeline"},
      {"dataset", ValueType::kString, true, Json(), "data set name"},
      {"target", ValueType::kString, false, Json(), "the label column"},
      {"timestamp", ValueType::kString, false, Json(), "the event time column"},
      {"entity", ValueType::kString, false, Json(), "the key column"},
      {"pii", ValueType::kString, false, Json(), "comma-separated PII columns"},
      {"protected", ValueType::kString, false, Json(), "comma-separated protected attributes"},
      {"classification", ValueType::kString, false, Json(), "public, internal or confidential"}};
  t.outputs = {{"data", "the registered CSV"}, {"dataset", "the data set reference (JSON)"}};
  t.fingerprint = [](const StepContext& ctx) { return FileFingerprint(ctx, {"path"}); };
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    const std::string path = ResolvePath(ctx, WithString(ctx, "path"));
    Json req = {{"project", env->project}, {"name", WithString(ctx, "dataset")}};
    for (const char* key :
         {"target", "timestamp", "entity", "pii", "protected", "classification"}) {
      std::string v = WithString(ctx, key);
      if (!v.empty()) req[key] = v;
    }
    ctx.Log("registering " + path + " as data set '" + WithString(ctx, "dataset") + "'");
    ASSIGN_OR_RETURN(Json registered, env->client->Upload("data.register", req, path,
                                                          [&](int64_t done, int64_t total) {
                                                            if (total > 0)
                                                              ctx.Progress(0.9 * done / total);
                                                          }));
    Json ref = DatasetRefJson(registered);
    ctx.Log("data set " + ref["dataset"].get<std::string>() + "@" +
            ref["version"].get<std::string>().substr(0, 12) + ": " +
            std::to_string(registered.value("num_rows", 0)) + " rows" +
            (registered.value("new_version", false) ? " (new version)" : " (already registered)"));
    StepResult result;
    std::error_code ec;
    std::filesystem::copy_file(path, ctx.OutputPath("data"), ec);
    if (ec) return absl::InternalError("cannot copy " + path + ": " + ec.message());
    result.outputs["data"] = ctx.OutputPath("data");
    ASSIGN_OR_RETURN(result.outputs["dataset"], WriteJsonOutput(ctx, "dataset", ref));
    result.metrics["rows"] = registered.value("num_rows", 0);
    result.metrics["columns"] = registered.value("num_columns", 0);
    result.summary = {
        {"dataset", ref["dataset"]},
        {"version", ref["version"]},
        {"lineage", Json::array({{{"ref", ref["ref"]}, {"relation", "registered"}}})}};
    return result;
  };
  return t;
}

StepType ValidateStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "validate";
  t.description = "run a validation suite on a data set version; blocking failures fail the step";
  t.with = {{"suite", ValueType::kString, true, Json(), "the suite's YAML file"},
            {"reference", ValueType::kString, false, Json(),
             "reference data set NAME@VERSION for drift expectations"},
            {"fail_on_error", ValueType::kBool, false, Json(true),
             "fail the step when a blocking expectation fails"}};
  t.outputs = {{"result", "the validation result (JSON)"},
               {"report", "the HTML report", /*optional=*/true}};
  t.fingerprint = [](const StepContext& ctx) { return FileFingerprint(ctx, {"suite"}); };
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(std::string target, DatasetNameAtVersion(ctx, "dataset"));
    const std::string suite_file = ResolvePath(ctx, WithString(ctx, "suite"));
    ASSIGN_OR_RETURN(std::string suite, ReadFile(suite_file));
    size_t at = target.find('@');
    Json req = {{"project", env->project},
                {"name", target.substr(0, at)},
                {"version", target.substr(at + 1)},
                {"suite", suite},
                {"suite_file", WithString(ctx, "suite")},
                {"html", true}};
    if (!WithString(ctx, "reference").empty()) req["reference"] = WithString(ctx, "reference");
    ctx.Log("validating " + target.substr(0, at + 13) + " with " + WithString(ctx, "suite"));
    ASSIGN_OR_RETURN(Json validated, env->client->Call("data.validate", req));
    const Json& r = validated["result"];
    const bool passed = r.value("passed", false);
    StepResult result;
    ASSIGN_OR_RETURN(result.outputs["result"], WriteJsonOutput(ctx, "result", validated["result"]));
    if (validated.contains("html") && validated["html"].is_string()) {
      ASSIGN_OR_RETURN(result.outputs["report"],
                       WriteTextOutput(ctx, "report", validated["html"].get<std::string>()));
    }
    const int64_t blocking = r.value("blocking_failures", int64_t{0});
    const int64_t warnings = r.value("warning_failures", int64_t{0});
    result.metrics["validation_passed"] = passed ? 1 : 0;
    result.metrics["validation_blocking_failures"] = static_cast<double>(blocking);
    result.metrics["validation_warnings"] = static_cast<double>(warnings);
    result.summary = {{"validation", validated.value("id", "")},
                      {"passed", passed},
                      {"lineage", Json::array({{{"ref", "validation/" + validated.value("id", "")},
                                                {"relation", "validated"}}})}};
    ctx.Log(std::string(passed ? "passed" : "FAILED") + ": " + std::to_string(blocking) +
            " blocking failure(s), " + std::to_string(warnings) + " warning(s)");
    if (!passed && ctx.with().value("fail_on_error", true)) {
      std::string failed;
      if (r.contains("expectations") && r["expectations"].is_array()) {
        for (const Json& e : r["expectations"]) {
          if (!e.value("passed", true) && e.value("severity", "error") != "warning") {
            failed += (failed.empty() ? "" : ", ") + e.value("id", std::string("?"));
          }
        }
      }
      return absl::FailedPreconditionError(
          "validation suite '" + WithString(ctx, "suite") + "' failed on " + target.substr(0, at) +
          (failed.empty() ? "" : ": " + failed) + " (see the step's report output)");
    }
    return result;
  };
  return t;
}

StepType FeaturesStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "features";
  t.description = "apply feature definitions and build a point-in-time training set from a spine";
  t.with = {{"definitions", ValueType::kString, true, Json(), "feature definitions YAML file"},
            {"service", ValueType::kString, true, Json(), "feature service"},
            {"name", ValueType::kString, false, Json(), "training set data set name"}};
  t.outputs = {{"data", "the training set (CSV)"},
               {"dataset", "the training set's data set reference (JSON)"}};
  t.fingerprint = [](const StepContext& ctx) { return FileFingerprint(ctx, {"definitions"}); };
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(std::string spine, DatasetNameAtVersion(ctx, "spine"));
    ASSIGN_OR_RETURN(std::string definition,
                     ReadFile(ResolvePath(ctx, WithString(ctx, "definitions"))));
    ctx.Log("applying " + WithString(ctx, "definitions"));
    ASSIGN_OR_RETURN(Json applied, env->client->Call("features.apply",
                                                     {{"project", env->project},
                                                      {"definition", definition},
                                                      {"file", WithString(ctx, "definitions")}}));
    ctx.Progress(0.3, "definitions applied");
    Json req = {
        {"project", env->project}, {"service", WithString(ctx, "service")}, {"spine", spine}};
    if (!WithString(ctx, "name").empty()) req["name"] = WithString(ctx, "name");
    ASSIGN_OR_RETURN(Json set, env->client->Call("features.training_set", req));
    ctx.Log("training set " + set.value("name", "") + ": " +
            std::to_string(set.value("num_rows", 0)) + " rows, " +
            std::to_string(set.value("num_columns", 0)) + " columns");
    StepResult result;
    RETURN_IF_ERROR(
        env->client->GetArtifact(set.value("file_digest", ""), ctx.OutputPath("data"), nullptr));
    result.outputs["data"] = ctx.OutputPath("data");
    Json ref = DatasetRefJson(set);
    ASSIGN_OR_RETURN(result.outputs["dataset"], WriteJsonOutput(ctx, "dataset", ref));
    result.metrics["rows"] = set.value("num_rows", 0);
    result.summary = {
        {"training_set", set.value("id", "")},
        {"lineage",
         Json::array({{{"ref", "training_set/" + set.value("id", "")}, {"relation", "built"}},
                      {{"ref", ref["ref"]}, {"relation", "registered"}}})}};
    return result;
  };
  return t;
}

StepType SplitStep() {
  StepType t;
  t.name = "split";
  t.description = "split a table into training and test rows: stratified, random or out of time";
  t.with = {{"target", ValueType::kString, false, Json(), "label column (stratified)"},
            {"method", ValueType::kString, false, Json("stratified"),
             "stratified, random or out_of_time"},
            {"test_fraction", ValueType::kFloat, false, Json(0.2), "share of test rows"},
            {"seed", ValueType::kInt, false, Json(42), "random seed"},
            {"time_column", ValueType::kString, false, Json(), "out_of_time: the time column"}};
  t.outputs = {{"train", "training rows (CSV)"}, {"test", "test rows (CSV)"}};
  t.run = [](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(Table table, ReadTableInput(ctx, "data"));
    const std::string method = WithString(ctx, "method");
    const double fraction = ctx.with()["test_fraction"].get<double>();
    const uint64_t seed = static_cast<uint64_t>(ctx.with()["seed"].get<int64_t>());
    auto column = [&](const std::string& key) -> StatusOr<const Column*> {
      const std::string name = WithString(ctx, key);
      if (name.empty()) {
        return absl::InvalidArgumentError("method " + method + " needs with." + key);
      }
      const Column* c = table.Find(name);
      if (c == nullptr) {
        return absl::InvalidArgumentError("with." + key + ": no column '" + name +
                                          "' in the input");
      }
      return c;
    };
    StatusOr<Split> split = absl::InternalError("unset");
    if (method == "stratified") {
      ASSIGN_OR_RETURN(const Column* target, column("target"));
      split = StratifiedSplit(StrataOf(*target), fraction, seed);
    } else if (method == "random") {
      split = RandomSplit(table.num_rows(), fraction, seed);
    } else if (method == "out_of_time") {
      ASSIGN_OR_RETURN(const Column* time, column("time_column"));
      split = OutOfTimeSplit(*time, fraction, OutOfTimeBasis::kRows);
    } else {
      return absl::InvalidArgumentError("with.method '" + method +
                                        "': expected stratified, random or out_of_time");
    }
    if (!split.ok()) {
      return absl::InvalidArgumentError(std::string(split.status().message()));
    }
    StepResult result;
    ASSIGN_OR_RETURN(result.outputs["train"],
                     WriteTableOutput(ctx, "train", TakeRows(table, split->train)));
    ASSIGN_OR_RETURN(result.outputs["test"],
                     WriteTableOutput(ctx, "test", TakeRows(table, split->test)));
    result.metrics["train_rows"] = static_cast<double>(split->train.size());
    result.metrics["test_rows"] = static_cast<double>(split->test.size());
    result.summary = {{"method", method}, {"seed", seed}, {"test_fraction", fraction}};
    ctx.Log(method + " split: " + std::to_string(split->train.size()) + " training rows, " +
            std::to_string(split->test.size()) + " test rows");
    return result;
  };
  return t;
}

}  // namespace

Status RegisterDataSteps(pipeline::StepRegistry* registry, std::shared_ptr<StepEnvironment> env) {
  RETURN_IF_ERROR(registry->Register(IngestStep(env)));
  RETURN_IF_ERROR(registry->Register(ValidateStep(env)));
  RETURN_IF_ERROR(registry->Register(FeaturesStep(env)));
  RETURN_IF_ERROR(registry->Register(SplitStep()));
  return absl::OkStatus();
}

Status RegisterBuiltinSteps(pipeline::StepRegistry* registry,
                            std::shared_ptr<StepEnvironment> env) {
  RETURN_IF_ERROR(RegisterDataSteps(registry, env));
  RETURN_IF_ERROR(RegisterModelSteps(registry, env));
  RETURN_IF_ERROR(RegisterExplainSteps(registry, env));
  RETURN_IF_ERROR(RegisterRegistrySteps(registry, env));
  return absl::OkStatus();
}

}  // namespace plinth
