// End-to-end tests of `plinth server` as a process: it picks a free port and says which, stops
// with exit 0 on SIGTERM (and SIGINT) after writing a final signed audit checkpoint, shares its
// home with CLI processes working in process at the same time (SQLite in WAL mode) without
// breaking the audit chain, refuses a taken port, and survives a client that hangs up mid-upload.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

std::string HeadSeq(const std::string& home) {
  return QueryHomeStore(home, "SELECT seq FROM audit_head WHERE id = 1");
}
std::string LastCheckpointSeq(const std::string& home) {
  return QueryHomeStore(home, "SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints");
}

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(home_.Init()); }

  int CreateProjectOverHttp(httplib::Client& client, const std::string& name) {
    auto res = client.Post("/api/v1/projects", AuthHeaders(home_.admin_token()),
                           Json{{"name", name}}.dump(), "application/json");
    return res ? res->status : -1;
  }

  TestHome home_;
  ServerProcess server_;
};

TEST_F(ServerE2eTest, SigtermStopsCleanlyWithAFinalCheckpoint) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  EXPECT_GT(server_.port(), 0);
  EXPECT_THAT(server_.Stdout(), HasSubstr("(home " + home_.dir() + ", store sqlite)"));
  auto client = server_.Client();
  ASSERT_EQ(CreateProjectOverHttp(*client, "before-stop"), 201);
  ASSERT_EQ(CreateProjectOverHttp(*client, "before-stop-2"), 201);
  // Requests do not checkpoint one by one: the head is ahead of the last signature.
  const std::string head = HeadSeq(home_.dir());
  ASSERT_LT(std::stoi(LastCheckpointSeq(home_.dir())), std::stoi(head));

  EXPECT_EQ(server_.Stop(SIGTERM), 0) << server_.Stdout() << server_.Stderr();
  EXPECT_THAT(server_.Stdout(), HasSubstr("plinth server stopped\n"));
  EXPECT_EQ(server_.Stderr(), "");
  EXPECT_EQ(HeadSeq(home_.dir()), head);
  EXPECT_EQ(LastCheckpointSeq(home_.dir()), head) << "no checkpoint at shutdown";

  CommandResult verify = RunPlinth({"--home", home_.dir(), "audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();
}

TEST_F(ServerE2eTest, SigintStopsCleanly) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  auto client = server_.Client();
  ASSERT_EQ(CreateProjectOverHttp(*client, "p"), 201);
  EXPECT_EQ(server_.Stop(SIGINT), 0) << server_.Stdout() << server_.Stderr();
  EXPECT_EQ(LastCheckpointSeq(home_.dir()), HeadSeq(home_.dir()));
}

TEST_F(ServerE2eTest, CliWorksOnTheHomeWhileTheServerRuns) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  EXPECT_EQ(QueryHomeStore(home_.dir(), "PRAGMA journal_mode"), "wal");
  auto client = server_.Client();
  Cli cli(Mode::kInProcess, home_.dir(), "");

  // Each side sees what the other wrote.
  ASSERT_EQ(cli.Run(home_.admin_token(), {"project", "create", "from-cli"}).exit_code, 0);
  ASSERT_EQ(CreateProjectOverHttp(*client, "from-http"), 201);
  Json listed = BodyJson(client->Get("/api/v1/projects", AuthHeaders(home_.admin_token())));
  EXPECT_EQ(listed["projects"].size(), 2u) << listed.dump();
  Json cli_listed = cli.RunJson(home_.admin_token(), {"project", "list"}).OutJson();
  EXPECT_EQ(cli_listed["projects"].size(), 2u) << cli_listed.dump();

  // Writers in both processes at once.
  constexpr int kHttpWrites = 20;
  constexpr int kCliWrites = 6;
  std::atomic<int> http_ok{0};
  std::thread writer([&] {
    auto c = server_.Client();
    for (int i = 0; i < kHttpWrites; ++i) {
      if (CreateProjectOverHttp(*c, "http-" + std::to_string(i)) == 201) ++http_ok;
    }
  });
  int cli_ok = 0;
  for (int i = 0; i < kCliWrites; ++i) {
    CommandResult r =
        cli.Run(home_.admin_token(), {"project", "create", "cli-" + std::to_string(i)});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    if (r.exit_code == 0) ++cli_ok;
  }
  writer.join();
  EXPECT_EQ(http_ok.load(), kHttpWrites);
  EXPECT_EQ(cli_ok, kCliWrites);

  Json all = cli.RunJson(home_.admin_token(), {"project", "list"}).OutJson();
  EXPECT_EQ(all["projects"].size(), 2u + kHttpWrites + kCliWrites);
  CommandResult verify = cli.RunJson(home_.admin_token(), {"audit", "verify"});
  ASSERT_EQ(verify.exit_code, 0) << verify.Describe();
  // init + 2 + 20 + 6 project creations, one record each.
  EXPECT_EQ(verify.OutJson()["records"], 1 + 2 + kHttpWrites + kCliWrites);
  auto remote_verify = client->Get("/api/v1/audit/verify", AuthHeaders(home_.admin_token()));
  ASSERT_TRUE(remote_verify);
  EXPECT_EQ(BodyJson(remote_verify)["ok"], true) << remote_verify->body;

  EXPECT_EQ(server_.Stop(), 0);
  EXPECT_EQ(RunPlinth({"--home", home_.dir(), "audit", "verify"}).exit_code, 0);
}

