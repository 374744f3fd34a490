"""GPT: same function as Hugging Face GPT-2 with the same weights, KV-cache decoding, tied weights, learning."""

import pytest
import torch
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import build_model

INFO = DataInfo(kind="tokens", shape=(33,), vocab_size=40, extra={"context_length": 32, "eot_id": 0})
SMALL = {"num_layers": 2, "num_heads": 2, "embed_dim": 16, "dropout": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_gpt(**overrides):
    torch.manual_seed(0)
    return build_model("gpt", {**SMALL, **overrides}, INFO).eval()


@pytest.mark.slow  # importing transformers takes several seconds
def test_gpt_computes_the_same_logits_as_hugging_face_gpt2_with_the_same_weights():
    transformers = pytest.importorskip("transformers")
    model = small_gpt()
    config = transformers.GPT2Config(
        vocab_size=40,
        n_positions=32,
        n_embd=16,
        n_layer=2,
        n_head=2,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=0,
        eos_token_id=0,
    )
    reference = transformers.GPT2LMHeadModel(config).eval()
    state = {
        "transformer.wte.weight": model.token_embedding.weight,
        "transformer.wpe.weight": model.position_embedding.weight,
        "transformer.ln_f.weight": model.ln_f.weight,
        "transformer.ln_f.bias": model.ln_f.bias,
    }
    for i, block in enumerate(model.blocks):
        p = f"transformer.h.{i}."
        for ours, theirs in [("ln_1", "ln_1"), ("ln_2", "ln_2")]:
            state[p + theirs + ".weight"] = getattr(block, ours).weight
            state[p + theirs + ".bias"] = getattr(block, ours).bias
        for ours, theirs in [
            (block.attn.qkv, "attn.c_attn"),
            (block.attn.proj, "attn.c_proj"),
            (block.fc, "mlp.c_fc"),
            (block.fc_proj, "mlp.c_proj"),
        ]:
            state[p + theirs + ".weight"] = ours.weight.T  # HF Conv1D stores (in, out)
            state[p + theirs + ".bias"] = ours.bias
    reference.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)
    ids = torch.randint(0, 40, (2, 20), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model.logits(ids), reference(ids).logits, atol=1e-5, rtol=1e-4)


def test_incremental_decoding_with_the_cache_matches_the_full_forward_pass():
    model = small_gpt()
    ids = torch.randint(0, 40, (3, 18), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = model.logits(ids)
        state = model.init_state(3, 32)
        logits, state = model.advance(ids[:, :6], state)
        steps = [logits]
        for t in range(6, 18):
            logits, state = model.advance(ids[:, t : t + 1], state)
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full[:, 5:], atol=1e-5, rtol=1e-4)


def test_tied_output_layer_is_the_embedding_and_is_stored_once():
    tied, untied = small_gpt(), small_gpt(tie_weights=False)
    assert "head.weight" not in tied.state_dict() and "head.weight" in untied.state_dict()
    assert untied.num_parameters() - tied.num_parameters() == 40 * 16


def test_loss_ignores_padding_after_the_valid_length():
    model = small_gpt()
    x = torch.randint(1, 40, (2, 33), generator=torch.Generator().manual_seed(3))
    short = {"x": x, "length": torch.tensor([33, 10])}
    changed = {"x": x.clone(), "length": short["length"]}
    changed["x"][1, 10:] = 7
    torch.testing.assert_close(model.loss(short)["loss"], model.loss(changed)["loss"])


def test_eval_terms_give_bits_per_char_from_exact_byte_and_char_counts():
    model = small_gpt()
    info_bytes = [1] + [2] * 39  # pretend every id but <eot> is a 2-byte, 1-character token
    model.token_bytes = torch.tensor(info_bytes)
    model.token_chars = torch.ones(40, dtype=torch.long)
    batch = {
        "x": torch.randint(1, 40, (4, 33), generator=torch.Generator().manual_seed(4)),
        "length": torch.full((4,), 33),
    }
    terms = model.eval_terms(batch)
    means = {k: float(v.mean()) for k, v in terms.items()}
    summary = model.summarize_eval(means)
    assert summary["bits_per_byte"] == pytest.approx(summary["bits_per_token"] / 2)
    assert summary["bits_per_char"] == pytest.approx(summary["bits_per_token"])
    assert summary["perplexity"] == pytest.approx(torch.tensor(summary["nll_nats_per_token"]).exp().item())


def test_sampling_is_reproducible_with_a_seeded_generator():
    model = small_gpt()
    a = model.sample(3, generator=torch.Generator().manual_seed(5), length=12)
    b = model.sample(3, generator=torch.Generator().manual_seed(5), length=12)
    assert a.shape == (3, 12) and torch.equal(a, b)
    with pytest.raises(ConfigError, match="context"):
        model.sample(1, length=33)


def test_gpt_learns_a_repeating_sequence():
    torch.manual_seed(0)
    model = build_model("gpt", SMALL, INFO)
    pattern = torch.arange(1, 9).repeat(5)[:33]
    batch = {"x": pattern.expand(8, -1).clone(), "length": torch.full((8,), 33)}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(batch)["loss"].item()
    for _ in range(40):
        opt.zero_grad()
        model.loss(batch)["loss"].backward()
        opt.step()
    assert model.loss(batch)["loss"].item() < 0.1 * first


def test_width_must_divide_into_heads():
    with pytest.raises(ConfigError, match="divisible"):
        build_model("gpt", {"embed_dim": 30, "num_heads": 4}, INFO)
