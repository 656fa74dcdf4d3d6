// Pipeline specs, templates, parameters, interpolation and environments: good files parse to the
// expected model, and every kind of mistake is reported at its exact file:line:col.
#include "pipeline/pipeline_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "pipeline/environment.h"
#include "pipeline/interpolation.h"
#include "pipeline/step_registry.h"

namespace plinth::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StepType Type(const std::string& name, std::vector<WithKey> with,
              std::vector<std::string> outputs) {
  StepType type;
  type.name = name;
  type.description = name;
  type.with = std::move(with);
  for (const std::string& o : outputs) type.outputs.push_back({o, "", false});
  type.run = [](StepContext&) -> StatusOr<StepResult> { return StepResult(); };
  return type;
}

StepRegistry TestRegistry() {
  StepRegistry registry;
  EXPECT_TRUE(registry
                  .Register(Type("ingest",
                                 {{"file", ValueType::kString, true, Json(), "the CSV file"},
                                  {"target", ValueType::kString, false, Json(), ""}},
                                 {"data"}))
                  .ok());
  EXPECT_TRUE(
      registry
          .Register(Type("split", {{"test_fraction", ValueType::kFloat, false, Json(0.2), ""}},
                         {"train", "test"}))
          .ok());
  EXPECT_TRUE(registry
                  .Register(Type("train",
                                 {{"max_depth", ValueType::kInt, false, Json(), ""},
                                  {"learning_rate", ValueType::kFloat, false, Json(), ""},
                                  {"balanced", ValueType::kBool, false, Json(), ""},
                                  {"features", ValueType::kList, false, Json(), ""}},
                                 {"model"}))
                  .ok());
  EXPECT_TRUE(registry.Register(Type("evaluate", {}, {"report"})).ok());
  return registry;
}

EnvironmentCatalog TestEnvironments() {
  StatusOr<EnvironmentCatalog> catalog = ParseEnvironments(
      "environments:\n"
      "  - name: python-3.11\n"
      "    description: CPython 3.11\n"
      "    version: 3.11.2\n"
      "  - name: shell\n"
      "    description: POSIX tools\n"
      "    version: debian-12\n",
      "environments.yaml");
  EXPECT_TRUE(catalog.ok()) << catalog.status();
  return catalog.ok() ? *catalog : EnvironmentCatalog();
}

class PipelineSpecTest : public ::testing::Test {
 protected:
  PipelineParseOptions Options() {
    PipelineParseOptions options;
    options.registry = &registry_;
    options.environments = &environments_;
    options.read_file = [this](const std::string& path) -> StatusOr<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return absl::NotFoundError("file not found: " + path);
      return it->second;
    };
    return options;
  }

  PipelineSpec MustParse(const std::string& yaml, const std::string& file = "p.yaml") {
    StatusOr<PipelineSpec> spec = ParsePipeline(yaml, file, Options());
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *std::move(spec) : PipelineSpec();
  }

  std::string Error(const std::string& yaml, const std::string& file = "p.yaml") {
    StatusOr<PipelineSpec> spec = ParsePipeline(yaml, file, Options());
    EXPECT_FALSE(spec.ok()) << yaml;
    if (spec.ok()) return "";
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(spec.status().message());
  }

  StepRegistry registry_ = TestRegistry();
  EnvironmentCatalog environments_ = TestEnvironments();
  std::map<std::string, std::string> files_;
};

// Lines 1-6: a pipeline with one ingest step; tests append steps from line 7 on.
const std::string kHead =
    "name: p\n"                // 1
    "steps:\n"                 // 2
    "  - name: ingest\n"       // 3
    "    uses: ingest\n"       // 4
    "    with:\n"              // 5
    "      file: data.csv\n";  // 6

// ---- Good specs ----

