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


def _stream(
    state: ServerState, request: Request, served, payload: dict[str, Any], chunk, include_usage: bool
):
    who = request.scope["state"].get("who", "local")
    if not state.streams.take(who):
        raise ApiError(429, f"this key already has {state.config.max_streams} streams open (the limit)", headers={"Retry-After": "1"})  # fmt: skip
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    payload = {**payload, "on_text": lambda piece: loop.call_soon_threadsafe(pieces.put_nowait, piece)}
    try:
        job = state.submit(served.name, payload)
    except Exception:  # refused (queue full, prompt too long): the slot goes back
        state.streams.give(who)
        raise
    job.future.add_done_callback(lambda _: pieces.put_nowait(_END))

    async def events():
        started = time.perf_counter()
        try:
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
                yield _event({"error": {"message": str(result), "type": "invalid_request_error", "param": None, "code": None}})  # fmt: skip
                return
            reason = "length" if result.stopped_by == "max_tokens" else "stop"
            yield _event(chunk({}, reason))
            if include_usage:
                tokens = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.generated_tokens}
                tokens["total_tokens"] = sum(tokens.values())
                yield _event(chunk(None, None, tokens))
            yield "data: [DONE]\n\n"
        except TimeoutError:
            yield _event({"error": {"message": f"the stream passed the {state.config.timeout_s:g} s timeout", "type": "timeout_error", "param": None, "code": None}})  # fmt: skip
        finally:
            job.cancelled.set()
            state.streams.give(who)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


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


async def rag_reply(state: ServerState, request: Request, served, question: str, body) -> Any:
    """Answer with :func:`genforge.ask`; blocked input is a 400 naming the rail."""
    answer = await state.result(state.submit(served.name, {"rag": served.obj, "question": question}))
    _count_verdicts(answer.guard)
    if answer.blocked and "input" in answer.guard:
        fired = answer.guard["input"].get("rails", [])
        rails = ", ".join(r["rail"] for r in fired) or "input"
        reasons = "; ".join(r.get("message") or r["rail"] for r in fired)
        raise ApiError(
            400,
            f"the input was blocked by the guardrail {rails}: {reasons}",
            param="messages",
            code="guardrail_blocked",
        )
    citations = [
        {
            "number": c.number,
            "chunk_id": c.chunk_id,
            "source": c.source,
            "title": c.title,
            "start": c.start,
            "end": c.end,
            "text": c.text,
        }  # fmt: skip
        for c in answer.citations
    ]
    reason = "content_filter" if answer.blocked else "stop"
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    extra = {"citations": citations, "guardrails": answer.guard}
    common = {
        "id": completion_id,
        "created": int(time.time()),
        "model": served.name,
        "system_fingerprint": None,
    }
    if not body.stream:
        message = {"role": "assistant", "content": answer.answer}
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
        return {"object": "chat.completion", **common, "choices": [choice], "usage": None, **extra}

    async def events():
        delta = {"role": "assistant", "content": answer.answer}
        yield _event({"object": "chat.completion.chunk", **common, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]})  # fmt: skip
        yield _event({"object": "chat.completion.chunk", **common, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}], **extra})  # fmt: skip
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
