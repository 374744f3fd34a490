"""Real VAE runs on digits shared by the research tests: set A trained 25 steps, set B 2 steps, seeds
0-2 each (no final test-split evaluation: the comparisons read the validation loss they log)."""

import contextlib

import pytest
import torch

from genforge.pipelines.training import train

SEEDS = (0, 1, 2)
STEPS = {"a": 25, "b": 2}


@contextlib.contextmanager
def one_thread():
    """Tiny models on one torch thread: faster on a loaded machine, and the same sums in every run."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def vae_sets(tmp_path_factory):
    root = tmp_path_factory.mktemp("research-runs")
    with one_thread():
        for side, steps in STEPS.items():
            for seed in SEEDS:
                train(
                    "vae",
                    "digits",
                    overrides={"final_eval": False},
                    out=root / side,
                    seed=seed,
                    max_steps=steps,
                )
    return root


SPACE = {
    "params": {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
        "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
        "momentum": {"type": "float", "low": 0.5, "high": 0.95, "when": {"optimizer": "sgd"}},
    }
}
SETTINGS = {"trials": 3, "max_steps": 4, "overrides": {"final_eval": False}, "seed": 1, "sampler": "random"}


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory):
    """Study "plain": three 4-step VAE trials drawn by a seeded random sampler."""
    from genforge.research.sweep import sweep

    root = tmp_path_factory.mktemp("studies")
    with one_thread():
        sweep("vae", "digits", SPACE, name="plain", root=root, **SETTINGS)
    return root
