#include "tracking/run_filter.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

// The syntax tree is internal to the expr module, which offers no public way to walk it; the
// analysis below only reads the checked tree of a Program (Program::impl()), never changes it.
#include "expr/ast.h"
#include "expr/program_impl.h"

namespace plinth::tracking_internal {
namespace {

constexpr size_t kMaxPushedConditions = 64;
constexpr size_t kMaxPushedKeys = 32;

using expr::Value;
using expr::internal::Node;
using expr::internal::NodeKind;
using expr::internal::Op;

// Attribute variables that are columns of `runs`, with their declared types.
struct AttributeVariable {
  const char* name;
  const char* type;
  const char* column;  // nullptr: not a column (evaluated in memory only)
  bool nullable;       // NULL in SQL, null in the expression
  bool is_time;        // a timestamp variable over a BIGINT column of microseconds
};

constexpr AttributeVariable kAttributes[] = {
    {"run_id", "string", "id", false, false},
    {"name", "string", "name", false, false},
    {"status", "string", "status", false, false},
    {"experiment", "string", nullptr, false, false},
    {"start_time", "timestamp", "start_time", false, true},
    {"end_time", "timestamp", "end_time", true, true},
    {"created_by", "string", "created_by", false, false},
    {"source", "string", "source", false, false},
    {"parent_run_id", "string", "parent_run_id", true, false},
};

const AttributeVariable* FindAttribute(const std::string& name) {
  for (const AttributeVariable& a : kAttributes) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

// The map a global identifier names, or -1.
int MapOf(const Node& node) {
  if (node.kind != NodeKind::kIdent || node.local) return -1;
  for (int m = 0; m < kRunMapCount; ++m) {
    if (node.name == RunMapName(m)) return m;
  }
  return -1;
}

bool IsStringLiteral(const Node& node) {
  return node.kind == NodeKind::kLiteral && node.literal.kind() == Value::Kind::kString;
}

// A constant-key access to a run map: `m.key` or `m["key"]`. Sets *map and *key.
bool IsKeyAccess(const Node& node, int* map, std::string* key) {
  if (node.kind == NodeKind::kSelect && node.children.size() == 1) {
    *map = MapOf(*node.children[0]);
    *key = node.name;
    return *map >= 0;
  }
  if (node.kind == NodeKind::kIndex && node.children.size() == 2 &&
      IsStringLiteral(*node.children[1])) {
    *map = MapOf(*node.children[0]);
    *key = node.children[1]->literal.string_value();
    return *map >= 0;
  }
  return false;
}

// Records which keys of which maps `node` reads (see run_filter.h).
void CollectKeys(const Node& node, RunFilter* filter) {
  int map = -1;
  std::string key;
  if (IsKeyAccess(node, &map, &key)) {
    filter->keys[map].insert(key);
    return;
  }
  if (node.kind == NodeKind::kHas && node.children.size() == 1) {
    map = MapOf(*node.children[0]);
    if (map >= 0) {
      filter->keys[map].insert(node.name);
      return;
    }
  }
  if (node.kind == NodeKind::kBinary && node.op == Op::kIn && node.children.size() == 2 &&
      IsStringLiteral(*node.children[0])) {
    map = MapOf(*node.children[1]);
    if (map >= 0) {
      filter->keys[map].insert(node.children[0]->literal.string_value());
      return;
    }
  }
  map = MapOf(node);
  if (map >= 0) {
    filter->all_keys[map] = true;
    return;
  }
  for (const auto& child : node.children) CollectKeys(*child, filter);
}

void FlattenAnd(const Node& node, std::vector<const Node*>* out) {
  if (node.kind == NodeKind::kAnd) {
    for (const auto& child : node.children) FlattenAnd(*child, out);
  } else {
    out->push_back(&node);
  }
}

// The SQL operator for a relation, with operands swapped when the literal is on the left.
const char* SqlOp(Op op, bool swapped) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "<>";
    case Op::kLt:
      return swapped ? ">" : "<";
    case Op::kLe:
      return swapped ? ">=" : "<=";
    case Op::kGt:
      return swapped ? "<" : ">";
    case Op::kGe:
      return swapped ? "<=" : ">=";
    default:
      return nullptr;
  }
}

// A literal number as a double that compares in SQL exactly as in the expression: doubles, and
// ints that a double holds exactly.
std::optional<double> ExactNumber(const Node& node) {
  if (node.kind != NodeKind::kLiteral) return std::nullopt;
  if (node.literal.kind() == Value::Kind::kDouble) {
    const double v = node.literal.double_value();
    if (std::isnan(v)) return std::nullopt;
    return v;
  }
  if (node.literal.kind() == Value::Kind::kInt) {
    const int64_t v = node.literal.int_value();
    constexpr int64_t kExact = int64_t{1} << 53;
    if (v < -kExact || v > kExact) return std::nullopt;
    return static_cast<double>(v);
  }
  return std::nullopt;
}

// A list literal of strings, as SQL values.
std::optional<std::vector<SqlValue>> StringList(const Node& node) {
  if (node.kind != NodeKind::kList || node.children.empty()) return std::nullopt;
  std::vector<SqlValue> values;
  for (const auto& item : node.children) {
    if (!IsStringLiteral(*item)) return std::nullopt;
    values.emplace_back(item->literal.string_value());
  }
  return values;
}

// `operand <op> literal` or `literal <op> operand` for a relation; sets the parts.
bool SplitRelation(const Node& node, const Node** operand, const Node** literal, bool* swapped) {
  if (node.kind != NodeKind::kBinary || node.children.size() != 2) return false;
  if (SqlOp(node.op, false) == nullptr) return false;
  const Node& a = *node.children[0];
  const Node& b = *node.children[1];
  if (b.kind == NodeKind::kLiteral) {
    *operand = &a;
    *literal = &b;
    *swapped = false;
    return true;
  }
  if (a.kind == NodeKind::kLiteral) {
    *operand = &b;
    *literal = &a;
    *swapped = true;
    return true;
  }
  return false;
}

// The pushed form of one top-level conjunct, if it has one.
std::optional<PushedCondition> Push(const Node& node) {
  PushedCondition c;
  int map = -1;
  std::string key;
  if (node.kind == NodeKind::kHas && node.children.size() == 1) {
    map = MapOf(*node.children[0]);
    if (map < 0) return std::nullopt;
    c.kind = PushedCondition::Kind::kMapPresence;
    c.map = map;
    c.key = node.name;
    return c;
  }
  // `"key" in metrics`.
  if (node.kind == NodeKind::kBinary && node.op == Op::kIn && node.children.size() == 2) {
    const Node& element = *node.children[0];
    const Node& range = *node.children[1];
    if (IsStringLiteral(element) && (map = MapOf(range)) >= 0) {
      c.kind = PushedCondition::Kind::kMapPresence;
      c.map = map;
      c.key = element.literal.string_value();
      return c;
    }
    // `params.k in ["a", "b"]`, `status in ["FINISHED", "FAILED"]`.
    std::optional<std::vector<SqlValue>> list = StringList(range);
    if (!list) return std::nullopt;
    c.op = "IN";
    c.values = std::move(*list);
    if (IsKeyAccess(element, &map, &key) && map != kMetrics) {
      c.kind = PushedCondition::Kind::kMapValue;
      c.map = map;
      c.key = key;
      return c;
    }
    if (element.kind == NodeKind::kIdent && !element.local) {
      const AttributeVariable* a = FindAttribute(element.name);
      if (a == nullptr || a->column == nullptr || a->is_time) return std::nullopt;
      c.kind = PushedCondition::Kind::kColumn;
      c.column = a->column;
      return c;
    }
    return std::nullopt;
  }
  const Node* operand = nullptr;
  const Node* literal = nullptr;
  bool swapped = false;
  if (!SplitRelation(node, &operand, &literal, &swapped)) return std::nullopt;
  c.op = SqlOp(node.op, swapped);
  if (IsKeyAccess(*operand, &map, &key)) {
    c.kind = PushedCondition::Kind::kMapValue;
    c.map = map;
    c.key = key;
    if (map == kMetrics) {
      // NaN != x is true in the expression but NULL in SQL, so != stays in memory.
      if (node.op == Op::kNe) return std::nullopt;
      std::optional<double> number = ExactNumber(*literal);
      if (!number) return std::nullopt;
      c.values.emplace_back(*number);
      return c;
    }
    // Strings order by bytes in the expression but by collation on PostgreSQL: only equality.
    if ((node.op != Op::kEq && node.op != Op::kNe) || !IsStringLiteral(*literal)) {
      return std::nullopt;
    }
    c.values.emplace_back(literal->literal.string_value());
    return c;
  }
  if (operand->kind != NodeKind::kIdent || operand->local) return std::nullopt;
  const AttributeVariable* a = FindAttribute(operand->name);
  if (a == nullptr || a->column == nullptr) return std::nullopt;
  // null != x is true in the expression and NULL in SQL.
  if (a->nullable && node.op == Op::kNe) return std::nullopt;
  c.kind = PushedCondition::Kind::kColumn;
  c.column = a->column;
  if (a->is_time) {
    if (literal->literal.kind() != Value::Kind::kTimestamp) return std::nullopt;
    c.values.emplace_back(literal->literal.timestamp_micros());
    return c;
  }
  if ((node.op != Op::kEq && node.op != Op::kNe) || !IsStringLiteral(*literal)) {
    return std::nullopt;
  }
  c.values.emplace_back(literal->literal.string_value());
  return c;
}

}  // namespace

