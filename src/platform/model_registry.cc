#include "platform/model_registry.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_join.h"
#include "blob/artifact_store.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "platform/dataset_access.h"
#include "platform/platform.h"
#include "registry/attestation.h"
#include "report/report.h"

namespace plinth {
namespace {

constexpr const char* kModelColumns =
    "name, owner, description, risk_tier, intended_use, limitations, regulatory_scope_json, "
    "created_by, created_at, updated_at";
constexpr const char* kVersionColumns =
    "name, version, digest, kind, source, run_id, author, registered_by, created_at, stage, "
    "files_json, manifest_json, evidence_json, scan_json, documents_json";

Json ParseStored(const std::string& text) {
  Json out = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return out.is_discarded() ? Json() : out;
}

RegisteredModel ModelAt(const QueryResult& r, size_t i) {
  RegisteredModel m;
  m.name = r.TextOrEmpty(i, 0);
  m.owner = r.TextOrEmpty(i, 1);
  m.description = r.TextOrEmpty(i, 2);
  m.risk_tier = r.IntOrZero(i, 3);
  m.intended_use = r.TextOrEmpty(i, 4);
  m.limitations = r.TextOrEmpty(i, 5);
  m.regulatory_scope = ParseStored(r.TextOrEmpty(i, 6));
  if (!m.regulatory_scope.is_array()) m.regulatory_scope = Json::array();
  m.created_by = r.TextOrEmpty(i, 7);
  m.created_at = r.IntOrZero(i, 8);
  m.updated_at = r.IntOrZero(i, 9);
  return m;
}

ModelVersionRow VersionAt(const QueryResult& r, size_t i) {
  ModelVersionRow v;
  v.name = r.TextOrEmpty(i, 0);
  v.version = r.IntOrZero(i, 1);
  v.digest = r.TextOrEmpty(i, 2);
  v.kind = r.TextOrEmpty(i, 3);
  v.source = r.TextOrEmpty(i, 4);
  v.run_id = r.TextOrEmpty(i, 5);
  v.author = r.TextOrEmpty(i, 6);
  v.registered_by = r.TextOrEmpty(i, 7);
  v.created_at = r.IntOrZero(i, 8);
  v.stage = r.TextOrEmpty(i, 9);
  v.files = ParseStored(r.TextOrEmpty(i, 10));
  v.manifest = ParseStored(r.TextOrEmpty(i, 11));
  v.evidence = ParseStored(r.TextOrEmpty(i, 12));
  v.scan = ParseStored(r.TextOrEmpty(i, 13));
  v.documents = ParseStored(r.TextOrEmpty(i, 14));
  if (!v.documents.is_object()) v.documents = Json::object();
  if (!v.evidence.is_object()) v.evidence = Json::object();
  return v;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() < 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// JSON of an artifact, or null when the digest is empty or the bytes are not JSON.
StatusOr<Json> ArtifactJson(OpContext& ctx, const Json& digest) {
  if (!digest.is_string() || digest.get<std::string>().empty()) return Json();
  ASSIGN_OR_RETURN(std::string bytes, ReadArtifact(ctx, digest.get<std::string>()));
  Json out = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  return out.is_discarded() ? Json() : out;
}

Json TimeText(int64_t micros) { return micros > 0 ? Json(FormatTime(micros)) : Json(); }

}  // namespace

bool IsTargetStage(const std::string& stage) {
  return stage == kStageStaging || stage == kStageProduction || stage == kStageArchived;
}

Json RegisteredModel::ToJson() const {
  return {{"name", name},
          {"owner", owner},
          {"description", description},
          {"risk_tier", risk_tier},
          {"intended_use", intended_use},
          {"limitations", limitations},
          {"regulatory_scope", regulatory_scope},
          {"created_by", created_by},
          {"created_at", TimeText(created_at)},
          {"updated_at", TimeText(updated_at)}};
}

std::vector<std::string> ModelVersionRow::Authors() const {
  std::vector<std::string> out = {registered_by};
  if (!author.empty() && author != registered_by) out.push_back(author);
  return out;
}

Json ModelVersionRow::ToJson() const {
  return {{"name", name},
          {"version", version},
          {"ref", Ref()},
          {"digest", digest},
          {"kind", kind},
          {"source", source},
          {"run_id", run_id},
          {"author", author},
          {"registered_by", registered_by},
          {"created_at", TimeText(created_at)},
          {"stage", stage},
          {"files", files},
          {"evidence", evidence},
          {"scan", scan},
          {"documents", documents}};
}

StatusOr<RegisteredModel> FindModel(OpContext& ctx, const Project& p, const std::string& name) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query(std::string("SELECT ") + kModelColumns +
                                    " FROM registered_models WHERE project_id = ? AND name = ?",
                                {p.id, name}));
  if (r.rows.empty()) {
    return absl::NotFoundError("model '" + name.substr(0, 64) + "' is not registered in project '" +
                               p.name + "' (see plinth models list)");
  }
  return ModelAt(r, 0);
}

