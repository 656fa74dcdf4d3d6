#include "features/online_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>

#include "core/files.h"
#include "core/json.h"
#include "core/sha256.h"
#include "features/feature_compute.h"
#include "table/table_snapshot.h"

namespace plinth {
namespace {

constexpr char kSchema[] = "plinth.online_view";
constexpr int64_t kSchemaVersion = 1;
constexpr char kDigestPrefix[] = "sha256:";
constexpr char kFileSuffix[] = ".online";
// Leaves room under the usual 255-byte file-name limit for the suffix and WriteFileAtomic's temp
// name (".<view>.online.tmp-<16 hex>").
constexpr size_t kMaxNameLength = 128;
// A header is a few hundred bytes; a first line longer than this is not a header, and looking no
// further bounds the work spent on a file that is not a view.
constexpr size_t kMaxHeaderBytes = 64 * 1024;
// Row of an entity the view has no row for; PrepareOnlineView refuses tables that large.
constexpr uint32_t kNoRow = std::numeric_limits<uint32_t>::max();
constexpr size_t kInlineViews = 8;

// A string as a JSON string literal, so that hostile bytes in messages stay readable and inert.
std::string Quote(std::string_view s) { return DumpJson(Json(std::string(s))); }

// Names become path components, so anything that could leave the folder or hide a file is refused
// before the file system is touched. A leading '.' is refused so that view files never collide
// with WriteFileAtomic's hidden temp files.
Status CheckName(const char* what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && name[0] != '.' &&
            name.find("..") == std::string::npos;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '.');
  }
  if (ok) return absl::OkStatus();
  std::string shown = name.size() > 64 ? name.substr(0, 64) + "..." : name;
  return absl::InvalidArgumentError(std::string("invalid ") + what + " name " + Quote(shown) +
                                    ": use 1 to 128 of A-Z a-z 0-9 _ . - (not starting with "
                                    "'.', no \"..\")");
}

// The JSON member `key` of `header` if it has the expected kind, else nullptr.
const Json* Member(const Json& header, const char* key, Json::value_t kind) {
  auto it = header.find(key);
  if (it == header.end()) return nullptr;
  if (kind == Json::value_t::number_integer) {
    return it->is_number_integer() ? &*it : nullptr;
  }
  return it->type() == kind ? &*it : nullptr;
}

// DataLoss for bytes `what` describes.
Status Corrupt(const std::string& what, const std::string& why) {
  return absl::DataLossError(what + " is unreadable: " + why);
}

std::string DescribeFile(const std::string& path) { return "online view file " + path; }

Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(what + " " + path + ": " + std::strerror(errno));
}

