// Guardrails: settings of every trial that the platform or the pipeline fixes and no tuning can
// change (docs/tuning.md, "Guardrails").
//
//   fixed:                      # in every trial's parameters, as given
//     monotone_constraints: {annual_inc: -1, int_rate: 1}
//     nthread: 1
//   max: {max_depth: 6, max_leaves: 64}     # inclusive upper bounds of numeric parameters
//   min: {min_child_weight: 5}              # inclusive lower bounds
//   excluded_features: [addr_state, zip]    # handed to every trial as params.excluded_features
//
// A guardrail is a rule, not a suggestion: a search space that names a fixed parameter, or whose
// range (or a categorical value) reaches beyond a bound, is refused, never clamped, with a message
// naming the guardrail. Every trial's final parameters (sampled values, then the fixed ones) are
// checked again just before the trial runs; a breach there stops the tuning (it would be a bug).
// Bounds apply to what the tuner sets: a parameter neither tuned nor fixed keeps the trial
// program's default, so a bound that must hold whatever the default belongs in `fixed`.
#ifndef PLINTH_TUNE_GUARDRAILS_H_
#define PLINTH_TUNE_GUARDRAILS_H_

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "tune/search_space.h"

namespace plinth::tune {

struct Guardrails {
  Json fixed = Json::object();  // name -> value (not null)
  std::map<std::string, double> max;
  std::map<std::string, double> min;
  std::vector<std::string> excluded_features;  // distinct, in the file's order
  // "fixed.nthread" -> "guardrails.yaml:3:5", for messages; empty when built in code.
  std::map<std::string, std::string> locations;

  bool empty() const;
  // {"excluded_features": [...], "fixed": {...}, "max": {...}, "min": {...}}.
  Json ToJson() const;
  std::string Digest() const;
};

// A document of the form above (every key optional): YAML text, a file, a node already parsed,
// or JSON. InvalidArgument, positioned, for unknown keys, non-numeric bounds, a min above its max,
// a fixed value outside its own bounds, excluded_features not a list of distinct names, and a
// fixed monotone constraint on an excluded feature.
StatusOr<Guardrails> ParseGuardrails(std::string_view yaml, const std::string& file_name);
StatusOr<Guardrails> LoadGuardrails(const std::string& path);
StatusOr<Guardrails> GuardrailsFromYaml(const YAML::Node& node, const std::string& file_name);
StatusOr<Guardrails> GuardrailsFromJson(const Json& json, const std::string& context);

// InvalidArgument if `space` breaks a guardrail: it names a fixed parameter (or one named
// `excluded_features`), a numeric range goes beyond max.NAME or below min.NAME, or a categorical
// parameter with a bound has a value that is not a number within it. The message is positioned at
// the parameter and names the guardrail and where it was set.
Status CheckSpace(const Guardrails& guardrails, const SearchSpace& space);

// `sampled` with every fixed setting added (and excluded_features when there are any).
// InvalidArgument if `sampled` already names one of them.
StatusOr<Json> ApplyGuardrails(const Guardrails& guardrails, const Json& sampled);

// FailedPrecondition if a trial's final parameters break a guardrail: a fixed setting missing or
// different, a bounded parameter that is not a number or is out of bounds, excluded_features not
// exactly the guardrails' list.
Status CheckTrialParams(const Guardrails& guardrails, const Json& params);

}  // namespace plinth::tune

#endif  // PLINTH_TUNE_GUARDRAILS_H_