TEST_F(PipelineSpecTest, ParsesAFullPipeline) {
  const PipelineSpec spec = MustParse(
      "name: credit-risk\n"
      "description: Credit default model\n"
      "parameters:\n"
      "  target: Class\n"
      "  max_depth: {type: int, default: 4, min: 1, max: 8}\n"
      "  learning_rate: 0.1\n"
      "  balanced: true\n"
      "  label: \"1\"\n"
      "  objective: {type: string, default: binary, allowed: [binary, multiclass]}\n"
      "steps:\n"
      "  - name: ingest\n"
      "    uses: ingest\n"
      "    with:\n"
      "      file: data/lending_club.csv\n"
      "      target: ${params.target}\n"
      "  - name: split\n"
      "    uses: split\n"
      "    inputs: {data: ingest.outputs.data}\n"
      "  - name: train\n"
      "    uses: train\n"
      "    inputs: {train: split.outputs.train}\n"
      "    with:\n"
      "      max_depth: ${params.max_depth}\n"
      "      learning_rate: ${ params.learning_rate }\n"
      "      balanced: ${params.balanced}\n"
      "      features: [a, b]\n"
      "    retries: 1\n"
      "    timeout: 10m\n"
      "  - name: report\n"
      "    run: [python3, scripts/report.py, --model, \"${steps.train.outputs.model}\",\n"
      "          --out, \"${outputs.report}\"]\n"
      "    environment: python-3.11\n"
      "    outputs: [report]\n"
      "    needs: [split]\n"
      "    cache: false\n");
  EXPECT_EQ(spec.name, "credit-risk");
  EXPECT_EQ(spec.description, "Credit default model");
  EXPECT_THAT(spec.files, ElementsAre("p.yaml"));
  ASSERT_EQ(spec.parameters.size(), 6u);
  EXPECT_EQ(spec.parameters[0].type, ParamType::kString);
  EXPECT_EQ(spec.parameters[0].default_value, Json("Class"));
  EXPECT_EQ(spec.parameters[1].type, ParamType::kInt);
  EXPECT_EQ(spec.parameters[1].default_value, Json(4));
  EXPECT_EQ(*spec.parameters[1].min, 1);
  EXPECT_EQ(*spec.parameters[1].max, 8);
  EXPECT_EQ(spec.parameters[1].line, 5);
  EXPECT_EQ(spec.parameters[1].column, 3);
  EXPECT_EQ(spec.parameters[2].type, ParamType::kFloat);
  EXPECT_EQ(spec.parameters[3].type, ParamType::kBool);
  EXPECT_EQ(spec.parameters[4].type, ParamType::kString);  // quoted: text
  EXPECT_EQ(spec.parameters[4].default_value, Json("1"));
  EXPECT_THAT(spec.parameters[5].allowed, ElementsAre(Json("binary"), Json("multiclass")));

  ASSERT_EQ(spec.steps.size(), 4u);
  const StepSpec& ingest = spec.steps[0];
  EXPECT_EQ(ingest.uses, "ingest");
  EXPECT_EQ(ingest.with["target"], Json("${params.target}"));
  EXPECT_THAT(ingest.outputs, ElementsAre("data"));
  EXPECT_TRUE(ingest.needs.empty());
  const StepSpec& split = spec.steps[1];
  EXPECT_THAT(split.needs, ElementsAre("ingest"));  // implied by the input
  ASSERT_EQ(split.inputs.size(), 1u);
  EXPECT_EQ(split.inputs[0].step, "ingest");
  EXPECT_EQ(split.inputs[0].output, "data");
  const StepSpec& train = spec.steps[2];
  EXPECT_EQ(train.retries, 1);
  EXPECT_EQ(train.timeout_micros, int64_t{600} * 1000000);
  EXPECT_EQ(train.with["features"], Json::array({"a", "b"}));
  EXPECT_EQ(train.line, 19);
  EXPECT_EQ(train.column, 5);
  EXPECT_EQ(train.file, "p.yaml");
  const StepSpec& report = spec.steps[3];
  EXPECT_TRUE(report.is_command());
  EXPECT_THAT(report.run,
              ElementsAre("python3", "scripts/report.py", "--model", "${steps.train.outputs.model}",
                          "--out", "${outputs.report}"));
  EXPECT_THAT(report.needs, ElementsAre("split", "train"));  // explicit, then implied
  EXPECT_THAT(report.outputs, ElementsAre("report"));
  ASSERT_TRUE(report.environment.has_value());
  EXPECT_EQ(report.environment->name, "python-3.11");
  EXPECT_FALSE(report.cache);

  const Json json = PipelineSpecToJson(spec);
  EXPECT_EQ(json["steps"][3]["environment"]["digest"],
            Json(EnvironmentDigest(*report.environment)));
}

TEST_F(PipelineSpecTest, StepsMayReferToLaterSteps) {
  const PipelineSpec spec = MustParse(
      "name: p\n"
      "steps:\n"
      "  - name: evaluate\n"
      "    uses: evaluate\n"
      "    needs: [ingest]\n"
      "  - name: ingest\n"
      "    uses: ingest\n"
      "    with: {file: x.csv}\n");
  EXPECT_THAT(spec.steps[0].needs, ElementsAre("ingest"));
}

TEST_F(PipelineSpecTest, TimeoutsAndEmptySections) {
  const PipelineSpec spec = MustParse(kHead +
                                      "    timeout: 200ms\n"
                                      "parameters:\n");
  EXPECT_EQ(spec.steps[0].timeout_micros, 200000);
  EXPECT_TRUE(spec.parameters.empty());
}

// ---- Errors: keys and shapes ----

TEST_F(PipelineSpecTest, UnknownTopLevelKey) {
  EXPECT_EQ(Error("nmae: p\n"), "p.yaml:1:1: unknown key 'nmae' (did you mean 'name'?)");
  EXPECT_EQ(Error("name: p\nstpes: []\n"),
            "p.yaml:2:1: unknown key 'stpes' (did you mean 'steps'?)");
}

TEST_F(PipelineSpecTest, UnknownStepKey) {
  EXPECT_EQ(Error(kHead + "    retires: 2\n"),
            "p.yaml:7:5: steps[0] ingest: unknown key 'retires' (did you mean 'retries'?)");
}

TEST_F(PipelineSpecTest, UnknownStepType) {
  EXPECT_EQ(Error(kHead + "  - name: train\n"    // 7
                          "    uses: trian\n"),  // 8
            "p.yaml:8:11: steps[1] train: unknown step type 'trian' (did you mean 'train'?); "
            "step types: evaluate, ingest, split, train");
  EXPECT_EQ(Error(kHead + "  - name: x\n"
                          "    uses: deploy\n"),
            "p.yaml:8:11: steps[1] x: unknown step type 'deploy'; step types: evaluate, ingest, "
            "split, train");
}

