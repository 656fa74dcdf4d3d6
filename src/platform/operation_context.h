// Internal to the platform module: what an operation's handler receives, and the checks every
// handler shares (platform-wide permissions, project visibility). Each domain adds its handlers
// to the map in its own file (kernel_handlers.cc, ...); platform.cc runs them.
#ifndef PLINTH_PLATFORM_OPERATION_CONTEXT_H_
#define PLINTH_PLATFORM_OPERATION_CONTEXT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "auth/identity.h"
#include "core/json.h"
#include "core/status.h"
#include "store/metadata_store.h"

namespace plinth {

class Platform;

struct OpContext {
  Platform& platform;
  Transaction& tx;
  const Principal& principal;
  const IdentityStore& identity;
  AuditEvent& audit;
  // Work to run after the transaction ends, whose result becomes the operation's (for reads that
  // open their own transactions, such as verifying the audit chain).
  std::function<StatusOr<Json>()> after_transaction;
  // Set by a read whose access must itself be audited (a confidential data set): Call appends
  // `audit` after the read and returns the data only if that append succeeded.
  bool audit_read = false;
};

using Handler = StatusOr<Json> (*)(OpContext&, const Json&);
using HandlerMap = std::map<std::string, Handler>;

// The string field `field` of a request, or "" when absent.
std::string Str(const Json& request, const char* field);
// "data-scientist or admin": the roles that grant `permission`, for messages.
std::string GrantingRoles(Permission permission);
// "dana has data-scientist on credit-risk", for messages.
std::string DescribeBindings(const Principal& p);
// PermissionDenied unless a platform-wide binding grants `permission`.
Status RequirePlatformWide(const OpContext& ctx, Permission permission);
// The project `name` if the caller may act on it with `permission`. A project the caller holds no
// role in does not exist for them (NotFound); one they see but may not act on is
// PermissionDenied; a malformed name is InvalidArgument.
StatusOr<Project> AuthorizeProject(Transaction& tx, const IdentityStore& identity,
                                   const Principal& principal, const std::string& action,
                                   const std::string& name, Permission permission);
// RFC 3339 time, or null.
Json TimeOrNull(const std::optional<int64_t>& micros);

// The lineage graph around `ref` (lineage.show's walk, upstream and downstream):
// {"nodes": [{ref, kind}], "edges": [{from, to, relation}]}.
StatusOr<Json> LineageGraph(OpContext& ctx, const Project& p, const std::string& ref);

// The feature service a model version's rows may be looked up in at serving time: the service of
// the training set recorded as `dataset` ("NAME@VERSION", the version's training data), as
// {"project", "service", "service_version", "training_set", "features": [{view, feature}],
// "views": [{view, key, version}]} with the definitions the training set was built with (each
// view's join key and version); null when `dataset` is no training set.
StatusOr<Json> ServingFeatureService(OpContext& ctx, const Project& p, const std::string& dataset);

// Handlers of the kernel's operations (identity, artifacts, audit).
void AddKernelHandlers(HandlerMap* handlers);
// Handlers of the data set operations (data_handlers.cc).
void AddDataHandlers(HandlerMap* handlers);
// Handlers of the feature store and lineage operations (feature_handlers.cc).
void AddFeatureHandlers(HandlerMap* handlers);
// Handlers of experiment tracking (tracking_handlers.cc).
void AddTrackingHandlers(HandlerMap* handlers);
// Handlers of pipeline runs and the step cache (pipeline_handlers.cc).
void AddPipelineHandlers(HandlerMap* handlers);

}  // namespace plinth

#endif  // PLINTH_PLATFORM_OPERATION_CONTEXT_H_
