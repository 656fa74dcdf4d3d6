#include "serve/compiled_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "serve/compile.h"
#include "serve/compiled_format.h"
#include "train/trainer.h"
#include "train/xgboost_model.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;

const Table& Loans() {
  static const Table* table = [] {
    StatusOr<Table> t = ReadCsv(std::string(PLINTH_EXAMPLES_DATA) + "/lending_club.csv");
    EXPECT_TRUE(t.ok()) << t.status();
    return new Table(std::move(t).value());
  }();
  return *table;
}

// One XGBoost thread: the test machines are small and shared.
StatusOr<TrainedModel> Train(const Json& spec_json) {
  ASSIGN_OR_RETURN(TrainSpec spec, TrainSpec::FromJson(spec_json));
  static const FakeClock clock(1767225600000000);
  TrainOptions options;
  options.clock = &clock;
  options.nthread = 1;
  return TrainModel(spec, Loans(), options);
}

StatusOr<TrainedModel> TrainTrees(const std::string& format, int rounds, int depth) {
  return Train({{"kind", "xgboost"},
                {"target", "Class"},
                {"positive", "bad"},
                {"params",
                 {{"num_boost_round", rounds},
                  {"max_depth", depth},
                  {"learning_rate", 0.1},
                  {"nthread", 1}}},
                {"seed", 7},
                {"model_format", format}});
}

// 300 trees of depth 6 on every row: deep enough that float rounding in the sums would show.
const TrainedModel& LoanModel() {
  static const TrainedModel* model = [] {
    StatusOr<TrainedModel> m = TrainTrees("json", 300, 6);
    EXPECT_TRUE(m.ok()) << m.status();
    return new TrainedModel(std::move(m).value());
  }();
  return *model;
}

const TrainedModel& LinearModel(const std::string& kind) {
  static std::map<std::string, TrainedModel>* models = new std::map<std::string, TrainedModel>;
  auto it = models->find(kind);
  if (it == models->end()) {
    StatusOr<TrainedModel> m = Train({{"kind", kind}, {"target", "Class"}, {"positive", "bad"}});
    EXPECT_TRUE(m.ok()) << m.status();
    it = models->emplace(kind, std::move(m).value()).first;
  }
  return it->second;
}

const Matrix& LoanMatrix() {
  static const Matrix* matrix = [] {
    StatusOr<Matrix> m = LoanModel().package.manifest.preprocess->Apply(Loans());
    EXPECT_TRUE(m.ok()) << m.status();
    return new Matrix(std::move(m).value());
  }();
  return *matrix;
}

// The matrix with a varied pattern of NaNs (lending_club has none), plus one row missing
// everything.
Matrix WithHoles(Matrix m) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t r = 0; r < m.rows; ++r) {
    for (size_t c = 0; c < m.cols; ++c) {
      if ((r * 7 + c * 3) % 5 == 0) m.values[r * m.cols + c] = nan;
    }
  }
  std::fill_n(m.values.begin(), m.cols, nan);
  return m;
}

CompiledModel Compile(const ModelPackage& package) {
  StatusOr<CompiledModel> compiled = CompileModel(package);
  EXPECT_TRUE(compiled.ok()) << compiled.status();
  return compiled.ok() ? std::move(compiled).value() : CompiledModel();
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
  }
  return worst;
}

const CompiledKernel kKernels[] = {CompiledKernel::kPortable, CompiledKernel::kAvx2,
                                   CompiledKernel::kAvx512};

// The compiled model on every row of `m` with `kernel`, by PredictRow and by PredictBatch, which
// must agree bit for bit (same additions in the same order).
std::vector<double> CompiledScores(const CompiledModel& model, const Matrix& m,
                                   CompiledKernel kernel = CompiledKernel::kAuto) {
  std::vector<double> batch(m.rows);
  model.PredictBatch(m.values.data(), m.rows, m.cols, batch.data(), kernel);
  for (size_t r = 0; r < m.rows; ++r) {
    const double one =
        model.PredictRow(std::span<const float>(m.values.data() + r * m.cols, m.cols), kernel);
    EXPECT_EQ(one, batch[r]) << "row " << r << " kernel " << CompiledKernelName(kernel);
  }
  return batch;
}

