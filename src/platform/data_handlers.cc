// Data sets on the platform: registering a CSV file as a version of a data set (the bytes-in
// entry point Platform::RegisterDataset) and the read operations data.list, data.show and
// data.profile. Records live in the datasets and dataset_versions tables (store migration 2); the
// file and its table snapshot are artifacts of the project. PII columns are masked in profiles for
// callers without PII access; reading a confidential data set is itself audited.
#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "data/dataset.h"
#include "data/profile.h"
#include "data/validation.h"
#include "platform/dataset_access.h"
#include "platform/operation_context.h"
#include "platform/platform.h"
#include "table/table_snapshot.h"

namespace plinth {
namespace {

constexpr char kVersionColumns[] =
    "version, seq, file_digest, snapshot_digest, size, num_rows, num_columns, classification, "
    "schema_json, tags_json, profile_json, created_at, created_by";

StatusOr<VersionRow> ReadVersionRow(const QueryResult& r, size_t i) {
  VersionRow v;
  v.version = r.TextOrEmpty(i, 0);
  v.seq = r.IntOrZero(i, 1);
  v.file_digest = r.TextOrEmpty(i, 2);
  v.snapshot_digest = r.TextOrEmpty(i, 3);
  v.size = r.IntOrZero(i, 4);
  v.rows = r.IntOrZero(i, 5);
  v.columns = r.IntOrZero(i, 6);
  v.classification = r.TextOrEmpty(i, 7);
  ASSIGN_OR_RETURN(v.schema, ParseJson(r.TextOrEmpty(i, 8)));
  ASSIGN_OR_RETURN(v.tags, ParseJson(r.TextOrEmpty(i, 9)));
  ASSIGN_OR_RETURN(v.profile, ParseJson(r.TextOrEmpty(i, 10)));
  v.created_at = r.IntOrZero(i, 11);
  v.created_by = r.TextOrEmpty(i, 12);
  return v;
}

Json VersionSummary(const VersionRow& v) {
  return {{"version", v.version},
          {"seq", v.seq},
          {"file_digest", v.file_digest},
          {"snapshot_digest", v.snapshot_digest},
          {"size", v.size},
          {"num_rows", v.rows},
          {"num_columns", v.columns},
          {"classification", v.classification},
          {"created", FormatTime(v.created_at)},
          {"created_by", v.created_by}};
}

// Authorises a read of data set `name` in the request's project and finds the requested version.
// A confidential version makes the read audited.
StatusOr<std::pair<Project, VersionRow>> ReadVersion(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kProjectRead));
  std::string name = Str(req, "name");
  ASSIGN_OR_RETURN(std::string id, FindDatasetId(ctx.tx, p, name));
  ASSIGN_OR_RETURN(VersionRow v, FindVersion(ctx.tx, id, name, Str(req, "version")));
  ctx.audit.project = p.name;
  ctx.audit.resource = "dataset/" + name + "@" + v.version;
  ctx.audit.details = {{"version", v.version}, {"classification", v.classification}};
  if (v.classification == "confidential") ctx.audit_read = true;
  return std::make_pair(p, v);
}

StatusOr<Json> DataList(OpContext& ctx, const Json& req) {
  std::vector<Project> projects;
  std::string only = Str(req, "project");
  if (!only.empty()) {
    ASSIGN_OR_RETURN(Project p, AuthorizeProject(ctx.tx, ctx.identity, ctx.principal,
                                                 ctx.audit.action, only, Permission::kProjectRead));
    projects.push_back(p);
  } else {
    ASSIGN_OR_RETURN(std::vector<Project> all, ctx.identity.ListProjects(ctx.tx));
    for (const auto& p : all) {
      if (ctx.principal.Can(Permission::kProjectRead, p.id)) projects.push_back(p);
    }
  }
  Json out = Json::array();
  for (const auto& p : projects) {
    ASSIGN_OR_RETURN(
        QueryResult r,
        ctx.tx.Query("SELECT d.name, v.version, v.seq, v.num_rows, v.num_columns, "
                     "v.classification, v.created_at, v.created_by FROM datasets d "
                     "JOIN dataset_versions v ON v.dataset_id = d.id WHERE d.project_id = ? AND "
                     "v.seq = (SELECT MAX(seq) FROM dataset_versions WHERE dataset_id = d.id) "
                     "ORDER BY d.name",
                     {p.id}));
    for (size_t i = 0; i < r.rows.size(); ++i) {
      out.push_back({{"project", p.name},
                     {"name", r.TextOrEmpty(i, 0)},
                     {"version", r.TextOrEmpty(i, 1)},
                     {"versions", r.IntOrZero(i, 2)},
                     {"num_rows", r.IntOrZero(i, 3)},
                     {"num_columns", r.IntOrZero(i, 4)},
                     {"classification", r.TextOrEmpty(i, 5)},
                     {"created", FormatTime(r.IntOrZero(i, 6))},
                     {"created_by", r.TextOrEmpty(i, 7)}});
    }
  }
  return Json{{"datasets", out}};
}

