#include "expr/builtins.h"

#include <re2/re2.h>

#include <charconv>
#include <cmath>

#include "expr/kernels.h"
#include "expr/time_util.h"

namespace plinth::expr::internal {
namespace {

using K = Value::Kind;

constexpr BuiltinInfo kBuiltins[] = {
    {"size", Builtin::kSize, true, true, 1, 1},
    {"abs", Builtin::kAbs, true, false, 1, 1},
    {"log", Builtin::kLog, true, false, 1, 1},
    {"exp", Builtin::kExp, true, false, 1, 1},
    {"sqrt", Builtin::kSqrt, true, false, 1, 1},
    {"min", Builtin::kMin, true, false, 1, -1},
    {"max", Builtin::kMax, true, false, 1, -1},
    {"clip", Builtin::kClip, true, false, 3, 3},
    {"lower", Builtin::kLower, true, true, 1, 1},
    {"upper", Builtin::kUpper, true, true, 1, 1},
    {"startsWith", Builtin::kStartsWith, true, true, 2, 2},
    {"endsWith", Builtin::kEndsWith, true, true, 2, 2},
    {"contains", Builtin::kContains, true, true, 2, 2},
    {"matches", Builtin::kMatches, true, true, 2, 2},
    {"int", Builtin::kToInt, true, false, 1, 1},
    {"double", Builtin::kToDouble, true, false, 1, 1},
    {"string", Builtin::kToString, true, false, 1, 1},
    {"bool", Builtin::kToBool, true, false, 1, 1},
    {"timestamp", Builtin::kToTimestamp, true, false, 1, 1},
    {"duration", Builtin::kToDuration, true, false, 1, 1},
    {"dyn", Builtin::kToDyn, true, false, 1, 1},
    {"getFullYear", Builtin::kGetFullYear, false, true, 1, 2},
    {"getMonth", Builtin::kGetMonth, false, true, 1, 2},
    {"getDate", Builtin::kGetDate, false, true, 1, 2},
    {"getDayOfMonth", Builtin::kGetDayOfMonth, false, true, 1, 2},
    {"getDayOfWeek", Builtin::kGetDayOfWeek, false, true, 1, 2},
    {"getDayOfYear", Builtin::kGetDayOfYear, false, true, 1, 2},
    {"getHours", Builtin::kGetHours, false, true, 1, 2},
    {"getMinutes", Builtin::kGetMinutes, false, true, 1, 2},
    {"getSeconds", Builtin::kGetSeconds, false, true, 1, 2},
    {"getMilliseconds", Builtin::kGetMilliseconds, false, true, 1, 2},
};

OpResult Ok(Value v) {
  OpResult r;
  r.value = std::move(v);
  return r;
}

OpResult Err(std::string message) {
  OpResult r;
  r.ok = false;
  r.error = std::move(message);
  return r;
}

OpResult Err(std::string_view message) { return Err(std::string(message)); }

OpResult NoOverload(std::string_view name, const std::vector<const Value*>& args) {
  std::string msg = "no matching overload for '" + std::string(name) + "' applied to (";
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) msg += ", ";
    msg += KindName(args[i]->kind());
  }
  return Err(msg + ")");
}

bool IsNumber(const Value& v) { return v.kind() == K::kInt || v.kind() == K::kDouble; }

double AsDouble(const Value& v) {
  return v.kind() == K::kInt ? static_cast<double>(v.int_value()) : v.double_value();
}

// Exact ordering of two numbers of either kind.
Order CompareNumbers(const Value& a, const Value& b) {
  if (a.kind() == K::kInt && b.kind() == K::kInt) return Compare3(a.int_value(), b.int_value());
  if (a.kind() == K::kInt) return CompareIntDouble(a.int_value(), b.double_value());
  if (b.kind() == K::kInt) return Reverse(CompareIntDouble(b.int_value(), a.double_value()));
  return Compare3(a.double_value(), b.double_value());
}

