#include "data/dataset.h"

#include <algorithm>
#include <cctype>

namespace plinth {
namespace {

std::string AvailableColumns(const Table& table) {
  std::string out;
  for (const Column& c : table.columns()) {
    if (!out.empty()) out += ", ";
    out += c.name();
  }
  return out;
}

Status CheckColumn(const char* tag, const std::string& column, const Table& table) {
  if (column.empty() || table.Find(column) != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "--" + std::string(tag) + " names column '" + column +
      "', which the file does not have; its columns are: " + AvailableColumns(table));
}

Json NullIfEmpty(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

StatusOr<std::string> OptionalString(const Json& json, const char* key) {
  if (!json.contains(key) || json[key].is_null()) return std::string();
  if (!json[key].is_string()) {
    return absl::InvalidArgumentError(std::string("tag '") + key + "' must be a string");
  }
  return json[key].get<std::string>();
}

StatusOr<std::vector<std::string>> StringList(const Json& json, const char* key) {
  std::vector<std::string> out;
  if (!json.contains(key) || json[key].is_null()) return out;
  if (!json[key].is_array()) {
    return absl::InvalidArgumentError(std::string("tag '") + key + "' must be a list");
  }
  for (const Json& v : json[key]) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(std::string("tag '") + key + "' must list strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

bool IsValidClassification(const std::string& name) {
  return name == "public" || name == "internal" || name == "confidential";
}

std::vector<std::string> SplitColumnList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end()) {
      out.push_back(item);
    }
    start = comma + 1;
  }
  return out;
}

Json TagsToJson(const DatasetTags& tags) {
  return {{"target", NullIfEmpty(tags.target)},     {"timestamp", NullIfEmpty(tags.timestamp)},
          {"entity", NullIfEmpty(tags.entity)},     {"pii", tags.pii},
          {"protected", tags.protected_attributes}, {"classification", tags.classification}};
}

StatusOr<DatasetTags> TagsFromJson(const Json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("tags must be a JSON object");
  DatasetTags tags;
  ASSIGN_OR_RETURN(tags.target, OptionalString(json, "target"));
  ASSIGN_OR_RETURN(tags.timestamp, OptionalString(json, "timestamp"));
  ASSIGN_OR_RETURN(tags.entity, OptionalString(json, "entity"));
  ASSIGN_OR_RETURN(tags.pii, StringList(json, "pii"));
  ASSIGN_OR_RETURN(tags.protected_attributes, StringList(json, "protected"));
  ASSIGN_OR_RETURN(std::string classification, OptionalString(json, "classification"));
  if (!classification.empty()) tags.classification = classification;
  if (!IsValidClassification(tags.classification)) {
    return absl::InvalidArgumentError("classification '" + tags.classification.substr(0, 32) +
                                      "' is not one of: public, internal, confidential");
  }
  return tags;
}

Status CheckTags(const DatasetTags& tags, const Table& table) {
  if (!IsValidClassification(tags.classification)) {
    return absl::InvalidArgumentError("classification '" + tags.classification.substr(0, 32) +
                                      "' is not one of: public, internal, confidential");
  }
  RETURN_IF_ERROR(CheckColumn("target", tags.target, table));
  RETURN_IF_ERROR(CheckColumn("timestamp", tags.timestamp, table));
  RETURN_IF_ERROR(CheckColumn("entity", tags.entity, table));
  for (const auto& c : tags.pii) RETURN_IF_ERROR(CheckColumn("pii", c, table));
  for (const auto& c : tags.protected_attributes) {
    RETURN_IF_ERROR(CheckColumn("protected", c, table));
  }
  return absl::OkStatus();
}

Json SchemaJson(const Table& table) {
  Json out = Json::array();
  for (const Column& c : table.columns()) {
    out.push_back({{"name", c.name()},
                   {"type", ColumnTypeName(c.type())},
                   {"nulls", static_cast<int64_t>(c.null_count())}});
  }
  return out;
}

DatasetRef ParseDatasetRef(const std::string& text) {
  size_t at = text.rfind('@');
  if (at == std::string::npos) return {text, ""};
  return {text.substr(0, at), text.substr(at + 1)};
}

StatusOr<std::string> NormalizeVersion(const std::string& text) {
  std::string hex = text.rfind("sha256:", 0) == 0 ? text.substr(7) : text;
  std::transform(hex.begin(), hex.end(), hex.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  bool all_hex = std::all_of(hex.begin(), hex.end(), [](unsigned char c) {
    return std::isdigit(c) || (c >= 'a' && c <= 'f');
  });
  if (!all_hex || hex.size() < 12 || hex.size() > 64) {
    return absl::InvalidArgumentError("version '" + text.substr(0, 80) +
                                      "' must be a data set version: its digest or a prefix of "
                                      "at least 12 hex characters");
  }
  return hex;
}

Status ValidateDatasetName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      ok = false;
    }
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError("data set name '" + name.substr(0, 80) +
                                    "' must be 1-64 characters from letters, digits, '.', '_' "
                                    "and '-', starting with a letter or digit");
}

}  // namespace plinth
