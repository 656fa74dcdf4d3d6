// The `plinth` command line: parses arguments, reaches the platform in process (on the home) or
// over HTTP (--server), renders tables or JSON, and maps every error to its exit code
// (core/errors.h).
#ifndef PLINTH_CLI_CLI_H_
#define PLINTH_CLI_CLI_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "platform/client.h"

namespace plinth {

int RunCli(int argc, char** argv);

// Runs the demo in `home_dir` (a fresh temporary folder when empty). Prints as it goes.
Status RunDemo(const std::string& home_dir, bool json);

}  // namespace plinth

#endif  // PLINTH_CLI_CLI_H_
