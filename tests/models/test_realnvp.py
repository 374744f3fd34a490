import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.realnvp import RealNVP, RealNVPConfig
from genforge.nn.coupling import standard_normal_log_prob

TINY_IMAGE = {
    "hidden_channels": 8,
    "num_res_blocks": 1,
    "num_scales": 1,
    "couplings_per_scale": 2,
    "final_couplings": 2,
}
TINY_POINTS = {"point_couplings": 4, "point_hidden": 16, "point_depth": 1}


def randomise(model: RealNVP, std: float, seed: int = 0) -> RealNVP:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(std * torch.randn(p.shape, generator=gen))
    return model.eval()


def image_model(shape=(1, 4, 4), num_levels=17, std=0.2, **config) -> RealNVP:
    info = DataInfo(kind="image", shape=shape, num_levels=num_levels, num_classes=10)
    return randomise(RealNVP(RealNVPConfig(**{**TINY_IMAGE, **config}), info), std)


def point_model(std=0.2) -> RealNVP:
    return randomise(RealNVP(RealNVPConfig(**TINY_POINTS), DataInfo(kind="points", shape=(2,))), std)


def test_image_flow_inverts_to_1e_5():
    model = image_model(shape=(1, 8, 8), num_scales=2, std=0.05)
    logits = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    z, log_det = model.flow(logits)
    assert z.shape == (4, 64)
    assert log_det.abs().max() > 0.5, "the randomised flow is not volume preserving"
    assert torch.allclose(model.flow.inverse(z), logits, atol=1e-5)


def test_encode_then_decode_returns_the_same_levels():
    model = image_model(shape=(3, 4, 4), num_levels=8)
    x = torch.randint(0, 8, (5, 3, 4, 4), dtype=torch.uint8)
    images = model.decode(model.encode(x))
    assert torch.equal((images * 7).round().to(torch.uint8), x)


def test_full_image_log_det_matches_brute_force_jacobian():
    model = image_model(shape=(1, 4, 4)).double()
    y = torch.rand(1, 1, 4, 4, dtype=torch.float64) * 0.9 + 0.05
    _, log_det = model._flow_forward(y)

    def fn(v):
        return model._flow_forward(v.view(1, 1, 4, 4))[0].flatten()

    jac = torch.autograd.functional.jacobian(fn, y.flatten())
    assert log_det.item() == pytest.approx(torch.linalg.slogdet(jac)[1].item(), abs=1e-7)


def test_image_log_prob_is_the_dequantized_bound_in_nats():
    model = image_model()
    x = torch.randint(0, 17, (3, 1, 4, 4))
    log_prob = model.log_prob(x, generator=torch.Generator().manual_seed(5))
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(5))
    z, log_det = model._flow_forward((x + noise) / 17)
    expected = standard_normal_log_prob(z) + log_det - 16 * math.log(17)
    assert torch.allclose(log_prob, expected, atol=1e-4)
    bpd = model.eval_terms({"x": x})["bits_per_dim"]
    assert bpd.shape == (3,) and torch.all(bpd > 0)


def test_point_log_prob_is_a_normalised_density():
    model = point_model()
    side = torch.linspace(-9, 9, 601)
    grid = torch.cartesian_prod(side, side)
    with torch.no_grad():
        density = model.log_prob(grid).exp()
    cell = (side[1] - side[0]) ** 2
    assert (density.sum() * cell).item() == pytest.approx(1.0, abs=2e-3)


def test_point_flow_inverts_and_eval_reports_nll_in_nats():
    model = point_model()
    x = torch.randn(6, 2) * 2
    assert torch.allclose(model.decode(model.encode(x)), x, atol=1e-5)
    terms = model.eval_terms({"x": x})
    assert set(terms) == {"nll_nats"}
    assert torch.allclose(terms["nll_nats"], -model.log_prob(x))


def test_sample_shapes_and_ranges():
    images = image_model(shape=(3, 4, 4), num_levels=8).sample(5, generator=torch.Generator().manual_seed(0))
    assert images.shape == (5, 3, 4, 4) and images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images * 7, (images * 7).round())
    points = point_model().sample(7, generator=torch.Generator().manual_seed(0))
    assert points.shape == (7, 2) and points.dtype == torch.float32


def test_same_seed_gives_same_samples():
    model = point_model()
    a = model.sample(4, generator=torch.Generator().manual_seed(3))
    b = model.sample(4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_temperature_scales_the_latent_spread():
    model = point_model()
    zero = model.sample(3, generator=torch.Generator().manual_seed(0), temperature=0.0)
    assert torch.allclose(zero, zero[:1].expand(3, 2))
    spread = {
        t: model.encode(model.sample(2000, generator=torch.Generator().manual_seed(1), temperature=t)).std()
        for t in (0.5, 1.0)
    }
    assert spread[0.5].item() == pytest.approx(0.5, abs=0.03)
    assert spread[1.0].item() == pytest.approx(1.0, abs=0.05)


def test_loss_is_bits_per_dim_for_images_and_nats_for_points():
    torch.manual_seed(0)
    image = image_model().train()
    out = image.loss({"x": torch.randint(0, 17, (4, 1, 4, 4))})
    assert set(out) == {"loss", "bits_per_dim", "nll_nats"}
    assert out["loss"].item() == pytest.approx(out["nll_nats"].item() / (16 * math.log(2)), rel=1e-5)
    out["loss"].backward()
    points = point_model().train()
    out = points.loss({"x": torch.randn(8, 2)})
    assert set(out) == {"loss", "nll_nats"}


def test_image_sides_must_allow_the_requested_scales():
    with pytest.raises(ConfigError, match="divisible"):
        image_model(shape=(1, 6, 6), num_scales=2)
    with pytest.raises(ConfigError, match="temperature"):
        point_model().sample(1, temperature=-0.5)


def test_a_few_training_steps_fit_the_moons():
    from genforge.data import load_dataset

    torch.manual_seed(0)
    data = load_dataset("toy2d:moons", {"num_points": 2000})
    model = RealNVP(RealNVPConfig(point_couplings=4, point_hidden=32), data.info)
    train, test = data.split("train"), data.split("test")
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    before = -model.log_prob(test["x"]).mean().item()
    for step in range(60):
        idx = torch.arange(step * 128, step * 128 + 128) % len(train["x"])
        loss = model.loss({"x": train["x"][idx]})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = -model.log_prob(test["x"]).mean().item()
    assert after < before - 0.5


def test_checkpoints_from_before_the_channel_scale_layer_still_load():
    """Runs saved when a coupling's log-scale bound was its own parameter (``...scale``) load unchanged."""
    model = image_model()
    state = model.state_dict()
    old = {(k[: -len(".weight")] if k.endswith(".scale.weight") else k): v for k, v in state.items()}
    assert any(k.endswith(".scale") for k in old) and len(old) == len(state)
    fresh = image_model(std=0.0)
    fresh.load_state_dict(old)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, state[key])
