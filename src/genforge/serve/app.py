"""The FastAPI application: health, metrics, the OpenAI-compatible and OIP v2 routers, and start-up.

Start-up order: the catalog is loaded before the port opens (a broken run stops the server with one
line); once the port is open, every model is warmed with one small call on its own thread, and
``/health/ready`` answers 503 with ``Retry-After`` until that is done. On shutdown uvicorn stops accepting
connections and lets in-flight requests finish before the batchers stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from contextlib import asynccontextmanager
from functools import partial

import torch
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from genforge import __version__
from genforge.pipelines.generation import generate_batch
from genforge.pipelines.inference import image_operation
from genforge.serve import oip, openai_api
from genforge.serve.catalog import ServedModel, load_catalog
from genforge.serve.config import ServeConfig
from genforge.serve.errors import install_handlers
from genforge.serve.keys import KeyStore
from genforge.serve.limits import LimitsMiddleware
from genforge.serve.metrics import render_metrics, server_summary
from genforge.serve.state import ServerState

logger = logging.getLogger("genforge.serve")
CONFIG_ENV = "GENFORGE_SERVE_CONFIG"


def _warm(served: ServedModel) -> None:
    """One small call per model, so the first request pays no lazy initialisation."""
    if served.api == "text":
        (result,) = generate_batch(served.obj, [{"prompt": "a", "max_tokens": 2, "seed": 0}])
        if isinstance(result, Exception):
            raise result
    elif served.api == "image":
        image_operation(served.obj.model, "sample", n=1, seed=0)
    elif served.api == "embedding":
        served.obj.embed_texts(["warm-up"])
    elif served.api == "rag":
        from genforge.rag.api import search  # the RAG stack is imported only by a server with --rag

        search("warm-up", served.obj["store"], k=1)


async def _warm_all(state: ServerState) -> None:
    """Warm every model at once, each on its own batcher's thread."""
    started = time.perf_counter()
    try:
        await asyncio.gather(
            *(state.batchers[name].run_alone(partial(_warm, served)) for name, served in state.models.items())
        )
    except Exception:  # a model that cannot answer keeps the server not-ready, and says why in the log
        logger.exception("warm-up failed; /health/ready stays 503")
        return
    state.ready = True
    logger.info("ready: %s (warm-up %.2f s)", ", ".join(state.models), time.perf_counter() - started)


def create_app(config: ServeConfig, models: dict[str, ServedModel]) -> FastAPI:
    state = ServerState(config, models)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for batcher in state.batchers.values():
            batcher.start()
        warm = asyncio.create_task(_warm_all(state))
        yield
        warm.cancel()
        for batcher in state.batchers.values():
            await batcher.stop()

    app = FastAPI(title="genforge", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.serve = state
    install_handlers(app)
    keys = KeyStore.load(config.api_keys) if config.api_keys else None
    app.add_middleware(
        LimitsMiddleware,
        keys=keys,
        rate=state.rate,
        max_body_bytes=int(config.max_body_mb * 1e6),
        body_timeout_s=config.body_timeout_s,
    )
    app.include_router(openai_api.router)
    app.include_router(oip.router)
    if config.studio and config.studio != "none":
        from genforge.serve.studio.app import create_app as create_studio

        stats = lambda: server_summary(sum(b.depth for b in state.batchers.values()))  # noqa: E731
        app.mount("/studio", create_studio(config.studio, config.rag, server_stats=stats))

    def ready_response():
        if state.ready:
            return JSONResponse({"status": "ready", "models": list(state.models)})
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "1"})

    @app.get("/health/live")
    @app.get("/v2/health/live")
    async def live():
        return {"status": "live"}

    @app.get("/health/ready")
    @app.get("/v2/health/ready")
    async def ready():
        return ready_response()

    @app.get("/metrics")
    async def metrics():
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    @app.get("/")
    async def index(request: Request):
        return {
            "name": "genforge",
            "version": __version__,
            "apis": ["/v1", "/v2", "/health/ready", "/metrics"],
        }

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process when ``--workers`` > 1 (uvicorn imports it by name): the settings
    come from the parent in ``$GENFORGE_SERVE_CONFIG`` and each worker loads its own copy of the models."""
    config = ServeConfig.model_validate_json(os.environ[CONFIG_ENV])
    torch.set_num_threads(config.threads)
    return create_app(config, load_catalog(config))
