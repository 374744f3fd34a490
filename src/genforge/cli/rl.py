"""``genforge rl train ppo|a2c|reinforce --env CartPole-v1 --steps 100000``, ``genforge rl eval RUN`` and
``genforge rl tune runs/<gpt-id> --reward rules:FILE|guard --algo rloo|grpo|ppo``."""

from __future__ import annotations

import argparse

from genforge.cli.common import (
    add_json,
    add_overrides,
    add_runs_root,
    add_seed,
    console,
    err_console,
    print_json,
    table,
)
from genforge.cli.tracking import add_tracking, tracked

ALGOS = ["ppo", "a2c", "reinforce"]
TUNE_ALGOS = ["rloo", "grpo", "ppo"]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    train = sub.add_parser("train", help="train an agent on a gymnasium environment (or --resume a run)")
    train.add_argument("algo", nargs="?", choices=ALGOS, help="algorithm: ppo, a2c or reinforce")
    train.add_argument("--env", default="CartPole-v1", help="gymnasium environment id (default CartPole-v1)")
    train.add_argument("--steps", type=int, help="environment steps (default 100000)")
    train.add_argument("--max-minutes", type=float, help="stop this session after this many minutes")
    train.add_argument("--out", default="runs", help="directory that receives the run (default runs/)")
    add_overrides(train, "override a config key (repeatable), e.g. --set ent_coef=0.01 --set num_envs=4")
    train.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="train this many runs, seeds SEED, SEED+1, ...; mean +- CI over seeds",
    )
    train.add_argument("--resume", metavar="RUN", help="continue RUN exactly where it stopped")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_tracking(train)
    add_seed(train)
    add_json(train)
    train.set_defaults(handler=run_train)
    ev = sub.add_parser("eval", help="mean episode reward of a run's policy, with a 95%% interval")
    ev.add_argument("run", help="run directory or id")
    ev.add_argument("--episodes", type=int, default=100, help="evaluation episodes (default 100)")
    ev.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the mode")
    ev.add_argument(
        "--samples", type=int, default=128, help="completions scored for an rl tune run (default 128)"
    )
    add_runs_root(ev)
    add_seed(ev)
    add_json(ev)
    ev.set_defaults(handler=run_eval)
    tune = sub.add_parser("tune", help="RL-tune a GPT run toward a reward, with a KL penalty to the original")
    tune.add_argument("run", nargs="?", help="the gpt run to tune (run directory or id)")
    tune.add_argument("--reward", help="rules:FILE (keyword/regex/length rules, YAML), guard[:POLICY]")
    tune.add_argument("--algo", choices=TUNE_ALGOS, default="rloo", help="rloo (default), grpo or ppo")
    tune.add_argument("--kl", type=float, help="per-token KL penalty weight (default 0.05)")
    tune.add_argument(
        "--kl-target",
        type=float,
        help="adapt the KL weight (starting at --kl) to keep the KL near this many nats per sequence",
    )
    tune.add_argument(
        "--seeds", type=int, default=1, help="tune this many runs, seeds SEED, SEED+1, ...; mean +- CI"
    )
    tune.add_argument("--max-steps", type=int, help="updates (default 100)")
    tune.add_argument("--max-minutes", type=float, help="stop this session after this many minutes")
    tune.add_argument("--prompts", metavar="FILE", help="prompts, one per line (default: the empty prompt)")
    tune.add_argument("--out", default="runs", help="directory that receives the new run (default runs/)")
    add_overrides(tune, "override a tune config key (repeatable), e.g. --set lr=3e-4 --set max_new_tokens=48")
    tune.add_argument("--resume", metavar="RUN", help="continue a tune run exactly where it stopped")
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    add_runs_root(tune)
    add_seed(tune)
    add_json(tune)
    tune.set_defaults(handler=run_tune)