// Reads what remains of `fd` (opened on `path`, `size_hint` bytes long when stat'ed).
StatusOr<std::string> ReadAll(int fd, const std::string& path, size_t size_hint) {
  std::string out;
  out.resize(size_hint + 1);
  size_t used = 0;
  while (true) {
    if (used == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return out;
}

}  // namespace

Status ValidateOnlineNames(const std::string& project, const std::string& view) {
  RETURN_IF_ERROR(CheckName("project", project));
  return CheckName("view", view);
}

Status PrepareOnlineView(OnlineView* view) {
  RETURN_IF_ERROR(ValidateOnlineNames(view->project, view->view));
  const Table& table = view->values;
  const Column* entity = table.Find(kOnlineEntityColumn);
  if (entity == nullptr) {
    return absl::InvalidArgumentError(std::string("online table lacks the \"") +
                                      kOnlineEntityColumn + "\" column");
  }
  if (entity->type() != ColumnType::kString) {
    return absl::InvalidArgumentError(std::string("online table column \"") + kOnlineEntityColumn +
                                      "\" must be string, not " + ColumnTypeName(entity->type()));
  }
  const Column* event_time = table.Find(kOnlineEventTimeColumn);
  if (event_time == nullptr) {
    return absl::InvalidArgumentError(std::string("online table lacks the \"") +
                                      kOnlineEventTimeColumn + "\" column");
  }
  if (event_time->type() != ColumnType::kTimestamp) {
    return absl::InvalidArgumentError(std::string("online table column \"") +
                                      kOnlineEventTimeColumn + "\" must be timestamp, not " +
                                      ColumnTypeName(event_time->type()));
  }
  const size_t rows = table.num_rows();
  if (rows >= kNoRow) {
    return absl::InvalidArgumentError("online table has too many rows: " + std::to_string(rows));
  }
  view->index.clear();
  view->index.reserve(rows);
  for (size_t row = 0; row < rows; ++row) {
    if (entity->IsNull(row)) {
      return absl::InvalidArgumentError("online table has a null entity key at row " +
                                        std::to_string(row));
    }
    auto [it, inserted] =
        view->index.try_emplace(std::string(entity->StringAt(row)), static_cast<uint32_t>(row));
    if (!inserted) {
      return absl::InvalidArgumentError(
          "online table has a duplicate entity key " + Quote(entity->StringAt(row)) + " (rows " +
          std::to_string(it->second) + " and " + std::to_string(row) + ")");
    }
  }
  view->string_values.assign(table.num_columns(), {});
  for (size_t i = 0; i < table.num_columns(); ++i) {
    const Column& c = table.columns()[i];
    // The entity column is the key, never a feature; boxing it would double its memory.
    if (c.type() != ColumnType::kString || &c == entity) continue;
    std::vector<expr::Value>& boxed = view->string_values[i];
    boxed.reserve(c.dictionary().size());
    for (const std::string& s : c.dictionary()) boxed.push_back(expr::Value::String(s));
  }
  return absl::OkStatus();
}

StatusOr<std::string> EncodeOnlineView(const OnlineView& view, std::string* header_sha256) {
  std::string snapshot = TableToSnapshot(view.values);
  Json header = {{"schema", kSchema},
                 {"schema_version", kSchemaVersion},
                 {"project", view.project},
                 {"view", view.view},
                 {"view_version", view.view_version},
                 {"until", view.until},
                 {"materialized_at", view.materialized_at},
                 {"rows", static_cast<uint64_t>(view.values.num_rows())},
                 {"snapshot_sha256", Sha256Digest(snapshot)}};
  ASSIGN_OR_RETURN(std::string unsigned_header, CanonicalJson(header));
  std::string digest = Sha256Digest(unsigned_header);
  header["header_sha256"] = digest;
  ASSIGN_OR_RETURN(std::string line, CanonicalJson(header));
  // CanonicalJson copies string bytes as they are; a view_version that is not UTF-8 would make
  // bytes no reader accepts, so refuse it here rather than at the next load.
  if (!ParseJson(line).ok()) {
    return absl::InvalidArgumentError("view_version " + Quote(view.view_version) +
                                      " cannot be stored: not UTF-8");
  }
  std::string bytes;
  bytes.reserve(line.size() + 1 + snapshot.size());
  bytes.append(line).push_back('\n');
  bytes.append(snapshot);
  if (header_sha256 != nullptr) *header_sha256 = std::move(digest);
  return bytes;
}

StatusOr<std::shared_ptr<const OnlineView>> DecodeOnlineView(std::string_view bytes,
                                                             const std::string& what,
                                                             const std::string& project,
                                                             const std::string& view_name,
                                                             std::string_view version) {
  size_t newline = bytes.substr(0, kMaxHeaderBytes).find('\n');
  if (newline == std::string_view::npos) return Corrupt(what, "no header line");
  StatusOr<Json> parsed = ParseJson(bytes.substr(0, newline));
  if (!parsed.ok()) return Corrupt(what, "header: " + std::string(parsed.status().message()));
  Json header = std::move(*parsed);
  if (!header.is_object()) return Corrupt(what, "header is not a JSON object");
  const Json* schema = Member(header, "schema", Json::value_t::string);
  if (schema == nullptr || *schema != kSchema) {
    return Corrupt(what, std::string("header schema is not \"") + kSchema + "\"");
  }
  const Json* schema_version = Member(header, "schema_version", Json::value_t::number_integer);
  if (schema_version == nullptr || schema_version->get<int64_t>() != kSchemaVersion) {
    return Corrupt(
        what, "unsupported schema_version " +
                  (schema_version == nullptr ? std::string("(missing)") : schema_version->dump()));
  }
  // The header's own checksum: without it a flipped digit in "until" would go unnoticed.
  const Json* header_sha = Member(header, "header_sha256", Json::value_t::string);
  if (header_sha == nullptr) return Corrupt(what, "header lacks header_sha256");
  std::string expected_header_sha = header_sha->get<std::string>();
  header.erase("header_sha256");
  StatusOr<std::string> unsigned_header = CanonicalJson(header);
  if (!unsigned_header.ok() || Sha256Digest(*unsigned_header) != expected_header_sha) {
    return Corrupt(what, "header checksum mismatch");
  }
  // A version names the contents: bytes stored (or copied) under another version's name are not
  // that version.
  if (!version.empty() && expected_header_sha != kDigestPrefix + std::string(version)) {
    return Corrupt(what, "the value is not version " + std::string(version) +
                             " (its header_sha256 is " + Quote(expected_header_sha) + ")");
  }

  auto view = std::make_shared<OnlineView>();
  const Json* f;
  if ((f = Member(header, "project", Json::value_t::string)) == nullptr) {
    return Corrupt(what, "header lacks project");
  }
  view->project = f->get<std::string>();
  if ((f = Member(header, "view", Json::value_t::string)) == nullptr) {
    return Corrupt(what, "header lacks view");
  }
  view->view = f->get<std::string>();
  // A file (or value) copied or renamed to another view's place must not be served as that view.
  if (view->project != project || view->view != view_name) {
    return Corrupt(what, "header names view " + Quote(view->project + "/" + view->view));
  }
  if ((f = Member(header, "view_version", Json::value_t::string)) == nullptr) {
    return Corrupt(what, "header lacks view_version");
  }
  view->view_version = f->get<std::string>();
  if ((f = Member(header, "until", Json::value_t::number_integer)) == nullptr) {
    return Corrupt(what, "header lacks until");
  }
  view->until = f->get<int64_t>();
  if ((f = Member(header, "materialized_at", Json::value_t::number_integer)) == nullptr) {
    return Corrupt(what, "header lacks materialized_at");
  }
  view->materialized_at = f->get<int64_t>();
  const Json* rows = Member(header, "rows", Json::value_t::number_integer);
  const Json* snapshot_sha = Member(header, "snapshot_sha256", Json::value_t::string);
  if (rows == nullptr || snapshot_sha == nullptr) {
    return Corrupt(what, "header lacks rows or snapshot_sha256");
  }

  std::string_view snapshot = bytes.substr(newline + 1);
  if (Sha256Digest(snapshot) != snapshot_sha->get<std::string>()) {
    return Corrupt(what, "snapshot checksum mismatch");
  }
  StatusOr<Table> table = TableFromSnapshot(snapshot);
  if (!table.ok()) return Corrupt(what, std::string(table.status().message()));
  view->values = std::move(*table);
  if (rows->get<int64_t>() < 0 ||
      static_cast<uint64_t>(rows->get<int64_t>()) != view->values.num_rows()) {
    return Corrupt(what, "header says " + rows->dump() + " rows, the table has " +
                             std::to_string(view->values.num_rows()));
  }
  Status prepared = PrepareOnlineView(view.get());
  if (!prepared.ok()) return Corrupt(what, std::string(prepared.message()));
  return std::shared_ptr<const OnlineView>(std::move(view));
}

// What a Read returns for one view while its file is unchanged. The file is told apart by (device,
// inode, size, mtime in ns), and the slot keeps the file it was loaded from open: a rewrite is a
// new file renamed over the old one, and while the old one is open its inode cannot be freed and
// reused by the new one. Without that, a rewrite of the same size within one kernel timestamp
// tick (mtimes are coarse, a few ms) could reuse the inode number and look unchanged.
struct LocalOnlineStore::Slot {
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    friend bool operator==(const FileId&, const FileId&) = default;
  };
  static FileId IdOf(const struct stat& st) {
    return {st.st_dev, st.st_ino, st.st_size,
            static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }

  ~Slot() { Forget(); }

  void Forget() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    known = false;
    state = nullptr;
    error = absl::OkStatus();
  }
  void Hold(int new_fd, const struct stat& st) {
    if (fd >= 0) ::close(fd);
    fd = new_fd;
    id = IdOf(st);
    known = true;
  }

  std::mutex mu;
  // The loaded state, or (when the file failed to verify) nullptr and the DataLoss it got, so that
  // a bad file is not read again on every Read.
  std::shared_ptr<const OnlineView> state;
  Status error;
  int fd = -1;
  FileId id;
  bool known = false;
};

