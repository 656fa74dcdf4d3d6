#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // XGBoost's OpenMP threads spin while waiting by default; on a machine whose cores are shared
  // (every CI runner, most servers) that makes training 10-30x slower. libgomp reads the policy
  // once, when it loads, before main runs, so it can only be set by starting again with it in the
  // environment. PLINTH_NO_REEXEC=1 keeps the process as it is (the user's OMP_WAIT_POLICY wins
  // anyway).
  if (getenv("OMP_WAIT_POLICY") == nullptr && getenv("PLINTH_NO_REEXEC") == nullptr) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);
    // If the re-exec fails, run as we are: only training speed is affected.
  }
  return plinth::RunCli(argc, argv);
}
