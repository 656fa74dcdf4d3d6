// The run comparison page: one self-contained HTML page with the runs' params side by side and
// every metric's history drawn as SVG line charts (one chart per metric, one line per run), so a
// data scientist sees at a glance which trial overfits, diverges or plateaus.
#ifndef PLINTH_TRACKING_COMPARE_REPORT_H_
#define PLINTH_TRACKING_COMPARE_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace plinth {

struct CompareRun {
  std::string id;
  std::string name;
  std::map<std::string, std::string> params;
  // Metric key -> its points as (step, value), in step order; NaN values are gaps.
  std::map<std::string, std::vector<std::pair<int64_t, double>>> metrics;
};

std::string RenderCompareHtml(const std::vector<CompareRun>& runs);

}  // namespace plinth

#endif  // PLINTH_TRACKING_COMPARE_REPORT_H_
