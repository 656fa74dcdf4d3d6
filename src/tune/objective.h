// What a tuning optimises (docs/tuning.md, "Objective"):
//
//   objective:
//     metric: test_auc
//     direction: maximize                 # or minimize; required
//     constraints:                        # optional; each must hold for a trial to be feasible
//       - "train_auc - test_auc <= 0.03"
//       - "test_ks >= 0.2"
//
// A constraint is an expression of Plinth's expression language (docs/expr.md) over the trial's
// metrics, each a double variable named as the metric. It is compiled when the objective is read,
// against the metric names the trial evaluator declares, so a misspelt metric is an error before
// any trial runs ("undeclared name 'test_sk' (did you mean 'test_ks'?)"), and it must be a bool.
// A constraint that fails to evaluate (division by zero) counts as violated, with the error kept.
#ifndef PLINTH_TUNE_OBJECTIVE_H_
#define PLINTH_TUNE_OBJECTIVE_H_

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "expr/expr.h"

namespace plinth::tune {

enum class Direction { kMaximize, kMinimize };

// "maximize", "minimize".
std::string DirectionName(Direction direction);

struct Constraint {
  std::string source;                // as written
  std::vector<std::string> metrics;  // the metrics it reads, in order of first use
  std::optional<expr::Program> program;
  // For a comparison at the top level ("a - b <= 0.03"): its two sides and operator, so a check
  // can report the value and the limit. Unset for other forms ("a > 0.7 && b > 0.7").
  std::optional<expr::Program> lhs, rhs;
  std::string op;
};

// One constraint on one trial.
struct ConstraintCheck {
  std::string constraint;
  bool satisfied = false;
  std::optional<double> value;            // the left side of a top-level comparison
  std::optional<double> limit;            // its right side
  std::map<std::string, double> metrics;  // the metrics the constraint read
  std::string error;                      // why it could not be evaluated (then violated)

  Json ToJson() const;
};

struct Objective {
  std::string metric;
  Direction direction = Direction::kMaximize;
  std::vector<Constraint> constraints;

  // {"metric": ..., "direction": ..., "constraints": [source, ...]}.
  Json ToJson() const;
  // The metric and every metric a constraint reads, sorted, without repeats: what each trial
  // must report.
  std::vector<std::string> RequiredMetrics() const;
  // True if `a` is strictly better than `b`.
  bool Better(double a, double b) const {
    return direction == Direction::kMaximize ? a > b : a < b;
  }
  // Lower is better: -value when maximizing.
  double Loss(double value) const { return direction == Direction::kMaximize ? -value : value; }
};

// An objective from its parts. `metric_names` are the metrics the trial evaluator reports: the
// metric must be one, and constraints compile against them (non-identifiers cannot appear in a
// constraint). InvalidArgument otherwise, with the expression's positioned message.
StatusOr<Objective> MakeObjective(const std::string& metric, Direction direction,
                                  const std::vector<std::string>& constraints,
                                  const std::vector<std::string>& metric_names);

// The mapping above (YAML text, a node, or JSON); messages positioned at the field.
StatusOr<Objective> ParseObjective(std::string_view yaml, const std::string& file_name,
                                   const std::vector<std::string>& metric_names);
StatusOr<Objective> ObjectiveFromYaml(const YAML::Node& node, const std::string& file_name,
                                      const std::vector<std::string>& metric_names);
StatusOr<Objective> ObjectiveFromJson(const Json& json, const std::string& context,
                                      const std::vector<std::string>& metric_names);

// InvalidArgument naming the first required metric that `metrics` lacks or holds as a non-finite
// number: a trial whose result fails this is a failed trial, not an infeasible one.
Status CheckMetrics(const Objective& objective, const std::map<std::string, double>& metrics);

// Every constraint evaluated on `metrics`, in order.
std::vector<ConstraintCheck> CheckConstraints(const Objective& objective,
                                              const std::map<std::string, double>& metrics);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_OBJECTIVE_H_
