// End-to-end tests of the REST API over raw HTTP against `plinth server`: health and the OpenAPI
// document without a token; JSON errors {"error": {"code", "message", "request_id"}} for malformed
// bodies, unknown fields and mass-assignment attempts (nothing is created); 413 for JSON bodies
// over 1 MiB and 411 without a length; 401, 403 and 404; path traversal in digests and names is
// a 4xx (never 200 or 500) and changes nothing outside the home; X-Request-Id on every response.
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

class HttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(home_.Init());
    // A sibling of the home that no request may touch.
    std::filesystem::create_directory(home_.root() / "outside");
    WriteFileOrDie(home_.root() / "outside/secret.txt", "do not touch");
    ASSERT_TRUE(server_.Start(home_.dir()));
    client_ = server_.Client();
    admin_ = home_.admin_token();
    for (const char* p : {"credit-risk", "fraud"}) {
      ASSERT_EQ(PostJson("/api/v1/projects", Json{{"name", p}}.dump(), admin_)->status, 201);
    }
    dana_ = CreateUser("dana", "data-scientist", "credit-risk");
    frank_ = CreateUser("frank", "data-scientist", "fraud");
    auto put = client_->Put("/api/v1/projects/credit-risk/artifacts", AuthHeaders(dana_),
                            "credit bytes", "application/octet-stream");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 201) << put->body;
    digest_ = BodyJson(put)["digest"];
  }

  httplib::Result PostJson(const std::string& path, const std::string& body,
                           const std::string& token, const std::string& request_id = "") {
    auto res = client_->Post(path, AuthHeaders(token, request_id), body, "application/json");
    EXPECT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    return res;
  }

  std::string CreateUser(const std::string& name, const std::string& role,
                         const std::string& project) {
    auto user = PostJson("/api/v1/users",
                         Json{{"name", name}, {"role", role}, {"project", project}}.dump(), admin_);
    EXPECT_EQ(user->status, 201) << user->body;
    auto token = PostJson("/api/v1/tokens", Json{{"user", name}}.dump(), admin_);
    EXPECT_EQ(token->status, 201) << token->body;
    return BodyJson(token).value("token", "");
  }

  std::set<std::string> ProjectNames() {
    auto res = client_->Get("/api/v1/projects", AuthHeaders(admin_));
    std::set<std::string> names;
    const Json body = BodyJson(res);
    for (const auto& p : body["projects"]) names.insert(p["name"].get<std::string>());
    return names;
  }

  std::set<std::string> UserNames() {
    auto res = client_->Get("/api/v1/users", AuthHeaders(admin_));
    std::set<std::string> names;
    const Json body = BodyJson(res);
    for (const auto& u : body["users"]) names.insert(u["name"].get<std::string>());
    return names;
  }

  // Expects an error response of `status` with the JSON error shape and a request id.
  static void ExpectError(const httplib::Result& res, int status, const std::string& code) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, status) << res->body;
    Json body = BodyJson(res);
    ASSERT_TRUE(body.is_object()) << res->body;
    EXPECT_EQ(body["error"]["code"], code) << res->body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << res->body;
    EXPECT_EQ(body["error"]["request_id"], res->get_header_value("X-Request-Id")) << res->body;
    EXPECT_TRUE(IsWellFormedRequestId(res->get_header_value("X-Request-Id")));
    EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("application/json"));
  }

  // A raw request line and headers, with the admin's token unless `token` says otherwise.
  std::string RawRequest(const std::string& method, const std::string& target,
                         const std::string& extra_headers, const std::string& body,
                         const std::string& token) {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
    r += extra_headers + "Connection: close\r\n\r\n" + body;
    return r;
  }

  TestHome home_;
  ServerProcess server_;
  std::unique_ptr<httplib::Client> client_;
  std::string admin_, dana_, frank_, digest_;
};

