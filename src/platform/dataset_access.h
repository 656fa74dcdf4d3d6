// Internal to the platform module: reading and recording data set versions, shared by the data
// set operations (data_handlers.cc) and the feature store's (feature_handlers.cc), which reads
// sources and spines and records training sets as data set versions.
#ifndef PLINTH_PLATFORM_DATASET_ACCESS_H_
#define PLINTH_PLATFORM_DATASET_ACCESS_H_

#include <cstdint>
#include <string>

#include "auth/identity.h"
#include "blob/artifact_store.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "data/dataset.h"
#include "store/metadata_store.h"
#include "table/table.h"

namespace plinth {

// One row of dataset_versions.
struct VersionRow {
  std::string version;
  int64_t seq = 0;
  std::string file_digest;
  std::string snapshot_digest;
  int64_t size = 0;
  int64_t rows = 0;
  int64_t columns = 0;
  std::string classification;
  Json schema;
  Json tags;
  Json profile;
  int64_t created_at = 0;
  std::string created_by;
};

// The id of data set `name` in `project`; NotFound naming both.
StatusOr<std::string> FindDatasetId(Transaction& tx, const Project& project,
                                    const std::string& name);

// The version `version_text` (digest or unique prefix of 12+ hex) of a data set, or its latest
// when empty. NotFound / InvalidArgument (ambiguous prefix) naming the data set.
StatusOr<VersionRow> FindVersion(Transaction& tx, const std::string& dataset_id,
                                 const std::string& name, const std::string& version_text);

// Every version of a data set, newest first.
StatusOr<std::vector<VersionRow>> ListVersions(Transaction& tx, const std::string& dataset_id);

// The table snapshot of a version, read (and verified) from the artifact store.
StatusOr<Table> LoadSnapshot(ArtifactStore& artifacts, const VersionRow& v);

// A data set version ready to be recorded: its stored file, its table's stored snapshot, schema
// and profile. Prepared outside any transaction (profiling a large table takes time).
struct PreparedVersion {
  ArtifactInfo file;
  ArtifactInfo snapshot;
  DatasetTags tags;
  Json schema;
  Json profile;
  int64_t rows = 0;
  int64_t columns = 0;
};

// Checks the tags against `table`, stores its snapshot and profiles it. `file` is the stored
// file `table` was read from (or written as).
StatusOr<PreparedVersion> PrepareDatasetVersion(ArtifactStore& artifacts, const ArtifactInfo& file,
                                                const Table& table, const DatasetTags& tags);

// What StoreDatasetVersion recorded.
struct StoredVersion {
  std::string version;  // hex digest of the file
  int64_t seq = 0;
  bool created = false;  // false: the same bytes were registered before (with the same tags)
};

// Records `prepared` as a version of data set `name` of `project`, creating the data set if
// needed, in transaction `tx`: artifact ownership rows, the data set, the version. The same file
// again with the same tags returns the existing version; with other tags it is AlreadyExists.
StatusOr<StoredVersion> StoreDatasetVersion(Transaction& tx, const Clock& clock,
                                            const Project& project, const std::string& name,
                                            const std::string& actor,
                                            const PreparedVersion& prepared);

}  // namespace plinth

#endif  // PLINTH_PLATFORM_DATASET_ACCESS_H_
