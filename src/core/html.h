// Small helpers shared by every HTML report (data profiles, validation results, run comparisons,
// evaluation reports).
#ifndef PLINTH_CORE_HTML_H_
#define PLINTH_CORE_HTML_H_

#include <string>
#include <string_view>

namespace plinth {

// `text` with & < > " ' replaced by their HTML entities, safe in element text and attributes.
std::string HtmlEscape(std::string_view text);

}  // namespace plinth

#endif  // PLINTH_CORE_HTML_H_
