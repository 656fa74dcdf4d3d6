#include "serve/decision_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "core/files.h"

namespace plinth {

// A segment file mapped for appending. `used`, `records`, `min_time`, `max_time` and
// `first_append` change only under DecisionLog::mu_ while the segment is current; `writers` counts
// copies in progress, so a retired segment is unmapped only once they are done.
struct DecisionLog::Segment {
  std::string path;
  int64_t start = 0;
  int64_t seq = 0;
  int fd = -1;
  char* base = nullptr;
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint64_t records = 0;
  int64_t min_time = 0;
  int64_t max_time = 0;
  int64_t first_append = 0;
  uint64_t synced = 0;  // bytes known to be on disk; guarded by maint_mu_
  std::atomic<int> writers{0};

  ~Segment() {
    if (base != nullptr) ::munmap(base, capacity);
    if (fd >= 0) ::close(fd);
  }
};

namespace {

constexpr std::string_view kPrefix = "decisions-";
constexpr std::string_view kSuffix = ".jsonl";
constexpr size_t kTimeDigits = 19;  // every non-negative int64
constexpr size_t kSeqDigits = 6;
constexpr char kLockName[] = ".decisions.lock";
// 10000-01-01T00:00:00Z: FormatTime writes four-digit years only.
constexpr int64_t kTimeLimit = 253402300800000000;

Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

// ---------------------------------------------------------------------------------------------
// Records and lines.

// A JSON string. Plain ASCII (the usual id, name or digest) is copied as is; anything else goes
// through nlohmann's writer, which escapes and replaces bytes that are not UTF-8 by U+FFFD.
void AppendJsonString(std::string_view s, std::string* out) {
  bool plain = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    out->push_back('"');
    out->append(s);
    out->push_back('"');
  } else {
    out->append(DumpJson(Json(std::string(s))));
  }
}

// Finite doubles in their shortest round-trip form, with ".0" on whole numbers as nlohmann writes
// them, so that they read back as floating point.
void AppendDouble(double d, std::string* out) {
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  std::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  out->append(text);
  if (text.find_first_of(".e") == std::string_view::npos) out->append(".0");
}

// `value` as compact JSON, several times faster than nlohmann's writer (which would otherwise be
// most of an Append). InvalidArgument for NaN, infinities and values that are not JSON, which
// could not be read back.
Status AppendJson(const Json& value, const char* field, std::string* out) {
  char buf[24];
  switch (value.type()) {
    case Json::value_t::null:
      out->append("null");
      return absl::OkStatus();
    case Json::value_t::boolean:
      out->append(value.get<bool>() ? "true" : "false");
      return absl::OkStatus();
    case Json::value_t::number_integer: {
      auto res = std::to_chars(buf, buf + sizeof(buf), value.get<int64_t>());
      out->append(buf, res.ptr);
      return absl::OkStatus();
    }
    case Json::value_t::number_unsigned: {
      auto res = std::to_chars(buf, buf + sizeof(buf), value.get<uint64_t>());
      out->append(buf, res.ptr);
      return absl::OkStatus();
    }
    case Json::value_t::number_float: {
      double d = value.get<double>();
      if (!std::isfinite(d)) {
        return absl::InvalidArgumentError(std::string("decision record: ") + field +
                                          " holds NaN or an infinity, which JSON cannot hold");
      }
      AppendDouble(d, out);
      return absl::OkStatus();
    }
    case Json::value_t::string:
      AppendJsonString(value.get_ref<const std::string&>(), out);
      return absl::OkStatus();
    case Json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const Json& item : value) {
        if (!first) out->push_back(',');
        first = false;
        RETURN_IF_ERROR(AppendJson(item, field, out));
      }
      out->push_back(']');
      return absl::OkStatus();
    }
    case Json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(key, out);
        out->push_back(':');
        RETURN_IF_ERROR(AppendJson(item, field, out));
      }
      out->push_back('}');
      return absl::OkStatus();
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  return absl::InvalidArgumentError(std::string("decision record: ") + field +
                                    " holds a value that is not JSON");
}

// RFC 3339 text of `micros`. The formatting of the whole seconds is kept per thread: records
// come in time order, many in the same second.
void AppendTime(int64_t micros, std::string* out) {
  thread_local int64_t cached_second = -1;
  thread_local std::string cached_prefix;  // "2026-11-26T15:04:05."
  const int64_t second = micros / 1000000;
  if (second != cached_second) {
    std::string full = FormatTime(second * 1000000);
    cached_prefix = full.substr(0, full.size() - 7);
    cached_second = second;
  }
  out->append(cached_prefix);
  char digits[6];
  int64_t fraction = micros % 1000000;
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + fraction % 10);
    fraction /= 10;
  }
  out->append(digits, sizeof(digits));
  out->push_back('Z');
}

