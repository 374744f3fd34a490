"""Decoding strategies: logits filters, greedy/sampling/beam search on a known bigram model, the sliding
context window, and streaming text with stop sequences."""

import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import build_model
from genforge.samplers.decoding import (
    DecodingConfig,
    TextStream,
    apply_repetition_penalty,
    beam_search,
    iter_token_rows,
    iter_tokens,
    top_k_filter,
    top_p_filter,
)


class BigramLM:
    """A bigram language model with a fixed transition table (log-probabilities), driven through the same
    incremental interface as GPT/RNN models. Ids: 0 = end, 1 = a, 2 = b, 3 = start."""

    max_context = None

    def __init__(self, probs):
        self.table = torch.tensor(probs).log()

    def init_state(self, batch_size, max_len):
        return None

    def advance(self, ids, state):
        return self.table[ids[:, -1]], state

    def reorder_state(self, state, index):
        return state


# greedy takes "a" (0.6) then ends with 0.34 -> 0.204; "b" (0.4) then end (0.99) -> 0.396 is better
TRAP = BigramLM(
    [[0.97, 0.01, 0.01, 0.01], [0.34, 0.33, 0.33, 0.0], [0.99, 0.005, 0.005, 0.0], [0.0, 0.6, 0.4, 0.0]]
)


def test_top_k_keeps_exactly_the_k_largest_logits():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]])
    kept = top_k_filter(logits, 2)
    assert torch.isfinite(kept).tolist() == [[False, True, False, True, False]]


@pytest.mark.parametrize("p,expected", [(0.5, 1), (0.6, 2), (0.8, 2), (0.81, 3), (1.0, 3)])
def test_top_p_keeps_the_smallest_set_reaching_p(p, expected):
    logits = torch.tensor([[0.3, 0.5, 0.2]]).log()
    kept = top_p_filter(logits, p)
    assert int(torch.isfinite(kept).sum()) == expected
    assert torch.isfinite(kept[0, 1])  # the most likely token always survives


def test_repetition_penalty_makes_seen_tokens_less_likely():
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    out = apply_repetition_penalty(logits, torch.tensor([[0, 1]]), 2.0)
    assert out.tolist() == [[1.0, -2.0, 0.5]]


def test_greedy_decoding_follows_the_argmax_chain_and_stops_at_eos():
    ids = list(iter_tokens(TRAP, [3], DecodingConfig(temperature=0, max_new_tokens=10), eos_id=0))
    assert ids == [1, 0]


def test_beam_search_finds_a_more_likely_sequence_than_greedy():
    best = beam_search(
        TRAP, [3], DecodingConfig(num_beams=2, max_new_tokens=5, length_penalty=0.0), eos_id=0
    )[0]
    assert best.ids == [2, 0]
    assert best.log_prob == pytest.approx(math.log(0.4 * 0.99), rel=1e-5)


def test_sampling_is_seeded_and_follows_the_model_distribution():
    config = DecodingConfig(max_new_tokens=1)
    draws = [
        next(iter_tokens(TRAP, [3], config, generator=torch.Generator().manual_seed(s))) for s in range(400)
    ]
    assert draws == [
        next(iter_tokens(TRAP, [3], config, generator=torch.Generator().manual_seed(s))) for s in range(400)
    ]
    assert 0.5 < draws.count(1) / 400 < 0.7  # P(a | start) = 0.6
    top1 = [
        next(
            iter_tokens(
                TRAP,
                [3],
                DecodingConfig(max_new_tokens=1, top_k=1),
                generator=torch.Generator().manual_seed(s),
            )
        )
        for s in range(20)
    ]
    assert set(top1) == {1}


def test_generation_past_a_bounded_context_slides_the_window():
    torch.manual_seed(0)
    info = DataInfo(kind="tokens", shape=(9,), vocab_size=20, extra={"context_length": 8, "eot_id": 0})
    model = build_model(
        "gpt", {"num_layers": 1, "num_heads": 2, "embed_dim": 16, "dropout": 0.0}, info
    ).eval()
    ids = list(iter_tokens(model, [0, 5, 6], DecodingConfig(max_new_tokens=30, temperature=0)))
    assert len(ids) == 30
    with torch.no_grad():  # the first tokens, while everything fits, equal the uncached argmax chain
        seq = [0, 5, 6]
        for _ in range(5):
            seq.append(int(model.logits(torch.tensor([seq]))[0, -1].argmax()))
    assert ids[:5] == seq[3:]
    with pytest.raises(ConfigError, match="context window"):
        list(iter_tokens(model, list(range(9)), DecodingConfig(max_new_tokens=1)))


def test_batched_rows_give_each_row_the_ids_it_gets_alone_past_the_window_and_when_ended_early():
    torch.manual_seed(0)
    info = DataInfo(kind="tokens", shape=(9,), vocab_size=20, extra={"context_length": 8, "eot_id": 0})
    model = build_model(
        "gpt", {"num_layers": 1, "num_heads": 2, "embed_dim": 16, "dropout": 0.0}, info
    ).eval()
    prompts = [[0, 5, 6], [0, 7, 8], [0, 5, 6], [0, 1, 2]]
    configs = [
        DecodingConfig(max_new_tokens=20, temperature=1.0),
        DecodingConfig(max_new_tokens=12, temperature=0.7, top_p=0.9),
        DecodingConfig(max_new_tokens=20, temperature=1.0),
        DecodingConfig(max_new_tokens=20, temperature=0),
    ]
    seeds = [1, 2, 3, 4]
    alone = [
        list(iter_tokens(model, p, c, generator=torch.Generator().manual_seed(s)))
        for p, c, s in zip(prompts, configs, seeds, strict=True)
    ]
    ended: set[int] = set()
    got: list[list[int]] = [[] for _ in prompts]
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    for step, tokens in enumerate(
        iter_token_rows(model, prompts, configs, generators=generators, ended=ended)
    ):
        for row, token in tokens.items():
            got[row].append(token)
        if step == 4:
            ended.add(2)  # the caller stops row 2 (a stop sequence, a client gone)
    assert got[0] == alone[0] and got[1] == alone[1] and got[3] == alone[3]
    assert got[2] == alone[2][:5] and len(alone[0]) == 20 and len(alone[1]) == 12
    with pytest.raises(ConfigError, match="one token length"):
        list(iter_token_rows(model, [[0, 1], [0]], configs[:2], generators=[None, None]))


def utf8(ids):
    return bytes(ids).decode("utf-8", errors="replace")


def test_text_stream_holds_back_incomplete_utf8_characters():
    stream = TextStream(utf8)
    pieces = [stream.push(b) for b in "né€".encode()] + [stream.push(0xFF), stream.push(ord("a"))]
    assert pieces == ["n", "", "é", "", "", "€", "", "\ufffda"]
    assert stream.finish() == "" and stream.text == "né€\ufffda" == "".join(pieces)


def test_text_stream_cuts_at_a_stop_sequence_and_never_prints_part_of_it():
    stream = TextStream(utf8, stop=["END"])
    pieces = [stream.push(b) for b in b"abc ENxEND tail"]
    assert "".join(pieces) == "abc ENx" and stream.stopped == "END"
    assert stream.text == "abc ENx" and stream.push(ord("z")) == ""
    assert pieces[4] == pieces[5] == ""  # "E", then "EN", held back as a possible start of "END"


def test_empty_prompts_and_stop_sequences_are_errors():
    with pytest.raises(ConfigError, match="prompt token"):
        list(iter_tokens(TRAP, [], DecodingConfig()))
    with pytest.raises(ConfigError, match="non-empty"):
        TextStream(utf8, stop=[""])
