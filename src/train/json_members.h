// Internal to the train module: checks the model files' JSON readers share (a reader refuses what
// it cannot replay exactly).
#ifndef PLINTH_TRAIN_JSON_MEMBERS_H_
#define PLINTH_TRAIN_JSON_MEMBERS_H_

#include <initializer_list>
#include <string>

#include "core/json.h"
#include "core/status.h"

namespace plinth {

// InvalidArgument unless `json` is an object with exactly the members in `required`, naming the
// first unknown or missing one ("<what> has an unknown member 'x'", "<what> lacks the member 'y'").
Status CheckMembers(const Json& json, const std::string& what,
                    std::initializer_list<const char*> required);

// The number `json`, or InvalidArgument ("<what> must be a number" / "must be finite").
StatusOr<double> FiniteNumber(const Json& json, const std::string& what);

}  // namespace plinth

#endif  // PLINTH_TRAIN_JSON_MEMBERS_H_
