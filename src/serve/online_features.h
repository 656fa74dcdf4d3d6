// Request-time feature lookup for served models (docs/serving.md, "Rows by entity id"): a model
// trained on a feature service's training set may be sent only the entity id (the views' join
// keys) and the features not in the store (e.g. the payment's amount); its stored features are
// read from the online store, as materialized, and filled into the row before scoring. The
// service knows which features it serves and on which view versions the model was trained; a view
// materialized since with another definition is refused (the model would be scored on features
// computed differently from those it learned: training/serving skew).
//
// OnlineFeatures holds an immutable FeatureLookup swapped atomically, so Fill runs on any number
// of request threads while Refresh (called by the server's poller) picks up new materializations.
#ifndef PLINTH_SERVE_ONLINE_FEATURES_H_
#define PLINTH_SERVE_ONLINE_FEATURES_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "features/definition.h"
#include "features/online_store.h"

namespace plinth {

// What the platform says a version looks up (deployment.resolve's "feature_service").
struct OnlineFeatureSpec {
  std::string project;
  std::string service;
  std::string training_set;          // the training set the model was trained on, for messages
  std::vector<FeatureRef> features;  // the service's features, in its order
  struct View {
    std::string name;
    std::string key;      // the join key naming the view's entity in requests
    std::string version;  // the view version the training set was built with
  };
  std::vector<View> views;
};

// From {"project", "service", "training_set", "features": [{view, feature}], "views": [{view,
// key, version}]}; InvalidArgument naming the member that is missing or malformed.
StatusOr<OnlineFeatureSpec> OnlineFeatureSpecFromJson(const Json& j);

class OnlineFeatures {
 public:
  // Looks up the features of `spec` that are among `model_inputs` (a feature the model does not
  // take is not read), then reads the store as Refresh does. A store that cannot serve yet (a
  // view never materialized, or materialized with another definition) is not an error here:
  // Refresh is tried again by the caller, and Fill answers Unavailable until one succeeds.
  // `store` must outlive the object.
  static std::shared_ptr<OnlineFeatures> Create(OnlineStore* store, OnlineFeatureSpec spec,
                                                const std::vector<std::string>& model_inputs);

  // The request inputs naming entities (the views' join keys), accepted beside the model's
  // inputs.
  const std::vector<std::string>& keys() const { return keys_; }

  // For each row (a JSON object of raw inputs): every looked-up feature the row leaves out (a
  // null it sends is kept, as a missing value) is set from the online store, by the row's key for
  // that feature's view; an entity the store has no row for gets nulls (counted as a miss). Values
  // a row gives are kept. InvalidArgument "row N: ..." naming the key when a row needs a lookup and
  // lacks its key (or gives it as neither a string nor an integer); Unavailable, with why, when a
  // row needs a lookup and no refresh has succeeded yet. Thread-safe.
  Status Fill(std::vector<Json>* rows) const;

  // Reads the views' current states again (a new materialization). The new lookup replaces the
  // current one only if every view was materialized with the view version the model was trained
  // on: otherwise FailedPrecondition (training/serving skew), and NotFound for a view never
  // materialized, with the store's errors as they are; on error the current lookup, if any,
  // keeps serving (and Metrics reports it stale). Not concurrent with itself.
  Status Refresh();
  // OK once a refresh succeeded and the last one did; else the last refresh's error.
  Status status() const;

  // Prometheus lines for this version: lookups, misses, and whether the last refresh failed.
  std::string Metrics(const std::string& model, int64_t version) const;

 private:
  OnlineFeatures(OnlineStore* store, OnlineFeatureSpec spec)
      : store_(store), spec_(std::move(spec)) {}
  // A lookup of refs_ checked against the spec's view versions.
  StatusOr<std::shared_ptr<const FeatureLookup>> Build() const;

  OnlineStore* store_;
  OnlineFeatureSpec spec_;
  std::vector<FeatureRef> refs_;    // the looked-up features
  std::vector<std::string> names_;  // their input names
  std::vector<std::string> views_;  // their distinct views, in first-use order (as FeatureLookup)
  std::vector<std::string> keys_;
  // For each view of views_, the index of its key in keys_.
  std::vector<size_t> view_key_;
  // For each looked-up feature, the index of its view in views_.
  std::vector<size_t> feature_view_;
  std::atomic<std::shared_ptr<const FeatureLookup>> lookup_;
  mutable std::atomic<uint64_t> lookups_{0};
  mutable std::atomic<uint64_t> misses_{0};
  mutable std::mutex mu_;
  Status last_ = absl::OkStatus();  // guarded by mu_
};

}  // namespace plinth

#endif  // PLINTH_SERVE_ONLINE_FEATURES_H_
