"""A learned injection/jailbreak detector that ships inside genforge and runs offline in about a millisecond.

Features: hashed character 3–5-grams (inside word boundaries) and word 1–2-grams of the normalized, lower-cased
text (:mod:`genforge.guard.normalize`), one indicator per cue of the explainable rails
(:mod:`genforge.guard.injection`), and the mean and maximum of static MiniLM token vectors over the text
(:mod:`genforge.guard.embedding`). Model: L2-regularized logistic regression (scikit-learn, ``liblinear``, so
training is deterministic). Long texts are scored in overlapping windows and the worst window counts, since
attacks hide at the end of long documents. The weights are stored as safetensors beside a JSON file holding the
settings, the calibrated threshold, the SHA-256 of the weights and the fingerprint of the training data.

Why static token vectors and not the sentence embedding: running all-MiniLM-L6-v2 per check costs 170–280 ms
for a 1,000-character text on one thread of this shared 2-core machine, far over the latency budget of the whole
input policy. N-grams alone learn the phrasing of the sources they saw and miss a new source's words for the same
move; MiniLM's outputs for each vocabulary token, computed once and PCA-reduced to 48 dimensions (shipped beside
the weights), give neighbouring vectors to "disregard", "ignore" and "pay no attention", for the cost of a table
look-up. The pooled block is scaled to a fixed length (``EMBED_SCALE``, chosen by leave-one-source-out recall
and the dev pages' false-positive rate in ``benchmarks/train_guard_model.py``).

A check does not import scikit-learn (1.5 s idle, 3-5 s under load, before the first verdict of ``guard
check``, ``rag ask`` or a server): its n-grams (:func:`char_wb_grams`, :func:`word_grams`) and their columns
(MurmurHash3 through ``mmh3``, :func:`_hash_column`) are computed here the way ``HashingVectorizer`` computes
them, and ``tests/guard/test_detector.py`` checks every column and value against scikit-learn's. Training
(:func:`featurize`) still uses ``HashingVectorizer`` itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import mmh3
import numpy as np

from genforge.core import io
from genforge.core.errors import CheckpointError, DataError
from genforge.guard.embedding import POOLED, pooled, table
from genforge.guard.injection import INJECTION_CUES, JAILBREAK_CUES, all_cue_hits
from genforge.guard.normalize import normalize

CHAR_FEATURES = 2**17
WORD_FEATURES = 2**16
CUE_NAMES = tuple(c.name for c in INJECTION_CUES + JAILBREAK_CUES)
EMBED_OFFSET = CHAR_FEATURES + WORD_FEATURES + len(CUE_NAMES)
EMBED_SCALE = 1.0  # length of the pooled token-vector block (made unit-length, then scaled; searched by LOSO)
DIMENSIONS = EMBED_OFFSET + POOLED
WINDOW_CHARS = 1000
WINDOW_STRIDE = 500
MAX_WINDOWS = 16  # 8,500 characters: the default size limit stops longer input before this rail
KIND_COLUMNS = 256  # nonzero columns kept of each attack kind's centroid (the "resembles" explanation)
WEIGHTS_FILE = "weights.safetensors"
META_FILE = "model.json"


@lru_cache(maxsize=1)
def _vectorizers():
    from sklearn.feature_extraction.text import HashingVectorizer

    chars = HashingVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), n_features=CHAR_FEATURES, alternate_sign=False
    )
    words = HashingVectorizer(
        analyzer="word", ngram_range=(1, 2), n_features=WORD_FEATURES, alternate_sign=False
    )
    return chars, words


_CUE_INDEX = {name: i for i, name in enumerate(CUE_NAMES)}


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # HashingVectorizer's default token_pattern


def char_wb_grams(text: str) -> list[str]:
    """The character 3-5-grams of ``text`` inside word boundaries, each word padded with one space on each
    side: ``HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5))``'s analyzer on lower-cased text."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(3, 6):
            grams.append(padded[:n])
            offset = 0
            while offset + n < size:
                offset += 1
                grams.append(padded[offset : offset + n])
            if offset == 0:  # a short word is counted once
                break
    return grams