// The start of every line written here: `{"id":<id>,"time":`. FindDecision matches it.
std::string LinePrefix(std::string_view id) {
  std::string out = "{\"id\":";
  AppendJsonString(id, &out);
  out.append(",\"time\":");
  return out;
}

Status SerializeLine(const DecisionRecord& r, std::string* out) {
  if (r.id.empty()) return absl::InvalidArgumentError("decision record: id is empty");
  if (r.time < 0 || r.time >= kTimeLimit) {
    return absl::InvalidArgumentError("decision record " + r.id + ": time " +
                                      std::to_string(r.time) +
                                      " is not microseconds since the epoch before year 10000");
  }
  if (!std::isfinite(r.latency_us)) {
    return absl::InvalidArgumentError("decision record " + r.id + ": latency_us is not finite");
  }
  out->append("{\"id\":");
  AppendJsonString(r.id, out);
  out->append(",\"time\":\"");
  AppendTime(r.time, out);
  out->append("\",\"environment\":");
  AppendJsonString(r.environment, out);
  out->append(",\"model\":");
  AppendJsonString(r.model, out);
  out->append(",\"version\":");
  out->append(std::to_string(r.version));
  out->append(",\"model_digest\":");
  AppendJsonString(r.model_digest, out);
  out->append(",\"input_digest\":");
  AppendJsonString(r.input_digest, out);
  out->append(",\"inputs\":");
  RETURN_IF_ERROR(AppendJson(r.inputs, "inputs", out));
  out->append(",\"output\":");
  RETURN_IF_ERROR(AppendJson(r.output, "output", out));
  out->append(",\"reasons\":");
  RETURN_IF_ERROR(AppendJson(r.reasons, "reasons", out));
  out->append(",\"latency_us\":");
  AppendDouble(r.latency_us, out);
  out->append(",\"route\":");
  AppendJsonString(r.route, out);
  out->append("}\n");
  return absl::OkStatus();
}

// The time of a line written by SerializeLine, read from its fixed start without parsing the
// rest; nullopt if the line does not start that way.
std::optional<int64_t> FastLineTime(std::string_view line) {
  constexpr std::string_view kHead = "{\"id\":\"";
  constexpr std::string_view kTime = ",\"time\":\"";
  if (!line.starts_with(kHead)) return std::nullopt;
  size_t i = kHead.size();
  while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
  if (i >= line.size()) return std::nullopt;
  ++i;
  if (line.substr(i, kTime.size()) != kTime) return std::nullopt;
  i += kTime.size();
  size_t end = line.find('"', i);
  if (end == std::string_view::npos) return std::nullopt;
  return ParseTime(line.substr(i, end - i));
}

StatusOr<DecisionRecord> ParseLine(std::string_view line) {
  ASSIGN_OR_RETURN(Json json, ParseJson(line));
  return DecisionRecordFromJson(json);
}

// A record's time: from the line's fixed start, or by parsing the whole line.
std::optional<int64_t> LineTime(std::string_view line) {
  if (auto t = FastLineTime(line)) return t;
  auto record = ParseLine(line);
  if (!record.ok()) return std::nullopt;
  return record->time;
}

// ---------------------------------------------------------------------------------------------
// Segment names.

struct SegmentName {
  int64_t start = 0;
  int64_t seq = 0;
  bool closed = false;  // closed segments carry the times of their oldest and newest record
  int64_t min_time = 0;
  int64_t max_time = 0;
};

std::string Padded(int64_t value, size_t width) {
  std::string s = std::to_string(value);
  if (s.size() < width) s.insert(0, width - s.size(), '0');
  return s;
}

std::string OpenName(int64_t start, int64_t seq) {
  return std::string(kPrefix) + Padded(start, kTimeDigits) + "-" + Padded(seq, kSeqDigits) +
         std::string(kSuffix);
}

std::string ClosedName(int64_t start, int64_t seq, int64_t min_time, int64_t max_time) {
  return std::string(kPrefix) + Padded(start, kTimeDigits) + "-" + Padded(seq, kSeqDigits) + "-" +
         Padded(min_time, kTimeDigits) + "-" + Padded(max_time, kTimeDigits) + std::string(kSuffix);
}

