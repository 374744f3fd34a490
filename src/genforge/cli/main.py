"""``genforge`` entry point: a thin argparse shell over the Python API.

Commands are listed in :data:`COMMANDS` as ``name -> (module, help)``; a command's module is imported
only when that command runs, so ``genforge --help`` starts without importing torch (argparse rather than
typer for the same reason: typer alone costs about 100 ms to import, six times a bare interpreter).
Each command module defines ``configure(parser)``, which adds its arguments and sets ``handler``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# OpenMP threads that spin while waiting make small models ~10x slower on a busy 2-core machine;
# set before anything imports torch (a user's own setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("genforge.cli.data", "list and inspect datasets"),
    "train": ("genforge.cli.train", "train a model family on a dataset (or --resume a run)"),
    "sample": ("genforge.cli.sample", "draw samples or latent interpolations from a trained run"),
    "eval": ("genforge.cli.evaluate", "evaluate a run on its test split (bits/dim, reconstruction, metrics)"),
    "runs": ("genforge.cli.runs", "list and show training runs"),
    "generate": (
        "genforge.cli.generate",
        "continue a prompt with a trained language model (top-p, beam, stream)",
    ),
    "translate": (
        "genforge.cli.translate",
        "translate text with a trained seq2seq run, with an attention map",
    ),
    "metrics": ("genforge.cli.metrics", "FD/KID/IS/PRDC, image, classification, text metrics"),
    "report": ("genforge.cli.report", "self-contained HTML report of a run: samples, curves, metrics"),
    "embed": ("genforge.cli.embed", "word/text embeddings: train, neighbors, analogy, eval, bench, plot"),
    "rag": ("genforge.cli.rag", "retrieval-augmented answers with citations: index, search, ask, eval"),
    "guard": (
        "genforge.cli.guard",
        "guardrails: check text (injection, jailbreak, PII, secrets, topics), eval",
    ),
    "demo": ("genforge.cli.demo", "the main job: train, evaluate and sample every family on digits"),
}


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized with ``os.get_terminal_size``: the stock one imports ``shutil`` for
    that, which pulls in bz2 and lzma and costs about a sixth of ``genforge --help``."""

    def __init__(self, prog: str, **kwargs) -> None:
        if kwargs.get("width") is None:
            try:
                columns = (
                    int(os.environ.get("COLUMNS", ""))
                    or os.get_terminal_size(sys.__stdout__.fileno()).columns
                )
            except (ValueError, OSError, AttributeError):
                columns = 80
            kwargs["width"] = max(columns - 2, 40)
        super().__init__(prog, **kwargs)


EPILOG = "Run 'genforge COMMAND --help' for a command's options. Docs: docs/ in the repository."


def _parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genforge",
        description="Train, sample, evaluate, guard and ship generative AI, offline on a CPU.",
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)
        if name == command:
            importlib.import_module(module).configure(cmd)
    return parser


def _version() -> str:
    from genforge import __version__

    return f"genforge {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = _parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if not argv or command is None else 2
    from genforge.core.errors import GenforgeError

    try:
        return int(handler(args) or 0)
    except GenforgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