StatusOr<Json> DataShow(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, ReadVersion(ctx, req));
  const auto& [project, v] = found;
  std::string name = Str(req, "name");
  ASSIGN_OR_RETURN(std::string id, FindDatasetId(ctx.tx, project, name));
  ASSIGN_OR_RETURN(std::vector<VersionRow> versions, ListVersions(ctx.tx, id));
  Json history = Json::array();
  for (const VersionRow& row : versions) history.push_back(VersionSummary(row));
  Json out = VersionSummary(v);
  out["project"] = project.name;
  out["name"] = name;
  out["schema"] = v.schema;
  out["tags"] = v.tags;
  out["versions"] = history;
  return out;
}

StatusOr<Json> DataProfile(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(auto found, ReadVersion(ctx, req));
  const auto& [project, v] = found;
  Json profile = v.profile;
  bool masked = false;
  if (!ctx.principal.Can(Permission::kPiiRead, project.id)) {
    std::set<std::string> pii;
    if (v.tags.contains("pii") && v.tags["pii"].is_array()) {
      for (const Json& c : v.tags["pii"]) pii.insert(c.get<std::string>());
    }
    masked = !pii.empty();
    profile = MaskProfile(profile, pii);
  }
  profile["project"] = project.name;
  profile["name"] = Str(req, "name");
  profile["version"] = v.version;
  profile["classification"] = v.classification;
  profile["pii_masked"] = masked;
  return profile;
}

StatusOr<Json> DataValidate(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(Project p,
                   AuthorizeProject(ctx.tx, ctx.identity, ctx.principal, ctx.audit.action,
                                    Str(req, "project"), Permission::kDatasetValidate));
  std::string name = Str(req, "name");
  ASSIGN_OR_RETURN(std::string id, FindDatasetId(ctx.tx, p, name));
  ASSIGN_OR_RETURN(VersionRow v, FindVersion(ctx.tx, id, name, Str(req, "version")));
  std::string suite_text = Str(req, "suite");
  std::string suite_file = Str(req, "suite_file").empty() ? "suite.yaml" : Str(req, "suite_file");
  ASSIGN_OR_RETURN(Suite suite, ParseSuite(suite_text, suite_file));
  ASSIGN_OR_RETURN(Table data, LoadSnapshot(ctx.platform.artifacts(), v));
  std::optional<Table> reference;
  std::string reference_text = Str(req, "reference");
  std::string reference_label;
  if (!reference_text.empty()) {
    DatasetRef ref = ParseDatasetRef(reference_text);
    ASSIGN_OR_RETURN(std::string ref_id, FindDatasetId(ctx.tx, p, ref.name));
    ASSIGN_OR_RETURN(VersionRow rv, FindVersion(ctx.tx, ref_id, ref.name, ref.version));
    ASSIGN_OR_RETURN(reference, LoadSnapshot(ctx.platform.artifacts(), rv));
    reference_label = ref.name + "@" + rv.version;
  }
  ASSIGN_OR_RETURN(ValidationResult result,
                   RunSuite(suite, data, reference ? &*reference : nullptr));
  Json result_json = ValidationResultToJson(result);
  std::string result_id = NewId(*ctx.platform.clock());
  std::string suite_digest = Sha256Digest(suite_text);
  RETURN_IF_ERROR(ctx.tx.Execute(
      "INSERT INTO validation_results (id, dataset_id, version, suite_name, suite_digest, "
      "reference, passed, blocking_failures, warning_failures, result_json, created_at, "
      "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {result_id, id, v.version, suite.name, suite_digest, reference_label,
       int64_t{result.passed ? 1 : 0}, static_cast<int64_t>(result.blocking_failures),
       static_cast<int64_t>(result.warning_failures), DumpJson(result_json),
       ctx.platform.clock()->NowMicros(), ctx.principal.user.name}));
  ctx.audit.project = p.name;
  ctx.audit.resource = "dataset/" + name + "@" + v.version;
  ctx.audit.details = {{"validation_id", result_id},
                       {"suite", suite.name},
                       {"suite_digest", suite_digest},
                       {"reference", reference_label},
                       {"passed", result.passed},
                       {"blocking_failures", result.blocking_failures},
                       {"warning_failures", result.warning_failures}};
  Json out = {{"id", result_id},
              {"project", p.name},
              {"name", name},
              {"version", v.version},
              {"suite_digest", suite_digest},
              {"result", result_json}};
  if (req.contains("html") && req["html"].is_boolean() && req["html"].get<bool>()) {
    out["html"] = RenderValidationHtml(result);
  }
  return out;
}

