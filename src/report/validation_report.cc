// The validation report: one self-contained HTML page (inline CSS, inline SVG) over a model
// version's evidence, one <section> per kind of evidence, its <h2> with a fixed id.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/html.h"
#include "report/common.h"
#include "report/report.h"
#include "train/evaluation.h"

namespace plinth::report {
namespace {

std::string Esc(std::string_view text) { return HtmlEscape(text); }

std::string Missing(std::string_view what = kNotRecorded) {
  return "<p class=\"missing\">" + Esc(what) + "</p>\n";
}

// A cell's text: the value, or "not recorded" in grey.
std::string Cell(const Json& value) {
  std::string text = value.is_number_float() ? FormatNumber(value.get<double>()) : Text(value);
  if (value.is_array()) text = absl::StrJoin(TextList(value), ", ");
  if (text.empty()) return "<span class=\"missing\">not recorded</span>";
  return Esc(text);
}

std::string Row(std::string_view name, const std::string& html) {
  return absl::StrCat("<tr><th>", Esc(name), "</th><td>", html, "</td></tr>\n");
}

std::string Yes(const Json& flag, const char* yes, const char* no) {
  if (!flag.is_boolean()) return "<span class=\"missing\">not recorded</span>";
  return flag.get<bool>() ? absl::StrCat("<span class=\"PASS\">", yes, "</span>")
                          : absl::StrCat("<span class=\"FAIL\">", no, "</span>");
}

const Json& EvaluationMetrics(const Json& evaluation) {
  const Json& nested = Member(evaluation, "metrics");
  return nested.is_object() ? nested : evaluation;
}

// --- Charts -------------------------------------------------------------------------------------

struct Bar {
  std::string label;
  double value = 0;
  double second = std::nan("");  // a second bar (e.g. the reference share), NaN if none
};

// Horizontal bars, one row per entry (two bars when `second` is set), with dashed marks at
// `marks` (e.g. the four-fifths rule's 0.8).
std::string BarChart(const std::string& title, const std::vector<Bar>& bars,
                     const std::vector<double>& marks = {}, const char* colour = "#3e7cb1",
                     const char* second_colour = "#9aa5b1") {
  double scale = 0;
  for (const Bar& b : bars) {
    if (std::isfinite(b.value)) scale = std::max(scale, std::fabs(b.value));
    if (std::isfinite(b.second)) scale = std::max(scale, std::fabs(b.second));
  }
  for (double m : marks) scale = std::max(scale, m);
  if (scale <= 0) scale = 1;
  scale *= 1.1;
  const int label_w = 200, bar_w = 380, row_h = 24, top = 24;
  const int height = top + row_h * static_cast<int>(bars.size()) + 8;
  std::string svg = absl::StrCat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", label_w + bar_w + 80, "\" height=\"",
      height, "\" role=\"img\" font-family=\"system-ui,sans-serif\" font-size=\"11\"><title>",
      Esc(title), "</title><text x=\"0\" y=\"14\" font-weight=\"bold\">", Esc(title), "</text>\n");
  int y = top;
  for (const Bar& b : bars) {
    const bool two = std::isfinite(b.second);
    const int h = two ? (row_h - 6) / 2 : row_h - 6;
    absl::StrAppend(&svg, "<text x=\"0\" y=\"", y + 15, "\">", Esc(b.label), "</text>");
    auto bar = [&](double v, int bar_y, const char* fill) {
      const int w = std::isfinite(v) ? static_cast<int>(bar_w * std::fabs(v) / scale) : 0;
      absl::StrAppend(&svg, "<rect x=\"", label_w, "\" y=\"", bar_y, "\" width=\"", std::max(w, 1),
                      "\" height=\"", h, "\" fill=\"", fill, "\"><title>", Esc(b.label), " ",
                      FormatNumber(v), "</title></rect>");
    };
    bar(b.value, y + 3, colour);
    if (two) bar(b.second, y + 3 + h, second_colour);
    absl::StrAppend(&svg, "<text x=\"", label_w + bar_w + 6, "\" y=\"", y + 15, "\">",
                    FormatNumber(b.value), "</text>\n");
    y += row_h;
  }
  for (double m : marks) {
    const int x = label_w + static_cast<int>(bar_w * m / scale);
    absl::StrAppend(&svg, "<line x1=\"", x, "\" x2=\"", x, "\" y1=\"", top, "\" y2=\"", y,
                    "\" stroke=\"#b71c1c\" stroke-dasharray=\"4,3\"><title>", FormatNumber(m),
                    "</title></line>\n");
  }
  return svg + "</svg>\n";
}

// A line plot of y over x (partial dependence), axes from the data's range.
std::string LinePlot(const std::string& title, const std::vector<double>& x,
                     const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return "";
  double x0 = x[0], x1 = x[0], y0 = y[0], y1 = y[0];
  for (size_t i = 0; i < n; ++i) {
    x0 = std::min(x0, x[i]), x1 = std::max(x1, x[i]);
    y0 = std::min(y0, y[i]), y1 = std::max(y1, y[i]);
  }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double left = 50, top = 24, w = 300, h = 160;
  auto px = [&](double v) { return FormatNumber(left + w * (v - x0) / (x1 - x0), "%.1f"); };
  auto py = [&](double v) { return FormatNumber(top + h - h * (v - y0) / (y1 - y0), "%.1f"); };
  std::string points;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&points, px(x[i]), ",", py(y[i]), " ");
  return absl::StrCat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"380\" height=\"220\" role=\"img\" "
      "font-family=\"system-ui,sans-serif\" font-size=\"11\"><title>",
      Esc(title), "</title><text x=\"0\" y=\"14\" font-weight=\"bold\">", Esc(title),
      "</text><rect x=\"50\" y=\"24\" width=\"300\" height=\"160\" fill=\"none\" "
      "stroke=\"#cbd2d9\"/><polyline fill=\"none\" stroke=\"#3e7cb1\" stroke-width=\"2\" "
      "points=\"",
      points, "\"/><text x=\"50\" y=\"200\">", FormatNumber(x0),
      "</text><text x=\"350\" y=\"200\" ", "text-anchor=\"end\">", FormatNumber(x1),
      "</text><text x=\"45\" y=\"184\" ", "text-anchor=\"end\">", FormatNumber(y0),
      "</text><text x=\"45\" y=\"32\" ", "text-anchor=\"end\">", FormatNumber(y1),
      "</text></svg>\n");
}

