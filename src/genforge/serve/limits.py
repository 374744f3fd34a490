"""Keys, per-key rate limits, body size and request metrics, as one ASGI middleware in front of the app.

It runs before FastAPI parses anything: a body over the limit is refused from its ``Content-Length``
(413) before a byte of it is read, a body without one (chunked) is cut off as soon as it passes the
limit, and a body still incomplete after ``body_timeout_s`` is answered 408 (a slow client cannot hold
a connection and a request slot open). The presented key is checked with :meth:`KeyStore.verify` and never logged or echoed; the name of
the key (not the key) is what the rate limit and the stream limit count by.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time

from genforge.serve.errors import error_body
from genforge.serve.keys import KeyStore
from genforge.serve.metrics import LATENCY, OPEN_STREAMS, REQUESTS

OPEN_PREFIXES = ("/health/", "/v2/health/", "/metrics")


class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, bursts up to ``max(1, rate)``."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.burst = max(1.0, rate or 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, who: str) -> float:
        """0 when ``who`` may go on, else the seconds until one more request is allowed."""
        if self.rate is None:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate


class StreamSlots:
    """How many streams each key has open, with a cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def take(self, who: str) -> bool:
        if self.open.get(who, 0) >= self.limit:
            return False
        self.open[who] = self.open.get(who, 0) + 1
        OPEN_STREAMS.inc()
        return True

    def give(self, who: str) -> None:
        self.open[who] -= 1
        OPEN_STREAMS.dec()
        if not self.open[who]:
            del self.open[who]


async def _send_error(
    send, path: str, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(path, status, message)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class LimitsMiddleware:
    def __init__(
        self,
        app,
        *,
        keys: KeyStore | None,
        rate: float | None,
        max_body_bytes: int,
        body_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.keys = keys
        self.limiter = RateLimiter(rate)
        self.max_body = max_body_bytes
        self.body_timeout = body_timeout_s

    def _who(self, scope) -> tuple[str | None, str | None]:
        """(key name or client address, error message)."""
        if self.keys is None:
            client = scope.get("client") or ("local", 0)
            return str(client[0]), None
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        if not header:
            return None, "missing API key: send the header 'Authorization: Bearer KEY'"
        scheme, _, token = header.partition(" ")
        name = self.keys.verify(token.strip()) if scheme.lower() == "bearer" else None
        return (name, None) if name else (None, "invalid API key (the key was not recognised)")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        started = time.perf_counter()
        status_seen = {"status": 500}

        async def send_counted(message):
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_counted, path)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unrouted"
            model = scope.get("state", {}).get("model", "")
            REQUESTS.labels(route, model, str(status_seen["status"])).inc()
            LATENCY.labels(route, model).observe(time.perf_counter() - started)

    async def _handle(self, scope, receive, send, path: str):
        open_route = path.startswith(OPEN_PREFIXES) or path in ("/v2", "/v2/", "/")
        scope.setdefault("state", {})
        if scope["method"] == "POST" and path.startswith(("/v1/", "/v2/")):  # JSON only: `curl -d` says form
            headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-type"]
            scope["headers"] = [*headers, (b"content-type", b"application/json")]
        if not open_route:
            who, problem = self._who(scope)
            if problem:
                return await _send_error(send, path, 401, problem, {"WWW-Authenticate": "Bearer"})
            wait = self.limiter.acquire(who)
            if wait > 0:
                message = f"rate limit of {self.limiter.rate:g} requests/s for this key reached: retry later"
                return await _send_error(
                    send, path, 429, message, {"Retry-After": str(max(1, math.ceil(wait)))}
                )
            scope["state"]["who"] = who
        length = dict(scope.get("headers") or []).get(b"content-length")
        limit_text = f"request body exceeds the limit of {self.max_body / 1e6:g} MB (--max-body-mb)"
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _send_error(send, path, 413, limit_text)
        received = 0
        started = rejected = body_done = False
        deadline = time.monotonic() + self.body_timeout

        async def limited_receive():
            nonlocal received, rejected, body_done
            if body_done:  # after the body, receive() only waits for the client to leave: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:  # a slow (or stalled) body holds a connection: answer and let it go
                rejected = True
                if not started:
                    slow = (
                        f"the request body did not arrive within {self.body_timeout:g} s (--body-timeout-s)"
                    )
                    await _send_error(send, path, 408, slow)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_body and not rejected:
                    rejected = True  # answer now; the app sees the client leave and stops reading
                    if not started:
                        await _send_error(send, path, 413, limit_text)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not rejected:
                raise
