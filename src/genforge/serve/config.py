"""The one settings object of ``genforge serve`` (the CLI flags map onto it field by field)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from genforge.core.errors import ConfigError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ServeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: list[str] = Field(default_factory=list, description="run directories to serve ([NAME=]PATH)")
    rag: str | None = Field(None, description="RAG store served as the model 'rag'")
    embeddings: str | None = Field(
        "minilm", description="embedding model served on /v1/embeddings ('none': off)"
    )
    host: str = Field("127.0.0.1", description="address to bind; anything but loopback needs --api-keys")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port)")
    workers: int = Field(1, ge=1, le=16, description="server processes")
    threads: int = Field(
        1, ge=1, le=256, description="torch threads per worker (1 leaves the other cores to the event loop)"
    )
    api_keys: str | None = Field(None, description="key file from 'genforge keys add' (none: no auth)")
    max_batch: int = Field(32, ge=1, le=1024, description="largest micro-batch per model")
    max_batch_tokens: int = Field(
        8192, ge=1, le=10_000_000, description="token budget of one text batch (prompt + max_tokens, summed)"
    )
    max_wait_ms: float = Field(
        2.0, ge=0, le=1000, description="how long a batch waits to fill once a queue forms"
    )
    max_queue: int = Field(256, ge=1, le=100_000, description="requests waiting per model before 503")
    max_body_mb: float = Field(8.0, gt=0, le=1024, description="largest request body (413 beyond)")
    rate: str = Field("20/s", description="requests per key: N/s, N/m or 'off'")
    max_tokens: int = Field(512, ge=1, le=100_000, description="most tokens one completion may ask for")
    max_items: int = Field(256, ge=1, le=100_000, description="most inputs (texts, images) per request")
    timeout_s: float = Field(60.0, gt=0, le=3600, description="request timeout (408 beyond)")
    body_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="time allowed to receive a request body (408 beyond)"
    )
    max_streams: int = Field(4, ge=1, le=1000, description="concurrent streams per key")
    studio: str | None = Field("runs", description="runs folder of the web studio at /studio ('none': off)")
    skip_broken: bool = Field(False, description="warn about and skip unreadable runs instead of exiting")
    backend: Literal["uvicorn", "ray"] = Field(
        "uvicorn", description="uvicorn (this process and --workers) or ray (a Ray Serve deployment)"
    )
    min_replicas: int = Field(1, ge=1, le=64, description="--backend ray: fewest replicas of the app")
    max_replicas: int = Field(
        2, ge=1, le=64, description="--backend ray: most replicas autoscaling may start"
    )
    replica_cpus: float = Field(1.0, gt=0, le=64, description="--backend ray: Ray CPUs reserved per replica")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @model_validator(mode="after")
    def _replicas(self) -> ServeConfig:
        if self.min_replicas > self.max_replicas:
            raise ConfigError(
                f"--min-replicas {self.min_replicas} is above --max-replicas {self.max_replicas}: lower it"
            )
        if self.backend == "ray" and self.workers > 1:
            raise ConfigError("--workers is for --backend uvicorn; with --backend ray pass --max-replicas")
        return self


def parse_rate(text: str) -> float | None:
    """``"20/s"`` -> 20.0 requests per second, ``"600/m"`` -> 10.0, ``"off"`` -> None."""
    if text == "off":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)/(s|m)", text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"--rate must look like 20/s or 600/m (or 'off'), got {text!r}")
    return float(match.group(1)) / (60.0 if match.group(2) == "m" else 1.0)


def check_bind(config: ServeConfig) -> None:
    """Refuse a non-loopback bind without API keys: an open port on the network is not a default."""
    if config.host not in LOOPBACK and not config.api_keys:
        raise ConfigError(
            f"binding {config.host} exposes the server beyond this machine: create a key file with "
            "'genforge keys add NAME --api-keys FILE' and pass --api-keys FILE"
        )
