"""``genforge privacy mia RUN``: membership inference against a trained run."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    mia = sub.add_parser("mia", help="loss-threshold membership inference: AUC and TPR at low FPR")
    mia.add_argument("run", help="run directory or id")
    mia.add_argument("--attack", choices=["loss"], default="loss", help="attack (default loss)")
    mia.add_argument(
        "--max-examples", type=int, default=1000, help="members scored (and as many non-members)"
    )
    add_json(mia)
    mia.set_defaults(handler=run_mia)


def run_mia(args: argparse.Namespace) -> int:
    from genforge.privacy.mia import MIAConfig, membership_inference

    config = MIAConfig.build({"attack": args.attack, "max_examples": args.max_examples}, where="mia")
    result = membership_inference(args.run, config=config, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    keys = ("auc", "advantage", "tpr_at_fpr_0.001", "tpr_at_fpr_0.01", "member_loss", "nonmember_loss")
    rows = [[k.replace("_", " "), result[k]] for k in keys]
    title = f"{result['attack']} attack on {result['run']}: {result['members']} members, {result['nonmembers']} non-members"
    console().print(table(title, ["figure", "value"], rows))
    return 0
