"""ELMo-style contextual word vectors (Peters et al., 2018) from a bidirectional LSTM language model.

genforge trains a small word-level biLM on the user's corpus: a token embedding (layer 0) feeds a stack of
forward LSTMs that predict the next word and a stack of backward LSTMs that predict the previous word,
sharing one softmax (as ELMo ties it across directions). The representation of token ``t`` at layer
``k >= 1`` is ``[forward_k(t); backward_k(t)]``; layer 0 is the token embedding. ELMo mixes the layers
with a scalar mix ``gamma * sum_k s_k h_k`` whose weights are learned by a downstream task; with no task
here the mix is fixed (``mix_weights``, default equal weights, normalised to sum 1, ``gamma = 1``).

Choices, documented: word-level rather than ELMo's character CNN (10x cheaper on 2 CPU cores; the
price is that a word below ``min_count`` maps to ``<unk>``); no residual connections or projection
layers. For word-level tests (WordSim353, analogies) a model needs one vector per word: the **static
vector** of a word is the average of its mixed contextual vectors over all its occurrences in the training
documents (an "anchor" embedding, as in Schuster et al., 2019). ``embed_texts`` and :meth:`contextual_vectors`
use the contextual vectors themselves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import CheckpointError, ConfigError, TrainingDiverged
from genforge.embed.base import register_embedding
from genforge.embed.corpus import build_vocabulary, tokenize
from genforge.embed.runtime import forked_rng, torch_threads
from genforge.embed.static import WordVectors

UNKNOWN = "<unk>"


class ElmoConfig(Config):
    min_count: int = Field(5, ge=1, description="words seen fewer times become <unk>")
    layers: int = Field(2, ge=1, description="LSTM layers per direction")
    seq_len: int = Field(32, ge=2, description="tokens per training sequence")
    batch_size: int = Field(32, ge=1, description="sequences per optimizer step")
    epochs: int = Field(5, ge=1, description="passes over the training documents")
    learning_rate: float = Field(3e-3, gt=0, description="Adam learning rate")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout between layers while training")
    mix_weights: list[float] | None = Field(
        None, description="fixed scalar-mix weights for layers 0..layers (normalised); default equal"
    )
    threads: int = Field(1, ge=1, description="torch CPU threads while training and embedding")
    validation: bool = Field(
        False, description="hold out the corpus's val split (train on the rest) and report its perplexity"
    )


class BiLM(nn.Module):
    """Word-level bidirectional LSTM language model; ``dim`` is the contextual vector size (even)."""

    def __init__(self, vocab_size: int, dim: int, layers: int, dropout: float) -> None:
        super().__init__()
        half = dim // 2
        self.embedding = nn.Embedding(vocab_size, dim)
        self.forward_layers = nn.ModuleList(
            [nn.LSTM(dim if k == 0 else half, half, batch_first=True) for k in range(layers)]
        )
        self.backward_layers = nn.ModuleList(
            [nn.LSTM(dim if k == 0 else half, half, batch_first=True) for k in range(layers)]
        )
        self.dropout = nn.Dropout(dropout)
        self.softmax = nn.Linear(half, vocab_size)

    def _run(self, stack: nn.ModuleList, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for lstm in stack:
            x, _ = lstm(self.dropout(x))
            outputs.append(x)
        return outputs

    def layer_outputs(self, ids: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """``ids`` ``(B, T)`` -> embedding ``(B, T, dim)``, forward and backward layer outputs ``(B, T, dim/2)``."""
        embedded = self.embedding(ids)
        forward = self._run(self.forward_layers, embedded)
        backward = [h.flip(1) for h in self._run(self.backward_layers, embedded.flip(1))]
        return embedded, forward, backward

    def loss(self, ids: torch.Tensor) -> torch.Tensor:
        """Mean next-word (forward) and previous-word (backward) cross-entropy in nats per token."""
        _, forward, backward = self.layer_outputs(ids)
        vocab = self.softmax.out_features
        ahead = nn.functional.cross_entropy(
            self.softmax(self.dropout(forward[-1][:, :-1])).reshape(-1, vocab), ids[:, 1:].reshape(-1)
        )
        behind = nn.functional.cross_entropy(
            self.softmax(self.dropout(backward[-1][:, 1:])).reshape(-1, vocab), ids[:, :-1].reshape(-1)
        )
        return (ahead + behind) / 2

    def layers(self, ids: torch.Tensor) -> torch.Tensor:
        """``(layers + 1, B, T, dim)``: the token embedding, then ``[forward; backward]`` per LSTM layer."""
        embedded, forward, backward = self.layer_outputs(ids)
        return torch.stack(
            [embedded, *(torch.cat(pair, dim=-1) for pair in zip(forward, backward, strict=True))]
        )


def _mix(config: ElmoConfig) -> torch.Tensor:
    weights = config.mix_weights or [1.0] * (config.layers + 1)
    if len(weights) != config.layers + 1 or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(
            f"mix_weights needs {config.layers + 1} non-negative weights (layers 0..{config.layers})"
        )
    mix = torch.tensor(weights, dtype=torch.float32)
    return mix / mix.sum()


def _chunks(stream: np.ndarray, seq_len: int) -> torch.Tensor:
    """Cut a token-id stream into ``(N, seq_len)`` sequences (a short remainder is dropped)."""
    count = len(stream) // seq_len
    return torch.from_numpy(stream[: count * seq_len].reshape(count, seq_len).astype(np.int64))


def _ids(tokens: Sequence[str], index: dict[str, int]) -> list[int]:
    return [index.get(t, 0) for t in tokens]


@register_embedding("elmo")
class ElmoEmbedding(WordVectors):
    """A trained biLM plus its static word table (mean contextual vector per vocabulary word).

    ``words`` exclude ``<unk>``; the LM's id of ``words[i]`` is ``i + 1`` (id 0 is ``<unk>``).
    """

    kind = "elmo"

    def __init__(
        self,
        lm: BiLM,
        words: Sequence[str],
        counts: Sequence[int],
        static: np.ndarray,
        config: ElmoConfig,
        settings: dict[str, Any],
    ):
        super().__init__(words, static, counts)
        self.lm = lm.eval()
        self.config = config
        self.settings = settings
        self.mix = _mix(config)
        self.lm_index = {w: i + 1 for i, w in enumerate(words)}

    @torch.no_grad()
    def layer_vectors(self, tokens: Sequence[str]) -> np.ndarray:
        """``(layers + 1, T, dim)`` per-layer vectors of ``tokens`` in context (unknown tokens use <unk>)."""
        if not tokens:
            return np.zeros((self.config.layers + 1, 0, self.dim), dtype=np.float32)
        with torch_threads(self.config.threads):
            ids = torch.tensor([_ids(tokens, self.lm_index)])
            return self.lm.layers(ids)[:, 0].numpy()

    def contextual_vectors(self, tokens: Sequence[str]) -> np.ndarray:
        """``(T, dim)`` mixed contextual vector of each token of ``tokens`` (lowercase words)."""
        layers = self.layer_vectors(tokens)
        return np.tensordot(self.mix.numpy(), layers, axes=1).astype(np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Mean contextual vector of each text's tokens; a text without tokens gets the zero vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            tokens = tokenize(text)
            if tokens:
                out[row] = self.contextual_vectors(tokens).mean(axis=0)
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        settings, arrays = self.table_state({**self.settings, "config": self.config.model_dump()})
        for name, tensor in self.lm.state_dict().items():
            arrays[f"lm.{name}"] = tensor.numpy()
        return settings, arrays

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> ElmoEmbedding:
        words, counts, settings = cls.split_table_state(settings)
        config = ElmoConfig.build(settings.pop("config"), where="elmo")
        static = arrays["vectors"]
        lm = BiLM(len(words) + 1, static.shape[1], config.layers, config.dropout)
        weights = {
            k.removeprefix("lm."): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("lm.")
        }
        try:
            lm.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(
                f"elmo weights do not match its settings: {str(exc).splitlines()[0]}"
            ) from None
        return cls(lm, words, counts, static, config, settings)


def _static_vectors(
    lm: BiLM, mix: torch.Tensor, documents: list[list[int]], vocab_size: int, dim: int
) -> np.ndarray:
    """Average mixed contextual vector of every vocabulary id over its occurrences, ``(V, dim)``."""
    sums = torch.zeros(vocab_size, dim)
    seen = torch.zeros(vocab_size)
    lm.eval()
    with torch.no_grad():
        for doc in documents:
            ids = torch.tensor([doc])
            mixed = torch.tensordot(mix, lm.layers(ids)[:, 0], dims=1)
            sums.index_add_(0, ids[0], mixed)
            seen.index_add_(0, ids[0], torch.ones(len(doc)))
    return (sums / seen.clamp(min=1)[:, None]).numpy()


def _perplexity(lm: BiLM, sequences: torch.Tensor, batch_size: int) -> float | None:
    if len(sequences) == 0:
        return None
    lm.eval()
    with torch.no_grad():
        losses = [float(lm.loss(batch)) * len(batch) for batch in sequences.split(batch_size)]
    return math.exp(sum(losses) / len(sequences))


def train_elmo(
    sentences: list[list[str]],
    dim: int,
    seed: int,
    config: ElmoConfig,
    heldout: list[list[str]] | None = None,
) -> ElmoEmbedding:
    """Train the biLM on ``sentences`` (tokenized documents) and build the static table over them.

    ``heldout`` documents (not trained on) give the validation perplexity stored in the settings.
    """
    if dim % 2:
        raise ConfigError(f"elmo dim must be even (forward and backward halves), got {dim}")
    mix = _mix(config)
    vocab = build_vocabulary(sentences, config.min_count)
    words = [w for w, _ in vocab]
    index = {w: i + 1 for i, w in enumerate(words)}
    train_docs = [_ids(s, index) for s in sentences]
    stream = np.concatenate([np.asarray(d, dtype=np.int64) for d in train_docs])
    sequences = _chunks(stream, config.seq_len)
    held = (
        _chunks(np.concatenate([np.asarray(_ids(s, index)) for s in heldout]), config.seq_len)
        if heldout
        else torch.zeros(0)
    )
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    with forked_rng(seed), torch_threads(config.threads):
        lm = BiLM(len(words) + 1, dim, config.layers, config.dropout)
        optimizer = torch.optim.Adam(lm.parameters(), lr=config.learning_rate)
        history = []
        for _ in range(config.epochs):
            lm.train()
            total = 0.0
            for batch in torch.randperm(len(sequences), generator=gen).split(config.batch_size):
                loss = lm.loss(sequences[batch])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            if not math.isfinite(total):
                raise TrainingDiverged("ELMo biLM loss became non-finite; lower learning_rate")
            history.append(total / max(len(sequences), 1))
        static = _static_vectors(lm, mix, [d for d in train_docs if d], len(words) + 1, dim)[1:]
        val_perplexity = _perplexity(lm, held, config.batch_size)
    settings = {
        "seed": seed,
        "train_perplexity": math.exp(history[-1]),
        "val_perplexity": val_perplexity,
        "train_tokens": int(len(stream)),
        "fit_seconds": time.perf_counter() - start,
    }
    return ElmoEmbedding(lm, words, [c for _, c in vocab], static, config, settings)
