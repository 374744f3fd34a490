"""Text corpora and the ``text:`` dataset for language models.

:func:`load_corpus` returns documents as strings with a fixed document-level train/val/test split, from
gensim's bundled corpora (``lee``, …), genforge's own documentation (``docs``), or a user's
``file:PATH`` / ``dir:PATH``. The ``text:`` dataset tokenizes a corpus for language models: the
tokenizer (character-level or byte-level BPE, :mod:`genforge.data.tokenizers`) is fitted on the training
documents and saved in the run directory as ``tokenizer.json``, so resuming, evaluating and generating
rebuild exactly the same token ids.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError, MissingDependency
from genforge.data import Dataset, register_dataset
from genforge.data.info import DataInfo

# name -> file inside gensim's test_data, one document per line
GENSIM_CORPORA = {
    "lee": "lee_background.cor",
    "lee-test": "lee.cor",
    "head500": "head500.noblanks.cor",
    "crime": "crime-and-punishment.txt",
    "miislita": "miIslita.cor",
}
# bundled files that are not UTF-8 (lee.cor writes the pound sign as the Latin-1 byte 0xA3)
GENSIM_ENCODINGS = {"lee-test": "latin-1"}
TEXT_SUFFIXES = {".txt", ".md", ".rst", ".text"}
SPLIT_SEED = 0
logger = logging.getLogger(__name__)


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
        raise MissingDependency(
            "built-in text corpora come with gensim: pip install 'genforge[text]'"
        ) from exc
    return Path(datapath(filename))


def _read_utf8(path: Path, encoding: str = "utf-8") -> str:
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None


def _documents_of(text: str) -> list[str]:
    """Blank-line separated paragraphs, or lines when the file has no blank lines."""
    blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
    if len(blocks) <= 1:
        blocks = [line.strip() for line in text.splitlines() if line.strip()]
    return blocks


def _documents_of_tree(root: Path) -> list[str]:
    """Documents of ``root`` (a file) or of every text file under it (sorted paths: a stable order)."""
    if root.is_file():
        return _documents_of(_read_utf8(root))
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    return [d for f in files for d in _documents_of(_read_utf8(f))]


def documentation_roots() -> list[Path]:
    """Where genforge's own documentation lives: the package's ``docs/`` (installed) or the
    repository's ``docs/`` and ``README.md`` (editable checkout)."""
    package = Path(__file__).resolve().parents[1]
    roots = [package / "docs"]
    checkout = package.parents[1]
    if (checkout / "pyproject.toml").is_file():
        roots.append(checkout / "docs")
    existing = [r for r in roots if r.is_dir()]
    if (checkout / "README.md").is_file() and (checkout / "pyproject.toml").is_file():
        existing.append(checkout / "README.md")
    return existing


def load_corpus(spec: str) -> Corpus:
    """``lee`` / ``docs`` / ``file:PATH`` / ``dir:PATH`` (the part after ``text:``) -> :class:`Corpus`."""
    kind, _, rest = spec.partition(":")
    if kind in GENSIM_CORPORA and not rest:
        text = _read_utf8(gensim_data_path(GENSIM_CORPORA[kind]), GENSIM_ENCODINGS.get(kind, "utf-8"))
        docs = (
            _documents_of(text)
            if kind == "crime"
            else [line.strip() for line in text.splitlines() if line.strip()]
        )
    elif kind == "file":
        path = Path(rest).expanduser()
        if path.is_dir():
            raise DataError(f"{path} is a directory: use text:dir:{rest}")
        if not path.is_file():
            raise DataError(f"text file {path} does not exist")
        docs = _documents_of(_read_utf8(path))
    elif kind == "dir":
        root = Path(rest).expanduser()
        if root.is_file():
            raise DataError(f"{root} is a file: use text:file:{rest}")
        if not root.is_dir():
            raise DataError(f"text directory {root} does not exist")
        docs = _documents_of_tree(root)
        if not docs:
            raise DataError(f"text directory {root} has no non-empty {'/'.join(sorted(TEXT_SUFFIXES))} files")
    elif kind == "docs" and not rest:
        docs = [d for root in documentation_roots() for d in _documents_of_tree(root)]
        if not docs:
            raise DataError(
                "genforge's documentation (docs/*.md, README.md) is not installed here; "
                "use text:lee or text:file:PATH"
            )
    else:
        known = ", ".join([*GENSIM_CORPORA, "docs", "file:PATH", "dir:PATH"])
        raise DataError(f"unknown text corpus '{spec}' (known: {known})")
    if not docs or not any(d.strip() for d in docs):
        raise DataError(f"corpus '{spec}' is empty")
    if len(docs) < 3:
        logger.warning(
            "corpus '%s' has %d document(s), too few to split: validation and test use the training "
            "text, so their figures measure fit, not generalization",
            spec,
            len(docs),
        )
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


