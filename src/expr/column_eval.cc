// Column-wise evaluation (EvaluateColumns in expr.h).
//
// Every sub-expression evaluates to a Vec: one typed value vector plus a state per row (valid,
// null or error). A Vec computed from constants only is a scalar (one row standing for all).
// Kernels combine the states of their operands in the order the row-wise interpreter evaluates
// them (first error wins, then null), so both give the same value and the same error per row.
// Sub-expressions without a kernel (member access, lists, maps, macros, dyn values) are evaluated
// row by row by the interpreter ("fallback").
#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "expr/builtins.h"
#include "expr/expr.h"
#include "expr/kernels.h"
#include "expr/program_impl.h"

namespace plinth::expr {
namespace internal {
namespace {

constexpr uint8_t kNullCell = 0;
constexpr uint8_t kValidCell = 1;
constexpr uint8_t kErrorCell = 2;

enum class VKind { kNull, kBool, kInt, kDouble, kString, kTimestamp, kDuration };

bool Representable(const Type& t, VKind* kind) {
  switch (t.kind()) {
    case TypeKind::kNull:
      *kind = VKind::kNull;
      return true;
    case TypeKind::kBool:
      *kind = VKind::kBool;
      return true;
    case TypeKind::kInt:
      *kind = VKind::kInt;
      return true;
    case TypeKind::kDouble:
      *kind = VKind::kDouble;
      return true;
    case TypeKind::kString:
      *kind = VKind::kString;
      return true;
    case TypeKind::kTimestamp:
      *kind = VKind::kTimestamp;
      return true;
    case TypeKind::kDuration:
      *kind = VKind::kDuration;
      return true;
    default:
      return false;
  }
}

bool Representable(const Type& t) {
  VKind k;
  return Representable(t, &k);
}

// A column of intermediate results. Data pointers view either a table column or the owned
// storage; a Vec is move-only so the views stay valid.
struct Vec {
  VKind kind = VKind::kNull;
  bool scalar = true;
  size_t rows = 1;
  const uint8_t* state = nullptr;
  const int64_t* ints = nullptr;  // int, timestamp, duration
  const double* doubles = nullptr;
  const uint8_t* bools = nullptr;
  const int32_t* codes = nullptr;  // string: index into *dict (only read for valid rows)
  const std::vector<std::string>* dict = nullptr;
  std::unordered_map<size_t, ErrorPtr> errors;

  std::vector<uint8_t> own_state;
  std::vector<int64_t> own_ints;
  std::vector<double> own_doubles;
  std::vector<uint8_t> own_bools;
  std::vector<int32_t> own_codes;
  std::shared_ptr<std::vector<std::string>> own_dict;

  Vec() = default;
  Vec(Vec&&) = default;
  Vec& operator=(Vec&&) = default;
  Vec(const Vec&) = delete;
  Vec& operator=(const Vec&) = delete;

  size_t At(size_t i) const { return scalar ? 0 : i; }
  const ErrorPtr& ErrorAt(size_t i) const { return errors.at(At(i)); }
  std::string_view StringAt(size_t i) const { return (*dict)[codes[At(i)]]; }
};

// Allocates a Vec of `kind` with `rows` rows, all null.
Vec MakeVec(VKind kind, bool scalar, size_t rows) {
  Vec v;
  v.kind = kind;
  v.scalar = scalar;
  v.rows = scalar ? 1 : rows;
  v.own_state.assign(v.rows, kNullCell);
  v.state = v.own_state.data();
  switch (kind) {
    case VKind::kBool:
      v.own_bools.assign(v.rows, 0);
      v.bools = v.own_bools.data();
      break;
    case VKind::kInt:
    case VKind::kTimestamp:
    case VKind::kDuration:
      v.own_ints.assign(v.rows, 0);
      v.ints = v.own_ints.data();
      break;
    case VKind::kDouble:
      v.own_doubles.assign(v.rows, 0);
      v.doubles = v.own_doubles.data();
      break;
    case VKind::kString:
      v.own_codes.assign(v.rows, -1);
      v.codes = v.own_codes.data();
      v.own_dict = std::make_shared<std::vector<std::string>>();
      v.dict = v.own_dict.get();
      break;
    case VKind::kNull:
      break;
  }
  return v;
}

void SetError(Vec* v, size_t i, ErrorPtr error) {
  v->own_state[i] = kErrorCell;
  v->errors[i] = std::move(error);
}

ErrorPtr NewError(const Node& node, std::string_view message) {
  return std::make_shared<const EvalError>(EvalError{node.offset, std::string(message)});
}

// Interns strings into a Vec's own dictionary.
class Interner {
 public:
  explicit Interner(Vec* v) : v_(v) {}
  int32_t Code(std::string_view s) {
    auto it = index_.find(std::string(s));
    if (it != index_.end()) return it->second;
    int32_t code = static_cast<int32_t>(v_->own_dict->size());
    v_->own_dict->emplace_back(s);
    index_.emplace(std::string(s), code);
    return code;
  }