std::vector<double> Numbers(const Json& value) {
  std::vector<double> out;
  if (value.is_array()) {
    for (const Json& v : value) out.push_back(Number(v));
  }
  return out;
}

// --- Policy outcomes ----------------------------------------------------------------------------

// PASS, FAIL or WARN for one rule result: its status text when it has one, else `passed` with
// its severity (a failed non-blocking rule warns).
std::string RuleStatus(const Json& rule) {
  for (const char* key : {"status", "outcome", "result"}) {
    std::string s = absl::AsciiStrToLower(Text(Member(rule, key)));
    if (s == "pass" || s == "passed" || s == "ok" || s == "allow") return "PASS";
    if (s == "fail" || s == "failed" || s == "deny" || s == "error") return "FAIL";
    if (s == "warn" || s == "warning") return "WARN";
  }
  const Json& passed = Member(rule, "passed");
  if (passed.is_boolean()) {
    if (passed.get<bool>()) return "PASS";
    if (Member(rule, "blocking").is_boolean()) {
      return Member(rule, "blocking").get<bool>() ? "FAIL" : "WARN";
    }
    std::string severity = absl::AsciiStrToLower(Text(Member(rule, "severity")));
    return severity.empty() || severity == "blocking" || severity == "error" ? "FAIL" : "WARN";
  }
  return "";
}

const Json& RuleList(const Json& decision) {
  for (const char* key : {"rules", "results", "checks"}) {
    if (Member(decision, key).is_array()) return Member(decision, key);
  }
  return Member(decision, "rules");
}

std::string FirstText(const Json& obj, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (std::string t = Text(Member(obj, key)); !t.empty()) return t;
  }
  return "";
}

// --- Sections -----------------------------------------------------------------------------------

std::string Open(const char* id, const char* title) {
  return absl::StrCat("<section>\n<h2 id=\"", id, "\">", title, "</h2>\n");
}
constexpr char kClose[] = "</section>\n";

