"""The CLIP-style model as user-level jobs (the API behind ``genforge clip train|zeroshot|score``).

- :func:`train_clip` trains the ``clip`` family with the one trainer (budgets, checkpoints, exact resume).
- :func:`zeroshot` scores a trained CLIP run on its test split: zero-shot classification accuracy with
  the prompts ``"a zero"`` … ``"a nine"``, and image->text / text->image recall@1 and @5 over the split's
  captions. Captions repeat (many digits are ``"a seven"``), so a retrieval counts as a hit when the
  retrieved caption (image->text) or the retrieved image's caption (text->image) has the query's text;
  the image->text candidates are the split's distinct captions.
- :func:`clip_score` draws images from any image generator run and scores how well they match prompts:
  CLIP-score ``100 * max(cos(image, prompt), 0)`` (Hessel et al. 2021 without their 2.5 rescaling, as
  torchmetrics' ``CLIPScore``), averaged per prompt. A generator that takes prompts (diffusion trained
  with ``cond=text``) is asked for each prompt; any other generator's samples are scored as they come,
  which is the unconditional reference a text-conditioned model must beat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genforge.core.errors import ConfigError, DataError
from genforge.core.io import atomic_write_json
from genforge.core.runs import Run
from genforge.data.captions import class_prompts, encode_caption
from genforge.models.clip import CLIP
from genforge.pipelines.loading import LoadedRun, as_run, load_run
from genforge.pipelines.training import train
from genforge.trainer.loop import ProgressFn, TrainResult

ZEROSHOT_FILE = "zeroshot.json"
MAX_PROMPTS = 100


def train_clip(
    data: str = "digits-captions",
    *,
    out: str | Path = "runs",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train a CLIP-style dual encoder on captioned images (see :mod:`genforge.models.clip`)."""
    return train(
        "clip", data, overrides=overrides, out=out, seed=seed, max_steps=max_steps,
        max_minutes=max_minutes, progress=progress,
    )  # fmt: skip


def load_clip(run: str | Path | Run, *, data: bool = True) -> LoadedRun:
    """A trained ``clip`` run (a run of another family is a ConfigError naming it)."""
    run = as_run(run)
    family = run.read_config().get("family")
    if family != "clip":
        raise ConfigError(
            f"run {run.id} is a {family} run, not a clip run: train one with 'genforge clip train'"
        )
    return load_run(run, data=data)


def recall_at(similarity: torch.Tensor, hit: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> dict[int, float]:
    """Fraction of rows of ``similarity`` (Q, C) whose top-k columns include a True of ``hit`` (Q, C)."""
    order = similarity.argsort(dim=1, descending=True, stable=True)
    ranked_hits = hit.gather(1, order)
    return {k: float(ranked_hits[:, :k].any(1).double().mean()) for k in ks}


@torch.no_grad()
def zeroshot(run: str | Path | Run, *, split: str = "test", seed: int = 0) -> dict[str, Any]:
    """Zero-shot accuracy and retrieval recall@1/5 of a CLIP run on ``split``; written to
    ``RUN/zeroshot.json``. ``seed`` is accepted for the CLI contract (nothing here is random)."""
    loaded = load_clip(run)
    model: CLIP = loaded.model  # type: ignore[assignment]
    data = loaded.dataset.split(split)
    x, y, tokens = data["x"], data["y"], data["tokens"]
    images = model.encode_images(x)
    accuracy = float((model.zero_shot_logits(x).argmax(1) == y).double().mean())
    captions, caption_of = torch.unique(tokens, dim=0, return_inverse=True)
    texts = model.encode_text(captions)
    image_to_text = recall_at(images @ texts.T, caption_of.unsqueeze(1) == torch.arange(len(captions)))
    query_texts = model.encode_text(tokens)
    same_caption = caption_of.unsqueeze(1) == caption_of.unsqueeze(0)
    text_to_image = recall_at(query_texts @ images.T, same_caption)
    result = {
        "run": loaded.run.id,
        "split": split,
        "num_images": len(x),
        "num_captions": len(captions),
        "zeroshot_accuracy": accuracy,
        "image_to_text_recall@1": image_to_text[1],
        "image_to_text_recall@5": image_to_text[5],
        "text_to_image_recall@1": text_to_image[1],
        "text_to_image_recall@5": text_to_image[5],
        "prompts": class_prompts(),
        "step": loaded.step,
    }
    atomic_write_json(loaded.run.artifact(ZEROSHOT_FILE), result)
    return result


def read_prompts(path: str | Path | None) -> list[str]:
    """Prompts from a text file (one per line, blank lines skipped) or the class prompts."""
    if path is None:
        return class_prompts()
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read prompts file {path}: {exc}") from None
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise DataError(f"prompts file {path} has no prompts (one per line)")
    if len(prompts) > MAX_PROMPTS:
        raise DataError(f"prompts file {path} has {len(prompts)} prompts; at most {MAX_PROMPTS}")
    for number, prompt in enumerate(prompts, 1):
        try:
            encode_caption(prompt)
        except DataError as exc:
            raise DataError(f"{path} line {number}: {exc}") from None
    return prompts


def takes_prompts(model: Any) -> bool:
    """True for a generator conditioned on text (it accepts ``sample(..., prompt=...)``)."""
    return bool(getattr(model, "takes_prompts", False))


@torch.no_grad()
def clip_score(
    generator_run: str | Path | Run,
    clip_run: str | Path | Run,
    *,
    prompts: list[str] | None = None,
    n: int = 64,
    seed: int = 0,
    **sample_opts: Any,
) -> dict[str, Any]:
    """CLIP-score of ``n`` samples per prompt of ``generator_run``, judged by ``clip_run`` (see module
    doc); ``sample_opts`` go to the generator's ``sample`` (``steps``, ``guidance`` …)."""
    if not 1 <= n <= 10_000:
        raise ConfigError(f"-n must be between 1 and 10,000, got {n}")
    prompts = class_prompts() if prompts is None else prompts
    judged_by = load_clip(clip_run, data=False)
    judge: CLIP = judged_by.model  # type: ignore[assignment]
    gen = load_run(generator_run, data=False)
    if not gen.model.has("sample") or gen.model.info.kind != "image":
        raise ConfigError(f"run {gen.run.id} ({gen.config['family']}) draws no images to score")
    if tuple(gen.model.info.shape) != tuple(judge.info.shape):
        raise ConfigError(
            f"run {gen.run.id} draws {tuple(gen.model.info.shape)} images but the CLIP run judges "
            f"{tuple(judge.info.shape)} images"
        )
    conditioned = takes_prompts(gen.model)
    unconditional = None
    per_prompt = {}
    for i, prompt in enumerate(prompts):
        generator = torch.Generator().manual_seed(seed + (i if conditioned else 0))
        if conditioned:
            images = gen.model.sample(n, generator=generator, prompt=prompt, **sample_opts)
        else:
            if unconditional is None:
                unconditional = gen.model.sample(n, generator=generator, **sample_opts)
            images = unconditional
        text = judge.encode_text(torch.tensor([encode_caption(prompt)]))
        cosine = judge.encode_images_float(images.float()) @ text.T
        per_prompt[prompt] = float(100 * cosine.clamp_min(0).mean())
    return {
        "run": gen.run.id,
        "clip_run": judged_by.run.id,
        "conditioned_on_prompts": conditioned,
        "samples_per_prompt": n,
        "clip_score": sum(per_prompt.values()) / len(per_prompt),
        "per_prompt": per_prompt,
    }
