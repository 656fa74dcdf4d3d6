// The feature store on the platform: applying definitions (features.apply), reading them
// (features.list, features.show), building training sets (features.training_set), filling the
// online store (features.materialize), reading it (features.get), and the lineage that ties data
// set versions, validation results, feature views and training sets together (lineage.show).
//
// Records live in the tables of store migration 4: every applied definition (feature_repos, the
// latest is current), every view and service version (feature_versions), materializations,
// training sets and lineage edges. The computation is the features module's; this file resolves
// names to pinned data set versions, enforces roles and validation requirements, and records.
#include <algorithm>
#include <deque>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "data/csv_writer.h"
#include "data/dataset.h"
#include "expr/value.h"
#include "features/feature_compute.h"
#include "platform/dataset_access.h"
#include "platform/operation_context.h"
#include "platform/platform.h"

namespace plinth {
namespace {

// The project's current (latest applied) definition.
struct CurrentRepo {
  int64_t seq = 0;
  std::string digest;
  std::string file_name;
  int64_t created_at = 0;
  std::string created_by;
  std::shared_ptr<const AppliedFeatureRepo> applied;
  const FeatureRepo* repo = nullptr;  // &applied->repo

  const std::string& ViewVersionOf(const std::string& view) const {
    return applied->view_versions.at(view);
  }
  const std::string& ServiceVersionOf(const std::string& service) const {
    return applied->service_versions.at(service);
  }
};

// The definition applied as `seq` of `p`, whose digest is `digest`. Its JSON is read only when it
// is not cached yet (serving reads definitions per call).
StatusOr<std::shared_ptr<const AppliedFeatureRepo>> AppliedRepoAt(OpContext& ctx, const Project& p,
                                                                  int64_t seq,
                                                                  const std::string& digest) {
  return ctx.platform.FeatureRepoFor(digest, [&]() -> StatusOr<std::string> {
    ASSIGN_OR_RETURN(QueryResult j,
                     ctx.tx.Query("SELECT repo_json FROM feature_repos WHERE project_id = ? AND "
                                  "seq = ?",
                                  {p.id, seq}));
    return j.TextOrEmpty(0, 0);
  });
}

// The current definition, or nullopt when none was applied.
StatusOr<std::optional<CurrentRepo>> LoadCurrentRepo(OpContext& ctx, const Project& p) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT seq, digest, file_name, created_at, created_by FROM "
                                "feature_repos WHERE project_id = ? ORDER BY seq DESC LIMIT 1",
                                {p.id}));
  if (r.rows.empty()) return std::optional<CurrentRepo>();
  CurrentRepo c;
  c.seq = r.IntOrZero(0, 0);
  c.digest = r.TextOrEmpty(0, 1);
  c.file_name = r.TextOrEmpty(0, 2);
  c.created_at = r.IntOrZero(0, 3);
  c.created_by = r.TextOrEmpty(0, 4);
  ASSIGN_OR_RETURN(c.applied, AppliedRepoAt(ctx, p, c.seq, c.digest));
  c.repo = &c.applied->repo;
  return std::optional<CurrentRepo>(std::move(c));
}

StatusOr<CurrentRepo> RequireCurrentRepo(OpContext& ctx, const Project& p) {
  ASSIGN_OR_RETURN(std::optional<CurrentRepo> c, LoadCurrentRepo(ctx, p));
  if (!c) {
    return absl::NotFoundError("project '" + p.name +
                               "' has no feature definitions yet; apply some with `plinth "
                               "features apply FILE --project " +
                               p.name + "`");
  }
  return *std::move(c);
}