std::string Summary(const Json& evidence) {
  const Json& model = Member(evidence, "model");
  std::string html = Open("summary", "Summary");
  if (!model.is_object()) html += Missing("model: not recorded");
  html += "<table>\n";
  html += Row("Project", Cell(Member(model, "project")));
  html += Row("Model", Cell(Member(model, "name")));
  html += Row("Version", Cell(Member(model, "version")));
  html += Row("Digest", "<code>" + Cell(Member(model, "digest")) + "</code>");
  html += Row("Kind", Cell(Member(model, "kind")));
  html += Row("Task", Cell(Member(model, "task")));
  html += Row("Stage", Cell(Member(model, "stage")));
  html += Row("Aliases", Cell(Member(model, "aliases")));
  html += Row("Risk tier", Cell(Member(model, "risk_tier")));
  html += Row("Owner", Cell(Member(model, "owner")));
  html += Row("Regulatory scope", Cell(Member(model, "regulatory_scope")));
  html += Row("Description", Cell(Member(model, "description")));
  html += Row("Intended use", Cell(Member(model, "intended_use")));
  html += Row("Limitations", Cell(Member(model, "limitations")));
  html += Row("Registered",
              Cell(Member(model, "registered_at")) + " by " + Cell(Member(model, "registered_by")));
  html += Row("Source", Cell(Member(model, "source")) + " " + Cell(Member(model, "run_id")));
  const Json& card = Member(evidence, "card");
  std::string card_html = Yes(Member(card, "complete"), "complete", "incomplete");
  if (std::vector<std::string> missing = TextList(Member(card, "missing")); !missing.empty()) {
    card_html += " (missing: " + Esc(absl::StrJoin(missing, ", ")) + ")";
  }
  html += Row("Model card", card_html);
  html += Row("Data validation", Yes(At(evidence, "data_validation.passed"), "passed", "failed"));
  html += Row("Import scan", Yes(At(evidence, "scan.clean"), "clean", "findings"));
  html += Row("Validated", Yes(At(evidence, "approvals.validated"), "yes", "no"));
  html += Row("Approved", Yes(At(evidence, "approvals.approved"), "yes", "no"));
  return html + "</table>\n" + kClose;
}

std::string DataValidation(const Json& evidence) {
  const Json& validation = Member(evidence, "data_validation");
  std::string html = Open("data-validation", "Data validation");
  if (!validation.is_object()) return html + Missing() + kClose;
  html += "<p>Overall: " + Yes(Member(validation, "passed"), "PASSED", "FAILED") + "</p>\n";
  const Json& results = Member(validation, "results");
  if (!results.is_array() || results.empty())
    return html + Missing("results: not recorded") + kClose;
  html +=
      "<table>\n<tr><th>status</th><th>data set</th><th>suite</th>"
      "<th>failed expectations</th></tr>\n";
  for (const Json& r : results) {
    const Json& passed = Member(r, "passed");
    std::string status = passed.is_boolean() ? (passed.get<bool>() ? "PASS" : "FAIL") : "";
    absl::StrAppend(&html, "<tr><td class=\"", status, "\">", Cell(status), "</td><td>",
                    Cell(Member(r, "dataset")), "</td><td>", Cell(Member(r, "suite")),
                    "</td><td class=\"num\">", Cell(Member(r, "failed_expectations")),
                    "</td></tr>\n");
  }
  return html + "</table>\n" + kClose;
}

