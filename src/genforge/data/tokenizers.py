"""Tokenizers for language models: character-level and byte-level BPE, both on Hugging Face ``tokenizers``.

Both round-trip exactly on any UTF-8 text (``decode(encode(s)) == s``):

* :class:`CharTokenizer` gives every character seen in the training texts its own id and spells any
  other character as its UTF-8 bytes (256 ``<0xNN>`` byte-fallback tokens), so unseen scripts and emoji
  still encode and decode losslessly. It is a BPE model with no merges and ``byte_fallback`` on.
* :class:`BPETokenizer` is byte-level BPE (GPT-2 style): text is mapped to bytes first, so there is no
  unknown token, and ``vocab_size`` merges are learned from the training texts with ``BpeTrainer``.

Special tokens (``<|endoftext|>`` for language models; ``<pad>``, ``<bos>``, ``<eos>`` for seq2seq)
take the first ids. Following scikit-learn, the constructor stores settings, :meth:`fit` learns the
vocabulary (attributes ending in ``_``), and :meth:`save` / :func:`load_tokenizer` round-trip it through
one JSON file (no pickle) that also records what the tokenizer was trained on, so a run can tell its own
tokenizer from one copied from another run (:func:`fit_or_load`).

A tokenizer is fitted preprocessing, like the transforms in :mod:`genforge.data.transforms`: the dataset
factories (``text:``, ``seq2seq:``) fit it on a run's training split, and models only ever see its ids.
So it lives in ``data/`` and depends only on ``core`` and the ``tokenizers`` library; the layers above
(``pipelines`` for generation, ``cli``) import it from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from genforge.core.errors import CheckpointError, ConfigError, DataError, require
from genforge.core.io import atomic_write_json

FORMAT = "genforge-tokenizer/1"
TOKENIZER_FILE = "tokenizer.json"  # a run's tokenizer, beside its config.json
END_OF_TEXT = "<|endoftext|>"
LM_SPECIALS = (END_OF_TEXT,)
SEQ2SEQ_SPECIALS = ("<pad>", "<bos>", "<eos>")


def fingerprint(texts: Iterable[str]) -> str:
    """SHA-256 over the texts (length-prefixed, so document boundaries count): identifies a training set."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _utf8_char_starts(data: bytes) -> int:
    """Number of UTF-8 lead bytes (bytes that are not 0b10xxxxxx continuations) = characters begun."""
    return sum(1 for b in data if b & 0xC0 != 0x80)


class TextTokenizer:
    """Shared behaviour of the two tokenizers; subclasses implement :meth:`_build` and :meth:`_token_bytes`."""

    kind = ""

    def __init__(self, special_tokens: Sequence[str] = LM_SPECIALS) -> None:
        self.special_tokens = tuple(special_tokens)
        self.backend_: Any = None
        self.trained_on_: dict[str, Any] = {}

    # fitting -------------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], *, source: str = "") -> TextTokenizer:
        """Learn the vocabulary from ``texts``; ``source`` names the corpus in the saved file."""
        if not any(texts):
            raise DataError(
                f"cannot fit a {self.kind} tokenizer on empty text{f' ({source})' if source else ''}"
            )
        self.backend_ = self._build(texts)
        self.trained_on_ = {"source": source, "documents": len(texts), "sha256": fingerprint(texts)}
        return self

    def _build(self, texts: Sequence[str]) -> Any:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if self.backend_ is None:
            raise ConfigError(f"this {self.kind} tokenizer is not fitted yet: call fit(texts) or load one")

    # encoding ------------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        self._check_fitted()
        return self.backend_.get_vocab_size(with_added_tokens=True)

    def token_id(self, token: str) -> int:
        """Id of a special token such as ``<|endoftext|>``."""
        self._check_fitted()
        token_id = self.backend_.token_to_id(token)
        if token_id is None:
            raise ConfigError(f"this tokenizer has no token {token!r}")
        return token_id

    def encode(self, text: str) -> list[int]:
        self._check_fitted()
        return self.backend_.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        self._check_fitted()
        return [e.ids for e in self.backend_.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """Text of ``ids``; incomplete UTF-8 byte sequences become U+FFFD (only possible for sampled ids)."""
        self._check_fitted()
        bad = [i for i in ids if not 0 <= int(i) < self.vocab_size]
        if bad:
            raise ConfigError(
                f"token id {bad[0]} is outside this tokenizer's vocabulary of {self.vocab_size}"
            )
        return self.backend_.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def token_label(self, token_id: int) -> str:
        """Printable form of one id: its text, or its raw token (``<0xC3>``) when it is only part of a
        character."""
        text = self.decode([token_id])
        return text if "\ufffd" not in text else self.backend_.id_to_token(token_id)

    def is_byte_token(self, token_id: int) -> bool:
        """True for a character-level byte-fallback id (``<0xNN>``): a character unseen in training."""
        return False

    def token_byte_counts(self) -> tuple[list[int], list[int]]:
        """Per id: (UTF-8 bytes it stands for, characters it begins). Summed over any id sequence these
        give exact byte and character counts, which turn nats per token into bits per byte/character.
        A special token counts as one byte and one character (a document separator)."""
        self._check_fitted()
        n_bytes, n_chars = [], []
        for token_id in range(self.vocab_size):
            token = self.backend_.id_to_token(token_id)
            data = b"\n" if token in self.special_tokens else self._token_bytes(token)
            n_bytes.append(len(data))
            n_chars.append(_utf8_char_starts(data))
        return n_bytes, n_chars

    def _token_bytes(self, token: str) -> bytes:
        raise NotImplementedError

    # persistence ---------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {"special_tokens": list(self.special_tokens)}

    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": FORMAT,
            "kind": self.kind,
            "settings": self.settings(),
            "vocab_size": self.vocab_size,
            "trained_on": self.trained_on_,
            "backend": json.loads(self.backend_.to_str()),
        }

    def digest(self) -> str:
        """SHA-256 of the whole saved form (vocabulary, merges, settings, training set): the same value
        before :meth:`save` and after :func:`load_tokenizer`; a run records it to recognise its tokenizer."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode("utf-8")).hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer (settings, what it was trained on, and the HF tokenizer) as one JSON file."""
        return atomic_write_json(path, self.to_dict())


