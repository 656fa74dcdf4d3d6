#include "train/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "data/validation.h"

namespace plinth {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr double kLogLossClip = 1e-15;
// ROC points closer than this to the previous one kept (in both FPR and TPR) are dropped.
constexpr double kRocStep = 1.0 / 200;

// A double for JSON: null if NaN or infinite (JSON has neither).
Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(); }

Json NumArray(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push_back(Num(v));
  return out;
}

double Ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

Status CheckWeights(std::span<const float> weights, size_t n, double* total) {
  if (!weights.empty() && weights.size() != n) {
    return absl::InvalidArgumentError(std::to_string(weights.size()) + " weights for " +
                                      std::to_string(n) + " rows");
  }
  *total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i]) || weights[i] < 0) {
      return absl::InvalidArgumentError("weight at row " + std::to_string(i) +
                                        " is negative or not finite");
    }
    *total += weights[i];
  }
  if (weights.empty()) *total = static_cast<double>(n);
  if (*total <= 0) return absl::InvalidArgumentError("the weights sum to 0");
  return absl::OkStatus();
}

// Fills the ROC curve, AUC and KS of `m` from rows ranked by score, highest first.
void RankMetrics(std::span<const float> labels, std::span<const float> scores,
                 const std::vector<double>& w, const std::vector<size_t>& order, BinaryMetrics* m) {
  if (m->positives <= 0 || m->negatives <= 0) {
    m->auc = m->gini = m->ks = m->ks_score = kNaN;
    return;
  }
  double tp = 0, fp = 0, area = 0;
  m->ks = 0;
  m->ks_score = scores[order[0]];
  m->roc_fpr = {0};
  m->roc_tpr = {0};
  m->roc_threshold = {kInfinity};
  for (size_t i = 0; i < order.size();) {
    const float score = scores[order[i]];
    double group_pos = 0, group_neg = 0;
    for (; i < order.size() && scores[order[i]] == score; ++i) {
      (labels[order[i]] == 1.0f ? group_pos : group_neg) += w[order[i]];
    }
    // Negatives in this group beat every positive ranked above and tie with half of this
    // group's positives: the trapezoid under this step of the curve.
    area += group_neg * (tp + group_pos / 2);
    tp += group_pos;
    fp += group_neg;
    const double tpr = tp / m->positives, fpr = fp / m->negatives;
    if (tpr - fpr > m->ks) {
      m->ks = tpr - fpr;
      m->ks_score = score;
    }
    const bool last = i == order.size();
    if (last || fpr - m->roc_fpr.back() >= kRocStep || tpr - m->roc_tpr.back() >= kRocStep) {
      m->roc_fpr.push_back(fpr);
      m->roc_tpr.push_back(tpr);
      m->roc_threshold.push_back(score);
    }
  }
  m->auc = area / (m->positives * m->negatives);
  m->gini = 2 * m->auc - 1;
}

void Deciles(std::span<const float> labels, std::span<const float> scores,
             const std::vector<double>& w, const std::vector<size_t>& order, BinaryMetrics* m) {
  struct Sum {
    size_t rows = 0;
    double weight = 0, positives = 0, weighted_score = 0;
    double min_score = kInfinity, max_score = -kInfinity;
  };
  Sum sums[10];
  double before = 0;
  for (size_t r : order) {
    int d = static_cast<int>(std::floor(10 * (before + w[r] / 2) / m->weight));
    d = std::clamp(d, 0, 9);
    before += w[r];
    Sum& s = sums[d];
    ++s.rows;
    s.weight += w[r];
    s.positives += labels[r] * w[r];
    s.weighted_score += scores[r] * w[r];
    s.min_score = std::min<double>(s.min_score, scores[r]);
    s.max_score = std::max<double>(s.max_score, scores[r]);
  }
  double cum_weight = 0, cum_positives = 0;
  for (int d = 0; d < 10; ++d) {
    const Sum& s = sums[d];
    if (s.rows == 0) continue;
    cum_weight += s.weight;
    cum_positives += s.positives;
    DecileStats stats;
    stats.decile = d + 1;
    stats.rows = s.rows;
    stats.weight = s.weight;
    stats.min_score = s.min_score;
    stats.max_score = s.max_score;
    stats.mean_score = s.weight > 0 ? s.weighted_score / s.weight : kNaN;
    stats.observed_rate = s.weight > 0 ? s.positives / s.weight : kNaN;
    stats.positives = s.positives;
    stats.cumulative_population = cum_weight / m->weight;
    stats.cumulative_gain = m->positives > 0 ? cum_positives / m->positives : kNaN;
    stats.lift = m->base_rate > 0 ? stats.observed_rate / m->base_rate : kNaN;
    stats.cumulative_lift =
        m->base_rate > 0 && cum_weight > 0 ? (cum_positives / cum_weight) / m->base_rate : kNaN;
    m->deciles.push_back(stats);
  }
}

