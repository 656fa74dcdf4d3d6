// Tests of the audit log that need no store: secret redaction and the export verifier on
// hand-made input, including the example of docs/formats/audit.md.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/signing.h"

namespace plinth {
namespace {

AuditVerifyReport VerifyText(const std::string& text, const std::string& public_key) {
  std::istringstream in(text);
  return VerifyAuditExport(in, public_key);
}

TEST(AuditRedactSecrets, ReplacesValuesOfSecretNamedKeysAtAnyDepth) {
  FakeClock clock(0);
  SigningKey key = SigningKey::Generate();
  AuditLog log(&key, "k", &clock);
  auto h = [](const std::string& value) { return "hmac-sha256:" + HmacSha256Hex("k", value); };
  Json details = {{"Authorization_Token", "a"},
                  {"password", "b"},
                  {"client_secret", "c"},
                  {"SSH_KEY", "d"},
                  {"credentials", {{"user", "e"}, {"pin", 1234}}},
                  {"name", "f"},
                  {"list", {{{"refresh_token", "g"}, {"note", "h"}}}}};
  Json expected = {{"Authorization_Token", h("a")},
                   {"password", h("b")},
                   {"client_secret", h("c")},
                   {"SSH_KEY", h("d")},
                   {"credentials", {{"user", h("e")}, {"pin", 1234}}},
                   {"name", "f"},
                   {"list", {{{"refresh_token", h("g")}, {"note", "h"}}}}};
  EXPECT_EQ(log.RedactSecrets(details), expected);
  EXPECT_EQ(log.RedactSecrets(Json::object()), Json::object());
}

TEST(AuditFormatDoc, TheDocumentedExampleVerifies) {
  // The example export of docs/formats/audit.md, signed by the key named in it.
  const std::string text =
      R"({"action":"token.create","actor":"alice","details":{"expires_in":"90d","token":"hmac-sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"},"hash":"sha256:5ff6421dbddd161825978fdc10b01b25593669295d07f11ddc6e14b2c21574b2","outcome":"ok","prev_hash":"sha256:0000000000000000000000000000000000000000000000000000000000000000","project":"","request_id":"01JNQ3W9E2K8R6T4Y0M5A7C1DZ","resource":"user/alice","seq":1,"time":"2026-03-02T09:14:07.120455Z"})"
      "\n"
      R"({"action":"project.create","actor":"alice","details":{},"hash":"sha256:13a7b774f336382c09d2a276c23da9eeebea5ca974d31ea10f7baefabff6d8e6","outcome":"ok","prev_hash":"sha256:5ff6421dbddd161825978fdc10b01b25593669295d07f11ddc6e14b2c21574b2","project":"credit-risk","request_id":"01JNQ3WBYQ3H0C5V7N2P8S4K6G","resource":"project/credit-risk","seq":2,"time":"2026-03-02T09:14:09.801230Z"})"
      "\n"
      R"({"checkpoint":{"hash":"sha256:13a7b774f336382c09d2a276c23da9eeebea5ca974d31ea10f7baefabff6d8e6","key_id":"5bb7c8e61f506a0a9b755304f3efee8c4c1a3e38cba79a845b6dfd85ee5b1c1e","seq":2,"signature":"R0p0QgPEMeRDMsqbNfkogSgju9Wy7x7kOrdk9LpzeouIFe2P6S6vpAUvt89isHWkqjNzR8fOfwLc7aZCQbFqCg==","time":"2026-03-02T09:15:00.000000Z"}})"
      "\n";
  std::string public_key;
  ASSERT_TRUE(
      HexDecode("5bb7c8e61f506a0a9b755304f3efee8c4c1a3e38cba79a845b6dfd85ee5b1c1e", &public_key));
  AuditVerifyReport report = VerifyText(text, public_key);
  EXPECT_TRUE(report.ok) << report.reason;
  EXPECT_EQ(report.records, 2);
  EXPECT_EQ(report.checkpoints, 1);
}

TEST(AuditVerifyExport, RefusesOverlongLinesAndNonObjects) {
  SigningKey key = SigningKey::Generate();
  AuditVerifyReport report = VerifyText(std::string(2 << 20, 'x') + "\n", key.public_key());
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.first_bad_seq, 1);
  EXPECT_NE(report.reason.find("line 1: longer than"), std::string::npos) << report.reason;

  report = VerifyText("[1,2]\n", key.public_key());
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.reason, "line 1: not a JSON object");

  report = VerifyText("{\"checkpoint\":{\"seq\":1}}\n", key.public_key());
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.reason.find("malformed checkpoint"), std::string::npos) << report.reason;
}

}  // namespace
}  // namespace plinth
