#include "steps/platform_stores.h"

#include <filesystem>
#include <system_error>

namespace plinth {
namespace {

bool IsDigest(const std::string& digest) {
  if (digest.size() != 71 || digest.rfind("sha256:", 0) != 0) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// "sha256:<hex>" -> "<hex>" for a cache key the executor made (always 64 hex).
std::string KeyHex(const std::string& key) {
  return key.rfind("sha256:", 0) == 0 ? key.substr(7) : key;
}

}  // namespace

StatusOr<std::optional<pipeline::CachedStep>> PlatformStepCache::Lookup(const std::string& key) {
  ASSIGN_OR_RETURN(Json r, client_->Call("pipeline.cache_lookup",
                                         {{"project", project_}, {"key", KeyHex(key)}}));
  if (!r.value("found", false)) return std::optional<pipeline::CachedStep>();
  pipeline::CachedStep step;
  if (r.contains("outputs") && r["outputs"].is_object()) {
    for (const auto& [name, digest] : r["outputs"].items()) {
      if (digest.is_string()) step.outputs[name] = digest.get<std::string>();
    }
  }
  if (r.contains("metrics") && r["metrics"].is_object()) {
    for (const auto& [name, value] : r["metrics"].items()) {
      if (value.is_number()) step.metrics[name] = value.get<double>();
    }
  }
  if (r.contains("summary")) step.summary = r["summary"];
  return std::optional<pipeline::CachedStep>(std::move(step));
}

Status PlatformStepCache::Store(const std::string& key, const pipeline::CachedStep& result) {
  Json outputs = Json::object();
  for (const auto& [name, digest] : result.outputs) outputs[name] = digest;
  Json metrics = Json::object();
  for (const auto& [name, value] : result.metrics) metrics[name] = value;
  return client_
      ->Call("pipeline.cache_store", {{"project", project_},
                                      {"key", KeyHex(key)},
                                      {"run_id", run_id_},
                                      {"outputs", outputs},
                                      {"metrics", metrics},
                                      {"summary", result.summary}})
      .status();
}

StatusOr<std::unique_ptr<PlatformOutputStore>> PlatformOutputStore::Create(PlatformClient* client,
                                                                           std::string project,
                                                                           std::string local_dir) {
  std::error_code ec;
  std::filesystem::create_directories(local_dir, ec);
  if (ec) {
    return absl::InternalError("cannot create the folder " + local_dir + ": " + ec.message());
  }
  return std::unique_ptr<PlatformOutputStore>(
      new PlatformOutputStore(client, std::move(project), std::move(local_dir)));
}

StatusOr<std::string> PlatformOutputStore::Put(const std::string& path) {
  ASSIGN_OR_RETURN(Json r, client_->PutArtifact(project_, path, nullptr));
  std::string digest = r.value("digest", "");
  if (!IsDigest(digest)) return absl::InternalError("artifact.put returned no digest");
  std::lock_guard<std::mutex> lock(mu_);
  stored_.insert(digest);
  return digest;
}

StatusOr<std::string> PlatformOutputStore::Fetch(const std::string& digest) {
  if (!IsDigest(digest)) return absl::InvalidArgumentError("not a digest: " + digest.substr(0, 80));
  std::string path = local_dir_ + "/" + digest.substr(7);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  // GetArtifact renames the file into place only once it verified, so a present file is whole.
  RETURN_IF_ERROR(client_->GetArtifact(digest, path, nullptr));
  return path;
}

StatusOr<std::string> PlatformOutputStore::LocalPath(const std::string& digest) {
  return Fetch(digest);
}

StatusOr<bool> PlatformOutputStore::Contains(const std::string& digest) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stored_.count(digest) != 0) return true;
  }
  StatusOr<std::string> path = Fetch(digest);
  if (absl::IsNotFound(path.status())) return false;
  RETURN_IF_ERROR(path.status());
  return true;
}

}  // namespace plinth