 private:
  Vec* v_;
  std::unordered_map<std::string, int32_t> index_;
};

Value Box(const Vec& v, size_t i) {
  size_t k = v.At(i);
  if (v.state[k] != kValidCell) return Value::Null();
  switch (v.kind) {
    case VKind::kBool:
      return Value::Bool(v.bools[k] != 0);
    case VKind::kInt:
      return Value::Int(v.ints[k]);
    case VKind::kDouble:
      return Value::Double(v.doubles[k]);
    case VKind::kString:
      return Value::String(std::string((*v.dict)[v.codes[k]]));
    case VKind::kTimestamp:
      return Value::Timestamp(v.ints[k]);
    case VKind::kDuration:
      return Value::Duration(v.ints[k]);
    case VKind::kNull:
      break;
  }
  return Value::Null();
}

// Stores a row-wise result into row `i` of `out`.
void Store(Vec* out, size_t i, Result r, const Node& node, Interner* interner) {
  if (!r.ok()) {
    SetError(out, i, std::move(r.error));
    return;
  }
  const Value& v = r.value;
  if (v.is_null()) {
    out->own_state[i] = kNullCell;
    return;
  }
  using K = Value::Kind;
  bool fits = false;
  switch (out->kind) {
    case VKind::kBool:
      if ((fits = v.kind() == K::kBool)) out->own_bools[i] = v.bool_value() ? 1 : 0;
      break;
    case VKind::kInt:
      if ((fits = v.kind() == K::kInt)) out->own_ints[i] = v.int_value();
      break;
    case VKind::kDouble:
      if ((fits = v.kind() == K::kDouble)) out->own_doubles[i] = v.double_value();
      break;
    case VKind::kString:
      if ((fits = v.kind() == K::kString)) out->own_codes[i] = interner->Code(v.string_value());
      break;
    case VKind::kTimestamp:
      if ((fits = v.kind() == K::kTimestamp)) out->own_ints[i] = v.timestamp_micros();
      break;
    case VKind::kDuration:
      if ((fits = v.kind() == K::kDuration)) out->own_ints[i] = v.duration_micros();
      break;
    case VKind::kNull:
      break;
  }
  if (fits) {
    out->own_state[i] = kValidCell;
  } else {
    SetError(out, i,
             NewError(node, "internal error: value of kind " + KindName(v.kind()) + " where " +
                                node.type.ToString() + " was expected"));
  }
}

Vec ScalarFromValue(const Value& value, const Node& node) {
  VKind kind = VKind::kNull;
  Representable(node.type, &kind);
  Vec v = MakeVec(kind, true, 1);
  Interner interner(&v);
  Store(&v, 0, Result{value, nullptr}, node, &interner);
  return v;
}

Vec ScalarError(VKind kind, ErrorPtr error) {
  Vec v = MakeVec(kind, true, 1);
  SetError(&v, 0, std::move(error));
  return v;
}

// Combines the states of `args` at row i in evaluation order: valid if all are valid; otherwise
// the first error, or null.
uint8_t CombineStates(const std::vector<const Vec*>& args, size_t i, const ErrorPtr** error) {
  bool null = false;
  for (const Vec* a : args) {
    uint8_t s = a->state[a->At(i)];
    if (s == kErrorCell) {
      *error = &a->ErrorAt(i);
      return kErrorCell;
    }
    if (s == kNullCell) null = true;
  }
  return null ? kNullCell : kValidCell;
}

// Runs `f(i, ia, ib, &err)` for every row where both operands are valid; propagates errors and
// nulls otherwise. `f` writes row i of `out` and returns false (with err) on an evaluation error.
template <typename F>
Vec BinaryKernel(const Vec& a, const Vec& b, VKind out_kind, const Node& node, size_t n, F&& f) {
  Vec out = MakeVec(out_kind, a.scalar && b.scalar, n);
  const size_t rows = out.rows;
  const bool sa_scalar = a.scalar, sb_scalar = b.scalar;
  for (size_t i = 0; i < rows; ++i) {
    const size_t ia = sa_scalar ? 0 : i, ib = sb_scalar ? 0 : i;
    const uint8_t sa = a.state[ia], sb = b.state[ib];
    if ((sa & sb) == kValidCell) {
      std::string_view err;
      if (f(&out, i, ia, ib, &err)) {
        out.own_state[i] = kValidCell;
      } else {
        SetError(&out, i, NewError(node, err));
      }
    } else if (sa == kErrorCell) {
      SetError(&out, i, a.errors.at(ia));
    } else if (sb == kErrorCell) {
      SetError(&out, i, b.errors.at(ib));
    }
  }
  return out;
}

template <typename F>
Vec UnaryKernel(const Vec& a, VKind out_kind, const Node& node, size_t n, F&& f) {
  Vec out = MakeVec(out_kind, a.scalar, n);
  for (size_t i = 0; i < out.rows; ++i) {
    const uint8_t s = a.state[i];
    if (s == kValidCell) {
      std::string_view err;
      if (f(&out, i, &err)) {
        out.own_state[i] = kValidCell;
      } else {
        SetError(&out, i, NewError(node, err));
      }
    } else if (s == kErrorCell) {
      SetError(&out, i, a.errors.at(i));
    }
  }
  return out;
}

double NumAt(const Vec& v, size_t k) {
  return v.kind == VKind::kInt ? static_cast<double>(v.ints[k]) : v.doubles[k];
}

// Orders row values of two Vecs of comparable kinds.
Order OrderAt(const Vec& a, size_t ia, const Vec& b, size_t ib) {
  if (a.kind == VKind::kDouble && b.kind == VKind::kDouble) {
    return Compare3(a.doubles[ia], b.doubles[ib]);
  }
  if (a.kind == VKind::kInt && b.kind == VKind::kDouble) {
    return CompareIntDouble(a.ints[ia], b.doubles[ib]);
  }
  if (a.kind == VKind::kDouble && b.kind == VKind::kInt) {
    return Reverse(CompareIntDouble(b.ints[ib], a.doubles[ia]));
  }
  if (a.kind == VKind::kBool) return Compare3(a.bools[ia], b.bools[ib]);
  if (a.kind == VKind::kString) {
    return Compare3((*a.dict)[a.codes[ia]].compare((*b.dict)[b.codes[ib]]), 0);
  }
  return Compare3(a.ints[ia], b.ints[ib]);
}

bool Comparable(VKind a, VKind b) {
  bool num_a = a == VKind::kInt || a == VKind::kDouble;
  bool num_b = b == VKind::kInt || b == VKind::kDouble;
  return (num_a && num_b) || (a == b && a != VKind::kNull);
}

class ColumnEvaluator {
 public:
  ColumnEvaluator(const ProgramImpl& program, const Table& table, const ColumnOptions& options)
      : program_(program),
        table_(table),
        options_(options),
        n_(table.num_rows()),
        interp_(&globals_, program.max_locals, options.max_cost_per_row) {}

