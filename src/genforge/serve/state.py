"""The server's state: the catalog, one micro-batcher per model, readiness and the limits in force.

Each model's batcher calls the pipeline function for its API (``run_*`` below); everything else in
``serve/`` only moves JSON in and out. Results that are errors travel back as exception objects so one
request's bad input never fails the other requests of its batch.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from genforge.pipelines.generation import Generation, generate_batch, prompt_length
from genforge.pipelines.inference import BATCHABLE_OPERATIONS, image_operation
from genforge.serve.batcher import Job, MicroBatcher, QueueFull
from genforge.serve.catalog import ServedModel
from genforge.serve.config import ServeConfig, parse_rate
from genforge.serve.errors import ApiError
from genforge.serve.limits import StreamSlots
from genforge.serve.metrics import (
    BATCH_SIZE,
    CANCELLED,
    FIRST_TOKEN,
    GENERATION_SECONDS,
    QUEUE_DEPTH,
    TOKENS,
)


class Cancelled(Exception):
    """The caller went away; generation stopped."""


def _each(jobs: list[Job], fn) -> list[Any]:
    out: list[Any] = []
    for job in jobs:
        try:
            out.append(fn(job))
        except Exception as exc:  # returned, not raised: it belongs to this job only
            out.append(exc)
    return out


def run_text(jobs: list[Job]) -> list[Any]:
    """Language models: the batch decoded together by :func:`generate_batch` (prompts of one length share
    each forward pass; every request keeps its own seed, so batched equals alone). A request whose
    client left raises :class:`Cancelled` from its next piece of text and leaves the batch."""

    def request(job: Job) -> dict[str, Any]:
        arguments = dict(job.payload)
        arguments.pop("loaded")
        arguments.pop("prompt_length", None)
        on_text = arguments.pop("on_text", None)
        name = arguments.pop("model_name", None)
        first = [True]

        def emit(piece: str) -> None:
            if job.cancelled.is_set():
                raise Cancelled
            if piece and first[0] and name is not None:  # from entering the queue to the first text
                FIRST_TOKEN.labels(name).observe(time.perf_counter() - job.submitted)
                first[0] = False
            if on_text is not None and piece:
                on_text(piece)

        return {**arguments, "on_text": emit}

    results = generate_batch(jobs[0].payload["loaded"], [request(job) for job in jobs])
    for job, result in zip(jobs, results, strict=True):
        name = job.payload.get("model_name")
        if name is not None and isinstance(result, Generation):
            TOKENS.labels(name).inc(result.generated_tokens)
            GENERATION_SECONDS.labels(name).inc(result.seconds)
    return results


def run_embeddings(jobs: list[Job]) -> list[Any]:
    """All requests' texts in one :meth:`SentenceEmbedding.embed_texts` call, split back per request."""
    embedding = jobs[0].payload["embedding"]
    texts = [t for job in jobs for t in job.payload["texts"]]
    vectors = embedding.embed_texts(texts)
    tokens = [embedding.count_tokens(t) for t in texts]
    out, start = [], 0
    for job in jobs:
        stop = start + len(job.payload["texts"])
        out.append((vectors[start:stop], sum(tokens[start:stop])))
        start = stop
    return out


def run_image(jobs: list[Job]) -> list[Any]:
    """``encode``/``decode`` of same-shaped inputs as one call; ``sample``/``log_prob`` per request."""
    first = jobs[0].payload
    if first["op"] in BATCHABLE_OPERATIONS and len(jobs) > 1:
        try:
            x = torch.cat([j.payload["x"] for j in jobs])
            result = image_operation(first["model"], first["op"], x)
        except Exception:  # one request's input is bad: run them one by one so only it fails
            return _each(jobs, lambda j: image_operation(**j.payload))
        sizes = [len(j.payload["x"]) for j in jobs]
        return list(torch.split(result, sizes))
    return _each(jobs, lambda j: image_operation(**j.payload))


