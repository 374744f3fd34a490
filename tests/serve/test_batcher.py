"""The micro-batcher: a lone request runs at once, queued requests share a call, batched outputs equal
unbatched ones for the same seeds, a full queue is refused, a cancelled generation stops."""

import asyncio
import threading

import pytest
import torch

from genforge.pipelines.generation import generate
from genforge.pipelines.inference import image_operation
from genforge.pipelines.loading import load_run
from genforge.serve.batcher import Job, MicroBatcher, QueueFull
from genforge.serve.state import Cancelled, run_image, run_text
from tests.serve.aio import run_async


def test_queued_requests_with_one_key_share_a_call_and_others_run_in_turn():
    calls = []

    def run(jobs):
        calls.append([j.payload for j in jobs])
        return [j.payload * 10 for j in jobs]

    async def main():
        batcher = MicroBatcher("m", run, max_batch=3, max_wait_ms=0)
        batcher.start()
        jobs = [batcher.submit(i, key="a" if i != 2 else "b") for i in range(5)]
        results = [await j.future for j in jobs]
        await batcher.stop()
        return results

    assert run_async(main()) == [0, 10, 20, 30, 40]
    assert calls == [[0, 1, 3], [2], [4]]


def test_a_token_budget_caps_a_batch_and_the_rest_runs_next():
    calls = []

    def run(jobs):
        calls.append([j.payload for j in jobs])
        return [None] * len(jobs)

    async def main():
        batcher = MicroBatcher("m", run, max_batch=32, max_wait_ms=0, max_cost=100)
        batcher.start()
        costs = [60, 30, 20, 10, 100]  # 60 + 30 + 10 fit in 100; 20 waits; 100 fills a batch alone
        jobs = [batcher.submit(i, key="text", cost=c) for i, c in enumerate(costs)]
        for job in jobs:
            await job.future
        await batcher.stop()

    run_async(main())
    assert calls == [[0, 1, 3], [2], [4]]


def test_a_lone_request_runs_without_waiting_for_a_batch_to_fill():
    seen = []

    async def main():
        batcher = MicroBatcher("m", lambda jobs: [seen.append(len(jobs))] * len(jobs), max_batch=32, max_wait_ms=10_000)  # fmt: skip
        batcher.start()
        await asyncio.wait_for(batcher.submit(1).future, timeout=60)  # would need 10 s if it waited
        await batcher.stop()

    run_async(main())
    assert seen == [1]


def test_a_full_queue_refuses_instead_of_growing():
    async def main():
        batcher = MicroBatcher("m", lambda jobs: [None] * len(jobs), max_queue=2)
        batcher.start()
        batcher.submit(1)
        batcher.submit(2)
        with pytest.raises(QueueFull, match="queue of model 'm' is full"):
            batcher.submit(3)
        await batcher.stop()

    run_async(main())


@pytest.fixture(scope="module")
def loaded(serve_runs):
    return {"vae": load_run(serve_runs["vae"], data=False), "gpt": load_run(serve_runs["gpt"], data=False)}


def _job(payload):
    return Job(payload, None, None)


def test_batched_decode_and_encode_equal_one_request_at_a_time(loaded):
    model = loaded["vae"].model
    latents = [
        torch.randn(n, model.config.latent_dim, generator=torch.Generator().manual_seed(n)) for n in (1, 3, 2)
    ]
    batched = run_image([_job({"model": model, "op": "decode", "x": z}) for z in latents])
    for z, out in zip(latents, batched, strict=True):
        torch.testing.assert_close(out, image_operation(model, "decode", z), rtol=0, atol=1e-6)
    images = [(img * 16).round().long() for img in batched]
    encoded = run_image([_job({"model": model, "op": "encode", "x": x}) for x in images])
    for x, out in zip(images, encoded, strict=True):
        torch.testing.assert_close(out, image_operation(model, "encode", x), rtol=0, atol=1e-6)


def test_samples_in_a_batch_follow_their_own_seeds(loaded):
    model = loaded["vae"].model
    payloads = [{"model": model, "op": "sample", "n": 2, "seed": s} for s in (5, 6, 5)]
    outs = run_image([_job(p) for p in payloads])
    assert torch.equal(outs[0], outs[2]) and not torch.equal(outs[0], outs[1])
    assert torch.equal(outs[1], image_operation(model, "sample", n=2, seed=6))


def test_one_bad_request_fails_alone_in_its_batch(loaded):
    model = loaded["vae"].model
    good = torch.zeros(1, model.config.latent_dim)
    outs = run_image([_job({"model": model, "op": "decode", "x": good}), _job({"model": model, "op": "decode", "x": torch.zeros(1, 3)})])  # fmt: skip
    assert isinstance(outs[0], torch.Tensor) and isinstance(outs[1], Exception)


def test_text_generation_in_a_batch_equals_generation_alone(loaded):
    settings = [{"prompt": "The", "max_tokens": 12, "seed": s, "temperature": 1.0} for s in (1, 2)]
    outs = run_text([_job({"loaded": loaded["gpt"], **s}) for s in settings])
    for s, out in zip(settings, outs, strict=True):
        assert out.completion == generate(loaded["gpt"], **s).completion


def test_a_cancelled_generation_stops_at_the_next_token(loaded):
    pieces = []
    job = _job({"loaded": loaded["gpt"], "prompt": "The", "max_tokens": 64, "seed": 0, "temperature": 1.0})
    job.cancelled = threading.Event()

    def on_text(piece):
        pieces.append(piece)
        job.cancelled.set()  # the client went away after the first piece

    job.payload["on_text"] = on_text
    (result,) = run_text([job])
    assert isinstance(result, Cancelled)
    assert len(pieces) == 1
