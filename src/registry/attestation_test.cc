// Tests of registry attestations: the statements' shape, DSSE signing and every refusal of
// VerifyEnvelope, each case on its own, plus the example of docs/formats/attestation.md.
#include "registry/attestation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "core/json.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/signing.h"

namespace plinth::registry {
namespace {

using ::testing::HasSubstr;

std::string Hex(char c) { return std::string(64, c); }
std::string Digest(char c) { return "sha256:" + Hex(c); }

ProvenanceInputs CreditInputs(int64_t version) {
  ProvenanceInputs in;
  in.model = {"risk", "credit", version, Digest('a')};
  // Out of order on purpose: the statement sorts them.
  in.files = {
      {"model.json", Digest('b')}, {"manifest.json", Digest('a')}, {"card.html", Digest('c')}};
  in.pipeline = "credit-risk";
  in.spec_digest = Digest('d');
  in.parameters = {{"max_depth", 4}, {"eta", 0.1}};
  in.run_id = "run-42";
  in.step = "train";
  in.datasets = {{"loans", "v2", Digest('e')}, {"applicants", "v7", Digest('f')}};
  in.feature_definitions = {{"credit_features", Digest('1')}};
  in.environment = Digest('2');
  in.builder_id = "https://plinth.dev/platform/key";
  in.started_at = "2026-03-02T09:00:00Z";
  in.finished_at = "2026-03-02T09:10:00Z";
  in.registered_by = "alice";
  in.documents = {{"validation-report.html", Digest('3'), "text/html"},
                  {"model-card.html", Digest('4'), "text/html"}};
  return in;
}

ApprovalInputs CreditApproval(int64_t version) {
  ApprovalInputs in;
  in.model = {"risk", "credit", version, Digest('a')};
  in.files = {
      {"manifest.json", Digest('a')}, {"model.json", Digest('b')}, {"card.html", Digest('c')}};
  in.decision = "approve";
  in.actor = "bob";
  in.role = "validator";
  in.stage = "production";
  in.at = "2026-03-03T10:00:00Z";
  in.comment = "meets the policy";
  in.policy_decision_digest = Digest('5');
  in.request_id = "req-1";
  in.documents = {{"model-card.html", Digest('6'), "text/html"}};
  return in;
}

VerifyExpectation Expect(std::string_view predicate_type, int64_t version) {
  VerifyExpectation expect;
  expect.predicate_type = std::string(predicate_type);
  expect.model = {"risk", "credit", version, Digest('a')};
  expect.files = {
      {"manifest.json", Digest('a')}, {"model.json", Digest('b')}, {"card.html", Digest('c')}};
  return expect;
}

// An envelope over arbitrary bytes, for statements SignStatement would refuse to sign.
Json RawEnvelope(const std::string& payload, const SigningKey& key,
                 std::string_view type = kDssePayloadType) {
  return {
      {"payloadType", type},
      {"payload", Base64Encode(payload)},
      {"signatures",
       Json::array({{{"keyid", key.KeyId()}, {"sig", key.Sign(PreAuthEncoding(type, payload))}}})}};
}

std::string Payload(const Json& envelope) {
  std::string bytes;
  EXPECT_TRUE(Base64Decode(envelope["payload"].get<std::string>(), &bytes));
  return bytes;
}

class AttestationTest : public ::testing::Test {
 protected:
  Json SignedProvenance(int64_t version) {
    StatusOr<Json> envelope = SignStatement(ProvenanceStatement(CreditInputs(version)), key_);
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    return *envelope;
  }

  // The DataLoss message of verifying `envelope` as provenance of credit@`version`.
  std::string Refusal(const Json& envelope, int64_t version = 3,
                      std::string_view predicate_type = kProvenancePredicateType) {
    return RefusalOf(envelope, Expect(predicate_type, version));
  }
  std::string RefusalOf(const Json& envelope, const VerifyExpectation& expect) {
    StatusOr<Json> result = VerifyEnvelope(envelope, trusted_, expect);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss) << result.status();
    return std::string(result.status().message());
  }

  SigningKey key_ = SigningKey::Generate();
  std::vector<TrustedKey> trusted_ = {{key_.KeyId(), key_.public_key()}};
};

TEST(PreAuthEncoding, MatchesTheDsseSpecExample) {
  EXPECT_EQ(PreAuthEncoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(PreAuthEncoding("", ""), "DSSEv1 0  0 ");
  // Lengths are bytes, not characters.
  EXPECT_EQ(PreAuthEncoding("t", "\xc3\xa9"), "DSSEv1 1 t 2 \xc3\xa9");
}

TEST_F(AttestationTest, ProvenanceStatementHasTheDocumentedShape) {
  Json statement = ProvenanceStatement(CreditInputs(3));
  EXPECT_EQ(statement["_type"], kStatementType);
  EXPECT_EQ(statement["predicateType"], kProvenancePredicateType);
  EXPECT_EQ(statement["subject"],
            Json::parse(R"([{"name":"card.html","digest":{"sha256":")" + Hex('c') +
                        R"("}},{"name":"manifest.json","digest":{"sha256":")" + Hex('a') +
                        R"("}},{"name":"model.json","digest":{"sha256":")" + Hex('b') + R"("}}])"));
  const Json& build = statement["predicate"]["buildDefinition"];
  EXPECT_EQ(build["buildType"], kPipelineBuildType);
  EXPECT_EQ(build["externalParameters"]["pipeline"], "credit-risk");
  EXPECT_EQ(build["externalParameters"]["specDigest"]["sha256"], Hex('d'));
  EXPECT_EQ(build["externalParameters"]["parameters"]["max_depth"], 4);
  EXPECT_EQ(
      build["internalParameters"]["model"],
      Json::parse(R"({"project":"risk","name":"credit","version":3,"packageDigest":{"sha256":")" +
                  Hex('a') + R"("}})"));
  EXPECT_EQ(build["internalParameters"]["step"], "train");
  EXPECT_EQ(build["internalParameters"]["registeredBy"], "alice");
  const Json& deps = build["resolvedDependencies"];
  ASSERT_EQ(deps.size(), 4u);
  EXPECT_EQ(deps[0]["uri"], "plinth:dataset/applicants@v7");
  EXPECT_EQ(deps[0]["digest"]["sha256"], Hex('f'));
  EXPECT_EQ(deps[1]["uri"], "plinth:dataset/loans@v2");
  EXPECT_EQ(deps[2]["uri"], "plinth:features/credit_features");
  EXPECT_EQ(deps[3]["uri"], "plinth:environment");
  EXPECT_EQ(deps[3]["digest"]["sha256"], Hex('2'));
  const Json& run = statement["predicate"]["runDetails"];
  EXPECT_EQ(run["builder"]["id"], "https://plinth.dev/platform/key");
  EXPECT_EQ(run["metadata"]["invocationId"], "run-42");
  EXPECT_EQ(run["metadata"]["startedOn"], "2026-03-02T09:00:00Z");
  EXPECT_EQ(run["metadata"]["finishedOn"], "2026-03-02T09:10:00Z");
  ASSERT_EQ(run["byproducts"].size(), 2u);
  EXPECT_EQ(run["byproducts"][0], Json::parse(R"({"name":"model-card.html","digest":{"sha256":")" +
                                              Hex('4') + R"("},"mediaType":"text/html"})"));
  EXPECT_EQ(run["byproducts"][1]["name"], "validation-report.html");
}

