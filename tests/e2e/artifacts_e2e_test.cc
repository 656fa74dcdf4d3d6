// End-to-end tests of artifacts in both modes: bytes put then got back are identical (empty,
// small and multi-megabyte files), the same bytes stored twice keep one object, and a stored
// object with one flipped byte is never handed out: `artifacts get` exits 7 and leaves no output
// file, and a raw HTTP GET answers an error rather than the corrupted bytes.
#include <sys/stat.h>

#include <filesystem>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

// HOME/artifacts/objects/sha256/<first two hex>/<the other 62>.
std::string ObjectPath(const std::string& home, const std::string& digest) {
  return home + "/artifacts/objects/sha256/" + digest.substr(7, 2) + "/" + digest.substr(9);
}

// Flips one byte of a stored (read-only) object in place, keeping its size and mode.
void FlipByte(const std::string& path, size_t offset) {
  int mode = FileMode(path);
  ASSERT_GE(mode, 0) << path;
  ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode) | S_IWUSR), 0);
  std::string bytes = ReadFileOrDie(path);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x01);
  WriteFileOrDie(path, bytes);
  ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
}

// Files in `dir` whose names start with `prefix` (leftover partial downloads).
std::vector<std::string> FilesStartingWith(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
  }
  return out;
}

class ArtifactsE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("credit-risk");
    dana_ = CreateUserWithToken("dana", "data-scientist", "credit-risk");
    ASSERT_FALSE(dana_.empty());
  }

  // Puts `data` as dana and returns its digest.
  std::string Put(const std::string& name, const std::string& data) {
    const std::string file = home_.root() / name;
    WriteFileOrDie(file, data);
    CommandResult r = cli_->RunJson(dana_, {"artifacts", "put", file, "--project", "credit-risk"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.OutJson().value("digest", "");
  }

  std::string dana_;
};

TEST_P(ArtifactsE2eTest, RoundTripKeepsEveryByte) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"text.csv", "id,amount\n1,100\n2,250\n"},
      {"large.bin", RandomBytes(3 * 1024 * 1024 + 123, 7)},
      {"empty.bin", ""},
  };
  for (const auto& [name, data] : cases) {
    SCOPED_TRACE(name);
    const std::string digest = Put(name, data);
    EXPECT_EQ(digest, Sha256Digest(data));
    const std::string out = home_.root() / (name + ".out");
    RunOptions briefly;
    briefly.timeout = std::chrono::seconds(10);
    CommandResult get = cli_->Run(dana_, {"artifacts", "get", digest, "--out", out}, briefly);
    EXPECT_EQ(get.exit_code, 0) << get.Describe();
    if (get.exit_code == 0) {
      EXPECT_EQ(ReadFileOrDie(out), data);
    }
    EXPECT_EQ(ReadFileOrDie(ObjectPath(home_.dir(), digest)), data);
  }
}

TEST_P(ArtifactsE2eTest, SameBytesTwiceKeepOneObject) {
  const std::string data = RandomBytes(10000, 3);
  const std::string first = Put("a.bin", data);
  const std::string second = Put("b.bin", data);
  EXPECT_EQ(first, second);
  const std::string fanout = home_.dir() + "/artifacts/objects/sha256/" + first.substr(7, 2);
  size_t objects = 0;
  for (const auto& e : std::filesystem::directory_iterator(fanout)) {
    (void)e;
    ++objects;
  }
  EXPECT_EQ(objects, 1u);
  Json list = cli_->RunJson(dana_, {"artifacts", "list", "--project", "credit-risk"}).OutJson();
  EXPECT_EQ(list["artifacts"].size(), 1u) << list.dump();
}

