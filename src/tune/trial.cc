#include "tune/trial.h"

#include <algorithm>

#include "tune/spec_reader.h"

namespace plinth::tune {
namespace {

constexpr size_t kMaxListed = 20;

std::string Num(double v) { return internal::FormatNumber(v); }

std::string Plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

Json Trial::ToJson() const {
  Json out = Json::object();
  out["trial"] = index;
  out["params"] = params;
  out["budget"] = budget ? Json(*budget) : Json(nullptr);
  out["rung"] = rung;
  return out;
}

std::string TrialStateName(TrialState state) {
  switch (state) {
    case TrialState::kRunning:
      return "running";
    case TrialState::kSucceeded:
      return "succeeded";
    case TrialState::kFailed:
      return "failed";
    case TrialState::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::vector<std::string> TrialRecord::violations() const {
  std::vector<std::string> out;
  for (const ConstraintCheck& c : checks) {
    if (!c.satisfied) out.push_back(c.constraint);
  }
  return out;
}

Json TrialRecord::ToJson() const {
  Json out = Json::object();
  out["index"] = trial.index;
  out["rung"] = trial.rung;
  out["budget"] = trial.budget ? Json(*trial.budget) : Json(nullptr);
  out["promoted_from"] = trial.promoted_from ? Json(*trial.promoted_from) : Json(nullptr);
  out["params"] = trial.params;
  out["state"] = TrialStateName(state);
  out["error"] = status.ok() ? Json(nullptr) : Json(std::string(status.message()));
  out["metrics"] = Json::object();
  for (const auto& [name, v] : metrics) out["metrics"][name] = v;
  out["seconds"] = seconds;
  if (state == TrialState::kSucceeded) {
    out["feasible"] = feasible;
    out["violations"] = violations();
    out["constraints"] = Json::array();
    for (const ConstraintCheck& c : checks) out["constraints"].push_back(c.ToJson());
  } else {
    out["feasible"] = nullptr;
    out["violations"] = Json::array();
    out["constraints"] = Json::array();
  }
  out["artifacts"] = artifacts;
  return out;
}

Selection SelectTrial(const Objective& objective, const std::vector<TrialRecord>& trials,
                      bool by_rung) {
  const std::string& metric = objective.metric;
  size_t succeeded = 0, failed = 0, cancelled = 0, feasible = 0;
  Json by_constraint = Json::object();
  std::optional<int> top_rung;
  for (const TrialRecord& t : trials) {
    if (t.state == TrialState::kFailed) ++failed;
    if (t.state == TrialState::kCancelled) ++cancelled;
    if (t.state != TrialState::kSucceeded) continue;
    ++succeeded;
    if (t.feasible) {
      ++feasible;
      top_rung = std::max(top_rung.value_or(t.trial.rung), t.trial.rung);
    }
    for (const std::string& c : t.violations()) {
      by_constraint[c] = by_constraint.value(c, 0) + 1;
    }
  }
  const auto value_of = [&](const TrialRecord& t) { return t.metrics.at(metric); };
  // Strictly better, ties to the lower index: a total order on succeeded trials.
  const auto before = [&](const TrialRecord* a, const TrialRecord* b) {
    const double va = value_of(*a), vb = value_of(*b);
    if (objective.Better(va, vb)) return true;
    if (objective.Better(vb, va)) return false;
    return a->trial.index < b->trial.index;
  };

  Selection out;
  Json& e = out.explanation;
  e = Json::object();
  e["metric"] = metric;
  e["direction"] = DirectionName(objective.direction);
  e["counts"] = {{"trials", trials.size()}, {"succeeded", succeeded},
                 {"failed", failed},        {"cancelled", cancelled},
                 {"feasible", feasible},    {"infeasible", succeeded - feasible}};
  e["infeasible_by_constraint"] = by_constraint;
  const std::string failures =
      failed + cancelled == 0
          ? ""
          : "; " + Plural(failed, "trial", "trials") + " failed" +
                (cancelled > 0 ? ", " + std::to_string(cancelled) + " cancelled" : "");

  if (succeeded == 0) {
    e["chosen_trial"] = nullptr;
    e["summary"] = "no trial chosen: no trial succeeded" + failures;
    return out;
  }
  if (feasible == 0) {
    e["chosen_trial"] = nullptr;
    std::vector<const TrialRecord*> all;
    for (const TrialRecord& t : trials) {
      if (t.state == TrialState::kSucceeded) all.push_back(&t);
    }
    std::sort(all.begin(), all.end(), before);
    Json list = Json::array();
    for (const TrialRecord* t : all) {
      Json violated = Json::array();
      for (const ConstraintCheck& c : t->checks) {
        if (!c.satisfied) violated.push_back(c.ToJson());
      }
      list.push_back({{"trial", t->trial.index}, {"value", value_of(*t)}, {"violated", violated}});
    }
    e["infeasible_trials"] = list;
    std::string counts;
    for (auto it = by_constraint.begin(); it != by_constraint.end(); ++it) {
      counts += (counts.empty() ? "" : ", ") + it.key() + " violated by " +
                std::to_string(it.value().get<int>());
    }
    e["summary"] = "no trial chosen: none of the " +
                   Plural(succeeded, "succeeded trial", "succeeded trials") +
                   " satisfies every constraint (" + counts + ")" + failures;
    return out;
  }

  // The pool: succeeded trials (of the top rung with a feasible trial, when by rung).
  std::vector<const TrialRecord*> pool, candidates;
  for (const TrialRecord& t : trials) {
    if (t.state != TrialState::kSucceeded) continue;
    if (by_rung && t.trial.rung != *top_rung) continue;
    pool.push_back(&t);
    if (t.feasible) candidates.push_back(&t);
  }
  std::sort(pool.begin(), pool.end(), before);
  std::sort(candidates.begin(), candidates.end(), before);
  const TrialRecord& best = *candidates.front();
  const double best_value = value_of(best);
  out.chosen = best.trial.index;

  e["chosen_trial"] = best.trial.index;
  e["value"] = best_value;
  e["params"] = best.trial.params;
  size_t rank = 1;
  Json rejected = Json::array();
  size_t rejected_count = 0;
  for (const TrialRecord* t : pool) {
    if (!objective.Better(value_of(*t), best_value)) continue;
    ++rank;
    if (!t->feasible) {
      ++rejected_count;
      if (rejected.size() < kMaxListed) {
        rejected.push_back(
            {{"trial", t->trial.index}, {"value", value_of(*t)}, {"violated", t->violations()}});
      }
    }
  }
  e["rank_by_metric"] = rank;
  e["feasible_candidates"] = candidates.size();
  e["rejected_better_trials"] = rejected;
  e["constraints"] = Json::array();
  for (const ConstraintCheck& c : best.checks) e["constraints"].push_back(c.ToJson());
  Json tied = Json::array();
  for (const TrialRecord* t : candidates) {
    if (!objective.Better(best_value, value_of(*t)) &&
        !objective.Better(value_of(*t), best_value)) {
      tied.push_back(t->trial.index);
    }
  }
  if (tied.size() > 1) {
    e["tie"] = {{"trials", tied}, {"broken_by", "lowest trial index"}};
  }
  if (candidates.size() > 1) {
    e["runner_up"] = {{"trial", candidates[1]->trial.index}, {"value", value_of(*candidates[1])}};
  }
  if (by_rung) {
    e["rung"] = best.trial.rung;
    e["budget"] = best.trial.budget ? Json(*best.trial.budget) : Json(nullptr);
  }

  const std::string best_word = objective.direction == Direction::kMaximize ? "highest" : "lowest";
  const std::string better_word = objective.direction == Direction::kMaximize ? "higher" : "lower";
  std::string summary = "trial " + std::to_string(best.trial.index) + " chosen: the " + best_word +
                        " " + metric + " (" + Num(best_value) + ") of the " +
                        Plural(candidates.size(), "feasible trial", "feasible trials");
  if (by_rung) {
    summary += " at rung " + std::to_string(best.trial.rung) +
               (best.trial.budget ? " (budget " + std::to_string(*best.trial.budget) + ")" : "") +
               ", the highest rung with a feasible trial";
  }
  if (!objective.constraints.empty()) {
    summary +=
        "; it satisfies all " + Plural(objective.constraints.size(), "constraint", "constraints");
  }
  if (rejected_count > 0) {
    summary += "; " + Plural(rejected_count, "trial", "trials") + " with a " + better_word + " " +
               metric + " violated a constraint";
  }
  if (succeeded > feasible) {
    summary += "; " + std::to_string(succeeded - feasible) + " of " + std::to_string(succeeded) +
               " succeeded trials were infeasible";
  }
  if (tied.size() > 1)
    summary +=
        "; tied with " + std::to_string(tied.size() - 1) + " other(s), the lowest index wins";
  e["summary"] = summary + failures;
  return out;
}

}  // namespace plinth::tune
