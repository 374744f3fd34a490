"""Attention blocks: causality, cached decoding equals full attention, RNN attentions are distributions."""

import pytest
import torch

from genforge.core.errors import ConfigError
from genforge.nn.attention import (
    AdditiveAttention,
    CausalSelfAttention,
    KVCache,
    MultiHeadAttention,
    MultiplicativeAttention,
)


def test_causal_attention_output_does_not_depend_on_later_positions():
    torch.manual_seed(0)
    attn = CausalSelfAttention(16, 4).eval()
    x = torch.randn(2, 10, 16, requires_grad=True)
    attn(x)[:, 4].sum().backward()
    assert x.grad[:, 5:].abs().max() == 0 and x.grad[:, :5].abs().max() > 0


def test_cached_attention_in_pieces_equals_one_full_pass():
    torch.manual_seed(0)
    attn = CausalSelfAttention(16, 4).eval()
    x = torch.randn(2, 9, 16)
    full = attn(x)
    cache = KVCache(1, 2, 4, 9, 4)
    pieces = []
    for start, end in [(0, 4), (4, 7), (7, 8), (8, 9)]:  # a prefill, a block after a prefix, single tokens
        pieces.append(attn(x[:, start:end], cache, 0))
        cache.advance(end - start)
    torch.testing.assert_close(torch.cat(pieces, 1), full, atol=1e-6, rtol=1e-5)


def test_cache_reorder_keeps_the_selected_rows_and_overflow_is_an_error():
    cache = KVCache(1, 3, 1, 2, 1)
    cache.write(0, torch.arange(3.0).view(3, 1, 1, 1), torch.zeros(3, 1, 1, 1))
    cache.advance(1)
    cache.reorder(torch.tensor([2, 2, 0]))
    assert cache.keys[0, :, 0, 0, 0].tolist() == [2.0, 2.0, 0.0]
    with pytest.raises(ConfigError, match="cache holds"):
        cache.write(0, torch.zeros(3, 1, 2, 1), torch.zeros(3, 1, 2, 1))


def test_padding_keys_get_no_attention_in_multi_head_attention():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2).eval()
    memory = torch.randn(1, 5, 8)
    pad = torch.tensor([[False, False, False, True, True]])
    query = torch.randn(1, 3, 8)
    out, weights = attn(query, memory, key_padding_mask=pad, need_weights=True)
    assert weights[..., 3:].abs().max() == 0
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))
    changed = memory.clone()
    changed[:, 3:] = 100.0
    fast, _ = attn(query, changed, key_padding_mask=pad)
    torch.testing.assert_close(fast, out, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make", [lambda: AdditiveAttention(6, 4, 5), lambda: MultiplicativeAttention(6, 4)])
def test_rnn_attention_weights_are_a_distribution_over_unmasked_keys(make):
    torch.manual_seed(0)
    attn = make()
    keys = torch.randn(3, 7, 4)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, 5:] = False
    context, weights = attn(torch.randn(3, 6), keys, attn.prepare(keys), mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert weights[0, 5:].abs().max() == 0
    torch.testing.assert_close(context, torch.einsum("bs,bsd->bd", weights, keys))


def test_heads_must_divide_the_width():
    with pytest.raises(ConfigError, match="divisible"):
        CausalSelfAttention(10, 3)
