// The inference server and its decision records from the terminal (docs/serving.md):
//   plinth serve --env staging|production [--listen HOST:PORT] [--decisions DIR]
//   plinth decisions show ID [--env E] | plinth decisions export --from T --to T [--env E]
//
// `plinth serve` polls the platform's deployments for the environment (in process on the home,
// or a control-plane server with --server), and whenever one changes resolves what to serve:
// every deployed version's files are downloaded with their digests checked, the package's
// manifest digest must equal the deployed one, and the platform verified the version's
// attestations and approval while resolving (a tampered or unapproved version is never loaded).
// Models are compiled (serve/compile.h), and an XGBoost scorer is kept beside each for reason
// codes. The new set replaces the old between requests: nothing in flight is dropped. A version
// trained on a feature service's training set also takes rows by entity id: the features they
// leave out are read from the online store (serve/online_features.h), refreshed at each poll.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_join.h"
#include "cli/command_support.h"
#include "cli/output.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/random.h"
#include "core/sha256.h"
#include "explain/explain.h"
#include "features/redis_online_store.h"
#include "monitor/baseline.h"
#include "monitor/drift.h"
#include "platform/home.h"
#include "serve/compile.h"
#include "serve/decision_log.h"
#include "serve/http_server.h"
#include "serve/inference_service.h"
#include "serve/online_features.h"
#include "train/model_package.h"

