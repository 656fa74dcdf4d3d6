// The PostgreSQL backend of the metadata store, through libpq.
//
// A pool of StoreOptions::pool_size connections, opened as needed; a connection that went bad
// is dropped and replaced, and one found closed by the server when its transaction begins is
// reconnected (its function has not run yet). Each RunInTransaction takes one connection for
// one READ COMMITTED transaction; RunReadOnly uses REPEATABLE READ READ ONLY, one consistent
// snapshot. Statements in the portable dialect have their `?` placeholders rewritten to $1..$n;
// values travel as text (int64 and double exactly) and results are typed from the column type:
// int2/int4/int8 and bool -> int64, float4/float8/numeric -> double, NULL -> monostate, anything
// else -> text.
//
// Errors: SQLSTATE 23505 (unique violation) is AlreadyExists, any other 23xxx FailedPrecondition,
// a lost or refused connection (08xxx, 57P0x, 53300) Unavailable, a serialization failure or
// deadlock (40001, 40P01) Aborted, anything else Internal with the statement in the message.
// Messages carry no parameter values and no password.
#ifndef PLINTH_STORE_POSTGRES_METADATA_STORE_H_
#define PLINTH_STORE_POSTGRES_METADATA_STORE_H_

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/metadata_store.h"
#include "store/store_backend.h"

namespace plinth {

// Connects to the PostgreSQL database `url` (postgresql://... or postgres://...) without touching
// its schema; one connection is opened at once so an unreachable server is reported here.
// InvalidArgument if the URL is malformed; Unavailable if the server cannot be reached or
// refuses the connection.
StatusOr<std::unique_ptr<StoreBackend>> OpenPostgresBackend(const std::string& url,
                                                            const StoreOptions& options);

struct RewrittenSql {
  std::string sql;       // with $1, $2, ... in place of each `?`
  int placeholders = 0;  // how many were rewritten
};

// Rewrites the `?` placeholders of `sql` to $1..$n, leaving alone any `?` inside a '...' string
// (also E'...' with backslash escapes), a "..." identifier, a $tag$...$tag$ string, or a -- or
// /* */ comment.
RewrittenSql RewritePlaceholders(std::string_view sql);

// `value` as PostgreSQL float8 input text that reads back as exactly `value` (shortest
// round-trip digits; "Infinity", "-Infinity", "NaN").
std::string FormatDoubleForPostgres(double value);

}  // namespace plinth

#endif  // PLINTH_STORE_POSTGRES_METADATA_STORE_H_
