#!/usr/bin/env python3
"""The Python peer of bench/linear_bench.sh: scikit-learn's L2 logistic regression.

    linear_peer.py CSV TARGET POSITIVE DIR C [PLINTH_MODEL_JSON]

Reads the CSV with pandas and the split that linear_bench wrote (DIR/train.txt, DIR/test.txt: the
0-based row numbers of each side), and builds the same features Plinth's PreprocessSpec builds:
numeric columns as they are, string columns one-hot encoded with the levels seen in the training
rows (OneHotEncoder(handle_unknown="ignore"): an unseen level is all zeros), not timed. Then it
times what Plinth's LogisticModel::Train does: StandardScaler on the training rows (population
standard deviation, as Plinth) and LogisticRegression(penalty="l2", C, solver="lbfgs",
max_iter=1000; the default tol 1e-4). It prints

    train_seconds=T test_auc=A objective=O iterations=I [max_coef_diff=D]

with the objective C * sum(logloss) + 0.5 * ||b||^2 on the standardised features (the objective
both sides minimise) and, when Plinth's model JSON is given, the largest absolute difference
between the two sides' standardised coefficients (coefficient * std), matched by feature name.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def main():
    csv, target, positive, folder, c = sys.argv[1:6]
    plinth_model = sys.argv[6] if len(sys.argv) > 6 else None
    c = float(c)
    df = pd.read_csv(csv, keep_default_na=False, na_values=["", "NA"])
    y = (df.pop(target).astype(str) == positive).astype(int).to_numpy()
    train = np.loadtxt(f"{folder}/train.txt", dtype=np.int64)
    test = np.loadtxt(f"{folder}/test.txt", dtype=np.int64)

    strings = [col for col in df.columns if df[col].dtype == object]
    numeric = [col for col in df.columns if col not in strings]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32)
    encoder.fit(df.iloc[train][strings])
    names = list(numeric)
    for col, levels in zip(strings, encoder.categories_):
        names += [f"{col}={level}" for level in levels]

    def features(rows):
        part = df.iloc[rows]
        return np.hstack([part[numeric].to_numpy(dtype=np.float32),
                          encoder.transform(part[strings])]).astype(np.float64)

    x_train, x_test = features(train), features(test)
    y_train, y_test = y[train], y[test]

    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    scaler = StandardScaler().fit(x_train)
    z_train = scaler.transform(x_train)
    model = LogisticRegression(penalty="l2", C=c, solver="lbfgs", max_iter=1000)
    model.fit(z_train, y_train)
    seconds = time.perf_counter() - start

    auc = roc_auc_score(y_test, model.predict_proba(scaler.transform(x_test))[:, 1])
    margin = z_train @ model.coef_[0] + model.intercept_[0]
    logloss = np.logaddexp(0, margin) - y_train * margin
    objective = c * logloss.sum() + 0.5 * np.dot(model.coef_[0], model.coef_[0])
    line = (f"train_seconds={seconds:.4f} test_auc={auc:.6f} objective={objective:.10g} "
            f"iterations={int(model.n_iter_[0])}")
    if plinth_model:
        with open(plinth_model) as f:
            theirs = {feat["name"]: feat["coefficient"] * feat["std"]
                      for feat in json.load(f)["features"]}
        ours = dict(zip(names, model.coef_[0]))
        common = set(ours) & set(theirs)
        if len(common) != len(ours) or len(common) != len(theirs):
            line += f" features_differ={len(ours)}/{len(theirs)}"
        line += f" max_coef_diff={max(abs(ours[n] - theirs[n]) for n in common):.2g}"
    print(line)


if __name__ == "__main__":
    main()
