// The OpenAPI 3.0 document of the REST API, generated from the operation table.
#ifndef PLINTH_API_OPENAPI_H_
#define PLINTH_API_OPENAPI_H_

#include "core/json.h"

namespace plinth {

Json BuildOpenApiDocument();

}  // namespace plinth

#endif  // PLINTH_API_OPENAPI_H_
