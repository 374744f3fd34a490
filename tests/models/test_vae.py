import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data import load_dataset
from genforge.data.info import DataInfo
from genforge.models.base import build_model
from genforge.models.vae import VAE, VAEConfig, discretized_gaussian_log_prob

DIGITS = DataInfo(kind="image", shape=(1, 8, 8), num_levels=17, num_classes=10)
RGB32 = DataInfo(kind="image", shape=(3, 32, 32), num_levels=256)


def _model(likelihood="categorical", info=DIGITS, **cfg) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(likelihood=likelihood, latent_dim=4, base_channels=8, max_channels=16, **cfg), info)


def _levels(info: DataInfo, n: int = 5, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, info.num_levels, (n, *info.shape), generator=gen, dtype=torch.uint8)


@pytest.mark.parametrize("likelihood", ["categorical", "gaussian", "bernoulli"])
def test_loss_is_finite_and_backpropagates_for_each_likelihood(likelihood):
    model = _model(likelihood)
    out = model.loss({"x": _levels(DIGITS)})
    assert set(out) >= {"loss", "recon_nats", "kl_nats", "elbo_bits_per_dim"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in out.values())
    out["loss"].backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in model.encoder.parameters() for g in [g.grad])


def test_beta_weights_the_kl_term():
    x = _levels(DIGITS)
    model = _model(beta=1.0)
    torch.manual_seed(1)
    full = model.loss({"x": x})
    model.config.beta = 0.25
    torch.manual_seed(1)
    weighted = model.loss({"x": x})
    assert torch.allclose(full["loss"] - weighted["loss"], 0.75 * full["kl_nats"], atol=1e-3)


@pytest.mark.parametrize("info", [DIGITS, RGB32], ids=["digits8x8", "rgb32x32"])
def test_encode_and_decode_shapes_follow_the_data_shape(info):
    model = _model("auto", info).eval()
    z = model.encode(_levels(info, 3))
    assert z.shape == (3, 4)
    images = model.decode(z)
    assert images.shape == (3, *info.shape)
    assert images.min() >= 0 and images.max() <= 1


def test_auto_likelihood_is_categorical_for_few_levels_and_gaussian_for_256():
    assert _model("auto", DIGITS).kind == "categorical"
    assert _model("auto", RGB32).kind == "gaussian"


def test_vae_on_point_data_is_a_config_error():
    with pytest.raises(ConfigError, match="image"):
        build_model("vae", {}, DataInfo(kind="points", shape=(2,)))


@pytest.mark.parametrize("likelihood", ["categorical", "gaussian"])
@torch.no_grad()
def test_likelihood_sums_to_one_over_every_possible_image(likelihood):
    info = DataInfo(kind="image", shape=(1, 2, 2), num_levels=3)
    model = _model(likelihood, info).eval()
    images = torch.cartesian_prod(*[torch.arange(3)] * 4).view(81, 1, 2, 2).to(torch.uint8)
    out = model.decoder(torch.randn(1, 4)).expand(81, -1, -1, -1)
    log_p = model.log_likelihood(images, out)
    assert math.isclose(float(log_p.double().exp().sum()), 1.0, abs_tol=1e-4)


@pytest.mark.parametrize(
    "mean,std", [(0.5, 0.1), (0.0, 0.01), (1.3, 0.05), (-4.0, 0.2), (0.37, 1e-3), (0.9, 5.0)]
)
def test_discretized_gaussian_probabilities_sum_to_one_over_levels(mean, std):
    levels = torch.arange(17).float()
    log_p = discretized_gaussian_log_prob(levels, torch.full((17,), mean), torch.full((17,), std), 17)
    assert torch.isfinite(log_p).all()
    assert math.isclose(float(log_p.double().exp().sum()), 1.0, abs_tol=1e-5)


def test_discretized_gaussian_puts_its_mass_on_the_level_under_a_narrow_peak():
    log_p = discretized_gaussian_log_prob(
        torch.tensor([8.0, 9.0]), torch.full((2,), 0.5), torch.full((2,), 1e-3), 17
    )
    assert log_p[0] > -1e-6 and log_p[1] < -100


def test_iwae_bound_is_at_least_the_elbo():
    model = _model().eval()
    x = _levels(DIGITS, 8)
    gen = torch.Generator().manual_seed(0)
    iwae = model.log_prob(x, k=64, generator=gen)
    single = model.log_prob(x.repeat(64, 1, 1, 1), k=1, generator=gen).view(64, 8)  # 64 ELBO draws each
    assert iwae.shape == (8,)
    assert (iwae >= single.mean(0)).all()


@torch.no_grad()
def test_iwae_with_one_sample_equals_the_elbo_in_expectation():
    model = _model().eval()
    x = _levels(DIGITS, 4)
    gen = torch.Generator().manual_seed(0)
    draws = model.log_prob(x.repeat(400, 1, 1, 1), k=1, generator=gen).view(400, 4)
    mean, log_var = model.posterior(x)
    eps = torch.randn((400, *mean.shape), generator=gen)
    z = mean + eps * (0.5 * log_var).exp()
    recon = model.log_likelihood(x.repeat(400, 1, 1, 1), model.decoder(z.flatten(0, 1))).view(400, -1)
    kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(-1)
    elbo = recon.mean(0) - kl
    stderr = draws.std(0) / math.sqrt(400)
    assert ((draws.mean(0) - elbo).abs() < 5 * stderr).all()


def test_eval_terms_report_iwae_first_elbo_and_unit_recon_error():
    model = _model().eval()
    terms = model.eval_terms({"x": _levels(DIGITS, 6)})
    assert list(terms) == ["bits_per_dim_iwae", "elbo_bits_per_dim", "recon_mse"]
    assert all(v.shape == (6,) for v in terms.values())
    assert ((terms["recon_mse"] >= 0) & (terms["recon_mse"] <= 1)).all()
    assert (terms["bits_per_dim_iwae"] > 0).all()


def test_bernoulli_likelihood_labels_its_figures_as_binarized():
    model = _model("bernoulli").eval()
    terms = model.eval_terms({"x": _levels(DIGITS, 3)})
    assert "bits_per_dim_iwae_binarized" in terms and "bits_per_dim_iwae" not in terms


def test_temperature_zero_sampling_is_deterministic():
    model = _model().eval()
    a = model.sample(3, generator=torch.Generator().manual_seed(1), temperature=0.0)
    b = model.sample(3, generator=torch.Generator().manual_seed(2), temperature=0.0)
    assert torch.equal(a, b)
    assert torch.equal(a[0], a[1])


def test_same_generator_seed_gives_same_samples_and_others_differ():
    model = _model().eval()
    a = model.sample(4, generator=torch.Generator().manual_seed(5))
    b = model.sample(4, generator=torch.Generator().manual_seed(5))
    c = model.sample(4, generator=torch.Generator().manual_seed(6))
    assert a.shape == (4, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.slow
def test_short_training_on_digits_reduces_the_loss():
    data = load_dataset("digits").split("train")["x"][:128]
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    losses = []
    for step in range(20):
        batch = data[(step * 32) % 128 : (step * 32) % 128 + 32]
        loss = model.loss({"x": batch})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_sampling_options_the_vae_does_not_have_are_config_errors():
    with pytest.raises(ConfigError, match="label"):
        _model().sample(2, label=3)