LocalOnlineStore::LocalOnlineStore(std::string dir) : dir_(std::move(dir)) {}

namespace {
std::string ViewPath(const std::string& dir, const std::string& project, const std::string& view) {
  return dir + "/" + project + "/" + view + kFileSuffix;
}
}  // namespace

std::shared_ptr<LocalOnlineStore::Slot> LocalOnlineStore::GetSlot(const std::string& project,
                                                                  const std::string& view) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Slot>& slot = slots_[project + "/" + view];
  if (slot == nullptr) slot = std::make_shared<Slot>();
  return slot;
}

Status LocalOnlineStore::Write(OnlineView view) {
  auto state = std::make_shared<OnlineView>(std::move(view));
  RETURN_IF_ERROR(PrepareOnlineView(state.get()));
  ASSIGN_OR_RETURN(const std::string contents, EncodeOnlineView(*state));
  // The header line with its newline.
  const std::string_view header(contents.data(), contents.find('\n') + 1);

  const std::string project_dir = dir_ + "/" + state->project;
  struct stat st;
  if (::stat(project_dir.c_str(), &st) != 0) {
    bool had_root = ::stat(dir_.c_str(), &st) == 0;
    RETURN_IF_ERROR(MakeDirectories(project_dir));
    // New folders' entries must be durable too, or a power cut could take the file with them.
    if (!had_root) {
      std::filesystem::path parent = std::filesystem::path(dir_).parent_path();
      RETURN_IF_ERROR(SyncDirectory(parent.empty() ? "." : parent.string()));
    }
    RETURN_IF_ERROR(SyncDirectory(dir_));
  }

  const std::string path = ViewPath(dir_, state->project, state->view);
  std::shared_ptr<Slot> slot = GetSlot(state->project, state->view);
  // Held across the rename and the swap so that in this process the file and the memory state
  // always change together, in the same order for concurrent writers.
  std::lock_guard<std::mutex> lock(slot->mu);
  RETURN_IF_ERROR(WriteFileAtomic(path, contents, 0600, /*overwrite=*/true));
  slot->Forget();
  // Hold the file just written, so the next Read does not load it again. Another process may have
  // renamed its own file over it already: hold it only if its header is ours (the header holds the
  // snapshot's checksum, so an equal header means equal contents); otherwise the next Read loads
  // whatever is there.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    std::string first(header.size(), '\0');
    if (::fstat(fd, &st) == 0 &&
        ::pread(fd, first.data(), first.size(), 0) == static_cast<ssize_t>(first.size()) &&
        first == header) {
      slot->Hold(fd, st);
    } else {
      ::close(fd);
    }
  }
  slot->state = std::move(state);
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const OnlineView>> LocalOnlineStore::Read(const std::string& project,
                                                                   const std::string& view) {
  RETURN_IF_ERROR(ValidateOnlineNames(project, view));
  const std::string path = ViewPath(dir_, project, view);
  std::shared_ptr<Slot> slot = GetSlot(project, view);
  std::lock_guard<std::mutex> lock(slot->mu);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    // The file (or the project's folder) is gone: the view is not materialized any more.
    if (errno == ENOENT || errno == ENOTDIR) {
      slot->Forget();
      return std::shared_ptr<const OnlineView>();
    }
    return Errno("cannot stat", path);
  }
  if (slot->known && slot->id == Slot::IdOf(st)) {
    if (!slot->error.ok()) return slot->error;
    return slot->state;
  }

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      slot->Forget();
      return std::shared_ptr<const OnlineView>();
    }
    return Errno("cannot open", path);
  }
  // The identity comes from the open file, so it is that of the bytes read even if the file is
  // replaced between the stat above and the open.
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    slot->Forget();
    return Corrupt(DescribeFile(path), "not a regular file");
  }
  StatusOr<std::string> bytes = ReadAll(fd, path, static_cast<size_t>(st.st_size));
  if (!bytes.ok()) {
    ::close(fd);
    return bytes.status();
  }
  StatusOr<std::shared_ptr<const OnlineView>> loaded =
      DecodeOnlineView(*bytes, DescribeFile(path), project, view);
  slot->Forget();
  slot->Hold(fd, st);
  if (!loaded.ok()) {
    slot->error = loaded.status();
    return slot->error;
  }
  slot->state = *loaded;
  return slot->state;
}

