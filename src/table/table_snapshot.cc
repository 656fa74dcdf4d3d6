#include "table/table_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"

namespace plinth {
namespace {

// "\x89PLTBL\r\n": a non-ASCII first byte and a CRLF catch text-mode transfers, like PNG's magic.
constexpr char kMagic[8] = {'\x89', 'P', 'L', 'T', 'B', 'L', '\r', '\n'};
constexpr size_t kHeaderSize = 28;  // magic, version, flags, rows, columns
constexpr size_t kChecksumSize = 32;
constexpr size_t kBufferSize = 1 << 16;

uint8_t TypeCode(ColumnType type) {
  switch (type) {
    case ColumnType::kInt64:
      return 0;
    case ColumnType::kFloat64:
      return 1;
    case ColumnType::kBool:
      return 2;
    case ColumnType::kString:
      return 3;
    case ColumnType::kTimestamp:
      return 4;
  }
  return 255;
}

std::optional<ColumnType> TypeFromCode(uint8_t code) {
  switch (code) {
    case 0:
      return ColumnType::kInt64;
    case 1:
      return ColumnType::kFloat64;
    case 2:
      return ColumnType::kBool;
    case 3:
      return ColumnType::kString;
    case 4:
      return ColumnType::kTimestamp;
  }
  return std::nullopt;
}

template <typename T>
void StoreLE(char* dst, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) dst[i] = static_cast<char>((u >> (8 * i)) & 0xff);
}

template <typename T>
T LoadLE(const char* src) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    u |= static_cast<U>(static_cast<uint8_t>(src[i])) << (8 * i);
  }
  return static_cast<T>(u);
}

// ---- writing ----

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(const char* data, size_t n) = 0;
};

class StringSink : public Sink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  Status Write(const char* data, size_t n) override {
    out_->append(data, n);
    return absl::OkStatus();
  }

 private:
  std::string* out_;
};

class StreamSink : public Sink {
 public:
  explicit StreamSink(std::ostream* out) : out_(out) {}
  Status Write(const char* data, size_t n) override {
    out_->write(data, static_cast<std::streamsize>(n));
    if (!*out_) return absl::InternalError("table snapshot: cannot write to the stream");
    return absl::OkStatus();
  }

 private:
  std::ostream* out_;
};

class FdSink : public Sink {
 public:
  FdSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Write(const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError("cannot write " + path_ + ": " + std::strerror(errno));
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
};

// Buffers, hashes and forwards bytes to a sink; the first sink error sticks.
class Writer {
 public:
  explicit Writer(Sink* sink) : sink_(sink) { buffer_.reserve(kBufferSize); }

