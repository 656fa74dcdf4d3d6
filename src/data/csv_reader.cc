// Parsing runs in four steps over the whole input (memory-mapped for files):
//   1. the header record names the columns;
//   2. the body is cut into chunks of about CsvOptions::chunk_bytes that start at record
//      boundaries: each piece's count of quote characters gives the quote parity at every piece
//      start, and a chunk then starts after the first line break outside quotes in its piece;
//   3. pass 1 (parallel over chunks) checks every record (syntax, field count, UTF-8, forced
//      types), counts rows and infers each column's type per chunk; the types are joined across
//      chunks, and the earliest chunk's first error, if any, is reported;
//   4. pass 2 (parallel over chunks) converts every cell straight into the final column vectors,
//      at the chunk's row offset; string columns intern into per-chunk dictionaries that are then
//      merged in chunk order (so codes follow first appearance, as in a serial parse).
// Nothing but the final columns grows with the input, and mapped pages are released as each pass
// moves on, so peak memory is about the table's size. Pass 2 sees exactly the records pass 1
// checked, so it needs no checks of its own.
#include "data/csv_reader.h"

#include <fast_float/fast_float.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/files.h"
#include "table/string_index.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace plinth {
namespace {

// ---- type lattice ----

// The inferred type of a set of cells. kNull: no non-null cell yet. Int joins Float to Float; any
// other two different kinds join to String.
enum class Kind : uint8_t { kNull, kInt, kFloat, kBool, kTimestamp, kString };

Kind Join(Kind a, Kind b) {
  if (a == b || b == Kind::kNull) return a;
  if (a == Kind::kNull) return b;
  if ((a == Kind::kInt && b == Kind::kFloat) || (a == Kind::kFloat && b == Kind::kInt)) {
    return Kind::kFloat;
  }
  return Kind::kString;
}

ColumnType TypeOfKind(Kind k) {
  switch (k) {
    case Kind::kInt:
      return ColumnType::kInt64;
    case Kind::kFloat:
      return ColumnType::kFloat64;
    case Kind::kBool:
      return ColumnType::kBool;
    case Kind::kTimestamp:
      return ColumnType::kTimestamp;
    case Kind::kNull:
    case Kind::kString:
      return ColumnType::kString;
  }
  return ColumnType::kString;
}

// ---- cell parsers ----

// Decimal integer with optional sign, in int64 range.
inline bool ParseInt64(std::string_view s, int64_t* out) {
  const char* p = s.data();
  const char* e = p + s.size();
  if (p == e) return false;
  bool negative = false;
  if (*p == '-' || *p == '+') {
    negative = *p == '-';
    if (++p == e) return false;
  }
  while (e - p > 19 && *p == '0') ++p;
  if (e - p > 19) return false;
  uint64_t v = 0;  // at most 19 digits: cannot overflow
  for (; p < e; ++p) {
    unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9) return false;
    v = v * 10 + d;
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (v > kMax + 1) return false;
    *out = static_cast<int64_t>(~v + 1);
  } else {
    if (v > kMax) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// Decimal or exponent notation (fast_float: correctly rounded), inf, nan; optional sign.
inline bool ParseFloat64(std::string_view s, double* out) {
  const char* p = s.data();
  const char* e = p + s.size();
  if (p < e && *p == '+') {
    ++p;
    if (p < e && (*p == '-' || *p == '+')) return false;
  }
  if (p == e) return false;
  fast_float::from_chars_result r = fast_float::from_chars(p, e, *out);
  return r.ec == std::errc() && r.ptr == e;
}

inline bool ParseBool(std::string_view s, uint8_t* out) {
  auto lower_equals = [&](const char* word) {
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != word[i]) return false;
    }
    return true;
  };
  if (s.size() == 4 && lower_equals("true")) {
    *out = 1;
    return true;
  }
  if (s.size() == 5 && lower_equals("false")) {
    *out = 0;
    return true;
  }
  return false;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

inline bool Digits(std::string_view s, size_t pos, size_t count, int* out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  *out = v;
  return true;
}

// ISO 8601: YYYY-MM-DD, then optionally [T ]HH:MM[:SS[.fraction]] and Z or +-HH[[:]MM].
// Microseconds since the epoch, UTC.
bool ParseTimestamp(std::string_view s, int64_t* out) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  int year, month, day;
  if (!Digits(s, 0, 4, &year) || !Digits(s, 5, 2, &month) || !Digits(s, 8, 2, &day)) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  int64_t micros = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) *
                   int64_t{86400000000};
  size_t i = 10;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
    int hour, minute, second = 0;
    if (!Digits(s, i + 1, 2, &hour) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, &minute) || hour > 23 || minute > 59) {
      return false;
    }
    i += 6;
    int64_t fraction = 0;
    if (i < s.size() && s[i] == ':') {
      if (!Digits(s, i + 1, 2, &second) || second > 59) return false;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        size_t start = ++i;
        int64_t scale = 100000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          fraction += (s[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == start) return false;
      }
    }
    micros += (int64_t{hour} * 3600 + minute * 60 + second) * 1000000 + fraction;
    if (i < s.size()) {
      if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
        i += 1;
      } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        int oh, om = 0;
        if (!Digits(s, i + 1, 2, &oh) || oh > 23) return false;
        i += 3;
        if (i < s.size() && s[i] == ':') ++i;
        if (i < s.size()) {
          if (!Digits(s, i, 2, &om) || om > 59) return false;
          i += 2;
        }
        micros -= sign * (int64_t{oh} * 3600 + om * 60) * 1000000;
      }
      if (i != s.size()) return false;
    }
  }
  *out = micros;
  return true;
}

