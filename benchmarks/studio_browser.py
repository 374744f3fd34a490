"""The studio in Debian's headless chromium: 1,000 runs listed and a 100k-point loss curve drawn,
against drawing the same curve the way ``genforge runs plot`` does (matplotlib, Agg, PNG).

One invocation, interleaved, ``--repeats`` rounds, medians:

* runs list: navigation to ``/?per_page=1000`` until the table holds 1,000 rows (server reads every run,
  renders the HTML; the browser lays it out);
* studio curve: navigation to the run's page until its canvas is drawn (the server parses the
  100k-line ``metrics.jsonl``, thins it with MinMaxLTTB to 2,000 points and streams it over SSE);
* matplotlib curve (reference): ``render.curves.save_curves`` of the same 100k points to a PNG.

    .venv/bin/python benchmarks/studio_browser.py [--repeats 3] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from genforge.core.runs import Run
from genforge.render.curves import save_curves
from genforge.serve.studio.app import create_app
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


def serve(root: Path):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(root), host="127.0.0.1", port=0, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_runs(root, args.runs, args.points)
        server, url = serve(root)
        times: dict[str, list[float]] = {"runs list": [], "studio curve": [], "matplotlib curve": []}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=ARGS)
            page = browser.new_page()
            for _ in range(args.repeats):
                started = time.perf_counter()
                page.goto(f"{url}/?per_page={args.runs}&sort=headline")
                assert page.locator("#runs tbody tr").count() == args.runs
                times["runs list"].append(time.perf_counter() - started)
                started = time.perf_counter()
                page.goto(f"{url}/runs/run-long")
                page.wait_for_selector("#curve[data-drawn]")
                times["studio curve"].append(time.perf_counter() - started)
                started = time.perf_counter()
                series = points(MetricsTail(root / "run-long" / "metrics.jsonl").read_new(), "loss")
                save_curves({"run-long": series}, "loss", root / "curve.png")
                times["matplotlib curve"].append(time.perf_counter() - started)
            browser.close()
        server.should_exit = True
    reference = statistics.median(times["matplotlib curve"])
    print(f"{'measure':<18} {'median s':>9} {'min s':>7} {'matplotlib / this':>18}")
    for name, values in times.items():
        median = statistics.median(values)
        ratio = f"{reference / median:.2f}" if "curve" in name else "-"
        print(f"{name:<18} {median:>9.3f} {min(values):>7.3f} {ratio:>18}")


if __name__ == "__main__":
    main()
