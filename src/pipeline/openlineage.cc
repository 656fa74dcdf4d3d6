#include "pipeline/openlineage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "core/clock.h"
#include "core/random.h"
#include "pipeline/interpolation.h"

namespace plinth::pipeline {
namespace {

constexpr char kParentFacetSchema[] =
    "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet";
constexpr char kErrorFacetSchema[] =
    "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/"
    "ErrorMessageRunFacet";
constexpr char kJobTypeFacetSchema[] =
    "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet";

// The (step, output) pairs a step reads from other steps: its `inputs` and every
// ${steps.STEP.outputs.NAME} in its argv and `with`, in order of first mention.
std::vector<std::pair<std::string, std::string>> ReadsOf(const StepSpec& step) {
  std::vector<std::pair<std::string, std::string>> reads;
  auto add = [&](const std::string& from, const std::string& output) {
    const std::pair<std::string, std::string> read(from, output);
    for (const auto& r : reads) {
      if (r == read) return;
    }
    reads.push_back(read);
  };
  for (const InputSpec& input : step.inputs) add(input.step, input.output);
  auto scan = [&](const std::string& text) {
    StatusOr<Template> parsed = ParseTemplate(text);
    if (!parsed.ok()) return;  // the spec was checked when parsed; nothing to add
    for (const Reference& ref : parsed->References()) {
      if (ref.kind == Reference::Kind::kStepOutput) add(ref.step, ref.name);
    }
  };
  for (const std::string& arg : step.run) scan(arg);
  ForEachString(step.with, scan);
  return reads;
}

}  // namespace

std::string NewUuid() {
  uint8_t b[16];
  FillRandom(b, sizeof(b));
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10xx
  const std::string hex = HexEncode(std::string(reinterpret_cast<const char*>(b), sizeof(b)));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

StatusOr<std::unique_ptr<JsonlFileSink>> JsonlFileSink::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError("cannot open OpenLineage event file '" + path +
                               "' for appending: " + std::strerror(errno));
  }
  return std::unique_ptr<JsonlFileSink>(new JsonlFileSink(path, fd));
}

JsonlFileSink::~JsonlFileSink() { ::close(fd_); }

