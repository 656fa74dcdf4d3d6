// Reading validation suites from YAML (format in docs/validation.md).
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <system_error>

#include "data/validation.h"
#include "expr/expr.h"
#include "expr/parser.h"
#include "expr/time_util.h"
#include "re2/re2.h"
#include "yaml/yaml_util.h"

namespace plinth {
namespace {

using yaml::CheckKeys;
using yaml::Errors;
using yaml::GetNumber;
using yaml::GetString;
using yaml::JoinNames;
using yaml::ReaderOptions;

constexpr const char* kTypeNames[] = {
    "column_present", "column_type", "not_null",  "max_null_fraction", "range", "allowed_values",
    "unique",         "regex",       "row_count", "row_rule",          "drift",
};
constexpr int kNumTypes = sizeof(kTypeNames) / sizeof(kTypeNames[0]);

// Suites read as they always have: an error at a null mark (an empty file) names the file without
// a position, text from the file is quoted whole, and text is not required to be UTF-8.
ReaderOptions SuiteReaderOptions() {
  ReaderOptions options;
  options.null_mark_at_start = false;
  options.max_quoted_bytes = std::string::npos;
  options.require_utf8 = false;
  return options;
}

// A range bound: a number, or an RFC 3339 timestamp.
StatusOr<Bound> GetBound(const Errors& errors, const std::string& context, const std::string& key,
                         const YAML::Node& node, bool allow_timestamp) {
  double value = 0;
  if (node.IsScalar() && YAML::convert<double>::decode(node, value) && !std::isnan(value)) {
    return Bound{value, false};
  }
  if (allow_timestamp && node.IsScalar()) {
    if (std::optional<int64_t> micros = expr::ParseTimestamp(node.Scalar())) {
      return Bound{static_cast<double>(*micros), true};
    }
  }
  return errors.At(node.Mark(), context,
                   "'" + key + "' must be a number" +
                       (allow_timestamp ? " or an RFC 3339 timestamp" : "") + ", not " +
                       errors.Describe(node));
}

// Parses min/max of range and row_count.
Status ParseBounds(const Errors& errors, const std::string& context, const std::string& type,
                   const YAML::Node& body, bool allow_timestamp, Expectation& e) {
  RETURN_IF_ERROR(CheckKeys(errors, context, "'" + type + "'", body, {"min", "max"}));
  if (body["min"]) {
    ASSIGN_OR_RETURN(e.min, GetBound(errors, context, "min", body["min"], allow_timestamp));
  }
  if (body["max"]) {
    ASSIGN_OR_RETURN(e.max, GetBound(errors, context, "max", body["max"], allow_timestamp));
  }
  if (!e.min && !e.max) {
    return errors.At(body.Mark(), context, "'" + type + "' needs min, max or both");
  }
  if (e.min && e.max && e.min->value > e.max->value) {
    return errors.At(body.Mark(), context, "min is greater than max");
  }
  return absl::OkStatus();
}

// Parses the body (the value of the type key) of expectation `e`, whose type is set.
Status ParseBody(const Errors& errors, const std::string& context, const YAML::Node& body,
                 Expectation& e) {
  const std::string type = ExpectationTypeName(e.type);
  switch (e.type) {
    case ExpectationType::kColumnPresent:
    case ExpectationType::kNotNull:
    case ExpectationType::kUnique: {
      if (body.IsNull()) return absl::OkStatus();
      // yaml-cpp's spellings (yes/no, on/off too), as suites have always been read.
      ASSIGN_OR_RETURN(bool on,
                       yaml::GetBool(errors, context, type, body, yaml::BoolSpelling::kYamlCpp));
      if (!on) {
        return errors.At(body.Mark(), context,
                         "'" + type + "' must be true (remove the expectation to disable it)");
      }
      return absl::OkStatus();
    }
    case ExpectationType::kColumnType: {
      ASSIGN_OR_RETURN(std::string name, GetString(errors, context, type, body));
      std::optional<ColumnType> t = ParseColumnType(name);
      if (!t) {
        return errors.At(body.Mark(), context,
                         "unknown column type '" + name +
                             "' (expected: int64, float64, bool, string, timestamp)");
      }
      e.column_type = *t;
      return absl::OkStatus();
    }
    case ExpectationType::kMaxNullFraction: {
      ASSIGN_OR_RETURN(e.max_null_fraction, GetNumber(errors, context, type, body));
      if (e.max_null_fraction < 0 || e.max_null_fraction > 1) {
        return errors.At(body.Mark(), context, "'" + type + "' must be between 0 and 1");
      }
      return absl::OkStatus();
    }
    case ExpectationType::kRange:
      return ParseBounds(errors, context, type, body, /*allow_timestamp=*/true, e);
    case ExpectationType::kRowCount: {
      RETURN_IF_ERROR(ParseBounds(errors, context, type, body, /*allow_timestamp=*/false, e));
      for (const std::optional<Bound>* b : {&e.min, &e.max}) {
        if (*b && ((*b)->value < 0 || (*b)->value != std::floor((*b)->value))) {
          return errors.At(body.Mark(), context, "row_count bounds must be non-negative integers");
        }
      }
      return absl::OkStatus();
    }
    case ExpectationType::kAllowedValues: {
      if (!body.IsSequence() || body.size() == 0) {
        return errors.At(body.Mark(), context,
                         "'allowed_values' must be a non-empty list, not " + errors.Describe(body));
      }
      for (const YAML::Node& item : body) {
        if (!item.IsScalar()) {
          return errors.At(item.Mark(), context,
                           "allowed values must be scalars, not " + errors.Describe(item));
        }
        e.allowed_values.push_back(item.Scalar());
      }
      return absl::OkStatus();
    }
    case ExpectationType::kRegex: {
      ASSIGN_OR_RETURN(e.pattern, GetString(errors, context, type, body));
      auto re = std::make_shared<re2::RE2>(e.pattern, re2::RE2::Quiet);
      if (!re->ok()) {
        return errors.At(body.Mark(), context, "invalid regular expression: " + re->error());
      }
      e.regex = std::move(re);
      return absl::OkStatus();
    }
    case ExpectationType::kRowRule: {
      ASSIGN_OR_RETURN(e.rule, GetString(errors, context, type, body));
      e.rule_line = body.Mark().line + 1;
      e.rule_column = body.Mark().column + 1;
      expr::CompileOptions limits;
      expr::internal::Diagnostic diagnostic;
      if (expr::internal::Parse(e.rule,
                                {limits.max_source_bytes, limits.max_depth, limits.max_nodes},
                                &diagnostic) == nullptr) {
        return errors.At(body.Mark(), context,
                         "row_rule: " + expr::internal::FormatDiagnostic(e.rule, diagnostic.offset,
                                                                         diagnostic.message));
      }
      return absl::OkStatus();
    }
    case ExpectationType::kDrift: {
      RETURN_IF_ERROR(CheckKeys(errors, context, "'drift'", body, {"psi", "ks", "bins"}));
      if (body["psi"]) {
        ASSIGN_OR_RETURN(e.psi_max, GetNumber(errors, context, "psi", body["psi"]));
        if (*e.psi_max < 0) return errors.At(body["psi"].Mark(), context, "'psi' must be >= 0");
      }
      if (body["ks"]) {
        ASSIGN_OR_RETURN(e.ks_max, GetNumber(errors, context, "ks", body["ks"]));
        if (*e.ks_max < 0 || *e.ks_max > 1) {
          return errors.At(body["ks"].Mark(), context, "'ks' must be between 0 and 1");
        }
      }
      if (body["bins"]) {
        ASSIGN_OR_RETURN(double bins, GetNumber(errors, context, "bins", body["bins"]));
        if (bins < 2 || bins > 1000 || bins != std::floor(bins)) {
          return errors.At(body["bins"].Mark(), context,
                           "'bins' must be an integer from 2 to 1000");
        }
        e.bins = static_cast<int>(bins);
      }
      if (!e.psi_max && !e.ks_max) {
        return errors.At(body.Mark(), context, "'drift' needs psi, ks or both");
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

bool NeedsColumn(ExpectationType type) {
  return type != ExpectationType::kRowCount && type != ExpectationType::kRowRule;
}

StatusOr<Expectation> ParseExpectation(const Errors& errors, const YAML::Node& node, size_t index,
                                       std::set<std::string>& ids) {
  std::string context = "expectation #" + std::to_string(index + 1);
  if (!node.IsMap()) {
    return errors.At(node.Mark(), context, "must be a mapping, not " + errors.Describe(node));
  }
  Expectation e;
  e.line = node.Mark().line + 1;
  e.column_number = node.Mark().column + 1;
  if (!node["id"]) return errors.At(node.Mark(), context, "missing 'id'");
  ASSIGN_OR_RETURN(e.id, GetString(errors, context, "id", node["id"]));
  if (e.id.empty()) return errors.At(node["id"].Mark(), context, "'id' must not be empty");
  context = "expectation '" + e.id + "'";
  if (!ids.insert(e.id).second) {
    return errors.At(node["id"].Mark(), context, "duplicate id");
  }

  std::vector<std::string> allowed = {"id", "severity", "column", "description"};
  for (const char* t : kTypeNames) allowed.push_back(t);
  std::optional<YAML::Node> body;
  YAML::Mark type_mark;
  for (const auto& kv : node) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
    int type_index = -1;
    for (int t = 0; t < kNumTypes; ++t) {
      if (key == kTypeNames[t]) type_index = t;
    }
    if (type_index >= 0) {
      if (body) {
        return errors.At(kv.first.Mark(), context,
                         "more than one type ('" + ExpectationTypeName(e.type) + "' and '" + key +
                             "'); write one expectation per check");
      }
      e.type = static_cast<ExpectationType>(type_index);
      body = kv.second;
      type_mark = kv.first.Mark();
      continue;
    }
    if (key == "id") continue;
    if (key == "severity") {
      ASSIGN_OR_RETURN(std::string s, GetString(errors, context, "severity", kv.second));
      if (s == "blocking") {
        e.severity = Severity::kBlocking;
      } else if (s == "warning") {
        e.severity = Severity::kWarning;
      } else {
        return errors.At(kv.second.Mark(), context,
                         "unknown severity '" + s + "' (expected: blocking, warning)");
      }
    } else if (key == "column") {
      ASSIGN_OR_RETURN(e.column, GetString(errors, context, "column", kv.second));
      if (e.column.empty()) {
        return errors.At(kv.second.Mark(), context, "'column' must not be empty");
      }
    } else if (key == "description") {
      ASSIGN_OR_RETURN(e.description, GetString(errors, context, "description", kv.second));
    } else {
      return errors.At(
          kv.first.Mark(), context,
          "unknown key " + errors.Quote(key) + " (expected: " + JoinNames(allowed) + ")");
    }
  }
  if (!body) {
    std::vector<std::string> types(kTypeNames, kTypeNames + kNumTypes);
    return errors.At(node.Mark(), context,
                     "no expectation type (expected one of: " + JoinNames(types) + ")");
  }
  if (NeedsColumn(e.type) && e.column.empty()) {
    return errors.At(type_mark, context, "'" + ExpectationTypeName(e.type) + "' needs 'column'");
  }
  if (!NeedsColumn(e.type) && !e.column.empty()) {
    return errors.At(node["column"].Mark(), context,
                     "'" + ExpectationTypeName(e.type) + "' does not take 'column'");
  }
  RETURN_IF_ERROR(ParseBody(errors, context, *body, e));
  return e;
}

}  // namespace

std::string ExpectationTypeName(ExpectationType type) {
  int index = static_cast<int>(type);
  return index >= 0 && index < kNumTypes ? kTypeNames[index] : "unknown";
}

std::string SeverityName(Severity severity) {
  return severity == Severity::kBlocking ? "blocking" : "warning";
}

bool Suite::NeedsReference() const {
  for (const Expectation& e : expectations) {
    if (e.type == ExpectationType::kDrift) return true;
  }
  return false;
}

StatusOr<Suite> ParseSuite(std::string_view yaml, std::string_view file_name) {
  const Errors errors(std::string(file_name), SuiteReaderOptions());
  ASSIGN_OR_RETURN(YAML::Node root, yaml::Load(yaml, errors));
  try {
    Suite suite;
    suite.file = std::string(file_name);
    RETURN_IF_ERROR(CheckKeys(errors, "", "the suite", root,
                              {"name", "description", "reference", "expectations"}));
    if (!root["name"]) return errors.At(root.Mark(), "", "missing 'name'");
    ASSIGN_OR_RETURN(suite.name, GetString(errors, "", "name", root["name"]));
    if (root["description"]) {
      ASSIGN_OR_RETURN(suite.description,
                       GetString(errors, "", "description", root["description"]));
    }
    if (root["reference"]) {
      ASSIGN_OR_RETURN(suite.reference, GetString(errors, "", "reference", root["reference"]));
    }
    const YAML::Node list = root["expectations"];
    if (!list || !list.IsSequence() || list.size() == 0) {
      return errors.At(list ? list.Mark() : root.Mark(), "",
                       "'expectations' must be a non-empty list");
    }
    std::set<std::string> ids;
    for (size_t i = 0; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(Expectation e, ParseExpectation(errors, list[i], i, ids));
      suite.expectations.push_back(std::move(e));
    }
    return suite;
  } catch (const YAML::Exception& e) {
    return errors.At(e.mark, "", "invalid suite: " + e.msg);
  }
}

StatusOr<Suite> LoadSuite(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError("suite file not found: " + path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError("cannot open suite file: " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseSuite(buffer.str(), path);
}

}  // namespace plinth
