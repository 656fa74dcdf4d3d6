#include "edge/bundle.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"
#include "registry/attestation.h"
#include "serve/compiled_format.h"

namespace plinth::edge {
namespace {

// Every refusal of a bundle's content is an integrity failure (exit 7), whatever produced it.
Status Refused(const std::string& what, const Status& status) {
  return absl::DataLossError(what + ": " + std::string(status.message()));
}

// Bundle text shown in messages: bounded and on one line.
std::string Shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return text.size() > 80 ? out + "..." : out;
}

const std::string* StringAt(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

struct Index {
  std::string project, name, package_digest, stage, key_id;
  int64_t version = 0;
  std::map<std::string, std::string> files;  // model.plc, manifest.json, attestation.json
};

StatusOr<Index> ReadIndex(const std::string& dir) {
  StatusOr<std::string> text = ReadFile(dir + "/bundle.json");
  if (!text.ok()) {
    return absl::DataLossError(absl::IsNotFound(text.status())
                                   ? "bundle.json is missing: " + dir + " is not an edge bundle"
                                   : "bundle.json: " + std::string(text.status().message()));
  }
  StatusOr<Json> parsed = ParseJson(*text);
  if (!parsed.ok()) return Refused("bundle.json is not JSON", parsed.status());
  const Json& j = *parsed;
  if (!j.is_object()) return absl::DataLossError("bundle.json is not a JSON object");
  auto format = j.find("format");
  if (format == j.end() || !format->is_number_integer() || *format != kBundleFormat) {
    return absl::DataLossError("bundle.json: format " +
                               (format == j.end() ? std::string("(none)") : Shown(format->dump())) +
                               ", expected " + std::to_string(kBundleFormat));
  }
  Index index;
  auto model = j.find("model");
  if (model == j.end() || !model->is_object()) {
    return absl::DataLossError("bundle.json has no model object");
  }
  const std::string* project = StringAt(*model, "project");
  const std::string* name = StringAt(*model, "name");
  const std::string* digest = StringAt(*model, "digest");
  auto version = model->find("version");
  if (project == nullptr || project->empty() || name == nullptr || name->empty() ||
      digest == nullptr || !IsValidDigest(*digest) || version == model->end() ||
      !version->is_number_integer() || version->get<int64_t>() < 1) {
    return absl::DataLossError(
        "bundle.json: model must be {project, name, version >= 1, digest sha256:<hex>}");
  }
  index.project = *project;
  index.name = *name;
  index.version = version->get<int64_t>();
  index.package_digest = *digest;
  const std::string* stage = StringAt(j, "stage");
  index.stage = stage == nullptr ? "" : *stage;
  auto files = j.find("files");
  if (files == j.end() || !files->is_object()) {
    return absl::DataLossError("bundle.json has no files object");
  }
  for (const char* file : {"attestation.json", "manifest.json", "model.plc"}) {
    const std::string* d = StringAt(*files, file);
    if (d == nullptr || !IsValidDigest(*d)) {
      return absl::DataLossError(std::string("bundle.json: files.") + file +
                                 " is not a sha256:<hex> digest");
    }
    index.files[file] = *d;
  }
  const std::string* type = StringAt(j, "predicate_type");
  if (type == nullptr || *type != registry::kEdgeBundlePredicateType) {
    return absl::DataLossError("bundle.json: predicate_type " +
                               (type == nullptr ? std::string("(none)") : Shown(*type)) +
                               ", expected " + std::string(registry::kEdgeBundlePredicateType));
  }
  const std::string* key_id = StringAt(j, "key_id");
  if (key_id == nullptr || key_id->size() != 64) {
    return absl::DataLossError("bundle.json: key_id is not 64 hex digits");
  }
  index.key_id = absl::AsciiStrToLower(*key_id);
  return index;
}

// The package the manifest describes: manifest.json itself and each file it lists, by digest.
StatusOr<std::map<std::string, std::string>> PackageFiles(const Json& manifest,
                                                          const std::string& manifest_digest) {
  std::map<std::string, std::string> files = {
      {std::string(registry::kManifestSubject), manifest_digest}};
  auto listed = manifest.find("files");
  if (listed == manifest.end() || !listed->is_array()) {
    return absl::DataLossError("manifest.json has no files array");
  }
  for (size_t i = 0; i < listed->size(); ++i) {
    const std::string* name = StringAt((*listed)[i], "name");
    const std::string* digest = StringAt((*listed)[i], "digest");
    if (name == nullptr || digest == nullptr) {
      return absl::DataLossError("manifest.json: files[" + std::to_string(i) +
                                 "] has no name or digest");
    }
    files[*name] = *digest;
  }
  return files;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ModelInputs(const Json& manifest) {
  auto listed = manifest.find("inputs");
  if (listed == manifest.end() || !listed->is_array() || listed->empty()) {
    return absl::DataLossError("manifest.json has no inputs");
  }
  std::vector<std::pair<std::string, std::string>> inputs;
  for (size_t i = 0; i < listed->size(); ++i) {
    const std::string* name = StringAt((*listed)[i], "name");
    const std::string* type = StringAt((*listed)[i], "type");
    if (name == nullptr || name->empty() || type == nullptr ||
        (*type != "int64" && *type != "float64" && *type != "bool" && *type != "string")) {
      return absl::DataLossError("manifest.json: inputs[" + std::to_string(i) +
                                 "] is not {name, type: int64|float64|bool|string}");
    }
    inputs.emplace_back(*name, *type);
  }
  return inputs;
}

}  // namespace

StatusOr<std::string> ParsePublicKey(const std::string& text) {
  std::string hex(absl::StripAsciiWhitespace(text));
  std::string raw;
  if (hex.size() != 64 || !HexDecode(absl::AsciiStrToLower(hex), &raw) || raw.size() != 32) {
    return absl::InvalidArgumentError(
        "expected an Ed25519 public key as 64 hex digits (as HOME/keys/platform.pub)");
  }
  return raw;
}

StatusOr<VerifiedBundle> VerifyBundle(const std::string& dir,
                                      const std::optional<std::string>& trusted_key) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(dir +
                                      " is not a folder (expected an edge bundle written "
                                      "by plinth export edge)");
  }
  // 1. The index.
  ASSIGN_OR_RETURN(Index index, ReadIndex(dir));

