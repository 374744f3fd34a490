"""genforge.research's statistics against scipy and against the truth, side by side.

    .venv/bin/python benchmarks/research_statistics.py [--runs 2000]

1. Agreement: largest |genforge - scipy.stats.bootstrap| over percentile and BCa intervals of the mean on
   the same resamples (same seed), for several samples; and the correlated t-test's probabilities against
   the Student-t posterior built directly with scipy.stats.t.
2. Calibration on simulated data with a known mean: how often each 95 % interval covers it (n = 10 and
   30, normal and lognormal), and under a true null (equal means) how often P(A better) > 0.95.
3. Time per summary (genforge ``summarize``: t, percentile, BCa, IQM on one resample matrix each) against
   scipy.stats.bootstrap computing percentile and BCa, 9,999 resamples, n = 10.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as sps

from genforge.research import bayes, stats


def agreement() -> tuple[float, float]:
    rng = np.random.default_rng(0)
    worst_ci, worst_p = 0.0, 0.0
    for n in (3, 5, 10, 30):
        x = rng.lognormal(0, 0.7, n)
        for method, name in (("percentile", "percentile"), ("bca", "BCa")):
            ours = stats.bootstrap_interval(x, method=method, seed=n)
            ref = sps.bootstrap((x,), np.mean, method=name, rng=np.random.default_rng(n)).confidence_interval
            worst_ci = max(worst_ci, abs(ours[0] - ref.low), abs(ours[1] - ref.high))
        d = rng.normal(0.1, 0.3, n)
        post = bayes.correlated_ttest(d, rope=0.05, rho=0.1)
        scale = np.sqrt((1 / n + 0.1 / 0.9) * d.var(ddof=1))
        ref_t = sps.t(n - 1, loc=d.mean(), scale=scale)
        worst_p = max(worst_p, abs(post.p_a_better - ref_t.sf(0.05)), abs(post.p_b_better - ref_t.cdf(-0.05)))
    return worst_ci, worst_p


def coverage(runs: int, n: int, draw, true_mean: float) -> dict[str, float]:
    rng = np.random.default_rng(n)
    hits = {"t": 0, "percentile": 0, "bca": 0}
    for trial in range(runs):
        x = draw(rng, n)
        intervals = {
            "t": stats.student_t_interval(x),
            "percentile": stats.bootstrap_interval(x, method="percentile", n_resamples=999, seed=trial),
            "bca": stats.bootstrap_interval(x, method="bca", n_resamples=999, seed=trial),
        }
        for key, (lo, hi) in intervals.items():
            hits[key] += lo <= true_mean <= hi
    return {k: v / runs for k, v in hits.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    worst_ci, worst_p = agreement()
    print(f"max |genforge - scipy.stats.bootstrap| (percentile, BCa): {worst_ci:.2e}")
    print(f"max |genforge - scipy.stats.t posterior| (correlated t-test): {worst_p:.2e}")
    cases = {
        "normal": (lambda rng, n: rng.normal(3.0, 2.0, n), 3.0),
        "lognormal": (lambda rng, n: rng.lognormal(0.0, 0.75, n), float(np.exp(0.75**2 / 2))),
    }
    print(f"\ncoverage of 95 % intervals over {args.runs} simulated runs")
    print(f"{'data':<10} {'n':>3} {'Student-t':>10} {'percentile':>11} {'BCa':>6}")
    for name, (draw, mean) in cases.items():
        for n in (10, 30):
            c = coverage(args.runs, n, draw, mean)
            print(f"{name:<10} {n:>3} {c['t']:>10.3f} {c['percentile']:>11.3f} {c['bca']:>6.3f}")
    rng = np.random.default_rng(9)
    for n in (3, 5, 10):
        rate = np.mean(
            [bayes.correlated_ttest(d).p_a_better > 0.95 for d in rng.normal(0, 1, (args.runs * 5, n))]
        )
        print(f"true null, {n} pairs: P(A better) > 0.95 in {rate:.3%} of {args.runs * 5} comparisons")
    x = np.random.default_rng(1).normal(size=10)
    start = time.perf_counter()
    for seed in range(20):
        stats.summarize(x, seed=seed)
    ours = (time.perf_counter() - start) / 20
    start = time.perf_counter()
    for seed in range(20):
        for method in ("percentile", "BCa"):
            sps.bootstrap((x,), np.mean, method=method, rng=np.random.default_rng(seed))
    ref = (time.perf_counter() - start) / 20
    print(
        f"\nsummary of 10 values: genforge {ours * 1e3:.1f} ms (t + percentile + BCa + IQM), "
        f"scipy.stats.bootstrap {ref * 1e3:.1f} ms (percentile + BCa); ratio {ours / ref:.2f}x"
    )


if __name__ == "__main__":
    main()
