#include "expr/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "expr/kernels.h"
#include "expr/time_util.h"

namespace plinth::expr {
namespace {

constexpr int kMaxJsonDepth = 100;

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string JsonKindName(const Json& json) {
  switch (json.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "unsupported JSON value";
  }
}

Status Mismatch(const std::string& path, const Type& type, const Json& json) {
  return absl::InvalidArgumentError(path + ": expected " + type.ToString() + ", got " +
                                    JsonKindName(json));
}

StatusOr<Value> FromJson(const Json& json, const Type& type, const std::string& path, int depth) {
  if (depth > kMaxJsonDepth) {
    return absl::InvalidArgumentError(path + ": nested more than " + std::to_string(kMaxJsonDepth) +
                                      " levels deep");
  }
  if (json.is_null()) return Value::Null();
  switch (type.kind()) {
    case TypeKind::kNull:
      return Mismatch(path, type, json);
    case TypeKind::kBool:
      if (!json.is_boolean()) return Mismatch(path, type, json);
      return Value::Bool(json.get<bool>());
    case TypeKind::kInt:
      if (json.is_number_integer()) {
        if (json.is_number_unsigned() && json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
          return absl::InvalidArgumentError(path + ": integer out of int64 range");
        }
        return Value::Int(json.get<int64_t>());
      }
      if (json.is_number_float()) {
        double d = json.get<double>();
        int64_t i;
        std::string_view err;
        if (std::trunc(d) == d && internal::DoubleToInt(d, &i, &err)) return Value::Int(i);
        return absl::InvalidArgumentError(path + ": expected int, got non-integral number");
      }
      return Mismatch(path, type, json);
    case TypeKind::kDouble:
      if (!json.is_number()) return Mismatch(path, type, json);
      return Value::Double(json.get<double>());
    case TypeKind::kString:
      if (!json.is_string()) return Mismatch(path, type, json);
      return Value::String(json.get<std::string>());
    case TypeKind::kTimestamp: {
      if (!json.is_string()) return Mismatch(path, type, json);
      auto ts = ParseTimestamp(json.get_ref<const std::string&>());
      if (!ts) return absl::InvalidArgumentError(path + ": not an RFC 3339 timestamp");
      return Value::Timestamp(*ts);
    }
    case TypeKind::kDuration: {
      if (!json.is_string()) return Mismatch(path, type, json);
      auto d = ParseDurationText(json.get_ref<const std::string&>());
      if (!d) return absl::InvalidArgumentError(path + ": not a duration");
      return Value::Duration(*d);
    }
    case TypeKind::kList: {
      if (!json.is_array()) return Mismatch(path, type, json);
      ValueList items;
      items.reserve(json.size());
      for (size_t i = 0; i < json.size(); ++i) {
        auto v = FromJson(json[i], type.elem(), path + "[" + std::to_string(i) + "]", depth + 1);
        if (!v.ok()) return v;
        items.push_back(std::move(*v));
      }
      return Value::List(std::move(items));
    }
    case TypeKind::kMap: {
      if (!json.is_object()) return Mismatch(path, type, json);
      ValueMap entries;
      for (auto it = json.begin(); it != json.end(); ++it) {
        const std::string& key = it.key();
        Value k;
        switch (type.key().kind()) {
          case TypeKind::kInt: {
            int64_t i;
            auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), i);
            if (ec != std::errc() || p != key.data() + key.size()) {
              return absl::InvalidArgumentError(path + ": key '" + key + "' is not an int");
            }
            k = Value::Int(i);
            break;
          }
          case TypeKind::kBool:
            if (key != "true" && key != "false") {
              return absl::InvalidArgumentError(path + ": key '" + key + "' is not a bool");
            }
            k = Value::Bool(key == "true");
            break;
          default:
            k = Value::String(key);
        }
        auto v = FromJson(it.value(), type.value(), path + "." + key, depth + 1);
        if (!v.ok()) return v;
        entries.emplace(std::move(k), std::move(*v));
      }
      return Value::Map(std::move(entries));
    }
    case TypeKind::kDyn:
      switch (json.type()) {
        case Json::value_t::boolean:
          return Value::Bool(json.get<bool>());
        case Json::value_t::number_integer:
          return Value::Int(json.get<int64_t>());
        case Json::value_t::number_unsigned:
          if (json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
            return Value::Double(json.get<double>());
          }
          return Value::Int(json.get<int64_t>());
        case Json::value_t::number_float:
          return Value::Double(json.get<double>());
        case Json::value_t::string:
          return Value::String(json.get<std::string>());
        case Json::value_t::array:
          return FromJson(json, Type::List(Type::Dyn()), path, depth);
        case Json::value_t::object:
          return FromJson(json, Type::Map(Type::String(), Type::Dyn()), path, depth);
        default:
          return absl::InvalidArgumentError(path + ": unsupported JSON value");
      }
  }
  return Mismatch(path, type, json);
}

}  // namespace

bool MapKeyLess::operator()(const Value& a, const Value& b) const {
  if (a.kind() != b.kind()) return a.kind() < b.kind();
  switch (a.kind()) {
    case Value::Kind::kBool:
      return a.bool_value() < b.bool_value();
    case Value::Kind::kInt:
      return a.int_value() < b.int_value();
    case Value::Kind::kString:
      return a.string_value() < b.string_value();
    default:
      return false;
  }
}