TEST_F(HttpE2eTest, HealthNeedsNoToken) {
  auto res = client_->Get("/api/v1/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(BodyJson(res), Json::parse(R"({"status":"ok"})"));
  EXPECT_TRUE(IsWellFormedRequestId(res->get_header_value("X-Request-Id")));
}

TEST_F(HttpE2eTest, OpenApiDocumentListsTheRoutes) {
  auto res = client_->Get("/api/v1/openapi.json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  Json doc = BodyJson(res);
  ASSERT_TRUE(doc.is_object()) << "not JSON: " << res->body.substr(0, 200);
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  ASSERT_TRUE(doc["paths"].is_object());
  const Json& paths = doc["paths"];
  ASSERT_TRUE(paths.contains("/api/v1/projects"));
  EXPECT_TRUE(paths["/api/v1/projects"].contains("get"));
  EXPECT_TRUE(paths["/api/v1/projects"].contains("post"));
  for (const char* p :
       {"/api/v1/whoami", "/api/v1/users", "/api/v1/users/{name}/roles", "/api/v1/tokens",
        "/api/v1/tokens/{id}", "/api/v1/projects/{project}/artifacts", "/api/v1/artifacts/{digest}",
        "/api/v1/audit/tail", "/api/v1/audit/verify", "/api/v1/audit/export", "/api/v1/health"}) {
    EXPECT_TRUE(paths.contains(p)) << p;
  }
  // The documented body schema refuses unknown fields, as the server does.
  EXPECT_EQ(paths["/api/v1/projects"]["post"]["requestBody"]["content"]["application/json"]
                 ["schema"]["additionalProperties"],
            false);
}

TEST_F(HttpE2eTest, MalformedJsonIsBadRequest) {
  for (const std::string& body :
       std::vector<std::string>{"{bad", "{\"name\": ", "\"just a string\"", "[]", "42", "null",
                                "{\"name\":\"a\"} trailing"}) {
    SCOPED_TRACE(body);
    ExpectError(PostJson("/api/v1/projects", body, admin_), 400, "invalid_argument");
  }
  ExpectError(PostJson("/api/v1/projects", "", admin_), 400, "invalid_argument");
  EXPECT_EQ(ProjectNames(), (std::set<std::string>{"credit-risk", "fraud"}));
}

TEST_F(HttpE2eTest, UnknownFieldIsNamed) {
  auto res = PostJson("/api/v1/projects", R"({"name":"p1","colour":"red"})", admin_);
  ExpectError(res, 400, "invalid_argument");
  EXPECT_THAT(BodyJson(res)["error"]["message"].get<std::string>(), HasSubstr("'colour'"));
  auto typed = PostJson("/api/v1/projects", R"({"name":42})", admin_);
  ExpectError(typed, 400, "invalid_argument");
  EXPECT_THAT(BodyJson(typed)["error"]["message"].get<std::string>(), HasSubstr("'name'"));
  auto query = client_->Get("/api/v1/audit/tail?n=5&format=raw", AuthHeaders(admin_));
  ExpectError(query, 400, "invalid_argument");
  EXPECT_THAT(BodyJson(query)["error"]["message"].get<std::string>(), HasSubstr("'format'"));
  ExpectError(client_->Get("/api/v1/audit/tail?n=many", AuthHeaders(admin_)), 400,
              "invalid_argument");
  ExpectError(client_->Get("/api/v1/audit/tail?n=100000", AuthHeaders(admin_)), 400,
              "invalid_argument");
  EXPECT_EQ(ProjectNames().count("p1"), 0u);
}

TEST_F(HttpE2eTest, MassAssignmentIsRefusedAndCreatesNothing) {
  struct Attempt {
    std::string path;
    std::string body;
    std::string field;
  };
  const std::vector<Attempt> attempts = {
      {"/api/v1/projects", R"({"name":"x","owner":"mallory"})", "owner"},
      {"/api/v1/projects", R"({"name":"x","id":"01AAAAAAAAAAAAAAAAAAAAAAAA"})", "id"},
      {"/api/v1/projects", R"({"name":"x","created_by":"mallory"})", "created_by"},
      {"/api/v1/users", R"({"name":"u","role":"viewer","admin":true})", "admin"},
      {"/api/v1/users", R"({"name":"u","role":"viewer","roles":[{"role":"admin","project":"*"}]})",
       "roles"},
      {"/api/v1/tokens",
       R"({"user":"dana","expires":null,"token":"plt_)" + std::string(64, '1') + "\"}", "token"},
      {"/api/v1/users/dana/roles", R"({"name":"admin","role":"admin"})", "name"},
  };
  for (const auto& a : attempts) {
    SCOPED_TRACE(a.body);
    auto res = PostJson(a.path, a.body, admin_);
    ExpectError(res, 400, "invalid_argument");
    EXPECT_THAT(BodyJson(res)["error"]["message"].get<std::string>(), HasSubstr(a.field));
  }
  EXPECT_EQ(ProjectNames(), (std::set<std::string>{"credit-risk", "fraud"}));
  EXPECT_EQ(UserNames(), (std::set<std::string>{"admin", "dana", "frank"}));
  // dana is still a data scientist on credit-risk only.
  auto who = client_->Get("/api/v1/whoami", AuthHeaders(dana_));
  EXPECT_EQ(BodyJson(who)["roles"],
            Json::parse(R"([{"role":"data-scientist","project":"credit-risk"}])"));
  // The token that was pushed in does not authenticate.
  auto pushed = client_->Get("/api/v1/whoami", AuthHeaders("plt_" + std::string(64, '1')));
  EXPECT_EQ(pushed->status, 401);
}

TEST_F(HttpE2eTest, JsonBodyOverOneMebibyteIs413) {
  // Exactly 1 MiB is allowed.
  std::string exact = R"({"name":"big"})";
  exact.resize(1 << 20, ' ');
  auto ok = PostJson("/api/v1/projects", exact, admin_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201) << ok->body.substr(0, 300);

  // One byte more is refused before the body is read.
  RawResponse raw = RawHttpExchange(
      server_.port(),
      RawRequest("POST", "/api/v1/projects",
                 "Content-Type: application/json\r\nContent-Length: 1048577\r\nX-Request-Id: "
                 "big-1\r\n",
                 "", admin_));
  EXPECT_EQ(raw.status, 413) << raw.body;
  EXPECT_EQ(raw.headers["x-request-id"], "big-1");
  Json body = ParseJsonOrNull(raw.body);
  EXPECT_EQ(body["error"]["code"], "resource_exhausted") << raw.body;
  EXPECT_EQ(body["error"]["request_id"], "big-1") << raw.body;

  // A huge claimed length is refused the same way, unauthenticated or not.
  RawResponse huge = RawHttpExchange(
      server_.port(),
      RawRequest("POST", "/api/v1/users", "Content-Length: 99999999999999\r\n", "", ""));
  EXPECT_EQ(huge.status, 413) << huge.body;
  EXPECT_EQ(ProjectNames().count("bigger"), 0u);
}

TEST_F(HttpE2eTest, BodyWithoutLengthIs411) {
  const std::string json = R"({"name":"chunky"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", json.size());
  RawResponse chunked = RawHttpExchange(
      server_.port(), RawRequest("POST", "/api/v1/projects",
                                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
                                 std::string(size) + "\r\n" + json + "\r\n0\r\n\r\n", admin_));
  EXPECT_EQ(chunked.status, 411) << chunked.body;
  EXPECT_FALSE(chunked.headers["x-request-id"].empty());
  EXPECT_EQ(ParseJsonOrNull(chunked.body)["error"]["code"], "invalid_argument") << chunked.body;
  EXPECT_EQ(ProjectNames().count("chunky"), 0u);
}

