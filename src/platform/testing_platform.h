// A platform in a temporary home for tests of modules built on it: SQLite, or a fresh PostgreSQL
// database when the test is compiled with PLINTH_TEST_POSTGRES (store/testing). Header-only so
// each test binary gets it with the right store.
#ifndef PLINTH_PLATFORM_TESTING_PLATFORM_H_
#define PLINTH_PLATFORM_TESTING_PLATFORM_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "platform/client.h"
#include "platform/home.h"
#include "platform/platform.h"
#include "store/testing/postgres_test_util.h"

namespace plinth {

class TestPlatform {
 public:
  // Creates the home (the test fails if it cannot); `prefix` names its folder. `clock` (not
  // owned; null for the system clock) is the platform's.
  explicit TestPlatform(const std::string& prefix, Clock* clock = nullptr) {
    options_.clock = clock;
    dir_ = std::filesystem::path(::testing::TempDir()) / (prefix + "_" + RandomHex(6));
    std::string store_url;
#ifdef PLINTH_TEST_POSTGRES
    auto url = CreateTestPostgresDatabase();
    EXPECT_TRUE(url.ok()) << url.status();
    if (url.ok()) store_url = *url;
#endif
    auto init = Platform::Init(dir_.string(), store_url, options_);
    EXPECT_TRUE(init.ok()) << init.status();
    if (!init.ok()) return;
    admin_ = init->token;
    home_ = init->home;
    Reopen();
  }
  ~TestPlatform() {
    platform_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Reopen() {
    platform_.reset();
    auto home = LoadHome(home_);
    ASSERT_TRUE(home.ok()) << home.status();
    auto platform = Platform::Open(*home, options_);
    ASSERT_TRUE(platform.ok()) << platform.status();
    platform_ = std::move(*platform);
  }

  StatusOr<Json> Call(const std::string& token, const std::string& op, const Json& req) {
    return platform_->Call(op, token, req, "test-" + RandomHex(4));
  }
  Json MustCall(const std::string& token, const std::string& op, const Json& req) {
    auto r = Call(token, op, req);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status();
    return r.ok() ? *r : Json();
  }
  // Creates the user with `role` on `project` and returns a token of theirs.
  std::string MakeUser(const std::string& name, const std::string& role,
                       const std::string& project) {
    MustCall(admin_, "user.create", {{"name", name}, {"role", role}, {"project", project}});
    return MustCall(admin_, "token.create", {{"user", name}})["token"];
  }
  void MakeProject(const std::string& name) {
    MustCall(admin_, "project.create", {{"name", name}});
  }
  // An in-process client acting as the holder of `token`.
  std::unique_ptr<PlatformClient> Client(const std::string& token) {
    return std::make_unique<LocalPlatformClient>(
        std::shared_ptr<Platform>(platform_.get(), [](Platform*) {}), token);
  }

  Platform& platform() { return *platform_; }
  const std::string& admin() const { return admin_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  PlatformOptions options_;
  std::filesystem::path dir_;
  std::string home_;
  std::string admin_;
  std::unique_ptr<Platform> platform_;
};

}  // namespace plinth

#endif  // PLINTH_PLATFORM_TESTING_PLATFORM_H_
