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


def test_weight_decay_spares_biases_and_norm_gains_as_in_nanogpt():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Embedding(5, 4), torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    opt = make_optimizer(net.parameters(), cfg(optimizer="adamw", lr=0.1, weight_decay=0.5))
    decayed, spared = opt.param_groups
    assert decayed["weight_decay"] == 0.5 and spared["weight_decay"] == 0.0
    assert {id(p) for p in decayed["params"]} == {id(net[0].weight), id(net[1].weight)}
    assert {id(p) for p in spared["params"]} == {id(net[1].bias), id(net[2].weight), id(net[2].bias)}
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: only weight decay can move a parameter
    opt.step()
    moved = {name for name, p in net.named_parameters() if not torch.equal(p, before[name])}
    assert moved == {"0.weight", "1.weight"}


def test_without_weight_decay_there_is_one_group():
    net = torch.nn.Linear(3, 2)
    assert len(make_optimizer(net.parameters(), cfg(optimizer="adamw", weight_decay=0.0)).param_groups) == 1


def test_the_language_models_norm_gains_and_biases_are_not_decayed():
    from genforge.data.info import DataInfo
    from genforge.models.base import build_model

    info = DataInfo(kind="tokens", shape=(17,), vocab_size=300, extra={"eot_id": 0})
    model = build_model("gpt", {"num_layers": 1, "num_heads": 2, "embed_dim": 16}, info)
    opt = make_optimizer(model.parameters(), cfg(optimizer="adamw", weight_decay=0.01))
    spared = {id(p) for p in opt.param_groups[1]["params"]}
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(id(m.weight) in spared for m in norms)
    assert all(id(p) in spared for name, p in model.named_parameters() if name.endswith("bias"))


def test_a_budget_given_for_a_session_replaces_the_configs_and_five_minutes_is_the_default():
    assert cfg().max_minutes == 5.0 and cfg().max_steps is None
    stepped = cfg(max_steps=100, max_minutes=2.0)
    assert stepped.with_budget() == stepped
    assert (stepped.with_budget(max_steps=300).max_steps, stepped.with_budget(max_steps=300).max_minutes) == (
        300,
        None,
    )
    assert (
        stepped.with_budget(max_minutes=1.0).max_steps,
        stepped.with_budget(max_minutes=1.0).max_minutes,
    ) == (
        None,
        1.0,
    )
    with pytest.raises(ConfigError, match="bad value for train key 'max_steps'"):
        stepped.with_budget(max_steps=0)
