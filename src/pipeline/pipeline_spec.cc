// Reading pipeline specs (format in docs/pipelines.md).
//
// Three passes. Each file (the pipeline, then each template it extends) is read on its own, so
// that anything wrong in a template is reported in the template's file even when the pipeline
// redefines that part. The files are then merged, template first. Last, the merged pipeline is
// checked as a whole: step types, references between steps, needs and cycles, parameters used,
// environments; each finding is reported in the file that holds the offending text.
#include "pipeline/pipeline_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "core/files.h"
#include "pipeline/interpolation.h"
#include "pipeline/yaml_util.h"

namespace plinth::pipeline {
namespace {

using internal::Describe;
using internal::Errors;
using internal::Fields;
using internal::Quote;

const std::vector<std::string> kTopKeys = {"name", "description", "extends", "parameters", "steps"};
const std::vector<std::string> kStepKeys = {"name",        "description", "uses",    "run",
                                            "with",        "needs",       "inputs",  "outputs",
                                            "environment", "retries",     "timeout", "cache"};
const std::vector<std::string> kParamKeys = {"type", "default", "min",
                                             "max",  "allowed", "description"};
const std::vector<std::string> kParamTypeNames = {"string", "int", "float", "bool"};
constexpr int kMaxRetries = 10;
// A chain of templates longer than this is a mistake, and bounds the work a hostile file causes.
constexpr size_t kMaxExtendsDepth = 16;

// One file being read: its name, its text (to place references inside values) and its errors.
struct Source {
  Source(std::string file, std::string text) : text(std::move(text)), errors(std::move(file)) {}
  const std::string& file() const { return errors.file(); }
  std::string text;
  Errors errors;
};
using SourcePtr = std::shared_ptr<const Source>;

struct ParamDraft {
  SourcePtr src;
  std::string name;
  YAML::Node node;
  YAML::Mark mark;  // of the name
};

// A step as read from its file: the syntax is checked and the fields copied into `spec`; what
// refers to other steps, types or parameters is checked after the merge, from `node`.
struct StepDraft {
  SourcePtr src;
  YAML::Node node;
  Fields fields;
  std::string context;
  StepSpec spec;
  std::vector<std::string> explicit_needs;
  std::vector<YAML::Mark> needs_marks;
  std::vector<YAML::Mark> input_marks;
};

struct Document {
  SourcePtr src;
  YAML::Mark root_mark;
  std::string name, description;
  bool has_description = false;
  std::string extends;
  YAML::Mark extends_mark;
  std::vector<ParamDraft> params;
  std::vector<StepDraft> steps;
};

std::optional<ParamType> ParamTypeFromName(const std::string& name) {
  for (size_t i = 0; i < kParamTypeNames.size(); ++i) {
    if (kParamTypeNames[i] == name) return static_cast<ParamType>(i);
  }
  return std::nullopt;
}

bool JsonIsParamType(const Json& value, ParamType type) {
  switch (type) {
    case ParamType::kString:
      return value.is_string();
    case ParamType::kInt:
      return value.is_number_integer();
    case ParamType::kFloat:
      return value.is_number();
    case ParamType::kBool:
      return value.is_boolean();
  }
  return false;
}

// Text (from YAML or --param) read as a parameter's type; nullopt if it is not one.
std::optional<Json> ConvertText(const std::string& text, ParamType type) {
  switch (type) {
    case ParamType::kString:
      return Json(text);
    case ParamType::kInt: {
      int64_t i = 0;
      if (text.empty() || text.find_first_of(" \t\n") != std::string::npos ||
          !absl::SimpleAtoi(text, &i)) {
        return std::nullopt;
      }
      return Json(i);
    }
    case ParamType::kFloat: {
      if (text.empty() || text.find_first_of(" \t\n") != std::string::npos) return std::nullopt;
      char* end = nullptr;
      const double d = std::strtod(text.c_str(), &end);
      const bool plain_number = text.find_first_not_of("0123456789.eE+-") == std::string::npos;
      if (!plain_number || end != text.c_str() + text.size() || !std::isfinite(d)) {
        return std::nullopt;
      }
      return Json(d);
    }
    case ParamType::kBool:
      if (text == "true" || text == "True" || text == "TRUE") return Json(true);
      if (text == "false" || text == "False" || text == "FALSE") return Json(false);
      return std::nullopt;
  }
  return std::nullopt;
}

std::string ParamTypeArticle(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "a string";
    case ParamType::kInt:
      return "an int";
    case ParamType::kFloat:
      return "a float";
    case ParamType::kBool:
      return "true or false";
  }
  return "a value";
}

std::string NumberText(double d) { return ValueText(Json(d)); }

// "line:col" of a declaration, in its file: "templates/base.yaml:5:3".
std::string Where(const std::string& file, int line, int column) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// The position of the reference at byte `offset` of a scalar's value, when it can be placed
// exactly (a single-line plain or quoted scalar whose text in the file matches); otherwise the
// scalar's own position.
YAML::Mark ReferenceMark(const Source& src, const YAML::Node& node, size_t offset) {
  const YAML::Mark mark = node.Mark();
  const std::string& value = node.Scalar();
  if (mark.line < 0 || value.find('\n') != std::string::npos) return mark;
  size_t start = 0;
  for (int i = 0; i < mark.line; ++i) {
    start = src.text.find('\n', start);
    if (start == std::string::npos) return mark;
    ++start;
  }
  const size_t at = start + static_cast<size_t>(mark.column);
  if (at >= src.text.size()) return mark;
  const char first = src.text[at];
  const size_t shift = (first == '"' || first == '\'') ? 1 : 0;
  if (node.Tag() != "?" && shift == 0) return mark;  // a block scalar: no simple mapping
  const size_t target = at + shift + offset;
  if (src.text.compare(target, 2, "${") != 0) return mark;
  YAML::Mark exact = mark;
  exact.column = static_cast<int>(mark.column + shift + offset);
  return exact;
}

// ---- Pass 1: one file on its own ----

StatusOr<StepDraft> ReadStep(const SourcePtr& src, const YAML::Node& node, size_t index) {
  const Errors& errors = src->errors;
  StepDraft draft;
  draft.src = src;
  draft.node = node;
  draft.context = "steps[" + std::to_string(index) + "]";
  if (node.IsMap() && node["name"] && node["name"].IsScalar() &&
      internal::IsStepName(node["name"].Scalar())) {
    draft.context += " " + node["name"].Scalar();
  }
  const std::string& context = draft.context;
  ASSIGN_OR_RETURN(draft.fields,
                   Fields::Read(errors, context, "a step", node, kStepKeys, {"name"}));
  const Fields& fields = draft.fields;
  StepSpec& spec = draft.spec;
  spec.file = src->file();
  spec.line = fields.mark().line + 1;
  spec.column = fields.mark().column + 1;

  ASSIGN_OR_RETURN(spec.name, internal::GetString(errors, context, "name", fields.Get("name")));
  if (!internal::IsStepName(spec.name)) {
    return errors.At(fields.Get("name").Mark(), context,
                     "name " + Quote(spec.name) +
                         " is not a step name (letters, digits, '_' and '-', starting with a "
                         "letter, at most 64 characters)");
  }
  if (fields.Has("description")) {
    ASSIGN_OR_RETURN(spec.description, internal::GetString(errors, context, "description",
                                                           fields.Get("description")));
  }

  const bool uses = fields.Has("uses");
  const bool run = fields.Has("run");
  if (uses && run) {
    return errors.At(fields.KeyMark("run"), context,
                     "a step either uses a step type or runs a command, not both ('uses' is at " +
                         internal::Position(fields.KeyMark("uses")) + ")");
  }
  if (!uses && !run) {
    return errors.At(fields.mark(), context,
                     "a step needs 'uses: TYPE' (a step type) or 'run: [PROGRAM, ARG...]' (a "
                     "command)");
  }
  if (uses) {
    ASSIGN_OR_RETURN(spec.uses, internal::GetString(errors, context, "uses", fields.Get("uses")));
    if (spec.uses.empty()) {
      return errors.At(fields.Get("uses").Mark(), context, "'uses' must name a step type");
    }
  } else {
    const YAML::Node& argv = fields.Get("run");
    if (argv.IsScalar()) {
      return errors.At(argv.Mark(), context,
                       "'run' is a list of the program and its arguments, such as [python3, "
                       "train.py] (no shell is used, so a command line is not split)");
    }
    if (!argv.IsSequence() || argv.size() == 0) {
      return errors.At(
          argv.Mark(), context,
          "'run' must be a non-empty list of the program and its arguments, not " + Describe(argv));
    }
    for (const YAML::Node& item : argv) {
      if (!item.IsScalar()) {
        return errors.At(item.Mark(), context,
                         "'run' items must be strings, not " + Describe(item));
      }
      ASSIGN_OR_RETURN(std::string arg, internal::GetString(errors, context, "run", item));
      spec.run.push_back(std::move(arg));
    }
    if (spec.run[0].empty()) {
      return errors.At(argv[0].Mark(), context, "the program to run is empty");
    }
  }

  if (fields.Has("with")) {
    const YAML::Node& with = fields.Get("with");
    if (!with.IsNull() && !with.IsMap()) {
      return errors.At(with.Mark(), context,
                       "'with' must be a mapping of names to values, not " + Describe(with));
    }
    if (with.IsMap()) {
      for (const auto& kv : with) {
        if (!kv.first.IsScalar() || !internal::IsIdentifier(kv.first.Scalar())) {
          return errors.At(
              kv.first.Mark(), context,
              "'with' keys must be names (letters, digits and '_'), not " + Describe(kv.first));
        }
      }
      ASSIGN_OR_RETURN(spec.with, internal::NodeToJson(errors, context, with));
    }
  }

  if (fields.Has("needs")) {
    const YAML::Node& needs = fields.Get("needs");
    ASSIGN_OR_RETURN(draft.explicit_needs,
                     internal::GetStringList(errors, context, "needs", needs));
    std::map<std::string, YAML::Mark> seen;
    for (size_t i = 0; i < draft.explicit_needs.size(); ++i) {
      const std::string& need = draft.explicit_needs[i];
      if (!internal::IsStepName(need)) {
        return errors.At(needs[i].Mark(), context,
                         "'needs' item " + Quote(need) + " is not a step name");
      }
      auto [it, inserted] = seen.emplace(need, needs[i].Mark());
      if (!inserted) {
        return errors.At(
            needs[i].Mark(), context,
            "'needs' lists '" + need + "' twice (first at " + internal::Position(it->second) + ")");
      }
      draft.needs_marks.push_back(needs[i].Mark());
    }
  }

  if (fields.Has("inputs")) {
    const YAML::Node& inputs = fields.Get("inputs");
    if (!inputs.IsNull() && !inputs.IsMap()) {
      return errors.At(
          inputs.Mark(), context,
          "'inputs' must be a mapping of names to STEP.outputs.NAME, not " + Describe(inputs));
    }
    if (inputs.IsMap()) {
      std::set<std::string> seen;
      for (const auto& kv : inputs) {
        if (!kv.first.IsScalar() || !internal::IsIdentifier(kv.first.Scalar())) {
          return errors.At(
              kv.first.Mark(), context,
              "'inputs' keys must be names (letters, digits and '_'), not " + Describe(kv.first));
        }
        const std::string& name = kv.first.Scalar();
        if (!seen.insert(name).second) {
          return errors.At(kv.first.Mark(), context, "input '" + name + "' is given twice");
        }
        ASSIGN_OR_RETURN(std::string ref,
                         internal::GetString(errors, context, "inputs " + name, kv.second));
        InputSpec input;
        input.name = name;
        const size_t first = ref.find('.');
        const size_t last = ref.rfind('.');
        const bool shaped = first != std::string::npos && ref.compare(first, 9, ".outputs.") == 0 &&
                            last == first + 8;
        if (shaped) {
          input.step = ref.substr(0, first);
          input.output = ref.substr(last + 1);
        }
        if (!shaped || !internal::IsStepName(input.step) || !internal::IsIdentifier(input.output)) {
          const bool braces = ref.rfind("${", 0) == 0;
          return errors.At(kv.second.Mark(), context,
                           "input '" + name + "' must name another step's output as " +
                               "STEP.outputs.NAME, not " + Quote(ref) +
                               (braces ? " (inputs are written without ${...})" : ""));
        }
        spec.inputs.push_back(std::move(input));
        draft.input_marks.push_back(kv.second.Mark());
      }
    }
  }

  if (fields.Has("outputs")) {
    if (uses) {
      return errors.At(fields.KeyMark("outputs"), context,
                       "the outputs of a 'uses' step are those its step type declares; "
                       "'outputs' is for command steps");
    }
    const YAML::Node& outputs = fields.Get("outputs");
    ASSIGN_OR_RETURN(spec.outputs, internal::GetStringList(errors, context, "outputs", outputs));
    std::set<std::string> seen;
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      if (!internal::IsIdentifier(spec.outputs[i])) {
        return errors.At(
            outputs[i].Mark(), context,
            "output name " + Quote(spec.outputs[i]) + " is not a name (letters, digits and '_')");
      }
      if (!seen.insert(spec.outputs[i]).second) {
        return errors.At(outputs[i].Mark(), context,
                         "'outputs' lists '" + spec.outputs[i] + "' twice");
      }
    }
  }

