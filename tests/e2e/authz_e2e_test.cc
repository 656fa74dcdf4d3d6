// End-to-end authorisation matrix over raw HTTP against `plinth server`, with a few rows through
// the CLI: each role (viewer, data-scientist, validator, approver, deployer on a project; auditor
// and admin platform-wide) against project create, user create, artifact put/get/list and audit
// tail/verify/export, allowed or refused as the permission table says. A project the caller holds
// no role in answers 404 (exit 3), never 403, whether it exists or not.
#include <regex>

#include "harness.h"

namespace plinth::e2e {
namespace {

struct Caller {
  std::string user;
  std::string role;
  std::string project;  // "" for platform-wide
};

const Caller kCallers[] = {
    {"vera", "viewer", "alpha"},   {"dora", "data-scientist", "alpha"},
    {"val", "validator", "alpha"}, {"april", "approver", "alpha"},
    {"dex", "deployer", "alpha"},  {"audrey", "auditor", ""},
    {"root2", "admin", ""},
};

bool IsAdmin(const Caller& c) { return c.role == "admin"; }
bool IsAuditReader(const Caller& c) { return c.role == "auditor" || c.role == "admin"; }
bool IsWriter(const Caller& c) { return c.role == "data-scientist"; }

class AuthzE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(home_.Init());
    ASSERT_TRUE(server_.Start(home_.dir()));
    client_ = server_.Client();
    for (const char* p : {"alpha", "beta"}) {
      ASSERT_EQ(Post("/api/v1/projects", {{"name", p}}, home_.admin_token()), 201);
    }
    for (const auto& c : kCallers) tokens_[c.user] = CreateUser(c.user, c.role, c.project);
    tokens_["bea"] = CreateUser("bea", "data-scientist", "beta");
    // An artifact of alpha, stored by its data scientist.
    auto put = client_->Put("/api/v1/projects/alpha/artifacts", AuthHeaders(tokens_["dora"]),
                            "alpha bytes", "application/octet-stream");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 201) << put->body;
    digest_ = BodyJson(put)["digest"];
    ASSERT_EQ(digest_, Sha256Digest("alpha bytes"));
  }

  int Post(const std::string& path, const Json& body, const std::string& token) {
    auto res = client_->Post(path, AuthHeaders(token), body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    return res ? res->status : -1;
  }

  int Get(const std::string& path, const std::string& token) {
    auto res = client_->Get(path, AuthHeaders(token));
    EXPECT_TRUE(res) << path;
    if (res && res->status >= 400) {
      Json body = BodyJson(res);
      EXPECT_TRUE(body["error"]["code"].is_string()) << path << ": " << res->body;
    }
    return res ? res->status : -1;
  }

  int PutArtifact(const std::string& project, const std::string& token) {
    auto res = client_->Put("/api/v1/projects/" + project + "/artifacts", AuthHeaders(token),
                            "new bytes from " + token.substr(0, 8), "application/octet-stream");
    EXPECT_TRUE(res);
    return res ? res->status : -1;
  }

  std::string CreateUser(const std::string& name, const std::string& role,
                         const std::string& project) {
    Json body = {{"name", name}, {"role", role}};
    if (!project.empty()) body["project"] = project;
    EXPECT_EQ(Post("/api/v1/users", body, home_.admin_token()), 201) << name;
    auto res = client_->Post("/api/v1/tokens", AuthHeaders(home_.admin_token()),
                             Json{{"user", name}}.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 201) << name;
    return res ? BodyJson(res).value("token", "") : "";
  }

  TestHome home_;
  ServerProcess server_;
  std::unique_ptr<httplib::Client> client_;
  std::map<std::string, std::string> tokens_;
  std::string digest_;
};

