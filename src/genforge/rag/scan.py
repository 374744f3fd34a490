"""Index-time injection scanning: every new chunk is checked once by the guard policy's injection rails, and
the verdict is kept with the chunk in the catalog, so a question does not check the same chunk again.

Documents can carry instructions aimed at the model that will read them (a hidden "ignore your previous
instructions" in a web page). The context rails of a policy check each retrieved chunk for that; the
injection rails among them (:data:`INJECTION_RAILS`: the cue rails and the learned ``jailbreak_model``)
depend only on the chunk's text, so their verdict can be computed once, when the chunk is indexed:

- :class:`ChunkScanner` runs those rails on chunk texts and names their settings by a fingerprint (rail
  configs plus the learned model's weights hash). A verdict is reused for a chunk whose text hash already
  has a verdict under the same fingerprint (as vectors are reused), and chunks scanned under another
  fingerprint (or none: a store indexed with ``scan=False`` or migrated from layout 2) are scanned again by
  the next ``rag index``.
- :class:`ContextGate` is what a question uses: a retrieved chunk whose stored verdict was made under the
  fingerprint of the asking policy's injection rails and does not block is checked only by the policy's
  other context rails; a chunk without a usable stored verdict, or whose stored verdict blocks, goes
  through all context rails, as before (so a dropped chunk's report is exactly a fresh check's).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import genforge
from genforge.guard import Guard

INJECTION_RAILS = ("prompt_injection", "jailbreak", "jailbreak_model")
REASON_CHARS = 300  # a stored reason is short: the rails' messages, cut


def _with_context(guard: Guard, keep) -> Guard:
    """A shallow copy of ``guard`` whose context stage holds only the rails ``keep`` accepts."""
    gate = copy.copy(guard)
    gate.rails = {**guard.rails, "context": [r for r in guard.rails["context"] if keep(r.name)]}
    return gate


def policy_fingerprint(guard: Guard) -> str:
    """SHA-256 (16 hex digits) of genforge's version (the rails' code), the context injection rails' settings
    and the learned model's weights."""
    parts: list[object] = [genforge.__version__]
    for rail in guard.rails["context"]:
        model = getattr(rail, "model", None)
        weights = model.meta.get("weights_sha256") if model is not None else None
        parts.append({"rail": rail.name, "config": rail.config.model_dump(mode="json"), "weights": weights})
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()[:16]


class ChunkScanner:
    """Runs the context injection rails of ``guard`` on chunk texts (see the module docstring)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = _with_context(guard, lambda name: name in INJECTION_RAILS)
        self.fingerprint = policy_fingerprint(self.guard)

    @property
    def active(self) -> bool:
        """The policy has injection rails at the context stage (else there is nothing to scan with)."""
        return bool(self.guard.rails["context"])

    def scan(self, text: str) -> dict[str, Any]:
        """The stored form of one verdict: ``flagged`` (some rail fired), ``policy`` fingerprint, combined
        ``action``, highest rail ``score``, the ``rails`` that fired (as in a guard report, without spans)
        and a short ``reason``."""
        checked = self.guard.check(text, "context")
        reason = "; ".join(v.message or v.rail for v in checked.fired)
        return {
            "flagged": bool(checked.fired),
            "policy": self.fingerprint,
            "action": checked.action,
            "score": round(max((v.score for v in checked.verdicts), default=0.0), 4),
            "rails": [_stored_rail(v.to_dict(include_spans=False)) for v in checked.fired],
            "reason": reason[:REASON_CHARS],
        }


def _stored_rail(verdict: dict[str, Any]) -> dict[str, Any]:
    """A fired rail as stored: no latency, so the same text gives the same stored verdict."""
    return {k: v for k, v in verdict.items() if k != "latency_ms"}


def is_flagged(verdict: dict[str, Any]) -> bool:
    """Some injection rail fired on the chunk (whatever action the policy attached to it)."""
    return bool(verdict["flagged"])


class ContextGate:
    """The context stage of ``guard`` for retrieved chunks, reusing verdicts stored at index time."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.scanner = ChunkScanner(guard)
        self.rest = _with_context(guard, lambda name: name not in INJECTION_RAILS)

    @property
    def active(self) -> bool:
        return bool(self.guard.rails["context"])

    def check(self, text: str, stored: dict[str, Any] | None) -> tuple[bool, dict[str, Any]]:
        """``(blocked, report)`` for one chunk; ``stored`` is its index-time verdict (None: not scanned)."""
        if stored is None or stored.get("policy") != self.scanner.fingerprint or stored["action"] == "block":
            # no usable verdict, or a blocking one: the whole context check, so the report of a dropped chunk
            # is the one a fresh check gives (every rail's check, spans, redactions); blocked chunks are rare,
            # the saving is in the chunks that pass
            checked = self.guard.check(text, "context")
            return checked.blocked, checked.to_dict()
        if not self.rest.rails["context"]:
            return False, {}
        checked = self.rest.check(text, "context")
        return checked.blocked, checked.to_dict()
