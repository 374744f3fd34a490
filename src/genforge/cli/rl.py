"""``genforge rl train ppo|a2c|reinforce --env CartPole-v1 --steps 100000`` and ``genforge rl eval RUN``."""

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

ALGOS = ["ppo", "a2c", "reinforce"]


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
    add_seed(train)
    add_json(train)
    train.set_defaults(handler=run_train)
    ev = sub.add_parser("eval", help="mean episode reward of a run's policy, with a 95%% interval")
    ev.add_argument("run", help="run directory or id")
    ev.add_argument("--episodes", type=int, default=100, help="evaluation episodes (default 100)")
    ev.add_argument("--stochastic", action="store_true", help="sample actions instead of taking the mode")
    add_runs_root(ev)
    add_seed(ev)
    add_json(ev)
    ev.set_defaults(handler=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from genforge.cli.progress import CountProgress
    from genforge.core.config import parse_overrides
    from genforge.core.errors import ConfigError
    from genforge.core.seed import seed_everything
    from genforge.rl.learner import resume_rl, train_rl

    seed_everything(args.seed)
    overrides = parse_overrides(args.overrides)
    with CountProgress(f"rl {args.algo or 'resume'}", "env steps", quiet=args.quiet) as bar:

        def progress(event: dict) -> None:
            note = f"  mean return {event['mean_return']:.1f}" if "mean_return" in event else ""
            bar.update(event["step"], event["total_steps"], note)

        if args.resume:
            if overrides or args.steps is not None:
                raise ConfigError("--resume continues a run with its own config: drop --set/--steps")
            result = resume_rl(args.resume, max_minutes=args.max_minutes, progress=progress)
        else:
            if not args.algo:
                raise ConfigError(f"name an algorithm to train ({', '.join(ALGOS)}) or pass --resume RUN")
            if not 1 <= args.seeds <= 100:
                raise ConfigError(f"--seeds must be between 1 and 100, got {args.seeds}")
            results = [
                train_rl(
                    args.algo,
                    args.env,
                    steps=args.steps,
                    out=args.out,
                    seed=args.seed + k,
                    overrides=overrides,
                    max_minutes=args.max_minutes,
                    progress=progress,
                )
                for k in range(args.seeds)
            ]
            if args.seeds > 1:
                return _report_seeds(args, results)
            result = results[0]
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


def _report_seeds(args: argparse.Namespace, results: list) -> int:
    from genforge.core.errors import ConfigError
    from genforge.rl.learner import summarize_seeds

    unfinished = [r for r in results if r.evaluation is None]
    if unfinished:
        raise ConfigError(
            f"run {unfinished[0].run.path} stopped early ({unfinished[0].status}): resume it with --resume"
        )
    summary = summarize_seeds([r.evaluation for r in results])
    if args.json:
        print_json({**summary, "status": "completed", "evaluations": [r.evaluation for r in results]})
        return 0
    low, high = summary["ci95"]
    rows = [[r.run.id, f"{r.evaluation['mean_reward']:.1f}"] for r in results]
    title = f"{args.algo} on {args.env}: mean {summary['mean_reward']:.1f} (95% CI {low:.1f} .. {high:.1f})"
    console().print(table(title, ["run", "mean reward"], rows))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from genforge.core.runs import resolve_run
    from genforge.rl.learner import evaluate_policy

    run = resolve_run(args.run, args.runs)
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
