// Request-time feature lookup for served models: see online_features.h.
#include "serve/online_features.h"

#include <algorithm>

#include "expr/value.h"

namespace plinth {
namespace {

StatusOr<std::string> StringMember(const Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string() ||
      j[key].get<std::string>().empty()) {
    return absl::InvalidArgumentError(where + ": expected a non-empty string \"" + key + "\"");
  }
  return j[key].get<std::string>();
}

}  // namespace

StatusOr<OnlineFeatureSpec> OnlineFeatureSpecFromJson(const Json& j) {
  OnlineFeatureSpec s;
  ASSIGN_OR_RETURN(s.project, StringMember(j, "project", "feature_service"));
  ASSIGN_OR_RETURN(s.service, StringMember(j, "service", "feature_service"));
  if (j.contains("training_set") && j["training_set"].is_string()) {
    s.training_set = j["training_set"].get<std::string>();
  }
  if (!j.contains("features") || !j["features"].is_array() || !j.contains("views") ||
      !j["views"].is_array()) {
    return absl::InvalidArgumentError(
        "feature_service: expected arrays \"features\" and \"views\"");
  }
  for (size_t i = 0; i < j["features"].size(); ++i) {
    const Json& f = j["features"][i];
    const std::string where = "feature_service.features[" + std::to_string(i) + "]";
    FeatureRef ref;
    ASSIGN_OR_RETURN(ref.view, StringMember(f, "view", where));
    ASSIGN_OR_RETURN(ref.feature, StringMember(f, "feature", where));
    s.features.push_back(std::move(ref));
  }
  for (size_t i = 0; i < j["views"].size(); ++i) {
    const Json& v = j["views"][i];
    const std::string where = "feature_service.views[" + std::to_string(i) + "]";
    OnlineFeatureSpec::View view;
    ASSIGN_OR_RETURN(view.name, StringMember(v, "view", where));
    ASSIGN_OR_RETURN(view.key, StringMember(v, "key", where));
    if (v.contains("version") && v["version"].is_string()) {
      view.version = v["version"].get<std::string>();
    }
    s.views.push_back(std::move(view));
  }
  for (const FeatureRef& f : s.features) {
    auto it = std::find_if(s.views.begin(), s.views.end(),
                           [&](const OnlineFeatureSpec::View& v) { return v.name == f.view; });
    if (it == s.views.end()) {
      return absl::InvalidArgumentError("feature_service: feature '" + f.feature + "' of view '" +
                                        f.view + "' names a view not in \"views\"");
    }
  }
  return s;
}

std::shared_ptr<OnlineFeatures> OnlineFeatures::Create(
    OnlineStore* store, OnlineFeatureSpec spec, const std::vector<std::string>& model_inputs) {
  auto out = std::shared_ptr<OnlineFeatures>(new OnlineFeatures(store, std::move(spec)));
  OnlineFeatures& o = *out;
  auto is_input = [&](const std::string& name) {
    return std::find(model_inputs.begin(), model_inputs.end(), name) != model_inputs.end();
  };
  for (const FeatureRef& f : o.spec_.features) {
    if (!is_input(f.feature)) continue;
    o.refs_.push_back(f);
    o.names_.push_back(f.feature);
    auto view = std::find(o.views_.begin(), o.views_.end(), f.view);
    if (view == o.views_.end()) view = o.views_.insert(view, f.view);
    o.feature_view_.push_back(static_cast<size_t>(view - o.views_.begin()));
  }
  for (const std::string& view : o.views_) {
    const auto& views = o.spec_.views;
    const auto it = std::find_if(views.begin(), views.end(),
                                 [&](const OnlineFeatureSpec::View& v) { return v.name == view; });
    auto key = std::find(o.keys_.begin(), o.keys_.end(), it->key);
    if (key == o.keys_.end()) key = o.keys_.insert(key, it->key);
    o.view_key_.push_back(static_cast<size_t>(key - o.keys_.begin()));
  }
  o.Refresh().IgnoreError();  // kept in last_ for status()
  return out;
}

