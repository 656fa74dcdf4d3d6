// Running validation suites over Tables, drift statistics, and the JSON form of results.
#include "data/validation.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_set>

#include "expr/expr.h"
#include "expr/time_util.h"
#include "re2/re2.h"

namespace plinth {
namespace {

bool IsNumeric(ColumnType t) {
  return t == ColumnType::kInt64 || t == ColumnType::kFloat64 || t == ColumnType::kTimestamp;
}

// A cell as JSON: numbers, strings, bools, timestamps as RFC 3339 text, null for null (and NaN).
Json CellJson(const Column& c, size_t row) {
  if (c.IsNull(row)) return nullptr;
  switch (c.type()) {
    case ColumnType::kInt64:
      return c.int64s()[row];
    case ColumnType::kFloat64: {
      double v = c.float64s()[row];
      if (std::isnan(v)) return "NaN";
      if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
      return v;
    }
    case ColumnType::kBool:
      return c.bools()[row] != 0;
    case ColumnType::kString:
      return std::string(c.StringAt(row));
    case ColumnType::kTimestamp:
      return expr::FormatTimestamp(c.int64s()[row]);
  }
  return nullptr;
}

// A number of a column of type `t` as JSON (timestamps as text).
Json NumberJson(ColumnType t, double v) {
  if (t == ColumnType::kTimestamp) return expr::FormatTimestamp(static_cast<int64_t>(v));
  if (t == ColumnType::kInt64) return static_cast<int64_t>(v);
  return v;
}

Json BoundJson(const Bound& b) {
  if (b.is_timestamp) return expr::FormatTimestamp(static_cast<int64_t>(b.value));
  if (b.value == std::floor(b.value) && std::fabs(b.value) < 9e15) {
    return static_cast<int64_t>(b.value);
  }
  return b.value;
}

// Records failing rows: counts all, keeps the first kMaxFailingRows.
class Failures {
 public:
  void Add(size_t row, Json value) {
    ++count_;
    if (rows_.size() < kMaxFailingRows) rows_.push_back({row, std::move(value)});
  }
  size_t count() const { return count_; }
  std::vector<FailingRow> Take() { return std::move(rows_); }

 private:
  size_t count_ = 0;
  std::vector<FailingRow> rows_;
};

// Non-null, non-NaN values of a numeric (or bool) column as doubles.
std::vector<double> NumericValues(const Column& c) {
  std::vector<double> out;
  out.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    std::optional<double> v = c.NumberAt(i);
    if (v && !std::isnan(*v)) out.push_back(*v);
  }
  return out;
}

// Category -> count over the non-null cells of a string or bool column.
std::map<std::string, double> CategoryCounts(const Column& c) {
  std::map<std::string, double> counts;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i)) continue;
    if (c.type() == ColumnType::kBool) {
      counts[c.bools()[i] ? "true" : "false"] += 1;
    } else {
      counts[std::string(c.StringAt(i))] += 1;
    }
  }
  return counts;
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// Sets result.error and fails the expectation.
void Fail(ExpectationResult& r, std::string error) {
  r.passed = false;
  r.error = std::move(error);
}

void RunNullChecks(const Expectation& e, const Column& c, ExpectationResult& r) {
  Failures failures;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i)) failures.Add(i, nullptr);
  }
  double fraction = c.size() == 0 ? 0.0 : static_cast<double>(failures.count()) / c.size();
  r.observed = {{"nulls", failures.count()}, {"null_fraction", fraction}};
  if (e.type == ExpectationType::kNotNull) {
    r.threshold = {{"max_nulls", 0}};
    r.passed = failures.count() == 0;
    r.failing_rows = failures.Take();
  } else {
    r.threshold = {{"max_null_fraction", e.max_null_fraction}};
    r.passed = fraction <= e.max_null_fraction;
  }
}

