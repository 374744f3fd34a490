"""Produce tests/golden/metrics.json (+ metrics_inputs.npz) from the reference implementations.

    .venv/bin/pip install --no-deps torch-fidelity torchmetrics lightning-utilities prdc scikit-image lazy_loader
    .venv/bin/python tests/golden/make_metrics_goldens.py

References: torch-fidelity (FID statistics -> value, KID, ISC, the FID InceptionV3 forward), torchmetrics
(FID from statistics, SSIM, MS-SSIM, PSNR), prdc (precision/recall/density/coverage), scikit-image (SSIM
over the valid window positions) and scikit-learn (classification). CI needs none of them: the tests read
the JSON. torchvision cannot be installed beside the CPU torch wheel used here, and torch-fidelity imports
it at import time for extractors and datasets this script does not use, so a stand-in module is
registered while torch-fidelity is imported and removed right after (torchmetrics then sees no
torchvision, as it should).
"""

from __future__ import annotations

import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "metrics"))

from metrics_inception_weights import random_fid_inception_state  # noqa: E402

TV_MODULES = [
    "torchvision",
    "torchvision.transforms",
    "torchvision.transforms.functional",
    "torchvision.datasets",
    "torchvision.models",
    "torchvision.io",
    "torchvision.utils",
]


def import_references():
    class Unavailable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("torchvision is not installed")

    def missing(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Unavailable

    for name in TV_MODULES:
        module = types.ModuleType(name)
        module.__path__ = []
        module.__getattr__ = missing
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
    import torch_fidelity  # noqa: F401

    for name in TV_MODULES:
        del sys.modules[name]


def upsample_ms(base: np.ndarray) -> torch.Tensor:
    """(N, 1, 24, 24) -> (N, 1, 192, 192) float64, bilinear (the tests rebuild MS-SSIM inputs this way)."""
    return torch.nn.functional.interpolate(
        torch.from_numpy(base), size=(192, 192), mode="bilinear", align_corners=False
    )


def main() -> None:
    import_references()
    import prdc
    import sklearn.metrics as skm
    import torchmetrics.functional.image as tmi
    from skimage.metrics import structural_similarity
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric
    from torchmetrics.image.fid import _compute_fid

    rng = np.random.default_rng(20261125)
    inputs: dict[str, np.ndarray] = {}
    out: dict[str, object] = {
        "_note": "produced by tests/golden/make_metrics_goldens.py; inputs in metrics_inputs.npz"
    }

    # Fréchet distance: a well-posed pair and a singular pair (N < D)
    mix = np.eye(24) + 0.3 * rng.normal(size=(24, 24))
    inputs["fd_a"] = rng.normal(size=(400, 24)) * rng.uniform(0.5, 2.0, 24)
    inputs["fd_b"] = rng.normal(size=(350, 24)) @ mix + 0.2
    inputs["fd_small_a"] = rng.normal(size=(30, 48))
    inputs["fd_small_b"] = rng.normal(size=(30, 48)) * 1.3 + 0.1
    fd = {}
    for name, (a, b) in {"pair": ("fd_a", "fd_b"), "singular": ("fd_small_a", "fd_small_b")}.items():
        sa = fid_features_to_statistics(torch.from_numpy(inputs[a]))
        sb = fid_features_to_statistics(torch.from_numpy(inputs[b]))
        value_tf = fid_statistics_to_metric(sa, sb, verbose=False)["frechet_inception_distance"]
        value_tm = _compute_fid(
            torch.from_numpy(sa["mu"]),
            torch.from_numpy(sa["sigma"]),
            torch.from_numpy(sb["mu"]),
            torch.from_numpy(sb["sigma"]),
        ).item()
        fd[name] = {"torch_fidelity": value_tf, "torchmetrics": value_tm}
    out["fd"] = fd

    # KID with torch-fidelity's subset draw
    inputs["kid_real"] = rng.normal(size=(250, 32))
    inputs["kid_fake"] = rng.normal(size=(200, 32)) * 1.1 + 0.05
    kid_kwargs = {
        "kid_subsets": 10,
        "kid_subset_size": 100,
        "kid_kernel": "poly",
        "kid_kernel_poly_degree": 3,
        "kid_kernel_poly_gamma": None,
        "kid_kernel_poly_coef0": 1,
        "rng_seed": 123,
        "verbose": False,
    }
    kid = kid_features_to_metric(
        torch.from_numpy(inputs["kid_real"]), torch.from_numpy(inputs["kid_fake"]), **kid_kwargs
    )
    out["kid"] = {
        "subsets": 10,
        "subset_size": 100,
        "seed": 123,
        "mean": kid["kernel_inception_distance_mean"],
        "std": kid["kernel_inception_distance_std"],
    }

    # Inception score from logits
    inputs["is_logits"] = rng.normal(size=(500, 10)) * 3.0
    out["is"] = {}
    for splits, seed in ((10, 2020), (7, 5)):
        res = isc_features_to_metric(
            torch.from_numpy(inputs["is_logits"]), splits=splits, shuffle=True, rng_seed=seed
        )
        out["is"][f"splits{splits}_seed{seed}"] = {
            "splits": splits,
            "seed": seed,
            "mean": res["inception_score_mean"],
            "std": res["inception_score_std"],
        }

    # precision / recall / density / coverage (continuous data: no ties)
    inputs["prdc_real"] = rng.normal(size=(300, 16))
    inputs["prdc_fake"] = rng.normal(size=(250, 16)) * 1.2 + 0.3
    out["prdc"] = {
        f"k{k}": {
            key: float(v) for key, v in prdc.compute_prdc(inputs["prdc_real"], inputs["prdc_fake"], k).items()
        }
        for k in (3, 5)
    }

    # classification (scikit-learn)
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 5, 300))
    y_pred[y_pred == 4] = 3  # label 4 is never predicted: zero_division matters
    inputs["cls_true"], inputs["cls_pred"] = y_true, y_pred
    cls = {}
    for average in ("micro", "macro", "weighted", None):
        for zd in (0.0, 1.0, "nan"):
            zero = float("nan") if zd == "nan" else zd
            p, r, f, s = skm.precision_recall_fscore_support(
                y_true, y_pred, average=average, zero_division=zero
            )
            key = f"{average}_{zd}"
            cls[key] = {
                "precision": np.asarray(p).tolist(),
                "recall": np.asarray(r).tolist(),
                "f1": np.asarray(f).tolist(),
                "support": None if s is None else np.asarray(s).tolist(),
            }
    p, r, f, s = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=[4, 2, 0], average=None, zero_division=0
    )
    cls["labels_4_2_0"] = {
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
    }
    yb_true, yb_pred = (y_true > 2).astype(int), (y_pred > 2).astype(int)
    inputs["bin_true"], inputs["bin_pred"] = yb_true, yb_pred
    p, r, f, _ = skm.precision_recall_fscore_support(yb_true, yb_pred, average="binary", beta=0.5)
    cls["binary_beta0.5"] = {"precision": p, "recall": r, "f05": f}
    cls["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred).tolist()
    cls["confusion_matrix_true"] = skm.confusion_matrix(y_true, y_pred, normalize="true").tolist()
    inputs["pr_scores"] = np.round(rng.random(300), 2)  # rounded: ties between scores
    precision, recall, thresholds = skm.precision_recall_curve(yb_true, inputs["pr_scores"])
    cls["pr_curve"] = {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "thresholds": thresholds.tolist(),
    }
    cls["average_precision"] = skm.average_precision_score(yb_true, inputs["pr_scores"])
    out["classification"] = cls

    # image metrics
    inputs["img_a"] = rng.random((3, 3, 32, 32))
    inputs["img_b"] = np.clip(inputs["img_a"] + 0.1 * rng.normal(size=(3, 3, 32, 32)), 0, 1)
    a, b = torch.from_numpy(inputs["img_a"]), torch.from_numpy(inputs["img_b"])
    out["psnr"] = tmi.peak_signal_noise_ratio(b, a, data_range=1.0, dim=(1, 2, 3), reduction="none").tolist()
    out["ssim_valid"] = [
        structural_similarity(
            inputs["img_a"][i],
            inputs["img_b"][i],
            data_range=1.0,
            channel_axis=0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for i in range(3)
    ]
    out["ssim_reflect"] = tmi.structural_similarity_index_measure(
        b, a, data_range=1.0, reduction="none"
    ).tolist()
    # MS-SSIM needs >= 176 px: smooth 192 x 192 images upsampled from stored 24 x 24 ones (see upsample_ms)
    inputs["ms_base_a"] = rng.random((2, 1, 24, 24))
    inputs["ms_base_b"] = np.clip(inputs["ms_base_a"] + 0.1 * rng.normal(size=(2, 1, 24, 24)), 0, 1)
    ms_a, ms_b = upsample_ms(inputs["ms_base_a"]), upsample_ms(inputs["ms_base_b"])
    out["ms_ssim_reflect"] = tmi.multiscale_structural_similarity_index_measure(
        ms_b, ms_a, data_range=1.0, reduction="none"
    ).tolist()

    # FID InceptionV3 forward (random weights, torch-fidelity's TF1 resize and normalisation)
    images = torch.from_numpy(rng.integers(0, 256, (2, 3, 37, 53), dtype=np.uint8))
    inputs["inception_images"] = images.numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "weights.pth"
        torch.save(random_fid_inception_state(0), path)
        net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
        )
        with torch.no_grad():
            pool3, logits = net(images)
    out["inception_random_weights_seed0"] = {
        "pool3_first8": pool3[:, :8].tolist(),
        "pool3_sum": pool3.double().sum(dim=1).tolist(),
        "logits_unbiased_first8": logits[:, :8].tolist(),
    }

    np.savez_compressed(HERE / "metrics_inputs.npz", **inputs)
    (HERE / "metrics.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {HERE / 'metrics.json'} and metrics_inputs.npz ({len(inputs)} arrays)")


if __name__ == "__main__":
    main()
