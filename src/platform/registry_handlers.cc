// The model registry's operations (store migration 8, docs/registry.md):
//   model.register   a version from a pipeline run's model (run_id, step) or imported files,
//                    scanned first, checked as a model package, gated (policy gate "register"),
//                    documented (card, report, lineage) and attested (in-toto + SLSA, DSSE);
//   model.list / show / evidence / history / inventory   for people and policies;
//   model.update     the model's governance metadata (owner, risk tier, intended use, ...);
//   model.alias      champion, challenger, ...;
//   model.verify     every file's digest and every attestation's signature and subject.
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_join.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/sha256.h"
#include "platform/model_registry.h"
#include "platform/platform.h"
#include "registry/attestation.h"
#include "registry/import_scan.h"
#include "registry/xgboost_check.h"
#include "train/model_package.h"

namespace plinth {
namespace {

// The package and evidence a pipeline run's step produced: the step's manifest and model
// outputs, and the outputs of the evaluate, explain and fairness steps that read that manifest
// (found through the lineage edges pipeline.step recorded).
struct RunPackage {
  Json files = Json::object();
  Json evidence = Json::object();
  std::string step;
};

StatusOr<RunPackage> ResolveRunPackage(OpContext& ctx, const Project& p, const std::string& run_id,
                                       const std::string& step) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT s.step, s.outputs_json FROM pipeline_steps s JOIN "
                                "pipeline_runs r ON r.run_id = s.run_id WHERE s.run_id = ? AND "
                                "r.project_id = ? ORDER BY s.started_at",
                                {run_id, p.id}));
  if (r.rows.empty()) {
    return absl::NotFoundError("run '" + run_id.substr(0, 64) +
                               "' is not a pipeline run of project '" + p.name +
                               "' (see plinth pipelines list)");
  }
  std::vector<std::string> candidates;
  Json outputs;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    Json o = Json::parse(r.TextOrEmpty(i, 1), nullptr, false);
    if (!o.is_object() || !o.contains("manifest") || !o.contains("model")) continue;
    candidates.push_back(r.TextOrEmpty(i, 0));
    if (r.TextOrEmpty(i, 0) == step) outputs = o;
  }
  if (candidates.empty()) {
    return absl::NotFoundError("run '" + run_id.substr(0, 64) + "' produced no model package");
  }
  RunPackage out;
  if (step.empty()) {
    if (candidates.size() > 1) {
      return absl::InvalidArgumentError(
          "run '" + run_id.substr(0, 64) +
          "' produced several models; name the step (--step): " + absl::StrJoin(candidates, ", "));
    }
    out.step = candidates[0];
    for (size_t i = 0; i < r.rows.size(); ++i) {
      if (r.TextOrEmpty(i, 0) == out.step) outputs = Json::parse(r.TextOrEmpty(i, 1));
    }
  } else {
    if (outputs.is_null()) {
      return absl::NotFoundError("step '" + step.substr(0, 64) + "' of run '" +
                                 run_id.substr(0, 64) + "' produced no model package; steps " +
                                 "that did: " + absl::StrJoin(candidates, ", "));
    }
    out.step = step;
  }
  const std::string manifest_digest = outputs["manifest"].get<std::string>();
  ASSIGN_OR_RETURN(std::string manifest_bytes, ReadArtifact(ctx, manifest_digest));
  Json manifest = Json::parse(manifest_bytes, nullptr, false);
  std::vector<std::string> model_files;
  if (manifest.is_object() && manifest.value("files", Json()).is_array()) {
    for (const Json& f : manifest["files"]) model_files.push_back(f.value("name", ""));
  }
  if (model_files.size() != 1) {
    return absl::InvalidArgumentError("step '" + out.step + "': its manifest lists " +
                                      std::to_string(model_files.size()) +
                                      " files; a run's package has exactly one model file");
  }
  out.files["manifest.json"] = manifest_digest;
  out.files[model_files[0]] = outputs["model"];

  // Evidence: what the steps that read this manifest produced, the latest of each kind.
  ASSIGN_OR_RETURN(QueryResult readers,
                   ctx.tx.Query("SELECT to_ref, created_at FROM lineage_edges WHERE "
                                "project_id = ? AND from_ref = ? AND relation = 'input' "
                                "ORDER BY created_at",
                                {p.id, "artifact/" + manifest_digest}));
  for (size_t i = 0; i < readers.rows.size(); ++i) {
    const std::string ref = readers.TextOrEmpty(i, 0);
    if (ref.rfind("execution/", 0) != 0) continue;
    std::string rest = ref.substr(10);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    ASSIGN_OR_RETURN(QueryResult s,
                     ctx.tx.Query("SELECT type, outputs_json, state FROM pipeline_steps WHERE "
                                  "run_id = ? AND step = ?",
                                  {rest.substr(0, slash), rest.substr(slash + 1)}));
    if (s.rows.empty()) continue;
    const std::string type = s.TextOrEmpty(0, 0);
    const std::string state = s.TextOrEmpty(0, 2);
    if (state != "succeeded" && state != "cached") continue;
    Json o = Json::parse(s.TextOrEmpty(0, 1), nullptr, false);
    if (!o.is_object()) continue;
    if (type == "evaluate" && o.contains("metrics")) out.evidence["evaluation"] = o["metrics"];
    if (type == "explain" && o.contains("explanations")) {
      out.evidence["explanations"] = o["explanations"];
    }
    if (type == "fairness" && o.contains("fairness")) out.evidence["fairness"] = o["fairness"];
  }
  return out;
}