StatusOr<std::vector<ModelVersionRow>> ListModelVersions(OpContext& ctx, const Project& p,
                                                         const std::string& name) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query(std::string("SELECT ") + kVersionColumns +
                                    " FROM model_versions WHERE project_id = ? AND name = ? "
                                    "ORDER BY version",
                                {p.id, name}));
  std::vector<ModelVersionRow> out;
  for (size_t i = 0; i < r.rows.size(); ++i) out.push_back(VersionAt(r, i));
  return out;
}

StatusOr<ModelVersionRow> FindModelVersion(OpContext& ctx, const Project& p,
                                           const std::string& name, const std::string& ref) {
  const std::string select = std::string("SELECT ") + kVersionColumns + " FROM model_versions ";
  QueryResult r;
  std::string what;
  if (ref.empty() || ref == "latest") {
    ASSIGN_OR_RETURN(r, ctx.tx.Query(select + "WHERE project_id = ? AND name = ? ORDER BY "
                                              "version DESC LIMIT 1",
                                     {p.id, name}));
    what = "no versions";
  } else if (AllDigits(ref)) {
    ASSIGN_OR_RETURN(r, ctx.tx.Query(select + "WHERE project_id = ? AND name = ? AND version = ?",
                                     {p.id, name, static_cast<int64_t>(std::stoll(ref))}));
    what = "no version " + ref;
  } else if (ref == kStageStaging || ref == kStageProduction) {
    ASSIGN_OR_RETURN(r, ctx.tx.Query(select + "WHERE project_id = ? AND name = ? AND stage = ? "
                                              "ORDER BY version DESC LIMIT 1",
                                     {p.id, name, ref}));
    what = "no version in " + ref;
  } else {
    ASSIGN_OR_RETURN(QueryResult a, ctx.tx.Query("SELECT version FROM model_aliases WHERE "
                                                 "project_id = ? AND name = ? AND alias = ?",
                                                 {p.id, name, ref}));
    if (a.rows.empty()) {
      return absl::NotFoundError("model '" + name.substr(0, 64) + "' has no version or alias '" +
                                 ref.substr(0, 64) + "' (a version number, an alias, staging, " +
                                 "production or latest)");
    }
    ASSIGN_OR_RETURN(r, ctx.tx.Query(select + "WHERE project_id = ? AND name = ? AND version = ?",
                                     {p.id, name, a.IntOrZero(0, 0)}));
    what = "no version behind alias " + ref;
  }
  if (r.rows.empty()) {
    RETURN_IF_ERROR(FindModel(ctx, p, name).status());
    return absl::NotFoundError("model '" + name.substr(0, 64) + "' has " + what.substr(0, 80));
  }
  return VersionAt(r, 0);
}

StatusOr<VersionInProject> AuthorizeVersion(OpContext& ctx, const Json& req,
                                            Permission permission) {
  ASSIGN_OR_RETURN(Project p, AuthorizeProject(ctx.tx, ctx.identity, ctx.principal,
                                               ctx.audit.action, Str(req, "project"), permission));
  ctx.audit.project = p.name;
  const std::string name = Str(req, "name");
  ctx.audit.resource = "model/" + name.substr(0, 64);
  ASSIGN_OR_RETURN(RegisteredModel model, FindModel(ctx, p, name));
  ASSIGN_OR_RETURN(ModelVersionRow version, FindModelVersion(ctx, p, name, Str(req, "version")));
  ctx.audit.resource = "model_version/" + version.Ref();
  return VersionInProject{std::move(p), std::move(model), std::move(version)};
}

StatusOr<std::string> StoreArtifact(OpContext& ctx, const Project& p, const std::string& bytes) {
  ASSIGN_OR_RETURN(ArtifactInfo info, ctx.platform.artifacts().Put(StringSource(&bytes)));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO artifacts (project_id, digest, size, created_at, created_by) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {p.id, info.digest, info.size, ctx.platform.clock()->NowMicros(), ctx.principal.user.name}));
  return info.digest;
}

