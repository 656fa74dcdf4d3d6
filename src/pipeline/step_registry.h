// Step types: what a pipeline step can be (docs/pipelines.md, "Step types").
//
// The registry is open: the platform registers the real types (ingest, validate, features, split,
// train, tune, evaluate) and tests register their own. A type declares the `with` keys it accepts
// (typed, so a spec is checked before anything runs), the outputs it produces, a version (part of
// every cache key, so a change in behaviour re-runs the steps that used it), and the function that
// runs it. `run:` command steps are the built-in type in command_step.h; they are not registered.
#ifndef PLINTH_PIPELINE_STEP_REGISTRY_H_
#define PLINTH_PIPELINE_STEP_REGISTRY_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "pipeline/environment.h"

namespace plinth::pipeline {

// The type of a `with` value. kString accepts any scalar (written as its text), kFloat accepts
// integers; the others accept only their own kind.
enum class ValueType { kString, kInt, kFloat, kBool, kList, kObject, kAny };

// "string", "int", "float", "bool", "list", "object", "any".
std::string ValueTypeName(ValueType type);
// `value` as `type` (an integer for a float key becomes a double, a scalar for a string key its
// text), or InvalidArgument "expected an int, not 'abc'".
StatusOr<Json> CoerceValue(const Json& value, ValueType type);

struct WithKey {
  std::string name;  // an identifier
  ValueType type = ValueType::kString;
  bool required = false;
  Json default_value;  // null: none; used when the key is left out
  std::string description;
};

struct OutputDecl {
  std::string name;  // an identifier; also the file's name in the output folder
  std::string description;
  bool optional = false;  // a required output that is not produced fails the step
};

// An input artifact as a step sees it: a local file to read (never to write) and its digest.
struct InputArtifact {
  std::string path;
  std::string digest;
};

// What a step hands back. Outputs are files inside the step's output folder; the executor hashes
// them into the output store, so a step never computes digests itself.
struct StepResult {
  std::map<std::string, std::string> outputs;  // declared output name -> path
  std::map<std::string, double> metrics;       // finite values only
  Json summary;                                // null or an object, stored with the result
};

// Everything a running step may use. Built by the executor for each attempt; a step must write
// only under output_dir() and scratch_dir(), and should poll cancelled() in long loops: it turns
// true when the run is cancelled or the step's timeout has passed.
class StepContext {
 public:
  struct Init {
    std::string step;  // the step's name in the pipeline
    std::string type;  // the step type ("run" for command steps)
    Json with = Json::object();
    std::map<std::string, InputArtifact> inputs;
    std::vector<std::string> outputs;          // declared output names
    std::string output_dir;                    // where outputs are written (empty at the start)
    std::string scratch_dir;                   // private temporary space, removed afterwards
    std::string work_dir;                      // the folder relative paths are read from
    std::vector<std::string> command;          // command steps: the rendered argv
    const Environment* environment = nullptr;  // command steps
    int attempt = 1;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    const std::atomic<bool>* cancel = nullptr;
    std::function<void(std::string_view line)> log;
    std::function<void(double fraction, std::string_view message)> progress;
  };

  explicit StepContext(Init init) : init_(std::move(init)) {}

  const std::string& step() const { return init_.step; }
  const std::string& type() const { return init_.type; }
  // The resolved `with`: references rendered, values coerced to the declared types, defaults of
  // keys left out filled in.
  const Json& with() const { return init_.with; }
  const std::map<std::string, InputArtifact>& inputs() const { return init_.inputs; }
  const std::vector<std::string>& declared_outputs() const { return init_.outputs; }
  const std::string& output_dir() const { return init_.output_dir; }
  // output_dir()/name: where a declared output is expected.
  std::string OutputPath(const std::string& name) const;
  const std::string& scratch_dir() const { return init_.scratch_dir; }
  const std::string& work_dir() const { return init_.work_dir; }
  const std::vector<std::string>& command() const { return init_.command; }
  const Environment* environment() const { return init_.environment; }
  int attempt() const { return init_.attempt; }

  // A line (or several, split at newlines) for the step's log.
  void Log(std::string_view text) const;
  // `fraction` in [0, 1] (clamped).
  void Progress(double fraction, std::string_view message = "") const;
  // The run was cancelled or the step's timeout passed: stop soon, returning any error.
  bool cancelled() const { return run_cancelled() || timed_out(); }
  bool run_cancelled() const { return init_.cancel != nullptr && init_.cancel->load(); }
  bool timed_out() const;
  // Time left before the timeout, or nullopt without one.
  std::optional<std::chrono::steady_clock::duration> remaining() const;

 private:
  Init init_;
};

struct StepType {
  std::string name;  // a step name: letters, digits, '_' and '-', starting with a letter
  std::string description;
  // Part of the cache key: change it whenever the type's behaviour or output format changes.
  std::string version = "1";
  std::vector<WithKey> with;
  std::vector<OutputDecl> outputs;
  // False for types whose result must never be reused (they read the world, such as "now").
  bool cacheable = true;
  // Optional: what the step reads besides its inputs, for the cache key (the digest of a file
  // named in `with`, a data set version). Called before the cache lookup with the context of the
  // attempt (output_dir is not yet usable). A type that reads outside state and has no
  // fingerprint must set cacheable = false, or stale results will be reused.
  std::function<StatusOr<Json>(const StepContext&)> fingerprint;
  std::function<StatusOr<StepResult>(StepContext&)> run;

  const WithKey* FindWith(const std::string& key) const;
  std::vector<std::string> OutputNames() const;
};

// Name -> type. Register everything before parsing or running; lookups are then safe from any
// thread.
class StepRegistry {
 public:
  // InvalidArgument for a malformed type (bad names, duplicate keys, no run function, the
  // reserved name "run"); AlreadyExists if the name is taken.
  Status Register(StepType type);
  const StepType* Find(const std::string& name) const;
  // Sorted.
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, StepType> types_;
};

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_STEP_REGISTRY_H_
