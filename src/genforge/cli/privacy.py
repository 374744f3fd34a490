"""``genforge privacy mia RUN``: membership inference against a trained run."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, console, print_json, table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    mia = sub.add_parser("mia", help="membership inference (loss threshold or LiRA): AUC and TPR at low FPR")
    mia.add_argument("run", help="run directory or id")
    mia.add_argument(
        "--attack",
        choices=["loss", "lira"],
        default="loss",
        help="loss (threshold on the loss) or lira (likelihood ratio against shadow models); default loss",
    )
    mia.add_argument("--shadows", type=int, default=8, help="LiRA: shadow models trained (even; default 8)")
    mia.add_argument(
        "--shadow-steps",
        type=int,
        default=None,
        help="LiRA: training steps per shadow model (default: the run's own step budget)",
    )
    mia.add_argument(
        "--max-examples", type=int, default=1000, help="members scored (and as many non-members)"
    )
    add_json(mia)
    mia.set_defaults(handler=run_mia)


def run_mia(args: argparse.Namespace) -> int:
    from genforge.privacy.mia import MIAConfig, membership_inference

    values = {"attack": args.attack, "max_examples": args.max_examples, "shadows": args.shadows}
    if args.shadow_steps is not None:
        values["shadow_steps"] = args.shadow_steps
    config = MIAConfig.build(values, where="mia")
    result = membership_inference(args.run, config=config, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    keys = ("auc", "advantage", "tpr_at_fpr_0.001", "tpr_at_fpr_0.01", "member_loss", "nonmember_loss")
    rows = [[k.replace("_", " "), result[k]] for k in keys]
    if "offline" in result:
        rows += [[f"offline {k.replace('_', ' ')}", result["offline"][k]] for k in keys[:4]]
        rows.append(["shadows x steps", f"{result['lira']['shadows']} x {result['lira']['shadow_steps']}"])
    title = f"{result['attack']} attack on {result['run']}: {result['members']} members, {result['nonmembers']} non-members"
    console().print(table(title, ["figure", "value"], rows))
    return 0
