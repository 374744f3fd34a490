"""FD-digits of one trained diffusion run under each sampler and step count (the step-spacing rule fixed).

    .venv/bin/python benchmarks/diffusion_samplers.py RUN [--n 1000] [--spacing trailing] [--samplers ddim:10,ddpm:1000]

Draws ``--n`` samples (seed 0) from RUN's EMA weights with each ``sampler:steps`` and prints FD-digits
against the test split (the same computation as ``genforge eval RUN --metrics fd``) and the sampling
time, one row each. Train a run first, e.g. ``genforge train diffusion --data digits --max-minutes 5``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from genforge.metrics.run_metrics import evaluate_samples  # noqa: E402
from genforge.pipelines.loading import load_run  # noqa: E402

DEFAULT = "ddim:10,ddim:25,ddim:50,ddim:100,ddpm:50,ddpm:250"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--spacing", choices=["trailing", "leading"], default="trailing")
    parser.add_argument("--samplers", default=DEFAULT, help="comma-separated sampler:steps")
    args = parser.parse_args()
    loaded = load_run(args.run)
    base = loaded.model.config
    print(f"run {args.run}: {base.schedule} schedule, predict {base.predict}, spacing {args.spacing}")
    print(f"{'sampler':<8} {'steps':>5} {'FD-digits':>10} {'seconds':>8}")
    for item in args.samplers.split(","):
        sampler, steps = item.split(":")
        loaded.model.config = base.model_copy(
            update={"sampler": sampler, "sample_steps": int(steps), "spacing": args.spacing}
        )
        started = time.perf_counter()
        result = evaluate_samples(loaded, ["fd"], args.n, seed=0)
        print(
            f"{sampler:<8} {int(steps):>5} {result['fd_digits']:>10.3f} {time.perf_counter() - started:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
