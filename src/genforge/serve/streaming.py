"""Server-sent events for streamed completions, and the ``rag`` reply.

A streamed request takes one of its key's stream slots, queues its generation on the model's batcher
and relays the text as ``chat.completion.chunk`` (or ``text_completion``) events, one per piece, or
one for all the pieces that arrived while the previous event was being sent (so a slow client costs
fewer, larger events rather than a backlog); the last
content event carries ``finish_reason``, a usage event with ``choices: []`` follows when
``stream_options.include_usage`` asked for it, then ``data: [DONE]``. When the client disconnects,
Starlette cancels the response; the job's ``cancelled`` event then stops generation at the next token
and the slot is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from genforge.serve.errors import ApiError
from genforge.serve.metrics import GUARDRAILS
from genforge.serve.state import ServerState

_END = object()


def _event(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def _error_event(message: str, kind: str = "invalid_request_error") -> str:
    return _event({"error": {"message": message, "type": kind, "param": None, "code": None}})


def _take_slot(state: ServerState, request: Request) -> str:
    """The caller's key, once one of its stream slots is taken (429 when none is free)."""
    who = request.scope["state"].get("who", "local")
    if not state.streams.take(who):
        raise ApiError(429, f"this key already has {state.config.max_streams} streams open (the limit)", headers={"Retry-After": "1"})  # fmt: skip
    return who


def _submit(state: ServerState, who: str, name: str, payload: dict[str, Any]):
    """The generation queued on the model's batcher; a refused job (queue full, prompt too long) gives the
    slot back."""
    try:
        return state.submit(name, payload)
    except Exception:
        state.streams.give(who)
        raise


async def _guarded(state: ServerState, job, who: str, events):
    """``events`` relayed as they come; passing the request timeout ends the stream with a
    ``timeout_error`` event, and however the stream ends (done, timed out, failed, or the client gone)
    the job is told to stop and the key's stream slot goes back."""
    try:
        async with contextlib.aclosing(events) as inner:
            async for item in inner:
                yield item
    except TimeoutError:
        yield _error_event(f"the stream passed the {state.config.timeout_s:g} s timeout", "timeout_error")
    finally:
        _release(state, job, who)


def _release(state: ServerState, job, who: str) -> None:
    """The end of a stream, however it ended: its generation stops at the next token, its slot goes back."""
    job.cancelled.set()
    state.streams.give(who)


def _response(events) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _stream(
    state: ServerState, request: Request, served, payload: dict[str, Any], chunk, include_usage: bool
):
    who = _take_slot(state, request)
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    payload = {**payload, "on_text": lambda piece: loop.call_soon_threadsafe(pieces.put_nowait, piece)}
    job = _submit(state, who, served.name, payload)
    job.future.add_done_callback(lambda _: pieces.put_nowait(_END))

    async def events():
        started = time.perf_counter()
        yield _event(chunk({"role": "assistant", "content": ""}, None))
        deadline = started + state.config.timeout_s
        done = False
        while not done:
            if pieces.empty():
                left = max(0.001, deadline - time.perf_counter())
                text = [await asyncio.wait_for(pieces.get(), left)]
            else:
                text = [pieces.get_nowait()]
            while not pieces.empty():  # pieces that arrived while the last chunk was sent go as one
                text.append(pieces.get_nowait())
            done = text[-1] is _END  # put last, once generation is over
            if done:
                text.pop()
            if text:
                yield _event(chunk({"content": "".join(text)}, None))
        result = job.future.result()
        if isinstance(result, Exception):
            yield _error_event(str(result))
            return
        reason = "length" if result.stopped_by == "max_tokens" else "stop"
        yield _event(chunk({}, reason))
        if include_usage:
            tokens = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.generated_tokens}
            tokens["total_tokens"] = sum(tokens.values())
            yield _event(chunk(None, None, tokens))
        yield "data: [DONE]\n\n"

    return _response(_guarded(state, job, who, events()))


async def _rag_head(state: ServerState, job, queue: asyncio.Queue) -> list[Any]:
    """Waits for the stream's first event: a blocked input raises the 400 (before any byte is sent), a
    failed job its error; returns the events to send first (a first piece of text, when no input rails
    ran)."""
    try:
        first = await asyncio.wait_for(queue.get(), state.config.timeout_s)
    except TimeoutError:
        raise ApiError(
            408, f"the request took longer than the {state.config.timeout_s:g} s timeout"
        ) from None
    if (
        first is _END
        or first.kind == "answer"
        or (first.kind == "guard" and first.verdict["action"] == "block")
    ):
        answer = await state.result(job)  # raises the job's error, if it failed
        if answer.blocked and "input" in answer.guard:
            _count_verdicts(answer.guard)
            raise _input_blocked(answer)
        return [_END] if first is _END else [first]
    return [] if first.kind == "guard" else [first]


