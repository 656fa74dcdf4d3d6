// Identity on a real SQLite store: names, tokens (format, hashing, expiry, revocation) and the
// role/permission table.
#include "auth/identity.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/random.h"
#include "core/sha256.h"

namespace plinth {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/identity_" + RandomHex(4) + ".db";
    auto store = OpenMetadataStore("sqlite:" + path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  Status Tx(const TransactionFn& fn) { return store_->RunInTransaction(fn); }

  FakeClock clock_{1'800'000'000'000'000};
  IdentityStore identity_{&clock_};
  std::string path_;
  std::unique_ptr<MetadataStore> store_;
};

TEST(Names, OnlySafeNamesPass) {
  for (const char* ok : {"a", "credit-risk", "Team_2.v1", "x9"}) {
    EXPECT_TRUE(ValidateName("project name", ok).ok()) << ok;
  }
  for (const char* bad : {"", "-x", ".x", "a/b", "a..b", "../x", "a b", "é", "%2e%2e"}) {
    EXPECT_EQ(ValidateName("project name", bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateName("user name", std::string(65, 'a')).ok());
  EXPECT_NE(std::string(ValidateName("user name", "a/b").message()).find("user name"),
            std::string::npos);
}

TEST(Roles, PermissionTable) {
  EXPECT_TRUE(RoleGrants(Role::kDataScientist, Permission::kArtifactWrite));
  EXPECT_FALSE(RoleGrants(Role::kAdmin, Permission::kArtifactWrite));
  EXPECT_FALSE(RoleGrants(Role::kValidator, Permission::kArtifactWrite));
  EXPECT_TRUE(RoleGrants(Role::kAuditor, Permission::kAuditRead));
  EXPECT_FALSE(RoleGrants(Role::kDataScientist, Permission::kAuditRead));
  EXPECT_TRUE(RoleGrants(Role::kViewer, Permission::kArtifactRead));
  for (Role r : AllRoles()) EXPECT_EQ(ParseRole(RoleName(r)), r);
  EXPECT_FALSE(ParseRole("root").has_value());

  Principal p;
  p.bindings = {{"P1", "p1", Role::kDataScientist}, {"*", "*", Role::kViewer}};
  EXPECT_TRUE(p.Can(Permission::kArtifactWrite, "P1"));
  EXPECT_FALSE(p.Can(Permission::kArtifactWrite, "P2"));
  EXPECT_TRUE(p.Can(Permission::kArtifactRead, "P2"));
  EXPECT_TRUE(p.HasAnyRoleOn("P3"));
  EXPECT_FALSE(p.CanPlatformWide(Permission::kAuditRead));
}

TEST_F(IdentityTest, TokensAreStoredHashedAndExpireAndRevoke) {
  IssuedToken token;
  ASSERT_TRUE(Tx([&](Transaction& tx) -> Status {
                ASSIGN_OR_RETURN(User u, identity_.CreateUser(tx, "alice", "test"));
                RETURN_IF_ERROR(identity_.Bind(tx, u.id, kAllProjects, Role::kAuditor));
                ASSIGN_OR_RETURN(token, identity_.CreateToken(tx, u, 60'000'000, "test"));
                return absl::OkStatus();
              }).ok());
  EXPECT_TRUE(IdentityStore::IsWellFormedToken(token.token));
  EXPECT_EQ(token.token.size(), 68u);
  // Only the hash is in the store.
  ASSERT_TRUE(store_
                  ->RunReadOnly([&](Transaction& tx) -> Status {
                    ASSIGN_OR_RETURN(QueryResult r, tx.Query("SELECT token_hash FROM tokens"));
                    EXPECT_EQ(r.TextOrEmpty(0, 0), Sha256Digest(token.token));
                    return absl::OkStatus();
                  })
                  .ok());
  auto auth = [&]() {
    StatusOr<Principal> p = absl::UnknownError("not run");
    store_
        ->RunReadOnly([&](Transaction& tx) -> Status {
          p = identity_.Authenticate(tx, token.token);
          return absl::OkStatus();
        })
        .IgnoreError();
    return p;
  };
  auto ok = auth();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->user.name, "alice");
  ASSERT_EQ(ok->bindings.size(), 1u);
  EXPECT_EQ(ok->bindings[0].role, Role::kAuditor);
  clock_.Advance(61'000'000);
  EXPECT_EQ(auth().status().code(), absl::StatusCode::kUnauthenticated);
  clock_.Advance(-61'000'000);
  ASSERT_TRUE(Tx([&](Transaction& tx) { return identity_.RevokeToken(tx, token.info.id); }).ok());
  EXPECT_EQ(auth().status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Tx([&](Transaction& tx) { return identity_.RevokeToken(tx, token.info.id); }).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(IdentityTest, DuplicatesConflict) {
  EXPECT_TRUE(
      Tx([&](Transaction& tx) { return identity_.CreateProject(tx, "p", "t").status(); }).ok());
  EXPECT_EQ(
      Tx([&](Transaction& tx) { return identity_.CreateProject(tx, "p", "t").status(); }).code(),
      absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace plinth
