"""``genforge rl tune``: RL-tune a GPT run toward a reward into a new GPT run (parent recorded).

:func:`tune_gpt` is the one call the CLI makes; :func:`resume_tune` continues an interrupted tune run.
The algorithms are :mod:`genforge.rl.tune`; this module builds what they need from runs and files:

- the reward from its spec: ``rules:FILE`` (or a bare path; :mod:`genforge.rl.rewards`), ``guard[:POLICY]``
  (the guardrail's input-stage verdict on each completion: 0 when blocked, else ``1 - max rail score``),
  ``classifier:RUN`` (refused: genforge has no text-classifier run family yet);
- the policy and the frozen reference from the parent run's latest weights; the reference is also saved
  as ``reference.safetensors`` in the new run, so a resume needs nothing outside it;
- the new run: the parent's ``config.json`` (family, model, data, tokenizer digest) plus ``parent``,
  ``rltune`` (the :class:`TuneConfig`), ``reward`` and ``seed``; the parent's ``tokenizer.json``.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from genforge.core.errors import CheckpointError, ConfigError
from genforge.core.io import load_tensors, save_tensors
from genforge.core.paths import check_output_dir
from genforge.core.runs import Run, new_run
from genforge.data.tokenizers import TOKENIZER_FILE, TextTokenizer, load_run_tokenizer
from genforge.guard.policy import Guard
from genforge.models.gpt import GPT
from genforge.pipelines.loading import LoadedRun, as_run, build_run_model, load_run
from genforge.rl.curves import CURVES_FILE, save_tune_curves
from genforge.rl.rewards import RewardFn, load_rule_reward
from genforge.rl.tune import TuneConfig, Tuner, TuneResult

REFERENCE_FILE = "reference.safetensors"
ProgressFn = Callable[[dict[str, Any]], None]


class GuardReward:
    """``1 - max rail score`` of the guard's ``stage`` rails on each text, 0 when the guard blocks it."""

    def __init__(self, guard: Guard, stage: str = "input") -> None:
        self.guard, self.stage = guard, stage

    def __call__(self, texts: Sequence[str]) -> list[float]:
        out = []
        for text in texts:
            result = self.guard.check(text, self.stage)
            out.append(0.0 if result.blocked else 1.0 - max((v.score for v in result.verdicts), default=0.0))
        return out


def build_reward(spec: str) -> RewardFn:
    """The reward named by ``spec``: ``rules:FILE`` / a path, ``guard`` / ``guard:POLICY``, ``classifier:RUN``."""
    kind, _, arg = spec.partition(":")
    if kind == "guard":
        return GuardReward(Guard.load(arg or None))
    if kind == "classifier":
        raise ConfigError(
            "genforge has no text-classifier run family yet, so classifier:RUN cannot score text: "
            "use rules:FILE or guard"
        )
    if kind in ("rules", "rule"):
        if not arg:
            raise ConfigError("--reward rules needs a file: --reward rules:rules.yaml")
        return load_rule_reward(arg)
    if Path(spec).suffix in (".yaml", ".yml", ".json"):
        return load_rule_reward(spec)
    raise ConfigError(
        f"unknown reward '{spec}': use rules:FILE (or a .yaml path), guard[:POLICY] or classifier:RUN"
    )


def reward_spec(spec: str) -> str:
    """``spec`` with a rule or policy file's path made absolute, as the run records it (a resume from another
    directory reads the same file)."""
    kind, _, arg = spec.partition(":")
    if kind in ("rules", "rule") and arg:
        return f"rules:{Path(arg).resolve()}"
    if kind == "guard" and arg:
        return f"guard:{Path(arg).resolve()}"
    if kind not in ("guard", "classifier") and Path(spec).suffix in (".yaml", ".yml", ".json"):
        return f"rules:{Path(spec).resolve()}"
    return spec


def _gpt_and_tokenizer(loaded: LoadedRun) -> tuple[GPT, TextTokenizer]:
    """The run's GPT and its own tokenizer (checked against the digest the run recorded)."""
    model = loaded.model
    if not isinstance(model, GPT):
        raise ConfigError(
            f"run {loaded.run.id} is a {loaded.config['family']} run: rl tune needs a gpt run "
            "(genforge train gpt --data text:...)"
        )
    tokenizer = load_run_tokenizer(
        loaded.run.path,
        expected_digest=model.info.extra.get("tokenizer_sha256"),
        vocab_size=model.info.vocab_size,
        run_id=loaded.run.id,
    )
    return model, tokenizer


def _tuner(
    run: Run,
    config: TuneConfig,
    policy: GPT,
    reference: GPT,
    tokenizer: TextTokenizer,
    reward: RewardFn,
    seed: int,
    reward_name: str,
) -> Tuner:
    eot = int(policy.info.extra.get("eot_id", 0))
    return Tuner(
        config, run, policy, reference,
        encode=lambda prompt: [eot, *tokenizer.encode(prompt)],
        decode=lambda ids: tokenizer.decode(ids),
        reward=reward, eot_id=eot, seed=seed, reward_name=reward_name,
    )  # fmt: skip