std::vector<double> XgboostScores(const ModelPackage& package, const Matrix& m) {
  StatusOr<XgboostModel> xgb = XgboostModel::Load(package.files.at("model.json"), 1);
  EXPECT_TRUE(xgb.ok()) << xgb.status();
  if (!xgb.ok()) return {};
  StatusOr<std::vector<float>> scores = xgb->Predict(m.values, m.rows, m.cols);
  EXPECT_TRUE(scores.ok()) << scores.status();
  return scores.ok() ? std::vector<double>(scores->begin(), scores->end()) : std::vector<double>();
}

Json RowJson(const Table& t, size_t r) {
  Json row = Json::object();
  for (const Column& c : t.columns()) {
    if (c.IsNull(r)) {
      row[c.name()] = nullptr;
    } else if (c.type() == ColumnType::kString) {
      row[c.name()] = std::string(c.StringAt(r));
    } else if (c.type() == ColumnType::kInt64) {
      row[c.name()] = c.int64s()[r];
    } else {
      row[c.name()] = *c.NumberAt(r);
    }
  }
  return row;
}

TEST(CompiledModelTest, EqualsXgboostOnEveryRow) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  EXPECT_EQ(compiled.kind(), CompiledKind::kXgboost);
  EXPECT_EQ(compiled.num_trees(), 300u);
  EXPECT_EQ(compiled.num_features(), LoanMatrix().cols);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  StatusOr<std::vector<double>> expected = (*scorer)->PredictTable(Loans());
  ASSERT_TRUE(expected.ok()) << expected.status();
  const double diff = MaxAbsDiff(CompiledScores(compiled, LoanMatrix()), *expected);
  std::printf("max |compiled - xgboost| over %zu rows (%s kernel): %.3g\n", expected->size(),
              std::string(CompiledKernelName(BestCompiledKernel())).c_str(), diff);
  EXPECT_LE(diff, 1e-6);
}

// Every kernel this machine runs, by name, on the same rows: each equals XGBoost, with NaNs
// following each node's default direction.
TEST(CompiledModelTest, EveryKernelEqualsXgboostWithMissingValues) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  const Matrix holes = WithHoles(LoanMatrix());
  const std::vector<double> expected = XgboostScores(m.package, holes);
  const std::vector<double> portable = CompiledScores(compiled, holes, CompiledKernel::kPortable);
  EXPECT_LE(MaxAbsDiff(portable, expected), 1e-6);
  for (CompiledKernel kernel : kKernels) {
    if (!CompiledKernelSupported(kernel)) {
      std::printf("kernel %s: not supported on this CPU, not tested\n",
                  std::string(CompiledKernelName(kernel)).c_str());
      continue;
    }
    const std::vector<double> got = CompiledScores(compiled, holes, kernel);
    const double diff = MaxAbsDiff(got, expected);
    std::printf("max |compiled - xgboost| over %zu rows with NaNs (%s kernel): %.3g\n", holes.rows,
                std::string(CompiledKernelName(kernel)).c_str(), diff);
    EXPECT_LE(diff, 1e-6) << CompiledKernelName(kernel);
    EXPECT_EQ(got, portable) << CompiledKernelName(kernel) << " differs from portable";
  }
}

