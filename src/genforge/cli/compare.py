"""``genforge compare A B --metric NAME``: is the set of runs A better than B (paired by seed)?"""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", help="runs A: a folder of run directories, one run, or a quoted glob")
    parser.add_argument("b", help="runs B, paired with A's runs by seed")
    parser.add_argument(
        "--metric", required=True, help="figure to compare: val_loss, train_loss, bits_per_dim, fd_digits …"
    )
    parser.add_argument(
        "--rope",
        type=float,
        default=0.0,
        help="differences within ±ROPE count as practically equal (default 0)",
    )
    parser.add_argument(
        "--direction", choices=["lower", "higher"], help="which is better (known for genforge's own figures)"
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
    parser.add_argument("--save", metavar="JSON", help="also write the comparison record to this file")
    add_seed(parser, note="bootstrap resamples")
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.io import atomic_write_json
    from genforge.core.paths import check_output_file
    from genforge.render.images import image_format
    from genforge.research.compare import compare
    from genforge.research.plot import save_posterior

    if args.plot:
        image_format(args.plot)
        check_output_file(args.plot)
    if args.save:
        check_output_file(args.save)
    result = compare(
        args.a,
        args.b,
        args.metric,
        rope=args.rope,
        direction=args.direction,
        method=args.method,
        rho=args.rho,
        confidence=args.confidence,
        seed=args.seed,
    )
    record = result.to_dict()
    if args.plot:
        record["plot"] = str(save_posterior(result.posterior, result.metric, args.plot))
    if args.save:
        record["saved"] = str(atomic_write_json(args.save, record))
    if args.json:
        print_json(record)
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
        f"P(A better) {result.p_a_better:.3f} · P(practically equal) {result.p_equivalent:.3f} · "
        f"P(B better) {result.p_b_better:.3f}   ({args.method}, ROPE ±{args.rope:g})",
        soft_wrap=True,
    )
    p_value = result.posterior.p_value
    if p_value is not None:
        out.print(f"classical paired t-test p-value {p_value:.3g}", soft_wrap=True)
    out.print(result.verdict(), soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", soft_wrap=True)
    for key in ("plot", "saved"):
        if key in record:
            out.print(f"{key}: {record[key]}", soft_wrap=True)
    return 0