  if (fields.Has("environment") && uses) {
    return errors.At(fields.KeyMark("environment"), context,
                     "'environment' applies to command steps ('run'); a step type runs inside "
                     "the platform");
  }

  if (fields.Has("retries")) {
    const YAML::Node& node_retries = fields.Get("retries");
    const Json value = node_retries.IsScalar() ? internal::PlainScalarToJson(node_retries) : Json();
    if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
        value.get<int64_t>() > kMaxRetries) {
      return errors.At(node_retries.Mark(), context,
                       "'retries' must be a whole number from 0 to " + std::to_string(kMaxRetries) +
                           ", not " + Describe(node_retries));
    }
    spec.retries = static_cast<int>(value.get<int64_t>());
  }
  if (fields.Has("timeout")) {
    const YAML::Node& timeout = fields.Get("timeout");
    std::optional<int64_t> micros;
    if (timeout.IsScalar()) micros = internal::ParseTimeout(timeout.Scalar());
    if (!micros) {
      return errors.At(timeout.Mark(), context,
                       "'timeout' must be a duration such as 500ms, 90s, 10m or 2h (0 for none), "
                       "not " +
                           Describe(timeout));
    }
    spec.timeout_micros = *micros;
  }
  if (fields.Has("cache")) {
    ASSIGN_OR_RETURN(spec.cache, internal::GetBool(errors, context, "cache", fields.Get("cache")));
  }
  return draft;
}

