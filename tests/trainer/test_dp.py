"""DP-SGD through Opacus inside the trainer: epsilon recorded and equal to Opacus's accountant, the budget
holds, resume is exact, and bad settings are one clear error."""

import json

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.pipelines.loading import load_run
from genforge.pipelines.training import resume, train
from genforge.trainer.config import TrainConfig
from genforge.trainer.dp import PrivacySettings, epsilon_after
from tests.trainer import tiny_model  # noqa: F401  (registers the tiny-test family)

SMALL_VAE = {"base_channels": 4, "max_channels": 8, "latent_dim": 4, "ema_decay": 0.0, "eval_every": 1000,
             "sample_every": 1000, "final_eval": False, "log_every": 4, "batch_size": 32}  # fmt: skip


def _dp(**extra):
    return {**SMALL_VAE, "dp": True, **extra}


def test_dp_vae_records_an_epsilon_within_the_target_equal_to_opacus(tmp_path):
    from opacus.accountants import PRVAccountant

    result = train(
        "vae", "digits", out=tmp_path, seed=0, max_steps=8, overrides=_dp(dp_epsilon=3.0, dp_delta=1e-5)
    )
    assert result.status == "completed" and result.step == 8
    ledger = json.loads(result.run.artifact("privacy.json").read_text())
    assert (
        2.9 < ledger["epsilon"] <= 3.0 and ledger["steps"] == 8 and ledger["epsilon_rdp"] >= ledger["epsilon"]
    )
    accountant = PRVAccountant()
    accountant.history = [(ledger["noise_multiplier"], ledger["sample_rate"], 8)]
    assert abs(accountant.get_epsilon(delta=1e-5) - ledger["epsilon"]) < 1e-6
    logged = [r["epsilon"] for r in result.run.read_metrics() if r["split"] == "train"]
    assert logged == sorted(logged) and logged[-1] == pytest.approx(ledger["epsilon"])
    assert "differential privacy" in result.run.model_card_path.read_text().lower()


def test_a_target_epsilon_is_a_hard_budget_with_a_given_noise(tmp_path):
    result = train("vae", "digits", out=tmp_path, seed=0, max_steps=50,
                   overrides=_dp(dp_noise_multiplier=0.8, dp_epsilon=2.0, dp_delta=1e-5))  # fmt: skip
    ledger = json.loads(result.run.artifact("privacy.json").read_text())
    assert result.status == "privacy_budget" and result.step < 50
    assert ledger["epsilon"] <= 2.0
    settings = PrivacySettings(0.8, 1.0, ledger["sample_rate"], 1e-5, 2.0, None, "prv")
    assert epsilon_after(settings, result.step + 1) > 2.0  # one more step would have spent too much


@pytest.mark.parametrize("family", ["vae", "gan"])
def test_dp_resume_gives_the_uninterrupted_weights_and_epsilon(tmp_path, family):
    overrides = _dp(dp_noise_multiplier=1.0, checkpoint_every=1000)
    full = train(family, "digits", out=tmp_path / "full", seed=2, max_steps=8, overrides=overrides)

    def stop_at_4(event):
        if event["step"] == 4:
            raise KeyboardInterrupt

    part = train(
        family, "digits", out=tmp_path / "part", seed=2, max_steps=8, overrides=overrides, progress=stop_at_4
    )
    assert part.status == "interrupted" and part.step == 4
    assert json.loads(part.run.artifact("privacy.json").read_text())["steps"] == 4  # the budget spent is kept
    resumed = resume(part.run.path)
    assert resumed.step == 8
    a = load_run(full.run.path, ema=False).model.state_dict()
    b = load_run(part.run.path, ema=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    eps = [json.loads(r.run.artifact("privacy.json").read_text())["epsilon"] for r in (full, resumed)]
    assert eps[0] == eps[1]


def test_dp_gan_trains_only_its_discriminator_privately_and_records_opacus_epsilon(tmp_path):
    from opacus.accountants import PRVAccountant
    from opacus.optimizers import DPOptimizer

    from genforge.trainer.dp import private_training

    result = train("gan", "digits", out=tmp_path, seed=0, max_steps=6,
                   overrides=_dp(dp_epsilon=2.0, dp_delta=1e-5))  # fmt: skip
    assert result.status == "completed" and result.step == 6
    ledger = json.loads(result.run.artifact("privacy.json").read_text())
    accountant = PRVAccountant()
    accountant.history = [(ledger["noise_multiplier"], ledger["sample_rate"], 6)]
    assert abs(accountant.get_epsilon(delta=1e-5) - ledger["epsilon"]) < 1e-6 and ledger["epsilon"] <= 2.0
    assert "differential privacy" in result.run.model_card_path.read_text().lower()
    model = load_run(result.run.path, ema=False).model.train()
    optimizers = {name: torch.optim.Adam(p) for name, p in model.optimizer_groups().items()}
    config = result.run.read_config()["train"]
    training = private_training(model, optimizers, TrainConfig(**config), 1000, 32)
    assert (
        isinstance(optimizers["discriminator"], DPOptimizer)
        and training.optimizer is optimizers["discriminator"]
    )
    assert not isinstance(optimizers["generator"], DPOptimizer) and model.private_batch == 32
    training.close()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loss": "wgan-gp"}, "use --set loss=ns or --set loss=hinge"),
        ({"n_critic": 2}, "n_critic=1"),
        ({"spectral_norm": True}, "drop --set spectral_norm=true"),
    ],
)
def test_dp_gan_settings_it_cannot_clip_per_example_are_one_clear_error(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train("gan", "digits", out=tmp_path, max_steps=2, overrides=_dp(dp_noise_multiplier=1.0, **overrides))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dp_epsilon": 3.0, "dp_delta": 0.01}, "not below 1/N"),
        ({"dp_epsilon": -1.0}, "dp_epsilon"),
        ({}, "needs a target --epsilon or a --noise-multiplier"),
    ],
)
def test_bad_dp_settings_are_one_clear_error_and_leave_nothing(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        train("vae", "digits", out=tmp_path, max_steps=4, overrides=_dp(**overrides))
    assert list(tmp_path.iterdir()) == []


def test_a_model_opacus_cannot_handle_is_named_with_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="Opacus cannot train"):
        train(
            "tiny-test",
            "digits",
            out=tmp_path,
            max_steps=2,
            overrides={"dp": True, "dp_noise_multiplier": 1.0},
        )