StatusOr<std::string> ReadArtifact(OpContext& ctx, const std::string& digest) {
  std::string out;
  Status s = ctx.platform.artifacts().Get(digest, StringSink(&out));
  if (!s.ok()) {
    return Status(s.code(), "artifact " + digest.substr(0, 80) + ": " + std::string(s.message()));
  }
  return out;
}

StatusOr<Json> BuildEvidence(OpContext& ctx, const Project& p, const RegisteredModel& model,
                             const ModelVersionRow& v) {
  Json e = Json::object();
  Json aliases = Json::array();
  {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT alias FROM model_aliases WHERE project_id = ? AND "
                                  "name = ? AND version = ? ORDER BY alias",
                                  {p.id, v.name, v.version}));
    for (size_t i = 0; i < r.rows.size(); ++i) aliases.push_back(r.TextOrEmpty(i, 0));
  }
  const Json& m = v.manifest;
  e["model"] = {{"project", p.name},
                {"name", v.name},
                {"version", v.version},
                {"digest", v.digest},
                {"kind", v.kind},
                {"task", m.value("task", "")},
                {"stage", v.stage},
                {"aliases", aliases},
                {"risk_tier", model.risk_tier},
                {"owner", model.owner},
                {"description", model.description},
                {"intended_use", model.intended_use},
                {"limitations", model.limitations},
                {"regulatory_scope", model.regulatory_scope},
                {"registered_by", v.registered_by},
                {"registered_at", TimeText(v.created_at)},
                {"author", v.author},
                {"source", v.source},
                {"run_id", v.run_id},
                {"target", m.contains("target") ? m["target"] : Json()},
                {"created_at", m.contains("created_at") ? m["created_at"] : Json()}};
  e["manifest"] = m;

  // Metrics: the manifest's (training), then the evaluation's numbers (they win: held-out rows).
  Json metrics = Json::object();
  if (m.contains("metrics") && m["metrics"].is_object()) {
    for (const auto& [k, val] : m["metrics"].items()) {
      if (val.is_number()) metrics[k] = val;
    }
  }
  ASSIGN_OR_RETURN(Json evaluation, ArtifactJson(ctx, v.evidence.value("evaluation", Json())));
  if (evaluation.is_object()) {
    for (const auto& [k, val] : evaluation.items()) {
      if (val.is_number()) metrics[k] = val;
    }
    e["evaluation"] = evaluation.contains("details") ? evaluation["details"] : evaluation;
  } else {
    e["evaluation"] = nullptr;
  }
  if (!metrics.contains("train_test_auc_gap") && metrics.contains("train_auc") &&
      metrics.contains("test_auc")) {
    metrics["train_test_auc_gap"] =
        metrics["train_auc"].get<double>() - metrics["test_auc"].get<double>();
  }
  e["metrics"] = metrics;

  Json features = Json::array();
  if (m.contains("inputs") && m["inputs"].is_array()) {
    for (const Json& in : m["inputs"]) {
      if (in.is_object() && in.contains("name")) features.push_back(in["name"]);
    }
  }
  e["features"] = features;
  Json monotone = Json::object();
  if (m.contains("training") && m["training"].is_object() &&
      m["training"].value("spec", Json()).is_object() &&
      m["training"]["spec"].value("monotone", Json()).is_object()) {
    monotone = m["training"]["spec"]["monotone"];
  }
  e["monotone"] = monotone;

  // The data sets the model was trained from: their protected attributes and validations.
  std::set<std::string> protected_set;
  Json validation_results = Json::array();
  bool validated = true;
  bool any_dataset = false;
  Json datasets = Json::array();
  if (m.contains("lineage") && m["lineage"].is_object() &&
      m["lineage"].value("datasets", Json()).is_array()) {
    for (const Json& d : m["lineage"]["datasets"]) {
      if (!d.is_object()) continue;
      datasets.push_back(d);
      const std::string name = d.value("name", "");
      const std::string version = d.value("version", "");
      auto id = FindDatasetId(ctx.tx, p, name);
      if (!id.ok()) continue;
      any_dataset = true;
      auto row = FindVersion(ctx.tx, *id, name, version);
      if (row.ok()) {
        if (row->tags.is_object() && row->tags.value("protected", Json()).is_array()) {
          for (const Json& c : row->tags["protected"]) {
            if (c.is_string()) protected_set.insert(c.get<std::string>());
          }
        }
      }
      ASSIGN_OR_RETURN(QueryResult r,
                       ctx.tx.Query("SELECT id, suite_name, passed, blocking_failures, "
                                    "warning_failures, created_at FROM validation_results WHERE "
                                    "dataset_id = ? AND version = ? ORDER BY created_at",
                                    {*id, version}));
      if (r.rows.empty()) validated = false;
      for (size_t i = 0; i < r.rows.size(); ++i) {
        bool passed = r.IntOrZero(i, 2) != 0;
        // The latest result of each suite counts.
        if (i + 1 == r.rows.size() && !passed) validated = false;
        validation_results.push_back({{"id", r.TextOrEmpty(i, 0)},
                                      {"dataset", name + "@" + version.substr(0, 12)},
                                      {"suite", r.TextOrEmpty(i, 1)},
                                      {"passed", passed},
                                      {"failed_expectations", r.IntOrZero(i, 3)},
                                      {"warnings", r.IntOrZero(i, 4)},
                                      {"at", TimeText(r.IntOrZero(i, 5))}});
      }
    }
  }
  e["protected"] = Json(std::vector<std::string>(protected_set.begin(), protected_set.end()));
  e["data_validation"] =
      any_dataset ? Json{{"passed", validated}, {"results", validation_results}} : Json();

  ASSIGN_OR_RETURN(Json fairness, ArtifactJson(ctx, v.evidence.value("fairness", Json())));
  // Each attribute's headline figures beside its groups, where rules read them
  // (fairness.attributes[a].disparate_impact_min).
  if (fairness.is_object() && fairness.value("attributes", Json()).is_object()) {
    for (auto& [name, a] : fairness["attributes"].items()) {
      if (!a.is_object() || !a.value("summary", Json()).is_object()) continue;
      for (const auto& [k, val] : a["summary"].items()) {
        if (!a.contains(k)) a[k] = val;
      }
    }
  }
  e["fairness"] = fairness;
  ASSIGN_OR_RETURN(Json explanations, ArtifactJson(ctx, v.evidence.value("explanations", Json())));
  e["explanations"] = explanations;
  e["scan"] = v.scan;

  // Approvals: decisions on this version's requests that still stand (not withdrawn).
  {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT d.decision, d.actor, d.role, d.stage, d.at, d.comment, "
                                  "r.state, r.id FROM approval_decisions d JOIN "
                                  "approval_requests r ON r.id = d.request_id WHERE "
                                  "r.project_id = ? AND r.name = ? AND r.version = ? AND "
                                  "r.digest = ? ORDER BY d.at",
                                  {p.id, v.name, v.version, v.digest}));
    Json decisions = Json::array();
    bool validated_by = false;
    bool approved_by = false;
    // Per stage: a staging sign-off is not a production one.
    Json stages = {{"staging", {{"validated", false}, {"approved", false}}},
                   {"production", {{"validated", false}, {"approved", false}}},
                   {"archived", {{"validated", false}, {"approved", false}}}};
    for (size_t i = 0; i < r.rows.size(); ++i) {
      const std::string state = r.TextOrEmpty(i, 6);
      const std::string decision = r.TextOrEmpty(i, 0);
      if (state != "withdrawn" && state != "rejected") {
        const std::string stage = r.TextOrEmpty(i, 3);
        if (decision == "validate") validated_by = true;
        if (decision == "approve") approved_by = true;
        if (stages.contains(stage) && decision == "validate") stages[stage]["validated"] = true;
        if (stages.contains(stage) && decision == "approve") stages[stage]["approved"] = true;
      }
      decisions.push_back({{"decision", decision},
                           {"actor", r.TextOrEmpty(i, 1)},
                           {"role", r.TextOrEmpty(i, 2)},
                           {"stage", r.TextOrEmpty(i, 3)},
                           {"at", TimeText(r.IntOrZero(i, 4))},
                           {"comment", r.TextOrEmpty(i, 5)},
                           {"request_id", r.TextOrEmpty(i, 7)},
                           {"request_state", state}});
    }
    e["approvals"] = {{"validated", validated_by},
                      {"approved", approved_by},
                      {"stages", stages},
                      {"decisions", decisions}};
  }

  // Lineage: the run and pipeline, the inputs, and the graph around the version.
  Json lineage = {{"run_id", v.run_id},
                  {"datasets", datasets},
                  {"feature_definitions", Json::array()},
                  {"environment", ""}};
  if (m.contains("lineage") && m["lineage"].is_object()) {
    const Json& l = m["lineage"];
    if (l.value("feature_definitions", Json()).is_array()) {
      lineage["feature_definitions"] = l["feature_definitions"];
    }
    if (l.value("environment", Json()).is_string()) lineage["environment"] = l["environment"];
  }
  if (!v.run_id.empty()) {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT pipeline, spec_digest, params_json, started_at, "
                                  "finished_at FROM pipeline_runs WHERE run_id = ? AND "
                                  "project_id = ?",
                                  {v.run_id, p.id}));
    if (!r.rows.empty()) {
      lineage["pipeline"] = r.TextOrEmpty(0, 0);
      lineage["spec_digest"] = r.TextOrEmpty(0, 1);
      lineage["parameters"] = ParseStored(r.TextOrEmpty(0, 2));
      lineage["started_at"] = TimeText(r.IntOrZero(0, 3));
      lineage["finished_at"] = TimeText(r.IntOrZero(0, 4));
    }
  }
  if (m.contains("training") && m["training"].is_object()) {
    lineage["step"] = m["training"].value("step", "");
    if (!lineage.contains("pipeline")) lineage["pipeline"] = m["training"].value("pipeline", "");
  }
  ASSIGN_OR_RETURN(Json graph, LineageGraph(ctx, p, "model_version/" + v.Ref()));
  // Labels for people: the last part of each reference.
  for (Json& n : graph["nodes"]) {
    std::string ref = n["ref"].get<std::string>();
    std::string label = ref.substr(ref.find('/') + 1);
    if (label.rfind("sha256:", 0) == 0) label = label.substr(0, 19);
    n["id"] = ref;
    n["label"] = label;
  }
  for (Json& edge : graph["edges"]) edge["label"] = edge.value("relation", "");
  lineage["graph"] = graph;
  e["lineage"] = lineage;

  // The latest decision of each gate.
  {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT gate, decision_json FROM policy_decisions WHERE "
                                  "project_id = ? AND name = ? AND version = ? ORDER BY at",
                                  {p.id, v.name, v.version}));
    std::map<std::string, Json> latest;
    for (size_t i = 0; i < r.rows.size(); ++i) {
      latest[r.TextOrEmpty(i, 0)] = ParseStored(r.TextOrEmpty(i, 1));
    }
    Json results = Json::array();
    for (auto& [gate, decision] : latest) {
      if (decision.is_object() && decision.contains("decisions")) {
        for (const Json& d : decision["decisions"]) results.push_back(d);
      }
    }
    e["policy_results"] = results;
  }
  {
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query("SELECT from_stage, to_stage, at, by_user, request_id FROM "
                                  "model_stage_history WHERE project_id = ? AND name = ? AND "
                                  "version = ? ORDER BY at",
                                  {p.id, v.name, v.version}));
    Json history = Json::array();
    for (size_t i = 0; i < r.rows.size(); ++i) {
      history.push_back({{"from", r.TextOrEmpty(i, 0)},
                         {"to", r.TextOrEmpty(i, 1)},
                         {"at", TimeText(r.IntOrZero(i, 2))},
                         {"by", r.TextOrEmpty(i, 3)},
                         {"request_id", r.TextOrEmpty(i, 4)}});
    }
    e["stage_history"] = history;
  }
  e["deployments"] = Json::array();
  // The card's completeness is evidence too (a policy can require it).
  Json card = report::BuildModelCard(e);
  std::vector<std::string> missing = report::MissingCardFields(card);
  e["card"] = {{"complete", missing.empty()}, {"missing", missing}};
  return e;
}

