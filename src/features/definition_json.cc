// The canonical JSON form of feature definitions (plinth.feature_repo, schema 1) and the versions
// derived from it.
//
// FeatureRepoFromJson reads what may come from storage or a request, so it checks both the shape
// (every field present with its type, no unknown field) and the rules ParseFeatureRepo enforces
// (identifiers, unique names, resolvable references, windows and ttls), so that code computing
// from a repository can rely on them whichever way it was obtained. It never throws: every access
// is preceded by a type check.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/sha256.h"
#include "features/definition.h"

namespace plinth {
namespace {

constexpr char kSchema[] = "plinth.feature_repo";
constexpr int kSchemaVersion = 1;
// The longest duration a file can express (core/clock.h's ParseDuration: 2^40 seconds).
constexpr int64_t kMaxDurationMicros = (int64_t{1} << 40) * 1000000;

Json EntityJson(const EntityDef& entity) {
  return Json{
      {"name", entity.name}, {"join_key", entity.join_key}, {"description", entity.description}};
}

Json SourceJson(const SourceDef& source) {
  Json allow_protected = Json::array();
  for (const std::string& column : source.allow_protected) allow_protected.push_back(column);
  return Json{{"name", source.name},
              {"dataset", source.dataset},
              {"version", source.version},
              {"timestamp", source.timestamp},
              {"created", source.created},
              {"require_validation", source.require_validation},
              {"allow_protected", std::move(allow_protected)}};
}

Json ViewJson(const FeatureViewDef& view) {
  Json features = Json::array();
  for (const FeatureDef& f : view.features) {
    features.push_back(Json{{"name", f.name},
                            {"aggregation", AggregationName(f.aggregation)},
                            {"expr", f.expr},
                            {"window_micros", f.window_micros},
                            {"description", f.description}});
  }
  return Json{{"name", view.name},
              {"entity", view.entity},
              {"source", view.source},
              {"ttl_micros", view.ttl_micros},
              {"description", view.description},
              {"features", std::move(features)}};
}

Json ServiceJson(const FeatureServiceDef& service) {
  Json features = Json::array();
  for (const FeatureRef& ref : service.features) {
    features.push_back(Json{{"view", ref.view}, {"feature", ref.feature}});
  }
  return Json{{"name", service.name},
              {"description", service.description},
              {"features", std::move(features)}};
}

std::string Digest(const Json& json) {
  // Definitions hold no doubles, so canonicalisation cannot fail; stay total regardless.
  StatusOr<std::string> canonical = CanonicalJson(json);
  return Sha256Digest(canonical.ok() ? *canonical : DumpJson(json));
}

Status Malformed(const std::string& context, const std::string& message) {
  return absl::InvalidArgumentError("malformed " + std::string(kSchema) + ": " +
                                    (context.empty() ? "" : context + ": ") + message);
}

std::string Quote(const std::string& text) {
  return "'" + (text.size() > 80 ? text.substr(0, 80) + "..." : text) + "'";
}

// The members of one JSON object: `keys` required, `optional_keys` allowed, none other.
class Reader {
 public:
  static StatusOr<Reader> Open(const Json& json, const std::string& context,
                               const std::vector<std::string>& keys,
                               const std::vector<std::string>& optional_keys = {}) {
    if (!json.is_object()) return Malformed(context, "must be an object");
    for (const auto& [key, value] : json.items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end() &&
          std::find(optional_keys.begin(), optional_keys.end(), key) == optional_keys.end()) {
        return Malformed(context, "unknown member " + Quote(key));
      }
    }
    for (const std::string& key : keys) {
      if (!json.contains(key)) return Malformed(context, "missing '" + key + "'");
    }
    return Reader(json, context);
  }

  bool Has(const std::string& key) const { return json_->contains(key); }

  StatusOr<std::string> String(const std::string& key) const {
    const Json& value = json_->at(key);
    if (!value.is_string()) return Malformed(context_, "'" + key + "' must be a string");
    return value.get<std::string>();
  }

