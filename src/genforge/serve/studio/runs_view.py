"""What the studio shows of the runs folder: sortable, paginated rows with a live status, a run's
details, and its metrics log read incrementally and tolerantly (an unreadable line is flagged, not fatal:
a page that watches a run must survive the run's own torn or damaged lines)."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError, RunNotFound
from genforge.core.runs import Run
from genforge.metrics.run_metrics import headline

_RUN_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")
_SAMPLE_NAME = re.compile(r"^step-(\d+)\.(png|txt)$")
SORT_KEYS = ("id", "family", "data", "step", "status", "headline")
MAX_PER_PAGE = 1000
MAX_LINE_BYTES = 1 << 20  # a metrics line longer than this is flagged, never parsed
BLOCK_LINES = 1024


def get_run(root: Path, run_id: str) -> Run:
    """The run ``run_id`` directly under ``root`` (an id is a folder name, never a path)."""
    if not _RUN_ID.match(run_id) or not (root / run_id / "config.json").is_file():
        raise RunNotFound(f"no run '{run_id[:80]}' under {root}")
    return Run(root / run_id)


def run_status(run: Run) -> str:
    """``training`` while a process holds the run's lock, else how its last checkpoint ended."""
    if run.is_training():
        return "training"
    status = run.latest_checkpoint_meta().get("status")
    return status if isinstance(status, str) else "no checkpoint"


_ROWS: dict[Path, tuple[tuple, dict[str, Any]]] = {}  # run folder -> (file signature, row)
_LAYOUT = Run(Path("run"))  # the file names a row depends on, as core/runs.py lays a run out
_SIGNED_FILES = (_LAYOUT.config_path.name, _LAYOUT.eval_path.name)
_CHECKPOINTS = _LAYOUT.checkpoint_dir.name


def _signature(folder: str) -> tuple | None:
    """What a row depends on: config.json and eval.json (inode, size, mtime) and the checkpoint names;
    an atomic rewrite changes the inode, so a rewrite within one timestamp tick is still seen. None when
    the folder holds no config.json file (not a run)."""
    stats = []  # plain strings and os calls: the list page signs 1,000 runs per request
    for name in _SIGNED_FILES:
        try:
            stat = os.stat(os.path.join(folder, name))
        except (FileNotFoundError, NotADirectoryError):
            stats.append(None)
            continue
        stats.append((stat.st_ino, stat.st_size, stat.st_mtime_ns, S_ISREG(stat.st_mode)))
    if stats[0] is None or not stats[0][3]:
        return None
    try:
        names = tuple(sorted(os.listdir(os.path.join(folder, _CHECKPOINTS))))
    except (FileNotFoundError, NotADirectoryError):
        names = ()
    return (*stats, names)


def run_row(run: Run) -> dict[str, Any]:
    """One row of the runs table; a damaged run keeps its row with the ``error`` that names the file.
    Rows are cached until a file they read changes (the list page is polled every few seconds); the
    ``training`` status is checked live."""
    signature = _signature(str(run.path))
    if signature is None:
        return {"id": run.id, "status": "damaged", "error": f"{run.config_path} does not exist", "step": 0}
    return _cached_row(run, signature)


def _cached_row(run: Run, signature: tuple) -> dict[str, Any]:
    cached = _ROWS.get(run.path)
    row = dict(cached[1]) if cached and cached[0] == signature else None
    if row is None:
        row = _read_row(run, signature)
        _ROWS[run.path] = (signature, dict(row))
    # a training process holds checkpoints/.lock: without that file (listed above) no run is training
    if "error" not in row and ".lock" in signature[-1] and run.is_training():
        row["status"] = "training"
    return row


def _read_row(run: Run, signature: tuple) -> dict[str, Any]:
    """The row from the run's files; what the signature shows absent (no eval.json, no checkpoints) is
    not looked up again, which halves the file-system calls of a cold 1,000-run page."""
    try:
        config = run.read_config()
        evaluation = run.read_eval() if signature[1] is not None else None
        steps = run.checkpoint_steps() if signature[-1] else []
        meta = run.latest_checkpoint_meta() if steps else {}
    except GenforgeError as exc:
        return {"id": run.id, "status": "damaged", "error": str(exc), "step": 0}
    figure = headline(evaluation or {})
    status = meta.get("status")
    return {
        "id": run.id,
        "family": config["family"],
        "data": config["data"]["spec"],
        "step": steps[-1] if steps else 0,
        "status": status if isinstance(status, str) else "no checkpoint",
        "headline": figure["value"],
        "headline_metric": figure["metric"] if figure["value"] is not None else None,
        "created": config.get("created"),
    }


def all_rows(root: Path) -> list[dict[str, Any]]:
    """A row for every run directly under ``root``, by id: the folders that hold a config.json file,
    as ``core.runs.list_runs`` finds them, listed with one ``scandir`` and signed in the same pass."""
    try:
        with os.scandir(root) as entries:
            names = sorted(entry.name for entry in entries if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    folder = str(root)
    rows = []
    for name in names:
        signature = _signature(os.path.join(folder, name))
        if signature is not None:
            rows.append(_cached_row(Run(root / name), signature))
    return rows


def _sort_value(row: dict[str, Any], key: str) -> tuple:
    value = row.get(key)
    return (value is None, value if value is not None else 0) if key != "id" else (False, row["id"])


def list_page(root: Path, sort: str = "id", descending: bool = False, page: int = 1, per_page: int = 50):
    """``(rows of the page, number of runs, number of pages)``, sorted by ``sort``."""
    if sort not in SORT_KEYS:
        raise ConfigError(f"cannot sort runs by '{sort}' (choose from {', '.join(SORT_KEYS)})")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ConfigError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
    rows = all_rows(root)
    present = [r for r in rows if r.get(sort) is not None]
    missing = [r for r in rows if r.get(sort) is None]
    present.sort(key=lambda r: _sort_value(r, sort), reverse=descending)
    rows = present + missing  # runs without the figure always come last
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(page, 1), pages)
    return rows[(page - 1) * per_page : page * per_page], len(rows), pages


