// End-to-end tests of the audit chain through the CLI: after a sequence of commands the chain
// verifies; an export verifies in process and remotely; and copies of the export with one field
// changed, one line deleted, two record lines swapped or the tail cut fail `audit verify --file`
// with exit 7, naming the first bad record.
#include <regex>

#include "harness.h"

namespace plinth::e2e {
namespace {

using ::testing::HasSubstr;

bool IsCheckpointLine(const std::string& line) { return line.rfind("{\"checkpoint\":", 0) == 0; }

// The seq of a record line (-1 for a checkpoint or unreadable line).
int64_t SeqOfRecordLine(const std::string& line) {
  if (IsCheckpointLine(line)) return -1;
  Json j = ParseJsonOrNull(line);
  return j.is_object() && j["seq"].is_number_integer() ? j["seq"].get<int64_t>() : -1;
}

// Index of the line holding record `seq`, or -1.
int LineOfRecord(const std::vector<std::string>& lines, int64_t seq) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (SeqOfRecordLine(lines[i]) == seq) return static_cast<int>(i);
  }
  return -1;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class AuditE2eTest : public ModeTest {
 protected:
  void SetUp() override {
    ModeTest::SetUp();
    if (HasFatalFailure()) return;
    // A sequence of commands that leaves a chain of a dozen or more records.
    CreateProject("credit-risk");
    CreateProject("fraud");
    const std::string dana = CreateUserWithToken("dana", "data-scientist", "credit-risk");
    auditor_ = CreateUserWithToken("audra", "auditor", "");
    ASSERT_FALSE(dana.empty());
    ASSERT_FALSE(auditor_.empty());
    const std::string file = home_.root() / "data.csv";
    WriteFileOrDie(file, "a,b\n1,2\n");
    ASSERT_EQ(cli_->Run(dana, {"artifacts", "put", file, "--project", "credit-risk"}).exit_code, 0);
    ASSERT_EQ(cli_->Run(dana, {"project", "create", "nope"}).exit_code, 4);
    ASSERT_EQ(cli_->Run(admin(), {"project", "create", "fraud"}).exit_code, 6);
    ASSERT_EQ(
        cli_->Run(admin(), {"user", "grant", "dana", "--role", "viewer", "--project", "fraud"})
            .exit_code,
        0);

    export_ = home_.root() / "audit.jsonl";
    CommandResult exported = cli_->Run(auditor_, {"audit", "export", "--out", export_});
    ASSERT_EQ(exported.exit_code, 0) << exported.Describe();
    lines_ = SplitLines(ReadFileOrDie(export_));
    ASSERT_GE(lines_.size(), 12u);
    ASSERT_TRUE(IsCheckpointLine(lines_.back())) << lines_.back();
    last_seq_ = 0;
    for (const auto& l : lines_) last_seq_ = std::max(last_seq_, SeqOfRecordLine(l));
    ASSERT_GE(last_seq_, 10);
  }

  // Writes `lines` to a new file and runs `audit verify --file` on it.
  CommandResult VerifyCopy(const std::string& name, const std::vector<std::string>& lines,
                           bool json = false) {
    const std::string path = home_.root() / name;
    WriteFileOrDie(path, JoinLines(lines));
    return json ? cli_->RunJson(auditor_, {"audit", "verify", "--file", path})
                : cli_->Run(auditor_, {"audit", "verify", "--file", path});
  }

  // Expects the copy to fail with exit 7 naming record `seq`, in text and in --json.
  void ExpectFirstBad(const std::string& name, const std::vector<std::string>& lines, int64_t seq) {
    CommandResult text = VerifyCopy(name, lines);
    EXPECT_EQ(text.exit_code, 7) << text.Describe();
    EXPECT_TRUE(std::regex_search(
        text.err, std::regex("fails verification at record " + std::to_string(seq) + "[^0-9]")))
        << text.err;
    CommandResult json = VerifyCopy(name, lines, /*json=*/true);
    EXPECT_EQ(json.exit_code, 7) << json.Describe();
    Json report = json.OutJson();
    EXPECT_EQ(report["ok"], false) << json.out;
    EXPECT_EQ(report["first_bad_seq"], seq) << json.out;
  }

  std::string auditor_;
  std::string export_;
  std::vector<std::string> lines_;
  int64_t last_seq_ = 0;
};

TEST_P(AuditE2eTest, IntactChainAndExportVerify) {
  CommandResult store = cli_->RunJson(auditor_, {"audit", "verify"});
  ASSERT_EQ(store.exit_code, 0) << store.Describe();
  EXPECT_EQ(store.OutJson()["ok"], true);
  EXPECT_EQ(store.OutJson()["records"], last_seq_);

  CommandResult file = cli_->RunJson(auditor_, {"audit", "verify", "--file", export_});
  ASSERT_EQ(file.exit_code, 0) << file.Describe();
  EXPECT_EQ(file.OutJson()["ok"], true);
  EXPECT_EQ(file.OutJson()["records"], last_seq_);
  EXPECT_GE(file.OutJson()["checkpoints"].get<int64_t>(), 1);

  // Records are numbered 1..N in order and each line is one JSON object.
  int64_t expected = 1;
  for (const auto& l : lines_) {
    ASSERT_TRUE(ParseJsonOrNull(l).is_object()) << l;
    if (IsCheckpointLine(l)) continue;
    EXPECT_EQ(SeqOfRecordLine(l), expected++) << l;
  }

  // An unchanged copy verifies too (the copy mechanics alone break nothing).
  CommandResult copy = VerifyCopy("copy.jsonl", lines_);
  EXPECT_EQ(copy.exit_code, 0) << copy.Describe();
}

TEST_P(AuditE2eTest, ChangedFieldNamesThatRecord) {
  const int64_t seq = 4;
  std::vector<std::string> lines = lines_;
  int i = LineOfRecord(lines, seq);
  ASSERT_GE(i, 0);
  const std::string before = lines[i];
  lines[i] = std::regex_replace(lines[i], std::regex(R"("actor":"[^"]*")"), "\"actor\":\"mallory\"",
                                std::regex_constants::format_first_only);
  ASSERT_NE(lines[i], before);
  ExpectFirstBad("changed.jsonl", lines, seq);
}

TEST_P(AuditE2eTest, ChangedOutcomeOfRefusalNamesThatRecord) {
  std::vector<std::string> lines = lines_;
  int64_t seq = -1;
  for (auto& l : lines) {
    if (l.find("\"outcome\":\"denied\"") != std::string::npos) {
      seq = SeqOfRecordLine(l);
      l.replace(l.find("\"outcome\":\"denied\""), 18, "\"outcome\":\"ok\"");
      break;
    }
  }
  ASSERT_GT(seq, 0) << "the refused project.create was not audited";
  ExpectFirstBad("whitewashed.jsonl", lines, seq);
}

TEST_P(AuditE2eTest, DeletedLineNamesTheMissingRecord) {
  const int64_t seq = 6;
  std::vector<std::string> lines = lines_;
  int i = LineOfRecord(lines, seq);
  ASSERT_GE(i, 0);
  lines.erase(lines.begin() + i);
  ExpectFirstBad("deleted.jsonl", lines, seq);
}

TEST_P(AuditE2eTest, SwappedRecordLinesNameTheFirstOutOfPlace) {
  std::vector<std::string> lines = lines_;
  int a = LineOfRecord(lines, 5);
  int b = LineOfRecord(lines, 7);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::swap(lines[a], lines[b]);
  ExpectFirstBad("swapped.jsonl", lines, 5);

  std::vector<std::string> adjacent = lines_;
  int c = LineOfRecord(adjacent, 8);
  int d = LineOfRecord(adjacent, 9);
  std::swap(adjacent[c], adjacent[d]);
  ExpectFirstBad("swapped-adjacent.jsonl", adjacent, 8);
}

TEST_P(AuditE2eTest, CutTailIsDetected) {
  // Without the final checkpoint, the last record is not covered by a signature.
  std::vector<std::string> no_checkpoint(lines_.begin(), lines_.end() - 1);
  ASSERT_EQ(SeqOfRecordLine(no_checkpoint.back()), last_seq_);
  ExpectFirstBad("cut-checkpoint.jsonl", no_checkpoint, last_seq_);

  // Cut in the middle of the last record line.
  const std::string whole = JoinLines(lines_);
  const size_t last_record_start = whole.rfind(lines_[lines_.size() - 2]);
  const std::string cut = whole.substr(0, last_record_start + lines_[lines_.size() - 2].size() / 2);
  const std::string path = home_.root() / "cut-mid-line.jsonl";
  WriteFileOrDie(path, cut);
  CommandResult r = cli_->RunJson(auditor_, {"audit", "verify", "--file", path});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_EQ(r.OutJson()["first_bad_seq"], last_seq_) << r.out;

  // The last record kept and the final checkpoint put back before it: out of place.
  std::vector<std::string> moved = lines_;
  std::swap(moved[moved.size() - 1], moved[moved.size() - 2]);
  CommandResult m = VerifyCopy("moved-checkpoint.jsonl", moved);
  EXPECT_EQ(m.exit_code, 7) << m.Describe();
}

TEST_P(AuditE2eTest, ForgedCheckpointSignatureIsDetected) {
  std::vector<std::string> lines = lines_;
  std::string& checkpoint = lines.back();
  const size_t at = checkpoint.find("\"signature\":\"");
  ASSERT_NE(at, std::string::npos) << checkpoint;
  char& c = checkpoint[at + 13];
  c = c == 'A' ? 'B' : 'A';
  CommandResult r = VerifyCopy("forged.jsonl", lines, /*json=*/true);
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_EQ(r.OutJson()["first_bad_seq"], last_seq_) << r.out;
}

TEST_P(AuditE2eTest, ExportOfAnotherHomeFailsAgainstThisKey) {
  TestHome other;
  ASSERT_TRUE(other.Init());
  const std::string other_export = other.root() / "other.jsonl";
  ASSERT_EQ(RunPlinth({"--home", other.dir(), "audit", "export", "--out", other_export}).exit_code,
            0);
  CommandResult r = cli_->Run(auditor_, {"audit", "verify", "--file", other_export});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_EQ(RunPlinth({"--home", other.dir(), "audit", "verify", "--file", other_export}).exit_code,
            0);

  // With the other home's public key given explicitly, it verifies; with a malformed key, usage.
  std::string other_key = ReadFileOrDie(other.dir() + "/keys/platform.pub");
  while (!other_key.empty() && other_key.back() == '\n') other_key.pop_back();
  CommandResult with_key =
      cli_->Run(auditor_, {"audit", "verify", "--file", other_export, "--public-key", other_key});
  EXPECT_EQ(with_key.exit_code, 0) << with_key.Describe();
  CommandResult ours_with_their_key =
      cli_->Run(auditor_, {"audit", "verify", "--file", export_, "--public-key", other_key});
  EXPECT_EQ(ours_with_their_key.exit_code, 7) << ours_with_their_key.Describe();
  EXPECT_EQ(
      cli_->Run(auditor_, {"audit", "verify", "--file", export_, "--public-key", "abc"}).exit_code,
      2);
}

TEST_P(AuditE2eTest, TamperedStoreFailsVerifyNamingTheRecord) {
  // A record's stored text rewritten behind the platform's back.
  QueryHomeStore(home_.dir(),
                 "UPDATE audit_records SET record = replace(record, '\"outcome\":\"ok\"', "
                 "'\"outcome\":\"no\"') WHERE seq = 3",
                 /*write=*/true);
  CommandResult changed = cli_->Run(auditor_, {"audit", "verify"});
  EXPECT_EQ(changed.exit_code, 7) << changed.Describe();
  EXPECT_THAT(changed.err, HasSubstr("audit chain broken at record 3:")) << changed.err;
  CommandResult changed_json = cli_->RunJson(auditor_, {"audit", "verify"});
  EXPECT_EQ(changed_json.exit_code, 7);
  EXPECT_EQ(changed_json.OutJson()["ok"], false) << changed_json.out;
  EXPECT_EQ(changed_json.OutJson()["first_bad_seq"], 3) << changed_json.out;

  // An export of the tampered store does not verify either.
  const std::string path = home_.root() / "tampered-store.jsonl";
  ASSERT_EQ(cli_->Run(auditor_, {"audit", "export", "--out", path}).exit_code, 0);
  CommandResult exported = cli_->RunJson(auditor_, {"audit", "verify", "--file", path});
  EXPECT_EQ(exported.exit_code, 7) << exported.Describe();
  EXPECT_EQ(exported.OutJson()["first_bad_seq"], 3) << exported.out;
}

TEST_P(AuditE2eTest, DeletedStoredRecordFailsVerify) {
  QueryHomeStore(home_.dir(), "DELETE FROM audit_records WHERE seq = 5", /*write=*/true);
  CommandResult r = cli_->RunJson(auditor_, {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 7) << r.Describe();
  EXPECT_EQ(r.OutJson()["first_bad_seq"], 5) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, AuditE2eTest, ::testing::Values(Mode::kInProcess, Mode::kRemote),
                         ModeParamName);

}  // namespace
}  // namespace plinth::e2e
