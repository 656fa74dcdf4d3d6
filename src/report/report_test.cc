#include "report/report.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace plinth::report {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

Json Evidence() {
  std::ifstream in(std::string(PLINTH_REPORT_TESTDATA) + "/evidence.json");
  std::stringstream text;
  text << in.rdbuf();
  StatusOr<Json> json = ParseJson(text.str());
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : Json::object();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Opening and closing tags of `tag` balance (the main structure of a page).
void ExpectBalanced(const std::string& html, const std::string& tag) {
  EXPECT_EQ(Count(html, "<" + tag + ">") + Count(html, "<" + tag + " "),
            Count(html, "</" + tag + ">"))
      << tag;
}

// --- Model card ---------------------------------------------------------------------------------

TEST(ModelCardTest, HasTheToolkitFieldsFromTheEvidence) {
  const Json card = BuildModelCard(Evidence());
  const Json& details = card["model_details"];
  EXPECT_EQ(details["name"], "credit-default");
  EXPECT_THAT(details["overview"].get<std::string>(), HasSubstr("Probability of default"));
  EXPECT_EQ(details["owners"][0]["name"], "ana.lopez");
  EXPECT_EQ(details["owners"][0]["contact"], "ana.lopez@bank.example");
  EXPECT_EQ(details["version"]["name"], "3");
  EXPECT_EQ(details["version"]["date"], "2026-11-20T09:14:00Z");
  EXPECT_EQ(details["regulatory_requirements"], "SR 11-7, ECOA");
  EXPECT_THAT(details["path"].get<std::string>(), HasSubstr("sha256:"));
  for (const char* key : {"documentation", "licenses", "references", "citations"}) {
    EXPECT_TRUE(details.contains(key)) << key;
  }

  const Json& params = card["model_parameters"];
  EXPECT_EQ(params["model_architecture"], "xgboost (binary_classification)");
  ASSERT_EQ(params["data"].size(), 2u);
  EXPECT_EQ(params["data"][0]["name"], "loans@ab12cd34");
  EXPECT_EQ(params["data"][0]["link"], "sha256:ab12cd34ef56");
  EXPECT_THAT(params["data"][0]["sensitive"]["sensitive_data"], ElementsAre("addr_state"));
  EXPECT_THAT(params["input_format"].get<std::string>(), HasSubstr("int_rate"));
  EXPECT_THAT(params["input_format"].get<std::string>(),
              HasSubstr("monotone: int_rate increasing"));
  EXPECT_THAT(params["output_format"].get<std::string>(), HasSubstr("probability"));

  const Json& metrics = card["quantitative_analysis"]["performance_metrics"];
  EXPECT_THAT(metrics, Contains(Json{{"type", "test_auc"}, {"value", 0.712}, {"slice", ""}}));
  EXPECT_THAT(
      metrics,
      Contains(Json{{"type", "disparate_impact"}, {"value", 0.86}, {"slice", "addr_state=TX"}}));
  EXPECT_THAT(metrics, Contains(Json{{"type", "statistical_parity_difference"},
                                     {"value", -0.04},
                                     {"slice", "addr_state=CA"}}));
  const Json& graphics = card["quantitative_analysis"]["graphics"]["collection"];
  ASSERT_EQ(graphics.size(), 3u);
  EXPECT_EQ(graphics[0]["name"], "ROC curve");
  EXPECT_THAT(graphics[0]["image"].get<std::string>(), HasSubstr("data:image/svg+xml;base64,"));

  const Json& cons = card["considerations"];
  EXPECT_EQ(cons["use_cases"].size(), 2u);
  EXPECT_EQ(cons["users"][0]["description"], "Retail credit underwriters");
  EXPECT_EQ(cons["limitations"].size(), 2u);
  EXPECT_EQ(cons["tradeoffs"].size(), 1u);
  ASSERT_EQ(cons["ethical_considerations"].size(), 1u);
  EXPECT_THAT(cons["ethical_considerations"][0]["name"].get<std::string>(),
              HasSubstr("addr_state"));
  EXPECT_THAT(cons["ethical_considerations"][0]["mitigation_strategy"].get<std::string>(),
              HasSubstr("Not a model input"));
  EXPECT_THAT(MissingCardFields(card), IsEmpty());
}

TEST(ModelCardTest, MissingFieldsOfASparseCard) {
  const Json evidence = {{"model", {{"name", "thin"}, {"version", 1}, {"kind", "logistic"}}},
                         {"protected", {"age"}}};
  EXPECT_THAT(
      MissingCardFields(BuildModelCard(evidence)),
      ElementsAre("model_details.overview", "model_details.owners", "model_parameters.data[0].name",
                  "quantitative_analysis.performance_metrics", "considerations.use_cases",
                  "considerations.limitations", "considerations.ethical_considerations"));
  EXPECT_THAT(MissingCardFields(BuildModelCard(Json::object())),
              ElementsAre("model_details.name", "model_details.overview", "model_details.owners",
                          "model_details.version.name", "model_parameters.model_architecture",
                          "model_parameters.data", "quantitative_analysis.performance_metrics",
                          "considerations.use_cases", "considerations.limitations"));
  // A declared consideration without a mitigation is named precisely.
  Json card = BuildModelCard(Evidence());
  card["considerations"]["ethical_considerations"] = {{{"name", "proxy for age"}}};
  EXPECT_THAT(MissingCardFields(card),
              ElementsAre("considerations.ethical_considerations[0].mitigation_strategy"));
}

TEST(ModelCardTest, MarkdownHasTheSections) {
  StatusOr<std::string> md = RenderCardMarkdown(BuildModelCard(Evidence()));
  ASSERT_TRUE(md.ok()) << md.status();
  for (const char* section :
       {"# Model card: credit-default", "## Model details", "## Model parameters",
        "## Intended use", "## Limitations", "## Performance", "## Fairness",
        "## Ethical considerations", "## Completeness"}) {
    EXPECT_THAT("\n" + *md, HasSubstr(std::string("\n") + section + "\n")) << section;
  }
  EXPECT_THAT(*md, HasSubstr("| test_auc | 0.712 |"));
  EXPECT_THAT(*md, HasSubstr("| addr_state=TX | disparate_impact | 0.86 |"));
  EXPECT_THAT(*md, HasSubstr("- Retail credit underwriters"));
  EXPECT_THAT(*md, HasSubstr("All required fields are recorded."));
  EXPECT_THAT(*md, Not(HasSubstr("&#")));  // no HTML escaping leaked into Markdown
}

TEST(ModelCardTest, MarkdownEscapesUserText) {
  Json evidence = Evidence();
  evidence["lineage"]["datasets"][0]["name"] = "loans|2024\nQ1 <b>";
  evidence["model"]["description"] = "a *bold* claim & more";
  StatusOr<std::string> md = RenderCardMarkdown(BuildModelCard(evidence));
  ASSERT_TRUE(md.ok()) << md.status();
  EXPECT_THAT(*md, HasSubstr("| loans\\|2024<br>Q1 &lt;b&gt;@ab12cd34 |"));
  EXPECT_THAT(*md, HasSubstr("a \\*bold\\* claim &amp; more"));
}

TEST(ModelCardTest, HtmlIsBalancedAndEscaped) {
  Json evidence = Evidence();
  evidence["model"]["description"] = "Scores <script>alert(1)</script> applicants";
  StatusOr<std::string> html = RenderCardHtml(BuildModelCard(evidence));
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, Not(HasSubstr("<script>")));
  EXPECT_THAT(*html, HasSubstr("Scores &lt;script&gt;alert(1)&lt;/script&gt; applicants"));
  for (const char* tag : {"html", "body", "section", "table", "tr", "ul", "li", "h2", "figure"}) {
    ExpectBalanced(*html, tag);
  }
  for (const char* id : {"model-details", "model-parameters", "intended-use", "limitations",
                         "performance", "fairness", "ethical-considerations", "completeness"}) {
    EXPECT_THAT(*html, HasSubstr(std::string("<h2 id=\"") + id + "\">")) << id;
  }
  EXPECT_EQ(Count(*html, "<img src=\"data:image/svg+xml;base64,"), 3u);
  EXPECT_THAT(*html, HasSubstr("<td>addr_state=CA</td>"));
}

