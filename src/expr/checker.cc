#include "expr/checker.h"

#include <algorithm>

#include "expr/builtins.h"
#include "expr/time_util.h"

namespace plinth::expr::internal {
namespace {

using NodePtr = std::unique_ptr<Node>;
using TK = TypeKind;

bool IsDynOrNull(const Type& t) { return t.is_dyn() || t.is_null(); }

// Whether values of the two types may be compared with == (CEL's heterogeneous equality is
// refused statically unless one side is dyn or null, or both are numbers).
bool Comparable(const Type& a, const Type& b) {
  if (IsDynOrNull(a) || IsDynOrNull(b) || a == b) return true;
  if (a.is_numeric() && b.is_numeric()) return true;
  if (a.kind() == TK::kList && b.kind() == TK::kList) return Comparable(a.elem(), b.elem());
  if (a.kind() == TK::kMap && b.kind() == TK::kMap) {
    return Comparable(a.key(), b.key()) && Comparable(a.value(), b.value());
  }
  return false;
}

// The type of a value that is either of two types: equal types stay, null joins anything,
// int and double join to double (the int side is then converted), anything else is dyn.
Type Join(const Type& a, const Type& b) {
  if (a == b) return a;
  if (a.is_null()) return b;
  if (b.is_null()) return a;
  if (a.is_numeric() && b.is_numeric()) return Type::Double();
  return Type::Dyn();
}

std::string TypeList(const std::vector<Type>& types) {
  std::string out = "(";
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += ", ";
    out += types[i].ToString();
  }
  return out + ")";
}

std::string Suggest(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  int best_distance = 1 << 30;
  for (const std::string& c : candidates) {
    if (c == name) continue;
    int d = EditDistance(name, c);
    const int shorter = static_cast<int>(std::min(name.size(), c.size()));
    const int limit = shorter < 3 ? 0 : std::max(1, shorter / 3);
    if (d <= limit && d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

class Checker {
 public:
  Checker(const DeclarationLookup& lookup, const std::vector<std::string>& declared,
          CheckOutput* out)
      : lookup_(lookup), declared_(declared), out_(out) {}

  bool Run(NodePtr* root, Diagnostic* error) {
    bool ok = Visit(root);
    if (!ok) *error = error_;
    return ok;
  }

 private:
  bool Fail(int32_t offset, std::string message) {
    error_.offset = offset;
    error_.message = std::move(message);
    return false;
  }

  bool NoOverload(const Node& node, std::string_view name, const std::vector<Type>& args) {
    return Fail(node.offset, "no matching overload for '" + std::string(name) + "' applied to " +
                                 TypeList(args));
  }

  // Wraps an int-typed child in a conversion to double.
  static void PromoteToDouble(NodePtr* child) {
    if ((*child)->type.kind() != TK::kInt) return;
    auto conv = std::make_unique<Node>();
    conv->kind = NodeKind::kCall;
    conv->offset = (*child)->offset;
    conv->name = "double";
    conv->builtin = Builtin::kToDouble;
    conv->type = Type::Double();
    conv->depth = (*child)->depth + 1;
    conv->children.push_back(std::move(*child));
    *child = std::move(conv);
  }

  bool Visit(NodePtr* slot) {
    Node& n = **slot;
    if (n.kind == NodeKind::kComprehension) return VisitComprehension(n);
    for (auto& child : n.children) {
      if (!Visit(&child)) return false;
    }
    switch (n.kind) {
      case NodeKind::kLiteral:
        n.type = LiteralType(n.literal);
        return true;
      case NodeKind::kIdent:
        return VisitIdent(n);
      case NodeKind::kSelect:
        return VisitSelect(n);
      case NodeKind::kIndex:
        return VisitIndex(n);
      case NodeKind::kHas:
        return VisitHas(n);
      case NodeKind::kCall:
        return VisitCall(slot);
      case NodeKind::kList:
        return VisitList(n);
      case NodeKind::kMap:
        return VisitMap(n);
      case NodeKind::kUnary:
        return VisitUnary(n);
      case NodeKind::kBinary:
        return VisitBinary(n);
      case NodeKind::kAnd:
      case NodeKind::kOr:
        return VisitLogical(n);
      case NodeKind::kTernary:
        return VisitTernary(n);
      case NodeKind::kComprehension:
        break;
    }
    return true;
  }

  static Type LiteralType(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::kNull:
        return Type::Null();
      case Value::Kind::kBool:
        return Type::Bool();
      case Value::Kind::kInt:
        return Type::Int();
      case Value::Kind::kDouble:
        return Type::Double();
      case Value::Kind::kString:
        return Type::String();
      case Value::Kind::kTimestamp:
        return Type::Timestamp();
      case Value::Kind::kDuration:
        return Type::Duration();
      default:
        return Type::Dyn();
    }
  }

  bool VisitIdent(Node& n) {
    for (int i = static_cast<int>(locals_.size()) - 1; i >= 0; --i) {
      if (locals_[i].name == n.name) {
        n.local = true;
        n.slot = i;
        n.type = locals_[i].type;
        return true;
      }
    }
    for (size_t i = 0; i < out_->globals.size(); ++i) {
      if (out_->globals[i].name == n.name) {
        n.slot = static_cast<int>(i);
        n.type = out_->globals[i].type;
        return true;
      }
    }
    const Type* declared = lookup_(n.name);
    if (declared == nullptr) {
      std::vector<std::string> candidates = declared_;
      for (const auto& l : locals_) candidates.push_back(l.name);
      std::string msg = "undeclared reference to '" + n.name + "'" + Suggest(n.name, candidates);
      return Fail(n.offset, msg);
    }
    n.slot = static_cast<int>(out_->globals.size());
    n.type = *declared;
    out_->globals.push_back({n.name, *declared});
    return true;
  }

  bool VisitSelect(Node& n) {
    const Type& t = n.children[0]->type;
    if (IsDynOrNull(t)) {
      n.type = Type::Dyn();
      return true;
    }
    if (t.kind() == TK::kMap && (t.key().kind() == TK::kString || t.key().is_dyn())) {
      n.type = t.value();
      return true;
    }
    return Fail(n.offset,
                "cannot select field '" + n.name + "' from a value of type " + t.ToString());
  }

  bool VisitIndex(Node& n) {
    const Type& t = n.children[0]->type;
    const Type& i = n.children[1]->type;
    if (IsDynOrNull(t)) {
      n.type = Type::Dyn();
      return true;
    }
    if (t.kind() == TK::kList) {
      if (i.kind() != TK::kInt && !IsDynOrNull(i)) {
        return Fail(n.children[1]->offset, "list index must be int, got " + i.ToString());
      }
      n.type = t.elem();
      return true;
    }
    if (t.kind() == TK::kMap) {
      if (!Comparable(i, t.key()) || i.kind() == TK::kDouble) {
        return Fail(n.children[1]->offset,
                    "map key must be " + t.key().ToString() + ", got " + i.ToString());
      }
      n.type = t.value();
      return true;
    }
    return Fail(n.offset, "cannot index a value of type " + t.ToString());
  }

  bool VisitHas(Node& n) {
    const Type& t = n.children[0]->type;
    if (IsDynOrNull(t) ||
        (t.kind() == TK::kMap && (t.key().kind() == TK::kString || t.key().is_dyn()))) {
      n.type = Type::Bool();
      return true;
    }
    return Fail(n.offset, "has() needs a map with string keys, got " + t.ToString());
  }

  bool VisitList(Node& n) {
    Type elem = Type::Null();
    for (const auto& c : n.children) elem = Join(elem, c->type);
    if (n.children.empty()) elem = Type::Dyn();
    if (elem.kind() == TK::kDouble) {
      for (auto& c : n.children) PromoteToDouble(&c);
    }
    n.type = Type::List(elem);
    return true;
  }

  bool VisitMap(Node& n) {
    Type key = Type::Null(), value = Type::Null();
    for (size_t i = 0; i < n.children.size(); i += 2) {
      const Type& k = n.children[i]->type;
      if (k.kind() != TK::kString && k.kind() != TK::kInt && k.kind() != TK::kBool &&
          !IsDynOrNull(k)) {
        return Fail(n.children[i]->offset,
                    "map keys must be int, string or bool, got " + k.ToString());
      }
      key = key == k ? key : (key.is_null() ? k : Type::Dyn());
      value = Join(value, n.children[i + 1]->type);
    }
    if (n.children.empty() || key.is_null()) key = Type::Dyn();
    if (n.children.empty()) value = Type::Dyn();
    if (value.kind() == TK::kDouble) {
      for (size_t i = 1; i < n.children.size(); i += 2) PromoteToDouble(&n.children[i]);
    }
    n.type = Type::Map(key, value);
    return true;
  }

  bool VisitUnary(Node& n) {
    const Type& t = n.children[0]->type;
    if (n.op == Op::kNot) {
      if (t.kind() != TK::kBool && !IsDynOrNull(t)) return NoOverload(n, "!", {t});
      n.type = Type::Bool();
      return true;
    }
    if (t.kind() == TK::kInt || t.kind() == TK::kDouble || t.kind() == TK::kDuration ||
        t.is_dyn()) {
      n.type = t;
      return true;
    }
    if (t.is_null()) {
      n.type = Type::Dyn();
      return true;
    }
    return NoOverload(n, "-", {t});
  }

  bool VisitBinary(Node& n) {
    const Type& a = n.children[0]->type;
    const Type& b = n.children[1]->type;
    std::string_view sym = OpSymbol(n.op);
    switch (n.op) {
      case Op::kEq:
      case Op::kNe:
        if (!Comparable(a, b)) return NoOverload(n, sym, {a, b});
        n.type = Type::Bool();
        return true;
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        bool ok = IsDynOrNull(a) || IsDynOrNull(b) || (a.is_numeric() && b.is_numeric()) ||
                  (a == b && (a.kind() == TK::kString || a.kind() == TK::kBool ||
                              a.kind() == TK::kTimestamp || a.kind() == TK::kDuration));
        if (!ok) return NoOverload(n, sym, {a, b});
        n.type = Type::Bool();
        return true;
      }
      case Op::kIn: {
        bool ok = IsDynOrNull(b) || (b.kind() == TK::kList && Comparable(a, b.elem())) ||
                  (b.kind() == TK::kMap && Comparable(a, b.key()));
        if (!ok) return NoOverload(n, sym, {a, b});
        n.type = Type::Bool();
        return true;
      }
      default:
        break;
    }
    if (a.is_dyn() || b.is_dyn() || a.is_null() || b.is_null()) {
      n.type = Type::Dyn();
      return true;
    }
    const TK ka = a.kind(), kb = b.kind();
    if (a.is_numeric() && b.is_numeric() && n.op != Op::kMod) {
      n.type = ka == TK::kInt && kb == TK::kInt ? Type::Int() : Type::Double();
      return true;
    }
    if (n.op == Op::kMod && ka == TK::kInt && kb == TK::kInt) {
      n.type = Type::Int();
      return true;
    }
    if (n.op == Op::kAdd) {
      if (ka == TK::kString && kb == TK::kString) {
        n.type = Type::String();
        return true;
      }
      if (ka == TK::kList && kb == TK::kList) {
        n.type = a == b ? a : Type::List(Type::Dyn());
        return true;
      }
      if ((ka == TK::kTimestamp && kb == TK::kDuration) ||
          (ka == TK::kDuration && kb == TK::kTimestamp)) {
        n.type = Type::Timestamp();
        return true;
      }
      if (ka == TK::kDuration && kb == TK::kDuration) {
        n.type = Type::Duration();
        return true;
      }
    }
    if (n.op == Op::kSub) {
      if (ka == TK::kTimestamp && kb == TK::kTimestamp) {
        n.type = Type::Duration();
        return true;
      }
      if (ka == TK::kTimestamp && kb == TK::kDuration) {
        n.type = Type::Timestamp();
        return true;
      }
      if (ka == TK::kDuration && kb == TK::kDuration) {
        n.type = Type::Duration();
        return true;
      }
    }
    return NoOverload(n, sym, {a, b});
  }

  bool VisitLogical(Node& n) {
    const Type& a = n.children[0]->type;
    const Type& b = n.children[1]->type;
    auto boolish = [](const Type& t) { return t.kind() == TK::kBool || IsDynOrNull(t); };
    if (!boolish(a) || !boolish(b)) {
      return NoOverload(n, n.kind == NodeKind::kAnd ? "&&" : "||", {a, b});
    }
    n.type = Type::Bool();
    return true;
  }

  bool VisitTernary(Node& n) {
    const Type& c = n.children[0]->type;
    if (c.kind() != TK::kBool && !IsDynOrNull(c)) {
      return Fail(n.children[0]->offset, "condition of '?:' must be bool, got " + c.ToString());
    }
    Type t = Join(n.children[1]->type, n.children[2]->type);
    if (t.kind() == TK::kDouble) {
      PromoteToDouble(&n.children[1]);
      PromoteToDouble(&n.children[2]);
    }
    n.type = t;
    return true;
  }

  bool VisitComprehension(Node& n) {
    if (!Visit(&n.children[0])) return false;
    const Type& range = n.children[0]->type;
    Type elem;
    if (range.kind() == TK::kList) {
      elem = range.elem();
    } else if (range.kind() == TK::kMap) {
      elem = range.key();
    } else if (IsDynOrNull(range)) {
      elem = Type::Dyn();
    } else {
      return Fail(n.offset, MacroName(n) + "() needs a list or a map, got " + range.ToString());
    }
    locals_.push_back({n.name, elem});
    n.slot = static_cast<int>(locals_.size()) - 1;
    out_->max_locals = std::max(out_->max_locals, static_cast<int>(locals_.size()));
    for (size_t i = 1; i < n.children.size(); ++i) {
      if (!Visit(&n.children[i])) return false;
    }
    locals_.pop_back();
    // Predicates: every child but the transform of map().
    size_t predicates = n.macro == Macro::kMap ? n.children.size() - 2 : 1;
    for (size_t i = 1; i <= predicates; ++i) {
      const Type& p = n.children[i]->type;
      if (p.kind() != TK::kBool && !IsDynOrNull(p)) {
        return Fail(n.children[i]->offset,
                    MacroName(n) + "() condition must be bool, got " + p.ToString());
      }
    }
    switch (n.macro) {
      case Macro::kAll:
      case Macro::kExists:
      case Macro::kExistsOne:
        n.type = Type::Bool();
        break;
      case Macro::kMap:
        n.type = Type::List(n.children.back()->type);
        break;
      case Macro::kFilter:
        n.type = Type::List(elem);
        break;
    }
    return true;
  }

  static std::string MacroName(const Node& n) {
    switch (n.macro) {
      case Macro::kAll:
        return "all";
      case Macro::kExists:
        return "exists";
      case Macro::kExistsOne:
        return "exists_one";
      case Macro::kMap:
        return "map";
      case Macro::kFilter:
        return "filter";
    }
    return "?";
  }

  bool VisitCall(NodePtr* slot) {
    Node& n = **slot;
    const BuiltinInfo* info = FindBuiltin(n.name);
    if (info == nullptr) {
      std::vector<std::string> names;
      for (std::string_view b : BuiltinNames()) names.emplace_back(b);
      names.push_back("has");
      return Fail(n.offset,
                  "undeclared reference to function '" + n.name + "'" + Suggest(n.name, names));
    }
    if (n.member_call && !info->member) {
      return Fail(n.offset, n.name + "() is not a method: write " + n.name + "(x)");
    }
    if (!n.member_call && !info->global) {
      return Fail(n.offset, n.name + "() is a method: write x." + n.name + "()");
    }
    int count = static_cast<int>(n.children.size());
    if (count < info->min_args || (info->max_args >= 0 && count > info->max_args)) {
      int shift = n.member_call ? 1 : 0;
      int lo = info->min_args - shift, hi = info->max_args - shift;
      std::string expected = info->max_args < 0 ? "at least " + std::to_string(lo)
                             : lo == hi         ? std::to_string(lo)
                                                : std::to_string(lo) + " or " + std::to_string(hi);
      const bool singular = info->max_args < 0 ? lo == 1 : (lo == 1 && hi == 1);
      return Fail(n.offset, n.name + "() takes " + expected + " argument" + (singular ? "" : "s") +
                                ", got " + std::to_string(count - shift));
    }
    n.builtin = info->id;
    std::vector<Type> args;
    for (const auto& c : n.children) args.push_back(c->type);
    if (!TypeCall(n, args)) return false;
    return FoldLiteralCall(slot);
  }

  // Result type of a built-in call, or a type error.
  bool TypeCall(Node& n, const std::vector<Type>& args) {
    auto is = [](const Type& t, std::initializer_list<TK> kinds) {
      if (IsDynOrNull(t)) return true;
      for (TK k : kinds) {
        if (t.kind() == k) return true;
      }
      return false;
    };
    const std::string& name = n.name;
    switch (n.builtin) {
      case Builtin::kSize:
        if (!is(args[0], {TK::kString, TK::kList, TK::kMap})) return NoOverload(n, name, args);
        n.type = Type::Int();
        return true;
      case Builtin::kAbs:
        if (!is(args[0], {TK::kInt, TK::kDouble})) return NoOverload(n, name, args);
        n.type = IsDynOrNull(args[0]) ? Type::Dyn() : args[0];
        return true;
      case Builtin::kLog:
      case Builtin::kExp:
      case Builtin::kSqrt:
        if (!is(args[0], {TK::kInt, TK::kDouble})) return NoOverload(n, name, args);
        n.type = Type::Double();
        return true;
      case Builtin::kMin:
      case Builtin::kMax: {
        std::vector<Type> items = args;
        if (args.size() == 1 && args[0].kind() == TK::kList) items = {args[0].elem()};
        Type result = Type::Null();
        bool dyn = false;
        for (const Type& t : items) {
          if (t.is_dyn()) {
            dyn = true;
            continue;
          }
          if (t.is_null()) continue;
          if (!t.is_numeric() && t.kind() != TK::kString && t.kind() != TK::kTimestamp &&
              t.kind() != TK::kDuration) {
            return NoOverload(n, name, args);
          }
          Type joined = Join(result, t);
          if (joined.is_dyn() && !dyn) return NoOverload(n, name, args);
          result = joined;
        }
        n.type = dyn || result.is_null() ? Type::Dyn() : result;
        return true;
      }
      case Builtin::kClip: {
        bool any_double = false, dyn = false;
        for (const Type& t : args) {
          if (!is(t, {TK::kInt, TK::kDouble})) return NoOverload(n, name, args);
          if (IsDynOrNull(t)) dyn = true;
          if (t.kind() == TK::kDouble) any_double = true;
        }
        n.type = dyn ? Type::Dyn() : any_double ? Type::Double() : Type::Int();
        return true;
      }
      case Builtin::kLower:
      case Builtin::kUpper:
        if (!is(args[0], {TK::kString})) return NoOverload(n, name, args);
        n.type = Type::String();
        return true;
      case Builtin::kStartsWith:
      case Builtin::kEndsWith:
      case Builtin::kContains:
      case Builtin::kMatches:
        if (!is(args[0], {TK::kString}) || !is(args[1], {TK::kString})) {
          return NoOverload(n, name, args);
        }
        n.type = Type::Bool();
        return true;
      case Builtin::kToInt:
        if (!is(args[0], {TK::kInt, TK::kDouble, TK::kString, TK::kTimestamp})) {
          return NoOverload(n, name, args);
        }
        n.type = Type::Int();
        return true;
      case Builtin::kToDouble:
        if (!is(args[0], {TK::kInt, TK::kDouble, TK::kString})) return NoOverload(n, name, args);
        n.type = Type::Double();
        return true;
      case Builtin::kToString:
        if (!is(args[0],
                {TK::kInt, TK::kDouble, TK::kBool, TK::kString, TK::kTimestamp, TK::kDuration})) {
          return NoOverload(n, name, args);
        }
        n.type = Type::String();
        return true;
      case Builtin::kToBool:
        if (!is(args[0], {TK::kBool, TK::kString})) return NoOverload(n, name, args);
        n.type = Type::Bool();
        return true;
      case Builtin::kToTimestamp:
        if (!is(args[0], {TK::kString, TK::kInt, TK::kTimestamp})) {
          return NoOverload(n, name, args);
        }
        n.type = Type::Timestamp();
        return true;
      case Builtin::kToDuration:
        if (!is(args[0], {TK::kString, TK::kDuration})) return NoOverload(n, name, args);
        n.type = Type::Duration();
        return true;
      case Builtin::kToDyn:
        n.type = Type::Dyn();
        return true;
      case Builtin::kGetHours:
      case Builtin::kGetMinutes:
      case Builtin::kGetSeconds:
      case Builtin::kGetMilliseconds:
        if (args[0].kind() == TK::kDuration && args.size() == 1) {
          n.type = Type::Int();
          return true;
        }
        [[fallthrough]];
      case Builtin::kGetFullYear:
      case Builtin::kGetMonth:
      case Builtin::kGetDate:
      case Builtin::kGetDayOfMonth:
      case Builtin::kGetDayOfWeek:
      case Builtin::kGetDayOfYear:
        if (!is(args[0], {TK::kTimestamp}) || (args.size() == 2 && !is(args[1], {TK::kString}))) {
          return NoOverload(n, name, args);
        }
        n.type = Type::Int();
        return true;
      case Builtin::kUnresolved:
        break;
    }
    return NoOverload(n, name, args);
  }

  // Work done once at compile time on literal arguments: matches() compiles its pattern;
  // timestamp('...') and duration('...') become literals. Errors point at the argument.
  bool FoldLiteralCall(NodePtr* slot) {
    Node& n = **slot;
    auto literal_string = [&](size_t i) -> const std::string* {
      if (i >= n.children.size()) return nullptr;
      const Node& c = *n.children[i];
      if (c.kind != NodeKind::kLiteral || c.literal.kind() != Value::Kind::kString) return nullptr;
      return &c.literal.string_value();
    };
    if (n.builtin == Builtin::kMatches) {
      if (const std::string* pattern = literal_string(1)) {
        std::string error;
        n.regex = CompileRegex(*pattern, &error);
        if (!n.regex) return Fail(n.children[1]->offset, error);
      }
      return true;
    }
    if (n.builtin == Builtin::kToTimestamp || n.builtin == Builtin::kToDuration) {
      const std::string* text = literal_string(0);
      if (text == nullptr) return true;
      int64_t cost = 0;
      OpResult r = ApplyBuiltin(n, {n.children[0]->literal}, &cost);
      if (!r.ok) return Fail(n.children[0]->offset, r.error);
      auto lit = std::make_unique<Node>();
      lit->kind = NodeKind::kLiteral;
      lit->offset = n.offset;
      lit->literal = std::move(r.value);
      lit->type = n.type;
      *slot = std::move(lit);
    }
    return true;
  }

  struct Local {
    std::string name;
    Type type;
  };

  const DeclarationLookup& lookup_;
  const std::vector<std::string>& declared_;
  CheckOutput* out_;
  std::vector<Local> locals_;
  Diagnostic error_;
};

}  // namespace

int EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions.
  if (a.size() > 64 || b.size() > 64) return 1 << 20;
  const size_t w = b.size() + 1;
  std::vector<int> d((a.size() + 1) * w);
  for (size_t i = 0; i <= a.size(); ++i) d[i * w] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v =
          std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        v = std::min(v, d[(i - 2) * w + j - 2] + 1);
      }
      d[i * w + j] = v;
    }
  }
  return d[a.size() * w + b.size()];
}

bool Check(std::unique_ptr<Node>* root, const DeclarationLookup& lookup,
           const std::vector<std::string>& declared_names, CheckOutput* out, Diagnostic* error) {
  return Checker(lookup, declared_names, out).Run(root, error);
}

}  // namespace plinth::expr::internal
