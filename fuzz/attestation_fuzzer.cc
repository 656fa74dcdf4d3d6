// libFuzzer target: registry attestations (src/registry/attestation.h), the DSSE envelopes that
// `plinth models verify` reads back from storage. Each input is a JSON document, used two ways:
// - as an envelope: DecodeStatement returns a statement or InvalidArgument, and VerifyEnvelope
//   (trusting the example key of docs/formats/attestation.md, expecting its example version)
//   returns the statement or DataLoss, never anything else; a verified statement is the one
//   DecodeStatement reads;
// - as a statement: SignStatement either refuses it (InvalidArgument) or signs it, and then the
//   envelope decodes back to the same statement and its signature is accepted, so verification
//   goes on to the statement's own checks.
// Seeds (fuzz/seeds/attestation_fuzzer) are the documented envelopes and their statements, so
// inputs reach the checks past the signature.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/random.h"
#include "core/signing.h"
#include "registry/attestation.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

using plinth::Json;
using plinth::StatusOr;
namespace registry = plinth::registry;

// The example key of docs/formats/attestation.md (seed 00 01 .. 1f): a fixed key, so that the
// seeds' signatures verify and a crash reproduces.
constexpr char kSecretKey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
constexpr char kManifestDigest[] =
    "sha256:ffa5b716b5a57837f7929dfcca4b4dfdeb97210a7fd5a12d2f1978846d6f1743";
constexpr char kModelDigest[] =
    "sha256:08449dfe8b6c265b9ec864ad13b8d86e7503428f935b9f3d01edab200f0eabd6";

// SigningKey only loads from a file, so the fixed key goes through one.
const plinth::SigningKey& Key() {
  static const plinth::SigningKey* key = [] {
    char path[] = "/tmp/attestation_fuzzer_key_XXXXXX";
    int fd = mkstemp(path);
    CHECK_INVARIANT(fd >= 0);
    CHECK_INVARIANT(fchmod(fd, 0600) == 0);
    std::string text = std::string(kSecretKey) + "\n";
    CHECK_INVARIANT(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    StatusOr<plinth::SigningKey> loaded = plinth::SigningKey::Load(path);
    unlink(path);
    CHECK_INVARIANT(loaded.ok());
    return new plinth::SigningKey(*std::move(loaded));
  }();
  return *key;
}

registry::VerifyExpectation Expectation(std::string_view predicate_type) {
  registry::VerifyExpectation expect;
  expect.predicate_type = std::string(predicate_type);
  expect.model = {"credit-risk", "credit-default", 3, kManifestDigest};
  expect.files = {{"manifest.json", kManifestDigest}, {"model.json", kModelDigest}};
  return expect;
}

void CheckEnvelope(const Json& envelope, const std::vector<registry::TrustedKey>& trusted,
                   bool signed_here) {
  StatusOr<Json> decoded = registry::DecodeStatement(envelope);
  CHECK_INVARIANT(decoded.ok() || decoded.status().code() == absl::StatusCode::kInvalidArgument);
  for (std::string_view type :
       {registry::kProvenancePredicateType, registry::kApprovalPredicateType}) {
    StatusOr<Json> verified = registry::VerifyEnvelope(envelope, trusted, Expectation(type));
    if (verified.ok()) {
      CHECK_INVARIANT(decoded.ok() && *decoded == *verified);
      continue;
    }
    CHECK_INVARIANT(verified.status().code() == absl::StatusCode::kDataLoss);
    if (signed_here) {
      // A statement we signed ourselves is refused for what it says, never for its signature.
      const std::string message(verified.status().message());
      CHECK_INVARIANT(!message.starts_with("no valid signature") &&
                      !message.starts_with("signature by key") && !message.starts_with("envelope"));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  StatusOr<Json> json = plinth::ParseJson(text);
  if (!json.ok()) return 0;
  const std::vector<registry::TrustedKey> trusted = {{Key().KeyId(), Key().public_key()}};

  CheckEnvelope(*json, trusted, /*signed_here=*/false);

  StatusOr<Json> envelope = registry::SignStatement(*json, Key());
  if (!envelope.ok()) {
    CHECK_INVARIANT(envelope.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  StatusOr<Json> decoded = registry::DecodeStatement(*envelope);
  CHECK_INVARIANT(decoded.ok());
  CHECK_INVARIANT(*decoded == *json);
  CheckEnvelope(*envelope, trusted, /*signed_here=*/true);
  return 0;
}