// Batches of every awkward size (partial vectors, partial blocks) and rows with a stride wider
// than the features give the same bits as single rows, on every kernel.
TEST(CompiledModelTest, BatchSizesAndStridesAgreeWithSingleRows) {
  CompiledModel compiled = Compile(LoanModel().package);
  const Matrix holes = WithHoles(LoanMatrix());
  const size_t cols = holes.cols, stride = cols + 3;
  std::vector<float> wide(600 * stride, 12345.0f);
  for (size_t r = 0; r < 600; ++r) {
    std::copy_n(holes.values.begin() + r * cols, cols, wide.begin() + r * stride);
  }
  std::vector<double> single(600);
  for (size_t r = 0; r < 600; ++r) {
    single[r] = compiled.PredictRow(std::span<const float>(holes.values.data() + r * cols, cols),
                                    CompiledKernel::kPortable);
  }
  for (CompiledKernel kernel : kKernels) {
    for (size_t n : {1, 7, 15, 16, 17, 63, 64, 65, 255, 256, 257, 600}) {
      std::vector<double> out(n, -1);
      compiled.PredictBatch(wide.data(), n, stride, out.data(), kernel);
      EXPECT_EQ(out, std::vector<double>(single.begin(), single.begin() + n))
          << "n " << n << " kernel " << CompiledKernelName(kernel);
    }
  }
}

// The depth of the deepest tree and the size of the largest, from the compiled nodes.
std::pair<uint32_t, size_t> Deepest(const CompiledModel& model) {
  const CompiledModel::Parts& p = model.parts();
  std::vector<uint32_t> level(p.nodes.size(), 0);
  uint32_t depth = 0;
  size_t largest = 0;
  for (size_t t = 0; t < p.roots.size(); ++t) {
    const size_t end = t + 1 < p.roots.size() ? p.roots[t + 1] : p.nodes.size();
    largest = std::max(largest, end - p.roots[t]);
    for (size_t i = p.roots[t]; i < end; ++i) {
      depth = std::max(depth, level[i]);
      if (!(p.nodes[i].feature & CompiledModel::kLeaf)) {
        level[p.nodes[i].left] = level[p.nodes[i].left + 1] = level[i] + 1;
      }
    }
  }
  return {depth, largest};
}

// Trees of every depth the kernels treat differently: tables permuted in registers (shallow
// levels and leaves), gathered ones (deeper), and trees too deep or too large for the SIMD forms
// (over 10 levels or 256 nodes), walked node by node between the others.
TEST(CompiledModelTest, EveryTreeDepthEqualsXgboost) {
  const Matrix holes = WithHoles(LoanMatrix());
  for (int depth : {1, 3, 4, 5, 7, 8, 13}) {
    StatusOr<TrainedModel> m = TrainTrees("json", 12, depth);
    ASSERT_TRUE(m.ok()) << m.status();
    CompiledModel compiled = Compile(m->package);
    const auto [deepest, largest] = Deepest(compiled);
    EXPECT_EQ(deepest, static_cast<uint32_t>(depth));
    if (depth == 13) {
      EXPECT_GT(largest, 256u) << "no tree takes the node-by-node path";
    }
    const std::vector<double> expected = XgboostScores(m->package, holes);
    for (CompiledKernel kernel : kKernels) {
      const double diff = MaxAbsDiff(CompiledScores(compiled, holes, kernel), expected);
      EXPECT_LE(diff, 1e-6) << "depth " << depth << " kernel " << CompiledKernelName(kernel);
    }
  }
}