StatusOr<FeatureLookup> FeatureLookup::Create(OnlineStore* store, const std::string& project,
                                              const std::vector<FeatureRef>& features) {
  FeatureLookup lookup;
  lookup.store_ = store;
  lookup.project_ = project;
  lookup.features_ = features;
  for (const FeatureRef& f : features) {
    bool seen = false;
    for (const std::string& v : lookup.view_names_) seen = seen || v == f.view;
    if (!seen) lookup.view_names_.push_back(f.view);
  }
  RETURN_IF_ERROR(lookup.Resolve());
  return lookup;
}

Status FeatureLookup::Refresh() { return Resolve(); }

Status FeatureLookup::Resolve() {
  std::vector<std::shared_ptr<const OnlineView>> views;
  views.reserve(view_names_.size());
  for (const std::string& name : view_names_) {
    ASSIGN_OR_RETURN(std::shared_ptr<const OnlineView> state, store_->Read(project_, name));
    if (state == nullptr) {
      return absl::NotFoundError("feature view " + Quote(project_ + "/" + name) +
                                 " has no online values: it was never materialized");
    }
    views.push_back(std::move(state));
  }
  std::vector<Slot> slots;
  slots.reserve(features_.size());
  for (const FeatureRef& f : features_) {
    Slot slot;
    while (view_names_[slot.view] != f.view) ++slot.view;
    const OnlineView& view = *views[slot.view];
    const Column* column = nullptr;
    size_t index = 0;
    for (size_t i = 0; i < view.values.num_columns(); ++i) {
      const Column& c = view.values.columns()[i];
      if (c.name() == f.feature && c.name() != kOnlineEntityColumn &&
          c.name() != kOnlineEventTimeColumn) {
        column = &c;
        index = i;
        break;
      }
    }
    if (column == nullptr) {
      return absl::InvalidArgumentError(
          "feature " + Quote(f.view + ":" + f.feature) +
          " is not in the view's online values (materialized with view version " +
          Quote(view.view_version) + "); materialize the view again");
    }
    slot.type = column->type();
    slot.valid = column->valid().data();
    slot.ints = column->int64s().data();
    slot.doubles = column->float64s().data();
    slot.bools = column->bools().data();
    slot.codes = column->codes().data();
    slot.column = column;
    // Another OnlineStore implementation may leave string_values empty; Fill then boxes the
    // string itself.
    if (index < view.string_values.size() &&
        view.string_values[index].size() == column->dictionary().size()) {
      slot.strings = view.string_values[index].data();
    }
    slots.push_back(slot);
  }
  views_ = std::move(views);
  slots_ = std::move(slots);
  return absl::OkStatus();
}

