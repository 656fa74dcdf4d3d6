#include "features/definition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "expr/expr.h"

namespace plinth {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kDay = 24 * kHour;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

FeatureRepo MustParse(const std::string& yaml, const std::string& file = "f.yaml") {
  StatusOr<FeatureRepo> repo = ParseFeatureRepo(yaml, file);
  EXPECT_TRUE(repo.ok()) << repo.status();
  return repo.ok() ? std::move(repo).value() : FeatureRepo();
}

std::string ParseError(const std::string& yaml) {
  StatusOr<FeatureRepo> repo = ParseFeatureRepo(yaml, "f.yaml");
  EXPECT_FALSE(repo.ok()) << yaml;
  if (repo.ok()) return "";
  EXPECT_EQ(repo.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(repo.status().message());
}

// An entity and a source on lines 1-7; tests append views and services from line 8 on.
const std::string kHead =
    "entities:\n"                  // 1
    "  - name: customer\n"         // 2
    "    join_key: customer_id\n"  // 3
    "sources:\n"                   // 4
    "  - name: transactions\n"     // 5
    "    dataset: transactions\n"  // 6
    "    timestamp: timestamp\n";  // 7

// kHead and a view on lines 8-13 whose one feature (line 13) is `feature`, indented by 8.
std::string WithFeature(const std::string& feature) {
  return kHead +
         "feature_views:\n"            // 8
         "  - name: spend\n"           // 9
         "    entity: customer\n"      // 10
         "    source: transactions\n"  // 11
         "    features:\n"             // 12
         "      - " +                  // 13
         feature;
}

// ---- Columns and tables ----

Column Column1(const std::string& name, ColumnType type) {
  Column column(name, type);
  switch (type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      column.AppendInt64(1);
      break;
    case ColumnType::kFloat64:
      column.AppendFloat64(1.5);
      break;
    case ColumnType::kBool:
      column.AppendBool(true);
      break;
    case ColumnType::kString:
      column.AppendString("x");
      break;
  }
  return column;
}

// One row with the columns of the synthetic transactions (src/data/synth_transactions.h), with
// `overrides` replacing the type of a column (or removing it, with nullopt).
Table Transactions(
    const std::vector<std::pair<std::string, std::optional<ColumnType>>>& overrides = {}) {
  std::vector<std::pair<std::string, std::optional<ColumnType>>> columns = {
      {"transaction_id", ColumnType::kInt64},     {"customer_id", ColumnType::kString},
      {"timestamp", ColumnType::kTimestamp},      {"amount", ColumnType::kFloat64},
      {"merchant_category", ColumnType::kString}, {"channel", ColumnType::kString},
      {"country", ColumnType::kString},           {"is_fraud", ColumnType::kInt64}};
  for (const auto& [name, type] : overrides) {
    bool found = false;
    for (auto& column : columns) {
      if (column.first == name) {
        column.second = type;
        found = true;
      }
    }
    if (!found) columns.emplace_back(name, type);
  }
  Table table;
  for (const auto& [name, type] : columns) {
    if (type) {
      EXPECT_TRUE(table.AddColumn(Column1(name, *type)).ok());
    }
  }
  return table;
}

// ---- Parsing: good files ----

TEST(FeatureDefinitionParse, ExampleFile) {
  const std::string path = std::string(PLINTH_EXAMPLES_FEATURES) + "/transactions.yaml";
  FeatureRepo repo = MustParse(ReadFile(path), path);
  ASSERT_EQ(repo.entities.size(), 1u);
  EXPECT_EQ(repo.entities[0].name, "customer");
  EXPECT_EQ(repo.entities[0].join_key, "customer_id");
  ASSERT_EQ(repo.sources.size(), 1u);
  const SourceDef& source = repo.sources[0];
  EXPECT_EQ(source.dataset, "transactions");
  EXPECT_EQ(source.version, "");
  EXPECT_EQ(source.timestamp, "timestamp");
  EXPECT_EQ(source.created, "");
  EXPECT_FALSE(source.require_validation);

  ASSERT_EQ(repo.views.size(), 1u);
  const FeatureViewDef& view = repo.views[0];
  EXPECT_EQ(view.name, "customer_spend");
  EXPECT_EQ(view.ttl_micros, 30 * kDay);
  std::vector<std::string> names;
  for (const FeatureDef& f : view.features) names.push_back(f.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"last_amount", "last_channel", "txn_count_1h",
                                      "txn_count_24h", "spend_24h", "spend_7d", "mean_amount_30d",
                                      "max_amount_7d", "foreign_count_7d", "night_count_24h"}));
  EXPECT_EQ(view.features[0].aggregation, Aggregation::kLatest);
  EXPECT_EQ(view.features[0].expr, "amount");
  EXPECT_EQ(view.features[0].window_micros, 0);
  EXPECT_EQ(view.features[2].aggregation, Aggregation::kCount);
  EXPECT_EQ(view.features[2].expr, "");
  EXPECT_EQ(view.features[2].window_micros, kHour);
  EXPECT_EQ(view.features[5].aggregation, Aggregation::kSum);
  EXPECT_EQ(view.features[5].window_micros, 7 * kDay);
  EXPECT_EQ(view.features[6].aggregation, Aggregation::kMean);
  EXPECT_EQ(view.features[7].aggregation, Aggregation::kMax);
  EXPECT_GT(view.line, 0);
  EXPECT_GT(view.features[0].line, view.line);

  ASSERT_EQ(repo.services.size(), 1u);
  const FeatureServiceDef& service = repo.services[0];
  EXPECT_EQ(service.name, "fraud_detection");
  ASSERT_EQ(service.features.size(), view.features.size());
  for (size_t i = 0; i < service.features.size(); ++i) {
    EXPECT_EQ(service.features[i].view, "customer_spend");
    EXPECT_EQ(service.features[i].feature, view.features[i].name);
  }

