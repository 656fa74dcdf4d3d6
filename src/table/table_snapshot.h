// The binary snapshot of a Table: a versioned, little-endian, checksummed byte layout (magic,
// version, row count, then per column its name, type, null bitmap, values and, for strings, the
// dictionary; SHA-256 of everything before it as a trailer). docs/formats/table.md is the
// contract; this is its one implementation.
//
// Deterministic: equal tables (operator==) give identical bytes, so the SHA-256 of a snapshot
// versions a data set. Readers never trust the input: a snapshot that is truncated, fails its
// checksum or is inconsistent is refused with DataLoss; one that is not a table snapshot at all, or
// has a version or flags this reader does not know, with InvalidArgument. Reading allocates memory
// only as bytes actually arrive, so a corrupt row count cannot exhaust memory.
#ifndef PLINTH_TABLE_TABLE_SNAPSHOT_H_
#define PLINTH_TABLE_TABLE_SNAPSHOT_H_

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "core/status.h"
#include "table/table.h"

namespace plinth {

// Version written by this code; readers refuse any other.
inline constexpr uint32_t kTableSnapshotVersion = 1;

// The snapshot bytes of `table`.
std::string TableToSnapshot(const Table& table);
// Streams the snapshot of `table` to `out`. Internal if the stream fails.
Status WriteTableSnapshot(const Table& table, std::ostream& out);
// Writes the snapshot to `path` atomically (temp file in the same folder, fsync, rename, fsync of
// the folder), replacing any file there. Internal on I/O errors.
Status WriteTableSnapshotFile(const Table& table, const std::string& path);

// Decodes a whole snapshot held in memory (the checksum is verified before anything is decoded).
StatusOr<Table> TableFromSnapshot(std::string_view bytes);
// Decodes a snapshot from `in`, which must end right after the checksum (DataLoss otherwise).
StatusOr<Table> ReadTableSnapshot(std::istream& in);
// Decodes the snapshot file at `path`, streaming. NotFound if it does not exist.
StatusOr<Table> ReadTableSnapshotFile(const std::string& path);

}  // namespace plinth

#endif  // PLINTH_TABLE_TABLE_SNAPSHOT_H_