  Status Bind() {
    const size_t slots = program_.globals.size();
    globals_.values.resize(slots);
    globals_.errors.resize(slots);
    columns_.assign(slots, nullptr);
    Activation empty;
    const Activation& constants = options_.constants ? *options_.constants : empty;
    for (size_t s = 0; s < slots; ++s) {
      const GlobalVar& var = program_.globals[s];
      const Column* c = table_.Find(var.name);
      if (c == nullptr) {
        ResolveGlobal(program_, s, constants, &globals_);
        continue;
      }
      bool ok = var.type.is_dyn();
      switch (c->type()) {
        case ColumnType::kInt64:
          ok = ok || var.type.kind() == TypeKind::kInt || var.type.kind() == TypeKind::kDouble;
          break;
        case ColumnType::kFloat64:
          ok = ok || var.type.kind() == TypeKind::kDouble;
          break;
        case ColumnType::kBool:
          ok = ok || var.type.kind() == TypeKind::kBool;
          break;
        case ColumnType::kString:
          ok = ok || var.type.kind() == TypeKind::kString;
          break;
        case ColumnType::kTimestamp:
          ok = ok || var.type.kind() == TypeKind::kTimestamp;
          break;
      }
      if (!ok) {
        return absl::InvalidArgumentError("column '" + var.name + "' has type " +
                                          ColumnTypeName(c->type()) +
                                          " but the expression declares it " + var.type.ToString());
      }
      if (c->size() != n_) {
        return absl::InvalidArgumentError("column '" + var.name + "' has " +
                                          std::to_string(c->size()) + " rows, the table " +
                                          std::to_string(n_));
      }
      columns_[s] = c;
    }
    return absl::OkStatus();
  }

  Vec Eval(const Node& node) {
    switch (node.kind) {
      case NodeKind::kLiteral:
        return ScalarFromValue(node.literal, node);
      case NodeKind::kIdent:
        return EvalIdent(node);
      case NodeKind::kUnary:
        if (AllRepresentable(node)) return EvalUnary(node);
        break;
      case NodeKind::kBinary:
        if (node.op == Op::kIn && Representable(node.children[0]->type) &&
            !Representable(node.children[1]->type) && !UsesColumns(*node.children[1])) {
          return EvalInConstant(node);
        }
        if (AllRepresentable(node)) {
          Vec a = Eval(*node.children[0]);
          Vec b = Eval(*node.children[1]);
          return EvalBinary(node, a, b);
        }
        break;
      case NodeKind::kAnd:
      case NodeKind::kOr:
        if (AllRepresentable(node)) return EvalLogical(node);
        break;
      case NodeKind::kTernary:
        if (AllRepresentable(node)) return EvalTernary(node);
        break;
      case NodeKind::kCall:
        if (AllRepresentable(node)) return EvalCall(node);
        break;
      default:
        break;
    }
    return Fallback(node);
  }

  // Rows whose row-wise sub-evaluations ran out of budget (empty if none did).
  const std::vector<uint8_t>& cost_exceeded_rows() const { return cost_exceeded_rows_; }

 private:
  bool AllRepresentable(const Node& node) const {
    for (const auto& c : node.children) {
      if (!Representable(c->type)) return false;
    }
    return true;
  }

  bool UsesColumns(const Node& node) const {
    if (node.kind == NodeKind::kIdent && !node.local && columns_[node.slot] != nullptr) {
      return true;
    }
    for (const auto& c : node.children) {
      if (UsesColumns(*c)) return true;
    }
    return false;
  }

  void ColumnSlots(const Node& node, std::vector<int>* slots) const {
    if (node.kind == NodeKind::kIdent && !node.local && columns_[node.slot] != nullptr) {
      if (std::find(slots->begin(), slots->end(), node.slot) == slots->end()) {
        slots->push_back(node.slot);
      }
    }
    for (const auto& c : node.children) ColumnSlots(*c, slots);
  }

  Value Cell(int slot, size_t row) const {
    const Column& c = *columns_[slot];
    // The checker promoted an int column declared double; everything else boxes as is.
    if (c.type() == ColumnType::kInt64 && !c.IsNull(row) &&
        program_.globals[slot].type.kind() == TypeKind::kDouble) {
      return Value::Double(static_cast<double>(c.int64s()[row]));
    }
    return CellValue(c, row);
  }

  Vec EvalIdent(const Node& node) {
    const int slot = node.slot;
    const Column* c = columns_[slot];
    if (c == nullptr) {
      if (!globals_.errors[slot].empty()) {
        VKind kind;
        Representable(node.type, &kind);
        return ScalarError(kind, NewError(node, globals_.errors[slot]));
      }
      return ScalarFromValue(globals_.values[slot], node);
    }
    Vec v;
    v.scalar = false;
    v.rows = n_;
    // The table marks a valid cell with any non-zero byte; states here are exactly 0 or 1.
    const std::vector<uint8_t>& valid = c->valid();
    if (std::all_of(valid.begin(), valid.end(), [](uint8_t b) { return b <= 1; })) {
      v.state = valid.data();
    } else {
      v.own_state.resize(n_);
      for (size_t i = 0; i < n_; ++i) v.own_state[i] = valid[i] ? kValidCell : kNullCell;
      v.state = v.own_state.data();
    }
    switch (c->type()) {
      case ColumnType::kInt64:
        if (node.type.kind() == TypeKind::kDouble) {
          v.kind = VKind::kDouble;
          v.own_doubles.resize(n_);
          for (size_t i = 0; i < n_; ++i) v.own_doubles[i] = static_cast<double>(c->int64s()[i]);
          v.doubles = v.own_doubles.data();
        } else {
          v.kind = VKind::kInt;
          v.ints = c->int64s().data();
        }
        break;
      case ColumnType::kFloat64:
        v.kind = VKind::kDouble;
        v.doubles = c->float64s().data();
        break;
      case ColumnType::kBool:
        v.kind = VKind::kBool;
        v.bools = c->bools().data();
        break;
      case ColumnType::kString:
        v.kind = VKind::kString;
        v.codes = c->codes().data();
        v.dict = &c->dictionary();
        break;
      case ColumnType::kTimestamp:
        v.kind = VKind::kTimestamp;
        v.ints = c->int64s().data();
        break;
    }
    return v;
  }

