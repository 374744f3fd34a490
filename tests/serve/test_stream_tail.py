"""The one tail every streamed reply (chat, completions, rag) shares: a stream that passes the request
timeout ends with a ``timeout_error`` event, and however it ends its generation is told to stop and the
key's stream slot goes back."""

from __future__ import annotations

import asyncio
import json

from genforge.serve.batcher import Job
from genforge.serve.config import ServeConfig
from genforge.serve.state import ServerState
from genforge.serve.streaming import _guarded
from tests.serve.aio import run_async


def start(timeout_s: float = 0.05):
    state = ServerState(ServeConfig(max_streams=1, timeout_s=timeout_s), {})
    assert state.streams.take("alice")
    return state, Job(payload={}, key="m", future=None)


async def stuck(state):
    """A stream whose generation never sends its next piece."""
    yield "data: first\n\n"
    await asyncio.wait_for(asyncio.Event().wait(), state.config.timeout_s)
    yield "data: never\n\n"


def test_a_stream_past_its_timeout_ends_with_a_timeout_error_and_gives_its_slot_back():
    state, job = start()

    async def collect():
        return [item async for item in _guarded(state, job, "alice", stuck(state))]

    events = run_async(collect())
    assert events[0] == "data: first\n\n" and len(events) == 2
    error = json.loads(events[1].removeprefix("data: "))["error"]
    assert error["type"] == "timeout_error" and "0.05 s timeout" in error["message"]
    assert job.cancelled.is_set() and state.streams.open == {}


def test_a_client_gone_mid_stream_stops_the_generation_and_gives_its_slot_back():
    state, job = start(timeout_s=30)
    closed = []

    async def endless():
        try:
            while True:
                yield "data: piece\n\n"
                await asyncio.sleep(0)
        finally:
            closed.append(True)

    async def leave_after_two():
        stream = _guarded(state, job, "alice", endless())
        got = [await anext(stream), await anext(stream)]
        assert not job.cancelled.is_set() and state.streams.open == {"alice": 1}
        await stream.aclose()  # what Starlette does when the client disconnects
        return got

    assert run_async(leave_after_two()) == ["data: piece\n\n"] * 2
    assert closed == [True] and job.cancelled.is_set() and state.streams.open == {}
