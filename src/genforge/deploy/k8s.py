"""``genforge deploy k8s``: Kubernetes manifests for ``genforge serve``.

A Deployment (probes on ``/health/live`` and ``/health/ready``, requests and limits, non-root numeric
user, read-only root file system with a writable ``/tmp``, no privilege escalation, every capability
dropped, API keys mounted from a Secret, runs from a PersistentVolumeClaim), a Service, a
HorizontalPodAutoscaler (autoscaling/v2, CPU target), a PodDisruptionBudget and the claim. The Secret
itself is not generated, so no key ever lands in a file: ``kubectl create secret`` makes it from the
keys file that ``genforge keys add`` writes (the command is in ``README.txt`` beside the manifests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from genforge.core.io import atomic_write_text
from genforge.core.paths import check_output_dir
from genforge.deploy.config import DeployConfig
from genforge.deploy.docker import API_KEYS_DIR, RUNS_DIR, server_args


class _Dumper(yaml.SafeDumper):
    """Block sequences indented under their key, as yamllint's default ``indent-sequences`` expects."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:  # the label dict is repeated, never anchored
        return True


def _labels(config: DeployConfig) -> dict[str, str]:
    return {"app.kubernetes.io/name": config.name, "app.kubernetes.io/component": "server"}


def _container(config: DeployConfig) -> dict[str, Any]:
    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 5,
            "failureThreshold": failures,
        }

    return {
        "name": "server",
        "image": config.image,
        "imagePullPolicy": "IfNotPresent",
        "args": server_args(config),
        "ports": [{"name": "http", "containerPort": config.port, "protocol": "TCP"}],
        "startupProbe": probe("/health/live", 5, 60),
        "livenessProbe": probe("/health/live", 10, 3),
        "readinessProbe": probe("/health/ready", 5, 3),
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": config.uid,
            "runAsGroup": config.uid,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "runs", "mountPath": RUNS_DIR, "readOnly": True},
            {"name": "api-keys", "mountPath": API_KEYS_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def manifests(config: DeployConfig) -> dict[str, dict[str, Any]]:
    """File name -> Kubernetes object, for ``config``."""
    labels = _labels(config)
    meta = {"name": config.name, "labels": labels}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": config.replicas,
            "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": config.uid,
                        "runAsGroup": config.uid,
                        "fsGroup": config.uid,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container(config)],
                    "volumes": [
                        {"name": "runs", "persistentVolumeClaim": {"claimName": f"{config.name}-runs"}},
                        {
                            "name": "api-keys",
                            "secret": {"secretName": f"{config.name}-api-keys", "defaultMode": 0o440},
                        },
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": config.name},
            "minReplicas": config.replicas,
            "maxReplicas": max(config.max_replicas, config.replicas),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": config.target_cpu_percent},
                    },
                }
            ],
        },
    }
    pdb = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{config.name}-runs", "labels": labels},
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "resources": {"requests": {"storage": config.runs_storage}},
        },
    }
    return {
        "deployment.yaml": deployment,
        "service.yaml": service,
        "hpa.yaml": hpa,
        "pdb.yaml": pdb,
        "pvc.yaml": pvc,
    }


def to_yaml(obj: dict[str, Any]) -> str:
    """One YAML document that yamllint's default rules accept."""
    return "---\n" + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=76)


def readme_text(config: DeployConfig) -> str:
    return f"""\
Generated by `genforge deploy k8s`; check with `genforge deploy check`.

1. Create the API keys file and the Secret the Deployment mounts (no key is written in these files):
     genforge keys add NAME --api-keys keys.json
     kubectl create secret generic {config.name}-api-keys --from-file=keys.json=keys.json
2. Copy run directories into the claim {config.name}-runs (served from {", ".join(config.runs)}).
3. kubectl apply -f .
"""


def write_k8s(config: DeployConfig, out: str | Path) -> list[Path]:
    """Write the manifests (and ``README.txt``) into ``out`` (created); the paths written."""
    folder = check_output_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = [atomic_write_text(folder / name, to_yaml(obj)) for name, obj in manifests(config).items()]
    written.append(atomic_write_text(folder / "README.txt", readme_text(config)))
    return written
