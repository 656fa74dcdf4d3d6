// Reading feature definition files (format in docs/features.md).
//
// The kinds are read in dependency order (entities, sources, feature views, feature services)
// whatever their order in the file, so every reference can be resolved, and reported at the
// position of the referring field, in a single pass.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "features/definition.h"
#include "yaml/yaml_util.h"

namespace plinth {
namespace {

using yaml::Describe;
using yaml::Errors;
using yaml::Fields;
using yaml::IsIdentifier;
using yaml::JoinNames;
using yaml::Position;
using yaml::Quote;
using yaml::Suggest;

// Data set names follow the registry's rule (data/dataset.h, ValidateDatasetName), restated here
// because the features module does not depend on the data module.
constexpr size_t kMaxDatasetNameLength = 64;

const std::vector<std::string> kTopLevelKeys = {"entities", "sources", "feature_views",
                                                "feature_services"};
const std::vector<std::string> kEntityKeys = {"name", "join_key", "description"};
const std::vector<std::string> kSourceKeys = {
    "name", "dataset", "version", "timestamp", "created", "require_validation", "allow_protected"};
const std::vector<std::string> kViewKeys = {"name", "entity",      "source",
                                            "ttl",  "description", "features"};
const std::vector<std::string> kFeatureKeys = {"name", "aggregation", "expr", "window",
                                               "description"};
const std::vector<std::string> kServiceKeys = {"name", "description", "features"};
const std::vector<std::string> kAggregationNames = {"latest", "count", "sum", "mean", "min", "max"};

bool IsDatasetName(const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > kMaxDatasetNameLength || !alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// A data set version as written (empty, or 12 to 64 hex characters, optionally after "sha256:"),
// normalised to lower-case hex as the registry does (data/dataset.h, NormalizeVersion).
std::optional<std::string> NormalizeVersion(const std::string& text) {
  if (text.empty()) return text;
  std::string hex = text.rfind("sha256:", 0) == 0 ? text.substr(7) : text;
  if (hex.size() < 12 || hex.size() > 64) return std::nullopt;
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return hex;
}

// "<list>[<index>]", followed by the object's name when it has a valid one, so that even an error
// found before the name is read says which object it is about.
std::string Context(const std::string& list, size_t index, const YAML::Node& node) {
  std::string context = list + "[" + std::to_string(index) + "]";
  if (node.IsMap()) {
    const YAML::Node name = node["name"];
    if (name && name.IsScalar() && IsIdentifier(name.Scalar())) context += " " + name.Scalar();
  }
  return context;
}

class Parser {
 public:
  explicit Parser(const std::string& file_name) : errors_(file_name) {}

  StatusOr<FeatureRepo> Parse(const YAML::Node& root) {
    if (root.IsNull()) return errors_.At(YAML::Mark(), "", DefinesNothing());
    ASSIGN_OR_RETURN(Fields top, Fields::Read(errors_, "", "a feature definition file", root,
                                              kTopLevelKeys, {}));
    // Dependency order: each kind refers only to kinds read before it.
    ASSIGN_OR_RETURN(std::vector<YAML::Node> entities, List(top, "entities"));
    for (size_t i = 0; i < entities.size(); ++i) RETURN_IF_ERROR(ParseEntity(entities[i], i));
    ASSIGN_OR_RETURN(std::vector<YAML::Node> sources, List(top, "sources"));
    for (size_t i = 0; i < sources.size(); ++i) RETURN_IF_ERROR(ParseSource(sources[i], i));
    ASSIGN_OR_RETURN(std::vector<YAML::Node> views, List(top, "feature_views"));
    for (size_t i = 0; i < views.size(); ++i) RETURN_IF_ERROR(ParseView(views[i], i));
    ASSIGN_OR_RETURN(std::vector<YAML::Node> services, List(top, "feature_services"));
    for (size_t i = 0; i < services.size(); ++i) RETURN_IF_ERROR(ParseService(services[i], i));
    if (repo_.entities.empty() && repo_.sources.empty() && repo_.views.empty() &&
        repo_.services.empty()) {
      return errors_.At(root.Mark(), "", DefinesNothing());
    }
    return std::move(repo_);
  }

 private:
  static std::string DefinesNothing() {
    return "the file defines nothing (expected lists under " + JoinNames(kTopLevelKeys) + ")";
  }

  // The items of a top-level list; an absent or empty key is an empty list.
  StatusOr<std::vector<YAML::Node>> List(const Fields& top, const std::string& key) const {
    std::vector<YAML::Node> items;
    if (!top.Has(key) || top.Get(key).IsNull()) return items;
    const YAML::Node& list = top.Get(key);
    if (!list.IsSequence()) {
      return errors_.At(list.Mark(), "", "'" + key + "' must be a list, not " + Describe(list));
    }
    for (const YAML::Node& item : list) items.push_back(item);
    return items;
  }

  StatusOr<std::string> GetString(const std::string& context, const Fields& fields,
                                  const std::string& key) const {
    return yaml::GetString(errors_, context, key, fields.Get(key));
  }

  StatusOr<std::string> GetNonEmpty(const std::string& context, const Fields& fields,
                                    const std::string& key) const {
    ASSIGN_OR_RETURN(std::string value, GetString(context, fields, key));
    if (value.empty()) {
      return errors_.At(fields.Get(key).Mark(), context, "'" + key + "' must not be empty");
    }
    return value;
  }

  // An optional string: "" when absent.
  StatusOr<std::string> GetOptional(const std::string& context, const Fields& fields,
                                    const std::string& key) const {
    if (!fields.Has(key)) return std::string();
    return GetString(context, fields, key);
  }

  // A list of column names: non-empty strings, each given once. An empty list ([] or no value)
  // is an empty list.
  StatusOr<std::vector<std::string>> GetColumnList(const std::string& context, const Fields& fields,
                                                   const std::string& key) const {
    std::vector<std::string> columns;
    const YAML::Node& list = fields.Get(key);
    if (list.IsNull()) return columns;
    if (!list.IsSequence()) {
      return errors_.At(list.Mark(), context,
                        "'" + key + "' must be a list of column names, not " + Describe(list));
    }
    std::map<std::string, YAML::Mark> seen;
    for (const YAML::Node& item : list) {
      if (!item.IsScalar()) {
        return errors_.At(item.Mark(), context,
                          "'" + key + "' must hold column names, not " + Describe(item));
      }
      if (!yaml::IsValidUtf8(item.Scalar())) {
        return errors_.At(item.Mark(), context,
                          "'" + key + "' holds a name that is not valid UTF-8");
      }
      const std::string& column = item.Scalar();
      if (column.empty()) {
        return errors_.At(item.Mark(), context, "'" + key + "' must not hold an empty name");
      }
      auto [it, inserted] = seen.emplace(column, item.Mark());
      if (!inserted) {
        return errors_.At(item.Mark(), context,
                          "'" + key + "' lists " + Quote(column) + " twice (first at " +
                              Position(it->second) + ")");
      }
      columns.push_back(column);
    }
    return columns;
  }

  // A name: an identifier, because names become column names and JSON keys and are referred to
  // from other objects and from "view:feature".
  StatusOr<std::string> GetName(const std::string& context, const Fields& fields) const {
    ASSIGN_OR_RETURN(std::string name, GetString(context, fields, "name"));
    if (!IsIdentifier(name)) {
      return errors_.At(fields.Get("name").Mark(), context,
                        "name " + Quote(name) +
                            " is not an identifier (letters, digits and '_', not starting with a "
                            "digit, at most 64 characters)");
    }
    return name;
  }

  // Records the first definition of `name` among `kind`s; a repeat is an error naming both.
  Status Unique(std::map<std::string, YAML::Mark>& seen, const std::string& kind,
                const std::string& context, const std::string& name, const YAML::Mark& mark) const {
    auto [it, inserted] = seen.emplace(name, mark);
    if (!inserted) {
      return errors_.At(mark, context,
                        "duplicate " + kind + " name '" + name + "' (first defined at " +
                            Position(it->second) + ")");
    }
    return absl::OkStatus();
  }

  // A duration field: "0" or a positive whole number of s, m, h or d (core/clock.h).
  StatusOr<int64_t> GetDuration(const std::string& context, const Fields& fields,
                                const std::string& key, const std::string& examples) const {
    ASSIGN_OR_RETURN(std::string text, GetString(context, fields, key));
    const YAML::Mark mark = fields.Get(key).Mark();
    if (!text.empty() && text[0] == '-') {
      return errors_.At(mark, context, "'" + key + "' must not be negative, not " + Quote(text));
    }
    if (std::optional<int64_t> micros = ParseDuration(text)) return *micros;
    // ParseDuration refuses zero; "0", "0d", "00h" all mean zero.
    const size_t digits = text.find_first_not_of('0');
    if (!text.empty() && (digits == std::string::npos ||
                          (digits > 0 && digits + 1 == text.size() &&
                           std::string("smhd").find(text.back()) != std::string::npos))) {
      return int64_t{0};
    }
    return errors_.At(mark, context,
                      "'" + key + "' must be a duration such as " + examples +
                          " (a whole number of s, m, h or d), not " + Describe(fields.Get(key)));
  }

  // " (did you mean 'x'?)", or the names defined, or that there are none.
  static std::string Hint(const std::string& name, const std::vector<std::string>& defined,
                          const std::string& kinds) {
    if (defined.empty()) return " (no " + kinds + " are defined)";
    const std::string suggestion = Suggest(name, defined);
    if (!suggestion.empty()) return " (did you mean '" + suggestion + "'?)";
    if (defined.size() <= 10) return " (defined: " + JoinNames(defined) + ")";
    return "";
  }

  template <typename T>
  static std::vector<std::string> Names(const std::vector<T>& items) {
    std::vector<std::string> names;
    for (const T& item : items) names.push_back(item.name);
    return names;
  }

  Status ParseEntity(const YAML::Node& node, size_t index) {
    const std::string context = Context("entities", index, node);
    ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors_, context, "an entity", node, kEntityKeys,
                                                 {"name", "join_key"}));
    EntityDef entity;
    ASSIGN_OR_RETURN(entity.name, GetName(context, fields));
    RETURN_IF_ERROR(
        Unique(entity_marks_, "entity", context, entity.name, fields.Get("name").Mark()));
    ASSIGN_OR_RETURN(entity.join_key, GetNonEmpty(context, fields, "join_key"));
    ASSIGN_OR_RETURN(entity.description, GetOptional(context, fields, "description"));
    repo_.entities.push_back(std::move(entity));
    return absl::OkStatus();
  }

