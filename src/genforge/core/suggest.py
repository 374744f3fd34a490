""" "Did you mean …?" for names a user types: families, datasets, config keys, commands.

A thin wrapper over the standard library's :func:`difflib.get_close_matches` (Ratcliff/Obershelp
similarity), so every error that rejects a name suggests the closest known one the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(word: str, choices: Iterable[str], limit: int = 1) -> list[str]:
    """Up to ``limit`` of ``choices`` that look like ``word`` (similarity >= 0.6), closest first."""
    return difflib.get_close_matches(word, list(choices), n=limit, cutoff=0.6)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'vae'?"`` when a choice is close to ``word``, else ``""``: the suffix every
    genforge error that rejects a name ends with (as the CLI does for commands and choices)."""
    match = close_matches(word, choices)
    return f"; did you mean '{match[0]}'?" if match else ""
