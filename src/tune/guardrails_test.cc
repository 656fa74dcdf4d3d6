// Guardrails: parsing, refusing spaces that break them, and the check before every trial.
#include "tune/guardrails.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace plinth::tune {
namespace {

using ::testing::HasSubstr;

constexpr char kGuardrails[] = R"(fixed:
  monotone_constraints: {annual_inc: -1, int_rate: 1}
  nthread: 1
max: {max_depth: 6, max_leaves: 64}
min: {min_child_weight: 5}
excluded_features: [addr_state, zip_code]
)";

Guardrails Parsed() {
  StatusOr<Guardrails> g = ParseGuardrails(kGuardrails, "guardrails.yaml");
  EXPECT_TRUE(g.ok()) << g.status();
  return g.ok() ? *g : Guardrails();
}

std::string SpaceError(const std::string& yaml) {
  StatusOr<SearchSpace> space = ParseSearchSpace(yaml, "space.yaml");
  EXPECT_TRUE(space.ok()) << space.status();
  if (!space.ok()) return "";
  Status s = CheckSpace(Parsed(), *space);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(GuardrailsTest, Parses) {
  const Guardrails g = Parsed();
  EXPECT_EQ(g.fixed["nthread"], 1);
  EXPECT_EQ(g.fixed["monotone_constraints"]["annual_inc"], -1);
  EXPECT_EQ(g.max.at("max_depth"), 6);
  EXPECT_EQ(g.min.at("min_child_weight"), 5);
  EXPECT_EQ(g.excluded_features, (std::vector<std::string>{"addr_state", "zip_code"}));
  EXPECT_EQ(g.locations.at("max.max_depth"), "guardrails.yaml:4:18");
  EXPECT_FALSE(g.empty());
  EXPECT_TRUE(Guardrails().empty());
  EXPECT_EQ(g.ToJson()["max"]["max_leaves"], 64);
  StatusOr<Guardrails> again = GuardrailsFromJson(g.ToJson(), "guardrails");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Digest(), g.Digest());
  StatusOr<Guardrails> none = ParseGuardrails("", "empty.yaml");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST(GuardrailsTest, ParseErrors) {
  const auto error = [](const std::string& yaml) {
    StatusOr<Guardrails> g = ParseGuardrails(yaml, "g.yaml");
    EXPECT_FALSE(g.ok());
    return std::string(g.status().message());
  };
  EXPECT_EQ(error("maximum: {max_depth: 6}\n"),
            "g.yaml:1:1: maximum: unknown key 'maximum' (did you mean 'max'?)");
  EXPECT_EQ(error("max: {max_depth: six}\n"),
            "g.yaml:1:18: max.max_depth: must be a number, not 'six'");
  EXPECT_EQ(error("max: {max_depth: 4}\nmin: {max_depth: 5}\n"),
            "g.yaml:2:18: min.max_depth: min.max_depth (5) is above max.max_depth (4)");
  EXPECT_EQ(error("fixed: {max_depth: 8}\nmax: {max_depth: 6}\n"),
            "g.yaml:1:20: fixed.max_depth: the fixed value 8 is outside its own guardrail bounds");
  EXPECT_THAT(error("fixed: {monotone_constraints: {zip: 1}}\nexcluded_features: [zip]\n"),
              HasSubstr("constrains the feature 'zip', which excluded_features excludes"));
  EXPECT_THAT(error("excluded_features: [a, a]\n"), HasSubstr("'a' is listed twice"));
  EXPECT_THAT(error("excluded_features: a\n"), HasSubstr("must be a list of feature names"));
  EXPECT_THAT(error("fixed: {excluded_features: [a]}\n"),
              HasSubstr("under the top-level key 'excluded_features'"));
}

TEST(GuardrailsTest, RefusesASpaceNamingAFixedParameter) {
  EXPECT_EQ(SpaceError("parameters:\n  nthread: {type: int, min: 1, max: 4}\n"),
            "space.yaml:2:3: parameters.nthread: refused by the guardrail fixed.nthread = 1 (set "
            "at guardrails.yaml:3:12): a fixed parameter cannot be tuned; remove it from the "
            "space");
  EXPECT_THAT(SpaceError("parameters:\n  monotone_constraints: {type: categorical, values: "
                         "[a, b]}\n"),
              HasSubstr("refused by the guardrail fixed.monotone_constraints"));
}

TEST(GuardrailsTest, RefusesRangesBeyondBoundsInsteadOfClamping) {
  EXPECT_EQ(SpaceError("parameters:\n  max_depth: {type: int, min: 2, max: 8}\n"),
            "space.yaml:2:3: parameters.max_depth: the range goes up to 8, beyond the guardrail "
            "max.max_depth = 6 (set at guardrails.yaml:4:18); lower max to at most 6");
  EXPECT_EQ(SpaceError("parameters:\n  min_child_weight: {type: log_uniform, min: 1, max: 50}\n"),
            "space.yaml:2:3: parameters.min_child_weight: the range goes down to 1, below the "
            "guardrail min.min_child_weight = 5 (set at guardrails.yaml:5:25); raise min to at "
            "least 5");
  EXPECT_THAT(SpaceError("parameters:\n  max_leaves: {type: categorical, values: [16, 128]}\n"),
              HasSubstr("the value 128 is refused by the guardrail max.max_leaves = 64"));
  EXPECT_THAT(SpaceError("parameters:\n  max_leaves: {type: categorical, values: [16, "
                         "lots]}\n"),
              HasSubstr("the value 'lots' is refused by the guardrail max.max_leaves"));
}

TEST(GuardrailsTest, AcceptsASpaceWithinTheRules) {
  StatusOr<SearchSpace> space = ParseSearchSpace(R"(parameters:
  max_depth: {type: int, min: 2, max: 6}
  min_child_weight: {type: float, min: 5, max: 20}
  max_leaves: {type: categorical, values: [16, 64]}
  learning_rate: {type: log_uniform, min: 0.01, max: 0.3}
)",
                                                 "space.yaml");
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_TRUE(CheckSpace(Parsed(), *space).ok());
}

