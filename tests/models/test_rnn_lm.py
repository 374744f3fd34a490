"""LSTM/GRU language models: both names register, the state continues the sequence, they learn."""

import pytest
import torch
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.base import MODELS, build_model

INFO = DataInfo(kind="tokens", shape=(25,), vocab_size=30, extra={"context_length": 24, "eot_id": 0})
SMALL = {"embed_dim": 16, "hidden_dim": 24, "num_layers": 2, "dropout": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("family,cell", [("lstm-lm", torch.nn.LSTM), ("gru-lm", torch.nn.GRU)])
def test_each_family_name_builds_its_cell(family, cell):
    assert family in MODELS
    model = build_model(family, SMALL, INFO)
    assert isinstance(model.rnn, cell)
    with pytest.raises(ConfigError, match="cell"):
        build_model(family, {"cell": "gru" if family == "lstm-lm" else "lstm"}, INFO)


@pytest.mark.parametrize("family", ["lstm-lm", "gru-lm"])
def test_feeding_tokens_step_by_step_matches_the_full_sequence(family):
    torch.manual_seed(0)
    model = build_model(family, SMALL, INFO).eval()
    ids = torch.randint(0, 30, (2, 15), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        full = model.logits(ids)
        logits, state = model.advance(ids[:, :5], model.init_state(2, 15))
        steps = [logits]
        for t in range(5, 15):
            logits, state = model.advance(ids[:, t : t + 1], state)
            steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full[:, 4:], atol=1e-5, rtol=1e-4)


def test_reorder_state_selects_batch_rows():
    model = build_model("lstm-lm", SMALL, INFO).eval()
    with torch.no_grad():
        _, state = model.advance(torch.tensor([[1, 2], [3, 4]]), None)
        swapped = model.reorder_state(state, torch.tensor([1, 0]))
    torch.testing.assert_close(swapped[0][:, 0], state[0][:, 1])
    torch.testing.assert_close(swapped[1][:, 1], state[1][:, 0])


def test_untied_output_and_projection_when_widths_differ():
    tied = build_model("gru-lm", SMALL, INFO)
    assert tied.projection is not None and tied.head is None
    untied = build_model("gru-lm", {**SMALL, "tie_weights": False}, INFO)
    assert untied.head is not None and untied.projection is None


@pytest.mark.parametrize("family", ["lstm-lm", "gru-lm"])
def test_rnn_language_model_learns_a_repeating_sequence(family):
    torch.manual_seed(0)
    model = build_model(family, SMALL, INFO)
    pattern = torch.arange(1, 7).repeat(5)[:25]
    batch = {"x": pattern.expand(8, -1).clone(), "length": torch.full((8,), 25)}
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    first = model.loss(batch)["loss"].item()
    for _ in range(40):
        opt.zero_grad()
        model.loss(batch)["loss"].backward()
        opt.step()
    assert model.loss(batch)["loss"].item() < 0.1 * first
    sample = model.eval().sample(2, generator=torch.Generator().manual_seed(0), temperature=0)
    assert sample.shape == (2, 24)
