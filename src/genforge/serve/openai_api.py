"""OpenAI-compatible ``/v1``: models, chat completions, completions (plain and streamed) and embeddings.

The request bodies accept every field of OpenAI's API (unknown ones are ignored, as OpenAI's own server
does for fields it has retired) and check the ones that change the answer. Chat messages become one
prompt: the models served here are plain language models, so the message contents are joined by
newlines and the model continues the text. ``rag`` answers the last user message with
:func:`genforge.ask` and adds ``citations`` and ``guardrails`` to the reply.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from genforge.serve.errors import ApiError
from genforge.serve.state import ServerState
from genforge.serve.streaming import chat_stream, completion_stream, rag_reply

router = APIRouter(prefix="/v1")


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class Sampling(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(1.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(1, ge=1, le=1)
    stream: bool = False
    stream_options: StreamOptions | None = None


class ChatRequest(Sampling):
    messages: list[Message] = Field(min_length=1)


class CompletionRequest(Sampling):
    prompt: str | list[str]


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None


def state_of(request: Request) -> ServerState:
    return request.app.state.serve


async def generation_payload(state: ServerState, served, body: Sampling, prompt: str) -> dict[str, Any]:
    max_tokens = body.max_completion_tokens or body.max_tokens or min(128, state.config.max_tokens)
    if max_tokens > state.config.max_tokens:
        raise ApiError(400, f"max_tokens is {max_tokens} but this server allows at most {state.config.max_tokens}", param="max_tokens")  # fmt: skip
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise ApiError(400, "stop takes up to 4 non-empty strings", param="stop")
    return {
        "loaded": served.obj,
        "model_name": served.name,
        "prompt": prompt,
        "prompt_length": await state.prompt_length(served, prompt),
        "max_tokens": max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p if body.top_p < 1 else None,
        "stop": stop,
        "seed": body.seed if body.seed is not None else state.new_seed(),
    }


def finish_reason(stopped_by: str) -> str:
    return "length" if stopped_by == "max_tokens" else "stop"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


@router.get("/models")
async def list_models(request: Request):
    state = state_of(request)
    data = [
        {
            "id": name,
            "object": "model",
            "created": m.created,
            "owned_by": "genforge",
            "genforge": {"api": m.api, "family": m.family, **m.details},
        }  # fmt: skip
        for name, m in state.models.items()
        if m.api in ("text", "embedding", "rag")
    ]
    return {"object": "list", "data": data}


@router.get("/models/{name}")
async def get_model(name: str, request: Request):
    served = state_of(request).model(name, ("text", "embedding", "rag"))
    return {"id": name, "object": "model", "created": served.created, "owned_by": "genforge"}


@router.post("/chat/completions")
async def chat_completions(body: ChatRequest, request: Request):
    state = state_of(request)
    served = state.model(body.model, ("text", "rag"))
    request.scope["state"]["model"] = served.name
    if served.api == "rag":
        question = next((m.text() for m in reversed(body.messages) if m.role == "user"), "")
        if not question.strip():
            raise ApiError(
                400, "messages has no user message with text for 'rag' to answer", param="messages"
            )
        return await rag_reply(state, request, served, question, body)
    prompt = "\n".join(m.text() for m in body.messages if m.text())
    payload = await generation_payload(state, served, body, prompt)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return chat_stream(state, request, served, payload, completion_id, include_usage)
    result = await state.result(state.submit(served.name, payload))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": served.name,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.completion},
                "logprobs": None,
                "finish_reason": finish_reason(result.stopped_by),
            }
        ],
        "usage": usage(result.prompt_tokens, result.generated_tokens),
    }


@router.post("/completions")
async def completions(body: CompletionRequest, request: Request):
    state = state_of(request)
    served = state.model(body.model, "text")
    request.scope["state"]["model"] = served.name
    if isinstance(body.prompt, list):
        if len(body.prompt) != 1:
            raise ApiError(400, "prompt takes one string here (a list of exactly one)", param="prompt")
        prompt = body.prompt[0]
    else:
        prompt = body.prompt
    payload = await generation_payload(state, served, body, prompt)
    completion_id = f"cmpl-{uuid.uuid4().hex}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return completion_stream(state, request, served, payload, completion_id, include_usage)
    result = await state.result(state.submit(served.name, payload))
    return {
        "id": completion_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": served.name,
        "choices": [
            {
                "index": 0,
                "text": result.completion,
                "logprobs": None,
                "finish_reason": finish_reason(result.stopped_by),
            }
        ],  # fmt: skip
        "usage": usage(result.prompt_tokens, result.generated_tokens),
    }


@router.post("/embeddings")
async def embeddings(body: EmbeddingRequest, request: Request):
    state = state_of(request)
    served = state.model(body.model, "embedding")
    request.scope["state"]["model"] = served.name
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts:
        raise ApiError(400, "input is empty: give a string or a list of strings", param="input")
    if any(not isinstance(t, str) for t in texts):
        raise ApiError(
            400, "input must be strings: token-id input is not supported by this server", param="input"
        )
    if len(texts) > state.config.max_items:
        raise ApiError(
            400, f"input has {len(texts)} items; the limit is {state.config.max_items}", param="input"
        )
    if any(not t for t in texts):
        raise ApiError(400, "input has an empty string", param="input")
    dim = served.details["dim"]
    if body.dimensions is not None and body.dimensions != dim:
        raise ApiError(
            400, f"dimensions must be {dim} for {served.name} (it cannot be shortened)", param="dimensions"
        )
    vectors, tokens = await state.result(
        state.submit(served.name, {"embedding": served.obj, "texts": texts}, "embed")
    )
    if body.encoding_format == "base64":
        data = [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
    else:
        data = [v.astype(float).tolist() for v in vectors]
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(data)],
        "model": served.name,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
