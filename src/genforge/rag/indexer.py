"""Indexing: scan a folder, load and chunk changed files, embed new chunk texts, commit in atomic batches.

Incremental: a file whose size and mtime are unchanged is not read; a file whose SHA-256 is unchanged is not
re-chunked; a chunk whose text hash already has a vector in the vector index reuses it instead of being
embedded again; files that disappeared from the root are dropped. Each batch's vectors are stored before
its catalog rows are committed in one transaction, so an interrupted run leaves every file either fully
indexed or untouched (vectors nobody references are collected at the end of the next run).

On the way in, files are refused with a warning (and the run goes on) when they are larger than
``max_file_mb``, when their name is not valid UTF-8, when they are symlinks leading out of the root (unless
``follow_symlinks``), or when their text (near-)duplicates a document already indexed (``dedupe``).

With a :class:`~genforge.rag.scan.ChunkScanner`, each chunk's injection verdict is committed with it; a text
that already has a verdict under the same rails reuses it, and chunks left without one (a store indexed
without scanning, or migrated from layout 2) are scanned at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genforge.core.errors import DataError
from genforge.rag.catalog import Catalog
from genforge.rag.chunking import Chunk, WordPieceCounter, chunk_document, embed_text
from genforge.rag.config import StoreConfig
from genforge.rag.dedupe import DuplicateFinder, signature
from genforge.rag.loaders import Document, UnreadableFile, iter_files, load_document
from genforge.rag.records import IndexReport
from genforge.rag.scan import ChunkScanner, is_flagged
from genforge.rag.vector_index import VectorIndex

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file read in 1 MB blocks (a scan never holds a whole file)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class _Pending:
    path: Path
    source: str
    digest: str
    stat: os.stat_result
    existed: bool


class Indexer:
    """Brings a catalog and its vector index up to date with one root (see the module docstring)."""

    def __init__(self, catalog: Catalog, vectors: VectorIndex, embedding, config: StoreConfig,
                 scanner: ChunkScanner | None = None) -> None:  # fmt: skip
        self.catalog, self.vectors, self.embedding, self.config = catalog, vectors, embedding, config
        self.scanner = scanner if scanner is not None and scanner.active else None
        self.signature = json.dumps(config.chunking.model_dump(), sort_keys=True)
        self._counter: WordPieceCounter | None = None

    def run(
        self, root: Path, base: Path, wanted: set[str], report: IndexReport, progress: Progress | None
    ) -> None:
        report.vectors_repaired = self._repair()
        root_id = self.catalog.root_id(str(base))
        pending = self._scan(root, base, root_id, wanted, report)
        self._index_pending(root_id, pending, report, progress)
        self.vectors.maintain(self.catalog.live_keys())
        counts = self.catalog.counts()
        report.total_documents, report.total_chunks = counts["documents"], counts["chunks"]
        if self.scanner is not None:
            report.scan_policy = self.scanner.fingerprint
            self._scan_rest(report)
        report.total_flagged = self.catalog.flagged_chunks()

    # injection scanning ------------------------------------------------------------------------------
    def _verdicts(self, chunks: list[tuple[str, str]], report: IndexReport) -> dict[str, tuple[int, str]]:
        """``content hash -> (flagged, verdict JSON)`` for ``(content hash, text)`` pairs: verdicts stored
        under the same rails are reused, each other text is scanned once; the report counts both."""
        found = {}
        for key, verdict in self.catalog.scans_of(
            {key for key, _ in chunks}, self.scanner.fingerprint
        ).items():
            found[key] = (int(is_flagged(json.loads(verdict))), verdict)
        scanned = 0
        for key, text in chunks:
            if key not in found:
                verdict = self.scanner.scan(text)
                found[key] = (int(is_flagged(verdict)), json.dumps(verdict))
                scanned += 1
        report.chunks_scanned += scanned
        report.chunks_scan_reused += len(chunks) - scanned
        report.chunks_flagged += sum(found[key][0] for key, _ in chunks)
        return found

    def _scan_rest(self, report: IndexReport) -> None:
        """Scan the chunks that have no verdict under the current rails, one batch per transaction."""
        rows = self.catalog.unscanned(self.scanner.fingerprint)
        for i in range(0, len(rows), self.config.batch_chunks):
            part = rows[i : i + self.config.batch_chunks]
            verdicts = self._verdicts([(key, text) for _, key, text in part], report)
            policy = self.scanner.fingerprint
            self.catalog.set_scans(
                [(verdicts[key][0], policy, verdicts[key][1], cid) for cid, key, _ in part]
            )

    def _repair(self) -> int:
        """Embed again the chunks whose vectors the index lost (a truncated or deleted segment file)."""
        lost = set(self.vectors.repair()) & self.catalog.live_keys()
        if not lost:
            return 0
        texts = {}
        for _, headings, text in self.catalog.chunk_texts():
            key = sha256(embed_text(headings, text).encode("utf-8"))
            if key in lost:
                texts[key] = embed_text(headings, text)
        keys = sorted(texts)
        for i in range(0, len(keys), self.config.batch_chunks):
            part = keys[i : i + self.config.batch_chunks]
            self.vectors.upsert(part, self.embedding.embed_texts([texts[k] for k in part]))
        log.warning("re-embedded %d chunks whose vectors were damaged", len(keys))
        return len(keys)

    # scanning ----------------------------------------------------------------------------------------
    def _refuse(self, path: Path, root: Path, base: Path, report: IndexReport) -> str | None:
        """Why ``path`` is not indexed (None: it is indexed)."""
        try:
            os.fsencode(str(path)).decode("utf-8")
        except UnicodeDecodeError:
            return "file name is not valid UTF-8 (rename the file)"
        if path.is_symlink() and not self.config.follow_symlinks:
            target = path.resolve()
            if not (target == root or root in target.parents or base in target.parents):
                return "symlink leads outside the indexed folder (pass --follow-symlinks to index it)"
        limit = self.config.max_file_mb * 1024 * 1024
        if path.stat().st_size > limit:
            return f"larger than {self.config.max_file_mb:g} MB (raise --max-file-mb to index it)"
        return None

    def _scan(
        self, root: Path, base: Path, root_id: int, wanted: set[str], report: IndexReport
    ) -> list[_Pending]:
        known = self.catalog.documents(root_id)
        elsewhere = self.catalog.sources_elsewhere(root_id)
        pending, touched, seen = [], [], set()
        for path in iter_files(root):
            if path.suffix.lower() not in wanted:
                continue
            source = path.relative_to(base).as_posix()
            seen.add(source)
            report.files_seen += 1
            reason = self._refuse(path, root, base, report)
            if reason:
                self._skip(report, os.fsencode(source).decode("utf-8", "backslashreplace"), reason)
                continue
            if source in elsewhere:
                raise DataError(
                    f"{source} is already indexed in this store from another folder; use another --store"
                )
            stat = path.stat()
            old = known.get(source)
            fresh = old is not None and old["chunking"] == self.signature
            if fresh and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
                report.unchanged += 1
                continue
            try:
                digest = file_sha256(path)
            except OSError as exc:
                self._skip(report, source, f"cannot read ({exc.strerror})")
                continue
            if fresh and old["content_hash"] == digest:
                touched.append((stat.st_size, stat.st_mtime_ns, old["doc_id"]))
                report.unchanged += 1
                continue
            pending.append(_Pending(path, source, digest, stat, old is not None))
        if root.is_dir():
            report.removed = sorted(s for s in known if s not in seen)
        self.catalog.touch(touched)
        return pending

    @staticmethod
    def _skip(report: IndexReport, source: str, reason: str) -> None:
        log.info("skipping %s: %s", source, reason)
        report.skipped.append({"source": source, "reason": reason})

    # loading, chunking, committing -------------------------------------------------------------------
    def _duplicates(self, pending: list[_Pending], removed: list[str]) -> DuplicateFinder | None:
        """A finder holding the documents that stay in the store (not those replaced or removed now)."""
        if not self.config.dedupe:
            return None
        finder = DuplicateFinder()
        replaced = {p.source for p in pending} | set(removed)
        for source, sig in self.catalog.signatures().items():
            if source not in replaced:
                finder.add(source, np.frombuffer(sig, dtype=np.uint64))
        return finder

    def _index_pending(
        self, root_id: int, pending: list[_Pending], report: IndexReport, progress: Progress | None
    ) -> None:
        counter = self._counter = self._counter or WordPieceCounter()
        finder = self._duplicates(pending, report.removed)
        batch: list[tuple[Document, list[Chunk], _Pending, bytes | None]] = []
        batch_chunks = reported = 0
        for done, item in enumerate(pending, start=1):
            try:  # one file in memory at a time; the hash is that of the bytes indexed
                data = item.path.read_bytes()
                item.digest = sha256(data)
                doc = load_document(item.path, item.source, data)
                del data
            except OSError as exc:
                self._skip(report, item.source, f"cannot read ({exc.strerror})")
                continue
            except UnreadableFile as exc:
                self._skip(report, item.source, str(exc).split(": ", 1)[-1])
                if item.existed:
                    report.removed.append(item.source)
                continue
            sig = None
            if finder is not None:
                sig = signature(doc.text)
                original = finder.match(sig)
                if original is not None:
                    report.duplicates.append({"source": item.source, "duplicate_of": original})
                    if item.existed:
                        report.removed.append(item.source)
                    continue
                finder.add(item.source, sig)
            chunks = chunk_document(doc, self.config.chunking, counter)
            batch.append((doc, chunks, item, None if sig is None else sig.tobytes()))
            (report.updated if item.existed else report.added).append(item.source)
            batch_chunks += len(chunks)
            if batch_chunks >= self.config.batch_chunks:
                self._commit(root_id, batch, report)
                batch, batch_chunks = [], 0
                if progress:
                    progress(done, len(pending))
                    reported = done
        if batch:
            self._commit(root_id, batch, report)
        if progress and pending and reported != len(pending):
            progress(len(pending), len(pending))
        if report.removed:
            self._forget(self.catalog.remove_documents(root_id, report.removed))

    def _commit(self, root_id: int, batch: Sequence[tuple], report: IndexReport) -> None:
        rows = [(doc, chunk) for doc, chunks, *_ in batch for chunk in chunks]
        texts = [chunk.embed_text() for _, chunk in rows]
        keys = [sha256(t.encode("utf-8")) for t in texts]
        known = self.vectors.fetch(keys)
        todo = [i for i, key in enumerate(keys) if key not in known]
        vectors = np.zeros((len(rows), self.vectors.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            if key in known:
                vectors[i] = known[key]
        if todo:
            vectors[todo] = self.embedding.embed_texts([texts[i] for i in todo])
        # the whole batch, reused vectors too: a segment then holds every chunk of its batch in order, as
        # the store did before the vector index had its own interface (same matrices, same float32 scores)
        self.vectors.upsert(keys, vectors)
        report.chunks_embedded += len(todo)
        report.chunks_reused += len(rows) - len(todo)
        report.chunks_added += len(rows)
        documents = [
            {"source": doc.source, "content_hash": item.digest, "size": item.stat.st_size,
             "mtime_ns": item.stat.st_mtime_ns, "kind": doc.kind, "title": doc.title, "chunking": self.signature,
             "num_chunks": len(chunks), "minhash": sig}
            for doc, chunks, item, sig in batch
        ]  # fmt: skip
        chunks = [
            {"source": doc.source, "chunk_id": chunk.chunk_id, "ordinal": chunk.ordinal,
             "headings": json.dumps(list(chunk.headings)), "start": chunk.start, "end": chunk.end,
             "text": chunk.text, "num_tokens": chunk.num_tokens, "text_hash": keys[i],
             "flagged": None, "scan_policy": None, "scan": None}
            for i, (doc, chunk) in enumerate(rows)
        ]  # fmt: skip
        if self.scanner is not None:
            verdicts = self._verdicts([(row["text_hash"], row["text"]) for row in chunks], report)
            for row in chunks:
                row["flagged"], row["scan"] = verdicts[row["text_hash"]]
                row["scan_policy"] = self.scanner.fingerprint
        self._forget(self.catalog.replace_documents(root_id, documents, chunks) - set(keys))

    def _forget(self, keys: set[str]) -> None:
        """Delete the vectors of texts no chunk uses any more."""
        if keys:
            self.vectors.delete(sorted(keys - self.catalog.live_keys(keys)))