TEST_F(HttpE2eTest, PostWithoutContentLengthIs411) {
  // Neither Content-Length nor Transfer-Encoding: the body has no length, so it is refused at
  // once rather than read until the client closes the connection.
  RawResponse none =
      RawHttpExchange(server_.port(),
                      RawRequest("POST", "/api/v1/projects", "Content-Type: application/json\r\n",
                                 R"({"name":"nolength"})", admin_),
                      std::chrono::seconds(5));
  EXPECT_EQ(none.status, 411) << "no answer within 5 s: " << none.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ProjectNames().count("nolength"), 0u) << "the body without a length was executed";
}

TEST_F(HttpE2eTest, MissingBearerIs401WrongRoleIs403OtherProjectIs404) {
  ExpectError(client_->Get("/api/v1/projects"), 401, "unauthenticated");
  ExpectError(PostJson("/api/v1/projects", R"({"name":"x"})", ""), 401, "unauthenticated");
  ExpectError(PostJson("/api/v1/projects", R"({"name":"x"})", dana_), 403, "permission_denied");
  ExpectError(PostJson("/api/v1/users", R"({"name":"m","role":"admin"})", dana_), 403,
              "permission_denied");
  ExpectError(client_->Get("/api/v1/audit/export", AuthHeaders(dana_)), 403, "permission_denied");
  ExpectError(client_->Get("/api/v1/artifacts/" + digest_, AuthHeaders(frank_)), 404, "not_found");
  ExpectError(client_->Get("/api/v1/projects/credit-risk/artifacts", AuthHeaders(frank_)), 404,
              "not_found");
  ExpectError(client_->Put("/api/v1/projects/credit-risk/artifacts", AuthHeaders(frank_), "x",
                           "application/octet-stream"),
              404, "not_found");
  ExpectError(client_->Get("/api/v1/artifacts/sha256:" + std::string(64, 'a'), AuthHeaders(dana_)),
              404, "not_found");
  ExpectError(client_->Get("/api/v1/no/such/endpoint", AuthHeaders(admin_)), 404, "not_found");
  ExpectError(client_->Delete("/api/v1/projects", AuthHeaders(admin_)), 404, "not_found");
  // The owner reads it fine, with its digest.
  auto own = client_->Get("/api/v1/artifacts/" + digest_, AuthHeaders(dana_));
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  EXPECT_EQ(own->body, "credit bytes");
  EXPECT_TRUE(IsWellFormedRequestId(own->get_header_value("X-Request-Id")));
}

