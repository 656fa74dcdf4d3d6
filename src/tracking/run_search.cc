// SearchRuns, in four steps:
// 1. One statement finds the candidates: the runs of the scope that satisfy the filter's simple
//    top-level conjuncts (run_filter.h). Each key with conditions is one range of a covering index
//    (experiment, key, value, run), joined to the others by semi-joins; no run is looked up by id,
//    which would cost a random page read per run on SQLite, whose page cache is small.
// 2. The other values the filter and the order read, for those candidates only: by id when they
//    are few, else the scope's index range of those keys, matched in memory.
// 3. The compiled filter on each candidate, with only the keys it reads, unless every conjunct
//    was pushed (then the SQL conditions decided it exactly).
// 4. The matches are ordered in memory and only the requested page is loaded in full.
#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/sha256.h"
#include "expr/expr.h"
#include "tracking/run_filter.h"
#include "tracking/tracking_internal.h"
#include "tracking/tracking_store.h"

namespace plinth {

using tracking_internal::CompileRunFilter;
using tracking_internal::kMetrics;
using tracking_internal::kParams;
using tracking_internal::kRunMapCount;
using tracking_internal::kTags;
using tracking_internal::LoadRuns;
using tracking_internal::MetricFromSql;
using tracking_internal::Placeholders;
using tracking_internal::PushedCondition;
using tracking_internal::RunFilter;
using tracking_internal::RunMapName;

namespace {

const char* MapTable(int map) {
  switch (map) {
    case kMetrics:
      return "run_latest_metrics";
    case kParams:
      return "run_params";
    default:
      return "run_tags";
  }
}

// Attributes a search may order by or read, and their columns. "experiment" is the experiment's
// name, which the search maps from r.experiment_id in memory.
struct Attribute {
  const char* name;
  const char* column;
  bool is_time;
};
constexpr Attribute kAttributes[] = {
    {"run_id", "id", false},
    {"name", "name", false},
    {"status", "status", false},
    {"experiment", "experiment_id", false},
    {"start_time", "start_time", true},
    {"end_time", "end_time", true},
    {"created_by", "created_by", false},
    {"source", "source", false},
    {"parent_run_id", "parent_run_id", false},
};

const Attribute* FindAttribute(std::string_view name) {
  for (const Attribute& a : kAttributes) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

std::string AttributeNames() {
  std::string out;
  for (const Attribute& a : kAttributes) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

struct OrderKey {
  int map = -1;  // kMetrics, kParams, kTags; -1 for an attribute
  std::string key;
  const Attribute* attribute = nullptr;
  bool descending = false;
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

// "metrics.test_auc desc", "params.max_depth", "metrics.`val loss` asc", "attributes.start_time",
// "start_time".
StatusOr<OrderKey> ParseOrderKey(const std::string& text) {
  auto fail = [&](const std::string& why) {
    return absl::InvalidArgumentError("order key '" + text + "' is not valid: " + why);
  };
  OrderKey order;
  std::string body = Trim(text);
  const size_t space = body.find_last_of(" \t");
  if (space != std::string::npos && body.back() != '`') {
    const std::string direction = Lower(body.substr(space + 1));
    if (direction == "desc" || direction == "asc") {
      order.descending = direction == "desc";
      body = Trim(body.substr(0, space));
    } else if (body.find('`') == std::string::npos) {
      return fail("expected 'asc' or 'desc' after the key (quote a key with spaces in `...`)");
    }
  }
  const size_t dot = body.find('.');
  const std::string prefix = dot == std::string::npos ? "" : body.substr(0, dot);
  std::string key = dot == std::string::npos ? body : body.substr(dot + 1);
  for (int m = 0; m < kRunMapCount; ++m) {
    if (prefix == RunMapName(m)) order.map = m;
  }
  if (order.map < 0) {
    if (!prefix.empty() && prefix != "attributes") {
      return fail("expected metrics.KEY, params.KEY, tags.KEY or attributes.NAME");
    }
    order.attribute = FindAttribute(key);
    if (order.attribute == nullptr) {
      return fail("attributes are " + AttributeNames());
    }
    return order;
  }
  if (key.size() >= 2 && key.front() == '`' && key.back() == '`') {
    key = key.substr(1, key.size() - 2);
  } else if (key.find_first_of(" `") != std::string::npos) {
    return fail("a key with spaces is written in backquotes, as metrics.`val loss`");
  }
  RETURN_IF_ERROR(ValidateTrackingKey(std::string(RunMapName(order.map)) + " key", key));
  order.key = std::move(key);
  return order;
}

// What a page token carries: the offset of the page, and a fingerprint of the request it
// continues, so a token cannot silently page through another query.
std::string Fingerprint(const SearchRunsRequest& request) {
  std::string text = request.project_id;
  auto add = [&](const std::string& part) {
    text += '\x1f';
    text += part;
  };
  add(std::to_string(request.experiment_names.size()));
  for (const std::string& e : request.experiment_names) add(e);
  add(request.filter);
  add(std::to_string(request.order_by.size()));
  for (const std::string& o : request.order_by) add(o);
  return Sha256Hex(text).substr(0, 16);
}

std::string MakePageToken(int64_t offset, const std::string& fingerprint) {
  return "o" + std::to_string(offset) + "." + fingerprint;
}

StatusOr<int64_t> ParsePageToken(const std::string& token, const std::string& fingerprint) {
  auto invalid = [] {
    return absl::InvalidArgumentError(
        "page token is not valid for this search (it comes from a search with another project, "
        "experiments, filter or order)");
  };
  const size_t dot = token.find('.');
  if (token.size() < 3 || token[0] != 'o' || dot == std::string::npos) return invalid();
  int64_t offset = 0;
  auto [end, error] = std::from_chars(token.data() + 1, token.data() + dot, offset);
  if (error != std::errc() || end != token.data() + dot || offset < 0) return invalid();
  if (token.substr(dot + 1) != fingerprint) return invalid();
  return offset;
}

// Candidates at most this many have their other values read by id (index lookups); more, and the
// values of the whole scope are read in key order and matched in memory.
constexpr size_t kMaxProbedCandidates = 2000;
constexpr size_t kIdsPerQuery = 500;
// Experiments listed by id in a search's statements; past it the scope is a subquery.
constexpr size_t kMaxListedExperiments = 200;

// One key a search reads for every candidate.
struct KeyColumn {
  int map = kMetrics;
  std::string key;
  std::vector<const PushedCondition*> conditions;  // pushed: they narrow the candidates
};

// A key's value for one candidate. Metric NaN is present with a NaN number.
struct KeyCell {
  bool present = false;
  double number = 0;
  const std::string* text = nullptr;
};

// A sort cell of one match for one order key.
struct SortCell {
  bool missing = true;
  double number = 0;
  int64_t integer = 0;
  const std::string* text = nullptr;
};

// The candidates of a search, with the values read for them. Ids and texts point into query
// results the set keeps alive.
class CandidateSet {
 public:
  explicit CandidateSet(size_t key_count) : key_count_(key_count) {}

  size_t size() const { return ids_.size(); }
  std::string_view id(size_t i) const { return ids_[i]; }
  KeyCell& cell(size_t i, size_t slot) { return cells_[i * key_count_ + slot]; }
  const SqlRow* runs_row(size_t i) const { return runs_rows_[i]; }
  void set_runs_row(size_t i, const SqlRow* row) { runs_rows_[i] = row; }

  const QueryResult& Keep(QueryResult result) {
    results_.push_back(std::make_unique<QueryResult>(std::move(result)));
    return *results_.back();
  }

  // Makes the runs of `result` (ids in column 0) the candidates; calls each(candidate, row).
  template <typename Fn>
  void Define(const QueryResult& result, Fn each) {
    const size_t n = result.rows.size();
    index_.reserve(n);
    ids_.reserve(n);
    runs_rows_.reserve(n);
    cells_.reserve(n * key_count_);
    for (size_t row = 0; row < result.rows.size(); ++row) {
      const std::string* id = std::get_if<std::string>(&result.rows[row][0]);
      if (id == nullptr) continue;
      auto [it, inserted] = index_.emplace(*id, ids_.size());
      if (inserted) {
        ids_.push_back(*id);
        runs_rows_.push_back(nullptr);
        cells_.resize(cells_.size() + key_count_);
      }
      each(it->second, row);
    }
  }

  // Calls each(candidate, row) for every row of `result` whose run (column 0) is a candidate.
  template <typename Fn>
  void ForEachRow(const QueryResult& result, Fn each) const {
    for (size_t row = 0; row < result.rows.size(); ++row) {
      const std::string* id = std::get_if<std::string>(&result.rows[row][0]);
      if (id == nullptr) continue;
      auto it = index_.find(*id);
      if (it != index_.end()) each(it->second, row);
    }
  }

 private:
  size_t key_count_;
  std::vector<std::unique_ptr<QueryResult>> results_;
  absl::flat_hash_map<std::string_view, size_t> index_;
  std::vector<std::string_view> ids_;
  std::vector<const SqlRow*> runs_rows_;
  std::vector<KeyCell> cells_;
};

// How a filter variable is bound for each candidate.
struct Binding {
  std::string name;
  int map = -1;                          // a run map, or
  const Attribute* attribute = nullptr;  // an attribute
};

// " AND <operand> <op> ?" (or IN (...)) for a pushed condition, with its values.
void AppendCondition(const std::string& operand, const PushedCondition& c, std::string* sql,
                     std::vector<SqlValue>* params) {
  if (c.op == "IN") {
    *sql += " AND " + operand + " IN (" + Placeholders(c.values.size()) + ")";
  } else {
    *sql += " AND " + operand + " " + c.op + " ?";
  }
  params->insert(params->end(), c.values.begin(), c.values.end());
}

}  // namespace

StatusOr<SearchRunsResult> TrackingStore::SearchRuns(Transaction& tx,
                                                     const SearchRunsRequest& request) const {
  if (request.max_results < 1 || request.max_results > kMaxSearchResults) {
    return absl::InvalidArgumentError("max_results must be between 1 and " +
                                      std::to_string(kMaxSearchResults));
  }
  std::vector<OrderKey> order;
  for (const std::string& text : request.order_by) {
    ASSIGN_OR_RETURN(OrderKey key, ParseOrderKey(text));
    order.push_back(std::move(key));
  }
  ASSIGN_OR_RETURN(RunFilter filter, CompileRunFilter(request.filter));
  const std::string fingerprint = Fingerprint(request);
  int64_t offset = 0;
  if (!request.page_token.empty()) {
    ASSIGN_OR_RETURN(offset, ParsePageToken(request.page_token, fingerprint));
  }

  // The scope: named experiments of the project, or all of them. Every query below reads only
  // rows of these experiments, through indexes that start with the experiment.
  if (request.experiment_names.size() > kMaxListedExperiments) {
    return absl::InvalidArgumentError("a search names at most " +
                                      std::to_string(kMaxListedExperiments) +
                                      " experiments; name none to search them all");
  }
  std::unordered_map<std::string, std::string> experiment_names;  // id -> name
  std::vector<SqlValue> scope_params;
  if (request.experiment_names.empty()) {
    ASSIGN_OR_RETURN(std::vector<Experiment> all, ListExperiments(tx, request.project_id));
    for (const Experiment& e : all) {
      experiment_names[e.id] = e.name;
      scope_params.emplace_back(e.id);
    }
  } else {
    for (const std::string& name : request.experiment_names) {
      ASSIGN_OR_RETURN(Experiment e, FindExperiment(tx, request.project_id, name));
      if (experiment_names.emplace(e.id, e.name).second) scope_params.emplace_back(e.id);
    }
  }
  SearchRunsResult result;
  if (scope_params.empty()) return result;
  std::string scope = "experiment_id IN (" + Placeholders(scope_params.size()) + ")";
  // A project with very many experiments: a subquery keeps every statement's parameters few
  // (the scope appears once per condition).
  if (scope_params.size() > kMaxListedExperiments) {
    scope = "experiment_id IN (SELECT id FROM experiments WHERE project_id = ?)";
    scope_params = {request.project_id};
  }
  // The filter is evaluated in memory unless the SQL conditions decide it alone.
  const bool evaluate = filter.program.has_value() && !filter.fully_pushed;

  // What to read: keys with pushed conditions, keys the evaluation reads, keys the order reads,
  // attributes the evaluation or the order reads. A map the filter uses whole is read in bulk.
  std::array<bool, kRunMapCount> bulk = {false, false, false};
  std::vector<KeyColumn> keys;
  std::map<std::pair<int, std::string>, size_t> key_slot;
  auto slot_of = [&](int map, const std::string& key) -> size_t {
    auto [it, inserted] = key_slot.emplace(std::make_pair(map, key), keys.size());
    if (inserted) keys.push_back(KeyColumn{map, key, {}});
    return it->second;
  };
  std::vector<const PushedCondition*> column_conditions;
  for (const PushedCondition& c : filter.pushed) {
    if (c.kind == PushedCondition::Kind::kColumn) {
      column_conditions.push_back(&c);
    } else {
      keys[slot_of(c.map, c.key)].conditions.push_back(&c);
    }
  }
  std::vector<Binding> bindings;
  std::vector<const Attribute*> attributes;
  auto need_attribute = [&](const Attribute* a) {
    if (a != nullptr && std::find(attributes.begin(), attributes.end(), a) == attributes.end()) {
      attributes.push_back(a);
    }
  };
  if (evaluate) {
    for (int m = 0; m < kRunMapCount; ++m) {
      if (filter.variables.count(RunMapName(m)) == 0) continue;
      bulk[m] = filter.all_keys[m];
      if (!bulk[m]) {
        for (const std::string& key : filter.keys[m]) slot_of(m, key);
      }
    }
    for (const std::string& variable : filter.variables) {
      Binding b{variable, -1, FindAttribute(variable)};
      for (int m = 0; m < kRunMapCount; ++m) {
        if (variable == RunMapName(m)) b.map = m;
      }
      need_attribute(b.attribute);
      bindings.push_back(std::move(b));
    }
  }
  for (const OrderKey& o : order) {
    if (o.map >= 0 && !bulk[o.map]) slot_of(o.map, o.key);
    need_attribute(o.attribute);
  }
  std::map<const Attribute*, size_t> attribute_column;  // column of a runs row
  std::string run_columns = "id";
  for (const Attribute* a : attributes) {
    const size_t column = attribute_column.size() + 1;  // after the id
    attribute_column[a] = column;
    run_columns += std::string(", ") + a->column;
  }

  CandidateSet candidates(keys.size());
  auto set_cell = [&](size_t candidate, size_t slot, const SqlRow& row) {
    KeyCell& cell = candidates.cell(candidate, slot);
    cell.present = true;
    if (keys[slot].map == kMetrics) {
      cell.number = MetricFromSql(row[1]);
    } else {
      cell.text = std::get_if<std::string>(&row[1]);
    }
  };

  // 1. The candidates, in one statement: the runs that satisfy every pushed condition. It reads
  // one key's index range (the first order key's when it has conditions, so its values come
  // along) and tests the other conditions as semi-joins, `run_id IN (SELECT run_id ...)` over the
  // other keys' ranges, which PostgreSQL runs as hash semi-joins and SQLite against a transient
  // index: no lookup per run, and only the intersection crosses the connection. (Reading every
  // range and intersecting in memory costs SQLite about as much but PostgreSQL three times more,
  // for the rows it must send.)
  size_t first = keys.size();
  for (size_t slot = 0; slot < keys.size(); ++slot) {
    if (keys[slot].conditions.empty()) continue;
    const bool ordered =
        !order.empty() && order[0].map == keys[slot].map && order[0].key == keys[slot].key;
    if (first == keys.size() || ordered) first = slot;
  }
  auto key_conditions = [&](const KeyColumn& k, std::string* sql, std::vector<SqlValue>* params) {
    *sql += std::string(" FROM ") + MapTable(k.map) + " WHERE " + scope + " AND key = ?";
    params->insert(params->end(), scope_params.begin(), scope_params.end());
    params->emplace_back(k.key);
    for (const PushedCondition* c : k.conditions) {
      if (c->kind != PushedCondition::Kind::kMapPresence) AppendCondition("value", *c, sql, params);
    }
  };
  const bool runs_read = first == keys.size();
  {
    std::string sql;
    std::vector<SqlValue> params;
    if (!runs_read) {
      sql = "SELECT run_id, value";
      key_conditions(keys[first], &sql, &params);
      for (size_t slot = 0; slot < keys.size(); ++slot) {
        if (slot == first || keys[slot].conditions.empty()) continue;
        sql += " AND run_id IN (SELECT run_id";
        key_conditions(keys[slot], &sql, &params);
        sql += ")";
      }
    }
    if (!column_conditions.empty() || runs_read) {
      std::string runs_sql = runs_read ? "SELECT " + run_columns : " AND run_id IN (SELECT id";
      runs_sql += " FROM runs WHERE " + scope;
      params.insert(params.end(), scope_params.begin(), scope_params.end());
      for (const PushedCondition* c : column_conditions) {
        AppendCondition(c->column, *c, &runs_sql, &params);
      }
      sql += runs_read ? runs_sql : runs_sql + ")";
    }
    ASSIGN_OR_RETURN(QueryResult rows, tx.Query(sql, params));
    const QueryResult& kept = candidates.Keep(std::move(rows));
    candidates.Define(kept, [&](size_t i, size_t row) {
      if (runs_read) {
        candidates.set_runs_row(i, &kept.rows[row]);
      } else {
        set_cell(i, first, kept.rows[row]);
      }
    });
  }

  // 2. The other values the evaluation and the order read: by id for few candidates, else the
  // scope's rows of those keys in index order, matched in memory.
  const bool probe = candidates.size() <= kMaxProbedCandidates;
  // Runs `select` + " WHERE " + (ids | scope) + `rest`, and calls each(candidate, row).
  auto read_for_candidates = [&](const std::string& select, const std::string& id_column,
                                 const std::string& rest, const std::vector<SqlValue>& rest_params,
                                 const std::function<void(size_t, const SqlRow&)>& each) -> Status {
    if (candidates.size() == 0) return absl::OkStatus();
    std::vector<std::pair<std::string, std::vector<SqlValue>>> queries;
    if (probe) {
      std::vector<SqlValue> ids;
      ids.reserve(candidates.size());
      for (size_t i = 0; i < candidates.size(); ++i) {
        ids.emplace_back(std::string(candidates.id(i)));
      }
      for (size_t begin = 0; begin < ids.size(); begin += kIdsPerQuery) {
        const size_t end = std::min(ids.size(), begin + kIdsPerQuery);
        std::vector<SqlValue> params(ids.begin() + begin, ids.begin() + end);
        params.insert(params.end(), rest_params.begin(), rest_params.end());
        queries.emplace_back(
            select + " WHERE " + id_column + " IN (" + Placeholders(end - begin) + ")" + rest,
            std::move(params));
      }
    } else {
      std::vector<SqlValue> params = scope_params;
      params.insert(params.end(), rest_params.begin(), rest_params.end());
      queries.emplace_back(select + " WHERE " + scope + rest, std::move(params));
    }
    for (const auto& [sql, params] : queries) {
      ASSIGN_OR_RETURN(QueryResult rows, tx.Query(sql, params));
      const QueryResult& kept = candidates.Keep(std::move(rows));
      candidates.ForEachRow(kept, [&](size_t i, size_t row) { each(i, kept.rows[row]); });
    }
    return absl::OkStatus();
  };
  for (int m = 0; m < kRunMapCount; ++m) {
    if (bulk[m]) continue;  // read whole below
    std::vector<SqlValue> key_params;
    std::unordered_map<std::string, size_t> slot_by_key;
    for (size_t slot = 0; slot < keys.size(); ++slot) {
      if (keys[slot].map != m || (!runs_read && slot == first)) continue;  // read in step 1
      // The values of the other keys with conditions matter only to the evaluation and the
      // order; the keys without were added for one of those.
      const bool ordered = std::any_of(order.begin(), order.end(), [&](const OrderKey& o) {
        return o.map == m && o.key == keys[slot].key;
      });
      if (!keys[slot].conditions.empty() && !evaluate && !ordered) continue;
      slot_by_key[keys[slot].key] = slot;
      key_params.emplace_back(keys[slot].key);
    }
    if (slot_by_key.empty()) continue;
    RETURN_IF_ERROR(
        read_for_candidates(std::string("SELECT run_id, value, key FROM ") + MapTable(m), "run_id",
                            " AND key IN (" + Placeholders(key_params.size()) + ")", key_params,
                            [&](size_t i, const SqlRow& row) {
                              const std::string* key = std::get_if<std::string>(&row[2]);
                              auto it = key == nullptr ? slot_by_key.end() : slot_by_key.find(*key);
                              if (it != slot_by_key.end()) set_cell(i, it->second, row);
                            }));
  }
  if (!attributes.empty() && !runs_read) {
    RETURN_IF_ERROR(read_for_candidates(
        "SELECT " + run_columns + " FROM runs", "id", "", {},
        [&](size_t i, const SqlRow& row) { candidates.set_runs_row(i, &row); }));
  }
  std::array<std::vector<expr::ValueMap>, kRunMapCount> bulk_maps;
  for (int m = 0; m < kRunMapCount; ++m) {
    if (!bulk[m]) continue;
    bulk_maps[m].resize(candidates.size());
    RETURN_IF_ERROR(read_for_candidates(
        std::string("SELECT run_id, value, key FROM ") + MapTable(m), "run_id", "", {},
        [&](size_t i, const SqlRow& row) {
          const std::string* key = std::get_if<std::string>(&row[2]);
          if (key == nullptr) return;
          expr::Value value = m == kMetrics ? expr::Value::Double(MetricFromSql(row[1]))
                                            : expr::Value::String(std::get<std::string>(row[1]));
          bulk_maps[m][i].emplace(expr::Value::String(*key), std::move(value));
        }));
  }
  auto attribute_cell = [&](size_t i, const Attribute* a) -> const SqlValue* {
    const SqlRow* row = candidates.runs_row(i);
    return row == nullptr ? nullptr : &(*row)[attribute_column.at(a)];
  };

  // 3. The filter, run by run (unless the SQL conditions decided it).
  std::vector<size_t> matches;
  std::array<std::vector<size_t>, kRunMapCount> map_slots;
  for (size_t slot = 0; slot < keys.size(); ++slot) map_slots[keys[slot].map].push_back(slot);
  expr::Activation activation;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!evaluate) {
      matches.push_back(i);
      continue;
    }
    for (const Binding& b : bindings) {
      if (b.map >= 0) {
        if (bulk[b.map]) {
          activation.Bind(b.name, expr::Value::Map(bulk_maps[b.map][i]));
          continue;
        }
        expr::ValueMap entries;
        for (size_t slot : map_slots[b.map]) {
          const KeyCell& cell = candidates.cell(i, slot);
          if (!cell.present) continue;
          entries.emplace(expr::Value::String(keys[slot].key),
                          b.map == kMetrics ? expr::Value::Double(cell.number)
                                            : expr::Value::String(*cell.text));
        }
        activation.Bind(b.name, expr::Value::Map(std::move(entries)));
        continue;
      }
      if (b.attribute == nullptr) continue;
      const SqlValue* cell = attribute_cell(i, b.attribute);
      expr::Value value;
      if (cell == nullptr || std::holds_alternative<std::monostate>(*cell)) {
        value = expr::Value::Null();
      } else if (b.attribute->is_time) {
        value = expr::Value::Timestamp(std::get<int64_t>(*cell));
      } else if (b.name == "experiment") {
        value = expr::Value::String(experiment_names[std::get<std::string>(*cell)]);
      } else {
        value = expr::Value::String(std::get<std::string>(*cell));
      }
      activation.Bind(b.name, std::move(value));
    }
    StatusOr<expr::Value> verdict = expr::Evaluate(*filter.program, activation);
    if (!verdict.ok()) {
      // A run missing a key the filter reads (or failing to evaluate otherwise) does not match;
      // only running out of the evaluation budget fails the search.
      if (absl::IsResourceExhausted(verdict.status())) return verdict.status();
      continue;
    }
    if (verdict->kind() == expr::Value::Kind::kBool && verdict->bool_value()) matches.push_back(i);
  }

  // 4. Order: the cells of every match for every key, then a sort with missing values last.
  const size_t n_keys = order.size();
  std::vector<SortCell> cells(matches.size() * n_keys);
  for (size_t k = 0; k < n_keys; ++k) {
    const OrderKey& o = order[k];
    for (size_t n = 0; n < matches.size(); ++n) {
      SortCell& cell = cells[n * n_keys + k];
      const size_t i = matches[n];
      if (o.attribute != nullptr) {
        const SqlValue* v = attribute_cell(i, o.attribute);
        if (v == nullptr || std::holds_alternative<std::monostate>(*v)) continue;
        cell.missing = false;
        if (o.attribute->is_time) {
          cell.integer = std::get<int64_t>(*v);
        } else if (std::string_view(o.attribute->name) == "experiment") {
          auto it = experiment_names.find(std::get<std::string>(*v));
          cell.missing = it == experiment_names.end();
          if (!cell.missing) cell.text = &it->second;
        } else {
          cell.text = &std::get<std::string>(*v);
        }
        continue;
      }
      if (bulk[o.map]) {
        const expr::ValueMap& entries = bulk_maps[o.map][i];
        auto found = entries.find(expr::Value::String(o.key));
        if (found == entries.end()) continue;
        if (o.map == kMetrics) {
          cell.number = found->second.double_value();
          cell.missing = std::isnan(cell.number);
        } else {
          cell.missing = false;
          cell.text = &found->second.string_value();
        }
        continue;
      }
      const KeyCell& value = candidates.cell(i, key_slot.at({o.map, o.key}));
      if (!value.present) continue;
      if (o.map == kMetrics) {
        cell.number = value.number;
        // NaN has no place in an order: it sorts with the missing values.
        cell.missing = std::isnan(cell.number);
      } else {
        cell.missing = value.text == nullptr;
        cell.text = value.text;
      }
    }
  }
  std::vector<size_t> ranks(matches.size());
  for (size_t n = 0; n < ranks.size(); ++n) ranks[n] = n;
  auto less = [&](size_t a, size_t b) {
    for (size_t k = 0; k < n_keys; ++k) {
      const SortCell& x = cells[a * n_keys + k];
      const SortCell& y = cells[b * n_keys + k];
      if (x.missing != y.missing) return !x.missing;  // missing last, in either direction
      if (x.missing) continue;
      int c = 0;
      if (order[k].map == kMetrics) {
        c = x.number < y.number ? -1 : (x.number > y.number ? 1 : 0);
      } else if (order[k].attribute != nullptr && order[k].attribute->is_time) {
        c = x.integer < y.integer ? -1 : (x.integer > y.integer ? 1 : 0);
      } else {
        c = x.text->compare(*y.text);
      }
      if (c != 0) return order[k].descending ? c > 0 : c < 0;
    }
    // Ties: the newer run first. Run ids sort by creation time (core/ids.h), which is the run's
    // start time, and are unique, so the order (and so paging) is total.
    return candidates.id(matches[a]) > candidates.id(matches[b]);
  };
  const size_t begin = std::min(matches.size(), static_cast<size_t>(offset));
  const size_t end = std::min(matches.size(), begin + static_cast<size_t>(request.max_results));
  std::partial_sort(ranks.begin(), ranks.begin() + end, ranks.end(), less);
  std::vector<std::string> page;
  page.reserve(end - begin);
  for (size_t n = begin; n < end; ++n) page.emplace_back(candidates.id(matches[ranks[n]]));

  result.total_matches = static_cast<int64_t>(matches.size());
  ASSIGN_OR_RETURN(result.runs, LoadRuns(tx, page, false));
  if (end < matches.size()) result.next_page_token = MakePageToken(end, fingerprint);
  return result;
}

}  // namespace plinth
