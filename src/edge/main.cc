// plinth-edge: scores an exported model where the platform is not (docs/edge.md). It verifies a
// bundle written by `plinth export edge` offline and refuses a tampered one, then scores rows from
// a file or standard input, or serves the Open Inference Protocol v2 endpoints of `plinth serve`.
//
//   plinth-edge verify DIR [--trusted-key FILE] [--json]
//   plinth-edge score DIR [--input FILE|-] [--format csv|jsonl] [--output FILE] [--trusted-key F]
//   plinth-edge serve DIR --listen HOST:PORT [--decisions DIR] [--trusted-key FILE]
//
// Exit codes as the platform's (core/errors.h): 0 ok, 2 usage or input rows that could not be
// scored, 7 a bundle that fails verification, 1 anything else.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "core/errors.h"
#include "core/files.h"
#include "core/json.h"
#include "core/random.h"
#include "edge/bundle.h"
#include "edge/rows.h"
#include "serve/decision_log.h"
#include "serve/http_server.h"
#include "serve/inference_service.h"

namespace plinth::edge {
namespace {

constexpr char kVersion[] = "0.1.0";

struct Options {
  std::string dir;
  std::string trusted_key;
  bool json = false;
  // score
  std::string input = "-";
  std::string format;
  std::string output;
  // serve
  std::string listen = "127.0.0.1:8080";
  std::string decisions;
  int io_threads = 2;
};

StatusOr<VerifiedBundle> Verify(const Options& o) {
  std::optional<std::string> trusted;
  if (!o.trusted_key.empty()) {
    StatusOr<std::string> text = ReadFile(o.trusted_key);
    if (!text.ok()) {
      return absl::InvalidArgumentError("--trusted-key: cannot read " + o.trusted_key + ": " +
                                        std::string(text.status().message()));
    }
    StatusOr<std::string> key = ParsePublicKey(*text);
    if (!key.ok()) {
      return absl::InvalidArgumentError("--trusted-key " + o.trusted_key + ": " +
                                        std::string(key.status().message()));
    }
    trusted = *std::move(key);
  }
  return VerifyBundle(o.dir, trusted);
}

std::string TrustLine(const VerifiedBundle& b) {
  return b.key_trusted ? "the trusted key (--trusted-key)"
                       : "the bundled key only: this proves the bundle is unchanged since it was "
                         "exported, not who exported it (pass --trusted-key)";
}

Status RunVerify(const Options& o) {
  ASSIGN_OR_RETURN(VerifiedBundle b, Verify(o));
  const Json& predicate = b.statement["predicate"];
  if (o.json) {
    Json out = {{"verified", true},
                {"project", b.project},
                {"name", b.name},
                {"version", b.version},
                {"ref", b.Ref()},
                {"digest", b.package_digest},
                {"stage", b.stage},
                {"approvals", predicate["approvals"]},
                {"compiled_digest", b.compiled_digest},
                {"compiled_kind", std::string(CompiledKindName(b.model->kind()))},
                {"key_id", b.key_id},
                {"key_trusted", b.key_trusted},
                {"exported_by", b.exported_by},
                {"exported_at", b.exported_at},
                {"inputs", b.inputs.size()}};
    std::cout << DumpJson(out, 2) << "\n";
    return absl::OkStatus();
  }
  std::cout << "verified " << o.dir << ": " << b.project << "/" << b.Ref() << "\n"
            << "  package     " << b.package_digest << "\n"
            << "  stage       " << b.stage << " (" << predicate["approvals"].size()
            << " approval and promotion attestations)\n"
            << "  model.plc   " << CompiledKindName(b.model->kind()) << ", "
            << b.model->num_features() << " features";
  if (b.model->num_trees() > 0) std::cout << ", " << b.model->num_trees() << " trees";
  std::cout << " (" << b.compiled_digest << ")\n"
            << "  exported    by " << b.exported_by << " at " << b.exported_at << "\n"
            << "  signed by   " << b.key_id << "\n"
            << "  trusting    " << TrustLine(b) << "\n";
  return absl::OkStatus();
}

// "csv" or "jsonl": --format, else from the input file's name, else CSV.
StatusOr<std::string> InputFormat(const Options& o) {
  if (!o.format.empty()) {
    if (o.format != "csv" && o.format != "jsonl") {
      return absl::InvalidArgumentError("--format: expected csv or jsonl, got '" + o.format + "'");
    }
    return o.format;
  }
  for (const char* suffix : {".jsonl", ".ndjson", ".json"}) {
    if (o.input.ends_with(suffix)) return std::string("jsonl");
  }
  return std::string("csv");
}

Status RunScore(const Options& o) {
  ASSIGN_OR_RETURN(std::string format, InputFormat(o));
  ASSIGN_OR_RETURN(VerifiedBundle b, Verify(o));
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.input != "-") {
    file.open(o.input, std::ios::binary);
    if (!file) return absl::InvalidArgumentError("--input: cannot open " + o.input);
    in = &file;
  }
  std::unique_ptr<RowReader> rows;
  if (format == "csv") {
    StatusOr<std::unique_ptr<RowReader>> csv = NewCsvRowReader(*in, b.inputs);
    if (!csv.ok()) {
      return absl::InvalidArgumentError((o.input == "-" ? std::string("standard input") : o.input) +
                                        ": " + std::string(csv.status().message()));
    }
    rows = *std::move(csv);
  } else {
    rows = NewJsonLinesRowReader(*in, b.inputs);
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (!o.output.empty() && o.output != "-") {
    out_file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!out_file) return absl::InvalidArgumentError("--output: cannot write " + o.output);
    out = &out_file;
  }
  const char* output_name = b.model->binary() ? "probability" : "prediction";
  std::vector<float> buffer(b.model->num_features());
  int64_t scored = 0, refused = 0;
  InputRow row;
  while (rows->Next(&row)) {
    // Ordered, so that every line starts with its row number.
    nlohmann::ordered_json line = {{"row", row.row}};
    StatusOr<double> value = row.value.ok()
                                 ? b.model->PredictJsonRow(*row.value, std::span<float>(buffer))
                                 : StatusOr<double>(row.value.status());
    if (value.ok()) {
      line[output_name] = *value;
      ++scored;
    } else {
      line["line"] = row.line;
      line["error"] = std::string(value.status().message());
      ++refused;
    }
    *out << line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  }
  out->flush();
  if (!*out) return absl::InternalError("cannot write the scores");
  std::cerr << "plinth-edge: " << b.Ref() << " scored " << scored << " row"
            << (scored == 1 ? "" : "s");
  if (refused > 0) std::cerr << ", " << refused << " refused (see their error lines)";
  std::cerr << "\n";
  if (refused > 0) {
    return absl::InvalidArgumentError(std::to_string(refused) + " row" +
                                      (refused == 1 ? " was" : "s were") + " not scored");
  }
  return absl::OkStatus();
}

std::pair<std::string, int> SplitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return {"", -1};
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return {host, -1};
  }
  return {host, std::stoi(port)};
}

