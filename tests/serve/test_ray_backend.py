"""``genforge serve --backend ray``: the same app as a Ray Serve deployment, started for real once per module.

The Ray tests need ``ray[serve]`` (the ``genforge[ray]`` extra) and are skipped without it; the missing-Ray
error and the flag checks run everywhere (a subprocess in which ``import ray`` fails).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.serve.conftest import run_cli, start_server, stop_server

CHAT = {
    "model": "gpt-lee",
    "messages": [{"role": "user", "content": "The government"}],
    "max_tokens": 12,
    "seed": 7,
}
EMBED = {"model": "minilm", "input": ["a cat", "a dog"], "encoding_format": "float"}


def _one_error_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_without_ray_the_backend_is_one_line_naming_the_extra(tmp_path):
    hide_ray = "import sys; sys.modules['ray'] = None; from genforge.cli.main import main; sys.exit(main())"
    out = subprocess.run(
        [sys.executable, "-c", hide_ray, "serve", str(tmp_path), "--backend", "ray", "--embeddings", "none"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = _one_error_line(out)
    assert "pip install 'genforge[ray]'" in line and "--backend ray" in line


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--min-replicas", "3", "--max-replicas", "2"], "--min-replicas"), (["--workers", "2"], "--workers")],
)
def test_replica_flags_that_cannot_work_are_one_line(tmp_path, flags, named):
    line = _one_error_line(run_cli("serve", str(tmp_path), "--backend", "ray", *flags))
    assert named in line


@pytest.fixture(scope="module")
def ray_serve():
    return pytest.importorskip("ray.serve")


@pytest.fixture(scope="module")
def servers(ray_serve, serve_runs, api_keys, tmp_path_factory):
    """The gpt run and MiniLM behind the same keys: on Ray Serve and, as the reference, on uvicorn
    (skipped before anything is trained when Ray Serve is not installed)."""
    path, key, _ = api_keys
    logs = tmp_path_factory.mktemp("ray-serve-logs")
    args = [str(serve_runs["gpt"]), "--api-keys", str(path), "--rate", "1000/s", "--studio", "none"]
    ray_server = start_server(
        [*args, "--backend", "ray", "--max-replicas", "1"], logs / "ray.log", key, timeout=900
    )
    try:
        reference = start_server(args, logs / "uvicorn.log", key)
    except BaseException:
        stop_server(ray_server)
        raise
    yield ray_server, reference
    stop_server(reference)
    psutil = pytest.importorskip("psutil")
    children = psutil.Process(ray_server.process.pid).children(recursive=True)
    assert stop_server(ray_server) == 0, ray_server.log.read_text()[-2000:]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(c.is_running() and c.status() != "zombie" for c in children):
        time.sleep(0.5)
    left = [c.pid for c in children if c.is_running() and c.status() != "zombie"]
    assert not left, f"Ray processes left after shutdown: {left}"


def test_ray_serve_is_ready_and_lists_the_same_models(servers):
    ray_server, reference = servers
    with ray_server.client() as client, reference.client() as ref:
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and set(ready.json()["models"]) == {"gpt-lee", "minilm"}
        names = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert names == [m["id"] for m in ref.get("/v1/models").json()["data"]]


def test_keys_are_enforced_as_on_uvicorn(servers):
    ray_server, _ = servers
    with ray_server.client(key=None) as anonymous, ray_server.client(key="gf-wrong") as wrong:
        assert anonymous.get("/v1/models").status_code == 401
        response = wrong.get("/v1/models")
        assert response.status_code == 401 and "gf-wrong" not in response.text


def test_a_seeded_chat_is_the_same_text_as_on_uvicorn(servers):
    ray_server, reference = servers
    with ray_server.client() as client, reference.client() as ref:
        got = client.post("/v1/chat/completions", json=CHAT)
        want = ref.post("/v1/chat/completions", json=CHAT)
    assert got.status_code == 200, got.text
    assert got.json()["choices"][0]["message"] == want.json()["choices"][0]["message"]
    assert got.json()["usage"] == want.json()["usage"]


def test_a_streamed_chat_arrives_as_chunks_and_equals_the_plain_reply(servers):
    ray_server, _ = servers
    with ray_server.client() as client:
        plain = client.post("/v1/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"]
        pieces = []
        with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        for choice in json.loads(line[6:])["choices"]:
            pieces.append(choice["delta"].get("content") or "")
    assert "".join(pieces) == plain


def test_embeddings_equal_uvicorn_and_errors_keep_the_openai_shape(servers):
    ray_server, reference = servers
    with ray_server.client() as client, reference.client() as ref:
        got = client.post("/v1/embeddings", json=EMBED).json()["data"]
        want = ref.post("/v1/embeddings", json=EMBED).json()["data"]
        unknown = client.post("/v1/embeddings", json={**EMBED, "model": "nope"})
    assert [d["index"] for d in got] == [0, 1]
    for a, b in zip(got, want, strict=True):
        assert a["embedding"] == pytest.approx(b["embedding"], abs=1e-6)
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


def _answered_embeddings(server) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    labels = ('route="/v1/embeddings"', 'model="minilm"', 'status="200"')
    lines = [line for line in text.splitlines() if line.startswith("genforge_requests_total{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if all(label in line for label in labels))


def test_metrics_count_the_requests_the_replicas_answered(servers):
    ray_server, _ = servers
    before = _answered_embeddings(ray_server)
    with ray_server.client() as client:
        for _ in range(3):
            client.post("/v1/embeddings", json=EMBED).raise_for_status()
    assert _answered_embeddings(ray_server) == before + 3


def test_ray_is_imported_only_by_the_ray_backend():
    code = "import sys, genforge.serve.server, genforge.cli.serve; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
