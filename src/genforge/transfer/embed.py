"""Fine-tune the packaged all-MiniLM-L6-v2 on a user's (anchor, positive[, negative]) pairs.

One call, :func:`finetune_embedding`, behind ``genforge finetune embed``. The pairs file is JSON lines
with ``anchor`` and ``positive`` (and optionally ``negative``; for the cosine loss optionally ``score``
in [0, 1], default 1). A seeded share of the pairs (``holdout``, default 20 %), or a separate
``holdout_pairs`` file, is kept out of training and scored before and after: each held-out anchor
searches all held-out positives; MRR@10 and recall@1/5/10.

Losses: ``mnrl`` (multiple-negatives ranking: cross-entropy over ``scale`` x cosine of each anchor with
every positive in the batch, and the batch's negatives, the diagonal being right) and ``cosine`` (mean
squared error between cos(anchor, positive) and the pair's score; a negative is a pair with score 0).
Full fine-tuning trains every weight; ``lora`` trains only low-rank adapters (:mod:`.lora`) and merges
them into the weights on export (the adapter is also saved on its own under ``adapter/``).

Collapse — every text mapped to nearly the same vector, which users see as all cosines near 1 — is
watched every ``check_every`` steps on the mean cosine of random pairs of different training texts; above
``collapse_cosine`` the run stops, keeps the weights of the last healthy check and says so.

The result is a run directory: ``model/`` (a sentence-transformers folder, safetensors weights),
``embedding.json`` (so ``genforge embed ... runs/<id>`` and the RAG store load it by path),
``config.json``, ``metrics.jsonl`` (loss per step) and ``eval.json`` (before/after figures).
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from genforge.core import io
from genforge.core.config import Config
from genforge.core.errors import DataError
from genforge.core.runs import Run, new_run
from genforge.core.seed import make_generator, torch_rng_stream
from genforge.embed.base import MANIFEST
from genforge.embed.sentence import MODEL_NAME, default_model_path, load_sentence_model
from genforge.transfer.lora import LoraConfig, apply_lora, remove_lora, save_adapter, trainable_fraction

MODEL_DIR = "model"
ProgressFn = Callable[[dict[str, Any]], None]


class EmbedFinetuneConfig(Config):
    """How the sentence encoder is fine-tuned on pairs."""

    loss: Literal["mnrl", "cosine"] = Field("mnrl", description="mnrl (in-batch negatives) or cosine")
    epochs: int | None = Field(
        None, ge=1, description="passes over the training pairs (default 1 full, 3 LoRA)"
    )
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps (default: epochs)")
    batch_size: int = Field(16, ge=2, description="pairs per step (mnrl: in-batch negatives = size - 1)")
    lr: float | None = Field(None, gt=0, description="AdamW learning rate (default 2e-5 full, 1e-3 LoRA)")
    warmup: float = Field(
        0.1, ge=0, lt=1, description="share of steps with linear warm-up, then linear decay"
    )
    weight_decay: float = Field(0.01, ge=0)
    scale: float = Field(20.0, gt=0, description="mnrl: cosine similarities are multiplied by this")
    holdout: float = Field(0.2, ge=0, lt=1, description="share of pairs held out for MRR/recall")
    lora: LoraConfig | None = Field(None, description="train LoRA adapters instead of every weight")
    check_every: int = Field(10, ge=1, description="steps between collapse checks")
    collapse_cosine: float = Field(0.9, gt=0, le=1, description="mean random-pair cosine that is collapse")
    max_seq_length: int = Field(128, ge=8, description="word pieces per text")

    # LoRA defaults chosen on dev pairs (benchmarks/transfer_minilm_lora_sweep.py, docs/transfer.md):
    # lr 1e-3 (50x full), 3 epochs (4-fold dev), with LoraConfig's r = 8, alpha = r, every linear layer
    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-3 if self.lora is not None else 2e-5)

    @property
    def passes(self) -> int:
        return self.epochs if self.epochs is not None else (3 if self.lora is not None else 1)


@dataclass
class Pair:
    anchor: str
    positive: str
    negative: str | None = None
    score: float = 1.0


@dataclass
class EmbedFinetuneResult:
    run: Run
    status: str  # "completed" | "collapsed"
    steps: int
    elapsed_s: float
    before: dict[str, float]
    after: dict[str, float]
    trainable_fraction: float
    notes: list[str] = field(default_factory=list)
    train_s: float = 0.0  # the training loop alone (steps and collapse checks)

    @property
    def model_path(self) -> Path:
        return self.run.path / MODEL_DIR


def read_pairs(path: str | Path, *, minimum: int = 2) -> list[Pair]:
    """The pairs of a JSON-lines file; a missing field or value names the file and line."""
    pairs = []
    for number, record in io.read_jsonl_strict(path, "pairs file"):
        for key in ("anchor", "positive"):
            if not isinstance(record.get(key), str) or not record[key].strip():
                raise DataError(
                    f"{path}:{number} has no text field '{key}' (each line: anchor, positive[, negative])"
                )
        negative = record.get("negative")
        if negative is not None and not isinstance(negative, str):
            raise DataError(f"{path}:{number}: 'negative' must be a text")
        score = record.get("score", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise DataError(f"{path}:{number}: 'score' must be a number in [0, 1]")
        pairs.append(Pair(record["anchor"], record["positive"], negative, float(score)))
    if len(pairs) < minimum:
        raise DataError(f"pairs file {path} has {len(pairs)} pair(s); fine-tuning needs at least {minimum}")
    return pairs


def split_pairs(pairs: list[Pair], holdout: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, held-out) by a seeded permutation; at least 2 of each when held out at all."""
    if holdout == 0:
        return pairs, []
    order = torch.randperm(len(pairs), generator=make_generator(seed)).tolist()
    n_out = max(2, round(len(pairs) * holdout))
    if len(pairs) - n_out < 2:
        raise DataError(f"{len(pairs)} pairs are too few to hold out {holdout:.0%}: add pairs or --holdout 0")
    return [pairs[i] for i in order[n_out:]], [pairs[i] for i in order[:n_out]]