StatusOr<Json> WriteDocuments(OpContext& ctx, const Project& p, ModelVersionRow& version,
                              const Json& evidence) {
  Json card = report::BuildModelCard(evidence);
  std::map<std::string, std::string> docs;
  docs["card.json"] = DumpJson(card, 2);
  ASSIGN_OR_RETURN(docs["card.md"], report::RenderCardMarkdown(card));
  ASSIGN_OR_RETURN(docs["card.html"], report::RenderCardHtml(card));
  ASSIGN_OR_RETURN(docs["report.html"], report::RenderValidationReport(evidence));
  const Json& graph = evidence["lineage"]["graph"];
  docs["lineage.dot"] = report::LineageDot(graph);
  ASSIGN_OR_RETURN(docs["lineage.svg"], report::DotToSvg(docs["lineage.dot"]));
  docs["lineage.json"] = DumpJson(report::LineageJson(graph), 2);
  Json out = Json::object();
  for (const auto& [name, bytes] : docs) {
    ASSIGN_OR_RETURN(std::string digest, StoreArtifact(ctx, p, bytes));
    out[name] = digest;
  }
  RETURN_IF_ERROR(ctx.tx.Execute(
      "UPDATE model_versions SET documents_json = ? WHERE project_id = ? AND name = ? AND "
      "version = ?",
      {out.dump(), p.id, version.name, version.version}));
  version.documents = out;
  return out;
}

