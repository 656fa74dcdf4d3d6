#include "tune/tuning_spec.h"

#include <algorithm>

#include "core/files.h"
#include "core/sha256.h"
#include "pipeline/yaml_util.h"
#include "tune/internal_readers.h"
#include "tune/spec_reader.h"

namespace plinth::tune {
namespace {

namespace py = ::plinth::pipeline::internal;
using internal::Path;
using internal::Source;

constexpr int kMaxTrials = 100000;
constexpr int kMaxParallelism = 256;

// The halving plan's own rules and its resource against the space and the guardrails.
Status CheckHalving(const HalvingConfig& h, const SearchSpace& space, const Guardrails& g) {
  const auto bad = [](const std::string& m) { return absl::InvalidArgumentError(m); };
  if (!py::IsIdentifier(h.resource)) {
    return bad("the resource must be a parameter name, not " + py::Quote(h.resource));
  }
  if (h.min < 1) return bad("min must be at least 1, not " + std::to_string(h.min));
  if (h.max <= h.min) {
    return bad("max (" + std::to_string(h.max) + ") must be above min (" + std::to_string(h.min) +
               ")");
  }
  if (h.max > int64_t{1} << 40) return bad("max is too large");
  if (h.eta < 2 || h.eta > 10)
    return bad("eta must be between 2 and 10, not " + std::to_string(h.eta));
  if (h.configurations < 0 || h.configurations > kMaxTrials) {
    return bad("configurations must be between 1 and " + std::to_string(kMaxTrials));
  }
  if (h.TotalTrials() > kMaxTrials) {
    return bad("the plan runs " + std::to_string(h.TotalTrials()) + " trials, more than " +
               std::to_string(kMaxTrials));
  }
  if (space.Find(h.resource) != nullptr) {
    return bad("the resource '" + h.resource +
               "' is also a parameter of the space: halving sets it, so remove it from the space");
  }
  if (h.resource == internal::kExcludedFeaturesKey) {
    return bad("'excluded_features' cannot be a resource");
  }
  if (g.fixed.is_object() && g.fixed.contains(h.resource)) {
    return bad("the resource '" + h.resource + "' is fixed by the guardrails (fixed." + h.resource +
               " = " + DumpJson(g.fixed[h.resource]) + ") and cannot vary");
  }
  if (auto it = g.max.find(h.resource);
      it != g.max.end() && static_cast<double>(h.max) > it->second) {
    return bad("max (" + std::to_string(h.max) + ") goes beyond the guardrail max." + h.resource +
               " = " + internal::FormatNumber(it->second));
  }
  if (auto it = g.min.find(h.resource);
      it != g.min.end() && static_cast<double>(h.min) < it->second) {
    return bad("min (" + std::to_string(h.min) + ") goes below the guardrail min." + h.resource +
               " = " + internal::FormatNumber(it->second));
  }
  return absl::OkStatus();
}

Status CheckBudget(int max_trials, std::optional<int64_t> max_time, int parallelism) {
  if (max_trials < 1 || max_trials > kMaxTrials) {
    return absl::InvalidArgumentError("max_trials must be between 1 and " +
                                      std::to_string(kMaxTrials));
  }
  if (max_time && *max_time <= 0) return absl::InvalidArgumentError("max_time must be above 0");
  if (parallelism < 1 || parallelism > kMaxParallelism) {
    return absl::InvalidArgumentError("parallelism must be between 1 and " +
                                      std::to_string(kMaxParallelism));
  }
  return absl::OkStatus();
}

// An int setting within [lo, hi], positioned.
StatusOr<int> ReadInt(const Source& source, const Path& path, int lo, int hi) {
  ASSIGN_OR_RETURN(const int64_t v, source.Integer(path));
  if (v < lo || v > hi) {
    return source.Error(path, "must be between " + std::to_string(lo) + " and " +
                                  std::to_string(hi) + ", not " + std::to_string(v));
  }
  return static_cast<int>(v);
}

StatusOr<SamplerConfig> ReadSampler(const Source& source, const Path& path) {
  SamplerConfig config;
  const Json* node = source.Find(path);
  if (node == nullptr || node->is_null()) return config;
  const std::vector<std::string> types = {"random", "tpe"};
  const auto read_type = [&](const Path& at) -> Status {
    ASSIGN_OR_RETURN(const std::string type, source.String(at));
    if (type == "random") {
      config.type = SamplerType::kRandom;
    } else if (type == "tpe") {
      config.type = SamplerType::kTpe;
    } else {
      return source.Error(at,
                          "unknown sampler " + py::Quote(type) + py::Hint(type, types, "samplers"));
    }
    return absl::OkStatus();
  };
  if (node->is_string()) {
    RETURN_IF_ERROR(read_type(path));
    return config;
  }
  RETURN_IF_ERROR(source.CheckObject(
      path, "the sampler", {"type", "seed", "startup_trials", "gamma", "candidates", "batch"}, {}));
  if (node->contains("type")) RETURN_IF_ERROR(read_type(path / "type"));
  if (node->contains("seed")) {
    ASSIGN_OR_RETURN(const int64_t seed, source.Integer(path / "seed"));
    if (seed < 0) return source.Error(path / "seed", "must be 0 or more");
    config.seed = static_cast<uint64_t>(seed);
  }
  for (const char* key : {"startup_trials", "gamma", "candidates", "batch"}) {
    if (node->contains(key) && config.type != SamplerType::kTpe) {
      return source.Error(path / key, std::string("'") + key + "' is a setting of the tpe sampler",
                          true);
    }
  }
  if (node->contains("startup_trials")) {
    ASSIGN_OR_RETURN(config.startup_trials, ReadInt(source, path / "startup_trials", 1, 100000));
  }
  if (node->contains("gamma")) {
    ASSIGN_OR_RETURN(config.gamma, source.Number(path / "gamma"));
    if (!(config.gamma > 0 && config.gamma < 1)) {
      return source.Error(path / "gamma", "must be above 0 and below 1");
    }
  }
  if (node->contains("candidates")) {
    ASSIGN_OR_RETURN(config.candidates, ReadInt(source, path / "candidates", 1, 10000));
  }
  if (node->contains("batch")) {
    ASSIGN_OR_RETURN(config.batch, ReadInt(source, path / "batch", 1, 1000));
  }
  return config;
}

Status ReadStrategy(const Source& source, const Path& path, TuningSpec* spec) {
  const Json* node = source.Find(path);
  if (node == nullptr || node->is_null()) return absl::OkStatus();
  const std::vector<std::string> names = {"search", "halving"};
  if (node->is_string()) {
    const std::string name = node->get<std::string>();
    if (name == "search") return absl::OkStatus();
    if (name == "halving") {
      return source.Error(path,
                          "halving needs its budgets: write {type: halving, resource: "
                          "num_boost_round, min: 25, max: 225, eta: 3}");
    }
    return source.Error(
        path, "unknown strategy " + py::Quote(name) + py::Hint(name, names, "strategies"));
  }
  RETURN_IF_ERROR(source.CheckObject(
      path, "the strategy", {"type", "resource", "min", "max", "eta", "configurations"}, {"type"}));
  ASSIGN_OR_RETURN(const std::string type, source.String(path / "type"));
  if (type == "search") {
    for (const char* key : {"resource", "min", "max", "eta", "configurations"}) {
      if (node->contains(key)) {
        return source.Error(path / key, std::string("'") + key + "' is a setting of halving", true);
      }
    }
    return absl::OkStatus();
  }
  if (type != "halving") {
    return source.Error(
        path / "type", "unknown strategy " + py::Quote(type) + py::Hint(type, names, "strategies"));
  }
  RETURN_IF_ERROR(source.CheckObject(path, "the strategy",
                                     {"type", "resource", "min", "max", "eta", "configurations"},
                                     {"type", "min", "max"}));
  spec->strategy = Strategy::kHalving;
  HalvingConfig& h = spec->halving;
  if (node->contains("resource")) {
    ASSIGN_OR_RETURN(h.resource, source.String(path / "resource"));
  }
  ASSIGN_OR_RETURN(h.min, source.Integer(path / "min"));
  ASSIGN_OR_RETURN(h.max, source.Integer(path / "max"));
  if (node->contains("eta")) {
    ASSIGN_OR_RETURN(h.eta, ReadInt(source, path / "eta", 2, 10));
  }
  if (node->contains("configurations")) {
    ASSIGN_OR_RETURN(h.configurations, ReadInt(source, path / "configurations", 1, kMaxTrials));
  }
  Status s = CheckHalving(h, spec->space, spec->guardrails);
  if (!s.ok()) return source.Error(path, std::string(s.message()));
  return absl::OkStatus();
}

Status ReadBudget(const Source& source, const Path& path, TuningSpec* spec) {
  RETURN_IF_ERROR(
      source.CheckObject(path, "the budget", {"max_trials", "max_time", "parallelism"}, {}));
  const Json* node = source.Find(path);
  const bool halving = spec->strategy == Strategy::kHalving;
  if (halving) spec->max_trials = spec->halving.TotalTrials();
  if (node == nullptr || node->is_null()) return absl::OkStatus();
  if (node->contains("max_trials")) {
    ASSIGN_OR_RETURN(const int max_trials, ReadInt(source, path / "max_trials", 1, kMaxTrials));
    if (halving && max_trials != spec->max_trials) {
      const std::vector<int> sizes = spec->halving.Sizes();
      std::string plan;
      for (int n : sizes) plan += (plan.empty() ? "" : " + ") + std::to_string(n);
      return source.Error(path / "max_trials",
                          "halving runs " + plan + " = " + std::to_string(spec->max_trials) +
                              " trials over " + std::to_string(sizes.size()) + " rungs, not " +
                              std::to_string(max_trials) +
                              " (leave max_trials out, or change the strategy's configurations)");
    }
    spec->max_trials = max_trials;
  }
  if (node->contains("max_time")) {
    const Json& v = (*node)["max_time"];
    std::optional<int64_t> micros;
    if (v.is_string()) micros = py::ParseTimeout(v.get<std::string>());
    if (!micros || *micros <= 0) {
      return source.Error(path / "max_time",
                          "must be a duration such as 90s, 30m or 2h, not " + internal::Show(v));
    }
    spec->max_time_micros = micros;
  }
  if (node->contains("parallelism")) {
    ASSIGN_OR_RETURN(spec->parallelism, ReadInt(source, path / "parallelism", 1, kMaxParallelism));
  }
  return absl::OkStatus();
}

StatusOr<TuningSpec> ReadTuningSpec(const Source& source, const TuningSpecOptions& options) {
  const Path root;
  RETURN_IF_ERROR(source.CheckObject(root, "a tuning",
                                     {"space", "objective", "sampler", "strategy", "budget"},
                                     {"space", "objective"}));
  TuningSpec spec;
  if (options.guardrails != nullptr) spec.guardrails = *options.guardrails;
  ASSIGN_OR_RETURN(spec.space, internal::ReadSearchSpace(source, root / "space"));
  RETURN_IF_ERROR(CheckSpace(spec.guardrails, spec.space));
  ASSIGN_OR_RETURN(spec.objective,
                   internal::ReadObjective(source, root / "objective", options.metrics));
  ASSIGN_OR_RETURN(spec.sampler, ReadSampler(source, root / "sampler"));
  RETURN_IF_ERROR(ReadStrategy(source, root / "strategy", &spec));
  RETURN_IF_ERROR(ReadBudget(source, root / "budget", &spec));
  return spec;
}

}  // namespace

std::string StrategyName(Strategy strategy) {
  return strategy == Strategy::kSearch ? "search" : "halving";
}

std::vector<int64_t> HalvingConfig::Budgets() const {
  std::vector<int64_t> out;
  if (min < 1 || max <= min || eta < 2) return {std::max<int64_t>(min, 1)};
  int64_t r = min;
  out.push_back(r);
  while (r <= max / eta && r * eta <= max) {
    r *= eta;
    out.push_back(r);
  }
  if (out.back() != max) {
    if (out.size() == 1) {
      out.push_back(max);
    } else {
      out.back() = max;
    }
  }
  return out;
}

std::vector<int> HalvingConfig::Sizes() const {
  const size_t rungs = Budgets().size();
  int64_t n = configurations;
  if (n <= 0) {
    n = 1;
    for (size_t k = 1; k < rungs && n <= kMaxTrials; ++k) n *= std::max(eta, 2);
  }
  n = std::min<int64_t>(n, int64_t{kMaxTrials} + 1);
  std::vector<int> out;
  for (size_t k = 0; k < rungs; ++k) {
    out.push_back(static_cast<int>(n));
    n = std::max<int64_t>(1, n / std::max(eta, 2));
  }
  return out;
}

int HalvingConfig::TotalTrials() const {
  int64_t total = 0;
  for (int n : Sizes()) total += n;
  return static_cast<int>(std::min<int64_t>(total, int64_t{kMaxTrials} * 10));
}

Json HalvingConfig::ToJson() const {
  Json out = Json::object();
  out["type"] = "halving";
  out["resource"] = resource;
  out["min"] = min;
  out["max"] = max;
  out["eta"] = eta;
  out["configurations"] = Sizes().front();
  out["budgets"] = Budgets();
  out["sizes"] = Sizes();
  return out;
}

Json TuningSpec::ToJson() const {
  Json out = Json::object();
  out["space"] = space.ToJson();
  out["guardrails"] = guardrails.ToJson();
  out["objective"] = objective.ToJson();
  out["sampler"] = sampler.ToJson();
  out["strategy"] = strategy == Strategy::kSearch ? Json{{"type", "search"}} : halving.ToJson();
  out["budget"] = {
      {"max_trials", max_trials},
      {"max_time", max_time_micros ? Json(py::FormatTimeout(*max_time_micros)) : Json(nullptr)},
      {"parallelism", parallelism}};
  return out;
}

std::string TuningSpec::Digest() const {
  Json json = ToJson();
  json["budget"].erase("max_time");
  json["budget"].erase("parallelism");
  StatusOr<std::string> canonical = CanonicalJson(json);
  return Sha256Digest(canonical.ok() ? *canonical : DumpJson(json));
}

StatusOr<TuningSpec> ParseTuningSpec(std::string_view yaml, const std::string& file_name,
                                     const TuningSpecOptions& options) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYamlText(yaml, file_name));
  return ReadTuningSpec(source, options);
}