# --- the text: dataset ------------------------------------------------------------------------------


class TextOptions(Config):
    tokenizer: Literal["char", "bpe"] = Field(
        "char", description="char (one id per character) or bpe (byte-level BPE)"
    )
    vocab_size: int | None = Field(None, ge=258, le=65536, description="bpe vocabulary size (default 4000)")
    block_size: int = Field(
        128, ge=4, le=8192, description="context length in tokens (examples hold one token more)"
    )


def _windows(ids: list[int], length: int, stride: int, pad_id: int) -> tuple[Any, Any]:
    """Cut a token stream into ``(N, length)`` windows starting every ``stride`` tokens; the last one is
    padded with ``pad_id``. Returns (windows, valid lengths)."""
    import numpy as np
    import torch

    stream = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    starts = torch.arange(0, max(len(ids) - 1, 1), stride)
    padded = torch.cat([stream, torch.full((length,), pad_id, dtype=torch.long)])
    windows = padded[starts[:, None] + torch.arange(length)]
    lengths = (len(ids) - starts).clamp(max=length)
    return windows, lengths


def _token_stream(tokenizer, texts: list[str], eot_id: int) -> list[int]:
    """``<|endoftext|> doc1 <|endoftext|> doc2 … <|endoftext|>``: every document starts after a separator,
    so generation from the separator alone starts a new document."""
    stream = [eot_id]
    for ids in tokenizer.encode_batch(texts):
        stream += ids
        stream.append(eot_id)
    return stream


@register_dataset(
    "text",
    options=TextOptions,
    kind="tokens",
    help="text corpora for language models, tokenized per char or byte-level BPE (options tokenizer, "
    "vocab_size, block_size); gensim's lee, lee-test, head500, crime, miislita; genforge's docs; your files",
    examples=[*(f"text:{name}" for name in GENSIM_CORPORA), "text:docs", "text:file:PATH", "text:dir:PATH"],
)
def text_dataset(arg: str | None, options: TextOptions, artifacts: Path | None) -> Dataset:
    """Token windows of ``block_size + 1`` ids (input and next-token target) per split.

    Training windows start every ``block_size // 2`` tokens (each token is seen at two positions);
    validation and test windows every ``block_size`` tokens so every token is predicted exactly once.
    ``x`` holds the ids, ``length`` the valid ids per window (only the last window of a split is short).
    """

    if not arg:
        raise DataError("text needs a corpus: --data text:lee, text:docs, text:file:PATH or text:dir:PATH")
    if options.tokenizer == "char" and options.vocab_size is not None:
        raise DataError("vocab_size applies to tokenizer=bpe only (char takes every character of the corpus)")
    from genforge.data.tokenizers import END_OF_TEXT, TOKENIZER_FILE, fit_or_load, make_tokenizer

    corpus = load_corpus(arg)
    fresh = make_tokenizer(options.tokenizer, vocab_size=options.vocab_size)
    path = artifacts / TOKENIZER_FILE if artifacts else None
    tokenizer = fit_or_load(path, fresh, corpus.texts("train"), source=corpus.name)

    eot_id = tokenizer.token_id(END_OF_TEXT)
    length = options.block_size + 1
    splits: dict[str, dict[str, Any]] = {}
    for split in ("train", "val", "test"):
        texts = corpus.texts(split)
        stream = _token_stream(tokenizer, texts, eot_id)
        stride = max(options.block_size // 2, 1) if split == "train" else options.block_size
        x, lengths = _windows(stream, length, stride, eot_id)
        splits[split] = {"x": x, "length": lengths}
    token_bytes, token_chars = tokenizer.token_byte_counts()
    info = DataInfo(
        kind="tokens",
        shape=(length,),
        vocab_size=tokenizer.vocab_size,
        extra={
            "tokenizer": tokenizer.kind,
            "context_length": options.block_size,
            "eot_id": eot_id,
            "token_bytes": token_bytes,
            "token_chars": token_chars,
            "tokenizer_sha256": tokenizer.digest(),
        },
    )
    n_chars = sum(len(d) for d in corpus.documents)
    description = (
        f"{corpus.name}: {len(corpus.documents)} documents, {n_chars:,} characters, "
        f"{tokenizer.kind} tokens (vocabulary {tokenizer.vocab_size}), windows of {length}"
    )

    def decode(ids: list[int]) -> str:
        return tokenizer.decode(ids)

    return Dataset(
        spec=f"text:{arg}",
        info=info,
        splits=splits,
        description=description,
        extra={"tokenizer": tokenizer, "decode": decode},
    )
