"""The model card: a short human summary of a run (``model_card.md``), rewritten after training and eval."""

from __future__ import annotations

import json

from genforge.core.io import atomic_write_text
from genforge.core.runs import Run


def write_model_card(run: Run) -> None:
    """Data, family, size, how training ended (early stopping and restored weights included), the last
    training loss and the evaluation figures."""
    config = run.read_config()
    meta = run.latest_checkpoint_meta()
    train_rows = [r for r in run.read_metrics() if r.get("split") == "train"]
    last = train_rows[-1] if train_rows else {}
    counters = meta.get("counters") if isinstance(meta.get("counters"), dict) else {}
    lines = [
        f"# {config['family']} on {config['data']['spec']}",
        "",
        f"- run: `{run.id}`",
        f"- family: {config['family']} ({config.get('parameters', 0):,} parameters)",
        f"- data: `{config['data']['spec']}`, example shape {tuple(config['data_info']['shape'])}",
        f"- seed: {config['seed']}",
        f"- trained: {meta.get('step', 0)} steps in {meta.get('elapsed_s', 0):.0f} s ({meta.get('status', 'unknown')})",
    ]
    if meta.get("status") == "early_stopped" and counters.get("best_step") is not None:
        lines.append(
            f"- weights restored from step {counters['best_step']} "
            f"(best validation loss {counters['best_val']:.4f})"
        )
    if isinstance(last.get("loss"), float):
        lines.append(f"- last training loss: {last['loss']:.4f}")
    result = run.read_eval()
    if result:
        lines += ["", "## Evaluation", ""]
        lines += [
            f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}"
            for k, v in result.items()
            if not isinstance(v, dict | list)
        ]
    lines += ["", "Model config:", "", "```json", json.dumps(config["model"], indent=2), "```", ""]
    atomic_write_text(run.model_card_path, "\n".join(lines))
