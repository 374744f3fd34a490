"""``genforge serve`` and ``genforge keys add`` from the command line: refusals are one line, exit 2."""

import json
import shutil
import signal
import socket

import httpx

from tests.serve.conftest import run_cli, start_server


def _one_error_line(out) -> str:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def test_a_damaged_run_stops_start_up_with_one_line_naming_the_file(serve_runs, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(serve_runs["vae"], broken)
    (broken / "config.json").write_text("{ not json")
    line = _one_error_line(run_cli("serve", str(broken), "--port", "0", "--embeddings", "none"))
    assert "config.json" in line


def test_a_port_in_use_is_one_line(serve_runs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_error_line(
            run_cli("serve", str(serve_runs["vae"]), "--port", str(port), "--embeddings", "none")
        )
    assert f"127.0.0.1:{port}" in line and "--port" in line


def test_binding_beyond_loopback_without_keys_is_refused(serve_runs):
    line = _one_error_line(
        run_cli("serve", str(serve_runs["vae"]), "--host", "0.0.0.0", "--embeddings", "none")
    )
    assert "--api-keys" in line


def test_keys_add_prints_the_key_once_and_stores_its_hash(tmp_path):
    path = tmp_path / "keys.json"
    out = run_cli("keys", "add", "ci", "--api-keys", str(path))
    assert out.returncode == 0
    key = out.stdout.strip()
    assert key.startswith("gf-") and len(key) > 40 and key not in out.stderr
    assert key not in path.read_text() and json.loads(path.read_text())["keys"][0]["name"] == "ci"


def test_sigterm_lets_an_open_stream_finish_then_the_server_exits(serve_runs, tmp_path):
    srv = start_server([str(serve_runs["gpt"]), "--embeddings", "none"], tmp_path / "log")
    body = {
        "model": "gpt-lee",
        "messages": [{"role": "user", "content": "The"}],
        "max_tokens": 64,
        "stream": True,
    }
    with httpx.Client(base_url=srv.url, timeout=60) as http, http.stream("POST", "/v1/chat/completions", json=body) as response:  # fmt: skip
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")  # the stream is open and generating
        srv.process.send_signal(signal.SIGTERM)
        rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]"
    # uvicorn re-raises the signal it caught once shutdown is complete: the exit reports SIGTERM
    assert srv.process.wait(60) in (0, -signal.SIGTERM)
    assert "Traceback" not in (tmp_path / "log").read_text()