TEST_F(AttestationTest, OptionalProvenanceFieldsAreLeftOut) {
  ProvenanceInputs in = CreditInputs(3);
  in.environment.clear();
  in.started_at.clear();
  in.finished_at.clear();
  in.documents = {{"lineage.svg", Digest('7'), ""}};
  Json statement = ProvenanceStatement(in);
  EXPECT_EQ(statement["predicate"]["buildDefinition"]["resolvedDependencies"].size(), 3u);
  EXPECT_FALSE(statement["predicate"]["runDetails"]["metadata"].contains("startedOn"));
  EXPECT_FALSE(statement["predicate"]["runDetails"]["metadata"].contains("finishedOn"));
  EXPECT_FALSE(statement["predicate"]["runDetails"]["byproducts"][0].contains("mediaType"));
}

TEST_F(AttestationTest, ProvenanceRoundTrip) {
  Json statement = ProvenanceStatement(CreditInputs(3));
  Json envelope = SignedProvenance(3);
  EXPECT_EQ(envelope["payloadType"], kDssePayloadType);
  ASSERT_EQ(envelope["signatures"].size(), 1u);
  EXPECT_EQ(envelope["signatures"][0]["keyid"], key_.KeyId());
  EXPECT_EQ(Payload(envelope), *CanonicalJson(statement));

  StatusOr<Json> verified = VerifyEnvelope(envelope, trusted_, Expect(kProvenancePredicateType, 3));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, statement);
  StatusOr<Json> decoded = DecodeStatement(envelope);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, statement);

  // The envelope survives being stored as text and read back.
  StatusOr<Json> reread = ParseJson(DumpJson(envelope, 2));
  ASSERT_TRUE(reread.ok());
  EXPECT_TRUE(VerifyEnvelope(*reread, trusted_, Expect(kProvenancePredicateType, 3)).ok());
}

TEST_F(AttestationTest, ApprovalRoundTrip) {
  Json statement = ApprovalStatement(CreditApproval(3));
  EXPECT_EQ(statement["predicateType"], kApprovalPredicateType);
  EXPECT_EQ(statement["subject"].size(), 3u);
  const Json& predicate = statement["predicate"];
  EXPECT_EQ(predicate["model"]["version"], 3);
  EXPECT_EQ(predicate["decision"], "approve");
  EXPECT_EQ(predicate["actor"], "bob");
  EXPECT_EQ(predicate["role"], "validator");
  EXPECT_EQ(predicate["stage"], "production");
  EXPECT_EQ(predicate["at"], "2026-03-03T10:00:00Z");
  EXPECT_EQ(predicate["comment"], "meets the policy");
  EXPECT_EQ(predicate["policyDecision"]["digest"]["sha256"], Hex('5'));
  EXPECT_EQ(predicate["requestId"], "req-1");
  EXPECT_EQ(predicate["documents"][0]["name"], "model-card.html");

  StatusOr<Json> envelope = SignStatement(statement, key_);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  StatusOr<Json> verified = VerifyEnvelope(*envelope, trusted_, Expect(kApprovalPredicateType, 3));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, statement);
}

TEST_F(AttestationTest, ApprovalWithoutPolicyDecisionLeavesItOut) {
  ApprovalInputs in = CreditApproval(3);
  in.policy_decision_digest.clear();
  in.decision = "promote";
  Json statement = ApprovalStatement(in);
  EXPECT_FALSE(statement["predicate"].contains("policyDecision"));
  StatusOr<Json> envelope = SignStatement(statement, key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_TRUE(VerifyEnvelope(*envelope, trusted_, Expect(kApprovalPredicateType, 3)).ok());
}

TEST_F(AttestationTest, SameInputsGiveTheSamePayloadAndSignature) {
  ProvenanceInputs reordered = CreditInputs(3);
  std::reverse(reordered.files.begin(), reordered.files.end());
  std::reverse(reordered.datasets.begin(), reordered.datasets.end());
  std::reverse(reordered.documents.begin(), reordered.documents.end());
  StatusOr<Json> a = SignStatement(ProvenanceStatement(CreditInputs(3)), key_);
  StatusOr<Json> b = SignStatement(ProvenanceStatement(reordered), key_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Payload(*a), Payload(*b));
  EXPECT_EQ(*a, *b);  // Ed25519 signatures are deterministic
  StatusOr<Json> c = SignStatement(ApprovalStatement(CreditApproval(3)), key_);
  StatusOr<Json> d = SignStatement(ApprovalStatement(CreditApproval(3)), key_);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(Payload(*c), Payload(*d));
}

TEST_F(AttestationTest, ChangedByteInAFileIsRefused) {
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.files["model.json"] = "sha256:" + Hex('b').substr(1) + "0";
  EXPECT_EQ(RefusalOf(SignedProvenance(3), expect),
            "file model.json: digest sha256:" + Hex('b').substr(1) +
                "0 differs from the attested sha256:" + Hex('b'));
}

TEST_F(AttestationTest, MissingFileIsRefused) {
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.files.erase("card.html");
  EXPECT_EQ(RefusalOf(SignedProvenance(3), expect), "attested file card.html is missing");
}

TEST_F(AttestationTest, ExtraFileIsRefused) {
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.files["extra.bin"] = Digest('9');
  EXPECT_EQ(RefusalOf(SignedProvenance(3), expect), "file extra.bin is not attested");
}

TEST_F(AttestationTest, EveryFileProblemIsListedInNameOrder) {
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.files.erase("card.html");
  expect.files["extra.bin"] = Digest('9');
  expect.files["model.json"] = Digest('8');
  EXPECT_EQ(RefusalOf(SignedProvenance(3), expect),
            "attested file card.html is missing; file extra.bin is not attested; file model.json: "
            "digest " +
                Digest('8') + " differs from the attested " + Digest('b'));
}

TEST_F(AttestationTest, ChangedManifestIsRefused) {
  // A package whose manifest changed no longer matches what was signed for the version.
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.files["manifest.json"] = Digest('0');
  EXPECT_THAT(RefusalOf(SignedProvenance(3), expect), HasSubstr("file manifest.json: digest"));
}

TEST_F(AttestationTest, UntrustedKeyIsRefused) {
  SigningKey other = SigningKey::Generate();
  StatusOr<Json> envelope = SignStatement(ProvenanceStatement(CreditInputs(3)), other);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope), "signature by key " + other.KeyId() + " which is not trusted");
  // A key id that claims to be trusted does not help a signature by another key.
  (*envelope)["signatures"][0]["keyid"] = key_.KeyId();
  EXPECT_THAT(Refusal(*envelope), HasSubstr("no valid signature"));
  // No trusted keys at all.
  StatusOr<Json> result =
      VerifyEnvelope(SignedProvenance(3), {}, Expect(kProvenancePredicateType, 3));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(result.status().message(), HasSubstr("which is not trusted"));
}

TEST_F(AttestationTest, ATrustedSignatureAmongOthersIsEnough) {
  Json envelope = SignedProvenance(3);
  SigningKey other = SigningKey::Generate();
  Json foreign = {{"keyid", other.KeyId()}, {"sig", other.Sign("anything")}};
  envelope["signatures"].insert(envelope["signatures"].begin(), foreign);
  EXPECT_TRUE(VerifyEnvelope(envelope, trusted_, Expect(kProvenancePredicateType, 3)).ok());
}

