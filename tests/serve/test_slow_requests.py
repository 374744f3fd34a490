"""Slow and concurrent clients on a real server: a stalled body is a 408, streams are capped per key, a
client that leaves cancels its generation (counted in /metrics), concurrent requests batched together
answer exactly what they answer one at a time, the ``rag`` model streams, damaged runs at start-up."""

import json
import shutil
import socket
import threading
import time

import httpx
import numpy as np

from tests.serve.conftest import run_cli
from tests.serve.test_limits import metric

CHAT = {"model": "gpt-lee", "messages": [{"role": "user", "content": "The"}], "max_tokens": 64, "seed": 0}


def _in_threads(fn, arguments: list) -> list:
    """``fn(argument)`` for every argument at once (a barrier releases them together), results in order."""
    barrier = threading.Barrier(len(arguments))
    results: list = [None] * len(arguments)

    def one(i, argument):
        barrier.wait()
        results[i] = fn(argument)

    threads = [threading.Thread(target=one, args=(i, a)) for i, a in enumerate(arguments)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_a_body_that_stalls_is_408_naming_the_limit_and_the_server_goes_on(server):
    headers = (
        "POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {server.key}\r\nContent-Length: 200\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(headers.encode() + b'{"model": "minilm", "in')  # then nothing more
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    waited = time.monotonic() - started
    status_line, _, rest = answer.decode().partition("\r\n")
    assert status_line.split()[1] == "408", answer
    message = json.loads(rest.split("\r\n\r\n", 1)[1])["error"]["message"]
    assert message == "the request body did not arrive within 3 s (--body-timeout-s)"
    assert 2.5 < waited < 20
    with server.client() as http:
        assert http.post("/v1/embeddings", json={"model": "minilm", "input": "a cat"}).status_code == 200


def test_streams_over_a_keys_limit_get_429_while_another_key_is_served(server, api_keys):
    _, alice, bob = api_keys

    def stream(key):
        with (
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as http,
            http.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response,
        ):
            lines = [line for line in response.iter_lines() if line]
            return response.status_code, response.headers.get("retry-after"), lines

    results = _in_threads(stream, [alice] * 6 + [bob])
    statuses = [status for status, _, _ in results[:6]]
    assert statuses.count(429) >= 1 and statuses.count(200) >= 2, statuses
    for status, retry_after, lines in results[:6]:
        if status == 429:
            assert int(retry_after) >= 1 and "2 streams open" in json.loads(lines[0])["error"]["message"]
        else:
            assert lines[-1] == "data: [DONE]"
    assert results[6][0] == 200 and results[6][2][-1] == "data: [DONE]"  # bob's own slots are free
    assert metric(server, "genforge_open_streams") == 0


def test_a_client_that_leaves_mid_stream_cancels_its_generation_in_the_metrics(server):
    def cancelled() -> float:
        return metric(server, "genforge_cancelled_generations_total", model="gpt-lee")

    before = cancelled()

    def busy_request():
        with server.client() as other:
            other.post("/v1/chat/completions", json=CHAT)

    with server.client() as http:
        busy = threading.Thread(target=busy_request)
        busy.start()  # the model is generating for someone else: the stream below has to queue
        with http.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as response:
            assert response.status_code == 200
            next(response.iter_lines())  # the first chunk, then the client goes away
        busy.join()
    deadline = time.monotonic() + 30
    while cancelled() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cancelled() == before + 1
    assert metric(server, "genforge_open_streams") == 0


def test_concurrent_decodes_answer_exactly_what_they_answer_one_at_a_time(server):
    with server.client() as http:
        inputs = http.get("/v2/models/vae-digits").json()["inputs"]
    latent = next(i for i in inputs if i["name"] == "z")["shape"][1]
    rng = np.random.default_rng(0)
    bodies = [
        {
            "inputs": [
                {
                    "name": "z",
                    "shape": [1, latent],
                    "datatype": "FP32",
                    "data": rng.normal(size=latent).tolist(),
                }
            ]
        }  # fmt: skip
        for _ in range(16)
    ]

    def decode(body):
        with server.client() as http:
            r = http.post("/v2/models/vae-digits/infer", json=body)
            assert r.status_code == 200, r.text
            return r.json()["outputs"][0]["data"]

    alone = [decode(b) for b in bodies]
    batched_calls = False
    for _ in range(3):  # until the server did batch some of them (it does when requests queue up)
        calls = metric(server, "genforge_batch_size_count", model="vae-digits")
        together = _in_threads(decode, bodies)
        for one, other in zip(alone, together, strict=True):
            np.testing.assert_allclose(one, other, rtol=0, atol=1e-6)
        if metric(server, "genforge_batch_size_count", model="vae-digits") - calls < len(bodies):
            batched_calls = True
            break
    assert batched_calls, "16 concurrent requests never shared a model call"


def test_concurrent_chats_with_seeds_answer_what_they_answer_one_at_a_time(server):
    def chat(seed):
        with server.client() as http:
            r = http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 12, "seed": seed})
            assert r.status_code == 200, r.text
            return r.json()["choices"][0]["message"]["content"]

    seeds = [1, 2, 3, 4, 1]
    alone = [chat(s) for s in seeds]
    assert _in_threads(chat, seeds) == alone and alone[0] == alone[4]


def test_the_rag_model_streams_its_answer_with_citations_on_the_last_chunk(server):
    body = {"model": "rag", "stream": True, "messages": [{"role": "user", "content": "how do I continue training where it stopped?"}]}  # fmt: skip
    with server.client() as http, http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "resume" in text.lower()
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["citations"][0]["source"].endswith("resume.md") and "input" in last["guardrails"]


def test_a_damaged_checkpoint_stops_start_up_naming_it_or_is_skipped(serve_runs, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(serve_runs["vae"], broken)
    checkpoints = sorted((broken / "checkpoints").glob("*.safetensors"))
    for f in checkpoints:
        f.write_bytes(b"not a checkpoint")
    out = run_cli("serve", str(broken), "--port", "0", "--embeddings", "none")
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert checkpoints[-1].name in lines[0]
    skipped = run_cli("serve", str(broken), "--port", "0", "--embeddings", "none", "--skip-broken")
    assert skipped.returncode == 2 and "skipping" in skipped.stderr and "nothing to serve" in skipped.stderr


def test_a_plain_chat_counts_its_time_to_first_token_and_its_tokens(server):
    def counted() -> tuple[float, float]:
        return (
            metric(server, "genforge_time_to_first_token_seconds_count", model="gpt-lee"),
            metric(server, "genforge_generated_tokens_total", model="gpt-lee"),
        )

    firsts, tokens = counted()
    with server.client() as http:
        r = http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 8, "seed": 7, "temperature": 0})
    assert r.status_code == 200, r.text
    after_firsts, after_tokens = counted()
    assert after_firsts == firsts + (1 if r.json()["choices"][0]["message"]["content"] else 0)
    assert after_tokens - tokens == r.json()["usage"]["completion_tokens"]