  // Row-wise evaluation of `node` (whose type is representable) for every row; once when it
  // reads no column.
  Vec Fallback(const Node& node) {
    VKind kind = VKind::kNull;
    Representable(node.type, &kind);
    std::vector<int> slots;
    ColumnSlots(node, &slots);
    Vec out = MakeVec(kind, slots.empty(), n_);
    Interner interner(&out);
    for (size_t i = 0; i < out.rows; ++i) {
      for (int s : slots) globals_.values[s] = Cell(s, i);
      interp_.ResetCost();
      Result r = interp_.Eval(node);
      if (interp_.cost_exceeded()) {
        MarkCostExceeded(out.scalar ? std::nullopt : std::optional<size_t>(i));
        r = Result{Value(), NewError(node, kCostExceeded)};
      }
      Store(&out, i, std::move(r), node, &interner);
    }
    return out;
  }

  void MarkCostExceeded(std::optional<size_t> row) {
    if (cost_exceeded_rows_.empty()) cost_exceeded_rows_.assign(n_, 0);
    if (row) {
      cost_exceeded_rows_[*row] = 1;
    } else {
      std::fill(cost_exceeded_rows_.begin(), cost_exceeded_rows_.end(), 1);
    }
  }

  Vec EvalUnary(const Node& node) {
    Vec a = Eval(*node.children[0]);
    if (node.op == Op::kNot && a.kind == VKind::kBool) {
      return UnaryKernel(a, VKind::kBool, node, n_, [&](Vec* o, size_t i, std::string_view*) {
        o->own_bools[i] = a.bools[i] ? 0 : 1;
        return true;
      });
    }
    if (node.op == Op::kNeg && a.kind == VKind::kInt) {
      return UnaryKernel(a, VKind::kInt, node, n_, [&](Vec* o, size_t i, std::string_view* err) {
        return IntNeg(a.ints[i], &o->own_ints[i], err);
      });
    }
    if (node.op == Op::kNeg && a.kind == VKind::kDouble) {
      return UnaryKernel(a, VKind::kDouble, node, n_, [&](Vec* o, size_t i, std::string_view*) {
        o->own_doubles[i] = -a.doubles[i];
        return true;
      });
    }
    if (node.op == Op::kNeg && a.kind == VKind::kDuration) {
      return UnaryKernel(a, VKind::kDuration, node, n_, [&](Vec* o, size_t i, std::string_view*) {
        o->own_ints[i] = -a.ints[i];
        return true;
      });
    }
    return BoxedCall(node, {&a});
  }

  Vec EvalBinary(const Node& node, const Vec& a, const Vec& b) {
    const VKind ka = a.kind, kb = b.kind;
    switch (node.op) {
      case Op::kEq:
      case Op::kNe:
        return EvalEquality(node, a, b);
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        if (!Comparable(ka, kb)) break;
        const int rel = static_cast<int>(node.op) - static_cast<int>(Op::kLt);
        if (ka == VKind::kString && (a.scalar || b.scalar) && !(a.scalar && b.scalar)) {
          return StringCompareWithScalar(node, a, b,
                                         [rel](Order o) { return OrderSatisfies(o, rel); });
        }
        if (ka == VKind::kInt && kb == VKind::kInt) {
          return BinaryKernel(a, b, VKind::kBool, node, n_,
                              [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view*) {
                                o->own_bools[i] =
                                    OrderSatisfies(Compare3(a.ints[ia], b.ints[ib]), rel);
                                return true;
                              });
        }
        if (ka == VKind::kDouble && kb == VKind::kDouble) {
          return BinaryKernel(a, b, VKind::kBool, node, n_,
                              [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view*) {
                                o->own_bools[i] =
                                    OrderSatisfies(Compare3(a.doubles[ia], b.doubles[ib]), rel);
                                return true;
                              });
        }
        return BinaryKernel(a, b, VKind::kBool, node, n_,
                            [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view*) {
                              o->own_bools[i] = OrderSatisfies(OrderAt(a, ia, b, ib), rel);
                              return true;
                            });
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul:
      case Op::kDiv:
      case Op::kMod:
        return EvalArithmetic(node, a, b);
      default:
        break;
    }
    return BoxedBinary(node, a, b);
  }

