"""Small helpers shared by CLI commands: output (human via rich, machine via ``--json``) and common flags."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def add_seed(parser: argparse.ArgumentParser, default: int = 0, note: str = "") -> None:
    extra = f"; {note}" if note else ""
    parser.add_argument("--seed", type=int, default=default, help=f"random seed (default {default}{extra})")


def add_overrides(parser: argparse.ArgumentParser, help: str) -> None:
    """``--set KEY=VALUE`` (repeatable) into ``args.overrides``, a list the command parses."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


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


KEEP_WHOLE = 12  # values up to this many characters (numbers, short names) are never broken


def table(
    title: str | None,
    columns: list[str],
    rows: list[list[Any]],
    *,
    whole: Sequence[int] = (0,),
    optional: Sequence[int] = (),
    width: int | None = None,
):
    """A rich Table of ``columns`` and stringified ``rows`` that stays readable in ``width`` columns (the
    terminal's, 80 when not a terminal).

    Nothing is ever replaced by an ellipsis: cells of the ``whole`` columns (by index; default the first,
    which holds names and ids) are never cut or wrapped, short values elsewhere are kept whole when they
    fit, longer cells wrap (breaking long words where they must). When even that does not fit, the
    ``optional`` columns are dropped, least important first, and as a last resort the rightmost ones.
    """
    from rich.table import Table

    cells = [["" if v is None else _fmt(v) for v in row] for row in rows]
    natural = [
        max([*(len(word) for word in col.split()), *(len(row[i]) for row in cells)])
        for i, col in enumerate(columns)
    ]
    width = width or _terminal_width()
    keep = list(range(len(columns)))
    drop = [i for i in optional if i in keep]
    widths = {i: natural[i] if i in whole else min(natural[i], KEEP_WHOLE) for i in keep}

    def spare() -> int:  # borders and padding take 3 characters per column, plus 1
        return width - sum(widths[i] for i in keep) - 3 * len(keep) - 1

    def cut(i: int) -> bool:
        return widths[i] < natural[i]

    while spare() < 0 and drop:
        keep.remove(drop.pop(0))
    narrowable = [i for i in keep if i not in whole]
    while spare() < 0 and narrowable:  # narrow one character at a time: already-wrapped, widest first
        i = max(narrowable, key=lambda i: (cut(i), widths[i]))
        if widths[i] <= 4:
            break
        widths[i] -= 1
    while spare() < 0 and narrowable:  # last resort: ids and names stay whole, the rightmost column goes
        keep.remove(narrowable.pop())
    while spare() > 0 and any(cut(i) for i in keep):  # give room back to the most-cut column
        widths[max(keep, key=lambda i: natural[i] - widths[i])] += 1
    t = Table(title=title, title_justify="left")
    for i in keep:
        t.add_column(columns[i], no_wrap=i in whole, overflow="fold", width=widths[i])
    for row in cells:
        t.add_row(*(row[i] for i in keep))
    return t


def _terminal_width() -> int:
    from rich.console import Console

    return Console().width


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
