"""Test bits/dim on digits for every likelihood family against the independent per-pixel baseline.

    .venv/bin/python benchmarks/digits_quality.py [--minutes 4 | --max-steps 2000] [--seed 0] [--out bench-runs]

Trains VAE (IWAE bound, k from its config), PixelCNN and RealNVP for the same budget through the public
API, evaluates each on the fixed test split and prints one table with the ratio to the baseline. The
baseline is exact: independent categorical distributions per pixel fitted on the training split.
``--minutes`` is a wall-clock budget (what the acceptance check uses; its result depends on how busy
the CPU is); ``--max-steps`` is a step budget (families with early stopping may stop sooner), which
gives the same table for the same seed on any machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the CLI does: spinning OpenMP threads stall on a busy CPU

from genforge.pipelines.evaluate import evaluate_run
from genforge.pipelines.training import train

FAMILIES = {"pixelcnn": "bits_per_dim", "realnvp": "bits_per_dim", "vae": "bits_per_dim_iwae"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes", type=float, default=None, help="wall-clock minutes per family (default 4)"
    )
    parser.add_argument(
        "--max-steps", type=int, default=None, help="step budget per family instead of minutes"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.minutes is None and args.max_steps is None:
        args.minutes = 4.0
    out = args.out or tempfile.mkdtemp(prefix="gf-bench-")
    rows = []
    for family, key in FAMILIES.items():
        started = time.perf_counter()
        result = train(
            family, "digits", out=out, seed=args.seed, max_minutes=args.minutes, max_steps=args.max_steps
        )
        wall = time.perf_counter() - started
        evaluation = evaluate_run(result.run, seed=args.seed)
        baseline = evaluation["baseline"]["bits_per_dim"]
        rows.append(
            (
                family,
                result.run.read_config()["parameters"],
                result.step,
                result.status,
                wall,
                key,
                evaluation[key],
                baseline,
            )
        )
    budget = f"{args.minutes} minutes" if args.minutes is not None else f"{args.max_steps} steps"
    print(
        f"digits test split (270 images), budget {budget} per family, seed {args.seed}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'family':10} {'params':>9} {'steps':>6} {'stopped by':14} {'wall s':>7} {'figure':18} "
        f"{'bits/dim':>8} {'baseline':>8} {'ratio':>6}"
    )
    for family, params, steps, status, wall, key, value, baseline in rows:
        print(
            f"{family:10} {params:9,d} {steps:6d} {status:14} {wall:7.0f} {key:18} {value:8.3f} {baseline:8.3f} "
            f"{value / baseline:6.3f}"
        )


if __name__ == "__main__":
    main()
