"""The one-call Python API of retrieval-augmented answers: :func:`search` and :func:`ask`.

The CLI (``genforge rag search|ask``) and the HTTP server call these two functions; a Python user does too::

    import genforge
    hits = genforge.search("how do I resume training?")                  # the default docs store
    answer = genforge.ask("how do I resume training?", store="my-store",
                          retrieval=genforge.RetrievalConfig(retriever="dense", k=3))
    print(answer.answer, answer.status)
    for event in genforge.ask("how do I resume training?", stream=True):   # released as it goes
        print(event.text, end="", flush=True)                              # event.answer: the last one

``store`` is a :class:`~genforge.rag.store.Store`, a store folder, or ``None`` for the default store
(built from genforge's docs the first time, see :mod:`genforge.rag.corpus`). ``rails`` is a
:class:`~genforge.guard.Guard`, a policy YAML path, ``None`` for the shipped policy or ``False`` for none.
``llm`` is a :class:`~genforge.rag.generate.ChatClient` (any OpenAI-compatible server) or ``None`` for the
offline extractive answerer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from genforge.guard import Guard
from genforge.rag.config import RetrievalConfig
from genforge.rag.corpus import open_store
from genforge.rag.generate import ChatClient
from genforge.rag.pipeline import Answer, AnswerEvent, RagPipeline
from genforge.rag.records import SearchHit
from genforge.rag.store import Store

StoreLike = Store | str | os.PathLike | None


def resolve_store(store: StoreLike, *, on_build: Callable[[str], None] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Store:  # fmt: skip
    """A :class:`Store` from a store, a folder or ``None`` (the default store)."""
    if isinstance(store, Store):
        return store
    return open_store(store, on_build=on_build, progress=progress)


def resolve_rails(rails: Guard | str | os.PathLike | bool | None) -> Guard | bool:
    """A :class:`Guard` (or ``False``) from a guard, a policy path, ``None``/``True`` (shipped) or ``False``."""
    if rails is False or isinstance(rails, Guard):
        return rails
    return Guard.load(None if rails in (None, True) else rails)


def search(query: str, store: StoreLike = None, retrieval: RetrievalConfig | None = None,
           **settings: Any) -> list[SearchHit]:  # fmt: skip
    """The best chunks for ``query``; keyword ``settings`` override fields of ``retrieval``."""
    return resolve_store(store).search(query, retrieval=retrieval, **settings)


def ask(question: str, store: StoreLike = None, rails: Guard | str | os.PathLike | bool | None = None,
        llm: ChatClient | None = None, retrieval: RetrievalConfig | None = None,
        stream: bool = False) -> Answer | Iterator[AnswerEvent]:  # fmt: skip
    """Answer ``question`` from ``store`` with numbered citations, guarded by ``rails``. With ``stream``,
    an iterator of :class:`AnswerEvent`: the input verdict, the answer's pieces as they are released,
    then the whole :class:`Answer` (see :meth:`RagPipeline.ask_stream`)."""
    pipeline = RagPipeline(resolve_store(store), guard=resolve_rails(rails), llm=llm, retrieval=retrieval)
    return pipeline.ask_stream(question) if stream else pipeline.ask(question)
