#include "train/logistic.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "train/json_members.h"

namespace plinth {
namespace {

Status Invalid(const std::string& message) { return absl::InvalidArgumentError(message); }

std::string Quoted(std::string_view name) { return "'" + std::string(name) + "'"; }

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

double Sigmoid(double t) {
  if (t >= 0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

// ln(1 + e^t) without overflow.
double Softplus(double t) { return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t)); }

// The training problem in the solver's coordinates: theta[0] is the intercept, theta[1 + j] the
// coefficient of u_j = (v_j - delta_j) / scale_j, where v_ij = x_ij (imputed) - pivot_j is stored
// for its nonzero cells only (so one-hot columns cost only their ones). The pivot is the mean for
// columns that are mostly nonzero, which keeps the centring sums below free of cancellation.
struct Problem {
  size_t n = 0;
  size_t p = 0;
  std::vector<size_t> row_start;  // n + 1
  std::vector<uint32_t> col;
  std::vector<double> val;
  std::vector<double> y;
  std::vector<double> cw;  // C * weight
  std::vector<double> delta;
  std::vector<double> scale;
  LogisticPenalty penalty = LogisticPenalty::kL2;
  bool fit_intercept = true;
  double gradient_scale = 1;  // C * total weight
};

// F at theta; fills eta with each row's log-odds.
double Objective(const Problem& pr, const std::vector<double>& theta, std::vector<double>& eta) {
  std::vector<double> beta(pr.p);
  double base = theta[0];
  for (size_t j = 0; j < pr.p; ++j) {
    beta[j] = theta[1 + j] / pr.scale[j];
    base -= beta[j] * pr.delta[j];
  }
  double loss = 0;
  for (size_t i = 0; i < pr.n; ++i) {
    double t = base;
    for (size_t k = pr.row_start[i]; k < pr.row_start[i + 1]; ++k) t += beta[pr.col[k]] * pr.val[k];
    eta[i] = t;
    if (pr.cw[i] != 0) loss += pr.cw[i] * (Softplus(t) - pr.y[i] * t);
  }
  double penalty = 0;
  for (size_t j = 0; j < pr.p; ++j) {
    const double b = theta[1 + j];
    if (pr.penalty == LogisticPenalty::kL2) penalty += 0.5 * b * b;
    if (pr.penalty == LogisticPenalty::kL1) penalty += std::abs(b);
  }
  return loss + penalty;
}

// The gradient of the smooth part (the loss, plus the l2 penalty) and, when `hessian` is not
// null, its Hessian (row-major (p + 1)^2), both at the log-odds `eta`.
void GradientAndHessian(const Problem& pr, const std::vector<double>& theta,
                        const std::vector<double>& eta, std::vector<double>& gradient,
                        std::vector<double>* hessian) {
  const size_t p = pr.p, np = pr.p + 1;
  std::vector<double> r(pr.n), d(pr.n);
  double r_sum = 0, d_sum = 0;
  for (size_t i = 0; i < pr.n; ++i) {
    const double s = Sigmoid(eta[i]);
    r[i] = pr.cw[i] * (s - pr.y[i]);
    d[i] = pr.cw[i] * s * (1 - s);
    r_sum += r[i];
    d_sum += d[i];
  }
  std::vector<double> rv(p, 0.0), dv(p, 0.0);
  for (size_t i = 0; i < pr.n; ++i) {
    for (size_t k = pr.row_start[i]; k < pr.row_start[i + 1]; ++k) {
      rv[pr.col[k]] += r[i] * pr.val[k];
      dv[pr.col[k]] += d[i] * pr.val[k];
    }
  }
  gradient.assign(np, 0.0);
  gradient[0] = pr.fit_intercept ? r_sum : 0.0;
  for (size_t j = 0; j < p; ++j) {
    gradient[1 + j] = (rv[j] - pr.delta[j] * r_sum) / pr.scale[j];
    if (pr.penalty == LogisticPenalty::kL2) gradient[1 + j] += theta[1 + j];
  }
  if (hessian == nullptr) return;

  // M_jk = sum_i d_i v_ij v_ik over the rows' nonzero pairs (upper triangle, j <= k).
  std::vector<double> m(p * p, 0.0);
  for (size_t i = 0; i < pr.n; ++i) {
    if (d[i] == 0) continue;
    const size_t begin = pr.row_start[i], end = pr.row_start[i + 1];
    for (size_t a = begin; a < end; ++a) {
      const double da = d[i] * pr.val[a];
      double* out = &m[static_cast<size_t>(pr.col[a]) * p];
      for (size_t b = a; b < end; ++b) out[pr.col[b]] += da * pr.val[b];
    }
  }
  std::vector<double>& h = *hessian;
  h.assign(np * np, 0.0);
  h[0] = pr.fit_intercept ? d_sum : 1.0;
  for (size_t j = 0; j < p; ++j) {
    const double hj0 = pr.fit_intercept ? (dv[j] - pr.delta[j] * d_sum) / pr.scale[j] : 0.0;
    h[(1 + j) * np] = h[1 + j] = hj0;
    for (size_t k = j; k < p; ++k) {
      const double v = (m[j * p + k] - pr.delta[j] * dv[k] - pr.delta[k] * dv[j] +
                        pr.delta[j] * pr.delta[k] * d_sum) /
                       (pr.scale[j] * pr.scale[k]);
      h[(1 + j) * np + 1 + k] = h[(1 + k) * np + 1 + j] = v;
    }
    if (pr.penalty == LogisticPenalty::kL2) h[(1 + j) * np + 1 + j] += 1.0;
  }
}

// The largest entry of the minimum-norm subgradient of F, given the smooth part's gradient.
double SubgradientNorm(const Problem& pr, const std::vector<double>& theta,
                       const std::vector<double>& gradient) {
  double norm = std::abs(gradient[0]);
  for (size_t j = 0; j < pr.p; ++j) {
    double g = gradient[1 + j];
    if (pr.penalty == LogisticPenalty::kL1) {
      const double b = theta[1 + j];
      g = b > 0 ? g + 1 : b < 0 ? g - 1 : std::max(std::abs(g) - 1, 0.0);
    }
    norm = std::max(norm, std::abs(g));
  }
  return norm;
}

// Solves h x = rhs by Cholesky, adding the smallest ridge 1e-10 * 100^k * max diagonal (k = 0, 1,
// ...) that lets it factor when h is singular. False if even the largest ridge fails.
bool SolveCholesky(std::vector<double> h, size_t n, const std::vector<double>& rhs,
                   std::vector<double>& x) {
  double max_diag = 0;
  for (size_t i = 0; i < n; ++i) max_diag = std::max(max_diag, h[i * n + i]);
  if (!(max_diag > 0) || !std::isfinite(max_diag)) return false;
  const std::vector<double> original = h;
  double ridge = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    h = original;
    for (size_t i = 0; i < n; ++i) h[i * n + i] += ridge;
    bool ok = true;
    for (size_t j = 0; j < n && ok; ++j) {
      double s = h[j * n + j];
      for (size_t k = 0; k < j; ++k) s -= h[j * n + k] * h[j * n + k];
      if (!(s > 1e-13 * max_diag)) {
        ok = false;
        break;
      }
      const double l = std::sqrt(s);
      h[j * n + j] = l;
      for (size_t i = j + 1; i < n; ++i) {
        double t = h[i * n + j];
        for (size_t k = 0; k < j; ++k) t -= h[i * n + k] * h[j * n + k];
        h[i * n + j] = t / l;
      }
    }
    if (ok) {
      x.assign(n, 0.0);
      for (size_t i = 0; i < n; ++i) {
        double t = rhs[i];
        for (size_t k = 0; k < i; ++k) t -= h[i * n + k] * x[k];
        x[i] = t / h[i * n + i];
      }
      for (size_t i = n; i-- > 0;) {
        double t = x[i];
        for (size_t k = i + 1; k < n; ++k) t -= h[k * n + i] * x[k];
        x[i] = t / h[i * n + i];
      }
      return true;
    }
    ridge = ridge == 0 ? 1e-10 * max_diag : ridge * 100;
  }
  return false;
}

// The proximal Newton target z = argmin_z g.(z - theta) + 0.5 (z - theta)' H (z - theta) +
// |z_b|_1, by cyclic coordinate descent (intercept first, then the features in order), until the
// model's subgradient is below `inner_tol` or after 1,000 cycles.
std::vector<double> ProximalNewtonTarget(const Problem& pr, const std::vector<double>& theta,
                                         const std::vector<double>& g, const std::vector<double>& h,
                                         double inner_tol) {
  const size_t np = pr.p + 1;
  std::vector<double> z = theta;
  std::vector<double> hd(np, 0.0);  // H (z - theta)
  for (int cycle = 0; cycle < 1000; ++cycle) {
    for (size_t j = 0; j < np; ++j) {
      if (j == 0 && !pr.fit_intercept) continue;
      const double hjj = h[j * np + j];
      if (!(hjj > 0)) continue;
      const double grad = g[j] + hd[j];
      double next;
      if (j == 0) {
        next = z[j] - grad / hjj;
      } else if (grad + 1 <= hjj * z[j]) {
        next = z[j] - (grad + 1) / hjj;
      } else if (grad - 1 >= hjj * z[j]) {
        next = z[j] - (grad - 1) / hjj;
      } else {
        next = 0;
      }
      const double step = next - z[j];
      if (step == 0) continue;
      z[j] = next;
      const double* column = &h[j * np];
      for (size_t k = 0; k < np; ++k) hd[k] += step * column[k];
    }
    double worst = 0;
    for (size_t j = 0; j < np; ++j) {
      if (j == 0 && !pr.fit_intercept) continue;
      const double grad = g[j] + hd[j];
      double sub = grad;
      if (j > 0) {
        sub = z[j] > 0 ? grad + 1 : z[j] < 0 ? grad - 1 : std::max(std::abs(grad) - 1, 0.0);
      }
      worst = std::max(worst, std::abs(sub));
    }
    if (worst <= inner_tol) break;
  }
  return z;
}

struct SolveResult {
  std::vector<double> theta;
  LogisticReport report;
};

SolveResult Solve(const Problem& pr, const LogisticParams& params, double base_rate) {
  const size_t np = pr.p + 1;
  SolveResult out;
  std::vector<double>& theta = out.theta;
  theta.assign(np, 0.0);
  if (pr.fit_intercept) theta[0] = std::log(base_rate / (1 - base_rate));
  std::vector<double> eta(pr.n), trial_eta(pr.n), gradient, hessian, step, candidate(np);
  double f = Objective(pr, theta, eta);
  int iterations = 0;
  bool converged = false;
  double norm = 0;
  for (;;) {
    GradientAndHessian(pr, theta, eta, gradient, nullptr);
    norm = SubgradientNorm(pr, theta, gradient);
    if (norm <= params.tol * pr.gradient_scale) {
      converged = true;
      break;
    }
    if (iterations >= params.max_iter) break;
    GradientAndHessian(pr, theta, eta, gradient, &hessian);

    // The target z (theta + full step) and the predicted decrease `decrease` (< 0).
    std::vector<double> z(np);
    double decrease = 0;
    if (pr.penalty == LogisticPenalty::kL1) {
      z = ProximalNewtonTarget(pr, theta, gradient, hessian,
                               std::max(0.01 * norm, 0.1 * params.tol * pr.gradient_scale));
      for (size_t j = 0; j < np; ++j) decrease += gradient[j] * (z[j] - theta[j]);
      for (size_t j = 1; j < np; ++j) decrease += std::abs(z[j]) - std::abs(theta[j]);
    } else {
      std::vector<double> rhs(np);
      for (size_t j = 0; j < np; ++j) rhs[j] = -gradient[j];
      if (!SolveCholesky(hessian, np, rhs, step)) break;
      for (size_t j = 0; j < np; ++j) {
        z[j] = theta[j] + step[j];
        decrease += gradient[j] * step[j];
      }
    }
    if (!(decrease < 0)) {
      converged = true;  // no descent direction left: the gradient is zero to rounding
      break;
    }
    if (-decrease <= 1e-14 * std::max(1.0, std::abs(f))) {
      // The predicted gain is below what F can resolve in double: take the step, which is
      // safe this close to the optimum, and stop.
      double trial = Objective(pr, z, trial_eta);
      if (trial <= f) {
        theta = z;
        eta.swap(trial_eta);
        f = trial;
        ++iterations;
      }
      GradientAndHessian(pr, theta, eta, gradient, nullptr);
      norm = SubgradientNorm(pr, theta, gradient);
      converged = true;
      break;
    }
    const double sigma = pr.penalty == LogisticPenalty::kL1 ? 0.01 : 1e-4;
    double t = 1;
    bool accepted = false;
    for (int halving = 0; halving < 60; ++halving) {
      if (t == 1) {
        candidate = z;
      } else {
        for (size_t j = 0; j < np; ++j) candidate[j] = theta[j] + t * (z[j] - theta[j]);
      }
      const double trial = Objective(pr, candidate, trial_eta);
      if (std::isfinite(trial) && trial <= f + sigma * t * decrease) {
        theta = candidate;
        eta.swap(trial_eta);
        f = trial;
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) break;
    ++iterations;
  }
  out.report.iterations = iterations;
  out.report.converged = converged;
  out.report.objective = f;
  out.report.gradient_norm = norm / pr.gradient_scale;
  return out;
}

Status CheckData(const TrainingData& data) {
  if (data.features == nullptr) return Invalid("training data has no feature matrix");
  const Matrix& m = *data.features;
  if (m.rows == 0 || m.cols == 0) return Invalid("training data is empty");
  if (m.values.size() != m.rows * m.cols) {
    return Invalid("training matrix holds " + std::to_string(m.values.size()) + " values, not " +
                   std::to_string(m.rows) + " x " + std::to_string(m.cols));
  }
  if (!m.feature_names.empty() && m.feature_names.size() != m.cols) {
    return Invalid("training matrix has " + std::to_string(m.feature_names.size()) +
                   " feature names for " + std::to_string(m.cols) + " columns");
  }
  if (m.cols >= std::numeric_limits<uint32_t>::max()) return Invalid("too many features");
  if (data.labels.size() != m.rows) {
    return Invalid("training data has " + std::to_string(data.labels.size()) + " labels for " +
                   std::to_string(m.rows) + " rows");
  }
  if (!data.weights.empty() && data.weights.size() != m.rows) {
    return Invalid("training data has " + std::to_string(data.weights.size()) + " weights for " +
                   std::to_string(m.rows) + " rows");
  }
  double total = 0, positive = 0;
  for (size_t i = 0; i < m.rows; ++i) {
    const float y = data.labels[i];
    if (y != 0.0f && y != 1.0f) {
      return Invalid("training label at row " + std::to_string(i) + " is " + Number(y) +
                     "; binary labels are 0 or 1");
    }
    const double w = data.weights.empty() ? 1.0 : data.weights[i];
    if (!std::isfinite(w) || w < 0) {
      return Invalid("training weight at row " + std::to_string(i) + " is " + Number(w) +
                     "; weights are finite and >= 0");
    }
    total += w;
    positive += y == 1.0f ? w : 0.0;
  }
  if (!(total > 0)) return Invalid("training weights are all zero");
  if (positive == 0 || positive == total) {
    return Invalid("training labels hold only one class (among rows of positive weight)");
  }
  return absl::OkStatus();
}

}  // namespace

std::string LogisticPenaltyName(LogisticPenalty penalty) {
  switch (penalty) {
    case LogisticPenalty::kL2:
      return "l2";
    case LogisticPenalty::kL1:
      return "l1";
    case LogisticPenalty::kNone:
      return "none";
  }
  return "l2";
}

Status LogisticParams::Validate() const {
  if (!(C > 0) || !std::isfinite(C)) return Invalid("parameter C must be > 0 and finite");
  if (max_iter < 1) return Invalid("parameter max_iter must be >= 1");
  if (!(tol > 0) || !std::isfinite(tol)) return Invalid("parameter tol must be > 0 and finite");
  return absl::OkStatus();
}

Json LogisticParams::ToJson() const {
  return {{"penalty", LogisticPenaltyName(penalty)},
          {"C", C},
          {"max_iter", max_iter},
          {"tol", tol},
          {"fit_intercept", fit_intercept},
          {"standardize", standardize}};
}

StatusOr<LogisticParams> LogisticParams::FromJson(const Json& json) {
  if (!json.is_object()) return Invalid("parameters must be a JSON object");
  LogisticParams p;
  for (const auto& [key, v] : json.items()) {
    if (key == "penalty") {
      if (v == "l2") {
        p.penalty = LogisticPenalty::kL2;
      } else if (v == "l1") {
        p.penalty = LogisticPenalty::kL1;
      } else if (v == "none") {
        p.penalty = LogisticPenalty::kNone;
      } else {
        return Invalid("parameter penalty must be \"l2\", \"l1\" or \"none\"");
      }
    } else if (key == "C" || key == "tol") {
      if (!v.is_number()) return Invalid("parameter " + key + " must be a number");
      (key == "C" ? p.C : p.tol) = v.get<double>();
    } else if (key == "max_iter") {
      if (!v.is_number_integer() || v.get<int64_t>() < std::numeric_limits<int>::min() ||
          v.get<int64_t>() > std::numeric_limits<int>::max()) {
        return Invalid("parameter max_iter must be an integer");
      }
      p.max_iter = v.get<int>();
    } else if (key == "fit_intercept" || key == "standardize") {
      if (!v.is_boolean()) return Invalid("parameter " + key + " must be true or false");
      (key == "fit_intercept" ? p.fit_intercept : p.standardize) = v.get<bool>();
    } else {
      return Invalid("unknown parameter " + Quoted(key));
    }
  }
  RETURN_IF_ERROR(p.Validate());
  return p;
}

Json LogisticReport::ToJson() const {
  return {{"iterations", iterations},
          {"converged", converged},
          {"objective", objective},
          {"gradient_norm", gradient_norm},
          {"seconds", seconds}};
}

StatusOr<LogisticModel> LogisticModel::Train(const LogisticParams& params, const TrainingData& data,
                                             LogisticReport* report) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(params.Validate());
  RETURN_IF_ERROR(CheckData(data));
  const Matrix& m = *data.features;
  const size_t n = m.rows, p = m.cols;

