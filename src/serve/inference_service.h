// The Open Inference Protocol v2 REST endpoints over compiled models (docs/serving.md): what
// `plinth serve` and `plinth-edge` answer. The service knows nothing of the platform: its caller
// loads and verifies models, builds a ModelSet and swaps it in with SetModels whenever deployments
// change; requests in flight keep the set they started with.
//
//   GET  /v2/health/live | /v2/health/ready          200 while live / once models are loaded
//   GET  /v2                                          server metadata
//   GET  /v2/models/{name}[/versions/{v}]             model metadata (inputs, outputs)
//   GET  /v2/models/{name}[/versions/{v}]/ready       200 if it serves, else 503
//   POST /v2/models/{name}[/versions/{v}]/infer       score rows
//   GET  /metrics                                     Prometheus text format
//
// An infer request carries either one tensor of preprocessed features (shape [n, F] or [F], F the
// model's feature count, FP32/FP64/INT*) or named raw features, one input per feature (shape [n]
// or [n, 1], any numeric type, BOOL or BYTES), to which the model package's preprocessing is
// applied. A version with a feature lookup also takes its entity keys as inputs, and the row's
// features it leaves out are read from the online store. "parameters": {"explain": true} adds
// reason codes and contributions per row when the version has an explainer. Every scored row
// appends a decision record when a DecisionLog is given: the primary's (or canary's) returned
// result, and the shadow's logged beside it.
//
// Thread-safe: Handle may run on any number of threads at once.
#ifndef PLINTH_SERVE_INFERENCE_SERVICE_H_
#define PLINTH_SERVE_INFERENCE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "serve/compiled_model.h"
#include "serve/decision_log.h"
#include "serve/http_server.h"

namespace plinth {

// Reason codes and contributions for raw rows: {"reasons": [{code, feature, text, contribution,
// value}], "contributions": {feature: value}} per row, in order. Called with rows already scored;
// must be thread-safe.
using Explainer = std::function<StatusOr<std::vector<Json>>(const std::vector<Json>& rows)>;

// One loaded version, immutable once built.
struct ServedVersion {
  std::string project;
  std::string name;
  int64_t version = 0;
  std::string digest;  // "sha256:..." of the package's manifest
  std::shared_ptr<const CompiledModel> model;
  // The raw inputs the package's preprocessing takes, in order (name, "float64"/"string"/...).
  std::vector<std::pair<std::string, std::string>> inputs;
  Explainer explain;  // may be empty: explain requests then get 400
  // Observes every scored row (raw row as JSON, score), e.g. for drift gauges; may be empty.
  std::function<void(const Json& row, double score)> observe;
  // Lines added to /metrics for this version (e.g. its drift gauges); may be empty.
  std::function<std::string()> metrics;
  // Request inputs accepted beside `inputs` that name entities (a feature service's join keys),
  // and the hook filling each raw row's features from them (serve/online_features.h) before
  // scoring; an error is the request's (400). Both empty when the version looks nothing up.
  std::vector<std::string> lookup_keys;
  std::function<Status(std::vector<Json>* rows)> lookup;
};

// One model's deployment in the environment.
struct ServedModel {
  std::string name;
  bool stopped = false;
  std::string stop_reason;
  std::shared_ptr<const ServedVersion> primary;
  std::shared_ptr<const ServedVersion> canary;  // may be null
  int canary_percent = 0;
  std::shared_ptr<const ServedVersion> shadow;  // may be null
  // Versions that failed to load, with why (reported in metadata, never served).
  std::vector<std::string> errors;
};

struct ModelSet {
  std::map<std::string, ServedModel> models;
};

struct InferenceOptions {
  std::string environment = "staging";
  std::string server_version = "0";
  DecisionLog* decisions = nullptr;  // not owned; null: no records
  bool record_inputs = true;         // false: records keep only the input digest
  size_t max_rows = 10000;           // rows per request; beyond: 413
};

class InferenceService {
 public:
  explicit InferenceService(InferenceOptions options);
  ~InferenceService();
  InferenceService(const InferenceService&) = delete;
  InferenceService& operator=(const InferenceService&) = delete;

  // Replaces the served models; requests already running finish on the set they started with.
  // The first call makes the server ready.
  void SetModels(std::shared_ptr<const ModelSet> models);
  std::shared_ptr<const ModelSet> models() const;

  // Extra lines for /metrics (e.g. the HTTP server's counters, drift gauges), appended as given.
  void SetExtraMetrics(std::function<std::string()> extra);

  // The HttpHandler.
  void Handle(const HttpRequest& request, HttpResponse& response);

  // The Prometheus exposition of every counter.
  std::string MetricsText() const;

 private:
  struct Latency;
  struct Counters;
  Counters& CountersFor(const std::string& model) const;
  void Infer(const std::string& name, const std::string& version, const HttpRequest& request,
             HttpResponse& response);

  InferenceOptions options_;
  std::atomic<std::shared_ptr<const ModelSet>> models_;
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> request_counter_{0};
  mutable std::mutex counters_mu_;
  mutable std::map<std::string, std::unique_ptr<Counters>> counters_;
  std::function<std::string()> extra_metrics_;
};

// {"error": message} with `status`.
void JsonError(HttpResponse& response, int status, const std::string& message);

}  // namespace plinth

#endif  // PLINTH_SERVE_INFERENCE_SERVICE_H_
