#include "serve/compiled_model.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PLINTH_X86_KERNELS 1
// GCC 12's AVX-512 headers start "undefined" vectors from themselves (GCC bug 105593), which
// -Wmaybe-uninitialized reports at every inlined gather and permute; the warning's location is
// the header, so it is silenced for the header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace plinth {

using Node = CompiledModel::Node;
using ScorecardTerm = CompiledModel::ScorecardTerm;

namespace compiled_internal {

// A split for the batch kernels: where its feature's column starts in a transposed block of
// kBatchRows rows (in bytes), its threshold, the mask slots (node index within its tree) of
// itself and its left child (the right one is next), and its depth.
struct Split {
  uint32_t column;
  float threshold;
  uint16_t slot;
  uint8_t depth;          // of the node in its tree (the root's is 0)
  uint8_t default_right;  // 1: a missing value goes right
  uint32_t left;
};

// The trees in the three layouts the kernels read, all derived from Parts::nodes and owned here
// (a CompiledModel's copies share one).
struct TreeKernels {
  float base_margin = 0;
  size_t num_features = 0;

  // The compact form (Parts::nodes, Parts::roots), walked node by node by the portable kernel and
  // for trees too large for the others.
  std::vector<Node> nodes;
  std::vector<uint32_t> roots;
  std::vector<uint32_t> depths;  // per tree: steps from the root to its deepest leaf

  // Single rows, one tree per vector lane: each tree of depth <= kMaxPaddedDepth as a complete
  // binary tree in level order, its shallower leaves copied down to the bottom level, so that
  // node p of level d is at 2^d - 1 + p and a step is p -> 2p + go_right with no child index to
  // load. Deeper trees have offset -1.
  // Internal nodes, one word each: feature | kPadDefaultRight in the low half, the threshold's
  // bits in the high half (one gather fetches both).
  std::vector<uint64_t> pad_node;
  std::vector<float> pad_leaf;       // 2^depth per tree
  std::vector<int32_t> node_offset;  // per tree: its first internal node in pad_*
  std::vector<int32_t> leaf_offset;  // per tree: its first leaf in pad_leaf
  std::vector<int32_t> pad_depth;    // per tree

  // Batches, one row per vector lane (PathTrees): per tree [split_begin[t], split_begin[t + 1])
  // in breadth-first order, so that a parent comes before its children. Trees that are not
  // `batched` (more than kMaxSlots nodes, deeper than kMaxPaddedDepth, or rows wider than
  // kMaxBatchFeatures) are walked node by node.
  std::vector<Split> splits;
  std::vector<uint32_t> split_begin;
  std::vector<uint8_t> batched;
};

}  // namespace compiled_internal

namespace {

using compiled_internal::Split;
using compiled_internal::TreeKernels;

// Trees up to this depth (2^10 leaves) get the padded single-row layout; deeper ones, which a
// padded copy would make large, are walked node by node.
constexpr uint32_t kMaxPaddedDepth = 10;
// In a padded feature word: the node sends a missing value right (the sign bit, which the kernels
// test directly).
constexpr uint32_t kPadDefaultRight = 1u << 31;
// Zero entries after every padded array: the kernels load whole vectors of per-tree entries and
// 16-entry tables from a level's start, and must not read past the end.
constexpr size_t kPadTail = 64;
// The batch kernels keep a mask per node of a tree; trees with more nodes are walked node by node.
constexpr size_t kMaxSlots = 256;
// Rows per transposed block of the SIMD batch kernels, and the most features they take (the
// block's columns are addressed with 32-bit byte offsets and stay small enough to cache); wider
// rows are walked node by node.
constexpr size_t kBatchRows = 64;
constexpr size_t kMaxBatchFeatures = 65536;
// Rows per block in PredictBatch.
constexpr size_t kBlock = 256;

Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError("compiled model: " + message);
}

std::string TreeNode(size_t tree, size_t node) {
  return "tree " + std::to_string(tree) + " node " + std::to_string(node);
}

// ---- Portable tree walks ------------------------------------------------------------------------

// One step down a tree from node `i` for row `x`, as XGBoost's RegTree::GetNext decides it
// (value < threshold: left; NaN: the default side), written without branches so the compiler
// emits conditional moves: tree paths are data-dependent and would mispredict. A leaf stays put,
// so a tree can be walked a fixed number of steps (its depth) in lockstep with others.
inline uint32_t Step(const Node* nodes, uint32_t i, const float* x) {
  const Node n = nodes[i];
  const float v = x[n.feature & CompiledModel::kFeatureMask];  // a leaf reads feature 0
  const uint32_t lt = v < n.value;
  const uint32_t ge = v >= n.value;  // both false for NaN
  const uint32_t default_right = (n.feature & CompiledModel::kDefaultLeft) ? 0 : 1;
  const uint32_t next = n.left + (ge | (((lt | ge) ^ 1) & default_right));
  return (n.feature & CompiledModel::kLeaf) ? i : next;
}

inline float CompactLeaf(const TreeKernels& k, size_t tree, const float* x) {
  uint32_t at = k.roots[tree];
  for (uint32_t d = 0; d < k.depths[tree]; ++d) at = Step(k.nodes.data(), at, x);
  return k.nodes[at].value;
}

// Walks kLanes (tree, row) pairs together: the walks are independent chains of loads, so running
// them interleaved hides each load's latency behind the others'.
constexpr int kLanes = 8;

inline void WalkLanes(const Node* nodes, uint32_t (&at)[kLanes], const float* const (&x)[kLanes],
                      uint32_t depth) {
  for (uint32_t d = 0; d < depth; ++d) {
    for (int k = 0; k < kLanes; ++k) at[k] = Step(nodes, at[k], x[k]);
  }
}

float PortableMargin(const TreeKernels& k, const float* x) {
  // Float, in tree order, from the base margin: the CPU predictor's order of additions. Trees are
  // walked kLanes at a time, but their leaves are still added one by one in order.
  const Node* nodes = k.nodes.data();
  const size_t trees = k.roots.size();
  float sum = k.base_margin;
  size_t i = 0;
  const float* const xs[kLanes] = {x, x, x, x, x, x, x, x};
  for (; i + kLanes <= trees; i += kLanes) {
    uint32_t at[kLanes];
    uint32_t depth = 0;
    for (int l = 0; l < kLanes; ++l) {
      at[l] = k.roots[i + l];
      depth = std::max(depth, k.depths[i + l]);
    }
    WalkLanes(nodes, at, xs, depth);
    for (int l = 0; l < kLanes; ++l) sum += nodes[at[l]].value;
  }
  for (; i < trees; ++i) sum += CompactLeaf(k, i, x);
  return sum;
}

