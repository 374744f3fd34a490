"""``papers table``: result tables found in the indexed papers' page text, written as one CSV.

A PDF has no table structure to read, only positioned text; pypdf gives each page's lines. A table is
found as a block of consecutive lines that split into the same number of cells (two or more), at least
one of which is a *row of numbers* (after its first cell, at least half the cells are numbers: ``25.3``,
``-1.2``, ``87%``, ``25.3 ± 0.2``), under a header line of the same width (without one, the block needs
two rows and two numbers a row), and optionally after a caption line (``Table 2: ...``). Cells are split on runs of two or more spaces or tabs; a line
with single spaces only is read as a label (its leading words) followed by numbers. Prose with a number
in it (``we train for 100 epochs``) is not a row: after the label there must be numbers only.

The CSV is in long form, one cell a line: ``file, title, page, table, caption, row, row_label, column,
value`` (``column`` is the header cell above the value, else ``col<N>``), so it filters to a
``dataset, metric, value`` view with any spreadsheet or a one-line pandas call; ``fields`` keeps some
columns only (``--fields file,page,row_label,column,value``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.research.papers import list_papers, read_pages

NUMBER_RE = re.compile(r"^[-+−]?(\d+(\.\d+)?|\.\d+)(e[-+]?\d+)?%?(\s*(±|\+/-|\+-)\s*\d+(\.\d+)?%?)?$", re.I)
CAPTION_RE = re.compile(r"^\s*(table|tab\.)\s*\d+\s*[:.]", re.I)
SPLIT_RE = re.compile(r"\s{2,}|\t")
COLUMNS = ["file", "title", "page", "table", "caption", "row", "row_label", "column", "value"]


@dataclass
class Table:
    """One table: where it is, its caption, its header (may be empty) and its rows of cells."""

    file: str
    title: str
    page: int
    number: int  # 1, 2, ... within the paper
    caption: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def cells(self) -> list[dict[str, Any]]:
        """The long-form records: one per value cell (every cell but a row's first, its label)."""
        out = []
        for r, row in enumerate(self.rows, start=1):
            for c, value in enumerate(row[1:], start=2):
                column = self.header[c - 1] if self.header else f"col{c}"
                out.append(
                    {"file": self.file, "title": self.title, "page": self.page, "table": self.number,
                     "caption": self.caption, "row": r, "row_label": row[0], "column": column, "value": value}
                )  # fmt: skip
        return out


def is_number(cell: str) -> bool:
    return bool(NUMBER_RE.match(cell.strip()))


def split_cells(line: str) -> list[str]:
    """A line's cells: split on 2+ spaces or tabs; else, when the line ends in numbers, its leading
    words as one label cell and each number a cell; else the whole line as one cell."""
    cells = [c.strip() for c in SPLIT_RE.split(line.strip()) if c.strip()]
    if len(cells) >= 2:
        return cells
    words = line.split()
    numbers = 0
    while numbers < len(words) and is_number(words[len(words) - 1 - numbers]):
        numbers += 1
    if numbers and numbers < len(words):
        return [" ".join(words[: len(words) - numbers]), *words[len(words) - numbers :]]
    return [line.strip()] if line.strip() else []


def _is_row(cells: list[str]) -> bool:
    """A row of numbers: a label and at least as many numbers as words after it (``CIFAR-10  FID  25.3``)."""
    numbers = sum(is_number(c) for c in cells[1:])
    return len(cells) >= 2 and numbers >= 1 and 2 * numbers >= len(cells) - 1


def find_tables(lines: list[str]) -> list[tuple[str, list[str], list[list[str]]]]:
    """``(caption, header, rows)`` for each table in a page's lines (see the module docstring)."""
    split = [split_cells(line) for line in lines]
    found, i = [], 0
    while i < len(split):
        if not _is_row(split[i]):
            i += 1
            continue
        width = len(split[i])
        end = i
        while end + 1 < len(split) and len(split[end + 1]) == width and _is_row(split[end + 1]):
            end += 1
        start, header, caption = i, [], ""
        above = i - 1
        if above >= 0 and not _is_row(split[above]) and not CAPTION_RE.match(lines[above]):
            words = lines[above].split()  # a header written with single spaces: one word a column
            cells = split[above] if len(split[above]) == width else words if len(words) == width else None
            if cells is not None:
                header, above = cells, above - 1
        if above >= 0 and CAPTION_RE.match(lines[above]):
            caption = lines[above].strip()
        rows = split[start : end + 1]
        # without a header, a table needs 2+ rows of 2+ numbers each: lines ending in one number each
        # (a numbered list, references ending in a year) are not a table
        if header or (len(rows) >= 2 and width >= 3):
            found.append((caption, header, rows))
        i = end + 1
    return found


def paper_tables(file: str, title: str, pages: list[str]) -> list[Table]:
    """Every table in one paper's page texts, numbered in reading order."""
    tables: list[Table] = []
    for page_number, text in enumerate(pages, start=1):
        for caption, header, rows in find_tables(text.splitlines()):
            tables.append(Table(file, title, page_number, len(tables) + 1, caption, header, rows))
    return tables


def extract_tables(store: str | Path) -> tuple[list[Table], list[str]]:
    """The tables of every paper in the papers index ``store`` (read again from the indexed folder), and
    one note per paper whose PDF is no longer there or readable."""
    from genforge.core.errors import DataError
    from genforge.core.io import read_json_object
    from genforge.research.papers import PAPERS_FILE

    papers = list_papers(store)
    root = Path(read_json_object(Path(store) / PAPERS_FILE)["root"])
    tables, notes = [], []
    for paper in papers:
        path = root / paper["file"]
        if not path.is_file():
            notes.append(f"{paper['file']}: no longer in {root} (index the folder again)")
            continue
        try:
            pages = read_pages(path)
        except DataError as exc:
            notes.append(str(exc))
            continue
        tables += paper_tables(paper["file"], paper["title"], pages)
    return tables, notes


def check_fields(fields: list[str] | None) -> list[str]:
    """The CSV columns to write: ``fields`` (checked against :data:`COLUMNS`) or all of them."""
    if not fields:
        return list(COLUMNS)
    unknown = [f for f in fields if f not in COLUMNS]
    if unknown:
        raise ConfigError(f"unknown table field(s) {', '.join(unknown)} (choose from {', '.join(COLUMNS)})")
    return list(fields)


def tables_csv(tables: list[Table], fields: list[str] | None = None) -> str:
    """The long-form CSV text of ``tables`` (header line included), with the columns ``fields``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=check_fields(fields), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for table in tables:
        writer.writerows(table.cells())
    return buffer.getvalue()


def write_tables(store: str | Path, out: str | Path, fields: list[str] | None = None) -> dict[str, Any]:
    """Extract the tables of the papers in ``store`` into the CSV file ``out`` (written whole or not at
    all); a summary: tables, cells, papers with a table, notes."""
    from genforge.core.io import atomic_write_text
    from genforge.core.paths import check_output_file

    target = check_output_file(out, suffixes=(".csv",))
    check_fields(fields)
    tables, notes = extract_tables(store)
    if not tables:
        raise ConfigError(f"no result table found in the papers of {store}: nothing written")
    atomic_write_text(target, tables_csv(tables, fields))
    return {
        "out": str(target),
        "tables": len(tables),
        "cells": sum(len(t.cells()) for t in tables),
        "papers": len({t.file for t in tables}),
        "notes": notes,
    }