// Ordering of two values of an ordered kind; false if they cannot be compared.
bool CompareValues(const Value& a, const Value& b, Order* out) {
  if (IsNumber(a) && IsNumber(b)) {
    *out = CompareNumbers(a, b);
    return true;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kString:
      *out = Compare3(a.string_value().compare(b.string_value()), 0);
      return true;
    case K::kBool:
      *out = Compare3(a.bool_value(), b.bool_value());
      return true;
    case K::kTimestamp:
      *out = Compare3(a.timestamp_micros(), b.timestamp_micros());
      return true;
    case K::kDuration:
      *out = Compare3(a.duration_micros(), b.duration_micros());
      return true;
    default:
      return false;
  }
}

std::string AsciiCase(std::string s, bool upper) {
  for (char& c : s) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// min/max over `items` (non-empty): numbers mix (the result is double if any is double), or all
// strings, timestamps or durations. Nulls among list items give null.
OpResult MinMax(std::string_view name, const std::vector<const Value*>& items, bool want_min) {
  bool any_double = false;
  for (const Value* v : items) {
    if (v->is_null()) return Ok(Value::Null());
    if (v->kind() == K::kDouble) any_double = true;
  }
  const Value* best = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    Order o;
    if (!CompareValues(*items[i], *best, &o)) return NoOverload(name, items);
    if (o == (want_min ? Order::kLess : Order::kGreater)) best = items[i];
  }
  if (items.size() == 1) {
    Order o;
    if (!CompareValues(*best, *best, &o)) return NoOverload(name, items);
  }
  if (any_double) return Ok(Value::Double(AsDouble(*best)));
  return Ok(*best);
}

OpResult TimeGetter(Builtin fn, std::string_view name, const std::vector<Value>& args) {
  const Value& recv = args[0];
  if (recv.kind() == K::kDuration) {
    if (args.size() != 1) return Err(std::string(name) + "() of a duration takes no time zone");
    int64_t d = recv.duration_micros();
    switch (fn) {
      case Builtin::kGetHours:
        return Ok(Value::Int(d / (3600 * kMicrosPerSecond)));
      case Builtin::kGetMinutes:
        return Ok(Value::Int(d / (60 * kMicrosPerSecond)));
      case Builtin::kGetSeconds:
        return Ok(Value::Int(d / kMicrosPerSecond));
      case Builtin::kGetMilliseconds:
        return Ok(Value::Int(d / 1000));
      default:
        return NoOverload(name, {&recv});
    }
  }
  if (recv.kind() != K::kTimestamp) return NoOverload(name, {&recv});
  int64_t offset = 0;
  if (args.size() == 2) {
    if (args[1].kind() != K::kString) return NoOverload(name, {&recv, &args[1]});
    auto parsed = ParseZoneOffset(args[1].string_value());
    if (!parsed) {
      return Err("unknown time zone '" + args[1].string_value() +
                 "' (use 'UTC' or a fixed offset such as '+01:00')");
    }
    offset = *parsed;
  }
  CivilTime c = ToCivil(recv.timestamp_micros(), offset);
  switch (fn) {
    case Builtin::kGetFullYear:
      return Ok(Value::Int(c.year));
    case Builtin::kGetMonth:
      return Ok(Value::Int(c.month - 1));
    case Builtin::kGetDate:
      return Ok(Value::Int(c.day));
    case Builtin::kGetDayOfMonth:
      return Ok(Value::Int(c.day - 1));
    case Builtin::kGetDayOfWeek:
      return Ok(Value::Int(c.weekday));
    case Builtin::kGetDayOfYear:
      return Ok(Value::Int(c.year_day));
    case Builtin::kGetHours:
      return Ok(Value::Int(c.hour));
    case Builtin::kGetMinutes:
      return Ok(Value::Int(c.minute));
    case Builtin::kGetSeconds:
      return Ok(Value::Int(c.second));
    case Builtin::kGetMilliseconds:
      return Ok(Value::Int(c.micros / 1000));
    default:
      return NoOverload(name, {&recv});
  }
}