  template <typename T>
  void Put(T v) {
    char b[sizeof(T)];
    StoreLE(b, v);
    Bytes(b, sizeof(T));
  }
  void Bytes(const char* data, size_t n) {
    while (n > 0) {
      size_t take = std::min(n, kBufferSize - buffer_.size());
      buffer_.append(data, take);
      data += take;
      n -= take;
      if (buffer_.size() == kBufferSize) Flush();
    }
  }
  void String(std::string_view s) {
    Put<uint32_t>(static_cast<uint32_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  // Appends `n` elements produced by get(i) (already converted to the wire type T).
  template <typename T, typename Get>
  void Array(size_t n, Get get) {
    char b[sizeof(T) * 512];
    for (size_t i = 0; i < n;) {
      size_t m = std::min<size_t>(512, n - i);
      for (size_t j = 0; j < m; ++j) StoreLE<T>(b + j * sizeof(T), get(i + j));
      Bytes(b, m * sizeof(T));
      i += m;
    }
  }
  // Packs bit(i) for i < n into bytes, LSB first, padding bits 0.
  template <typename Bit>
  void Bitmap(size_t n, Bit bit) {
    char b[512];
    size_t nbytes = (n + 7) / 8;
    for (size_t k = 0; k < nbytes;) {
      size_t m = std::min<size_t>(sizeof(b), nbytes - k);
      for (size_t j = 0; j < m; ++j) {
        uint8_t byte = 0;
        size_t base = (k + j) * 8;
        for (size_t t = 0; t < 8 && base + t < n; ++t) {
          if (bit(base + t)) byte |= static_cast<uint8_t>(1u << t);
        }
        b[j] = static_cast<char>(byte);
      }
      Bytes(b, m);
      k += m;
    }
  }
  // Flushes, then appends the checksum of everything written so far.
  Status Finish() {
    Flush();
    if (status_.ok()) {
      std::string digest = sha_.FinishRaw();
      status_ = sink_->Write(digest.data(), digest.size());
    }
    return status_;
  }

 private:
  void Flush() {
    if (buffer_.empty()) return;
    sha_.Update(buffer_.data(), buffer_.size());
    if (status_.ok()) status_ = sink_->Write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  Sink* sink_;
  std::string buffer_;
  Sha256 sha_;
  Status status_;
};

Status WriteTable(const Table& table, Sink* sink) {
  Writer w(sink);
  const size_t rows = table.num_rows();
  w.Bytes(kMagic, sizeof(kMagic));
  w.Put<uint32_t>(kTableSnapshotVersion);
  w.Put<uint32_t>(0);  // flags
  w.Put<uint64_t>(rows);
  w.Put<uint32_t>(static_cast<uint32_t>(table.num_columns()));
  for (const Column& c : table.columns()) {
    const std::vector<uint8_t>& valid = c.valid();
    w.String(c.name());
    w.Put<uint8_t>(TypeCode(c.type()));
    w.Bitmap(rows, [&](size_t i) { return valid[i] != 0; });
    switch (c.type()) {
      case ColumnType::kInt64:
      case ColumnType::kTimestamp: {
        const auto& v = c.int64s();
        w.Array<int64_t>(rows, [&](size_t i) { return valid[i] ? v[i] : int64_t{0}; });
        break;
      }
      case ColumnType::kFloat64: {
        const auto& v = c.float64s();
        w.Array<uint64_t>(
            rows, [&](size_t i) { return valid[i] ? std::bit_cast<uint64_t>(v[i]) : uint64_t{0}; });
        break;
      }
      case ColumnType::kBool: {
        const auto& v = c.bools();
        w.Bitmap(rows, [&](size_t i) { return valid[i] && v[i]; });
        break;
      }
      case ColumnType::kString: {
        const auto& dict = c.dictionary();
        w.Put<uint32_t>(static_cast<uint32_t>(dict.size()));
        for (const std::string& s : dict) w.String(s);
        const auto& codes = c.codes();
        w.Array<int32_t>(rows, [&](size_t i) { return valid[i] ? codes[i] : int32_t{-1}; });
        break;
      }
    }
  }
  return w.Finish();
}

// ---- reading ----

class Source {
 public:
  virtual ~Source() = default;
  // Reads up to n bytes; 0 only at the end of the input.
  virtual StatusOr<size_t> Read(char* dst, size_t n) = 0;
  // Bytes left, when the source knows it (lets readers size vectors exactly).
  virtual std::optional<uint64_t> Remaining() const = 0;
};

class MemorySource : public Source {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  StatusOr<size_t> Read(char* dst, size_t n) override {
    n = std::min(n, data_.size() - pos_);
    std::memcpy(dst, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  std::optional<uint64_t> Remaining() const override { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

class StreamSource : public Source {
 public:
  explicit StreamSource(std::istream* in) : in_(in) {}
  StatusOr<size_t> Read(char* dst, size_t n) override {
    in_->read(dst, static_cast<std::streamsize>(n));
    if (in_->bad()) return absl::InternalError("table snapshot: cannot read the stream");
    return static_cast<size_t>(in_->gcount());
  }
  std::optional<uint64_t> Remaining() const override { return std::nullopt; }

 private:
  std::istream* in_;
};

class FdSource : public Source {
 public:
  FdSource(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), remaining_(size) {}
  StatusOr<size_t> Read(char* dst, size_t n) override {
    while (true) {
      ssize_t r = ::read(fd_, dst, n);
      if (r < 0) {
        if (errno == EINTR) continue;
        return absl::InternalError("cannot read " + path_ + ": " + std::strerror(errno));
      }
      size_t got = static_cast<size_t>(r);
      remaining_ -= std::min<uint64_t>(remaining_, got);
      return got;
    }
  }
  std::optional<uint64_t> Remaining() const override { return remaining_; }

 private:
  int fd_;
  std::string path_;
  uint64_t remaining_;
};

Status Corrupt(const std::string& what) {
  return absl::DataLossError("corrupt table snapshot: " + what);
}

// Reads exact byte counts from a Source, hashing what it reads, with a small read-ahead buffer.
class Reader {
 public:
  Reader(Source* source, bool hash) : source_(source), hash_(hash) {}

  Status Bytes(char* dst, size_t n, const std::string& what) {
    while (n > 0) {
      if (pos_ == end_) RETURN_IF_ERROR(Fill(what));
      size_t take = std::min(n, end_ - pos_);
      std::memcpy(dst, buffer_ + pos_, take);
      pos_ += take;
      dst += take;
      n -= take;
    }
    return absl::OkStatus();
  }
  template <typename T>
  StatusOr<T> Get(const std::string& what) {
    char b[sizeof(T)];
    RETURN_IF_ERROR(Bytes(b, sizeof(T), what));
    return LoadLE<T>(b);
  }
  // Resizes `out` to `count` elements of `elem_size` wire bytes each and fills it through
  // decode(dst, src, n), growing as bytes arrive so a lying count cannot allocate ahead of the
  // data.
  template <typename T, typename Decode>
  Status Array(uint64_t count, size_t elem_size, std::vector<T>* out, const std::string& what,
               Decode decode) {
    out->clear();
    std::optional<uint64_t> left = Remaining();
    if (left.has_value()) {
      if (count > *left / elem_size) return Truncated(what);
      out->reserve(count);
    }
    char b[kBufferSize];
    const size_t per_block = kBufferSize / elem_size;
    while (out->size() < count) {
      size_t m = static_cast<size_t>(std::min<uint64_t>(per_block, count - out->size()));
      RETURN_IF_ERROR(Bytes(b, m * elem_size, what));
      size_t old = out->size();
      out->resize(old + m);
      decode(out->data() + old, b, m);
    }
    return absl::OkStatus();
  }
  StatusOr<std::string> String(const std::string& what) {
    ASSIGN_OR_RETURN(uint32_t n, Get<uint32_t>(what));
    std::optional<uint64_t> left = Remaining();
    if (left.has_value() && n > *left) return Truncated(what);
    std::string s;
    while (s.size() < n) {
      size_t m = std::min<size_t>(kBufferSize, n - s.size());
      size_t old = s.size();
      s.resize(old + m);
      RETURN_IF_ERROR(Bytes(s.data() + old, m, what));
    }
    return s;
  }
  // The digest of everything read so far.
  std::string Digest() {
    if (hashed_ < pos_) sha_.Update(buffer_ + hashed_, pos_ - hashed_);
    hashed_ = pos_;
    hash_ = false;
    return sha_.FinishRaw();
  }
  // True if the input has no byte left.
  StatusOr<bool> AtEnd() {
    if (pos_ < end_) return false;
    ASSIGN_OR_RETURN(size_t n, source_->Read(buffer_, 1));
    return n == 0;
  }

 private:
  std::optional<uint64_t> Remaining() const {
    std::optional<uint64_t> r = source_->Remaining();
    if (r.has_value()) *r += end_ - pos_;
    return r;
  }
  Status Truncated(const std::string& what) {
    return absl::DataLossError("table snapshot truncated: input ends inside " + what);
  }
  Status Fill(const std::string& what) {
    if (hash_ && hashed_ < end_) sha_.Update(buffer_ + hashed_, end_ - hashed_);
    pos_ = end_ = hashed_ = 0;
    ASSIGN_OR_RETURN(size_t n, source_->Read(buffer_, sizeof(buffer_)));
    if (n == 0) return Truncated(what);
    end_ = n;
    return absl::OkStatus();
  }

  Source* source_;
  bool hash_;
  Sha256 sha_;
  char buffer_[kBufferSize];
  size_t pos_ = 0, end_ = 0, hashed_ = 0;
};

// Expands a bitmap of `rows` bits into one byte per row; DataLoss if padding bits are set.
Status ReadBitmap(Reader& r, uint64_t rows, std::vector<uint8_t>* out, const std::string& what) {
  std::vector<uint8_t> packed;
  RETURN_IF_ERROR(
      r.Array<uint8_t>((rows + 7) / 8, 1, &packed, what,
                       [](uint8_t* dst, const char* src, size_t n) { std::memcpy(dst, src, n); }));
  if (rows % 8 != 0 && (packed.back() >> (rows % 8)) != 0) {
    return Corrupt(what + " has padding bits set");
  }
  out->resize(rows);
  for (uint64_t i = 0; i < rows; ++i) (*out)[i] = (packed[i / 8] >> (i % 8)) & 1;
  return absl::OkStatus();
}

template <typename T>
Status CheckNullsDefault(const std::vector<T>& values, const std::vector<uint8_t>& valid, T def,
                         const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!valid[i] && std::memcmp(&values[i], &def, sizeof(T)) != 0) {
      return Corrupt(what + ": null row " + std::to_string(i) + " holds a value");
    }
  }
  return absl::OkStatus();
}

StatusOr<Column> ReadColumn(Reader& r, uint64_t rows, uint32_t index) {
  const std::string at = "column " + std::to_string(index);
  ASSIGN_OR_RETURN(std::string name, r.String(at + " name"));
  const std::string what = at + " ('" + name + "')";
  ASSIGN_OR_RETURN(uint8_t type_code, r.Get<uint8_t>(what + " type"));
  std::optional<ColumnType> type = TypeFromCode(type_code);
  if (!type.has_value()) return Corrupt(what + " has unknown type " + std::to_string(type_code));
  std::vector<uint8_t> valid;
  RETURN_IF_ERROR(ReadBitmap(r, rows, &valid, what + " null bitmap"));
  StatusOr<Column> column = absl::InternalError("unreachable");
  switch (*type) {
    case ColumnType::kInt64:
    case ColumnType::kTimestamp: {
      std::vector<int64_t> v;
      RETURN_IF_ERROR(r.Array<int64_t>(rows, 8, &v, what + " values",
                                       [](int64_t* dst, const char* src, size_t n) {
                                         for (size_t i = 0; i < n; ++i) {
                                           dst[i] = LoadLE<int64_t>(src + 8 * i);
                                         }
                                       }));
      RETURN_IF_ERROR(CheckNullsDefault<int64_t>(v, valid, 0, what));
      column = Column::FromInt64s(name, *type, std::move(v), std::move(valid));
      break;
    }
    case ColumnType::kFloat64: {
      std::vector<double> v;
      RETURN_IF_ERROR(r.Array<double>(
          rows, 8, &v, what + " values", [](double* dst, const char* src, size_t n) {
            for (size_t i = 0; i < n; ++i) {
              dst[i] = std::bit_cast<double>(LoadLE<uint64_t>(src + 8 * i));
            }
          }));
      RETURN_IF_ERROR(CheckNullsDefault<double>(v, valid, 0.0, what));
      column = Column::FromFloat64s(name, std::move(v), std::move(valid));
      break;
    }
    case ColumnType::kBool: {
      std::vector<uint8_t> v;
      RETURN_IF_ERROR(ReadBitmap(r, rows, &v, what + " values"));
      RETURN_IF_ERROR(CheckNullsDefault<uint8_t>(v, valid, 0, what));
      column = Column::FromBools(name, std::move(v), std::move(valid));
      break;
    }
    case ColumnType::kString: {
      ASSIGN_OR_RETURN(uint32_t dict_size, r.Get<uint32_t>(what + " dictionary size"));
      std::vector<std::string> dict;
      for (uint32_t i = 0; i < dict_size; ++i) {
        ASSIGN_OR_RETURN(std::string s, r.String(what + " dictionary"));
        dict.push_back(std::move(s));
      }
      std::vector<int32_t> codes;
      RETURN_IF_ERROR(r.Array<int32_t>(rows, 4, &codes, what + " codes",
                                       [](int32_t* dst, const char* src, size_t n) {
                                         for (size_t i = 0; i < n; ++i) {
                                           dst[i] = LoadLE<int32_t>(src + 4 * i);
                                         }
                                       }));
      RETURN_IF_ERROR(CheckNullsDefault<int32_t>(codes, valid, -1, what));
      column = Column::FromCodes(name, std::move(codes), std::move(dict), std::move(valid));
      break;
    }
  }
  if (!column.ok()) return Corrupt(std::string(column.status().message()));
  return column;
}

// Checks the fixed header; InvalidArgument for foreign input or an unknown version or flags.
Status CheckHeader(const char* h) {
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError("not a Plinth table snapshot (bad magic bytes)");
  }
  uint32_t version = LoadLE<uint32_t>(h + 8);
  if (version != kTableSnapshotVersion) {
    return absl::InvalidArgumentError("unsupported table snapshot version " +
                                      std::to_string(version) + " (this reader knows version " +
                                      std::to_string(kTableSnapshotVersion) + ")");
  }
  uint32_t flags = LoadLE<uint32_t>(h + 12);
  if (flags != 0) {
    return absl::InvalidArgumentError("unsupported table snapshot flags " + std::to_string(flags));
  }
  return absl::OkStatus();
}

StatusOr<Table> ReadTable(Source* source, bool verify_checksum) {
  auto reader = std::make_unique<Reader>(source, verify_checksum);
  Reader& r = *reader;
  char header[kHeaderSize];
  Status s = r.Bytes(header, sizeof(kMagic), "the header");
  if (!s.ok()) {
    return absl::InvalidArgumentError("not a Plinth table snapshot (shorter than its magic bytes)");
  }
  RETURN_IF_ERROR(r.Bytes(header + sizeof(kMagic), 8, "the header"));
  RETURN_IF_ERROR(CheckHeader(header));
  ASSIGN_OR_RETURN(uint64_t rows, r.Get<uint64_t>("the header"));
  ASSIGN_OR_RETURN(uint32_t num_columns, r.Get<uint32_t>("the header"));
  if (num_columns == 0 && rows != 0) return Corrupt(std::to_string(rows) + " rows but no column");
  Table table;
  for (uint32_t i = 0; i < num_columns; ++i) {
    ASSIGN_OR_RETURN(Column column, ReadColumn(r, rows, i));
    Status added = table.AddColumn(std::move(column));
    if (!added.ok()) return Corrupt(std::string(added.message()));
  }
  std::string digest = verify_checksum ? r.Digest() : std::string();
  char stored[kChecksumSize];
  RETURN_IF_ERROR(r.Bytes(stored, sizeof(stored), "the checksum"));
  if (verify_checksum && std::memcmp(stored, digest.data(), kChecksumSize) != 0) {
    return absl::DataLossError("table snapshot checksum mismatch: the bytes are corrupt");
  }
  ASSIGN_OR_RETURN(bool at_end, r.AtEnd());
  if (!at_end) return Corrupt("bytes after the checksum");
  return table;
}

}  // namespace

std::string TableToSnapshot(const Table& table) {
  std::string out;
  StringSink sink(&out);
  Status s = WriteTable(table, &sink);
  assert(s.ok());
  return out;
}

Status WriteTableSnapshot(const Table& table, std::ostream& out) {
  StreamSink sink(&out);
  RETURN_IF_ERROR(WriteTable(table, &sink));
  out.flush();
  if (!out) return absl::InternalError("table snapshot: cannot flush the stream");
  return absl::OkStatus();
}

Status WriteTableSnapshotFile(const Table& table, const std::string& path) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? "." : target.parent_path().string();
  std::string tmp = dir + "/." + target.filename().string() + ".tmp-" + RandomHex(8);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError("cannot create " + tmp + ": " + std::strerror(errno));
  FdSink sink(fd, tmp);
  Status s = WriteTable(table, &sink);
  if (s.ok() && ::fsync(fd) != 0) {
    s = absl::InternalError("cannot fsync " + tmp + ": " + std::strerror(errno));
  }
  if (::close(fd) != 0 && s.ok()) {
    s = absl::InternalError("cannot close " + tmp + ": " + std::strerror(errno));
  }
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = absl::InternalError("cannot rename to " + path + ": " + std::strerror(errno));
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(dir);
}

StatusOr<Table> TableFromSnapshot(std::string_view bytes) {
  if (bytes.size() >= 16) RETURN_IF_ERROR(CheckHeader(bytes.data()));
  if (bytes.size() < kHeaderSize + kChecksumSize) {
    if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
      return absl::InvalidArgumentError("not a Plinth table snapshot");
    }
    return absl::DataLossError("table snapshot truncated: " + std::to_string(bytes.size()) +
                               " bytes");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kChecksumSize);
  Sha256 sha;
  sha.Update(body);
  if (sha.FinishRaw() != bytes.substr(body.size())) {
    return absl::DataLossError(
        "table snapshot checksum mismatch: the bytes are corrupt or truncated");
  }
  MemorySource source(bytes);
  return ReadTable(&source, /*verify_checksum=*/false);
}

StatusOr<Table> ReadTableSnapshot(std::istream& in) {
  StreamSource source(&in);
  return ReadTable(&source, /*verify_checksum=*/true);
}

StatusOr<Table> ReadTableSnapshotFile(const std::string& path) {
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
  FdSource source(fd, path, static_cast<uint64_t>(st.st_size));
  StatusOr<Table> table = ReadTable(&source, /*verify_checksum=*/true);
  ::close(fd);
  return table;
}

}  // namespace plinth
