#include "registry/attestation.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/sha256.h"

namespace plinth::registry {
namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

// An in-toto DigestSet from the platform's "sha256:<hex>". Whatever is not in that form is kept
// as the value, so a bad digest shows up (and is refused by SignStatement / VerifyEnvelope)
// instead of silently disappearing.
Json DigestSet(std::string_view digest) {
  if (digest.starts_with(kSha256Prefix)) digest.remove_prefix(kSha256Prefix.size());
  return Json{{"sha256", std::string(digest)}};
}

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const std::string* StringMember(const Json& object, const char* key) {
  const Json* member = Member(object, key);
  if (member == nullptr || !member->is_string()) return nullptr;
  return &member->get_ref<const std::string&>();
}

// "sha256:<hex>" from a DigestSet, or "" if it has no well-formed sha256 entry.
std::string FromDigestSet(const Json* digest_set) {
  if (digest_set == nullptr) return "";
  const std::string* hex = StringMember(*digest_set, "sha256");
  if (hex == nullptr) return "";
  std::string digest = std::string(kSha256Prefix) + *hex;
  return IsValidDigest(digest) ? digest : "";
}

// Text from a statement for an error message: statements may come from anywhere, so keep
// messages one line and of bounded length.
std::string Shown(std::string_view text) {
  constexpr size_t kMaxShown = 100;
  std::string out;
  for (char c : text.substr(0, kMaxShown)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string ShownJson(const Json* value) {
  if (value == nullptr) return "(none)";
  if (value->is_string()) return Shown(value->get_ref<const std::string&>());
  return Shown(DumpJson(*value));
}

Json ModelJson(const ModelRef& model) {
  return {{"project", model.project},
          {"name", model.name},
          {"version", model.version},
          {"packageDigest", DigestSet(model.package_digest)}};
}

Json SubjectsJson(std::vector<Subject> files) {
  std::sort(files.begin(), files.end(), [](const Subject& a, const Subject& b) {
    return std::tie(a.name, a.digest) < std::tie(b.name, b.digest);
  });
  Json subjects = Json::array();
  for (const Subject& file : files) {
    subjects.push_back({{"name", file.name}, {"digest", DigestSet(file.digest)}});
  }
  return subjects;
}

// SLSA ResourceDescriptors, sorted by name so that the order the caller collected them in does
// not change the payload.
Json DocumentsJson(std::vector<DocumentRef> documents) {
  std::sort(documents.begin(), documents.end(), [](const DocumentRef& a, const DocumentRef& b) {
    return std::tie(a.name, a.digest, a.media_type) < std::tie(b.name, b.digest, b.media_type);
  });
  Json out = Json::array();
  for (const DocumentRef& document : documents) {
    Json descriptor = {{"name", document.name}, {"digest", DigestSet(document.digest)}};
    if (!document.media_type.empty()) descriptor["mediaType"] = document.media_type;
    out.push_back(std::move(descriptor));
  }
  return out;
}

std::string ModelText(std::string_view project, std::string_view name, std::string_view version) {
  return absl::StrCat(Shown(project), "/", Shown(name), "@", Shown(version));
}

// A list of {"name", "digest": DigestSet} as name -> "sha256:<hex>"; InvalidArgument naming the
// first entry that is malformed or repeated. `label` names an entry in messages ("subject").
StatusOr<std::map<std::string, std::string>> ReadFileList(const Json* list,
                                                          const std::string& label,
                                                          const std::string& none) {
  if (list == nullptr || !list->is_array() || list->empty()) {
    return absl::InvalidArgumentError(none);
  }
  std::map<std::string, std::string> files;
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& entry = (*list)[i];
    const std::string* name = StringMember(entry, "name");
    if (name == nullptr || name->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(label, " ", i, " has no name"));
    }
    std::string digest = FromDigestSet(Member(entry, "digest"));
    if (digest.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, " ", Shown(*name), " has no sha256 digest of 64 lowercase hex"));
    }
    if (!files.emplace(*name, std::move(digest)).second) {
      return absl::InvalidArgumentError(absl::StrCat(label, " ", Shown(*name), " is listed twice"));
    }
  }
  return files;
}

// The subjects of a statement as name -> "sha256:<hex>".
StatusOr<std::map<std::string, std::string>> ReadSubjects(const Json& statement) {
  return ReadFileList(Member(statement, "subject"), "subject", "statement has no subjects");
}