bool ParseDigits(std::string_view s, size_t width, int64_t* out) {
  if (s.size() != width) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::optional<SegmentName> ParseSegmentName(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  std::string_view body =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  std::vector<std::string_view> parts;
  while (true) {
    size_t dash = body.find('-');
    parts.push_back(body.substr(0, dash));
    if (dash == std::string_view::npos) break;
    body.remove_prefix(dash + 1);
  }
  SegmentName out;
  if (parts.size() != 2 && parts.size() != 4) return std::nullopt;
  if (!ParseDigits(parts[0], kTimeDigits, &out.start) ||
      !ParseDigits(parts[1], kSeqDigits, &out.seq)) {
    return std::nullopt;
  }
  if (parts.size() == 4) {
    out.closed = true;
    if (!ParseDigits(parts[2], kTimeDigits, &out.min_time) ||
        !ParseDigits(parts[3], kTimeDigits, &out.max_time) || out.min_time > out.max_time) {
      return std::nullopt;
    }
  }
  return out;
}

struct SegmentFile {
  std::string name;
  std::string path;
  SegmentName parsed;
};

// The folder's segment files in the order they were created. Hidden entries (the lock) are
// passed over; other entries that are not regular files with a segment name go to `ignored`.
StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir,
                                                std::vector<std::string>* ignored) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError("no decision records folder " + dir);
    return Errno("cannot list decision records folder", dir);
  }
  std::vector<SegmentFile> out;
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      if (errno != 0) {
        Status s = Errno("cannot list decision records folder", dir);
        ::closedir(d);
        return s;
      }
      break;
    }
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.') continue;
    std::string path = dir + "/" + name;
    auto parsed = ParseSegmentName(name);
    struct stat st;
    if (!parsed || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      if (ignored != nullptr) ignored->push_back(name);
      continue;
    }
    out.push_back({std::move(name), std::move(path), *parsed});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const SegmentFile& a, const SegmentFile& b) {
    return std::tie(a.parsed.start, a.parsed.seq, a.name) <
           std::tie(b.parsed.start, b.parsed.seq, b.name);
  });
  if (ignored != nullptr) std::sort(ignored->begin(), ignored->end());
  return out;
}

// Opens a segment for reading. A writer renames a segment when it closes it and deletes old
// ones, so a name listed a moment ago may be gone: the segment is then looked up again by its
// start and sequence number. Returns -1 (and no error) if it no longer exists.
StatusOr<int> OpenSegmentForRead(const std::string& dir, SegmentFile* file) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = ::open(file->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno != ENOENT) return Errno("cannot open decision segment", file->path);
    if (file->parsed.closed) return -1;  // closed segments are only ever deleted
    ASSIGN_OR_RETURN(std::vector<SegmentFile> now, ListSegments(dir, nullptr));
    auto it = std::find_if(now.begin(), now.end(), [&](const SegmentFile& f) {
      return f.parsed.start == file->parsed.start && f.parsed.seq == file->parsed.seq;
    });
    if (it == now.end()) return -1;
    *file = *it;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Reading lines.

// Reads a segment sequentially and yields its complete lines. Zero bytes are never part of a
// record (JSON escapes them), so they separate too: runs of zeros (the preallocated tail, or space
// reserved by a copy that never ran) are skipped, and the bytes between a zero and the next line
// end are a fragment of a torn copy, skipped and counted like an unterminated last line.
class LineScanner {
 public:
  LineScanner(int fd, std::string path) : fd_(fd), path_(std::move(path)), buf_(kChunk + 1) {}

  // The next complete line (without its "\n") and its offset in the file; false at the end. The
  // view is valid until the next call.
  StatusOr<bool> Next(std::string_view* line, uint64_t* offset) {
    while (true) {
      SkipZeros();
      if (pos_ == end_) {
        if (eof_) return false;
        RETURN_IF_ERROR(Fill());
        continue;
      }
      buf_[end_] = '\0';  // sentinel for strchrnul
      const char* start = buf_.data() + pos_;
      const char* stop = ::strchrnul(start, '\n');
      size_t at = static_cast<size_t>(stop - buf_.data());
      if (at == end_) {
        if (eof_) {
          ++fragments_;
          pos_ = end_;
          return false;
        }
        RETURN_IF_ERROR(Fill());
        continue;
      }
      if (*stop == '\n') {
        *line = std::string_view(start, at - pos_);
        *offset = base_ + pos_;
        last_line_end_ = base_ + at + 1;
        pos_ = at + 1;
        return true;
      }
      ++fragments_;  // bytes cut off by a zero
      pos_ = at;
    }
  }

  // Fragments met so far.
  uint64_t fragments() const { return fragments_; }
  // Offset just past the last complete line met so far.
  uint64_t last_line_end() const { return last_line_end_; }

 private:
  static constexpr size_t kChunk = 1 << 20;

  // A word at a time: an open segment is mostly its zero tail.
  void SkipZeros() {
    size_t p = pos_;
    while (p + 8 <= end_) {
      uint64_t word;
      std::memcpy(&word, buf_.data() + p, sizeof(word));
      if (word != 0) break;
      p += 8;
    }
    while (p < end_ && buf_[p] == '\0') ++p;
    pos_ = p;
  }

