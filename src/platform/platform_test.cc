// The platform's operations end to end in process, on SQLite or on a live PostgreSQL (the same
// tests, built twice: PLINTH_TEST_POSTGRES selects the backend). Covers the authorisation matrix
// (every operation x every role), audit atomicity (an audit write that fails refuses the change),
// request validation, token lifecycle and artifact integrity.
#include "platform/platform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "auth/roles.h"
#include "core/random.h"
#include "core/sha256.h"
#include "store/testing/postgres_test_util.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kStart = 1'790'000'000'000'000;

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("platform_" + RandomHex(6));
    std::string store_url;
#ifdef PLINTH_TEST_POSTGRES
    auto url = CreateTestPostgresDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    store_url = *url;
#endif
    PlatformOptions options;
    options.clock = &clock_;
    auto init = Platform::Init(dir_.string(), store_url, options);
    ASSERT_TRUE(init.ok()) << init.status();
    admin_ = init->token;
    auto home = LoadHome(init->home);
    ASSERT_TRUE(home.ok()) << home.status();
    auto platform = Platform::Open(*home, options);
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = std::move(*platform);
  }

  void TearDown() override {
    platform_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  StatusOr<Json> Call(const std::string& token, const std::string& op, const Json& req) {
    return platform_->Call(op, token, req, "test-" + RandomHex(4));
  }

  Json MustCall(const std::string& token, const std::string& op, const Json& req) {
    auto r = Call(token, op, req);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status();
    return r.ok() ? *r : Json();
  }

  // Creates `name` with `role` on `project` ("" = platform-wide) and returns a token.
  std::string MakeUser(const std::string& name, const std::string& role,
                       const std::string& project) {
    Json req = {{"name", name}, {"role", role}};
    if (!project.empty()) req["project"] = project;
    MustCall(admin_, "user.create", req);
    return MustCall(admin_, "token.create", {{"user", name}})["token"];
  }

  StatusOr<Json> Put(const std::string& token, const std::string& project,
                     const std::string& bytes) {
    return platform_->PutArtifact(token, project, StringSource(&bytes), "test");
  }

  Status Get(const std::string& token, const std::string& digest, std::string* out) {
    return platform_->GetArtifact(
        token, digest, [](int64_t) { return absl::OkStatus(); }, StringSink(out), "test");
  }

  std::vector<Json> AuditRecords() {
    std::ostringstream out;
    EXPECT_TRUE(platform_->audit().Export(platform_->store(), out).ok());
    std::vector<Json> records;
    std::istringstream in(out.str());
    std::string line;
    while (std::getline(in, line)) {
      Json j = Json::parse(line);
      if (!j.contains("checkpoint")) records.push_back(j);
    }
    return records;
  }

  std::string ExportText() {
    std::ostringstream out;
    EXPECT_TRUE(platform_->audit().Export(platform_->store(), out).ok());
    return out.str();
  }

  FakeClock clock_{kStart};
  std::filesystem::path dir_;
  std::string admin_;
  std::unique_ptr<Platform> platform_;
};