// The source package an edge bundle statement names, as name -> "sha256:<hex>".
StatusOr<std::map<std::string, std::string>> ReadSourcePackage(const Json& predicate) {
  return ReadFileList(Member(predicate, "sourcePackage"), "source package file",
                      "edge bundle names no source package (predicate.sourcePackage)");
}

// What SignStatement requires and VerifyEnvelope checks again after the signature.
Status CheckStatementShape(const Json& statement) {
  if (!statement.is_object()) return absl::InvalidArgumentError("statement is not a JSON object");
  const std::string* type = StringMember(statement, "_type");
  if (type == nullptr || *type != kStatementType) {
    return absl::InvalidArgumentError(absl::StrCat("statement type ",
                                                   ShownJson(Member(statement, "_type")),
                                                   ", expected ", std::string(kStatementType)));
  }
  const std::string* predicate_type = StringMember(statement, "predicateType");
  if (predicate_type == nullptr || predicate_type->empty()) {
    return absl::InvalidArgumentError("statement has no predicateType");
  }
  const Json* predicate = Member(statement, "predicate");
  if (predicate == nullptr || !predicate->is_object()) {
    return absl::InvalidArgumentError("statement has no predicate object");
  }
  return ReadSubjects(statement).status();
}

// Refusals of a signed statement are integrity failures, whatever step refused them.
Status AsDataLoss(const Status& status) {
  if (status.ok() || status.code() == absl::StatusCode::kDataLoss) return status;
  return absl::DataLossError(status.message());
}

Status CheckExpectation(const VerifyExpectation& expect) {
  if (expect.predicate_type != kProvenancePredicateType &&
      expect.predicate_type != kApprovalPredicateType &&
      expect.predicate_type != kEdgeBundlePredicateType) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown expected predicate type '", expect.predicate_type, "'"));
  }
  if (!expect.compiled_digest.empty()) {
    if (expect.predicate_type != kEdgeBundlePredicateType) {
      return absl::InvalidArgumentError(
          "an expected compiled digest is for edge bundle statements only");
    }
    if (!IsValidDigest(expect.compiled_digest)) {
      return absl::InvalidArgumentError("the expected compiled digest is not sha256:<hex>");
    }
  }
  if (expect.model.project.empty() || expect.model.name.empty() || expect.model.version <= 0) {
    return absl::InvalidArgumentError("the expected model needs a project, a name and a version");
  }
  if (!IsValidDigest(expect.model.package_digest)) {
    return absl::InvalidArgumentError("the expected package digest is not sha256:<hex>");
  }
  if (!expect.files.contains(std::string(kManifestSubject))) {
    return absl::InvalidArgumentError("the expected files do not include manifest.json");
  }
  for (const auto& [name, digest] : expect.files) {
    if (name.empty() || !IsValidDigest(digest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the expected digest of file '", name, "' is not sha256:<hex>"));
    }
  }
  return absl::OkStatus();
}

// At least one signature by a trusted key must verify over `pae`. Other signatures (by keys we do
// not know, or that do not verify) are ignored, as DSSE prescribes; the error names why none
// counted.
Status CheckSignatures(const Json& signatures, const std::string& pae,
                       const std::vector<TrustedKey>& trusted) {
  if (signatures.empty()) return absl::DataLossError("envelope has no signatures");
  std::vector<std::pair<std::string, const std::string*>> keys;  // lowercase id, public key
  for (const TrustedKey& key : trusted) {
    std::string id = key.key_id.empty() ? HexEncode(key.public_key) : key.key_id;
    keys.emplace_back(absl::AsciiStrToLower(id), &key.public_key);
  }
  std::string untrusted_key;
  std::string failed_key;
  for (const Json& signature : signatures) {
    const std::string& sig = *StringMember(signature, "sig");  // checked by VerifyEnvelope
    const std::string* keyid_member = StringMember(signature, "keyid");
    const std::string keyid = keyid_member == nullptr ? "" : *keyid_member;
    const std::string wanted = absl::AsciiStrToLower(keyid);
    bool known = false;
    for (const auto& [id, public_key] : keys) {
      // DSSE makes keyid optional: without one, every trusted key is tried.
      if (!wanted.empty() && id != wanted) continue;
      known = true;
      if (VerifySignature(*public_key, pae, sig)) return absl::OkStatus();
    }
    if (known) {
      if (failed_key.empty()) failed_key = keyid.empty() ? "(no key id)" : Shown(keyid);
    } else if (untrusted_key.empty()) {
      untrusted_key = keyid.empty() ? "(no key id)" : Shown(keyid);
    }
  }
  if (!failed_key.empty()) {
    return absl::DataLossError(absl::StrCat("no valid signature: the signature by trusted key ",
                                            failed_key, " does not verify over the payload"));
  }
  return absl::DataLossError(
      absl::StrCat("signature by key ", untrusted_key, " which is not trusted"));
}

