import itertools
import math

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.data.info import DataInfo
from genforge.models.pixelcnn import PixelCNN, PixelCNNConfig, draw_categorical

TINY = {"channels": 8, "num_layers": 3, "kernel_size": 3, "first_kernel_size": 3, "head_channels": 8}


def tiny_model(shape=(1, 4, 4), num_levels=5, num_classes=None, seed=0, **config) -> PixelCNN:
    torch.manual_seed(seed)
    info = DataInfo(kind="image", shape=shape, num_levels=num_levels, num_classes=num_classes)
    model = PixelCNN(PixelCNNConfig(**{**TINY, **config}), info)
    return model.eval()


def test_logits_of_each_subpixel_ignore_it_and_everything_after_it():
    model = tiny_model(shape=(3, 3, 3), num_levels=4)
    channels, height, width = 3, 3, 3
    positions = list(itertools.product(range(height), range(width), range(channels)))  # raster, then channel
    for rank, (i, j, c) in enumerate(positions):
        x = torch.randn(1, channels, height, width, requires_grad=True)
        model.net(x)[0, c, :, i, j].sum().backward()
        for later_rank, (i2, j2, c2) in enumerate(positions):
            read = x.grad[0, c2, i2, j2].abs().item() > 0
            if later_rank >= rank:
                assert not read, f"logits of {(c, i, j)} read the input at {(c2, i2, j2)}"
        if rank > 0:
            i0, j0, c0 = positions[rank - 1]
            assert x.grad[0, c0, i0, j0].abs().item() > 0, "the immediately preceding sub-pixel is used"


def test_log_prob_is_a_normalised_distribution_over_all_images():
    model = tiny_model(shape=(1, 2, 2), num_levels=3)
    images = torch.tensor(list(itertools.product(range(3), repeat=4))).view(-1, 1, 2, 2)
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(images), dim=0)
    assert total.item() == pytest.approx(0.0, abs=1e-5)


def test_class_conditional_marginal_is_normalised_and_mixes_the_classes():
    model = tiny_model(shape=(1, 2, 2), num_levels=3, num_classes=3, class_conditional=True)
    for p in model.parameters():  # make the label matter
        p.data.add_(0.3 * torch.randn_like(p))
    images = torch.tensor(list(itertools.product(range(3), repeat=4))).view(-1, 1, 2, 2)
    with torch.no_grad():
        marginal = model.log_prob(images)
        per_class = torch.stack([model.log_prob(images, torch.full((81,), k)) for k in range(3)])
    assert torch.logsumexp(marginal, 0).item() == pytest.approx(0.0, abs=1e-5)
    assert torch.allclose(marginal, torch.logsumexp(per_class, 0) - math.log(3), atol=1e-5)


def test_eval_terms_report_bits_per_dim_from_log_prob():
    model = tiny_model(num_classes=10, class_conditional=True)
    x = torch.randint(0, 5, (3, 1, 4, 4))
    y = torch.tensor([1, 2, 3])
    with torch.no_grad():
        terms = model.eval_terms({"x": x, "y": y})
        expected = -model.log_prob(x) / (16 * math.log(2))
    assert torch.allclose(terms["bits_per_dim"], expected)
    assert terms["bits_per_dim_given_label"].shape == (3,)


def test_loss_is_mean_bits_per_dim_and_backpropagates():
    model = tiny_model().train()
    x = torch.randint(0, 5, (4, 1, 4, 4))
    out = model.loss({"x": x})
    assert set(out) == {"loss", "bits_per_dim", "nll_nats"}
    assert out["loss"].item() == pytest.approx(out["nll_nats"].item() / (16 * math.log(2)), rel=1e-5)
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("shape", "num_classes", "temperature"),
    [((1, 4, 4), None, 1.0), ((3, 3, 3), None, 0.7), ((1, 3, 5), 4, 1.3)],
)
def test_cached_sampling_equals_naive_sampling_for_the_same_seed(shape, num_classes, temperature):
    model = tiny_model(
        shape=shape, num_levels=6, num_classes=num_classes, class_conditional=bool(num_classes)
    )
    cached = model.sample(5, generator=torch.Generator().manual_seed(3), temperature=temperature)
    naive = model.sample(5, generator=torch.Generator().manual_seed(3), temperature=temperature, cached=False)
    assert torch.equal(cached, naive)