  Vec EvalArithmetic(const Node& node, const Vec& a, const Vec& b) {
    const VKind ka = a.kind, kb = b.kind;
    const Op op = node.op;
    if (ka == VKind::kInt && kb == VKind::kInt) {
      auto run = [&](auto fn) {
        return BinaryKernel(a, b, VKind::kInt, node, n_,
                            [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view* err) {
                              return fn(a.ints[ia], b.ints[ib], &o->own_ints[i], err);
                            });
      };
      switch (op) {
        case Op::kAdd:
          return run(IntAdd);
        case Op::kSub:
          return run(IntSub);
        case Op::kMul:
          return run(IntMul);
        case Op::kDiv:
          return run(IntDiv);
        default:
          return run(IntMod);
      }
    }
    const bool num_a = ka == VKind::kInt || ka == VKind::kDouble;
    const bool num_b = kb == VKind::kInt || kb == VKind::kDouble;
    if (num_a && num_b && op != Op::kMod) {
      return BinaryKernel(a, b, VKind::kDouble, node, n_,
                          [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view* err) {
                            const double x = NumAt(a, ia), y = NumAt(b, ib);
                            double& r = o->own_doubles[i];
                            switch (op) {
                              case Op::kAdd:
                                r = x + y;
                                return true;
                              case Op::kSub:
                                r = x - y;
                                return true;
                              case Op::kMul:
                                r = x * y;
                                return true;
                              default:
                                return DoubleDiv(x, y, &r, err);
                            }
                          });
    }
    using TimeFn = bool (*)(int64_t, int64_t, int64_t*, std::string_view*);
    TimeFn fn = nullptr;
    VKind out = VKind::kNull;
    bool swap = false;
    if (op == Op::kAdd && ka == VKind::kTimestamp && kb == VKind::kDuration) {
      fn = TimestampAddDuration;
      out = VKind::kTimestamp;
    } else if (op == Op::kAdd && ka == VKind::kDuration && kb == VKind::kTimestamp) {
      fn = TimestampAddDuration;
      out = VKind::kTimestamp;
      swap = true;
    } else if (op == Op::kAdd && ka == VKind::kDuration && kb == VKind::kDuration) {
      fn = DurationAdd;
      out = VKind::kDuration;
    } else if (op == Op::kSub && ka == VKind::kTimestamp && kb == VKind::kTimestamp) {
      fn = TimestampDiff;
      out = VKind::kDuration;
    } else if (op == Op::kSub && ka == VKind::kTimestamp && kb == VKind::kDuration) {
      fn = TimestampSubDuration;
      out = VKind::kTimestamp;
    } else if (op == Op::kSub && ka == VKind::kDuration && kb == VKind::kDuration) {
      fn = DurationSub;
      out = VKind::kDuration;
    }
    if (fn != nullptr) {
      return BinaryKernel(a, b, out, node, n_,
                          [&](Vec* o, size_t i, size_t ia, size_t ib, std::string_view* err) {
                            return swap ? fn(b.ints[ib], a.ints[ia], &o->own_ints[i], err)
                                        : fn(a.ints[ia], b.ints[ib], &o->own_ints[i], err);
                          });
    }
    return BoxedBinary(node, a, b);
  }

  // == and != : null is a value here (null == null), errors propagate.
  Vec EvalEquality(const Node& node, const Vec& a, const Vec& b) {
    const bool want_equal = node.op == Op::kEq;
    const bool typed = Comparable(a.kind, b.kind);
    const bool string_scalar = typed && a.kind == VKind::kString && (a.scalar != b.scalar);
    std::vector<uint8_t> by_code;
    const Vec* column = &a;
    if (string_scalar) {
      // Compare each dictionary entry of the column side with the scalar side once.
      const Vec& s = a.scalar ? a : b;
      column = a.scalar ? &b : &a;
      if (s.state[0] == kValidCell) {
        std::string_view needle = s.StringAt(0);
        by_code.resize(column->dict->size());
        for (size_t c = 0; c < by_code.size(); ++c) by_code[c] = (*column->dict)[c] == needle;
      }
    }
    Vec out = MakeVec(VKind::kBool, a.scalar && b.scalar, n_);
    for (size_t i = 0; i < out.rows; ++i) {
      const size_t ia = a.At(i), ib = b.At(i);
      const uint8_t sa = a.state[ia], sb = b.state[ib];
      if (sa == kErrorCell) {
        SetError(&out, i, a.errors.at(ia));
        continue;
      }
      if (sb == kErrorCell) {
        SetError(&out, i, b.errors.at(ib));
        continue;
      }
      bool equal;
      if (sa == kValidCell && sb == kValidCell) {
        if (string_scalar) {
          equal = by_code[column->codes[column->At(i)]] != 0;
        } else if (typed) {
          equal = OrderAt(a, ia, b, ib) == Order::kEqual;
        } else {
          equal = ValuesEqual(Box(a, i), Box(b, i));
        }
      } else {
        equal = sa == sb;  // both null
      }
      out.own_state[i] = kValidCell;
      out.own_bools[i] = equal == want_equal;
    }
    return out;
  }

  // <, <=, >, >= between a string column and a string scalar, once per dictionary entry.
  template <typename Pred>
  Vec StringCompareWithScalar(const Node& node, const Vec& a, const Vec& b, Pred pred) {
    const Vec& s = a.scalar ? a : b;
    const Vec& col = a.scalar ? b : a;
    std::vector<uint8_t> by_code;
    if (s.state[0] == kValidCell) {
      std::string_view scalar = s.StringAt(0);
      by_code.resize(col.dict->size());
      for (size_t c = 0; c < by_code.size(); ++c) {
        Order o = Compare3((*col.dict)[c].compare(scalar), 0);
        by_code[c] = pred(a.scalar ? Reverse(o) : o);
      }
    }
    return BinaryKernel(a, b, VKind::kBool, node, n_,
                        [&](Vec* o, size_t i, size_t, size_t, std::string_view*) {
                          o->own_bools[i] = by_code[col.codes[i]];
                          return true;
                        });
  }

