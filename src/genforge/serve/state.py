"""The server's state: the catalog, one micro-batcher per model, readiness and the limits in force.

Each model's batcher calls the pipeline function for its API (``run_*`` below); everything else in
``serve/`` only moves JSON in and out. Results that are errors travel back as exception objects so one
request's bad input never fails the other requests of its batch.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import torch

from genforge.pipelines.generation import generate
from genforge.pipelines.inference import BATCHABLE_OPERATIONS, image_operation
from genforge.rag.api import ask
from genforge.serve.batcher import Job, MicroBatcher, QueueFull
from genforge.serve.catalog import ServedModel
from genforge.serve.config import ServeConfig, parse_rate
from genforge.serve.errors import ApiError
from genforge.serve.limits import StreamSlots
from genforge.serve.metrics import BATCH_SIZE, QUEUE_DEPTH


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
    """Language models: one :func:`generate` call per request, in turn (each has its own seed)."""

    def one(job: Job):
        request = dict(job.payload)
        loaded, on_text = request.pop("loaded"), request.pop("on_text", None)

        def emit(piece: str) -> None:
            if job.cancelled.is_set():
                raise Cancelled
            if on_text is not None and piece:
                on_text(piece)

        return generate(loaded, on_text=emit, **request)

    return _each(jobs, one)


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
    """One :func:`genforge.rag.api.ask` call per question, on the store and guard opened at start-up."""
    return _each(jobs, lambda j: ask(j.payload["question"], **j.payload["rag"]))


RUNNERS = {"text": run_text, "embedding": run_embeddings, "image": run_image, "rag": run_rag}


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
                RUNNERS[served.api],
                max_batch=config.max_batch,
                max_wait_ms=config.max_wait_ms,
                max_queue=config.max_queue,
                on_batch=BATCH_SIZE.labels(name).observe,
                on_queue=QUEUE_DEPTH.labels(name).set,
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
        try:
            return self.batchers[name].submit(payload, key)
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

    def new_seed(self) -> int:
        return secrets.randbits(31)
