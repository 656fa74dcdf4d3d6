// End-to-end tests of edge bundles in both modes, as a bank would use them: a data scientist runs
// the credit-risk template (credit-risk@1); exporting it before it is approved is refused (exit
// 5); a validator approves it for staging; only a deployer exports it (others exit 4) with
// `plinth export edge`, into a folder that appears whole and is not overwritten without --force.
// The real `plinth-edge` binary then verifies the bundle offline against the platform's key,
// scores lending_club rows from a CSV file and JSON lines on standard input exactly as the
// package's own scorer (XGBoost, read from the artifact store) does, refuses a flipped byte in
// model.plc or manifest.json, a changed signature and another key (exit 7 each), and serves the
// same scores over the Open Inference Protocol v2 until SIGTERM. The version still verifies on the
// platform with its edge attestation recorded. The scorecard the same run trains, registered and
// taken to staging by hand, makes a bundle that plinth-edge verifies and scores exactly as the
// scorecard's own scorer does, and refuses once a byte of its compiled model changes.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"
#include "train/model_package.h"

extern char** environ;

namespace plinth::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kEdgePredicate[] = "https://plinth.dev/attestation/edge-bundle/v1";
constexpr size_t kRows = 25;

// Runs `plinth-edge ARGS...` with `stdin_text` on its standard input; stdout and stderr go through
// files, so a large output never blocks the child.
CommandResult RunEdge(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  TempDir io;
  WriteFileOrDie(io / "in", stdin_text);
  std::vector<std::string> argv_strings = {PLINTH_EDGE_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, (io / "in").c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, (io / "out").c_str(), O_WRONLY | O_CREAT, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (io / "err").c_str(), O_WRONLY | O_CREAT, 0600);
  CommandResult result;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "cannot spawn " << argv[0] << ": " << std::strerror(rc);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFileOrDie(io / "out");
  result.err = ReadFileOrDie(io / "err");
  return result;
}

