"""``genforge compare A B --metric NAME``: is the set of runs A better than B (paired by seed)?
``genforge compare sweep:NAME --top K``: are a study's K best trials really different (each over seeds)?"""

from __future__ import annotations

import argparse
from pathlib import Path

from genforge.cli.common import add_json, add_seed, console, err_console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a", help="runs A: a folder of run directories, one run, or a quoted glob; or sweep:NAME (a study)"
    )
    parser.add_argument("b", nargs="?", help="runs B, paired with A's runs by seed (not with sweep:NAME)")
    parser.add_argument(
        "--metric",
        help="figure to compare: val_loss, train_loss, bits_per_dim, fd_digits … (sweep: the study's); "
        "several, comma-separated (val_loss,val_recon), compare over all of them as tasks",
    )
    parser.add_argument(
        "--normalise",
        choices=["minmax", "none"],
        default="minmax",
        help="several metrics/datasets: min-max per task over both sides' runs (default) or raw figures",
    )
    parser.add_argument(
        "--top", type=int, default=3, help="sweep:NAME: how many of the best trials to compare (default 3)"
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="sweep:NAME: seeds each best trial is repeated over (default 3)"
    )
    parser.add_argument(
        "--studies", default="studies", metavar="DIR", help="sweep:NAME: folder of studies (default studies/)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="sweep:NAME: where the repeats go (default STUDY/top/TRIAL)"
    )
    parser.add_argument(
        "--rope",
        type=float,
        default=0.0,
        help="differences within ±ROPE count as practically equal (default 0)",
    )
    parser.add_argument(
        "--direction",
        help="lower or higher: which is better (known for genforge's own figures); one each, comma-separated, "
        "for several metrics",
    )
    parser.add_argument(
        "--method",
        choices=["correlated-t", "bayesian-bootstrap", "signed-rank"],
        default="correlated-t",
        help="posterior of the mean difference (default correlated-t)",
    )
    parser.add_argument(
        "--rho",
        type=float,
        default=0.0,
        help="correlation between pairs (Nadeau-Bengio): 0 for seeds, test/total for CV folds (default 0)",
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="level of the intervals (default 0.95)"
    )
    parser.add_argument("--plot", metavar="PNG", help="also draw the posterior to this picture")
    parser.add_argument(
        "--profile",
        metavar="PNG",
        help="also draw both sides' performance profiles (fraction of runs better than each threshold, "
        "with bootstrap bands)",
    )
    parser.add_argument("--save", metavar="JSON", help="also write the comparison record to this file")
    add_seed(parser, note="bootstrap resamples")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.errors import ConfigError
    from genforge.research.compare import compare
    from genforge.research.plot import save_posterior
    from genforge.research.topk import study_name

    name = study_name(args.a)
    if name is not None:
        return run_top(args, name)
    if args.b is None:
        raise ConfigError(
            "compare needs two sets of runs (compare A B --metric M) or one study (compare sweep:NAME)"
        )
    if args.out is not None:
        raise ConfigError("--out names where compare sweep:NAME puts its repeats: it is not used with A B")
    if args.metric is None:
        raise ConfigError("compare A B needs --metric (val_loss, train_loss, bits_per_dim, fd_digits …)")
    from genforge.research.multitask import datasets_of, parse_metrics

    if len(parse_metrics(args.metric)) > 1 or len(datasets_of(args.a)) > 1:
        from genforge.cli.compare_tasks import run_tasks

        return run_tasks(args)
    check_outputs(args)
    result = compare(args.a, args.b, args.metric, **posterior_options(args))
    record = result.to_dict()
    if args.plot:
        record["plot"] = str(save_posterior(result.posterior, result.metric, args.plot))
    if args.profile:
        from genforge.research.profiles import save_comparison_profiles

        profiles = save_comparison_profiles(result, args.profile, confidence=args.confidence, seed=args.seed)
        record["profile"], record["profiles"] = profiles.pop("picture"), profiles
    if save_or_print(args, record):
        return 0
    out = console()
    rows = [[p["seed"], p["a"], p["b"], p["a_improvement"]] for p in result.pairs]
    out.print(f"{result.metric} ({result.direction} is better), paired by seed", soft_wrap=True)
    out.print(table(None, ["seed", "A", "B", "A gain"], rows))
    for side, summary in (("A", result.summary_a), ("B", result.summary_b)):
        lo, hi = summary["ci_t"]
        out.print(
            f"{side}: mean {summary['mean']:.4g} ± {summary['std']:.3g} (n={summary['n']}), "
            f"{summary['confidence']:.0%} t-interval [{lo:.4g}, {hi:.4g}]",
            soft_wrap=True,
        )
    out.print(
        f"P(A better) {result.p_a_better:.3f} · P(practically equal) {max(result.p_equivalent, 0.0):.3f} · "
        f"P(B better) {result.p_b_better:.3f}   ({args.method}, ROPE ±{args.rope:g})",
        soft_wrap=True,
    )
    if result.improvement is not None:
        lo, hi = result.improvement["ci"]
        out.print(
            f"probability of improvement (a run of A beats a run of B, rliable) {result.improvement['value']:.3f}, "
            f"{args.confidence:.0%} stratified bootstrap interval [{lo:.3f}, {hi:.3f}]",
            soft_wrap=True,
        )
    p_value = result.posterior.p_value
    if p_value is not None:
        out.print(f"classical paired t-test p-value {p_value:.3g}", soft_wrap=True)
    out.print(result.verdict(), soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", soft_wrap=True)
    for key in ("plot", "profile", "saved"):
        if key in record:
            out.print(f"{key}: {record[key]}", soft_wrap=True)
    return 0


def posterior_options(args: argparse.Namespace) -> dict:
    """The options of the Bayesian comparison, the same for one task and for many."""
    return {"rope": args.rope, "direction": args.direction, "method": args.method, "rho": args.rho,
            "confidence": args.confidence, "seed": args.seed}  # fmt: skip


def save_or_print(args: argparse.Namespace, record: dict) -> bool:
    """Write the record to --save if asked; print it as JSON and say so (True) under --json."""
    if args.save:
        from genforge.core.io import atomic_write_json

        record["saved"] = str(atomic_write_json(args.save, record))
    if args.json:
        print_json(record)
    return bool(args.json)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse a bad --plot/--profile picture or --save path before anything is computed."""
    from genforge.core.paths import check_output_file
    from genforge.render.images import image_format

    for picture in (args.plot, args.profile):
        if picture:
            image_format(picture)
            check_output_file(picture)
    if args.save:
        check_output_file(args.save)


def run_top(args: argparse.Namespace, name: str) -> int:
    from genforge.core.errors import ConfigError
    from genforge.core.paths import check_output_dir, check_output_file
    from genforge.research.topk import compare_top

    if args.b is not None:
        raise ConfigError(
            f"compare sweep:{name} compares the study's own best trials: give no second set of runs"
        )
    if args.plot or args.profile:
        raise ConfigError(
            "--plot and --profile draw one comparison: they are not available with sweep:NAME (use --save and "
            "genforge report compare:FILE)"
        )
    if args.out:
        check_output_dir(args.out)
    if args.save:
        check_output_file(args.save)
    notes = err_console() if not args.json else None

    def tell(trial: int, seed: int, action: str) -> None:
        if notes is not None:
            notes.print(f"trial {trial}, seed {seed}: {action}", soft_wrap=True)

    result = compare_top(
        name,
        args.top,
        root=args.studies,
        metric=args.metric,
        direction=args.direction,
        seeds=args.seeds,
        out=args.out,
        rope=args.rope,
        method=args.method,
        rho=args.rho,
        confidence=args.confidence,
        seed=args.seed,
        on_seed=tell,
    )
    record = result.to_dict()
    if save_or_print(args, record):
        return 0
    out = console()
    out.print(
        f"study {name}: the {len(result.trials)} best trials over {args.seeds} seeds, "
        f"{result.metric} ({result.direction} is better)",
        soft_wrap=True,
    )
    rows = []
    for trial in result.trials:
        s = trial["summary"]
        lo, hi = s["ci_t"]
        params = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial["params"].items()
        )
        rows.append(
            [
                trial["number"],
                trial["sweep_value"],
                f"{s['mean']:.4g} ± {s['std']:.3g}",
                f"[{lo:.4g}, {hi:.4g}]",
                params,
            ]
        )
    out.print(
        table(None, ["trial", "sweep", "mean ± std", f"{args.confidence:.0%} t-interval", "parameters"], rows)
    )
    rows = [
        [
            f"{a} vs {b}",
            *(f"{max(p, 0.0):.3f}" for p in (c.p_a_better, c.p_equivalent, c.p_b_better)),
            _named(c.verdict(), a, b),
        ]
        for (a, b), c in zip(result.pairs(), result.comparisons, strict=True)
    ]
    out.print(table(None, ["trials A vs B", "P(A better)", "P(equal)", "P(B better)", "verdict"], rows))
    out.print(
        f"({args.method}, ROPE ±{args.rope:g}; repeats in {Path(result.trials[0]['repeats']).parent})",
        soft_wrap=True,
    )
    if "saved" in record:
        out.print(f"saved: {record['saved']}", soft_wrap=True)
    return 0


def _named(verdict: str, a: int, b: int) -> str:
    """A comparison's verdict with its sides named by trial number."""
    words = [f"trial {a}" if w == "A" else f"trial {b}" if w == "B" else w for w in verdict.split(" ")]
    return " ".join(words)
