// Registry step types: register (a model package from this run becomes a registered, scanned,
// documented and attested version, optionally with an approval request) and card (the version's
// model card as an output of the run). Both act through the PlatformClient, so they behave the
// same in process and against a server.
#include <filesystem>

#include "core/files.h"
#include "pipeline/step_registry.h"
#include "steps/builtin_steps.h"
#include "steps/step_util.h"
#include "train/model_package.h"

namespace plinth {
namespace {

using pipeline::StepContext;
using pipeline::StepResult;
using pipeline::StepType;
using pipeline::ValueType;

StepType RegisterStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "register";
  t.description =
      "register a model package as a version of a registered model (scanned, gated, documented "
      "and attested), with its evaluation, explanations and fairness as evidence";
  t.with = {{"name", ValueType::kString, true, Json(), "the registered model's name"},
            {"description", ValueType::kString, false, Json(), "what the model does"},
            {"owner", ValueType::kString, false, Json(), "the model's owner"},
            {"risk_tier", ValueType::kInt, false, Json(), "1 (high) to 3 (low)"},
            {"intended_use", ValueType::kString, false, Json(), "what it is for, and for whom"},
            {"limitations", ValueType::kString, false, Json(), "where it must not be relied on"},
            {"regulatory_scope", ValueType::kList, false, Json(), "regulations it falls under"},
            {"request_approval", ValueType::kString, false, Json(),
             "ask for approval to this stage (staging or production) once registered"}};
  t.outputs = {{"version", "the registered version (JSON: ref, digest, attestation, documents)"}};
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(pipeline::InputArtifact manifest_in, RequireInput(ctx, "manifest"));
    ASSIGN_OR_RETURN(pipeline::InputArtifact model_in, RequireInput(ctx, "model"));
    ASSIGN_OR_RETURN(std::string manifest_bytes, ReadFile(manifest_in.path));
    Json manifest = Json::parse(manifest_bytes, nullptr, false);
    std::string model_file;
    if (manifest.is_object() && manifest.value("files", Json()).is_array() &&
        manifest["files"].size() == 1) {
      model_file = manifest["files"][0].value("name", "");
    }
    if (model_file.empty()) {
      return absl::InvalidArgumentError(
          "input manifest: expected a model package's manifest.json listing one model file");
    }
    const Json& with = ctx.with();
    Json req = {{"project", env->project},
                {"name", with["name"]},
                {"run_id", env->run_id},
                {"files", {{"manifest.json", manifest_in.digest}, {model_file, model_in.digest}}}};
    if (manifest.contains("training") && manifest["training"].is_object() &&
        !manifest["training"].value("step", "").empty()) {
      req["step"] = manifest["training"]["step"];
    }
    Json evidence = Json::object();
    for (const char* name : {"evaluation", "explanations", "fairness"}) {
      if (ctx.inputs().count(name) != 0) evidence[name] = ctx.inputs().at(name).digest;
    }
    req["evidence"] = evidence;
    for (const char* key :
         {"description", "owner", "intended_use", "limitations", "regulatory_scope"}) {
      if (with.contains(key) && !with[key].is_null()) req[key] = with[key];
    }
    if (with.contains("risk_tier") && with["risk_tier"].is_number_integer()) {
      req["risk_tier"] = with["risk_tier"];
    }
    ctx.Progress(0.2, "scanning, gating, documenting and signing");
    ASSIGN_OR_RETURN(Json version, env->client->Call("model.register", req));
    const std::string ref = version.value("ref", "");
    ctx.Log(std::string(version.value("created", true) ? "registered " : "already registered: ") +
            ref + " (" + version.value("digest", "").substr(0, 19) + ")");
    const std::string stage = WithString(ctx, "request_approval");
    if (!stage.empty()) {
      Json request = {{"project", env->project},
                      {"name", with["name"]},
                      {"version", std::to_string(version.value("version", int64_t{0}))},
                      {"stage", stage},
                      {"comment", "requested by pipeline run " + env->run_id}};
      auto requested = env->client->Call("approval.request", request);
      if (requested.ok()) {
        ctx.Log("approval requested for " + ref + " to " + stage);
        version["approval_request"] = *requested;
      } else if (absl::IsAlreadyExists(requested.status()) ||
                 absl::IsFailedPrecondition(requested.status())) {
        ctx.Log(std::string(requested.status().message()));
      } else {
        return requested.status();
      }
    }
    StepResult result;
    Json out = {{"ref", ref},
                {"name", version["name"]},
                {"version", version["version"]},
                {"digest", version["digest"]},
                {"stage", version["stage"]},
                {"attestation", version.value("attestation", Json())},
                {"documents", version.value("documents", Json::object())}};
    ASSIGN_OR_RETURN(result.outputs["version"], WriteJsonOutput(ctx, "version", out));
    result.summary = {{"ref", ref}, {"digest", version["digest"]}};
    return result;
  };
  return t;
}