template <typename T>
std::string Names(const std::vector<T>& items) {
  std::vector<std::string> names;
  for (const auto& i : items) names.push_back(i.name);
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

std::vector<std::string> JsonStrings(const Json& tags, const char* key) {
  std::vector<std::string> out;
  if (tags.contains(key) && tags[key].is_array()) {
    for (const Json& v : tags[key]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Status AddLineage(OpContext& ctx, const Project& p, const std::string& from, const std::string& to,
                  const std::string& relation) {
  return ctx.tx.Execute(
      "INSERT INTO lineage_edges (project_id, from_ref, to_ref, relation, created_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      {p.id, from, to, relation, ctx.platform.clock()->NowMicros()});
}

// The view or service `name` of the current definition; NotFound listing what exists.
StatusOr<const FeatureViewDef*> RequireView(const FeatureRepo& repo, const Project& p,
                                            const std::string& name) {
  const FeatureViewDef* view = repo.FindView(name);
  if (view == nullptr) {
    return absl::NotFoundError("no feature view '" + name.substr(0, 64) + "' in project '" +
                               p.name + "' (views: " + Names(repo.views) + ")");
  }
  return view;
}

StatusOr<const FeatureServiceDef*> RequireService(const FeatureRepo& repo, const Project& p,
                                                  const std::string& name) {
  const FeatureServiceDef* service = repo.FindService(name);
  if (service == nullptr) {
    return absl::NotFoundError("no feature service '" + name.substr(0, 64) + "' in project '" +
                               p.name + "' (services: " + Names(repo.services) + ")");
  }
  return service;
}

// A source's pinned data set version, resolved and loaded.
struct ResolvedSource {
  std::string dataset_id;
  VersionRow version;
  Table data;
  // Passing validation results of the version (ids), newest first.
  std::vector<std::string> validations;
};

StatusOr<std::vector<std::string>> PassingValidations(OpContext& ctx, const std::string& dataset_id,
                                                      const std::string& version) {
  ASSIGN_OR_RETURN(QueryResult r, ctx.tx.Query("SELECT id FROM validation_results WHERE "
                                               "dataset_id = ? AND version = ? AND passed = 1 "
                                               "ORDER BY created_at DESC",
                                               {dataset_id, version}));
  std::vector<std::string> ids;
  for (size_t i = 0; i < r.rows.size(); ++i) ids.push_back(r.TextOrEmpty(i, 0));
  return ids;
}

// Resolves `source` (whose version may be empty or a prefix) in `p` and loads its data. With
// `enforce_validation`, a source that requires validation and has no passing result is refused
// (FailedPrecondition: a gate).
StatusOr<ResolvedSource> ResolveSource(OpContext& ctx, const Project& p, const SourceDef& source,
                                       bool enforce_validation) {
  ResolvedSource out;
  auto id = FindDatasetId(ctx.tx, p, source.dataset);
  if (!id.ok()) {
    return Status(id.status().code(),
                  "source '" + source.name + "': " + std::string(id.status().message()));
  }
  out.dataset_id = *id;
  auto v = FindVersion(ctx.tx, out.dataset_id, source.dataset, source.version);
  if (!v.ok()) {
    return Status(v.status().code(),
                  "source '" + source.name + "': " + std::string(v.status().message()));
  }
  out.version = *std::move(v);
  ASSIGN_OR_RETURN(out.validations, PassingValidations(ctx, out.dataset_id, out.version.version));
  if (enforce_validation && source.require_validation && out.validations.empty()) {
    return absl::FailedPreconditionError(
        "source '" + source.name + "' requires a passing validation of data set '" +
        source.dataset + "@" + out.version.version.substr(0, 12) +
        "', and it has none; run `plinth data validate " + source.dataset + "@" +
        out.version.version.substr(0, 12) + " --project " + p.name + " --suite FILE` first");
  }
  ASSIGN_OR_RETURN(out.data, LoadSnapshot(ctx.platform.artifacts(), out.version));
  return out;
}

std::string DatasetRefText(const std::string& name, const std::string& version) {
  return "dataset/" + name + "@" + version;
}

std::string ViewRef(const std::string& name, const std::string& version) {
  return "feature_view/" + name + "@" + version;
}

// A JSON digest of one object of the definition, to tell changed objects from unchanged ones.
std::string ObjectDigest(const Json& object) {
  auto canonical = CanonicalJson(object);
  return canonical.ok() ? Sha256Digest(*canonical) : std::string();
}

// name -> digest of each object of `kind` ("entities", "sources", "feature_views",
// "feature_services") of a definition.
std::map<std::string, std::string> ObjectVersions(const FeatureRepo& repo,
                                                  const std::string& kind) {
  std::map<std::string, std::string> out;
  if (kind == "feature_views") {
    for (const auto& v : repo.views) out[v.name] = ViewVersion(repo, v);
  } else if (kind == "feature_services") {
    for (const auto& s : repo.services) out[s.name] = ServiceVersion(repo, s);
  } else {
    Json json = FeatureRepoToJson(repo);
    if (json.contains(kind) && json[kind].is_array()) {
      for (const Json& o : json[kind]) out[Str(o, "name")] = ObjectDigest(o);
    }
  }
  return out;
}

StatusOr<Json> FeaturesApply(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kFeatureWrite));
  std::string file = Str(req, "file").empty() ? "features.yaml" : Str(req, "file");
  bool dry_run = req.contains("dry_run") && req["dry_run"].is_boolean() && req["dry_run"];
  ctx.audit.project = p.name;
  ctx.audit.resource = "features/" + p.name;
  ASSIGN_OR_RETURN(FeatureRepo repo, ParseFeatureRepo(Str(req, "definition"), file));
  // Pin every source to a full version and check each view against its source's data.
  std::map<std::string, ResolvedSource> resolved;
  for (auto& source : repo.sources) {
    ASSIGN_OR_RETURN(ResolvedSource r, ResolveSource(ctx, p, source, false));
    source.version = r.version.version;
    resolved.emplace(source.name, std::move(r));
  }
  // Protected attributes are kept for fairness evaluation, never used as features unless the
  // source allows the column explicitly; every allowed use is on the audit record.
  Json protected_uses = Json::array();
  for (const auto& view : repo.views) {
    const ResolvedSource& r = resolved.at(view.source);
    RETURN_IF_ERROR(CheckViewAgainstSource(repo, view, r.data, file));
    const SourceDef* source = repo.FindSource(view.source);
    const std::vector<std::string> protected_columns = JsonStrings(r.version.tags, "protected");
    for (const auto& feature : view.features) {
      ASSIGN_OR_RETURN(std::vector<std::string> inputs, FeatureInputColumns(feature, r.data));
      for (const auto& column : inputs) {
        if (std::find(protected_columns.begin(), protected_columns.end(), column) ==
            protected_columns.end()) {
          continue;
        }
        if (std::find(source->allow_protected.begin(), source->allow_protected.end(), column) ==
            source->allow_protected.end()) {
          return absl::FailedPreconditionError(
              file + ":" + std::to_string(feature.line) + ":" + std::to_string(feature.column) +
              ": feature_views " + view.name + ", feature " + feature.name + ": reads '" + column +
              "', a protected attribute of data set '" + source->dataset + "@" +
              r.version.version.substr(0, 12) +
              "'; protected attributes are kept for fairness evaluation, not used as features. "
              "If a policy allows it, list the column under the source's allow_protected (the "
              "use is recorded and audited)");
        }
        protected_uses.push_back(
            {{"view", view.name}, {"feature", feature.name}, {"column", column}});
      }
    }
  }
  Json repo_json = FeatureRepoToJson(repo);
  ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(repo_json));
  std::string digest = Sha256Digest(canonical);

  ASSIGN_OR_RETURN(std::optional<CurrentRepo> current, LoadCurrentRepo(ctx, p));
  Json changes = Json::array();
  int counts[4] = {0, 0, 0, 0};  // added, changed, removed, unchanged
  for (const char* kind : {"entities", "sources", "feature_views", "feature_services"}) {
    auto now = ObjectVersions(repo, kind);
    std::map<std::string, std::string> before;
    if (current) before = ObjectVersions(*current->repo, kind);
    std::set<std::string> names;
    for (const auto& [n, _] : now) names.insert(n);
    for (const auto& [n, _] : before) names.insert(n);
    for (const auto& n : names) {
      std::string change;
      if (!before.count(n)) {
        change = "added";
        ++counts[0];
      } else if (!now.count(n)) {
        change = "removed";
        ++counts[2];
      } else if (before[n] != now[n]) {
        change = "changed";
        ++counts[1];
      } else {
        change = "unchanged";
        ++counts[3];
      }
      Json c = {{"kind", std::string(kind)}, {"name", n}, {"change", change}};
      if (now.count(n)) c["version"] = now[n];
      changes.push_back(std::move(c));
    }
  }
  bool same = current && current->digest == digest;
  int64_t seq = current ? current->seq : 0;
  if (!dry_run && !same) {
    seq += 1;
    const int64_t now = ctx.platform.clock()->NowMicros();
    const std::string& actor = ctx.principal.user.name;
    RETURN_IF_ERROR(ctx.tx.Execute(
        "INSERT INTO feature_repos (project_id, seq, digest, file_name, repo_json, created_at, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        {p.id, seq, digest, file.substr(0, 256), canonical, now, actor}));
    Json views_json = repo_json["feature_views"];
    for (size_t i = 0; i < repo.views.size(); ++i) {
      const auto& view = repo.views[i];
      std::string version = ViewVersion(repo, view);
      RETURN_IF_ERROR(ctx.tx.Execute(
          "INSERT INTO feature_versions (project_id, kind, name, version, repo_seq, spec_json, "
          "created_at, created_by) VALUES (?, 'view', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {p.id, view.name, version, seq, DumpJson(views_json[i]), now, actor}));
      const SourceDef* source = repo.FindSource(view.source);
      RETURN_IF_ERROR(AddLineage(ctx, p, DatasetRefText(source->dataset, source->version),
                                 ViewRef(view.name, version), "source_of"));
    }
    Json services_json = repo_json["feature_services"];
    for (size_t i = 0; i < repo.services.size(); ++i) {
      const auto& service = repo.services[i];
      RETURN_IF_ERROR(ctx.tx.Execute(
          "INSERT INTO feature_versions (project_id, kind, name, version, repo_seq, spec_json, "
          "created_at, created_by) VALUES (?, 'service', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
          {p.id, service.name, ServiceVersion(repo, service), seq, DumpJson(services_json[i]), now,
           actor}));
    }
  }
  ctx.audit.details = {{"protected_uses", protected_uses},
                       {"digest", digest},
                       {"seq", seq},
                       {"file", file.substr(0, 256)},
                       {"dry_run", dry_run},
                       {"unchanged", same},
                       {"added", counts[0]},
                       {"changed", counts[1]},
                       {"removed", counts[2]}};
  return Json{{"project", p.name},    {"digest", digest},
              {"seq", seq},           {"dry_run", dry_run},
              {"unchanged", same},    {"changes", changes},
              {"added", counts[0]},   {"changed", counts[1]},
              {"removed", counts[2]}, {"protected_uses", protected_uses}};
}

// What the online store holds for a view: {until, materialized_at, entities, stale}.
Json OnlineStatus(OpContext& ctx, const Project& p, const std::string& view,
                  const std::string& current_version) {
  auto state = ctx.platform.online().Read(p.name, view);
  if (!state.ok()) return {{"error", std::string(state.status().message())}};
  if (*state == nullptr) return nullptr;
  const OnlineView& s = **state;
  return {{"until", FormatTime(s.until)},
          {"materialized_at", FormatTime(s.materialized_at)},
          {"entities", static_cast<int64_t>(s.values.num_rows())},
          {"view_version", s.view_version},
          {"stale", s.view_version != current_version}};
}

StatusOr<Json> FeaturesList(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(std::optional<CurrentRepo> current, LoadCurrentRepo(ctx, p));
  Json out = {{"project", p.name}};
  if (!current) {
    out["seq"] = 0;
    out["views"] = Json::array();
    out["services"] = Json::array();
    out["entities"] = Json::array();
    out["sources"] = Json::array();
    return out;
  }
  const FeatureRepo& repo = *current->repo;
  Json repo_json = FeatureRepoToJson(repo);
  out["seq"] = current->seq;
  out["digest"] = current->digest;
  out["file"] = current->file_name;
  out["applied"] = FormatTime(current->created_at);
  out["applied_by"] = current->created_by;
  out["entities"] = repo_json["entities"];
  out["sources"] = repo_json["sources"];
  Json views = Json::array();
  for (const auto& v : repo.views) {
    const SourceDef* source = repo.FindSource(v.source);
    views.push_back({{"name", v.name},
                     {"entity", v.entity},
                     {"source", v.source},
                     {"dataset", source->dataset + "@" + source->version},
                     {"features", static_cast<int64_t>(v.features.size())},
                     {"ttl", v.ttl_micros / 1000000},
                     {"version", current->ViewVersionOf(v.name)},
                     {"online", OnlineStatus(ctx, p, v.name, current->ViewVersionOf(v.name))}});
  }
  out["views"] = views;
  Json services = Json::array();
  for (const auto& s : repo.services) {
    std::set<std::string> used;
    for (const auto& f : s.features) used.insert(f.view);
    services.push_back({{"name", s.name},
                        {"features", static_cast<int64_t>(s.features.size())},
                        {"views", Json(std::vector<std::string>(used.begin(), used.end()))},
                        {"version", current->ServiceVersionOf(s.name)}});
  }
  out["services"] = services;
  return out;
}

StatusOr<Json> VersionHistory(OpContext& ctx, const Project& p, const std::string& kind,
                              const std::string& name) {
  ASSIGN_OR_RETURN(QueryResult r,
                   ctx.tx.Query("SELECT version, repo_seq, created_at, created_by FROM "
                                "feature_versions WHERE project_id = ? AND kind = ? AND name = ? "
                                "ORDER BY repo_seq DESC",
                                {p.id, kind, name}));
  Json out = Json::array();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.push_back({{"version", r.TextOrEmpty(i, 0)},
                   {"seq", r.IntOrZero(i, 1)},
                   {"created", FormatTime(r.IntOrZero(i, 2))},
                   {"created_by", r.TextOrEmpty(i, 3)}});
  }
  return out;
}

StatusOr<Json> FeaturesShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(CurrentRepo current, RequireCurrentRepo(ctx, p));
  const FeatureRepo& repo = *current.repo;
  std::string name = Str(req, "name");
  Json repo_json = FeatureRepoToJson(repo);
  for (size_t i = 0; i < repo.views.size(); ++i) {
    const FeatureViewDef& view = repo.views[i];
    if (view.name != name) continue;
    const SourceDef* source = repo.FindSource(view.source);
    Json out = {{"kind", "feature_view"},
                {"project", p.name},
                {"name", name},
                {"version", current.ViewVersionOf(name)},
                {"definition", repo_json["feature_views"][i]},
                {"entity", repo_json["entities"][repo.FindEntity(view.entity) - &repo.entities[0]]},
                {"source", repo_json["sources"][source - &repo.sources[0]]},
                {"online", OnlineStatus(ctx, p, name, current.ViewVersionOf(name))}};
    ASSIGN_OR_RETURN(out["versions"], VersionHistory(ctx, p, "view", name));
    auto id = FindDatasetId(ctx.tx, p, source->dataset);
    Json validations = Json::array();
    if (id.ok()) {
      ASSIGN_OR_RETURN(QueryResult r,
                       ctx.tx.Query("SELECT id, suite_name, passed, created_at FROM "
                                    "validation_results WHERE dataset_id = ? AND version = ? "
                                    "ORDER BY created_at DESC",
                                    {*id, source->version}));
      for (size_t j = 0; j < r.rows.size(); ++j) {
        validations.push_back({{"id", r.TextOrEmpty(j, 0)},
                               {"suite", r.TextOrEmpty(j, 1)},
                               {"passed", r.IntOrZero(j, 2) != 0},
                               {"created", FormatTime(r.IntOrZero(j, 3))}});
      }
    }
    out["source_validations"] = validations;
    ASSIGN_OR_RETURN(QueryResult m,
                     ctx.tx.Query("SELECT id, view_version, from_micros, until_micros, entities, "
                                  "created_at, created_by FROM materializations WHERE "
                                  "project_id = ? AND view = ? ORDER BY created_at DESC LIMIT 20",
                                  {p.id, name}));
    Json runs = Json::array();
    for (size_t j = 0; j < m.rows.size(); ++j) {
      runs.push_back(
          {{"id", m.TextOrEmpty(j, 0)},
           {"view_version", m.TextOrEmpty(j, 1)},
           {"from", m.IsNull(j, 2) ? Json(nullptr) : Json(FormatTime(m.IntOrZero(j, 2)))},
           {"until", FormatTime(m.IntOrZero(j, 3))},
           {"entities", m.IntOrZero(j, 4)},
           {"created", FormatTime(m.IntOrZero(j, 5))},
           {"created_by", m.TextOrEmpty(j, 6)}});
    }
    out["materializations"] = runs;
    return out;
  }
  for (size_t i = 0; i < repo.services.size(); ++i) {
    const FeatureServiceDef& service = repo.services[i];
    if (service.name != name) continue;
    Json features = Json::array();
    for (const auto& f : service.features) {
      const FeatureViewDef* view = repo.FindView(f.view);
      for (const auto& def : view->features) {
        if (def.name != f.feature) continue;
        features.push_back({{"view", f.view},
                            {"feature", f.feature},
                            {"aggregation", AggregationName(def.aggregation)},
                            {"expr", def.expr},
                            {"window", def.window_micros / 1000000},
                            {"description", def.description}});
      }
    }
    Json out = {{"kind", "feature_service"},
                {"project", p.name},
                {"name", name},
                {"version", current.ServiceVersionOf(name)},
                {"definition", repo_json["feature_services"][i]},
                {"features", features}};
    ASSIGN_OR_RETURN(out["versions"], VersionHistory(ctx, p, "service", name));
    ASSIGN_OR_RETURN(QueryResult t,
                     ctx.tx.Query("SELECT id, service_version, spine, output, rows, created_at, "
                                  "created_by FROM training_sets WHERE project_id = ? AND "
                                  "service = ? ORDER BY created_at DESC LIMIT 20",
                                  {p.id, name}));
    Json sets = Json::array();
    for (size_t j = 0; j < t.rows.size(); ++j) {
      sets.push_back({{"id", t.TextOrEmpty(j, 0)},
                      {"service_version", t.TextOrEmpty(j, 1)},
                      {"spine", t.TextOrEmpty(j, 2)},
                      {"output", t.TextOrEmpty(j, 3)},
                      {"rows", t.IntOrZero(j, 4)},
                      {"created", FormatTime(t.IntOrZero(j, 5))},
                      {"created_by", t.TextOrEmpty(j, 6)}});
    }
    out["training_sets"] = sets;
    return out;
  }
  return absl::NotFoundError("no feature view or service '" + name.substr(0, 64) +
                             "' in project '" + p.name + "' (views: " + Names(repo.views) +
                             "; services: " + Names(repo.services) + ")");
}

int ClassificationRank(const std::string& c) {
  if (c == "public") return 0;
  if (c == "confidential") return 2;
  return 1;
}

StatusOr<Json> FeaturesTrainingSet(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kFeatureWrite));
  ctx.audit.project = p.name;
  ASSIGN_OR_RETURN(CurrentRepo current, RequireCurrentRepo(ctx, p));
  const FeatureRepo& repo = *current.repo;
  std::string service_name = Str(req, "service");
  ASSIGN_OR_RETURN(const FeatureServiceDef* service, RequireService(repo, p, service_name));
  std::string output_name =
      Str(req, "name").empty() ? service_name + "_training" : Str(req, "name");
  RETURN_IF_ERROR(ValidateDatasetName(output_name));

  // The spine: a data set version of the project.
  DatasetRef spine_ref = ParseDatasetRef(Str(req, "spine"));
  ASSIGN_OR_RETURN(std::string spine_id, FindDatasetId(ctx.tx, p, spine_ref.name));
  ASSIGN_OR_RETURN(VersionRow spine_version,
                   FindVersion(ctx.tx, spine_id, spine_ref.name, spine_ref.version));
  ASSIGN_OR_RETURN(Table spine, LoadSnapshot(ctx.platform.artifacts(), spine_version));
  TrainingSetOptions options;
  options.spine_timestamp = Str(req, "timestamp");
  if (options.spine_timestamp.empty()) {
    options.spine_timestamp = Str(spine_version.tags, "timestamp");
  }
  if (options.spine_timestamp.empty()) options.spine_timestamp = "timestamp";
  options.include_equal_timestamps = req.contains("include_equal_timestamps") &&
                                     req["include_equal_timestamps"].is_boolean() &&
                                     req["include_equal_timestamps"].get<bool>();

  // The sources of the service's views, at their pinned versions.
  std::vector<std::string> view_names;
  for (const auto& f : service->features) {
    if (std::find(view_names.begin(), view_names.end(), f.view) == view_names.end()) {
      view_names.push_back(f.view);
    }
  }
  std::map<std::string, ResolvedSource> resolved;
  std::map<std::string, const Table*> sources;
  std::string classification = spine_version.classification;
  Json used_views = Json::array();
  for (const auto& vn : view_names) {
    const FeatureViewDef* view = repo.FindView(vn);
    const SourceDef* source = repo.FindSource(view->source);
    if (!resolved.count(source->name)) {
      ASSIGN_OR_RETURN(ResolvedSource r, ResolveSource(ctx, p, *source, true));
      resolved.emplace(source->name, std::move(r));
    }
    const ResolvedSource& r = resolved.at(source->name);
    sources[source->name] = &r.data;
    if (ClassificationRank(r.version.classification) > ClassificationRank(classification)) {
      classification = r.version.classification;
    }
    used_views.push_back({{"view", vn},
                          {"version", current.ViewVersionOf(vn)},
                          {"dataset", source->dataset + "@" + r.version.version},
                          {"validations", r.validations}});
  }
  ASSIGN_OR_RETURN(Table table, BuildTrainingSet(repo, service_name, spine, sources, options));

  // Recorded as a data set version: the CSV file, read back so that the snapshot is exactly what
  // the file's digest names (as for a registered file).
  std::string csv = WriteCsvBuffer(table);
  ASSIGN_OR_RETURN(ArtifactInfo file, ctx.platform.artifacts().Put(StringSource(&csv)));
  ASSIGN_OR_RETURN(Table reread, ReadCsvBuffer(csv));
  csv.clear();
  csv.shrink_to_fit();
  DatasetTags tags;
  tags.classification = classification;
  tags.timestamp = reread.Find(options.spine_timestamp) ? options.spine_timestamp : "";
  std::string target = Str(spine_version.tags, "target");
  if (!target.empty() && reread.Find(target)) tags.target = target;
  std::set<std::string> keys;
  for (const auto& vn : view_names) {
    keys.insert(repo.FindEntity(repo.FindView(vn)->entity)->join_key);
  }
  if (keys.size() == 1 && reread.Find(*keys.begin())) tags.entity = *keys.begin();
  for (const auto& c : JsonStrings(spine_version.tags, "pii")) {
    if (reread.Find(c)) tags.pii.push_back(c);
  }
  for (const auto& c : JsonStrings(spine_version.tags, "protected")) {
    if (reread.Find(c)) tags.protected_attributes.push_back(c);
  }
  // A feature computed from a PII or protected column of its source carries that tag.
  for (const auto& f : service->features) {
    const FeatureViewDef* view = repo.FindView(f.view);
    const ResolvedSource& r = resolved.at(view->source);
    const std::vector<std::string> pii = JsonStrings(r.version.tags, "pii");
    const std::vector<std::string> prot = JsonStrings(r.version.tags, "protected");
    for (const auto& def : view->features) {
      if (def.name != f.feature) continue;
      ASSIGN_OR_RETURN(std::vector<std::string> inputs, FeatureInputColumns(def, r.data));
      auto reads = [&](const std::vector<std::string>& tagged) {
        for (const auto& c : inputs) {
          if (std::find(tagged.begin(), tagged.end(), c) != tagged.end()) return true;
        }
        return false;
      };
      if (reads(pii)) tags.pii.push_back(def.name);
      if (reads(prot)) tags.protected_attributes.push_back(def.name);
    }
  }
  ASSIGN_OR_RETURN(PreparedVersion prepared,
                   PrepareDatasetVersion(ctx.platform.artifacts(), file, reread, tags));
  ASSIGN_OR_RETURN(StoredVersion stored,
                   StoreDatasetVersion(ctx.tx, *ctx.platform.clock(), p, output_name,
                                       ctx.principal.user.name, prepared));

  std::string id = NewId(*ctx.platform.clock());
  std::string service_version = current.ServiceVersionOf(service_name);
  std::string spine_text = spine_ref.name + "@" + spine_version.version;
  std::string output_text = output_name + "@" + stored.version;
  Json spec = {{"service", service_name},
               {"service_version", service_version},
               {"definition_seq", current.seq},
               {"definition_digest", current.digest},
               {"spine", spine_text},
               {"spine_timestamp", options.spine_timestamp},
               {"include_equal_timestamps", options.include_equal_timestamps},
               {"views", used_views},
               {"output", output_text}};
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO training_sets (id, project_id, service, service_version, spine, output, rows, "
      "spec_json, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, p.id, service_name, service_version, spine_text, output_text, prepared.rows,
       DumpJson(spec), ctx.platform.clock()->NowMicros(), ctx.principal.user.name}));
  const std::string set_ref = "training_set/" + id;
  RETURN_IF_ERROR(AddLineage(ctx, p, DatasetRefText(spine_ref.name, spine_version.version), set_ref,
                             "spine_of"));
  for (const Json& v : used_views) {
    RETURN_IF_ERROR(
        AddLineage(ctx, p, ViewRef(v["view"].get<std::string>(), v["version"].get<std::string>()),
                   set_ref, "features_of"));
  }
  RETURN_IF_ERROR(
      AddLineage(ctx, p, set_ref, DatasetRefText(output_name, stored.version), "recorded_as"));
  ctx.audit.resource = set_ref;
  ctx.audit.details = spec;
  ctx.audit.details["rows"] = prepared.rows;
  return Json{{"id", id},
              {"project", p.name},
              {"service", service_name},
              {"service_version", service_version},
              {"spine", spine_text},
              {"name", output_name},
              {"version", stored.version},
              {"new_version", stored.created},
              {"file_digest", file.digest},
              {"num_rows", prepared.rows},
              {"num_columns", prepared.columns},
              {"classification", classification},
              {"views", used_views}};
}

