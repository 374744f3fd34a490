"""``genforge demo``: the main job (what ``make demo`` runs)."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_seed, console, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out", help="output directory (default demo-out/)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps per family (default: a fixed budget per family, "
                        "about four minutes in all on 2 cores; the same seed gives the same table)")
    budget.add_argument("--minutes", type=float, help="wall-clock minutes per family instead of steps "
                        "(results then depend on the CPU's speed)")
    add_seed(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.cli.train import ProgressView
    from genforge.pipelines.demo import run_demo

    out = console()
    with ProgressView() as view:
        summary = run_demo(args.out, seed=args.seed, steps_per_family=args.steps, minutes_per_family=args.minutes,
                           on_family=lambda f, budget: out.print(f"training [bold]{f}[/] on digits for {budget}"),
                           progress=view.update)
    rows = [[r["family"], r["parameters"], r["steps"], r["metric"], r["value"], r["baseline_bits_per_dim"],
             r["wall_time_s"]] for r in summary["families"]]
    out.print(table("digits test split", ["family", "params", "steps", "test figure", "value",
                                          "per-pixel baseline bits/dim", "wall s"], rows))
    for r in summary["families"]:
        out.print(f"{r['family']}: samples {r['samples']}  run {r['run']}")
    out.print(f"summary: {args.out}/summary.md and {args.out}/summary.json")
    return 0