namespace plinth {
namespace {

namespace fs = std::filesystem;

struct ServeOptions {
  std::string env = "staging";
  std::string listen = "127.0.0.1:8080";
  std::string decisions;
  int io_threads = 2;
  int handler_threads = 0;
  int max_pending = 256;
  int poll_ms = 1000;
  bool no_inputs = false;
  std::string online_store;
  // decisions show / export
  std::string id, from, to, out, record_env;
};

// A one-row-per-object table of the model's raw inputs, typed as the manifest declares them.
StatusOr<Table> RowsToTable(const std::vector<Json>& rows, const std::vector<ModelInput>& inputs) {
  Table t;
  const size_t n = rows.size();
  for (const ModelInput& in : inputs) {
    std::vector<uint8_t> valid(n, 1);
    auto cell = [&](size_t r) -> const Json* {
      auto it = rows[r].find(in.name);
      if (it == rows[r].end() || it->is_null()) {
        valid[r] = 0;
        return nullptr;
      }
      return &*it;
    };
    StatusOr<Column> column = absl::InternalError("unset");
    switch (in.type) {
      case ColumnType::kString: {
        std::vector<int32_t> codes(n, 0);
        std::vector<std::string> dict;
        std::map<std::string, int32_t> index;
        for (size_t r = 0; r < n; ++r) {
          const Json* v = cell(r);
          if (v == nullptr) continue;
          std::string s = v->is_string() ? v->get<std::string>() : v->dump();
          auto [it, added] = index.emplace(s, static_cast<int32_t>(dict.size()));
          if (added) dict.push_back(s);
          codes[r] = it->second;
        }
        column = Column::FromCodes(in.name, std::move(codes), std::move(dict), std::move(valid));
        break;
      }
      case ColumnType::kBool: {
        std::vector<uint8_t> values(n, 0);
        for (size_t r = 0; r < n; ++r) {
          const Json* v = cell(r);
          if (v != nullptr)
            values[r] = v->is_boolean() ? v->get<bool>() : (v->is_number() && *v != 0);
        }
        column = Column::FromBools(in.name, std::move(values), std::move(valid));
        break;
      }
      case ColumnType::kInt64:
      case ColumnType::kTimestamp: {
        std::vector<int64_t> values(n, 0);
        for (size_t r = 0; r < n; ++r) {
          const Json* v = cell(r);
          if (v != nullptr && v->is_number())
            values[r] = static_cast<int64_t>(v->get<double>());
          else if (v != nullptr)
            valid[r] = 0;
        }
        column = Column::FromInt64s(in.name, in.type, std::move(values), std::move(valid));
        break;
      }
      case ColumnType::kFloat64: {
        std::vector<double> values(n, 0);
        for (size_t r = 0; r < n; ++r) {
          const Json* v = cell(r);
          if (v != nullptr && v->is_number())
            values[r] = v->get<double>();
          else if (v != nullptr)
            valid[r] = 0;
        }
        column = Column::FromFloat64s(in.name, std::move(values), std::move(valid));
        break;
      }
    }
    if (!column.ok()) return column.status();
    RETURN_IF_ERROR(t.AddColumn(*std::move(column)));
  }
  return t;
}

// Reason texts and codes as the version's explain step configured them, read back from its
// explanations evidence (the sampled rows' reason codes and the frequency table).
ReasonCodeOptions ReasonOptionsFrom(const Json& explanations) {
  ReasonCodeOptions o;
  if (explanations.contains("adverse") && explanations["adverse"].is_string()) {
    o.adverse = explanations["adverse"].get<std::string>();
  }
  if (explanations.contains("rows") && explanations["rows"].is_array()) {
    for (const Json& row : explanations["rows"]) {
      if (!row.contains("reason_codes") || !row["reason_codes"].is_array()) continue;
      for (const Json& rc : row["reason_codes"]) {
        if (!rc.is_object() || !rc.contains("feature")) continue;
        const std::string f = rc.value("feature", "");
        if (rc.contains("code") && rc["code"].is_string()) o.codes[f] = rc["code"];
        if (rc.contains("text") && rc["text"].is_string()) o.texts[f] = rc["text"];
      }
    }
  }
  if (explanations.contains("reason_code_frequency") &&
      explanations["reason_code_frequency"].is_array()) {
    for (const Json& rc : explanations["reason_code_frequency"]) {
      if (rc.is_object() && rc.contains("feature") && rc.contains("code") &&
          rc["code"].is_string()) {
        o.codes[rc.value("feature", "")] = rc["code"];
      }
    }
  }
  return o;
}

// Scores with the package's own scorer for contributions (XGBoost boosters are not thread-safe:
// one at a time), then picks reason codes.
class ScorerExplainer {
 public:
  ScorerExplainer(std::unique_ptr<Scorer> scorer, ReasonCodeOptions options)
      : scorer_(std::move(scorer)), options_(std::move(options)) {}
  StatusOr<std::vector<Json>> operator()(const std::vector<Json>& rows) {
    ASSIGN_OR_RETURN(Table table, RowsToTable(rows, scorer_->manifest().inputs));
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(Contributions c, scorer_->Contributions(table));
    ASSIGN_OR_RETURN(auto reasons, ReasonCodes(c, table, options_));
    std::vector<Json> out(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      Json rs = Json::array();
      for (const ReasonCode& code : reasons[r]) rs.push_back(code.ToJson());
      Json contributions = Json::object();
      for (size_t f = 0; f < c.features.size(); ++f) {
        contributions[c.features[f]] = c.values[r * c.features.size() + f];
      }
      out[r] = {{"reasons", rs},
                {"contributions", contributions},
                {"bias", r < c.bias.size() ? c.bias[r] : 0.0}};
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<Scorer> scorer_;
  ReasonCodeOptions options_;
};

// Drift gauges of one served version: rows scored go into an accumulator against the version's
// baseline; every `window` rows the report is kept for /metrics and the accumulator starts over.
class DriftGauges {
 public:
  DriftGauges(monitor::DriftAccumulator acc, std::string model, int64_t version, size_t window)
      : acc_(std::move(acc)), model_(std::move(model)), version_(version), window_(window) {}
  void Observe(const Json& row, double score) {
    if (!row.is_object()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!acc_.AddRow(row, score).ok()) return;
    if (acc_.rows() >= window_) {
      last_ = acc_.Report();
      acc_.Reset();
    }
  }
  std::string Metrics() {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<monitor::DriftReport> report = last_;
    if (!report && acc_.rows() > 0) report = acc_.Report();
    if (!report) return "";
    std::string out;
    auto gauge = [&](const std::string& feature, const std::optional<double>& psi) {
      if (!psi) return;
      char value[32];
      std::snprintf(value, sizeof(value), "%.6g", *psi);
      out += "plinth_drift_psi{model=\"" + model_ + "\",version=\"" + std::to_string(version_) +
             "\",feature=\"" + feature + "\"} " + value + "\n";
    };
    for (const auto& f : report->features) gauge(f.name, f.psi);
    if (report->score) gauge("(score)", report->score->psi);
    return out;
  }

 private:
  std::mutex mu_;
  monitor::DriftAccumulator acc_;
  std::optional<monitor::DriftReport> last_;
  std::string model_;
  int64_t version_;
  size_t window_;
};

// Loads what the platform says an environment serves, reusing versions already loaded.
class ModelLoader {
 public:
  // `online` (may be null: no lookups by entity id) must outlive the loader.
  ModelLoader(PlatformClient* client, std::string env, std::string cache_dir, OnlineStore* online)
      : client_(client), env_(std::move(env)), cache_dir_(std::move(cache_dir)), online_(online) {}

  // Reads the online features of every loaded version again (new materializations); logs a
  // version whose lookups start or stop failing.
  void RefreshLookups() {
    for (const auto& [digest, lookup] : lookups_) {
      const auto& [label, features] = lookup;
      const bool was_ok = features->status().ok();
      Status s = features->Refresh();
      if (s.ok() != was_ok) {
        std::cerr << "serve: " << label << ": "
                  << (s.ok() ? std::string("online features available again")
                             : "online features not refreshed: " + std::string(s.message()))
                  << std::endl;
      }
    }
  }

  // The deployments' generations, to notice changes with one cheap call.
  StatusOr<std::string> Fingerprint() {
    ASSIGN_OR_RETURN(Json listed, client_->Call("deployment.list", {{"environment", env_}}));
    std::string f;
    for (const Json& d : listed["deployments"]) {
      f += d["id"].get<std::string>() + ":" + std::to_string(d["generation"].get<int64_t>()) + ";";
    }
    return f;
  }

  StatusOr<std::shared_ptr<const ModelSet>> Load() {
    ASSIGN_OR_RETURN(Json resolved, client_->Call("deployment.resolve", {{"environment", env_}}));
    auto set = std::make_shared<ModelSet>();
    std::map<std::string, std::shared_ptr<const ServedVersion>> loaded;
    for (const Json& d : resolved["deployments"]) {
      ServedModel m;
      m.name = d["name"].get<std::string>();
      m.stopped = d["state"] != "active";
      m.stop_reason = d.value("reason", "");
      if (d.contains("errors")) {
        for (const Json& e : d["errors"]) {
          m.errors.push_back(e["role"].get<std::string>() + " @" + e["version"].dump() + ": " +
                             e["error"].get<std::string>());
        }
      }
      if (d.contains("serving")) {
        for (const auto& [role, v] : d["serving"].items()) {
          auto version = LoadVersion(d["project"].get<std::string>(), m.name, v);
          if (!version.ok()) {
            m.errors.push_back(role + " @" + v["version"].dump() + ": " +
                               std::string(version.status().message()));
            continue;
          }
          loaded[(*version)->digest] = *version;
          if (role == "primary") m.primary = *version;
          if (role == "canary") m.canary = *version;
          if (role == "shadow") m.shadow = *version;
        }
      }
      if (d["canary"].is_object()) m.canary_percent = d["canary"]["percent"].get<int>();
      for (const std::string& e : m.errors) {
        std::cerr << "serve: " << m.name << ": not serving " << e << "\n";
      }
      set->models[m.name] = std::move(m);
    }
    cache_ = std::move(loaded);
    for (auto it = lookups_.begin(); it != lookups_.end();) {
      it = cache_.count(it->first) ? std::next(it) : lookups_.erase(it);
    }
    return std::shared_ptr<const ModelSet>(std::move(set));
  }

 private:
  StatusOr<std::shared_ptr<const ServedVersion>> LoadVersion(const std::string& project,
                                                             const std::string& name,
                                                             const Json& v) {
    const std::string digest = v["digest"].get<std::string>();
    auto cached = cache_.find(digest);
    if (cached != cache_.end()) return cached->second;
    // Every file through its digest: GetArtifact writes a file only once its content hashed to
    // the digest the platform signed.
    std::map<std::string, std::string> files;
    for (const auto& [file, file_digest] : v["files"].items()) {
      const std::string path = cache_dir_ + "/" + RandomHex(8);
      RETURN_IF_ERROR(client_->GetArtifact(file_digest.get<std::string>(), path, nullptr));
      auto bytes = ReadFile(path);
      fs::remove(path);
      if (!bytes.ok()) return bytes.status();
      files[file] = *std::move(bytes);
    }
    auto manifest = files.find(std::string(kManifestFileName));
    if (manifest == files.end() || Sha256Digest(manifest->second) != digest) {
      return absl::DataLossError(name + "@" + v["version"].dump() +
                                 ": manifest.json does not match the deployed digest " + digest);
    }
    ASSIGN_OR_RETURN(ModelPackage package, ParseModelPackage(std::move(files)));
    ASSIGN_OR_RETURN(CompiledModel compiled, CompileModel(package));
    auto served = std::make_shared<ServedVersion>();
    served->project = project;
    served->name = name;
    served->version = v["version"].get<int64_t>();
    served->digest = digest;
    served->model = std::make_shared<const CompiledModel>(std::move(compiled));
    std::vector<std::string> input_names;
    for (const ModelInput& in : package.manifest.inputs) {
      served->inputs.emplace_back(in.name, ColumnTypeName(in.type));
      input_names.push_back(in.name);
    }
    const std::string label = name + "@" + std::to_string(served->version);
    std::shared_ptr<OnlineFeatures> lookup;  // null: this version looks nothing up
    if (v.contains("feature_service") && v["feature_service"].is_object()) {
      ASSIGN_OR_RETURN(OnlineFeatureSpec spec, OnlineFeatureSpecFromJson(v["feature_service"]));
      if (online_ == nullptr) {
        std::cerr << "serve: " << label << " was trained on feature service '" << spec.service
                  << "', but this server has no online store (--online-store): its rows must "
                     "carry every feature\n";
      } else {
        lookup = OnlineFeatures::Create(online_, std::move(spec), input_names);
        if (lookup->keys().empty()) {
          lookup = nullptr;  // the model takes none of the service's features
        } else {
          if (!lookup->status().ok()) {
            std::cerr << "serve: " << label
                      << ": online features not available yet: " << lookup->status().message()
                      << "\n";
          }
          served->lookup_keys = lookup->keys();
          served->lookup = [lookup](std::vector<Json>* rows) { return lookup->Fill(rows); };
          lookups_[digest] = {label, lookup};
        }
      }
    }
    // Reason codes come from the package's own scorer and the explain step's texts; drift gauges
    // from the version's baseline.
    auto shown = client_->Call(
        "model.show", {{"project", project}, {"name", name}, {"version", v["version"].dump()}});
    auto evidence_json = [&](const char* key) -> Json {
      if (!shown.ok() || !(*shown)["evidence"].contains(key)) return Json();
      const std::string path = cache_dir_ + "/" + RandomHex(8);
      if (!client_->GetArtifact((*shown)["evidence"][key].get<std::string>(), path, nullptr).ok()) {
        return Json();
      }
      auto text = ReadFile(path);
      fs::remove(path);
      if (!text.ok()) return Json();
      Json e = Json::parse(*text, nullptr, false);
      return e.is_discarded() ? Json() : e;
    };
    const Json baseline_json = evidence_json("baseline");
    if (!baseline_json.is_null()) {
      auto baseline = monitor::BaselineFromJson(baseline_json);
      if (baseline.ok()) {
        auto acc = monitor::DriftAccumulator::Create(*std::move(baseline));
        if (acc.ok()) {
          auto gauges = std::make_shared<DriftGauges>(*std::move(acc), name,
                                                      v["version"].get<int64_t>(), 1000);
          served->observe = [gauges](const Json& row, double score) {
            gauges->Observe(row, score);
          };
          served->metrics = [gauges]() { return gauges->Metrics(); };
        }
      }
    }
    auto scorer = LoadScorer(package, ScorerOptions{1});
    if (scorer.ok()) {
      ReasonCodeOptions reasons;
      const Json explanations = evidence_json("explanations");
      if (!explanations.is_null()) reasons = ReasonOptionsFrom(explanations);
      auto explainer = std::make_shared<ScorerExplainer>(*std::move(scorer), reasons);
      served->explain = [explainer](const std::vector<Json>& rows) { return (*explainer)(rows); };
    }
    // Metrics of the drift gauges and of the lookups together.
    if (lookup != nullptr) {
      std::function<std::string()> drift = served->metrics;
      served->metrics = [lookup, drift, name, version = served->version]() {
        return (drift ? drift() : std::string()) + lookup->Metrics(name, version);
      };
    }
    std::cerr << "serve: loaded " << label << " (" << served->model->num_trees() << " trees, "
              << digest.substr(0, 19) << ")"
              << (served->lookup_keys.empty()
                      ? std::string()
                      : "; rows by " + absl::StrJoin(served->lookup_keys, ", ") +
                            " look up the rest in the online store")
              << "\n";
    return std::shared_ptr<const ServedVersion>(std::move(served));
  }

  PlatformClient* client_;
  std::string env_;
  std::string cache_dir_;
  OnlineStore* online_;
  std::map<std::string, std::shared_ptr<const ServedVersion>> cache_;
  // By digest: the versions that look features up, with their name@version.
  std::map<std::string, std::pair<std::string, std::shared_ptr<OnlineFeatures>>> lookups_;
};

std::pair<std::string, int> SplitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return {"127.0.0.1", std::atoi(listen.c_str())};
  return {listen.substr(0, colon), std::atoi(listen.c_str() + colon + 1)};
}

std::string DecisionsDir(const GlobalOptions& g, const std::string& flag, const std::string& env) {
  if (!flag.empty()) return flag;
  return ResolveHomeDir(g.home) + "/decisions/" + env;
}

}  // namespace

// One running inference server: its decision log, service, HTTP server and the thread that
// follows deployment changes.
class ServingSession {
 public:
  ~ServingSession() { Stop().IgnoreError(); }