TEST(ModelCardTest, HtmlTrustsOnlyImageDataUris) {
  Json card = BuildModelCard(Evidence());
  card["quantitative_analysis"]["graphics"]["collection"] = {
      {{"name", "raw"}, {"image", "<svg onload=\"alert(1)\"></svg>"}},
      {{"name", "link"}, {"image", "javascript:alert(1)"}}};
  StatusOr<std::string> html = RenderCardHtml(card);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, Not(HasSubstr("onload")));
  EXPECT_THAT(*html, Not(HasSubstr("javascript:")));
}

TEST(ModelCardTest, EmptyCardRendersNotRecorded) {
  for (const Json& card : {BuildModelCard(Json::object()), Json::object(), Json(nullptr)}) {
    StatusOr<std::string> md = RenderCardMarkdown(card);
    StatusOr<std::string> html = RenderCardHtml(card);
    ASSERT_TRUE(md.ok()) << md.status();
    ASSERT_TRUE(html.ok()) << html.status();
    EXPECT_THAT(*md, HasSubstr("# Model card: not recorded"));
    EXPECT_THAT(*md, HasSubstr("- model_details.name"));
    EXPECT_THAT(*html, HasSubstr("not recorded"));
    ExpectBalanced(*html, "section");
  }
}

// --- Validation report --------------------------------------------------------------------------

