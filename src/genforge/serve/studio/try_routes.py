"""The try-it pages: Sample a run (the call behind ``genforge sample``), Chat with a language-model run
(tokens streamed as ``generate`` produces them) or with the RAG store (``RagPipeline.ask_stream``: the
answer as it is released, then numbered citations and guardrail verdicts), and Embeddings (a store's
nearest chunks to a text).

Every model call runs in a worker thread; answers stream as server-sent events over one POST."""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from genforge.core.errors import ConfigError
from genforge.core.runs import list_runs
from genforge.serve.studio import runs_view
from genforge.serve.studio.stream import event

router = APIRouter()
MAX_MESSAGE = 4000


class SampleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(16, ge=1, le=256, description="number of samples")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    temperature: float = Field(1.0, ge=0.0, le=10.0)
    label: int | None = Field(None, ge=0, le=1000, description="class of a class-conditional model")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(..., max_length=200, description="'rag' or the id of a language-model run")
    message: str = Field(..., min_length=1, max_length=MAX_MESSAGE)
    temperature: float = Field(0.8, ge=0.0, le=10.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    max_tokens: int = Field(120, ge=1, le=1000)


def _page(request: Request, template: str, **context: Any) -> Response:
    from genforge.serve.studio.app import render

    return render(request, template, **context)


@router.get("/runs/{run_id}/sample", response_class=HTMLResponse)
def sample_page(request: Request, run_id: str):
    run = runs_view.get_run(request.app.state.runs_dir, run_id)
    config = run.read_config()
    info = config["data_info"]
    return _page(
        request, "sample.html", title=f"Sample {run.id}", run_id=run.id, kind=info["kind"],
        num_classes=info.get("num_classes") if config["model"].get("conditional") else None,
    )  # fmt: skip


@router.post("/api/runs/{run_id}/sample")
async def sample_api(request: Request, run_id: str, body: SampleRequest):
    from genforge.pipelines.sampling import sample

    run = runs_view.get_run(request.app.state.runs_dir, run_id)
    opts = {"label": body.label} if body.label is not None else {}

    def draw() -> tuple[bytes, str]:
        with tempfile.TemporaryDirectory(prefix="genforge-studio-") as folder:
            path = sample(
                run, body.n, out=Path(folder) / "sample", seed=body.seed, temperature=body.temperature, **opts
            )
            media = "image/png" if path.suffix == ".png" else "text/plain; charset=utf-8"
            return path.read_bytes(), media

    data, media = await run_in_threadpool(draw)
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


def _chat_models(request: Request) -> list[str]:
    models = ["rag"] if request.app.state.store_path is not None else []
    for run in list_runs(request.app.state.runs_dir):
        row = runs_view.run_row(run)
        if row.get("family") in ("gpt", "rnn_lm") and row.get("step"):
            models.append(run.id)
    return models


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request):
    return _page(request, "chat.html", title="Chat", models=_chat_models(request))


def _guard(request: Request):
    from genforge.guard import Guard

    state = request.app.state
    if getattr(state, "guard", None) is None:
        state.guard = Guard.load(None)
    return state.guard


def _pipeline(request: Request):
    state = request.app.state
    if state.store_path is None:
        raise ConfigError("the studio was started without --store: no RAG store to chat with")
    with _LOCK:
        if getattr(state, "pipeline", None) is None:
            from genforge.rag.pipeline import RagPipeline
            from genforge.rag.store import Store

            state.pipeline = RagPipeline(Store(state.store_path), guard=_guard(request))
    return state.pipeline


_LOCK = threading.Lock()


def _verdict(result: dict[str, Any]) -> dict[str, Any]:
    """A guard stage as the page's badge shows it: action, and each fired rail with score and latency."""
    rails = [
        {k: r[k] for k in ("rail", "action", "score", "latency_ms", "message")}
        for r in result.get("rails", [])
    ]
    return {"stage": result.get("stage"), "action": result.get("action"), "rails": rails,
            "latency_ms": result.get("latency_ms")}  # fmt: skip


