"""MAML on sinusoids: genforge's ``torch.func`` learner against the ``higher`` library, side by side.

    python3.11 -m venv /work/venv-meta && /work/venv-meta/bin/pip install torch==2.13.0 higher pydantic
    PYTHONPATH=src /work/venv-meta/bin/python benchmarks/meta_higher.py [--seconds 10] [--rounds 3]

Both meta-train the same MLP 1-40-40-1 from the same weights on the same task batches (25 sinusoid tasks
of 10 support and 10 query points, one inner SGD step of 0.01, second order, outer Adam 1e-3):
genforge's ``MetaLearner.meta_step`` (``vmap`` over the tasks of ``grad`` through ``functional_call``)
and the loop from higher's MAML example (``innerloop_ctx`` per task, query loss backpropagated through
the differentiable SGD step). First the two meta-updates from one batch are compared (they must agree to
float precision); then each runs for ``--seconds`` in ``--rounds`` alternating rounds, so both see the
same background load, and the script prints meta-iterations/s for each and the ratio. Timings depend on
whatever else the CPU is doing: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from genforge.core.runs import new_run  # noqa: E402
from genforge.meta.learner import MetaConfig, MetaLearner  # noqa: E402
from genforge.meta.tasks import sinusoid_batch  # noqa: E402


def higher_meta_step(
    net: torch.nn.Module, meta_opt: torch.optim.Optimizer, batch: dict, cfg: MetaConfig
) -> float:
    """One MAML meta-iteration as higher's examples write it: a differentiable inner loop per task."""
    import higher

    inner_opt = torch.optim.SGD(net.parameters(), lr=cfg.inner_lr)
    meta_opt.zero_grad(set_to_none=True)
    tasks, total = batch["xs"].shape[0], 0.0
    for i in range(tasks):
        with higher.innerloop_ctx(net, inner_opt, copy_initial_weights=False) as (fnet, diffopt):
            for _ in range(cfg.inner_steps):
                diffopt.step((fnet(batch["xs"][i]) - batch["ys"][i]).pow(2).mean())
            query = (fnet(batch["xq"][i]) - batch["yq"][i]).pow(2).mean() / tasks
            query.backward()
            total += float(query.detach())
    meta_opt.step()
    return total


def _pair(
    cfg: MetaConfig, out: str
) -> tuple[MetaLearner, torch.nn.Module, torch.optim.Optimizer, torch.Generator]:
    """genforge's learner and a copy of its network, Adam and task generator for the higher loop."""
    learner = MetaLearner(cfg, new_run(out, "bench"), seed=0)
    twin = MetaLearner(cfg, new_run(out, "twin"), seed=0).net
    twin.load_state_dict(learner.net.state_dict())
    generator = torch.Generator().set_state(learner.generator.get_state())
    return learner, twin, torch.optim.Adam(twin.parameters(), lr=cfg.meta_lr), generator


def agreement(cfg: MetaConfig, out: str) -> float:
    """Largest parameter difference after one meta-iteration of each from the same state and batch."""
    learner, twin, meta_opt, generator = _pair(cfg, out)
    learner.meta_step()
    higher_meta_step(twin, meta_opt, sinusoid_batch(cfg.meta_batch, cfg.shots, cfg.query, generator), cfg)
    twin_params = dict(twin.named_parameters())
    return max(float((p - twin_params[k]).detach().abs().max()) for k, p in learner.net.named_parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time per library per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = MetaConfig()
    with tempfile.TemporaryDirectory() as out:
        diff = agreement(cfg, out)
        print(
            f"one meta-iteration from the same state: max |genforge - higher| parameter difference {diff:.2e}"
        )
        learner, twin, meta_opt, generator = _pair(cfg, out)
        counts, times = {"genforge": 0, "higher": 0}, {"genforge": 0.0, "higher": 0.0}
        for _ in range(args.rounds):
            for name in counts:
                start = time.perf_counter()
                while time.perf_counter() - start < args.seconds:
                    if name == "genforge":
                        learner.meta_step()
                    else:
                        batch = sinusoid_batch(cfg.meta_batch, cfg.shots, cfg.query, generator)
                        higher_meta_step(twin, meta_opt, batch, cfg)
                    counts[name] += 1
                times[name] += time.perf_counter() - start
    rate = {name: counts[name] / times[name] for name in counts}
    print(f"MAML sinusoid, 2nd order, {cfg.meta_batch} tasks/meta-batch, {cfg.inner_steps} inner step, "
          f"{args.threads} thread(s), load average at end {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'library':<10} {'meta-iterations':>16} {'seconds':>8} {'iterations/s':>13}")
    for name in counts:
        print(f"{name:<10} {counts[name]:>16} {times[name]:>8.1f} {rate[name]:>13.1f}")
    print(f"genforge / higher: {rate['genforge'] / rate['higher']:.2f}x (issue target >= 5x)")


if __name__ == "__main__":
    main()
