#include "tune/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace plinth::tune {
namespace {

constexpr double kPi = 3.14159265358979323846;

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A small deterministic generator (splitmix64): the same stream on every platform and standard
// library, unlike std:: distributions.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream, uint64_t index)
      : state_(SplitMix(SplitMix(seed ^ (stream * 0xD1B54A32D192ED03ull)) + index)) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // In [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // In [0, n).
  size_t Index(size_t n) {
    return std::min(n - 1, static_cast<size_t>(Uniform() * static_cast<double>(n)));
  }
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }

 private:
  uint64_t state_;
};

// Streams: random suggestions and TPE suggestions draw from different sequences.
constexpr uint64_t kRandomStream = 1;
constexpr uint64_t kTpeStream = 2;

// The transformed scale a numeric parameter is modelled on.
struct Scale {
  double lo, hi;
};

Scale ScaleOf(const ParamSpec& p) {
  switch (p.type) {
    case ParamType::kInt:
      return {p.min - 0.5, p.max + 0.5};
    case ParamType::kLogUniform:
      return {std::log(p.min), std::log(p.max)};
    default:
      return {p.min, p.max};
  }
}

double ToScale(const ParamSpec& p, double v) {
  return p.type == ParamType::kLogUniform ? std::log(v) : v;
}

Json FromScale(const ParamSpec& p, double t) {
  if (p.type == ParamType::kInt) {
    const double v = std::clamp(std::round(t), p.min, p.max);
    return static_cast<int64_t>(v);
  }
  const double v = p.type == ParamType::kLogUniform ? std::exp(t) : t;
  return std::clamp(v, p.min, p.max);
}

Json RandomValue(const ParamSpec& p, Rng& rng) {
  if (p.type == ParamType::kCategorical) return p.values[rng.Index(p.values.size())];
  if (p.type == ParamType::kInt) {
    const double n = p.max - p.min + 1;
    const double v = std::min(p.max, p.min + std::floor(rng.Uniform() * n));
    return static_cast<int64_t>(v);
  }
  const Scale s = ScaleOf(p);
  return FromScale(p, s.lo + rng.Uniform() * (s.hi - s.lo));
}

Json RandomParams(const SearchSpace& space, uint64_t seed, int index) {
  Rng rng(seed, kRandomStream, static_cast<uint64_t>(index));
  Json out = Json::object();
  for (const ParamSpec& p : space.parameters) out[p.name] = RandomValue(p, rng);
  return out;
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double LogSumExp(const std::vector<double>& xs) {
  double m = -std::numeric_limits<double>::infinity();
  for (double x : xs) m = std::max(m, x);
  if (!std::isfinite(m)) return m;
  double sum = 0;
  for (double x : xs) sum += std::exp(x - m);
  return m + std::log(sum);
}

// A mixture of equally weighted Gaussians truncated to [lo, hi]: one per observation and a prior
// one centred on the range, as wide as it.
class Parzen {
 public:
  Parzen(const std::vector<double>& xs, Scale scale) : lo_(scale.lo), hi_(scale.hi) {
    const double width = hi_ - lo_;
    mu_ = xs;
    mu_.push_back((lo_ + hi_) / 2);
    const size_t n = mu_.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return mu_[a] < mu_[b]; });
    sigma_.assign(n, width);
    // Hyperopt's rule: each kernel as wide as the larger gap to its neighbours, clipped.
    const double min_sigma = width / std::min(100.0, 1.0 + static_cast<double>(xs.size()));
    for (size_t k = 0; k < n; ++k) {
      const double m = mu_[order[k]];
      const double left = k == 0 ? m - lo_ : m - mu_[order[k - 1]];
      const double right = k + 1 == n ? hi_ - m : mu_[order[k + 1]] - m;
      sigma_[order[k]] = std::clamp(std::max(left, right), min_sigma, width);
    }
    sigma_[n - 1] = width;  // the prior
    log_norm_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const double z =
          NormalCdf((hi_ - mu_[k]) / sigma_[k]) - NormalCdf((lo_ - mu_[k]) / sigma_[k]);
      log_norm_[k] = std::log(std::max(z, 1e-300));
    }
  }

  double Sample(Rng& rng) const {
    const size_t k = rng.Index(mu_.size());
    for (int tries = 0; tries < 100; ++tries) {
      const double x = mu_[k] + sigma_[k] * rng.Normal();
      if (x >= lo_ && x <= hi_) return x;
    }
    return std::clamp(mu_[k], lo_, hi_);
  }

  double LogPdf(double x) const {
    std::vector<double> terms(mu_.size());
    const double log_k = std::log(static_cast<double>(mu_.size()));
    for (size_t k = 0; k < mu_.size(); ++k) {
      const double z = (x - mu_[k]) / sigma_[k];
      terms[k] = -0.5 * z * z - std::log(sigma_[k] * std::sqrt(2 * kPi)) - log_norm_[k] - log_k;
    }
    return LogSumExp(terms);
  }

 private:
  double lo_, hi_;
  std::vector<double> mu_, sigma_, log_norm_;
};

