#include "api/openapi.h"

#include <algorithm>
#include <cctype>

#include "platform/operations.h"

namespace plinth {
namespace {

// kJson fields take any JSON value: an empty schema.
Json SchemaFor(FieldType type) {
  return type == FieldType::kJson ? Json::object() : Json{{"type", FieldTypeName(type)}};
}

Json ErrorResponse(const std::string& description) {
  return {
      {"description", description},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

}  // namespace

Json BuildOpenApiDocument() {
  Json paths = Json::object();
  for (const auto& op : Operations()) {
    std::string method = op.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    Json parameters = Json::array();
    Json body_props = Json::object();
    Json required = Json::array();
    for (const auto& f : op.fields) {
      if (f.in == FieldIn::kBody) {
        body_props[f.name] = SchemaFor(f.type);
        body_props[f.name]["description"] = f.description;
        if (f.required) required.push_back(f.name);
        continue;
      }
      parameters.push_back({{"name", f.name},
                            {"in", f.in == FieldIn::kPath ? "path" : "query"},
                            {"required", f.required},
                            {"description", f.description},
                            {"schema", SchemaFor(f.type)}});
    }
    Json operation = {{"operationId", op.name},
                      {"summary", op.summary},
                      {"description", "Permission: " + op.permission},
                      {"security", Json::array({{{"bearer", Json::array()}}})},
                      {"responses",
                       {{"200", {{"description", "success"}}},
                        {"400", ErrorResponse("invalid request")},
                        {"401", ErrorResponse("missing, malformed, expired or revoked token")},
                        {"403", ErrorResponse("the caller's roles do not allow it")},
                        {"404", ErrorResponse("not found, or not visible to the caller")}}}};
    if (!parameters.empty()) operation["parameters"] = parameters;
    if (op.payload == Payload::kBytesIn) {
      operation["requestBody"] = {{"required", true},
                                  {"content",
                                   {{"application/octet-stream",
                                     {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}};
    } else if (!body_props.empty()) {
      Json schema = {
          {"type", "object"}, {"properties", body_props}, {"additionalProperties", false}};
      if (!required.empty()) schema["required"] = required;
      operation["requestBody"] = {{"required", true},
                                  {"content", {{"application/json", {{"schema", schema}}}}}};
    }
    if (op.payload == Payload::kBytesOut) {
      operation["responses"]["200"]["content"] = {
          {"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}};
    }
    paths[op.path][method] = operation;
  }
  paths["/api/v1/health"]["get"] = {{"operationId", "health"},
                                    {"summary", "Liveness; no token needed"},
                                    {"security", Json::array()},
                                    {"responses", {{"200", {{"description", "alive"}}}}}};
  paths["/api/v1/openapi.json"]["get"] = {{"operationId", "openapi"},
                                          {"summary", "This document"},
                                          {"security", Json::array()},
                                          {"responses", {{"200", {{"description", "OpenAPI"}}}}}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "Plinth control-plane API"},
            {"version", "1"},
            {"description",
             "Every operation of the plinth CLI. Errors are {\"error\": {\"code\", \"message\", "
             "\"request_id\"}}."}}},
          {"paths", paths},
          {"components",
           {{"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"properties",
                     {{"code", {{"type", "string"}}},
                      {"message", {{"type", "string"}}},
                      {"request_id", {{"type", "string"}}}}}}}}}}}}}}}};
}

}  // namespace plinth
