// The filter of SearchRuns: the variables a run offers the expression language, and what of a
// compiled filter the store can do in SQL before evaluating it per run. Internal to the tracking
// module.
//
// Two things make a search over 100,000 runs fast without changing its meaning:
// - Keys. When every use of `metrics` (or `params`, `tags`) selects a constant key
//   (`metrics.auc`, `has(metrics.auc)`, `metrics["val loss"]`, `"auc" in metrics`), the map a run
//   is evaluated with needs only those keys: the expression cannot tell the difference. Any other
//   use (`size(metrics)`, a comprehension, `metrics[params.k]`) needs every key.
// - Conjuncts pushed down. The filter is true only if every top-level `&&` operand is true, so a
//   simple operand (`metrics.auc > 0.7`, `params.depth == "4"`, `has(tags.team)`,
//   `status == "FINISHED"`) can be applied in SQL to narrow the candidates. Each pushed
//   condition is one SQL treats exactly as the expression language does (NaN, stored as NULL,
//   compares false in both; a missing key is an error in one and no row in the other; strings
//   only by equality, since PostgreSQL orders them by collation). So when every conjunct is
//   pushed the SQL result is the match set; otherwise the whole expression is evaluated on every
//   candidate, and pushing only narrows what is evaluated.
#ifndef PLINTH_TRACKING_RUN_FILTER_H_
#define PLINTH_TRACKING_RUN_FILTER_H_

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "expr/expr.h"
#include "store/metadata_store.h"

namespace plinth::tracking_internal {

// The three maps of a run, in this order everywhere.
enum RunMap { kMetrics = 0, kParams = 1, kTags = 2 };
inline constexpr int kRunMapCount = 3;
// "metrics", "params", "tags".
const char* RunMapName(int map);

// A condition the SQL query applies to candidates, implied by the filter being true.
struct PushedCondition {
  enum class Kind {
    kMapValue,     // <map alias>.value <op> values[0], or IN values
    kMapPresence,  // the key exists (an inner join, no comparison)
    kColumn,       // r.<column> <op> values[0], or IN values
  };
  Kind kind = Kind::kMapValue;
  int map = kMetrics;
  std::string key;
  std::string column;  // kColumn: a column of `runs`
  std::string op;      // "=", "<>", "<", "<=", ">", ">=", "IN"
  std::vector<SqlValue> values;
};

struct RunFilter {
  // Absent for an empty filter (every run matches).
  std::optional<expr::Program> program;
  // The variables the expression reads.
  std::set<std::string, std::less<>> variables;
  // Per map: every key is needed, or only `keys`.
  std::array<bool, kRunMapCount> all_keys = {false, false, false};
  std::array<std::set<std::string>, kRunMapCount> keys;
  std::vector<PushedCondition> pushed;
  // Every top-level conjunct is pushed: the SQL conditions decide the match on their own.
  bool fully_pushed = false;
};

// Compiles `source` against the run environment (docs/formats/tracking.md) and analyses it.
// InvalidArgument with the positioned message if it does not compile or is not a bool.
StatusOr<RunFilter> CompileRunFilter(std::string_view source);

}  // namespace plinth::tracking_internal

#endif  // PLINTH_TRACKING_RUN_FILTER_H_
