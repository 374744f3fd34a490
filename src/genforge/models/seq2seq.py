"""Sequence-to-sequence models with attention, for ``pairs`` data (``seq2seq:dates`` …).

Two architectures, one family, chosen by the ``attention`` key (``genforge train seq2seq --attention X``):

* ``bahdanau`` / ``luong``: a bidirectional GRU encoder and a GRU decoder that attends over the encoder states at every
  step, with additive attention (Bahdanau, Cho & Bengio, 2015: the previous decoder state scores the
  encoder states, the context feeds the next state and a deep output layer) or multiplicative attention
  (Luong, Pham & Manning, 2015: the new state scores the encoder states, an attentional vector
  ``tanh(W_c [context; state])`` is fed to the next step and predicts the token).
* ``transformer``: a pre-norm Transformer encoder-decoder (Vaswani et al., 2017) with sinusoidal
  positions, multi-head cross-attention and a key/value cache in the decoder.

Both expose the incremental decoding interface of :mod:`genforge.models.language` through
:meth:`Seq2Seq.decoder_for` (a decoder conditioned on a source), so the strategies in
:mod:`genforge.samplers.decoding` (greedy, beam search …) translate, and both report attention weights
(decoder step x source position) for heat maps.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel, register_model
from genforge.nn.attention import (
    AdditiveAttention,
    CausalSelfAttention,
    KVCache,
    MultiHeadAttention,
    MultiplicativeAttention,
)

LN2 = math.log(2.0)


class Seq2SeqConfig(Config):
    attention: Literal["bahdanau", "luong", "transformer"] = Field(
        "bahdanau",
        description="bahdanau (GRU + additive attention), luong (GRU + multiplicative attention) or "
        "transformer (Transformer encoder-decoder, multi-head attention)",
    )
    embed_dim: int = Field(64, ge=8, description="token embedding width (transformer: model width)")
    hidden_dim: int = Field(
        128, ge=8, description="GRU state width (encoder: half per direction); transformer: MLP width"
    )
    num_layers: int | None = Field(
        None,
        ge=1,
        le=8,
        description="GRU encoder layers (default 1); transformer encoder and decoder layers (default 2)",
    )
    num_heads: int = Field(4, ge=1, description="transformer attention heads (must divide embed_dim)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout on embeddings and hidden layers")


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """(length, dim) sine/cosine position codes (Vaswani et al., 2017, section 3.5)."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim)
    codes[:, 0::2] = torch.sin(position * frequency)
    codes[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return codes


# --- GRU encoder-decoder with attention ----------------------------------------------------------------


class GRUEncoderDecoder(nn.Module):
    def __init__(self, config: Seq2SeqConfig, vocab_size: int, pad_id: int) -> None:
        super().__init__()
        if config.hidden_dim % 2:
            raise ConfigError(
                f"hidden_dim must be even for the bidirectional encoder, got {config.hidden_dim}"
            )
        emb, hid = config.embed_dim, config.hidden_dim
        self.pad_id = pad_id
        self.kind = config.attention
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=pad_id)
        layers = config.num_layers or 1
        self.encoder = nn.GRU(
            emb,
            hid // 2,
            layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if layers > 1 else 0.0,
        )
        self.bridge = nn.Linear(hid, hid)
        self.dropout = nn.Dropout(config.dropout)
        self.cell = nn.GRUCell(emb + hid, hid)
        if self.kind == "bahdanau":
            self.attention: nn.Module = AdditiveAttention(hid, hid, hid)
            self.out = nn.Linear(hid + hid + emb, vocab_size)
        else:
            self.attention = MultiplicativeAttention(hid, hid)
            self.combine = nn.Linear(hid + hid, hid)
            self.out = nn.Linear(hid, vocab_size)

    def encode(self, source: torch.Tensor) -> dict[str, torch.Tensor]:
        """source (B, S) -> decoder state: encoder states (B, S, H), their attention projection, the
        source mask, the initial decoder state (B, H) and (Luong) the attentional input feed."""
        mask = source != self.pad_id
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.dropout(self.embedding(source)), lengths, batch_first=True, enforce_sorted=False
        )
        outputs, final = self.encoder(packed)
        keys, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        hidden = torch.tanh(self.bridge(torch.cat([final[-2], final[-1]], dim=1)))
        return {
            "keys": keys,
            "prepared": self.attention.prepare(keys),
            "mask": mask,
            "hidden": hidden,
            "feed": torch.zeros_like(hidden),
            "attention": torch.zeros_like(mask, dtype=keys.dtype),
        }

    def step(
        self, token: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One decoder step for tokens (B,): logits (B, V) and the new state (with its attention weights)."""
        emb = self.dropout(self.embedding(token))
        keys, prepared, mask = state["keys"], state["prepared"], state["mask"]
        if self.kind == "bahdanau":
            context, weights = self.attention(state["hidden"], keys, prepared, mask)
            hidden = self.cell(torch.cat([emb, context], dim=1), state["hidden"])
            logits = self.out(self.dropout(torch.cat([hidden, context, emb], dim=1)))
            feed = state["feed"]
        else:
            hidden = self.cell(torch.cat([emb, state["feed"]], dim=1), state["hidden"])
            context, weights = self.attention(hidden, keys, prepared, mask)
            feed = torch.tanh(self.combine(torch.cat([context, hidden], dim=1)))
            logits = self.out(self.dropout(feed))
        return logits, {**state, "hidden": hidden, "feed": feed, "attention": weights}

    def teacher(self, source: torch.Tensor, target_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced logits (B, T, V) and attention (B, T, S) for decoder inputs (B, T)."""
        state = self.encode(source)
        logits, weights = [], []
        for t in range(target_in.shape[1]):
            step_logits, state = self.step(target_in[:, t], state)
            logits.append(step_logits)
            weights.append(state["attention"])
        return torch.stack(logits, 1), torch.stack(weights, 1)

    def init_state(self, source: torch.Tensor, max_len: int) -> dict[str, torch.Tensor]:
        return self.encode(source)

    def advance(
        self, ids: torch.Tensor, state: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logits = None
        for t in range(ids.shape[1]):
            logits, state = self.step(ids[:, t], state)
        return logits, state

    def reorder_state(self, state: dict[str, torch.Tensor], index: torch.Tensor) -> dict[str, torch.Tensor]:
        return {k: v.index_select(0, index) for k, v in state.items()}


# --- Transformer encoder-decoder -------------------------------------------------------------------------


class _EncoderLayer(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = MultiHeadAttention(width, heads, dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), key_padding_mask=pad)[0]
        return x + self.mlp(self.ln_2(x))


class _DecoderLayer(nn.Module):
    def __init__(self, width: int, heads: int, mlp: int, dropout: float) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.self_attn = CausalSelfAttention(width, heads, dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.cross_attn = MultiHeadAttention(width, heads, dropout)
        self.ln_3 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp), nn.GELU(), nn.Linear(mlp, width), nn.Dropout(dropout))

    def forward(
        self,
        x: torch.Tensor,
        memory_kv: tuple[torch.Tensor, torch.Tensor],
        pad: torch.Tensor,
        cache: KVCache | None,
        layer: int,
        need_weights: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = x + self.self_attn(self.ln_1(x), cache, layer)
        attended, weights = self.cross_attn(
            self.ln_2(x), memory_kv=memory_kv, key_padding_mask=pad, need_weights=need_weights
        )
        x = x + attended
        return x + self.mlp(self.ln_3(x)), weights


class TransformerEncoderDecoder(nn.Module):
    MAX_POSITIONS = 1024

    def __init__(self, config: Seq2SeqConfig, vocab_size: int, pad_id: int) -> None:
        super().__init__()
        width, heads, layers = config.embed_dim, config.num_heads, config.num_layers or 2
        if width % heads:
            raise ConfigError(f"embed_dim {width} must be divisible by num_heads {heads}")
        self.pad_id = pad_id
        self.heads = heads
        self.embedding = nn.Embedding(vocab_size, width)
        nn.init.normal_(self.embedding.weight, std=width**-0.5)
        self.register_buffer("positions", sinusoidal_positions(self.MAX_POSITIONS, width), persistent=False)
        self.dropout = nn.Dropout(config.dropout)
        self.encoder = nn.ModuleList(
            _EncoderLayer(width, heads, config.hidden_dim, config.dropout) for _ in range(layers)
        )
        self.encoder_norm = nn.LayerNorm(width)
        self.decoder = nn.ModuleList(
            _DecoderLayer(width, heads, config.hidden_dim, config.dropout) for _ in range(layers)
        )
        self.decoder_norm = nn.LayerNorm(width)

    def _embed(self, ids: torch.Tensor, start: int) -> torch.Tensor:
        end = start + ids.shape[1]
        if end > self.MAX_POSITIONS:
            raise ConfigError(f"sequences are limited to {self.MAX_POSITIONS} tokens, got {end}")
        scale = math.sqrt(self.embedding.embedding_dim)
        return self.dropout(self.embedding(ids) * scale + self.positions[start:end])

    def encode(self, source: torch.Tensor) -> dict[str, Any]:
        pad = source == self.pad_id
        x = self._embed(source, 0)
        for layer in self.encoder:
            x = layer(x, pad)
        memory = self.encoder_norm(x)
        return {"memory_kv": [layer.cross_attn.memory_keys(memory) for layer in self.decoder], "pad": pad}

    def _decode(
        self, ids: torch.Tensor, encoded: dict[str, Any], cache: KVCache | None, need_weights: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self._embed(ids, 0 if cache is None else cache.length)
        weights = None
        last = len(self.decoder) - 1
        for i, layer in enumerate(self.decoder):
            x, layer_weights = layer(
                x, encoded["memory_kv"][i], encoded["pad"], cache, i, need_weights and i == last
            )
            weights = layer_weights if i == last else weights
        if cache is not None:
            cache.advance(ids.shape[1])
        return F.linear(self.decoder_norm(x), self.embedding.weight), weights

    def teacher(
        self, source: torch.Tensor, target_in: torch.Tensor, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self._decode(target_in, self.encode(source), None, need_weights)

    def init_state(self, source: torch.Tensor, max_len: int) -> dict[str, Any]:
        encoded = self.encode(source)
        width = self.embedding.embedding_dim
        encoded["cache"] = KVCache(
            len(self.decoder),
            source.shape[0],
            self.heads,
            max_len,
            width // self.heads,
            dtype=self.embedding.weight.dtype,
            device=source.device,
        )
        return encoded

    def advance(self, ids: torch.Tensor, state: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        logits, weights = self._decode(ids, state, state["cache"], need_weights=True)
        state["attention"] = weights[:, -1]
        return logits[:, -1], state

    def reorder_state(self, state: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
        state["cache"].reorder(index)
        state["memory_kv"] = [
            (k.index_select(0, index), v.index_select(0, index)) for k, v in state["memory_kv"]
        ]
        state["pad"] = state["pad"].index_select(0, index)
        if "attention" in state:
            state["attention"] = state["attention"].index_select(0, index)
        return state


# --- the family -------------------------------------------------------------------------------------


class ConditionedDecoder:
    """The incremental decoding interface of one source batch (what :mod:`genforge.samplers.decoding` drives)."""

    max_context = None

    def __init__(self, net: nn.Module, source: torch.Tensor) -> None:
        self.net = net
        self.source = source

    def init_state(self, batch_size: int, max_len: int) -> Any:
        source = self.source.expand(batch_size, -1) if self.source.shape[0] == 1 else self.source
        return self.net.init_state(source, max_len)

    def advance(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        return self.net.advance(ids, state)

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        return self.net.reorder_state(state, index)


@register_model(
    "seq2seq",
    config=Seq2SeqConfig,
    data_kinds=("pairs",),
    train_defaults={
        "batch_size": 64,
        "optimizer": "adam",
        "lr": 2e-3,
        "grad_clip": 1.0,
        "eval_batches": 8,
        "eval_every": 200,
    },
)
class Seq2Seq(GenerativeModel):
    """``batch["x"]`` source ids (B, S), ``batch["target"]`` = ``<bos> … <eos>`` ids (B, T), 0-padded."""

    def __init__(self, config: Seq2SeqConfig, info: DataInfo) -> None:
        super().__init__(config, info)
        if not info.vocab_size:
            raise ConfigError("seq2seq needs pairs data with a vocabulary (e.g. --data seq2seq:dates)")
        extra = info.extra
        self.pad_id, self.bos_id, self.eos_id = extra["pad_id"], extra["bos_id"], extra["eos_id"]
        self.max_target_length = int(extra.get("max_target_length", 64))
        net_cls = TransformerEncoderDecoder if config.attention == "transformer" else GRUEncoderDecoder
        self.net = net_cls(config, info.vocab_size, self.pad_id)

    def _teacher(self, batch: dict[str, torch.Tensor], need_weights: bool = False):
        target = batch["target"]
        if isinstance(self.net, GRUEncoderDecoder):
            logits, weights = self.net.teacher(batch["x"], target[:, :-1])
        else:
            logits, weights = self.net.teacher(batch["x"], target[:, :-1], need_weights)
        return logits, weights, target[:, 1:]

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Teacher-forced cross-entropy (nats per target token, padding ignored)."""
        logits, _, gold = self._teacher(batch)
        loss = F.cross_entropy(logits.flatten(0, 1), gold.flatten(), ignore_index=self.pad_id)
        return {"loss": loss, "bits_per_token": loss.detach() / LN2}

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per pair (B,): greedy exact match (0/1), teacher-forced nats per target token and their sums."""
        logits, _, gold = self._teacher(batch)
        nll = F.cross_entropy(logits.transpose(1, 2), gold, ignore_index=self.pad_id, reduction="none")
        tokens = (gold != self.pad_id).sum(1).float()
        predicted, _ = self.greedy(batch["x"], gold.shape[1])
        exact = torch.tensor(
            [
                self.strip_special(p) == self.strip_special(g)
                for p, g in zip(predicted.tolist(), gold.tolist(), strict=True)
            ],
            dtype=torch.float32,
        )
        return {
            "exact_match": exact,
            "nll_nats_per_token": nll.sum(1) / tokens,
            "nll_nats_per_sequence": nll.sum(1),
            "tokens_per_sequence": tokens,
        }

    def summarize_eval(self, means: dict[str, float]) -> dict[str, float]:
        per_token = means["nll_nats_per_sequence"] / means["tokens_per_sequence"]
        return {
            "exact_match_accuracy": means["exact_match"],
            "nll_nats_per_token": per_token,
            "perplexity": math.exp(per_token),
            "bits_per_token": per_token / LN2,
        }

    def strip_special(self, ids: list[int]) -> list[int]:
        """Ids up to (not including) the first ``<eos>``, without padding."""
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i != self.pad_id:
                out.append(i)
        return out

    def decoder_for(self, source: torch.Tensor) -> ConditionedDecoder:
        """The incremental decoder conditioned on ``source`` (B, S) (B = 1 for beam search)."""
        return ConditionedDecoder(self.net, source)

    @torch.no_grad()
    def greedy(self, source: torch.Tensor, max_len: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy translations (B, L) ending at ``<eos>`` (then padded) and attention (B, L, S)."""
        max_len = max_len or 2 * self.max_target_length
        batch = source.shape[0]
        state = self.net.init_state(source, max_len)
        token = torch.full((batch, 1), self.bos_id, dtype=torch.long, device=source.device)
        done = torch.zeros(batch, dtype=torch.bool, device=source.device)
        ids, weights = [], []
        for _ in range(max_len):
            logits, state = self.net.advance(token, state)
            nxt = logits.argmax(dim=-1).masked_fill(done, self.pad_id)
            ids.append(nxt)
            weights.append(state["attention"])
            done |= nxt == self.eos_id
            if bool(done.all()):
                break
            token = nxt[:, None]
        return torch.stack(ids, 1), torch.stack(weights, 1)

    @torch.no_grad()
    def attention_map(self, source: torch.Tensor, output_ids: torch.Tensor) -> torch.Tensor:
        """Attention (B, L, S) of each output position over the source, teacher-forcing ``output_ids`` (B, L)
        after ``<bos>`` (for translations found by beam search)."""
        bos = torch.full((output_ids.shape[0], 1), self.bos_id, dtype=torch.long, device=output_ids.device)
        target = torch.cat([bos, output_ids], dim=1)
        _, weights, _ = self._teacher({"x": source, "target": target}, need_weights=True)
        return weights

    def sample(self, n: int, *, generator: torch.Generator | None = None, **opts: Any) -> torch.Tensor:
        raise ConfigError(
            "a seq2seq model translates a source: use 'genforge translate RUN TEXT' "
            "(genforge.pipelines.generation.translate)"
        )