  Vec BoxedBinary(const Node& node, const Vec& a, const Vec& b) {
    VKind kind = VKind::kNull;
    Representable(node.type, &kind);
    Vec out = MakeVec(kind, a.scalar && b.scalar, n_);
    Interner interner(&out);
    int64_t cost = 0;
    for (size_t i = 0; i < out.rows; ++i) {
      const ErrorPtr* error = nullptr;
      uint8_t s = CombineStates({&a, &b}, i, &error);
      if (s == kErrorCell) {
        SetError(&out, i, *error);
        continue;
      }
      if (s == kNullCell) continue;
      OpResult r = ApplyBinary(node.op, Box(a, i), Box(b, i), &cost);
      Store(&out, i,
            r.ok ? Result{std::move(r.value), nullptr} : Result{{}, NewError(node, r.error)}, node,
            &interner);
    }
    return out;
  }

  // `x in <constant list or map>`: the collection is evaluated once.
  Vec EvalInConstant(const Node& node) {
    Vec a = Eval(*node.children[0]);
    interp_.ResetCost();
    Result coll = interp_.Eval(*node.children[1]);
    if (interp_.cost_exceeded()) {
      MarkCostExceeded(std::nullopt);
      coll = Result{Value(), NewError(node, kCostExceeded)};
    }
    int64_t cost = 0;
    std::vector<Result> by_code;
    Result for_null;
    auto member = [&](const Value& element) -> Result {
      OpResult r = ApplyIn(element, coll.value, &cost);
      if (!r.ok) return Result{Value(), NewError(node, r.error)};
      return Result{std::move(r.value), nullptr};
    };
    const bool per_code = coll.ok() && !coll.value.is_null() && a.kind == VKind::kString;
    if (per_code) {
      for (const std::string& s : *a.dict) by_code.push_back(member(Value::String(s)));
    }
    if (coll.ok() && !coll.value.is_null()) for_null = member(Value::Null());
    Vec out = MakeVec(VKind::kBool, a.scalar, n_);
    Interner interner(&out);
    for (size_t i = 0; i < out.rows; ++i) {
      const uint8_t s = a.state[i];
      if (s == kErrorCell) {
        SetError(&out, i, a.errors.at(i));
      } else if (!coll.ok()) {
        SetError(&out, i, coll.error);
      } else if (coll.value.is_null()) {
        out.own_state[i] = kNullCell;
      } else if (s == kNullCell) {
        Store(&out, i, for_null, node, &interner);
      } else if (per_code) {
        Store(&out, i, by_code[a.codes[i]], node, &interner);
      } else {
        Store(&out, i, member(Box(a, i)), node, &interner);
      }
    }
    return out;
  }

  Vec EvalLogical(const Node& node) {
    const bool is_and = node.kind == NodeKind::kAnd;
    const uint8_t absorbing = is_and ? 0 : 1;
    Vec a = Eval(*node.children[0]);
    Vec b = Eval(*node.children[1]);
    Vec out = MakeVec(VKind::kBool, a.scalar && b.scalar, n_);
    for (size_t i = 0; i < out.rows; ++i) {
      const size_t ia = a.At(i), ib = b.At(i);
      const uint8_t sa = a.state[ia], sb = b.state[ib];
      if ((sa == kValidCell && a.bools[ia] == absorbing) ||
          (sb == kValidCell && b.bools[ib] == absorbing)) {
        out.own_state[i] = kValidCell;
        out.own_bools[i] = absorbing;
      } else if (sa == kErrorCell) {
        SetError(&out, i, a.errors.at(ia));
      } else if (sb == kErrorCell) {
        SetError(&out, i, b.errors.at(ib));
      } else if (sa == kValidCell && sb == kValidCell) {
        out.own_state[i] = kValidCell;
        out.own_bools[i] = 1 - absorbing;
      }
    }
    return out;
  }

  Vec EvalTernary(const Node& node) {
    VKind kind = VKind::kNull;
    Representable(node.type, &kind);
    Vec c = Eval(*node.children[0]);
    Vec yes = Eval(*node.children[1]);
    Vec no = Eval(*node.children[2]);
    for (const Vec* branch : {&yes, &no}) {
      if (branch->kind != kind && branch->kind != VKind::kNull) {
        return Fallback(node);
      }
    }
    Vec out = MakeVec(kind, c.scalar && yes.scalar && no.scalar, n_);
    // Strings: the output dictionary is the "yes" dictionary followed by the "no" one.
    int32_t no_shift = 0;
    if (kind == VKind::kString) {
      if (yes.kind == VKind::kString) {
        *out.own_dict = *yes.dict;
        no_shift = static_cast<int32_t>(yes.dict->size());
      }
      if (no.kind == VKind::kString) {
        out.own_dict->insert(out.own_dict->end(), no.dict->begin(), no.dict->end());
      }
    }
    for (size_t i = 0; i < out.rows; ++i) {
      const size_t ic = c.At(i);
      if (c.state[ic] == kErrorCell) {
        SetError(&out, i, c.errors.at(ic));
        continue;
      }
      if (c.state[ic] == kNullCell) continue;
      const bool pick_yes = c.bools[ic] != 0;
      const Vec& v = pick_yes ? yes : no;
      const size_t iv = v.At(i);
      const uint8_t s = v.kind == VKind::kNull ? kNullCell : v.state[iv];
      if (s == kErrorCell) {
        SetError(&out, i, v.errors.at(iv));
        continue;
      }
      if (s == kNullCell) continue;
      out.own_state[i] = kValidCell;
      switch (kind) {
        case VKind::kBool:
          out.own_bools[i] = v.bools[iv];
          break;
        case VKind::kInt:
        case VKind::kTimestamp:
        case VKind::kDuration:
          out.own_ints[i] = v.ints[iv];
          break;
        case VKind::kDouble:
          out.own_doubles[i] = v.doubles[iv];
          break;
        case VKind::kString:
          out.own_codes[i] = v.codes[iv] + (pick_yes ? 0 : no_shift);
          break;
        case VKind::kNull:
          break;
      }
    }
    return out;
  }

