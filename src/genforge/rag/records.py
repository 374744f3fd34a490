"""What the store hands back: :class:`IndexReport` for an index run, :class:`SearchHit` for a retrieved chunk."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from genforge.rag.chunking import embed_text


@dataclass
class IndexReport:
    """What an index run did (``skipped``: files not indexed, each with the reason)."""

    root: str
    files_seen: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    vectors_repaired: int = 0
    scan_policy: str | None = None  # fingerprint of the injection rails that scanned chunks (None: no scan)
    chunks_scanned: int = 0  # chunk texts the injection rails checked in this run
    chunks_scan_reused: int = 0  # chunks whose text already had a verdict under the same rails
    chunks_flagged: int = 0  # chunks written or scanned in this run that some injection rail flagged
    total_flagged: int = 0
    seconds: float = 0.0
    total_documents: int = 0
    total_chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchHit:
    """One retrieved chunk with its provenance and scores."""

    rank: int
    chunk_id: str
    source: str
    root: str
    title: str
    headings: list[str]
    start: int
    end: int
    text: str
    score: float
    score_kind: str
    scores: dict[str, float]
    index_scan: dict[str, Any] | None = None  # the injection verdict stored at index time (None: not scanned)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def embed_text(self) -> str:
        return embed_text(self.headings, self.text)