// ---------------------------------------------------------------------------------------------
// SVG

// Plot geometry: a plot area with room for tick labels and axis titles around it.
struct Frame {
  double left = 56, top = 14, width = 260, height = 220;
  double x_max = 1, y_max = 1;
  double X(double v) const { return left + std::clamp(v / x_max, 0.0, 1.0) * width; }
  double Y(double v) const { return top + height - std::clamp(v / y_max, 0.0, 1.0) * height; }
  int svg_width() const { return static_cast<int>(left + width + 20); }
  int svg_height() const { return static_cast<int>(top + height + 46); }
};

std::string Fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, a);
  return buf;
}

// The smallest of a few round numbers at least `v` (axes end on a readable value).
double NiceMax(double v) {
  for (double nice : {0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0}) {
    if (v <= nice + 1e-12) return nice;
  }
  return std::ceil(v);
}

std::string Tick(double v) {
  std::string s = Fmt("%.3f", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string SvgOpen(const Frame& f, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(f.svg_width()) +
         "\" height=\"" + std::to_string(f.svg_height()) + "\" viewBox=\"0 0 " +
         std::to_string(f.svg_width()) + " " + std::to_string(f.svg_height()) +
         "\" role=\"img\" font-family=\"system-ui,-apple-system,'Segoe UI',sans-serif\" "
         "font-size=\"11\"><title>" +
         title + "</title>";
}

// How many steps to divide [0, max] into (4 or 5) so each step is 1, 2, 2.5 or 5 times a power
// of ten: ticks at 0.1 steps on a 0.5 axis rather than at 0.125.
int Steps(double max) {
  for (int steps : {4, 5}) {
    const double step = max / steps;
    const double mantissa = step / std::pow(10.0, std::floor(std::log10(step)));
    for (double nice : {1.0, 2.0, 2.5, 5.0, 10.0}) {
      if (std::fabs(mantissa - nice) < 1e-9) return steps;
    }
  }
  return 4;
}

// Grid, axes, ticks on round numbers, and the two axis titles.
std::string Axes(const Frame& f, const std::string& x_title, const std::string& y_title) {
  std::string svg;
  const int x_steps = Steps(f.x_max), y_steps = Steps(f.y_max);
  for (int i = 0; i <= x_steps; ++i) {
    const double v = f.x_max * i / x_steps, x = f.X(v);
    svg += "<line x1=\"" + Fmt("%.1f", x) + "\" y1=\"" + Fmt("%.1f", f.top) + "\" x2=\"" +
           Fmt("%.1f", x) + "\" y2=\"" + Fmt("%.1f", f.top + f.height) + "\" stroke=\"#e4e7eb\"/>";
    svg += "<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", f.top + f.height + 14) +
           "\" text-anchor=\"middle\" fill=\"#52606d\">" + Tick(v) + "</text>";
  }
  for (int i = 0; i <= y_steps; ++i) {
    const double v = f.y_max * i / y_steps, y = f.Y(v);
    svg += "<line x1=\"" + Fmt("%.1f", f.left) + "\" y1=\"" + Fmt("%.1f", y) + "\" x2=\"" +
           Fmt("%.1f", f.left + f.width) + "\" y2=\"" + Fmt("%.1f", y) + "\" stroke=\"#e4e7eb\"/>";
    svg += "<text x=\"" + Fmt("%.1f", f.left - 6) + "\" y=\"" + Fmt("%.1f", y + 4) +
           "\" text-anchor=\"end\" fill=\"#52606d\">" + Tick(v) + "</text>";
  }
  svg += "<polyline points=\"" + Fmt("%.1f", f.left) + "," + Fmt("%.1f", f.top) + " " +
         Fmt("%.1f", f.left) + "," + Fmt("%.1f", f.top + f.height) + " " +
         Fmt("%.1f", f.left + f.width) + "," + Fmt("%.1f", f.top + f.height) +
         "\" fill=\"none\" stroke=\"#829ab1\"/>";
  svg += "<text x=\"" + Fmt("%.1f", f.left + f.width / 2) + "\" y=\"" +
         Fmt("%.1f", f.top + f.height + 34) + "\" text-anchor=\"middle\" fill=\"#1f2933\">" +
         x_title + "</text>";
  const double cy = f.top + f.height / 2;
  svg += "<text x=\"14\" y=\"" + Fmt("%.1f", cy) + "\" text-anchor=\"middle\" fill=\"#1f2933\" " +
         "transform=\"rotate(-90 14 " + Fmt("%.1f", cy) + ")\">" + y_title + "</text>";
  return svg;
}

std::string Diagonal(const Frame& f, double max) {
  return "<line x1=\"" + Fmt("%.1f", f.X(0)) + "\" y1=\"" + Fmt("%.1f", f.Y(0)) + "\" x2=\"" +
         Fmt("%.1f", f.X(max)) + "\" y2=\"" + Fmt("%.1f", f.Y(max)) +
         "\" stroke=\"#9fb3c8\" stroke-dasharray=\"4 3\"/>";
}

// The numbers of an array field of `j`, or an empty vector if it is absent or not all numbers.
std::vector<double> Numbers(const Json& j, const char* key) {
  std::vector<double> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (const Json& v : j[key]) {
    if (!v.is_number()) return {};
    out.push_back(v.get<double>());
  }
  return out;
}

}  // namespace

