// Alert webhooks: one JSON POST to an http(s) URL, with a short timeout. The platform calls it for
// monitoring alerts; it lives with the serving code because only api/ and serve/ see the HTTP
// library.
//
// Server-side request forgery: a URL whose host is a loopback, link-local (169.254.0.0/16, the
// cloud metadata address among them), private (10/8, 172.16/12, 192.168/16) or unspecified
// address, or "localhost", is refused unless `allow_private` is set (the platform sets it only
// when PLINTH_ALLOW_PRIVATE_WEBHOOKS=1 is in its environment). Names are resolved once and the
// check applies to every address they resolve to.
#ifndef PLINTH_SERVE_WEBHOOK_H_
#define PLINTH_SERVE_WEBHOOK_H_

#include <chrono>
#include <string>

#include "core/json.h"
#include "core/status.h"

namespace plinth {

struct WebhookOptions {
  std::chrono::milliseconds timeout{3000};
  bool allow_private = false;
};

// POSTs `body` as application/json. Returns the HTTP status the receiver answered with (any
// status: the caller records it), InvalidArgument for a URL that is not http(s)://host[:port]/path,
// PermissionDenied for a private address not allowed, Unavailable when the receiver cannot be
// reached in time.
StatusOr<int> PostWebhook(const std::string& url, const Json& body,
                          const WebhookOptions& options = {});

}  // namespace plinth

#endif  // PLINTH_SERVE_WEBHOOK_H_
