"""GloVe word vectors (Pennington, Socher & Manning, 2014), implemented in genforge.

Why our own: no maintained Python implementation exists (the reference is C; the Python ports are
unmaintained), and the method is small enough to read in one file. Pieces, each a function here:

1. :func:`cooccurrence_matrix` — windowed co-occurrence counts in sparse form (``scipy.sparse``): a word
   ``d`` positions away adds ``1/d`` (the paper's distance weighting), symmetric, within a document.
   Out-of-vocabulary tokens are removed before windowing, as the reference ``cooccur`` tool does.
2. :func:`glove_weight` — ``f(x) = min(1, (x / x_max) ** alpha)`` (paper eq. 9).
3. :func:`glove_loss_and_grads` — the weighted least-squares objective
   ``J = 1/2 * sum_ij f(X_ij) (w_i . c_j + b_i + b~_j - log X_ij)^2`` (eq. 8) on a batch of non-zero
   entries, with its gradients written out (checked against autograd in the tests).
4. :class:`GloVe` — AdaGrad over shuffled mini-batches of non-zero entries (squared-gradient sums start
   at 1, as in the reference; a word repeated within a batch gets the sum of its gradients), seeded with a
   ``torch.Generator``; the word vector is ``W + C`` (the paper's main + context sum).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import DataError, TrainingDiverged
from genforge.embed.base import register_embedding
from genforge.embed.corpus import build_vocabulary
from genforge.embed.runtime import torch_threads
from genforge.embed.static import WordVectors


class GloVeConfig(Config):
    window: int = Field(10, ge=1, description="context words on each side counted as co-occurring")
    min_count: int = Field(5, ge=1, description="drop words seen fewer times than this")
    x_max: float = Field(
        10.0, gt=0, description="co-occurrence count where the weight f(x) reaches 1 (paper: 100)"
    )
    alpha: float = Field(0.75, gt=0, description="exponent of the weighting function f(x)")
    epochs: int = Field(25, ge=1, description="passes over the non-zero co-occurrence entries (paper: 50)")
    learning_rate: float = Field(0.05, gt=0, description="AdaGrad initial learning rate")
    batch_size: int = Field(4096, ge=1, description="non-zero entries per AdaGrad step")
    threads: int = Field(
        1, ge=1, description="torch CPU threads while fitting (small scatter-adds run fastest on 1)"
    )


def cooccurrence_matrix(sentences: Sequence[Sequence[int]], vocab_size: int, window: int):
    """Distance-weighted symmetric co-occurrence counts as a ``(V, V)`` float64 ``scipy.sparse.csr_matrix``.

    ``sentences`` hold word ids in ``[0, V)`` (out-of-vocabulary tokens already removed). A pair of
    tokens ``d <= window`` positions apart in one sentence adds ``1/d`` to both ``X[i, j]`` and ``X[j, i]``.
    """
    import scipy.sparse as sp

    lengths = [len(s) for s in sentences]
    ids = (
        np.concatenate([np.asarray(s, dtype=np.int64) for s in sentences])
        if sentences
        else np.zeros(0, np.int64)
    )
    doc = np.repeat(np.arange(len(lengths)), lengths)
    rows, cols, vals = [], [], []
    for distance in range(1, window + 1):
        same = doc[:-distance] == doc[distance:]
        rows.append(ids[:-distance][same])
        cols.append(ids[distance:][same])
        vals.append(np.full(int(same.sum()), 1.0 / distance))
    row, col, val = (np.concatenate(a) if a else np.zeros(0) for a in (rows, cols, vals))
    upper = sp.coo_matrix((val, (row, col)), shape=(vocab_size, vocab_size)).tocsr()
    matrix = (upper + upper.T).tocsr()
    matrix.sum_duplicates()
    return matrix


def glove_weight(x: torch.Tensor, x_max: float, alpha: float) -> torch.Tensor:
    """``f(x) = min(1, (x / x_max) ** alpha)``: caps frequent pairs, damps rare ones (paper eq. 9)."""
    return torch.clamp((x / x_max) ** alpha, max=1.0)


def glove_loss_and_grads(
    w_i: torch.Tensor,
    c_j: torch.Tensor,
    b_i: torch.Tensor,
    b_j: torch.Tensor,
    x: torch.Tensor,
    x_max: float,
    alpha: float,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Loss ``1/2 sum f(x)(w_i.c_j + b_i + b_j - log x)^2`` of one batch and its per-entry gradients.

    Shapes: ``w_i, c_j`` ``(B, D)``; ``b_i, b_j, x`` ``(B,)`` with ``x > 0``. Returns ``(loss, (dw_i, dc_j,
    db_i, db_j))`` with the gradient of each batch row (rows of a repeated word are summed by the caller).
    """
    diff = (w_i * c_j).sum(dim=1) + b_i + b_j - torch.log(x)
    weighted = glove_weight(x, x_max, alpha) * diff
    loss = 0.5 * (weighted * diff).sum()
    return loss, (weighted[:, None] * c_j, weighted[:, None] * w_i, weighted, weighted)


