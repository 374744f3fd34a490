"""``genforge translate RUN TEXT``: run a trained seq2seq model, optionally drawing its attention."""

from __future__ import annotations

import argparse

from genforge.cli.common import add_json, add_runs_root, console, err_console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id of a seq2seq run")
    parser.add_argument("text", help='source text, e.g. "the 3rd of March 2021"')
    parser.add_argument(
        "--beam", type=int, default=1, help="beam search with this many beams (default 1 = greedy)"
    )
    parser.add_argument(
        "--max-tokens", type=int, help="output tokens at most (default: twice the longest training target)"
    )
    parser.add_argument(
        "--attention-map", metavar="PNG", help="write the attention heat map (output x source) here"
    )
    add_runs_root(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.pipelines.generation import translate

    result = translate(
        resolve_run(args.run, args.runs),
        args.text,
        beam=args.beam,
        max_tokens=args.max_tokens,
        attention_map=args.attention_map,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    console().print(result.translation)
    notes = err_console()
    if result.unknown_characters:
        notes.print(
            f"note: characters never seen in training: {' '.join(result.unknown_characters)}", style="yellow"
        )
    if result.attention_map:
        notes.print(f"attention map: {result.attention_map}", style="dim")
    return 0
