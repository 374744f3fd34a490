"""``genforge serve --backend ray``: the same FastAPI app as a Ray Serve deployment (extra ``genforge[ray]``).

Nothing here answers a request. Each Ray Serve replica builds the very app ``genforge serve`` runs on
uvicorn (:func:`genforge.serve.app.app_from_environment`: same routes, keys, limits, batchers and
metrics) from the settings passed in its environment, and Ray Serve's HTTP proxy forwards requests to
it through ``@serve.ingress``. What this module adds is the deployment around it:

- the settings are checked and the models loaded once in this process first, so a damaged run, a port
  in use or a non-loopback bind without keys is one line before Ray starts (10-20 s on 2 cores);
- a local Ray instance (``address="local"``, no dashboard, 127.0.0.1) with
  ``max_replicas * replica_cpus`` CPUs, so every replica autoscaling may start can be placed;
- one deployment with an autoscaling config (``min_replicas`` .. ``max_replicas``; a replica takes up to
  ``max_batch`` requests in flight before Ray adds another, and up to ``max_queue`` at all, beyond which
  the app's own queue answers 503);
- Prometheus in multiprocess mode over a temporary folder shared by the replicas (same machine), so
  ``/metrics`` sums over replicas as it sums over ``--workers``;
- SIGINT/SIGTERM shut Serve down (replicas finish in-flight requests, up to 30 s) and then Ray.

Ray is imported only here, only when asked for.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from genforge.core.errors import GenforgeError, MissingDependency
from genforge.serve.config import ServeConfig, check_bind

GRACEFUL_SHUTDOWN_S = 30
START_TIMEOUT_S = 600
INSTALL = "--backend ray needs Ray Serve: pip install 'genforge[ray]'"
LOGS = "/tmp/ray/session_latest/logs/serve/"


def _require_ray_serve():
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.serve") is None:
        raise MissingDependency(INSTALL)
    try:
        import ray
        from ray import serve
    except ImportError as exc:  # e.g. ray without its serve extra (fastapi, starlette, ...)
        raise MissingDependency(f"{INSTALL} ({exc})") from None
    return ray, serve


def _absolute(config: ServeConfig) -> ServeConfig:
    """Paths made absolute: replicas are separate processes that need not share this working folder."""

    def path(item: str) -> str:
        name, sep, rest = item.partition("=")
        if sep and not Path(item).exists() and "/" not in name:
            return f"{name}={Path(rest).resolve()}"
        return str(Path(item).resolve())

    update: dict = {"runs": [path(item) for item in config.runs]}
    for field in ("rag", "api_keys"):
        value = getattr(config, field)
        if value and "://" not in value:
            update[field] = str(Path(value).resolve())
    if config.studio and config.studio != "none":
        update["studio"] = str(Path(config.studio).resolve())
    return config.model_copy(update=update)


def _free_port(host: str, port: int) -> int:
    """The port Ray Serve's proxy will bind, checked free now (0: any free port)."""
    from genforge.serve.server import bind

    sock = bind(host, port)
    chosen = sock.getsockname()[1]
    sock.close()
    return chosen


def check_models(config: ServeConfig) -> list[str]:
    """Load what ``config`` names once, here, and drop it: the names served, or the one-line error of the
    first broken entry (the same check ``genforge serve`` makes before it opens its port)."""
    from genforge.serve.catalog import load_catalog

    return list(load_catalog(config))


def deployment_options(config: ServeConfig, env: dict[str, str]) -> dict:
    """The Ray Serve deployment settings for ``config`` (what ``serve.deployment`` takes)."""
    return {
        "name": "genforge",
        "autoscaling_config": {
            "min_replicas": config.min_replicas,
            "initial_replicas": config.min_replicas,
            "max_replicas": config.max_replicas,
            "target_ongoing_requests": config.max_batch,
        },
        "max_ongoing_requests": config.max_queue,
        "ray_actor_options": {"num_cpus": config.replica_cpus, "runtime_env": {"env_vars": env}},
        "graceful_shutdown_timeout_s": GRACEFUL_SHUTDOWN_S,
    }


