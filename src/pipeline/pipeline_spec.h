// Pipeline specs: a YAML file naming typed parameters and a DAG of steps (docs/pipelines.md).
//
//   name: credit-risk
//   extends: ../templates/base.yaml
//   parameters:
//     target: Class
//     max_depth: {type: int, default: 4, min: 1, max: 8}
//   steps:
//     - name: train
//       uses: train
//       inputs: {train: split.outputs.train}
//       with:
//         max_depth: ${params.max_depth}
//       retries: 1
//       timeout: 10m
//     - name: report
//       run: [python3, scripts/report.py, --model, "${steps.train.outputs.model}"]
//       environment: python-3.11
//       outputs: [report]
//
// Parsing checks everything that can be checked before running, each mistake reported as
// "file:line:col: context: message" in the file that holds it (a template's own file for what a
// pipeline inherits): keys, types, step types and their `with` keys, references, needs, cycles,
// parameters and their bounds, approved environments.
#ifndef PLINTH_PIPELINE_PIPELINE_SPEC_H_
#define PLINTH_PIPELINE_PIPELINE_SPEC_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "pipeline/environment.h"
#include "pipeline/step_registry.h"

namespace plinth::pipeline {

enum class ParamType { kString, kInt, kFloat, kBool };
// "string", "int", "float", "bool".
std::string ParamTypeName(ParamType type);

struct ParameterSpec {
  std::string name;  // an identifier
  ParamType type = ParamType::kString;
  Json default_value;              // null: no default, the value must be given at run time
  std::optional<double> min, max;  // int and float only
  std::vector<Json> allowed;       // empty: any value of the type
  std::string description;
  // Where it was declared (a template's file for an inherited parameter), for messages.
  std::string file;
  int line = 0, column = 0;
};

// `inputs: {NAME: STEP.outputs.OUTPUT}`.
struct InputSpec {
  std::string name;
  std::string step;
  std::string output;
};

struct StepSpec {
  std::string name;
  std::string description;
  std::string uses;              // a registered step type; empty for a command step
  std::vector<std::string> run;  // a command step's argv (templates); no shell
  // The step's `with` (an object). Strings are templates (interpolation.h), rendered when the
  // step runs; other values are as written.
  Json with = Json::object();
  // Every step this one waits for: those in `needs` and, implied, every step it references in
  // `inputs` or ${steps.STEP.outputs.NAME}. In order of first mention.
  std::vector<std::string> needs;
  std::vector<InputSpec> inputs;
  // The outputs the step produces: the step type's, or a command step's `outputs`.
  std::vector<std::string> outputs;
  std::optional<Environment> environment;  // command steps: the approved runtime
  int retries = 0;                         // further attempts after a failure
  int64_t timeout_micros = 0;              // 0: none
  bool cache = true;                       // false: always run (results still recorded)
  // Where the step was written (a template's file for an inherited step).
  std::string file;
  int line = 0, column = 0;

  bool is_command() const { return uses.empty(); }
};

struct PipelineSpec {
  std::string name;
  std::string description;
  // The file read, then the templates it extends, nearest first.
  std::vector<std::string> files;
  std::vector<ParameterSpec> parameters;
  // Inherited steps first, in the template's order (a step the pipeline redefines keeps its
  // template's place), then the pipeline's new steps in its order.
  std::vector<StepSpec> steps;

  const StepSpec* FindStep(const std::string& name) const;
  const ParameterSpec* FindParameter(const std::string& name) const;
};

// Parameter name -> value (an int, double, string or bool JSON value).
using ParameterValues = std::map<std::string, Json>;

struct PipelineParseOptions {
  // The step types `uses` may name. Required.
  const StepRegistry* registry = nullptr;
  // The approved environments. Null: none are approved, and every command step is refused.
  const EnvironmentCatalog* environments = nullptr;
  // Reads a template named by `extends` (a path relative to the extending file's folder). The
  // default reads the file system (core/files.h).
  std::function<StatusOr<std::string>(const std::string& path)> read_file;
};

// Reads `path` and the templates it extends. InvalidArgument with a positioned message for any
// mistake in any of the files; NotFound if `path` itself cannot be read.
StatusOr<PipelineSpec> LoadPipeline(const std::string& path, const PipelineParseOptions& options);
// The same for text already read; `file_name` is used in messages and to find templates.
StatusOr<PipelineSpec> ParsePipeline(std::string_view yaml, const std::string& file_name,
                                     const PipelineParseOptions& options);

// The value of every parameter: its default, or the override given at run time. `overrides` are
// "NAME=VALUE" as typed after --param; VALUE is read as the parameter's type and checked against
// its bounds. InvalidArgument ("--param max_depth=9: ...") for an unknown name, a name given twice,
// a value of the wrong type or out of bounds, and a parameter without default left out.
StatusOr<ParameterValues> ResolveParameters(const PipelineSpec& spec,
                                            const std::vector<std::string>& overrides);

// Checks one value against a parameter's type and bounds ("must be at most 8").
Status CheckParameterValue(const ParameterSpec& param, const Json& value);

// The resolved spec as JSON (what a tracking run records; parameters with their defaults, steps
// with their environments' digests). Keys are stable; hash its canonical form to identify it.
Json PipelineSpecToJson(const PipelineSpec& spec);

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_PIPELINE_SPEC_H_