StatusOr<BinaryMetrics> EvaluateBinary(std::span<const float> labels, std::span<const float> scores,
                                       std::span<const float> weights, double threshold) {
  const size_t n = labels.size();
  if (scores.size() != n) {
    return absl::InvalidArgumentError(std::to_string(scores.size()) + " scores for " +
                                      std::to_string(n) + " labels");
  }
  if (n == 0) return absl::InvalidArgumentError("no rows to evaluate");
  if (!std::isfinite(threshold)) return absl::InvalidArgumentError("the threshold is not finite");
  BinaryMetrics m;
  RETURN_IF_ERROR(CheckWeights(weights, n, &m.weight));
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0.0f && labels[i] != 1.0f) {
      return absl::InvalidArgumentError("label at row " + std::to_string(i) + " is not 0 or 1");
    }
    if (!(scores[i] >= 0.0f && scores[i] <= 1.0f)) {
      return absl::InvalidArgumentError("score at row " + std::to_string(i) +
                                        " is not a probability in [0, 1]");
    }
  }
  std::vector<double> w(n, 1.0);
  if (!weights.empty()) std::copy(weights.begin(), weights.end(), w.begin());

  m.rows = n;
  m.threshold = threshold;
  m.histogram_positives.assign(BinaryMetrics::kHistogramBins, 0);
  m.histogram_negatives.assign(BinaryMetrics::kHistogramBins, 0);
  double log_loss = 0, brier = 0;
  ConfusionMatrix& c = m.confusion;
  for (size_t i = 0; i < n; ++i) {
    const bool positive = labels[i] == 1.0f;
    const double s = scores[i];
    (positive ? m.positives : m.negatives) += w[i];
    const double p = std::clamp(s, kLogLossClip, 1 - kLogLossClip);
    log_loss -= w[i] * (positive ? std::log(p) : std::log(1 - p));
    brier += w[i] * (s - labels[i]) * (s - labels[i]);
    const bool predicted = s >= threshold;
    (predicted ? (positive ? c.true_positives : c.false_positives)
               : (positive ? c.false_negatives : c.true_negatives)) += w[i];
    int bin = std::min(static_cast<int>(s * BinaryMetrics::kHistogramBins),
                       BinaryMetrics::kHistogramBins - 1);
    (positive ? m.histogram_positives : m.histogram_negatives)[static_cast<size_t>(bin)] += w[i];
  }
  m.base_rate = m.positives / m.weight;
  m.log_loss = log_loss / m.weight;
  m.brier = brier / m.weight;
  m.precision = Ratio(c.true_positives, c.true_positives + c.false_positives);
  m.recall = Ratio(c.true_positives, c.true_positives + c.false_negatives);
  m.f1 = Ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.accuracy = (c.true_positives + c.true_negatives) / m.weight;

  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  RankMetrics(labels, scores, w, order, &m);
  Deciles(labels, scores, w, order, &m);
  return m;
}

