"""Precision/recall/density/coverage: time and peak memory of genforge's blocked k-NN core vs the prdc package.

Each row runs in its own child process (so each peak RSS is its own) on seeded Gaussian features
(real ~ N(0, I), fake ~ N(0.05, I): overlapping but not equal), float64. ``features MiB`` is the memory
of the two feature arrays; ``peak MiB`` the child's peak resident set (Python, numpy and the features included). The
reference ``prdc.compute_prdc`` builds the full N x N and N x M distance matrices, so it runs only at the
sizes where those fit (``--reference-max``); at 50,000 points they alone would take 3 x 18.6 GiB.

    .venv/bin/python benchmarks/prdc_memory.py [--sizes 5000 50000] [--dim 2048] [--reference-max 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def features(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    real = rng.standard_normal((n, d))
    fake = rng.standard_normal((n, d)) + 0.05
    return real, fake


def child(method: str, n: int, d: int, block: int) -> None:
    real, fake = features(n, d)
    start = time.perf_counter()
    if method == "genforge":
        from genforge.metrics.prdc import precision_recall_density_coverage

        # k = 5 for all four, as in the prdc package's single nearest_k, so the values are comparable
        out = precision_recall_density_coverage(real, fake, k_pr=5, k_dc=5, block_size=block)
    else:
        import contextlib
        import io

        from prdc import compute_prdc

        with contextlib.redirect_stdout(io.StringIO()):
            out = compute_prdc(real, fake, nearest_k=5)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    values = {k: float(out[k]) for k in ("precision", "recall", "density", "coverage")}
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak_kib / 1024,
                "features_mib": (real.nbytes + fake.nbytes) / 2**20,
                **values,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000], help="points per set")
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension (default 2048)")
    parser.add_argument("--block", type=int, default=2048, help="genforge tile size (default 2048)")
    parser.add_argument("--reference-max", type=int, default=5000, help="largest N for the prdc package")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, n, d, block = args.child
        child(method, int(n), int(d), int(block))
        return
    print(
        f"{'N':>6} {'D':>5} {'method':<9} {'seconds':>8} {'x genforge':>10} {'features MiB':>12} {'peak MiB':>9}"
        "  precision  recall  density  coverage"
    )
    for n in args.sizes:
        base = None
        for method in ("genforge", "prdc"):
            if method == "prdc" and n > args.reference_max:
                gib = 3 * n * n * 8 / 2**30
                print(
                    f"{n:>6} {args.dim:>5} {method:<9} {'skipped: its distance matrices need ' + f'{gib:.0f} GiB':>40}"
                )
                continue
            cmd = [sys.executable, __file__, "--child", method, str(n), str(args.dim), str(args.block)]
            row = json.loads(
                subprocess.run(cmd, capture_output=True, text=True, check=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            base = base or row
            print(
                f"{n:>6} {args.dim:>5} {method:<9} {row['seconds']:>8.1f} {row['seconds'] / base['seconds']:>10.2f} "
                f"{row['features_mib']:>12.0f} {row['peak_mib']:>9.0f}  {row['precision']:>9.4f} {row['recall']:>7.4f} "
                f"{row['density']:>8.4f} {row['coverage']:>9.4f}"
            )


if __name__ == "__main__":
    main()
