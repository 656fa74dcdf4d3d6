// End-to-end tests of data sets in both modes: registering the example files (one with missing
// values), the same file twice giving one version, list/show/profile as JSON and tables, the HTML
// report (self-contained, histograms as inline SVG), PII masked for a viewer, a tag naming a
// missing column and a malformed CSV refused with nothing registered.
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Example(const std::string& name) {
  return std::string(PLINTH_EXAMPLES_DATA) + "/" + name;
}

class DataE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("credit-risk");
    dana_ = CreateUserWithToken("dana", "data-scientist", "credit-risk");
    vic_ = CreateUserWithToken("vic", "viewer", "credit-risk");
    ASSERT_FALSE(dana_.empty());
    ASSERT_FALSE(vic_.empty());
  }

  std::string dana_, vic_;
};

TEST_P(DataE2eTest, RegisterListShowProfile) {
  CommandResult credit =
      cli_->RunJson(dana_, {"data", "register", "credit", Example("credit_data.csv"), "--project",
                            "credit-risk", "--target", "Status", "--pii", "Income,Assets",
                            "--protected", "Age,Marital", "--classification", "confidential"});
  ASSERT_EQ(credit.exit_code, 0) << credit.Describe();
  Json c = credit.OutJson();
  EXPECT_EQ(c["num_rows"], 4454);
  EXPECT_EQ(c["file_digest"], Sha256Digest(ReadFileOrDie(Example("credit_data.csv"))));
  EXPECT_TRUE(c["new_version"].get<bool>());

  CommandResult again =
      cli_->RunJson(dana_, {"data", "register", "credit", Example("credit_data.csv"), "--project",
                            "credit-risk", "--target", "Status", "--pii", "Income,Assets",
                            "--protected", "Age,Marital", "--classification", "confidential"});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_EQ(again.OutJson()["version"], c["version"]);
  EXPECT_FALSE(again.OutJson()["new_version"].get<bool>());

  CommandResult lending =
      cli_->Run(dana_, {"data", "register", "lending", Example("lending_club.csv"), "--project",
                        "credit-risk", "--target", "Class"});
  ASSERT_EQ(lending.exit_code, 0) << lending.Describe();
  EXPECT_THAT(lending.out, HasSubstr("Registered lending@"));

  CommandResult list = cli_->RunJson(vic_, {"data", "list", "--project", "credit-risk"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  ASSERT_EQ(list.OutJson()["datasets"].size(), 2u);
  EXPECT_EQ(list.OutJson()["datasets"][0]["name"], "credit");
  EXPECT_EQ(list.OutJson()["datasets"][0]["versions"], 1);
  CommandResult table = cli_->Run(vic_, {"data", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_THAT(table.out, HasSubstr("lending"));
  EXPECT_THAT(table.out, HasSubstr("confidential"));

  std::string ref = "credit@" + c["version"].get<std::string>().substr(0, 12);
  CommandResult show = cli_->RunJson(vic_, {"data", "show", ref, "--project", "credit-risk"});
  ASSERT_EQ(show.exit_code, 0) << show.Describe();
  Json s = show.OutJson();
  EXPECT_EQ(s["version"], c["version"]);
  EXPECT_EQ(s["tags"]["target"], "Status");
  EXPECT_EQ(s["tags"]["protected"], Json::array({"Age", "Marital"}));
  int64_t nulls = 0;
  for (const auto& col : s["schema"]) nulls += col["nulls"].get<int64_t>();
  EXPECT_GT(nulls, 0);  // credit_data.csv has missing values
  CommandResult show_table =
      cli_->Run(vic_, {"data", "show", "credit", "--project", "credit-risk"});
  ASSERT_EQ(show_table.exit_code, 0) << show_table.Describe();
  EXPECT_THAT(show_table.out, HasSubstr("COLUMN"));
  EXPECT_THAT(show_table.out, HasSubstr("target"));

  // The viewer has no PII access: Income is masked, and in the HTML report too.
  const std::string html = home_.root() / "credit.html";
  CommandResult profile = cli_->RunJson(
      vic_, {"data", "profile", "credit", "--project", "credit-risk", "--html", html});
  ASSERT_EQ(profile.exit_code, 0) << profile.Describe();
  Json p = profile.OutJson();
  EXPECT_TRUE(p["pii_masked"].get<bool>());
  for (const auto& col : p["columns"]) {
    if (col["name"] == "Income") {
      EXPECT_EQ(col["masked"], "PII");
      EXPECT_FALSE(col.contains("histogram"));
    }
    if (col["name"] == "Seniority") {
      EXPECT_EQ(col["histogram"]["counts"].size(), 20u);
      EXPECT_TRUE(col["quantiles"].contains("p95"));
    }
  }
  ASSERT_TRUE(FileExists(html));
  std::string page = ReadFileOrDie(html);
  EXPECT_THAT(page, HasSubstr("<svg"));
  EXPECT_THAT(page, HasSubstr("masked (PII)"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));

  // The data scientist sees everything; the table form prints a row per column.
  CommandResult full =
      cli_->RunJson(dana_, {"data", "profile", "credit", "--project", "credit-risk"});
  ASSERT_EQ(full.exit_code, 0) << full.Describe();
  EXPECT_FALSE(full.OutJson()["pii_masked"].get<bool>());
  CommandResult lending_profile =
      cli_->Run(vic_, {"data", "profile", "lending", "--project", "credit-risk"});
  ASSERT_EQ(lending_profile.exit_code, 0) << lending_profile.Describe();
  EXPECT_THAT(lending_profile.out, HasSubstr("int_rate"));

  // Confidential reads are on the record.
  CommandResult tail = cli_->RunJson(admin(), {"audit", "tail", "-n", "50"});
  ASSERT_EQ(tail.exit_code, 0) << tail.Describe();
  int reads = 0;
  Json records = tail.OutJson()["records"];
  for (const auto& r : records) {
    reads += r["action"] == "data.profile" || r["action"] == "data.show";
  }
  EXPECT_GE(reads, 3);
}

TEST_P(DataE2eTest, BadInputRegistersNothing) {
  const std::string bad = home_.root() / "bad.csv";
  WriteFileOrDie(bad, "a,b\n1,2\n3,4\n5\n");
  CommandResult r = cli_->Run(dana_, {"data", "register", "bad", bad, "--project", "credit-risk"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("line 4"));
  CommandResult missing =
      cli_->Run(dana_, {"data", "register", "credit", Example("credit_data.csv"), "--project",
                        "credit-risk", "--target", "Defaulted"});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_THAT(missing.err, HasSubstr("'Defaulted'"));
  EXPECT_THAT(missing.err, HasSubstr("Status, Seniority"));
  CommandResult viewer = cli_->Run(
      vic_, {"data", "register", "credit", Example("credit_data.csv"), "--project", "credit-risk"});
  EXPECT_EQ(viewer.exit_code, 4) << viewer.Describe();
  CommandResult list = cli_->RunJson(dana_, {"data", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_TRUE(list.OutJson()["datasets"].empty());
  CommandResult show = cli_->Run(dana_, {"data", "show", "bad", "--project", "credit-risk"});
  EXPECT_EQ(show.exit_code, 3) << show.Describe();
}

// A suite run on a data set version: passes on the data itself; a copy with one numeric column
// tripled fails the blocking drift check (exit 5), and both results are audited.
TEST_P(DataE2eTest, ValidationSuitesGateOnBlockingFailures) {
  std::string suite = std::string(PLINTH_EXAMPLES_DATA) + "/../suites/lending_club.yaml";
  ASSERT_EQ(cli_->Run(dana_, {"data", "register", "lending", Example("lending_club.csv"),
                              "--project", "credit-risk", "--target", "Class"})
                .exit_code,
            0);
  TempDir tmp;
  std::string html = tmp.path() + "/validation.html";
  CommandResult ok =
      cli_->RunJson(dana_, {"data", "validate", "lending", "--project", "credit-risk", "--suite",
                            suite, "--reference", "lending", "--html", html});
  ASSERT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_TRUE(ok.OutJson()["result"]["passed"].get<bool>());
  EXPECT_THAT(ReadFileOrDie(html), HasSubstr("<svg"));

  // Triple annual_inc in a copy of the file.
  std::string text = ReadFileOrDie(Example("lending_club.csv"));
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  size_t col = 0;
  while (col < header.size() && header[col] != "annual_inc" && header[col] != "\"annual_inc\"")
    ++col;
  ASSERT_LT(col, header.size());
  std::string shifted = lines[0] + "\n";
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    cells[col] = std::to_string(std::stod(cells[col]) * 3);
    shifted += absl::StrJoin(cells, ",") + "\n";
  }
  std::string shifted_path = tmp.path() + "/shifted.csv";
  WriteFileOrDie(shifted_path, shifted);
  ASSERT_EQ(
      cli_->Run(dana_, {"data", "register", "shifted", shifted_path, "--project", "credit-risk"})
          .exit_code,
      0);
  CommandResult bad = cli_->Run(dana_, {"data", "validate", "shifted", "--project", "credit-risk",
                                        "--suite", suite, "--reference", "lending"});
  EXPECT_EQ(bad.exit_code, 5) << bad.Describe();
  EXPECT_THAT(bad.out, HasSubstr("income_drift"));
  EXPECT_THAT(bad.out, HasSubstr("FAIL"));
  // A viewer may not record validations.
  CommandResult viewer = cli_->Run(
      vic_, {"data", "validate", "lending", "--project", "credit-risk", "--suite", suite});
  EXPECT_EQ(viewer.exit_code, 4) << viewer.Describe();
}

TEST_P(DataE2eTest, SynthesisedTransactionsAreDeterministicBySeed) {
  TempDir tmp;
  std::string a = tmp.path() + "/a.csv", b = tmp.path() + "/b.csv";
  for (const std::string& out : {a, b}) {
    CommandResult r = cli_->Run(dana_, {"data", "synth", "transactions", "--customers", "50",
                                        "--days", "5", "--seed", "7", "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  EXPECT_EQ(ReadFileOrDie(a), ReadFileOrDie(b));
  EXPECT_THAT(ReadFileOrDie(a), HasSubstr("customer_id,timestamp,amount"));
  CommandResult bad =
      cli_->Run(dana_, {"data", "synth", "transactions", "--customers", "0", "--out", a});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
}

INSTANTIATE_TEST_SUITE_P(Modes, DataE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