// A package around a bare XGBoost model file (JSON or UBJSON, as Python's xgboost saves it): its
// inputs are the model's feature names, each a float64 column passed through as is, so the
// version scores exactly as the booster did in Python. A model without feature names cannot say
// which column is which, and is refused.
StatusOr<std::map<std::string, std::string>> PackageForXgboostFile(OpContext& ctx,
                                                                   const std::string& file,
                                                                   const std::string& bytes) {
  ASSIGN_OR_RETURN(Json summary, registry::CheckXgboostModel(bytes));
  Json names = summary.value("feature_names", Json::array());
  if (!names.is_array() || names.empty()) {
    return absl::FailedPreconditionError(
        "file " + file +
        ": the XGBoost model has no feature names, so its inputs cannot be "
        "named; train it on a DataFrame (or set booster.feature_names) and save it again");
  }
  const std::string objective = summary.value("objective", "");
  ModelManifest m;
  m.kind = std::string(kXgboostKind);
  if (objective.rfind("binary:", 0) == 0) {
    m.task = ModelTask::kBinaryClassification;
    m.target = {"target", ColumnType::kInt64, {"0", "1"}, "1"};
  } else if (objective.rfind("reg:", 0) == 0) {
    m.task = ModelTask::kRegression;
    m.target = {"target", ColumnType::kFloat64, {}, ""};
  } else {
    return absl::FailedPreconditionError("file " + file + ": objective '" + objective +
                                         "' is not binary classification or regression");
  }
  Json features = Json::array();
  for (const Json& n : names) {
    m.inputs.push_back({n.get<std::string>(), ColumnType::kFloat64});
    features.push_back({{"column", n}, {"type", "float64"}, {"encoding", "numeric"}});
  }
  ASSIGN_OR_RETURN(
      PreprocessSpec spec,
      PreprocessSpec::FromJson(
          {{"format", PreprocessSpec::kFormat}, {"features", features}, {"outputs", names}}));
  m.preprocess = spec;
  m.outputs = {PrimaryOutput(m.task)};
  m.files = {{file, std::string(kModelRole), "", 0}};
  m.training.summary = {{"imported", true}, {"source_file", file}, {"xgboost", summary}};
  m.created_at = FormatTime(ctx.platform.clock()->NowMicros());
  m.plinth_version = PlinthVersion();
  ASSIGN_OR_RETURN(ModelPackage package, SealModelPackage(m, {{file, bytes}}));
  return PackageFiles(package);
}

Status RequireHeld(OpContext& ctx, const Project& p, const std::string& what, const Json& digest) {
  if (!digest.is_string() || !IsValidDigest(digest.get<std::string>())) {
    return absl::InvalidArgumentError(what + ": expected a sha256:<hex> artifact digest");
  }
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT 1 FROM artifacts WHERE project_id = ? AND digest = ?",
                                {p.id, digest.get<std::string>()}));
  if (r.rows.empty()) {
    return absl::NotFoundError(what + ": artifact " + digest.get<std::string>().substr(0, 80) +
                               " is not stored in project '" + p.name + "'");
  }
  return absl::OkStatus();
}

std::string FirstFinding(const Json& scan) {
  for (const Json& f : scan.value("files", Json::array())) {
    for (const Json& finding : f.value("findings", Json::array())) {
      std::string global = finding.value("global", "");
      return "file " + f.value("name", "") + ": " + finding.value("severity", "") +
             (global.empty() ? "" : " global " + global) + " (" + finding.value("detail", "") + ")";
    }
  }
  return "";
}

Status ValidateTier(int64_t tier) {
  if (tier < 1 || tier > 3) {
    return absl::InvalidArgumentError("risk_tier: expected 1 (high), 2 or 3 (low), got " +
                                      std::to_string(tier));
  }
  return absl::OkStatus();
}

Status ValidateScope(const Json& scope) {
  if (scope.is_null()) return absl::OkStatus();
  for (const Json& s : scope) {
    if (!s.is_string()) return absl::InvalidArgumentError("regulatory_scope: expected strings");
  }
  return absl::OkStatus();
}

