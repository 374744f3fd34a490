"""Fréchet distance from D-dimensional statistics: genforge's eigenvalue route against the usual ones.

All rows get the same means and covariances (float64, from seeded random features with N = 2 D) and
compute the same number; the table gives seconds, the ratio to genforge, and the relative difference
of each value from genforge's.

* genforge: Cholesky factor L of S1, ``eigvalsh(L^T S2 L)``, sum of square roots.
* scipy sqrtm: ``trace(sqrtm(S1 @ S2))`` (pytorch-fid's route).
* numpy eigvals: ``sum(sqrt(eigvals(S1 @ S2)))`` on the non-symmetric product (torch-fidelity's route).
* torchmetrics: ``torchmetrics.image.fid._compute_fid`` (torch ``linalg.eigvals``, float64), if installed.

    .venv/bin/python benchmarks/frechet_speed.py [--dims 2048] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import linalg

from genforge.metrics.frechet import frechet_distance_from_moments


def statistics(d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2 * d, d))
    b = rng.normal(size=(2 * d, d)) @ (np.eye(d) + 0.05 * rng.normal(size=(d, d))) + 0.1
    return a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)


def scipy_sqrtm(mu1, s1, mu2, s2) -> float:
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))


def numpy_eigvals(mu1, s1, mu2, s2) -> float:
    diff = mu1 - mu2
    tr = np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real.sum()
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr)


def torchmetrics_route():
    try:
        import torch
        from torchmetrics.image.fid import _compute_fid
    except ImportError:
        return None

    def run(mu1, s1, mu2, s2) -> float:
        t = [torch.from_numpy(x) for x in (mu1, s1, mu2, s2)]
        return float(_compute_fid(*t))

    return run


def best_time(fn, args, repeats: int) -> tuple[float, float]:
    best, value = float("inf"), float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dims", type=int, nargs="+", default=[2048], help="feature dimensions (default 2048)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats; best is kept (sqrtm: 1)")
    args = parser.parse_args()
    routes = [("genforge eigvalsh", frechet_distance_from_moments), ("numpy eigvals", numpy_eigvals)]
    tm = torchmetrics_route()
    routes.append(("torchmetrics", tm) if tm else ("torchmetrics", None))
    routes.append(("scipy sqrtm", scipy_sqrtm))
    print(f"{'D':>5} {'route':<18} {'seconds':>9} {'x genforge':>10} {'FD':>14} {'rel. diff':>10}")
    for d in args.dims:
        stats = statistics(d, seed=0)
        base_time, base_value = None, None
        for name, fn in routes:
            if fn is None:
                print(f"{d:>5} {name:<18} {'not installed':>9}")
                continue
            seconds, value = best_time(fn, stats, 1 if name == "scipy sqrtm" else args.repeats)
            if base_time is None:
                base_time, base_value = seconds, value
            rel = abs(value - base_value) / abs(base_value)
            print(
                f"{d:>5} {name:<18} {seconds:>9.3f} {seconds / base_time:>10.1f} {value:>14.6f} {rel:>10.1e}"
            )


if __name__ == "__main__":
    main()