def _adagrad_rows(
    param: torch.Tensor, grad_sq: torch.Tensor, index: torch.Tensor, grad: torch.Tensor, lr: float
) -> None:
    """AdaGrad on the rows ``index`` of ``param`` with per-entry ``grad`` (repeated rows summed first)."""
    rows, inverse = torch.unique(index, return_inverse=True)
    total = torch.zeros((len(rows), grad.shape[1]), dtype=grad.dtype).index_add_(0, inverse, grad)
    grad_sq[rows] += total * total
    param[rows] -= lr * total / torch.sqrt(grad_sq[rows])


class GloVe:
    """GloVe estimator: ``GloVe(dim, seed, config).fit(sentences)`` learns ``words_``, ``vectors_`` ….

    Fitted attributes: ``words_`` (most frequent first), ``counts_``, ``vectors_`` ``(V, dim)`` float32
    (main + context), ``loss_history_`` (mean weighted squared error per non-zero entry, one per epoch),
    ``nonzero_`` (stored co-occurrence entries) and ``seconds_`` (wall time of ``fit``).
    """

    def __init__(self, dim: int = 100, seed: int = 0, config: GloVeConfig | None = None) -> None:
        self.dim = dim
        self.seed = seed
        self.config = config or GloVeConfig()

    def fit(self, sentences: Sequence[Sequence[str]]) -> GloVe:
        start = time.perf_counter()
        cfg = self.config
        vocab = build_vocabulary(sentences, cfg.min_count)
        index = {w: i for i, (w, _) in enumerate(vocab)}
        ids = [[index[t] for t in s if t in index] for s in sentences]
        matrix = cooccurrence_matrix(ids, len(vocab), cfg.window).tocoo()
        if matrix.nnz == 0:
            raise DataError("no two vocabulary words co-occur in the corpus: GloVe has nothing to fit")
        rows = torch.from_numpy(matrix.row.astype(np.int64))
        cols = torch.from_numpy(matrix.col.astype(np.int64))
        counts = torch.from_numpy(matrix.data.astype(np.float32))
        main, context, main_bias, context_bias, history = self._optimize(len(vocab), rows, cols, counts)
        self.words_ = [w for w, _ in vocab]
        self.counts_ = [c for _, c in vocab]
        self.vectors_ = (main + context).numpy().astype(np.float32)
        self.loss_history_ = history
        self.nonzero_ = int(matrix.nnz)
        self.seconds_ = time.perf_counter() - start
        return self

    def _optimize(self, vocab_size: int, rows: torch.Tensor, cols: torch.Tensor, counts: torch.Tensor):
        """AdaGrad on ``(V, dim + 1)`` tables whose last column is the bias; returns (W, C, b, b~, losses)."""
        cfg, dim = self.config, self.dim
        gen = torch.Generator().manual_seed(self.seed)
        # Reference initialisation: uniform in [-0.5, 0.5] / dim for vectors and biases.
        main, context = ((torch.rand(vocab_size, dim + 1, generator=gen) - 0.5) / dim for _ in range(2))
        main_sq, context_sq = torch.ones_like(main), torch.ones_like(context)
        history = []
        with torch_threads(cfg.threads):
            for _ in range(cfg.epochs):
                total = 0.0
                for batch in torch.randperm(len(counts), generator=gen).split(cfg.batch_size):
                    i, j = rows[batch], cols[batch]
                    w_i, c_j = main[i], context[j]
                    loss, (dw, dc, db_i, db_j) = glove_loss_and_grads(
                        w_i[:, :dim],
                        c_j[:, :dim],
                        w_i[:, dim],
                        c_j[:, dim],
                        counts[batch],
                        cfg.x_max,
                        cfg.alpha,
                    )
                    _adagrad_rows(main, main_sq, i, torch.cat([dw, db_i[:, None]], 1), cfg.learning_rate)
                    _adagrad_rows(
                        context, context_sq, j, torch.cat([dc, db_j[:, None]], 1), cfg.learning_rate
                    )
                    total += float(loss)
                if not np.isfinite(total):
                    raise TrainingDiverged("GloVe loss became non-finite; lower learning_rate")
                history.append(2 * total / len(counts))
        return main[:, :dim], context[:, :dim], main[:, dim], context[:, dim], history


@register_embedding("glove")
class GloVeEmbedding(WordVectors):
    """Trained GloVe vectors (main + context) with the settings that produced them."""

    kind = "glove"

    def __init__(
        self, words: Sequence[str], vectors: np.ndarray, counts: Sequence[int], settings: dict[str, Any]
    ):
        super().__init__(words, vectors, counts)
        self.settings = settings

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.table_state(self.settings)

    @classmethod
    def from_state(cls, settings: dict[str, Any], arrays: dict[str, np.ndarray]) -> GloVeEmbedding:
        words, counts, settings = cls.split_table_state(settings)
        return cls(words, arrays["vectors"], counts, settings)


def train_glove(sentences: list[list[str]], dim: int, seed: int, config: GloVeConfig) -> GloVeEmbedding:
    """Fit GloVe on tokenized ``sentences``; the settings record the final loss and co-occurrence size."""
    model = GloVe(dim, seed, config).fit(sentences)
    settings = {
        **config.model_dump(),
        "seed": seed,
        "nonzero_cooccurrences": model.nonzero_,
        "final_loss": model.loss_history_[-1],
    }
    return GloVeEmbedding(model.words_, model.vectors_, model.counts_, settings)