std::string Performance(const Json& evidence) {
  std::string html = Open("performance", "Performance");
  const Json& metrics = Member(evidence, "metrics");
  if (metrics.is_object() && !metrics.empty()) {
    html += "<table>\n<tr><th>metric</th><th>value</th></tr>\n";
    for (const auto& [name, value] : metrics.items()) {
      absl::StrAppend(&html, "<tr><td>", Esc(name), "</td><td class=\"num\">", Cell(value),
                      "</td></tr>\n");
    }
    html += "</table>\n";
  } else {
    html += Missing("metrics: not recorded");
  }
  const Json& test = EvaluationMetrics(At(evidence, "evaluation.test"));
  const std::string plots = RocCurveSvg(test) + CalibrationSvg(test) + ScoreHistogramSvg(test);
  if (plots.empty()) {
    html += Missing("test evaluation plots: not recorded");
  } else {
    html += "<h3>Test set</h3>\n<div class=\"plots\">" + plots + "</div>\n";
  }
  if (const Json& c = Member(test, "confusion"); c.is_object()) {
    absl::StrAppend(
        &html, "<h3>Confusion matrix at threshold ", Cell(Member(test, "threshold")),
        "</h3>\n<table><tr><th></th><th>predicted positive</th>"
        "<th>predicted negative</th></tr><tr><th>actual positive</th><td class=\"num\">",
        Cell(Member(c, "true_positives")), "</td><td class=\"num\">",
        Cell(Member(c, "false_negatives")),
        "</td></tr><tr><th>actual negative</th><td class=\"num\">",
        Cell(Member(c, "false_positives")), "</td><td class=\"num\">",
        Cell(Member(c, "true_negatives")), "</td></tr></table>\n");
  }
  return html + kClose;
}

std::string Stability(const Json& evidence) {
  std::string html = Open("stability", "Stability");
  html +=
      "<p>Population stability index of the scores: under 0.1 stable, 0.1&ndash;0.25 worth a "
      "look, above 0.25 a shift.</p>\n";
  bool any = false;
  const Json& metrics = Member(evidence, "metrics");
  if (metrics.is_object()) {
    std::string rows;
    for (const auto& [name, value] : metrics.items()) {
      if (name.find("psi") == std::string::npos) continue;
      absl::StrAppend(&rows, "<tr><td>", Esc(name), "</td><td class=\"num\">", Cell(value),
                      "</td></tr>\n");
    }
    if (!rows.empty()) {
      any = true;
      html += "<table>\n<tr><th>metric</th><th>PSI</th></tr>\n" + rows + "</table>\n";
    }
  }
  const Json& psi = At(evidence, "evaluation.test.psi");
  if (const Json& bins = Member(psi, "bins"); bins.is_array() && !bins.empty()) {
    any = true;
    std::vector<Bar> bars;
    html +=
        "<table>\n<tr><th>bin</th><th>lower</th><th>upper</th><th>reference share</th>"
        "<th>current share</th></tr>\n";
    int i = 0;
    for (const Json& b : bins) {
      ++i;
      const Json& lower = Member(b, "lower");
      const Json& upper = Member(b, "upper");
      absl::StrAppend(&html, "<tr><td>", i, "</td><td class=\"num\">",
                      lower.is_null() ? "&minus;&infin;" : Cell(lower), "</td><td class=\"num\">",
                      upper.is_null() ? "&infin;" : Cell(upper), "</td><td class=\"num\">",
                      Cell(Member(b, "reference")), "</td><td class=\"num\">",
                      Cell(Member(b, "current")), "</td></tr>\n");
      bars.push_back({"bin " + std::to_string(i), Number(Member(b, "current")),
                      Number(Member(b, "reference"))});
    }
    html += "</table>\n<div class=\"plots\">" +
            BarChart("Score share per bin: current (blue) against reference (grey), PSI " +
                         FormatNumber(Number(Member(psi, "psi"))),
                     bars) +
            "</div>\n";
  }
  if (!any) html += Missing();
  return html + kClose;
}

