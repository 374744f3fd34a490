"""Scene detector inference speed (scenes/s, heads + decoding) against the classical scikit-image pipeline.

Every row handles the same test scenes of one scenes folder, one after another, and reports scenes per
second and the ratio to the reference, the classical pipeline with ``method=otsu`` (Otsu threshold,
connected components, an SVM per object: ``genforge segment classical``), which runs in one thread.

* genforge detector: ``Detector.detect`` on batches of ``--batch`` scenes with torch in 1 and in 2
  threads, and one scene at a time in 1 thread. The weights are a trained run's (``--run``) or, without
  one, the default configuration's initial weights: the cost is the same, only the boxes differ.
* classical otsu / watershed: ``ClassicalSegmenter.predict`` per scene; its classifier is fitted first
  on ``--fit-scenes`` training scenes (not timed; accuracy is not what this script measures).

    .venv/bin/python benchmarks/detector_speed.py --scenes scenes/ [--run runs/<detector>] [--batch 64]
    .venv/bin/python benchmarks/detector_speed.py            # makes 2,000 64x64 scenes in a temp folder

The issue's target is >= 100 scenes/s for the detector.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from genforge.data import load_dataset
from genforge.data.scenes import SceneConfig, make_scenes
from genforge.models.base import build_model
from genforge.models.classical_scenes import ClassicalConfig, ClassicalSegmenter
from genforge.pipelines.loading import load_run


def best_rate(work, count: int, repeats: int) -> float:
    """Scenes per second of the best of ``repeats`` runs of ``work()`` over ``count`` scenes."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


def detector_rows(model, images: torch.Tensor, batch: int, repeats: int) -> list[tuple[str, float]]:
    def batched() -> None:
        for start in range(0, len(images), batch):
            model.detect(images[start : start + batch])

    def single() -> None:
        for image in images:
            model.detect(image[None])

    rows = []
    before = torch.get_num_threads()
    for threads, work, name in (
        (1, batched, f"batch {batch}"),
        (2, batched, f"batch {batch}"),
        (1, single, "batch 1"),
    ):
        torch.set_num_threads(threads)
        with torch.no_grad():
            rows.append(
                (f"genforge detector, {name}, {threads} thread(s)", best_rate(work, len(images), repeats))
            )
    torch.set_num_threads(before)
    return rows


def classical_rows(train: dict, images, fit_scenes: int, repeats: int) -> list[tuple[str, float]]:
    rows = []
    for method in ("otsu", "watershed"):
        model = ClassicalSegmenter(ClassicalConfig(method=method)).fit(
            train["x"][:fit_scenes, 0].numpy(),
            train["semantic"][:fit_scenes].numpy(),
            train["instances"][:fit_scenes].numpy(),
        )
        rate = best_rate(lambda model=model: [model.predict(image) for image in images], len(images), repeats)
        rows.append((f"classical {method} (scikit-image + SVM), 1 thread", rate))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", help="a scenes folder (default: make 2,000 64x64 scenes, seed 0)")
    parser.add_argument(
        "--run", help="a trained detector run (default: the default config's initial weights)"
    )
    parser.add_argument("--batch", type=int, default=64, help="scenes per detector batch (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many passes (default 3)")
    parser.add_argument("--fit-scenes", type=int, default=300, help="training scenes the classical SVM sees")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.scenes or str(make_scenes(Path(tmp) / "scenes", SceneConfig(), seed=0)["out"])
        dataset = load_dataset(f"scenes:{folder}")
        if args.run:
            model = load_run(args.run).model
        else:
            torch.manual_seed(0)
            model = build_model("detector", {}, dataset.info)
        model.eval()
        test = dataset.split("test")
        rows = detector_rows(model, test["x"], args.batch, args.repeats)
        rows += classical_rows(dataset.split("train"), test["x"][:, 0].numpy(), args.fit_scenes, args.repeats)
    reference = next(rate for name, rate in rows if name.startswith("classical otsu"))
    h, w = test["x"].shape[2:]
    print(
        f"{len(test['x'])} test scenes of {h}x{w} from {folder}; weights: {args.run or 'initial (untrained)'}"
    )
    print(f"{'pipeline':<52} {'scenes/s':>10} {'x classical otsu':>17}")
    for name, rate in rows:
        print(f"{name:<52} {rate:>10.1f} {rate / reference:>17.2f}")


if __name__ == "__main__":
    main()
