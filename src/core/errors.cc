#include "core/errors.h"

#include <array>

namespace plinth {
namespace {

struct ErrorMapping {
  absl::StatusCode code;
  const char* wire;
  int http;
  int exit_code;
};

constexpr std::array<ErrorMapping, 17> kMappings = {{
    {absl::StatusCode::kOk, "ok", 200, kExitOk},
    {absl::StatusCode::kCancelled, "cancelled", 499, kExitInternal},
    {absl::StatusCode::kUnknown, "unknown", 500, kExitInternal},
    {absl::StatusCode::kInvalidArgument, "invalid_argument", 400, kExitUsage},
    {absl::StatusCode::kDeadlineExceeded, "deadline_exceeded", 504, kExitInternal},
    {absl::StatusCode::kNotFound, "not_found", 404, kExitNotFound},
    {absl::StatusCode::kAlreadyExists, "already_exists", 409, kExitConflict},
    {absl::StatusCode::kPermissionDenied, "permission_denied", 403, kExitPermission},
    {absl::StatusCode::kResourceExhausted, "resource_exhausted", 429, kExitInternal},
    {absl::StatusCode::kFailedPrecondition, "failed_precondition", 422, kExitGate},
    {absl::StatusCode::kAborted, "aborted", 409, kExitConflict},
    {absl::StatusCode::kOutOfRange, "out_of_range", 400, kExitUsage},
    {absl::StatusCode::kUnimplemented, "unimplemented", 501, kExitInternal},
    {absl::StatusCode::kInternal, "internal", 500, kExitInternal},
    {absl::StatusCode::kUnavailable, "unavailable", 503, kExitInternal},
    {absl::StatusCode::kDataLoss, "integrity_error", 500, kExitIntegrity},
    {absl::StatusCode::kUnauthenticated, "unauthenticated", 401, kExitPermission},
}};

const ErrorMapping& Find(absl::StatusCode code) {
  for (const auto& m : kMappings) {
    if (m.code == code) return m;
  }
  return kMappings[2];  // unknown
}

}  // namespace

int HttpStatusFor(const Status& status) { return Find(status.code()).http; }
int ExitCodeFor(const Status& status) { return Find(status.code()).exit_code; }
std::string WireCodeFor(absl::StatusCode code) { return Find(code).wire; }

absl::StatusCode StatusCodeFromWire(std::string_view wire) {
  for (const auto& m : kMappings) {
    if (wire == m.wire) return m.code;
  }
  return absl::StatusCode::kUnknown;
}

Status GateRefusedError(std::string_view message) {
  return absl::FailedPreconditionError(std::string(message));
}
Status IntegrityError(std::string_view message) {
  return absl::DataLossError(std::string(message));
}

}  // namespace plinth
