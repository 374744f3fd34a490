"""The studio in Debian's headless chromium: 1,000 runs listed and a 100k-point loss curve drawn,
against drawing the same curve the way ``genforge runs plot`` does (matplotlib, Agg, PNG).

One invocation, interleaved, ``--repeats`` rounds, medians. Each round starts a fresh studio process
(so the first list is cold, as in the browser test); with ``--baseline SRC`` (a ``src`` folder of an
older genforge, e.g. from ``git archive``) the same round also runs that code's studio, side by side,
the two taking turns to go first:

* runs list (cold): the first navigation to ``/?per_page=1000`` until the table holds 1,000 rows (the
  server reads every run and renders the HTML; the browser lays it out);
* runs list (warm): the same again, the rows now cached;
* studio curve: navigation to the run's page until its canvas is drawn (the server parses the
  100k-line ``metrics.jsonl``, thins it with MinMaxLTTB to 2,000 points and streams it over SSE);
* matplotlib curve (reference): ``render.curves.save_curves`` of the same 100k points to a PNG.

    .venv/bin/python benchmarks/studio_browser.py [--repeats 3] [--chromium /usr/bin/chromium] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genforge.core.runs import Run
from genforge.render.curves import save_curves
from genforge.serve.studio.runs_view import MetricsTail, points

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
CONFIG = {"family": "vae", "model": {}, "train": {}, "data": {"spec": "digits"},
          "data_info": {"kind": "image", "shape": [1, 8, 8]}, "seed": 0}  # fmt: skip


def make_runs(root: Path, num_runs: int, num_points: int) -> None:
    for index in range(num_runs):
        run = Run(root / f"run-{index:04d}")
        run.path.mkdir()
        run.write_config({**CONFIG, "seed": index})
        run.write_eval({"bits_per_dim": 2.0 + (index * 7919 % 1000) / 1000})
    long_run = Run(root / "run-long")
    long_run.path.mkdir()
    long_run.write_config(CONFIG)
    with open(long_run.metrics_path, "w", encoding="utf-8") as handle:
        for step in range(1, num_points + 1):
            loss = 1 / step**0.3 + (step % 97) / 5000
            handle.write(
                f'{{"step": {step}, "split": "train", "loss": {loss:.6f}, "samples_per_s": 1000.0}}\n'
            )


SERVER = """
import sys, uvicorn
from genforge.serve.studio.app import create_app
uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def serve(root: Path, src: Path) -> tuple[subprocess.Popen, str]:
    """A studio process running the genforge under ``src``, once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(root), str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return process, url
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the studio did not start")


def measure(page, url: str, num_runs: int, times: dict[str, list[float]], label: str) -> None:
    for name in ("runs list (cold)", "runs list (warm)"):
        started = time.perf_counter()
        page.goto(f"{url}/?per_page={num_runs}&sort=headline")
        rows = "#runs tbody tr, #runs [role=row][data-run]"  # a <table> before 2026-12-03, then ARIA rows
        page.wait_for_function(f"document.querySelectorAll('{rows}').length === {num_runs}")
        times.setdefault(f"{name} {label}", []).append(time.perf_counter() - started)
    started = time.perf_counter()
    page.goto(f"{url}/runs/run-long")
    page.wait_for_selector("#curve[data-drawn]")
    times.setdefault(f"studio curve {label}", []).append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--baseline", type=Path, help="a genforge src folder to run side by side")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    sides = {"(this)": Path(__file__).resolve().parents[1] / "src"}
    if args.baseline:
        sides["(baseline)"] = args.baseline.resolve()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        root = Path(folder)
        make_runs(root, args.runs, args.points)
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
        for round_index in range(args.repeats):
            order = list(sides.items())
            for label, src in order[::-1] if round_index % 2 else order:  # who goes first alternates
                process, url = serve(root, src)
                page = browser.new_page()
                try:
                    measure(page, url, args.runs, times, label)
                finally:
                    page.close()
                    process.terminate()
                    process.wait(10)
            started = time.perf_counter()
            series = points(MetricsTail(root / "run-long" / "metrics.jsonl").read_new(), "loss")
            save_curves({"run-long": series}, "loss", root / "curve.png")
            times.setdefault("matplotlib curve (reference)", []).append(time.perf_counter() - started)
        browser.close()
    print(
        f"load average {os.getloadavg()[0]:.1f}; {args.repeats} rounds; fresh studio process per round and side"
    )
    reference = {name.rsplit(" (", 1)[0]: statistics.median(values) for name, values in times.items()
                 if name.endswith("(baseline)")}  # fmt: skip
    print(f"{'measure':<32} {'median s':>9} {'min s':>7} {'baseline / this':>16}")
    for name, values in sorted(times.items()):
        median = statistics.median(values)
        base = reference.get(name.rsplit(" (", 1)[0]) if name.endswith("(this)") else None
        ratio = f"{base / median:.2f}x" if base else "-"
        print(f"{name:<32} {median:>9.3f} {min(values):>7.3f} {ratio:>16}")


if __name__ == "__main__":
    main()