// Writes the model's governance metadata from the request (the fields given).
Status UpdateModelFields(OpContext& ctx, const Project& p, RegisteredModel& m, const Json& req) {
  if (req.contains("owner") && req["owner"].is_string()) m.owner = req["owner"];
  if (req.contains("description") && req["description"].is_string()) {
    m.description = req["description"];
  }
  if (req.contains("intended_use") && req["intended_use"].is_string()) {
    m.intended_use = req["intended_use"];
  }
  if (req.contains("limitations") && req["limitations"].is_string()) {
    m.limitations = req["limitations"];
  }
  if (req.contains("risk_tier") && req["risk_tier"].is_number_integer()) {
    RETURN_IF_ERROR(ValidateTier(req["risk_tier"].get<int64_t>()));
    m.risk_tier = req["risk_tier"].get<int64_t>();
  }
  if (req.contains("regulatory_scope") && req["regulatory_scope"].is_array()) {
    RETURN_IF_ERROR(ValidateScope(req["regulatory_scope"]));
    m.regulatory_scope = req["regulatory_scope"];
  }
  m.updated_at = ctx.platform.clock()->NowMicros();
  return ctx.tx.Execute(
      "UPDATE registered_models SET owner = ?, description = ?, risk_tier = ?, "
      "intended_use = ?, limitations = ?, regulatory_scope_json = ?, updated_at = ? WHERE "
      "project_id = ? AND name = ?",
      {m.owner, m.description, m.risk_tier, m.intended_use, m.limitations,
       m.regulatory_scope.dump(), m.updated_at, p.id, m.name});
}

std::vector<registry::Subject> Subjects(const Json& files) {
  std::vector<registry::Subject> out;
  for (const auto& [name, digest] : files.items()) out.push_back({name, digest.get<std::string>()});
  return out;
}

std::vector<registry::DocumentRef> DocumentRefs(const Json& documents) {
  std::vector<registry::DocumentRef> out;
  for (const auto& [name, digest] : documents.items()) {
    std::string media = "text/plain";
    if (name.size() > 5 && name.substr(name.size() - 5) == ".html") media = "text/html";
    if (name.size() > 4 && name.substr(name.size() - 4) == ".svg") media = "image/svg+xml";
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json") media = "application/json";
    if (name.size() > 3 && name.substr(name.size() - 3) == ".md") media = "text/markdown";
    out.push_back({name, digest.get<std::string>(), media});
  }
  return out;
}

