"""The pandas side of bench/pit_bench.sh: the training set pit_bench builds, written the way a
Python user would, on the same CSV files.

    pit_peer.py TRANSACTIONS.csv SPINE.csv

latest  pandas.merge_asof(spine, transactions, on=timestamp, by=customer_id,
        allow_exact_matches=False, tolerance=7 days): last_amount, last_category
full    the above + per-customer time-based rolling windows evaluated at the spine times: the
        spine rows are appended to the transactions with no amount, the frame is sorted by
        (customer_id, timestamp), and groupby(customer_id).rolling(..., closed="neither") gives
        txn_count_24h and spend_24h (24h), avg_amount_7d and max_amount_7d (7d). "neither"
        leaves out both window ends: rows with t - window < ts < t, as Plinth's rule (with the
        spine rows sorted before transactions of the same time, see windows()).

Prints, like pit_bench, one line per workload with the seconds of the join itself (read_csv is
not timed) and the same checksums (non-null counts and sums of the feature columns):
    workload=W rows=R seconds=X <checksums>
"full" is timed as merge_asof + rolling windows (the same merge_asof work counted once more, as
Plinth's full service recomputes its latest features).
"""
import sys
import time

import numpy as np
import pandas as pd


def checksums(frame, columns):
    out = []
    for name in columns:
        col = frame[name]
        out.append(f"{name}_nonnull={int(col.notna().sum())}")
        if col.dtype != object:
            out.append(f"{name}_sum={float(col.sum()):.17g}")
    return " ".join(out)


def latest(spine, txns):
    # merge_asof needs both sides sorted by the "on" key; the files are, but a user would not
    # rely on it.
    left = spine.sort_values("timestamp", kind="stable")
    right = txns[["customer_id", "timestamp", "amount", "merchant_category"]].sort_values(
        "timestamp", kind="stable")
    merged = pd.merge_asof(left, right, on="timestamp", by="customer_id",
                           allow_exact_matches=False, tolerance=pd.Timedelta("7d"))
    merged = merged.rename(columns={"amount": "last_amount",
                                    "merchant_category": "last_category"})
    # Back into the spine's order.
    merged.index = left.index
    return merged.sort_index()


def windows(spine, txns):
    events = pd.DataFrame({
        "customer_id": txns["customer_id"],
        "timestamp": txns["timestamp"],
        "amount": txns["amount"],
        "one": 1.0,
        "spine_row": -1,
        "query_first": 1,
    })
    queries = pd.DataFrame({
        "customer_id": spine["customer_id"],
        "timestamp": spine["timestamp"],
        "amount": np.nan,
        "one": 0.0,
        "spine_row": np.arange(len(spine)),
        "query_first": 0,
    })
    frame = pd.concat([events, queries], ignore_index=True)
    # closed="neither" leaves out the current row only, not other rows at the same time, so the
    # spine rows go before the transactions of the same second (they add nothing to windows).
    frame = frame.sort_values(["customer_id", "timestamp", "query_first"], kind="stable",
                              ignore_index=True)
    grouped = frame.groupby("customer_id", sort=False)
    day = grouped.rolling("24h", on="timestamp", closed="neither")
    week = grouped.rolling("7d", on="timestamp", closed="neither")
    # The rolling results come in the frame's (sorted) row order.
    count_24h = day["one"].sum().to_numpy()
    spend_24h = day["amount"].sum().to_numpy()
    count_7d = week["amount"].count().to_numpy()
    sum_7d = week["amount"].sum().to_numpy()
    max_7d = week["amount"].max().to_numpy()
    is_query = frame["spine_row"].to_numpy() >= 0
    rows = frame["spine_row"].to_numpy()[is_query]
    out = pd.DataFrame(index=np.arange(len(spine)))
    # An empty window counts NaN in pandas; the rule says 0.
    out.loc[rows, "txn_count_24h"] = np.nan_to_num(count_24h[is_query], nan=0.0)
    out["txn_count_24h"] = out["txn_count_24h"].astype(np.int64)
    # Likewise a window with no amount sums to NaN.
    out.loc[rows, "spend_24h"] = np.nan_to_num(spend_24h[is_query], nan=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_7d = np.where(count_7d > 0, sum_7d / count_7d, np.nan)
    out.loc[rows, "avg_amount_7d"] = mean_7d[is_query]
    out.loc[rows, "max_amount_7d"] = max_7d[is_query]
    return out


def main():
    txns_path, spine_path = sys.argv[1], sys.argv[2]
    txns = pd.read_csv(txns_path, parse_dates=["timestamp"])
    spine = pd.read_csv(spine_path, parse_dates=["timestamp"])

    start = time.perf_counter()
    with_latest = latest(spine, txns)
    latest_seconds = time.perf_counter() - start
    latest_columns = ["last_amount", "last_category"]
    print(f"workload=latest rows={len(with_latest)} seconds={latest_seconds:.3f} "
          + checksums(with_latest, latest_columns), flush=True)

    start = time.perf_counter()
    with_windows = windows(spine, txns)
    window_seconds = time.perf_counter() - start
    full = pd.concat([with_latest, with_windows], axis=1)
    window_columns = ["txn_count_24h", "spend_24h", "avg_amount_7d", "max_amount_7d"]
    print(f"workload=full rows={len(full)} seconds={latest_seconds + window_seconds:.3f} "
          + checksums(full, latest_columns + window_columns), flush=True)


if __name__ == "__main__":
    main()