StatusOr<Document> ReadDocument(const SourcePtr& src) {
  const Errors& errors = src->errors;
  ASSIGN_OR_RETURN(YAML::Node root, internal::LoadYaml(src->text, src->file()));
  if (!root.IsDefined() || root.IsNull()) {
    return errors.At(YAML::Mark(), "", "the file defines no pipeline (expected name and steps)");
  }
  ASSIGN_OR_RETURN(Fields top,
                   Fields::Read(errors, "", "a pipeline file", root, kTopKeys, {"name"}));
  Document doc;
  doc.src = src;
  doc.root_mark = root.Mark();
  ASSIGN_OR_RETURN(doc.name, internal::GetString(errors, "", "name", top.Get("name")));
  if (!internal::IsResourceName(doc.name)) {
    return errors.At(top.Get("name").Mark(), "",
                     "name " + Quote(doc.name) +
                         " is not a pipeline name (1-64 letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit)");
  }
  if (top.Has("description")) {
    doc.has_description = true;
    ASSIGN_OR_RETURN(doc.description,
                     internal::GetString(errors, "", "description", top.Get("description")));
  }
  if (top.Has("extends")) {
    ASSIGN_OR_RETURN(doc.extends, internal::GetString(errors, "", "extends", top.Get("extends")));
    doc.extends_mark = top.Get("extends").Mark();
    if (doc.extends.empty()) {
      return errors.At(doc.extends_mark, "", "'extends' must name a template file");
    }
  }
  if (top.Has("parameters") && !top.Get("parameters").IsNull()) {
    const YAML::Node& params = top.Get("parameters");
    if (!params.IsMap()) {
      return errors.At(
          params.Mark(), "",
          "'parameters' must be a mapping of names to declarations, not " + Describe(params));
    }
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : params) {
      if (!kv.first.IsScalar() || !internal::IsIdentifier(kv.first.Scalar())) {
        return errors.At(kv.first.Mark(), "parameters",
                         "parameter names are letters, digits and '_' (not starting with a "
                         "digit), not " +
                             Describe(kv.first));
      }
      const std::string& name = kv.first.Scalar();
      auto [it, inserted] = seen.emplace(name, kv.first.Mark());
      if (!inserted) {
        return errors.At(kv.first.Mark(), "parameters",
                         "parameter '" + name + "' is declared twice (first at " +
                             internal::Position(it->second) + ")");
      }
      doc.params.push_back({src, name, kv.second, kv.first.Mark()});
    }
  }
  if (top.Has("steps") && !top.Get("steps").IsNull()) {
    const YAML::Node& steps = top.Get("steps");
    if (!steps.IsSequence()) {
      return errors.At(steps.Mark(), "", "'steps' must be a list, not " + Describe(steps));
    }
    std::map<std::string, YAML::Mark> seen;
    size_t index = 0;
    for (const YAML::Node& item : steps) {
      ASSIGN_OR_RETURN(StepDraft draft, ReadStep(src, item, index++));
      const YAML::Mark name_mark = draft.fields.Get("name").Mark();
      auto [it, inserted] = seen.emplace(draft.spec.name, name_mark);
      if (!inserted) {
        return errors.At(name_mark, draft.context,
                         "duplicate step name '" + draft.spec.name + "' (first defined at " +
                             internal::Position(it->second) + ")");
      }
      doc.steps.push_back(std::move(draft));
    }
  }
  return doc;
}

// ---- Parameters ----

// A declaration's value (default, allowed item) read as the parameter's type.
StatusOr<Json> ReadTypedValue(const Errors& errors, const std::string& context,
                              const std::string& key, const YAML::Node& node, ParamType type) {
  if (!node.IsScalar() || node.IsNull()) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be " + ParamTypeArticle(type) + ", not " + Describe(node));
  }
  std::optional<Json> value = ConvertText(node.Scalar(), type);
  if (!value) {
    return errors.At(node.Mark(), context,
                     "'" + key + "' must be " + ParamTypeArticle(type) + ", not " + Describe(node));
  }
  return *value;
}