StatusOr<Json> FeaturesMaterialize(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kFeatureMaterialize));
  ctx.audit.project = p.name;
  ASSIGN_OR_RETURN(CurrentRepo current, RequireCurrentRepo(ctx, p));
  const FeatureRepo& repo = *current.repo;
  std::string name = Str(req, "name");
  ASSIGN_OR_RETURN(const FeatureViewDef* view, RequireView(repo, p, name));
  int64_t until = ctx.platform.clock()->NowMicros();
  std::string until_text = Str(req, "until");
  if (!until_text.empty()) {
    auto t = ParseTime(until_text);
    if (!t) {
      return absl::InvalidArgumentError("until: '" + until_text.substr(0, 64) +
                                        "' is not an RFC 3339 time such as 2026-01-31T00:00:00Z");
    }
    until = *t;
  }
  const SourceDef* source = repo.FindSource(view->source);
  ASSIGN_OR_RETURN(ResolvedSource r, ResolveSource(ctx, p, *source, true));
  std::string version = current.ViewVersionOf(name);
  // A damaged online file is never served; materializing again rebuilds it in full.
  auto read = ctx.platform.online().Read(p.name, name);
  if (!read.ok() && !absl::IsDataLoss(read.status())) return read.status();
  const bool repaired = !read.ok();
  std::shared_ptr<const OnlineView> previous = read.ok() ? *read : nullptr;
  // Incremental only from values of the same view version; a changed view starts over.
  const bool incremental = previous != nullptr && previous->view_version == version;
  if (incremental && until < previous->until) {
    return absl::InvalidArgumentError(
        "feature view '" + name + "' is already materialized up to " + FormatTime(previous->until) +
        "; --until " + FormatTime(until) + " is earlier (materialization only moves forward)");
  }
  ViewInput input{&repo, view, &r.data};
  int64_t from = incremental ? previous->until : 0;
  ASSIGN_OR_RETURN(Table values,
                   MaterializeView(input, incremental ? &previous->values : nullptr, from, until));
  const int64_t entities = static_cast<int64_t>(values.num_rows());
  OnlineView state;
  state.project = p.name;
  state.view = name;
  state.view_version = version;
  state.until = until;
  state.materialized_at = ctx.platform.clock()->NowMicros();
  state.values = std::move(values);
  // The online store is written before the record commits: if the write fails nothing is
  // recorded; a record never claims values the store does not hold.
  RETURN_IF_ERROR(ctx.platform.online().Write(std::move(state)));
  std::string id = NewId(*ctx.platform.clock());
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO materializations (id, project_id, view, view_version, from_micros, "
      "until_micros, entities, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {id, p.id, name, version, incremental ? SqlValue(from) : SqlValue(), until, entities,
       ctx.platform.clock()->NowMicros(), ctx.principal.user.name}));
  ctx.audit.resource = ViewRef(name, version);
  ctx.audit.details = {{"materialization", id},
                       {"dataset", source->dataset + "@" + r.version.version},
                       {"from", incremental ? Json(FormatTime(from)) : Json(nullptr)},
                       {"until", FormatTime(until)},
                       {"entities", entities},
                       {"repaired", repaired}};
  return Json{{"id", id},
              {"project", p.name},
              {"view", name},
              {"view_version", version},
              {"dataset", source->dataset + "@" + r.version.version},
              {"incremental", incremental},
              {"from", incremental ? Json(FormatTime(from)) : Json(nullptr)},
              {"until", FormatTime(until)},
              {"entities", entities},
              {"repaired", repaired}};
}