std::string Fairness(const Json& evidence) {
  std::string html = Open("fairness", "Fairness");
  const std::vector<std::string> protected_attributes = TextList(Member(evidence, "protected"));
  html += "<p>Protected attributes: " +
          (protected_attributes.empty() ? std::string("<span class=\"missing\">not recorded</span>")
                                        : Esc(absl::StrJoin(protected_attributes, ", "))) +
          "</p>\n";
  const Json& attributes = At(evidence, "fairness.attributes");
  if (!attributes.is_object() || attributes.empty()) return html + Missing() + kClose;
  html += "<p>Minimum disparate impact: " + Cell(At(evidence, "fairness.disparate_impact_min")) +
          " (four-fifths rule: 0.8)</p>\n";
  for (const auto& [attribute, result] : attributes.items()) {
    absl::StrAppend(&html, "<h3>", Esc(attribute), "</h3>\n<p>Reference group ",
                    Cell(Member(result, "reference_group")), "; minimum disparate impact ",
                    Cell(Member(result, "disparate_impact_min")), "</p>\n");
    const Json& groups = Member(result, "groups");
    if (!groups.is_array() || groups.empty()) {
      html += Missing("groups: not recorded");
      continue;
    }
    html +=
        "<table>\n<tr><th>group</th><th>count</th><th>selection rate</th>"
        "<th>disparate impact</th><th>statistical parity difference</th>"
        "<th>equal opportunity difference</th><th>average odds difference</th>"
        "<th>AUC</th></tr>\n";
    std::vector<Bar> bars;
    for (const Json& g : groups) {
      const double di = Number(Member(g, "disparate_impact"));
      const char* cls = std::isfinite(di) && di < 0.8 ? " class=\"FAIL\"" : "";
      absl::StrAppend(&html, "<tr><td>", Cell(Member(g, "group")), "</td><td class=\"num\">",
                      Cell(Member(g, "count")), "</td><td class=\"num\">",
                      Cell(Member(g, "selection_rate")), "</td><td", cls, ">",
                      Cell(Member(g, "disparate_impact")), "</td><td class=\"num\">",
                      Cell(Member(g, "statistical_parity_difference")), "</td><td class=\"num\">",
                      Cell(Member(g, "equal_opportunity_difference")), "</td><td class=\"num\">",
                      Cell(Member(g, "average_odds_difference")), "</td><td class=\"num\">",
                      Cell(Member(g, "auc")), "</td></tr>\n");
      bars.push_back({attribute + "=" + Text(Member(g, "group")), di});
    }
    html += "</table>\n<div class=\"plots\">" +
            BarChart("Disparate impact by " + attribute + " (dashed: 0.8)", bars, {0.8}) +
            "</div>\n";
  }
  return html + kClose;
}

std::string Explanations(const Json& evidence) {
  std::string html = Open("explanations", "Explanations");
  const Json& ex = Member(evidence, "explanations");
  if (!ex.is_object()) return html + Missing() + kClose;
  html += "<table>\n";
  html += Row("Method", Cell(Member(ex, "method")));
  html += Row("Features used", Cell(Member(ex, "features_used")));
  html += Row("Additivity (max error)", Cell(Member(ex, "additivity_max_error")));
  html += "</table>\n";
  const Json& importance = Member(ex, "global_importance");
  if (importance.is_array() && !importance.empty()) {
    std::vector<Bar> bars;
    for (const Json& i : importance) {
      bars.push_back({Text(Member(i, "feature")), Number(Member(i, "importance"))});
    }
    html += "<div class=\"plots\">" + BarChart("Global importance", bars) + "</div>\n";
  } else {
    html += Missing("global importance: not recorded");
  }
  const Json& pdp = Member(ex, "partial_dependence");
  if (pdp.is_object() && !pdp.empty()) {
    html += "<h3>Partial dependence</h3>\n<div class=\"plots\">";
    for (const auto& [feature, curve] : pdp.items()) {
      html += LinePlot("Partial dependence on " + feature, Numbers(Member(curve, "grid")),
                       Numbers(Member(curve, "mean")));
    }
    html += "</div>\n";
  }
  return html + kClose;
}