StatusOr<Json> ModelRegister(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kModelRegister));
  ctx.audit.project = p.name;
  const std::string name = Str(req, "name");
  RETURN_IF_ERROR(ValidateName("model name", name));
  ctx.audit.resource = "model/" + name;
  const std::string actor = ctx.principal.user.name;

  // 1. What is registered: imported files, or a pipeline run's package.
  Json files = req.contains("files") && req["files"].is_object() ? req["files"] : Json::object();
  Json evidence_refs = Json::object();
  std::string run_id = Str(req, "run_id");
  std::string step = Str(req, "step");
  std::string source = run_id.empty() ? "files" : "run";
  if (files.empty()) {
    if (run_id.empty()) {
      return absl::InvalidArgumentError(
          "model.register needs files (an imported package: name -> artifact digest) or run_id "
          "(and step) of a pipeline run");
    }
    ASSIGN_OR_RETURN(RunPackage resolved, ResolveRunPackage(ctx, p, run_id, step));
    files = resolved.files;
    evidence_refs = resolved.evidence;
    step = resolved.step;
  }
  if (req.contains("evidence") && req["evidence"].is_object()) {
    for (const auto& [k, v] : req["evidence"].items()) {
      if (k != "evaluation" && k != "explanations" && k != "fairness") {
        return absl::InvalidArgumentError("evidence." + k.substr(0, 64) +
                                          ": expected evaluation, explanations or fairness");
      }
      evidence_refs[k] = v;
    }
  }
  for (const auto& [k, v] : evidence_refs.items()) {
    RETURN_IF_ERROR(RequireHeld(ctx, p, "evidence." + k, v));
  }
  std::map<std::string, std::string> bytes;
  for (const auto& [file, digest] : files.items()) {
    RETURN_IF_ERROR(RequireHeld(ctx, p, "files." + file.substr(0, 64), digest));
    ASSIGN_OR_RETURN(bytes[file], ReadArtifact(ctx, digest.get<std::string>()));
  }

  // 2. The scan comes before anything reads the files as a model.
  registry::ScanResult scan = registry::ScanFiles(bytes, registry::DefaultScanAllowlist());
  Json scan_json = scan.ToJson();
  ctx.audit.details["scan"] = scan_json;
  if (!scan.clean) {
    return absl::FailedPreconditionError(
        "import scan refused the files: " + FirstFinding(scan_json) +
        "; nothing was registered (docs/import-scanning.md)");
  }
  if (bytes.count(std::string(kManifestFileName)) == 0 && bytes.size() == 1 &&
      registry::LooksLikeXgboostModel(bytes.begin()->second)) {
    ASSIGN_OR_RETURN(bytes,
                     PackageForXgboostFile(ctx, bytes.begin()->first, bytes.begin()->second));
    ASSIGN_OR_RETURN(std::string manifest_digest,
                     StoreArtifact(ctx, p, bytes[std::string(kManifestFileName)]));
    files[std::string(kManifestFileName)] = manifest_digest;
  }
  if (bytes.count(std::string(kManifestFileName)) == 0) {
    return absl::FailedPreconditionError(
        "the files hold no manifest.json: only model packages (docs/formats/model.md) or a "
        "single XGBoost model file can be registered; they passed the import scan, but a "
        "pickled model cannot be scored here: save the booster as XGBoost JSON "
        "(booster.save_model('model.json')) and import that");
  }
  const std::string digest = Sha256Digest(bytes[std::string(kManifestFileName)]);
  ASSIGN_OR_RETURN(ModelPackage package, ParseModelPackage(bytes));
  Json manifest_json = package.manifest.ToJson();

  // 3. Authorship: the registrant and, for a run, its owner.
  std::string author = actor;
  if (!run_id.empty()) {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT r.created_by FROM runs r JOIN experiments e ON "
                                  "e.id = r.experiment_id WHERE r.id = ? AND e.project_id = ?",
                                  {run_id, p.id}));
    if (r.rows.empty()) {
      return absl::NotFoundError("run '" + run_id.substr(0, 64) + "' is not in project '" + p.name +
                                 "'");
    }
    author = r.TextOrEmpty(0, 0);
  }

  // 4. The registered model (created on first registration).
  const int64_t now = ctx.platform.clock()->NowMicros();
  RegisteredModel model;
  auto existing_model = FindModel(ctx, p, name);
  if (existing_model.ok()) {
    model = *existing_model;
  } else if (absl::IsNotFound(existing_model.status())) {
    model.name = name;
    model.owner = actor;
    model.created_by = actor;
    model.created_at = now;
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO registered_models (project_id, name, owner, description, risk_tier, "
        "intended_use, limitations, regulatory_scope_json, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, '', 2, '', '', '[]', ?, ?, ?)",
        {p.id, name, actor, actor, now, now}));
  } else {
    return existing_model.status();
  }
  RETURN_IF_ERROR(UpdateModelFields(ctx, p, model, req));

  // The same package again is the same version.
  {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT version FROM model_versions WHERE project_id = ? AND "
                                  "name = ? AND digest = ?",
                                  {p.id, name, digest}));
    if (!r.rows.empty()) {
      ASSIGN_OR_RETURN(ModelVersionRow v,
                       FindModelVersion(ctx, p, name, std::to_string(r.IntOrZero(0, 0))));
      ctx.audit.resource = "model_version/" + v.Ref();
      ctx.audit.details["existing"] = true;
      Json out = v.ToJson();
      out["created"] = false;
      out["model"] = model.ToJson();
      return out;
    }
  }
  ASSIGN_OR_RETURN(QueryResult mx, ctx.tx.Query("SELECT MAX(version) FROM model_versions WHERE "
                                                "project_id = ? AND name = ?",
                                                {p.id, name}));
  // The monitoring baseline: the training data's distributions and scores (docs/monitoring.md).
  ASSIGN_OR_RETURN(std::string baseline, ComputeAndStoreBaseline(ctx, p, package));
  if (!baseline.empty()) evidence_refs["baseline"] = baseline;
  ModelVersionRow v;
  v.name = name;
  v.version = mx.IntOrZero(0, 0) + 1;
  v.digest = digest;
  v.kind = package.manifest.kind;
  v.source = source;
  v.run_id = run_id;
  v.author = author;
  v.registered_by = actor;
  v.created_at = now;
  v.stage = kStageNone;
  v.files = files;
  v.manifest = manifest_json;
  v.evidence = evidence_refs;
  v.scan = scan_json;
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO model_versions (project_id, name, version, digest, kind, source, run_id, "
      "author, registered_by, created_at, stage, files_json, manifest_json, evidence_json, "
      "scan_json, documents_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')",
      {p.id, name, v.version, v.digest, v.kind, v.source, v.run_id, v.author, v.registered_by, now,
       v.stage, files.dump(), manifest_json.dump(), evidence_refs.dump(), scan_json.dump()}));
  ctx.audit.resource = "model_version/" + v.Ref();

  // 5. Lineage: the package's manifest and the run point at the version.
  auto edge = [&](const std::string& from, const std::string& relation) {
    return ctx.tx.Execute(
        "INSERT INTO lineage_edges (project_id, from_ref, to_ref, relation, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        {p.id, from, "model_version/" + v.Ref(), relation, now});
  };
  RETURN_IF_ERROR(edge("artifact/" + files[std::string(kManifestFileName)].get<std::string>(),
                       "registered_as"));
  if (!run_id.empty()) RETURN_IF_ERROR(edge("run/" + run_id, "produced"));

  // 6. The register gate.
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, p, model, v));
  ASSIGN_OR_RETURN(Json gate, CheckGate(ctx, p, model, v, evidence, "register"));
  if (!gate["passed"].get<bool>()) {
    ctx.audit.details["gate"] = gate;
    return absl::FailedPreconditionError("policy gate 'register' refused " + v.Ref() + ": " +
                                         BlockingFailures(gate));
  }
  ASSIGN_OR_RETURN(evidence, BuildEvidence(ctx, p, model, v));

  // 7. Documents, then the provenance attestation that references them.
  ASSIGN_OR_RETURN(Json documents, WriteDocuments(ctx, p, v, evidence));
  registry::ProvenanceInputs in;
  in.model = {p.name, name, v.version, v.digest};
  in.files = Subjects(files);
  const Json& lineage = evidence["lineage"];
  in.pipeline = lineage.value("pipeline", "");
  in.spec_digest = lineage.value("spec_digest", "");
  in.parameters = lineage.value("parameters", Json::object());
  if (!in.parameters.is_object()) in.parameters = Json::object();
  in.run_id = run_id;
  in.step = step.empty() ? lineage.value("step", "") : step;
  for (const Json& d : lineage["datasets"]) {
    in.datasets.push_back({d.value("name", ""), d.value("version", ""), d.value("digest", "")});
  }
  for (const Json& f : lineage["feature_definitions"]) {
    in.feature_definitions.push_back({f.value("name", ""), f.value("digest", "")});
  }
  in.environment = lineage.value("environment", "");
  in.builder_id = "https://plinth.dev/platform/" + ctx.platform.signing_key().KeyId();
  in.started_at = lineage.value("started_at", Json()).is_string()
                      ? lineage["started_at"].get<std::string>()
                      : FormatTime(now);
  in.finished_at = FormatTime(now);
  in.registered_by = actor;
  in.documents = DocumentRefs(documents);
  ASSIGN_OR_RETURN(
      std::string attestation,
      StoreAttestation(ctx, p, v, registry::ProvenanceStatement(in),
                       std::string(registry::kProvenancePredicateType), "registration"));
  ctx.audit.details = {{"digest", v.digest},        {"version", v.version}, {"source", source},
                       {"run_id", run_id},          {"step", in.step},      {"scan_clean", true},
                       {"attestation", attestation}};
  Json out = v.ToJson();
  out["created"] = true;
  out["attestation"] = attestation;
  out["model"] = model.ToJson();
  out["gate"] = gate;
  return out;
}

