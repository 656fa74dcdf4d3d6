// `plinth export edge NAME@V --out DIR` (docs/edge.md): a signed, self-contained bundle for
// `plinth-edge`.
//
// The platform compiles and signs (model.export_edge); this command downloads the bundle's files
// (each written only once its digest verified), adds the platform's public key and an index,
// checks the signed statement against what it wrote, and only then moves the folder into place:
//
//   DIR/model.plc         the compiled model (serve/compiled_format.h)
//   DIR/manifest.json     the model package's manifest
//   DIR/attestation.json  the DSSE envelope of the edge bundle statement
//   DIR/platform.pub      the platform's Ed25519 public key, 64 lowercase hex digits and a newline
//                         (the form of HOME/keys/platform.pub)
//   DIR/bundle.json       the index: format, model, stage, file digests, predicate type, key id
//
// The folder is written as DIR.tmp-<hex> beside DIR and renamed, so DIR appears whole or not at
// all; an existing DIR that is not empty is refused (exit 6) unless --force, which swaps the new
// folder in atomically and removes the old one.
#include <fcntl.h>
#include <stdio.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "cli/command_support.h"
#include "cli/output.h"
#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"
#include "registry/attestation.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

constexpr int kBundleFormat = 1;

struct EdgeExportOptions {
  std::string project, ref, out;
  bool force = false;
};

std::string ProjectOf(const EdgeExportOptions& o) {
  return o.project.empty() ? EnvOr("PLINTH_PROJECT", "") : o.project;
}

// The package a manifest describes: manifest.json (its own digest) and every file it lists.
StatusOr<std::map<std::string, std::string>> PackageFilesOf(const std::string& manifest) {
  ASSIGN_OR_RETURN(Json parsed, ParseJson(manifest));
  std::map<std::string, std::string> files = {{"manifest.json", Sha256Digest(manifest)}};
  if (!parsed.is_object() || !parsed.contains("files") || !parsed["files"].is_array()) {
    return absl::DataLossError("manifest.json has no files array");
  }
  for (const Json& f : parsed["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("digest") ||
        !f["digest"].is_string()) {
      return absl::DataLossError("manifest.json lists a file without a name or digest");
    }
    files[f["name"].get<std::string>()] = f["digest"].get<std::string>();
  }
  return files;
}

// Moves the finished folder `tmp` to `out`: a plain rename when `out` does not exist, an atomic
// exchange when it does (empty, or replaced with --force), after which the old one is removed.
Status MoveIntoPlace(const std::string& tmp, const std::string& out, bool exists) {
  if (!exists) {
    if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST || errno == ENOTEMPTY) {
        return absl::AlreadyExistsError(out + " appeared while the bundle was written");
      }
      return absl::InternalError("cannot rename " + tmp + " to " + out + ": " +
                                 std::strerror(errno));
    }
  } else {
    if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) != 0) {
      return absl::InternalError("cannot replace " + out + " with " + tmp + ": " +
                                 std::strerror(errno));
    }
    std::error_code ec;
    fs::remove_all(tmp, ec);  // the previous bundle, now under the temporary name
  }
  fs::path parent = fs::absolute(out).parent_path();
  return SyncDirectory(parent.empty() ? "." : parent.string());
}

// Downloads and checks the bundle into `dir`; returns bundle.json's content.
StatusOr<Json> WriteBundle(PlatformClient& client, const Json& res, const std::string& dir) {
  for (const char* name : {"model.plc", "manifest.json", "attestation.json"}) {
    if (!res["files"].contains(name) || !res["files"][name].is_string()) {
      return absl::InternalError(std::string("the platform's answer lacks the digest of ") + name);
    }
    RETURN_IF_ERROR(
        client.GetArtifact(res["files"][name].get<std::string>(), dir + "/" + name, nullptr));
  }
  ASSIGN_OR_RETURN(std::string public_key, client.PublicKey());
  const std::string key_id = HexEncode(public_key);
  if (key_id != res.value("key_id", "")) {
    return absl::DataLossError("the platform's public key " + key_id +
                               " is not the key that signed the bundle (" +
                               res.value("key_id", "") + ")");
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/platform.pub", key_id + "\n", 0644, false));

  // The bundle as plinth-edge will see it: the statement must verify with the bundled key and
  // attest exactly these files.
  ASSIGN_OR_RETURN(std::string manifest, ReadFile(dir + "/manifest.json"));
  ASSIGN_OR_RETURN(std::string envelope_text, ReadFile(dir + "/attestation.json"));
  ASSIGN_OR_RETURN(Json envelope, ParseJson(envelope_text));
  registry::VerifyExpectation expect;
  expect.predicate_type = std::string(registry::kEdgeBundlePredicateType);
  expect.model = {res.value("project", ""), res.value("name", ""), res.value("version", int64_t{0}),
                  res.value("digest", "")};
  ASSIGN_OR_RETURN(expect.files, PackageFilesOf(manifest));
  expect.compiled_digest = res["files"]["model.plc"].get<std::string>();
  RETURN_IF_ERROR(registry::VerifyEnvelope(envelope, {{key_id, public_key}}, expect).status());

  Json bundle = {{"format", kBundleFormat},
                 {"model",
                  {{"project", res["project"]},
                   {"name", res["name"]},
                   {"version", res["version"]},
                   {"ref", res["ref"]},
                   {"digest", res["digest"]}}},
                 {"stage", res["stage"]},
                 {"files", res["files"]},
                 {"predicate_type", res["predicate_type"]},
                 {"key_id", key_id},
                 {"compiled_format", res["compiled_format"]},
                 {"compiled_kind", res["compiled_kind"]},
                 {"exported_by", res["exported_by"]},
                 {"created_at", res["exported_at"]}};
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/bundle.json", DumpJson(bundle, 2) + "\n", 0644, false));
  RETURN_IF_ERROR(SyncDirectory(dir));
  return bundle;
}

}  // namespace

