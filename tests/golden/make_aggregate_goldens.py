"""Produce tests/golden/aggregate.json: rliable's aggregate figures and stratified bootstrap intervals,
the reference for genforge.research.aggregate.

    pip install --no-deps --target /tmp/rlpkgs rliable==1.2.0 arch==8.0.0 statsmodels patsy
    PYTHONPATH=/tmp/rlpkgs .venv/bin/python tests/golden/make_aggregate_goldens.py

rliable (Agarwal et al. 2021) and arch are needed by this script only, never by genforge. rliable 1.2.0
passes ``random_state=None`` to arch's bootstrap constructors, a keyword arch 8 no longer accepts (it
takes it for a data argument and refuses it); the shim below drops that keyword and nothing else.
rliable draws its resample indices from numpy's global generator (``np.random.choice``), so each case
seeds it with ``np.random.seed(seed)`` right before ``get_interval_estimates``. The inputs are drawn
here from fixed seeds and stored beside the values.
"""

from __future__ import annotations

import json
from pathlib import Path

import arch.bootstrap as arch_bs
import numpy as np
import rliable
from rliable import library as rly
from rliable import metrics

HERE = Path(__file__).resolve().parent


def _drop_random_state(init):
    def patched(self, *args, random_state=None, **kwargs):
        init(self, *args, **kwargs)

    return patched


for _cls in (arch_bs.IIDBootstrap, arch_bs.IndependentSamplesBootstrap):
    _cls.__init__ = _drop_random_state(_cls.__init__)

AGGREGATES = {
    "iqm": metrics.aggregate_iqm,
    "median": metrics.aggregate_median,
    "mean": metrics.aggregate_mean,
    "optimality_gap": metrics.aggregate_optimality_gap,  # gamma = 1
}


def main() -> None:
    rng = np.random.RandomState(2026)
    inputs = {
        "five-runs-three-tasks": rng.normal(0.9, 0.3, (5, 3)),
        "ten-runs-one-task": rng.lognormal(-0.2, 0.5, (10, 1)),
        "three-runs-two-tasks": np.array([[0.91, 0.40], [0.87, 1.20], [0.95, 0.75]]),
    }
    cases = []
    for name, scores in inputs.items():
        for aggregate, func in AGGREGATES.items():
            seed = len(cases)
            np.random.seed(seed)
            point, interval = rly.get_interval_estimates({"x": scores}, func, reps=5000)
            cases.append(
                {"input": name, "aggregate": aggregate, "seed": seed, "reps": 5000,
                 "value": float(point["x"]), "ci": [float(v) for v in np.ravel(interval["x"])]}
            )  # fmt: skip
    pairs = {
        "x5-y4-three-tasks": (rng.normal(1.0, 0.3, (5, 3)), rng.normal(0.9, 0.3, (4, 3))),
        "x3-y3-one-task-ties": (np.array([[1.0], [2.0], [2.0]]), np.array([[2.0], [0.5], [3.0]])),
    }
    poi = []
    for name, (x, y) in pairs.items():
        seed = 100 + len(poi)
        np.random.seed(seed)
        point, interval = rly.get_interval_estimates(
            {"xy": (x, y)}, metrics.probability_of_improvement, reps=1000
        )
        poi.append(
            {"input": name, "seed": seed, "reps": 1000, "value": float(point["xy"]),
             "ci": [float(v) for v in np.ravel(interval["xy"])]}
        )  # fmt: skip
    record = {
        "made_by": "tests/golden/make_aggregate_goldens.py",
        "rliable": getattr(rliable, "__version__", "1.2.0"),
        "arch": __import__("arch").__version__,
        "confidence": 0.95,
        "inputs": {k: v.tolist() for k, v in inputs.items()},
        "pairs": {k: [x.tolist(), y.tolist()] for k, (x, y) in pairs.items()},
        "aggregates": cases,
        "probability_of_improvement": poi,
    }
    (HERE / "aggregate.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {HERE / 'aggregate.json'}: {len(cases)} aggregate cases, {len(poi)} improvement cases")


if __name__ == "__main__":
    main()
