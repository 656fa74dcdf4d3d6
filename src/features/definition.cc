// The feature definition model: lookups by name, aggregation names and the column type of a
// feature. Parsing is in definition_parse.cc, checks against data in definition_check.cc, the
// canonical JSON form and versions in definition_json.cc.
#include "features/definition.h"

#include "expr/expr.h"

namespace plinth {
namespace {

template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

}  // namespace

std::string AggregationName(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::kLatest:
      return "latest";
    case Aggregation::kCount:
      return "count";
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kMean:
      return "mean";
    case Aggregation::kMin:
      return "min";
    case Aggregation::kMax:
      return "max";
  }
  return "unknown";
}

const EntityDef* FeatureRepo::FindEntity(std::string_view name) const {
  return FindByName(entities, name);
}
const SourceDef* FeatureRepo::FindSource(std::string_view name) const {
  return FindByName(sources, name);
}
const FeatureViewDef* FeatureRepo::FindView(std::string_view name) const {
  return FindByName(views, name);
}
const FeatureServiceDef* FeatureRepo::FindService(std::string_view name) const {
  return FindByName(services, name);
}

StatusOr<ColumnType> FeatureColumnType(const FeatureDef& feature, const Table& source_data) {
  switch (feature.aggregation) {
    case Aggregation::kCount:
      return ColumnType::kInt64;
    case Aggregation::kSum:
    case Aggregation::kMean:
    case Aggregation::kMin:
    case Aggregation::kMax:
      return ColumnType::kFloat64;
    case Aggregation::kLatest:
      break;
  }
  ASSIGN_OR_RETURN(expr::Program program,
                   expr::Compile(feature.expr, expr::EnvironmentForTable(source_data)));
  switch (program.result_type().kind()) {
    case expr::TypeKind::kInt:
      return ColumnType::kInt64;
    case expr::TypeKind::kDouble:
      return ColumnType::kFloat64;
    case expr::TypeKind::kBool:
      return ColumnType::kBool;
    case expr::TypeKind::kString:
      return ColumnType::kString;
    case expr::TypeKind::kTimestamp:
      return ColumnType::kTimestamp;
    default:
      return absl::InvalidArgumentError("feature '" + feature.name +
                                        "': its expression is of type " +
                                        program.result_type().ToString() +
                                        ", which a feature column cannot hold (int, double, bool, "
                                        "string or timestamp)");
  }
}

StatusOr<std::vector<std::string>> FeatureInputColumns(const FeatureDef& feature,
                                                       const Table& source_data) {
  if (feature.expr.empty()) return std::vector<std::string>();
  ASSIGN_OR_RETURN(expr::Program program,
                   expr::Compile(feature.expr, expr::EnvironmentForTable(source_data)));
  return program.variables();
}

}  // namespace plinth
