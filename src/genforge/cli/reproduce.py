"""``genforge reproduce report.html [--check]``: train a comparison report's runs again and check them."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, err_console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "report",
        help="a comparison report written by genforge report compare:FILE (compare or compare sweep:NAME --top K)",
    )
    parser.add_argument("--out", help="folder for the new runs (default REPORT-reproduce/ beside it)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a side's new mean falls outside its recorded interval",
    )
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.research.reproduce import reproduce

    notes = err_console()

    def tell(entry: dict) -> None:
        if not args.json:
            notes.print(f"training {entry['side'].upper()} seed {entry['seed']}", soft_wrap=True)

    result = reproduce(args.report, args.out, on_run=tell)
    code = 1 if args.check and result.outside else 0
    if args.json:
        print_json(result.to_dict())
        return code
    out = console()
    rows = [
        [r["side"].upper(), r["seed"], r["recorded"], r["value"], "yes" if r["identical"] else "no"]
        for r in result.runs
    ]
    out.print(table(None, ["side", "seed", f"recorded {result.metric}", "now", "identical"], rows))
    for side in result.sides:
        where = "inside" if side["inside"] else "OUTSIDE"
        low, high = side["ci_t"]
        out.print(
            f"{side['side'].upper()}: mean now {side['mean']:.6g}, {where} the recorded [{low:.6g}, {high:.6g}]",
            soft_wrap=True,
        )
    recorded, now = result.recorded, result.reproduced
    if "p_a_better" not in recorded:  # a sweep-comparison report: one probability per pair of trials
        for key, value in recorded.items():
            out.print(f"{key} recorded {value:.4f}, now {now[key]:.4f}", soft_wrap=True)
    else:
        out.print(
            f"P(A better) recorded {recorded['p_a_better']:.4f}, now {now['p_a_better']:.4f}; "
            f"P(B better) recorded {recorded['p_b_better']:.4f}, now {now['p_b_better']:.4f}",
            soft_wrap=True,
        )
    out.print(
        "reproduced within the recorded intervals"
        if not result.outside
        else "outside: " + "; ".join(result.outside),
        soft_wrap=True,
    )
    return code