TEST_F(PipelineSpecTest, UsesAndRunBothOrNeither) {
  EXPECT_EQ(Error(kHead + "  - name: x\n"            // 7
                          "    uses: evaluate\n"     // 8
                          "    run: [echo, hi]\n"),  // 9
            "p.yaml:9:5: steps[1] x: a step either uses a step type or runs a command, not both "
            "('uses' is at 8:5)");
  EXPECT_EQ(Error(kHead + "  - name: x\n"
                          "    needs: [ingest]\n"),
            "p.yaml:7:5: steps[1] x: a step needs 'uses: TYPE' (a step type) or 'run: [PROGRAM, "
            "ARG...]' (a command)");
}

TEST_F(PipelineSpecTest, DuplicateStepNames) {
  EXPECT_EQ(Error(kHead + "  - name: ingest\n"
                          "    uses: evaluate\n"),
            "p.yaml:7:11: steps[1] ingest: duplicate step name 'ingest' (first defined at 3:11)");
}

TEST_F(PipelineSpecTest, BadNamesAndShapes) {
  EXPECT_EQ(Error("name: p\nsteps: {a: 1}\n"), "p.yaml:2:8: 'steps' must be a list, not a mapping");
  EXPECT_EQ(Error(kHead + "  - name: 1x\n    uses: evaluate\n"),
            "p.yaml:7:11: steps[1]: name '1x' is not a step name (letters, digits, '_' and '-', "
            "starting with a letter, at most 64 characters)");
  EXPECT_EQ(Error(kHead + "  - name: x\n    run: python3 train.py\n    environment: shell\n"),
            "p.yaml:8:10: steps[1] x: 'run' is a list of the program and its arguments, such as "
            "[python3, train.py] (no shell is used, so a command line is not split)");
  EXPECT_EQ(Error(kHead + "    retries: 11\n"),
            "p.yaml:7:14: steps[0] ingest: 'retries' must be a whole number from 0 to 10, not "
            "'11'");
  EXPECT_EQ(Error(kHead + "    timeout: 10 minutes\n"),
            "p.yaml:7:14: steps[0] ingest: 'timeout' must be a duration such as 500ms, 90s, 10m "
            "or 2h (0 for none), not '10 minutes'");
  EXPECT_EQ(Error(kHead + "    cache: yes\n"),
            "p.yaml:7:12: steps[0] ingest: 'cache' must be true or false, not 'yes'");
  EXPECT_EQ(Error(kHead + "    needs: ingest\n"),
            "p.yaml:7:12: steps[0] ingest: 'needs' must be a list (write [a, b]), not 'ingest'");
}

TEST_F(PipelineSpecTest, EmptyAndInvalidFiles) {
  EXPECT_EQ(Error(""), "p.yaml:1:1: the file defines no pipeline (expected name and steps)");
  EXPECT_EQ(Error("name: p\n"), "p.yaml:1:1: the pipeline has no steps");
  EXPECT_EQ(Error("name: [p\n"), "p.yaml:2:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(Error("name: p\nsteps: []\n\x01"),
            "p.yaml:3:1: the file contains the control character U+0001, which YAML does not "
            "allow");
}

TEST_F(PipelineSpecTest, UnquotedReferenceInAFlowCollectionGetsAHint) {
  EXPECT_THAT(Error(kHead + "  - name: x\n"
                            "    run: [echo, ${params.a}]\n"
                            "    environment: shell\n"),
              HasSubstr("(inside [...] or {...}, write a reference in quotes: "
                        "\"${params.NAME}\")"));
}

// ---- Errors: needs, inputs, cycles ----

TEST_F(PipelineSpecTest, NeedsNamingUnknownSteps) {
  EXPECT_EQ(Error(kHead + "  - name: evaluate\n"
                          "    uses: evaluate\n"
                          "    needs: [ingest, ingets]\n"),
            "p.yaml:9:21: steps[1] evaluate: 'needs' names unknown step 'ingets' (did you mean "
            "'ingest'?)");
  EXPECT_EQ(Error(kHead + "  - name: evaluate\n"
                          "    uses: evaluate\n"
                          "    needs: [ingest, ingest]\n"),
            "p.yaml:9:21: steps[1] evaluate: 'needs' lists 'ingest' twice (first at 9:13)");
}

TEST_F(PipelineSpecTest, CyclesAreNamed) {
  EXPECT_EQ(Error("name: p\n"
                  "steps:\n"
                  "  - name: a\n"  // 3
                  "    uses: evaluate\n"
                  "    needs: [b]\n"  // 5
                  "  - name: b\n"
                  "    uses: evaluate\n"
                  "    needs: [a]\n"),
            "p.yaml:5:13: steps[0] a: cycle: a -> b -> a");
  EXPECT_EQ(Error("name: p\n"
                  "steps:\n"
                  "  - name: a\n"
                  "    uses: evaluate\n"
                  "    needs: [a]\n"),
            "p.yaml:5:13: steps[0] a: cycle: a -> a");
  // Through an input and a reference: c reads b, b reads a, a needs c.
  EXPECT_EQ(Error("name: p\n"
                  "steps:\n"
                  "  - name: x\n"  // 3
                  "    uses: evaluate\n"
                  "  - name: a\n"  // 5
                  "    uses: split\n"
                  "    needs: [c]\n"  // 7
                  "  - name: b\n"
                  "    uses: split\n"
                  "    inputs: {t: a.outputs.train}\n"  // 10
                  "  - name: c\n"
                  "    run: [cat, \"${steps.b.outputs.test}\"]\n"  // 12
                  "    environment: shell\n"),
            "p.yaml:7:13: steps[1] a: cycle: a -> c -> b -> a");
}