std::string Policy(const Json& evidence) {
  std::string html = Open("policy", "Policy results");
  const Json& results = Member(evidence, "policy_results");
  if (!results.is_array() || results.empty()) return html + Missing() + kClose;
  for (const Json& decision : results) {
    std::string verdict = FirstText(decision, {"decision", "outcome", "result"});
    if (verdict.empty() && Member(decision, "allowed").is_boolean()) {
      verdict = Member(decision, "allowed").get<bool>() ? "allow" : "deny";
    }
    if (verdict.empty() && Member(decision, "passed").is_boolean()) {
      verdict = Member(decision, "passed").get<bool>() ? "passed" : "blocked";
    }
    absl::StrAppend(&html, "<h3>", Cell(FirstText(decision, {"policy", "name", "id"})), "</h3>\n",
                    "<p>Decision: <strong>", Cell(verdict), "</strong>; stage ",
                    Cell(FirstText(decision, {"gate", "stage", "to"})), "; at ",
                    Cell(FirstText(decision, {"at", "time", "evaluated_at"})), "</p>\n");
    const Json& rules = RuleList(decision);
    if (!rules.is_array() || rules.empty()) {
      html += Missing("rules: not recorded");
      continue;
    }
    html += "<table>\n<tr><th>status</th><th>rule</th><th>severity</th><th>message</th></tr>\n";
    for (const Json& rule : rules) {
      const std::string status = RuleStatus(rule);
      absl::StrAppend(&html, "<tr><td class=\"", status, "\">", Cell(status), "</td><td>",
                      Cell(FirstText(rule, {"rule", "id", "name"})), "</td><td>",
                      Cell(Member(rule, "blocking").is_boolean()
                               ? Json(Member(rule, "blocking").get<bool>() ? "blocking" : "warning")
                               : Member(rule, "severity")),
                      "</td><td>", Cell(FirstText(rule, {"message", "reason", "description"})),
                      "</td></tr>\n");
    }
    html += "</table>\n";
  }
  return html + kClose;
}

std::string Lineage(const Json& evidence) {
  std::string html = Open("lineage", "Lineage");
  const Json& lineage = Member(evidence, "lineage");
  html += "<table>\n";
  html += Row("Run", Cell(Member(lineage, "run_id")));
  html += Row("Pipeline", Cell(Member(lineage, "pipeline")));
  html += Row("Pipeline spec", "<code>" + Cell(Member(lineage, "spec_digest")) + "</code>");
  html += Row("Environment", "<code>" + Cell(Member(lineage, "environment")) + "</code>");
  const Json& parameters = Member(lineage, "parameters");
  html += Row("Parameters", parameters.is_object() && !parameters.empty()
                                ? "<code>" + Esc(DumpJson(parameters)) + "</code>"
                                : Cell(nullptr));
  std::vector<std::string> datasets;
  if (const Json& list = Member(lineage, "datasets"); list.is_array()) {
    for (const Json& d : list) {
      datasets.push_back(Text(Member(d, "name")) + "@" + Text(Member(d, "version")) + " " +
                         Text(Member(d, "digest")));
    }
  }
  html += Row("Data sets", Cell(Json(datasets)));
  html += "</table>\n";
  const Json graph = LineageJson(LineageGraph(evidence));
  if (graph["nodes"].empty()) return html + Missing("lineage graph: not recorded") + kClose;
  StatusOr<std::string> svg = DotToSvg(LineageDot(graph));
  if (svg.ok()) {
    html += "<div class=\"plots\">" + *svg + "</div>\n";
  } else {
    // The report is still worth having without the picture; say why it is missing.
    html += Missing("lineage diagram could not be drawn: " + std::string(svg.status().message()));
  }
  return html + kClose;
}