// The model a verified statement of `predicate_type` names must be the expected version.
Status CheckModel(const Json& predicate, const VerifyExpectation& expect) {
  const Json* model = nullptr;
  const char* where = nullptr;
  if (expect.predicate_type == kProvenancePredicateType) {
    const Json* definition = Member(predicate, "buildDefinition");
    const Json* internal =
        definition == nullptr ? nullptr : Member(*definition, "internalParameters");
    model = internal == nullptr ? nullptr : Member(*internal, "model");
    where = "predicate.buildDefinition.internalParameters.model";
  } else {
    model = Member(predicate, "model");
    where = "predicate.model";
  }
  if (model == nullptr || !model->is_object()) {
    return absl::DataLossError(absl::StrCat("statement names no model (", where, ")"));
  }
  const Json* project = Member(*model, "project");
  const Json* name = Member(*model, "name");
  const Json* version = Member(*model, "version");
  bool same = project != nullptr && *project == expect.model.project && name != nullptr &&
              *name == expect.model.name && version != nullptr && version->is_number_integer() &&
              *version == expect.model.version;
  if (!same) {
    return absl::DataLossError(absl::StrCat(
        "statement names model ",
        ModelText(ShownJson(project), ShownJson(name), ShownJson(version)), ", expected ",
        ModelText(expect.model.project, expect.model.name, std::to_string(expect.model.version))));
  }
  std::string package = FromDigestSet(Member(*model, "packageDigest"));
  if (package != expect.model.package_digest) {
    return absl::DataLossError(absl::StrCat("statement names package ",
                                            package.empty() ? "(no sha256 digest)" : package,
                                            ", expected ", expect.model.package_digest));
  }
  return absl::OkStatus();
}

// The fields an edge bundle's predicate must carry besides the model (checked after it).
Status CheckEdgeBundlePredicate(const Json& predicate) {
  const std::string* stage = StringMember(predicate, "stage");
  if (stage == nullptr || (*stage != "staging" && *stage != "production")) {
    return absl::DataLossError(absl::StrCat("edge bundle stage ",
                                            ShownJson(Member(predicate, "stage")),
                                            " is not staging or production"));
  }
  RETURN_IF_ERROR(AsDataLoss(ReadSourcePackage(predicate).status()));
  const Json* approvals = Member(predicate, "approvals");
  if (approvals == nullptr || !approvals->is_array() || approvals->empty()) {
    return absl::DataLossError("edge bundle names no approvals (predicate.approvals)");
  }
  for (size_t i = 0; i < approvals->size(); ++i) {
    const Json& approval = (*approvals)[i];
    const std::string* decision = StringMember(approval, "decision");
    if (decision == nullptr || !IsApprovalDecision(*decision) || *decision == kDecisionReject ||
        FromDigestSet(Member(approval, "digest")).empty()) {
      return absl::DataLossError(
          absl::StrCat("edge bundle approval ", i,
                       " is not {\"decision\": validate|approve|promote, \"digest\": "
                       "{\"sha256\": hex}}"));
    }
  }
  const std::string* by = StringMember(predicate, "exportedBy");
  if (by == nullptr || by->empty()) {
    return absl::DataLossError("edge bundle names no exporter (predicate.exportedBy)");
  }
  const std::string* at = StringMember(predicate, "exportedAt");
  if (at == nullptr || !ParseTime(*at).has_value()) {
    return absl::DataLossError(absl::StrCat("edge bundle exportedAt ",
                                            ShownJson(Member(predicate, "exportedAt")),
                                            " is not an RFC 3339 time"));
  }
  const Json* format = Member(predicate, "compiledFormat");
  if (format == nullptr || !format->is_number_integer() || format->get<int64_t>() < 1) {
    return absl::DataLossError(absl::StrCat("edge bundle compiledFormat ", ShownJson(format),
                                            " is not a positive integer"));
  }
  const std::string* kind = StringMember(predicate, "compiledKind");
  if (kind == nullptr || kind->empty()) {
    return absl::DataLossError("edge bundle names no compiled kind (predicate.compiledKind)");
  }
  return absl::OkStatus();
}