  // It fits the synthetic transactions' columns.
  Table data = Transactions();
  EXPECT_TRUE(CheckViewAgainstSource(repo, view, data, path).ok());
  std::vector<ColumnType> types;
  for (const FeatureDef& f : view.features) {
    StatusOr<ColumnType> type = FeatureColumnType(f, data);
    ASSERT_TRUE(type.ok()) << type.status();
    types.push_back(*type);
    // The expressions also evaluate column-wise, as feature computation runs them.
    if (!f.expr.empty()) {
      StatusOr<expr::Program> program = expr::Compile(f.expr, expr::EnvironmentForTable(data));
      ASSERT_TRUE(program.ok()) << program.status();
      StatusOr<Column> values = expr::EvaluateColumns(*program, data);
      EXPECT_TRUE(values.ok()) << f.name << ": " << values.status();
    }
  }
  EXPECT_EQ(types,
            (std::vector<ColumnType>{ColumnType::kFloat64, ColumnType::kString, ColumnType::kInt64,
                                     ColumnType::kInt64, ColumnType::kFloat64, ColumnType::kFloat64,
                                     ColumnType::kFloat64, ColumnType::kFloat64,
                                     ColumnType::kFloat64, ColumnType::kInt64}));
}

TEST(FeatureDefinitionParse, DefaultsAndPositions) {
  FeatureRepo repo = MustParse(WithFeature("name: amount\n        expr: amount\n"));
  ASSERT_EQ(repo.views.size(), 1u);
  const FeatureViewDef& view = repo.views[0];
  EXPECT_EQ(view.ttl_micros, 0);
  EXPECT_EQ(view.description, "");
  EXPECT_EQ(view.line, 9);
  EXPECT_EQ(view.column, 5);
  ASSERT_EQ(view.features.size(), 1u);
  EXPECT_EQ(view.features[0].aggregation, Aggregation::kLatest);
  EXPECT_EQ(view.features[0].line, 13);
  EXPECT_EQ(view.features[0].column, 9);
  EXPECT_FALSE(repo.sources[0].require_validation);
  EXPECT_TRUE(repo.services.empty());
}

TEST(FeatureDefinitionParse, KindsMayComeInAnyOrderAndFlowStyle) {
  FeatureRepo repo = MustParse(R"(feature_services:
  - {name: s, features: ["v:a", "w"]}
feature_views:
  - {name: w, entity: e, source: src, features: [{name: b, aggregation: count, window: 90s}]}
  - name: v
    entity: e
    source: src
    ttl: 12h
    features: [{name: a, aggregation: min, expr: x * 2, window: 15m, description: d}]
sources:
  - {name: src, dataset: my-data.v2, timestamp: ts, created: arrived, require_validation: yes}
entities:
  - {name: e, join_key: id, description: An entity}
)");
  ASSERT_EQ(repo.services.size(), 1u);
  ASSERT_EQ(repo.services[0].features.size(), 2u);
  EXPECT_EQ(repo.services[0].features[0].view, "v");
  EXPECT_EQ(repo.services[0].features[0].feature, "a");
  EXPECT_EQ(repo.services[0].features[1].view, "w");
  EXPECT_EQ(repo.services[0].features[1].feature, "b");
  EXPECT_EQ(repo.services[0].line, 2);
  EXPECT_EQ(repo.services[0].column, 5);
  EXPECT_EQ(repo.FindView("v")->ttl_micros, 12 * kHour);
  EXPECT_EQ(repo.FindView("v")->features[0].window_micros, int64_t{15} * 60 * 1000000);
  EXPECT_EQ(repo.FindView("w")->features[0].window_micros, int64_t{90} * 1000000);
  EXPECT_EQ(repo.FindSource("src")->created, "arrived");
  EXPECT_TRUE(repo.FindSource("src")->require_validation);
  EXPECT_EQ(repo.FindEntity("e")->description, "An entity");
  EXPECT_EQ(repo.FindService("s"), &repo.services[0]);
  EXPECT_EQ(repo.FindService("t"), nullptr);
}

TEST(FeatureDefinitionParse, VersionsAreNormalised) {
  const std::string full(64, 'a');
  for (const auto& [written, stored] :
       std::vector<std::pair<std::string, std::string>>{{"", ""},
                                                        {"0123456789ab", "0123456789ab"},
                                                        {"sha256:" + full, full},
                                                        {"0123456789ABCDEF", "0123456789abcdef"}}) {
    FeatureRepo repo = MustParse(
        "sources:\n  - name: s\n    dataset: d\n    timestamp: t\n"
        "    version: '" +
        written + "'\n");
    ASSERT_EQ(repo.sources.size(), 1u);
    EXPECT_EQ(repo.sources[0].version, stored) << written;
  }
}

TEST(FeatureDefinitionParse, ZeroTtlMeansNone) {
  for (const std::string ttl : {"0", "0d", "00h"}) {
    FeatureRepo repo = MustParse(kHead +
                                 "feature_views:\n  - name: v\n    entity: customer\n"
                                 "    source: transactions\n    ttl: " +
                                 ttl + "\n    features: [{name: a, expr: amount}]\n");
    ASSERT_EQ(repo.views.size(), 1u);
    EXPECT_EQ(repo.views[0].ttl_micros, 0) << ttl;
  }
}

// ---- Parsing: errors, each with its position ----

TEST(FeatureDefinitionParse, MalformedYaml) {
  EXPECT_THAT(ParseError("entities:\n  - name: [a\n"), StartsWith("f.yaml:3:1: invalid YAML: "));
  EXPECT_THAT(ParseError("entities: {a: 1\n"), StartsWith("f.yaml:"));
}

TEST(FeatureDefinitionParse, InvalidUtf8) {
  EXPECT_EQ(ParseError("entities:\n  - name: c\n    join_key: k\n    description: a\x93"
                       "b\n"),
            "f.yaml:4:19: the file is not valid UTF-8");
  EXPECT_EQ(ParseError(std::string("entities:\n  - name: c\n    join_key: k") + '\0' + "\n"),
            "f.yaml:3:16: the file contains the control character U+0000, which YAML does not "
            "allow");
  EXPECT_THAT(ParseError("entities:\n  - {name: c, join_key: k, description: \"\\ud800\"}\n"),
              StartsWith("f.yaml:2:"));
  // Tabs, carriage returns, U+0085 and other non-ASCII text are fine.
  FeatureRepo repo = MustParse(
      "entities:\r\n  - name: c\r\n    join_key: k\r\n    description: \"a\tb \xc2\x85 "
      "\xc3\xa9\"\r\n");
  ASSERT_EQ(repo.entities.size(), 1u);
  EXPECT_EQ(repo.entities[0].description, "a\tb \xc2\x85 \xc3\xa9");
}