OpResult Convert(Builtin fn, std::string_view name, const Value& v) {
  std::string_view err;
  switch (fn) {
    case Builtin::kToInt:
      switch (v.kind()) {
        case K::kInt:
          return Ok(v);
        case K::kDouble: {
          int64_t i;
          if (!DoubleToInt(v.double_value(), &i, &err)) return Err(err);
          return Ok(Value::Int(i));
        }
        case K::kString: {
          const std::string& s = v.string_value();
          int64_t i;
          auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
          if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
            return Err("int() cannot convert the string '" + s.substr(0, 40) + "'");
          }
          return Ok(Value::Int(i));
        }
        case K::kTimestamp: {
          int64_t t = v.timestamp_micros();
          int64_t secs = t / kMicrosPerSecond;
          if (t % kMicrosPerSecond < 0) --secs;
          return Ok(Value::Int(secs));
        }
        default:
          return NoOverload(name, {&v});
      }
    case Builtin::kToDouble:
      switch (v.kind()) {
        case K::kInt:
          return Ok(Value::Double(static_cast<double>(v.int_value())));
        case K::kDouble:
          return Ok(v);
        case K::kString: {
          const std::string& s = v.string_value();
          double d = 0;
          auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
          if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
            return Err("double() cannot convert the string '" + s.substr(0, 40) + "'");
          }
          return Ok(Value::Double(d));
        }
        default:
          return NoOverload(name, {&v});
      }
    case Builtin::kToString:
      if (v.kind() == K::kList || v.kind() == K::kMap) return NoOverload(name, {&v});
      return Ok(Value::String(ToText(v)));
    case Builtin::kToBool:
      if (v.kind() == K::kBool) return Ok(v);
      if (v.kind() == K::kString) {
        const std::string& s = v.string_value();
        if (s == "true" || s == "True" || s == "TRUE" || s == "t" || s == "1") {
          return Ok(Value::Bool(true));
        }
        if (s == "false" || s == "False" || s == "FALSE" || s == "f" || s == "0") {
          return Ok(Value::Bool(false));
        }
        return Err("bool() cannot convert the string '" + s.substr(0, 40) + "'");
      }
      return NoOverload(name, {&v});
    case Builtin::kToTimestamp:
      if (v.kind() == K::kTimestamp) return Ok(v);
      if (v.kind() == K::kString) {
        auto ts = ParseTimestamp(v.string_value());
        if (!ts) {
          return Err("timestamp() cannot parse '" + v.string_value().substr(0, 40) +
                     "' (expected RFC 3339, such as '2024-01-31T00:00:00Z')");
        }
        return Ok(Value::Timestamp(*ts));
      }
      if (v.kind() == K::kInt) {
        int64_t micros;
        if (__builtin_mul_overflow(v.int_value(), kMicrosPerSecond, &micros) ||
            !TimestampInRange(micros)) {
          return Err(kTimestampRange);
        }
        return Ok(Value::Timestamp(micros));
      }
      return NoOverload(name, {&v});
    case Builtin::kToDuration:
      if (v.kind() == K::kDuration) return Ok(v);
      if (v.kind() == K::kString) {
        auto d = ParseDurationText(v.string_value());
        if (!d) {
          return Err("duration() cannot parse '" + v.string_value().substr(0, 40) +
                     "' (expected a duration such as '1h30m' or '90s')");
        }
        return Ok(Value::Duration(*d));
      }
      return NoOverload(name, {&v});
    default:
      return Ok(v);
  }
}

}  // namespace

const BuiltinInfo* FindBuiltin(std::string_view name) {
  for (const BuiltinInfo& b : kBuiltins) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

std::vector<std::string_view> BuiltinNames() {
  std::vector<std::string_view> names;
  for (const BuiltinInfo& b : kBuiltins) names.push_back(b.name);
  return names;
}

std::string_view OpSymbol(Op op) {
  switch (op) {
    case Op::kNeg:
    case Op::kSub:
      return "-";
    case Op::kNot:
      return "!";
    case Op::kAdd:
      return "+";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kIn:
      return "in";
    case Op::kNone:
      break;
  }
  return "?";
}

int64_t CodePointCount(std::string_view text) {
  int64_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string ToText(const Value& v) {
  switch (v.kind()) {
    case K::kNull:
      return "null";
    case K::kBool:
      return v.bool_value() ? "true" : "false";
    case K::kInt:
      return std::to_string(v.int_value());
    case K::kDouble:
      return FormatDouble(v.double_value());
    case K::kString:
      return v.string_value();
    case K::kTimestamp:
      return FormatTimestamp(v.timestamp_micros());
    case K::kDuration:
      return FormatDuration(v.duration_micros());
    default:
      return v.DebugString();
  }
}

std::shared_ptr<const re2::RE2> CompileRegex(const std::string& pattern, std::string* error) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);
  auto re = std::make_shared<const RE2>(pattern, options);
  if (!re->ok()) {
    *error = "invalid regular expression: " + re->error();
    return nullptr;
  }
  return re;
}