def run_rag(jobs: list[Job]) -> list[Any]:
    """One :func:`genforge.rag.api.ask` call per question, on the store and guard opened at start-up. A
    streamed request (``on_event`` in its payload) asks with ``stream=True`` and hands each event over as
    it comes; its client leaving stops the answer at the next event."""
    from genforge.rag.api import ask  # only a server with --rag pays for importing the RAG stack

    def one(job: Job) -> Any:
        on_event = job.payload.get("on_event")
        if on_event is None:
            return ask(job.payload["question"], **job.payload["rag"])
        for event in ask(job.payload["question"], **job.payload["rag"], stream=True):
            if job.cancelled.is_set():
                raise Cancelled
            on_event(event)
        return event.answer

    return _each(jobs, one)


RUNNERS = {"text": run_text, "embedding": run_embeddings, "image": run_image, "rag": run_rag}


def _counting_cancelled(run: Callable[[list[Job]], list[Any]], name: str, jobs: list[Job]) -> list[Any]:
    """``run(jobs)``, counting the generations it stopped because their client left."""
    results = run(jobs)
    stopped = sum(isinstance(r, Cancelled) for r in results)
    if stopped:
        CANCELLED.labels(name, "running").inc(stopped)
    return results


class ServerState:
    def __init__(self, config: ServeConfig, models: dict[str, ServedModel]) -> None:
        self.config = config
        self.models = models
        self.ready = False
        self.rate = parse_rate(config.rate)
        self.streams = StreamSlots(config.max_streams)
        self.batchers: dict[str, MicroBatcher] = {}
        for name, served in models.items():
            self.batchers[name] = MicroBatcher(
                name,
                partial(_counting_cancelled, RUNNERS[served.api], name),
                max_batch=config.max_batch,
                max_wait_ms=config.max_wait_ms,
                max_queue=config.max_queue,
                max_cost=config.max_batch_tokens if served.api == "text" else None,
                on_batch=BATCH_SIZE.labels(name).observe,
                on_queue=QUEUE_DEPTH.labels(name).set,
                on_cancel=CANCELLED.labels(name, "queued").inc,
            )

    def model(self, name: str, api: str | tuple[str, ...], param: str = "model") -> ServedModel:
        """The served model ``name`` for ``api``; 404 naming what is served otherwise; 503 while loading."""
        if not self.ready:
            raise ApiError(503, "the server is still loading and warming its models: retry shortly", headers={"Retry-After": "1"})  # fmt: skip
        apis = (api,) if isinstance(api, str) else api
        served = self.models.get(name)
        if served is None or served.api not in apis:
            names = sorted(n for n, m in self.models.items() if m.api in apis)
            raise ApiError(
                404,
                f"model {name!r} is not served here for this API; served: {', '.join(names) or 'none'}",
                param=param,
                code="model_not_found",
            )
        return served

    def submit(self, name: str, payload: dict[str, Any], key: Any = None) -> Job:
        """Queue ``payload`` on the model's batcher; text requests are keyed by prompt length (one batch,
        one length) and cost the tokens they may hold (prompt + max_tokens) against the token budget."""
        cost = 1
        if self.models[name].api == "text":
            length = payload["prompt_length"]
            key, cost = ("text", length), length + payload["max_tokens"]
        try:
            return self.batchers[name].submit(payload, key, cost)
        except QueueFull as exc:
            raise ApiError(503, f"{exc}: retry shortly", headers={"Retry-After": "1"}) from None

    async def result(self, job: Job) -> Any:
        """The job's result within the request timeout (408 beyond); errors are raised."""
        try:
            result = await asyncio.wait_for(asyncio.shield(job.future), self.config.timeout_s)
        except TimeoutError:
            job.cancelled.set()
            raise ApiError(
                408, f"the request took longer than the {self.config.timeout_s:g} s timeout"
            ) from None
        except asyncio.CancelledError:
            job.cancelled.set()
            raise
        if isinstance(result, Exception):
            raise result
        return result

    async def prompt_length(self, served: ServedModel, prompt: str) -> int:
        """The prompt's token count (a text request's batch key and cost); a long prompt is counted on
        a worker thread, so tokenizing it never stalls the event loop."""
        count = partial(prompt_length, served.obj, prompt)
        return count() if len(prompt) < 2048 else await asyncio.to_thread(count)

    def new_seed(self) -> int:
        return secrets.randbits(31)
