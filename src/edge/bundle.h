// Edge bundles as `plinth-edge` reads them (docs/edge.md): a folder written by
// `plinth export edge` holding
//
//   model.plc         the compiled model (serve/compiled_format.h)
//   manifest.json     the model package's manifest (docs/formats/model.md)
//   attestation.json  a DSSE envelope of an edge bundle statement (registry/attestation.h)
//   platform.pub      the signing platform's Ed25519 public key, 64 hex digits
//   bundle.json       the index: format, model, stage, file digests, predicate type, key id
//
// VerifyBundle checks all of it offline, with no platform, store or network; other files in the
// folder are ignored. Linked by the edge binary only with the attestation, compiled-model and
// core code.
#ifndef PLINTH_EDGE_BUNDLE_H_
#define PLINTH_EDGE_BUNDLE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "serve/compiled_model.h"

namespace plinth::edge {

// bundle.json's "format", the one this build reads.
inline constexpr int kBundleFormat = 1;

// A bundle that passed every check.
struct VerifiedBundle {
  std::string project;
  std::string name;
  int64_t version = 0;
  std::string package_digest;   // "sha256:..." of manifest.json
  std::string compiled_digest;  // "sha256:..." of model.plc
  std::string attestation_digest;
  std::string stage;  // the stage the version was approved for when exported
  std::string key_id;
  bool key_trusted = false;  // the bundled key is the one given with --trusted-key
  std::string exported_by;
  std::string exported_at;
  Json statement;  // the verified in-toto statement
  // The raw inputs the model takes, in order, from the manifest: (name, column type).
  std::vector<std::pair<std::string, std::string>> inputs;
  std::shared_ptr<const CompiledModel> model;

  std::string Ref() const { return name + "@" + std::to_string(version); }
};

// The 32-byte public key in `text`: 64 hex digits (either case), surrounding whitespace ignored.
// InvalidArgument otherwise.
StatusOr<std::string> ParsePublicKey(const std::string& text);

// Verifies the bundle in `dir`, in this order, stopping at the first failed check:
//  1. bundle.json is a JSON object with format kBundleFormat, a model {project, name, version,
//     digest}, a digest per file (model.plc, manifest.json, attestation.json), the edge bundle
//     predicate type and a key id;
//  2. each file hashes to its digest in bundle.json, and the model's digest is manifest.json's;
//  3. platform.pub holds a key whose id is bundle.json's key_id, and, when `trusted_key` (raw 32
//     bytes) is given, that key is exactly the trusted one (a bundle re-signed with another key is
//     refused even though it is internally consistent);
//  4. attestation.json verifies with that key as an edge bundle statement of this model version
//     (registry::VerifyEnvelope): signature, predicate, model, subjects manifest.json and
//     model.plc by digest, and the source package against the files manifest.json lists;
//  5. the statement's stage is bundle.json's, and its compiled format and kind are model.plc's;
//  6. manifest.json lists the model's inputs, and model.plc loads (LoadCompiledModel).
// InvalidArgument if `dir` is not a folder; DataLoss naming the file and the check for anything
// wrong inside it (a missing or changed file included).
StatusOr<VerifiedBundle> VerifyBundle(const std::string& dir,
                                      const std::optional<std::string>& trusted_key);

}  // namespace plinth::edge

#endif  // PLINTH_EDGE_BUNDLE_H_