TEST(CompiledModelTest, JsonRowEqualsScorer) {
  const TrainedModel& m = LoanModel();
  CompiledModel compiled = Compile(m.package);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  const Table& t = Loans();
  std::vector<float> buffer(compiled.num_features());
  for (size_t r = 0; r < t.num_rows(); r += 101) {
    Json row = RowJson(t, r);
    // A raw input left out counts as missing, as the spec reads it.
    if (r % 2 == 1) row["annual_inc"] = nullptr;
    StatusOr<double> want = (*scorer)->PredictRow(row);
    StatusOr<double> got = compiled.PredictJsonRow(row);
    StatusOr<double> got_buffered = compiled.PredictJsonRow(row, buffer);
    ASSERT_TRUE(want.ok() && got.ok() && got_buffered.ok()) << "row " << r;
    EXPECT_NEAR(*got, *want, 1e-6) << "row " << r;
    EXPECT_EQ(*got, *got_buffered);
  }
  StatusOr<double> bad = compiled.PredictJsonRow(Json::array());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CompiledModelTest, UbjsonModelCompiles) {
  StatusOr<TrainedModel> m = TrainTrees("ubj", 300, 6);
  ASSERT_TRUE(m.ok()) << m.status();
  CompiledModel compiled = Compile(m->package);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m->package, {.nthread = 1});
  ASSERT_TRUE(scorer.ok());
  StatusOr<std::vector<double>> expected = (*scorer)->PredictTable(Loans());
  ASSERT_TRUE(expected.ok());
  EXPECT_LE(MaxAbsDiff(CompiledScores(compiled, LoanMatrix()), *expected), 1e-6);
}

// --- Linear kinds --------------------------------------------------------------------------------

// The compiled model's outputs on the package scorer's table, through the compiled model's own
// spec (for a scorecard, the one the compiler derived from its bins).
Matrix CompiledMatrix(const CompiledModel& compiled, const Table& table) {
  StatusOr<Matrix> m = compiled.spec().Apply(table);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(m).value() : Matrix();
}

TEST(CompiledModelTest, LogisticEqualsScorerOnEveryRow) {
  const TrainedModel& m = LinearModel("logistic");
  CompiledModel compiled = Compile(m.package);
  EXPECT_EQ(compiled.kind(), CompiledKind::kLogistic);
  EXPECT_TRUE(compiled.binary());
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  StatusOr<std::vector<double>> expected = (*scorer)->PredictTable(Loans());
  StatusOr<std::vector<double>> margins = (*scorer)->PredictMargin(Loans());
  ASSERT_TRUE(expected.ok() && margins.ok());
  const Matrix x = CompiledMatrix(compiled, Loans());
  const double diff = MaxAbsDiff(CompiledScores(compiled, x), *expected);
  std::printf("max |compiled - logistic scorer| over %zu rows: %.3g\n", x.rows, diff);
  EXPECT_LE(diff, 1e-6);
  std::vector<double> compiled_margins(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    compiled_margins[r] =
        compiled.PredictMarginRow(std::span<const float>(x.values.data() + r * x.cols, x.cols));
  }
  EXPECT_LE(MaxAbsDiff(compiled_margins, *margins), 1e-9);
  // Missing values take the mean (contribute nothing), as in the package.
  const Matrix holes = WithHoles(x);
  EXPECT_NEAR(compiled.PredictMarginRow(std::span<const float>(holes.values.data(), holes.cols)),
              compiled.parts().intercept, 1e-12);
  for (size_t r = 0; r < Loans().num_rows(); r += 97) {
    Json row = RowJson(Loans(), r);
    if (r % 2 == 1) row["revol_util"] = nullptr;
    StatusOr<double> want = (*scorer)->PredictRow(row);
    StatusOr<double> got = compiled.PredictJsonRow(row);
    ASSERT_TRUE(want.ok() && got.ok()) << "row " << r;
    EXPECT_NEAR(*got, *want, 1e-6) << "row " << r;
  }
}

