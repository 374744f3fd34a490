"""genforge RealNVP against zuko's RealNVP (an established PyPI implementation) on toy2d:moons.

    .venv/bin/pip install zuko   # benchmark-only dependency
    .venv/bin/python benchmarks/flow_vs_zuko.py [--steps 1500] [--batch-size 512]

Same data, batch size, optimizer, number of affine couplings and hidden widths; both trained in this
one process, alternating, for the same number of steps. Prints training samples/s, sampling samples/s
and the test NLL (nats) of both, with genforge/zuko ratios.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # as the CLI does: spinning OpenMP threads stall on a busy CPU

import torch

from genforge.data import load_dataset
from genforge.models.base import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--couplings", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=128)
    args = parser.parse_args()
    try:
        import zuko
    except ImportError:
        raise SystemExit("this benchmark compares against zuko: .venv/bin/pip install zuko") from None

    data = load_dataset("toy2d:moons")
    train_x, test_x = data.split("train")["x"], data.split("test")["x"]
    torch.manual_seed(0)
    ours = build_model(
        "realnvp",
        {"point_couplings": args.couplings, "point_hidden": args.hidden, "point_depth": 2},
        data.info,
    )
    torch.manual_seed(0)
    theirs = zuko.flows.RealNVP(
        features=2, transforms=args.couplings, hidden_features=[args.hidden, args.hidden]
    )
    models = {
        "genforge": (ours, lambda x: -ours.log_prob(x).mean(), lambda n: ours.sample(n)),
        "zuko": (theirs, lambda x: -theirs().log_prob(x).mean(), lambda n: theirs().sample((n,))),
    }
    opts = {name: torch.optim.Adam(m.parameters(), lr=1e-3) for name, (m, _, _) in models.items()}
    seconds = dict.fromkeys(models, 0.0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(args.steps):
        batch = train_x[torch.randint(0, len(train_x), (args.batch_size,), generator=gen)]
        for name, (_model, nll, _) in models.items():
            start = time.perf_counter()
            opts[name].zero_grad()
            loss = nll(batch)
            loss.backward()
            opts[name].step()
            seconds[name] += time.perf_counter() - start
    rows = {}
    for name, (model, nll, sample) in models.items():
        model.eval()
        with torch.no_grad():
            test_nll = float(nll(test_x))
            start = time.perf_counter()
            sample(20000)
            sample_rate = 20000 / (time.perf_counter() - start)
        rows[name] = (
            args.steps * args.batch_size / seconds[name],
            sample_rate,
            test_nll,
            sum(p.numel() for p in model.parameters()),
        )
    print(
        f"toy2d:moons, {args.steps} steps, batch {args.batch_size}, {args.couplings} couplings, hidden {args.hidden}x2"
    )
    print(
        f"{'impl':9} {'params':>8} {'train samples/s':>16} {'sample samples/s':>17} {'test NLL (nats)':>16}"
    )
    for name, (train_rate, sample_rate, test_nll, params) in rows.items():
        print(f"{name:9} {params:8,d} {train_rate:16.0f} {sample_rate:17.0f} {test_nll:16.3f}")
    g, z = rows["genforge"], rows["zuko"]
    print(
        f"ratio genforge/zuko: training {g[0] / z[0]:.2f}x, sampling {g[1] / z[1]:.2f}x, "
        f"test NLL difference {g[2] - z[2]:+.3f} nats"
    )


if __name__ == "__main__":
    main()