def tune_gpt(
    parent: str | Path | Run,
    reward: str,
    *,
    config: TuneConfig | None = None,
    out: str | Path = "runs",
    seed: int = 0,
    max_minutes: float | None = None,
    progress: ProgressFn | None = None,
) -> TuneResult:
    """RL-tune the GPT run ``parent`` toward ``reward`` (a spec, see :func:`build_reward`) into a new run
    under ``out``. Everything is checked before the run directory is created."""
    config = config or TuneConfig()
    check_output_dir(out)
    reward = reward_spec(reward)
    reward_fn = build_reward(reward)
    loaded = load_run(parent, data=False, ema=True)
    policy, tokenizer = _gpt_and_tokenizer(loaded)
    reference = copy.deepcopy(policy)
    parent_config = loaded.config
    run = new_run(out, f"rltune-{config.algo}")
    try:
        tuner = _tuner(run, config, policy, reference, tokenizer, reward_fn, seed, reward)
    except ConfigError:
        shutil.rmtree(run.path, ignore_errors=True)
        raise
    shutil.copyfile(loaded.run.artifact(TOKENIZER_FILE), run.artifact(TOKENIZER_FILE))
    save_tensors(run.artifact(REFERENCE_FILE), reference.state_dict())
    run.write_config(
        {
            **{k: v for k, v in parent_config.items() if k not in ("rltune", "parent", "reward")},
            "parent": {"run": str(loaded.run.path), "id": loaded.run.id, "step": loaded.step},
            "rltune": config.model_dump(),
            "reward": reward,
            "seed": seed,
        }
    )
    return _fit(tuner, max_minutes, progress, list(loaded.notes))


def _restore(run: Run) -> Tuner:
    """The tuner of a tune run, its weights, optimizer and generator from the latest checkpoint."""
    saved = run.read_config()
    if "rltune" not in saved:
        raise ConfigError(f"run {run.id} is not an rl tune run (genforge rl tune makes one)")
    config = TuneConfig.build(saved["rltune"], where=str(run.config_path))
    reward_fn = build_reward(saved["reward"])
    loaded = load_run(run, data=False, ema=False)
    policy, tokenizer = _gpt_and_tokenizer(loaded)
    reference = build_run_model(run, saved)
    try:
        reference.load_state_dict(load_tensors(run.artifact(REFERENCE_FILE)))
    except RuntimeError as exc:
        raise CheckpointError(
            f"{run.artifact(REFERENCE_FILE)} does not fit the model: {str(exc).splitlines()[0]}"
        ) from None
    tuner = _tuner(run, config, policy, reference, tokenizer, reward_fn, int(saved["seed"]), saved["reward"])
    tuner.notes = tuner.load()
    return tuner


def resume_tune(
    run: str | Path | Run, *, max_minutes: float | None = None, progress: ProgressFn | None = None
) -> TuneResult:
    """Continue a tune run from its latest checkpoint to its ``max_steps``, exactly."""
    tuner = _restore(as_run(run))
    config, run = tuner.config, tuner.run
    if tuner.steps >= config.max_steps:
        raise ConfigError(
            f"run {run.id} already finished its {config.max_steps} updates; tune a new run for more"
        )
    return _fit(tuner, max_minutes, progress, tuner.notes)


def evaluate_tune(run: str | Path | Run, samples: int = 128, *, seed: int = 0) -> dict[str, Any]:
    """Mean reward of ``samples`` fresh completions from the parent (the frozen reference) and from the
    tune run's latest weights, and the tuned model's mean sequence KL to the parent; into ``eval.json``."""
    if not 1 <= samples <= 100_000:
        raise ConfigError(f"--samples must be between 1 and 100000, got {samples}")
    tuner = _restore(as_run(run))
    evaluation = tuner.evaluate(samples, seed=seed)
    result = {"run": tuner.run.id, "reward": tuner.reward_name, "updates": tuner.steps, **evaluation}
    tuner.run.write_eval(result)
    return result


def _fit(
    tuner: Tuner, max_minutes: float | None, progress: ProgressFn | None, notes: list[str]
) -> TuneResult:
    with tuner.run.training_lock():
        result = tuner.fit(max_minutes, progress)
    result.notes = notes + result.notes
    kind, _, arg = result.reward.partition(":")
    title = f"rl tune {tuner.config.algo} {tuner.run.id} ({kind}{':' + Path(arg).name if arg else ''})"
    save_tune_curves(tuner.run.read_metrics(), tuner.run.artifact(CURVES_FILE), title, tuner.config.kl_target)
    if result.status in ("completed", "constant_reward", "time_budget"):
        evaluation = tuner.evaluate(tuner.config.eval_samples, seed=tuner.seed + 10**6)
        result.evaluation = {
            "run": tuner.run.id,
            "reward": result.reward,
            "updates": tuner.steps,
            **evaluation,
        }
        tuner.run.write_eval(result.evaluation)
    return result
