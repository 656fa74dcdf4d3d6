#include "store/schema.h"

namespace plinth {

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration>* migrations = new std::vector<Migration>{
      {1,
       "kernel: identity, artifacts, audit chain",
       {
           "CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
           "created_at BIGINT NOT NULL, created_by TEXT NOT NULL)",
           "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
           "created_at BIGINT NOT NULL, created_by TEXT NOT NULL)",
           // project_id '*' binds a role on every project (platform-wide).
           "CREATE TABLE role_bindings (user_id TEXT NOT NULL REFERENCES users(id), "
           "project_id TEXT NOT NULL, role TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "PRIMARY KEY (user_id, project_id, role))",
           "CREATE TABLE tokens (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), "
           "token_hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, expires_at BIGINT, "
           "revoked_at BIGINT, created_by TEXT NOT NULL)",
           "CREATE INDEX tokens_user ON tokens(user_id)",
           "CREATE TABLE artifacts (project_id TEXT NOT NULL REFERENCES projects(id), "
           "digest TEXT NOT NULL, size BIGINT NOT NULL, created_at BIGINT NOT NULL, "
           "created_by TEXT NOT NULL, PRIMARY KEY (project_id, digest))",
           "CREATE INDEX artifacts_digest ON artifacts(digest)",
           // The audit chain: `record` is the canonical JSON that `hash` covers.
           "CREATE TABLE audit_records (seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, "
           "actor TEXT NOT NULL, action TEXT NOT NULL, project TEXT NOT NULL, "
           "outcome TEXT NOT NULL, record TEXT NOT NULL, hash TEXT NOT NULL)",
           // One row: the chain's last sequence number and hash. Updating it first serialises
           // audited writers (a row lock on PostgreSQL, the write lock on SQLite).
           "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, "
           "hash TEXT NOT NULL)",
           "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, "
           "'sha256:0000000000000000000000000000000000000000000000000000000000000000')",
           "CREATE TABLE audit_checkpoints (seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, "
           "hash TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL)",
       }},
      {2,
       "data sets: registered, versioned CSV files with schema, tags and profile",
       {
           "CREATE TABLE datasets (id TEXT PRIMARY KEY, "
           "project_id TEXT NOT NULL REFERENCES projects(id), name TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, created_by TEXT NOT NULL, UNIQUE (project_id, name))",
           // version: hex SHA-256 of the CSV file (file_digest without "sha256:"); seq orders the
           // versions of one data set (1, 2, ...). schema, tags and profile are JSON.
           "CREATE TABLE dataset_versions (dataset_id TEXT NOT NULL REFERENCES datasets(id), "
           "version TEXT NOT NULL, seq BIGINT NOT NULL, file_digest TEXT NOT NULL, "
           "snapshot_digest TEXT NOT NULL, size BIGINT NOT NULL, num_rows BIGINT NOT NULL, "
           "num_columns BIGINT NOT NULL, classification TEXT NOT NULL, schema_json TEXT NOT NULL, "
           "tags_json TEXT NOT NULL, profile_json TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "created_by TEXT NOT NULL, PRIMARY KEY (dataset_id, version), "
           "UNIQUE (dataset_id, seq))",
       }},
      {3,
       "data validation results",
       {
           // One run of a validation suite on a data set version; result_json is the
           // plinth.validation_result document (docs/validation.md) that gates read.
           "CREATE TABLE validation_results (id TEXT PRIMARY KEY, dataset_id TEXT NOT NULL "
           "REFERENCES datasets(id), version TEXT NOT NULL, suite_name TEXT NOT NULL, "
           "suite_digest TEXT NOT NULL, reference TEXT NOT NULL, passed BIGINT NOT NULL, "
           "blocking_failures BIGINT NOT NULL, warning_failures BIGINT NOT NULL, "
           "result_json TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL)",
           "CREATE INDEX validation_results_version ON validation_results(dataset_id, version)",
       }},
      {4,
       "feature store: applied definitions, view versions, materializations, training sets, "
       "lineage",
       {
           // Every applied definition file of a project (seq 1, 2, ...); the highest seq is the
           // current one. repo_json is the canonical plinth.feature_repo document, digest its
           // SHA-256.
           "CREATE TABLE feature_repos (project_id TEXT NOT NULL REFERENCES projects(id), "
           "seq BIGINT NOT NULL, digest TEXT NOT NULL, file_name TEXT NOT NULL, "
           "repo_json TEXT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL, "
           "PRIMARY KEY (project_id, seq))",
           // Each version a feature view or service has had (a view's version covers its source
           // data set version), with the definition seq that introduced it.
           "CREATE TABLE feature_versions (project_id TEXT NOT NULL REFERENCES projects(id), "
           "kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, "
           "repo_seq BIGINT NOT NULL, spec_json TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "created_by TEXT NOT NULL, PRIMARY KEY (project_id, kind, name, version))",
           // One run of `features materialize`: the view version and the time range it covered.
           "CREATE TABLE materializations (id TEXT PRIMARY KEY, "
           "project_id TEXT NOT NULL REFERENCES projects(id), view TEXT NOT NULL, "
           "view_version TEXT NOT NULL, from_micros BIGINT, until_micros BIGINT NOT NULL, "
           "entities BIGINT NOT NULL, created_at BIGINT NOT NULL, created_by TEXT NOT NULL)",
           "CREATE INDEX materializations_view ON materializations(project_id, view)",
           // A training set: the service (and version) it was built for, from which spine, into
           // which data set version; spec_json lists the views, sources and validations used.
           "CREATE TABLE training_sets (id TEXT PRIMARY KEY, "
           "project_id TEXT NOT NULL REFERENCES projects(id), service TEXT NOT NULL, "
           "service_version TEXT NOT NULL, spine TEXT NOT NULL, output TEXT NOT NULL, "
           "rows BIGINT NOT NULL, spec_json TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "created_by TEXT NOT NULL)",
           // Lineage: "what was made from what", as edges between references such as
           // dataset/NAME@VERSION, validation/ID, feature_view/NAME@VERSION, training_set/ID.
           "CREATE TABLE lineage_edges (project_id TEXT NOT NULL REFERENCES projects(id), "
           "from_ref TEXT NOT NULL, to_ref TEXT NOT NULL, relation TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, PRIMARY KEY (project_id, from_ref, to_ref))",
           "CREATE INDEX lineage_edges_to ON lineage_edges(project_id, to_ref)",
       }},
      {5,
       "experiment tracking: experiments, runs, params, metrics (history and latest), tags, "
       "artifacts",
       {
           "CREATE TABLE experiments (id TEXT PRIMARY KEY, "
           "project_id TEXT NOT NULL REFERENCES projects(id), name TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, created_by TEXT NOT NULL, UNIQUE (project_id, name))",
           // status: RUNNING, FINISHED, FAILED or KILLED; end_time is set with a terminal status.
           // parent_run_id: the run a tuning trial belongs to (same experiment).
           "CREATE TABLE runs (id TEXT PRIMARY KEY, "
           "experiment_id TEXT NOT NULL REFERENCES experiments(id), "
           "parent_run_id TEXT REFERENCES runs(id), name TEXT NOT NULL, status TEXT NOT NULL, "
           "start_time BIGINT NOT NULL, end_time BIGINT, created_by TEXT NOT NULL, "
           "source TEXT NOT NULL)",
           "CREATE INDEX runs_experiment ON runs(experiment_id, id)",
           "CREATE INDEX runs_parent ON runs(parent_run_id)",
           // The key tables repeat the run's experiment so that a search reads one key of one
           // experiment as a single range of a covering index (experiment, key, value, run):
           // sequential reads, never a lookup per run.
           // Params are set once: a different value for a key is refused.
           "CREATE TABLE run_params (run_id TEXT NOT NULL REFERENCES runs(id), "
           "experiment_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
           "PRIMARY KEY (run_id, key))",
           "CREATE INDEX run_params_search ON run_params(experiment_id, key, value, run_id)",
           // Every metric point logged, duplicates included. value NULL is NaN (SQLite cannot
           // store a NaN; NULL compares false in SQL as NaN does in the filter language). No
           // foreign key: PostgreSQL checks one with a query per inserted row, a fifth of the cost
           // of a 1,000-point batch, while LogBatch checks the run once in the same transaction
           // (and runs are never deleted).
           "CREATE TABLE run_metrics (run_id TEXT NOT NULL, "
           "key TEXT NOT NULL, step BIGINT NOT NULL, time BIGINT NOT NULL, "
           "value DOUBLE PRECISION)",
           "CREATE INDEX run_metrics_history ON run_metrics(run_id, key, step, time)",
           // The latest point of each metric of a run (highest step, then latest time, then
           // logged last), kept up to date on every insert so searches never read the history.
           "CREATE TABLE run_latest_metrics (run_id TEXT NOT NULL REFERENCES runs(id), "
           "experiment_id TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE PRECISION, "
           "step BIGINT NOT NULL, time BIGINT NOT NULL, PRIMARY KEY (run_id, key))",
           "CREATE INDEX run_latest_metrics_search ON "
           "run_latest_metrics(experiment_id, key, value, run_id)",
           // Tags may be changed at any time; the last value set wins.
           "CREATE TABLE run_tags (run_id TEXT NOT NULL REFERENCES runs(id), "
           "experiment_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
           "PRIMARY KEY (run_id, key))",
           "CREATE INDEX run_tags_search ON run_tags(experiment_id, key, value, run_id)",
           // Files a run produced, by path within the run; the content is the artifact `digest`
           // names (blob/), which the run's project must hold.
           "CREATE TABLE run_artifacts (run_id TEXT NOT NULL REFERENCES runs(id), "
           "path TEXT NOT NULL, digest TEXT NOT NULL, size BIGINT NOT NULL, "
           "created_at BIGINT NOT NULL, PRIMARY KEY (run_id, path))",
       }},
      {6,
       "pipeline runs: the tracked run of each pipeline run, its steps as executions, and the "
       "step cache",
       {
           // One row per pipeline run; run_id is its tracked run (experiment = pipeline name).
           // state: running, succeeded, failed or cancelled.
           "CREATE TABLE pipeline_runs (run_id TEXT PRIMARY KEY REFERENCES runs(id), "
           "project_id TEXT NOT NULL REFERENCES projects(id), pipeline TEXT NOT NULL, "
           "spec_digest TEXT NOT NULL, params_json TEXT NOT NULL, state TEXT NOT NULL, "
           "message TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT, "
           "created_by TEXT NOT NULL)",
           "CREATE INDEX pipeline_runs_latest ON pipeline_runs(project_id, pipeline, started_at)",
           // Each step of a run as it ended (an execution): outputs, metrics and summary are
           // JSON; log_digest names the step's log, an artifact of the project.
           "CREATE TABLE pipeline_steps (run_id TEXT NOT NULL REFERENCES pipeline_runs(run_id), "
           "step TEXT NOT NULL, type TEXT NOT NULL, state TEXT NOT NULL, cache_key TEXT NOT NULL, "
           "outputs_json TEXT NOT NULL, metrics_json TEXT NOT NULL, summary_json TEXT NOT NULL, "
           "log_digest TEXT NOT NULL, attempts BIGINT NOT NULL, message TEXT NOT NULL, "
           "started_at BIGINT NOT NULL, finished_at BIGINT NOT NULL, "
           "PRIMARY KEY (run_id, step))",
           // Cache key -> a succeeded step's result (outputs by digest, metrics, summary), per
           // project: a project never reuses another's results.
           "CREATE TABLE step_cache (project_id TEXT NOT NULL REFERENCES projects(id), "
           "cache_key TEXT NOT NULL, result_json TEXT NOT NULL, run_id TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, PRIMARY KEY (project_id, cache_key))",
       }},
      {7,
       "experiment tracking: metric history indexed in buckets of a run's points, so a batch of "
       "many keys writes a few index pages instead of one per key",
       {
           // The points a run has logged so far; LogBatch puts a batch in bucket
           // metric_points / 8192 (before the batch), so each bucket holds ~8,192 points in
           // arrival order, indexed by key within the bucket (docs/formats/tracking.md).
           "ALTER TABLE runs ADD COLUMN metric_points BIGINT NOT NULL DEFAULT 0",
           "UPDATE runs SET metric_points = "
           "(SELECT COUNT(*) FROM run_metrics m WHERE m.run_id = runs.id)",
           // Points logged before this migration are all in bucket 0.
           "ALTER TABLE run_metrics ADD COLUMN bucket BIGINT NOT NULL DEFAULT 0",
           "CREATE INDEX run_metrics_bucket_history ON run_metrics(run_id, bucket, key, step, "
           "time)",
           "DROP INDEX run_metrics_history",
       }},
      {8,
       "model registry and governance: registered models, versions, aliases, stage history, "
       "approval requests and decisions, attestations, policies and their decisions",
       {
           // A registered model: its governance metadata. risk_tier 1 (high) to 3 (low).
           "CREATE TABLE registered_models (project_id TEXT NOT NULL REFERENCES projects(id), "
           "name TEXT NOT NULL, owner TEXT NOT NULL, description TEXT NOT NULL, "
           "risk_tier BIGINT NOT NULL, intended_use TEXT NOT NULL, limitations TEXT NOT NULL, "
           "regulatory_scope_json TEXT NOT NULL, created_by TEXT NOT NULL, "
           "created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (project_id, "
           "name))",
           // A version: the package's files by artifact digest (files_json, manifest.json
           // included; digest is manifest.json's), where it came from, its evidence (artifact
           // digests of evaluation, explanations, fairness), the import scan, the current stage
           // and the generated documents.
           "CREATE TABLE model_versions (project_id TEXT NOT NULL, name TEXT NOT NULL, "
           "version BIGINT NOT NULL, digest TEXT NOT NULL, kind TEXT NOT NULL, "
           "source TEXT NOT NULL, run_id TEXT NOT NULL, author TEXT NOT NULL, "
           "registered_by TEXT NOT NULL, created_at BIGINT NOT NULL, stage TEXT NOT NULL, "
           "files_json TEXT NOT NULL, manifest_json TEXT NOT NULL, evidence_json TEXT NOT NULL, "
           "scan_json TEXT NOT NULL, documents_json TEXT NOT NULL, "
           "PRIMARY KEY (project_id, name, version), "
           "FOREIGN KEY (project_id, name) REFERENCES registered_models(project_id, name))",
           "CREATE INDEX model_versions_stage ON model_versions(project_id, stage)",
           "CREATE TABLE model_aliases (project_id TEXT NOT NULL, name TEXT NOT NULL, "
           "alias TEXT NOT NULL, version BIGINT NOT NULL, set_by TEXT NOT NULL, "
           "set_at BIGINT NOT NULL, PRIMARY KEY (project_id, name, alias))",
           // Every stage change, so "what was in production at time T" is a query.
           "CREATE TABLE model_stage_history (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, from_stage TEXT NOT NULL, "
           "to_stage TEXT NOT NULL, at BIGINT NOT NULL, by_user TEXT NOT NULL, "
           "request_id TEXT NOT NULL, attestation_digest TEXT NOT NULL)",
           "CREATE INDEX model_stage_history_model ON model_stage_history(project_id, name, at)",
           // Approval requests are bound to the version's digest and the target stage; state:
           // open, rejected, withdrawn or promoted.
           "CREATE TABLE approval_requests (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, digest TEXT NOT NULL, "
           "stage TEXT NOT NULL, requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL, "
           "state TEXT NOT NULL, closed_at BIGINT, closed_by TEXT NOT NULL, reason TEXT NOT NULL)",
           "CREATE INDEX approval_requests_version ON approval_requests(project_id, name, version)",
           // decision: validate, approve or reject; role is the part the actor played.
           "CREATE TABLE approval_decisions (id TEXT PRIMARY KEY, request_id TEXT NOT NULL "
           "REFERENCES approval_requests(id), decision TEXT NOT NULL, actor TEXT NOT NULL, "
           "token_id TEXT NOT NULL, role TEXT NOT NULL, at BIGINT NOT NULL, "
           "comment TEXT NOT NULL, digest TEXT NOT NULL, stage TEXT NOT NULL, "
           "policy_decision_digest TEXT NOT NULL, attestation_digest TEXT NOT NULL)",
           "CREATE INDEX approval_decisions_request ON approval_decisions(request_id, at)",
           // Signed envelopes (artifacts) per version: provenance at registration, one per
           // approval decision and promotion.
           "CREATE TABLE model_attestations (digest TEXT NOT NULL, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, predicate_type TEXT NOT NULL, "
           "subject TEXT NOT NULL, created_at BIGINT NOT NULL, "
           "PRIMARY KEY (project_id, name, version, digest))",
           // Policies per project; each apply of a changed policy adds a row (highest seq is
           // current).
           "CREATE TABLE policies (project_id TEXT NOT NULL REFERENCES projects(id), "
           "name TEXT NOT NULL, seq BIGINT NOT NULL, digest TEXT NOT NULL, "
           "policy_json TEXT NOT NULL, source TEXT NOT NULL, applied_by TEXT NOT NULL, "
           "applied_at BIGINT NOT NULL, PRIMARY KEY (project_id, name, seq))",
           "CREATE TABLE policy_decisions (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, gate TEXT NOT NULL, "
           "decision_json TEXT NOT NULL, digest TEXT NOT NULL, passed BIGINT NOT NULL, "
           "at BIGINT NOT NULL, by_user TEXT NOT NULL)",
           "CREATE INDEX policy_decisions_version ON policy_decisions(project_id, name, version, "
           "gate, at)",
       }},
      {9,
       "deployments and their history; monitoring: alert thresholds, drift and performance "
       "reports, alerts, outcome labels",
       {
           // One row per (project, model, environment): the primary version serving it, an
           // optional canary taking canary_percent of the traffic and an optional shadow scored
           // beside the primary; state: active or stopped. generation grows on every change so a
           // serving process notices changes with one cheap query.
           "CREATE TABLE deployments (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, environment TEXT NOT NULL, version BIGINT NOT NULL, "
           "digest TEXT NOT NULL, canary_version BIGINT NOT NULL, canary_digest TEXT NOT NULL, "
           "canary_percent BIGINT NOT NULL, shadow_version BIGINT NOT NULL, "
           "shadow_digest TEXT NOT NULL, state TEXT NOT NULL, generation BIGINT NOT NULL, "
           "updated_at BIGINT NOT NULL, updated_by TEXT NOT NULL, reason TEXT NOT NULL, "
           "UNIQUE (project_id, name, environment))",
           "CREATE INDEX deployments_environment ON deployments(environment)",
           // Every change of a deployment (deploy, canary, shadow, rollback, stop), with the
           // configuration after it, so "what served when" is a query.
           "CREATE TABLE deployment_history (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, environment TEXT NOT NULL, action TEXT NOT NULL, "
           "version BIGINT NOT NULL, canary_version BIGINT NOT NULL, "
           "canary_percent BIGINT NOT NULL, shadow_version BIGINT NOT NULL, state TEXT NOT NULL, "
           "at BIGINT NOT NULL, by_user TEXT NOT NULL, reason TEXT NOT NULL)",
           "CREATE INDEX deployment_history_model ON deployment_history(project_id, name, "
           "environment, at)",
           // Monitoring: the alert thresholds per model (YAML as applied), each drift or
           // performance check's report, the alerts raised, and ground-truth labels keyed by the
           // decision record's id.
           "CREATE TABLE monitor_configs (project_id TEXT NOT NULL, name TEXT NOT NULL, "
           "yaml TEXT NOT NULL, digest TEXT NOT NULL, applied_by TEXT NOT NULL, "
           "applied_at BIGINT NOT NULL, PRIMARY KEY (project_id, name))",
           "CREATE TABLE monitor_reports (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, kind TEXT NOT NULL, "
           "source TEXT NOT NULL, rows BIGINT NOT NULL, report_digest TEXT NOT NULL, "
           "summary_json TEXT NOT NULL, at BIGINT NOT NULL, by_user TEXT NOT NULL)",
           "CREATE INDEX monitor_reports_model ON monitor_reports(project_id, name, at)",
           "CREATE TABLE monitor_alerts (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
           "name TEXT NOT NULL, version BIGINT NOT NULL, report_id TEXT NOT NULL, "
           "rule TEXT NOT NULL, metric TEXT NOT NULL, feature TEXT NOT NULL, "
           "value DOUBLE PRECISION NOT NULL, threshold DOUBLE PRECISION NOT NULL, "
           "severity TEXT NOT NULL, message TEXT NOT NULL, webhook_status TEXT NOT NULL, "
           "at BIGINT NOT NULL)",
           "CREATE INDEX monitor_alerts_model ON monitor_alerts(project_id, name, at)",
           "CREATE TABLE outcome_labels (project_id TEXT NOT NULL, name TEXT NOT NULL, "
           "decision_id TEXT NOT NULL, label DOUBLE PRECISION NOT NULL, "
           "observed_at BIGINT NOT NULL, loaded_at BIGINT NOT NULL, loaded_by TEXT NOT NULL, "
           "PRIMARY KEY (project_id, name, decision_id))",
       }},
  };
  return *migrations;
}

}  // namespace plinth
