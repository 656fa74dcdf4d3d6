// Group fairness of a binary classifier's decisions for one protected attribute, with the
// definitions of AIF360's ClassificationMetric (docs/explanations.md). Protected attributes are
// kept out of a model's features (the train step excludes the data set's protected columns) and
// joined back here, from the evaluation rows, to compare the groups.
//
// Terms: a row's decision is positive when its score >= threshold (train/evaluation.h's
// convention). The favourable decision is the predicted class `favorable` names: for credit with
// the positive class "default", approval is a predicted negative (favorable = "negative"). The
// truly favourable rows are those whose label is that class. Per group g:
//   selection_rate(g) = P(decision favourable | g)
//   TPR(g) = P(decision favourable | truly favourable, g)     (null without truly favourable rows)
//   FPR(g) = P(decision favourable | truly unfavourable, g)   (null without such rows)
//   auc(g) = the AUC of the scores against the labels in g    (null with one class only)
// and for each group g other than the reference (privileged) group r:
//   disparate_impact              = selection_rate(g) / selection_rate(r)  (null if the latter is
//   0) statistical_parity_difference = selection_rate(g) - selection_rate(r)
//   equal_opportunity_difference  = TPR(g) - TPR(r)
//   average_odds_difference       = ((FPR(g) - FPR(r)) + (TPR(g) - TPR(r))) / 2
// A value that needs a null is null, never NaN. The reference group is configured, or else the
// group with the highest selection rate among those of at least min_group_size rows (all groups
// if none is that large; ties by name), so every disparate impact is <= 1 by default.
//
// Groups smaller than min_group_size are reported and flagged "small", but the summary leaves
// them out: their rates are too noisy to act on.
#ifndef PLINTH_EXPLAIN_FAIRNESS_H_
#define PLINTH_EXPLAIN_FAIRNESS_H_

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"

namespace plinth {

// The text of a missing group value.
inline constexpr char kMissingGroup[] = "(missing)";

struct FairnessOptions {
  double threshold = 0.5;  // decision positive when score >= threshold
  // The predicted class that is the favourable decision: "negative" or "positive".
  std::string favorable = "negative";
  // The privileged group; "": the group with the highest selection rate (see the top).
  std::string reference_group;
  size_t min_group_size = 30;  // smaller groups are flagged and left out of the summary

  // InvalidArgument for a non-finite threshold or a favorable other than negative / positive.
  Status Validate() const;
};

// The group of each row of `column`: the cell's text (an int64's decimal form, "true" / "false",
// a double as %g), kMissingGroup for a null cell.
std::vector<std::string> GroupValues(const Column& column);

// The report for one attribute:
// {"attribute", "threshold", "favorable", "reference_group", "reference_chosen" ("configured" or
//  "highest_selection_rate"), "min_group_size", "rows",
//  "groups": [{group, count, small, reference, favorable_truth, favorable_decisions,
//              selection_rate, base_rate (share truly favourable), true_positive_rate,
//              false_positive_rate, auc, and for non-reference groups disparate_impact,
//              statistical_parity_difference, equal_opportunity_difference,
//              average_odds_difference}],   sorted by group text
//  "summary": {disparate_impact_min, disparate_impact_min_group,
//              statistical_parity_difference_max_abs, equal_opportunity_difference_max_abs,
//              average_odds_difference_max_abs, four_fifths_rule_passed (DI min >= 0.8),
//              groups_compared, small_groups}}
// Summary values over the non-reference groups that are not small; null when there is none.
// InvalidArgument for mismatched sizes, no rows, labels other than 0/1, non-finite scores,
// options Validate refuses, or a reference group no row has.
StatusOr<Json> FairnessReport(std::span<const float> labels, std::span<const float> scores,
                              std::span<const std::string> groups, const std::string& attribute,
                              const FairnessOptions& options = {});

// A bar chart of the groups' selection rates from a report, with the four-fifths line (0.8 x the
// reference group's rate); "" if the report has no groups.
std::string SelectionRateSvg(const Json& report);
// An HTML section (h2, the chart, a table per group) for one attribute's report.
std::string FairnessHtmlSection(const Json& report);
// A whole page: `attributes` maps attribute -> report; `intro` is HTML placed under the title.
std::string FairnessHtmlPage(const Json& attributes, const std::string& title,
                             const std::string& intro = "");

}  // namespace plinth

#endif  // PLINTH_EXPLAIN_FAIRNESS_H_
