"""pipelines/inference: each image operation checks its input and gives the documented shapes/units."""

import math
import re

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.pipelines.inference import image_operation, image_operations, images_to_png, latent_shape


@pytest.fixture(scope="module")
def info():
    return load_dataset("digits").info


@pytest.mark.parametrize("family", ["vae", "gan", "pixelcnn", "realnvp"])
def test_every_offered_operation_runs_with_the_documented_shapes(family, info):
    model = build_model(family, None, info).eval()
    ops = image_operations(model)
    assert "sample" in ops
    images = image_operation(model, "sample", n=2, seed=0)
    assert images.shape == (2, *info.shape) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, image_operation(model, "sample", n=2, seed=0))
    levels = (images * (info.num_levels - 1)).round().long()
    if "log_prob" in ops:
        bpd = image_operation(model, "log_prob", levels, seed=0)
        assert bpd.shape == (2,) and torch.isfinite(bpd).all() and (bpd > 0).all()
        assert torch.equal(bpd, image_operation(model, "log_prob", levels, seed=0))
    if "encode" in ops:
        assert image_operation(model, "encode", levels).shape == (2, *latent_shape(model))
    if "decode" in ops:
        z = torch.zeros(3, *latent_shape(model))
        assert image_operation(model, "decode", z).shape == (3, *info.shape)


def test_log_prob_is_bits_per_dim_of_the_model_log_prob(info):
    model = build_model("pixelcnn", None, info).eval()
    x = torch.randint(0, info.num_levels, (2, *info.shape))
    with torch.no_grad():
        nats = model.log_prob(x)
    expected = -nats / (math.prod(info.shape) * math.log(2))
    torch.testing.assert_close(image_operation(model, "log_prob", x), expected)


@pytest.mark.parametrize(
    ("op", "x", "kwargs", "says"),
    [
        ("encode", torch.zeros(1, 64, dtype=torch.long), {}, "shape [N, 1, 8, 8]"),
        ("encode", torch.full((1, 1, 8, 8), 99), {}, "levels 0..16"),
        ("decode", torch.zeros(1, 3), {}, "latents must have shape"),
        ("decode", None, {}, "needs an input"),
        ("sample", None, {"n": 0}, "between 1 and"),
        ("sample", None, {"temperature": -1.0}, "temperature"),
        ("dance", None, {}, "no 'dance' operation"),
    ],
)
def test_bad_inputs_are_one_config_error(info, op, x, kwargs, says):
    model = build_model("vae", None, info).eval()
    with pytest.raises(ConfigError, match=re.escape(says)):
        image_operation(model, op, x, **kwargs)


def test_nan_latents_are_refused(info):
    model = build_model("vae", None, info).eval()
    z = torch.zeros(1, *latent_shape(model))
    z[0, 0] = float("nan")
    with pytest.raises(ConfigError, match="finite"):
        image_operation(model, "decode", z)


def test_pngs_are_one_file_per_image(info):
    model = build_model("gan", None, info).eval()
    pngs = images_to_png(image_operation(model, "sample", n=3, seed=1))
    assert len(pngs) == 3 and all(p.startswith(b"\x89PNG") for p in pngs)
