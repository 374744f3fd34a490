"""genforge: train, sample, evaluate, guard and ship generative AI, offline on a CPU.

The top-level namespace stays light (importing it does not import torch); the Python API lives in the
subpackages and is re-exported lazily here so that ``import genforge; genforge.train(...)`` works.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "train": "genforge.pipelines.training:train",
    "resume": "genforge.pipelines.training:resume",
    "sample": "genforge.pipelines.sampling:sample",
    "interpolate": "genforge.pipelines.sampling:interpolate",
    "evaluate": "genforge.pipelines.evaluate:evaluate_run",
    "load_run": "genforge.pipelines.loading:load_run",
    "load_dataset": "genforge.data:load_dataset",
    "list_datasets": "genforge.data:list_datasets",
    "list_runs": "genforge.core.runs:list_runs",
    "GenforgeError": "genforge.core.errors:GenforgeError",
    "ask": "genforge.rag.api:ask",
    "search": "genforge.rag.api:search",
    "RetrievalConfig": "genforge.rag.config:RetrievalConfig",
    "fairness_audit": "genforge.fairness.audit:audit_predictions",
    "fairness_audit_model": "genforge.fairness.audit:audit_model",
    "fairness_mitigate": "genforge.fairness.mitigate:mitigate",
    "membership_inference": "genforge.privacy.mia:membership_inference",
    "load_table": "genforge.data.tabular:load_table",
    "model_card": "genforge.pipelines.card:model_card",
    "train_rl": "genforge.rl.learner:train_rl",
    "evaluate_policy": "genforge.rl.learner:evaluate_policy",
    "train_meta": "genforge.meta.learner:train_meta",
    "evaluate_meta": "genforge.meta.learner:evaluate_meta",
    "compare": "genforge.research.compare:compare",
    "repeat": "genforge.research.repeat:repeat",
    "train_synthesizer": "genforge.tabular.engine:train_synthesizer",
    "sample_table": "genforge.tabular.engine:sample_table",
    "impute_table": "genforge.tabular.engine:impute_table",
    "tabular_report": "genforge.tabular.report:tabular_report",
    "finetune_embedding": "genforge.transfer.embed:finetune_embedding",
    "finetune_run": "genforge.pipelines.finetune:finetune_run",
}


def __getattr__(name: str) -> object:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'genforge' has no attribute {name!r}")
    module_name, attr = target.split(":")
    return getattr(importlib.import_module(module_name), attr)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
