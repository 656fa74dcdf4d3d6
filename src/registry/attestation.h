// Attestations for the model registry: in-toto Statements v1 in DSSE envelopes signed with the
// platform's Ed25519 key. The format is docs/formats/attestation.md; in short:
//
// - A provenance statement (predicate SLSA provenance v1, build type kPipelineBuildType) is
//   written when a version is registered: its subjects are every file of the model package,
//   manifest.json included, and its predicate names the model version, the pipeline spec and
//   parameters, the data sets, feature definitions and environment it was built from, and the
//   generated documents (model card, validation report, lineage) as byproducts.
// - An approval statement (predicate kApprovalPredicateType) records one decision on a version:
//   validate, approve, reject or promote, by whom, in which role and stage, when, with the digest
//   of the policy decision that allowed it and the documents regenerated for it.
//
// - An edge bundle statement (predicate kEdgeBundlePredicateType) is written when an approved
//   version is exported for offline scoring (docs/edge.md): its subjects are exactly the bundle's
//   signed files, manifest.json and the compiled model (model.plc), and its predicate names the
//   model version, every file of the source package (so the compiled file is tied to the signed
//   package), the stage the version was approved for with the approval and promotion
//   attestations that took it there, who exported it and when, and the compiled format.
//
// Every statement names the model (project, name, version, digest of manifest.json) and lists
// files, so a signature belongs to exactly one version: a statement of credit@2 does not verify
// as credit@3, even if the packages are byte-identical.
//
// Digests are "sha256:<hex>" in the structs below (the platform's form) and in-toto DigestSets
// {"sha256": "<hex>"} inside statements. The builders are pure functions of their inputs (lists
// are sorted by name), and the payload is the statement's canonical JSON, so the same inputs give
// the same payload bytes and, Ed25519 being deterministic, the same signature.
#ifndef PLINTH_REGISTRY_ATTESTATION_H_
#define PLINTH_REGISTRY_ATTESTATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/signing.h"
#include "core/status.h"

namespace plinth::registry {

inline constexpr std::string_view kStatementType = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kProvenancePredicateType = "https://slsa.dev/provenance/v1";
inline constexpr std::string_view kApprovalPredicateType =
    "https://plinth.dev/attestation/approval/v1";
inline constexpr std::string_view kEdgeBundlePredicateType =
    "https://plinth.dev/attestation/edge-bundle/v1";
inline constexpr std::string_view kDssePayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kPipelineBuildType = "https://plinth.dev/pipeline/v1";

// The subject every statement must list besides the model files: the manifest is the package's
// identity (ModelRef::package_digest is its digest).
inline constexpr std::string_view kManifestSubject = "manifest.json";
// The compiled model of an edge bundle, its other subject.
inline constexpr std::string_view kCompiledModelSubject = "model.plc";

// The decisions an approval statement may record.
inline constexpr std::string_view kDecisionValidate = "validate";
inline constexpr std::string_view kDecisionApprove = "approve";
inline constexpr std::string_view kDecisionReject = "reject";
inline constexpr std::string_view kDecisionPromote = "promote";
bool IsApprovalDecision(std::string_view decision);

// One file of a model package.
struct Subject {
  std::string name;
  std::string digest;  // "sha256:<hex>"
};

// A document generated for a version (model card, validation report, lineage SVG), stored as an
// artifact and referenced from the attestation.
struct DocumentRef {
  std::string name;        // e.g. "model-card.html"
  std::string digest;      // "sha256:<hex>" of the stored artifact
  std::string media_type;  // e.g. "text/html"; "" to leave it out
};

// The model version a statement is about.
struct ModelRef {
  std::string project;
  std::string name;
  int64_t version = 0;
  std::string package_digest;  // "sha256:<hex>" of manifest.json
};

struct ProvenanceInputs {
  ModelRef model;
  std::vector<Subject> files;        // every file of the package, manifest.json included
  std::string pipeline;              // pipeline name
  std::string spec_digest;           // "sha256:<hex>" of the pipeline spec
  Json parameters = Json::object();  // the run's parameters
  std::string run_id;
  std::string step;  // the step that trained the model
  struct Dataset {
    std::string name, version, digest;
  };
  std::vector<Dataset> datasets;
  struct FeatureDefinition {
    std::string name, digest;
  };
  std::vector<FeatureDefinition> feature_definitions;
  std::string environment;  // "sha256:<hex>" of the environment (lock file, image), or ""
  std::string builder_id;   // e.g. "https://plinth.dev/platform/<key id>"
  std::string started_at, finished_at;  // RFC 3339; "" leaves the field out
  std::string registered_by;
  std::vector<DocumentRef> documents;
};

// The in-toto Statement of a version's provenance (docs/formats/attestation.md). Subjects are
// sorted by name; so are data sets, feature definitions and documents.
Json ProvenanceStatement(const ProvenanceInputs& in);

struct ApprovalInputs {
  ModelRef model;
  std::vector<Subject> files;  // as in ProvenanceInputs
  std::string decision;        // kDecisionValidate, ...Approve, ...Reject, ...Promote
  std::string actor;
  std::string role;
  std::string stage;  // the stage the decision is about, e.g. "production"
  std::string at;     // RFC 3339
  std::string comment;
  std::string policy_decision_digest;  // "sha256:<hex>" of the stored policy decision, "" if none
  std::string request_id;
  std::vector<DocumentRef> documents;  // documents regenerated on this change
};

// The in-toto Statement of one approval decision.
Json ApprovalStatement(const ApprovalInputs& in);

// An attestation referenced from another, e.g. the approval that allowed an export.
struct AttestationRef {
  std::string decision;  // for approvals: validate, approve or promote
  std::string digest;    // "sha256:<hex>" of the stored envelope
};

struct EdgeBundleInputs {
  ModelRef model;  // package_digest is also the manifest.json subject's digest
  // Every file of the source package, manifest.json included.
  std::vector<Subject> package_files;
  std::string compiled_digest;  // "sha256:<hex>" of model.plc
  int64_t compiled_format = 0;  // the compiled file's format version (>= 1)
  std::string compiled_kind;    // "xgboost", "logistic" or "scorecard"
  std::string stage;            // the stage the version is approved for: staging or production
  // The approval and promotion attestations that took the version to `stage`.
  std::vector<AttestationRef> approvals;
  std::string exported_by;
  std::string exported_at;  // RFC 3339
  std::string request_id;
};

// The in-toto Statement of an edge bundle: subjects manifest.json (model.package_digest) and
// model.plc (compiled_digest); the predicate {model, sourcePackage (sorted by name), stage,
// approvals (sorted by decision, then digest), exportedBy, exportedAt, compiledFormat,
// compiledKind, requestId}.
Json EdgeBundleStatement(const EdgeBundleInputs& in);

// DSSE v1 pre-authentication encoding, the bytes a signature covers:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal bytes.
std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload);

