"""Text corpora: gensim's bundled corpora (``lee``, …), a user's ``file:PATH`` or ``dir:PATH``.

:func:`load_corpus` returns documents as strings with a fixed document-level train/val/test split.
Tokenized datasets for language models are built on top of it (see the language modules).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from genforge.core.errors import DataError, MissingDependency

# name -> file inside gensim's test_data, one document per line
GENSIM_CORPORA = {
    "lee": "lee_background.cor",
    "lee-test": "lee.cor",
    "head500": "head500.noblanks.cor",
    "crime": "crime-and-punishment.txt",
    "miislita": "miIslita.cor",
}
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".text"}
SPLIT_SEED = 0


@dataclass
class Corpus:
    """Documents (one string each) and the document-level split."""

    name: str
    documents: list[str]
    splits: dict[str, list[int]]

    def texts(self, split: str) -> list[str]:
        return [self.documents[i] for i in self.splits[split]]


def gensim_data_path(filename: str) -> Path:
    try:
        from gensim.test.utils import datapath
    except ImportError as exc:
        raise MissingDependency("built-in text corpora come with gensim: pip install 'genforge[text]'") from exc
    return Path(datapath(filename))


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def _documents_of(text: str) -> list[str]:
    """Blank-line separated paragraphs, or lines when the file has no blank lines."""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    if len(blocks) <= 1:
        blocks = [line.strip() for line in text.splitlines() if line.strip()]
    return blocks


def load_corpus(spec: str) -> Corpus:
    """``lee`` / ``file:PATH`` / ``dir:PATH`` (the part after ``text:``) -> :class:`Corpus`."""
    kind, _, rest = spec.partition(":")
    if kind in GENSIM_CORPORA and not rest:
        path = gensim_data_path(GENSIM_CORPORA[kind])
        docs = _documents_of(_read_utf8(path)) if kind == "crime" else [
            line.strip() for line in _read_utf8(path).splitlines() if line.strip()
        ]
    elif kind == "file":
        path = Path(rest).expanduser()
        if not path.is_file():
            raise DataError(f"text file {path} does not exist")
        docs = _documents_of(_read_utf8(path))
    elif kind == "dir":
        root = Path(rest).expanduser()
        if not root.is_dir():
            raise DataError(f"text directory {root} does not exist")
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
        if not files:
            raise DataError(f"text directory {root} has no {'/'.join(sorted(TEXT_SUFFIXES))} files")
        docs = [d for f in files for d in _documents_of(_read_utf8(f))]
    else:
        known = ", ".join([*GENSIM_CORPORA, "file:PATH", "dir:PATH"])
        raise DataError(f"unknown text corpus '{spec}' (known: {known})")
    if not docs or not any(d.strip() for d in docs):
        raise DataError(f"corpus '{spec}' is empty")
    order = list(range(len(docs)))
    random.Random(SPLIT_SEED).shuffle(order)
    n_val = max(1, len(docs) // 10) if len(docs) >= 3 else 0
    n_test = n_val
    splits = {
        "train": sorted(order[n_val + n_test :]) or order,
        "val": sorted(order[:n_val]) or order,
        "test": sorted(order[n_val : n_val + n_test]) or order,
    }
    return Corpus(name=spec, documents=docs, splits=splits)
