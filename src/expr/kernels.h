// Scalar kernels shared by the row-wise interpreter and the column evaluator, so both give
// bit-identical results and the same error texts. Internal to the expr module.
#ifndef PLINTH_EXPR_KERNELS_H_
#define PLINTH_EXPR_KERNELS_H_

#include <cmath>
#include <cstdint>
#include <string_view>

#include "expr/time_util.h"

namespace plinth::expr::internal {

inline constexpr std::string_view kIntOverflow = "integer overflow";
inline constexpr std::string_view kDivisionByZero = "division by zero";
inline constexpr std::string_view kModulusByZero = "modulus by zero";
inline constexpr std::string_view kTimestampRange = "timestamp out of range";
inline constexpr std::string_view kDurationRange = "duration out of range";

// Three-way comparison result; kUnordered when NaN is involved.
enum class Order { kLess, kEqual, kGreater, kUnordered };

template <typename T>
inline Order Compare3(T a, T b) {
  if (a < b) return Order::kLess;
  if (b < a) return Order::kGreater;
  if (a == b) return Order::kEqual;
  return Order::kUnordered;
}

// Exact comparison of an int64 with a double (no rounding of large integers).
inline Order CompareIntDouble(int64_t a, double b) {
  if (std::isnan(b)) return Order::kUnordered;
  if (b >= 9223372036854775808.0) return Order::kLess;
  if (b < -9223372036854775808.0) return Order::kGreater;
  double truncated = std::trunc(b);
  int64_t bi = static_cast<int64_t>(truncated);
  if (a < bi) return Order::kLess;
  if (a > bi) return Order::kGreater;
  if (b > truncated) return Order::kLess;
  if (b < truncated) return Order::kGreater;
  return Order::kEqual;
}

inline Order Reverse(Order o) {
  if (o == Order::kLess) return Order::kGreater;
  if (o == Order::kGreater) return Order::kLess;
  return o;
}

// Relational operators over an Order: 0 <, 1 <=, 2 >, 3 >=.
inline bool OrderSatisfies(Order o, int rel) {
  switch (rel) {
    case 0:
      return o == Order::kLess;
    case 1:
      return o == Order::kLess || o == Order::kEqual;
    case 2:
      return o == Order::kGreater;
    default:
      return o == Order::kGreater || o == Order::kEqual;
  }
}

// Integer arithmetic: false on overflow or division by zero, with `*error` set.
inline bool IntAdd(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_add_overflow(a, b, out)) {
    *error = kIntOverflow;
    return false;
  }
  return true;
}
inline bool IntSub(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_sub_overflow(a, b, out)) {
    *error = kIntOverflow;
    return false;
  }
  return true;
}
inline bool IntMul(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_mul_overflow(a, b, out)) {
    *error = kIntOverflow;
    return false;
  }
  return true;
}
inline bool IntDiv(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (b == 0) {
    *error = kDivisionByZero;
    return false;
  }
  if (b == -1 && a == INT64_MIN) {
    *error = kIntOverflow;
    return false;
  }
  *out = a / b;
  return true;
}
inline bool IntMod(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (b == 0) {
    *error = kModulusByZero;
    return false;
  }
  if (b == -1 && a == INT64_MIN) {
    *error = kIntOverflow;
    return false;
  }
  *out = a % b;
  return true;
}
inline bool IntNeg(int64_t a, int64_t* out, std::string_view* error) {
  if (a == INT64_MIN) {
    *error = kIntOverflow;
    return false;
  }
  *out = -a;
  return true;
}
inline bool DoubleDiv(double a, double b, double* out, std::string_view* error) {
  if (b == 0) {
    *error = kDivisionByZero;
    return false;
  }
  *out = a / b;
  return true;
}

// Timestamp and duration arithmetic with CEL's range checks.
inline bool TimestampAddDuration(int64_t ts, int64_t dur, int64_t* out, std::string_view* error) {
  if (__builtin_add_overflow(ts, dur, out) || !TimestampInRange(*out)) {
    *error = kTimestampRange;
    return false;
  }
  return true;
}
inline bool TimestampSubDuration(int64_t ts, int64_t dur, int64_t* out, std::string_view* error) {
  if (__builtin_sub_overflow(ts, dur, out) || !TimestampInRange(*out)) {
    *error = kTimestampRange;
    return false;
  }
  return true;
}
inline bool TimestampDiff(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_sub_overflow(a, b, out) || !DurationInRange(*out)) {
    *error = kDurationRange;
    return false;
  }
  return true;
}
inline bool DurationAdd(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_add_overflow(a, b, out) || !DurationInRange(*out)) {
    *error = kDurationRange;
    return false;
  }
  return true;
}
inline bool DurationSub(int64_t a, int64_t b, int64_t* out, std::string_view* error) {
  if (__builtin_sub_overflow(a, b, out) || !DurationInRange(*out)) {
    *error = kDurationRange;
    return false;
  }
  return true;
}

// Math functions. log and sqrt refuse arguments outside their domain.
inline bool MathLog(double x, double* out, std::string_view* error) {
  if (x <= 0) {
    *error = "log() of a number that is not positive";
    return false;
  }
  *out = std::log(x);
  return true;
}
inline bool MathSqrt(double x, double* out, std::string_view* error) {
  if (x < 0) {
    *error = "sqrt() of a negative number";
    return false;
  }
  *out = std::sqrt(x);
  return true;
}
inline bool IntAbs(int64_t a, int64_t* out, std::string_view* error) {
  if (a == INT64_MIN) {
    *error = kIntOverflow;
    return false;
  }
  *out = a < 0 ? -a : a;
  return true;
}

// int(double): truncation toward zero; NaN, infinities and values outside int64 are errors.
inline bool DoubleToInt(double d, int64_t* out, std::string_view* error) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
    *error = "int() argument out of range";
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// min/max/clip pick with a fixed rule so NaN behaves the same everywhere: the first argument is
// kept unless the other compares strictly less (min) / greater (max).
inline double PickMin(double a, double b) { return b < a ? b : a; }
inline double PickMax(double a, double b) { return b > a ? b : a; }

}  // namespace plinth::expr::internal

#endif  // PLINTH_EXPR_KERNELS_H_
