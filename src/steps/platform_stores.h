// The executor's step cache and output store, kept on the platform through a PlatformClient, so a
// pipeline run caches and resumes the same way in process and against a server.
//
// PlatformStepCache keeps entries in the project's step cache (pipeline.cache_lookup and
// pipeline.cache_store, store migration 6): an entry is found only while the project still holds
// every output it names. PlatformOutputStore stores outputs as artifacts of the project
// (artifact.put) and reads them through a local folder of verified copies (artifact.get writes a
// file only once its bytes hash to the digest).
#ifndef PLINTH_STEPS_PLATFORM_STORES_H_
#define PLINTH_STEPS_PLATFORM_STORES_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "pipeline/output_store.h"
#include "pipeline/step_cache.h"
#include "platform/client.h"

namespace plinth {

class PlatformStepCache : public pipeline::StepCache {
 public:
  // `run_id` is the pipeline run that stores entries (it must be set before the first Store).
  PlatformStepCache(PlatformClient* client, std::string project, std::string run_id)
      : client_(client), project_(std::move(project)), run_id_(std::move(run_id)) {}
  StatusOr<std::optional<pipeline::CachedStep>> Lookup(const std::string& key) override;
  Status Store(const std::string& key, const pipeline::CachedStep& result) override;

 private:
  PlatformClient* client_;
  std::string project_;
  std::string run_id_;
};

class PlatformOutputStore : public pipeline::OutputStore {
 public:
  // `local_dir` holds the verified copies (created if missing; the caller removes it).
  static StatusOr<std::unique_ptr<PlatformOutputStore>> Create(PlatformClient* client,
                                                               std::string project,
                                                               std::string local_dir);

  StatusOr<std::string> Put(const std::string& path) override;
  StatusOr<std::string> LocalPath(const std::string& digest) override;
  StatusOr<bool> Contains(const std::string& digest) override;

 private:
  PlatformOutputStore(PlatformClient* client, std::string project, std::string local_dir)
      : client_(client), project_(std::move(project)), local_dir_(std::move(local_dir)) {}
  // Downloads the object unless a verified copy is already there.
  StatusOr<std::string> Fetch(const std::string& digest);

  PlatformClient* client_;
  std::string project_;
  std::string local_dir_;
  std::mutex mu_;
  std::set<std::string> stored_;  // digests put by this run
};

}  // namespace plinth

#endif  // PLINTH_STEPS_PLATFORM_STORES_H_
