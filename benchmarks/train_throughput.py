"""Training and sampling throughput of every image family on digits, on this CPU.

    .venv/bin/python benchmarks/train_throughput.py [--steps 40] [--batch-size 128]

For each family: training samples/s over ``--steps`` optimizer steps (after 5 warm-up steps) through
the real trainer step, and sampling images/s for 64 samples. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the CLI does: spinning OpenMP threads stall on a busy CPU

import torch

from genforge.core.runs import new_run
from genforge.data import load_dataset
from genforge.models.base import build_model
from genforge.pipelines.training import resolve_configs
from genforge.trainer.loop import Trainer

FAMILIES = ("vae", "gan", "pixelcnn", "realnvp")


def measure(family: str, steps: int, batch_size: int) -> tuple[int, float, float]:
    dataset = load_dataset("digits")
    model_cfg, train_cfg = resolve_configs(family, {"batch_size": batch_size, "max_steps": 10**6})
    torch.manual_seed(0)
    model = build_model(family, model_cfg, dataset.info)
    trainer = Trainer(model, dataset, train_cfg, new_run(tempfile.mkdtemp(), family), seed=0)
    for _ in range(5):
        trainer._train_step(trainer.batch_at(trainer.step))
        trainer.step += 1
    start = time.perf_counter()
    for _ in range(steps):
        trainer._train_step(trainer.batch_at(trainer.step))
        trainer.step += 1
    train_rate = steps * batch_size / (time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        start = time.perf_counter()
        model.sample(64, generator=torch.Generator().manual_seed(0))
        sample_rate = 64 / (time.perf_counter() - start)
    return model.num_parameters(), train_rate, sample_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    print(f"digits 1x8x8, batch {args.batch_size}, {torch.get_num_threads()} torch threads")
    print(f"{'family':10} {'params':>9} {'train samples/s':>16} {'sample images/s':>16}")
    for family in FAMILIES:
        params, train_rate, sample_rate = measure(family, args.steps, args.batch_size)
        print(f"{family:10} {params:9,d} {train_rate:16.0f} {sample_rate:16.0f}")


if __name__ == "__main__":
    main()
