"""``genforge generate RUN --prompt TEXT``: continue a prompt with a trained language model."""

from __future__ import annotations

import argparse
import sys

from genforge.cli.common import add_json, add_runs_root, add_seed, err_console, print_json


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="run directory or id of a gpt / lstm-lm / gru-lm run")
    parser.add_argument("--prompt", default="", help="text to continue (default: start a new document)")
    parser.add_argument(
        "--max-tokens", type=int, default=200, help="tokens to generate at most (default 200)"
    )
    parser.add_argument(
        "--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy (default 1.0)"
    )
    parser.add_argument("--top-k", type=int, help="sample among the k most likely tokens only")
    parser.add_argument(
        "--top-p", type=float, help="nucleus sampling: smallest token set with this probability"
    )
    parser.add_argument("--beam", type=int, default=1, help="beam search with this many beams (not streamed)")
    parser.add_argument(
        "--repetition-penalty",
        type=float,
        default=1.0,
        help="> 1 makes tokens already in the text less likely (default 1.0 = off)",
    )
    parser.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="TEXT",
        help="stop when this text appears (repeatable); it is not printed",
    )
    parser.add_argument("--stream", action="store_true", help="print the text as it is generated")
    parser.add_argument(
        "--truncate-prompt",
        action="store_true",
        help="keep only the end of a prompt longer than the context window (default: error)",
    )
    add_seed(parser)
    add_runs_root(parser)
    add_json(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.pipelines.generation import generate

    stream = args.stream and not args.json
    if stream:
        sys.stdout.write(args.prompt)
        sys.stdout.flush()

    def show(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    result = generate(
        resolve_run(args.run, args.runs),
        args.prompt,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        beam=args.beam,
        repetition_penalty=args.repetition_penalty,
        stop=args.stop,
        seed=args.seed,
        truncate_prompt=args.truncate_prompt,
        on_text=show if stream else None,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    if stream:
        sys.stdout.write("\n")
    else:
        sys.stdout.write(result.text + "\n")
    err_console().print(
        f"{result.generated_tokens} tokens in {result.seconds:.2f} s ({result.tokens_per_second:.0f} tokens/s), "
        f"stopped by {result.stopped_by.replace('_', ' ')}",
        style="dim",
    )
    return 0