StatusOr<Json> ModelUpdate(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kModelRegister));
  ctx.audit.project = p.name;
  ctx.audit.resource = "model/" + Str(req, "name").substr(0, 64);
  ASSIGN_OR_RETURN(RegisteredModel m, FindModel(ctx, p, Str(req, "name")));
  Json before = m.ToJson();
  RETURN_IF_ERROR(UpdateModelFields(ctx, p, m, req));
  Json after = m.ToJson();
  Json changed = Json::object();
  for (const auto& [k, v] : after.items()) {
    if (k != "updated_at" && before[k] != v) changed[k] = {{"from", before[k]}, {"to", v}};
  }
  ctx.audit.details = {{"changed", changed}};
  return after;
}

Json AliasesOf(OpContext& ctx, const Project& p, const std::string& name, int64_t version) {
  auto r = ctx.tx.Query(
      "SELECT alias FROM model_aliases WHERE project_id = ? AND name = ? AND "
      "version = ? ORDER BY alias",
      {p.id, name, version});
  Json out = Json::array();
  if (r.ok()) {
    for (size_t i = 0; i < r->rows.size(); ++i) out.push_back(r->TextOrEmpty(i, 0));
  }
  return out;
}

StatusOr<Json> ModelList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT name FROM registered_models WHERE "
                                               "project_id = ? ORDER BY name",
                                               {p.id}));
  Json models = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const std::string name = r.TextOrEmpty(i, 0);
    ASSIGN_OR_RETURN(RegisteredModel m, FindModel(ctx, p, name));
    ASSIGN_OR_RETURN(std::vector<ModelVersionRow> versions, ListModelVersions(ctx, p, name));
    Json row = m.ToJson();
    row["versions"] = versions.size();
    row["latest"] = versions.empty() ? Json() : Json(versions.back().version);
    row["staging"] = nullptr;
    row["production"] = nullptr;
    for (const auto& v : versions) {
      if (v.stage == kStageStaging) row["staging"] = v.version;
      if (v.stage == kStageProduction) row["production"] = v.version;
    }
    ASSIGN_OR_RETURN(QueryResult a, ctx.tx.Query("SELECT alias, version FROM model_aliases WHERE "
                                                 "project_id = ? AND name = ? ORDER BY alias",
                                                 {p.id, name}));
    Json aliases = Json::object();
    for (size_t k = 0; k < a.rows.size(); ++k) aliases[a.TextOrEmpty(k, 0)] = a.IntOrZero(k, 1);
    row["aliases"] = aliases;
    models.push_back(row);
  }
  return Json{{"project", p.name}, {"models", models}};
}

StatusOr<Json> AttestationsOf(OpContext& ctx, const Project& p, const ModelVersionRow& v) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT digest, predicate_type, subject, created_at FROM "
                                "model_attestations WHERE project_id = ? AND name = ? AND "
                                "version = ? ORDER BY created_at, digest",
                                {p.id, v.name, v.version}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({{"digest", r.TextOrEmpty(i, 0)},
                   {"predicate_type", r.TextOrEmpty(i, 1)},
                   {"subject", r.TextOrEmpty(i, 2)},
                   {"created_at", FormatTime(r.IntOrZero(i, 3))}});
  }
  return out;
}

