"""The main job (``make demo`` / ``genforge demo``): a small model of each image family trained on
``digits``, evaluated on the test split, with sample grids and one summary table.

The default budget is a fixed number of optimizer steps per family, so the same seed gives the same
table on any CPU (only the wall times differ); about four minutes in all on 2 idle cores. A wall-clock
budget (``minutes_per_family``) is available for a quick look, at the price of that determinism.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError
from genforge.core.io import atomic_write_json, atomic_write_text
from genforge.core.paths import check_output_dir
from genforge.pipelines.evaluate import evaluate_run, headline
from genforge.pipelines.sampling import sample
from genforge.pipelines.training import FINAL_SAMPLE_COUNT, train

DEMO_FAMILIES = ("vae", "gan", "pixelcnn", "realnvp")
# Steps per family for the default budget: each family clearly past the per-pixel baseline.
DEMO_STEPS = {"vae": 600, "gan": 600, "pixelcnn": 600, "realnvp": 400}


def run_demo(
    out: str | Path = "demo-out",
    *,
    seed: int = 0,
    steps_per_family: int | None = None,
    minutes_per_family: float | None = None,
    families: tuple[str, ...] = DEMO_FAMILIES,
    on_family: Callable[[str, str], None] | None = None,
    progress=None,
) -> dict[str, Any]:
    """Train, evaluate and sample each family; write ``summary.json``/``summary.md`` under ``out``.

    Budget per family: ``steps_per_family`` steps, else ``minutes_per_family`` minutes, else
    :data:`DEMO_STEPS`. ``on_family(family, budget)`` is called before each family trains.
    """
    if steps_per_family is not None and steps_per_family < 1:
        raise ConfigError(f"steps per family must be at least 1, got {steps_per_family}")
    out = check_output_dir(out)  # before the first family trains
    rows = []
    for family in families:
        steps = steps_per_family or (None if minutes_per_family is not None else DEMO_STEPS[family])
        budget = f"{steps} steps" if steps else f"{minutes_per_family} min"
        if on_family:
            on_family(family, budget)
        result = train(
            family,
            "digits",
            out=out / "runs",
            seed=seed,
            max_steps=steps,
            max_minutes=None if steps else minutes_per_family,
            progress=progress,
        )
        # training ends with the test-split evaluation: bits/dim, or for the GAN the Fréchet distance of
        # 1,000 samples in the shipped digits classifier's features (FD-digits, not FID)
        evaluation = result.evaluation or evaluate_run(result.run, seed=seed, num_samples=FINAL_SAMPLE_COUNT)
        grid = sample(result.run, 64, out=out / f"{family}-samples.png", seed=seed)
        rows.append(
            {
                "family": family,
                "parameters": result.run.read_config()["parameters"],
                "steps": result.step,
                **headline(evaluation),
                "baseline_bits_per_dim": evaluation.get("baseline", {}).get("bits_per_dim"),
                "wall_time_s": round(result.elapsed_s, 1),
                "run": str(result.run.path),
                "samples": str(grid),
            }
        )
    summary = {
        "data": "digits",
        "split": "test",
        "seed": seed,
        "families": rows,
        "budget": {"steps_per_family": steps_per_family, "minutes_per_family": minutes_per_family},
    }
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", summary_markdown(rows))
    return summary


def summary_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| family | parameters | steps | test figure | value | reference | reference value | training time (s) |",
        "|---|---:|---:|---|---:|---|---:|---:|",
    ]
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.3f}"
        ref = "-" if r["reference"] is None else f"{r['reference']:.3f}"
        lines.append(
            f"| {r['family']} | {r['parameters']:,} | {r['steps']} | {r['metric']} | {value} | "
            f"{r['reference_name']} | {ref} | {r['wall_time_s']} |"
        )
    return "\n".join(lines) + "\n"
