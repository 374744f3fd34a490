"""Near-duplicate documents by MinHash over word shingles (Broder, 1997), with LSH banding.

A Sphinx HTML build holds every page twice (``page.html`` and ``_sources/page.rst.txt``); indexing both
fills the top results with the same page. Each document's text becomes the set of its 5-word shingles;
128 hash functions ``(a * h + b) mod p`` over the shingles' 64-bit hashes give a signature whose agreement
rate estimates the Jaccard similarity of two sets. Signatures are bucketed by 16 bands of 8 rows, so a
document is compared only with documents sharing a band (linear time overall). Written here with numpy
because it is a few lines; ``datasketch`` would add a dependency for the same arithmetic.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

NUM_PERM, BANDS = 128, 16
SHINGLE = 5
THRESHOLD = 0.85
_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20261202)
_A = _rng.integers(1, 1 << 61, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, 1 << 61, NUM_PERM, dtype=np.uint64)
_WORD = re.compile(r"\w+")


def signature(text: str) -> np.ndarray:
    """``(NUM_PERM,)`` uint64 MinHash signature of ``text``'s lower-cased word 5-shingles."""
    words = _WORD.findall(text.lower())
    grams = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 3 for g in grams),
        dtype=np.uint64,
        count=len(grams),
    )
    out = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for i in range(0, len(hashes), 2048):  # blocks keep memory at 2048 x NUM_PERM words for any text
        # a fixed family of hash functions; uint64 arithmetic wraps before the modulus, which only mixes more
        block = (np.outer(hashes[i : i + 2048], _A) + _B) % _PRIME
        np.minimum(out, block.min(axis=0), out=out)
    return out


class DuplicateFinder:
    """Remembers documents' signatures; :meth:`match` names an earlier document a new one duplicates."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._buckets: dict[tuple[int, bytes], list[str]] = {}
        self._signatures: dict[str, np.ndarray] = {}

    def _bands(self, sig: np.ndarray) -> list[tuple[int, bytes]]:
        rows = NUM_PERM // BANDS
        return [(b, sig[b * rows : (b + 1) * rows].tobytes()) for b in range(BANDS)]

    def add(self, name: str, sig: np.ndarray) -> None:
        self._signatures[name] = sig
        for band in self._bands(sig):
            self._buckets.setdefault(band, []).append(name)

    def match(self, sig: np.ndarray) -> str | None:
        """An added document whose estimated Jaccard similarity with ``sig`` is at least the threshold."""
        seen: set[str] = set()
        for band in self._bands(sig):
            for name in self._buckets.get(band, ()):
                if name not in seen:
                    seen.add(name)
                    if float(np.mean(self._signatures[name] == sig)) >= self.threshold:
                        return name
        return None
