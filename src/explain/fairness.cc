#include "explain/fairness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "core/html.h"
#include "explain/svg.h"

namespace plinth {
namespace {

using explain_svg::Fmt;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(); }

double NumberOr(const Json& j, const char* key, double fallback = kNaN) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// The AUC of `scores` against `labels` (1 = positive): the Mann-Whitney statistic with average
// ranks, ties counting one half; NaN with one class only.
double Auc(const std::vector<float>& labels, const std::vector<float>& scores) {
  const size_t n = labels.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positives = 0, rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t end = i;
    while (end < n && scores[order[end]] == scores[order[i]]) ++end;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(end)) / 2;
    for (size_t k = i; k < end; ++k) {
      if (labels[order[k]] == 1.0f) {
        positives += 1;
        rank_sum += average_rank;
      }
    }
    i = end;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

struct GroupStats {
  std::string group;
  size_t count = 0;
  size_t favorable_truth = 0;      // truly favourable rows
  size_t favorable_decisions = 0;  // rows with the favourable decision
  size_t true_favorable = 0;       // both
  size_t false_favorable = 0;      // favourable decision, truly unfavourable
  std::vector<float> labels, scores;

  double selection_rate() const {
    return count ? static_cast<double>(favorable_decisions) / static_cast<double>(count) : kNaN;
  }
  double base_rate() const {
    return count ? static_cast<double>(favorable_truth) / static_cast<double>(count) : kNaN;
  }
  double tpr() const {
    return favorable_truth
               ? static_cast<double>(true_favorable) / static_cast<double>(favorable_truth)
               : kNaN;
  }
  double fpr() const {
    const size_t unfavorable = count - favorable_truth;
    return unfavorable ? static_cast<double>(false_favorable) / static_cast<double>(unfavorable)
                       : kNaN;
  }
};

// a - b, NaN when either is (so a missing rate never reads as a difference of 0).
double Diff(double a, double b) { return std::isnan(a) || std::isnan(b) ? kNaN : a - b; }

const char* kStyle =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2rem auto;"
    "max-width:70rem;color:#1f2933;background:#fafbfc;padding:0 1rem}"
    "h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}"
    ".meta{color:#52606d;margin-bottom:1.5rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:right}"
    "th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}"
    ".flag{color:#d64545}"
    ".plots svg{margin:0 1rem 1rem 0;background:#fff;border:1px solid #e4e7eb}";

std::string Cell(const Json& j, const char* key, const char* format = "%.4f") {
  const double v = NumberOr(j, key);
  return "<td>" + (std::isnan(v) ? std::string("&ndash;") : Fmt(format, v)) + "</td>";
}

}  // namespace

Status FairnessOptions::Validate() const {
  if (!std::isfinite(threshold)) return Invalid("threshold must be a finite number");
  if (favorable != "negative" && favorable != "positive") {
    return Invalid("favorable must be negative or positive, not '" + favorable + "'");
  }
  return absl::OkStatus();
}

std::vector<std::string> GroupValues(const Column& column) {
  std::vector<std::string> out(column.size());
  for (size_t i = 0; i < column.size(); ++i) {
    if (column.IsNull(i)) {
      out[i] = kMissingGroup;
      continue;
    }
    switch (column.type()) {
      case ColumnType::kString:
        out[i] = std::string(column.StringAt(i));
        break;
      case ColumnType::kBool:
        out[i] = column.bools()[i] ? "true" : "false";
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        out[i] = std::to_string(column.int64s()[i]);
        break;
      case ColumnType::kFloat64:
        out[i] = std::isnan(column.float64s()[i]) ? std::string(kMissingGroup)
                                                  : Fmt("%g", column.float64s()[i]);
        break;
    }
  }
  return out;
}

