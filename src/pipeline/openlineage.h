// OpenLineage events for pipeline runs (docs/pipelines.md, "OpenLineage events").
//
// OpenLineageEmitter turns the executor's PipelineEvents into OpenLineage RunEvents (spec 2-0-2,
// https://openlineage.io/spec/2-0-2/OpenLineage.json) and hands each to a sink:
//
// - the pipeline run is one run of the job NAMESPACE / PIPELINE: START at run_started, then
//   COMPLETE, FAIL (with an errorMessage facet) or ABORT (cancelled) at run_finished;
// - each step that runs is one run of the job NAMESPACE / PIPELINE.STEP with a `parent` facet
//   naming the pipeline run: START at its first attempt, then COMPLETE or FAIL (errorMessage), or
//   ABORT if the run was cancelled while it ran;
// - a cached step (from the cache or the resumed run) has no run of its own in OpenLineage's
//   model: it is reported START and COMPLETE at once, with the custom run facet
//   `plinth_cache {cached: true, cache_key, resumed}`;
// - a step that never started (skipped, or cancelled while it waited) is not reported;
// - a step's outputs are output datasets and the outputs of other steps it reads (its `inputs`
//   and ${steps.STEP.outputs.NAME} references) input datasets, each named by its digest
//   (sha256:<hex>) in the dataset namespace, since the output store names content by digest.
//
// Sinks: JsonlFileSink appends one event per line to a file; HttpSink posts each event's JSON
// through a function the platform provides (the pipeline module does not depend on api/).
#ifndef PLINTH_PIPELINE_OPENLINEAGE_H_
#define PLINTH_PIPELINE_OPENLINEAGE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "pipeline/executor.h"
#include "pipeline/pipeline_spec.h"

namespace plinth::pipeline {

// The schema every event names (schemaURL).
inline constexpr char kOpenLineageRunEventSchema[] =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

// Where events go. Send is called from the executor's observer (one call at a time, from worker
// threads), so it should be quick: a slow sink slows the run.
class OpenLineageSink {
 public:
  virtual ~OpenLineageSink() = default;
  virtual Status Send(const Json& event) = 0;
};

// Appends each event to a file as one line of JSON (JSON Lines), written with a single write(2)
// on a file opened with O_APPEND, so the line is complete in the file when Send returns and lines
// of several writers do not interleave. The file is created (mode 0644) if absent.
class JsonlFileSink : public OpenLineageSink {
 public:
  // Internal if the file cannot be opened for appending.
  static StatusOr<std::unique_ptr<JsonlFileSink>> Open(const std::string& path);
  ~JsonlFileSink() override;
  JsonlFileSink(const JsonlFileSink&) = delete;
  JsonlFileSink& operator=(const JsonlFileSink&) = delete;

  Status Send(const Json& event) override;
  const std::string& path() const { return path_; }

 private:
  JsonlFileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// Posts `body` (one event's JSON) to `url`, e.g. an OpenLineage backend's
// http://lineage.bank.example/api/v1/lineage. Implemented by the platform with its HTTP client.
using HttpPoster = std::function<Status(const std::string& url, const std::string& body)>;

// Sends each event with an HttpPoster to one URL (Content-Type application/json is the poster's
// business). The poster's status is Send's.
class HttpSink : public OpenLineageSink {
 public:
  HttpSink(std::string url, HttpPoster poster) : url_(std::move(url)), poster_(std::move(poster)) {}
  Status Send(const Json& event) override;

 private:
  std::string url_;
  HttpPoster poster_;
};

struct OpenLineageOptions {
  // The namespace of the jobs (OpenLineage: the scheduler's), e.g. "plinth://risk.bank.example".
  std::string job_namespace = "plinth";
  // The namespace of the datasets, which are named by digest: where the artifacts live, e.g.
  // "plinth://risk.bank.example/projects/credit".
  std::string dataset_namespace = "plinth";
  // The pipeline's job name; empty: the spec's name. Steps are "<job name>.<step>".
  std::string job_name;
  // The pipeline run's id (a UUID); empty: a random one (version 4).
  std::string run_id;
  // `producer` of every event and facet: a URI naming this software and its version, e.g.
  // "https://git.bank.example/plinth/tree/v0.1.0".
  std::string producer = "urn:plinth:pipeline";
  // `_schemaURL` of the custom facet plinth_cache (its schema is in docs/pipelines.md).
  std::string cache_facet_schema_url = "urn:plinth:openlineage:PlinthCacheRunFacet:1";
};

// Watches one pipeline run and emits its OpenLineage events. Use as the executor's observer:
//   OpenLineageEmitter lineage(spec, options, &sink);
//   executor_options.observer = lineage.Observer();
// Thread-safe. A sink's error does not stop the run or the later events: the first one is kept
// in status().
class OpenLineageEmitter {
 public:
  OpenLineageEmitter(const PipelineSpec& spec, OpenLineageOptions options, OpenLineageSink* sink);

  void Observe(const PipelineEvent& event);
  // An observer that calls Observe; the emitter must outlive the run.
  EventObserver Observer();

  // The pipeline run's UUID.
  const std::string& run_id() const { return run_id_; }
  // A step's run UUID ("" if the step has none yet).
  std::string StepRunId(const std::string& step) const;
  // OK, or the first error a sink returned.
  Status status() const;

 private:
  struct StepRun {
    std::string run_id;
    bool started = false;
    bool finished = false;
  };

  // An event of the pipeline's job (`step` empty) or of a step's.
  Json Event(const std::string& type, int64_t time_micros, const std::string& run_id,
             const std::string& step, Json run_facets) const;
  Json Facet(const std::string& schema_url) const;
  Json ParentFacet() const;
  Json ErrorFacet(const Status& status) const;
  Json Datasets(const std::vector<std::string>& digests) const;
  // The digests of the other steps' outputs `step` reads, as far as they are known.
  std::vector<std::string> InputDigests(const std::string& step) const;
  StepRun& Step(const std::string& step);
  void StartStep(const PipelineEvent& event, StepRun& run, Json extra_facets);
  void FinishStep(const PipelineEvent& event, StepRun& run, const std::string& type,
                  Json extra_facets, const std::vector<std::string>& outputs);
  void Send(const Json& event);

  OpenLineageOptions options_;
  OpenLineageSink* sink_;
  std::string job_name_;
  std::string run_id_;
  // Step -> the (step, output) pairs it reads, from the spec.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> reads_;

  mutable std::mutex mu_;
  std::map<std::string, StepRun> steps_;
  // Step -> output name -> digest, from succeeded and cached steps.
  std::map<std::string, std::map<std::string, std::string>> outputs_;
  Status status_;
};

// A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string NewUuid();

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_OPENLINEAGE_H_
