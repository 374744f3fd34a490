import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.trainer.loop import TrainConfig
from genforge.trainer.optim import EMA, clip_gradients, lr_factor, make_optimizer


def cfg(**kw):
    return TrainConfig.build(kw)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_each_optimizer_takes_a_step(name):
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = make_optimizer([w], cfg(optimizer=name, lr=0.1, nesterov=True))
    (w**2).sum().backward()
    opt.step()
    assert (w.detach().abs() < torch.tensor([1.0, 2.0])).all()


def test_sgd_nesterov_is_passed_through():
    w = torch.nn.Parameter(torch.zeros(1))
    opt = make_optimizer([w], cfg(optimizer="sgd", nesterov=True, momentum=0.5))
    assert opt.param_groups[0]["nesterov"] and opt.param_groups[0]["momentum"] == 0.5


def test_schedules_have_their_shapes():
    total = 100
    assert lr_factor(50, cfg(schedule="constant"), total) == 1.0
    assert lr_factor(250, cfg(schedule="step", step_size=100, gamma=0.5), total) == 0.25
    assert lr_factor(0, cfg(schedule="cosine"), total) == pytest.approx(1.0)
    assert lr_factor(50, cfg(schedule="cosine"), total) == pytest.approx(0.5)
    assert lr_factor(100, cfg(schedule="cosine", min_lr_ratio=0.1), total) == pytest.approx(0.1)
    warm = cfg(schedule="warmup_cosine", warmup_steps=10)
    assert lr_factor(0, warm, total) == pytest.approx(0.1)
    assert lr_factor(9, warm, total) == pytest.approx(1.0)
    assert lr_factor(55, warm, total) == pytest.approx(0.5)
    one = cfg(schedule="onecycle")
    peak = max(range(total), key=lambda s: lr_factor(s, one, total))
    assert peak == 30 and lr_factor(0, one, total) == pytest.approx(0.04)


def test_cosine_without_step_budget_uses_cosine_steps():
    c = cfg(schedule="cosine", cosine_steps=10)
    assert lr_factor(5, c, None) == pytest.approx(0.5)


def test_unknown_schedule_rejected_by_config_and_by_lr_factor():
    with pytest.raises(ConfigError, match="schedule"):
        cfg(schedule="linear")
    with pytest.raises(ConfigError, match="unknown schedule 'bogus'"):
        lr_factor(0, type("C", (), {"schedule": "bogus"})(), 10)


def test_clip_gradients_bounds_the_norm():
    w = torch.nn.Parameter(torch.ones(4))
    (w * 10).sum().backward()
    before = clip_gradients([w], 1.0)
    assert before == pytest.approx(20.0)
    assert w.grad.norm().item() == pytest.approx(1.0, rel=1e-5)


def test_ema_tracks_parameters_with_warmup():
    module = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(module.weight)
    ema = EMA(module, decay=0.5)
    with torch.no_grad():
        module.weight.fill_(1.0)
    ema.update(module)  # warm-up decay min(0.5, 2/11) = 0.1818...
    assert ema.shadow["weight"].item() == pytest.approx(1 - 2 / 11)
