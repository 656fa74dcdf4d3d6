// Search spaces: parsing, canonical form and digest, positioned errors.
#include "tune/search_space.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace plinth::tune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSpace[] = R"(parameters:
  max_depth: {type: int, min: 2, max: 8}
  learning_rate: {type: log_uniform, min: 0.01, max: 0.3}
  subsample: {type: float, min: 0.5, max: 1}
  tree_method: {type: categorical, values: [hist, approx]}
)";

std::string ErrorOf(std::string_view yaml) {
  StatusOr<SearchSpace> space = ParseSearchSpace(yaml, "space.yaml");
  EXPECT_FALSE(space.ok());
  return std::string(space.status().message());
}

TEST(SearchSpaceTest, ParsesEveryTypeSortedByName) {
  StatusOr<SearchSpace> space = ParseSearchSpace(kSpace, "space.yaml");
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_THAT(space->Names(),
              ElementsAre("learning_rate", "max_depth", "subsample", "tree_method"));
  const ParamSpec* depth = space->Find("max_depth");
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->type, ParamType::kInt);
  EXPECT_EQ(depth->min, 2);
  EXPECT_EQ(depth->max, 8);
  EXPECT_EQ(depth->location, "space.yaml:2:3");
  EXPECT_EQ(space->Find("learning_rate")->type, ParamType::kLogUniform);
  EXPECT_EQ(space->Find("subsample")->max, 1.0);
  EXPECT_THAT(space->Find("tree_method")->values, ElementsAre(Json("hist"), Json("approx")));
  EXPECT_EQ(space->Find("nope"), nullptr);
}

TEST(SearchSpaceTest, CanonicalFormAndDigestIgnoreLayout) {
  StatusOr<SearchSpace> a = ParseSearchSpace(kSpace, "a.yaml");
  StatusOr<SearchSpace> b = ParseSearchSpace(R"(parameters:
  tree_method:
    values: [hist, approx]
    type: categorical
  subsample: {max: 1.0, type: float, min: 0.5}
  learning_rate: {type: log_uniform, min: 0.01, max: 0.3}
  max_depth: {max: 8, min: 2, type: int}
)",
                                             "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->ToJson(), b->ToJson());
  EXPECT_EQ(a->Digest(), b->Digest());
  EXPECT_EQ(a->Digest().rfind("sha256:", 0), 0u);
  EXPECT_EQ(a->ToJson()["parameters"]["max_depth"],
            Json::parse(R"({"type":"int","min":2,"max":8})"));
  // The canonical form reads back to the same space.
  StatusOr<SearchSpace> c = SearchSpaceFromJson(a->ToJson(), "canonical");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->Digest(), a->Digest());
  EXPECT_TRUE(ValidateSearchSpace(*a).ok());
  // A different range is a different digest.
  StatusOr<SearchSpace> d =
      ParseSearchSpace("parameters: {max_depth: {type: int, min: 2, max: 7}}", "d.yaml");
  ASSERT_TRUE(d.ok());
  EXPECT_NE(d->Digest(), a->Digest());
}

TEST(SearchSpaceTest, ContainsChecksTypeAndRange) {
  StatusOr<SearchSpace> space = ParseSearchSpace(kSpace, "space.yaml");
  ASSERT_TRUE(space.ok());
  const ParamSpec& depth = *space->Find("max_depth");
  EXPECT_TRUE(depth.Contains(4));
  EXPECT_TRUE(depth.Contains(8));
  EXPECT_FALSE(depth.Contains(9));
  EXPECT_FALSE(depth.Contains(4.5));
  EXPECT_FALSE(depth.Contains("4"));
  EXPECT_TRUE(space->Find("tree_method")->Contains("hist"));
  EXPECT_FALSE(space->Find("tree_method")->Contains("exact"));
  EXPECT_TRUE(space->Find("learning_rate")->Contains(0.01));
  EXPECT_FALSE(space->Find("learning_rate")->Contains(0.009));
}