// A CSV cell as lending_club.csv writes it: quotes removed.
std::string Unquoted(const std::string& cell) {
  return cell.size() >= 2 && cell.front() == '"' ? cell.substr(1, cell.size() - 2) : cell;
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(Unquoted(cell));
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

class EdgeE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    CreateProject("risk");
    ana_ = CreateUserWithToken("ana", "data-scientist", "risk");
    val_ = CreateUserWithToken("val", "validator", "risk");
    dep_ = CreateUserWithToken("dep", "deployer", "risk");
    ASSERT_FALSE(ana_.empty() || val_.empty() || dep_.empty());
  }

  CommandResult InRisk(const std::string& token, std::vector<std::string> args,
                       bool json = false) const {
    args.push_back("--project");
    args.push_back("risk");
    if (json) args.insert(args.begin(), "--json");
    return cli_->Run(token, args);
  }

  std::string ObjectPath(const std::string& digest) const {
    const std::string hex = digest.substr(std::string("sha256:").size());
    return home_.dir() + "/artifacts/objects/sha256/" + hex.substr(0, 2) + "/" + hex.substr(2);
  }

  // A copy of the bundle to tamper with.
  std::string CopyOf(const std::string& bundle, const std::string& name) {
    const std::string copy = work_ / name;
    fs::copy(bundle, copy, fs::copy_options::recursive);
    for (const auto& entry : fs::directory_iterator(copy)) {
      fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write,
                      fs::perm_options::add);
    }
    return copy;
  }

  // Rewrites bundle.json's digest of `file` to its content now, so that only the signature can
  // tell the change.
  void Reindex(const std::string& bundle, const std::string& file) {
    Json index = ParseJsonOrNull(ReadFileOrDie(bundle + "/bundle.json"));
    index["files"][file] = Sha256Digest(ReadFileOrDie(bundle + "/" + file));
    WriteFileOrDie(bundle + "/bundle.json", index.dump(2));
  }

  // Writes the credit-risk template into the work folder and runs it as ana, cheaply (few trees
  // and tuning trials); its register step leaves credit-risk@1 awaiting approval for staging.
  // Sets the run's id when asked.
  void RunCreditRiskTemplate(std::string* run_id = nullptr) {
    const std::string dir = work_ / "credit-risk";
    ASSERT_EQ(cli_->Run("", {"new", "credit-risk", dir, "--project", "risk"}).exit_code, 0);
    RunOptions train;
    train.timeout = std::chrono::seconds(300);
    train.env = {{"OMP_WAIT_POLICY", "passive"}};
    CommandResult run = cli_->Run(ana_,
                                  {"--json", "run", dir + "/pipeline.yaml", "--param", "trees=40",
                                   "--param", "tune_trials=2"},
                                  train);
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
    const Json out = run.OutJson();
    ASSERT_TRUE(out["run_id"].is_string()) << run.out;
    if (run_id != nullptr) *run_id = out["run_id"].get<std::string>();
  }

  // Copies the header and the first kRows rows of lending_club.csv to csv_, and keeps their cells.
  void WriteSampleRows() {
    csv_ = work_ / "rows.csv";
    header_.clear();
    cells_.clear();
    std::ifstream in(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    std::ofstream out(csv_);
    std::string line;
    for (size_t i = 0; i <= kRows && std::getline(in, line); ++i) {
      out << line << "\n";
      if (i == 0) {
        header_ = SplitCsvLine(line);
      } else {
        cells_.push_back(SplitCsvLine(line));
      }
    }
    ASSERT_EQ(cells_.size(), kRows);
  }

  // What the package of `version` (as `plinth models show --json` prints it) scores for the sample
  // rows: its files are read from the artifact store, checked against their digests, and loaded
  // with the package's own scorer.
  struct PackageScores {
    std::unique_ptr<Scorer> scorer;
    std::vector<Json> rows;        // the sample rows as the package's inputs; NA and empty: null
    std::vector<double> expected;  // the scorer's prediction for each
  };
  void ScoreWithPackage(const Json& version, PackageScores* out) {
    ASSERT_EQ(cells_.size(), kRows) << "WriteSampleRows first";
    std::map<std::string, std::string> package;
    for (const auto& [name, digest] : version["files"].items()) {
      package[name] = ReadFileOrDie(ObjectPath(digest.get<std::string>()));
      ASSERT_EQ(Sha256Digest(package[name]), digest) << name;
    }
    auto parsed = ParseModelPackage(package);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    auto scorer = LoadScorer(*parsed, ScorerOptions{1});
    ASSERT_TRUE(scorer.ok()) << scorer.status();
    out->scorer = *std::move(scorer);
    out->rows.assign(kRows, Json::object());
    for (size_t r = 0; r < kRows; ++r) {
      for (const ModelInput& input : out->scorer->manifest().inputs) {
        const size_t col = std::find(header_.begin(), header_.end(), input.name) - header_.begin();
        ASSERT_LT(col, header_.size()) << input.name;
        const std::string& cell = cells_[r].at(col);
        Json& value = out->rows[r][input.name];
        if (cell.empty() || cell == "NA") {
          value = nullptr;
        } else if (input.type == ColumnType::kString) {
          value = cell;
        } else if (input.type == ColumnType::kInt64) {
          value = std::stoll(cell);
        } else {
          value = std::stod(cell);
        }
      }
    }
    out->expected.clear();
    for (const Json& row : out->rows) {
      auto p = out->scorer->PredictRow(row);
      ASSERT_TRUE(p.ok()) << p.status();
      out->expected.push_back(*p);
    }
  }

  // `plinth-edge score BUNDLE` on csv_: one line per row, in order, each probability within 1e-6
  // of `expected`. Sets the edge's scores.
  void ExpectEdgeScores(const std::string& bundle, const std::string& key_file,
                        const std::vector<double>& expected, std::vector<double>* edge_scores) {
    const std::string scores_file = bundle + "-scores.jsonl";
    CommandResult scored = RunEdge(
        {"score", bundle, "--trusted-key", key_file, "--input", csv_, "--output", scores_file});
    ASSERT_EQ(scored.exit_code, 0) << scored.Describe();
    const std::vector<std::string> lines = SplitLines(ReadFileOrDie(scores_file));
    ASSERT_EQ(lines.size(), expected.size());
    edge_scores->clear();
    for (size_t r = 0; r < lines.size(); ++r) {
      const Json line = ParseJsonOrNull(lines[r]);
      EXPECT_EQ(line["row"], r + 1) << lines[r];
      ASSERT_TRUE(line["probability"].is_number()) << lines[r];
      edge_scores->push_back(line["probability"].get<double>());
      EXPECT_NEAR(edge_scores->back(), expected[r], 1e-6) << "row " << r + 1;
    }
  }

  // A copy of `bundle` with one byte of model.plc flipped: verify refuses it (exit 7, naming the
  // digest); with bundle.json's digest updated to match, score still refuses it on the signature.
  void ExpectFlippedModelRefused(const std::string& bundle) {
    const std::string copy = CopyOf(bundle, fs::path(bundle).filename().string() + "-flipped-plc");
    std::string bytes = ReadFileOrDie(copy + "/model.plc");
    bytes[bytes.size() / 2] ^= 0x01;
    WriteFileOrDie(copy + "/model.plc", bytes);
    CommandResult r = RunEdge({"verify", copy});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("model.plc: digest"));
    Reindex(copy, "model.plc");
    r = RunEdge({"score", copy, "--input", csv_});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("file model.plc: digest"));
    EXPECT_EQ(r.out, "");
  }

  TempDir work_;
  std::string ana_, val_, dep_;
  // The sample rows (WriteSampleRows): the CSV file, its header and each row's cells.
  std::string csv_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
};

