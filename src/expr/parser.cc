#include "expr/parser.h"

#include <charconv>
#include <cstdio>
#include <vector>

namespace plinth::expr::internal {
namespace {

enum class Tok {
  kEof,
  kInt,
  kDouble,
  kString,
  kIdent,
  kTrue,
  kFalse,
  kNull,
  kIn,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kDot,
  kComma,
  kColon,
  kQuestion,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kBang,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
};

struct Token {
  Tok kind = Tok::kEof;
  int32_t offset = 0;
  int32_t end = 0;
  uint64_t int_value = 0;
  double double_value = 0;
  std::string text;  // decoded string literal, or identifier
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the UTF-8 sequence starting at text[pos] (1 for invalid bytes).
size_t Utf8Length(std::string_view text, size_t pos) {
  unsigned char c = static_cast<unsigned char>(text[pos]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return pos + n <= text.size() ? n : 1;
}

// How a character is named in messages: 'x' for printable ASCII, U+XXXX otherwise.
std::string DescribeChar(std::string_view text, size_t pos) {
  unsigned char c = static_cast<unsigned char>(text[pos]);
  if (c >= 0x21 && c < 0x7F) return "'" + std::string(1, static_cast<char>(c)) + "'";
  uint32_t cp = c;
  size_t n = Utf8Length(text, pos);
  if (n > 1) {
    cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < n; ++i)
      cp = (cp << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  }
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", cp);
  return buf;
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  bool Run(std::vector<Token>* tokens, Diagnostic* error) {
    while (true) {
      SkipSpaceAndComments();
      Token t;
      t.offset = static_cast<int32_t>(pos_);
      if (pos_ >= src_.size()) {
        t.kind = Tok::kEof;
        t.end = t.offset;
        tokens->push_back(std::move(t));
        return true;
      }
      if (!Next(&t)) {
        *error = error_;
        return false;
      }
      t.end = static_cast<int32_t>(pos_);
      tokens->push_back(std::move(t));
    }
  }

 private:
  bool Fail(size_t offset, std::string message) {
    error_.offset = static_cast<int32_t>(offset);
    error_.message = std::move(message);
    return false;
  }

  char At(size_t i) const { return i < src_.size() ? src_[i] : '\0'; }

  void SkipSpaceAndComments() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
        ++pos_;
      } else if (c == '/' && At(pos_ + 1) == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  bool Next(Token* t) {
    char c = src_[pos_];
    if (IsDigit(c)) return Number(t);
    if (IsIdentStart(c)) {
      size_t start = pos_;
      while (pos_ < src_.size() && IsIdentChar(src_[pos_])) ++pos_;
      std::string_view word = src_.substr(start, pos_ - start);
      if (pos_ < src_.size() && (src_[pos_] == '\'' || src_[pos_] == '"') && word.size() <= 2) {
        bool raw = false, bytes = false, prefix = true;
        for (char w : word) {
          if ((w == 'r' || w == 'R') && !raw) {
            raw = true;
          } else if ((w == 'b' || w == 'B') && !bytes) {
            bytes = true;
          } else {
            prefix = false;
          }
        }
        if (prefix) {
          if (bytes) return Fail(start, "bytes literals are not supported");
          return String(t, raw);
        }
      }
      if (word == "true") {
        t->kind = Tok::kTrue;
      } else if (word == "false") {
        t->kind = Tok::kFalse;
      } else if (word == "null") {
        t->kind = Tok::kNull;
      } else if (word == "in") {
        t->kind = Tok::kIn;
      } else if (IsReservedWord(word)) {
        return Fail(start, "reserved word '" + std::string(word) + "' cannot be used as a name");
      } else {
        t->kind = Tok::kIdent;
        t->text = std::string(word);
      }
      return true;
    }
    if (c == '\'' || c == '"') return String(t, false);
    char n = At(pos_ + 1);
    auto two = [&](Tok kind) {
      t->kind = kind;
      pos_ += 2;
      return true;
    };
    auto one = [&](Tok kind) {
      t->kind = kind;
      pos_ += 1;
      return true;
    };
    switch (c) {
      case '(':
        return one(Tok::kLParen);
      case ')':
        return one(Tok::kRParen);
      case '[':
        return one(Tok::kLBracket);
      case ']':
        return one(Tok::kRBracket);
      case '{':
        return one(Tok::kLBrace);
      case '}':
        return one(Tok::kRBrace);
      case '.':
        return one(Tok::kDot);
      case ',':
        return one(Tok::kComma);
      case ':':
        return one(Tok::kColon);
      case '?':
        return one(Tok::kQuestion);
      case '+':
        return one(Tok::kPlus);
      case '-':
        return one(Tok::kMinus);
      case '*':
        return one(Tok::kStar);
      case '/':
        return one(Tok::kSlash);
      case '%':
        return one(Tok::kPercent);
      case '!':
        return n == '=' ? two(Tok::kNe) : one(Tok::kBang);
      case '=':
        if (n == '=') return two(Tok::kEq);
        return Fail(pos_, "unexpected character '='; did you mean '=='?");
      case '<':
        return n == '=' ? two(Tok::kLe) : one(Tok::kLt);
      case '>':
        return n == '=' ? two(Tok::kGe) : one(Tok::kGt);
      case '&':
        if (n == '&') return two(Tok::kAnd);
        return Fail(pos_, "unexpected character '&'; did you mean '&&'?");
      case '|':
        if (n == '|') return two(Tok::kOr);
        return Fail(pos_, "unexpected character '|'; did you mean '||'?");
      default:
        return Fail(pos_, "unexpected character " + DescribeChar(src_, pos_));
    }
  }

  bool Number(Token* t) {
    size_t start = pos_;
    if (src_[pos_] == '0' && (At(pos_ + 1) == 'x' || At(pos_ + 1) == 'X')) {
      pos_ += 2;
      uint64_t v = 0;
      size_t digits_start = pos_;
      while (pos_ < src_.size() && HexValue(src_[pos_]) >= 0) {
        if (v > (UINT64_MAX >> 4)) return Fail(start, "integer literal out of range");
        v = (v << 4) | static_cast<uint64_t>(HexValue(src_[pos_]));
        ++pos_;
      }
      if (pos_ == digits_start) return Fail(start, "malformed number literal");
      t->kind = Tok::kInt;
      t->int_value = v;
      return Suffix(start);
    }
    while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    bool is_double = false;
    if (At(pos_) == '.' && IsDigit(At(pos_ + 1))) {
      is_double = true;
      ++pos_;
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    if (At(pos_) == 'e' || At(pos_) == 'E') {
      size_t p = pos_ + 1;
      if (At(p) == '+' || At(p) == '-') ++p;
      if (!IsDigit(At(p))) return Fail(start, "malformed number literal");
      is_double = true;
      pos_ = p;
      while (pos_ < src_.size() && IsDigit(src_[pos_])) ++pos_;
    }
    const char* first = src_.data() + start;
    const char* last = src_.data() + pos_;
    if (is_double) {
      double d = 0;
      auto [p, ec] = std::from_chars(first, last, d);
      if (ec == std::errc::result_out_of_range) {
        return Fail(start, "double literal out of range");
      }
      if (ec != std::errc() || p != last) return Fail(start, "malformed number literal");
      t->kind = Tok::kDouble;
      t->double_value = d;
    } else {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(first, last, v);
      if (ec == std::errc::result_out_of_range) return Fail(start, "integer literal out of range");
      if (ec != std::errc() || p != last) return Fail(start, "malformed number literal");
      t->kind = Tok::kInt;
      t->int_value = v;
    }
    return Suffix(start);
  }

  bool Suffix(size_t start) {
    char c = At(pos_);
    if ((c == 'u' || c == 'U') && !IsIdentChar(At(pos_ + 1))) {
      return Fail(start, "unsigned integer literals are not supported");
    }
    if (IsIdentChar(c)) return Fail(start, "malformed number literal");
    return true;
  }

  bool String(Token* t, bool raw) {
    char quote = src_[pos_];
    bool triple = At(pos_ + 1) == quote && At(pos_ + 2) == quote;
    pos_ += triple ? 3 : 1;
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) return Fail(t->offset, "unterminated string literal");
      char c = src_[pos_];
      if (c == quote) {
        if (!triple) {
          ++pos_;
          break;
        }
        if (At(pos_ + 1) == quote && At(pos_ + 2) == quote) {
          pos_ += 3;
          break;
        }
      }
      if (!triple && (c == '\n' || c == '\r')) {
        return Fail(t->offset, "unterminated string literal");
      }
      if (c == '\\' && !raw) {
        if (!Escape(&out)) return false;
        continue;
      }
      out.push_back(c);
      ++pos_;
    }
    t->kind = Tok::kString;
    t->text = std::move(out);
    return true;
  }

  bool Escape(std::string* out) {
    size_t at = pos_;
    char e = At(pos_ + 1);
    pos_ += 2;
    switch (e) {
      case '\\':
        out->push_back('\\');
        return true;
      case '\'':
        out->push_back('\'');
        return true;
      case '"':
        out->push_back('"');
        return true;
      case '`':
        out->push_back('`');
        return true;
      case '?':
        out->push_back('?');
        return true;
      case 'a':
        out->push_back('\a');
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'v':
        out->push_back('\v');
        return true;
      case 'x':
      case 'X':
      case 'u':
      case 'U': {
        int n = (e == 'x' || e == 'X') ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int i = 0; i < n; ++i) {
          int h = HexValue(At(pos_));
          if (h < 0) return Fail(at, "malformed escape sequence");
          cp = (cp << 4) | static_cast<uint32_t>(h);
          ++pos_;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return Fail(at, "escape sequence is not a valid code point");
        }
        AppendUtf8(cp, out);
        return true;
      }
      default:
        if (e >= '0' && e <= '3') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int i = 0; i < 2; ++i) {
            char d = At(pos_);
            if (d < '0' || d > '7') return Fail(at, "malformed escape sequence");
            cp = cp * 8 + static_cast<uint32_t>(d - '0');
            ++pos_;
          }
          AppendUtf8(cp, out);
          return true;
        }
        return Fail(at, "unknown escape sequence");
    }
  }