StatusOr<TuningSpec> LoadTuningSpec(const std::string& path, const TuningSpecOptions& options) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  return ParseTuningSpec(text, path, options);
}

StatusOr<TuningSpec> TuningSpecFromYaml(const YAML::Node& node, const std::string& file_name,
                                        const TuningSpecOptions& options) {
  ASSIGN_OR_RETURN(const Source source, Source::FromYaml(node, file_name));
  return ReadTuningSpec(source, options);
}

StatusOr<TuningSpec> TuningSpecFromJson(const Json& json, const std::string& context,
                                        const TuningSpecOptions& options) {
  return ReadTuningSpec(Source::FromJson(json, context), options);
}

Status ValidateTuningSpec(const TuningSpec& spec) {
  RETURN_IF_ERROR(ValidateSearchSpace(spec.space));
  RETURN_IF_ERROR(CheckSpace(spec.guardrails, spec.space));
  RETURN_IF_ERROR(spec.sampler.Validate());
  if (spec.objective.metric.empty()) {
    return absl::InvalidArgumentError("the objective names no metric");
  }
  for (const Constraint& c : spec.objective.constraints) {
    if (!c.program) {
      return absl::InvalidArgumentError("the constraint '" + c.source +
                                        "' is not compiled (build objectives with MakeObjective)");
    }
  }
  RETURN_IF_ERROR(CheckBudget(spec.max_trials, spec.max_time_micros, spec.parallelism));
  if (spec.strategy == Strategy::kHalving) {
    Status s = CheckHalving(spec.halving, spec.space, spec.guardrails);
    if (!s.ok()) return absl::InvalidArgumentError("strategy: " + std::string(s.message()));
    if (spec.max_trials != spec.halving.TotalTrials()) {
      return absl::InvalidArgumentError(
          "halving runs " + std::to_string(spec.halving.TotalTrials()) + " trials; max_trials is " +
          std::to_string(spec.max_trials));
    }
  }
  return absl::OkStatus();
}

}  // namespace plinth::tune
