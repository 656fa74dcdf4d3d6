#include "serve/compiled_format.h"

#include <bit>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/sha256.h"

namespace plinth {
namespace {

using Parts = CompiledModel::Parts;

// Header layout (docs/formats/compiled-model.md); every field little-endian.
constexpr size_t kHeaderSize = 72;
constexpr size_t kDigestSize = 32;
constexpr uint32_t kBinaryFlag = 1;
constexpr size_t kNodeSize = 12;
constexpr size_t kTermSize = 24;

// Counts in header order.
enum Count { kNodes, kTrees, kWeights, kTerms, kEdges, kSlotBins, kBins, kNumCounts };

class Writer {
 public:
  void Bytes(std::string_view s) { out_.append(s); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void F32(float v) { U32(std::bit_cast<uint32_t>(v)); }
  void F64(double v) { U64(std::bit_cast<uint64_t>(v)); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  // Callers have checked the size, so reads never run past the end.
  std::string_view Bytes(size_t n) {
    std::string_view s = bytes_.substr(at_, n);
    at_ += n;
    return s;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes_[at_ + i])) << (8 * i);
    at_ += 4;
    return v;
  }
  uint64_t U64() {
    const uint64_t lo = U32();
    return lo | (static_cast<uint64_t>(U32()) << 32);
  }
  float F32() { return std::bit_cast<float>(U32()); }
  double F64() { return std::bit_cast<double>(U64()); }
  size_t at() const { return at_; }

 private:
  std::string_view bytes_;
  size_t at_ = 0;
};

Status Loss(const std::string& message) {
  return absl::DataLossError("compiled model file: " + message);
}

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("compiled model file: " + message);
}

}  // namespace

std::string SerializeCompiledModel(const CompiledModel& model) {
  const Parts& p = model.parts();
  const std::string spec = DumpJson(p.spec.ToJson());
  Writer w;
  w.Bytes(kCompiledModelMagic);
  w.U32(kCompiledModelFormat);
  w.U32(static_cast<uint32_t>(p.kind));
  w.U32(p.binary ? kBinaryFlag : 0);
  w.U32(static_cast<uint32_t>(model.num_features()));
  w.U32(static_cast<uint32_t>(spec.size()));
  w.U32(static_cast<uint32_t>(p.nodes.size()));
  w.U32(static_cast<uint32_t>(p.roots.size()));
  w.U32(static_cast<uint32_t>(p.weights.size()));
  w.U32(static_cast<uint32_t>(p.terms.size()));
  w.U32(static_cast<uint32_t>(p.edges.size()));
  w.U32(static_cast<uint32_t>(p.slot_bins.size()));
  w.U32(static_cast<uint32_t>(p.bin_logits.size()));
  w.F32(p.base_margin);
  w.U32(0);  // reserved
  w.F64(p.intercept);
  w.Bytes(spec);
  for (const CompiledModel::Node& n : p.nodes) {
    w.F32(n.value);
    w.U32(n.feature);
    w.U32(n.left);
  }
  for (uint32_t root : p.roots) w.U32(root);
  for (double v : p.weights) w.F64(v);
  for (double v : p.centers) w.F64(v);
  for (const CompiledModel::ScorecardTerm& t : p.terms) {
    for (uint32_t v :
         {t.categorical, t.first_slot, t.num_slots, t.first_bin, t.num_bins, t.first_edge}) {
      w.U32(v);
    }
  }
  for (float v : p.edges) w.F32(v);
  for (uint32_t v : p.slot_bins) w.U32(v);
  for (double v : p.bin_logits) w.F64(v);
  for (double v : p.bin_points) w.F64(v);
  Sha256 digest;
  digest.Update(w.str());
  w.Bytes(digest.FinishRaw());
  return std::move(w.str());
}

