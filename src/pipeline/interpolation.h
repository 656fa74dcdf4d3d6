// References inside pipeline values (docs/pipelines.md, "Interpolation").
//
// A string in a step's `with` or `run` may hold references written ${...}:
//   ${params.NAME}               a pipeline parameter's value
//   ${steps.STEP.outputs.NAME}   the local path of another step's output (implies `needs: [STEP]`)
//   ${inputs.NAME}               the local path of one of the step's own `inputs`
//   ${outputs.NAME}              the path a command step writes its declared output NAME to
// Spaces inside the braces are allowed; "$${" writes a literal "${"; a "$" not followed by "{" is
// itself. A string that is exactly one reference takes the referenced value's type (an int
// parameter stays an int); otherwise the references' text is spliced into the string.
//
// Templates are parsed once and rendered in a single pass, so a parameter whose value happens to
// contain "${...}" is never interpreted a second time.
#ifndef PLINTH_PIPELINE_INTERPOLATION_H_
#define PLINTH_PIPELINE_INTERPOLATION_H_

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::pipeline {

struct Reference {
  enum class Kind { kParam, kStepOutput, kInput, kOutput };
  Kind kind = Kind::kParam;
  std::string step;   // kStepOutput only
  std::string name;   // the parameter, input or output name
  size_t offset = 0;  // byte offset of the "${" in the template text

  // "params.NAME", "steps.STEP.outputs.NAME", "inputs.NAME" or "outputs.NAME".
  std::string ToString() const;
  bool operator==(const Reference& other) const {
    return kind == other.kind && step == other.step && name == other.name;
  }
};

class Template {
 public:
  struct Part {
    std::string literal;  // used when `reference` is empty
    std::optional<Reference> reference;
  };

  const std::vector<Part>& parts() const { return parts_; }
  // True if the text is exactly one reference (and so renders to the referenced value's type).
  bool IsSingleReference() const { return parts_.size() == 1 && parts_[0].reference.has_value(); }
  std::vector<Reference> References() const;

 private:
  friend StatusOr<Template> ParseTemplate(std::string_view text, size_t* error_offset);
  std::vector<Part> parts_;
};

// InvalidArgument (without a position: callers add the file's) for an unterminated or malformed
// reference; `error_offset`, when given, receives the byte offset of the offending "${".
StatusOr<Template> ParseTemplate(std::string_view text, size_t* error_offset = nullptr);

// Supplies the value of a reference; an error stops the rendering.
using ReferenceResolver = std::function<StatusOr<Json>(const Reference&)>;

// A single reference renders to its value as is; anything else to a string of the literal text
// with each value's text (ValueText) spliced in.
StatusOr<Json> RenderTemplate(const Template& tmpl, const ReferenceResolver& resolve);
// Renders every string inside `value` (object values and list items, recursively) as a template;
// numbers, booleans, null and object keys are left as they are.
StatusOr<Json> RenderJson(const Json& value, const ReferenceResolver& resolve);
// Calls `visit` with every string inside `value` (object values and list items, recursively).
void ForEachString(const Json& value, const std::function<void(const std::string&)>& visit);

// The text of a value spliced into a string: strings as themselves, integers in decimal, floats
// in their shortest round-trip form, booleans as true/false, null as "", lists and objects as
// canonical JSON.
std::string ValueText(const Json& value);

}  // namespace plinth::pipeline

#endif  // PLINTH_PIPELINE_INTERPOLATION_H_
