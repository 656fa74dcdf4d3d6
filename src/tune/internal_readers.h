// Internal to the tune module: the readers of each format over a Source, so a tuning spec can read
// its space, objective and guardrails from one document with positions into the same file.
#ifndef PLINTH_TUNE_INTERNAL_READERS_H_
#define PLINTH_TUNE_INTERNAL_READERS_H_

#include <string>
#include <vector>

#include "core/status.h"
#include "tune/guardrails.h"
#include "tune/objective.h"
#include "tune/search_space.h"
#include "tune/spec_reader.h"

namespace plinth::tune::internal {

StatusOr<SearchSpace> ReadSearchSpace(const Source& source, const Path& path);
StatusOr<Guardrails> ReadGuardrails(const Source& source, const Path& path);
StatusOr<Objective> ReadObjective(const Source& source, const Path& path,
                                  const std::vector<std::string>& metric_names);

// The names a search space may not use: the guardrails' excluded_features key.
inline constexpr char kExcludedFeaturesKey[] = "excluded_features";

}  // namespace plinth::tune::internal

#endif  // PLINTH_TUNE_INTERNAL_READERS_H_
