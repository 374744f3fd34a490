"""MAML and Reptile with torch.func: the inner step and the meta-gradient agree with plain autograd,
training adapts, an interrupted run resumes exactly, and bad input is one line."""

import os
import signal

import pytest
import torch
from tests.torch_threads import one_torch_thread  # noqa: F401  (the fixture pytestmark uses)
from torch.func import functional_call

from genforge.core.errors import ConfigError
from genforge.meta.learner import (
    MetaConfig,
    MetaLearner,
    adapt,
    evaluate_meta,
    resume_meta,
    train_meta,
)
from genforge.meta.tasks import regressor, sinusoid_batch

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"meta_batch": 4, "iterations": 40, "log_every": 5, "checkpoint_every": 10, "hidden": 16}


def test_sinusoid_tasks_follow_their_definition():
    batch = sinusoid_batch(500, 5, 7, torch.Generator().manual_seed(0))
    assert batch["xs"].shape == (500, 5, 1) and batch["yq"].shape == (500, 7, 1)
    amp, phase = batch["amplitude"].view(-1, 1, 1), batch["phase"].view(-1, 1, 1)
    assert torch.allclose(batch["ys"], amp * torch.sin(batch["xs"] - phase))
    assert amp.min() >= 0.1 and amp.max() <= 5.0 and phase.min() >= 0 and phase.max() <= torch.pi
    assert batch["xq"].min() >= -5 and batch["xq"].max() <= 5


def _task():
    torch.manual_seed(0)
    net = regressor(8)
    b = sinusoid_batch(1, 5, 5, torch.Generator().manual_seed(1))
    return net, b["xs"][0], b["ys"][0], b["xq"][0], b["yq"][0]


def test_adaptation_is_plain_sgd_on_the_support_loss():
    net, xs, ys, _, _ = _task()
    params = {k: v.detach() for k, v in net.named_parameters()}
    adapted = adapt(net, params, xs, ys, steps=2, lr=0.05, first_order=True)
    manual = regressor(8)
    manual.load_state_dict(net.state_dict())
    sgd = torch.optim.SGD(manual.parameters(), lr=0.05)
    for _ in range(2):
        sgd.zero_grad()
        (manual(xs) - ys).pow(2).mean().backward()
        sgd.step()
    for name, p in manual.named_parameters():
        assert torch.allclose(adapted[name], p, atol=1e-6)


@pytest.mark.parametrize("first_order", [False, True])
def test_meta_gradient_equals_autograd_through_the_inner_step(first_order):
    net, xs, ys, xq, yq = _task()
    params = dict(net.named_parameters())
    adapted = adapt(net, params, xs, ys, steps=1, lr=0.1, first_order=first_order)
    ours = torch.autograd.grad(
        (functional_call(net, adapted, (xq,)) - yq).pow(2).mean(), list(params.values())
    )
    # the reference: the same step with torch.autograd, create_graph for the second-order terms
    inner = torch.autograd.grad(
        (net(xs) - ys).pow(2).mean(), list(params.values()), create_graph=not first_order
    )
    fast = {
        k: p - 0.1 * (g if not first_order else g.detach())
        for (k, p), g in zip(params.items(), inner, strict=True)
    }
    ref = torch.autograd.grad((functional_call(net, fast, (xq,)) - yq).pow(2).mean(), list(params.values()))
    for a, b in zip(ours, ref, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_second_order_terms_change_the_meta_gradient():
    net, xs, ys, xq, yq = _task()
    params = dict(net.named_parameters())
    grads = {}
    for first_order in (False, True):
        adapted = adapt(net, params, xs, ys, steps=1, lr=0.1, first_order=first_order)
        loss = (functional_call(net, adapted, (xq,)) - yq).pow(2).mean()
        grads[first_order] = torch.autograd.grad(loss, list(params.values()))
    assert not all(torch.allclose(a, b) for a, b in zip(grads[False], grads[True], strict=True))


def test_reptile_moves_the_initialisation_toward_the_adapted_parameters(tmp_path):
    from genforge.core.runs import new_run

    config = MetaConfig(algo="reptile", inner_steps=3, meta_batch=2, hidden=8, meta_lr=1e-3)
    learner = MetaLearner(config, new_run(tmp_path, "r"), seed=0)
    learner.optimizer = torch.optim.SGD(learner.net.parameters(), lr=1.0)  # step = theta - mean(phi)
    state = torch.Generator().set_state(learner.generator.get_state())
    batch = sinusoid_batch(2, config.shots, config.query, state)
    before = {k: v.detach().clone() for k, v in learner.net.named_parameters()}
    phis = []
    for i in range(2):
        x = torch.cat([batch["xs"][i], batch["xq"][i]])
        y = torch.cat([batch["ys"][i], batch["yq"][i]])
        phis.append(adapt(learner.net, before, x, y, 3, config.inner_lr, True))
    learner.meta_step()
    for name, p in learner.net.named_parameters():
        assert torch.allclose(p, (phis[0][name] + phis[1][name]) / 2, atol=1e-6)


@pytest.mark.parametrize("task", ["sinusoid", "digits:3way-1shot"])
def test_sigint_then_resume_ends_exactly_like_the_uninterrupted_run(task, tmp_path):
    reference = train_meta("maml", task, out=tmp_path / "ref", seed=2, overrides=SMALL)

    def interrupt(event):
        if event["step"] == 15:
            os.kill(os.getpid(), signal.SIGINT)

    part = train_meta("maml", task, out=tmp_path, seed=2, overrides=SMALL, progress=interrupt)
    assert part.status == "interrupted" and part.iterations == 15 and part.evaluation is None
    done = resume_meta(part.run.path)
    assert done.status == "completed" and done.iterations == 40
    a, b = reference.run.load_checkpoint(), done.run.load_checkpoint()
    assert [k for k in a.tensors if not torch.equal(a.tensors[k], b.tensors[k])] == []
    assert reference.run.read_metrics() == done.run.read_metrics()
    assert done.evaluation == {**reference.evaluation, "run": done.run.id}


def test_maml_training_lowers_the_adapted_query_error(tmp_path):
    result = train_meta("maml", out=tmp_path, seed=0, overrides={"iterations": 300, "log_every": 50})
    curve = evaluate_meta(result.run, 200)["after_steps"]
    untrained = evaluate_meta(train_meta("maml", out=tmp_path, seed=0, overrides={"iterations": 1}).run, 200)
    assert curve["1"]["mse"] < untrained["after_steps"]["1"]["mse"]
    assert curve["10"]["mse"] < curve["0"]["mse"]


def test_bad_input_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="unknown meta-learning task 'cosine'"):
        train_meta("maml", "cosine", out=tmp_path / "runs")
    with pytest.raises(ConfigError, match="--first-order applies to maml only"):
        train_meta("reptile", out=tmp_path / "runs", overrides={"first_order": True})
    assert not (tmp_path / "runs").exists()
    with pytest.raises(ConfigError, match="--episodes must be between"):
        evaluate_meta(tmp_path, 0)


def test_the_pretrain_baseline_trains_without_an_inner_loop(tmp_path):
    result = train_meta("pretrain", out=tmp_path, seed=0, overrides={"iterations": 20, "log_every": 10})
    records = result.run.read_metrics()
    assert [r["step"] for r in records] == [10, 20] and result.evaluation["algo"] == "pretrain"