  // Keeps the unfinished line, growing the buffer if it fills it, and reads more.
  Status Fill() {
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      base_ += pos_;
      end_ -= pos_;
      pos_ = 0;
    }
    if (buf_.size() - 1 - end_ < kChunk / 2) buf_.resize(std::max(buf_.size() * 2, end_ + kChunk));
    while (true) {
      ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - 1 - end_);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno("cannot read decision segment", path_);
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
      return absl::OkStatus();
    }
  }

  int fd_;
  std::string path_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t base_ = 0;  // file offset of buf_[0]
  bool eof_ = false;
  uint64_t fragments_ = 0;
  uint64_t last_line_end_ = 0;
};

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// ---------------------------------------------------------------------------------------------
// Writing.

// Closes a segment left open by a process that died: cuts what follows its last complete line
// (zero tail, torn record), syncs it and renames it with its time bounds. A segment with no
// complete line is deleted. Returns whether it was kept.
StatusOr<bool> RecoverSegment(const std::string& dir, const SegmentFile& file) {
  int fd = ::open(file.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open decision segment", file.path);
  FdCloser closer(fd);
  LineScanner scanner(fd, file.path);
  uint64_t records = 0;
  int64_t min_time = std::numeric_limits<int64_t>::max();
  int64_t max_time = std::numeric_limits<int64_t>::min();
  std::string_view line;
  uint64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, scanner.Next(&line, &offset));
    if (!more) break;
    std::optional<int64_t> t = LineTime(line);
    if (!t || *t < 0 || *t >= kTimeLimit) continue;
    ++records;
    min_time = std::min(min_time, *t);
    max_time = std::max(max_time, *t);
  }
  const uint64_t keep = scanner.last_line_end();
  if (keep == 0) {
    if (::unlink(file.path.c_str()) != 0) return Errno("cannot delete empty segment", file.path);
    return false;
  }
  if (::ftruncate(fd, static_cast<off_t>(keep)) != 0) {
    return Errno("cannot truncate decision segment", file.path);
  }
  if (::fsync(fd) != 0) return Errno("cannot sync decision segment", file.path);
  if (records == 0) min_time = max_time = file.parsed.start;  // only lines that are not records
  std::string closed =
      dir + "/" + ClosedName(file.parsed.start, file.parsed.seq, min_time, max_time);
  if (::rename(file.path.c_str(), closed.c_str()) != 0) {
    return Errno("cannot rename decision segment", file.path);
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DecisionRecord <-> JSON.

Json DecisionRecordToJson(const DecisionRecord& r) {
  Json out = Json::object();
  out["id"] = r.id;
  out["time"] = FormatTime(r.time);
  out["environment"] = r.environment;
  out["model"] = r.model;
  out["version"] = r.version;
  out["model_digest"] = r.model_digest;
  out["input_digest"] = r.input_digest;
  out["inputs"] = r.inputs;
  out["output"] = r.output;
  out["reasons"] = r.reasons;
  out["latency_us"] = r.latency_us;
  out["route"] = r.route;
  return out;
}

StatusOr<DecisionRecord> DecisionRecordFromJson(const Json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("decision record: not a JSON object");
  auto member = [&](const char* key) -> StatusOr<const Json*> {
    auto it = json.find(key);
    if (it == json.end()) {
      return absl::InvalidArgumentError(std::string("decision record: \"") + key + "\" is missing");
    }
    return &*it;
  };
  auto string = [&](const char* key, std::string* out) -> Status {
    ASSIGN_OR_RETURN(const Json* v, member(key));
    if (!v->is_string()) {
      return absl::InvalidArgumentError(std::string("decision record: \"") + key +
                                        "\" must be a string");
    }
    *out = v->get<std::string>();
    return absl::OkStatus();
  };
  DecisionRecord r;
  RETURN_IF_ERROR(string("id", &r.id));
  std::string time;
  RETURN_IF_ERROR(string("time", &time));
  std::optional<int64_t> micros = ParseTime(time);
  if (!micros) {
    return absl::InvalidArgumentError(
        "decision record: \"time\" must be RFC 3339 UTC, like "
        "2026-11-26T15:04:05.123456Z; got \"" +
        time + "\"");
  }
  r.time = *micros;
  RETURN_IF_ERROR(string("environment", &r.environment));
  RETURN_IF_ERROR(string("model", &r.model));
  ASSIGN_OR_RETURN(const Json* version, member("version"));
  if (!version->is_number_integer() ||
      (version->is_number_unsigned() &&
       version->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
    return absl::InvalidArgumentError("decision record: \"version\" must be an integer");
  }
  r.version = version->get<int64_t>();
  RETURN_IF_ERROR(string("model_digest", &r.model_digest));
  RETURN_IF_ERROR(string("input_digest", &r.input_digest));
  ASSIGN_OR_RETURN(const Json* inputs, member("inputs"));
  r.inputs = *inputs;
  ASSIGN_OR_RETURN(const Json* output, member("output"));
  r.output = *output;
  ASSIGN_OR_RETURN(const Json* reasons, member("reasons"));
  r.reasons = *reasons;
  ASSIGN_OR_RETURN(const Json* latency, member("latency_us"));
  if (!latency->is_number()) {
    return absl::InvalidArgumentError("decision record: \"latency_us\" must be a number");
  }
  r.latency_us = latency->get<double>();
  RETURN_IF_ERROR(string("route", &r.route));
  return r;
}

StatusOr<std::string> DecisionRecordLine(const DecisionRecord& record) {
  std::string out;
  RETURN_IF_ERROR(SerializeLine(record, &out));
  return out;
}

// ---------------------------------------------------------------------------------------------
// DecisionLog.

DecisionLog::DecisionLog(DecisionLogOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock()) {}

StatusOr<std::unique_ptr<DecisionLog>> DecisionLog::Open(DecisionLogOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("decision log: dir is empty");
  if (options.segment_bytes < 4096 || options.segment_bytes > (uint64_t{1} << 40)) {
    return absl::InvalidArgumentError("decision log: segment_bytes must be between 4096 and 2^40");
  }
  if (options.rotate_interval_micros <= 0 || options.retention_micros <= 0 ||
      options.sync_interval_micros <= 0) {
    return absl::InvalidArgumentError(
        "decision log: rotate_interval_micros, retention_micros and sync_interval_micros must be "
        "positive");
  }
  std::unique_ptr<DecisionLog> log(new DecisionLog(std::move(options)));
  Status status = log->RecoverAndStart();
  if (!status.ok()) {
    log->Close().IgnoreError();
    return status;
  }
  return log;
}

Status DecisionLog::RecoverAndStart() {
  const std::string& dir = options_.dir;
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  const std::string lock_path = dir + "/" + kLockName;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return Errno("cannot open", lock_path);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError("decision records folder " + dir +
                                           " is being written by another log (" + lock_path +
                                           " is locked)");
    }
    return Errno("cannot lock", lock_path);
  }
  // With the lock held, a segment that is still open was left by a writer that died.
  ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir, nullptr));
  for (const SegmentFile& file : segments) {  // in name order: the last one is the newest
    last_start_ = file.parsed.start;
    last_seq_ = file.parsed.seq;
    if (file.parsed.closed) continue;
    ASSIGN_OR_RETURN(bool kept, RecoverSegment(dir, file));
    if (kept) ++recovered_;
  }
  RETURN_IF_ERROR(ApplyRetention());
  ASSIGN_OR_RETURN(current_, CreateSegment(clock_->NowMicros()));
  RETURN_IF_ERROR(SyncDirectory(dir));
  dir_dirty_ = false;
  bg_ = std::thread([this] { BackgroundLoop(); });
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<DecisionLog::Segment>> DecisionLog::CreateSegment(int64_t now) {
  // Names sort in creation order even if the clock steps back.
  const int64_t start = std::max<int64_t>({now, last_start_, 0});
  const int64_t seq = start == last_start_ ? last_seq_ + 1 : 0;
  auto segment = std::make_unique<Segment>();
  segment->path = options_.dir + "/" + OpenName(start, seq);
  segment->start = start;
  segment->seq = seq;
  segment->capacity = options_.segment_bytes;
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (segment->fd < 0) return Errno("cannot create decision segment", segment->path);
  auto fail = [&](const char* what) {
    Status s = Errno(what, segment->path);
    ::unlink(segment->path.c_str());
    return s;
  };
  if (::ftruncate(segment->fd, static_cast<off_t>(segment->capacity)) != 0) {
    return fail("cannot size decision segment");
  }
  // Reserving the blocks now means a full disk fails here, with an error, rather than as a
  // SIGBUS when a page of the mapping is first written. File systems without fallocate keep the
  // sparse file.
  if (::fallocate(segment->fd, 0, 0, static_cast<off_t>(segment->capacity)) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS) {
    return fail("cannot allocate decision segment");
  }
  void* base =
      ::mmap(nullptr, segment->capacity, PROT_READ | PROT_WRITE, MAP_SHARED, segment->fd, 0);
  if (base == MAP_FAILED) return fail("cannot map decision segment");
  segment->base = static_cast<char*>(base);
  last_start_ = start;
  last_seq_ = seq;
  ++segments_;
  dir_dirty_ = true;
  return segment;
}