StatusOr<ParameterSpec> DeclareParameter(const ParamDraft& draft) {
  const Errors& errors = draft.src->errors;
  const std::string context = "parameters." + draft.name;
  ParameterSpec param;
  param.name = draft.name;
  param.file = draft.src->file();
  param.line = draft.mark.line + 1;
  param.column = draft.mark.column + 1;
  const YAML::Node& node = draft.node;
  if (node.IsScalar() || node.IsNull()) {
    // A bare default: the type is the value's.
    const Json value = node.IsNull() ? Json() : internal::PlainScalarToJson(node);
    if (value.is_null()) {
      return errors.At(node.Mark(), context,
                       "a parameter needs a default value or a declaration such as {type: int, "
                       "default: 4}");
    }
    param.type = value.is_boolean()          ? ParamType::kBool
                 : value.is_number_integer() ? ParamType::kInt
                 : value.is_number()         ? ParamType::kFloat
                                             : ParamType::kString;
    param.default_value = value;
    return param;
  }
  ASSIGN_OR_RETURN(Fields fields,
                   Fields::Read(errors, context, "a parameter", node, kParamKeys, {"type"}));
  ASSIGN_OR_RETURN(std::string type_name,
                   internal::GetString(errors, context, "type", fields.Get("type")));
  std::optional<ParamType> type = ParamTypeFromName(type_name);
  if (!type) {
    const std::string suggestion = internal::Suggest(type_name, kParamTypeNames);
    return errors.At(fields.Get("type").Mark(), context,
                     "unknown type " + Quote(type_name) +
                         (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
                         "; expected one of " + internal::JoinNames(kParamTypeNames));
  }
  param.type = *type;
  const bool numeric = param.type == ParamType::kInt || param.type == ParamType::kFloat;
  for (const char* key : {"min", "max"}) {
    if (!fields.Has(key)) continue;
    if (!numeric) {
      return errors.At(fields.KeyMark(key), context,
                       "'" + std::string(key) + "' applies to int and float parameters");
    }
    ASSIGN_OR_RETURN(Json bound, ReadTypedValue(errors, context, key, fields.Get(key), param.type));
    (std::string(key) == "min" ? param.min : param.max) = bound.get<double>();
  }
  if (param.min && param.max && *param.min > *param.max) {
    return errors.At(fields.Get("min").Mark(), context,
                     "'min' (" + NumberText(*param.min) + ") is greater than 'max' (" +
                         NumberText(*param.max) + ")");
  }
  if (fields.Has("allowed")) {
    const YAML::Node& allowed = fields.Get("allowed");
    if (!allowed.IsSequence() || allowed.size() == 0) {
      return errors.At(allowed.Mark(), context,
                       "'allowed' must be a non-empty list of values, not " + Describe(allowed));
    }
    if (param.type == ParamType::kBool) {
      return errors.At(fields.KeyMark("allowed"), context,
                       "'allowed' does not apply to bool parameters");
    }
    for (const YAML::Node& item : allowed) {
      ASSIGN_OR_RETURN(Json value, ReadTypedValue(errors, context, "allowed", item, param.type));
      if (std::find(param.allowed.begin(), param.allowed.end(), value) != param.allowed.end()) {
        return errors.At(item.Mark(), context, "'allowed' lists " + Describe(item) + " twice");
      }
      param.allowed.push_back(std::move(value));
    }
    // Bounds and allowed values together: each allowed value must be within the bounds.
    ParameterSpec bounds_only = param;
    bounds_only.allowed.clear();
    size_t index = 0;
    for (const YAML::Node& item : allowed) {
      Status s = CheckParameterValue(bounds_only, param.allowed[index++]);
      if (!s.ok()) {
        return errors.At(item.Mark(), context,
                         "allowed value " + Describe(item) + " " + std::string(s.message()));
      }
    }
  }
  if (fields.Has("default")) {
    const YAML::Node& def = fields.Get("default");
    if (def.IsNull()) {
      return errors.At(def.Mark(), context,
                       "'default' has no value (leave it out to make the parameter required at "
                       "run time)");
    }
    ASSIGN_OR_RETURN(param.default_value,
                     ReadTypedValue(errors, context, "default", def, param.type));
    Status s = CheckParameterValue(param, param.default_value);
    if (!s.ok()) {
      return errors.At(def.Mark(), context, "'default' " + std::string(s.message()));
    }
  }
  if (fields.Has("description")) {
    ASSIGN_OR_RETURN(param.description, internal::GetString(errors, context, "description",
                                                            fields.Get("description")));
  }
  return param;
}

// A pipeline's entry for a parameter it inherits: a new default (bare, or {default, description}).
// The type and bounds stay the template's, so an organisation's limits cannot be widened.
Status OverrideParameter(const ParamDraft& draft, ParameterSpec& param) {
  const Errors& errors = draft.src->errors;
  const std::string context = "parameters." + draft.name;
  const std::string declared = Where(param.file, param.line, param.column);
  const YAML::Node& node = draft.node;
  YAML::Node def;
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (key == "default") {
        def = kv.second;
      } else if (key == "description") {
        ASSIGN_OR_RETURN(param.description,
                         internal::GetString(errors, context, "description", kv.second));
      } else {
        return errors.At(kv.first.Mark(), context,
                         Quote(key) + " of inherited parameter '" + param.name +
                             "' is fixed by its declaration at " + declared +
                             "; a pipeline that extends it may change only 'default' and "
                             "'description'");
      }
    }
    if (!def) return absl::OkStatus();
  } else {
    def = node;
  }
  if (def.IsNull()) {
    return errors.At(def.Mark(), context, "the new default of '" + param.name + "' has no value");
  }
  StatusOr<Json> value = ReadTypedValue(errors, context, "default", def, param.type);
  if (!value.ok()) {
    return errors.At(def.Mark(), context,
                     "'" + param.name + "' is " + ParamTypeArticle(param.type) +
                         " parameter (declared at " + declared + "), not " + Describe(def));
  }
  Status s = CheckParameterValue(param, *value);
  if (!s.ok()) {
    return errors.At(def.Mark(), context,
                     "the default " + std::string(s.message()) + " (declared at " + declared + ")");
  }
  param.default_value = *std::move(value);
  return absl::OkStatus();
}

