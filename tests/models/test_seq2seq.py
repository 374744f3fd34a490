"""Seq2seq: incremental decoding equals teacher forcing, padding is ignored, attention is a distribution,
and each attention variant learns a small task."""

import pytest
import torch
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import build_model
from genforge.samplers.decoding import DecodingConfig, beam_search

INFO = DataInfo(
    kind="pairs",
    shape=(6,),
    vocab_size=14,
    extra={"pad_id": 0, "bos_id": 1, "eos_id": 2, "max_source_length": 6, "max_target_length": 8},
)
VARIANTS = ["bahdanau", "luong", "transformer"]
SMALL = {"embed_dim": 16, "hidden_dim": 32, "num_heads": 2, "dropout": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(attention):
    torch.manual_seed(0)
    return build_model("seq2seq", {**SMALL, "attention": attention}, INFO)


def reverse_batch(n, generator):
    """Sources of 3-5 symbols (ids 3..12), targets = the reversed source: <bos> … <eos>, padded with 0."""
    x = torch.zeros(n, 6, dtype=torch.long)
    target = torch.zeros(n, 8, dtype=torch.long)
    for i in range(n):
        length = int(torch.randint(3, 6, (1,), generator=generator))
        seq = torch.randint(3, 13, (length,), generator=generator)
        x[i, :length] = seq
        target[i, 0], target[i, 1 : length + 1], target[i, length + 1] = 1, seq.flip(0), 2
    return {"x": x, "target": target}


@pytest.mark.parametrize("attention", VARIANTS)
def test_step_by_step_decoding_matches_teacher_forcing(attention):
    model = small(attention).eval()
    batch = reverse_batch(3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits, weights, _ = model._teacher(batch, need_weights=True)
        decoder = model.decoder_for(batch["x"])
        state = decoder.init_state(3, 8)
        steps = []
        for t in range(7):
            step_logits, state = decoder.advance(batch["target"][:, t : t + 1], state)
            steps.append(step_logits)
    torch.testing.assert_close(torch.stack(steps, 1), logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 7))


@pytest.mark.parametrize("attention", VARIANTS)
def test_padding_in_the_source_changes_nothing(attention):
    model = small(attention).eval()
    batch = reverse_batch(2, torch.Generator().manual_seed(1))
    wider = {"x": torch.cat([batch["x"], torch.zeros(2, 3, dtype=torch.long)], 1), "target": batch["target"]}
    with torch.no_grad():
        torch.testing.assert_close(model.loss(batch)["loss"], model.loss(wider)["loss"], atol=1e-6, rtol=1e-5)
        _, weights, _ = model._teacher(wider, need_weights=True)
    pad = wider["x"] == 0
    assert weights.masked_select(pad[:, None, :].expand_as(weights)).abs().max() == 0


@pytest.mark.slow
@pytest.mark.parametrize("attention", VARIANTS)
def test_each_attention_variant_learns_to_reverse_short_sequences(attention):
    model = small(attention)
    generator = torch.Generator().manual_seed(2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        model.loss(reverse_batch(32, generator))["loss"].backward()
        opt.step()
    model.eval()
    test = reverse_batch(64, torch.Generator().manual_seed(99))
    summary = model.summarize_eval({k: float(v.mean()) for k, v in model.eval_terms(test).items()})
    assert summary["exact_match_accuracy"] > 0.5, summary
    source = test["x"][:1, : int((test["x"][0] != 0).sum())]
    best = beam_search(
        model.decoder_for(source), [1], DecodingConfig(num_beams=3, max_new_tokens=8), eos_id=2
    )[0]
    greedy, attention_weights = model.greedy(source)
    assert best.ids[-1] == 2 and attention_weights.shape[-1] == source.shape[1]
    assert model.strip_special(best.ids) == model.strip_special(greedy[0].tolist()) or best.score < 0


def test_sampling_without_a_source_points_to_translate():
    with pytest.raises(ConfigError, match="translate"):
        small("bahdanau").sample(2)