StatusOr<Json> RequestsOf(OpContext& ctx, const Project& p, const ModelVersionRow& v) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT id, stage, requested_by, requested_at, state, reason "
                                "FROM approval_requests WHERE project_id = ? AND name = ? AND "
                                "version = ? ORDER BY requested_at",
                                {p.id, v.name, v.version}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({{"id", r.TextOrEmpty(i, 0)},
                   {"stage", r.TextOrEmpty(i, 1)},
                   {"requested_by", r.TextOrEmpty(i, 2)},
                   {"requested_at", FormatTime(r.IntOrZero(i, 3))},
                   {"state", r.TextOrEmpty(i, 4)},
                   {"reason", r.TextOrEmpty(i, 5)}});
  }
  return out;
}

StatusOr<Json> ModelShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  Json out = vp.version.ToJson();
  out["project"] = vp.project.name;
  out["model"] = vp.model.ToJson();
  out["aliases"] = AliasesOf(ctx, vp.project, vp.version.name, vp.version.version);
  out["manifest"] = vp.version.manifest;
  ASSIGN_OR_RETURN(out["attestations"], AttestationsOf(ctx, vp.project, vp.version));
  ASSIGN_OR_RETURN(out["approval_requests"], RequestsOf(ctx, vp.project, vp.version));
  ASSIGN_OR_RETURN(std::vector<ModelVersionRow> versions,
                   ListModelVersions(ctx, vp.project, vp.version.name));
  Json all = Json::array();
  for (const auto& v : versions) {
    all.push_back({{"version", v.version},
                   {"stage", v.stage},
                   {"kind", v.kind},
                   {"digest", v.digest},
                   {"registered_by", v.registered_by},
                   {"created_at", FormatTime(v.created_at)}});
  }
  out["versions"] = all;
  return out;
}

StatusOr<Json> ModelEvidence(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  return BuildEvidence(ctx, vp.project, vp.model, vp.version);
}

StatusOr<Json> ModelHistory(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  const std::string name = Str(req, "name");
  RETURN_IF_ERROR(FindModel(ctx, p, name).status());
  std::optional<int64_t> at;
  if (!Str(req, "at").empty()) {
    at = ParseTime(Str(req, "at"));
    if (!at) {
      return absl::InvalidArgumentError(
          "at: expected an RFC 3339 time such as "
          "2026-11-26T12:00:00Z, got '" +
          Str(req, "at").substr(0, 64) + "'");
    }
  }
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT version, from_stage, to_stage, at, by_user, request_id, "
                                "attestation_digest FROM model_stage_history WHERE "
                                "project_id = ? AND name = ? ORDER BY at, id",
                                {p.id, name}));
  Json events = Json::array();
  // Replaying the history up to `at` gives the stage of every version then.
  std::map<int64_t, std::string> stage_at;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const int64_t when = r.IntOrZero(i, 3);
    events.push_back({{"version", r.IntOrZero(i, 0)},
                      {"from", r.TextOrEmpty(i, 1)},
                      {"to", r.TextOrEmpty(i, 2)},
                      {"at", FormatTime(when)},
                      {"by", r.TextOrEmpty(i, 4)},
                      {"request_id", r.TextOrEmpty(i, 5)},
                      {"attestation", r.TextOrEmpty(i, 6)}});
    if (!at || when <= *at) stage_at[r.IntOrZero(i, 0)] = r.TextOrEmpty(i, 2);
  }
  Json out = {{"project", p.name}, {"name", name}, {"events", events}};
  // What served when: every deployment change, in order (deployment_handlers.cc).
  ASSIGN_OR_RETURN(QueryResult dr,
                   ctx.tx.Query("SELECT environment, action, version, canary_version, "
                                "canary_percent, shadow_version, state, at, by_user, reason FROM "
                                "deployment_history WHERE project_id = ? AND name = ? ORDER BY "
                                "at, id",
                                {p.id, name}));
  Json deployments = Json::array();
  std::map<std::string, Json> serving_at;  // environment -> what served at `at`
  for (size_t i = 0; i < dr.rows.size(); ++i) {
    Json e = {{"environment", dr.TextOrEmpty(i, 0)},  {"action", dr.TextOrEmpty(i, 1)},
              {"version", dr.IntOrZero(i, 2)},        {"canary_version", dr.IntOrZero(i, 3)},
              {"canary_percent", dr.IntOrZero(i, 4)}, {"shadow_version", dr.IntOrZero(i, 5)},
              {"state", dr.TextOrEmpty(i, 6)},        {"at", FormatTime(dr.IntOrZero(i, 7))},
              {"by", dr.TextOrEmpty(i, 8)},           {"reason", dr.TextOrEmpty(i, 9)}};
    if (!at || dr.IntOrZero(i, 7) <= *at) serving_at[dr.TextOrEmpty(i, 0)] = e;
    deployments.push_back(std::move(e));
  }
  out["deployments"] = deployments;
  if (at) {
    Json serving = Json::object();
    for (const auto& [env, e] : serving_at) {
      serving[env] = e["state"] == "active" ? Json{{"version", e["version"]},
                                                   {"canary_version", e["canary_version"]},
                                                   {"canary_percent", e["canary_percent"]}}
                                            : Json(nullptr);
    }
    out["serving_at"] = serving;
  }
  if (at) {
    Json in_stage = {{"staging", Json::array()}, {"production", Json::array()}};
    for (const auto& [version, stage] : stage_at) {
      if (stage == kStageStaging || stage == kStageProduction) in_stage[stage].push_back(version);
    }
    out["at"] = FormatTime(*at);
    out["stages_at"] = in_stage;
  }
  return out;
}