// ---- Pass 3: the merged pipeline ----

// What a `with` value is before the step runs: a kind of JSON value, with single references to
// parameters taking the parameter's type.
enum class StaticKind { kNull, kString, kInt, kFloat, kBool, kList, kObject };

std::string StaticKindName(StaticKind kind) {
  switch (kind) {
    case StaticKind::kNull:
      return "nothing";
    case StaticKind::kString:
      return "a string";
    case StaticKind::kInt:
      return "an int";
    case StaticKind::kFloat:
      return "a float";
    case StaticKind::kBool:
      return "a bool";
    case StaticKind::kList:
      return "a list";
    case StaticKind::kObject:
      return "a mapping";
  }
  return "a value";
}

bool Accepts(ValueType type, StaticKind kind) {
  switch (type) {
    case ValueType::kAny:
      return true;
    case ValueType::kString:
      return kind == StaticKind::kString || kind == StaticKind::kInt ||
             kind == StaticKind::kFloat || kind == StaticKind::kBool;
    case ValueType::kInt:
      return kind == StaticKind::kInt;
    case ValueType::kFloat:
      return kind == StaticKind::kInt || kind == StaticKind::kFloat;
    case ValueType::kBool:
      return kind == StaticKind::kBool;
    case ValueType::kList:
      return kind == StaticKind::kList;
    case ValueType::kObject:
      return kind == StaticKind::kObject;
  }
  return false;
}

struct Edge {
  std::string to;
  YAML::Mark mark;
};

class Checker {
 public:
  Checker(const PipelineParseOptions& options, const std::vector<ParameterSpec>& params,
          std::vector<StepDraft>& steps)
      : options_(options), params_(params), steps_(steps) {
    for (size_t i = 0; i < steps_.size(); ++i) index_.emplace(steps_[i].spec.name, i);
    for (const ParameterSpec& p : params_) param_names_.push_back(p.name);
    for (const StepDraft& s : steps_) step_names_.push_back(s.spec.name);
  }

  Status Check() {
    // Types first, so every step's outputs are known when references are checked, whatever
    // the order of the steps in the file.
    for (StepDraft& step : steps_) RETURN_IF_ERROR(ResolveType(step));
    edges_.resize(steps_.size());
    for (size_t i = 0; i < steps_.size(); ++i) RETURN_IF_ERROR(CheckStep(i));
    return CheckCycles();
  }

 private:
  Status ResolveType(StepDraft& step) {
    if (step.spec.is_command()) return absl::OkStatus();
    const StepType* type = options_.registry->Find(step.spec.uses);
    if (type == nullptr) {
      const std::vector<std::string> names = options_.registry->Names();
      const std::string suggestion = internal::Suggest(step.spec.uses, names);
      return step.src->errors.At(
          step.fields.Get("uses").Mark(), step.context,
          "unknown step type " + Quote(step.spec.uses) +
              (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") +
              (names.empty() ? "; no step types are registered"
                             : "; step types: " + internal::JoinNames(names)));
    }
    types_[step.spec.name] = type;
    step.spec.outputs = type->OutputNames();
    return absl::OkStatus();
  }

  Status CheckStep(size_t index) {
    StepDraft& step = steps_[index];
    const Errors& errors = step.src->errors;
    const std::string& context = step.context;
    StepSpec& spec = step.spec;
    const StepType* type = spec.is_command() ? nullptr : types_.at(spec.name);

    if (spec.is_command()) RETURN_IF_ERROR(CheckEnvironment(step));

    // `with` against the step type's keys.
    if (type != nullptr) {
      const YAML::Node with = step.fields.Has("with") ? step.fields.Get("with") : YAML::Node();
      std::vector<std::string> keys;
      for (const WithKey& k : type->with) keys.push_back(k.name);
      if (with.IsDefined() && with.IsMap()) {
        for (const auto& kv : with) {
          const std::string& key = kv.first.Scalar();
          const WithKey* decl = type->FindWith(key);
          if (decl == nullptr) {
            return errors.At(kv.first.Mark(), context,
                             "step type '" + type->name + "' takes no " + Quote(key) +
                                 internal::Hint(key, keys, "keys"));
          }
          RETURN_IF_ERROR(CheckValueType(step, *type, *decl, kv.second));
        }
      }
      for (const WithKey& k : type->with) {
        if (k.required && !spec.with.contains(k.name)) {
          const YAML::Mark mark =
              step.fields.Has("with") ? step.fields.KeyMark("with") : step.fields.mark();
          return errors.At(mark, context,
                           "step type '" + type->name + "' needs '" + k.name + "' in 'with'" +
                               (k.description.empty() ? "" : " (" + k.description + ")"));
        }
      }
    }

    // Inputs: other steps' outputs.
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      const InputSpec& input = spec.inputs[i];
      RETURN_IF_ERROR(CheckStepOutput(step, input.step, input.output, step.input_marks[i],
                                      "input '" + input.name + "'"));
      edges_[index].push_back({input.step, step.input_marks[i]});
    }

    // References inside `with` and `run`.
    if (step.fields.Has("with")) RETURN_IF_ERROR(CheckReferences(index, step.fields.Get("with")));
    if (step.fields.Has("run")) RETURN_IF_ERROR(CheckReferences(index, step.fields.Get("run")));

    // Explicit needs, then what references imply, each once.
    std::vector<Edge> edges;
    for (size_t i = 0; i < step.explicit_needs.size(); ++i) {
      const std::string& need = step.explicit_needs[i];
      if (index_.count(need) == 0) {
        return errors.At(step.needs_marks[i], context,
                         "'needs' names unknown step " + Quote(need) +
                             internal::Hint(need, step_names_, "steps"));
      }
      edges.push_back({need, step.needs_marks[i]});
    }
    for (const Edge& edge : edges_[index]) edges.push_back(edge);
    edges_[index].clear();
    for (const Edge& edge : edges) {
      if (std::find(spec.needs.begin(), spec.needs.end(), edge.to) != spec.needs.end()) continue;
      spec.needs.push_back(edge.to);
      edges_[index].push_back(edge);
    }
    return absl::OkStatus();
  }

