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

namespace {

// Sets home->online_store from $PLINTH_ONLINE_STORE or config.json's "online_store". Only the
// URL's scheme is checked here (OpenOnlineStore parses the rest); messages never show the URL,
// which may hold a password.
Status ResolveOnlineStore(const std::string& dir, const Json& config, HomeConfig* home) {
  constexpr char kScheme[] = "redis://";
  if (const char* env = std::getenv("PLINTH_ONLINE_STORE"); env != nullptr && *env != '\0') {
    home->online_store = env;
    if (home->online_store.rfind(kScheme, 0) != 0) {
      return absl::InvalidArgumentError(
          "PLINTH_ONLINE_STORE must be a redis:// URL (unset it to use the home's online folder)");
    }
    return absl::OkStatus();
  }
  auto it = config.find("online_store");
  if (it == config.end()) return absl::OkStatus();
  if (!it->is_string() || it->get<std::string>().rfind(kScheme, 0) != 0) {
    return absl::InvalidArgumentError(dir +
                                      "/config.json: \"online_store\" must be a redis:// "
                                      "URL string (leave it out to use HOME/online)");
  }
  home->online_store = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace

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
  RETURN_IF_ERROR(ResolveOnlineStore(dir, *config, &h));
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
