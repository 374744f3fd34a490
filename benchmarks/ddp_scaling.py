"""DDP with 2 local processes against 1 process on the same global batch: throughput and time to a
validation loss, on this machine's cores.

    .venv/bin/python benchmarks/ddp_scaling.py [--family vae] [--max-steps 300] [--batch-size 128] [--seed 0] [--ray]

Both runs train the same family on digits with the same global batch, seed and step budget through the
public API (``train(..., distributed="ddp", nproc=2)`` for the second). Printed side by side: training
samples/s (the trainer's own figure, mean of the logged windows), wall time including process start-up,
the first step whose validation loss is at or below the target (the 1-process run's final validation loss
times 1.05) and the wall time to it, and ratios DDP / 1 process. On a 2-core machine two processes share
the two cores that one process already uses through intra-op threads, so a speed-up is not expected;
the figure shows the cost of the gradient all-reduce and of starting the workers.

``--ray`` adds a third run under Ray Train (``distributed="ray"``, needs ``genforge[ray]``) and a row
Ray / DDP: Ray's start-up overhead (wall time minus the trainer's own training time) and its time per step.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from genforge.pipelines.distributed import available_cores  # noqa: E402
from genforge.pipelines.training import train  # noqa: E402


def _figures(result, wall: float, target: float | None) -> dict:
    records = result.run.read_metrics()
    rates = [r["samples_per_s"] for r in records if r["split"] == "train" and "samples_per_s" in r]
    vals = [r for r in records if r["split"] == "val"]
    final_val = vals[-1]["loss"] if vals else float("nan")
    reach = next((r["step"] for r in vals if target is not None and r["loss"] <= target), None)
    reach_s = None
    if reach is not None:
        # elapsed_s of the training record at that step (both runs log at the same steps)
        reach_s = next(
            (r["elapsed_s"] for r in records if r["split"] == "train" and r["step"] >= reach), None
        )
    return {
        "samples_per_s": sum(rates) / max(len(rates), 1),
        "wall_s": wall,
        "train_s": result.elapsed_s,
        "final_val_loss": final_val,
        "step_to_target": reach,
        "s_to_target": reach_s,
        "startup_s": wall - result.elapsed_s,
        "ms_per_step": 1000 * result.elapsed_s / max(records[-1]["step"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="vae")
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray", action="store_true", help="also train under Ray Train (genforge[ray])")
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="gf-ddp-bench-")
    overrides = {"batch_size": args.batch_size, "eval_every": 50, "log_every": 25, "final_eval": False,
                 "early_stop_patience": 0}  # fmt: skip
    rows = {}
    target = None
    runs = [("1 process", {}), ("ddp x2", {"distributed": "ddp", "nproc": 2})]
    runs += [("ray x2", {"distributed": "ray", "nproc": 2})] if args.ray else []
    for name, kwargs in runs:
        started = time.perf_counter()
        result = train(args.family, "digits", out=out, seed=args.seed, max_steps=args.max_steps,
                       overrides=overrides, **kwargs)  # fmt: skip
        wall = time.perf_counter() - started
        if target is None:
            vals = [r["loss"] for r in result.run.read_metrics() if r["split"] == "val"]
            target = vals[-1] * 1.05 if vals[-1] > 0 else vals[-1] * 0.95
        rows[name] = _figures(result, wall, target)
    print(f"{args.family} on digits, global batch {args.batch_size}, {args.max_steps} steps, "
          f"{available_cores()} cores; target validation loss {target:.4g}")  # fmt: skip
    keys = list(rows["1 process"])
    print(f"{'':16}" + "".join(f"{k:>16}" for k in keys))
    for name, figures in rows.items():
        print(f"{name:16}" + "".join(f"{_fmt(figures[k]):>16}" for k in keys))
    ratio = {k: _ratio(rows["ddp x2"][k], rows["1 process"][k]) for k in keys}
    print(f"{'ddp / 1 process':16}" + "".join(f"{v:>16}" for v in ratio.values()))
    if args.ray:
        ratio = {k: _ratio(rows["ray x2"][k], rows["ddp x2"][k]) for k in keys}
        print(f"{'ray / ddp':16}" + "".join(f"{v:>16}" for v in ratio.values()))


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _ratio(a, b) -> str:
    return "-" if a is None or b in (None, 0) else f"{a / b:.2f}x"


if __name__ == "__main__":
    main()
