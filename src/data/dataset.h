// Data sets: the domain rules of a registered, versioned data set, independent of where it is
// stored. A data set is a name in a project; each version is one CSV file, named by the SHA-256 of
// its bytes, with the schema of its table, its governance tags and its profile.
//
// Tags say what columns mean: target (the label), timestamp, entity (the key), pii (personal data:
// masked in profiles for roles without PII access), protected (attributes kept for fairness
// evaluation, never used as features) and a classification (public, internal, confidential;
// confidential reads are audited). Every column a tag names must exist in the table.
#ifndef PLINTH_DATA_DATASET_H_
#define PLINTH_DATA_DATASET_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace plinth {

struct DatasetTags {
  std::string target;
  std::string timestamp;
  std::string entity;
  std::vector<std::string> pii;
  std::vector<std::string> protected_attributes;
  std::string classification = "internal";

  friend bool operator==(const DatasetTags&, const DatasetTags&) = default;
};

// "public", "internal", "confidential".
bool IsValidClassification(const std::string& name);

// Splits "a,b , c" into {"a", "b", "c"} (blank items dropped, duplicates kept once, in order).
std::vector<std::string> SplitColumnList(const std::string& text);

// {"target", "timestamp", "entity", "pii": [...], "protected": [...], "classification"}; empty
// single tags are null.
Json TagsToJson(const DatasetTags& tags);
// The inverse of TagsToJson. InvalidArgument for a malformed object or classification.
StatusOr<DatasetTags> TagsFromJson(const Json& json);

// Checks that every column the tags name exists in `table` and that the classification is known.
// InvalidArgument naming the tag and column, and listing the columns the table has.
Status CheckTags(const DatasetTags& tags, const Table& table);

// [{"name", "type", "nulls"}, ...] in column order.
Json SchemaJson(const Table& table);

// "credit@3f2a..." -> name "credit", version "3f2a..."; no '@' -> version "".
struct DatasetRef {
  std::string name;
  std::string version;
};
DatasetRef ParseDatasetRef(const std::string& text);

// A version as the user wrote it, normalised to lower-case hex without "sha256:". InvalidArgument
// unless it is 12 to 64 hex characters (a unique prefix or the whole digest).
StatusOr<std::string> NormalizeVersion(const std::string& text);

// A data set name: 1-64 characters from [A-Za-z0-9._-], starting with a letter or digit.
Status ValidateDatasetName(const std::string& name);

}  // namespace plinth

#endif  // PLINTH_DATA_DATASET_H_