async def _rag_events(request: Request, body: ChatRequest):
    """The input verdict, each piece of the answer as the pipeline releases it, then the output verdict,
    the citations and ``done`` (with the final text when the answer was blocked or withheld)."""
    pipeline = await run_in_threadpool(_pipeline, request)
    async for step in _in_thread(lambda: pipeline.ask_stream(body.message)):
        if step.kind == "guard":
            yield event("guard", _verdict(step.verdict))
        elif step.kind == "text":
            yield event("token", {"text": step.text})
        else:
            answer = step.answer.to_dict()
            if "output" in answer["guard"]:
                yield event("guard", _verdict(answer["guard"]["output"]))
            keys = ("number", "source", "title", "start", "end", "text")
            yield event("citations", {"citations": [{k: c[k] for k in keys} for c in answer["citations"]]})
            done = {
                "blocked": answer["blocked"],
                "grounded": answer["grounded"],
                "timings_ms": answer["timings_ms"],
            }
            yield event("done", {**done, **({"answer": answer["answer"]} if answer["blocked"] else {})})


async def _in_thread(make_iterator):
    """Items of a blocking iterator, produced on a worker thread and yielded here as they come; the
    thread stops at its next item when the page goes away."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in make_iterator():
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
            loop.call_soon_threadsafe(queue.put_nowait, ("end", None))
        except Exception as exc:  # reported to the page as one line, never swallowed
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        await worker


async def _generate_events(request: Request, body: ChatRequest):
    from genforge.pipelines.generation import generate

    run = runs_view.get_run(request.app.state.runs_dir, body.model)
    checked = (await run_in_threadpool(lambda: _guard(request).check_input(body.message))).to_dict()
    yield event("guard", _verdict(checked))
    if checked["action"] == "block":
        yield event("done", {"blocked": True})
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancelled = threading.Event()

    def on_text(piece: str) -> None:
        if cancelled.is_set():
            raise ConfigError("the page closed the chat")
        loop.call_soon_threadsafe(queue.put_nowait, ("token", piece))

    def work() -> None:
        started = time.perf_counter()
        try:
            generate(run, checked["redacted_text"], max_tokens=body.max_tokens, temperature=body.temperature,
                     seed=body.seed, truncate_prompt=True, on_text=on_text)  # fmt: skip
            loop.call_soon_threadsafe(queue.put_nowait, ("done", (time.perf_counter() - started) * 1000))
        except Exception as exc:  # reported to the page as one line, never swallowed
            loop.call_soon_threadsafe(queue.put_nowait, ("error", str(exc)))

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "token":
                yield event("token", {"text": value})
            elif kind == "done":
                yield event("done", {"blocked": False, "timings_ms": {"total": round(value, 1)}})
                break
            else:
                yield event("error", {"message": value})
                break
    finally:
        cancelled.set()
        await worker


@router.post("/api/chat")
async def chat_api(request: Request, body: ChatRequest):
    if body.model != "rag":
        runs_view.get_run(request.app.state.runs_dir, body.model)
    events = _rag_events(request, body) if body.model == "rag" else _generate_events(request, body)

    async def guarded():
        try:
            async for chunk in events:
                yield chunk
        except Exception as exc:  # a failure mid-stream ends the stream with one line for the page
            yield event("error", {"message": str(exc)})

    return StreamingResponse(guarded(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/embeddings", response_class=HTMLResponse)
def embeddings_page(request: Request):
    return _page(request, "embeddings.html", title="Embeddings")


@router.get("/api/neighbours")
async def neighbours_api(request: Request, text: str, k: int = 8):
    if not 1 <= k <= 50:
        raise ConfigError(f"k must be between 1 and 50, got {k}")
    pipeline = await run_in_threadpool(_pipeline, request)
    hits = await run_in_threadpool(lambda: pipeline.store.search(text[:MAX_MESSAGE], k, retriever="dense"))
    rows = [
        {
            "rank": h.rank,
            "score": float(h.score),
            "score_kind": h.score_kind,
            "source": h.source,
            "text": h.text[:500],
        }
        for h in hits
    ]
    return {"text": text[:MAX_MESSAGE], "neighbours": rows}