Status RunServe(const Options& o) {
  auto [host, port] = SplitListen(o.listen);
  if (host.empty() || port < 0 || port > 65535) {
    return absl::InvalidArgumentError("--listen: expected HOST:PORT, got '" + o.listen + "'");
  }
  ASSIGN_OR_RETURN(VerifiedBundle b, Verify(o));
  // Signals are taken by one thread with sigwait; block them before any thread starts (the
  // decision log's included), so that no other thread receives them and dies of them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::unique_ptr<DecisionLog> log;
  if (!o.decisions.empty()) {
    RETURN_IF_ERROR(MakeDirectories(o.decisions));
    DecisionLogOptions log_options;
    log_options.dir = o.decisions;
    ASSIGN_OR_RETURN(log, DecisionLog::Open(log_options));
  }

  auto version = std::make_shared<ServedVersion>();
  version->project = b.project;
  version->name = b.name;
  version->version = b.version;
  version->digest = b.package_digest;
  version->model = b.model;
  version->inputs = b.inputs;
  // No explainer: the edge carries the compiled model only, so explain requests get 400.
  ServedModel served;
  served.name = b.name;
  served.primary = version;
  auto set = std::make_shared<ModelSet>();
  set->models[b.name] = std::move(served);

  InferenceOptions options;
  options.environment = "edge";
  options.server_version = kVersion;
  options.decisions = log.get();
  InferenceService service(options);
  service.SetModels(std::move(set));

  HttpServerOptions http;
  http.host = host;
  http.port = port;
  http.io_threads = o.io_threads;
  http.server_name = "plinth-edge";
  ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server,
                   HttpServer::Start(http, [&service](const HttpRequest& q, HttpResponse& r) {
                     service.Handle(q, r);
                   }));
  HttpServer* raw = server.get();
  DecisionLog* raw_log = log.get();
  service.SetExtraMetrics([raw, raw_log]() {
    HttpServer::Stats s = raw->stats();
    std::string out;
    auto metric = [&out](const char* name, const char* type, const char* help, uint64_t v) {
      out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
             name + " " + std::to_string(v) + "\n";
    };
    metric("plinth_http_connections_open", "gauge", "Open client connections.", s.connections_open);
    metric("plinth_http_requests_total", "counter", "HTTP requests read.", s.requests);
    metric("plinth_http_rejected_busy_total", "counter", "Requests and connections refused 429.",
           s.rejected_busy);
    metric("plinth_http_timeouts_total", "counter", "Slow clients disconnected.", s.timeouts);
    if (raw_log != nullptr) {
      DecisionLog::Stats d = raw_log->stats();
      metric("plinth_decision_records_total", "counter", "Decision records appended.", d.appended);
      metric("plinth_decision_record_bytes_total", "counter", "Bytes of decision records.",
             d.bytes);
    }
    return out;
  });
  std::cout << "plinth-edge: serving " << b.Ref() << " on http://" << host << ":" << raw->port()
            << " (" << (b.key_trusted ? "trusted key" : "bundled key") << "; decisions "
            << (o.decisions.empty() ? std::string("not recorded") : "in " + o.decisions) << ")"
            << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "plinth-edge: stopping (finishing requests in flight)" << std::endl;
  server->Shutdown(std::chrono::milliseconds(10000));
  Status closed = log ? log->Close() : absl::OkStatus();
  std::cout << "plinth-edge: stopped" << std::endl;
  return closed;
}