TEST(FeatureDefinitionParse, DefinesNothing) {
  EXPECT_THAT(ParseError(""), StartsWith("f.yaml:1:1: the file defines nothing"));
  EXPECT_THAT(ParseError("# only a comment\n"), StartsWith("f.yaml:1:1: the file defines nothing"));
  EXPECT_THAT(ParseError("entities: []\nfeature_views:\n"),
              StartsWith("f.yaml:1:1: the file defines nothing"));
  EXPECT_EQ(ParseError("- a\n- b\n"),
            "f.yaml:1:1: a feature definition file must be a mapping with keys entities, "
            "sources, feature_views, feature_services, not a list");
  EXPECT_EQ(ParseError("entities: customer\n"),
            "f.yaml:1:11: 'entities' must be a list, not 'customer'");
}

TEST(FeatureDefinitionParse, UnknownKeys) {
  EXPECT_EQ(ParseError("entites: []\n"),
            "f.yaml:1:1: unknown key 'entites' (did you mean 'entities'?)");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        agregation: sum\n")),
            "f.yaml:14:9: feature_views[0] spend, features[0] a: unknown key 'agregation' (did "
            "you mean 'aggregation'?)");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        expression: amount\n")),
            "f.yaml:14:9: feature_views[0] spend, features[0] a: unknown key 'expression' (did "
            "you mean 'expr'?)");
  EXPECT_EQ(ParseError(kHead + "feature_views:\n  - name: v\n    color: red\n"),
            "f.yaml:10:5: feature_views[0] v: unknown key 'color' (expected: name, entity, source, "
            "ttl, description, features)");
  EXPECT_EQ(ParseError("entities:\n  - name: a\n    join_key: k\n    name: b\n"),
            "f.yaml:4:5: entities[0] a: key 'name' is given twice");
}

TEST(FeatureDefinitionParse, MissingAndMistypedFields) {
  EXPECT_EQ(ParseError("entities:\n  - name: customer\n"),
            "f.yaml:2:5: entities[0] customer: missing 'join_key'");
  EXPECT_EQ(ParseError("entities:\n  - customer\n"),
            "f.yaml:2:5: entities[0]: an entity must be a mapping with keys name, join_key, "
            "description, not 'customer'");
  EXPECT_EQ(ParseError("entities:\n  - name: [a, b]\n    join_key: k\n"),
            "f.yaml:2:11: entities[0]: 'name' must be a string, not a list");
  EXPECT_EQ(ParseError("entities:\n  - name: c\n    join_key: ''\n"),
            "f.yaml:3:15: entities[0] c: 'join_key' must not be empty");
  EXPECT_EQ(ParseError("sources:\n  - name: s\n    dataset: d\n"),
            "f.yaml:2:5: sources[0] s: missing 'timestamp'");
  EXPECT_EQ(ParseError("sources:\n  - name: s\n    dataset: d\n    timestamp: t\n"
                       "    require_validation: maybe\n"),
            "f.yaml:5:25: sources[0] s: 'require_validation' must be true or false, not 'maybe'");
  EXPECT_EQ(ParseError(kHead + "feature_views:\n  - name: v\n    entity: customer\n"
                               "    source: transactions\n    features: amount\n"),
            "f.yaml:12:15: feature_views[0] v: 'features' must be a non-empty list, not 'amount'");
  EXPECT_EQ(ParseError(kHead + "feature_views:\n  - name: v\n    entity: customer\n"
                               "    source: transactions\n"),
            "f.yaml:9:5: feature_views[0] v: missing 'features'");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        expr: {x: 1}\n")),
            "f.yaml:14:15: feature_views[0] spend, features[0] a: 'expr' must be a string, not a "
            "mapping");
}

TEST(FeatureDefinitionParse, NamesMustBeIdentifiers) {
  EXPECT_THAT(ParseError("entities:\n  - name: customer-id\n    join_key: k\n"),
              StartsWith("f.yaml:2:11: entities[0]: name 'customer-id' is not an identifier"));
  EXPECT_THAT(ParseError(WithFeature("name: 7d_spend\n        expr: amount\n")),
              StartsWith("f.yaml:13:15: feature_views[0] spend, features[0]: name '7d_spend' is "
                         "not an identifier"));
  const std::string long_name(65, 'a');
  EXPECT_THAT(ParseError("entities:\n  - name: " + long_name + "\n    join_key: k\n"),
              HasSubstr("at most 64 characters"));
  MustParse("entities:\n  - name: " + long_name.substr(1) + "\n    join_key: k\n");
}

TEST(FeatureDefinitionParse, DuplicateNames) {
  EXPECT_EQ(ParseError("entities:\n  - name: c\n    join_key: k\n  - name: c\n    join_key: j\n"),
            "f.yaml:4:11: entities[1] c: duplicate entity name 'c' (first defined at 2:11)");
  EXPECT_EQ(
      ParseError(WithFeature("name: a\n        expr: amount\n      - name: a\n        expr: x\n")),
      "f.yaml:15:15: feature_views[0] spend, features[1] a: duplicate feature name 'a' (first "
      "defined at 13:15)");
  // The same feature name in two views is fine (unless one service uses both, below).
  MustParse(WithFeature("name: a\n        expr: amount\n") +
            "  - name: other\n    entity: customer\n    source: transactions\n"
            "    features: [{name: a, expr: amount}]\n");
}

TEST(FeatureDefinitionParse, UnknownReferences) {
  EXPECT_EQ(ParseError(kHead + "feature_views:\n  - name: v\n    entity: custmer\n"
                               "    source: transactions\n    features: [{name: a, expr: x}]\n"),
            "f.yaml:10:13: feature_views[0] v: unknown entity 'custmer' (did you mean "
            "'customer'?)");
  EXPECT_EQ(ParseError(kHead + "feature_views:\n  - name: v\n    entity: customer\n"
                               "    source: payments\n    features: [{name: a, expr: x}]\n"),
            "f.yaml:11:13: feature_views[0] v: unknown source 'payments' (defined: "
            "transactions)");
  EXPECT_EQ(ParseError("entities:\n  - name: c\n    join_key: k\nfeature_views:\n  - name: v\n"
                       "    entity: c\n    source: s\n    features: [{name: a, expr: x}]\n"),
            "f.yaml:7:13: feature_views[0] v: unknown source 's' (no sources are defined)");
  const std::string repo = WithFeature("name: amount\n        expr: amount\n");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: [spnd]\n"),
            "f.yaml:17:16: feature_services[0] s: unknown feature view 'spnd' (did you mean "
            "'spend'?)");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: ['spend:amout']\n"),
            "f.yaml:17:16: feature_services[0] s: feature view 'spend' has no feature 'amout' "
            "(did you mean 'amount'?)");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: ['spend:']\n"),
            "f.yaml:17:16: feature_services[0] s: feature view 'spend' has no feature '' "
            "(defined: amount)");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: [[spend]]\n"),
            "f.yaml:17:16: feature_services[0] s: a service feature must be \"view:feature\" or "
            "\"view\", not a list");
}