StatusOr<Json> FeaturesGet(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  ASSIGN_OR_RETURN(CurrentRepo current, RequireCurrentRepo(ctx, p));
  const FeatureRepo& repo = *current.repo;
  std::string service_name = Str(req, "service");
  ASSIGN_OR_RETURN(const FeatureServiceDef* service, RequireService(repo, p, service_name));
  std::string entity_text = Str(req, "entity");
  if (entity_text.empty()) {
    return absl::InvalidArgumentError("features.get needs an entity key (--entity ID)");
  }
  ASSIGN_OR_RETURN(FeatureLookup lookup,
                   FeatureLookup::Create(&ctx.platform.online(), p.name, service->features));
  // Keys by join key: "ID" when every view shares one entity, else "KEY=ID,KEY=ID".
  std::map<std::string, std::string> keys;
  std::vector<std::string> key_of_view;
  for (const auto& vn : lookup.views()) {
    key_of_view.push_back(repo.FindEntity(repo.FindView(vn)->entity)->join_key);
  }
  if (entity_text.find('=') == std::string::npos) {
    std::set<std::string> distinct(key_of_view.begin(), key_of_view.end());
    if (distinct.size() > 1) {
      return absl::InvalidArgumentError(
          "feature service '" + service_name + "' spans several entities (" +
          absl::StrJoin(distinct, ", ") + "); give each key as KEY=ID,KEY=ID");
    }
    for (const auto& k : distinct) keys[k] = entity_text;
  } else {
    for (const std::string& part : std::vector<std::string>(absl::StrSplit(entity_text, ','))) {
      size_t eq = part.find('=');
      if (eq == std::string::npos) {
        return absl::InvalidArgumentError("entity: '" + part.substr(0, 64) + "' is not KEY=ID");
      }
      keys[part.substr(0, eq)] = part.substr(eq + 1);
    }
  }
  std::vector<std::string_view> key_values;
  for (const auto& k : key_of_view) {
    auto it = keys.find(k);
    if (it == keys.end()) {
      return absl::InvalidArgumentError("entity: no value for key '" + k + "'");
    }
    key_values.push_back(it->second);
  }
  std::vector<expr::Value> values;
  lookup.Get(key_values, &values);
  Json features = Json::object();
  Json order = Json::array();
  for (size_t i = 0; i < values.size(); ++i) {
    features[service->features[i].feature] = expr::ValueToJson(values[i]);
    order.push_back(service->features[i].feature);
  }
  Json views = Json::array();
  for (const auto& vn : lookup.views()) {
    views.push_back(
        {{"view", vn}, {"online", OnlineStatus(ctx, p, vn, current.ViewVersionOf(vn))}});
  }
  Json key_json = Json::object();
  for (const auto& [k, v] : keys) key_json[k] = v;
  return Json{{"project", p.name},
              {"service", service_name},
              {"service_version", current.ServiceVersionOf(service_name)},
              {"entity", key_json},
              {"features", features},
              {"order", order},
              {"views", views}};
}

