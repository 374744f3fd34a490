"""Ctrl-C and SIGTERM during training: finish the step, then stop and checkpoint.

Inside :class:`StopSignals`, SIGINT and SIGTERM only set :attr:`StopSignals.received`; the trainer looks at
it between steps, so the checkpoint it writes holds a completed step (weights, optimizer, EMA and the
RNG state all after the same step) and a resumed run ends exactly where an uninterrupted one does. A
second Ctrl-C raises ``KeyboardInterrupt`` at once, for a user who will not wait; the trainer then keeps
the last checkpoint on disk rather than save a half-done step.

Handlers can only be installed from the main thread; elsewhere, and for a signal the process ignores
(``SIG_IGN``, e.g. a background job of a non-interactive shell), nothing is changed.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager: ``with StopSignals() as stop: ... if stop.received: break``."""

    def __init__(self) -> None:
        self.received: str | None = None  # "SIGINT" or "SIGTERM" once one arrived
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in HANDLED:
            previous = signal.getsignal(sig)
            if previous is signal.SIG_IGN:
                continue
            self._previous[sig] = previous
            signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without saving the half-done step
        self.received = signal.Signals(signum).name
