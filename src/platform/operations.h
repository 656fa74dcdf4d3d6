// The operation table: every operation of the platform defined once — its name, the REST route
// that reaches it, its request fields, whether it changes state (and so is audited) and what it
// is for. The CLI (in process or remote), the REST API and the OpenAPI document are all built from
// this table; adding an operation touches this table and its handler in platform.cc.
#ifndef PLINTH_PLATFORM_OPERATIONS_H_
#define PLINTH_PLATFORM_OPERATIONS_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth {

// kArray, kObject and kJson (any JSON value; the handler checks its shape) travel in JSON bodies
// only.
enum class FieldType { kString, kInteger, kBoolean, kArray, kObject, kJson };
enum class FieldIn { kPath, kQuery, kBody };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  FieldIn in = FieldIn::kBody;
  std::string description;
};

// How the operation's payload travels: JSON both ways, or raw bytes in (upload) or out
// (download) beside JSON.
enum class Payload { kJson, kBytesIn, kBytesOut };

struct OperationSpec {
  std::string name;       // "project.create"
  std::string method;     // "GET", "POST", "PUT", "DELETE"
  std::string path;       // "/api/v1/projects/{name}" ({x} are path fields)
  bool mutating = false;  // changes state: audited, runs in a read-write transaction
  bool authenticated = true;
  Payload payload = Payload::kJson;
  std::string summary;
  std::string permission;  // for people: who may call it
  std::vector<FieldSpec> fields;
};

const std::vector<OperationSpec>& Operations();
// nullptr if unknown.
const OperationSpec* FindOperation(const std::string& name);

// Checks `request` against the spec: a JSON object, no unknown fields, required fields present,
// types right. InvalidArgument naming the field and what was expected.
Status ValidateRequest(const OperationSpec& spec, const Json& request);

std::string FieldTypeName(FieldType type);

}  // namespace plinth

#endif  // PLINTH_PLATFORM_OPERATIONS_H_