@pytest.mark.parametrize(
    ("family", "data", "config"),
    [
        ("gpt", "text:lee", {"num_layers": 1, "num_heads": 2, "embed_dim": 16, "dropout": 0.0}),
        ("realnvp", "digits", {"hidden_channels": 8, "num_res_blocks": 1, "num_scales": 1,
                               "couplings_per_scale": 2, "final_couplings": 1}),
    ],
)  # fmt: skip
def test_per_sample_gradients_equal_one_backward_pass_per_example(family, data, config):
    """GPT (tied output layer, position table) and RealNVP (couplings with a mask buffer): what DP-SGD clips
    per example is exactly that example's own gradient, every parameter included."""
    from genforge.data import load_dataset
    from genforge.models.base import build_model
    from genforge.trainer.dp import private_training

    dataset = load_dataset(data)
    torch.manual_seed(0)
    model = build_model(family, config, dataset.info).train()  # no dropout in either config
    if hasattr(model, "dequantize"):  # the same dequantization offsets for the batch and for each example
        model.dequantize = lambda x, generator=None: (x.float() + 0.5) / dataset.info.num_levels
    batch = next(dataset.batches("train", 3))
    expected = []
    for i in range(3):
        model.zero_grad()
        model.loss({k: v[i : i + 1] for k, v in batch.items()})["loss"].backward()
        expected.append({n: p.grad.clone() for n, p in model.named_parameters()})
    model.zero_grad()
    training = private_training(model, {"main": torch.optim.SGD(model.parameters(), lr=0.1)},
                                TrainConfig(dp=True, dp_noise_multiplier=1.0, batch_size=3), 1000, 3)  # fmt: skip
    model.loss(batch)["loss"].backward()
    for name, param in model.named_parameters():
        assert param.grad_sample is not None, name
        for i in range(3):
            torch.testing.assert_close(param.grad_sample[i], expected[i][name], rtol=1e-4, atol=1e-6)
    training.close()


def test_a_layer_without_per_sample_gradients_is_named_and_a_refused_model_leaves_no_run(tmp_path):
    from torch import nn

    from genforge.trainer.dp import PrivacySettings, PrivateTraining

    class Buffered(nn.Module):  # a trainable layer that also holds a buffer: no per-sample rule for it
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3))
            self.register_buffer("offset", torch.zeros(3))

        def forward(self, x):
            return x * self.weight + self.offset

    settings = PrivacySettings(1.0, 1.0, 0.1, 1e-5, None, None, "prv")
    model = nn.Sequential(nn.Linear(3, 3), Buffered())
    with pytest.raises(ConfigError, match="Buffered"):
        PrivateTraining(model, torch.optim.SGD(model.parameters(), lr=0.1), settings, 8)
    with pytest.raises(ConfigError, match="Opacus cannot train"):
        train(
            "tiny-test",
            "digits",
            out=tmp_path,
            max_steps=2,
            overrides={"dp": True, "dp_noise_multiplier": 1.0},
        )
    assert list(tmp_path.iterdir()) == []


def test_resuming_with_a_larger_step_budget_keeps_the_noise_and_the_epsilon_budget(tmp_path):
    first = train(
        "vae", "digits", out=tmp_path, seed=0, max_steps=4, overrides=_dp(dp_epsilon=2.0, dp_delta=1e-5)
    )
    sigma = json.loads(first.run.artifact("privacy.json").read_text())["noise_multiplier"]
    more = resume(first.run.path, max_steps=40)
    ledger = json.loads(first.run.artifact("privacy.json").read_text())
    assert ledger["noise_multiplier"] == sigma  # the noise the run started with, not one solved for 40 steps
    assert more.status == "privacy_budget" and more.step == 4 and ledger["epsilon"] <= 2.0


def test_each_real_example_and_its_fake_are_clipped_as_one_per_sample_gradient():
    from genforge.data import load_dataset
    from genforge.models.base import build_model
    from genforge.trainer.dp import private_training

    dataset = load_dataset("digits")
    model = build_model("gan", {"base_channels": 4, "max_channels": 8, "latent_dim": 4}, dataset.info).train()
    optimizers = {name: torch.optim.Adam(p) for name, p in model.optimizer_groups().items()}
    config = TrainConfig(dp=True, dp_noise_multiplier=1.0, batch_size=32)
    training = private_training(model, optimizers, config, 1000, 32)
    seen = []
    pre_step = optimizers["discriminator"].pre_step

    def record(*args, **kwargs):
        seen.append({p.grad_sample.shape[0] for p in model.discriminator.parameters()})
        return pre_step(*args, **kwargs)

    optimizers["discriminator"].pre_step = record
    batch = {k: v[:5] for k, v in dataset.split("train").items()}
    terms = model.train_step(batch, optimizers, 0)
    training.close()
    assert seen == [{5}]  # 5 real examples with their 5 fakes: 5 per-sample gradients, not 10
    assert set(terms) >= {"d_loss", "g_loss"}