TEST_F(AuthzE2eTest, RoleMatrix) {
  int n = 0;
  for (const auto& c : kCallers) {
    SCOPED_TRACE(c.role + " " + c.user);
    const std::string& token = tokens_[c.user];
    ++n;
    EXPECT_EQ(Post("/api/v1/projects", {{"name", "p" + std::to_string(n)}}, token),
              IsAdmin(c) ? 201 : 403);
    EXPECT_EQ(Post("/api/v1/users", {{"name", "u" + std::to_string(n)}, {"role", "viewer"}}, token),
              IsAdmin(c) ? 201 : 403);
    EXPECT_EQ(
        Post("/api/v1/users/vera/roles", {{"role", "validator"}, {"project", "alpha"}}, token),
        IsAdmin(c) ? 201 : 403);
    EXPECT_EQ(Get("/api/v1/users", token), IsAdmin(c) ? 200 : 403);
    EXPECT_EQ(PutArtifact("alpha", token), IsWriter(c) ? 201 : 403);
    EXPECT_EQ(Get("/api/v1/artifacts/" + digest_, token), 200);
    EXPECT_EQ(Get("/api/v1/projects/alpha/artifacts", token), 200);
    EXPECT_EQ(Get("/api/v1/audit/tail?n=5", token), IsAuditReader(c) ? 200 : 403);
    EXPECT_EQ(Get("/api/v1/audit/verify", token), IsAuditReader(c) ? 200 : 403);
    EXPECT_EQ(Get("/api/v1/audit/export", token), IsAuditReader(c) ? 200 : 403);
    EXPECT_EQ(Get("/api/v1/whoami", token), 200);
    EXPECT_EQ(Get("/api/v1/audit/public-key", token), 200);
    // A project-bound caller sees only its project; platform-wide roles see both.
    Json projects = BodyJson(client_->Get("/api/v1/projects", AuthHeaders(token)));
    EXPECT_EQ(projects["projects"].size(), c.project.empty() ? 2u + (IsAdmin(c) ? 1u : 0u) : 1u)
        << projects.dump();
    // Beta is not theirs: it does not exist for them (platform-wide roles do see it).
    int beta = Get("/api/v1/projects/beta/artifacts", token);
    EXPECT_EQ(beta, c.project.empty() ? 200 : 404);
    if (!c.project.empty()) {
      EXPECT_EQ(PutArtifact("beta", token), 404);
    }
    EXPECT_EQ(Get("/api/v1/projects/gamma/artifacts", token), 404);
  }
}

TEST_F(AuthzE2eTest, NoRoleOnProjectIsNotFoundNeverForbidden) {
  const std::string& bea = tokens_["bea"];
  auto get = client_->Get("/api/v1/artifacts/" + digest_, AuthHeaders(bea));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_EQ(BodyJson(get)["error"]["code"], "not_found");
  auto list = client_->Get("/api/v1/projects/alpha/artifacts", AuthHeaders(bea));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 404);
  // The refusal for an existing project reads like the one for a project that does not exist.
  auto missing = client_->Get("/api/v1/projects/zzzzz/artifacts", AuthHeaders(bea));
  ASSERT_TRUE(missing);
  EXPECT_EQ(BodyJson(list)["error"]["message"].get<std::string>(),
            std::regex_replace(BodyJson(missing)["error"]["message"].get<std::string>(),
                               std::regex("zzzzz"), "alpha"));
  EXPECT_EQ(PutArtifact("alpha", bea), 404);

  // The same through the CLI, in process and remotely.
  const std::string out = home_.root() / "x.bin";
  for (Mode mode : {Mode::kInProcess, Mode::kRemote}) {
    SCOPED_TRACE(ModeName(mode));
    Cli cli(mode, home_.dir(), server_.url());
    EXPECT_EQ(cli.Run(bea, {"artifacts", "get", digest_, "--out", out}).exit_code, 3);
    EXPECT_EQ(cli.Run(bea, {"artifacts", "list", "--project", "alpha"}).exit_code, 3);
    EXPECT_EQ(cli.Run(tokens_["vera"], {"artifacts", "list", "--project", "beta"}).exit_code, 3);
    EXPECT_EQ(cli.Run(tokens_["vera"], {"project", "create", "mine"}).exit_code, 4);
    EXPECT_EQ(cli.Run(tokens_["dora"], {"audit", "tail"}).exit_code, 4);
    EXPECT_EQ(cli.Run(tokens_["audrey"], {"audit", "verify"}).exit_code, 0);
    EXPECT_EQ(cli.Run(tokens_["audrey"], {"user", "list"}).exit_code, 4);
    EXPECT_FALSE(FileExists(out));
  }
}

TEST_F(AuthzE2eTest, ProjectScopedAuditorCannotReadTheChain) {
  const std::string token = CreateUser("pia", "auditor", "alpha");
  EXPECT_EQ(Get("/api/v1/audit/tail", token), 403);
  EXPECT_EQ(Get("/api/v1/audit/verify", token), 403);
  EXPECT_EQ(Get("/api/v1/audit/export", token), 403);
  EXPECT_EQ(Get("/api/v1/projects/alpha/artifacts", token), 200);
}

TEST_F(AuthzE2eTest, RefusalsAreAudited) {
  ASSERT_EQ(Post("/api/v1/projects", {{"name", "sneaky"}}, tokens_["vera"]), 403);
  auto tail = client_->Get("/api/v1/audit/tail?n=3", AuthHeaders(tokens_["audrey"]));
  ASSERT_TRUE(tail);
  Json last = BodyJson(tail)["records"].back();
  EXPECT_EQ(last["action"], "project.create");
  EXPECT_EQ(last["actor"], "vera");
  EXPECT_EQ(last["outcome"], "denied");
}

}  // namespace
}  // namespace plinth::e2e
