// The built-in policy pack for credit scoring models (docs/policies.md lists each rule and why).
// It is kept as YAML, not built in C++, so it is exactly what a bank would write, reads through the
// same checks, and can be printed as a starting point for a bank's own pack.
#include <string>

#include "policy/policy.h"

namespace plinth::policy {
namespace {

constexpr const char kBuiltinCreditPolicy[] =
    R"yaml(# plinth-credit: the built-in pack for credit scoring models.
policy: plinth-credit
description: >-
  Minimum evidence for credit scoring models: discrimination, generalisation, score stability,
  fairness across protected attributes, no protected attribute as an input, monotone risk drivers,
  validated data, a complete model card, a clean import scan and an independent validation.

rules:
  # Every gate: what may never enter the registry, let alone serve.
  - name: import_scan_clean
    gates: [register, staging, production, deploy]
    # Versions trained by a run are not imported, so they have no scan.
    expr: scan == null || scan.clean == true
    message: the import scan of the model files must be clean

  - name: no_protected_features
    gates: [register, staging, production, deploy]
    expr: "!features.exists(f, f in protected)"
    message: no protected attribute may be a model input

  # Staging: performance and the data it was trained on.
  - name: min_test_auc
    gates: [staging, production]
    expr: metrics.test_auc >= 0.65
    message: test AUC must be at least 0.65

  - name: max_train_test_gap
    gates: [staging, production]
    # The gap as recorded, or from the two AUCs when it was not.
    expr: >-
      has(metrics.train_test_auc_gap)
        ? metrics.train_test_auc_gap <= 0.08
        : metrics.train_auc - metrics.test_auc <= 0.08
    message: train AUC may exceed test AUC by at most 0.08 (overfitting)

  - name: data_validation_passed
    gates: [staging, production]
    expr: data_validation.passed == true
    message: the training data must have passed its validation suites

  - name: monotone_declared
    gates: [staging, production]
    # Risk drivers whose effect must have one direction, when the model uses them.
    expr: >-
      ['int_rate', 'revol_util', 'dti', 'annual_inc'].all(f,
        !(f in features) || (f in monotone && monotone[f] != 0))
    message: int_rate, revol_util, dti and annual_inc need a declared monotone constraint when used

  # Production: everything a validator and a regulator will ask for.
  - name: score_stability
    gates: [production]
    # "psi" as the platform records it, or the evaluation's own "test_psi".
    expr: "has(metrics.psi) ? metrics.psi <= 0.25 : metrics.test_psi <= 0.25"
    message: score PSI against the reference scores must be at most 0.25

  - name: fairness_disparate_impact
    gates: [production]
    # Each protected attribute must have been measured, and pass the four-fifths rule.
    expr: >-
      protected.all(a, a in fairness.attributes
        && fairness.attributes[a].disparate_impact_min >= 0.8)
    message: disparate impact must be at least 0.8 for every protected attribute

  - name: model_card_complete
    gates: [production]
    expr: card.complete == true
    message: the model card must be complete

  - name: independent_validation
    gates: [production]
    expr: approvals.stages.production.validated == true
    message: an independent validator must have signed off this version for production

approvals:
  - gate: staging
    approvals: 1
  - gate: production
    validators: 1
    approvers: 1
)yaml";

}  // namespace

std::string BuiltinCreditPolicyYaml() { return kBuiltinCreditPolicy; }

const Policy& BuiltinCreditPolicy() {
  // Parsed once; the tests parse the same text, so a failure here cannot reach a release.
  static const Policy* const policy =
      new Policy(ParsePolicy(kBuiltinCreditPolicy, "builtin:plinth-credit").value());
  return *policy;
}

}  // namespace plinth::policy
