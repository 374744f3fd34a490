"""Bad input on a real server: the right status and one message, keys never echoed, limits enforced,
streams and memory back to baseline after many bad requests, the server still answering others."""

import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from genforge.serve.config import ServeConfig
from genforge.serve.errors import ApiError
from genforge.serve.state import ServerState
from genforge.serve.streaming import _stream

CHAT = {"model": "gpt-lee", "messages": [{"role": "user", "content": "The"}], "max_tokens": 8, "seed": 0}


def metric(server, name: str, **labels) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_missing_or_wrong_key_is_401_and_the_key_is_never_echoed(server, api_keys):
    with server.client(key=None) as http:
        r = http.get("/v1/models")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["error"]["message"]
    wrong = "gf-this-is-not-a-key-but-a-secret-looking-string"
    with server.client(key=wrong) as http:
        r = http.get("/v1/models")
    assert (
        r.status_code == 401 and wrong not in r.text and r.json()["error"]["type"] == "authentication_error"
    )
    assert wrong not in server.log.read_text()
    _, alice, bob = api_keys
    assert alice not in server.log.read_text() and bob not in server.log.read_text()
    with server.client(key=bob) as http:
        assert http.get("/v1/models").status_code == 200


def test_health_and_metrics_need_no_key(server):
    assert httpx.get(f"{server.url}/health/live").status_code == 200
    assert httpx.get(f"{server.url}/health/ready").json()["status"] == "ready"
    assert "genforge_requests_total" in httpx.get(f"{server.url}/metrics").text


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/v1/chat/completions", "{not json", 400, "not valid JSON"),
        ("/v1/chat/completions", {**CHAT, "model": "gpt-nope"}, 404, "gpt-nope"),
        ("/v1/chat/completions", {**CHAT, "max_tokens": 100_000}, 400, "max_tokens"),
        ("/v1/chat/completions", {**CHAT, "temperature": 5}, 400, "temperature"),
        ("/v1/chat/completions", {**CHAT, "messages": []}, 400, "messages"),
        ("/v1/chat/completions", {"messages": CHAT["messages"]}, 400, "model"),
        (
            "/v1/chat/completions",
            {**CHAT, "messages": [{"role": "user", "content": "word " * 5000}]},
            400,
            "context window",
        ),  # fmt: skip
        ("/v1/embeddings", {"model": "minilm", "input": ["a"] * 17}, 400, "limit is 16"),
        ("/v1/embeddings", {"model": "minilm", "input": [1, 2, 3]}, 400, "token-id"),
        ("/v1/embeddings", {"model": "minilm", "input": "a", "dimensions": 10}, 400, "dimensions"),
        ("/v1/embeddings", {"model": "gpt-lee", "input": "a"}, 404, "minilm"),
        ("/v1/nowhere", {}, 404, "no such route"),
    ],
)
def test_bad_requests_get_the_right_status_and_one_message(server, path, body, status, says):
    with server.client() as http:
        r = http.post(path, content=body) if isinstance(body, str) else http.post(path, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert says in error["message"] and "\n" not in error["message"] and "Traceback" not in r.text


def test_an_oversized_body_is_413_before_it_is_read(server):
    with server.client() as http:
        r = http.post(
            "/v1/embeddings", content=b"x" * 2_000_001, headers={"content-type": "application/json"}
        )
        assert r.status_code == 413 and "1 MB" in r.json()["error"]["message"]

        def chunks():
            for _ in range(40):
                yield b"x" * 100_000

        r = http.post("/v1/embeddings", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_a_key_over_its_stream_limit_is_refused_with_429():
    state = ServerState(ServeConfig(max_streams=1), {})
    assert state.streams.take("alice")
    request = Request({"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": [], "state": {"who": "alice"}})  # fmt: skip
    with pytest.raises(ApiError) as caught:
        _stream(state, request, None, {}, None, False)
    assert caught.value.status == 429 and "1 streams open" in caught.value.message
    assert caught.value.headers["Retry-After"]
    state.streams.give("alice")
    assert state.streams.open == {}


def test_a_client_gone_mid_stream_cancels_it_and_frees_its_slot(server):
    body = {**CHAT, "max_tokens": 64, "stream": True}
    for _ in range(3):  # more than --max-streams 2: slots come back
        with server.client() as http, http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            next(response.iter_lines())
    deadline = time.monotonic() + 30
    while metric(server, "genforge_open_streams") > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(server, "genforge_open_streams") == 0
    with server.client() as http:
        assert http.post("/v1/chat/completions", json=CHAT).status_code == 200


def _rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))


def _fds(pid: int) -> int:
    import os

    return len(os.listdir(f"/proc/{pid}/fd"))


def test_a_thousand_bad_requests_leak_nothing_and_others_still_get_answers(server):
    pid = server.process.pid
    bad = [
        ("/v1/chat/completions", b"{oops"),
        ("/v1/chat/completions", json.dumps({**CHAT, "model": "nope"}).encode()),
        (
            "/v2/models/vae-digits/infer",
            json.dumps(
                {"inputs": [{"name": "z", "shape": [1, 2], "datatype": "BOOL", "data": [1, 2]}]}
            ).encode(),
        ),  # fmt: skip
        ("/v1/embeddings", json.dumps({"model": "minilm", "input": []}).encode()),
    ]
    with server.client() as http:
        for path, body in bad * 25:  # warm every path before measuring
            http.post(path, content=body, headers={"content-type": "application/json"})
        rss, fds = _rss_kb(pid), _fds(pid)
        good = []
        worker = threading.Thread(target=lambda: good.extend(http.post("/v1/chat/completions", json=CHAT).status_code for _ in range(5)))  # fmt: skip
        worker.start()
        statuses = {http.post(p, content=b, headers={"content-type": "application/json"}).status_code for p, b in bad * 250}  # fmt: skip
        worker.join()
    assert statuses == {400, 404}
    assert good == [200] * 5
    assert _rss_kb(pid) - rss < 30_000  # kB: no per-request growth (1,000 requests)
    assert _fds(pid) <= fds + 2
    assert metric(server, "genforge_open_streams") == 0


def test_while_loading_model_routes_answer_503_with_retry_after():
    state = ServerState(ServeConfig(), {})
    with pytest.raises(ApiError) as caught:
        state.model("gpt-lee", "text")
    assert caught.value.status == 503 and caught.value.headers["Retry-After"]


def test_rate_limit_is_429_with_retry_after_and_metrics_add_up_over_two_workers(small_server):
    statuses = []
    with small_server.client() as http:
        for _ in range(8):
            r = http.get("/v2/models/vae/ready")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["error"]
    assert 429 in statuses and 200 in statuses
    # counted by whichever worker answered, summed over both
    ok = metric(small_server, "genforge_requests_total", route="/v2/models/{name}/ready", status="200")
    assert ok == statuses.count(200)
    assert metric(small_server, "genforge_requests_total", status="429") == statuses.count(429)
    assert "vae" in httpx.get(f"{small_server.url}/health/ready").json()["models"]
    assert "skipping" in small_server.log.read_text() and "broken-run" in small_server.log.read_text()
