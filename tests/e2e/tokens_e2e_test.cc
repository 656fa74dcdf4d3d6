// End-to-end tests of API tokens: missing, malformed, unknown, expired and revoked tokens are all
// refused (HTTP 401, CLI exit 4, in process and remotely), revocation takes effect at once, and
// no token ever appears raw in the audit export, the server's output or the metadata store.
#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

class TokensE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(home_.Init());
    ASSERT_TRUE(server_.Start(home_.dir()));
    client_ = server_.Client();
    in_process_ = std::make_unique<Cli>(Mode::kInProcess, home_.dir(), "");
    remote_ = std::make_unique<Cli>(Mode::kRemote, home_.dir(), server_.url());
    issued_.push_back(home_.admin_token());
    ASSERT_EQ(
        remote_->Run(home_.admin_token(), {"user", "create", "dana", "--role", "viewer"}).exit_code,
        0);
  }

  // Issues a token for dana through the CLI; remembers it for the leak checks.
  Json Issue(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"token", "create", "--user", "dana"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = remote_->RunJson(home_.admin_token(), args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    Json j = r.OutJson();
    if (j.is_object() && j["token"].is_string()) issued_.push_back(j["token"]);
    return j;
  }

  // Status of GET /api/v1/whoami with these headers, and the error message if refused.
  std::pair<int, std::string> Whoami(const httplib::Headers& headers) {
    auto res = client_->Get("/api/v1/whoami", headers);
    EXPECT_TRUE(res);
    if (!res) return {-1, ""};
    Json body = BodyJson(res);
    if (res->status == 401) {
      EXPECT_EQ(body["error"]["code"], "unauthenticated") << res->body;
      EXPECT_TRUE(IsWellFormedRequestId(res->get_header_value("X-Request-Id")));
    }
    if (res->status < 400) return {res->status, ""};
    return {res->status, body["error"].value("message", "")};
  }

  // Expects `token` refused everywhere with a message containing `why`.
  void ExpectRefused(const std::string& token, const std::string& why) {
    auto [status, message] = Whoami(AuthHeaders(token));
    EXPECT_EQ(status, 401) << token;
    EXPECT_THAT(message, HasSubstr(why));
    EXPECT_EQ(message.find(token), std::string::npos) << "the token is echoed: " << message;
    CommandResult remote = remote_->Run(token, {"whoami"});
    EXPECT_EQ(remote.exit_code, 4) << remote.Describe();
    EXPECT_THAT(remote.err, HasSubstr(why));
    CommandResult local = in_process_->Run(token, {"whoami"});
    EXPECT_EQ(local.exit_code, 4) << local.Describe();
    EXPECT_THAT(local.err, HasSubstr(why));
  }

  TestHome home_;
  ServerProcess server_;
  std::unique_ptr<httplib::Client> client_;
  std::unique_ptr<Cli> in_process_;
  std::unique_ptr<Cli> remote_;
  std::vector<std::string> issued_;
};

