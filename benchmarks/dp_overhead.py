"""DP-SGD overhead on the digits VAE: genforge's trainer with and without ``--dp`` beside plain Opacus.

Four routes train the same VAE (default config) on digits for the same number of steps, batch 64:

* genforge trainer, no DP (``genforge.train``, no evaluation, samples or extra checkpoints);
* genforge trainer, ``dp=True`` (Poisson batches, per-sample clipping, noise σ = 1, PRV accounting);
* plain torch loop, no DP (fixed batches, Adam) — the floor;
* plain Opacus: ``PrivacyEngine.make_private`` (hooks, Poisson sampling) on a module whose forward is the
  VAE loss, the same σ and clipping norm.

The table gives seconds per step and each route's ratio to its non-DP counterpart; threads are torch's
default. Run: ``.venv/bin/python benchmarks/dp_overhead.py [--steps 60]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings

import torch

from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.models.vae import VAEConfig
from genforge.pipelines.training import train

FAST = {"final_eval": False, "eval_every": 10**6, "sample_every": 10**6, "checkpoint_every": 10**6,
        "checkpoint_minutes": 1000.0, "early_stop_patience": 0, "ema_decay": 0.0}  # fmt: skip


def genforge_route(steps: int, dp: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        extra = {"dp": True, "dp_noise_multiplier": 1.0} if dp else {}
        result = train("vae", "digits", out=out, max_steps=steps, overrides={**FAST, **extra})
        return result.elapsed_s / steps


class LossModule(torch.nn.Module):
    """The VAE's training loss as ``forward`` (what Opacus's ``make_private`` wraps)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, x):
        return self.vae.loss({"x": x})["loss"]


def plain_route(steps: int, dp: bool) -> float:
    data = load_dataset("digits")
    torch.manual_seed(0)
    module = LossModule(build_model("vae", VAEConfig(), data.info))
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    x = data.split("train")["x"]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=64, shuffle=True)
    if dp:
        from opacus import PrivacyEngine

        engine = PrivacyEngine(accountant="prv")
        module, optimizer, loader = engine.make_private(
            module=module, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0
        )
    done, start = 0, time.perf_counter()
    while done < steps:
        for (batch,) in loader:
            optimizer.zero_grad(set_to_none=True)
            module(batch).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    rows = [
        ("genforge trainer", genforge_route(args.steps, False), genforge_route(args.steps, True)),
        ("plain torch / Opacus", plain_route(args.steps, False), plain_route(args.steps, True)),
    ]
    print(
        f"digits VAE, batch 64, {args.steps} steps; {os.cpu_count()} CPUs, {torch.get_num_threads()} threads"
    )
    print(f"{'route':<24}{'s/step no DP':>14}{'s/step DP':>12}{'DP / no DP':>12}")
    for name, plain, private in rows:
        print(f"{name:<24}{plain:>14.4f}{private:>12.4f}{private / plain:>12.2f}")


if __name__ == "__main__":
    main()
