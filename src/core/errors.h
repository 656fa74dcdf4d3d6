// The one mapping from a Status to what the outside world sees: an HTTP status, a CLI exit code,
// and a stable wire name ("not_found", ...). The remote CLI maps the wire name back to a Status, so
// an error has the same exit code whether the command ran in process or against a server.
//
// Exit codes: 0 ok, 1 internal, 2 usage / invalid input, 3 not found, 4 permission denied or
// unauthenticated, 5 refused by a gate or policy, 6 conflict, 7 integrity failure.
#ifndef PLINTH_CORE_ERRORS_H_
#define PLINTH_CORE_ERRORS_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace plinth {

// Gate and policy refusals are FailedPrecondition; integrity failures are DataLoss; conflicts are
// AlreadyExists or Aborted.
int HttpStatusFor(const Status& status);
int ExitCodeFor(const Status& status);
std::string WireCodeFor(absl::StatusCode code);
// Unknown names map to kUnknown (exit 1).
absl::StatusCode StatusCodeFromWire(std::string_view wire);

// Convenience constructors for the refusals that have their own exit code.
Status GateRefusedError(std::string_view message);
Status IntegrityError(std::string_view message);

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitPermission = 4;
inline constexpr int kExitGate = 5;
inline constexpr int kExitConflict = 6;
inline constexpr int kExitIntegrity = 7;

}  // namespace plinth

#endif  // PLINTH_CORE_ERRORS_H_