// The kind of one non-null cell.
Kind Classify(std::string_view s) {
  int64_t i;
  double d;
  uint8_t b;
  if (ParseInt64(s, &i)) return Kind::kInt;
  if (ParseFloat64(s, &d)) return Kind::kFloat;
  if (ParseBool(s, &b)) return Kind::kBool;
  if (ParseTimestamp(s, &i)) return Kind::kTimestamp;
  return Kind::kString;
}

// True if `s` is a value of kind `k` (an int is also a float).
bool Fits(Kind k, std::string_view s) {
  int64_t i;
  double d;
  uint8_t b;
  switch (k) {
    case Kind::kInt:
      return ParseInt64(s, &i);
    case Kind::kFloat:
      return ParseFloat64(s, &d);
    case Kind::kBool:
      return ParseBool(s, &b);
    case Kind::kTimestamp:
      return ParseTimestamp(s, &i);
    case Kind::kNull:
    case Kind::kString:
      return true;
  }
  return true;
}

Kind KindOfType(ColumnType t) {
  switch (t) {
    case ColumnType::kInt64:
      return Kind::kInt;
    case ColumnType::kFloat64:
      return Kind::kFloat;
    case ColumnType::kBool:
      return Kind::kBool;
    case ColumnType::kTimestamp:
      return Kind::kTimestamp;
    case ColumnType::kString:
      return Kind::kString;
  }
  return Kind::kString;
}

// ---- bytes ----

inline bool IsAscii(const char* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc |= w;
  }
  for (; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
  return (acc & 0x8080808080808080ull) == 0;
}

// Offset of the first byte of the first invalid UTF-8 sequence in [p, p+n), or n if it is valid.
// Rejects overlong forms, surrogates and code points above U+10FFFF.
size_t Utf8ErrorOffset(const char* p, size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      if (c < 0xC2) return i;
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
    i += len;
  }
  return n;
}

size_t CountByte(const char* p, size_t n, char c) {
  size_t count = 0;
  size_t i = 0;
#ifdef __SSE2__
  const __m128i needle = _mm_set1_epi8(c);
  while (n - i >= 16) {
    __m128i acc = _mm_setzero_si128();
    size_t blocks = std::min<size_t>((n - i) / 16, 255);
    for (size_t k = 0; k < blocks; ++k, i += 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, needle));
    }
    __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    count += static_cast<size_t>(_mm_cvtsi128_si32(sums)) +
             static_cast<size_t>(_mm_extract_epi16(sums, 4));
  }