bool ReservedAlias(const std::string& alias) {
  if (alias == "latest" || alias == kStageNone || alias == kStageStaging ||
      alias == kStageProduction || alias == kStageArchived) {
    return true;
  }
  return !alias.empty() &&
         std::all_of(alias.begin(), alias.end(), [](char c) { return c >= '0' && c <= '9'; });
}

StatusOr<Json> ModelAlias(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelRegister));
  const std::string alias = Str(req, "alias");
  RETURN_IF_ERROR(ValidateName("alias", alias));
  if (ReservedAlias(alias)) {
    return absl::InvalidArgumentError("alias '" + alias +
                                      "' is reserved (a number, latest or a stage name)");
  }
  ASSIGN_OR_RETURN(QueryResult before, ctx.tx.Query("SELECT version FROM model_aliases WHERE "
                                                    "project_id = ? AND name = ? AND alias = ?",
                                                    {vp.project.id, vp.version.name, alias}));
  RETURN_IF_ERROR(
      ctx.tx.Execute("DELETE FROM model_aliases WHERE project_id = ? AND name = ? AND alias = ?",
                     {vp.project.id, vp.version.name, alias}));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO model_aliases (project_id, name, alias, version, set_by, set_at) VALUES "
      "(?, ?, ?, ?, ?, ?)",
      {vp.project.id, vp.version.name, alias, vp.version.version, ctx.principal.user.name,
       ctx.platform.clock()->NowMicros()}));
  Json previous = before.rows.empty() ? Json() : Json(before.IntOrZero(0, 0));
  ctx.audit.details = {{"alias", alias}, {"version", vp.version.version}, {"previous", previous}};
  return Json{{"name", vp.version.name},
              {"alias", alias},
              {"version", vp.version.version},
              {"previous", previous}};
}

// Trusted keys: the platform's own, and any public keys (hex) in HOME/keys/trusted/*.pub, so
// attestations signed before a key rotation still verify.
std::vector<registry::TrustedKey> TrustedKeys(OpContext& ctx) {
  std::vector<registry::TrustedKey> keys;
  const SigningKey& key = ctx.platform.signing_key();
  keys.push_back({key.KeyId(), key.public_key()});
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(ctx.platform.home().dir) / "keys" / "trusted";
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".pub") continue;
    std::ifstream in(entry.path());
    std::string hex;
    in >> hex;
    if (hex.size() != 64) continue;
    std::string raw;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    keys.push_back({hex, raw});
  }
  return keys;
}

StatusOr<Json> ModelVerify(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kProjectRead));
  return VerifyVersion(ctx, vp.project, vp.version);
}

StatusOr<Json> ModelInventory(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(QueryResult projects, ctx.tx.Query("SELECT id, name FROM projects ORDER BY "
                                                      "name"));
  const std::string only = Str(req, "project");
  Json rows = Json::array();
  for (size_t i = 0; i < projects.rows.size(); ++i) {
    const std::string id = projects.TextOrEmpty(i, 0);
    if (!ctx.principal.HasAnyRoleOn(id)) continue;
    if (!only.empty() && projects.TextOrEmpty(i, 1) != only) continue;
    Project p{id, projects.TextOrEmpty(i, 1), 0, ""};
    ASSIGN_OR_RETURN(QueryResult models, ctx.tx.Query("SELECT name FROM registered_models WHERE "
                                                      "project_id = ? ORDER BY name",
                                                      {id}));
    for (size_t k = 0; k < models.rows.size(); ++k) {
      ASSIGN_OR_RETURN(RegisteredModel m, FindModel(ctx, p, models.TextOrEmpty(k, 0)));
      ASSIGN_OR_RETURN(std::vector<ModelVersionRow> versions, ListModelVersions(ctx, p, m.name));
      for (const auto& v : versions) {
        ASSIGN_OR_RETURN(QueryResult val,
                         ctx.tx.Query("SELECT MAX(d.at) FROM approval_decisions d JOIN "
                                      "approval_requests r ON r.id = d.request_id WHERE "
                                      "r.project_id = ? AND r.name = ? AND r.version = ? AND "
                                      "d.decision = 'validate'",
                                      {id, v.name, v.version}));
        ASSIGN_OR_RETURN(QueryResult open,
                         ctx.tx.Query("SELECT COUNT(*) FROM approval_requests WHERE "
                                      "project_id = ? AND name = ? AND version = ? AND "
                                      "state = 'open'",
                                      {id, v.name, v.version}));
        // Open findings: blocking rules failed in the latest decision of each gate.
        ASSIGN_OR_RETURN(QueryResult dec,
                         ctx.tx.Query("SELECT gate, decision_json FROM policy_decisions WHERE "
                                      "project_id = ? AND name = ? AND version = ? ORDER BY at",
                                      {id, v.name, v.version}));
        std::map<std::string, Json> latest;
        for (size_t d = 0; d < dec.rows.size(); ++d) {
          latest[dec.TextOrEmpty(d, 0)] = Json::parse(dec.TextOrEmpty(d, 1), nullptr, false);
        }
        int64_t findings = 0;
        for (const auto& [gate, decision] : latest) {
          if (!decision.is_object()) continue;
          for (const Json& d : decision.value("decisions", Json::array())) {
            for (const Json& r : d.value("results", Json::array())) {
              if (!r.value("passed", false) && r.value("blocking", true)) ++findings;
            }
          }
        }
        int64_t last_validation = val.IntOrZero(0, 0);
        rows.push_back(
            {{"project", p.name},
             {"name", v.name},
             {"version", v.version},
             {"stage", v.stage},
             {"risk_tier", m.risk_tier},
             {"owner", m.owner},
             {"kind", v.kind},
             {"aliases", AliasesOf(ctx, p, v.name, v.version)},
             {"last_validation", last_validation > 0 ? Json(FormatTime(last_validation)) : Json()},
             {"open_requests", open.IntOrZero(0, 0)},
             {"open_findings", findings + open.IntOrZero(0, 0)},
             {"registered_at", FormatTime(v.created_at)}});
      }
    }
  }
  return Json{{"rows", rows}};
}

}  // namespace

