"""Produce tests/golden/profiles.json: rliable's performance profiles (score distributions and
average-score distributions with their stratified bootstrap bands) and its task bootstrap intervals,
the reference for genforge.research.profiles and the ``task_bootstrap`` of genforge.research.aggregate.

    pip install --no-deps --target /tmp/rlpkgs rliable==1.2.0 arch==8.0.0 statsmodels patsy
    PYTHONPATH=/tmp/rlpkgs .venv/bin/python tests/golden/make_profile_goldens.py

rliable and arch are needed by this script only. As in make_aggregate_goldens.py, rliable 1.2.0 passes
``random_state=None`` to arch 8, which no longer takes it: the shim drops that keyword and nothing else;
rliable draws from numpy's global generator, seeded right before each call. Inputs are drawn here from
fixed seeds and stored beside the values.
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


def main() -> None:
    rng = np.random.RandomState(2027)
    inputs = {
        "six-runs-four-tasks": rng.normal(1.0, 0.4, (6, 4)),
        "five-runs-one-task": rng.lognormal(0.0, 0.5, (5, 1)),
    }
    profiles, task_cases = [], []
    for name, scores in inputs.items():
        taus = np.linspace(scores.min() - 0.1, scores.max() + 0.1, 9)
        for average in (False, True):
            for task_bootstrap in (False, True):
                seed = 10 + len(profiles)
                np.random.seed(seed)
                point, band = rly.create_performance_profile(
                    {"x": scores}, taus, use_score_distribution=not average,
                    task_bootstrap=task_bootstrap, reps=1000,
                )  # fmt: skip
                profiles.append(
                    {"input": name, "average": average, "task_bootstrap": task_bootstrap, "seed": seed,
                     "reps": 1000, "taus": taus.tolist(), "profile": np.asarray(point["x"]).tolist(),
                     "low": np.asarray(band["x"])[0].tolist(), "high": np.asarray(band["x"])[1].tolist()}
                )  # fmt: skip
        for aggregate, func in (("iqm", metrics.aggregate_iqm), ("mean", metrics.aggregate_mean)):
            seed = 50 + len(task_cases)
            np.random.seed(seed)
            point, interval = rly.get_interval_estimates({"x": scores}, func, reps=2000, task_bootstrap=True)
            task_cases.append(
                {"input": name, "aggregate": aggregate, "seed": seed, "reps": 2000,
                 "value": float(point["x"]), "ci": [float(v) for v in np.ravel(interval["x"])]}
            )  # fmt: skip
    record = {
        "made_by": "tests/golden/make_profile_goldens.py",
        "rliable": getattr(rliable, "__version__", "1.2.0"),
        "arch": __import__("arch").__version__,
        "inputs": {k: v.tolist() for k, v in inputs.items()},
        "profiles": profiles,
        "task_bootstrap": task_cases,
    }
    (HERE / "profiles.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {HERE / 'profiles.json'}: {len(profiles)} profiles, {len(task_cases)} task-bootstrap cases")


if __name__ == "__main__":
    main()