TEST_F(ServerE2eTest, TakenPortIsRefused) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  TestHome other;
  ASSERT_TRUE(other.Init());
  // A second server, on another home, asks for the same port. It must fail at once rather than
  // share the port and take some of the first home's requests.
  CommandResult taken;
  std::thread second([&] {
    RunOptions briefly;
    briefly.timeout = std::chrono::seconds(4);
    taken = RunPlinth({"--home", other.dir(), "server", "--listen",
                       "127.0.0.1:" + std::to_string(server_.port())},
                      briefly);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  int answered_by_another_home = 0;
  for (int i = 0; i < 20; ++i) {
    auto res = server_.Client()->Get("/api/v1/whoami", AuthHeaders(home_.admin_token()));
    if (!res || res->status != 200) ++answered_by_another_home;
  }
  second.join();
  EXPECT_EQ(taken.exit_code, 1) << taken.Describe();
  EXPECT_THAT(taken.err, HasSubstr("cannot listen"));
  EXPECT_EQ(answered_by_another_home, 0)
      << "requests to the first server were answered by a second "
         "server on the same port, for another home";
}

TEST_F(ServerE2eTest, BadAddressesAndMissingHomesAreRefused) {
  CommandResult bad = RunPlinth({"--home", home_.dir(), "server", "--listen", "localhost:http"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  CommandResult range = RunPlinth({"--home", home_.dir(), "server", "--listen", "127.0.0.1:70000"});
  EXPECT_EQ(range.exit_code, 2) << range.Describe();
  CommandResult no_home =
      RunPlinth({"--home", home_.root() / "none", "server", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(no_home.exit_code, 3) << no_home.Describe();
}

TEST_F(ServerE2eTest, TwoHomesServeSideBySide) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  TestHome other;
  ASSERT_TRUE(other.Init());
  ServerProcess second;
  ASSERT_TRUE(second.Start(other.dir()));
  EXPECT_NE(second.port(), server_.port());
  // Each answers for its own home only.
  auto mine = server_.Client()->Get("/api/v1/whoami", AuthHeaders(home_.admin_token()));
  auto theirs = second.Client()->Get("/api/v1/whoami", AuthHeaders(home_.admin_token()));
  ASSERT_TRUE(mine && theirs);
  EXPECT_EQ(mine->status, 200);
  EXPECT_EQ(theirs->status, 401);
  EXPECT_EQ(second.Stop(), 0);
  auto health = server_.Client()->Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerE2eTest, ClientHangingUpMidUploadLeavesNothingBehind) {
  ASSERT_TRUE(server_.Start(home_.dir()));
  auto client = server_.Client();
  ASSERT_EQ(CreateProjectOverHttp(*client, "p"), 201);
  auto user =
      client->Post("/api/v1/users", AuthHeaders(home_.admin_token()),
                   R"({"name":"dana","role":"data-scientist","project":"p"})", "application/json");
  ASSERT_TRUE(user && user->status == 201);
  auto token = client->Post("/api/v1/tokens", AuthHeaders(home_.admin_token()),
                            R"({"user":"dana"})", "application/json");
  const std::string dana = BodyJson(token).value("token", "");
  ASSERT_FALSE(dana.empty());

  SendAndHangUp(server_.port(),
                "PUT /api/v1/projects/p/artifacts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Bearer " +
                    dana +
                    "\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: 1000000\r\n\r\n" +
                    std::string(4096, 'x'));

  // The server still answers, stored nothing, and cleans up its temporary file.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto health = client->Get("/api/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  Json list = BodyJson(client->Get("/api/v1/projects/p/artifacts", AuthHeaders(dana)));
  EXPECT_EQ(list["artifacts"].size(), 0u) << list.dump();
  const std::string tmp = home_.dir() + "/artifacts/tmp";
  bool empty = false;
  for (int i = 0; i < 200 && !empty; ++i) {
    empty = !std::filesystem::exists(tmp) || std::filesystem::is_empty(tmp);
    if (!empty) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(empty) << "a partial upload was left in " << tmp;
  EXPECT_EQ(server_.Stop(), 0);
  EXPECT_EQ(RunPlinth({"--home", home_.dir(), "audit", "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace plinth::e2e