def _is_byte_fallback(token: str) -> bool:
    return len(token) == 6 and token.startswith("<0x") and token.endswith(">")


class CharTokenizer(TextTokenizer):
    """One id per character seen in training; any other character is spelled as UTF-8 byte tokens."""

    kind = "char"

    def _build(self, texts: Sequence[str]) -> Any:
        tokenizers = require("tokenizers", "text")
        vocab: dict[str, int] = {token: i for i, token in enumerate(self.special_tokens)}
        for byte in range(256):
            vocab[f"<0x{byte:02X}>"] = len(vocab)
        for char in sorted(set("".join(texts))):
            vocab.setdefault(char, len(vocab))
        backend = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=[], byte_fallback=True))
        backend.add_special_tokens(list(self.special_tokens))
        backend.decoder = tokenizers.decoders.Sequence(
            [tokenizers.decoders.ByteFallback(), tokenizers.decoders.Fuse()]
        )
        return backend

    def is_byte_token(self, token_id: int) -> bool:
        self._check_fitted()
        return _is_byte_fallback(self.backend_.id_to_token(token_id) or "")

    def _token_bytes(self, token: str) -> bytes:
        if _is_byte_fallback(token):
            return bytes([int(token[3:5], 16)])
        return token.encode("utf-8")


class BPETokenizer(TextTokenizer):
    """Byte-level BPE with ``vocab_size`` entries (256 byte symbols + specials + learned merges)."""

    kind = "bpe"

    def __init__(
        self, vocab_size: int = 4000, special_tokens: Sequence[str] = LM_SPECIALS, min_frequency: int = 2
    ) -> None:
        super().__init__(special_tokens)
        minimum = 256 + len(self.special_tokens)
        if vocab_size < minimum:
            raise ConfigError(
                f"bpe vocab_size must be at least {minimum} (256 bytes + special tokens), got {vocab_size}"
            )
        self.vocab_size_requested = vocab_size
        self.min_frequency = min_frequency

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "vocab_size": self.vocab_size_requested,
            "min_frequency": self.min_frequency,
        }

    def _build(self, texts: Sequence[str]) -> Any:
        tokenizers = require("tokenizers", "text")
        byte_level = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        backend = tokenizers.Tokenizer(tokenizers.models.BPE())
        backend.pre_tokenizer = byte_level
        backend.decoder = tokenizers.decoders.ByteLevel()
        trainer = tokenizers.trainers.BpeTrainer(
            vocab_size=self.vocab_size_requested,
            min_frequency=self.min_frequency,
            special_tokens=list(self.special_tokens),
            initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(list(texts), trainer=trainer)
        return backend

    def _token_bytes(self, token: str) -> bytes:
        return bytes(_byte_level_decoder()[c] for c in token)


_BYTE_DECODER: dict[str, int] = {}


def _byte_level_decoder() -> dict[str, int]:
    """The GPT-2 byte <-> printable-character table that byte-level BPE tokens are spelled in."""
    if not _BYTE_DECODER:
        printable = [
            *range(ord("!"), ord("~") + 1),
            *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1),
        ]
        chars = list(printable)
        extra = 0
        for byte in range(256):
            if byte not in printable:
                printable.append(byte)
                chars.append(256 + extra)
                extra += 1
        _BYTE_DECODER.update({chr(c): b for b, c in zip(printable, chars, strict=True)})
    return _BYTE_DECODER


