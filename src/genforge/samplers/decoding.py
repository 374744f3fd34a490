"""Decoding strategies for autoregressive models: greedy, temperature, top-k, top-p (nucleus), beam
search, repetition penalty, stop sequences and streaming.

They drive any model with the incremental interface of :mod:`genforge.models.language`
(``init_state(batch, max_len)``, ``advance(ids, state) -> (logits (B, V), state)``,
``reorder_state(state, index)``, ``max_context``), so every new token costs one model step: a GPT keeps
a key/value cache, an RNN its hidden state, a seq2seq decoder both plus the encoded source.

When a bounded context (GPT) fills up during a long generation, the state is rebuilt from the last
half-context of tokens and generation continues (a sliding window; one extra prefill per half-context).

Written here rather than taken from ``transformers.generate``: that API is bound to Hugging Face model
classes and cache objects; these few functions work on genforge's models and stay readable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field

from genforge.core.config import Config
from genforge.core.errors import ConfigError


class DecodingConfig(Config):
    max_new_tokens: int = Field(200, ge=1, description="tokens to generate at most")
    temperature: float = Field(1.0, ge=0, description="softmax temperature; 0 = greedy (argmax)")
    top_k: int | None = Field(None, ge=1, description="sample only among the k most likely tokens")
    top_p: float | None = Field(
        None, gt=0, le=1, description="sample from the smallest set of tokens with this total probability"
    )
    repetition_penalty: float = Field(
        1.0, gt=0, description="> 1 makes tokens already in the text less likely (Keskar et al., 2019)"
    )
    num_beams: int = Field(
        1, ge=1, le=64, description="beam search with this many beams (1 = sampling/greedy)"
    )
    length_penalty: float = Field(1.0, description="beam scores are log-probability / length**length_penalty")


# --- logits processors -----------------------------------------------------------------------------


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty (Keskar et al., 2019): logits (B, V) of ids in ``seen`` (B, L) are divided by
    ``penalty`` when positive and multiplied by it when negative, so they always become less likely."""
    if penalty == 1.0 or seen.numel() == 0:
        return logits
    scores = logits.gather(1, seen)
    scores = torch.where(scores > 0, scores / penalty, scores * penalty)
    return logits.scatter(1, seen, scores)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Set all but the ``k`` largest logits per row to -inf."""
    if k >= logits.shape[-1]:
        return logits
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering (Holtzman et al., 2020): keep the most likely tokens until their probability
    reaches ``p`` (always at least one), set the rest to -inf."""
    if p >= 1.0:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above each one
    drop_sorted = mass_before >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def next_token_distribution(logits: torch.Tensor, seen: torch.Tensor, config: DecodingConfig) -> torch.Tensor:
    """Processed logits (B, V): repetition penalty, temperature, top-k, top-p, in that order."""
    logits = apply_repetition_penalty(logits.float(), seen, config.repetition_penalty)
    if config.temperature > 0:
        logits = logits / config.temperature
    if config.top_k is not None:
        logits = top_k_filter(logits, config.top_k)
    if config.top_p is not None:
        logits = top_p_filter(logits, config.top_p)
    return logits


def choose(logits: torch.Tensor, config: DecodingConfig, generator: torch.Generator | None) -> torch.Tensor:
    """Next ids (B,) from processed logits: argmax at temperature 0, otherwise a seeded draw."""
    if config.temperature == 0:
        return logits.argmax(dim=-1)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)[:, 0]


# --- feeding the model -----------------------------------------------------------------------------