TEST(FeatureDefinitionParse, AggregationsWindowsAndExpressions) {
  EXPECT_EQ(ParseError(WithFeature("name: a\n        expr: amount\n        window: 7d\n")),
            "f.yaml:15:17: feature_views[0] spend, features[0] a: a latest feature takes no "
            "'window' (its age is bounded by the view's ttl); did you mean to give an "
            "aggregation?");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        aggregation: count\n")),
            "f.yaml:13:9: feature_views[0] spend, features[0] a: aggregation 'count' needs a "
            "'window' (such as 24h or 7d)");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        aggregation: sum\n        window: 1d\n")),
            "f.yaml:13:9: feature_views[0] spend, features[0] a: aggregation 'sum' needs an "
            "'expr' (the values to aggregate)");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        expr: ''\n")),
            "f.yaml:14:15: feature_views[0] spend, features[0] a: a latest feature needs an "
            "'expr' (the value to keep, such as a column name)");
  EXPECT_EQ(ParseError(WithFeature("name: a\n        aggregation: avg\n")),
            "f.yaml:14:22: feature_views[0] spend, features[0] a: unknown aggregation 'avg'; "
            "expected one of latest, count, sum, mean, min, max");
  EXPECT_THAT(ParseError(WithFeature("name: a\n        aggregation: sums\n")),
              HasSubstr("unknown aggregation 'sums' (did you mean 'sum'?)"));
  EXPECT_EQ(ParseError(WithFeature("name: a\n        aggregation: count\n        window: 0\n")),
            "f.yaml:15:17: feature_views[0] spend, features[0] a: 'window' must be positive");
  EXPECT_EQ(
      ParseError(WithFeature("name: a\n        aggregation: count\n        window: 1 week\n")),
      "f.yaml:15:17: feature_views[0] spend, features[0] a: 'window' must be a duration such as "
      "1h or 7d (a whole number of s, m, h or d), not '1 week'");
  // Expressions are not compiled when parsing (CheckViewAgainstSource does).
  MustParse(WithFeature("name: a\n        expr: 'no such ) column'\n"));
}

TEST(FeatureDefinitionParse, Ttl) {
  const std::string view = kHead +
                           "feature_views:\n  - name: v\n    entity: customer\n"
                           "    source: transactions\n    features: [{name: a, expr: x}]\n"
                           "    ttl: ";
  EXPECT_EQ(ParseError(view + "-1d\n"),
            "f.yaml:13:10: feature_views[0] v: 'ttl' must not be negative, not '-1d'");
  EXPECT_EQ(ParseError(view + "30 days\n"),
            "f.yaml:13:10: feature_views[0] v: 'ttl' must be a duration such as 30d or 12h, or "
            "0 for none (a whole number of s, m, h or d), not '30 days'");
  EXPECT_THAT(ParseError(view + "99999999999999d\n"), HasSubstr("'ttl' must be a duration"));
}

TEST(FeatureDefinitionParse, Sources) {
  EXPECT_THAT(ParseError("sources:\n  - name: s\n    dataset: my data\n    timestamp: t\n"),
              StartsWith("f.yaml:3:14: sources[0] s: 'dataset' 'my data' is not a data set name"));
  EXPECT_THAT(ParseError("sources:\n  - name: s\n    dataset: .hidden\n    timestamp: t\n"),
              HasSubstr("is not a data set name"));
  for (const std::string& bad : std::vector<std::string>{"abc", "0123456789a", "0123456789abg",
                                                         "sha256:xyz", std::string(65, 'a')}) {
    EXPECT_THAT(ParseError("sources:\n  - name: s\n    dataset: d\n    timestamp: t\n"
                           "    version: '" +
                           bad + "'\n"),
                StartsWith("f.yaml:5:14: sources[0] s: 'version' '" + bad.substr(0, 80)))
        << bad;
  }
}

TEST(FeatureDefinitionParse, AllowProtected) {
  const std::string source = "sources:\n  - name: s\n    dataset: d\n    timestamp: t\n";
  // Absent: empty.
  FeatureRepo none = MustParse(source);
  ASSERT_EQ(none.sources.size(), 1u);
  EXPECT_TRUE(none.sources[0].allow_protected.empty());
  // Kept in the file's order; block and flow lists; an empty list.
  FeatureRepo flow = MustParse(source + "    allow_protected: [Sex, Age]\n");
  EXPECT_EQ(flow.sources[0].allow_protected, (std::vector<std::string>{"Sex", "Age"}));
  FeatureRepo block =
      MustParse(source + "    allow_protected:\n      - age\n      - 'marital status'\n");
  EXPECT_EQ(block.sources[0].allow_protected, (std::vector<std::string>{"age", "marital status"}));
  EXPECT_TRUE(MustParse(source + "    allow_protected: []\n").sources[0].allow_protected.empty());

  EXPECT_EQ(ParseError(source + "    allow_protected: Age\n"),
            "f.yaml:5:22: sources[0] s: 'allow_protected' must be a list of column names, not "
            "'Age'");
  EXPECT_EQ(ParseError(source + "    allow_protected: {Age: true}\n"),
            "f.yaml:5:22: sources[0] s: 'allow_protected' must be a list of column names, not a "
            "mapping");
  EXPECT_EQ(ParseError(source + "    allow_protected: [Age, [Sex]]\n"),
            "f.yaml:5:28: sources[0] s: 'allow_protected' must hold column names, not a list");
  EXPECT_EQ(ParseError(source + "    allow_protected:\n      - Age\n      - ''\n"),
            "f.yaml:7:9: sources[0] s: 'allow_protected' must not hold an empty name");
  EXPECT_EQ(ParseError(source + "    allow_protected: [Age, Sex, Age]\n"),
            "f.yaml:5:33: sources[0] s: 'allow_protected' lists 'Age' twice (first at 5:23)");
  EXPECT_EQ(ParseError(source + "    allow_protect: [Age]\n"),
            "f.yaml:5:5: sources[0] s: unknown key 'allow_protect' (did you mean "
            "'allow_protected'?)");
}

