"""Group fairness metrics on N rows: genforge's count-based route against fairlearn's ``MetricFrame``.

Both compute the same per-group selection rate, TPR, FPR and accuracy and the demographic parity and
equalized odds differences on the same seeded labels, predictions and a 5-group sensitive attribute; the
table gives seconds, the ratio to genforge and the largest absolute difference of any figure.

    .venv/bin/python benchmarks/fairness_vs_fairlearn.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = rng.choice(np.array(["a", "b", "c", "d", "e"]), n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < 0.2 + 0.5 * y + 0.05 * (groups == "a")).astype(int)
    return y, p, groups


def genforge_route(y, p, groups):
    from genforge.metrics.fairness import fairness_metrics

    report = fairness_metrics(y, p, groups, bootstrap=0)
    values = {
        f"{g['group']}.{k}": g[k] for g in report["groups"] for k in ("selection_rate", "true_positive_rate")
    }
    values["dpd"] = report["disparities"]["demographic_parity_difference"]
    values["eod"] = report["disparities"]["equalized_odds_difference"]
    return values


def fairlearn_route(y, p, groups):
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        selection_rate,
        true_positive_rate,
    )

    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate},
        y_true=y,
        y_pred=p,
        sensitive_features=groups,
    )
    values = {f"{g}.{k}": float(v) for g, row in frame.by_group.iterrows() for k, v in row.items()}
    values["dpd"] = float(demographic_parity_difference(y, p, sensitive_features=groups))
    values["eod"] = float(equalized_odds_difference(y, p, sensitive_features=groups))
    return values


def timed(fn, args, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    inputs = data(args.rows)
    ours_s, ours = timed(genforge_route, inputs, args.repeats)
    ref_s, ref = timed(fairlearn_route, inputs, args.repeats)
    diff = max(abs(ours[k] - ref[k]) for k in ref)
    print(f"{args.rows:,} rows, 5 groups, best of {args.repeats}; {os.cpu_count()} CPUs")
    print(f"{'route':<24}{'seconds':>10}{'ratio':>8}{'max |diff|':>14}")
    print(f"{'genforge (counts)':<24}{ours_s:>10.3f}{1.0:>8.2f}{0.0:>14.2e}")
    print(f"{'fairlearn MetricFrame':<24}{ref_s:>10.3f}{ref_s / ours_s:>8.2f}{diff:>14.2e}")


if __name__ == "__main__":
    main()