OpResult ApplyUnary(Op op, const Value& v) {
  std::string_view err;
  if (op == Op::kNot) {
    if (v.kind() == K::kBool) return Ok(Value::Bool(!v.bool_value()));
    return NoOverload("!", {&v});
  }
  switch (v.kind()) {
    case K::kInt: {
      int64_t out;
      if (!IntNeg(v.int_value(), &out, &err)) return Err(err);
      return Ok(Value::Int(out));
    }
    case K::kDouble:
      return Ok(Value::Double(-v.double_value()));
    case K::kDuration:
      return Ok(Value::Duration(-v.duration_micros()));
    default:
      return NoOverload("-", {&v});
  }
}

OpResult ApplyBinary(Op op, const Value& a, const Value& b, int64_t* cost) {
  std::string_view err;
  const K ka = a.kind(), kb = b.kind();
  switch (op) {
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      Order o;
      if (!CompareValues(a, b, &o)) return NoOverload(OpSymbol(op), {&a, &b});
      return Ok(Value::Bool(OrderSatisfies(o, static_cast<int>(op) - static_cast<int>(Op::kLt))));
    }
    default:
      break;
  }
  if (ka == K::kInt && kb == K::kInt) {
    int64_t x = a.int_value(), y = b.int_value(), out = 0;
    bool ok = false;
    switch (op) {
      case Op::kAdd:
        ok = IntAdd(x, y, &out, &err);
        break;
      case Op::kSub:
        ok = IntSub(x, y, &out, &err);
        break;
      case Op::kMul:
        ok = IntMul(x, y, &out, &err);
        break;
      case Op::kDiv:
        ok = IntDiv(x, y, &out, &err);
        break;
      case Op::kMod:
        ok = IntMod(x, y, &out, &err);
        break;
      default:
        return NoOverload(OpSymbol(op), {&a, &b});
    }
    if (!ok) return Err(err);
    return Ok(Value::Int(out));
  }
  if (IsNumber(a) && IsNumber(b)) {
    double x = AsDouble(a), y = AsDouble(b), out = 0;
    switch (op) {
      case Op::kAdd:
        return Ok(Value::Double(x + y));
      case Op::kSub:
        return Ok(Value::Double(x - y));
      case Op::kMul:
        return Ok(Value::Double(x * y));
      case Op::kDiv:
        if (!DoubleDiv(x, y, &out, &err)) return Err(err);
        return Ok(Value::Double(out));
      default:
        return NoOverload(OpSymbol(op), {&a, &b});
    }
  }
  int64_t out = 0;
  if (op == Op::kAdd) {
    if (ka == K::kString && kb == K::kString) {
      *cost += static_cast<int64_t>(a.string_value().size() + b.string_value().size()) / 16;
      return Ok(Value::String(a.string_value() + b.string_value()));
    }
    if (ka == K::kList && kb == K::kList) {
      ValueList items = a.list_value();
      items.insert(items.end(), b.list_value().begin(), b.list_value().end());
      *cost += static_cast<int64_t>(items.size());
      return Ok(Value::List(std::move(items)));
    }
    if (ka == K::kTimestamp && kb == K::kDuration) {
      if (!TimestampAddDuration(a.timestamp_micros(), b.duration_micros(), &out, &err)) {
        return Err(err);
      }
      return Ok(Value::Timestamp(out));
    }
    if (ka == K::kDuration && kb == K::kTimestamp) {
      if (!TimestampAddDuration(b.timestamp_micros(), a.duration_micros(), &out, &err)) {
        return Err(err);
      }
      return Ok(Value::Timestamp(out));
    }
    if (ka == K::kDuration && kb == K::kDuration) {
      if (!DurationAdd(a.duration_micros(), b.duration_micros(), &out, &err)) return Err(err);
      return Ok(Value::Duration(out));
    }
  }
  if (op == Op::kSub) {
    if (ka == K::kTimestamp && kb == K::kTimestamp) {
      if (!TimestampDiff(a.timestamp_micros(), b.timestamp_micros(), &out, &err)) return Err(err);
      return Ok(Value::Duration(out));
    }
    if (ka == K::kTimestamp && kb == K::kDuration) {
      if (!TimestampSubDuration(a.timestamp_micros(), b.duration_micros(), &out, &err)) {
        return Err(err);
      }
      return Ok(Value::Timestamp(out));
    }
    if (ka == K::kDuration && kb == K::kDuration) {
      if (!DurationSub(a.duration_micros(), b.duration_micros(), &out, &err)) return Err(err);
      return Ok(Value::Duration(out));
    }
  }
  return NoOverload(OpSymbol(op), {&a, &b});
}

