"""Freeze diffusers' noise schedules, timestep spacing and sampler steps into tests/golden/diffusion.json.

    .venv/bin/pip install 'genforge[advanced-bench]'   # diffusers, never a dependency of the library
    .venv/bin/python tests/golden/make_diffusion_goldens.py

tests/models/test_diffusion_golden.py compares genforge's schedules (models/diffusion.py) and its
sampler step with these values. DDIM is asked for ``use_clipped_model_output=True`` (genforge derives the
noise from the clipped x0, as the DDPM update does) and DDPM for the ``fixed_small`` variance.
"""

from __future__ import annotations

import json
from pathlib import Path

import diffusers
import torch
from diffusers import DDIMScheduler, DDPMScheduler

HERE = Path(__file__).resolve().parent
T = 1000


def main() -> None:
    out: dict = {"diffusers_version": diffusers.__version__, "num_train_timesteps": T}
    schedules = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
    out["alphas_cumprod"] = {
        name: DDPMScheduler(num_train_timesteps=T, beta_schedule=kind).alphas_cumprod.double().tolist()
        for name, kind in schedules.items()
    }
    out["timesteps"] = {}
    for spacing in ("leading", "trailing"):
        for steps in (10, 50, 250):
            ddim = DDIMScheduler(num_train_timesteps=T, timestep_spacing=spacing)
            ddim.set_timesteps(steps)
            out["timesteps"][f"{spacing}-{steps}"] = ddim.timesteps.tolist()
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 1, 8, 8, generator=gen)
    model_output = torch.randn(2, 1, 8, 8, generator=gen) * 0.5
    out["sample"], out["model_output"] = sample.tolist(), model_output.tolist()
    out["ddim_steps"] = []
    for schedule, kind in schedules.items():
        for eta, t in ((0.0, 980), (0.0, 20), (0.5, 500)):
            ddim = DDIMScheduler(num_train_timesteps=T, beta_schedule=kind, timestep_spacing="trailing")
            ddim.set_timesteps(50)
            noise = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(7))
            prev = ddim.step(
                model_output, t, sample, eta=eta, use_clipped_model_output=True, variance_noise=noise
            ).prev_sample
            out["ddim_steps"].append(
                {
                    "schedule": schedule,
                    "eta": eta,
                    "t": t,
                    "prev_t": t - T // 50,
                    "noise": noise.tolist(),
                    "prev": prev.tolist(),
                }
            )
    out["ddpm_steps"] = []
    for schedule, kind in schedules.items():
        for t in (999, 500, 1):
            ddpm = DDPMScheduler(num_train_timesteps=T, beta_schedule=kind, variance_type="fixed_small")
            gen = torch.Generator().manual_seed(11)
            prev = ddpm.step(model_output, t, sample, generator=gen).prev_sample
            noise = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(11))
            out["ddpm_steps"].append(
                {"schedule": schedule, "t": t, "noise": noise.tolist(), "prev": prev.tolist()}
            )
    path = HERE / "diffusion.json"
    path.write_text(json.dumps(out) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