TEST_F(PlatformTest, InitCreatesAdminKeysAndCredentialsPrivately) {
  Json me = MustCall(admin_, "whoami", Json::object());
  EXPECT_EQ(me["user"], "admin");
  EXPECT_EQ(me["roles"][0]["role"], "admin");
  EXPECT_EQ(me["roles"][0]["project"], "*");
  for (const char* f : {"keys/platform.key", "keys/audit-hmac.key", "credentials"}) {
    struct stat st;
    ASSERT_EQ(::stat((dir_ / f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  auto again = Platform::Init(dir_.string(), "");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(PlatformTest, InitRefusesANonEmptyFolderAndLeavesNothingBehind) {
  auto other = std::filesystem::path(::testing::TempDir()) / ("occupied_" + RandomHex(4));
  std::filesystem::create_directories(other);
  std::ofstream(other / "notes.txt") << "mine";
  auto r = Platform::Init(other.string(), "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(other)) {
    names.push_back(e.path().filename());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("notes.txt"));
  // A store URL that cannot work: init fails and no half-made home or staging folder remains.
  auto bad = std::filesystem::path(::testing::TempDir()) / ("bad_" + RandomHex(4));
  auto failed = Platform::Init(bad.string(), "mysql://nowhere");
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(std::filesystem::exists(bad));
  for (const auto& e : std::filesystem::directory_iterator(bad.parent_path())) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(bad.filename().string())));
  }
  std::filesystem::remove_all(other);
}

// Every operation x every role: allowed, or refused the way the design says.
TEST_F(PlatformTest, AuthorizationMatrix) {
  MustCall(admin_, "project.create", {{"name", "p1"}});
  MustCall(admin_, "project.create", {{"name", "p2"}});
  std::string owner = MakeUser("owner", "data-scientist", "p1");
  std::string digest = MustCall(owner, "whoami", Json::object()).is_object()
                           ? (*Put(owner, "p1", "matrix bytes"))["digest"].get<std::string>()
                           : "";
  ASSERT_FALSE(digest.empty());

  enum Expect { kAllowed, kDenied, kHidden };
  struct Case {
    std::string role;    // role bound on p1
    bool platform_wide;  // bound on "*" instead
  };
  std::vector<Case> cases;
  for (Role r : AllRoles()) {
    cases.push_back({RoleName(r), false});
    cases.push_back({RoleName(r), true});
  }
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.role + (c.platform_wide ? " platform-wide" : " on p1"));
    std::string name = "u" + std::to_string(n++);
    std::string token = MakeUser(name, c.role, c.platform_wide ? "" : "p1");
    Role role = *ParseRole(c.role);
    bool admin = role == Role::kAdmin && c.platform_wide;
    bool audit_reader = c.platform_wide && (role == Role::kAuditor || role == Role::kAdmin);
    bool writer = role == Role::kDataScientist;

    auto expect = [&](const std::string& what, const Status& s, Expect e) {
      SCOPED_TRACE(what);
      switch (e) {
        case kAllowed:
          EXPECT_TRUE(s.ok()) << s;
          break;
        case kDenied:
          EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
          break;
        case kHidden:
          EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
          break;
      }
    };
    auto status = [&](const std::string& op, const Json& req) {
      return Call(token, op, req).status();
    };

    expect("whoami", status("whoami", Json::object()), kAllowed);
    expect("project.list", status("project.list", Json::object()), kAllowed);
    expect("project.create", status("project.create", {{"name", "np-" + name}}),
           admin ? kAllowed : kDenied);
    expect("user.create",
           status("user.create", {{"name", "x-" + name}, {"role", "viewer"}, {"project", "p1"}}),
           admin ? kAllowed : kDenied);
    expect("user.grant",
           status("user.grant", {{"name", "owner"}, {"role", "viewer"}, {"project", "p2"}}),
           admin ? kAllowed : kDenied);
    if (admin) MustCall(admin_, "user.create", {{"name", "y-" + name}, {"role", "viewer"}});
    expect("user.list", status("user.list", Json::object()), admin ? kAllowed : kDenied);
    expect("token.create self", status("token.create", {{"user", name}}), kAllowed);
    expect("token.create other", status("token.create", {{"user", "owner"}}),
           admin ? kAllowed : kDenied);
    expect("token.list", status("token.list", Json::object()), kAllowed);
    std::string own_id = MustCall(token, "token.create", {{"user", name}})["id"];
    expect("token.revoke own", status("token.revoke", {{"id", own_id}}), kAllowed);
    expect("artifact.put p1", Put(token, "p1", "from " + name).status(),
           writer ? kAllowed : kDenied);
    std::string got;
    expect("artifact.get", Get(token, digest, &got), kAllowed);
    expect("artifact.list p1", status("artifact.list", {{"project", "p1"}}), kAllowed);
    // p2 is invisible unless the role is platform-wide.
    Expect p2 = c.platform_wide ? (writer ? kAllowed : kDenied) : kHidden;
    expect("artifact.put p2", Put(token, "p2", "p2 " + name).status(), p2);
    expect("artifact.list p2", status("artifact.list", {{"project", "p2"}}),
           c.platform_wide ? kAllowed : kHidden);
    expect("audit.tail", status("audit.tail", {{"n", 5}}), audit_reader ? kAllowed : kDenied);
    expect("audit.verify", status("audit.verify", Json::object()),
           audit_reader ? kAllowed : kDenied);
    std::ostringstream sink;
    expect("audit.export", platform_->ExportAudit(token, sink, "t"),
           audit_reader ? kAllowed : kDenied);
    expect("audit.key", status("audit.key", Json::object()), kAllowed);
  }
  // A user with a role only on p2 cannot see p1's artifact at all.
  std::string outsider = MakeUser("outsider", "viewer", "p2");
  std::string got;
  EXPECT_EQ(Get(outsider, digest, &got).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(Call(outsider, "artifact.list", {{"project", "p1"}}).status().code(),
            absl::StatusCode::kNotFound);
  // Another user's token is not found for a non-admin.
  std::string owner_token_id = MustCall(admin_, "token.create", {{"user", "owner"}})["id"];
  EXPECT_EQ(Call(outsider, "token.revoke", {{"id", owner_token_id}}).status().code(),
            absl::StatusCode::kNotFound);
  // Every refusal of a state change is in the audit chain.
  int denied = 0;
  for (const auto& r : AuditRecords()) denied += r["outcome"] == "denied";
  EXPECT_GT(denied, 20);
  EXPECT_TRUE(MustCall(admin_, "audit.verify", Json::object())["ok"].get<bool>());
}

TEST_F(PlatformTest, AFailedAuditWriteRefusesTheChange) {
#ifdef PLINTH_TEST_POSTGRES
  const char* install[] = {
      "CREATE FUNCTION plinth_audit_fail() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
      "'audit disk full'; END; $$ LANGUAGE plpgsql",
      "CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION "
      "plinth_audit_fail()"};
  const char* remove[] = {"DROP TRIGGER audit_fail ON audit_records",
                          "DROP FUNCTION plinth_audit_fail()"};
#else
  const char* install[] = {
      "CREATE TRIGGER audit_fail BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, "
      "'audit disk full'); END"};
  const char* remove[] = {"DROP TRIGGER audit_fail"};
#endif
  ASSERT_TRUE(platform_->store()
                  .RunInTransaction([&](Transaction& tx) -> Status {
                    for (const char* sql : install) RETURN_IF_ERROR(tx.Execute(sql));
                    return absl::OkStatus();
                  })
                  .ok());
  auto created = Call(admin_, "project.create", {{"name", "ghost"}});
  EXPECT_FALSE(created.ok());
  auto user = Call(admin_, "user.create", {{"name", "ghost"}, {"role", "viewer"}});
  EXPECT_FALSE(user.ok());
  ASSERT_TRUE(platform_->store()
                  .RunInTransaction([&](Transaction& tx) -> Status {
                    for (const char* sql : remove) RETURN_IF_ERROR(tx.Execute(sql));
                    return absl::OkStatus();
                  })
                  .ok());
  Json projects = MustCall(admin_, "project.list", Json::object());
  EXPECT_TRUE(projects["projects"].empty()) << projects;
  Json users = MustCall(admin_, "user.list", Json::object());
  EXPECT_EQ(users["users"].size(), 1u) << users;  // only admin
  EXPECT_TRUE(MustCall(admin_, "audit.verify", Json::object())["ok"].get<bool>());
}

TEST_F(PlatformTest, RequestsAreValidatedAndFieldsCannotBeMassAssigned) {
  auto extra =
      Call(admin_, "user.create", {{"name", "mallory"}, {"role", "viewer"}, {"admin", true}});
  EXPECT_EQ(extra.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(extra.status().message()), HasSubstr("unknown field 'admin'"));
  auto owner = Call(admin_, "project.create", {{"name", "p"}, {"owner", "mallory"}});
  EXPECT_EQ(owner.status().code(), absl::StatusCode::kInvalidArgument);
  auto type = Call(admin_, "project.create", {{"name", 7}});
  EXPECT_THAT(std::string(type.status().message()), HasSubstr("must be a string"));
  auto missing = Call(admin_, "user.create", {{"name", "x"}});
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing required field 'role'"));
  auto role = Call(admin_, "user.create", {{"name", "x"}, {"role", "superuser"}});
  EXPECT_THAT(std::string(role.status().message()), HasSubstr("unknown role"));
  for (const char* bad : {"../etc", "a/b", "", "..", "%2e%2e", "/abs", "x\ny"}) {
    auto r = Call(admin_, "project.create", {{"name", bad}});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto ttl = Call(admin_, "token.create", {{"user", "admin"}, {"ttl", "forever"}});
  EXPECT_EQ(ttl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MustCall(admin_, "user.list", Json::object())["users"].size() == 1);
  EXPECT_TRUE(MustCall(admin_, "project.list", Json::object())["projects"].empty());
  EXPECT_EQ(Call(admin_, "no.such.op", Json::object()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PlatformTest, TokensExpireAndRevocationTakesEffectAtOnce) {
  Json t = MustCall(admin_, "token.create", {{"user", "admin"}, {"ttl", "1h"}});
  std::string token = t["token"];
  EXPECT_TRUE(Call(token, "whoami", Json::object()).ok());
  clock_.Advance(int64_t{3601} * 1000000);
  auto expired = Call(token, "whoami", Json::object());
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(expired.status().message()), HasSubstr("expired"));

  Json u = MustCall(admin_, "token.create", {{"user", "admin"}});
  EXPECT_TRUE(Call(u["token"], "whoami", Json::object()).ok());
  MustCall(admin_, "token.revoke", {{"id", u["id"]}});
  auto revoked = Call(u["token"], "whoami", Json::object());
  EXPECT_EQ(revoked.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(revoked.status().message()), HasSubstr("revoked"));
  EXPECT_EQ(Call(admin_, "token.revoke", {{"id", u["id"]}}).status().code(),
            absl::StatusCode::kAlreadyExists);

  for (std::string bad : {std::string(""), std::string("plt_xyz"), "plt_" + std::string(64, 'g'),
                          "plt_" + RandomHex(32)}) {
    auto r = Call(bad, "whoami", Json::object());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
  // Refused state changes by unknown callers are recorded too, with no actor.
  EXPECT_FALSE(Call("plt_" + RandomHex(32), "project.create", {{"name", "x"}}).ok());
  auto records = AuditRecords();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["outcome"], "denied");
  EXPECT_EQ(records.back()["actor"], "-");
}

TEST_F(PlatformTest, SecretsNeverReachTheAuditChain) {
  std::vector<std::string> tokens = {admin_};
  MustCall(admin_, "project.create", {{"name", "p"}});
  tokens.push_back(MakeUser("alice", "data-scientist", "p"));
  tokens.push_back(MustCall(admin_, "token.create", {{"user", "alice"}, {"ttl", "2h"}})["token"]);
  std::string text = ExportText();
  for (const auto& t : tokens) {
    EXPECT_EQ(text.find(t), std::string::npos);
    EXPECT_EQ(text.find(t.substr(4)), std::string::npos);
  }
  EXPECT_THAT(text, HasSubstr("token.create"));
}

TEST_F(PlatformTest, ArtifactsAreDedupedListedAndNeverServedCorrupt) {
  MustCall(admin_, "project.create", {{"name", "p"}});
  std::string ds = MakeUser("dana", "data-scientist", "p");
  std::string bytes(100000, 'x');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 % 251);
  auto a = Put(ds, "p", bytes);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Put(ds, "p", bytes);
  ASSERT_TRUE(b.ok());
  std::string digest = (*a)["digest"];
  EXPECT_EQ(digest, Sha256Digest(bytes));
  EXPECT_EQ((*b)["digest"], digest);
  Json list = MustCall(ds, "artifact.list", {{"project", "p"}});
  ASSERT_EQ(list["artifacts"].size(), 1u);
  EXPECT_EQ(list["artifacts"][0]["size"], 100000);
  std::string out;
  ASSERT_TRUE(Get(ds, digest, &out).ok());
  EXPECT_EQ(out, bytes);

  EXPECT_EQ(Get(ds, "sha256:../../etc/passwd", &out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Get(ds, Sha256Digest("absent"), &out).code(), absl::StatusCode::kNotFound);

  // Flip one byte of the stored object.
  std::filesystem::path object;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_ / "artifacts")) {
    if (e.is_regular_file() && e.path().filename().string() == digest.substr(7 + 2)) {
      object = e.path();
    }
  }
  ASSERT_FALSE(object.empty());
  std::filesystem::permissions(object, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::fstream f(object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x7f');
  }
  std::string served;
  bool sized = false;
  Status s = platform_->GetArtifact(
      ds, digest,
      [&](int64_t) {
        sized = true;
        return absl::OkStatus();
      },
      StringSink(&served), "test");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_FALSE(sized);
  EXPECT_TRUE(served.empty());
}

}  // namespace
}  // namespace plinth