  Status CheckEnvironment(StepDraft& step) {
    const Errors& errors = step.src->errors;
    const EnvironmentCatalog* catalog = options_.environments;
    const std::vector<std::string> names =
        catalog != nullptr ? catalog->Names() : std::vector<std::string>();
    const std::string approved =
        names.empty() ? "no environments are approved" : "approved: " + internal::JoinNames(names);
    if (!step.fields.Has("environment")) {
      return errors.At(step.fields.KeyMark("run"), step.context,
                       "a command step must name its 'environment', one of the approved "
                       "runtimes (" +
                           approved + ")");
    }
    const YAML::Node& node = step.fields.Get("environment");
    ASSIGN_OR_RETURN(std::string name,
                     internal::GetString(errors, step.context, "environment", node));
    const Environment* env = catalog != nullptr ? catalog->Find(name) : nullptr;
    if (env == nullptr) {
      const std::string suggestion = internal::Suggest(name, names);
      return errors.At(
          node.Mark(), step.context,
          "environment " + Quote(name) + " is not approved" +
              (suggestion.empty() ? "" : " (did you mean '" + suggestion + "'?)") + " (" +
              approved +
              (catalog != nullptr && !catalog->file.empty() ? " in " + catalog->file : "") + ")");
    }
    step.spec.environment = *env;
    return absl::OkStatus();
  }

  StaticKind KindOf(const YAML::Node& node) const {
    if (!node.IsDefined() || node.IsNull()) return StaticKind::kNull;
    if (node.IsSequence()) return StaticKind::kList;
    if (node.IsMap()) return StaticKind::kObject;
    const Json value = internal::PlainScalarToJson(node);
    if (value.is_boolean()) return StaticKind::kBool;
    if (value.is_number_integer()) return StaticKind::kInt;
    if (value.is_number()) return StaticKind::kFloat;
    if (!value.is_string()) return StaticKind::kNull;
    StatusOr<Template> tmpl = ParseTemplate(value.get<std::string>());
    if (tmpl.ok() && tmpl->IsSingleReference()) {
      const Reference& ref = *tmpl->parts()[0].reference;
      if (ref.kind == Reference::Kind::kParam) {
        for (const ParameterSpec& p : params_) {
          if (p.name != ref.name) continue;
          switch (p.type) {
            case ParamType::kString:
              return StaticKind::kString;
            case ParamType::kInt:
              return StaticKind::kInt;
            case ParamType::kFloat:
              return StaticKind::kFloat;
            case ParamType::kBool:
              return StaticKind::kBool;
          }
        }
      }
    }
    return StaticKind::kString;
  }

  Status CheckValueType(const StepDraft& step, const StepType& type, const WithKey& key,
                        const YAML::Node& value) const {
    const StaticKind kind = KindOf(value);
    if (Accepts(key.type, kind)) return absl::OkStatus();
    std::string what = kind == StaticKind::kNull ? "nothing" : Describe(value);
    if (value.IsScalar() && kind != StaticKind::kString && kind != StaticKind::kNull) {
      StatusOr<Template> tmpl = ParseTemplate(value.Scalar());
      if (tmpl.ok() && tmpl->IsSingleReference()) {
        what = Quote(value.Scalar()) + " (" + StaticKindName(kind) + " parameter)";
      }
    }
    return step.src->errors.At(
        value.Mark(), step.context,
        "'" + key.name + "' of step type '" + type.name + "' is " +
            (key.type == ValueType::kInt      ? "an int"
             : key.type == ValueType::kObject ? "a mapping"
                                              : "a " + ValueTypeName(key.type)) +
            ", not " + what);
  }

  Status CheckStepOutput(const StepDraft& step, const std::string& target,
                         const std::string& output, const YAML::Mark& mark,
                         const std::string& what) const {
    const Errors& errors = step.src->errors;
    auto it = index_.find(target);
    if (it == index_.end()) {
      return errors.At(mark, step.context,
                       what + " refers to unknown step " + Quote(target) +
                           internal::Hint(target, step_names_, "steps"));
    }
    const StepSpec& other = steps_[it->second].spec;
    if (std::find(other.outputs.begin(), other.outputs.end(), output) == other.outputs.end()) {
      return errors.At(
          mark, step.context,
          what + " refers to " + Quote(output) + ", which step '" + target + "' does not produce" +
              (other.outputs.empty() ? " (it has no outputs)"
                                     : internal::Hint(output, other.outputs, "outputs")));
    }
    return absl::OkStatus();
  }

  Status CheckReferences(size_t index, const YAML::Node& node) {
    if (node.IsSequence() || node.IsMap()) {
      for (const auto& item : node) {
        // Iterating a mapping yields key/value pairs, a list its items.
        RETURN_IF_ERROR(CheckReferences(index, node.IsMap() ? item.second : YAML::Node(item)));
      }
      return absl::OkStatus();
    }
    if (!node.IsScalar()) return absl::OkStatus();
    const Json value = internal::PlainScalarToJson(node);
    if (!value.is_string()) return absl::OkStatus();
    StepDraft& step = steps_[index];
    const Errors& errors = step.src->errors;
    size_t offset = 0;
    StatusOr<Template> tmpl = ParseTemplate(value.get<std::string>(), &offset);
    if (!tmpl.ok()) {
      return errors.At(ReferenceMark(*step.src, node, offset), step.context,
                       std::string(tmpl.status().message()));
    }
    for (const Reference& ref : tmpl->References()) {
      const YAML::Mark mark = ReferenceMark(*step.src, node, ref.offset);
      const std::string shown = "${" + ref.ToString() + "}";
      switch (ref.kind) {
        case Reference::Kind::kParam:
          if (std::find(param_names_.begin(), param_names_.end(), ref.name) == param_names_.end()) {
            return errors.At(mark, step.context,
                             "unknown parameter " + Quote(ref.name) + " in " + shown +
                                 internal::Hint(ref.name, param_names_, "parameters"));
          }
          break;
        case Reference::Kind::kStepOutput:
          RETURN_IF_ERROR(CheckStepOutput(step, ref.step, ref.name, mark, shown));
          edges_[index].push_back({ref.step, mark});
          break;
        case Reference::Kind::kInput: {
          std::vector<std::string> names;
          for (const InputSpec& input : step.spec.inputs) names.push_back(input.name);
          if (std::find(names.begin(), names.end(), ref.name) == names.end()) {
            return errors.At(
                mark, step.context,
                shown + " names no input of this step" + internal::Hint(ref.name, names, "inputs"));
          }
          break;
        }
        case Reference::Kind::kOutput:
          if (!step.spec.is_command()) {
            return errors.At(mark, step.context,
                             shown +
                                 ": only command steps refer to their outputs; a step "
                                 "type writes its own");
          }
          if (std::find(step.spec.outputs.begin(), step.spec.outputs.end(), ref.name) ==
              step.spec.outputs.end()) {
            return errors.At(mark, step.context,
                             shown + " names no output of this step (declare it in 'outputs')" +
                                 internal::Hint(ref.name, step.spec.outputs, "outputs"));
          }
          break;
      }
    }
    return absl::OkStatus();
  }