TEST_F(HttpE2eTest, PathTraversalIsRefusedAndChangesNothing) {
  const auto outside_before = SnapshotTree(home_.root().path(), {"home"});
  const auto objects_before = SnapshotTree(home_.dir() + "/artifacts/objects");
  const std::vector<std::string> evil = {
      "..",
      "../../../etc/passwd",
      "..%2f..%2f..%2fetc%2fpasswd",
      "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "%2e%2e",
      "%252e%252e%252fetc%252fpasswd",
      "%252e%252e",
      "/etc/passwd",
      "%2fetc%2fpasswd",
      "%00",
      "credit-risk%00",
      "credit-risk%2f..%2f..%2foutside",
      "..%5c..%5cetc%5cpasswd",
      "sha256:..%2f..%2f..%2f..%2foutside%2fsecret.txt",
      "sha256:" + std::string(64, 'a') + "%00.txt",
      "sha256%3a" + digest_.substr(7) + "%2f..%2f..",
  };
  std::vector<std::pair<std::string, httplib::Result>> results;
  for (const auto& e : evil) {
    results.emplace_back("GET artifact " + e,
                         client_->Get("/api/v1/artifacts/" + e, AuthHeaders(dana_)));
    results.emplace_back("GET list " + e,
                         client_->Get("/api/v1/projects/" + e + "/artifacts", AuthHeaders(dana_)));
    results.emplace_back("PUT " + e,
                         client_->Put("/api/v1/projects/" + e + "/artifacts", AuthHeaders(dana_),
                                      "payload", "application/octet-stream"));
    results.emplace_back("grant " + e,
                         client_->Post("/api/v1/users/" + e + "/roles", AuthHeaders(admin_),
                                       R"({"role":"viewer"})", "application/json"));
    results.emplace_back("revoke " + e,
                         client_->Delete("/api/v1/tokens/" + e, AuthHeaders(admin_)));
  }
  for (const std::string& name :
       std::vector<std::string>{"..", "../evil", "../../outside/x", "/etc/passwd", "a/../b",
                                std::string("a\0b", 3), "..\\evil", "%2e%2e", ".hidden", "-rf"}) {
    const std::string quoted = RawJsonString(name);
    results.emplace_back("project " + name,
                         PostJson("/api/v1/projects", "{\"name\":" + quoted + "}", admin_));
    results.emplace_back(
        "user " + name,
        PostJson("/api/v1/users", "{\"name\":" + quoted + ",\"role\":\"viewer\"}", admin_));
    results.emplace_back("token " + name,
                         PostJson("/api/v1/tokens", "{\"user\":" + quoted + "}", admin_));
  }
  for (const auto& [what, res] : results) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_GE(res->status, 400) << res->body;
    EXPECT_LT(res->status, 500) << res->body;
    EXPECT_FALSE(res->get_header_value("X-Request-Id").empty());
    EXPECT_TRUE(BodyJson(res)["error"]["code"].is_string()) << res->body;
    EXPECT_EQ(res->body.find("root:"), std::string::npos);
  }
  EXPECT_EQ(SnapshotTree(home_.root().path(), {"home"}), outside_before);
  EXPECT_EQ(SnapshotTree(home_.dir() + "/artifacts/objects"), objects_before);
  EXPECT_EQ(ProjectNames(), (std::set<std::string>{"credit-risk", "fraud"}));
  EXPECT_EQ(UserNames(), (std::set<std::string>{"admin", "dana", "frank"}));

  // Through the CLI too, in both modes: usage errors, nothing written.
  for (Mode mode : {Mode::kInProcess, Mode::kRemote}) {
    SCOPED_TRACE(ModeName(mode));
    Cli cli(mode, home_.dir(), server_.url());
    const std::string out = home_.root() / "out.bin";
    EXPECT_EQ(cli.Run(dana_, {"artifacts", "get", "../../etc/passwd", "--out", out}).exit_code, 2);
    EXPECT_EQ(cli.Run(dana_, {"artifacts", "get", "/etc/passwd", "--out", out}).exit_code, 2);
    EXPECT_EQ(cli.Run(admin_, {"project", "create", "../outside"}).exit_code, 2);
    EXPECT_EQ(cli.Run(admin_, {"user", "create", "../../x", "--role", "viewer"}).exit_code, 2);
    EXPECT_FALSE(FileExists(out));
  }
  EXPECT_EQ(SnapshotTree(home_.root().path(), {"home"}), outside_before);
}