TEST_P(ArtifactsE2eTest, CorruptedObjectIsNeverHandedOut) {
  const std::string data = RandomBytes(200 * 1000, 11);
  const std::string digest = Put("model.bin", data);
  ASSERT_FALSE(digest.empty());
  const std::string object = ObjectPath(home_.dir(), digest);
  ASSERT_TRUE(FileExists(object)) << object;
  FlipByte(object, data.size() / 2);

  const std::string out_dir = home_.root() / "downloads";
  std::filesystem::create_directory(out_dir);
  const std::string out = out_dir + "/model.bin";
  CommandResult get = cli_->Run(dana_, {"artifacts", "get", digest, "--out", out});
  EXPECT_EQ(get.exit_code, 7) << get.Describe();
  EXPECT_FALSE(FileExists(out));
  EXPECT_TRUE(FilesStartingWith(out_dir, "model.bin").empty());
  CommandResult get_json = cli_->RunJson(dana_, {"artifacts", "get", digest, "--out", out});
  EXPECT_EQ(get_json.exit_code, 7) << get_json.Describe();
  EXPECT_EQ(ParseJsonOrNull(get_json.err)["error"]["code"], "integrity_error") << get_json.err;
  EXPECT_FALSE(FileExists(out));

  // An output file that already exists is not replaced by corrupted bytes either.
  WriteFileOrDie(out, "previous content");
  EXPECT_EQ(cli_->Run(dana_, {"artifacts", "get", digest, "--out", out}).exit_code, 7);
  EXPECT_EQ(ReadFileOrDie(out), "previous content");

  if (mode() == Mode::kRemote) {
    auto client = server_.Client();
    auto res = client->Get("/api/v1/artifacts/" + digest, AuthHeaders(dana_));
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_GE(res->status, 400);
    EXPECT_EQ(res->body.find(data.substr(0, 64)), std::string::npos);
    EXPECT_NE(res->body.size(), data.size());
    EXPECT_EQ(BodyJson(res)["error"]["code"], "integrity_error") << res->body.substr(0, 300);
    EXPECT_TRUE(IsWellFormedRequestId(res->get_header_value("X-Request-Id")));
  }
}

TEST_P(ArtifactsE2eTest, TruncatedObjectIsNeverHandedOut) {
  const std::string data = RandomBytes(50 * 1000, 5);
  const std::string digest = Put("weights.bin", data);
  const std::string object = ObjectPath(home_.dir(), digest);
  ASSERT_EQ(::chmod(object.c_str(), 0644), 0);
  WriteFileOrDie(object, data.substr(0, data.size() - 1));
  const std::string out = home_.root() / "weights.out";
  CommandResult get = cli_->Run(dana_, {"artifacts", "get", digest, "--out", out});
  EXPECT_EQ(get.exit_code, 7) << get.Describe();
  EXPECT_FALSE(FileExists(out));
}

TEST_P(ArtifactsE2eTest, CorruptedObjectIsRepairedByPuttingTheBytesAgain) {
  const std::string data = RandomBytes(20 * 1000, 13);
  const std::string digest = Put("repair.bin", data);
  const std::string object = ObjectPath(home_.dir(), digest);
  const std::string out = home_.root() / "repair.out";

  // A truncated object (wrong size) is replaced by a put of the same bytes.
  ASSERT_EQ(::chmod(object.c_str(), 0644), 0);
  WriteFileOrDie(object, data.substr(0, 100));
  ASSERT_EQ(cli_->Run(dana_, {"artifacts", "get", digest, "--out", out}).exit_code, 7);
  ASSERT_EQ(Put("repair-again.bin", data), digest);
  CommandResult get = cli_->Run(dana_, {"artifacts", "get", digest, "--out", out});
  EXPECT_EQ(get.exit_code, 0) << get.Describe();
  EXPECT_EQ(ReadFileOrDie(out), data);
  EXPECT_EQ(FileMode(object), 0444);

  // A same-size corruption is repaired by deleting the object and putting the bytes again.
  FlipByte(object, 10);
  ASSERT_EQ(cli_->Run(dana_, {"artifacts", "get", digest, "--out", out + "2"}).exit_code, 7);
  ASSERT_EQ(::unlink(object.c_str()), 0);
  ASSERT_EQ(Put("repair-third.bin", data), digest);
  CommandResult again = cli_->Run(dana_, {"artifacts", "get", digest, "--out", out + "2"});
  EXPECT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(ReadFileOrDie(out + "2"), data);
}

INSTANTIATE_TEST_SUITE_P(Modes, ArtifactsE2eTest,
                         ::testing::Values(Mode::kInProcess, Mode::kRemote), ModeParamName);

}  // namespace
}  // namespace plinth::e2e
