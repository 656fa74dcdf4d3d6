#include "platform/home.h"

#include <cstdlib>
#include <filesystem>

#include "core/files.h"

namespace plinth {

std::string ResolveHomeDir(const std::string& flag) {
  std::string dir = flag;
  if (dir.empty()) {
    const char* env = std::getenv("PLINTH_HOME");
    dir = (env != nullptr && *env != '\0') ? env : ".plinth";
  }
  std::error_code ec;
  auto abs = std::filesystem::absolute(dir, ec);
  return ec ? dir : abs.lexically_normal().string();
}

HomeConfig HomePaths(const std::string& dir) {
  HomeConfig h;
  h.dir = dir;
  h.store_url = "sqlite:" + dir + "/metadata.db";
  h.artifacts_dir = dir + "/artifacts";
  h.online_dir = dir + "/online";
  h.signing_key_path = dir + "/keys/platform.key";
  h.public_key_path = dir + "/keys/platform.pub";
  h.hmac_key_path = dir + "/keys/audit-hmac.key";
  h.credentials_path = dir + "/credentials";
  return h;
}

StatusOr<HomeConfig> LoadHome(const std::string& dir) {
  HomeConfig h = HomePaths(dir);
  auto text = ReadFile(dir + "/config.json");
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError("no Plinth home at " + dir + " (run `plinth init --home " + dir +
                               "`, or pass --home / set PLINTH_HOME)");
  }
  RETURN_IF_ERROR(text.status());
  auto config = ParseJson(*text);
  if (!config.ok() || !config->is_object() || !(*config)["store"].is_string()) {
    return absl::InvalidArgumentError(dir +
                                      "/config.json: expected an object with a \"store\" "
                                      "string");
  }
  std::string store = (*config)["store"].get<std::string>();
  if (store == "sqlite:metadata.db") {
    h.store_url = "sqlite:" + dir + "/metadata.db";
  } else {
    h.store_url = store;
  }
  return h;
}

std::string ReadCredentialsToken(const HomeConfig& home) {
  auto text = ReadFile(home.credentials_path);
  if (!text.ok()) return "";
  auto json = ParseJson(*text);
  if (!json.ok() || !json->is_object() || !(*json)["token"].is_string()) return "";
  return (*json)["token"].get<std::string>();
}

Status WriteHomeConfig(const HomeConfig& home, const std::string& store_url_as_given) {
  Json config = {{"format", 1}, {"store", store_url_as_given}};
  return WriteFileAtomic(home.dir + "/config.json", config.dump(2) + "\n", 0600,
                         /*overwrite=*/false);
}

}  // namespace plinth