  Status ParseSource(const YAML::Node& node, size_t index) {
    const std::string context = Context("sources", index, node);
    ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors_, context, "a source", node, kSourceKeys,
                                                 {"name", "dataset", "timestamp"}));
    SourceDef source;
    ASSIGN_OR_RETURN(source.name, GetName(context, fields));
    RETURN_IF_ERROR(
        Unique(source_marks_, "source", context, source.name, fields.Get("name").Mark()));
    ASSIGN_OR_RETURN(source.dataset, GetString(context, fields, "dataset"));
    if (!IsDatasetName(source.dataset)) {
      return errors_.At(fields.Get("dataset").Mark(), context,
                        "'dataset' " + Quote(source.dataset) +
                            " is not a data set name (1-64 characters from letters, digits, '.', "
                            "'_' and '-', starting with a letter or digit)");
    }
    ASSIGN_OR_RETURN(std::string version, GetOptional(context, fields, "version"));
    std::optional<std::string> normalized = NormalizeVersion(version);
    if (!normalized) {
      return errors_.At(fields.Get("version").Mark(), context,
                        "'version' " + Quote(version) +
                            " must be a data set version: its digest (sha256:<64 hex>) or a "
                            "prefix of at least 12 hex characters (or leave it out for the "
                            "latest version at apply time)");
    }
    source.version = *normalized;
    ASSIGN_OR_RETURN(source.timestamp, GetNonEmpty(context, fields, "timestamp"));
    if (fields.Has("created")) {
      ASSIGN_OR_RETURN(source.created, GetNonEmpty(context, fields, "created"));
    }
    if (fields.Has("require_validation")) {
      // yaml-cpp's spellings (yes/no, on/off too), as this key has always been read.
      ASSIGN_OR_RETURN(
          source.require_validation,
          yaml::GetBool(errors_, context, "require_validation", fields.Get("require_validation"),
                        yaml::BoolSpelling::kYamlCpp));
    }
    if (fields.Has("allow_protected")) {
      ASSIGN_OR_RETURN(source.allow_protected, GetColumnList(context, fields, "allow_protected"));
    }
    repo_.sources.push_back(std::move(source));
    return absl::OkStatus();
  }

  // A reference to an object of a kind read earlier: its name must be defined.
  Status Reference(const std::string& context, const Fields& fields, const std::string& key,
                   const std::vector<std::string>& defined, const std::string& kinds,
                   std::string& out) const {
    ASSIGN_OR_RETURN(out, GetString(context, fields, key));
    if (std::find(defined.begin(), defined.end(), out) == defined.end()) {
      return errors_.At(fields.Get(key).Mark(), context,
                        "unknown " + key + " " + Quote(out) + Hint(out, defined, kinds));
    }
    return absl::OkStatus();
  }

  Status ParseView(const YAML::Node& node, size_t index) {
    const std::string context = Context("feature_views", index, node);
    ASSIGN_OR_RETURN(Fields fields,
                     Fields::Read(errors_, context, "a feature view", node, kViewKeys,
                                  {"name", "entity", "source", "features"}));
    FeatureViewDef view;
    view.line = fields.mark().line + 1;
    view.column = fields.mark().column + 1;
    ASSIGN_OR_RETURN(view.name, GetName(context, fields));
    RETURN_IF_ERROR(
        Unique(view_marks_, "feature view", context, view.name, fields.Get("name").Mark()));
    RETURN_IF_ERROR(
        Reference(context, fields, "entity", Names(repo_.entities), "entities", view.entity));
    RETURN_IF_ERROR(
        Reference(context, fields, "source", Names(repo_.sources), "sources", view.source));
    if (fields.Has("ttl")) {
      ASSIGN_OR_RETURN(view.ttl_micros,
                       GetDuration(context, fields, "ttl", "30d or 12h, or 0 for none"));
    }
    ASSIGN_OR_RETURN(view.description, GetOptional(context, fields, "description"));
    const YAML::Node& features = fields.Get("features");
    if (!features.IsSequence() || features.size() == 0) {
      return errors_.At(features.Mark(), context,
                        "'features' must be a non-empty list, not " + Describe(features));
    }
    std::map<std::string, YAML::Mark> feature_marks;
    size_t feature_index = 0;
    for (const YAML::Node& item : features) {
      ASSIGN_OR_RETURN(FeatureDef feature,
                       ParseFeature(item, context, feature_index++, feature_marks));
      view.features.push_back(std::move(feature));
    }
    repo_.views.push_back(std::move(view));
    return absl::OkStatus();
  }

  StatusOr<FeatureDef> ParseFeature(const YAML::Node& node, const std::string& view_context,
                                    size_t index,
                                    std::map<std::string, YAML::Mark>& feature_marks) const {
    const std::string context = view_context + ", " + Context("features", index, node);
    ASSIGN_OR_RETURN(Fields fields,
                     Fields::Read(errors_, context, "a feature", node, kFeatureKeys, {"name"}));
    FeatureDef feature;
    feature.line = fields.mark().line + 1;
    feature.column = fields.mark().column + 1;
    ASSIGN_OR_RETURN(feature.name, GetName(context, fields));
    RETURN_IF_ERROR(
        Unique(feature_marks, "feature", context, feature.name, fields.Get("name").Mark()));
    if (fields.Has("aggregation")) {
      ASSIGN_OR_RETURN(std::string name, GetString(context, fields, "aggregation"));
      auto it = std::find(kAggregationNames.begin(), kAggregationNames.end(), name);
      if (it == kAggregationNames.end()) {
        const std::string suggestion = Suggest(name, kAggregationNames);
        return errors_.At(fields.Get("aggregation").Mark(), context,
                          "unknown aggregation " + Quote(name) +
                              (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
                              "; expected one of " + JoinNames(kAggregationNames));
      }
      feature.aggregation = static_cast<Aggregation>(it - kAggregationNames.begin());
    }
    const std::string aggregation = AggregationName(feature.aggregation);
    ASSIGN_OR_RETURN(feature.expr, GetOptional(context, fields, "expr"));
    if (feature.expr.empty() && feature.aggregation != Aggregation::kCount) {
      return errors_.At(
          fields.Has("expr") ? fields.Get("expr").Mark() : fields.mark(), context,
          feature.aggregation == Aggregation::kLatest
              ? "a latest feature needs an 'expr' (the value to keep, such as a "
                "column name)"
              : "aggregation '" + aggregation + "' needs an 'expr' (the values to aggregate)");
    }
    if (feature.aggregation == Aggregation::kLatest) {
      if (fields.Has("window")) {
        return errors_.At(fields.Get("window").Mark(), context,
                          "a latest feature takes no 'window' (its age is bounded by the view's "
                          "ttl); did you mean to give an aggregation?");
      }
    } else {
      if (!fields.Has("window")) {
        return errors_.At(fields.mark(), context,
                          "aggregation '" + aggregation + "' needs a 'window' (such as 24h or 7d)");
      }
      ASSIGN_OR_RETURN(feature.window_micros, GetDuration(context, fields, "window", "1h or 7d"));
      if (feature.window_micros <= 0) {
        return errors_.At(fields.Get("window").Mark(), context, "'window' must be positive");
      }
    }
    ASSIGN_OR_RETURN(feature.description, GetOptional(context, fields, "description"));
    return feature;
  }

  Status ParseService(const YAML::Node& node, size_t index) {
    const std::string context = Context("feature_services", index, node);
    ASSIGN_OR_RETURN(Fields fields, Fields::Read(errors_, context, "a feature service", node,
                                                 kServiceKeys, {"name", "features"}));
    FeatureServiceDef service;
    service.line = fields.mark().line + 1;
    service.column = fields.mark().column + 1;
    ASSIGN_OR_RETURN(service.name, GetName(context, fields));
    RETURN_IF_ERROR(Unique(service_marks_, "feature service", context, service.name,
                           fields.Get("name").Mark()));
    ASSIGN_OR_RETURN(service.description, GetOptional(context, fields, "description"));
    const YAML::Node& list = fields.Get("features");
    if (!list.IsSequence() || list.size() == 0) {
      return errors_.At(list.Mark(), context,
                        "'features' must be a non-empty list of \"view:feature\" or \"view\", "
                        "not " +
                            Describe(list));
    }
    // Feature name -> the entry that brought it, for the same-column check.
    std::map<std::string, std::pair<std::string, YAML::Mark>> columns;
    for (const YAML::Node& item : list) {
      if (!item.IsScalar()) {
        return errors_.At(
            item.Mark(), context,
            "a service feature must be \"view:feature\" or \"view\", not " + Describe(item));
      }
      const std::string& text = item.Scalar();
      const size_t colon = text.find(':');
      const std::string view_name = text.substr(0, colon);
      const FeatureViewDef* view = repo_.FindView(view_name);
      if (view == nullptr) {
        return errors_.At(item.Mark(), context,
                          "unknown feature view " + Quote(view_name) +
                              Hint(view_name, Names(repo_.views), "feature views"));
      }
      std::vector<FeatureRef> refs;
      if (colon == std::string::npos) {
        for (const FeatureDef& f : view->features) refs.push_back({view->name, f.name});
      } else {
        const std::string feature_name = text.substr(colon + 1);
        bool found = false;
        for (const FeatureDef& f : view->features) found = found || f.name == feature_name;
        if (!found) {
          return errors_.At(item.Mark(), context,
                            "feature view '" + view->name + "' has no feature " +
                                Quote(feature_name) +
                                Hint(feature_name, Names(view->features), "features"));
        }
        refs.push_back({view->name, feature_name});
      }
      for (FeatureRef& ref : refs) {
        const std::string entry = ref.view + ":" + ref.feature;
        auto [it, inserted] = columns.emplace(ref.feature, std::make_pair(entry, item.Mark()));
        if (!inserted) {
          const std::string& first = it->second.first;
          return errors_.At(
              item.Mark(), context,
              first == entry
                  ? "feature '" + entry + "' is listed twice (first at " +
                        Position(it->second.second) + ")"
                  : "features '" + first + "' (at " + Position(it->second.second) + ") and '" +
                        entry + "' have the same name and would be the same training-set column");
        }
        service.features.push_back(std::move(ref));
      }
    }
    repo_.services.push_back(std::move(service));
    return absl::OkStatus();
  }

  Errors errors_;
  FeatureRepo repo_;
  // Where each name was first defined, for duplicate-name messages.
  std::map<std::string, YAML::Mark> entity_marks_, source_marks_, view_marks_, service_marks_;
};

}  // namespace

StatusOr<FeatureRepo> ParseFeatureRepo(std::string_view yaml, const std::string& file_name) {
  Errors errors(file_name);
  // yaml-cpp passes malformed UTF-8 through into strings and mangles control characters (NUL
  // ends its input), so strings would not survive being stored as JSON text and would digest
  // differently before and after: yaml::Load refuses such files up front, with the position.
  ASSIGN_OR_RETURN(YAML::Node root, yaml::Load(yaml, errors));
  // Reading a loaded document should not throw, but conversions in yaml-cpp may; a definition
  // file is user input, so an exception becomes an error rather than a crash.
  try {
    Parser parser(file_name);
    return parser.Parse(root);
  } catch (const YAML::Exception& e) {
    return errors.At(e.mark, "", "invalid feature definition: " + e.msg);
  }
}

}  // namespace plinth
