#include "explain/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <set>
#include <utility>

#include "core/html.h"
#include "explain/svg.h"

namespace plinth {
namespace {

using explain_svg::Fmt;

// A double for JSON: null if NaN or infinite (JSON has neither).
Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(); }

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

// A cell as JSON: its number, bool or text; null when missing.
Json CellJson(const Column& c, size_t row) {
  if (c.IsNull(row)) return Json();
  switch (c.type()) {
    case ColumnType::kString:
      return std::string(c.StringAt(row));
    case ColumnType::kBool:
      return c.bools()[row] != 0;
    case ColumnType::kInt64:
    case ColumnType::kTimestamp:
      return c.int64s()[row];
    case ColumnType::kFloat64:
      return Num(c.float64s()[row]);
  }
  return Json();
}

// A cell's text for people: numbers to 6 significant digits.
std::string CellText(const Json& v) {
  if (v.is_null()) return "missing";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return Fmt("%.6g", v.get<double>());
  return v.dump();
}

std::string DefaultCode(size_t index) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "R%02zu", index + 1);
  return buf;
}

std::string CodeOf(const ReasonCodeOptions& o, const std::string& feature, size_t index) {
  auto it = o.codes.find(feature);
  return it != o.codes.end() ? it->second : DefaultCode(index);
}

std::string TextOf(const ReasonCodeOptions& o, const std::string& feature) {
  auto it = o.texts.find(feature);
  return it != o.texts.end() ? it->second : feature + " contributed to the decision";
}

// Whether the model treats `input` as categorical: strings and bools always; an int64 only when
// the preprocessing spec one-hot encodes it.
bool IsCategorical(const ModelManifest& m, const ModelInput& input) {
  if (input.type == ColumnType::kString || input.type == ColumnType::kBool) return true;
  if (input.type != ColumnType::kInt64 || !m.preprocess.has_value()) return false;
  for (const FeatureSpec& f : m.preprocess->features()) {
    if (f.column == input.name) return f.encoding == FeatureEncoding::kOneHot;
  }
  return false;
}

// A column named `name` of `type` holding `value` (a level's text, or a number) on every row.
StatusOr<Column> ConstantColumn(const std::string& name, ColumnType type, const Json& value,
                                size_t rows) {
  Column c(name, type);
  c.Reserve(rows);
  for (size_t i = 0; i < rows; ++i) {
    switch (type) {
      case ColumnType::kString:
        c.AppendString(value.get<std::string>());
        break;
      case ColumnType::kBool:
        c.AppendBool(value.is_boolean() ? value.get<bool>() : value.get<std::string>() == "true");
        break;
      case ColumnType::kInt64:
        if (value.is_string()) {
          c.AppendInt64(std::stoll(value.get<std::string>()));
        } else {
          c.AppendInt64(static_cast<int64_t>(std::llround(value.get<double>())));
        }
        break;
      case ColumnType::kFloat64:
        c.AppendFloat64(value.get<double>());
        break;
      case ColumnType::kTimestamp:
        return Invalid("partial dependence does not apply to timestamp column " + name);
    }
  }
  return c;
}

// The level texts of a categorical column, most frequent first (ties by text).
std::vector<std::string> Levels(const Column& c, size_t limit) {
  std::map<std::string, size_t> counts;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i)) continue;
    std::string text;
    if (c.type() == ColumnType::kString) {
      text = std::string(c.StringAt(i));
    } else if (c.type() == ColumnType::kBool) {
      text = c.bools()[i] ? "true" : "false";
    } else {
      text = std::to_string(c.int64s()[i]);
    }
    ++counts[text];
  }
  std::vector<std::pair<std::string, size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> out;
  for (size_t i = 0; i < sorted.size() && i < limit; ++i) out.push_back(sorted[i].first);
  return out;
}

// Distinct quantiles of the non-missing values at k / (points - 1), by the nearest rank.
std::vector<double> QuantileGrid(const Column& c, int points) {
  std::vector<double> values;
  for (size_t i = 0; i < c.size(); ++i) {
    std::optional<double> v = c.NumberAt(i);
    if (v.has_value() && std::isfinite(*v)) values.push_back(*v);
  }
  std::sort(values.begin(), values.end());
  std::vector<double> grid;
  if (values.empty()) return grid;
  for (int k = 0; k < points; ++k) {
    const double q = static_cast<double>(k) / (points - 1);
    const size_t index =
        static_cast<size_t>(std::llround(q * static_cast<double>(values.size() - 1)));
    if (grid.empty() || values[index] != grid.back()) grid.push_back(values[index]);
  }
  return grid;
}