  static StatusOr<std::unique_ptr<ServingSession>> Start(PlatformClient* client,
                                                         const ServingSessionOptions& o) {
    if (o.environment != "staging" && o.environment != "production") {
      return absl::InvalidArgumentError("--env: expected staging or production, got '" +
                                        o.environment + "'");
    }
    auto session = std::unique_ptr<ServingSession>(new ServingSession());
    ServingSession& s = *session;
    RETURN_IF_ERROR(MakeDirectories(o.decisions_dir));
    DecisionLogOptions log_options;
    log_options.dir = o.decisions_dir;
    ASSIGN_OR_RETURN(s.log_, DecisionLog::Open(log_options));
    const std::string cache_dir = o.decisions_dir + "/.downloads";
    RETURN_IF_ERROR(MakeDirectories(cache_dir));
    InferenceOptions options;
    options.environment = o.environment;
    options.server_version = PlinthVersion();
    options.decisions = s.log_.get();
    options.record_inputs = o.record_inputs;
    s.service_ = std::make_unique<InferenceService>(options);
    if (!o.online_store.empty()) {
      auto online = OpenOnlineStore(o.online_store);
      if (online.ok()) {
        s.online_ = *std::move(online);
      } else {
        std::cerr << "serve: no lookups by entity id: the online store cannot be opened: "
                  << online.status().message() << std::endl;
      }
    }
    s.loader_ = std::make_unique<ModelLoader>(client, o.environment, cache_dir, s.online_.get());
    ASSIGN_OR_RETURN(s.fingerprint_, s.loader_->Fingerprint());
    ASSIGN_OR_RETURN(s.models_, s.loader_->Load());
    s.service_->SetModels(s.models_);
    auto [host, port] = SplitListen(o.listen);
    HttpServerOptions http;
    http.host = host;
    http.port = port;
    http.io_threads = o.io_threads;
    http.handler_threads = o.handler_threads;
    http.max_pending = static_cast<size_t>(o.max_pending);
    InferenceService* service = s.service_.get();
    ASSIGN_OR_RETURN(s.server_,
                     HttpServer::Start(http, [service](const HttpRequest& q, HttpResponse& r) {
                       service->Handle(q, r);
                     }));
    HttpServer* raw = s.server_.get();
    DecisionLog* raw_log = s.log_.get();
    s.service_->SetExtraMetrics([raw, raw_log]() {
      HttpServer::Stats st = raw->stats();
      DecisionLog::Stats d = raw_log->stats();
      std::string out;
      auto gauge = [&out](const char* name, const char* type, const char* help, uint64_t v) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
               name + " " + std::to_string(v) + "\n";
      };
      gauge("plinth_http_connections_open", "gauge", "Open client connections.",
            st.connections_open);
      gauge("plinth_http_requests_total", "counter", "HTTP requests read.", st.requests);
      gauge("plinth_http_rejected_busy_total", "counter", "Requests and connections refused 429.",
            st.rejected_busy);
      gauge("plinth_http_timeouts_total", "counter", "Slow clients disconnected.", st.timeouts);
      gauge("plinth_decision_records_total", "counter", "Decision records appended.", d.appended);
      gauge("plinth_decision_record_bytes_total", "counter", "Bytes of decision records.", d.bytes);
      return out;
    });
    s.host_ = host;
    s.poller_ = std::thread([&s, poll = o.poll_ms, quiet = o.quiet] { s.Poll(poll, quiet); });
    return session;
  }

