"""``genforge runs list`` / ``runs show RUN`` / ``runs plot RUN [--compare RUN ...]``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_runs_root, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    lst = sub.add_parser("list", help="runs under --runs (default runs/)")
    add_runs_root(lst)
    add_json(lst)
    lst.set_defaults(handler=run_list)
    show = sub.add_parser("show", help="config, checkpoints, last metrics and evaluation of one run")
    show.add_argument("run", help="run directory or id")
    add_runs_root(show)
    add_json(show)
    show.set_defaults(handler=run_show)
    plot = sub.add_parser("plot", help="a picture of a run's training curve (train and validation)")
    plot.add_argument("run", help="run directory or id")
    plot.add_argument("--metric", default="loss", help="logged figure to draw (default loss)")
    plot.add_argument(
        "--compare", nargs="+", default=[], metavar="RUN", help="draw these runs' curves on the same axes"
    )
    plot.add_argument("--out", help="picture file: .png, .jpg or .webp (default RUN/curve-METRIC.png)")
    add_runs_root(plot)
    add_json(plot)
    plot.set_defaults(handler=run_plot)


def run_list(args: argparse.Namespace) -> int:
    from genforge.pipelines.runs import run_summaries

    rows = run_summaries(args.runs)
    if args.json:
        print_json({"runs": rows})
        return 0
    if not rows:
        console().print(f"no runs under {args.runs}/ (train one: genforge train vae --data digits)")
        return 0
    body = [
        [r["id"], "damaged", "", "", "", "(see below)"]
        if "error" in r
        else [r["id"], r["family"], r["data"], r["step"], r["parameters"], r.get("headline")]
        for r in rows
    ]
    # ids stay whole (they go into the next command); the parameter count is the first to go when narrow
    columns = ["id", "family", "data", "step", "params", "eval"]
    view = table(f"runs in {args.runs}/", columns, body, whole=(0,), optional=(4,))
    out = console()
    out.print(view)
    for r in rows:
        if "error" in r:
            out.print(f"damaged run {r['id']}: {r['error']}", soft_wrap=True)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from genforge.pipelines.runs import run_details

    details = run_details(args.run, args.runs)
    if args.json:
        print_json(details)
        return 0
    out = console()
    out.print(
        table(
            details["id"],
            ["field", "value"],
            [[k, v] for k, v in details.items() if not isinstance(v, dict | list)],
        )
    )
    for section in ("last_train", "last_val", "eval"):
        if details.get(section):
            rows = [[k, v] for k, v in details[section].items() if not isinstance(v, dict | list)]
            out.print(table(section, ["figure", "value"], rows))
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from genforge.pipelines.runs import plot_runs

    path = plot_runs([args.run, *args.compare], metric=args.metric, out=args.out, root=args.runs)
    if args.json:
        print_json({"path": str(path), "metric": args.metric, "runs": [args.run, *args.compare]})
    else:
        console().print(f"wrote {path}", soft_wrap=True)
    return 0