class RandomSampler : public Sampler {
 public:
  RandomSampler(SamplerConfig config, SearchSpace space)
      : config_(std::move(config)), space_(std::move(space)) {}
  int HistoryBound(int) const override { return 0; }
  Json Suggest(int index, std::vector<Observation>) const override {
    return RandomParams(space_, config_.seed, index);
  }

 private:
  SamplerConfig config_;
  SearchSpace space_;
};

class TpeSampler : public Sampler {
 public:
  TpeSampler(SamplerConfig config, SearchSpace space)
      : config_(std::move(config)), space_(std::move(space)) {}

  int HistoryBound(int index) const override {
    if (index < config_.startup_trials) return 0;
    return config_.startup_trials +
           (index - config_.startup_trials) / config_.batch * config_.batch;
  }

  Json Suggest(int index, std::vector<Observation> history) const override {
    if (index < config_.startup_trials || history.empty()) {
      return RandomParams(space_, config_.seed, index);
    }
    // Best first: feasible, then fewer violations, then lower loss; the index breaks ties, so
    // the order (and so the split) does not depend on the order the history came in.
    std::sort(history.begin(), history.end(), [](const Observation& a, const Observation& b) {
      if (a.feasible != b.feasible) return a.feasible;
      if (a.violations != b.violations) return a.violations < b.violations;
      if (a.loss != b.loss) return a.loss < b.loss;
      return a.index < b.index;
    });
    // The trials of the same batch before this one run from the same history, so their
    // suggestions are known (this same computation): they count as bad results ("constant
    // liar"), which keeps one batch from suggesting the same point several times.
    std::vector<Json> pending;
    for (int j = std::max(HistoryBound(index), config_.startup_trials); j < index; ++j) {
      pending.push_back(SuggestFrom(j, history, pending));
    }
    return SuggestFrom(index, history, pending);
  }

 private:
  Json SuggestFrom(int index, const std::vector<Observation>& sorted,
                   const std::vector<Json>& pending) const {
    const size_t n = sorted.size();
    const size_t n_good = std::clamp<size_t>(
        static_cast<size_t>(std::ceil(config_.gamma * static_cast<double>(n))), 1, n);
    std::vector<const Json*> good, bad;
    for (size_t i = 0; i < n; ++i) (i < n_good ? good : bad).push_back(&sorted[i].params);
    for (const Json& p : pending) bad.push_back(&p);
    Rng rng(config_.seed, kTpeStream, static_cast<uint64_t>(index));
    Json out = Json::object();
    for (const ParamSpec& p : space_.parameters) {
      out[p.name] =
          p.numeric() ? SuggestNumeric(p, good, bad, rng) : SuggestCategorical(p, good, bad, rng);
    }
    return out;
  }

  // The values of `p` in `params`, on its modelling scale (values outside the space are skipped).
  static std::vector<double> Values(const ParamSpec& p, const std::vector<const Json*>& params) {
    std::vector<double> out;
    for (const Json* q : params) {
      auto it = q->find(p.name);
      if (it != q->end() && p.Contains(*it)) out.push_back(ToScale(p, it->get<double>()));
    }
    return out;
  }