  LogisticModel model;
  model.params_ = params;
  model.feature_names_ = m.feature_names;
  if (model.feature_names_.empty()) {
    for (size_t j = 0; j < p; ++j) model.feature_names_.push_back("f" + std::to_string(j));
  }
  {
    std::set<std::string> seen;
    for (const std::string& name : model.feature_names_) {
      if (!seen.insert(name).second) return Invalid("feature name " + Quoted(name) + " repeats");
    }
  }
  auto weight = [&](size_t i) { return data.weights.empty() ? 1.0 : double(data.weights[i]); };
  double total_weight = 0, positive_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    total_weight += weight(i);
    positive_weight += data.labels[i] == 1.0f ? weight(i) : 0.0;
  }

  // Means (of the non-missing cells), then standard deviations after imputation.
  model.means_.assign(p, 0.0);
  model.stds_.assign(p, 1.0);
  std::vector<uint8_t> constant(p, 1);
  {
    std::vector<double> sum(p, 0.0), wsum(p, 0.0),
        first(p, std::numeric_limits<double>::quiet_NaN());
    for (size_t i = 0; i < n; ++i) {
      const double w = weight(i);
      for (size_t j = 0; j < p; ++j) {
        const float x = m.values[i * p + j];
        if (std::isnan(x)) continue;
        if (std::isinf(x)) {
          return Invalid("feature " + Quoted(model.feature_names_[j]) + " at row " +
                         std::to_string(i) + " is infinite");
        }
        if (w == 0) continue;
        sum[j] += w * x;
        wsum[j] += w;
        if (std::isnan(first[j])) {
          first[j] = x;
        } else if (first[j] != x) {
          constant[j] = 0;
        }
      }
    }
    for (size_t j = 0; j < p; ++j) {
      if (wsum[j] == 0) {
        return Invalid("feature " + Quoted(model.feature_names_[j]) +
                       " has no non-missing value (of positive weight) in the training rows");
      }
      model.means_[j] = constant[j] ? first[j] : sum[j] / wsum[j];
    }
    std::vector<double> squares(p, 0.0);
    for (size_t i = 0; i < n; ++i) {
      const double w = weight(i);
      if (w == 0) continue;
      for (size_t j = 0; j < p; ++j) {
        const float x = m.values[i * p + j];
        if (std::isnan(x)) continue;
        const double d = x - model.means_[j];
        squares[j] += w * d * d;
      }
    }
    for (size_t j = 0; j < p; ++j) {
      const double s = std::sqrt(squares[j] / total_weight);
      model.stds_[j] = constant[j] || !(s > 0) || !std::isfinite(s) ? 1.0 : s;
    }
  }

  // The solver's problem (see Problem).
  Problem pr;
  pr.n = n;
  pr.p = p;
  pr.penalty = params.penalty;
  pr.fit_intercept = params.fit_intercept;
  pr.gradient_scale = params.C * total_weight;
  const bool center = params.standardize || params.fit_intercept;
  std::vector<double> pivot(p, 0.0), shift(p, 0.0);
  {
    std::vector<size_t> nonzero(p, 0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < p; ++j) {
        const float x = m.values[i * p + j];
        nonzero[j] += std::isnan(x) ? model.means_[j] != 0 : x != 0;
      }
    }
    for (size_t j = 0; j < p; ++j) {
      pivot[j] = 2 * nonzero[j] > n ? model.means_[j] : 0.0;
      shift[j] = center ? model.means_[j] : 0.0;
    }
  }
  pr.delta.resize(p);
  pr.scale.resize(p);
  for (size_t j = 0; j < p; ++j) {
    pr.delta[j] = shift[j] - pivot[j];
    pr.scale[j] = params.standardize ? model.stds_[j] : 1.0;
  }
  pr.row_start.reserve(n + 1);
  pr.row_start.push_back(0);
  pr.y.resize(n);
  pr.cw.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < p; ++j) {
      const float x = m.values[i * p + j];
      const double v = (std::isnan(x) ? model.means_[j] : double(x)) - pivot[j];
      if (v != 0) {
        pr.col.push_back(static_cast<uint32_t>(j));
        pr.val.push_back(v);
      }
    }
    pr.row_start.push_back(pr.col.size());
    pr.y[i] = data.labels[i];
    pr.cw[i] = params.C * weight(i);
  }

  SolveResult solved = Solve(pr, params, positive_weight / total_weight);
  model.coefficients_.resize(p);
  model.intercept_ = params.fit_intercept ? solved.theta[0] : 0.0;
  for (size_t j = 0; j < p; ++j) {
    model.coefficients_[j] = solved.theta[1 + j] / pr.scale[j];
    model.intercept_ -= model.coefficients_[j] * shift[j];
  }
  model.bias_ = model.intercept_;
  for (size_t j = 0; j < p; ++j) model.bias_ += model.coefficients_[j] * model.means_[j];
  model.rows_ = n;
  model.weight_ = total_weight;
  model.training_ = solved.report;
  model.training_.seconds = 0;
  if (report != nullptr) {
    *report = solved.report;
    report->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return model;
}