TEST(FeatureDefinitionParse, Services) {
  const std::string repo =
      WithFeature("name: amount\n        expr: amount\n") +
      "  - name: other\n    entity: customer\n    source: transactions\n"
      "    features: [{name: amount, expr: amount * 2}, {name: count, aggregation: count, "
      "window: 1d}]\n";
  // Lines: the views end on line 18; services start on line 19.
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: []\n"),
            "f.yaml:21:15: feature_services[0] s: 'features' must be a non-empty list of "
            "\"view:feature\" or \"view\", not a list");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n"),
            "f.yaml:20:5: feature_services[0] s: missing 'features'");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n    features: [spend, other]\n"),
            "f.yaml:21:23: feature_services[0] s: features 'spend:amount' (at 21:16) and "
            "'other:amount' have the same name and would be the same training-set column");
  EXPECT_EQ(ParseError(repo + "feature_services:\n  - name: s\n"
                              "    features: [other, 'other:count']\n"),
            "f.yaml:21:23: feature_services[0] s: feature 'other:count' is listed twice (first at "
            "21:16)");
  FeatureRepo ok = MustParse(repo +
                             "feature_services:\n  - name: s\n"
                             "    features: ['other:count', spend]\n");
  ASSERT_EQ(ok.services.size(), 1u);
  ASSERT_EQ(ok.services[0].features.size(), 2u);
  EXPECT_EQ(ok.services[0].features[0].feature, "count");
  EXPECT_EQ(ok.services[0].features[1].feature, "amount");
  EXPECT_EQ(ok.services[0].features[1].view, "spend");
}

TEST(FeatureDefinitionParse, HostileInputIsAnErrorNotACrash) {
  // Deep nesting, aliases, odd keys, huge scalars.
  EXPECT_FALSE(ParseFeatureRepo(std::string(5000, '[') + std::string(5000, ']'), "f").ok());
  EXPECT_FALSE(ParseFeatureRepo("entities: &a [*a]\n", "f").ok());
  EXPECT_FALSE(ParseFeatureRepo("? [a]\n: b\n", "f").ok());
  EXPECT_THAT(
      ParseError("entities:\n  - name: " + std::string(100000, 'x') + "\n    join_key: k\n"),
      HasSubstr("..."));
  // Aliases are read as copies, so duplicates are still found.
  EXPECT_THAT(ParseError("entities:\n  - &c {name: c, join_key: k}\n  - *c\n"),
              HasSubstr("duplicate entity name 'c'"));
}

// ---- JSON form ----

FeatureRepo Example() {
  return MustParse(ReadFile(std::string(PLINTH_EXAMPLES_FEATURES) + "/transactions.yaml"));
}

TEST(FeatureDefinitionJson, RoundTrip) {
  FeatureRepo repo = MustParse(R"(entities:
  - {name: e, join_key: id, description: "An entity \u00e9"}
sources:
  - {name: src, dataset: d, version: 0123456789abcdef, timestamp: ts, created: c,
     require_validation: true, allow_protected: [Sex, Age]}
feature_views:
  - name: v
    entity: e
    source: src
    ttl: 2d
    description: A view
    features:
      - {name: a, expr: x}
      - {name: b, aggregation: count, window: 1h}
      - {name: c, aggregation: mean, expr: x + 1.0, window: 3d, description: mean}
feature_services:
  - {name: s, description: svc, features: ['v:b', 'v:c']}
)");
  Json json = FeatureRepoToJson(repo);
  EXPECT_EQ(json["schema"], "plinth.feature_repo");
  EXPECT_EQ(json["schema_version"], 1);
  EXPECT_EQ(json["feature_views"][0]["ttl_micros"], 2 * kDay);
  EXPECT_EQ(json["feature_views"][0]["features"][1]["window_micros"], kHour);
  EXPECT_EQ(json["feature_views"][0]["features"][2]["aggregation"], "mean");
  EXPECT_EQ(json["feature_services"][0]["features"][0], (Json{{"view", "v"}, {"feature", "b"}}));
  EXPECT_EQ(json["sources"][0]["require_validation"], true);
  EXPECT_EQ(json["sources"][0]["allow_protected"], (Json{"Sex", "Age"}));
  EXPECT_FALSE(json.dump().find("line") != std::string::npos);

  StatusOr<FeatureRepo> back = FeatureRepoFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(FeatureRepoToJson(*back), json);
  EXPECT_EQ(back->views[0].features[2].expr, "x + 1.0");
  EXPECT_EQ(back->views[0].features[2].aggregation, Aggregation::kMean);
  EXPECT_EQ(back->views[0].features[0].line, 0);  // positions are not part of the JSON form
  EXPECT_EQ(back->sources[0].created, "c");
  EXPECT_TRUE(back->sources[0].require_validation);
  EXPECT_EQ(back->sources[0].allow_protected, (std::vector<std::string>{"Sex", "Age"}));
  EXPECT_EQ(back->entities[0].description, "An entity \xc3\xa9");

  // Through text, as it is stored.
  StatusOr<Json> reparsed = ParseJson(DumpJson(json));
  ASSERT_TRUE(reparsed.ok());
  StatusOr<FeatureRepo> again = FeatureRepoFromJson(*reparsed);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(FeatureRepoToJson(*again), json);

  // The example and an empty repository round-trip too.
  FeatureRepo example = Example();
  StatusOr<FeatureRepo> example_back = FeatureRepoFromJson(FeatureRepoToJson(example));
  ASSERT_TRUE(example_back.ok()) << example_back.status();
  EXPECT_EQ(FeatureRepoToJson(*example_back), FeatureRepoToJson(example));
  StatusOr<FeatureRepo> empty = FeatureRepoFromJson(FeatureRepoToJson(FeatureRepo()));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->views.empty());
}

TEST(FeatureDefinitionJson, AllowProtectedIsAlwaysWrittenAndMayBeAbsent) {
  const FeatureRepo example = Example();
  const Json json = FeatureRepoToJson(example);
  EXPECT_EQ(json["sources"][0]["allow_protected"], Json::array());
  // Definitions stored before allow_protected existed still load, with none allowed, and are
  // written back with it.
  Json old = json;
  old["sources"][0].erase("allow_protected");
  StatusOr<FeatureRepo> back = FeatureRepoFromJson(old);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->sources[0].allow_protected.empty());
  EXPECT_EQ(FeatureRepoToJson(*back), json);
}

