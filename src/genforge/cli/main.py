"""``genforge`` entry point: a thin argparse shell over the Python API.

Commands are listed in :data:`COMMANDS` as ``name -> (module, help)``; a command's module is imported
only when that command runs, so ``genforge --help`` starts without importing torch (argparse rather than
typer for the same reason: typer alone costs about 100 ms to import, six times a bare interpreter).
Each command module defines ``configure(parser)``, which adds its arguments and sets ``handler``.

Every leaf command accepts ``--seed`` (added here where a command's own ``configure`` did not) and
``--json``. Errors are one line: ``error: ...`` on stderr and exit 2, or with ``--json`` the object
``{"error": {"type": ..., "message": ...}}`` on stdout and the same exit code; a mistyped command or
choice gets a "did you mean" suggestion.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from typing import NoReturn

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
    "fairness": ("genforge.cli.fairness", "fairness audits and mitigation of classifiers on tabular data"),
    "privacy": ("genforge.cli.privacy", "privacy audits of runs: membership inference"),
    "pii": ("genforge.cli.pii", "personal data in tables: scan columns, write a redacted copy"),
    "card": (
        "genforge.cli.card",
        "a run's model card: data, use, metrics, DP guarantee, MIA (Markdown + HTML)",
    ),
    "rl": (
        "genforge.cli.rl",
        "reinforcement learning on gymnasium environments: train (ppo, a2c, reinforce), eval",
    ),
    "meta": ("genforge.cli.meta", "meta-learning with torch.func: train (maml, reptile), eval"),
    "compare": ("genforge.cli.compare", "is set of runs A better than B? P(better) by a Bayesian test"),
    "repeat": (
        "genforge.cli.repeat",
        "train a run's config over several seeds; mean, std and confidence intervals",
    ),
    "sweep": ("genforge.cli.sweep", "hyperparameter sweeps over Optuna: run, resume, show"),
    "track": ("genforge.cli.track", "experiment tracking in MLflow: export runs, import an experiment"),
    "reproduce": (
        "genforge.cli.reproduce",
        "train a comparison report's runs again; --check: are the results inside its intervals?",
    ),
    "papers": (
        "genforge.cli.papers",
        "your PDF papers over the RAG stack: index, list, ask (page citations)",
    ),
    "serve": ("genforge.cli.serve", "serve runs, embeddings and RAG over OpenAI-compatible and OIP v2 HTTP"),
    "keys": ("genforge.cli.keys", "API keys for genforge serve: add (printed once, stored hashed)"),
    "studio": ("genforge.cli.studio", "web studio: watch runs train, compare, sample, chat (127.0.0.1)"),
    "deploy": (
        "genforge.cli.deploy",
        "Dockerfile and Kubernetes manifests for 'serve', and their offline check",
    ),
    "db": ("genforge.cli.db", "a local PostgreSQL + pgvector for the postgresql:// RAG store: start, stop"),
    "tabular": (
        "genforge.cli.tabular",
        "synthetic tables (tvae, ctgan, copula): train, sample, impute, report",
    ),
    "clip": ("genforge.cli.clip", "CLIP-style image/text model: train, zeroshot (accuracy, recall), score"),
    "finetune": ("genforge.cli.finetune", "transfer learning: MiniLM on pairs, or a run on new data"),
    "segment": ("genforge.cli.segment", "the classical scikit-image baseline on scenes: mIoU and mAP"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with genforge's error contract: one line (or a JSON error object), exit 2, and a
    suggestion when an invalid choice is close to a valid one."""

    json_errors = False

    def error(self, message: str):
        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            choices = re.findall(r"'([^']*)'", match.group(2)) or match.group(2).split(", ")
            from genforge.core.suggest import did_you_mean

            hint = did_you_mean(match.group(1), choices) or f" (choose from {', '.join(choices)})"
            message = f"{self.prog}: unknown choice '{match.group(1)}'{hint}"
        else:
            message = f"{self.prog}: {message}"
        _fail("UsageError", message, json_errors=self.json_errors)


def _fail(kind: str, message: str, *, json_errors: bool, code: int = 2) -> NoReturn:
    """Report an error the genforge way and exit with ``code``."""
    if json_errors:
        sys.stdout.write(json.dumps({"error": {"type": kind, "message": message}}) + "\n")
    else:
        print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


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
    parser = _Parser(
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
            for leaf in leaf_parsers(cmd):
                _add_common_flags(leaf)
    return parser


def leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that run a handler: ``parser`` itself or, through its sub-commands, their leaves."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for a in subs for p in a.choices.values() for leaf in leaf_parsers(p)]


def _add_common_flags(parser: argparse.ArgumentParser) -> None:
    from genforge.cli.common import add_seed

    if "--seed" not in parser._option_string_actions:
        add_seed(parser, note="this command draws no random numbers; accepted by every command")


def _version() -> str:
    from genforge import __version__

    return f"genforge {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    json_errors = _Parser.json_errors = "--json" in argv
    parser = _parser(command if command in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error already reported (2)
        return int(exc.code or 0)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0 if not argv or command is None else 2
    from genforge.core.errors import GenforgeError

    try:
        return int(handler(args) or 0)
    except GenforgeError as exc:
        return _report(type(exc).__name__, str(exc), json_errors, 2)
    except KeyboardInterrupt:
        return _report("Interrupted", "interrupted", json_errors, 130)
    except BrokenPipeError:
        return 0


def _report(kind: str, message: str, json_errors: bool, code: int) -> int:
    try:
        _fail(kind, message, json_errors=json_errors, code=code)
    except SystemExit:
        return code


if __name__ == "__main__":
    sys.exit(main())