// Adds each tree's leaf to sums[0..count) (rows at rows + r * stride), tree by tree: one tree's
// nodes serve every row of the block while hot in cache, kLanes rows walking it together.
void PortableBatch(const TreeKernels& k, const float* rows, size_t count, size_t stride,
                   float* __restrict sums) {
  const Node* nodes = k.nodes.data();
  for (size_t i = 0; i < k.roots.size(); ++i) {
    const uint32_t root = k.roots[i], depth = k.depths[i];
    size_t r = 0;
    for (; r + kLanes <= count; r += kLanes) {
      uint32_t at[kLanes];
      const float* xs[kLanes];
      for (int l = 0; l < kLanes; ++l) {
        at[l] = root;
        xs[l] = rows + (r + l) * stride;
      }
      WalkLanes(nodes, at, xs, depth);
      for (int l = 0; l < kLanes; ++l) sums[r + l] += nodes[at[l]].value;
    }
    for (; r < count; ++r) sums[r] += CompactLeaf(k, i, rows + r * stride);
  }
}

#ifdef PLINTH_X86_KERNELS

// The batch kernels' transposed block: xt[f * rows + r] = row r's feature f, 64-byte aligned, one
// buffer per thread, reused.
float* TransposeBuffer(size_t floats) {
  thread_local std::vector<float> buffer;
  // 64 bytes of slack for alignment.
  if (buffer.size() < floats + 16) buffer.resize(floats + 16);
  auto at = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + ((64 - at % 64) % 64) / sizeof(float);
}

#define PLINTH_TARGET_AVX2 __attribute__((target("avx2")))
#define PLINTH_TARGET_AVX512 __attribute__((target("avx2,avx512f,avx512dq,avx512bw,avx512vl")))

// ---- AVX2: 8 lanes ------------------------------------------------------------------------------

// One go_right decision per lane, as Step makes it: x >= threshold, or x missing (NaN) at a node
// whose default is right (the feature word's sign bit). All ones for right.
PLINTH_TARGET_AVX2 inline __m256i GoRight8(__m256 x, __m256 threshold, __m256i feature) {
  const __m256 ge = _mm256_cmp_ps(x, threshold, _CMP_GE_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 default_right = _mm256_castsi256_ps(_mm256_srai_epi32(feature, 31));
  return _mm256_castps_si256(_mm256_or_ps(ge, _mm256_and_ps(nan, default_right)));
}

// Transposes 8 vectors of 8 floats in place.
PLINTH_TARGET_AVX2 inline void Transpose8(__m256* v) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    u[4 * h] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
    u[4 * h + 1] = _mm256_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
    u[4 * h + 2] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
    u[4 * h + 3] = _mm256_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    v[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

// The transposed block xt[f * kRows + r] of rows [0, count) (rows from count to kRows zero), 8 x
// 8 at a time. Returns whether any value is NaN.
template <size_t kRows>
PLINTH_TARGET_AVX2 bool TransposeRows8(const float* rows, size_t count, size_t stride,
                                       size_t features, float* xt) {
  __m256 nan = _mm256_setzero_ps();
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t r0 = 0; r0 < kRows; r0 += 8) {
    for (size_t f0 = 0; f0 < features; f0 += 8) {
      const size_t nf = std::min<size_t>(8, features - f0);
      // Masked loads read (and fault on) only the features that exist.
      const __m256i present = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(nf)), lane);
      __m256 v[8];
      for (size_t i = 0; i < 8; ++i) {
        v[i] = r0 + i < count ? _mm256_maskload_ps(rows + (r0 + i) * stride + f0, present)
                              : _mm256_setzero_ps();
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v[i], v[i], _CMP_UNORD_Q));
      }
      Transpose8(v);
      for (size_t i = 0; i < nf; ++i) _mm256_store_ps(xt + (f0 + i) * kRows + r0, v[i]);
    }
  }
  return _mm256_movemask_ps(nan) != 0;
}

// Lane masks (all ones where bit l of the index is set) for each byte, to turn bits of a row
// word back into vector lanes.
struct ByteMasks {
  alignas(32) int32_t lanes[256][8];
  ByteMasks() {
    for (int b = 0; b < 256; ++b) {
      for (int l = 0; l < 8; ++l) lanes[b][l] = (b >> l) & 1 ? -1 : 0;
    }
  }
};

const ByteMasks& Bytes() {
  static const ByteMasks* masks = new ByteMasks;
  return *masks;
}

// Entry pos of each lane in a table of 2^depth floats.
PLINTH_TARGET_AVX2 inline __m256 LeafLookup8(const float* t, int depth, __m256i pos) {
  if (depth <= 3) return _mm256_permutevar8x32_ps(_mm256_loadu_ps(t), pos);
  return _mm256_i32gather_ps(t, pos, 4);
}

// Batches with AVX2, as PathTrees below for AVX-512: 64 rows (eight vectors of 8) per block, one
// 64-bit word of row bits per node (eight compares, their sign bits packed by movemask), each
// row's path spelled by one word per depth, and its leaf gathered.
template <bool kNaN>
PLINTH_TARGET_AVX2 void PathTrees8(const TreeKernels& k, const float* xt, const float* rows,
                                   size_t count, size_t stride, __m256* sums) {
  constexpr int G = kBatchRows / 8;
  const ByteMasks& bytes = Bytes();
  uint64_t at[kMaxSlots];
  uint64_t right[kMaxPaddedDepth][4];
  for (size_t i = 0; i < k.roots.size(); ++i) {
    const uint32_t split_begin = k.split_begin[i], split_end = k.split_begin[i + 1];
    if (!k.batched[i]) {
      alignas(32) float tmp[kBatchRows];
      for (int g = 0; g < G; ++g) _mm256_store_ps(tmp + 8 * g, sums[g]);
      for (size_t r = 0; r < count; ++r) tmp[r] += CompactLeaf(k, i, rows + r * stride);
      for (int g = 0; g < G; ++g) sums[g] = _mm256_load_ps(tmp + 8 * g);
      continue;
    }
    const int depth = k.pad_depth[i];
    std::memset(right, 0, sizeof(right[0]) * depth);
    at[0] = ~uint64_t{0};
    for (uint32_t s = split_begin; s < split_end; ++s) {
      const Split& split = k.splits[s];
      const float* column =
          reinterpret_cast<const float*>(reinterpret_cast<const char*>(xt) + split.column);
      const __m256 threshold = _mm256_set1_ps(split.threshold);
      const __m256 default_right =
          _mm256_castsi256_ps(_mm256_set1_epi32(-static_cast<int32_t>(split.default_right)));
      uint64_t go = 0;
      for (int g = 0; g < G; ++g) {
        __m256 c = _mm256_cmp_ps(threshold, _mm256_load_ps(column + 8 * g), _CMP_LE_OQ);
        if (kNaN) {
          const __m256 x = _mm256_load_ps(column + 8 * g);
          c = _mm256_or_ps(c, _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), default_right));
        }
        go |= static_cast<uint64_t>(_mm256_movemask_ps(c)) << (8 * g);
      }
      const uint64_t here = at[split.slot];
      go &= here;
      at[split.left] = here ^ go;
      at[split.left + 1] = go;
      right[split.depth][s & 3] |= go;
    }
    __m256i pos[G];
    for (int g = 0; g < G; ++g) pos[g] = _mm256_setzero_si256();
    for (int d = 0; d < depth; ++d) {
      const __m256i bit = _mm256_set1_epi32(1 << (depth - 1 - d));
      const uint64_t word = right[d][0] | right[d][1] | right[d][2] | right[d][3];
      for (int g = 0; g < G; ++g) {
        const __m256i lanes = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(bytes.lanes[(word >> (8 * g)) & 0xff]));
        pos[g] = _mm256_or_si256(pos[g], _mm256_and_si256(lanes, bit));
      }
    }
    const float* leaf = k.pad_leaf.data() + k.leaf_offset[i];
    for (int g = 0; g < G; ++g) sums[g] = _mm256_add_ps(sums[g], LeafLookup8(leaf, depth, pos[g]));
  }
}

