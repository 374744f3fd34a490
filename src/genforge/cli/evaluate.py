"""``genforge eval RUN [--n SAMPLES] [--examples N] [--metrics fd,kid,is,prdc,mmd,nll] [--json]``."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id")
    parser.add_argument(
        "--split", default="test", choices=["train", "val", "test"], help="data split (default test)"
    )
    parser.add_argument(
        "--n",
        type=int,
        default=None,
        dest="num_samples",
        metavar="SAMPLES",
        help="samples drawn for sample-based metrics (default 2000)",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=None,
        dest="num_examples",
        metavar="N",
        help="examples of the split the likelihood terms average over (default: the whole split)",
    )
    parser.add_argument(
        "--metrics",
        help="sample-based metrics, comma separated: fd,kid,is,prdc,mmd (nll: the likelihood terms, always "
        "computed; none: no sample metrics). Default: none, except fd for families without a likelihood (GAN)",
    )
    add_seed(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.pipelines.evaluate import DEFAULT_NUM_SAMPLES, evaluate_run

    metrics = None
    if args.metrics is not None:
        names = [m.strip() for m in args.metrics.split(",") if m.strip()]
        metrics = [] if names == ["none"] else names
    result = evaluate_run(
        args.run,
        split=args.split,
        num_examples=args.num_examples,
        num_samples=DEFAULT_NUM_SAMPLES if args.num_samples is None else args.num_samples,
        seed=args.seed,
        metrics=metrics,
    )
    if args.json:
        print_json(result)
        return 0
    head = result["headline"]
    rows = []
    if head["value"] is not None:
        against = "" if head["reference"] is None else f" ({head['reference_name']}: {head['reference']:.4g})"
        rows.append(["headline", f"{head['metric']} {head['value']:.4g}{against}"])
    rows += [[k, v] for k, v in result.items() if not isinstance(v, dict | list)]
    for group in ("baseline", "metrics"):
        if isinstance(result.get(group), dict):
            rows += [[f"{group}.{k}", v] for k, v in result[group].items() if not isinstance(v, dict | list)]
    console().print(table(f"eval {result['run']}", ["figure", "value"], rows))
    return 0