TEST_F(PipelineSpecTest, InputsReferToDeclaredOutputs) {
  EXPECT_EQ(Error(kHead + "  - name: split\n"
                          "    uses: split\n"
                          "    inputs: {data: ingset.outputs.data}\n"),
            "p.yaml:9:20: steps[1] split: input 'data' refers to unknown step 'ingset' (did you "
            "mean 'ingest'?)");
  EXPECT_EQ(Error(kHead + "  - name: split\n"
                          "    uses: split\n"
                          "    inputs: {data: ingest.outputs.dataset}\n"),
            "p.yaml:9:20: steps[1] split: input 'data' refers to 'dataset', which step 'ingest' "
            "does not produce (did you mean 'data'?)");
  EXPECT_EQ(Error(kHead + "  - name: split\n"
                          "    uses: split\n"
                          "    inputs: {data: \"${steps.ingest.outputs.data}\"}\n"),
            "p.yaml:9:20: steps[1] split: input 'data' must name another step's output as "
            "STEP.outputs.NAME, not '${steps.ingest.outputs.data}' (inputs are written without "
            "${...})");
}

// ---- Errors: with ----

TEST_F(PipelineSpecTest, WithKeysAreChecked) {
  EXPECT_EQ(Error(kHead + "      fiel: y\n"),
            "p.yaml:7:7: steps[0] ingest: step type 'ingest' takes no 'fiel' (did you mean "
            "'file'?)");
  EXPECT_EQ(Error("name: p\n"
                  "steps:\n"
                  "  - name: ingest\n"
                  "    uses: ingest\n"
                  "    with: {target: y}\n"),
            "p.yaml:5:5: steps[0] ingest: step type 'ingest' needs 'file' in 'with' (the CSV "
            "file)");
  EXPECT_EQ(Error("name: p\n"
                  "steps:\n"
                  "  - name: ingest\n"
                  "    uses: ingest\n"),
            "p.yaml:3:5: steps[0] ingest: step type 'ingest' needs 'file' in 'with' (the CSV "
            "file)");
}

TEST_F(PipelineSpecTest, WithValuesAreTyped) {
  const std::string head =
      "name: p\n"
      "parameters:\n"
      "  target: Class\n"
      "  depth: 4\n"
      "steps:\n"
      "  - name: train\n"
      "    uses: train\n"
      "    with:\n";  // 8
  EXPECT_EQ(Error(head + "      max_depth: deep\n"),
            "p.yaml:9:18: steps[0] train: 'max_depth' of step type 'train' is an int, not 'deep'");
  EXPECT_EQ(Error(head + "      max_depth: 4.5\n"),
            "p.yaml:9:18: steps[0] train: 'max_depth' of step type 'train' is an int, not '4.5'");
  EXPECT_EQ(Error(head + "      max_depth: ${params.target}\n"),
            "p.yaml:9:18: steps[0] train: 'max_depth' of step type 'train' is an int, not "
            "'${params.target}'");
  EXPECT_EQ(Error(head + "      balanced: ${params.depth}\n"),
            "p.yaml:9:17: steps[0] train: 'balanced' of step type 'train' is a bool, not "
            "'${params.depth}' (an int parameter)");
  EXPECT_EQ(Error(head + "      features: a\n"),
            "p.yaml:9:17: steps[0] train: 'features' of step type 'train' is a list, not 'a'");
  // An int parameter where a float is expected is fine; so is text mixing a reference.
  MustParse(head + "      learning_rate: ${params.depth}\n");
}

// ---- Errors: parameters ----

TEST_F(PipelineSpecTest, ParameterDeclarationsAreChecked) {
  auto error = [&](const std::string& decl) {
    return Error("name: p\nparameters:\n  x: " + decl + "\n" + kHead.substr(8));
  };
  EXPECT_EQ(error("{type: int, default: abc}"),
            "p.yaml:3:27: parameters.x: 'default' must be an int, not 'abc'");
  EXPECT_EQ(error("{type: int, default: 9, max: 8}"),
            "p.yaml:3:27: parameters.x: 'default' must be at most 8, not 9");
  EXPECT_EQ(error("{type: float, default: 0.5, min: 1}"),
            "p.yaml:3:29: parameters.x: 'default' must be at least 1, not 0.5");
  EXPECT_EQ(error("{type: string, default: c, allowed: [a, b]}"),
            "p.yaml:3:30: parameters.x: 'default' must be one of a, b, not 'c'");
  EXPECT_EQ(error("{type: integer}"),
            "p.yaml:3:13: parameters.x: unknown type 'integer' (did you mean 'int'?); expected "
            "one of string, int, float, bool");
  EXPECT_EQ(error("{type: int, min: 5, max: 1}"),
            "p.yaml:3:23: parameters.x: 'min' (5) is greater than 'max' (1)");
  EXPECT_EQ(error("{type: string, min: 1}"),
            "p.yaml:3:21: parameters.x: 'min' applies to int and float parameters");
  EXPECT_EQ(error("{type: int, defualt: 1}"),
            "p.yaml:3:18: parameters.x: unknown key 'defualt' (did you mean 'default'?)");
  EXPECT_EQ(error("[1, 2]"),
            "p.yaml:3:6: parameters.x: a parameter must be a mapping with keys type, default, "
            "min, max, allowed, description, not a list");
  EXPECT_EQ(error("~"),
            "p.yaml:3:6: parameters.x: a parameter needs a default value or a declaration such "
            "as {type: int, default: 4}");
}