PLINTH_TARGET_AVX2 void Avx2Batch(const TreeKernels& k, const float* rows, size_t n, size_t stride,
                                  float* sums) {
  constexpr int G = kBatchRows / 8;
  float* xt = TransposeBuffer(k.num_features * kBatchRows);
  for (size_t begin = 0; begin < n; begin += kBatchRows) {
    const size_t count = std::min(kBatchRows, n - begin);
    const float* block = rows + begin * stride;
    // The transposed block always holds kBatchRows rows (zeros after `count`), whose extra lanes
    // are computed and dropped.
    const bool nan = TransposeRows8<kBatchRows>(block, count, stride, k.num_features, xt);
    alignas(32) float tmp[kBatchRows] = {};
    std::copy_n(sums + begin, count, tmp);
    __m256 v[G];
    for (int g = 0; g < G; ++g) v[g] = _mm256_load_ps(tmp + 8 * g);
    if (nan) {
      PathTrees8<true>(k, xt, block, count, stride, v);
    } else {
      PathTrees8<false>(k, xt, block, count, stride, v);
    }
    for (int g = 0; g < G; ++g) _mm256_store_ps(tmp + 8 * g, v[g]);
    std::copy_n(tmp, count, sums + begin);
  }
}

// Single rows: G vectors of 8 consecutive trees (from `first`) walk one row together through the
// padded layout; the leaves' values go to vals in tree order. Trees of other depths walk in the
// same vector: a lane stops when its tree's depth is reached; deep trees' lanes are left out.
template <int G>
PLINTH_TARGET_AVX2 inline void WalkTrees8(const TreeKernels& k, size_t first, const float* x,
                                          float* vals) {
  const __m256i mask = _mm256_set1_epi32(static_cast<int>(CompiledModel::kFeatureMask));
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const size_t trees = k.roots.size();
  __m256i valid[G], node_offset[G], depth[G], pos[G];
  int max_depth = 0;
  for (int g = 0; g < G; ++g) {
    const size_t at = first + size_t(g) * 8;
    const int lanes = at >= trees ? 0 : static_cast<int>(std::min<size_t>(8, trees - at));
    node_offset[g] =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.node_offset.data() + at));
    depth[g] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.pad_depth.data() + at));
    valid[g] = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), node_offset[g]),
                                   _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), lane));
    pos[g] = _mm256_setzero_si256();
    for (int l = 0; l < lanes; ++l) {
      if (k.node_offset[at + l] >= 0) max_depth = std::max(max_depth, k.pad_depth[at + l]);
    }
  }
  const long long* nodes = reinterpret_cast<const long long*>(k.pad_node.data());
  for (int d = 0; d < max_depth; ++d) {
    const __m256i level = _mm256_set1_epi32((1 << d) - 1);
    for (int g = 0; g < G; ++g) {
      const __m256i active =
          _mm256_and_si256(valid[g], _mm256_cmpgt_epi32(depth[g], _mm256_set1_epi32(d)));
      const __m256i node = _mm256_add_epi32(_mm256_add_epi32(node_offset[g], level), pos[g]);
      // Two gathers of 4 nodes (feature and threshold in one word each), then the features and
      // thresholds apart, in lane order.
      const __m256i lo =
          _mm256_mask_i32gather_epi64(_mm256_setzero_si256(), nodes, _mm256_castsi256_si128(node),
                                      _mm256_cvtepi32_epi64(_mm256_castsi256_si128(active)), 8);
      const __m256i hi = _mm256_mask_i32gather_epi64(
          _mm256_setzero_si256(), nodes, _mm256_extracti128_si256(node, 1),
          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(active, 1)), 8);
      const __m256 lo_ps = _mm256_castsi256_ps(lo), hi_ps = _mm256_castsi256_ps(hi);
      const __m256i f = _mm256_castps_si256(_mm256_castpd_ps(
          _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo_ps, hi_ps, 0x88)), 0xd8)));
      const __m256 th = _mm256_castpd_ps(
          _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo_ps, hi_ps, 0xdd)), 0xd8));
      const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), x, _mm256_and_si256(f, mask),
                                                _mm256_castsi256_ps(active), 4);
      const __m256i right = _mm256_and_si256(GoRight8(v, th, f), active);
      // pos = 2 pos + go_right on active lanes, go_right being -1 for true.
      pos[g] = _mm256_sub_epi32(_mm256_add_epi32(pos[g], _mm256_and_si256(pos[g], active)), right);
    }
  }
  for (int g = 0; g < G; ++g) {
    const __m256i leaf_offset = _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(k.leaf_offset.data() + first + size_t(g) * 8));
    const __m256 v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), k.pad_leaf.data(),
                                              _mm256_add_epi32(leaf_offset, pos[g]),
                                              _mm256_castsi256_ps(valid[g]), 4);
    _mm256_storeu_ps(vals + g * 8, v);
  }
}

PLINTH_TARGET_AVX2 float Avx2Margin(const TreeKernels& k, const float* x) {
  constexpr size_t G = 4, kChunk = G * 8;
  alignas(32) float vals[kChunk];
  const size_t trees = k.roots.size();
  float sum = k.base_margin;
  for (size_t first = 0; first < trees; first += kChunk) {
    WalkTrees8<G>(k, first, x, vals);
    const size_t n = std::min(kChunk, trees - first);
    for (size_t l = 0; l < n; ++l) {
      const size_t i = first + l;
      sum += k.node_offset[i] >= 0 ? vals[l] : CompactLeaf(k, i, x);
    }
  }
  return sum;
}

// ---- AVX-512: 16 lanes --------------------------------------------------------------------------

// Transposes 16 vectors of 16 floats in place (v[i][j] becomes v[j][i]).
PLINTH_TARGET_AVX512 inline void Transpose16(__m512* v) {
  __m512 t[16], u[16], w[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 4; ++i) {
      w[8 * h + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0x88);
      w[8 * h + 4 + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0xdd);
    }
  }
  for (int i = 0; i < 8; ++i) {
    v[i] = _mm512_shuffle_f32x4(w[i], w[8 + i], 0x88);
    v[8 + i] = _mm512_shuffle_f32x4(w[i], w[8 + i], 0xdd);
  }
}