  Vec EvalCall(const Node& node) {
    std::vector<Vec> args;
    args.reserve(node.children.size());
    for (const auto& c : node.children) args.push_back(Eval(*c));
    std::vector<const Vec*> ptrs;
    for (const Vec& a : args) ptrs.push_back(&a);
    const VKind k0 = args[0].kind;
    const Vec& a = args[0];
    switch (node.builtin) {
      case Builtin::kAbs:
        if (k0 == VKind::kInt) {
          return UnaryKernel(a, VKind::kInt, node, n_,
                             [&](Vec* o, size_t i, std::string_view* err) {
                               return IntAbs(a.ints[i], &o->own_ints[i], err);
                             });
        }
        if (k0 == VKind::kDouble) {
          return UnaryKernel(a, VKind::kDouble, node, n_, [&](Vec* o, size_t i, std::string_view*) {
            o->own_doubles[i] = std::fabs(a.doubles[i]);
            return true;
          });
        }
        break;
      case Builtin::kLog:
      case Builtin::kExp:
      case Builtin::kSqrt:
      case Builtin::kToDouble:
        if (k0 == VKind::kInt || k0 == VKind::kDouble) {
          const Builtin fn = node.builtin;
          return UnaryKernel(a, VKind::kDouble, node, n_,
                             [&](Vec* o, size_t i, std::string_view* err) {
                               const double x = NumAt(a, i);
                               double& r = o->own_doubles[i];
                               switch (fn) {
                                 case Builtin::kLog:
                                   return MathLog(x, &r, err);
                                 case Builtin::kSqrt:
                                   return MathSqrt(x, &r, err);
                                 case Builtin::kExp:
                                   r = std::exp(x);
                                   return true;
                                 default:
                                   r = x;
                                   return true;
                               }
                             });
        }
        break;
      case Builtin::kToInt:
        if (k0 == VKind::kInt) {
          return UnaryKernel(a, VKind::kInt, node, n_, [&](Vec* o, size_t i, std::string_view*) {
            o->own_ints[i] = a.ints[i];
            return true;
          });
        }
        if (k0 == VKind::kDouble) {
          return UnaryKernel(a, VKind::kInt, node, n_,
                             [&](Vec* o, size_t i, std::string_view* err) {
                               return DoubleToInt(a.doubles[i], &o->own_ints[i], err);
                             });
        }
        break;
      case Builtin::kMin:
      case Builtin::kMax:
      case Builtin::kClip:
        if (SameNumericKind(args)) return NumericNary(node, args);
        break;
      default:
        break;
    }
    // A function of one string column and constants: apply it once per dictionary entry.
    int column_arg = -1, columns = 0;
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].scalar) {
        ++columns;
        column_arg = static_cast<int>(i);
      }
    }
    if (columns == 1 && args[column_arg].kind == VKind::kString) {
      return PerDictionaryCall(node, args, column_arg);
    }
    return BoxedCall(node, ptrs);
  }

  static bool SameNumericKind(const std::vector<Vec>& args) {
    const VKind k = args[0].kind;
    if (k != VKind::kInt && k != VKind::kDouble) return false;
    for (const Vec& v : args) {
      if (v.kind != k) return false;
    }
    return true;
  }

  // min, max and clip over arguments that are all int or all double.
  Vec NumericNary(const Node& node, const std::vector<Vec>& args) {
    const bool ints = args[0].kind == VKind::kInt;
    bool scalar = true;
    std::vector<const Vec*> ptrs;
    for (const Vec& v : args) {
      scalar = scalar && v.scalar;
      ptrs.push_back(&v);
    }
    Vec out = MakeVec(args[0].kind, scalar, n_);
    const Builtin fn = node.builtin;
    for (size_t i = 0; i < out.rows; ++i) {
      const ErrorPtr* error = nullptr;
      const uint8_t s = CombineStates(ptrs, i, &error);
      if (s == kErrorCell) {
        SetError(&out, i, *error);
        continue;
      }
      if (s == kNullCell) continue;
      if (fn == Builtin::kClip) {
        const Vec &x = args[0], &lo = args[1], &hi = args[2];
        const size_t ix = x.At(i), il = lo.At(i), ih = hi.At(i);
        Order hi_lo =
            ints ? Compare3(hi.ints[ih], lo.ints[il]) : Compare3(hi.doubles[ih], lo.doubles[il]);
        if (hi_lo == Order::kLess) {
          SetError(&out, i,
                   NewError(node, "clip(): the lower bound is greater than the upper bound"));
          continue;
        }
        if (ints) {
          int64_t v = x.ints[ix];
          if (v < lo.ints[il]) {
            v = lo.ints[il];
          } else if (hi.ints[ih] < v) {
            v = hi.ints[ih];
          }
          out.own_ints[i] = v;
        } else {
          double v = x.doubles[ix];
          if (v < lo.doubles[il]) {
            v = lo.doubles[il];
          } else if (hi.doubles[ih] < v) {
            v = hi.doubles[ih];
          }
          out.own_doubles[i] = v;
        }
      } else if (ints) {
        int64_t best = args[0].ints[args[0].At(i)];
        for (size_t k = 1; k < args.size(); ++k) {
          const int64_t v = args[k].ints[args[k].At(i)];
          if (fn == Builtin::kMin ? v < best : v > best) best = v;
        }
        out.own_ints[i] = best;
      } else {
        double best = args[0].doubles[args[0].At(i)];
        for (size_t k = 1; k < args.size(); ++k) {
          const double v = args[k].doubles[args[k].At(i)];
          best = fn == Builtin::kMin ? PickMin(best, v) : PickMax(best, v);
        }
        out.own_doubles[i] = best;
      }
      out.own_state[i] = kValidCell;
    }
    return out;
  }

