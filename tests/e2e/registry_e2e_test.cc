// End-to-end tests of the model registry and its governance in both modes, as a bank's people
// would go: a data scientist runs the credit-risk template, which registers credit-risk@1 with a
// provenance attestation and its documents (model card, validation report, lineage) and asks for
// staging; the documents are fetched as files; the admin applies the built-in credit policy pack;
// a validator, an approver and a deployer take the version to production under four eyes (the
// refusals exit 4 and 5); the stage history answers "what was in production then"; the inventory
// lists it; a changed byte in the artifact store is caught by `models verify` (exit 7); a
// malicious pickle is refused at import (exit 5) while a clean package imports once; and the audit
// chain holds every decision, the denied ones included.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kProvenance[] = "https://slsa.dev/provenance/v1";
// A pickle (protocol 2) that calls os.system("ls") when loaded.
constexpr char kEvilPickle[] =
    "\x80\x02"
    "cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.";

class RegistryE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("risk");
    ana_ = CreateUserWithToken("ana", "data-scientist", "risk");
    val_ = CreateUserWithToken("val", "validator", "risk");
    app_ = CreateUserWithToken("app", "approver", "risk");
    dep_ = CreateUserWithToken("dep", "deployer", "risk");
    ASSERT_FALSE(ana_.empty() || val_.empty() || app_.empty() || dep_.empty());
  }

  // `plinth ARGS... --project risk` as `token`.
  CommandResult InRisk(const std::string& token, std::vector<std::string> args,
                       bool json = false) const {
    args.push_back("--project");
    args.push_back("risk");
    if (json) args.insert(args.begin(), "--json");
    return cli_->Run(token, args);
  }

  // Stops the server (remote mode) so the home can be changed underneath it.
  void StopServer() {
    if (mode() != Mode::kRemote) return;
    if (restarted_) {
      restarted_->Stop();
    } else {
      server_.Stop();
    }
  }

  // Starts a server on the home again (remote mode) and points the CLI at it.
  void StartServer() {
    if (mode() != Mode::kRemote) return;
    restarted_ = std::make_unique<ServerProcess>();
    ASSERT_TRUE(restarted_->Start(home_.dir()));
    cli_ = std::make_unique<Cli>(mode(), home_.dir(), restarted_->url());
  }

  // Where the artifact store keeps the object `digest` (sha256:<hex>).
  std::string ObjectPath(const std::string& digest) const {
    const std::string hex = digest.substr(std::string("sha256:").size());
    return home_.dir() + "/artifacts/objects/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2);
  }

  TempDir work_;
  std::string ana_, val_, app_, dep_;
  std::unique_ptr<ServerProcess> restarted_;
};

