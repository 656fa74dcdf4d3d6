// Samplers: where the next trial's parameters come from (docs/tuning.md, "Samplers").
//
// random: every parameter uniform over its range (log_uniform uniform in log(x), int uniform over
//   the whole numbers, categorical uniform over the values).
// tpe: the Tree-structured Parzen Estimator (univariate, as in Hyperopt and Optuna's default).
//   The first `startup_trials` suggestions are random (the same as the random sampler's for the
//   same seed). After that, the history (completed trials, ordered feasible first, then by the
//   objective) is split into the best ceil(gamma * n) ("good") and the rest ("bad"); for each
//   parameter a Parzen density is fitted to each group, l(x) and g(x): Gaussian kernels on the
//   transformed scale (x; log x for log_uniform; x with +-0.5 edges for int) truncated to the
//   range, one per observation plus a wide prior kernel, with Hyperopt's bandwidth rule; smoothed
//   counts
//   (+1) for categorical. `candidates` values are drawn from l and the one with the largest
//   l(x)/g(x) is taken. Within a batch (below), the suggestions of the batch's earlier trials are
//   added to the bad group ("constant liar"), so one batch does not suggest one point four times.
//
// Reproducible by seed: suggestion i depends only on the seed, i and its history, and its history
// is exactly the trials with index < HistoryBound(i) that succeeded, read as a set (never in
// completion order). The tuner waits until every trial below the bound has finished before asking,
// so the same seed and the same trial results give the same trials whatever the parallelism or the
// timing. For tpe the bound moves in batches: trials startup + k*batch ... startup + (k+1)*batch -
// 1 all use the trials below startup + k*batch, so up to `batch` trials run at once. Random
// suggestions read no history and never wait.
#ifndef PLINTH_TUNE_SAMPLER_H_
#define PLINTH_TUNE_SAMPLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "tune/search_space.h"

namespace plinth::tune {

enum class SamplerType { kRandom, kTpe };

// "random", "tpe".
std::string SamplerTypeName(SamplerType type);

struct SamplerConfig {
  SamplerType type = SamplerType::kTpe;
  uint64_t seed = 0;
  int startup_trials = 10;  // tpe: random suggestions first (>= 1)
  double gamma = 0.25;      // tpe: the fraction of the history that is "good", in (0, 1)
  int candidates = 24;      // tpe: draws from l(x) per parameter (>= 1)
  int batch = 4;            // tpe: suggestions made from the same history (>= 1)

  // InvalidArgument naming the first setting out of range.
  Status Validate() const;
  Json ToJson() const;
};

// A completed, successful trial as a sampler sees it.
struct Observation {
  int index = 0;
  Json params;           // the trial's parameters (the space's and any others)
  double loss = 0;       // lower is better (Objective::Loss of the metric)
  bool feasible = true;  // every constraint satisfied
  int violations = 0;    // constraints violated
};

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Trials with an index below this must have finished before Suggest(index); 0 when the
  // suggestion reads no history.
  virtual int HistoryBound(int index) const = 0;
  // The sampled values of trial `index`: an object with a value for every parameter of the space
  // (ints as integers). `history`: the successful trials with index < HistoryBound(index), in any
  // order.
  virtual Json Suggest(int index, std::vector<Observation> history) const = 0;
};

// InvalidArgument if the config is invalid or the space is empty.
StatusOr<std::unique_ptr<Sampler>> MakeSampler(const SamplerConfig& config,
                                               const SearchSpace& space);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_SAMPLER_H_
