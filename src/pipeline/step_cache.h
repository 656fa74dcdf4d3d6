// The step cache: cache key -> a step's recorded result (docs/pipelines.md, "Outputs and
// caching"). The executor computes the key (executor.h); the platform keeps the entries in its
// metadata store, and InMemoryStepCache serves tests and one-off runs.
#ifndef PLINTH_PIPELINE_STEP_CACHE_H_
#define PLINTH_PIPELINE_STEP_CACHE_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/json.h"
#include "core/status.h"

namespace plinth::pipeline {

// What a successful step left: its outputs by digest, its metrics and summary.
struct CachedStep {
  std::map<std::string, std::string> outputs;  // output name -> "sha256:<hex>"
  std::map<std::string, double> metrics;
  Json summary;
};

// Implementations are called from several worker threads at once and must be thread-safe.
class StepCache {
 public:
  virtual ~StepCache() = default;
  // nullopt on a miss.
  virtual StatusOr<std::optional<CachedStep>> Lookup(const std::string& key) = 0;
  // Records a result; storing a key again replaces the entry (the same key gives equivalent
  // results, so either is right).
  virtual Status Store(const std::string& key, const CachedStep& result) = 0;
};

class InMemoryStepCache : public StepCache {
 public:
  StatusOr<std::optional<CachedStep>> Lookup(const std::string& key) override;
  Status Store(const std::string& key, const CachedStep& result) override;
  size_t size() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  std::map<std::string, CachedStep> entries_;
};

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_STEP_CACHE_H_