const char* RunMapName(int map) {
  switch (map) {
    case kMetrics:
      return "metrics";
    case kParams:
      return "params";
    default:
      return "tags";
  }
}

StatusOr<RunFilter> CompileRunFilter(std::string_view source) {
  RunFilter filter;
  bool blank = true;
  for (char ch : source) {
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') blank = false;
  }
  if (blank) return filter;
  expr::Environment env;
  RETURN_IF_ERROR(env.Declare("metrics", "map(string, double)"));
  RETURN_IF_ERROR(env.Declare("params", "map(string, string)"));
  RETURN_IF_ERROR(env.Declare("tags", "map(string, string)"));
  for (const AttributeVariable& a : kAttributes) {
    RETURN_IF_ERROR(env.Declare(a.name, std::string_view(a.type)));
  }
  ASSIGN_OR_RETURN(expr::Program program, expr::Compile(source, env));
  const expr::TypeKind result = program.result_type().kind();
  if (result != expr::TypeKind::kBool && result != expr::TypeKind::kDyn) {
    return absl::InvalidArgumentError("the filter must be a condition (bool), not " +
                                      program.result_type().ToString() + ": " +
                                      std::string(source));
  }
  for (const std::string& v : program.variables()) filter.variables.insert(v);
  const Node& root = *program.impl().root;
  CollectKeys(root, &filter);
  std::vector<const Node*> conjuncts;
  FlattenAnd(root, &conjuncts);
  // Past a few dozen conditions SQL gains nothing and statements grow toward the backends'
  // limits (SQLite's expression depth, bound parameters): the rest are evaluated in memory.
  std::set<std::pair<int, std::string>> condition_keys;
  size_t pushed = 0;
  for (const Node* conjunct : conjuncts) {
    std::optional<PushedCondition> c = Push(*conjunct);
    if (!c || pushed >= kMaxPushedConditions) continue;
    if (c->kind != PushedCondition::Kind::kColumn) {
      if (condition_keys.count({c->map, c->key}) == 0 && condition_keys.size() >= kMaxPushedKeys) {
        continue;
      }
      condition_keys.insert({c->map, c->key});
    }
    filter.pushed.push_back(std::move(*c));
    ++pushed;
  }
  filter.fully_pushed = pushed == conjuncts.size();
  filter.program = std::move(program);
  return filter;
}

}  // namespace plinth::tracking_internal
