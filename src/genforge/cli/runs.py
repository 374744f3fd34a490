"""``genforge runs list`` / ``genforge runs show RUN``."""

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


def run_list(args: argparse.Namespace) -> int:
    from genforge.pipelines.runs import run_summaries

    rows = run_summaries(args.runs)
    if args.json:
        print_json({"runs": rows})
        return 0
    if not rows:
        console().print(f"no runs under {args.runs}/ (train one: genforge train vae --data digits)")
        return 0
    body = [[r["id"], r["family"], r["data"], r["step"], r["parameters"], r.get("headline")] for r in rows]
    console().print(table(f"runs in {args.runs}/", ["id", "family", "data", "step", "params", "eval"], body))
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