TEST_F(AttestationTest, KeyIdIsOptionalAndCaseInsensitive) {
  Json envelope = SignedProvenance(3);
  envelope["signatures"][0].erase("keyid");
  EXPECT_TRUE(VerifyEnvelope(envelope, trusted_, Expect(kProvenancePredicateType, 3)).ok());
  envelope["signatures"][0]["keyid"] = absl::AsciiStrToUpper(key_.KeyId());
  EXPECT_TRUE(VerifyEnvelope(envelope, trusted_, Expect(kProvenancePredicateType, 3)).ok());
  // A trusted key given without its id is matched by its public key's hex.
  std::vector<TrustedKey> by_key = {{"", key_.public_key()}};
  EXPECT_TRUE(
      VerifyEnvelope(SignedProvenance(3), by_key, Expect(kProvenancePredicateType, 3)).ok());
}

TEST_F(AttestationTest, PayloadTypeMismatchIsRefused) {
  Json envelope = SignedProvenance(3);
  envelope["payloadType"] = "text/plain";
  EXPECT_EQ(Refusal(envelope), "payload type text/plain, expected application/vnd.in-toto+json");
  // Even when the signature covers the other type.
  Json signed_as_text = RawEnvelope(Payload(SignedProvenance(3)), key_, "text/plain");
  EXPECT_EQ(Refusal(signed_as_text),
            "payload type text/plain, expected application/vnd.in-toto+json");
}

TEST_F(AttestationTest, PredicateTypeMismatchIsRefused) {
  // An approval is not provenance, and the other way round.
  StatusOr<Json> approval = SignStatement(ApprovalStatement(CreditApproval(3)), key_);
  ASSERT_TRUE(approval.ok());
  EXPECT_EQ(Refusal(*approval),
            "predicate type https://plinth.dev/attestation/approval/v1, expected "
            "https://slsa.dev/provenance/v1");
  EXPECT_EQ(Refusal(SignedProvenance(3), 3, kApprovalPredicateType),
            "predicate type https://slsa.dev/provenance/v1, expected "
            "https://plinth.dev/attestation/approval/v1");
  Json old = ProvenanceStatement(CreditInputs(3));
  old["predicateType"] = "https://slsa.dev/provenance/v0.2";
  StatusOr<Json> envelope = SignStatement(old, key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope),
            "predicate type https://slsa.dev/provenance/v0.2, expected "
            "https://slsa.dev/provenance/v1");
}

TEST_F(AttestationTest, PredicateContentMismatchIsRefused) {
  Json statement = ProvenanceStatement(CreditInputs(3));
  statement["predicate"]["buildDefinition"]["buildType"] = "https://example.com/other";
  StatusOr<Json> envelope = SignStatement(statement, key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope),
            "build type https://example.com/other, expected https://plinth.dev/pipeline/v1");

  ApprovalInputs approval = CreditApproval(3);
  approval.decision = "shrug";
  envelope = SignStatement(ApprovalStatement(approval), key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope, 3, kApprovalPredicateType),
            "approval decision shrug is not one of validate, approve, reject, promote");
}

TEST_F(AttestationTest, StatementOfAnotherVersionIsRefused) {
  // Same package bytes, another version: the signature belongs to version 2 only.
  EXPECT_EQ(Refusal(SignedProvenance(2), 3),
            "statement names model risk/credit@2, expected risk/credit@3");
  StatusOr<Json> approval = SignStatement(ApprovalStatement(CreditApproval(2)), key_);
  ASSERT_TRUE(approval.ok());
  EXPECT_EQ(Refusal(*approval, 3, kApprovalPredicateType),
            "statement names model risk/credit@2, expected risk/credit@3");
}

TEST_F(AttestationTest, SignatureMovedFromAnotherVersionIsRefused) {
  Json v3 = SignedProvenance(3);
  v3["signatures"] = SignedProvenance(2)["signatures"];
  EXPECT_EQ(Refusal(v3), "no valid signature: the signature by trusted key " + key_.KeyId() +
                             " does not verify over the payload");
}

TEST_F(AttestationTest, StatementOfAnotherModelIsRefused) {
  ProvenanceInputs in = CreditInputs(3);
  in.model.name = "fraud";
  StatusOr<Json> envelope = SignStatement(ProvenanceStatement(in), key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope), "statement names model risk/fraud@3, expected risk/credit@3");

  in = CreditInputs(3);
  in.model.project = "retail";
  envelope = SignStatement(ProvenanceStatement(in), key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope), "statement names model retail/credit@3, expected risk/credit@3");

  in = CreditInputs(3);
  in.model.package_digest = Digest('0');
  envelope = SignStatement(ProvenanceStatement(in), key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope),
            "statement names package " + Digest('0') + ", expected " + Digest('a'));
}

TEST_F(AttestationTest, StatementWithoutModelIsRefused) {
  Json statement = ProvenanceStatement(CreditInputs(3));
  statement["predicate"]["buildDefinition"]["internalParameters"].erase("model");
  StatusOr<Json> envelope = SignStatement(statement, key_);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(Refusal(*envelope),
            "statement names no model (predicate.buildDefinition.internalParameters.model)");
}

TEST_F(AttestationTest, TamperedPayloadIsRefused) {
  Json envelope = SignedProvenance(3);
  std::string payload = Payload(envelope);
  size_t at = payload.find(Hex('b'));
  ASSERT_NE(at, std::string::npos);
  payload[at] = 'c';  // model.json's attested digest
  envelope["payload"] = Base64Encode(payload);
  EXPECT_THAT(Refusal(envelope), HasSubstr("no valid signature"));
}

TEST_F(AttestationTest, TamperedSignatureIsRefused) {
  Json envelope = SignedProvenance(3);
  std::string sig;
  ASSERT_TRUE(Base64Decode(envelope["signatures"][0]["sig"].get<std::string>(), &sig));
  sig[10] ^= 1;
  envelope["signatures"][0]["sig"] = Base64Encode(sig);
  EXPECT_THAT(Refusal(envelope), HasSubstr("no valid signature"));
  envelope["signatures"][0]["sig"] = "not base64!";
  EXPECT_THAT(Refusal(envelope), HasSubstr("no valid signature"));
}

TEST_F(AttestationTest, EnvelopeWithoutSignaturesIsRefused) {
  Json envelope = SignedProvenance(3);
  envelope["signatures"] = Json::array();
  EXPECT_EQ(Refusal(envelope), "envelope has no signatures");
  envelope.erase("signatures");
  EXPECT_EQ(Refusal(envelope), "envelope has no signatures array");
}