Json BinaryMetrics::ToJson() const {
  Json deciles_json = Json::array();
  for (const DecileStats& d : deciles) {
    deciles_json.push_back({{"decile", d.decile},
                            {"rows", d.rows},
                            {"weight", Num(d.weight)},
                            {"min_score", Num(d.min_score)},
                            {"max_score", Num(d.max_score)},
                            {"mean_score", Num(d.mean_score)},
                            {"observed_rate", Num(d.observed_rate)},
                            {"positives", Num(d.positives)},
                            {"cumulative_population", Num(d.cumulative_population)},
                            {"cumulative_gain", Num(d.cumulative_gain)},
                            {"lift", Num(d.lift)},
                            {"cumulative_lift", Num(d.cumulative_lift)}});
  }
  return {{"rows", rows},
          {"weight", Num(weight)},
          {"positives", Num(positives)},
          {"negatives", Num(negatives)},
          {"base_rate", Num(base_rate)},
          {"auc", Num(auc)},
          {"gini", Num(gini)},
          {"ks", Num(ks)},
          {"ks_score", Num(ks_score)},
          {"log_loss", Num(log_loss)},
          {"brier", Num(brier)},
          {"threshold", Num(threshold)},
          {"confusion",
           {{"true_positives", Num(confusion.true_positives)},
            {"false_positives", Num(confusion.false_positives)},
            {"true_negatives", Num(confusion.true_negatives)},
            {"false_negatives", Num(confusion.false_negatives)}}},
          {"precision", Num(precision)},
          {"recall", Num(recall)},
          {"f1", Num(f1)},
          {"accuracy", Num(accuracy)},
          {"deciles", deciles_json},
          {"roc",
           {{"fpr", NumArray(roc_fpr)},
            {"tpr", NumArray(roc_tpr)},
            {"threshold", NumArray(roc_threshold)}}},
          {"score_histogram",
           {{"bins", kHistogramBins},
            {"positives", NumArray(histogram_positives)},
            {"negatives", NumArray(histogram_negatives)}}}};
}

StatusOr<RegressionMetrics> EvaluateRegression(std::span<const float> labels,
                                               std::span<const float> predictions,
                                               std::span<const float> weights) {
  const size_t n = labels.size();
  if (predictions.size() != n) {
    return absl::InvalidArgumentError(std::to_string(predictions.size()) + " predictions for " +
                                      std::to_string(n) + " labels");
  }
  if (n == 0) return absl::InvalidArgumentError("no rows to evaluate");
  RegressionMetrics m;
  RETURN_IF_ERROR(CheckWeights(weights, n, &m.weight));
  m.rows = n;
  auto weight = [&](size_t i) { return weights.empty() ? 1.0 : static_cast<double>(weights[i]); };
  double mean = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(labels[i]) || !std::isfinite(predictions[i])) {
      return absl::InvalidArgumentError("row " + std::to_string(i) +
                                        " has a non-finite label or prediction");
    }
    mean += weight(i) * labels[i];
  }
  mean /= m.weight;
  double squared = 0, absolute = 0, total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(predictions[i]) - labels[i];
    squared += weight(i) * e * e;
    absolute += weight(i) * std::fabs(e);
    total += weight(i) * (labels[i] - mean) * (labels[i] - mean);
  }
  m.rmse = std::sqrt(squared / m.weight);
  m.mae = absolute / m.weight;
  m.r2 = total > 0 ? 1 - squared / total : kNaN;
  return m;
}

Json RegressionMetrics::ToJson() const {
  return {{"rows", rows},
          {"weight", Num(weight)},
          {"rmse", Num(rmse)},
          {"mae", Num(mae)},
          {"r2", Num(r2)}};
}