// One lineage node's details, for people: what the reference names.
Json Node(const std::string& ref) {
  size_t slash = ref.find('/');
  return {{"ref", ref}, {"kind", ref.substr(0, slash)}};
}

StatusOr<Json> LineageShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  std::string ref = Str(req, "ref");
  if (ref.empty()) {
    return absl::InvalidArgumentError(
        "lineage.show needs a reference: dataset/NAME[@VERSION], feature_view/NAME[@VERSION], "
        "training_set/ID or validation/ID");
  }
  // Resolve a data set or view without a version to its latest.
  if (ref.rfind("dataset/", 0) == 0) {
    DatasetRef d = ParseDatasetRef(ref.substr(8));
    ASSIGN_OR_RETURN(std::string id, FindDatasetId(ctx.tx, p, d.name));
    ASSIGN_OR_RETURN(VersionRow v, FindVersion(ctx.tx, id, d.name, d.version));
    ref = DatasetRefText(d.name, v.version);
  } else if (ref.rfind("feature_view/", 0) == 0 && ref.find('@') == std::string::npos) {
    ASSIGN_OR_RETURN(CurrentRepo current, RequireCurrentRepo(ctx, p));
    ASSIGN_OR_RETURN(const FeatureViewDef* view, RequireView(*current.repo, p, ref.substr(13)));
    ref = ViewRef(view->name, current.ViewVersionOf(view->name));
  }
  ASSIGN_OR_RETURN(Json graph, LineageGraph(ctx, p, ref));
  return Json{
      {"project", p.name}, {"ref", ref}, {"nodes", graph["nodes"]}, {"edges", graph["edges"]}};
}

}  // namespace