Status DecisionLog::Append(const DecisionRecord& record) {
  thread_local std::string line;
  line.clear();
  RETURN_IF_ERROR(SerializeLine(record, &line));
  const uint64_t size = line.size();
  if (size > options_.segment_bytes) {
    return absl::InvalidArgumentError("decision record " + record.id + " takes " +
                                      std::to_string(size) +
                                      " bytes, more than a segment holds (segment_bytes " +
                                      std::to_string(options_.segment_bytes) + ")");
  }
  const int64_t now = clock_->NowMicros();
  Segment* segment = nullptr;
  uint64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      return absl::FailedPreconditionError("decision log " + options_.dir + " is closed");
    }
    if (current_ == nullptr || current_->used + size > current_->capacity ||
        (current_->records > 0 &&
         now - current_->first_append >= options_.rotate_interval_micros)) {
      RETURN_IF_ERROR(RotateLocked(now, size));
    }
    segment = current_.get();
    offset = segment->used;
    segment->used += size;
    if (segment->records++ == 0) {
      segment->first_append = now;
      segment->min_time = segment->max_time = record.time;
    } else {
      segment->min_time = std::min(segment->min_time, record.time);
      segment->max_time = std::max(segment->max_time, record.time);
    }
    ++appended_;
    bytes_ += size;
    segment->writers.fetch_add(1, std::memory_order_relaxed);
  }
  // Outside the lock: the reserved range is this thread's alone, and the segment stays mapped
  // until `writers` drops back to zero.
  std::memcpy(segment->base + offset, line.data(), size);
  segment->writers.fetch_sub(1, std::memory_order_release);
  return absl::OkStatus();
}

