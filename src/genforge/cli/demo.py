"""``genforge demo``: the main job (what ``make demo`` runs)."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out", help="output directory (default demo-out/)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        "--steps",
        type=int,
        help="training steps per family (default: a fixed budget per family, "
        "about four minutes in all on 2 cores; the same seed gives the same table)",
    )
    budget.add_argument(
        "--minutes",
        type=float,
        help="wall-clock minutes per family instead of steps (results then depend on the CPU's speed)",
    )
    add_seed(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.cli.progress import TrainingProgress
    from genforge.pipelines.demo import run_demo

    out = console()
    with TrainingProgress(quiet=args.quiet or args.json) as view:
        summary = run_demo(
            args.out,
            seed=args.seed,
            steps_per_family=args.steps,
            minutes_per_family=args.minutes,
            on_family=None
            if args.json
            else lambda f, budget: out.print(f"training {f} on digits for {budget}"),
            progress=view.update,
        )
    if args.json:
        print_json(summary)
        return 0
    rows = [
        [r["family"], r["steps"], r["metric"], r["value"], r["reference"], r["wall_time_s"]]
        for r in summary["families"]
    ]
    out.print(
        table("digits test split", ["family", "steps", "test figure", "value", "reference", "train s"], rows)
    )
    out.print(
        "reference: the per-pixel categorical baseline's bits/dim for the likelihood families; for the GAN, "
        "the Fréchet distance of the training split to the test split (the floor a model could reach)",
        soft_wrap=True,
    )
    for r in summary["families"]:
        out.print(f"{r['family']}: samples {r['samples']}  run {r['run']}", soft_wrap=True)
    out.print(f"summary: {args.out}/summary.md and {args.out}/summary.json", soft_wrap=True)
    return 0
