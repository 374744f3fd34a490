"""``genforge repeat RUN --seeds N``: a run's configuration over N seeds, summarised with 95 % CIs."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, err_console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id whose configuration is repeated")
    parser.add_argument("--seeds", type=int, default=5, help="train seeds 0..N-1 (default 5; at least 2)")
    parser.add_argument(
        "--seed-list", type=int, nargs="+", metavar="SEED", help="train exactly these seeds instead"
    )
    parser.add_argument("--out", help="folder of the repeated runs (default RUNS/repeat-<run id>)")
    parser.add_argument(
        "--metric",
        help="figure to summarise (default: the run's headline figure, else val_loss); several, "
        "comma-separated, are each summarised and aggregated as tasks",
    )
    parser.add_argument(
        "--direction", help="lower or higher, for unknown figures (comma-separated: one per metric)"
    )
    parser.add_argument(
        "--normalise",
        choices=["none", "minmax"],
        default="none",
        help="several metrics: aggregate the raw figures (default; they must point the same way) or min-max "
        "per metric over the repeat's runs",
    )
    parser.add_argument(
        "--detect", type=float, metavar="DIFF", help="also say how many seeds a difference of DIFF needs"
    )
    parser.add_argument(
        "--gamma", type=float, metavar="TARGET", help="also give the optimality gap below this target score"
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="level of the intervals (default 0.95)"
    )
    parser.add_argument(
        "--runs", default="runs", metavar="DIR", help="where run ids are looked up (default runs/)"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-seed progress lines")
    add_seed(parser, note="bootstrap resamples; the runs use their own seeds")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.research.repeat import repeat

    notes = err_console()

    def on_seed(seed: int, action: str) -> None:
        if not args.quiet and not args.json:
            notes.print(f"seed {seed}: {action}", soft_wrap=True)

    try:
        result = repeat(
            resolve_run(args.run, args.runs),
            args.seed_list if args.seed_list else args.seeds,
            out=args.out,
            metric=args.metric,
            direction=args.direction,
            normalise=args.normalise,
            confidence=args.confidence,
            bootstrap_seed=args.seed,
            detect=args.detect,
            gamma=args.gamma,
            on_seed=on_seed,
        )
    except KeyboardInterrupt:
        notes.print("interrupted: run the same command again to resume where it stopped", soft_wrap=True)
        return 130
    if args.json:
        print_json(result.to_dict())
        return 0
    s = result.summary
    out = console()
    rows = [[r["seed"], r["value"], r["action"], r["run"]] for r in result.runs]
    out.print(
        table(
            f"{result.metric} over {s['n']} seeds ({result.direction} is better)",
            ["seed", result.metric, "", "run"],
            rows,
            whole=(0, 3),
            optional=(2,),
        )
    )
    level = f"{s['confidence']:.0%}"
    out.print(f"mean {s['mean']:.4g} ± {s['std']:.3g} (std), IQM {s['iqm']:.4g}", soft_wrap=True)
    for key, name in (
        ("ci_t", "Student-t"),
        ("ci_percentile", "bootstrap percentile"),
        ("ci_bca", "bootstrap BCa"),
    ):
        lo, hi = s[key]
        out.print(f"{level} {name} interval of the mean: [{lo:.4g}, {hi:.4g}]", soft_wrap=True)
    strat = s["stratified"]
    gap = f"optimality gap to {args.gamma:g}" if args.gamma is not None else ""
    for key, name in (("iqm", "IQM"), ("optimality_gap", gap)):
        if key in strat:
            lo, hi = strat[key]["ci"]
            out.print(
                f"{name} {strat[key]['value']:.4g}, {level} stratified bootstrap interval [{lo:.4g}, {hi:.4g}] "
                f"({strat['reps']} resamples, rliable's definition)",
                soft_wrap=True,
            )
    if result.tasks is not None:
        _print_tasks(out, result.tasks, level)
    if "detect" in s:
        need = s["detect"]["seeds_per_side"]
        out.print(
            f"a difference of {args.detect:g} needs {need if need else 'an unknown number of'} seeds a side "
            "(80 % power)",
            soft_wrap=True,
        )
    for note in result.notes:
        out.print(f"note: {note}", soft_wrap=True)
    out.print(
        f"runs: {result.folder} (compare with: genforge compare {result.folder} OTHER --metric {result.metric})",
        soft_wrap=True,
    )
    return 0


def _print_tasks(out, tasks: dict, level: str) -> None:
    rows = []
    for metric, direction in zip(tasks["metrics"], tasks["directions"], strict=True):
        s = tasks["summaries"][metric]
        lo, hi = s["ci_t"]
        rows.append([metric, direction, f"{s['mean']:.4g} ± {s['std']:.3g}", f"[{lo:.4g}, {hi:.4g}]"])
    out.print(table(None, ["metric", "better", "mean ± std", f"{level} t-interval"], rows))
    agg = tasks["aggregate"]
    lo, hi = agg["iqm"]["ci"]
    out.print(
        f"IQM over seeds x metrics {agg['iqm']['value']:.4g}, {level} stratified bootstrap interval "
        f"[{lo:.4g}, {hi:.4g}] (normalisation: {tasks['normalisation']})",
        soft_wrap=True,
    )
