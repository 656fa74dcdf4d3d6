// End-to-end tests of the feature store in both modes, as a user would run it: synthetic
// transactions registered, the example definition applied (and a broken one refused with its
// position), a training set built from a spine file and written out, the view materialized and
// one customer's online values read through the CLI and, against a server, over REST; lineage
// from the source data to the training set.
#include "absl/strings/str_split.h"
#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

class FeaturesE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("cards");
    dana_ = CreateUserWithToken("dana", "data-scientist", "cards");
    vic_ = CreateUserWithToken("vic", "viewer", "cards");
    ASSERT_FALSE(dana_.empty());
    transactions_ = home_.root() / "transactions.csv";
    CommandResult synth = cli_->Run("", {"data", "synth", "transactions", "--customers", "40",
                                         "--days", "20", "--seed", "3", "--out", transactions_});
    ASSERT_EQ(synth.exit_code, 0) << synth.Describe();
    CommandResult reg = cli_->Run(
        dana_, {"data", "register", "transactions", transactions_, "--project", "cards",
                "--timestamp", "timestamp", "--entity", "customer_id", "--target", "is_fraud"});
    ASSERT_EQ(reg.exit_code, 0) << reg.Describe();
  }

  // A spine of every 7th transaction: (customer_id, timestamp, is_fraud).
  std::string WriteSpine(size_t* rows) {
    std::string csv = ReadFileOrDie(transactions_);
    std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
    std::string spine = "customer_id,timestamp,is_fraud\n";
    *rows = 0;
    for (size_t i = 1; i < lines.size(); i += 7) {
      std::vector<std::string> f = absl::StrSplit(lines[i], ',');
      spine += f[1] + "," + f[2] + "," + f.back() + "\n";
      ++*rows;
    }
    std::string path = home_.root() / "spine.csv";
    WriteFileOrDie(path, spine);
    return path;
  }

  std::string dana_, vic_, transactions_;
};

TEST_P(FeaturesE2eTest, ApplyBuildTrainingSetMaterializeAndGet) {
  CommandResult apply = cli_->Run(
      dana_,
      {"features", "apply", PLINTH_EXAMPLES_FEATURES "/transactions.yaml", "--project", "cards"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  EXPECT_THAT(apply.out, HasSubstr("Applied definition #1"));
  CommandResult again = cli_->RunJson(
      dana_,
      {"features", "apply", PLINTH_EXAMPLES_FEATURES "/transactions.yaml", "--project", "cards"});
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_TRUE(again.OutJson()["unchanged"].get<bool>());

  CommandResult list = cli_->RunJson(vic_, {"features", "list", "--project", "cards"});
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  ASSERT_EQ(list.OutJson()["services"].size(), 1u);
  const std::string service = list.OutJson()["services"][0]["name"];
  const std::string view = list.OutJson()["views"][0]["name"];
  const int64_t features = list.OutJson()["services"][0]["features"];
  EXPECT_GE(features, 5);
  CommandResult table = cli_->Run(vic_, {"features", "list", "--project", "cards"});
  EXPECT_THAT(table.out, HasSubstr("not materialized"));

  size_t spine_rows = 0;
  std::string spine = WriteSpine(&spine_rows);
  std::string out = home_.root() / "training.csv";
  CommandResult built =
      cli_->RunJson(dana_, {"features", "training-set", "--service", service, "--spine", spine,
                            "--project", "cards", "--out", out});
  ASSERT_EQ(built.exit_code, 0) << built.Describe();
  Json b = built.OutJson();
  EXPECT_EQ(b["num_rows"], static_cast<int64_t>(spine_rows));
  EXPECT_EQ(b["num_columns"], 3 + features);
  std::string written = ReadFileOrDie(out);
  EXPECT_EQ(Sha256Digest(written), b["file_digest"]);
  std::vector<std::string> lines = absl::StrSplit(written, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), spine_rows + 1);
  EXPECT_EQ(lines[0].rfind("customer_id,timestamp,is_fraud,", 0), 0u) << lines[0];

  // The spine was registered as a data set; the training set is one too, with lineage.
  CommandResult lineage =
      cli_->Run(vic_, {"lineage", "dataset/transactions", "--project", "cards"});
  ASSERT_EQ(lineage.exit_code, 0) << lineage.Describe();
  EXPECT_THAT(lineage.out, HasSubstr("feature_view/" + view + "@"));
  EXPECT_THAT(lineage.out, HasSubstr("training_set/" + b["id"].get<std::string>()));
  EXPECT_THAT(lineage.out, HasSubstr("dataset/" + service + "_training@"));

  CommandResult mat = cli_->RunJson(dana_, {"features", "materialize", view, "--project", "cards",
                                            "--until", "2026-01-21T00:00:00Z"});
  ASSERT_EQ(mat.exit_code, 0) << mat.Describe();
  EXPECT_GT(mat.OutJson()["entities"].get<int64_t>(), 30);
  CommandResult get = cli_->RunJson(
      vic_, {"features", "get", service, "--entity", "C00000001", "--project", "cards"});
  ASSERT_EQ(get.exit_code, 0) << get.Describe();
  EXPECT_EQ(get.OutJson()["features"].size(), static_cast<size_t>(features));
  CommandResult get_table =
      cli_->Run(vic_, {"features", "get", service, "--entity", "C00000001", "--project", "cards"});
  ASSERT_EQ(get_table.exit_code, 0) << get_table.Describe();
  EXPECT_THAT(get_table.out, HasSubstr("FEATURE"));

  if (mode() == Mode::kRemote) {
    auto client = server_.Client();
    auto res = client->Get("/api/v1/projects/cards/online/" + service + "?entity=C00000001",
                           AuthHeaders(vic_));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(BodyJson(res)["features"], get.OutJson()["features"]);
    auto denied = client->Get("/api/v1/projects/cards/online/" + service + "?entity=C00000001",
                              AuthHeaders("plt_" + std::string(64, '0')));
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 401);
  }
}

TEST_P(FeaturesE2eTest, BadDefinitionsAndRolesGetClearErrors) {
  std::string bad = home_.root() / "bad.yaml";
  WriteFileOrDie(bad,
                 "entities:\n  - name: customer\n    join_key: customer_id\n"
                 "sources:\n  - name: tx\n    dataset: transactions\n    timestamp: timestamp\n"
                 "feature_views:\n  - name: v\n    entity: customer\n    source: tx\n"
                 "    features:\n      - name: f\n        expr: amount * nope\n");
  CommandResult r = cli_->Run(dana_, {"features", "apply", bad, "--project", "cards"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:"));
  EXPECT_THAT(r.err, HasSubstr("nope"));

  CommandResult viewer = cli_->Run(
      vic_,
      {"features", "apply", PLINTH_EXAMPLES_FEATURES "/transactions.yaml", "--project", "cards"});
  EXPECT_EQ(viewer.exit_code, 4) << viewer.Describe();

  CommandResult none = cli_->Run(
      vic_, {"features", "get", "fraud_detection", "--entity", "C1", "--project", "cards"});
  EXPECT_EQ(none.exit_code, 3) << none.Describe();
  EXPECT_THAT(none.err, HasSubstr("plinth features apply"));
}

INSTANTIATE_TEST_SUITE_P(Modes, FeaturesE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