TEST(SearchSpaceTest, ErrorsArePositionedWithHints) {
  EXPECT_EQ(ErrorOf("parameters:\n  max_depth: {type: int, min: 2, maximum: 8}\n"),
            "space.yaml:2:34: parameters.max_depth.maximum: unknown key 'maximum' (did you mean "
            "'max'?)");
  EXPECT_EQ(ErrorOf("parameters:\n  max_depth: {type: int, min: 2, mx: 8}\n"),
            "space.yaml:2:34: parameters.max_depth.mx: unknown key 'mx' (expected: type, min, "
            "max)");
  EXPECT_EQ(ErrorOf("parameters:\n  lr: {type: loguniform, min: 0.01, max: 0.3}\n"),
            "space.yaml:2:14: parameters.lr.type: unknown type 'loguniform' (did you mean "
            "'log_uniform'?)");
  EXPECT_EQ(ErrorOf("paramters:\n  x: {type: float, min: 0, max: 1}\n"),
            "space.yaml:1:1: paramters: unknown key 'paramters' (did you mean 'parameters'?)");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {type: float, min: 1, max: 1}\n"),
            "space.yaml:2:33: parameters.x.max: max (1) must be above min (1)");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {type: log_uniform, min: 0, max: 1}\n"),
            "space.yaml:2:31: parameters.x.min: a log_uniform parameter needs min > 0, not 0");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {type: int, min: 2.5, max: 8}\n"),
            "space.yaml:2:23: parameters.x.min: must be a whole number, not 2.5");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {type: float, min: low, max: 1}\n"),
            "space.yaml:2:25: parameters.x.min: must be a number, not 'low'");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {type: float, max: 1}\n"),
            "space.yaml:2:6: parameters.x: missing 'min'");
  EXPECT_EQ(ErrorOf("parameters:\n  x: {min: 0, max: 1}\n"),
            "space.yaml:2:6: parameters.x: missing 'type' (one of int, float, log_uniform, "
            "categorical)");
  EXPECT_EQ(ErrorOf("parameters:\n  m: {type: categorical, values: [a, b, a]}\n"),
            "space.yaml:2:41: parameters.m.values[2]: the value 'a' is listed twice");
  EXPECT_THAT(ErrorOf("parameters:\n  m: {type: categorical, values: [a]}\n"),
              HasSubstr("needs at least two values"));
  EXPECT_THAT(ErrorOf("parameters:\n  m: {type: categorical, values: [[1], 2]}\n"),
              HasSubstr("parameters.m.values[0]: a value must be a string, a number or a bool"));
  EXPECT_THAT(ErrorOf("parameters:\n  m: {type: categorical, min: 1, values: [a, b]}\n"),
              HasSubstr("unknown key 'min'"));
  EXPECT_EQ(ErrorOf("parameters:\n  2x: {type: float, min: 0, max: 1}\n"),
            "space.yaml:2:3: parameters.2x: parameter names are letters, digits and '_', not "
            "starting with a digit, at most 64 characters: '2x'");
  EXPECT_THAT(ErrorOf("parameters:\n  excluded_features: {type: float, min: 0, max: 1}\n"),
              HasSubstr("'excluded_features' is reserved"));
  EXPECT_THAT(ErrorOf("parameters:\n  x: {type: float, min: 0, max: 1}\n  x: {type: int, "
                      "min: 0, max: 1}\n"),
              HasSubstr("space.yaml:3:3: parameters: key 'x' is given twice (first at 2:3)"));
  EXPECT_EQ(ErrorOf("parameters: {}\n"),
            "space.yaml:1:13: parameters: must be a mapping of parameter names to their ranges, "
            "such as {max_depth: {type: int, min: 2, max: 8}}");
  EXPECT_THAT(ErrorOf("parameters: [\n"), HasSubstr("space.yaml:2:1: invalid YAML"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("space.yaml:1:1: a search space must be a mapping"));
}

TEST(SearchSpaceTest, ReadsANodeOfALargerFileWithItsPositions) {
  const YAML::Node doc = YAML::Load(R"(steps:
  - name: tune
    uses: tune
    with:
      space:
        parameters:
          max_depth: {type: int, min: 2, max: 80000000000000000000}
)");
  StatusOr<SearchSpace> space =
      SearchSpaceFromYaml(doc["steps"][0]["with"]["space"], "pipeline.yaml");
  ASSERT_FALSE(space.ok());
  EXPECT_EQ(std::string(space.status().message()),
            "pipeline.yaml:7:47: parameters.max_depth.max: the number 8e+19 is too large");
  const YAML::Node good = YAML::Load(
      "with:\n  space:\n    parameters:\n      x: {type: float, "
      "min: 0, max: 1}\n");
  StatusOr<SearchSpace> ok = SearchSpaceFromYaml(good["with"]["space"], "pipeline.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->Find("x")->location, "pipeline.yaml:4:7");
}

TEST(SearchSpaceTest, JsonErrorsNameTheContext) {
  StatusOr<SearchSpace> space = SearchSpaceFromJson(
      Json::parse(R"({"parameters": {"x": {"type": "float", "min": 0, "max": "1"}}})"),
      "steps[2] tune: with.space");
  ASSERT_FALSE(space.ok());
  EXPECT_EQ(std::string(space.status().message()),
            "steps[2] tune: with.space: parameters.x.max: must be a number, not '1'");
}

TEST(SearchSpaceTest, ValidateRefusesSpacesBuiltWrongInCode) {
  SearchSpace space;
  ParamSpec p;
  p.name = "x";
  p.type = ParamType::kFloat;
  p.min = 1;
  p.max = 0;
  space.parameters.push_back(p);
  EXPECT_FALSE(ValidateSearchSpace(space).ok());
  space.parameters[0].max = 2;
  EXPECT_TRUE(ValidateSearchSpace(space).ok());
  space.parameters.push_back(space.parameters[0]);
  EXPECT_THAT(std::string(ValidateSearchSpace(space).message()), HasSubstr("given twice"));
}

}  // namespace
}  // namespace plinth::tune