bool EqualCounting(const Value& a, const Value& b, int64_t* cost) {
  ++*cost;
  if (a.kind() == K::kList && b.kind() == K::kList) {
    const ValueList& x = a.list_value();
    const ValueList& y = b.list_value();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!EqualCounting(x[i], y[i], cost)) return false;
    }
    return true;
  }
  if (a.kind() == K::kMap && b.kind() == K::kMap) {
    const ValueMap& x = a.map_value();
    const ValueMap& y = b.map_value();
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      ++*cost;
      auto it = y.find(k);
      if (it == y.end() || !EqualCounting(v, it->second, cost)) return false;
    }
    return true;
  }
  return ValuesEqual(a, b);
}

const Value* MapLookup(const ValueMap& map, const Value& key) {
  switch (key.kind()) {
    case K::kBool:
    case K::kInt:
    case K::kString: {
      auto it = map.find(key);
      return it == map.end() ? nullptr : &it->second;
    }
    case K::kDouble: {
      double d = key.double_value();
      int64_t i;
      std::string_view err;
      if (std::trunc(d) == d && DoubleToInt(d, &i, &err)) {
        auto it = map.find(Value::Int(i));
        return it == map.end() ? nullptr : &it->second;
      }
      return nullptr;
    }
    default:
      return nullptr;
  }
}

OpResult ApplyIn(const Value& element, const Value& collection, int64_t* cost) {
  if (collection.kind() == K::kList) {
    for (const Value& item : collection.list_value()) {
      if (EqualCounting(element, item, cost)) return Ok(Value::Bool(true));
    }
    return Ok(Value::Bool(false));
  }
  if (collection.kind() == K::kMap) {
    return Ok(Value::Bool(MapLookup(collection.map_value(), element) != nullptr));
  }
  return NoOverload("in", {&element, &collection});
}