TEST_F(PipelineSpecTest, UnknownParameterInInterpolationIsPlacedExactly) {
  EXPECT_EQ(Error("name: p\n"
                  "parameters:\n"
                  "  target: Class\n"
                  "steps:\n"
                  "  - name: ingest\n"
                  "    uses: ingest\n"
                  "    with:\n"
                  "      file: data/${params.tagret}.csv\n"),  // 8
            "p.yaml:8:18: steps[0] ingest: unknown parameter 'tagret' in ${params.tagret} (did "
            "you mean 'target'?)");
  // In a quoted list item: the column of the "${" inside the quotes.
  EXPECT_EQ(Error(kHead + "  - name: x\n"
                          "    run: [echo, \"n=${params.n}\"]\n"  // 8
                          "    environment: shell\n"),
            "p.yaml:8:20: steps[1] x: unknown parameter 'n' in ${params.n} (no parameters are "
            "defined)");
}

TEST_F(PipelineSpecTest, MalformedReferences) {
  EXPECT_EQ(Error(kHead + "      target: ${param.x}\n"),
            "p.yaml:7:15: steps[0] ingest: unknown reference '${param.x}' (did you mean 'params'? "
            "expected params.NAME, steps.STEP.outputs.NAME, inputs.NAME or outputs.NAME)");
  EXPECT_EQ(Error(kHead + "      target: a ${params.x\n"),
            "p.yaml:7:17: steps[0] ingest: unterminated reference '${params.x' (a reference is "
            "${...}; write $${ for a literal ${)");
  EXPECT_EQ(Error(kHead + "      target: ${steps.ingest.data}\n"),
            "p.yaml:7:15: steps[0] ingest: unknown reference '${steps.ingest.data}' (a step's "
            "output is steps.ingest.outputs.data)");
  EXPECT_EQ(Error(kHead + "      target: ${steps.ingest.outputs.dat}\n"),
            "p.yaml:7:15: steps[0] ingest: ${steps.ingest.outputs.dat} refers to 'dat', which "
            "step 'ingest' does not produce (did you mean 'data'?)");
  EXPECT_EQ(Error(kHead + "      target: ${outputs.data}\n"),
            "p.yaml:7:15: steps[0] ingest: ${outputs.data}: only command steps refer to their "
            "outputs; a step type writes its own");
  EXPECT_EQ(Error(kHead + "      target: ${inputs.data}\n"),
            "p.yaml:7:15: steps[0] ingest: ${inputs.data} names no input of this step (no inputs "
            "are defined)");
  // "$${" is a literal "${".
  MustParse(kHead + "      target: $${params.x}\n");
}

// ---- Errors: environments ----

TEST_F(PipelineSpecTest, CommandStepsNeedAnApprovedEnvironment) {
  EXPECT_EQ(Error(kHead + "  - name: report\n"
                          "    run: [python3, report.py]\n"
                          "    environment: python-3.12\n"),  // 9
            "p.yaml:9:18: steps[1] report: environment 'python-3.12' is not approved (did you "
            "mean 'python-3.11'?) (approved: python-3.11, shell in environments.yaml)");
  EXPECT_EQ(Error(kHead + "  - name: report\n"
                          "    run: [python3, report.py]\n"),  // 8
            "p.yaml:8:5: steps[1] report: a command step must name its 'environment', one of the "
            "approved runtimes (approved: python-3.11, shell)");
  EXPECT_EQ(Error(kHead + "    environment: shell\n"),
            "p.yaml:7:5: steps[0] ingest: 'environment' applies to command steps ('run'); a step "
            "type runs inside the platform");
  PipelineParseOptions options = Options();
  options.environments = nullptr;
  StatusOr<PipelineSpec> spec = ParsePipeline(kHead +
                                                  "  - name: report\n"
                                                  "    run: [python3, report.py]\n"
                                                  "    environment: shell\n",
                                              "p.yaml", options);
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().message(),
            "p.yaml:9:18: steps[1] report: environment 'shell' is not approved (no environments "
            "are approved)");
}

TEST_F(PipelineSpecTest, CommandOutputsAreDeclared) {
  EXPECT_EQ(Error(kHead + "  - name: report\n"
                          "    run: [touch, \"${outputs.reprot}\"]\n"  // 8
                          "    environment: shell\n"
                          "    outputs: [report]\n"),
            "p.yaml:8:19: steps[1] report: ${outputs.reprot} names no output of this step "
            "(declare it in 'outputs') (did you mean 'report'?)");
  EXPECT_EQ(Error(kHead + "    outputs: [x]\n"),
            "p.yaml:7:5: steps[0] ingest: the outputs of a 'uses' step are those its step type "
            "declares; 'outputs' is for command steps");
}

// ---- Parameters at run time ----