def run_train(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.config import parse_overrides
    from genforge.core.errors import ConfigError
    from genforge.core.seed import seed_everything
    from genforge.rl.learner import resume_rl, train_rl

    seed_everything(args.seed)
    overrides = parse_overrides(args.overrides)
    if args.track and args.seeds != 1:
        raise ConfigError(
            "--track follows one run: drop --seeds, or send the runs later with genforge track export"
        )
    with (
        CountProgress(f"rl {args.algo or 'resume'}", "env steps", quiet=args.quiet) as bar,
        tracked(args, lambda e: _show(bar, e)) as progress,
    ):
        if args.resume:
            if overrides or args.steps is not None:
                raise ConfigError("--resume continues a run with its own config: drop --set/--steps")
            result = resume_rl(args.resume, max_minutes=args.max_minutes, progress=progress)
        else:
            if not args.algo:
                raise ConfigError(f"name an algorithm to train ({', '.join(ALGOS)}) or pass --resume RUN")
            if args.seeds != 1:
                return _train_seeds(args, overrides, progress)
            result = train_rl(
                args.algo,
                args.env,
                steps=args.steps,
                out=args.out,
                seed=args.seed,
                overrides=overrides,
                max_minutes=args.max_minutes,
                progress=progress,
            )
        result.notes.extend(progress.finish(result))
    code = 130 if result.status == "interrupted" else 0
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "env_steps": result.env_steps,
                "updates": result.updates,
                "elapsed_s": result.elapsed_s,
                "evaluation": result.evaluation,
                "notes": result.notes,
            }
        )
        return code
    for note in result.notes:
        err_console().print(f"note: {note}", soft_wrap=True)
    out = console()
    out.print(f"{result.status}: {result.env_steps} env steps in {result.elapsed_s:.1f} s", soft_wrap=True)
    if result.evaluation is not None:
        ev = result.evaluation
        out.print(f"eval: mean reward {ev['mean_reward']:.1f} over {ev['episodes']} episodes", soft_wrap=True)
    out.print(f"run: {result.run.path}", soft_wrap=True)
    if result.status != "completed":
        out.print(f"resume with: genforge rl train --resume {result.run.path}", soft_wrap=True)
    return code


def _show(bar, event: dict) -> None:
    note = f"  mean return {event['mean_return']:.1f}" if "mean_return" in event else ""
    bar.update(event["step"], event["total_steps"], note)


def _train_seeds(args: argparse.Namespace, overrides: dict, progress) -> int:
    from genforge.research.rl_seeds import train_rl_seeds

    result = train_rl_seeds(
        args.algo, args.env, seeds=args.seeds, seed=args.seed, steps=args.steps, out=args.out,
        overrides=overrides, max_minutes=args.max_minutes, progress=progress,
    )  # fmt: skip
    summary = result.summary
    if args.json:
        print_json(result.to_dict())
        return 0
    low, high = summary["ci95"]
    rows = [
        [r.run.id, str(r.run.read_config()["seed"]), f"{r.evaluation['mean_reward']:.1f}"]
        for r in result.results
    ]
    title = (
        f"{args.algo} on {args.env}: mean {summary['mean_reward']:.1f} over {summary['seeds']} seeds "
        f"(95% Student-t interval {low:.1f} .. {high:.1f}; IQM {summary['stats']['iqm']:.1f})"
    )
    console().print(table(title, ["run", "seed", "mean reward"], rows))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.rl.learner import evaluate_policy

    run = resolve_run(args.run, args.runs)
    if "rltune" in run.read_config():
        return _eval_tune(args, run)
    result = evaluate_policy(run, args.episodes, seed=args.seed, deterministic=not args.stochastic)
    if args.json:
        print_json(result)
        return 0
    low, high = result["ci95"]
    rows = [
        ["mean reward", f"{result['mean_reward']:.2f}"],
        ["95% interval", f"{low:.2f} .. {high:.2f}"],
        ["std", f"{result['std_reward']:.2f}"],
        ["min / max", f"{result['min_reward']:.1f} / {result['max_reward']:.1f}"],
        ["episodes", str(result["episodes"])],
    ]
    console().print(
        table(f"{result['algo']} on {result['env']} ({result['run']})", ["figure", "value"], rows)
    )
    return 0