def word_grams(text: str) -> list[str]:
    """Word 1- and 2-grams of ``text`` (unigrams first): ``HashingVectorizer(ngram_range=(1, 2))``'s analyzer
    on lower-cased text."""
    tokens = _TOKEN.findall(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


_WORD_COLUMNS: dict[str, np.ndarray] = {}
WORD_CACHE_SIZE = 2**16


def _char_columns(words: list[str]) -> np.ndarray:
    """Columns of the character n-grams of ``words`` (whitespace-free; ``char_wb`` n-grams never cross words),
    one entry per occurrence. Words seen before come from a cache; new ones are hashed in one batch."""
    known = {w: _WORD_COLUMNS.get(w) for w in set(words)}  # a local view: other threads may clear the cache
    new = sorted(w for w, columns in known.items() if columns is None)
    if new:
        for word in new:
            known[word] = np.fromiter((_hash_column(g, CHAR_FEATURES) for g in char_wb_grams(word)), np.int64)
        if len(_WORD_COLUMNS) + len(new) > WORD_CACHE_SIZE:
            _WORD_COLUMNS.clear()
        _WORD_COLUMNS.update((w, known[w]) for w in new)
    parts = [known[w] for w in words]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _normalized_counts(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ``columns`` and their L2-normalized counts (hash collisions add up, as in scikit-learn)."""
    if not len(columns):
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    columns, counts = np.unique(columns, return_counts=True)
    values = counts.astype(np.float64)
    return columns, values / math.sqrt(float(values @ values))


def sparse_features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``(columns, values)`` of one text's feature row, equal to the nonzeros of ``featurize([text])``.

    The per-check path: the character n-gram columns of each word and the column of each word n-gram are
    memoized (words not seen before are hashed in one batch), so a check costs a whitespace split, the word
    analyzer and cache look-ups instead of two scikit-learn sparse matrices per window."""
    seen = normalize(text).text.lower()
    char_cols, char_vals = _normalized_counts(_char_columns(seen.split()))
    grams = word_grams(seen)
    word_cols, word_vals = _normalized_counts(
        np.fromiter((_hash_column(g, WORD_FEATURES) for g in grams), np.int64, len(grams))
    )
    cue_cols = np.asarray(sorted(_CUE_INDEX[n] for n in all_cue_hits(text)), dtype=np.int64)
    embedded = _embedded(seen)
    embed_cols = np.flatnonzero(embedded)  # a sparse row keeps no zeros
    columns = np.concatenate(
        [
            char_cols,
            word_cols + CHAR_FEATURES,
            cue_cols + CHAR_FEATURES + WORD_FEATURES,
            embed_cols + EMBED_OFFSET,
        ]
    )
    values = np.concatenate([char_vals, word_vals, np.ones(len(cue_cols)), embedded[embed_cols]])
    return columns, values


def _embedded(seen: str) -> np.ndarray:
    """The pooled token vectors of normalized, lower-cased ``seen`` scaled to length ``EMBED_SCALE``: unscaled,
    the block's length grows with the text (the max-pool) and widened the benign documentation score tail."""
    vector = pooled(seen)
    length = float(np.linalg.norm(vector))
    return vector * (EMBED_SCALE / length) if length > 0 else vector


def _parts(texts: list[str]):
    """The four feature blocks: char n-grams, word n-grams (sparse), cue indicators and pooled token vectors
    (dense)."""
    chars, words = _vectorizers()
    seen = [normalize(t).text.lower() for t in texts]
    cues = np.zeros((len(texts), len(CUE_NAMES)), dtype=np.float64)
    for row, text in enumerate(texts):
        for name in all_cue_hits(text):
            cues[row, _CUE_INDEX[name]] = 1.0
    embedded = np.asarray([_embedded(t) for t in seen]).reshape(len(texts), POOLED)
    return chars.transform(seen), words.transform(seen), np.hstack([cues, embedded])


def featurize(texts: list[str]):
    """``(len(texts), DIMENSIONS)`` sparse CSR matrix: char n-grams, word n-grams, cue indicators, pooled
    token vectors."""
    from scipy import sparse

    char_block, word_block, cues = _parts(texts)
    return sparse.hstack([char_block, word_block, sparse.csr_matrix(cues)], format="csr")


def windows(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character windows covering ``text``: the whole text when short, else overlapping."""
    if len(text) <= WINDOW_CHARS:
        return [(0, len(text))]
    starts = list(range(0, len(text) - WINDOW_CHARS + WINDOW_STRIDE, WINDOW_STRIDE))[:MAX_WINDOWS]
    return [(s, min(s + WINDOW_CHARS, len(text))) for s in starts]


@dataclass
class DetectorModel:
    """Weights ``(DIMENSIONS,)``, bias, and the threshold calibrated on a dev set; ``meta`` is the JSON side."""

    weights: np.ndarray
    bias: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)
    kind_columns: np.ndarray | None = None  # (kinds, KIND_COLUMNS) int32, each row sorted
    kind_values: np.ndarray | None = None  # (kinds, KIND_COLUMNS) float32: that kind's centroid there

    def __post_init__(self) -> None:
        self._weights64 = np.asarray(self.weights, dtype=np.float64)

    def probabilities(self, texts: list[str], features=None) -> np.ndarray:
        """Attack probability of each whole text (no windows); ``features`` from :func:`featurize` if known."""
        w = self._weights64
        if features is not None:
            decision = np.asarray(features @ w).ravel()
        else:
            decision = np.asarray([float(v @ w[c]) for c, v in map(sparse_features, texts)])
        return 1.0 / (1.0 + np.exp(-(decision + self.bias)))

    def score(self, text: str) -> tuple[float, tuple[int, int]]:
        """Probability of the worst window of ``text`` and that window's span."""
        spans = windows(text)
        probs = self.probabilities([text[a:b] for a, b in spans])
        worst = int(np.argmax(probs))
        return float(probs[worst]), spans[worst]

    def resembles(self, text: str, k: int = 2) -> list[tuple[str, float]]:
        """The ``k`` attack kinds of the training data whose centroid is nearest ``text`` (cosine of the text's
        n-gram row, each block unit length, with each kind's unit centroid); empty for a model without kinds."""
        kinds = self.meta.get("kinds") or []
        if not kinds or self.kind_columns is None:
            return []
        columns, values = sparse_features(text)
        similarity = []
        for name, kind_cols, kind_vals in zip(kinds, self.kind_columns, self.kind_values, strict=True):
            where = np.searchsorted(kind_cols, columns).clip(max=len(kind_cols) - 1)
            hit = kind_cols[where] == columns
            similarity.append((name, float(values[hit] @ kind_vals[where[hit]]) / math.sqrt(2.0)))
        similarity.sort(key=lambda kv: (-kv[1], kv[0]))
        return [(name, round(sim, 3)) for name, sim in similarity[:k] if sim > 0]

    def top_features(self, text: str, k: int = 5) -> list[str]:
        """The ``k`` n-grams and cues of ``text`` that push its score up the most (the explanation): character
        n-grams quoted, word n-grams bare, cues as ``cue:NAME``; ties broken by name."""
        seen = normalize(text).text.lower()
        names: list[tuple[str, bool]] = []  # (gram, is a character n-gram)
        columns: list[int] = []
        for offset, analyzer, size in (
            (0, char_wb_grams, CHAR_FEATURES),
            (CHAR_FEATURES, word_grams, WORD_FEATURES),
        ):
            for gram in set(analyzer(seen)):
                names.append((gram, offset == 0))
                columns.append(offset + _hash_column(gram, size))
        base = CHAR_FEATURES + WORD_FEATURES
        for name in all_cue_hits(text):
            names.append((f"cue:{name}", False))
            columns.append(base + CUE_NAMES.index(name))
        if not names or k == 0:
            return []
        weights = self._weights64[np.asarray(columns, dtype=np.int64)]
        cutoff = np.sort(weights)[::-1][min(k, len(weights)) - 1]  # quote only the candidates, not every gram
        best = sorted(
            (
                (repr(gram) if quoted else gram, float(weight))
                for (gram, quoted), weight in zip(names, weights, strict=True)
                if weight >= cutoff
            ),
            key=lambda kv: (-kv[1], kv[0]),
        )[:k]
        return [name for name, weight in best if weight > 0]

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``weights.safetensors`` and ``model.json`` (with the weights' SHA-256) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        from safetensors.numpy import save

        tensors = {"weights": self.weights.astype(np.float32)}
        if self.kind_columns is not None:
            tensors["kind_columns"] = self.kind_columns.astype(np.int32)
            tensors["kind_values"] = self.kind_values.astype(np.float32)
        io.atomic_write_bytes(directory / WEIGHTS_FILE, save(tensors))
        meta = {
            **self.meta,
            "format": "genforge-jailbreak-detector/1",
            "dimensions": DIMENSIONS,
            "cues": list(CUE_NAMES),
            "token_vectors_sha256": table()[2],
            "embed_scale": EMBED_SCALE,
            "bias": self.bias,
            "threshold": self.threshold,
            "weights_sha256": _sha256(directory / WEIGHTS_FILE),
        }
        io.atomic_write_json(directory / META_FILE, meta)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> DetectorModel:
        """Read a saved model; a missing file, wrong hash, wrong shape or other cue set is one clear error."""
        directory = Path(directory)
        meta_path, weights_path = directory / META_FILE, directory / WEIGHTS_FILE
        for path in (meta_path, weights_path):
            if not path.is_file():
                raise CheckpointError(
                    f"detector model {directory} has no {path.name} (train one with 'guard train')"
                )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{meta_path} is not valid JSON ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != "genforge-jailbreak-detector/1":
            raise CheckpointError(f"{meta_path} is not a genforge jailbreak detector description")
        if _sha256(weights_path) != meta.get("weights_sha256"):
            raise CheckpointError(
                f"{weights_path} does not match the SHA-256 in {meta_path}: damaged or replaced"
            )
        if meta.get("cues") != list(CUE_NAMES):
            raise CheckpointError(
                f"{directory} was trained with other cue rails; retrain it with 'guard train'"
            )
        if meta.get("token_vectors_sha256") != table()[2]:
            raise CheckpointError(
                f"{directory} was trained with other token vectors; retrain it with 'guard train'"
            )
        if meta.get("embed_scale") != EMBED_SCALE:
            raise CheckpointError(
                f"{directory} was trained with another token-vector scale; retrain it with 'guard train'"
            )
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            tensors = load(weights_path.read_bytes())
        except (SafetensorError, ValueError) as exc:
            raise CheckpointError(f"{weights_path} is not a readable safetensors file ({exc})") from None
        weights = tensors.get("weights")
        if weights is None or tuple(weights.shape) != (DIMENSIONS,):
            shape = None if weights is None else tuple(weights.shape)
            raise CheckpointError(f"{weights_path} holds weights of shape {shape}, expected ({DIMENSIONS},)")
        bias, threshold = meta.get("bias"), meta.get("threshold")
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in (bias, threshold)):
            raise CheckpointError(f"{meta_path} needs finite numbers 'bias' and 'threshold'")
        kind_columns, kind_values = tensors.get("kind_columns"), tensors.get("kind_values")
        shape = (len(meta.get("kinds") or []), KIND_COLUMNS)
        if kind_columns is not None and (
            kind_values is None or not kind_columns.shape == kind_values.shape == shape
        ):
            raise CheckpointError(
                f"{weights_path} holds kind centroids of shape {kind_columns.shape}, expected {shape}"
            )
        return cls(
            np.asarray(weights, dtype=np.float32),
            float(bias),
            float(threshold),
            meta,
            kind_columns,
            kind_values,
        )


@lru_cache(maxsize=2**17)
def _hash_column(gram: str, size: int) -> int:
    """The column HashingVectorizer gives ``gram`` (signed 32-bit MurmurHash3 of its UTF-8 bytes, seed 0,
    absolute value modulo ``size``)."""
    return abs(mmh3.hash(gram, 0, signed=True)) % size


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def packaged_model_dir() -> Path:
    return Path(str(resources.files("genforge").joinpath("assets/guard/jailbreak_model")))


@lru_cache(maxsize=4)
def load_model(directory: str | None = None) -> DetectorModel:
    """The model at ``directory`` (default: the packaged one), loaded once per process."""
    return DetectorModel.load(directory or packaged_model_dir())


def train_detector(
    texts: list[str],
    labels: list[int],
    *,
    c: float = 4.0,
    meta: dict[str, Any] | None = None,
    features=None,
    kinds: list[str | None] | None = None,
    sample_weight: np.ndarray | None = None,
) -> DetectorModel:
    """Fit the logistic head on ``texts`` (label 1 = attack; ``features`` from :func:`featurize` if already
    computed; ``sample_weight`` per text, e.g. to let each source count equally). ``kinds`` names each attack's kind (None for benign texts): the model keeps each kind's
    centroid so a verdict can say what an attack resembles. The threshold starts at 0.5; calibrate it."""
    from sklearn.linear_model import LogisticRegression

    classes = set(labels)
    if len(texts) != len(labels) or not texts:
        raise DataError("training needs one label per text and at least one text")
    if classes != {0, 1}:
        raise DataError(
            f"training needs both attacks (label 1) and benign texts (label 0); got only {sorted(classes)}"
        )
    # liblinear shuffles with numpy's global generator unless given a seed: fix it, never seed the global one
    head = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=0)
    features = featurize(texts) if features is None else features
    head.fit(features, np.asarray(labels), sample_weight=sample_weight)
    model = DetectorModel(
        head.coef_.ravel().astype(np.float32), float(head.intercept_[0]), 0.5, dict(meta or {})
    )
    if kinds is not None:
        names, model.kind_columns, model.kind_values = kind_centroids(features, kinds)
        model.meta["kinds"] = names
    return model


def kind_centroids(features, kinds: list[str | None]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, columns ``(K, KIND_COLUMNS)`` (sorted per row) and values of each kind's mean n-gram row (cue
    indicators left out: they would outweigh the n-grams and name the cue, not the kind), restricted to its
    ``KIND_COLUMNS`` largest entries and scaled to unit length; rows whose kind is None are skipped."""
    names = sorted({k for k in kinds if k})
    columns = np.zeros((len(names), KIND_COLUMNS), dtype=np.int32)
    values = np.zeros((len(names), KIND_COLUMNS), dtype=np.float32)
    for i, name in enumerate(names):
        rows = [j for j, k in enumerate(kinds) if k == name]
        mean = np.asarray(features[rows].mean(axis=0)).ravel()[: CHAR_FEATURES + WORD_FEATURES]
        top = np.sort(np.argsort(-mean, kind="stable")[:KIND_COLUMNS])
        columns[i], values[i] = top, mean[top] / max(float(np.linalg.norm(mean[top])), 1e-12)
    return names, columns, values


def calibrate_threshold(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The smallest threshold whose false-positive rate on ``benign_scores`` is at most ``target_fpr``."""
    if not 0.0 <= target_fpr < 1.0:
        raise DataError(f"target false-positive rate must be in [0, 1), got {target_fpr}")
    scores = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    if not len(scores):
        raise DataError("calibration needs benign texts (expected: [])")
    allowed = int(math.floor(target_fpr * len(scores)))
    return float(min(1.0, np.nextafter(scores[allowed], 2.0))) if allowed < len(scores) else 0.0