// The version a `version` input names, as model.show returns it.
StatusOr<Json> ShowInputVersion(const StepContext& ctx, const StepEnvironment& env) {
  ASSIGN_OR_RETURN(Json version, ReadJsonInput(ctx, "version"));
  if (!version.is_object() || !version.contains("name") ||
      !version.value("version", Json()).is_number_integer()) {
    return absl::InvalidArgumentError(
        "input version: expected the output of a register step ({name, version, ...})");
  }
  return env.client->Call("model.show",
                          {{"project", env.project},
                           {"name", version["name"]},
                           {"version", std::to_string(version["version"].get<int64_t>())}});
}

StepType CardStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "card";
  t.description = "the model card of a registered version (Markdown and HTML), as run outputs";
  t.with = {};
  t.outputs = {{"card_md", "the model card in Markdown"},
               {"card_html", "the model card as an HTML page"},
               {"report", "the validation report (HTML)"}};
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(Json shown, ShowInputVersion(ctx, *env));
    const Json& docs = shown.value("documents", Json::object());
    StepResult result;
    for (const auto& [output, doc] : std::vector<std::pair<std::string, std::string>>{
             {"card_md", "card.md"}, {"card_html", "card.html"}, {"report", "report.html"}}) {
      if (!docs.contains(doc)) {
        return absl::NotFoundError(shown.value("ref", "") + " has no document " + doc);
      }
      std::string path = (std::filesystem::path(ctx.output_dir()) / output).string();
      RETURN_IF_ERROR(env->client->GetArtifact(docs[doc].get<std::string>(), path, nullptr));
      result.outputs[output] = path;
    }
    ctx.Log("model card of " + shown.value("ref", "") + " written");
    result.summary = {{"ref", shown.value("ref", "")}};
    return result;
  };
  // The documents are written again when the version changes state: their digests are part of
  // the cache key, so a cached card is never an old one.
  t.fingerprint = [env](const StepContext& ctx) -> StatusOr<Json> {
    ASSIGN_OR_RETURN(Json shown, ShowInputVersion(ctx, *env));
    return shown.value("documents", Json::object());
  };
  return t;
}

// deploy: the registered version to an environment, once it is approved for it and when the run's
// user is a deployer. A version still awaiting approval, or a run by someone else, is not an error
// of the pipeline: the step says so and succeeds without deploying (a deployer deploys later with
// `plinth deploy`), unless `require_approved` is set.
StepType DeployStep(std::shared_ptr<StepEnvironment> env) {
  StepType t;
  t.name = "deploy";
  t.description =
      "deploys the registered version to an environment when it is approved for it "
      "(docs/deployments.md)";
  t.with = {{"environment", ValueType::kString, true, Json(), "staging or production"},
            {"require_approved", ValueType::kBool, false, false,
             "fail (rather than skip) when the version is not approved for the environment"}};
  t.outputs = {{"deployment", "the deployment (JSON), or {deployed: false, reason}"}};
  t.run = [env](StepContext& ctx) -> StatusOr<StepResult> {
    ASSIGN_OR_RETURN(Json shown, ShowInputVersion(ctx, *env));
    const std::string environment = ctx.with()["environment"].get<std::string>();
    const std::string ref = shown.value("ref", "");
    auto deployed = env->client->Call("deployment.create",
                                      {{"project", env->project},
                                       {"name", shown["name"]},
                                       {"version", std::to_string(shown["version"].get<int64_t>())},
                                       {"environment", environment},
                                       {"reason", "pipeline step " + ctx.step()}});
    Json out;
    if (deployed.ok()) {
      out = *deployed;
      out["deployed"] = true;
      ctx.Log(environment + " now serves " + ref);
    } else if ((absl::IsFailedPrecondition(deployed.status()) ||
                absl::IsPermissionDenied(deployed.status())) &&
               !ctx.with()["require_approved"].get<bool>()) {
      // Not approved yet, or run by someone who does not deploy (a data scientist): the version
      // waits for a deployer, which is the process working as intended.
      out = {{"deployed", false}, {"reason", std::string(deployed.status().message())}};
      ctx.Log("not deployed: " + std::string(deployed.status().message()));
    } else {
      return deployed.status();
    }
    StepResult result;
    ASSIGN_OR_RETURN(result.outputs["deployment"], WriteJsonOutput(ctx, "deployment", out));
    result.summary = {{"ref", ref}, {"environment", environment}, {"deployed", out["deployed"]}};
    return result;
  };
  // Approvals and deployments change outside the pipeline: a deployment is never reused from
  // the cache.
  t.cacheable = false;
  return t;
}

}  // namespace

Status RegisterRegistrySteps(pipeline::StepRegistry* registry,
                             std::shared_ptr<StepEnvironment> env) {
  RETURN_IF_ERROR(registry->Register(RegisterStep(env)));
  RETURN_IF_ERROR(registry->Register(CardStep(env)));
  RETURN_IF_ERROR(registry->Register(DeployStep(env)));
  return absl::OkStatus();
}

}  // namespace plinth