def test_samples_are_images_in_unit_range_on_the_level_grid():
    model = tiny_model(shape=(3, 4, 4), num_levels=5)
    images = model.sample(6, generator=torch.Generator().manual_seed(0))
    assert images.shape == (6, 3, 4, 4)
    assert images.min() >= 0 and images.max() <= 1
    assert torch.allclose(images * 4, (images * 4).round())


def test_same_generator_seed_gives_same_samples_and_other_seeds_differ():
    model = tiny_model()
    a = model.sample(8, generator=torch.Generator().manual_seed(1))
    b = model.sample(8, generator=torch.Generator().manual_seed(1))
    c = model.sample(8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_temperature_zero_is_greedy_and_ignores_the_seed():
    model = tiny_model()
    a = model.sample(4, generator=torch.Generator().manual_seed(1), temperature=0.0)
    b = model.sample(4, generator=torch.Generator().manual_seed(2), temperature=0.0)
    assert torch.equal(a, b)
    assert torch.equal(a[0], a[1])


def test_lower_temperature_concentrates_draws_on_the_likeliest_level():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).expand(4000, 4)
    gen = torch.Generator().manual_seed(0)
    share = {t: (draw_categorical(logits, t, gen) == 0).float().mean().item() for t in (2.0, 1.0, 0.5)}
    exact = torch.softmax(logits[0], 0)[0].item()
    assert share[1.0] == pytest.approx(exact, abs=0.03)
    assert share[2.0] < share[1.0] < share[0.5]


def test_label_picks_the_class_of_a_conditional_model():
    model = tiny_model(num_classes=3, class_conditional=True)
    for p in model.parameters():
        p.data.add_(0.5 * torch.randn_like(p))
    gen = torch.Generator
    by_label = model.sample(4, generator=gen().manual_seed(0), label=2)
    by_labels = model.sample(4, generator=gen().manual_seed(0), labels=torch.full((4,), 2))
    other = model.sample(4, generator=gen().manual_seed(0), label=0)
    assert torch.equal(by_label, by_labels)
    assert not torch.equal(by_label, other)
    with pytest.raises(ConfigError, match="0..2"):
        model.sample(2, label=3)
    with pytest.raises(ConfigError, match="not class-conditional"):
        tiny_model().sample(2, label=1)


def test_sampling_restores_training_mode():
    model = tiny_model(dropout=0.2).train()
    model.sample(1, generator=torch.Generator().manual_seed(0))
    assert model.training


def test_config_errors_are_reported_as_config_errors():
    with pytest.raises(ConfigError, match="odd"):
        tiny_model(kernel_size=4)
    with pytest.raises(ConfigError, match="class labels"):
        tiny_model(class_conditional=True)
    with pytest.raises(ConfigError, match="temperature"):
        tiny_model().sample(1, temperature=-1.0)


@pytest.mark.slow
def test_a_few_training_steps_lower_the_bits_per_dim_on_digits():
    from genforge.data import load_dataset

    torch.manual_seed(0)
    data = load_dataset("digits")
    model = PixelCNN(PixelCNNConfig(channels=8, num_layers=2, head_channels=16), data.info)
    train = data.split("train")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    batch = {"x": train["x"][:64]}
    before = model.loss(batch)["loss"].item()
    for step in range(20):
        idx = torch.arange(step * 16, step * 16 + 16) % len(train["x"])
        loss = model.loss({"x": train["x"][idx]})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.loss(batch)["loss"].item() < before - 0.5