TEST(GuardrailsTest, ApplyAddsFixedSettingsAndExcludedFeatures) {
  const Guardrails g = Parsed();
  StatusOr<Json> params = ApplyGuardrails(g, Json{{"max_depth", 4}});
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ((*params)["max_depth"], 4);
  EXPECT_EQ((*params)["nthread"], 1);
  EXPECT_EQ((*params)["monotone_constraints"], g.fixed["monotone_constraints"]);
  EXPECT_EQ((*params)["excluded_features"], Json({"addr_state", "zip_code"}));
  EXPECT_TRUE(CheckTrialParams(g, *params).ok());
  EXPECT_FALSE(ApplyGuardrails(g, Json{{"nthread", 2}}).ok());
}

TEST(GuardrailsTest, CheckBeforeEachTrialCatchesEveryBreach) {
  const Guardrails g = Parsed();
  StatusOr<Json> good = ApplyGuardrails(g, Json{{"max_depth", 6}, {"min_child_weight", 5}});
  ASSERT_TRUE(good.ok());
  const auto breach = [&](const std::function<void(Json&)>& change) {
    Json params = *good;
    change(params);
    Status s = CheckTrialParams(g, params);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    return std::string(s.message());
  };
  EXPECT_THAT(breach([](Json& p) { p["nthread"] = 8; }),
              HasSubstr("break the guardrail fixed.nthread = 1 (set at guardrails.yaml:3:12): "
                        "it is 8"));
  EXPECT_THAT(breach([](Json& p) { p.erase("monotone_constraints"); }),
              HasSubstr("fixed.monotone_constraints = {\"annual_inc\":-1,\"int_rate\":1} (set at "
                        "guardrails.yaml:2:25): it is missing"));
  EXPECT_THAT(breach([](Json& p) { p["max_depth"] = 7; }),
              HasSubstr("the guardrail max.max_depth = 6 (set at guardrails.yaml:4:18): "
                        "max_depth is 7"));
  EXPECT_THAT(breach([](Json& p) { p["max_depth"] = "6"; }), HasSubstr("not a number"));
  EXPECT_THAT(breach([](Json& p) { p["min_child_weight"] = 4.5; }),
              HasSubstr("min.min_child_weight = 5"));
  EXPECT_THAT(breach([](Json& p) { p["excluded_features"] = Json({"addr_state"}); }),
              HasSubstr("excluded_features = [\"addr_state\",\"zip_code\"]"));
  EXPECT_THAT(breach([](Json& p) { p.erase("excluded_features"); }), HasSubstr("it is missing"));
  // Without excluded features, a trial must not invent any.
  EXPECT_FALSE(CheckTrialParams(Guardrails(), Json{{"excluded_features", Json({"a"})}}).ok());
  EXPECT_TRUE(CheckTrialParams(Guardrails(), Json{{"x", 1}}).ok());
}

}  // namespace
}  // namespace plinth::tune