// The transposed block xt[f * kRows + r] of rows [0, count) (rows from count to kRows zero), 16 x
// 16 at a time. Returns whether any value is NaN.
template <size_t kRows>
PLINTH_TARGET_AVX512 bool TransposeRows(const float* rows, size_t count, size_t stride,
                                        size_t features, float* xt) {
  // The largest magnitude's bits: a NaN's exceed infinity's (kept in vector registers, out of the
  // busy mask unit).
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  __m512i largest = _mm512_setzero_si512();
  for (size_t r0 = 0; r0 < kRows; r0 += 16) {
    for (size_t f0 = 0; f0 < features; f0 += 16) {
      const size_t nf = std::min<size_t>(16, features - f0);
      // Masked loads read (and fault on) only the features that exist.
      const __mmask16 present = static_cast<__mmask16>((1u << nf) - 1);
      __m512 v[16];
      for (size_t i = 0; i < 16; ++i) {
        v[i] = r0 + i < count ? _mm512_maskz_loadu_ps(present, rows + (r0 + i) * stride + f0)
                              : _mm512_setzero_ps();
        largest = _mm512_max_epu32(largest, _mm512_and_si512(_mm512_castps_si512(v[i]), magnitude));
      }
      Transpose16(v);
      for (size_t i = 0; i < nf; ++i) _mm512_store_ps(xt + (f0 + i) * kRows + r0, v[i]);
    }
  }
  return _mm512_reduce_max_epu32(largest) > 0x7f800000u;
}

// Entry pos of each lane in a table of 2^depth floats (depth <= kMaxPaddedDepth), with
// permutes from registers where the table fits a few.
PLINTH_TARGET_AVX512 inline __m512 LeafLookup(const float* t, int depth, __m512i pos) {
  if (depth <= 4) return _mm512_permutexvar_ps(pos, _mm512_loadu_ps(t));
  const __m512 a = _mm512_permutex2var_ps(_mm512_loadu_ps(t), pos, _mm512_loadu_ps(t + 16));
  if (depth == 5) return a;
  if (depth > 7) return _mm512_i32gather_ps(pos, t, 4);
  const __mmask16 odd32 = _mm512_test_epi32_mask(pos, _mm512_set1_epi32(32));
  const __m512 b = _mm512_permutex2var_ps(_mm512_loadu_ps(t + 32), pos, _mm512_loadu_ps(t + 48));
  const __m512 ab = _mm512_mask_blend_ps(odd32, a, b);
  if (depth == 6) return ab;
  const __m512 c = _mm512_permutex2var_ps(_mm512_loadu_ps(t + 64), pos, _mm512_loadu_ps(t + 80));
  const __m512 d = _mm512_permutex2var_ps(_mm512_loadu_ps(t + 96), pos, _mm512_loadu_ps(t + 112));
  const __m512 cd = _mm512_mask_blend_ps(odd32, c, d);
  return _mm512_mask_blend_ps(_mm512_test_epi32_mask(pos, _mm512_set1_epi32(64)), ab, cd);
}

// Batches: kBatchRows = 64 rows (four vectors of 16) from the transposed block xt through every
// tree, sums[g] += each tree's leaf, in tree order. Each node's condition is computed for the 64
// rows at once (four compares) and kept as a 64-bit word, one bit per row, in a general register:
// the rows reaching each child are one AND and one XOR away. The rows' decisions at each depth
// are collected into one word per depth, which together spell each row's path, that is, its
// leaf's position in the padded tree (shallower leaves are copied down there): the leaf values
// are then a permute (or gather) away. No branch depends on the data.
template <bool kNaN>
PLINTH_TARGET_AVX512 void PathTrees(const TreeKernels& k, const float* xt, const float* rows,
                                    size_t count, size_t stride, __m512* sums) {
  constexpr int G = kBatchRows / 16;
  static_assert(G == 4, "one 64-bit word per node and block");
  uint64_t at[kMaxSlots];
  // Four words per depth, taken in turn: with one, every split of a level would wait for the
  // previous one's update in memory.
  uint64_t right[kMaxPaddedDepth][4];
  for (size_t i = 0; i < k.roots.size(); ++i) {
    if (!k.batched[i]) {
      alignas(64) float tmp[kBatchRows];
      for (int g = 0; g < G; ++g) _mm512_store_ps(tmp + 16 * g, sums[g]);
      for (size_t r = 0; r < count; ++r) tmp[r] += CompactLeaf(k, i, rows + r * stride);
      for (int g = 0; g < G; ++g) sums[g] = _mm512_load_ps(tmp + 16 * g);
      continue;
    }
    const int depth = k.pad_depth[i];
    std::memset(right, 0, sizeof(right[0]) * depth);
    at[0] = ~uint64_t{0};
    for (uint32_t s = k.split_begin[i]; s < k.split_begin[i + 1]; ++s) {
      const Split& split = k.splits[s];
      const float* column =
          reinterpret_cast<const float*>(reinterpret_cast<const char*>(xt) + split.column);
      // threshold <= x is x >= threshold, and false for NaN; written this way round the load of
      // x folds into the compare.
      const __m512 threshold = _mm512_set1_ps(split.threshold);
      __mmask16 c[G];
      for (int g = 0; g < G; ++g) {
        c[g] = _mm512_cmp_ps_mask(threshold, _mm512_load_ps(column + 16 * g), _CMP_LE_OQ);
      }
      if (kNaN) {
        const __mmask16 default_right =
            static_cast<__mmask16>(-static_cast<int32_t>(split.default_right));
        for (int g = 0; g < G; ++g) {
          const __m512 x = _mm512_load_ps(column + 16 * g);
          c[g] |= _mm512_mask_cmp_ps_mask(default_right, x, x, _CMP_UNORD_Q);
        }
      }
      uint64_t go =
          _cvtmask64_u64(_mm512_kunpackd(_mm512_kunpackw(c[3], c[2]), _mm512_kunpackw(c[1], c[0])));
      const uint64_t here = at[split.slot];
      go &= here;
      // Kept in a general register: mask registers are slow to store.
      asm("" : "+r"(go));
      at[split.left] = here ^ go;
      at[split.left + 1] = go;
      right[split.depth][s & 3] |= go;
    }
    // Each row's path: bit depth - 1 - d is its decision at depth d.
    __m512i pos[G];
    for (int g = 0; g < G; ++g) pos[g] = _mm512_setzero_si512();
    for (int d = 0; d < depth; ++d) {
      const __m512i bit = _mm512_set1_epi32(1 << (depth - 1 - d));
      const __mmask64 word = _cvtu64_mask64(right[d][0] | right[d][1] | right[d][2] | right[d][3]);
      // Bits 16 g .. 16 g + 15 of the word are the lanes of vector g (G == 4).
      const __mmask16 lanes[4] = {static_cast<__mmask16>(word),
                                  static_cast<__mmask16>(_kshiftri_mask64(word, 16)),
                                  static_cast<__mmask16>(_kshiftri_mask64(word, 32)),
                                  static_cast<__mmask16>(_kshiftri_mask64(word, 48))};
      for (int g = 0; g < G; ++g) pos[g] = _mm512_mask_or_epi32(pos[g], lanes[g], pos[g], bit);
    }
    const float* leaf = k.pad_leaf.data() + k.leaf_offset[i];
    for (int g = 0; g < G; ++g) sums[g] = _mm512_add_ps(sums[g], LeafLookup(leaf, depth, pos[g]));
  }
}

