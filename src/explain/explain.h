// Explaining a model package's decisions (docs/explanations.md): global importance, per-row
// contributions, reason codes and partial dependence, all from Scorer::Contributions
// (train/model_package.h), which is exact for every built-in kind: TreeSHAP for xgboost, the
// mean-centred linear terms for logistic, beta * WoE for scorecards. Contributions are in margin
// (log-odds) space and per raw input, so a row's bias plus its contributions is its margin.
//
// Reason codes: for a decision against an applicant, the features that pushed the row furthest
// towards the adverse outcome. A feature appears only with a contribution towards the adverse
// class above min_contribution (> 0), so only features the model uses can appear (a feature the
// model ignores contributes exactly 0), and never a protected attribute, which is not a model
// input. Codes are stable: a configured code, else "R" + the feature's 1-based position among the
// model's inputs ("R01", "R02", ...), so the same feature always carries the same code.
//
// Partial dependence: for a grid of values of one input, the mean prediction over the rows with
// that input set to the value (every other input as it is). Numeric inputs use a quantile grid of
// the rows' non-missing values (distinct quantiles at k / (points - 1)); string and bool inputs
// (and int64 ones the model one-hot encodes) use each level, most frequent first.
#ifndef PLINTH_EXPLAIN_EXPLAIN_H_
#define PLINTH_EXPLAIN_EXPLAIN_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "table/table.h"
#include "train/model_package.h"

namespace plinth {

struct FeatureImportance {
  std::string feature;
  double mean_abs = 0;  // mean |contribution| over the rows
  double share = 0;     // mean_abs / the sum over features (0 when every feature is 0)
};

// Every feature of `c`, highest mean |contribution| first (ties by name).
std::vector<FeatureImportance> GlobalImportance(const Contributions& c);

// The features with a nonzero contribution on some row, in the contributions' order.
std::vector<std::string> FeaturesUsed(const Contributions& c);

struct ReasonCodeOptions {
  int top_k = 4;  // at most this many reasons per row; >= 1
  // Which class is the adverse outcome: "positive" (e.g. default for credit, with the model's
  // positive class the default) or "negative".
  std::string adverse = "positive";
  // Feature -> the text shown for it; default "<feature> contributed to the decision".
  std::map<std::string, std::string> texts;
  // Feature -> its code; default "R" + its 1-based position among the inputs, two digits.
  std::map<std::string, std::string> codes;
  // Only contributions towards the adverse outcome above this (log-odds) count; >= 0.
  double min_contribution = 0;

  // InvalidArgument for top_k < 1, an adverse other than positive / negative, or a negative
  // or non-finite min_contribution.
  Status Validate() const;
};

struct ReasonCode {
  std::string feature;
  std::string code;
  std::string text;
  double contribution = 0;  // towards the adverse outcome, > 0 (log-odds)
  Json value;               // the row's raw value (null if missing)
  Json ToJson() const;
};

// Per row of `c` (computed on `table`), the top_k reasons, largest contribution towards the
// adverse outcome first (ties by feature order). `table` supplies the values; InvalidArgument if
// it lacks a feature or has another row count, or for options Validate refuses.
StatusOr<std::vector<std::vector<ReasonCode>>> ReasonCodes(const Contributions& c,
                                                           const Table& table,
                                                           const ReasonCodeOptions& options);

struct PartialDependenceResult {
  std::string feature;
  bool categorical = false;
  std::vector<Json> grid;    // numbers (numeric) or level texts (categorical)
  std::vector<double> mean;  // mean prediction (probability or regression value) per grid point
  Json ToJson() const;       // {"feature", "categorical", "grid", "mean"}
};

// Partial dependence of `scorer`'s primary output on `feature` (a model input) over `table`'s
// rows, the first `max_rows` of them when there are more (0: all). `grid_points` >= 2.
// InvalidArgument if the feature is not an input, has no non-missing value, or is a timestamp.
StatusOr<PartialDependenceResult> PartialDependence(const Scorer& scorer, const Table& table,
                                                    const std::string& feature,
                                                    int grid_points = 20, size_t max_rows = 1000);

// A self-contained SVG line plot (numeric) or bar chart (categorical) of the mean prediction
// against the grid, in the look of train/evaluation.h's plots; "" if `pdp` holds no points.
std::string PartialDependenceSvg(const PartialDependenceResult& pdp,
                                 const std::string& output_name = "mean prediction");
// A horizontal bar chart of the importances' shares (the top `limit`).
std::string ImportanceSvg(const std::vector<FeatureImportance>& importance, size_t limit = 15);

struct ExplainOptions {
  ReasonCodeOptions reasons;
  size_t sample = 20;  // per-row explanations kept in the report (evenly spaced rows)
  // Features to draw partial dependence for; empty: the top `pdp_top` by importance.
  std::vector<std::string> pdp_features;
  size_t pdp_top = 5;
  int grid_points = 20;
  size_t pdp_max_rows = 1000;
  std::string title = "Model explanations";
};

struct ExplainResult {
  // {"method": "tree_shap" | "linear_exact" | "scorecard_exact", "kind", "task",
  //  "explained_rows", "features" (the inputs), "features_used", "adverse",
  //  "additivity_max_error",
  //  "global_importance": [{feature, mean_abs, share}],
  //  "rows": [{row, prediction, margin, bias, contributions: {feature: value},
  //            reason_codes: [{feature, code, text, contribution, value}]}]  (the sample),
  //  "reason_code_frequency": [{feature, code, rows}]  (how often a top reason, every row),
  //  "partial_dependence": {feature: {feature, categorical, grid, mean}}}
  Json json;
  std::string html;  // a page with the importance chart, PDP plots and the sample's reasons
  double additivity_max_error = 0;
};

// Explains `scorer` on `table`: contributions, global importance, reason codes of every row (the
// report keeps `sample` of them and counts how often each feature is a top reason), partial
// dependence, and the largest |bias + sum contributions - margin| over the rows. Errors of the
// scorer's Contributions (Unimplemented for a kind without them) and of the options.
StatusOr<ExplainResult> ExplainReport(const Scorer& scorer, const Table& table,
                                      const ExplainOptions& options);

}  // namespace plinth

#endif  // PLINTH_EXPLAIN_EXPLAIN_H_
