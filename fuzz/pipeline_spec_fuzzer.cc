// libFuzzer target: pipeline files (src/pipeline/pipeline_spec.h). Each input is a pipeline YAML
// file, parsed against a registry with typed step types and an approved environment. Invariants:
// parsing never crashes, hangs or throws; a refusal is InvalidArgument positioned in the file
// ("fuzz.yaml:..."); an accepted pipeline is a DAG whose steps are unique, whose needs name
// earlier-declared steps of the pipeline, and parsing the same text again gives the same steps.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "pipeline/environment.h"
#include "pipeline/pipeline_spec.h"
#include "pipeline/step_registry.h"

#define CHECK_INVARIANT(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "invariant broken: %s (line %d)\n", #condition, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace {

using plinth::Json;
using namespace plinth::pipeline;

const StepRegistry& Registry() {
  static const StepRegistry* registry = [] {
    auto* r = new StepRegistry();
    auto run = [](StepContext&) -> plinth::StatusOr<StepResult> { return StepResult{}; };
    StepType split{"split", "", "1"};
    split.with = {{"target", ValueType::kString, true, Json(), ""},
                  {"test_fraction", ValueType::kFloat, false, Json(0.2), ""}};
    split.outputs = {{"train", ""}, {"test", ""}};
    split.run = run;
    StepType train{"train", "", "1"};
    train.with = {{"params", ValueType::kObject, false, Json(), ""},
                  {"features", ValueType::kList, false, Json(), ""},
                  {"seed", ValueType::kInt, false, Json(0), ""},
                  {"balanced", ValueType::kBool, false, Json(false), ""},
                  {"space", ValueType::kAny, false, Json(), ""}};
    train.outputs = {{"model", ""}};
    train.run = run;
    if (!r->Register(split).ok() || !r->Register(train).ok()) std::abort();
    return r;
  }();
  return *registry;
}

const EnvironmentCatalog& Environments() {
  static const EnvironmentCatalog* catalog = [] {
    auto parsed = ParseEnvironments(
        "environments:\n  - name: shell\n    description: sh\n    version: \"1\"\n", "env.yaml");
    if (!parsed.ok()) std::abort();
    return new EnvironmentCatalog(*std::move(parsed));
  }();
  return *catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  PipelineParseOptions options;
  options.registry = &Registry();
  options.environments = &Environments();
  // Templates are never read from disk here: `extends` fails as an unreadable file.
  options.read_file = [](const std::string& path) -> plinth::StatusOr<std::string> {
    return absl::NotFoundError("no templates in the fuzzer: " + path);
  };
  plinth::StatusOr<PipelineSpec> spec = ParsePipeline(text, "fuzz.yaml", options);
  if (!spec.ok()) {
    CHECK_INVARIANT(spec.status().code() == absl::StatusCode::kInvalidArgument ||
                    spec.status().code() == absl::StatusCode::kNotFound);
    return 0;
  }
  CHECK_INVARIANT(!spec->steps.empty());
  std::set<std::string> names;
  for (const StepSpec& step : spec->steps) {
    CHECK_INVARIANT(names.insert(step.name).second);
    CHECK_INVARIANT(step.uses.empty() != step.run.empty());
    CHECK_INVARIANT(step.with.is_object());
  }
  for (const StepSpec& step : spec->steps) {
    for (const std::string& need : step.needs) CHECK_INVARIANT(names.count(need) == 1);
  }
  plinth::StatusOr<PipelineSpec> again = ParsePipeline(text, "fuzz.yaml", options);
  CHECK_INVARIANT(again.ok());
  CHECK_INVARIANT(again->steps.size() == spec->steps.size());
  for (size_t i = 0; i < spec->steps.size(); ++i) {
    CHECK_INVARIANT(again->steps[i].name == spec->steps[i].name);
    CHECK_INVARIANT(again->steps[i].with == spec->steps[i].with);
  }
  // Parameters resolve to their defaults (or refuse, naming the parameter).
  plinth::StatusOr<ParameterValues> params = ResolveParameters(*spec, {});
  if (!params.ok()) CHECK_INVARIANT(params.status().code() == absl::StatusCode::kInvalidArgument);
  return 0;
}