def chat_stream(state, request, served, payload, completion_id: str, include_usage: bool):
    created = int(time.time())

    def chunk(delta, reason, tokens=None):
        out = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": served.name, "system_fingerprint": None}  # fmt: skip
        out["choices"] = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]  # fmt: skip
        if include_usage:
            out["usage"] = tokens
        return out

    return _stream(state, request, served, payload, chunk, include_usage)


def completion_stream(state, request, served, payload, completion_id: str, include_usage: bool):
    created = int(time.time())

    def chunk(delta, reason, tokens=None):
        out = {"id": completion_id, "object": "text_completion", "created": created, "model": served.name}
        text = "" if delta is None else delta.get("content", "")
        out["choices"] = [] if delta is None else [{"index": 0, "text": text, "logprobs": None, "finish_reason": reason}]  # fmt: skip
        if include_usage:
            out["usage"] = tokens
        return out

    return _stream(state, request, served, payload, chunk, include_usage)


def _count_verdicts(guard: dict[str, Any]) -> None:
    for stage, report in guard.items():
        for check in report.get("checks", []) if isinstance(report, dict) else []:
            GUARDRAILS.labels(stage, check.get("rail", "?"), check.get("action", "allow")).inc()


def _input_blocked(answer) -> ApiError:
    fired = answer.guard["input"].get("rails", [])
    rails = ", ".join(r["rail"] for r in fired) or "input"
    reasons = "; ".join(r.get("message") or r["rail"] for r in fired)
    return ApiError(400, f"the input was blocked by the guardrail {rails}: {reasons}", param="messages",
                    code="guardrail_blocked")  # fmt: skip


def _rag_extra(answer) -> dict[str, Any]:
    """The fields a ``rag`` reply adds: numbered citations and every stage's guardrail verdicts."""
    keys = ("number", "chunk_id", "source", "title", "start", "end", "text")
    citations = [{key: getattr(c, key) for key in keys} for c in answer.citations]
    return {"citations": citations, "guardrails": answer.guard}


async def rag_reply(state: ServerState, request: Request, served, question: str, body) -> Any:
    """Answer with :func:`genforge.ask`; blocked input is a 400 naming the rail. Streamed, the answer
    goes out piece by piece as ``ask(..., stream=True)`` releases it (:func:`_rag_stream`)."""
    if body.stream:
        return await _rag_stream(state, request, served, question)
    answer = await state.result(state.submit(served.name, {"rag": served.obj, "question": question}))
    _count_verdicts(answer.guard)
    if answer.blocked and "input" in answer.guard:
        raise _input_blocked(answer)
    message = {"role": "assistant", "content": answer.answer}
    choice = {"index": 0, "message": message, "logprobs": None,
              "finish_reason": "content_filter" if answer.blocked else "stop"}  # fmt: skip
    return {"object": "chat.completion", "id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()),
            "model": served.name, "system_fingerprint": None, "choices": [choice], "usage": None,
            **_rag_extra(answer)}  # fmt: skip


async def _rag_stream(state: ServerState, request: Request, served, question: str):
    """The input verdict is awaited first, so a blocked question is the same 400 as unstreamed; then one
    ``chat.completion.chunk`` per released piece (pieces that queued while one was sent go together), and
    a last chunk with ``finish_reason``, ``citations`` and ``guardrails``. When the whole-answer rails
    withhold the answer, that chunk's ``finish_reason`` is ``content_filter`` and its ``answer`` field
    holds the withheld message, to show instead of the text streamed so far."""
    who = _take_slot(state, request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    payload = {"rag": served.obj, "question": question,
               "on_event": lambda e: loop.call_soon_threadsafe(queue.put_nowait, e)}  # fmt: skip
    job = _submit(state, who, served.name, payload)
    job.future.add_done_callback(lambda _: queue.put_nowait(_END))
    try:
        head = await _rag_head(state, job, queue)
    except BaseException:
        _release(state, job, who)
        raise
    common = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
              "created": int(time.time()), "model": served.name, "system_fingerprint": None}  # fmt: skip

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> str:
        return _event({**common, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}], **extra})  # fmt: skip

    async def events():
        deadline = time.perf_counter() + state.config.timeout_s
        yield chunk({"role": "assistant", "content": ""})
        done = False
        while not done:
            got = list(head) or [
                await asyncio.wait_for(queue.get(), max(0.001, deadline - time.perf_counter()))
            ]
            head.clear()
            while not queue.empty():
                got.append(queue.get_nowait())
            done = _END in got
            text = "".join(e.text for e in got if e is not _END and e.kind == "text")
            if text:
                yield chunk({"content": text})
        answer = job.future.result()
        if isinstance(answer, Exception):
            yield _error_event(str(answer))
            return
        _count_verdicts(answer.guard)
        extra = {**_rag_extra(answer), **({"answer": answer.answer} if answer.blocked else {})}
        yield chunk({}, "content_filter" if answer.blocked else "stop", **extra)
        yield "data: [DONE]\n\n"

    return _response(_guarded(state, job, who, events()))
