"""What a server serves: run directories, the embedding model and a RAG store, loaded once at start-up.

Each entry is a :class:`ServedModel` with its API (``text`` for /v1 chat and completions, ``image`` for
OIP v2, ``embedding`` for /v1/embeddings, ``rag`` for /v1/chat/completions with citations) and the loaded
object the pipelines take. Names: ``<family>-<dataset>`` for runs (``gpt-lee``, ``vae-digits``), unless
given as ``NAME=PATH``; a second run with the same name gets its run id appended. A run that cannot be
loaded stops start-up with one line naming it, or is skipped with a warning under ``skip_broken``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from genforge.core.errors import ConfigError, GenforgeError
from genforge.models.language import LanguageModel
from genforge.pipelines.generation import generate
from genforge.pipelines.inference import image_operations
from genforge.pipelines.loading import LoadedRun, load_run
from genforge.serve.config import ServeConfig

logger = logging.getLogger("genforge.serve")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class ServedModel:
    name: str
    api: str  # "text" | "image" | "embedding" | "rag"
    obj: Any  # LoadedRun, SentenceEmbedding, or the store and guard of rag
    family: str
    source: str
    created: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _default_name(loaded: LoadedRun) -> str:
    spec = str(loaded.config.get("data", {}).get("spec", "data"))
    data = re.sub(r"[^A-Za-z0-9_.-]+", "-", spec.split(":")[-1].split("/")[-1]).strip("-.") or "data"
    return f"{loaded.config['family']}-{data}"


def _split_name(item: str) -> tuple[str | None, str]:
    name, sep, path = item.partition("=")
    if sep and NAME_PATTERN.match(name) and not Path(item).exists():
        return name, path
    return None, item


def _load_run_model(item: str) -> ServedModel:
    name, path = _split_name(item)
    loaded = load_run(path, data=False)
    model = loaded.model
    created = int(Path(loaded.run.path).stat().st_mtime)
    base = dict(family=loaded.config["family"], source=str(loaded.run.path), created=created)
    if isinstance(model, LanguageModel):
        generate(loaded, "", max_tokens=1)  # reads and checks the run's tokenizer now, not on a request
        details = {"context_window": model.max_context, "step": loaded.step}
        return ServedModel(name or _default_name(loaded), "text", loaded, details=details, **base)
    if model.info.kind == "image":
        details = {
            "operations": image_operations(model),
            "shape": list(model.info.shape),
            "step": loaded.step,
        }
        return ServedModel(name or _default_name(loaded), "image", loaded, details=details, **base)
    raise ConfigError(
        f"run {loaded.run.id} is a {loaded.config['family']} model on {model.info.kind} data: genforge serve "
        "serves language models (gpt, lstm-lm, gru-lm) and image models"
    )


def _load_embeddings(name: str) -> ServedModel:
    if name != "minilm":
        raise ConfigError(f"--embeddings must be 'minilm' or 'none', got {name!r}")
    from genforge.embed.sentence import SentenceEmbedding

    embedding = SentenceEmbedding()
    return ServedModel(
        "minilm",
        "embedding",
        embedding,
        "sentence",
        str(embedding.model_path),
        details={"dim": embedding.dim},
    )


def _load_rag(store_path: str) -> ServedModel:
    """The store and guard opened once; each request is one :func:`genforge.rag.api.ask` call on them."""
    from genforge.rag.api import resolve_rails, resolve_store

    store = resolve_store(store_path)
    return ServedModel("rag", "rag", {"store": store, "rails": resolve_rails(None)}, "rag", str(store_path))


def load_catalog(config: ServeConfig) -> dict[str, ServedModel]:
    """Load everything ``config`` names; raises :class:`GenforgeError` naming the first broken entry.

    The entries load on threads at once (safetensors reads and torch's kernels release the GIL, and
    MiniLM's import and load is the longest part of a cold start), then join in the order given."""
    extras: list[Callable[[], ServedModel]] = []
    if config.embeddings and config.embeddings != "none":
        extras.append(partial(_load_embeddings, config.embeddings))
    if config.rag:
        extras.append(partial(_load_rag, config.rag))
    workers = max(1, min(4, len(extras) + len(config.runs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load") as pool:
        pending_extras = [pool.submit(load) for load in extras]  # the slowest first
        pending_runs = [(item, pool.submit(_load_run_model, item)) for item in config.runs]
        models: dict[str, ServedModel] = {}
        for item, future in pending_runs:
            try:
                served = future.result()
            except GenforgeError as exc:
                if not config.skip_broken:
                    raise
                logger.warning("warning: skipping %s: %s", item, exc)
                continue
            if served.name in models:
                served.name = f"{served.name}-{Path(served.source).name}"
            if served.name in models or served.name in ("rag", "minilm"):
                raise ConfigError(f"two models would be called {served.name!r}: name one with NAME=PATH")
            models[served.name] = served
        extras_loaded = [future.result() for future in pending_extras]
    for served in extras_loaded:
        models[served.name] = served
    if not models:
        raise ConfigError("nothing to serve: give run directories, --rag STORE or --embeddings minilm")
    return models