void FeatureLookup::Get(std::string_view key, std::vector<expr::Value>* out) const {
  uint32_t inline_rows[kInlineViews];
  std::vector<uint32_t> heap_rows;
  uint32_t* rows = inline_rows;
  if (views_.size() > kInlineViews) {
    heap_rows.resize(views_.size());
    rows = heap_rows.data();
  }
  // Debian's abseil has its own string_view; flat_hash_map<std::string> looks it up without
  // building a std::string.
  const absl::string_view k(key.data(), key.size());
  for (size_t v = 0; v < views_.size(); ++v) {
    auto it = views_[v]->index.find(k);
    rows[v] = it == views_[v]->index.end() ? kNoRow : it->second;
  }
  Fill(rows, out);
}

void FeatureLookup::Get(const std::vector<std::string_view>& keys_by_view,
                        std::vector<expr::Value>* out) const {
  uint32_t inline_rows[kInlineViews];
  std::vector<uint32_t> heap_rows;
  uint32_t* rows = inline_rows;
  if (views_.size() > kInlineViews) {
    heap_rows.resize(views_.size());
    rows = heap_rows.data();
  }
  for (size_t v = 0; v < views_.size(); ++v) {
    rows[v] = kNoRow;
    if (v >= keys_by_view.size()) continue;
    const absl::string_view k(keys_by_view[v].data(), keys_by_view[v].size());
    auto it = views_[v]->index.find(k);
    if (it != views_[v]->index.end()) rows[v] = it->second;
  }
  Fill(rows, out);
}

bool FeatureLookup::Contains(size_t i, std::string_view key) const {
  return views_[i]->index.contains(absl::string_view(key.data(), key.size()));
}

void FeatureLookup::Fill(const uint32_t* rows, std::vector<expr::Value>* out) const {
  out->resize(slots_.size());
  expr::Value* o = out->data();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    const uint32_t row = rows[s.view];
    if (row == kNoRow || !s.valid[row]) {
      o[i] = expr::Value();
      continue;
    }
    switch (s.type) {
      case ColumnType::kFloat64:
        o[i] = expr::Value::Double(s.doubles[row]);
        break;
      case ColumnType::kInt64:
        o[i] = expr::Value::Int(s.ints[row]);
        break;
      case ColumnType::kTimestamp:
        o[i] = expr::Value::Timestamp(s.ints[row]);
        break;
      case ColumnType::kBool:
        o[i] = expr::Value::Bool(s.bools[row] != 0);
        break;
      case ColumnType::kString:
        // Copy-assigning a string Value over a string Value reuses the existing capacity.
        if (s.strings != nullptr) {
          o[i] = s.strings[s.codes[row]];
        } else {
          o[i] = expr::Value::String(std::string(s.column->StringAt(row)));
        }
        break;
    }
  }
}

}  // namespace plinth