TEST(CompiledModelTest, ScorecardEqualsScorerOnEveryRow) {
  const TrainedModel& m = LinearModel("scorecard");
  CompiledModel compiled = Compile(m.package);
  EXPECT_EQ(compiled.kind(), CompiledKind::kScorecard);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  StatusOr<std::map<std::string, std::vector<double>>> expected =
      (*scorer)->PredictOutputs(Loans());
  StatusOr<std::vector<double>> margins = (*scorer)->PredictMargin(Loans());
  ASSERT_TRUE(expected.ok() && margins.ok());
  const Matrix x = CompiledMatrix(compiled, Loans());
  const double diff = MaxAbsDiff(CompiledScores(compiled, x), expected->at("probability"));
  std::printf("max |compiled - scorecard scorer| over %zu rows: %.3g\n", x.rows, diff);
  EXPECT_LE(diff, 1e-6);
  std::vector<double> scores(x.rows), compiled_margins(x.rows);
  for (size_t r = 0; r < x.rows; ++r) {
    std::span<const float> row(x.values.data() + r * x.cols, x.cols);
    scores[r] = compiled.PredictScoreRow(row);
    compiled_margins[r] = compiled.PredictMarginRow(row);
  }
  EXPECT_EQ(scores, expected->at("score"));
  EXPECT_LE(MaxAbsDiff(compiled_margins, *margins), 1e-9);
}

// Raw rows with missing cells (the missing bins) and categories never seen in training (the other
// bins), through the compiler's spec, equal the package's PredictRow.
TEST(CompiledModelTest, ScorecardJsonRowsWithMissingAndUnseenValues) {
  const TrainedModel& m = LinearModel("scorecard");
  CompiledModel compiled = Compile(m.package);
  StatusOr<std::unique_ptr<Scorer>> scorer = LoadScorer(m.package);
  ASSERT_TRUE(scorer.ok());
  const Table& t = Loans();
  size_t changed = 0;
  for (size_t r = 0; r < t.num_rows(); r += 53) {
    Json row = RowJson(t, r);
    size_t c = 0;
    for (const Column& column : t.columns()) {
      if (column.name() == "Class") continue;
      if ((r + c) % 4 == 0) {
        row[column.name()] = nullptr;
      } else if ((r + c) % 4 == 1 && column.type() == ColumnType::kString) {
        row[column.name()] = "never-seen-" + std::to_string(r);
      }
      ++c;
    }
    StatusOr<double> want = (*scorer)->PredictRow(row);
    StatusOr<double> got = compiled.PredictJsonRow(row);
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_NEAR(*got, *want, 1e-6) << "row " << r;
    const Json original = RowJson(t, r);
    if (std::abs(*got - *compiled.PredictJsonRow(original)) > 1e-9) ++changed;
  }
  // The edits did move scores, so the missing and other bins were exercised.
  EXPECT_GT(changed, 10u);
}

TEST(CompiledModelTest, RefusesUnknownKind) {
  ModelPackage package = LoanModel().package;
  package.manifest.kind = "forest";
  StatusOr<CompiledModel> compiled = CompileModel(package);
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(compiled.status().message(), HasSubstr("forest"));
}

// --- Corrupt trees -------------------------------------------------------------------------------

// The package with its model.json edited by `edit`, resealed so only the trees are wrong.
ModelPackage EditedModel(const std::function<void(Json&)>& edit) {
  const ModelPackage& original = LoanModel().package;
  StatusOr<Json> json = ParseJson(original.files.at("model.json"));
  EXPECT_TRUE(json.ok());
  edit(*json);
  std::map<std::string, std::string> files = original.files;
  files["model.json"] = DumpJson(*json);
  StatusOr<ModelPackage> sealed = SealModelPackage(original.manifest, files);
  EXPECT_TRUE(sealed.ok()) << sealed.status();
  return std::move(sealed).value();
}

Json& Tree(Json& model, size_t t) {
  return model["learner"]["gradient_booster"]["model"]["trees"][t];
}

void ExpectRefused(const ModelPackage& package, const std::string& message) {
  StatusOr<CompiledModel> compiled = CompileModel(package);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(compiled.status().message(), HasSubstr(message));
}