TEST_F(PipelineSpecTest, ResolveParametersAppliesOverrides) {
  const PipelineSpec spec = MustParse(
      "name: p\n"
      "parameters:\n"
      "  target: Class\n"
      "  max_depth: {type: int, default: 4, min: 1, max: 8}\n"
      "  rate: {type: float, default: 0.1}\n"
      "  balanced: false\n"
      "  seed: {type: int}\n" +
      kHead.substr(8));
  StatusOr<ParameterValues> values =
      ResolveParameters(spec, {"max_depth=5", "seed=7", "balanced=true", "rate=1", "target=4"});
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)["max_depth"], Json(5));
  EXPECT_EQ((*values)["seed"], Json(7));
  EXPECT_EQ((*values)["balanced"], Json(true));
  EXPECT_EQ((*values)["rate"], Json(1.0));
  EXPECT_TRUE((*values)["rate"].is_number_float());
  EXPECT_EQ((*values)["target"], Json("4"));

  auto error = [&](std::vector<std::string> overrides) {
    StatusOr<ParameterValues> v = ResolveParameters(spec, overrides);
    EXPECT_FALSE(v.ok());
    return v.ok() ? std::string() : std::string(v.status().message());
  };
  EXPECT_EQ(error({"seed=1", "max_depth=9"}),
            "--param 'max_depth=9': 'max_depth' must be at most 8, not 9 (declared at p.yaml:4:3)");
  EXPECT_EQ(error({"seed=1", "max_depth=deep"}),
            "--param 'max_depth=deep': 'max_depth' is an int parameter, not 'deep' (declared at "
            "p.yaml:4:3)");
  EXPECT_EQ(error({"seed=1", "max_dpeth=3"}),
            "--param 'max_dpeth=3': unknown parameter 'max_dpeth' (did you mean 'max_depth'?)");
  EXPECT_EQ(error({"seed=1", "seed=2"}), "--param 'seed=2': 'seed' is given twice");
  EXPECT_EQ(error({"seed"}), "--param 'seed': expected NAME=VALUE");
  EXPECT_EQ(error({"seed=1", "balanced=yes"}),
            "--param 'balanced=yes': 'balanced' is true or false parameter, not 'yes' (declared "
            "at p.yaml:6:3)");
  EXPECT_EQ(error({}),
            "parameter 'seed' has no default (declared at p.yaml:7:3): give it with --param "
            "seed=VALUE");
}

// ---- extends ----

const std::string kBase =
    "name: base\n"                                                  // 1
    "description: the bank's credit template\n"                     // 2
    "parameters:\n"                                                 // 3
    "  target: Class\n"                                             // 4
    "  max_depth: {type: int, default: 4, min: 1, max: 8}\n"        // 5
    "steps:\n"                                                      // 6
    "  - name: ingest\n"                                            // 7
    "    uses: ingest\n"                                            // 8
    "    with: {file: data/x.csv, target: \"${params.target}\"}\n"  // 9
    "  - name: split\n"                                             // 10
    "    uses: split\n"                                             // 11
    "    inputs: {data: ingest.outputs.data}\n"                     // 12
    "  - name: train\n"                                             // 13
    "    uses: train\n"                                             // 14
    "    inputs: {train: split.outputs.train}\n"                    // 15
    "    with:\n"                                                   // 16
    "      max_depth: ${params.max_depth}\n";                       // 17

TEST_F(PipelineSpecTest, ExtendsInheritsOverridesAndAdds) {
  files_["templates/base.yaml"] = kBase;
  const PipelineSpec spec = MustParse(
      "name: credit\n"
      "extends: ../templates/base.yaml\n"
      "parameters:\n"
      "  max_depth: 6\n"
      "  seed: 7\n"
      "steps:\n"
      "  - name: train\n"
      "    uses: train\n"
      "    inputs: {train: split.outputs.train}\n"
      "    with: {max_depth: \"${params.max_depth}\", learning_rate: 0.05}\n"
      "  - name: evaluate\n"
      "    uses: evaluate\n"
      "    needs: [train]\n",
      "pipelines/credit.yaml");
  EXPECT_EQ(spec.name, "credit");
  EXPECT_EQ(spec.description, "the bank's credit template");
  EXPECT_THAT(spec.files, ElementsAre("pipelines/credit.yaml", "templates/base.yaml"));
  ASSERT_EQ(spec.parameters.size(), 3u);
  const ParameterSpec* depth = spec.FindParameter("max_depth");
  ASSERT_NE(depth, nullptr);
  EXPECT_EQ(depth->default_value, Json(6));
  EXPECT_EQ(depth->type, ParamType::kInt);
  EXPECT_EQ(*depth->max, 8);
  EXPECT_EQ(depth->file, "templates/base.yaml");
  ASSERT_EQ(spec.steps.size(), 4u);
  EXPECT_EQ(spec.steps[0].name, "ingest");
  EXPECT_EQ(spec.steps[0].file, "templates/base.yaml");
  EXPECT_EQ(spec.steps[2].name, "train");  // replaced in place
  EXPECT_EQ(spec.steps[2].file, "pipelines/credit.yaml");
  EXPECT_EQ(spec.steps[2].with["learning_rate"], Json(0.05));
  EXPECT_EQ(spec.steps[3].name, "evaluate");  // added
}

