"""``genforge segment classical SCENES --method otsu|watershed [--picture P.png] [--json]``: the scikit-image
baseline scored like the scene networks."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_overrides, add_seed, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    classical = sub.add_parser(
        "classical", help="Otsu threshold (+ watershed) and an SVM per object: mIoU and mAP on the test split"
    )
    classical.add_argument("scenes", help="a scenes folder made by 'genforge data make scenes'")
    classical.add_argument(
        "--method",
        choices=["otsu", "watershed"],
        default="otsu",
        help="objects as connected components of the Otsu foreground, or split by a watershed (default otsu)",
    )
    classical.add_argument(
        "--split", default="test", choices=["train", "val", "test"], help="split scored (default test)"
    )
    classical.add_argument("--picture", help="draw the first 16 scenes with their objects to this .png")
    add_overrides(classical, "override a setting (min_area, min_distance, smoothing, crop, regularization)")
    add_seed(classical)
    add_json(classical)
    classical.set_defaults(handler=run_classical)


def run_classical(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.config import parse_overrides
    from genforge.models.classical_scenes import ClassicalConfig
    from genforge.pipelines.scenes import segment_classical

    config = ClassicalConfig.build({**parse_overrides(args.overrides), "method": args.method}, where="--set")
    with CountProgress(f"segment {args.method}", "scenes", quiet=args.json) as bar:
        result = segment_classical(
            args.scenes,
            config,
            split=args.split,
            picture=args.picture,
            progress=lambda done, total: bar.update(done, total, ""),
        )
    if args.json:
        print_json(result)
        return 0
    rows = [[k, v] for k, v in result.items() if not isinstance(v, dict | list)]
    console().print(table(f"classical {args.method} on {args.split}", ["figure", "value"], rows))
    return 0