TEST_F(TokensE2eTest, MissingTokenIsRefused) {
  auto [status, message] = Whoami({});
  EXPECT_EQ(status, 401);
  EXPECT_THAT(message, HasSubstr("missing token"));
  for (const char* path : {"/api/v1/projects", "/api/v1/users", "/api/v1/tokens",
                           "/api/v1/audit/tail", "/api/v1/audit/export"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << path;
  }
  auto post = client_->Post("/api/v1/projects", R"({"name":"x"})", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  auto put = client_->Put("/api/v1/projects/x/artifacts", "bytes", "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 401);
  auto del = client_->Delete("/api/v1/tokens/whatever");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 401);
}

TEST_F(TokensE2eTest, MalformedTokensAreRefused) {
  ExpectRefused("not-a-token", "malformed");
  ExpectRefused("plt_" + std::string(63, 'a'), "malformed");
  ExpectRefused("plt_" + std::string(64, 'A'), "malformed");
  ExpectRefused("PLT_" + std::string(64, 'a'), "malformed");
  // Present but not a bearer token.
  for (const char* header :
       {"Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", "bearer x", "Token x"}) {
    httplib::Headers headers = {{"Authorization", header}};
    EXPECT_EQ(Whoami(headers).first, 401) << header;
  }
}

TEST_F(TokensE2eTest, UnknownTokenIsRefused) {
  ExpectRefused("plt_" + std::string(64, '0'), "unknown token");
  // A valid token with one character changed.
  std::string t = home_.admin_token();
  t.back() = t.back() == '0' ? '1' : '0';
  ExpectRefused(t, "unknown token");
}

TEST_F(TokensE2eTest, ExpiredTokenIsRefused) {
  Json j = Issue({"--ttl", "1s"});
  ASSERT_TRUE(j["expires"].is_string()) << j.dump();
  const std::string token = j["token"];
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ExpectRefused(token, "expired");
  // A longer-lived one issued at the same time still works.
  Json fresh = Issue({"--ttl", "1h"});
  EXPECT_EQ(Whoami(AuthHeaders(fresh["token"])).first, 200);
}

TEST_F(TokensE2eTest, RevokedTokenIsRefusedImmediately) {
  Json j = Issue();
  const std::string token = j["token"];
  const std::string id = j["id"];
  ASSERT_EQ(Whoami(AuthHeaders(token)).first, 200);
  auto del = client_->Delete("/api/v1/tokens/" + id, AuthHeaders(home_.admin_token()));
  ASSERT_TRUE(del);
  ASSERT_EQ(del->status, 200) << del->body;
  EXPECT_TRUE(BodyJson(del)["revoked"].is_string()) << del->body;
  ExpectRefused(token, "revoked");

  // Revoked through the in-process CLI while the server runs: the server refuses it at once.
  Json second = Issue();
  ASSERT_EQ(Whoami(AuthHeaders(second["token"])).first, 200);
  ASSERT_EQ(in_process_->Run(home_.admin_token(), {"token", "revoke", second["id"]}).exit_code, 0);
  EXPECT_EQ(Whoami(AuthHeaders(second["token"])).first, 401);

  // A user may revoke their own token, which is then refused.
  Json third = Issue();
  CommandResult own = remote_->Run(third["token"], {"token", "revoke", third["id"]});
  EXPECT_EQ(own.exit_code, 0) << own.Describe();
  EXPECT_EQ(Whoami(AuthHeaders(third["token"])).first, 401);
}

TEST_F(TokensE2eTest, TokensNeverAppearRawInExportLogsOrStore) {
  Json a = Issue({"--ttl", "1h"});
  Json b = Issue();
  Issue({"--ttl", "30d"});
  ASSERT_EQ(remote_->Run(home_.admin_token(), {"token", "revoke", b["id"]}).exit_code, 0);
  // Refused attempts with tokens (a revoked one, a well-formed unknown one) are audited too.
  remote_->Run(b["token"], {"project", "create", "x"});
  const std::string unknown = "plt_" + std::string(64, '7');
  remote_->Run(unknown, {"project", "create", "y"});
  issued_.push_back(unknown);
  // Self-issued token through the API.
  auto self = client_->Post("/api/v1/tokens", AuthHeaders(a["token"]),
                            Json{{"user", "dana"}}.dump(), "application/json");
  ASSERT_TRUE(self);
  ASSERT_EQ(self->status, 201) << self->body;
  issued_.push_back(BodyJson(self)["token"]);

  const std::string local_export = home_.root() / "local.jsonl";
  const std::string remote_export = home_.root() / "remote.jsonl";
  ASSERT_EQ(
      in_process_->Run(home_.admin_token(), {"audit", "export", "--out", local_export}).exit_code,
      0);
  ASSERT_EQ(
      remote_->Run(home_.admin_token(), {"audit", "export", "--out", remote_export}).exit_code, 0);
  const std::string exported = ReadFileOrDie(local_export) + ReadFileOrDie(remote_export);
  ASSERT_NE(exported.find("token.create"), std::string::npos);

  ASSERT_EQ(server_.Stop(), 0);
  const std::string logs = server_.Stdout() + server_.Stderr();
  std::string store;
  for (const char* f : {"/metadata.db", "/metadata.db-wal"}) {
    if (FileExists(home_.dir() + f)) store += ReadFileOrDie(home_.dir() + f);
  }
  ASSERT_FALSE(store.empty());

  ASSERT_GE(issued_.size(), 6u);
  for (const auto& token : issued_) {
    ASSERT_EQ(token.size(), 68u);
    const std::string secret = token.substr(4);
    EXPECT_EQ(exported.find(secret), std::string::npos) << "token in the audit export";
    EXPECT_EQ(logs.find(secret), std::string::npos) << "token in the server output";
    EXPECT_EQ(store.find(secret), std::string::npos) << "token in the metadata store";
  }
}

}  // namespace
}  // namespace plinth::e2e