const char* kStyle =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:2rem auto;"
    "max-width:70rem;color:#1f2933;background:#fafbfc;padding:0 1rem}"
    "h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}"
    ".meta{color:#52606d;margin-bottom:1.5rem}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "td,th{border:1px solid #cbd2d9;padding:.25rem .6rem;text-align:right}"
    "th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}"
    "td.text{text-align:left}"
    ".plots svg{margin:0 1rem 1rem 0;background:#fff;border:1px solid #e4e7eb}";

}  // namespace

std::vector<FeatureImportance> GlobalImportance(const Contributions& c) {
  const size_t n = c.features.size();
  std::vector<FeatureImportance> out(n);
  double total = 0;
  for (size_t j = 0; j < n; ++j) {
    double sum = 0;
    for (size_t r = 0; r < c.rows; ++r) sum += std::fabs(c.at(r, j));
    out[j].feature = c.features[j];
    out[j].mean_abs = c.rows > 0 ? sum / static_cast<double>(c.rows) : 0.0;
    total += out[j].mean_abs;
  }
  for (FeatureImportance& f : out) f.share = total > 0 ? f.mean_abs / total : 0.0;
  std::stable_sort(
      out.begin(), out.end(), [](const FeatureImportance& a, const FeatureImportance& b) {
        return a.mean_abs != b.mean_abs ? a.mean_abs > b.mean_abs : a.feature < b.feature;
      });
  return out;
}

std::vector<std::string> FeaturesUsed(const Contributions& c) {
  std::vector<std::string> out;
  for (size_t j = 0; j < c.features.size(); ++j) {
    for (size_t r = 0; r < c.rows; ++r) {
      if (c.at(r, j) != 0.0) {
        out.push_back(c.features[j]);
        break;
      }
    }
  }
  return out;
}

Status ReasonCodeOptions::Validate() const {
  if (top_k < 1) return Invalid("top_k must be at least 1");
  if (adverse != "positive" && adverse != "negative") {
    return Invalid("adverse must be positive or negative, not '" + adverse + "'");
  }
  if (!std::isfinite(min_contribution) || min_contribution < 0) {
    return Invalid("min_contribution must be a finite number >= 0");
  }
  return absl::OkStatus();
}

Json ReasonCode::ToJson() const {
  return {{"feature", feature},
          {"code", code},
          {"text", text},
          {"contribution", Num(contribution)},
          {"value", value}};
}

StatusOr<std::vector<std::vector<ReasonCode>>> ReasonCodes(const Contributions& c,
                                                           const Table& table,
                                                           const ReasonCodeOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  if (table.num_rows() != c.rows) {
    return Invalid("the table has " + std::to_string(table.num_rows()) +
                   " rows; the contributions " + std::to_string(c.rows));
  }
  std::vector<const Column*> columns;
  for (const std::string& f : c.features) {
    const Column* column = table.Find(f);
    if (column == nullptr) return Invalid("the table lacks the feature column '" + f + "'");
    columns.push_back(column);
  }
  // Towards the adverse outcome: the margin is the positive class's log-odds, so a negative
  // adverse class turns the sign.
  const double sign = options.adverse == "positive" ? 1.0 : -1.0;
  const size_t n = c.features.size();
  std::vector<std::vector<ReasonCode>> out(c.rows);
  std::vector<size_t> order;
  for (size_t r = 0; r < c.rows; ++r) {
    order.clear();
    for (size_t j = 0; j < n; ++j) {
      // Strictly positive: a feature the model does not use contributes exactly 0 and is never a
      // reason, whatever min_contribution is.
      const double towards = sign * c.at(r, j);
      if (towards > 0 && towards > options.min_contribution) order.push_back(j);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return sign * c.at(r, a) > sign * c.at(r, b); });
    if (order.size() > static_cast<size_t>(options.top_k)) order.resize(options.top_k);
    for (size_t j : order) {
      ReasonCode code;
      code.feature = c.features[j];
      code.code = CodeOf(options, code.feature, j);
      code.text = TextOf(options, code.feature);
      code.contribution = sign * c.at(r, j);
      code.value = CellJson(*columns[j], r);
      out[r].push_back(std::move(code));
    }
  }
  return out;
}