  int port() const { return server_->port(); }
  const std::string& host() const { return host_; }
  size_t models_served() const {
    size_t count = 0;
    for (const auto& [name, m] : models_->models) count += m.primary ? 1 : 0;
    return count;
  }
  InferenceService& service() { return *service_; }

  // Graceful: stops following deployments, lets requests in flight finish, closes the log.
  Status Stop() {
    if (stopped_) return absl::OkStatus();
    stopped_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (poller_.joinable()) poller_.join();
    if (server_) server_->Shutdown(std::chrono::milliseconds(10000));
    return log_ ? log_->Close() : absl::OkStatus();
  }

 private:
  ServingSession() = default;

  void Poll(int poll_ms, bool quiet) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(poll_ms), [&] { return stopping_; })) {
      lock.unlock();
      loader_->RefreshLookups();
      auto now = loader_->Fingerprint();
      if (now.ok() && *now != fingerprint_) {
        auto reloaded = loader_->Load();
        if (reloaded.ok()) {
          service_->SetModels(*reloaded);
          fingerprint_ = *now;
          if (!quiet) {
            std::cerr << "serve: deployments changed; now serving";
            for (const auto& [name, m] : (*reloaded)->models) {
              std::cerr << " " << name << (m.stopped ? " (stopped)" : "");
              if (m.primary) std::cerr << "@" << m.primary->version;
            }
            std::cerr << std::endl;
          }
        } else {
          std::cerr << "serve: reload failed, still serving the previous set: "
                    << reloaded.status().message() << std::endl;
        }
      } else if (!now.ok()) {
        std::cerr << "serve: cannot reach the platform: " << now.status().message() << std::endl;
      }
      lock.lock();
    }
  }

  std::unique_ptr<DecisionLog> log_;
  std::unique_ptr<OnlineStore> online_;
  std::unique_ptr<InferenceService> service_;
  std::unique_ptr<ModelLoader> loader_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<const ModelSet> models_;
  std::string fingerprint_;
  std::string host_;
  std::thread poller_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
};

