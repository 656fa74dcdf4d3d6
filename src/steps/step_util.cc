#include "steps/step_util.h"

#include <filesystem>
#include <map>

#include "core/files.h"
#include "core/sha256.h"
#include "data/csv_reader.h"
#include "data/csv_writer.h"

namespace plinth {

StatusOr<pipeline::InputArtifact> RequireInput(const pipeline::StepContext& ctx,
                                               const std::string& name) {
  auto it = ctx.inputs().find(name);
  if (it == ctx.inputs().end()) {
    return absl::InvalidArgumentError("a " + ctx.type() + " step needs the input '" + name +
                                      "': add inputs: {" + name + ": STEP.outputs.OUTPUT}");
  }
  return it->second;
}

std::string ResolvePath(const pipeline::StepContext& ctx, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(ctx.work_dir()) / path).lexically_normal().string();
}

std::string WithString(const pipeline::StepContext& ctx, const std::string& key) {
  const Json& with = ctx.with();
  if (!with.contains(key) || with[key].is_null()) return "";
  if (with[key].is_string()) return with[key].get<std::string>();
  return with[key].dump();
}

StatusOr<Json> FileFingerprint(const pipeline::StepContext& ctx,
                               const std::vector<std::string>& keys) {
  Json out = Json::object();
  for (const std::string& key : keys) {
    std::string file = WithString(ctx, key);
    if (file.empty()) continue;
    StatusOr<std::string> digest = Sha256File(ResolvePath(ctx, file));
    if (!digest.ok()) {
      return absl::NotFoundError("with." + key + ": cannot read " + ResolvePath(ctx, file) + ": " +
                                 std::string(digest.status().message()));
    }
    out[key] = {{"file", file}, {"digest", *digest}};
  }
  return out;
}

StatusOr<Table> ReadTableInput(const pipeline::StepContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(pipeline::InputArtifact input, RequireInput(ctx, name));
  StatusOr<Table> table = ReadCsv(input.path);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        "input '" + name + "' is not a CSV table: " + std::string(table.status().message()));
  }
  return table;
}

StatusOr<std::string> WriteTextOutput(const pipeline::StepContext& ctx, const std::string& name,
                                      const std::string& text) {
  std::string path = ctx.OutputPath(name);
  RETURN_IF_ERROR(WriteFileAtomic(path, text, 0644, /*overwrite=*/true));
  return path;
}

StatusOr<std::string> WriteTableOutput(const pipeline::StepContext& ctx, const std::string& name,
                                       const Table& table) {
  return WriteTextOutput(ctx, name, WriteCsvBuffer(table));
}

StatusOr<std::string> WriteJsonOutput(const pipeline::StepContext& ctx, const std::string& name,
                                      const Json& json) {
  return WriteTextOutput(ctx, name, json.dump(2) + "\n");
}

StatusOr<Json> ReadJsonInput(const pipeline::StepContext& ctx, const std::string& name) {
  ASSIGN_OR_RETURN(pipeline::InputArtifact input, RequireInput(ctx, name));
  ASSIGN_OR_RETURN(std::string text, ReadFile(input.path));
  Json out = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) {
    return absl::InvalidArgumentError("input '" + name + "' is not JSON");
  }
  return out;
}

std::vector<float> StrataOf(const Column& target) {
  std::map<std::string, float> codes;
  std::vector<float> out(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    std::string text;
    if (target.IsNull(i)) {
      text = "\x01null";
    } else if (target.type() == ColumnType::kString) {
      text = std::string(target.StringAt(i));
    } else {
      text = std::to_string(*target.NumberAt(i));
    }
    auto [it, inserted] = codes.emplace(text, static_cast<float>(codes.size()));
    out[i] = it->second;
  }
  return out;
}

}  // namespace plinth
