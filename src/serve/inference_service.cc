#include "serve/inference_service.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_split.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"

namespace plinth {

void JsonError(HttpResponse& response, int status, const std::string& message) {
  response.status = status;
  response.content_type = "application/json";
  response.body = Json{{"error", message}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Upper bounds of the latency histogram, seconds (Prometheus `le`).
static constexpr std::array<double, 14> kBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

struct InferenceService::Latency {
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> counts{};
  std::atomic<uint64_t> sum_ns{0};
  void Observe(double seconds) {
    size_t i = 0;
    while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
    counts[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
};

// Per model: created on first use, never removed (a model that stops serving keeps its counts).
struct InferenceService::Counters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> rows{0};
  std::atomic<uint64_t> canary_rows{0};
  std::atomic<uint64_t> shadow_rows{0};
  std::atomic<uint64_t> client_errors{0};
  std::atomic<uint64_t> server_errors{0};
  std::atomic<uint64_t> unavailable{0};
  std::atomic<uint64_t> decision_errors{0};
  Latency latency;
};

namespace {

constexpr const char* kJson = "application/json";

// The member `key` of `j`, or a null value (never a temporary: callers keep pointers into it).
const Json& Member(const Json& j, const char* key) {
  static const Json* const kNull = new Json(nullptr);
  auto it = j.find(key);
  return it == j.end() ? *kNull : *it;
}

void Ok(HttpResponse& response, const Json& body) {
  response.status = 200;
  response.content_type = kJson;
  response.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool IsNumericType(const std::string& t) {
  return t == "FP32" || t == "FP64" || t == "FP16" || t == "INT8" || t == "INT16" || t == "INT32" ||
         t == "INT64" || t == "UINT8" || t == "UINT16" || t == "UINT32" || t == "UINT64";
}

// OIP data may be flat or nested row-major; flattens into `out`.
Status Flatten(const Json& data, std::vector<const Json*>* out, int depth = 0) {
  if (depth > 4) return absl::InvalidArgumentError("data is nested too deeply");
  if (!data.is_array()) {
    out->push_back(&data);
    return absl::OkStatus();
  }
  for (const Json& d : data) RETURN_IF_ERROR(Flatten(d, out, depth + 1));
  return absl::OkStatus();
}

// A JSON value as a float for a numeric tensor; null and NaN are missing.
StatusOr<float> NumberOf(const Json& v, const std::string& input, size_t index) {
  if (v.is_number()) return static_cast<float>(v.get<double>());
  if (v.is_null()) return std::nanf("");
  if (v.is_boolean()) return v.get<bool>() ? 1.0f : 0.0f;
  return absl::InvalidArgumentError("input '" + input + "': element " + std::to_string(index) +
                                    " is not a number");
}

// The shape's product, checked against the data's length.
StatusOr<int64_t> ShapeSize(const Json& input, const std::string& name) {
  const Json& shape = Member(input, "shape");
  if (!shape.is_array() || shape.empty() || shape.size() > 2) {
    return absl::InvalidArgumentError("input '" + name + "': shape must be [n] or [n, m]");
  }
  int64_t size = 1;
  for (const Json& d : shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > (1 << 24)) {
      return absl::InvalidArgumentError("input '" + name + "': bad shape " + shape.dump());
    }
    size *= d.get<int64_t>();
  }
  return size;
}

uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

std::string Label(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// What a request scores: raw rows (named features) or a preprocessed matrix.
struct Batch {
  size_t n = 0;
  bool raw = false;
  std::vector<Json> rows;     // raw: one object per row
  std::vector<float> matrix;  // tensor: n * features
  size_t features = 0;
};

StatusOr<Batch> ParseInputs(const Json& inputs, const ServedVersion& v, size_t max_rows) {
  if (!inputs.is_array() || inputs.empty()) {
    return absl::InvalidArgumentError("inputs: expected a non-empty array of tensors");
  }
  Batch b;
  const size_t f = v.model->num_features();
  auto is_input = [&](const std::string& name) {
    for (const auto& [n, t] : v.inputs) {
      if (n == name) return true;
    }
    return std::find(v.lookup_keys.begin(), v.lookup_keys.end(), name) != v.lookup_keys.end();
  };
  const std::string first =
      inputs[0].is_object() && inputs[0].contains("name") && inputs[0]["name"].is_string()
          ? inputs[0]["name"].get<std::string>()
          : "";
  if (inputs.size() == 1 && !is_input(first)) {
    // One tensor of preprocessed features.
    const Json& t = inputs[0];
    const std::string type = t.value("datatype", "");
    if (!IsNumericType(type)) {
      return absl::InvalidArgumentError("input '" + first + "': datatype " + type +
                                        " is not numeric (a tensor of features), and '" + first +
                                        "' is not a raw input of the model");
    }
    const Json& shape = Member(t, "shape");
    ASSIGN_OR_RETURN(int64_t size, ShapeSize(t, first));
    const int64_t cols = shape.size() == 2 ? shape[1].get<int64_t>() : static_cast<int64_t>(f);
    if (cols != static_cast<int64_t>(f) || (shape.size() == 1 && size != cols)) {
      return absl::InvalidArgumentError("input '" + first + "': shape " + shape.dump() +
                                        " does not match the model's " + std::to_string(f) +
                                        " features (expected [n, " + std::to_string(f) + "])");
    }
    std::vector<const Json*> data;
    RETURN_IF_ERROR(Flatten(Member(t, "data"), &data));
    if (static_cast<int64_t>(data.size()) != size) {
      return absl::InvalidArgumentError("input '" + first + "': shape " + shape.dump() + " holds " +
                                        std::to_string(size) + " values but data has " +
                                        std::to_string(data.size()));
    }
    b.n = f == 0 ? 0 : data.size() / f;
    b.features = f;
    if (b.n > max_rows) {
      return absl::OutOfRangeError(std::to_string(b.n) + " rows exceed the limit of " +
                                   std::to_string(max_rows));
    }
    b.matrix.resize(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      ASSIGN_OR_RETURN(b.matrix[i], NumberOf(*data[i], first, i));
    }
    return b;
  }
  // Named raw features, one input per feature.
  b.raw = true;
  int64_t n = -1;
  for (const Json& t : inputs) {
    const std::string name = t.is_object() && t.contains("name") && t["name"].is_string()
                                 ? t["name"].get<std::string>()
                                 : "";
    if (name.empty()) return absl::InvalidArgumentError("inputs: every input needs a name");
    if (!is_input(name)) {
      return absl::InvalidArgumentError("input '" + name + "' is not an input of " + v.name + "@" +
                                        std::to_string(v.version));
    }
    ASSIGN_OR_RETURN(int64_t size, ShapeSize(t, name));
    const Json& shape = t["shape"];
    if (shape.size() == 2 && shape[1] != 1) {
      return absl::InvalidArgumentError("input '" + name +
                                        "': a raw feature has shape [n] or [n, 1]");
    }
    if (n >= 0 && size != n) {
      return absl::InvalidArgumentError("input '" + name + "' has " + std::to_string(size) +
                                        " rows, others " + std::to_string(n));
    }
    n = size;
    if (static_cast<size_t>(n) > max_rows) {
      return absl::OutOfRangeError(std::to_string(n) + " rows exceed the limit of " +
                                   std::to_string(max_rows));
    }
    std::vector<const Json*> data;
    RETURN_IF_ERROR(Flatten(Member(t, "data"), &data));
    if (static_cast<int64_t>(data.size()) != n) {
      return absl::InvalidArgumentError("input '" + name + "': shape says " + std::to_string(n) +
                                        " values but data has " + std::to_string(data.size()));
    }
    if (b.rows.empty()) b.rows.assign(n, Json::object());
    for (int64_t i = 0; i < n; ++i) b.rows[i][name] = *data[i];
  }
  b.n = static_cast<size_t>(n);
  // Features looked up by entity key, then an input still left out is missing in every row.
  if (v.lookup) RETURN_IF_ERROR(v.lookup(&b.rows));
  for (Json& row : b.rows) {
    for (const auto& [name, type] : v.inputs) {
      if (!row.contains(name)) row[name] = nullptr;
    }
  }
  return b;
}

StatusOr<std::vector<double>> Score(const ServedVersion& v, const Batch& b) {
  std::vector<double> out(b.n);
  if (!b.raw) {
    if (b.n == 1) {
      out[0] = v.model->PredictRow(std::span<const float>(b.matrix.data(), b.features));
    } else if (b.n > 1) {
      v.model->PredictBatch(b.matrix.data(), b.n, b.features, out.data());
    }
    return out;
  }
  std::vector<float> buffer(v.model->num_features());
  for (size_t i = 0; i < b.n; ++i) {
    auto s = v.model->PredictJsonRow(b.rows[i], std::span<float>(buffer));
    if (!s.ok()) {
      return Status(s.status().code(),
                    "row " + std::to_string(i) + ": " + std::string(s.status().message()));
    }
    out[i] = *s;
  }
  return out;
}

}  // namespace

InferenceService::InferenceService(InferenceOptions options) : options_(std::move(options)) {
  models_.store(std::make_shared<const ModelSet>());
}

InferenceService::~InferenceService() = default;

void InferenceService::SetModels(std::shared_ptr<const ModelSet> models) {
  models_.store(std::move(models));
  ready_.store(true);
}

std::shared_ptr<const ModelSet> InferenceService::models() const { return models_.load(); }

void InferenceService::SetExtraMetrics(std::function<std::string()> extra) {
  std::lock_guard<std::mutex> lock(counters_mu_);
  extra_metrics_ = std::move(extra);
}

InferenceService::Counters& InferenceService::CountersFor(const std::string& model) const {
  std::lock_guard<std::mutex> lock(counters_mu_);
  auto& c = counters_[model];
  if (!c) c = std::make_unique<Counters>();
  return *c;
}

void InferenceService::Handle(const HttpRequest& request, HttpResponse& response) {
  const std::string& path = request.path;
  if (path == "/metrics" && request.method == "GET") {
    response.status = 200;
    response.content_type = "text/plain; version=0.0.4";
    response.body = MetricsText();
    return;
  }
  if (path == "/v2/health/live") {
    Ok(response, {{"live", true}});
    return;
  }
  if (path == "/v2/health/ready") {
    const bool ready = ready_.load();
    Ok(response, {{"ready", ready}});
    if (!ready) response.status = 503;
    return;
  }
  if (path == "/v2" || path == "/v2/") {
    Ok(response, {{"name", "plinth"},
                  {"version", options_.server_version},
                  {"extensions", Json::array({"explain", "decision-records"})},
                  {"environment", options_.environment}});
    return;
  }
  constexpr std::string_view kModels = "/v2/models/";
  if (path.rfind(kModels, 0) != 0) {
    JsonError(response, 404, "no such endpoint: " + path.substr(0, 200));
    return;
  }
  // {name}[/versions/{v}][/ready|/infer]
  std::vector<std::string> parts = absl::StrSplit(path.substr(kModels.size()), '/');
  std::string name = parts.empty() ? "" : parts[0];
  std::string version;
  std::string action;
  size_t i = 1;
  if (parts.size() >= 3 && parts[1] == "versions") {
    version = parts[2];
    i = 3;
  }
  if (i < parts.size()) action = parts[i++];
  if (name.empty() || i < parts.size() ||
      (!action.empty() && action != "ready" && action != "infer")) {
    JsonError(response, 404, "no such endpoint: " + path.substr(0, 200));
    return;
  }
  if (action == "infer") {
    if (request.method != "POST") {
      JsonError(response, 405, "infer takes POST");
      return;
    }
    Infer(name, version, request, response);
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    JsonError(response, 405, path.substr(0, 200) + " takes GET");
    return;
  }
  std::shared_ptr<const ModelSet> set = models_.load();
  auto it = set->models.find(name);
  if (it == set->models.end()) {
    JsonError(response, 404,
              "model '" + name.substr(0, 128) + "' is not deployed to " + options_.environment);
    return;
  }
  const ServedModel& m = it->second;
  std::vector<std::shared_ptr<const ServedVersion>> versions;
  for (const auto& v : {m.primary, m.canary}) {
    if (v && (version.empty() || std::to_string(v->version) == version)) versions.push_back(v);
  }
  if (!version.empty() && versions.empty()) {
    JsonError(response, 404,
              "version " + version.substr(0, 32) + " of '" + name + "' is not served in " +
                  options_.environment);
    return;
  }
  const bool serving = !m.stopped && !versions.empty();
  if (action == "ready") {
    Ok(response, {{"name", name}, {"ready", serving}});
    if (!serving) response.status = 503;
    return;
  }
  Json inputs = Json::array();
  Json vs = Json::array();
  if (!versions.empty()) {
    for (const auto& [input, type] : versions[0]->inputs) {
      inputs.push_back(
          {{"name", input},
           {"datatype", type == "string" ? "BYTES" : (type == "bool" ? "BOOL" : "FP64")},
           {"shape", {-1}}});
    }
  }
  for (const auto& v : versions) vs.push_back(std::to_string(v->version));
  const bool binary = !versions.empty() && versions[0]->model->binary();
  Json meta = {{"name", name},
               {"versions", vs},
               {"platform", "plinth-compiled"},
               {"inputs", inputs},
               {"outputs", Json::array({{{"name", binary ? "probability" : "prediction"},
                                         {"datatype", "FP64"},
                                         {"shape", {-1}}}})},
               {"parameters",
                {{"environment", options_.environment},
                 {"state", m.stopped ? "stopped" : "active"},
                 {"features", versions.empty() ? 0 : versions[0]->model->num_features()}}}};
  if (!versions.empty()) {
    meta["parameters"]["project"] = versions[0]->project;
    meta["parameters"]["digest"] = versions[0]->digest;
    // Rows may carry only these keys: the other features are looked up in the online store.
    if (!versions[0]->lookup_keys.empty()) {
      meta["parameters"]["entity_keys"] = versions[0]->lookup_keys;
    }
  }
  if (m.stopped) meta["parameters"]["stop_reason"] = m.stop_reason;
  if (m.canary) meta["parameters"]["canary_percent"] = m.canary_percent;
  if (!m.errors.empty()) meta["parameters"]["errors"] = m.errors;
  Ok(response, meta);
}

void InferenceService::Infer(const std::string& name, const std::string& version,
                             const HttpRequest& request, HttpResponse& response) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<const ModelSet> set = models_.load();
  auto it = set->models.find(name);
  if (it == set->models.end()) {
    JsonError(response, 404,
              "model '" + name.substr(0, 128) + "' is not deployed to " + options_.environment);
    return;
  }
  const ServedModel& m = it->second;
  Counters& counters = CountersFor(name);
  counters.requests.fetch_add(1, std::memory_order_relaxed);
  auto fail = [&](int status, const std::string& message) {
    (status >= 500 ? (status == 503 ? counters.unavailable : counters.server_errors)
                   : counters.client_errors)
        .fetch_add(1, std::memory_order_relaxed);
    JsonError(response, status, message);
  };
  if (m.stopped) {
    fail(503, "'" + name + "' is stopped in " + options_.environment + ": " + m.stop_reason);
    return;
  }
  if (!m.primary) {
    fail(503, "'" + name + "' has no loadable version in " + options_.environment +
                  (m.errors.empty() ? "" : ": " + m.errors[0]));
    return;
  }
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    fail(400, "the body is not a JSON object");
    return;
  }
  std::string id;
  if (body.contains("id")) {
    if (!body["id"].is_string() || body["id"].get<std::string>().size() > 256) {
      fail(400, "id: expected a string of at most 256 characters");
      return;
    }
    id = body["id"].get<std::string>();
  }
  if (id.empty()) {
    id = "req-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
         "-" + std::to_string(request_counter_.fetch_add(1, std::memory_order_relaxed));
  }
  bool explain = false;
  if (body.contains("parameters") && body["parameters"].is_object()) {
    const Json& p = body["parameters"];
    explain = p.contains("explain") && p["explain"].is_boolean() && p["explain"].get<bool>();
  }
  // Which version answers: the one asked for, else the canary for its share of ids.
  std::shared_ptr<const ServedVersion> chosen = m.primary;
  std::string route = "primary";
  if (!version.empty()) {
    if (std::to_string(m.primary->version) == version) {
      chosen = m.primary;
    } else if (m.canary && std::to_string(m.canary->version) == version) {
      chosen = m.canary;
      route = "canary";
    } else {
      fail(404, "version " + version.substr(0, 32) + " of '" + name + "' is not served in " +
                    options_.environment);
      return;
    }
  } else if (m.canary && static_cast<int>(Fnv1a(id) % 100) < m.canary_percent) {
    chosen = m.canary;
    route = "canary";
  }
  auto batch = ParseInputs(Member(body, "inputs"), *chosen, options_.max_rows);
  if (!batch.ok()) {
    const int status = absl::IsOutOfRange(batch.status())    ? 413
                       : absl::IsUnavailable(batch.status()) ? 503
                                                             : 400;
    fail(status, std::string(batch.status().message()));
    return;
  }
  if (explain && !chosen->explain) {
    fail(400,
         "explain: " + name + "@" + std::to_string(chosen->version) + " has no explainer here");
    return;
  }
  if (explain && !batch->raw) {
    fail(400, "explain needs named raw features (one input per feature), not a feature tensor");
    return;
  }
  auto scores = Score(*chosen, *batch);
  if (!scores.ok()) {
    fail(400, std::string(scores.status().message()));
    return;
  }
  std::vector<Json> explanations;
  if (explain) {
    auto e = chosen->explain(batch->rows);
    if (!e.ok() || e->size() != batch->n) {
      fail(500, "explain failed: " +
                    (e.ok() ? std::string("wrong row count") : std::string(e.status().message())));
      return;
    }
    explanations = *std::move(e);
  }
  const double latency_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  const std::string output_name = chosen->model->binary() ? "probability" : "prediction";
  Json out = {{"model_name", name},
              {"model_version", std::to_string(chosen->version)},
              {"id", id},
              {"parameters", {{"route", route}}},
              {"outputs", Json::array({{{"name", output_name},
                                        {"datatype", "FP64"},
                                        {"shape", {batch->n}},
                                        {"data", *scores}}})}};
  if (explain) {
    size_t k = 0;
    for (const Json& e : explanations) k = std::max(k, e["reasons"].size());
    Json codes = Json::array();
    for (const Json& e : explanations) {
      for (size_t j = 0; j < k; ++j) {
        codes.push_back(j < e["reasons"].size() ? e["reasons"][j].value("code", "") : "");
      }
    }
    out["outputs"].push_back({{"name", "reason_codes"},
                              {"datatype", "BYTES"},
                              {"shape", {batch->n, k}},
                              {"data", codes}});
    out["parameters"]["explanations"] = explanations;
  }
  for (size_t r = 0; r < batch->n && chosen->observe; ++r) {
    chosen->observe(batch->raw ? batch->rows[r] : Json(), (*scores)[r]);
  }
  // Decision records: one per row, and the shadow's beside them.
  if (options_.decisions != nullptr) {
    const int64_t now = SystemClock()->NowMicros();
    auto record = [&](const ServedVersion& v, const std::string& r, const std::vector<double>& s,
                      const std::vector<Json>* reasons, double latency) {
      for (size_t row = 0; row < batch->n; ++row) {
        DecisionRecord rec;
        rec.id = batch->n == 1 ? id : id + "#" + std::to_string(row);
        if (r == "shadow") rec.id += "~shadow";
        rec.time = now;
        rec.environment = options_.environment;
        rec.model = name;
        rec.version = v.version;
        rec.model_digest = v.digest;
        Json inputs;
        if (batch->raw) {
          inputs = batch->rows[row];
        } else {
          inputs = Json::array();
          for (size_t c = 0; c < batch->features; ++c) {
            float x = batch->matrix[row * batch->features + c];
            inputs.push_back(std::isnan(x) ? Json(nullptr) : Json(static_cast<double>(x)));
          }
        }
        auto canonical = CanonicalJson(inputs);
        rec.input_digest = canonical.ok() ? Sha256Digest(*canonical) : "";
        if (options_.record_inputs) rec.inputs = std::move(inputs);
        rec.output = {{output_name, s[row]}};
        rec.reasons = reasons != nullptr ? (*reasons)[row]["reasons"] : Json(nullptr);
        rec.latency_us = latency;
        rec.route = r;
        if (!options_.decisions->Append(rec).ok()) {
          counters.decision_errors.fetch_add(1, std::memory_order_relaxed);
        }
      }
    };
    record(*chosen, route, *scores, explain ? &explanations : nullptr, latency_us);
    if (m.shadow && m.shadow != chosen) {
      const auto shadow_start = std::chrono::steady_clock::now();
      auto shadow_scores = Score(*m.shadow, *batch);
      const double shadow_us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - shadow_start)
              .count();
      if (shadow_scores.ok()) {
        record(*m.shadow, "shadow", *shadow_scores, nullptr, shadow_us);
        counters.shadow_rows.fetch_add(batch->n, std::memory_order_relaxed);
      }
    }
  }
  counters.rows.fetch_add(batch->n, std::memory_order_relaxed);
  if (route == "canary") counters.canary_rows.fetch_add(batch->n, std::memory_order_relaxed);
  Ok(response, out);
  counters.latency.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

std::string InferenceService::MetricsText() const {
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  std::shared_ptr<const ModelSet> set = models_.load();
  line("# HELP plinth_model_info The versions deployed to this environment (1 while loaded).");
  line("# TYPE plinth_model_info gauge");
  for (const auto& [name, m] : set->models) {
    auto info = [&](const std::shared_ptr<const ServedVersion>& v, const char* route) {
      if (!v) return;
      line("plinth_model_info{environment=\"" + Label(options_.environment) + "\",model=\"" +
           Label(name) + "\",version=\"" + std::to_string(v->version) + "\",digest=\"" +
           Label(v->digest) + "\",route=\"" + route + "\",state=\"" +
           (m.stopped ? "stopped" : "active") + "\"} 1");
    };
    info(m.primary, "primary");
    info(m.canary, "canary");
    info(m.shadow, "shadow");
  }
  bool drift_help = false;
  for (const auto& [name, m] : set->models) {
    for (const auto& v : {m.primary, m.canary}) {
      if (!v || !v->metrics) continue;
      if (!drift_help) {
        line(
            "# HELP plinth_drift_psi Population stability index of a feature (or the score) over "
            "the last window of served rows against the version's baseline.");
        line("# TYPE plinth_drift_psi gauge");
        drift_help = true;
      }
      out += v->metrics();
    }
  }
  std::lock_guard<std::mutex> lock(counters_mu_);
  struct Family {
    const char* name;
    const char* help;
    std::atomic<uint64_t> Counters::*field;
  };
  const Family families[] = {
      {"plinth_infer_requests_total", "Infer requests received.", &Counters::requests},
      {"plinth_infer_rows_total", "Rows scored and returned.", &Counters::rows},
      {"plinth_infer_canary_rows_total", "Rows answered by a canary version.",
       &Counters::canary_rows},
      {"plinth_infer_shadow_rows_total", "Rows scored by a shadow version (logged only).",
       &Counters::shadow_rows},
      {"plinth_infer_client_errors_total", "Infer requests refused as malformed (4xx).",
       &Counters::client_errors},
      {"plinth_infer_server_errors_total", "Infer requests that failed in the server (500).",
       &Counters::server_errors},
      {"plinth_infer_unavailable_total", "Infer requests for a stopped or unloadable model (503).",
       &Counters::unavailable},
      {"plinth_decision_record_errors_total", "Decision records that could not be appended.",
       &Counters::decision_errors},
  };
  for (const Family& f : families) {
    line(std::string("# HELP ") + f.name + " " + f.help);
    line(std::string("# TYPE ") + f.name + " counter");
    for (const auto& [name, c] : counters_) {
      line(std::string(f.name) + "{model=\"" + Label(name) + "\"} " +
           std::to_string(((*c).*(f.field)).load(std::memory_order_relaxed)));
    }
  }
  line("# HELP plinth_infer_duration_seconds Time to answer an infer request, parsing included.");
  line("# TYPE plinth_infer_duration_seconds histogram");
  for (const auto& [name, c] : counters_) {
    uint64_t cumulative = 0;
    char le[32];
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += c->latency.counts[b].load(std::memory_order_relaxed);
      if (b < kBuckets.size()) {
        std::snprintf(le, sizeof(le), "%g", kBuckets[b]);
      } else {
        std::snprintf(le, sizeof(le), "+Inf");
      }
      line("plinth_infer_duration_seconds_bucket{model=\"" + Label(name) + "\",le=\"" + le +
           "\"} " + std::to_string(cumulative));
    }
    char sum[64];
    std::snprintf(sum, sizeof(sum), "%.9f", c->latency.sum_ns.load() / 1e9);
    line("plinth_infer_duration_seconds_sum{model=\"" + Label(name) + "\"} " + sum);
    line("plinth_infer_duration_seconds_count{model=\"" + Label(name) + "\"} " +
         std::to_string(cumulative));
  }
  if (extra_metrics_) out += extra_metrics_();
  return out;
}

}  // namespace plinth
