// The plots of the explain module, in the look of train/evaluation.h's (the same frame, fonts,
// colours and grid), for axes whose range is not [0, 1]: partial dependence over a feature's
// values, importance and selection-rate bars. Internal to the module.
#ifndef PLINTH_EXPLAIN_SVG_H_
#define PLINTH_EXPLAIN_SVG_H_

#include <string>
#include <vector>

namespace plinth::explain_svg {

// The plotting area inside the SVG, and the data range it shows.
struct Frame {
  double left = 56, top = 14, width = 260, height = 220;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double bottom_margin = 46;  // room for tick labels and the x title
  double X(double v) const;
  double Y(double v) const;
  int svg_width() const { return static_cast<int>(left + width + 20); }
  int svg_height() const { return static_cast<int>(top + height + bottom_margin); }
};

std::string Fmt(const char* format, double v);
// A short tick label: up to 4 significant digits, no trailing zeros.
std::string Tick(double v);
// Round tick values covering [lo, hi] (4 to 6 steps of 1, 2, 2.5 or 5 times a power of ten).
std::vector<double> NiceTicks(double lo, double hi);

// "<svg ...><title>title</title>" (escaped).
std::string Open(const Frame& f, const std::string& title);
// Grid lines and labels at `x_ticks` and `y_ticks` (either may be empty), the axis lines, and the
// two axis titles (escaped).
std::string Axes(const Frame& f, const std::vector<double>& x_ticks,
                 const std::vector<double>& y_ticks, const std::string& x_title,
                 const std::string& y_title);
// A text element (escaped); `extra` is added to its attributes.
std::string Text(double x, double y, const std::string& text, const std::string& anchor,
                 const std::string& fill = "#1f2933", const std::string& extra = "");

inline constexpr char kBlue[] = "#2680c2";
inline constexpr char kRed[] = "#d64545";
inline constexpr char kGrey[] = "#9fb3c8";

}  // namespace plinth::explain_svg

#endif  // PLINTH_EXPLAIN_SVG_H_