def retrieval_scores(model: Any, pairs: Sequence[Pair], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Each anchor searches all the positives (duplicates merged): MRR@10 and recall@k."""
    positives = sorted({p.positive for p in pairs})
    index = {text: i for i, text in enumerate(positives)}
    queries = _encode(model, [p.anchor for p in pairs])
    corpus = _encode(model, positives)
    sims = queries @ corpus.T
    gold = np.array([index[p.positive] for p in pairs])
    ranks = (sims > sims[np.arange(len(pairs)), gold][:, None]).sum(axis=1) + 1
    out = {"mrr@10": float(np.mean(np.where(ranks <= 10, 1.0 / ranks, 0.0)))}
    out.update({f"recall@{k}": float(np.mean(ranks <= k)) for k in ks})
    out["pairs"] = len(pairs)
    out["candidates"] = len(positives)
    return out


def mean_random_cosine(model: Any, texts: Sequence[str], seed: int, n: int = 64) -> float:
    """Mean cosine of ``n`` random pairs of different texts: near 1 means collapse."""
    texts = sorted(set(texts))
    gen = make_generator(seed)
    i = torch.randint(len(texts), (n,), generator=gen)
    j = (i + 1 + torch.randint(len(texts) - 1, (n,), generator=gen)) % len(texts)
    chosen = sorted(set(i.tolist()) | set(j.tolist()))
    vectors = dict(zip(chosen, _encode(model, [texts[k] for k in chosen]), strict=True))
    return float(np.mean([vectors[a] @ vectors[b] for a, b in zip(i.tolist(), j.tolist(), strict=True)]))


def _encode(model: Any, texts: list[str]) -> np.ndarray:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
    finally:
        model.train(was_training)
    return np.asarray(out, dtype=np.float32)


def _embed(model: Any, texts: list[str]) -> torch.Tensor:
    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
    return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)


def pair_loss(model: Any, batch: list[Pair], config: EmbedFinetuneConfig) -> torch.Tensor:
    anchors = _embed(model, [p.anchor for p in batch])
    if config.loss == "mnrl":
        others = [p.positive for p in batch] + [p.negative for p in batch if p.negative is not None]
        candidates = _embed(model, others)
        logits = config.scale * anchors @ candidates.T
        return torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
    positives = _embed(model, [p.positive for p in batch])
    cos = (anchors * positives).sum(-1)
    target = torch.tensor([p.score for p in batch])
    with_neg = [k for k, p in enumerate(batch) if p.negative is not None]
    if with_neg:
        negatives = _embed(model, [batch[k].negative for k in with_neg])
        cos = torch.cat([cos, (anchors[with_neg] * negatives).sum(-1)])
        target = torch.cat([target, torch.zeros(len(with_neg))])
    return torch.nn.functional.mse_loss(cos, target)


def finetune_embedding(
    pairs: str | Path,
    *,
    config: EmbedFinetuneConfig | dict[str, Any] | None = None,
    holdout_pairs: str | Path | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    base_model: str | Path | None = None,
    progress: ProgressFn | None = None,
) -> EmbedFinetuneResult:
    """Fine-tune MiniLM (or the sentence-transformers folder ``base_model``) on the pairs file into a
    new run under ``out``; held-out MRR@10/recall@k before and after. Nothing is half-written: a run
    that fails is removed."""
    if not isinstance(config, EmbedFinetuneConfig):
        config = EmbedFinetuneConfig.build(config, where="finetune embed")
    data = read_pairs(pairs)
    if holdout_pairs is not None:
        train_pairs, held = data, read_pairs(holdout_pairs)
    else:
        train_pairs, held = split_pairs(data, config.holdout, seed)
    if len(train_pairs) < 2:
        raise DataError(f"pairs file {pairs} leaves fewer than 2 training pairs")
    source = Path(base_model) if base_model is not None else default_model_path()
    run = new_run(out, "minilm-finetune")
    try:
        return _finetune(run, source, train_pairs, held, config, seed, pairs, holdout_pairs, progress)
    except BaseException:
        shutil.rmtree(run.path, ignore_errors=True)
        raise


def _finetune(run, source, train_pairs, held, config, seed, pairs_path, holdout_path, progress):
    start = time.perf_counter()
    with torch_rng_stream(seed=seed):
        # a private copy: the process-wide cached model (embed, RAG) must stay untouched
        import copy

        model = copy.deepcopy(load_sentence_model(str(source)))
        model.max_seq_length = config.max_seq_length
        before = retrieval_scores(model, held) if held else {}
        if config.lora is not None:
            apply_lora(model[0].auto_model, config.lora)
        fraction = trainable_fraction(model)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
        per_epoch = math.ceil(len(train_pairs) / config.batch_size)
        total = min(per_epoch * config.passes, config.max_steps or per_epoch * config.passes)
        warm = int(total * config.warmup)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda s: (s + 1) / max(warm, 1) if s < warm else max(0.0, (total - s) / max(total - warm, 1)),
        )
        texts = [t for p in train_pairs for t in (p.anchor, p.positive)]
        healthy = {k: v.detach().clone() for k, v in model.state_dict().items()}
        status, notes, step, records, healthy_step = "completed", [], 0, [], 0
        model.train()
        gen = make_generator(seed + 1)
        loop_start = time.perf_counter()
        while step < total:
            for idx in torch.randperm(len(train_pairs), generator=gen).split(config.batch_size):
                if step >= total:
                    break
                batch = [train_pairs[i] for i in idx.tolist()]
                if len(batch) < 2 and config.loss == "mnrl":
                    continue  # one pair has no in-batch negative
                loss = pair_loss(model, batch, config)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                schedule.step()
                step += 1
                record = {"step": step, "loss": float(loss.detach()), "lr": schedule.get_last_lr()[0]}
                if step % config.check_every == 0 or step == total:
                    record["random_cosine"] = mean_random_cosine(model, texts, seed)
                    if record["random_cosine"] > config.collapse_cosine:
                        status = "collapsed"
                        notes.append(
                            f"collapse at step {step}: random pairs of texts have mean cosine "
                            f"{record['random_cosine']:.3f} > {config.collapse_cosine}; stopped and kept the "
                            f"weights of step {healthy_step} (try a lower --set lr=..., or more varied pairs)"
                        )
                        model.load_state_dict(healthy)
                        records.append(record)
                        break
                    healthy = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    healthy_step = step
                records.append(record)
                if progress is not None:
                    progress({**record, "total": total})
            if status == "collapsed":
                break
        train_s = time.perf_counter() - loop_start
        model.eval()
        if config.lora is not None:
            save_adapter(model[0].auto_model, config.lora, run.artifact("adapter"))
            remove_lora(model[0].auto_model)  # merged on export: model/ is a plain MiniLM
        after = retrieval_scores(model, held) if held else {}
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "writing shards" bar for one local file is noise on stderr
    try:
        model.save(str(run.artifact(MODEL_DIR)), safe_serialization=True)
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()
    io.rewrite_jsonl(run.metrics_path, records)
    io.atomic_write_json(
        run.path / MANIFEST,
        {"kind": "sentence", "dim": 384, "settings": {"model": MODEL_NAME, "model_path": MODEL_DIR}},
    )
    elapsed = time.perf_counter() - start
    run.write_config(
        {
            "family": "minilm",
            "kind": "embed-finetune",
            "model": {"base": str(source), "name": MODEL_NAME},
            "train": config.model_dump(mode="json"),
            # the defaults that None stood for (1 or 3 epochs, 2e-5 or 1e-3), so the record says what ran
            "resolved": {"epochs": config.passes, "lr": config.learning_rate},
            "data": {"spec": f"pairs:{pairs_path}", "holdout": str(holdout_path) if holdout_path else None},
            "data_info": {"kind": "pairs", "train_pairs": len(train_pairs), "holdout_pairs": len(held)},
            "seed": seed,
            "parent": MODEL_NAME if source == default_model_path() else str(source),
        }
    )
    evaluation = {"before": before, "after": after, "steps": step, "status": status}
    evaluation.update(
        {"trainable_fraction": fraction, "elapsed_s": elapsed, "train_s": train_s, "notes": notes}
    )
    io.atomic_write_json(run.path / "eval.json", evaluation)
    return EmbedFinetuneResult(run, status, step, elapsed, before, after, fraction, notes, train_s)
