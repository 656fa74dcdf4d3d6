// The versioned schema of the metadata store. Migration N takes a store from version N-1 to N;
// each runs in its own transaction on open. A store whose version is newer than the last
// migration here is refused (FailedPrecondition), never opened.
//
// All statements are in the portable dialect described in metadata_store.h.
#ifndef PLINTH_STORE_SCHEMA_H_
#define PLINTH_STORE_SCHEMA_H_

#include <string>
#include <vector>

namespace plinth {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

// In increasing version order, starting at 1, without gaps.
const std::vector<Migration>& SchemaMigrations();

}  // namespace plinth

#endif  // PLINTH_STORE_SCHEMA_H_
