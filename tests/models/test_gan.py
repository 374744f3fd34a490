import pytest
import torch
from torch.nn.utils import parametrize

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.data.info import DataInfo
from genforge.models.base import build_model
from genforge.models.gan import GAN, GANConfig

DIGITS = DataInfo(kind="image", shape=(1, 8, 8), num_levels=17, num_classes=10)
RGB32 = DataInfo(kind="image", shape=(3, 32, 32), num_levels=256)
POINTS = DataInfo(kind="points", shape=(2,))


def _model(info=DIGITS, **cfg) -> GAN:
    torch.manual_seed(0)
    settings = {"latent_dim": 8, "base_channels": 8, "max_channels": 16, "hidden_dim": 32, "depth": 2, **cfg}
    return GAN(GANConfig(**settings), info)


def _batch(info=DIGITS, n=6, seed=0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    if info.kind == "points":
        return {"x": torch.randn(n, 2, generator=gen)}
    batch = {"x": torch.randint(0, info.num_levels, (n, *info.shape), generator=gen, dtype=torch.uint8)}
    if info.num_classes:
        batch["y"] = torch.randint(0, info.num_classes, (n,), generator=gen)
    return batch


def _optimizers(model: GAN) -> dict[str, torch.optim.Optimizer]:
    return {
        name: torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
        for name, params in model.optimizer_groups().items()
    }


@pytest.mark.parametrize("info", [DIGITS, RGB32, POINTS], ids=["digits8x8", "rgb32x32", "points"])
def test_samples_and_discriminator_scores_have_the_data_shape(info):
    model = _model(info).eval()
    samples = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (5, *info.shape)
    if info.kind == "image":
        assert samples.min() >= 0 and samples.max() <= 1
    terms = model.eval_terms(_batch(info, 5))
    assert set(terms) == {"disc_real_mean", "disc_fake_mean"}
    assert all(v.shape == (5,) and torch.isfinite(v).all() for v in terms.values())


@pytest.mark.parametrize("loss", ["ns", "hinge", "wgan-gp"])
@pytest.mark.parametrize("info", [DIGITS, POINTS], ids=["digits", "points"])
def test_each_loss_trains_both_networks(loss, info):
    model = _model(info, loss=loss)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    terms = model.train_step(_batch(info), _optimizers(model), step=0)
    assert {"loss", "d_loss", "g_loss", "d_real_mean", "d_fake_mean"} <= set(terms)
    assert all(isinstance(v, float) and v == v for v in terms.values())
    assert ("gradient_penalty" in terms) == (loss == "wgan-gp")
    after = model.state_dict()
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"generator", "discriminator"}


def test_validation_loss_has_no_side_effects_and_is_finite():
    model = _model(loss="hinge").eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        out = model.loss(_batch())
    assert torch.isfinite(out["loss"]) and out["loss"] >= 0  # the hinge critic objective is non-negative
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_n_critic_takes_that_many_discriminator_steps_per_generator_step():
    model = _model(loss="wgan-gp", n_critic=3)
    optimizers = _optimizers(model)
    model.train_step(_batch(), optimizers, step=0)
    d_state = optimizers["discriminator"].state[model.optimizer_groups()["discriminator"][0]]
    g_state = optimizers["generator"].state[model.optimizer_groups()["generator"][0]]
    assert int(d_state["step"]) == 3 and int(g_state["step"]) == 1


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_positive_otherwise():
    model = _model(POINTS, loss="wgan-gp")

    class Linear(torch.nn.Module):
        def __init__(self, scale):
            super().__init__()
            self.scale = scale

        def forward(self, x, labels=None):
            return self.scale * x[:, 0]

    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    model.discriminator = Linear(1.0)
    assert float(model.gradient_penalty(real, fake, None)) == pytest.approx(0.0, abs=1e-10)
    model.discriminator = Linear(3.0)
    assert float(model.gradient_penalty(real, fake, None)) == pytest.approx(4.0)


