#!/bin/sh
# Writes a short comparison of the evaluations: summary.sh XGB.json SCORECARD.json TUNED.json OUT
set -eu
out=$4
{
  echo "Test metrics of the credit-risk models"
  for pair in "xgboost:$1" "scorecard:$2" "tuned:$3"; do
    name=${pair%%:*}
    file=${pair#*:}
    auc=$(sed -n 's/.*"test_auc": *\([0-9.eE+-]*\).*/\1/p' "$file" | head -n 1)
    ks=$(sed -n 's/.*"test_ks": *\([0-9.eE+-]*\).*/\1/p' "$file" | head -n 1)
    echo "  $name: AUC $auc, KS $ks"
  done
} > "$out"
cat "$out"