OpResult ApplyBuiltin(const Node& call, const std::vector<Value>& args, int64_t* cost) {
  const std::string_view name = call.name;
  std::vector<const Value*> ptrs;
  ptrs.reserve(args.size());
  for (const Value& a : args) ptrs.push_back(&a);
  std::string_view err;
  switch (call.builtin) {
    case Builtin::kSize: {
      const Value& v = args[0];
      if (v.kind() == K::kString) return Ok(Value::Int(CodePointCount(v.string_value())));
      if (v.kind() == K::kList) return Ok(Value::Int(static_cast<int64_t>(v.list_value().size())));
      if (v.kind() == K::kMap) return Ok(Value::Int(static_cast<int64_t>(v.map_value().size())));
      return NoOverload(name, ptrs);
    }
    case Builtin::kAbs: {
      const Value& v = args[0];
      if (v.kind() == K::kInt) {
        int64_t out;
        if (!IntAbs(v.int_value(), &out, &err)) return Err(err);
        return Ok(Value::Int(out));
      }
      if (v.kind() == K::kDouble) return Ok(Value::Double(std::fabs(v.double_value())));
      return NoOverload(name, ptrs);
    }
    case Builtin::kLog:
    case Builtin::kExp:
    case Builtin::kSqrt: {
      if (!IsNumber(args[0])) return NoOverload(name, ptrs);
      double x = AsDouble(args[0]), out = 0;
      if (call.builtin == Builtin::kExp) return Ok(Value::Double(std::exp(x)));
      bool ok = call.builtin == Builtin::kLog ? MathLog(x, &out, &err) : MathSqrt(x, &out, &err);
      if (!ok) return Err(err);
      return Ok(Value::Double(out));
    }
    case Builtin::kMin:
    case Builtin::kMax: {
      bool want_min = call.builtin == Builtin::kMin;
      if (args.size() == 1 && args[0].kind() == K::kList) {
        const ValueList& items = args[0].list_value();
        if (items.empty()) return Err(std::string(name) + "() of an empty list");
        std::vector<const Value*> elems;
        for (const Value& v : items) elems.push_back(&v);
        *cost += static_cast<int64_t>(items.size());
        return MinMax(name, elems, want_min);
      }
      return MinMax(name, ptrs, want_min);
    }
    case Builtin::kClip: {
      const Value &x = args[0], &lo = args[1], &hi = args[2];
      if (!IsNumber(x) || !IsNumber(lo) || !IsNumber(hi)) return NoOverload(name, ptrs);
      if (CompareNumbers(hi, lo) == Order::kLess) {
        return Err(std::string("clip(): the lower bound is greater than the upper bound"));
      }
      const Value* pick = &x;
      if (CompareNumbers(x, lo) == Order::kLess) {
        pick = &lo;
      } else if (CompareNumbers(hi, x) == Order::kLess) {
        pick = &hi;
      }
      bool any_double =
          x.kind() == K::kDouble || lo.kind() == K::kDouble || hi.kind() == K::kDouble;
      if (any_double) return Ok(Value::Double(AsDouble(*pick)));
      return Ok(*pick);
    }
    case Builtin::kLower:
    case Builtin::kUpper:
      if (args[0].kind() != K::kString) return NoOverload(name, ptrs);
      *cost += static_cast<int64_t>(args[0].string_value().size()) / 16;
      return Ok(Value::String(AsciiCase(args[0].string_value(), call.builtin == Builtin::kUpper)));
    case Builtin::kStartsWith:
    case Builtin::kEndsWith:
    case Builtin::kContains: {
      if (args[0].kind() != K::kString || args[1].kind() != K::kString) {
        return NoOverload(name, ptrs);
      }
      std::string_view s = args[0].string_value(), t = args[1].string_value();
      *cost += static_cast<int64_t>(s.size()) / 16;
      if (call.builtin == Builtin::kStartsWith) return Ok(Value::Bool(s.substr(0, t.size()) == t));
      if (call.builtin == Builtin::kEndsWith) {
        return Ok(Value::Bool(s.size() >= t.size() && s.substr(s.size() - t.size()) == t));
      }
      return Ok(Value::Bool(s.find(t) != std::string_view::npos));
    }
    case Builtin::kMatches: {
      if (args[0].kind() != K::kString || args[1].kind() != K::kString) {
        return NoOverload(name, ptrs);
      }
      std::shared_ptr<const RE2> re = call.regex;
      if (!re) {
        std::string error;
        *cost += static_cast<int64_t>(args[1].string_value().size());
        re = CompileRegex(args[1].string_value(), &error);
        if (!re) return Err(error);
      }
      *cost += static_cast<int64_t>(args[0].string_value().size()) / 16;
      return Ok(Value::Bool(RE2::PartialMatch(args[0].string_value(), *re)));
    }
    case Builtin::kToInt:
    case Builtin::kToDouble:
    case Builtin::kToString:
    case Builtin::kToBool:
    case Builtin::kToTimestamp:
    case Builtin::kToDuration:
    case Builtin::kToDyn:
      return Convert(call.builtin, name, args[0]);
    case Builtin::kGetFullYear:
    case Builtin::kGetMonth:
    case Builtin::kGetDate:
    case Builtin::kGetDayOfMonth:
    case Builtin::kGetDayOfWeek:
    case Builtin::kGetDayOfYear:
    case Builtin::kGetHours:
    case Builtin::kGetMinutes:
    case Builtin::kGetSeconds:
    case Builtin::kGetMilliseconds:
      return TimeGetter(call.builtin, name, args);
    case Builtin::kUnresolved:
      break;
  }
  return Err("unknown function '" + std::string(name) + "'");
}

}  // namespace plinth::expr::internal