StatusOr<PsiResult> PopulationStabilityIndex(std::span<const float> reference,
                                             std::span<const float> current, int bins) {
  if (bins < 2) return absl::InvalidArgumentError("PSI needs at least 2 bins");
  if (reference.empty() || current.empty()) {
    return absl::InvalidArgumentError("PSI needs values on both sides");
  }
  std::vector<double> ref(reference.begin(), reference.end());
  std::vector<double> cur(current.begin(), current.end());
  for (const std::vector<double>* side : {&ref, &cur}) {
    for (double v : *side) {
      if (!std::isfinite(v)) return absl::InvalidArgumentError("PSI values must be finite");
    }
  }
  const std::vector<double> edges = QuantileEdges(ref, bins);
  std::vector<double> ref_counts(edges.size() + 1, 0), cur_counts(edges.size() + 1, 0);
  auto bin = [&](double v) {
    return static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());
  };
  for (double v : ref) ref_counts[bin(v)] += 1;
  for (double v : cur) cur_counts[bin(v)] += 1;
  PsiResult result;
  result.psi = Psi(ref_counts, cur_counts);
  for (size_t b = 0; b <= edges.size(); ++b) {
    PsiBin out;
    out.lower = b == 0 ? -kInfinity : edges[b - 1];
    out.upper = b == edges.size() ? kInfinity : edges[b];
    out.reference_share = ref_counts[b] / static_cast<double>(ref.size());
    out.current_share = cur_counts[b] / static_cast<double>(cur.size());
    result.bins.push_back(out);
  }
  return result;
}

Json PsiResult::ToJson() const {
  Json out = Json::array();
  for (const PsiBin& b : bins) {
    out.push_back({{"lower", Num(b.lower)},
                   {"upper", Num(b.upper)},
                   {"reference", Num(b.reference_share)},
                   {"current", Num(b.current_share)}});
  }
  return {{"psi", Num(psi)}, {"bins", out}};
}

std::string RocCurveSvg(const Json& metrics) {
  if (!metrics.is_object() || !metrics.contains("roc")) return "";
  const std::vector<double> fpr = Numbers(metrics["roc"], "fpr");
  const std::vector<double> tpr = Numbers(metrics["roc"], "tpr");
  if (fpr.size() < 2 || fpr.size() != tpr.size()) return "";
  Frame f;
  f.height = f.width;
  std::string svg = SvgOpen(f, "ROC curve") + Axes(f, "False positive rate", "True positive rate") +
                    Diagonal(f, 1);
  svg += "<polyline fill=\"none\" stroke=\"#2680c2\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < fpr.size(); ++i) {
    svg += (i ? " " : "") + Fmt("%.1f", f.X(fpr[i])) + "," + Fmt("%.1f", f.Y(tpr[i]));
  }
  svg += "\"/>";
  if (metrics.contains("auc") && metrics["auc"].is_number()) {
    svg += "<text x=\"" + Fmt("%.1f", f.left + f.width - 8) + "\" y=\"" +
           Fmt("%.1f", f.top + f.height - 10) + "\" text-anchor=\"end\" font-size=\"13\" " +
           "fill=\"#1f2933\">AUC " + Fmt("%.4f", metrics["auc"].get<double>()) + "</text>";
  }
  return svg + "</svg>";
}

