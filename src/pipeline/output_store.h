// Where the executor keeps the files steps produce (docs/pipelines.md, "Outputs and caching").
//
// Outputs are named by their digest only, so a step's inputs are exactly the bytes an earlier step
// wrote, and a cache hit can be checked by asking whether its outputs are still present. The
// platform backs this with its content-addressed artifact store; DirectoryOutputStore is a plain
// folder for tests and local runs.
#ifndef PLINTH_PIPELINE_OUTPUT_STORE_H_
#define PLINTH_PIPELINE_OUTPUT_STORE_H_

#include <memory>
#include <string>

#include "core/status.h"

namespace plinth::pipeline {

// Implementations are called from several worker threads at once and must be thread-safe.
class OutputStore {
 public:
  virtual ~OutputStore() = default;
  // Stores a copy of the regular file at `path`; returns its digest "sha256:<hex>". The caller
  // removes `path` afterwards.
  virtual StatusOr<std::string> Put(const std::string& path) = 0;
  // A local file holding exactly the object's bytes, for a step to read (never to write).
  // NotFound if absent.
  virtual StatusOr<std::string> LocalPath(const std::string& digest) = 0;
  // False if absent (a cached result whose outputs are gone is not reused).
  virtual StatusOr<bool> Contains(const std::string& digest) = 0;
};

// Objects as files named by their hex digest in one folder (created if missing). Put hashes
// while copying and renames into place, so a reader never sees a partial object.
class DirectoryOutputStore : public OutputStore {
 public:
  static StatusOr<std::unique_ptr<DirectoryOutputStore>> Create(const std::string& root);

  StatusOr<std::string> Put(const std::string& path) override;
  StatusOr<std::string> LocalPath(const std::string& digest) override;
  StatusOr<bool> Contains(const std::string& digest) override;

  const std::string& root() const { return root_; }

 private:
  explicit DirectoryOutputStore(std::string root) : root_(std::move(root)) {}
  StatusOr<std::string> ObjectPath(const std::string& digest) const;

  std::string root_;
};

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_OUTPUT_STORE_H_