void AddRegistryHandlers(HandlerMap* handlers) {
  (*handlers)["model.register"] = ModelRegister;
  (*handlers)["model.update"] = ModelUpdate;
  (*handlers)["model.list"] = ModelList;
  (*handlers)["model.show"] = ModelShow;
  (*handlers)["model.evidence"] = ModelEvidence;
  (*handlers)["model.history"] = ModelHistory;
  (*handlers)["model.alias"] = ModelAlias;
  (*handlers)["model.verify"] = ModelVerify;
  (*handlers)["model.inventory"] = ModelInventory;
}

StatusOr<Json> VerifyVersion(OpContext& ctx, const Project& project, const ModelVersionRow& v) {
  // The package as stored now, every byte re-hashed.
  std::map<std::string, std::string> files;
  for (const auto& [name, digest] : v.files.items()) {
    std::string bytes;
    Status s = ctx.platform.artifacts().Get(digest.get<std::string>(), StringSink(&bytes));
    if (absl::IsNotFound(s)) {
      return absl::DataLossError(v.Ref() + ": file " + name + " is missing from the artifact " +
                                 "store (" + digest.get<std::string>().substr(0, 80) + ")");
    }
    if (!s.ok()) {
      return absl::DataLossError(v.Ref() + ": file " + name + ": " + std::string(s.message()));
    }
    files[name] = Sha256Digest(bytes);
  }
  auto manifest = files.find(std::string(kManifestFileName));
  if (manifest == files.end() || manifest->second != v.digest) {
    return absl::DataLossError(v.Ref() + ": manifest.json does not match the version's digest " +
                               v.digest);
  }
  ASSIGN_OR_RETURN(Json attestations, AttestationsOf(ctx, project, v));
  bool provenance = false;
  std::vector<registry::TrustedKey> trusted = TrustedKeys(ctx);
  Json checked = Json::array();
  for (const Json& a : attestations) {
    const std::string digest = a["digest"].get<std::string>();
    const std::string type = a["predicate_type"].get<std::string>();
    std::string bytes;
    Status s = ctx.platform.artifacts().Get(digest, StringSink(&bytes));
    if (!s.ok()) {
      return absl::DataLossError(v.Ref() + ": attestation " + digest.substr(0, 80) + ": " +
                                 std::string(s.message()));
    }
    Json envelope = Json::parse(bytes, nullptr, false);
    registry::VerifyExpectation expect;
    expect.predicate_type = type;
    expect.model = {project.name, v.name, v.version, v.digest};
    expect.files = files;
    auto verified = registry::VerifyEnvelope(envelope, trusted, expect);
    if (!verified.ok()) {
      return absl::DataLossError(v.Ref() + ": attestation " + digest.substr(0, 19) + " (" +
                                 a["subject"].get<std::string>() +
                                 "): " + std::string(verified.status().message()));
    }
    if (type == registry::kProvenancePredicateType) provenance = true;
    checked.push_back({{"digest", digest}, {"predicate_type", type}, {"subject", a["subject"]}});
  }
  if (!provenance) {
    return absl::DataLossError(v.Ref() + " has no provenance attestation: it cannot be trusted");
  }
  return Json{{"ref", v.Ref()},
              {"project", project.name},
              {"verified", true},
              {"digest", v.digest},
              {"files", files.size()},
              {"attestations", checked},
              {"key_id", ctx.platform.signing_key().KeyId()}};
}

}  // namespace plinth