Status DecisionLog::RotateLocked(int64_t now, uint64_t size) {
  StatusOr<std::unique_ptr<Segment>> fresh = CreateSegment(now);
  if (!fresh.ok()) {
    sync_errors_.fetch_add(1, std::memory_order_relaxed);
    // An old segment with room still takes the record: better late rotation than a lost record.
    if (current_ != nullptr && current_->used + size <= current_->capacity) {
      return absl::OkStatus();
    }
    return fresh.status();
  }
  if (current_ != nullptr) retired_.push_back(std::move(current_));
  current_ = std::move(fresh).value();
  retention_pending_ = true;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_wake_ = true;
  }
  bg_cv_.notify_one();
  return absl::OkStatus();
}

Status DecisionLog::MaintainLocked() {
  std::vector<std::unique_ptr<Segment>> retired;
  bool retention = false;
  bool dir_dirty = false;
  Segment* current = nullptr;
  uint64_t current_used = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    retired.swap(retired_);
    retention = retention_pending_;
    retention_pending_ = false;
    dir_dirty = dir_dirty_;
    dir_dirty_ = false;
    current = current_.get();
    if (current != nullptr) current_used = current->used;
  }
  Status durability;
  // A retired segment takes no new reservation; wait for the copies already reserved.
  for (std::unique_ptr<Segment>& segment : retired) {
    while (segment->writers.load(std::memory_order_acquire) != 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    Status s;
    if (segment->used > 0 && ::msync(segment->base, segment->used, MS_SYNC) != 0) {
      s = Errno("cannot sync decision segment", segment->path);
    }
    ::munmap(segment->base, segment->capacity);
    segment->base = nullptr;
    if (segment->records == 0) {
      if (s.ok() && ::unlink(segment->path.c_str()) != 0) {
        s = Errno("cannot delete empty decision segment", segment->path);
      }
    } else if (s.ok()) {
      if (::ftruncate(segment->fd, static_cast<off_t>(segment->used)) != 0) {
        s = Errno("cannot truncate decision segment", segment->path);
      } else if (::fsync(segment->fd) != 0) {
        s = Errno("cannot sync decision segment", segment->path);
      } else {
        std::string closed =
            options_.dir + "/" +
            ClosedName(segment->start, segment->seq, segment->min_time, segment->max_time);
        if (::rename(segment->path.c_str(), closed.c_str()) != 0) {
          s = Errno("cannot rename decision segment", segment->path);
        }
      }
    }
    // A segment that could not be closed keeps its open name: the next Open closes it.
    durability.Update(s);
    dir_dirty = true;
  }
  if (current != nullptr && current_used > current->synced) {
    // msync wants a page-aligned start; the mapping is page-aligned.
    const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t from = current->synced / page * page;
    if (::msync(current->base + from, current_used - from, MS_SYNC) != 0) {
      durability.Update(Errno("cannot sync decision segment", current->path));
    } else if (::fsync(current->fd) != 0) {
      durability.Update(Errno("cannot sync decision segment", current->path));
    } else {
      current->synced = current_used;
    }
  }
  if (dir_dirty) durability.Update(SyncDirectory(options_.dir));
  if (sticky_error_.ok()) sticky_error_ = durability;
  // Retention failures are not sticky: nothing appended is at risk, and the next rotation retries.
  Status status = durability;
  if (retention) status.Update(ApplyRetention());
  return status;
}

