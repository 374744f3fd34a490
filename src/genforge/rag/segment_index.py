"""The built-in vector index: raw float32 segment files, memory-mapped and searched exactly with numpy.

Each :meth:`upsert` writes one file ``vectors/seg-N.f32`` of ``(rows, dim)`` little-endian float32; the
tables ``segments`` and ``segment_rows`` in the store's catalog map every content hash to its segment and
row. Exact search is a matrix-vector product per segment (cosine for unit vectors); it stays fast to a few
hundred thousand chunks on one CPU (``benchmarks/rag_retrieval.py``), so no approximate index is used.
Deleted rows stay in their file until :meth:`maintain` merges segments (when there are more than
``compact_segments`` of them or under 70% of rows are live). A truncated or missing file is found by
:meth:`repair`, which drops its rows so the indexer embeds those chunks again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from genforge.core.errors import DataError
from genforge.rag.vector_index import VECTOR_INDEXES, IndexContext, VectorIndex
from genforge.rag.vectors import open_segment, top_k, write_segment

_TABLES = """
CREATE TABLE IF NOT EXISTS segments (segment INTEGER PRIMARY KEY, file TEXT NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS segment_rows (key TEXT PRIMARY KEY, segment INTEGER NOT NULL, row INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS segment_rows_segment ON segment_rows (segment);
"""


@dataclass
class _Segment:
    matrix: np.ndarray  # (rows, dim) memory map
    rows: np.ndarray  # (n,) live rows
    keys: np.ndarray  # (n,) their content hashes


@VECTOR_INDEXES.register("segments")
class SegmentIndex(VectorIndex):
    """Vectors in memory-mapped segment files under ``STORE/vectors``."""

    def __init__(self, context: IndexContext) -> None:
        super().__init__(context)
        self.folder = context.path / "vectors"
        self.folder.mkdir(exist_ok=True)
        self.catalog = context.catalog
        if (
            self.catalog.db.execute("SELECT 1 FROM sqlite_master WHERE name='segment_rows'").fetchone()
            is None
        ):
            with self.catalog.transaction():
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        self.catalog.db.execute(statement)
        self._snapshot: list[_Segment] | None = None

    def _files(self) -> dict[int, str]:
        return {
            r["segment"]: r["file"] for r in self.catalog.db.execute("SELECT segment, file FROM segments")
        }

    def upsert(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """One new segment file with all ``vectors`` in order; a key given twice maps to its first row."""
        if not len(keys):
            return
        db = self.catalog.db
        segment = (db.execute("SELECT MAX(segment) FROM segments").fetchone()[0] or 0) + 1
        file = f"seg-{segment:06d}.f32"
        write_segment(self.folder / file, np.asarray(vectors))
        first = {key: row for row, key in reversed(list(enumerate(keys)))}
        with self.catalog.transaction():
            db.execute("INSERT INTO segments VALUES (?, ?, ?)", (segment, file, len(keys)))
            db.executemany(
                "INSERT OR REPLACE INTO segment_rows VALUES (?, ?, ?)",
                [(k, segment, r) for k, r in first.items()],
            )

    def fetch(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        files = self._files()
        maps: dict[int, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            query = f"SELECT key, segment, row FROM segment_rows WHERE key IN ({','.join('?' * len(part))})"
            for r in self.catalog.db.execute(query, part):
                if r["segment"] not in maps:
                    maps[r["segment"]] = open_segment(self.folder / files[r["segment"]], self.dim)
                found[r["key"]] = np.array(maps[r["segment"]][r["row"]])
        return found

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            with self.catalog.transaction():
                self.catalog.db.executemany("DELETE FROM segment_rows WHERE key=?", [(k,) for k in keys])

    def _load(self) -> list[_Segment]:
        with self.context.lock(False):
            with self.catalog.transaction("BEGIN"):
                files = self._files()
                rows = self.catalog.db.execute(
                    "SELECT key, segment, row FROM segment_rows ORDER BY segment, row"
                ).fetchall()
            members: dict[int, list[tuple[int, str]]] = {}
            for r in rows:
                members.setdefault(r["segment"], []).append((r["row"], r["key"]))
            out = []
            for segment, file in sorted(files.items()):
                if segment in members:
                    seg_rows, seg_keys = zip(*members[segment], strict=True)
                    matrix = open_segment(self.folder / file, self.dim)
                    if max(seg_rows) >= len(matrix):
                        raise DataError(
                            f"{self.folder / file} is damaged (truncated); run 'genforge rag index' again to repair it"
                        )
                    out.append(_Segment(matrix, np.asarray(seg_rows, np.int64), np.asarray(seg_keys)))
            return out

    def refresh(self) -> None:
        self._snapshot = None

    def search(self, vector: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
        if self._snapshot is None:
            self._snapshot = self._load()
        all_keys, all_scores = [], []
        for seg in self._snapshot:
            scores = (seg.matrix @ vector)[seg.rows]
            best = top_k(scores, k)
            all_keys.append(seg.keys[best])
            all_scores.append(scores[best])
        if not all_keys:
            return [], np.empty(0, np.float32)
        keys, scores = np.concatenate(all_keys), np.concatenate(all_scores)
        best = top_k(scores, k)
        return keys[best].tolist(), scores[best]

    def repair(self) -> list[str]:
        """Drop rows of segments whose file is missing or has the wrong size; remove unreferenced files."""
        db = self.catalog.db
        segments = db.execute("SELECT segment, file, rows FROM segments").fetchall()
        damaged = []
        for seg in segments:
            path = self.folder / seg["file"]
            if not path.is_file() or path.stat().st_size != seg["rows"] * 4 * self.dim:
                damaged.append(seg["segment"])
        lost: list[str] = []
        if damaged:
            marks = ",".join("?" * len(damaged))
            lost = [
                r["key"]
                for r in db.execute(f"SELECT key FROM segment_rows WHERE segment IN ({marks})", damaged)
            ]
            with self.catalog.transaction():
                db.execute(f"DELETE FROM segment_rows WHERE segment IN ({marks})", damaged)
                db.execute(f"DELETE FROM segments WHERE segment IN ({marks})", damaged)
        referenced = set(self._files().values())
        for path in self.folder.glob("*"):
            if path.name not in referenced:
                path.unlink(missing_ok=True)
        self._snapshot = None
        return lost

    def maintain(self, live: set[str]) -> None:
        db = self.catalog.db
        stored = {r["key"] for r in db.execute("SELECT key FROM segment_rows")}
        self.delete(sorted(stored - live))
        segments = db.execute("SELECT segment, file, rows FROM segments ORDER BY segment").fetchall()
        counts = {
            r[0]: r[1] for r in db.execute("SELECT segment, COUNT(*) FROM segment_rows GROUP BY segment")
        }
        dead = [s["file"] for s in segments if counts.get(s["segment"], 0) == 0]
        total_rows, live_rows = sum(s["rows"] for s in segments), sum(counts.values())
        merge = len(segments) - len(dead) > self.context.config.compact_segments or (
            total_rows and live_rows < 0.7 * total_rows
        )
        if merge and live_rows:
            self._merge(segments)
            dead = [s["file"] for s in segments]
        elif dead:
            with self.catalog.transaction():
                db.executemany("DELETE FROM segments WHERE file=?", [(f,) for f in dead])
        if dead:
            with self.context.lock(True):
                for file in dead:
                    (self.folder / file).unlink(missing_ok=True)
        self._snapshot = None

    def _merge(self, segments: list) -> None:
        db = self.catalog.db
        rows = db.execute(
            "SELECT r.key, r.segment, r.row, s.file FROM segment_rows r JOIN segments s ON r.segment = s.segment "
            "ORDER BY r.segment, r.row"
        ).fetchall()
        maps = {s["file"]: open_segment(self.folder / s["file"], self.dim) for s in segments}
        vectors = np.stack([maps[r["file"]][r["row"]] for r in rows])
        new_id = segments[-1]["segment"] + 1
        new_file = f"seg-{new_id:06d}.f32"
        write_segment(self.folder / new_file, vectors)
        with self.catalog.transaction():
            db.execute("DELETE FROM segments")
            db.execute("DELETE FROM segment_rows")
            db.execute("INSERT INTO segments VALUES (?, ?, ?)", (new_id, new_file, len(rows)))
            db.executemany(
                "INSERT INTO segment_rows VALUES (?, ?, ?)",
                [(r["key"], new_id, i) for i, r in enumerate(rows)],
            )