def sample_steps(run: Run) -> list[dict[str, Any]]:
    """The sample grids (or texts) written during training, oldest first: ``{"step", "name"}``."""
    if not run.samples_dir.is_dir():
        return []
    found = [(_SAMPLE_NAME.match(p.name), p.name) for p in run.samples_dir.iterdir()]
    return sorted(
        ({"step": int(m.group(1)), "name": name} for m, name in found if m), key=lambda s: s["step"]
    )


def sample_file(run: Run, name: str) -> Path:
    if not _SAMPLE_NAME.match(name) or not (run.samples_dir / name).is_file():
        raise RunNotFound(f"run {run.id} has no sample '{name[:80]}'")
    return run.samples_dir / name


@dataclass
class MetricsTail:
    """Reads ``metrics.jsonl`` from where it last stopped: complete lines only (a line still being
    appended waits for its newline), each bad line reported once by number and reason. Memory stays
    bounded: a line over 1 MiB is skipped up to its newline, never buffered whole."""

    path: Path
    offset: int = 0
    line: int = 0
    pending: bytes = b""
    skipping: bool = False
    bad: list[dict[str, Any]] = field(default_factory=list)
    inode: int | None = None
    restarted: bool = False  # set when the file was replaced (a resume drops records): read it anew

    def read_new(self) -> list[dict[str, Any]]:
        self.restarted = False
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if self.inode is not None and (stat.st_ino != self.inode or stat.st_size < self.offset):
                self.offset, self.line, self.pending, self.skipping, self.restarted = 0, 0, b"", False, True
                self.bad = []
            self.inode = stat.st_ino
            handle.seek(self.offset)
            chunk = handle.read(64 << 20)
        self.offset += len(chunk)
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()
        if self.skipping and lines:  # the end of an over-long line, already reported
            self.skipping = False
            lines = lines[1:]
        records = self._parse_all(lines)
        if len(self.pending) > MAX_LINE_BYTES and not self.skipping:
            self.line += 1
            self.bad.append({"line": self.line, "reason": "longer than 1 MiB"})
            self.skipping = True
        if self.skipping:
            self.pending = b""
        return records

    def _parse_all(self, lines: list[bytes]) -> list[dict[str, Any]]:
        """Lines in blocks of 1,024, each parsed as one JSON array (one C-level parse: a 100k-line log
        in a fraction of a second); a block that fails is parsed line by line, so each bad line is named."""
        first = self.line + 1
        self.line += len(lines)
        records: list[dict[str, Any]] = []
        for start in range(0, len(lines), BLOCK_LINES):
            block = lines[start : start + BLOCK_LINES]
            fast = _parse_block(block)
            if fast is not None:
                records.extend(fast)
                continue
            for number, raw in enumerate(block, start=first + start):
                record = self._parse(raw, number)
                if record is not None:
                    records.append(record)
        return records

    def _parse(self, raw: bytes, number: int) -> dict[str, Any] | None:
        if not raw.strip():
            return None
        if len(raw) > MAX_LINE_BYTES:
            reason = "longer than 1 MiB"
        else:
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                reason = "not UTF-8 text"
            except ValueError:
                reason = "not JSON"
            else:
                reason = None if isinstance(record, dict) else "not a JSON object"
        if reason:
            self.bad.append({"line": number, "reason": reason})
            return None
        return record


def _parse_block(lines: list[bytes]) -> list[dict[str, Any]] | None:
    """The objects of ``lines`` parsed together, or None when any line is not one JSON object. The checks
    run in C (filter, join, count, map): Python touches no line one by one on the fast path."""
    kept = list(filter(bytes.strip, lines))  # drops empty and whitespace-only lines
    if not kept:
        return []
    joined = b"\n".join(kept)  # a line holds no newline, so every line starts with "{" iff this counts
    if not joined.startswith(b"{") or joined.count(b"\n{") != len(kept) - 1:
        return None
    if max(map(len, kept)) > MAX_LINE_BYTES:
        return None
    try:
        records = json.loads(b"[" + joined.replace(b"\n", b",") + b"]")
    except ValueError:
        return None
    if len(records) != len(kept) or set(map(type, records)) != {dict}:
        return None
    return records


def points(records: list[dict[str, Any]], metric: str) -> dict[str, tuple[list[int], list[float]]]:
    """``split -> (steps, values)`` of ``metric`` in train/val ``records`` (non-finite, boolean and
    non-numeric values skipped). A hot loop: 100k records on every page that opens a long run."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    numbers = (int, float)  # exact types: a bool is not a figure
    for record in records:
        split = record.get("split")
        if split != "train" and split != "val":
            continue
        value, step = record.get(metric), record.get("step")
        if type(value) in numbers and type(step) is int and math.isfinite(value):
            steps, values = series.get(split) or series.setdefault(split, ([], []))
            steps.append(step)
            values.append(float(value))
    return series


def metric_names(records: list[dict[str, Any]], known: set[str] | None = None) -> set[str]:
    """Names of the numeric figures logged in train/val ``records``, added to ``known``."""
    names = set() if known is None else known
    skip = {"step", "elapsed_s", "samples_per_s", "split", "time"}
    last_keys = None
    for record in records:
        keys = record.keys()
        if keys == last_keys or record.get("split") not in ("train", "val"):
            continue  # a log repeats the same figures: only a new set of keys is looked at
        last_keys = keys
        for key in keys - names - skip:
            if type(record[key]) in (int, float):
                names.add(key)
    return names