TEST_F(HttpE2eTest, BytesThatAreNotUtf8AreClientErrors) {
  const std::string id = "utf8-check";
  std::vector<std::pair<std::string, httplib::Result>> results;
  results.emplace_back("body value",
                       PostJson("/api/v1/projects", "{\"name\":\"\xff\"}", admin_, id));
  results.emplace_back("body key",
                       PostJson("/api/v1/projects", "{\"name\":\"ok\",\"x\xff\":1}", admin_, id));
  results.emplace_back("overlong dots",
                       PostJson("/api/v1/projects", "{\"name\":\"\xc0\xae\xc0\xae\"}", admin_, id));
  results.emplace_back("query name",
                       client_->Get("/api/v1/audit/tail?n%ff=1", AuthHeaders(admin_, id)));
  for (const std::string e : {"%ff", "%c0%ae%c0%ae%c0%afetc%c0%afpasswd", "sha256:%ff"}) {
    results.emplace_back("digest " + e,
                         client_->Get("/api/v1/artifacts/" + e, AuthHeaders(dana_, id)));
    results.emplace_back("project " + e, client_->Get("/api/v1/projects/" + e + "/artifacts",
                                                      AuthHeaders(dana_, id)));
    results.emplace_back("token " + e,
                         client_->Delete("/api/v1/tokens/" + e, AuthHeaders(admin_, id)));
  }
  for (const auto& [what, res] : results) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(res);
    EXPECT_GE(res->status, 400) << res->body;
    EXPECT_LT(res->status, 500) << res->body;
    EXPECT_EQ(res->get_header_value_count("X-Request-Id"), 1u);
    EXPECT_EQ(res->get_header_value("X-Request-Id"), id);
    EXPECT_EQ(BodyJson(res)["error"]["request_id"], id) << res->body;
  }
  EXPECT_EQ(ProjectNames(), (std::set<std::string>{"credit-risk", "fraud"}));
}