StatusOr<CompiledModel> LoadCompiledModel(std::string_view bytes) {
  if (bytes.size() < kCompiledModelMagic.size() ||
      bytes.substr(0, kCompiledModelMagic.size()) != kCompiledModelMagic) {
    return Invalid("not a compiled model (the file does not start with \"" +
                   std::string(kCompiledModelMagic) + "\")");
  }
  if (bytes.size() < kHeaderSize + kDigestSize) {
    return Loss("truncated: " + std::to_string(bytes.size()) + " bytes, less than the " +
                std::to_string(kHeaderSize + kDigestSize) + " of an empty model");
  }
  Reader r(bytes);
  r.Bytes(kCompiledModelMagic.size());
  const uint32_t version = r.U32();
  if (version != kCompiledModelFormat) {
    return Invalid("format version " + std::to_string(version) + " is not supported (this build " +
                   "reads version " + std::to_string(kCompiledModelFormat) + ")");
  }
  const uint32_t kind = r.U32();
  const uint32_t flags = r.U32();
  const uint32_t num_features = r.U32();
  const uint32_t spec_size = r.U32();
  uint64_t counts[kNumCounts];
  for (uint64_t& c : counts) c = r.U32();
  // Every count times its element size, in 64 bits: no product of 32-bit counts overflows.
  const uint64_t expected = kHeaderSize + uint64_t{spec_size} + counts[kNodes] * kNodeSize +
                            counts[kTrees] * 4 + counts[kWeights] * 16 +
                            counts[kTerms] * kTermSize + counts[kEdges] * 4 +
                            counts[kSlotBins] * 4 + counts[kBins] * 16 + kDigestSize;
  if (expected != bytes.size()) {
    return Loss("the file holds " + std::to_string(bytes.size()) +
                " bytes; its header's counts make " + std::to_string(expected) +
                " (truncated or damaged)");
  }
  const std::string_view content = bytes.substr(0, bytes.size() - kDigestSize);
  Sha256 digest;
  digest.Update(content);
  if (digest.FinishRaw() != bytes.substr(content.size())) {
    return Loss("its SHA-256 does not match its content (the file is damaged)");
  }
  if (kind < static_cast<uint32_t>(CompiledKind::kXgboost) ||
      kind > static_cast<uint32_t>(CompiledKind::kScorecard)) {
    return Invalid("unknown kind " + std::to_string(kind));
  }
  if ((flags & ~kBinaryFlag) != 0) return Invalid("unknown flags " + std::to_string(flags));

  Parts p;
  p.kind = static_cast<CompiledKind>(kind);
  p.binary = (flags & kBinaryFlag) != 0;
  p.base_margin = r.F32();
  if (r.U32() != 0) return Invalid("the reserved header field is not 0");
  p.intercept = r.F64();
  StatusOr<Json> spec_json = ParseJson(r.Bytes(spec_size));
  if (!spec_json.ok()) {
    return Invalid("the preprocessing spec is not JSON: " +
                   std::string(spec_json.status().message()));
  }
  StatusOr<PreprocessSpec> spec = PreprocessSpec::FromJson(*spec_json);
  if (!spec.ok()) return Invalid(std::string(spec.status().message()));
  p.spec = std::move(spec).value();
  if (p.spec.num_outputs() != num_features) {
    return Invalid("the header says " + std::to_string(num_features) +
                   " features; the preprocessing spec has " + std::to_string(p.spec.num_outputs()) +
                   " outputs");
  }
  p.nodes.resize(counts[kNodes]);
  for (CompiledModel::Node& n : p.nodes) {
    n.value = r.F32();
    n.feature = r.U32();
    n.left = r.U32();
  }
  p.roots.resize(counts[kTrees]);
  for (uint32_t& root : p.roots) root = r.U32();
  p.weights.resize(counts[kWeights]);
  for (double& v : p.weights) v = r.F64();
  p.centers.resize(counts[kWeights]);
  for (double& v : p.centers) v = r.F64();
  p.terms.resize(counts[kTerms]);
  for (CompiledModel::ScorecardTerm& t : p.terms) {
    t.categorical = r.U32();
    t.first_slot = r.U32();
    t.num_slots = r.U32();
    t.first_bin = r.U32();
    t.num_bins = r.U32();
    t.first_edge = r.U32();
  }
  p.edges.resize(counts[kEdges]);
  for (float& v : p.edges) v = r.F32();
  p.slot_bins.resize(counts[kSlotBins]);
  for (uint32_t& v : p.slot_bins) v = r.U32();
  p.bin_logits.resize(counts[kBins]);
  for (double& v : p.bin_logits) v = r.F64();
  p.bin_points.resize(counts[kBins]);
  for (double& v : p.bin_points) v = r.F64();
  // FromParts makes every check CompileModel's output passes; its InvalidArgument names the
  // problem.
  return CompiledModel::FromParts(std::move(p));
}

}  // namespace plinth