TEST_F(AttestationTest, MalformedBase64IsRefused) {
  Json envelope = SignedProvenance(3);
  envelope["payload"] = "%%%not base64%%%";
  EXPECT_EQ(Refusal(envelope), "envelope payload is not valid base64");
  EXPECT_EQ(DecodeStatement(envelope).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AttestationTest, MalformedEnvelopeIsRefused) {
  EXPECT_EQ(Refusal(Json::array()), "envelope is not a JSON object");
  EXPECT_EQ(Refusal(Json("text")), "envelope is not a JSON object");
  Json envelope = SignedProvenance(3);
  envelope.erase("payloadType");
  EXPECT_EQ(Refusal(envelope), "envelope has no payloadType string");
  envelope = SignedProvenance(3);
  envelope["payload"] = 7;
  EXPECT_EQ(Refusal(envelope), "envelope has no payload string");
  envelope = SignedProvenance(3);
  envelope["signatures"][0]["sig"] = 1;
  EXPECT_EQ(Refusal(envelope), R"(envelope signature 0 is not {"keyid": string, "sig": string})");
  envelope = SignedProvenance(3);
  envelope["signatures"] = Json::array({"sig"});
  EXPECT_THAT(Refusal(envelope), HasSubstr("envelope signature 0"));
}

TEST_F(AttestationTest, SignedPayloadThatIsNotAStatementIsRefused) {
  EXPECT_THAT(Refusal(RawEnvelope("not json", key_)), HasSubstr("envelope payload is not JSON"));
  EXPECT_EQ(Refusal(RawEnvelope("[1,2]", key_)), "envelope payload is not a JSON object");
  EXPECT_EQ(Refusal(RawEnvelope("{}", key_)),
            "statement type (none), expected https://in-toto.io/Statement/v1");
  Json statement = ProvenanceStatement(CreditInputs(3));
  statement["_type"] = "https://in-toto.io/Statement/v0.1";
  EXPECT_EQ(Refusal(RawEnvelope(statement.dump(), key_)),
            "statement type https://in-toto.io/Statement/v0.1, expected "
            "https://in-toto.io/Statement/v1");
  statement = ProvenanceStatement(CreditInputs(3));
  statement["subject"].push_back(statement["subject"][0]);
  EXPECT_EQ(Refusal(RawEnvelope(statement.dump(), key_)), "subject card.html is listed twice");
  statement = ProvenanceStatement(CreditInputs(3));
  statement["subject"][1]["digest"] = {{"sha512", Hex('a')}};
  EXPECT_THAT(Refusal(RawEnvelope(statement.dump(), key_)),
              HasSubstr("subject manifest.json has no sha256 digest"));
  statement = ProvenanceStatement(CreditInputs(3));
  statement.erase("subject");
  EXPECT_EQ(Refusal(RawEnvelope(statement.dump(), key_)), "statement has no subjects");
}

TEST_F(AttestationTest, NonCanonicalPayloadSignedByATrustedKeyVerifies) {
  // Any JSON layout reads; the signature covers the bytes as they are.
  Json statement = ProvenanceStatement(CreditInputs(3));
  StatusOr<Json> verified = VerifyEnvelope(RawEnvelope(statement.dump(2), key_), trusted_,
                                           Expect(kProvenancePredicateType, 3));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, statement);
}

TEST_F(AttestationTest, IncompleteExpectationIsInvalidArgument) {
  Json envelope = SignedProvenance(3);
  auto code = [&](const VerifyExpectation& expect) {
    return VerifyEnvelope(envelope, trusted_, expect).status().code();
  };
  VerifyExpectation expect = Expect("", 3);
  EXPECT_EQ(code(expect), absl::StatusCode::kInvalidArgument);
  expect = Expect(kProvenancePredicateType, 0);
  EXPECT_EQ(code(expect), absl::StatusCode::kInvalidArgument);
  expect = Expect(kProvenancePredicateType, 3);
  expect.model.package_digest = "";
  EXPECT_EQ(code(expect), absl::StatusCode::kInvalidArgument);
  expect = Expect(kProvenancePredicateType, 3);
  expect.files.erase("manifest.json");
  EXPECT_EQ(code(expect), absl::StatusCode::kInvalidArgument);
  expect = Expect(kProvenancePredicateType, 3);
  expect.files["model.json"] = "md5:abc";
  EXPECT_EQ(code(expect), absl::StatusCode::kInvalidArgument);
}

TEST_F(AttestationTest, SignRefusesStatementsVerifyWouldRefuse) {
  auto code = [&](const Json& statement) { return SignStatement(statement, key_).status().code(); };
  EXPECT_EQ(code(Json::array()), absl::StatusCode::kInvalidArgument);
  Json statement = ProvenanceStatement(CreditInputs(3));
  statement["_type"] = "x";
  EXPECT_EQ(code(statement), absl::StatusCode::kInvalidArgument);
  statement = ProvenanceStatement(CreditInputs(3));
  statement.erase("predicateType");
  EXPECT_EQ(code(statement), absl::StatusCode::kInvalidArgument);
  ProvenanceInputs in = CreditInputs(3);
  in.files.push_back({"model.json", Digest('b')});
  EXPECT_EQ(code(ProvenanceStatement(in)), absl::StatusCode::kInvalidArgument);
  in = CreditInputs(3);
  in.files[0].digest = "sha256:ABC";
  EXPECT_EQ(code(ProvenanceStatement(in)), absl::StatusCode::kInvalidArgument);
  in = CreditInputs(3);
  in.files.clear();
  EXPECT_EQ(code(ProvenanceStatement(in)), absl::StatusCode::kInvalidArgument);
  in = CreditInputs(3);
  in.parameters["eta"] = std::nan("");
  EXPECT_EQ(code(ProvenanceStatement(in)), absl::StatusCode::kInvalidArgument);
}

// --- Edge bundles: the statement signed for `plinth export edge` (docs/edge.md). ---

EdgeBundleInputs CreditEdge(int64_t version) {
  EdgeBundleInputs in;
  in.model = {"risk", "credit", version, Digest('a')};
  in.package_files = {
      {"model.json", Digest('b')}, {"manifest.json", Digest('a')}, {"card.html", Digest('c')}};
  in.compiled_digest = Digest('e');
  in.compiled_format = 1;
  in.compiled_kind = "xgboost";
  in.stage = "staging";
  in.approvals = {{"promote", Digest('7')}, {"approve", Digest('6')}};
  in.exported_by = "dan";
  in.exported_at = "2026-03-04T08:00:00Z";
  in.request_id = "req-9";
  return in;
}

// As the edge binary verifies: the package named by the manifest, and the bundle's model.plc.
VerifyExpectation ExpectEdge(int64_t version) {
  VerifyExpectation expect = Expect(kEdgeBundlePredicateType, version);
  expect.compiled_digest = Digest('e');
  return expect;
}

class EdgeAttestationTest : public AttestationTest {
 protected:
  Json Signed(const EdgeBundleInputs& in) {
    StatusOr<Json> envelope = SignStatement(EdgeBundleStatement(in), key_);
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    return *envelope;
  }
  Json SignedStatement(const Json& statement) {
    StatusOr<Json> envelope = SignStatement(statement, key_);
    EXPECT_TRUE(envelope.ok()) << envelope.status();
    return *envelope;
  }
};