// The DSSE envelope {payloadType, payload: base64(canonical JSON of `statement`),
// signatures: [{keyid: key.KeyId(), sig: base64 Ed25519 over the PAE}]}. InvalidArgument if the
// statement is not one VerifyEnvelope could accept: not an object, _type not kStatementType, no
// predicateType, subjects missing, unnamed, repeated or without a "sha256:<hex>"-shaped digest,
// or numbers that are not JSON (NaN, infinities).
StatusOr<Json> SignStatement(const Json& statement, const SigningKey& key);

struct TrustedKey {
  std::string key_id;      // hex of the public key; "" to derive it from public_key
  std::string public_key;  // raw 32 bytes
};

// What a statement must say to be accepted for one version.
struct VerifyExpectation {
  // kProvenancePredicateType, kApprovalPredicateType or kEdgeBundlePredicateType.
  std::string predicate_type;
  ModelRef model;  // project, name, version and package digest the statement must name
  // The package as it is now: name -> "sha256:<hex>", manifest.json included. For provenance and
  // approvals the subjects must equal it exactly. For an edge bundle the predicate's
  // sourcePackage must equal it exactly, and the subjects must be manifest.json, with the digest
  // given here, and model.plc.
  std::map<std::string, std::string> files;
  // Edge bundles only: "sha256:<hex>" of model.plc as the verifier holds it, which the model.plc
  // subject must equal. Leave it "" when verifying without the bundle (the platform re-checking a
  // version's attestations): model.plc must then be attested, whatever its digest.
  std::string compiled_digest;
};

// Checks, in this order, and stops at the first failed step: the envelope's shape, the payload
// type, that the payload is base64, that at least one signature by a trusted key verifies over
// the PAE (signatures by other keys are ignored), that the payload is a JSON object, the
// statement's _type, its predicateType, the predicate (provenance: build type; approval: a known
// decision; edge bundle: its required fields), the model it names, and its subjects against
// `files` (every missing, extra or changed file is listed, in name order; for an edge bundle the
// subjects against manifest.json and compiled_digest, then the source package against `files`).
// Returns the verified statement,
// or DataLoss saying which check failed and naming the file, key or field, e.g.
//   "file model.json: digest sha256:ab.. differs from the attested sha256:cd.."
//   "signature by key 3fa1.. which is not trusted"
//   "statement names model risk/credit@2, expected risk/credit@3"
// InvalidArgument if `expect` itself is incomplete (no predicate type, model name, project,
// version or package digest, no manifest.json in files, a digest not "sha256:<hex>", a
// compiled_digest set for another predicate type).
StatusOr<Json> VerifyEnvelope(const Json& envelope, const std::vector<TrustedKey>& trusted,
                              const VerifyExpectation& expect);

// Reads the statement out of an envelope without verifying anything but its shape (for showing
// it): InvalidArgument if the envelope has no string payload, the payload is not base64 or does
// not hold a JSON object.
StatusOr<Json> DecodeStatement(const Json& envelope);

}  // namespace plinth::registry

#endif  // PLINTH_REGISTRY_ATTESTATION_H_
