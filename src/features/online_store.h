// The online store: each feature view's latest materialized values per entity, read by serving
// at request time. OnlineStore is the interface (a Redis implementation comes later); the
// embedded LocalOnlineStore keeps every view in memory and persists each one as a file under a
// folder of the platform home, written atomically on each materialization.
//
// FeatureLookup is the in-process read path serving calls: resolved once for a list of features,
// then Get copies one entity's values with one hash lookup per view, without locks or atomics: the
// lookup holds immutable view states, and Refresh (or a new lookup) picks up newer ones.
#ifndef PLINTH_FEATURES_ONLINE_STORE_H_
#define PLINTH_FEATURES_ONLINE_STORE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/status.h"
#include "expr/value.h"
#include "features/definition.h"
#include "table/table.h"

namespace plinth {

// One materialized view: its online table (features/feature_compute.h: entity, event_time, then
// the features) and where it stands.
struct OnlineView {
  std::string project;
  std::string view;
  // The view version (ViewVersion) the values were computed with.
  std::string view_version;
  // Materialized up to this time (inclusive), micros.
  int64_t until = 0;
  // When the materialization ran, micros.
  int64_t materialized_at = 0;
  Table values;
  // Row of each entity key in `values`; built by the store.
  absl::flat_hash_map<std::string, uint32_t> index;
  // Per column of `values`: for a string feature column, its dictionary as expr::Values (indexed
  // by code); empty for other columns. Built by the store, so that a lookup copies a prepared
  // value (reusing the output's string capacity) instead of building a string per call. Optional
  // for other OnlineStore implementations: without it a lookup boxes the string itself.
  std::vector<std::vector<expr::Value>> string_values;
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Replaces the view's stored state with `view` (whose index and string_values are rebuilt
  // here). Durable when it returns OK; on error the previous state stays, in memory and on disk.
  // InvalidArgument if the table lacks the entity (string) or event_time (timestamp) column, or
  // has a null or duplicate entity key, or if a name is not a valid project or view name.
  virtual Status Write(OnlineView view) = 0;

  // The current state of a view, or nullptr when it was never materialized. The returned state is
  // immutable and stays valid while held, even if the view is written again meanwhile.
  // InvalidArgument for an invalid project or view name.
  virtual StatusOr<std::shared_ptr<const OnlineView>> Read(const std::string& project,
                                                           const std::string& view) = 0;
};

// The online view encoding (docs/formats/online.md): a small JSON header line, then the table
// snapshot. LocalOnlineStore keeps it in files and RedisOnlineStore in Redis values, so both apply
// the same rules and a value copied from one store is valid in the other.

// OK if project and view are valid names: 1 to 128 characters of [A-Za-z0-9_.-], not starting
// with '.' and without "..", so never a '/' or a ':'. InvalidArgument naming the first invalid one
// otherwise.
Status ValidateOnlineNames(const std::string& project, const std::string& view);

// Checks `view` as OnlineStore::Write must (its names as ValidateOnlineNames, then its table: the
// entity and event_time columns present with their types, no null or duplicate entity key, fewer
// than 2^32 - 1 rows), all InvalidArgument, and builds its index and string_values.
Status PrepareOnlineView(OnlineView* view);

// The bytes of `view`: its header line, '\n', then the snapshot of its values. Reads only the
// header fields and `values` (PrepareOnlineView is the check). When `header_sha256` is given, sets
// it to the header's "sha256:<hex>" digest, which names the contents. InvalidArgument for a
// view_version that is not UTF-8 (no reader would accept the header).
StatusOr<std::string> EncodeOnlineView(const OnlineView& view,
                                       std::string* header_sha256 = nullptr);

// Decodes and verifies `bytes` (EncodeOnlineView's output), which must hold project/view, and
// prepares the view (PrepareOnlineView). When `version` is not empty, the header's header_sha256
// must also be "sha256:" + version. Every failure is DataLoss "<what> is unreadable: <why>", so
// `what` names where the bytes came from (e.g. "online view file <path>").
StatusOr<std::shared_ptr<const OnlineView>> DecodeOnlineView(std::string_view bytes,
                                                             const std::string& what,
                                                             const std::string& project,
                                                             const std::string& view,
                                                             std::string_view version = {});

// In memory, persisted as `<dir>/<project>/<view>.online` (a small JSON header line, then the
// table snapshot; docs/formats/online.md). Read loads a view's file on first use and reloads it
// when the file changed on disk (another process materialized), checked with one stat per Read.
// A file that fails to parse or verify is DataLoss naming the file, never served. Project and view
// names are as ValidateOnlineNames requires. Thread-safe; each view keeps its current file open
// (see the .cc for why).
class LocalOnlineStore : public OnlineStore {
 public:
  explicit LocalOnlineStore(std::string dir);