Status DecisionLog::ApplyRetention() {
  ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(options_.dir, nullptr));
  const int64_t cutoff = clock_->NowMicros() - options_.retention_micros;
  Status status;
  bool deleted_any = false;
  for (const SegmentFile& file : segments) {
    if (!file.parsed.closed || file.parsed.max_time >= cutoff) continue;
    if (::unlink(file.path.c_str()) != 0 && errno != ENOENT) {
      status.Update(Errno("cannot delete expired decision segment", file.path));
      continue;
    }
    deleted_.fetch_add(1, std::memory_order_relaxed);
    deleted_any = true;
  }
  if (deleted_any) status.Update(SyncDirectory(options_.dir));
  return status;
}

void DecisionLog::BackgroundLoop() {
  const auto period = std::chrono::microseconds(options_.sync_interval_micros);
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!bg_stop_) {
    bg_cv_.wait_for(lock, period, [this] { return bg_stop_ || bg_wake_; });
    if (bg_stop_) break;
    bg_wake_ = false;
    lock.unlock();
    {
      std::lock_guard<std::mutex> maint(maint_mu_);
      if (!MaintainLocked().ok()) sync_errors_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

Status DecisionLog::Sync() {
  std::lock_guard<std::mutex> maint(maint_mu_);
  Status status = MaintainLocked();
  return sticky_error_.ok() ? status : sticky_error_;
}

Status DecisionLog::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (close_done_) return close_status_;
  close_done_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    if (current_ != nullptr) retired_.push_back(std::move(current_));
  }
  if (bg_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(bg_mu_);
      bg_stop_ = true;
    }
    bg_cv_.notify_one();
    bg_.join();
  }
  Status status;
  {
    std::lock_guard<std::mutex> maint(maint_mu_);
    status = MaintainLocked();
    if (!sticky_error_.ok()) status = sticky_error_;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the folder's lock
    lock_fd_ = -1;
  }
  close_status_ = status;
  return status;
}

DecisionLog::~DecisionLog() { Close().IgnoreError(); }

DecisionLog::Stats DecisionLog::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.appended = appended_;
  s.bytes = bytes_;
  s.segments = segments_;
  s.sync_errors = sync_errors_.load(std::memory_order_relaxed);
  s.deleted = deleted_.load(std::memory_order_relaxed);
  s.recovered = recovered_;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Readers.

StatusOr<std::optional<DecisionRecord>> FindDecision(const std::string& dir, std::string_view id,
                                                     DecisionReadStats* stats) {
  DecisionReadStats local;
  DecisionReadStats& st = stats != nullptr ? *stats : local;
  ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir, &st.ignored_files));
  const std::string prefix = LinePrefix(id);
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    SegmentFile file = *it;
    ASSIGN_OR_RETURN(int fd, OpenSegmentForRead(dir, &file));
    if (fd < 0) continue;
    FdCloser closer(fd);
    ++st.segments_read;
    LineScanner scanner(fd, file.path);
    std::optional<DecisionRecord> found;
    std::string_view line;
    uint64_t offset = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool more, scanner.Next(&line, &offset));
      if (!more) break;
      if (!line.starts_with(prefix)) continue;
      StatusOr<DecisionRecord> record = ParseLine(line);
      if (!record.ok()) {
        ++st.torn;
        continue;
      }
      found = *std::move(record);  // keep going: the last one appended wins
    }
    st.torn += scanner.fragments();
    if (found) return found;
  }
  return std::optional<DecisionRecord>();
}

namespace {

// A segment that may hold records of an export's range.
struct ExportSegment {
  SegmentFile file;
  int fd = -1;
  bool indexed = false;
  int64_t lo = 0;  // bounds of its times within the range, for ordering segments against
  int64_t hi = 0;  // each other (lo > hi when it holds none)
  struct Entry {
    int64_t time;
    uint64_t offset;
    uint64_t length;
  };
  std::vector<Entry> entries;