TEST_F(EdgeAttestationTest, StatementAttestsExactlyTheBundlesSignedFiles) {
  Json statement = EdgeBundleStatement(CreditEdge(3));
  EXPECT_EQ(statement["_type"], kStatementType);
  EXPECT_EQ(statement["predicateType"], "https://plinth.dev/attestation/edge-bundle/v1");
  EXPECT_EQ(statement["subject"],
            Json::parse(R"([{"name":"manifest.json","digest":{"sha256":")" + Hex('a') +
                        R"("}},{"name":"model.plc","digest":{"sha256":")" + Hex('e') + R"("}}])"));
  const Json& predicate = statement["predicate"];
  EXPECT_EQ(
      predicate["model"],
      Json::parse(R"({"project":"risk","name":"credit","version":3,"packageDigest":{"sha256":")" +
                  Hex('a') + R"("}})"));
  // The source package, sorted by name: the compiled file is tied to these signed files.
  ASSERT_EQ(predicate["sourcePackage"].size(), 3u);
  EXPECT_EQ(predicate["sourcePackage"][0]["name"], "card.html");
  EXPECT_EQ(predicate["sourcePackage"][2],
            Json::parse(R"({"name":"model.json","digest":{"sha256":")" + Hex('b') + R"("}})"));
  EXPECT_EQ(predicate["stage"], "staging");
  EXPECT_EQ(
      predicate["approvals"],
      Json::parse(R"([{"decision":"approve","digest":{"sha256":")" + Hex('6') +
                  R"("}},{"decision":"promote","digest":{"sha256":")" + Hex('7') + R"("}}])"));
  EXPECT_EQ(predicate["exportedBy"], "dan");
  EXPECT_EQ(predicate["exportedAt"], "2026-03-04T08:00:00Z");
  EXPECT_EQ(predicate["compiledFormat"], 1);
  EXPECT_EQ(predicate["compiledKind"], "xgboost");
  EXPECT_EQ(predicate["requestId"], "req-9");
}

TEST_F(EdgeAttestationTest, RoundTripOnTheEdgeAndOnThePlatform) {
  Json envelope = Signed(CreditEdge(3));
  StatusOr<Json> verified = VerifyEnvelope(envelope, trusted_, ExpectEdge(3));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, EdgeBundleStatement(CreditEdge(3)));
  // The platform re-verifies a version's attestations from the package, without the bundle.
  VerifyExpectation platform = ExpectEdge(3);
  platform.compiled_digest.clear();
  verified = VerifyEnvelope(envelope, trusted_, platform);
  EXPECT_TRUE(verified.ok()) << verified.status();
  // The same inputs in another order give the same bytes.
  EdgeBundleInputs reordered = CreditEdge(3);
  std::reverse(reordered.package_files.begin(), reordered.package_files.end());
  std::reverse(reordered.approvals.begin(), reordered.approvals.end());
  EXPECT_EQ(Signed(reordered), envelope);
}

TEST_F(EdgeAttestationTest, TamperedCompiledModelIsRefused) {
  VerifyExpectation expect = ExpectEdge(3);
  expect.compiled_digest = Digest('0');
  EXPECT_EQ(RefusalOf(Signed(CreditEdge(3)), expect),
            "file model.plc: digest " + Digest('0') + " differs from the attested " + Digest('e'));
}

TEST_F(EdgeAttestationTest, TamperedManifestIsRefused) {
  // On the edge the expected package digest is the manifest's own hash, so a changed manifest
  // names another package.
  VerifyExpectation expect = ExpectEdge(3);
  expect.model.package_digest = Digest('0');
  expect.files["manifest.json"] = Digest('0');
  EXPECT_EQ(RefusalOf(Signed(CreditEdge(3)), expect),
            "statement names package " + Digest('a') + ", expected " + Digest('0'));
  // A manifest subject that differs from the package the predicate names is caught too.
  Json statement = EdgeBundleStatement(CreditEdge(3));
  statement["subject"][0]["digest"]["sha256"] = Hex('0');
  EXPECT_EQ(
      RefusalOf(SignedStatement(statement), ExpectEdge(3)),
      "file manifest.json: digest " + Digest('a') + " differs from the attested " + Digest('0'));
}

TEST_F(EdgeAttestationTest, SubjectsMustBeExactlyManifestAndCompiledModel) {
  Json statement = EdgeBundleStatement(CreditEdge(3));
  statement["subject"].push_back({{"name", "extra.bin"}, {"digest", {{"sha256", Hex('9')}}}});
  EXPECT_EQ(RefusalOf(SignedStatement(statement), ExpectEdge(3)),
            "attested file extra.bin is missing");
  statement = EdgeBundleStatement(CreditEdge(3));
  statement["subject"].erase(1);  // model.plc
  EXPECT_EQ(RefusalOf(SignedStatement(statement), ExpectEdge(3)), "file model.plc is not attested");
  // Also when the platform verifies without the bundle.
  VerifyExpectation platform = ExpectEdge(3);
  platform.compiled_digest.clear();
  EXPECT_EQ(RefusalOf(SignedStatement(statement), platform), "file model.plc is not attested");
}

TEST_F(EdgeAttestationTest, ChangedSourcePackageIsRefused) {
  VerifyExpectation expect = ExpectEdge(3);
  expect.files["model.json"] = Digest('8');
  expect.files.erase("card.html");
  EXPECT_EQ(RefusalOf(Signed(CreditEdge(3)), expect),
            "source package: attested file card.html is missing; file model.json: digest " +
                Digest('8') + " differs from the attested " + Digest('b'));
}

TEST_F(EdgeAttestationTest, StatementOfAnotherModelOrVersionIsRefused) {
  EXPECT_EQ(RefusalOf(Signed(CreditEdge(2)), ExpectEdge(3)),
            "statement names model risk/credit@2, expected risk/credit@3");
  EdgeBundleInputs in = CreditEdge(3);
  in.model.name = "fraud";
  EXPECT_EQ(RefusalOf(Signed(in), ExpectEdge(3)),
            "statement names model risk/fraud@3, expected risk/credit@3");
}

TEST_F(EdgeAttestationTest, PredicateTypeMismatchIsRefused) {
  // A provenance or approval envelope is not an edge bundle's, and the other way round.
  EXPECT_EQ(RefusalOf(SignedProvenance(3), ExpectEdge(3)),
            "predicate type https://slsa.dev/provenance/v1, expected "
            "https://plinth.dev/attestation/edge-bundle/v1");
  EXPECT_EQ(Refusal(Signed(CreditEdge(3)), 3, kApprovalPredicateType),
            "predicate type https://plinth.dev/attestation/edge-bundle/v1, expected "
            "https://plinth.dev/attestation/approval/v1");
}

TEST_F(EdgeAttestationTest, UntrustedKeyIsRefused) {
  // A bundle re-signed by another key verifies only if that key is trusted.
  SigningKey other = SigningKey::Generate();
  StatusOr<Json> envelope = SignStatement(EdgeBundleStatement(CreditEdge(3)), other);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(RefusalOf(*envelope, ExpectEdge(3)),
            "signature by key " + other.KeyId() + " which is not trusted");
  Json tampered = Signed(CreditEdge(3));
  tampered["signatures"][0]["sig"] = other.Sign("anything");
  EXPECT_THAT(RefusalOf(tampered, ExpectEdge(3)), HasSubstr("does not verify over the payload"));
}

