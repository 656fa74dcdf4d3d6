// Data sets on the platform, in process: registering the same bytes twice gives one version, tags
// naming missing columns and malformed CSV register nothing, PII columns are masked by role,
// reading a confidential data set is audited (and refused if that record cannot be written), and
// another project's data sets do not exist for outsiders. Built twice: on SQLite, and with
// PLINTH_TEST_POSTGRES on a live PostgreSQL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "core/files.h"
#include "core/random.h"
#include "platform/platform.h"
#include "platform/testing_platform.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

constexpr char kCsv[] =
    "id,name,income,age,Class\n"
    "1,ann,100,30,good\n"
    "2,bob,,41,bad\n"
    "3,cy,300,52,good\n"
    "4,di,400,,good\n";

class DataPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tp_ = std::make_unique<TestPlatform>("data_platform", &clock_);
    if (HasFailure()) return;
    platform_ = &tp_->platform();
    admin_ = tp_->admin();
    MustCall(admin_, "project.create", {{"name", "credit"}});
    MustCall(admin_, "project.create", {{"name", "fraud"}});
    dana_ = MakeUser("dana", "data-scientist", "credit");
    vic_ = MakeUser("vic", "viewer", "credit");
    frank_ = MakeUser("frank", "data-scientist", "fraud");
  }

  StatusOr<Json> Call(const std::string& token, const std::string& op, const Json& req) {
    return tp_->Call(token, op, req);
  }
  Json MustCall(const std::string& token, const std::string& op, const Json& req) {
    return tp_->MustCall(token, op, req);
  }
  std::string MakeUser(const std::string& name, const std::string& role,
                       const std::string& project) {
    return tp_->MakeUser(name, role, project);
  }
  StatusOr<Json> Register(const std::string& token, const std::string& name,
                          const std::string& bytes, const Json& tags) {
    return platform_->RegisterDataset(token, "credit", name, tags, StringSource(&bytes), "test");
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

  FakeClock clock_{1'790'000'000'000'000};
  std::string admin_, dana_, vic_, frank_;
  std::unique_ptr<TestPlatform> tp_;
  Platform* platform_ = nullptr;
};

TEST_F(DataPlatformTest, SameBytesTwiceIsOneVersion) {
  Json tags = {{"target", "Class"}, {"pii", "name"}};
  auto first = Register(dana_, "applicants", kCsv, tags);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE((*first)["new_version"].get<bool>());
  EXPECT_EQ((*first)["num_rows"], 4);
  EXPECT_EQ((*first)["file_digest"], "sha256:" + (*first)["version"].get<std::string>());
  clock_.Advance(1'000'000);
  auto second = Register(dana_, "applicants", kCsv, tags);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)["new_version"].get<bool>());
  EXPECT_EQ((*second)["version"], (*first)["version"]);
  Json show = MustCall(vic_, "data.show", {{"project", "credit"}, {"name", "applicants"}});
  EXPECT_EQ(show["versions"].size(), 1u);
  EXPECT_EQ(show["schema"][2]["name"], "income");
  EXPECT_EQ(show["schema"][2]["nulls"], 1);
  EXPECT_EQ(show["tags"]["target"], "Class");
  // Same bytes with other tags is a conflict, not a silent overwrite.
  EXPECT_EQ(Register(dana_, "applicants", kCsv, {{"target", "age"}}).status().code(),
            absl::StatusCode::kAlreadyExists);
  // A second file is a second version; the latest is the default, a 12-hex prefix selects.
  std::string more = std::string(kCsv) + "5,ed,500,60,bad\n";
  auto v2 = Register(dana_, "applicants", more, tags);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ((*v2)["seq"], 2);
  Json list = MustCall(vic_, "data.list", {{"project", "credit"}});
  ASSERT_EQ(list["datasets"].size(), 1u);
  EXPECT_EQ(list["datasets"][0]["version"], (*v2)["version"]);
  EXPECT_EQ(list["datasets"][0]["versions"], 2);
  std::string prefix = (*first)["version"].get<std::string>().substr(0, 12);
  Json old = MustCall(vic_, "data.show",
                      {{"project", "credit"}, {"name", "applicants"}, {"version", prefix}});
  EXPECT_EQ(old["version"], (*first)["version"]);
  EXPECT_EQ(old["versions"].size(), 2u);
  EXPECT_EQ(Call(vic_, "data.show",
                 {{"project", "credit"}, {"name", "applicants"}, {"version", "0123456789ab"}})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      Call(vic_, "data.show", {{"project", "credit"}, {"name", "applicants"}, {"version", "0123"}})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(DataPlatformTest, MissingColumnOrBadCsvRegistersNothing) {
  auto missing = Register(dana_, "applicants", kCsv, {{"protected", "age,gender"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'gender'"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("id, name, income, age, Class"));
  auto bad = Register(dana_, "applicants", "a,b\n1,2\n3\n", Json::object());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("line 3"));
  EXPECT_TRUE(MustCall(dana_, "data.list", Json::object())["datasets"].empty());
  EXPECT_EQ(Register(vic_, "applicants", kCsv, Json::object()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Register(dana_, "applicants", kCsv, {{"classification", "secret"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Register(dana_, "applicants", kCsv, {{"colour", "x"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  int failed = 0;
  for (const auto& r : AuditRecords())
    failed += r["action"] == "data.register" && r["outcome"] != "ok";
  EXPECT_EQ(failed, 5);
}

TEST_F(DataPlatformTest, PiiIsMaskedForRolesWithoutPiiAccess) {
  ASSERT_TRUE(Register(dana_, "applicants", kCsv, {{"pii", "name,income"}}).ok());
  std::string val = MakeUser("val", "validator", "credit");
  std::string adam = MakeUser("adam", "admin", "credit");
  Json req = {{"project", "credit"}, {"name", "applicants"}};
  for (const auto& [who, token, masked] :
       std::vector<std::tuple<std::string, std::string, bool>>{{"data-scientist", dana_, false},
                                                               {"validator", val, false},
                                                               {"viewer", vic_, true},
                                                               {"admin", adam, true}}) {
    SCOPED_TRACE(who);
    Json p = MustCall(token, "data.profile", req);
    EXPECT_EQ(p["pii_masked"], masked);
    const Json& income = p["columns"][2];
    EXPECT_EQ(income["name"], "income");
    EXPECT_EQ(income["nulls"], 1);
    EXPECT_EQ(income.contains("masked"), masked);
    EXPECT_EQ(income.contains("histogram"), !masked);
    EXPECT_EQ(p["columns"][1].contains("top"), !masked);  // name
    EXPECT_TRUE(p["columns"][3].contains("histogram"));   // age is not PII
  }
}

TEST_F(DataPlatformTest, ConfidentialReadsAreAudited) {
  ASSERT_TRUE(Register(dana_, "secret", kCsv, {{"classification", "confidential"}}).ok());
  ASSERT_TRUE(Register(dana_, "open", kCsv, {{"classification", "public"}}).ok());
  size_t before = AuditRecords().size();
  MustCall(vic_, "data.show", {{"project", "credit"}, {"name", "open"}});
  MustCall(vic_, "data.profile", {{"project", "credit"}, {"name", "open"}});
  EXPECT_EQ(AuditRecords().size(), before);
  MustCall(vic_, "data.show", {{"project", "credit"}, {"name", "secret"}});
  MustCall(vic_, "data.profile", {{"project", "credit"}, {"name", "secret"}});
  auto records = AuditRecords();
  ASSERT_EQ(records.size(), before + 2);
  EXPECT_EQ(records[before]["action"], "data.show");
  EXPECT_EQ(records[before]["actor"], "vic");
  EXPECT_THAT(records[before]["resource"].get<std::string>(), HasSubstr("dataset/secret@"));
  EXPECT_EQ(records[before + 1]["action"], "data.profile");
  // Fail closed: if the read cannot be recorded, the data is not returned.
#ifdef PLINTH_TEST_POSTGRES
  const char* install[] = {
      "CREATE FUNCTION plinth_no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
      "'audit refused'; END; $$ LANGUAGE plpgsql",
      "CREATE TRIGGER no_audit BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION "
      "plinth_no_audit()"};
#else
  const char* install[] = {
      "CREATE TRIGGER no_audit BEFORE INSERT ON audit_records "
      "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"};
#endif
  ASSERT_TRUE(platform_->store()
                  .RunInTransaction([&](Transaction& tx) -> Status {
                    for (const char* sql : install) RETURN_IF_ERROR(tx.Execute(sql));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(Call(vic_, "data.show", {{"project", "credit"}, {"name", "secret"}}).ok());
  EXPECT_TRUE(Call(vic_, "data.show", {{"project", "credit"}, {"name", "open"}}).ok());
}

TEST_F(DataPlatformTest, OtherProjectsDataSetsAreNotFound) {
  ASSERT_TRUE(Register(dana_, "applicants", kCsv, Json::object()).ok());
  EXPECT_EQ(
      Call(frank_, "data.show", {{"project", "credit"}, {"name", "applicants"}}).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(
      Call(frank_, "data.profile", {{"project", "credit"}, {"name", "applicants"}}).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_TRUE(MustCall(frank_, "data.list", Json::object())["datasets"].empty());
  EXPECT_EQ(Call(frank_, "data.list", {{"project", "credit"}}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      Call(dana_, "data.show", {{"project", "fraud"}, {"name", "applicants"}}).status().code(),
      absl::StatusCode::kNotFound);
  std::string bytes = kCsv;
  EXPECT_EQ(
      platform_->RegisterDataset(frank_, "credit", "x", Json::object(), StringSource(&bytes), "t")
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace plinth
