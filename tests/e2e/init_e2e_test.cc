// End-to-end tests of `plinth init`: the token is printed once and saved with mode 0600, the keys
// are private, a second init on the same home is a conflict, and the --json shape. Also the ways
// the CLI finds its home and token (--home, PLINTH_HOME, the credentials file, PLINTH_TOKEN).
#include <filesystem>
#include <regex>

#include "harness.h"

namespace plinth::e2e {
namespace {

const std::regex kTokenPattern("plt_[0-9a-f]{64}");

TEST(InitE2eTest, PrintsTokenOnceAndSavesItPrivately) {
  TempDir root;
  const std::string home = root / "home";
  CommandResult r = RunPlinth({"init", "--home", home});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, kTokenPattern)) << r.out;
  const std::string token = m.str();
  EXPECT_EQ(CountOccurrences(r.out, token), 1u) << r.out;
  EXPECT_EQ(CountOccurrences(r.out, "plt_"), 1u) << r.out;
  EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Created Plinth home at " + home), std::string::npos) << r.out;

  const std::string credentials = home + "/credentials";
  EXPECT_EQ(FileMode(credentials), 0600);
  Json saved = ParseJsonOrNull(ReadFileOrDie(credentials));
  ASSERT_TRUE(saved.is_object()) << ReadFileOrDie(credentials);
  EXPECT_EQ(saved["token"], token);
  EXPECT_EQ(saved["user"], "admin");

  EXPECT_EQ(FileMode(home + "/keys/platform.key"), 0600);
  EXPECT_EQ(FileMode(home + "/keys/audit-hmac.key"), 0600);
  EXPECT_TRUE(FileExists(home + "/keys/platform.pub"));
  // The private key is not readable through the folder by anyone else either.
  EXPECT_EQ(FileMode(home + "/keys") & 077, 0);

  // The printed token is the admin's.
  CommandResult who = RunPlinth({"--home", home, "--token", token, "--json", "whoami"});
  ASSERT_EQ(who.exit_code, 0) << who.Describe();
  EXPECT_EQ(who.OutJson()["user"], "admin");
}

TEST(InitE2eTest, JsonShape) {
  TempDir root;
  const std::string home = root / "home";
  CommandResult r = RunPlinth({"init", "--home", home, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Json j = r.OutJson();
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.size(), 3u) << j.dump();
  EXPECT_EQ(j["home"], home);
  EXPECT_EQ(j["user"], "admin");
  ASSERT_TRUE(j["token"].is_string());
  EXPECT_TRUE(std::regex_match(j["token"].get<std::string>(), kTokenPattern)) << j["token"];
}

TEST(InitE2eTest, RelativeHomeIsReportedAbsolute) {
  TempDir root;
  RunOptions options;
  options.cwd = root.path();
  CommandResult r = RunPlinth({"init", "--home", "rel/home", "--json"}, options);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.OutJson()["home"], root / "rel/home");
  EXPECT_TRUE(FileExists(root / "rel/home/config.json"));
}

TEST(InitE2eTest, SecondInitOnSameHomeIsAConflict) {
  TempDir root;
  const std::string home = root / "home";
  CommandResult first = RunPlinth({"init", "--home", home, "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  const std::string credentials = ReadFileOrDie(home + "/credentials");

  CommandResult again = RunPlinth({"init", "--home", home});
  EXPECT_EQ(again.exit_code, 6) << again.Describe();
  EXPECT_EQ(again.out.find("plt_"), std::string::npos) << again.out;
  EXPECT_EQ(ReadFileOrDie(home + "/credentials"), credentials);

  CommandResult again_json = RunPlinth({"init", "--home", home, "--json"});
  EXPECT_EQ(again_json.exit_code, 6) << again_json.Describe();
  Json err = ParseJsonOrNull(again_json.err);
  ASSERT_TRUE(err.is_object()) << again_json.err;
  EXPECT_EQ(err["error"]["code"], "already_exists");

  // The first token still works.
  CommandResult who =
      RunPlinth({"--home", home, "--token", first.OutJson()["token"].get<std::string>(), "whoami"});
  EXPECT_EQ(who.exit_code, 0) << who.Describe();
}

TEST(InitE2eTest, NonEmptyFolderIsRefusedAndLeftAlone) {
  TempDir root;
  const std::string dir = root / "busy";
  std::filesystem::create_directory(dir);
  WriteFileOrDie(dir + "/notes.txt", "mine");
  CommandResult r = RunPlinth({"init", "--home", dir});
  EXPECT_EQ(r.exit_code, 6) << r.Describe();
  EXPECT_EQ(ReadFileOrDie(dir + "/notes.txt"), "mine");
  EXPECT_FALSE(FileExists(dir + "/config.json"));
  // No staging folder is left behind beside it.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(root.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST(InitE2eTest, BadStoreLeavesNothingBehind) {
  TempDir root;
  CommandResult scheme = RunPlinth({"init", "--home", root / "home", "--store", "bogus://x"});
  EXPECT_EQ(scheme.exit_code, 2) << scheme.Describe();
  CommandResult unreachable = RunPlinth(
      {"init", "--home", root / "home", "--store", "postgresql://nobody@127.0.0.1:1/plinth"});
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.Describe();
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
}

TEST(InitE2eTest, HomeAndTokenComeFromFlagsEnvironmentOrCredentials) {
  TestHome home;
  ASSERT_TRUE(home.Init());

  // The credentials file, when no token is given.
  CommandResult by_file = RunPlinth({"--home", home.dir(), "--json", "whoami"});
  ASSERT_EQ(by_file.exit_code, 0) << by_file.Describe();
  EXPECT_EQ(by_file.OutJson()["user"], "admin");

  // PLINTH_HOME instead of --home.
  RunOptions env_home;
  env_home.env = {{"PLINTH_HOME", home.dir()}};
  CommandResult by_env = RunPlinth({"--json", "whoami"}, env_home);
  ASSERT_EQ(by_env.exit_code, 0) << by_env.Describe();
  EXPECT_EQ(by_env.OutJson()["user"], "admin");

  // PLINTH_TOKEN overrides the credentials file: a bad one is refused.
  RunOptions env_token;
  env_token.env = {{"PLINTH_TOKEN", "plt_" + std::string(64, '0')}};
  CommandResult bad = RunPlinth({"--home", home.dir(), "whoami"}, env_token);
  EXPECT_EQ(bad.exit_code, 4) << bad.Describe();

  // No home at all: not found, with a hint.
  TempDir empty;
  CommandResult none = RunPlinth({"--home", empty / "nothing", "whoami"});
  EXPECT_EQ(none.exit_code, 3) << none.Describe();
  EXPECT_NE(none.err.find("plinth init"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace plinth::e2e
