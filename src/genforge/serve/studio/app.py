"""The studio's FastAPI application: pages for runs, a run, a comparison, and the try-it pages.

``create_app(runs_dir, store=None)`` is stable: ``genforge studio`` serves it and ``genforge serve``
mounts it (every link is built from the request's ``root_path``, so it works at ``/`` and ``/studio``).
Every page is autoescaped HTML; data travels to the script as JSON from ``/api`` routes or in data
attributes, never as inline script, and a Content-Security-Policy forbids anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt

from genforge.core.errors import GenforgeError, RunNotFound
from genforge.core.runs import list_runs
from genforge.pipelines.runs import next_step
from genforge.serve.studio import runs_view
from genforge.serve.studio.stream import MAX_POINTS, CurveCache, check_points, curve_events
from genforge.serve.studio.try_routes import router as try_router

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(
    runs_dir: str | Path,
    store: str | Path | None = None,
    *,
    server_stats: Callable[[], Mapping[str, float | int | str]] | None = None,
) -> FastAPI:
    """The studio for the runs under ``runs_dir`` (which may not exist yet: an empty state is shown)
    and, when ``store`` names a RAG store, its Chat and Embeddings pages. ``server_stats`` (given by
    ``genforge serve`` when it mounts the studio) feeds the Server page: figure name -> value, e.g.
    ``{"requests_per_s": 12.5, "latency_p95_ms": 31.0, "queue_depth": 0, "batch_size_mean": 4.2}``."""
    app = FastAPI(title="genforge studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runs_dir = Path(runs_dir)
    app.state.store_path = Path(store) if store is not None else None
    app.state.server_stats = server_stats
    app.state.curves = CurveCache()
    app.state.templates = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True)
    )
    app.state.markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(try_router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.exception_handler(GenforgeError)
    async def genforge_error(request: Request, exc: GenforgeError):
        status = 404 if isinstance(exc, RunNotFound) else 400
        if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/"):
            return JSONResponse({"error": {"message": str(exc), "type": type(exc).__name__}}, status)
        return render(request, "error.html", status=status, message=str(exc), title="Error")

    @app.get("/", response_class=HTMLResponse)
    def runs_page(request: Request, sort: str = "id", order: str = "asc", page: int = 1, per_page: int = 50):
        root = request.app.state.runs_dir
        rows, total, pages = runs_view.list_page(root, sort, order == "desc", page, per_page)
        return render(
            request, "runs.html", title="Runs", rows=rows, total=total, pages=pages, page=min(max(page, 1), pages),
            sort=sort, order=order, per_page=per_page, sort_keys=runs_view.SORT_KEYS, root=str(root),
            root_exists=root.is_dir(),
        )  # fmt: skip

    @app.get("/api/runs")
    def runs_api(request: Request, sort: str = "id", order: str = "asc", page: int = 1, per_page: int = 50):
        rows, total, pages = runs_view.list_page(
            request.app.state.runs_dir, sort, order == "desc", page, per_page
        )
        return {"runs": rows, "total": total, "pages": pages, "page": page, "sort": sort, "order": order}

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str):
        run = runs_view.get_run(request.app.state.runs_dir, run_id)
        row = runs_view.run_row(run)
        config = run.read_config() if "error" not in row else None
        card = run.model_card_path.read_text("utf-8", "replace") if run.model_card_path.is_file() else ""
        return render(
            request, "run.html", title=run.id, run=row, config_json=json.dumps(config, indent=2),
            card_html=request.app.state.markdown.render(card[:200_000]), samples=runs_view.sample_steps(run),
            next_command=next_step(run, config) if config else "", kind=(config or {}).get("data_info", {}).get("kind"),
        )  # fmt: skip

    @app.get("/api/runs/{run_id}/curve")
    async def curve_stream(request: Request, run_id: str, metric: str = "loss", points: int = MAX_POINTS):
        run = runs_view.get_run(request.app.state.runs_dir, run_id)
        check_points(points)
        state = request.app.state.curves.state(run, metric[:200])
        return StreamingResponse(
            curve_events(state, run, request.is_disconnected, max_points=points),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/runs/{run_id}/curve.json")
    def curve_json(request: Request, run_id: str, metric: str = "loss", points: int = MAX_POINTS):
        run = runs_view.get_run(request.app.state.runs_dir, run_id)
        check_points(points)
        state = request.app.state.curves.state(run, metric[:200])
        state.update()
        return {"run": run.id, **state.snapshot(points)}

    @app.get("/api/runs/{run_id}/curve.csv")
    def curve_csv(request: Request, run_id: str, metric: str = "loss"):
        run = runs_view.get_run(request.app.state.runs_dir, run_id)
        state = request.app.state.curves.state(run, metric[:200])
        state.update()
        name = f"{run.id}-{''.join(c if c.isalnum() or c in '-_' else '_' for c in metric[:80])}.csv"
        return Response(
            state.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @app.get("/runs/{run_id}/samples/{name}")
    def sample_image(request: Request, run_id: str, name: str):
        run = runs_view.get_run(request.app.state.runs_dir, run_id)
        path = runs_view.sample_file(run, name)
        media = "image/png" if name.endswith(".png") else "text/plain; charset=utf-8"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-cache"})

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request, a: str = "", b: str = ""):
        root = request.app.state.runs_dir
        ids = [run.id for run in list_runs(root)]
        runs = [runs_view.get_run(root, ref) for ref in (a, b) if ref]
        rows = [runs_view.run_row(run) for run in runs]
        diff = config_diff(*[run.read_config() for run in runs]) if len(runs) == 2 else []
        return render(request, "compare.html", title="Compare", ids=ids, a=a, b=b, rows=rows, diff=diff)

    @app.get("/server", response_class=HTMLResponse)
    def server_page(request: Request):
        _server_stats(request)
        return render(request, "server.html", title="Server")

    @app.get("/api/server")
    def server_api(request: Request):
        return {"server": dict(_server_stats(request)())}

    return app


def _server_stats(request: Request) -> Callable[[], Mapping[str, Any]]:
    stats = request.app.state.server_stats
    if stats is None:
        raise RunNotFound(
            "the studio runs on its own: the Server page is there when 'genforge serve' mounts it"
        )
    return stats


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, value in a, value in b)`` for every leaf where two configs differ."""
    out = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        name = f"{prefix}{key}"
        if isinstance(left, dict) and isinstance(right, dict):
            out += config_diff(left, right, f"{name}.")
        elif left != right:
            out.append((name, json.dumps(left), json.dumps(right)))
    return out


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    state = request.app.state
    html = state.templates.get_template(template).render(
        base=request.scope.get("root_path", ""),
        has_store=state.store_path is not None,
        has_server=state.server_stats is not None,
        **context,
    )
    return HTMLResponse(html, status_code=status)