def test_spectral_norm_parametrizes_every_discriminator_layer_and_no_generator_layer():
    model = _model(spectral_norm=True)
    d_layers = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    g_layers = [m for m in model.generator.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    assert d_layers and all(parametrize.is_parametrized(m, "weight") for m in d_layers)
    assert not any(parametrize.is_parametrized(m, "weight") for m in g_layers)
    assert not any(parametrize.is_parametrized(m) for m in _model().discriminator.modules())


def test_spectral_norm_keeps_the_largest_singular_value_of_each_layer_near_one():
    model = _model(spectral_norm=True)
    with torch.no_grad():
        for _ in range(50):  # one power iteration per training-mode forward pass
            model.discriminator(torch.randn(4, 1, 8, 8))
    layers = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert float(sigma) == pytest.approx(1.0, abs=0.05)


def test_conditional_samples_follow_the_requested_labels():
    model = _model(conditional=True).eval()
    z = torch.randn(4, 8)
    threes, sevens = model.decode(z, label=3), model.decode(z, label=7)
    assert threes.shape == (4, 1, 8, 8)
    assert not torch.allclose(threes, sevens)
    assert torch.equal(threes, model.decode(z, labels=torch.full((4,), 3)))
    cycled = model.decode(torch.randn(1, 8).expand(12, -1))
    assert torch.equal(cycled[0], cycled[10]) and not torch.equal(cycled[0], cycled[1])
    gen = torch.Generator().manual_seed(0)
    assert model.sample(4, generator=gen, labels=torch.tensor([0, 1, 2, 3])).shape == (4, 1, 8, 8)


def test_conditional_label_errors_are_config_errors():
    model = _model(conditional=True).eval()
    with pytest.raises(ConfigError, match="0..9"):
        model.sample(2, label=10)
    with pytest.raises(ConfigError, match="one entry per sample"):
        model.sample(3, labels=torch.tensor([1, 2]))
    with pytest.raises(ConfigError, match="not conditional"):
        _model().sample(2, label=1)
    with pytest.raises(ConfigError, match="labelled data"):
        build_model("gan", {"conditional": True}, POINTS)


def test_conditional_training_uses_the_batch_labels():
    model = _model(conditional=True)
    batch = _batch()
    model.train_step(batch, _optimizers(model), step=0)
    with pytest.raises(ConfigError, match="labels"):
        model.train_step({"x": batch["x"]}, _optimizers(model), step=1)


def test_same_generator_seed_gives_same_samples():
    model = _model().eval()
    a = model.sample(6, generator=torch.Generator().manual_seed(4))
    b = model.sample(6, generator=torch.Generator().manual_seed(4))
    c = model.sample(6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and not torch.equal(a, c)
    zero = model.sample(2, generator=torch.Generator().manual_seed(9), temperature=0.0)
    assert torch.equal(zero[0], zero[1])


@pytest.mark.slow
def test_short_training_moves_generated_points_onto_the_data():
    data = load_dataset("toy2d:8gaussians", {"num_points": 2000}).split("train")["x"]
    model = _model(POINTS, hidden_dim=64)
    optimizers = _optimizers(model)

    def distance_to_data():
        with torch.no_grad():
            points = model.sample(500, generator=torch.Generator().manual_seed(0))
        return torch.cdist(points, data).min(1).values.mean().item()

    torch.manual_seed(0)
    start = distance_to_data()
    for step in range(150):
        model.train_step({"x": data[(step * 100) % 2000 : (step * 100) % 2000 + 100]}, optimizers, step)
    assert distance_to_data() < 0.6 * start


def test_sampling_options_the_gan_does_not_have_are_config_errors():
    with pytest.raises(ConfigError, match="top_k"):
        _model().sample(2, top_k=3)


def test_trainer_ema_averages_the_generator_and_leaves_the_discriminator_live(tmp_path):
    from genforge.pipelines.loading import load_run
    from genforge.pipelines.training import train

    result = train(
        "gan",
        "toy2d:moons",
        out=tmp_path,
        seed=0,
        max_steps=6,
        overrides={
            "hidden_dim": 16,
            "depth": 2,
            "latent_dim": 4,
            "ema_decay": 0.9,
            "sample_every": 1000,
            "eval_every": 1000,
        },
    )
    live = load_run(result.run.path, ema=False).model.state_dict()
    averaged = load_run(result.run.path, ema=True).model.state_dict()
    tensors = result.run.load_checkpoint().tensors
    assert not any(k.startswith("ema.discriminator.") for k in tensors)
    assert all(torch.equal(live[k], averaged[k]) for k in live if k.startswith("discriminator."))
    assert any(not torch.equal(live[k], averaged[k]) for k in live if k.startswith("generator."))
