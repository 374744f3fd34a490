"""TVAE and CTGAN on encoded rows: losses, conditional vectors, training-by-sampling, sampling."""

import numpy as np
import pytest
import torch
from tests.tabular.tabular_testdata import people_columns

from genforge.data.info import DataInfo
from genforge.data.table_transform import TableTransform
from genforge.data.tabular import infer_types
from genforge.models.base import build_model
from genforge.nn.table_heads import draw_rows, reconstruction_log_likelihood


@pytest.fixture(scope="module")
def encoded():
    columns = people_columns(300)
    transform = TableTransform().fit(columns, infer_types(columns))
    x = torch.as_tensor(transform.transform(columns))
    info = DataInfo(
        kind="table",
        shape=(transform.width,),
        extra={"spans": [list(s) for s in transform.spans()], "discrete": transform.discrete_spans()},
    )
    return transform, x, info


def test_tvae_loss_is_finite_and_trains(encoded):
    _, x, info = encoded
    torch.manual_seed(0)
    model = build_model("tvae", {"latent_dim": 8, "hidden": [32]}, info)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = float(model.loss({"x": x})["loss"].detach())
    for _ in range(60):
        opt.zero_grad()
        model.loss({"x": x})["loss"].backward()
        opt.step()
    assert np.isfinite(first) and float(model.loss({"x": x})["loss"].detach()) < first - 5


def test_samples_are_valid_encoded_rows(encoded):
    transform, _, info = encoded
    for family, config in (
        ("tvae", {"latent_dim": 8, "hidden": [16]}),
        ("ctgan", {"latent_dim": 8, "generator_dims": [16], "critic_dims": [16]}),
    ):
        model = build_model(family, config, info).eval()
        rows = model.sample(50, generator=torch.Generator().manual_seed(0))
        assert rows.shape == (50, transform.width)
        for start, width, kind in transform.spans():
            block = rows[:, start : start + width]
            if kind == "softmax":
                assert torch.equal(block.sum(1), torch.ones(50)) and set(block.unique().tolist()) <= {
                    0.0,
                    1.0,
                }
            else:
                assert block.abs().max() <= 1.0
        again = model.sample(50, generator=torch.Generator().manual_seed(0))
        assert torch.equal(rows, again)  # seeded


def test_reconstruction_likelihood_of_a_perfect_prediction():
    spans = [(0, 1, "alpha"), (1, 3, "softmax")]
    target = torch.tensor([[0.5, 0.0, 1.0, 0.0]])
    raw = torch.tensor([[float(np.arctanh(0.5)), -1e4, 1e4, -1e4]])
    log_sigma = torch.zeros(1, 1)
    value = reconstruction_log_likelihood(raw, target, spans, log_sigma)
    assert value.item() == pytest.approx(-0.5 * np.log(2 * np.pi), abs=1e-6)  # N(0|0,1) and log 1
    rows = draw_rows(raw, spans)
    assert rows.tolist() == [[pytest.approx(0.5), 0.0, 1.0, 0.0]]


def test_ctgan_training_by_sampling_draws_categories_by_log_frequency(encoded):
    _, _, info = encoded
    rare = {"column": "c", "start": 0, "categories": ["a", "b"], "counts": [900, 100]}
    info2 = DataInfo(kind="table", shape=(2,), extra={"spans": [[0, 2, "softmax"]], "discrete": [rare]})
    model = build_model(
        "ctgan", {"latent_dim": 4, "generator_dims": [8], "critic_dims": [8], "pac": 10}, info2
    )
    x = torch.zeros(20000, 2)
    x[:18000, 0] = 1
    x[18000:, 1] = 1
    torch.manual_seed(0)
    rows, columns, categories = model._resampled(x)
    assert len(rows) == 20000 and torch.equal(rows.argmax(1), categories)
    share_b = categories.float().mean().item()
    assert share_b == pytest.approx(
        np.log1p(100) / (np.log1p(100) + np.log1p(900)), abs=0.01
    )  # 0.404, not 0.1


def test_ctgan_condition_vector_and_train_step(encoded):
    transform, x, info = encoded
    torch.manual_seed(0)
    model = build_model(
        "ctgan", {"latent_dim": 8, "generator_dims": [16], "critic_dims": [16], "pac": 5}, info
    )
    groups = model.optimizer_groups()
    optimizers = {k: torch.optim.Adam(v, lr=1e-3) for k, v in groups.items()}
    terms = model.train_step({"x": x[:100]}, optimizers, 0)
    assert set(terms) >= {"loss", "gradient_penalty", "g_loss", "cond_loss"}
    assert all(np.isfinite(v) for v in terms.values())
    column, category = model.condition_index("plan", "gold")
    cond = model._cond(torch.tensor([column]), torch.tensor([category]))
    start = sum(len(d["categories"]) for d in model.discrete[:column])
    assert cond.sum() == 1 and cond[0, start + category] == 1