std::string Approvals(const Json& evidence) {
  std::string html = Open("approvals", "Approvals and stage history");
  const Json& approvals = Member(evidence, "approvals");
  html += "<p>Validated: " + Yes(Member(approvals, "validated"), "yes", "no") +
          "; approved: " + Yes(Member(approvals, "approved"), "yes", "no") + "</p>\n";
  const Json& decisions = Member(approvals, "decisions");
  html += "<h3>Decisions</h3>\n";
  if (decisions.is_array() && !decisions.empty()) {
    html +=
        "<table>\n<tr><th>decision</th><th>actor</th><th>role</th><th>stage</th><th>at</th>"
        "<th>comment</th></tr>\n";
    for (const Json& d : decisions) {
      const std::string decision = Text(Member(d, "decision"));
      const char* cls = decision == "reject" ? "FAIL" : "PASS";
      absl::StrAppend(&html, "<tr><td class=\"", cls, "\">", Cell(decision), "</td><td>",
                      Cell(Member(d, "actor")), "</td><td>", Cell(Member(d, "role")), "</td><td>",
                      Cell(Member(d, "stage")), "</td><td>", Cell(Member(d, "at")), "</td><td>",
                      Cell(Member(d, "comment")), "</td></tr>\n");
    }
    html += "</table>\n";
  } else {
    html += Missing();
  }
  html += "<h3>Stage history</h3>\n";
  const Json& history = Member(evidence, "stage_history");
  if (history.is_array() && !history.empty()) {
    html += "<table>\n<tr><th>from</th><th>to</th><th>at</th><th>by</th><th>request</th></tr>\n";
    for (const Json& h : history) {
      absl::StrAppend(&html, "<tr><td>", Cell(Member(h, "from")), "</td><td>",
                      Cell(Member(h, "to")), "</td><td>", Cell(Member(h, "at")), "</td><td>",
                      Cell(Member(h, "by")), "</td><td>", Cell(Member(h, "request_id")),
                      "</td></tr>\n");
    }
    html += "</table>\n";
  } else {
    html += Missing();
  }
  html += "<h3>Deployments</h3>\n";
  const Json& deployments = Member(evidence, "deployments");
  if (deployments.is_array() && !deployments.empty()) {
    html += "<table>\n<tr><th>environment</th><th>at</th><th>by</th></tr>\n";
    for (const Json& d : deployments) {
      absl::StrAppend(&html, "<tr><td>", Cell(Member(d, "env")), "</td><td>", Cell(Member(d, "at")),
                      "</td><td>", Cell(Member(d, "by")), "</td></tr>\n");
    }
    html += "</table>\n";
  } else {
    html += Missing();
  }
  return html + kClose;
}

std::string Scan(const Json& evidence) {
  std::string html = Open("scan", "Import scan");
  const Json& scan = Member(evidence, "scan");
  if (!scan.is_object()) {
    // Versions registered from runs were built by the platform, so there is nothing to scan.
    if (Text(At(evidence, "model.source")) == "run") {
      return html + Missing("not recorded: the version was registered from a run") + kClose;
    }
    return html + Missing() + kClose;
  }
  html += "<p>Result: " + Yes(Member(scan, "clean"), "clean", "findings") + "</p>\n";
  const Json& files = Member(scan, "files");
  if (files.is_array() && !files.empty()) {
    html += "<table>\n<tr><th>file</th><th>details</th></tr>\n";
    for (const Json& f : files) {
      std::string name = f.is_object() ? FirstText(f, {"path", "name", "file"}) : Text(f);
      absl::StrAppend(&html, "<tr><td>", Cell(name), "</td><td><code>",
                      f.is_object() ? Esc(DumpJson(f)) : "", "</code></td></tr>\n");
    }
    html += "</table>\n";
  }
  return html + kClose;
}

}  // namespace

const std::vector<std::string>& ValidationReportSectionIds() {
  static const auto* const kIds = new std::vector<std::string>{
      "summary",      "data-validation", "performance", "stability", "fairness",
      "explanations", "policy",          "lineage",     "approvals", "scan"};
  return *kIds;
}

StatusOr<std::string> RenderValidationReport(const Json& evidence) {
  const Json& model = Member(evidence, "model");
  std::string title =
      "Validation report: " + (Text(Member(model, "name")).empty() ? std::string(kNotRecorded)
                                                                   : Text(Member(model, "name")));
  if (std::string v = Text(Member(model, "version")); !v.empty()) title += "@" + v;
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", Esc(title),
      "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n<h1>", Esc(title), "</h1>\n");
  html += "<nav><p>";
  const char* const kTitles[] = {"Summary",   "Data validation", "Performance",    "Stability",
                                 "Fairness",  "Explanations",    "Policy results", "Lineage",
                                 "Approvals", "Import scan"};
  for (size_t i = 0; i < ValidationReportSectionIds().size(); ++i) {
    absl::StrAppend(&html, i ? " &middot; " : "", "<a href=\"#", ValidationReportSectionIds()[i],
                    "\">", kTitles[i], "</a>");
  }
  html += "</p></nav>\n";
  html += Summary(evidence);
  html += DataValidation(evidence);
  html += Performance(evidence);
  html += Stability(evidence);
  html += Fairness(evidence);
  html += Explanations(evidence);
  html += Policy(evidence);
  html += Lineage(evidence);
  html += Approvals(evidence);
  html += Scan(evidence);
  return html + "</body>\n</html>\n";
}

}  // namespace plinth::report