TEST_F(EdgeAttestationTest, RequiredPredicateFieldsAreChecked) {
  auto refusal = [&](const std::function<void(Json&)>& change) {
    Json statement = EdgeBundleStatement(CreditEdge(3));
    change(statement["predicate"]);
    return RefusalOf(SignedStatement(statement), ExpectEdge(3));
  };
  EXPECT_EQ(refusal([](Json& p) { p["stage"] = "none"; }),
            "edge bundle stage none is not staging or production");
  EXPECT_EQ(refusal([](Json& p) { p.erase("stage"); }),
            "edge bundle stage (none) is not staging or production");
  EXPECT_EQ(refusal([](Json& p) { p.erase("sourcePackage"); }),
            "edge bundle names no source package (predicate.sourcePackage)");
  EXPECT_EQ(refusal([](Json& p) { p["sourcePackage"][1]["digest"]["sha256"] = "xyz"; }),
            "source package file manifest.json has no sha256 digest of 64 lowercase hex");
  EXPECT_EQ(refusal([](Json& p) { p["approvals"] = Json::array(); }),
            "edge bundle names no approvals (predicate.approvals)");
  EXPECT_THAT(refusal([](Json& p) { p["approvals"][0]["decision"] = "reject"; }),
              HasSubstr("edge bundle approval 0 is not"));
  EXPECT_EQ(refusal([](Json& p) { p["exportedBy"] = ""; }),
            "edge bundle names no exporter (predicate.exportedBy)");
  EXPECT_EQ(refusal([](Json& p) { p["exportedAt"] = "yesterday"; }),
            "edge bundle exportedAt yesterday is not an RFC 3339 time");
  EXPECT_EQ(refusal([](Json& p) { p["compiledFormat"] = 0; }),
            "edge bundle compiledFormat 0 is not a positive integer");
  EXPECT_EQ(refusal([](Json& p) { p["compiledFormat"] = "1"; }),
            "edge bundle compiledFormat 1 is not a positive integer");
  EXPECT_EQ(refusal([](Json& p) { p.erase("compiledKind"); }),
            "edge bundle names no compiled kind (predicate.compiledKind)");
}

