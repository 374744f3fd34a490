"""Ship genforge's server: a Dockerfile and Kubernetes manifests generated for ``genforge serve``, and
an offline check of such files (hadolint, yamllint, the Kubernetes schemas and genforge's own policy),
and a local PostgreSQL + pgvector server for trying the ``postgresql://`` RAG store.

There is no container engine on the machines genforge is built on; nothing here builds an image.
"""

from genforge.deploy.check import CheckReport, check_deploy
from genforge.deploy.config import DeployConfig
from genforge.deploy.database import start_database, stop_database
from genforge.deploy.docker import write_docker
from genforge.deploy.k8s import write_k8s

__all__ = [
    "CheckReport",
    "DeployConfig",
    "check_deploy",
    "start_database",
    "stop_database",
    "write_docker",
    "write_k8s",
]
