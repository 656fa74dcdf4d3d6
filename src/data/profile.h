// Column profiles of a Table: what a data set holds, as JSON, and the self-contained HTML report
// drawn from that JSON (so a client renders the same report from a profile it fetched remotely).
//
// For every column: count (rows), nulls, distinct (distinct non-null values). Numeric columns
// (int64, float64, timestamp) add, over their finite non-null values: min, max, mean, std (sample
// standard deviation, n - 1; 0 for fewer than two values), quantiles p5, p25, p50, p75, p95
// (linear interpolation between closest ranks, as numpy's default) and an equal-width histogram
// over [min, max] whose bin counts sum to the number of finite values (the last bin includes max;
// when min == max every value is in the first bin). NaN and infinite cells are counted in
// "non_finite" and left out of the statistics. String and bool columns add the most frequent
// values ("top": value and count, most frequent first, ties in order of first appearance).
//
// Timestamps: the numbers above are microseconds since the Unix epoch (UTC), kept so that code
// computing with them keeps working; std is a duration in microseconds. A timestamp column also
// carries its times as RFC 3339 text (FormatTime in core/clock.h, "2024-01-31T12:00:00.000000Z"):
// "min_time", "max_time", "mean_time", "quantiles_time" (the keys of "quantiles") and, in
// "histogram", "min_time" and "max_time" (the edges of the first and last bin). min_time and
// max_time are exact; mean and quantiles are rounded to the microsecond. A time outside the years
// 0000..9999 (which RFC 3339 cannot write) is null. Profiles stored before these fields existed
// lack them: readers format the microseconds instead (TimestampText).
//
// Masking: a PII column's profile keeps only name, type, count and nulls, and says
// "masked": "PII"; no value of the column (min, max, quantiles, histogram, top values) survives.
#ifndef PLINTH_DATA_PROFILE_H_
#define PLINTH_DATA_PROFILE_H_

#include <set>
#include <string>

#include "core/json.h"
#include "table/table.h"

namespace plinth {

struct ProfileOptions {
  int histogram_bins = 20;
  int top_values = 10;
};

// {"rows": N, "columns": [{"name", "type", "count", "nulls", "distinct", ...}, ...]}.
Json ProfileTable(const Table& table, const ProfileOptions& options = {});

// The profile of one column (an element of ProfileTable's "columns").
Json ProfileColumn(const Column& column, const ProfileOptions& options = {});

// A timestamp statistic given in microseconds as RFC 3339 text (FormatTime), rounded to the
// microsecond; null if `micros` is not finite or outside the years 0000..9999.
Json TimestampText(double micros);

// `profile` (ProfileTable's shape) with the columns named in `pii` masked.
Json MaskProfile(const Json& profile, const std::set<std::string>& pii);

// A self-contained HTML page (inline CSS, histograms as inline SVG, no external assets) for a
// profile of ProfileTable's shape; `title` heads the page. Text from the data is HTML-escaped.
std::string RenderProfileHtml(const Json& profile, const std::string& title);

}  // namespace plinth

#endif  // PLINTH_DATA_PROFILE_H_