std::string KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kDouble:
      return "double";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kTimestamp:
      return "timestamp";
    case Value::Kind::kDuration:
      return "duration";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kMap:
      return "map";
  }
  return "unknown";
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string sci(buf, end);
  // sci is "[-]d[.ddd]e[+-]xx".
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exponent = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -6 && exponent < 21) {
    if (exponent < 0) {
      out += "0." + std::string(-exponent - 1, '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out += digits + std::string(exponent + 1 - digits.size(), '0');
    } else {
      out += digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  out += exponent < 0 ? "e-" : "e+";
  out += std::to_string(exponent < 0 ? -exponent : exponent);
  return out;
}

std::string Value::DebugString() const {
  switch (kind()) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return bool_value() ? "true" : "false";
    case Kind::kInt:
      return std::to_string(int_value());
    case Kind::kDouble: {
      std::string s = FormatDouble(double_value());
      if (s.find_first_of(".eIN") == std::string::npos) s += ".0";
      return s;
    }
    case Kind::kString:
      return Quote(string_value());
    case Kind::kTimestamp:
      return "timestamp(\"" + FormatTimestamp(timestamp_micros()) + "\")";
    case Kind::kDuration:
      return "duration(\"" + FormatDuration(duration_micros()) + "\")";
    case Kind::kList: {
      std::string out = "[";
      bool first = true;
      for (const Value& v : list_value()) {
        if (!first) out += ", ";
        first = false;
        out += v.DebugString();
      }
      return out + "]";
    }
    case Kind::kMap: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : map_value()) {
        if (!first) out += ", ";
        first = false;
        out += k.DebugString() + ": " + v.DebugString();
      }
      return out + "}";
    }
  }
  return "?";
}

bool ValuesEqual(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.kind() == K::kInt && b.kind() == K::kDouble) {
    return internal::CompareIntDouble(a.int_value(), b.double_value()) == internal::Order::kEqual;
  }
  if (a.kind() == K::kDouble && b.kind() == K::kInt) {
    return internal::CompareIntDouble(b.int_value(), a.double_value()) == internal::Order::kEqual;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::kNull:
      return true;
    case K::kBool:
      return a.bool_value() == b.bool_value();
    case K::kInt:
      return a.int_value() == b.int_value();
    case K::kDouble:
      return a.double_value() == b.double_value();
    case K::kString:
      return a.string_value() == b.string_value();
    case K::kTimestamp:
      return a.timestamp_micros() == b.timestamp_micros();
    case K::kDuration:
      return a.duration_micros() == b.duration_micros();
    case K::kList: {
      const ValueList& x = a.list_value();
      const ValueList& y = b.list_value();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!ValuesEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case K::kMap: {
      const ValueMap& x = a.map_value();
      const ValueMap& y = b.map_value();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        auto it = y.find(k);
        if (it == y.end() || !ValuesEqual(v, it->second)) return false;
      }
      return true;
    }
  }
  return false;
}

bool ValueConforms(const Value& value, const Type& type) {
  using K = Value::Kind;
  if (value.is_null() || type.is_dyn()) return true;
  switch (type.kind()) {
    case TypeKind::kBool:
      return value.kind() == K::kBool;
    case TypeKind::kInt:
      return value.kind() == K::kInt;
    case TypeKind::kDouble:
      return value.kind() == K::kDouble;
    case TypeKind::kString:
      return value.kind() == K::kString;
    case TypeKind::kTimestamp:
      return value.kind() == K::kTimestamp;
    case TypeKind::kDuration:
      return value.kind() == K::kDuration;
    case TypeKind::kList:
      if (value.kind() != K::kList) return false;
      for (const Value& v : value.list_value()) {
        if (!ValueConforms(v, type.elem())) return false;
      }
      return true;
    case TypeKind::kMap:
      if (value.kind() != K::kMap) return false;
      for (const auto& [k, v] : value.map_value()) {
        if (!ValueConforms(k, type.key()) || !ValueConforms(v, type.value())) return false;
      }
      return true;
    default:
      return false;
  }
}

Json ValueToJson(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull:
      return nullptr;
    case Value::Kind::kBool:
      return value.bool_value();
    case Value::Kind::kInt:
      return value.int_value();
    case Value::Kind::kDouble: {
      double d = value.double_value();
      if (std::isfinite(d)) return d;
      return FormatDouble(d);
    }
    case Value::Kind::kString:
      return value.string_value();
    case Value::Kind::kTimestamp:
      return FormatTimestamp(value.timestamp_micros());
    case Value::Kind::kDuration:
      return FormatDuration(value.duration_micros());
    case Value::Kind::kList: {
      Json out = Json::array();
      for (const Value& v : value.list_value()) out.push_back(ValueToJson(v));
      return out;
    }
    case Value::Kind::kMap: {
      Json out = Json::object();
      for (const auto& [k, v] : value.map_value()) {
        std::string key;
        if (k.kind() == Value::Kind::kString) {
          key = k.string_value();
        } else if (k.kind() == Value::Kind::kInt) {
          key = std::to_string(k.int_value());
        } else {
          key = k.bool_value() ? "true" : "false";
        }
        out[key] = ValueToJson(v);
      }
      return out;
    }
  }
  return nullptr;
}

StatusOr<Value> ValueFromJson(const Json& json, const Type& type) {
  return FromJson(json, type, "$", 0);
}

}  // namespace plinth::expr
