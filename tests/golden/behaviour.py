"""Outputs frozen before the structure change, recomputed by the tests to prove behaviour unchanged.

``make_behaviour_goldens.py`` runs these functions once and writes ``tests/golden/behaviour_*.json``;
``tests/test_golden_behaviour.py`` runs them again and compares (floats to 1e-9, rankings exactly).
Everything goes through the CLI with ``--json``, as a user would, so both the Python API under it and the
command's output shape are covered. Paths of temporary folders are replaced by ``<TMP>``, run ids' time stamps by ``<STAMP>``, and timings are
dropped, so the files hold only what must not change.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from genforge.cli.main import main

HERE = Path(__file__).resolve().parent
RAG_CORPUS = HERE / "rag_corpus"
TIMING_KEYS = {"timings_ms", "seconds", "latency_ms", "elapsed", "wall_time_s"}
RUN_STAMP = re.compile(r"\d{8}-\d{6}(-\d+)?-")

QUERIES = [
    "how do I resume training?",
    "learning rate warmup",
    "temperature of samples",
    "how much sunlight do tomatoes need",
    "when should I water tomato plants",
    "sourdough starter feeding",
    "baking temperature for bread",
    "warehouse shipments in March",
    "Fréchet distance extractor",
    "kernel inception distance subsets",
    "precision recall density coverage",
    "top-p nucleus sampling",
    "beam search",
    "BPE tokenizer vocabulary size",
    "prompt injection rail",
    "redact credit card numbers",
    "GAN hinge loss spectral norm",
    "bits per dimension of the VAE",
    "KV cache generation speed",
    "what does the report page contain",
]
SEARCH_VARIANTS = {
    "hybrid": [],
    "hybrid-chunk": ["--fusion", "chunk"],
    "dense": ["--mode", "dense"],
    "bm25": ["--mode", "bm25"],
    "hybrid-mmr": ["--mmr"],
}


def run_json(argv: list[str], tmp: Path) -> Any:
    """Run ``genforge ARGV`` in-process and return its JSON output with ``tmp`` replaced by ``<TMP>``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"genforge {' '.join(argv)} exited {code}")
    return _clean(json.loads(out.getvalue()), str(tmp))


def _clean(value: Any, tmp: str) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v, tmp) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_clean(v, tmp) for v in value]
    if isinstance(value, str):
        return RUN_STAMP.sub("<STAMP>-", value.replace(tmp, "<TMP>"))
    return value


def rag_outputs(tmp: Path) -> dict[str, Any]:
    """``rag index`` of the frozen corpus, ``rag search --json`` for every query and retrieval variant,
    and ``rag ask --json`` (offline extractive answerer, default guard policy) for every query."""
    corpus = tmp / "corpus"
    shutil.copytree(RAG_CORPUS, corpus)
    store = str(tmp / "store")
    index = run_json(["rag", "index", str(corpus), "--store", store, "--json"], tmp)
    searches = {
        name: [
            _without_text(run_json(["rag", "search", q, "--store", store, "--k", "8", "--json", *extra], tmp))
            for q in QUERIES
        ]
        for name, extra in SEARCH_VARIANTS.items()
    }
    asks = [run_json(["rag", "ask", q, "--store", store, "--json"], tmp) for q in QUERIES]
    return {"index": index, "search": searches, "ask": asks}


def _without_text(search: dict[str, Any]) -> dict[str, Any]:
    """A search result without chunk texts (a chunk id names its text; the ask goldens keep texts)."""
    return {**search, "results": [{k: v for k, v in hit.items() if k != "text"} for hit in search["results"]]}


def _metric_inputs(tmp: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    paths = {}

    def save(name: str, **arrays: np.ndarray) -> None:
        paths[name] = str(tmp / f"{name}.npz")
        np.savez(paths[name], **arrays)

    save("real_features", features=rng.normal(size=(300, 16)))
    save("fake_features", features=rng.normal(0.3, 1.2, size=(280, 16)))
    digits = rng.integers(0, 17, size=(64, 1, 8, 8)).astype(np.float32) / 16.0
    save("digits_a", images=digits)
    save("digits_b", images=np.clip(digits + rng.normal(0, 0.1, size=digits.shape), 0, 1).astype(np.float32))
    big = rng.random((2, 3, 180, 180)).astype(np.float32)
    save("big_a", images=big)
    save("big_b", images=np.clip(big + rng.normal(0, 0.05, size=big.shape), 0, 1).astype(np.float32))
    labels_true = rng.integers(0, 3, size=120)
    labels_pred = np.where(rng.random(120) < 0.7, labels_true, rng.integers(0, 3, size=120))
    for name, labels in (("y_true", labels_true), ("y_pred", labels_pred)):
        paths[name] = str(tmp / f"{name}.txt")
        Path(paths[name]).write_text("".join(f"{v}\n" for v in labels), encoding="utf-8")
    hyps = ["the cat sat on the mat", "a dog runs in the park", "the model samples new digits", "it rains"]
    refs = [
        "the cat is on the mat",
        "a dog is running in a park",
        "the model draws new digits",
        "it is raining",
    ]
    for name, lines in (("hyp", hyps), ("ref", refs)):
        paths[name] = str(tmp / f"{name}.txt")
        Path(paths[name]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def metric_outputs(tmp: Path) -> dict[str, Any]:
    """Every ``genforge metrics`` command on fixed seeded inputs."""
    p = _metric_inputs(tmp)
    out: dict[str, Any] = {}
    for metric in ("fd", "kid", "prdc", "mmd"):
        extra = ["--subsets", "20", "--subset-size", "100"] if metric == "kid" else []
        out[metric] = run_json(
            ["metrics", metric, p["real_features"], p["fake_features"], "--json", *extra], tmp
        )
    out["fd_digits"] = run_json(
        ["metrics", "fd", p["digits_a"], p["digits_b"], "--extractor", "digits", "--no-cache", "--json"], tmp
    )
    out["is"] = run_json(
        ["metrics", "is", p["digits_a"], "--extractor", "digits", "--splits", "4", "--json"], tmp
    )
    for metric, extra in (("psnr", []), ("ssim", ["--kernel-size", "7"]), ("lpips", [])):
        out[metric] = run_json(["metrics", metric, p["digits_a"], p["digits_b"], "--json", *extra], tmp)
    out["ms-ssim"] = run_json(["metrics", "ms-ssim", p["big_a"], p["big_b"], "--json"], tmp)
    for average in ("macro", "micro", "weighted", "none"):
        out[f"classify_{average}"] = run_json(
            ["metrics", "classify", p["y_true"], p["y_pred"], "--average", average, "--json"], tmp
        )
    out["text"] = run_json(["metrics", "text", p["hyp"], p["ref"], "--json"], tmp)
    return out


def demo_outputs(tmp: Path) -> dict[str, Any]:
    """``genforge demo --steps 50 --seed 0``: the figures of every family."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["demo", "--out", str(tmp / "demo"), "--steps", "50", "--seed", "0"]) == 0
    summary = json.loads((tmp / "demo" / "summary.json").read_text(encoding="utf-8"))
    return _clean(summary, str(tmp))


def assert_same(actual: Any, expected: Any, where: str = "$", tol: float = 1e-9) -> None:
    """Equal structure, equal strings/ints/bools, floats equal to ``tol`` (relative and absolute)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object"
        assert sorted(actual) == sorted(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}", tol)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: list length differs"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]", tol)
    elif isinstance(expected, float) and not isinstance(actual, bool) and isinstance(actual, int | float):
        assert abs(actual - expected) <= tol * max(1.0, abs(expected)), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"