TEST_F(HttpE2eTest, RequestIdOnEveryResponse) {
  const std::string id = "e2e.Req-42_x";
  std::vector<std::pair<std::string, httplib::Result>> results;
  results.emplace_back("401", client_->Get("/api/v1/projects", AuthHeaders("", id)));
  results.emplace_back("401 bad", client_->Get("/api/v1/projects", AuthHeaders("plt_nope", id)));
  results.emplace_back("403", client_->Post("/api/v1/projects", AuthHeaders(dana_, id),
                                            R"({"name":"q"})", "application/json"));
  results.emplace_back("404 artifact",
                       client_->Get("/api/v1/artifacts/" + digest_, AuthHeaders(frank_, id)));
  results.emplace_back("404 endpoint", client_->Get("/api/v1/nothing", AuthHeaders(admin_, id)));
  results.emplace_back("400 json", client_->Post("/api/v1/projects", AuthHeaders(admin_, id),
                                                 "{oops", "application/json"));
  results.emplace_back("400 digest",
                       client_->Get("/api/v1/artifacts/sha256:zz", AuthHeaders(dana_, id)));
  results.emplace_back("409", client_->Post("/api/v1/projects", AuthHeaders(admin_, id),
                                            R"({"name":"fraud"})", "application/json"));
  results.emplace_back("200", client_->Get("/api/v1/whoami", AuthHeaders(dana_, id)));
  results.emplace_back("201", client_->Post("/api/v1/projects", AuthHeaders(admin_, id),
                                            R"({"name":"traced"})", "application/json"));
  results.emplace_back("health", client_->Get("/api/v1/health", AuthHeaders("", id)));
  results.emplace_back("artifact bytes",
                       client_->Get("/api/v1/artifacts/" + digest_, AuthHeaders(dana_, id)));
  for (const auto& [what, res] : results) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("X-Request-Id"), id);
    if (res->status >= 400) {
      EXPECT_EQ(BodyJson(res)["error"]["request_id"], id) << res->body;
    }
  }

  // Ill-formed client ids are replaced by well-formed generated ones.
  for (const std::string& bad :
       std::vector<std::string>{"has space", std::string(65, 'a'), "<script>alert(1)</script>",
                                "../../etc", "a;b=c", "\xc3\xa9t\xc3\xa9"}) {
    SCOPED_TRACE(bad);
    auto res = client_->Get("/api/v1/projects", AuthHeaders("", bad));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    const std::string got = res->get_header_value("X-Request-Id");
    EXPECT_NE(got, bad);
    EXPECT_TRUE(IsWellFormedRequestId(got)) << got;
    EXPECT_EQ(BodyJson(res)["error"]["request_id"], got);
  }

  // Without one, each response gets its own.
  auto a = client_->Get("/api/v1/projects");
  auto b = client_->Get("/api/v1/projects");
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(IsWellFormedRequestId(a->get_header_value("X-Request-Id")));
  EXPECT_NE(a->get_header_value("X-Request-Id"), b->get_header_value("X-Request-Id"));

  // The request id reaches the audit record of the change.
  auto tail = client_->Get("/api/v1/audit/tail?n=50", AuthHeaders(admin_));
  bool found = false;
  const Json records = BodyJson(tail)["records"];
  for (const auto& r : records) {
    if (r["resource"] == "project/traced") {
      found = true;
      EXPECT_EQ(r["request_id"], id);
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(HttpE2eTest, SuccessStatusesAndShapes) {
  auto created = PostJson("/api/v1/projects", R"({"name":"shapes"})", admin_);
  EXPECT_EQ(created->status, 201);
  Json p = BodyJson(created);
  EXPECT_EQ(p["name"], "shapes");
  EXPECT_TRUE(p["id"].is_string());
  auto token = PostJson("/api/v1/tokens", R"({"user":"dana","ttl":"15m"})", admin_);
  ASSERT_EQ(token->status, 201);
  Json t = BodyJson(token);
  EXPECT_TRUE(t["id"].is_string() && t["token"].is_string() && t["expires"].is_string()) << t;
  ExpectError(PostJson("/api/v1/tokens", R"({"user":"dana","ttl":"soon"})", admin_), 400,
              "invalid_argument");
  auto list = client_->Get("/api/v1/tokens", AuthHeaders(admin_));
  ASSERT_EQ(list->status, 200);
  EXPECT_EQ(list->body.find("plt_"), std::string::npos);
  auto revoke =
      client_->Delete("/api/v1/tokens/" + t["id"].get<std::string>(), AuthHeaders(admin_));
  EXPECT_EQ(revoke->status, 200) << revoke->body;
  auto export_res = client_->Get("/api/v1/audit/export", AuthHeaders(admin_));
  ASSERT_EQ(export_res->status, 200);
  EXPECT_FALSE(export_res->get_header_value("X-Request-Id").empty());
  EXPECT_EQ(export_res->body.back(), '\n');
  std::string public_key = ReadFileOrDie(home_.dir() + "/keys/platform.pub");
  while (!public_key.empty() && public_key.back() == '\n') public_key.pop_back();
  auto key = client_->Get("/api/v1/audit/public-key", AuthHeaders(dana_));
  ASSERT_EQ(key->status, 200);
  EXPECT_EQ(BodyJson(key)["public_key"], public_key);
}

}  // namespace
}  // namespace plinth::e2e
