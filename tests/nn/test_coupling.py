import pytest
import torch
from torch import nn

from genforge.nn.coupling import (
    AffineCoupling,
    FlowSequence,
    LogitTransform,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
    standard_normal_log_prob,
)
from genforge.nn.mlp import mlp


def randomise(module: nn.Module, std: float = 0.3, seed: int = 0) -> nn.Module:
    """Perturb every parameter so couplings are far from their identity initialisation."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


def conv_net(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.Tanh(), nn.Conv2d(8, 2 * channels, 3, padding=1)
    )


def brute_force_log_det(flow, x: torch.Tensor) -> float:
    """log |det J| of the flow at one example, from the full autograd Jacobian (float64)."""
    flat = x.double().flatten()

    def fn(v):
        return flow(v.view(1, *x.shape))[0].flatten()

    jac = torch.autograd.functional.jacobian(fn, flat)
    return torch.linalg.slogdet(jac)[1].item()


def image_flows() -> dict[str, FlowSequence]:
    return {
        "checkerboard": FlowSequence(
            [AffineCoupling(conv_net(2), checkerboard_mask(4, 4, p)) for p in (0, 1)]
        ),
        "channel": FlowSequence([AffineCoupling(conv_net(4), channel_mask(4, p)) for p in (0, 1)]),
        "squeeze+couplings": FlowSequence(
            [
                AffineCoupling(conv_net(1), checkerboard_mask(4, 4, 0)),
                Squeeze(),
                AffineCoupling(conv_net(4), channel_mask(4, 1)),
            ]
        ),
    }


@pytest.mark.parametrize("name", ["checkerboard", "channel", "squeeze+couplings"])
def test_image_couplings_invert_to_1e_5(name):
    flow = randomise(image_flows()[name])
    channels = 4 if name == "channel" else (2 if name == "checkerboard" else 1)
    x = torch.randn(3, channels, 4, 4)
    y, _ = flow(x)
    assert (y.flatten(1) - x.flatten(1)).abs().max() > 1e-2, "the randomised flow is not the identity"
    assert torch.allclose(flow.inverse(y), x, atol=1e-5)


@pytest.mark.parametrize("name", ["checkerboard", "channel", "squeeze+couplings"])
def test_image_coupling_log_det_matches_brute_force_jacobian(name):
    flow = randomise(image_flows()[name]).double()
    channels = 4 if name == "channel" else (2 if name == "checkerboard" else 1)
    x = torch.randn(1, channels, 4, 4, dtype=torch.float64)
    _, log_det = flow(x)
    assert log_det.item() == pytest.approx(brute_force_log_det(flow, x[0]), abs=1e-8)


def test_vector_couplings_invert_and_match_the_jacobian():
    flow = randomise(
        FlowSequence(AffineCoupling(mlp(3, 6, 16, 2), alternating_mask(3, k % 2)) for k in range(4))
    )
    x = torch.randn(5, 3)
    y, _ = flow(x)
    assert torch.allclose(flow.inverse(y), x, atol=1e-5)
    flow = flow.double()
    log_det = flow(x[:1].double())[1].item()
    assert log_det == pytest.approx(brute_force_log_det(flow, x[0]), abs=1e-8)


def test_logit_transform_inverts_and_matches_the_jacobian():
    flow = LogitTransform(alpha=0.05)
    x = torch.rand(2, 1, 3, 3, dtype=torch.float64)
    y, log_det = flow(x)
    assert torch.allclose(flow.inverse(y), x, atol=1e-10)
    assert log_det[0].item() == pytest.approx(brute_force_log_det(flow, x[0]), abs=1e-8)


def test_squeeze_is_a_permutation_with_zero_log_det():
    x = torch.arange(32.0).view(1, 2, 4, 4)
    y, log_det = Squeeze()(x)
    assert y.shape == (1, 8, 2, 2)
    assert sorted(y.flatten().tolist()) == x.flatten().tolist()
    assert log_det.item() == 0
    assert torch.equal(Squeeze().inverse(y), x)


def test_coupling_with_zero_last_layer_starts_as_identity():
    coupling = AffineCoupling(mlp(2, 4, 8, 1, zero_last=True), alternating_mask(2, 0))
    x = torch.randn(4, 2)
    y, log_det = coupling(x)
    assert torch.equal(y, x)
    assert torch.equal(log_det, torch.zeros(4))


def test_coupling_log_scale_is_bounded_by_its_scale_parameter():
    net = nn.Linear(2, 4)
    with torch.no_grad():
        net.weight.fill_(100.0)
    coupling = AffineCoupling(net, alternating_mask(2, 0))
    _, log_det = coupling(torch.full((1, 2), 10.0))
    assert abs(log_det.item()) <= 1.0 + 1e-6


def test_masks_split_the_input_into_complementary_halves():
    a, b = checkerboard_mask(4, 6, 0), checkerboard_mask(4, 6, 1)
    assert torch.equal(a + b, torch.ones(1, 1, 4, 6)) and a.sum() == 12
    assert channel_mask(6, 0).flatten().tolist() == [1, 1, 1, 0, 0, 0]
    assert alternating_mask(4, 1).flatten().tolist() == [0, 1, 0, 1]


def test_standard_normal_log_prob_matches_torch_distributions():
    z = torch.randn(3, 2, 2)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(z).flatten(1).sum(1)
    assert torch.allclose(standard_normal_log_prob(z), expected)