StatusOr<std::string> StoreAttestation(OpContext& ctx, const Project& p,
                                       const ModelVersionRow& version, const Json& statement,
                                       const std::string& predicate_type,
                                       const std::string& subject) {
  ASSIGN_OR_RETURN(Json envelope, registry::SignStatement(statement, ctx.platform.signing_key()));
  ASSIGN_OR_RETURN(std::string digest, StoreArtifact(ctx, p, DumpJson(envelope, 2)));
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO model_attestations (digest, project_id, name, version, predicate_type, "
      "subject, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {digest, p.id, version.name, version.version, predicate_type, subject,
       ctx.platform.clock()->NowMicros()}));
  return digest;
}

StatusOr<std::vector<policy::Policy>> CurrentPolicies(OpContext& ctx, const Project& p) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT name, policy_json FROM policies WHERE project_id = ? "
                                "ORDER BY name, seq",
                                {p.id}));
  std::map<std::string, std::string> latest;
  for (size_t i = 0; i < r.rows.size(); ++i) latest[r.TextOrEmpty(i, 0)] = r.TextOrEmpty(i, 1);
  std::vector<policy::Policy> out;
  for (const auto& [name, text] : latest) {
    Json j = ParseStored(text);
    auto parsed = policy::PolicyFromJson(j);
    if (!parsed.ok()) {
      return absl::DataLossError("stored policy '" + name +
                                 "' no longer parses: " + std::string(parsed.status().message()));
    }
    out.push_back(*std::move(parsed));
  }
  return out;
}

