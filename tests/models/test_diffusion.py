import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.diffusion import (
    Diffusion,
    DiffusionConfig,
    cosine_alphas_cumprod,
    linear_alphas_cumprod,
    sampling_timesteps,
)
from genforge.nn.unet import UNet, timestep_embedding

TINY = {"base_channels": 8, "channel_mults": (1, 2), "timesteps": 100}
DIGITS = DataInfo(kind="image", shape=(1, 8, 8), num_levels=17, num_classes=10)


def tiny_model(seed=0, info=DIGITS, **config) -> Diffusion:
    torch.manual_seed(seed)
    return Diffusion(DiffusionConfig(**{**TINY, **config}), info).eval()


class Oracle(torch.nn.Module):
    """The exact denoiser for data that is one image ``x0`` (in [-1, 1]): what a perfect network predicts."""

    def __init__(self, model: Diffusion, x0: torch.Tensor) -> None:
        super().__init__()
        self.model, self.x0 = model, x0

    def forward(self, x, t, labels=None):
        a, s = self.model._coefficients(t)
        eps = (x - a * self.x0) / s
        return eps if self.model.config.predict == "eps" else a * eps - s * self.x0


@pytest.mark.parametrize("predict", ["eps", "v"])
@pytest.mark.parametrize(("sampler", "steps"), [("ddim", 10), ("ddim", 1), ("ddpm", None), ("ddpm", 7)])
def test_samplers_with_an_exact_denoiser_return_the_data_point(predict, sampler, steps):
    model = tiny_model(predict=predict)
    x0 = torch.linspace(-0.9, 0.9, 64).view(1, 1, 8, 8)
    model.unet = Oracle(model, x0)
    images = model.sample(3, generator=torch.Generator().manual_seed(1), sampler=sampler, steps=steps)
    assert torch.allclose(images, ((x0 + 1) / 2).expand(3, -1, -1, -1), atol=1e-3)


def test_ddim_is_deterministic_given_the_start_noise_and_ddpm_adds_noise():
    model = tiny_model()
    for p in model.unet.out.parameters():  # a non-zero network
        torch.nn.init.normal_(p, std=0.1)

    def draw(**opts):
        return model.sample(4, generator=torch.Generator().manual_seed(5), steps=5, **opts)

    assert torch.equal(draw(sampler="ddim"), draw(sampler="ddim"))
    assert torch.equal(draw(sampler="ddpm"), draw(sampler="ddpm"))
    assert not torch.allclose(draw(sampler="ddim"), draw(sampler="ddpm"))
    assert torch.equal(draw(sampler="ddpm", eta=0.0), draw(sampler="ddim"))


def test_linear_schedule_matches_ho_et_al():
    abar = linear_alphas_cumprod(1000)
    assert abar[0].item() == pytest.approx(1 - 1e-4)
    betas = 1 - abar / torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])
    assert betas[-1].item() == pytest.approx(0.02)
    assert abar[-1].item() == pytest.approx(4.0358e-05, rel=1e-3)  # signal left at t = T


def test_cosine_schedule_follows_its_closed_form_below_the_cap():
    abar = cosine_alphas_cumprod(1000)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 100, 500, 900):
        assert abar[t].item() == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-9)
    assert torch.all(abar[1:] < abar[:-1])


def test_step_spacing_rules():
    assert sampling_timesteps(1000, 4, "trailing") == [999, 749, 499, 249]
    assert sampling_timesteps(1000, 4, "leading") == [750, 500, 250, 0]
    assert sampling_timesteps(1000, 1000) == list(range(999, -1, -1))
    with pytest.raises(ConfigError, match="--steps must be between 1 and 1000"):
        sampling_timesteps(1000, 1001)


def test_untrained_model_predicts_zero_noise_so_its_eps_loss_is_the_noise_variance():
    model = tiny_model()
    batch = {"x": torch.randint(0, 17, (256, 1, 8, 8)), "y": torch.randint(0, 10, (256,))}
    loss = model.per_example_loss(batch, torch.Generator().manual_seed(0)).mean()
    assert loss.item() == pytest.approx(1.0, abs=0.02)


