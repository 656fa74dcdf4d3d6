// Feature definitions: the YAML a team writes to describe its features (docs/features.md), and
// the checked, canonical form the platform stores, versions by digest and computes from.
//
// A definition file declares four kinds of objects:
//   entities          what features describe, and the column that keys them (customer_id)
//   sources           a registered data set (pinned to a version) with its event-time column and,
//                     for late-arriving data, the column saying when a row became available
//   feature_views     features of one entity computed from one source: the latest value of an
//                     expression (subject to a ttl), or a window aggregation
//                     count|sum|mean|min|max of an expression over the last N hours or days
//   feature_services  named sets of features a model consumes ("view:feature", or "view" for
//                     all of a view's features)
//
// Example (examples/features/transactions.yaml):
//   entities:
//     - name: customer
//       join_key: customer_id
//   sources:
//     - name: transactions
//       dataset: transactions
//       timestamp: timestamp
//   feature_views:
//     - name: customer_spend
//       entity: customer
//       source: transactions
//       ttl: 30d
//       features:
//         - name: last_amount
//           expr: amount
//         - name: txn_count_24h
//           aggregation: count
//           window: 24h
//         - name: spend_7d
//           aggregation: sum
//           expr: amount
//           window: 7d
//   feature_services:
//     - name: fraud_detection
//       features: [customer_spend]
#ifndef PLINTH_FEATURES_DEFINITION_H_
#define PLINTH_FEATURES_DEFINITION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace plinth {

// kLatest: the value of `expr` on the entity's latest known source row. The others aggregate the
// non-null values of `expr` (count: the rows themselves when `expr` is empty) over a window.
enum class Aggregation { kLatest, kCount, kSum, kMean, kMin, kMax };

// "latest", "count", "sum", "mean", "min", "max".
std::string AggregationName(Aggregation aggregation);

struct EntityDef {
  std::string name;
  // The column holding the entity's key, in sources and in training-set spines (string or int64).
  std::string join_key;
  std::string description;
};

struct SourceDef {
  std::string name;
  // A data set of the same project.
  std::string dataset;
  // Its version: in a file, a digest, a unique prefix of at least 12 hex characters, or empty for
  // "the latest at apply time"; in a stored (applied) definition, always the full 64-hex version.
  std::string version;
  // Event-time column (timestamp type).
  std::string timestamp;
  // Optional availability-time column (timestamp type): a row is known only from then on.
  std::string created;
  // When true, building a training set or materializing from this source is refused unless the
  // pinned version has a passing validation result.
  bool require_validation = false;
  // Protected attributes of the source's data set that features may read; each use is recorded
  // and audited at apply time. Empty by default. Column names, unique, in the file's order.
  std::vector<std::string> allow_protected;
};

struct FeatureDef {
  std::string name;
  Aggregation aggregation = Aggregation::kLatest;
  // An expression over the source's columns (docs/expr.md). Required except for kCount.
  std::string expr;
  // The window of an aggregation: rows with t - window < ts < t count at time t. 0 for kLatest,
  // > 0 otherwise.
  int64_t window_micros = 0;
  std::string description;
  // Position of the feature in its file (1-based; 0 when not parsed from a file). Used in
  // messages only; not part of the JSON form.
  int line = 0;
  int column = 0;
};

struct FeatureViewDef {
  std::string name;
  std::string entity;  // an EntityDef's name
  std::string source;  // a SourceDef's name
  // kLatest features whose row is older than the ttl (t - ts > ttl) are null; 0 = no ttl.
  // Window aggregations are bounded by their window instead.
  int64_t ttl_micros = 0;
  std::vector<FeatureDef> features;
  std::string description;
  int line = 0;
  int column = 0;
};

struct FeatureRef {
  std::string view;
  std::string feature;
};

struct FeatureServiceDef {
  std::string name;
  // Expanded: "view" in the file becomes one ref per feature of the view, in the view's order.
  std::vector<FeatureRef> features;
  std::string description;
  int line = 0;
  int column = 0;
};

struct FeatureRepo {
  std::vector<EntityDef> entities;
  std::vector<SourceDef> sources;
  std::vector<FeatureViewDef> views;
  std::vector<FeatureServiceDef> services;

  // nullptr when absent.
  const EntityDef* FindEntity(std::string_view name) const;
  const SourceDef* FindSource(std::string_view name) const;
  const FeatureViewDef* FindView(std::string_view name) const;
  const FeatureServiceDef* FindService(std::string_view name) const;
};

// Parses and checks a definition file. Errors are InvalidArgument reading
// "FILE:LINE:COL: CONTEXT: message" (CONTEXT such as "feature_views[0] customer_spend,
// features[2]"), for: malformed YAML, unknown keys (with "did you mean"), missing or mistyped
// fields, names that are not identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters),
// duplicate names within a kind, references to an unknown entity, source, view or feature,
// a window on a latest feature or none on an aggregation, a missing expr on sum/mean/min/max,
// a negative ttl, an empty service, or two features of one service with the same name (they
// would be the same training-set column). Expressions are not compiled here (see
// CheckViewAgainstSource).
StatusOr<FeatureRepo> ParseFeatureRepo(std::string_view yaml, const std::string& file_name);

// Checks a view against its source's data: the join key, timestamp and created columns exist
// with usable types (key string or int64; times timestamp), every expression compiles against
// the source's columns (positioned error naming the feature and its file position), sum/mean/
// min/max expressions are numeric (int or double), latest expressions have a column type (not a
// list or map), and no feature is named like the join key or one of the time columns.
Status CheckViewAgainstSource(const FeatureRepo& repo, const FeatureViewDef& view,
                              const Table& source_data, const std::string& file_name);

// The column type a feature takes in training sets and the online store: kLatest keeps the
// expression's type; count is int64; sum, mean, min and max are float64. Requires a check that
// passed (CheckViewAgainstSource).
StatusOr<ColumnType> FeatureColumnType(const FeatureDef& feature, const Table& source_data);

// The source columns the feature's expression reads, in order of first reference; empty for a
// count without an expression. InvalidArgument if the expression does not compile against the
// source's columns. Used at apply time to refuse features reading protected attributes the
// source does not list in `allow_protected`.
StatusOr<std::vector<std::string>> FeatureInputColumns(const FeatureDef& feature,
                                                       const Table& source_data);

// The canonical JSON form (plinth.feature_repo, schema 1): what is stored and digested. Durations
// are micros; positions are left out. FeatureRepoFromJson(FeatureRepoToJson(r)) == r except for
// positions.
Json FeatureRepoToJson(const FeatureRepo& repo);
StatusOr<FeatureRepo> FeatureRepoFromJson(const Json& json);

// Versions: "sha256:<hex>" of the canonical JSON of the object and everything it depends on.
// A view's covers the view, its entity and its source (so a new pinned data version is a new
// view version); a service's covers the service and the versions of the views it uses. Every
// field of the JSON form counts, descriptions included; positions and file layout do not.
std::string ViewVersion(const FeatureRepo& repo, const FeatureViewDef& view);
std::string ServiceVersion(const FeatureRepo& repo, const FeatureServiceDef& service);

}  // namespace plinth

#endif  // PLINTH_FEATURES_DEFINITION_H_