Status CheckPredicate(const Json& predicate, std::string_view predicate_type) {
  if (predicate_type == kProvenancePredicateType) {
    const Json* definition = Member(predicate, "buildDefinition");
    const Json* build_type = definition == nullptr ? nullptr : Member(*definition, "buildType");
    if (build_type == nullptr || !build_type->is_string() ||
        build_type->get_ref<const std::string&>() != kPipelineBuildType) {
      return absl::DataLossError(absl::StrCat("build type ", ShownJson(build_type), ", expected ",
                                              std::string(kPipelineBuildType)));
    }
    return absl::OkStatus();
  }
  if (predicate_type == kEdgeBundlePredicateType) return CheckEdgeBundlePredicate(predicate);
  const std::string* decision = StringMember(predicate, "decision");
  if (decision == nullptr || !IsApprovalDecision(*decision)) {
    return absl::DataLossError(absl::StrCat("approval decision ",
                                            ShownJson(Member(predicate, "decision")),
                                            " is not one of validate, approve, reject, promote"));
  }
  return absl::OkStatus();
}

// Every difference between what the statement attests and the package as it is now, in name
// order, so one run of verify shows the whole damage.
Status CheckFiles(const std::map<std::string, std::string>& attested,
                  const std::map<std::string, std::string>& present) {
  std::vector<std::string> problems;
  auto a = attested.begin();
  auto p = present.begin();
  while (a != attested.end() || p != present.end()) {
    if (p == present.end() || (a != attested.end() && a->first < p->first)) {
      problems.push_back(absl::StrCat("attested file ", Shown(a->first), " is missing"));
      ++a;
    } else if (a == attested.end() || p->first < a->first) {
      problems.push_back(absl::StrCat("file ", Shown(p->first), " is not attested"));
      ++p;
    } else {
      if (a->second != p->second) {
        problems.push_back(absl::StrCat("file ", Shown(p->first), ": digest ", p->second,
                                        " differs from the attested ", a->second));
      }
      ++a;
      ++p;
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrJoin(problems, "; "));
}

// An edge bundle's subjects are exactly manifest.json (the package's, as `expect` has it) and
// model.plc (compiled_digest when the verifier holds the bundle); its source package is exactly
// the package of `expect.files`.
Status CheckEdgeBundleFiles(const std::map<std::string, std::string>& attested,
                            const Json& predicate, const VerifyExpectation& expect) {
  std::map<std::string, std::string> bundle = {
      {std::string(kManifestSubject), expect.files.at(std::string(kManifestSubject))}};
  std::string compiled = expect.compiled_digest;
  if (compiled.empty()) {
    // Without the bundle at hand, any attested digest of the compiled file is accepted; a
    // statement that attests none is still refused (as a file that is not attested).
    auto it = attested.find(std::string(kCompiledModelSubject));
    compiled = it == attested.end() ? "(unknown)" : it->second;
  }
  bundle.emplace(std::string(kCompiledModelSubject), compiled);
  RETURN_IF_ERROR(CheckFiles(attested, bundle));
  StatusOr<std::map<std::string, std::string>> package = ReadSourcePackage(predicate);
  RETURN_IF_ERROR(AsDataLoss(package.status()));
  Status same = CheckFiles(*package, expect.files);
  if (!same.ok()) return absl::DataLossError(absl::StrCat("source package: ", same.message()));
  return absl::OkStatus();
}

}  // namespace

bool IsApprovalDecision(std::string_view decision) {
  return decision == kDecisionValidate || decision == kDecisionApprove ||
         decision == kDecisionReject || decision == kDecisionPromote;
}

