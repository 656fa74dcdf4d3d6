#include "platform/operations.h"

#include "absl/strings/str_join.h"

namespace plinth {
namespace {

FieldSpec PathField(std::string name, std::string description) {
  return FieldSpec{std::move(name), FieldType::kString, true, FieldIn::kPath,
                   std::move(description)};
}
FieldSpec Body(std::string name, FieldType type, bool required, std::string description) {
  return FieldSpec{std::move(name), type, required, FieldIn::kBody, std::move(description)};
}
FieldSpec Query(std::string name, FieldType type, std::string description) {
  return FieldSpec{std::move(name), type, false, FieldIn::kQuery, std::move(description)};
}

std::vector<OperationSpec> BuildOperations() {
  return {
      {"whoami",
       "GET",
       "/api/v1/whoami",
       false,
       true,
       Payload::kJson,
       "The caller's user name and role bindings",
       "any user",
       {}},
      {"project.create",
       "POST",
       "/api/v1/projects",
       true,
       true,
       Payload::kJson,
       "Create a project",
       "admin",
       {Body("name", FieldType::kString, true, "project name")}},
      {"project.list",
       "GET",
       "/api/v1/projects",
       false,
       true,
       Payload::kJson,
       "Projects the caller has a role in (all, for platform-wide roles)",
       "any user",
       {}},
      {"user.create",
       "POST",
       "/api/v1/users",
       true,
       true,
       Payload::kJson,
       "Create a user with a role on a project (platform-wide when no project is given)",
       "admin",
       {Body("name", FieldType::kString, true, "user name"),
        Body("role", FieldType::kString, true,
             "viewer, data-scientist, validator, approver, deployer, auditor or admin"),
        Body("project", FieldType::kString, false, "project name; omit for platform-wide")}},
      {"user.grant",
       "POST",
       "/api/v1/users/{name}/roles",
       true,
       true,
       Payload::kJson,
       "Give an existing user another role",
       "admin",
       {PathField("name", "user name"), Body("role", FieldType::kString, true, "role name"),
        Body("project", FieldType::kString, false, "project name; omit for platform-wide")}},
      {"user.list",
       "GET",
       "/api/v1/users",
       false,
       true,
       Payload::kJson,
       "Users and their role bindings",
       "admin",
       {}},
      {"token.create",
       "POST",
       "/api/v1/tokens",
       true,
       true,
       Payload::kJson,
       "Issue an API token (shown once)",
       "admin, or any user for themselves",
       {Body("user", FieldType::kString, true, "user the token authenticates"),
        Body("ttl", FieldType::kString, false,
             "lifetime such as 90s, 15m, 1h, 30d; none = no expiry")}},
      {"token.list",
       "GET",
       "/api/v1/tokens",
       false,
       true,
       Payload::kJson,
       "Tokens (never their secrets): all for admins, one's own otherwise",
       "any user",
       {}},
      {"token.revoke",
       "DELETE",
       "/api/v1/tokens/{id}",
       true,
       true,
       Payload::kJson,
       "Revoke a token at once",
       "admin, or the token's owner",
       {PathField("id", "token id")}},
      {"artifact.put",
       "PUT",
       "/api/v1/projects/{project}/artifacts",
       true,
       true,
       Payload::kBytesIn,
       "Store bytes as a content-addressed artifact of a project",
       "data-scientist on the project",
       {PathField("project", "project name")}},
      {"artifact.get",
       "GET",
       "/api/v1/artifacts/{digest}",
       false,
       true,
       Payload::kBytesOut,
       "Read an artifact's bytes, verified against its digest",
       "any role on a project holding it",
       {PathField("digest", "sha256:<64 hex>")}},
      {"artifact.list",
       "GET",
       "/api/v1/projects/{project}/artifacts",
       false,
       true,
       Payload::kJson,
       "Artifacts of a project",
       "any role on the project",
       {PathField("project", "project name")}},
      {"audit.tail",
       "GET",
       "/api/v1/audit/tail",
       false,
       true,
       Payload::kJson,
       "The last records of the audit chain",
       "auditor or admin, platform-wide",
       {Query("n", FieldType::kInteger, "number of records (default 20, at most 10000)")}},
      {"audit.verify",
       "GET",
       "/api/v1/audit/verify",
       false,
       true,
       Payload::kJson,
       "Verify the stored audit chain: hashes, links and signed checkpoints",
       "auditor or admin, platform-wide",
       {}},
      {"audit.export",
       "GET",
       "/api/v1/audit/export",
       false,
       true,
       Payload::kBytesOut,
       "The whole audit chain as JSON lines, ending with a signed checkpoint",
       "auditor or admin, platform-wide",
       {}},
      {"audit.key",
       "GET",
       "/api/v1/audit/public-key",
       false,
       true,
       Payload::kJson,
       "The platform's public key, to verify exports offline",
       "any user",
       {}},
      {"data.register",
       "PUT",
       "/api/v1/projects/{project}/datasets/{name}",
       true,
       true,
       Payload::kBytesIn,
       "Register a CSV file as a version of a data set (the version is the file's digest)",
       "data-scientist on the project",
       {PathField("project", "project name"), PathField("name", "data set name"),
        Query("target", FieldType::kString, "the label column"),
        Query("timestamp", FieldType::kString, "the event time column"),
        Query("entity", FieldType::kString, "the key column"),
        Query("pii", FieldType::kString, "comma-separated columns holding personal data"),
        Query("protected", FieldType::kString,
              "comma-separated protected attributes (kept for fairness evaluation)"),
        Query("classification", FieldType::kString, "public, internal (default) or confidential")}},
      {"data.list",
       "GET",
       "/api/v1/datasets",
       false,
       true,
       Payload::kJson,
       "Data sets of the projects the caller has a role in, with their latest version",
       "any role on the project",
       {Query("project", FieldType::kString, "only this project")}},
      {"data.validate",
       "POST",
       "/api/v1/projects/{project}/datasets/{name}/validations",
       true,
       true,
       Payload::kJson,
       "Run a validation suite (YAML) on a data set version and record the result; the result's "
       "\"passed\" is false when a blocking expectation failed",
       "data-scientist or validator on the project",
       {PathField("project", "project name"), PathField("name", "data set name"),
        Body("version", FieldType::kString, false,
             "version digest or a unique prefix of at least 12 hex characters; default latest"),
        Body("suite", FieldType::kString, true, "the suite, as YAML text"),
        Body("suite_file", FieldType::kString, false, "the suite's file name, for error messages"),
        Body("reference", FieldType::kString, false,
             "data set NAME[@VERSION] in the same project to measure drift against"),
        Body("html", FieldType::kBoolean, false, "also return the HTML report")}},
      // Before data.show: a path parameter matches slashes, so the longer route must come first.
      {"data.profile",
       "GET",
       "/api/v1/projects/{project}/datasets/{name}/profile",
       false,
       true,
       Payload::kJson,
       "Column profile of a data set version; PII columns masked without PII access",
       "any role on the project (confidential data sets: the read is audited)",
       {PathField("project", "project name"), PathField("name", "data set name"),
        Query("version", FieldType::kString,
              "version digest or a unique prefix of at least 12 hex characters; default latest")}},
      {"data.show",
       "GET",
       "/api/v1/projects/{project}/datasets/{name}",
       false,
       true,
       Payload::kJson,
       "Schema, tags and version history of a data set",
       "any role on the project (confidential data sets: the read is audited)",
       {PathField("project", "project name"), PathField("name", "data set name"),
        Query("version", FieldType::kString,
              "version digest or a unique prefix of at least 12 hex characters; default latest")}},
      {"features.apply",
       "POST",
       "/api/v1/projects/{project}/features",
       true,
       true,
       Payload::kJson,
       "Apply a feature definition (YAML: entities, sources, feature views, feature services); "
       "sources are pinned to data set versions and every view is checked against its data",
       "data-scientist on the project",
       {PathField("project", "project name"),
        Body("definition", FieldType::kString, true, "the definition, as YAML text"),
        Body("file", FieldType::kString, false, "the definition's file name, for error messages"),
        Body("dry_run", FieldType::kBoolean, false,
             "check and show the changes without applying them")}},
      {"features.list",
       "GET",
       "/api/v1/projects/{project}/features",
       false,
       true,
       Payload::kJson,
       "The project's current feature views, services, entities and sources",
       "any role on the project",
       {PathField("project", "project name")}},
      // Before features.show: a path parameter matches slashes, so the longer route comes first.
      {"features.materialize",
       "POST",
       "/api/v1/projects/{project}/features/{name}/materialize",
       true,
       true,
       Payload::kJson,
       "Fill the online store with a feature view's values as of a time, incrementally from the "
       "last materialization",
       "data-scientist or deployer on the project",
       {PathField("project", "project name"), PathField("name", "feature view name"),
        Body("until", FieldType::kString, false,
             "RFC 3339 time to materialize up to (inclusive); default now")}},
      {"features.show",
       "GET",
       "/api/v1/projects/{project}/features/{name}",
       false,
       true,
       Payload::kJson,
       "A feature view or service: definition, version history, source, materializations",
       "any role on the project",
       {PathField("project", "project name"),
        PathField("name", "feature view or feature service name")}},
      {"features.get",
       "GET",
       "/api/v1/projects/{project}/online/{service}",
       false,
       true,
       Payload::kJson,
       "Online feature values of one entity for a feature service",
       "any role on the project",
       {PathField("project", "project name"), PathField("service", "feature service name"),
        Query("entity", FieldType::kString,
              "the entity key; KEY=ID,KEY=ID for services over several entities")}},
      {"features.training_set",
       "POST",
       "/api/v1/projects/{project}/training-sets",
       true,
       true,
       Payload::kJson,
       "Build a training set: each spine row (entity, time, label) joined to the service's "
       "feature values as of its time, never later; recorded as a data set version",
       "data-scientist on the project",
       {PathField("project", "project name"),
        Body("service", FieldType::kString, true, "feature service name"),
        Body("spine", FieldType::kString, true, "spine data set NAME[@VERSION] in the project"),
        Body("timestamp", FieldType::kString, false,
             "the spine's time column (default: the spine's timestamp tag, else 'timestamp')"),
        Body("include_equal_timestamps", FieldType::kBoolean, false,
             "let a feature row at exactly the spine time count (default false)"),
        Body("name", FieldType::kString, false,
             "data set to record the training set as (default SERVICE_training)")}},
      {"lineage.show",
       "GET",
       "/api/v1/projects/{project}/lineage",
       false,
       true,
       Payload::kJson,
       "What an object was made from and what was made from it: data set versions, validation "
       "results, feature views, training sets",
       "any role on the project",
       {PathField("project", "project name"),
        Query("ref", FieldType::kString,
              "dataset/NAME[@VERSION], feature_view/NAME[@VERSION], training_set/ID or "
              "validation/ID")}},
      {"experiment.list",
       "GET",
       "/api/v1/projects/{project}/experiments",
       false,
       true,
       Payload::kJson,
       "Experiments of a project, with their number of runs",
       "any role on the project",
       {PathField("project", "project name")}},
      {"run.create",
       "POST",
       "/api/v1/projects/{project}/runs",
       true,
       true,
       Payload::kJson,
       "Start a tracked run in an experiment (created if absent)",
       "data-scientist on the project",
       {PathField("project", "project name"),
        Body("experiment", FieldType::kString, true, "experiment name"),
        Body("name", FieldType::kString, false, "run name (default: the run id)"),
        Body("parent", FieldType::kString, false, "parent run id (tuning trials)"),
        Body("source", FieldType::kString, false, "what produced the run, e.g. a script")}},
      {"run.log",
       "POST",
       "/api/v1/runs/{id}/log",
       true,
       true,
       Payload::kJson,
       "Log params, metrics and tags of a running run in one batch (all or nothing)",
       "data-scientist on the run's project",
       {PathField("id", "run id"),
        Body("params", FieldType::kObject, false, "{key: value} (strings; set once)"),
        Body("metrics", FieldType::kJson, false,
             "[{key, value, step (default 0), time (RFC 3339, default now)}] or {key: value}"),
        Body("tags", FieldType::kObject, false, "{key: value} (strings; mutable)")}},
      {"run.log_artifact",
       "POST",
       "/api/v1/runs/{id}/artifacts",
       true,
       true,
       Payload::kJson,
       "Record an artifact of the run's project as an output of the run",
       "data-scientist on the run's project",
       {PathField("id", "run id"),
        Body("path", FieldType::kString, true, "the artifact's path within the run"),
        Body("digest", FieldType::kString, true, "sha256:<64 hex>, stored in the project")}},
      {"run.finish",
       "POST",
       "/api/v1/runs/{id}/status",
       true,
       true,
       Payload::kJson,
       "End a run: FINISHED, FAILED or KILLED",
       "data-scientist on the run's project",
       {PathField("id", "run id"),
        Body("status", FieldType::kString, false, "FINISHED (default), FAILED or KILLED")}},
      // Before run.show: a path parameter matches slashes, so the longer route comes first.
      {"run.metric_history",
       "GET",
       "/api/v1/runs/{id}/metrics/{key}",
       false,
       true,
       Payload::kJson,
       "Every point of one metric of a run",
       "any role on the run's project",
       {PathField("id", "run id"), PathField("key", "metric key")}},
      {"run.show",
       "GET",
       "/api/v1/runs/{id}",
       false,
       true,
       Payload::kJson,
       "A run: status, times, params, latest metrics, tags, artifacts",
       "any role on the run's project",
       {PathField("id", "run id")}},
      {"run.search",
       "POST",
       "/api/v1/projects/{project}/runs/search",
       false,
       true,
       Payload::kJson,
       "Runs matching an expression filter, ordered and paged (docs/formats/tracking.md)",
       "any role on the project",
       {PathField("project", "project name"),
        Body("experiments", FieldType::kArray, false, "experiment names (default all)"),
        Body("filter", FieldType::kString, false,
             "expression, e.g. metrics.test_auc > 0.7 && params.max_depth == \"4\""),
        Body("order_by", FieldType::kArray, false,
             "keys such as \"metrics.test_auc desc\", \"attributes.start_time\""),
        Body("max_results", FieldType::kInteger, false, "page size (default 100)"),
        Body("page_token", FieldType::kString, false, "from the previous page")}},
  };
}

bool TypeMatches(FieldType type, const Json& value) {
  switch (type) {
    case FieldType::kString:
      return value.is_string();
    case FieldType::kInteger:
      return value.is_number_integer();
    case FieldType::kBoolean:
      return value.is_boolean();
    case FieldType::kArray:
      return value.is_array();
    case FieldType::kObject:
      return value.is_object();
    case FieldType::kJson:
      return true;
  }
  return false;
}

}  // namespace

const std::vector<OperationSpec>& Operations() {
  static const std::vector<OperationSpec>* ops = new std::vector<OperationSpec>(BuildOperations());
  return *ops;
}

const OperationSpec* FindOperation(const std::string& name) {
  for (const auto& op : Operations()) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

std::string FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kArray:
      return "array";
    case FieldType::kObject:
      return "object";
    case FieldType::kJson:
      return "any";
  }
  return "unknown";
}