  StatusOr<int64_t> Int(const std::string& key) const {
    const Json& value = json_->at(key);
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{INT64_MAX})) {
      return Malformed(context_, "'" + key + "' must be an integer");
    }
    return value.get<int64_t>();
  }

  StatusOr<bool> Bool(const std::string& key) const {
    const Json& value = json_->at(key);
    if (!value.is_boolean()) return Malformed(context_, "'" + key + "' must be true or false");
    return value.get<bool>();
  }

  StatusOr<const Json*> Array(const std::string& key) const {
    const Json& value = json_->at(key);
    if (!value.is_array()) return Malformed(context_, "'" + key + "' must be an array");
    return &value;
  }

 private:
  Reader(const Json& json, std::string context) : json_(&json), context_(std::move(context)) {}
  const Json* json_;
  std::string context_;
};

bool IsIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!letter(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

bool IsDatasetName(const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > 64 || !alnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// Stored versions are normalised: empty, or 12 to 64 lower-case hex characters.
bool IsStoredVersion(const std::string& version) {
  if (version.empty()) return true;
  if (version.size() < 12 || version.size() > 64) return false;
  return std::all_of(version.begin(), version.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Checks that `name` is an identifier not yet in `seen`, and records it.
Status NewName(std::set<std::string>& seen, const std::string& context, const std::string& kind,
               const std::string& name) {
  if (!IsIdentifier(name)) {
    return Malformed(context, kind + " name " + Quote(name) + " is not an identifier");
  }
  if (!seen.insert(name).second) return Malformed(context, "duplicate " + kind + " name " + name);
  return absl::OkStatus();
}

StatusOr<Aggregation> ParseAggregation(const std::string& context, const std::string& name) {
  for (Aggregation a : {Aggregation::kLatest, Aggregation::kCount, Aggregation::kSum,
                        Aggregation::kMean, Aggregation::kMin, Aggregation::kMax}) {
    if (AggregationName(a) == name) return a;
  }
  return Malformed(context, "unknown aggregation " + Quote(name));
}

StatusOr<FeatureDef> ReadFeature(const Json& json, const std::string& context,
                                 std::set<std::string>& names) {
  ASSIGN_OR_RETURN(
      Reader r,
      Reader::Open(json, context, {"name", "aggregation", "expr", "window_micros", "description"}));
  FeatureDef f;
  ASSIGN_OR_RETURN(f.name, r.String("name"));
  RETURN_IF_ERROR(NewName(names, context, "feature", f.name));
  ASSIGN_OR_RETURN(std::string aggregation, r.String("aggregation"));
  ASSIGN_OR_RETURN(f.aggregation, ParseAggregation(context, aggregation));
  ASSIGN_OR_RETURN(f.expr, r.String("expr"));
  ASSIGN_OR_RETURN(f.window_micros, r.Int("window_micros"));
  ASSIGN_OR_RETURN(f.description, r.String("description"));
  if (f.expr.empty() && f.aggregation != Aggregation::kCount) {
    return Malformed(context, "aggregation " + aggregation + " needs an expr");
  }
  if (f.aggregation == Aggregation::kLatest
          ? f.window_micros != 0
          : f.window_micros <= 0 || f.window_micros > kMaxDurationMicros) {
    return Malformed(context, "window_micros " + std::to_string(f.window_micros) +
                                  " is out of range for aggregation " + aggregation);
  }
  return f;
}

StatusOr<FeatureViewDef> ReadView(const Json& json, const std::string& context,
                                  const FeatureRepo& repo) {
  ASSIGN_OR_RETURN(Reader r, Reader::Open(json, context,
                                          {"name", "entity", "source", "ttl_micros", "description",
                                           "features"}));
  FeatureViewDef view;
  ASSIGN_OR_RETURN(view.name, r.String("name"));
  ASSIGN_OR_RETURN(view.entity, r.String("entity"));
  if (repo.FindEntity(view.entity) == nullptr) {
    return Malformed(context, "unknown entity " + Quote(view.entity));
  }
  ASSIGN_OR_RETURN(view.source, r.String("source"));
  if (repo.FindSource(view.source) == nullptr) {
    return Malformed(context, "unknown source " + Quote(view.source));
  }
  ASSIGN_OR_RETURN(view.ttl_micros, r.Int("ttl_micros"));
  if (view.ttl_micros < 0 || view.ttl_micros > kMaxDurationMicros) {
    return Malformed(context, "ttl_micros " + std::to_string(view.ttl_micros) + " is out of range");
  }
  ASSIGN_OR_RETURN(view.description, r.String("description"));
  ASSIGN_OR_RETURN(const Json* features, r.Array("features"));
  if (features->empty()) return Malformed(context, "a feature view needs at least one feature");
  std::set<std::string> names;
  for (size_t i = 0; i < features->size(); ++i) {
    ASSIGN_OR_RETURN(
        FeatureDef f,
        ReadFeature((*features)[i], context + ", features[" + std::to_string(i) + "]", names));
    view.features.push_back(std::move(f));
  }
  return view;
}

StatusOr<FeatureServiceDef> ReadService(const Json& json, const std::string& context,
                                        const FeatureRepo& repo) {
  ASSIGN_OR_RETURN(Reader r, Reader::Open(json, context, {"name", "description", "features"}));
  FeatureServiceDef service;
  ASSIGN_OR_RETURN(service.name, r.String("name"));
  ASSIGN_OR_RETURN(service.description, r.String("description"));
  ASSIGN_OR_RETURN(const Json* features, r.Array("features"));
  if (features->empty()) return Malformed(context, "a feature service needs at least one feature");
  std::set<std::string> columns;
  for (size_t i = 0; i < features->size(); ++i) {
    const std::string item_context = context + ", features[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Reader f, Reader::Open((*features)[i], item_context, {"view", "feature"}));
    FeatureRef ref;
    ASSIGN_OR_RETURN(ref.view, f.String("view"));
    ASSIGN_OR_RETURN(ref.feature, f.String("feature"));
    const FeatureViewDef* view = repo.FindView(ref.view);
    if (view == nullptr) return Malformed(item_context, "unknown feature view " + Quote(ref.view));
    if (std::none_of(view->features.begin(), view->features.end(),
                     [&](const FeatureDef& d) { return d.name == ref.feature; })) {
      return Malformed(item_context,
                       "feature view " + view->name + " has no feature " + Quote(ref.feature));
    }
    // Each feature is a training-set column named by the feature.
    if (!columns.insert(ref.feature).second) {
      return Malformed(item_context, "two features named " + ref.feature);
    }
    service.features.push_back(std::move(ref));
  }
  return service;
}

}  // namespace

Json FeatureRepoToJson(const FeatureRepo& repo) {
  Json entities = Json::array(), sources = Json::array(), views = Json::array(),
       services = Json::array();
  for (const EntityDef& e : repo.entities) entities.push_back(EntityJson(e));
  for (const SourceDef& s : repo.sources) sources.push_back(SourceJson(s));
  for (const FeatureViewDef& v : repo.views) views.push_back(ViewJson(v));
  for (const FeatureServiceDef& s : repo.services) services.push_back(ServiceJson(s));
  return Json{{"schema", kSchema},
              {"schema_version", kSchemaVersion},
              {"entities", std::move(entities)},
              {"sources", std::move(sources)},
              {"feature_views", std::move(views)},
              {"feature_services", std::move(services)}};
}

StatusOr<FeatureRepo> FeatureRepoFromJson(const Json& json) {
  ASSIGN_OR_RETURN(Reader top, Reader::Open(json, "",
                                            {"schema", "schema_version", "entities", "sources",
                                             "feature_views", "feature_services"}));
  ASSIGN_OR_RETURN(std::string schema, top.String("schema"));
  if (schema != kSchema) return Malformed("", "schema is " + Quote(schema));
  ASSIGN_OR_RETURN(int64_t schema_version, top.Int("schema_version"));
  if (schema_version != kSchemaVersion) {
    return Malformed("", "unsupported schema_version " + std::to_string(schema_version));
  }
  FeatureRepo repo;

  ASSIGN_OR_RETURN(const Json* entities, top.Array("entities"));
  std::set<std::string> entity_names;
  for (size_t i = 0; i < entities->size(); ++i) {
    const std::string context = "entities[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Reader r,
                     Reader::Open((*entities)[i], context, {"name", "join_key", "description"}));
    EntityDef e;
    ASSIGN_OR_RETURN(e.name, r.String("name"));
    RETURN_IF_ERROR(NewName(entity_names, context, "entity", e.name));
    ASSIGN_OR_RETURN(e.join_key, r.String("join_key"));
    if (e.join_key.empty()) return Malformed(context, "empty join_key");
    ASSIGN_OR_RETURN(e.description, r.String("description"));
    repo.entities.push_back(std::move(e));
  }

  ASSIGN_OR_RETURN(const Json* sources, top.Array("sources"));
  std::set<std::string> source_names;
  for (size_t i = 0; i < sources->size(); ++i) {
    const std::string context = "sources[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Reader r, Reader::Open((*sources)[i], context,
                                            {"name", "dataset", "version", "timestamp", "created",
                                             "require_validation"},
                                            // Absent in definitions stored before it existed.
                                            {"allow_protected"}));
    SourceDef s;
    ASSIGN_OR_RETURN(s.name, r.String("name"));
    RETURN_IF_ERROR(NewName(source_names, context, "source", s.name));
    ASSIGN_OR_RETURN(s.dataset, r.String("dataset"));
    if (!IsDatasetName(s.dataset)) {
      return Malformed(context, "dataset " + Quote(s.dataset) + " is not a data set name");
    }
    ASSIGN_OR_RETURN(s.version, r.String("version"));
    if (!IsStoredVersion(s.version)) {
      return Malformed(context, "version " + Quote(s.version) +
                                    " is not empty or 12 to 64 lower-case hex characters");
    }
    ASSIGN_OR_RETURN(s.timestamp, r.String("timestamp"));
    if (s.timestamp.empty()) return Malformed(context, "empty timestamp");
    ASSIGN_OR_RETURN(s.created, r.String("created"));
    ASSIGN_OR_RETURN(s.require_validation, r.Bool("require_validation"));
    if (r.Has("allow_protected")) {
      ASSIGN_OR_RETURN(const Json* allowed, r.Array("allow_protected"));
      std::set<std::string> seen;
      for (const Json& column : *allowed) {
        if (!column.is_string() || column.get<std::string>().empty()) {
          return Malformed(context, "'allow_protected' must hold non-empty strings");
        }
        if (!seen.insert(column.get<std::string>()).second) {
          return Malformed(
              context, "'allow_protected' lists " + Quote(column.get<std::string>()) + " twice");
        }
        s.allow_protected.push_back(column.get<std::string>());
      }
    }
    repo.sources.push_back(std::move(s));
  }

  ASSIGN_OR_RETURN(const Json* views, top.Array("feature_views"));
  std::set<std::string> view_names;
  for (size_t i = 0; i < views->size(); ++i) {
    const std::string context = "feature_views[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(FeatureViewDef v, ReadView((*views)[i], context, repo));
    RETURN_IF_ERROR(NewName(view_names, context, "feature view", v.name));
    repo.views.push_back(std::move(v));
  }

  ASSIGN_OR_RETURN(const Json* services, top.Array("feature_services"));
  std::set<std::string> service_names;
  for (size_t i = 0; i < services->size(); ++i) {
    const std::string context = "feature_services[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(FeatureServiceDef s, ReadService((*services)[i], context, repo));
    RETURN_IF_ERROR(NewName(service_names, context, "feature service", s.name));
    repo.services.push_back(std::move(s));
  }
  return repo;
}

std::string ViewVersion(const FeatureRepo& repo, const FeatureViewDef& view) {
  const EntityDef* entity = repo.FindEntity(view.entity);
  const SourceDef* source = repo.FindSource(view.source);
  return Digest(Json{{"view", ViewJson(view)},
                     {"entity", entity != nullptr ? EntityJson(*entity) : Json()},
                     {"source", source != nullptr ? SourceJson(*source) : Json()}});
}

std::string ServiceVersion(const FeatureRepo& repo, const FeatureServiceDef& service) {
  Json views = Json::object();
  for (const FeatureRef& ref : service.features) {
    if (views.contains(ref.view)) continue;
    const FeatureViewDef* view = repo.FindView(ref.view);
    views[ref.view] = view != nullptr ? Json(ViewVersion(repo, *view)) : Json();
  }
  return Digest(Json{{"service", ServiceJson(service)}, {"views", std::move(views)}});
}

}  // namespace plinth