StatusOr<Json> ExportEdgeBundle(PlatformClient& client, const Json& request, const std::string& out,
                                bool replace, Json* response) {
  ASSIGN_OR_RETURN(Json res, client.Call("model.export_edge", request));
  std::error_code ec;
  const std::string tmp = out + ".tmp-" + RandomHex(4);
  if (!fs::create_directory(tmp, ec) || ec) {
    return absl::InternalError("cannot create " + tmp + ": " + ec.message());
  }
  fs::permissions(tmp, fs::perms(0755), ec);
  StatusOr<Json> bundle = WriteBundle(client, res, tmp);
  Status moved = bundle.ok() ? MoveIntoPlace(tmp, out, replace) : bundle.status();
  if (!moved.ok()) {
    fs::remove_all(tmp, ec);
    return moved;
  }
  if (response != nullptr) *response = res;
  return bundle;
}

namespace {

Status ExportEdge(const GlobalOptions& g, const EdgeExportOptions& o) {
  if (ProjectOf(o).empty()) {
    return absl::InvalidArgumentError("which project? pass --project or set PLINTH_PROJECT");
  }
  if (o.out.empty()) return absl::InvalidArgumentError("--out: the bundle's folder is required");
  fs::path out_path = fs::path(o.out).lexically_normal();
  // "DIR/" names DIR: the temporary folder must be its sibling, not inside it.
  if (!out_path.has_filename() && out_path.has_parent_path()) out_path = out_path.parent_path();
  const std::string out = out_path.string();
  std::error_code ec;
  const bool exists = fs::exists(fs::symlink_status(out, ec));
  if (exists) {
    if (!fs::is_directory(fs::symlink_status(out, ec))) {
      return absl::AlreadyExistsError(out + " exists and is not a folder");
    }
    if (!fs::is_empty(out, ec) && !o.force) {
      return absl::AlreadyExistsError(out +
                                      " exists and is not empty (pass --force to replace it)");
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<PlatformClient> client, Connect(g));
  const size_t at = o.ref.rfind('@');
  Json req = {{"project", ProjectOf(o)},
              {"name", o.ref.substr(0, at)},
              {"version", at == std::string::npos ? "latest" : o.ref.substr(at + 1)}};
  Json res;
  ASSIGN_OR_RETURN(Json written, ExportEdgeBundle(*client, req, out, exists, &res));
  StatusOr<Json> bundle = written;
  if (g.json) {
    Json shown = *bundle;
    shown["out"] = out;
    PrintJson(std::cout, shown);
    return absl::OkStatus();
  }
  std::cout << "exported " << Cell(res["ref"]) << " (" << Cell(res["stage"]) << ", "
            << Cell(res["compiled_kind"]) << ") to " << out << "\n"
            << "  model.plc         " << Cell(res["files"]["model.plc"]) << "\n"
            << "  manifest.json     " << Cell(res["files"]["manifest.json"]) << "\n"
            << "  attestation.json  " << Cell(res["files"]["attestation.json"]) << "\n"
            << "  signed by key     " << Cell(res["key_id"]) << "\n"
            << "verify it where it runs: plinth-edge verify " << out
            << " --trusted-key platform.pub\n";
  return absl::OkStatus();
}

}  // namespace

void AddEdgeCommands(CommandRegistrar* r) {
  auto o = std::make_shared<EdgeExportOptions>();
  const GlobalOptions* g = &r->globals();
  auto* exp = r->app().add_subcommand("export", "Export an approved model for use elsewhere");
  exp->require_subcommand(1);
  auto* edge = exp->add_subcommand(
      "edge",
      "A signed bundle for plinth-edge: compiled model, manifest, attestation, public key\n"
      "  plinth export edge credit-risk@3 --out ./credit-risk-edge --project risk");
  edge->add_option("REF", o->ref, "NAME@VERSION (a number, alias, staging or production)")
      ->required();
  edge->add_option("--out", o->out, "the bundle's folder (must not exist or be empty)")->required();
  edge->add_option("--project", o->project, "project (default: PLINTH_PROJECT)");
  edge->add_flag("--force", o->force, "replace a folder that is not empty");
  r->On(edge, [o, g]() { return ExportEdge(*g, *o); });
}

}  // namespace plinth