  Json SuggestNumeric(const ParamSpec& p, const std::vector<const Json*>& good,
                      const std::vector<const Json*>& bad, Rng& rng) const {
    const Scale scale = ScaleOf(p);
    const Parzen l(Values(p, good), scale), g(Values(p, bad), scale);
    double best_x = 0, best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < config_.candidates; ++c) {
      const double x = l.Sample(rng);
      // Int parameters are scored at the whole number they round to.
      const double at = p.type == ParamType::kInt ? FromScale(p, x).get<double>() : x;
      const double score = l.LogPdf(at) - g.LogPdf(at);
      if (score > best_score || c == 0) {
        best_score = score;
        best_x = x;
      }
    }
    return FromScale(p, best_x);
  }

  Json SuggestCategorical(const ParamSpec& p, const std::vector<const Json*>& good,
                          const std::vector<const Json*>& bad, Rng& rng) const {
    const size_t k = p.values.size();
    std::vector<double> wl(k, 1.0), wg(k, 1.0);  // +1 smoothing
    for (const auto& [group, weights] : {std::pair{&good, &wl}, std::pair{&bad, &wg}}) {
      for (const Json* q : *group) {
        auto found = q->find(p.name);
        if (found == q->end()) continue;
        auto it = std::find(p.values.begin(), p.values.end(), *found);
        if (it != p.values.end()) (*weights)[static_cast<size_t>(it - p.values.begin())] += 1.0;
      }
    }
    const double sl = std::accumulate(wl.begin(), wl.end(), 0.0);
    const double sg = std::accumulate(wg.begin(), wg.end(), 0.0);
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < config_.candidates; ++c) {
      double u = rng.Uniform() * sl;
      size_t j = 0;
      while (j + 1 < k && u >= wl[j]) u -= wl[j++];
      const double score = std::log(wl[j] / sl) - std::log(wg[j] / sg);
      if (score > best_score) {
        best_score = score;
        best = j;
      }
    }
    return p.values[best];
  }

  SamplerConfig config_;
  SearchSpace space_;
};

}  // namespace

std::string SamplerTypeName(SamplerType type) {
  return type == SamplerType::kRandom ? "random" : "tpe";
}

Status SamplerConfig::Validate() const {
  if (startup_trials < 1 || startup_trials > 100000) {
    return absl::InvalidArgumentError("sampler.startup_trials must be between 1 and 100000");
  }
  if (!(gamma > 0 && gamma < 1)) {
    return absl::InvalidArgumentError("sampler.gamma must be above 0 and below 1");
  }
  if (candidates < 1 || candidates > 10000) {
    return absl::InvalidArgumentError("sampler.candidates must be between 1 and 10000");
  }
  if (batch < 1 || batch > 1000) {
    return absl::InvalidArgumentError("sampler.batch must be between 1 and 1000");
  }
  return absl::OkStatus();
}

Json SamplerConfig::ToJson() const {
  Json out = Json::object();
  out["type"] = SamplerTypeName(type);
  // Seeds are stored as given (at most 2^63 - 1, so they stay integers in JSON everywhere).
  out["seed"] = static_cast<int64_t>(seed);
  if (type == SamplerType::kTpe) {
    out["startup_trials"] = startup_trials;
    out["gamma"] = gamma;
    out["candidates"] = candidates;
    out["batch"] = batch;
  }
  return out;
}

StatusOr<std::unique_ptr<Sampler>> MakeSampler(const SamplerConfig& config,
                                               const SearchSpace& space) {
  RETURN_IF_ERROR(config.Validate());
  if (space.parameters.empty()) {
    return absl::InvalidArgumentError("the search space has no parameters");
  }
  if (config.type == SamplerType::kRandom) {
    return std::unique_ptr<Sampler>(new RandomSampler(config, space));
  }
  return std::unique_ptr<Sampler>(new TpeSampler(config, space));
}

}  // namespace plinth::tune
