// Runtime values of the expression language: null, bool, int (int64), double, string, timestamp,
// duration, list and map. Int and double stay distinct; timestamps and durations are their own
// kinds (microseconds), not numbers. Lists and maps are immutable and shared, so copying a Value
// is cheap. Map keys are bool, int or string; maps iterate in key order (bool < int < string).
#ifndef PLINTH_EXPR_VALUE_H_
#define PLINTH_EXPR_VALUE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "expr/types.h"

namespace plinth::expr {

class Value;

// Orders map keys: by kind (bool, int, string), then by value.
struct MapKeyLess {
  bool operator()(const Value& a, const Value& b) const;
};

using ValueList = std::vector<Value>;
using ValueMap = std::map<Value, Value, MapKeyLess>;

class Value {
 public:
  // The order matches the variant's alternatives.
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kTimestamp, kDuration, kList, kMap };

  // null.
  Value() = default;

  static Value Null() { return Value(); }
  static Value Bool(bool v) { return Value(Rep(v)); }
  static Value Int(int64_t v) { return Value(Rep(v)); }
  static Value Double(double v) { return Value(Rep(v)); }
  static Value String(std::string v) { return Value(Rep(std::move(v))); }
  // Microseconds since the Unix epoch, UTC. The caller keeps it within TimestampInRange().
  static Value Timestamp(int64_t micros) { return Value(Rep(Ts{micros})); }
  static Value Duration(int64_t micros) { return Value(Rep(Dur{micros})); }
  static Value List(ValueList items) {
    return Value(Rep(std::make_shared<const ValueList>(std::move(items))));
  }
  // Keys must be bool, int or string.
  static Value Map(ValueMap entries) {
    return Value(Rep(std::make_shared<const ValueMap>(std::move(entries))));
  }

  Kind kind() const { return static_cast<Kind>(rep_.index()); }
  bool is_null() const { return kind() == Kind::kNull; }

  // Accessors; each is valid only for its kind.
  bool bool_value() const { return std::get<bool>(rep_); }
  int64_t int_value() const { return std::get<int64_t>(rep_); }
  double double_value() const { return std::get<double>(rep_); }
  const std::string& string_value() const { return std::get<std::string>(rep_); }
  int64_t timestamp_micros() const { return std::get<Ts>(rep_).micros; }
  int64_t duration_micros() const { return std::get<Dur>(rep_).micros; }
  const ValueList& list_value() const { return *std::get<ListPtr>(rep_); }
  const ValueMap& map_value() const { return *std::get<MapPtr>(rep_); }

  // A CEL-like rendering for messages and tests: 1, 1.5, "a", [1, 2], {"k": true},
  // timestamp("2024-01-31T00:00:00Z"), duration("3600s"), null.
  std::string DebugString() const;

 private:
  struct Ts {
    int64_t micros;
  };
  struct Dur {
    int64_t micros;
  };
  using ListPtr = std::shared_ptr<const ValueList>;
  using MapPtr = std::shared_ptr<const ValueMap>;
  using Rep =
      std::variant<std::monostate, bool, int64_t, double, std::string, Ts, Dur, ListPtr, MapPtr>;
  explicit Value(Rep rep) : rep_(std::move(rep)) {}
  Rep rep_;
};

// "null", "bool", "int", "double", "string", "timestamp", "duration", "list", "map".
std::string KindName(Value::Kind kind);

// CEL equality: numbers compare by value across int and double (1 == 1.0; NaN equals nothing),
// lists element-wise, maps by key set and values, null equals only null, values of different
// kinds are unequal.
bool ValuesEqual(const Value& a, const Value& b);

// True if `value` may be held by an expression of static type `type`: null fits every type,
// dyn fits everything, lists and maps are checked element by element.
bool ValueConforms(const Value& value, const Type& type);

// The JSON form of a value: timestamps as RFC 3339 strings, durations as "<seconds>s" strings,
// NaN and infinities as the strings "NaN", "Infinity", "-Infinity", map keys as strings.
Json ValueToJson(const Value& value);

// Converts JSON to a value of declared type `type`. Null is accepted for every type. int accepts
// integral numbers; double any number; timestamp an RFC 3339 string; duration a duration string;
// list(T) an array; map(K, V) an object (int and bool keys are read from the key text); dyn maps
// integers to int, other numbers to double, arrays to lists and objects to maps. InvalidArgument
// naming the path of the first mismatch ("$.a[2]"); nesting deeper than 100 is refused.
StatusOr<Value> ValueFromJson(const Json& json, const Type& type);

// Shortest text that reads back to the same double, in plain notation for exponents -6..20 and
// scientific otherwise: "1", "0.1", "1e+21", "NaN", "Infinity", "-Infinity".
std::string FormatDouble(double value);

}  // namespace plinth::expr

#endif  // PLINTH_EXPR_VALUE_H_