TEST_F(PipelineSpecTest, ExtendsKeepsTheTemplatesBounds) {
  files_["templates/base.yaml"] = kBase;
  EXPECT_EQ(Error("name: credit\n"
                  "extends: ../templates/base.yaml\n"
                  "parameters:\n"
                  "  max_depth: 9\n",
                  "pipelines/credit.yaml"),
            "pipelines/credit.yaml:4:14: parameters.max_depth: the default must be at most 8, not "
            "9 (declared at templates/base.yaml:5:3)");
  EXPECT_EQ(Error("name: credit\n"
                  "extends: ../templates/base.yaml\n"
                  "parameters:\n"
                  "  max_depth: {default: 3, max: 20}\n",
                  "pipelines/credit.yaml"),
            "pipelines/credit.yaml:4:27: parameters.max_depth: 'max' of inherited parameter "
            "'max_depth' is fixed by its declaration at templates/base.yaml:5:3; a pipeline that "
            "extends it may change only 'default' and 'description'");
  EXPECT_EQ(Error("name: credit\n"
                  "extends: ../templates/base.yaml\n"
                  "parameters:\n"
                  "  max_depth: deep\n",
                  "pipelines/credit.yaml"),
            "pipelines/credit.yaml:4:14: parameters.max_depth: 'max_depth' is an int parameter "
            "(declared at templates/base.yaml:5:3), not 'deep'");
}

TEST_F(PipelineSpecTest, ErrorsInATemplateNameTheTemplate) {
  std::string broken = kBase;
  broken.replace(broken.find("uses: split"), 11, "uses: splt ");
  files_["templates/base.yaml"] = broken;
  EXPECT_EQ(Error("name: credit\nextends: ../templates/base.yaml\n", "pipelines/credit.yaml"),
            "templates/base.yaml:11:11: steps[1] split: unknown step type 'splt' (did you mean "
            "'split'?); step types: evaluate, ingest, split, train");
  // Reported even when the pipeline replaces the broken step: the template itself is wrong.
  files_["templates/base.yaml"] = kBase + "    retries: many\n";
  EXPECT_EQ(Error("name: credit\n"
                  "extends: ../templates/base.yaml\n"
                  "steps:\n"
                  "  - name: train\n"
                  "    uses: train\n",
                  "pipelines/credit.yaml"),
            "templates/base.yaml:18:14: steps[2] train: 'retries' must be a whole number from 0 "
            "to 10, not 'many'");
}

TEST_F(PipelineSpecTest, ExtendsCyclesAndMissingTemplates) {
  files_["a.yaml"] = "name: a\nextends: b.yaml\n";
  files_["b.yaml"] = "name: b\nextends: a.yaml\n";
  EXPECT_EQ(Error(files_["a.yaml"], "a.yaml"),
            "b.yaml:2:10: extends cycle: a.yaml -> b.yaml -> a.yaml");
  EXPECT_EQ(Error("name: c\nextends: c.yaml\n", "c.yaml"),
            "c.yaml:2:10: extends cycle: c.yaml -> c.yaml");
  EXPECT_EQ(Error("name: d\nextends: nope/base.yaml\n", "dir/d.yaml"),
            "dir/d.yaml:2:10: cannot read template 'dir/nope/base.yaml': file not found: "
            "dir/nope/base.yaml");
}

TEST_F(PipelineSpecTest, LoadPipelineReadsTheFile) {
  files_["pipelines/p.yaml"] = kHead;
  StatusOr<PipelineSpec> spec = LoadPipeline("pipelines/p.yaml", Options());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->steps[0].file, "pipelines/p.yaml");
  EXPECT_TRUE(absl::IsNotFound(LoadPipeline("missing.yaml", Options()).status()));
}

// ---- Interpolation ----

TEST(InterpolationTest, ParsesAndRenders) {
  StatusOr<Template> tmpl = ParseTemplate("--depth=${params.d} ${ steps.a-b.outputs.m }$x $${y}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  const std::vector<Reference> refs = tmpl->References();
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].ToString(), "params.d");
  EXPECT_EQ(refs[0].offset, 8u);
  EXPECT_EQ(refs[1].kind, Reference::Kind::kStepOutput);
  EXPECT_EQ(refs[1].step, "a-b");
  EXPECT_EQ(refs[1].name, "m");
  auto resolve = [](const Reference& ref) -> StatusOr<Json> {
    if (ref.kind == Reference::Kind::kParam) return Json(4);
    return Json("/tmp/model");
  };
  StatusOr<Json> text = RenderTemplate(*tmpl, resolve);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, Json("--depth=4 /tmp/model$x ${y}"));

  // A single reference keeps its type; RenderJson walks lists and objects.
  StatusOr<Json> rendered = RenderJson(
      Json::parse(R"({"d": "${params.d}", "l": ["${params.d}", 1.5], "s": "n${params.d}"})"),
      resolve);
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(*rendered, Json::parse(R"({"d": 4, "l": [4, 1.5], "s": "n4"})"));
}

TEST(InterpolationTest, RendersOnceSoValuesAreNeverReinterpreted) {
  StatusOr<Template> tmpl = ParseTemplate("a=${params.a}");
  ASSERT_TRUE(tmpl.ok());
  StatusOr<Json> out = RenderTemplate(
      *tmpl, [](const Reference&) -> StatusOr<Json> { return Json("${params.secret}"); });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, Json("a=${params.secret}"));
}

TEST(InterpolationTest, ValueText) {
  EXPECT_EQ(ValueText(Json(0.1)), "0.1");
  EXPECT_EQ(ValueText(Json(3)), "3");
  EXPECT_EQ(ValueText(Json(true)), "true");
  EXPECT_EQ(ValueText(Json::array({1, "a"})), "[1,\"a\"]");
}

