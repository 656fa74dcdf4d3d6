// Small file-system helpers shared by modules: whole-file reads and the atomic-write recipe
// (temp file in the same folder, fsync, rename, fsync the folder).
#ifndef PLINTH_CORE_FILES_H_
#define PLINTH_CORE_FILES_H_

#include <sys/types.h>

#include <string>

#include "core/status.h"

namespace plinth {

// NotFound if missing; Internal on read errors.
StatusOr<std::string> ReadFile(const std::string& path);
// Writes `contents` to `path` atomically with `mode`. If `overwrite` is false and `path` exists,
// returns AlreadyExists and leaves it untouched.
Status WriteFileAtomic(const std::string& path, const std::string& contents, mode_t mode,
                       bool overwrite);
// fsync of a folder, so a rename inside it is durable.
Status SyncDirectory(const std::string& dir);
// mkdir -p with `mode` for created folders.
Status MakeDirectories(const std::string& dir, mode_t mode = 0700);

}  // namespace plinth

#endif  // PLINTH_CORE_FILES_H_