  Status Write(OnlineView view) override;
  StatusOr<std::shared_ptr<const OnlineView>> Read(const std::string& project,
                                                   const std::string& view) override;

 private:
  struct Slot;
  // The slot of project/view, created on first use.
  std::shared_ptr<Slot> GetSlot(const std::string& project, const std::string& view);

  std::string dir_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // by "project/view"
};

// Resolved once per feature list, then cheap per call. Holds the store's current states; Refresh
// picks up new materializations (serving calls it when told the view changed, or periodically).
class FeatureLookup {
 public:
  // Features are resolved against the views' online tables: NotFound naming the view when it was
  // never materialized, InvalidArgument naming the feature when the online table lacks it (the
  // view changed since; materialize again) or names its entity or event_time column, and the
  // store's Read errors as they are (DataLoss for a corrupt file).
  static StatusOr<FeatureLookup> Create(OnlineStore* store, const std::string& project,
                                        const std::vector<FeatureRef>& features);

  // Values in the order of the features given to Create, for the entity whose key is `key` (as
  // text). An entity the view has no row for gets nulls. `out` is resized; its elements are
  // assigned in place, so reusing one vector across calls avoids allocation for numbers and for
  // strings that fit the capacity already there.
  void Get(std::string_view key, std::vector<expr::Value>* out) const;
  // As above with one key per view (in the order of views()), for services whose views describe
  // different entities. Views beyond keys_by_view.size() get nulls.
  void Get(const std::vector<std::string_view>& keys_by_view, std::vector<expr::Value>* out) const;

  // The distinct views of the lookup, in first-use order; Get's keys_by_view follows this order.
  const std::vector<std::string>& views() const { return view_names_; }
  // The state the lookup reads of its view `i` (in views() order), e.g. for its view version.
  const OnlineView& view_state(size_t i) const { return *views_[i]; }
  // Whether view `i` (in views() order) holds a row for the entity `key`.
  bool Contains(size_t i, std::string_view key) const;
  // Reloads every view's current state from the store, with Create's errors; on error the lookup
  // keeps serving what it had. Get may run from many threads at once; Refresh must not run
  // concurrently with Get (serving swaps in a new lookup instead).
  Status Refresh();

 private:
  // One requested feature, resolved to raw pointers into its view's immutable state (kept alive
  // by views_), so that Get reads a cell without going through Column or the hash map again.
  struct Slot {
    uint32_t view = 0;  // index into views_
    ColumnType type = ColumnType::kInt64;
    const uint8_t* valid = nullptr;
    const int64_t* ints = nullptr;         // kInt64, kTimestamp
    const double* doubles = nullptr;       // kFloat64
    const uint8_t* bools = nullptr;        // kBool
    const int32_t* codes = nullptr;        // kString
    const expr::Value* strings = nullptr;  // kString: the view's string_values of the column
    const Column* column = nullptr;        // kString without string_values
  };
  // Reads every view from the store and resolves features_ against them; *this is unchanged on
  // error.
  Status Resolve();
  void Fill(const uint32_t* rows, std::vector<expr::Value>* out) const;

  OnlineStore* store_ = nullptr;
  std::string project_;
  std::vector<FeatureRef> features_;
  std::vector<std::string> view_names_;
  std::vector<std::shared_ptr<const OnlineView>> views_;
  std::vector<Slot> slots_;
};

}  // namespace plinth

#endif  // PLINTH_FEATURES_ONLINE_STORE_H_