TEST(FeatureDefinitionJson, MalformedIsInvalidArgument) {
  const Json good = FeatureRepoToJson(Example());
  struct Case {
    std::string name;
    Json json;
    std::string message;
  };
  std::vector<Case> cases;
  auto edit = [&](const std::string& name, const std::function<void(Json&)>& change,
                  const std::string& message) {
    Json j = good;
    change(j);
    cases.push_back({name, j, message});
  };
  cases.push_back({"array", Json::array(), "must be an object"});
  cases.push_back({"null", Json(), "must be an object"});
  edit(
      "schema", [](Json& j) { j["schema"] = "plinth.other"; }, "schema is 'plinth.other'");
  edit(
      "schema_version", [](Json& j) { j["schema_version"] = 2; }, "schema_version 2");
  edit(
      "schema_version type", [](Json& j) { j["schema_version"] = "1"; }, "must be an integer");
  edit(
      "missing", [](Json& j) { j.erase("entities"); }, "missing 'entities'");
  edit(
      "unknown", [](Json& j) { j["extra"] = 1; }, "unknown member 'extra'");
  edit(
      "entities type", [](Json& j) { j["entities"] = Json::object(); }, "must be an array");
  edit(
      "entity type", [](Json& j) { j["entities"][0] = 3; }, "entities[0]: must be an object");
  edit(
      "entity name", [](Json& j) { j["entities"][0]["name"] = 3; }, "'name' must be a string");
  edit(
      "identifier", [](Json& j) { j["entities"][0]["name"] = "a b"; }, "not an identifier");
  edit(
      "duplicate", [](Json& j) { j["entities"].push_back(j["entities"][0]); },
      "duplicate entity name customer");
  edit(
      "join key", [](Json& j) { j["entities"][0]["join_key"] = ""; }, "empty join_key");
  edit(
      "dataset", [](Json& j) { j["sources"][0]["dataset"] = "a/b"; }, "not a data set name");
  edit(
      "version", [](Json& j) { j["sources"][0]["version"] = "sha256:0123456789ab"; },
      "version 'sha256:0123456789ab'");
  edit(
      "flag", [](Json& j) { j["sources"][0]["require_validation"] = 1; }, "true or false");
  edit(
      "allow_protected type", [](Json& j) { j["sources"][0]["allow_protected"] = "Age"; },
      "sources[0]: 'allow_protected' must be an array");
  edit(
      "allow_protected item",
      [](Json& j) {
        j["sources"][0]["allow_protected"] = Json{"Age", 1};
      },
      "sources[0]: 'allow_protected' must hold non-empty strings");
  edit(
      "allow_protected empty", [](Json& j) { j["sources"][0]["allow_protected"] = Json{""}; },
      "sources[0]: 'allow_protected' must hold non-empty strings");
  edit(
      "allow_protected twice",
      [](Json& j) {
        j["sources"][0]["allow_protected"] = Json{"Age", "Sex", "Age"};
      },
      "sources[0]: 'allow_protected' lists 'Age' twice");
  edit(
      "ttl type", [](Json& j) { j["feature_views"][0]["ttl_micros"] = "30d"; },
      "feature_views[0]: 'ttl_micros' must be an integer");
  edit(
      "ttl float", [](Json& j) { j["feature_views"][0]["ttl_micros"] = 1.5; },
      "must be an integer");
  edit(
      "ttl huge", [](Json& j) { j["feature_views"][0]["ttl_micros"] = uint64_t{1} << 63; },
      "must be an integer");
  edit(
      "ttl negative", [](Json& j) { j["feature_views"][0]["ttl_micros"] = -1; }, "out of range");
  edit(
      "entity ref", [](Json& j) { j["feature_views"][0]["entity"] = "nobody"; },
      "unknown entity 'nobody'");
  edit(
      "source ref", [](Json& j) { j["feature_views"][0]["source"] = "nowhere"; },
      "unknown source 'nowhere'");
  edit(
      "no features", [](Json& j) { j["feature_views"][0]["features"] = Json::array(); },
      "at least one feature");
  edit(
      "aggregation", [](Json& j) { j["feature_views"][0]["features"][0]["aggregation"] = "avg"; },
      "feature_views[0], features[0]: unknown aggregation 'avg'");
  edit(
      "window on latest",
      [](Json& j) { j["feature_views"][0]["features"][0]["window_micros"] = 5; },
      "window_micros 5 is out of range for aggregation latest");
  edit(
      "no window", [](Json& j) { j["feature_views"][0]["features"][2]["window_micros"] = 0; },
      "window_micros 0 is out of range for aggregation count");
  edit(
      "no expr", [](Json& j) { j["feature_views"][0]["features"][4]["expr"] = ""; },
      "aggregation sum needs an expr");
  edit(
      "feature member", [](Json& j) { j["feature_views"][0]["features"][0].erase("expr"); },
      "missing 'expr'");
  edit(
      "service view", [](Json& j) { j["feature_services"][0]["features"][0]["view"] = "x"; },
      "feature_services[0], features[0]: unknown feature view 'x'");
  edit(
      "service feature", [](Json& j) { j["feature_services"][0]["features"][0]["feature"] = "x"; },
      "has no feature 'x'");
  edit(
      "service twice",
      [](Json& j) {
        j["feature_services"][0]["features"].push_back(j["feature_services"][0]["features"][0]);
      },
      "two features named last_amount");
  edit(
      "service empty", [](Json& j) { j["feature_services"][0]["features"] = Json::array(); },
      "at least one feature");
  for (const Case& c : cases) {
    StatusOr<FeatureRepo> repo = FeatureRepoFromJson(c.json);
    ASSERT_FALSE(repo.ok()) << c.name;
    EXPECT_EQ(repo.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(std::string(repo.status().message()), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(std::string(repo.status().message()), StartsWith("malformed plinth.feature_repo"))
        << c.name;
  }
}

// ---- Versions ----

TEST(FeatureDefinitionVersion, DependsOnTheViewItsEntityAndItsSource) {
  const FeatureRepo repo = Example();
  const FeatureViewDef& view = repo.views[0];
  const std::string version = ViewVersion(repo, view);
  EXPECT_THAT(version, StartsWith("sha256:"));
  EXPECT_EQ(version.size(), 7u + 64u);
  EXPECT_EQ(ViewVersion(repo, view), version);  // deterministic

  // Not on positions, comments or key order in the file, nor on the JSON round trip.
  FeatureRepo moved = MustParse(
      "\n\n# moved\n" + ReadFile(std::string(PLINTH_EXAMPLES_FEATURES) + "/transactions.yaml"));
  EXPECT_NE(moved.views[0].line, view.line);
  EXPECT_EQ(ViewVersion(moved, moved.views[0]), version);
  StatusOr<FeatureRepo> back = FeatureRepoFromJson(FeatureRepoToJson(repo));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ViewVersion(*back, back->views[0]), version);

  // A new pinned data version, another join key, another window: a new view version.
  auto changed = [&](const std::function<void(FeatureRepo&)>& change) {
    FeatureRepo copy = repo;
    change(copy);
    return ViewVersion(copy, copy.views[0]);
  };
  EXPECT_NE(changed([](FeatureRepo& r) { r.sources[0].version = std::string(64, 'a'); }), version);
  EXPECT_NE(changed([](FeatureRepo& r) { r.sources[0].require_validation = true; }), version);
  // Allowing a protected attribute, or another one, is a new version; so is the list's order.
  const std::string allowed =
      changed([](FeatureRepo& r) { r.sources[0].allow_protected = {"Age"}; });
  EXPECT_NE(allowed, version);
  EXPECT_NE(changed([](FeatureRepo& r) { r.sources[0].allow_protected = {"Sex"}; }), allowed);
  EXPECT_NE(changed([](FeatureRepo& r) {
              r.sources[0].allow_protected = {"Age", "Sex"};
            }),
            changed([](FeatureRepo& r) {
              r.sources[0].allow_protected = {"Sex", "Age"};
            }));
  EXPECT_NE(changed([](FeatureRepo& r) { r.entities[0].join_key = "card_id"; }), version);
  EXPECT_NE(changed([](FeatureRepo& r) { r.views[0].features[3].window_micros *= 2; }), version);
  EXPECT_NE(changed([](FeatureRepo& r) { r.views[0].ttl_micros = 0; }), version);
  // Descriptions are part of the canonical form, so they are part of the version too.
  EXPECT_NE(changed([](FeatureRepo& r) { r.views[0].features[0].description = "new"; }), version);
  // Other views, entities and sources are not.
  EXPECT_EQ(changed([](FeatureRepo& r) {
              r.entities.push_back({"merchant", "merchant_id", ""});
              FeatureViewDef other = r.views[0];
              other.name = "other";
              other.entity = "merchant";
              r.views.push_back(other);
            }),
            version);
}

TEST(FeatureDefinitionVersion, ServiceDependsOnTheVersionsOfItsViews) {
  FeatureRepo repo = MustParse(kHead + R"(  - name: payments
    dataset: payments
    timestamp: timestamp
feature_views:
  - name: a
    entity: customer
    source: transactions
    features: [{name: x, expr: amount}]
  - name: b
    entity: customer
    source: payments
    features: [{name: y, expr: amount}]
feature_services:
  - {name: s, features: [a]}
)");
  ASSERT_EQ(repo.services.size(), 1u);
  const std::string version = ServiceVersion(repo, repo.services[0]);
  EXPECT_THAT(version, StartsWith("sha256:"));
  EXPECT_NE(version, ViewVersion(repo, repo.views[0]));

  FeatureRepo unrelated = repo;
  unrelated.sources[1].version = std::string(64, 'b');  // only view b uses payments
  EXPECT_NE(ViewVersion(unrelated, unrelated.views[1]), ViewVersion(repo, repo.views[1]));
  EXPECT_EQ(ServiceVersion(unrelated, unrelated.services[0]), version);

  FeatureRepo repinned = repo;
  repinned.sources[0].version = std::string(64, 'c');
  EXPECT_NE(ServiceVersion(repinned, repinned.services[0]), version);

  FeatureRepo renamed = repo;
  renamed.services[0].description = "d";
  EXPECT_NE(ServiceVersion(renamed, renamed.services[0]), version);
}

// ---- Checks against the source's data ----

// The example with its only view's features replaced by `features` (YAML list items from line
// 12 on).
FeatureRepo ViewWith(const std::string& features, const std::string& created = "") {
  return MustParse(
      "entities:\n"                                                                            // 1
      "  - name: customer\n"                                                                   // 2
      "    join_key: customer_id\n"                                                            // 3
      "sources:\n"                                                                             // 4
      "  - name: transactions\n"                                                               // 5
      "    dataset: transactions\n"                                                            // 6
      "    timestamp: timestamp\n" +                                                           // 7
          (created.empty() ? "    created: timestamp\n" : "    created: " + created + "\n") +  // 8
          "feature_views:\n"                                                                   // 9
          "  - name: spend\n"                                                                  // 10
          "    entity: customer\n"                                                             // 11
          "    source: transactions\n"                                                         // 12
          "    features:\n" +                                                                  // 13
          features,  // 14...
      "defs.yaml");
}

std::string CheckError(const FeatureRepo& repo, const Table& data) {
  if (repo.views.empty()) return "no view";
  Status status = CheckViewAgainstSource(repo, repo.views[0], data, "defs.yaml");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

TEST(FeatureDefinitionCheck, ExpressionsCompileAgainstTheSourceColumns) {
  FeatureRepo repo = ViewWith(
      "      - {name: ok, expr: amount}\n"  // 14
      "      - name: bad\n"                 // 15
      "        expr: amout * 2\n");         // 16
  EXPECT_EQ(CheckError(repo, Transactions()),
            "defs.yaml:15:9: feature_views spend, feature bad: 1:1: undeclared reference to "
            "'amout' (did you mean 'amount'?)\n"
            "    amout * 2\n"
            "    ^");
  EXPECT_THAT(CheckError(ViewWith("      - {name: bad, expr: 'amount +'}\n"), Transactions()),
              StartsWith("defs.yaml:14:9: feature_views spend, feature bad: 1:"));
}

TEST(FeatureDefinitionCheck, AggregationsNeedNumbersAndLatestNeedsAColumnType) {
  EXPECT_EQ(CheckError(ViewWith("      - {name: s, aggregation: sum, expr: channel, window: 1d}\n"),
                       Transactions()),
            "defs.yaml:14:9: feature_views spend, feature s: aggregation 'sum' needs a numeric "
            "expression (int or double), but this one is of type string");
  EXPECT_THAT(CheckError(ViewWith("      - {name: s, aggregation: max, expr: amount > 1.0, "
                                  "window: 1d}\n"),
                         Transactions()),
              HasSubstr("of type bool"));
  EXPECT_EQ(CheckError(ViewWith("      - {name: l, expr: '[amount]'}\n"), Transactions()),
            "defs.yaml:14:9: feature_views spend, feature l: the expression is of type "
            "list(double), which a feature column cannot hold (int, double, bool, string or "
            "timestamp)");
  EXPECT_THAT(CheckError(ViewWith("      - {name: c, aggregation: count, expr: \"null\", "
                                  "window: 1d}\n"),
                         Transactions()),
              HasSubstr("which a feature column cannot hold"));
  // Int sums, timestamp and bool latest values and counts of any column are fine.
  FeatureRepo ok = ViewWith(
      "      - {name: a, aggregation: sum, expr: is_fraud, window: 1d}\n"
      "      - {name: b, expr: timestamp}\n"
      "      - {name: c, expr: amount > 100.0}\n"
      "      - {name: d, aggregation: count, expr: country, window: 1d}\n"
      "      - {name: e, aggregation: min, expr: 'is_fraud == 1 ? amount : null', window: 1d}\n");
  Status status = CheckViewAgainstSource(ok, ok.views[0], Transactions(), "defs.yaml");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(FeatureDefinitionCheck, KeyAndTimeColumns) {
  const FeatureRepo repo = ViewWith("      - {name: a, expr: amount}\n", "arrived");
  const Table with_created = Transactions({{"arrived", ColumnType::kTimestamp}});
  EXPECT_TRUE(CheckViewAgainstSource(repo, repo.views[0], with_created, "defs.yaml").ok());

  EXPECT_THAT(CheckError(repo, Transactions({{"arrived", ColumnType::kTimestamp},
                                             {"customer_id", std::nullopt}})),
              StartsWith("defs.yaml:10:5: feature_views spend: source 'transactions' (data set "
                         "'transactions') has no column 'customer_id', the join key of entity "
                         "'customer' (columns: transaction_id, timestamp, amount,"));
  EXPECT_EQ(CheckError(repo, Transactions({{"arrived", ColumnType::kTimestamp},
                                           {"customer_id", ColumnType::kFloat64}})),
            "defs.yaml:10:5: feature_views spend: join key column 'customer_id' of source "
            "'transactions' (data set 'transactions') is float64; a key must be string or int64");
  Table int_keys =
      Transactions({{"arrived", ColumnType::kTimestamp}, {"customer_id", ColumnType::kInt64}});
  EXPECT_TRUE(CheckViewAgainstSource(repo, repo.views[0], int_keys, "defs.yaml").ok());

  EXPECT_EQ(CheckError(repo, Transactions({{"arrived", ColumnType::kTimestamp},
                                           {"timestamp", ColumnType::kString}})),
            "defs.yaml:10:5: feature_views spend: the timestamp column 'timestamp' of source "
            "'transactions' (data set 'transactions') is string; it must be a timestamp");
  EXPECT_EQ(CheckError(repo, Transactions({{"arrived", ColumnType::kInt64}})),
            "defs.yaml:10:5: feature_views spend: the created column 'arrived' of source "
            "'transactions' (data set 'transactions') is int64; it must be a timestamp");
  EXPECT_THAT(CheckError(repo, Transactions()),
              HasSubstr("has no column 'arrived', its created column"));
}

TEST(FeatureDefinitionCheck, FeaturesCannotBeNamedLikeTheKeyOrTimeColumns) {
  EXPECT_EQ(CheckError(ViewWith("      - {name: customer_id, expr: amount}\n"), Transactions()),
            "defs.yaml:14:9: feature_views spend, feature customer_id: a feature cannot be named "
            "like the join key column of entity 'customer'");
  EXPECT_THAT(CheckError(ViewWith("      - {name: timestamp, expr: amount}\n"), Transactions()),
              HasSubstr("a feature cannot be named like a time column"));
  EXPECT_THAT(CheckError(ViewWith("      - {name: event_time, expr: timestamp}\n"), Transactions()),
              HasSubstr("'event_time' is reserved"));
  EXPECT_THAT(CheckError(ViewWith("      - {name: entity, expr: channel}\n"), Transactions()),
              HasSubstr("'entity' is reserved"));
}

TEST(FeatureDefinitionCheck, PositionsAreLeftOutForDefinitionsNotFromAFile) {
  StatusOr<FeatureRepo> repo = FeatureRepoFromJson(FeatureRepoToJson(Example()));
  ASSERT_TRUE(repo.ok());
  Status status = CheckViewAgainstSource(*repo, repo->views[0],
                                         Transactions({{"amount", ColumnType::kString}}), "stored");
  EXPECT_THAT(std::string(status.message()),
              StartsWith("stored: feature_views customer_spend, feature spend_24h: aggregation "
                         "'sum' needs a numeric"));
}

// ---- Input columns ----

TEST(FeatureDefinitionInputColumns, TheColumnsAnExpressionReadsInOrderOfFirstReference) {
  const Table data = Transactions({{"Age", ColumnType::kInt64}});
  auto columns = [&](Aggregation aggregation, const std::string& expr) {
    FeatureDef f;
    f.name = "f";
    f.aggregation = aggregation;
    f.expr = expr;
    StatusOr<std::vector<std::string>> result = FeatureInputColumns(f, data);
    EXPECT_TRUE(result.ok()) << expr << ": " << result.status();
    return result.ok() ? *result : std::vector<std::string>{"<error>"};
  };
  EXPECT_EQ(columns(Aggregation::kSum, "amount * 2.0 + (country == \"GB\" ? 1.0 : 0.0)"),
            (std::vector<std::string>{"amount", "country"}));
  EXPECT_EQ(columns(Aggregation::kLatest, "amount"), (std::vector<std::string>{"amount"}));
  // Each column once, in order of first reference.
  EXPECT_EQ(columns(Aggregation::kLatest, "Age > 60 && amount > 10.0 * double(Age)"),
            (std::vector<std::string>{"Age", "amount"}));
  EXPECT_EQ(columns(Aggregation::kCount, "timestamp.getHours() < 6 ? 1 : null"),
            (std::vector<std::string>{"timestamp"}));
  EXPECT_TRUE(columns(Aggregation::kLatest, "1 + 2").empty());
  EXPECT_TRUE(columns(Aggregation::kCount, "").empty());

  FeatureDef bad;
  bad.name = "bad";
  bad.expr = "amout * 2";
  StatusOr<std::vector<std::string>> error = FeatureInputColumns(bad, data);
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(error.status().message()), HasSubstr("amout"));
}

}  // namespace
}  // namespace plinth