  std::string_view src_;
  size_t pos_ = 0;
  Diagnostic error_;
};

class Parser {
 public:
  Parser(std::string_view src, std::vector<Token> tokens, const ParseLimits& limits)
      : src_(src), tokens_(std::move(tokens)), limits_(limits) {}

  std::unique_ptr<Node> Run(Diagnostic* error) {
    auto root = ParseExpr();
    if (root && Peek().kind != Tok::kEof) {
      Unexpected(Peek(), "");
      root = nullptr;
    }
    if (!root) *error = error_;
    return root;
  }

 private:
  using NodePtr = std::unique_ptr<Node>;

  const Token& Peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  const Token& Advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool Is(Tok kind) const { return Peek().kind == kind; }

  NodePtr Fail(int32_t offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.offset = offset;
      error_.message = std::move(message);
    }
    return nullptr;
  }

  std::string TokenText(const Token& t) const {
    std::string_view text = src_.substr(t.offset, t.end - t.offset);
    if (text.size() > 24) return std::string(text.substr(0, 20)) + "...";
    return std::string(text);
  }

  NodePtr Unexpected(const Token& t, std::string_view expected) {
    std::string msg =
        t.kind == Tok::kEof ? "unexpected end of input" : "unexpected token '" + TokenText(t) + "'";
    if (!expected.empty()) msg += " (expected " + std::string(expected) + ")";
    return Fail(t.offset, msg);
  }

  bool Expect(Tok kind, std::string_view what) {
    if (Is(kind)) {
      Advance();
      return true;
    }
    Unexpected(Peek(), what);
    return false;
  }

  // Creates a node, enforcing the depth and size limits.
  NodePtr Make(NodeKind kind, int32_t offset, std::vector<NodePtr> children = {}) {
    if (++node_count_ > limits_.max_nodes) {
      return Fail(offset, "expression too large (the limit is " +
                              std::to_string(limits_.max_nodes) + " nodes)");
    }
    auto node = std::make_unique<Node>();
    node->kind = kind;
    node->offset = offset;
    int depth = 0;
    for (const auto& c : children) depth = std::max(depth, c->depth);
    node->depth = depth + 1;
    if (node->depth > limits_.max_depth) return TooDeep(offset);
    node->children = std::move(children);
    return node;
  }

  NodePtr TooDeep(int32_t offset) {
    return Fail(offset, "expression nested too deeply (the limit is " +
                            std::to_string(limits_.max_depth) + " levels)");
  }

  NodePtr Binary(NodeKind kind, Op op, int32_t offset, NodePtr left, NodePtr right) {
    std::vector<NodePtr> children;
    children.push_back(std::move(left));
    children.push_back(std::move(right));
    auto node = Make(kind, offset, std::move(children));
    if (node) node->op = op;
    return node;
  }

  // Counts recursion so nested parentheses and unary chains cannot exhaust the stack.
  struct DepthGuard {
    explicit DepthGuard(int* depth) : depth_(depth) { ++*depth_; }
    ~DepthGuard() { --*depth_; }
    int* depth_;
  };

  NodePtr ParseExpr() {
    DepthGuard guard(&recursion_);
    if (recursion_ > limits_.max_depth) return TooDeep(Peek().offset);
    auto cond = ParseOr();
    if (!cond) return nullptr;
    if (!Is(Tok::kQuestion)) return cond;
    int32_t offset = Advance().offset;
    auto yes = ParseOr();
    if (!yes) return nullptr;
    if (!Expect(Tok::kColon, "':'")) return nullptr;
    auto no = ParseExpr();
    if (!no) return nullptr;
    std::vector<NodePtr> children;
    children.push_back(std::move(cond));
    children.push_back(std::move(yes));
    children.push_back(std::move(no));
    return Make(NodeKind::kTernary, offset, std::move(children));
  }

  NodePtr ParseOr() {
    auto left = ParseAnd();
    while (left && Is(Tok::kOr)) {
      int32_t offset = Advance().offset;
      auto right = ParseAnd();
      if (!right) return nullptr;
      left = Binary(NodeKind::kOr, Op::kNone, offset, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseAnd() {
    auto left = ParseRelation();
    while (left && Is(Tok::kAnd)) {
      int32_t offset = Advance().offset;
      auto right = ParseRelation();
      if (!right) return nullptr;
      left = Binary(NodeKind::kAnd, Op::kNone, offset, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseRelation() {
    auto left = ParseAddition();
    while (left) {
      Op op;
      switch (Peek().kind) {
        case Tok::kLt:
          op = Op::kLt;
          break;
        case Tok::kLe:
          op = Op::kLe;
          break;
        case Tok::kGt:
          op = Op::kGt;
          break;
        case Tok::kGe:
          op = Op::kGe;
          break;
        case Tok::kEq:
          op = Op::kEq;
          break;
        case Tok::kNe:
          op = Op::kNe;
          break;
        case Tok::kIn:
          op = Op::kIn;
          break;
        default:
          return left;
      }
      int32_t offset = Advance().offset;
      auto right = ParseAddition();
      if (!right) return nullptr;
      left = Binary(NodeKind::kBinary, op, offset, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseAddition() {
    auto left = ParseMultiplication();
    while (left && (Is(Tok::kPlus) || Is(Tok::kMinus))) {
      Op op = Is(Tok::kPlus) ? Op::kAdd : Op::kSub;
      int32_t offset = Advance().offset;
      auto right = ParseMultiplication();
      if (!right) return nullptr;
      left = Binary(NodeKind::kBinary, op, offset, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseMultiplication() {
    auto left = ParseUnary();
    while (left && (Is(Tok::kStar) || Is(Tok::kSlash) || Is(Tok::kPercent))) {
      Op op = Is(Tok::kStar) ? Op::kMul : Is(Tok::kSlash) ? Op::kDiv : Op::kMod;
      int32_t offset = Advance().offset;
      auto right = ParseUnary();
      if (!right) return nullptr;
      left = Binary(NodeKind::kBinary, op, offset, std::move(left), std::move(right));
    }
    return left;
  }

  NodePtr ParseUnary() {
    if (!Is(Tok::kBang) && !Is(Tok::kMinus)) return ParseMember();
    DepthGuard guard(&recursion_);
    if (recursion_ > limits_.max_depth) return TooDeep(Peek().offset);
    const Token& op_token = Advance();
    // "-<number>" not followed by a selection or index is a negative literal, which is how
    // -9223372036854775808 is written.
    if (op_token.kind == Tok::kMinus && (Is(Tok::kInt) || Is(Tok::kDouble)) &&
        Peek(1).kind != Tok::kDot && Peek(1).kind != Tok::kLBracket) {
      const Token& number = Advance();
      auto node = Make(NodeKind::kLiteral, op_token.offset);
      if (!node) return nullptr;
      if (number.kind == Tok::kDouble) {
        node->literal = Value::Double(-number.double_value);
      } else if (number.int_value > static_cast<uint64_t>(INT64_MAX) + 1) {
        return Fail(number.offset, "integer literal out of range");
      } else {
        node->literal = Value::Int(static_cast<int64_t>(0 - number.int_value));
      }
      return node;
    }
    auto operand = ParseUnary();
    if (!operand) return nullptr;
    std::vector<NodePtr> children;
    children.push_back(std::move(operand));
    auto node = Make(NodeKind::kUnary, op_token.offset, std::move(children));
    if (node) node->op = op_token.kind == Tok::kBang ? Op::kNot : Op::kNeg;
    return node;
  }

  bool ParseArgs(std::vector<NodePtr>* args) {
    // The '(' has been consumed.
    if (Is(Tok::kRParen)) {
      Advance();
      return true;
    }
    while (true) {
      auto arg = ParseExpr();
      if (!arg) return false;
      args->push_back(std::move(arg));
      if (Is(Tok::kComma)) {
        Advance();
        continue;
      }
      return Expect(Tok::kRParen, "',' or ')'");
    }
  }

  NodePtr ParseMember() {
    auto node = ParsePrimary();
    while (node) {
      if (Is(Tok::kDot)) {
        Advance();
        if (!Is(Tok::kIdent)) return Unexpected(Peek(), "a field or method name after '.'");
        const Token& name = Advance();
        if (Is(Tok::kLParen)) {
          Advance();
          std::vector<NodePtr> args;
          if (!ParseArgs(&args)) return nullptr;
          node = MemberCall(std::move(node), name, std::move(args));
        } else {
          std::vector<NodePtr> children;
          children.push_back(std::move(node));
          node = Make(NodeKind::kSelect, name.offset, std::move(children));
          if (node) node->name = name.text;
        }
      } else if (Is(Tok::kLBracket)) {
        int32_t offset = Advance().offset;
        auto index = ParseExpr();
        if (!index) return nullptr;
        if (!Expect(Tok::kRBracket, "']'")) return nullptr;
        node = Binary(NodeKind::kIndex, Op::kNone, offset, std::move(node), std::move(index));
      } else {
        break;
      }
    }
    return node;
  }

  NodePtr MemberCall(NodePtr target, const Token& name, std::vector<NodePtr> args) {
    const std::string& fn = name.text;
    Macro macro;
    size_t min_args = 2, max_args = 2;
    if (fn == "all") {
      macro = Macro::kAll;
    } else if (fn == "exists") {
      macro = Macro::kExists;
    } else if (fn == "exists_one") {
      macro = Macro::kExistsOne;
    } else if (fn == "filter") {
      macro = Macro::kFilter;
    } else if (fn == "map") {
      macro = Macro::kMap;
      max_args = 3;
    } else {
      std::vector<NodePtr> children;
      children.push_back(std::move(target));
      for (auto& a : args) children.push_back(std::move(a));
      auto node = Make(NodeKind::kCall, name.offset, std::move(children));
      if (node) {
        node->name = fn;
        node->member_call = true;
      }
      return node;
    }
    if (args.size() < min_args || args.size() > max_args) {
      return Fail(name.offset, fn + "() takes " +
                                   (max_args == 3 ? std::string("2 or 3") : std::string("2")) +
                                   " arguments: a variable name and an expression");
    }
    if (args[0]->kind != NodeKind::kIdent) {
      return Fail(args[0]->offset, fn + "(): the first argument must be a variable name");
    }
    std::string var = args[0]->name;
    std::vector<NodePtr> children;
    children.push_back(std::move(target));
    for (size_t i = 1; i < args.size(); ++i) children.push_back(std::move(args[i]));
    auto node = Make(NodeKind::kComprehension, name.offset, std::move(children));
    if (node) {
      node->macro = macro;
      node->name = var;
    }
    return node;
  }

  NodePtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kInt: {
        Advance();
        if (t.int_value > static_cast<uint64_t>(INT64_MAX)) {
          return Fail(t.offset, "integer literal out of range");
        }
        auto node = Make(NodeKind::kLiteral, t.offset);
        if (node) node->literal = Value::Int(static_cast<int64_t>(t.int_value));
        return node;
      }
      case Tok::kDouble: {
        Advance();
        auto node = Make(NodeKind::kLiteral, t.offset);
        if (node) node->literal = Value::Double(t.double_value);
        return node;
      }
      case Tok::kString: {
        Advance();
        auto node = Make(NodeKind::kLiteral, t.offset);
        if (node) node->literal = Value::String(t.text);
        return node;
      }
      case Tok::kTrue:
      case Tok::kFalse: {
        Advance();
        auto node = Make(NodeKind::kLiteral, t.offset);
        if (node) node->literal = Value::Bool(t.kind == Tok::kTrue);
        return node;
      }
      case Tok::kNull: {
        Advance();
        return Make(NodeKind::kLiteral, t.offset);
      }
      case Tok::kIdent: {
        Advance();
        if (!Is(Tok::kLParen)) {
          auto node = Make(NodeKind::kIdent, t.offset);
          if (node) node->name = t.text;
          return node;
        }
        Advance();
        std::vector<NodePtr> args;
        if (!ParseArgs(&args)) return nullptr;
        if (t.text == "has") return Has(t, std::move(args));
        if (t.text == "all" || t.text == "exists" || t.text == "exists_one" || t.text == "map" ||
            t.text == "filter") {
          return Fail(t.offset, t.text + "() is a method of lists and maps: write list." + t.text +
                                    "(x, ...)");
        }
        auto node = Make(NodeKind::kCall, t.offset, std::move(args));
        if (node) node->name = t.text;
        return node;
      }
      case Tok::kLParen: {
        Advance();
        auto inner = ParseExpr();
        if (!inner) return nullptr;
        if (!Expect(Tok::kRParen, "')'")) return nullptr;
        return inner;
      }
      case Tok::kLBracket:
        return ParseList();
      case Tok::kLBrace:
        return ParseMap();
      default:
        return Unexpected(t, "");
    }
  }

  NodePtr Has(const Token& name, std::vector<NodePtr> args) {
    if (args.size() != 1 || args[0]->kind != NodeKind::kSelect) {
      return Fail(name.offset, "has() takes one field selection, such as has(a.b)");
    }
    NodePtr select = std::move(args[0]);
    std::vector<NodePtr> children;
    children.push_back(std::move(select->children[0]));
    auto node = Make(NodeKind::kHas, name.offset, std::move(children));
    if (node) node->name = select->name;
    return node;
  }

  NodePtr ParseList() {
    int32_t offset = Advance().offset;
    std::vector<NodePtr> items;
    while (!Is(Tok::kRBracket)) {
      auto item = ParseExpr();
      if (!item) return nullptr;
      items.push_back(std::move(item));
      if (Is(Tok::kComma)) {
        Advance();
        continue;
      }
      if (!Is(Tok::kRBracket)) return Unexpected(Peek(), "',' or ']'");
    }
    Advance();
    return Make(NodeKind::kList, offset, std::move(items));
  }

  NodePtr ParseMap() {
    int32_t offset = Advance().offset;
    std::vector<NodePtr> items;
    while (!Is(Tok::kRBrace)) {
      auto key = ParseExpr();
      if (!key) return nullptr;
      if (!Expect(Tok::kColon, "':'")) return nullptr;
      auto value = ParseExpr();
      if (!value) return nullptr;
      items.push_back(std::move(key));
      items.push_back(std::move(value));
      if (Is(Tok::kComma)) {
        Advance();
        continue;
      }
      if (!Is(Tok::kRBrace)) return Unexpected(Peek(), "',' or '}'");
    }
    Advance();
    return Make(NodeKind::kMap, offset, std::move(items));
  }

  std::string_view src_;
  std::vector<Token> tokens_;
  ParseLimits limits_;
  size_t pos_ = 0;
  int recursion_ = 0;
  int node_count_ = 0;
  bool failed_ = false;
  Diagnostic error_;
};

}  // namespace

bool IsReservedWord(std::string_view word) {
  static constexpr std::string_view kReserved[] = {
      "true",     "false",   "null",      "in",       "as",  "break",  "const",
      "continue", "else",    "for",       "function", "if",  "import", "let",
      "loop",     "package", "namespace", "return",   "var", "void",   "while"};
  for (std::string_view r : kReserved) {
    if (r == word) return true;
  }
  return false;
}

bool IsIdentifier(std::string_view name) {
  if (name.empty() || !IsIdentStart(name[0])) return false;
  for (char c : name) {
    if (!IsIdentChar(c)) return false;
  }
  return !IsReservedWord(name);
}

bool IsValidUtf8(std::string_view text, size_t* bad_offset) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      *bad_offset = i;
      return false;
    }
    if (i + n > text.size()) {
      *bad_offset = i;
      return false;
    }
    for (size_t k = 1; k < n; ++k) {
      unsigned char d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      *bad_offset = i;
      return false;
    }
    i += n;
  }
  return true;
}

std::unique_ptr<Node> Parse(std::string_view source, const ParseLimits& limits, Diagnostic* error) {
  if (source.size() > limits.max_source_bytes) {
    error->offset = 0;
    error->message = "expression too long (" + std::to_string(source.size()) +
                     " bytes; the limit is " + std::to_string(limits.max_source_bytes) + ")";
    return nullptr;
  }
  size_t bad = 0;
  if (!IsValidUtf8(source, &bad)) {
    error->offset = static_cast<int32_t>(bad);
    error->message = "invalid UTF-8";
    return nullptr;
  }
  std::vector<Token> tokens;
  if (!Lexer(source).Run(&tokens, error)) return nullptr;
  return Parser(source, std::move(tokens), limits).Run(error);
}

void LineAndColumn(std::string_view source, int32_t offset, int* line, int* column) {
  size_t end = std::min(static_cast<size_t>(std::max(offset, 0)), source.size());
  int l = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < end; ++i) {
    if (source[i] == '\n') {
      ++l;
      line_start = i + 1;
    }
  }
  int col = 1;
  for (size_t i = line_start; i < end; ++i) {
    if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) ++col;
  }
  *line = l;
  *column = col;
}

std::string FormatDiagnostic(std::string_view source, int32_t offset, std::string_view message) {
  int line, column;
  LineAndColumn(source, offset, &line, &column);
  std::string out =
      std::to_string(line) + ":" + std::to_string(column) + ": " + std::string(message);
  size_t at = std::min(static_cast<size_t>(std::max(offset, 0)), source.size());
  size_t line_start = at;
  while (line_start > 0 && source[line_start - 1] != '\n') --line_start;
  size_t line_end = source.find('\n', at);
  if (line_end == std::string_view::npos) line_end = source.size();
  // Split the line into characters so the caret lines up under multi-byte text; show a window of
  // at most 40 characters on either side of the column.
  std::vector<std::string> chars;
  size_t caret_index = 0;
  for (size_t i = line_start; i < line_end;) {
    if (i == at) caret_index = chars.size();
    size_t n = std::min(Utf8Length(source, i), line_end - i);
    unsigned char c = static_cast<unsigned char>(source[i]);
    chars.push_back(c < 0x20 || c == 0x7F ? std::string(" ") : std::string(source.substr(i, n)));
    i += n;
  }
  if (at >= line_end) caret_index = chars.size();
  size_t first = caret_index > 40 ? caret_index - 40 : 0;
  size_t last = std::min(chars.size(), caret_index + 40);
  std::string text = first > 0 ? "..." : "";
  size_t pad = first > 0 ? 3 : 0;
  for (size_t i = first; i < last; ++i) text += chars[i];
  if (last < chars.size()) text += "...";
  pad += caret_index - first;
  if (text.empty() && source.empty()) return out;
  out += "\n    " + text + "\n    " + std::string(pad, ' ') + "^";
  return out;
}

}  // namespace plinth::expr::internal
