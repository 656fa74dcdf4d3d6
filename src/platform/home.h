// The Plinth home: the folder that holds an installation's configuration, keys, credentials and,
// on the embedded default, its SQLite metadata store and artifact folder.
//
//   HOME/config.json          {"format": 1, "store": URL}   (written last: marks a complete home)
//   HOME/metadata.db          SQLite store (when the store URL is the default)
//   HOME/artifacts/           content-addressed artifacts (docs/formats/artifacts.md)
//   HOME/online/              the embedded online feature store (docs/formats/online.md)
//   HOME/keys/platform.key    Ed25519 signing key, mode 0600
//   HOME/keys/platform.pub    its public key, hex
//   HOME/keys/audit-hmac.key  key of the HMAC that replaces secrets in audit records, mode 0600
//   HOME/credentials          {"user", "token"} of the first admin, mode 0600
#ifndef PLINTH_PLATFORM_HOME_H_
#define PLINTH_PLATFORM_HOME_H_

#include <string>

#include "core/json.h"
#include "core/signing.h"
#include "core/status.h"

namespace plinth {

struct HomeConfig {
  std::string dir;        // absolute path of the home
  std::string store_url;  // resolved: "sqlite:/abs/path" or "postgresql://..."
  std::string artifacts_dir;
  std::string online_dir;
  // Where the online store lives when not in online_dir: a redis:// URL (RedisOnlineStore), from
  // $PLINTH_ONLINE_STORE, else config.json's optional "online_store"; empty for online_dir.
  std::string online_store;
  std::string signing_key_path;
  std::string public_key_path;
  std::string hmac_key_path;
  std::string credentials_path;
};

// The home to use: `flag` if non-empty, else $PLINTH_HOME, else "./.plinth"; made absolute.
std::string ResolveHomeDir(const std::string& flag);

// Paths of a home at `dir` (no I/O).
HomeConfig HomePaths(const std::string& dir);

// Reads HOME/config.json. NotFound (with a hint to run `plinth init`) if the home does not exist
// or is incomplete; InvalidArgument if config.json is malformed, or if its "online_store" or
// $PLINTH_ONLINE_STORE (which wins when set and non-empty) is not a redis:// URL.
StatusOr<HomeConfig> LoadHome(const std::string& dir);

// Reads the credentials file's token, or "" if there is none.
std::string ReadCredentialsToken(const HomeConfig& home);

// Writes config.json for a home whose other files exist.
Status WriteHomeConfig(const HomeConfig& home, const std::string& store_url_as_given);

}  // namespace plinth

#endif  // PLINTH_PLATFORM_HOME_H_