TEST(CompiledModelTest, RefusesCorruptTrees) {
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 3)["left_children"][0] = 999999; }),
                "trees[3] node 0: child index out of range");
  ExpectRefused(EditedModel([](Json& j) {
                  // Node 0's left child pointing back at the root: a cycle.
                  Tree(j, 5)["left_children"][0] = 0;
                }),
                "trees[5] node 0: a child is reached twice");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 0)["split_indices"][0] = 5000; }),
                "trees[0] node 0: split feature out of range");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 1)["split_conditions"].erase(0); }),
                "trees[1].split_conditions must be an array of");
  ExpectRefused(EditedModel([](Json& j) { Tree(j, 2).erase("default_left"); }),
                "trees[2].default_left is missing");
  ExpectRefused(EditedModel([](Json& j) { j["learner"]["gradient_booster"]["name"] = "dart"; }),
                "booster \"dart\" is not compiled");
  ExpectRefused(
      EditedModel([](Json& j) { j["learner"]["objective"]["name"] = "reg:squarederror"; }),
      "does not fit task binary_classification");
}

// --- The file format -----------------------------------------------------------------------------

TEST(CompiledFormatTest, EveryKindRoundTripsExactly) {
  std::vector<std::pair<std::string, CompiledModel>> models = {
      {"xgboost", Compile(LoanModel().package)},
      {"logistic", Compile(LinearModel("logistic").package)},
      {"scorecard", Compile(LinearModel("scorecard").package)}};
  for (const auto& [name, model] : models) {
    const std::string bytes = SerializeCompiledModel(model);
    StatusOr<CompiledModel> loaded = LoadCompiledModel(bytes);
    ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.status();
    EXPECT_EQ(loaded->kind(), model.kind());
    EXPECT_EQ(std::string(CompiledKindName(loaded->kind())), name);
    EXPECT_EQ(loaded->spec(), model.spec());
    EXPECT_EQ(SerializeCompiledModel(*loaded), bytes) << name;
    const Matrix x = WithHoles(CompiledMatrix(model, Loans()));
    EXPECT_EQ(CompiledScores(*loaded, x), CompiledScores(model, x)) << name;
  }
}

// Bytes with their trailing SHA-256 recomputed: a well-formed file with wrong content.
std::string Resealed(std::string bytes) {
  bytes.resize(bytes.size() - 32);
  Sha256 digest;
  digest.Update(bytes);
  return bytes + digest.FinishRaw();
}

void PutU32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void ExpectLoadError(const std::string& bytes, absl::StatusCode code, const std::string& message) {
  StatusOr<CompiledModel> loaded = LoadCompiledModel(bytes);
  ASSERT_FALSE(loaded.ok()) << message;
  EXPECT_EQ(loaded.status().code(), code) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr(message));
}

TEST(CompiledFormatTest, RefusesDamagedFiles) {
  const std::string good = SerializeCompiledModel(Compile(LoanModel().package));
  ExpectLoadError("", absl::StatusCode::kInvalidArgument, "not a compiled model");
  ExpectLoadError("PK\x03\x04 something else", absl::StatusCode::kInvalidArgument,
                  "not a compiled model");
  ExpectLoadError(good.substr(0, 40), absl::StatusCode::kDataLoss, "truncated");
  ExpectLoadError(good.substr(0, good.size() - 1), absl::StatusCode::kDataLoss,
                  "header's counts make");
  ExpectLoadError(good + "x", absl::StatusCode::kDataLoss, "header's counts make");
  // Any flipped bit in the content or the digest.
  for (size_t at : {size_t{20}, size_t{100}, good.size() / 2, good.size() - 40, good.size() - 1}) {
    std::string bad = good;
    bad[at] ^= 0x10;
    StatusOr<CompiledModel> loaded = LoadCompiledModel(bad);
    ASSERT_FALSE(loaded.ok()) << "byte " << at;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss) << "byte " << at;
  }
  std::string version = good;
  PutU32(version, 8, 2);
  ExpectLoadError(version, absl::StatusCode::kInvalidArgument, "format version 2");
}

