"""TPE against random search on a real sweep: 20 VAE trials on digits each, same space, seed and step
budget; prints TPE's best validation loss, random search's best and median, and whether TPE's best beats
random's median (the issue's goal).

    .venv/bin/python benchmarks/sweep_quality.py [--trials 20] [--max-steps 100]

The space is docs/research.md's (learning rate on a log scale, latent size, optimizer, momentum when
SGD); no pruner, so every trial trains its whole budget.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from genforge.research.sweep import study_summary, sweep

SPACE = {
    "params": {
        "lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True},
        "latent_dim": {"type": "int", "low": 2, "high": 32, "log": True},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "momentum": {"type": "float", "low": 0.5, "high": 0.95, "when": {"optimizer": "sgd"}},
    }
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=100)
    args = parser.parse_args()
    values = {}
    with tempfile.TemporaryDirectory() as root:
        for sampler in ("tpe", "random"):
            start = time.perf_counter()
            sweep(
                "vae",
                "digits",
                SPACE,
                trials=args.trials,
                max_steps=args.max_steps,
                sampler=sampler,
                pruner="none",
                name=sampler,
                root=root,
                overrides={"final_eval": False},
            )
            trials = study_summary(sampler, root)["trials"]
            values[sampler] = [t["value"] for t in trials if t["state"] == "complete"]
            print(f"{sampler}: {len(values[sampler])} trials in {time.perf_counter() - start:.0f} s")
    tpe_best = min(values["tpe"])
    random_best, random_median = min(values["random"]), statistics.median(values["random"])
    print(f"TPE best val_loss {tpe_best:.3f}; random best {random_best:.3f}, median {random_median:.3f}")
    print(
        f"TPE best beats random's median: {tpe_best < random_median}; TPE best / random best: {tpe_best / random_best:.3f}"
    )


if __name__ == "__main__":
    main()