TEST(ValidationReportTest, HasEverySectionAndThePlots) {
  StatusOr<std::string> html = RenderValidationReport(Evidence());
  ASSERT_TRUE(html.ok()) << html.status();
  ASSERT_EQ(ValidationReportSectionIds().size(), 10u);
  for (const std::string& id : ValidationReportSectionIds()) {
    EXPECT_EQ(Count(*html, "<h2 id=\"" + id + "\">"), 1u) << id;
  }
  EXPECT_THAT(*html, HasSubstr("<title>ROC curve</title>"));
  EXPECT_THAT(*html, HasSubstr("<title>Calibration by decile</title>"));
  EXPECT_THAT(*html, HasSubstr("<title>Score distribution by class</title>"));
  EXPECT_THAT(*html, HasSubstr("Disparate impact by addr_state"));
  EXPECT_THAT(*html, HasSubstr("Global importance"));
  EXPECT_THAT(*html, HasSubstr("Partial dependence on int_rate"));
  EXPECT_THAT(*html, HasSubstr("<td class=\"PASS\">PASS</td><td>min_auc</td>"));
  EXPECT_THAT(*html, HasSubstr("<td class=\"WARN\">WARN</td><td>fairness_di</td>"));
  EXPECT_THAT(*html, HasSubstr("disparate impact 0.86 &lt; 0.9 target"));
  EXPECT_THAT(*html, HasSubstr("val.chen"));
  EXPECT_THAT(*html, HasSubstr("req-0019"));
  EXPECT_THAT(*html, HasSubstr("the version was registered from a run"));
  // The lineage diagram is inlined as Graphviz SVG with the nodes' labels.
  EXPECT_THAT(*html, HasSubstr("class=\"graph\""));
  EXPECT_THAT(*html, HasSubstr("training set ts&#45;19"));
  EXPECT_THAT(*html, Not(HasSubstr("<?xml")));
  for (const char* tag : {"html", "body", "section", "table", "svg"}) ExpectBalanced(*html, tag);
}

TEST(ValidationReportTest, FailedBlockingRuleIsFail) {
  Json evidence = Evidence();
  evidence["policy_results"][0]["rules"][0]["passed"] = false;
  evidence["policy_results"].push_back(
      {{"policy", "text-status"}, {"rules", {{{"rule", "r1"}, {"status", "fail"}}}}});
  StatusOr<std::string> html = RenderValidationReport(evidence);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("<td class=\"FAIL\">FAIL</td><td>min_auc</td>"));
  EXPECT_THAT(*html, HasSubstr("<td class=\"FAIL\">FAIL</td><td>r1</td>"));
}

TEST(ValidationReportTest, EmptyEvidenceRendersNotRecorded) {
  Json all_null = Json::object();
  for (const char* key : {"model", "metrics", "features", "protected", "data_validation",
                          "fairness", "explanations", "evaluation", "approvals", "scan", "card",
                          "lineage", "policy_results", "stage_history", "deployments"}) {
    all_null[key] = nullptr;
  }
  for (const Json& evidence : {Json::object(), all_null, Json(nullptr), Json::array()}) {
    StatusOr<std::string> html = RenderValidationReport(evidence);
    ASSERT_TRUE(html.ok()) << html.status();
    for (const std::string& id : ValidationReportSectionIds()) {
      EXPECT_THAT(*html, HasSubstr("<h2 id=\"" + id + "\">"));
    }
    EXPECT_GE(Count(*html, "not recorded"), 10u);
    ExpectBalanced(*html, "section");
  }
}

TEST(ValidationReportTest, WrongTypesAreNotRecorded) {
  const Json evidence = {{"model", "oops"},
                         {"metrics", {1, 2}},
                         {"fairness", {{"attributes", {{"addr_state", 3}}}}},
                         {"policy_results", {7, {{"rules", "x"}}}},
                         {"evaluation", {{"test", {{"metrics", {{"roc", 1}}}}}}},
                         {"lineage", {{"graph", {{"nodes", {1, {{"id", 2}}}}, {"edges", 5}}}}}};
  StatusOr<std::string> html = RenderValidationReport(evidence);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("not recorded"));
}

