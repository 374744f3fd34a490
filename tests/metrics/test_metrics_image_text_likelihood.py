"""Image pair metrics, likelihood conversions and text metrics: properties and reference packages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genforge.core.errors import ConfigError, DataError
from genforge.data import load_dataset
from genforge.metrics import image, likelihood, lpips, text


def test_psnr_is_infinite_for_identical_images_and_follows_the_formula():
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert math.isinf(image.psnr(x, x, data_range=1.0)["psnr"])
    noisy = (x + 0.1).clamp(0, 1)
    mse = ((x.double() - noisy.double()) ** 2).flatten(1).mean(1)
    np.testing.assert_allclose(image.psnr_values(x, noisy, 1.0), 10 * torch.log10(1 / mse), rtol=1e-12)
    assert image.psnr(x * 255, noisy * 255, data_range=255)["psnr"] == pytest.approx(
        image.psnr(x, noisy, data_range=1.0)["psnr"]
    )


def test_ssim_is_one_for_identical_images_and_drops_with_noise():
    x = torch.rand(3, 3, 24, 24, generator=torch.Generator().manual_seed(1))
    assert image.ssim(x, x, data_range=1.0)["ssim"] == pytest.approx(1.0)
    noisy = (x + 0.2 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    assert image.ssim(x, noisy, data_range=1.0)["ssim"] < 0.9


def test_ssim_on_small_images_needs_a_smaller_window():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(DataError, match="smaller than"):
        image.ssim(x, x, data_range=1.0)
    assert image.ssim(x, x, data_range=1.0, kernel_size=7)["ssim"] == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="odd"):
        image.ssim(x, x, data_range=1.0, kernel_size=4)
    with pytest.raises(ConfigError, match="data_range"):
        image.ssim(x, x, data_range=0)


def test_ms_ssim_refuses_images_too_small_for_five_scales():
    x = torch.rand(1, 1, 64, 64)
    with pytest.raises(DataError, match="at least 176"):
        image.ms_ssim(x, x, data_range=1.0)
    assert image.ms_ssim(x, x, data_range=1.0, kernel_size=3)["ms_ssim"] == pytest.approx(1.0)


def test_mismatched_image_pairs_are_errors():
    with pytest.raises(DataError, match="one shape"):
        image.psnr(torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 9), data_range=1.0)


def test_lpips_style_distance_is_zero_for_identical_and_grows_with_difference():
    split = load_dataset("digits").split("test")["x"][:40].float() / 16
    same = lpips.lpips_distance(split, split)
    assert same["lpips_digits"] == pytest.approx(0.0, abs=1e-12)
    other = lpips.lpips_distance(split, split.flip(0))
    noisy = lpips.lpips_distance(split, (split + 0.05 * torch.rand(split.shape)).clamp(0, 1))
    assert 0 < noisy["lpips_digits"] < other["lpips_digits"]
    assert other["extractor"] == "digits" and len(other["extractor_sha256"]) == 64
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        lpips.lpips_distance(split * 16, split)


def test_bits_per_dim_and_dequantization_correction():
    assert likelihood.bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    # a uniform density on [0, 1)^D gives every one of L^D discrete images probability L^-D
    assert likelihood.discrete_nll_from_density(0.0, 64, 17) == pytest.approx(64 * math.log(17))


def test_perplexity_of_uniform_logits_is_the_vocabulary_size_and_ignores_padding():
    logits = torch.zeros(2, 5, 11)
    targets = torch.randint(0, 11, (2, 5))
    targets[1, 3:] = -100
    result = likelihood.perplexity(logits, targets, ignore_index=-100)
    assert result["perplexity"] == pytest.approx(11.0) and result["tokens"] == 8
    metric = likelihood.Perplexity(ignore_index=-100)
    metric.update(logits[:1], targets[:1])
    other = likelihood.Perplexity(ignore_index=-100)
    other.update(logits[1:], targets[1:])
    assert metric.merge(other).compute() == result


def test_nll_metric_merges_and_reports_bits_per_dim():
    a, b = likelihood.NegativeLogLikelihood(num_dims=64), likelihood.NegativeLogLikelihood(num_dims=64)
    a.update(torch.tensor([100.0, 120.0]))
    b.update(np.array([110.0]))
    result = a.merge(b).compute()
    assert result["nll_nats"] == pytest.approx(110.0) and result["n"] == 3
    assert result["bits_per_dim"] == pytest.approx(110.0 / (64 * math.log(2)))


def test_bleu_and_rouge_come_from_the_reference_packages():
    import sacrebleu
    from rouge_score import rouge_scorer

    hyps = ["the cat sat on the mat", "a dog barked loudly at night"]
    refs = ["the cat sat on a mat", "the dog barked at night"]
    got = text.text_metrics(hyps, [refs])
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    want = np.mean([scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)])
    assert got["rougeL_f"] == pytest.approx(want)


def test_distinct_n_and_self_bleu_measure_diversity():
    assert text.distinct_n(["a b a b", "a b"], 1) == pytest.approx(2 / 6)
    assert text.distinct_n(["a b c", "c b a"], 2) == pytest.approx(1.0)
    repeated = text.self_bleu(["the same sentence here"] * 5)["self_bleu"]
    varied = text.self_bleu(["the cat sat", "dogs run fast today", "blue skies over hills", "one two three"])
    assert repeated == pytest.approx(100.0) and varied["self_bleu"] < 30


def test_text_metric_merges_batches_and_checks_alignment():
    a, b = text.TextMetrics(), text.TextMetrics()
    a.update(["the cat sat"], ["the cat sat down"])
    b.update(["a dog ran"], ["a dog ran off"])
    merged = a.merge(b).compute()
    assert merged == text.text_metrics(["the cat sat", "a dog ran"], [["the cat sat down", "a dog ran off"]])
    with pytest.raises(DataError, match="lines"):
        text.bleu(["a", "b"], ["a"])
