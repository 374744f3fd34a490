"""Decoder-only Transformer language model (GPT-2 shape; Radford et al., 2019).

Pre-norm blocks (``x + attn(ln(x))``, ``x + mlp(ln(x))``), learned positions, a final LayerNorm, and the
output layer tied to the token embedding (Press & Wolf, 2017). Attention is PyTorch's fused
``scaled_dot_product_attention``; generation keeps a preallocated key/value cache
(:class:`genforge.nn.attention.KVCache`) so each new token costs one position, not a re-run of the prefix.
Initialisation follows GPT-2 (normal 0.02, residual projections scaled by ``1/sqrt(2 * layers)``), and
the MLP uses the tanh-approximated GELU, so the network computes the same function as Hugging Face's
``GPT2LMHeadModel`` with the same weights (tested).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import register_model
from genforge.models.language import LanguageModel
from genforge.nn.attention import CausalSelfAttention, KVCache


class GPTConfig(Config):
    num_layers: int = Field(4, ge=1, le=48, description="Transformer blocks")
    num_heads: int = Field(4, ge=1, description="attention heads per block (must divide embed_dim)")
    embed_dim: int = Field(128, ge=8, description="width of token embeddings and the residual stream")
    mlp_ratio: int = Field(4, ge=1, description="MLP hidden width as a multiple of embed_dim")
    dropout: float = Field(
        0.1, ge=0, lt=1, description="dropout on embeddings, attention and residual branches"
    )
    bias: bool = Field(True, description="biases in linear layers and LayerNorms")
    tie_weights: bool = Field(True, description="share the output layer with the token embedding")


class TiedEmbedding(nn.Embedding):
    """The token embedding that is also the output layer: integer ids are looked up, float hidden states
    (..., D) are projected to logits (..., V) with the same matrix.

    Both uses go through this module's ``forward`` so that hooks on modules see both: DP-SGD's per-sample
    gradients (Opacus) add the lookup's and the projection's contributions to the one weight, which a
    functional ``F.linear(hidden, embedding.weight)`` outside any module would silently drop. The state
    dict is an ``nn.Embedding``'s (``weight``), so checkpoints are unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight) if x.is_floating_point() else super().forward(x)


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        width = config.embed_dim
        self.ln_1 = nn.LayerNorm(width, bias=config.bias)
        self.attn = CausalSelfAttention(width, config.num_heads, config.dropout, config.bias)
        self.ln_2 = nn.LayerNorm(width, bias=config.bias)
        self.fc = nn.Linear(width, config.mlp_ratio * width, bias=config.bias)
        self.fc_proj = nn.Linear(config.mlp_ratio * width, width, bias=config.bias)
        self.mlp_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp_dropout(self.fc_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh")))


@register_model(
    "gpt",
    config=GPTConfig,
    data_kinds=("tokens",),
    train_defaults={
        "batch_size": 32,
        "optimizer": "adamw",
        "lr": 1e-3,
        "weight_decay": 0.01,
        "grad_clip": 1.0,
        "eval_batches": 4,
    },
)
class GPT(LanguageModel):
    """``logits(ids)`` for training; ``init_state``/``advance`` with a KV cache for generation."""

    def __init__(self, config: GPTConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if config.embed_dim % config.num_heads:
            raise ConfigError(
                f"embed_dim {config.embed_dim} must be divisible by num_heads {config.num_heads}"
            )
        self.max_context = self.context_length
        self.token_embedding = TiedEmbedding(self.vocab_size, config.embed_dim)
        self.position_embedding = nn.Embedding(self.context_length, config.embed_dim)
        self.embed_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.ln_f = nn.LayerNorm(config.embed_dim, bias=config.bias)
        # tied: the output layer is the embedding matrix itself (one tensor in the state dict)
        self.head = None if config.tie_weights else nn.Linear(config.embed_dim, self.vocab_size, bias=False)
        self.apply(self._init_weights)
        residual_std = 0.02 / math.sqrt(2 * config.num_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, std=residual_std)
            nn.init.normal_(block.fc_proj.weight, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def _output(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.project(self.ln_f(hidden))

    def _embed(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        steps = ids.shape[1]
        if start + steps > self.context_length:
            raise ConfigError(
                f"{start + steps} tokens exceed the context window of {self.context_length} tokens"
            )
        # positions are expanded over the batch so each example has its own lookup (DP-SGD needs per-example
        # gradients of the position table; the values are the same as broadcasting one row of positions)
        positions = torch.arange(start, start + steps, device=ids.device).expand(ids.shape[0], steps)
        return self.embed_dropout(self.token_embedding(ids) + self.position_embedding(positions))

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) with T <= context length -> next-token logits (B, T, V)."""
        return self.project(self.hidden_states(ids))

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """ids (B, T) -> the final LayerNorm's output (B, T, D), what the output layer reads (RL-tuning
        puts its value head on it)."""
        x = self._embed(ids, 0)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """Final hidden states (..., D) -> next-token logits (..., V)."""
        return self.token_embedding(hidden) if self.head is None else self.head(hidden)

    def init_state(self, batch_size: int, max_len: int) -> KVCache:
        cfg: GPTConfig = self.config  # type: ignore[assignment]
        param = self.token_embedding.weight
        return KVCache(
            cfg.num_layers,
            batch_size,
            cfg.num_heads,
            min(max_len, self.context_length),
            cfg.embed_dim // cfg.num_heads,
            dtype=param.dtype,
            device=param.device,
        )

    def advance(self, ids: torch.Tensor, state: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Feed ids (B, t) after the cached positions; next-token logits (B, V) of the last one."""
        x = self._embed(ids, state.length)
        for layer, block in enumerate(self.blocks):
            x = block(x, state, layer)
        state.advance(ids.shape[1])
        return self._output(x[:, -1]), state

    def reorder_state(self, state: KVCache, index: torch.Tensor) -> KVCache:
        state.reorder(index)
        return state