TEST_F(EdgeAttestationTest, CompiledDigestIsForEdgeBundlesOnly) {
  VerifyExpectation expect = Expect(kProvenancePredicateType, 3);
  expect.compiled_digest = Digest('e');
  EXPECT_EQ(VerifyEnvelope(SignedProvenance(3), trusted_, expect).status().code(),
            absl::StatusCode::kInvalidArgument);
  expect = ExpectEdge(3);
  expect.compiled_digest = "sha256:short";
  EXPECT_EQ(VerifyEnvelope(Signed(CreditEdge(3)), trusted_, expect).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The example of docs/formats/attestation.md: its key's seed is the bytes 00 01 .. 1f (never use it
// for anything else), so the documented envelopes can be checked byte for byte.
constexpr char kExampleSecretKey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr char kExampleKeyId[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr char kManifestHex[] = "ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743";
constexpr char kModelHex[] = "08449dfe8b6c265b9ec864ad13b8d86e7503428f935b9f3d01edab200f0eabd6";

SigningKey ExampleKey() {
  char path[] = "/tmp/attestation_test_key_XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  unlink(path);  // Save refuses to overwrite
  std::string bytes;
  EXPECT_TRUE(HexDecode(kExampleSecretKey, &bytes));
  {
    std::ofstream out(path);
    out << kExampleSecretKey << "\n";
  }
  chmod(path, 0600);
  StatusOr<SigningKey> key = SigningKey::Load(path);
  unlink(path);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

VerifyExpectation ExampleExpectation(std::string_view predicate_type) {
  VerifyExpectation expect;
  expect.predicate_type = std::string(predicate_type);
  expect.model = {"credit-risk", "credit-default", 3, std::string("sha256:") + kManifestHex};
  expect.files = {{"manifest.json", std::string("sha256:") + kManifestHex},
                  {"model.json", std::string("sha256:") + kModelHex}};
  return expect;
}

ProvenanceInputs ExampleProvenance() {
  ProvenanceInputs in;
  in.model = {"credit-risk", "credit-default", 3, std::string("sha256:") + kManifestHex};
  in.files = {{"manifest.json", std::string("sha256:") + kManifestHex},
              {"model.json", std::string("sha256:") + kModelHex}};
  in.pipeline = "credit-default";
  in.spec_digest = "sha256:d4f02eaafd1a9e9de7d10972ca8e47fa7a985825c3c9c1e249c72683cb3e4f19";
  in.parameters = {{"max_depth", 4}, {"learning_rate", 0.1}};
  in.run_id = "01JNR0A7T5Q2W8E4R6Y1U3I9O0";
  in.step = "train";
  in.datasets = {{"loans", "be9aa7494d82",
                  "sha256:be9aa7494d82bfe5fbee0aaf1131f1df313be491e1fecb7aba9dbbf41a0d1bd4"}};
  in.feature_definitions = {
      {"applicant_features",
       "sha256:5b8a8b56dada6ce7567442b4935298df7de2badd7becdcf4915a59487338ca4b"}};
  in.environment = "sha256:b77349bf1fa9b26d45d545d7d64dad96737e9cfbb3cbb5f5d10fb77b0fcc44ad";
  in.builder_id = std::string("https://plinth.dev/platform/") + kExampleKeyId;
  in.started_at = "2026-03-02T09:20:11Z";
  in.finished_at = "2026-03-02T09:24:57Z";
  in.registered_by = "alice";
  in.documents = {
      {"model-card.html", "sha256:8367cd66fdd136bba8ba23f8805bb050dd6289401c8ec3b0be44a3c233eef90d",
       "text/html"},
      {"validation-report.html",
       "sha256:845e91831319e89c4d656bdb80c278ac09a7230d61e5dfd2e1b1fbb436ac8917", "text/html"},
      {"lineage.svg", "sha256:0713f136ea316c8f3e274d55012e3bf10d05b5263837187a39593ff0d8838dfa",
       "image/svg+xml"}};
  return in;
}

ApprovalInputs ExampleApproval() {
  ApprovalInputs in;
  in.model = {"credit-risk", "credit-default", 3, std::string("sha256:") + kManifestHex};
  in.files = {{"manifest.json", std::string("sha256:") + kManifestHex},
              {"model.json", std::string("sha256:") + kModelHex}};
  in.decision = "approve";
  in.actor = "bob";
  in.role = "validator";
  in.stage = "production";
  in.at = "2026-03-03T14:02:45Z";
  in.comment = "Meets MRM policy 4.2";
  in.policy_decision_digest =
      "sha256:823412d1eacb67956220e532959f0104603057c88704863ca38e7cd188fda812";
  in.request_id = "01JNT5C2M8X4Z6B0N3V7K9H1JQ";
  in.documents = {{"model-card.html",
                   "sha256:66220cdfb3220c8443c4353553c34725e84701dcddce14fe89175398c6d1e4b1",
                   "text/html"}};
  return in;
}

// The envelopes printed in docs/formats/attestation.md.
constexpr char kDocumentedProvenance[] =
    R"({"payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJwcmVkaWNhdGUiOnsiYn)"
    R"(VpbGREZWZpbml0aW9uIjp7ImJ1aWxkVHlwZSI6Imh0dHBzOi8vcGxpbnRoLmRldi9waXBlbGluZS92MSIsImV4dGVy)"
    R"(bmFsUGFyYW1ldGVycyI6eyJwYXJhbWV0ZXJzIjp7ImxlYXJuaW5nX3JhdGUiOjAuMSwibWF4X2RlcHRoIjo0fSwicG)"
    R"(lwZWxpbmUiOiJjcmVkaXQtZGVmYXVsdCIsInNwZWNEaWdlc3QiOnsic2hhMjU2IjoiZDRmMDJlYWFmZDFhOWU5ZGU3)"
    R"(ZDEwOTcyY2E4ZTQ3ZmE3YTk4NTgyNWMzYzljMWUyNDljNzI2ODNjYjNlNGYxOSJ9fSwiaW50ZXJuYWxQYXJhbWV0ZX)"
    R"(JzIjp7Im1vZGVsIjp7Im5hbWUiOiJjcmVkaXQtZGVmYXVsdCIsInBhY2thZ2VEaWdlc3QiOnsic2hhMjU2IjoiZmZh)"
    R"(NWI3MTZiNWE1NzgzN2Y3OTI5ZGZjY2E0YjRkZmRlYjk3MjEwYTdmZDVhMTJkMmYxOTc4ODQ2ZDZmMTc0MyJ9LCJwcm)"
    R"(9qZWN0IjoiY3JlZGl0LXJpc2siLCJ2ZXJzaW9uIjozfSwicmVnaXN0ZXJlZEJ5IjoiYWxpY2UiLCJzdGVwIjoidHJh)"
    R"(aW4ifSwicmVzb2x2ZWREZXBlbmRlbmNpZXMiOlt7ImRpZ2VzdCI6eyJzaGEyNTYiOiJiZTlhYTc0OTRkODJiZmU1Zm)"
    R"(JlZTBhYWYxMTMxZjFkZjMxM2JlNDkxZTFmZWNiN2FiYTlkYmJmNDFhMGQxYmQ0In0sInVyaSI6InBsaW50aDpkYXRh)"
    R"(c2V0L2xvYW5zQGJlOWFhNzQ5NGQ4MiJ9LHsiZGlnZXN0Ijp7InNoYTI1NiI6IjViOGE4YjU2ZGFkYTZjZTc1Njc0ND)"
    R"(JiNDkzNTI5OGRmN2RlMmJhZGQ3YmVjZGNmNDkxNWE1OTQ4NzMzOGNhNGIifSwidXJpIjoicGxpbnRoOmZlYXR1cmVz)"
    R"(L2FwcGxpY2FudF9mZWF0dXJlcyJ9LHsiZGlnZXN0Ijp7InNoYTI1NiI6ImI3NzM0OWJmMWZhOWIyNmQ0NWQ1NDVkN2)"
    R"(Q2NGRhZDk2NzM3ZTljZmJiM2NiYjVmNWQxMGZiNzdiMGZjYzQ0YWQifSwidXJpIjoicGxpbnRoOmVudmlyb25tZW50)"
    R"(In1dfSwicnVuRGV0YWlscyI6eyJidWlsZGVyIjp7ImlkIjoiaHR0cHM6Ly9wbGludGguZGV2L3BsYXRmb3JtLzAzYT)"
    R"(EwN2JmZjNjZTEwYmUxZDcwZGQxOGU3NGJjMDk5NjdlNGQ2MzA5YmE1MGQ1ZjFkZGM4NjY0MTI1NTMxYjgifSwiYnlw)"
    R"(cm9kdWN0cyI6W3siZGlnZXN0Ijp7InNoYTI1NiI6IjA3MTNmMTM2ZWEzMTZjOGYzZTI3NGQ1NTAxMmUzYmYxMGQwNW)"
    R"(I1MjYzODM3MTg3YTM5NTkzZmYwZDg4MzhkZmEifSwibWVkaWFUeXBlIjoiaW1hZ2Uvc3ZnK3htbCIsIm5hbWUiOiJs)"
    R"(aW5lYWdlLnN2ZyJ9LHsiZGlnZXN0Ijp7InNoYTI1NiI6IjgzNjdjZDY2ZmRkMTM2YmJhOGJhMjNmODgwNWJiMDUwZG)"
    R"(Q2Mjg5NDAxYzhlYzNiMGJlNDRhM2MyMzNlZWY5MGQifSwibWVkaWFUeXBlIjoidGV4dC9odG1sIiwibmFtZSI6Im1v)"
    R"(ZGVsLWNhcmQuaHRtbCJ9LHsiZGlnZXN0Ijp7InNoYTI1NiI6Ijg0NWU5MTgzMTMxOWU4OWM0ZDY1NmJkYjgwYzI3OG)"
    R"(FjMDlhNzIzMGQ2MWU1ZGZkMmUxYjFmYmI0MzZhYzg5MTcifSwibWVkaWFUeXBlIjoidGV4dC9odG1sIiwibmFtZSI6)"
    R"(InZhbGlkYXRpb24tcmVwb3J0Lmh0bWwifV0sIm1ldGFkYXRhIjp7ImZpbmlzaGVkT24iOiIyMDI2LTAzLTAyVDA5Oj)"
    R"(I0OjU3WiIsImludm9jYXRpb25JZCI6IjAxSk5SMEE3VDVRMlc4RTRSNlkxVTNJOU8wIiwic3RhcnRlZE9uIjoiMjAy)"
    R"(Ni0wMy0wMlQwOToyMDoxMVoifX19LCJwcmVkaWNhdGVUeXBlIjoiaHR0cHM6Ly9zbHNhLmRldi9wcm92ZW5hbmNlL3)"
    R"(YxIiwic3ViamVjdCI6W3siZGlnZXN0Ijp7InNoYTI1NiI6ImZmYTViNzE2YjVhNTc4MzdmNzkyOWRmY2NhNGI0ZGZk)"
    R"(ZWI5NzIxMGE3ZmQ1YTEyZDJmMTk3ODg0NmQ2ZjE3NDMifSwibmFtZSI6Im1hbmlmZXN0Lmpzb24ifSx7ImRpZ2VzdC)"
    R"(I6eyJzaGEyNTYiOiIwODQ0OWRmZThiNmMyNjViOWVjODY0YWQxM2I4ZDg2ZTc1MDM0MjhmOTM1YjlmM2QwMWVkYWIy)"
    R"(MDBmMGVhYmQ2In0sIm5hbWUiOiJtb2RlbC5qc29uIn1dfQ==","payloadType":"application/vnd.in-toto+j)"
    R"(son","signatures":[{"keyid":"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc866412553)"
    R"(1b8","sig":"LSycRVZsXLH6tSZWh40xC3KG4Jum6+1Faafpc0HIhJ8IpVY2iS0J0l1Vo3qRVYU8aaVNkiLeD4qSIk)"
    R"(6yrnHSAA=="}]})";
constexpr char kDocumentedApproval[] =
    R"({"payload":"eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJwcmVkaWNhdGUiOnsiYW)"
    R"(N0b3IiOiJib2IiLCJhdCI6IjIwMjYtMDMtMDNUMTQ6MDI6NDVaIiwiY29tbWVudCI6Ik1lZXRzIE1STSBwb2xpY3kg)"
    R"(NC4yIiwiZGVjaXNpb24iOiJhcHByb3ZlIiwiZG9jdW1lbnRzIjpbeyJkaWdlc3QiOnsic2hhMjU2IjoiNjYyMjBjZG)"
    R"(ZiMzIyMGM4NDQzYzQzNTM1NTNjMzQ3MjVlODQ3MDFkY2RkY2UxNGZlODkxNzUzOThjNmQxZTRiMSJ9LCJtZWRpYVR5)"
    R"(cGUiOiJ0ZXh0L2h0bWwiLCJuYW1lIjoibW9kZWwtY2FyZC5odG1sIn1dLCJtb2RlbCI6eyJuYW1lIjoiY3JlZGl0LW)"
    R"(RlZmF1bHQiLCJwYWNrYWdlRGlnZXN0Ijp7InNoYTI1NiI6ImZmYTViNzE2YjVhNTc4MzdmNzkyOWRmY2NhNGI0ZGZk)"
    R"(ZWI5NzIxMGE3ZmQ1YTEyZDJmMTk3ODg0NmQ2ZjE3NDMifSwicHJvamVjdCI6ImNyZWRpdC1yaXNrIiwidmVyc2lvbi)"
    R"(I6M30sInBvbGljeURlY2lzaW9uIjp7ImRpZ2VzdCI6eyJzaGEyNTYiOiI4MjM0MTJkMWVhY2I2Nzk1NjIyMGU1MzI5)"
    R"(NTlmMDEwNDYwMzA1N2M4ODcwNDg2M2NhMzhlN2NkMTg4ZmRhODEyIn19LCJyZXF1ZXN0SWQiOiIwMUpOVDVDMk04WD)"
    R"(RaNkIwTjNWN0s5SDFKUSIsInJvbGUiOiJ2YWxpZGF0b3IiLCJzdGFnZSI6InByb2R1Y3Rpb24ifSwicHJlZGljYXRl)"
    R"(VHlwZSI6Imh0dHBzOi8vcGxpbnRoLmRldi9hdHRlc3RhdGlvbi9hcHByb3ZhbC92MSIsInN1YmplY3QiOlt7ImRpZ2)"
    R"(VzdCI6eyJzaGEyNTYiOiJmZmE1YjcxNmI1YTU3ODM3Zjc5MjlkZmNjYTRiNGRmZGViOTcyMTBhN2ZkNWExMmQyZjE5)"
    R"(Nzg4NDZkNmYxNzQzIn0sIm5hbWUiOiJtYW5pZmVzdC5qc29uIn0seyJkaWdlc3QiOnsic2hhMjU2IjoiMDg0NDlkZm)"
    R"(U4YjZjMjY1YjllYzg2NGFkMTNiOGQ4NmU3NTAzNDI4ZjkzNWI5ZjNkMDFlZGFiMjAwZjBlYWJkNiJ9LCJuYW1lIjoi)"
    R"(bW9kZWwuanNvbiJ9XX0=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":)"
    R"("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8","sig":"mhTygodlHtITvahq)"
    R"(tn0KkXePiSfydP3E0haMYYYzbr0t/wg9udXC089sEjVoZWTyRpGq6K4XETFVzEBGBuzpCg=="}]})";