StatusOr<Json> ServingFeatureService(OpContext& ctx, const Project& p, const std::string& dataset) {
  ASSIGN_OR_RETURN(QueryResult sets, ctx.tx.Query("SELECT id, spec_json FROM training_sets WHERE "
                                                  "project_id = ? AND output = ? ORDER BY "
                                                  "created_at DESC, id DESC LIMIT 1",
                                                  {p.id, dataset}));
  if (sets.rows.empty()) return Json();
  const std::string set_id = sets.TextOrEmpty(0, 0);
  Json spec = Json::parse(sets.TextOrEmpty(0, 1), nullptr, false);
  if (!spec.is_object() || !spec.contains("definition_seq") || !spec.contains("service")) {
    return absl::DataLossError("training set " + set_id + " has an unreadable specification");
  }
  // The definitions as they were when the training set was built.
  const int64_t seq = spec["definition_seq"].get<int64_t>();
  ASSIGN_OR_RETURN(QueryResult repo_row,
                   ctx.tx.Query("SELECT digest FROM feature_repos WHERE project_id = ? AND seq = ?",
                                {p.id, seq}));
  if (repo_row.rows.empty()) {
    return absl::DataLossError("training set " + set_id + " names feature definitions #" +
                               std::to_string(seq) + ", which are not stored");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const AppliedFeatureRepo> applied,
                   AppliedRepoAt(ctx, p, seq, repo_row.TextOrEmpty(0, 0)));
  const FeatureRepo& repo = applied->repo;
  const std::string service_name = spec["service"].get<std::string>();
  const FeatureServiceDef* service = repo.FindService(service_name);
  if (service == nullptr) {
    return absl::DataLossError("training set " + set_id + " names feature service '" +
                               service_name + "', which its definitions lack");
  }
  Json features = Json::array();
  Json views = Json::array();
  std::set<std::string> seen;
  for (const FeatureRef& f : service->features) {
    features.push_back({{"view", f.view}, {"feature", f.feature}});
    if (!seen.insert(f.view).second) continue;
    const FeatureViewDef* view = repo.FindView(f.view);
    std::string version = applied->view_versions.at(f.view);
    if (spec.contains("views") && spec["views"].is_array()) {
      for (const Json& v : spec["views"]) {
        if (v.value("view", "") == f.view) version = v.value("version", version);
      }
    }
    views.push_back(
        {{"view", f.view}, {"key", repo.FindEntity(view->entity)->join_key}, {"version", version}});
  }
  return Json{{"project", p.name},
              {"service", service_name},
              {"service_version", spec.value("service_version", "")},
              {"training_set", set_id},
              {"features", features},
              {"views", views}};
}