void RunRange(const Expectation& e, const Column& c, ExpectationResult& r) {
  if (e.min) r.threshold["min"] = BoundJson(*e.min);
  if (e.max) r.threshold["max"] = BoundJson(*e.max);
  if (!IsNumeric(c.type())) {
    return Fail(r, "range needs a numeric or timestamp column; '" + c.name() + "' is " +
                       ColumnTypeName(c.type()));
  }
  bool timestamp_column = c.type() == ColumnType::kTimestamp;
  for (const std::optional<Bound>* b : {&e.min, &e.max}) {
    if (*b && (*b)->is_timestamp != timestamp_column) {
      return Fail(r, timestamp_column ? "bounds of a timestamp column must be timestamps"
                                      : "bounds of a numeric column must be numbers");
    }
  }
  Failures failures;
  std::optional<double> lo, hi;
  for (size_t i = 0; i < c.size(); ++i) {
    std::optional<double> v = c.NumberAt(i);
    if (!v) continue;
    bool ok = !std::isnan(*v) && (!e.min || *v >= e.min->value) && (!e.max || *v <= e.max->value);
    if (!std::isnan(*v)) {
      lo = lo ? std::min(*lo, *v) : *v;
      hi = hi ? std::max(*hi, *v) : *v;
    }
    if (!ok) failures.Add(i, CellJson(c, i));
  }
  r.observed = {{"min", lo ? NumberJson(c.type(), *lo) : Json()},
                {"max", hi ? NumberJson(c.type(), *hi) : Json()},
                {"violations", failures.count()}};
  r.passed = failures.count() == 0;
  r.failing_rows = failures.Take();
}

void RunAllowedValues(const Expectation& e, const Column& c, ExpectationResult& r) {
  r.threshold = {{"allowed_values", e.allowed_values}};
  // Allowed cells, decided per distinct representation.
  std::unordered_set<std::string> allowed_strings;
  std::unordered_set<int64_t> allowed_ints;
  std::vector<double> allowed_doubles;
  std::unordered_set<int> allowed_bools;
  for (const std::string& v : e.allowed_values) {
    switch (c.type()) {
      case ColumnType::kString:
        allowed_strings.insert(v);
        break;
      case ColumnType::kInt64: {
        char* end = nullptr;
        errno = 0;
        long long x = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || errno != 0) {
          return Fail(r, "allowed value '" + v + "' is not an int64 (column '" + c.name() + "')");
        }
        allowed_ints.insert(x);
        break;
      }
      case ColumnType::kFloat64: {
        char* end = nullptr;
        double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0') {
          return Fail(r, "allowed value '" + v + "' is not a number (column '" + c.name() + "')");
        }
        allowed_doubles.push_back(x);
        break;
      }
      case ColumnType::kBool:
        if (v == "true" || v == "True" || v == "TRUE") {
          allowed_bools.insert(1);
        } else if (v == "false" || v == "False" || v == "FALSE") {
          allowed_bools.insert(0);
        } else {
          return Fail(r, "allowed value '" + v + "' is not a bool (column '" + c.name() + "')");
        }
        break;
      case ColumnType::kTimestamp: {
        std::optional<int64_t> t = expr::ParseTimestamp(v);
        if (!t) {
          return Fail(r,
                      "allowed value '" + v + "' is not a timestamp (column '" + c.name() + "')");
        }
        allowed_ints.insert(*t);
        break;
      }
    }
  }
  std::vector<int8_t> code_ok;  // string columns: per dictionary entry
  if (c.type() == ColumnType::kString) {
    code_ok.resize(c.dictionary().size());
    for (size_t k = 0; k < c.dictionary().size(); ++k) {
      code_ok[k] = allowed_strings.count(c.dictionary()[k]) > 0;
    }
  }
  Failures failures;
  std::vector<std::string> unexpected;
  std::unordered_set<std::string> seen_unexpected;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i)) continue;
    bool ok = false;
    switch (c.type()) {
      case ColumnType::kString:
        ok = code_ok[c.codes()[i]] != 0;
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        ok = allowed_ints.count(c.int64s()[i]) > 0;
        break;
      case ColumnType::kFloat64:
        ok = std::find(allowed_doubles.begin(), allowed_doubles.end(), c.float64s()[i]) !=
             allowed_doubles.end();
        break;
      case ColumnType::kBool:
        ok = allowed_bools.count(c.bools()[i]) > 0;
        break;
    }
    if (!ok) {
      Json value = CellJson(c, i);
      std::string key = value.dump();
      if (unexpected.size() < kMaxFailingRows && seen_unexpected.insert(key).second) {
        unexpected.push_back(value.is_string() ? value.get<std::string>() : key);
      }
      failures.Add(i, std::move(value));
    }
  }
  r.observed = {{"violations", failures.count()}, {"unexpected_values", unexpected}};
  r.passed = failures.count() == 0;
  r.failing_rows = failures.Take();
}