def make_tokenizer(
    kind: str, *, vocab_size: int | None = None, special_tokens: Sequence[str] = LM_SPECIALS
) -> TextTokenizer:
    """An unfitted tokenizer of ``kind`` (``char`` or ``bpe``)."""
    if kind == "char":
        if vocab_size is not None:
            raise ConfigError(
                "vocab_size applies to the bpe tokenizer only (char takes every character it sees)"
            )
        return CharTokenizer(special_tokens)
    if kind == "bpe":
        return BPETokenizer(vocab_size or 4000, special_tokens)
    raise ConfigError(f"unknown tokenizer '{kind}' (available: char, bpe)")


def fit_or_load(
    path: Path | None, fresh: TextTokenizer, texts: Sequence[str], *, source: str
) -> TextTokenizer:
    """A run's tokenizer: loaded from ``path`` when it exists, after checking it is the one ``fresh``
    (same kind and settings) would learn from ``texts``; otherwise ``fresh`` fitted on ``texts`` and
    saved to ``path``. A file from another run or corpus is a :class:`DataError`, never silently used."""
    if path is None or not path.exists():
        fresh.fit(texts, source=source)
        if path is not None:
            fresh.save(path)
        return fresh
    loaded = load_tokenizer(path)
    problems = []
    if loaded.kind != fresh.kind:
        problems.append(f"it is a {loaded.kind} tokenizer, the options ask for {fresh.kind}")
    else:
        old, new = loaded.settings(), fresh.settings()
        problems += [
            f"its {key} is {old.get(key)}, the options ask for {new.get(key)}"
            for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)
        ]
    if loaded.trained_on_.get("sha256") != fingerprint(texts):
        trained = loaded.trained_on_.get("source") or "another corpus"
        problems.append(f"it was trained on {trained}, not on the training split of {source}")
    if problems:
        raise DataError(
            f"{path} does not belong to this data ({'; '.join(problems)}): it comes from another "
            "run; train into a fresh run directory or delete the file"
        )
    return loaded


def load_tokenizer(path: str | Path) -> TextTokenizer:
    """Rebuild a tokenizer written by :meth:`TextTokenizer.save`."""
    from genforge.core.io import read_json

    tokenizers = require("tokenizers", "text")
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a genforge tokenizer file (format {FORMAT})")
    settings = data["settings"]
    specials = settings["special_tokens"]
    if data["kind"] == "char":
        tokenizer: TextTokenizer = CharTokenizer(specials)
    elif data["kind"] == "bpe":
        tokenizer = BPETokenizer(settings["vocab_size"], specials, settings.get("min_frequency", 2))
    else:
        raise CheckpointError(f"{path} holds an unknown tokenizer kind '{data['kind']}'")
    try:
        tokenizer.backend_ = tokenizers.Tokenizer.from_str(json.dumps(data["backend"]))
    except Exception as exc:  # the Rust library raises a plain Exception for malformed JSON
        raise CheckpointError(f"{path} holds a damaged tokenizer ({exc})") from None
    tokenizer.trained_on_ = data.get("trained_on", {})
    return tokenizer


def load_run_tokenizer(
    run_dir: str | Path, *, expected_digest: str | None, vocab_size: int, run_id: str = ""
) -> TextTokenizer:
    """The tokenizer saved in a run directory, checked against what the run's model was trained with:
    its :meth:`~TextTokenizer.digest` when the run recorded one (``expected_digest``), else its size.
    Needs no corpus, so a run stays usable for generation after its training data is gone."""
    path = Path(run_dir) / TOKENIZER_FILE
    name = run_id or Path(run_dir).name
    if not path.exists():
        raise CheckpointError(
            f"run {name} has no {TOKENIZER_FILE}: it was not trained on tokenized text, or the "
            "file was deleted (restore it from a copy of the run)"
        )
    tokenizer = load_tokenizer(path)
    if (
        expected_digest is not None and tokenizer.digest() != expected_digest
    ) or tokenizer.vocab_size != vocab_size:
        raise CheckpointError(
            f"{path} is not the tokenizer run {name} was trained with ({tokenizer.kind}, "
            f"{tokenizer.vocab_size} tokens; the model has {vocab_size}): it comes from another "
            "run; restore the run's own tokenizer.json"
        )
    return tokenizer
