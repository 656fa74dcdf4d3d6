#include "train/json_members.h"

#include <cmath>
#include <set>

namespace plinth {

Status CheckMembers(const Json& json, const std::string& what,
                    std::initializer_list<const char*> required) {
  if (!json.is_object()) return absl::InvalidArgumentError(what + " must be a JSON object");
  std::set<std::string> allowed(required.begin(), required.end());
  for (const auto& [key, value] : json.items()) {
    if (!allowed.count(key)) {
      return absl::InvalidArgumentError(what + " has an unknown member '" + key + "'");
    }
  }
  for (const char* key : required) {
    if (!json.contains(key)) {
      return absl::InvalidArgumentError(what + " lacks the member '" + std::string(key) + "'");
    }
  }
  return absl::OkStatus();
}

StatusOr<double> FiniteNumber(const Json& json, const std::string& what) {
  if (!json.is_number()) return absl::InvalidArgumentError(what + " must be a number");
  const double v = json.get<double>();
  if (!std::isfinite(v)) return absl::InvalidArgumentError(what + " must be finite");
  return v;
}

}  // namespace plinth