def test_unet_output_depends_on_time_and_label():
    torch.manual_seed(0)
    unet = UNet(1, 8, (1, 2), 1, True, num_classes=10)
    torch.nn.init.normal_(unet.out[-1].weight, std=0.1)
    x = torch.randn(2, 1, 8, 8)
    base = unet(x, torch.tensor([3, 3]), torch.tensor([1, 1]))
    assert base.shape == (2, 1, 8, 8)
    assert not torch.allclose(base, unet(x, torch.tensor([500, 500]), torch.tensor([1, 1])))
    assert not torch.allclose(base, unet(x, torch.tensor([3, 3]), torch.tensor([2, 2])))
    assert not torch.allclose(base, unet(x, torch.tensor([3, 3]), None))  # the "no label" token


def test_timestep_embedding_is_sinusoidal():
    emb = timestep_embedding(torch.tensor([0, 7]), 6)
    assert torch.allclose(emb[0], torch.tensor([1.0, 1, 1, 0, 0, 0]))
    assert emb[1, 0].item() == pytest.approx(math.cos(7.0)) and emb[1, 3].item() == pytest.approx(
        math.sin(7.0)
    )


def test_guidance_mixes_conditional_and_unconditional_predictions():
    model = tiny_model(cond="class")
    calls = []

    class Recorder(torch.nn.Module):
        def forward(self, x, t, labels=None):
            calls.append(labels.clone())
            return torch.where(labels.view(-1, 1, 1, 1) == 10, torch.zeros_like(x), torch.ones_like(x))

    model.unet = Recorder()
    x = torch.zeros(2, 1, 8, 8)
    eps, _ = model._eps_and_x0(x, 50, torch.tensor([3, 4]), guidance=3.0)
    assert calls[0].tolist() == [3, 4, 10, 10]
    uncond, cond = torch.zeros_like(x), torch.ones_like(x)
    a, s = model._coefficients(torch.tensor([50, 50]))
    mixed = uncond + 3.0 * (cond - uncond)
    x0 = ((x - s * mixed) / a).clamp(-1, 1)
    assert torch.allclose(eps, (x - a * x0) / s)


def test_bad_sampling_options_are_one_line_errors():
    model = tiny_model()
    with pytest.raises(ConfigError, match="unconditional: --label and --guidance need"):
        model.sample(2, guidance=3.0)
    with pytest.raises(ConfigError, match="unconditional"):
        model.sample(2, label=3)
    with pytest.raises(ConfigError, match="--eta must be between 0 and 1"):
        model.sample(2, eta=2.0)
    with pytest.raises(ConfigError, match="no --temperature"):
        model.sample(2, temperature=0.5)
    with pytest.raises(ConfigError, match="--label must be between 0 and 9"):
        tiny_model(cond="class").sample(2, label=12)


def test_class_conditioning_needs_labels_and_sizes_must_halve():
    with pytest.raises(ConfigError, match="cond=class needs a dataset with class labels"):
        tiny_model(info=DataInfo(kind="image", shape=(1, 8, 8), num_levels=17), cond="class")
    with pytest.raises(ConfigError, match="cannot be halved"):
        tiny_model(info=DataInfo(kind="image", shape=(1, 6, 6), num_levels=17), channel_mults=(1, 2, 2))


def test_label_dropout_replaces_labels_with_the_null_token_at_the_given_rate():
    model = tiny_model(cond="class", cond_drop=0.5)
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x, t, labels=None):
            seen.append(labels)
            return torch.zeros_like(x)

    model.unet = Recorder()
    batch = {"x": torch.zeros(4000, 1, 8, 8, dtype=torch.long), "y": torch.full((4000,), 3)}
    model.per_example_loss(batch, torch.Generator().manual_seed(0))
    dropped = (seen[0] == 10).float().mean().item()
    assert 0.46 < dropped < 0.54 and set(seen[0].tolist()) == {3, 10}
