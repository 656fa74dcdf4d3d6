#include "cli/command_support.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "api/http_client.h"
#include "cli/output.h"
#include "platform/home.h"
#include "platform/platform.h"

namespace plinth {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

StatusOr<std::unique_ptr<PlatformClient>> Connect(const GlobalOptions& g) {
  std::string server = g.server.empty() ? EnvOr("PLINTH_SERVER", "") : g.server;
  std::string token = g.token.empty() ? EnvOr("PLINTH_TOKEN", "") : g.token;
  std::string home_dir = ResolveHomeDir(g.home);
  if (!server.empty()) {
    if (token.empty()) {
      auto home = LoadHome(home_dir);
      if (home.ok()) token = ReadCredentialsToken(*home);
    }
    ASSIGN_OR_RETURN(auto client, HttpPlatformClient::Create(server, token));
    return std::unique_ptr<PlatformClient>(std::move(client));
  }
  ASSIGN_OR_RETURN(HomeConfig home, LoadHome(home_dir));
  if (token.empty()) token = ReadCredentialsToken(home);
  ASSIGN_OR_RETURN(auto platform, Platform::Open(home));
  return std::unique_ptr<PlatformClient>(
      std::make_unique<LocalPlatformClient>(std::move(platform), token));
}

Status CallAndPrint(const GlobalOptions& g, const std::string& op, const Json& request,
                    const Render& human) {
  ASSIGN_OR_RETURN(auto client, Connect(g));
  ASSIGN_OR_RETURN(Json result, client->Call(op, request));
  if (g.json) {
    PrintJson(std::cout, result);
  } else {
    human(result);
  }
  return absl::OkStatus();
}

void EnsurePassiveOpenMp(char** argv) {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (policy != nullptr && *policy != '\0') return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);
  // Not executed again (no /proc): carry on, only slower.
}

}  // namespace plinth
