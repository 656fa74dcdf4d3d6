// Checking a feature view against the data of its source: what parsing cannot know because it
// depends on the source's columns (their presence, their types, and the expressions over them).
#include <algorithm>
#include <string>
#include <utility>

#include "expr/expr.h"
#include "features/definition.h"
#include "features/feature_compute.h"

namespace plinth {
namespace {

// "file:line:col" of an object, or just the file when it was not parsed from one.
std::string Where(const std::string& file_name, int line, int column) {
  if (line <= 0) return file_name;
  return file_name + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// The source's columns for a message, shortened for very wide tables.
std::string ColumnList(const Table& table) {
  std::string out;
  const size_t shown = std::min<size_t>(table.num_columns(), 20);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += ", ";
    out += table.columns()[i].name();
  }
  if (shown < table.num_columns()) {
    out += ", ... (" + std::to_string(table.num_columns()) + " columns)";
  }
  return out.empty() ? "none" : out;
}

// Whether EvaluateColumns can produce a column of this type.
bool IsColumnKind(expr::TypeKind kind) {
  switch (kind) {
    case expr::TypeKind::kBool:
    case expr::TypeKind::kInt:
    case expr::TypeKind::kDouble:
    case expr::TypeKind::kString:
    case expr::TypeKind::kTimestamp:
      return true;
    default:
      return false;
  }
}

}  // namespace

Status CheckViewAgainstSource(const FeatureRepo& repo, const FeatureViewDef& view,
                              const Table& source_data, const std::string& file_name) {
  const std::string view_prefix =
      Where(file_name, view.line, view.column) + ": feature_views " + view.name + ": ";
  auto view_error = [&](const std::string& message) {
    return absl::InvalidArgumentError(view_prefix + message);
  };
  const EntityDef* entity = repo.FindEntity(view.entity);
  if (entity == nullptr) return view_error("unknown entity '" + view.entity + "'");
  const SourceDef* source = repo.FindSource(view.source);
  if (source == nullptr) return view_error("unknown source '" + view.source + "'");
  const std::string of_source =
      "source '" + source->name + "' (data set '" + source->dataset + "')";

  const Column* key = source_data.Find(entity->join_key);
  if (key == nullptr) {
    return view_error(of_source + " has no column '" + entity->join_key +
                      "', the join key of entity '" + entity->name +
                      "' (columns: " + ColumnList(source_data) + ")");
  }
  if (key->type() != ColumnType::kString && key->type() != ColumnType::kInt64) {
    return view_error("join key column '" + entity->join_key + "' of " + of_source + " is " +
                      ColumnTypeName(key->type()) + "; a key must be string or int64");
  }
  // The time columns must be timestamps: int64 micros would be accepted by the join but would
  // make a misdeclared integer column silently act as a time.
  for (const auto& [role, name] :
       {std::pair<std::string, std::string>{"timestamp", source->timestamp},
        {"created", source->created}}) {
    if (name.empty()) continue;
    const Column* column = source_data.Find(name);
    if (column == nullptr) {
      return view_error(of_source + " has no column '" + name + "', its " + role +
                        " column (columns: " + ColumnList(source_data) + ")");
    }
    if (column->type() != ColumnType::kTimestamp) {
      return view_error("the " + role + " column '" + name + "' of " + of_source + " is " +
                        ColumnTypeName(column->type()) + "; it must be a timestamp");
    }
  }

  const expr::Environment env = expr::EnvironmentForTable(source_data);
  for (const FeatureDef& feature : view.features) {
    const std::string prefix = Where(file_name, feature.line, feature.column) + ": feature_views " +
                               view.name + ", feature " + feature.name + ": ";
    auto error = [&](const std::string& message) {
      return absl::InvalidArgumentError(prefix + message);
    };
    // Training sets and online tables hold the key and the features side by side, and the time
    // columns are how rows are placed in time; a feature named like one would be ambiguous.
    if (feature.name == entity->join_key) {
      return error("a feature cannot be named like the join key column of entity '" + entity->name +
                   "'");
    }
    if (feature.name == source->timestamp || feature.name == source->created) {
      return error("a feature cannot be named like a time column of " + of_source);
    }
    // The online table's own columns (features/feature_compute.h).
    if (feature.name == kOnlineEntityColumn || feature.name == kOnlineEventTimeColumn) {
      return error("'" + feature.name +
                   "' is reserved (a column of the online store's tables); choose another name");
    }
    if (feature.expr.empty()) continue;  // a count of rows
    StatusOr<expr::Program> program = expr::Compile(feature.expr, env);
    if (!program.ok()) return error(std::string(program.status().message()));
    const expr::Type& type = program->result_type();
    const std::string aggregation = AggregationName(feature.aggregation);
    switch (feature.aggregation) {
      case Aggregation::kSum:
      case Aggregation::kMean:
      case Aggregation::kMin:
      case Aggregation::kMax:
        if (!type.is_numeric()) {
          return error("aggregation '" + aggregation +
                       "' needs a numeric expression (int or double), but this one is of type " +
                       type.ToString());
        }
        break;
      case Aggregation::kLatest:
      case Aggregation::kCount:
        // count counts the rows where the expression is not null, but still evaluates it as a
        // column, so it too needs a column type.
        if (!IsColumnKind(type.kind())) {
          return error("the expression is of type " + type.ToString() +
                       ", which a feature column cannot hold (int, double, bool, string or "
                       "timestamp)");
        }
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace plinth
