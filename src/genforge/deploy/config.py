"""The one config object of ``genforge deploy``: what the generated Dockerfile and manifests say.

The server these files run is ``genforge serve RUN... --host --port --api-keys FILE`` with the health
routes ``/health/live`` and ``/health/ready`` (``docs/serving.md``); the files are generated against that
documented command line, not by importing the server.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from genforge.core.config import Config

# python:3.11-slim pinned by digest (linux/amd64 + arm64 index); pass --base-image to use a newer one.
# This machine has no registry access: the digest was not re-resolved here (docs/deploy.md).
DEFAULT_BASE_IMAGE = (
    "python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7"
)
# the Kubernetes version whose schemas `deploy check` validates against (kubernetes-validate ships them)
DEFAULT_KUBERNETES_VERSION = "1.33.0"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")


class DeployConfig(Config):
    name: str = Field("genforge", description="name of the Deployment, Service, HPA, Secret and PVC")
    image: str = Field("genforge:0.1.0", description="image the Deployment runs (what you build and push)")
    base_image: str = Field(
        DEFAULT_BASE_IMAGE, description="runtime and builder base image, pinned by digest"
    )
    extras: str = Field(
        "serve,text",
        description="pip extras installed into the image (text: the MiniLM embeddings serve loads)",
    )
    uid: int = Field(10001, ge=1, le=2**31 - 1, description="numeric non-root user and group id")
    port: int = Field(8000, ge=1, le=65535, description="port the server listens on in the container")
    runs: list[str] = Field(
        default_factory=lambda: ["/data/runs/model"],
        description="run directories served (inside the container, under the runs volume)",
    )
    replicas: int = Field(2, ge=1, le=1000, description="initial replicas (the HPA's minimum)")
    max_replicas: int = Field(4, ge=1, le=1000, description="the HPA's maximum replicas")
    target_cpu_percent: int = Field(70, ge=1, le=100, description="HPA target CPU utilisation")
    cpu_request: str = Field("500m", description="CPU request per replica")
    cpu_limit: str = Field("2", description="CPU limit per replica")
    memory_request: str = Field("1Gi", description="memory request per replica")
    memory_limit: str = Field("2Gi", description="memory limit per replica")
    runs_storage: str = Field("5Gi", description="size of the PersistentVolumeClaim holding the runs")

    @field_validator("name")
    @classmethod
    def _dns_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-', at most 63")
        return value

    @field_validator("cpu_request", "cpu_limit", "memory_request", "memory_limit", "runs_storage")
    @classmethod
    def _quantity(cls, value: str) -> str:
        if not _QUANTITY.match(value):
            raise ValueError("must be a Kubernetes quantity such as 500m, 2, 1Gi")
        return value

    @field_validator("extras")
    @classmethod
    def _extras(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_-]+(,[a-z0-9_-]+)*", value):
            raise ValueError("must be comma-separated extra names such as serve,rag")
        return value

    @field_validator("runs")
    @classmethod
    def _runs(cls, value: list[str]) -> list[str]:
        if not value or any(not r.startswith("/") or '"' in r or "\n" in r for r in value):
            raise ValueError("must be absolute paths inside the container")
        return value