Json ProvenanceStatement(const ProvenanceInputs& in) {
  std::vector<ProvenanceInputs::Dataset> datasets = in.datasets;
  std::sort(datasets.begin(), datasets.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.version, a.digest) < std::tie(b.name, b.version, b.digest);
  });
  std::vector<ProvenanceInputs::FeatureDefinition> features = in.feature_definitions;
  std::sort(features.begin(), features.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.digest) < std::tie(b.name, b.digest);
  });
  Json dependencies = Json::array();
  for (const auto& dataset : datasets) {
    dependencies.push_back(
        {{"uri", absl::StrCat("plinth:dataset/", dataset.name, "@", dataset.version)},
         {"digest", DigestSet(dataset.digest)}});
  }
  for (const auto& feature : features) {
    dependencies.push_back({{"uri", absl::StrCat("plinth:features/", feature.name)},
                            {"digest", DigestSet(feature.digest)}});
  }
  if (!in.environment.empty()) {
    dependencies.push_back({{"uri", "plinth:environment"}, {"digest", DigestSet(in.environment)}});
  }
  Json metadata = {{"invocationId", in.run_id}};
  if (!in.started_at.empty()) metadata["startedOn"] = in.started_at;
  if (!in.finished_at.empty()) metadata["finishedOn"] = in.finished_at;
  Json predicate = {
      {"buildDefinition",
       {{"buildType", kPipelineBuildType},
        {"externalParameters",
         {{"pipeline", in.pipeline},
          {"specDigest", DigestSet(in.spec_digest)},
          {"parameters", in.parameters}}},
        {"internalParameters",
         {{"model", ModelJson(in.model)}, {"step", in.step}, {"registeredBy", in.registered_by}}},
        {"resolvedDependencies", std::move(dependencies)}}},
      {"runDetails",
       {{"builder", {{"id", in.builder_id}}},
        {"metadata", std::move(metadata)},
        {"byproducts", DocumentsJson(in.documents)}}}};
  return {{"_type", kStatementType},
          {"subject", SubjectsJson(in.files)},
          {"predicateType", kProvenancePredicateType},
          {"predicate", std::move(predicate)}};
}

Json ApprovalStatement(const ApprovalInputs& in) {
  Json predicate = {{"model", ModelJson(in.model)},
                    {"decision", in.decision},
                    {"actor", in.actor},
                    {"role", in.role},
                    {"stage", in.stage},
                    {"at", in.at},
                    {"comment", in.comment},
                    {"requestId", in.request_id},
                    {"documents", DocumentsJson(in.documents)}};
  // No policy decision is said by leaving the member out rather than by an empty digest.
  if (!in.policy_decision_digest.empty()) {
    predicate["policyDecision"] = {{"digest", DigestSet(in.policy_decision_digest)}};
  }
  return {{"_type", kStatementType},
          {"subject", SubjectsJson(in.files)},
          {"predicateType", kApprovalPredicateType},
          {"predicate", std::move(predicate)}};
}

Json EdgeBundleStatement(const EdgeBundleInputs& in) {
  std::vector<AttestationRef> approvals = in.approvals;
  std::sort(approvals.begin(), approvals.end(), [](const auto& a, const auto& b) {
    return std::tie(a.decision, a.digest) < std::tie(b.decision, b.digest);
  });
  Json approvals_json = Json::array();
  for (const AttestationRef& approval : approvals) {
    approvals_json.push_back(
        {{"decision", approval.decision}, {"digest", DigestSet(approval.digest)}});
  }
  Json predicate = {{"model", ModelJson(in.model)},
                    {"sourcePackage", SubjectsJson(in.package_files)},
                    {"stage", in.stage},
                    {"approvals", std::move(approvals_json)},
                    {"exportedBy", in.exported_by},
                    {"exportedAt", in.exported_at},
                    {"compiledFormat", in.compiled_format},
                    {"compiledKind", in.compiled_kind},
                    {"requestId", in.request_id}};
  std::vector<Subject> subjects = {{std::string(kManifestSubject), in.model.package_digest},
                                   {std::string(kCompiledModelSubject), in.compiled_digest}};
  return {{"_type", kStatementType},
          {"subject", SubjectsJson(std::move(subjects))},
          {"predicateType", kEdgeBundlePredicateType},
          {"predicate", std::move(predicate)}};
}

std::string PreAuthEncoding(std::string_view payload_type, std::string_view payload) {
  std::string pae = absl::StrCat("DSSEv1 ", payload_type.size(), " ");
  pae.append(payload_type);
  absl::StrAppend(&pae, " ", payload.size(), " ");
  pae.append(payload);
  return pae;
}

StatusOr<Json> SignStatement(const Json& statement, const SigningKey& key) {
  RETURN_IF_ERROR(CheckStatementShape(statement));
  ASSIGN_OR_RETURN(std::string payload, CanonicalJson(statement));
  std::string signature = key.Sign(PreAuthEncoding(kDssePayloadType, payload));
  return Json{{"payloadType", kDssePayloadType},
              {"payload", Base64Encode(payload)},
              {"signatures", Json::array({{{"keyid", key.KeyId()}, {"sig", signature}}})}};
}

