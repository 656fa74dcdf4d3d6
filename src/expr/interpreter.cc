#include "expr/interpreter.h"

#include "expr/builtins.h"

namespace plinth::expr::internal {
namespace {

using K = Value::Kind;

Result Ok(Value v) { return Result{std::move(v), nullptr}; }

Result Fail(const Node& node, std::string message) {
  return Result{Value(),
                std::make_shared<const EvalError>(EvalError{node.offset, std::move(message)})};
}

std::string KeyText(const Value& key) {
  return key.kind() == K::kString ? "'" + key.string_value().substr(0, 60) + "'"
                                  : key.DebugString();
}

}  // namespace

Interpreter::Interpreter(const Globals* globals, int max_locals, int64_t max_cost)
    : globals_(globals), locals_(static_cast<size_t>(max_locals)), max_cost_(max_cost) {}

Result Interpreter::Eval(const Node& node) {
  if (++cost_ > max_cost_) cost_exceeded_ = true;
  if (cost_exceeded_) return Fail(node, std::string(kCostExceeded));
  switch (node.kind) {
    case NodeKind::kLiteral:
      return Ok(node.literal);
    case NodeKind::kIdent:
      if (node.local) return Ok(locals_[node.slot]);
      if (!globals_->errors[node.slot].empty()) return Fail(node, globals_->errors[node.slot]);
      return Ok(globals_->values[node.slot]);
    case NodeKind::kSelect:
      return EvalSelect(node);
    case NodeKind::kIndex:
      return EvalIndex(node);
    case NodeKind::kHas:
      return EvalHas(node);
    case NodeKind::kCall:
      return EvalCall(node);
    case NodeKind::kList:
      return EvalList(node);
    case NodeKind::kMap:
      return EvalMap(node);
    case NodeKind::kUnary: {
      Result r = Eval(*node.children[0]);
      if (!r.ok() || r.value.is_null()) return r;
      OpResult o = ApplyUnary(node.op, r.value);
      if (!o.ok) return Fail(node, std::move(o.error));
      return Ok(std::move(o.value));
    }
    case NodeKind::kBinary:
      return EvalBinary(node);
    case NodeKind::kAnd:
    case NodeKind::kOr:
      return EvalLogical(node);
    case NodeKind::kTernary: {
      Result c = Eval(*node.children[0]);
      if (!c.ok() || c.value.is_null()) return c;
      if (c.value.kind() != K::kBool) {
        return Fail(*node.children[0],
                    "condition of '?:' must be bool, got " + KindName(c.value.kind()));
      }
      return Eval(*node.children[c.value.bool_value() ? 1 : 2]);
    }
    case NodeKind::kComprehension:
      return EvalComprehension(node);
  }
  return Fail(node, "unsupported expression");
}

Result Interpreter::EvalSelect(const Node& node) {
  Result r = Eval(*node.children[0]);
  if (!r.ok() || r.value.is_null()) return r;
  if (r.value.kind() != K::kMap) {
    return Fail(node, "cannot select field '" + node.name + "' from a value of type " +
                          KindName(r.value.kind()));
  }
  const Value* v = MapLookup(r.value.map_value(), Value::String(node.name));
  if (v == nullptr) return Fail(node, "no such key: '" + node.name + "'");
  return Ok(*v);
}

Result Interpreter::EvalIndex(const Node& node) {
  Result a = Eval(*node.children[0]);
  if (!a.ok()) return a;
  Result b = Eval(*node.children[1]);
  if (!b.ok()) return b;
  if (a.value.is_null() || b.value.is_null()) return Ok(Value::Null());
  if (a.value.kind() == K::kList) {
    if (b.value.kind() != K::kInt) {
      return Fail(node, "list index must be int, got " + KindName(b.value.kind()));
    }
    const ValueList& items = a.value.list_value();
    int64_t i = b.value.int_value();
    if (i < 0 || static_cast<uint64_t>(i) >= items.size()) {
      return Fail(node, "index " + std::to_string(i) + " out of range for a list of size " +
                            std::to_string(items.size()));
    }
    return Ok(items[static_cast<size_t>(i)]);
  }
  if (a.value.kind() == K::kMap) {
    const Value* v = MapLookup(a.value.map_value(), b.value);
    if (v == nullptr) return Fail(node, "no such key: " + KeyText(b.value));
    return Ok(*v);
  }
  return Fail(node, "cannot index a value of type " + KindName(a.value.kind()));
}

Result Interpreter::EvalHas(const Node& node) {
  Result r = Eval(*node.children[0]);
  if (!r.ok()) return r;
  if (r.value.is_null()) return Ok(Value::Bool(false));
  if (r.value.kind() != K::kMap) {
    return Fail(node, "has() needs a map, got " + KindName(r.value.kind()));
  }
  return Ok(Value::Bool(MapLookup(r.value.map_value(), Value::String(node.name)) != nullptr));
}

Result Interpreter::EvalCall(const Node& node) {
  std::vector<Value> args;
  args.reserve(node.children.size());
  bool any_null = false;
  for (const auto& child : node.children) {
    Result r = Eval(*child);
    if (!r.ok()) return r;
    any_null = any_null || r.value.is_null();
    args.push_back(std::move(r.value));
  }
  if (any_null) return Ok(Value::Null());
  OpResult o = ApplyBuiltin(node, args, &cost_);
  if (!o.ok) return Fail(node, std::move(o.error));
  return Ok(std::move(o.value));
}

Result Interpreter::EvalList(const Node& node) {
  ValueList items;
  items.reserve(node.children.size());
  for (const auto& child : node.children) {
    Result r = Eval(*child);
    if (!r.ok()) return r;
    items.push_back(std::move(r.value));
  }
  return Ok(Value::List(std::move(items)));
}

Result Interpreter::EvalMap(const Node& node) {
  ValueMap entries;
  for (size_t i = 0; i < node.children.size(); i += 2) {
    Result k = Eval(*node.children[i]);
    if (!k.ok()) return k;
    Result v = Eval(*node.children[i + 1]);
    if (!v.ok()) return v;
    K kind = k.value.kind();
    if (kind != K::kString && kind != K::kInt && kind != K::kBool) {
      return Fail(*node.children[i], "map keys must be int, string or bool, got " + KindName(kind));
    }
    if (!entries.emplace(k.value, std::move(v.value)).second) {
      return Fail(*node.children[i], "duplicate map key " + KeyText(k.value));
    }
  }
  return Ok(Value::Map(std::move(entries)));
}

Result Interpreter::EvalBinary(const Node& node) {
  Result a = Eval(*node.children[0]);
  if (!a.ok()) return a;
  Result b = Eval(*node.children[1]);
  if (!b.ok()) return b;
  switch (node.op) {
    case Op::kEq:
    case Op::kNe: {
      bool eq = EqualCounting(a.value, b.value, &cost_);
      return Ok(Value::Bool(node.op == Op::kEq ? eq : !eq));
    }
    case Op::kIn: {
      if (b.value.is_null()) return Ok(Value::Null());
      OpResult o = ApplyIn(a.value, b.value, &cost_);
      if (!o.ok) return Fail(node, std::move(o.error));
      return Ok(std::move(o.value));
    }
    default:
      break;
  }
  if (a.value.is_null() || b.value.is_null()) return Ok(Value::Null());
  OpResult o = ApplyBinary(node.op, a.value, b.value, &cost_);
  if (!o.ok) return Fail(node, std::move(o.error));
  return Ok(std::move(o.value));
}

// && and || with CEL's commutative error absorption extended to null: for &&, false wins over
// errors, errors over null, null over true (|| likewise with true).
Result Interpreter::EvalLogical(const Node& node) {
  const bool is_and = node.kind == NodeKind::kAnd;
  const bool absorbing = !is_and;  // the value that decides the result on its own
  auto check = [&](Result r) -> Result {
    if (r.ok() && !r.value.is_null() && r.value.kind() != K::kBool) {
      return Fail(node, std::string("operands of '") + (is_and ? "&&" : "||") +
                            "' must be bool, got " + KindName(r.value.kind()));
    }
    return r;
  };
  Result a = check(Eval(*node.children[0]));
  if (a.ok() && a.value.kind() == K::kBool && a.value.bool_value() == absorbing) return a;
  if (cost_exceeded_) return a;
  Result b = check(Eval(*node.children[1]));
  if (b.ok() && b.value.kind() == K::kBool && b.value.bool_value() == absorbing) return b;
  if (!a.ok()) return a;
  if (!b.ok()) return b;
  if (a.value.is_null() || b.value.is_null()) return Ok(Value::Null());
  return Ok(Value::Bool(!absorbing));
}

Result Interpreter::EvalComprehension(const Node& node) {
  Result range = Eval(*node.children[0]);
  if (!range.ok() || range.value.is_null()) return range;
  std::vector<Value> keys;
  const ValueList* items = nullptr;
  if (range.value.kind() == K::kList) {
    items = &range.value.list_value();
  } else if (range.value.kind() == K::kMap) {
    for (const auto& entry : range.value.map_value()) keys.push_back(entry.first);
    items = &keys;
  } else {
    return Fail(node, "cannot iterate over a value of type " + KindName(range.value.kind()));
  }
  Value& var = locals_[node.slot];
  // Predicate results: is it true, is it null, or an error (non-bool results are errors).
  auto predicate = [&](const Node& body, bool* truth, bool* null) -> Result {
    Result r = Eval(body);
    *truth = false;
    *null = false;
    if (!r.ok()) return r;
    if (r.value.is_null()) {
      *null = true;
    } else if (r.value.kind() != K::kBool) {
      return Fail(body, "condition must be bool, got " + KindName(r.value.kind()));
    } else {
      *truth = r.value.bool_value();
    }
    return r;
  };
  bool truth, null;
  switch (node.macro) {
    case Macro::kAll:
    case Macro::kExists: {
      const bool decisive = node.macro == Macro::kExists;
      ErrorPtr first_error;
      bool saw_null = false;
      for (const Value& item : *items) {
        var = item;
        Result r = predicate(*node.children[1], &truth, &null);
        if (cost_exceeded_) return Fail(node, std::string(kCostExceeded));
        if (!r.ok()) {
          if (!first_error) first_error = r.error;
        } else if (null) {
          saw_null = true;
        } else if (truth == decisive) {
          return Ok(Value::Bool(decisive));
        }
      }
      if (first_error) return Result{Value(), first_error};
      if (saw_null) return Ok(Value::Null());
      return Ok(Value::Bool(!decisive));
    }
    case Macro::kExistsOne: {
      int64_t count = 0;
      bool saw_null = false;
      for (const Value& item : *items) {
        var = item;
        Result r = predicate(*node.children[1], &truth, &null);
        if (!r.ok()) return r;
        saw_null = saw_null || null;
        if (truth) ++count;
      }
      if (saw_null) return Ok(Value::Null());
      return Ok(Value::Bool(count == 1));
    }
    case Macro::kFilter: {
      ValueList out;
      for (const Value& item : *items) {
        var = item;
        Result r = predicate(*node.children[1], &truth, &null);
        if (!r.ok()) return r;
        if (truth) out.push_back(item);
      }
      return Ok(Value::List(std::move(out)));
    }
    case Macro::kMap: {
      const bool filtered = node.children.size() == 3;
      ValueList out;
      for (const Value& item : *items) {
        var = item;
        if (filtered) {
          Result r = predicate(*node.children[1], &truth, &null);
          if (!r.ok()) return r;
          if (!truth) continue;
        }
        Result r = Eval(*node.children.back());
        if (!r.ok()) return r;
        out.push_back(std::move(r.value));
      }
      return Ok(Value::List(std::move(out)));
    }
  }
  return Fail(node, "unsupported macro");
}

}  // namespace plinth::expr::internal