StatusOr<DatasetTags> TagsFromRequest(const Json& request) {
  DatasetTags tags;
  tags.target = Str(request, "target");
  tags.timestamp = Str(request, "timestamp");
  tags.entity = Str(request, "entity");
  tags.pii = SplitColumnList(Str(request, "pii"));
  tags.protected_attributes = SplitColumnList(Str(request, "protected"));
  std::string classification = Str(request, "classification");
  if (!classification.empty()) tags.classification = classification;
  if (!IsValidClassification(tags.classification)) {
    return absl::InvalidArgumentError("classification '" + tags.classification.substr(0, 32) +
                                      "' is not one of: public, internal, confidential");
  }
  return tags;
}

}  // namespace

StatusOr<std::string> FindDatasetId(Transaction& tx, const Project& project,
                                    const std::string& name) {
  RETURN_IF_ERROR(ValidateDatasetName(name));
  ASSIGN_OR_RETURN(QueryResult r, tx.Query("SELECT id FROM datasets WHERE project_id = ? AND "
                                           "name = ?",
                                           {project.id, name}));
  if (r.rows.empty()) {
    return absl::NotFoundError("data set '" + name + "' not found in project '" + project.name +
                               "'");
  }
  return r.TextOrEmpty(0, 0);
}

StatusOr<VersionRow> FindVersion(Transaction& tx, const std::string& dataset_id,
                                 const std::string& name, const std::string& version_text) {
  std::string sql =
      std::string("SELECT ") + kVersionColumns + " FROM dataset_versions WHERE dataset_id = ?";
  std::vector<SqlValue> params = {dataset_id};
  if (version_text.empty()) {
    sql += " ORDER BY seq DESC LIMIT 1";
  } else {
    ASSIGN_OR_RETURN(std::string prefix, NormalizeVersion(version_text));
    sql += " AND version LIKE ? ORDER BY seq DESC LIMIT 2";
    params.push_back(prefix + "%");
  }
  ASSIGN_OR_RETURN(QueryResult r, tx.Query(sql, params));
  if (r.rows.empty()) {
    return absl::NotFoundError("data set '" + name + "' has no version '" +
                               version_text.substr(0, 80) + "'");
  }
  if (r.rows.size() > 1) {
    return absl::InvalidArgumentError("version prefix '" + version_text.substr(0, 80) +
                                      "' matches several versions of '" + name +
                                      "'; give more characters");
  }
  return ReadVersionRow(r, 0);
}