std::vector<double> LogisticModel::standardized_coefficients() const {
  std::vector<double> out(coefficients_.size());
  for (size_t j = 0; j < out.size(); ++j) out[j] = coefficients_[j] * stds_[j];
  return out;
}

Status LogisticModel::CheckMatrix(const Matrix& m) const {
  if (m.cols != coefficients_.size()) {
    return Invalid("the matrix has " + std::to_string(m.cols) + " columns; the model expects " +
                   std::to_string(coefficients_.size()));
  }
  if (m.values.size() != m.rows * m.cols) {
    return Invalid("the matrix holds " + std::to_string(m.values.size()) + " values, not " +
                   std::to_string(m.rows) + " x " + std::to_string(m.cols));
  }
  if (!m.feature_names.empty()) {
    if (m.feature_names.size() != m.cols) {
      return Invalid("the matrix has " + std::to_string(m.feature_names.size()) +
                     " feature names for " + std::to_string(m.cols) + " columns");
    }
    for (size_t j = 0; j < m.cols; ++j) {
      if (m.feature_names[j] != feature_names_[j]) {
        return Invalid("feature " + std::to_string(j) + " of the matrix is " +
                       Quoted(m.feature_names[j]) + "; the model expects " +
                       Quoted(feature_names_[j]));
      }
    }
  }
  for (size_t i = 0; i < m.rows; ++i) {
    for (size_t j = 0; j < m.cols; ++j) {
      if (std::isinf(m.values[i * m.cols + j])) {
        return Invalid("feature " + Quoted(feature_names_[j]) + " at row " + std::to_string(i) +
                       " is infinite");
      }
    }
  }
  return absl::OkStatus();
}