def _wait_ready(url: str, deadline: float) -> None:
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise GenforgeError(f"Ray Serve did not answer {url} within {START_TIMEOUT_S} s (replica logs: {LOGS})")


def serve_ray(config: ServeConfig, *, announce: Callable[[str], None] | None = None) -> None:
    """Deploy the app on a local Ray Serve and serve until SIGINT/SIGTERM; then shut Serve and Ray down."""
    ray, serve = _require_ray_serve()
    check_bind(config)
    config = _absolute(config.model_copy(update={"backend": "ray"}))
    if config.api_keys:
        from genforge.serve.keys import KeyStore

        KeyStore.load(config.api_keys)
    port = _free_port(config.host, config.port)
    config = config.model_copy(update={"port": port})
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the readiness polls below
    started = time.perf_counter()
    names = check_models(config)
    checked = time.perf_counter() - started

    from genforge.serve.app import CONFIG_ENV, app_from_environment

    metrics_dir = tempfile.mkdtemp(prefix="genforge-metrics-")
    env = {CONFIG_ENV: config.model_dump_json(), "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    stop = _StopOnSignal()
    try:
        _start_ray(ray, max(1, math.ceil(config.max_replicas * config.replica_cpus)))
        stop.install()
        logging.getLogger("ray.serve").setLevel(logging.WARNING)  # the one line this command prints is ours
        try:
            serve.start(http_options={"host": config.host, "port": port})
        except Exception as exc:  # e.g. the proxy actor not up within Ray's own timeout on a busy machine
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise GenforgeError(f"Ray Serve's HTTP proxy did not start: {first} (try again)") from None

        @serve.ingress(app_from_environment)  # the builder runs in each replica: the same app as uvicorn's
        class GenforgeReplica:
            """One replica: the genforge FastAPI app with its own models, batchers and limits."""

        application = serve.deployment(**deployment_options(config, env))(GenforgeReplica).bind()
        try:
            serve.run(application, name="genforge", route_prefix="/", blocking=False)
        except RuntimeError as exc:  # a replica that could not start: Ray's text holds its traceback
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise GenforgeError(
                f"Ray Serve could not start the app: {first} (replica logs: {LOGS})"
            ) from None
        _wait_ready(
            f"http://{_url_host(config.host)}:{port}/health/ready", time.monotonic() + START_TIMEOUT_S
        )
        if announce:
            announce(
                f"serving {', '.join(names)} on http://{_url_host(config.host)}:{port} with Ray Serve "
                f"({config.min_replicas}-{config.max_replicas} replica(s); checked in {checked:.2f} s, "
                f"ready in {time.perf_counter() - started:.2f} s)"
            )
        stop.wait()
    finally:
        stop.restore()
        try:
            if ray.is_initialized():
                serve.shutdown()
        finally:
            ray.shutdown()
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _start_ray(ray, cpus: int) -> None:
    """A local Ray instance for this server only. Ray gives its raylet a fixed 30 s to register; on a
    machine too busy for that the start is tried once more, then it is one line."""
    for attempt in (1, 2):
        try:
            ray.init(
                address="local",
                num_cpus=cpus,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
            return
        except Exception as exc:  # Ray raises plain Exception/RuntimeError from its node start-up
            ray.shutdown()
            text = str(exc).strip()
            if attempt == 1 and "timed out during startup" in text:
                continue
            first = text.splitlines()[0][:300] if text else type(exc).__name__
            raise GenforgeError(
                f"Ray could not start here: {first} (try again on a less busy machine)"
            ) from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _StopOnSignal:
    """SIGINT and SIGTERM end :meth:`wait` (and nothing else), so shutdown runs in this process's order."""

    def __init__(self) -> None:
        self.stopped = False
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def install(self) -> None:
        """Take the signals back: ``ray.init`` puts its own SIGTERM handler in (it aborts the process)."""
        for sig in self._previous:
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.stopped:  # a second Ctrl-C while shutting down: leave at once
            raise KeyboardInterrupt
        self.stopped = True

    def wait(self) -> None:
        while not self.stopped:
            time.sleep(0.2)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