StatusOr<std::vector<VersionRow>> ListVersions(Transaction& tx, const std::string& dataset_id) {
  ASSIGN_OR_RETURN(QueryResult r, tx.Query(std::string("SELECT ") + kVersionColumns +
                                               " FROM dataset_versions WHERE dataset_id = ? "
                                               "ORDER BY seq DESC",
                                           {dataset_id}));
  std::vector<VersionRow> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    ASSIGN_OR_RETURN(VersionRow row, ReadVersionRow(r, i));
    out.push_back(std::move(row));
  }
  return out;
}

StatusOr<Table> LoadSnapshot(ArtifactStore& artifacts, const VersionRow& v) {
  std::string bytes;
  RETURN_IF_ERROR(artifacts.Get(v.snapshot_digest, StringSink(&bytes)));
  return TableFromSnapshot(bytes);
}

StatusOr<PreparedVersion> PrepareDatasetVersion(ArtifactStore& artifacts, const ArtifactInfo& file,
                                                const Table& table, const DatasetTags& tags) {
  RETURN_IF_ERROR(CheckTags(tags, table));
  PreparedVersion p;
  p.file = file;
  p.tags = tags;
  p.schema = SchemaJson(table);
  p.profile = ProfileTable(table);
  p.rows = static_cast<int64_t>(table.num_rows());
  p.columns = static_cast<int64_t>(table.num_columns());
  std::string snapshot_bytes = TableToSnapshot(table);
  ASSIGN_OR_RETURN(p.snapshot, artifacts.Put(StringSource(&snapshot_bytes)));
  return p;
}

StatusOr<StoredVersion> StoreDatasetVersion(Transaction& tx, const Clock& clock,
                                            const Project& project, const std::string& name,
                                            const std::string& actor,
                                            const PreparedVersion& prepared) {
  StoredVersion out;
  out.version = prepared.file.digest.substr(7);
  const int64_t now = clock.NowMicros();
  Json tags_json = TagsToJson(prepared.tags);
  for (const ArtifactInfo* a : {&prepared.file, &prepared.snapshot}) {
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO artifacts (project_id, digest, size, created_at, created_by) "
                   "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   {project.id, a->digest, a->size, now, actor}));
  }
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO datasets (id, project_id, name, created_at, created_by) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                 {NewId(clock), project.id, name, now, actor}));
  ASSIGN_OR_RETURN(std::string dataset_id, FindDatasetId(tx, project, name));
  ASSIGN_OR_RETURN(QueryResult existing,
                   tx.Query("SELECT seq, tags_json FROM dataset_versions WHERE dataset_id = ? "
                            "AND version = ?",
                            {dataset_id, out.version}));
  if (!existing.rows.empty()) {
    ASSIGN_OR_RETURN(Json old_tags, ParseJson(existing.TextOrEmpty(0, 1)));
    if (old_tags != tags_json) {
      return absl::AlreadyExistsError(
          "version " + out.version.substr(0, 12) + " of data set '" + name +
          "' is already registered with other tags: " + DumpJson(old_tags));
    }
    out.seq = existing.IntOrZero(0, 0);
    return out;
  }
  ASSIGN_OR_RETURN(
      QueryResult last,
      tx.Query("SELECT MAX(seq) FROM dataset_versions WHERE dataset_id = ?", {dataset_id}));
  out.seq = last.IntOrZero(0, 0) + 1;
  out.created = true;
  RETURN_IF_ERROR(tx.Execute(
      "INSERT INTO dataset_versions (dataset_id, version, seq, file_digest, snapshot_digest, "
      "size, num_rows, num_columns, classification, schema_json, tags_json, profile_json, "
      "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {dataset_id, out.version, out.seq, prepared.file.digest, prepared.snapshot.digest,
       prepared.file.size, prepared.rows, prepared.columns, prepared.tags.classification,
       DumpJson(prepared.schema), DumpJson(tags_json), DumpJson(prepared.profile), now, actor}));
  return out;
}

