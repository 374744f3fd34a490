import pytest
import torch

from genforge.nn.masked import GatedLayer, HorizontalConv, MaskedConv2d, VerticalConv, raster_mask


def input_gradient(fn, x: torch.Tensor, index: tuple) -> torch.Tensor:
    """|d fn(x)[index] / d x| summed over channels: (H, W) map of which inputs the output reads."""
    x = x.clone().requires_grad_(True)
    fn(x)[index].sum().backward()
    return x.grad.abs().sum(dim=(0, 1))


def earlier_than(i: int, j: int, height: int, width: int) -> torch.Tensor:
    """(H, W) boolean map of pixels strictly before (i, j) in raster order."""
    order = torch.arange(height * width).view(height, width)
    return order < i * width + j


def test_mask_a_output_never_reads_current_or_later_pixels():
    torch.manual_seed(0)
    conv = MaskedConv2d(2, 4, 5, "A")
    grad = input_gradient(conv, torch.randn(1, 2, 7, 7), (0, slice(None), 3, 3))
    assert torch.all(grad[~earlier_than(3, 3, 7, 7)] == 0)
    assert grad[2, 3] > 0 and grad[3, 2] > 0


def test_mask_b_reads_the_current_pixel_but_not_later_ones():
    torch.manual_seed(0)
    conv = MaskedConv2d(2, 4, 3, "B")
    grad = input_gradient(conv, torch.randn(1, 2, 5, 5), (0, slice(None), 2, 2))
    allowed = earlier_than(2, 2, 5, 5)
    allowed[2, 2] = True
    assert torch.all(grad[~allowed] == 0)
    assert grad[2, 2] > 0


def test_channel_groups_order_channels_within_the_centre_pixel():
    mask_a = raster_mask(6, 3, 1, "A", channel_groups=3)[:, :, 0, 0]
    mask_b = raster_mask(6, 3, 1, "B", channel_groups=3)[:, :, 0, 0]
    # output channels 0-1 are group R, 2-3 group G, 4-5 group B; inputs are R, G, B
    assert mask_a.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0]]
    assert mask_b.tolist() == [[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]]


def test_masked_conv_rejects_even_kernels():
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2d(1, 1, 4, "A")


def test_vertical_conv_first_layer_reads_only_rows_above():
    torch.manual_seed(0)
    conv = VerticalConv(1, 3, 3, include_current_row=False)
    grad = input_gradient(conv, torch.randn(1, 1, 6, 6), (0, slice(None), 3, 3))
    assert torch.all(grad[3:] == 0)
    assert grad[:3].sum() > 0 and grad[2, 2] > 0 and grad[2, 4] > 0


def test_vertical_conv_later_layers_read_the_current_row_too():
    torch.manual_seed(0)
    conv = VerticalConv(1, 3, 3, include_current_row=True)
    grad = input_gradient(conv, torch.randn(1, 1, 6, 6), (0, slice(None), 3, 3))
    assert torch.all(grad[4:] == 0)
    assert grad[3, 4] > 0


def test_horizontal_conv_reads_only_its_row_left_of_the_pixel():
    torch.manual_seed(0)
    first = HorizontalConv(1, 3, 5, include_current=False)
    grad = input_gradient(first, torch.randn(1, 1, 4, 6), (0, slice(None), 2, 3))
    expected = torch.zeros(4, 6, dtype=torch.bool)
    expected[2, 0:3] = True
    assert torch.equal(grad > 0, expected)


def test_gated_stack_is_causal_and_has_no_blind_spot():
    torch.manual_seed(0)
    layers = [GatedLayer(1, 8, 5, first=True)] + [GatedLayer(8, 8, 3, first=False) for _ in range(4)]

    def stack(x):
        v = h = x
        for layer in layers:
            v, h = layer(v, h)
        return h

    height = width = 6
    for i, j in [(0, 0), (0, 4), (3, 0), (3, 3), (5, 5)]:
        grad = input_gradient(stack, torch.randn(1, 1, height, width), (0, slice(None), i, j))
        past = earlier_than(i, j, height, width)
        assert torch.equal(grad > 0, past), f"pixel ({i}, {j}) reads exactly the pixels before it"


def test_gated_layer_condition_changes_the_output():
    torch.manual_seed(0)
    layer = GatedLayer(1, 4, 3, first=True, cond_dim=3)
    x = torch.randn(2, 1, 4, 4)
    cond_a = torch.eye(3)[[0, 0]]
    cond_b = torch.eye(3)[[1, 1]]
    assert not torch.allclose(layer(x, x, cond_a)[1], layer(x, x, cond_b)[1])