TEST_P(EdgeE2eTest, ExportVerifyScoreServeAndRefuseTampering) {
  // --- credit-risk@1, not approved yet: nobody exports it. ---
  ASSERT_NO_FATAL_FAILURE(RunCreditRiskTemplate());
  const std::string bundle = work_ / "edge";
  CommandResult early = InRisk(dep_, {"export", "edge", "credit-risk@1", "--out", bundle});
  EXPECT_EQ(early.exit_code, 5) << early.Describe();
  EXPECT_THAT(early.err, HasSubstr("not approved"));
  EXPECT_FALSE(FileExists(bundle));

  ASSERT_EQ(InRisk(val_, {"models", "approve", "credit-risk@1", "--stage", "staging"}).exit_code,
            0);
  ASSERT_EQ(InRisk(ana_, {"models", "promote", "credit-risk@1", "--stage", "staging"}).exit_code,
            0);
  CommandResult by_author = InRisk(ana_, {"export", "edge", "credit-risk@1", "--out", bundle});
  EXPECT_EQ(by_author.exit_code, 4) << by_author.Describe();
  EXPECT_FALSE(FileExists(bundle));

  // --- The deployer exports it: a whole folder, never overwritten by accident. ---
  CommandResult exported =
      InRisk(dep_, {"export", "edge", "credit-risk@1", "--out", bundle}, /*json=*/true);
  ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
  const Json index = exported.OutJson();
  EXPECT_EQ(index["model"]["ref"], "credit-risk@1") << exported.out;
  EXPECT_EQ(index["stage"], "staging");
  EXPECT_EQ(index["predicate_type"], kEdgePredicate);
  for (const char* file :
       {"model.plc", "manifest.json", "attestation.json", "platform.pub", "bundle.json"}) {
    EXPECT_TRUE(FileExists(bundle + "/" + file)) << file;
  }
  for (const char* file : {"model.plc", "manifest.json", "attestation.json"}) {
    EXPECT_EQ(Sha256Digest(ReadFileOrDie(bundle + "/" + file)), index["files"][file]) << file;
  }
  const std::string platform_key = ReadFileOrDie(home_.dir() + "/keys/platform.pub");
  EXPECT_EQ(ReadFileOrDie(bundle + "/platform.pub"), platform_key);
  size_t leftovers = 0;
  for (const auto& entry : fs::directory_iterator(work_.path())) {
    leftovers += entry.path().filename().string().find(".tmp-") != std::string::npos;
  }
  EXPECT_EQ(leftovers, 0u);
  CommandResult again = InRisk(dep_, {"export", "edge", "credit-risk@1", "--out", bundle});
  EXPECT_EQ(again.exit_code, 6) << again.Describe();
  EXPECT_THAT(again.err, HasSubstr("--force"));
  CommandResult forced =
      InRisk(dep_, {"export", "edge", "credit-risk@1", "--out", bundle, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.Describe();

  // The platform recorded the signed export, and the version still verifies with it.
  CommandResult show = InRisk(ana_, {"models", "show", "credit-risk@1"}, /*json=*/true);
  ASSERT_EQ(show.exit_code, 0) << show.Describe();
  const Json version = show.OutJson();
  size_t edge_attestations = 0;
  for (const Json& a : version["attestations"]) {
    edge_attestations += a["predicate_type"] == kEdgePredicate;
  }
  EXPECT_EQ(edge_attestations, 2u) << show.out;
  CommandResult verified_on_platform = InRisk(ana_, {"models", "verify", "credit-risk@1"});
  EXPECT_EQ(verified_on_platform.exit_code, 0) << verified_on_platform.Describe();

  // --- plinth-edge verify, against the platform's key. ---
  const std::string key_file = home_.dir() + "/keys/platform.pub";
  CommandResult verify = RunEdge({"verify", bundle, "--trusted-key", key_file, "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.Describe();
  const Json summary = ParseJsonOrNull(verify.out);
  EXPECT_EQ(summary["ref"], "credit-risk@1") << verify.out;
  EXPECT_EQ(summary["stage"], "staging");
  EXPECT_EQ(summary["key_trusted"], true);
  EXPECT_EQ(summary["exported_by"], "dep");
  CommandResult text = RunEdge({"verify", bundle});
  EXPECT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_THAT(text.out, HasSubstr("bundled key only"));

  // --- Scores equal the package's own scorer on the first rows of lending_club.csv. ---
  ASSERT_NO_FATAL_FAILURE(WriteSampleRows());
  PackageScores package;
  ASSERT_NO_FATAL_FAILURE(ScoreWithPackage(version, &package));
  const std::unique_ptr<Scorer>& scorer = package.scorer;
  const std::vector<Json>& rows = package.rows;
  std::vector<double> edge_scores;
  ASSERT_NO_FATAL_FAILURE(ExpectEdgeScores(bundle, key_file, package.expected, &edge_scores));

  // JSON lines on standard input: the same scores; a bad row gets an error line, not a crash.
  std::string jsonl;
  for (size_t r = 0; r < 3; ++r) jsonl += rows[r].dump() + "\n";
  Json bad = rows[0];
  bad[scorer->manifest().inputs[0].name] = "not a number";
  jsonl += bad.dump() + "\n";
  CommandResult piped = RunEdge({"score", bundle, "--format", "jsonl"}, jsonl);
  EXPECT_EQ(piped.exit_code, 2) << piped.Describe();
  const std::vector<std::string> lines = SplitLines(piped.out);
  ASSERT_EQ(lines.size(), 4u) << piped.Describe();
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(ParseJsonOrNull(lines[r])["probability"], edge_scores[r]) << lines[r];
  }
  const Json error_line = ParseJsonOrNull(lines[3]);
  EXPECT_EQ(error_line["row"], 4);
  EXPECT_THAT(error_line["error"].get<std::string>(), HasSubstr(scorer->manifest().inputs[0].name));

  // --- Tampering: every change is refused with exit 7, naming the check. ---
  ExpectFlippedModelRefused(bundle);
  {
    const std::string copy = CopyOf(bundle, "flipped-manifest");
    std::string bytes = ReadFileOrDie(copy + "/manifest.json");
    const size_t at = bytes.find("int_rate");
    ASSERT_NE(at, std::string::npos);
    bytes[at] = 'I';
    WriteFileOrDie(copy + "/manifest.json", bytes);
    CommandResult r = RunEdge({"verify", copy});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("manifest.json: digest"));
  }
  {
    const std::string copy = CopyOf(bundle, "changed-signature");
    Json envelope = ParseJsonOrNull(ReadFileOrDie(copy + "/attestation.json"));
    std::string sig = envelope["signatures"][0]["sig"];
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    envelope["signatures"][0]["sig"] = sig;
    WriteFileOrDie(copy + "/attestation.json", envelope.dump(2));
    Reindex(copy, "attestation.json");
    CommandResult r = RunEdge({"verify", copy});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("does not verify over the payload"));
  }
  {
    const std::string other_key = std::string(64, 'a') + "\n";
    const std::string copy = CopyOf(bundle, "other-key");
    WriteFileOrDie(copy + "/platform.pub", other_key);
    CommandResult r = RunEdge({"verify", copy});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("platform.pub holds key"));
    Json index_now = ParseJsonOrNull(ReadFileOrDie(copy + "/bundle.json"));
    index_now["key_id"] = std::string(64, 'a');
    WriteFileOrDie(copy + "/bundle.json", index_now.dump(2));
    r = RunEdge({"verify", copy});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("which is not trusted"));
    // The intact bundle against a key that is not the platform's.
    WriteFileOrDie(work_ / "other.pub", other_key);
    r = RunEdge({"verify", bundle, "--trusted-key", work_ / "other.pub"});
    EXPECT_EQ(r.exit_code, 7) << r.Describe();
    EXPECT_THAT(r.err, HasSubstr("not the trusted key"));
  }
  CommandResult usage = RunEdge({"verify", bundle, "--trusted-key", work_ / "missing.pub"});
  EXPECT_EQ(usage.exit_code, 2) << usage.Describe();

  // --- plinth-edge serve: the same endpoints as plinth serve, the same scores. ---
  ServerProcess edge;
  ASSERT_TRUE(
      edge.StartProgram(PLINTH_EDGE_BINARY,
                        {"serve", bundle, "--listen", "127.0.0.1:0", "--trusted-key", key_file,
                         "--decisions", work_ / "decisions"},
                        R"(^plinth-edge: serving credit-risk@1 on http://([0-9.]+):([0-9]+) )"));
  auto http = edge.Client();
  auto ready = http->Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  Json inputs = Json::array();
  for (const ModelInput& input : scorer->manifest().inputs) {
    Json data = Json::array();
    for (size_t r = 0; r < 3; ++r) data.push_back(rows[r][input.name]);
    inputs.push_back({{"name", input.name},
                      {"datatype", input.type == ColumnType::kString ? "BYTES" : "FP64"},
                      {"shape", {3}},
                      {"data", data}});
  }
  auto infer = http->Post("/v2/models/credit-risk/infer",
                          Json{{"id", "edge-1"}, {"inputs", inputs}}.dump(), "application/json");
  ASSERT_TRUE(infer);
  ASSERT_EQ(infer->status, 200) << infer->body;
  const Json answer = BodyJson(infer);
  EXPECT_EQ(answer["model_version"], "1");
  ASSERT_EQ(answer["outputs"][0]["data"].size(), 3u) << infer->body;
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(answer["outputs"][0]["data"][r], edge_scores[r]) << r;
  }
  auto explain = http->Post("/v2/models/credit-risk/infer",
                            Json{{"inputs", inputs}, {"parameters", {{"explain", true}}}}.dump(),
                            "application/json");
  ASSERT_TRUE(explain);
  EXPECT_EQ(explain->status, 400) << explain->body;
  EXPECT_EQ(edge.Stop(SIGTERM), 0);
  EXPECT_THAT(edge.Stdout(), HasSubstr("plinth-edge: stopped"));
}