#endif
  for (; i < n; ++i) count += p[i] == c;
  return count;
}

// A cell for an error message: quoted, at most 40 characters, control bytes escaped.
std::string ShowCell(std::string_view s) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : s) {
    if (shown == 40) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
    ++shown;
  }
  return out + "\"";
}

std::string ShowChar(char c) {
  if (c == '\t') return "a tab";
  return ShowCell(std::string_view(&c, 1));
}

// Runs f(i) for i in [0, n) on up to `threads` threads (the caller's included).
template <typename F>
void ParallelFor(size_t n, int threads, F&& f) {
  size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

// ---- the parser ----

// A problem found while parsing; turned into a message with a line number only when reported.
struct CsvError {
  const char* pos = nullptr;  // byte the line number is taken from
  size_t column = 0;          // 1-based field number; 0 for record-level problems
  std::string what;
  const char* opened = nullptr;  // where the quoted field in question opened, if known
  bool set() const { return pos != nullptr; }
  void Set(const char* at, size_t col, std::string message) {
    pos = at;
    column = col;
    what = std::move(message);
  }
};

struct Chunk {
  Chunk(const char* b, const char* e) : begin(b), end(e) {}
  const char* begin = nullptr;
  const char* end = nullptr;
  // pass 1
  size_t rows = 0;
  std::vector<Kind> kinds;
  CsvError error;
  // pass 2
  size_t row_offset = 0;
  std::vector<std::vector<std::string>> dicts;  // per column; string columns only
  std::vector<StringIndex> indexes;
};

// A small direct-mapped cache in front of a chunk's StringIndex for cells of up to 16 bytes: a
// categorical column's few values then cost two loads and a compare instead of a hash lookup.
class InternCache {
 public:
  // Packs `v` (which must have 16 readable bytes from its start) into two zero-padded words;
  // false if it is longer than 16 bytes.
  static bool Key(std::string_view v, uint64_t* w0, uint64_t* w1) {
    const size_t n = v.size();
    if (n > 16) return false;
    std::memcpy(w0, v.data(), 8);
    std::memcpy(w1, v.data() + 8, 8);
    if (n < 8) {
      *w0 &= (uint64_t{1} << (8 * n)) - 1;
      *w1 = 0;
    } else if (n < 16) {
      *w1 &= (uint64_t{1} << (8 * (n - 8))) - 1;
    }
    return true;
  }
  // The cached code of the cell packed as (w0, w1) with n bytes, or nullptr.
  int32_t* Find(uint64_t w0, uint64_t w1, size_t n) {
    Entry& e = entries_[Slot(w0, w1, n)];
    return (e.len == n && e.w0 == w0 && e.w1 == w1) ? &e.code : nullptr;
  }
  void Put(uint64_t w0, uint64_t w1, size_t n, int32_t code) {
    entries_[Slot(w0, w1, n)] = Entry{w0, w1, static_cast<uint32_t>(n), code};
  }

 private:
  struct Entry {
    uint64_t w0 = 0, w1 = 0;
    uint32_t len = std::numeric_limits<uint32_t>::max();
    int32_t code = -1;
  };
  static size_t Slot(uint64_t w0, uint64_t w1, size_t n) {
    return static_cast<size_t>(((w0 ^ (w1 * 0x9E3779B97F4A7C15ull) ^ n) * 0xff51afd7ed558ccdull) >>
                               58);
  }
  Entry entries_[64];
};

// Where pass 2 writes one column.
struct Output {
  ColumnType type = ColumnType::kString;
  std::vector<uint8_t> valid;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  std::vector<uint8_t> bools;
  std::vector<int32_t> codes;
};

class Parser {
 public:
  Parser(std::string_view input, const CsvOptions& options, bool mapped)
      : input_(input), options_(options), mapped_(mapped) {}

  StatusOr<Table> Run();

 private:
  // Parses the record at p, calling on_field(column, value, field_start) for fields before
  // `limit`; on_field returns false after recording an error. Returns the position after the
  // record's line break (or the end of input) and sets *fields, or returns nullptr with *err set.
  template <bool kCheck, typename OnField>
  const char* ParseRecord(const char* p, size_t limit, OnField& on_field, size_t* fields,
                          CsvError* err, std::string& scratch) const;
  // Skips a blank line at p: returns the position after it, or p if the line is not blank.
  const char* SkipBlank(const char* p) const {
    if (p < end_ && *p == '\n') return p + 1;
    if (p + 1 < end_ && p[0] == '\r' && p[1] == '\n') return p + 2;
    return p;
  }
  bool IsNull(std::string_view v) const {
    if (v.size() < 64 ? ((null_lengths_ >> v.size()) & 1) == 0 : !long_null_token_) return false;
    for (const std::string& token : options_.null_values) {
      if (token.size() == v.size() && (v.empty() || (token[0] == v[0] && token == v))) return true;
    }
    return false;
  }
  Status CheckOptions();
  Status ParseHeader(const char** body);
  std::vector<Chunk> SplitChunks(const char* body);
  void Pass1(Chunk& chunk) const;
  Status Pass2(Chunk& chunk, std::vector<Output>& out) const;
  Status Report(const CsvError& e) const;
  // Gives the pages fully inside [b, e) back to the kernel (mapped files only). The passes release
  // what they have parsed every kReleaseBytes, so little of the file is resident at any time.
  void Release(const char* b, const char* e) const;
  static constexpr ptrdiff_t kReleaseBytes = ptrdiff_t{1} << 20;
  int Threads() const {
    if (options_.num_threads > 0) return options_.num_threads;
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  std::string_view input_;
  const CsvOptions& options_;
  bool mapped_;
  const char* end_ = nullptr;
  char delim_ = ',';
  char quote_ = '"';
  uint8_t stop_[256] = {};     // 1: delimiter, quote, CR or LF; 2: a byte >= 0x80
  uint64_t null_lengths_ = 0;  // bit n: some null token has n bytes
  bool long_null_token_ = false;
  std::vector<std::string> names_;
  std::vector<std::optional<Kind>> forced_;
};

Status Parser::CheckOptions() {
  delim_ = options_.delimiter;
  quote_ = options_.quote;
  for (char c : {delim_, quote_}) {
    if (c == '\n' || c == '\r' || static_cast<unsigned char>(c) >= 0x80) {
      return absl::InvalidArgumentError("CSV delimiter and quote must be ASCII, not a line break");
    }
  }
  if (delim_ == quote_) {
    return absl::InvalidArgumentError("CSV delimiter and quote must differ");
  }
  for (int c = 0x80; c < 256; ++c) stop_[c] = 2;
  for (char c : {delim_, quote_, '\n', '\r'}) stop_[static_cast<unsigned char>(c)] = 1;
  for (const std::string& token : options_.null_values) {
    if (token.size() < 64) {
      null_lengths_ |= uint64_t{1} << token.size();
    } else {
      long_null_token_ = true;
    }
  }
  return absl::OkStatus();
}

template <bool kCheck, typename OnField>
const char* Parser::ParseRecord(const char* p, size_t limit, OnField& on_field, size_t* fields,
                                CsvError* err, std::string& scratch) const {
  const char* const end = end_;
  size_t col = 0;
  while (true) {
    const char* field = p;
    std::string_view value;
    if (p < end && *p == quote_) {
      const char* content = p + 1;
      const char* q = content;
      bool escaped = false;
      while (true) {
        q = static_cast<const char*>(std::memchr(q, quote_, static_cast<size_t>(end - q)));
        if (q == nullptr) {
          err->Set(field, col + 1, "unterminated quoted field: no closing quote before the end");
          return nullptr;
        }
        if (q + 1 < end && q[1] == quote_) {
          escaped = true;
          q += 2;
          continue;
        }
        break;
      }
      const size_t n = static_cast<size_t>(q - content);
      if (kCheck && !IsAscii(content, n)) {
        size_t bad = Utf8ErrorOffset(content, n);
        if (bad < n) {
          err->Set(content + bad, col + 1, "invalid UTF-8");
          return nullptr;
        }
      }
      p = q + 1;
      if (p < end && *p != delim_ && *p != '\n' && !(*p == '\r' && p + 1 < end && p[1] == '\n')) {
        err->Set(p, col + 1,
                 "expected " + ShowChar(delim_) +
                     " or a line break after the closing quote, found " + ShowChar(*p));
        err->opened = field;
        return nullptr;
      }
      if (escaped) {
        scratch.clear();
        for (size_t i = 0; i < n; ++i) {
          scratch.push_back(content[i]);
          if (content[i] == quote_) ++i;
        }
        value = scratch;
      } else {
        value = std::string_view(content, n);
      }
    } else {
      bool high = false;
      while (true) {
        while (p < end && stop_[static_cast<unsigned char>(*p)] == 0) ++p;
        if (p == end) break;
        const char c = *p;
        if (c == delim_ || c == '\n') break;
        if (stop_[static_cast<unsigned char>(c)] == 2) {
          high = true;
        } else if (c == '\r') {
          if (p + 1 < end && p[1] == '\n') break;
        } else if (c == quote_) {
          err->Set(p, col + 1,
                   "unexpected quote inside an unquoted field (quote the whole field and double "
                   "the quotes in it)");
          return nullptr;
        }
        ++p;
      }
      value = std::string_view(field, static_cast<size_t>(p - field));
      if (kCheck && high) {
        size_t bad = Utf8ErrorOffset(value.data(), value.size());
        if (bad < value.size()) {
          err->Set(field + bad, col + 1, "invalid UTF-8");
          return nullptr;
        }
      }
    }
    if (col < limit && !on_field(col, value, field)) return nullptr;
    ++col;
    if (p == end) break;
    if (*p == delim_) {
      ++p;
      continue;
    }
    p += *p == '\n' ? 1 : 2;  // LF or CRLF
    break;
  }
  *fields = col;
  return p;
}

Status Parser::Report(const CsvError& e) const {
  auto line_of = [&](const char* at) {
    return 1 + CountByte(input_.data(), static_cast<size_t>(at - input_.data()), '\n');
  };
  const size_t line = line_of(e.pos);
  std::string where = "line " + std::to_string(line);
  if (e.column > 0) {
    where += ", column " + std::to_string(e.column);
    if (e.column <= names_.size()) where += " (" + ShowCell(names_[e.column - 1]) + ")";
  }
  std::string what = e.what;
  if (e.opened != nullptr && line_of(e.opened) != line) {
    what += " (the quoted field opened on line " + std::to_string(line_of(e.opened)) + ")";
  }
  return absl::InvalidArgumentError(where + ": " + what);
}

Status Parser::ParseHeader(const char** body) {
  const char* p = input_.data();
  if (input_.size() >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
  for (const char* next; p < end_ && (next = SkipBlank(p)) != p;) p = next;
  if (p == end_) return absl::InvalidArgumentError("empty CSV: no header record");
  std::vector<const char*> starts;
  auto on_name = [&](size_t, std::string_view v, const char* at) {
    names_.emplace_back(v);
    starts.push_back(at);
    return true;
  };
  CsvError err;
  size_t fields = 0;
  std::string scratch;
  const char* after =
      ParseRecord<true>(p, std::numeric_limits<size_t>::max(), on_name, &fields, &err, scratch);
  if (after == nullptr) return Report(err);
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i].empty()) {
      CsvError e;
      e.Set(starts[i], i + 1, "empty column name in the header");
      names_.clear();
      return Report(e);
    }
    auto [it, inserted] = seen.emplace(names_[i], i);
    if (!inserted) {
      CsvError e;
      e.Set(starts[i], i + 1,
            "duplicate column name (also column " + std::to_string(it->second + 1) + ")");
      return Report(e);
    }
  }
  forced_.assign(names_.size(), std::nullopt);
  for (const auto& [name, type] : options_.column_types) {
    auto it = seen.find(name);
    if (it == seen.end()) {
      return absl::InvalidArgumentError("column_types names " + ShowCell(name) +
                                        ", which is not a column of the CSV header");
    }
    forced_[it->second] = KindOfType(type);
  }
  *body = after;
  return absl::OkStatus();
}