  Vec PerDictionaryCall(const Node& node, const std::vector<Vec>& args, int column_arg) {
    VKind kind = VKind::kNull;
    Representable(node.type, &kind);
    const Vec& col = args[column_arg];
    std::vector<const Vec*> scalars;
    for (size_t k = 0; k < args.size(); ++k) {
      if (static_cast<int>(k) != column_arg) scalars.push_back(&args[k]);
    }
    // The state of the constant arguments decides for every row where the column is valid.
    const ErrorPtr* scalar_error = nullptr;
    const uint8_t scalar_state = CombineStates(scalars, 0, &scalar_error);
    std::vector<Result> by_code;
    if (scalar_state == kValidCell) {
      std::vector<Value> values;
      for (size_t k = 0; k < args.size(); ++k) {
        values.push_back(static_cast<int>(k) == column_arg ? Value() : Box(args[k], 0));
      }
      by_code.reserve(col.dict->size());
      int64_t cost = 0;
      for (const std::string& s : *col.dict) {
        values[column_arg] = Value::String(s);
        OpResult r = ApplyBuiltin(node, values, &cost);
        by_code.push_back(r.ok ? Result{std::move(r.value), nullptr}
                               : Result{Value(), NewError(node, r.error)});
      }
    }
    Vec out = MakeVec(kind, false, n_);
    Interner interner(&out);
    // Arguments are evaluated left to right: an error before the column argument wins.
    std::vector<const Vec*> ordered;
    for (const Vec& v : args) ordered.push_back(&v);
    for (size_t i = 0; i < n_; ++i) {
      const ErrorPtr* error = nullptr;
      const uint8_t s = CombineStates(ordered, i, &error);
      if (s == kErrorCell) {
        SetError(&out, i, *error);
      } else if (s == kValidCell) {
        Store(&out, i, by_code[col.codes[i]], node, &interner);
      }
    }
    return out;
  }

  Vec BoxedCall(const Node& node, const std::vector<const Vec*>& args) {
    VKind kind = VKind::kNull;
    Representable(node.type, &kind);
    bool scalar = true;
    for (const Vec* a : args) scalar = scalar && a->scalar;
    Vec out = MakeVec(kind, scalar, n_);
    Interner interner(&out);
    std::vector<Value> values(args.size());
    int64_t cost = 0;
    for (size_t i = 0; i < out.rows; ++i) {
      const ErrorPtr* error = nullptr;
      const uint8_t s = CombineStates(args, i, &error);
      if (s == kErrorCell) {
        SetError(&out, i, *error);
        continue;
      }
      if (s == kNullCell) continue;
      for (size_t k = 0; k < args.size(); ++k) values[k] = Box(*args[k], i);
      OpResult r = node.kind == NodeKind::kUnary ? ApplyUnary(node.op, values[0])
                                                 : ApplyBuiltin(node, values, &cost);
      Store(&out, i,
            r.ok ? Result{std::move(r.value), nullptr} : Result{{}, NewError(node, r.error)}, node,
            &interner);
    }
    return out;
  }

  const ProgramImpl& program_;
  const Table& table_;
  const ColumnOptions& options_;
  const size_t n_;
  Globals globals_;
  std::vector<const Column*> columns_;
  Interpreter interp_;
  std::vector<uint8_t> cost_exceeded_rows_;
};

}  // namespace
}  // namespace internal

StatusOr<Column> EvaluateColumns(const Program& program, const Table& table,
                                 const ColumnOptions& options) {
  using internal::VKind;
  const internal::ProgramImpl& impl = program.impl();
  const Type& type = program.result_type();
  ColumnType column_type;
  switch (type.kind()) {
    case TypeKind::kBool:
      column_type = ColumnType::kBool;
      break;
    case TypeKind::kInt:
      column_type = ColumnType::kInt64;
      break;
    case TypeKind::kDouble:
      column_type = ColumnType::kFloat64;
      break;
    case TypeKind::kString:
      column_type = ColumnType::kString;
      break;
    case TypeKind::kTimestamp:
      column_type = ColumnType::kTimestamp;
      break;
    default:
      return absl::InvalidArgumentError(
          "the result of a column expression must be bool, int, double, string or timestamp; '" +
          impl.source + "' has type " + type.ToString());
  }
  internal::ColumnEvaluator evaluator(impl, table, options);
  RETURN_IF_ERROR(evaluator.Bind());
  internal::Vec result = evaluator.Eval(*impl.root);
  const size_t n = table.num_rows();
  const auto& over_budget = evaluator.cost_exceeded_rows();
  for (size_t i = 0; i < n && !over_budget.empty(); ++i) {
    if (over_budget[i]) {
      return internal::EvalErrorStatus(
          impl, internal::EvalError{impl.root->offset, std::string(internal::kCostExceeded)},
          "row " + std::to_string(i) + ": ");
    }
  }
  if (!options.errors_as_null) {
    for (size_t i = 0; i < n; ++i) {
      if (result.state[result.At(i)] == internal::kErrorCell) {
        return internal::EvalErrorStatus(impl, *result.ErrorAt(i),
                                         "row " + std::to_string(i) + ": ");
      }
    }
  }
  Column out(options.name, column_type);
  out.Reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = result.At(i);
    if (result.state[k] != internal::kValidCell) {
      out.AppendNull();
      continue;
    }
    switch (result.kind) {
      case VKind::kBool:
        out.AppendBool(result.bools[k] != 0);
        break;
      case VKind::kInt:
      case VKind::kTimestamp:
        out.AppendInt64(result.ints[k]);
        break;
      case VKind::kDouble:
        out.AppendFloat64(result.doubles[k]);
        break;
      case VKind::kString:
        out.AppendString(result.StringAt(i));
        break;
      default:
        out.AppendNull();
    }
  }
  return out;
}

}  // namespace plinth::expr
