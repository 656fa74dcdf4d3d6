// Errors as values: absl::Status / absl::StatusOr across every module boundary, with the return
// macros used throughout the code base. Expected failures are values; programmer errors are
// asserts.
#ifndef PLINTH_CORE_STATUS_H_
#define PLINTH_CORE_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace plinth {
using absl::Status;
using absl::StatusOr;
}  // namespace plinth

#define PLINTH_CONCAT_INNER_(a, b) a##b
#define PLINTH_CONCAT_(a, b) PLINTH_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status _plinth_status = (expr);          \
    if (!_plinth_status.ok()) return _plinth_status; \
  } while (0)

// `lhs = value of expr` (a StatusOr<T>), or returns its error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(PLINTH_CONCAT_(_plinth_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(var, lhs, expr)   \
  auto var = (expr);                             \
  if (!var.ok()) return std::move(var).status(); \
  lhs = std::move(var).value()

#endif  // PLINTH_CORE_STATUS_H_