def _tune_config(args: argparse.Namespace):
    from pathlib import Path

    from genforge.core.config import parse_overrides
    from genforge.core.errors import ConfigError
    from genforge.rl.tune import TuneConfig

    values = {**parse_overrides(args.overrides), "algo": args.algo}
    if args.kl is not None:
        values["kl_coef"] = args.kl
    if args.kl_target is not None:
        values["kl_target"] = args.kl_target
    if args.max_steps is not None:
        values["max_steps"] = args.max_steps
    if args.prompts:
        path = Path(args.prompts)
        if not path.is_file():
            raise ConfigError(f"--prompts file {path} does not exist")
        prompts = [
            line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        if not prompts:
            raise ConfigError(f"--prompts file {path} has no prompt (one per line)")
        values["prompts"] = prompts
    return TuneConfig.build(values, where="rl tune")


def run_tune(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.errors import ConfigError
    from genforge.core.runs import resolve_run
    from genforge.core.seed import seed_everything
    from genforge.pipelines.rltune import resume_tune, tune_gpt

    seed_everything(args.seed)
    with CountProgress("rl tune", "updates", quiet=args.quiet) as bar:

        def progress(event: dict) -> None:
            bar.update(
                event["step"], event["total_steps"], f"  reward {event['reward']:.3f}  KL {event['kl']:.2f}"
            )

        if args.resume:
            if (
                args.run or args.reward or args.overrides or args.max_steps is not None or args.kl is not None
                or args.kl_target is not None or args.seeds != 1
            ):  # fmt: skip
                raise ConfigError(
                    "--resume continues a tune run with its own settings: drop RUN/--reward/--set/--seeds"
                )
            result = resume_tune(
                resolve_run(args.resume, args.runs), max_minutes=args.max_minutes, progress=progress
            )
        else:
            if not args.run or not args.reward:
                raise ConfigError("name the gpt run and a reward: genforge rl tune RUN --reward rules:FILE")
            config = _tune_config(args)
            parent = resolve_run(args.run, args.runs)
            if args.seeds != 1:
                return _tune_seeds(args, parent, config, progress)
            result = tune_gpt(
                parent, args.reward, config=config, out=args.out, seed=args.seed,
                max_minutes=args.max_minutes, progress=progress,
            )  # fmt: skip
    code = (
        0
        if result.status in ("completed", "constant_reward", "time_budget")
        else (130 if result.status == "interrupted" else 1)
    )
    if args.json:
        print_json(
            {
                "run": str(result.run.path),
                "status": result.status,
                "steps": result.steps,
                "elapsed_s": result.elapsed_s,
                "message": result.message,
                "warnings": result.warnings,
                "evaluation": result.evaluation,
                "notes": result.notes,
            }
        )
        return code
    err = err_console()
    for note in result.notes:
        err.print(f"note: {note}", soft_wrap=True)
    for warning in result.warnings[:10]:
        err.print(f"warning: {warning}", soft_wrap=True)
    if len(result.warnings) > 10:
        err.print(f"warning: ... and {len(result.warnings) - 10} more (metrics.jsonl)", soft_wrap=True)
    out = console()
    if result.message:
        out.print(f"{result.status}: {result.message}", soft_wrap=True)
    out.print(f"{result.status}: {result.steps} updates in {result.elapsed_s:.1f} s", soft_wrap=True)
    if result.evaluation is not None:
        ev = result.evaluation
        out.print(
            f"eval over {ev['samples']} samples: reward {ev['reference_reward']:.3f} -> {ev['tuned_reward']:.3f}, "
            f"KL {ev['kl']:.2f} nats per sequence",
            soft_wrap=True,
        )
    out.print(f"run: {result.run.path}", soft_wrap=True)
    if result.status in ("interrupted", "time_budget"):
        out.print(f"resume with: genforge rl tune --resume {result.run.path}", soft_wrap=True)
    return code


def _tune_seeds(args: argparse.Namespace, parent, config, progress) -> int:
    from genforge.research.rltune_seeds import tune_gpt_seeds

    result = tune_gpt_seeds(
        parent, args.reward, config=config, seeds=args.seeds, seed=args.seed, out=args.out,
        max_minutes=args.max_minutes, progress=progress,
    )  # fmt: skip
    if args.json:
        print_json(result.to_dict())
        return 0
    summary = result.summary
    rows = [
        [r.run.id, str(r.run.read_config()["seed"]), f"{ev['reference_reward']:.3f}",
         f"{ev['tuned_reward']:.3f}", f"{ev['reward_gain']:+.3f}", f"{ev['kl']:.2f}"]
        for r in result.results
        for ev in [r.evaluation]
    ]  # fmt: skip
    gain, kl = summary["reward_gain"], summary["kl"]
    title = (
        f"rl tune {config.algo} over {summary['seeds']} seeds: reward gain {gain['mean']:+.3f} "
        f"(95% Student-t {gain['ci95'][0]:+.3f} .. {gain['ci95'][1]:+.3f}), KL {kl['mean']:.2f} nats/sequence "
        f"({kl['ci95'][0]:.2f} .. {kl['ci95'][1]:.2f})"
    )
    header = ["run", "seed", "parent reward", "tuned reward", "gain", "KL"]
    console().print(table(title, header, rows))
    return 0


def _eval_tune(args: argparse.Namespace, run) -> int:
    from genforge.pipelines.rltune import evaluate_tune

    result = evaluate_tune(run, args.samples, seed=args.seed)
    if args.json:
        print_json(result)
        return 0
    rows = [
        ["reward of the parent", f"{result['reference_reward']:.4f}"],
        ["reward of the tuned run", f"{result['tuned_reward']:.4f}"],
        ["KL to the parent (nats/sequence)", f"{result['kl']:.3f}"],
        ["samples", str(result["samples"])],
    ]
    console().print(table(f"rl tune {result['run']} ({result['reward']})", ["figure", "value"], rows))
    return 0