Json PartialDependenceResult::ToJson() const {
  Json means = Json::array();
  for (double m : mean) means.push_back(Num(m));
  return {{"feature", feature}, {"categorical", categorical}, {"grid", grid}, {"mean", means}};
}

StatusOr<PartialDependenceResult> PartialDependence(const Scorer& scorer, const Table& table,
                                                    const std::string& feature, int grid_points,
                                                    size_t max_rows) {
  if (grid_points < 2) return Invalid("partial dependence needs at least 2 grid points");
  const ModelManifest& m = scorer.manifest();
  auto input = std::find_if(m.inputs.begin(), m.inputs.end(),
                            [&](const ModelInput& i) { return i.name == feature; });
  if (input == m.inputs.end()) {
    return Invalid("partial dependence: '" + feature + "' is not an input of the model");
  }
  const Column* column = table.Find(feature);
  if (column == nullptr) return Invalid("partial dependence: the table lacks '" + feature + "'");
  if (column->type() == ColumnType::kTimestamp) {
    return Invalid("partial dependence does not apply to timestamp column " + feature);
  }
  // The rows to average over: the first max_rows (a deterministic choice; the caller orders).
  const size_t rows = max_rows > 0 ? std::min(max_rows, table.num_rows()) : table.num_rows();
  std::vector<size_t> indices(rows);
  std::iota(indices.begin(), indices.end(), size_t{0});
  Table base = rows == table.num_rows() ? table : TakeRows(table, indices);
  size_t position = 0;
  while (base.columns()[position].name() != feature) ++position;

  PartialDependenceResult out;
  out.feature = feature;
  out.categorical = IsCategorical(m, *input);
  if (out.categorical) {
    for (const std::string& level : Levels(*column, static_cast<size_t>(grid_points))) {
      out.grid.push_back(level);
    }
  } else {
    if (column->type() == ColumnType::kString) {
      return Invalid("partial dependence: '" + feature + "' holds text but the model takes " +
                     ColumnTypeName(input->type));
    }
    for (double v : QuantileGrid(*column, grid_points)) out.grid.push_back(v);
  }
  if (out.grid.empty()) {
    return Invalid("partial dependence: '" + feature + "' has no non-missing value");
  }
  for (const Json& value : out.grid) {
    Table modified = base;
    ASSIGN_OR_RETURN(modified.mutable_columns()[position],
                     ConstantColumn(feature, column->type(), value, rows));
    ASSIGN_OR_RETURN(std::vector<double> p, scorer.PredictTable(modified));
    double sum = 0;
    for (double v : p) sum += v;
    out.mean.push_back(rows > 0 ? sum / static_cast<double>(rows) : 0.0);
  }
  return out;
}