// Files whose digest matches but whose content is wrong (written by a faulty or hostile writer):
// each refused by name, never evaluated.
TEST(CompiledFormatTest, RefusesInconsistentContent) {
  const CompiledModel model = Compile(LoanModel().package);
  const std::string good = SerializeCompiledModel(model);
  const size_t spec_size = static_cast<uint8_t>(good[24]) | static_cast<uint8_t>(good[25]) << 8;
  const size_t nodes_at = 72 + spec_size;
  const CompiledModel::Parts& p = model.parts();
  auto node_field = [&](size_t node, size_t field) { return nodes_at + node * 12 + field * 4; };
  const uint32_t root1 = p.roots[1];  // tree 1's root, an internal node

  std::string bad = good;
  PutU32(bad, node_field(root1, 2), static_cast<uint32_t>(p.nodes.size() + 5));
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument,
                  "tree 1 node 0: child index out of range");
  bad = good;
  PutU32(bad, node_field(root1, 2), root1);  // the root its own child: a cycle
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument,
                  "tree 1 node 0: child index 0 is not after its parent");
  bad = good;
  PutU32(bad, node_field(root1, 1), 4000);
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument,
                  "tree 1 node 0: split feature out of range");
  bad = good;
  PutU32(bad, node_field(root1, 0), 0x7fc00000);  // NaN
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument,
                  "tree 1 node 0: split threshold is NaN");
  bad = good;
  PutU32(bad, 12, 7);
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument, "unknown kind 7");
  bad = good;
  PutU32(bad, 12, static_cast<uint32_t>(CompiledKind::kLogistic));
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument, "a logistic model holds tree");
  bad = good;
  PutU32(bad, 20, static_cast<uint32_t>(model.num_features() + 1));
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument, "features; the preprocessing");
  bad = good;
  bad[72] = '[';
  ExpectLoadError(Resealed(bad), absl::StatusCode::kInvalidArgument, "spec is not JSON");
}

TEST(CompiledFormatTest, FromPartsRefusesWhatAFileCouldHold) {
  const CompiledModel trees = Compile(LoanModel().package);
  auto refused = [](CompiledModel::Parts p, const std::string& message) {
    StatusOr<CompiledModel> m = CompiledModel::FromParts(std::move(p));
    ASSERT_FALSE(m.ok()) << message;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(m.status().message(), HasSubstr(message));
  };
  CompiledModel::Parts p = trees.parts();
  p.roots[2] = p.roots[1];
  refused(p, "tree 1 has no nodes");
  p = trees.parts();
  p.nodes[p.roots[3] + 1].feature = CompiledModel::kLeaf | 1;
  refused(p, "tree 3 node 1");
  p = trees.parts();
  p.nodes.pop_back();
  refused(p, "tree 299");

  const CompiledModel card = Compile(LinearModel("scorecard").package);
  p = card.parts();
  p.edges.push_back(1);
  refused(p, "every bin, edge and slot bin");
  p = card.parts();
  p.terms[0].first_slot = static_cast<uint32_t>(card.num_features());
  refused(p, "term 0: slots out of range");
  for (size_t k = 0; k < p.terms.size(); ++k) {
    p = card.parts();
    if (p.terms[k].categorical == 0 && p.terms[k].num_bins > 3) {
      std::swap(p.edges[p.terms[k].first_edge], p.edges[p.terms[k].first_edge + 1]);
      refused(p, "ascending order");
    } else if (p.terms[k].categorical == 1) {
      p.slot_bins[p.terms[k].first_edge] = p.terms[k].num_bins;
      refused(p, "a slot's bin is out of range");
    }
  }
  p = card.parts();
  p.bin_logits[0] = std::numeric_limits<double>::infinity();
  refused(p, "bin 0: logit or points not finite");

  const CompiledModel linear = Compile(LinearModel("logistic").package);
  p = linear.parts();
  p.weights.pop_back();
  refused(p, "one weight and one center per feature");
  p = linear.parts();
  p.centers[3] = std::nan("");
  refused(p, "feature 3: weight or center is not finite");
}

}  // namespace
}  // namespace plinth
