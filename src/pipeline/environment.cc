#include "pipeline/environment.h"

#include <utility>

#include "core/files.h"
#include "core/sha256.h"
#include "pipeline/yaml_util.h"

namespace plinth::pipeline {
namespace {

using internal::Errors;
using internal::Fields;

const std::vector<std::string> kTopKeys = {"environments"};
const std::vector<std::string> kEnvironmentKeys = {"name",    "description", "image", "digest",
                                                   "version", "command",     "env"};

bool IsEnvName(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  const char first = name[0];
  if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || first == '_')) {
    return false;
  }
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

StatusOr<Environment> ParseEnvironment(const Errors& errors, const YAML::Node& node, size_t index) {
  std::string context = "environments[" + std::to_string(index) + "]";
  if (node.IsMap() && node["name"] && node["name"].IsScalar()) {
    context += " " + node["name"].Scalar();
  }
  ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors, context, "an environment", node,
                                               kEnvironmentKeys, {"name", "description"}));
  Environment env;
  env.file = errors.file();
  env.line = fields.mark().line + 1;
  ASSIGN_OR_RETURN(env.name, internal::GetString(errors, context, "name", fields.Get("name")));
  if (!internal::IsResourceName(env.name)) {
    return errors.At(fields.Get("name").Mark(), context,
                     "name " + internal::Quote(env.name) +
                         " is not an environment name (1-64 letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit)");
  }
  ASSIGN_OR_RETURN(env.description,
                   internal::GetString(errors, context, "description", fields.Get("description")));
  if (env.description.empty()) {
    return errors.At(fields.Get("description").Mark(), context,
                     "'description' must say what the runtime is (it is what reviewers approve)");
  }
  auto optional = [&](const std::string& key, std::string& out) -> Status {
    if (!fields.Has(key)) return absl::OkStatus();
    ASSIGN_OR_RETURN(out, internal::GetString(errors, context, key, fields.Get(key)));
    if (out.empty()) return errors.At(fields.Get(key).Mark(), context, "'" + key + "' is empty");
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(optional("image", env.image));
  RETURN_IF_ERROR(optional("digest", env.digest));
  RETURN_IF_ERROR(optional("version", env.version));
  if (fields.Has("command")) {
    ASSIGN_OR_RETURN(env.command,
                     internal::GetStringList(errors, context, "command", fields.Get("command")));
    for (const std::string& arg : env.command) {
      if (arg.empty()) {
        return errors.At(fields.Get("command").Mark(), context,
                         "'command' must not hold an empty argument");
      }
    }
  }
  if (fields.Has("env")) {
    const YAML::Node& vars = fields.Get("env");
    if (!vars.IsMap()) {
      return errors.At(
          vars.Mark(), context,
          "'env' must be a mapping of variable names to values, not " + internal::Describe(vars));
    }
    for (const auto& kv : vars) {
      ASSIGN_OR_RETURN(std::string name, internal::GetString(errors, context, "env", kv.first));
      if (!IsEnvName(name) || name.rfind("PLINTH_", 0) == 0) {
        return errors.At(kv.first.Mark(), context,
                         "'env' key " + internal::Quote(name) +
                             (name.rfind("PLINTH_", 0) == 0
                                  ? " is reserved (PLINTH_ variables are set by the executor)"
                                  : " is not a variable name (letters, digits and '_')"));
      }
      ASSIGN_OR_RETURN(std::string value,
                       internal::GetString(errors, context, "env " + name, kv.second));
      if (!env.env.emplace(name, value).second) {
        return errors.At(kv.first.Mark(), context, "'env' sets " + name + " twice");
      }
    }
  }
  if (env.is_image()) {
    if (!fields.Has("digest")) {
      return errors.At(fields.mark(), context,
                       "an image environment needs its 'digest' (sha256:<64 hex>): a tag can be "
                       "moved, a digest cannot");
    }
    if (!IsValidDigest(env.digest)) {
      return errors.At(
          fields.Get("digest").Mark(), context,
          "'digest' must be sha256:<64 lowercase hex>, not " + internal::Quote(env.digest));
    }
    if (fields.Has("command")) {
      return errors.At(fields.KeyMark("command"), context,
                       "'command' applies to host environments; an image environment runs the "
                       "image's own entry point");
    }
  } else {
    if (fields.Has("digest")) {
      return errors.At(fields.KeyMark("digest"), context,
                       "'digest' pins an 'image'; a host environment gives a 'version'");
    }
    if (!fields.Has("version")) {
      return errors.At(fields.mark(), context,
                       "a host environment needs a 'version' (or give an 'image' and its "
                       "'digest')");
    }
  }
  return env;
}

}  // namespace

const Environment* EnvironmentCatalog::Find(const std::string& name) const {
  for (const Environment& env : environments) {
    if (env.name == name) return &env;
  }
  return nullptr;
}

std::vector<std::string> EnvironmentCatalog::Names() const {
  std::vector<std::string> names;
  for (const Environment& env : environments) names.push_back(env.name);
  return names;
}

StatusOr<EnvironmentCatalog> ParseEnvironments(std::string_view yaml,
                                               const std::string& file_name) {
  const Errors errors(file_name);
  ASSIGN_OR_RETURN(YAML::Node root, internal::LoadYaml(yaml, file_name));
  try {
    if (!root.IsDefined() || root.IsNull()) {
      return errors.At(YAML::Mark(), "",
                       "the file lists no environments (expected 'environments:')");
    }
    ASSIGN_OR_RETURN(Fields top, Fields::Read(errors, "", "an environments file", root, kTopKeys,
                                              {"environments"}));
    const YAML::Node& list = top.Get("environments");
    if (!list.IsSequence()) {
      return errors.At(list.Mark(), "",
                       "'environments' must be a list, not " + internal::Describe(list));
    }
    EnvironmentCatalog catalog;
    catalog.file = file_name;
    std::map<std::string, YAML::Mark> seen;
    size_t index = 0;
    for (const YAML::Node& item : list) {
      ASSIGN_OR_RETURN(Environment env, ParseEnvironment(errors, item, index++));
      auto [it, inserted] = seen.emplace(env.name, item["name"].Mark());
      if (!inserted) {
        return errors.At(item["name"].Mark(), "environments[" + std::to_string(index - 1) + "]",
                         "duplicate environment name '" + env.name + "' (first defined at " +
                             internal::Position(it->second) + ")");
      }
      catalog.environments.push_back(std::move(env));
    }
    return catalog;
  } catch (const YAML::Exception& e) {
    // Reading a loaded document should not throw, but yaml-cpp's conversions may: the file is
    // user input, so an exception becomes an error rather than a crash.
    return errors.At(e.mark, "", "invalid environments file: " + e.msg);
  }
}

StatusOr<EnvironmentCatalog> LoadEnvironments(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseEnvironments(text, path);
}

Json EnvironmentToJson(const Environment& env) {
  Json out = Json::object();
  out["name"] = env.name;
  if (env.is_image()) {
    out["image"] = env.image;
    out["digest"] = env.digest;
  }
  if (!env.version.empty()) out["version"] = env.version;
  if (!env.command.empty()) out["command"] = env.command;
  if (!env.env.empty()) out["env"] = env.env;
  return out;
}

std::string EnvironmentDigest(const Environment& env) {
  // Every value is a string, so the canonical form always exists.
  StatusOr<std::string> canonical = CanonicalJson(EnvironmentToJson(env));
  return Sha256Digest(canonical.ok() ? *canonical : DumpJson(EnvironmentToJson(env)));
}

}  // namespace plinth::pipeline
