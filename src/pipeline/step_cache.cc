#include "pipeline/step_cache.h"

namespace plinth::pipeline {

StatusOr<std::optional<CachedStep>> InMemoryStepCache::Lookup(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::optional<CachedStep>();
  return std::optional<CachedStep>(it->second);
}

Status InMemoryStepCache::Store(const std::string& key, const CachedStep& result) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[key] = result;
  return absl::OkStatus();
}

size_t InMemoryStepCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void InMemoryStepCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
}

}  // namespace plinth::pipeline