StatusOr<std::shared_ptr<const FeatureLookup>> OnlineFeatures::Build() const {
  ASSIGN_OR_RETURN(FeatureLookup lookup, FeatureLookup::Create(store_, spec_.project, refs_));
  for (size_t v = 0; v < lookup.views().size(); ++v) {
    const std::string& name = lookup.views()[v];
    for (const auto& view : spec_.views) {
      if (view.name != name || view.version.empty()) continue;
      const std::string& online = lookup.view_state(v).view_version;
      if (online != view.version) {
        return absl::FailedPreconditionError(
            "feature view '" + name + "' is materialized with view version " + online +
            ", but the model was trained on " + view.version +
            (spec_.training_set.empty() ? "" : " (training set " + spec_.training_set + ")") +
            ": materialize the view with the definitions the model was trained on, or deploy a "
            "model trained on the new ones");
      }
    }
  }
  return std::make_shared<const FeatureLookup>(std::move(lookup));
}

Status OnlineFeatures::Fill(std::vector<Json>* rows) const {
  if (refs_.empty()) return absl::OkStatus();
  const std::shared_ptr<const FeatureLookup> lookup = lookup_.load();
  const size_t nviews = views_.size();
  std::vector<std::string> key_text(nviews);
  std::vector<std::string_view> keys(nviews);
  std::vector<uint8_t> needed(nviews);
  std::vector<expr::Value> values;
  for (size_t r = 0; r < rows->size(); ++r) {
    Json& row = (*rows)[r];
    if (!row.is_object()) continue;
    // A feature the row gives, null included (a missing value the client means), is kept.
    auto missing = [&](const std::string& name) { return !row.contains(name); };
    std::fill(needed.begin(), needed.end(), 0);
    bool any = false;
    for (size_t i = 0; i < names_.size(); ++i) {
      if (missing(names_[i])) {
        needed[feature_view_[i]] = 1;
        any = true;
      }
    }
    if (!any) continue;
    for (size_t v = 0; v < nviews; ++v) {
      keys[v] = std::string_view();
      if (!needed[v]) continue;
      const std::string& key = keys_[view_key_[v]];
      auto it = row.find(key);
      if (it != row.end() && it->is_string()) {
        key_text[v] = it->get<std::string>();
      } else if (it != row.end() && (it->is_number_integer() || it->is_number_unsigned())) {
        key_text[v] = it->dump();
      } else {
        std::string gives;
        for (size_t i = 0; i < names_.size(); ++i) {
          if (feature_view_[i] == v) gives += (gives.empty() ? "" : ", ") + names_[i];
        }
        return absl::InvalidArgumentError(
            "row " + std::to_string(r) + ": " +
            (it == row.end() || it->is_null() ? "needs '" + key + "'"
                                              : "'" + key + "' must be a string or an integer") +
            " (the entity key of feature view '" + views_[v] +
            "') to look up its features, or the features themselves: " + gives);
      }
      keys[v] = key_text[v];
    }
    if (lookup == nullptr) {
      return absl::UnavailableError(
          "row " + std::to_string(r) + ": the features of service '" + spec_.service +
          "' cannot be looked up yet: " + std::string(status().message()));
    }
    for (size_t v = 0; v < nviews; ++v) {
      if (needed[v] && !lookup->Contains(v, keys[v])) {
        misses_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    lookups_.fetch_add(1, std::memory_order_relaxed);
    lookup->Get(keys, &values);
    for (size_t i = 0; i < names_.size(); ++i) {
      if (needed[feature_view_[i]] && missing(names_[i])) {
        row[names_[i]] = expr::ValueToJson(values[i]);
      }
    }
  }
  return absl::OkStatus();
}

Status OnlineFeatures::Refresh() {
  if (refs_.empty()) return absl::OkStatus();
  auto built = Build();
  if (built.ok()) lookup_.store(*std::move(built));
  std::lock_guard<std::mutex> lock(mu_);
  last_ = built.status();
  return last_;
}

Status OnlineFeatures::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

std::string OnlineFeatures::Metrics(const std::string& model, int64_t version) const {
  if (refs_.empty()) return "";
  const std::string labels =
      "{model=\"" + model + "\",version=\"" + std::to_string(version) + "\"} ";
  return "plinth_feature_lookups_total" + labels + std::to_string(lookups_.load()) + "\n" +
         "plinth_feature_lookup_misses_total" + labels + std::to_string(misses_.load()) + "\n" +
         "plinth_feature_lookup_stale" + labels + (status().ok() ? "0" : "1") + "\n";
}

}  // namespace plinth
