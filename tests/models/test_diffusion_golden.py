"""genforge's diffusion maths agrees with diffusers' schedulers (golden values frozen by
tests/golden/make_diffusion_goldens.py with diffusers; diffusers is not needed to run this test)."""

import json
from pathlib import Path

import pytest
import torch

from genforge.models.diffusion import SCHEDULES, sampler_step, sampling_timesteps

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "diffusion.json").read_text())
T = GOLDEN["num_train_timesteps"]


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_alphas_cumprod_equal_diffusers(schedule):
    ours = SCHEDULES[schedule](T).float().double()  # diffusers builds its schedules in float32
    theirs = torch.tensor(GOLDEN["alphas_cumprod"][schedule], dtype=torch.float64)
    assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("key", sorted(GOLDEN["timesteps"]))
def test_step_spacing_equals_diffusers_ddim(key):
    spacing, steps = key.split("-")
    assert sampling_timesteps(T, int(steps), spacing) == GOLDEN["timesteps"][key]


def _step(schedule: str, t: int, prev_t: int, eta: float, noise) -> torch.Tensor:
    abar = SCHEDULES[schedule](T).float()
    x = torch.tensor(GOLDEN["sample"])
    eps = torch.tensor(GOLDEN["model_output"])
    a, s = abar[t].sqrt(), (1 - abar[t]).sqrt()
    x0 = ((x - s * eps) / a).clamp(-1, 1)
    eps = (x - a * x0) / s  # the noise consistent with the clipped x0
    abar_prev = abar[prev_t] if prev_t >= 0 else torch.tensor(1.0)
    return sampler_step(x0, eps, abar[t], abar_prev, eta, None if noise is None else torch.tensor(noise))


@pytest.mark.parametrize("case", range(6))
def test_ddim_step_equals_diffusers(case):
    g = GOLDEN["ddim_steps"][case]
    got = _step(g["schedule"], g["t"], g["prev_t"], g["eta"], g["noise"] if g["eta"] > 0 else None)
    assert torch.allclose(got, torch.tensor(g["prev"]), atol=2e-5)


@pytest.mark.parametrize("case", range(6))
def test_ddpm_step_equals_diffusers_ancestral_step(case):
    g = GOLDEN["ddpm_steps"][case]
    got = _step(g["schedule"], g["t"], g["t"] - 1, 1.0, g["noise"] if g["t"] > 0 else None)
    # at t = 1 both sides divide float32 differences by sqrt(1 - abar_1) ~ 0.01: rounding grows with it
    assert torch.allclose(got, torch.tensor(g["prev"]), atol=2e-5 if g["t"] > 10 else 5e-4)
