"""Produce tests/golden/research.json: reference values for genforge.research's statistics.

    .venv/bin/python tests/golden/make_research_goldens.py

References, none of them genforge code:
- bootstrap intervals: ``scipy.stats.bootstrap`` (percentile and BCa, 9,999 resamples from
  ``numpy.random.default_rng(seed)``), the mean's Student-t interval ``scipy.stats.t.interval`` and the
  interquartile mean ``scipy.stats.trim_mean(x, 0.25)``;
- the correlated Bayesian t-test (Corani & Benavoli 2015): the posterior of the mean difference is a
  ``scipy.stats.t`` with n - 1 degrees of freedom, location mean(d) and scale
  sqrt((1/n + rho/(1 - rho)) var(d)) (Nadeau & Bengio 2003); its probabilities below -rope, inside and
  above rope, and the Nadeau-Bengio corrected paired t-test's p-value, are written out from that
  distribution, and the same test from baycomp 1.0.3 (``CorrelatedTTest.probs`` with ``runs``, whose
  correlation is 1 / folds);
- the Bayesian signed-rank test: baycomp's ``SignedRankTest.probs`` with ``random_state=seed``
  (``pip install --no-deps baycomp``; only this script needs it).
The inputs are drawn here from fixed seeds and stored beside the values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent


def bootstrap_cases() -> list[dict]:
    rng = np.random.default_rng(2026)
    samples = {
        "normal-5": rng.normal(1.0, 0.3, 5),
        "lognormal-12": rng.lognormal(0.0, 0.8, 12),
        "exponential-30": rng.exponential(2.0, 30),
        "three": np.array([0.91, 0.87, 0.95]),
    }
    cases = []
    for name, x in samples.items():
        for seed in (0, 7):
            case = {"name": name, "values": x.tolist(), "seed": seed, "confidence": 0.95}
            for method in ("percentile", "BCa"):
                res = stats.bootstrap(
                    (x,), np.mean, n_resamples=9999, method=method, rng=np.random.default_rng(seed)
                )
                case[f"ci_{method.lower()}"] = [res.confidence_interval.low, res.confidence_interval.high]
            res = stats.bootstrap(
                (x,),
                lambda v, axis: stats.trim_mean(v, 0.25, axis=axis),
                n_resamples=9999,
                method="percentile",
                rng=np.random.default_rng(seed),
            )
            case["ci_iqm"] = [res.confidence_interval.low, res.confidence_interval.high]
            case["ci_t"] = list(stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x)))
            case["iqm"] = float(stats.trim_mean(x, 0.25))
            cases.append(case)
    return cases


def ttest_cases() -> list[dict]:
    rng = np.random.default_rng(21)
    cases = []
    for n, shift, rho, rope in [
        (3, 0.5, 0.0, 0.0),
        (5, 0.05, 0.0, 0.1),
        (10, -0.2, 0.1, 0.05),
        (20, 0.0, 0.2, 0.02),
    ]:
        d = rng.normal(shift, 0.3, n)
        scale = math.sqrt((1 / n + rho / (1 - rho)) * d.var(ddof=1))
        posterior = stats.t(n - 1, loc=d.mean(), scale=scale)
        cases.append(
            {
                "differences": d.tolist(),
                "rho": rho,
                "rope": rope,
                "p_a_better": float(posterior.sf(rope)),
                "p_equivalent": float(posterior.cdf(rope) - posterior.cdf(-rope)),
                "p_b_better": float(posterior.cdf(-rope)),
                "p_value": float(2 * stats.t.sf(abs(d.mean()) / scale, n - 1)),
            }
        )
    return cases


def baycomp_cases() -> dict[str, list[dict]]:
    import baycomp

    rng = np.random.default_rng(33)
    ttests, signed = [], []
    for n, runs, shift, rope in [(10, 1, 0.05, 0.02), (20, 2, -0.03, 0.01), (10, 1, 0.0, 0.0)]:
        x, y = rng.normal(0.8 + shift, 0.05, n), rng.normal(0.8, 0.05, n)
        probs = baycomp.CorrelatedTTest.probs(x, y, rope, runs=runs)
        folds = n / runs
        ttests.append(
            {"a": x.tolist(), "b": y.tolist(), "rope": rope, "rho": 1 / folds, "probs": list(probs)}
        )
    for n, shift, rope, seed in [
        (8, 0.02, 0.01, 0),
        (15, -0.01, 0.005, 4),
        (12, 0.0, 0.0, 9),
        (6, 0.05, 0.02, 2),
    ]:
        x, y = rng.normal(0.8 + shift, 0.03, n), rng.normal(0.8, 0.03, n)
        probs = baycomp.SignedRankTest.probs(x, y, rope, random_state=seed)
        signed.append({"a": x.tolist(), "b": y.tolist(), "rope": rope, "seed": seed, "probs": list(probs)})
    return {"correlated_ttest": ttests, "signed_rank": signed}


if __name__ == "__main__":
    out = {"bootstrap": bootstrap_cases(), "correlated_ttest": ttest_cases(), "baycomp": baycomp_cases()}
    path = HERE / "research.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")
