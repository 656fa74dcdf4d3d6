// The SQLite backend of the metadata store: the embedded default, one database file.
//
// The file is in WAL mode with foreign keys on, a busy timeout, and synchronous=FULL when
// StoreOptions::durable (NORMAL otherwise). One write connection serves RunInTransaction with
// group commit: concurrent callers queue, one of them (the leader) takes the whole queue, opens
// one BEGIN IMMEDIATE transaction, runs each function in its own SAVEPOINT (released when it
// returns OK, rolled back when it fails, so a failure reaches only its own caller) and commits
// once for all. If that COMMIT fails, every caller whose function succeeded gets the error. A
// function may therefore run on another caller's thread. RunReadOnly uses a small pool of
// separate read-only connections (PRAGMA query_only) and a deferred transaction, which reads one
// consistent snapshot and never waits for writers.
//
// Errors: a unique or primary-key violation is AlreadyExists, any other constraint violation
// FailedPrecondition, a lock still held when the busy timeout ends Unavailable, anything else
// Internal with the statement in the message.
#ifndef PLINTH_STORE_SQLITE_METADATA_STORE_H_
#define PLINTH_STORE_SQLITE_METADATA_STORE_H_

#include <memory>
#include <string>

#include "core/status.h"
#include "store/metadata_store.h"
#include "store/store_backend.h"

namespace plinth {

// Opens (creating if missing) the SQLite database at `path` without touching its schema; the
// folder must exist. Internal if the file cannot be opened or put in WAL mode; Unavailable if it
// stays locked by another process past the busy timeout. options.pool_size bounds the read-only
// connections.
StatusOr<std::unique_ptr<StoreBackend>> OpenSqliteBackend(const std::string& path,
                                                          const StoreOptions& options);

}  // namespace plinth

#endif  // PLINTH_STORE_SQLITE_METADATA_STORE_H_