std::string PartialDependenceSvg(const PartialDependenceResult& pdp,
                                 const std::string& output_name) {
  if (pdp.grid.empty() || pdp.grid.size() != pdp.mean.size()) return "";
  explain_svg::Frame f;
  const auto [lo, hi] = std::minmax_element(pdp.mean.begin(), pdp.mean.end());
  // Bars start at 0 (a bar's length must mean its value); a line may zoom to its range.
  const std::vector<double> y_ticks =
      pdp.categorical ? explain_svg::NiceTicks(std::min(*lo, 0.0), std::max(*hi, 0.0))
                      : explain_svg::NiceTicks(*lo, *hi);
  if (y_ticks.size() < 2) return "";
  f.y_min = y_ticks.front();
  f.y_max = y_ticks.back();
  const std::string title = "Partial dependence on " + pdp.feature;
  std::string svg;
  if (pdp.categorical) {
    f.bottom_margin = 90;  // room for slanted level names
    svg = explain_svg::Open(f, title) + explain_svg::Axes(f, {}, y_ticks, "", output_name);
    svg += explain_svg::Text(f.left + f.width / 2, f.top + f.height + f.bottom_margin - 8,
                             pdp.feature, "middle");
    const double slot = f.width / static_cast<double>(pdp.grid.size());
    for (size_t i = 0; i < pdp.grid.size(); ++i) {
      const std::string level =
          pdp.grid[i].is_string() ? pdp.grid[i].get<std::string>() : pdp.grid[i].dump();
      const double x = f.left + slot * static_cast<double>(i) + slot * 0.15;
      const double y = f.Y(pdp.mean[i]), zero = f.Y(0);
      svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", std::min(y, zero)) +
             "\" width=\"" + Fmt("%.1f", std::max(slot * 0.7, 1.0)) + "\" height=\"" +
             Fmt("%.1f", std::max(std::fabs(zero - y), 0.5)) + "\" fill=\"" + explain_svg::kBlue +
             "\"><title>" + HtmlEscape(level) + ": " + Fmt("%.4f", pdp.mean[i]) + "</title></rect>";
      const double lx = x + slot * 0.35, ly = f.top + f.height + 12;
      svg += explain_svg::Text(
          lx, ly, level.size() > 14 ? level.substr(0, 13) + "..." : level, "end", "#52606d",
          "transform=\"rotate(-40 " + Fmt("%.1f", lx) + " " + Fmt("%.1f", ly) + ")\"");
    }
    return svg + "</svg>";
  }
  std::vector<double> xs;
  for (const Json& g : pdp.grid) xs.push_back(g.get<double>());
  const std::vector<double> x_ticks = explain_svg::NiceTicks(xs.front(), xs.back());
  if (x_ticks.size() < 2) return "";
  f.x_min = x_ticks.front();
  f.x_max = x_ticks.back();
  svg = explain_svg::Open(f, title) +
        explain_svg::Axes(f, x_ticks, y_ticks, pdp.feature, output_name);
  svg += "<polyline fill=\"none\" stroke=\"" + std::string(explain_svg::kBlue) +
         "\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < xs.size(); ++i) {
    svg += (i ? " " : "") + Fmt("%.1f", f.X(xs[i])) + "," + Fmt("%.1f", f.Y(pdp.mean[i]));
  }
  svg += "\"/>";
  for (size_t i = 0; i < xs.size(); ++i) {
    svg += "<circle cx=\"" + Fmt("%.1f", f.X(xs[i])) + "\" cy=\"" + Fmt("%.1f", f.Y(pdp.mean[i])) +
           "\" r=\"3\" fill=\"" + explain_svg::kBlue + "\"><title>" + HtmlEscape(pdp.feature) +
           " = " + Fmt("%.6g", xs[i]) + ": " + Fmt("%.4f", pdp.mean[i]) + "</title></circle>";
  }
  return svg + "</svg>";
}

std::string ImportanceSvg(const std::vector<FeatureImportance>& importance, size_t limit) {
  const size_t n = std::min(limit, importance.size());
  if (n == 0) return "";
  explain_svg::Frame f;
  f.left = 150;
  f.height = 18.0 * static_cast<double>(n);
  const double max = importance[0].share;
  const std::vector<double> x_ticks = explain_svg::NiceTicks(0, std::max(max, 1e-9));
  f.x_min = 0;
  f.x_max = x_ticks.back();
  std::string svg = explain_svg::Open(f, "Global importance") +
                    explain_svg::Axes(f, x_ticks, {}, "Share of mean |contribution|", "");
  for (size_t i = 0; i < n; ++i) {
    const FeatureImportance& fi = importance[i];
    const double y = f.top + 18.0 * static_cast<double>(i) + 3;
    svg += "<rect x=\"" + Fmt("%.1f", f.left) + "\" y=\"" + Fmt("%.1f", y) + "\" width=\"" +
           Fmt("%.1f", std::max(f.X(fi.share) - f.left, 0.5)) + "\" height=\"12\" fill=\"" +
           explain_svg::kBlue + "\"><title>" + HtmlEscape(fi.feature) + ": " +
           Fmt("%.1f%%", 100 * fi.share) + " (mean |contribution| " + Fmt("%.4g", fi.mean_abs) +
           ")</title></rect>";
    const std::string name = fi.feature.size() > 22 ? fi.feature.substr(0, 21) + "..." : fi.feature;
    svg += explain_svg::Text(f.left - 6, y + 10, name, "end", "#1f2933");
  }
  return svg + "</svg>";
}

