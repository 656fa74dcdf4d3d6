// Tests of VerifyBundle over real bundle folders: a small compiled model, its manifest, an edge
// bundle statement signed with a fresh key, the key and the index, written as
// `plinth export edge` writes them; then every kind of tampering, each refused naming its check.
#include "edge/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/signing.h"
#include "registry/attestation.h"
#include "serve/compiled_format.h"

namespace plinth::edge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// logit = -1 + 0.002 * (income - 1000) + 0.5 * (term=60 - 0.25) - 0.5 * (term=36 - 0.75).
CompiledModel TinyModel() {
  CompiledModel::Parts parts;
  parts.kind = CompiledKind::kLogistic;
  parts.binary = true;
  Json spec = {{"format", 1},
               {"features",
                {{{"column", "income"}, {"type", "float64"}, {"encoding", "numeric"}},
                 {{"column", "term"},
                  {"type", "string"},
                  {"encoding", "one_hot"},
                  {"levels", {"36", "60"}},
                  {"other", false}}}},
               {"outputs", {"income", "term=36", "term=60"}}};
  StatusOr<PreprocessSpec> parsed = PreprocessSpec::FromJson(spec);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  parts.spec = *parsed;
  parts.intercept = -1;
  parts.weights = {0.002, -0.5, 0.5};
  parts.centers = {1000, 0.75, 0.25};
  StatusOr<CompiledModel> model = CompiledModel::FromParts(std::move(parts));
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/edge_bundle_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/bundle";
    fs::create_directory(dir_);
    model_file_ = "{\"the\": \"source model\"}";
    manifest_ = Json{{"format", 1},
                     {"kind", "logistic"},
                     {"files",
                      {{{"name", "model.json"},
                        {"role", "model"},
                        {"digest", Sha256Digest(model_file_)},
                        {"size", model_file_.size()}}}},
                     {"inputs",
                      {{{"name", "income"}, {"type", "float64"}, {"datatype", "FP64"}},
                       {{"name", "term"}, {"type", "string"}, {"datatype", "BYTES"}}}}}
                    .dump();
    compiled_ = SerializeCompiledModel(TinyModel());
    Write("manifest.json", manifest_);
    Write("model.plc", compiled_);
    Sign(key_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary | std::ios::trunc) << content;
  }
  std::string Read(const std::string& name) { return *ReadFile(dir_ + "/" + name); }

  registry::EdgeBundleInputs Inputs() {
    registry::EdgeBundleInputs in;
    in.model = {"risk", "credit", 3, Sha256Digest(manifest_)};
    in.package_files = {{"manifest.json", Sha256Digest(manifest_)},
                        {"model.json", Sha256Digest(model_file_)}};
    in.compiled_digest = Sha256Digest(compiled_);
    in.compiled_format = kCompiledModelFormat;
    in.compiled_kind = "logistic";
    in.stage = "production";
    in.approvals = {{"promote", Sha256Digest("promotion")}};
    in.exported_by = "dan";
    in.exported_at = "2026-03-05T10:15:00Z";
    in.request_id = "req-1";
    return in;
  }

  // Signs the statement of the files as they are now with `key`, and writes attestation.json,
  // platform.pub and bundle.json to match.
  void Sign(const SigningKey& key, const registry::EdgeBundleInputs* inputs = nullptr) {
    registry::EdgeBundleInputs in = inputs ? *inputs : Inputs();
    StatusOr<Json> envelope = registry::SignStatement(registry::EdgeBundleStatement(in), key);
    ASSERT_TRUE(envelope.ok()) << envelope.status();
    Write("attestation.json", DumpJson(*envelope, 2));
    Write("platform.pub", key.KeyId() + "\n");
    Reindex(key.KeyId());
  }
  void Reindex(const std::string& key_id) {
    Json bundle = {{"format", kBundleFormat},
                   {"model",
                    {{"project", "risk"},
                     {"name", "credit"},
                     {"version", 3},
                     {"ref", "credit@3"},
                     {"digest", Sha256Digest(Read("manifest.json"))}}},
                   {"stage", "production"},
                   {"files",
                    {{"model.plc", Sha256Digest(Read("model.plc"))},
                     {"manifest.json", Sha256Digest(Read("manifest.json"))},
                     {"attestation.json", Sha256Digest(Read("attestation.json"))}}},
                   {"predicate_type", registry::kEdgeBundlePredicateType},
                   {"key_id", key_id}};
    Write("bundle.json", DumpJson(bundle, 2));
  }

  // The DataLoss message of verifying the bundle now.
  std::string Refusal(const std::optional<std::string>& trusted = std::nullopt) {
    StatusOr<VerifiedBundle> b = VerifyBundle(dir_, trusted);
    EXPECT_EQ(b.status().code(), absl::StatusCode::kDataLoss) << b.status();
    return std::string(b.status().message());
  }

  static std::string Flipped(std::string bytes, size_t at) {
    bytes[at % bytes.size()] ^= 0x01;
    return bytes;
  }

  std::string root_, dir_, model_file_, manifest_, compiled_;
  SigningKey key_ = SigningKey::Generate();
};

