// The project templates' files, embedded in the binary at build time (embed_templates.cmake).
#ifndef PLINTH_CLI_TEMPLATES_EMBEDDED_H_
#define PLINTH_CLI_TEMPLATES_EMBEDDED_H_

#include <string_view>
#include <vector>

namespace plinth {

struct EmbeddedTemplateFile {
  const char* template_name;  // "credit-risk"
  const char* path;           // "pipeline.yaml", "data/lending_club.csv"
  const unsigned char* begin;
  const unsigned char* end;
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(begin), static_cast<size_t>(end - begin)};
  }
};

// Sorted by template, then path.
const std::vector<EmbeddedTemplateFile>& EmbeddedTemplateFiles();

}  // namespace plinth

#endif  // PLINTH_CLI_TEMPLATES_EMBEDDED_H_
