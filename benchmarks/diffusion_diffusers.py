"""genforge's diffusion model vs diffusers' ``UNet2DModel`` + ``DDPMScheduler``/``DDIMScheduler`` on 8x8 digits.

    PYTHONPATH=src python benchmarks/diffusion_diffusers.py [--minutes 5] [--fd-n 1000] [--threads 2]

Needs diffusers (``pip install 'genforge[advanced-bench]'``, imported only here). Both sides get the same
data (the digits train split, levels mapped to [-1, 1]), seed, batch (128), optimizer (Adam 2e-3, gradient
clipping 1.0), EMA (0.995 with the trainer's warm-up, :class:`genforge.trainer.optim.EMA`), noise schedule
(genforge's default ``cosine`` = diffusers' ``squaredcos_cap_v2``; ``--schedule linear`` for the other),
T = 1000 and ε-prediction. The diffusers UNet is sized to about genforge's parameter count (both printed).

Training alternates one step of each model and charges each its own step time until each has used
``--minutes``, so a change of machine load hits both sides alike; images/s = images seen / that time.
Sampling speed: one batch of ``--speed-batch`` (64) images with the EMA weights, DDIM-50 and DDPM-1000,
genforge's ``Diffusion.sample`` against a loop over diffusers' scheduler ``step`` (what its pipelines
do). Quality: FD-digits (``genforge eval --metrics fd``'s computation, test split as the real set) of
``--fd-n`` samples at DDIM 10/25/50/100 and DDPM-1000, the same trailing step spacing on both sides
(diffusers ``timestep_spacing="trailing"``), x0 clipped to [-1, 1] on both sides, seed 0 for both.
Prints one side-by-side table with ratios (speed: genforge / diffusers; FD: genforge / diffusers).
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from genforge.data import load_dataset  # noqa: E402
from genforge.metrics.run_metrics import evaluate_samples  # noqa: E402
from genforge.models.diffusion import Diffusion, DiffusionConfig  # noqa: E402
from genforge.trainer.optim import EMA  # noqa: E402

DIFFUSERS_SCHEDULE = {"cosine": "squaredcos_cap_v2", "linear": "linear"}
SETTINGS = "ddim:10,ddim:25,ddim:50,ddim:100,ddpm:1000"


class DiffusersDigits(torch.nn.Module):
    """diffusers' UNet2DModel with its schedulers behind genforge's ``loss`` / ``sample`` calls."""

    def __init__(self, schedule: str, timesteps: int, num_levels: int, channels: tuple[int, int]) -> None:
        super().__init__()
        from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

        self.unet = UNet2DModel(
            sample_size=8,
            in_channels=1,
            out_channels=1,
            layers_per_block=1,
            block_out_channels=channels,
            down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"),
            norm_num_groups=8,
            attention_head_dim=channels[-1] // 4,
        )
        common = {"num_train_timesteps": timesteps, "beta_schedule": DIFFUSERS_SCHEDULE[schedule]}
        common |= {"clip_sample": True, "prediction_type": "epsilon"}
        self.ddpm = DDPMScheduler(**common, variance_type="fixed_small", timestep_spacing="trailing")
        self.ddim = DDIMScheduler(**common, timestep_spacing="trailing", set_alpha_to_one=True)
        self.timesteps, self.num_levels = timesteps, num_levels
        self.sampler, self.steps = "ddim", 50

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x0 = batch["x"].float() / (self.num_levels - 1) * 2 - 1
        t = torch.randint(0, self.timesteps, (x0.shape[0],))
        noise = torch.randn(x0.shape)
        noisy = self.ddpm.add_noise(x0, noise, t)
        return {"loss": (self.unet(noisy, t).sample - noise).pow(2).mean()}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        scheduler = self.ddim if self.sampler == "ddim" else self.ddpm
        scheduler.set_timesteps(self.steps)
        x = torch.randn((n, 1, 8, 8), generator=generator)
        extra = {"eta": 0.0} if self.sampler == "ddim" else {}
        for t in scheduler.timesteps:
            eps = self.unet(x, t).sample
            x = scheduler.step(eps, t, x, generator=generator, **extra).prev_sample
        return ((x + 1) / 2).clamp(0.0, 1.0)


class GenforgeDigits(torch.nn.Module):
    """genforge's Diffusion with the sampler settable like :class:`DiffusersDigits`."""

    def __init__(self, model: Diffusion) -> None:
        super().__init__()
        self.model = model
        self.sampler, self.steps = "ddim", 50

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.model.loss(batch)

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.model.sample(n, generator=generator, sampler=self.sampler, steps=self.steps)