StatusOr<Json> FairnessReport(std::span<const float> labels, std::span<const float> scores,
                              std::span<const std::string> groups, const std::string& attribute,
                              const FairnessOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  const size_t n = labels.size();
  if (scores.size() != n || groups.size() != n) {
    return Invalid(std::to_string(n) + " labels, " + std::to_string(scores.size()) +
                   " scores and " + std::to_string(groups.size()) + " group values differ");
  }
  if (n == 0) return Invalid("no rows to compare groups on");
  const bool favorable_positive = options.favorable == "positive";
  std::map<std::string, GroupStats> by_group;
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0.0f && labels[i] != 1.0f) {
      return Invalid("label at row " + std::to_string(i) + " is not 0 or 1");
    }
    if (!std::isfinite(scores[i])) {
      return Invalid("score at row " + std::to_string(i) + " is not finite");
    }
    const bool positive_decision = scores[i] >= options.threshold;
    const bool favorable_decision = positive_decision == favorable_positive;
    const bool favorable_truth = (labels[i] == 1.0f) == favorable_positive;
    GroupStats& g = by_group[groups[i]];
    g.group = groups[i];
    ++g.count;
    g.favorable_truth += favorable_truth;
    g.favorable_decisions += favorable_decision;
    g.true_favorable += favorable_truth && favorable_decision;
    g.false_favorable += !favorable_truth && favorable_decision;
    g.labels.push_back(labels[i]);
    g.scores.push_back(scores[i]);
  }

  // The reference (privileged) group.
  std::string reference = options.reference_group;
  std::string chosen = "configured";
  if (!reference.empty()) {
    if (by_group.count(reference) == 0) {
      std::string known;
      for (const auto& [name, g] : by_group) known += (known.empty() ? "" : ", ") + name;
      return Invalid("reference group '" + reference + "' of " + attribute +
                     " has no rows (groups: " + known + ")");
    }
  } else {
    chosen = "highest_selection_rate";
    bool any_large = false;
    for (const auto& [name, g] : by_group) any_large |= g.count >= options.min_group_size;
    double best = -1;
    for (const auto& [name, g] : by_group) {  // by name, so ties go to the first name
      if (any_large && g.count < options.min_group_size) continue;
      if (g.selection_rate() > best) {
        best = g.selection_rate();
        reference = name;
      }
    }
  }
  const GroupStats& ref = by_group.at(reference);

  Json out = {{"attribute", attribute},
              {"threshold", options.threshold},
              {"favorable", options.favorable},
              {"reference_group", reference},
              {"reference_chosen", chosen},
              {"min_group_size", options.min_group_size},
              {"rows", n}};
  Json group_list = Json::array();
  double di_min = kNaN, spd_max = kNaN, eod_max = kNaN, aod_max = kNaN;
  std::string di_min_group;
  size_t compared = 0;
  Json small = Json::array();
  auto max_abs = [](double* acc, double v) {
    if (!std::isnan(v) && (std::isnan(*acc) || std::fabs(v) > *acc)) *acc = std::fabs(v);
  };
  for (const auto& [name, g] : by_group) {
    const bool is_small = g.count < options.min_group_size;
    if (is_small) small.push_back(name);
    Json entry = {{"group", name},
                  {"count", g.count},
                  {"small", is_small},
                  {"reference", name == reference},
                  {"favorable_truth", g.favorable_truth},
                  {"favorable_decisions", g.favorable_decisions},
                  {"selection_rate", Num(g.selection_rate())},
                  {"base_rate", Num(g.base_rate())},
                  {"true_positive_rate", Num(g.tpr())},
                  {"false_positive_rate", Num(g.fpr())},
                  {"auc", Num(Auc(g.labels, g.scores))}};
    if (name != reference) {
      const double ref_rate = ref.selection_rate();
      const double di = ref_rate > 0 ? g.selection_rate() / ref_rate : kNaN;
      const double spd = Diff(g.selection_rate(), ref_rate);
      const double eod = Diff(g.tpr(), ref.tpr());
      const double fpr_diff = Diff(g.fpr(), ref.fpr());
      const double aod = std::isnan(fpr_diff) || std::isnan(eod) ? kNaN : (fpr_diff + eod) / 2;
      entry["disparate_impact"] = Num(di);
      entry["statistical_parity_difference"] = Num(spd);
      entry["equal_opportunity_difference"] = Num(eod);
      entry["average_odds_difference"] = Num(aod);
      if (!is_small) {
        ++compared;
        if (!std::isnan(di) && (std::isnan(di_min) || di < di_min)) {
          di_min = di;
          di_min_group = name;
        }
        max_abs(&spd_max, spd);
        max_abs(&eod_max, eod);
        max_abs(&aod_max, aod);
      }
    }
    group_list.push_back(std::move(entry));
  }
  out["groups"] = std::move(group_list);
  out["summary"] = {
      {"disparate_impact_min", Num(di_min)},
      {"disparate_impact_min_group", di_min_group.empty() ? Json() : Json(di_min_group)},
      {"statistical_parity_difference_max_abs", Num(spd_max)},
      {"equal_opportunity_difference_max_abs", Num(eod_max)},
      {"average_odds_difference_max_abs", Num(aod_max)},
      {"four_fifths_rule_passed", std::isnan(di_min) ? Json() : Json(di_min >= 0.8)},
      {"groups_compared", compared},
      {"small_groups", small}};
  return out;
}

