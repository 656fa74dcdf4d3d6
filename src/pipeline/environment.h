// Approved runtimes for command steps (docs/pipelines.md, "Environments").
//
// An organisation lists the runtimes its pipelines may run commands in, in environments.yaml:
//
//   environments:
//     - name: python-3.11
//       description: Debian's CPython 3.11 with the approved wheel set
//       version: 3.11.2                       # host environments: a version is required
//       command: [/usr/bin/env, PYTHONHASHSEED=0]   # optional argv prefix
//       env: {PATH: /opt/venvs/py311/bin:/usr/bin:/bin}   # optional variables
//     - name: scoring
//       description: the scoring image
//       image: registry.example/ml/scoring    # image environments: pinned by digest
//       digest: sha256:<64 hex>
//
// A `run:` step must name one of them; its digest (EnvironmentDigest) is part of the step's cache
// key, so changing an approved runtime re-runs the steps that used it.
#ifndef PLINTH_PIPELINE_ENVIRONMENT_H_
#define PLINTH_PIPELINE_ENVIRONMENT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::pipeline {

struct Environment {
  std::string name;
  std::string description;
  // Exactly one kind: an image (with its digest), or the host (with a version, optionally a
  // command prefix and variables).
  std::string image;
  std::string digest;  // "sha256:<hex>" of the image
  std::string version;
  std::vector<std::string> command;        // argv prefix put before a step's `run`
  std::map<std::string, std::string> env;  // variables set for the command
  // Where it was defined, for messages.
  std::string file;
  int line = 0;

  bool is_image() const { return !image.empty(); }
};

struct EnvironmentCatalog {
  std::vector<Environment> environments;
  std::string file;  // the file it was read from ("" if built in code)

  const Environment* Find(const std::string& name) const;
  std::vector<std::string> Names() const;
};

// InvalidArgument with "file:line:col: context: message" for any mistake.
StatusOr<EnvironmentCatalog> ParseEnvironments(std::string_view yaml, const std::string& file_name);
// Reads and parses a file (NotFound if it is missing).
StatusOr<EnvironmentCatalog> LoadEnvironments(const std::string& path);

// What identifies a runtime: every field but the description and where it was written (editing
// prose must not invalidate every cached step that used it).
Json EnvironmentToJson(const Environment& env);
// "sha256:<hex>" of EnvironmentToJson's canonical form.
std::string EnvironmentDigest(const Environment& env);

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_ENVIRONMENT_H_