PLINTH_TARGET_AVX512 void Avx512Batch(const TreeKernels& k, const float* rows, size_t n,
                                      size_t stride, float* sums) {
  constexpr int G = kBatchRows / 16;
  float* xt = TransposeBuffer(k.num_features * kBatchRows);
  for (size_t begin = 0; begin < n; begin += kBatchRows) {
    const size_t count = std::min(kBatchRows, n - begin);
    const float* block = rows + begin * stride;
    // The transposed block always holds kBatchRows rows (zeros after `count`), whose extra lanes
    // are computed and dropped.
    const bool nan = TransposeRows<kBatchRows>(block, count, stride, k.num_features, xt);
    alignas(64) float tmp[kBatchRows] = {};
    std::copy_n(sums + begin, count, tmp);
    __m512 v[G];
    for (int g = 0; g < G; ++g) v[g] = _mm512_load_ps(tmp + 16 * g);
    if (nan) {
      PathTrees<true>(k, xt, block, count, stride, v);
    } else {
      PathTrees<false>(k, xt, block, count, stride, v);
    }
    for (int g = 0; g < G; ++g) _mm512_store_ps(tmp + 16 * g, v[g]);
    std::copy_n(tmp, count, sums + begin);
  }
}

PLINTH_TARGET_AVX512 inline __mmask16 GoRight16(__m512 x, __m512 threshold, __m512i feature,
                                                __mmask16 active) {
  return _mm512_mask_cmp_ps_mask(active, x, threshold, _CMP_GE_OQ) |
         _mm512_mask_cmp_ps_mask(active & _mm512_movepi32_mask(feature), x, x, _CMP_UNORD_Q);
}

// A row of up to 128 features held in registers, so that each lane's feature is a permute away
// rather than a gather; wider rows are gathered.
struct Row16 {
  __m512 v[8];
  int chunks;  // 16-float vectors in v; 0: gather from x
  const float* x;
};

PLINTH_TARGET_AVX512 inline Row16 LoadRow16(const float* x, size_t features) {
  Row16 row;
  row.x = x;
  row.chunks = features <= 128 ? static_cast<int>((features + 15) / 16) : 0;
  for (int c = 0; c < 8; ++c) {
    const size_t first = size_t(c) * 16;
    const size_t n =
        first < features && row.chunks > 0 ? std::min<size_t>(16, features - first) : 0;
    // Masked loads read (and fault on) only the features that exist.
    row.v[c] = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), x + first);
  }
  return row;
}

// x[f] for each lane (f < the row's features on active lanes).
PLINTH_TARGET_AVX512 inline __m512 RowLookup(const Row16& row, __m512i f, __mmask16 active) {
  if (row.chunks == 0) return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active, f, row.x, 4);
  if (row.chunks == 1) return _mm512_permutexvar_ps(f, row.v[0]);
  const __m512 a = _mm512_permutex2var_ps(row.v[0], f, row.v[1]);
  if (row.chunks == 2) return a;
  const __mmask16 odd32 = _mm512_test_epi32_mask(f, _mm512_set1_epi32(32));
  const __m512 ab = _mm512_mask_blend_ps(odd32, a, _mm512_permutex2var_ps(row.v[2], f, row.v[3]));
  if (row.chunks <= 4) return ab;
  const __m512 c = _mm512_permutex2var_ps(row.v[4], f, row.v[5]);
  const __m512 cd = _mm512_mask_blend_ps(odd32, c, _mm512_permutex2var_ps(row.v[6], f, row.v[7]));
  return _mm512_mask_blend_ps(_mm512_test_epi32_mask(f, _mm512_set1_epi32(64)), ab, cd);
}

// Single rows: G vectors of 16 consecutive trees (from `first`) walk one row together through the
// padded layout; the leaves' values go to vals in tree order. A node is one 64-bit word (feature
// and threshold), so a level costs two gathers of 8 words per 16 trees. Trees of other depths
// walk in the same vector: a lane stops when its tree's depth is reached; deep trees' lanes are
// left out.
template <int G>
PLINTH_TARGET_AVX512 inline void WalkTrees16(const TreeKernels& k, size_t first, const Row16& row,
                                             float* vals) {
  const __m512i mask = _mm512_set1_epi32(static_cast<int>(CompiledModel::kFeatureMask));
  const __m512i one = _mm512_set1_epi32(1);
  // Dwords 0, 2, .. (features) and 1, 3, .. (thresholds) of two vectors of 8 words.
  const __m512i evens =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odds = _mm512_add_epi32(evens, one);
  const size_t trees = k.roots.size();
  const long long* nodes = reinterpret_cast<const long long*>(k.pad_node.data());
  __mmask16 valid[G];
  __m512i node_offset[G], depth[G], pos[G];
  int max_depth = 0;
  for (int g = 0; g < G; ++g) {
    const size_t at = first + size_t(g) * 16;
    const int lanes = at >= trees ? 0 : static_cast<int>(std::min<size_t>(16, trees - at));
    node_offset[g] = _mm512_loadu_si512(k.node_offset.data() + at);
    depth[g] = _mm512_loadu_si512(k.pad_depth.data() + at);
    valid[g] = _mm512_cmpge_epi32_mask(node_offset[g], _mm512_setzero_si512()) &
               static_cast<__mmask16>((1u << lanes) - 1);
    pos[g] = _mm512_setzero_si512();
    max_depth = std::max(max_depth, _mm512_mask_reduce_max_epi32(valid[g], depth[g]));
  }
  for (int d = 0; d < max_depth; ++d) {
    const __m512i level = _mm512_set1_epi32((1 << d) - 1);
    for (int g = 0; g < G; ++g) {
      const __mmask16 active = valid[g] & _mm512_cmpgt_epi32_mask(depth[g], _mm512_set1_epi32(d));
      const __m512i node = _mm512_add_epi32(_mm512_add_epi32(node_offset[g], level), pos[g]);
      const __m512i lo =
          _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), static_cast<__mmask8>(active),
                                      _mm512_castsi512_si256(node), nodes, 8);
      const __m512i hi =
          _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), static_cast<__mmask8>(active >> 8),
                                      _mm512_extracti64x4_epi64(node, 1), nodes, 8);
      const __m512i f = _mm512_permutex2var_epi32(lo, evens, hi);
      const __m512 th = _mm512_castsi512_ps(_mm512_permutex2var_epi32(lo, odds, hi));
      const __m512 v = RowLookup(row, _mm512_and_si512(f, mask), active);
      const __m512i twice = _mm512_mask_add_epi32(pos[g], active, pos[g], pos[g]);
      pos[g] = _mm512_mask_add_epi32(twice, GoRight16(v, th, f, active), twice, one);
    }
  }
  for (int g = 0; g < G; ++g) {
    const __m512i leaf_offset = _mm512_loadu_si512(k.leaf_offset.data() + first + size_t(g) * 16);
    const __m512 v = _mm512_mask_i32gather_ps(
        _mm512_setzero_ps(), valid[g], _mm512_add_epi32(leaf_offset, pos[g]), k.pad_leaf.data(), 4);
    _mm512_storeu_ps(vals + g * 16, v);
  }
}