TEST(InterpolationTest, Errors) {
  size_t offset = 99;
  StatusOr<Template> bad = ParseTemplate("ab${", &offset);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(offset, 2u);
  EXPECT_FALSE(ParseTemplate("${}").ok());
  EXPECT_FALSE(ParseTemplate("${params.a.b}").ok());
  EXPECT_FALSE(ParseTemplate("${params.a${params.b}}").ok());
  EXPECT_FALSE(ParseTemplate("${params.1a}").ok());
}

// ---- Environments ----

TEST(EnvironmentsTest, ParsesAndDigests) {
  StatusOr<EnvironmentCatalog> catalog = ParseEnvironments(
      "environments:\n"
      "  - name: python-3.11\n"
      "    description: CPython 3.11\n"
      "    version: 3.11.2\n"
      "    command: [/usr/bin/env, PYTHONHASHSEED=0]\n"
      "    env:\n"
      "      PATH: /opt/py311/bin:/usr/bin:/bin\n"
      "  - name: scoring\n"
      "    description: the scoring image\n"
      "    image: registry.example/ml/scoring\n"
      "    digest: sha256:" +
          std::string(64, 'a') + "\n",
      "environments.yaml");
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  ASSERT_EQ(catalog->environments.size(), 2u);
  const Environment* py = catalog->Find("python-3.11");
  ASSERT_NE(py, nullptr);
  EXPECT_THAT(py->command, ElementsAre("/usr/bin/env", "PYTHONHASHSEED=0"));
  EXPECT_EQ(py->env.at("PATH"), "/opt/py311/bin:/usr/bin:/bin");
  EXPECT_TRUE(catalog->Find("scoring")->is_image());

  // The digest covers what runs, not the prose.
  Environment copy = *py;
  copy.description = "reworded";
  EXPECT_EQ(EnvironmentDigest(copy), EnvironmentDigest(*py));
  copy.version = "3.11.3";
  EXPECT_NE(EnvironmentDigest(copy), EnvironmentDigest(*py));
  EXPECT_TRUE(IsValidDigest(EnvironmentDigest(*py)));
}

TEST(EnvironmentsTest, Errors) {
  auto error = [](const std::string& yaml) {
    StatusOr<EnvironmentCatalog> c = ParseEnvironments(yaml, "env.yaml");
    EXPECT_FALSE(c.ok()) << yaml;
    return c.ok() ? std::string() : std::string(c.status().message());
  };
  const std::string head = "environments:\n  - name: x\n    description: d\n";
  EXPECT_EQ(error(head),
            "env.yaml:2:5: environments[0] x: a host environment needs a 'version' "
            "(or give an 'image' and its 'digest')");
  EXPECT_EQ(error(head + "    image: reg/x:latest\n"),
            "env.yaml:2:5: environments[0] x: an image environment needs its 'digest' "
            "(sha256:<64 hex>): a tag can be moved, a digest cannot");
  EXPECT_EQ(error(head + "    image: reg/x\n    digest: latest\n"),
            "env.yaml:5:13: environments[0] x: 'digest' must be sha256:<64 lowercase hex>, not "
            "'latest'");
  EXPECT_EQ(error(head + "    verison: 1\n"),
            "env.yaml:4:5: environments[0] x: unknown key 'verison' (did you mean 'version'?)");
  EXPECT_EQ(error(head + "    version: 1\n    env: {PLINTH_TOKEN: x}\n"),
            "env.yaml:5:11: environments[0] x: 'env' key 'PLINTH_TOKEN' is reserved (PLINTH_ "
            "variables are set by the executor)");
  EXPECT_EQ(error(head + "    version: 1\n" + head.substr(14) + "    version: 2\n"),
            "env.yaml:5:11: environments[1]: duplicate environment name 'x' (first defined at "
            "2:11)");
  EXPECT_EQ(error("environments:\n  - name: x\n    version: 1\n"),
            "env.yaml:2:5: environments[0] x: missing 'description'");
}

// ---- Registry ----

TEST(StepRegistryTest, RefusesMalformedTypes) {
  StepRegistry registry;
  StepType type = Type("train", {}, {"model"});
  EXPECT_TRUE(registry.Register(type).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(registry.Register(type)));
  EXPECT_FALSE(registry.Register(Type("run", {}, {})).ok());
  EXPECT_FALSE(registry.Register(Type("x y", {}, {})).ok());
  EXPECT_FALSE(registry.Register(Type("dup", {}, {"a", "a"})).ok());
  EXPECT_FALSE(
      registry.Register(Type("bad_default", {{"n", ValueType::kInt, false, Json("x"), ""}}, {}))
          .ok());
  StepType no_run = Type("norun", {}, {});
  no_run.run = nullptr;
  EXPECT_FALSE(registry.Register(no_run).ok());
  EXPECT_THAT(registry.Names(), ElementsAre("train"));
}

TEST(StepRegistryTest, CoerceValue) {
  EXPECT_EQ(*CoerceValue(Json(3), ValueType::kFloat), Json(3.0));
  EXPECT_EQ(*CoerceValue(Json(3), ValueType::kString), Json("3"));
  EXPECT_EQ(CoerceValue(Json("3"), ValueType::kInt).status().message(), "expected an int, not '3'");
  EXPECT_FALSE(CoerceValue(Json(1.5), ValueType::kInt).ok());
  EXPECT_FALSE(CoerceValue(Json(nullptr), ValueType::kBool).ok());
}

}  // namespace
}  // namespace plinth::pipeline
