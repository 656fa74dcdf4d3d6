// `plinth new TEMPLATE DIR`: curated project templates, embedded in the binary (templates/ in the
// source tree), written out as a ready project.
#ifndef PLINTH_CLI_TEMPLATES_H_
#define PLINTH_CLI_TEMPLATES_H_

#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace plinth {

// "credit-risk", "fraud".
std::vector<std::string> TemplateNames();

// Writes the template into `dir` (created; it must not exist or be empty unless `force`), with
// plinth.json naming `project` (default: the template's name). The fraud template's data are
// generated here (synthetic, seeded). The files appear together: they are written to a staging
// folder beside `dir`, which is renamed into place. Returns {"template", "dir", "project",
// "files": [...]}. NotFound for an unknown template (listing the known ones); AlreadyExists for a
// non-empty `dir` without `force`.
StatusOr<Json> WriteTemplate(const std::string& name, const std::string& dir,
                             const std::string& project, bool force);

}  // namespace plinth

#endif  // PLINTH_CLI_TEMPLATES_H_