int Main(int argc, char** argv) {
  InitCrypto();
  CLI::App app{
      "plinth-edge: verify and score a signed model bundle exported by `plinth export edge`, "
      "offline"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  Options o;
  std::function<Status()> action;

  auto add_common = [&o](CLI::App* cmd) {
    cmd->add_option("DIR", o.dir, "the bundle's folder")->required();
    cmd->add_option("--trusted-key", o.trusted_key,
                    "the platform's public key (hex, as HOME/keys/platform.pub): the bundle must "
                    "be signed by exactly this key");
  };
  auto* verify = app.add_subcommand("verify", "Check a bundle's files, signature and model");
  add_common(verify);
  verify->add_flag("--json", o.json, "print the summary as JSON");
  verify->callback([&] { action = [&] { return RunVerify(o); }; });

  auto* score = app.add_subcommand(
      "score", "Verify, then score raw rows (CSV with a header, or JSON lines) as JSON lines");
  add_common(score);
  score->add_option("--input", o.input, "file of rows, or - for standard input")
      ->capture_default_str();
  score->add_option("--format", o.format,
                    "csv or jsonl (default: jsonl for .jsonl/.ndjson/.json files, else csv)");
  score->add_option("--output", o.output, "file to write (default: standard output)");
  score->callback([&] { action = [&] { return RunScore(o); }; });

  auto* serve = app.add_subcommand(
      "serve", "Verify, then serve the Open Inference Protocol v2 endpoints until SIGINT/SIGTERM");
  add_common(serve);
  serve->add_option("--listen", o.listen, "HOST:PORT")->capture_default_str();
  serve->add_option("--decisions", o.decisions,
                    "folder for decision records (default: none are kept)");
  serve->add_option("--io-threads", o.io_threads, "event-loop threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve->callback([&] { action = [&] { return RunServe(o); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  Status status = action();
  if (!status.ok()) {
    const char* command = verify->parsed() ? "verify" : score->parsed() ? "score" : "serve";
    std::cerr << "plinth-edge " << command << ": " << status.message() << "\n";
    return ExitCodeFor(status);
  }
  return kExitOk;
}

}  // namespace
}  // namespace plinth::edge

int main(int argc, char** argv) { return plinth::edge::Main(argc, argv); }
