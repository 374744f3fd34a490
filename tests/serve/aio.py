"""Running a coroutine from a test."""

import asyncio
import threading


def run_async(coroutine):
    """``asyncio.run`` on a thread of its own: other tests (Playwright's sync API) may leave an event loop
    running in the main thread, where ``asyncio.run`` refuses to start."""
    out = {}
    thread = threading.Thread(target=lambda: out.update(result=asyncio.run(coroutine)))
    thread.start()
    thread.join()
    if "result" not in out:
        raise AssertionError("the coroutine raised (see the thread's traceback above)")
    return out["result"]