void RunUnique(const Column& c, ExpectationResult& r) {
  r.threshold = {{"max_duplicates", 0}};
  Failures failures;
  std::unordered_set<std::string> seen_text;
  std::unordered_set<int64_t> seen_int;
  std::unordered_set<uint64_t> seen_bits;
  size_t distinct = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c.IsNull(i)) continue;
    bool fresh = false;
    switch (c.type()) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        fresh = seen_int.insert(c.int64s()[i]).second;
        break;
      case ColumnType::kFloat64: {
        double v = c.float64s()[i];
        if (v == 0) v = 0;  // -0.0 equals 0.0
        uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        fresh = seen_bits.insert(bits).second;
        break;
      }
      case ColumnType::kBool:
        fresh = seen_int.insert(c.bools()[i]).second;
        break;
      case ColumnType::kString:
        fresh = seen_int.insert(c.codes()[i]).second;
        break;
    }
    if (fresh) {
      ++distinct;
    } else {
      failures.Add(i, CellJson(c, i));
    }
  }
  r.observed = {{"duplicates", failures.count()}, {"distinct", distinct}};
  r.passed = failures.count() == 0;
  r.failing_rows = failures.Take();
}

void RunRegex(const Expectation& e, const Column& c, ExpectationResult& r) {
  r.threshold = {{"pattern", e.pattern}};
  if (c.type() != ColumnType::kString) {
    return Fail(r,
                "regex needs a string column; '" + c.name() + "' is " + ColumnTypeName(c.type()));
  }
  std::vector<int8_t> code_ok(c.dictionary().size());
  for (size_t k = 0; k < code_ok.size(); ++k) {
    code_ok[k] = re2::RE2::FullMatch(c.dictionary()[k], *e.regex);
  }
  Failures failures;
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c.IsNull(i) && !code_ok[c.codes()[i]]) failures.Add(i, CellJson(c, i));
  }
  r.observed = {{"violations", failures.count()}};
  r.passed = failures.count() == 0;
  r.failing_rows = failures.Take();
}

void RunRowCount(const Expectation& e, const Table& data, ExpectationResult& r) {
  if (e.min) r.threshold["min"] = BoundJson(*e.min);
  if (e.max) r.threshold["max"] = BoundJson(*e.max);
  double rows = static_cast<double>(data.num_rows());
  r.observed = {{"rows", data.num_rows()}};
  r.passed = (!e.min || rows >= e.min->value) && (!e.max || rows <= e.max->value);
}

void RunRowRule(const Suite& suite, const Expectation& e, const Table& data, ExpectationResult& r) {
  r.threshold = {{"rule", e.rule}};
  std::string where = suite.file + ":" + std::to_string(e.rule_line) + ":" +
                      std::to_string(e.rule_column) + ": row_rule: ";
  StatusOr<expr::Program> program = expr::Compile(e.rule, expr::EnvironmentForTable(data));
  if (!program.ok()) return Fail(r, where + std::string(program.status().message()));
  if (!(program->result_type() == expr::Type::Bool())) {
    return Fail(
        r, where + "the rule must be a bool expression, not " + program->result_type().ToString());
  }
  expr::ColumnOptions options;
  options.name = e.id;
  StatusOr<Column> verdict = expr::EvaluateColumns(*program, data, options);
  if (!verdict.ok()) return Fail(r, where + std::string(verdict.status().message()));
  std::vector<const Column*> inputs;
  for (const std::string& name : program->variables()) {
    if (const Column* c = data.Find(name)) inputs.push_back(c);
  }
  Failures failures;
  size_t null_rows = 0;
  for (size_t i = 0; i < verdict->size(); ++i) {
    if (verdict->IsNull(i)) {
      ++null_rows;
      continue;
    }
    if (verdict->bools()[i]) continue;
    Json row = Json::object();
    for (const Column* c : inputs) row[c->name()] = CellJson(*c, i);
    failures.Add(i, std::move(row));
  }
  r.observed = {{"violations", failures.count()}, {"null_rows", null_rows}};
  r.passed = failures.count() == 0;
  r.failing_rows = failures.Take();
}