StatusOr<ServingSessionPtr> StartServing(PlatformClient* client,
                                         const ServingSessionOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<ServingSession> session, ServingSession::Start(client, options));
  return ServingSessionPtr(session.release());
}
int ServingPort(const ServingSession& session) { return session.port(); }
Status StopServing(ServingSession& session) { return session.Stop(); }
void DeleteServingSession::operator()(ServingSession* s) const { delete s; }

namespace {

Status RunServe(const GlobalOptions& g, const ServeOptions& o) {
  ASSIGN_OR_RETURN(std::unique_ptr<PlatformClient> client, Connect(g));
  ServingSessionOptions options;
  options.environment = o.env;
  options.listen = o.listen;
  options.decisions_dir = DecisionsDir(g, o.decisions, o.env);
  options.io_threads = o.io_threads;
  options.handler_threads = o.handler_threads;
  options.max_pending = o.max_pending;
  options.poll_ms = o.poll_ms;
  options.record_inputs = !o.no_inputs;
  options.online_store = o.online_store;
  if (options.online_store.empty()) {
    // The home's online store (its folder, or the Redis it names), when there is a home here.
    auto home = LoadHome(ResolveHomeDir(g.home));
    if (home.ok()) {
      options.online_store = home->online_store.empty() ? home->online_dir : home->online_store;
    }
  }
  // Signals are taken by one thread with sigwait; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ASSIGN_OR_RETURN(std::unique_ptr<ServingSession> session,
                   ServingSession::Start(client.get(), options));
  const size_t count = session->models_served();
  std::cout << "plinth serve: " << o.env << " on http://" << session->host() << ":"
            << session->port() << " (" << count << " model" << (count == 1 ? "" : "s")
            << "; decisions in " << options.decisions_dir << ")" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "plinth serve: stopping (finishing requests in flight)" << std::endl;
  Status closed = session->Stop();
  std::cout << "plinth serve: stopped" << std::endl;
  return closed;
}