// --- Lineage ------------------------------------------------------------------------------------

TEST(LineageTest, DotIsDeterministicAndHasEveryNode) {
  const Json graph = LineageGraph(Evidence());
  const std::string dot = LineageDot(graph);
  Json shuffled = graph;
  std::mt19937 rng(7);
  std::shuffle(shuffled["nodes"].begin(), shuffled["nodes"].end(), rng);
  std::shuffle(shuffled["edges"].begin(), shuffled["edges"].end(), rng);
  EXPECT_EQ(LineageDot(shuffled), dot);
  EXPECT_THAT(dot, HasSubstr("rankdir=LR"));
  for (const char* id : {"dataset/loans@ab12cd34", "validation/loans@ab12cd34",
                         "feature_definition/credit-features", "training_set/ts-19", "run/run-7f3a",
                         "version/credit-default@3", "deployment/credit-default@3/staging"}) {
    EXPECT_THAT(dot, HasSubstr(std::string("\"") + id + "\" [label=")) << id;
  }
  EXPECT_THAT(dot, HasSubstr("shape=cylinder"));
  EXPECT_THAT(dot, HasSubstr("shape=doubleoctagon"));
  EXPECT_THAT(dot, HasSubstr("\"version/credit-default@3\" -> "
                             "\"deployment/credit-default@3/staging\" [label=\"deployed\"]"));
}

TEST(LineageTest, JsonIsNormalized) {
  const Json graph = {
      {"nodes",
       {{{"id", "b"}, {"kind", "run"}},
        {{"id", "a"}, {"label", "A"}},
        {{"id", "b"}, {"kind", "dataset"}}}},
      {"edges",
       {{{"from", "a"}, {"to", "c"}}, {{"from", "a"}, {"to", "b"}}, {{"from", "a"}, {"to", "b"}}}}};
  EXPECT_EQ(LineageJson(graph), (Json{{"nodes",
                                       {{{"id", "a"}, {"kind", "other"}, {"label", "A"}},
                                        {{"id", "b"}, {"kind", "run"}, {"label", "b"}},
                                        {{"id", "c"}, {"kind", "other"}, {"label", "c"}}}},
                                      {"edges",
                                       {{{"from", "a"}, {"to", "b"}, {"label", ""}},
                                        {{"from", "a"}, {"to", "c"}, {"label", ""}}}}}));
}

TEST(LineageTest, GraphFromTheLineageSummaryWhenNoneRecorded) {
  Json evidence = Evidence();
  evidence["lineage"].erase("graph");
  const Json graph = LineageJson(LineageGraph(evidence));
  std::vector<std::string> ids;
  for (const Json& n : graph["nodes"]) ids.push_back(n["id"]);
  EXPECT_THAT(ids, ElementsAre("dataset/bureau@77e1aa02", "dataset/loans@ab12cd34",
                               "deployment/credit-default@3/staging", "environment/sha256:e0e0aa11",
                               "feature_definition/credit-features", "pipeline/credit-risk",
                               "run/run-7f3a", "version/credit-default@3"));
  EXPECT_THAT(graph["edges"], Contains(Json{{"from", "run/run-7f3a"},
                                            {"to", "version/credit-default@3"},
                                            {"label", "produced"}}));
}

TEST(LineageTest, DotToSvgDrawsTheLabels) {
  StatusOr<std::string> svg = DotToSvg(LineageDot(LineageGraph(Evidence())));
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_EQ(svg->rfind("<svg", 0), 0u);
  EXPECT_THAT(*svg, HasSubstr("</svg>"));
  EXPECT_THAT(*svg, HasSubstr("loans@ab12cd34"));
  EXPECT_THAT(*svg, HasSubstr("credit&#45;default@3"));
  EXPECT_THAT(*svg, HasSubstr("staging"));
}

TEST(LineageTest, BadDotIsAnErrorAndTheNextCallWorks) {
  for (const char* bad : {"digraph { a -> ; }", "not dot at all {{{", "", "graph { a -- }"}) {
    StatusOr<std::string> svg = DotToSvg(bad);
    ASSERT_FALSE(svg.ok()) << bad;
    EXPECT_EQ(svg.status().code(), absl::StatusCode::kInvalidArgument) << svg.status();
  }
  StatusOr<std::string> svg = DotToSvg("digraph { \"x y\" -> z }");
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(*svg, HasSubstr("x y"));
}

