"""PII in tables: which columns hold personal data, and a redacted copy.

Two signals per column. The **values**: every cell goes through the guard's PII detectors
(:func:`genforge.guard.pii.find_pii`: e-mail, phone, card numbers with Luhn, IBAN with mod-97, national
ids with their checksums, IP addresses), one implementation for text and tables. The **column name**:
words such as ``name``, ``dob``/``birth``, ``address``, ``zip`` mark columns whose values no pattern can
recognise (a surname is just a word). A column is flagged when either signal fires.

Redaction writes a new CSV: ``mask`` replaces each found span with a typed placeholder (the guard's
``redact``) and a whole cell of a name-flagged column with ``[COLUMN]``; ``hash`` replaces a flagged cell
with a salted SHA-256 prefix, so equal values stay joinable without being readable; ``fake`` replaces each
found span (and each cell of a name-flagged column) with a seeded Faker value of the same type, the same
original always with the same fake (:mod:`.fake`), so the table keeps its formats and its joins.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from pathlib import Path
from typing import Any, Literal

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_text
from genforge.core.paths import check_output_file
from genforge.data.tabular import read_csv
from genforge.guard.pii import find_pii
from genforge.guard.redact import redact
from genforge.privacy.fake import FakeValues

# column-name words -> what such a column usually holds (matched on word boundaries, case-insensitive)
NAME_HINTS = {
    "person_name": r"(first|last|given|family|full|sur|middle|maiden)?_?name|surname|patient|customer",
    "birth_date": r"dob|birth(day|_?date)?|date_?of_?birth",
    "address": r"address|street|addr|city|zip(_?code)?|postcode|postal",
    "email": r"e?_?mail",
    "phone": r"phone|mobile|cell|fax|tel",
    "national_id": r"ssn|social_?security|passport|national_?id|nino|bsn|tax_?id",
    "account": r"iban|account|card_?(number|no)|credit_?card",
}
_HINT_PATTERNS = {k: re.compile(rf"(?i)(^|[_\W]){v}($|[_\W])") for k, v in NAME_HINTS.items()}
MAX_SCAN_ROWS = 1_000_000


def name_hint(column: str) -> str | None:
    """What a column's name suggests it holds (``person_name``, ``birth_date`` …), or None."""
    return next((kind for kind, pattern in _HINT_PATTERNS.items() if pattern.search(column)), None)


def scan_table(path: str | Path, *, threshold: float = 0.5, max_rows: int = 100_000) -> dict[str, Any]:
    """Per column: the name hint, cells scanned, cells with PII by type (score >= ``threshold``), flagged."""
    if not 0 < max_rows <= MAX_SCAN_ROWS:
        raise ConfigError(f"--max-rows must be between 1 and {MAX_SCAN_ROWS:,}")
    start = time.perf_counter()
    columns = read_csv(path, min_rows=1)
    report = []
    rows = min(len(next(iter(columns.values()))), max_rows)
    for name, values in columns.items():
        types: dict[str, int] = {}
        cells = 0
        for value in values[:rows]:
            found = {f.type for f in find_pii(value) if f.score >= threshold} if value else set()
            cells += bool(found)
            for kind in found:
                types[kind] = types.get(kind, 0) + 1
        hint = name_hint(name)
        report.append({"column": name, "name_hint": hint, "cells": rows, "cells_with_pii": cells,
                       "types": types, "flagged": bool(hint or cells)})  # fmt: skip
    seconds = time.perf_counter() - start
    return {
        "path": str(path),
        "rows": rows,
        "columns": report,
        "flagged": [c["column"] for c in report if c["flagged"]],
        "rows_per_second": rows / max(seconds, 1e-9),
    }


def redact_table(
    path: str | Path,
    out: str | Path,
    *,
    strategy: Literal["mask", "hash", "fake"] = "mask",
    threshold: float = 0.5,
    salt: str = "",
    seed: int = 0,
    locale: str = "en_US",
) -> dict[str, Any]:
    """Write a copy of the CSV at ``path`` to ``out`` with the PII of flagged columns removed; ``seed`` and
    ``locale`` choose the fakes of ``strategy="fake"``."""
    if strategy not in ("mask", "hash", "fake"):
        raise ConfigError(f"unknown redaction strategy '{strategy}' (use mask, hash or fake)")
    target = check_output_file(out, suffixes=(".csv",))
    fakes = FakeValues(seed, locale) if strategy == "fake" else None
    scan = scan_table(path, threshold=threshold, max_rows=MAX_SCAN_ROWS)
    columns = read_csv(path, min_rows=1)
    hints = {c["column"]: c["name_hint"] for c in scan["columns"] if c["flagged"]}
    changed = 0
    for name, hint in hints.items():
        if fakes is not None:
            new = [_fake_cell(v, name, hint, threshold, fakes) for v in columns[name]]
        else:
            new = [_redact_cell(v, name, hint, strategy, threshold, salt) for v in columns[name]]
        changed += sum(a != b for a, b in zip(new, columns[name], strict=True))
        columns[name] = new
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values(), strict=True))
    atomic_write_text(target, buffer.getvalue())
    return {
        "path": str(path),
        "out": str(target),
        "strategy": strategy,
        "columns": list(hints),
        "cells_changed": changed,
        **({"distinct_values_faked": fakes.count, "seed": seed, "locale": locale} if fakes else {}),
    }


def _fake_cell(value: str, column: str, hint: str | None, threshold: float, fakes: FakeValues) -> str:
    """The whole cell of a name-flagged column, else each found span, replaced by its type's fake."""
    if not value:
        return value
    if hint:
        return fakes.replace(hint, value, column)
    out, pos = [], 0
    for f in find_pii(value):  # non-overlapping, in order
        if f.score >= threshold:
            out += [value[pos : f.start], fakes.replace(f.type, value[f.start : f.end], column)]
            pos = f.end
    return "".join(out) + value[pos:]


def _redact_cell(
    value: str, column: str, hint: str | None, strategy: str, threshold: float, salt: str
) -> str:
    if not value:
        return value
    if strategy == "hash":
        findings = [f for f in find_pii(value) if f.score >= threshold]
        if hint or findings:
            return hashlib.sha256(f"{salt}{column}\x00{value}".encode()).hexdigest()[:16]
        return value
    if hint:
        return f"[{hint.upper()}]"
    return redact(value, [f for f in find_pii(value) if f.score >= threshold])[0]