  // Depth-first search in file order; the first cycle found is reported at the edge that leaves
  // its first step, as "a -> b -> a" (a needs b, b needs a).
  Status CheckCycles() const {
    enum Color { kWhite, kGrey, kBlack };
    std::vector<Color> color(steps_.size(), kWhite);
    std::vector<size_t> stack;
    std::optional<Status> found;
    std::function<void(size_t)> visit = [&](size_t u) {
      color[u] = kGrey;
      stack.push_back(u);
      for (const Edge& edge : edges_[u]) {
        if (found) return;
        const size_t v = index_.at(edge.to);
        if (color[v] == kGrey) {
          const auto start = std::find(stack.begin(), stack.end(), v);
          std::string path;
          for (auto it = start; it != stack.end(); ++it) path += steps_[*it].spec.name + " -> ";
          path += steps_[v].spec.name;
          // The edge from the cycle's first step to the next one in it.
          const size_t next = start + 1 == stack.end() ? v : *(start + 1);
          YAML::Mark mark = edge.mark;
          for (const Edge& e : edges_[v]) {
            if (e.to == steps_[next].spec.name) {
              mark = e.mark;
              break;
            }
          }
          const StepDraft& first = steps_[v];
          found = first.src->errors.At(mark, first.context, "cycle: " + path);
          return;
        }
        if (color[v] == kWhite) visit(v);
      }
      stack.pop_back();
      color[u] = kBlack;
    };
    for (size_t i = 0; i < steps_.size() && !found; ++i) {
      if (color[i] == kWhite) visit(i);
    }
    return found ? *found : absl::OkStatus();
  }

  const PipelineParseOptions& options_;
  const std::vector<ParameterSpec>& params_;
  std::vector<StepDraft>& steps_;
  std::map<std::string, size_t> index_;
  std::map<std::string, const StepType*> types_;
  std::vector<std::string> param_names_, step_names_;
  // Per step: the steps it needs, with where each is named; while a step is checked, first the
  // implied edges (inputs, references), then all of them.
  std::vector<std::vector<Edge>> edges_;
};

std::string ParentPath(const std::string& child, const std::string& extends) {
  std::filesystem::path base = std::filesystem::path(child).parent_path();
  std::filesystem::path target(extends);
  if (target.is_relative()) target = base / target;
  std::string out = target.lexically_normal().string();
  return out.empty() ? extends : out;
}

// The identity of a file for cycle detection: its absolute, normalised path.
std::string FileKey(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : abs).lexically_normal().string();
}

StatusOr<PipelineSpec> Parse(std::string_view yaml, const std::string& file_name,
                             const PipelineParseOptions& options) {
  if (options.registry == nullptr) {
    return absl::InvalidArgumentError("parsing a pipeline needs a step registry");
  }
  std::function<StatusOr<std::string>(const std::string&)> read = options.read_file;
  if (!read) read = [](const std::string& path) { return ReadFile(path); };

  // The chain: the pipeline, then each template it extends.
  std::vector<Document> chain;
  std::vector<std::string> keys;
  std::string file = file_name;
  std::string text(yaml);
  while (true) {
    auto src = std::make_shared<const Source>(file, std::move(text));
    ASSIGN_OR_RETURN(Document doc, ReadDocument(src));
    keys.push_back(FileKey(file));
    const bool has_parent = !doc.extends.empty();
    chain.push_back(std::move(doc));
    if (!has_parent) break;
    const Document& child = chain.back();
    const std::string parent = ParentPath(child.src->file(), child.extends);
    const std::string key = FileKey(parent);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      std::string path;
      for (const Document& d : chain) path += d.src->file() + " -> ";
      return child.src->errors.At(child.extends_mark, "", "extends cycle: " + path + parent);
    }
    if (chain.size() > kMaxExtendsDepth) {
      return child.src->errors.At(
          child.extends_mark, "",
          "templates extend each other more than " + std::to_string(kMaxExtendsDepth) + " deep");
    }
    StatusOr<std::string> parent_text = read(parent);
    if (!parent_text.ok()) {
      return child.src->errors.At(child.extends_mark, "",
                                  "cannot read template " + Quote(parent) + ": " +
                                      std::string(parent_text.status().message()));
    }
    file = parent;
    text = *std::move(parent_text);
  }

  // Merge, the furthest template first.
  PipelineSpec spec;
  spec.name = chain.front().name;
  for (const Document& doc : chain) spec.files.push_back(doc.src->file());
  std::vector<StepDraft> steps;
  for (auto doc = chain.rbegin(); doc != chain.rend(); ++doc) {
    if (doc->has_description) spec.description = doc->description;
    for (const ParamDraft& draft : doc->params) {
      auto it = std::find_if(spec.parameters.begin(), spec.parameters.end(),
                             [&](const ParameterSpec& p) { return p.name == draft.name; });
      if (it == spec.parameters.end()) {
        ASSIGN_OR_RETURN(ParameterSpec param, DeclareParameter(draft));
        spec.parameters.push_back(std::move(param));
      } else {
        RETURN_IF_ERROR(OverrideParameter(draft, *it));
      }
    }
    for (StepDraft& draft : doc->steps) {
      auto it = std::find_if(steps.begin(), steps.end(),
                             [&](const StepDraft& s) { return s.spec.name == draft.spec.name; });
      if (it == steps.end()) {
        steps.push_back(std::move(draft));
      } else {
        *it = std::move(draft);
      }
    }
  }
  if (steps.empty()) {
    const Document& doc = chain.front();
    return doc.src->errors.At(doc.root_mark, "", "the pipeline has no steps");
  }

  Checker checker(options, spec.parameters, steps);
  RETURN_IF_ERROR(checker.Check());
  for (StepDraft& draft : steps) spec.steps.push_back(std::move(draft.spec));
  return spec;
}

}  // namespace