StatusOr<Json> LineageGraph(OpContext& ctx, const Project& p, const std::string& ref) {
  // Validation results are edges of their own table; the rest are lineage_edges.
  auto neighbours = [&](const std::string& node, bool upstream) -> StatusOr<std::vector<Json>> {
    std::vector<Json> out;
    ASSIGN_OR_RETURN(QueryResult r,
                     ctx.tx.Query(upstream ? "SELECT from_ref, relation FROM lineage_edges WHERE "
                                             "project_id = ? AND to_ref = ? ORDER BY from_ref"
                                           : "SELECT to_ref, relation FROM lineage_edges WHERE "
                                             "project_id = ? AND from_ref = ? ORDER BY to_ref",
                                  {p.id, node}));
    for (size_t i = 0; i < r.rows.size(); ++i) {
      out.push_back({{"ref", r.TextOrEmpty(i, 0)}, {"relation", r.TextOrEmpty(i, 1)}});
    }
    if (!upstream && node.rfind("dataset/", 0) == 0) {
      DatasetRef d = ParseDatasetRef(node.substr(8));
      auto id = FindDatasetId(ctx.tx, p, d.name);
      if (id.ok()) {
        ASSIGN_OR_RETURN(QueryResult v,
                         ctx.tx.Query("SELECT id, passed, suite_name FROM validation_results "
                                      "WHERE dataset_id = ? AND version = ? ORDER BY created_at",
                                      {*id, d.version}));
        for (size_t i = 0; i < v.rows.size(); ++i) {
          out.push_back({{"ref", "validation/" + v.TextOrEmpty(i, 0)},
                         {"relation", v.IntOrZero(i, 1) != 0 ? "validated_by (passed)"
                                                             : "validated_by (failed)"}});
        }
      }
    }
    if (upstream && node.rfind("validation/", 0) == 0) {
      ASSIGN_OR_RETURN(QueryResult v,
                       ctx.tx.Query("SELECT d.name, r.version FROM validation_results r JOIN "
                                    "datasets d ON d.id = r.dataset_id WHERE r.id = ? AND "
                                    "d.project_id = ?",
                                    {node.substr(11), p.id}));
      if (!v.rows.empty()) {
        out.push_back({{"ref", DatasetRefText(v.TextOrEmpty(0, 0), v.TextOrEmpty(0, 1))},
                       {"relation", "validated_by"}});
      }
    }
    return out;
  };
  Json nodes = Json::array();
  Json edges = Json::array();
  std::set<std::string> seen = {ref};
  nodes.push_back(Node(ref));
  for (bool upstream : {true, false}) {
    std::deque<std::pair<std::string, int>> queue = {{ref, 0}};
    while (!queue.empty()) {
      auto [node, depth] = queue.front();
      queue.pop_front();
      if (depth >= 16 || nodes.size() >= 500) continue;
      ASSIGN_OR_RETURN(std::vector<Json> next, neighbours(node, upstream));
      for (const Json& n : next) {
        std::string other = n["ref"].get<std::string>();
        edges.push_back({{"from", upstream ? other : node},
                         {"to", upstream ? node : other},
                         {"relation", n["relation"]}});
        if (seen.insert(other).second) {
          nodes.push_back(Node(other));
          queue.push_back({other, depth + 1});
        }
      }
    }
  }
  return Json{{"nodes", nodes}, {"edges", edges}};
}

void AddFeatureHandlers(HandlerMap* handlers) {
  (*handlers)["features.apply"] = FeaturesApply;
  (*handlers)["features.list"] = FeaturesList;
  (*handlers)["features.show"] = FeaturesShow;
  (*handlers)["features.training_set"] = FeaturesTrainingSet;
  (*handlers)["features.materialize"] = FeaturesMaterialize;
  (*handlers)["features.get"] = FeaturesGet;
  (*handlers)["lineage.show"] = LineageShow;
}

}  // namespace plinth
