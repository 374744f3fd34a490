"""``genforge eval RUN [--json] [--metrics fd,kid,is,prdc]``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id")
    parser.add_argument(
        "--split", default="test", choices=["train", "val", "test"], help="data split (default test)"
    )
    parser.add_argument(
        "--n", type=int, help="examples (and samples for --metrics; default: whole split / 2000)"
    )
    parser.add_argument("--metrics", help="sample-based metrics, comma separated: fd,kid,is,prdc,nll")
    add_seed(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.pipelines.evaluate import evaluate_run

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    result = evaluate_run(args.run, split=args.split, n=args.n, seed=args.seed, metrics=metrics)
    if args.json:
        print_json(result)
        return 0
    rows = [[k, v] for k, v in result.items() if not isinstance(v, dict | list)]
    for group in ("baseline", "metrics"):
        if isinstance(result.get(group), dict):
            rows += [[f"{group}.{k}", v] for k, v in result[group].items() if not isinstance(v, dict | list)]
    console().print(table(f"eval {result['run']}", ["figure", "value"], rows))
    return 0
