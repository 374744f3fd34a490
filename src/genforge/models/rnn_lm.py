"""Recurrent language models: an LSTM (Hochreiter & Schmidhuber, 1997) or GRU (Cho et al., 2014) over
token embeddings, with dropout between layers (Zaremba et al., 2014) and the output layer tied to the
embedding when the widths match.

Registered twice, as ``lstm-lm`` and ``gru-lm``: the same class with the ``cell`` default set. The
recurrent state is the generation cache, so a new token costs one step and there is no context limit.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.data.info import DataInfo
from genforge.models.base import register_model
from genforge.models.language import LanguageModel

TRAIN_DEFAULTS = {
    "batch_size": 32,
    "optimizer": "adamw",
    "lr": 2e-3,
    "weight_decay": 0.01,
    "grad_clip": 1.0,
    "eval_batches": 4,
}


class RNNLMConfig(Config):
    cell: Literal["lstm", "gru"] = Field("lstm", description="recurrent cell")
    embed_dim: int = Field(256, ge=8, description="token embedding width")
    hidden_dim: int = Field(256, ge=8, description="recurrent state width")
    num_layers: int = Field(2, ge=1, le=8, description="stacked recurrent layers")
    dropout: float = Field(
        0.2, ge=0, lt=1, description="dropout on embeddings, between layers and on outputs"
    )
    tie_weights: bool = Field(
        True,
        description="share the output layer with the embedding (adds a projection "
        "when hidden_dim differs from embed_dim)",
    )


class LSTMLMConfig(RNNLMConfig):
    cell: Literal["lstm"] = Field("lstm", description="recurrent cell (lstm-lm: LSTM; use gru-lm for a GRU)")


class GRULMConfig(RNNLMConfig):
    cell: Literal["gru"] = Field("gru", description="recurrent cell (gru-lm: GRU; use lstm-lm for an LSTM)")


@register_model("gru-lm", config=GRULMConfig, data_kinds=("tokens",), train_defaults=TRAIN_DEFAULTS)
@register_model("lstm-lm", config=LSTMLMConfig, data_kinds=("tokens",), train_defaults=TRAIN_DEFAULTS)
class RNNLanguageModel(LanguageModel):
    """Embedding -> stacked LSTM/GRU -> (projection) -> logits; the state is ``h`` (GRU) or ``(h, c)``."""

    def __init__(self, config: RNNLMConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        self.embedding = nn.Embedding(self.vocab_size, config.embed_dim)
        rnn_cls = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            config.embed_dim,
            config.hidden_dim,
            config.num_layers,
            batch_first=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(config.dropout)
        needs_projection = config.tie_weights and config.hidden_dim != config.embed_dim
        self.projection = nn.Linear(config.hidden_dim, config.embed_dim) if needs_projection else None
        self.head = None if config.tie_weights else nn.Linear(config.hidden_dim, self.vocab_size)
        # std 2/sqrt(width): tied logits h.e start at unit scale (|h| <= 1); the common uniform(-0.1, 0.1)
        # starts small models on a long unigram plateau
        nn.init.normal_(self.embedding.weight, std=2.0 / config.embed_dim**0.5)

    def _output(self, hidden: torch.Tensor) -> torch.Tensor:
        hidden = self.dropout(hidden)
        if self.head is not None:
            return self.head(hidden)
        if self.projection is not None:
            hidden = self.projection(hidden)
        return F.linear(hidden, self.embedding.weight)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> next-token logits (B, T, V), starting from a zero state."""
        hidden, _ = self.rnn(self.dropout(self.embedding(ids)))
        return self._output(hidden)

    def init_state(self, batch_size: int, max_len: int) -> Any:
        return None  # the RNN starts from zeros

    def advance(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed ids (B, t) from ``state``; next-token logits (B, V) of the last position and the new state."""
        hidden, state = self.rnn(self.dropout(self.embedding(ids)), state)
        return self._output(hidden[:, -1]), state

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        if isinstance(state, tuple):
            return tuple(s.index_select(1, index) for s in state)
        return state.index_select(1, index)
