"""Text-conditioned diffusion: captions embedded by a trained CLIP run's frozen text tower, guidance
towards a prompt, and the mistakes users make as one-line errors."""

import pytest
import torch

from genforge.core.errors import ConfigError, DataError
from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.pipelines.training import train

TINY_CLIP = {"image_channels": 4, "text_width": 8, "text_heads": 2, "embed_dim": 8}
TINY = {"base_channels": 4, "timesteps": 20, "sample_steps": 3}


@pytest.fixture(scope="module")
def clip_run(tmp_path_factory):
    return train(
        "clip", "digits-captions", out=tmp_path_factory.mktemp("clip"), max_steps=2,
        overrides={**TINY_CLIP, "final_eval": False},
    ).run  # fmt: skip


@pytest.fixture(scope="module")
def captions():
    return load_dataset("digits-captions")


def test_text_tower_is_the_clip_runs_and_stays_frozen(clip_run, captions):
    torch.manual_seed(0)
    model = build_model("diffusion", {**TINY, "cond": "text", "clip_run": str(clip_run.path)}, captions.info)
    saved = clip_run.load_checkpoint().tensors
    for name, value in model.text_encoder.state_dict().items():
        assert torch.equal(value, saved[f"model.text_encoder.{name}"])
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    batch = {k: v[:16] for k, v in captions.split("train").items()}
    model.loss(batch)["loss"].backward()
    assert all(p.grad is None for p in model.text_encoder.parameters())
    assert model.unet.cond_proj.weight.grad is not None
    assert model.takes_prompts


def test_prompts_change_the_samples_and_the_same_seed_repeats_them(clip_run, captions):
    torch.manual_seed(0)
    model = build_model("diffusion", {**TINY, "cond": "text", "clip_run": str(clip_run.path)}, captions.info)
    torch.nn.init.normal_(model.unet.out[-1].weight, std=0.1)  # an untrained UNet predicts zero noise

    def draw(**opts):
        return model.sample(4, generator=torch.Generator().manual_seed(1), **opts)

    seven = draw(prompt="a seven", guidance=3.0)
    assert seven.shape == (4, 1, 8, 8) and 0.0 <= float(seven.min()) <= float(seven.max()) <= 1.0
    assert torch.equal(seven, draw(prompt="a seven", guidance=3.0))
    assert not torch.equal(seven, draw(prompt="a thick two", guidance=3.0))
    with pytest.raises(DataError, match="'purple'"):
        draw(prompt="a purple seven")
    with pytest.raises(ConfigError, match="give --prompt, not --label"):
        draw(label=7)


def test_text_conditioning_mistakes_are_one_line_errors(clip_run, captions, tmp_path):
    with pytest.raises(ConfigError, match="--set clip_run="):
        build_model("diffusion", {**TINY, "cond": "text"}, captions.info)
    with pytest.raises(ConfigError, match="--data digits-captions"):
        build_model(
            "diffusion", {**TINY, "cond": "text", "clip_run": str(clip_run.path)}, load_dataset("digits").info
        )
    other = train("vae", "digits", out=tmp_path, max_steps=1, overrides={"final_eval": False}).run
    with pytest.raises(ConfigError, match="is a vae run"):
        build_model("diffusion", {**TINY, "cond": "text", "clip_run": str(other.path)}, captions.info)
    unconditional = build_model("diffusion", TINY, load_dataset("digits").info)
    with pytest.raises(ConfigError, match="--prompt needs a model trained with --set cond=text"):
        unconditional.sample(2, prompt="a seven")