void Parser::Release(const char* b, const char* e) const {
  if (!mapped_) return;
  static const uintptr_t kPage = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t lo = (reinterpret_cast<uintptr_t>(b) + kPage - 1) & ~(kPage - 1);
  uintptr_t hi = reinterpret_cast<uintptr_t>(e) & ~(kPage - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

std::vector<Chunk> Parser::SplitChunks(const char* body) {
  std::vector<Chunk> chunks;
  const size_t size = static_cast<size_t>(end_ - body);
  const size_t piece = std::max<size_t>(options_.chunk_bytes, 1);
  const size_t pieces = size == 0 ? 0 : (size + piece - 1) / piece;
  if (pieces <= 1) {
    if (size > 0) chunks.emplace_back(body, end_);
    return chunks;
  }
  // Quote parity at each piece start.
  std::vector<size_t> quotes(pieces);
  ParallelFor(pieces, Threads(), [&](size_t j) {
    const char* b = body + j * piece;
    const char* e = std::min(b + piece, end_);
    quotes[j] = CountByte(b, static_cast<size_t>(e - b), quote_);
    Release(b, e);
  });
  std::vector<const char*> starts = {body};
  bool inside = false;
  for (size_t j = 1; j < pieces; ++j) {
    inside ^= (quotes[j - 1] & 1) != 0;
    const char* s = body + j * piece;
    if (s < starts.back()) continue;  // the previous scan ran past this piece's start
    bool in = inside;
    const char* q = s;
    for (; q < end_; ++q) {
      if (*q == quote_) {
        in = !in;
      } else if (*q == '\n' && !in) {
        break;
      }
    }
    if (q >= end_) break;
    starts.push_back(q + 1);
  }
  starts.push_back(end_);
  for (size_t j = 0; j + 1 < starts.size(); ++j) {
    if (starts[j] < starts[j + 1]) chunks.emplace_back(starts[j], starts[j + 1]);
  }
  return chunks;
}

void Parser::Pass1(Chunk& chunk) const {
  const size_t ncols = names_.size();
  chunk.kinds.assign(ncols, Kind::kNull);
  Kind* kinds = chunk.kinds.data();
  CsvError* err = &chunk.error;
  auto on_field = [&](size_t col, std::string_view v, const char* at) -> bool {
    if (IsNull(v)) return true;
    if (forced_[col].has_value()) {
      if (Fits(*forced_[col], v)) return true;
      err->Set(at, col + 1,
               "expected " + ColumnTypeName(TypeOfKind(*forced_[col])) +
                   " (the type set for this "
                   "column), found " +
                   ShowCell(v));
      return false;
    }
    Kind& k = kinds[col];
    if (k == Kind::kString) return true;
    if (k == Kind::kNull) {
      k = Classify(v);
    } else if (!Fits(k, v)) {
      k = Join(k, Classify(v));
    }
    return true;
  };
  std::string scratch;
  const char* p = chunk.begin;
  const char* released = chunk.begin;
  size_t rows = 0;
  while (p < chunk.end) {
    if (p - released >= kReleaseBytes) {
      Release(released, p);
      released = p;
    }
    const char* next = SkipBlank(p);
    if (next != p) {
      p = next;
      continue;
    }
    size_t fields = 0;
    const char* record = p;
    p = ParseRecord<true>(p, ncols, on_field, &fields, err, scratch);
    if (p == nullptr) break;
    if (fields != ncols) {
      err->Set(record, 0,
               "expected " + std::to_string(ncols) + " fields, found " + std::to_string(fields));
      break;
    }
    ++rows;
  }
  if (!err->set() && p != chunk.end) {
    err->Set(chunk.end, 0, "a quoted field spans this line break but its quotes do not pair up");
  }
  chunk.rows = rows;
  Release(released, chunk.end);
}

Status Parser::Pass2(Chunk& chunk, std::vector<Output>& out) const {
  const size_t ncols = names_.size();
  chunk.dicts.resize(ncols);
  chunk.indexes.resize(ncols);
  size_t row = chunk.row_offset;
  bool ok = true;
  std::vector<std::unique_ptr<InternCache>> caches(ncols);
  // Cells that start before this have 16 readable bytes (for InternCache::Key).
  const char* const cache_limit = input_.size() >= 16 ? end_ - 16 : input_.data();
  auto on_field = [&](size_t col, std::string_view v, const char* at) -> bool {
    Output& o = out[col];
    if (IsNull(v)) {
      o.valid[row] = 0;
      if (o.type == ColumnType::kString) o.codes[row] = -1;
      return true;
    }
    o.valid[row] = 1;
    switch (o.type) {
      case ColumnType::kInt64:
        ok = ParseInt64(v, &o.ints[row]);
        break;
      case ColumnType::kFloat64:
        ok = ParseFloat64(v, &o.doubles[row]);
        break;
      case ColumnType::kBool:
        ok = ParseBool(v, &o.bools[row]);
        break;
      case ColumnType::kTimestamp:
        ok = ParseTimestamp(v, &o.ints[row]);
        break;
      case ColumnType::kString: {
        uint64_t w0, w1;
        const bool in_input = v.data() == at || v.data() == at + 1;  // not unescaped into scratch
        if (in_input && at < cache_limit && InternCache::Key(v, &w0, &w1)) {
          if (caches[col] == nullptr) caches[col] = std::make_unique<InternCache>();
          if (const int32_t* code = caches[col]->Find(w0, w1, v.size())) {
            o.codes[row] = *code;
            break;
          }
          o.codes[row] = chunk.indexes[col].Intern(v, chunk.dicts[col]);
          caches[col]->Put(w0, w1, v.size(), o.codes[row]);
        } else {
          o.codes[row] = chunk.indexes[col].Intern(v, chunk.dicts[col]);
        }
        break;
      }
    }
    return ok;
  };
  CsvError err;
  std::string scratch;
  const char* p = chunk.begin;
  const char* released = chunk.begin;
  while (p < chunk.end) {
    if (p - released >= kReleaseBytes) {
      Release(released, p);
      released = p;
    }
    const char* next = SkipBlank(p);
    if (next != p) {
      p = next;
      continue;
    }
    size_t fields = 0;
    p = ParseRecord<false>(p, ncols, on_field, &fields, &err, scratch);
    if (p == nullptr || fields != ncols) {
      return absl::InternalError("CSV pass 2 disagrees with pass 1 at row " + std::to_string(row));
    }
    ++row;
  }
  Release(released, chunk.end);
  if (row != chunk.row_offset + chunk.rows) {
    return absl::InternalError("CSV pass 2 found a different row count");
  }
  return absl::OkStatus();
}

StatusOr<Table> Parser::Run() {
  RETURN_IF_ERROR(CheckOptions());
  end_ = input_.data() + input_.size();
  const char* body = nullptr;
  RETURN_IF_ERROR(ParseHeader(&body));
  const size_t ncols = names_.size();
  std::vector<Chunk> chunks = SplitChunks(body);
  const int threads = Threads();

  // Pass 1: check and infer; skip chunks after one known to fail.
  std::atomic<size_t> first_error{std::numeric_limits<size_t>::max()};
  ParallelFor(chunks.size(), threads, [&](size_t j) {
    if (j > first_error.load(std::memory_order_relaxed)) return;
    Pass1(chunks[j]);
    if (chunks[j].error.set()) {
      size_t cur = first_error.load();
      while (j < cur && !first_error.compare_exchange_weak(cur, j)) {
      }
    }
  });
  for (const Chunk& chunk : chunks) {
    if (chunk.error.set()) return Report(chunk.error);
  }
  size_t rows = 0;
  std::vector<Kind> kinds(ncols, Kind::kNull);
  for (Chunk& chunk : chunks) {
    chunk.row_offset = rows;
    rows += chunk.rows;
    for (size_t c = 0; c < ncols; ++c) kinds[c] = Join(kinds[c], chunk.kinds[c]);
  }

  // Final vectors, allocated once at their exact size.
  std::vector<Output> out(ncols);
  ParallelFor(ncols, threads, [&](size_t c) {
    Output& o = out[c];
    o.type = forced_[c].has_value() ? TypeOfKind(*forced_[c]) : TypeOfKind(kinds[c]);
    o.valid.resize(rows);
    switch (o.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        o.ints.resize(rows);
        break;
      case ColumnType::kFloat64:
        o.doubles.resize(rows);
        break;
      case ColumnType::kBool:
        o.bools.resize(rows);
        break;
      case ColumnType::kString:
        o.codes.resize(rows);
        break;
    }
  });

  // Pass 2: convert.
  std::vector<Status> statuses(chunks.size());
  ParallelFor(chunks.size(), threads, [&](size_t j) { statuses[j] = Pass2(chunks[j], out); });
  for (const Status& s : statuses) RETURN_IF_ERROR(s);

  // Columns: strings merge their per-chunk dictionaries.
  std::vector<std::optional<Column>> columns(ncols);
  std::vector<Status> column_status(ncols);
  ParallelFor(ncols, threads, [&](size_t c) {
    Output& o = out[c];
    StatusOr<Column> column = absl::InternalError("unset");
    switch (o.type) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp:
        column = Column::FromInt64s(names_[c], o.type, std::move(o.ints), std::move(o.valid));
        break;
      case ColumnType::kFloat64:
        column = Column::FromFloat64s(names_[c], std::move(o.doubles), std::move(o.valid));
        break;
      case ColumnType::kBool:
        column = Column::FromBools(names_[c], std::move(o.bools), std::move(o.valid));
        break;
      case ColumnType::kString: {
        std::vector<std::string> dict;
        StringIndex index;
        std::vector<int32_t> remap;
        for (Chunk& chunk : chunks) {
          std::vector<std::string>& local = chunk.dicts[c];
          remap.resize(local.size());
          bool identity = true;
          for (size_t k = 0; k < local.size(); ++k) {
            remap[k] = index.Intern(local[k], dict);
            identity = identity && remap[k] == static_cast<int32_t>(k);
          }
          if (!identity) {
            int32_t* codes = o.codes.data() + chunk.row_offset;
            for (size_t r = 0; r < chunk.rows; ++r) {
              if (codes[r] >= 0) codes[r] = remap[codes[r]];
            }
          }
          std::vector<std::string>().swap(local);
          chunk.indexes[c].Clear();
        }
        column =
            Column::FromCodes(names_[c], std::move(o.codes), std::move(dict), std::move(o.valid));
        break;
      }
    }
    if (column.ok()) {
      columns[c].emplace(std::move(column).value());
    } else {
      column_status[c] = column.status();
    }
  });
  Table table;
  for (size_t c = 0; c < ncols; ++c) {
    RETURN_IF_ERROR(column_status[c]);
    RETURN_IF_ERROR(table.AddColumn(std::move(*columns[c])));
  }
  return table;
}

}  // namespace

StatusOr<Table> ReadCsvBuffer(std::string_view data, const CsvOptions& options) {
  Parser parser(data, options, /*mapped=*/false);
  return parser.Run();
}

StatusOr<Table> ReadCsv(const std::string& path, const CsvOptions& options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError("file not found: " + path);
    return absl::InternalError("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = absl::InternalError("cannot stat " + path + ": " + std::strerror(errno));
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {  // a pipe or device: read it whole
    ::close(fd);
    StatusOr<std::string> data = ReadFile(path);
    if (!data.ok()) return data.status();
    StatusOr<Table> table = ReadCsvBuffer(*data, options);
    if (!table.ok()) {
      return Status(table.status().code(), path + ": " + std::string(table.status().message()));
    }
    return table;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    return absl::InvalidArgumentError(path + ": empty CSV: no header record");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    return absl::InternalError("cannot map " + path + ": " + std::strerror(errno));
  }
  Parser parser(std::string_view(static_cast<const char*>(map), size), options, /*mapped=*/true);
  StatusOr<Table> table = parser.Run();
  ::munmap(map, size);
  if (!table.ok()) {
    return Status(table.status().code(), path + ": " + std::string(table.status().message()));
  }
  return table;
}

}  // namespace plinth