double LogisticModel::RowContributions(const Matrix& m, size_t row, double* out) const {
  double logit = bias_;
  for (size_t j = 0; j < m.cols; ++j) {
    const float x = m.values[row * m.cols + j];
    out[j] = std::isnan(x) ? 0.0 : coefficients_[j] * (double(x) - means_[j]);
    logit += out[j];
  }
  return logit;
}

StatusOr<std::vector<double>> LogisticModel::Logits(const Matrix& features) const {
  RETURN_IF_ERROR(CheckMatrix(features));
  std::vector<double> out(features.rows), scratch(features.cols);
  for (size_t i = 0; i < features.rows; ++i) {
    out[i] = RowContributions(features, i, scratch.data());
  }
  return out;
}

StatusOr<std::vector<float>> LogisticModel::Predict(const Matrix& features) const {
  ASSIGN_OR_RETURN(std::vector<double> logits, Logits(features));
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(Sigmoid(logits[i]));
  return out;
}

StatusOr<LinearContributions> LogisticModel::Contributions(const Matrix& features) const {
  RETURN_IF_ERROR(CheckMatrix(features));
  LinearContributions out;
  out.rows = features.rows;
  out.cols = features.cols;
  out.values.resize(features.rows * features.cols);
  out.bias = bias_;
  out.feature_names = feature_names_;
  for (size_t i = 0; i < features.rows; ++i) {
    RowContributions(features, i, &out.values[i * features.cols]);
  }
  return out;
}