PLINTH_TARGET_AVX512 float Avx512Margin(const TreeKernels& k, const float* x) {
  constexpr size_t G = 4, kChunk = G * 16;
  alignas(64) float vals[kChunk];
  const Row16 row = LoadRow16(x, k.num_features);
  const size_t trees = k.roots.size();
  float sum = k.base_margin;
  for (size_t first = 0; first < trees; first += kChunk) {
    WalkTrees16<G>(k, first, row, vals);
    const size_t n = std::min(kChunk, trees - first);
    for (size_t l = 0; l < n; ++l) {
      const size_t i = first + l;
      sum += k.node_offset[i] >= 0 ? vals[l] : CompactLeaf(k, i, x);
    }
  }
  return sum;
}

#endif  // PLINTH_X86_KERNELS

CompiledKernel DetectKernel() {
#ifdef PLINTH_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    return CompiledKernel::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return CompiledKernel::kAvx2;
#endif
  return CompiledKernel::kPortable;
}

int Rank(CompiledKernel kernel) {
  switch (kernel) {
    case CompiledKernel::kAvx512:
      return 2;
    case CompiledKernel::kAvx2:
      return 1;
    default:
      return 0;
  }
}

// The kernel that runs when `kernel` is asked for.
CompiledKernel Resolve(CompiledKernel kernel) {
  const CompiledKernel best = BestCompiledKernel();
  if (kernel == CompiledKernel::kAuto || Rank(kernel) > Rank(best)) return best;
  return kernel;
}

