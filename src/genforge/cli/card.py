"""``genforge card RUN [--out MODEL_CARD.md]``: the run's model card (Markdown with YAML front matter + HTML)."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_runs_root, console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory, id or unique id prefix")
    parser.add_argument("--out", help="also write the card here (.md; the HTML goes beside it)")
    add_runs_root(parser)
    add_json(parser)
    parser.set_defaults(handler=run_card)


def run_card(args: argparse.Namespace) -> int:
    from genforge.pipelines.card import model_card

    result = model_card(args.run, out=args.out, runs_root=args.runs)
    if args.json:
        print_json(result)
    else:
        console().print(f"wrote {result['markdown']} and {result['html']}", soft_wrap=True)
    return 0