  // 2. Every file against its digest.
  std::map<std::string, std::string> bytes;
  for (const auto& [file, digest] : index.files) {
    StatusOr<std::string> content = ReadFile(dir + "/" + file);
    if (!content.ok()) {
      return absl::DataLossError(absl::IsNotFound(content.status())
                                     ? file + " is missing"
                                     : file + ": " + std::string(content.status().message()));
    }
    const std::string actual = Sha256Digest(*content);
    if (actual != digest) {
      return absl::DataLossError(file + ": digest " + actual + " differs from bundle.json's " +
                                 digest);
    }
    bytes[file] = *std::move(content);
  }
  if (index.files["manifest.json"] != index.package_digest) {
    return absl::DataLossError("bundle.json: the model's digest " + index.package_digest +
                               " is not manifest.json's " + index.files["manifest.json"]);
  }

  // 3. The key.
  StatusOr<std::string> key_text = ReadFile(dir + "/platform.pub");
  if (!key_text.ok()) {
    return absl::DataLossError(absl::IsNotFound(key_text.status())
                                   ? "platform.pub is missing"
                                   : "platform.pub: " + std::string(key_text.status().message()));
  }
  StatusOr<std::string> public_key = ParsePublicKey(*key_text);
  if (!public_key.ok()) return Refused("platform.pub", public_key.status());
  const std::string key_id = HexEncode(*public_key);
  if (key_id != index.key_id) {
    return absl::DataLossError("platform.pub holds key " + key_id + " but bundle.json names " +
                               index.key_id);
  }
  if (trusted_key.has_value() && !ConstantTimeEquals(*trusted_key, *public_key)) {
    return absl::DataLossError("the bundle is signed by key " + key_id +
                               ", which is not the trusted key " + HexEncode(*trusted_key));
  }

  // 4. The signed statement.
  StatusOr<Json> manifest = ParseJson(bytes["manifest.json"]);
  if (!manifest.ok()) return Refused("manifest.json is not JSON", manifest.status());
  if (!manifest->is_object()) return absl::DataLossError("manifest.json is not a JSON object");
  StatusOr<Json> envelope = ParseJson(bytes["attestation.json"]);
  if (!envelope.ok()) return Refused("attestation.json is not JSON", envelope.status());
  registry::VerifyExpectation expect;
  expect.predicate_type = std::string(registry::kEdgeBundlePredicateType);
  expect.model = {index.project, index.name, index.version, index.package_digest};
  ASSIGN_OR_RETURN(expect.files, PackageFiles(*manifest, index.package_digest));
  expect.compiled_digest = index.files["model.plc"];
  StatusOr<Json> statement = registry::VerifyEnvelope(*envelope, {{key_id, *public_key}}, expect);
  if (!statement.ok()) return Refused("attestation.json", statement.status());
  const Json& predicate = (*statement)["predicate"];

  // 5. What the index and the compiled file say against what was signed.
  const std::string stage = predicate["stage"].get<std::string>();
  if (stage != index.stage) {
    return absl::DataLossError("bundle.json: stage '" + Shown(index.stage) +
                               "' differs from the attested '" + stage + "'");
  }
  if (predicate["compiledFormat"] != kCompiledModelFormat) {
    return absl::DataLossError("model.plc is attested as compiled format " +
                               predicate["compiledFormat"].dump() + "; this plinth-edge reads " +
                               std::to_string(kCompiledModelFormat));
  }

  // 6. The model itself.
  ASSIGN_OR_RETURN(auto inputs, ModelInputs(*manifest));
  StatusOr<CompiledModel> model = LoadCompiledModel(bytes["model.plc"]);
  if (!model.ok()) return Refused("model.plc does not load", model.status());
  if (CompiledKindName(model->kind()) != predicate["compiledKind"].get<std::string>()) {
    return absl::DataLossError("model.plc holds a " + std::string(CompiledKindName(model->kind())) +
                               " model; the statement attests " +
                               Shown(predicate["compiledKind"].get<std::string>()));
  }

  VerifiedBundle out;
  out.project = index.project;
  out.name = index.name;
  out.version = index.version;
  out.package_digest = index.package_digest;
  out.compiled_digest = index.files["model.plc"];
  out.attestation_digest = index.files["attestation.json"];
  out.stage = stage;
  out.key_id = key_id;
  out.key_trusted = trusted_key.has_value();
  out.exported_by = predicate["exportedBy"].get<std::string>();
  out.exported_at = predicate["exportedAt"].get<std::string>();
  out.statement = *std::move(statement);
  out.inputs = std::move(inputs);
  out.model = std::make_shared<const CompiledModel>(*std::move(model));
  return out;
}

}  // namespace plinth::edge