  ExportSegment() = default;
  ExportSegment(ExportSegment&& other) noexcept
      : file(std::move(other.file)),
        fd(std::exchange(other.fd, -1)),
        indexed(other.indexed),
        lo(other.lo),
        hi(other.hi),
        entries(std::move(other.entries)) {}
  ~ExportSegment() {
    if (fd >= 0) ::close(fd);
  }
};

// Opens the segment and lists its records in [from, to) with their offsets, so that they can be
// sorted before any is parsed.
Status IndexSegment(const std::string& dir, int64_t from, int64_t to, ExportSegment* segment,
                    DecisionReadStats* st) {
  segment->indexed = true;
  segment->lo = std::numeric_limits<int64_t>::max();
  segment->hi = std::numeric_limits<int64_t>::min();
  ASSIGN_OR_RETURN(segment->fd, OpenSegmentForRead(dir, &segment->file));
  if (segment->fd < 0) return absl::OkStatus();
  ++st->segments_read;
  LineScanner scanner(segment->fd, segment->file.path);
  std::string_view line;
  uint64_t offset = 0;
  while (true) {
    ASSIGN_OR_RETURN(bool more, scanner.Next(&line, &offset));
    if (!more) break;
    std::optional<int64_t> t = LineTime(line);
    if (!t) {
      ++st->torn;
      continue;
    }
    if (*t < from || *t >= to) continue;
    segment->entries.push_back({*t, offset, line.size()});
    segment->lo = std::min(segment->lo, *t);
    segment->hi = std::max(segment->hi, *t);
  }
  st->torn += scanner.fragments();
  return absl::OkStatus();
}

Status ReadAt(int fd, uint64_t offset, uint64_t length, const std::string& path, std::string* out) {
  out->resize(length);
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out->data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read decision segment", path);
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  out->resize(done);
  return absl::OkStatus();
}

}  // namespace

Status ExportDecisions(const std::string& dir, int64_t from_micros, int64_t to_micros,
                       const std::function<Status(const DecisionRecord&)>& emit,
                       DecisionReadStats* stats) {
  DecisionReadStats local;
  DecisionReadStats& st = stats != nullptr ? *stats : local;
  ASSIGN_OR_RETURN(std::vector<SegmentFile> files, ListSegments(dir, &st.ignored_files));
  if (from_micros >= to_micros) return absl::OkStatus();

  // Closed segments name the times of their oldest and newest record; open ones (being written,
  // or left by a crash) are indexed now to learn theirs.
  std::vector<ExportSegment> segments;
  for (SegmentFile& file : files) {
    ExportSegment segment;
    if (file.parsed.closed) {
      if (file.parsed.max_time < from_micros || file.parsed.min_time >= to_micros) {
        ++st.segments_skipped;
        continue;
      }
      segment.lo = std::max(file.parsed.min_time, from_micros);
      segment.hi = std::min(file.parsed.max_time, to_micros - 1);
    }
    segment.file = std::move(file);
    if (!segment.file.parsed.closed) {
      RETURN_IF_ERROR(IndexSegment(dir, from_micros, to_micros, &segment, &st));
    }
    segments.push_back(std::move(segment));
  }

  // Records are appended roughly in time order, but a request that started earlier may finish
  // later, even after a rotation. Segments are therefore merged in groups: a group ends where
  // every later segment starts after the newest time in it.
  const size_t n = segments.size();
  std::vector<int64_t> suffix_lo(n + 1, std::numeric_limits<int64_t>::max());
  for (size_t i = n; i-- > 0;) suffix_lo[i] = std::min(suffix_lo[i + 1], segments[i].lo);
  std::string buffer;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    int64_t hi = segments[i].hi;
    while (j < n && suffix_lo[j] <= hi) hi = std::max(hi, segments[j++].hi);
    struct Ref {
      int64_t time;
      size_t segment;
      uint64_t offset;
      uint64_t length;
    };
    std::vector<Ref> refs;
    for (size_t k = i; k < j; ++k) {
      ExportSegment& segment = segments[k];
      if (!segment.indexed) {
        RETURN_IF_ERROR(IndexSegment(dir, from_micros, to_micros, &segment, &st));
      }
      for (const ExportSegment::Entry& e : segment.entries) {
        refs.push_back({e.time, k, e.offset, e.length});
      }
      segment.entries = {};
    }
    std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
      return std::tie(a.time, a.segment, a.offset) < std::tie(b.time, b.segment, b.offset);
    });
    for (const Ref& ref : refs) {
      const ExportSegment& segment = segments[ref.segment];
      RETURN_IF_ERROR(ReadAt(segment.fd, ref.offset, ref.length, segment.file.path, &buffer));
      StatusOr<DecisionRecord> record = ParseLine(buffer);
      if (!record.ok() || record->time != ref.time) {
        ++st.torn;
        continue;
      }
      RETURN_IF_ERROR(emit(*record));
    }
    for (size_t k = i; k < j; ++k) {
      if (segments[k].fd >= 0) ::close(segments[k].fd);
      segments[k].fd = -1;
    }
    i = j;
  }
  return absl::OkStatus();
}

}  // namespace plinth