// The package's sigmoid in double (train/logistic.cc), exact for large |t|.
double Sigmoid(double t) {
  if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

// ---- Checks -------------------------------------------------------------------------------------

Status CheckTrees(const CompiledModel::Parts& p, size_t features, std::vector<uint32_t>* depths) {
  if (!std::isfinite(p.base_margin)) return Invalid("the base margin is not finite");
  const size_t n = p.nodes.size(), trees = p.roots.size();
  if (n >= (size_t{1} << 31)) return Invalid("too many nodes");
  if (trees == 0) {
    if (n != 0) return Invalid("nodes without trees");
    return absl::OkStatus();
  }
  if (p.roots[0] != 0) return Invalid("tree 0 does not start at node 0");
  std::vector<uint8_t> reached(n, 0);
  std::vector<uint32_t> level(n, 0);
  depths->assign(trees, 0);
  for (size_t t = 0; t < trees; ++t) {
    const size_t begin = p.roots[t];
    const size_t end = t + 1 < trees ? p.roots[t + 1] : n;
    if (!(begin < end && end <= n)) {
      return Invalid("tree " + std::to_string(t) + " has no nodes, or its root is out of range");
    }
    uint32_t depth = 0;
    // Children come after their parent, so one pass in index order sees every parent first, and
    // a path cannot return to a node (no cycles).
    for (size_t i = begin; i < end; ++i) {
      const Node& node = p.nodes[i];
      if (i != begin && !reached[i]) {
        return Invalid(TreeNode(t, i - begin) + " is not reached from the root");
      }
      depth = std::max(depth, level[i]);
      if (node.feature & CompiledModel::kLeaf) {
        if (node.feature != CompiledModel::kLeaf || node.left != 0) {
          return Invalid(TreeNode(t, i - begin) + ": a leaf with split fields");
        }
        if (!std::isfinite(node.value)) {
          return Invalid(TreeNode(t, i - begin) + ": leaf value is not finite");
        }
        continue;
      }
      if ((node.feature & CompiledModel::kFeatureMask) >= features) {
        return Invalid(TreeNode(t, i - begin) + ": split feature out of range [0, " +
                       std::to_string(features) + ")");
      }
      if (std::isnan(node.value))
        return Invalid(TreeNode(t, i - begin) + ": split threshold is NaN");
      const size_t left = node.left;
      if (left <= i) {
        return Invalid(TreeNode(t, i - begin) + ": child index " + std::to_string(left - begin) +
                       " is not after its parent (a cycle or a shared node)");
      }
      if (left + 1 >= end) {
        return Invalid(TreeNode(t, i - begin) + ": child index out of range [0, " +
                       std::to_string(end - begin) + ")");
      }
      if (reached[left] || reached[left + 1]) {
        return Invalid(TreeNode(t, i - begin) + ": a child is reached twice");
      }
      reached[left] = reached[left + 1] = 1;
      level[left] = level[left + 1] = level[i] + 1;
    }
    (*depths)[t] = depth;
  }
  return absl::OkStatus();
}

Status CheckLinear(const CompiledModel::Parts& p, size_t features) {
  if (p.weights.size() != features || p.centers.size() != features) {
    return Invalid("a linear model has one weight and one center per feature (" +
                   std::to_string(features) + "), not " + std::to_string(p.weights.size()) +
                   " and " + std::to_string(p.centers.size()));
  }
  if (!std::isfinite(p.intercept)) return Invalid("the intercept is not finite");
  for (size_t j = 0; j < features; ++j) {
    if (!std::isfinite(p.weights[j]) || !std::isfinite(p.centers[j])) {
      return Invalid("feature " + std::to_string(j) + ": weight or center is not finite");
    }
  }
  return absl::OkStatus();
}

Status CheckScorecard(const CompiledModel::Parts& p, size_t features) {
  if (!std::isfinite(p.intercept)) return Invalid("the intercept is not finite");
  if (p.terms.empty()) return Invalid("a scorecard has at least one term");
  if (p.bin_logits.size() != p.bin_points.size()) {
    return Invalid("bin_logits and bin_points differ in length");
  }
  size_t bins = 0, edges = 0, slots = 0;
  for (size_t k = 0; k < p.terms.size(); ++k) {
    const ScorecardTerm& term = p.terms[k];
    const std::string what = "term " + std::to_string(k);
    if (term.categorical > 1) return Invalid(what + ": unknown term type");
    if (term.num_slots == 0 || term.first_slot >= features ||
        term.num_slots > features - term.first_slot) {
      return Invalid(what + ": slots out of range [0, " + std::to_string(features) + ")");
    }
    if (term.first_bin != bins || term.num_bins < 2 || term.num_bins > p.bin_logits.size() - bins) {
      return Invalid(what + ": bins do not follow the previous term's or run past the end");
    }
    bins += term.num_bins;
    if (term.categorical == 0) {
      if (term.num_slots != 1) return Invalid(what + ": a numeric term reads one slot");
      const size_t count = term.num_bins - 2;
      if (term.first_edge != edges || count > p.edges.size() - edges) {
        return Invalid(what + ": edges do not follow the previous term's or run past the end");
      }
      for (size_t e = edges; e < edges + count; ++e) {
        if (std::isnan(p.edges[e]) || (e > edges && p.edges[e] < p.edges[e - 1])) {
          return Invalid(what + ": edges must be numbers in ascending order");
        }
      }
      edges += count;
    } else {
      if (term.first_edge != slots || term.num_slots > p.slot_bins.size() - slots) {
        return Invalid(what + ": slot bins do not follow the previous term's or run past the end");
      }
      for (size_t s = slots; s < slots + term.num_slots; ++s) {
        if (p.slot_bins[s] >= term.num_bins)
          return Invalid(what + ": a slot's bin is out of range");
      }
      slots += term.num_slots;
    }
  }
  if (bins != p.bin_logits.size() || edges != p.edges.size() || slots != p.slot_bins.size()) {
    return Invalid("the terms do not use every bin, edge and slot bin");
  }
  for (size_t b = 0; b < bins; ++b) {
    if (!std::isfinite(p.bin_logits[b]) || !std::isfinite(p.bin_points[b])) {
      return Invalid("bin " + std::to_string(b) + ": logit or points not finite");
    }
  }
  return absl::OkStatus();
}

// The kernels' layouts of checked trees.
std::shared_ptr<const TreeKernels> BuildTreeKernels(const CompiledModel::Parts& parts,
                                                    size_t features, std::vector<uint32_t> depths) {
  auto k = std::make_shared<TreeKernels>();
  k->base_margin = parts.base_margin;
  k->num_features = features;
  k->nodes = parts.nodes;
  k->roots = parts.roots;
  k->depths = std::move(depths);
  const std::vector<Node>& nodes = parts.nodes;
  const size_t trees = parts.roots.size();
  for (size_t t = 0; t < trees; ++t) {
    const uint32_t root = parts.roots[t];
    const size_t end = t + 1 < trees ? parts.roots[t + 1] : nodes.size();
    const uint32_t depth = k->depths[t];

    // Batches: splits in breadth-first (index) order, slots relative to the root.
    k->split_begin.push_back(static_cast<uint32_t>(k->splits.size()));
    const bool batched =
        end - root <= kMaxSlots && depth <= kMaxPaddedDepth && features <= kMaxBatchFeatures;
    k->batched.push_back(batched ? 1 : 0);
    if (batched) {
      std::vector<uint8_t> level(end - root, 0);
      for (size_t i = root; i < end; ++i) {
        const Node& n = nodes[i];
        const uint16_t slot = static_cast<uint16_t>(i - root);
        if (!(n.feature & CompiledModel::kLeaf)) {
          const uint32_t left = n.left - root;
          level[left] = level[left + 1] = static_cast<uint8_t>(level[slot] + 1);
          const uint32_t column =
              (n.feature & CompiledModel::kFeatureMask) * kBatchRows * sizeof(float);
          const uint8_t default_right = (n.feature & CompiledModel::kDefaultLeft) ? 0 : 1;
          k->splits.push_back({column, n.value, slot, level[slot], default_right, left});
        }
      }
    }

    // Single rows: the padded complete tree.
    if (depth > kMaxPaddedDepth) {
      k->node_offset.push_back(-1);
      k->leaf_offset.push_back(-1);
      k->pad_depth.push_back(static_cast<int32_t>(depth));
      continue;
    }
    const size_t base = k->pad_node.size(), leaf_base = k->pad_leaf.size();
    k->node_offset.push_back(static_cast<int32_t>(base));
    k->leaf_offset.push_back(static_cast<int32_t>(leaf_base));
    k->pad_depth.push_back(static_cast<int32_t>(depth));
    k->pad_node.resize(base + (size_t{1} << depth) - 1, 0);
    k->pad_leaf.resize(leaf_base + (size_t{1} << depth), 0.0f);
    // (compact node, level, position in the level)
    std::vector<std::tuple<uint32_t, uint32_t, uint32_t>> stack = {{root, 0, 0}};
    while (!stack.empty()) {
      auto [i, d, pos] = stack.back();
      stack.pop_back();
      const Node& n = nodes[i];
      if (n.feature & CompiledModel::kLeaf) {
        // Every bottom-level leaf below this one takes its value; the internal nodes in between
        // keep feature 0 and threshold 0, and whichever way they send a row, it ends here.
        const size_t span = size_t{1} << (depth - d);
        std::fill_n(k->pad_leaf.begin() + static_cast<ptrdiff_t>(leaf_base + pos * span), span,
                    n.value);
        continue;
      }
      const size_t at = base + (size_t{1} << d) - 1 + pos;
      const uint32_t feature = (n.feature & CompiledModel::kFeatureMask) |
                               ((n.feature & CompiledModel::kDefaultLeft) ? 0 : kPadDefaultRight);
      k->pad_node[at] = feature | uint64_t{std::bit_cast<uint32_t>(n.value)} << 32;
      stack.emplace_back(n.left, d + 1, 2 * pos);
      stack.emplace_back(n.left + 1, d + 1, 2 * pos + 1);
    }
  }
  k->split_begin.push_back(static_cast<uint32_t>(k->splits.size()));
  k->pad_node.resize(k->pad_node.size() + kPadTail, 0);
  k->pad_leaf.resize(k->pad_leaf.size() + kPadTail, 0.0f);
  k->node_offset.resize(k->node_offset.size() + kPadTail, 0);
  k->leaf_offset.resize(k->leaf_offset.size() + kPadTail, 0);
  k->pad_depth.resize(k->pad_depth.size() + kPadTail, 0);
  return k;
}

float TreeMargin(const TreeKernels& k, const float* x, CompiledKernel kernel) {
#ifdef PLINTH_X86_KERNELS
  if (kernel == CompiledKernel::kAvx512) return Avx512Margin(k, x);
  if (kernel == CompiledKernel::kAvx2) return Avx2Margin(k, x);
#endif
  return PortableMargin(k, x);
}

void TreeBatch(const TreeKernels& k, const float* rows, size_t n, size_t stride, float* sums,
               CompiledKernel kernel) {
#ifdef PLINTH_X86_KERNELS
  if (k.num_features <= kMaxBatchFeatures) {
    if (kernel == CompiledKernel::kAvx512) return Avx512Batch(k, rows, n, stride, sums);
    if (kernel == CompiledKernel::kAvx2) return Avx2Batch(k, rows, n, stride, sums);
  }
#endif
  PortableBatch(k, rows, n, stride, sums);
}

}  // namespace

std::string_view CompiledKindName(CompiledKind kind) {
  switch (kind) {
    case CompiledKind::kXgboost:
      return "xgboost";
    case CompiledKind::kLogistic:
      return "logistic";
    case CompiledKind::kScorecard:
      return "scorecard";
  }
  return "unknown";
}