StatusOr<Json> CheckGate(OpContext& ctx, const Project& p, const RegisteredModel& model,
                         const ModelVersionRow& version, const Json& evidence,
                         const std::string& gate) {
  (void)model;
  ASSIGN_OR_RETURN(std::vector<policy::Policy> policies, CurrentPolicies(ctx, p));
  Json decisions = Json::array();
  bool passed = true;
  const int64_t now = ctx.platform.clock()->NowMicros();
  for (const auto& pol : policies) {
    ASSIGN_OR_RETURN(policy::Decision d, policy::EvaluatePolicy(pol, gate, evidence));
    if (!d.passed) passed = false;
    Json dj = d.ToJson();
    dj["digest"] = d.Digest();
    dj["at"] = FormatTime(now);
    decisions.push_back(dj);
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO policy_decisions (id, project_id, name, version, gate, decision_json, "
        "digest, passed, at, by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {NewId(*ctx.platform.clock()), p.id, version.name, version.version, gate,
         Json{{"decisions", Json::array({dj})}}.dump(), d.Digest(), int64_t{d.passed ? 1 : 0}, now,
         ctx.principal.user.name}));
  }
  Json result = {{"gate", gate}, {"passed", passed}, {"decisions", decisions}};
  ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(decisions));
  result["digest"] = Sha256Digest(canonical);
  return result;
}

std::string BlockingFailures(const Json& gate_result) {
  std::vector<std::string> parts;
  for (const Json& d : gate_result.value("decisions", Json::array())) {
    for (const Json& r : d.value("results", Json::array())) {
      if (r.value("passed", false) || !r.value("blocking", true)) continue;
      std::string why = r.value("message", "");
      std::string error = r.value("error", "");
      if (!error.empty()) why += (why.empty() ? "" : " (") + error + (why.empty() ? "" : ")");
      parts.push_back("rule " + d.value("policy", "") + "/" + r.value("rule", "") + ": " + why);
    }
  }
  return absl::StrJoin(parts, "; ");
}

}  // namespace plinth
