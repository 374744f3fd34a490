"""The CLIP-style dual encoder: its loss is CLIP's symmetric cross-entropy when captions are unique,
equal captions are positives, the logit scale starts at 1/0.07 and is clamped, and it learns."""

import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.models.clip import contrastive_loss


def test_loss_is_clip_symmetric_cross_entropy_for_unique_captions():
    gen = torch.Generator().manual_seed(0)
    image = torch.nn.functional.normalize(torch.randn(6, 4, generator=gen), dim=1)
    text = torch.nn.functional.normalize(torch.randn(6, 4, generator=gen), dim=1)
    scale = torch.tensor(14.0)
    logits = scale * image @ text.T
    labels = torch.arange(6)
    reference = (
        torch.nn.functional.cross_entropy(logits, labels)
        + torch.nn.functional.cross_entropy(logits.T, labels)
    ) / 2
    ours = contrastive_loss(image, text, scale, torch.eye(6, dtype=torch.bool)).mean()
    assert float(ours) == pytest.approx(float(reference), rel=1e-6)


def test_equal_captions_share_the_target():
    image = torch.eye(3)
    text = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]])
    same = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    per_example = contrastive_loss(image, text, torch.tensor(1.0), same)
    # row 0: image 0 against texts (1, 1, 0) with target (1/2, 1/2, 0) -> -log(e / (2e + 1))
    assert float(per_example[0] * 2) == pytest.approx(
        -math.log(math.e / (2 * math.e + 1))
        + -(0.5 * math.log(math.e / (math.e + 2)) + 0.5 * math.log(1 / (2 + math.e))),
        rel=1e-6,
    )


def test_logit_scale_starts_at_one_over_0_07_and_is_clamped():
    info = load_dataset("digits-captions").info
    model = build_model("clip", {"max_logit_scale": 10.0}, info)
    assert float(model.log_scale.detach().exp()) == pytest.approx(1 / 0.07)
    assert float(model.logit_scale().detach()) == 10.0


def test_clip_refuses_data_without_captions():
    with pytest.raises(ConfigError, match="--data digits-captions"):
        build_model("clip", {}, load_dataset("digits").info)


def test_a_few_steps_lower_the_loss_and_embeddings_are_unit_vectors():
    data = load_dataset("digits-captions")
    torch.manual_seed(0)
    model = build_model("clip", {"image_channels": 8, "text_width": 16, "embed_dim": 16}, data.info)
    batch = {k: v[:64] for k, v in data.split("train").items()}
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(model.loss(batch)["loss"].detach())
    for _ in range(30):
        opt.zero_grad()
        model.loss(batch)["loss"].backward()
        opt.step()
    assert float(model.loss(batch)["loss"].detach()) < first - 0.5
    norms = model.encode_images(batch["x"]).norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    assert model.zero_shot_logits(batch["x"]).shape == (64, 10)