Status ValidateRequest(const OperationSpec& spec, const Json& request) {
  if (!request.is_object()) {
    return absl::InvalidArgumentError(spec.name + ": the request must be a JSON object");
  }
  for (const auto& [key, value] : request.items()) {
    const FieldSpec* field = nullptr;
    for (const auto& f : spec.fields) {
      if (f.name == key) field = &f;
    }
    if (field == nullptr) {
      std::vector<std::string> names;
      for (const auto& f : spec.fields) names.push_back(f.name);
      return absl::InvalidArgumentError(spec.name + ": unknown field '" + key + "'" +
                                        (names.empty()
                                             ? std::string("; this operation takes no fields")
                                             : "; expected one of: " + absl::StrJoin(names, ", ")));
    }
    if (!value.is_null() && !TypeMatches(field->type, value)) {
      return absl::InvalidArgumentError(spec.name + ": field '" + key + "' must be a " +
                                        FieldTypeName(field->type));
    }
  }
  for (const auto& f : spec.fields) {
    if (f.required && (!request.contains(f.name) || request[f.name].is_null())) {
      return absl::InvalidArgumentError(spec.name + ": missing required field '" + f.name + "' (" +
                                        f.description + ")");
    }
  }
  return absl::OkStatus();
}

}  // namespace plinth