StatusOr<ExplainResult> ExplainReport(const Scorer& scorer, const Table& table,
                                      const ExplainOptions& options) {
  RETURN_IF_ERROR(options.reasons.Validate());
  if (table.num_rows() == 0) return Invalid("there are no rows to explain");
  const ModelManifest& m = scorer.manifest();
  ASSIGN_OR_RETURN(Contributions c, scorer.Contributions(table));
  ASSIGN_OR_RETURN(std::vector<double> margin, scorer.PredictMargin(table));
  ASSIGN_OR_RETURN(std::vector<double> prediction, scorer.PredictTable(table));
  ExplainResult result;
  double worst = 0;
  for (size_t r = 0; r < c.rows; ++r) {
    double sum = c.bias[r];
    for (size_t j = 0; j < c.features.size(); ++j) sum += c.at(r, j);
    worst = std::max(worst, std::fabs(sum - margin[r]));
  }
  result.additivity_max_error = worst;
  const std::vector<FeatureImportance> importance = GlobalImportance(c);
  const std::vector<std::string> used = FeaturesUsed(c);
  ASSIGN_OR_RETURN(auto reasons, ReasonCodes(c, table, options.reasons));

  Json& j = result.json;
  j["method"] = c.method;
  j["kind"] = m.kind;
  j["task"] = ModelTaskName(m.task);
  j["explained_rows"] = c.rows;
  j["features"] = c.features;
  j["features_used"] = used;
  j["adverse"] = options.reasons.adverse;
  if (m.task == ModelTask::kBinaryClassification) {
    j["adverse_class"] =
        options.reasons.adverse == "positive" ? m.target.positive : m.target.classes.at(0);
  }
  j["additivity_max_error"] = Num(worst);
  j["global_importance"] = Json::array();
  for (const FeatureImportance& f : importance) {
    j["global_importance"].push_back(
        {{"feature", f.feature}, {"mean_abs", Num(f.mean_abs)}, {"share", Num(f.share)}});
  }
  // How often each feature is among a row's reasons, over every row explained.
  std::map<std::string, size_t> frequency;
  for (const auto& row : reasons) {
    for (const ReasonCode& code : row) ++frequency[code.feature];
  }
  j["reason_code_frequency"] = Json::array();
  for (size_t f = 0; f < c.features.size(); ++f) {
    auto it = frequency.find(c.features[f]);
    if (it == frequency.end()) continue;
    j["reason_code_frequency"].push_back({{"feature", c.features[f]},
                                          {"code", CodeOf(options.reasons, c.features[f], f)},
                                          {"rows", it->second}});
  }
  std::stable_sort(j["reason_code_frequency"].begin(), j["reason_code_frequency"].end(),
                   [](const Json& a, const Json& b) {
                     return a["rows"].get<size_t>() > b["rows"].get<size_t>();
                   });
  // The sample: evenly spaced rows, so it spreads over the whole table deterministically.
  std::vector<size_t> sample;
  const size_t keep = std::min(options.sample, c.rows);
  for (size_t k = 0; k < keep; ++k) sample.push_back(k * c.rows / keep);
  j["rows"] = Json::array();
  for (size_t r : sample) {
    Json contributions = Json::object();
    for (size_t f = 0; f < c.features.size(); ++f) contributions[c.features[f]] = Num(c.at(r, f));
    Json codes = Json::array();
    for (const ReasonCode& code : reasons[r]) codes.push_back(code.ToJson());
    Json row = {{"row", r},
                {"prediction", Num(prediction[r])},
                {"margin", Num(margin[r])},
                {"bias", Num(c.bias[r])},
                {"contributions", contributions},
                {"reason_codes", codes}};
    if (!c.points.empty()) {
      Json points = Json::object();
      for (size_t f = 0; f < c.features.size(); ++f) {
        points[c.features[f]] = Num(c.points[r * c.features.size() + f]);
      }
      row["points"] = points;
    }
    j["rows"].push_back(std::move(row));
  }
  // Partial dependence: the features asked for, else the most important ones the model uses.
  std::vector<std::string> pdp_features = options.pdp_features;
  if (pdp_features.empty()) {
    for (const FeatureImportance& f : importance) {
      if (pdp_features.size() >= options.pdp_top) break;
      if (f.mean_abs > 0) pdp_features.push_back(f.feature);
    }
  }
  j["partial_dependence"] = Json::object();
  std::vector<PartialDependenceResult> pdps;
  for (const std::string& feature : pdp_features) {
    ASSIGN_OR_RETURN(
        PartialDependenceResult pdp,
        PartialDependence(scorer, table, feature, options.grid_points, options.pdp_max_rows));
    j["partial_dependence"][feature] = pdp.ToJson();
    pdps.push_back(std::move(pdp));
  }

  // The page.
  const std::string output = m.outputs.at(0).name;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                     HtmlEscape(options.title) + "</title><style>" + kStyle +
                     "</style></head><body>\n<h1>" + HtmlEscape(options.title) +
                     "</h1>\n<p class=\"meta\">" + HtmlEscape(m.kind) + " (" +
                     HtmlEscape(c.method) + "), " + HtmlEscape(ModelTaskName(m.task)) +
                     "; target " + HtmlEscape(m.target.column);
  if (j.contains("adverse_class")) {
    html += "; adverse outcome " + HtmlEscape(j["adverse_class"].get<std::string>());
  }
  html += "; " + std::to_string(c.rows) + " rows explained; additivity max error " +
          Fmt("%.3g", worst) + "</p>\n";
  html +=
      "<h2>Global importance</h2><p>Mean absolute contribution to the margin (log-odds for "
      "classification) per input; " +
      std::to_string(used.size()) + " of " + std::to_string(c.features.size()) +
      " inputs are used by the model.</p><div class=\"plots\">" + ImportanceSvg(importance) +
      "</div><table><tr><th>feature</th><th>mean |contribution|</th><th>share</th>"
      "<th>top reason in rows</th></tr>";
  for (const FeatureImportance& f : importance) {
    auto it = frequency.find(f.feature);
    html += "<tr><td>" + HtmlEscape(f.feature) + "</td><td>" + Fmt("%.4g", f.mean_abs) +
            "</td><td>" + Fmt("%.1f%%", 100 * f.share) + "</td><td>" +
            std::to_string(it == frequency.end() ? 0 : it->second) + "</td></tr>";
  }
  html += "</table>\n";
  if (!pdps.empty()) {
    html += "<h2>Partial dependence</h2><p>Mean " + HtmlEscape(output) +
            " with the feature set to each value, every other input as it is (first " +
            std::to_string(std::min(options.pdp_max_rows ? options.pdp_max_rows : c.rows, c.rows)) +
            " rows).</p><div class=\"plots\">";
    for (const PartialDependenceResult& pdp : pdps) html += PartialDependenceSvg(pdp, output);
    html += "</div>\n";
  }
  html += "<h2>Reason codes (sample)</h2><table><tr><th>row</th><th>" + HtmlEscape(output) +
          "</th><th>code</th><th>feature</th><th>value</th><th>contribution</th>"
          "<th>text</th></tr>";
  for (const Json& row : j["rows"]) {
    const Json& codes = row["reason_codes"];
    const std::string head =
        "<td>" + std::to_string(row["row"].get<size_t>()) + "</td><td>" +
        Fmt("%.4f",
            row["prediction"].is_number() ? row["prediction"].get<double>() : std::nan("")) +
        "</td>";
    if (codes.empty()) {
      html += "<tr>" + head +
              "<td colspan=\"5\" class=\"text\">no feature pushed towards the "
              "adverse outcome</td></tr>";
      continue;
    }
    for (size_t k = 0; k < codes.size(); ++k) {
      const Json& code = codes[k];
      html +=
          "<tr>" + (k == 0 ? head : std::string("<td></td><td></td>")) + "<td>" +
          HtmlEscape(code["code"].get<std::string>()) + "</td><td>" +
          HtmlEscape(code["feature"].get<std::string>()) + "</td><td>" +
          HtmlEscape(CellText(code["value"])) + "</td><td>" +
          Fmt("%.4f", code["contribution"].is_number() ? code["contribution"].get<double>() : 0.0) +
          "</td><td class=\"text\">" + HtmlEscape(code["text"].get<std::string>()) + "</td></tr>";
    }
  }
  html += "</table>\n</body></html>\n";
  result.html = std::move(html);
  return result;
}

}  // namespace plinth
