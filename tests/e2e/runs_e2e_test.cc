// End-to-end tests of experiment tracking in both modes, as a script and a user would use it:
// runs created and logged to from the CLI (and, against a server, over raw REST the way a script
// in another language would), finished, shown, searched with an expression and an order,
// compared in a table and an HTML page with SVG curves; params are immutable and ended runs
// refuse new evidence; another project's runs do not exist for outsiders.
#include "absl/strings/str_split.h"
#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

class RunsE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("credit");
    CreateProject("other");
    dana_ = CreateUserWithToken("dana", "data-scientist", "credit");
    vic_ = CreateUserWithToken("vic", "viewer", "credit");
    olga_ = CreateUserWithToken("olga", "data-scientist", "other");
    ASSERT_FALSE(dana_.empty());
  }

  // Creates a finished run with max_depth `depth` and test_auc `auc` (and a 3-step loss curve).
  std::string MakeRun(const std::string& depth, const std::string& auc) {
    CommandResult created =
        cli_->RunJson(dana_, {"runs", "create", "--project", "credit", "--experiment", "xgb",
                              "--name", "depth-" + depth});
    EXPECT_EQ(created.exit_code, 0) << created.Describe();
    std::string id = created.OutJson()["id"];
    CommandResult logged = cli_->Run(dana_, {"runs", "log", id, "--param", "max_depth=" + depth,
                                             "--metric", "test_auc=" + auc, "--tag", "team=risk"});
    EXPECT_EQ(logged.exit_code, 0) << logged.Describe();
    CommandResult finished = cli_->Run(dana_, {"runs", "finish", id});
    EXPECT_EQ(finished.exit_code, 0) << finished.Describe();
    return id;
  }

  std::string dana_, vic_, olga_;
};

TEST_P(RunsE2eTest, LogSearchShowAndCompare) {
  std::string a = MakeRun("3", "0.71");
  std::string b = MakeRun("4", "0.74");
  std::string c = MakeRun("6", "0.69");

  CommandResult search =
      cli_->RunJson(vic_, {"runs", "search", "metrics.test_auc > 0.7", "--project", "credit",
                           "--order", "metrics.test_auc desc"});
  ASSERT_EQ(search.exit_code, 0) << search.Describe();
  Json s = search.OutJson();
  ASSERT_EQ(s["runs"].size(), 2u);
  EXPECT_EQ(s["runs"][0]["id"], b);
  EXPECT_EQ(s["runs"][1]["id"], a);
  EXPECT_EQ(s["total_matches"], 2);

  CommandResult by_param =
      cli_->RunJson(vic_, {"runs", "search", "params.max_depth == \"6\" && status == \"FINISHED\"",
                           "--project", "credit"});
  ASSERT_EQ(by_param.exit_code, 0) << by_param.Describe();
  ASSERT_EQ(by_param.OutJson()["runs"].size(), 1u);
  EXPECT_EQ(by_param.OutJson()["runs"][0]["id"], c);

  CommandResult bad =
      cli_->Run(vic_, {"runs", "search", "metrics.test_auc >", "--project", "credit"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();

  CommandResult list = cli_->Run(vic_, {"runs", "list", "--project", "credit"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  EXPECT_THAT(list.out, HasSubstr("depth-4"));
  EXPECT_THAT(list.out, HasSubstr("test_auc"));

  CommandResult show = cli_->RunJson(vic_, {"runs", "show", b});
  ASSERT_EQ(show.exit_code, 0) << show.Describe();
  EXPECT_EQ(show.OutJson()["params"]["max_depth"], "4");
  EXPECT_EQ(show.OutJson()["status"], "FINISHED");
  EXPECT_EQ(show.OutJson()["tags"]["team"], "risk");

  std::string html = home_.root() / "compare.html";
  CommandResult compare = cli_->Run(vic_, {"runs", "compare", a, b, c, "--html", html});
  ASSERT_EQ(compare.exit_code, 0) << compare.Describe();
  EXPECT_THAT(compare.out, HasSubstr("max_depth"));
  std::string page = ReadFileOrDie(html);
  EXPECT_THAT(page, HasSubstr("<svg"));
  EXPECT_THAT(page, HasSubstr("test_auc"));

  CommandResult experiments = cli_->RunJson(vic_, {"experiments", "list", "--project", "credit"});
  ASSERT_EQ(experiments.exit_code, 0) << experiments.Describe();
  EXPECT_EQ(experiments.OutJson()["experiments"][0]["runs"], 3);
}

TEST_P(RunsE2eTest, EvidenceIsImmutableAndRunsArePrivate) {
  CommandResult created =
      cli_->RunJson(dana_, {"runs", "create", "--project", "credit", "--experiment", "xgb"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  std::string id = created.OutJson()["id"];
  ASSERT_EQ(cli_->Run(dana_, {"runs", "log", id, "--param", "lr=0.1"}).exit_code, 0);
  CommandResult changed = cli_->Run(dana_, {"runs", "log", id, "--param", "lr=0.2"});
  EXPECT_EQ(changed.exit_code, 6) << changed.Describe();
  CommandResult viewer = cli_->Run(vic_, {"runs", "log", id, "--metric", "auc=0.5"});
  EXPECT_EQ(viewer.exit_code, 4) << viewer.Describe();
  CommandResult outsider = cli_->Run(olga_, {"runs", "show", id});
  EXPECT_EQ(outsider.exit_code, 3) << outsider.Describe();
  ASSERT_EQ(cli_->Run(dana_, {"runs", "finish", id, "--status", "FAILED"}).exit_code, 0);
  CommandResult late = cli_->Run(dana_, {"runs", "log", id, "--metric", "auc=0.9"});
  EXPECT_EQ(late.exit_code, 5) << late.Describe();

  if (mode() == Mode::kRemote) {
    // A script in any language: create a run, log a batch with steps, read the history.
    auto client = server_.Client();
    auto res =
        client->Post("/api/v1/projects/credit/runs", AuthHeaders(dana_),
                     R"({"experiment": "from-python", "name": "script"})", "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 201) << res->body;
    std::string run = BodyJson(res)["id"];
    Json batch = {{"params", {{"optimizer", "adam"}}},
                  {"metrics", Json::array({{{"key", "loss"}, {"value", 0.9}, {"step", 0}},
                                           {{"key", "loss"}, {"value", 0.5}, {"step", 1}},
                                           {{"key", "loss"}, {"value", 0.3}, {"step", 2}}})}};
    res = client->Post("/api/v1/runs/" + run + "/log", AuthHeaders(dana_), batch.dump(),
                       "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 201) << res->body;
    // Searching is a POST that changes nothing: 200.
    res = client->Post("/api/v1/projects/credit/runs/search", AuthHeaders(vic_),
                       R"({"filter": "params.optimizer == \"adam\""})", "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(BodyJson(res)["runs"][0]["id"], run);
    res = client->Get("/api/v1/runs/" + run + "/metrics/loss", AuthHeaders(vic_));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(BodyJson(res)["points"].size(), 3u);
    EXPECT_EQ(BodyJson(res)["points"][2]["value"], 0.3);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, RunsE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
