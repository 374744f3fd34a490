"""Structure-following chunking with a word-piece budget and overlap.

A chunk never crosses a heading (unless ``merge_sections`` packs whole sections): each section's blocks
(paragraphs, code, list items) are packed greedily until the budget, counted in the embedding model's
word pieces, is reached; a block larger than the budget is split at sentence boundaries, and a sentence
larger than the budget at word-piece windows.
Where a chunk boundary falls inside a block, the next chunk repeats up to ``overlap_tokens`` worth of
the block's trailing sentences, so a paragraph cut in two keeps its context; a boundary between whole
blocks gets no overlap (``overlap_all`` repeats sentences at every boundary, as sentence splitters such
as LlamaIndex's do). On the Python docs that saves 9% of the word pieces to embed
(``benchmarks/rag_retrieval.py --count-only``). ``merge_sections`` (off by default) packs consecutive
small sections under a common heading into one chunk. Every chunk is a contiguous span
``document.text[start:end]`` and keeps the heading path above it, so citations can point at exact
character offsets.

all-MiniLM-L6-v2 silently truncates inputs past 256 word pieces; the default budget of 200 (including the
heading breadcrumb that is embedded with the chunk) keeps every chunk fully visible to the model.

Large documents: the text is tokenized in pieces of about ``SEGMENT_CHARS`` characters cut just after
whitespace (where BERT's pre-tokenizer splits anyway, so the word pieces are the same as for the whole
text), and only the start offset of each word piece is kept, 8 bytes each in an ``array``. Tokenizing a
5 MB text in one call built the tokenizer's whole encoding plus a Python list of offset tuples: peak
memory grew by 138 bytes per character; piecewise, by 8.3.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field

from genforge.core.config import Config
from genforge.rag.loaders import Block, Document
from genforge.text.sentences import sentence_spans


class ChunkConfig(Config):
    """How documents are cut into chunks."""

    chunk_tokens: int = Field(
        200, ge=16, le=256, description="word-piece budget per chunk, breadcrumb included"
    )
    overlap_tokens: int = Field(
        32, ge=0, le=128, description="word pieces of trailing sentences repeated where a block is split"
    )
    merge_sections: bool = Field(
        False,
        description="pack consecutive whole sections under a common heading into one chunk while they fit "
        "the budget (fewer chunks; citations then name the common heading)",
    )
    overlap_all: bool = Field(
        False,
        description="repeat trailing sentences at every chunk boundary; by default only where a boundary "
        "falls inside a paragraph or code block (a block split across chunks)",
    )


@dataclass
class Chunk:
    """A contiguous span of a document with its provenance."""

    source: str
    ordinal: int  # position of the chunk within its document
    start: int  # character offsets into Document.text
    end: int
    headings: tuple[str, ...]
    text: str
    num_tokens: int

    @property
    def chunk_id(self) -> str:
        return f"{self.source}#{self.ordinal}"

    def embed_text(self) -> str:
        """What is embedded and BM25-indexed: the heading breadcrumb, then the chunk text."""
        return embed_text(self.headings, self.text)


def embed_text(headings: Sequence[str], text: str) -> str:
    crumb = " > ".join(headings)
    if not crumb or text.startswith(headings[-1]):
        return text if not crumb or text.startswith(crumb) else f"{crumb}\n{text}"
    return f"{crumb}\n{text}"


# token counting -------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def _wordpiece_tokenizer(path: str):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class WordPieceCounter:
    """Counts word pieces of the embedding model (its fast Rust tokenizer, no torch).

    A document is tokenized once (:meth:`token_starts`); the word pieces of any span are then counted by
    bisection over the token start offsets instead of re-tokenizing every candidate chunk.
    """

    def __init__(self, tokenizer_json: str | None = None) -> None:
        if tokenizer_json is None:
            from genforge.embed.sentence import default_model_path

            tokenizer_json = str(default_model_path() / "tokenizer.json")
        self.tokenizer = _wordpiece_tokenizer(tokenizer_json)

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    def token_starts(self, text: str) -> array:
        """Character offset where each word piece of ``text`` starts (ascending), tokenized piecewise."""
        starts = array("q")
        cuts = list(_whitespace_cuts(text, SEGMENT_CHARS))
        for i in range(0, len(cuts) - 1, _SEGMENTS_PER_CALL):
            bounds = cuts[i : i + _SEGMENTS_PER_CALL + 1]
            pieces = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
            encodings = self.tokenizer.encode_batch(pieces, add_special_tokens=False)
            for offset, encoding in zip(bounds, encodings, strict=False):
                starts.extend(offset + start for start, _ in encoding.offsets)
        return starts


SEGMENT_CHARS = 8192  # characters tokenized per piece (see the module docstring)
_SEGMENTS_PER_CALL = 32
_SPACE = re.compile(r"[ \t\n\r]")  # where BERT's pre-tokenizer always splits (not every str.isspace())


def _whitespace_cuts(text: str, size: int) -> Iterator[int]:
    """0, then offsets just after a whitespace character about every ``size`` characters, then len(text).

    A stretch of ``size`` characters without whitespace (a pasted blob) is cut where it stands: the word
    pieces of such a "word" differ (BERT maps words over 100 characters to one unknown piece anyway).
    """
    yield 0
    pos, n = 0, len(text)
    while n - pos > size:
        space = _SPACE.search(text, pos + size, pos + 2 * size)
        pos = space.end() if space else pos + size
        yield pos
    if pos < n:
        yield n


class _SpanCounter:
    """Word pieces inside ``text[start:end]`` from the document's token start offsets."""

    def __init__(self, starts: Sequence[int]) -> None:
        self.starts = starts

    def count(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def windows(self, start: int, end: int, size: int) -> list[tuple[int, int]]:
        """Spans of consecutive ``size``-word-piece windows covering ``[start, end)``."""
        first, last = bisect_left(self.starts, start), bisect_left(self.starts, end)
        cuts = [self.starts[i] for i in range(first, last, size)][1:]
        bounds = [start, *cuts, end]
        return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


# chunking -------------------------------------------------------------------------------------------
@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    block: int = -1  # index of the block the unit comes from


def chunk_document(
    doc: Document, config: ChunkConfig, counter: WordPieceCounter | None = None
) -> list[Chunk]:
    """Cut ``doc`` into chunks that follow its sections; see the module docstring for the rules."""
    counter = counter or WordPieceCounter()
    spans = _SpanCounter(counter.token_starts(doc.text))
    chunks: list[Chunk] = []

    def emit(start: int, end: int, headings: tuple[str, ...], tokens: int) -> None:
        chunks.append(Chunk(doc.source, len(chunks), start, end, headings, doc.text[start:end], tokens))

    def cut(headings: tuple[str, ...], blocks: list[Block]) -> None:
        crumb_tokens = _crumb_tokens(counter, headings)
        budget = max(8, config.chunk_tokens - crumb_tokens)
        units = _units(doc.text, blocks, budget, spans)
        packed = _pack(doc.text, units, budget, config.overlap_tokens, spans, config.overlap_all)
        for start, end, tokens in packed:
            emit(start, end, headings, tokens + crumb_tokens)

    group: list[tuple[tuple[str, ...], list[Block]]] = []  # consecutive whole sections that fit together
    prefix: tuple[str, ...] = ()

    def flush() -> None:
        if len(group) == 1:
            cut(*group[0])
        elif group:
            start, end = group[0][1][0].start, group[-1][1][-1].end
            emit(start, end, prefix, spans.count(start, end) + _crumb_tokens(counter, prefix))
        group.clear()

    for headings, blocks in _sections(doc.blocks):
        if config.merge_sections and group:
            shared = _common_prefix(prefix, headings)
            tokens = spans.count(group[0][1][0].start, blocks[-1].end) + _crumb_tokens(counter, shared)
            if shared and tokens <= config.chunk_tokens:  # only sections under a common heading
                group.append((headings, blocks))
                prefix = shared
                continue
        flush()
        group.append((headings, blocks))
        prefix = headings
    flush()
    return chunks


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _crumb_tokens(counter: WordPieceCounter, headings: tuple[str, ...]) -> int:
    return counter.count(" > ".join(headings)) + 1 if headings else 0


def _sections(blocks: Sequence[Block]) -> list[tuple[tuple[str, ...], list[Block]]]:
    """Group blocks by heading; a heading block opens its section (and is its first unit)."""
    sections: list[tuple[tuple[str, ...], list[Block]]] = []
    for block in blocks:
        if block.kind == "heading" or not sections or sections[-1][0] != block.headings:
            if sections and all(b.kind == "heading" for b in sections[-1][1]) and block.kind != "heading":
                sections[-1] = (block.headings, sections[-1][1] + [block])
                continue
            sections.append((block.headings, [block]))
        else:
            sections[-1][1].append(block)
    # a section that is only a heading followed by its first subsection heading folds into that subsection
    merged: list[tuple[tuple[str, ...], list[Block]]] = []
    for headings, blocks in sections:
        if merged and all(b.kind == "heading" for b in merged[-1][1]):
            merged[-1] = (headings, merged[-1][1] + blocks)
        else:
            merged.append((headings, blocks))
    return merged


def _units(text: str, blocks: Sequence[Block], budget: int, spans: _SpanCounter) -> list[_Unit]:
    units: list[_Unit] = []
    for i, block in enumerate(blocks):
        tokens = spans.count(block.start, block.end)
        if tokens <= budget:
            units.append(_Unit(block.start, block.end, tokens, i))
            continue
        for start, end in sentence_spans(text, block.start, block.end):
            n = spans.count(start, end)
            if n <= budget:
                units.append(_Unit(start, end, n, i))
                continue
            for a, b in spans.windows(start, end, budget):
                units.append(_Unit(a, b, spans.count(a, b), i))
    return units


def _pack(
    text: str, units: list[_Unit], budget: int, overlap: int, spans: _SpanCounter, overlap_all: bool = False
) -> list[tuple[int, int, int]]:
    """Greedy packing of consecutive units into (start, end, tokens) spans, with trailing-sentence overlap
    where the boundary splits a block (at every boundary with ``overlap_all``)."""
    out: list[tuple[int, int, int]] = []
    current: list[_Unit] = []
    total = 0
    for unit in units:
        if current and total + unit.tokens > budget:
            out.append((current[0].start, current[-1].end, total))
            inside = overlap_all or unit.block == current[-1].block
            room = min(overlap, budget - unit.tokens) if inside else 0
            tail = _overlap_tail(text, current, room, spans)
            current, total = ([tail], tail.tokens) if tail else ([], 0)
        current.append(unit)
        total += unit.tokens
    if current:
        out.append((current[0].start, current[-1].end, total))
    return out


def _overlap_tail(text: str, units: list[_Unit], room: int, spans: _SpanCounter) -> _Unit | None:
    """The longest run of whole trailing sentences of ``units`` that fits in ``room`` word pieces."""
    if room <= 0:
        return None
    end = units[-1].end
    best = None
    for start, _ in reversed(sentence_spans(text, units[0].start, end)):
        tokens = spans.count(start, end)
        if tokens > room:
            break
        best = _Unit(start, end, tokens)
    return best