TEST_F(BundleTest, AnIntactBundleVerifiesAndScores) {
  StatusOr<VerifiedBundle> b = VerifyBundle(dir_, key_.public_key());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->Ref(), "credit@3");
  EXPECT_EQ(b->project, "risk");
  EXPECT_EQ(b->stage, "production");
  EXPECT_EQ(b->key_id, key_.KeyId());
  EXPECT_TRUE(b->key_trusted);
  EXPECT_EQ(b->exported_by, "dan");
  EXPECT_EQ(b->package_digest, Sha256Digest(manifest_));
  EXPECT_EQ(b->compiled_digest, Sha256Digest(compiled_));
  ASSERT_EQ(b->inputs.size(), 2u);
  EXPECT_EQ(b->inputs[1], std::make_pair(std::string("term"), std::string("string")));
  StatusOr<double> p = b->model->PredictJsonRow(Json{{"income", 1500}, {"term", "60"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_NEAR(*p, Sigmoid(-1 + 0.002 * 500 + 0.5 * 0.75 - 0.5 * -0.75), 1e-6);
  // Without a trusted key the bundle verifies against its own key, and says so.
  b = VerifyBundle(dir_, std::nullopt);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->key_trusted);
  // Other files in the folder do not matter.
  Write("README.txt", "notes");
  EXPECT_TRUE(VerifyBundle(dir_, key_.public_key()).ok());
}

TEST_F(BundleTest, AChangedByteInAnyFileIsRefused) {
  for (const char* file : {"model.plc", "manifest.json", "attestation.json"}) {
    const std::string good = Read(file);
    Write(file, Flipped(good, 40));
    EXPECT_THAT(Refusal(), HasSubstr(std::string(file) + ": digest ")) << file;
    Write(file, good);
  }
  EXPECT_TRUE(VerifyBundle(dir_, std::nullopt).ok());
}

TEST_F(BundleTest, AChangedFileWithARewrittenIndexIsRefusedByTheSignature) {
  // The compiled model changed and bundle.json updated to match: the statement still names the
  // original model.plc.
  Write("model.plc", Flipped(compiled_, 100));
  Reindex(key_.KeyId());
  EXPECT_THAT(Refusal(), HasSubstr("attestation.json: file model.plc: digest"));
  Write("model.plc", compiled_);

  // The manifest changed: it names another package than the signed one.
  Json manifest = Json::parse(manifest_);
  manifest["inputs"][0]["name"] = "salary";
  Write("manifest.json", manifest.dump());
  Reindex(key_.KeyId());
  EXPECT_THAT(Refusal(), HasSubstr("attestation.json: statement names package"));
}

TEST_F(BundleTest, ATamperedSignatureIsRefused) {
  Json envelope = Json::parse(Read("attestation.json"));
  std::string sig = envelope["signatures"][0]["sig"];
  sig[5] = sig[5] == 'A' ? 'B' : 'A';
  envelope["signatures"][0]["sig"] = sig;
  Write("attestation.json", DumpJson(envelope, 2));
  Reindex(key_.KeyId());
  EXPECT_THAT(Refusal(), HasSubstr("does not verify over the payload"));
}

TEST_F(BundleTest, AnotherKeyIsRefused) {
  SigningKey other = SigningKey::Generate();
  // Swapping platform.pub alone breaks the index's key id.
  Write("platform.pub", other.KeyId() + "\n");
  EXPECT_THAT(Refusal(), HasSubstr("platform.pub holds key " + other.KeyId()));
  // With the index rewritten too, the signature is by a key that is not the bundled one.
  Reindex(other.KeyId());
  EXPECT_EQ(Refusal(),
            "attestation.json: signature by key " + key_.KeyId() + " which is not trusted");
  // A bundle re-signed by another key is consistent on its own, but not the trusted key's.
  Sign(other);
  EXPECT_TRUE(VerifyBundle(dir_, std::nullopt).ok());
  EXPECT_EQ(Refusal(key_.public_key()), "the bundle is signed by key " + other.KeyId() +
                                            ", which is not the trusted key " + key_.KeyId());
}

TEST_F(BundleTest, AStatementOfAnotherVersionIsRefused) {
  registry::EdgeBundleInputs in = Inputs();
  in.model.version = 2;
  Sign(key_, &in);
  EXPECT_EQ(Refusal(),
            "attestation.json: statement names model risk/credit@2, expected "
            "risk/credit@3");
}

TEST_F(BundleTest, TheIndexMustAgreeWithTheStatement) {
  Json bundle = Json::parse(Read("bundle.json"));
  bundle["stage"] = "staging";
  Write("bundle.json", bundle.dump());
  EXPECT_EQ(Refusal(), "bundle.json: stage 'staging' differs from the attested 'production'");
  bundle["format"] = 2;
  Write("bundle.json", bundle.dump());
  EXPECT_EQ(Refusal(), "bundle.json: format 2, expected 1");
  Write("bundle.json", "{not json");
  EXPECT_THAT(Refusal(), HasSubstr("bundle.json is not JSON"));
}

TEST_F(BundleTest, MissingFilesAreRefused) {
  for (const char* file : {"model.plc", "platform.pub", "bundle.json"}) {
    const std::string good = Read(file);
    fs::remove(dir_ + "/" + file);
    EXPECT_THAT(Refusal(), HasSubstr(std::string(file) + " is missing")) << file;
    Write(file, good);
  }
}

TEST_F(BundleTest, ACompiledModelThatDoesNotLoadIsRefused) {
  // Signed as it is, but not a compiled model: refused when it is loaded, after the signature.
  compiled_ = "not a compiled model at all, but signed";
  Write("model.plc", compiled_);
  Sign(key_);
  EXPECT_THAT(Refusal(), HasSubstr("model.plc does not load"));
}

TEST_F(BundleTest, UsageErrors) {
  EXPECT_EQ(VerifyBundle(root_ + "/nope", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParsePublicKey("xyz").status().code(), absl::StatusCode::kInvalidArgument);
  StatusOr<std::string> key = ParsePublicKey("  " + key_.KeyId() + "\n");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, key_.public_key());
}

}  // namespace
}  // namespace plinth::edge