Status ShowDecision(const GlobalOptions& g, const ServeOptions& o) {
  std::vector<std::string> envs = {o.record_env};
  if (o.record_env.empty()) envs = {"staging", "production"};
  for (const std::string& env : envs) {
    const std::string dir = DecisionsDir(g, o.decisions, env);
    if (!fs::exists(dir)) continue;
    ASSIGN_OR_RETURN(std::optional<DecisionRecord> r, FindDecision(dir, o.id));
    if (!r) continue;
    const Json j = DecisionRecordToJson(*r);
    if (g.json) {
      PrintJson(std::cout, j);
      return absl::OkStatus();
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : j.items()) {
      if (k == "inputs" || k == "reasons" || k == "output") continue;
      rows.push_back({k, Cell(v)});
    }
    rows.push_back({"output", j["output"].dump()});
    PrintTable(std::cout, {"FIELD", "VALUE"}, rows);
    if (j["reasons"].is_array() && !j["reasons"].empty()) {
      std::cout << "\nreasons\n";
      for (const Json& reason : j["reasons"]) {
        std::cout << "  " << Cell(reason["code"]) << "  " << Cell(reason["text"]) << " ("
                  << Cell(reason["feature"]) << " = " << reason["value"].dump() << ")\n";
      }
    }
    if (!j["inputs"].is_null()) std::cout << "\ninputs " << j["inputs"].dump() << "\n";
    return absl::OkStatus();
  }
  return absl::NotFoundError("no decision record with id '" + o.id + "'" +
                             (o.record_env.empty() ? "" : " in " + o.record_env));
}