// The scorecard the template's run trains (step train_scorecard), registered by hand as
// credit-risk-scorecard@1 and taken to staging: the deployer's bundle holds the compiled
// scorecard, which plinth-edge verifies and scores exactly as the scorecard's own scorer does, and
// refuses once a byte of it changes.
TEST_P(EdgeE2eTest, ScorecardBundleVerifiesScoresAndRefusesTampering) {
  std::string run_id;
  ASSERT_NO_FATAL_FAILURE(RunCreditRiskTemplate(&run_id));
  const std::string ref = "credit-risk-scorecard@1";
  CommandResult registered = InRisk(
      ana_,
      {"models", "register", "credit-risk-scorecard", "--run", run_id, "--step", "train_scorecard"},
      /*json=*/true);
  ASSERT_EQ(registered.exit_code, 0) << registered.Describe();
  EXPECT_EQ(registered.OutJson()["ref"], ref) << registered.out;
  EXPECT_EQ(registered.OutJson()["kind"], "scorecard") << registered.out;

  // --- To staging under four eyes: ana asks, val signs off, ana promotes. ---
  CommandResult requested = InRisk(ana_, {"models", "request-approval", ref, "--stage", "staging"});
  ASSERT_EQ(requested.exit_code, 0) << requested.Describe();
  CommandResult approved = InRisk(val_, {"models", "approve", ref, "--stage", "staging"});
  ASSERT_EQ(approved.exit_code, 0) << approved.Describe();
  CommandResult promoted = InRisk(ana_, {"models", "promote", ref, "--stage", "staging"});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.Describe();

  // --- The deployer exports it: the compiled scorecard, signed. ---
  const std::string bundle = work_ / "scorecard-edge";
  CommandResult exported = InRisk(dep_, {"export", "edge", ref, "--out", bundle}, /*json=*/true);
  ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
  const Json index = exported.OutJson();
  EXPECT_EQ(index["model"]["ref"], ref) << exported.out;
  EXPECT_EQ(index["stage"], "staging");
  EXPECT_EQ(ParseJsonOrNull(ReadFileOrDie(bundle + "/bundle.json"))["compiled_kind"], "scorecard");
  for (const char* file : {"model.plc", "manifest.json", "attestation.json"}) {
    EXPECT_EQ(Sha256Digest(ReadFileOrDie(bundle + "/" + file)), index["files"][file]) << file;
  }

  // --- plinth-edge verify, against the platform's key. ---
  const std::string key_file = home_.dir() + "/keys/platform.pub";
  CommandResult verify = RunEdge({"verify", bundle, "--trusted-key", key_file, "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.Describe();
  const Json summary = ParseJsonOrNull(verify.out);
  EXPECT_EQ(summary["ref"], ref) << verify.out;
  EXPECT_EQ(summary["stage"], "staging");
  EXPECT_EQ(summary["key_trusted"], true);

  // --- Scores equal the scorecard's own scorer on the first rows of lending_club.csv. ---
  CommandResult show = InRisk(ana_, {"models", "show", ref}, /*json=*/true);
  ASSERT_EQ(show.exit_code, 0) << show.Describe();
  ASSERT_NO_FATAL_FAILURE(WriteSampleRows());
  PackageScores package;
  ASSERT_NO_FATAL_FAILURE(ScoreWithPackage(show.OutJson(), &package));
  EXPECT_EQ(package.scorer->manifest().kind, "scorecard");
  std::vector<double> edge_scores;
  ASSERT_NO_FATAL_FAILURE(ExpectEdgeScores(bundle, key_file, package.expected, &edge_scores));

  // --- A flipped byte in the compiled scorecard is refused (exit 7). ---
  ExpectFlippedModelRefused(bundle);
}

INSTANTIATE_TEST_SUITE_P(Modes, EdgeE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