TEST_P(RegistryE2eTest, CreditRiskFromRunToProductionUnderGovernance) {
  // --- A run of the template registers credit-risk@1 and asks for staging. ---
  const std::string dir = work_ / "credit-risk";
  CommandResult created = cli_->Run("", {"new", "credit-risk", dir, "--project", "risk"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  RunOptions train;
  train.timeout = std::chrono::seconds(300);
  train.env = {{"OMP_WAIT_POLICY", "passive"}};
  CommandResult run = cli_->Run(
      ana_,
      {"--json", "run", dir + "/pipeline.yaml", "--param", "trees=60", "--param", "tune_trials=3"},
      train);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_EQ(run.OutJson()["state"], "succeeded") << run.Describe();

  CommandResult list = InRisk(ana_, {"models", "list"}, /*json=*/true);
  ASSERT_EQ(list.exit_code, 0) << list.Describe();
  Json models = list.OutJson()["models"];
  ASSERT_EQ(models.size(), 1u) << list.Describe();
  EXPECT_EQ(models[0]["name"], "credit-risk");
  EXPECT_EQ(models[0]["versions"], 1);
  CommandResult list_text = InRisk(ana_, {"models", "list"});
  EXPECT_THAT(list_text.out, HasSubstr("credit-risk")) << list_text.Describe();

  CommandResult show = InRisk(ana_, {"models", "show", "credit-risk@1"}, /*json=*/true);
  ASSERT_EQ(show.exit_code, 0) << show.Describe();
  const Json v = show.OutJson();
  EXPECT_EQ(v["stage"], "none") << show.out;
  bool provenance = false;
  for (const Json& a : v["attestations"]) provenance |= a["predicate_type"] == kProvenance;
  EXPECT_TRUE(provenance) << v["attestations"].dump();
  for (const char* doc : {"card.md", "report.html", "lineage.svg"}) {
    EXPECT_TRUE(v["documents"].contains(doc)) << doc << ": " << v["documents"].dump();
  }
  bool staging_request = false;
  for (const Json& r : v["approval_requests"]) {
    staging_request |= r["stage"] == "staging" && r["state"] == "open";
  }
  EXPECT_TRUE(staging_request) << v["approval_requests"].dump();
  ASSERT_TRUE(v["files"]["model.json"].is_string()) << v["files"].dump();
  ASSERT_TRUE(v["files"]["manifest.json"].is_string()) << v["files"].dump();
  const std::string model_digest = v["files"]["model.json"];
  const std::string manifest_digest = v["files"]["manifest.json"];

  CommandResult verified = InRisk(ana_, {"models", "verify", "credit-risk@1"});
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_THAT(verified.out, HasSubstr("verified"));

  // --- Documents, fetched as a user would. ---
  CommandResult card_md = InRisk(ana_, {"card", "credit-risk@1", "--format", "md"});
  ASSERT_EQ(card_md.exit_code, 0) << card_md.Describe();
  EXPECT_THAT(card_md.out, HasSubstr("# Model card: credit-risk"));
  for (const char* section : {"## Model details", "## Model parameters", "## Intended use",
                              "## Limitations", "## Performance", "## Fairness"}) {
    EXPECT_THAT(card_md.out, HasSubstr(section)) << section;
  }
  const std::string card_html = work_ / "card.html";
  CommandResult card_h =
      InRisk(ana_, {"card", "credit-risk@1", "--format", "html", "--out", card_html});
  ASSERT_EQ(card_h.exit_code, 0) << card_h.Describe();
  std::string html = ReadFileOrDie(card_html);
  EXPECT_THAT(html, HasSubstr("<html"));
  EXPECT_THAT(html, HasSubstr("id=\"intended-use\""));

  const std::string report_file = work_ / "report.html";
  CommandResult report = InRisk(val_, {"report", "credit-risk@1", "--out", report_file});
  ASSERT_EQ(report.exit_code, 0) << report.Describe();
  html = ReadFileOrDie(report_file);
  for (const char* id : {"id=\"fairness\"", "id=\"explanations\"", "id=\"policy\""}) {
    EXPECT_THAT(html, HasSubstr(id)) << id;
  }

  const std::string svg_file = work_ / "lineage.svg";
  CommandResult svg =
      InRisk(ana_, {"lineage", "credit-risk@1", "--format", "svg", "--out", svg_file});
  ASSERT_EQ(svg.exit_code, 0) << svg.Describe();
  std::string svg_text = ReadFileOrDie(svg_file);
  EXPECT_THAT(svg_text, HasSubstr("<svg"));
  EXPECT_THAT(svg_text, HasSubstr("lending_club"));
  CommandResult dot = InRisk(ana_, {"lineage", "credit-risk@1", "--format", "dot"});
  ASSERT_EQ(dot.exit_code, 0) << dot.Describe();
  EXPECT_THAT(dot.out, HasSubstr("digraph"));
  EXPECT_THAT(dot.out, HasSubstr("lending_club"));

  // --- The built-in credit policies pass at the staging gate. ---
  CommandResult applied = InRisk(admin(), {"policy", "apply", "--builtin", "credit"});
  ASSERT_EQ(applied.exit_code, 0) << applied.Describe();
  CommandResult check = InRisk(ana_, {"policy", "check", "credit-risk@1", "--gate", "staging"});
  EXPECT_EQ(check.exit_code, 0) << check.Describe();
  EXPECT_THAT(check.out, HasSubstr("PASS"));
  EXPECT_THAT(check.out, Not(HasSubstr("FAIL")));
  CommandResult check_json =
      InRisk(ana_, {"policy", "check", "credit-risk@1", "--gate", "staging"}, /*json=*/true);
  ASSERT_EQ(check_json.exit_code, 0) << check_json.Describe();
  Json gate = check_json.OutJson();
  EXPECT_EQ(gate["passed"], true) << check_json.out;
  EXPECT_EQ(gate["gate"], "staging");
  EXPECT_EQ(gate["ref"], "credit-risk@1");
  ASSERT_TRUE(gate["decisions"].is_array() && !gate["decisions"].empty()) << check_json.out;
  EXPECT_FALSE(gate["decisions"][0]["results"].empty()) << check_json.out;

  // --- Staging: the author may not approve; a validator does; the author promotes. ---
  CommandResult self = InRisk(ana_, {"models", "approve", "credit-risk@1", "--stage", "staging"});
  EXPECT_EQ(self.exit_code, 4) << self.Describe();
  EXPECT_THAT(self.err, HasSubstr("role"));
  CommandResult staged = InRisk(val_, {"models", "approve", "credit-risk@1", "--stage", "staging"});
  ASSERT_EQ(staged.exit_code, 0) << staged.Describe();
  CommandResult to_staging =
      InRisk(ana_, {"models", "promote", "credit-risk@1", "--stage", "staging"});
  ASSERT_EQ(to_staging.exit_code, 0) << to_staging.Describe();
  EXPECT_THAT(to_staging.out, HasSubstr("none -> staging"));

  // --- Production: a validator's sign-off and an approver's approval, then the deployer. ---
  CommandResult requested =
      InRisk(ana_, {"models", "request-approval", "credit-risk@1", "--stage", "production"});
  ASSERT_EQ(requested.exit_code, 0) << requested.Describe();
  CommandResult early =
      InRisk(app_, {"models", "promote", "credit-risk@1", "--stage", "production"});
  EXPECT_EQ(early.exit_code, 5) << early.Describe();
  EXPECT_THAT(early.err, HasSubstr("needs 1 validator sign-off"));
  CommandResult signed_off =
      InRisk(val_, {"models", "approve", "credit-risk@1", "--stage", "production"});
  ASSERT_EQ(signed_off.exit_code, 0) << signed_off.Describe();
  EXPECT_THAT(signed_off.out, HasSubstr("signed off"));
  CommandResult twice =
      InRisk(val_, {"models", "approve", "credit-risk@1", "--stage", "production"});
  EXPECT_EQ(twice.exit_code, 4) << twice.Describe();
  EXPECT_THAT(twice.err, HasSubstr("four eyes"));
  CommandResult approved =
      InRisk(app_, {"models", "approve", "credit-risk@1", "--stage", "production"});
  ASSERT_EQ(approved.exit_code, 0) << approved.Describe();
  EXPECT_THAT(approved.out, HasSubstr("enough to promote"));

  // The moment between the two promotions, as the history records it.
  CommandResult before = InRisk(ana_, {"models", "history", "credit-risk"}, /*json=*/true);
  ASSERT_EQ(before.exit_code, 0) << before.Describe();
  ASSERT_EQ(before.OutJson()["events"].size(), 1u) << before.out;
  const std::string staging_at = before.OutJson()["events"][0]["at"];

  CommandResult to_production =
      InRisk(dep_, {"models", "promote", "credit-risk@1", "--stage", "production"});
  ASSERT_EQ(to_production.exit_code, 0) << to_production.Describe();
  EXPECT_THAT(to_production.out, HasSubstr("staging -> production"));

  CommandResult history = InRisk(ana_, {"models", "history", "credit-risk"}, /*json=*/true);
  ASSERT_EQ(history.exit_code, 0) << history.Describe();
  Json events = history.OutJson()["events"];
  ASSERT_EQ(events.size(), 2u) << history.out;
  EXPECT_EQ(events[0]["from"], "none");
  EXPECT_EQ(events[0]["to"], "staging");
  EXPECT_EQ(events[0]["by"], "ana");
  EXPECT_EQ(events[1]["from"], "staging");
  EXPECT_EQ(events[1]["to"], "production");
  EXPECT_EQ(events[1]["by"], "dep");
  EXPECT_TRUE(events[1]["attestation"].is_string() && !events[1]["attestation"].empty());
  CommandResult history_text = InRisk(ana_, {"models", "history", "credit-risk"});
  ASSERT_EQ(history_text.exit_code, 0) << history_text.Describe();
  EXPECT_THAT(history_text.out, HasSubstr("none"));
  EXPECT_THAT(history_text.out, HasSubstr("staging"));
  EXPECT_THAT(history_text.out, HasSubstr("production"));

  CommandResult then =
      InRisk(ana_, {"models", "history", "credit-risk", "--at", staging_at}, /*json=*/true);
  ASSERT_EQ(then.exit_code, 0) << then.Describe();
  EXPECT_EQ(then.OutJson()["stages_at"]["production"], Json::array()) << then.out;
  EXPECT_EQ(then.OutJson()["stages_at"]["staging"], Json::array({1})) << then.out;
  CommandResult now = InRisk(ana_, {"models", "show", "credit-risk@production"}, /*json=*/true);
  ASSERT_EQ(now.exit_code, 0) << now.Describe();
  EXPECT_EQ(now.OutJson()["version"], 1);
  EXPECT_EQ(now.OutJson()["stage"], "production");

  // The bank's name for what serves: an alias, resolved like a version.
  CommandResult alias = InRisk(ana_, {"models", "alias", "credit-risk@1", "champion"});
  EXPECT_EQ(alias.exit_code, 0) << alias.Describe();
  CommandResult champion = InRisk(val_, {"models", "show", "credit-risk@champion"}, /*json=*/true);
  EXPECT_EQ(champion.exit_code, 0) << champion.Describe();
  EXPECT_EQ(champion.OutJson()["version"], 1) << champion.Describe();

  // --- The inventory. ---
  CommandResult csv = cli_->Run(val_, {"models", "inventory", "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.Describe();
  bool row = false;
  for (std::string line : SplitLines(csv.out)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    row |= line.rfind("risk,credit-risk,1,production,1,", 0) == 0;
  }
  EXPECT_TRUE(row) << csv.out;
  const std::string inventory_html = work_ / "inventory.html";
  CommandResult inv_html =
      cli_->Run(val_, {"models", "inventory", "--html", "--out", inventory_html});
  ASSERT_EQ(inv_html.exit_code, 0) << inv_html.Describe();
  html = ReadFileOrDie(inventory_html);
  EXPECT_THAT(html, HasSubstr("<html"));
  EXPECT_THAT(html, HasSubstr("credit-risk"));

  // --- One changed byte in the artifact store is caught; the original bytes verify again. ---
  {
    SCOPED_TRACE("tampering");
    StopServer();
    const std::string object = ObjectPath(model_digest);
    ASSERT_TRUE(FileExists(object)) << object;
    const int mode_before = FileMode(object);
    const std::string original = ReadFileOrDie(object);
    ASSERT_FALSE(original.empty());
    std::string tampered = original;
    tampered[tampered.size() / 2] ^= 0x01;
    ASSERT_EQ(::chmod(object.c_str(), 0644), 0);
    WriteFileOrDie(object, tampered);
    ASSERT_EQ(::chmod(object.c_str(), static_cast<mode_t>(mode_before)), 0);
    StartServer();
    if (HasFatalFailure()) return;
    CommandResult caught = InRisk(val_, {"models", "verify", "credit-risk@1"});
    EXPECT_EQ(caught.exit_code, 7) << caught.Describe();
    EXPECT_THAT(caught.err, HasSubstr("model.json"));

    ASSERT_EQ(::chmod(object.c_str(), 0644), 0);
    WriteFileOrDie(object, original);
    ASSERT_EQ(::chmod(object.c_str(), static_cast<mode_t>(mode_before)), 0);
    CommandResult restored = InRisk(val_, {"models", "verify", "credit-risk@1"});
    EXPECT_EQ(restored.exit_code, 0) << restored.Describe();
  }

  // --- Import: a malicious pickle is refused; a clean package imports, once. ---
  {
    SCOPED_TRACE("import");
    const std::string evil = work_ / "evil";
    std::filesystem::create_directories(evil);
    WriteFileOrDie(evil + "/model.pkl", std::string(kEvilPickle, sizeof(kEvilPickle) - 1));
    CommandResult refused = InRisk(ana_, {"models", "register", "imported", "--from-files", evil});
    EXPECT_EQ(refused.exit_code, 5) << refused.Describe();
    EXPECT_THAT(refused.err, HasSubstr("os.system"));
    CommandResult after = InRisk(ana_, {"models", "list"}, /*json=*/true);
    ASSERT_EQ(after.exit_code, 0) << after.Describe();
    const Json listed = after.OutJson();
    ASSERT_TRUE(listed["models"].is_array()) << after.Describe();
    for (const Json& m : listed["models"]) EXPECT_NE(m["name"], "imported");

    const std::string package = work_ / "package";
    std::filesystem::create_directories(package);
    for (const auto& [file, digest] :
         {std::pair<std::string, std::string>{"manifest.json", manifest_digest},
          {"model.json", model_digest}}) {
      CommandResult got =
          cli_->Run(ana_, {"artifacts", "get", digest, "--out", package + "/" + file});
      ASSERT_EQ(got.exit_code, 0) << got.Describe();
    }
    CommandResult imported =
        InRisk(ana_, {"models", "register", "imported", "--from-files", package}, /*json=*/true);
    ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
    Json first = imported.OutJson();
    EXPECT_EQ(first["ref"], "imported@1") << imported.out;
    EXPECT_EQ(first["created"], true);
    EXPECT_EQ(first["source"], "files");
    CommandResult again = InRisk(ana_, {"models", "register", "imported", "--from-files", package});
    ASSERT_EQ(again.exit_code, 0) << again.Describe();
    EXPECT_THAT(again.out, HasSubstr("already registered as imported@1"));
    CommandResult shown = InRisk(ana_, {"models", "show", "imported@1"}, /*json=*/true);
    ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
    EXPECT_EQ(shown.OutJson()["source"], "files");
    EXPECT_EQ(shown.OutJson()["digest"], v["digest"]);
    EXPECT_EQ(shown.OutJson()["versions"].size(), 1u);
    CommandResult imported_ok = InRisk(ana_, {"models", "verify", "imported@1"});
    EXPECT_EQ(imported_ok.exit_code, 0) << imported_ok.Describe();
  }

  // --- The audit chain is intact and holds every decision, the refused ones too. ---
  CommandResult audit = cli_->Run(admin(), {"audit", "verify"});
  EXPECT_EQ(audit.exit_code, 0) << audit.Describe();
  CommandResult tail = cli_->RunJson(admin(), {"audit", "tail", "-n", "10000"});
  ASSERT_EQ(tail.exit_code, 0) << tail.Describe();
  std::map<std::string, int> ok;
  bool denied_self_approval = false, denied_second_decision = false, refused_promotion = false;
  bool refused_import = false;
  const Json records = tail.OutJson()["records"];
  ASSERT_TRUE(records.is_array()) << tail.Describe();
  for (const Json& r : records) {
    const std::string action = r.value("action", "");
    const std::string outcome = r.value("outcome", "");
    const std::string actor = r.value("actor", "");
    if (outcome == "ok") ++ok[action];
    if (action == "approval.decide" && outcome == "denied") {
      denied_self_approval |= actor == "ana";
      denied_second_decision |= actor == "val";
    }
    if (action == "model.promote" && outcome == "error:failed_precondition") {
      refused_promotion |= actor == "app";
    }
    if (action == "model.register" && outcome == "error:failed_precondition") {
      refused_import |= actor == "ana";
    }
  }
  EXPECT_GE(ok["model.register"], 3) << tail.out;  // the run's, the import and its repeat
  EXPECT_GE(ok["approval.request"], 2) << tail.out;
  EXPECT_GE(ok["approval.decide"], 3) << tail.out;
  EXPECT_GE(ok["model.promote"], 2) << tail.out;
  EXPECT_TRUE(denied_self_approval) << tail.out;
  EXPECT_TRUE(denied_second_decision) << tail.out;
  EXPECT_TRUE(refused_promotion) << tail.out;
  EXPECT_TRUE(refused_import) << tail.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, RegistryE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
