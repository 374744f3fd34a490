"""What every next-token language model shares (GPT, LSTM/GRU): the loss on ``text:`` windows, the
evaluation terms (nats per token, bits per byte and per character), ancestral sampling, and the
incremental-decoding interface the generation strategies in :mod:`genforge.samplers.decoding` drive.

Incremental decoding: ``state = init_state(batch, max_len)`` then ``logits, state = advance(ids, state)``
feeds ``ids`` (B, t) after everything already in ``state`` and returns the next-token logits (B, V) of
the last position, so each generated token costs one step (GPT: a key/value cache; RNN: the hidden
state). ``reorder_state(state, index)`` keeps batch rows ``index`` (beam search). ``max_context`` is the
most tokens a state can hold (None: unbounded).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from genforge.core.config import Config
from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import GenerativeModel

IGNORE = -100
LN2 = math.log(2.0)


class LanguageModel(GenerativeModel):
    """Base for models of ``tokens`` data: ``batch["x"]`` (B, T+1) ids, ``batch["length"]`` valid ids."""

    max_context: int | None = None

    def __init__(self, config: Config, info: DataInfo) -> None:
        super().__init__(config, info)
        if not info.vocab_size:
            raise ConfigError("a language model needs token data with a vocabulary (e.g. --data text:lee)")
        self.vocab_size = info.vocab_size
        self.context_length = int(info.extra.get("context_length", info.shape[0] - 1))
        self.eot_id = int(info.extra.get("eot_id", 0))
        ones = [1] * self.vocab_size
        self.register_buffer(
            "token_bytes", torch.tensor(info.extra.get("token_bytes", ones)), persistent=False
        )
        self.register_buffer(
            "token_chars", torch.tensor(info.extra.get("token_chars", ones)), persistent=False
        )

    # implemented by each family -------------------------------------------------------------------
    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token logits (B, T, V) for ids (B, T)."""
        raise NotImplementedError

    def init_state(self, batch_size: int, max_len: int) -> Any:
        raise NotImplementedError

    def advance(self, ids: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError

    def reorder_state(self, state: Any, index: torch.Tensor) -> Any:
        raise NotImplementedError

    # training and evaluation ----------------------------------------------------------------------
    def _inputs_targets(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ids = batch["x"]
        inputs, targets = ids[:, :-1], ids[:, 1:]
        steps = torch.arange(targets.shape[1], device=ids.device)
        lengths = batch.get("length")
        valid = (
            torch.ones_like(targets, dtype=torch.bool)
            if lengths is None
            else steps[None, :] < (lengths[:, None] - 1)
        )
        return inputs, targets.masked_fill(~valid, IGNORE), valid

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mean next-token cross-entropy in nats over the valid targets of the batch."""
        inputs, targets, _ = self._inputs_targets(batch)
        logits = self.logits(inputs)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        return {"loss": loss, "bits_per_token": loss.detach() / LN2}

    @torch.no_grad()
    def eval_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per window (B,): mean nats per token, and the sums that make exact corpus-level figures
        (total nats, tokens, UTF-8 bytes and characters predicted) in :meth:`summarize_eval`."""
        inputs, targets, valid = self._inputs_targets(batch)
        logits = self.logits(inputs)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
        known = targets.clamp(min=0)
        tokens = valid.sum(1).float()
        nll_sum = nll.sum(1)
        return {
            "nll_nats_per_token": nll_sum / tokens,
            "nll_nats_per_sequence": nll_sum,
            "tokens_per_sequence": tokens,
            "bytes_per_sequence": (self.token_bytes[known] * valid).sum(1).float(),
            "chars_per_sequence": (self.token_chars[known] * valid).sum(1).float(),
        }

    def summarize_eval(self, means: dict[str, float]) -> dict[str, float]:
        """Corpus-level figures from the averaged :meth:`eval_terms` (ratios of sums, so exact)."""
        nats = means["nll_nats_per_sequence"]
        per_token = nats / means["tokens_per_sequence"]
        return {
            "nll_nats_per_token": per_token,
            "perplexity": math.exp(per_token),
            "bits_per_token": per_token / LN2,
            "bits_per_byte": nats / LN2 / means["bytes_per_sequence"],
            "bits_per_char": nats / LN2 / means["chars_per_sequence"],
        }

    # sampling -------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        temperature: float = 1.0,
        length: int | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """``n`` documents of ``length`` ids (default: the context length), each started from
        ``<|endoftext|>`` and drawn token by token at ``temperature`` (0 = greedy)."""
        if opts:
            raise ConfigError(f"unknown sampling option(s) for a language model: {', '.join(opts)}")
        length = length or self.context_length
        if self.max_context is not None and length > self.max_context:
            raise ConfigError(f"length {length} exceeds this model's context of {self.max_context} tokens")
        device = self.token_bytes.device
        state = self.init_state(n, length)
        logits, state = self.advance(torch.full((n, 1), self.eot_id, dtype=torch.long, device=device), state)
        out = torch.empty(n, length, dtype=torch.long, device=device)
        for i in range(length):
            if temperature <= 0:
                token = logits.argmax(dim=-1, keepdim=True)
            else:
                probs = F.softmax(logits.float() / temperature, dim=-1)
                token = torch.multinomial(probs, 1, generator=generator)
            out[:, i] = token[:, 0]
            if i + 1 < length:
                logits, state = self.advance(token, state)
        return out