Status ExportDecisionRange(const GlobalOptions& g, const ServeOptions& o) {
  auto from = ParseTime(o.from);
  auto to = ParseTime(o.to);
  if (!from || !to) {
    return absl::InvalidArgumentError(
        "--from and --to: expected RFC 3339 times such as 2026-11-26T00:00:00Z");
  }
  const std::string env = o.record_env.empty() ? "staging" : o.record_env;
  const std::string dir = DecisionsDir(g, o.decisions, env);
  if (!fs::exists(dir)) return absl::NotFoundError("no decision records in " + dir);
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!o.out.empty() && o.out != "-") {
    file.open(o.out, std::ios::binary | std::ios::trunc);
    if (!file) return absl::InvalidArgumentError("cannot write " + o.out);
    out = &file;
  }
  size_t n = 0;
  RETURN_IF_ERROR(ExportDecisions(dir, *from, *to, [&](const DecisionRecord& r) -> Status {
    *out << DecisionRecordToJson(r).dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
    ++n;
    return absl::OkStatus();
  }));
  if (file.is_open()) {
    file.close();
    std::cerr << "wrote " << n << " decision records to " << o.out << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddServeCommands(CommandRegistrar* r) {
  auto o = std::make_shared<ServeOptions>();
  const GlobalOptions* g = &r->globals();
  auto* serve = r->app().add_subcommand(
      "serve",
      "Serve the models deployed to an environment (Open Inference Protocol v2)\n"
      "  plinth serve --env staging --listen 127.0.0.1:8080");
  serve->add_option("--env", o->env, "staging or production")->capture_default_str();
  serve->add_option("--listen", o->listen, "HOST:PORT")->capture_default_str();
  serve->add_option("--decisions", o->decisions,
                    "folder of the decision records (default: HOME/decisions/ENV)");
  serve->add_option("--io-threads", o->io_threads, "event-loop threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve
      ->add_option("--handler-threads", o->handler_threads,
                   "score on this many threads behind a bounded queue (429 when it is full); 0 "
                   "scores on the event-loop threads")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  serve->add_option("--max-pending", o->max_pending, "queued requests before 429")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  serve->add_option("--poll-ms", o->poll_ms, "how often to check for deployment changes")
      ->check(CLI::Range(50, 600000))
      ->capture_default_str();
  serve->add_flag("--no-record-inputs", o->no_inputs,
                  "keep only the inputs' digest in decision records");
  serve->add_option("--online-store", o->online_store,
                    "where rows by entity id look their features up: a folder or a redis:// URL "
                    "(default: the home's online store)");
  r->On(serve, [o, g]() { return RunServe(*g, *o); });

  auto* decisions = r->app().add_subcommand("decisions", "Decision records of served predictions");
  decisions->require_subcommand(1);
  auto* show = decisions->add_subcommand("show", "One decision record by its request id");
  show->add_option("ID", o->id, "the request id (with #ROW for a row of a batch)")->required();
  show->add_option("--env", o->record_env, "staging or production (default: both)");
  show->add_option("--decisions", o->decisions, "folder of the records");
  r->On(show, [o, g]() { return ShowDecision(*g, *o); });
  auto* exp = decisions->add_subcommand("export", "Decision records in a time range (JSON lines)");
  exp->add_option("--from", o->from, "RFC 3339 time (inclusive)")->required();
  exp->add_option("--to", o->to, "RFC 3339 time (exclusive)")->required();
  exp->add_option("--env", o->record_env, "staging or production (default: staging)");
  exp->add_option("--decisions", o->decisions, "folder of the records");
  exp->add_option("--out", o->out, "file to write (default: standard output)");
  r->On(exp, [o, g]() { return ExportDecisionRange(*g, *o); });
}

}  // namespace plinth