StatusOr<Json> Platform::RegisterDataset(const std::string& token, const std::string& project_name,
                                         const std::string& name, const Json& tags_request,
                                         const ByteSource& source, const std::string& request_id) {
  const OperationSpec& spec = *FindOperation("data.register");
  AuditEvent event;
  event.action = spec.name;
  event.request_id = request_id;
  event.project = project_name.substr(0, 64);
  event.resource = "dataset/" + name.substr(0, 64);
  std::string actor;
  auto fail = [&](const Status& s) -> Status {
    RecordFailure(spec, actor, event, s);
    return s;
  };
  Json request = tags_request.is_object() ? tags_request : Json::object();
  request["project"] = project_name;
  request["name"] = name;
  Project project;
  DatasetTags tags;
  Status allowed = store_->RunReadOnly([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(Principal principal, identity_.Authenticate(tx, token));
    actor = principal.user.name;
    RETURN_IF_ERROR(ValidateRequest(spec, request));
    ASSIGN_OR_RETURN(project, AuthorizeProject(tx, identity_, principal, spec.name, project_name,
                                               Permission::kDatasetWrite));
    RETURN_IF_ERROR(ValidateDatasetName(name));
    ASSIGN_OR_RETURN(tags, TagsFromRequest(request));
    return absl::OkStatus();
  });
  if (!allowed.ok()) return fail(allowed);

  // The file's bytes, hashed as they stream in; then parsed from the stored object, so what is
  // profiled is exactly what the digest names. A local store verifies the object and hands over
  // its immutable file, which is parsed memory-mapped with its pages released as they are parsed
  // (the file is never copied into memory); other stores stream the verified bytes into memory.
  auto file = artifacts_->Put(source, "", options_.max_artifact_bytes);
  if (!file.ok()) return fail(file.status());
  StatusOr<Table> table = absl::UnknownError("not parsed");
  StatusOr<std::string> path = artifacts_->VerifiedLocalPath(file->digest);
  if (path.ok()) {
    table = ReadCsv(*path);
    if (!table.ok()) {
      // ReadCsv puts the path before the parser's message; the store's layout is not the client's
      // business, so the message is the one the in-memory parse gives. Any other error is one of
      // reading the store's file, not of the CSV.
      const std::string prefix = *path + ": ";
      std::string message(table.status().message());
      if (!message.starts_with(prefix)) return fail(table.status());
      table = Status(table.status().code(), message.substr(prefix.size()));
    }
  } else if (absl::IsUnimplemented(path.status())) {
    std::string bytes;
    Status read = artifacts_->Get(file->digest, StringSink(&bytes));
    if (!read.ok()) return fail(read);
    table = ReadCsvBuffer(bytes);
  } else {
    return fail(path.status());
  }
  if (!table.ok()) {
    return fail(absl::InvalidArgumentError("the file is not valid CSV; nothing was registered: " +
                                           std::string(table.status().message())));
  }
  auto prepared = PrepareDatasetVersion(*artifacts_, *file, *table, tags);
  if (!prepared.ok()) return fail(prepared.status());
  StoredVersion stored;
  event.actor = actor;
  event.project = project.name;
  event.resource = "dataset/" + name + "@" + file->digest.substr(7);
  Status s = store_->RunInTransaction([&](Transaction& tx) -> Status {
    ASSIGN_OR_RETURN(stored, StoreDatasetVersion(tx, *clock_, project, name, actor, *prepared));
    event.outcome = "ok";
    event.details = {{"version", stored.version},
                     {"file_digest", file->digest},
                     {"snapshot_digest", prepared->snapshot.digest},
                     {"rows", prepared->rows},
                     {"classification", tags.classification},
                     {"new_version", stored.created}};
    return audit_->Append(tx, event).status();
  });
  if (!s.ok()) return fail(s);
  return Json{{"project", project.name},
              {"name", name},
              {"version", stored.version},
              {"seq", stored.seq},
              {"new_version", stored.created},
              {"file_digest", file->digest},
              {"snapshot_digest", prepared->snapshot.digest},
              {"size", file->size},
              {"num_rows", prepared->rows},
              {"num_columns", prepared->columns},
              {"classification", tags.classification},
              {"tags", TagsToJson(tags)}};
}

void AddDataHandlers(HandlerMap* handlers) {
  (*handlers)["data.validate"] = DataValidate;
  (*handlers)["data.list"] = DataList;
  (*handlers)["data.show"] = DataShow;
  (*handlers)["data.profile"] = DataProfile;
}

}  // namespace plinth