@dataclass
class Side:
    name: str
    model: Any
    optimizer: torch.optim.Optimizer
    ema: EMA
    rng: torch.Tensor  # this side's global-RNG state between its steps
    seconds: float = 0.0
    steps: int = 0

    def step(self, batch: dict[str, torch.Tensor]) -> None:
        torch.set_rng_state(self.rng)
        started = time.perf_counter()
        loss = self.model.loss(batch)["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.ema.update(self.model)
        self.seconds += time.perf_counter() - started
        self.steps += 1
        self.rng = torch.get_rng_state()

    def averaged(self) -> Any:
        copied = copy.deepcopy(self.model)
        copied.load_state_dict(self.ema.weights_for(self.model))
        return copied.eval()


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def train(sides: list[Side], x: torch.Tensor, batch: int, minutes: float, seed: int) -> None:
    """Alternate one step per side on the same batches until every side has used ``minutes``."""
    order = torch.Generator().manual_seed(seed)
    perm, at = torch.randperm(len(x), generator=order), 0
    while any(s.seconds < minutes * 60 for s in sides):
        if at + batch > len(x):
            perm, at = torch.randperm(len(x), generator=order), 0
        chunk = {"x": x[perm[at : at + batch]]}
        at += batch
        for side in sides:
            if side.seconds < minutes * 60:
                side.step(chunk)


def sampling_speed(model: Any, sampler: str, steps: int, n: int) -> float:
    with torch.inference_mode():  # one untimed 2-step warm-up (first-call allocations, kernel choice)
        model.sampler, model.steps = sampler, 2
        model.sample(n, generator=torch.Generator().manual_seed(0))
    model.sampler, model.steps = sampler, steps
    started = time.perf_counter()
    with torch.inference_mode():
        model.sample(n, generator=torch.Generator().manual_seed(0))
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training time per side")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--schedule", choices=["cosine", "linear"], default="cosine")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fd-n", type=int, default=1000, help="samples per FD-digits figure")
    parser.add_argument("--speed-batch", type=int, default=64)
    parser.add_argument("--speed", default="ddim:50,ddpm:1000", help="comma-separated sampler:steps timed")
    parser.add_argument("--settings", default=SETTINGS, help="comma-separated sampler:steps for FD")
    parser.add_argument("--channels", default="32,64", help="diffusers block_out_channels")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import diffusers

    data = load_dataset("digits")
    x = data.split("train")["x"]
    torch.manual_seed(args.seed)
    ours = GenforgeDigits(Diffusion(DiffusionConfig(schedule=args.schedule), data.info))
    torch.manual_seed(args.seed)
    channels = tuple(int(c) for c in args.channels.split(","))
    peer = DiffusersDigits(args.schedule, 1000, data.info.num_levels, channels)
    print(
        f"torch {torch.__version__}, diffusers {diffusers.__version__}, threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"parameters: genforge {count(ours):,}  diffusers {count(peer):,}  ratio {count(ours) / count(peer):.3f}"
    )
    sides = []
    for name, model in (("genforge", ours), ("diffusers", peer)):
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
        sides.append(
            Side(name, model, optimizer, EMA(model, 0.995), torch.manual_seed(args.seed).get_state())
        )
    train(sides, x, args.batch, args.minutes, args.seed)
    rows: list[tuple[str, float, float, str]] = []
    for_ratio = {s.name: s.steps * args.batch / s.seconds for s in sides}
    rows.append(("train images/s", for_ratio["genforge"], for_ratio["diffusers"], "higher"))
    print(
        f"trained {args.minutes} min each: genforge {sides[0].steps} steps, diffusers {sides[1].steps} steps "
        f"(batch {args.batch}); load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    averaged = [s.averaged() for s in sides]
    for item in filter(None, args.speed.split(",")):
        sampler, steps = item.split(":")[0], int(item.split(":")[1])
        speeds = [sampling_speed(m, sampler, steps, args.speed_batch) for m in averaged]
        rows.append((f"sample images/s {sampler.upper()}-{steps}", *speeds, "higher"))
        print(f"{rows[-1][0]}: {speeds[0]:.1f} vs {speeds[1]:.1f}", flush=True)
    for item in filter(None, args.settings.split(",")):
        sampler, steps = item.split(":")
        fds = []
        for model in averaged:
            model.sampler, model.steps = sampler, int(steps)
            run = argparse.Namespace(model=model, dataset=data)
            fds.append(evaluate_samples(run, ["fd"], args.fd_n, seed=0)["fd_digits"])
        rows.append((f"FD-digits {sampler.upper()}-{steps} (n={args.fd_n})", *fds, "lower"))
        print(f"{rows[-1][0]}: {fds[0]:.3f} vs {fds[1]:.3f}", flush=True)
    print(f"\n{'':34s} {'genforge':>10} {'diffusers':>10} {'ratio':>7}  better")
    for label, mine, theirs, better in rows:
        print(f"{label:34s} {mine:>10.3f} {theirs:>10.3f} {mine / theirs:>7.2f}  {better}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