TEST(AttestationFormatDoc, TheDocumentedExamplesAreWhatSigningGives) {
  SigningKey key = ExampleKey();
  ASSERT_EQ(key.KeyId(), kExampleKeyId);
  StatusOr<Json> provenance = SignStatement(ProvenanceStatement(ExampleProvenance()), key);
  StatusOr<Json> approval = SignStatement(ApprovalStatement(ExampleApproval()), key);
  ASSERT_TRUE(provenance.ok() && approval.ok());
  EXPECT_EQ(*provenance, Json::parse(kDocumentedProvenance));
  EXPECT_EQ(*approval, Json::parse(kDocumentedApproval));
}

TEST(AttestationFormatDoc, TheDocumentedExamplesVerifyWithTheDocumentedKey) {
  std::string public_key;
  ASSERT_TRUE(HexDecode(kExampleKeyId, &public_key));
  std::vector<TrustedKey> trusted = {{kExampleKeyId, public_key}};
  StatusOr<Json> provenance = VerifyEnvelope(Json::parse(kDocumentedProvenance), trusted,
                                             ExampleExpectation(kProvenancePredicateType));
  EXPECT_TRUE(provenance.ok()) << provenance.status();
  StatusOr<Json> approval = VerifyEnvelope(Json::parse(kDocumentedApproval), trusted,
                                           ExampleExpectation(kApprovalPredicateType));
  EXPECT_TRUE(approval.ok()) << approval.status();
}

EdgeBundleInputs ExampleEdgeBundle() {
  EdgeBundleInputs in;
  in.model = {"credit-risk", "credit-default", 3, std::string("sha256:") + kManifestHex};
  in.package_files = {{"manifest.json", std::string("sha256:") + kManifestHex},
                      {"model.json", std::string("sha256:") + kModelHex}};
  in.compiled_digest = "sha256:5d3c0f8e2a9b7146c1e08d2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d";
  in.compiled_format = 1;
  in.compiled_kind = "xgboost";
  in.stage = "production";
  in.approvals = {
      {"approve", "sha256:3b1f6a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"},
      {"promote", "sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"},
      {"validate", "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"}};
  in.exported_by = "dan";
  in.exported_at = "2026-03-05T10:15:00Z";
  in.request_id = "01JNW2R5T8Y1U4I7O0P3A6S9D2";
  return in;
}

// The edge bundle statement printed in docs/formats/attestation.md.
constexpr char kDocumentedEdgeBundle[] = R"({
  "_type": "https://in-toto.io/Statement/v1",
  "predicate": {
    "approvals": [
      {"decision": "approve",
       "digest": {"sha256": "3b1f6a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"}},
      {"decision": "promote",
       "digest": {"sha256": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"}},
      {"decision": "validate",
       "digest": {"sha256": "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"}}
    ],
    "compiledFormat": 1,
    "compiledKind": "xgboost",
    "exportedAt": "2026-03-05T10:15:00Z",
    "exportedBy": "dan",
    "model": {
      "name": "credit-default",
      "packageDigest": {"sha256": "ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743"},
      "project": "credit-risk",
      "version": 3
    },
    "requestId": "01JNW2R5T8Y1U4I7O0P3A6S9D2",
    "sourcePackage": [
      {"digest": {"sha256": "ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743"},
       "name": "manifest.json"},
      {"digest": {"sha256": "08449dfe8b6c265b9ec864ad13b8d86e7503428f935b9f3d01edab200f0eabd6"},
       "name": "model.json"}
    ],
    "stage": "production"
  },
  "predicateType": "https://plinth.dev/attestation/edge-bundle/v1",
  "subject": [
    {"digest": {"sha256": "ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743"},
     "name": "manifest.json"},
    {"digest": {"sha256": "5d3c0f8e2a9b7146c1e08d2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d"},
     "name": "model.plc"}
  ]
})";

TEST(AttestationFormatDoc, TheDocumentedEdgeBundleStatementIsWhatTheBuilderGives) {
  EXPECT_EQ(EdgeBundleStatement(ExampleEdgeBundle()), Json::parse(kDocumentedEdgeBundle));
  SigningKey key = ExampleKey();
  StatusOr<Json> envelope = SignStatement(EdgeBundleStatement(ExampleEdgeBundle()), key);
  ASSERT_TRUE(envelope.ok()) << envelope.status();
  std::vector<TrustedKey> trusted = {{"", key.public_key()}};
  VerifyExpectation expect = ExampleExpectation(kEdgeBundlePredicateType);
  expect.compiled_digest = ExampleEdgeBundle().compiled_digest;
  StatusOr<Json> verified = VerifyEnvelope(*envelope, trusted, expect);
  EXPECT_TRUE(verified.ok()) << verified.status();
}

TEST(DecodeStatement, ReadsWithoutVerifyingAndRefusesMalformedEnvelopes) {
  SigningKey key = SigningKey::Generate();
  Json envelope = *SignStatement(ApprovalStatement(CreditApproval(3)), key);
  envelope["signatures"] = Json::array();  // not looked at
  StatusOr<Json> statement = DecodeStatement(envelope);
  ASSERT_TRUE(statement.ok()) << statement.status();
  EXPECT_EQ(*statement, ApprovalStatement(CreditApproval(3)));
  EXPECT_EQ(DecodeStatement(Json::array()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeStatement(Json::object()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeStatement({{"payload", Base64Encode("nope")}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeStatement({{"payload", Base64Encode("3")}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth::registry
