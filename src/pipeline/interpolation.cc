#include "pipeline/interpolation.h"

#include <utility>

#include "pipeline/yaml_util.h"

namespace plinth::pipeline {
namespace {

constexpr const char* kExpected =
    "expected params.NAME, steps.STEP.outputs.NAME, inputs.NAME or outputs.NAME";

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

StatusOr<Reference> ParseReference(std::string_view body, size_t offset) {
  const std::string text(Trim(body));
  const std::string shown = internal::Quote("${" + std::string(body) + "}");
  if (text.empty())
    return absl::InvalidArgumentError("empty reference " + shown + " (" + kExpected + ")");
  const std::vector<std::string> parts = Split(text, '.');
  Reference ref;
  ref.offset = offset;
  const std::string& head = parts[0];
  if (head == "params" && parts.size() == 2) {
    ref.kind = Reference::Kind::kParam;
    ref.name = parts[1];
  } else if (head == "steps" && parts.size() == 4 && parts[2] == "outputs") {
    ref.kind = Reference::Kind::kStepOutput;
    ref.step = parts[1];
    ref.name = parts[3];
  } else if (head == "inputs" && parts.size() == 2) {
    ref.kind = Reference::Kind::kInput;
    ref.name = parts[1];
  } else if (head == "outputs" && parts.size() == 2) {
    ref.kind = Reference::Kind::kOutput;
    ref.name = parts[1];
  } else {
    const std::string suggestion =
        internal::Suggest(head, {"params", "steps", "inputs", "outputs"});
    std::string hint = "(" + std::string(kExpected) + ")";
    if (head == "steps" && parts.size() == 3) {
      hint = "(a step's output is steps." + parts[1] + ".outputs." + parts[2] + ")";
    } else if (!suggestion.empty()) {
      hint = "(did you mean '" + suggestion + "'? " + kExpected + ")";
    }
    return absl::InvalidArgumentError("unknown reference " + shown + " " + hint);
  }
  const bool step_ok = ref.kind != Reference::Kind::kStepOutput || internal::IsStepName(ref.step);
  if (!step_ok || !internal::IsIdentifier(ref.name)) {
    return absl::InvalidArgumentError("malformed reference " + shown +
                                      " (names are letters, digits and '_'; step names may also "
                                      "hold '-')");
  }
  return ref;
}

}  // namespace

std::string Reference::ToString() const {
  switch (kind) {
    case Kind::kParam:
      return "params." + name;
    case Kind::kStepOutput:
      return "steps." + step + ".outputs." + name;
    case Kind::kInput:
      return "inputs." + name;
    case Kind::kOutput:
      return "outputs." + name;
  }
  return name;
}

std::vector<Reference> Template::References() const {
  std::vector<Reference> refs;
  for (const Part& part : parts_) {
    if (part.reference) refs.push_back(*part.reference);
  }
  return refs;
}

StatusOr<Template> ParseTemplate(std::string_view text, size_t* error_offset) {
  Template tmpl;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) tmpl.parts_.push_back({std::move(literal), std::nullopt});
    literal.clear();
  };
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      literal += text[i++];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    const size_t nested = text.find("${", i + 2);
    if (close == std::string_view::npos || (nested != std::string_view::npos && nested < close)) {
      if (error_offset != nullptr) *error_offset = i;
      return absl::InvalidArgumentError("unterminated reference " +
                                        internal::Quote(std::string(text.substr(i, 40))) +
                                        " (a reference is ${...}; write $${ for a literal ${)");
    }
    StatusOr<Reference> ref = ParseReference(text.substr(i + 2, close - i - 2), i);
    if (!ref.ok()) {
      if (error_offset != nullptr) *error_offset = i;
      return ref.status();
    }
    flush();
    tmpl.parts_.push_back({"", std::move(ref).value()});
    i = close + 1;
  }
  flush();
  return tmpl;
}

std::string ValueText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  StatusOr<std::string> canonical = CanonicalJson(value);
  return canonical.ok() ? *canonical : DumpJson(value);
}

StatusOr<Json> RenderTemplate(const Template& tmpl, const ReferenceResolver& resolve) {
  if (tmpl.IsSingleReference()) return resolve(*tmpl.parts()[0].reference);
  std::string out;
  for (const Template::Part& part : tmpl.parts()) {
    if (!part.reference) {
      out += part.literal;
      continue;
    }
    ASSIGN_OR_RETURN(Json value, resolve(*part.reference));
    out += ValueText(value);
  }
  return Json(std::move(out));
}

StatusOr<Json> RenderJson(const Json& value, const ReferenceResolver& resolve) {
  if (value.is_string()) {
    ASSIGN_OR_RETURN(Template tmpl, ParseTemplate(value.get<std::string>()));
    return RenderTemplate(tmpl, resolve);
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& item : value) {
      ASSIGN_OR_RETURN(Json rendered, RenderJson(item, resolve));
      out.push_back(std::move(rendered));
    }
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      ASSIGN_OR_RETURN(Json rendered, RenderJson(it.value(), resolve));
      out[it.key()] = std::move(rendered);
    }
    return out;
  }
  return value;
}

void ForEachString(const Json& value, const std::function<void(const std::string&)>& visit) {
  if (value.is_string()) {
    visit(value.get<std::string>());
  } else if (value.is_array() || value.is_object()) {
    for (const Json& item : value) ForEachString(item, visit);
  }
}

}  // namespace plinth::pipeline
