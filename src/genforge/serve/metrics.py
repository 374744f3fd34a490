"""Prometheus metrics of the server (prometheus_client).

With several worker processes (``--workers 2``) the CLI points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
folder before any worker starts; each process then writes its samples there and ``/metrics`` (answered
by whichever worker) merges them with :class:`prometheus_client.multiprocess.MultiProcessCollector`, so
counts are the sum over workers, not one worker's share.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "genforge_requests_total", "HTTP requests by route, model and status", ["route", "model", "status"]
)
LATENCY = Histogram(
    "genforge_request_seconds",
    "request latency by route and model",
    ["route", "model"],
    buckets=LATENCY_BUCKETS,
)
FIRST_TOKEN = Histogram(
    "genforge_time_to_first_token_seconds",
    "text generation: time from entering the model's queue to the first piece of text",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
TOKENS = Counter("genforge_generated_tokens_total", "tokens generated", ["model"])
GENERATION_SECONDS = Counter(
    "genforge_generation_seconds_total", "seconds spent generating tokens", ["model"]
)
BATCH_SIZE = Histogram(
    "genforge_batch_size", "requests per model call", ["model"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256)
)
CANCELLED = Counter(
    "genforge_cancelled_generations_total",
    "requests whose client left or timed out: dropped from the queue (stage=queued) or stopped "
    "between two tokens (stage=running)",
    ["model", "stage"],
)
QUEUE_DEPTH = Gauge(
    "genforge_queue_depth", "requests waiting per model", ["model"], multiprocess_mode="livesum"
)
OPEN_STREAMS = Gauge("genforge_open_streams", "streamed responses in progress", multiprocess_mode="livesum")
GUARDRAILS = Counter("genforge_guardrail_verdicts_total", "guardrail verdicts by stage, rail and action", ["stage", "rail", "action"])  # fmt: skip


def render_metrics() -> tuple[bytes, str]:
    """The exposition text and its content type (merged over worker processes in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _sum_count(metric) -> tuple[float, float]:
    total = count = 0.0
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_sum"):
                total += sample.value
            elif sample.name.endswith("_count"):
                count += sample.value
    return total, count


def server_summary(queue_depth: int) -> dict[str, float | int]:
    """This process's figures for the studio's Server page: requests, mean latency and batch size."""
    requests = sum(s.value for f in REQUESTS.collect() for s in f.samples if s.name.endswith("_total"))
    latency, answered = _sum_count(LATENCY)
    batched, calls = _sum_count(BATCH_SIZE)
    return {
        "requests": int(requests),
        "latency_mean_ms": round(1000 * latency / answered, 2) if answered else 0.0,
        "queue_depth": queue_depth,
        "batch_size_mean": round(batched / calls, 2) if calls else 0.0,
    }
