// libFuzzer target: compiled model files (src/serve/compiled_format.h), which the edge binary reads
// from its bundle and then evaluates. The first byte of an input picks how the rest is read:
//   0  the bytes as a file;
//   1  the bytes with their SHA-256 appended, so that a file whose content is wrong but whose
//      digest is right reaches the structural checks;
//   2  edits (pairs of a little-endian 16-bit offset and a byte to XOR there) to one of three
//      valid files built here (trees, logistic, scorecard), resealed: the fuzzer starts from
//      well-formed files without a seed corpus.
// Invariants: loading never crashes, hangs or throws; a refusal is DataLoss or InvalidArgument; a
// loaded model predicts a row of NaNs and a row of zeros without crashing, with the same bits on
// every kernel this CPU runs and by PredictRow and PredictBatch; and it writes a file that loads
// and writes again to the same bytes.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/sha256.h"
#include "serve/compiled_format.h"
#include "serve/compiled_model.h"
#include "train/preprocess.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

using plinth::CompiledKernel;
using plinth::CompiledKind;
using plinth::CompiledModel;

std::string Sealed(std::string content) {
  plinth::Sha256 digest;
  digest.Update(content);
  return content + digest.FinishRaw();
}

// Two numeric features and a categorical one with two levels and "other": 5 outputs.
plinth::PreprocessSpec Spec() {
  plinth::StatusOr<plinth::PreprocessSpec> spec = plinth::PreprocessSpec::FromJson(
      {{"format", 1},
       {"features",
        {{{"column", "a"}, {"type", "float64"}, {"encoding", "numeric"}},
         {{"column", "b"}, {"type", "int64"}, {"encoding", "numeric"}},
         {{"column", "c"},
          {"type", "string"},
          {"encoding", "one_hot"},
          {"levels", {"x", "y"}},
          {"other", true}}}},
       {"outputs", {"a", "b", "c=x", "c=y", "c=__other__"}}});
  CHECK_INVARIANT(spec.ok());
  return *spec;
}

const std::vector<std::string>& BaseFiles() {
  static const std::vector<std::string>* files = [] {
    auto* out = new std::vector<std::string>;
    CompiledModel::Parts trees;
    trees.kind = CompiledKind::kXgboost;
    trees.binary = true;
    trees.spec = Spec();
    trees.base_margin = 0.25f;
    // Tree 0: a split on a with a split on c=y below; tree 1: one leaf.
    trees.nodes = {{0.5f, 0, 1},
                   {1.5f, 3 | CompiledModel::kDefaultLeft, 3},
                   {-0.25f, CompiledModel::kLeaf, 0},
                   {0.125f, CompiledModel::kLeaf, 0},
                   {0.75f, CompiledModel::kLeaf, 0},
                   {0.0625f, CompiledModel::kLeaf, 0}};
    trees.roots = {0, 5};
    CompiledModel::Parts linear;
    linear.kind = CompiledKind::kLogistic;
    linear.binary = true;
    linear.spec = Spec();
    linear.intercept = -1.5;
    linear.weights = {0.5, -0.25, 1, 0, -1};
    linear.centers = {1, 2, 0.5, 0.25, 0.25};
    CompiledModel::Parts card;
    card.kind = CompiledKind::kScorecard;
    card.binary = true;
    card.spec = Spec();
    card.intercept = -2;
    card.terms = {{0, 0, 1, 0, 4, 0}, {1, 2, 3, 4, 3, 0}};
    card.edges = {-1, 2};
    card.slot_bins = {0, 1, 1};
    card.bin_logits = {0.5, 0.1, -0.2, 0, 0.3, -0.4, 0};
    card.bin_points = {30, 20, 10, 15, 40, 5, 12};
    for (CompiledModel::Parts* parts : {&trees, &linear, &card}) {
      plinth::StatusOr<CompiledModel> model = CompiledModel::FromParts(*parts);
      CHECK_INVARIANT(model.ok());
      out->push_back(plinth::SerializeCompiledModel(*model));
    }
    return out;
  }();
  return *files;
}

void CheckModel(const CompiledModel& model) {
  const size_t n = model.num_features();
  std::vector<float> rows(2 * n, 0.0f);
  std::fill_n(rows.begin(), n, std::numeric_limits<float>::quiet_NaN());
  double batch[2];
  double first[2] = {0, 0};
  bool have_first = false;
  for (CompiledKernel kernel :
       {CompiledKernel::kPortable, CompiledKernel::kAvx2, CompiledKernel::kAvx512}) {
    if (!plinth::CompiledKernelSupported(kernel)) continue;
    model.PredictBatch(rows.data(), 2, n, batch, kernel);
    for (int r = 0; r < 2; ++r) {
      const double one = model.PredictRow(std::span<const float>(rows.data() + r * n, n), kernel);
      // Same bits, NaN included (a finite model gives finite sums, but infinities can add up).
      CHECK_INVARIANT(std::memcmp(&one, &batch[r], sizeof(double)) == 0);
      if (have_first) CHECK_INVARIANT(std::memcmp(&one, &first[r], sizeof(double)) == 0);
    }
    if (!have_first) std::copy_n(batch, 2, first);
    have_first = true;
  }
  if (model.kind() == CompiledKind::kScorecard) {
    for (int r = 0; r < 2; ++r) {
      (void)model.PredictScoreRow(std::span<const float>(rows.data() + r * n, n));
    }
  }
  const std::string written = plinth::SerializeCompiledModel(model);
  plinth::StatusOr<CompiledModel> again = plinth::LoadCompiledModel(written);
  CHECK_INVARIANT(again.ok());
  CHECK_INVARIANT(plinth::SerializeCompiledModel(*again) == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string file;
  switch (data[0] % 3) {
    case 0:
      file = std::string(rest);
      break;
    case 1:
      file = Sealed(std::string(rest));
      break;
    default: {
      if (rest.empty()) return 0;
      const std::string& base = BaseFiles()[static_cast<uint8_t>(rest[0]) % BaseFiles().size()];
      std::string content = base.substr(0, base.size() - 32);
      for (size_t i = 1; i + 3 <= rest.size(); i += 3) {
        const size_t at = (static_cast<uint8_t>(rest[i]) | static_cast<uint8_t>(rest[i + 1]) << 8) %
                          content.size();
        content[at] = static_cast<char>(content[at] ^ rest[i + 2]);
      }
      file = Sealed(std::move(content));
    }
  }
  plinth::StatusOr<CompiledModel> model = plinth::LoadCompiledModel(file);
  if (!model.ok()) {
    CHECK_INVARIANT(model.status().code() == absl::StatusCode::kDataLoss ||
                    model.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  CheckModel(*model);
  return 0;
}
