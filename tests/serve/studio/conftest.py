"""Session fixtures of the studio tests: tiny real runs trained once, a RAG store indexed once, the studio
served by uvicorn on a free loopback port, and Debian's chromium driven by Playwright, started once."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from studio_testkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DOCS, StudioServer


def pytest_configure(config):
    config.addinivalue_line("markers", "expect_status(*codes): API error statuses a browser test provokes")


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory) -> Path:
    """A folder with one tiny class-conditional GAN (digits) and one tiny GPT run, trained once."""
    import genforge

    root = tmp_path_factory.mktemp("studio-runs")
    tiny = {"sample_every": 10, "checkpoint_every": 10, "log_every": 2, "eval_every": 10, "batch_size": 16,
            "final_eval": False}  # fmt: skip
    gan = {**tiny, "conditional": True, "base_channels": 4, "max_channels": 8, "latent_dim": 8}
    genforge.train("gan", "digits", out=root, max_steps=20, overrides=gan)
    gpt = {**tiny, "num_layers": 1, "num_heads": 2, "embed_dim": 16}
    genforge.train("gpt", "text:lee", out=root, max_steps=10, overrides=gpt)
    return root


@pytest.fixture(scope="session")
def rag_store(tmp_path_factory) -> Path:
    from genforge.embed.sentence import SentenceEmbedding
    from genforge.rag.store import Store

    docs = tmp_path_factory.mktemp("studio-docs")
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    path = tmp_path_factory.mktemp("studio-store") / "store"
    Store(path, embedding=SentenceEmbedding()).index(docs)
    return path


@pytest.fixture(scope="session")
def studio(trained_runs, rag_store):
    server = StudioServer(trained_runs, rag_store)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh page whose console errors and uncaught exceptions fail the test; a screenshot of the
    final state is saved under tmp/test-artifacts/studio/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # a test that sends bad input on purpose marks the API answers it expects with @pytest.mark.expect_status
    marker = request.node.get_closest_marker("expect_status")
    allowed = set(marker.args) if marker else set()

    def expected(response) -> bool:
        return response.status in allowed and "/api/" in response.url

    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 and not expected(r) else None,
    )
    page.set_default_timeout(30_000)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    unexpected = [p for p in problems if not (allowed and p.startswith("Failed to load resource"))]
    assert unexpected == [], f"console errors or failed requests: {unexpected}"


@pytest.fixture
def live_training(tmp_path):
    """A real ``genforge train`` in a subprocess, long enough to watch; yields (runs folder, run id)."""
    runs = tmp_path / "live"
    genforge = shutil.which("genforge", path=str(Path(os.sys.executable).parent))
    command = [genforge, "train", "vae", "--data", "digits", "--out", str(runs), "--max-steps", "100000", "--quiet",
               "--set", "log_every=1", "--set", "eval_every=100000", "--set", "sample_every=100000",
               "--set", "checkpoint_every=100000", "--set", "batch_size=16", "--set", "base_channels=4",
               "--set", "max_channels=8"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(runs.glob("*/metrics.jsonl")):
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode())
            if time.monotonic() > deadline:
                raise RuntimeError("training wrote no metrics within 2 minutes")
            time.sleep(0.2)
        yield runs, next(runs.glob("*/metrics.jsonl")).parent.name
    finally:
        process.terminate()
        process.wait(30)
