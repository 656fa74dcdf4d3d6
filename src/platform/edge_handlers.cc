// Edge bundles (docs/edge.md): model.export_edge.
//
//   model.export_edge   compiles an approved version for offline scoring and signs the result.
//                       The version must be approved (stage staging or production), every file
//                       and attestation must verify, and the project's `deploy` policy gate must
//                       pass, as for a deployment. The package is read back from the artifact
//                       store, compiled (serve/compile.h) and stored as model.plc; an edge bundle
//                       statement (registry/attestation.h) binding model.plc and manifest.json to
//                       the signed package and to the approvals is signed and recorded against
//                       the version. Returns the bundle's files by artifact digest, for the CLI to
//                       download (`plinth export edge`).
// Compiling and signing run inside the write transaction that records them (as registration
// does), so no attestation names a model.plc the artifact store lacks.
#include "core/clock.h"
#include "platform/model_registry.h"
#include "platform/platform.h"
#include "registry/attestation.h"
#include "serve/compile.h"
#include "serve/compiled_format.h"
#include "train/model_package.h"

namespace plinth {
namespace {

// The approval and promotion attestations that took `v` to its current stage: the promotion
// recorded in the stage history, and the decisions on the request it carried out.
StatusOr<std::vector<registry::AttestationRef>> ApprovalsForStage(OpContext& ctx, const Project& p,
                                                                  const ModelVersionRow& v) {
  ASSIGN_OR_RETURN(QueryResult promoted,
                   ctx.tx.Query("SELECT request_id, attestation_digest FROM model_stage_history "
                                "WHERE project_id = ? AND name = ? AND version = ? AND "
                                "to_stage = ? ORDER BY at DESC, id DESC",
                                {p.id, v.name, v.version, v.stage}));
  if (promoted.rows.empty() || promoted.TextOrEmpty(0, 1).empty()) {
    return absl::DataLossError(v.Ref() + " is in stage '" + v.stage +
                               "' but no signed promotion to it is recorded");
  }
  std::vector<registry::AttestationRef> out = {
      {std::string(registry::kDecisionPromote), promoted.TextOrEmpty(0, 1)}};
  ASSIGN_OR_RETURN(QueryResult decided,
                   ctx.tx.Query("SELECT decision, attestation_digest FROM approval_decisions "
                                "WHERE request_id = ? AND decision IN ('validate', 'approve') "
                                "ORDER BY at, id",
                                {promoted.TextOrEmpty(0, 0)}));
  for (size_t i = 0; i < decided.rows.size(); ++i) {
    if (decided.TextOrEmpty(i, 1).empty()) continue;
    out.push_back({decided.TextOrEmpty(i, 0), decided.TextOrEmpty(i, 1)});
  }
  return out;
}

StatusOr<Json> ModelExportEdge(OpContext& ctx, const Json& req) {
  ASSIGN_OR_RETURN(VersionInProject vp, AuthorizeVersion(ctx, req, Permission::kModelDeploy));
  const ModelVersionRow& v = vp.version;
  ctx.audit.details = {{"digest", v.digest}, {"stage", v.stage}};
  if (v.stage != kStageStaging && v.stage != kStageProduction) {
    return absl::FailedPreconditionError(
        v.Ref() + " is in stage '" + v.stage +
        "' and is not approved: only versions in staging or production are exported (approve "
        "and promote it first: plinth models request-approval " +
        v.Ref() + " --stage staging)");
  }
  RETURN_IF_ERROR(VerifyVersion(ctx, vp.project, v).status());
  ASSIGN_OR_RETURN(Json evidence, BuildEvidence(ctx, vp.project, vp.model, v));
  ASSIGN_OR_RETURN(Json gate, CheckGate(ctx, vp.project, vp.model, v, evidence, "deploy"));
  ctx.audit.details["gate"] = gate["digest"];
  if (!gate["passed"].get<bool>()) {
    return absl::FailedPreconditionError("policy gate 'deploy' refused " + v.Ref() + ": " +
                                         BlockingFailures(gate));
  }
  ASSIGN_OR_RETURN(std::vector<registry::AttestationRef> approvals,
                   ApprovalsForStage(ctx, vp.project, v));

  // The package exactly as verified above, compiled from the stored bytes.
  std::map<std::string, std::string> files;
  std::vector<registry::Subject> package_files;
  for (const auto& [name, digest] : v.files.items()) {
    ASSIGN_OR_RETURN(files[name], ReadArtifact(ctx, digest.get<std::string>()));
    package_files.push_back({name, digest.get<std::string>()});
  }
  ASSIGN_OR_RETURN(ModelPackage package, ParseModelPackage(std::move(files)));
  StatusOr<CompiledModel> compiled = CompileModel(package);
  if (!compiled.ok()) {
    return Status(compiled.status().code(), v.Ref() + " (" + v.kind +
                                                ") cannot be compiled for the edge: " +
                                                std::string(compiled.status().message()));
  }
  ASSIGN_OR_RETURN(std::string compiled_digest,
                   StoreArtifact(ctx, vp.project, SerializeCompiledModel(*compiled)));

  registry::EdgeBundleInputs in;
  in.model = {vp.project.name, v.name, v.version, v.digest};
  in.package_files = std::move(package_files);
  in.compiled_digest = compiled_digest;
  in.compiled_format = kCompiledModelFormat;
  in.compiled_kind = std::string(CompiledKindName(compiled->kind()));
  in.stage = v.stage;
  in.approvals = approvals;
  in.exported_by = ctx.principal.user.name;
  in.exported_at = FormatTime(ctx.platform.clock()->NowMicros());
  in.request_id = ctx.audit.request_id;
  ASSIGN_OR_RETURN(
      std::string attestation,
      StoreAttestation(ctx, vp.project, v, registry::EdgeBundleStatement(in),
                       std::string(registry::kEdgeBundlePredicateType), "edge-bundle:" + v.stage));

  Json approvals_json = Json::array();
  for (const auto& a : approvals) {
    approvals_json.push_back({{"decision", a.decision}, {"digest", a.digest}});
  }
  const Json bundle_files = {{std::string(registry::kCompiledModelSubject), compiled_digest},
                             {std::string(kManifestFileName), v.digest},
                             {"attestation.json", attestation}};
  ctx.audit.details["files"] = bundle_files;
  ctx.audit.details["attestation"] = attestation;
  ctx.audit.details["approvals"] = approvals_json;
  return Json{{"ref", v.Ref()},
              {"project", vp.project.name},
              {"name", v.name},
              {"version", v.version},
              {"digest", v.digest},
              {"kind", v.kind},
              {"stage", v.stage},
              {"files", bundle_files},
              {"predicate_type", registry::kEdgeBundlePredicateType},
              {"key_id", ctx.platform.signing_key().KeyId()},
              {"compiled_format", kCompiledModelFormat},
              {"compiled_kind", in.compiled_kind},
              {"approvals", approvals_json},
              {"gate", gate["digest"]},
              {"exported_by", in.exported_by},
              {"exported_at", in.exported_at}};
}

}  // namespace

void AddEdgeHandlers(HandlerMap* handlers) { (*handlers)["model.export_edge"] = ModelExportEdge; }

}  // namespace plinth