StatusOr<Json> DecodeStatement(const Json& envelope) {
  const std::string* payload = StringMember(envelope, "payload");
  if (payload == nullptr) return absl::InvalidArgumentError("envelope has no payload string");
  std::string bytes;
  if (!Base64Decode(*payload, &bytes)) {
    return absl::InvalidArgumentError("envelope payload is not valid base64");
  }
  StatusOr<Json> statement = ParseJson(bytes);
  if (!statement.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("envelope payload is not JSON: ", statement.status().message()));
  }
  if (!statement->is_object()) {
    return absl::InvalidArgumentError("envelope payload is not a JSON object");
  }
  return statement;
}

StatusOr<Json> VerifyEnvelope(const Json& envelope, const std::vector<TrustedKey>& trusted,
                              const VerifyExpectation& expect) {
  RETURN_IF_ERROR(CheckExpectation(expect));

  // The envelope's shape.
  if (!envelope.is_object()) return absl::DataLossError("envelope is not a JSON object");
  const std::string* payload_type = StringMember(envelope, "payloadType");
  if (payload_type == nullptr) return absl::DataLossError("envelope has no payloadType string");
  const std::string* payload = StringMember(envelope, "payload");
  if (payload == nullptr) return absl::DataLossError("envelope has no payload string");
  const Json* signatures = Member(envelope, "signatures");
  if (signatures == nullptr || !signatures->is_array()) {
    return absl::DataLossError("envelope has no signatures array");
  }
  for (size_t i = 0; i < signatures->size(); ++i) {
    const Json& signature = (*signatures)[i];
    const Json* keyid = Member(signature, "keyid");
    if (StringMember(signature, "sig") == nullptr || (keyid != nullptr && !keyid->is_string())) {
      return absl::DataLossError(
          absl::StrCat("envelope signature ", i, " is not {\"keyid\": string, \"sig\": string}"));
    }
  }

  if (*payload_type != kDssePayloadType) {
    return absl::DataLossError(absl::StrCat("payload type ", Shown(*payload_type), ", expected ",
                                            std::string(kDssePayloadType)));
  }
  std::string bytes;
  if (!Base64Decode(*payload, &bytes)) {
    return absl::DataLossError("envelope payload is not valid base64");
  }

  // Authenticity before meaning: nothing in the payload is interpreted until a trusted key has
  // vouched for its bytes.
  RETURN_IF_ERROR(CheckSignatures(*signatures, PreAuthEncoding(*payload_type, bytes), trusted));

  StatusOr<Json> parsed = ParseJson(bytes);
  if (!parsed.ok()) {
    return absl::DataLossError(
        absl::StrCat("envelope payload is not JSON: ", parsed.status().message()));
  }
  Json statement = *std::move(parsed);
  if (!statement.is_object()) return absl::DataLossError("envelope payload is not a JSON object");

  const std::string* type = StringMember(statement, "_type");
  if (type == nullptr || *type != kStatementType) {
    return absl::DataLossError(absl::StrCat("statement type ",
                                            ShownJson(Member(statement, "_type")), ", expected ",
                                            std::string(kStatementType)));
  }
  const std::string* predicate_type = StringMember(statement, "predicateType");
  if (predicate_type == nullptr || *predicate_type != expect.predicate_type) {
    return absl::DataLossError(absl::StrCat("predicate type ",
                                            ShownJson(Member(statement, "predicateType")),
                                            ", expected ", expect.predicate_type));
  }
  const Json* predicate = Member(statement, "predicate");
  if (predicate == nullptr || !predicate->is_object()) {
    return absl::DataLossError("statement has no predicate object");
  }
  RETURN_IF_ERROR(CheckPredicate(*predicate, expect.predicate_type));
  RETURN_IF_ERROR(CheckModel(*predicate, expect));

  StatusOr<std::map<std::string, std::string>> attested = ReadSubjects(statement);
  RETURN_IF_ERROR(AsDataLoss(attested.status()));
  if (expect.predicate_type == kEdgeBundlePredicateType) {
    RETURN_IF_ERROR(CheckEdgeBundleFiles(*attested, *predicate, expect));
  } else {
    RETURN_IF_ERROR(CheckFiles(*attested, expect.files));
  }
  return statement;
}

}  // namespace plinth::registry
