"""Small helpers shared by CLI commands: output (human via rich, machine via ``--json``) and common flags."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def add_seed(parser: argparse.ArgumentParser, default: int = 0, note: str = "") -> None:
    extra = f"; {note}" if note else ""
    parser.add_argument("--seed", type=int, default=default, help=f"random seed (default {default}{extra})")


def add_runs_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", default="runs", metavar="DIR", help="where run ids are looked up (default runs/)"
    )


def print_json(obj: Any) -> None:
    from genforge.core.io import to_jsonable

    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2) + "\n")


def console():
    """stdout for humans. Markup and highlighting are off: document, user and model text printed through
    it (or through :func:`table`) is data, so ``[/bold]`` or ``[link=...]`` in it prints as written."""
    from rich.console import Console

    return Console(markup=False, highlight=False, emoji=False)


def err_console():
    """stderr for humans (warnings, notes, progress), with markup off like :func:`console`."""
    from rich.console import Console

    return Console(stderr=True, markup=False, highlight=False, emoji=False)


def table(title: str | None, columns: list[str], rows: list[list[Any]]):
    """A rich Table with ``columns`` and stringified ``rows``."""
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*("" if v is None else _fmt(v) for v in row))
    return t


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
