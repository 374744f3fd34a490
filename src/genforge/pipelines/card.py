"""The model card: a short human summary of a run (``model_card.md``), rewritten after training and eval.

Markdown with a YAML front matter block (machine-readable: run, family, data and licence, the DP guarantee
and the membership-inference figures when the run has them), then sections for people: what was trained,
data and licence, intended use and caveats, the evaluation, differential privacy (``privacy.json``,
written by a DP run) and the membership-inference audit (``mia.json``, written by ``privacy mia``).
``model_card.html`` beside it is the same card as HTML (every value escaped).
"""

from __future__ import annotations

import html
import json
from typing import Any

import yaml

from genforge.core.io import atomic_write_text, read_json_object
from genforge.core.runs import Run

PRIVACY_FILE = "privacy.json"
MIA_FILE = "mia.json"
INTENDED_USE = (
    "Research and education: generating examples like the training data, measuring generative models. "
    "Not for decisions about people; samples can reproduce training examples unless the run is "
    "differentially private."
)


def _optional_json(run: Run, name: str) -> dict[str, Any] | None:
    path = run.artifact(name)
    return read_json_object(path) if path.exists() else None


def _front_matter(run: Run, config: dict[str, Any], privacy, mia) -> dict[str, Any]:
    data = config["data"]
    front: dict[str, Any] = {
        "run": run.id,
        "family": config["family"],
        "parameters": config.get("parameters", 0),
        "data": data["spec"],
        "seed": config["seed"],
    }
    source = (config.get("data_info") or {}).get("extra", {}).get("source")
    if isinstance(source, dict):
        front["license"] = source.get("license")
    if privacy:
        front["differential_privacy"] = {
            k: privacy.get(k) for k in ("epsilon", "delta", "accountant", "steps")
        }
    if mia:
        front["membership_inference"] = {k: mia.get(k) for k in ("attack", "auc", "tpr_at_fpr_0.01")}
        if "lira" in mia:
            front["membership_inference"]["shadows"] = mia["lira"]["shadows"]
    return front


def _privacy_lines(privacy: dict[str, Any] | None) -> list[str]:
    if not privacy:
        return ["", "## Differential privacy", "", "- not trained with differential privacy"]
    rdp = f" (RDP accountant: {privacy['epsilon_rdp']:.3f})" if "epsilon_rdp" in privacy else ""
    return [
        "",
        "## Differential privacy",
        "",
        f"- guarantee: ({privacy['epsilon']:.3f}, {privacy['delta']:.3g})-DP for each training example, "
        f"{privacy['accountant'].upper()} accountant{rdp}",
        f"- DP-SGD (Opacus): noise multiplier {privacy['noise_multiplier']:.4g}, clipping norm "
        f"{privacy['max_grad_norm']:g}, Poisson sample rate {privacy['sample_rate']:.4g}, {privacy['steps']} steps",
    ]


def _mia_lines(mia: dict[str, Any] | None) -> list[str]:
    if not mia:
        return []
    return [
        "",
        "## Membership inference",
        "",
        f"- {mia['attack']} attack, {mia['members']} members vs {mia['nonmembers']} held-out examples: "
        f"AUC {mia['auc']:.4f}, TPR at 1% FPR {mia['tpr_at_fpr_0.01']:.4f}, at 0.1% FPR "
        f"{mia['tpr_at_fpr_0.001']:.4f} (0.5 and the FPR itself mean no measurable leak)",
    ] + _lira_lines(mia)


def _lira_lines(mia: dict[str, Any]) -> list[str]:
    """LiRA's shadow models and its offline variant, when the attack was LiRA."""
    if "lira" not in mia:
        return []
    lira, offline = mia["lira"], mia["offline"]
    return [
        f"- LiRA: {lira['shadows']} shadow models of this family and config, {lira['shadow_steps']} steps "
        f"each on random halves (about {lira['shadow_train_size']} examples) of a {lira['pool']}-example "
        f"train + holdout pool; offline variant AUC {offline['auc']:.4f}, TPR at 1% FPR "
        f"{offline['tpr_at_fpr_0.01']:.4f}",
    ]


