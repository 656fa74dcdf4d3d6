// Helpers shared by the report module's documents: tolerant reads of partial JSON, number
// formatting, escaping, and mstch rendering. Internal to src/report.
#ifndef PLINTH_REPORT_COMMON_H_
#define PLINTH_REPORT_COMMON_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth::report {

inline constexpr char kNotRecorded[] = "not recorded";

// `obj[key]` when `obj` is an object holding it, else null (never throws, never inserts).
const Json& Member(const Json& obj, std::string_view key);
// Member along a dotted path ("model.name").
const Json& At(const Json& obj, std::string_view dotted);

// A string value; numbers and booleans as their text; "" for null, objects and arrays.
std::string Text(const Json& value);
// A number, or NaN when absent or not a number.
double Number(const Json& value);
bool IsNonEmpty(const Json& value);  // a non-empty string, array or object, a number or bool

// A list of strings from a string (one element) or an array of strings/numbers.
std::vector<std::string> TextList(const Json& value);

// "%.4g" for finite numbers, "" for NaN.
std::string FormatNumber(double v, const char* format = "%.4g");

// Markdown: \ ` * [ ] | < > & escaped, line breaks as <br> (so text stays in its table cell).
std::string MarkdownEscape(std::string_view text);

// "data:image/svg+xml;base64,..." of an SVG document.
std::string SvgDataUri(std::string_view svg);

// Renders an mstch template over `view` (JSON converted to mstch nodes: objects to maps, arrays
// to arrays, numbers formatted with FormatNumber), escaping {{ }} with `escape`. mstch keeps its
// escape function in a global, so renders are serialized. Internal on mstch exceptions.
StatusOr<std::string> RenderMustache(const std::string& tmpl, const Json& view,
                                     const std::function<std::string(const std::string&)>& escape);

// The house stylesheet of the module's HTML pages (as in the trainer's evaluation report).
extern const char kStyle[];

}  // namespace plinth::report

#endif  // PLINTH_REPORT_COMMON_H_