std::string SelectionRateSvg(const Json& report) {
  if (!report.is_object() || !report.contains("groups") || !report["groups"].is_array() ||
      report["groups"].empty()) {
    return "";
  }
  const Json& groups = report["groups"];
  double max = 0, reference_rate = kNaN;
  for (const Json& g : groups) {
    max = std::max(max, NumberOr(g, "selection_rate", 0));
    if (g.value("reference", false)) reference_rate = NumberOr(g, "selection_rate");
  }
  explain_svg::Frame f;
  f.bottom_margin = 80;
  const std::vector<double> y_ticks = explain_svg::NiceTicks(0, std::max(max, 1e-3));
  f.y_min = 0;
  f.y_max = y_ticks.back();
  const std::string attribute = report.value("attribute", std::string());
  std::string svg = explain_svg::Open(f, "Selection rate by " + attribute) +
                    explain_svg::Axes(f, {}, y_ticks, "", "Selection rate (favourable)");
  svg += explain_svg::Text(f.left + f.width / 2, f.top + f.height + f.bottom_margin - 8, attribute,
                           "middle");
  const double slot = f.width / static_cast<double>(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const Json& g = groups[i];
    const std::string name = g.value("group", std::string());
    const double rate = NumberOr(g, "selection_rate", 0);
    const double x = f.left + slot * static_cast<double>(i) + slot * 0.2;
    const double y = f.Y(rate);
    const char* colour = g.value("reference", false) ? explain_svg::kGrey : explain_svg::kBlue;
    svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" width=\"" +
           Fmt("%.1f", std::max(slot * 0.6, 1.0)) + "\" height=\"" +
           Fmt("%.1f", std::max(f.Y(0) - y, 0.5)) + "\" fill=\"" + colour + "\"><title>" +
           HtmlEscape(name) + ": " + Fmt("%.1f%%", 100 * rate) + " of " +
           std::to_string(g.value("count", size_t{0})) + " rows</title></rect>";
    const double lx = x + slot * 0.3, ly = f.top + f.height + 12;
    svg += explain_svg::Text(
        lx, ly, name.size() > 14 ? name.substr(0, 13) + "..." : name, "end", "#52606d",
        "transform=\"rotate(-40 " + Fmt("%.1f", lx) + " " + Fmt("%.1f", ly) + ")\"");
  }
  if (std::isfinite(reference_rate) && reference_rate > 0) {
    const double y = f.Y(0.8 * reference_rate);
    svg += "<line x1=\"" + Fmt("%.1f", f.left) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
           Fmt("%.1f", f.left + f.width) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"" +
           explain_svg::kRed +
           "\" stroke-dasharray=\"4 3\"><title>four-fifths of the reference "
           "group's rate</title></line>";
    svg += explain_svg::Text(f.left + f.width - 4, y - 4, "4/5 of reference", "end",
                             explain_svg::kRed);
  }
  return svg + "</svg>";
}

std::string FairnessHtmlSection(const Json& report) {
  if (!report.is_object()) return "";
  const std::string attribute = report.value("attribute", std::string());
  const Json& summary = report.contains("summary") ? report["summary"] : Json::object();
  std::string html = "<h2>" + HtmlEscape(attribute) + "</h2><p>Reference group <b>" +
                     HtmlEscape(report.value("reference_group", std::string())) + "</b> (" +
                     HtmlEscape(report.value("reference_chosen", std::string())) +
                     "); favourable decision: predicted " +
                     HtmlEscape(report.value("favorable", std::string())) + " at threshold " +
                     Fmt("%.4g", NumberOr(report, "threshold", 0.5)) + ". ";
  const double di = NumberOr(summary, "disparate_impact_min");
  if (std::isnan(di)) {
    html += "No group to compare with the reference.";
  } else {
    html += "Lowest disparate impact " + Fmt("%.4f", di) + " (" +
            HtmlEscape(summary.value("disparate_impact_min_group", std::string())) + ")" +
            (di >= 0.8 ? ": within" : ": <span class=\"flag\">below</span>") +
            " the four-fifths rule.";
  }
  html += "</p><div class=\"plots\">" + SelectionRateSvg(report) + "</div>";
  html +=
      "<table><tr><th>group</th><th>rows</th><th>selection rate</th><th>base rate</th>"
      "<th>TPR</th><th>FPR</th><th>AUC</th><th>disparate impact</th><th>statistical parity "
      "difference</th><th>equal opportunity difference</th><th>average odds difference</th>"
      "</tr>";
  if (report.contains("groups") && report["groups"].is_array()) {
    for (const Json& g : report["groups"]) {
      std::string name = HtmlEscape(g.value("group", std::string()));
      if (g.value("reference", false)) name += " (reference)";
      if (g.value("small", false)) name += " <span class=\"flag\">(small)</span>";
      html += "<tr><td>" + name + "</td><td>" + std::to_string(g.value("count", size_t{0})) +
              "</td>" + Cell(g, "selection_rate") + Cell(g, "base_rate") +
              Cell(g, "true_positive_rate") + Cell(g, "false_positive_rate") + Cell(g, "auc") +
              Cell(g, "disparate_impact") + Cell(g, "statistical_parity_difference") +
              Cell(g, "equal_opportunity_difference") + Cell(g, "average_odds_difference") +
              "</tr>";
    }
  }
  return html + "</table>\n";
}

std::string FairnessHtmlPage(const Json& attributes, const std::string& title,
                             const std::string& intro) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     HtmlEscape(title) + "</title><style>" + kStyle +
                     "</style></head><body>\n<h1>" + HtmlEscape(title) + "</h1>\n";
  if (!intro.empty()) html += "<p class=\"meta\">" + intro + "</p>\n";
  html +=
      "<p>Definitions as AIF360's: selection rate = share of rows with the favourable decision; "
      "disparate impact = selection rate of the group / that of the reference group; statistical "
      "parity difference = their difference; equal opportunity difference = the difference in "
      "TPR (favourable decisions among truly favourable rows); average odds difference = the mean "
      "of the FPR and TPR differences.</p>\n";
  if (attributes.is_object()) {
    for (const auto& [name, report] : attributes.items()) html += FairnessHtmlSection(report);
  }
  return html + "</body></html>\n";
}

}  // namespace plinth
