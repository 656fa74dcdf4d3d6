// Static types of the expression language (docs/expr.md): the types a variable can be declared
// with and the type the checker gives every sub-expression.
//
//   int, double, bool, string, timestamp, duration, list(T), map(K, V), dyn
//
// `dyn` stands for "any type, known only at evaluation". `null_type` is the type of the literal
// `null`; it cannot be declared. Every type admits the value null (values are nullable).
#ifndef PLINTH_EXPR_TYPES_H_
#define PLINTH_EXPR_TYPES_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace plinth::expr {

enum class TypeKind {
  kDyn,
  kNull,
  kBool,
  kInt,
  kDouble,
  kString,
  kTimestamp,
  kDuration,
  kList,
  kMap
};

class Type {
 public:
  // dyn.
  Type() = default;

  static Type Dyn() { return Type(TypeKind::kDyn); }
  static Type Null() { return Type(TypeKind::kNull); }
  static Type Bool() { return Type(TypeKind::kBool); }
  static Type Int() { return Type(TypeKind::kInt); }
  static Type Double() { return Type(TypeKind::kDouble); }
  static Type String() { return Type(TypeKind::kString); }
  static Type Timestamp() { return Type(TypeKind::kTimestamp); }
  static Type Duration() { return Type(TypeKind::kDuration); }
  static Type List(Type elem);
  static Type Map(Type key, Type value);

  TypeKind kind() const { return kind_; }
  bool is_dyn() const { return kind_ == TypeKind::kDyn; }
  bool is_null() const { return kind_ == TypeKind::kNull; }
  // int or double.
  bool is_numeric() const { return kind_ == TypeKind::kInt || kind_ == TypeKind::kDouble; }
  // Element type of a list; key and value types of a map. Only valid for those kinds.
  const Type& elem() const { return params_[0]; }
  const Type& key() const { return params_[0]; }
  const Type& value() const { return params_[1]; }

  // "int", "list(string)", "map(string, dyn)", "null_type".
  std::string ToString() const;

  friend bool operator==(const Type& a, const Type& b) {
    return a.kind_ == b.kind_ && a.params_ == b.params_;
  }
  friend bool operator!=(const Type& a, const Type& b) { return !(a == b); }

 private:
  explicit Type(TypeKind kind) : kind_(kind) {}
  TypeKind kind_ = TypeKind::kDyn;
  std::vector<Type> params_;
};

// Parses the written form of a declarable type ("int", "list(string)", "map(string, list(double))",
// "dyn"; spaces are ignored). Map keys must be int, string, bool or dyn. InvalidArgument otherwise.
StatusOr<Type> ParseType(std::string_view text);

}  // namespace plinth::expr

#endif  // PLINTH_EXPR_TYPES_H_
