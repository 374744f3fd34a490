"""Attention blocks shared by the language and sequence-to-sequence models.

* :class:`CausalSelfAttention`: multi-head masked self-attention on PyTorch's fused
  ``F.scaled_dot_product_attention``, with a preallocated :class:`KVCache` so that generating one more
  token attends with the cached keys/values instead of re-running the whole prefix.
* :class:`MultiHeadAttention`: queries attending over a memory (encoder self-attention and decoder
  cross-attention), with key padding masks and optional attention weights for heat maps.
* :class:`AdditiveAttention` (Bahdanau et al., 2015) and :class:`MultiplicativeAttention` (Luong et al.,
  2015, "general" score): the RNN encoder-decoder attentions, one decoder state against all encoder
  states.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genforge.core.errors import ConfigError


def _check_heads(dim: int, num_heads: int) -> int:
    if num_heads < 1 or dim % num_heads:
        raise ConfigError(f"embedding width {dim} must be divisible by the number of heads {num_heads}")
    return dim // num_heads


class KVCache:
    """Keys and values of every layer for the tokens seen so far, in preallocated tensors.

    ``keys``/``values`` are ``(layers, B, heads, max_len, head_dim)``; the first :attr:`length` positions
    are filled. Layers write their new positions with :meth:`write` and the model calls :meth:`advance`
    once all layers have written, so appending a token copies only that token's keys and values.
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        max_len: int,
        head_dim: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> None:
        shape = (num_layers, batch_size, num_heads, max_len, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0

    @property
    def max_len(self) -> int:
        return self.keys.shape[3]

    def write(
        self, layer: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``(B, heads, t, head_dim)`` new keys/values after the filled part; return all of them."""
        end = self.length + keys.shape[2]
        if end > self.max_len:
            raise ConfigError(f"the key/value cache holds {self.max_len} positions; {end} were asked for")
        self.keys[layer, :, :, self.length : end] = keys
        self.values[layer, :, :, self.length : end] = values
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, num_tokens: int) -> None:
        self.length += num_tokens

    def reorder(self, index: torch.Tensor) -> None:
        """Keep batch rows ``index`` (beam search re-ranks hypotheses every step)."""
        self.keys = self.keys.index_select(1, index)
        self.values = self.values.index_select(1, index)


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention: position ``t`` attends to positions ``<= t``."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.head_dim = _check_heads(dim, num_heads)
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        """``x`` (B, t, dim) -> (B, t, dim). With a cache, ``x`` holds the positions after the cached ones."""
        batch, steps, dim = x.shape
        q, k, v = (
            part.view(batch, steps, self.num_heads, self.head_dim).transpose(1, 2)
            for part in self.qkv(x).split(dim, dim=2)
        )
        dropout_p = self.dropout if self.training else 0.0
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
        else:
            start = cache.length
            k, v = cache.write(layer, k, v)
            if steps == 1:  # one new token sees every cached position: no mask needed
                y = F.scaled_dot_product_attention(q, k, v)
            elif start == 0:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:  # new block after a cached prefix: the causal mask is offset by ``start``
                mask = torch.ones(steps, start + steps, dtype=torch.bool, device=x.device).tril(
                    diagonal=start
                )
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        y = y.transpose(1, 2).reshape(batch, steps, dim)
        return self.resid_dropout(self.proj(y))


class MultiHeadAttention(nn.Module):
    """Queries attending over a memory (bidirectional self-attention when the memory is the input)."""

    def __init__(self, dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.head_dim = _check_heads(dim, num_heads)
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim, bias=bias)
        self.key_value = nn.Linear(dim, 2 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim, bias=bias)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        return x.view(batch, steps, self.num_heads, self.head_dim).transpose(1, 2)

    def memory_keys(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values ``(B, heads, S, head_dim)`` of a memory, computed once per source sentence."""
        k, v = self.key_value(memory).chunk(2, dim=2)
        return self._heads(k), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor | None = None,
        *,
        memory_kv: tuple[torch.Tensor, torch.Tensor] | None = None,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` (B, T, dim) over ``memory`` (B, S, dim) (or precomputed ``memory_kv``); padding positions
        (``key_padding_mask`` True, (B, S)) get no attention. Returns (output (B, T, dim), weights
        (B, T, S) averaged over heads when ``need_weights``, else None)."""
        batch, steps, dim = x.shape
        k, v = memory_kv if memory_kv is not None else self.memory_keys(x if memory is None else memory)
        q = self._heads(self.query(x))
        allowed = None if key_padding_mask is None else ~key_padding_mask[:, None, None, :]
        weights = None
        if need_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            attn = scores.softmax(dim=-1)
            y = attn @ v
            weights = attn.mean(dim=1)
        else:
            dropout_p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout_p)
        y = y.transpose(1, 2).reshape(batch, steps, dim)
        return self.resid_dropout(self.proj(y)), weights


class AdditiveAttention(nn.Module):
    """Bahdanau attention: ``score(s, h_j) = v^T tanh(W s + U h_j)`` (Bahdanau, Cho & Bengio 2015, A.1.2)."""

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=True)
        self.score = nn.Linear(hidden_dim, 1, bias=False)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """``U h_j`` for all encoder states (B, S, hidden), computed once per source sentence."""
        return self.key_proj(keys)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        prepared: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query`` (B, Dq), ``keys`` (B, S, Dk), ``mask`` (B, S) True where a key is real.
        Returns (context (B, Dk), weights (B, S) summing to 1)."""
        scores = self.score(torch.tanh(prepared + self.query_proj(query)[:, None, :])).squeeze(-1)
        return _attend(scores, keys, mask)


class MultiplicativeAttention(nn.Module):
    """Luong attention, "general" score ``s^T W h_j`` (Luong, Pham & Manning 2015, eq. 8)."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_dim, query_dim, bias=False)

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """``W h_j`` for all encoder states (B, S, Dq), computed once per source sentence."""
        return self.key_proj(keys)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        prepared: torch.Tensor,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Same contract as :meth:`AdditiveAttention.forward`."""
        scores = torch.bmm(prepared, query[:, :, None]).squeeze(-1)
        return _attend(scores, keys, mask)


def _attend(
    scores: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=-1)
    return torch.bmm(weights[:, None, :], keys).squeeze(1), weights