Status JsonlFileSink::Send(const Json& event) {
  // Invalid UTF-8 (from a step's error message, say) is replaced rather than thrown on.
  const std::string line =
      event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError("cannot append to OpenLineage event file '" + path_ +
                                 "': " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

Status HttpSink::Send(const Json& event) {
  return poster_(url_, event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

OpenLineageEmitter::OpenLineageEmitter(const PipelineSpec& spec, OpenLineageOptions options,
                                       OpenLineageSink* sink)
    : options_(std::move(options)), sink_(sink) {
  job_name_ = options_.job_name.empty() ? spec.name : options_.job_name;
  run_id_ = options_.run_id.empty() ? NewUuid() : options_.run_id;
  for (const StepSpec& step : spec.steps) reads_[step.name] = ReadsOf(step);
}

EventObserver OpenLineageEmitter::Observer() {
  return [this](const PipelineEvent& event) { Observe(event); };
}

std::string OpenLineageEmitter::StepRunId(const std::string& step) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = steps_.find(step);
  return it == steps_.end() ? "" : it->second.run_id;
}

Status OpenLineageEmitter::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

Json OpenLineageEmitter::Facet(const std::string& schema_url) const {
  return Json{{"_producer", options_.producer}, {"_schemaURL", schema_url}};
}

Json OpenLineageEmitter::ParentFacet() const {
  Json parent = Facet(kParentFacetSchema);
  parent["run"] = Json{{"runId", run_id_}};
  parent["job"] = Json{{"namespace", options_.job_namespace}, {"name", job_name_}};
  return parent;
}

Json OpenLineageEmitter::ErrorFacet(const Status& status) const {
  Json facet = Facet(kErrorFacetSchema);
  facet["message"] = status.ok() ? std::string("failed") : status.ToString();
  facet["programmingLanguage"] = "C++";
  return facet;
}

Json OpenLineageEmitter::Event(const std::string& type, int64_t time_micros,
                               const std::string& run_id, const std::string& step,
                               Json run_facets) const {
  Json job_type = Facet(kJobTypeFacetSchema);
  job_type["processingType"] = "BATCH";
  job_type["integration"] = "PLINTH";
  job_type["jobType"] = step.empty() ? "PIPELINE" : "STEP";
  const std::string job_name = step.empty() ? job_name_ : job_name_ + "." + step;
  Json run = Json{{"runId", run_id}};
  if (run_facets.is_object() && !run_facets.empty()) run["facets"] = std::move(run_facets);
  return Json{
      {"eventType", type},
      {"eventTime", FormatTime(time_micros)},
      {"run", std::move(run)},
      {"job", Json{{"namespace", options_.job_namespace},
                   {"name", job_name},
                   {"facets", Json{{"jobType", std::move(job_type)}}}}},
      {"inputs", Json::array()},
      {"outputs", Json::array()},
      {"producer", options_.producer},
      {"schemaURL", kOpenLineageRunEventSchema},
  };
}

Json OpenLineageEmitter::Datasets(const std::vector<std::string>& digests) const {
  Json out = Json::array();
  std::set<std::string> seen;
  for (const std::string& digest : digests) {
    if (!seen.insert(digest).second) continue;
    out.push_back(Json{{"namespace", options_.dataset_namespace}, {"name", digest}});
  }
  return out;
}

std::vector<std::string> OpenLineageEmitter::InputDigests(const std::string& step) const {
  std::vector<std::string> digests;
  auto reads = reads_.find(step);
  if (reads == reads_.end()) return digests;
  for (const auto& [from, output] : reads->second) {
    auto produced = outputs_.find(from);
    if (produced == outputs_.end()) continue;
    auto digest = produced->second.find(output);
    if (digest != produced->second.end()) digests.push_back(digest->second);
  }
  return digests;
}

OpenLineageEmitter::StepRun& OpenLineageEmitter::Step(const std::string& step) {
  StepRun& run = steps_[step];
  if (run.run_id.empty()) run.run_id = NewUuid();
  return run;
}

void OpenLineageEmitter::Send(const Json& event) {
  if (sink_ == nullptr) return;
  Status sent = sink_->Send(event);
  if (!sent.ok() && status_.ok()) status_ = sent;
}

void OpenLineageEmitter::StartStep(const PipelineEvent& event, StepRun& run, Json extra_facets) {
  Json facets = extra_facets.is_object() ? std::move(extra_facets) : Json::object();
  facets["parent"] = ParentFacet();
  Json start = Event("START", event.time_micros, run.run_id, event.step, std::move(facets));
  start["inputs"] = Datasets(InputDigests(event.step));
  run.started = true;
  Send(start);
}

void OpenLineageEmitter::FinishStep(const PipelineEvent& event, StepRun& run,
                                    const std::string& type, Json extra_facets,
                                    const std::vector<std::string>& outputs) {
  Json facets = extra_facets.is_object() ? std::move(extra_facets) : Json::object();
  facets["parent"] = ParentFacet();
  Json end = Event(type, event.time_micros, run.run_id, event.step, std::move(facets));
  end["inputs"] = Datasets(InputDigests(event.step));
  end["outputs"] = Datasets(outputs);
  run.finished = true;
  Send(end);
}

void OpenLineageEmitter::Observe(const PipelineEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  switch (event.kind) {
    case EventKind::kRunStarted:
      Send(Event("START", event.time_micros, run_id_, "", Json::object()));
      return;
    case EventKind::kStepStarted: {
      StepRun& run = Step(event.step);
      if (!run.started) StartStep(event, run, Json::object());  // later attempts: the same run
      return;
    }
    case EventKind::kStepSucceeded:
    case EventKind::kStepCached: {
      std::vector<std::string> digests;
      for (const auto& [name, digest] : event.outputs) {
        outputs_[event.step][name] = digest;
        digests.push_back(digest);
      }
      StepRun& run = Step(event.step);
      Json facets = Json::object();
      if (event.kind == EventKind::kStepCached) {
        // OpenLineage has no "cached": the step's run is reported as starting and completing at
        // once, marked with where its result came from.
        Json cache = Facet(options_.cache_facet_schema_url);
        cache["cached"] = true;
        cache["cache_key"] = event.cache_key;
        cache["resumed"] = event.resumed;
        facets["plinth_cache"] = std::move(cache);
      }
      if (!run.started) StartStep(event, run, facets);
      FinishStep(event, run, "COMPLETE", std::move(facets), digests);
      return;
    }
    case EventKind::kStepFailed: {
      StepRun& run = Step(event.step);
      // A step can fail before its first attempt starts (its `with` did not render): it still
      // gets a START, so its FAIL belongs to a run.
      if (!run.started) StartStep(event, run, Json::object());
      FinishStep(event, run, "FAIL", Json{{"errorMessage", ErrorFacet(event.status)}}, {});
      return;
    }
    case EventKind::kStepCancelled: {
      auto it = steps_.find(event.step);
      if (it == steps_.end() || !it->second.started || it->second.finished) return;
      FinishStep(event, it->second, "ABORT", Json::object(), {});
      return;
    }
    case EventKind::kRunFinished: {
      // Any step still open ends with the run (the executor finishes every step first, so this
      // is only a safeguard).
      for (auto& [name, run] : steps_) {
        if (!run.started || run.finished) continue;
        PipelineEvent end = event;
        end.step = name;
        FinishStep(end, run, "ABORT", Json::object(), {});
      }
      std::string type = "COMPLETE";
      Json facets = Json::object();
      if (event.run_state == RunState::kFailed) {
        type = "FAIL";
        facets["errorMessage"] = ErrorFacet(event.status);
      } else if (event.run_state == RunState::kCancelled) {
        type = "ABORT";
      }
      Send(Event(type, event.time_micros, run_id_, "", std::move(facets)));
      return;
    }
    case EventKind::kStepPending:
    case EventKind::kStepProgress:
    case EventKind::kStepLog:
    case EventKind::kStepRetrying:
    case EventKind::kStepSkipped:
      return;
  }
}

}  // namespace plinth::pipeline
