// Small helpers shared by the data module's HTML reports (profiles, validation results).
#ifndef PLINTH_DATA_HTML_H_
#define PLINTH_DATA_HTML_H_

#include <string>
#include <string_view>

namespace plinth {

// `text` with & < > " ' replaced by their HTML entities, safe in element text and attributes.
std::string HtmlEscape(std::string_view text);

}  // namespace plinth

#endif  // PLINTH_DATA_HTML_H_