std::string ParamTypeName(ParamType type) { return kParamTypeNames[static_cast<size_t>(type)]; }

const StepSpec* PipelineSpec::FindStep(const std::string& name) const {
  for (const StepSpec& s : steps) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const ParameterSpec* PipelineSpec::FindParameter(const std::string& name) const {
  for (const ParameterSpec& p : parameters) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

StatusOr<PipelineSpec> LoadPipeline(const std::string& path, const PipelineParseOptions& options) {
  StatusOr<std::string> text = options.read_file ? options.read_file(path) : ReadFile(path);
  if (!text.ok()) return text.status();
  return ParsePipeline(*text, path, options);
}

StatusOr<PipelineSpec> ParsePipeline(std::string_view yaml, const std::string& file_name,
                                     const PipelineParseOptions& options) {
  try {
    return Parse(yaml, file_name, options);
  } catch (const YAML::Exception& e) {
    // Reading a loaded document should not throw, but yaml-cpp's conversions may: a spec is user
    // input, so an exception becomes an error rather than a crash.
    return Errors(file_name).At(e.mark, "", "invalid pipeline: " + e.msg);
  }
}

Status CheckParameterValue(const ParameterSpec& param, const Json& value) {
  if (!JsonIsParamType(value, param.type)) {
    return absl::InvalidArgumentError("must be " + ParamTypeArticle(param.type) + ", not " +
                                      Quote(ValueText(value)));
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (param.min && d < *param.min) {
      return absl::InvalidArgumentError("must be at least " + NumberText(*param.min) + ", not " +
                                        ValueText(value));
    }
    if (param.max && d > *param.max) {
      return absl::InvalidArgumentError("must be at most " + NumberText(*param.max) + ", not " +
                                        ValueText(value));
    }
  }
  if (!param.allowed.empty()) {
    bool found = false;
    for (const Json& a : param.allowed) {
      found = found || a == value ||
              (a.is_number() && value.is_number() && a.get<double>() == value.get<double>());
    }
    if (!found) {
      std::vector<std::string> texts;
      for (const Json& a : param.allowed) texts.push_back(ValueText(a));
      return absl::InvalidArgumentError("must be one of " + internal::JoinNames(texts) + ", not " +
                                        Quote(ValueText(value)));
    }
  }
  return absl::OkStatus();
}

StatusOr<ParameterValues> ResolveParameters(const PipelineSpec& spec,
                                            const std::vector<std::string>& overrides) {
  ParameterValues values;
  std::vector<std::string> names;
  for (const ParameterSpec& p : spec.parameters) {
    names.push_back(p.name);
    if (!p.default_value.is_null()) values[p.name] = p.default_value;
  }
  std::set<std::string> given;
  for (const std::string& item : overrides) {
    const std::string shown = "--param " + Quote(item);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(shown + ": expected NAME=VALUE");
    }
    const std::string name = item.substr(0, eq);
    const std::string text = item.substr(eq + 1);
    const ParameterSpec* param = spec.FindParameter(name);
    if (param == nullptr) {
      return absl::InvalidArgumentError(shown + ": unknown parameter " + Quote(name) +
                                        internal::Hint(name, names, "parameters"));
    }
    if (!given.insert(name).second) {
      return absl::InvalidArgumentError(shown + ": '" + name + "' is given twice");
    }
    const std::string declared =
        " (declared at " + Where(param->file, param->line, param->column) + ")";
    std::optional<Json> value = ConvertText(text, param->type);
    if (!value) {
      return absl::InvalidArgumentError(shown + ": '" + name + "' is " +
                                        ParamTypeArticle(param->type) + " parameter, not " +
                                        Quote(text) + declared);
    }
    Status s = CheckParameterValue(*param, *value);
    if (!s.ok()) {
      return absl::InvalidArgumentError(shown + ": '" + name + "' " + std::string(s.message()) +
                                        declared);
    }
    values[name] = *std::move(value);
  }
  for (const ParameterSpec& p : spec.parameters) {
    if (values.count(p.name) == 0) {
      return absl::InvalidArgumentError("parameter '" + p.name + "' has no default (declared at " +
                                        Where(p.file, p.line, p.column) +
                                        "): give it with --param " + p.name + "=VALUE");
    }
  }
  return values;
}

Json PipelineSpecToJson(const PipelineSpec& spec) {
  Json out = Json::object();
  out["name"] = spec.name;
  out["description"] = spec.description;
  Json params = Json::array();
  for (const ParameterSpec& p : spec.parameters) {
    Json param = {{"name", p.name}, {"type", ParamTypeName(p.type)}, {"default", p.default_value}};
    if (p.min) param["min"] = *p.min;
    if (p.max) param["max"] = *p.max;
    if (!p.allowed.empty()) param["allowed"] = p.allowed;
    params.push_back(std::move(param));
  }
  out["parameters"] = std::move(params);
  Json steps = Json::array();
  for (const StepSpec& s : spec.steps) {
    Json step = Json::object();
    step["name"] = s.name;
    if (s.is_command()) {
      step["run"] = s.run;
    } else {
      step["uses"] = s.uses;
    }
    step["with"] = s.with;
    step["needs"] = s.needs;
    Json inputs = Json::object();
    for (const InputSpec& i : s.inputs) inputs[i.name] = i.step + ".outputs." + i.output;
    step["inputs"] = std::move(inputs);
    step["outputs"] = s.outputs;
    if (s.environment) {
      step["environment"] = {{"name", s.environment->name},
                             {"digest", EnvironmentDigest(*s.environment)}};
    }
    step["retries"] = s.retries;
    step["timeout_micros"] = s.timeout_micros;
    step["cache"] = s.cache;
    steps.push_back(std::move(step));
  }
  out["steps"] = std::move(steps);
  return out;
}

}  // namespace plinth::pipeline