void RunDrift(const Expectation& e, const Column& c, const Table& reference, ExpectationResult& r) {
  if (e.psi_max) r.threshold["psi"] = *e.psi_max;
  if (e.ks_max) r.threshold["ks"] = *e.ks_max;
  const Column* ref = reference.Find(e.column);
  if (ref == nullptr) return Fail(r, "column '" + e.column + "' not in the reference table");
  bool numeric = IsNumeric(c.type()) && IsNumeric(ref->type());
  bool categorical = !IsNumeric(c.type()) && c.type() == ref->type();
  if (!numeric && !categorical) {
    return Fail(r, "column '" + e.column + "' is " + ColumnTypeName(c.type()) +
                       " but the reference column is " + ColumnTypeName(ref->type()));
  }
  if (e.ks_max && !numeric) {
    return Fail(r, "ks needs a numeric column; '" + c.name() + "' is " + ColumnTypeName(c.type()));
  }
  std::vector<double> ref_counts, data_counts;
  Json bins = Json::array();
  size_t ref_n = 0, data_n = 0;
  std::optional<double> ks;
  if (numeric) {
    std::vector<double> ref_values = NumericValues(*ref);
    std::vector<double> data_values = NumericValues(c);
    ref_n = ref_values.size();
    data_n = data_values.size();
    if (ref_n == 0 || data_n == 0) {
      return Fail(r, std::string("no non-null values in the ") +
                         (ref_n == 0 ? "reference" : "data") + " column '" + e.column + "'");
    }
    std::vector<double> edges = QuantileEdges(ref_values, e.bins);
    ref_counts.assign(edges.size() + 1, 0);
    data_counts.assign(edges.size() + 1, 0);
    auto bin = [&](double v) {
      return static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin());
    };
    for (double v : ref_values) ref_counts[bin(v)] += 1;
    for (double v : data_values) data_counts[bin(v)] += 1;
    for (size_t b = 0; b <= edges.size(); ++b) {
      std::string label;
      if (edges.empty()) {
        label = "all";
      } else if (b == 0) {
        label = "< " + FormatNumber(edges[0]);
      } else if (b == edges.size()) {
        label = ">= " + FormatNumber(edges[b - 1]);
      } else {
        label = "[" + FormatNumber(edges[b - 1]) + ", " + FormatNumber(edges[b]) + ")";
      }
      bins.push_back({{"bin", label},
                      {"reference", ref_counts[b] / ref_n},
                      {"data", data_counts[b] / data_n}});
    }
    if (e.ks_max) ks = KsStatistic(std::move(ref_values), std::move(data_values));
  } else {
    std::map<std::string, double> ref_map = CategoryCounts(*ref);
    std::map<std::string, double> data_map = CategoryCounts(c);
    for (const auto& [k, n] : ref_map) ref_n += static_cast<size_t>(n);
    for (const auto& [k, n] : data_map) data_n += static_cast<size_t>(n);
    if (ref_n == 0 || data_n == 0) {
      return Fail(r, std::string("no non-null values in the ") +
                         (ref_n == 0 ? "reference" : "data") + " column '" + e.column + "'");
    }
    std::map<std::string, std::pair<double, double>> all;
    for (const auto& [k, n] : ref_map) all[k].first = n;
    for (const auto& [k, n] : data_map) all[k].second = n;
    for (const auto& [k, counts] : all) {
      ref_counts.push_back(counts.first);
      data_counts.push_back(counts.second);
      bins.push_back(
          {{"bin", k}, {"reference", counts.first / ref_n}, {"data", counts.second / data_n}});
    }
  }
  double psi = Psi(ref_counts, data_counts);
  r.observed = {{"psi", psi},
                {"ks", ks ? Json(*ks) : Json()},
                {"kind", numeric ? "numeric" : "categorical"},
                {"reference_values", ref_n},
                {"data_values", data_n},
                {"bins", bins}};
  r.passed = (!e.psi_max || psi <= *e.psi_max) && (!e.ks_max || *ks <= *e.ks_max);
}

}  // namespace

std::vector<double> QuantileEdges(std::vector<double> reference, int bins) {
  reference.erase(
      std::remove_if(reference.begin(), reference.end(), [](double v) { return std::isnan(v); }),
      reference.end());
  std::sort(reference.begin(), reference.end());
  std::vector<double> edges;
  size_t n = reference.size();
  if (n == 0 || bins < 2) return edges;
  for (int i = 1; i < bins; ++i) {
    double edge = reference[static_cast<size_t>(i) * n / static_cast<size_t>(bins)];
    // An edge at the minimum would leave bin 0 empty on the reference; skip it.
    if (edge == reference.front()) continue;
    if (edges.empty() || edge > edges.back()) edges.push_back(edge);
  }
  return edges;
}

double Psi(const std::vector<double>& reference_counts, const std::vector<double>& data_counts) {
  double ref_total = 0, data_total = 0;
  for (double v : reference_counts) ref_total += v;
  for (double v : data_counts) data_total += v;
  if (ref_total <= 0 || data_total <= 0) return 0;
  double psi = 0;
  size_t n = std::min(reference_counts.size(), data_counts.size());
  for (size_t i = 0; i < n; ++i) {
    double r = std::max(reference_counts[i] / ref_total, kPsiEpsilon);
    double d = std::max(data_counts[i] / data_total, kPsiEpsilon);
    psi += (d - r) * std::log(d / r);
  }
  return psi;
}

