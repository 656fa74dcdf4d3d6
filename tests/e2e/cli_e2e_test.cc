// End-to-end tests of the whole command set, run once in process on the home and once against
// `plinth server` (the same sequence, the same expectations): project, user, token, artifacts and
// audit commands, their tables and --json output, and the exit codes for usage errors (2), not
// found (3), permission denied (4) and conflicts (6). Also `plinth demo`.
#include <algorithm>
#include <regex>
#include <set>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::set<std::string> Names(const Json& array, const char* field) {
  std::set<std::string> names;
  for (const auto& item : array) names.insert(item.value(field, std::string()));
  return names;
}

// The first line of `text` that starts with `prefix`, or "".
std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  for (const auto& line : SplitLines(text)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

class CommandSetE2eTest : public ModeTest {};

TEST_P(CommandSetE2eTest, WholeCommandSet) {
  const Cli& cli = *cli_;
  const std::string admin_token = admin();

  // whoami
  CommandResult who = cli.Run(admin_token, {"whoami"});
  ASSERT_EQ(who.exit_code, 0) << who.Describe();
  EXPECT_THAT(who.out, StartsWith("admin\n"));
  EXPECT_THAT(who.out, HasSubstr("ROLE"));
  EXPECT_THAT(who.out, HasSubstr("PROJECT"));
  EXPECT_EQ(LineStartingWith(who.out, "admin "), "admin  *") << who.out;
  Json who_json = cli.RunJson(admin_token, {"whoami"}).OutJson();
  EXPECT_EQ(who_json, Json::parse(R"({"user":"admin","roles":[{"role":"admin","project":"*"}]})"))
      << who_json.dump();

  // project create / list
  CommandResult created = cli.Run(admin_token, {"project", "create", "credit-risk"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  EXPECT_TRUE(std::regex_search(created.out,
                                std::regex(R"(^Created project credit-risk \([0-9A-Z]+\)\n$)")))
      << created.out;
  CommandResult fraud = cli.RunJson(admin_token, {"project", "create", "fraud"});
  ASSERT_EQ(fraud.exit_code, 0) << fraud.Describe();
  EXPECT_EQ(fraud.OutJson()["name"], "fraud");
  EXPECT_TRUE(fraud.OutJson()["id"].is_string());
  EXPECT_TRUE(fraud.OutJson()["created"].is_string());

  CommandResult duplicate = cli.Run(admin_token, {"project", "create", "credit-risk"});
  EXPECT_EQ(duplicate.exit_code, 6) << duplicate.Describe();
  EXPECT_THAT(duplicate.err, HasSubstr("credit-risk"));
  CommandResult duplicate_json = cli.RunJson(admin_token, {"project", "create", "credit-risk"});
  EXPECT_EQ(duplicate_json.exit_code, 6);
  EXPECT_EQ(ParseJsonOrNull(duplicate_json.err)["error"]["code"], "already_exists")
      << duplicate_json.err;
  EXPECT_EQ(cli.Run(admin_token, {"project", "create", "bad/name"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin_token, {"project", "create"}).exit_code, 2);

  CommandResult projects = cli.Run(admin_token, {"project", "list"});
  ASSERT_EQ(projects.exit_code, 0) << projects.Describe();
  EXPECT_TRUE(std::regex_search(projects.out,
                                std::regex(R"(^NAME +ID +CREATED +CREATED BY\n-+ +-+ +-+ +-+\n)")))
      << projects.out;
  EXPECT_TRUE(
      std::regex_search(projects.out, std::regex(R"(\ncredit-risk +[0-9A-Z]+ +\S+ +admin\n)")))
      << projects.out;
  Json projects_json = cli.RunJson(admin_token, {"project", "list"}).OutJson();
  EXPECT_EQ(Names(projects_json["projects"], "name"),
            (std::set<std::string>{"credit-risk", "fraud"}))
      << projects_json.dump();

  // user create / grant / list
  CommandResult dana = cli.Run(admin_token, {"user", "create", "dana", "--role", "data-scientist",
                                             "--project", "credit-risk"});
  ASSERT_EQ(dana.exit_code, 0) << dana.Describe();
  EXPECT_EQ(dana.out, "User dana: data-scientist@credit-risk\n");
  CommandResult vic = cli.RunJson(
      admin_token, {"user", "create", "vic", "--role", "viewer", "--project", "credit-risk"});
  ASSERT_EQ(vic.exit_code, 0) << vic.Describe();
  EXPECT_EQ(vic.OutJson()["name"], "vic");
  EXPECT_EQ(vic.OutJson()["roles"], Json::parse(R"([{"role":"viewer","project":"credit-risk"}])"));
  CommandResult audra = cli.Run(admin_token, {"user", "create", "audra", "--role", "auditor"});
  ASSERT_EQ(audra.exit_code, 0) << audra.Describe();
  EXPECT_EQ(audra.out, "User audra: auditor@*\n");
  ASSERT_EQ(cli.Run(admin_token,
                    {"user", "create", "frank", "--role", "data-scientist", "--project", "fraud"})
                .exit_code,
            0);

  EXPECT_EQ(cli.Run(admin_token, {"user", "create", "dana", "--role", "viewer"}).exit_code, 6);
  CommandResult bad_role = cli.Run(admin_token, {"user", "create", "eve", "--role", "superuser"});
  EXPECT_EQ(bad_role.exit_code, 2) << bad_role.Describe();
  EXPECT_THAT(bad_role.err, HasSubstr("superuser"));
  EXPECT_THAT(bad_role.err, HasSubstr("data-scientist"));
  CommandResult no_role = cli.Run(admin_token, {"user", "create", "eve"});
  EXPECT_EQ(no_role.exit_code, 2) << no_role.Describe();
  EXPECT_THAT(no_role.err, HasSubstr("--role"));
  CommandResult no_project =
      cli.Run(admin_token, {"user", "create", "eve", "--role", "viewer", "--project", "nowhere"});
  EXPECT_EQ(no_project.exit_code, 3) << no_project.Describe();

  CommandResult grant =
      cli.Run(admin_token, {"user", "grant", "vic", "--role", "validator", "--project", "fraud"});
  ASSERT_EQ(grant.exit_code, 0) << grant.Describe();
  EXPECT_THAT(grant.out, HasSubstr("viewer@credit-risk"));
  EXPECT_THAT(grant.out, HasSubstr("validator@fraud"));
  EXPECT_EQ(
      cli.Run(admin_token, {"user", "grant", "vic", "--role", "validator", "--project", "fraud"})
          .exit_code,
      6);
  EXPECT_EQ(cli.Run(admin_token, {"user", "grant", "ghost", "--role", "viewer"}).exit_code, 3);
  EXPECT_EQ(cli.Run(admin_token, {"user", "grant", "vic", "--role", "root"}).exit_code, 2);

  CommandResult users = cli.Run(admin_token, {"user", "list"});
  ASSERT_EQ(users.exit_code, 0) << users.Describe();
  EXPECT_TRUE(std::regex_search(users.out, std::regex(R"(^NAME +ROLES +CREATED\n)"))) << users.out;
  EXPECT_TRUE(
      std::regex_search(users.out, std::regex(R"(\ndana +data-scientist@credit-risk +\S+\n)")))
      << users.out;
  Json users_json = cli.RunJson(admin_token, {"user", "list"}).OutJson();
  // The user whose project did not exist was not created (the whole change was rolled back).
  EXPECT_EQ(Names(users_json["users"], "name"),
            (std::set<std::string>{"admin", "audra", "dana", "frank", "vic"}))
      << users_json.dump();

  // token create / list / revoke
  CommandResult dana_token_json =
      cli.RunJson(admin_token, {"token", "create", "--user", "dana", "--ttl", "1h"});
  ASSERT_EQ(dana_token_json.exit_code, 0) << dana_token_json.Describe();
  Json dt = dana_token_json.OutJson();
  EXPECT_TRUE(std::regex_match(dt.value("token", ""), std::regex("plt_[0-9a-f]{64}"))) << dt;
  EXPECT_EQ(dt["user"], "dana");
  EXPECT_TRUE(dt["id"].is_string());
  EXPECT_TRUE(dt["expires"].is_string()) << dt;
  const std::string dana_token = dt["token"];
  const std::string dana_token_id = dt["id"];

  CommandResult vic_token_text = cli.Run(admin_token, {"token", "create", "--user", "vic"});
  ASSERT_EQ(vic_token_text.exit_code, 0) << vic_token_text.Describe();
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      vic_token_text.out, m,
      std::regex(
          R"(Token ([0-9A-Z]+) for vic \(expires: never\), shown once:\n  (plt_[0-9a-f]{64})\n)")))
      << vic_token_text.out;
  const std::string vic_token = m[2];
  const std::string audra_token =
      cli.RunJson(admin_token, {"token", "create", "--user", "audra", "--ttl", "1h"})
          .OutJson()
          .value("token", "");
  const std::string frank_token =
      cli.RunJson(admin_token, {"token", "create", "--user", "frank"}).OutJson().value("token", "");
  ASSERT_FALSE(audra_token.empty());
  ASSERT_FALSE(frank_token.empty());

  EXPECT_EQ(
      cli.Run(admin_token, {"token", "create", "--user", "dana", "--ttl", "forever"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin_token, {"token", "create", "--user", "dana", "--ttl", "-5m"}).exit_code,
            2);
  EXPECT_EQ(cli.Run(admin_token, {"token", "create"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin_token, {"token", "create", "--user", "ghost"}).exit_code, 3);
  // A non-admin issues tokens for themselves only.
  EXPECT_EQ(cli.Run(dana_token, {"token", "create", "--user", "vic"}).exit_code, 4);
  CommandResult own = cli.RunJson(dana_token, {"token", "create", "--user", "dana", "--ttl", "1h"});
  EXPECT_EQ(own.exit_code, 0) << own.Describe();
  const std::string dana_second_token = own.OutJson().value("token", "");

  CommandResult tokens = cli.Run(admin_token, {"token", "list"});
  ASSERT_EQ(tokens.exit_code, 0) << tokens.Describe();
  EXPECT_TRUE(
      std::regex_search(tokens.out, std::regex(R"(^ID +USER +CREATED +EXPIRES +REVOKED\n)")))
      << tokens.out;
  EXPECT_THAT(tokens.out, HasSubstr(dana_token_id));
  EXPECT_THAT(tokens.out, Not(HasSubstr("plt_")));
  CommandResult tokens_json = cli.RunJson(admin_token, {"token", "list"});
  EXPECT_THAT(tokens_json.out, Not(HasSubstr("plt_")));
  EXPECT_EQ(tokens_json.OutJson()["tokens"].size(), 6u) << tokens_json.out;
  Json dana_tokens = cli.RunJson(dana_token, {"token", "list"}).OutJson();
  EXPECT_EQ(Names(dana_tokens["tokens"], "user"), std::set<std::string>{"dana"})
      << dana_tokens.dump();
  EXPECT_EQ(dana_tokens["tokens"].size(), 2u);

  // artifacts put / get / list
  const std::string data = RandomBytes(300 * 1000 + 7, 42);
  const std::string digest = Sha256Digest(data);
  const std::string file = home_.root() / "data.bin";
  WriteFileOrDie(file, data);
  CommandResult put =
      cli.RunJson(dana_token, {"artifacts", "put", file, "--project", "credit-risk"});
  ASSERT_EQ(put.exit_code, 0) << put.Describe();
  EXPECT_EQ(put.OutJson()["digest"], digest);
  EXPECT_EQ(put.OutJson()["size"], data.size());
  CommandResult put_text =
      cli.Run(dana_token, {"artifacts", "put", file, "--project", "credit-risk"});
  ASSERT_EQ(put_text.exit_code, 0) << put_text.Describe();
  EXPECT_THAT(put_text.out, HasSubstr("Stored " + file + " as " + digest));
  EXPECT_THAT(put_text.out, HasSubstr("in project credit-risk"));

  const std::string out = home_.root() / "copy.bin";
  CommandResult get = cli.Run(vic_token, {"artifacts", "get", digest, "--out", out});
  ASSERT_EQ(get.exit_code, 0) << get.Describe();
  EXPECT_THAT(get.out, HasSubstr("verified " + digest));
  EXPECT_EQ(ReadFileOrDie(out), data);
  const std::string out_json = home_.root() / "copy2.bin";
  CommandResult get_json = cli.RunJson(vic_token, {"artifacts", "get", digest, "--out", out_json});
  ASSERT_EQ(get_json.exit_code, 0) << get_json.Describe();
  EXPECT_EQ(get_json.OutJson()["size"], data.size());
  EXPECT_EQ(ReadFileOrDie(out_json), data);

  CommandResult list = cli.Run(vic_token, {"artifacts", "list", "--project", "credit-risk"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_TRUE(std::regex_search(list.out, std::regex(R"(^DIGEST +SIZE +CREATED +BY\n)")))
      << list.out;
  EXPECT_TRUE(std::regex_search(list.out, std::regex(digest + R"( +300\.0 KB +\S+ +dana\n)")))
      << list.out;
  Json list_json =
      cli.RunJson(vic_token, {"artifacts", "list", "--project", "credit-risk"}).OutJson();
  ASSERT_EQ(list_json["artifacts"].size(), 1u) << list_json.dump();
  EXPECT_EQ(list_json["artifacts"][0]["digest"], digest);
  EXPECT_EQ(list_json["artifacts"][0]["size"], data.size());
  EXPECT_EQ(list_json["artifacts"][0]["created_by"], "dana");
  CommandResult empty_list = cli.Run(frank_token, {"artifacts", "list", "--project", "fraud"});
  EXPECT_EQ(empty_list.exit_code, 0);
  EXPECT_THAT(empty_list.out, HasSubstr("(none)"));

  // Refusals: only data scientists store artifacts; other projects do not exist for you.
  EXPECT_EQ(cli.Run(vic_token, {"artifacts", "put", file, "--project", "credit-risk"}).exit_code,
            4);
  EXPECT_EQ(cli.Run(admin_token, {"artifacts", "put", file, "--project", "credit-risk"}).exit_code,
            4);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "put", file, "--project", "nowhere"}).exit_code, 3);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "put", file, "--project", "fraud"}).exit_code, 3);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "list", "--project", "fraud"}).exit_code, 3);
  EXPECT_EQ(cli.Run(frank_token, {"artifacts", "get", digest, "--out", out + ".f"}).exit_code, 3);
  EXPECT_FALSE(FileExists(out + ".f"));
  EXPECT_EQ(cli.Run(dana_token,
                    {"artifacts", "put", home_.root() / "missing.bin", "--project", "credit-risk"})
                .exit_code,
            3);
  EXPECT_EQ(cli.Run(dana_token,
                    {"artifacts", "get", "sha256:" + std::string(64, '0'), "--out", out + ".z"})
                .exit_code,
            3);
  EXPECT_EQ(
      cli.Run(dana_token, {"artifacts", "get", "not-a-digest", "--out", out + ".n"}).exit_code, 2);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "get", digest}).exit_code, 2);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "put", file}).exit_code, 2);
  EXPECT_EQ(cli.Run(dana_token, {"artifacts", "list"}).exit_code, 2);

  // Admin-only and auditor-only commands refused to a data scientist.
  EXPECT_EQ(cli.Run(dana_token, {"project", "create", "mine"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"user", "create", "mallory", "--role", "admin"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"user", "grant", "dana", "--role", "admin"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"user", "list"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"audit", "tail"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"audit", "verify"}).exit_code, 4);
  EXPECT_EQ(cli.Run(dana_token, {"audit", "export", "--out", home_.root() / "x.jsonl"}).exit_code,
            4);
  EXPECT_FALSE(FileExists(home_.root() / "x.jsonl"));
  // Another user's token does not exist for a non-admin.
  Json vic_tokens = cli.RunJson(admin_token, {"token", "list"}).OutJson();
  std::string vic_token_id;
  for (const auto& t : vic_tokens["tokens"]) {
    if (t["user"] == "vic") vic_token_id = t["id"];
  }
  ASSERT_FALSE(vic_token_id.empty());
  EXPECT_EQ(cli.Run(dana_token, {"token", "revoke", vic_token_id}).exit_code, 3);

  // Revocation takes effect at once.
  CommandResult revoke = cli.Run(admin_token, {"token", "revoke", dana_token_id});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.Describe();
  EXPECT_EQ(revoke.out, "Revoked token " + dana_token_id + " of dana\n");
  CommandResult revoked = cli.Run(dana_token, {"whoami"});
  EXPECT_EQ(revoked.exit_code, 4) << revoked.Describe();
  EXPECT_THAT(revoked.err, HasSubstr("revoked"));
  EXPECT_EQ(cli.Run(dana_second_token, {"whoami"}).exit_code, 0);
  EXPECT_EQ(cli.Run(admin_token, {"token", "revoke", "01NOSUCHTOKEN"}).exit_code, 3);
  EXPECT_EQ(cli.Run(admin_token, {"token", "revoke"}).exit_code, 2);
  Json after_revoke = cli.RunJson(admin_token, {"token", "list"}).OutJson();
  for (const auto& t : after_revoke["tokens"]) {
    EXPECT_EQ(t["revoked"].is_string(), t["id"] == dana_token_id) << t.dump();
  }

  // audit tail / verify / export, as the auditor.
  CommandResult tail = cli.Run(audra_token, {"audit", "tail", "-n", "5"});
  ASSERT_EQ(tail.exit_code, 0) << tail.Describe();
  std::vector<std::string> tail_lines = SplitLines(tail.out);
  ASSERT_EQ(tail_lines.size(), 7u) << tail.out;
  EXPECT_TRUE(std::regex_search(
      tail_lines[0], std::regex(R"(^SEQ +TIME +ACTOR +ACTION +PROJECT +RESOURCE +OUTCOME$)")))
      << tail.out;
  CommandResult tail_json = cli.RunJson(audra_token, {"audit", "tail", "-n", "200"});
  ASSERT_EQ(tail_json.exit_code, 0) << tail_json.Describe();
  const Json records = tail_json.OutJson()["records"];
  ASSERT_TRUE(records.is_array()) << tail_json.out;
  int64_t previous = 0;
  bool saw_denied_project = false, saw_revoke = false, saw_artifact = false;
  for (const auto& r : records) {
    EXPECT_EQ(r["seq"].get<int64_t>(), previous + 1) << r.dump();
    previous = r["seq"].get<int64_t>();
    if (r["action"] == "project.create" && r["actor"] == "dana" && r["outcome"] == "denied") {
      saw_denied_project = true;
    }
    if (r["action"] == "token.revoke" && r["outcome"] == "ok") saw_revoke = true;
    if (r["action"] == "artifact.put" && r["resource"] == "artifact/" + digest) saw_artifact = true;
  }
  EXPECT_EQ(records[0]["action"], "platform.init");
  EXPECT_TRUE(saw_denied_project) << "refused changes are audited too";
  EXPECT_TRUE(saw_revoke);
  EXPECT_TRUE(saw_artifact);
  EXPECT_EQ(cli.RunJson(audra_token, {"audit", "tail", "-n", "3"}).OutJson()["records"].size(), 3u);
  EXPECT_EQ(cli.Run(audra_token, {"audit", "tail", "-n", "0"}).exit_code, 2);
  EXPECT_EQ(cli.Run(audra_token, {"audit", "tail", "-n", "many"}).exit_code, 2);

  CommandResult verify = cli.Run(audra_token, {"audit", "verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.Describe();
  EXPECT_THAT(verify.out, StartsWith("Audit chain intact: "));
  CommandResult verify_json = cli.RunJson(admin_token, {"audit", "verify"});
  ASSERT_EQ(verify_json.exit_code, 0) << verify_json.Describe();
  EXPECT_EQ(verify_json.OutJson()["ok"], true);
  EXPECT_GE(verify_json.OutJson()["records"].get<int64_t>(), previous);

  const std::string export_path = home_.root() / "audit.jsonl";
  CommandResult exported = cli.Run(audra_token, {"audit", "export", "--out", export_path});
  ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
  EXPECT_EQ(exported.out, "Exported the audit chain to " + export_path + "\n");
  CommandResult verify_file = cli.Run(audra_token, {"audit", "verify", "--file", export_path});
  ASSERT_EQ(verify_file.exit_code, 0) << verify_file.Describe();
  EXPECT_THAT(verify_file.out, StartsWith("Audit export " + export_path + " intact: "));
  EXPECT_EQ(cli.Run(audra_token, {"audit", "export"}).exit_code, 2);
  EXPECT_EQ(
      cli.Run(audra_token, {"audit", "verify", "--file", home_.root() / "none.jsonl"}).exit_code,
      3);
}

TEST_P(CommandSetE2eTest, UsageErrors) {
  const Cli& cli = *cli_;
  EXPECT_EQ(RunPlinth({}).exit_code, 2);
  EXPECT_EQ(RunPlinth({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin(), {"project"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin(), {"project", "rename", "x"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin(), {"user", "create", "x", "--role"}).exit_code, 2);
  EXPECT_EQ(cli.Run(admin(), {"whoami", "--no-such-flag"}).exit_code, 2);
  CommandResult help = RunPlinth({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.Describe();
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
}

TEST_P(CommandSetE2eTest, InvalidUtf8InArgumentsIsAUsageError) {
  // Bytes that are not UTF-8, echoed in the error message, must not crash the JSON output.
  const std::string bad = "\xff\xfe";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"project", "create", bad},
        std::vector<std::string>{"artifacts", "list", "--project", bad},
        std::vector<std::string>{"artifacts", "get", "sha256:" + bad, "--out", "/dev/null"}}) {
    SCOPED_TRACE(args[0] + " " + args[1]);
    CommandResult text = cli_->Run(admin(), args);
    EXPECT_EQ(text.exit_code, 2) << text.Describe();
    CommandResult json = cli_->RunJson(admin(), args);
    EXPECT_EQ(json.exit_code, 2) << json.Describe();
    Json err = ParseJsonOrNull(json.err);
    EXPECT_EQ(err["error"]["code"], "invalid_argument") << json.err;
  }
}

TEST_P(CommandSetE2eTest, InvalidNamesAreUsageErrorsInBothModes) {
  CreateProject("credit-risk");
  const std::string file = home_.root() / "f.txt";
  WriteFileOrDie(file, "x");
  for (const std::string name : {"../outside", "a/b", "/etc/passwd", ".."}) {
    SCOPED_TRACE(name);
    CommandResult list = cli_->Run(admin(), {"artifacts", "list", "--project", name});
    EXPECT_EQ(list.exit_code, 2) << list.Describe();
    CommandResult put = cli_->Run(admin(), {"artifacts", "put", file, "--project", name});
    EXPECT_EQ(put.exit_code, 2) << put.Describe();
    CommandResult create = cli_->Run(admin(), {"project", "create", name});
    EXPECT_EQ(create.exit_code, 2) << create.Describe();
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, CommandSetE2eTest,
                         ::testing::Values(Mode::kInProcess, Mode::kRemote), ModeParamName);

TEST(RemoteCliE2eTest, ServerAndTokenFromEnvironment) {
  TestHome home;
  ASSERT_TRUE(home.Init());
  ServerProcess server;
  ASSERT_TRUE(server.Start(home.dir()));
  RunOptions options;
  options.env = {{"PLINTH_SERVER", server.url()}, {"PLINTH_TOKEN", home.admin_token()}};
  CommandResult r = RunPlinth({"--json", "whoami"}, options);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.OutJson()["user"], "admin");

  // --server wins over PLINTH_SERVER, --token over PLINTH_TOKEN.
  RunOptions wrong_env;
  wrong_env.env = {{"PLINTH_SERVER", "http://127.0.0.1:1"}, {"PLINTH_TOKEN", "plt_bad"}};
  CommandResult flags =
      RunPlinth({"--server", server.url(), "--token", home.admin_token(), "whoami"}, wrong_env);
  EXPECT_EQ(flags.exit_code, 0) << flags.Describe();

  // No token at all against a server: unauthenticated.
  RunOptions no_token;
  no_token.env = {{"PLINTH_SERVER", server.url()}};
  CommandResult refused = RunPlinth({"whoami"}, no_token);
  EXPECT_EQ(refused.exit_code, 4) << refused.Describe();
  EXPECT_THAT(refused.err, HasSubstr("missing token"));

  // A server URL that is not one, and a server that is not there.
  EXPECT_EQ(RunPlinth({"--server", "ftp://x", "--token", home.admin_token(), "whoami"}).exit_code,
            2);
  server.Stop();
  CommandResult unreachable = RunPlinth({"whoami"}, options);
  EXPECT_EQ(unreachable.exit_code, 1) << unreachable.Describe();
  EXPECT_THAT(unreachable.err, HasSubstr("cannot reach"));
}

TEST(DemoE2eTest, DemoLeavesAVerifiableHome) {
  TempDir root;
  const std::string home = root / "home";
  CommandResult demo = RunPlinth({"demo", "--home", home}, {{}, "/", std::chrono::seconds(60)});
  ASSERT_EQ(demo.exit_code, 0) << demo.Describe();
  EXPECT_THAT(demo.out, HasSubstr("refused"));
  EXPECT_THAT(demo.out, HasSubstr("audit chain intact"));

  CommandResult verify = RunPlinth({"--home", home, "audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
  CommandResult verify_export =
      RunPlinth({"--home", home, "audit", "verify", "--file", root / "audit-export.jsonl"});
  EXPECT_EQ(verify_export.exit_code, 0) << verify_export.Describe();
  Json projects = RunPlinth({"--home", home, "--json", "project", "list"}).OutJson();
  EXPECT_EQ(Names(projects["projects"], "name"), (std::set<std::string>{"credit-risk", "fraud"}));
}

TEST(DemoE2eTest, DemoJson) {
  TempDir root;
  const std::string home = root / "home";
  CommandResult demo =
      RunPlinth({"--json", "demo", "--home", home}, {{}, "/", std::chrono::seconds(60)});
  ASSERT_EQ(demo.exit_code, 0) << demo.Describe();
  Json j = demo.OutJson();
  ASSERT_TRUE(j.is_object()) << demo.out;
  EXPECT_EQ(j["home"], home);
  EXPECT_EQ(j["audit_intact"], true);
  EXPECT_TRUE(j["artifact"].is_string());
  EXPECT_EQ(RunPlinth({"--home", home, "audit", "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace plinth::e2e
