#include "expr/types.h"

#include <string>

namespace plinth::expr {

Type Type::List(Type elem) {
  Type t(TypeKind::kList);
  t.params_.push_back(std::move(elem));
  return t;
}

Type Type::Map(Type key, Type value) {
  Type t(TypeKind::kMap);
  t.params_.push_back(std::move(key));
  t.params_.push_back(std::move(value));
  return t;
}

std::string Type::ToString() const {
  switch (kind_) {
    case TypeKind::kDyn:
      return "dyn";
    case TypeKind::kNull:
      return "null_type";
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kInt:
      return "int";
    case TypeKind::kDouble:
      return "double";
    case TypeKind::kString:
      return "string";
    case TypeKind::kTimestamp:
      return "timestamp";
    case TypeKind::kDuration:
      return "duration";
    case TypeKind::kList:
      return "list(" + elem().ToString() + ")";
    case TypeKind::kMap:
      return "map(" + key().ToString() + ", " + value().ToString() + ")";
  }
  return "dyn";
}

namespace {

// Recursive-descent reader over `text` with spaces removed. Depth is bounded so a hostile
// declaration cannot exhaust the stack.
class TypeReader {
 public:
  explicit TypeReader(std::string text) : text_(std::move(text)) {}

  StatusOr<Type> ReadAll() {
    auto t = Read(0);
    if (!t.ok()) return t;
    if (pos_ != text_.size()) return Error();
    return t;
  }

 private:
  Status Error() const {
    return absl::InvalidArgumentError("malformed type '" + text_ + "' at character " +
                                      std::to_string(pos_ + 1));
  }

  bool Eat(std::string_view word) {
    if (text_.compare(pos_, word.size(), word) == 0) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  StatusOr<Type> Read(int depth) {
    if (depth > 32) return absl::InvalidArgumentError("type '" + text_ + "' is nested too deeply");
    if (Eat("list(")) {
      auto elem = Read(depth + 1);
      if (!elem.ok()) return elem;
      if (!Eat(")")) return Error();
      return Type::List(*elem);
    }
    if (Eat("map(")) {
      size_t key_pos = pos_;
      auto key = Read(depth + 1);
      if (!key.ok()) return key;
      TypeKind k = key->kind();
      if (k != TypeKind::kString && k != TypeKind::kInt && k != TypeKind::kBool &&
          k != TypeKind::kDyn) {
        return absl::InvalidArgumentError("map key type must be int, string, bool or dyn in '" +
                                          text_ + "' at character " + std::to_string(key_pos + 1));
      }
      if (!Eat(",")) return Error();
      auto value = Read(depth + 1);
      if (!value.ok()) return value;
      if (!Eat(")")) return Error();
      return Type::Map(*key, *value);
    }
    static constexpr std::pair<std::string_view, TypeKind> kNames[] = {
        {"int", TypeKind::kInt},
        {"double", TypeKind::kDouble},
        {"bool", TypeKind::kBool},
        {"string", TypeKind::kString},
        {"timestamp", TypeKind::kTimestamp},
        {"duration", TypeKind::kDuration},
        {"dyn", TypeKind::kDyn},
    };
    for (const auto& [name, kind] : kNames) {
      if (text_.compare(pos_, name.size(), name) == 0) {
        size_t end = pos_ + name.size();
        if (end < text_.size() && text_[end] != ',' && text_[end] != ')') continue;
        pos_ = end;
        switch (kind) {
          case TypeKind::kInt:
            return Type::Int();
          case TypeKind::kDouble:
            return Type::Double();
          case TypeKind::kBool:
            return Type::Bool();
          case TypeKind::kString:
            return Type::String();
          case TypeKind::kTimestamp:
            return Type::Timestamp();
          case TypeKind::kDuration:
            return Type::Duration();
          default:
            return Type::Dyn();
        }
      }
    }
    return Error();
  }

  std::string text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<Type> ParseType(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '\t') compact.push_back(c);
  }
  if (compact.empty()) return absl::InvalidArgumentError("empty type");
  return TypeReader(std::move(compact)).ReadAll();
}

}  // namespace plinth::expr