def _synthetic_lines(report: dict[str, Any] | None) -> list[str]:
    """The tabular synthesizer's report (``report.json``, written by ``genforge tabular report``)."""
    if not report:
        return []
    q, p = report["quality"], report["privacy"]
    f1 = {k: (v or {}).get("f1") for k, v in report["ml_efficacy"].items()}
    lines = ["", "## Synthetic data report", ""]
    for name in ("synthetic", "holdout"):
        f1_text = "–" if f1.get(name) is None else f"{f1[name]:.3f}"
        lines.append(
            f"- {name} ({report['rows']} rows): column shapes {q[name]['column_shapes']:.3f}, pair trends "
            f"{q[name]['pair_trends']:.3f}, ML-efficacy F1 {f1_text}, median DCR {p[name]['dcr_median']:.4f}, "
            f"exact copies {p[name]['exact_copies']:.4f}"
        )
    verdict = "passes" if report["privacy_verdict"]["passes"] else "fails"
    lines.append(
        f"- distance membership attack AUC {p['distance_attack']['auc']:.3f}; privacy verdict: {verdict}"
    )
    for column, entry in report.get("fairness", {}).items():
        lines.append(f"- {column}: largest group-share gap real vs synthetic {entry['max_share_gap']:.3f}")
    return lines


def write_model_card(run: Run) -> None:
    """Data, family, size, how training ended (early stopping and restored weights included), the last
    training loss, the evaluation figures, the DP guarantee and the membership-inference audit."""
    config = run.read_config()
    meta = run.latest_checkpoint_meta()
    train_rows = [r for r in run.read_metrics() if r.get("split") == "train"]
    last = train_rows[-1] if train_rows else {}
    counters = meta.get("counters") if isinstance(meta.get("counters"), dict) else {}
    privacy, mia = _optional_json(run, PRIVACY_FILE), _optional_json(run, MIA_FILE)
    front = yaml.safe_dump(_front_matter(run, config, privacy, mia), sort_keys=False).strip()
    lines = [
        "---",
        front,
        "---",
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
    lines += ["", "## Intended use", "", f"- {INTENDED_USE}"]
    result = run.read_eval()
    if result:
        lines += ["", "## Evaluation", ""]
        lines += [
            f"- {k}: {v:.4f}" if isinstance(v, float) else f"- {k}: {v}"
            for k, v in result.items()
            if not isinstance(v, dict | list)
        ]
    lines += _privacy_lines(privacy) + _mia_lines(mia) + _synthetic_lines(_optional_json(run, "report.json"))
    lines += ["", "Model config:", "", "```json", json.dumps(config["model"], indent=2), "```", ""]
    text = "\n".join(lines)
    atomic_write_text(run.model_card_path, text)
    atomic_write_text(run.artifact("model_card.html"), _html(text))


def _html(markdown: str) -> str:
    """The card as a small HTML page: headings, bullets and code kept, every value escaped."""
    body, in_code = [], False
    for line in markdown.splitlines():
        if line.startswith("```") or line == "---":  # code blocks and the front matter stay as written
            body.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
        elif in_code:
            body.append(html.escape(line))
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("- "):
            body.append(f"<li>{html.escape(line[2:])}</li>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>model card</title></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def model_card(run: str | Run, *, out: str | None = None, runs_root: str = "runs") -> dict[str, Any]:
    """Rewrite ``run``'s model card (Markdown + HTML) from its current records; with ``out``, also write the
    Markdown there (the HTML beside it, same name with ``.html``). Returns the paths and the front matter."""
    from genforge.core.paths import check_output_file
    from genforge.core.runs import resolve_run

    run = run if isinstance(run, Run) else resolve_run(run, runs_root)
    target = check_output_file(out, suffixes=(".md",)) if out else None
    write_model_card(run)
    paths = [run.model_card_path, run.artifact("model_card.html")]
    if target is not None:
        atomic_write_text(target, run.model_card_path.read_text(encoding="utf-8"))
        atomic_write_text(target.with_suffix(".html"), paths[1].read_text(encoding="utf-8"))
        paths = [target, target.with_suffix(".html")]
    text = paths[0].read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n", 2)[1])
    return {"run": run.id, "markdown": str(paths[0]), "html": str(paths[1]), "front_matter": front}