TEST(LineageTest, LabelsWithQuotesAndBackslashesStayText) {
  const Json graph = {{"nodes", {{{"id", "d"}, {"kind", "dataset"}, {"label", "a\"b\\N<c>"}}}},
                      {"edges", Json::array()}};
  StatusOr<std::string> svg = DotToSvg(LineageDot(graph));
  ASSERT_TRUE(svg.ok()) << svg.status();
  EXPECT_THAT(*svg, HasSubstr("a&quot;b\\N&lt;c&gt;"));
}

// --- Inventory ----------------------------------------------------------------------------------

Json Rows() {
  return Json::array({{{"project", "retail-credit"},
                       {"name", "credit-default"},
                       {"version", 3},
                       {"stage", "staging"},
                       {"risk_tier", 1},
                       {"owner", "Lopez, Ana \"AL\""},
                       {"last_validation", "2026-11-22T15:30:00Z"},
                       {"open_findings", 2},
                       {"aliases", {"challenger", "q4"}},
                       {"kind", "xgboost"}},
                      {{"project", "cards"},
                       {"name", "<b>limit</b>"},
                       {"version", 1},
                       {"stage", "none"},
                       {"risk_tier", 2},
                       {"owner", "=HYPERLINK(\"x\")"},
                       {"last_validation", nullptr},
                       {"open_findings", 0},
                       {"aliases", Json::array()},
                       {"kind", "scorecard"}}});
}

TEST(InventoryTest, CsvQuotesPerRfc4180) {
  EXPECT_EQ(InventoryCsv(Rows()),
            "project,name,version,stage,risk_tier,owner,last_validation,open_findings,aliases,"
            "kind\r\n"
            "retail-credit,credit-default,3,staging,1,\"Lopez, Ana \"\"AL\"\"\","
            "2026-11-22T15:30:00Z,2,challenger;q4,xgboost\r\n"
            "cards,<b>limit</b>,1,none,2,\"'=HYPERLINK(\"\"x\"\")\",,0,,scorecard\r\n");
  EXPECT_EQ(InventoryCsv(Json::array()),
            "project,name,version,stage,risk_tier,owner,last_validation,open_findings,aliases,"
            "kind\r\n");
}

TEST(InventoryTest, HtmlEscapes) {
  StatusOr<std::string> html = InventoryHtml(Rows());
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, Not(HasSubstr("<b>limit")));
  EXPECT_THAT(*html, HasSubstr("&lt;b&gt;limit&lt;/b&gt;"));
  EXPECT_THAT(*html, HasSubstr("Lopez, Ana &quot;AL&quot;"));
  EXPECT_THAT(*html, HasSubstr("<td class=\"FAIL num\">2</td>"));
  EXPECT_THAT(*html, HasSubstr("<th>open_findings</th>"));
  EXPECT_THAT(*html, HasSubstr("2 model versions"));
  ExpectBalanced(*html, "tr");
  ExpectBalanced(*html, "table");
}

TEST(InventoryTest, RowFromEvidence) {
  Json evidence = Evidence();
  // One failed blocking rule in the latest decision of the policy; an earlier decision's
  // failures are settled.
  evidence["policy_results"].push_back(
      {{"policy", "promotion-tier1"},
       {"at", "2026-11-24T10:00:00Z"},
       {"rules",
        {{{"id", "min_auc"}, {"severity", "blocking"}, {"passed", false}},
         {{"id", "fairness_di"}, {"severity", "warning"}, {"passed", false}}}}});
  evidence["policy_results"].insert(
      evidence["policy_results"].begin(),
      {{"policy", "promotion-tier1"},
       {"at", "2026-11-01T10:00:00Z"},
       {"rules", {{{"id", "a"}, {"passed", false}}, {{"id", "b"}, {"passed", false}}}}});
  const Json row = InventoryRow(evidence);
  EXPECT_EQ(row["project"], "retail-credit");
  EXPECT_EQ(row["name"], "credit-default");
  EXPECT_EQ(row["version"], 3);
  EXPECT_EQ(row["stage"], "staging");
  EXPECT_EQ(row["risk_tier"], 1);
  EXPECT_EQ(row["owner"], "ana.lopez");
  EXPECT_EQ(row["last_validation"], "2026-11-22T15:30:00Z");
  EXPECT_EQ(row["open_findings"], 2);  // min_auc + one open approval request
  EXPECT_EQ(row["aliases"], Json({"challenger"}));
  EXPECT_EQ(row["kind"], "xgboost");

  const Json empty = InventoryRow(Json::object());
  EXPECT_TRUE(empty["last_validation"].is_null());
  EXPECT_EQ(empty["open_findings"], 0);
  EXPECT_THAT(InventoryCsv(Json::array({empty})), HasSubstr("\r\n,,,,,,,0,,\r\n"));
}

}  // namespace
}  // namespace plinth::report