std::string CalibrationSvg(const Json& metrics) {
  if (!metrics.is_object() || !metrics.contains("deciles") || !metrics["deciles"].is_array()) {
    return "";
  }
  struct Point {
    int decile;
    double predicted, observed;
  };
  std::vector<Point> points;
  double max = 0;
  for (const Json& d : metrics["deciles"]) {
    if (!d.is_object() || !d.contains("mean_score") || !d["mean_score"].is_number() ||
        !d.contains("observed_rate") || !d["observed_rate"].is_number() || !d.contains("decile") ||
        !d["decile"].is_number_integer()) {
      continue;
    }
    points.push_back(
        {d["decile"].get<int>(), d["mean_score"].get<double>(), d["observed_rate"].get<double>()});
    max = std::max({max, points.back().predicted, points.back().observed});
  }
  if (points.empty()) return "";
  // Rare events put every point near 0: zoom the axes to the data, on a round number.
  Frame f;
  f.height = f.width;
  f.x_max = f.y_max = NiceMax(max);
  std::sort(points.begin(), points.end(),
            [](const Point& a, const Point& b) { return a.predicted < b.predicted; });
  std::string svg = SvgOpen(f, "Calibration by decile") +
                    Axes(f, "Mean predicted probability", "Observed positive rate") +
                    Diagonal(f, f.x_max);
  svg += "<polyline fill=\"none\" stroke=\"#2680c2\" stroke-width=\"1.5\" points=\"";
  for (size_t i = 0; i < points.size(); ++i) {
    svg += (i ? " " : "") + Fmt("%.1f", f.X(points[i].predicted)) + "," +
           Fmt("%.1f", f.Y(points[i].observed));
  }
  svg += "\"/>";
  for (const Point& p : points) {
    svg += "<circle cx=\"" + Fmt("%.1f", f.X(p.predicted)) + "\" cy=\"" +
           Fmt("%.1f", f.Y(p.observed)) + "\" r=\"3.5\" fill=\"#2680c2\"><title>decile " +
           std::to_string(p.decile) + ": predicted " + Fmt("%.4f", p.predicted) + ", observed " +
           Fmt("%.4f", p.observed) + "</title></circle>";
  }
  return svg + "</svg>";
}

std::string ScoreHistogramSvg(const Json& metrics) {
  if (!metrics.is_object() || !metrics.contains("score_histogram")) return "";
  const Json& h = metrics["score_histogram"];
  const std::vector<double> pos = Numbers(h, "positives");
  const std::vector<double> neg = Numbers(h, "negatives");
  if (pos.empty() || pos.size() != neg.size()) return "";
  const double pos_total = std::accumulate(pos.begin(), pos.end(), 0.0);
  const double neg_total = std::accumulate(neg.begin(), neg.end(), 0.0);
  double max = 0;
  for (size_t i = 0; i < pos.size(); ++i) {
    max = std::max({max, Ratio(pos[i], pos_total), Ratio(neg[i], neg_total)});
  }
  Frame f;
  f.y_max = NiceMax(std::max(max, 1e-9));
  std::string svg =
      SvgOpen(f, "Score distribution by class") + Axes(f, "Score", "Share of the class");
  const double bin = f.width / static_cast<double>(pos.size());
  struct Series {
    const std::vector<double>* counts;
    double total;
    const char* colour;
    const char* name;
    double offset;
  };
  const Series series[] = {{&neg, neg_total, "#2680c2", "class 0", 0.0},
                           {&pos, pos_total, "#d64545", "class 1", 0.5}};
  for (const Series& s : series) {
    for (size_t i = 0; i < s.counts->size(); ++i) {
      const double share = Ratio((*s.counts)[i], s.total);
      if (share <= 0) continue;
      const double x = f.left + bin * (static_cast<double>(i) + s.offset) + 0.5;
      const double y = f.Y(share);
      svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" width=\"" +
             Fmt("%.1f", std::max(bin / 2 - 1, 1.0)) + "\" height=\"" +
             Fmt("%.1f", f.top + f.height - y) + "\" fill=\"" + s.colour + "\"><title>" + s.name +
             ", scores " + Tick(static_cast<double>(i) / s.counts->size()) + "-" +
             Tick(static_cast<double>(i + 1) / s.counts->size()) + ": " +
             Fmt("%.1f%%", 100 * share) + "</title></rect>";
    }
  }
  for (int k = 0; k < 2; ++k) {
    const double y = f.top + 8 + 16 * k;
    const double x = f.left + f.width - 110;
    svg += "<rect x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y - 8) +
           "\" width=\"10\" height=\"10\" fill=\"" + series[k].colour + "\"/>";
    svg += "<text x=\"" + Fmt("%.1f", x + 14) + "\" y=\"" + Fmt("%.1f", y + 1) +
           "\" fill=\"#1f2933\">" + series[k].name + " (" + Fmt("%.0f", series[k].total) +
           ")</text>";
  }
  return svg + "</svg>";
}

}  // namespace plinth