class _Feeder:
    """Keeps a model state in step with token rows, sliding the window when a bounded context is full."""

    def __init__(self, model: Any, batch_size: int, planned_len: int) -> None:
        self.model = model
        self.limit = model.max_context
        self.capacity = planned_len if self.limit is None else min(planned_len, self.limit)
        self.state = model.init_state(batch_size, self.capacity)
        self.in_state = 0

    def feed(self, rows: torch.Tensor, new: int) -> torch.Tensor:
        """The last ``new`` columns of ``rows`` (B, L) are not in the state yet; feed them, return logits."""
        if self.limit is not None and self.in_state + new > self.limit:
            keep = max(self.limit // 2, 1)
            self.state = self.model.init_state(rows.shape[0], self.limit)
            self.in_state = 0
            rows, new = rows[:, -keep:], min(keep, rows.shape[1])
        logits, self.state = self.model.advance(rows[:, -new:], self.state)
        self.in_state += new
        return logits

    def reorder(self, index: torch.Tensor) -> None:
        self.state = self.model.reorder_state(self.state, index)


def _check_prompt(model: Any, prompt_ids: Sequence[int]) -> torch.Tensor:
    if len(prompt_ids) == 0:
        raise ConfigError("generation needs at least one prompt token (start with the end-of-text token)")
    limit = model.max_context
    if limit is not None and len(prompt_ids) > limit:
        raise ConfigError(
            f"the prompt is {len(prompt_ids)} tokens but the model's context window is {limit} "
            "tokens: shorten it, or keep only its end (generate(..., truncate_prompt=True))"
        )
    return torch.tensor([list(prompt_ids)], dtype=torch.long)


@torch.no_grad()
def iter_tokens(
    model: Any,
    prompt_ids: Sequence[int],
    config: DecodingConfig,
    *,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
) -> Iterator[int]:
    """Yield generated ids one at a time (greedy or sampled); stops after ``eos_id`` (yielded) or
    ``max_new_tokens``. Streaming callers print as ids arrive."""
    if config.num_beams > 1:
        raise ConfigError("beam search returns whole sequences; use beam_search() (no streaming)")
    rows = _check_prompt(model, prompt_ids)
    feeder = _Feeder(model, 1, rows.shape[1] + config.max_new_tokens)
    logits = feeder.feed(rows, rows.shape[1])
    for step in range(config.max_new_tokens):
        token = choose(next_token_distribution(logits, rows, config), config, generator)
        yield int(token)
        if eos_id is not None and int(token) == eos_id or step + 1 == config.max_new_tokens:
            return
        rows = torch.cat([rows, token[:, None]], dim=1)
        logits = feeder.feed(rows, 1)


@torch.no_grad()
def iter_token_rows(
    model: Any,
    prompts: Sequence[Sequence[int]],
    configs: Sequence[DecodingConfig],
    *,
    generators: Sequence[torch.Generator | None],
    eos_id: int | None = None,
    ended: set[int] | None = None,
) -> Iterator[dict[int, int]]:
    """The batched twin of :func:`iter_tokens` for prompts of one length: one forward pass per step for
    all rows, and per step ``{row: id}`` for the rows still going. Each row samples with its own settings
    and generator, so its ids are those :func:`iter_tokens` gives it alone (up to the float rounding of a
    batched matrix product). A row ends after ``eos_id`` or its ``max_new_tokens``; the caller ends one
    early (a stop sequence, a cancelled request) by adding its index to ``ended`` between two steps, and
    ended rows leave the batch."""
    if any(c.num_beams > 1 for c in configs):
        raise ConfigError("beam search returns whole sequences; use beam_search() (no batching)")
    if len({len(p) for p in prompts}) > 1:
        raise ConfigError("batched generation needs prompts of one token length (group them by length)")
    ended = set() if ended is None else ended
    rows = torch.cat([_check_prompt(model, p) for p in prompts])
    active = list(range(len(prompts)))
    feeder = _Feeder(model, len(active), rows.shape[1] + max(c.max_new_tokens for c in configs))
    logits = feeder.feed(rows, rows.shape[1])
    for step in range(max(c.max_new_tokens for c in configs)):
        tokens = []
        for position, row in enumerate(active):
            config = configs[row]
            one = slice(position, position + 1)
            token = choose(next_token_distribution(logits[one], rows[one], config), config, generators[row])
            tokens.append(token)
            if eos_id is not None and int(token) == eos_id or step + 1 == config.max_new_tokens:
                ended.add(row)
        yield {row: int(token) for row, token in zip(active, tokens, strict=True)}
        keep = [position for position, row in enumerate(active) if row not in ended]
        if not keep:
            return
        rows = torch.cat([rows, torch.cat(tokens)[:, None]], dim=1)
        if len(keep) < len(active):
            index = torch.tensor(keep)
            rows = rows[index]
            feeder.reorder(index)
            active = [active[position] for position in keep]
        logits = feeder.feed(rows, 1)


@dataclass
class BeamResult:
    ids: list[int]  # generated ids (without the prompt; with the end-of-sequence id if it ended)
    score: float  # log-probability / length**length_penalty
    log_prob: float


@torch.no_grad()
def beam_search(
    model: Any, prompt_ids: Sequence[int], config: DecodingConfig, *, eos_id: int | None = None
) -> list[BeamResult]:
    """Beam search with ``config.num_beams`` beams; returns the finished hypotheses best first.

    A hypothesis finishes when it emits ``eos_id`` or reaches ``max_new_tokens``; search stops once
    ``num_beams`` hypotheses have finished (HF's ``early_stopping=True`` rule). The repetition penalty
    applies; temperature, top-k and top-p do not (beam search is deterministic).
    """
    beams = config.num_beams
    rows = _check_prompt(model, prompt_ids)
    prompt_len = rows.shape[1]
    feeder = _Feeder(model, 1, prompt_len + config.max_new_tokens)
    logits = feeder.feed(rows, prompt_len)
    feeder.reorder(torch.zeros(beams, dtype=torch.long))
    rows = rows.expand(beams, -1)
    logits = logits.expand(beams, -1)
    scores = torch.full((beams,), float("-inf"))
    scores[0] = 0.0  # all beams start identical: expand only the first at step one
    finished: list[BeamResult] = []

    def normalised(log_prob: float, length: int) -> float:
        return log_prob / max(length, 1) ** config.length_penalty

    for step in range(config.max_new_tokens):
        processed = apply_repetition_penalty(logits.float(), rows, config.repetition_penalty)
        total = scores[:, None] + F.log_softmax(processed, dim=-1)
        top_scores, top_ids = total.flatten().topk(2 * beams)
        vocab = total.shape[1]
        keep_beam, keep_token, keep_score = [], [], []
        last_step = step + 1 == config.max_new_tokens
        for score, flat in zip(top_scores.tolist(), top_ids.tolist(), strict=True):
            if score == float("-inf"):
                break
            beam, token = divmod(flat, vocab)
            generated = rows[beam, prompt_len:].tolist() + [token]
            if eos_id is not None and token == eos_id or last_step:
                finished.append(BeamResult(generated, normalised(score, len(generated)), score))
            else:
                keep_beam.append(beam)
                keep_token.append(token)
                keep_score.append(score)
            if len(keep_beam) == beams:
                break
        if len(finished) >= config.num_beams or not keep_beam or last_step:
            break
        index = torch.tensor(keep_beam)
        feeder.reorder(index)
        rows = torch.cat([rows[index], torch.tensor(keep_token)[:, None]], dim=1)
        scores = torch.tensor(keep_score)
        logits = feeder.feed(rows, 1)
        beams = len(keep_beam)
    return sorted(finished, key=lambda r: r.score, reverse=True)


# --- text streaming and stop sequences ---------------------------------------------------------------


class TextStream:
    """Turns generated ids into text as they arrive.

    ``push(id)`` returns the text that is now final: it holds back a possibly incomplete UTF-8 character
    (trailing U+FFFD characters from a partial byte sequence, which a later byte may complete) and any
    tail that could be the start of a stop sequence. When a stop sequence appears, the text is cut before
    it and :attr:`stopped` names it. :attr:`text` is exactly the concatenation of the returned pieces.
    """

    def __init__(self, decode: Callable[[list[int]], str], stop: Sequence[str] = ()) -> None:
        if any(not s for s in stop):
            raise ConfigError("stop sequences must be non-empty strings")
        self.decode = decode
        self.stop = list(stop)
        self.ids: list[int] = []
        self.emitted = 0
        self.stopped: str | None = None
        self._text = ""
        self._pieces: list[str] = []

    @property
    def text(self) -> str:
        """All text returned so far (after :meth:`finish`: the whole completion)."""
        return "".join(self._pieces)

    def push(self, token_id: int) -> str:
        if self.stopped is not None:
            return ""
        self.ids.append(token_id)
        self._text = self.decode(self.ids)
        cut = self._find_stop()
        if cut is not None:
            return self._emit_until(cut)
        safe = len(self._text)
        while safe > self.emitted and self._text[safe - 1] == "\ufffd":
            safe -= 1
        safe -= self._stop_prefix_length(self._text[:safe])
        return self._emit_until(max(safe, self.emitted))

    def finish(self) -> str:
        """Release whatever was held back (generation ended without a stop sequence)."""
        if self.stopped is not None:
            return ""
        return self._emit_until(len(self._text))

    def _emit_until(self, end: int) -> str:
        piece = self._text[self.emitted : end]
        self.emitted = max(end, self.emitted)
        self._pieces.append(piece)
        return piece

    def _find_stop(self) -> int | None:
        longest = max((len(s) for s in self.stop), default=0)
        start = max(self.emitted - longest, 0)
        hits = [(pos, s) for s in self.stop if (pos := self._text.find(s, start)) >= 0]
        if not hits:
            return None
        pos, stop = min(hits)
        self.stopped = stop
        self._text = self._text[:pos]
        return pos

    def _stop_prefix_length(self, text: str) -> int:
        """Length of the longest tail of ``text`` that is a proper prefix of a stop sequence."""
        best = 0
        for stop in self.stop:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:size]):
                    best = size
                    break
        return best