double KsStatistic(std::vector<double> reference, std::vector<double> data) {
  if (reference.empty() || data.empty()) return 0;
  std::sort(reference.begin(), reference.end());
  std::sort(data.begin(), data.end());
  const double n = static_cast<double>(reference.size());
  const double m = static_cast<double>(data.size());
  size_t i = 0, j = 0;
  double d = 0;
  while (i < reference.size() && j < data.size()) {
    double x = std::min(reference[i], data[j]);
    while (i < reference.size() && reference[i] == x) ++i;
    while (j < data.size() && data[j] == x) ++j;
    d = std::max(d, std::fabs(i / n - j / m));
  }
  return d;
}

StatusOr<ValidationResult> RunSuite(const Suite& suite, const Table& data, const Table* reference) {
  if (suite.NeedsReference() && reference == nullptr) {
    return absl::FailedPreconditionError("suite '" + suite.name +
                                         "' checks drift and needs a reference table");
  }
  ValidationResult result;
  result.suite = suite.name;
  result.rows = data.num_rows();
  if (reference != nullptr) result.reference_rows = reference->num_rows();
  for (const Expectation& e : suite.expectations) {
    ExpectationResult r;
    r.id = e.id;
    r.type = e.type;
    r.severity = e.severity;
    r.column = e.column;
    const Column* c = e.column.empty() ? nullptr : data.Find(e.column);
    if (e.type == ExpectationType::kColumnPresent) {
      r.observed = {{"present", c != nullptr}};
      r.threshold = {{"present", true}};
      r.passed = c != nullptr;
    } else if (!e.column.empty() && c == nullptr) {
      Fail(r, "column '" + e.column + "' not found");
    } else {
      switch (e.type) {
        case ExpectationType::kColumnPresent:
          break;
        case ExpectationType::kColumnType:
          r.observed = {{"type", ColumnTypeName(c->type())}};
          r.threshold = {{"type", ColumnTypeName(e.column_type)}};
          r.passed = c->type() == e.column_type;
          break;
        case ExpectationType::kNotNull:
        case ExpectationType::kMaxNullFraction:
          RunNullChecks(e, *c, r);
          break;
        case ExpectationType::kRange:
          RunRange(e, *c, r);
          break;
        case ExpectationType::kAllowedValues:
          RunAllowedValues(e, *c, r);
          break;
        case ExpectationType::kUnique:
          RunUnique(*c, r);
          break;
        case ExpectationType::kRegex:
          RunRegex(e, *c, r);
          break;
        case ExpectationType::kRowCount:
          RunRowCount(e, data, r);
          break;
        case ExpectationType::kRowRule:
          RunRowRule(suite, e, data, r);
          break;
        case ExpectationType::kDrift:
          RunDrift(e, *c, *reference, r);
          break;
      }
    }
    if (!r.passed) {
      if (e.severity == Severity::kBlocking) {
        ++result.blocking_failures;
        result.passed = false;
      } else {
        ++result.warning_failures;
      }
    }
    result.expectations.push_back(std::move(r));
  }
  return result;
}

Json ValidationResultToJson(const ValidationResult& result) {
  Json expectations = Json::array();
  for (const ExpectationResult& r : result.expectations) {
    Json failing = Json::array();
    for (const FailingRow& f : r.failing_rows)
      failing.push_back({{"row", f.row}, {"value", f.value}});
    Json e = {{"id", r.id},
              {"type", ExpectationTypeName(r.type)},
              {"severity", SeverityName(r.severity)},
              {"column", r.column.empty() ? Json() : Json(r.column)},
              {"passed", r.passed},
              {"observed", r.observed},
              {"threshold", r.threshold},
              {"failing_rows", failing},
              {"error", r.error.empty() ? Json() : Json(r.error)}};
    expectations.push_back(std::move(e));
  }
  return {{"format", "plinth.validation_result"},
          {"version", 1},
          {"suite", result.suite},
          {"passed", result.passed},
          {"rows", result.rows},
          {"reference_rows", result.reference_rows ? Json(*result.reference_rows) : Json()},
          {"blocking_failures", result.blocking_failures},
          {"warning_failures", result.warning_failures},
          {"expectations", expectations}};
}

}  // namespace plinth