std::string_view CompiledKernelName(CompiledKernel kernel) {
  switch (kernel) {
    case CompiledKernel::kAuto:
      return "auto";
    case CompiledKernel::kPortable:
      return "portable";
    case CompiledKernel::kAvx2:
      return "avx2";
    case CompiledKernel::kAvx512:
      return "avx512";
  }
  return "unknown";
}

CompiledKernel BestCompiledKernel() {
  static const CompiledKernel best = DetectKernel();
  return best;
}

bool CompiledKernelSupported(CompiledKernel kernel) {
  return Rank(kernel) <= Rank(BestCompiledKernel());
}

StatusOr<CompiledModel> CompiledModel::FromParts(Parts parts) {
  CompiledModel model;
  const size_t features = parts.spec.num_outputs();
  if (features == 0 || features > kFeatureMask) {
    return Invalid("the preprocessing spec has " + std::to_string(features) + " outputs");
  }
  // Every count fits the file format's 32-bit fields.
  for (size_t count :
       {parts.nodes.size(), parts.roots.size(), parts.weights.size(), parts.terms.size(),
        parts.edges.size(), parts.slot_bins.size(), parts.bin_logits.size()}) {
    if (count > UINT32_MAX) return Invalid("an array holds more than 2^32 - 1 entries");
  }
  const bool trees = !parts.nodes.empty() || !parts.roots.empty();
  const bool linear = !parts.weights.empty() || !parts.centers.empty();
  const bool card = !parts.terms.empty() || !parts.edges.empty() || !parts.slot_bins.empty() ||
                    !parts.bin_logits.empty() || !parts.bin_points.empty();
  std::vector<uint32_t> depths;
  switch (parts.kind) {
    case CompiledKind::kXgboost:
      if (linear || card || parts.intercept != 0) {
        return Invalid("an xgboost model holds linear or scorecard members");
      }
      RETURN_IF_ERROR(CheckTrees(parts, features, &depths));
      model.trees_ = BuildTreeKernels(parts, features, std::move(depths));
      break;
    case CompiledKind::kLogistic:
      if (trees || card || parts.base_margin != 0) {
        return Invalid("a logistic model holds tree or scorecard members");
      }
      RETURN_IF_ERROR(CheckLinear(parts, features));
      break;
    case CompiledKind::kScorecard:
      if (trees || linear || parts.base_margin != 0) {
        return Invalid("a scorecard holds tree or linear members");
      }
      RETURN_IF_ERROR(CheckScorecard(parts, features));
      break;
    default:
      return Invalid("unknown kind " + std::to_string(static_cast<uint32_t>(parts.kind)));
  }
  model.parts_ = std::move(parts);
  model.num_features_ = features;
  return model;
}

double CompiledModel::LinearMargin(const float* x) const {
  // As LogisticModel::Logits: the same terms added in the same order, so the same bits.
  double logit = parts_.intercept;
  const double* w = parts_.weights.data();
  const double* c = parts_.centers.data();
  for (size_t j = 0; j < num_features_; ++j) {
    const float v = x[j];
    logit += std::isnan(v) ? 0.0 : w[j] * (static_cast<double>(v) - c[j]);
  }
  return logit;
}

uint32_t CompiledModel::ScorecardBin(const ScorecardTerm& term, const float* x) const {
  const uint32_t missing = term.num_bins - 1;
  if (term.categorical == 0) {
    const float v = x[term.first_slot];
    if (std::isnan(v)) return missing;
    const float* edges = parts_.edges.data() + term.first_edge;
    return static_cast<uint32_t>(std::upper_bound(edges, edges + term.num_bins - 2, v) - edges);
  }
  for (uint32_t s = 0; s < term.num_slots; ++s) {
    if (x[term.first_slot + s] >= 0.5f) return parts_.slot_bins[term.first_edge + s];
  }
  return missing;
}

double CompiledModel::ScorecardMargin(const float* x) const {
  // As Scorecard::Logits: alpha, then each kept feature's beta * WoE in order.
  double logit = parts_.intercept;
  for (const ScorecardTerm& term : parts_.terms) {
    logit += parts_.bin_logits[term.first_bin + ScorecardBin(term, x)];
  }
  return logit;
}

double CompiledModel::PredictScoreRow(std::span<const float> features) const {
  assert(parts_.kind == CompiledKind::kScorecard && features.size() >= num_features_);
  // As Scorecard::Score: the points as in the table, added in order from 0.
  double score = 0;
  for (const ScorecardTerm& term : parts_.terms) {
    score += parts_.bin_points[term.first_bin + ScorecardBin(term, features.data())];
  }
  return score;
}

double CompiledModel::Transform(double margin) const {
  if (!parts_.binary) return margin;
  if (parts_.kind == CompiledKind::kXgboost) {
    // XGBoost's float sigmoid (common::Sigmoid), so probabilities round as the library's do.
    const float m = static_cast<float>(margin);
    return 1.0f / (1.0f + std::exp(-m));
  }
  // The linear kinds return their double sigmoid rounded to float.
  return static_cast<float>(Sigmoid(margin));
}

double CompiledModel::PredictMarginRow(std::span<const float> features,
                                       CompiledKernel kernel) const {
  assert(features.size() >= num_features_);
  switch (parts_.kind) {
    case CompiledKind::kLogistic:
      return LinearMargin(features.data());
    case CompiledKind::kScorecard:
      return ScorecardMargin(features.data());
    default:
      return trees_ ? TreeMargin(*trees_, features.data(), Resolve(kernel)) : parts_.base_margin;
  }
}

double CompiledModel::PredictRow(std::span<const float> features, CompiledKernel kernel) const {
  return Transform(PredictMarginRow(features, kernel));
}

void CompiledModel::PredictBatch(const float* rows, size_t n, size_t stride, double* out,
                                 CompiledKernel kernel) const {
  assert(stride >= num_features_);
  if (parts_.kind != CompiledKind::kXgboost || !trees_) {
    for (size_t r = 0; r < n; ++r) {
      out[r] = PredictRow(std::span<const float>(rows + r * stride, num_features_));
    }
    return;
  }
  const CompiledKernel resolved = Resolve(kernel);
  alignas(64) float sums[kBlock];
  for (size_t begin = 0; begin < n; begin += kBlock) {
    const size_t count = std::min(kBlock, n - begin);
    std::fill_n(sums, count, parts_.base_margin);
    TreeBatch(*trees_, rows + begin * stride, count, stride, sums, resolved);
    for (size_t r = 0; r < count; ++r) out[begin + r] = Transform(sums[r]);
  }
}

StatusOr<double> CompiledModel::PredictJsonRow(const Json& row, std::span<float> buffer) const {
  RETURN_IF_ERROR(parts_.spec.ApplyRow(row, buffer));
  return PredictRow(buffer);
}

StatusOr<double> CompiledModel::PredictJsonRow(const Json& row) const {
  std::vector<float> buffer(num_features_);
  return PredictJsonRow(row, buffer);
}

}  // namespace plinth