Json LogisticModel::ToJson() const {
  Json features = Json::array();
  for (size_t j = 0; j < coefficients_.size(); ++j) {
    features.push_back({{"name", feature_names_[j]},
                        {"mean", means_[j]},
                        {"std", stds_[j]},
                        {"coefficient", coefficients_[j]}});
  }
  return {{"format", kFormat},
          {"model", "logistic_regression"},
          {"params", params_.ToJson()},
          {"features", features},
          {"intercept", intercept_},
          {"training",
           {{"rows", rows_},
            {"weight", weight_},
            {"iterations", training_.iterations},
            {"converged", training_.converged},
            {"objective", training_.objective},
            {"gradient_norm", training_.gradient_norm}}}};
}

StatusOr<LogisticModel> LogisticModel::FromJson(const Json& json) {
  RETURN_IF_ERROR(CheckMembers(json, "logistic model",
                               {"format", "model", "params", "features", "intercept", "training"}));
  if (json["format"] != kFormat) {
    return Invalid("logistic model: format must be " + std::to_string(kFormat));
  }
  if (json["model"] != "logistic_regression") {
    return Invalid("logistic model: model must be \"logistic_regression\"");
  }
  LogisticModel model;
  {
    StatusOr<LogisticParams> params = LogisticParams::FromJson(json["params"]);
    if (!params.ok()) return Invalid("logistic model: " + std::string(params.status().message()));
    model.params_ = *params;
  }
  const Json& features = json["features"];
  if (!features.is_array() || features.empty()) {
    return Invalid("logistic model: features must be a non-empty array");
  }
  std::set<std::string> seen;
  for (size_t j = 0; j < features.size(); ++j) {
    const std::string what = "logistic model: features[" + std::to_string(j) + "]";
    const Json& f = features[j];
    RETURN_IF_ERROR(CheckMembers(f, what, {"name", "mean", "std", "coefficient"}));
    if (!f["name"].is_string()) return Invalid(what + ".name must be a string");
    std::string name = f["name"].get<std::string>();
    if (!seen.insert(name).second) return Invalid(what + ".name " + Quoted(name) + " repeats");
    ASSIGN_OR_RETURN(double mean, FiniteNumber(f["mean"], what + ".mean"));
    ASSIGN_OR_RETURN(double std_dev, FiniteNumber(f["std"], what + ".std"));
    if (!(std_dev > 0)) return Invalid(what + ".std must be > 0");
    ASSIGN_OR_RETURN(double coefficient, FiniteNumber(f["coefficient"], what + ".coefficient"));
    model.feature_names_.push_back(std::move(name));
    model.means_.push_back(mean);
    model.stds_.push_back(std_dev);
    model.coefficients_.push_back(coefficient);
  }
  ASSIGN_OR_RETURN(model.intercept_, FiniteNumber(json["intercept"], "logistic model: intercept"));
  const Json& t = json["training"];
  RETURN_IF_ERROR(
      CheckMembers(t, "logistic model: training",
                   {"rows", "weight", "iterations", "converged", "objective", "gradient_norm"}));
  if (!t["rows"].is_number_unsigned()) {
    return Invalid("logistic model: training.rows must be an integer >= 0");
  }
  model.rows_ = t["rows"].get<size_t>();
  ASSIGN_OR_RETURN(model.weight_, FiniteNumber(t["weight"], "logistic model: training.weight"));
  if (!t["iterations"].is_number_integer() || t["iterations"].get<int64_t>() < 0 ||
      t["iterations"].get<int64_t>() > std::numeric_limits<int>::max()) {
    return Invalid("logistic model: training.iterations must be an integer >= 0");
  }
  model.training_.iterations = t["iterations"].get<int>();
  if (!t["converged"].is_boolean()) {
    return Invalid("logistic model: training.converged must be true or false");
  }
  model.training_.converged = t["converged"].get<bool>();
  ASSIGN_OR_RETURN(model.training_.objective,
                   FiniteNumber(t["objective"], "logistic model: training.objective"));
  ASSIGN_OR_RETURN(model.training_.gradient_norm,
                   FiniteNumber(t["gradient_norm"], "logistic model: training.gradient_norm"));
  model.bias_ = model.intercept_;
  for (size_t j = 0; j < model.coefficients_.size(); ++j) {
    model.bias_ += model.coefficients_[j] * model.means_[j];
  }
  return model;
}

}  // namespace plinth
