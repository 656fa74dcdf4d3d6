// Internal to the platform module: what the registry's handlers share (registry_handlers.cc,
// approval_handlers.cc, policy_handlers.cc). Store migration 8 holds the tables; docs/registry.md
// is the user's view.
//
// A model version's evidence (docs/evidence.md) is assembled from the records on demand, never
// stored as one blob: policies, the model card, the validation report and the lineage diagram
// all read the same JSON, so they cannot disagree.
#ifndef PLINTH_PLATFORM_MODEL_REGISTRY_H_
#define PLINTH_PLATFORM_MODEL_REGISTRY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth/identity.h"
#include "core/json.h"
#include "core/status.h"
#include "platform/operation_context.h"
#include "policy/policy.h"

namespace plinth {

struct ModelPackage;

// Stages in their order; a version moves forward only (archived is the end).
inline constexpr const char* kStageNone = "none";
inline constexpr const char* kStageStaging = "staging";
inline constexpr const char* kStageProduction = "production";
inline constexpr const char* kStageArchived = "archived";
bool IsTargetStage(const std::string& stage);

struct RegisteredModel {
  std::string name;
  std::string owner;
  std::string description;
  int64_t risk_tier = 2;
  std::string intended_use;
  std::string limitations;
  Json regulatory_scope = Json::array();
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  Json ToJson() const;
};

struct ModelVersionRow {
  std::string name;
  int64_t version = 0;
  std::string digest;  // sha256 of manifest.json
  std::string kind;
  std::string source;  // "run" or "files"
  std::string run_id;
  std::string author;  // the run's owner, or the registrant
  std::string registered_by;
  int64_t created_at = 0;
  std::string stage;
  Json files = Json::object();      // package file name -> artifact digest
  Json manifest = Json::object();   // manifest.json as JSON
  Json evidence = Json::object();   // {"evaluation"|"explanations"|"fairness": artifact digest}
  Json scan = nullptr;              // the import scan result
  Json documents = Json::object();  // document name -> artifact digest
  std::string Ref() const { return name + "@" + std::to_string(version); }
  // The people who may not validate or approve it: registrant and run owner.
  std::vector<std::string> Authors() const;
  Json ToJson() const;
};

StatusOr<RegisteredModel> FindModel(OpContext& ctx, const Project& p, const std::string& name);
// `ref` is a version number, an alias, a stage name (the version now in it) or "latest".
StatusOr<ModelVersionRow> FindModelVersion(OpContext& ctx, const Project& p,
                                           const std::string& name, const std::string& ref);
StatusOr<std::vector<ModelVersionRow>> ListModelVersions(OpContext& ctx, const Project& p,
                                                         const std::string& name);
// The version `ref` of NAME in `project` after authorising `permission` on it (and setting the
// audit record's project and resource).
struct VersionInProject {
  Project project;
  RegisteredModel model;
  ModelVersionRow version;
};
StatusOr<VersionInProject> AuthorizeVersion(OpContext& ctx, const Json& req, Permission permission);

// Stores `bytes` as an artifact held by the project; returns its digest.
StatusOr<std::string> StoreArtifact(OpContext& ctx, const Project& p, const std::string& bytes);
// The artifact's bytes (verified on read).
StatusOr<std::string> ReadArtifact(OpContext& ctx, const std::string& digest);

// The evidence of a version (docs/evidence.md), as policies and documents read it.
StatusOr<Json> BuildEvidence(OpContext& ctx, const Project& p, const RegisteredModel& model,
                             const ModelVersionRow& version);

// Renders the documents from `evidence` (card JSON, Markdown, HTML; validation report; lineage
// DOT, SVG and JSON), stores each as an artifact and records them on the version. Returns
// {name: digest}.
StatusOr<Json> WriteDocuments(OpContext& ctx, const Project& p, ModelVersionRow& version,
                              const Json& evidence);

// Signs `statement` with the platform's key, stores the envelope as an artifact and records it
// against the version. Returns the envelope's digest.
StatusOr<std::string> StoreAttestation(OpContext& ctx, const Project& p,
                                       const ModelVersionRow& version, const Json& statement,
                                       const std::string& predicate_type,
                                       const std::string& subject);

// The project's current policies (the highest seq of each name).
StatusOr<std::vector<policy::Policy>> CurrentPolicies(OpContext& ctx, const Project& p);
// Evaluates every current policy at `gate` and records each decision. Returns
// {"gate", "passed", "decisions": [...], "digest"} where digest names the combined decision.
StatusOr<Json> CheckGate(OpContext& ctx, const Project& p, const RegisteredModel& model,
                         const ModelVersionRow& version, const Json& evidence,
                         const std::string& gate);
// "rule min_test_auc: test AUC must be at least 0.65; ..." for the blocking failures of a
// CheckGate result.
std::string BlockingFailures(const Json& gate_result);

// Re-hashes every file of `version` from the artifact store and verifies every attestation
// against the trusted keys (the platform key and HOME/keys/trusted/*.pub). DataLoss naming the
// file or attestation that fails; a version without provenance is never trusted. Returns
// {"ref", "project", "verified", "digest", "files", "attestations", "key_id"}.
StatusOr<Json> VerifyVersion(OpContext& ctx, const Project& project,
                             const ModelVersionRow& version);

// The baseline of a version registered from a run (monitor/baseline.h): the training data set's
// feature distributions and the package's scores on it, stored as an artifact. Returns its digest,
// or "" when the package names no data set of the project (an import).
StatusOr<std::string> ComputeAndStoreBaseline(OpContext& ctx, const Project& project,
                                              const ModelPackage& package);

// Handlers.
void AddRegistryHandlers(HandlerMap* handlers);
void AddApprovalHandlers(HandlerMap* handlers);
void AddPolicyHandlers(HandlerMap* handlers);
void AddDeploymentHandlers(HandlerMap* handlers);
void AddEdgeHandlers(HandlerMap* handlers);
void AddMonitorHandlers(HandlerMap* handlers);

}  // namespace plinth

#endif  // PLINTH_PLATFORM_MODEL_REGISTRY_H_
