#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "core/clock.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/random.h"
#include "core/sha256.h"
#include "core/signing.h"

namespace plinth {
namespace {

TEST(Errors, ExitCodesFollowTheContract) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("x")), 2);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("x")), 3);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("x")), 4);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("x")), 4);
  EXPECT_EQ(ExitCodeFor(GateRefusedError("x")), 5);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("x")), 6);
  EXPECT_EQ(ExitCodeFor(IntegrityError("x")), 7);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("x")), 1);
}

TEST(Errors, HttpStatusAndWireNamesRoundTrip) {
  EXPECT_EQ(HttpStatusFor(absl::NotFoundError("x")), 404);
  EXPECT_EQ(HttpStatusFor(absl::UnauthenticatedError("x")), 401);
  EXPECT_EQ(HttpStatusFor(absl::PermissionDeniedError("x")), 403);
  EXPECT_EQ(HttpStatusFor(absl::AlreadyExistsError("x")), 409);
  for (auto code : {absl::StatusCode::kNotFound, absl::StatusCode::kDataLoss,
                    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnauthenticated}) {
    EXPECT_EQ(StatusCodeFromWire(WireCodeFor(code)), code);
  }
  EXPECT_EQ(StatusCodeFromWire("no such code"), absl::StatusCode::kUnknown);
}

TEST(Ids, SortableUniqueAndWellFormed) {
  FakeClock clock(1'700'000'000'000'000);
  std::set<std::string> seen;
  std::string last;
  for (int i = 0; i < 1000; ++i) {
    if (i % 100 == 0) clock.Advance(1000);
    std::string id = NewId(clock);
    EXPECT_TRUE(IsValidId(id)) << id;
    EXPECT_GT(id, last);
    last = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsValidId("../etc/passwd"));
  EXPECT_FALSE(IsValidId(""));
}

TEST(Clock, FormatAndParseTime) {
  int64_t t = 1'764'126'985'123'456;
  std::string s = FormatTime(t);
  EXPECT_EQ(s, "2025-11-26T03:16:25.123456Z");
  EXPECT_EQ(ParseTime(s), t);
  EXPECT_EQ(ParseTime("2025-11-26T03:16:25Z"), t - 123456);
  EXPECT_FALSE(ParseTime("yesterday").has_value());
  EXPECT_EQ(ParseDuration("1h"), int64_t{3600} * 1000000);
  EXPECT_EQ(ParseDuration("30m"), int64_t{1800} * 1000000);
  EXPECT_FALSE(ParseDuration("1y").has_value());
  EXPECT_FALSE(ParseDuration("-1h").has_value());
  EXPECT_FALSE(ParseDuration("h").has_value());
}

TEST(Sha256, KnownVectorsAndStreaming) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.FinishDigest(), Sha256Digest("abc"));
  EXPECT_TRUE(IsValidDigest(Sha256Digest("abc")));
  EXPECT_FALSE(IsValidDigest("sha256:../../etc/passwd"));
  EXPECT_FALSE(
      IsValidDigest("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CanonicalJson, SortsKeysAndFormatsNumbers) {
  Json v =
      ParseJson(R"({"b": [1, 2.5, true, null], "a": {"z": "x\ny", "y": 1e21}, "c": 0.1})").value();
  EXPECT_EQ(CanonicalJson(v).value(),
            R"({"a":{"y":1e+21,"z":"x\ny"},"b":[1,2.5,true,null],"c":0.1})");
  EXPECT_EQ(CanonicalJson(Json(1e-7)).value(), "1e-7");
  EXPECT_EQ(CanonicalJson(Json(123456.0)).value(), "123456");
  EXPECT_EQ(CanonicalJson(Json(-0.000001)).value(), "-0.000001");
  EXPECT_EQ(CanonicalJson(Json("\x01\xc3\xa9")).value(), "\"\\u0001\xc3\xa9\"");
  EXPECT_FALSE(CanonicalJson(Json(std::nan(""))).ok());
}

TEST(ParseJson, RejectsMalformedAndDeepDocuments) {
  auto bad = ParseJson("{\"a\": ");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("byte"), std::string::npos);
  std::string deep(1000, '[');
  deep += std::string(1000, ']');
  auto too_deep = ParseJson(deep);
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("nested"), std::string::npos);
}

TEST(Signing, SignVerifyAndKeyFilePermissions) {
  SigningKey key = SigningKey::Generate();
  std::string sig = key.Sign("hello");
  EXPECT_TRUE(VerifySignature(key.public_key(), "hello", sig));
  EXPECT_FALSE(VerifySignature(key.public_key(), "hellO", sig));
  EXPECT_FALSE(VerifySignature(SigningKey::Generate().public_key(), "hello", sig));
  EXPECT_FALSE(VerifySignature(key.public_key(), "hello", "not base64!"));

  std::string dir = ::testing::TempDir() + "/signing_" + RandomHex(4);
  ASSERT_TRUE(MakeDirectories(dir).ok());
  std::string path = dir + "/key";
  ASSERT_TRUE(key.Save(path).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(key.Save(path).code(), absl::StatusCode::kAlreadyExists);
  auto loaded = SigningKey::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(VerifySignature(key.public_key(), "m", loaded->Sign("m")));
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(SigningKey::Load(path).status().code(), absl::StatusCode::kPermissionDenied);
  std::filesystem::remove_all(dir);
}

TEST(Random, HexBase64AndConstantTimeEquals) {
  EXPECT_EQ(RandomHex(32).size(), 64u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  std::string out;
  EXPECT_TRUE(HexDecode("00ff", &out));
  EXPECT_EQ(out, std::string("\x00\xff", 2));
  EXPECT_FALSE(HexDecode("0g", &out));
  EXPECT_TRUE(Base64Decode(Base64Encode("plinth"), &out));
  EXPECT_EQ(out, "plinth");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace plinth
